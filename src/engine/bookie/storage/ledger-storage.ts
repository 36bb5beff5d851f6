/**
 * Ledger storage: where journaled entries live after the journal. An applied add goes into the active
 * write cache; when that half of the cache fills (or every flushIntervalMs) it is frozen and the flusher
 * appends it to the current entry log, fsyncs the log (every flushEntrylogBytes, so the journal's next
 * fdatasync never waits behind a whole flush on a shared disk) and commits, in one synced LevelDB batch,
 * the index pages pointing at the new records, the ledger metadata (master key, fenced, LAC, last
 * entry), the entry log metadata (live bytes per ledger per log) and the journal positions the frozen
 * cache covers.
 * That commit is the checkpoint: journal files before it may go. Only then is the frozen cache dropped,
 * so every entry is always readable from the cache or from a log through a committed index.
 *
 * Adds wait (backpressure) when the active half is full and the frozen half is still flushing, instead
 * of growing memory. A flush that fails (ENOSPC, EIO) keeps the frozen cache and the journal, reports the
 * error (the bookie turns read-only) and is retried on the next interval, in another ledger dir if one
 * has room. Deleting a ledger drops its index pages and metadata; compaction then rewrites entry logs
 * whose live bytes fell under the threshold (copy live records to the current log, repoint the index,
 * delete the old file), so the space is returned to the filesystem.
 */
import {assert} from '../../common/assert.js'
import type {Clock, TimerHandle} from '../../common/clock.js'
import {DlogError, errorMessage} from '../../common/errors.js'
import type {Logger} from '../../common/logger.js'
import type {WalPosition} from '../../common/wal/types.js'
import {ENTRY_HEADER_BYTES, entryChecksumOk} from '../../protocol/bookie/entry.js'
import {checkDataDir} from './dirs.js'
import type {DiskOps} from './disk-ops.js'
import {isDiskFullError} from './disk-ops.js'
import {ENTRY_LOG_HEADER_BYTES, EntryLogError, EntryLogs} from './entry-log.js'
import type {LedgerMeta, LogMeta} from './ledger-index.js'
import {LedgerIndex} from './ledger-index.js'
import {POS_SPAN, RECORD_PREFIX_BYTES, SLAB_BYTES, SlabPool, WriteCache} from './write-cache.js'

/** Entries indexed per event-loop turn while building a flush's index pages. */
const INDEX_SLICE_ENTRIES = 16_384

/** What the bookie knows about one ledger; persisted at checkpoints as the ledger's metadata. */
export interface LedgerState {
  readonly ledgerId: number
  masterKey: Buffer | undefined
  fenced: boolean
  /** max(lac field of stored entries, explicit LACs); -1 when none. */
  lac: number
  /** Highest entry id stored; -1 when none. */
  lastEntryId: number
  /**
   * Highest entry id accepted for journaling, stored or still on its way to the journal (in memory
   * only; lastEntryId after a restart or a journal failure). A long poll whose entry is between the
   * two waits for it.
   */
  receivedEntryId: number
  dirty: boolean
}

export interface LedgerStorageOptions {
  ledgerDirs: string[]
  writeCacheBytesMax: number
  entryLogSizeBytesMax: number
  flushIntervalMs: number
  /** fdatasync the entry log after every this many bytes of a flush (0: once, at its end); see BookieOptions. */
  flushEntrylogBytes?: number
  compactionThreshold: number
  compactionIntervalMs: number
  addWaitersMax: number
  readFilesOpenMax: number
  diskOps: DiskOps
  clock: Clock
  logger: Logger
  /** Called after each checkpoint with the journal positions it covers (the journal reclaims files). */
  onCheckpoint: (positions: Map<number, WalPosition>) => Promise<void>
  /** Called when a flush fails; `allDirsFull` says no ledger dir can take a retry. */
  onFlushError: (e: unknown, allDirsFull: boolean) => void
  /** Called when a flush succeeds after failures. */
  onFlushRecovered: () => void
}

export interface CompactionResult {
  logsRemoved: number
  entriesCopied: number
  bytesCopied: number
}

/** An async mutex: flush commits, compaction steps and ledger deletes touch the index one at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve()

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.then(
      () => {},
      () => {},
    )
    return result
  }
}

interface Frozen {
  cache: WriteCache
  checkpoints: Map<number, WalPosition>
}

interface AddWaiter {
  bytes: number
  resolve(): void
  reject(e: unknown): void
}

/** Too many adds are already waiting for write-cache space (retriable: the flusher is catching up). */
export class TooManyWaitersError extends DlogError {
  constructor(message: string) {
    super('TOO_MANY_WAITERS', message, {retriable: true})
    this.name = 'TooManyWaitersError'
  }
}

export class LedgerStorage {
  readonly ledgers = new Map<number, LedgerState>()
  /** Journal position replay starts from, per journal (loaded at open, advanced by checkpoints). */
  readonly checkpoints: Map<number, WalPosition>
  readonly logs: EntryLogs
  readonly index: LedgerIndex
  /** logId → committed end and ledgerId → record bytes there (live data; deleted ledgers are removed). */
  readonly logMetas: Map<number, LogMeta>
  /** Ledger dirs that are full (from disk checks or ENOSPC); new entry logs avoid them. */
  readonly dirFull: boolean[]
  /** While replaying the journal the cache may exceed its bound (replay holds at most one cache's worth). */
  replaying = false
  /** Set after a flush failed and until one succeeds. */
  flushFailed = false

  private readonly opts: LedgerStorageOptions
  private readonly pool: SlabPool
  private readonly halfBytesMax: number
  private active: WriteCache
  private frozen: Frozen | undefined
  /** Bytes admitted to the active cache whose journal append has not resolved yet. */
  private reservedBytes = 0
  private readonly addWaiters: AddWaiter[] = []
  private readonly applied = new Map<number, WalPosition>()
  private readonly dirty = new Set<LedgerState>()
  private readonly mutex = new Mutex()
  private flushTail: Promise<void> = Promise.resolve()
  private flushKicked = false
  private retryFlushNow = false
  private compactionRun: Promise<CompactionResult> | undefined
  private compactionAgain = false
  private nextDir = 0
  /** The ledger dir of the entry log being written (to blame for ENOSPC). */
  private writingDir: number | undefined
  private flushTimer: TimerHandle | undefined
  private compactionTimer: TimerHandle | undefined
  private closed = false

  private constructor(opts: LedgerStorageOptions, index: LedgerIndex, logs: EntryLogs, checkpoints: Map<number, WalPosition>, logMetas: Map<number, LogMeta>) {
    this.opts = opts
    this.index = index
    this.logs = logs
    this.checkpoints = checkpoints
    this.logMetas = logMetas
    this.dirFull = opts.ledgerDirs.map(() => false)
    this.halfBytesMax = Math.floor(opts.writeCacheBytesMax / 2)
    this.pool = new SlabPool(Math.max(1, Math.floor(this.halfBytesMax / SLAB_BYTES)))
    this.active = new WriteCache(this.pool)
  }

  static async open(opts: LedgerStorageOptions): Promise<LedgerStorage> {
    for (const dir of opts.ledgerDirs) await checkDataDir(dir, 'ledger')
    const index = await LedgerIndex.open(opts.ledgerDirs[0] as string)
    try {
      const logs = new EntryLogs({dirs: opts.ledgerDirs, ops: opts.diskOps, readFilesOpenMax: opts.readFilesOpenMax})
      await logs.load()
      const s = new LedgerStorage(opts, index, logs, await index.loadCheckpoints(), await index.loadLogMetas())
      for (const [ledgerId, m] of await index.loadLedgerMetas()) {
        s.ledgers.set(ledgerId, {ledgerId, masterKey: m.masterKey, fenced: m.fenced, lac: m.lac, lastEntryId: m.lastEntryId, receivedEntryId: m.lastEntryId, dirty: false})
      }
      // A log without metadata holds no indexed entry (metadata commits with the index): a flush that
      // crashed or failed, or a compacted log whose unlink did not happen. Its space is reclaimed now.
      for (const logId of [...logs.files.keys()]) {
        if (!s.logMetas.has(logId)) {
          opts.logger.info('removing entry log without indexed entries', {logId})
          await logs.remove(logId)
        }
      }
      for (const logId of s.logMetas.keys()) {
        if (!logs.files.has(logId)) opts.logger.error('entry log is missing: its entries cannot be read', {logId})
      }
      s.startTimers()
      return s
    } catch (e) {
      await index.close().catch(() => {})
      throw e
    }
  }

  // ---- ledger state ----

  ensureLedger(ledgerId: number): LedgerState {
    let s = this.ledgers.get(ledgerId)
    if (!s) {
      s = {ledgerId, masterKey: undefined, fenced: false, lac: -1, lastEntryId: -1, receivedEntryId: -1, dirty: false}
      this.ledgers.set(ledgerId, s)
    }
    return s
  }

  markDirty(s: LedgerState): void {
    if (!s.dirty) {
      s.dirty = true
      this.dirty.add(s)
    }
  }

  /** Records that every journal record up to `pos` of journal `j` has been applied to memory. */
  noteApplied(j: number, pos: WalPosition): void {
    this.noteAppliedAt(j, pos.fileId, pos.offset)
  }

  /**
   * noteApplied for the add path, without an object per add: the position objects in `applied` are
   * this class's own and updated in place (a freeze copies them).
   */
  noteAppliedAt(j: number, fileId: number, offset: number): void {
    const p = this.applied.get(j)
    if (p === undefined) {
      this.applied.set(j, {fileId, offset})
    } else {
      p.fileId = fileId
      p.offset = offset
    }
  }

  // ---- adds ----

  /**
   * Reserves cache space for an add about to be journaled. Returns undefined when there is room now,
   * otherwise a promise that resolves when there is (the caller must re-check its preconditions).
   */
  admit(entryBytes: number): Promise<void> | undefined {
    const bytes = RECORD_PREFIX_BYTES + entryBytes
    if (this.addWaiters.length === 0 && this.fits(bytes)) {
      this.reservedBytes += bytes
      return undefined
    }
    if (this.addWaiters.length >= this.opts.addWaitersMax) throw new TooManyWaitersError('too many adds waiting for write cache space')
    if (this.flushWanted()) this.kickFlush()
    return new Promise<void>((resolve, reject) => this.addWaiters.push({bytes, resolve, reject}))
  }

  /** admit() for the add path: reserves and returns true when there is room now and nobody waits. */
  tryAdmit(entryBytes: number): boolean {
    const bytes = RECORD_PREFIX_BYTES + entryBytes
    if (this.addWaiters.length > 0 || !this.fits(bytes)) return false
    this.reservedBytes += bytes
    return true
  }

  /** Returns a reservation whose add failed before reaching the cache. */
  unadmit(entryBytes: number): void {
    this.reservedBytes -= RECORD_PREFIX_BYTES + entryBytes
    assert(this.reservedBytes >= 0, 'cache reservation underflow')
    this.wakeAddWaiters()
  }

  /** Puts a journaled entry into the active cache. `reserved` says whether admit() reserved its space. */
  putEntry(ledgerId: number, entryId: number, entry: Buffer, reserved: boolean): void {
    this.active.put(ledgerId, entryId, entry)
    if (reserved) {
      this.reservedBytes -= RECORD_PREFIX_BYTES + entry.length
      assert(this.reservedBytes >= 0, 'cache reservation underflow')
    }
    if (!this.replaying && this.flushWanted()) this.kickFlush()
  }

  /** The active half is full, or adds wait for space and a flush would free some. */
  private flushWanted(): boolean {
    return this.active.bytes >= this.halfBytesMax || (this.addWaiters.length > 0 && !this.active.empty)
  }

  private fits(bytes: number): boolean {
    const used = this.active.bytes + this.reservedBytes
    // A single record larger than half the cache is let in alone, so any entry can make progress.
    return used + bytes <= this.halfBytesMax || used === 0
  }

  private wakeAddWaiters(): void {
    while (this.addWaiters.length > 0) {
      const w = this.addWaiters[0] as AddWaiter
      if (!this.fits(w.bytes)) break
      this.addWaiters.shift()
      this.reservedBytes += w.bytes
      w.resolve()
    }
    if (this.flushWanted()) this.kickFlush()
  }

  // ---- reads ----

  /** The stored entry, or undefined when this bookie does not have it. */
  async getEntry(ledgerId: number, entryId: number): Promise<Buffer | undefined> {
    for (let attempt = 0; ; attempt++) {
      const cached = this.active.get(ledgerId, entryId) ?? this.frozen?.cache.get(ledgerId, entryId)
      if (cached) return cached
      const loc = this.index.getLocation(ledgerId, entryId)
      if (!loc) return undefined
      try {
        const entry = await this.logs.read(loc.logId, loc.offset, loc.length)
        if (!entryChecksumOk(entry) || entry.length < ENTRY_HEADER_BYTES) {
          throw new EntryLogError(`entry ${ledgerId}/${entryId} in entry log ${loc.logId} at ${loc.offset} fails its checksum`)
        }
        const l = entry.readUInt32BE(0) * 2 ** 32 + entry.readUInt32BE(4)
        const e = entry.readUInt32BE(8) * 2 ** 32 + entry.readUInt32BE(12)
        if (l !== ledgerId || e !== entryId) {
          throw new EntryLogError(`entry log ${loc.logId} at ${loc.offset} holds ${l}/${e}, not ${ledgerId}/${entryId}`)
        }
        return entry
      } catch (e) {
        // Compaction may have moved the entry and removed the log between lookup and read: look again once.
        if (attempt === 0 && !this.logs.files.has(loc.logId)) continue
        throw e
      }
    }
  }

  // ---- flush / checkpoint ----

  /** Starts a flush unless one is already queued. */
  kickFlush(): void {
    if (this.flushKicked || this.closed) return
    this.flushKicked = true
    this.enqueueFlush(false)
      .then(
        (worked) => {
          this.flushKicked = false
          if (this.closed) return
          // Retry at once in another dir after a dir filled up; otherwise keep up with a full cache.
          const retry = this.retryFlushNow
          this.retryFlushNow = false
          if (retry || (worked && !this.flushFailed && this.flushWanted())) this.kickFlush()
        },
        (e: unknown) => {
          this.flushKicked = false
          this.opts.logger.error('flush crashed', {error: errorMessage(e)})
        },
      )
  }

  /** Flushes everything applied so far and checkpoints; rejects if the flush fails. */
  async checkpoint(): Promise<void> {
    // A flush may be running for an older freeze; at most a couple of rounds cover everything.
    for (let round = 0; round < 3; round++) {
      await this.enqueueFlush(true)
      if (this.active.empty && this.dirty.size === 0 && !this.frozen && !this.checkpointBehind()) return
    }
  }

  /** Flushes run one at a time, in order. */
  private enqueueFlush(rethrow: boolean): Promise<boolean> {
    const run = this.flushTail.then(() => this.flushOnce(rethrow))
    this.flushTail = run.then(
      () => {},
      () => {},
    )
    return run
  }

  /** Flushes the frozen cache (freezing the active one first if none is); false when there was nothing to do. */
  private async flushOnce(rethrow: boolean): Promise<boolean> {
    if (!this.frozen) {
      if (this.active.empty && this.dirty.size === 0 && !this.checkpointBehind()) return false
      // Copies: the positions in `applied` keep moving (noteAppliedAt updates them in place).
      const checkpoints = new Map<number, WalPosition>()
      for (const [j, p] of this.applied) checkpoints.set(j, {fileId: p.fileId, offset: p.offset})
      this.frozen = {cache: this.active, checkpoints}
      this.active = new WriteCache(this.pool)
      this.wakeAddWaiters()
    }
    const frozen = this.frozen
    try {
      await this.mutex.run(() => this.writeFrozen(frozen))
      this.frozen = undefined
      frozen.cache.release()
      if (this.flushFailed) {
        this.flushFailed = false
        this.opts.onFlushRecovered()
      }
      for (const [j, p] of frozen.checkpoints) this.checkpoints.set(j, p)
      this.wakeAddWaiters()
    } catch (e) {
      this.flushFailed = true
      const full = isDiskFullError(e)
      const dirIndex = this.writingDir
      const newlyFull = full && dirIndex !== undefined && !this.dirFull[dirIndex]
      if (full && dirIndex !== undefined) this.dirFull[dirIndex] = true
      const allFull = this.dirFull.every((f) => f)
      this.retryFlushNow = newlyFull && !allFull
      this.opts.logger.warn('flush failed', {error: errorMessage(e), diskFull: full, allDirsFull: allFull})
      this.opts.onFlushError(e, allFull)
      if (rethrow) throw e
      return true
    }
    try {
      await this.opts.onCheckpoint(frozen.checkpoints)
    } catch (e) {
      this.opts.logger.warn('journal reclaim after checkpoint failed', {error: errorMessage(e)})
    }
    return true
  }

  private checkpointBehind(): boolean {
    for (const [j, p] of this.applied) {
      const c = this.checkpoints.get(j)
      if (!c || c.fileId !== p.fileId || c.offset !== p.offset) return true
    }
    return false
  }

  /** Picks the ledger dir for a new entry log: round-robin over dirs that are not full. */
  private pickDir(): number {
    const n = this.dirFull.length
    for (let i = 0; i < n; i++) {
      const d = (this.nextDir + i) % n
      if (!this.dirFull[d]) {
        this.nextDir = (d + 1) % n
        this.writingDir = d
        return d
      }
    }
    const e = new Error('every ledger directory is full') as Error & {code: string}
    e.code = 'ENOSPC'
    throw e
  }

  /** Makes sure the current log can take `bytes` more, rolling it when it is past its size limit or its dir is full. */
  private async ensureWriter(bytes: number, sealed: {logId: number; end: number}[]): Promise<void> {
    const w = this.logs.writer
    if (w) {
      this.writingDir = w.dirIndex
      const overSize = w.size > ENTRY_LOG_HEADER_BYTES && w.size + bytes > this.opts.entryLogSizeBytesMax
      const dirGone = this.dirFull[w.dirIndex] && this.dirFull.some((f) => !f)
      if (!overSize && !dirGone) return
      await this.logs.sync()
      sealed.push({logId: w.logId, end: w.size})
      await this.logs.seal()
    }
    await this.logs.create(this.pickDir())
  }

  private async writeFrozen(frozen: Frozen): Promise<void> {
    const cache = frozen.cache
    const batch = this.index.batch()
    const slabLogs: {logId: number; base: number}[] = []
    const sealed: {logId: number; end: number}[] = []
    try {
      for (let i = 0; i < cache.slabs.length; i++) {
        const slab = cache.slabs[i]!
        if (slab.used === 0) continue
        await this.ensureWriter(slab.used, sealed)
        const base = await this.logs.append(slab.buf, 0, slab.used)
        slabLogs[i] = {logId: this.logs.writer!.logId, base}
        const every = this.opts.flushEntrylogBytes ?? 0
        if (every > 0 && this.logs.unsyncedBytes >= every) await this.logs.sync()
      }
      await this.logs.sync()
    } catch (e) {
      this.logs.rewind()
      throw e
    }
    const metas = new Map<number, LogMeta>()
    const metaOf = (logId: number, end: number): LogMeta => this.stageLogMeta(metas, logId, end)
    let indexed = 0
    for (const [ledgerId, entries] of cache.ledgers) {
      // Record bytes of this ledger per log, summed here and added to the log metadata once.
      const bytesPerLog = new Map<number, number>()
      entries.forEach((entryId, pos) => {
        const slabIndex = Math.floor(pos / POS_SPAN)
        const offset = pos - slabIndex * POS_SPAN
        const length = cache.slabs[slabIndex]!.buf.readUInt32BE(offset)
        const at = slabLogs[slabIndex]!
        batch.setLocation(ledgerId, entryId, {logId: at.logId, offset: at.base + offset + RECORD_PREFIX_BYTES, length})
        bytesPerLog.set(at.logId, (bytesPerLog.get(at.logId) ?? 0) + RECORD_PREFIX_BYTES + length)
        indexed++
      })
      for (const [logId, bytes] of bytesPerLog) {
        const m = metaOf(logId, 0).ledgers
        m.set(ledgerId, (m.get(ledgerId) ?? 0) + bytes)
      }
      // Let adds and reads run between ledgers of a large flush (the cache is only changed under the mutex).
      if (indexed >= INDEX_SLICE_ENTRIES) {
        indexed = 0
        await new Promise<void>((r) => setImmediate(r))
      }
    }
    // Every log written gets metadata (with its new end), even if all its ledgers were deleted meanwhile.
    for (const x of sealed) metaOf(x.logId, x.end)
    if (this.logs.writer) metaOf(this.logs.writer.logId, this.logs.writer.size)
    for (const [logId, m] of metas) batch.logMetas.set(logId, m)
    const states = [...this.dirty]
    for (const s of states) {
      s.dirty = false
      if (this.ledgers.get(s.ledgerId) === s) batch.ledgerMetas.set(s.ledgerId, toMeta(s))
    }
    this.dirty.clear()
    for (const [j, p] of frozen.checkpoints) batch.checkpoints.set(j, p)
    try {
      await this.index.commit(batch)
    } catch (e) {
      for (const s of states) this.markDirty(s)
      throw e
    }
    for (const [logId, m] of metas) this.logMetas.set(logId, m)
  }

  /** A copy of a log's metadata staged in `metas`, its end raised to at least `end`. */
  private stageLogMeta(metas: Map<number, LogMeta>, logId: number, end: number): LogMeta {
    let m = metas.get(logId)
    if (!m) {
      const prev = this.logMetas.get(logId)
      m = {end: prev?.end ?? ENTRY_LOG_HEADER_BYTES, ledgers: new Map(prev?.ledgers)}
      metas.set(logId, m)
    }
    m.end = Math.max(m.end, end)
    return m
  }

  // ---- delete + compaction ----

  /**
   * Deletes a ledger: `journalIt` journals the delete (under the index lock, so no checkpoint can pass
   * the delete record before the index is cleaned), then caches, index pages and metadata go.
   */
  async deleteLedger(ledgerId: number, journalIt: () => Promise<void>): Promise<void> {
    await this.mutex.run(async () => {
      await journalIt()
      this.forgetLedger(ledgerId)
      await this.dropLedgerIndex(ledgerId)
    })
  }

  /** Removes a ledger from memory (caches and state); the index is cleaned by dropLedgerIndex(). */
  forgetLedger(ledgerId: number): void {
    const s = this.ledgers.get(ledgerId)
    if (s) {
      this.ledgers.delete(ledgerId)
      this.dirty.delete(s)
    }
    this.active.deleteLedger(ledgerId)
    this.frozen?.cache.deleteLedger(ledgerId)
  }

  async dropLedgerIndex(ledgerId: number): Promise<void> {
    const batch = this.index.batch()
    const changed: [number, LogMeta][] = []
    for (const [logId, m] of this.logMetas) {
      if (!m.ledgers.has(ledgerId)) continue
      const next = {end: m.end, ledgers: new Map(m.ledgers)}
      next.ledgers.delete(ledgerId)
      changed.push([logId, next])
      batch.logMetas.set(logId, next)
    }
    await this.index.deleteLedger(ledgerId, batch)
    for (const [logId, m] of changed) this.logMetas.set(logId, m)
  }

  /** Runs compaction soon in the background (coalescing requests). */
  compactSoon(): void {
    if (this.compactionRun) {
      this.compactionAgain = true
      return
    }
    this.compact().catch((e) => this.opts.logger.warn('compaction failed', {error: errorMessage(e)}))
  }

  /** Compacts every entry log whose live fraction is under the threshold; resolves when done. */
  async compact(): Promise<CompactionResult> {
    // A background run may be doing the work right now: count what it did, then look again.
    const total: CompactionResult = {logsRemoved: 0, entriesCopied: 0, bytesCopied: 0}
    while (this.compactionRun) {
      const r = await this.compactionRun.catch(() => undefined)
      if (r) addResult(total, r)
    }
    const run = this.compactOnce().finally(() => {
      this.compactionRun = undefined
      if (this.compactionAgain && !this.closed) {
        this.compactionAgain = false
        this.compactSoon()
      }
    })
    this.compactionRun = run
    addResult(total, await run)
    return total
  }

  /** Live bytes and file size of each entry log that is not the current one. */
  async logUsage(): Promise<{logId: number; liveBytes: number; sizeBytes: number}[]> {
    const out: {logId: number; liveBytes: number; sizeBytes: number}[] = []
    for (const logId of [...this.logs.files.keys()].sort((a, b) => a - b)) {
      if (logId === this.logs.writer?.logId) continue
      let liveBytes = 0
      for (const [ledgerId, bytes] of this.logMetas.get(logId)?.ledgers ?? []) if (this.ledgers.has(ledgerId)) liveBytes += bytes
      out.push({logId, liveBytes, sizeBytes: await this.logs.fileSize(logId)})
    }
    return out
  }

  private async compactOnce(): Promise<CompactionResult> {
    const result: CompactionResult = {logsRemoved: 0, entriesCopied: 0, bytesCopied: 0}
    for (const u of await this.logUsage()) {
      if (this.closed) break
      const payload = Math.max(1, u.sizeBytes - ENTRY_LOG_HEADER_BYTES)
      if (u.liveBytes > 0 && u.liveBytes / payload >= this.opts.compactionThreshold) continue
      if (u.liveBytes > 0) {
        const scanned = await this.logs.scan(u.logId, (records) => this.mutex.run(() => this.copyLive(u.logId, records, result)))
        const end = this.logMetas.get(u.logId)?.end ?? 0
        if (scanned < end) {
          // A record before the committed end does not verify: live entries may lie beyond it.
          this.opts.logger.error('entry log is damaged before its committed end: not compacted', {logId: u.logId, scanned, end})
          continue
        }
      }
      await this.mutex.run(async () => {
        if (!this.logs.files.has(u.logId) || u.logId === this.logs.writer?.logId) return
        const batch = this.index.batch()
        batch.deletedLogs.add(u.logId)
        await this.index.commit(batch)
        this.logMetas.delete(u.logId)
        await this.logs.remove(u.logId)
        result.logsRemoved++
      })
      this.opts.logger.info('compacted entry log', {logId: u.logId, liveBytes: u.liveBytes, sizeBytes: u.sizeBytes})
    }
    return result
  }

  /** Copies the still-indexed records of one scanned chunk to the current log and repoints the index. */
  private async copyLive(logId: number, records: {offset: number; entry: Buffer}[], result: CompactionResult): Promise<void> {
    const live: {ledgerId: number; entryId: number; entry: Buffer}[] = []
    let bytes = 0
    for (const r of records) {
      const ledgerId = r.entry.readUInt32BE(0) * 2 ** 32 + r.entry.readUInt32BE(4)
      const entryId = r.entry.readUInt32BE(8) * 2 ** 32 + r.entry.readUInt32BE(12)
      if (!this.ledgers.has(ledgerId)) continue
      const loc = this.index.getLocation(ledgerId, entryId)
      // Only the copy the index points at is live: older duplicates (replays, rewrites) are garbage.
      if (!loc || loc.logId !== logId || loc.offset !== r.offset) continue
      live.push({ledgerId, entryId, entry: r.entry})
      bytes += RECORD_PREFIX_BYTES + r.entry.length
    }
    if (live.length === 0) return
    if (this.closed) throw new Error('ledger storage is closing')
    const buf = Buffer.allocUnsafe(bytes)
    let at = 0
    for (const l of live) {
      buf.writeUInt32BE(l.entry.length, at)
      l.entry.copy(buf, at + RECORD_PREFIX_BYTES)
      at += RECORD_PREFIX_BYTES + l.entry.length
    }
    const sealed: {logId: number; end: number}[] = []
    let base: number
    try {
      await this.ensureWriter(bytes, sealed)
      base = await this.logs.append(buf, 0, bytes)
      await this.logs.sync()
    } catch (e) {
      this.logs.rewind()
      throw e
    }
    const target = this.logs.writer!.logId
    const batch = this.index.batch()
    const metas = new Map<number, LogMeta>()
    const meta = this.stageLogMeta(metas, target, base + bytes).ledgers
    at = 0
    for (const l of live) {
      batch.setLocation(l.ledgerId, l.entryId, {logId: target, offset: base + at + RECORD_PREFIX_BYTES, length: l.entry.length})
      meta.set(l.ledgerId, (meta.get(l.ledgerId) ?? 0) + RECORD_PREFIX_BYTES + l.entry.length)
      at += RECORD_PREFIX_BYTES + l.entry.length
    }
    for (const x of sealed) this.stageLogMeta(metas, x.logId, x.end)
    for (const [logId, m] of metas) batch.logMetas.set(logId, m)
    await this.index.commit(batch)
    for (const [logId, m] of metas) this.logMetas.set(logId, m)
    result.entriesCopied += live.length
    result.bytesCopied += bytes
  }

  // ---- lifecycle ----

  stats(): {cacheBytes: number; cacheEntries: number; frozenBytes: number; addWaiters: number; entryLogs: number} {
    return {
      cacheBytes: this.active.bytes,
      cacheEntries: this.active.entries,
      frozenBytes: this.frozen?.cache.bytes ?? 0,
      addWaiters: this.addWaiters.length,
      entryLogs: this.logs.files.size,
    }
  }

  private startTimers(): void {
    const {clock} = this.opts
    const flushTick = (): void => {
      if (this.closed) return
      this.kickFlush()
      this.flushTimer = clock.setTimeout(flushTick, this.opts.flushIntervalMs)
      this.flushTimer.unref()
    }
    this.flushTimer = clock.setTimeout(flushTick, this.opts.flushIntervalMs)
    this.flushTimer.unref()
    const compactTick = (): void => {
      if (this.closed) return
      this.compactSoon()
      this.compactionTimer = clock.setTimeout(compactTick, this.opts.compactionIntervalMs)
      this.compactionTimer.unref()
    }
    this.compactionTimer = clock.setTimeout(compactTick, this.opts.compactionIntervalMs)
    this.compactionTimer.unref()
  }

  private stopTimers(): void {
    if (this.flushTimer) this.opts.clock.clearTimeout(this.flushTimer)
    if (this.compactionTimer) this.opts.clock.clearTimeout(this.compactionTimer)
    this.flushTimer = undefined
    this.compactionTimer = undefined
  }

  /** Stops background work and closes files. With `checkpoint` it flushes first (a clean shutdown). */
  async close(opts: {checkpoint: boolean}): Promise<void> {
    this.stopTimers()
    let flushError: unknown
    if (opts.checkpoint) {
      try {
        await this.checkpoint()
      } catch (e) {
        flushError = e
      }
    } else {
      await this.flushTail
    }
    this.closed = true
    if (this.compactionRun) await this.compactionRun.catch(() => {})
    await this.mutex.run(async () => {})
    const closing = new Error('ledger storage is closing')
    for (const w of this.addWaiters.splice(0)) w.reject(closing)
    this.active.release()
    this.frozen?.cache.release()
    this.frozen = undefined
    await this.logs.close().catch((e) => this.opts.logger.warn('closing entry logs failed', {error: errorMessage(e)}))
    await this.index.close()
    if (flushError !== undefined) throw flushError
  }
}

function addResult(total: CompactionResult, r: CompactionResult): void {
  total.logsRemoved += r.logsRemoved
  total.entriesCopied += r.entriesCopied
  total.bytesCopied += r.bytesCopied
}

function toMeta(s: LedgerState): LedgerMeta {
  return {fenced: s.fenced, masterKey: s.masterKey, lac: s.lac, lastEntryId: s.lastEntryId}
}
