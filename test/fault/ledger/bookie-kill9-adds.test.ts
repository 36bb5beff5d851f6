/**
 * kill -9 of one bookie process of a ledger's ensemble while a writer streams adds (E3 Qw3 Qa2 over four
 * bookie child processes): the write handle changes its ensemble to the spare bookie, every append is
 * acknowledged exactly once and in order, and after the killed bookie restarts every acknowledged entry
 * reads back byte-identical from at least Qa bookies of its write set, read directly over the wire
 * (invariants 1 and 5).
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {metaformat} from '../../../src/engine/bookie/admin.js'
import {SeededRandom} from '../../../src/engine/common/random.js'
import {LedgerClient} from '../../../src/engine/ledger/ledger-client.js'
import {TcpBookieTransport, parseBookieId} from '../../../src/engine/ledger/tcp-transport.js'
import type {BookieId, LedgerContext} from '../../../src/engine/ledger/types.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {BookieWireClient} from '../../../src/engine/net/bookie-wire-client.js'
import {decodeEntry, entryChecksumOk} from '../../../src/engine/protocol/bookie/entry.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {expectedWriteSet, newLedgerMetadata} from '../../helpers/memory-ledger-metadata.js'
import {type Proc, startCli} from '../../helpers/processes.js'
import {freePort, type ZKTarget} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {startZooKeeper} from '../../integration/bookie/zk.js'

const ROOT = '/ledgers'
const PASSWORD = Buffer.from('kill9-ledger')
const OUTSTANDING = 64

const payloadOf = (i: number) => Buffer.from(`kill9 entry ${i} ${'#'.repeat(i % 97)}`)

describe('ledger > kill -9 of a bookie during a stream of adds', () => {
  let zkServer: ZKTarget
  let zk: ZKClient
  const tmp = makeTmpDir('dlog-ledger-kill9-')
  const procs = new Map<BookieId, {proc: Proc; conf: string}>()
  const confs: string[] = []
  let client: LedgerClient
  let transport: TcpBookieTransport
  let ctx: LedgerContext

  async function startBookie(conf: string): Promise<BookieId> {
    const proc = startCli(['bookie', '--conf', conf])
    const m = await waitFor(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`bookie exited: ${proc.output()}`)
        return /Bookie (\S+:\d+) is running/.exec(proc.stdout())
      },
      {timeoutMs: 60_000, what: 'bookie running'},
    )
    const id = m[1] as BookieId
    procs.set(id, {proc, conf})
    return id
  }

  // Own setup, not test/helpers/test-cluster.ts: the bookies are child processes (kill -9) restarted on fixed ports.
  before(async () => {
    zkServer = await startZooKeeper()
    zk = await ZKClient.connect({connectString: zkServer.connectString})
    await metaformat({zk, root: ROOT, force: true, nonInteractive: true, confirm: async () => false})
    for (let i = 0; i < 4; i++) {
      const conf = join(tmp.path, `bookie${i}.conf`)
      writeFileSync(
        conf,
        [
          `zkServers=${zkServer.connectString}`,
          `zkLedgersRootPath=${ROOT}`,
          `bookiePort=${await freePort()}`,
          'advertisedAddress=127.0.0.1',
          `journalDirectory=${join(tmp.path, `b${i}`, 'journal')}`,
          `ledgerDirectories=${join(tmp.path, `b${i}`, 'ledgers')}`,
          'zkTimeout=4000',
          '',
        ].join('\n'),
      )
      confs.push(conf)
    }
    await Promise.all(confs.map((c) => startBookie(c)))
    // The ledger client's context (ZooKeeper metadata and placement); our own transport for its short connect timeout.
    transport = new TcpBookieTransport({connectTimeoutMs: 3000, requestTimeoutMs: 10_000})
    client = await LedgerClient.connect({zk, ledgersRootPath: ROOT, transport, random: new SeededRandom(3), config: {addEntryTimeoutMs: 5000}})
    ctx = client.ctx
    await waitFor(async () => (await ctx.placement.writableBookies()).length === 4, {timeoutMs: 30_000, what: '4 bookies registered'})
  })

  after(async () => {
    await client?.close()
    await transport?.close()
    for (const {proc} of procs.values()) await proc.stop()
    await zk?.close()
    await zkServer?.close()
    tmp.remove()
  })

  it('changes the ensemble; every acknowledged entry is kept, once, in order', async () => {
    const ensemble = await ctx.placement.newEnsemble(3)
    // E3 Qw3 Qa2 (the builder's defaults for three bookies).
    const v = await ctx.metadataStore.createLedgerMetadata((ledgerId) => newLedgerMetadata(ledgerId, ensemble, {password: PASSWORD, ctimeMs: Date.now()}))
    const h = new LedgerWriteHandle(ctx, v)
    const victim = ensemble[1] as BookieId
    const acked: number[] = []
    const failures: unknown[] = []
    const total = 4000
    let killedAt = -1
    const inflight: Promise<void>[] = []
    for (let i = 0; i < total; i++) {
      inflight.push(
        h.append(payloadOf(i)).then(
          (id) => void acked.push(id),
          (e: unknown) => void failures.push(e),
        ),
      )
      if (inflight.length >= OUTSTANDING) await inflight.shift()
      if (killedAt < 0 && acked.length >= 1000) {
        procs.get(victim)?.proc.kill('SIGKILL')
        killedAt = acked.length
      }
    }
    await Promise.all(inflight)
    assert.deepEqual(failures, [])
    assert.ok(killedAt > 0)
    assert.equal(acked.length, total)
    assert.ok(
      acked.every((id, k) => id === k),
      'acknowledged exactly once each, in order',
    )
    await h.close()
    const m = (await ctx.metadataStore.readLedgerMetadata(h.ledgerId)).value
    assert.equal(m.state, 'CLOSED')
    assert.equal(m.lastEntryId, total - 1)
    assert.equal(m.ensembles.length, 2, JSON.stringify(m.ensembles))
    const change = m.ensembles[1] as {firstEntryId: number; bookies: BookieId[]}
    assert.ok(!change.bookies.includes(victim), 'the killed bookie was replaced')
    assert.ok(change.firstEntryId >= killedAt - OUTSTANDING && change.firstEntryId <= total, `new ensemble from ${change.firstEntryId}`)

    // Bring the killed bookie back from its files and read every acknowledged entry from every replica.
    const dead = procs.get(victim)
    await dead?.proc.exited
    procs.delete(victim)
    assert.equal(await startBookie(dead?.conf as string), victim)
    const readers = new Map<BookieId, BookieWireClient>()
    try {
      for (const b of new Set(m.ensembles.flatMap((s) => s.bookies))) {
        const {host, port} = parseBookieId(b)
        readers.set(b, await BookieWireClient.connect({host, port}))
      }
      for (let e = 0; e < total; e++) {
        const good = await Promise.all(
          expectedWriteSet(m, e).map(async (b) => {
            const entry = await readers.get(b)?.readEntry(m.ledgerId, e).catch(() => undefined)
            return entry !== undefined && entryChecksumOk(entry) && decodeEntry(entry).payload.equals(payloadOf(e))
          }),
        )
        assert.ok(good.filter(Boolean).length >= 2, `entry ${e} on ${good.filter(Boolean).length} bookies of its write set`)
      }
    } finally {
      for (const r of readers.values()) await r.close()
    }
  })
})
