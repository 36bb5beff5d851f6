/**
 * One running bookie, assembled from its bookie.conf: the wire server, the storage core, the cookie
 * check, the ZooKeeper registration and the stats HTTP endpoint — what `dlog bookie --conf` runs.
 *
 * Start order (each step undone if a later one fails):
 *   1. listen on advertisedAddress:bookiePort (so the bookie id is known even for port 0; connections
 *      wait, unread, until the core is open);
 *   2. connect to ZooKeeper and check the cookies (refuse to start on any mismatch, or when the
 *      metadata was never formatted);
 *   3. open the core (journal replay happens here) and start serving;
 *   4. register under available/ (or available/readonly/), start the garbage collector (../gc.ts:
 *      every gcWaitTime, ledgers whose metadata is gone from ZooKeeper are deleted), start the stats
 *      server.
 * While running, the core's read-only state is polled and the registration follows it; with
 * readOnlyModeEnabled=false a core that turns read-only (full disks) shuts the bookie down instead,
 * as BookKeeper does.
 * Shutdown: stop the garbage collector, unregister (clients stop choosing this bookie), drain the
 * server, close the core, then the stats server.
 */
import {errorMessage} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import {startStatsHttpServer, type StatsHttpServer} from '../../metrics/http-server.js'
import {MetricsRegistry} from '../../metrics/registry.js'
import {ZKClient} from '../../zookeeper/client/zk-client.js'
import {type BookieServerConfig, bookieIdOf} from '../config.js'
import {checkCookies} from '../cookie.js'
import {GarbageCollector} from '../gc.js'
import {BookieRegistration} from '../registration.js'
import {BookieServer} from './bookie-server.js'
import {type ClosableBookieCore, type OpenBookieCore, openRealBookieCore} from './core-metrics.js'

export type {ClosableBookieCore, OpenBookieCore} from './core-metrics.js'

export interface BookieServiceOptions {
  config: BookieServerConfig
  /** Default: the real core (bookie.ts) with its metrics published. */
  openCore?: OpenBookieCore
  logger?: Logger
  metrics?: MetricsRegistry
  /** How often the core's read-only state is checked for the registration. */
  readOnlyPollMs?: number
  /** Called once when the bookie stops by itself (full disks without read-only mode, fatal errors). */
  onFatal?: (reason: string) => void
}

export class BookieService {
  readonly bookieId: string
  readonly server: BookieServer
  readonly core: ClosableBookieCore
  readonly metrics: MetricsRegistry
  readonly stats: StatsHttpServer | undefined
  /** Deletes ledgers whose metadata is gone from ZooKeeper (undefined when gcWaitTime is 0). */
  readonly gc: GarbageCollector | undefined
  private readonly registration: BookieRegistration
  private readonly log: Logger
  private readonly pollTimer: ReturnType<typeof setInterval>
  private readonly unsubscribe: (() => void) | undefined
  private closing: Promise<void> | undefined

  private constructor(parts: {
    bookieId: string
    server: BookieServer
    core: ClosableBookieCore
    metrics: MetricsRegistry
    stats: StatsHttpServer | undefined
    gc: GarbageCollector | undefined
    registration: BookieRegistration
    log: Logger
    pollMs: number
    readOnlyModeEnabled: boolean
    onFatal: (reason: string) => void
  }) {
    this.bookieId = parts.bookieId
    this.server = parts.server
    this.core = parts.core
    this.metrics = parts.metrics
    this.stats = parts.stats
    this.gc = parts.gc
    this.registration = parts.registration
    this.log = parts.log
    let lastReadOnly = parts.core.isReadOnly()
    const follow = (): void => {
      const ro = this.core.isReadOnly()
      if (ro === lastReadOnly || this.closing) return
      lastReadOnly = ro
      if (ro && !parts.readOnlyModeEnabled) {
        const reason = 'the bookie turned read-only (disks full) and readOnlyModeEnabled is false: shutting down'
        this.log.error(reason, {bookieId: this.bookieId})
        parts.onFatal(reason)
        return
      }
      this.log.info(ro ? 'bookie turned read-only' : 'bookie turned writable', {bookieId: this.bookieId})
      this.registration.setReadOnly(ro).catch((e: unknown) => this.log.error('could not move the registration', {error: errorMessage(e)}))
    }
    this.unsubscribe = parts.core.onReadOnlyChange?.(() => follow())
    this.pollTimer = setInterval(follow, parts.pollMs)
    this.pollTimer.unref()
  }

  static async start(opts: BookieServiceOptions): Promise<BookieService> {
    const {config} = opts
    const log = (opts.logger ?? silentLogger).child('bookie')
    const metrics = opts.metrics ?? new MetricsRegistry()
    const cleanup: (() => Promise<void>)[] = []
    const undo = async (): Promise<void> => {
      for (const step of cleanup.reverse()) await step().catch(() => {})
    }
    try {
      const server = await BookieServer.start({
        host: config.advertisedAddress,
        port: config.bookiePort,
        outstandingRequestsPerConnectionMax: config.outstandingRequestsPerConnectionMax,
        logger: log.child('server'),
        metrics,
      })
      cleanup.push(() => server.close({drainTimeoutMs: 1000}))
      const bookieId = bookieIdOf(config.advertisedAddress, server.address.port)
      const connect = (): Promise<ZKClient> =>
        ZKClient.connect({
          connectString: config.zkServers,
          sessionTimeoutMs: config.zkTimeoutMs,
          connectTimeoutMs: config.zkTimeoutMs,
          logger: log,
        })
      const zk = await connect()
      cleanup.push(() => zk.close())
      await checkCookies({zk, root: config.zkLedgersRootPath, bookieId, journalDirs: config.journalDirs, ledgerDirs: config.ledgerDirs, logger: log})

      const core = await (opts.openCore ?? openRealBookieCore)({...config.core, readOnly: config.forceReadOnly, logger: log.child('core'), metrics})
      cleanup.push(() => core.close())
      server.attachCore(core)

      const registration = new BookieRegistration({
        connect,
        root: config.zkLedgersRootPath,
        bookieId,
        readOnly: core.isReadOnly(),
        // A previous incarnation's session lasts at most its timeout (the server may clamp it up to 20 ticks).
        staleNodeWaitMs: config.zkTimeoutMs * 2 + 5_000,
        logger: log,
      })
      cleanup.push(() => registration.close())
      await registration.start(zk)

      let gc: GarbageCollector | undefined
      const {listLedgers, deleteLedger} = core
      if (config.gcWaitTimeMs > 0 && listLedgers && deleteLedger) {
        const collector = new GarbageCollector({
          core: {listLedgers: () => listLedgers.call(core), deleteLedger: (id) => deleteLedger.call(core, id)},
          zk: () => registration.client,
          root: config.zkLedgersRootPath,
          gcWaitTimeMs: config.gcWaitTimeMs,
          logger: log,
        })
        collector.start()
        cleanup.push(() => collector.close())
        gc = collector
      }

      let stats: StatsHttpServer | undefined
      if (config.statsHttpPort >= 0) {
        stats = await startStatsHttpServer({host: config.advertisedAddress, port: config.statsHttpPort, registry: metrics})
      }
      log.info('bookie started', {
        bookieId,
        readOnly: core.isReadOnly(),
        registration: registration.path,
        statsHttp: stats ? `${stats.host}:${stats.port}` : 'off',
      })
      return new BookieService({
        bookieId,
        server,
        core,
        metrics,
        stats,
        gc,
        registration,
        log,
        pollMs: opts.readOnlyPollMs ?? 1000,
        readOnlyModeEnabled: config.readOnlyModeEnabled,
        onFatal: opts.onFatal ?? (() => {}),
      })
    } catch (e) {
      await undo()
      throw e
    }
  }

  get port(): number {
    return this.server.address.port
  }

  get registrationPath(): string | undefined {
    return this.registration.path
  }

  /** Moves the registration now (tests; the poll does it within readOnlyPollMs otherwise). */
  syncRegistration(): Promise<void> {
    return this.registration.setReadOnly(this.core.isReadOnly())
  }

  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    clearInterval(this.pollTimer)
    this.unsubscribe?.()
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn()
      } catch (e) {
        this.log.warn(`shutdown: ${what} failed`, {error: errorMessage(e)})
      }
    }
    if (this.gc) await step('stop garbage collection', () => this.gc!.close())
    await step('unregister', () => this.registration.close())
    await step('drain server', () => this.server.close())
    await step('close core', () => this.core.close())
    if (this.stats) await step('close stats server', () => this.stats!.close())
    this.log.info('bookie stopped', {bookieId: this.bookieId})
  }
}
