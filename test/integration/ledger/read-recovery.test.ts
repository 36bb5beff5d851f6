/**
 * The ledger read path and recovery against real bookies (in-process BookieService, real cores with
 * fsync, TCP) and an embedded ZooKeeper: a second opener fences the first writer without losing an
 * acknowledged entry; long-poll tailing sees new entries without polling; a bookie serving a corrupt copy
 * is detected and skipped; reads fail over when bookies stop.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import type {OpenBookieCore} from '../../../src/engine/bookie/server/core-metrics.js'
import {openRealBookieCore} from '../../../src/engine/bookie/server/core-metrics.js'
import type {ReadEntryRequest} from '../../../src/engine/bookie/types.js'
import {Logger, type LogRecordLine} from '../../../src/engine/common/logger.js'
import {LedgerError, LedgerErrorCode, LedgerFencedError} from '../../../src/engine/ledger/errors.js'
import type {LedgerClient} from '../../../src/engine/ledger/ledger-client.js'
import {LedgerReadHandle, writeSetOf} from '../../../src/engine/ledger/read-handle.js'
import {recoverLedger} from '../../../src/engine/ledger/recovery.js'
import {TcpBookieTransport} from '../../../src/engine/ledger/tcp-transport.js'
import type {BookieId, LedgerContext, LedgerMetadata, Versioned, WriteHandle} from '../../../src/engine/ledger/types.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'

const PASSWORD = Buffer.from('it-password')

interface Client {
  client: LedgerClient
  ctx: LedgerContext
  logs: LogRecordLine[]
  longPolls: () => number
  close(): Promise<void>
}

async function connectClient(cluster: TestCluster): Promise<Client> {
  const logs: LogRecordLine[] = []
  let longPolls = 0
  const tcp = new TcpBookieTransport({requestTimeoutMs: 10_000, connectTimeoutMs: 3_000})
  // Counts long polls, so a test can tell waiting from polling.
  const transport = Object.assign(Object.create(tcp) as TcpBookieTransport, {
    longPollRead: (...args: Parameters<TcpBookieTransport['longPollRead']>) => {
      longPolls++
      return tcp.longPollRead(...args)
    },
  })
  const client = await cluster.ledgerClient(
    {addEntryTimeoutMs: 5_000, readEntryTimeoutMs: 5_000, speculativeReadTimeoutMs: 500, explicitLacIntervalMs: 100},
    {transport, logger: new Logger({level: 'debug', sink: (l) => logs.push(l)})},
  )
  return {
    client,
    ctx: client.ctx,
    logs,
    longPolls: () => longPolls,
    async close() {
      await client.close()
      await tcp.close()
    },
  }
}

async function createLedger(c: Client, quorum = {e: 3, w: 3, a: 2}): Promise<{handle: WriteHandle; md: Versioned<LedgerMetadata>}> {
  const handle = await c.client.createLedger({ensembleSize: quorum.e, writeQuorumSize: quorum.w, ackQuorumSize: quorum.a, password: PASSWORD})
  return {handle, md: await c.client.getLedgerMetadata(handle.ledgerId)}
}

const payload = (i: number) => Buffer.from(`entry ${i} ${'.'.repeat(i % 50)}`)

describe('ledger read path and recovery over real bookies', () => {
  let cluster: TestCluster
  const clients: Client[] = []
  // Bookie index -> which entry it serves corrupt (set by the corruption test).
  const corrupt: {bookieId?: string; ledgerId?: number; entryId?: number} = {}

  const corruptingCore =
    (i: number): OpenBookieCore =>
    async (opts) => {
      const core = await openRealBookieCore(opts)
      const readEntry = core.readEntry.bind(core)
      core.readEntry = async (req: ReadEntryRequest) => {
        const buf = await readEntry(req)
        if (cluster?.bookieIds[i] !== corrupt.bookieId || req.ledgerId !== corrupt.ledgerId || req.entryId !== corrupt.entryId) return buf
        const bad = Buffer.from(buf)
        bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x01
        return bad
      }
      return core
    }

  before(async () => {
    cluster = await startTestCluster({bookies: 4, openCore: corruptingCore})
  })
  after(async () => {
    for (const c of clients) await c.close()
    await cluster?.close()
  })

  async function client(): Promise<Client> {
    const c = await connectClient(cluster)
    clients.push(c)
    return c
  }

  it('a second opener fences the first writer: its next add fails with LedgerFencedError, no acknowledged entry is lost', async () => {
    const a = await client()
    const b = await client()
    const {handle: writer, md} = await createLedger(a)
    const acked = new Map<number, Buffer>()
    for (let i = 0; i < 50; i++) acked.set(await writer.append(payload(i)), payload(i))
    // More adds in flight while the recovery runs.
    const inFlight = Array.from({length: 30}, (_, k) =>
      writer.append(payload(50 + k)).then(
        (id) => void acked.set(id, payload(50 + k)),
        (e: unknown) => e,
      ),
    )
    const opened = await b.client.openLedger(md.value.ledgerId, {password: PASSWORD})
    const closed = {value: opened.metadata, version: -1}
    await opened.close()
    const outcomes = await Promise.all(inFlight)
    for (const o of outcomes) if (o !== undefined) assert.ok(o instanceof LedgerFencedError, `in-flight add failed with ${String(o)}`)
    await assert.rejects(writer.append(Buffer.from('after the fence')), LedgerFencedError)
    assert.equal(closed.value.state, 'CLOSED')
    const last = closed.value.lastEntryId
    assert.ok(last >= 49, `recovered up to ${last}`)
    for (const id of acked.keys()) assert.ok(id <= last, `acknowledged entry ${id} past the recovered end ${last}`)
    const reader = new LedgerReadHandle(b.ctx, closed)
    const entries = await reader.readEntries(0, last)
    for (const [id, p] of acked) assert.deepEqual(entries[id]?.payload, p)
    for (const e of entries) assert.deepEqual(e.payload, payload(e.entryId))
    assert.equal(closed.value.length, entries.reduce((n, e) => n + e.payload.length, 0))
    await reader.close()
    // The stored metadata agrees, and a second recovery is a no-op.
    const again = await recoverLedger(b.ctx, await b.ctx.metadataStore.readLedgerMetadata(md.value.ledgerId), PASSWORD)
    assert.equal(again.value.lastEntryId, last)
  })

  it('long-poll tailing sees each new entry as it is confirmed, one request per wait', async () => {
    const w = await client()
    const r = await client()
    const {handle: writer, md} = await createLedger(w)
    for (let i = 0; i < 5; i++) await writer.append(payload(i))
    const reader = new LedgerReadHandle(r.ctx, md)
    // Entry 4 is confirmed by the writer's explicit LAC once it idles.
    let next = (await reader.readLastAddConfirmed()) + 1
    for (; next <= 4; next++) assert.equal((await reader.readLastAddConfirmedAndEntry(next, 5_000)).entry?.entryId, next)
    for (let i = 5; i < 10; i++) {
      const before = r.longPolls()
      const t0 = performance.now()
      const waiting = reader.readLastAddConfirmedAndEntry(i, 20_000)
      setTimeout(() => void writer.append(payload(i)), 100)
      const got = await waiting
      assert.equal(got.entry?.entryId, i)
      assert.deepEqual(got.entry?.payload, payload(i))
      assert.ok(performance.now() - t0 < 10_000, `entry ${i} took ${performance.now() - t0} ms`)
      assert.ok(r.longPolls() - before <= 2, `${r.longPolls() - before} long polls for one entry`)
    }
    await writer.close()
    await reader.close()
  })

  it('a bookie serving a corrupt copy is detected and skipped; every copy corrupt is DIGEST_MISMATCH', async () => {
    const w = await client()
    const {handle: writer, md} = await createLedger(w)
    for (let i = 0; i < 10; i++) await writer.append(payload(i))
    await writer.close()
    const closed = await w.ctx.metadataStore.readLedgerMetadata(md.value.ledgerId)
    const ensemble = closed.value.ensembles[0]?.bookies ?? []
    const first = writeSetOf(ensemble, 3, 3)[0] as string
    Object.assign(corrupt, {bookieId: first, ledgerId: md.value.ledgerId, entryId: 3})
    const r = await client()
    const reader = new LedgerReadHandle(r.ctx, closed)
    const entries = await reader.readEntries(0, 9)
    assert.deepEqual(entries[3]?.payload, payload(3))
    assert.ok(r.logs.some((l) => l.message === 'corrupt entry replica' && l.attrs.bookie === first && l.attrs.entryId === 3), 'the corrupt replica is logged')
    // Only the corrupting bookie is asked when the others are gone: no good copy is left.
    const others = ensemble.filter((b) => b !== first)
    for (const b of others) await cluster.stopBookie(b)
    await assert.rejects(reader.readEntries(3, 3), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.DIGEST_MISMATCH)
    await reader.close()
  })

  it('reads fail over to the remaining replica when bookies stop', async () => {
    // The previous test stopped two bookies; two remain. A ledger on those two, read with one more down.
    const live = [...cluster.bookies.keys()]
    assert.equal(live.length, 2)
    const w = await client()
    const {handle: writer, md} = await createLedger(w, {e: 2, w: 2, a: 2})
    for (let i = 0; i < 20; i++) await writer.append(payload(i))
    await writer.close()
    const closed = await w.ctx.metadataStore.readLedgerMetadata(md.value.ledgerId)
    await cluster.stopBookie(live[0] as BookieId)
    const r = await client()
    const reader = new LedgerReadHandle(r.ctx, closed)
    const entries = await reader.readEntries(0, 19)
    assert.deepEqual(
      entries.map((e) => e.payload.toString()),
      Array.from({length: 20}, (_, i) => payload(i).toString()),
    )
    await reader.close()
  })
})
