/**
 * Seeded simulation of ledger recovery (ledger/recovery.ts) over simulated bookies and an in-memory
 * metadata store: entries that reached only one bookie, gaps, a bookie down (or two) during recovery,
 * concurrent recoveries, a corrupt copy, and a live writer being fenced mid-stream. Each scenario checks
 * the invariant that matters: every acknowledged entry is at or below the recovered last entry id and
 * reads back intact from a full write quorum. Replay a seed with SEED=<n>.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode, LedgerFencedError} from '../../../src/engine/ledger/errors.js'
import {LedgerReadHandle} from '../../../src/engine/ledger/read-handle.js'
import {recoverLedger} from '../../../src/engine/ledger/recovery.js'
import type {LedgerContext, LedgerMetadata, Versioned} from '../../../src/engine/ledger/types.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {createSimLedger, type LedgerSim, ledgerSim, lengthThrough, payloadOf, putEntries, SIM_PASSWORD, simSeeds} from '../../helpers/ledger-sim.js'
import {SimTransport} from '../../helpers/sim-bookies.js'

async function readAll(sim: LedgerSim, md: Versioned<LedgerMetadata>): Promise<Buffer[]> {
  const h = new LedgerReadHandle(sim.ctx, md)
  try {
    if (md.value.lastEntryId < 0) return []
    return (await sim.cluster.run(h.readEntries(0, md.value.lastEntryId))).map((e) => e.payload)
  } finally {
    await h.close()
  }
}

describe('ledger recovery (simulated bookies)', () => {
  it('recovers entries that reached only one bookie, stops at the first entry nobody has', async () => {
    for (const seed of simSeeds(10, 'recover partial entries')) {
      const sim = ledgerSim({seed})
      const r = sim.cluster.random
      // With Qa = 1 an entry on one bookie may have been acknowledged: recovery must find it. With Qa = 2
      // it was not, and recovery may keep it or not (two NO_ENTRY answers may come first).
      const ackQuorumSize = 1 + r.nextInt(2)
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds, {writeQuorumSize: 3, ackQuorumSize})
      const ledgerId = md.value.ledgerId
      const full = r.nextInt(20) // entries 0..full-1 on every bookie
      const partial = 1 + r.nextInt(3) // then entries on exactly one bookie
      const total = full + partial
      const lacOf = (e: number) => Math.min(e - 1, full - 1)
      putEntries(sim, md.value, total, (e, ws) => (e < full ? ws : [ws[r.nextInt(ws.length)] as string]), {lacOf})
      // Sometimes a stray entry after a gap: the writer's entry total+1 reached a bookie, entry total did not.
      if (r.nextInt(2) === 0) {
        putEntries(sim, md.value, total + 2, (e, ws) => (e === total + 1 ? ws.slice(0, 1) : []), {lacOf})
      }
      const closed = await sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD))
      const last = closed.value.lastEntryId
      const msg = `SEED=${seed} Qa=${ackQuorumSize} full=${full} partial=${partial} last=${last}`
      assert.equal(closed.value.state, 'CLOSED', msg)
      if (ackQuorumSize === 1) assert.equal(last, total - 1, msg)
      else assert.ok(last >= full - 1 && last <= total - 1, msg)
      assert.equal(closed.value.length, lengthThrough(ledgerId, last), msg)
      // Every entry up to the end now sits on its full write set (all bookies are up).
      await sim.cluster.runFor(1000)
      for (let e = 0; e <= last; e++) assert.equal(sim.cluster.holders(ledgerId, e).length, 3, `${msg} entry ${e}`)
      const payloads = await readAll(sim, closed)
      assert.deepEqual(payloads.map(String), Array.from({length: last + 1}, (_, e) => String(payloadOf(ledgerId, e))), msg)
      // The metadata went OPEN -> IN_RECOVERY -> CLOSED.
      const states = sim.store.writes.filter((w) => w.ledgerId === ledgerId).map((w) => w.value?.state)
      assert.deepEqual(states, ['OPEN', 'IN_RECOVERY', 'CLOSED'], msg)
    }
  })

  it('an empty ledger closes empty; a closed one is returned as is; a wrong password is refused', async () => {
    const sim = ledgerSim({seed: 11})
    const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
    await assert.rejects(recoverLedger(sim.ctx, md, Buffer.from('wrong')), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.UNAUTHORIZED)
    const closed = await sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD))
    assert.equal(closed.value.state, 'CLOSED')
    assert.equal(closed.value.lastEntryId, -1)
    assert.equal(closed.value.length, 0)
    const again = await recoverLedger(sim.ctx, closed, SIM_PASSWORD)
    assert.deepEqual(again, closed)
  })

  it('a lost compare-and-set on IN_RECOVERY is re-read and retried', async () => {
    const sim = ledgerSim({seed: 12})
    const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
    putEntries(sim, md.value, 5)
    sim.store.conflictNextWrite((m) => ({...m, customMetadata: {touched: Buffer.from('yes')}}))
    const closed = await sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD))
    assert.equal(closed.value.lastEntryId, 4)
    assert.equal(String(closed.value.customMetadata.touched), 'yes')
  })

  it('a bookie down during recovery: fencing still covers, recovered entries reach an ack quorum', async () => {
    for (const seed of simSeeds(6, 'recover with a bookie down')) {
      const sim = ledgerSim({seed, bookies: 4})
      const ensemble = sim.cluster.bookieIds.slice(0, 3)
      const md = await createSimLedger(sim.store, ensemble, {writeQuorumSize: 3, ackQuorumSize: 2})
      const ledgerId = md.value.ledgerId
      const r = sim.cluster.random
      const full = 1 + r.nextInt(10)
      const down = ensemble[r.nextInt(3)] as string
      // The last two entries reached both live bookies: acknowledged, though the LAC never said so.
      putEntries(sim, md.value, full + 2, (e, ws) => (e < full ? ws : ws.filter((b) => b !== down)), {lacOf: (e) => Math.min(e - 1, full - 1)})
      sim.cluster.crash(down)
      const closed = await sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD))
      const msg = `SEED=${seed} down=${down} full=${full}`
      assert.equal(closed.value.lastEntryId, full + 1, msg)
      await sim.cluster.runFor(1000)
      for (const e of [full, full + 1]) {
        const live = sim.cluster.holders(ledgerId, e).filter((b) => b !== down)
        assert.ok(live.length >= 2, `${msg}: entry ${e} on ${live.join(',')}`)
      }
      assert.equal((await readAll(sim, closed)).length, full + 2, msg)
    }
  })

  it('two bookies of three down: recovery fails retriably and leaves IN_RECOVERY; it succeeds once one is back', async () => {
    const [seed] = simSeeds(1, 'recover with two bookies down') as [number]
    const sim = ledgerSim({seed})
    const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
    putEntries(sim, md.value, 7)
    const [a, b] = sim.cluster.bookieIds as [string, string]
    sim.cluster.crash(a)
    sim.cluster.crash(b)
    await assert.rejects(sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD)), (e: unknown) => {
      return e instanceof LedgerError && e.code === LedgerErrorCode.RECOVERY_FAILED && e.retriable && /fence/.test(e.message)
    })
    const stuck = await sim.store.readLedgerMetadata(md.value.ledgerId)
    assert.equal(stuck.value.state, 'IN_RECOVERY', `SEED=${seed}`)
    sim.cluster.restart(b)
    const closed = await sim.cluster.run(recoverLedger(sim.ctx, stuck, SIM_PASSWORD))
    assert.equal(closed.value.lastEntryId, 6)
  })

  it('a corrupt copy is not recovered from; a valid copy elsewhere is', async () => {
    for (const seed of simSeeds(4, 'recover around corruption')) {
      const sim = ledgerSim({seed})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      const ledgerId = md.value.ledgerId
      const [a, b] = sim.cluster.bookieIds as [string, string]
      // Entry 5 on a (corrupt) and b (good); entry 6 only on a, corrupt: not recoverable, and missing on
      // two bookies, so it was never acknowledged.
      putEntries(sim, md.value, 7, (e, ws) => (e < 5 ? ws : e === 5 ? [a, b] : [a]), {lacOf: (e) => Math.min(e - 1, 4)})
      sim.cluster.corrupt(a, ledgerId, 5)
      sim.cluster.corrupt(a, ledgerId, 6)
      const closed = await sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD))
      assert.equal(closed.value.lastEntryId, 5, `SEED=${seed}`)
      assert.deepEqual((await readAll(sim, closed))[5], payloadOf(ledgerId, 5))
    }
  })

  it('concurrent recoveries agree on the last entry', async () => {
    for (const seed of simSeeds(10, 'concurrent recoveries')) {
      const sim = ledgerSim({seed, latencyMs: {min: 0, max: 5}})
      sim.cluster.setReorder(5)
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      const ledgerId = md.value.ledgerId
      const r = sim.cluster.random
      const full = r.nextInt(10)
      const partial = r.nextInt(4)
      putEntries(sim, md.value, full + partial, (e, ws) => (e < full ? ws : [ws[r.nextInt(ws.length)] as string]), {lacOf: (e) => Math.min(e - 1, full - 1)})
      const second: LedgerContext = {...sim.ctx, transport: new SimTransport(sim.cluster), logger: sim.ctx.logger}
      const [x, y] = await sim.cluster.run(Promise.all([recoverLedger(sim.ctx, md, SIM_PASSWORD), recoverLedger(second, md, SIM_PASSWORD)]))
      const msg = `SEED=${seed} full=${full} partial=${partial}`
      assert.equal(x.value.state, 'CLOSED', msg)
      assert.equal(y.value.state, 'CLOSED', msg)
      assert.ok(x.value.lastEntryId >= full - 1 && x.value.lastEntryId <= full + partial - 1, msg)
      assert.equal(y.value.lastEntryId, x.value.lastEntryId, msg)
      assert.equal(y.value.length, x.value.length, msg)
      const closes = sim.store.writes.filter((w) => w.ledgerId === ledgerId && w.value?.state === 'CLOSED')
      assert.equal(closes.length, 1, msg)
    }
  })

  it('a writer crashes mid-stream (after an ensemble change, some adds half-sent): recovery keeps every acknowledged entry', async () => {
    for (const seed of simSeeds(10, 'writer crash')) {
      const sim = ledgerSim({seed, bookies: 5, latencyMs: {min: 0, max: 4}})
      const r = sim.cluster.random
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds.slice(0, 3), {writeQuorumSize: 3, ackQuorumSize: 2})
      const writerTransport = new SimTransport(sim.cluster)
      const writer = new LedgerWriteHandle({...sim.ctx, transport: writerTransport}, md)
      const acked = new Map<number, Buffer>()
      let sent = 0
      const stream = (async () => {
        while (sent < 300) {
          const payload = Buffer.from(`c${sent}`)
          sent++
          const p = writer.append(payload).then(
            (id) => void acked.set(id, payload),
            () => {},
          )
          if (sent % 8 === 0) await p
        }
      })()
      // A bookie of the ensemble dies part way (ensemble change), then the writer dies.
      await sim.cluster.runFor(5 + r.nextInt(40))
      const victim = sim.cluster.bookieIds[r.nextInt(3)] as string
      sim.cluster.crash(victim)
      await sim.cluster.runFor(10 + r.nextInt(60))
      await writerTransport.close() // in-flight adds already on the wire may still land
      await sim.cluster.runFor(20)
      void stream
      const current = await sim.store.readLedgerMetadata(md.value.ledgerId)
      const closed = await sim.cluster.run(recoverLedger(sim.ctx, current, SIM_PASSWORD))
      const last = closed.value.lastEntryId
      const msg = `SEED=${seed} victim=${victim} acked=${acked.size} last=${last} ensembles=${closed.value.ensembles.length}`
      for (const id of acked.keys()) assert.ok(id <= last, `${msg}: acknowledged entry ${id} is past the recovered end`)
      const payloads = await readAll(sim, closed)
      for (const [id, p] of acked) assert.deepEqual(payloads[id], p, `${msg}: entry ${id}`)
      for (let id = 0; id <= last; id++) assert.equal(String(payloads[id]), `c${id}`, msg)
    }
  })

  it('a live writer is fenced mid-stream: its next add fails with LedgerFencedError and no acknowledged entry is lost', async () => {
    for (const seed of simSeeds(10, 'fence a live writer')) {
      const sim = ledgerSim({seed, latencyMs: {min: 0, max: 3}})
      const md = await createSimLedger(sim.store, sim.cluster.bookieIds)
      const writerCtx: LedgerContext = {...sim.ctx, transport: new SimTransport(sim.cluster)}
      const writer = new LedgerWriteHandle(writerCtx, md)
      const acked = new Map<number, Buffer>()
      const failures: unknown[] = []
      let sent = 0
      // The writer streams appends; recovery starts at a random moment.
      const stream = (async () => {
        while (failures.length === 0 && sent < 400) {
          const payload = Buffer.from(`w${sent}`)
          sent++
          const p = writer.append(payload).then(
            (id) => void acked.set(id, payload),
            (e: unknown) => void failures.push(e),
          )
          if (sent % 4 === 0) await p
        }
      })()
      await sim.cluster.runFor(5 + sim.cluster.random.nextInt(60))
      const closed = await sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD))
      await sim.cluster.run(stream)
      const msg = `SEED=${seed} acked=${acked.size} last=${closed.value.lastEntryId}`
      assert.ok(failures.length > 0, msg)
      assert.ok(failures.every((e) => e instanceof LedgerFencedError), `${msg}: ${String(failures[0])}`)
      await assert.rejects(sim.cluster.run(writer.append(Buffer.from('late'))), LedgerFencedError)
      const last = closed.value.lastEntryId
      for (const id of acked.keys()) assert.ok(id <= last, `${msg}: acknowledged entry ${id} is past the recovered end`)
      const payloads = await readAll(sim, closed)
      for (const [id, p] of acked) assert.deepEqual(payloads[id], p, `${msg}: entry ${id}`)
      await writerCtx.transport.close()
    }
  })
})
