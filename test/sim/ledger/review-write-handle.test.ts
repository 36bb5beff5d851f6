/**
 * Reviewer's scenarios against the write path (ledger/write-handle.ts) over simulated bookies: each is
 * an interleaving that breaks a promise the handle makes (every append settles; close settles).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode} from '../../../src/engine/ledger/errors.js'
import {LedgerClient} from '../../../src/engine/ledger/ledger-client.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {createSimLedger, ledgerSim} from '../../helpers/ledger-sim.js'

describe('write handle: reviewer scenarios (simulated bookies)', () => {
  it(
    'a replacement bookie that fails at once (its error lands while the ensemble change is finishing) still gets replaced or gives up: the append settles',
    async () => {
      const sim = ledgerSim({seed: 4102, bookies: 4})
      const [b0, b1, b2, b3] = sim.cluster.bookieIds as [string, string, string, string]
      const md = await createSimLedger(sim.store, [b0, b1, b2], {writeQuorumSize: 3, ackQuorumSize: 3})
      // b2 fails its add, so b3 replaces it; b3's connection then fails at once (as a TCP transport does for
      // a bookie it is backing off from): its error is delivered in the same few microtasks that end the change.
      sim.cluster.onRequest = (r) => {
        if (r.op !== 'addEntry') return undefined
        if (r.bookie === b2) return new BookieError(BookieStatus.IO_ERROR, 'disk failed')
        if (r.bookie === b3) return 'crash-before'
        return undefined
      }
      const writer = new LedgerWriteHandle(sim.ctx, md)
      // No bookie is left to replace b3 and Qa = 3 needs it: the append must fail (QUORUM_FAILED), not hang.
      await assert.rejects(
        sim.cluster.run(writer.append(Buffer.from('x')), {maxMs: 60_000}),
        (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.QUORUM_FAILED,
      )
      await sim.cluster.run(writer.close().catch(() => undefined), {maxMs: 60_000})
    },
  )

  it(
    'an append after the ledger client closed fails with CLIENT_CLOSED, not as a lost ack quorum',
    async () => {
      const sim = ledgerSim({seed: 4104, bookies: 4})
      const client = new LedgerClient(sim.ctx, {transport: sim.ctx.transport, placement: sim.ctx.placement})
      const writer = await sim.cluster.run(client.createLedger())
      assert.equal(await sim.cluster.run(writer.append(Buffer.from('a'))), 0)
      await client.close()
      await assert.rejects(sim.cluster.run(writer.append(Buffer.from('b'))), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.CLIENT_CLOSED)
    },
  )
})
