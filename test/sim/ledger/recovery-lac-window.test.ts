/**
 * Seeded simulation of the window where two recoveries race (ledger/recovery.ts): the loser found, and
 * re-replicates, entries past the last entry id the winner closed the ledger at (they reached one
 * bookie, which the winner could not hear in time). A tailing reader (ledger/read-handle.ts) whose view
 * of the metadata lags (a ZooKeeper watch or follower behind) must still never obtain an entry past the
 * ledger's final last entry id: the loser's re-replication must not raise the LAC bookies report, and a
 * read handle must not return, after learning the close, an entry a bookie handed it past the end.
 * Replay a seed with SEED=<n>.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode} from '../../../src/engine/ledger/errors.js'
import {LedgerReadHandle} from '../../../src/engine/ledger/read-handle.js'
import {recoverLedger} from '../../../src/engine/ledger/recovery.js'
import type {BookieId, BookieTransport, LedgerContext, LedgerEntry, LedgerMetadata, LedgerMetadataStore, Versioned} from '../../../src/engine/ledger/types.js'
import type {MemoryLedgerMetadataStore} from '../../helpers/memory-ledger-metadata.js'
import {closeSimLedger, createSimLedger, type LedgerSim, ledgerSim, payloadOf, putEntries, SIM_PASSWORD, simSeeds} from '../../helpers/ledger-sim.js'
import type {SimClock} from '../../helpers/sim-bookies.js'
import {SimTransport} from '../../helpers/sim-bookies.js'

/** The store as a client whose ZooKeeper view lags by `lagMs`: reads and watch events arrive that much later. */
class LaggingMetadataStore implements LedgerMetadataStore {
  private readonly real: MemoryLedgerMetadataStore
  private readonly clock: SimClock
  private readonly lagMs: number

  constructor(real: MemoryLedgerMetadataStore, clock: SimClock, lagMs: number) {
    this.real = real
    this.clock = clock
    this.lagMs = lagMs
  }

  private later<T>(value: T): Promise<T> {
    return new Promise((resolve) => this.clock.setTimeout(() => resolve(value), this.lagMs))
  }

  async readLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>> {
    // The value as stored now, delivered after the lag: what a follower behind the leader serves.
    return this.later(await this.real.readLedgerMetadata(ledgerId))
  }

  watchLedgerMetadata(ledgerId: number, listener: (m: Versioned<LedgerMetadata> | undefined) => void): () => void {
    let live = true
    const unwatch = this.real.watchLedgerMetadata(ledgerId, (m) => {
      this.clock.setTimeout(() => {
        if (live) listener(m)
      }, this.lagMs)
    })
    return () => {
      live = false
      unwatch()
    }
  }

  // Only a reader uses this view: it never writes.
  writeLedgerMetadata(): Promise<Versioned<LedgerMetadata>> {
    return readOnly()
  }

  createLedgerMetadata(): Promise<Versioned<LedgerMetadata>> {
    return readOnly()
  }

  removeLedgerMetadata(): Promise<void> {
    return readOnly()
  }

  async listLedgers(): Promise<number[]> {
    return this.later(await this.real.listLedgers())
  }
}

function readOnly(): Promise<never> {
  return Promise.reject(new Error("sim: the reader's lagging metadata view is read-only"))
}

/**
 * A client's own path to the bookies: its own SimTransport, with an extra request delay towards some
 * bookies (a slow link from this client only), so each recovery hears the bookies in its own order.
 */
function slowLinks(sim: LedgerSim, delays: ReadonlyMap<BookieId, number>): BookieTransport {
  const t = new SimTransport(sim.cluster)
  const clock = sim.cluster.clock
  const after = <T>(b: BookieId, call: () => Promise<T>): Promise<T> => {
    const ms = delays.get(b) ?? 0
    if (ms <= 0) return call()
    return new Promise<void>((resolve) => clock.setTimeout(resolve, ms)).then(call)
  }
  return {
    addEntry: (b, ledgerId, entryId, entry, key, opts) => after(b, () => t.addEntry(b, ledgerId, entryId, entry, key, opts)),
    readEntry: (b, ledgerId, entryId, opts) => after(b, () => t.readEntry(b, ledgerId, entryId, opts)),
    readLac: (b, ledgerId) => after(b, () => t.readLac(b, ledgerId)),
    writeLac: (b, ledgerId, lac, key) => after(b, () => t.writeLac(b, ledgerId, lac, key)),
    fence: (b, ledgerId, key) => after(b, () => t.fence(b, ledgerId, key)),
    longPollRead: (b, ledgerId, entryId, timeoutMs) => after(b, () => t.longPollRead(b, ledgerId, entryId, timeoutMs)),
    close: () => t.close(),
  }
}

/**
 * Tails the ledger as the log's segment reader does (long polls, sometimes a LAC read and a batch),
 * from entry 0 until the handle knows the ledger closed and has read up to its end. Returns every entry
 * obtained, in the order obtained.
 */
async function tail(sim: LedgerSim, h: LedgerReadHandle): Promise<LedgerEntry[]> {
  const got: LedgerEntry[] = []
  const r = sim.cluster.random
  let next = 0
  for (let round = 0; round < 2000; round++) {
    if (h.isClosed && next > h.lastAddConfirmed) return got
    if (r.nextInt(3) === 0) {
      const lac = await h.readLastAddConfirmed()
      if (lac >= next) {
        const batch = await h.readEntries(next, lac)
        got.push(...batch)
        next = lac + 1
      }
      continue
    }
    const polled = await h.readLastAddConfirmedAndEntry(next, 50 + r.nextInt(200))
    if (polled.entry) {
      got.push(polled.entry)
      next++
    }
  }
  throw new Error(`SEED=${sim.cluster.seed}: the reader never finished (next ${next}, lac ${h.lastAddConfirmed}, closed ${h.isClosed})`)
}

describe('racing recoveries and a tailing reader (simulated bookies)', () => {
  it("a reader never obtains an entry past the winner's last entry id, however far the loser re-replicated", async () => {
    const seeds = simSeeds(200, 'recovery LAC window')
    let diverged = 0
    for (const seed of seeds) {
      const sim = ledgerSim({seed, latencyMs: {min: 0, max: 3}, config: {explicitLacIntervalMs: 5 + (seed % 50)}})
      const r = sim.cluster.random
      sim.cluster.setReorder(r.nextInt(4))
      const bookies = sim.cluster.bookieIds
      const md = await createSimLedger(sim.store, bookies, {writeQuorumSize: 3, ackQuorumSize: 2})
      const ledgerId = md.value.ledgerId
      // The dead writer: entries 0..full-1 acknowledged everywhere; then a run that reached only `lone`
      // (never acknowledged: Qa = 2), whose entries carry the LAC full-1.
      const full = 1 + r.nextInt(8)
      const partial = 1 + r.nextInt(40)
      const lone = bookies[r.nextInt(3)] as BookieId
      putEntries(sim, md.value, full + partial, (e, ws) => (e < full ? ws : [lone]), {lacOf: (e) => Math.min(e - 1, full - 1)})

      // The winner's link to `lone` is slow: it hears two "no entry" first and ends at full-1. The loser's
      // links to the others are slow: it reads the run from `lone` and re-replicates it.
      const winnerDelays = new Map([[lone, 40 + r.nextInt(80)]])
      const loserDelays = new Map(bookies.filter((b) => b !== lone).map((b) => [b, r.nextInt(12)] as const))
      const winner: LedgerContext = {...sim.ctx, transport: slowLinks(sim, winnerDelays)}
      const loser: LedgerContext = {...sim.ctx, transport: slowLinks(sim, loserDelays)}
      const readerCtx: LedgerContext = {...sim.ctx, transport: new SimTransport(sim.cluster), metadataStore: new LaggingMetadataStore(sim.store, sim.cluster.clock, 30 + r.nextInt(300))}
      const reader = new LedgerReadHandle(readerCtx, md)
      const loserStartMs = r.nextInt(10)
      const loserRun = new Promise<void>((resolve) => sim.cluster.clock.setTimeout(resolve, loserStartMs)).then(() => recoverLedger(loser, md, SIM_PASSWORD))

      const [x, y, seen] = await sim.cluster.run(Promise.all([recoverLedger(winner, md, SIM_PASSWORD), loserRun, tail(sim, reader)]))
      await reader.close()
      const final = sim.store.peek(ledgerId)?.value
      const last = final?.lastEntryId ?? -2
      const msg = `SEED=${seed} full=${full} partial=${partial} lone=${lone} last=${last}`
      assert.equal(final?.state, 'CLOSED', msg)
      assert.equal(x.value.lastEntryId, last, msg)
      assert.equal(y.value.lastEntryId, last, msg)
      // Every acknowledged entry survives; nothing unacknowledged is required to.
      assert.ok(last >= full - 1 && last <= full + partial - 1, msg)
      // The loser re-replicated past the winner's end in this run (the window was open).
      if (last + 1 < full + partial && sim.cluster.holders(ledgerId, last + 1).length > 1) diverged++

      const ids = seen.map((e) => e.entryId)
      const beyond = ids.filter((id) => id > last)
      assert.deepEqual(beyond, [], `${msg}: the reader obtained entries past the ledger's last entry id`)
      assert.deepEqual(ids, Array.from({length: last + 1}, (_, i) => i), `${msg}: the reader's entries are not 0..last in order`)
      for (const e of seen) assert.deepEqual(e.payload, payloadOf(ledgerId, e.entryId), `${msg}: entry ${e.entryId}`)
      await winner.transport.close()
      await loser.transport.close()
      await readerCtx.transport.close()
    }
    // The scenario must actually open the window in a good share of the runs, or this test proves nothing.
    if (seeds.length >= 50) assert.ok(diverged >= seeds.length / 4, `the loser re-replicated past the end in only ${diverged} of ${seeds.length} runs`)
  })

  it('a batch read begun on a LAC past the end fails once the close is learned, instead of returning those entries', async () => {
    for (const seed of simSeeds(20, 'batch read past a close')) {
      const sim = ledgerSim({seed, latencyMs: {min: 5, max: 20}})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      const ledgerId = md.value.ledgerId
      // The bookies' LAC says 8 (as a recovery that lost the race, or an older client, may have left it),
      // but the ledger is about to close at 4.
      putEntries(sim, md.value, 10)
      const h = new LedgerReadHandle(sim.ctx, md)
      assert.equal(await sim.cluster.run(h.readLastAddConfirmed()), 8, `SEED=${seed}`)
      const reading = h.readEntries(0, 8)
      reading.catch(() => {})
      closeSimLedger(sim, ledgerId, 4)
      await assert.rejects(sim.cluster.run(reading), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.READ_FAILED && e.retriable && /past the last entry \(4\)/.test(e.message))
      assert.equal(h.lastAddConfirmed, 4)
      assert.deepEqual((await sim.cluster.run(h.readEntries(0, 4))).map((e) => e.entryId), [0, 1, 2, 3, 4], `SEED=${seed}`)
      await assert.rejects(h.readEntries(0, 5), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.READ_FAILED && !e.retriable)
      await h.close()
    }
  })

  it('a long poll for an entry past the end ends with the close, even when a bookie already has that entry on its way', async () => {
    for (const seed of simSeeds(20, 'long poll past a close')) {
      const sim = ledgerSim({seed, latencyMs: {min: 5, max: 20}})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      const ledgerId = md.value.ledgerId
      putEntries(sim, md.value, 4) // LAC 2 on every bookie
      const h = new LedgerReadHandle(sim.ctx, md)
      assert.equal(await sim.cluster.run(h.readLastAddConfirmed()), 2)
      const waiting = h.readLastAddConfirmedAndEntry(3, 5000)
      await sim.cluster.runFor(50)
      // A bookie's LAC moves past the end (entry 4 carrying LAC 3): its answer with entry 3 is on its way
      // back when the metadata closes the ledger at 2.
      putEntries(sim, md.value, 5, (e, ws) => (e === 4 ? ws : []))
      closeSimLedger(sim, ledgerId, 2)
      const got = await sim.cluster.run(waiting)
      assert.equal(h.isClosed, true, `SEED=${seed}`)
      assert.deepEqual(got, {lac: 2}, `SEED=${seed}`)
      assert.equal(h.lastAddConfirmed, 2)
      await h.close()
    }
  })
})
