/**
 * Seeded simulation of one log segment: a LogSegmentWriter over in-memory ledgers whose acknowledgements
 * and failures the seed schedules (writes, record sets, flushes, commits, acks, clock ticks, injected add
 * failures), and a LogSegmentEntryReader tailing it. Invariants checked on every run:
 *
 * - acknowledged DLSNs increase in write order and each names exactly the record written;
 * - the acknowledged writes are a prefix of the writes; after the first failure nothing more is acknowledged;
 * - the tailing reader only ever returns acknowledged records (never past the LAC), in order, each once;
 * - without a failure, after flushAndCommit the reader gets every record; with one, a recovering open
 *   finds every acknowledged record (as a prefix of what reached the bookies).
 *
 * Replay a seed with SEED=<n>.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ManualClock} from '../../../src/engine/common/clock.js'
import {SeededRandom} from '../../../src/engine/common/random.js'
import {DL_CONFIG_DEFAULTS} from '../../../src/engine/log/config.js'
import type {DLSN} from '../../../src/engine/log/dlsn.js'
import {decodeEntry} from '../../../src/engine/log/record/enveloped-entry.js'
import {LogSegmentEntryReader} from '../../../src/engine/log/reader/segment-reader.js'
import type {LogRecordWithDLSN} from '../../../src/engine/log/types.js'
import {LogSegmentWriter} from '../../../src/engine/log/writer/segment-writer.js'
import {simSeeds} from '../../helpers/ledger-sim.js'
import {MemoryLedgers} from '../../helpers/memory-ledgers.js'

const LSSN = 1
const settle = () => new Promise((r) => setImmediate(r))

interface Written {
  txid: number
  payload: string
  outcome?: {dlsn: DLSN} | {error: Error}
}

async function runSeed(seed: number): Promise<void> {
  const rnd = new SeededRandom(seed)
  const clock = new ManualClock()
  const ledgers = new MemoryLedgers({clock, ackMode: 'manual'})
  const handle = await ledgers.createLedger()
  const config = {
    ...DL_CONFIG_DEFAULTS,
    writerOutputBufferBytes: [0, 64, 1024, 16 * 1024][rnd.nextInt(4)]!,
    immediateFlushEnabled: rnd.nextInt(2) === 0,
    periodicFlushIntervalMs: [0, 5, 20][rnd.nextInt(3)]!,
    immediateFlushDelayMinMs: [0, 0, 3][rnd.nextInt(3)]!,
    readLACLongPollTimeoutMs: 50,
  }
  const writer = new LogSegmentWriter({handle, logSegmentSequenceNo: LSSN, startTxId: 0, config, clock, streamName: 'sim'})
  const reader = new LogSegmentEntryReader({
    handle: await ledgers.openLedgerNoRecovery(handle.ledgerId),
    segment: {logSegmentSequenceNo: LSSN, startSequenceId: 0, inprogress: true, lastEntryId: -1},
    config,
    clock,
  })
  const written: Written[] = []
  const seen: LogRecordWithDLSN[] = []
  let readerDone = false
  let readerError: Error | undefined
  const readLoop = (async () => {
    for (;;) {
      const batch = await reader.readNext().catch((e: Error) => {
        readerError = e
        return null
      })
      if (batch === null) break
      seen.push(...batch)
    }
    readerDone = true
  })()

  let txid = 0
  let injected = false
  const steps = 150 + rnd.nextInt(150)
  for (let step = 0; step < steps; step++) {
    const action = rnd.nextInt(100)
    if (action < 40) {
      const w: Written = {txid: ++txid, payload: `s${seed}-r${written.length}-${'x'.repeat(rnd.nextInt(300))}`}
      written.push(w)
      writer.write({txid: w.txid, payload: Buffer.from(w.payload)}).then(
        (dlsn) => (w.outcome = {dlsn}),
        (error: Error) => (w.outcome = {error}),
      )
    } else if (action < 47) {
      const n = 1 + rnd.nextInt(4)
      const ws: Written[] = Array.from({length: n}, (_, i) => ({txid: txid + 1, payload: `s${seed}-set${written.length}-${i}`}))
      txid++
      written.push(...ws)
      writer.writeRecordSet(txid, ws.map((w) => Buffer.from(w.payload))).then(
        (dlsns) => dlsns.forEach((dlsn, i) => (ws[i]!.outcome = {dlsn})),
        (error: Error) => ws.forEach((w) => (w.outcome = {error})),
      )
    } else if (action < 52) {
      void writer.flush().catch(() => {})
    } else if (action < 55) {
      void writer.flushAndCommit().catch(() => {})
    } else if (action < 85) {
      ledgers.ackNext(1 + rnd.nextInt(3))
    } else if (action < 97) {
      clock.advance(1 + rnd.nextInt(10))
    } else if (!injected && rnd.nextInt(4) === 0) {
      injected = ledgers.failNextPending()
    }
    await settle()
    checkReaderSeen(written, seen, seed)
  }
  // Finish: acknowledge everything, then flush and close.
  for (let i = 0; i < 50 && ledgers.pendingAcks() + writer.outstandingEntries > 0; i++) {
    ledgers.ackAll()
    await settle()
  }
  let closed = false
  const closing = writer.close().then(
    () => (closed = true),
    () => (closed = true),
  )
  for (let i = 0; i < 100 && (!readerDone || !closed); i++) {
    ledgers.ackAll()
    clock.advance(config.readLACLongPollTimeoutMs)
    await settle()
  }
  assert.ok(closed, `seed ${seed}: the writer did not close`)
  await closing
  assert.equal(readerError, undefined, `seed ${seed}: reader failed: ${readerError?.message}`)
  assert.ok(readerDone, `seed ${seed}: the reader did not reach the end of the closed segment`)
  await reader.close()
  await readLoop

  // Outcomes: a prefix acknowledged, the rest failed; DLSNs increasing.
  const firstFailed = written.findIndex((w) => w.outcome !== undefined && 'error' in w.outcome)
  written.forEach((w, i) => {
    assert.ok(w.outcome, `seed ${seed}: write ${i} never completed`)
    if (firstFailed >= 0 && i >= firstFailed) assert.ok('error' in w.outcome, `seed ${seed}: write ${i} acknowledged after a failure`)
  })
  const acked = written.filter((w) => w.outcome && 'dlsn' in w.outcome)
  for (let i = 1; i < acked.length; i++) {
    const a = (acked[i - 1]!.outcome as {dlsn: DLSN}).dlsn
    const b = (acked[i]!.outcome as {dlsn: DLSN}).dlsn
    assert.ok(a.compareTo(b) < 0, `seed ${seed}: DLSNs out of order ${a.toString()} ${b.toString()}`)
  }
  // Recovery view: what reached the bookies, acknowledged writes first and at their DLSNs.
  const recovered = ledgers
    .entriesOf(handle.ledgerId)
    .flatMap((e, entryId) => decodeEntry(e, {logSegmentSequenceNo: LSSN, entryId, startSequenceId: 0}))
    .filter((r) => !r.isControl)
  acked.forEach((w, i) => {
    const r = recovered[i]
    assert.ok(r, `seed ${seed}: acknowledged record ${i} missing from the ledger`)
    assert.equal(r.payload.toString(), w.payload, `seed ${seed}: record ${i}`)
    assert.ok(r.dlsn.equals((w.outcome as {dlsn: DLSN}).dlsn), `seed ${seed}: DLSN of record ${i}`)
    assert.equal(r.sequenceId, i)
  })
  checkReaderSeen(written, seen, seed)
  if (firstFailed < 0) {
    assert.equal(seen.length, written.length, `seed ${seed}: the reader got ${seen.length} of ${written.length} records after close`)
  }
}

/** The reader returned acknowledged records only, in write order, each once. */
function checkReaderSeen(written: readonly Written[], seen: readonly LogRecordWithDLSN[], seed: number): void {
  seen.forEach((r, i) => {
    const w = written[i]
    assert.ok(w, `seed ${seed}: reader returned more records than written`)
    assert.equal(r.payload.toString(), w.payload, `seed ${seed}: reader record ${i}`)
    assert.ok(w.outcome && 'dlsn' in w.outcome, `seed ${seed}: reader saw record ${i} before it was acknowledged`)
    assert.ok(r.dlsn.equals(w.outcome.dlsn))
  })
}

describe('sim > log segment writer and reader', () => {
  it('seeded interleavings keep acknowledgement, order and visibility invariants', async () => {
    for (const seed of simSeeds(25, 'segment-io')) await runSeed(seed)
  })
})
