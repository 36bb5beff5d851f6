/**
 * Namespace.openLog end to end on the shared test cluster: a writer creates the log on first write
 * (createStreamIfNotExists), a reader from the start gets every record in order with the DLSNs the
 * writer got, and a second writer is refused naming the first one's client id.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {DLSN} from '../../../src/engine/log/dlsn.js'
import {OwnershipAcquireFailedError} from '../../../src/engine/log/errors.js'
import {Namespace} from '../../../src/engine/log/namespace.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'

describe('namespace > openLog', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/messaging/distributedlog'})
  })
  after(async () => {
    await cluster?.close()
  })

  it('writes through a LogManager and reads the same records back', async () => {
    const ns = await Namespace.open({uri: cluster.uri!, clientId: 'writer-one', conf: {lockTimeoutMs: 0}})
    const other = await Namespace.open({uri: cluster.uri!, clientId: 'writer-two', conf: {lockTimeoutMs: 0}})
    try {
      const lm = await ns.openLog('orders')
      const writer = await lm.openAsyncLogWriter()
      const dlsns: DLSN[] = []
      for (let txid = 1; txid <= 20; txid++) dlsns.push(await writer.write({txid, payload: Buffer.from(`order-${txid}`)}))
      assert.equal(await ns.logExists('orders'), true)

      const lm2 = await other.openLog('orders')
      await assert.rejects(lm2.openAsyncLogWriter(), (e: unknown) => e instanceof OwnershipAcquireFailedError && /writer-one/.test(e.message))

      // flush() commits: a control record carries the LAC past the last record, so readers see it.
      await writer.flush()
      const reader = await lm.getAsyncLogReader(DLSN.InitialDLSN)
      const got = []
      while (got.length < 20) got.push(...(await reader.readBulk(20 - got.length)))
      assert.equal(got.length, 20)
      got.forEach((r, i) => {
        assert.equal(r.txid, i + 1)
        assert.equal(r.payload.toString(), `order-${i + 1}`)
        assert.ok(r.dlsn.equals(dlsns[i]!), `${r.dlsn} vs ${dlsns[i]}`)
      })
      await reader.close()
      await writer.close()
      await lm2.close()
      await lm.close()
    } finally {
      await other.close()
      await ns.close()
    }
  })

  it('closing the namespace closes the logs opened through it', async () => {
    const ns = await Namespace.open({uri: cluster.uri!, clientId: 'closer', conf: {lockTimeoutMs: 0}})
    const lm = await ns.openLog('closing')
    const writer = await lm.openAsyncLogWriter()
    await writer.write({txid: 1, payload: Buffer.from('one')})
    await ns.close()
    await assert.rejects(writer.write({txid: 2, payload: Buffer.from('two')}))
    // The lock went with the writer: another namespace can take the log over at once.
    const next = await Namespace.open({uri: cluster.uri!, clientId: 'next', conf: {lockTimeoutMs: 0}})
    try {
      const w2 = await (await next.openLog('closing')).openAsyncLogWriter()
      await w2.write({txid: 3, payload: Buffer.from('three')})
    } finally {
      await next.close()
    }
  })
})
