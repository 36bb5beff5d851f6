/**
 * LedgerClient.connect over a real cluster (embedded ZooKeeper, three in-process bookies with fsync):
 * the production wiring (ZooKeeper metadata, registry placement, TCP transport) end to end, and what it
 * closes: its own ZooKeeper client, never one it was given.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {NotEnoughBookiesError} from '../../../src/engine/ledger/errors.js'
import {LedgerClient} from '../../../src/engine/ledger/ledger-client.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'

describe('ledger > LedgerClient over real bookies', () => {
  let cluster: TestCluster

  before(async () => {
    cluster = await startTestCluster({bookies: 3, ledgersRootPath: '/bk/ledgers'})
  })
  after(async () => {
    await cluster.close()
  })

  it('creates, writes, closes, recovers and reads a ledger; delete removes it', async () => {
    const client = await LedgerClient.connect({zkServers: cluster.zkServers, ledgersRootPath: cluster.ledgersRootPath})
    try {
      const w = await client.createLedger({password: Buffer.from('pw')})
      assert.deepEqual([...(w.metadata.ensembles[0]?.bookies ?? [])].sort(), [...cluster.bookieIds].sort())
      const payloads = Array.from({length: 50}, (_, i) => Buffer.from(`record ${i} `.repeat(10)))
      assert.deepEqual(await Promise.all(payloads.map((p) => w.append(p))), payloads.map((_, i) => i))
      await w.close()

      const other = await LedgerClient.connect({zkServers: cluster.zkServers, ledgersRootPath: cluster.ledgersRootPath})
      try {
        const r = await other.openLedger(w.ledgerId, {password: Buffer.from('pw')})
        assert.equal(r.lastAddConfirmed, 49)
        const entries = await r.readEntries(0, 49)
        assert.deepEqual(entries.map((e) => e.payload), payloads)
        await r.close()
      } finally {
        await other.close()
      }

      // An open ledger whose writer is still alive: recovery fences it and keeps what it acknowledged.
      const w2 = await client.createLedger({ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2})
      for (let i = 0; i < 5; i++) await w2.append(Buffer.from(`x${i}`))
      const recovered = await client.openLedger(w2.ledgerId)
      assert.equal(recovered.lastAddConfirmed, 4)
      assert.equal((await client.getLedgerMetadata(w2.ledgerId)).value.state, 'CLOSED')
      await assert.rejects(w2.append(Buffer.from('late')), (e: unknown) => e instanceof Error && /fenced|closed/i.test(e.message))
      await recovered.close()

      await assert.rejects(client.createLedger({ensembleSize: 4}), (e: unknown) => e instanceof NotEnoughBookiesError && e.found === 3)
      const listed = await client.listLedgers()
      assert.ok(listed.includes(w.ledgerId) && listed.includes(w2.ledgerId))
      await client.deleteLedger(w.ledgerId)
      assert.ok(!(await client.listLedgers()).includes(w.ledgerId))
    } finally {
      await client.close()
    }
  })

  it('closes only the ZooKeeper client it created', async () => {
    const zk = await ZKClient.connect({connectString: cluster.zkServers})
    try {
      const client = await LedgerClient.connect({zk, ledgersRootPath: cluster.ledgersRootPath})
      await client.listLedgers()
      await client.close()
      assert.equal(zk.state, 'connected')
      await client.close() // idempotent
    } finally {
      await zk.close()
    }
    await assert.rejects(LedgerClient.connect({ledgersRootPath: cluster.ledgersRootPath}), /needs zkServers/)
  })
})
