/** Namespace URI parsing and log name validation (the original's rules, clear errors). */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {InvalidStreamNameError} from '../../../src/engine/log/errors.js'
import {logPaths, validateLogName} from '../../../src/engine/log/metadata/paths.js'
import {parseNamespaceUri} from '../../../src/engine/log/uri.js'

describe('namespace URIs', () => {
  it('parses servers and path', () => {
    const u = parseNamespaceUri('distributedlog://127.0.0.1:7000/messaging/distributedlog')
    assert.equal(u.zkServers, '127.0.0.1:7000')
    assert.equal(u.path, '/messaging/distributedlog')
    assert.equal(u.normalized, 'distributedlog://127.0.0.1:7000/messaging/distributedlog')
  })

  it('accepts ; or , between servers, the -bk backend, a default port and a trailing slash', () => {
    const u = parseNamespaceUri('distributedlog-bk://zk1:2181;zk2,zk3:2182/ns/')
    assert.equal(u.zkServers, 'zk1:2181,zk2:2181,zk3:2182')
    assert.equal(u.path, '/ns')
    assert.equal(u.normalized, 'distributedlog://zk1:2181,zk2:2181,zk3:2182/ns')
  })

  it('refuses what it cannot use, saying why', () => {
    const bad: [string, RegExp][] = [
      ['http://zk:2181/ns', /unknown scheme 'http'/],
      ['distributedlog-foo://zk:2181/ns', /unknown backend 'foo'/],
      ['distributedlog:///ns', /no ZooKeeper servers/],
      ['distributedlog://zk:2181', /no namespace path/],
      ['distributedlog://zk:2181/', /no namespace path/],
      ['distributedlog://zk:99999/ns', /out of range/],
      ['distributedlog://zk:2181/ns?x=1', /query strings/],
      ['distributedlog://zk:2181/a//b', /empty node name/],
      ['distributedlog://z k:2181/ns', /not a host/],
      ['zk:2181/ns', /not a URI/],
    ]
    for (const [uri, re] of bad) {
      assert.throws(() => parseNamespaceUri(uri), (e: Error) => e instanceof InvalidInputError && re.test(e.message), uri)
    }
  })
})

describe('log names', () => {
  it('accepts plain and nested names, dropping a leading slash', () => {
    assert.equal(validateLogName('stream-0'), 'stream-0')
    assert.equal(validateLogName('a/b/c'), 'a/b/c')
    assert.equal(validateLogName('/a/b'), 'a/b')
  })

  it('refuses reserved and malformed names with the reason', () => {
    const bad: [string, RegExp][] = [
      ['.write_proxy', /Log Name is reserved/],
      ['<default>', /Log Name is reserved/],
      ['/.hidden', /reserved/],
      ['', /length must be > 0/],
      ['a/', /must not end with \//],
      ['a//b', /empty node name/],
      ['a/../b', /relative paths/],
      ['a b', /empty space/],
      ['a/<b>', /< or >/],
      ['a\u0001', /invalid character/],
      ['x'.repeat(2000), /longer than/],
    ]
    for (const [name, re] of bad) {
      assert.throws(() => validateLogName(name), (e: Error) => e instanceof InvalidStreamNameError && re.test(e.message), name)
    }
    assert.throws(() => validateLogName('a b'), {message: "Invalid stream name : 'a b' : empty space specified @2"})
  })

  it('lays out the per-log znodes', () => {
    const p = logPaths('/messaging/distributedlog', 'a/b')
    assert.equal(p.root, '/messaging/distributedlog/a/b/<default>')
    assert.equal(p.ledgers, '/messaging/distributedlog/a/b/<default>/ledgers')
    assert.equal(p.lock, '/messaging/distributedlog/a/b/<default>/lock')
    assert.equal(p.maxTxId, '/messaging/distributedlog/a/b/<default>/maxtxid')
  })
})
