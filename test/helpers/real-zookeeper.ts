/**
 * Real Apache ZooKeeper 3.8 (Debian package) for the compatibility suite and the benchmark, started
 * per reference/zookeeper.md recipe A: `zkServer.sh start-foreground <abs cfg>` (the script execs java,
 * so the child's pid is the JVM's), a free port found by binding port 0, ready when `srvr` answers a
 * `Mode:` line, stopped by PID (SIGTERM, then SIGKILL), temp dataDir removed. Also runs zkCli.sh
 * one-shot commands and sends four-letter words.
 *
 * When ZooKeeper is not installed, `realZooKeeperSkip()` gives a skip reason — unless
 * DLOG_REQUIRE_REAL_ZK=1, in which case the tests must fail instead of skipping.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, Socket} from 'node:net'
import {join} from 'node:path'

import {makeTmpDir} from './tmp.js'
import {startProcess, type Proc} from './processes.js'
import {waitFor} from './wait-for.js'

export const ZK_SERVER_SH = '/usr/share/zookeeper/bin/zkServer.sh'
export const ZK_CLI_SH = '/usr/share/zookeeper/bin/zkCli.sh'

/** Why the real-ZK half must be skipped, or false when it can run. Throws if DLOG_REQUIRE_REAL_ZK=1 and it can't. */
export function realZooKeeperSkip(): string | false {
  let reason: string | false = false
  if (!existsSync(ZK_SERVER_SH) || !existsSync(ZK_CLI_SH)) reason = `Apache ZooKeeper is not installed (${ZK_SERVER_SH} missing; apt-get install zookeeper)`
  else if (!existsSync('/usr/share/java/zookeeper.jar')) reason = 'Apache ZooKeeper jar /usr/share/java/zookeeper.jar missing'
  if (reason && process.env.DLOG_REQUIRE_REAL_ZK === '1') throw new Error(`DLOG_REQUIRE_REAL_ZK=1 but ${reason}`)
  return reason
}

/** A port that was free a moment ago (bind port 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, host, () => resolve())
  })
  const port = (srv.address() as {port: number}).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

/** Sends a four-letter word and returns the whole answer (the server closes the connection after it). */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = new Socket()
    let out = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error(`4lw ${word} to ${host}:${port}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => (out += d))
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    sock.on('close', () => {
      clearTimeout(timer)
      resolve(out)
    })
    sock.connect(port, host, () => sock.end(word))
  })
}

export interface RealZooKeeper {
  host: string
  port: number
  connectString: string
  pid: number
  dataDir: string
  proc: Proc
  close(): Promise<void>
}

export interface RealZooKeeperOptions {
  tickTimeMs?: number
  /** `4lw.commands.whitelist`; default `srvr,ruok,stat,mntr,conf`. */
  whitelist?: string
  minSessionTimeoutMs?: number
  maxSessionTimeoutMs?: number
  /** JVM heap cap (SERVER_JVMFLAGS=-Xmx...); default 256m. */
  heap?: string
  /** Put the dataDir under this directory instead of the OS temp dir (the benchmark keeps it on the same disk as ours). */
  parentDir?: string
  readyTimeoutMs?: number
}

export async function startRealZooKeeper(opts: RealZooKeeperOptions = {}): Promise<RealZooKeeper> {
  const skip = realZooKeeperSkip()
  if (skip) throw new Error(skip)
  const host = '127.0.0.1'
  const dir = opts.parentDir ? ownedDir(join(opts.parentDir, `real-zk-${process.pid}-${Date.now()}`)) : makeTmpDir('dlog-real-zk-')
  const dataDir = join(dir.path, 'data')
  mkdirSync(dataDir, {recursive: true})
  const cfg = join(dir.path, 'zoo.cfg')
  // A port can be taken between freePort() and the JVM's bind; retry a few times on that race.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(host)
    const lines = [
      `tickTime=${opts.tickTimeMs ?? 2000}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      `clientPortAddress=${host}`,
      `4lw.commands.whitelist=${opts.whitelist ?? 'srvr,ruok,stat,mntr,conf'}`,
      ...(opts.minSessionTimeoutMs ? [`minSessionTimeout=${opts.minSessionTimeoutMs}`] : []),
      ...(opts.maxSessionTimeoutMs ? [`maxSessionTimeout=${opts.maxSessionTimeoutMs}`] : []),
    ]
    writeFileSync(cfg, lines.join('\n') + '\n')
    const proc = startProcess(ZK_SERVER_SH, ['start-foreground', cfg], {
      env: {...process.env, SERVER_JVMFLAGS: `-Xmx${opts.heap ?? '256m'}`, JMXDISABLE: 'true'},
    })
    let exited = false
    void proc.exited.then(() => (exited = true))
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(`ZooKeeper exited early: ${proc.output().slice(-2000)}`)
          return (await fourLetterWord(host, port, 'srvr', 1_000).catch(() => '')).includes('Mode:')
        },
        {timeoutMs: opts.readyTimeoutMs ?? 60_000, intervalMs: 50, what: `real ZooKeeper on ${host}:${port}`},
      )
    } catch (e) {
      await proc.stop(5_000)
      if (attempt < 3 && /Address already in use|BindException/.test(proc.output())) continue
      dir.remove()
      throw e
    }
    const watchdog = startWatchdog(proc.pid, dir.path)
    return {
      host,
      port,
      connectString: `${host}:${port}`,
      pid: proc.pid,
      dataDir,
      proc,
      close: async () => {
        await proc.stop(10_000)
        watchdog.kill()
        dir.remove()
      },
    }
  }
}

/**
 * If this process dies without close() (a killed or timed-out test file), a detached shell stops the
 * JVM it started (by PID) and removes its temp dir, so no ZooKeeper outlives the test run.
 */
function startWatchdog(jvmPid: number, dir: string): {kill(): void} {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${jvmPid} 2>/dev/null; do sleep 1; done; ` +
    `kill ${jvmPid} 2>/dev/null; sleep 2; kill -9 ${jvmPid} 2>/dev/null; rm -rf '${dir.replaceAll("'", "")}'`
  const child = spawn('bash', ['-c', script], {detached: true, stdio: 'ignore'})
  child.unref()
  return {kill: () => void (child.exitCode === null && child.kill('SIGKILL'))}
}

function ownedDir(path: string): {path: string; remove(): void} {
  mkdirSync(path, {recursive: true})
  return {path, remove: () => rmSync(path, {recursive: true, force: true})}
}

/** VmRSS of a process in KiB (Linux /proc), or undefined if it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

export interface CliResult {
  code: number | null
  stdout: string
  /** stderr without the SLF4J noise lines. */
  stderr: string
}

const BANNER_LINES = /^(Connecting to .*|Welcome to ZooKeeper!|JLine support is (enabled|disabled)|WATCHER::|WatchedEvent state:SyncConnected type:None path:null|)$/

/** Output lines after zkCli's connection banner (blank lines and banner lines removed). */
export function cliBody(text: string): string[] {
  return text.split('\n').filter((l) => !BANNER_LINES.test(l))
}

/** Runs `zkCli.sh -server <connectString> <args...>` (one-shot) or, with `input`, a piped script. */
export function runZkCli(connectString: string, args: string[], opts: {input?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(ZK_CLI_SH, ['-server', connectString, ...args], {stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('SLF4J:')).join('\n')})
    })
    child.stdin.end(opts.input ?? '')
  })
}

/**
 * DistributedLog's distributedlog-core/conf/zookeeper.conf.template as shipped (comments dropped), with
 * its dataDir and the client address of its server.1 line replaced: it has no clientPort key.
 */
export function dlZookeeperConfTemplate(dataDir = '/tmp/data/zookeeper', clientAddress = '0.0.0.0:2181'): string {
  return `tickTime=2000
initLimit=10
syncLimit=30
dataDir=${dataDir}
dataLogDir=${dataDir}/txlog
adminPort=9990
zookeeper.admin.enableServer=true
globalOutstandingLimit=1000
snapCount=100000
maxClientCnxns=25
electionAlg=3
leaderServes=yes
skipACL=no
autopurge.purgeInterval=1
standaloneEnabled=false
server.1=127.0.0.1:2710:3710:participant;${clientAddress}
`
}

// ---------------------------------------------------------------------------------------------------
// Targets of the compatibility suite: the same checks run against each.

export interface ZKTarget {
  name: 'ours' | 'real'
  host: string
  port: number
  connectString: string
  /** PID of the server process (real ZK; ours runs in the test process, so undefined). */
  pid: number | undefined
  close(): Promise<void>
}

export interface ZKTargetOptions {
  tickTimeMs?: number
  /** Four-letter words answered. */
  whitelist?: string[]
}

interface OurServerHandle {
  host: string
  port: number
  close(): Promise<void>
}
type OurServerStart = (opts: Record<string, unknown>) => Promise<OurServerHandle>

/** Our ZKServer.start if the engine exports it yet (another helper builds it), else undefined. */
export async function ourServerStart(): Promise<OurServerStart | undefined> {
  const engine = (await import('../../src/engine/index.js')) as Record<string, unknown>
  const server = engine.ZKServer as {start?: OurServerStart} | undefined
  return typeof server?.start === 'function' ? server.start.bind(server) : undefined
}

/** Skip reason for the 'ours' half, or false. */
export async function ourServerSkip(): Promise<string | false> {
  return (await ourServerStart()) ? false : 'our ZooKeeper server (ZKServer in src/engine/index.ts) is not built yet'
}

export async function startTarget(name: 'ours' | 'real', opts: ZKTargetOptions = {}): Promise<ZKTarget> {
  const whitelist = opts.whitelist ?? ['srvr', 'ruok', 'stat', 'mntr']
  if (name === 'real') {
    const zk = await startRealZooKeeper({tickTimeMs: opts.tickTimeMs, whitelist: whitelist.join(',')})
    return {name, host: zk.host, port: zk.port, connectString: zk.connectString, pid: zk.pid, close: () => zk.close()}
  }
  const start = await ourServerStart()
  if (!start) throw new Error('our ZooKeeper server is not available')
  const srv = await start({port: 0, host: '127.0.0.1', tickTimeMs: opts.tickTimeMs ?? 2000, fourLetterWhitelist: whitelist})
  return {name, host: srv.host, port: srv.port, connectString: `${srv.host}:${srv.port}`, pid: undefined, close: () => srv.close()}
}
