/**
 * Reviewer's seeded fault simulation of the whole write → recovery path: a writer streams appends while
 * bookies crash, drop messages or slow down; its transport then dies; zero to two recoveries fail part
 * way (their own bookie dropping half the messages, their transport cut); a last recovery with every
 * bookie back must then keep every acknowledged entry, and the ledger must read back exactly what was
 * written. Replay a failing seed with SEED=<n>.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerReadHandle} from '../../../src/engine/ledger/read-handle.js'
import {recoverLedger} from '../../../src/engine/ledger/recovery.js'
import type {LedgerContext} from '../../../src/engine/ledger/types.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {createSimLedger, ledgerSim, SIM_PASSWORD, simSeeds} from '../../helpers/ledger-sim.js'
import {SimTransport} from '../../helpers/sim-bookies.js'

describe('ledger write and recovery under faults: reviewer simulation', () => {
  it(
    'no acknowledged entry is lost through failed recoveries; every operation settles',
    async () => {
      for (const seed of simSeeds(40, 'write, fail recoveries, recover')) {
        const sim = ledgerSim({seed, bookies: 5, latencyMs: {min: 0, max: 4}})
        const r = sim.cluster.random
        sim.cluster.setReorder(r.nextInt(4))
        const writeQuorumSize = 2 + r.nextInt(2)
        const ackQuorumSize = 1 + r.nextInt(writeQuorumSize)
        const md = await createSimLedger(sim.store, sim.cluster.bookieIds.slice(0, 3), {writeQuorumSize, ackQuorumSize})
        const ledgerId = md.value.ledgerId
        const writerTransport = new SimTransport(sim.cluster)
        const writer = new LedgerWriteHandle({...sim.ctx, transport: writerTransport}, md)
        const acked = new Map<number, string>()
        let sent = 0
        void (async () => {
          while (sent < 200) {
            const payload = `p${sent}`
            sent++
            const p = writer.append(Buffer.from(payload)).then(
              (id) => void acked.set(id, payload),
              () => {},
            )
            if (sent % (1 + r.nextInt(8)) === 0) await p
          }
        })()
        for (let k = 0; k < 3; k++) {
          await sim.cluster.runFor(r.nextInt(30))
          const b = sim.cluster.bookieIds[r.nextInt(5)] as string
          const fault = r.nextInt(3)
          if (fault === 0) sim.cluster.crash(b)
          else if (fault === 1) sim.cluster.setDrop(b, 0.3, 'either')
          else sim.cluster.setDelay(b, r.nextInt(50))
        }
        await sim.cluster.runFor(r.nextInt(100))
        await writerTransport.close()
        await sim.cluster.runFor(50)
        for (const b of sim.cluster.bookieIds) {
          sim.cluster.setDrop(b, 0)
          sim.cluster.restart(b)
        }
        const failedRecoveries = r.nextInt(3)
        for (let k = 0; k < failedRecoveries; k++) {
          const transport = new SimTransport(sim.cluster)
          const ctx: LedgerContext = {...sim.ctx, transport}
          const lossy = sim.cluster.bookieIds[r.nextInt(5)] as string
          sim.cluster.setDrop(lossy, 0.5, 'either')
          const attempt = recoverLedger(ctx, await sim.store.readLedgerMetadata(ledgerId), SIM_PASSWORD).catch(() => undefined)
          await sim.cluster.runFor(r.nextInt(200))
          await transport.close()
          await sim.cluster.run(attempt, {maxMs: 120_000})
          sim.cluster.setDrop(lossy, 0)
        }
        for (const b of sim.cluster.bookieIds) sim.cluster.setDelay(b, r.nextInt(3) === 0 ? 40 : 0)
        const closed = await sim.cluster.run(recoverLedger(sim.ctx, await sim.store.readLedgerMetadata(ledgerId), SIM_PASSWORD), {maxMs: 120_000})
        const last = closed.value.lastEntryId
        const msg = `SEED=${seed} Qw=${writeQuorumSize} Qa=${ackQuorumSize} failedRecoveries=${failedRecoveries} acked=${acked.size} last=${last}`
        for (const id of acked.keys()) assert.ok(id <= last, `${msg}: acknowledged entry ${id} is past the recovered end`)
        const reader = new LedgerReadHandle(sim.ctx, closed)
        try {
          const entries = last < 0 ? [] : await sim.cluster.run(reader.readEntries(0, last))
          for (const e of entries) assert.equal(String(e.payload), `p${e.entryId}`, msg)
        } finally {
          await reader.close()
        }
      }
    },
  )
})
