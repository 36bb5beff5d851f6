/**
 * Deleting a log deletes its ledgers through the namespace's default ledger client (the bookie cluster
 * named by the binding), so a deleted log leaks nothing on the bookies' side.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {NoSuchLedgerError} from '../../../src/engine/ledger/errors.js'
import {Namespace} from '../../../src/engine/log/namespace.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'

describe('namespace > deleteLog with segments', () => {
  let cluster: TestCluster
  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/ns'})
  })
  after(async () => {
    await cluster?.close()
  })

  it('deletes every segment ledger and then the log', async () => {
    const ns = await Namespace.open({uri: cluster.uri!})
    try {
      await ns.createLog('doomed')
      const client = await ns.ledgerClient()
      const ledgerIds: number[] = []
      for (let i = 0; i < 2; i++) {
        const w = await client.createLedger()
        await w.append(Buffer.from(`segment-${i}`))
        await w.close()
        const seg = await ns.store.startLogSegment('doomed', {ledgerId: w.ledgerId, firstTxId: i * 10 + 1})
        await ns.store.completeLogSegment('doomed', seg, {lastTxId: i * 10 + 1, lastEntryId: 0, lastSlotId: 0, recordCount: 1, completionTimeMs: Date.now()})
        ledgerIds.push(w.ledgerId)
      }
      assert.equal((await ns.getLogSegments('doomed')).length, 2)
      await ns.deleteLog('doomed')
      assert.equal(await ns.logExists('doomed'), false)
      for (const id of ledgerIds) await assert.rejects(client.getLedgerMetadata(id), NoSuchLedgerError)
    } finally {
      await ns.close()
    }
  })
})
