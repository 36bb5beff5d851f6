/**
 * `dlog daemon start|stop <service>`: DistributedLog's dlog-daemon.sh. A service runs detached from
 * the terminal (its own session, stdout and stderr to a .out file) and is found again through its pid
 * file, so a later `stop` in another shell can end it.
 *
 * Files, named as the original names them (SERVICE_PORT only tells instances on one host apart:
 * `SERVICE_PORT=3181 dlog daemon start bookie --conf bookie-1.conf`):
 *   $DLOG_PID_DIR/dlog-<service>-<SERVICE_PORT>.pid             (default <DLOG_HOME>/pids)
 *   $DLOG_LOG_DIR/dlog-<service>-<HOSTNAME>-<SERVICE_PORT>.out  (default <DLOG_HOME>/logs), the previous
 *                                                                 ones kept as .out.1 ... .out.5
 * For writeproxy, SERVICE_PORT is WP_SERVICE_PORT (default 4181), as in the original.
 *
 * Messages are the original's (`doing start bookie ...`, `bookie running as process N.  Stop it
 * first.`, `Shutdown is in progress... Please wait...`, `Shutdown completed.`, `WARNNING : ...`).
 * Unlike the script, start waits (bounded) for the service's own "running" line instead of sleeping
 * three seconds, and stop polls instead of sleeping whole seconds.
 */
import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {errorMessage, InvalidInputError} from '../common/errors.js'
import {logTail} from './bookie-process.js'
import {ClusterError} from './errors.js'
import {isPidAlive} from './pids.js'

export const DAEMON_SERVICES = ['zookeeper', 'bookie', 'writeproxy'] as const
export type DaemonService = (typeof DAEMON_SERVICES)[number]

/** What each service prints once it serves (the foreground commands' "running" lines). */
const READY_PATTERNS: Record<Exclude<DaemonService, 'writeproxy'>, RegExp> = {
  zookeeper: /ZooKeeper server serving on /,
  bookie: /Bookie \S+ is running/,
}
const OUT_ROTATIONS = 5
const STOP_TIMEOUT_S_DEFAULT = 30
const START_WAIT_MS_DEFAULT = 30_000
const POLL_MS = 100
const HEAD_LINES = 10
const WP_SERVICE_PORT_DEFAULT = '4181'

export interface DaemonSettings {
  pidDir: string
  logDir: string
  servicePort: string
  host: string
  stopTimeoutMs: number
  startWaitMs: number
}

/** The settings from the environment; `home` stands for DL_HOME (the package's directory). */
export function daemonSettings(service: DaemonService, env: NodeJS.ProcessEnv, home: string): DaemonSettings {
  const dlogHome = nonEmpty(env.DLOG_HOME) ?? home
  const servicePort = service === 'writeproxy' ? (nonEmpty(env.WP_SERVICE_PORT) ?? WP_SERVICE_PORT_DEFAULT) : (nonEmpty(env.SERVICE_PORT) ?? '0')
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(servicePort)) {
    throw new InvalidInputError(`SERVICE_PORT '${servicePort}' cannot name a file: use letters, digits, '.', '_' or '-'`)
  }
  const stopTimeoutS = Number(nonEmpty(env.DLOG_STOP_TIMEOUT) ?? STOP_TIMEOUT_S_DEFAULT)
  if (!Number.isInteger(stopTimeoutS) || stopTimeoutS < 1 || stopTimeoutS > 3600) {
    throw new InvalidInputError(`DLOG_STOP_TIMEOUT must be a whole number of seconds between 1 and 3600, got '${env.DLOG_STOP_TIMEOUT}'`)
  }
  return {
    pidDir: nonEmpty(env.DLOG_PID_DIR) ?? join(dlogHome, 'pids'),
    logDir: nonEmpty(env.DLOG_LOG_DIR) ?? join(dlogHome, 'logs'),
    servicePort,
    host: hostname(),
    stopTimeoutMs: stopTimeoutS * 1000,
    startWaitMs: START_WAIT_MS_DEFAULT,
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s
}

export function daemonFiles(service: DaemonService, s: DaemonSettings): {pidFile: string; outFile: string} {
  return {
    pidFile: join(s.pidDir, `dlog-${service}-${s.servicePort}.pid`),
    outFile: join(s.logDir, `dlog-${service}-${s.host}-${s.servicePort}.out`),
  }
}

export function parseDaemonService(name: string): DaemonService {
  if ((DAEMON_SERVICES as readonly string[]).includes(name)) return name as DaemonService
  throw new InvalidInputError(`unknown service name ${name} (one of ${DAEMON_SERVICES.join(', ')})`)
}

/** The dlog arguments that run `service` in the foreground. */
export function serviceArgs(service: DaemonService, args: readonly string[]): string[] {
  switch (service) {
    case 'zookeeper':
      // dlog-daemon.sh start zookeeper conf/zookeeper.conf: the config file is a positional argument.
      return args[0] !== undefined && !args[0].startsWith('-') ? ['zookeeper', '--conf', ...args] : ['zookeeper', ...args]
    case 'bookie':
      return ['bookie', ...args]
    case 'writeproxy':
      throw new ClusterError(
        'NOT_AVAILABLE',
        'the write proxy (writeproxy) is not available in this version of dlog yet; zookeeper and bookie daemons are',
      )
  }
}

export interface DaemonIO {
  print: (line: string) => void
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function ensureDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, {recursive: true})
  } catch (e) {
    throw new ClusterError('DIR_UNUSABLE', `cannot create the ${what} directory ${dir}: ${errorMessage(e)} (set ${what === 'pid' ? 'DLOG_PID_DIR' : 'DLOG_LOG_DIR'})`, {cause: e})
  }
}

/** .out → .out.1 → ... → .out.5 (the oldest dropped), as the script's rotate_out_log. */
function rotate(outFile: string): void {
  for (let i = OUT_ROTATIONS; i >= 1; i--) {
    const from = i === 1 ? outFile : `${outFile}.${i - 1}`
    if (existsSync(from)) renameSync(from, `${outFile}.${i}`)
  }
}

function head(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(0, lines).join('\n').trimEnd()
  } catch {
    return ''
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Starts `service` detached. `command` runs dlog itself (node and bin/run.js). Returns the exit code:
 * 0 once the service says it runs, 1 if it is already running or died while starting.
 */
export async function startDaemon(opts: {
  service: DaemonService
  args: readonly string[]
  command: readonly string[]
  settings: DaemonSettings
  env: NodeJS.ProcessEnv
  io: DaemonIO
}): Promise<number> {
  const {service, settings, io} = opts
  io.print(`doing start ${service} ...`)
  const argv = serviceArgs(service, opts.args)
  const {pidFile, outFile} = daemonFiles(service, settings)
  ensureDir(settings.pidDir, 'pid')
  ensureDir(settings.logDir, 'log')
  const running = readPid(pidFile)
  if (running !== undefined && isPidAlive(running)) {
    io.print(`${service} running as process ${running}.  Stop it first.`)
    return 1
  }
  rotate(outFile)
  io.print(`starting ${service}, logging to ${outFile}`)
  const fd = openSync(outFile, 'a')
  const [exe, ...pre] = opts.command
  if (exe === undefined) throw new InvalidInputError('no command to run the service with')
  let child
  try {
    // detached: its own session, so closing the terminal or Ctrl-C in it does not reach the service.
    child = spawn(exe, [...pre, ...argv], {detached: true, stdio: ['ignore', fd, fd], env: opts.env})
  } finally {
    closeSync(fd)
  }
  const pid = child.pid
  if (pid === undefined) {
    throw new ClusterError('START_FAILED', `cannot start ${service}: ${exe} did not run (see ${outFile})`)
  }
  writeFileSync(pidFile, `${pid}\n`)
  let exited: {code: number | null; signal: NodeJS.Signals | null} | undefined
  child.once('exit', (code, signal) => (exited = {code, signal}))
  child.unref()
  const ready = READY_PATTERNS[service as Exclude<DaemonService, 'writeproxy'>]
  const deadline = Date.now() + settings.startWaitMs
  while (exited === undefined && Date.now() < deadline && !ready.test(head(outFile, 200))) await sleep(POLL_MS)
  const top = head(outFile, HEAD_LINES)
  if (top !== '') io.print(top)
  if (exited !== undefined) {
    rmSync(pidFile, {force: true})
    const tail = logTail(outFile)
    io.print(`${service} exited while starting (${exited.signal ?? `code ${exited.code}`}); see ${outFile}`)
    if (tail !== '' && tail !== top) io.print(tail)
    return 1
  }
  if (!ready.test(head(outFile, 200))) io.print(`${service} (pid ${pid}) is still starting after ${settings.startWaitMs} ms; see ${outFile}`)
  return 0
}

/** Stops `service` by its pid file: SIGTERM, a bounded wait with progress, SIGKILL with force. */
export async function stopDaemon(opts: {
  service: DaemonService
  force: boolean
  settings: DaemonSettings
  io: DaemonIO
}): Promise<number> {
  const {service, settings, io} = opts
  io.print(`doing stop ${service} ...`)
  const {pidFile} = daemonFiles(service, settings)
  const pid = readPid(pidFile)
  if (pid === undefined || !isPidAlive(pid)) {
    io.print(`no ${service} to stop`)
    rmSync(pidFile, {force: true})
    return 0
  }
  io.print(`stopping ${service}`)
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + settings.stopTimeoutMs
  let nextNoticeAt = 0
  while (isPidAlive(pid) && Date.now() < deadline) {
    if (Date.now() >= nextNoticeAt) {
      io.print('Shutdown is in progress... Please wait...')
      nextNoticeAt = Date.now() + 1000
    }
    await sleep(POLL_MS)
  }
  if (!isPidAlive(pid)) {
    io.print('Shutdown completed.')
    rmSync(pidFile, {force: true})
    return 0
  }
  if (!opts.force) {
    io.print(`WARNNING : ${service} is not stopped completely.`)
    return 1
  }
  io.print(`forcefully stopping ${service}`)
  process.kill(pid, 'SIGKILL')
  const killDeadline = Date.now() + 10_000
  while (isPidAlive(pid) && Date.now() < killDeadline) await sleep(POLL_MS)
  if (isPidAlive(pid)) {
    io.print(`WARNNING : ${service} (pid ${pid}) is still alive after SIGKILL.`)
    return 1
  }
  io.print('Successfully stopped the process')
  rmSync(pidFile, {force: true})
  return 0
}
