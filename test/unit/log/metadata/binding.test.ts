/**
 * The namespace binding codec: the exact bytes DistributedLog writes (distributedlog.md §3.1), the
 * original's error messages, defaults for absent fields, and garbage never throwing anything but
 * InvalidInputError.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {
  bindingConfigJson,
  bindingsEqual,
  decodeBinding,
  encodeBinding,
  makeBinding,
} from '../../../../src/engine/log/metadata/binding.js'

const SANDBOX =
  '1\nBKDL\n{"1":{"str":"127.0.0.1:7000"},"2":{"str":"/ledgers"},"3":{"tf":1},"4":{"tf":0},"5":{"str":"127.0.0.1:7000"},"6":{"str":"127.0.0.1:7000"},"7":{"str":"127.0.0.1:7000"}}'

describe('namespace binding codec', () => {
  it('writes the sandbox binding byte for byte as the original', () => {
    const b = makeBinding({bkZkServers: '127.0.0.1:7000', bkLedgersPath: '/ledgers', dlZkServers: '127.0.0.1:7000'})
    assert.equal(encodeBinding(b).toString('utf8'), SANDBOX)
  })

  it('reads the original bytes back', () => {
    const b = decodeBinding(Buffer.from(SANDBOX))
    assert.deepEqual(b, {
      bkZkServers: '127.0.0.1:7000',
      bkLedgersPath: '/ledgers',
      sanityCheckTxnId: true,
      encodeRegionId: false,
      bkZkServersForReader: '127.0.0.1:7000',
      dlZkServersForWriter: '127.0.0.1:7000',
      dlZkServersForReader: '127.0.0.1:7000',
      federatedNamespace: false,
    })
  })

  it('writes the optional fields in id order: acl root, first sequence number, federated', () => {
    const b = makeBinding({
      bkZkServers: 'a:1',
      bkLedgersPath: '/l',
      dlZkServers: 'd:1',
      bkZkServersForReader: 'r:1',
      dlZkServersForReader: 'dr:1',
      sanityCheckTxnId: false,
      encodeRegionId: true,
      aclRootPath: '.acl',
      firstLogSegmentSeqNo: 42,
      federatedNamespace: true,
    })
    assert.equal(
      bindingConfigJson(b),
      '{"1":{"str":"a:1"},"2":{"str":"/l"},"3":{"tf":0},"4":{"tf":1},"5":{"str":"r:1"},"6":{"str":"d:1"},"7":{"str":"dr:1"},' +
        '"8":{"str":".acl"},"9":{"i64":42},"10":{"tf":1}}',
    )
    assert.deepEqual(decodeBinding(encodeBinding(b)), b)
  })

  it('defaults readers to writers, sanity check to true, region id to false', () => {
    const b = decodeBinding(Buffer.from('1\nBKDL\n{"1":{"str":"bk:1"},"2":{"str":"/l"},"6":{"str":"dl:1"}}'))
    assert.equal(b.bkZkServersForReader, 'bk:1')
    assert.equal(b.dlZkServersForReader, 'dl:1')
    assert.equal(b.sanityCheckTxnId, true)
    assert.equal(b.encodeRegionId, false)
  })

  it('joins the JSON over several lines and skips unknown field ids', () => {
    const b = decodeBinding(Buffer.from('1\nBKDL\n{"1":{"str":"bk:1"},\n"2":{"str":"/l"},"6":{"str":"dl:1"},"99":{"lst":[1]}}'))
    assert.equal(b.bkLedgersPath, '/l')
  })

  it('escapes quotes and backslashes like TJSONProtocol and reads them back', () => {
    const b = makeBinding({bkZkServers: 'x"y\\z', bkLedgersPath: '/a b/ü', dlZkServers: 'd:1'})
    const text = encodeBinding(b).toString('utf8')
    assert.match(text, /"1":\{"str":"x\\"y\\\\z"\}/)
    assert.match(text, /"2":\{"str":"\/a b\/ü"\}/)
    assert.deepEqual(decodeBinding(encodeBinding(b)), b)
  })

  it('fails with the original messages', () => {
    const err = (text: string) => {
      try {
        decodeBinding(Buffer.from(text))
      } catch (e) {
        assert.ok(e instanceof InvalidInputError)
        return e.message
      }
      assert.fail(`decoded ${JSON.stringify(text)}`)
    }
    assert.equal(err(''), 'Empty DL Metadata.')
    assert.equal(err('2\nBKDL\n{}'), 'Metadata version not compatible. Expected 1 but got 2')
    assert.equal(err('x\nBKDL\n{}'), 'Metadata version not compatible. Expected 1 but got -1')
    assert.equal(err('1\nZKDL\n{}'), 'Invalid DL type : ZKDL')
    assert.equal(err('1'), 'Invalid DL type : null')
    assert.equal(err('1\nBKDL\n{"1":{"str":"a"}}'), 'Missing zk/bk settings in BKDL Config : {"1":{"str":"a"}}')
    assert.match(err('1\nBKDL\n{"1":{"i64":3}}'), /^Failed to deserialize data '\{"1":\{"i64":3\}\}' : field 1 has type 'i64'/)
    assert.match(err('1\nBKDL\nnot json'), /^Failed to deserialize data 'not json'/)
  })

  it('compares bindings on every field', () => {
    const a = makeBinding({bkZkServers: 'a:1', bkLedgersPath: '/l', dlZkServers: 'd:1'})
    assert.ok(bindingsEqual(a, {...a}))
    assert.ok(!bindingsEqual(a, {...a, encodeRegionId: true}))
    assert.ok(!bindingsEqual(a, {...a, firstLogSegmentSeqNo: 5}))
  })

  it('never throws anything but InvalidInputError on random or mutated data', () => {
    const valid = Buffer.from(SANDBOX)
    const check = (buf: Buffer) => {
      try {
        decodeBinding(buf)
      } catch (e) {
        if (!(e instanceof InvalidInputError)) throw e
      }
    }
    fc.assert(fc.property(fc.uint8Array({maxLength: 300}), (a) => check(Buffer.from(a))))
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({min: 0, max: 255}), (at, byte) => {
        const m = Buffer.from(valid)
        m[at] = byte
        check(m)
      }),
    )
    fc.assert(fc.property(fc.json(), (j) => check(Buffer.from(`1\nBKDL\n${j}`))))
  })
})
