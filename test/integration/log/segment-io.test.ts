/**
 * One log segment over the real ledger path: three in-process bookies (real cores, fsync on) in our
 * ZooKeeper (test/helpers/test-cluster.ts), a LogSegmentWriter on a ledger created by the LedgerClient,
 * and a LogSegmentEntryReader tailing it while it is written (long polls), then reading it back whole
 * once closed.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {systemClock} from '../../../src/engine/common/clock.js'
import type {LedgerClient} from '../../../src/engine/ledger/ledger-client.js'
import {DL_CONFIG_DEFAULTS} from '../../../src/engine/log/config.js'
import type {DLSN} from '../../../src/engine/log/dlsn.js'
import {LogSegmentEntryReader, findFirstRecordWithTxIdAtLeast} from '../../../src/engine/log/reader/segment-reader.js'
import type {LogRecordWithDLSN} from '../../../src/engine/log/types.js'
import {LogSegmentWriter} from '../../../src/engine/log/writer/segment-writer.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'

const PASSWORD = Buffer.from('segment-io')

describe('log > segment writer and reader over TCP bookies', () => {
  let cluster: TestCluster
  let client: LedgerClient

  before(async () => {
    cluster = await startTestCluster({bookies: 3})
    client = await cluster.ledgerClient({addEntryTimeoutMs: 10_000})
  })

  after(async () => {
    await cluster?.close()
  })

  it('tails a segment while it is written (immediate flush), then reads the closed segment back whole', async () => {
    const handle = await client.createLedger({ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: PASSWORD})
    const config = {...DL_CONFIG_DEFAULTS, writerOutputBufferBytes: 512, immediateFlushEnabled: true, readLACLongPollTimeoutMs: 500}
    const writer = new LogSegmentWriter({handle, logSegmentSequenceNo: 1, startTxId: 1, config, clock: systemClock, streamName: 'it-stream'})
    const segment = {logSegmentSequenceNo: 1, startSequenceId: 0, inprogress: true, lastEntryId: -1}
    const openRead = async () => client.openLedgerNoRecovery(handle.ledgerId)

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
