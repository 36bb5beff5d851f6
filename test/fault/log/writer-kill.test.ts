/**
 * kill -9 of a writer process mid-stream: a child process writes records and prints each txid once its
 * write resolved (durable on an ack quorum); the test kills it with SIGKILL, then a new writer (waiting
 * for the dead session's lock) recovers the segment, and a reader must see every acknowledged record
 * exactly once, in order, with nothing out of order or repeated after it.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {DLSN} from '../../../src/engine/log/dlsn.js'
import {type Namespace, NamespaceBuilder} from '../../../src/engine/log/namespace.js'
import {repoRoot, startProcess} from '../../helpers/processes.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'

describe('log > kill -9 of a writer process', () => {
  let cluster: TestCluster
  let ns: Namespace | undefined

  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/messaging/distributedlog'})
  })
  after(async () => {
    await ns?.close().catch(() => {})
    await cluster?.close()
  })

  it('a new writer and a reader see every acknowledged record exactly once, in order', async () => {
    const uri = cluster.uri as string
    const proc = startProcess(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/fixtures/log-writer.ts'), uri, 'killed'], {cwd: repoRoot})
    const acked = (): number[] => [...proc.stdout().matchAll(/^acked (\d+)$/gm)].map((m) => Number(m[1]))
    await waitFor(() => acked().length >= 300, {timeoutMs: 60_000, what: `300 acknowledged writes (output: ${proc.output().slice(-500)})`})
    proc.kill('SIGKILL')
    await proc.exited
    const ackedTxids = acked()
    const lastAcked = ackedTxids.at(-1) as number
    assert.deepEqual(ackedTxids, Array.from({length: lastAcked}, (_, i) => i + 1))

    ns = await NamespaceBuilder.newBuilder()
      .uri(uri)
      .clientId('successor')
      .conf({writerOutputBufferBytes: 0, immediateFlushEnabled: true, lockTimeoutMs: 60_000})
      .build()
    const dlm = await ns.openLog('killed')
    // Waits for the dead writer's session to expire, then fences and completes its segment.
    const writer = await dlm.openAsyncLogWriter()
    const segs = await dlm.getLogSegments()
    assert.ok(segs.every((s) => !s.inprogress))
    const recovered = segs.reduce((n, s) => n + s.recordCount, 0)
    assert.ok(recovered >= lastAcked, `recovered ${recovered} records, ${lastAcked} were acknowledged`)
    await writer.write({txid: recovered + 1, payload: Buffer.from('after')})
    await writer.close()

    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    const txids: number[] = []
    while (txids.length < recovered + 1) txids.push(...(await reader.readBulk(1000)).map((r) => r.txid))
    await reader.close()
    // Every acknowledged record, once, in order; at most records written but not yet acknowledged after them.
    assert.deepEqual(txids, Array.from({length: recovered + 1}, (_, i) => i + 1))
    await dlm.close()
  })
})
