/**
 * The two seams between the log-level writer/reader and one log segment: SegmentWriterPort (batching
 * records into enveloped entries on one ledger WriteHandle, commits with control records, end of stream,
 * counters) and SegmentReaderPort (entries of one segment, up to its lastEntryId once completed, up to
 * the LAC with long polls while in progress, decoded to records).
 *
 * They adapt writer/segment-writer.ts (LogSegmentWriter) and reader/segment-reader.ts
 * (LogSegmentEntryReader) to what the log-level writer and reader need.
 */
import type {Clock} from '../common/clock.js'
import type {Logger} from '../common/logger.js'
import type {LedgerClientApi, ReadHandle, WriteHandle} from '../ledger/types.js'
import type {DistributedLogConfig} from './config.js'
import type {DLSN} from './dlsn.js'
import {ReadCancelledError} from './errors.js'
import {LogSegmentEntryReader} from './reader/segment-reader.js'
import {LogSegmentWriter} from './writer/segment-writer.js'
import {type LogRecord, type LogRecordWithDLSN, type LogSegmentMetadata} from './types.js'

export interface SegmentCounters {
  lastTxId: number
  lastEntryId: number
  lastSlotId: number
  recordCount: number
}

export interface SegmentWriterPort {
  write(record: LogRecord): Promise<DLSN>
  /** Transmits what is buffered, waits for it, then commits (control record) so readers see it. */
  flushAndCommit(): Promise<void>
  /** Writes the end-of-stream record and commits. */
  markEndOfStream(): Promise<DLSN>
  /** flushAndCommit, then closes the ledger; the counters of the acknowledged user records. */
  close(): Promise<SegmentCounters>
  /** Fails everything pending with WriteCancelledError; leaves the ledger for recovery to fence. */
  abort(): Promise<void>
  /** Bytes of user records accepted (the size-based rolling measure). */
  readonly bytesWritten: number
  /** The storage error that broke this segment writer, once one did. */
  readonly failure: Error | undefined
}

export interface SegmentWriterArgs {
  handle: WriteHandle
  segment: LogSegmentMetadata
  config: DistributedLogConfig
  clock: Clock
  logger: Logger
  logName: string
  /** Called once when the segment writer enters its error state (so the log writer heals at once). */
  onError?: (e: Error) => void
}

/** The port over log/writer/segment-writer.ts (H7's LogSegmentWriter). */
class SegmentWriterAdapter implements SegmentWriterPort {
  private readonly w: LogSegmentWriter
  private endOfStreamDLSN: DLSN | undefined

  constructor(a: SegmentWriterArgs) {
    this.w = new LogSegmentWriter({
      handle: a.handle,
      logSegmentSequenceNo: a.segment.logSegmentSequenceNo,
      startTxId: a.segment.firstTxId,
      config: a.config,
      clock: a.clock,
      logger: a.logger,
      streamName: a.logName,
      onError: a.onError,
    })
  }

  get bytesWritten(): number {
    return this.w.bytesAcknowledged
  }

  get failure(): Error | undefined {
    return this.w.error
  }

  write(record: LogRecord): Promise<DLSN> {
    return this.w.write(record)
  }

  flushAndCommit(): Promise<void> {
    return this.w.flushAndCommit()
  }

  async markEndOfStream(): Promise<DLSN> {
    this.endOfStreamDLSN = await this.w.markEndOfStream()
    return this.endOfStreamDLSN
  }

  async close(): Promise<SegmentCounters> {
    await this.w.close()
    const c = this.w.counters()
    // The end-of-stream record is the segment's last record: readers of the completed segment must reach it.
    const last = this.endOfStreamDLSN ?? c.lastDLSN
    return {lastTxId: c.lastTxId, lastEntryId: last.entryId, lastSlotId: last.slotId, recordCount: c.recordCount}
  }

  async abort(): Promise<void> {
    this.w.abort()
    await Promise.resolve()
  }
}

export function openSegmentWriter(args: SegmentWriterArgs): SegmentWriterPort {
  return new SegmentWriterAdapter(args)
}

// ---------------------------------------------------------------------------------------------------
// Reading one segment.

export interface SegmentReaderPort {
  /**
   * The records (control ones included) of the next entries. While the segment is in progress and the
   * reader is caught up, waits up to the long-poll bound and may resolve with []. Resolves undefined once
   * a completed segment has been read through its lastEntryId.
   */
  readNext(): Promise<LogRecordWithDLSN[] | undefined>
  /** The segment was completed: read through `meta.lastEntryId`, then end. */
  complete(meta: LogSegmentMetadata): void
  /** The highest entry id known readable (for idle detection). */
  readonly lastAddConfirmed: number
  readonly nextEntryId: number
  close(): Promise<void>
}

export interface SegmentReaderArgs {
  ledgers: LedgerClientApi
  segment: LogSegmentMetadata
  /** Entry to start at. */
  startEntryId: number
  config: DistributedLogConfig
  clock: Clock
}

/** The port over reader/segment-reader.ts (LogSegmentEntryReader: bounded prefetch, long polls, retries). */
class SegmentReaderAdapter implements SegmentReaderPort {
  private readonly a: SegmentReaderArgs
  private handle: ReadHandle | undefined
  private reader: LogSegmentEntryReader | undefined
  private opening: Promise<LogSegmentEntryReader> | undefined
  private completedLastEntryId: number | undefined
  private closed = false

  constructor(a: SegmentReaderArgs) {
    this.a = a
  }

  get lastAddConfirmed(): number {
    return this.completedLastEntryId ?? this.handle?.lastAddConfirmed ?? -1
  }

  get nextEntryId(): number {
    return this.reader?.position ?? this.a.startEntryId
  }

  private open(): Promise<LogSegmentEntryReader> {
    this.opening ??= (async () => {
      const handle = await this.a.ledgers.openLedgerNoRecovery(this.a.segment.ledgerId)
      if (this.closed) {
        // Closed while the ledger opened: nobody will close a reader created now (it would long-poll forever).
        await handle.close().catch(() => undefined)
        throw new ReadCancelledError('Reader was closed')
      }
      this.handle = handle
      this.reader = new LogSegmentEntryReader({handle: this.handle, segment: this.a.segment, startEntryId: this.a.startEntryId, config: this.a.config, clock: this.a.clock})
      if (this.completedLastEntryId !== undefined) this.markCompleted(this.completedLastEntryId)
      return this.reader
    })()
    return this.opening
  }

  async readNext(): Promise<LogRecordWithDLSN[] | undefined> {
    if (this.closed) throw new ReadCancelledError('Reader was closed')
    const r = await this.open()
    return (await r.readNext()) ?? undefined
  }

  complete(meta: LogSegmentMetadata): void {
    this.completedLastEntryId = meta.lastEntryId
    if (this.reader !== undefined) this.markCompleted(meta.lastEntryId)
  }

  /** A handle opened on the now-closed ledger knows its last entry even if ours missed the close. */
  private markCompleted(lastEntryId: number): void {
    void this.a.ledgers.openLedgerNoRecovery(this.a.segment.ledgerId).then(
      (h) => {
        if (this.closed) void h.close().catch(() => undefined)
        else this.reader?.markCompleted(lastEntryId, h)
      },
      () => this.reader?.markCompleted(lastEntryId),
    )
  }

  async close(): Promise<void> {
    this.closed = true
    await this.reader?.close()
    await this.handle?.close().catch(() => undefined)
  }
}

export function openSegmentReader(args: SegmentReaderArgs): SegmentReaderPort {
  return new SegmentReaderAdapter(args)
}
