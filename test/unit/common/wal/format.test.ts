import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {crc32c} from '../../../../src/engine/common/crc32c.js'
import {
  decodeFileHeader,
  decodeRecordAt,
  encodeFileHeader,
  encodeRecord,
  lengthCrc,
  parseWalFileName,
  WAL_FILE_HEADER_BYTES,
  WAL_RECORD_BYTES_LIMIT,
  walFileName,
} from '../../../../src/engine/common/wal/format.js'

describe('wal > format', () => {
  it('names files by 16 hex digits and parses only those names', () => {
    assert.equal(walFileName(0x1f), '000000000000001f.wal')
    assert.equal(parseWalFileName(walFileName(123456789)), 123456789)
    assert.equal(parseWalFileName('000000000000001f.wal.tmp'), undefined)
    assert.equal(parseWalFileName('1f.wal'), undefined)
    assert.equal(parseWalFileName('000000000000001F.wal'), undefined)
  })

  it('round-trips a file header and rejects damaged or foreign ones', () => {
    const h = encodeFileHeader(2 ** 40 + 7)
    assert.equal(h.length, WAL_FILE_HEADER_BYTES)
    assert.deepEqual(decodeFileHeader(h), {ok: true, fileId: 2 ** 40 + 7})
    const flipped = Buffer.from(h)
    flipped[10] = (flipped[10] as number) ^ 1
    assert.equal(decodeFileHeader(flipped).ok, false)
    const magic = Buffer.from(h)
    magic.write('XXXX', 0, 'latin1')
    assert.deepEqual(decodeFileHeader(magic), {ok: false, reason: 'bad magic'})
    assert.equal(decodeFileHeader(h.subarray(0, 10)).ok, false)
  })

  it('checksums the length bytes followed by the payload', () => {
    const payload = Buffer.from('hello, write-ahead log')
    const frame = encodeRecord(payload)
    const lengthBytes = frame.subarray(0, 4)
    assert.equal(lengthBytes.readUInt32BE(0), payload.length)
    assert.equal(frame.readUInt32BE(4), crc32c(payload, crc32c(lengthBytes)))
    for (const n of [0, 1, 255, 256, 65_536, WAL_RECORD_BYTES_LIMIT, 0xffffffff]) {
      const b = Buffer.alloc(4)
      b.writeUInt32BE(n)
      assert.equal(lengthCrc(n), crc32c(b), `length ${n}`)
    }
  })

  it('decodes records, zero-length ends, short windows and corrupt records', () => {
    const a = encodeRecord(Buffer.from('first'))
    const b = encodeRecord(Buffer.from('second'))
    const buf = Buffer.concat([a, b, Buffer.alloc(16)])
    const r1 = decodeRecordAt(buf, 0)
    assert.equal(r1.kind, 'record')
    assert.ok(r1.kind === 'record' && r1.payload.toString() === 'first' && r1.next === a.length)
    const r2 = decodeRecordAt(buf, a.length)
    assert.ok(r2.kind === 'record' && r2.payload.toString() === 'second')
    assert.equal(decodeRecordAt(buf, a.length + b.length).kind, 'end')
    assert.equal(decodeRecordAt(buf.subarray(0, a.length - 1), 0).kind, 'short')
    assert.equal(decodeRecordAt(buf.subarray(0, 5), 0).kind, 'short')
    const bad = Buffer.from(buf)
    bad[a.length - 1] = (bad[a.length - 1] as number) ^ 0x40
    assert.equal(decodeRecordAt(bad, 0).kind, 'corrupt')
    const huge = Buffer.alloc(16)
    huge.writeUInt32BE(WAL_RECORD_BYTES_LIMIT + 1, 0)
    assert.equal(decodeRecordAt(huge, 0).kind, 'corrupt')
  })

  it('never throws on random or mutated bytes', () => {
    const good = Buffer.concat([encodeRecord(Buffer.from('abc')), encodeRecord(Buffer.alloc(300, 7))])
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 400}), fc.nat(400), (bytes, at) => {
        const buf = Buffer.from(bytes)
        decodeRecordAt(buf, Math.min(at, buf.length))
        const mutated = Buffer.from(good)
        if (bytes.length > 0) mutated[at % mutated.length] = bytes[0] as number
        let off = 0
        for (let i = 0; i < 10; i++) {
          const r = decodeRecordAt(mutated, off)
          if (r.kind !== 'record') break
          assert.ok(r.next > off)
          off = r.next
        }
        decodeFileHeader(buf)
      }),
      {numRuns: 500},
    )
  })
})
