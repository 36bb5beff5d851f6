/**
 * The write path over real sockets: four in-process bookies (real cores, fsync on) registered in our
 * ZooKeeper, ledger metadata in ZooKeeper, adds through TcpBookieTransport and LedgerWriteHandle. Checks
 * striping and read-back over the wire, an ensemble change when a bookie stops mid-stream, close, and
 * the transport's reconnect backoff.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {SeededRandom} from '../../../src/engine/common/random.js'
import {TcpBookieTransport, parseBookieId} from '../../../src/engine/ledger/tcp-transport.js'
import type {BookieId, BookiePlacement, BookieTransport, LedgerContext, LedgerMetadata} from '../../../src/engine/ledger/types.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {BookieConnectionError} from '../../../src/engine/net/bookie-wire-client.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {decodeEntry, entryChecksumOk} from '../../../src/engine/protocol/bookie/entry.js'
import {expectedWriteSet, newLedgerMetadata} from '../../helpers/memory-ledger-metadata.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'

const PASSWORD = Buffer.from('it-password')

describe('ledger > write handle over TCP bookies', () => {
  let cluster: TestCluster
  let transport: BookieTransport
  let placement: BookiePlacement
  let ctx: LedgerContext

  before(async () => {
    cluster = await startTestCluster({bookies: 4})
    // The client's context (ZooKeeper metadata and placement, TCP transport); the tests drive LedgerWriteHandle on it.
    ctx = (await cluster.ledgerClient({addEntryTimeoutMs: 5000, explicitLacIntervalMs: 100}, {random: new SeededRandom(11)})).ctx
    transport = ctx.transport
    placement = ctx.placement
    await waitFor(async () => (await placement.writableBookies()).length === 4, {what: '4 bookies registered'})
  })

  after(async () => {
    await cluster?.close()
  })

  async function create(e: number, qw: number, qa: number, exclude: Set<BookieId> = new Set()) {
    const bookies = await placement.newEnsemble(e, exclude)
    const v = await ctx.metadataStore.createLedgerMetadata((ledgerId) =>
      newLedgerMetadata(ledgerId, bookies, {writeQuorumSize: qw, ackQuorumSize: qa, password: PASSWORD, ctimeMs: Date.now()}),
    )
    return new LedgerWriteHandle(ctx, v)
  }

  /** Bookies of the write set that return the entry over the wire with a valid CRC and the payload. */
  async function copies(m: LedgerMetadata, entryId: number, payload: Buffer): Promise<number> {
    let n = 0
    for (const b of expectedWriteSet(m, entryId)) {
      const e = await transport.readEntry(b, m.ledgerId, entryId).catch(() => undefined)
      if (e && entryChecksumOk(e) && decodeEntry(e).payload.equals(payload)) n++
    }
    return n
  }

  it('writes pipelined entries striped over the ensemble, readable from each replica, then closes', async () => {
    const h = await create(3, 2, 2)
    const payloads = Array.from({length: 300}, (_, i) => Buffer.from(`tcp entry ${i}`))
    const ids = await Promise.all(payloads.map((p) => h.append(p)))
    assert.deepEqual(ids, payloads.map((_, i) => i))
    for (let e = 0; e < payloads.length; e += 7) assert.equal(await copies(h.metadata, e, payloads[e] as Buffer), 2, `entry ${e}`)
    // The idle writer tells the bookies the last LAC.
    await waitFor(async () => (await transport.readLac(expectedWriteSet(h.metadata, 299)[0] as BookieId, h.ledgerId)) === 299, {what: 'explicit LAC'})
    await h.close()
    const m = (await ctx.metadataStore.readLedgerMetadata(h.ledgerId)).value
    assert.equal(m.state, 'CLOSED')
    assert.equal(m.lastEntryId, 299)
    assert.equal(m.length, payloads.reduce((a, p) => a + p.length, 0))
  })

  it('changes the ensemble when a bookie stops during a stream of adds; every acknowledged entry stays readable', async () => {
    const h = await create(3, 3, 2)
    const victim = h.metadata.ensembles[0]?.bookies[1] as BookieId
    const payloads: Buffer[] = []
    const acked: number[] = []
    const pending: Promise<void>[] = []
    for (let i = 0; i < 400; i++) {
      const p = Buffer.from(`stream ${i}`)
      payloads.push(p)
      pending.push(h.append(p).then((id) => void acked.push(id)))
      if (i === 150) {
        await waitFor(() => acked.length > 100, {what: 'some acks'})
        await cluster.stopBookie(victim)
      }
      if (i % 50 === 0) await new Promise((r) => setImmediate(r))
    }
    await Promise.all(pending)
    assert.deepEqual(acked, payloads.map((_, i) => i))
    const m = (await ctx.metadataStore.readLedgerMetadata(h.ledgerId)).value
    assert.equal(m.ensembles.length, 2, JSON.stringify(m.ensembles))
    assert.ok(!m.ensembles[1]?.bookies.includes(victim))
    const first = m.ensembles[1]?.firstEntryId as number
    assert.ok(first > 0 && first <= 400)
    for (let e = 0; e < 400; e += 3) assert.ok((await copies(m, e, payloads[e] as Buffer)) >= 2, `entry ${e}`)
    await h.close()
  })

  it('the transport fails fast with a connection error and backs off on an unreachable bookie', async () => {
    const t = new TcpBookieTransport({connectTimeoutMs: 2000})
    try {
      const dead = '127.0.0.1:9' // nothing listens on the discard port here: connection refused
      await assert.rejects(t.readLac(dead, 1), BookieConnectionError)
      await assert.rejects(t.readLac(dead, 1), (e: unknown) => e instanceof BookieConnectionError && /retrying in/.test(e.message))
      const live = [...cluster.bookies.keys()][0] as BookieId
      await assert.rejects(t.readLac(live, 987654), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_LEDGER)
      assert.deepEqual(t.connectedBookies, [live])
    } finally {
      await t.close()
    }
    await assert.rejects(t.readLac('127.0.0.1:1', 1), BookieConnectionError)
    assert.throws(() => parseBookieId('nohost'), /not host:port/)
  })
})
