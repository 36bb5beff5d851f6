/**
 * One log segment over the real ledger path: three in-process bookies (real cores, fsync on) in our
 * ZooKeeper, a LogSegmentWriter on a LedgerWriteHandle over TCP, and a LogSegmentEntryReader on a
 * LedgerReadHandle tailing it while it is written (long polls), then reading it back once closed.
 * (Builds the handles directly until ledger/ledger-client.ts lands; then this should use it.)
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
import {LedgerReadHandle} from '../../../src/engine/ledger/read-handle.js'
import {TcpBookieTransport} from '../../../src/engine/ledger/tcp-transport.js'
import {LEDGER_CLIENT_DEFAULTS, type LedgerContext} from '../../../src/engine/ledger/types.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {ZkLedgerMetadataStore} from '../../../src/engine/ledger/zk-metadata-store.js'
import {DL_CONFIG_DEFAULTS} from '../../../src/engine/log/config.js'
import type {DLSN} from '../../../src/engine/log/dlsn.js'
import {LogSegmentEntryReader, findFirstRecordWithTxIdAtLeast} from '../../../src/engine/log/reader/segment-reader.js'
import type {LogRecordWithDLSN} from '../../../src/engine/log/types.js'
import {LogSegmentWriter} from '../../../src/engine/log/writer/segment-writer.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'

const ROOT = '/ledgers'
const PASSWORD = Buffer.from('segment-io')

describe('log > segment writer and reader over TCP bookies', () => {
  let zkServer: ZKServer
  let zk: ZKClient
  const tmp = makeTmpDir('dlog-log-segment-')
  const services: BookieService[] = []
  let transport: TcpBookieTransport
  let placement: ZkBookiePlacement
  let ctx: LedgerContext

  before(async () => {
    zkServer = await ZKServer.start({port: 0})
    const connectString = `127.0.0.1:${zkServer.port}`
    zk = await ZKClient.connect({connectString})
    await metaformat({zk, root: ROOT, force: true, nonInteractive: true, confirm: async () => true})
    for (let i = 0; i < 3; i++) {
      const dir = join(tmp.path, `b${i}`)
      const {config} = parseBookieConfig(
        `zkServers=${connectString}\nzkLedgersRootPath=${ROOT}\nbookiePort=0\nadvertisedAddress=127.0.0.1\nzkTimeout=6000\n` +
          `journalDirectory=${dir}/journal\nledgerDirectories=${dir}/ledgers\n`,
        `b${i}.conf`,
      )
      services.push(await BookieService.start({config}))
    }
    transport = new TcpBookieTransport({requestTimeoutMs: 10_000})
    placement = new ZkBookiePlacement({zk, ledgersRootPath: ROOT, random: new SeededRandom(3)})
    await waitFor(async () => (await placement.writableBookies()).length === 3, {what: '3 bookies registered'})
    ctx = {
      transport,
      metadataStore: new ZkLedgerMetadataStore({zk, ledgersRootPath: ROOT}),
      placement,
      clock: systemClock,
      random: new SeededRandom(7),
      logger: silentLogger,
      config: {...LEDGER_CLIENT_DEFAULTS, addEntryTimeoutMs: 10_000},
    }
  })

  after(async () => {
    await transport?.close()
    placement?.close()
    for (const s of services) await s.close().catch(() => {})
    await zk?.close()
    await zkServer?.close()
    tmp.remove()
  })

  it('tails a segment while it is written (immediate flush), then reads the closed segment back whole', async () => {
    const bookies = await placement.newEnsemble(3)
    const v = await ctx.metadataStore.createLedgerMetadata((ledgerId) => ({
      ledgerId,
      ensembleSize: 3,
      writeQuorumSize: 3,
      ackQuorumSize: 2,
      state: 'OPEN',
      lastEntryId: -1,
      length: 0,
      digestType: 'CRC32C',
      password: PASSWORD,
      ensembles: [{firstEntryId: 0, bookies}],
      ctimeMs: Date.now(),
      customMetadata: {},
    }))
    const handle = new LedgerWriteHandle(ctx, v)
    const config = {...DL_CONFIG_DEFAULTS, writerOutputBufferBytes: 512, immediateFlushEnabled: true, readLACLongPollTimeoutMs: 500}
    const writer = new LogSegmentWriter({handle, logSegmentSequenceNo: 1, startTxId: 1, config, clock: systemClock, streamName: 'it-stream'})
    const segment = {logSegmentSequenceNo: 1, startSequenceId: 0, inprogress: true, lastEntryId: -1}
    const openRead = async () => new LedgerReadHandle(ctx, await ctx.metadataStore.readLedgerMetadata(handle.ledgerId))

    const tail = new LogSegmentEntryReader({handle: await openRead(), segment, config})
    const tailed: LogRecordWithDLSN[] = []
    const tailing = (async () => {
      for (;;) {
        const batch = await tail.readNext()
        if (batch === null) return
        tailed.push(...batch)
      }
    })()

    const total = 400
    const dlsns: DLSN[] = []
    for (let i = 0; i < total; i += 20) {
      const batch = Array.from({length: 20}, (_, k) => writer.write({txid: 1 + i + k, payload: Buffer.from(`record ${i + k}`)}))
      dlsns.push(...(await Promise.all(batch)))
      // The tailing reader sees what was acknowledged, without the writer closing.
      await waitFor(() => tailed.length >= i + 20, {timeoutMs: 20_000, what: `reader at ${i + 20}`})
    }
    await writer.close()
    const counters = writer.counters()
    assert.equal(counters.recordCount, total)
    tail.markCompleted(counters.lastDLSN.entryId, await openRead())
    await tailing
    assert.deepEqual(tailed.map((r) => r.payload.toString()), Array.from({length: total}, (_, i) => `record ${i}`))
    assert.deepEqual(tailed.map((r) => r.sequenceId), Array.from({length: total}, (_, i) => i))
    tailed.forEach((r, i) => assert.ok(r.dlsn.equals(dlsns[i]!), `DLSN of record ${i}`))
    assert.ok(tail.stats().longPolls > 0, 'the reader tailed by long poll')

    // A fresh reader of the closed segment reads it whole; txid positioning finds records.
    const whole = new LogSegmentEntryReader({
      handle: await openRead(),
      segment: {...segment, inprogress: false, lastEntryId: counters.lastDLSN.entryId},
      config,
    })
    let n = 0
    for (let b = await whole.readNext(); b !== null; b = await whole.readNext()) n += b.length
    assert.equal(n, total)
    await whole.close()
    const rh = await openRead()
    const hit = await findFirstRecordWithTxIdAtLeast(rh, segment, counters.lastDLSN.entryId, 250)
    assert.equal(hit?.payload.toString(), 'record 249')
    await rh.close()
    await tail.close()
  })
})
