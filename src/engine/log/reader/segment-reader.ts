/**
 * The reader of one log segment (the original's BKLogSegmentEntryReader): reads the segment's ledger
 * through a ReadHandle from a start entry, keeps a bounded number of entries prefetched, and hands out
 * their records as LogRecordWithDLSN, in order.
 *
 * - It never reads past the LAC (invariant 2): a completed segment is read to its lastEntryId, an
 *   in-progress one only up to the LAC the handle knows.
 * - Caught up on an in-progress segment, it tails with ReadHandle.readLastAddConfirmedAndEntry
 *   (`readLACLongPollTimeoutMs`): the bookie answers as soon as the LAC reaches the next entry. A long
 *   poll that times out is simply issued again; one that returns early without progress is followed by a
 *   short pause, so a misbehaving handle can never make the reader spin.
 * - Read-ahead: one read request at a time covers what is readable, up to the room in a window that
 *   starts at numPrefetchEntriesPerLogSegment and grows to maxPrefetchEntriesPerLogSegment while the
 *   consumer keeps reading (see `window`); held entries are also bounded by PREFETCH_BYTES_MAX.
 * - Records: control records are dropped, record sets are expanded (one record per slot), positions and
 *   sequence ids come from the segment's startSequenceId; records before `startDLSN` are skipped. The
 *   end-of-stream record is returned like a record (isEndOfStream) for the log reader to act on.
 * - End of segment: once a completed segment's (or closed ledger's) last entry was handed out, readNext()
 *   resolves `null`. The log reader calls `markCompleted(lastEntryId)` when the segment's metadata turns
 *   completed while this reader tails it.
 * - Failures: a retriable ledger read error is retried a bounded number of times with backoff; after that,
 *   or on an undecodable entry, the reader is in error: the entries it already holds are handed out,
 *   then every read rejects with the error. A read or long poll that fails because markCompleted
 *   replaced (and closed) its handle is simply issued again on the new one. close() rejects pending
 *   reads with ReadCancelledError.
 *
 * Also here: positioning helpers over a segment (first record with txid >= T, by binary search over
 * entries).
 */
import {type Clock, type TimerHandle, systemClock} from '../../common/clock.js'
import {DlogError, errorMessage} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import type {LedgerEntry, ReadHandle} from '../../ledger/types.js'
import type {DistributedLogConfig} from '../config.js'
import type {DLSN} from '../dlsn.js'
import {LogReadError, ReadCancelledError} from '../errors.js'
import {decodeEntry} from '../record/enveloped-entry.js'
import {MAX_LOGRECORDSET_SIZE} from '../record/log-record.js'
import type {LogRecordWithDLSN, LogSegmentMetadata} from '../types.js'

export type SegmentReaderConfig = Pick<
  DistributedLogConfig,
  'readLACLongPollTimeoutMs' | 'prefetchEntriesPerSegment' | 'prefetchEntriesPerSegmentMax' | 'readAheadBatchEntries'
>

/**
 * Bytes of entry payloads a segment reader holds decoded, whatever the configuration says: with
 * maxPrefetchEntriesPerLogSegment (entries), the bound on its memory. A request asks for no more entries
 * than the bytes left hold at the size of the largest recent entry (at least one entry), so it overshoots
 * only when entries grow.
 */
export const PREFETCH_BYTES_MAX = 8 * 1024 * 1024

/** Attempts of one read before the reader gives up (retriable ledger errors only). */
const READ_ATTEMPTS_MAX = 4
const RETRY_BACKOFF_MS = 100

export interface LogSegmentEntryReaderOptions {
  handle: ReadHandle
  segment: Pick<LogSegmentMetadata, 'logSegmentSequenceNo' | 'startSequenceId' | 'inprogress' | 'lastEntryId'>
  /** First entry to read (default 0, or startDLSN's entry when given for this segment). */
  startEntryId?: number
  /** Records before this position are skipped. */
  startDLSN?: DLSN
  config: SegmentReaderConfig
  clock?: Clock
  logger?: Logger
}

interface Waiter {
  resolve: (records: LogRecordWithDLSN[] | null) => void
  reject: (e: Error) => void
}

export class LogSegmentEntryReader {
  readonly logSegmentSequenceNo: number
  private handle: ReadHandle
  private readonly startSequenceId: number
  private readonly startDLSN: DLSN | undefined
  private readonly config: SegmentReaderConfig
  private readonly clock: Clock
  private readonly log: Logger
  /** Last entry of the segment once known (completed segment or closed ledger). */
  private lastEntryId: number | undefined
  private nextEntryId: number
  /** Decoded entries waiting for the consumer (only entries with records), with their payload bytes. */
  private readonly cache: {records: LogRecordWithDLSN[]; bytes: number}[] = []
  private cachedBytes = 0
  /**
   * The read-ahead window: entries cached plus being read. It starts at numPrefetchEntriesPerLogSegment
   * and doubles, up to maxPrefetchEntriesPerLogSegment, each time the consumer has taken half a window
   * (sequential read-ahead). A fixed window of 4 entries meant one round trip per 4 entries, which cannot
   * follow a writer of ~1,300 entries/s once a round trip takes 3 ms. The consumer is the log reader,
   * which itself queues up to readAheadMaxRecords entries, so even an application that stops reading
   * widens the window that far (16 entries with the defaults) before everything stops.
   */
  private window: number
  private consumedSinceGrowth = 0
  /**
   * Payload bytes of the largest recent entry (halved at each read that found only smaller ones): what a
   * request expects each entry to cost against PREFETCH_BYTES_MAX. Before any read, an entry's largest
   * size: a window of 32 entries of 1 MiB would otherwise be read at once.
   */
  private entryBytesEstimate = MAX_LOGRECORDSET_SIZE
  private readonly waiters: Waiter[] = []
  private fetching = false
  private ended = false
  private closed = false
  private errorValue: Error | undefined
  private pauseTimer: TimerHandle | undefined
  private readonly statsValue = {entriesRead: 0, readRequests: 0, longPolls: 0, longPollsWithoutProgress: 0, retries: 0}

  constructor(opts: LogSegmentEntryReaderOptions) {
    this.handle = opts.handle
    this.logSegmentSequenceNo = opts.segment.logSegmentSequenceNo
    this.startSequenceId = opts.segment.startSequenceId
    this.startDLSN = opts.startDLSN?.logSegmentSequenceNo === this.logSegmentSequenceNo ? opts.startDLSN : undefined
    this.config = opts.config
    this.clock = opts.clock ?? systemClock
    this.log = (opts.logger ?? silentLogger).child('segment-reader')
    this.lastEntryId = opts.segment.inprogress ? undefined : opts.segment.lastEntryId
    this.nextEntryId = Math.max(0, opts.startEntryId ?? this.startDLSN?.entryId ?? 0)
    this.window = this.windowMin()
  }

  get error(): Error | undefined {
    return this.errorValue
  }

  /** True once every entry of a completed segment was handed out. */
  get isEndOfSegment(): boolean {
    return this.ended && this.cache.length === 0
  }

  /** The next entry this reader will fetch. */
  get position(): number {
    return this.nextEntryId
  }

  stats(): Readonly<typeof this.statsValue> {
    return {...this.statsValue}
  }

  /** Starts prefetching (readNext also does). */
  start(): void {
    this.pump()
  }

  /**
   * The records of the next entry that has any (at least one), or null at the end of a completed
   * segment. Waits while the segment is in progress and caught up.
   */
  readNext(): Promise<LogRecordWithDLSN[] | null> {
    if (this.closed) return Promise.reject(new ReadCancelledError('Reader was closed'))
    // Entries read before a failure are still good: they go out first, then the failure (serve()).
    if (this.errorValue && this.cache.length === 0) return Promise.reject(this.errorValue)
    // A consumer that keeps reading widens the window: doubled each time it took half a window.
    if (++this.consumedSinceGrowth >= this.window >> 1 && this.window < this.windowMax()) {
      this.window = Math.min(this.windowMax(), this.window * 2)
      this.consumedSinceGrowth = 0
    }
    const p = new Promise<LogRecordWithDLSN[] | null>((resolve, reject) => this.waiters.push({resolve, reject}))
    this.serve()
    this.pump()
    return p
  }

  /**
   * The segment was completed (metadata) while this reader tails it: stop at `lastEntryId`. Pass a
   * handle reopened on the now closed ledger when this reader's handle may not learn the closing itself
   * (its LAC can stay one entry short of the last).
   */
  markCompleted(lastEntryId: number, reopened?: ReadHandle): void {
    if (reopened && reopened !== this.handle) {
      void this.handle.close().catch(() => {})
      this.handle = reopened
    }
    this.lastEntryId ??= lastEntryId
    this.pump()
  }

  /** Pending and later reads fail with ReadCancelledError; an outstanding long poll is ignored. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.pauseTimer) this.clock.clearTimeout(this.pauseTimer)
    const err = new ReadCancelledError('Reader was closed')
    for (const w of this.waiters.splice(0)) w.reject(err)
    await this.handle.close().catch(() => {})
  }

  // ---------------------------------------------------------------------------------------------

  private serve(): void {
    while (this.waiters.length > 0) {
      const next = this.cache.shift()
      if (next) {
        this.cachedBytes -= next.bytes
        this.waiters.shift()!.resolve(next.records)
        continue
      }
      if (this.errorValue) {
        for (const w of this.waiters.splice(0)) w.reject(this.errorValue)
      } else if (this.ended) {
        for (const w of this.waiters.splice(0)) w.resolve(null)
      }
      return
    }
  }

  private fail(e: unknown): void {
    this.errorValue =
      e instanceof DlogError
        ? e
        : new LogReadError(`Failed to read log segment ${this.logSegmentSequenceNo} (ledger ${this.handle.ledgerId}): ${errorMessage(e)}`, {cause: e})
    this.serve()
  }

  /** The highest entry that may be read now: never past the LAC the handle knows, nor past the segment's end. */
  private readableBound(): number {
    if (this.handle.isClosed) this.lastEntryId ??= this.handle.lastAddConfirmed
    const lac = this.handle.isClosed ? Number.MAX_SAFE_INTEGER : this.handle.lastAddConfirmed
    return Math.min(this.lastEntryId ?? lac, lac)
  }

  private windowMax(): number {
    return Math.max(1, this.config.prefetchEntriesPerSegmentMax)
  }

  private windowMin(): number {
    return Math.min(this.windowMax(), Math.max(1, this.config.prefetchEntriesPerSegment, this.config.readAheadBatchEntries))
  }

  private pump(): void {
    if (this.fetching || this.closed || this.errorValue || this.ended || this.pauseTimer) return
    // Memory bound: at most `window` (<= maxPrefetchEntriesPerLogSegment) entries and PREFETCH_BYTES_MAX
    // bytes held; a waiting consumer still gets its next entry when the cache is empty.
    if (this.cache.length >= this.window || (this.cachedBytes >= PREFETCH_BYTES_MAX && this.cache.length > 0)) return
    // Refill once the window is half empty, so a consumer taking one entry at a time does not turn the
    // read-ahead into one-entry requests.
    if (this.cache.length > this.window >> 1) return
    const bound = this.readableBound()
    if (this.lastEntryId !== undefined && this.nextEntryId > this.lastEntryId) {
      this.ended = true
      this.serve()
      return
    }
    this.fetching = true
    if (this.nextEntryId <= bound) {
      // One request for what is readable, up to the room left in the window (the handle reads its
      // entries from the bookies in parallel): a reader behind the writer catches up in few round trips.
      const bytesRoom = Math.max(1, Math.floor((PREFETCH_BYTES_MAX - this.cachedBytes) / Math.max(1, this.entryBytesEstimate)))
      const count = Math.min(bound - this.nextEntryId + 1, this.window - this.cache.length, bytesRoom)
      void this.readRange(this.nextEntryId, this.nextEntryId + count - 1)
    } else {
      void this.longPoll(this.nextEntryId)
    }
  }

  private async readRange(first: number, last: number): Promise<void> {
    let entries: LedgerEntry[] | undefined
    for (let attempt = 1; entries === undefined; attempt++) {
      const handle = this.handle
      try {
        this.statsValue.readRequests++
        entries = await handle.readEntries(first, last)
      } catch (e) {
        if (this.closed) return
        // Read on a handle markCompleted has since replaced (and closed): read again on the new one.
        if (handle !== this.handle) {
          this.fetching = false
          this.pump()
          return
        }
        if (!(e instanceof DlogError && e.retriable) || attempt >= READ_ATTEMPTS_MAX) {
          this.fetching = false
          this.fail(e)
          return
        }
        this.statsValue.retries++
        this.log.debug('retrying segment read', {segment: this.logSegmentSequenceNo, first, last, attempt, error: errorMessage(e)})
        await new Promise<void>((r) => this.clock.setTimeout(r, RETRY_BACKOFF_MS * attempt).unref())
        if (this.closed) return
        // The ledger may have closed below the range (a read begun on a LAC past its final end fails
        // retriable when the close is learned): retry only what is still readable, or none of it.
        last = Math.min(last, this.readableBound())
        if (first > last) {
          this.fetching = false
          this.pump()
          return
        }
      }
    }
    this.fetching = false
    if (this.closed) return
    this.noteEntrySizes(entries)
    for (const entry of entries) {
      if (!this.accept(entry)) return
    }
    this.serve()
    this.pump()
  }

  private async longPoll(entryId: number): Promise<void> {
    const startedMs = this.clock.monotonicMs()
    const handle = this.handle
    const lacBefore = handle.lastAddConfirmed
    let result: {lac: number; entry?: LedgerEntry}
    try {
      this.statsValue.longPolls++
      result = await handle.readLastAddConfirmedAndEntry(entryId, this.config.readLACLongPollTimeoutMs)
    } catch (e) {
      this.fetching = false
      if (this.closed) return
      // markCompleted replaced the handle (closing this one ends its poll): go on with the new one.
      if (handle !== this.handle) {
        this.pump()
        return
      }
      if (e instanceof DlogError && e.retriable) {
        // A failed poll is retried after a pause rather than at once.
        this.statsValue.retries++
        this.pause(RETRY_BACKOFF_MS)
        return
      }
      this.fail(e)
      return
    }
    this.fetching = false
    if (this.closed) return
    if (result.entry && result.entry.entryId === entryId) {
      this.noteEntrySizes([result.entry])
      if (!this.accept(result.entry)) return
      this.serve()
    } else if (result.lac <= lacBefore && !this.handle.isClosed) {
      // No progress. A poll that waited its time is normal tailing; one that came back early is not.
      const elapsedMs = this.clock.monotonicMs() - startedMs
      if (elapsedMs < this.config.readLACLongPollTimeoutMs / 2) {
        this.statsValue.longPollsWithoutProgress++
        this.pause(Math.max(10, Math.min(RETRY_BACKOFF_MS, this.config.readLACLongPollTimeoutMs / 10)))
        return
      }
    }
    this.pump()
  }

  private pause(ms: number): void {
    this.pauseTimer = this.clock.setTimeout(() => {
      this.pauseTimer = undefined
      this.pump()
    }, ms)
    this.pauseTimer.unref()
  }

  private noteEntrySizes(entries: readonly LedgerEntry[]): void {
    let largest = 0
    for (const e of entries) largest = Math.max(largest, e.payload.length)
    this.entryBytesEstimate = Math.max(largest, this.entryBytesEstimate >> 1)
  }

  /** Decodes one entry into the cache; false (reader in error) on an undecodable entry. */
  private accept(entry: LedgerEntry): boolean {
    if (entry.entryId !== this.nextEntryId) {
      this.fail(new LogReadError(`log segment ${this.logSegmentSequenceNo}: expected entry ${this.nextEntryId}, got ${entry.entryId}`))
      return false
    }
    let records: LogRecordWithDLSN[]
    try {
      records = decodeEntry(entry.payload, {logSegmentSequenceNo: this.logSegmentSequenceNo, entryId: entry.entryId, startSequenceId: this.startSequenceId})
    } catch (e) {
      this.fail(
        new LogReadError(`Corrupt entry ${entry.entryId} of log segment ${this.logSegmentSequenceNo} (ledger ${this.handle.ledgerId}): ${errorMessage(e)}`, {
          cause: e,
        }),
      )
      return false
    }
    this.nextEntryId = entry.entryId + 1
    this.statsValue.entriesRead++
    const start = this.startDLSN
    const visible = records.filter((r) => !r.isControl && (start === undefined || r.dlsn.compareTo(start) >= 0))
    if (visible.length > 0) {
      this.cache.push({records: visible, bytes: entry.payload.length})
      this.cachedBytes += entry.payload.length
    }
    return true
  }
}

/**
 * The first user record with txid >= `txid` in a segment readable through `handle` up to `lastEntryId`
 * (its LAC for an in-progress segment), or undefined when every record is below it. Txids are
 * non-decreasing within a segment, so this binary-searches entries by their last user record and then
 * scans the one entry found: O(log entries) reads.
 */
export async function findFirstRecordWithTxIdAtLeast(
  handle: ReadHandle,
  segment: Pick<LogSegmentMetadata, 'logSegmentSequenceNo' | 'startSequenceId'>,
  lastEntryId: number,
  txid: number,
): Promise<LogRecordWithDLSN | undefined> {
  const decoded = new Map<number, LogRecordWithDLSN[]>()
  const userRecords = async (entryId: number): Promise<LogRecordWithDLSN[]> => {
    const known = decoded.get(entryId)
    if (known) return known
    const [entry] = await handle.readEntries(entryId, entryId)
    if (!entry) throw new LogReadError(`ledger ${handle.ledgerId} returned no entry ${entryId}`)
    let records: LogRecordWithDLSN[]
    try {
      records = decodeEntry(entry.payload, {logSegmentSequenceNo: segment.logSegmentSequenceNo, entryId, startSequenceId: segment.startSequenceId})
    } catch (e) {
      throw new LogReadError(`Corrupt entry ${entryId} of log segment ${segment.logSegmentSequenceNo}: ${errorMessage(e)}`, {cause: e})
    }
    const user = records.filter((r) => !r.isControl)
    decoded.set(entryId, user)
    return user
  }
  // The first entry at or after `from` holding user records (control-only entries carry no txid).
  const firstWithRecords = async (from: number): Promise<{entryId: number; records: LogRecordWithDLSN[]} | undefined> => {
    for (let e = from; e <= lastEntryId; e++) {
      const records = await userRecords(e)
      if (records.length > 0) return {entryId: e, records}
    }
    return undefined
  }
  // g(e) = last txid of firstWithRecords(e) is non-decreasing in e; find the smallest e with g(e) >= txid.
  let lo = 0
  let hi = lastEntryId + 1
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2)
    const hit = await firstWithRecords(mid)
    const lastTxId = hit?.records[hit.records.length - 1]?.txid
    if (hit === undefined || (lastTxId !== undefined && lastTxId >= txid)) hi = mid
    else lo = hit.entryId + 1
  }
  const found = await firstWithRecords(lo)
  return found?.records.find((r) => r.txid >= txid)
}

/** Records at or after `start` (the first entry read from a DLSN may begin before it). */
export function skipBefore(records: readonly LogRecordWithDLSN[], start: DLSN): LogRecordWithDLSN[] {
  return records.filter((r) => r.dlsn.compareTo(start) >= 0)
}
