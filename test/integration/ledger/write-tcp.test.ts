/**
 * The write path over real sockets: four in-process bookies (real cores, fsync on) registered in our
 * ZooKeeper, ledger metadata in ZooKeeper, adds through TcpBookieTransport and LedgerWriteHandle. Checks
 * striping and read-back over the wire, an ensemble change when a bookie stops mid-stream, close, and
 * the transport's reconnect backoff.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {metaformat} from '../../../src/engine/bookie/admin.js'
import {parseBookieConfig} from '../../../src/engine/bookie/config.js'
import {BookieService} from '../../../src/engine/bookie/server/bookie-service.js'
import {systemClock} from '../../../src/engine/common/clock.js'
import {silentLogger} from '../../../src/engine/common/logger.js'
import {SeededRandom} from '../../../src/engine/common/random.js'
import {ZkBookiePlacement} from '../../../src/engine/ledger/placement.js'
import {TcpBookieTransport, parseBookieId} from '../../../src/engine/ledger/tcp-transport.js'
import {type BookieId, LEDGER_CLIENT_DEFAULTS, type LedgerContext, type LedgerMetadata} from '../../../src/engine/ledger/types.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {ZkLedgerMetadataStore} from '../../../src/engine/ledger/zk-metadata-store.js'
import {BookieConnectionError} from '../../../src/engine/net/bookie-wire-client.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {decodeEntry, entryChecksumOk} from '../../../src/engine/protocol/bookie/entry.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'

const ROOT = '/ledgers'
const PASSWORD = Buffer.from('it-password')

describe('ledger > write handle over TCP bookies', () => {
  let zkServer: ZKServer
  let zk: ZKClient
  const tmp = makeTmpDir('dlog-ledger-write-')
  const services = new Map<BookieId, BookieService>()
  let transport: TcpBookieTransport
  let placement: ZkBookiePlacement
  let ctx: LedgerContext

  before(async () => {
    zkServer = await ZKServer.start({port: 0})
    const connectString = `127.0.0.1:${zkServer.port}`
    zk = await ZKClient.connect({connectString})
    await metaformat({zk, root: ROOT, force: true, nonInteractive: true, confirm: async () => true})
    for (let i = 0; i < 4; i++) {
      const dir = join(tmp.path, `b${i}`)
      const {config} = parseBookieConfig(
        `zkServers=${connectString}\nzkLedgersRootPath=${ROOT}\nbookiePort=0\nadvertisedAddress=127.0.0.1\nzkTimeout=6000\n` +
          `journalDirectory=${dir}/journal\nledgerDirectories=${dir}/ledgers\n`,
        `b${i}.conf`,
      )
      const s = await BookieService.start({config})
      services.set(s.bookieId, s)
    }
    transport = new TcpBookieTransport({requestTimeoutMs: 10_000})
    placement = new ZkBookiePlacement({zk, ledgersRootPath: ROOT, random: new SeededRandom(11)})
    await waitFor(async () => (await placement.writableBookies()).length === 4, {what: '4 bookies registered'})
    ctx = {
      transport,
      metadataStore: new ZkLedgerMetadataStore({zk, ledgersRootPath: ROOT}),
      placement,
      clock: systemClock,
      random: new SeededRandom(5),
      logger: silentLogger,
      config: {...LEDGER_CLIENT_DEFAULTS, addEntryTimeoutMs: 5000, explicitLacIntervalMs: 100},
    }
  })

  after(async () => {
    await transport?.close()
    placement?.close()
    for (const s of services.values()) await s.close().catch(() => {})
    await zk?.close()
    await zkServer?.close()
    tmp.remove()
  })

  async function create(e: number, qw: number, qa: number, exclude: Set<BookieId> = new Set()) {
    const bookies = await placement.newEnsemble(e, exclude)
    const v = await ctx.metadataStore.createLedgerMetadata((ledgerId) => ({
      ledgerId,
      ensembleSize: e,
      writeQuorumSize: qw,
      ackQuorumSize: qa,
      state: 'OPEN',
      lastEntryId: -1,
      length: 0,
      digestType: 'CRC32C',
      password: PASSWORD,
      ensembles: [{firstEntryId: 0, bookies}],
      ctimeMs: Date.now(),
      customMetadata: {},
    }))
    return new LedgerWriteHandle(ctx, v)
  }

  function writeSet(m: LedgerMetadata, entryId: number): BookieId[] {
    let seg = m.ensembles[0] as {bookies: BookieId[]}
    for (const s of m.ensembles) if (s.firstEntryId <= entryId) seg = s
    return Array.from({length: m.writeQuorumSize}, (_, i) => seg.bookies[(entryId + i) % seg.bookies.length] as BookieId)
  }

  /** Bookies of the write set that return the entry over the wire with a valid CRC and the payload. */
  async function copies(m: LedgerMetadata, entryId: number, payload: Buffer): Promise<number> {
    let n = 0
    for (const b of writeSet(m, entryId)) {
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
    await waitFor(async () => (await transport.readLac(writeSet(h.metadata, 299)[0] as BookieId, h.ledgerId)) === 299, {what: 'explicit LAC'})
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
        await services.get(victim)?.close()
        services.delete(victim)
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
      const live = [...services.keys()][0] as BookieId
      await assert.rejects(t.readLac(live, 987654), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_LEDGER)
      assert.deepEqual(t.connectedBookies, [live])
    } finally {
      await t.close()
    }
    await assert.rejects(t.readLac('127.0.0.1:1', 1), BookieConnectionError)
    assert.throws(() => parseBookieId('nohost'), /not host:port/)
  })
})
