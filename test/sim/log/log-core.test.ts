/**
 * The log writer, reader and manager over in-memory ledgers and metadata: lock ownership, recovery of a
 * dead writer's segment, rolling, tailing across rolls, txid rules, truncation (also inside the active
 * segment), retention, end of stream, txid positioning, self-healing after a storage error, idle readers.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {DLSN} from '../../../src/engine/log/dlsn.js'
import {
  AlreadyTruncatedError,
  EndOfStreamError,
  IdleReaderError,
  LockingError,
  LogEmptyError,
  MetadataError,
  OwnershipAcquireFailedError,
  ReadCancelledError,
  TransactionIdOutOfOrderError,
} from '../../../src/engine/log/errors.js'
import {TruncationStatus, type LogRecordWithDLSN} from '../../../src/engine/log/types.js'
import {readN, rec, world} from '../../helpers/memory-log-world.js'
import {waitFor} from '../../helpers/wait-for.js'

const LOG = 'stream-0'

describe('log core (memory ledgers)', () => {
  it('writes records and reads them back in order with DLSNs and sequence ids', async () => {
    const w = world()
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    const dlsns = await writer.writeBulk(Array.from({length: 50}, (_, i) => rec(i + 1)))
    for (let i = 1; i < dlsns.length; i++) assert.ok((dlsns[i] as DLSN).compareTo(dlsns[i - 1] as DLSN) > 0)
    assert.equal(dlsns[0]?.logSegmentSequenceNo, 1)
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    const got = await readN(reader, 50)
    assert.deepEqual(got.map((r) => r.txid), Array.from({length: 50}, (_, i) => i + 1))
    assert.deepEqual(got.map((r) => r.sequenceId), Array.from({length: 50}, (_, i) => i))
    assert.deepEqual(got.map((r) => r.dlsn.serialize()), dlsns.map((d) => d.serialize()))
    assert.equal(got[7]?.payload.toString(), 'record-8')
    assert.equal(await dlm.getLastTxId(), 50)
    assert.deepEqual((await dlm.getLastDLSN()).serialize(), dlsns.at(-1)?.serialize())
    assert.equal(await dlm.getLogRecordCount(), 50)
    assert.deepEqual((await dlm.getFirstDLSN()).serialize(), dlsns[0]?.serialize())
    await reader.close()
    await writer.close()
    // close completes the segment: nothing is left in progress.
    const segs = await dlm.getLogSegments()
    assert.equal(segs.length, 1)
    assert.equal(segs[0]?.inprogress, false)
    assert.equal(segs[0]?.recordCount, 50)
    assert.equal(segs[0]?.lastTxId, 50)
    await dlm.close()
  })

  it('an empty log answers LogEmptyError', async () => {
    const w = world()
    await w.store.createLog(LOG)
    const dlm = await w.open()
    await assert.rejects(dlm.getLastDLSN(), LogEmptyError)
    await assert.rejects(dlm.getLastLogRecord(), LogEmptyError)
  })

  it('a second writer fails with OwnershipAcquireFailedError naming the owner; the lock frees on close', async () => {
    const w = world()
    const a = await (await w.open('writer-a')).openAsyncLogWriter()
    const other = await w.open('writer-b')
    await assert.rejects(other.openAsyncLogWriter(), (e: unknown) => e instanceof OwnershipAcquireFailedError && e.currentOwner === 'writer-a' && /current owner is writer-a/.test(e.message))
    await a.write(rec(1))
    await a.close()
    const b = await other.openAsyncLogWriter()
    await b.write(rec(2))
    await b.close()
  })

  it('txids must not decrease (unless the check is off); negative and MAX are invalid', async () => {
    const w = world()
    const writer = await (await w.open()).openAsyncLogWriter()
    await writer.write(rec(10))
    await assert.rejects(writer.write(rec(9)), (e: unknown) => e instanceof TransactionIdOutOfOrderError && e.lastTxId === 10)
    await assert.rejects(writer.write(rec(-1)), TransactionIdOutOfOrderError)
    await writer.write(rec(10))
    await writer.close()
    // A new writer checks against the log's maxtxid.
    const again = await (await w.open()).openAsyncLogWriter()
    await assert.rejects(again.write(rec(3)), /Received smaller txn id 3, last txn id is 10/)
    await again.close()
    const lax = await (await w.open('writer-a', {txidSanityCheckEnabled: false})).openAsyncLogWriter()
    await lax.write(rec(3))
    await lax.close()
  })

  it('rolls by size; a tailing reader follows across rolls and sequence ids continue', async () => {
    const w = world({logSegmentBytesMax: 400})
    await w.store.createLog(LOG)
    const dlm = await w.open()
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    const writer = await dlm.openAsyncLogWriter()
    const got: LogRecordWithDLSN[] = []
    const reading = (async () => {
      while (got.length < 100) got.push(...(await reader.readBulk(100)))
    })()
    for (let i = 1; i <= 100; i++) await writer.write(rec(i))
    await reading
    assert.deepEqual(got.map((r) => r.txid), Array.from({length: 100}, (_, i) => i + 1))
    assert.deepEqual(got.map((r) => r.sequenceId), Array.from({length: 100}, (_, i) => i))
    const segs = await dlm.getLogSegments()
    assert.ok(segs.length >= 5, `expected several segments, got ${segs.length}`)
    let expectedStart = 0
    for (const s of segs.filter((x) => !x.inprogress)) {
      assert.equal(s.startSequenceId, expectedStart)
      expectedStart += s.recordCount
    }
    assert.ok(new Set(got.map((r) => r.dlsn.logSegmentSequenceNo)).size >= 5)
    await reader.close()
    await writer.close()
  })

  it('rolls by time', async () => {
    const w = world({logSegmentRollingMinutes: 1})
    const writer = await (await w.open()).openAsyncLogWriter()
    await writer.write(rec(1))
    await writer.write(rec(2))
    w.clock.skewMs += 61_000
    const d = await writer.write(rec(3))
    assert.equal(d.logSegmentSequenceNo, 2)
    await writer.close()
  })

  it('a new writer recovers the segment a dead writer left: every acknowledged record exactly once', async () => {
    const w = world()
    const dlm = await w.open('dead')
    const dead = await dlm.openAsyncLogWriter()
    const acked: number[] = []
    for (let i = 1; i <= 30; i++) {
      await dead.write(rec(i))
      acked.push(i)
    }
    // The process dies: its lock's session expires, nothing is closed.
    w.store.setLockOwner(LOG, undefined)
    const next = await (await w.open('next')).openAsyncLogWriter()
    const segs = await w.store.getLogSegments(LOG)
    assert.equal(segs.length, 1)
    assert.equal(segs[0]?.inprogress, false)
    assert.equal(segs[0]?.recordCount, 30)
    assert.equal(segs[0]?.lastTxId, 30)
    // The dead writer is fenced.
    await assert.rejects(dead.write(rec(31)))
    await next.write(rec(31))
    await next.close()
    const reader = await (await w.open('r')).getAsyncLogReader(DLSN.InitialDLSN)
    const got = await readN(reader, 31)
    assert.deepEqual(got.map((r) => r.txid), [...acked, 31])
    assert.deepEqual(await reader.readBulk(10, 50), [])
    await reader.close()
  })

  it('recover() completes an empty in-progress segment with lastTxId = firstTxId', async () => {
    const w = world()
    await w.store.createLog(LOG)
    const handle = await w.ledgers.createLedger()
    await w.store.startLogSegment(LOG, {ledgerId: handle.ledgerId, firstTxId: 7})
    const dlm = await w.open()
    await dlm.recover()
    const [seg] = await dlm.getLogSegments()
    assert.equal(seg?.inprogress, false)
    assert.equal(seg?.lastTxId, 7)
    assert.equal(seg?.recordCount, 0)
    assert.equal(seg?.lastEntryId, -1)
  })

  it('end of stream: later writes fail, readers get every record then EndOfStreamError', async () => {
    const w = world()
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    for (let i = 1; i <= 5; i++) await writer.write(rec(i))
    await writer.markEndOfStream()
    await assert.rejects(writer.write(rec(6)), EndOfStreamError)
    assert.equal(await dlm.isEndOfStreamMarked(), true)
    await writer.close()
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    assert.deepEqual((await readN(reader, 5)).map((r) => r.txid), [1, 2, 3, 4, 5])
    await assert.rejects(reader.readNext(), (e: unknown) => e instanceof EndOfStreamError && /End of Stream Reached for stream-0/.test(e.message))
    await reader.close()
    const again = await (await w.open()).openAsyncLogWriter()
    await assert.rejects(again.write(rec(7)), EndOfStreamError)
    await again.close()
  })

  it('positions by txid: the first record with txid >= T, across segments', async () => {
    const w = world({logSegmentBytesMax: 300})
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    for (let i = 1; i <= 60; i++) await writer.write(rec(i * 10))
    for (const [t, first] of [
      [0, 10],
      [10, 10],
      [255, 260],
      [451, 460],
      [600, 600],
    ] as const) {
      const reader = await dlm.getAsyncLogReader({txid: t})
      const r = await reader.readNext()
      assert.equal(r.txid, first, `from txid ${t}`)
      assert.equal(r.sequenceId, first / 10 - 1)
      await reader.close()
    }
    // Beyond the end: tails until a record with a higher txid arrives.
    const tail = await dlm.getAsyncLogReader(605)
    const next = tail.readNext()
    await writer.write(rec(610))
    assert.equal((await next).txid, 610)
    await tail.close()
    await writer.close()
  })

  it('truncation marks completed segments and works inside the active segment', async () => {
    const w = world({logSegmentBytesMax: 300})
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    const dlsns: DLSN[] = []
    for (let i = 1; i <= 40; i++) dlsns.push(await writer.write(rec(i)))
    const active = writer.currentSegment
    assert.ok(active)
    // Truncate inside the active (in-progress) segment: at its 2nd record.
    const inActive = dlsns.filter((d) => d.logSegmentSequenceNo === active.logSegmentSequenceNo)
    assert.ok(inActive.length >= 2)
    const cut = inActive[1] as DLSN
    assert.equal(await writer.truncate(cut), true)
    const segs = await dlm.getLogSegments()
    for (const s of segs.filter((x) => x.logSegmentSequenceNo < cut.logSegmentSequenceNo)) assert.equal(s.status, TruncationStatus.TRUNCATED)
    const cur = segs.find((s) => s.logSegmentSequenceNo === cut.logSegmentSequenceNo)
    assert.equal(cur?.inprogress, true)
    assert.deepEqual(cur?.minActiveDLSN.serialize(), cut.serialize())
    // Reading from the start of the log hits truncated data.
    const r1 = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    await assert.rejects(r1.readNext(), AlreadyTruncatedError)
    await r1.close()
    // Reading from the active segment's start skips to the truncation point.
    const r2 = await dlm.getAsyncLogReader(new DLSN(cut.logSegmentSequenceNo, 0, 0))
    const first = await r2.readNext()
    assert.deepEqual(first.dlsn.serialize(), cut.serialize())
    await r2.close()
    // After completion the segment keeps its truncation point.
    await writer.close()
    const done = (await dlm.getLogSegments()).find((s) => s.logSegmentSequenceNo === cut.logSegmentSequenceNo)
    assert.equal(done?.inprogress, false)
    assert.equal(done?.status, TruncationStatus.PARTIALLY_TRUNCATED)
    const r3 = await dlm.getAsyncLogReader(new DLSN(cut.logSegmentSequenceNo, 0, 0))
    assert.equal((await r3.readNext()).txid, dlsns.indexOf(cut) + 1)
    await r3.close()
  })

  it('retention deletes old completed segments (ledgers then znodes), keeping the newest completed one', async () => {
    const w = world({logSegmentBytesMax: 200, logSegmentRetentionHours: 1})
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    for (let i = 1; i <= 30; i++) await writer.write(rec(i))
    const before = await dlm.getLogSegments()
    assert.ok(before.length >= 4)
    w.clock.skewMs += 2 * 3_600_000
    // Roll twice more so retention runs with the old segments past the cutoff.
    for (let i = 31; i <= 40; i++) await writer.write(rec(i))
    await writer.close()
    const after = await dlm.getLogSegments()
    const oldSeqNos = before.filter((s) => !s.inprogress).map((s) => s.logSegmentSequenceNo)
    assert.ok(after.every((s) => !oldSeqNos.includes(s.logSegmentSequenceNo)), 'old segments deleted')
    for (const s of before.filter((x) => !x.inprogress)) assert.equal(w.ledgers.ledgers.has(s.ledgerId), false, `ledger ${s.ledgerId} deleted`)
    for (const s of after) assert.equal(w.ledgers.ledgers.has(s.ledgerId), true)
    assert.ok(after.some((s) => !s.inprogress))
  })

  it('a segment whose znode cannot be written leaks no ledger; later writes succeed', async () => {
    const w = world()
    const writer = await (await w.open()).openAsyncLogWriter()
    w.store.failNext('start')
    await assert.rejects(writer.write(rec(1)), MetadataError)
    assert.equal(w.ledgers.ledgers.size, 0)
    const d = await writer.write(rec(2))
    assert.equal(d.logSegmentSequenceNo, 1)
    await writer.close()
  })

  it('self-heals after a storage error: failed writes fail typed, later writes land in a new segment', async () => {
    const w = world()
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    const acked: number[] = []
    for (let i = 1; i <= 10; i++) {
      await writer.write(rec(i))
      acked.push(i)
    }
    w.ledgers.failAppends({after: 0})
    await assert.rejects(writer.write(rec(11)), (e: unknown) => e instanceof Error && e.name !== 'AssertionError')
    await waitFor(() => writer.healCount === 1, {what: 'the writer to heal'})
    for (let i = 12; i <= 20; i++) {
      await writer.write(rec(i))
      acked.push(i)
    }
    const segs = await dlm.getLogSegments()
    assert.equal(segs[0]?.inprogress, false)
    assert.ok(segs.length >= 2)
    await writer.close()
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    const got = (await readN(reader, acked.length)).map((r) => r.txid)
    assert.deepEqual(got, acked)
    await reader.close()
  })

  it('fenced by another writer is a typed, final error', async () => {
    const w = world()
    const writer = await (await w.open()).openAsyncLogWriter()
    await writer.write(rec(1))
    const seg = writer.currentSegment
    assert.ok(seg)
    w.ledgers.fence(seg.ledgerId)
    await assert.rejects(writer.write(rec(2)))
    const final = await waitFor(() => writer.write(rec(3)).then(() => undefined, (e: unknown) => (e instanceof LockingError ? e : undefined)), {what: 'a LockingError'})
    assert.match(final.message, /fenced by another writer/)
    await assert.rejects(writer.write(rec(4)), LockingError)
    await writer.close()
  })

  it('the sync LogWriter buffers until flushAndSync; the sync LogReader returns null when caught up', async () => {
    const w = world({writerOutputBufferBytes: 1 << 20, immediateFlushEnabled: false})
    const dlm = await w.open()
    const writer = await dlm.openLogWriter()
    for (let i = 1; i <= 20; i++) writer.write(rec(i))
    assert.throws(() => writer.write(rec(5)), TransactionIdOutOfOrderError)
    const reader = await dlm.getInputStream(DLSN.InitialDLSN)
    assert.equal(await reader.readNext(true), null)
    assert.equal(await writer.flushAndSync(), 20)
    const got: number[] = []
    await waitFor(async () => {
      got.push(...(await reader.readBulk(false, 50)).map((r) => r.txid))
      return got.length >= 20
    })
    assert.deepEqual(got, Array.from({length: 20}, (_, i) => i + 1))
    assert.equal(await reader.readNext(false), null)
    await reader.close()
    await writer.close()
  })

  it('closing a reader fails its pending reads with ReadCancelledError', async () => {
    const w = world()
    await w.store.createLog(LOG)
    const reader = await (await w.open()).getAsyncLogReader(DLSN.InitialDLSN)
    const pending = reader.readNext()
    await reader.close()
    await assert.rejects(pending, (e: unknown) => e instanceof ReadCancelledError && e.message === 'Reader was closed')
  })

  it('a reader that stalls while data exists fails with IdleReaderError (never silent)', async () => {
    const w = world()
    const dlm = await w.open('w', {readerIdleErrorThresholdMs: 300, readerIdleWarnThresholdMs: 100})
    const writer = await dlm.openAsyncLogWriter()
    for (let i = 1; i <= 5; i++) await writer.write(rec(i))
    await writer.close()
    // Reads that never answer: the reader cannot make progress although the log has records.
    const realOpen = w.ledgers.openLedgerNoRecovery.bind(w.ledgers)
    w.ledgers.openLedgerNoRecovery = async (id) => {
      const h = await realOpen(id)
      return Object.assign(Object.create(Object.getPrototypeOf(h) as object) as typeof h, h, {readEntries: () => new Promise<never>(() => {})})
    }
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    await assert.rejects(reader.readNext(), (e: unknown) => e instanceof IdleReaderError && /Reader on stream stream-0 is idle for \d+ ms/.test(e.message))
    w.ledgers.openLedgerNoRecovery = realOpen
    await reader.close()
    await dlm.close()
  })
})
