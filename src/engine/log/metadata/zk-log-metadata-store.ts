/**
 * The LogMetadataStore over ZooKeeper (layout in paths.ts, segment format in segment-format.ts), plus
 * the log-level operations a namespace needs: create (nested names, idempotent), exists, delete
 * (ledgers first, so nothing leaks), list.
 *
 * Every change touching more than one znode is ONE ZooKeeper multi, so a crash or a lost connection
 * never leaves half of it:
 * - createLog: every missing znode of the log (parents first) in one multi;
 * - startLogSegment: create `inprogress_<n>` + set `ledgers` to n (compare-and-set on its version) +
 *   set `maxtxid` (compare-and-set) — two writers racing lose on the version, not on the data;
 * - completeLogSegment: create `logrecs_<n>` + delete `inprogress_<n>` (at the version the caller
 *   read) + raise `maxtxid` (compare-and-set).
 * A lost connection during a multi leaves its outcome unknown (the ZK client never repeats writes); the
 * error carries `outcomeUnknown` and the caller re-reads.
 */
import {InvalidInputError} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import {LedgerErrorCode} from '../../ledger/errors.js'
import {BadVersionError, NodeExistsError, NoNodeError, NotEmptyError, ZKError} from '../../zookeeper/client/errors.js'
import {parentPath} from '../../zookeeper/client/paths.js'
import type {Watcher, ZKClient} from '../../zookeeper/client/zk-client.js'
import {DLIllegalStateError, LogBusyError, LogNotFoundError, MetadataError} from '../errors.js'
import {type LogMetadataStore, type LogSegmentMetadata} from '../types.js'
import {
  compareSegments,
  COMPLETED_PREFIX,
  completedZnodeName,
  decodeSegmentMetadata,
  encodeSegmentMetadata,
  formatTxId,
  INPROGRESS_PREFIX,
  newInprogressSegment,
  parseTxId,
} from './segment-format.js'
import {DEFAULT_STREAM_NAME, isReservedStreamName, LAYOUT_VERSION_DATA, type LogPaths, logPaths, validateLogName} from './paths.js'

/** A listing raced with a segment being completed or deleted: read again, this many times at most. */
const LIST_ATTEMPTS_MAX = 8
/** getLogs walks nested names this deep at most, and returns at most this many logs. */
const NESTING_DEPTH_MAX = 32
export const LOGS_LISTED_MAX = 100_000
/** Segments one log may have before listing refuses (a log with more is misconfigured retention). */
export const SEGMENTS_PER_LOG_MAX = 100_000

export interface ZkLogMetadataStoreOptions {
  /** Sequence number of a log's first segment (binding's firstLogSegmentSeqNo; default 1). */
  firstLogSegmentSequenceNo?: number
  /** The original's unpartitionedStreamName; `<default>`. */
  streamName?: string
  logger?: Logger
}

export interface DeleteLogOptions {
  /** Deletes one ledger; a ledger that no longer exists must not fail (NoSuchLedger is ignored anyway). */
  deleteLedger?: (ledgerId: number) => Promise<void>
}

function isNoSuchLedger(e: unknown): boolean {
  return e instanceof Error && (e as {code?: unknown}).code === LedgerErrorCode.NO_SUCH_LEDGER
}

export class ZkLogMetadataStore implements LogMetadataStore {
  readonly zk: ZKClient
  readonly nsPath: string
  readonly firstLogSegmentSequenceNo: number
  private readonly streamName: string
  private readonly log: Logger

  constructor(zk: ZKClient, nsPath: string, opts: ZkLogMetadataStoreOptions = {}) {
    this.zk = zk
    this.nsPath = nsPath
    this.firstLogSegmentSequenceNo = opts.firstLogSegmentSequenceNo ?? 1
    if (!Number.isSafeInteger(this.firstLogSegmentSequenceNo) || this.firstLogSegmentSequenceNo < 1) {
      throw new InvalidInputError(`firstLogSegmentSequenceNo must be >= 1, got ${this.firstLogSegmentSequenceNo}`)
    }
    this.streamName = opts.streamName ?? DEFAULT_STREAM_NAME
    this.log = (opts.logger ?? silentLogger).child('log-metadata')
  }

  /** The znodes of a log (validating its name). */
  paths(logName: string): LogPaths {
    return logPaths(this.nsPath, validateLogName(logName), this.streamName)
  }

  // ---------------------------------------------------------------------------------------------
  // Log-level operations

  /**
   * Creates the log's znodes that are missing (all of them for a new log, including missing parents of
   * a nested name) in one multi. Idempotent: an existing log is left as it is. Resolves to true if
   * anything was created.
   */
  async createLog(logName: string): Promise<boolean> {
    const name = validateLogName(logName)
    const p = logPaths(this.nsPath, name, this.streamName)
    // A namespace that inherits its parent's binding may not have a znode yet: make it (the original
    // failed with NONODE here, distributedlog#225).
    await this.zk.mkdirp(this.nsPath)
    for (let attempt = 1; ; attempt++) {
      const tx = this.zk.transaction()
      // Parents of a nested name, then the stream path and the root.
      const chain: string[] = []
      for (let q = p.stream; q !== this.nsPath && q !== '/'; q = parentPath(q)) chain.unshift(q)
      chain.push(p.root)
      let missingFrom = chain.length
      for (let i = chain.length - 1; i >= 0; i--) {
        if (await this.zk.exists(chain[i] as string)) break
        missingFrom = i
      }
      for (const q of chain.slice(missingFrom)) tx.create(q)
      const children: [string, Buffer][] = [
        [p.maxTxId, Buffer.from('0')],
        [p.version, LAYOUT_VERSION_DATA],
        [p.lock, Buffer.alloc(0)],
        [p.readLock, Buffer.alloc(0)],
        [p.ledgers, Buffer.from(String(this.firstLogSegmentSequenceNo - 1))],
        [p.allocation, Buffer.alloc(0)],
      ]
      const rootExists = missingFrom === chain.length
      for (const [path, data] of children) {
        if (!rootExists || !(await this.zk.exists(path))) tx.create(path, data)
      }
      if (tx.ops.length === 0) return false
      try {
        await tx.commit()
        return true
      } catch (e) {
        // Someone created part of it meanwhile: look again (bounded).
        if (e instanceof NodeExistsError && attempt < LIST_ATTEMPTS_MAX) continue
        if (e instanceof NoNodeError) {
          throw new MetadataError(`Namespace ${this.nsPath} does not exist`, {cause: e, retriable: false})
        }
        throw e
      }
    }
  }

  /** True when the log's `ledgers` znode exists (after a sync, so a just-created log is seen). */
  async logExists(logName: string): Promise<boolean> {
    const p = this.paths(logName)
    try {
      await this.zk.sync(p.root)
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e
    }
    return (await this.zk.exists(p.ledgers)) !== null
  }

  /**
   * Deletes a log: refused (LogBusyError) while a writer holds its lock. The lock znode is deleted
   * first — ZooKeeper refuses that while it has members, and once it is gone no writer can lock the
   * log — then every segment's ledger (and a pre-allocated one), then the znodes. A failure midway
   * leaves a log that deleteLog finishes when run again.
   */
  async deleteLog(logName: string, opts: DeleteLogOptions = {}): Promise<void> {
    const name = validateLogName(logName)
    const p = logPaths(this.nsPath, name, this.streamName)
    if (!(await this.zk.exists(p.root))) throw new LogNotFoundError(name)
    try {
      await this.zk.delete(p.lock)
    } catch (e) {
      if (e instanceof NotEmptyError) throw new LogBusyError(p.lock, name, await this.lockOwner(p.lock), {cause: e})
      if (!(e instanceof NoNodeError)) throw e
    }
    const ledgerIds: number[] = []
    let segments: LogSegmentMetadata[] = []
    try {
      segments = await this.getLogSegments(name)
    } catch (e) {
      if (!(e instanceof LogNotFoundError)) throw e
    }
    for (const s of segments) ledgerIds.push(s.ledgerId)
    const allocated = await this.allocatedLedger(p.allocation)
    if (allocated !== undefined) ledgerIds.push(allocated)
    if (ledgerIds.length > 0) {
      if (opts.deleteLedger === undefined) {
        throw new MetadataError(`Log ${name} has ${ledgerIds.length} ledger(s) and no ledger client was given to delete them`, {retriable: false})
      }
      for (const id of ledgerIds) {
        try {
          await opts.deleteLedger(id)
        } catch (e) {
          if (!isNoSuchLedger(e)) throw e
        }
      }
    }
    try {
      await this.zk.deleteRecursive(p.root)
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e
    }
    // The stream path goes too unless a nested log lives under it.
    try {
      await this.zk.delete(p.stream)
    } catch (e) {
      if (!(e instanceof NoNodeError) && !(e instanceof NotEmptyError)) throw e
    }
    this.log.info('deleted log', {log: name, ledgers: ledgerIds.length})
  }

  /** The names of every log in the namespace, nested ones as `a/b/c`, sorted; reserved names at the top skipped. */
  async getLogs(): Promise<string[]> {
    const out: string[] = []
    const walk = async (path: string, prefix: string, depth: number): Promise<void> => {
      if (depth > NESTING_DEPTH_MAX) return
      let children: string[]
      try {
        children = await this.zk.getChildren(path)
      } catch (e) {
        if (e instanceof NoNodeError) return
        throw e
      }
      for (const child of children.sort()) {
        if (child === this.streamName) {
          if (prefix !== '') out.push(prefix)
          continue
        }
        if (depth === 0 && isReservedStreamName(child)) continue
        if (out.length >= LOGS_LISTED_MAX) throw new MetadataError(`more than ${LOGS_LISTED_MAX} logs under ${this.nsPath}`, {retriable: false})
        await walk(`${path === '/' ? '' : path}/${child}`, prefix === '' ? child : `${prefix}/${child}`, depth + 1)
      }
    }
    // A namespace without a znode yet (inheriting its parent's binding) simply has no logs.
    await walk(this.nsPath, '', 0)
    return out.sort()
  }

  /** The clientId of the write lock's current owner (its first member's data), if any. */
  async lockOwner(lockPath: string): Promise<string | undefined> {
    let children: string[]
    try {
      children = await this.zk.getChildren(lockPath)
    } catch (e) {
      if (e instanceof NoNodeError) return undefined
      throw e
    }
    const members = children.filter((c) => /\d{10}$/.test(c)).sort((a, b) => a.slice(-10).localeCompare(b.slice(-10)))
    for (const m of members) {
      try {
        const {data} = await this.zk.getData(`${lockPath}/${m}`)
        return data?.toString('utf8') ?? ''
      } catch (e) {
        if (!(e instanceof NoNodeError)) throw e
      }
    }
    return undefined
  }

  private async allocatedLedger(path: string): Promise<number | undefined> {
    try {
      const {data} = await this.zk.getData(path)
      const text = data?.toString('utf8') ?? ''
      return /^\d{1,16}$/.test(text) ? Number(text) : undefined
    } catch (e) {
      if (e instanceof NoNodeError) return undefined
      throw e
    }
  }

  // ---------------------------------------------------------------------------------------------
  // LogMetadataStore

  async getLogSegments(logName: string): Promise<LogSegmentMetadata[]> {
    return this.readSegments(logName, undefined)
  }

  private async readSegments(logName: string, watcher: Watcher | undefined): Promise<LogSegmentMetadata[]> {
    const p = this.paths(logName)
    for (let attempt = 1; ; attempt++) {
      let children: string[]
      try {
        children = await this.zk.getChildren(p.ledgers, attempt === 1 ? watcher : undefined)
      } catch (e) {
        if (e instanceof NoNodeError) throw new LogNotFoundError(logName, {cause: e})
        throw e
      }
      const names = children.filter((c) => c.startsWith(INPROGRESS_PREFIX) || c.startsWith(COMPLETED_PREFIX))
      if (names.length > SEGMENTS_PER_LOG_MAX) {
        throw new MetadataError(`Log ${logName} has ${names.length} segments (more than ${SEGMENTS_PER_LOG_MAX})`, {retriable: false})
      }
      try {
        const segments = await Promise.all(
          names.map(async (n) => {
            // In-progress segments change in place (truncate() moves their minActiveDLSN): a watch on the
            // children alone would never tell a tailing reader. Completed ones only come and go.
            const dataWatcher = watcher !== undefined && n.startsWith(INPROGRESS_PREFIX) ? watcher : undefined
            const {data, stat} = await this.zk.getData(`${p.ledgers}/${n}`, dataWatcher)
            return decodeSegmentMetadata(data ?? Buffer.alloc(0), n, stat.version)
          }),
        )
        return segments.sort(compareSegments)
      } catch (e) {
        // A segment completed or deleted between the listing and the read: list again.
        if (e instanceof NoNodeError && attempt < LIST_ATTEMPTS_MAX) continue
        throw e
      }
    }
  }

  watchLogSegments(logName: string, listener: (segments: LogSegmentMetadata[]) => void, onError?: (e: Error) => void): () => void {
    let stopped = false
    let running = false
    let again = false
    const refresh = async (): Promise<void> => {
      if (running) {
        again = true
        return
      }
      running = true
      try {
        do {
          again = false
          // A fresh closure per registration: the client keeps one registration per (watcher, path).
          const watcher: Watcher = (event) => {
            if (stopped) return
            if (event.type === 'sessionExpired' || event.type === 'closed') {
              stopped = true
              onError?.(new MetadataError(`watch on the segments of ${logName} ended: ZooKeeper session ${event.type}`, {retriable: true}))
              return
            }
            void refresh()
          }
          const segments = await this.readSegments(logName, watcher)
          if (!stopped) listener(segments)
        } while (again && !stopped)
      } catch (e) {
        if (!stopped) {
          stopped = true
          onError?.(e instanceof Error ? e : new Error(String(e)))
        }
      } finally {
        running = false
      }
    }
    void refresh()
    return () => {
      stopped = true
    }
  }

  async getMaxTxId(logName: string): Promise<number> {
    const p = this.paths(logName)
    return (await this.readMaxTxId(logName, p)).maxTxId
  }

  private async readMaxTxId(logName: string, p: LogPaths): Promise<{maxTxId: number; version: number}> {
    try {
      const {data, stat} = await this.zk.getData(p.maxTxId)
      const text = data?.toString('utf8') ?? ''
      return {maxTxId: text === '' ? 0 : parseTxId(text, 'maxtxid'), version: stat.version}
    } catch (e) {
      if (e instanceof NoNodeError) throw new LogNotFoundError(logName, {cause: e})
      throw e
    }
  }

  async startLogSegment(logName: string, args: {ledgerId: number; firstTxId: number; regionId?: number}): Promise<LogSegmentMetadata> {
    const p = this.paths(logName)
    let ledgers: {data: Buffer | undefined; stat: {version: number}}
    try {
      ledgers = await this.zk.getData(p.ledgers)
    } catch (e) {
      if (e instanceof NoNodeError) throw new LogNotFoundError(logName, {cause: e})
      throw e
    }
    const maxText = ledgers.data?.toString('utf8') ?? ''
    if (!/^\d{1,16}$/.test(maxText === '' ? '0' : maxText)) {
      throw new DLIllegalStateError(`Invalid max log segment sequence number '${maxText}' for ${logName}`)
    }
    const maxSeqNo = Number(maxText === '' ? '0' : maxText)
    const seqNo = maxSeqNo === 0 ? this.firstLogSegmentSequenceNo : maxSeqNo + 1
    const existing = await this.readSegments(logName, undefined)
    const last = existing.at(-1)
    if (last !== undefined && last.logSegmentSequenceNo >= seqNo) {
      throw new DLIllegalStateError(
        `Unexpected max log segment sequence number ${maxSeqNo} for ${logName}, expected ${last.logSegmentSequenceNo}`,
      )
    }
    const startSequenceId = last === undefined ? 0 : !last.inprogress && last.startSequenceId >= 0 ? last.startSequenceId + last.recordCount : -1
    const max = await this.readMaxTxId(logName, p)
    const segment = newInprogressSegment({
      ledgerId: args.ledgerId,
      logSegmentSequenceNo: seqNo,
      firstTxId: args.firstTxId,
      regionId: args.regionId,
      startSequenceId,
    })
    const path = `${p.ledgers}/${segment.znodeName}`
    try {
      await this.zk
        .transaction()
        .create(path, encodeSegmentMetadata(segment))
        .setData(p.ledgers, String(seqNo), ledgers.stat.version)
        .setData(p.maxTxId, formatTxId(Math.max(max.maxTxId, args.firstTxId)), max.version)
        .commit()
    } catch (e) {
      throw this.conflict(e, logName, `starting segment ${seqNo}`)
    }
    return segment
  }

  async completeLogSegment(
    logName: string,
    inprogress: LogSegmentMetadata,
    args: {lastTxId: number; lastEntryId: number; lastSlotId: number; recordCount: number; completionTimeMs: number},
  ): Promise<LogSegmentMetadata> {
    if (!inprogress.inprogress) throw new InvalidInputError(`segment ${inprogress.znodeName} of ${logName} is not in progress`)
    const p = this.paths(logName)
    let startSequenceId = inprogress.startSequenceId
    if (startSequenceId < 0) startSequenceId = await this.startSequenceIdFor(logName, inprogress.logSegmentSequenceNo)
    const done: LogSegmentMetadata = {
      ...inprogress,
      lastTxId: args.lastTxId,
      lastEntryId: args.lastEntryId,
      lastSlotId: args.lastSlotId,
      recordCount: args.recordCount,
      completionTimeMs: args.completionTimeMs,
      startSequenceId,
      inprogress: false,
      znodeName: completedZnodeName(inprogress.logSegmentSequenceNo),
      znodeVersion: 0,
    }
    const max = await this.readMaxTxId(logName, p)
    try {
      await this.zk
        .transaction()
        .create(`${p.ledgers}/${done.znodeName}`, encodeSegmentMetadata(done))
        .delete(`${p.ledgers}/${inprogress.znodeName}`, inprogress.znodeVersion)
        .setData(p.maxTxId, formatTxId(Math.max(max.maxTxId, args.lastTxId)), max.version)
        .commit()
    } catch (e) {
      throw this.conflict(e, logName, `completing segment ${inprogress.logSegmentSequenceNo}`)
    }
    return done
  }

  async updateLogSegment(logName: string, segment: LogSegmentMetadata): Promise<LogSegmentMetadata> {
    const p = this.paths(logName)
    try {
      const stat = await this.zk.setData(`${p.ledgers}/${segment.znodeName}`, encodeSegmentMetadata(segment), segment.znodeVersion)
      return {...segment, znodeVersion: stat.version}
    } catch (e) {
      throw this.conflict(e, logName, `updating segment ${segment.znodeName}`)
    }
  }

  async deleteLogSegment(logName: string, segment: LogSegmentMetadata): Promise<void> {
    const p = this.paths(logName)
    try {
      await this.zk.delete(`${p.ledgers}/${segment.znodeName}`)
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e
    }
  }

  /** Sequence id of the first record of segment `seqNo`: the previous completed segment's start + count. */
  private async startSequenceIdFor(logName: string, seqNo: number): Promise<number> {
    const before = (await this.readSegments(logName, undefined)).filter((s) => s.logSegmentSequenceNo < seqNo && !s.inprogress)
    const prev = before.at(-1)
    if (prev === undefined) return 0
    if (prev.startSequenceId >= 0) return prev.startSequenceId + prev.recordCount
    return before.reduce((n, s) => n + s.recordCount, 0)
  }

  /** A failed multi or CAS: a version or existence conflict means someone else changed the log. */
  private conflict(e: unknown, logName: string, what: string): Error {
    if (e instanceof BadVersionError || e instanceof NodeExistsError || e instanceof NoNodeError) {
      return new MetadataError(`${what} of ${logName} conflicted with a concurrent change (${e.message})`, {cause: e, retriable: false})
    }
    if (e instanceof ZKError) return new MetadataError(`${what} of ${logName} failed: ${e.message}`, {cause: e, retriable: e.retriable})
    return e instanceof Error ? e : new Error(String(e))
  }
}
