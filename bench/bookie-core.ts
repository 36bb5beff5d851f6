/**
 * Scratch benchmark of the bookie core alone (no network): closed-loop adds of ENTRY_BYTES payload
 * (default 100) at 1, 16 and 256 outstanding, SECS seconds each after a warm-up, with the default
 * options (64 MiB write cache, 1 s flush interval, group commit as configured). Prints adds/s, journal
 * fsyncs/s and entries per fsync, add latency percentiles, the process RSS at the end of each run, and
 * CPU per add: this process's user+system CPU over the run divided by the adds (the load generator's
 * share is small: it patches ids into a template entry and checksums it, as a client must). CPU per
 * add is the figure to compare between versions on a shared machine, where adds/s mostly measures the
 * neighbours. Adds go through addEntryWith, the callback path the bookie server uses, when the core
 * has it.
 *
 *   node --import tsx bench/bookie-core.ts      # SECS=5 CONC=1,16,256 ENTRY_BYTES=100 DIR=$TMPDIR
 *   npm run bench -- bookie-core               # the same through the harness
 *   GROUP_RECORDS / GROUP_BYTES / GROUP_WAIT_MS override the journal group-commit options, CACHE_BYTES
 *   and FLUSH_MS the write cache size and flush interval.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Bookie} from '../src/engine/bookie/bookie.js'
import {crc32c} from '../src/engine/common/crc32c.js'
import {ENTRY_HEADER_BYTES, encodeEntry} from '../src/engine/protocol/bookie/entry.js'

const secs = Number(process.env.SECS ?? 5)
const concurrencies = (process.env.CONC ?? '1,16,256').split(',').map(Number)
const entryBytes = Number(process.env.ENTRY_BYTES ?? 100)
const warmupMs = Number(process.env.WARMUP_MS ?? 1000)
const baseDir = process.env.DIR ?? tmpdir()
const key = Buffer.from('bench-master-key')

function envNumber(name: string): number | undefined {
  const v = process.env[name]
  return v === undefined ? undefined : Number(v)
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}

export interface CoreBenchRow {
  outstanding: number
  addsPerS: number
  fsyncsPerS: number
  entriesPerFsync: number
  p50Ms: number
  p99Ms: number
  rssMb: number
  /** Process CPU (user + system) per add, microseconds. */
  cpuUsPerAdd: number
}

/** A fresh entry of `ledgerId` with id `entryId` made from a template: header ids patched, CRC recomputed. */
function entryMaker(ledgerId: number, payloadBytes: number): (entryId: number) => Buffer {
  const template = encodeEntry({ledgerId, entryId: 0, lac: -1, length: 0, payload: Buffer.alloc(payloadBytes, 0x61)})
  return (entryId) => {
    const e = Buffer.allocUnsafe(template.length)
    template.copy(e)
    e.writeUInt32BE(Math.floor(entryId / 2 ** 32), 8)
    e.writeUInt32BE(entryId >>> 0, 12)
    const lac = entryId - 1
    e.writeInt32BE(lac < 0 ? -1 : Math.floor(lac / 2 ** 32), 16)
    e.writeUInt32BE(lac < 0 ? 0xffff_ffff : lac >>> 0, 20)
    e.writeUInt32BE(crc32c(e.subarray(ENTRY_HEADER_BYTES), crc32c(e.subarray(0, 32))), 32)
    return e
  }
}

async function runOne(outstanding: number): Promise<CoreBenchRow> {
  const dir = mkdtempSync(join(baseDir, 'dlog-bench-bookie-'))
  const bookie = await Bookie.open({
    journalDirs: [join(dir, 'journal')],
    ledgerDirs: [join(dir, 'ledgers')],
    journalGroupCommitRecordsMax: envNumber('GROUP_RECORDS'),
    journalGroupCommitBytesMax: envNumber('GROUP_BYTES'),
    journalGroupCommitWaitMs: envNumber('GROUP_WAIT_MS'),
    writeCacheBytesMax: envNumber('CACHE_BYTES'),
    flushIntervalMs: envNumber('FLUSH_MS'),
  })
  const ledgerId = 1
  const makeEntry = entryMaker(ledgerId, entryBytes)
  let next = 0
  let measuring = false
  let done = 0
  const latenciesUs: number[] = []
  let stop = false
  let running = 0
  let allStopped: (() => void) | undefined
  const failed = (e: unknown): void => {
    console.error('add failed:', e)
    process.exit(1)
  }
  // One closed-loop sender per outstanding add: each ack sends the next entry.
  const sendNext = (): void => {
    if (stop) {
      if (--running === 0) allStopped?.()
      return
    }
    const entry = makeEntry(next++)
    const t0 = performance.now()
    const acked = (): void => {
      if (measuring) {
        done++
        if (latenciesUs.length < 2_000_000) latenciesUs.push((performance.now() - t0) * 1000)
      }
      sendNext()
    }
    const core: {addEntryWith?: Bookie['addEntryWith']} = bookie
    try {
      if (core.addEntryWith) bookie.addEntryWith(entry, key, false, {addDone: acked, addFailed: failed})
      else bookie.addEntry({entry, masterKey: key, recovery: false}).then(acked, failed)
    } catch (e) {
      failed(e)
    }
  }
  running = outstanding
  for (let i = 0; i < outstanding; i++) sendNext()
  await new Promise((r) => setTimeout(r, warmupMs))
  const fsyncs0 = bookie.stats().journalFsyncs
  measuring = true
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, secs * 1000))
  measuring = false
  const cpu = process.cpuUsage(cpu0)
  const elapsedS = (performance.now() - t0) / 1000
  const fsyncs = bookie.stats().journalFsyncs - fsyncs0
  stop = true
  await new Promise<void>((resolve) => (allStopped = resolve))
  const rssMb = process.memoryUsage().rss / 1024 / 1024
  await bookie.close()
  rmSync(dir, {recursive: true, force: true})
  latenciesUs.sort((a, b) => a - b)
  return {
    outstanding,
    addsPerS: Math.round(done / elapsedS),
    fsyncsPerS: Math.round(fsyncs / elapsedS),
    entriesPerFsync: Number((done / Math.max(1, fsyncs)).toFixed(1)),
    p50Ms: Number((pct(latenciesUs, 0.5) / 1000).toFixed(2)),
    p99Ms: Number((pct(latenciesUs, 0.99) / 1000).toFixed(2)),
    rssMb: Math.round(rssMb),
    cpuUsPerAdd: Number(((cpu.user + cpu.system) / Math.max(1, done)).toFixed(2)),
  }
}

export function formatResult(rows: CoreBenchRow[]): string {
  return rows
    .map((r) =>
      [
        `outstanding=${r.outstanding}`.padEnd(16),
        `adds/s=${r.addsPerS}`.padEnd(16),
        `fsyncs/s=${r.fsyncsPerS}`.padEnd(15),
        `entries/fsync=${r.entriesPerFsync}`.padEnd(20),
        `p50=${r.p50Ms}ms p99=${r.p99Ms}ms rss=${r.rssMb}MB cpu/add=${r.cpuUsPerAdd}us`,
      ].join(' '),
    )
    .join('\n')
}

export async function run(): Promise<CoreBenchRow[]> {
  const rows: CoreBenchRow[] = []
  for (const c of concurrencies) rows.push(await runOne(c))
  return rows
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatResult(await run()))
}
