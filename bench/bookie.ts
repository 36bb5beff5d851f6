/**
 * Bookie benchmark over the wire: one bookie in a child process (the real BookieService: wire server,
 * core, journal group commit, registration in an in-process ZooKeeper), one client connection in this
 * process running closed-loop adds of 100 B and 1 KiB entries at 1, 16 and 256 outstanding.
 *
 * Reports per run: adds/s, MB/s (payload), client-side add latency p50/p99, journal fsyncs/s and
 * entries per fsync (from the bookie's /metrics), and the bookie's RSS; plus this machine's
 * fdatasync p50/p99 measured in the same run (100 B write + fdatasync loop in the bench directory),
 * which bounds what a durable add at 1 outstanding can achieve.
 *
 * Targets: >= 100,000 adds/s of 100 B at 256 outstanding; p99 at 1 outstanding within 3x the
 * fdatasync p99; bookie RSS < 256 MB.
 *
 *   node --import tsx bench/bookie.ts            # SECS=5 WARMUP_MS=1000 CONC=1,16,256 SIZES=100,1024 DIR=$TMPDIR
 *   BOOKIE_CONF_EXTRA='key=value;key=value' adds bookie.conf lines (A/B a setting in one sitting)
 *   (also a module: `run()` returns the rows, for a bench harness)
 *
 * The bookie and the load generator are separate processes (two event loops, so on a 2-core machine
 * the bookie has a core of its own), and the generator is built to cost little per add so the
 * numbers are the bookie's, not a client library's: one template frame per size with ids patched in
 * place and the entry CRC32C derived from the header bytes alone (the payload's share is fixed), all
 * frames of an event-loop turn written with one socket write, responses matched by request id from
 * the header only (AddSender). Its CPU use is reported next to the bookie's (client CPU %). With 256
 * outstanding the two processes would run in lockstep (the bookie idle while the client turns acks
 * into requests and vice versa); the bookie's journal splits such bursts (common/wal eager flush), so
 * both work at once.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {metaformat} from '../src/engine/bookie/admin.js'
import {loadBookieConfig} from '../src/engine/bookie/config.js'
import {BookieService} from '../src/engine/bookie/server/bookie-service.js'
import {crc32c} from '../src/engine/common/crc32c.js'
import {crc32cMultiply, crc32cRegister, crc32cShiftOperator} from '../src/engine/common/wal/crc32c-math.js'
import {BookieStatus} from '../src/engine/protocol/bookie/codes.js'
import {encodeEntry} from '../src/engine/protocol/bookie/entry.js'
import {BookieOp, encodeRequest, FRAME_BODY_BYTES_MAX} from '../src/engine/protocol/bookie/wire.js'
import {FrameDecoder} from '../src/engine/net/frame-decoder.js'
import {ZKClient} from '../src/engine/zookeeper/client/zk-client.js'

const KEY = Buffer.from('bench-master-key')
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface BookieBenchRow {
  entryBytes: number
  outstanding: number
  addsPerSec: number
  mbPerSec: number
  p50Ms: number
  p99Ms: number
  fsyncsPerSec: number
  entriesPerFsync: number
  /** The bookie's own journal fdatasync latency p50 (its recent window) at the end of the run. */
  journalFsyncP50Ms: number
  /** The bookie process's CPU use during the run (100 = one core). */
  cpuPercent: number
  /** The benchmark client's CPU use (this process). */
  clientCpuPercent: number
  rssMb: number
}

export interface BookieBenchResult {
  /** How the bookie ran: the built CLI or tsx. */
  via: string
  fdatasync: {p50Ms: number; p99Ms: number; opsPerSec: number}
  rows: BookieBenchRow[]
}

function pct(sorted: Float64Array | number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
}

/** 100 B append + fdatasync in a loop (what a journal group commit costs at its smallest). */
function measureFdatasync(dir: string, seconds: number): {p50Ms: number; p99Ms: number; opsPerSec: number} {
  const file = join(dir, `fdatasync-${process.pid}.dat`)
  const fd = openSync(file, 'a')
  const buf = Buffer.alloc(100, 0x61)
  const lat: number[] = []
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  let now = t0
  while (now < end && lat.length < 1_000_000) {
    const a = performance.now()
    writeSync(fd, buf)
    fdatasyncSync(fd)
    now = performance.now()
    lat.push(now - a)
  }
  closeSync(fd)
  unlinkSync(file)
  const s = Float64Array.from(lat).sort()
  return {p50Ms: pct(s, 0.5), p99Ms: pct(s, 0.99), opsPerSec: lat.length / ((now - t0) / 1000)}
}

/** CPU seconds (user + system) the process has used, from /proc (clock ticks of 10 ms). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function rssMbOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

/** The bookie's journal fsync count and its recent fsync latency p50 (ms). */
async function scrape(statsPort: number): Promise<{fsyncs: number; fsyncP50Ms: number; responseWrites: number}> {
  const text = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text()
  return {
    fsyncs: Number(/^bookie_journal_fsyncs (\d+)$/m.exec(text)?.[1] ?? NaN),
    fsyncP50Ms: Number(/^bookie_journal_fsync_latency_ms\{quantile="0.5"\} (\S+)$/m.exec(text)?.[1] ?? NaN),
    responseWrites: Number(/^bookie_server_response_writes (\d+)$/m.exec(text)?.[1] ?? NaN),
  }
}

/** Latency slots: request ids are sequential and at most this many are outstanding. */
const SLOTS = 1 << 16
/** Requests are encoded into send buffers of this size, written once per event-loop turn. */
const SEND_BUFFER_BYTES = 1024 * 1024

/**
 * A closed-loop add sender over one connection, built to cost the client little per add so the run
 * measures the bookie: each frame is a template copied into a send buffer that is written with one
 * socket write per event-loop turn (not one per frame), ids are patched in place, the entry CRC32C
 * is computed without a native call (the payload's share of the CRC is fixed, so only the 32 header
 * bytes go through a table and one multiplication shifts them over the payload, see
 * common/wal/crc32c-math.ts), and send times live in a ring indexed by request id.
 */
class AddSender {
  private readonly socket: Socket
  private readonly decoder = new FrameDecoder({frameBytesMax: FRAME_BODY_BYTES_MAX})
  private readonly sentAtMs = new Float64Array(SLOTS)
  private nextRequestId = 1
  private nextEntryId = 0
  private readonly template: Buffer
  private readonly entryOffset: number
  /** Register contribution of the payload (processing it from register 0) and the shift over it. */
  private readonly payloadTerm: number
  private readonly payloadShift: number
  private out = Buffer.allocUnsafe(SEND_BUFFER_BYTES)
  private outStart = 0
  private outEnd = 0
  private flushScheduled = false
  private inFlight = 0
  measuring = false
  acks = 0
  failures = 0
  latenciesMs: number[] = []
  private stopped = false
  private idle: (() => void) | undefined

  constructor(socket: Socket, ledgerId: number, entryBytes: number) {
    this.socket = socket
    const payload = Buffer.alloc(entryBytes, 0x61)
    const entry = encodeEntry({ledgerId, entryId: 0, lac: -1, length: 0, payload})
    this.template = encodeRequest({op: BookieOp.ADD_ENTRY, requestId: 0, recovery: false, masterKey: KEY, entry, ledgerId, entryId: 0})
    this.entryOffset = this.template.length - entry.length
    this.payloadTerm = ~crc32c(payload, 0xffff_ffff) >>> 0
    this.payloadShift = crc32cShiftOperator(entryBytes)
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk)
      for (let body = this.decoder.next(); body !== undefined; body = this.decoder.next()) this.onResponse(body)
    })
  }

  private sendOne(): void {
    const n = this.template.length
    if (this.out.length - this.outEnd < n) {
      this.takeOut()
      this.out = Buffer.allocUnsafe(Math.max(SEND_BUFFER_BYTES, n))
      this.outStart = 0
      this.outEnd = 0
    }
    const frame = this.out
    const f = this.outEnd
    this.template.copy(frame, f)
    this.outEnd += n
    const requestId = this.nextRequestId++
    const entryId = this.nextEntryId++
    frame.writeUInt32BE(requestId, f + 8)
    const e = f + this.entryOffset
    frame.writeUInt32BE(Math.floor(entryId / 2 ** 32), e + 8)
    frame.writeUInt32BE(entryId >>> 0, e + 12)
    frame.writeInt32BE(entryId === 0 ? -1 : Math.floor((entryId - 1) / 2 ** 32), e + 16)
    frame.writeUInt32BE(entryId === 0 ? 0xffff_ffff : (entryId - 1) >>> 0, e + 20)
    const header = crc32cRegister(0xffff_ffff, frame, e, e + 32)
    frame.writeUInt32BE(~(crc32cMultiply(this.payloadShift, header) ^ this.payloadTerm) >>> 0, e + 32)
    this.sentAtMs[requestId % SLOTS] = performance.now()
    this.inFlight++
    if (!this.flushScheduled) {
      this.flushScheduled = true
      process.nextTick(this.flush)
    }
  }

  /** Hands the encoded part of the send buffer to the socket (the buffer is never rewritten). */
  private takeOut(): void {
    if (this.outEnd > this.outStart) this.socket.write(this.out.subarray(this.outStart, this.outEnd))
    this.outStart = this.outEnd
  }

  private readonly flush = (): void => {
    this.flushScheduled = false
    this.takeOut()
  }

  private onResponse(body: Buffer): void {
    const requestId = body.readUInt32BE(4)
    const status = body.readUInt16BE(2)
    const t0 = this.sentAtMs[requestId % SLOTS] as number
    this.inFlight--
    if (status !== BookieStatus.OK) {
      if (this.failures++ === 0) console.error(`add failed with status ${status}`)
    } else if (this.measuring) {
      this.acks++
      if (this.latenciesMs.length < 5_000_000) this.latenciesMs.push(performance.now() - t0)
    }
    if (!this.stopped) this.sendOne()
    else if (this.inFlight === 0) this.idle?.()
  }

  start(outstanding: number): void {
    for (let i = 0; i < outstanding; i++) this.sendOne()
  }

  stop(): Promise<void> {
    this.stopped = true
    if (this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => (this.idle = resolve))
  }
}

async function runOne(port: number, statsPort: number, childPid: number, ledgerId: number, entryBytes: number, outstanding: number, secs: number, warmupMs: number): Promise<BookieBenchRow> {
  const socket = connect({host: '127.0.0.1', port})
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const sender = new AddSender(socket, ledgerId, entryBytes)
  sender.start(outstanding)
  await new Promise((r) => setTimeout(r, warmupMs))
  const before = await scrape(statsPort)
  const fsyncs0 = before.fsyncs
  sender.measuring = true
  const cpu0 = cpuSecondsOf(childPid)
  const clientCpu0 = process.cpuUsage()
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, secs * 1000))
  sender.measuring = false
  const elapsedS = (performance.now() - t0) / 1000
  const cpuPercent = (100 * (cpuSecondsOf(childPid) - cpu0)) / elapsedS
  const clientCpu = process.cpuUsage(clientCpu0)
  const clientCpuPercent = (clientCpu.user + clientCpu.system) / 1e4 / elapsedS
  const after = await scrape(statsPort)
  const fsyncs = after.fsyncs - fsyncs0
  if (process.env.BENCH_DEBUG) {
    const text = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text()
    console.error(`response writes/s ${(after.responseWrites - before.responseWrites) / elapsedS}`)
    console.error(text.split('\n').filter((l) => /latency_ms\{|add_waiters|outstanding/.test(l)).join('\n'))
  }
  const rssMb = rssMbOf(childPid)
  await sender.stop()
  socket.destroy()
  if (sender.failures > 0) throw new Error(`${sender.failures} adds failed`)
  const lat = Float64Array.from(sender.latenciesMs).sort()
  const addsPerSec = sender.acks / elapsedS
  return {
    entryBytes,
    outstanding,
    addsPerSec,
    mbPerSec: (addsPerSec * entryBytes) / 1e6,
    p50Ms: pct(lat, 0.5),
    p99Ms: pct(lat, 0.99),
    fsyncsPerSec: fsyncs / elapsedS,
    entriesPerFsync: sender.acks / Math.max(1, fsyncs),
    journalFsyncP50Ms: after.fsyncP50Ms,
    cpuPercent,
    clientCpuPercent,
    rssMb,
  }
}

async function startZooKeeper(): Promise<{connectString: string; close(): Promise<void>}> {
  const {ZKServer} = await import('../src/engine/zookeeper/server/zk-server.js')
  const zk = await ZKServer.start({port: 0, host: '127.0.0.1'})
  return {connectString: `${zk.host}:${zk.port}`, close: () => zk.close()}
}

/**
 * A bookie child process from a conf file, as the log, ledger and bookie benches start them: the built
 * CLI (`dlog bookie --conf`, compiled dist/ as users run it) when it is there, else this file in child
 * mode through tsx (slower: tsx wraps every closure it creates; BENCH_TSX=1 forces it).
 * BOOKIE_NODE_ARGS adds node flags (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; NODE_OPTIONS refuses
 * --cpu-prof). Resolves once the bookie says it serves, with its id, port and stats port (0: none).
 */
export function startBookieChild(conf: string): Promise<{child: ChildProcess; id: string; port: number; statsPort: number; via: string}> {
  const nodeArgs = (process.env.BOOKIE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
  const cli = join(repoRoot, 'bin', 'run.js')
  const built = existsSync(join(repoRoot, 'dist', 'commands', 'bookie.js')) && process.env.BENCH_TSX !== '1'
  const args = built
    ? [...nodeArgs, cli, 'bookie', '--conf', conf]
    : [...nodeArgs, '--import', 'tsx', fileURLToPath(import.meta.url), '--child', conf]
  const child = spawn(process.execPath, args, {stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot})
  child.stderr!.resume()
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const ready = /^READY (\S+:(\d+)) (\d+)$/m.exec(out) ?? /^Bookie (\S+:(\d+)) is running \([^)]*?(?:, stats on http:\/\/[^:]+:(\d+))?\)/m.exec(out)
      if (ready) {
        const via = built ? 'dist (dlog bookie)' : 'tsx'
        resolve({child, id: ready[1] as string, port: Number(ready[2]), statsPort: Number(ready[3] ?? 0), via})
      }
    })
    child.once('exit', (code) => reject(new Error(`bookie child exited with ${code}: ${out}`)))
  })
}

export async function run(opts: {secs?: number; warmupMs?: number; conc?: number[]; sizes?: number[]; dir?: string} = {}): Promise<BookieBenchResult> {
  const secs = opts.secs ?? Number(process.env.SECS ?? 5)
  const warmupMs = opts.warmupMs ?? Number(process.env.WARMUP_MS ?? 1000)
  const conc = opts.conc ?? (process.env.CONC ?? '1,16,256').split(',').map(Number)
  const sizes = opts.sizes ?? (process.env.SIZES ?? '100,1024').split(',').map(Number)
  const dir = mkdtempSync(join(opts.dir ?? process.env.DIR ?? tmpdir(), 'dlog-bench-bookie-'))
  const fdatasync = measureFdatasync(dir, Math.min(3, secs))
  const zk = await startZooKeeper()
  let child: ChildProcess | undefined
  try {
    const admin = await ZKClient.connect({connectString: zk.connectString})
    await metaformat({zk: admin, root: '/ledgers', force: true, nonInteractive: true, confirm: async () => false})
    await admin.close()
    const conf = join(dir, 'bookie.conf')
    writeFileSync(
      conf,
      [
        `zkServers=${zk.connectString}`,
        'zkLedgersRootPath=/ledgers',
        'bookiePort=0',
        'codahaleStatsHttpPort=0',
        `journalDirectory=${join(dir, 'journal')}`,
        `ledgerDirectories=${join(dir, 'ledgers')}`,
        // BOOKIE_CONF_EXTRA: more bookie.conf lines, ';'-separated (e.g. "journalInlineSyncRecordsMax=0" to compare).
        ...(process.env.BOOKIE_CONF_EXTRA ?? '').split(';').filter((l) => l !== ''),
        '',
      ].join('\n'),
    )
    const started = await startBookieChild(conf)
    child = started.child
    const rows: BookieBenchRow[] = []
    let ledgerId = 1
    for (const size of sizes) {
      for (const c of conc) rows.push(await runOne(started.port, started.statsPort, child.pid!, ledgerId++, size, c, secs, warmupMs))
    }
    return {via: started.via, fdatasync, rows}
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
    await zk.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

export function formatResult(r: BookieBenchResult): string {
  const f = (n: number, d = 0): string => n.toFixed(d)
  const lines = [
    `bookie: ${r.via}`,
    `fdatasync (100 B, same disk): p50 ${f(r.fdatasync.p50Ms, 3)} ms, p99 ${f(r.fdatasync.p99Ms, 3)} ms, ${f(r.fdatasync.opsPerSec)} ops/s`,
    '',
    '| entry | outstanding | adds/s | MB/s | p50 ms | p99 ms | fsyncs/s | entries/fsync | journal fsync p50 ms | bookie CPU % | client CPU % | bookie RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.entryBytes} B | ${x.outstanding} | ${f(x.addsPerSec)} | ${f(x.mbPerSec, 1)} | ${f(x.p50Ms, 3)} | ${f(x.p99Ms, 3)} | ${f(x.fsyncsPerSec)} | ${f(x.entriesPerFsync, 1)} | ${f(x.journalFsyncP50Ms, 3)} | ${f(x.cpuPercent)} | ${f(x.clientCpuPercent)} | ${f(x.rssMb)} |`,
    ),
  ]
  const t256 = r.rows.find((x) => x.entryBytes === 100 && x.outstanding === 256)
  const t1 = r.rows.find((x) => x.entryBytes === 100 && x.outstanding === 1)
  const rssMax = Math.max(...r.rows.map((x) => x.rssMb))
  lines.push('')
  if (t256) lines.push(`target >= 100000 adds/s (100 B, 256 outstanding): ${f(t256.addsPerSec)} ${t256.addsPerSec >= 100_000 ? 'MET' : 'MISSED'}`)
  if (t1) lines.push(`target p99 at 1 outstanding <= 3x fdatasync p99 (${f(3 * r.fdatasync.p99Ms, 3)} ms): ${f(t1.p99Ms, 3)} ms ${t1.p99Ms <= 3 * r.fdatasync.p99Ms ? 'MET' : 'MISSED'}`)
  lines.push(`target bookie RSS < 256 MB: max ${f(rssMax)} MB ${rssMax < 256 ? 'MET' : 'MISSED'}`)
  return lines.join('\n')
}

/** Child mode: run one bookie from a conf, print READY <bookie id host:port> <statsPort>, stop on SIGTERM. */
async function child(conf: string): Promise<void> {
  const {config} = loadBookieConfig(conf)
  const service = await BookieService.start({config})
  process.stdout.write(`READY ${service.bookieId} ${service.stats?.port ?? 0}\n`)
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()))
  await service.close()
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const i = process.argv.indexOf('--child')
  if (i >= 0) await child(process.argv[i + 1]!)
  else console.log(formatResult(await run()))
}
