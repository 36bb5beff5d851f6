/**
 * Log benchmark: one DistributedLog log on 3 bookie child processes (E3 Qw3 Qa2, real journals with
 * fsync), an in-process ZooKeeper, the namespace, LogManager, AsyncLogWriter and AsyncLogReader as an
 * application uses them. Three phases, each on its own log:
 *
 * 1. throughput: 100 B records, batching (writerOutputBufferBytes, periodic flush), WINDOW writes in
 *    flight (closed loop): acked records/s, MB/s, write latency p50/p99;
 * 2. tail: a reader tailing the log (in a process of its own, as `dlog tail`) while a writer writes at
 *    half the peak rate of phase 1; each record carries its send time on CLOCK_MONOTONIC, which the
 *    processes share: write-to-reader latency p50/p99;
 * 3. immediate flush, 1 write in flight (writerOutputBufferBytes 0, enableImmediateFlush): latency p50/p99.
 *
 * Next to Redis (streams, appendfsync always) and NATS JetStream R3, measured in the same run by
 * /work/shared/bench/peers.sh (PEERS=0 skips them), with ratios. Targets (issue 5): >= 300,000 records/s
 * and > 3x Redis; immediate flush p50 <= 1 ms; tail p99 <= 5 ms at half the peak rate.
 *
 *   npm run bench -- log          # SECS=5 WINDOW=20000 PEERS=1 BUFFER=16384 FLUSH_MS=2 WRITER_SEMI_SPACE_MB=64
 *   SECS=2 PEERS=0 npm run bench -- log                      # a quick look (about 15 s)
 *   PHASES=throughput|tail|immediate (comma list) runs some phases; TAIL_RATE fixes the tail phase's rate,
 *   TAIL_IMMEDIATE=0 (tail log without immediate flush), TAIL_FLUSH_MS (its periodic flush, default 1),
 *   READ_AHEAD_RECORDS, READ_AHEAD_BATCH, PREFETCH;
 *   TAIL_WARMUP_MS (default 5000): the tail phase's unmeasured start at its rate, which the freshly started
 *   reader process needs (at a few thousand records/s V8 takes seconds to optimise the read path; a
 *   tailing reader runs for hours); TAIL_BURST_MS (default 20): the most records, in ms of the rate, one
 *   tick of the paced writer may catch up (the rest is skipped and the rate achieved printed); TAIL_DUMP=FILE writes each record's send offset, latency and entry id
 *   (FILE.ack: the sampled acks);
 *   TAIL_READER=inline reads in the writer's process; DIAG=1 prints the writer's and the reader's
 *   event-loop delay and GC pauses during the tail phase; WRITER_NODE_ARGS adds node flags to the writer and reader processes;
 *   BOOKIE_CONF="key=value;key=value" adds lines to each bookie's configuration (e.g. journalInlineSyncRecordsMax=0);
 *   BOOKIE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the bookies; WRITER_SEMI_SPACE_MB=0
 *   runs the phases in this process (then `node --cpu-prof --import tsx bench/run.ts log` profiles the writer).
 */
import {spawn, type ChildProcess, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {monitorEventLoopDelay, PerformanceObserver} from 'node:perf_hooks'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {metaformat} from '../src/engine/bookie/admin.js'
import {startBookieChild} from './bookie.js'
import {systemClock} from '../src/engine/common/clock.js'
import {silentLogger} from '../src/engine/common/logger.js'
import type {DistributedLogConfig} from '../src/engine/log/config.js'
import {DLSN} from '../src/engine/log/dlsn.js'
import {type LogManager, openLog} from '../src/engine/log/log-manager.js'
import {makeBinding, writeBinding} from '../src/engine/log/metadata/binding.js'
import {type Namespace, NamespaceBuilder} from '../src/engine/log/namespace.js'
import {ZKClient} from '../src/engine/zookeeper/client/zk-client.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const NS_PATH = '/messaging/distributedlog'
const RECORD_BYTES = 100

export interface LatencyStats {
  p50Ms: number
  p99Ms: number
}

export interface PeerRow {
  system: string
  window: number
  msgsPerSec: number
  p50Ms: number
  p99Ms: number
}

export interface LogBenchResult {
  throughput: {recordsPerSec: number; mbPerSec: number; window: number; latency: LatencyStats; errors: number; clientCpuUsPerRecord: number; bookieCpuUsPerRecord: number}
  /** `sent`: records stamped inside the window; `records`: those the reader got (equal unless it failed or fell behind). */
  /** ratePerSec: the rate asked; achievedPerSec: records written in the window per second (lower when the writer fell behind). */
  tail: {ratePerSec: number; achievedPerSec?: number; failed?: number; outOfOrder?: number; records: number; sent?: number; latency: LatencyStats; ackLatency: LatencyStats; cpuPct?: TailCpu}
  immediate: {writesPerSec: number; latency: LatencyStats}
  /** Node flags of the process running the writer and reader. */
  writerNodeFlags: string
  peers: PeerRow[]
  peersNote: string
}

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

function stats(samples: number[]): LatencyStats {
  const s = Float64Array.from(samples).sort()
  return {p50Ms: pct(s, 50), p99Ms: pct(s, 99)}
}

async function openBenchLog(ns: Namespace, name: string, conf: Partial<DistributedLogConfig>): Promise<LogManager> {
  return openLog(
    {
      store: ns.store,
      ledgers: await ns.ledgerClient(),
      createLock: (log) => ns.createWriteLock(log),
      config: ns.conf,
      clock: systemClock,
      logger: silentLogger,
      createLog: (log) => ns.createLog(log),
      logExists: (log) => ns.logExists(log),
      deleteLog: (log) => ns.deleteLog(log),
    },
    name,
    conf,
  )
}

/** Closed loop: `window` writes in flight for `secs` (after `warmMs`). */
async function closedLoop(dlm: LogManager, window: number, secs: number, warmMs: number, pids: readonly number[]): Promise<ClosedLoopResult> {
  const writer = await dlm.openAsyncLogWriter()
  let cpu0: {client: number; bookies: number} | undefined
  let cpu1: {client: number; bookies: number} | undefined
  let ackedForCpu = 0
  const payload = Buffer.alloc(RECORD_BYTES, 0x61)
  const t0 = performance.now()
  const tMeasure = t0 + warmMs
  const tEnd = tMeasure + secs * 1000
  const lat: number[] = []
  let acked = 0
  let errors = 0
  let txid = 0
  await new Promise<void>((resolve) => {
    let inflight = 0
    const launch = (): void => {
      const start = performance.now()
      if (start >= tEnd || errors > 1000) {
        if (inflight === 0) resolve()
        return
      }
      inflight++
      writer.write({txid: ++txid, payload}).then(
        () => {
          const end = performance.now()
          inflight--
          if (end >= tMeasure && end < tEnd) {
            // CPU sampled at the window's edges by the load loop itself (timers fire late under load).
            if (cpu0 === undefined) cpu0 = cpuNow(pids)
            acked++
          } else if (end >= tEnd && cpu1 === undefined) {
            cpu1 = cpuNow(pids)
            ackedForCpu = acked
          }
          if (start >= tMeasure && start < tEnd) lat.push(end - start)
          launch()
        },
        () => {
          inflight--
          errors++
          launch()
        },
      )
    }
    for (let i = 0; i < window; i++) launch()
  })
  await writer.close()
  const perRecordUs = (k: 'client' | 'bookies'): number => (cpu0 && cpu1 && ackedForCpu > 0 ? ((cpu1[k] - cpu0[k]) * 1000) / ackedForCpu : Number.NaN)
  return {perSec: acked / secs, latency: stats(lat), errors, clientCpuUsPerRecord: perRecordUs('client'), bookieCpuUsPerRecord: perRecordUs('bookies')}
}

interface ClosedLoopResult {
  perSec: number
  latency: LatencyStats
  errors: number
  /** CPU microseconds per acked record in the measured window: this process, and the 3 bookies together. */
  clientCpuUsPerRecord: number
  bookieCpuUsPerRecord: number
}

/** CPU milliseconds used so far by this process and by the bookie children (from /proc). */
function cpuNow(pids: readonly number[]): {client: number; bookies: number} {
  const u = process.cpuUsage()
  return {client: (u.user + u.system) / 1000, bookies: cpuOfPids(pids)}
}

/** CPU milliseconds used so far by these processes together (NaN if one is gone). */
function cpuOfPids(pids: readonly number[]): number {
  let ms = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      // utime and stime are fields 14 and 15 of stat (11 and 12 after "pid (comm) "), in clock ticks (100/s).
      ms += (Number(fields[11]) + Number(fields[12])) * 10
    } catch {
      return Number.NaN
    }
  }
  return ms
}

/** One record in this many has its write-to-ack latency recorded in the tail phase. */
const ACK_SAMPLE = 8

/** Milliseconds on CLOCK_MONOTONIC, which every process of this host shares: send and receive times compare across processes. */
function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** Where the tail phase's reader records its latencies: in a process of its own (default) or inline. */
interface TailReaderHandle {
  /** The reader's process (undefined inline: its CPU is the writer process's). */
  pid?: number
  /** Starts counting records sent in [fromMs, toMs) (monoMs). */
  window(fromMs: number, toMs: number): void
  /**
   * Waits for the records sent before toMs, stops the reader, returns its latencies; `complete` is false
   * when the reader failed or did not reach the record written after the window in time (its latencies
   * then lack the slowest records).
   */
  finish(): Promise<TailReaderResult>
  /** Stops the reader at once (the phase failed). */
  abort(): void
}

/** `outOfOrder`: records whose txid was not above the one before (a duplicate or a reordering; the writer's txids increase). */
type TailReaderResult = LatencyStats & {records: number; complete: boolean; outOfOrder: number; error?: string}

/**
 * The tailing reader. By default it runs in a process of its own, as a tailing application (`dlog
 * tail`) does: the write-to-reader latency then includes the hop between processes, and the reader's
 * decoding does not share the writer's event loop (TAIL_READER=inline keeps it in this process).
 */
async function startTailReader(ns: Namespace, uri: string, logName: string, conf: Partial<DistributedLogConfig>): Promise<TailReaderHandle> {
  if (process.env.TAIL_READER === 'inline') return inlineTailReader(await openBenchLog(ns, logName, conf))
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--tail-reader', uri, logName, JSON.stringify(conf)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: repoRoot,
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  const exited = new Promise<number | null>((r) => child.once('exit', r))
  const abort = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  for (let i = 0; i < 600 && !out.includes('READY'); i++) {
    if (child.exitCode !== null) throw new Error(`tail reader exited with ${child.exitCode}: ${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  if (!out.includes('READY')) {
    abort()
    throw new Error('tail reader did not start in 30 s')
  }
  return {
    pid: child.pid,
    window: (fromMs, toMs) => child.stdin.write(`${JSON.stringify({fromMs, toMs})}\n`),
    async finish() {
      child.stdin.end()
      // Its own wait for the end record is bounded (5 s), and closing the namespace should be quick.
      const timer = setTimeout(abort, 30_000)
      const code = await exited
      clearTimeout(timer)
      const last = out.trim().split('\n').at(-1) ?? ''
      if (code !== 0 || !last.startsWith('{')) throw new Error(`tail reader exited with ${code ?? child.signalCode}: ${out.slice(-2000)}`)
      return JSON.parse(last) as TailReaderResult
    },
    abort,
  }
}

function inlineTailReader(dlm: LogManager): TailReaderHandle {
  const lat: number[] = []
  // Read once: process.env is a slow interceptor, and this loop runs per record.
  const dump: string[] | undefined = process.env.TAIL_DUMP ? [] : undefined
  // No window yet (it may reach a reader process after the first records): count nothing, stop at nothing.
  let fromMs = Infinity
  let toMs = Infinity
  let reading = true
  let sawEnd = false
  let lastTxId = 0
  let outOfOrder = 0
  /** The reader's failure, reported by finish() (the loop itself never rejects). */
  let error: string | undefined
  const readerP = dlm.getAsyncLogReader(DLSN.InitialDLSN)
  const loop = (async () => {
    const reader = await readerP
    while (reading) {
      const batch = await reader.readBulk(1000, 200)
      const now = monoMs()
      for (const r of batch) {
        const sentMs = r.payload.readDoubleLE(0)
        if (r.txid <= lastTxId) outOfOrder++
        lastTxId = r.txid
        if (sentMs >= fromMs && sentMs < toMs) {
          lat.push(now - sentMs)
          if (dump) dump.push(`${(sentMs - fromMs).toFixed(2)} ${(now - sentMs).toFixed(2)} ${r.dlsn.entryId}`)
        }
        if (sentMs >= toMs) sawEnd = true
      }
      if (sawEnd) reading = false
    }
  })().catch((e: unknown) => {
    if (reading) error = e instanceof Error ? e.message : String(e)
  })
  return {
    window(f, t) {
      fromMs = f
      toMs = t
    },
    async finish() {
      // The writer writes one record stamped at or after toMs last: the loop stops once it arrives.
      const bounded = new Promise((r) => setTimeout(r, 5000).unref())
      await Promise.race([loop, bounded])
      reading = false
      await (await readerP).close()
      await loop
      if (dump && process.env.TAIL_DUMP) writeFileSync(process.env.TAIL_DUMP, dump.join('\n'))
      return {records: lat.length, ...stats(lat), complete: sawEnd && error === undefined, outOfOrder, ...(error === undefined ? {} : {error})}
    },
    abort() {
      reading = false
      readerP.then((r) => r.close()).catch(() => undefined)
    },
  }
}

/** `--tail-reader URI LOG CONF`: the reader process of the tail phase (see startTailReader). */
async function tailReaderMain(uri: string, logName: string, confJson: string): Promise<void> {
  const ns = await NamespaceBuilder.newBuilder().uri(uri).clientId('bench-reader').build()
  try {
    const inline = inlineTailReader(await openBenchLog(ns, logName, JSON.parse(confJson) as Partial<DistributedLogConfig>))
    process.stdin.setEncoding('utf8')
    let buffered = ''
    const ended = new Promise<void>((resolve) => {
      process.stdin.on('data', (d: string) => {
        buffered += d
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const w = JSON.parse(buffered.slice(0, nl)) as {fromMs: number; toMs: number}
          buffered = buffered.slice(nl + 1)
          inline.window(w.fromMs, w.toMs)
        }
      })
      process.stdin.once('end', resolve)
    })
    console.log('READY')
    const diag = process.env.DIAG === '1' ? startDiag('reader') : undefined
    await ended
    diag?.stop()
    console.log(JSON.stringify(await inline.finish()))
  } finally {
    await ns.close()
  }
}

/** CPU of the tail window's processes, in % of one core (the machine has 2): writer (this), reader, the 3 bookies together. */
interface TailCpu {
  writer: number
  reader: number
  bookies: number
}

/** A paced writer at `ratePerSec` and a tailing reader; each payload carries monoMs() at send. */
async function tailLatency(
  dlm: LogManager,
  reader: TailReaderHandle,
  ratePerSec: number,
  secs: number,
  warmMs: number,
  bookiePids: readonly number[],
): Promise<{records: number; sent: number; achievedPerSec: number; failed: number; outOfOrder: number; latency: LatencyStats; ackLatency: LatencyStats; cpuPct: TailCpu}> {
  // The reader (maybe a process of its own) stops with the phase, whatever fails.
  try {
    const writer = await dlm.openAsyncLogWriter()
    /** Write-to-ack latency of the same records: which half of the delivery time the writer side takes. */
    const ackLat: number[] = []
    const ackDump: string[] | undefined = process.env.TAIL_DUMP ? [] : undefined
    const t0 = monoMs()
    const tMeasure = t0 + warmMs
    const tEnd = tMeasure + secs * 1000
    reader.window(tMeasure, tEnd)
    let txid = 0
    const tickMs = 1
    let sent = 0
    /** Records stamped inside the window: the reader must get exactly these. */
    let windowSent = 0
    /** Records of the window's schedule the generator gave up on (see burstMax). */
    let skippedInWindow = 0
    const diag = process.env.DIAG === '1' ? startDiag('writer') : undefined
    const cpuAt = (): TailCpu & {atMs: number} => ({
      atMs: monoMs(),
      writer: cpuNow([]).client,
      reader: reader.pid === undefined ? 0 : cpuOfPids([reader.pid]),
      bookies: cpuOfPids(bookiePids),
    })
    let cpu0: ReturnType<typeof cpuAt> | undefined
    // A tick writes at most TAIL_BURST_MS worth of records: once the writer process falls behind (a long
    // pause), catching up in one burst of a second's records blocks its event loop for longer still, and
    // the writes beyond outstandingWritesMax fail, a spiral that measures the generator, not the log.
    // Records given up this way are counted (`skipped`) and lower the rate achieved, which is printed.
    const burstMax = Math.max(1, Math.ceil((ratePerSec * Number(process.env.TAIL_BURST_MS ?? 20)) / 1000))
    let skipped = 0
    let failed = 0
    const onFail = (): void => {
      failed++
    }
    while (monoMs() < tEnd) {
      let due = Math.floor(((monoMs() - t0) / 1000) * ratePerSec) - skipped
      if (due - sent > burstMax) {
        if (monoMs() >= tMeasure) skippedInWindow += due - sent - burstMax
        skipped += due - sent - burstMax
        due = sent + burstMax
      }
      // Payloads are carved from one slab per tick: a Buffer.alloc per record (its own zeroed backing
      // store) cost the writer process more CPU than the log's write path itself.
      const slab = due > sent ? Buffer.alloc((due - sent) * RECORD_BYTES) : undefined
      // One send time per tick, taken before its first write: the records of a burst (a few hundred
      // written in well under a millisecond) count from the start of the burst, so their latencies are
      // if anything overstated against their write calls, but not against their schedule: a record sent
      // late (the writer process paused) counts from when it was sent, and a skipped one is not measured
      // at all, so the latency figures of a run that fell behind are better than the log's. A clock read
      // and a closure per record cost the writer process as much CPU as a tenth of its write path; the
      // write-to-ack latency is sampled on one record in ACK_SAMPLE.
      const sentMs = monoMs()
      const inWindow = sentMs >= tMeasure && sentMs < tEnd
      if (inWindow && cpu0 === undefined) cpu0 = cpuAt()
      const onAck = inWindow
        ? () => {
            const l = monoMs() - sentMs
            ackLat.push(l)
            ackDump?.push(`${(sentMs - tMeasure).toFixed(2)} ${l.toFixed(2)}`)
          }
        : undefined
      for (let i = 0; sent < due; i++) {
        const p = (slab as Buffer).subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES)
        p.writeDoubleLE(sentMs, 0)
        if (inWindow) windowSent++
        const written = writer.write({txid: ++txid, payload: p})
        if (onAck && txid % ACK_SAMPLE === 0) written.then(onAck, onFail)
        else written.catch(onFail)
        sent++
      }
      await new Promise((r) => setTimeout(r, tickMs))
    }
    const cpu1 = cpuAt()
    const pctOf = (k: keyof TailCpu): number => (cpu0 ? ((cpu1[k] - cpu0[k]) / (cpu1.atMs - cpu0.atMs)) * 100 : Number.NaN)
    const cpuPct: TailCpu = {writer: pctOf('writer'), reader: pctOf('reader'), bookies: pctOf('bookies')}
    diag?.stop()
    if (ackDump) writeFileSync(`${process.env.TAIL_DUMP}.ack`, ackDump.join('\n'))
    // One record stamped after the window tells the reader it has seen everything of the window.
    const last = Buffer.alloc(RECORD_BYTES)
    last.writeDoubleLE(monoMs(), 0)
    await writer.write({txid: ++txid, payload: last})
    await writer.close()
    const r = await reader.finish()
    if (skippedInWindow > 0 || failed > 0) {
      console.error(
        `tail writer: fell behind its schedule by ${skippedInWindow} records in the window (rate achieved ${Math.round(windowSent / secs)}/s), ${failed} writes failed; ` +
          'the latencies measure only the records sent, from when they were sent, so they understate a writer that fell behind',
      )
    }
    if (r.outOfOrder > 0) console.error(`tail reader: ${r.outOfOrder} records out of order or repeated`)
    if (!r.complete || r.records !== windowSent) {
      // Its latencies then miss records (the slowest, if it fell behind): say so rather than print them as if whole.
      console.error(`tail reader: ${r.records} of the ${windowSent} records of the window${r.complete ? '' : `, did not finish${r.error ? ` (${r.error})` : ' in time'}`}`)
    }
    return {records: r.records, sent: windowSent, achievedPerSec: windowSent / secs, failed, outOfOrder: r.outOfOrder, latency: {p50Ms: r.p50Ms, p99Ms: r.p99Ms}, ackLatency: stats(ackLat), cpuPct}
  } catch (e) {
    reader.abort()
    throw e
  }
}

/** DIAG=1: the writer's and the reader's event-loop delay and GC pauses during the tail phase (stderr). */
function startDiag(who: string): {stop: () => void} {
  const h = monitorEventLoopDelay({resolution: 1})
  h.enable()
  const gc: number[] = []
  const gcByKind = new Map<number, number>()
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.push(e.duration)
      const kind = (e as unknown as {detail?: {kind?: number}}).detail?.kind ?? 0
      gcByKind.set(kind, (gcByKind.get(kind) ?? 0) + e.duration)
    }
  })
  obs.observe({entryTypes: ['gc']})
  return {
    stop() {
      h.disable()
      obs.disconnect()
      gc.sort((a, b) => a - b)
      const ms = (ns: number): string => (ns / 1e6).toFixed(2)
      console.error(
        `diag ${who}: event-loop delay p50 ${ms(h.percentile(50))} p99 ${ms(h.percentile(99))} max ${ms(h.max)} ms; ` +
          `gc ${gc.length} pauses, total ${gc.reduce((a, b) => a + b, 0).toFixed(1)} ms, p99 ${(gc[Math.floor(gc.length * 0.99)] ?? 0).toFixed(2)} max ${(gc.at(-1) ?? 0).toFixed(2)} ms; by kind (1 scavenge, 2 mark-compact, 4 incremental, 8 weak) ${[...gcByKind].map(([k, v]) => `${k}:${v.toFixed(0)}`).join(' ')}`,
      )
    },
  }
}

function runPeers(secs: number): {rows: PeerRow[]; note: string} {
  if (process.env.PEERS === '0') return {rows: [], note: 'peers skipped (PEERS=0)'}
  const script = '/work/shared/bench/peers.sh'
  if (!existsSync(script)) return {rows: [], note: `peers skipped (${script} not found)`}
  const out = mkdtempSync(join(tmpdir(), 'dlog-bench-peers-'))
  const r = spawnSync('bash', [script], {
    env: {...process.env, OUT: out, SIZES: '100', WINDOWS: `1,${process.env.PEER_WINDOW ?? '1024'}`, RUNS: '1', SECS: String(secs), SYNC_ALWAYS: 'no'},
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 15 * 60_000,
  })
  const rows: PeerRow[] = []
  for (const [file, system] of [
    ['node_redis-aof-always.jsonl', 'Redis (appendfsync always)'],
    ['node_nats-js-R3-3nodes.jsonl', 'NATS JetStream R3'],
  ] as const) {
    const path = join(out, file)
    if (!existsSync(path)) continue
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      const j = JSON.parse(line) as {window: number; msgs_s: number; p50_us: number; p99_us: number}
      rows.push({system, window: j.window, msgsPerSec: j.msgs_s, p50Ms: j.p50_us / 1000, p99Ms: j.p99_us / 1000})
    }
  }
  return {rows, note: r.status === 0 ? `peers.sh results in ${out}` : `peers.sh exited ${r.status}; results in ${out}`}
}

type PhaseResults = Omit<LogBenchResult, 'peers' | 'peersNote' | 'writerNodeFlags'>

/**
 * The phases run in a child process (the writer and reader application) started with
 * `--max-semi-space-size=WRITER_SEMI_SPACE_MB` (default 64; 0 runs them in this process with Node's
 * default): with tens of thousands of writes in flight, each write's promise and DLSN outlive the
 * default 16 MiB young generation and get promoted, and old-generation GC then costs the writer as much
 * CPU as the writes themselves. A heap flag is the application's choice; the result prints it.
 */
export async function run(): Promise<LogBenchResult> {
  const secs = Number(process.env.SECS ?? 5)
  const semiSpaceMb = Number(process.env.WRITER_SEMI_SPACE_MB ?? 64)
  const flags = semiSpaceMb > 0 ? [`--max-semi-space-size=${semiSpaceMb}`, ...(process.env.WRITER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')] : []
  const phases = flags.length > 0 ? await runPhasesInChild(flags) : await runPhases()
  const peers = runPeers(Math.min(secs, 5))
  return {...phases, writerNodeFlags: flags.join(' ') || '(node defaults)', peers: peers.rows, peersNote: peers.note}
}

function runPhasesInChild(nodeFlags: string[]): Promise<PhaseResults> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', fileURLToPath(import.meta.url), '--phases-json'], {stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot})
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? ''
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`log bench child exited with ${code}: ${out.slice(-2000)}`))
      // NaN (a skipped phase) travels as null; formatResult prints it as n/a.
      else resolve(JSON.parse(last) as PhaseResults)
    })
  })
}

async function runPhases(): Promise<PhaseResults> {
  const secs = Number(process.env.SECS ?? 5)
  const warmMs = Number(process.env.WARMUP_MS ?? 1000)
  const window = Number(process.env.WINDOW ?? 20_000)
  const dir = mkdtempSync(join(process.env.DIR ?? tmpdir(), 'dlog-bench-log-'))
  const {ZKServer} = await import('../src/engine/zookeeper/server/zk-server.js')
  const zkServer = await ZKServer.start({port: 0, host: '127.0.0.1'})
  const zkServers = `127.0.0.1:${zkServer.port}`
  const bookies: ChildProcess[] = []
  let ns: Namespace | undefined
  try {
    const admin = await ZKClient.connect({connectString: zkServers})
    await metaformat({zk: admin, root: '/ledgers', force: true, nonInteractive: true, confirm: async () => false})
    await writeBinding(admin, NS_PATH, makeBinding({bkZkServers: zkServers, bkLedgersPath: '/ledgers', dlZkServers: zkServers}), {create: true})
    await admin.close()
    for (let i = 0; i < 3; i++) {
      const conf = join(dir, `bookie-${i}.conf`)
      writeFileSync(
        conf,
        [`zkServers=${zkServers}`, 'zkLedgersRootPath=/ledgers', 'bookiePort=0', 'codahaleStatsHttpPort=0', `journalDirectory=${join(dir, `b${i}`, 'journal')}`, `ledgerDirectories=${join(dir, `b${i}`, 'ledgers')}`, ...(process.env.BOOKIE_CONF ?? '').split(';').filter((l) => l !== ''), ''].join('\n'),
      )
      bookies.push((await startBookieChild(conf)).child)
    }
    ns = await NamespaceBuilder.newBuilder()
      .uri(`distributedlog://${zkServers}${NS_PATH}`)
      .clientId('bench')
      .conf({ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, lockTimeoutMs: 0, logSegmentRollingMinutes: 0, logSegmentRetentionHours: 0})
      .build()
    const batching: Partial<DistributedLogConfig> = {
      writerOutputBufferBytes: Number(process.env.BUFFER ?? 16_384),
      periodicFlushIntervalMs: Number(process.env.FLUSH_MS ?? 2),
      immediateFlushEnabled: false,
      outstandingWritesMax: Math.max(window * 2, 100_000),
    }
    // A reader keeping up with tens of thousands of records/s needs read-ahead of more than the default 10
    // records (it would stop after every entry until the application drains it).
    const tailReading: Partial<DistributedLogConfig> = {
      readAheadRecordsMax: Number(process.env.READ_AHEAD_RECORDS ?? 20_000),
      readAheadBatchEntries: Number(process.env.READ_AHEAD_BATCH ?? 32),
      prefetchEntriesPerSegment: Number(process.env.PREFETCH ?? 64),
      prefetchEntriesPerSegmentMax: Math.max(Number(process.env.PREFETCH ?? 64), 32),
    }
    // PHASES picks phases (default all); TAIL_RATE fixes the tail phase's rate (else half the throughput phase's, or 50000 without it).
    const phases = new Set((process.env.PHASES ?? 'throughput,tail,immediate').split(','))
    const pids = bookies.map((b) => b.pid ?? 0)
    const skipped: ClosedLoopResult = {perSec: Number.NaN, latency: {p50Ms: Number.NaN, p99Ms: Number.NaN}, errors: 0, clientCpuUsPerRecord: Number.NaN, bookieCpuUsPerRecord: Number.NaN}
    const tp = phases.has('throughput') ? await closedLoop(await openBenchLog(ns, 'bench-throughput', batching), window, secs, warmMs, pids) : skipped
    const tailRate = process.env.TAIL_RATE !== undefined ? Number(process.env.TAIL_RATE) : Number.isFinite(tp.perSec) ? Math.max(100, Math.floor(tp.perSec / 2)) : 50_000
    const tailConf: Partial<DistributedLogConfig> = {...batching, ...tailReading, periodicFlushIntervalMs: Number(process.env.TAIL_FLUSH_MS ?? 1), immediateFlushEnabled: process.env.TAIL_IMMEDIATE !== '0'}
    if (phases.has('tail')) await ns.createLog('bench-tail')
    const tail = phases.has('tail')
      ? await tailLatency(
          await openBenchLog(ns, 'bench-tail', tailConf),
          await startTailReader(ns, `distributedlog://${zkServers}${NS_PATH}`, 'bench-tail', tailConf),
          tailRate,
          secs,
          Number(process.env.TAIL_WARMUP_MS ?? 5000),
          pids,
        )
      : {records: 0, sent: 0, achievedPerSec: Number.NaN, failed: 0, outOfOrder: 0, latency: skipped.latency, ackLatency: skipped.latency, cpuPct: {writer: Number.NaN, reader: Number.NaN, bookies: Number.NaN}}
    const imm = phases.has('immediate')
      ? await closedLoop(await openBenchLog(ns, 'bench-immediate', {writerOutputBufferBytes: 0, immediateFlushEnabled: true, periodicFlushIntervalMs: 0}), 1, secs, warmMs, pids)
      : skipped
    await ns.close()
    ns = undefined
    for (const b of bookies.splice(0)) {
      const exited = new Promise((r) => b.once('exit', r))
      b.kill('SIGTERM')
      await exited
    }
    await zkServer.close()
    return {
      throughput: {
        recordsPerSec: tp.perSec,
        mbPerSec: (tp.perSec * RECORD_BYTES) / 1e6,
        window,
        latency: tp.latency,
        errors: tp.errors,
        clientCpuUsPerRecord: tp.clientCpuUsPerRecord,
        bookieCpuUsPerRecord: tp.bookieCpuUsPerRecord,
      },
      tail: {ratePerSec: tailRate, achievedPerSec: tail.achievedPerSec, failed: tail.failed, outOfOrder: tail.outOfOrder, records: tail.records, sent: tail.sent, latency: tail.latency, ackLatency: tail.ackLatency, cpuPct: tail.cpuPct},
      immediate: {writesPerSec: imm.perSec, latency: imm.latency},
    }
  } finally {
    await ns?.close().catch(() => undefined)
    for (const b of bookies) {
      if (b.exitCode === null) {
        const exited = new Promise((r) => b.once('exit', r))
        b.kill('SIGTERM')
        await exited
      }
    }
    await zkServer.close().catch(() => undefined)
    rmSync(dir, {recursive: true, force: true})
  }
}

export function formatResult(r: LogBenchResult): string {
  const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
  const lines = [
    '| measure | dlog |',
    '|---|---|',
    `| records/s (100 B, ${r.throughput.window} in flight, batching) | ${f(r.throughput.recordsPerSec)} |`,
    `| MB/s | ${f(r.throughput.mbPerSec, 1)} |`,
    `| write latency p50 / p99 ms | ${f(r.throughput.latency.p50Ms, 2)} / ${f(r.throughput.latency.p99Ms, 2)} |`,
    `| CPU µs per record: writer process / 3 bookies | ${f(r.throughput.clientCpuUsPerRecord, 2)} / ${f(r.throughput.bookieCpuUsPerRecord, 2)} |`,
    `| write-to-reader p50 / p99 ms at ${f(r.tail.ratePerSec)} rec/s${r.tail.achievedPerSec !== undefined && r.tail.achievedPerSec < r.tail.ratePerSec * 0.99 ? ` (achieved ${f(r.tail.achievedPerSec)}: FELL BEHIND)` : ''} (${r.tail.records}${r.tail.sent !== undefined && r.tail.sent !== r.tail.records ? ` of ${r.tail.sent} records: INCOMPLETE` : ' records'}${r.tail.failed ? `, ${r.tail.failed} writes failed` : ''}${r.tail.outOfOrder ? `, ${r.tail.outOfOrder} OUT OF ORDER` : ''}) | ${f(r.tail.latency.p50Ms, 2)} / ${f(r.tail.latency.p99Ms, 2)} |`,
    `| (write-to-ack of 1 in ${ACK_SAMPLE} of the same records, p50 / p99 ms) | ${f(r.tail.ackLatency.p50Ms, 2)} / ${f(r.tail.ackLatency.p99Ms, 2)} |`,
    `| (CPU during the tail window, % of one core of 2: writer / reader / 3 bookies) | ${f(r.tail.cpuPct?.writer ?? Number.NaN)} / ${f(r.tail.cpuPct?.reader ?? Number.NaN)} / ${f(r.tail.cpuPct?.bookies ?? Number.NaN)} |`,
    `| immediate flush, 1 in flight: p50 / p99 ms (${f(r.immediate.writesPerSec)} writes/s) | ${f(r.immediate.latency.p50Ms, 3)} / ${f(r.immediate.latency.p99Ms, 3)} |`,
  ]
  lines.push(`(writer and reader process: node ${r.writerNodeFlags})`)
  if (r.throughput.errors > 0) lines.push(`(${r.throughput.errors} write errors during the throughput phase)`)
  lines.push('', r.peersNote)
  if (r.peers.length > 0) {
    // 1 in flight compares latency (dlog's immediate-flush phase); more in flight compares throughput (batching).
    lines.push('| peer | in flight | msgs/s | p50 ms | p99 ms | dlog / peer |', '|---|---|---|---|---|---|')
    for (const p of r.peers) {
      const ratio = p.window === 1 ? `p50 ${f(r.immediate.latency.p50Ms / p.p50Ms, 2)}x (1 in flight)` : `records/s ${f(r.throughput.recordsPerSec / p.msgsPerSec, 2)}x`
      lines.push(`| ${p.system} | ${p.window} | ${f(p.msgsPerSec)} | ${f(p.p50Ms, 3)} | ${f(p.p99Ms, 3)} | ${ratio} |`)
    }
  }
  const redis = r.peers.filter((p) => p.system.startsWith('Redis')).sort((a, b) => b.msgsPerSec - a.msgsPerSec)[0]
  lines.push('')
  lines.push(`target >= 300000 records/s: ${f(r.throughput.recordsPerSec)} ${r.throughput.recordsPerSec >= 300_000 ? 'MET' : 'MISSED'}`)
  if (redis) lines.push(`target > 3x Redis: ${f(r.throughput.recordsPerSec / redis.msgsPerSec, 2)}x ${r.throughput.recordsPerSec > 3 * redis.msgsPerSec ? 'MET' : 'MISSED'}`)
  lines.push(`target immediate flush p50 <= 1 ms: ${f(r.immediate.latency.p50Ms, 3)} ms ${Number.isFinite(r.immediate.latency.p50Ms) && r.immediate.latency.p50Ms <= 1 ? 'MET' : 'MISSED'}`)
  // A run that fell behind, lost records or failed writes measured fewer records than it should (the
  // slowest ones): its p99 cannot meet the target. A skipped phase's figures arrive as null (not NaN),
  // which compares as 0: only a finite figure can meet a target.
  const tailWhole = !(r.tail.achievedPerSec !== undefined && r.tail.achievedPerSec < r.tail.ratePerSec * 0.99) && (r.tail.sent === undefined || r.tail.sent === r.tail.records) && !r.tail.failed && !r.tail.outOfOrder
  lines.push(`target tail p99 <= 5 ms: ${f(r.tail.latency.p99Ms, 2)} ms ${!tailWhole ? 'NOT MEASURED (fell behind or incomplete)' : Number.isFinite(r.tail.latency.p99Ms) && r.tail.latency.p99Ms <= 5 ? 'MET' : 'MISSED'}`)
  return lines.join('\n')
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const at = process.argv.indexOf('--tail-reader')
  if (at >= 0) await tailReaderMain(process.argv[at + 1] as string, process.argv[at + 2] as string, process.argv[at + 3] as string)
  else console.log(process.argv.includes('--phases-json') ? JSON.stringify(await runPhases()) : formatResult(await run()))
}
