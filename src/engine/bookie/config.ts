/**
 * bookie.conf: the Java-properties file an operator writes for each bookie (BookKeeper key names, so
 * the DistributedLog `bookie.conf.template` and the cluster-setup guide work unchanged), turned into
 * the bookie server's settings and the core's options (options.ts).
 *
 * Keys the bookie uses are typed in BOOKIE_CONFIG_SCHEMA (an invalid value fails with file:line and
 * what was expected). Keys of the template that tune JVM BookKeeper internals (thread counts, netty,
 * GC details, ledger manager type...) are accepted quietly: they have no meaning here. Any other key
 * produces a warning, since it is most often a typo.
 */
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'

import {InvalidInputError, errorMessage} from '../common/errors.js'
import {type ConfigSchema, parseConfig, parseProperties} from '../common/properties.js'
import {BOOKIE_DEFAULTS, type BookieOptionsInput} from './options.js'

const MiB = 1024 * 1024

export const BOOKIE_CONFIG_SCHEMA = {
  zkServers: {type: 'string', default: 'localhost:2181', description: 'ZooKeeper connect string (host:port,...)'},
  zkLedgersRootPath: {type: 'string', default: '/ledgers', description: 'root znode of the bookkeeper metadata'},
  zkTimeout: {type: 'int', default: 10_000, min: 1000, max: 600_000, description: 'ZooKeeper session timeout (ms)'},
  bookiePort: {type: 'int', default: 3181, min: 0, max: 65535, description: 'port the bookie listens on (0: any free port)'},
  advertisedAddress: {
    type: 'string',
    default: '127.0.0.1',
    aliases: ['bookieHost'],
    description: 'address the bookie listens on and registers as <address>:<port>',
  },
  codahaleStatsHttpPort: {
    type: 'int',
    default: -1,
    min: -1,
    max: 65535,
    aliases: ['statsHttpPort'],
    description: 'port of the stats HTTP server (/ping, /metrics); -1 disables it, 0 picks a free port',
  },
  journalDirectories: {
    type: 'list',
    default: ['/tmp/bk-txn'] as string[],
    aliases: ['journalDirectory'],
    description: 'journal (write-ahead log) directories',
  },
  ledgerDirectories: {type: 'list', default: ['/tmp/bk-data'] as string[], description: 'entry log and index directories'},
  indexDirectories: {type: 'list', default: [] as string[], description: 'index directories (must equal ledgerDirectories)'},
  readOnlyModeEnabled: {
    type: 'bool',
    default: true,
    description: 'turn read-only when every ledger dir is full (false: shut down instead)',
  },
  diskUsageThreshold: {type: 'float', default: BOOKIE_DEFAULTS.diskUsageThreshold as number, min: 0.01, max: 1, description: 'full above this used fraction'},
  diskUsageLwmThreshold: {type: 'float', default: BOOKIE_DEFAULTS.diskUsageLwmThreshold as number, min: 0, max: 1, description: 'writable again below this'},
  diskCheckInterval: {type: 'int', default: BOOKIE_DEFAULTS.diskCheckIntervalMs as number, min: 1, max: 3_600_000, description: 'disk check period (ms)'},
  journalMaxGroupWaitMSec: {
    type: 'int',
    default: BOOKIE_DEFAULTS.journalGroupCommitWaitMs as number,
    min: 0,
    max: 10_000,
    description: 'group commit: longest wait before an fsync (ms)',
  },
  journalBufferedWritesThreshold: {
    type: 'int',
    default: BOOKIE_DEFAULTS.journalGroupCommitBytesMax as number,
    min: 1,
    max: 1024 * MiB,
    description: 'group commit: fsync once this many bytes wait',
  },
  journalBufferedEntriesThreshold: {
    type: 'int',
    default: BOOKIE_DEFAULTS.journalGroupCommitRecordsMax as number,
    min: 0,
    max: 1_000_000,
    description: 'group commit: fsync once this many entries wait (0: no count limit)',
  },
  journalInlineSyncRecordsMax: {
    type: 'int',
    default: BOOKIE_DEFAULTS.journalInlineSyncRecordsMax as number,
    min: 0,
    max: 1_000_000,
    description: 'journal batches of at most this many entries, with the disk idle, are fsynced on the main thread (lower latency for lone adds); 0: off',
  },
  journalMaxSizeMB: {
    type: 'int',
    default: BOOKIE_DEFAULTS.journalFileSizeBytesMax as number / MiB,
    min: 1,
    max: 65536,
    description: 'journal file size before it rolls (MiB)',
  },
  journalPreAllocSizeMB: {
    type: 'int',
    default: BOOKIE_DEFAULTS.journalPreallocateBytes as number / MiB,
    min: 0,
    max: 65536,
    description:
      'zeros written into each new journal file before use (MiB); a file rolls once they are used, so it also caps the file size; 0: no preallocation',
  },
  skipListSizeLimit: {
    type: 'int',
    default: BOOKIE_DEFAULTS.writeCacheBytesMax as number,
    min: 64 * 1024,
    max: 64 * 1024 * MiB,
    aliases: ['writeCacheSizeBytes'],
    description: 'write cache (memtable) size in bytes',
  },
  logSizeLimit: {type: 'int', default: BOOKIE_DEFAULTS.entryLogSizeBytesMax as number, min: 4096, max: 3 * 1024 * MiB, description: 'entry log size (bytes)'},
  flushInterval: {type: 'int', default: BOOKIE_DEFAULTS.flushIntervalMs as number, min: 1, max: 3_600_000, description: 'checkpoint period (ms)'},
  flushEntrylogBytes: {
    type: 'int',
    default: BOOKIE_DEFAULTS.flushEntrylogBytes as number,
    // BookKeeper's "0 or less disables": a negative value in a bookkeeper.conf means once per flush.
    min: Number.MIN_SAFE_INTEGER,
    max: 64 * 1024 * MiB,
    description: 'fdatasync the entry log after every this many bytes of a flush, so the journal never waits behind a whole flush (0 or less: once per flush)',
  },
  minorCompactionThreshold: {
    type: 'float',
    default: BOOKIE_DEFAULTS.compactionThreshold as number,
    min: 0,
    max: 1,
    description: 'compact entry logs with less live data than this fraction',
  },
  gcWaitTime: {
    type: 'int',
    default: 60_000,
    min: 0,
    max: 7 * 24 * 3_600_000,
    description:
      'garbage collection period (ms): local ledgers whose metadata is gone from ZooKeeper are deleted and their space compacted; 0 turns it off',
  },
  maxOutstandingRequestsPerConnection: {
    type: 'int',
    default: 4096,
    min: 1,
    max: 1_000_000,
    description: 'requests in flight per connection before the bookie stops reading from it',
  },
} satisfies ConfigSchema

/** Keys of the BookKeeper/DL templates that tune JVM internals: accepted without a warning, unused. */
const QUIET_KEYS = new Set([
  'ledgerManagerType', 'ledgerManagerFactoryClass', 'useHostNameAsBookieID', 'allowLoopback', 'listeningInterface',
  'numAddWorkerThreads', 'numReadWorkerThreads', 'numLongPollWorkerThreads', 'numJournalCallbackThreads',
  'numHighPriorityWorkerThreads', 'serverTcpNoDelay', 'serverSockKeepalive', 'serverTcpLinger', 'statsProviderClass',
  'enableStatistics', 'sortedLedgerStorageEnabled', 'ledgerStorageClass', 'journalRemoveFromPageCache',
  'journalAdaptiveGroupWrites', 'journalAlignmentSize', 'journalWriteBufferSizeKB',
  'journalSyncData', 'journalFlushWhenQueueEmpty', 'journalMaxGroupedEntriesToCommit', 'journalMaxBackups',
  'journalFormatVersionToWrite', 'entryLogFilePreallocationEnabled', 'gcInitialWaitTime',
  'minorCompactionInterval', 'majorCompactionInterval', 'majorCompactionThreshold', 'compactionRate',
  'compactionRateByEntries', 'compactionRateByBytes', 'compactionMaxOutstandingRequests', 'isForceGCAllowWhenNoSpace',
  'openFileLimit', 'pageSize', 'pageLimit', 'skipListArenaChunkSize', 'skipListArenaMaxAllocSize',
  'fileInfoCacheInitialCapacity', 'fileInfoMaxIdleTime', 'readBufferSizeBytes', 'writeBufferSizeBytes',
  'zkEnableSecurity', 'zkRetryBackoffStartMs', 'zkRetryBackoffMaxMs', 'autoRecoveryDaemonEnabled',
  'auditorPeriodicCheckInterval', 'auditorPeriodicBookieCheckInterval', 'rereplicationEntryBatchSize',
  'openLedgerRereplicationGracePeriod', 'lostBookieRecoveryDelay', 'bookieDeathWatchInterval',
  'nettyMaxFrameSizeBytes', 'byteBufAllocatorSizeInitial', 'byteBufAllocatorSizeMin', 'byteBufAllocatorSizeMax',
  'httpServerEnabled', 'httpServerPort', 'extraServerComponents', 'diskUsageWarnThreshold', 'maxPendingReadRequestsPerThread',
  'maxPendingAddRequestsPerThread', 'readOnlyModeOnAnyDiskFullEnabled', 'allowStorageExpansion', 'allowEphemeralPorts',
  'enableLocalTransport', 'disableServerSocketBind', 'readOnlyMode', 'forceReadOnlyBookie',
])

/** Everything the bookie process needs, from bookie.conf plus command-line flags. */
export interface BookieServerConfig {
  /** The file the settings came from (for messages), or '<inline>'. */
  source: string
  zkServers: string
  zkLedgersRootPath: string
  zkTimeoutMs: number
  bookiePort: number
  advertisedAddress: string
  /** -1: no stats server. */
  statsHttpPort: number
  journalDirs: string[]
  ledgerDirs: string[]
  /** Directories bookieformat wipes: ledger dirs plus any listed index dirs. */
  indexDirs: string[]
  /** Start read-only (`--readonly`). */
  forceReadOnly: boolean
  readOnlyModeEnabled: boolean
  outstandingRequestsPerConnectionMax: number
  /** Garbage collection period (BK gcWaitTime); 0: no garbage collection. */
  gcWaitTimeMs: number
  /** Options for the core (storage) part; the server adds clock, logger and readOnly. */
  core: BookieOptionsInput
}

export interface LoadedBookieConfig {
  config: BookieServerConfig
  warnings: string[]
}

/** Reads and checks a bookie.conf file. Relative directories are resolved against the current directory. */
export function loadBookieConfig(path: string, overrides: {forceReadOnly?: boolean} = {}): LoadedBookieConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new InvalidInputError(`cannot read bookie configuration ${path}: ${errorMessage(e)}`, {cause: e})
  }
  return parseBookieConfig(text, path, overrides)
}

export function parseBookieConfig(text: string, source = '<inline>', overrides: {forceReadOnly?: boolean} = {}): LoadedBookieConfig {
  const parsed = parseConfig(BOOKIE_CONFIG_SCHEMA, parseProperties(text, source), source, {ignoreKeys: (k) => QUIET_KEYS.has(k)})
  const v = parsed.values
  const warnings = [...parsed.warnings]
  const journalDirs = uniqueDirs(v.journalDirectories, `${source}: journalDirectories`)
  const ledgerDirs = uniqueDirs(v.ledgerDirectories, `${source}: ledgerDirectories`)
  const indexDirs = v.indexDirectories.length === 0 ? [] : uniqueDirs(v.indexDirectories, `${source}: indexDirectories`)
  if (indexDirs.length > 0 && indexDirs.join('\n') !== ledgerDirs.join('\n')) {
    warnings.push(`${source}: indexDirectories differ from ledgerDirectories; the index is kept in the first ledger directory`)
  }
  const root = v.zkLedgersRootPath
  if (!root.startsWith('/') || root === '/' || root.endsWith('/') || root.includes('//')) {
    throw new InvalidInputError(`${source}: zkLedgersRootPath '${root}' must be an absolute znode path like /ledgers`)
  }
  if (v.zkServers.trim() === '') throw new InvalidInputError(`${source}: zkServers is empty`)
  if (v.advertisedAddress.trim() === '' || /[\s/]/.test(v.advertisedAddress)) {
    throw new InvalidInputError(`${source}: advertisedAddress '${v.advertisedAddress}' is not a host name or address`)
  }
  if (v.diskUsageLwmThreshold > v.diskUsageThreshold) {
    throw new InvalidInputError(`${source}: diskUsageLwmThreshold ${v.diskUsageLwmThreshold} is above diskUsageThreshold ${v.diskUsageThreshold}`)
  }
  const forceReadOnly = overrides.forceReadOnly ?? false
  const config: BookieServerConfig = {
    source,
    zkServers: v.zkServers.trim(),
    zkLedgersRootPath: root,
    zkTimeoutMs: v.zkTimeout,
    bookiePort: v.bookiePort,
    advertisedAddress: v.advertisedAddress.trim(),
    statsHttpPort: v.codahaleStatsHttpPort,
    journalDirs,
    ledgerDirs,
    indexDirs,
    forceReadOnly,
    readOnlyModeEnabled: v.readOnlyModeEnabled,
    outstandingRequestsPerConnectionMax: v.maxOutstandingRequestsPerConnection,
    gcWaitTimeMs: v.gcWaitTime,
    core: {
      journalDirs,
      ledgerDirs,
      readOnly: forceReadOnly,
      diskUsageThreshold: v.diskUsageThreshold,
      diskUsageLwmThreshold: v.diskUsageLwmThreshold,
      diskCheckIntervalMs: v.diskCheckInterval,
      journalGroupCommitWaitMs: v.journalMaxGroupWaitMSec,
      journalInlineSyncRecordsMax: v.journalInlineSyncRecordsMax,
      journalGroupCommitBytesMax: v.journalBufferedWritesThreshold,
      // BookKeeper's 0 means "no count limit"; the core wants a bound, so use its largest.
      journalGroupCommitRecordsMax: v.journalBufferedEntriesThreshold === 0 ? 1_000_000 : v.journalBufferedEntriesThreshold,
      journalFileSizeBytesMax: v.journalMaxSizeMB * MiB,
      journalPreallocateBytes: v.journalPreAllocSizeMB * MiB,
      writeCacheBytesMax: v.skipListSizeLimit,
      entryLogSizeBytesMax: v.logSizeLimit,
      flushIntervalMs: v.flushInterval,
      flushEntrylogBytes: Math.max(0, v.flushEntrylogBytes),
      compactionThreshold: v.minorCompactionThreshold,
    },
  }
  return {config, warnings}
}

function uniqueDirs(dirs: readonly string[], what: string): string[] {
  if (dirs.length === 0) throw new InvalidInputError(`${what}: needs at least one directory`)
  const out = dirs.map((d) => resolve(d))
  const dup = out.find((d, i) => out.indexOf(d) !== i)
  if (dup !== undefined) throw new InvalidInputError(`${what}: directory ${dup} is listed twice`)
  return out
}

/**
 * The bookie.conf of a shell command: the --conf flag, else the BOOKIE_CONF environment variable
 * (DistributedLog's `BOOKIE_CONF=... dlog bkshell ...`).
 */
export function loadBookieConfigFrom(opts: {conf?: string; env?: NodeJS.ProcessEnv}): LoadedBookieConfig {
  const path = opts.conf ?? opts.env?.BOOKIE_CONF
  if (path === undefined || path === '') {
    throw new InvalidInputError('no bookie configuration: pass --conf <bookie.conf> or set BOOKIE_CONF')
  }
  return loadBookieConfig(path)
}

/** The bookie's identity in ZooKeeper and on the wire: `<advertisedAddress>:<port>`. */
export function bookieIdOf(address: string, port: number): string {
  return `${address}:${port}`
}
