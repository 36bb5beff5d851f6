/**
 * The bookie core (BookieCore, ./types.ts): the rules of a BookKeeper storage node over the journal
 * (storage/journal.ts) and ledger storage (storage/ledger-storage.ts). The bookie server calls it.
 *
 * - An add is verified (CRC32C: BAD_CHECKSUM), checked against the ledger's master key (fixed by the
 *   first add or fence: UNAUTHORIZED otherwise), its fence (FENCED unless a recovery add) and the
 *   read-only state (READ_ONLY), then journaled; it resolves only once the journal record is fsynced,
 *   after the entry is applied (write cache, LAC, last entry) so a read right after the ack finds it.
 * - A fence is set in memory at once (later adds are refused), journaled, and answered when durable.
 *   The fence record follows every add admitted before it in the same journal, and journal completions
 *   are applied in order, so when the fence resolves those adds are readable: recovery sees them.
 * - The LAC of a ledger is the max of the lac fields of its entries and of explicit LAC writes. An add's
 *   lac field counts from the moment the add is accepted, before its own journal record is durable (as in
 *   BookKeeper): it speaks of earlier entries, which the writer saw acknowledged by an ack quorum, so it
 *   is true whatever becomes of the add carrying it, and a tailing reader does not wait for a second
 *   fsync. Entries themselves are readable only once journaled and applied.
 * - Long-poll reads park (bounded) until the LAC reaches the wanted entry and, when that entry is on its
 *   way through this bookie's journal, until it is applied; or until their timer (injected Clock) fires.
 * - Read-only: forced by option/admin, or automatic when every ledger dir is past the usage threshold
 *   (checked periodically) or a journal/flush write fails (ENOSPC, EIO). Acknowledged entries stay
 *   readable: they are in the journal and the cache until a flush succeeds. Listeners hear each change
 *   so the server can re-register under readonly/.
 * - Restart: ledger storage opens at its checkpoint and each journal is replayed from there.
 */
import {assert} from '../common/assert.js'
import type {TimerHandle} from '../common/clock.js'
import {InvalidInputError, errorMessage} from '../common/errors.js'
import type {Logger} from '../common/logger.js'
import type {WalPosition, WalWaiter} from '../common/wal/types.js'
import {openWal} from '../common/wal/wal.js'
import {WalBrokenError, WalOverloadedError} from '../common/wal/errors.js'
import {BookieError, BookieStatus} from '../protocol/bookie/codes.js'
import {ENTRY_HEADER_BYTES, decodeEntryHeader} from '../protocol/bookie/entry.js'
import type {BookieOptions, BookieOptionsInput} from './options.js'
import {resolveBookieOptions} from './options.js'
import {checkDataDir} from './storage/dirs.js'
import {isDiskFullError} from './storage/disk-ops.js'
import {
  JOURNAL_RECORD_BYTES_MAX,
  Journal,
  JournalRecordType,
  MASTER_KEY_BYTES_MAX,
  decodeJournalRecord,
  encodeDeleteRecord,
  encodeFenceRecord,
  encodeKeyRecord,
  encodeLacRecord,
  entryRecordCrc,
} from './storage/journal.js'
import type {CompactionResult, LedgerState} from './storage/ledger-storage.js'
import {LedgerStorage, TooManyWaitersError} from './storage/ledger-storage.js'
import type {
  AddCallback,
  AddEntryRequest,
  BookieCore,
  BookieInfo,
  LongPollReadRequest,
  LongPollReadResult,
  ReadEntryRequest,
} from './types.js'
import {LAC_NONE} from './types.js'

/** Why a bookie is read-only: forced by its operator, or turned so by a full or failing disk. */
export type ReadOnlyReason = 'forced' | 'disk-full' | 'io-error'
export type ReadOnlyListener = (readOnly: boolean, reason: ReadOnlyReason | undefined) => void

interface LongPoll {
  ledgerId: number
  entryId: number
  timer: TimerHandle | undefined
  resolve(r: LongPollReadResult): void
  reject(e: unknown): void
}

export interface BookieStats {
  adds: number
  reads: number
  cacheBytes: number
  frozenBytes: number
  addWaiters: number
  longPolls: number
  entryLogs: number
  ledgers: number
  journalFsyncs: number
}

const LONG_POLL_TIMEOUT_MS_MAX = 10 * 60_000

/** The entry was accepted by this bookie but is not applied yet (it is in the journal's queue). */
function awaitsApply(state: LedgerState, entryId: number): boolean {
  return entryId > state.lastEntryId && entryId <= state.receivedEntryId
}

function bad(message: string): BookieError {
  return new BookieError(BookieStatus.BAD_REQUEST, message)
}

/**
 * An int64 id of the entry header at `at` (-1 or a safe integer), or undefined when out of range. The
 * add path's parse: two 32-bit reads instead of BigInt, same rules as protocol/bookie/entry.ts.
 */
function readHeaderId(buf: Buffer, at: number): number | undefined {
  const hi = buf.readInt32BE(at)
  const lo = buf.readUInt32BE(at + 4)
  if (hi === -1 && lo === 0xffffffff) return -1
  if (hi < 0 || hi > 0x1fffff) return undefined
  return hi * 2 ** 32 + lo
}

function checkLedgerId(ledgerId: number): void {
  if (!Number.isSafeInteger(ledgerId) || ledgerId < 0) throw bad(`ledger id ${ledgerId} is not a non-negative safe integer`)
}

function checkMasterKey(key: Buffer | undefined): Buffer {
  if (!Buffer.isBuffer(key)) throw bad('a master key is required')
  if (key.length > MASTER_KEY_BYTES_MAX) throw bad(`master key of ${key.length} bytes exceeds ${MASTER_KEY_BYTES_MAX}`)
  return key
}

/** addEntry()'s callback: settles its promise. */
class PromiseAdd implements AddCallback {
  readonly addDone: () => void
  readonly addFailed: (e: unknown) => void

  constructor(resolve: () => void, reject: (e: unknown) => void) {
    this.addDone = resolve
    this.addFailed = reject
  }
}

/** An add on its way through the journal: the WAL tells it when its record is durable. */
class JournalAdd implements WalWaiter {
  readonly bookie: Bookie
  readonly state: LedgerState
  readonly journalIndex: number
  readonly entryId: number
  readonly lac: number
  readonly entry: Buffer
  readonly done: AddCallback

  constructor(bookie: Bookie, state: LedgerState, journalIndex: number, entryId: number, lac: number, entry: Buffer, done: AddCallback) {
    this.bookie = bookie
    this.state = state
    this.journalIndex = journalIndex
    this.entryId = entryId
    this.lac = lac
    this.entry = entry
    this.done = done
  }

  walDone(fileId: number, offset: number): void {
    this.bookie.addDurable(this, fileId, offset)
  }

  walFailed(error: unknown): void {
    this.bookie.addLost(this, error)
  }
}

export class Bookie implements BookieCore {
  readonly options: BookieOptions
  private readonly log: Logger
  private readonly storage: LedgerStorage
  private readonly journal: Journal
  private readonly longPolls = new Map<number, LongPoll[]>()
  private longPollCount = 0
  /** Journal appends not yet settled; close() waits for them (a counter: the add path stays cheap). */
  private inflight = 0
  private inflightDrained: (() => void) | undefined
  private readOnlyForced: boolean
  private readOnlyAuto: 'disk-full' | 'io-error' | undefined
  private journalBroken = false
  private readonly readOnlyListeners = new Set<ReadOnlyListener>()
  private diskTimer: TimerHandle | undefined
  private diskCheckRunning: Promise<void> | undefined
  private closing = false
  private closed: Promise<void> | undefined
  private adds = 0
  private reads = 0

  private constructor(options: BookieOptions, storage: LedgerStorage, journal: Journal) {
    this.options = options
    this.log = options.logger.child('bookie')
    this.storage = storage
    this.journal = journal
    this.readOnlyForced = options.readOnly
  }

  /** Checks the dirs, opens storage at its checkpoint, replays the journals, and starts background work. */
  static async open(input: BookieOptionsInput): Promise<Bookie> {
    const options = resolveBookieOptions(input)
    const log = options.logger.child('bookie')
    for (const dir of options.journalDirs) await checkDataDir(dir, 'journal')
    // Assigned once storage and journal are open; storage callbacks reach the bookie through it.
    const ref: {bookie?: Bookie} = {}
    const storage = await LedgerStorage.open({
      ledgerDirs: options.ledgerDirs,
      writeCacheBytesMax: options.writeCacheBytesMax,
      entryLogSizeBytesMax: options.entryLogSizeBytesMax,
      flushIntervalMs: options.flushIntervalMs,
      flushEntrylogBytes: options.flushEntrylogBytes,
      compactionThreshold: options.compactionThreshold,
      compactionIntervalMs: options.compactionIntervalMs,
      addWaitersMax: options.addWaitersMax,
      readFilesOpenMax: options.readFilesOpenMax,
      diskOps: options.diskOps,
      clock: options.clock,
      logger: log.child('storage'),
      onCheckpoint: (positions) => ref.bookie?.reclaimJournal(positions) ?? Promise.resolve(),
      onFlushError: (e, allDirsFull) => ref.bookie?.flushFailed(e, allDirsFull),
      onFlushRecovered: () => ref.bookie?.maybeWritable(),
    })
    let journal: Journal
    try {
      journal = await Journal.open({
        dirs: options.journalDirs,
        fileSizeBytesMax: options.journalFileSizeBytesMax,
        preallocateBytes: options.journalPreallocateBytes,
        groupCommitBytesMax: options.journalGroupCommitBytesMax,
        groupCommitRecordsMax: options.journalGroupCommitRecordsMax,
        groupCommitWaitMs: options.journalGroupCommitWaitMs,
        inlineSyncRecordsMax: options.journalInlineSyncRecordsMax,
        openWal: options.openWal ?? ((o) => openWal({...o, clock: options.clock, logger: log.child('journal')})),
      })
    } catch (e) {
      await storage.close({checkpoint: false}).catch(() => {})
      throw e
    }
    const bookie = new Bookie(options, storage, journal)
    ref.bookie = bookie
    try {
      await bookie.replay()
      await bookie.checkDisks()
    } catch (e) {
      await bookie.abandon().catch(() => {})
      throw e
    }
    bookie.scheduleDiskCheck()
    log.info('bookie core open', {ledgers: storage.ledgers.size, readOnly: bookie.isReadOnly()})
    return bookie
  }

  // ---- BookieCore ----

  addEntry(req: AddEntryRequest): Promise<void> {
    // A refusal thrown by addEntryWith inside the executor becomes the rejection.
    return new Promise<void>((resolve, reject) => this.addEntryWith(req.entry, req.masterKey, req.recovery, new PromiseAdd(resolve, reject)))
  }

  /**
   * The add path without promises (what the server calls): checks the entry, then journals it; `done`
   * hears when it is durable and applied, or why it failed. Refusals known at once (bad entry, bad
   * key, fenced, read-only...) are thrown as BookieError. The entry's CRC32C is verified here, in the
   * same native pass that computes its journal record's CRC (entryRecordCrc).
   */
  addEntryWith(entry: Buffer, masterKey: Buffer, recovery: boolean, done: AddCallback): void {
    this.checkOpen()
    if (this.isReadOnly()) throw new BookieError(BookieStatus.READ_ONLY, 'bookie is read-only')
    if (!Buffer.isBuffer(entry) || entry.length < ENTRY_HEADER_BYTES) throw bad('entry is shorter than its header')
    if (entry.length > JOURNAL_RECORD_BYTES_MAX) throw bad(`entry of ${entry.length} bytes is too large`)
    const ledgerId = readHeaderId(entry, 0)
    const entryId = readHeaderId(entry, 8)
    const lac = readHeaderId(entry, 16)
    if (ledgerId === undefined || entryId === undefined || lac === undefined) throw bad('entry header has an id out of range')
    if (ledgerId < 0 || entryId < 0) throw bad(`entry ${ledgerId}/${entryId} has a negative id`)
    const crc = entryRecordCrc(entry)
    if (crc < 0) throw new BookieError(BookieStatus.BAD_CHECKSUM, `entry ${ledgerId}/${entryId} fails its CRC32C`)
    const key = checkMasterKey(masterKey)
    const state = this.storage.ledgers.get(ledgerId)
    this.checkKey(state, ledgerId, key)
    if (state?.fenced && !recovery) throw new BookieError(BookieStatus.FENCED, `ledger ${ledgerId} is fenced`)
    const j = this.journal.indexOf(ledgerId)
    if (state?.masterKey !== undefined && this.storage.tryAdmit(entry.length)) {
      // The common case: a known ledger, room in the cache: journal now.
      this.journalAdd(state, j, entryId, lac, entry, crc, done)
      return
    }
    this.addSlowly(entry, key, recovery, ledgerId, entryId, lac, crc, done).catch((e: unknown) => done.addFailed(e))
  }

  /**
   * An add that must first fix the ledger's master key or wait for write-cache space. Its entry record
   * is still journaled through journalAdd, so its ack comes in journal order with the adds around it.
   */
  private async addSlowly(
    entry: Buffer,
    masterKey: Buffer,
    recovery: boolean,
    ledgerId: number,
    entryId: number,
    lac: number,
    crc: number,
    done: AddCallback,
  ): Promise<void> {
    const j = this.journal.indexOf(ledgerId)
    let state = this.storage.ledgers.get(ledgerId)
    let wait: Promise<void> | undefined
    try {
      wait = this.storage.admit(entry.length)
    } catch (e) {
      if (e instanceof TooManyWaitersError) throw new BookieError(BookieStatus.TOO_MANY_REQUESTS, e.message)
      throw e
    }
    if (wait) {
      try {
        await wait
      } catch (e) {
        throw new BookieError(BookieStatus.IO_ERROR, errorMessage(e), {cause: e})
      }
      // The world may have moved while this add waited for cache space: check again, synchronously
      // with the journal append below, so a fence journaled meanwhile is never overtaken.
      try {
        this.checkOpen()
        if (this.isReadOnly()) throw new BookieError(BookieStatus.READ_ONLY, 'bookie is read-only')
        state = this.storage.ledgers.get(ledgerId)
        this.checkKey(state, ledgerId, masterKey)
        if (state?.fenced && !recovery) throw new BookieError(BookieStatus.FENCED, `ledger ${ledgerId} is fenced`)
      } catch (e) {
        this.storage.unadmit(entry.length)
        throw e
      }
    }
    if (!state?.masterKey) {
      state = this.storage.ensureLedger(ledgerId)
      // The key record goes first in the same journal: if it fails, so does the entry record after it,
      // and that failure is what the caller hears.
      this.setKey(state, j, masterKey).catch(() => {})
    }
    this.journalAdd(state, j, entryId, lac, entry, crc, done)
  }

  /** Journals an admitted entry; `done` hears once it is durable and applied. Throws immediate refusals. */
  private journalAdd(state: LedgerState, j: number, entryId: number, lac: number, entry: Buffer, crc: number, done: AddCallback): void {
    const wal = this.journal.wals[j]
    if (wal?.appendWaiting === undefined) {
      // A WAL without the waiter API (a test's wrapper): the promise path.
      this.appendRecord(j, entry, () => this.applyEntry(state, entryId, lac, entry, true), () => this.storage.unadmit(entry.length)).then(
        () => {
          this.adds++
          done.addDone()
        },
        (e: unknown) => {
          this.inFlightLost(state)
          done.addFailed(e)
        },
      )
      this.received(state, entryId, lac)
      return
    }
    const add = new JournalAdd(this, state, j, entryId, lac, entry, done)
    // Counted before the append: a WAL may settle the add within appendWaiting (an inline flush that
    // fails), and what addLost undoes must already be there.
    const receivedBefore = state.receivedEntryId
    this.received(state, entryId, lac)
    this.inflight++
    try {
      wal.appendWaiting(entry, add, crc)
    } catch (e) {
      this.settled()
      this.storage.unadmit(entry.length)
      // Refused: not on its way after all (its lac field stays counted: it is true all the same).
      state.receivedEntryId = receivedBefore
      this.wakeLongPolls(state)
      throw this.journalFailed(e)
    }
  }

  /**
   * An add is on its way to the journal: its lac field counts now (see the module comment). Polls for
   * entries up to the LAC that this bookie holds are answered; those whose entry is still in the journal
   * wait for it to be applied.
   */
  private received(state: LedgerState, entryId: number, lac: number): void {
    if (entryId > state.receivedEntryId) state.receivedEntryId = entryId
    if (lac > state.lac) {
      // Persisted with the ledger's next flush like any LAC: a true statement even if this add is lost.
      state.lac = lac
      this.wakeLongPolls(state)
    }
  }

  /** A journaled add is durable: apply it (cache, LAC, long polls), then tell the caller. */
  addDurable(add: JournalAdd, fileId: number, offset: number): void {
    this.settled()
    this.applyEntry(add.state, add.entryId, add.lac, add.entry, true)
    this.storage.noteAppliedAt(add.journalIndex, fileId, offset)
    this.adds++
    add.done.addDone()
  }

  addLost(add: JournalAdd, error: unknown): void {
    this.settled()
    this.storage.unadmit(add.entry.length)
    this.inFlightLost(add.state)
    add.done.addFailed(this.journalFailed(error))
  }

  /**
   * An add left the journal without being applied: the journal is broken, so every add of the ledger
   * still in it is lost too (on the promise path it may only have been refused; later adds that land
   * count again). Polls stop waiting for them, now and later, and get what this bookie has: the LAC,
   * and the reader reads the entry from another replica.
   */
  private inFlightLost(state: LedgerState): void {
    state.receivedEntryId = state.lastEntryId
    this.wakeLongPolls(state)
  }

  async readEntry(req: ReadEntryRequest): Promise<Buffer> {
    this.checkOpen()
    checkLedgerId(req.ledgerId)
    if (!Number.isSafeInteger(req.entryId) || req.entryId < -1) throw bad(`entry id ${req.entryId} is out of range`)
    if (req.fence) await this.fence(req.ledgerId, checkMasterKey(req.masterKey))
    const state = this.storage.ledgers.get(req.ledgerId)
    if (!state) throw new BookieError(BookieStatus.NO_LEDGER, `no ledger ${req.ledgerId} on this bookie`)
    // Entry id -1 reads the last entry this bookie has for the ledger.
    const entryId = req.entryId === -1 ? state.lastEntryId : req.entryId
    const entry = entryId < 0 ? undefined : await this.readStored(req.ledgerId, entryId)
    if (!entry) throw new BookieError(BookieStatus.NO_ENTRY, `no entry ${req.ledgerId}/${req.entryId} on this bookie`)
    this.reads++
    return entry
  }

  async longPollRead(req: LongPollReadRequest): Promise<LongPollReadResult> {
    this.checkOpen()
    checkLedgerId(req.ledgerId)
    if (!Number.isSafeInteger(req.entryId) || req.entryId < 0) throw bad(`entry id ${req.entryId} is out of range`)
    if (!Number.isFinite(req.timeoutMs) || req.timeoutMs < 0 || req.timeoutMs > LONG_POLL_TIMEOUT_MS_MAX) {
      throw bad(`long-poll timeout ${req.timeoutMs} ms is outside [0, ${LONG_POLL_TIMEOUT_MS_MAX}]`)
    }
    const state = this.storage.ledgers.get(req.ledgerId)
    const lac = state?.lac ?? LAC_NONE
    if (state && lac >= req.entryId && !awaitsApply(state, req.entryId)) return this.longPollAnswer(req.ledgerId, req.entryId)
    if (req.timeoutMs === 0) return {lac}
    if (this.longPollCount >= this.options.longPollWaitersMax) {
      throw new BookieError(BookieStatus.TOO_MANY_REQUESTS, `${this.longPollCount} long-poll reads are already waiting`)
    }
    // A ledger this bookie has not seen yet may still get entries: the wait is bounded by the timeout.
    return new Promise<LongPollReadResult>((resolve, reject) => {
      const poll: LongPoll = {ledgerId: req.ledgerId, entryId: req.entryId, timer: undefined, resolve, reject}
      poll.timer = this.options.clock.setTimeout(() => {
        poll.timer = undefined
        if (!this.removeLongPoll(poll)) return
        resolve({lac: this.storage.ledgers.get(req.ledgerId)?.lac ?? LAC_NONE})
      }, req.timeoutMs)
      let list = this.longPolls.get(req.ledgerId)
      if (!list) {
        list = []
        this.longPolls.set(req.ledgerId, list)
      }
      list.push(poll)
      this.longPollCount++
    })
  }

  async readLac(ledgerId: number): Promise<number> {
    this.checkOpen()
    checkLedgerId(ledgerId)
    const state = this.storage.ledgers.get(ledgerId)
    if (!state) throw new BookieError(BookieStatus.NO_LEDGER, `no ledger ${ledgerId} on this bookie`)
    return state.lac
  }

  async writeLac(ledgerId: number, masterKey: Buffer, lac: number): Promise<void> {
    this.checkOpen()
    checkLedgerId(ledgerId)
    if (!Number.isSafeInteger(lac) || lac < -1) throw bad(`LAC ${lac} is out of range`)
    checkMasterKey(masterKey)
    if (this.isReadOnly()) throw new BookieError(BookieStatus.READ_ONLY, 'bookie is read-only')
    await this.writeLedgerRecord(ledgerId, masterKey, encodeLacRecord(ledgerId, lac), (s) => this.applyLac(s, lac))
  }

  async fence(ledgerId: number, masterKey: Buffer): Promise<number> {
    this.checkOpen()
    checkLedgerId(ledgerId)
    checkMasterKey(masterKey)
    // Fencing is allowed on a read-only bookie: it only ever refuses writes, and recovery needs it.
    // A bookie that never got an entry of the ledger still records the fence (and the key), so a late
    // add from the old writer is refused here too. The flag is set before journaling: adds stop now.
    const s = await this.writeLedgerRecord(ledgerId, masterKey, encodeFenceRecord(ledgerId), undefined, (state) => {
      state.fenced = true
      this.storage.markDirty(state)
    })
    return s.lac
  }

  async info(): Promise<BookieInfo> {
    this.checkOpen()
    const seen = new Set<number>()
    let freeDiskBytes = 0
    let totalDiskBytes = 0
    for (const dir of this.options.ledgerDirs) {
      const u = await this.options.diskOps.usage(dir)
      if (seen.has(u.deviceId)) continue
      seen.add(u.deviceId)
      freeDiskBytes += u.freeBytes
      totalDiskBytes += u.totalBytes
    }
    return {freeDiskBytes, totalDiskBytes, readOnly: this.isReadOnly()}
  }

  isReadOnly(): boolean {
    return this.readOnlyForced || this.readOnlyAuto !== undefined
  }

  // ---- beyond BookieCore: admin, GC, tests ----

  /** Why the bookie is read-only, or undefined when writable. */
  readOnlyReason(): ReadOnlyReason | undefined {
    return this.readOnlyForced ? 'forced' : this.readOnlyAuto
  }

  /** Forces read-only on or off (admin). Turning it off does not clear a disk-driven read-only state. */
  setReadOnly(readOnly: boolean): void {
    this.changeReadOnly(() => {
      this.readOnlyForced = readOnly
    })
  }

  /** Calls `listener` whenever the bookie turns read-only or writable; returns an unsubscribe function. */
  onReadOnlyChange(listener: ReadOnlyListener): () => void {
    this.readOnlyListeners.add(listener)
    return () => this.readOnlyListeners.delete(listener)
  }

  /** Ledger ids this bookie holds (for the garbage collector, which compares them with ZooKeeper). */
  listLedgers(): number[] {
    return [...this.storage.ledgers.keys()].sort((a, b) => a - b)
  }

  /**
   * Deletes a ledger (called by GC once the ledger is gone from ZooKeeper): the delete is journaled,
   * the index pages and metadata go, and compaction later reclaims entry log space.
   */
  async deleteLedger(ledgerId: number): Promise<void> {
    this.checkOpen()
    checkLedgerId(ledgerId)
    const j = this.journal.indexOf(ledgerId)
    await this.storage.deleteLedger(ledgerId, async () => {
      let pos: WalPosition
      try {
        pos = await this.journal.append(j, encodeDeleteRecord(ledgerId))
      } catch (e) {
        throw this.journalFailed(e)
      }
      this.storage.noteApplied(j, pos)
    })
    const polls = this.longPolls.get(ledgerId) ?? []
    for (const p of [...polls]) {
      this.removeLongPoll(p)
      p.reject(new BookieError(BookieStatus.NO_LEDGER, `ledger ${ledgerId} was deleted`))
    }
    this.storage.compactSoon()
  }

  /** Flushes the write cache to entry logs and checkpoints the journal now. */
  async checkpoint(): Promise<void> {
    this.checkOpen()
    await this.storage.checkpoint()
  }

  /** Compacts entry logs whose live data fell under the threshold; resolves when done. */
  async compact(): Promise<CompactionResult> {
    this.checkOpen()
    return this.storage.compact()
  }

  /** Checks the ledger dirs' usage now (also runs every diskCheckIntervalMs). */
  async checkDisks(): Promise<void> {
    if (this.diskCheckRunning) return this.diskCheckRunning
    this.diskCheckRunning = this.runDiskCheck().finally(() => {
      this.diskCheckRunning = undefined
    })
    return this.diskCheckRunning
  }

  stats(): BookieStats {
    const s = this.storage.stats()
    return {
      adds: this.adds,
      reads: this.reads,
      cacheBytes: s.cacheBytes,
      frozenBytes: s.frozenBytes,
      addWaiters: s.addWaiters,
      longPolls: this.longPollCount,
      entryLogs: s.entryLogs,
      ledgers: this.storage.ledgers.size,
      journalFsyncs: this.journal.wals.reduce((n, w) => n + w.stats().fsyncs, 0),
    }
  }

  /** Clean shutdown: waits for in-flight writes, checkpoints, closes files. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown(true)
    return this.closed
  }

  /**
   * Closes files without a checkpoint, as if the process had died after its last fsync: what is in
   * the write cache is dropped and must come back from the journal on the next open. For tests.
   */
  abandon(): Promise<void> {
    this.closed ??= this.shutdown(false)
    return this.closed
  }

  // ---- internals ----

  private checkOpen(): void {
    if (this.closing) throw new BookieError(BookieStatus.IO_ERROR, 'bookie is shutting down')
  }

  private checkKey(state: LedgerState | undefined, ledgerId: number, masterKey: Buffer): void {
    if (state?.masterKey && !state.masterKey.equals(masterKey)) {
      throw new BookieError(BookieStatus.UNAUTHORIZED, `master key does not match ledger ${ledgerId}'s`)
    }
  }

  /** Fixes the ledger's master key now (so other keys are refused at once) and journals it. */
  private setKey(state: LedgerState, j: number, masterKey: Buffer): Promise<void> {
    assert(state.masterKey === undefined, 'master key is set once')
    state.masterKey = Buffer.from(masterKey)
    this.storage.markDirty(state)
    return this.appendRecord(j, encodeKeyRecord(state.ledgerId, masterKey), undefined)
  }

  /**
   * Journals a record of one ledger, fixing the master key first if the ledger has none. `now` runs
   * before the append; `apply` once the record is durable, in journal order.
   */
  private async writeLedgerRecord(
    ledgerId: number,
    masterKey: Buffer,
    record: Buffer,
    apply: ((s: LedgerState) => void) | undefined,
    now?: (s: LedgerState) => void,
  ): Promise<LedgerState> {
    let state = this.storage.ledgers.get(ledgerId)
    this.checkKey(state, ledgerId, masterKey)
    const j = this.journal.indexOf(ledgerId)
    let keyWrite: Promise<void> | undefined
    if (!state?.masterKey) {
      state = this.storage.ensureLedger(ledgerId)
      keyWrite = this.setKey(state, j, masterKey)
    }
    const s = state
    now?.(s)
    const applied = this.appendRecord(j, record, apply && (() => apply(s)))
    await (keyWrite ? Promise.all([keyWrite, applied]) : applied)
    return s
  }

  /**
   * Appends a journal record; once it is durable, runs `apply` and notes the position. The callbacks
   * are attached at append time, so completions apply in journal order.
   */
  private appendRecord(j: number, record: Buffer, apply: (() => void) | undefined, onFail?: () => void): Promise<void> {
    this.inflight++
    return this.journal.append(j, record).then(
      (pos) => {
        this.settled()
        apply?.()
        this.storage.noteApplied(j, pos)
      },
      (e: unknown) => {
        this.settled()
        onFail?.()
        throw this.journalFailed(e)
      },
    )
  }

  private settled(): void {
    this.inflight--
    if (this.inflight === 0 && this.inflightDrained) this.inflightDrained()
  }

  /** Applies a journaled add: into the cache, then LAC and last entry; wakes long polls. */
  private applyEntry(state: LedgerState, entryId: number, lac: number, entry: Buffer, reserved: boolean): void {
    if (this.storage.ledgers.get(state.ledgerId) !== state) {
      // Deleted while the record was being journaled: nothing to keep.
      if (reserved) this.storage.unadmit(entry.length)
      return
    }
    this.storage.putEntry(state.ledgerId, entryId, entry, reserved)
    if (entryId > state.lastEntryId) state.lastEntryId = entryId
    if (entryId > state.receivedEntryId) state.receivedEntryId = entryId
    this.storage.markDirty(state)
    if (lac > state.lac) state.lac = lac
    // The LAC usually moved when the next add arrived; the polls for this entry waited for it to land.
    this.wakeLongPolls(state)
  }

  private applyLac(state: LedgerState, lac: number): void {
    if (lac <= state.lac) return
    state.lac = lac
    this.storage.markDirty(state)
    this.wakeLongPolls(state)
  }

  private async readStored(ledgerId: number, entryId: number): Promise<Buffer | undefined> {
    try {
      return await this.storage.getEntry(ledgerId, entryId)
    } catch (e) {
      this.log.error('reading an entry failed', {ledgerId, entryId, error: errorMessage(e)})
      throw new BookieError(BookieStatus.IO_ERROR, `reading entry ${ledgerId}/${entryId} failed: ${errorMessage(e)}`, {cause: e})
    }
  }

  private async longPollAnswer(ledgerId: number, entryId: number): Promise<LongPollReadResult> {
    const entry = await this.readStored(ledgerId, entryId)
    // The LAC is read after the entry so it is never older than the entry returned.
    const lac = this.storage.ledgers.get(ledgerId)?.lac ?? LAC_NONE
    return entry ? {lac, entry} : {lac}
  }

  /** Answers the polls the LAC covers, except those whose entry is still in the journal. */
  private wakeLongPolls(state: LedgerState): void {
    const list = this.longPolls.get(state.ledgerId)
    if (!list) return
    for (const p of [...list]) {
      if (p.entryId > state.lac || awaitsApply(state, p.entryId)) continue
      this.removeLongPoll(p)
      this.longPollAnswer(p.ledgerId, p.entryId).then(p.resolve, p.reject)
    }
  }

  /** Takes a poll off the waiting list and stops its timer; false when it was already gone. */
  private removeLongPoll(p: LongPoll): boolean {
    const list = this.longPolls.get(p.ledgerId)
    const i = list ? list.indexOf(p) : -1
    if (!list || i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) this.longPolls.delete(p.ledgerId)
    this.longPollCount--
    if (p.timer) this.options.clock.clearTimeout(p.timer)
    p.timer = undefined
    return true
  }

  private journalFailed(e: unknown): BookieError {
    if (e instanceof BookieError) return e
    if (e instanceof WalOverloadedError) return new BookieError(BookieStatus.TOO_MANY_REQUESTS, e.message, {cause: e})
    if (e instanceof InvalidInputError) return new BookieError(BookieStatus.BAD_REQUEST, e.message, {cause: e})
    if (!this.closing) {
      if (e instanceof WalBrokenError) this.journalBroken = true
      const full = isDiskFullError(e) || isDiskFullError((e as {cause?: unknown})?.cause)
      this.log.error('journal write failed: turning read-only', {error: errorMessage(e), diskFull: full})
      this.setAutoReadOnly(full ? 'disk-full' : 'io-error')
    }
    return new BookieError(BookieStatus.IO_ERROR, `journal write failed: ${errorMessage(e)}`, {cause: e})
  }

  private flushFailed(e: unknown, allDirsFull: boolean): void {
    if (allDirsFull) this.setAutoReadOnly('disk-full')
    else if (!isDiskFullError(e)) this.setAutoReadOnly('io-error')
  }

  private async reclaimJournal(positions: Map<number, WalPosition>): Promise<void> {
    for (const [j, pos] of positions) {
      const wal = this.journal.wals[j]
      if (wal) await wal.reclaim(pos)
    }
  }

  private changeReadOnly(change: () => void): void {
    const before = this.isReadOnly()
    change()
    const after = this.isReadOnly()
    if (before === after) return
    this.log.warn(after ? 'bookie is read-only' : 'bookie is writable again', {reason: this.readOnlyReason()})
    for (const l of [...this.readOnlyListeners]) {
      try {
        l(after, this.readOnlyReason())
      } catch (e) {
        this.log.error('read-only listener failed', {error: errorMessage(e)})
      }
    }
  }

  private setAutoReadOnly(reason: 'disk-full' | 'io-error' | undefined): void {
    this.changeReadOnly(() => {
      this.readOnlyAuto = reason
    })
  }

  private async runDiskCheck(): Promise<void> {
    const {diskUsageThreshold, diskUsageLwmThreshold, ledgerDirs, diskOps} = this.options
    const full = this.storage.dirFull
    for (let i = 0; i < ledgerDirs.length; i++) {
      try {
        const u = await diskOps.usage(ledgerDirs[i] as string)
        const used = u.totalBytes > 0 ? 1 - u.freeBytes / u.totalBytes : 1
        if (used > diskUsageThreshold) full[i] = true
        else if (used < diskUsageLwmThreshold) full[i] = false
      } catch (e) {
        this.log.warn('disk check failed', {dir: ledgerDirs[i], error: errorMessage(e)})
        full[i] = true
      }
    }
    const allFull = full.every((f) => f)
    if (allFull) {
      if (this.readOnlyAuto === undefined) this.setAutoReadOnly('disk-full')
      return
    }
    // Some dir has room: retry a failed flush, and turn writable again unless the journal is broken.
    if (this.storage.flushFailed) this.storage.kickFlush()
    this.maybeWritable()
  }

  /** Lifts an automatic read-only state once storage works, some dir has room and the journal is whole. */
  private maybeWritable(): void {
    if (this.readOnlyAuto === undefined || this.journalBroken || this.storage.flushFailed) return
    if (this.storage.dirFull.every((f) => f)) return
    this.setAutoReadOnly(undefined)
  }

  private scheduleDiskCheck(): void {
    const tick = (): void => {
      if (this.closing) return
      this.checkDisks()
        .catch((e) => this.log.warn('disk check failed', {error: errorMessage(e)}))
        .finally(() => {
          if (!this.closing) this.scheduleDiskCheck()
        })
    }
    this.diskTimer = this.options.clock.setTimeout(tick, this.options.diskCheckIntervalMs)
    this.diskTimer.unref()
  }

  /** Replays every journal from the checkpoint, re-applying records (idempotently). */
  private async replay(): Promise<void> {
    const deleted = new Set<number>()
    this.storage.replaying = true
    try {
      for (let j = 0; j < this.journal.count; j++) {
        const from = this.storage.checkpoints.get(j)
        let records = 0
        const wal = this.journal.wals[j]
        assert(wal, `no journal ${j}`)
        await wal.replay(from, (payload, pos) => {
          // The record at the checkpoint position itself was applied before the checkpoint.
          if (from && pos.fileId === from.fileId && pos.offset === from.offset) return
          this.replayRecord(payload, deleted)
          this.storage.noteApplied(j, pos)
          records++
        })
        this.log.info('journal replayed', {journal: j, records, from})
      }
    } finally {
      this.storage.replaying = false
    }
    for (const ledgerId of deleted) await this.storage.dropLedgerIndex(ledgerId)
    this.storage.kickFlush()
  }

  private replayRecord(payload: Buffer, deleted: Set<number>): void {
    const r = decodeJournalRecord(payload)
    switch (r.type) {
      case JournalRecordType.ENTRY: {
        const h = decodeEntryHeader(r.entry)
        this.applyEntry(this.storage.ensureLedger(h.ledgerId), h.entryId, h.lac, r.entry, false)
        return
      }
      case JournalRecordType.KEY: {
        const s = this.storage.ensureLedger(r.ledgerId)
        if (!s.masterKey) {
          s.masterKey = Buffer.from(r.masterKey)
          this.storage.markDirty(s)
        }
        return
      }
      case JournalRecordType.FENCE: {
        const s = this.storage.ensureLedger(r.ledgerId)
        s.fenced = true
        this.storage.markDirty(s)
        return
      }
      case JournalRecordType.LAC:
        this.applyLac(this.storage.ensureLedger(r.ledgerId), r.lac)
        return
      case JournalRecordType.DELETE:
        this.storage.forgetLedger(r.ledgerId)
        deleted.add(r.ledgerId)
        return
    }
  }

  private async shutdown(checkpoint: boolean): Promise<void> {
    this.closing = true
    if (this.diskTimer) this.options.clock.clearTimeout(this.diskTimer)
    for (const list of [...this.longPolls.values()]) {
      for (const p of [...list]) {
        this.removeLongPoll(p)
        p.resolve({lac: this.storage.ledgers.get(p.ledgerId)?.lac ?? LAC_NONE})
      }
    }
    // In-flight journal writes finish (or fail) before the final checkpoint, so it covers them.
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.inflightDrained = resolve))
    if (this.diskCheckRunning) await this.diskCheckRunning.catch(() => {})
    let error: unknown
    try {
      await this.storage.close({checkpoint: checkpoint && !this.storage.flushFailed})
    } catch (e) {
      error = e
    }
    try {
      await this.journal.close()
    } catch (e) {
      error ??= e
    }
    if (error !== undefined && checkpoint) throw error
  }
}

/** Opens a bookie core (see Bookie.open). */
export function openBookie(input: BookieOptionsInput): Promise<Bookie> {
  return Bookie.open(input)
}
