/**
 * A DistributedLog namespace: a ZooKeeper path bound (by `dlog admin bind`) to a bookie cluster, holding
 * logs. Opening one parses the URI, connects to ZooKeeper, and resolves the binding up the path —
 * an unbound namespace fails at once with UnboundNamespaceError saying how to bind it (the original's
 * cryptic "No bkdl config bound under dl path" was its most-reported first-run error).
 *
 * The namespace owns its ZooKeeper client and, lazily, a ledger client made by the factory it was given
 * (the seam where the ledger client plugs in: the namespace needs one to delete a log's ledgers, writers
 * and readers need it for data). It offers the log-level operations; opening writers and readers on a
 * log is built on top of it (createWriteLock, store, ledgerClient).
 *
 *   const ns = await NamespaceBuilder.newBuilder().uri('distributedlog://127.0.0.1:7000/messaging/distributedlog')
 *     .conf(conf).clientId('writer-1').ledgerClientFactory(makeLedgerClient).build()
 */
import {hostname} from 'node:os'

import {systemClock} from '../common/clock.js'
import {InvalidInputError} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {LedgerClient} from '../ledger/ledger-client.js'
import type {LedgerClientApi} from '../ledger/types.js'
import type {MetricsRegistry} from '../metrics/registry.js'
import {ZKClient} from '../zookeeper/client/zk-client.js'
import {DL_CONFIG_DEFAULTS, type DistributedLogConfig, withLogOverrides} from './config.js'
import {UnboundNamespaceError} from './errors.js'
import {ZkWriteLock} from './lock/zk-write-lock.js'
import {type NamespaceBinding, resolveBinding} from './metadata/binding.js'
import {ZkLogMetadataStore} from './metadata/zk-log-metadata-store.js'
import {type LogManager, openLog} from './log-manager.js'
import type {LogSegmentMetadata} from './types.js'
import {type NamespaceUri, parseNamespaceUri} from './uri.js'

/** Feature switches an operator can flip at run time (the original's FeatureProvider); default: all off. */
export interface FeatureProvider {
  isEnabled(feature: string): boolean
}
export const NO_FEATURES: FeatureProvider = {isEnabled: () => false}

/** Makes the ledger client for a namespace's bookie cluster (ZooKeeper servers and ledgers path from the binding). */
export type LedgerClientFactory = (ctx: {
  binding: NamespaceBinding
  conf: DistributedLogConfig
  logger: Logger
  statsRegistry: MetricsRegistry | undefined
}) => Promise<LedgerClientApi>

/**
 * The ledger client a namespace uses unless told otherwise: the bookie cluster its binding names (the
 * bookies' ZooKeeper servers and ledgers path), with the configured ledger timeouts.
 */
export const defaultLedgerClientFactory: LedgerClientFactory = async ({binding, conf, logger}) =>
  LedgerClient.connect({
    zkServers: binding.bkZkServers,
    ledgersRootPath: binding.bkLedgersPath,
    zkSessionTimeoutMs: conf.zkSessionTimeoutMs,
    config: {addEntryTimeoutMs: conf.ledgerWriteTimeoutMs, readEntryTimeoutMs: conf.ledgerReadTimeoutMs},
    logger,
  })

export interface NamespaceOptions {
  uri: string
  /** Full configuration, or fields over the code defaults. */
  conf?: Partial<DistributedLogConfig>
  statsRegistry?: MetricsRegistry
  featureProvider?: FeatureProvider
  ledgerClientFactory?: LedgerClientFactory
  /** Written into the write lock (what OwnershipAcquireFailed names); default `<hostname>/<pid>`. */
  clientId?: string
  /** Bound on connecting to ZooKeeper; default 10 s. */
  zkConnectTimeoutMs?: number
  logger?: Logger
}

export function defaultClientId(): string {
  return `${hostname()}/${process.pid}`
}

export class Namespace {
  readonly uri: NamespaceUri
  readonly binding: NamespaceBinding
  /** Where the binding was found: the namespace path or a parent. */
  readonly boundPath: string
  readonly conf: DistributedLogConfig
  readonly zk: ZKClient
  readonly store: ZkLogMetadataStore
  readonly clientId: string
  readonly statsRegistry: MetricsRegistry | undefined
  readonly featureProvider: FeatureProvider
  private readonly log: Logger
  private readonly openedLogs = new Set<LogManager>()
  private readonly ledgerClientFactory: LedgerClientFactory
  private ledgerClientPromise: Promise<LedgerClientApi> | undefined
  private closed = false

  private constructor(args: {
    uri: NamespaceUri
    binding: NamespaceBinding
    boundPath: string
    conf: DistributedLogConfig
    zk: ZKClient
    opts: NamespaceOptions
    logger: Logger
  }) {
    this.uri = args.uri
    this.binding = args.binding
    this.boundPath = args.boundPath
    this.conf = args.conf
    this.zk = args.zk
    this.clientId = args.opts.clientId ?? defaultClientId()
    this.statsRegistry = args.opts.statsRegistry
    this.featureProvider = args.opts.featureProvider ?? NO_FEATURES
    this.ledgerClientFactory = args.opts.ledgerClientFactory ?? defaultLedgerClientFactory
    this.log = args.logger
    this.store = new ZkLogMetadataStore(args.zk, args.uri.path, {
      firstLogSegmentSequenceNo: args.conf.firstLogSegmentSequenceNo,
      streamName: args.conf.unpartitionedStreamName,
      logger: args.logger,
    })
  }

  /** Connects and resolves the binding; UnboundNamespaceError when neither the path nor a parent is bound. */
  static async open(opts: NamespaceOptions): Promise<Namespace> {
    const uri = parseNamespaceUri(opts.uri)
    if (opts.clientId === '') throw new InvalidInputError('clientId must not be empty')
    const logger = (opts.logger ?? silentLogger).child('namespace')
    const base = withLogOverrides(DL_CONFIG_DEFAULTS, opts.conf)
    const zk = await ZKClient.connect({
      connectString: uri.zkServers,
      sessionTimeoutMs: base.zkSessionTimeoutMs,
      connectTimeoutMs: opts.zkConnectTimeoutMs ?? 10_000,
      logger,
    })
    try {
      const resolved = await resolveBinding(zk, uri.path)
      if (resolved === undefined) throw new UnboundNamespaceError(uri.raw, {path: uri.path, zkServers: uri.zkServers})
      const {binding, boundPath} = resolved
      // The binding's namespace-wide settings win over the client's (as the original propagates them).
      const conf = withLogOverrides(base, {
        txidSanityCheckEnabled: base.txidSanityCheckEnabled && binding.sanityCheckTxnId,
        ...(binding.firstLogSegmentSeqNo === undefined ? {} : {firstLogSegmentSequenceNo: binding.firstLogSegmentSeqNo}),
        ...(binding.federatedNamespace ? {createStreamIfNotExists: false} : {}),
      })
      logger.debug('opened namespace', {uri: uri.normalized, boundPath})
      return new Namespace({uri, binding, boundPath, conf, zk, opts, logger})
    } catch (e) {
      await zk.close()
      throw e
    }
  }

  /** Whether opening a writer on a missing log creates it (false for federated namespaces). */
  get createStreamIfNotExists(): boolean {
    return this.conf.createStreamIfNotExists
  }

  /** Creates the log (nested names allowed); an existing log is left as it is. */
  async createLog(logName: string): Promise<void> {
    this.checkOpen()
    await this.store.createLog(logName)
  }

  async logExists(logName: string): Promise<boolean> {
    this.checkOpen()
    return this.store.logExists(logName)
  }

  /**
   * Deletes the log's ledgers and znodes. Refused (LogBusyError) while a writer holds the log's lock;
   * needs the ledger client when the log has ledgers, so none is ever left behind.
   */
  async deleteLog(logName: string): Promise<void> {
    this.checkOpen()
    // The ledger client is only made if the log has ledgers to delete.
    const deleteLedger = async (id: number): Promise<void> => (await this.ledgerClient()).deleteLedger(id)
    await this.store.deleteLog(logName, {deleteLedger})
  }

  /**
   * Opens one log: writers, readers and questions about it (LogManager). `overrides` are this log's own
   * settings over the namespace configuration (retention, rolling, compression...). With
   * createStreamIfNotExists on, the first writer creates the log.
   */
  async openLog(logName: string, overrides: Partial<DistributedLogConfig> = {}): Promise<LogManager> {
    this.checkOpen()
    const lockTimeoutMs = overrides.lockTimeoutMs ?? this.conf.lockTimeoutMs
    const lm = await openLog(
      {
        store: this.store,
        ledgers: await this.ledgerClient(),
        createLock: (log) => this.createWriteLock(log, {lockTimeoutMs}),
        config: this.conf,
        clock: systemClock,
        logger: this.log,
        createLog: (log) => this.createLog(log),
        logExists: (log) => this.logExists(log),
        deleteLog: (log) => this.deleteLog(log),
        lockPathOf: (log) => this.store.paths(log).lock,
      },
      logName,
      overrides,
    )
    // Closing the namespace closes what was opened through it (writers flush, readers end) before
    // its ZooKeeper session and ledger client go away.
    this.openedLogs.add(lm)
    const close = lm.close.bind(lm)
    lm.close = async () => {
      this.openedLogs.delete(lm)
      await close()
    }
    return lm
  }

  /** Every log of the namespace (nested ones as `a/b/c`), sorted. */
  async getLogs(): Promise<string[]> {
    this.checkOpen()
    return this.store.getLogs()
  }

  async getLogSegments(logName: string): Promise<LogSegmentMetadata[]> {
    this.checkOpen()
    return this.store.getLogSegments(logName)
  }

  /** The write lock of a log for this namespace's client id (lockTimeoutMs from the configuration). */
  createWriteLock(logName: string, opts: {clientId?: string; lockTimeoutMs?: number} = {}): ZkWriteLock {
    this.checkOpen()
    return new ZkWriteLock(this.zk, this.store.paths(logName).lock, opts.clientId ?? this.clientId, {
      lockTimeoutMs: opts.lockTimeoutMs ?? this.conf.lockTimeoutMs,
      logger: this.log,
    })
  }

  /** The namespace's ledger client, made on first use by the factory it was opened with. */
  async ledgerClient(): Promise<LedgerClientApi> {
    this.checkOpen()
    const factory = this.ledgerClientFactory
    this.ledgerClientPromise ??= factory({binding: this.binding, conf: this.conf, logger: this.log, statsRegistry: this.statsRegistry})
    this.ledgerClientPromise.catch(() => (this.ledgerClientPromise = undefined))
    return this.ledgerClientPromise
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.allSettled([...this.openedLogs].map((lm) => lm.close()))
    const lc = this.ledgerClientPromise
    this.ledgerClientPromise = undefined
    if (lc !== undefined) await lc.then((c) => c.close()).catch(() => {})
    await this.zk.close()
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidInputError(`namespace ${this.uri.raw} is closed`)
  }
}

/** The original's builder style: `NamespaceBuilder.newBuilder().uri(u).conf(c).build()`. */
export class NamespaceBuilder {
  private readonly opts: Partial<NamespaceOptions> = {}

  static newBuilder(): NamespaceBuilder {
    return new NamespaceBuilder()
  }

  uri(uri: string): this {
    this.opts.uri = uri
    return this
  }

  conf(conf: Partial<DistributedLogConfig>): this {
    this.opts.conf = conf
    return this
  }

  statsRegistry(registry: MetricsRegistry): this {
    this.opts.statsRegistry = registry
    return this
  }

  featureProvider(provider: FeatureProvider): this {
    this.opts.featureProvider = provider
    return this
  }

  clientId(clientId: string): this {
    this.opts.clientId = clientId
    return this
  }

  ledgerClientFactory(factory: LedgerClientFactory): this {
    this.opts.ledgerClientFactory = factory
    return this
  }

  logger(logger: Logger): this {
    this.opts.logger = logger
    return this
  }

  async build(): Promise<Namespace> {
    if (this.opts.uri === undefined) throw new InvalidInputError('a namespace needs a URI (NamespaceBuilder.uri)')
    return Namespace.open({...this.opts, uri: this.opts.uri})
  }
}
