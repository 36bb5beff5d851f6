import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {LogRecordTooLongError} from '../../../../src/engine/log/errors.js'
import {codecOf, lz4Available} from '../../../../src/engine/log/record/compression.js'
import {
  ENVELOPE_HEADER_BYTES,
  EnvelopedEntryBuilder,
  decodeEntry,
  logRecordToString,
  openEnvelope,
} from '../../../../src/engine/log/record/enveloped-entry.js'
import {
  LogRecordFlag,
  MAX_LOGRECORDSET_SIZE,
  MAX_LOGRECORD_SIZE,
  checkRecordSize,
  decodeLogRecord,
  encodeLogRecord,
} from '../../../../src/engine/log/record/log-record.js'
import {LogRecordSetBuilder, decodeRecordSet} from '../../../../src/engine/log/record/record-set.js'
import {MAX_TXID} from '../../../../src/engine/log/types.js'

const payload = fc.uint8Array({maxLength: 200}).map((a) => Buffer.from(a))
const txid = fc.oneof(fc.nat(), fc.constant(MAX_TXID), fc.maxSafeNat())
const wireRecord = fc.record({
  flags: fc.constantFrom(0, LogRecordFlag.CONTROL, LogRecordFlag.END_OF_STREAM),
  positionWithinLogSegment: fc.nat({max: 0xffff_ffff}),
  txid,
  payload,
})

/** Decoders may only throw InvalidInputError on garbage. */
function onlyInvalidInput(fn: () => unknown): void {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e
  }
}

describe('log/record > LogRecord', () => {
  it('encodes the documented layout (flags, position, txid, length, payload)', () => {
    const buf = encodeLogRecord({flags: LogRecordFlag.CONTROL, positionWithinLogSegment: 0x1_0002, txid: 7, payload: Buffer.from('control')})
    assert.equal(buf.toString('hex', 0, 8), '0000000100020001')
    assert.equal(buf.readBigInt64BE(8), 7n)
    assert.equal(buf.readInt32BE(16), 7)
    assert.equal(buf.subarray(20).toString(), 'control')
  })

  it('maps MAX_TXID to Long.MAX_VALUE on the wire and back', () => {
    const buf = encodeLogRecord({flags: LogRecordFlag.END_OF_STREAM, positionWithinLogSegment: 3, txid: MAX_TXID, payload: Buffer.from('endOfStream')})
    assert.equal(buf.readBigInt64BE(8), 0x7fff_ffff_ffff_ffffn)
    assert.equal(decodeLogRecord(buf).txid, MAX_TXID)
  })

  it('rejects txids outside the safe range and negative lengths with InvalidInputError', () => {
    const buf = encodeLogRecord({flags: 0, positionWithinLogSegment: 1, txid: 1, payload: Buffer.alloc(0)})
    buf.writeBigInt64BE(2n ** 60n, 8)
    assert.throws(() => decodeLogRecord(buf), InvalidInputError)
    buf.writeBigInt64BE(1n, 8)
    buf.writeInt32BE(-1, 16)
    assert.throws(() => decodeLogRecord(buf), /negative length/)
  })

  it('txids travel as the int64 the original writes, for any safe integer and any int64 on the wire (property)', () => {
    const LONG_MAX = 0x7fff_ffff_ffff_ffffn
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.constantFrom(Number.MIN_SAFE_INTEGER, -1, 0, 2 ** 32 - 1, 2 ** 32, MAX_TXID - 1, MAX_TXID)), (txid) => {
        const buf = encodeLogRecord({flags: 0, positionWithinLogSegment: 1, txid, payload: Buffer.alloc(0)})
        assert.equal(buf.readBigInt64BE(8), txid === MAX_TXID ? LONG_MAX : BigInt(txid))
        assert.equal(decodeLogRecord(buf).txid, txid)
      }),
    )
    fc.assert(
      fc.property(fc.bigInt({min: -(2n ** 63n), max: LONG_MAX}), (wire) => {
        const buf = encodeLogRecord({flags: 0, positionWithinLogSegment: 1, txid: 1, payload: Buffer.alloc(0)})
        buf.writeBigInt64BE(wire, 8)
        if (wire === LONG_MAX) assert.equal(decodeLogRecord(buf).txid, MAX_TXID)
        else if (wire >= BigInt(Number.MIN_SAFE_INTEGER) && wire < BigInt(MAX_TXID)) assert.equal(decodeLogRecord(buf).txid, Number(wire))
        else assert.throws(() => decodeLogRecord(buf), InvalidInputError)
      }),
    )
  })

  it('size limit: MAX_LOGRECORD_SIZE is 1040384 bytes including the 20-byte header', () => {
    assert.equal(MAX_LOGRECORD_SIZE, 1040384)
    assert.equal(MAX_LOGRECORDSET_SIZE, 1044480)
    checkRecordSize(MAX_LOGRECORD_SIZE - 20)
    assert.throws(() => checkRecordSize(MAX_LOGRECORD_SIZE - 19), LogRecordTooLongError)
  })

  it('round-trips any record (property)', () => {
    fc.assert(
      fc.property(wireRecord, (r) => {
        const back = decodeLogRecord(encodeLogRecord(r))
        assert.deepEqual([back.flags, back.positionWithinLogSegment, back.txid, Buffer.from(back.payload)], [r.flags, r.positionWithinLogSegment, r.txid, r.payload])
      }),
    )
  })

  it('decoding garbage throws only InvalidInputError (property)', () => {
    fc.assert(fc.property(fc.uint8Array({maxLength: 64}), (a) => onlyInvalidInput(() => decodeLogRecord(Buffer.from(a)))))
  })
})

describe('log/record > LogRecordSet', () => {
  it('round-trips payloads in order, with none and (when available) lz4', () => {
    const codecs = lz4Available() ? (['none', 'lz4'] as const) : (['none'] as const)
    for (const c of codecs) {
      fc.assert(
        fc.property(fc.array(payload, {maxLength: 30}), (ps) => {
          const b = new LogRecordSetBuilder()
          for (const p of ps) b.add(p)
          const out = decodeRecordSet(b.build(c))
          assert.deepEqual(out.map((x) => Buffer.from(x)), ps)
        }),
        {numRuns: 50},
      )
    }
  })

  it('refuses a payload that would push the set past one record', () => {
    const b = new LogRecordSetBuilder()
    b.add(Buffer.alloc(MAX_LOGRECORD_SIZE - 20 - 16 - 4 - 100))
    assert.throws(() => b.add(Buffer.alloc(200)), LogRecordTooLongError)
    assert.equal(b.count, 1)
  })

  it('decoding garbage and mutated sets throws only InvalidInputError (property)', () => {
    const b = new LogRecordSetBuilder()
    b.add(Buffer.from('abc'))
    b.add(Buffer.from('defgh'))
    const good = b.build()
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 64}), fc.nat(good.length - 1), fc.integer({min: 0, max: 255}), (junk, at, byte) => {
        onlyInvalidInput(() => decodeRecordSet(Buffer.from(junk)))
        const m = Buffer.from(good)
        m[at] = byte
        onlyInvalidInput(() => decodeRecordSet(m))
      }),
    )
  })
})

describe('log/record > enveloped entry', () => {
  it('has a 13-byte header and assigns slots, a record set taking one slot per record', () => {
    const e = new EnvelopedEntryBuilder('none')
    assert.equal(e.add({flags: 0, positionWithinLogSegment: 1, txid: 10, payload: Buffer.from('a')}), 0)
    const set = new LogRecordSetBuilder()
    set.add(Buffer.from('s0'))
    set.add(Buffer.from('s1'))
    set.add(Buffer.from('s2'))
    assert.equal(e.add({flags: LogRecordFlag.RECORD_SET, positionWithinLogSegment: 2, txid: 11, payload: set.build()}, 3), 1)
    assert.equal(e.add({flags: 0, positionWithinLogSegment: 5, txid: 12, payload: Buffer.from('b')}), 4)
    const buf = e.build()
    assert.equal(buf[0], 1)
    assert.equal(buf.readInt32BE(5), buf.length - ENVELOPE_HEADER_BYTES)
    const recs = decodeEntry(buf, {logSegmentSequenceNo: 3, entryId: 9, startSequenceId: 100})
    assert.deepEqual(
      recs.map((r) => [r.payload.toString(), r.dlsn.slotId, r.positionWithinLogSegment, r.sequenceId, r.txid]),
      [
        ['a', 0, 1, 100, 10],
        ['s0', 1, 2, 101, 11],
        ['s1', 2, 3, 102, 11],
        ['s2', 3, 4, 103, 11],
        ['b', 4, 5, 104, 12],
      ],
    )
    assert.equal(logRecordToString(recs[0]!), 'LogRecordWithDLSN{dlsn=DLSN{logSegmentSequenceNo=3, entryId=9, slotId=0}, txid=10, position=1, isControl=false, isEndOfStream=false}')
  })

  it('rejects a bad version with the original message', () => {
    const buf = new EnvelopedEntryBuilder('none').build()
    buf[0] = 2
    assert.throws(() => openEnvelope(buf), /Version mismatch while reading. Received: 2, Required: 1/)
  })

  it('round-trips batches of records (property), lz4 when available', () => {
    const codecs = lz4Available() ? (['none', 'lz4'] as const) : (['none'] as const)
    for (const c of codecs) {
      fc.assert(
        fc.property(fc.array(wireRecord, {maxLength: 20}), (rs) => {
          const e = new EnvelopedEntryBuilder(c, 16)
          for (const r of rs) e.add(r)
          const back = decodeEntry(e.build(), {logSegmentSequenceNo: 1, entryId: 0, startSequenceId: 0})
          assert.equal(back.length, rs.length)
          back.forEach((r, i) => {
            assert.equal(r.txid, rs[i]!.txid)
            assert.equal(r.dlsn.slotId, i)
            assert.deepEqual(Buffer.from(r.payload), rs[i]!.payload)
            assert.equal(r.isControl, (rs[i]!.flags & LogRecordFlag.CONTROL) !== 0)
          })
        }),
        {numRuns: 50},
      )
    }
  })

  it('decoding garbage and mutated entries throws only InvalidInputError (property)', () => {
    const codecs = lz4Available() ? (['none', 'lz4'] as const) : (['none'] as const)
    for (const c of codecs) {
      const e = new EnvelopedEntryBuilder(c)
      e.add({flags: 0, positionWithinLogSegment: 1, txid: 1, payload: Buffer.from('hello hello hello hello')})
      const set = new LogRecordSetBuilder()
      set.add(Buffer.from('x'))
      e.add({flags: LogRecordFlag.RECORD_SET, positionWithinLogSegment: 2, txid: 2, payload: set.build(c)}, 1)
      const good = e.build()
      fc.assert(
        fc.property(fc.uint8Array({maxLength: 80}), fc.nat(good.length - 1), fc.integer({min: 0, max: 255}), (junk, at, byte) => {
          const pos = {logSegmentSequenceNo: 1, entryId: 0, startSequenceId: 0}
          onlyInvalidInput(() => decodeEntry(Buffer.from(junk), pos))
          const m = Buffer.from(good)
          m[at] = byte
          onlyInvalidInput(() => decodeEntry(m, pos))
          onlyInvalidInput(() => decodeEntry(good.subarray(0, at), pos))
        }),
        {numRuns: 300},
      )
    }
  })

  it('lz4 writes a raw block and compresses repetitive data', {skip: !lz4Available() && 'lz4-napi not installed'}, () => {
    const data = Buffer.from('abcd'.repeat(1000))
    const block = codecOf('lz4').compress(data)
    assert.ok(block.length < data.length / 10)
    assert.deepEqual(codecOf('lz4').decompress(block, data.length), data)
    assert.throws(() => codecOf('lz4').decompress(block, data.length + 1), InvalidInputError)
  })
})
