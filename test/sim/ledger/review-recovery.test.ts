/**
 * Reviewer's scenarios against ledger recovery (ledger/recovery.ts) over simulated bookies: each one is
 * a concrete interleaving that once broke an invariant (an acknowledged entry lost, a reader past the
 * last entry), kept so it stays fixed.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode} from '../../../src/engine/ledger/errors.js'
import {LedgerReadHandle} from '../../../src/engine/ledger/read-handle.js'
import {recoverLedger} from '../../../src/engine/ledger/recovery.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {createSimLedger, ledgerSim, payloadOf, putEntries, SIM_PASSWORD} from '../../helpers/ledger-sim.js'

describe('ledger recovery: reviewer scenarios (simulated bookies)', () => {
  it('a failed recovery that changed its ensemble does not hide an acknowledged entry from the next recovery', async () => {
    const sim = ledgerSim({seed: 4101, bookies: 4})
    const [b0, b1, b2, b3] = sim.cluster.bookieIds as [string, string, string, string]
    const md = await createSimLedger(sim.store, [b0, b1, b2], {writeQuorumSize: 3, ackQuorumSize: 2})
    const ledgerId = md.value.ledgerId
    // The dead writer: entries 0..4 everywhere; entry 5 acknowledged by b0 and b2 (Qa = 2), b1 never got it.
    putEntries(sim, md.value, 6, (e, ws) => (e < 5 ? ws : [b0, b2]))

    // Recovery 1 re-replicates entry 5: b2 refuses it (an I/O error), so it replaces b2 by b3 from entry 5;
    // then its adds to b1 and b3 are lost, no bookie is left to replace them, and it gives up.
    sim.cluster.onRequest = (r) => {
      if (r.op !== 'addEntry' || !r.recovery) return undefined
      if (r.bookie === b2) return new BookieError(BookieStatus.IO_ERROR, 'disk failed')
      if (r.bookie === b1 || r.bookie === b3) return 'drop-request'
      return undefined
    }
    await assert.rejects(sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD)), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.RECOVERY_FAILED)
    sim.cluster.onRequest = undefined

    // Recovery 2, with every bookie healthy again and b0 slow: b1 and b3 answer "no entry 5" first. If
    // recovery 1's ensemble change had reached the metadata, entry 5's write set would be {b3, b0, b1},
    // two NO_ENTRY answers would end the ledger at 4, and the acknowledged entry 5 would be gone.
    sim.cluster.setDelay(b0, 100)
    const now = await sim.store.readLedgerMetadata(ledgerId)
    assert.equal(now.value.state, 'IN_RECOVERY')
    const closed = await sim.cluster.run(recoverLedger(sim.ctx, now, SIM_PASSWORD))
    assert.equal(closed.value.state, 'CLOSED')
    assert.equal(closed.value.lastEntryId, 5, `ensembles ${JSON.stringify(closed.value.ensembles)}`)
    const h = new LedgerReadHandle(sim.ctx, closed)
    try {
      const entries = await sim.cluster.run(h.readEntries(0, 5))
      assert.deepEqual(entries.map((e) => String(e.payload)), Array.from({length: 6}, (_, e) => String(payloadOf(ledgerId, e))))
    } finally {
      await h.close()
    }
  })

  it("a recovery's ensemble change reaches the metadata with its close, on top of another client's concurrent change", async () => {
    const sim = ledgerSim({seed: 4103, bookies: 4})
    const [b0, b1, b2, b3] = sim.cluster.bookieIds as [string, string, string, string]
    const md = await createSimLedger(sim.store, [b0, b1, b2], {writeQuorumSize: 3, ackQuorumSize: 2})
    const ledgerId = md.value.ledgerId
    putEntries(sim, md.value, 8, (e, ws) => (e < 5 ? ws : [b0, b1]))
    sim.cluster.onRequest = (r) => (r.op === 'addEntry' && r.recovery && r.bookie === b2 ? new BookieError(BookieStatus.IO_ERROR, 'disk failed') : undefined)
    // Another client touches the metadata just before the close (the only write recovery makes after IN_RECOVERY).
    let armed = false
    const unwatch = sim.store.watchLedgerMetadata(ledgerId, (m) => {
      if (m?.value.state === 'IN_RECOVERY' && !armed) {
        armed = true
        sim.store.conflictNextWrite((x) => ({...x, customMetadata: {touched: Buffer.from('yes')}}))
      }
    })
    const closed = await sim.cluster.run(recoverLedger(sim.ctx, md, SIM_PASSWORD))
    unwatch()
    assert.equal(closed.value.state, 'CLOSED')
    assert.equal(closed.value.lastEntryId, 7)
    assert.equal(String(closed.value.customMetadata.touched), 'yes')
    // b2 is replaced by b3 from the first recovered entry not yet acknowledged when b2 refused one.
    const [first, second, ...more] = closed.value.ensembles
    assert.deepEqual(first, {firstEntryId: 0, bookies: [b0, b1, b2]})
    assert.deepEqual(second?.bookies, [b0, b1, b3])
    assert.ok(second !== undefined && second.firstEntryId >= 5 && second.firstEntryId <= 7, JSON.stringify(second))
    assert.deepEqual(more, [])
    // Nothing but the close was written while the ledger was IN_RECOVERY.
    const states = sim.store.writes.filter((w) => w.ledgerId === ledgerId).map((w) => w.value?.state)
    assert.deepEqual(states, ['OPEN', 'IN_RECOVERY', 'IN_RECOVERY', 'CLOSED'])
    sim.cluster.onRequest = undefined
    const h = new LedgerReadHandle(sim.ctx, closed)
    try {
      const entries = await sim.cluster.run(h.readEntries(0, 7))
      assert.deepEqual(entries.map((e) => String(e.payload)), Array.from({length: 8}, (_, e) => String(payloadOf(ledgerId, e))))
    } finally {
      await h.close()
    }
  })
})
