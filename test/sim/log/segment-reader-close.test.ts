/**
 * A segment reader whose batch read was begun on a LAC past the ledger's final end (bookies written by
 * a client that let recovery advance the LAC) learns of the close mid-read: the read handle fails that
 * read retriable, and the reader retries only what the closed ledger still holds, then ends the segment,
 * instead of retrying the same range into a permanent error.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {LedgerReadHandle} from '../../../src/engine/ledger/read-handle.js'
import {DL_CONFIG_DEFAULTS} from '../../../src/engine/log/config.js'
import {LogSegmentEntryReader} from '../../../src/engine/log/reader/segment-reader.js'
import {EnvelopedEntryBuilder} from '../../../src/engine/log/record/enveloped-entry.js'
import {encodeEntry} from '../../../src/engine/protocol/bookie/entry.js'
import {closeSimLedger, createSimLedger, ledgerSim} from '../../helpers/ledger-sim.js'

const SEEDS = Number(process.env.SEEDS ?? 20)
const SEED_BASE = Number(process.env.SEED ?? 1)

/** A simulated ledger whose `count` entries (one record each) are on every replica; the bookies' LAC is count - 2. */
async function ledgerWithEntries(seed: number, count: number) {
  const sim = ledgerSim({seed, latencyMs: {min: 5, max: 20}})
  const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
  const m = md.value
  let length = 0
  for (let e = 0; e < count; e++) {
    const b = new EnvelopedEntryBuilder('none')
    b.addRecord(0, 0, e + 1, Buffer.from(`rec${e}`))
    const payload = b.build()
    length += payload.length
    const entry = encodeEntry({ledgerId: m.ledgerId, entryId: e, lac: e - 1, length, payload})
    for (let i = 0; i < m.writeQuorumSize; i++) sim.cluster.put(m.ensembles[0]!.bookies[(e + i) % 3]!, entry, m.password)
  }
  return {sim, md, m, length}
}

test('segment reader - a ledger closed below the LAC its read began on: entries up to the end, then the segment ends', async () => {
  console.log(`seeds ${SEED_BASE}..${SEED_BASE + SEEDS - 1} (SEED=n SEEDS=1 replays one)`)
  for (let seed = SEED_BASE; seed < SEED_BASE + SEEDS; seed++) {
    // Ten entries on every replica; the bookies' LAC (from the last entry's piggyback) is 8.
    const {sim, md, m} = await ledgerWithEntries(seed, 10)
    const h = new LedgerReadHandle(sim.ctx, md)
    assert.equal(await sim.cluster.run(h.readLastAddConfirmed()), 8, `seed ${seed}`)
    const reader = new LogSegmentEntryReader({
      handle: h,
      segment: {logSegmentSequenceNo: 1, startSequenceId: 0, inprogress: true, lastEntryId: -1},
      config: {...DL_CONFIG_DEFAULTS, readLACLongPollTimeoutMs: 50, prefetchEntriesPerSegment: 16, prefetchEntriesPerSegmentMax: 16, readAheadBatchEntries: 16},
      clock: sim.cluster.clock,
    })
    // The read of 0..8 is in flight when the ledger closes at 4.
    const first = reader.readNext()
    first.catch(() => {})
    closeSimLedger(sim, m.ledgerId, 4)
    const got: number[] = []
    for (;;) {
      const batch = await sim.cluster.run(got.length === 0 ? first : reader.readNext())
      if (batch === null) break
      for (const r of batch) got.push(r.dlsn.entryId)
    }
    await reader.close()
    assert.deepEqual(got, [0, 1, 2, 3, 4], `seed ${seed}`)
  }
})

test('segment reader - a long poll pending on its handle when the segment completes with a reopened handle: the reader goes on with the new handle', async () => {
  for (let seed = SEED_BASE; seed < SEED_BASE + SEEDS; seed++) {
    // Five entries on every replica; the bookies' LAC is 3, so the reader tails entry 4 with a long poll.
    const {sim, md, m, length} = await ledgerWithEntries(seed, 5)
    const h = new LedgerReadHandle(sim.ctx, md)
    const reader = new LogSegmentEntryReader({
      handle: h,
      segment: {logSegmentSequenceNo: 1, startSequenceId: 0, inprogress: true, lastEntryId: -1},
      config: {...DL_CONFIG_DEFAULTS, readLACLongPollTimeoutMs: 60_000},
      clock: sim.cluster.clock,
    })
    const got: number[] = []
    while (got.length < 4) {
      const batch = await sim.cluster.run(reader.readNext())
      assert.notEqual(batch, null, `seed ${seed}`)
      for (const r of batch!) got.push(r.dlsn.entryId)
    }
    // Caught up at the LAC: the next read waits on a long poll of the old handle. The segment then
    // completes at 4 and the log layer hands over a handle opened on the closed ledger (whose own
    // metadata the old handle has not heard of yet): closing the old handle ends its long poll.
    const pending = reader.readNext()
    pending.catch(() => {})
    await sim.cluster.run(new Promise<void>((r) => sim.cluster.clock.setTimeout(() => r(), 50)))
    const closedMd = {value: {...m, state: 'CLOSED' as const, lastEntryId: 4, length}, version: md.version}
    reader.markCompleted(4, new LedgerReadHandle(sim.ctx, closedMd))
    for (let batch = await sim.cluster.run(pending); batch !== null; batch = await sim.cluster.run(reader.readNext())) {
      for (const r of batch) got.push(r.dlsn.entryId)
    }
    await reader.close()
    assert.deepEqual(got, [0, 1, 2, 3, 4], `seed ${seed}`)
  }
})
