/**
 * The log writer applications hold: AsyncLogWriter (write → DLSN once durable) and the synchronous-style
 * LogWriter over it. It owns one log's write lock and the log's segment lifecycle:
 *
 * - open: acquire the lock (OwnershipAcquireFailedError names the owner), then recover every in-progress
 *   segment a dead writer left (fence its ledger, read the last record, complete it in one metadata multi);
 * - the first write lazily starts a segment (ledger first, then the in-progress znode; a ledger whose znode
 *   could not be written is deleted, so nothing leaks); segments roll by time or size, and each new segment
 *   runs retention (delete ledgers, then znodes; never the newest completed segment, never in-progress);
 * - txids: negative or MAX_TXID is invalid; below the highest txid accepted is TransactionIdOutOfOrderError
 *   unless `txidSanityCheckEnabled` is off; after markEndOfStream every write is EndOfStreamError;
 * - truncate(dlsn) marks completed segments TRUNCATED / PARTIALLY_TRUNCATED and, unlike the original, also
 *   records minActiveDLSN on the in-progress segment (readers skip to it);
 * - self-healing: when the segment writer hits a storage error, the writes it held fail with their typed
 *   errors, and the writer (after checking it still holds the lock) fences and completes the broken segment
 *   and starts a new one for later writes. Only what cannot be recovered is fatal: a lost lock, or being
 *   fenced by another writer (LockingError).
 *
 * close() flushes and COMPLETES the current segment (the original left it in progress for the next writer
 * to recover): readers then see a completed log at once and the next open has nothing to fence.
 * Writes queue (bounded) while a segment starts, rolls or heals; their order is the order of write() calls.
 */
import type {Clock} from '../../common/clock.js'
import {errorMessage} from '../../common/errors.js'
import type {Logger} from '../../common/logger.js'
import {LedgerError, LedgerErrorCode} from '../../ledger/errors.js'
import type {LedgerClientApi, WriteHandle} from '../../ledger/types.js'
import type {DistributedLogConfig} from '../config.js'
import {DLSN} from '../dlsn.js'
import type {
  LogError} from '../errors.js';
import {
  AlreadyClosedError,
  BKTransmitError,
  EndOfStreamError,
  LockingError,
  OverCapacityError,
  TransactionIdOutOfOrderError,
} from '../errors.js'
import {recordSizeError} from '../record/log-record.js'
import {MAX_TXID, TruncationStatus, type LogMetadataStore, type LogRecord, type LogSegmentMetadata, type LogWriteLock} from '../types.js'
import {recoverSegment, nextStartSequenceId} from './recovery.js'
import {openSegmentWriter, type SegmentWriterPort} from '../segment-port.js'

/** Writes accepted while a segment starts/rolls/heals, beyond which write() fails OverCapacityError. */
const QUEUED_WRITES_MAX = 1_000_000

export interface LogWriterContext {
  logName: string
  store: LogMetadataStore
  ledgers: LedgerClientApi
  lock: LogWriteLock
  config: DistributedLogConfig
  clock: Clock
  logger: Logger
  /** Where the lock lives, for error messages. */
  lockPath?: string
}

interface ActiveSegment {
  meta: LogSegmentMetadata
  handle: WriteHandle
  writer: SegmentWriterPort
  startedMs: number
}

interface QueuedWrite {
  record: LogRecord
  resolve(dlsn: DLSN): void
  reject(e: unknown): void
}

/** A one-at-a-time section for metadata changes (segment start/complete, truncation). */
class Mutex {
  private tail: Promise<void> = Promise.resolve()

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}

export class AsyncLogWriter {
  private readonly ctx: LogWriterContext
  private readonly log: Logger
  private segment: ActiveSegment | undefined
  private queued: QueuedWrite[] = []
  private transition: Promise<void> | undefined
  private readonly mutex = new Mutex()
  private retention: Promise<void> = Promise.resolve()
  private lastTxIdValue: number
  private endOfStream: boolean
  private fatal: LogError | undefined
  private closed = false
  /** Segments this writer healed after storage errors (for tests and stats). */
  healCount = 0
  private lastCompleted: LogSegmentMetadata | undefined
  /** Per-record settings, read once (the write path runs hundreds of thousands of times a second). */
  private readonly lockChecked: boolean
  private readonly txidChecked: boolean
  private readonly rollByTime: boolean

  private constructor(ctx: LogWriterContext, maxTxId: number, lastCompleted: LogSegmentMetadata | undefined) {
    this.ctx = ctx
    this.log = ctx.logger.child('writer')
    this.endOfStream = maxTxId === MAX_TXID
    this.lastTxIdValue = this.endOfStream ? MAX_TXID : maxTxId
    this.lastCompleted = lastCompleted
    this.lockChecked = ctx.config.writeLockEnabled
    this.txidChecked = ctx.config.txidSanityCheckEnabled
    this.rollByTime = ctx.config.logSegmentRollingMinutes > 0
  }

  /** Takes the lock, then recovers what a previous writer left in progress. */
  static async open(ctx: LogWriterContext): Promise<AsyncLogWriter> {
    if (ctx.config.writeLockEnabled) await ctx.lock.acquire()
    try {
      const segments = await ctx.store.getLogSegments(ctx.logName)
      for (const seg of segments) {
        if (seg.inprogress) await recoverSegment(ctx, seg, segments)
      }
      const after = await ctx.store.getLogSegments(ctx.logName)
      const maxTxId = await ctx.store.getMaxTxId(ctx.logName)
      return new AsyncLogWriter(ctx, maxTxId, after.filter((s) => !s.inprogress).at(-1))
    } catch (e) {
      if (ctx.config.writeLockEnabled) await ctx.lock.release().catch(() => undefined)
      throw e
    }
  }

  get logName(): string {
    return this.ctx.logName
  }

  /** The highest txid this writer accepted (or found in the log when it opened). */
  getLastTxId(): number {
    return this.lastTxIdValue
  }

  /** The in-progress segment this writer is writing, if any (for tools and tests). */
  get currentSegment(): LogSegmentMetadata | undefined {
    return this.segment?.meta
  }

  /** Why `record` would be refused right now (closed, failed, end of stream, txid order, size), or undefined. */
  validate(record: LogRecord): LogError | undefined {
    return this.refuse(record)
  }

  /** Resolves with the record's DLSN once it is durable on an ack quorum. */
  write(record: LogRecord): Promise<DLSN> {
    const refused = this.refuse(record)
    if (refused) return Promise.reject(refused)
    if (record.txid > this.lastTxIdValue) this.lastTxIdValue = record.txid
    const seg = this.segment
    if (this.transition === undefined && this.queued.length === 0 && seg !== undefined && seg.writer.failure === undefined && !this.shouldRoll(seg)) {
      // A storage failure reaches the log writer through the segment writer's onError (it heals at once).
      return seg.writer.write(record)
    }
    return this.enqueue(record)
  }

  /** Writes `records` in order; resolves with every DLSN, or rejects with the first failure. */
  writeBulk(records: readonly LogRecord[]): Promise<DLSN[]> {
    return Promise.all(records.map((r) => this.write(r)))
  }

  /** Makes every write accepted so far durable and visible to readers (transmit, then a control record). */
  async flush(): Promise<void> {
    await this.settle()
    const seg = this.segment
    if (seg === undefined) return
    await seg.writer.flushAndCommit()
  }

  /**
   * Marks records before `dlsn` truncated: completed segments wholly before it TRUNCATED, the one
   * holding it PARTIALLY_TRUNCATED from it, and the in-progress segment's minActiveDLSN moved to it.
   * Data goes away later with retention. Resolves true when anything changed.
   */
  async truncate(dlsn: DLSN): Promise<boolean> {
    this.checkUsable()
    return this.mutex.run(async () => {
      this.checkLock()
      const segments = await this.ctx.store.getLogSegments(this.ctx.logName)
      let changed = false
      for (const seg of segments) {
        const next = truncatedView(seg, dlsn)
        if (next === undefined) continue
        const updated = await this.ctx.store.updateLogSegment(this.ctx.logName, next)
        if (this.segment !== undefined && this.segment.meta.znodeName === updated.znodeName) this.segment.meta = updated
        changed = true
      }
      return changed
    })
  }

  /** Writes the end-of-stream record and completes the segment; every later write fails EndOfStreamError. */
  async markEndOfStream(): Promise<void> {
    this.checkUsable()
    if (this.endOfStream) return
    await this.settle()
    this.checkUsable()
    this.endOfStream = true
    await this.mutex.run(async () => {
      this.checkLock()
      if (this.segment === undefined) await this.startSegment(MAX_TXID)
      const seg = this.segment as ActiveSegment
      await seg.writer.markEndOfStream()
      this.lastTxIdValue = MAX_TXID
      await this.completeSegment(seg)
    })
  }

  /** Flushes, completes the current segment and releases the lock. Pending writes finish first. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.settle().catch(() => undefined)
      const seg = this.segment
      if (seg !== undefined && this.fatal === undefined) {
        await this.mutex.run(async () => {
          if (seg.writer.failure === undefined) {
            try {
              await this.completeSegment(seg)
              return
            } catch (e) {
              this.log.warn('completing the segment on close failed; recovering it', {log: this.ctx.logName, error: e})
            }
          }
          await this.healSegment(seg).catch((e: unknown) => {
            this.log.warn('segment left in progress on close (the next writer recovers it)', {log: this.ctx.logName, error: e})
          })
        })
      }
      await this.retention
    } finally {
      this.failQueued(new AlreadyClosedError(`Writer of ${this.ctx.logName} is closed`))
      if (this.ctx.config.writeLockEnabled) await this.ctx.lock.release().catch(() => undefined)
    }
  }

  // ---- writes ----

  private refuse(record: LogRecord): LogError | undefined {
    if (this.closed) return new AlreadyClosedError(`Writer of ${this.ctx.logName} is closed`)
    if (this.fatal) return this.fatal
    if (this.endOfStream) return new EndOfStreamError(`Writing to a stream after it has been marked as completed: ${this.ctx.logName}`)
    if (this.lockChecked && !this.ctx.lock.held) {
      // The session expired or the lock was taken: every later write must fail, not only the next segment start.
      this.fatal = new LockingError(this.ctx.lockPath ?? `${this.ctx.logName}/lock`, 'the write lock was lost (ZooKeeper session expired?); open a new writer')
      return this.fatal
    }
    const txid = record.txid
    if (!Number.isSafeInteger(txid) || txid < 0 || txid === MAX_TXID) return new TransactionIdOutOfOrderError(txid, undefined)
    if (this.txidChecked && txid < this.lastTxIdValue) return new TransactionIdOutOfOrderError(txid, this.lastTxIdValue)
    return recordSizeError(record.payload.length)
  }

  private enqueue(record: LogRecord): Promise<DLSN> {
    if (this.queued.length >= QUEUED_WRITES_MAX) {
      return Promise.reject(new OverCapacityError(`Writer of ${this.ctx.logName} has ${this.queued.length} writes waiting for a segment`))
    }
    return new Promise<DLSN>((resolve, reject) => {
      this.queued.push({record, resolve, reject})
      this.kick()
    })
  }

  private shouldRoll(seg: ActiveSegment): boolean {
    const c = this.ctx.config
    if (this.rollByTime) return this.ctx.clock.nowMs() - seg.startedMs >= c.logSegmentRollingMinutes * 60_000
    return seg.writer.bytesWritten >= c.logSegmentBytesMax
  }

  /** Starts the transition loop unless one runs. */
  private kick(): void {
    if (this.transition !== undefined) return
    this.transition = this.runTransitions().finally(() => {
      this.transition = undefined
      // Writes queued while the loop was finishing.
      if (this.queued.length > 0 && this.fatal === undefined && !this.closed) this.kick()
    })
  }

  /** Waits until no transition runs and nothing is queued. */
  private async settle(): Promise<void> {
    while (this.transition !== undefined) await this.transition
  }

  private async runTransitions(): Promise<void> {
    for (let rounds = 0; rounds < 1000; rounds++) {
      if (this.fatal) return this.failQueued(this.fatal)
      const seg = this.segment
      try {
        if (seg !== undefined && seg.writer.failure !== undefined) {
          await this.mutex.run(() => this.healSegment(seg))
          continue
        }
        if (this.queued.length === 0) return
        if (seg !== undefined && this.shouldRoll(seg)) {
          await this.mutex.run(() => this.rollSegment(seg))
          continue
        }
        if (seg === undefined) {
          const first = this.queued[0] as QueuedWrite
          await this.mutex.run(() => this.startSegment(first.record.txid))
          continue
        }
        const batch = this.queued
        this.queued = []
        for (const q of batch) seg.writer.write(q.record).then(q.resolve, q.reject)
      } catch (e) {
        if (this.fatal) return this.failQueued(this.fatal)
        // A failed start (no bookies, ZooKeeper down): these writes fail typed; later writes try again.
        this.log.warn('segment transition failed', {log: this.ctx.logName, error: e})
        this.failQueued(e)
        return
      }
    }
  }

  private failQueued(e: unknown): void {
    const q = this.queued
    this.queued = []
    for (const w of q) w.reject(e)
  }

  // ---- segment lifecycle (under the mutex) ----

  private checkUsable(): void {
    if (this.closed) throw new AlreadyClosedError(`Writer of ${this.ctx.logName} is closed`)
    if (this.fatal) throw this.fatal
  }

  private checkLock(): void {
    if (!this.ctx.config.writeLockEnabled || this.ctx.lock.held) return
    this.fatal = new LockingError(this.ctx.lockPath ?? `${this.ctx.logName}/lock`, 'the write lock was lost (ZooKeeper session expired?); open a new writer')
    throw this.fatal
  }

  private async startSegment(firstTxId: number): Promise<void> {
    this.checkLock()
    const c = this.ctx.config
    const handle = await this.ctx.ledgers.createLedger({
      ensembleSize: c.ensembleSize,
      writeQuorumSize: c.writeQuorumSize,
      ackQuorumSize: c.ackQuorumSize,
      // An empty digestPw means the ledger client's default password (bookies need a non-empty master key).
      ...(c.ledgerPassword === '' ? {} : {password: Buffer.from(c.ledgerPassword)}),
    })
    let meta: LogSegmentMetadata
    try {
      meta = await this.ctx.store.startLogSegment(this.ctx.logName, {ledgerId: handle.ledgerId, firstTxId})
    } catch (e) {
      // The znode never appeared: nobody will ever find this ledger, so delete it now.
      await handle.close().catch(() => undefined)
      await this.ctx.ledgers.deleteLedger(handle.ledgerId).catch((err: unknown) => {
        this.log.warn('could not delete the ledger of a segment that failed to start', {ledgerId: handle.ledgerId, error: err})
      })
      throw e
    }
    if (meta.startSequenceId < 0 && this.lastCompleted !== undefined) meta = {...meta, startSequenceId: nextStartSequenceId(this.lastCompleted)}
    const active: ActiveSegment = {meta, handle, writer: undefined as unknown as SegmentWriterPort, startedMs: this.ctx.clock.nowMs()}
    active.writer = openSegmentWriter({
      handle,
      segment: meta,
      config: c,
      clock: this.ctx.clock,
      logger: this.log,
      logName: this.ctx.logName,
      // Heal at once, not at the next write: later writes then go straight to a new segment.
      onError: () => queueMicrotask(() => {
        if (this.segment === active && !this.closed) this.kick()
      }),
    })
    this.segment = active
    this.startRetention()
  }

  private async rollSegment(seg: ActiveSegment): Promise<void> {
    try {
      await this.completeSegment(seg)
    } catch (e) {
      if (seg.writer.failure === undefined && !isStorageError(e)) throw e
      await this.healSegment(seg)
    }
  }

  /** Flushes and closes the ledger, then completes the znode with the segment's counters. */
  private async completeSegment(seg: ActiveSegment): Promise<void> {
    this.checkLock()
    const counters = await seg.writer.close()
    const meta = seg.meta
    const empty = counters.recordCount === 0
    const completed = await this.ctx.store.completeLogSegment(this.ctx.logName, meta, {
      lastTxId: empty ? meta.firstTxId : counters.lastTxId,
      lastEntryId: counters.lastEntryId,
      lastSlotId: counters.lastSlotId,
      recordCount: counters.recordCount,
      completionTimeMs: this.ctx.clock.nowMs(),
    })
    this.lastCompleted = completed
    if (this.segment === seg) this.segment = undefined
  }

  /** The segment writer failed: fence its ledger, complete it with what was recovered, move on. */
  private async healSegment(seg: ActiveSegment): Promise<void> {
    this.checkLock()
    const cause = seg.writer.failure
    if (isFenced(cause)) {
      this.fatal = new LockingError(this.ctx.lockPath ?? `${this.ctx.logName}/lock`, 'the segment was fenced by another writer', {retriable: false, cause})
      throw this.fatal
    }
    this.log.warn('segment writer failed; recovering the segment and starting a new one', {
      log: this.ctx.logName,
      segment: seg.meta.logSegmentSequenceNo,
      error: cause === undefined ? undefined : errorMessage(cause),
    })
    await seg.writer.abort()
    const segments = await this.ctx.store.getLogSegments(this.ctx.logName)
    const current = segments.find((s) => s.znodeName === seg.meta.znodeName)
    if (current === undefined) {
      this.fatal = new LockingError(this.ctx.lockPath ?? `${this.ctx.logName}/lock`, `segment ${seg.meta.znodeName} was completed by another writer`, {
        retriable: false,
        cause,
      })
      throw this.fatal
    }
    const completed = await recoverSegment(this.ctx, {...current, startSequenceId: current.startSequenceId >= 0 ? current.startSequenceId : seg.meta.startSequenceId}, segments)
    this.lastCompleted = completed
    this.lastTxIdValue = Math.max(this.lastTxIdValue, completed.lastTxId === MAX_TXID ? this.lastTxIdValue : completed.lastTxId)
    if (this.segment === seg) this.segment = undefined
    this.healCount++
  }

  // ---- retention ----

  private startRetention(): void {
    const hours = this.ctx.config.logSegmentRetentionHours
    if (hours <= 0) return
    this.retention = this.retention.then(() =>
      this.applyRetention(hours).catch((e: unknown) => this.log.warn('retention failed', {log: this.ctx.logName, error: e})),
    )
  }

  private async applyRetention(hours: number): Promise<void> {
    const cutoffMs = this.ctx.clock.nowMs() - hours * 3_600_000
    const segments = await this.ctx.store.getLogSegments(this.ctx.logName)
    for (const seg of retentionCandidates(segments, cutoffMs, this.ctx.config.explicitTruncationByApp)) {
      await this.ctx.ledgers.deleteLedger(seg.ledgerId).catch((e: unknown) => {
        if (!(e instanceof LedgerError && e.code === LedgerErrorCode.NO_SUCH_LEDGER)) throw e
      })
      await this.ctx.store.deleteLogSegment(this.ctx.logName, seg)
      this.log.info('retention deleted a segment', {log: this.ctx.logName, segment: seg.logSegmentSequenceNo, ledgerId: seg.ledgerId})
    }
  }
}

/** Completed segments older than the cutoff, oldest first, never the newest completed one. */
export function retentionCandidates(segments: readonly LogSegmentMetadata[], cutoffMs: number, explicitTruncationOnly: boolean): LogSegmentMetadata[] {
  const completed = segments.filter((s) => !s.inprogress)
  return completed
    .slice(0, -1)
    .filter((s) => s.completionTimeMs < cutoffMs && (!explicitTruncationOnly || s.status === TruncationStatus.TRUNCATED))
}

/** The segment after truncating the log before `dlsn`, or undefined when it does not change. */
export function truncatedView(seg: LogSegmentMetadata, dlsn: DLSN): LogSegmentMetadata | undefined {
  if (seg.status === TruncationStatus.TRUNCATED) return undefined
  const lssn = seg.logSegmentSequenceNo
  if (lssn > dlsn.logSegmentSequenceNo) return undefined
  if (!seg.inprogress) {
    const lastDLSN = new DLSN(lssn, seg.lastEntryId, seg.lastSlotId)
    if (lssn < dlsn.logSegmentSequenceNo || lastDLSN.compareTo(dlsn) < 0) {
      return {...seg, status: TruncationStatus.TRUNCATED, minActiveDLSN: dlsn.logSegmentSequenceNo === lssn ? dlsn : seg.minActiveDLSN}
    }
  } else if (lssn < dlsn.logSegmentSequenceNo) {
    // An older in-progress segment is being recovered by its writer; never touch it.
    return undefined
  }
  if (dlsn.compareTo(seg.minActiveDLSN) <= 0) return undefined
  return {...seg, status: TruncationStatus.PARTIALLY_TRUNCATED, minActiveDLSN: dlsn}
}

/** The ledger was fenced: another writer recovered the segment (directly or wrapped by the segment writer). */
function isFenced(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    if (x instanceof LedgerError && x.code === LedgerErrorCode.LEDGER_FENCED) return true
    if (x instanceof BKTransmitError && x.bkResultCode === LedgerErrorCode.LEDGER_FENCED) return true
  }
  return false
}

function isStorageError(e: unknown): boolean {
  return e instanceof LedgerError || e instanceof BKTransmitError
}

/** The synchronous-style writer: write/writeBulk buffer; setReadyToFlush + flushAndSync make them durable and visible. */
export class LogWriter {
  private readonly inner: AsyncLogWriter
  private pending: Promise<DLSN>[] = []
  private firstError: unknown

  constructor(inner: AsyncLogWriter) {
    this.inner = inner
  }

  /** Buffers one record. Refusals (txid order, size, end of stream, closed) throw at once. */
  write(record: LogRecord): void {
    const refused = this.inner.validate(record)
    if (refused) throw refused
    this.track(this.inner.write(record))
  }

  /** Buffers records in order; returns how many. */
  writeBulk(records: readonly LogRecord[]): number {
    for (const r of records) this.write(r)
    return records.length
  }

  /** Transmits what is buffered (the original's setReadyToFlush); returns the last txid written. */
  async setReadyToFlush(): Promise<number> {
    return this.inner.getLastTxId()
  }

  /** Waits until every buffered record is durable and readable; throws the first failure. Returns the last txid. */
  async flushAndSync(): Promise<number> {
    const pending = this.pending
    this.pending = []
    await this.inner.flush()
    await Promise.allSettled(pending)
    if (this.firstError !== undefined) {
      const e = this.firstError
      this.firstError = undefined
      throw e
    }
    return this.inner.getLastTxId()
  }

  truncate(dlsn: DLSN): Promise<boolean> {
    return this.inner.truncate(dlsn)
  }

  markEndOfStream(): Promise<void> {
    return this.inner.markEndOfStream()
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.pending)
    await this.inner.close()
  }

  private track(p: Promise<DLSN>): void {
    this.pending.push(p)
    p.catch((e: unknown) => {
      this.firstError ??= e
    })
    // Bound the list: settled promises are dropped at each flush; keep it from growing without one.
    if (this.pending.length > 100_000) this.pending = this.pending.slice(-50_000)
  }
}
