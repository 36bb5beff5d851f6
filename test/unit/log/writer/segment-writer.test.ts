import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ManualClock} from '../../../../src/engine/common/clock.js'
import {LedgerError} from '../../../../src/engine/ledger/errors.js'
import {DL_CONFIG_DEFAULTS, type DistributedLogConfig} from '../../../../src/engine/log/config.js'
import {DLSN} from '../../../../src/engine/log/dlsn.js'
import {
  BKTransmitError,
  EndOfStreamError,
  LogRecordTooLongError,
  OverCapacityError,
  TransactionIdOutOfOrderError,
  WriteCancelledError,
  WriteError,
} from '../../../../src/engine/log/errors.js'
import {decodeEntry} from '../../../../src/engine/log/record/enveloped-entry.js'
import {MAX_LOGRECORD_SIZE} from '../../../../src/engine/log/record/log-record.js'
import {MAX_TXID} from '../../../../src/engine/log/types.js'
import {LogSegmentWriter} from '../../../../src/engine/log/writer/segment-writer.js'
import {MemoryLedgers} from '../../../helpers/memory-ledgers.js'

async function setup(over: Partial<DistributedLogConfig> = {}, opts: {ackMode?: 'auto' | 'manual'} = {}) {
  const clock = new ManualClock()
  const ledgers = new MemoryLedgers({clock, ackMode: opts.ackMode ?? 'auto'})
  const handle = await ledgers.createLedger()
  const errors: Error[] = []
  const writer = new LogSegmentWriter({
    handle,
    logSegmentSequenceNo: 7,
    startTxId: 1,
    config: {...DL_CONFIG_DEFAULTS, ...over},
    clock,
    streamName: 'stream-0',
    onError: (e) => errors.push(e),
  })
  const records = () =>
    ledgers.entriesOf(handle.ledgerId).map((e, entryId) => decodeEntry(e, {logSegmentSequenceNo: 7, entryId, startSequenceId: 0}))
  const readableLac = () => ledgers.ledger(handle.ledgerId).readableLac()
  return {clock, ledgers, handle, writer, errors, records, readableLac}
}

const rec = (txid: number, text = `record-${txid}`) => ({txid, payload: Buffer.from(text)})
const settle = () => new Promise((r) => setImmediate(r))

describe('log/writer > LogSegmentWriter', () => {
  it('buffer 0: every write is its own entry, resolving with (segment, entry, slot 0)', async () => {
    const {writer, records} = await setup({writerOutputBufferBytes: 0})
    const dlsns = await Promise.all([writer.write(rec(1)), writer.write(rec(2)), writer.write(rec(3))])
    assert.deepEqual(dlsns, [new DLSN(7, 0, 0), new DLSN(7, 1, 0), new DLSN(7, 2, 0)])
    const rs = records().flat()
    assert.deepEqual(rs.map((r) => [r.txid, r.positionWithinLogSegment, r.payload.toString()]), [
      [1, 1, 'record-1'],
      [2, 2, 'record-2'],
      [3, 3, 'record-3'],
    ])
    assert.equal(writer.counters().recordCount, 3)
    assert.deepEqual(writer.counters().lastDLSN, new DLSN(7, 2, 0))
  })

  it('batches small records into one entry until the buffer threshold, with consecutive slots', async () => {
    const {writer, records, ledgers} = await setup({writerOutputBufferBytes: 1024})
    const ps = Array.from({length: 10}, (_, i) => writer.write(rec(i + 1)))
    await settle()
    assert.equal(ledgers.stats.appends, 0, 'below the threshold nothing is transmitted')
    await writer.flush()
    const dlsns = await Promise.all(ps)
    assert.deepEqual(
      dlsns.map((d) => [d.entryId, d.slotId]),
      Array.from({length: 10}, (_, i) => [0, i]),
    )
    assert.equal(records().length, 1)
    // Past the threshold a write transmits by itself.
    const big = writer.write({txid: 20, payload: Buffer.alloc(1100)})
    assert.deepEqual(await big, new DLSN(7, 1, 0))
  })

  it('the last entry becomes readable only once something follows it; immediate flush sends a control record', async () => {
    const plain = await setup({writerOutputBufferBytes: 0})
    await plain.writer.write(rec(1))
    await settle()
    assert.equal(plain.readableLac(), -1, 'no follower: entry 0 is not visible')

    const imm = await setup({writerOutputBufferBytes: 0, immediateFlushEnabled: true})
    await imm.writer.write(rec(1))
    await settle()
    assert.equal(imm.readableLac(), 0)
    const entries = imm.records()
    assert.equal(entries.length, 2)
    assert.deepEqual(entries[1]!.map((r) => [r.isControl, r.payload.toString()]), [[true, 'control']], 'control record alone in its entry')
    await settle()
    assert.equal(imm.records().length, 2, 'a control entry does not trigger another one')
  })

  it('periodic flush transmits buffered data, then a control record, on the injected clock', async () => {
    const {writer, clock, records, readableLac} = await setup({writerOutputBufferBytes: 64 * 1024, periodicFlushIntervalMs: 10})
    const p = writer.write(rec(1))
    clock.advance(10)
    assert.deepEqual(await p, new DLSN(7, 0, 0))
    await settle()
    assert.equal(readableLac(), -1)
    clock.advance(10)
    await settle()
    assert.equal(readableLac(), 0)
    assert.equal(records()[1]![0]!.isControl, true)
    clock.advance(100)
    await settle()
    assert.equal(records().length, 2, 'idle periodic flushes send nothing')
    await writer.close()
    assert.equal(clock.pendingTimers(), 0)
  })

  it('flushAndCommit makes everything written visible', async () => {
    const {writer, readableLac} = await setup({writerOutputBufferBytes: 64 * 1024})
    const ps = [writer.write(rec(1)), writer.write(rec(2))]
    await writer.flushAndCommit()
    await Promise.all(ps)
    assert.equal(readableLac(), 0)
    await writer.flushAndCommit()
    assert.equal(readableLac(), 0, 'nothing new: no control record needed')
  })

  it('transmits before an entry would pass MAX_LOGRECORDSET_SIZE and rejects oversized records', async () => {
    const {writer, records} = await setup({writerOutputBufferBytes: 4 * 1024 * 1024})
    const ps = [1, 2, 3].map((t) => writer.write({txid: t, payload: Buffer.alloc(400_000, t)}))
    await writer.flush()
    const dlsns = await Promise.all(ps)
    assert.deepEqual(dlsns.map((d) => [d.entryId, d.slotId]), [[0, 0], [0, 1], [1, 0]])
    assert.equal(records().length, 2)
    await assert.rejects(writer.write({txid: 4, payload: Buffer.alloc(MAX_LOGRECORD_SIZE - 19)}), LogRecordTooLongError)
    assert.equal(writer.counters().recordCount, 3)
  })

  it('txids: negative or MAX_TXID are rejected; a decrease within the segment is accepted', async () => {
    const {writer} = await setup({writerOutputBufferBytes: 0})
    await assert.rejects(writer.write(rec(-1)), TransactionIdOutOfOrderError)
    await assert.rejects(writer.write(rec(MAX_TXID)), /The txn id .* is invalid and will break the sequence/)
    await writer.write(rec(10))
    await writer.write(rec(5))
    assert.equal(writer.lastTxId, 5)
  })

  it('a failed append puts the writer in error: that entry fails BKTransmitError with the cause, buffered writes are cancelled, later writes fail', async () => {
    const {writer, ledgers, errors} = await setup({writerOutputBufferBytes: 0}, {ackMode: 'manual'})
    const ok = writer.write(rec(1))
    ledgers.failAppends()
    const failing = writer.write(rec(2))
    const after = writer.write(rec(3))
    ledgers.ackAll()
    assert.deepEqual(await ok, new DLSN(7, 0, 0))
    const e = await failing.then(
      () => assert.fail('should fail'),
      (x: unknown) => x,
    )
    assert.ok(e instanceof BKTransmitError)
    assert.ok(e.cause instanceof LedgerError)
    assert.match(e.message, /Failed to write to bookkeeper; Error is \(-12\) WriteException/)
    await assert.rejects(after, BKTransmitError)
    await assert.rejects(writer.write(rec(4)), /Trying to write to an errored stream/)
    assert.equal(errors.length, 1)
    assert.ok(writer.error)
    await assert.rejects(writer.flush(), BKTransmitError)
  })

  it('buffered writes are cancelled (WriteCancelledError) when an earlier entry fails', async () => {
    const {writer, ledgers} = await setup({writerOutputBufferBytes: 64 * 1024}, {ackMode: 'manual'})
    const first = writer.write(rec(1))
    void writer.flush().catch(() => {})
    const buffered = writer.write(rec(2))
    ledgers.failNextPending()
    await assert.rejects(first, BKTransmitError)
    await assert.rejects(buffered, WriteCancelledError)
  })

  it('fencing by a new writer fails the outstanding writes', async () => {
    const {writer, ledgers, handle} = await setup({writerOutputBufferBytes: 0}, {ackMode: 'manual'})
    const p = writer.write(rec(1))
    ledgers.fence(handle.ledgerId)
    const e = await p.then(() => assert.fail('should fail'), (x: unknown) => x)
    assert.ok(e instanceof BKTransmitError)
    assert.equal(e.bkResultCode, -101)
  })

  it('bounds pending writes (OverCapacityError) and frees room as acks arrive', async () => {
    const {writer, ledgers} = await setup({writerOutputBufferBytes: 0, outstandingWritesMax: 2}, {ackMode: 'manual'})
    const a = writer.write(rec(1))
    const b = writer.write(rec(2))
    await assert.rejects(writer.write(rec(3)), OverCapacityError)
    ledgers.ackNext(1)
    await a
    const c = writer.write(rec(3))
    ledgers.ackAll()
    await b
    await settle()
    ledgers.ackAll()
    assert.deepEqual(await c, new DLSN(7, 2, 0))
  })

  it('markEndOfStream writes the EOS record (txid MAX) and commits; later writes fail EndOfStreamError', async () => {
    const {writer, records, readableLac} = await setup({writerOutputBufferBytes: 0})
    await writer.write(rec(1))
    const eos = await writer.markEndOfStream()
    assert.deepEqual(eos, new DLSN(7, 1, 0))
    const last = records()[1]![0]!
    assert.equal(last.isEndOfStream, true)
    assert.equal(last.txid, MAX_TXID)
    assert.equal(last.positionWithinLogSegment, 1)
    assert.equal(readableLac(), 1, 'the EOS entry is visible')
    await assert.rejects(writer.write(rec(2)), EndOfStreamError)
    assert.equal(writer.counters().lastTxId, MAX_TXID)
    assert.equal(writer.counters().recordCount, 1)
  })

  it('record sets take consecutive slots and positions', async () => {
    const {writer, records} = await setup({writerOutputBufferBytes: 0})
    await writer.write(rec(1))
    const dlsns = await writer.writeRecordSet(2, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])
    assert.deepEqual(dlsns, [new DLSN(7, 1, 0), new DLSN(7, 1, 1), new DLSN(7, 1, 2)])
    assert.deepEqual(records()[1]!.map((r) => [r.payload.toString(), r.positionWithinLogSegment, r.sequenceId]), [
      ['a', 2, 1],
      ['b', 3, 2],
      ['c', 4, 3],
    ])
    assert.equal(writer.counters().recordCount, 4)
    assert.deepEqual(writer.counters().lastDLSN, new DLSN(7, 1, 2))
  })

  it('close flushes, commits and closes the ledger; later writes fail WriteError', async () => {
    const {writer, ledgers, handle} = await setup({writerOutputBufferBytes: 64 * 1024})
    const p = writer.write(rec(1))
    await writer.close()
    assert.deepEqual(await p, new DLSN(7, 0, 0))
    const md = (await ledgers.getLedgerMetadata(handle.ledgerId)).value
    assert.equal(md.state, 'CLOSED')
    assert.equal(md.lastEntryId, 1, 'user entry and its commit')
    await assert.rejects(writer.write(rec(2)), WriteError)
  })

  it('non-durable writes resolve with InvalidDLSN at once', async () => {
    const {writer} = await setup({writerOutputBufferBytes: 64 * 1024, durableWriteEnabled: false})
    assert.deepEqual(await writer.write(rec(1)), DLSN.InvalidDLSN)
    await writer.close()
  })

  it('lz4 entries decode to the same records', async () => {
    const {writer, records} = await setup({writerOutputBufferBytes: 64 * 1024, compressionType: 'lz4'})
    const ps = Array.from({length: 50}, (_, i) => writer.write(rec(i + 1, 'same text again and again '.repeat(4))))
    await writer.flush()
    await Promise.all(ps)
    assert.equal(records()[0]!.length, 50)
  })
})
