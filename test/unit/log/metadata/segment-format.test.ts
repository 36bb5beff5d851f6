/**
 * The log segment metadata codec: the original's strings for V1-V5 (distributedlog.md §3.4), the
 * packed versionStatusCount, znode names, toString, and garbage never throwing anything but
 * InvalidInputError (or UnsupportedMetadataVersionError for a version above 5).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {DLSN} from '../../../../src/engine/log/dlsn.js'
import {UnsupportedMetadataVersionError} from '../../../../src/engine/log/errors.js'
import {
  completedZnodeName,
  decodeSegmentMetadata,
  encodeSegmentMetadata,
  inprogressZnodeName,
  newInprogressSegment,
  parseTxId,
  segmentToString,
} from '../../../../src/engine/log/metadata/segment-format.js'
import {MAX_TXID, TruncationStatus} from '../../../../src/engine/log/types.js'

const dec = (text: string, name = 'logrecs_000000000000000001', version = 0) => decodeSegmentMetadata(Buffer.from(text), name, version)

describe('log segment metadata codec', () => {
  it('names znodes with 18 zero-padded digits', () => {
    assert.equal(inprogressZnodeName(1), 'inprogress_000000000000000001')
    assert.equal(completedZnodeName(1234), 'logrecs_000000000000001234')
  })

  it('reads and rewrites the real V5 in-progress example', () => {
    const s = dec('5;516;8249;1;0;0;-1', 'inprogress_000000000000000001', 3)
    assert.equal(s.inprogress, true)
    assert.equal(s.ledgerId, 516)
    assert.equal(s.firstTxId, 8249)
    assert.equal(s.logSegmentSequenceNo, 1)
    assert.equal(s.lastTxId, -999)
    assert.equal(s.lastEntryId, -1)
    assert.equal(s.startSequenceId, -1)
    assert.equal(s.znodeVersion, 3)
    assert.ok(s.minActiveDLSN.equals(new DLSN(1, 0, 0)))
    assert.equal(encodeSegmentMetadata(s).toString(), '5;516;8249;1;0;0;-1')
    assert.equal(
      segmentToString(s),
      '[LogSegmentId:516, firstTxId:8249, lastTxId:-999, version:VERSION_V5_SEQUENCE_ID, completionTime:0, recordCount:0, regionId:0, ' +
        'status:0, logSegmentSequenceNumber:1, lastEntryId:-1, lastSlotId:-1, inprogress:true, ' +
        'minActiveDLSN:DLSN{logSegmentSequenceNo=1, entryId=0, slotId=0}, startSequenceId:-1]',
    )
  })

  it('reads and rewrites the real V5 completed example (count in the high 32 bits)', () => {
    const text = '4294967301;54;8297;8297;1626873057488;1;0;0;0;0;0'
    const s = dec(text)
    assert.equal(s.inprogress, false)
    assert.equal(s.version, 5)
    assert.equal(s.recordCount, 1)
    assert.equal(s.completionTimeMs, 1626873057488)
    assert.equal(s.lastEntryId, 0)
    assert.equal(s.startSequenceId, 0)
    assert.equal(encodeSegmentMetadata(s).toString(), text)
  })

  it('packs status and region id into versionStatusCount', () => {
    const base = newInprogressSegment({ledgerId: 7, logSegmentSequenceNo: 3, firstTxId: 10, regionId: 5})
    const done = {...base, inprogress: false, lastTxId: 20, recordCount: 3, completionTimeMs: 99, lastEntryId: 4, lastSlotId: 1, startSequenceId: 12,
      status: TruncationStatus.PARTIALLY_TRUNCATED, minActiveDLSN: new DLSN(3, 2, 0)}
    const text = encodeSegmentMetadata(done).toString()
    const vsc = (3n << 32n) | (5n << 28n) | (1n << 8n) | 5n
    assert.equal(text, `${vsc};7;10;20;99;3;4;1;2;0;12`)
    const back = dec(text)
    assert.equal(back.regionId, 5)
    assert.equal(back.status, TruncationStatus.PARTIALLY_TRUNCATED)
    assert.equal(back.recordCount, 3)
    assert.ok(back.minActiveDLSN.equals(new DLSN(3, 2, 0)))
  })

  it('reads V1-V4 layouts', () => {
    const v1 = dec('1;5;100', 'inprogress_000000000000000001')
    assert.equal(v1.version, 1)
    assert.equal(v1.inprogress, true)
    assert.equal(v1.firstTxId, 100)
    const v1done = dec(`${(2n << 32n) | 1n};5;100;200;1000`)
    assert.equal(v1done.recordCount, 2)
    assert.equal(v1done.lastTxId, 200)
    const v2 = dec('2;5;100;200;1000;3;7;2')
    assert.equal(v2.version, 2)
    assert.equal(v2.logSegmentSequenceNo, 3)
    assert.ok(v2.minActiveDLSN.equals(new DLSN(3, 0, 0)))
    const v2in = dec('2;5;100;4', 'inprogress_000000000000000004')
    assert.equal(v2in.logSegmentSequenceNo, 4)
    const v3 = dec('3;5;100;4;2;1', 'inprogress_000000000000000004')
    assert.ok(v3.minActiveDLSN.equals(new DLSN(4, 2, 1)))
    const v4 = dec('4;5;100;200;1000;4;7;2;3;0')
    assert.equal(v4.lastEntryId, 7)
    assert.equal(v4.lastSlotId, 2)
    assert.equal(v4.startSequenceId, -1)
    // Rewriting upgrades to V5.
    assert.equal(encodeSegmentMetadata(v4).toString(), '5;5;100;200;1000;4;7;2;3;0;-1')
  })

  it('maps Long.MAX_VALUE (end of stream) to MAX_TXID and back', () => {
    const text = `${(1n << 32n) | 5n};9;5;9223372036854775807;1;2;0;0;0;0;0`
    const s = dec(text)
    assert.equal(s.lastTxId, MAX_TXID)
    assert.equal(encodeSegmentMetadata(s).toString(), text)
    assert.equal(parseTxId('9223372036854775807'), MAX_TXID)
  })

  it('refuses versions above 5 with the original message, and malformed data clearly', () => {
    assert.throws(() => dec('6;1;1;1;0;0;0'), (e: Error) => e instanceof UnsupportedMetadataVersionError &&
      e.message === "Metadata version '6' is higher than the highest supported version : 6;1;1;1;0;0;0")
    assert.throws(() => dec('abc;1'), (e: Error) => e instanceof InvalidInputError && e.message === 'Invalid ledger entry, abc;1')
    assert.throws(() => dec('5;1;2'), /Invalid log segment metadata : 5;1;2/)
    assert.throws(() => dec('5;1;x;1;0;0;-1'), InvalidInputError)
    assert.throws(() => dec('5;1;1;1;0;0;99999999999999999999'), InvalidInputError)
  })

  it('never throws anything but InvalidInputError / UnsupportedMetadataVersionError on garbage', () => {
    const ok = (e: unknown) => e instanceof InvalidInputError || e instanceof UnsupportedMetadataVersionError
    const check = (buf: Buffer) => {
      try {
        decodeSegmentMetadata(buf, 'x', 0)
      } catch (e) {
        if (!ok(e)) throw e
      }
    }
    fc.assert(fc.property(fc.uint8Array({maxLength: 200}), (a) => check(Buffer.from(a))))
    const numeric = fc.array(fc.oneof(fc.bigInt({min: -(2n ** 64n), max: 2n ** 64n}).map(String), fc.constantFrom('', '-', '+1', '0x1')), {maxLength: 13})
    fc.assert(fc.property(numeric, (parts) => check(Buffer.from(parts.join(';')))))
    const valid = Buffer.from('4294967301;54;8297;8297;1626873057488;1;0;0;0;0;0')
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({min: 0, max: 255}), (at, byte) => {
        const m = Buffer.from(valid)
        m[at] = byte
        check(m)
      }),
    )
  })

  it('round-trips any valid segment', () => {
    const seg = fc.record({
      ledgerId: fc.nat(), seq: fc.integer({min: 1, max: 2 ** 40}), first: fc.nat(), last: fc.nat(), count: fc.nat(0xffffffff),
      region: fc.nat(15), status: fc.constantFrom(0, 1, 2), entry: fc.integer({min: -1, max: 2 ** 40}), slot: fc.integer({min: -1, max: 5000}),
      start: fc.integer({min: -1, max: 2 ** 50}), inprogress: fc.boolean(), time: fc.nat(),
    })
    fc.assert(
      fc.property(seg, (g) => {
        const s = {
          ...newInprogressSegment({ledgerId: g.ledgerId, logSegmentSequenceNo: g.seq, firstTxId: g.first, regionId: g.region, startSequenceId: g.start}),
          status: g.status as TruncationStatus,
        }
        const full = g.inprogress ? s : {...s, inprogress: false, lastTxId: g.last, recordCount: g.count, lastEntryId: g.entry, lastSlotId: g.slot, completionTimeMs: g.time}
        const back = decodeSegmentMetadata(encodeSegmentMetadata(full), full.znodeName, 0)
        assert.deepEqual({...back, minActiveDLSN: back.minActiveDLSN.toString()}, {...full, minActiveDLSN: full.minActiveDLSN.toString()})
      }),
    )
  })
})
