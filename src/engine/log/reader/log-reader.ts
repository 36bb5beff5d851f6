/**
 * The log readers applications hold: AsyncLogReader (readNext / readBulk resolve when records arrive,
 * tailing forever) and the synchronous-style LogReader over it (readNext(nonBlocking) returns null when
 * caught up). Readers take no lock; any number may read one log.
 *
 * A reader follows the log's segment list through store.watchLogSegments and reads one segment at a
 * time through a SegmentReaderPort: a completed segment through its lastEntryId, an in-progress one up
 * to the LAC with long polls (never past it), moving on when the segment completes. It returns only user
 * records with DLSN >= its position, in order, each with its sequence id (segment startSequenceId +
 * position - 1). Control records are never returned; the end-of-stream record ends the reader with
 * EndOfStreamError after every record before it.
 *
 * Positioning: by DLSN (first record at or after it) or by txid (first record with txid >= T: a binary
 * search over segments by lastTxId, then over the entries of the segment, then a txid filter).
 * Truncation: a position inside a TRUNCATED segment is AlreadyTruncatedError (unless
 * ignoreTruncationStatus); a PARTIALLY_TRUNCATED segment, or an in-progress one whose minActiveDLSN was
 * moved by truncate(), is skipped forward to its minActiveDLSN.
 *
 * Idle detection (the original's silent stall, distributedlog.md §10 #4): a timer checks that when data
 * exists beyond the reader's position, the reader made progress within readerIdleWarnThresholdMs (else a
 * warning) and readerIdleErrorThresholdMs (else the reader fails with IdleReaderError).
 */
import type {TimerHandle} from '../../common/clock.js'
import type {Logger} from '../../common/logger.js'
import {DLSN} from '../dlsn.js'
import {AlreadyTruncatedError, EndOfStreamError, IdleReaderError, LogError, ReadCancelledError} from '../errors.js'
import {decodeEntry} from '../record/enveloped-entry.js'
import {openSegmentReader, type SegmentReaderPort} from '../segment-port.js'
import {MAX_TXID, TruncationStatus, type LogRecordWithDLSN, type LogSegmentMetadata} from '../types.js'
import {type RecoveryContext, startSequenceIdFor} from '../writer/recovery.js'

/**
 * The read-ahead queue's bounds. readAheadMaxRecords counts entries, as in the original (its
 * ReadAheadEntryReader caches that many entries despite the key's name): counting records made the pump
 * stop after every entry of a busy writer (~130 records of 100 B each), one wake-up of the application per
 * entry. Whatever the configuration says, the queue also stops taking entries at these many records and
 * payload bytes (one entry may overshoot them).
 */
const READ_AHEAD_RECORDS_CAP = 100_000
const READ_AHEAD_BYTES_CAP = 16 * 1024 * 1024

/** What a reader needs: the same as recovery's context. */
export type LogReaderContext = RecoveryContext

/** Where a reader starts: a DLSN, or the first record with txid >= `txid`. */
export type ReadPosition = DLSN | {txid: number}

interface Waiter {
  max: number
  resolve(records: LogRecordWithDLSN[]): void
  reject(e: unknown): void
  timer?: TimerHandle
}

export class AsyncLogReader {
  private readonly ctx: LogReaderContext
  private readonly log: Logger
  private position: DLSN
  private txidFilter: number | undefined
  private segments: LogSegmentMetadata[] = []
  private current: {meta: LogSegmentMetadata; reader: SegmentReaderPort} | undefined
  /** Read-ahead: records of whole entries, in order; `head` is how many of the first one were taken. */
  private readonly queue: LogRecordWithDLSN[][] = []
  private head = 0
  private queuedRecords = 0
  private queuedBytes = 0
  private waiters: Waiter[] = []
  private error: LogError | undefined
  private closed = false
  private unwatch: (() => void) | undefined
  private wake: (() => void) | undefined
  private lastProgressMs: number
  private idleTimer: TimerHandle | undefined
  private idleWarned = false
  private readonly started: Promise<void>
  /** Records returned so far (for tools and tests). */
  recordsRead = 0

  constructor(ctx: LogReaderContext, from: ReadPosition) {
    this.ctx = ctx
    this.log = ctx.logger.child('reader')
    this.position = from instanceof DLSN ? from : DLSN.InitialDLSN
    this.txidFilter = from instanceof DLSN ? undefined : from.txid
    this.lastProgressMs = ctx.clock.monotonicMs()
    this.started = this.start(from).catch((e: unknown) => this.fail(e))
  }

  get logName(): string {
    return this.ctx.logName
  }

  /** The next record; waits for one (tailing) until the reader closes or fails. */
  async readNext(): Promise<LogRecordWithDLSN> {
    const [r] = await this.take(1, undefined)
    return r as LogRecordWithDLSN
  }

  /**
   * Up to `n` records: without `waitMs`, waits for at least one; with it, resolves with whatever arrived
   * within `waitMs` (possibly none).
   */
  readBulk(n: number, waitMs?: number): Promise<LogRecordWithDLSN[]> {
    return this.take(Math.max(1, n), waitMs)
  }

  /** Records available without waiting (what the sync reader's nonBlocking reads return). */
  takeAvailable(n: number): LogRecordWithDLSN[] {
    if (this.queuedRecords === 0 && this.error) throw this.error
    return this.drain(n)
  }

  /** Ends the reader: pending reads fail ReadCancelledError. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.unwatch?.()
    if (this.idleTimer) this.ctx.clock.clearTimeout(this.idleTimer)
    const cancelled = new ReadCancelledError('Reader was closed')
    for (const w of this.waiters.splice(0)) {
      if (w.timer) this.ctx.clock.clearTimeout(w.timer)
      w.reject(cancelled)
    }
    this.wake?.()
    await this.current?.reader.close()
    await this.started
  }

  // ---- delivery ----

  private take(n: number, waitMs: number | undefined): Promise<LogRecordWithDLSN[]> {
    if (this.closed) return Promise.reject(new ReadCancelledError('Reader was closed'))
    if (this.queuedRecords > 0) return Promise.resolve(this.drain(n))
    if (this.error) return Promise.reject(this.error)
    if (waitMs !== undefined && waitMs <= 0) return Promise.resolve([])
    return new Promise<LogRecordWithDLSN[]>((resolve, reject) => {
      const w: Waiter = {max: n, resolve, reject}
      if (waitMs !== undefined) {
        w.timer = this.ctx.clock.setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w)
          resolve([])
        }, waitMs)
      }
      this.waiters.push(w)
    })
  }

  private drain(n: number): LogRecordWithDLSN[] {
    const out: LogRecordWithDLSN[] = []
    while (out.length < n && this.queue.length > 0) {
      const entry = this.queue[0] as LogRecordWithDLSN[]
      const take = Math.min(n - out.length, entry.length - this.head)
      for (let i = 0; i < take; i++) {
        const r = entry[this.head + i] as LogRecordWithDLSN
        this.queuedBytes -= r.payload.length
        out.push(r)
      }
      this.head += take
      if (this.head >= entry.length) {
        this.queue.shift()
        this.head = 0
      }
    }
    this.queuedRecords -= out.length
    this.recordsRead += out.length
    if (out.length > 0) this.wake?.()
    return out
  }

  private deliver(): void {
    while (this.waiters.length > 0 && this.queuedRecords > 0) {
      const w = this.waiters.shift() as Waiter
      if (w.timer) this.ctx.clock.clearTimeout(w.timer)
      w.resolve(this.drain(w.max))
    }
    if (this.error && this.queuedRecords === 0) {
      for (const w of this.waiters.splice(0)) {
        if (w.timer) this.ctx.clock.clearTimeout(w.timer)
        w.reject(this.error)
      }
    }
  }

  private fail(e: unknown): void {
    if (this.closed || this.error) return
    this.error = e instanceof LogError ? e : new LogError(1001, `Reader on ${this.ctx.logName} failed: ${e instanceof Error ? e.message : String(e)}`, {cause: e})
    if (!(this.error instanceof EndOfStreamError)) this.log.warn('reader failed', {log: this.ctx.logName, error: this.error})
    this.deliver()
  }

  // ---- the pump ----

  private async start(from: ReadPosition): Promise<void> {
    const initial = await this.ctx.store.getLogSegments(this.ctx.logName)
    this.segments = initial
    if (!(from instanceof DLSN)) this.position = await this.positionForTxId(initial, from.txid)
    this.unwatch = this.ctx.store.watchLogSegments(
      this.ctx.logName,
      (segments) => this.onSegments(segments),
      (e) => this.fail(e),
    )
    this.armIdleCheck()
    await this.pump()
  }

  private onSegments(segments: LogSegmentMetadata[]): void {
    this.segments = segments
    const cur = this.current
    if (cur !== undefined) {
      const now = segments.find((s) => s.logSegmentSequenceNo === cur.meta.logSegmentSequenceNo)
      if (now !== undefined) {
        if (cur.meta.inprogress && !now.inprogress) cur.reader.complete(now)
        // truncate() inside the segment being read moves its minActiveDLSN: skip forward to it.
        if (!this.ctx.config.ignoreTruncationStatus && now.minActiveDLSN.compareTo(this.position) > 0) this.position = now.minActiveDLSN
        cur.meta = {...now, startSequenceId: cur.meta.startSequenceId}
      }
    }
    this.wake?.()
  }

  private waitForChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = undefined
        resolve()
      }
    })
  }

  /** True when the read-ahead holds as much as it may (see READ_AHEAD_RECORDS_CAP). */
  private readAheadFull(): boolean {
    return this.queue.length >= Math.max(1, this.ctx.config.readAheadRecordsMax) || this.queuedRecords >= READ_AHEAD_RECORDS_CAP || this.queuedBytes >= READ_AHEAD_BYTES_CAP
  }

  private async pump(): Promise<void> {
    while (!this.closed && !this.error) {
      if (this.readAheadFull()) {
        await this.waitForChange()
        continue
      }
      if (this.current === undefined) {
        const next = this.pickSegment()
        if (next === undefined) {
          await this.waitForChange()
          continue
        }
        const startEntryId = next.logSegmentSequenceNo === this.position.logSegmentSequenceNo ? Math.max(0, this.position.entryId) : 0
        const meta = {...next, startSequenceId: startSequenceIdFor(next, this.segments)}
        this.current = {meta, reader: openSegmentReader({ledgers: this.ctx.ledgers, segment: meta, startEntryId, config: this.ctx.config, clock: this.ctx.clock})}
      }
      const cur = this.current
      const batch = await cur.reader.readNext()
      if (this.closed) return
      if (batch === undefined) {
        await cur.reader.close()
        this.current = undefined
        const after = cur.meta.logSegmentSequenceNo + 1
        if (this.position.logSegmentSequenceNo < after) this.position = new DLSN(after, 0, 0)
        this.progress()
        // A segment completed with lastTxId MAX_TXID ended the stream even if its record was not seen.
        if (!cur.meta.inprogress && cur.meta.lastTxId === MAX_TXID) this.fail(new EndOfStreamError(`End of Stream Reached for ${this.ctx.logName}`))
        continue
      }
      if (batch.length > 0) this.progress()
      // The entry's records join the queue as they are accepted: the end-of-stream record fails the
      // reader only after the records before it are there for the waiters.
      let entry: LogRecordWithDLSN[] | undefined
      for (const r of batch) {
        const out = this.accept(cur.meta, r)
        if (out === undefined) continue
        if (entry === undefined) {
          entry = []
          this.queue.push(entry)
        }
        entry.push(out)
        this.queuedRecords++
        this.queuedBytes += out.payload.length
      }
      this.deliver()
    }
  }

  /** The record as the application sees it, or undefined when it must not (acting on end of stream). */
  private accept(seg: LogSegmentMetadata, r: LogRecordWithDLSN): LogRecordWithDLSN | undefined {
    if (this.error || r.dlsn.compareTo(this.position) < 0) return undefined
    this.position = r.dlsn.getNextDLSN()
    if (r.isEndOfStream) {
      this.fail(new EndOfStreamError(`End of Stream Reached for ${this.ctx.logName}`))
      return undefined
    }
    if (r.isControl) return undefined
    if (this.txidFilter !== undefined) {
      if (r.txid < this.txidFilter) return undefined
      this.txidFilter = undefined
    }
    const sequenceId = seg.startSequenceId >= 0 ? seg.startSequenceId + r.positionWithinLogSegment - 1 : -1
    return sequenceId === r.sequenceId ? r : {...r, sequenceId}
  }

  /** The segment holding the reader's position (or the first after it), applying truncation rules. */
  private pickSegment(): LogSegmentMetadata | undefined {
    for (const seg of this.segments) {
      if (seg.logSegmentSequenceNo < this.position.logSegmentSequenceNo) continue
      if (!this.ctx.config.ignoreTruncationStatus) {
        if (seg.status === TruncationStatus.TRUNCATED) {
          throw new AlreadyTruncatedError(
            `Trying to position reader on ${this.ctx.logName} at ${this.position.toString()} when segment ${seg.logSegmentSequenceNo} is already truncated`,
          )
        }
        if (seg.minActiveDLSN.compareTo(this.position) > 0) {
          if (this.ctx.config.alertPositionOnTruncated && seg.status === TruncationStatus.PARTIALLY_TRUNCATED && this.position.logSegmentSequenceNo === seg.logSegmentSequenceNo) {
            this.log.warn('reader positioned into truncated data; skipping to the min active DLSN', {
              log: this.ctx.logName,
              position: this.position.toString(),
              minActiveDLSN: seg.minActiveDLSN.toString(),
            })
          }
          this.position = seg.minActiveDLSN
        }
      }
      if (this.position.logSegmentSequenceNo < seg.logSegmentSequenceNo) this.position = new DLSN(seg.logSegmentSequenceNo, 0, 0)
      if (!seg.inprogress && (seg.lastEntryId < 0 || seg.lastEntryId < this.position.entryId)) {
        // Nothing at or after the position in this completed segment.
        this.position = new DLSN(seg.logSegmentSequenceNo + 1, 0, 0)
        continue
      }
      return seg
    }
    return undefined
  }

  // ---- positioning by txid ----

  private async positionForTxId(segments: LogSegmentMetadata[], txid: number): Promise<DLSN> {
    // Segments are ordered by txid as well: find the first that may hold a record >= txid.
    let lo = 0
    let hi = segments.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const s = segments[mid] as LogSegmentMetadata
      if (!s.inprogress && s.lastTxId < txid) lo = mid + 1
      else hi = mid
    }
    const seg = segments[lo]
    if (seg === undefined) {
      const last = segments.at(-1)
      return last === undefined ? DLSN.InitialDLSN : new DLSN(last.logSegmentSequenceNo + 1, 0, 0)
    }
    if (seg.status === TruncationStatus.TRUNCATED && !this.ctx.config.ignoreTruncationStatus) {
      throw new AlreadyTruncatedError(`Trying to position reader on ${this.ctx.logName} at txid ${txid} when segment ${seg.logSegmentSequenceNo} is already truncated`)
    }
    const entryId = await this.firstEntryWithTxId(seg, txid)
    return new DLSN(seg.logSegmentSequenceNo, entryId, 0)
  }

  /** Binary search over the segment's entries for the first whose last user record has txid >= T. */
  private async firstEntryWithTxId(seg: LogSegmentMetadata, txid: number): Promise<number> {
    if (seg.firstTxId >= txid) return 0
    const handle = await this.ctx.ledgers.openLedgerNoRecovery(seg.ledgerId)
    try {
      let hi = seg.inprogress ? await handle.readLastAddConfirmed() : seg.lastEntryId
      let lo = 0
      if (hi < 0) return 0
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2)
        const [e] = await handle.readEntries(mid, mid)
        const records = e === undefined ? [] : decodeEntry(e.payload, {logSegmentSequenceNo: seg.logSegmentSequenceNo, entryId: mid, startSequenceId: -1})
        // A control record carries the txid of the last user record before it, so control-only entries
        // keep the entries ordered by txid too.
        const lastTx = records.at(-1)?.txid ?? -1
        if (lastTx < txid) lo = mid + 1
        else hi = mid
      }
      return lo
    } finally {
      await handle.close().catch(() => undefined)
    }
  }

  // ---- idle detection ----

  private progress(): void {
    this.lastProgressMs = this.ctx.clock.monotonicMs()
    this.idleWarned = false
  }

  private armIdleCheck(): void {
    const c = this.ctx.config
    const bound = Math.min(c.readerIdleWarnThresholdMs, c.readerIdleErrorThresholdMs)
    if (bound <= 0 || this.closed) return
    const periodMs = Math.max(10, Math.min(Math.floor(bound / 2), 60_000))
    this.idleTimer = this.ctx.clock.setTimeout(() => {
      this.checkIdle()
      this.armIdleCheck()
    }, periodMs)
  }

  /** True when the log holds records beyond the reader's position that it has not read. */
  private dataAhead(): boolean {
    if (this.readAheadFull()) return false
    const pos = this.position
    for (const s of this.segments) {
      if (s.logSegmentSequenceNo < pos.logSegmentSequenceNo) continue
      if (!s.inprogress && s.lastEntryId >= 0 && new DLSN(s.logSegmentSequenceNo, s.lastEntryId, s.lastSlotId).compareTo(pos) >= 0) return true
      if (s.inprogress && s.logSegmentSequenceNo > pos.logSegmentSequenceNo) return true
      if (s.inprogress && this.current?.meta.logSegmentSequenceNo === s.logSegmentSequenceNo && this.current.reader.lastAddConfirmed >= this.current.reader.nextEntryId) return true
    }
    return false
  }

  private checkIdle(): void {
    if (this.closed || this.error) return
    if (!this.dataAhead()) {
      this.progress()
      return
    }
    const idleMs = this.ctx.clock.monotonicMs() - this.lastProgressMs
    const c = this.ctx.config
    if (idleMs >= c.readerIdleErrorThresholdMs) {
      this.fail(new IdleReaderError(`Reader on stream ${this.ctx.logName} is idle for ${Math.round(idleMs)} ms`))
    } else if (idleMs >= c.readerIdleWarnThresholdMs && !this.idleWarned) {
      this.idleWarned = true
      this.log.warn('reader is idle while the log has data beyond its position', {log: this.ctx.logName, idleMs: Math.round(idleMs), position: this.position.toString()})
    }
  }
}

/** The synchronous-style reader: nonBlocking reads return what is buffered; blocking ones wait up to readAheadWaitTimeMs. */
export class LogReader {
  private readonly inner: AsyncLogReader
  private readonly waitMs: number

  constructor(inner: AsyncLogReader, waitMs: number) {
    this.inner = inner
    this.waitMs = waitMs
  }

  /** The next record, or null when caught up (after waiting up to readAheadWaitTime unless nonBlocking). */
  async readNext(nonBlocking: boolean): Promise<LogRecordWithDLSN | null> {
    const [r] = await this.readBulk(nonBlocking, 1)
    return r ?? null
  }

  async readBulk(nonBlocking: boolean, n: number): Promise<LogRecordWithDLSN[]> {
    const now = this.inner.takeAvailable(n)
    if (now.length > 0 || nonBlocking) return now
    return this.inner.readBulk(n, this.waitMs)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
