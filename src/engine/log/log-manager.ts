/**
 * LogManager: one log as an application sees it (the original's DistributedLogManager). It opens
 * writers (async and sync style) and readers (by DLSN or txid), answers questions about the log from
 * its metadata plus, where needed, one read of its last entries (last DLSN / txid / record, first DLSN,
 * record count, end of stream), recovers a log a dead writer left in progress, and deletes it.
 *
 * `openLog(ctx, name, overrides)` is what a namespace's openLog calls: the namespace supplies the
 * metadata store, the ledger client, a write-lock factory and its configuration; `overrides` is the
 * log's own configuration on top (retention, rolling, compression...).
 */
import type {Clock} from '../common/clock.js'
import type {Logger} from '../common/logger.js'
import type {LedgerClientApi} from '../ledger/types.js'
import {type DistributedLogConfig, withLogOverrides} from './config.js'
import {DLSN} from './dlsn.js'
import {AlreadyClosedError, LogEmptyError, LogNotFoundError} from './errors.js'
import {AsyncLogReader, LogReader, type ReadPosition} from './reader/log-reader.js'
import {MAX_TXID, TruncationStatus, type LogMetadataStore, type LogRecordWithDLSN, type LogSegmentMetadata, type LogWriteLock} from './types.js'
import {AsyncLogWriter, LogWriter} from './writer/log-writer.js'
import {readLastUserRecord} from './writer/recovery.js'

/** What a namespace gives the logs it opens. */
export interface LogContext {
  store: LogMetadataStore
  ledgers: LedgerClientApi
  /** A fresh write lock for one log (ZkWriteLock over the log's lock path). */
  createLock(logName: string): LogWriteLock
  config: DistributedLogConfig
  clock: Clock
  logger: Logger
  /** Creates the log's metadata if missing (idempotent); used when createStreamIfNotExists is on. */
  createLog?(logName: string): Promise<unknown>
  logExists?(logName: string): Promise<boolean>
  /** Deletes the log: its ledgers, then its metadata (refused while a writer holds the lock). */
  deleteLog?(logName: string): Promise<void>
  /** The lock znode of a log, for error messages. */
  lockPathOf?(logName: string): string
}

export async function openLog(ctx: LogContext, name: string, overrides?: Partial<DistributedLogConfig>): Promise<LogManager> {
  return new LogManager(ctx, name, withLogOverrides(ctx.config, overrides))
}

export class LogManager {
  readonly name: string
  readonly config: DistributedLogConfig
  private readonly ctx: LogContext
  private readonly opened = new Set<{close(): Promise<void>}>()
  private closed = false

  constructor(ctx: LogContext, name: string, config: DistributedLogConfig) {
    this.ctx = ctx
    this.name = name
    this.config = config
  }

  private base(): {logName: string; store: LogMetadataStore; ledgers: LedgerClientApi; config: DistributedLogConfig; clock: Clock; logger: Logger} {
    if (this.closed) throw new AlreadyClosedError(`Log manager of ${this.name} is closed`)
    return {logName: this.name, store: this.ctx.store, ledgers: this.ctx.ledgers, config: this.config, clock: this.ctx.clock, logger: this.ctx.logger.child(this.name)}
  }

  private async ensureExists(create: boolean): Promise<void> {
    if (create && this.ctx.createLog) {
      await this.ctx.createLog(this.name)
      return
    }
    if (this.ctx.logExists && !(await this.ctx.logExists(this.name))) throw new LogNotFoundError(this.name, {message: `Log ${this.name} not found`})
  }

  private track<T extends {close(): Promise<void>}>(x: T): T {
    this.opened.add(x)
    const close = x.close.bind(x)
    x.close = async () => {
      this.opened.delete(x)
      await close()
    }
    return x
  }

  // ---- writers ----

  /** Takes the log's write lock, recovers what a dead writer left, and returns the writer. */
  async openAsyncLogWriter(): Promise<AsyncLogWriter> {
    const base = this.base()
    await this.ensureExists(this.config.createStreamIfNotExists)
    const writer = await AsyncLogWriter.open({...base, lock: this.ctx.createLock(this.name), lockPath: this.ctx.lockPathOf?.(this.name)})
    return this.track(writer)
  }

  /** The synchronous-style writer (the original's startLogSegmentNonPartitioned). */
  async openLogWriter(): Promise<LogWriter> {
    return this.track(new LogWriter(await this.openAsyncLogWriter()))
  }

  startLogSegmentNonPartitioned(): Promise<LogWriter> {
    return this.openLogWriter()
  }

  // ---- readers ----

  /** A reader from a DLSN (first record at or after it) or a txid (first record with txid >= it). */
  async getAsyncLogReader(from: ReadPosition | number = DLSN.InitialDLSN): Promise<AsyncLogReader> {
    const base = this.base()
    await this.ensureExists(false)
    const position = typeof from === 'number' ? {txid: from} : from
    return this.track(new AsyncLogReader(base, position))
  }

  openAsyncLogReader(from: ReadPosition | number = DLSN.InitialDLSN): Promise<AsyncLogReader> {
    return this.getAsyncLogReader(from)
  }

  /** The synchronous-style reader (the original's getInputStream). */
  async getInputStream(from: ReadPosition | number = DLSN.InitialDLSN): Promise<LogReader> {
    const inner = await this.getAsyncLogReader(from)
    return this.track(new LogReader(inner, this.config.readAheadWaitTimeMs))
  }

  // ---- questions about the log ----

  async getLogSegments(): Promise<LogSegmentMetadata[]> {
    return this.ctx.store.getLogSegments(this.name)
  }

  /** The last user record (LogEmptyError on an empty log). */
  async getLastLogRecord(): Promise<LogRecordWithDLSN> {
    const segments = await this.getLogSegments()
    for (let i = segments.length - 1; i >= 0; i--) {
      const seg = segments[i] as LogSegmentMetadata
      if (!seg.inprogress && (seg.lastEntryId < 0 || seg.recordCount === 0)) continue
      const handle = await this.ctx.ledgers.openLedgerNoRecovery(seg.ledgerId)
      try {
        const last = seg.inprogress ? await handle.readLastAddConfirmed() : seg.lastEntryId
        const r = await readLastUserRecord(handle, seg, last)
        if (r !== undefined) return r
      } finally {
        await handle.close().catch(() => undefined)
      }
    }
    throw new LogEmptyError(`Log ${this.name} is empty`)
  }

  async getLastDLSN(): Promise<DLSN> {
    const segments = await this.getLogSegments()
    const last = segments.at(-1)
    // A completed last segment answers from metadata alone (the original's slow getLastDLSN, §10 #6).
    if (last !== undefined && !last.inprogress && last.lastEntryId >= 0) return new DLSN(last.logSegmentSequenceNo, last.lastEntryId, last.lastSlotId)
    return (await this.getLastLogRecord()).dlsn
  }

  async getLastTxId(): Promise<number> {
    const segments = await this.getLogSegments()
    const last = segments.at(-1)
    if (last !== undefined && !last.inprogress && last.recordCount > 0) return last.lastTxId
    return (await this.getLastLogRecord()).txid
  }

  /** The DLSN of the first readable record (after truncation). LogEmptyError on an empty log. */
  async getFirstDLSN(): Promise<DLSN> {
    const base = this.base()
    // Start at the first segment not wholly truncated, at its min active DLSN (as the original's
    // getFirstDLSNAsync): a reader from InitialDLSN would fail AlreadyTruncatedError on a truncated log.
    const segments = await this.getLogSegments()
    const first = this.config.ignoreTruncationStatus ? segments[0] : segments.find((s) => s.status !== TruncationStatus.TRUNCATED)
    if (first === undefined) throw new LogEmptyError(`Log ${this.name} is empty`)
    const from = this.config.ignoreTruncationStatus ? new DLSN(first.logSegmentSequenceNo, 0, 0) : first.minActiveDLSN
    const reader = new AsyncLogReader({...base, config: {...this.config, readerIdleWarnThresholdMs: 0}}, from)
    try {
      const [r] = await reader.readBulk(1, Math.max(1000, this.config.readLACLongPollTimeoutMs))
      if (r === undefined) throw new LogEmptyError(`Log ${this.name} is empty`)
      return r.dlsn
    } finally {
      await reader.close()
    }
  }

  /** User records in the log: completed segments' counts plus the in-progress segment's last position. */
  async getLogRecordCount(): Promise<number> {
    let count = 0
    for (const seg of await this.getLogSegments()) {
      if (seg.status === TruncationStatus.TRUNCATED) continue
      if (!seg.inprogress) {
        count += seg.recordCount
        continue
      }
      const handle = await this.ctx.ledgers.openLedgerNoRecovery(seg.ledgerId)
      try {
        const r = await readLastUserRecord(handle, seg, await handle.readLastAddConfirmed())
        count += r?.positionWithinLogSegment ?? 0
      } finally {
        await handle.close().catch(() => undefined)
      }
    }
    return count
  }

  async isEndOfStreamMarked(): Promise<boolean> {
    return (await this.ctx.store.getMaxTxId(this.name)) === MAX_TXID
  }

  /** Fences and completes whatever a dead writer left in progress (takes and releases the lock). */
  async recover(): Promise<void> {
    const writer = await this.openAsyncLogWriter()
    await writer.close()
  }

  /** Deletes the log with its ledgers (refused while a writer holds the lock). */
  async delete(): Promise<void> {
    if (!this.ctx.deleteLog) throw new AlreadyClosedError(`Log ${this.name} cannot be deleted through this context`)
    await this.ctx.deleteLog(this.name)
  }

  /** Closes every writer and reader this manager opened. */
  async close(): Promise<void> {
    if (this.closed) return
    const all = [...this.opened]
    this.closed = true
    await Promise.allSettled(all.map((x) => x.close()))
  }
}
