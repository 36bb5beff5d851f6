/**
 * Ledger benchmark: the replicated add path end to end. Three bookies run as child processes (the built
 * `dlog bookie --conf`, journal fsync on), ZooKeeper runs in this process, and the client is the real
 * ledger client (TcpBookieTransport + LedgerWriteHandle, E3 Qw3 Qa2): closed-loop appends of 100 B and
 * 1 KiB entries at 1, 64 and 256 outstanding, one fresh ledger per run.
 *
 * Before the first row, JIT_WARMUP_MS of unmeasured adds (half at 64, half at 1 outstanding) bring the
 * fresh processes to their optimized steady state. Per run: adds/s and MB/s acknowledged inside the
 * measured window, and the latency (append -> ack by Qa bookies) p50/p99/p99.9 of appends sent inside it;
 * next to them the disk's fdatasync p50/p99 probed just before the row (the floor under any add's latency;
 * on this shared machine it moves 10x with other load) and the CPU microseconds per add of the client and
 * of the bookies (at 64+ outstanding much steadier under other helpers' load than the rates, so
 * before/after comparisons of the add path use them; at 1 outstanding they are mostly per-wakeup and
 * syscall costs). In the same run, when installed, the peers of /work/shared/bench/peers.sh are measured
 * with its own client (lib/pubbench.js): NATS JetStream R3 on a 3-node loopback cluster (file storage; NATS
 * does not fsync per message) and Redis streams with appendfsync always, each with the same sizes and
 * windows; the table prints dlog/peer ratios.
 *
 * Targets (issue 4): at 1 outstanding p99 <= 2 ms; at 256 outstanding >= 40,000 adds/s of 100 B and more
 * than twice NATS JetStream R3.
 *
 *   npm run build && npm run bench -- ledger      # SECS=5 WARMUP_MS=1000 JIT_WARMUP_MS=3000 CONC=1,64,256 SIZES=100,1024 FSYNC_PROBE_MS=500
 *   SECS=2 WARMUP_MS=500 PEERS=0 CONC=1,256 SIZES=100 npm run bench -- ledger   # a quick look, about 10 s
 *   BOOKIE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the bookie children.
 *   PEERS=0 skips the peers; NODE_DIR (/tmp/benchnode: npm nats + ioredis) and NATS_SERVER as in peers.sh
 *   (run /work/shared/bench/peers.sh once to install nats-server, redis-server and the npm clients).
 */
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {closeSync, existsSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {metaformat} from '../src/engine/bookie/admin.js'
import {startBookieChild} from './bookie.js'
import {LedgerClient} from '../src/engine/ledger/ledger-client.js'
import {ZKClient} from '../src/engine/zookeeper/client/zk-client.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const PEERS_LIB = '/work/shared/bench/lib/pubbench.js'
const ROOT = '/ledgers'

export interface LedgerBenchRow {
  system: string
  entryBytes: number
  outstanding: number
  addsPerSec: number
  mbPerSec: number
  p50Ms: number
  p99Ms: number
  p999Ms: number
  errors: number
  /** The machine's fdatasync latency measured just before this row (dlog rows; see probeFdatasync). */
  fsyncP50Ms?: number
  fsyncP99Ms?: number
  /** CPU microseconds per acknowledged add in the measured window: this process, and the 3 bookies summed. */
  clientCpuUsPerAdd?: number
  bookiesCpuUsPerAdd?: number
}

export interface LedgerBenchResult {
  rows: LedgerBenchRow[]
  peersNote: string
}

function envList(name: string, dflt: string): number[] {
  return (process.env[name] ?? dflt).split(',').map(Number)
}

function pct(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number)
}

/**
 * 4 KiB overwrite + fdatasync of a pre-written file (the journal's pattern: it preallocates) for
 * `ms`: the disk as it is this minute, printed next to the latency it bounds. On a quiet run of this
 * machine p50 is about 0.12 ms (RESULTS-2026-11-23.md); under other helpers' load it is often 10x that.
 */
function probeFdatasync(dir: string, ms: number): {p50Ms: number; p99Ms: number} {
  const file = join(dir, 'fdatasync-probe.dat')
  const blocks = 256
  const block = Buffer.alloc(4096, 0x61)
  const fd = openSync(file, 'w')
  try {
    for (let i = 0; i < blocks; i++) writeSync(fd, block, 0, block.length, i * block.length)
    fdatasyncSync(fd)
    const lat: number[] = []
    const end = performance.now() + ms
    for (let i = 0; performance.now() < end && lat.length < 100_000; i++) {
      writeSync(fd, block, 0, block.length, (i % blocks) * block.length)
      const t = performance.now()
      fdatasyncSync(fd)
      lat.push(performance.now() - t)
    }
    const sorted = Float64Array.from(lat).sort()
    return {p50Ms: pct(sorted, 0.5), p99Ms: pct(sorted, 0.99)}
  } finally {
    closeSync(fd)
    rmSync(file, {force: true})
  }
}

/** CPU microseconds (user + system, all threads) a child has used, from /proc (10 ms ticks). */
function childCpuUs(pid: number | undefined): number {
  if (pid === undefined) return NaN
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as {port: number}).port
  await new Promise((r) => srv.close(r))
  return port
}

/** Stops a child we started: SIGTERM, then SIGKILL after 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

type DriveResult = Omit<LedgerBenchRow, 'system' | 'entryBytes' | 'outstanding'>

/**
 * Closed loop: `window` appends in flight for warmup + secs; counts what lands in the measured window.
 * CPU per add: this process and the bookies (`pids`) sampled when the first append of the window and
 * the first one after it would start (not on timers, which fire late on a loaded machine), divided by
 * the acks counted between the two samples.
 */
async function drive(append: () => Promise<unknown>, window: number, warmupMs: number, secs: number, pids: (number | undefined)[]): Promise<DriveResult> {
  const bookiesCpu = (): number => pids.reduce((sum: number, pid) => sum + childCpuUs(pid), 0)
  const t0 = performance.now()
  const tMeasure = t0 + warmupMs
  const tEnd = tMeasure + secs * 1000
  let ackedTotal = 0
  let sample0: {acks: number; client: number; bookies: number} | undefined
  let cpu: {clientCpuUsPerAdd: number; bookiesCpuUsPerAdd: number} | undefined
  const sampleCpu = (now: number): void => {
    if (!sample0 && now >= tMeasure) {
      const u = process.cpuUsage()
      sample0 = {acks: ackedTotal, client: u.user + u.system, bookies: bookiesCpu()}
    } else if (sample0 && !cpu && now >= tEnd) {
      const u = process.cpuUsage()
      const acks = Math.max(1, ackedTotal - sample0.acks)
      cpu = {clientCpuUsPerAdd: (u.user + u.system - sample0.client) / acks, bookiesCpuUsPerAdd: (bookiesCpu() - sample0.bookies) / acks}
    }
  }
  const lat: number[] = []
  let acked = 0
  let errors = 0
  let inflight = 0
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  const launch = (): void => {
    const start = performance.now()
    sampleCpu(start)
    if (start >= tEnd) {
      if (inflight === 0) done()
      return
    }
    inflight++
    append().then(
      () => {
        const end = performance.now()
        inflight--
        ackedTotal++
        if (end >= tMeasure && end < tEnd) acked++
        if (start >= tMeasure && start < tEnd) lat.push(end - start)
        launch()
      },
      () => {
        inflight--
        errors++
        if (errors > 100) {
          if (inflight === 0) done()
          return
        }
        launch()
      },
    )
  }
  for (let i = 0; i < window; i++) launch()
  await finished
  const s = Float64Array.from(lat).sort()
  return {addsPerSec: acked / secs, mbPerSec: 0, p50Ms: pct(s, 0.5), p99Ms: pct(s, 0.99), p999Ms: pct(s, 0.999), errors, ...cpu}
}

async function runDlog(sizes: number[], conc: number[], secs: number, warmupMs: number, fsyncProbeMs: number, dir: string): Promise<LedgerBenchRow[]> {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'bookie.js'))) throw new Error('bench/ledger needs the built CLI: run `npm run build` first')
  const {ZKServer} = await import('../src/engine/zookeeper/server/zk-server.js')
  const zkServer = await ZKServer.start({port: 0, host: '127.0.0.1'})
  const connectString = `127.0.0.1:${zkServer.port}`
  const children: ChildProcess[] = []
  let zk: ZKClient | undefined
  let client: LedgerClient | undefined
  try {
    zk = await ZKClient.connect({connectString})
    await metaformat({zk, root: ROOT, force: true, nonInteractive: true, confirm: async () => false})
    for (let i = 0; i < 3; i++) {
      const conf = join(dir, `bookie${i}.conf`)
      writeFileSync(
        conf,
        [
          `zkServers=${connectString}`,
          `zkLedgersRootPath=${ROOT}`,
          'bookiePort=0',
          'advertisedAddress=127.0.0.1',
          `journalDirectory=${join(dir, `b${i}`, 'journal')}`,
          `ledgerDirectories=${join(dir, `b${i}`, 'ledgers')}`,
          '',
        ].join('\n'),
      )
    }
    for (let i = 0; i < 3; i++) children.push((await startBookieChild(join(dir, `bookie${i}.conf`))).child)
    // The transport's request bound follows addEntryTimeoutMs (30 s), as before.
    client = await LedgerClient.connect({zk, ledgersRootPath: ROOT, config: {addEntryTimeoutMs: 30_000}})
    const {placement} = client.ctx
    for (let i = 0; i < 200 && (await placement.writableBookies()).length < 3; i++) await new Promise((r) => setTimeout(r, 50))
    // JIT warm-up: fresh bookie and client processes run the add path in V8's interpreter and baseline
    // tiers for their first few thousand adds (the optimizing compiler was still busy 3 s into a 1-in-
    // flight row, and that row's rate climbed from 1,100 to 2,000 adds/s over its window). A server runs
    // for days, so the rows measure the steady state: first some adds at 64 and at 1 outstanding (the
    // bookies' batched and inline journal paths), then each row with its own warm-up as before.
    const jitWarmupMs = Number(process.env.JIT_WARMUP_MS ?? 3000)
    if (jitWarmupMs > 0) {
      const h = await client.createLedger({ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: Buffer.from('bench')})
      const payload = Buffer.alloc(sizes[0] ?? 100, 0x78)
      for (const window of [64, 1]) {
        const w = await drive(() => h.append(payload), window, 0, jitWarmupMs / 2000, [])
        if (w.errors > 0) console.error(`JIT warm-up at ${window} outstanding: ${w.errors} failed adds`)
      }
      await h.close()
    }
    const rows: LedgerBenchRow[] = []
    for (const size of sizes) {
      const payload = Buffer.alloc(size, 0x78)
      for (const window of conc) {
        const h = await client.createLedger({ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: Buffer.from('bench')})
        const fsync = fsyncProbeMs > 0 ? probeFdatasync(dir, fsyncProbeMs) : {p50Ms: NaN, p99Ms: NaN}
        const r = await drive(() => h.append(payload), window, warmupMs, secs, children.map((c) => c.pid))
        await h.close()
        rows.push({
          system: 'dlog E3 Qw3 Qa2',
          entryBytes: size,
          outstanding: window,
          ...r,
          mbPerSec: (r.addsPerSec * size) / 1e6,
          fsyncP50Ms: fsync.p50Ms,
          fsyncP99Ms: fsync.p99Ms,
        })
      }
    }
    return rows
  } finally {
    await client?.close()
    await zk?.close()
    for (const c of children) await stopChild(c)
    await zkServer.close()
  }
}

// ---------------------------------------------------------------------------------------------------
// Peers (the servers and client of /work/shared/bench/peers.sh)

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

async function waitPort(port: number): Promise<void> {
  const {connect} = await import('node:net')
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({host: '127.0.0.1', port})
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`)
}

function pubbench(args: string[], nodeDir: string): Promise<LedgerBenchRow[]> {
  const child = spawn(process.execPath, [PEERS_LIB, ...args], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NODE_PATH: join(nodeDir, 'node_modules')}})
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d))
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`pubbench ${args[0]} exited with ${code}: ${err.slice(0, 500)}`))
      const rows = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as {label: string; size: number; window: number; msgs_s: number; mb_s: number; p50_us: number; p99_us: number; p999_us: number; errors: number})
        .map((r) => ({
          system: r.label,
          entryBytes: r.size,
          outstanding: r.window,
          addsPerSec: r.msgs_s,
          mbPerSec: r.mb_s,
          p50Ms: r.p50_us / 1000,
          p99Ms: r.p99_us / 1000,
          p999Ms: r.p999_us / 1000,
          errors: r.errors,
        }))
      resolve(rows)
    })
  })
}

async function runPeers(sizes: number[], conc: number[], secs: number, warmupMs: number, dir: string): Promise<{rows: LedgerBenchRow[]; note: string}> {
  const nodeDir = process.env.NODE_DIR ?? '/tmp/benchnode'
  const nats = process.env.NATS_SERVER ?? 'nats-server'
  const missing = [
    !existsSync(PEERS_LIB) && PEERS_LIB,
    !has(nats) && nats,
    !has('redis-server') && 'redis-server',
    !existsSync(join(nodeDir, 'node_modules', 'nats')) && `${nodeDir}/node_modules/nats`,
    !existsSync(join(nodeDir, 'node_modules', 'ioredis')) && `${nodeDir}/node_modules/ioredis`,
  ].filter((x): x is string => typeof x === 'string')
  if (missing.length > 0) return {rows: [], note: `peers not measured: missing ${missing.join(', ')} (run /work/shared/bench/peers.sh once to install them)`}
  const common = ['--sizes', sizes.join(','), '--windows', conc.join(','), '--secs', String(secs), '--warm', String(warmupMs / 1000), '--reps', '1']
  const rows: LedgerBenchRow[] = []
  const children: ChildProcess[] = []
  try {
    // NATS JetStream R3: three servers clustered over loopback, file storage.
    const ports = [await freePort(), await freePort(), await freePort()]
    const cports = [await freePort(), await freePort(), await freePort()]
    for (let i = 0; i < 3; i++) {
      const d = join(dir, `nats${i}`)
      mkdirSync(d, {recursive: true})
      const conf = join(d, 'n.conf')
      writeFileSync(
        conf,
        [
          `server_name: n${i + 1}`,
          'host: 127.0.0.1',
          `port: ${ports[i]}`,
          `jetstream { store_dir: "${join(d, 'js')}" }`,
          `cluster { name: bench, listen: 127.0.0.1:${cports[i]}, routes: [${cports.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}] }`,
          '',
        ].join('\n'),
      )
      const c = spawn(nats, ['-c', conf, '-l', join(d, 'n.log')], {stdio: 'ignore'})
      children.push(c)
    }
    for (const p of ports) await waitPort(p)
    rows.push(...(await pubbench(['nats', '--servers', ports.map((p) => `127.0.0.1:${p}`).join(','), '--replicas', '3', '--label', 'NATS JetStream R3', ...common], nodeDir)))
    for (const c of children.splice(0)) await stopChild(c)
    // Redis streams, appendonly + appendfsync always.
    const rport = await freePort()
    const rdir = join(dir, 'redis')
    mkdirSync(rdir, {recursive: true})
    const redisArgs = ['--bind', '127.0.0.1', '--port', String(rport), '--dir', rdir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--logfile', join(rdir, 'redis.log')]
    children.push(spawn('redis-server', redisArgs, {stdio: 'ignore'}))
    await waitPort(rport)
    rows.push(...(await pubbench(['redis', '--port', String(rport), '--label', 'Redis appendfsync always', ...common], nodeDir)))
    return {rows, note: 'peers measured in this run with /work/shared/bench/lib/pubbench.js'}
  } catch (e) {
    return {rows, note: `peers failed: ${e instanceof Error ? e.message : String(e)}`}
  } finally {
    for (const c of children) await stopChild(c)
  }
}

export async function run(): Promise<LedgerBenchResult> {
  const secs = Number(process.env.SECS ?? 5)
  const warmupMs = Number(process.env.WARMUP_MS ?? 1000)
  const conc = envList('CONC', '1,64,256')
  const sizes = envList('SIZES', '100,1024')
  const fsyncProbeMs = Number(process.env.FSYNC_PROBE_MS ?? 500)
  const dir = mkdtempSync(join(process.env.DIR ?? tmpdir(), 'dlog-bench-ledger-'))
  try {
    const rows = await runDlog(sizes, conc, secs, warmupMs, fsyncProbeMs, dir)
    const peers = process.env.PEERS === '0' ? {rows: [], note: 'peers skipped (PEERS=0)'} : await runPeers(sizes, conc, secs, warmupMs, dir)
    return {rows: [...rows, ...peers.rows], peersNote: peers.note}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

export function formatResult(r: LedgerBenchResult): string {
  const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-')
  const dlog = r.rows.filter((x) => x.system.startsWith('dlog'))
  const peerNames = [...new Set(r.rows.filter((x) => !x.system.startsWith('dlog')).map((x) => x.system))]
  const peerOf = (name: string, x: LedgerBenchRow) => r.rows.find((p) => p.system === name && p.entryBytes === x.entryBytes && p.outstanding === x.outstanding)
  const o = (n: number | undefined, d: number): string => (n === undefined ? '' : f(n, d))
  const lines = [
    '| system | entry | outstanding | adds/s | MB/s | p50 ms | p99 ms | p99.9 ms | errors | fdatasync p50/p99 ms | client CPU µs/add | bookies CPU µs/add |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.system} | ${x.entryBytes} B | ${x.outstanding} | ${f(x.addsPerSec)} | ${f(x.mbPerSec, 1)} | ${f(x.p50Ms, 3)} | ${f(x.p99Ms, 3)} | ${f(x.p999Ms, 3)} | ${x.errors} | ` +
        `${x.fsyncP50Ms === undefined ? '' : `${f(x.fsyncP50Ms, 3)} / ${f(x.fsyncP99Ms ?? NaN, 3)}`} | ${o(x.clientCpuUsPerAdd, 1)} | ${o(x.bookiesCpuUsPerAdd, 1)} |`,
    ),
    '',
    'fdatasync: 4 KiB overwrite of a pre-written file, measured on this disk just before each dlog row (the floor under every add\'s latency); ' +
      'CPU per add: this process (client + ZooKeeper) and the 3 bookie processes summed, over the measured window.',
    r.peersNote,
  ]
  if (peerNames.length > 0) {
    lines.push('', `| entry | outstanding | ${peerNames.map((n) => `dlog/${n} adds/s | dlog/${n} p99`).join(' | ')} |`, `|---|---|${peerNames.map(() => '---|---|').join('')}`)
    for (const x of dlog) {
      const cells = peerNames.map((n) => {
        const p = peerOf(n, x)
        return p ? `${f(x.addsPerSec / p.addsPerSec, 2)}x | ${f(x.p99Ms / p.p99Ms, 2)}x` : '- | -'
      })
      lines.push(`| ${x.entryBytes} B | ${x.outstanding} | ${cells.join(' | ')} |`)
    }
  }
  const t1 = dlog.find((x) => x.entryBytes === 100 && x.outstanding === 1)
  const t256 = dlog.find((x) => x.entryBytes === 100 && x.outstanding === 256)
  lines.push('')
  if (t1) lines.push(`target p99 <= 2 ms at 1 outstanding (100 B): ${f(t1.p99Ms, 3)} ms ${t1.p99Ms <= 2 ? 'MET' : 'MISSED'}`)
  if (t256) {
    lines.push(`target >= 40000 adds/s at 256 outstanding (100 B): ${f(t256.addsPerSec)} ${t256.addsPerSec >= 40_000 ? 'MET' : 'MISSED'}`)
    const nats = r.rows.find((p) => p.system === 'NATS JetStream R3' && p.entryBytes === 100 && p.outstanding === 256)
    if (nats) lines.push(`target > 2x NATS JetStream R3 at 256 outstanding (100 B): ${f(t256.addsPerSec / nats.addsPerSec, 2)}x ${t256.addsPerSec > 2 * nats.addsPerSec ? 'MET' : 'MISSED'}`)
  }
  return lines.join('\n')
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) console.log(formatResult(await run()))
