/**
 * The log writer, reader and manager over the real stack: our ZooKeeper server, three in-process bookies
 * (real journals, fsync), the ZooKeeper metadata store and write lock, and the TCP ledger client.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {DLSN} from '../../../src/engine/log/dlsn.js'
import {EndOfStreamError, OwnershipAcquireFailedError} from '../../../src/engine/log/errors.js'
import {type Namespace, NamespaceBuilder} from '../../../src/engine/log/namespace.js'
import type {LogRecordWithDLSN} from '../../../src/engine/log/types.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'

const CONF = {writerOutputBufferBytes: 0, immediateFlushEnabled: true, lockTimeoutMs: 0, logSegmentRollingMinutes: 0, logSegmentRetentionHours: 0}

describe('log > writer and reader over ZooKeeper and real bookies', () => {
  let cluster: TestCluster
  const namespaces: Namespace[] = []

  async function ns(clientId: string, conf: Record<string, unknown> = {}): Promise<Namespace> {
    const n = await NamespaceBuilder.newBuilder()
      .uri(cluster.uri as string)
      .clientId(clientId)
      .conf({...CONF, ...conf})
      .build()
    namespaces.push(n)
    return n
  }

  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/messaging/distributedlog'})
  })
  after(async () => {
    for (const n of namespaces) await n.close().catch(() => {})
    await cluster?.close()
  })

  it('two writers race for one log: one wins, the other is told who owns it', async () => {
    const a = await (await ns('racer-a')).openLog('race')
    const b = await (await ns('racer-b')).openLog('race')
    await (await ns('creator')).createLog('race')
    const results = await Promise.allSettled([a.openAsyncLogWriter(), b.openAsyncLogWriter()])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    assert.equal(won.length, 1)
    assert.equal(lost.length, 1)
    const err = lost[0]?.reason as unknown
    assert.ok(err instanceof OwnershipAcquireFailedError, String(err))
    const winner = results[0]?.status === 'fulfilled' ? 'racer-a' : 'racer-b'
    assert.equal(err.currentOwner, winner)
    assert.match(err.message, new RegExp(`current owner is ${winner}`))
    await a.close()
    await b.close()
  })

  it('a reader tails across segment rolls; the end of stream ends it', async () => {
    const dlm = await (await ns('roller', {logSegmentBytesMax: 2000})).openLog('rolling')
    const writer = await dlm.openAsyncLogWriter()
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    const got: LogRecordWithDLSN[] = []
    const reading = (async () => {
      for (;;) {
        try {
          got.push(...(await reader.readBulk(100)))
        } catch (e) {
          return e
        }
      }
    })()
    for (let i = 1; i <= 200; i++) await writer.write({txid: i, payload: Buffer.alloc(100, i % 256)})
    await writer.markEndOfStream()
    assert.ok((await reading) instanceof EndOfStreamError)
    assert.deepEqual(got.map((r) => r.txid), Array.from({length: 200}, (_, i) => i + 1))
    assert.deepEqual(got.map((r) => r.sequenceId), Array.from({length: 200}, (_, i) => i))
    const segs = await dlm.getLogSegments()
    assert.ok(segs.length >= 5, `segments: ${segs.length}`)
    assert.equal(await dlm.isEndOfStreamMarked(), true)
    assert.equal(await dlm.getLogRecordCount(), 200)
    await writer.close()
    await dlm.close()
  })

  it('txid positioning and truncation inside the active segment over ZooKeeper', async () => {
    const dlm = await (await ns('trunc')).openLog('trunc')
    const writer = await dlm.openAsyncLogWriter()
    const dlsns: DLSN[] = []
    for (let i = 1; i <= 20; i++) dlsns.push(await writer.write({txid: i * 2, payload: Buffer.from(`r${i}`)}))
    const r1 = await dlm.getAsyncLogReader({txid: 15})
    assert.equal((await r1.readNext()).txid, 16)
    await r1.close()
    await writer.truncate(dlsns[9] as DLSN)
    const seg = (await dlm.getLogSegments())[0]
    assert.equal(seg?.inprogress, true)
    assert.deepEqual(seg?.minActiveDLSN.serialize(), dlsns[9]?.serialize())
    const r2 = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    assert.equal((await r2.readNext()).txid, 20)
    await r2.close()
    await writer.close()
    await dlm.close()
  })
})

describe('log > self-healing after a bookie failure', () => {
  let cluster: TestCluster
  let ns: Namespace | undefined

  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/messaging/distributedlog'})
  })
  after(async () => {
    await ns?.close().catch(() => {})
    await cluster?.close()
  })

  it('a failed ledger is fenced and completed; later writes land in a new segment once bookies suffice', async () => {
    // Qa = E = 3: losing a bookie with no spare breaks the segment's ledger.
    ns = await NamespaceBuilder.newBuilder()
      .uri(cluster.uri as string)
      .clientId('healer')
      .conf({...CONF, ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3, ledgerWriteTimeoutMs: 3000})
      .build()
    const dlm = await ns.openLog('healing')
    const writer = await dlm.openAsyncLogWriter()
    const acked: number[] = []
    for (let i = 1; i <= 20; i++) {
      await writer.write({txid: i, payload: Buffer.from(`r${i}`)})
      acked.push(i)
    }
    const firstSegment = writer.currentSegment?.logSegmentSequenceNo
    await cluster.stopBookie([...cluster.bookies.keys()][0] as string)
    await assert.rejects(writer.write({txid: 21, payload: Buffer.from('lost')}))
    await cluster.addBookie()
    // Later writes succeed without reopening the writer (a start may fail typed while bookies are short).
    let txid = 22
    await waitFor(
      async () => {
        try {
          await writer.write({txid, payload: Buffer.from(`r${txid}`)})
          acked.push(txid)
          return true
        } catch {
          txid++
          return false
        }
      },
      {timeoutMs: 30_000, intervalMs: 200, what: 'a write after healing'},
    )
    assert.ok(writer.healCount >= 1)
    assert.notEqual(writer.currentSegment?.logSegmentSequenceNo, firstSegment)
    const segs = await dlm.getLogSegments()
    assert.equal(segs.find((s) => s.logSegmentSequenceNo === firstSegment)?.inprogress, false)
    await writer.close()
    const reader = await dlm.getAsyncLogReader(DLSN.InitialDLSN)
    const got: number[] = []
    while (!acked.every((t) => got.includes(t))) got.push(...(await reader.readBulk(100)).map((r) => r.txid))
    await reader.close()
    // In order, no duplicates; every acknowledged record is there.
    assert.deepEqual(got, [...new Set(got)].sort((a, b) => a - b))
    await dlm.close()
  })
})
