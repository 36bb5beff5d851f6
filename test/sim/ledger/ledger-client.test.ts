/**
 * The LedgerClient facade over simulated bookies and in-memory metadata (seeded): create with quorum
 * defaults and checks, write and read back, open with recovery fencing the old writer, delete, and the
 * errors a caller switches on. Replay a seed with SEED=<n>.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode, LedgerFencedError, NoSuchLedgerError, NotEnoughBookiesError} from '../../../src/engine/ledger/errors.js'
import {LedgerClient, resolveLedgerClientConfig} from '../../../src/engine/ledger/ledger-client.js'
import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {ledgerSim, simSeeds} from '../../helpers/ledger-sim.js'

const code = (c: number) => (e: unknown) => e instanceof LedgerError && e.code === c

describe('ledger client facade (simulated bookies)', () => {
  it('creates E3 Qw3 Qa2 by default, writes, closes and reads back', async () => {
    for (const seed of simSeeds(3, 'ledger client write/read')) {
      const sim = ledgerSim({seed, bookies: 4})
      const client = new LedgerClient(sim.ctx)
      const password = Buffer.from('secret')
      const w = await sim.cluster.run(client.createLedger({password, customMetadata: {app: Buffer.from('dl')}}))
      const m = w.metadata
      assert.deepEqual([m.ensembleSize, m.writeQuorumSize, m.ackQuorumSize, m.state], [3, 3, 2, 'OPEN'], `SEED=${seed}`)
      assert.equal(new Set(m.ensembles[0]?.bookies).size, 3)
      assert.equal(m.customMetadata.app?.toString(), 'dl')
      const payloads = Array.from({length: 20}, (_, i) => Buffer.from(`entry-${i}`))
      const ids = await sim.cluster.run(Promise.all(payloads.map((p) => w.append(p))))
      assert.deepEqual(ids, payloads.map((_, i) => i))
      await sim.cluster.run(w.close())
      const stored = await client.getLedgerMetadata(w.ledgerId)
      assert.deepEqual([stored.value.state, stored.value.lastEntryId], ['CLOSED', 19], `SEED=${seed}`)
      assert.equal(stored.value.length, payloads.reduce((n, p) => n + p.length, 0))

      const r = await sim.cluster.run(client.openLedger(w.ledgerId, {password}))
      assert.equal(r.isClosed, true)
      const entries = await sim.cluster.run(r.readEntries(0, 19))
      assert.deepEqual(entries.map((e) => e.payload.toString()), payloads.map((p) => p.toString()))
      await sim.cluster.run(r.close())
      assert.deepEqual(await client.listLedgers(), [w.ledgerId])
      await client.deleteLedger(w.ledgerId)
      assert.deepEqual(await client.listLedgers(), [])
      await assert.rejects(client.openLedgerNoRecovery(w.ledgerId), NoSuchLedgerError)
      await client.close()
    }
  })

  it('opening with recovery fences the old writer and closes at what it acknowledged', async () => {
    for (const seed of simSeeds(3, 'ledger client recovery')) {
      const sim = ledgerSim({seed, bookies: 3})
      const client = new LedgerClient(sim.ctx)
      const w = await sim.cluster.run(client.createLedger({password: Buffer.from('pw')}))
      for (let i = 0; i < 5; i++) await sim.cluster.run(w.append(Buffer.from(`e${i}`)))
      const tail = await sim.cluster.run(client.openLedgerNoRecovery(w.ledgerId))
      assert.equal(tail.isClosed, false, `SEED=${seed}`)
      const r = await sim.cluster.run(client.openLedger(w.ledgerId))
      assert.equal(r.isClosed, true)
      assert.equal(r.lastAddConfirmed, 4, `SEED=${seed}`)
      await assert.rejects(sim.cluster.run(w.append(Buffer.from('late'))), LedgerFencedError)
      await assert.rejects(sim.cluster.run(client.openLedger(w.ledgerId, {password: Buffer.from('wrong')})), code(LedgerErrorCode.UNAUTHORIZED))
    }
  })

  it('checks quorums, fits defaults to small ensembles, and names missing bookies', async () => {
    const sim = ledgerSim({seed: 1, bookies: 3})
    const client = new LedgerClient(sim.ctx)
    const one = await sim.cluster.run(client.createLedger({ensembleSize: 1}))
    assert.deepEqual([one.metadata.ensembleSize, one.metadata.writeQuorumSize, one.metadata.ackQuorumSize], [1, 1, 1])
    for (const opts of [
      {ensembleSize: 2, writeQuorumSize: 3},
      {ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 3},
      {ensembleSize: 0},
      {ensembleSize: 3, ackQuorumSize: 0},
      {ensembleSize: 1.5},
    ]) {
      await assert.rejects(client.createLedger(opts), code(LedgerErrorCode.INCORRECT_PARAMETER), JSON.stringify(opts))
    }
    await assert.rejects(client.createLedger({customMetadata: {x: 'text' as unknown as Buffer}}), code(LedgerErrorCode.INCORRECT_PARAMETER))
    await assert.rejects(client.createLedger({password: Buffer.alloc(0)}), /password must be 1 to 256 bytes/)
    await assert.rejects(client.createLedger({password: Buffer.alloc(257)}), code(LedgerErrorCode.INCORRECT_PARAMETER))
    assert.equal(one.metadata.password.toString(), 'dlog', 'the default password')
    await assert.rejects(sim.cluster.run(client.createLedger({ensembleSize: 4})), (e: unknown) => e instanceof NotEnoughBookiesError && e.needed === 4 && e.found === 3)
    await client.close()
    await assert.rejects(client.listLedgers(), code(LedgerErrorCode.CLIENT_CLOSED))
    await assert.rejects(client.createLedger(), code(LedgerErrorCode.CLIENT_CLOSED))
  })

  it('resolves its configuration with defaults and refuses bad values', () => {
    assert.equal(resolveLedgerClientConfig({addEntryTimeoutMs: 500}).addEntryTimeoutMs, 500)
    assert.equal(resolveLedgerClientConfig().metadataRetriesMax, 16)
    assert.throws(() => resolveLedgerClientConfig({outstandingAddsMax: 0}), InvalidInputError)
    assert.throws(() => resolveLedgerClientConfig({speculativeReadTimeoutMs: -1}), InvalidInputError)
    assert.throws(() => resolveLedgerClientConfig({bogus: 1} as never), /unknown ledger client setting bogus/)
  })
})
