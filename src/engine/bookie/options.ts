/**
 * The bookie core's options: one typed object with every default in one place. The bookie.conf parser
 * (another module) maps config keys onto these fields; tests and the local cluster pass them directly.
 * Sizes are bytes, durations milliseconds; resolveBookieOptions() checks ranges and names the bad field.
 */
import type {Clock} from '../common/clock.js'
import {systemClock} from '../common/clock.js'
import {InvalidInputError} from '../common/errors.js'
import type {Logger} from '../common/logger.js'
import {silentLogger} from '../common/logger.js'
import type {WalOptions, WriteAheadLog} from '../common/wal/types.js'
import type {DiskOps} from './storage/disk-ops.js'
import {nodeDiskOps} from './storage/disk-ops.js'

export interface BookieOptions {
  /** Journal directories (BK journalDirectories); a ledger's records always go to journal ledgerId % n. */
  journalDirs: string[]
  /** Ledger directories (BK ledgerDirectories): entry logs are spread over them; the index lives in the first. */
  ledgerDirs: string[]
  /** Memory for entries not yet flushed to entry logs, split in two halves (one filling, one flushing). */
  writeCacheBytesMax: number
  /** An entry log is rolled once it passes this size (BK logSizeLimit). At most 3 GiB (offsets are 32-bit). */
  entryLogSizeBytesMax: number
  /** Checkpoint (flush the write cache, persist the index and journal position) at least this often. */
  flushIntervalMs: number
  /**
   * A flush fdatasyncs the entry log after every this many bytes instead of once at its end (0: once).
   * A flush is up to half the write cache; syncing it in one go queues that much data on the disk ahead
   * of the journal's next fdatasync, which then waits for all of it (tens of ms on a shared disk).
   */
  flushEntrylogBytes: number
  /** Journal file size before rolling (BK journalMaxSizeMB). */
  journalFileSizeBytesMax: number
  /**
   * Zeros written into each new journal file before it takes records (BK journalPreAllocSizeMB): a
   * file rolls once they are used up, so this is also the effective file size when smaller than
   * journalFileSizeBytesMax. Overwriting preallocated blocks makes each fsync cheaper than growing
   * the file; 0 turns preallocation off. At first start a bookie writes about this much plus 1 MiB.
   */
  journalPreallocateBytes: number
  /** Group commit: flush once this many bytes wait (BK journalBufferedWritesThreshold). */
  journalGroupCommitBytesMax: number
  /** Group commit: flush once this many records wait (BK journalBufferedEntriesThreshold). */
  journalGroupCommitRecordsMax: number
  /** Group commit: flush no later than this after the first waiting record (BK journalMaxGroupWaitMSec). */
  journalGroupCommitWaitMs: number
  /**
   * A journal batch of at most this many records found with the disk idle is written and fdatasynced
   * on the event-loop thread instead of the threadpool (common/wal inlineSyncRecordsMax): it cuts a
   * lone add's latency by two thread hand-offs. 0 turns it off.
   */
  journalInlineSyncRecordsMax: number
  /** A ledger dir is full above this used fraction; when all are full the bookie turns read-only. */
  diskUsageThreshold: number
  /** A read-only (disk full) bookie turns writable again once some ledger dir is below this used fraction. */
  diskUsageLwmThreshold: number
  diskCheckIntervalMs: number
  /** Start read-only (BK readOnlyModeEnabled + forced); stays read-only until setReadOnly(false). */
  readOnly: boolean
  /** An entry log whose live bytes fall under this fraction of its size is compacted. */
  compactionThreshold: number
  /** How often compaction looks for candidates (it also runs after each deleteLedger). */
  compactionIntervalMs: number
  /** Bound on long-poll reads parked at once; more are refused with TOO_MANY_REQUESTS. */
  longPollWaitersMax: number
  /** Bound on adds waiting for write-cache space; more are refused with TOO_MANY_REQUESTS. */
  addWaitersMax: number
  /** Open entry log files kept for reads. */
  readFilesOpenMax: number
  clock: Clock
  logger: Logger
  /** File operations of the entry logs and disk checks (tests inject faults such as ENOSPC). */
  diskOps: DiskOps
  /** Opens one journal WAL; defaults to common/wal's openWal. Tests wrap it to inject faults. */
  openWal?: (opts: WalOptions) => Promise<WriteAheadLog>
}

export type BookieOptionsInput = Partial<BookieOptions> & Pick<BookieOptions, 'journalDirs' | 'ledgerDirs'>

const MiB = 1024 * 1024

export const BOOKIE_DEFAULTS = {
  writeCacheBytesMax: 64 * MiB,
  entryLogSizeBytesMax: 512 * MiB,
  flushIntervalMs: 1000,
  // Write-cache slabs are 1 MiB and never quite full: 512 KiB syncs after each of them.
  flushEntrylogBytes: 512 * 1024,
  journalFileSizeBytesMax: 64 * MiB,
  journalPreallocateBytes: 16 * MiB,
  journalGroupCommitBytesMax: 512 * 1024,
  journalGroupCommitRecordsMax: 2048,
  journalGroupCommitWaitMs: 0,
  journalInlineSyncRecordsMax: 2,
  diskUsageThreshold: 0.95,
  diskUsageLwmThreshold: 0.9,
  diskCheckIntervalMs: 10_000,
  readOnly: false,
  compactionThreshold: 0.5,
  compactionIntervalMs: 10 * 60_000,
  longPollWaitersMax: 10_000,
  addWaitersMax: 100_000,
  readFilesOpenMax: 64,
} as const

/** Entry logs address entries with 32-bit offsets; a log may overshoot the limit by one cache slab. */
export const ENTRY_LOG_SIZE_BYTES_LIMIT = 3 * 1024 * MiB
/** Smallest write cache: two halves that each hold one largest entry. */
export const WRITE_CACHE_BYTES_MIN = 64 * 1024

function checkRange(name: string, v: number, min: number, max: number): void {
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new InvalidInputError(`bookie option ${name}=${v} is out of range [${min}, ${max}]`)
  }
}

export function resolveBookieOptions(input: BookieOptionsInput): BookieOptions {
  const o: BookieOptions = {
    ...BOOKIE_DEFAULTS,
    clock: systemClock,
    logger: silentLogger,
    diskOps: nodeDiskOps,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  } as BookieOptions
  if (!Array.isArray(o.journalDirs) || o.journalDirs.length === 0) {
    throw new InvalidInputError('bookie option journalDirs needs at least one directory')
  }
  if (!Array.isArray(o.ledgerDirs) || o.ledgerDirs.length === 0) {
    throw new InvalidInputError('bookie option ledgerDirs needs at least one directory')
  }
  if (o.journalDirs.length > 64) throw new InvalidInputError('bookie option journalDirs has more than 64 directories')
  if (o.ledgerDirs.length > 64) throw new InvalidInputError('bookie option ledgerDirs has more than 64 directories')
  checkRange('writeCacheBytesMax', o.writeCacheBytesMax, WRITE_CACHE_BYTES_MIN, 64 * 1024 * MiB)
  checkRange('entryLogSizeBytesMax', o.entryLogSizeBytesMax, 4096, ENTRY_LOG_SIZE_BYTES_LIMIT)
  checkRange('flushIntervalMs', o.flushIntervalMs, 1, 3_600_000)
  checkRange('flushEntrylogBytes', o.flushEntrylogBytes, 0, 64 * 1024 * MiB)
  checkRange('journalFileSizeBytesMax', o.journalFileSizeBytesMax, 4096, 64 * 1024 * MiB)
  checkRange('journalPreallocateBytes', o.journalPreallocateBytes, 0, 64 * 1024 * MiB)
  checkRange('journalGroupCommitBytesMax', o.journalGroupCommitBytesMax, 1, 1024 * MiB)
  checkRange('journalGroupCommitRecordsMax', o.journalGroupCommitRecordsMax, 1, 1_000_000)
  checkRange('journalGroupCommitWaitMs', o.journalGroupCommitWaitMs, 0, 10_000)
  checkRange('journalInlineSyncRecordsMax', o.journalInlineSyncRecordsMax, 0, 1_000_000)
  checkRange('diskUsageThreshold', o.diskUsageThreshold, 0.01, 1)
  checkRange('diskUsageLwmThreshold', o.diskUsageLwmThreshold, 0, o.diskUsageThreshold)
  checkRange('diskCheckIntervalMs', o.diskCheckIntervalMs, 1, 3_600_000)
  checkRange('compactionThreshold', o.compactionThreshold, 0, 1)
  checkRange('compactionIntervalMs', o.compactionIntervalMs, 1, 7 * 24 * 3_600_000)
  checkRange('longPollWaitersMax', o.longPollWaitersMax, 1, 10_000_000)
  checkRange('addWaitersMax', o.addWaitersMax, 1, 10_000_000)
  checkRange('readFilesOpenMax', o.readFilesOpenMax, 1, 100_000)
  return o
}
