/**
 * Scratch benchmark of the write-ahead log alone: closed-loop appends of RECORD_BYTES (default 100) at
 * 1, 16 and 256 in flight, for SECS seconds each; prints adds/s, fsyncs/s, records per fsync, append
 * latency and fsync latency percentiles. IO=pool|syncwrite|dsync|inline picks how bytes reach the disk
 * (pool is the WAL's default; inline blocks the event loop and is here only as the lower bound).
 *
 *   node --import tsx bench/wal.ts            # SECS=3 CONC=1,16,256 IO=pool PREALLOC=1
 */
import * as fs from 'node:fs'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {nodeFileOps, type WalFileOps} from '../src/engine/common/wal/file-ops.js'
import {openWal} from '../src/engine/common/wal/wal.js'

const secs = Number(process.env.SECS ?? 3)
const concurrencies = (process.env.CONC ?? '1,16,256').split(',').map(Number)
const recordBytes = Number(process.env.RECORD_BYTES ?? 100)
const io = process.env.IO ?? 'pool'
const prealloc = process.env.PREALLOC !== '0'
const warmupMs = Number(process.env.WARMUP_MS ?? 1500)
const baseDir = process.env.DIR ?? tmpdir()

function opsFor(kind: string): WalFileOps {
  switch (kind) {
    case 'pool':
      return nodeFileOps
    case 'syncwrite':
      return {...nodeFileOps, write: async (fd, buf, off, len, pos) => fs.writeSync(fd, buf, off, len, pos)}
    case 'dsync': {
      // Records go through an O_DSYNC descriptor: each write returns once durable, so no separate fsync hop.
      return {
        ...nodeFileOps,
        open: (path, flags) => {
          const c = fs.constants
          const mode = {'r+': c.O_RDWR, w: c.O_WRONLY | c.O_CREAT | c.O_TRUNC}[flags]
          if (mode === undefined) return nodeFileOps.open(path, flags)
          return new Promise((res, rej) => fs.open(path, mode | c.O_DSYNC, 0o644, (e, fd) => (e ? rej(e) : res(fd))))
        },
        fdatasync: async () => {},
      }
    }
    case 'inline':
      return {
        ...nodeFileOps,
        write: async (fd, buf, off, len, pos) => fs.writeSync(fd, buf, off, len, pos),
        fdatasync: async (fd) => fs.fdatasyncSync(fd),
      }
    default:
      throw new Error(`unknown IO ${kind}`)
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}

async function runOne(concurrency: number): Promise<void> {
  const dir = mkdtempSync(join(baseDir, 'dlog-bench-wal-'))
  const wal = await openWal({
    dir,
    // The bookie journal's defaults; preallocation is the WAL's default (16 MiB files, filled in the background).
    fileSizeBytesMax: 128 * 1024 * 1024,
    ...(prealloc ? {} : {preallocateBytes: 0}),
    groupCommitBytesMax: 512 * 1024,
    groupCommitRecordsMax: 2048,
    groupCommitWaitMs: 0,
    recordBytesMax: 1024 * 1024,
    fileOps: opsFor(io),
  })
  const payload = Buffer.alloc(recordBytes, 0x61)
  const latUs: number[] = []
  let stop = false
  let measuring = false
  let done = 0
  const worker = async () => {
    while (!stop) {
      const t0 = performance.now()
      await wal.append(payload)
      if (measuring) {
        done++
        latUs.push((performance.now() - t0) * 1000)
      }
    }
  }
  const workers = Array.from({length: concurrency}, worker)
  await new Promise((r) => setTimeout(r, warmupMs))
  const fsyncs0 = wal.stats().fsyncs
  measuring = true
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, secs * 1000))
  measuring = false
  const elapsedS = (performance.now() - t0) / 1000
  const fsyncs = wal.stats().fsyncs - fsyncs0
  const fsyncLat = [...wal.stats().fsyncLatencyUs].sort((a, b) => a - b)
  stop = true
  await Promise.all(workers)
  await wal.close()
  rmSync(dir, {recursive: true, force: true})
  latUs.sort((a, b) => a - b)
  console.log(
    [
      `io=${io} prealloc=${prealloc ? 1 : 0} conc=${String(concurrency).padStart(3)}`,
      `adds/s=${Math.round(done / elapsedS).toString().padStart(7)}`,
      `fsyncs/s=${Math.round(fsyncs / elapsedS).toString().padStart(5)}`,
      `rec/fsync=${(done / Math.max(1, fsyncs)).toFixed(1).padStart(6)}`,
      `add p50=${pct(latUs, 0.5).toFixed(0)}us p99=${pct(latUs, 0.99).toFixed(0)}us`,
      `fsync p50=${pct(fsyncLat, 0.5)}us p99=${pct(fsyncLat, 0.99)}us`,
    ].join('  '),
  )
}

for (const c of concurrencies) await runOne(c)
