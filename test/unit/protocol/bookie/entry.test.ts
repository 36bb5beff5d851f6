import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {crc32c} from '../../../../src/engine/common/crc32c.js'
import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {ENTRY_HEADER_BYTES, decodeEntry, decodeEntryHeader, encodeEntry, entryChecksumOk} from '../../../../src/engine/protocol/bookie/entry.js'

/** The entry format written out with BigInt, field by field, as its header comment describes it. */
function referenceEncode(e: {ledgerId: number; entryId: number; lac: number; length: number; payload: Buffer}): Buffer {
  const head = Buffer.alloc(32)
  head.writeBigInt64BE(BigInt(e.ledgerId), 0)
  head.writeBigInt64BE(BigInt(e.entryId), 8)
  head.writeBigInt64BE(BigInt(e.lac), 16)
  head.writeBigInt64BE(BigInt(e.length), 24)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32c(e.payload, crc32c(head)))
  return Buffer.concat([head, crc, e.payload])
}

const id = fc.oneof(fc.constant(0), fc.integer({min: 0, max: 2 ** 32 + 5}), fc.constant(2 ** 32 - 1), fc.constant(2 ** 32), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat())
const lac = fc.oneof(fc.constant(-1), id)
const entry = fc.record({
  ledgerId: id,
  entryId: id,
  lac,
  length: id,
  payload: fc.uint8Array({maxLength: 300}).map((a) => Buffer.from(a)),
})

describe('protocol/bookie/entry', () => {
  it('encodes exactly the documented bytes (int64 BE ids, CRC32C over header and payload)', () => {
    fc.assert(
      fc.property(entry, (e) => {
        assert.deepEqual(encodeEntry(e), referenceEncode(e))
      }),
      {numRuns: 500},
    )
  })

  it('decodes what it encodes, and the checksum holds', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const buf = encodeEntry(e)
        const d = decodeEntry(buf)
        assert.deepEqual({ledgerId: d.ledgerId, entryId: d.entryId, lac: d.lac, length: d.length}, {ledgerId: e.ledgerId, entryId: e.entryId, lac: e.lac, length: e.length})
        assert.deepEqual(d.payload, e.payload)
        assert.equal(entryChecksumOk(buf), true)
      }),
      {numRuns: 300},
    )
  })

  it('refuses ids outside -1..2^53-1 when decoding, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.bigInt({min: -(2n ** 63n), max: 2n ** 63n - 1n}), fc.integer({min: 0, max: 3}), (v, field) => {
        const buf = encodeEntry({ledgerId: 1, entryId: 2, lac: 3, length: 4, payload: Buffer.from('x')})
        buf.writeBigInt64BE(v, field * 8)
        const inRange = v >= -1n && v <= BigInt(Number.MAX_SAFE_INTEGER)
        if (inRange) assert.equal(Object.values(decodeEntryHeader(buf))[field], Number(v))
        else assert.throws(() => decodeEntryHeader(buf), InvalidInputError)
      }),
      {numRuns: 500},
    )
    const edge = encodeEntry({ledgerId: 1, entryId: 2, lac: -1, length: 4, payload: Buffer.alloc(0)})
    edge.writeBigInt64BE(-2n, 16)
    assert.throws(() => decodeEntryHeader(edge), /lac -2 is out of range/)
    edge.writeBigInt64BE(2n ** 53n, 16)
    assert.throws(() => decodeEntryHeader(edge), /lac 9007199254740992 is out of range/)
  })

  it('refuses to encode ids that are not safe integers >= -1', () => {
    const base = {ledgerId: 1, entryId: 2, lac: -1, length: 0, payload: Buffer.alloc(0)}
    for (const bad of [1.5, -2, Number.NaN, 2 ** 53, Infinity]) {
      assert.throws(() => encodeEntry({...base, entryId: bad}), InvalidInputError)
      assert.throws(() => encodeEntry({...base, lac: bad}), InvalidInputError)
    }
    assert.equal(encodeEntry(base).length, ENTRY_HEADER_BYTES)
  })
})
