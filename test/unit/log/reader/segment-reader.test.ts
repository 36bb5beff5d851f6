import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {ManualClock} from '../../../../src/engine/common/clock.js'
import {LedgerError, LedgerErrorCode} from '../../../../src/engine/ledger/errors.js'
import {DL_CONFIG_DEFAULTS, type DistributedLogConfig} from '../../../../src/engine/log/config.js'
import {DLSN} from '../../../../src/engine/log/dlsn.js'
import {LogReadError, ReadCancelledError} from '../../../../src/engine/log/errors.js'
import {LogSegmentEntryReader, findFirstRecordWithTxIdAtLeast} from '../../../../src/engine/log/reader/segment-reader.js'
import type {LogRecordWithDLSN} from '../../../../src/engine/log/types.js'
import {LogSegmentWriter} from '../../../../src/engine/log/writer/segment-writer.js'
import {MemoryLedgers} from '../../../helpers/memory-ledgers.js'

const LSSN = 3

async function setup(over: Partial<DistributedLogConfig> = {}) {
  const clock = new ManualClock()
  const ledgers = new MemoryLedgers({clock})
  const handle = await ledgers.createLedger()
  const config = {...DL_CONFIG_DEFAULTS, writerOutputBufferBytes: 0, ...over}
  const writer = new LogSegmentWriter({handle, logSegmentSequenceNo: LSSN, startTxId: 1, config, clock, streamName: 's'})
  const openReader = async (o: {inprogress?: boolean; startDLSN?: DLSN; lastEntryId?: number} = {}) =>
    new LogSegmentEntryReader({
      handle: await ledgers.openLedgerNoRecovery(handle.ledgerId),
      segment: {logSegmentSequenceNo: LSSN, startSequenceId: 100, inprogress: o.inprogress ?? false, lastEntryId: o.lastEntryId ?? handle.lastAddConfirmed},
      startDLSN: o.startDLSN,
      config,
      clock,
    })
  return {clock, ledgers, handle, writer, config, openReader}
}

async function drain(reader: LogSegmentEntryReader): Promise<LogRecordWithDLSN[]> {
  const out: LogRecordWithDLSN[] = []
  for (;;) {
    const batch = await reader.readNext()
    if (batch === null) return out
    out.push(...batch)
  }
}

const rec = (txid: number) => ({txid, payload: Buffer.from(`r${txid}`)})
const settle = () => new Promise((r) => setImmediate(r))

describe('log/reader > LogSegmentEntryReader', () => {
  it('reads a completed segment in order: control records dropped, sets expanded, sequence ids from startSequenceId, then null', async () => {
    const {writer, openReader} = await setup({immediateFlushEnabled: true})
    await writer.write(rec(1))
    await writer.writeRecordSet(2, [Buffer.from('a'), Buffer.from('b')])
    await writer.write(rec(3))
    await writer.close()
    const reader = await openReader()
    const rs = await drain(reader)
    assert.deepEqual(
      rs.map((r) => [r.payload.toString(), r.txid, r.positionWithinLogSegment, r.sequenceId, r.dlsn.entryId, r.dlsn.slotId]),
      [
        ['r1', 1, 1, 100, 0, 0],
        ['a', 2, 2, 101, 2, 0],
        ['b', 2, 3, 102, 2, 1],
        ['r3', 3, 4, 103, 4, 0],
      ],
    )
    assert.equal(await reader.readNext(), null)
    assert.equal(reader.isEndOfSegment, true)
  })

  it('starts at a DLSN, skipping earlier records of the first entry', async () => {
    const {writer, openReader} = await setup({writerOutputBufferBytes: 1 << 20})
    for (let t = 1; t <= 5; t++) void writer.write(rec(t))
    await writer.close()
    const reader = await openReader({startDLSN: new DLSN(LSSN, 0, 3)})
    assert.deepEqual((await drain(reader)).map((r) => r.txid), [4, 5])
  })

  it('tails an in-progress segment: never past the LAC, waits by long poll, sees each record once committed', async () => {
    const {writer, openReader, ledgers, clock} = await setup()
    await writer.write(rec(1))
    const reader = await openReader({inprogress: true})
    const box: {got?: LogRecordWithDLSN[] | null} = {}
    const p = reader.readNext().then((r) => (box.got = r))
    await settle()
    assert.equal(box.got, undefined, 'entry 0 is not visible until something follows it')
    // Long polls time out and are re-issued on the clock; none spins.
    clock.advance(DL_CONFIG_DEFAULTS.readLACLongPollTimeoutMs * 3)
    await settle()
    const pollsWhileIdle = ledgers.stats.longPolls
    assert.ok(pollsWhileIdle >= 2 && pollsWhileIdle <= 5, `polls while idle: ${pollsWhileIdle}`)
    await writer.flushAndCommit()
    await p
    const got = box.got as LogRecordWithDLSN[] | null | undefined
    assert.deepEqual(got?.map((r) => r.txid), [1])
    assert.equal(reader.stats().longPollsWithoutProgress, 0)
    // Writer keeps going; reader follows.
    await writer.write(rec(2))
    await writer.flushAndCommit()
    assert.deepEqual((await reader.readNext())?.map((r) => r.txid), [2])
    // Completion ends the segment for the reader.
    await writer.close()
    reader.markCompleted(writer.counters().lastDLSN.entryId)
    assert.equal(await reader.readNext(), null)
  })

  it('learns the end from a closed ledger even without markCompleted', async () => {
    const {writer, openReader} = await setup()
    const reader = await openReader({inprogress: true})
    const p = drain(reader)
    await writer.write(rec(1))
    await writer.write(rec(2))
    await writer.close()
    assert.deepEqual((await p).map((r) => r.txid), [1, 2])
  })

  it('keeps a bounded prefetch', async () => {
    const {writer, openReader, ledgers} = await setup()
    for (let t = 1; t <= 50; t++) await writer.write(rec(t))
    await writer.close()
    const before = ledgers.stats.readEntries
    const reader = await openReader({lastEntryId: 49})
    reader.start()
    await settle()
    await settle()
    assert.ok(reader.position <= DL_CONFIG_DEFAULTS.prefetchEntriesPerSegment, `prefetched to entry ${reader.position}`)
    assert.equal((await drain(reader)).length, 50)
    assert.ok(ledgers.stats.readEntries - before >= 50 / DL_CONFIG_DEFAULTS.prefetchEntriesPerSegmentMax)
  })

  it('retries retriable read errors, fails on others with the cause, and on corrupt entries with LogReadError', async () => {
    const {writer, openReader, ledgers, clock, handle} = await setup()
    await writer.write(rec(1))
    await writer.close()
    ledgers.failReads(2)
    const r1 = await openReader()
    const p = drain(r1)
    for (let i = 0; i < 5; i++) {
      await settle()
      clock.advance(1000)
    }
    assert.deepEqual((await p).map((r) => r.txid), [1])
    assert.equal(r1.stats().retries, 2)

    ledgers.failReads(1, new LedgerError(LedgerErrorCode.NO_SUCH_LEDGER, 'gone'))
    const r2 = await openReader()
    await assert.rejects(r2.readNext(), /gone/)
    await assert.rejects(r2.readNext(), /gone/, 'the reader stays in error')

    ledgers.entriesOf(handle.ledgerId)[0]!.fill(0xff, 0, 1)
    const r3 = await openReader()
    const e = await r3.readNext().then(() => assert.fail('should fail'), (x: unknown) => x)
    assert.ok(e instanceof LogReadError)
    assert.match(e.message, /Corrupt entry 0 of log segment 3/)
  })

  it('hands out the entries it read before a read failed, in order, then the failure', async () => {
    const {writer, openReader, ledgers} = await setup({prefetchEntriesPerSegment: 4, prefetchEntriesPerSegmentMax: 4})
    for (let t = 1; t <= 6; t++) await writer.write(rec(t))
    await writer.close()
    const r = await openReader()
    assert.deepEqual((await r.readNext())?.map((x) => x.txid), [1])
    // Entries 0..3 are prefetched; taking entry 1 leaves two and starts the read of 4..5, which fails.
    ledgers.failReads(1, new LedgerError(LedgerErrorCode.NO_SUCH_LEDGER, 'gone'))
    assert.deepEqual((await r.readNext())?.map((x) => x.txid), [2])
    await settle()
    assert.deepEqual((await r.readNext())?.map((x) => x.txid), [3])
    assert.deepEqual((await r.readNext())?.map((x) => x.txid), [4])
    await assert.rejects(r.readNext(), /gone/)
    await assert.rejects(r.readNext(), /gone/, 'the reader stays in error')
  })

  it('close rejects pending reads with ReadCancelledError', async () => {
    const {openReader} = await setup()
    const reader = await openReader({inprogress: true})
    const p = reader.readNext()
    await reader.close()
    await assert.rejects(p, ReadCancelledError)
    await assert.rejects(reader.readNext(), /Reader was closed/)
  })
})

describe('log/reader > findFirstRecordWithTxIdAtLeast', () => {
  it('finds the first record with txid >= T across batched, control and set entries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(3), fc.boolean(), fc.boolean()), {minLength: 1, maxLength: 40}),
        fc.nat(80),
        async (steps, target) => {
          const {writer, ledgers, handle} = await setup({writerOutputBufferBytes: 1 << 20})
          let txid = 0
          const written: number[] = []
          for (const [gap, flush, asSet] of steps) {
            txid += gap
            if (asSet) {
              void writer.writeRecordSet(txid, [Buffer.from('x'), Buffer.from('y')])
              written.push(txid, txid)
            } else {
              void writer.write({txid, payload: Buffer.from('p')})
              written.push(txid)
            }
            if (flush) await writer.flushAndCommit()
          }
          await writer.close()
          const rh = await ledgers.openLedgerNoRecovery(handle.ledgerId)
          const hit = await findFirstRecordWithTxIdAtLeast(rh, {logSegmentSequenceNo: LSSN, startSequenceId: 0}, rh.lastAddConfirmed, target)
          const expectedIndex = written.findIndex((t) => t >= target)
          if (expectedIndex < 0) assert.equal(hit, undefined)
          else {
            assert.equal(hit?.txid, written[expectedIndex])
            assert.equal(hit?.sequenceId, expectedIndex)
          }
        },
      ),
      {numRuns: 60},
    )
  })
})
