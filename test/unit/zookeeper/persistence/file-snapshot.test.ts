import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {
  decodeSnapshotFile,
  decodeTxnRecord,
  encodeSnapshotFile,
  encodeTxnRecord,
  parseSnapshotFileName,
  snapshotFileName,
} from '../../../../src/engine/zookeeper/server/persistence/file-snapshot.js'

describe('zookeeper > persistence > snapshot file', () => {
  it('names snapshots like ZooKeeper and parses only those names', () => {
    assert.equal(snapshotFileName(0x1an), 'snapshot.1a')
    assert.equal(snapshotFileName(0n), 'snapshot.0')
    assert.equal(parseSnapshotFileName('snapshot.ffffffffffffffff'), 2n ** 64n - 1n)
    assert.equal(parseSnapshotFileName('snapshot.1a.tmp'), undefined)
    assert.equal(parseSnapshotFileName('snapshot.'), undefined)
    assert.equal(parseSnapshotFileName('log.1a'), undefined)
  })

  it('round-trips and detects every kind of damage', () => {
    const payload = Buffer.from('the whole data tree')
    const file = encodeSnapshotFile(0x1234n, payload)
    const ok = decodeSnapshotFile(file)
    assert.ok(ok.ok)
    assert.equal(ok.zxid, 0x1234n)
    assert.deepEqual(ok.payload, payload)
    for (let i = 0; i < file.length; i++) {
      const bad = Buffer.from(file)
      bad[i] = (bad[i] as number) ^ 0x01
      assert.equal(decodeSnapshotFile(bad).ok, false, `flipped byte ${i}`)
    }
    assert.equal(decodeSnapshotFile(file.subarray(0, file.length - 1)).ok, false)
    assert.equal(decodeSnapshotFile(Buffer.concat([file, Buffer.alloc(1)])).ok, false)
    assert.equal(decodeSnapshotFile(Buffer.alloc(0)).ok, false)
  })

  it('round-trips txn records and rejects ones that do not move forward', () => {
    const rec = encodeTxnRecord(7n, 6n, Buffer.from('create /a'))
    const t = decodeTxnRecord(rec)
    assert.ok(t.ok)
    assert.deepEqual([t.zxid, t.prevZxid, t.payload.toString()], [7n, 6n, 'create /a'])
    assert.equal(decodeTxnRecord(encodeTxnRecord(7n, 7n, Buffer.alloc(0))).ok, false)
    assert.equal(decodeTxnRecord(Buffer.alloc(15)).ok, false)
  })

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 200}), (bytes) => {
        decodeSnapshotFile(Buffer.from(bytes))
        decodeTxnRecord(Buffer.from(bytes))
      }),
      {numRuns: 500},
    )
  })
})
