/**
 * Review of the log core (H14): defects found against issue 5 and the invariants, each proven here over
 * in-memory ledgers and metadata.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {DistributedLogConfig} from '../../../src/engine/log/config.js'
import {DLSN} from '../../../src/engine/log/dlsn.js'
import {LockingError} from '../../../src/engine/log/errors.js'
import {TruncationStatus} from '../../../src/engine/log/types.js'
import {world as memoryLogWorld, readN, rec, type World} from '../../helpers/memory-log-world.js'

const LOG = 'review-0'

const world = (base: Partial<DistributedLogConfig> = {}): World => memoryLogWorld(base, LOG)

/** Settles `p` within `ms`, or says it did not. */
async function within<T>(p: Promise<T>, ms: number): Promise<'settled' | 'pending'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)))
  try {
    return await Promise.race([p.then(() => 'settled' as const, () => 'settled' as const), timeout])
  } finally {
    clearTimeout(timer)
  }
}

describe('log core review', () => {
  it('getFirstDLSN after truncation answers the first active record, not AlreadyTruncatedError', async () => {
    const w = world({logSegmentBytesMax: 200})
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    const dlsns: DLSN[] = []
    for (let i = 1; i <= 30; i++) dlsns.push(await writer.write(rec(i)))
    const segs = (await dlm.getLogSegments()).filter((s) => !s.inprogress)
    assert.ok(segs.length >= 3)
    // Truncate before the first record of the third segment.
    const cut = dlsns.find((d) => d.logSegmentSequenceNo === (segs[2] as {logSegmentSequenceNo: number}).logSegmentSequenceNo) as DLSN
    assert.equal(await writer.truncate(cut), true)
    assert.equal((await dlm.getLogSegments())[0]?.status, TruncationStatus.TRUNCATED)
    assert.equal((await dlm.getFirstDLSN()).toString(), cut.toString())
    await writer.close()
    await dlm.close()
  })

  it('closing a reader while it opens an idle in-progress segment settles (no hang, no leaked handle)', async () => {
    const w = world()
    await w.store.createLog(LOG)
    const dlm = await w.open()
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    // An in-progress segment with nothing visible yet; the reader's open of its ledger is slow.
    const realOpen = w.ledgers.openLedgerNoRecovery.bind(w.ledgers)
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let opening = false
    w.ledgers.openLedgerNoRecovery = async (id) => {
      opening = true
      await gate
      return realOpen(id)
    }
    const handle = await w.ledgers.createLedger()
    await w.store.startLogSegment(LOG, {ledgerId: handle.ledgerId, firstTxId: 1})
    for (let i = 0; i < 200 && !opening; i++) await new Promise((r) => setTimeout(r, 5))
    assert.ok(opening)
    const closing = reader.close()
    release()
    w.ledgers.openLedgerNoRecovery = realOpen
    const outcome = await within(closing, 2000)
    // Unstick a leaked segment reader so the file can end either way.
    await handle.close()
    assert.equal(outcome, 'settled')
    await dlm.close()
  })

  it("a reader tailing a dead writer's segment sees every acknowledged record once after recovery, then the new writer's", async () => {
    const w = world()
    const dead = await (await w.open('dead')).openAsyncLogWriter()
    const reader = await (await w.open('reader')).getAsyncLogReader(DLSN.InitialDLSN)
    for (let i = 1; i <= 20; i++) await dead.write(rec(i))
    const early = await readN(reader, 20)
    assert.deepEqual(early.map((r) => r.txid), Array.from({length: 20}, (_, i) => i + 1))
    w.store.setLockOwner(LOG, undefined)
    const next = await (await w.open('next')).openAsyncLogWriter()
    for (let i = 21; i <= 25; i++) await next.write(rec(i))
    const late = await readN(reader, 5)
    assert.deepEqual(late.map((r) => r.txid), [21, 22, 23, 24, 25])
    assert.deepEqual(late.map((r) => r.sequenceId), [20, 21, 22, 23, 24])
    assert.deepEqual(await reader.readBulk(10, 100), [])
    await reader.close()
    await next.close()
  })

  it('positions by DLSN inside an entry (first record >= the slot) with the right sequence ids', async () => {
    const w = world({writerOutputBufferBytes: 1 << 20, immediateFlushEnabled: false})
    const dlm = await w.open()
    const writer = await dlm.openAsyncLogWriter()
    const pending = Array.from({length: 10}, (_, i) => writer.write(rec(i + 1)))
    await writer.flush()
    const dlsns = await Promise.all(pending)
    assert.equal(dlsns[4]?.entryId, dlsns[0]?.entryId, 'records share an entry')
    await writer.close()
    const reader = await dlm.getAsyncLogReader(dlsns[4] as DLSN)
    const got = await readN(reader, 6)
    assert.deepEqual(got.map((r) => r.txid), [5, 6, 7, 8, 9, 10])
    assert.deepEqual(got.map((r) => r.sequenceId), [4, 5, 6, 7, 8, 9])
    await reader.close()
  })

  it('a slow reader with a small read-ahead reads every record exactly once while the writer rolls', async () => {
    const w = world({logSegmentBytesMax: 150, readAheadRecordsMax: 2, prefetchEntriesPerSegment: 1, prefetchEntriesPerSegmentMax: 2})
    const dlm = await w.open()
    await w.store.createLog(LOG)
    const reader = await (await w.open('reader')).getAsyncLogReader(DLSN.InitialDLSN)
    const writer = await dlm.openAsyncLogWriter()
    const got: number[] = []
    const reading = (async () => {
      while (got.length < 120) {
        got.push(...(await reader.readBulk(1)).map((r) => r.txid))
        if (got.length % 7 === 0) await new Promise((r) => setTimeout(r, 2))
      }
    })()
    for (let i = 1; i <= 120; i++) await writer.write(rec(i))
    await reading
    assert.deepEqual(got, Array.from({length: 120}, (_, i) => i + 1))
    assert.ok((await dlm.getLogSegments()).length >= 10)
    assert.deepEqual(await reader.readBulk(10, 100), [])
    await reader.close()
    await writer.close()
  })

  it('a writer whose lock was lost (session expiry) refuses the next write with LockingError', async () => {
    const w = world()
    const writer = await (await w.open('a')).openAsyncLogWriter()
    await writer.write(rec(1))
    // The session holding the lock expired and another process took the lock (it has not written yet).
    w.store.setLockOwner(LOG, 'b')
    await assert.rejects(writer.write(rec(2)), LockingError)
    await writer.close()
  })
})
