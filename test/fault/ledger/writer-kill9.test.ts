/**
 * kill -9 of a ledger writer process mid-stream (32 adds in flight over TCP to three real bookies):
 * a new owner recovers the ledger, and every entry the writer had acknowledged is at or below the
 * recovered last entry and reads back byte-identical; entries past the last acknowledged one that
 * recovery kept are intact too. Repeated at several points of the stream.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import type {LedgerClient} from '../../../src/engine/ledger/ledger-client.js'
import {type Proc, repoRoot, startProcess} from '../../helpers/processes.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'
import {killPayloadOf} from './payload.js'

const PASSWORD = 'kill9-writer'

describe('ledger > kill -9 of the writer, then recovery', () => {
  let cluster: TestCluster
  let client: LedgerClient
  const procs: Proc[] = []

  before(async () => {
    cluster = await startTestCluster({bookies: 3})
    client = await cluster.ledgerClient()
  })
  after(async () => {
    for (const p of procs) await p.stop()
    await cluster?.close()
  })

  for (const ackedBeforeKill of [1, 150, 600]) {
    it(`kill -9 after ${ackedBeforeKill} acknowledged adds`, async () => {
      const child = startProcess(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/fault/ledger/writer-child.ts'), cluster.zkServers, cluster.ledgersRootPath, PASSWORD], {
        cwd: repoRoot,
      })
      procs.push(child)
      const acked = (): number[] => [...child.stdout().matchAll(/^acked (\d+)$/gm)].map((m) => Number(m[1]))
      await waitFor(
        () => {
          if (child.child.exitCode !== null) throw new Error(`writer exited: ${child.output()}`)
          return acked().length >= ackedBeforeKill
        },
        {timeoutMs: 60_000},
      )
      child.kill('SIGKILL')
      await child.exited
      const ledgerId = Number(/^ledger (\d+)$/m.exec(child.stdout())?.[1])
      const ackedIds = acked()
      const maxAcked = Math.max(...ackedIds)

      assert.equal((await client.getLedgerMetadata(ledgerId)).value.state, 'OPEN')
      const reader = await client.openLedger(ledgerId, {password: Buffer.from(PASSWORD)})
      const closed = reader.metadata
      assert.equal(closed.state, 'CLOSED')
      const last = closed.lastEntryId
      assert.ok(last >= maxAcked, `recovered up to ${last}, but entry ${maxAcked} was acknowledged`)
      const entries = await reader.readEntries(0, last)
      await reader.close()
      for (const e of entries) assert.deepEqual(e.payload, killPayloadOf(e.entryId), `entry ${e.entryId}`)
      let length = 0
      for (const e of entries) length += e.payload.length
      assert.equal(closed.length, length)
    })
  }
})
