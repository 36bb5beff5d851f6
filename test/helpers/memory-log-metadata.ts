/**
 * An in-memory LogMetadataStore and write lock for the fast seeded tests of the log writer and reader:
 * the contract of log/metadata/zk-log-metadata-store.ts and lock/zk-write-lock.ts (sequence numbers from
 * `firstLogSegmentSequenceNo`, maxtxid never lowered, compare-and-set by znode version, watches delivered
 * asynchronously with the full ordered list) without ZooKeeper.
 *
 * Every segment going in or out is copied, so a caller mutating what it holds never changes the store.
 *
 * Fault hooks: `failNext(op, n)` makes the next n calls of one operation reject with a retriable
 * MetadataError without changing anything; `ops` records every successful change for assertions;
 * `MemoryWriteLock.expire()` drops a held lock as a ZooKeeper session expiry would.
 */
import {DLSN} from '../../src/engine/log/dlsn.js'
import {LogNotFoundError, MetadataError, OwnershipAcquireFailedError} from '../../src/engine/log/errors.js'
import {completedZnodeName, newInprogressSegment} from '../../src/engine/log/metadata/segment-format.js'
import type {LogMetadataStore, LogSegmentMetadata, LogWriteLock} from '../../src/engine/log/types.js'

export function cloneSegment(s: LogSegmentMetadata): LogSegmentMetadata {
  return {...s, minActiveDLSN: new DLSN(s.minActiveDLSN.logSegmentSequenceNo, s.minActiveDLSN.entryId, s.minActiveDLSN.slotId)}
}

type Listener = {fn: (segments: LogSegmentMetadata[]) => void; onError?: (e: Error) => void}
type Op = 'start' | 'complete' | 'update' | 'delete' | 'get'

interface MemoryLog {
  segments: Map<string, LogSegmentMetadata>
  maxTxId: number
  maxSeqNo: number
  listeners: Set<Listener>
  lockOwner: string | undefined
}

export class MemoryLogMetadataStore implements LogMetadataStore {
  private readonly logs = new Map<string, MemoryLog>()
  private readonly failures = new Map<Op, number>()
  readonly ops: {op: Op; logName: string; znodeName: string}[] = []
  readonly firstLogSegmentSequenceNo: number

  constructor(opts: {firstLogSegmentSequenceNo?: number} = {}) {
    this.firstLogSegmentSequenceNo = opts.firstLogSegmentSequenceNo ?? 1
  }

  // ---- namespace-level operations (what the ZooKeeper store's createLog/deleteLog do) ----

  async createLog(logName: string): Promise<boolean> {
    await Promise.resolve()
    if (this.logs.has(logName)) return false
    this.logs.set(logName, {segments: new Map(), maxTxId: 0, maxSeqNo: this.firstLogSegmentSequenceNo - 1, listeners: new Set(), lockOwner: undefined})
    return true
  }

  /** Deletes every segment's ledger (through `deleteLedger`), then the log. */
  async deleteLog(logName: string, opts: {deleteLedger?: (ledgerId: number) => Promise<void>} = {}): Promise<void> {
    const log = this.log(logName)
    for (const seg of log.segments.values()) await opts.deleteLedger?.(seg.ledgerId)
    this.logs.delete(logName)
  }

  async logExists(logName: string): Promise<boolean> {
    await Promise.resolve()
    return this.logs.has(logName)
  }

  async getLogs(): Promise<string[]> {
    await Promise.resolve()
    return [...this.logs.keys()].sort()
  }

  failNext(op: Op, count = 1): void {
    this.failures.set(op, count)
  }

  /** The lock registry shared by every MemoryWriteLock of this store. */
  lockOwnerOf(logName: string): string | undefined {
    return this.logs.get(logName)?.lockOwner
  }

  setLockOwner(logName: string, owner: string | undefined): void {
    const log = this.log(logName)
    log.lockOwner = owner
  }

  // ---- LogMetadataStore ----

  async getLogSegments(logName: string): Promise<LogSegmentMetadata[]> {
    await Promise.resolve()
    this.maybeFail('get')
    return this.ordered(this.log(logName))
  }

  watchLogSegments(logName: string, listener: (segments: LogSegmentMetadata[]) => void, onError?: (e: Error) => void): () => void {
    const log = this.logs.get(logName)
    if (!log) {
      queueMicrotask(() => onError?.(new LogNotFoundError(logName)))
      return () => {}
    }
    const entry: Listener = {fn: listener, onError}
    log.listeners.add(entry)
    // ZooKeeper's getChildren-with-watch answers with the current list first.
    queueMicrotask(() => {
      if (log.listeners.has(entry)) listener(this.ordered(log))
    })
    return () => {
      log.listeners.delete(entry)
    }
  }

  async getMaxTxId(logName: string): Promise<number> {
    await Promise.resolve()
    return this.log(logName).maxTxId
  }

  async startLogSegment(logName: string, args: {ledgerId: number; firstTxId: number; regionId?: number}): Promise<LogSegmentMetadata> {
    await Promise.resolve()
    this.maybeFail('start')
    const log = this.log(logName)
    const seqNo = log.maxSeqNo + 1
    const prev = this.ordered(log).at(-1)
    const startSequenceId = prev === undefined ? 0 : !prev.inprogress && prev.startSequenceId >= 0 ? prev.startSequenceId + prev.recordCount : -1
    const seg = newInprogressSegment({ledgerId: args.ledgerId, logSegmentSequenceNo: seqNo, firstTxId: args.firstTxId, regionId: args.regionId, startSequenceId})
    log.segments.set(seg.znodeName, seg)
    log.maxSeqNo = seqNo
    log.maxTxId = Math.max(log.maxTxId, args.firstTxId)
    this.changed(log, logName, 'start', seg.znodeName)
    return cloneSegment(seg)
  }

  async completeLogSegment(
    logName: string,
    inprogress: LogSegmentMetadata,
    args: {lastTxId: number; lastEntryId: number; lastSlotId: number; recordCount: number; completionTimeMs: number},
  ): Promise<LogSegmentMetadata> {
    await Promise.resolve()
    this.maybeFail('complete')
    const log = this.log(logName)
    const current = log.segments.get(inprogress.znodeName)
    if (!current || !current.inprogress) throw new MetadataError(`segment ${inprogress.znodeName} of ${logName} is not in progress`, {retriable: false})
    if (current.znodeVersion !== inprogress.znodeVersion) {
      throw new MetadataError(`segment ${inprogress.znodeName} of ${logName} changed (version ${current.znodeVersion}, expected ${inprogress.znodeVersion})`, {
        retriable: false,
      })
    }
    const done: LogSegmentMetadata = {
      ...cloneSegment(current),
      lastTxId: args.lastTxId,
      lastEntryId: args.lastEntryId,
      lastSlotId: args.lastSlotId,
      recordCount: args.recordCount,
      completionTimeMs: args.completionTimeMs,
      startSequenceId: inprogress.startSequenceId >= 0 ? inprogress.startSequenceId : current.startSequenceId,
      inprogress: false,
      znodeName: completedZnodeName(current.logSegmentSequenceNo),
      znodeVersion: 0,
    }
    log.segments.delete(current.znodeName)
    log.segments.set(done.znodeName, done)
    log.maxTxId = Math.max(log.maxTxId, args.lastTxId)
    this.changed(log, logName, 'complete', done.znodeName)
    return cloneSegment(done)
  }

  async updateLogSegment(logName: string, segment: LogSegmentMetadata): Promise<LogSegmentMetadata> {
    await Promise.resolve()
    this.maybeFail('update')
    const log = this.log(logName)
    const current = log.segments.get(segment.znodeName)
    if (!current) throw new MetadataError(`segment ${segment.znodeName} of ${logName} does not exist`, {retriable: false})
    if (current.znodeVersion !== segment.znodeVersion) {
      throw new MetadataError(`segment ${segment.znodeName} of ${logName} changed (version ${current.znodeVersion}, expected ${segment.znodeVersion})`, {
        retriable: false,
      })
    }
    const next = {...cloneSegment(segment), znodeVersion: current.znodeVersion + 1}
    log.segments.set(next.znodeName, next)
    this.changed(log, logName, 'update', next.znodeName)
    return cloneSegment(next)
  }

  async deleteLogSegment(logName: string, segment: LogSegmentMetadata): Promise<void> {
    await Promise.resolve()
    this.maybeFail('delete')
    const log = this.log(logName)
    if (!log.segments.delete(segment.znodeName)) return
    this.changed(log, logName, 'delete', segment.znodeName)
  }

  /** The stored maxtxid (MAX_TXID once end of stream is marked), for assertions. */
  maxTxIdOf(logName: string): number {
    return this.log(logName).maxTxId
  }

  // ---- internals ----

  private log(logName: string): MemoryLog {
    const log = this.logs.get(logName)
    if (!log) throw new LogNotFoundError(logName)
    return log
  }

  private ordered(log: MemoryLog): LogSegmentMetadata[] {
    return [...log.segments.values()].sort((a, b) => a.logSegmentSequenceNo - b.logSegmentSequenceNo).map(cloneSegment)
  }

  private maybeFail(op: Op): void {
    const left = this.failures.get(op) ?? 0
    if (left <= 0) return
    this.failures.set(op, left - 1)
    throw new MetadataError(`injected ${op} failure`, {retriable: true})
  }

  private changed(log: MemoryLog, logName: string, op: Op, znodeName: string): void {
    this.ops.push({op, logName, znodeName})
    for (const l of log.listeners) {
      queueMicrotask(() => {
        if (log.listeners.has(l)) l.fn(this.ordered(log))
      })
    }
  }
}

/** A LogWriteLock over the store's owner registry: immediate mode (fails at once when someone else owns it). */
export class MemoryWriteLock implements LogWriteLock {
  private readonly store: MemoryLogMetadataStore
  private readonly logName: string
  private readonly clientId: string
  private heldValue = false

  constructor(store: MemoryLogMetadataStore, logName: string, clientId: string) {
    this.store = store
    this.logName = logName
    this.clientId = clientId
  }

  get held(): boolean {
    return this.heldValue && this.store.lockOwnerOf(this.logName) === this.clientId
  }

  async acquire(): Promise<void> {
    await Promise.resolve()
    const owner = this.store.lockOwnerOf(this.logName)
    if (owner !== undefined && owner !== this.clientId) {
      throw new OwnershipAcquireFailedError(`/${this.logName}/<default>/lock`, owner)
    }
    this.store.setLockOwner(this.logName, this.clientId)
    this.heldValue = true
  }

  async release(): Promise<void> {
    await Promise.resolve()
    if (this.held) this.store.setLockOwner(this.logName, undefined)
    this.heldValue = false
  }

  /** As a ZooKeeper session expiry: the lock is gone without release(). */
  expire(): void {
    if (this.held) this.store.setLockOwner(this.logName, undefined)
    this.heldValue = false
  }
}
