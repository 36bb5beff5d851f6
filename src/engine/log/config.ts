/**
 * The DistributedLog configuration: what an operator writes in distributedlog.conf / write_proxy.conf
 * (the original's key names and old aliases, so shipped templates load unchanged) turned into one typed
 * `DistributedLogConfig` whose field names carry their units (`periodicFlushIntervalMs`).
 *
 * Keys are the original's (distributedlog.md §5.4) with its code defaults. Second-based keys become
 * milliseconds here. Keys of the templates that tune JVM internals (thread pools, stats, allocator
 * pools, proxy service limits) are accepted quietly; any other unknown key is a warning, since it is most
 * often a typo. A log may override part of the namespace's configuration (`withLogOverrides`).
 */
import {InvalidInputError} from '../common/errors.js'
import {type ConfigSchema, type ConfigValues, parseConfig, parseProperties} from '../common/properties.js'

const MiB = 1024 * 1024
const INT_MAX = 2_147_483_647

export const CompressionType = {NONE: 'none', LZ4: 'lz4'} as const
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType]

export interface DistributedLogConfig {
  // --- write path (§5.2) ---
  /** Bytes of user records buffered before an entry is transmitted; 0 transmits every write. */
  writerOutputBufferBytes: number
  /** Background flush period (transmit buffered data, then a control record so readers see it); 0 = off. */
  periodicFlushIntervalMs: number
  /** After each acknowledged user entry, write a control record at once so the LAC advances. */
  immediateFlushEnabled: boolean
  /** Rate limit of immediate and size-triggered flushes; 0 = none. */
  immediateFlushDelayMinMs: number
  /** A keepalive control record when nothing was transmitted for this long; 0 = off. */
  periodicKeepAliveMs: number
  compressionType: CompressionType
  /** Bound for flushAndSync / commit. */
  logFlushTimeoutMs: number
  /** Writes accepted but not yet acknowledged, per segment writer; beyond it writes are rejected. -1 = built-in cap. */
  outstandingWritesMax: number
  /** When false, writes resolve with InvalidDLSN at once (the original's isDurableWriteEnabled). */
  durableWriteEnabled: boolean
  /** TransactionIdOutOfOrder checks across segments (the original's maxIdSanityCheck). */
  txidSanityCheckEnabled: boolean
  createStreamIfNotExists: boolean
  writeLockEnabled: boolean
  /** How long a writer waits for the lock of a log another writer holds; 0 = fail at once. */
  lockTimeoutMs: number
  // --- segments, retention (§5.3) ---
  /** Time-based rolling when > 0, else size-based on logSegmentBytesMax. */
  logSegmentRollingMinutes: number
  logSegmentBytesMax: number
  /** Completed segments older than this are deleted when a new segment starts; 0 = keep forever. */
  logSegmentRetentionHours: number
  /** Retention only deletes segments the application truncated. */
  explicitTruncationByApp: boolean
  firstLogSegmentSequenceNo: number
  // --- ledgers ---
  ensembleSize: number
  writeQuorumSize: number
  ackQuorumSize: number
  /** Ledger password (the original's digestPw). */
  ledgerPassword: string
  ledgerWriteTimeoutMs: number
  ledgerReadTimeoutMs: number
  // --- ZooKeeper ---
  zkSessionTimeoutMs: number
  zkRetriesMax: number
  // --- read path (§6) ---
  /** Long-poll bound when a reader is caught up on an in-progress segment. */
  readLACLongPollTimeoutMs: number
  readAheadEnabled: boolean
  /**
   * Entries a reader keeps decoded ahead of the application: entries, not records, as in the original
   * (whose key says records); the reader also stops at 100,000 records or 16 MiB of payloads.
   */
  readAheadRecordsMax: number
  /** The least read-ahead window of a segment reader (entries), with prefetchEntriesPerSegment. */
  readAheadBatchEntries: number
  /** How long a blocking sync readNext waits when caught up before returning null. */
  readAheadWaitTimeMs: number
  readAheadWaitTimeOnEndOfStreamMs: number
  /**
   * A segment reader's read-ahead window (entries cached or being read): it starts at the first and
   * doubles up to the second while the application keeps outrunning it (also bounded at 8 MiB).
   */
  prefetchEntriesPerSegment: number
  prefetchEntriesPerSegmentMax: number
  readerIdleWarnThresholdMs: number
  /** No progress for this long while data exists → IdleReaderError. */
  readerIdleErrorThresholdMs: number
  deserializeRecordSetOnReads: boolean
  positionGapDetectionEnabled: boolean
  ignoreTruncationStatus: boolean
  alertPositionOnTruncated: boolean
  unpartitionedStreamName: string
}

/** The property keys (the original's), typed, with its code defaults. */
export const DL_CONFIG_SCHEMA = {
  writerOutputBufferSize: {type: 'int', default: 1024, min: 0, max: INT_MAX, aliases: ['output-buffer-size'], description: 'entry buffer bytes (0 = transmit every write)'},
  periodicFlushFrequencyMilliSeconds: {type: 'int', default: 6, min: 0, max: 3_600_000, description: 'periodic flush period (ms, 0 = off). Default 6 as the shipped distributedlog.conf (the code default of the original is 0, which leaves a lone small write unacknowledged until more data fills the buffer)'},
  enableImmediateFlush: {type: 'bool', default: false, description: 'commit after each acknowledged entry'},
  minimumDelayBetweenImmediateFlushMilliSeconds: {type: 'int', default: 0, min: 0, max: 3_600_000, description: 'rate limit of flushes (ms)'},
  periodicKeepAliveMilliSeconds: {type: 'int', default: 0, min: 0, max: 3_600_000, description: 'keepalive control record period (ms, 0 = off)'},
  compressionType: {type: 'string', default: 'none', description: 'entry codec: none or lz4'},
  logFlushTimeoutSeconds: {type: 'int', default: 30, min: 1, max: 86_400, description: 'flush bound (s)'},
  perWriterOutstandingWriteLimit: {type: 'int', default: -1, min: -1, max: INT_MAX, description: 'pending writes per writer (-1 = built-in cap)'},
  isDurableWriteEnabled: {type: 'bool', default: true, description: 'wait for bookie acknowledgement'},
  maxIdSanityCheck: {type: 'bool', default: true, description: 'reject decreasing transaction ids'},
  createStreamIfNotExists: {type: 'bool', default: true, description: 'create a log on first open'},
  writeLockEnabled: {type: 'bool', default: true, description: 'single-writer lock'},
  lockTimeoutSeconds: {type: 'int', default: 30, min: 0, max: 86_400, description: 'lock wait (s, 0 = fail at once)'},
  logSegmentRollingMinutes: {type: 'int', default: 120, min: 0, max: INT_MAX, aliases: ['rolling-interval'], description: 'time-based rolling (min, 0 = size-based)'},
  maxLogSegmentBytes: {type: 'int', default: 256 * MiB, min: 1, max: Number.MAX_SAFE_INTEGER, description: 'size-based rolling (bytes)'},
  logSegmentRetentionHours: {type: 'int', default: 72, min: 0, max: INT_MAX, aliases: ['retention-size'], description: 'retention (h, 0 = forever)'},
  explicitTruncationByApp: {type: 'bool', default: false, description: 'retention deletes only truncated segments'},
  firstLogsegmentSequenceNumber: {type: 'int', default: 1, min: 1, max: Number.MAX_SAFE_INTEGER, aliases: ['firstLogSegmentSequenceNumber'], description: 'sequence number of a log\'s first segment'},
  bkcEnsembleSize: {type: 'int', default: 3, min: 1, max: 64, aliases: ['ensemble-size'], description: 'ledger ensemble size'},
  bkcWriteQuorumSize: {type: 'int', default: 3, min: 1, max: 64, aliases: ['write-quorum-size'], description: 'ledger write quorum'},
  bkcAckQuorumSize: {type: 'int', default: 2, min: 1, max: 64, aliases: ['ack-quorum-size'], description: 'ledger ack quorum'},
  digestPw: {type: 'string', default: '', description: 'ledger password'},
  bkcWriteTimeoutSeconds: {type: 'int', default: 10, min: 1, max: 3600, description: 'bookie add timeout (s)'},
  bkcReadTimeoutSeconds: {type: 'int', default: 10, min: 1, max: 3600, description: 'bookie read timeout (s)'},
  zkSessionTimeoutSeconds: {type: 'int', default: 30, min: 1, max: 3600, description: 'ZooKeeper session timeout (s)'},
  zkNumRetries: {type: 'int', default: 3, min: 0, max: 1000, description: 'ZooKeeper operation retries'},
  readLACLongPollTimeout: {type: 'int', default: 1000, min: 1, max: 600_000, description: 'long poll bound (ms)'},
  enableReadAhead: {type: 'bool', default: true, description: 'read ahead'},
  readAheadMaxRecords: {type: 'int', default: 10, min: 1, max: 1_000_000, aliases: ['ReadAheadMaxEntries'], description: 'entries kept decoded ahead of the application (the original counts entries too, despite the name); at most 100000 records / 16 MiB'},
  readAheadBatchSize: {type: 'int', default: 2, min: 1, max: 10_000, aliases: ['ReadAheadBatchSize'], description: 'least read-ahead window of a segment reader (entries)'},
  readAheadWaitTime: {type: 'int', default: 200, min: 0, max: 600_000, aliases: ['ReadAheadWaitTime'], description: 'blocking readNext wait when caught up (ms)'},
  readAheadWaitTimeOnEndOfStream: {type: 'int', default: 10_000, min: 0, max: 600_000, description: 'wait at end of stream (ms)'},
  numPrefetchEntriesPerLogSegment: {type: 'int', default: 4, min: 1, max: 10_000, description: 'initial read-ahead window of a segment reader (entries)'},
  maxPrefetchEntriesPerLogSegment: {type: 'int', default: 32, min: 1, max: 10_000, description: 'read-ahead window a segment reader grows to while the application keeps up (entries, at most 8 MiB)'},
  readerIdleWarnThresholdMillis: {type: 'int', default: 120_000, min: 0, max: INT_MAX, description: 'idle reader warning (ms)'},
  readerIdleErrorThresholdMillis: {type: 'int', default: INT_MAX, min: 0, max: INT_MAX, description: 'idle reader error (ms)'},
  deserializeRecordSetOnReads: {type: 'bool', default: true, description: 'expand record sets on read'},
  positionGapDetectionEnabled: {type: 'bool', default: false, description: 'fail on a gap in record positions'},
  ignoreTruncationStatus: {type: 'bool', default: false, description: 'read truncated segments'},
  alertPositionOnTruncated: {type: 'bool', default: true, description: 'alert when positioned into truncated data'},
  unpartitionedStreamName: {type: 'string', default: '<default>', description: 'name of a log\'s single partition'},
} satisfies ConfigSchema

/** Keys of the shipped templates that tune parts of the JVM implementation we do not have. */
const QUIET_KEYS = new Set([
  'bkcNumWorkerThreads', 'bkcZKNumRetries', 'bkcZKRetryMaxBackoffMillis', 'bkcZKRetryStartBackoffMillis',
  'bkcZKSessionTimeoutSeconds', 'bpsHardServiceLimit', 'bpsStreamAcquireServiceLimit', 'dynamicConfigReloadIntervalSec',
  'enableLedgerAllocatorPool', 'enablePerStreamStat', 'enableTaskExecutionStats', 'encodeDCIDInVersion', 'encodeRegionIDInVersion',
  'globalOutstandingWriteLimit', 'ledger-metadata-layout', 'ledgerMetadataLayoutVersion', 'ledgerAllocatorPoolCoreSize',
  'ledgerAllocatorPoolName', 'ledgerAllocatorPoolPath', 'logSegmentNameVersion', 'logSegmentRollingConcurrency',
  'maxAcquiredPartitionsPerProxy', 'numWorkerThreads', 'outstandingWriteLimitDarkmode', 'recoverLogSegmentsInBackground',
  'rpsHardServiceLimit', 'rpsHardWriteLimit', 'rpsSoftWriteLimit', 'bpsHardWriteLimit', 'bpsSoftWriteLimit', 'sanityCheckDelete',
  'server_dlsn_version', 'server_enable_perstream_stat', 'server_graceful_shutdown_period_ms', 'server_mode', 'server_threads',
  'serviceTimeoutMs', 'streamProbationTimeoutMs', 'taskExecutionWarnTimeMicros', 'zkRetryMaxBackoffMillis', 'zkRetryStartBackoffMillis',
  'readLACLongPoll', 'enableRecordCounts', 'logSegmentSequenceNumberValidationEnabled', 'failFastOnStreamNotReady',
  'lockReacquireTimeoutSeconds', 'lockOpTimeoutSeconds', 'logSegmentCacheTTLMs', 'logSegmentCacheMaxSize', 'bkRowAwareEnsemblePlacement',
])

type DLValues = ConfigValues<typeof DL_CONFIG_SCHEMA>

/** Property key → typed field; every schema key has exactly one field. */
const KEY_TO_FIELD = {
  writerOutputBufferSize: 'writerOutputBufferBytes',
  periodicFlushFrequencyMilliSeconds: 'periodicFlushIntervalMs',
  enableImmediateFlush: 'immediateFlushEnabled',
  minimumDelayBetweenImmediateFlushMilliSeconds: 'immediateFlushDelayMinMs',
  periodicKeepAliveMilliSeconds: 'periodicKeepAliveMs',
  compressionType: 'compressionType',
  logFlushTimeoutSeconds: 'logFlushTimeoutMs',
  perWriterOutstandingWriteLimit: 'outstandingWritesMax',
  isDurableWriteEnabled: 'durableWriteEnabled',
  maxIdSanityCheck: 'txidSanityCheckEnabled',
  createStreamIfNotExists: 'createStreamIfNotExists',
  writeLockEnabled: 'writeLockEnabled',
  lockTimeoutSeconds: 'lockTimeoutMs',
  logSegmentRollingMinutes: 'logSegmentRollingMinutes',
  maxLogSegmentBytes: 'logSegmentBytesMax',
  logSegmentRetentionHours: 'logSegmentRetentionHours',
  explicitTruncationByApp: 'explicitTruncationByApp',
  firstLogsegmentSequenceNumber: 'firstLogSegmentSequenceNo',
  bkcEnsembleSize: 'ensembleSize',
  bkcWriteQuorumSize: 'writeQuorumSize',
  bkcAckQuorumSize: 'ackQuorumSize',
  digestPw: 'ledgerPassword',
  bkcWriteTimeoutSeconds: 'ledgerWriteTimeoutMs',
  bkcReadTimeoutSeconds: 'ledgerReadTimeoutMs',
  zkSessionTimeoutSeconds: 'zkSessionTimeoutMs',
  zkNumRetries: 'zkRetriesMax',
  readLACLongPollTimeout: 'readLACLongPollTimeoutMs',
  enableReadAhead: 'readAheadEnabled',
  readAheadMaxRecords: 'readAheadRecordsMax',
  readAheadBatchSize: 'readAheadBatchEntries',
  readAheadWaitTime: 'readAheadWaitTimeMs',
  readAheadWaitTimeOnEndOfStream: 'readAheadWaitTimeOnEndOfStreamMs',
  numPrefetchEntriesPerLogSegment: 'prefetchEntriesPerSegment',
  maxPrefetchEntriesPerLogSegment: 'prefetchEntriesPerSegmentMax',
  readerIdleWarnThresholdMillis: 'readerIdleWarnThresholdMs',
  readerIdleErrorThresholdMillis: 'readerIdleErrorThresholdMs',
  deserializeRecordSetOnReads: 'deserializeRecordSetOnReads',
  positionGapDetectionEnabled: 'positionGapDetectionEnabled',
  ignoreTruncationStatus: 'ignoreTruncationStatus',
  alertPositionOnTruncated: 'alertPositionOnTruncated',
  unpartitionedStreamName: 'unpartitionedStreamName',
} as const satisfies Record<keyof typeof DL_CONFIG_SCHEMA, keyof DistributedLogConfig>

/** Keys in seconds; the typed fields are milliseconds. */
const SECONDS_KEYS: ReadonlySet<string> = new Set([
  'logFlushTimeoutSeconds', 'lockTimeoutSeconds', 'bkcWriteTimeoutSeconds', 'bkcReadTimeoutSeconds', 'zkSessionTimeoutSeconds',
])

function fieldValue(key: string, raw: unknown, where: string): unknown {
  if (SECONDS_KEYS.has(key)) return (raw as number) * 1000
  if (key === 'compressionType') {
    const codec = String(raw).toLowerCase()
    if (codec !== CompressionType.NONE && codec !== CompressionType.LZ4) {
      throw new InvalidInputError(`${where}: compressionType must be none or lz4, got '${String(raw)}'`)
    }
    return codec
  }
  return raw
}

function fromValues(v: DLValues, where: string): DistributedLogConfig {
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(KEY_TO_FIELD)) out[field] = fieldValue(key, (v as Record<string, unknown>)[key], where)
  const config = out as unknown as DistributedLogConfig
  validateConfig(config, where)
  return config
}

/** Cross-field checks (a quorum larger than the ensemble would fail every ledger creation later). */
export function validateConfig(c: DistributedLogConfig, where = 'configuration'): void {
  if (c.writeQuorumSize > c.ensembleSize) {
    throw new InvalidInputError(`${where}: write quorum ${c.writeQuorumSize} is larger than the ensemble ${c.ensembleSize}`)
  }
  if (c.ackQuorumSize > c.writeQuorumSize) {
    throw new InvalidInputError(`${where}: ack quorum ${c.ackQuorumSize} is larger than the write quorum ${c.writeQuorumSize}`)
  }
  if (c.prefetchEntriesPerSegment > c.prefetchEntriesPerSegmentMax) {
    throw new InvalidInputError(
      `${where}: numPrefetchEntriesPerLogSegment ${c.prefetchEntriesPerSegment} exceeds maxPrefetchEntriesPerLogSegment ${c.prefetchEntriesPerSegmentMax}`,
    )
  }
}

const SCHEMA_DEFAULTS = Object.fromEntries(Object.entries(DL_CONFIG_SCHEMA).map(([k, spec]) => [k, spec.default])) as DLValues

/** The original's code defaults. */
export const DL_CONFIG_DEFAULTS: Readonly<DistributedLogConfig> = Object.freeze(fromValues(SCHEMA_DEFAULTS, 'defaults'))

export interface ParsedDistributedLogConfig {
  config: DistributedLogConfig
  /** Only the fields the text set (what a per-log override file contributes). */
  explicit: Partial<DistributedLogConfig>
  warnings: string[]
}

const isQuietKey = (k: string): boolean => QUIET_KEYS.has(k) || k.startsWith('bkc.') || k.startsWith('zkc.')

/**
 * Parses distributedlog.conf text over `base` (the code defaults unless given); an invalid value is an
 * InvalidInputError naming the source and line.
 */
export function parseDistributedLogConfig(text: string, source = '<inline>', base: DistributedLogConfig = DL_CONFIG_DEFAULTS): ParsedDistributedLogConfig {
  const parsed = parseConfig(DL_CONFIG_SCHEMA, parseProperties(text, source), source, {ignoreKeys: isQuietKey})
  const explicit: Record<string, unknown> = {}
  for (const key of parsed.explicit) {
    const field = KEY_TO_FIELD[key]
    explicit[field] = fieldValue(key, parsed.values[key], source)
  }
  const config = {...base, ...explicit} as DistributedLogConfig
  validateConfig(config, source)
  return {config, explicit: explicit as Partial<DistributedLogConfig>, warnings: parsed.warnings}
}

/**
 * The configuration one log runs with: the namespace's, with the log's overrides on top (a log may keep
 * its data longer, roll faster, or compress). Undefined override fields are ignored.
 */
export function withLogOverrides(base: DistributedLogConfig, overrides: Partial<DistributedLogConfig> | undefined): DistributedLogConfig {
  if (!overrides) return base
  const merged: Record<string, unknown> = {...base}
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue
    if (!(k in base)) throw new InvalidInputError(`unknown log configuration field '${k}'`)
    merged[k] = v
  }
  const config = merged as unknown as DistributedLogConfig
  validateConfig(config, 'log configuration override')
  return config
}
