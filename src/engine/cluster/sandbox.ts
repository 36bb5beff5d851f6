/**
 * The `dlog local` sandbox (DistributedLog's LocalDLMEmulator): one process that runs the embedded
 * ZooKeeper on ZK_PORT, formats the bookkeeper metadata at /ledgers, starts N bookies as child
 * processes (bookie-process.ts) and binds the namespace /messaging/distributedlog to them.
 *
 * Data directory layout (a temp dir removed on close, or the caller's --data-dir kept across runs):
 *   sandbox.json          {"version":1,"zkPort":7000,"bookies":[{"name":"bookie-1","port":..,"statsPort":..}]}
 *                         the ports a restart must reuse: a bookie's cookie names its address:port
 *   sandbox.pid           pid of the sandbox using the directory (a second one is refused)
 *   zookeeper/            ZooKeeper's snapshots and txn log; zookeeper.log its log
 *   bookie-<i>/           bookie.conf (generated), bookie.log, journal/, ledgers/
 *
 * Start order, each step undone when a later one fails (nothing keeps running after a failure):
 * data dir and lock → ZooKeeper → metaformat (first run only) → bookies (in parallel; a fresh bookie
 * that loses a port race retries with other ports) → every bookie seen under /ledgers/available →
 * namespace binding (the log core's format, log/metadata/binding.ts). close() stops the bookies
 * gracefully (SIGTERM, a bound, SIGKILL), then ZooKeeper.
 */
import {createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {errorMessage, InvalidInputError} from '../common/errors.js'
import {type LogRecordLine, Logger} from '../common/logger.js'
import {metaformat} from '../bookie/admin.js'
import {COOKIE_FILE} from '../bookie/cookie.js'
import {makeBinding, readBindingAt, writeBinding} from '../log/metadata/binding.js'
import {ZKClient} from '../zookeeper/client/zk-client.js'
import {FilePersistence} from '../zookeeper/server/persistence/file-persistence.js'
import {ZKServer} from '../zookeeper/server/zk-server.js'
import {BookieProcess, BookieStartError} from './bookie-process.js'
import {ClusterError} from './errors.js'
import {isPidAlive} from './pids.js'
import {freePort, isAddressInUse} from './ports.js'

export const SANDBOX_HOST = '127.0.0.1'
export const SANDBOX_LEDGERS_ROOT = '/ledgers'
export const SANDBOX_NAMESPACE_PATH = '/messaging/distributedlog'
export const SANDBOX_BOOKIES_DEFAULT = 3
export const SANDBOX_BOOKIES_MAX = 16
const STATE_FILE = 'sandbox.json'
const LOCK_FILE = 'sandbox.pid'
const STATE_VERSION = 1
/** Fresh bookies that lose a port race retry this many times with new ports. */
const PORT_ATTEMPTS_MAX = 5
const BOOKIE_READY_MS_DEFAULT = 30_000
const BOOKIE_STOP_GRACE_MS_DEFAULT = 10_000
const REGISTRATION_WAIT_MS = 10_000
const REGISTRATION_POLL_MS = 50
const STATE_FILE_BYTES_MAX = 64 * 1024

export interface SandboxBookie {
  name: string
  bookieId: string
  port: number
  statsPort: number
  pid: number
  dir: string
  logPath: string
}

/** One row of the "what is running" table. */
export interface SandboxComponent {
  component: string
  address: string
  statsPort: number | undefined
  dataDir: string
}

export interface SandboxOptions {
  /** ZooKeeper client port (0: any free port). */
  zkPort: number
  bookies?: number
  /** Keep data here across runs; default a temp dir removed on close. */
  dataDir?: string
  /** Wraps each start step (spinners in the CLI). */
  step?: <T>(what: string, work: () => Promise<T>) => Promise<T>
  /** Called when a bookie exits while the sandbox runs (not during close). */
  onBookieExit?: (bookie: SandboxBookie, how: {code: number | null; signal: NodeJS.Signals | null}) => void
  bookieReadyTimeoutMs?: number
  bookieStopGraceMs?: number
  /** Where the sandbox's own warnings go (default stderr); ZooKeeper logs to <dataDir>/zookeeper.log. */
  logger?: Logger
}

interface PersistedBookie {
  name: string
  port: number
  statsPort: number
}
interface PersistedState {
  version: number
  zkPort: number
  bookies: PersistedBookie[]
}

const noStep = <T>(_what: string, work: () => Promise<T>): Promise<T> => work()

export class Sandbox {
  readonly zkPort: number
  readonly dataDir: string
  readonly temporary: boolean
  readonly bookies: readonly SandboxBookie[]
  private readonly zkServer: ZKServer
  private readonly zk: ZKClient
  private readonly processes: BookieProcess[]
  private readonly zkLog: WriteStream
  private readonly stopGraceMs: number
  private closing: Promise<void> | undefined

  private constructor(parts: {
    zkPort: number
    dataDir: string
    temporary: boolean
    bookies: SandboxBookie[]
    zkServer: ZKServer
    zk: ZKClient
    processes: BookieProcess[]
    zkLog: WriteStream
    stopGraceMs: number
  }) {
    this.zkPort = parts.zkPort
    this.dataDir = parts.dataDir
    this.temporary = parts.temporary
    this.bookies = parts.bookies
    this.zkServer = parts.zkServer
    this.zk = parts.zk
    this.processes = parts.processes
    this.zkLog = parts.zkLog
    this.stopGraceMs = parts.stopGraceMs
  }

  get zkAddress(): string {
    return `${SANDBOX_HOST}:${this.zkPort}`
  }

  get uri(): string {
    return `distributedlog://${this.zkAddress}${SANDBOX_NAMESPACE_PATH}`
  }

  get components(): SandboxComponent[] {
    return [
      {component: 'zookeeper', address: this.zkAddress, statsPort: undefined, dataDir: join(this.dataDir, 'zookeeper')},
      ...this.bookies.map((b) => ({component: b.name, address: b.bookieId, statsPort: b.statsPort, dataDir: b.dir})),
    ]
  }

  static async start(opts: SandboxOptions): Promise<Sandbox> {
    const bookieCount = opts.bookies ?? SANDBOX_BOOKIES_DEFAULT
    if (!Number.isInteger(bookieCount) || bookieCount < 1 || bookieCount > SANDBOX_BOOKIES_MAX) {
      throw new InvalidInputError(`--bookies must be between 1 and ${SANDBOX_BOOKIES_MAX}, got ${bookieCount}`)
    }
    if (!Number.isInteger(opts.zkPort) || opts.zkPort < 0 || opts.zkPort > 65535) {
      throw new InvalidInputError(`the ZooKeeper port must be between 0 and 65535, got ${opts.zkPort}`)
    }
    const step = opts.step ?? noStep
    const log = opts.logger ?? new Logger({scope: 'dlog'})
    const cleanup: (() => Promise<void> | void)[] = []
    const undo = async (): Promise<void> => {
      for (const fn of cleanup.reverse()) {
        try {
          await fn()
        } catch (e) {
          log.warn('cleanup after a failed start', {error: errorMessage(e)})
        }
      }
    }
    try {
      const {dataDir, temporary} = prepareDataDir(opts.dataDir)
      if (temporary) cleanup.push(() => rmSync(dataDir, {recursive: true, force: true}))
      takeLock(dataDir)
      cleanup.push(() => releaseLock(dataDir))
      const persisted = readState(dataDir)
      if (persisted !== undefined) checkCompatible(persisted, opts.zkPort, bookieCount, dataDir)

      const zkLog = createWriteStream(join(dataDir, 'zookeeper.log'), {flags: 'a'})
      cleanup.push(() => new Promise<void>((r) => zkLog.end(() => r())))
      const fileLogger = new Logger({scope: 'dlog', sink: (line) => zkLog.write(formatLine(line))})

      const zkServer = await step(`Starting ZooKeeper on ${SANDBOX_HOST}:${opts.zkPort}`, () =>
        startZooKeeper(opts.zkPort, join(dataDir, 'zookeeper'), fileLogger),
      )
      cleanup.push(() => zkServer.close())
      const zkPort = zkServer.port
      const zkServers = `${SANDBOX_HOST}:${zkPort}`
      const zk = await ZKClient.connect({connectString: zkServers, sessionTimeoutMs: 30_000, connectTimeoutMs: 10_000, logger: fileLogger})
      cleanup.push(() => zk.close())
      await step(`Formatting bookkeeper metadata at ${SANDBOX_LEDGERS_ROOT}`, () => formatIfNeeded(zk))

      const processes: BookieProcess[] = []
      cleanup.push(() => Promise.all(processes.map((p) => p.kill())).then(() => {}))
      const bookies = await step(`Starting ${bookieCount} bookie${bookieCount === 1 ? '' : 's'}`, async () => {
        const started = await Promise.allSettled(
          Array.from({length: bookieCount}, (_, i) =>
            startBookie({
              name: `bookie-${i + 1}`,
              dataDir,
              zkServers,
              persisted: persisted?.bookies.find((b) => b.name === `bookie-${i + 1}`),
              readyTimeoutMs: opts.bookieReadyTimeoutMs ?? BOOKIE_READY_MS_DEFAULT,
            }).then((p) => {
              processes.push(p)
              return p
            }),
          ),
        )
        const failed = started.find((r) => r.status === 'rejected')
        if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
        const procs = started.map((r) => (r as PromiseFulfilledResult<BookieProcess>).value)
        writeState(dataDir, {
          version: STATE_VERSION,
          zkPort,
          bookies: procs.map((p) => ({name: p.name, port: p.port, statsPort: p.statsPort})),
        })
        await waitRegistered(zk, procs)
        return procs.map((p) => ({
          name: p.name,
          bookieId: p.bookieId,
          port: p.port,
          statsPort: p.statsPort,
          pid: p.pid,
          dir: join(dataDir, p.name),
          logPath: p.logPath,
        }))
      })

      await step(`Binding namespace ${SANDBOX_NAMESPACE_PATH}`, () => bindNamespace(zk, zkServers))

      const sandbox = new Sandbox({
        zkPort,
        dataDir,
        temporary,
        bookies,
        zkServer,
        zk,
        processes,
        zkLog,
        stopGraceMs: opts.bookieStopGraceMs ?? BOOKIE_STOP_GRACE_MS_DEFAULT,
      })
      for (const [i, p] of processes.entries()) {
        void p.exited.then((how) => {
          const b = bookies.find((x) => x.pid === p.pid) ?? bookies[i]
          if (sandbox.closing === undefined && b !== undefined) opts.onBookieExit?.(b, how)
        })
      }
      return sandbox
    } catch (e) {
      await undo()
      throw e
    }
  }

  /** Stops everything: bookies (gracefully, bounded), then ZooKeeper; removes a temp data dir. */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(this.stopGraceMs)))
    await this.zk.close().catch(() => {})
    await this.zkServer.close().catch(() => {})
    await new Promise<void>((r) => this.zkLog.end(() => r()))
    releaseLock(this.dataDir)
    if (this.temporary) rmSync(this.dataDir, {recursive: true, force: true})
  }
}

function formatLine(line: LogRecordLine): string {
  const attrs = Object.entries(line.attrs)
    .map(([k, v]) => `${k}=${typeof v === 'bigint' ? v.toString() : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`)
    .join(' ')
  return `${new Date(line.timeMs).toISOString()} ${line.level.toUpperCase()} ${line.scope} ${line.message}${attrs ? ' ' + attrs : ''}\n`
}

const TEMP_PREFIX = 'dlog-sandbox-'

/**
 * A sandbox killed with -9 cannot remove its temp dir; the next one does: a temp sandbox dir whose
 * lock names a dead process is garbage. A dir without a lock (one being created right now) is kept.
 */
function sweepStaleTempDirs(): void {
  let names: string[]
  try {
    names = readdirSync(tmpdir())
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue
    const dir = join(tmpdir(), name)
    try {
      const pid = Number(readFileSync(join(dir, LOCK_FILE), 'utf8').trim())
      if (Number.isSafeInteger(pid) && pid > 0 && !isPidAlive(pid)) rmSync(dir, {recursive: true, force: true})
    } catch {
      // no lock, not ours or already gone
    }
  }
}

function prepareDataDir(given: string | undefined): {dataDir: string; temporary: boolean} {
  if (given === undefined) {
    sweepStaleTempDirs()
    return {dataDir: mkdtempSync(join(tmpdir(), TEMP_PREFIX)), temporary: true}
  }
  const dataDir = resolve(given)
  try {
    mkdirSync(dataDir, {recursive: true})
    // Creating the directory can succeed on a read-only parent that already has it: write to be sure.
    const probe = join(dataDir, `.probe-${process.pid}`)
    writeFileSync(probe, '')
    rmSync(probe)
  } catch (e) {
    throw new ClusterError('DIR_UNUSABLE', `cannot use data directory ${dataDir}: ${errorMessage(e)}`, {cause: e})
  }
  return {dataDir, temporary: false}
}

/** One sandbox per data directory: a pid file, taken over only when its process is gone. */
function takeLock(dataDir: string): void {
  const path = join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, {flag: 'wx'})
      return
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ClusterError('DIR_UNUSABLE', `cannot write ${path}: ${errorMessage(e)}`, {cause: e})
      }
    }
    const pid = Number(readFileSync(path, 'utf8').trim())
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isPidAlive(pid)) {
      throw new ClusterError('ALREADY_RUNNING', `another sandbox (pid ${pid}) is using data directory ${dataDir}`)
    }
    rmSync(path, {force: true}) // stale: its sandbox died without cleaning up
  }
  throw new ClusterError('ALREADY_RUNNING', `cannot take ${path}: another sandbox is starting in ${dataDir}`)
}

function releaseLock(dataDir: string): void {
  const path = join(dataDir, LOCK_FILE)
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, {force: true})
  } catch {
    // already gone
  }
}

function readState(dataDir: string): PersistedState | undefined {
  const path = join(dataDir, STATE_FILE)
  if (!existsSync(path)) return undefined
  try {
    const text = readFileSync(path, 'utf8')
    if (text.length > STATE_FILE_BYTES_MAX) throw new Error('file too large')
    const v = JSON.parse(text) as PersistedState
    const portOk = (p: unknown): boolean => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535
    if (v.version !== STATE_VERSION || !portOk(v.zkPort) || !Array.isArray(v.bookies)) throw new Error('unexpected content')
    for (const b of v.bookies) {
      if (typeof b.name !== 'string' || !/^bookie-\d+$/.test(b.name) || !portOk(b.port) || !(b.statsPort === -1 || portOk(b.statsPort))) {
        throw new Error('unexpected bookie entry')
      }
    }
    return v
  } catch (e) {
    throw new ClusterError('BAD_STATE', `cannot use ${path}: ${errorMessage(e)}`, {cause: e})
  }
}

function writeState(dataDir: string, state: PersistedState): void {
  const path = join(dataDir, STATE_FILE)
  // Temp file + rename: a crash mid-write leaves the old file, never half a new one.
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(`${path}.tmp`, path)
}

function checkCompatible(state: PersistedState, zkPort: number, bookieCount: number, dataDir: string): void {
  if (zkPort !== 0 && state.zkPort !== zkPort) {
    // The namespace binding names 127.0.0.1:<port>: another port would leave it pointing nowhere.
    throw new InvalidInputError(`${dataDir} belongs to a sandbox on ZooKeeper port ${state.zkPort}; run \`dlog local ${state.zkPort} --data-dir ${dataDir}\``)
  }
  if (bookieCount < state.bookies.length) {
    throw new InvalidInputError(`${dataDir} holds ${state.bookies.length} bookies' data; --bookies must be at least ${state.bookies.length}`)
  }
}

async function startZooKeeper(port: number, dir: string, logger: Logger): Promise<ZKServer> {
  try {
    return await ZKServer.start({
      host: SANDBOX_HOST,
      port,
      persistence: new FilePersistence({dataDir: dir, logger}),
      // LocalDLMEmulator runs ZooKeeper with every four-letter word allowed.
      fourLetterWhitelist: ['*'],
      logger,
    })
  } catch (e) {
    if (isAddressInUse(e)) {
      throw new ClusterError('PORT_IN_USE', `cannot start ZooKeeper: port ${SANDBOX_HOST}:${port} is already in use (another sandbox or ZooKeeper?)`, {cause: e})
    }
    throw new ClusterError('START_FAILED', `cannot start ZooKeeper in ${dir}: ${errorMessage(e)}`, {cause: e})
  }
}

/** First run: format /ledgers. Later runs (a kept data dir) find it formatted and leave it alone. */
async function formatIfNeeded(zk: ZKClient): Promise<void> {
  const stat = await zk.exists(SANDBOX_LEDGERS_ROOT)
  if (stat !== null && stat.numChildren > 0) return
  await metaformat({zk, root: SANDBOX_LEDGERS_ROOT, force: false, nonInteractive: true, confirm: () => Promise.resolve(false)})
}

function bookieConf(o: {zkServers: string; port: number; statsPort: number; dir: string}): string {
  return [
    '# Generated by `dlog local` for this sandbox; rewritten at every start.',
    `zkServers=${o.zkServers}`,
    `zkLedgersRootPath=${SANDBOX_LEDGERS_ROOT}`,
    `advertisedAddress=${SANDBOX_HOST}`,
    `bookiePort=${o.port}`,
    `codahaleStatsHttpPort=${o.statsPort}`,
    `journalDirectories=${join(o.dir, 'journal')}`,
    `ledgerDirectories=${join(o.dir, 'ledgers')}`,
    '',
  ].join('\n')
}

/** Starts one bookie; a fresh bookie (no cookie yet) whose ports are taken retries with new ones. */
async function startBookie(o: {
  name: string
  dataDir: string
  zkServers: string
  persisted: PersistedBookie | undefined
  readyTimeoutMs: number
}): Promise<BookieProcess> {
  const dir = join(o.dataDir, o.name)
  mkdirSync(dir, {recursive: true})
  // A bookie that ran before has a cookie naming its address:port: it must get the same port back.
  const pinned = o.persisted !== undefined && existsSync(join(dir, 'journal', 'current', COOKIE_FILE))
  let lastError: unknown
  for (let attempt = 0; attempt < (pinned ? 1 : PORT_ATTEMPTS_MAX); attempt++) {
    const port = pinned ? (o.persisted as PersistedBookie).port : await freePort(SANDBOX_HOST)
    const statsPort = pinned ? (o.persisted as PersistedBookie).statsPort : await freePort(SANDBOX_HOST)
    const confPath = join(dir, 'bookie.conf')
    writeFileSync(confPath, bookieConf({zkServers: o.zkServers, port, statsPort, dir}))
    try {
      return await BookieProcess.start({name: o.name, confPath, logPath: join(dir, 'bookie.log'), readyTimeoutMs: o.readyTimeoutMs})
    } catch (e) {
      lastError = e
      if (!(e instanceof BookieStartError) || !e.addressInUse) throw e
      if (pinned) {
        throw new ClusterError(
          'PORT_IN_USE',
          `${o.name} must listen on ${SANDBOX_HOST}:${port} (stats ${statsPort}) again, as its cookie records, but a port is in use. ` +
            `Stop what uses it and retry.\n${e.message}`,
          {cause: e},
        )
      }
    }
  }
  throw lastError
}

/**
 * Binds /messaging/distributedlog as LocalDLMEmulator does: every ZooKeeper field 127.0.0.1:<port>,
 * ledgers at /ledgers. A kept data dir already has it; a binding changed by hand (`dlog admin bind`)
 * is left alone.
 */
async function bindNamespace(zk: ZKClient, zkServers: string): Promise<void> {
  if ((await readBindingAt(zk, SANDBOX_NAMESPACE_PATH)) !== undefined) return
  const binding = makeBinding({bkZkServers: zkServers, bkLedgersPath: SANDBOX_LEDGERS_ROOT, dlZkServers: zkServers})
  await writeBinding(zk, SANDBOX_NAMESPACE_PATH, binding, {create: true})
}

/** Every started bookie shows under /ledgers/available (they register before reporting ready). */
async function waitRegistered(zk: ZKClient, procs: BookieProcess[]): Promise<void> {
  const deadline = Date.now() + REGISTRATION_WAIT_MS
  for (;;) {
    const children = new Set(await zk.getChildren(`${SANDBOX_LEDGERS_ROOT}/available`))
    const missing = procs.filter((p) => !children.has(p.bookieId))
    if (missing.length === 0) return
    if (Date.now() > deadline) {
      throw new ClusterError(
        'START_FAILED',
        `not registered under ${SANDBOX_LEDGERS_ROOT}/available after ${REGISTRATION_WAIT_MS} ms: ` +
          missing.map((p) => `${p.name} (${p.bookieId}, log ${p.logPath})`).join(', '),
      )
    }
    await new Promise((r) => setTimeout(r, REGISTRATION_POLL_MS))
  }
}
