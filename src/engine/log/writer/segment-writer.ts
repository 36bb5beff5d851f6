/**
 * The writer of one log segment (the original's BKLogSegmentWriter): batches records into enveloped
 * entries and appends them to the segment's ledger through a WriteHandle. A record's write resolves with
 * its DLSN (segment sequence number, entry id, slot) once its entry is acknowledged by an ack quorum.
 *
 * Batching and visibility (distributedlog.md §5.2):
 * - user records accumulate in the current entry until their bytes exceed `writerOutputBufferBytes`
 *   (0: every write transmits), and an entry is transmitted before a record would push it over
 *   MAX_LOGRECORDSET_SIZE;
 * - readers only see entries up to the LAC, and the LAC travels on the *next* entry, so after an
 *   acknowledged user entry something must follow it: the periodic flush (`periodicFlushIntervalMs`) and
 *   the immediate flush (`immediateFlushEnabled`, after each acknowledged user entry) transmit buffered
 *   data or, when there is none, a control record; `immediateFlushDelayMinMs` rate-limits both;
 * - control records are never packed with user records: the buffer is transmitted before and after one;
 * - flushAndCommit() (the sync LogWriter's flushAndSync) transmits, waits, then commits with a control
 *   record so everything written is visible; markEndOfStream() writes the end-of-stream record (txid
 *   MAX_TXID) and commits.
 *
 * Errors: the first failed append puts the writer in error. The writes of that entry and of every later
 * transmitted entry fail with BKTransmitError (cause: the ledger error), buffered writes with
 * WriteCancelledError, later writes with BKTransmitError at once. The writer never retries: the log
 * writer above decides to roll to a new segment (`onError` tells it at once).
 *
 * Counters for completing the segment (`counters()`): recordCount (user records), lastTxId, lastDLSN of
 * the last acknowledged user record (its entry and slot are the segment's lastEntryId/lastSlotId).
 * Writes accepted but not acknowledged are bounded (`outstandingWritesMax`) → OverCapacityError.
 */
import type {Clock, TimerHandle} from '../../common/clock.js'
import {errorMessage} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import {LedgerError, LedgerErrorCode, ledgerErrorName} from '../../ledger/errors.js'
import type {WriteHandle} from '../../ledger/types.js'
import type {DistributedLogConfig} from '../config.js'
import {DLSN} from '../dlsn.js'
import {
  BKTransmitError,
  EndOfStreamError,
  LogError,
  OverCapacityError,
  TransactionIdOutOfOrderError,
  WriteCancelledError,
  WriteError,
} from '../errors.js'
import {EnvelopedEntryBuilder} from '../record/enveloped-entry.js'
import {CONTROL_RECORD_PAYLOAD, END_OF_STREAM_PAYLOAD, LOG_RECORD_HEADER_BYTES, LogRecordFlag, recordSizeError} from '../record/log-record.js'
import {LogRecordSetBuilder} from '../record/record-set.js'
import {MAX_TXID, type LogRecord} from '../types.js'

/** Pending (accepted, unacknowledged) writes when the configuration sets no limit (-1). */
export const DEFAULT_OUTSTANDING_WRITES_MAX = 500_000

export type SegmentWriterConfig = Pick<
  DistributedLogConfig,
  | 'writerOutputBufferBytes'
  | 'periodicFlushIntervalMs'
  | 'immediateFlushEnabled'
  | 'immediateFlushDelayMinMs'
  | 'periodicKeepAliveMs'
  | 'compressionType'
  | 'outstandingWritesMax'
  | 'durableWriteEnabled'
>

export interface LogSegmentWriterOptions {
  handle: WriteHandle
  logSegmentSequenceNo: number
  /** The segment's firstTxId: control records carry it until the first user record. */
  startTxId: number
  config: SegmentWriterConfig
  clock: Clock
  logger?: Logger
  /** The log's name, for messages. */
  streamName: string
  /** Called once, when the writer enters the error state. */
  onError?: (error: LogError) => void
}

export interface LogSegmentWriterCounters {
  /** User records written (accepted) in this segment; the segment's recordCount. */
  recordCount: number
  /** Highest position of the last user record accepted (txid of the last user record). */
  lastTxId: number
  lastTxIdAcknowledged: number
  /** DLSN of the last acknowledged user record (InvalidDLSN before the first). */
  lastDLSN: DLSN
  /** Highest entry id acknowledged (user or control), -1 before the first. */
  lastEntryIdAcknowledged: number
  /** Bytes of acknowledged entries. */
  bytesAcknowledged: number
  entriesTransmitted: number
  controlEntriesTransmitted: number
}

/** What an accepted write resolves with once its entry is acknowledged. */
const WriteKind = {
  /** One user record: its DLSN. */
  RECORD: 0,
  /** A record set: one DLSN per slot. */
  RECORD_SET: 1,
  END_OF_STREAM: 2,
  /** A control record: nobody waits for it. */
  CONTROL: 3,
  /** A user write with durableWriteEnabled off: already resolved, only counted. */
  NON_DURABLE: 4,
} as const
type WriteKind = (typeof WriteKind)[keyof typeof WriteKind]

/**
 * One accepted write waiting for its entry. The per-record path allocates this object and the promise
 * only (no closures per record): at hundreds of thousands of records/s, closures and their GC were most
 * of the writer's CPU.
 */
class PendingWrite {
  /** First slot in the entry, set when added. */
  slot = 0
  readonly kind: WriteKind
  readonly slots: number
  readonly promise: Promise<unknown> | undefined
  readonly resolve: ((value: unknown) => void) | undefined
  readonly reject: ((e: unknown) => void) | undefined

  constructor(kind: WriteKind, slots: number, promise?: Promise<unknown>, resolve?: (value: unknown) => void, reject?: (e: unknown) => void) {
    this.kind = kind
    this.slots = slots
    this.promise = promise
    this.resolve = resolve
    this.reject = reject
  }
}

let capturedResolve: (value: unknown) => void = () => {}
let capturedReject: (e: unknown) => void = () => {}
/** A shared promise executor (it runs synchronously inside `new Promise`): no closure per promise. */
function captureSettlers(resolve: (value: unknown) => void, reject: (e: unknown) => void): void {
  capturedResolve = resolve
  capturedReject = reject
}

/** A pending write with a promise its entry's outcome settles. */
function awaitedWrite(kind: WriteKind, slots: number): PendingWrite {
  const promise = new Promise<unknown>(captureSettlers)
  return new PendingWrite(kind, slots, promise, capturedResolve, capturedReject)
}

function ignoreRejection(): void {}

interface Packet {
  writes: PendingWrite[]
  hasUserRecords: boolean
  maxTxId: number
  slotCount: number
  bytes: number
}

export class LogSegmentWriter {
  readonly logSegmentSequenceNo: number
  readonly ledgerId: number
  readonly startTxId: number
  private readonly handle: WriteHandle
  private readonly config: SegmentWriterConfig
  private readonly clock: Clock
  private readonly log: Logger
  private readonly streamName: string
  private readonly onError: ((error: LogError) => void) | undefined
  private readonly outstandingWritesMax: number

  private entry: EnvelopedEntryBuilder
  private entryWrites: PendingWrite[] = []
  private outstandingBytes = 0
  /** Settles (never rejects) once the last transmitted entry's outcome is processed. */
  private lastTransmit: Promise<void> = Promise.resolve()
  private inflightEntries = 0
  private pendingWrites = 0
  private position = 0
  private lastTxIdValue: number
  private lastTxIdAcked: number
  private lastDLSNValue = DLSN.InvalidDLSN
  private lastEntryIdAcked = -1
  private bytesAcked = 0
  private entriesTransmitted = 0
  private controlEntriesTransmitted = 0
  /** The last entry transmitted held user records: it needs a later entry before readers see it. */
  private lastTransmittedHasUser = false
  /** A user entry was acknowledged and nothing has followed it yet. */
  private controlFlushNeeded = false
  private lastTransmitMs: number
  private streamEnded = false
  private closing = false
  private closePromise: Promise<void> | undefined
  private errorValue: LogError | undefined
  private periodicTimer: TimerHandle | undefined
  private delayedFlushTimer: TimerHandle | undefined
  private delayedFlushControlOnly = true

  constructor(opts: LogSegmentWriterOptions) {
    this.handle = opts.handle
    this.ledgerId = opts.handle.ledgerId
    this.logSegmentSequenceNo = opts.logSegmentSequenceNo
    this.startTxId = opts.startTxId
    this.config = opts.config
    this.clock = opts.clock
    this.log = (opts.logger ?? silentLogger).child('segment-writer')
    this.streamName = opts.streamName
    this.onError = opts.onError
    this.outstandingWritesMax = opts.config.outstandingWritesMax > 0 ? opts.config.outstandingWritesMax : DEFAULT_OUTSTANDING_WRITES_MAX
    this.lastTxIdValue = opts.startTxId
    this.lastTxIdAcked = opts.startTxId
    this.lastTransmitMs = this.clock.monotonicMs()
    this.entry = this.newEntry()
    this.schedulePeriodic()
  }

  /** The error that broke this writer, if any. */
  get error(): LogError | undefined {
    return this.errorValue
  }

  get isClosed(): boolean {
    return this.closing
  }

  get lastTxId(): number {
    return this.lastTxIdValue
  }

  /** Bytes of acknowledged entries (counters().bytesAcknowledged without building the counters). */
  get bytesAcknowledged(): number {
    return this.bytesAcked
  }

  /** Entries transmitted and not yet acknowledged. */
  get outstandingEntries(): number {
    return this.inflightEntries
  }

  counters(): LogSegmentWriterCounters {
    return {
      recordCount: this.position,
      lastTxId: this.lastTxIdValue,
      lastTxIdAcknowledged: this.lastTxIdAcked,
      lastDLSN: this.lastDLSNValue,
      lastEntryIdAcknowledged: this.lastEntryIdAcked,
      bytesAcknowledged: this.bytesAcked,
      entriesTransmitted: this.entriesTransmitted,
      controlEntriesTransmitted: this.controlEntriesTransmitted,
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  /** Writes one user record; resolves with its DLSN once durable. Never throws synchronously. */
  write(record: LogRecord): Promise<DLSN> {
    const payload = record.payload
    const rejected = this.checkUserWrite(record.txid, payload.length)
    if (rejected) return Promise.reject(rejected)
    return this.acceptUser(0, record.txid, payload, 1, WriteKind.RECORD, DLSN.InvalidDLSN) as Promise<DLSN>
  }

  /**
   * Writes `payloads` as one record set (one record, one txid, consecutive slots): the cheap way to write
   * many small records. Resolves with one DLSN per payload.
   */
  writeRecordSet(txid: number, payloads: readonly Buffer[]): Promise<DLSN[]> {
    if (payloads.length === 0) return Promise.resolve([])
    let setPayload: Buffer
    try {
      const set = new LogRecordSetBuilder()
      for (const p of payloads) set.add(p)
      setPayload = set.build(this.config.compressionType)
    } catch (e) {
      return Promise.reject(e)
    }
    const rejected = this.checkUserWrite(txid, setPayload.length)
    if (rejected) return Promise.reject(rejected)
    const n = payloads.length
    return this.acceptUser(
      LogRecordFlag.RECORD_SET,
      txid,
      setPayload,
      n,
      WriteKind.RECORD_SET,
      Array.from({length: n}, () => DLSN.InvalidDLSN),
    ) as Promise<DLSN[]>
  }

  private checkUserWrite(txid: number, payloadBytes: number): Error | undefined {
    if (this.closing) return new WriteError(this.streamName, `log segment ${this.logSegmentSequenceNo} writer is closed`)
    if (this.errorValue) {
      return new BKTransmitError(`Trying to write to an errored stream; ${this.errorValue.message}`, bkCodeOf(this.errorValue.cause), {
        cause: this.errorValue,
      })
    }
    if (this.streamEnded) return new EndOfStreamError('Writing to a stream after it has been marked as completed')
    if (!Number.isSafeInteger(txid) || txid < 0 || txid === MAX_TXID) return new TransactionIdOutOfOrderError(txid, undefined)
    const tooLong = recordSizeError(payloadBytes)
    if (tooLong) return tooLong
    if (this.pendingWrites >= this.outstandingWritesMax) {
      return new OverCapacityError(`Log segment ${this.logSegmentSequenceNo} of ${this.streamName} has ${this.pendingWrites} writes pending (limit ${this.outstandingWritesMax})`)
    }
    return undefined
  }

  private acceptUser(flags: number, txid: number, payload: Buffer, slots: number, kind: WriteKind, nonDurable: unknown): Promise<unknown> {
    let out: Promise<unknown>
    let w: PendingWrite
    if (this.config.durableWriteEnabled) {
      w = awaitedWrite(kind, slots)
      out = w.promise as Promise<unknown>
    } else {
      // Non-durable: the original completes with InvalidDLSN at once and forgets the outcome.
      w = new PendingWrite(WriteKind.NON_DURABLE, slots)
      out = Promise.resolve(nonDurable)
    }
    this.pendingWrites++
    if (txid < this.lastTxIdValue) {
      // Within a segment a decrease is only noted (the original logs it); the log writer enforces order.
      this.log.info('TxId decreased', {stream: this.streamName, segment: this.logSegmentSequenceNo, last: this.lastTxIdValue, txid})
    }
    const position = this.position + 1
    this.position += slots
    this.add(flags, position, txid, payload, slots, w)
    this.lastTxIdValue = txid
    this.outstandingBytes += LOG_RECORD_HEADER_BYTES + payload.length
    this.flushIfNeeded()
    return out
  }

  /** Adds to the current entry, transmitting first when the record would not fit. */
  private add(flags: number, position: number, txid: number, payload: Buffer, slots: number, w: PendingWrite): void {
    if (!this.entry.fits(payload.length)) this.transmit()
    w.slot = this.entry.addRecord(flags, position, txid, payload, slots)
    this.entryWrites.push(w)
  }

  /** Settles a write whose entry was acknowledged as `entryId`. */
  private completeWrite(w: PendingWrite, entryId: number): void {
    switch (w.kind) {
      case WriteKind.RECORD:
        this.pendingWrites--
        w.resolve?.(new DLSN(this.logSegmentSequenceNo, entryId, w.slot))
        return
      case WriteKind.RECORD_SET: {
        this.pendingWrites--
        const lssn = this.logSegmentSequenceNo
        const first = w.slot
        w.resolve?.(Array.from({length: w.slots}, (_, i) => new DLSN(lssn, entryId, first + i)))
        return
      }
      case WriteKind.END_OF_STREAM:
        w.resolve?.(new DLSN(this.logSegmentSequenceNo, entryId, w.slot))
        return
      case WriteKind.NON_DURABLE:
        this.pendingWrites--
        return
      case WriteKind.CONTROL:
        return
    }
  }

  /**
   * Fails a write. Its promise is marked handled first: an application that ignores a failed write's
   * promise gets no unhandled rejection (the log writer heals through onError, not through the promise).
   */
  private failWrite(w: PendingWrite, e: Error): void {
    if (w.kind === WriteKind.RECORD || w.kind === WriteKind.RECORD_SET || w.kind === WriteKind.NON_DURABLE) this.pendingWrites--
    if (w.reject === undefined) return
    w.promise?.catch(ignoreRejection)
    w.reject(e)
  }

  private newEntry(): EnvelopedEntryBuilder {
    return new EnvelopedEntryBuilder(this.config.compressionType, Math.max(this.config.writerOutputBufferBytes, 256))
  }

  // ---------------------------------------------------------------------------------------------
  // Transmission

  private flushIfNeeded(): void {
    if (this.outstandingBytes <= this.config.writerOutputBufferBytes) return
    if (this.config.immediateFlushDelayMinMs === 0) this.transmit()
    else this.scheduleDelayedFlush(false)
  }

  /**
   * Sends the current entry, if it has records. Returns a promise settled (never rejected) once its
   * outcome is processed, or undefined when there was nothing to send.
   */
  private transmit(): Promise<void> | undefined {
    if (this.entry.recordCount === 0 || this.errorValue) return undefined
    const entry = this.entry
    const packet: Packet = {writes: this.entryWrites, hasUserRecords: entry.hasUserRecords, maxTxId: entry.maxTxId, slotCount: entry.slotCount, bytes: 0}
    this.entry = this.newEntry()
    this.entryWrites = []
    this.outstandingBytes = 0
    let buf: Buffer
    try {
      buf = entry.build()
    } catch (e) {
      // Building failed (a codec unavailable here): nothing was sent; later writes must not overtake these.
      const err = e instanceof LogError ? e : new WriteError(this.streamName, `Envelope Error: ${errorMessage(e)}`, {cause: e})
      this.enterError(err)
      for (const w of packet.writes) this.failWrite(w, err)
      return undefined
    }
    packet.bytes = buf.length
    this.entriesTransmitted++
    if (!packet.hasUserRecords) this.controlEntriesTransmitted++
    this.lastTransmittedHasUser = packet.hasUserRecords
    this.controlFlushNeeded = false
    this.lastTransmitMs = this.clock.monotonicMs()
    this.inflightEntries++
    const settled = this.handle.append(buf).then(
      (entryId) => this.addComplete(packet, entryId),
      (e: unknown) => this.addFailed(packet, e),
    )
    this.lastTransmit = settled
    return settled
  }

  private addComplete(packet: Packet, entryId: number): void {
    this.inflightEntries--
    if (entryId > this.lastEntryIdAcked) this.lastEntryIdAcked = entryId
    this.bytesAcked += packet.bytes
    if (packet.hasUserRecords) {
      if (packet.maxTxId > this.lastTxIdAcked) this.lastTxIdAcked = packet.maxTxId
      const last = new DLSN(this.logSegmentSequenceNo, entryId, packet.slotCount - 1)
      if (last.compareTo(this.lastDLSNValue) > 0) this.lastDLSNValue = last
      if (!this.errorValue) {
        // Readers see this entry only once a later one carries the LAC past it; completions come in
        // entry order, so entries still in flight were sent after this one.
        this.controlFlushNeeded = this.inflightEntries === 0
        if (this.config.immediateFlushEnabled) {
          if (this.config.immediateFlushDelayMinMs === 0) this.backgroundFlush(true)
          else this.scheduleDelayedFlush(true)
        }
      }
    }
    for (const w of packet.writes) this.completeWrite(w, entryId)
  }

  private addFailed(packet: Packet, e: unknown): void {
    this.inflightEntries--
    const code = bkCodeOf(e)
    const err = new BKTransmitError(`Failed to write to bookkeeper; Error is (${code}) ${ledgerErrorName(code)}: ${errorMessage(e)}`, code, {cause: e})
    this.enterError(err)
    const reason = this.errorValue ?? err
    for (const w of packet.writes) this.failWrite(w, reason)
  }

  private enterError(err: LogError): void {
    if (this.errorValue) return
    this.errorValue = err
    this.log.warn('log segment writer in error', {stream: this.streamName, segment: this.logSegmentSequenceNo, ledgerId: this.ledgerId, error: err.message})
    this.stopTimers()
    this.cancelBuffered(err)
    this.onError?.(err)
  }

  /** Fails the writes still in the buffer (never transmitted). */
  private cancelBuffered(reason: Error): void {
    const writes = this.entryWrites
    this.entryWrites = []
    this.entry = this.newEntry()
    this.outstandingBytes = 0
    for (const w of writes) {
      this.failWrite(w, new WriteCancelledError(`Write cancelled on stream ${this.streamName} (log segment ${this.logSegmentSequenceNo}): ${reason.message}`, {cause: reason}))
    }
  }

  /** A control record in an entry of its own (so it is never packed with user records). */
  private transmitControlRecord(): Promise<void> | undefined {
    this.transmit()
    if (this.errorValue) return undefined
    this.add(LogRecordFlag.CONTROL, this.position, this.lastTxIdValue, CONTROL_RECORD_PAYLOAD, 1, new PendingWrite(WriteKind.CONTROL, 1))
    return this.transmit()
  }

  /**
   * The periodic and immediate flush: send buffered data (unless `controlOnly`) and, when an
   * acknowledged user entry still waits for a follower, make sure one goes out.
   */
  private backgroundFlush(controlOnly: boolean): void {
    if (this.closing || this.errorValue) return
    const newData = this.entry.recordCount > 0
    if (this.controlFlushNeeded || (!controlOnly && newData)) {
      if (newData) this.transmit()
      else this.transmitControlRecord()
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Timers (all on the injected clock)

  private schedulePeriodic(): void {
    const everyMs = this.periodicIntervalMs()
    if (everyMs <= 0 || this.closing || this.errorValue) return
    this.periodicTimer = this.clock.setTimeout(() => {
      this.periodicTimer = undefined
      if (this.config.periodicFlushIntervalMs > 0) this.backgroundFlush(false)
      this.keepAliveIfIdle()
      this.schedulePeriodic()
    }, everyMs)
    this.periodicTimer.unref()
  }

  private periodicIntervalMs(): number {
    const a = this.config.periodicFlushIntervalMs
    const b = this.config.periodicKeepAliveMs
    if (a > 0 && b > 0) return Math.min(a, b)
    return Math.max(a, b)
  }

  private keepAliveIfIdle(): void {
    const everyMs = this.config.periodicKeepAliveMs
    if (everyMs <= 0 || this.closing || this.errorValue) return
    if (this.clock.monotonicMs() - this.lastTransmitMs < everyMs) return
    this.transmitControlRecord()
  }

  private scheduleDelayedFlush(controlOnly: boolean): void {
    this.delayedFlushControlOnly = this.delayedFlushTimer ? this.delayedFlushControlOnly && controlOnly : controlOnly
    if (this.delayedFlushTimer || this.closing) return
    const delayMs = Math.max(0, this.config.immediateFlushDelayMinMs - (this.clock.monotonicMs() - this.lastTransmitMs))
    this.delayedFlushTimer = this.clock.setTimeout(() => {
      this.delayedFlushTimer = undefined
      this.backgroundFlush(this.delayedFlushControlOnly)
    }, delayMs)
    this.delayedFlushTimer.unref()
  }

  private stopTimers(): void {
    if (this.periodicTimer) this.clock.clearTimeout(this.periodicTimer)
    if (this.delayedFlushTimer) this.clock.clearTimeout(this.delayedFlushTimer)
    this.periodicTimer = undefined
    this.delayedFlushTimer = undefined
  }

  // ---------------------------------------------------------------------------------------------
  // Flush, commit, end of stream, close

  /** Transmits what is buffered and waits until every entry transmitted so far is acknowledged. */
  async flush(): Promise<void> {
    if (this.errorValue) throw this.errorValue
    this.transmit()
    await this.lastTransmit
    if (this.errorValue) throw this.errorValue
  }

  /** Makes every acknowledged entry visible to readers: a control record when the last entry needs a follower. */
  async commit(): Promise<void> {
    if (this.errorValue) throw this.errorValue
    const sent = this.transmit()
    if (!sent && this.lastTransmittedHasUser) this.transmitControlRecord()
    await this.lastTransmit
    if (this.errorValue) throw this.errorValue
  }

  /** The sync LogWriter's flushAndSync: everything written so far is durable and visible when this resolves. */
  async flushAndCommit(): Promise<void> {
    await this.flush()
    await this.commit()
  }

  /** Writes the end-of-stream record (txid MAX_TXID) and commits; later writes fail EndOfStreamError. */
  async markEndOfStream(): Promise<DLSN> {
    if (this.closing) throw new WriteError(this.streamName, `log segment ${this.logSegmentSequenceNo} writer is closed`)
    if (this.errorValue) throw this.errorValue
    if (this.streamEnded) throw new EndOfStreamError('Writing to a stream after it has been marked as completed')
    const w = awaitedWrite(WriteKind.END_OF_STREAM, 1)
    const dlsn = w.promise as Promise<DLSN>
    // Not a user record for counting: it keeps the position of the last user record, as in the original.
    this.add(LogRecordFlag.END_OF_STREAM, this.position, MAX_TXID, END_OF_STREAM_PAYLOAD, 1, w)
    this.lastTxIdValue = MAX_TXID
    this.streamEnded = true
    dlsn.catch(ignoreRejection)
    await this.flushAndCommit()
    return dlsn
  }

  /**
   * Flushes and commits what was written, then closes the ledger (its last entry becomes final).
   * Rejects when the flush or the ledger close fails; `error` tells whether the segment can be completed.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose()
    return this.closePromise
  }

  private async doClose(): Promise<void> {
    let failure: unknown
    // No new writes from here; what was accepted is flushed and made visible.
    this.closing = true
    this.stopTimers()
    if (!this.errorValue) {
      try {
        await this.flushAndCommit()
      } catch (e) {
        failure = e
      }
    }
    this.cancelBuffered(this.errorValue ?? new WriteError(this.streamName, 'writer closed'))
    await this.lastTransmit
    try {
      await this.handle.close()
    } catch (e) {
      failure ??= e
    }
    if (failure !== undefined) throw failure
  }

  /** Stops without flushing or closing the ledger (it will be fenced and recovered); buffered writes fail. */
  abort(reason: Error = new WriteError(this.streamName, 'writer aborted')): void {
    this.closing = true
    this.stopTimers()
    this.cancelBuffered(reason)
    this.closePromise ??= Promise.resolve()
  }
}

function bkCodeOf(e: unknown): number {
  if (e instanceof LedgerError) return e.code
  if (e instanceof BKTransmitError) return e.bkResultCode
  return LedgerErrorCode.WRITE_FAILED
}
