/**
 * ZooKeeper benchmark: the same mixed workload against our server and against real Apache ZooKeeper
 * 3.8, in one run, then a table with the ratios.
 *
 * Servers: ours in a child process (`node --import tsx bench/zk.ts --child <dataDir>`: ZKServer with
 * FilePersistence in a fresh dataDir, so every write is fsynced before its reply, like ZooKeeper's
 * forceSync default); real ZooKeeper via zkServer.sh (JVM, SERVER_JVMFLAGS=-Xmx256m) with its dataDir
 * on the same disk (same parent directory).
 *
 * Workload: SESSIONS (16) sessions, each its own ZKClient (node-zookeeper-client), each keeping DEPTH
 * (4) requests in flight in a closed loop for SECS seconds after WARMUP_MS: 20% create (100 B, under
 * the session's own parent, pre-filled to NODES_MAX nodes; at the cap a create becomes a delete), 40% getData,
 * 25% setData (100 B), 15% getChildren of the session's parent. The clients all run in this process,
 * so the client library's cost is part of both numbers (equally).
 *
 * Reports per server: ops/s, p50/p99 latency (all ops, and per kind), server RSS (/proc/<pid>/status
 * VmRSS at the end of its run), and ours/real ratios.
 *
 *   npm run bench -- zk             # SECS=10 WARMUP_MS=2000 SESSIONS=16 DEPTH=4 TARGETS=ours,real DIR=$TMPDIR
 *   node --import tsx bench/zk.ts   # the same, without the harness
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

import {FilePersistence} from '../src/engine/index.js'
import {ZKClient} from '../src/engine/zookeeper/client/zk-client.js'
import {ourServerStart, realZooKeeperSkip, rssKiB, startRealZooKeeper} from '../test/helpers/real-zookeeper.js'

const OP_KINDS = ['create', 'getData', 'setData', 'getChildren', 'delete'] as const
type OpKind = (typeof OP_KINDS)[number]
const MIX: [Exclude<OpKind, 'delete'>, number][] = [
  ['create', 0.2],
  ['getData', 0.4],
  ['setData', 0.25],
  ['getChildren', 0.15],
]
const DATA_BYTES = 100
/** Latency samples kept per kind (a bound on memory; a 10 s run stays far below it). */
const SAMPLES_MAX = 2_000_000

export interface ZKBenchOptions {
  secs?: number
  warmupMs?: number
  sessions?: number
  depth?: number
  nodesMax?: number
  targets?: ('ours' | 'real')[]
  dir?: string
}

export interface ZKBenchRow {
  target: 'ours' | 'real'
  /** What the server stored its data in. */
  store: string
  ops: number
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  perKind: Record<OpKind, {ops: number; p50Ms: number; p99Ms: number}>
  rssMiB: number | undefined
  errors: number
}

export interface ZKBenchResult {
  settings: Required<Omit<ZKBenchOptions, 'targets' | 'dir'>> & {dir: string}
  rows: ZKBenchRow[]
  skipped: string[]
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

class Samples {
  private buf = new Float64Array(1024)
  length = 0

  push(v: number): void {
    if (this.length >= SAMPLES_MAX) return
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = v
  }

  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort()
  }
}

/** Runs the workload against `connectString` and returns counts and latencies of the measured window. */
async function workload(connectString: string, o: Required<Omit<ZKBenchOptions, 'targets' | 'dir'>>): Promise<{ops: number; elapsedMs: number; samples: Record<OpKind, Samples>; errors: number}> {
  const clients = await Promise.all(
    Array.from({length: o.sessions}, () => ZKClient.connect({connectString, sessionTimeoutMs: 30_000, connectTimeoutMs: 30_000, retries: 0})),
  )
  const samples = Object.fromEntries(OP_KINDS.map((k) => [k, new Samples()])) as Record<OpKind, Samples>
  let measuring = false
  let stopping = false
  let ops = 0
  let errors = 0
  const data = Buffer.alloc(DATA_BYTES, 0x61)
  try {
    await clients[0]!.mkdirp('/bench')
    const sessions = await Promise.all(
      clients.map(async (zk, i) => {
        const parent = `/bench/s${i}`
        await zk.create(parent)
        const nodes: string[] = []
        // Fill the session to its node cap before anything is measured (pipelined, in batches), so from
        // the first measured op the create/delete alternation at the cap depends only on the op
        // sequence, never on how fast the server got there: both servers run the same mix.
        for (let n = 0; n < o.nodesMax; n += 64) {
          const batch = Array.from({length: Math.min(64, o.nodesMax - n)}, () => zk.create(`${parent}/n-`, data, 'persistent_sequential'))
          nodes.push(...(await Promise.all(batch)))
        }
        return {zk, parent, nodes}
      }),
    )
    const loop = async (s: (typeof sessions)[number]) => {
      while (!stopping) {
        const r = Math.random()
        let acc = 0
        let kind: OpKind = 'getData'
        for (const [k, share] of MIX) {
          acc += share
          if (r < acc) {
            kind = k
            break
          }
        }
        if (kind === 'create' && s.nodes.length >= o.nodesMax) kind = 'delete'
        const pick = s.nodes[Math.floor(Math.random() * s.nodes.length)] as string
        const t0 = performance.now()
        try {
          switch (kind) {
            case 'create':
              s.nodes.push(await s.zk.create(`${s.parent}/n-`, data, 'persistent_sequential'))
              break
            case 'delete': {
              const i = Math.floor(Math.random() * s.nodes.length)
              const [victim] = s.nodes.splice(i, 1)
              await s.zk.delete(victim as string)
              break
            }
            case 'getData':
              await s.zk.getData(pick)
              break
            case 'setData':
              await s.zk.setData(pick, data)
              break
            case 'getChildren':
              await s.zk.getChildren(s.parent)
              break
          }
        } catch {
          errors++
          continue
        }
        if (measuring) {
          samples[kind].push(performance.now() - t0)
          ops++
        }
      }
    }
    const running = sessions.flatMap((s) => Array.from({length: o.depth}, () => loop(s)))
    await new Promise((r) => setTimeout(r, o.warmupMs))
    measuring = true
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, o.secs * 1000))
    measuring = false
    const elapsedMs = performance.now() - t0
    stopping = true
    await Promise.all(running)
    return {ops, elapsedMs, samples, errors}
  } finally {
    await Promise.all(clients.map((c) => c.close()))
  }
}

function row(target: 'ours' | 'real', store: string, r: Awaited<ReturnType<typeof workload>>, rss: number | undefined): ZKBenchRow {
  const all = new Samples()
  const perKind = {} as ZKBenchRow['perKind']
  for (const k of OP_KINDS) {
    const sorted = r.samples[k].sorted()
    for (const v of sorted) all.push(v)
    perKind[k] = {ops: sorted.length, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99)}
  }
  const sorted = all.sorted()
  return {
    target,
    store,
    ops: r.ops,
    opsPerSec: (r.ops * 1000) / r.elapsedMs,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    perKind,
    rssMiB: rss === undefined ? undefined : rss / 1024,
    errors: r.errors,
  }
}

/** Our server in a child process; resolves once it printed its port. */
async function startOurs(dataDir: string): Promise<{connectString: string; pid: number; stop(): Promise<void>}> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({input: child.stdout})
    rl.on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`our ZooKeeper server exited with ${code} before serving`)))
  })
  return {
    connectString: `127.0.0.1:${port}`,
    pid: child.pid as number,
    stop: async () => {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    },
  }
}

export async function run(opts: ZKBenchOptions = {}): Promise<ZKBenchResult> {
  const env = process.env
  const settings = {
    secs: opts.secs ?? Number(env.SECS ?? 10),
    warmupMs: opts.warmupMs ?? Number(env.WARMUP_MS ?? 2000),
    sessions: opts.sessions ?? Number(env.SESSIONS ?? 16),
    depth: opts.depth ?? Number(env.DEPTH ?? 4),
    nodesMax: opts.nodesMax ?? Number(env.NODES_MAX ?? 500),
    dir: opts.dir ?? env.DIR ?? tmpdir(),
  }
  const targets = opts.targets ?? ((env.TARGETS ?? 'ours,real').split(',') as ('ours' | 'real')[])
  const base = mkdtempSync(join(settings.dir, 'dlog-bench-zk-'))
  const rows: ZKBenchRow[] = []
  const skipped: string[] = []
  try {
    for (const target of targets) {
      if (target === 'ours') {
        if (!(await ourServerStart())) {
          skipped.push('ours: ZKServer is not exported by src/engine/index.ts')
          continue
        }
        const dataDir = join(base, 'ours')
        const srv = await startOurs(dataDir)
        try {
          const r = await workload(srv.connectString, settings)
          rows.push(row('ours', `FilePersistence ${dataDir}`, r, rssKiB(srv.pid)))
        } finally {
          await srv.stop()
        }
      } else {
        const skip = realZooKeeperSkip()
        if (skip) {
          skipped.push(`real: ${skip}`)
          continue
        }
        const zk = await startRealZooKeeper({parentDir: base, heap: '256m', whitelist: 'srvr'})
        try {
          const r = await workload(zk.connectString, settings)
          rows.push(row('real', `zkServer.sh -Xmx256m, dataDir ${zk.dataDir}`, r, rssKiB(zk.pid)))
        } finally {
          await zk.close()
        }
      }
    }
  } finally {
    rmSync(base, {recursive: true, force: true})
  }
  return {settings: {...settings}, rows, skipped}
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits))

export function formatResult(r: ZKBenchResult): string {
  const s = r.settings
  const lines = [
    `ZooKeeper mixed workload: ${s.sessions} sessions x ${s.depth} in flight, ${s.secs} s after ${s.warmupMs} ms warm-up`,
    `(20% create / 40% getData / 25% setData / 15% getChildren, 100 B data, <= ${s.nodesMax} nodes per session)`,
    '',
    'server | ops/s    | p50 ms | p99 ms | RSS MiB | errors',
    '-------|----------|--------|--------|---------|-------',
  ]
  for (const x of r.rows) {
    lines.push(`${x.target.padEnd(6)} | ${x.opsPerSec.toFixed(0).padStart(8)} | ${fmt(x.p50Ms).padStart(6)} | ${fmt(x.p99Ms).padStart(6)} | ${fmt(x.rssMiB, 1).padStart(7)} | ${x.errors}`)
  }
  const ours = r.rows.find((x) => x.target === 'ours')
  const real = r.rows.find((x) => x.target === 'real')
  if (ours && real) {
    const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2))
    lines.push(
      `ratio  | ${ratio(ours.opsPerSec, real.opsPerSec).padStart(8)} | ${ratio(ours.p50Ms, real.p50Ms).padStart(6)} | ${ratio(ours.p99Ms, real.p99Ms).padStart(6)} | ${ratio(ours.rssMiB, real.rssMiB).padStart(7)} |   (ours / real)`,
    )
  }
  lines.push('', 'per kind (ops, p50/p99 ms):')
  for (const x of r.rows) {
    const parts = OP_KINDS.filter((k) => x.perKind[k].ops > 0).map((k) => `${k} ${x.perKind[k].ops} ${fmt(x.perKind[k].p50Ms)}/${fmt(x.perKind[k].p99Ms)}`)
    lines.push(`  ${x.target}: ${parts.join(', ')}`)
  }
  lines.push('', ...r.rows.map((x) => `${x.target}: ${x.store}`), ...r.skipped.map((x) => `skipped ${x}`))
  return lines.join('\n')
}

/** Child mode: serve from `dataDir` until SIGTERM. */
async function child(dataDir: string): Promise<void> {
  const start = await ourServerStart()
  if (!start) throw new Error('ZKServer is not exported by src/engine/index.ts')
  const srv = await start({host: '127.0.0.1', port: 0, persistence: new FilePersistence({dataDir})})
  process.stdout.write(`PORT ${srv.port}\n`)
  process.once('SIGTERM', () => void srv.close().then(() => process.exit(0)))
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const i = process.argv.indexOf('--child')
  if (i >= 0) await child(process.argv[i + 1]!)
  else console.log(formatResult(await run()))
}
