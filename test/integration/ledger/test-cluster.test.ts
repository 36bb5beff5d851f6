/**
 * The shared test cluster (test/helpers/test-cluster.ts) end to end: three bookies register, a ledger
 * written through the ledger client reads back byte for byte, and the namespace binding is readable.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {readBindingAt} from '../../../src/engine/log/metadata/binding.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'

describe('test cluster helper', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/messaging/distributedlog'})
  })
  after(async () => {
    await cluster?.close()
  })

  it('writes a ledger across its bookies and reads it back', async () => {
    assert.equal(cluster.bookies.size, 3)
    const client = await cluster.ledgerClient()
    const w = await client.createLedger()
    const payloads = Array.from({length: 20}, (_, i) => Buffer.from(`entry-${i}`))
    const ids = await Promise.all(payloads.map((p) => w.append(p)))
    assert.deepEqual(ids, payloads.map((_, i) => i))
    await w.close()
    const r = await client.openLedgerNoRecovery(w.ledgerId)
    const entries = await r.readEntries(0, 19)
    assert.deepEqual(entries.map((e) => e.payload.toString()), payloads.map((p) => p.toString()))
    await r.close()
  })

  it('binds the namespace to its ZooKeeper and ledgers root', async () => {
    const b = await readBindingAt(cluster.zk, '/messaging/distributedlog')
    assert.equal(b?.bkZkServers, cluster.zkServers)
    assert.equal(b?.bkLedgersPath, '/ledgers')
    assert.equal(cluster.uri, `distributedlog://${cluster.zkServers}/messaging/distributedlog`)
  })
})
