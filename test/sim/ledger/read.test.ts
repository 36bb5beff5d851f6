/**
 * Seeded simulation of the ledger read path (ledger/read-handle.ts) over simulated bookies: reads up
 * to the LAC only, failover when a bookie is down, corrupt replicas skipped (and DIGEST_MISMATCH when
 * every copy is bad), speculative reads around a slow replica, the LAC coverage rule, long-poll
 * tailing, and learning the close from the metadata watch. Replay a seed with SEED=<n>.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode} from '../../../src/engine/ledger/errors.js'
import {LedgerReadHandle, coverageReached, writeSetOf} from '../../../src/engine/ledger/read-handle.js'
import {encodeEntry} from '../../../src/engine/protocol/bookie/entry.js'
import {closeSimLedger, createSimLedger, ledgerSim, lengthThrough, payloadOf, putEntries, SIM_PASSWORD, simSeeds} from '../../helpers/ledger-sim.js'

function isLedgerError(code: number) {
  return (e: unknown) => e instanceof LedgerError && e.code === code
}

describe('coverage rule', () => {
  it('needs Qw-Qa+1 answers in every write set', () => {
    // E3 Qw3 Qa2: any 2 of 3.
    assert.equal(coverageReached(3, 2, [true, true, false]), true)
    assert.equal(coverageReached(3, 2, [true, false, false]), false)
    // E3 Qw2 Qa2: every write set needs 1 answer: 2 adjacent-pair sets {0,1},{1,2},{2,0}.
    assert.equal(coverageReached(2, 2, [true, false, false]), false)
    assert.equal(coverageReached(2, 2, [true, false, true]), true)
    // E5 Qw3 Qa2: write sets {0,1,2},{1,2,3},{2,3,4},{3,4,0},{4,0,1}: two unheard bookies always share
    // one of them, so four must answer.
    assert.equal(coverageReached(3, 2, [true, false, true, true, false]), false)
    assert.equal(coverageReached(3, 2, [true, true, true, true, false]), true)
    // Qa = 1: every bookie must answer.
    assert.equal(coverageReached(3, 1, [true, true, false]), false)
  })

  it('write sets stripe round-robin from entryId mod E', () => {
    assert.deepEqual(writeSetOf(['a', 'b', 'c', 'd'], 2, 0), ['a', 'b'])
    assert.deepEqual(writeSetOf(['a', 'b', 'c', 'd'], 2, 3), ['d', 'a'])
    assert.deepEqual(writeSetOf(['a', 'b', 'c'], 3, 7), ['b', 'c', 'a'])
  })
})

describe('ledger read handle (simulated bookies)', () => {
  it('reads a closed ledger entry by entry, never past its last entry', async () => {
    for (const seed of simSeeds(5, 'read closed ledger')) {
      const sim = ledgerSim({seed, bookies: 5})
      const E = 3 + sim.cluster.random.nextInt(3)
      const Qw = 2 + sim.cluster.random.nextInt(E - 1)
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds.slice(0, E), {writeQuorumSize: Qw, ackQuorumSize: 2})
      const count = 1 + sim.cluster.random.nextInt(150)
      putEntries(sim, md.value, count)
      const closed = closeSimLedger(sim, md.value.ledgerId, count - 1)
      const h = new LedgerReadHandle(sim.ctx, closed)
      assert.equal(h.isClosed, true, `SEED=${seed}`)
      assert.equal(h.lastAddConfirmed, count - 1)
      const entries = await sim.cluster.run(h.readEntries(0, count - 1))
      assert.equal(entries.length, count)
      for (const e of entries) {
        assert.deepEqual(e.payload, payloadOf(md.value.ledgerId, e.entryId), `SEED=${seed} entry ${e.entryId}`)
        assert.equal(e.length, lengthThrough(md.value.ledgerId, e.entryId))
      }
      await assert.rejects(h.readEntries(0, count), isLedgerError(LedgerErrorCode.READ_FAILED))
      await assert.rejects(h.readEntries(3, 2), isLedgerError(LedgerErrorCode.INCORRECT_PARAMETER))
      await assert.rejects(h.readEntries(-1, 0), isLedgerError(LedgerErrorCode.INCORRECT_PARAMETER))
      assert.equal(await h.readLastAddConfirmed(), count - 1)
      await h.close()
      assert.equal(sim.store.watcherCount(md.value.ledgerId), 0)
      await assert.rejects(h.readEntries(0, 0), isLedgerError(LedgerErrorCode.CLIENT_CLOSED))
    }
  })

  it('an open ledger reads up to the LAC its bookies report, and learns the close from the metadata', async () => {
    for (const seed of simSeeds(3, 'read open ledger')) {
      const sim = ledgerSim({seed})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      putEntries(sim, md.value, 20) // entry e carries lac e-1: the bookies' LAC is 18
      const h = new LedgerReadHandle(sim.ctx, md)
      assert.equal(h.lastAddConfirmed, -1)
      await assert.rejects(h.readEntries(0, 0), isLedgerError(LedgerErrorCode.READ_FAILED))
      assert.equal(await sim.cluster.run(h.readLastAddConfirmed()), 18, `SEED=${seed}`)
      const entries = await sim.cluster.run(h.readEntries(0, 18))
      assert.equal(entries.length, 19)
      await assert.rejects(h.readEntries(0, 19), (e: unknown) => isLedgerError(LedgerErrorCode.READ_FAILED)(e) && /beyond its last add confirmed \(18\)/.test((e as Error).message))
      closeSimLedger(sim, md.value.ledgerId, 19)
      await sim.cluster.runFor(1)
      assert.equal(h.isClosed, true)
      assert.equal(h.lastAddConfirmed, 19)
      assert.equal((await sim.cluster.run(h.readEntries(19, 19)))[0]?.entryId, 19)
      await h.close()
    }
  })

  it('fails over to the other replicas when bookies are down', async () => {
    for (const seed of simSeeds(5, 'read failover')) {
      const sim = ledgerSim({seed, bookies: 4})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds, {writeQuorumSize: 3, ackQuorumSize: 2})
      putEntries(sim, md.value, 40)
      const closed = closeSimLedger(sim, md.value.ledgerId, 39)
      // Up to Qw-1 bookies down: every entry keeps a replica.
      const down = sim.cluster.bookieIds.filter(() => sim.cluster.random.nextInt(2) === 0).slice(0, 2)
      for (const b of down) sim.cluster.crash(b)
      const h = new LedgerReadHandle(sim.ctx, closed)
      const entries = await sim.cluster.run(h.readEntries(0, 39))
      assert.deepEqual(entries.map((e) => e.payload.toString()), Array.from({length: 40}, (_, i) => payloadOf(md.value.ledgerId, i).toString()), `SEED=${seed}`)
      // Every replica down for entry 0 (bookies 0..2): a clear, retriable error.
      for (const b of sim.cluster.bookieIds.slice(0, 3)) sim.cluster.crash(b)
      await assert.rejects(sim.cluster.run(h.readEntries(0, 0)), (e: unknown) => isLedgerError(LedgerErrorCode.READ_FAILED)(e) && (e as LedgerError).retriable)
      await h.close()
    }
  })

  it('skips corrupt replicas and reports DIGEST_MISMATCH when every copy is corrupt', async () => {
    for (const seed of simSeeds(5, 'corrupt replicas')) {
      const sim = ledgerSim({seed})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      const ledgerId = md.value.ledgerId
      putEntries(sim, md.value, 30)
      const closed = closeSimLedger(sim, ledgerId, 29)
      // Corrupt one or two of the three copies of random entries.
      for (let e = 0; e < 30; e++) {
        if (e === 6 || sim.cluster.random.nextInt(2) === 0) continue
        const victims = sim.cluster.bookieIds.filter(() => sim.cluster.random.nextInt(2) === 0).slice(0, 2)
        for (const b of victims) sim.cluster.corrupt(b, ledgerId, e)
      }
      // Bookie 0 serves entry 5's bytes (valid CRC) when asked for entry 6: caught by the id check.
      const misplaced = sim.cluster.stored(sim.cluster.bookieIds[0] as string, ledgerId, 5) as Buffer
      sim.cluster.bookie(sim.cluster.bookieIds[0] as string).ledgers.get(ledgerId)?.entries.set(6, Buffer.from(misplaced))
      const h = new LedgerReadHandle(sim.ctx, closed)
      const entries = await sim.cluster.run(h.readEntries(0, 29))
      for (const e of entries) assert.deepEqual(e.payload, payloadOf(ledgerId, e.entryId), `SEED=${seed} entry ${e.entryId}`)
      // Every copy of entry 12 corrupt.
      const bad = Buffer.from(sim.cluster.stored(sim.cluster.bookieIds[0] as string, ledgerId, 11) as Buffer)
      const twelve = encodeEntry({ledgerId, entryId: 12, lac: 11, length: lengthThrough(ledgerId, 12), payload: payloadOf(ledgerId, 12)})
      twelve[twelve.length - 1] = (twelve[twelve.length - 1] as number) ^ 0x01
      for (const b of sim.cluster.bookieIds) sim.cluster.bookie(b).ledgers.get(ledgerId)?.entries.set(12, Buffer.from(twelve))
      assert.ok(bad.length > 0)
      await assert.rejects(sim.cluster.run(h.readEntries(10, 14)), (e: unknown) => isLedgerError(LedgerErrorCode.DIGEST_MISMATCH)(e) && /12/.test((e as Error).message), `SEED=${seed}`)
      await h.close()
    }
  })

  it('speculative reads go round a slow replica; without speculation the read waits for it', async () => {
    for (const seed of simSeeds(3, 'speculative read')) {
      for (const speculativeReadTimeoutMs of [100, 0]) {
        const sim = ledgerSim({seed, config: {speculativeReadTimeoutMs, readEntryTimeoutMs: 10_000}, requestTimeoutMs: 20_000})
        const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
        putEntries(sim, md.value, 9)
        const closed = closeSimLedger(sim, md.value.ledgerId, 8)
        const slow = sim.cluster.bookieIds[sim.cluster.random.nextInt(3)] as string
        sim.cluster.setDelay(slow, 3000)
        const h = new LedgerReadHandle(sim.ctx, closed)
        const slowFirst = [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((e) => writeSetOf(md.value.ensembles[0]?.bookies ?? [], 3, e)[0] === slow)
        for (const e of slowFirst) {
          const t0 = sim.cluster.clock.monotonicMs()
          const [entry] = await sim.cluster.run(h.readEntries(e, e))
          const tookMs = sim.cluster.clock.monotonicMs() - t0
          assert.deepEqual(entry?.payload, payloadOf(md.value.ledgerId, e))
          if (speculativeReadTimeoutMs > 0) assert.ok(tookMs < 1000, `SEED=${seed}: speculative read of entry ${e} took ${tookMs} ms`)
          else assert.ok(tookMs >= 6000, `SEED=${seed}: read without speculation took only ${tookMs} ms`)
        }
        await h.close()
      }
    }
  })

  it('readLastAddConfirmed needs coverage: one bookie of three down is fine, two are not', async () => {
    const [seed] = simSeeds(1, 'read LAC coverage') as [number]
    const sim = ledgerSim({seed})
    const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
    putEntries(sim, md.value, 6, (e, ws) => (e === 5 ? ws.slice(0, 1) : ws))
    const h = new LedgerReadHandle(sim.ctx, md)
    const [b0, b1] = sim.cluster.bookieIds as [string, string]
    sim.cluster.crash(b1)
    const lac = await sim.cluster.run(h.readLastAddConfirmed())
    assert.ok(lac === 3 || lac === 4, `SEED=${seed}: LAC ${lac}`)
    sim.cluster.crash(b0)
    await assert.rejects(sim.cluster.run(h.readLastAddConfirmed()), isLedgerError(LedgerErrorCode.READ_FAILED))
    assert.equal(h.lastAddConfirmed, lac)
    await h.close()
  })

  it('a long poll returns the entry as soon as its LAC arrives, with one request per wait', async () => {
    for (const seed of simSeeds(3, 'long poll')) {
      const sim = ledgerSim({seed})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      const ledgerId = md.value.ledgerId
      putEntries(sim, md.value, 10)
      const h = new LedgerReadHandle(sim.ctx, md)
      await sim.cluster.run(h.readLastAddConfirmed())
      assert.equal(h.lastAddConfirmed, 8)
      // Entry 9 is stored but not confirmed: the poll waits until an explicit LAC write confirms it.
      const waitNine = h.readLastAddConfirmedAndEntry(9, 5000)
      await sim.cluster.runFor(300)
      for (const b of sim.cluster.bookieIds) sim.cluster.bookie(b).writeLac(ledgerId, 9, SIM_PASSWORD)
      const nine = await sim.cluster.run(waitNine)
      assert.equal(nine.entry?.entryId, 9, `SEED=${seed}`)
      assert.equal(nine.lac, 9)
      assert.ok(sim.cluster.clock.monotonicMs() < 1000)
      // Entry 10 arrives (with entry 11 carrying LAC 10) 700 ms into a 5 s wait.
      const polls = () => sim.cluster.log.filter((r) => r.op === 'longPollRead').length
      const before = polls()
      const t0 = sim.cluster.clock.monotonicMs()
      const waiting = h.readLastAddConfirmedAndEntry(10, 5000)
      await sim.cluster.runFor(700)
      putEntries(sim, md.value, 12)
      const got = await sim.cluster.run(waiting)
      assert.equal(got.entry?.entryId, 10)
      assert.deepEqual(got.entry?.payload, payloadOf(ledgerId, 10))
      assert.ok(got.lac >= 10)
      assert.ok(sim.cluster.clock.monotonicMs() - t0 < 1000, `SEED=${seed}: took ${sim.cluster.clock.monotonicMs() - t0} ms`)
      assert.equal(polls() - before, 1)
      // Nothing comes: the poll ends after about its timeout, without an entry.
      const t1 = sim.cluster.clock.monotonicMs()
      const none = await sim.cluster.run(h.readLastAddConfirmedAndEntry(12, 2000))
      assert.equal(none.entry, undefined)
      assert.equal(none.lac, 10)
      const waitedMs = sim.cluster.clock.monotonicMs() - t1
      assert.ok(waitedMs >= 2000 && waitedMs < 3500, `SEED=${seed}: waited ${waitedMs} ms`)
      await h.close()
    }
  })

  it('a long poll fails over to another replica when its bookie dies, and ends when the ledger closes', async () => {
    const [seed] = simSeeds(1, 'long poll failover') as [number]
    const sim = ledgerSim({seed})
    const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
    const ledgerId = md.value.ledgerId
    putEntries(sim, md.value, 4)
    const h = new LedgerReadHandle(sim.ctx, md)
    await sim.cluster.run(h.readLastAddConfirmed())
    const first = writeSetOf(md.value.ensembles[0]?.bookies ?? [], 3, 4)[0] as string
    sim.cluster.crash(first)
    const waiting = h.readLastAddConfirmedAndEntry(4, 10_000)
    await sim.cluster.runFor(300)
    putEntries(sim, md.value, 6, (_, ws) => ws.filter((b) => b !== first))
    const got = await sim.cluster.run(waiting)
    assert.equal(got.entry?.entryId, 4, `SEED=${seed}`)
    // Waiting for an entry past the end: the close ends the wait long before the timeout.
    const t0 = sim.cluster.clock.monotonicMs()
    const past = h.readLastAddConfirmedAndEntry(7, 60_000)
    await sim.cluster.runFor(100)
    closeSimLedger(sim, ledgerId, 5)
    const r = await sim.cluster.run(past)
    assert.deepEqual(r, {lac: 5})
    assert.ok(sim.cluster.clock.monotonicMs() - t0 < 1000)
    await h.close()
  })

  it('a close that happened before the watch was armed is still learned', async () => {
    const sim = ledgerSim({seed: 8})
    const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
    putEntries(sim, md.value, 3)
    closeSimLedger(sim, md.value.ledgerId, 2)
    const h = new LedgerReadHandle(sim.ctx, md) // stale: still OPEN
    await sim.cluster.runFor(1)
    assert.equal(h.isClosed, true)
    assert.equal(h.lastAddConfirmed, 2)
    await h.close()
  })

  it('closing the handle ends its long polls', async () => {
    const sim = ledgerSim({seed: 7})
    const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
    const h = new LedgerReadHandle(sim.ctx, md)
    const waiting = h.readLastAddConfirmedAndEntry(0, 10_000)
    await sim.cluster.runFor(50)
    await h.close()
    await assert.rejects(sim.cluster.run(waiting), isLedgerError(LedgerErrorCode.CLIENT_CLOSED))
  })
})
