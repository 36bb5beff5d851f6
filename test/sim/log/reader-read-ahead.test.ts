/**
 * Read-ahead with the default configuration (readAheadMaxRecords 10, readAheadBatchSize 2,
 * numPrefetchEntriesPerLogSegment 4 / max 32) over the in-memory log world: delivering many entries of
 * many records each must take few ledger round trips and few application wake-ups. Bounds on counts, not
 * on speed: a reader that reads 4 entries per round trip, or wakes the application once per entry, falls
 * behind a busy writer (bench/log.ts tail phase), and these counts catch it without timing.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {DL_CONFIG_DEFAULTS} from '../../../src/engine/log/config.js'
import {DLSN} from '../../../src/engine/log/dlsn.js'
import {PREFETCH_BYTES_MAX} from '../../../src/engine/log/reader/segment-reader.js'
import type {LogRecordWithDLSN} from '../../../src/engine/log/types.js'
import {world} from '../../helpers/memory-log-world.js'

const ENTRIES = 200
const RECORDS_PER_ENTRY = 100
const RECORD_BYTES = 100

/** A world with the read path's defaults and a writer that packs RECORDS_PER_ENTRY records per entry. */
async function writtenLog(opts: {closeWriter: boolean}) {
  const w = world({writerOutputBufferBytes: 1 << 20, periodicFlushIntervalMs: 0, immediateFlushEnabled: false})
  const dlm = await w.open()
  await w.store.createLog('stream-0')
  const writer = await dlm.openAsyncLogWriter()
  let txid = 0
  for (let e = 0; e < ENTRIES; e++) {
    const records = Array.from({length: RECORDS_PER_ENTRY}, () => {
      txid++
      const payload = Buffer.alloc(RECORD_BYTES)
      payload.writeUInt32BE(txid, 0)
      return {txid, payload}
    })
    const pending = writer.writeBulk(records)
    await writer.flush()
    await pending
  }
  if (opts.closeWriter) await writer.close()
  return {w, dlm, writer, total: txid}
}

/**
 * Reads `total` records the way a tailing application does (readBulk(1000), then work on them: a turn
 * of the event loop here, in which the in-memory reads complete); counts the calls.
 */
async function readAll(reader: {readBulk(n: number): Promise<LogRecordWithDLSN[]>}, total: number): Promise<{txids: number[]; calls: number; entries: Set<string>}> {
  const txids: number[] = []
  const entries = new Set<string>()
  let calls = 0
  while (txids.length < total) {
    calls++
    for (const r of await reader.readBulk(1000)) {
      txids.push(r.txid)
      entries.add(`${r.dlsn.logSegmentSequenceNo}:${r.dlsn.entryId}`)
    }
    await new Promise((r) => setImmediate(r))
  }
  return {txids, calls, entries}
}

describe('log/reader > read-ahead with the default configuration', () => {
  for (const closeWriter of [false, true]) {
    it(`reads ${ENTRIES} entries of ${RECORDS_PER_ENTRY} records in few round trips and wake-ups (${closeWriter ? 'completed' : 'in-progress'} segment)`, async () => {
      assert.equal(DL_CONFIG_DEFAULTS.readAheadRecordsMax, 10)
      assert.equal(DL_CONFIG_DEFAULTS.prefetchEntriesPerSegment, 4)
      const {w, writer, total} = await writtenLog({closeWriter})
      const before = {...w.ledgers.stats}
      const reader = await (await w.open('reader')).getAsyncLogReader(DLSN.InitialDLSN)
      const got = await readAll(reader, total)
      const requests = w.ledgers.stats.readEntries - before.readEntries
      const longPolls = w.ledgers.stats.longPolls - before.longPolls

      assert.deepEqual(got.txids, Array.from({length: total}, (_, i) => i + 1), 'every record once, in order')
      // The writer's flushes add control-only entries; the user records filled ENTRIES entries.
      assert.equal(got.entries.size, ENTRIES)
      // 4 entries per request would be ~100 requests for the ~400 entries (data and control); the window
      // grows to 32, refilled when half empty: ~16+ entries per request once grown.
      assert.ok(requests + longPolls <= 40, `${requests} read requests and ${longPolls} long polls for ${ENTRIES} entries`)
      // Counting readAheadMaxRecords in records (10) held one entry at a time: one wake-up per entry.
      // In entries, up to 10 entries (1,000 records) wait for each readBulk(1000).
      assert.ok(got.calls <= ENTRIES / 4, `${got.calls} readBulk calls for ${ENTRIES} entries`)
      assert.deepEqual(await reader.readBulk(10, 20), [], 'nothing past the last record')
      await reader.close()
      if (!closeWriter) await writer.close()
    })
  }

  it('a reader that does not read holds at most readAheadMaxRecords entries and the prefetch window', async () => {
    const {w, writer} = await writtenLog({closeWriter: false})
    const reader = await (await w.open('reader')).getAsyncLogReader(DLSN.InitialDLSN)
    const first = await reader.readBulk(1)
    assert.equal(first[0]?.txid, 1)
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    const ahead = reader.takeAvailable(1_000_000)
    // The queue stops once it holds readAheadMaxRecords entries (one more entry may be on its way).
    assert.ok(ahead.length <= (DL_CONFIG_DEFAULTS.readAheadRecordsMax + 1) * RECORDS_PER_ENTRY, `${ahead.length} records held`)
    assert.ok(ahead.length >= RECORDS_PER_ENTRY, `${ahead.length} records held`)
    assert.deepEqual(ahead.map((r) => r.txid), Array.from({length: ahead.length}, (_, i) => i + 2))
    await reader.close()
    await writer.close()
  })

  it('entries of ~1 MB: no read request asks for more than PREFETCH_BYTES_MAX, however far the window grew', async (t) => {
    // Full entries of one record each, no control entries between them (one flush at the end): a reader
    // that keeps reading grows its window to 32 entries, 32 MB if one request filled it.
    const w = world({writerOutputBufferBytes: 1 << 20, immediateFlushEnabled: false, periodicFlushIntervalMs: 0})
    const dlm = await w.open()
    await w.store.createLog('stream-0')
    const writer = await dlm.openAsyncLogWriter()
    const ENTRY_BYTES = 1_000_000
    const RECORDS = 80
    const pending = writer.writeBulk(Array.from({length: RECORDS}, (_, i) => ({txid: i + 1, payload: Buffer.alloc(ENTRY_BYTES, i)})))
    await writer.flush()
    await pending
    // The payload bytes each read request brought back.
    const requestBytes: number[] = []
    const open = w.ledgers.openLedgerNoRecovery.bind(w.ledgers)
    w.ledgers.openLedgerNoRecovery = async (id) => {
      const h = await open(id)
      const read = h.readEntries.bind(h)
      h.readEntries = async (first, last) => {
        const entries = await read(first, last)
        requestBytes.push(entries.reduce((n, e) => n + e.payload.length, 0))
        return entries
      }
      return h
    }
    const reader = await (await w.open('reader')).getAsyncLogReader(DLSN.InitialDLSN)
    t.after(() => reader.close())
    t.after(() => writer.close())
    const got = await readAll(reader, RECORDS)
    assert.deepEqual(got.txids, Array.from({length: RECORDS}, (_, i) => i + 1))
    assert.ok(requestBytes.length > 0)
    for (const bytes of requestBytes) assert.ok(bytes <= PREFETCH_BYTES_MAX, `a request of ${bytes} bytes (all: ${requestBytes.join(', ')})`)
  })
})
