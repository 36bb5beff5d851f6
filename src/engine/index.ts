/**
 * The engine's public surface: the only module src/commands and src/cli import, and what the
 * package exports as a library.
 */
export * from './common/index.js'
export * from './zookeeper/client/index.js'
export * from './zookeeper/server/config.js'
export * from './metrics/index.js'
export {
  BOOKIE_CONFIG_SCHEMA,
  type BookieServerConfig,
  bookieIdOf,
  type LoadedBookieConfig,
  loadBookieConfig,
  loadBookieConfigFrom,
  parseBookieConfig,
} from './bookie/config.js'
export {
  AdminRefusedError,
  BOOKIEFORMAT_PROMPT,
  bookieformat,
  bookieInfo,
  type BookieInfoRow,
  type FormatOutcome,
  listBookies,
  type ListedBookie,
  METAFORMAT_PROMPT,
  metaformat,
} from './bookie/admin.js'
export {InvalidCookieError} from './bookie/cookie.js'
export {BookieRegistrationError} from './bookie/registration.js'
export {BookieServer} from './bookie/server/bookie-server.js'
export {BookieService, type BookieServiceOptions} from './bookie/server/bookie-service.js'
export {BookieConnectionError, BookieWireClient} from './net/bookie-wire-client.js'
export * from './zookeeper/server/index.js'
export {Bookie, type BookieStats, openBookie, type ReadOnlyListener, type ReadOnlyReason} from './bookie/bookie.js'
export {BOOKIE_DEFAULTS, type BookieOptions, type BookieOptionsInput, resolveBookieOptions} from './bookie/options.js'
export type {CompactionResult} from './bookie/storage/ledger-storage.js'
export * from './zookeeper/server/persistence/file-persistence.js'
export {ClusterError, ClusterErrorCode} from './cluster/errors.js'
export {
  Sandbox,
  SANDBOX_BOOKIES_DEFAULT,
  SANDBOX_BOOKIES_MAX,
  SANDBOX_NAMESPACE_PATH,
  type SandboxBookie,
  type SandboxComponent,
  type SandboxOptions,
} from './cluster/sandbox.js'
export {isPidAlive} from './cluster/pids.js'
export {DLSN, DLSN_BYTES} from './log/dlsn.js'
export * from './log/errors.js'
export {INVALID_TXID, type LogSegmentMetadata, MAX_TXID, TruncationStatus} from './log/types.js'
export {DEFAULT_ZK_PORT, type NamespaceUri, parseNamespaceUri} from './log/uri.js'
export {
  bindAllToOneEnsemble,
  bindingConfigJson,
  bindingsEqual,
  decodeBinding,
  encodeBinding,
  makeBinding,
  type NamespaceBinding,
  readBindingAt,
  resolveBinding,
  type ResolvedBinding,
  unbindNamespace,
  writeBinding,
} from './log/metadata/binding.js'
export {formatTxId, segmentToString} from './log/metadata/segment-format.js'
export {isReservedStreamName, validateLogName} from './log/metadata/paths.js'
export {ZkLogMetadataStore} from './log/metadata/zk-log-metadata-store.js'
export {ZkWriteLock} from './log/lock/zk-write-lock.js'
export {
  defaultClientId,
  type FeatureProvider,
  type LedgerClientFactory,
  Namespace,
  NamespaceBuilder,
  type NamespaceOptions,
} from './log/namespace.js'
export {
  CompressionType,
  DL_CONFIG_DEFAULTS,
  type DistributedLogConfig,
  parseDistributedLogConfig,
  withLogOverrides,
} from './log/config.js'
export {logRecordToString} from './log/record/enveloped-entry.js'
export {LogRecordSetBuilder, decodeRecordSet} from './log/record/record-set.js'
export {MAX_LOGRECORD_SIZE, MAX_LOGRECORDSET_SIZE} from './log/record/log-record.js'
export {
  LedgerError,
  LedgerErrorCode,
  ledgerErrorName,
  LedgerFencedError,
  MetadataVersionError,
  NoSuchLedgerError,
  NotEnoughBookiesError,
} from './ledger/errors.js'
export {
  type BookieId,
  type BookiePlacement,
  type BookieTransport,
  type CreateLedgerOptions,
  type EnsembleSegment,
  LEDGER_CLIENT_DEFAULTS,
  type LedgerClientApi,
  type LedgerClientConfig,
  type LedgerContext,
  type LedgerEntry,
  type LedgerMetadata,
  type LedgerMetadataStore,
  type LedgerState,
  type ReadHandle,
  type Versioned,
  type WriteHandle,
} from './ledger/types.js'
export {readLedgerMetadataMany, updateLedgerMetadata, ZkLedgerMetadataStore} from './ledger/zk-metadata-store.js'
export {ZkBookiePlacement} from './ledger/placement.js'
export {idgenPath, isLedgerId, LEDGER_ID_MAX, ledgerIdFromPath, ledgerPath} from './protocol/ledger/layout.js'
export {decodeLedgerMetadata, encodeLedgerMetadata, ledgerMetadataView, type LedgerMetadataView} from './protocol/ledger/metadata-format.js'
export {expandStreamExpression, parseDlsnArg, STREAMS_PER_EXPRESSION_MAX} from './log/stream-expression.js'
export {
  DAEMON_SERVICES,
  type DaemonService,
  type DaemonSettings,
  daemonFiles,
  daemonSettings,
  parseDaemonService,
  startDaemon,
  stopDaemon,
} from './cluster/daemon.js'
export {LedgerClient, type LedgerClientConnectOptions, resolveLedgerClientConfig} from './ledger/ledger-client.js'
export {LogManager, openLog, type LogContext} from './log/log-manager.js'
export {AsyncLogWriter, LogWriter, type LogWriterContext} from './log/writer/log-writer.js'
export {AsyncLogReader, LogReader, type LogReaderContext, type ReadPosition} from './log/reader/log-reader.js'
export type {LogRecord, LogRecordWithDLSN} from './log/types.js'
export {decodeEntry, type EntryPosition} from './log/record/enveloped-entry.js'
