/**
 * The write-ahead log (contract: ./types.ts; byte format: ./format.ts), used by the bookie journal and
 * the ZooKeeper txn log.
 *
 * Group commit. append() frames the record (length, CRC32C) straight into the buffer of the batch
 * being filled (bounded by groupCommitBytesMax and groupCommitRecordsMax; a full batch is sealed and a
 * new one started). One flush at a time takes the oldest batch, writes it with one write() and one
 * fdatasync(), both on libuv's threadpool, and then tells the batch's waiters in call order. While
 * a flush runs, new appends gather into the next batch, so the number of records per fsync grows with
 * the number of appends in flight. With groupCommitWaitMs 0 a batch starts as soon as the disk is free
 * (after the current event-loop turn, so appends made in one turn share a batch); otherwise it waits
 * until a threshold is met or its first record has waited that long.
 *
 * Inline sync (inlineSyncRecordsMax). A batch of a few records found with the disk idle is written and
 * fdatasynced with the blocking calls on the event-loop thread: a lone add then costs no thread hand-offs
 * (measured on the 2-core dev VM: lone-add p50 0.29 -> 0.21 ms, p99 1.8 -> 0.6 ms through the bookie).
 *
 * Eager flush (groupCommitWaitMs 0). A closed-loop client with N appends outstanding sends them in
 * bursts: all N acks of a batch go out together, and all N next appends arrive together. Waiting for
 * the end of the turn would keep the disk idle while the burst is processed and the CPU idle while
 * it is fsynced (lockstep). So when the disk is idle and the batch being filled reaches
 * max(eagerFlushRecordsMin, half the previous batch), it is flushed at once: the burst splits in two
 * halves that alternate between the CPU and the disk. The threshold follows the previous batch, so a
 * steady load settles at two batches in flight; small loads (fewer records than the minimum per turn)
 * are unaffected, and so are bursts of large records (eagerFlushBytesMax), which are disk-bound. Order and durability are unchanged: batches are still written and fsynced one at a
 * time, in order.
 *
 * Failure. A failed write or fsync breaks the WAL: that batch and every later append are rejected with
 * WalBrokenError. Retrying an fsync after a failure is unsafe (the kernel may have dropped the dirty
 * pages and report success next time), so nothing is ever acknowledged that was not fsynced.
 *
 * Files. Records go to `<dir>/<fileId hex16>.wal`. A file is created complete (header + zeros, fsynced,
 * renamed, directory fsynced) before it is used, and the next one is prepared in the background, so
 * rolling over costs nothing. Overwriting blocks that were written before is cheaper to fsync than
 * growing a file (no size or block allocation to commit), which is why files are zero-filled.
 * A file rolls once a batch ends past fileSizeBytesMax; reclaim() deletes whole older files.
 *
 * Recovery happens in openWal, before any append. Two facts locate the only place a torn write can be:
 *   (1) flushes are strictly serial and a file is rolled only between them, so once any byte of file
 *       N+1 was written, every batch of file N had been fsynced;
 *   (2) so a torn write (never acknowledged) lies in the last batch of the last file with records, is
 *       followed only by zeros (files are zero-filled, and recovery re-zeroes), and spans one batch.
 * openWal walks that file to the first zero length, torn or corrupt record and zeroes everything after
 * it, fsynced before any append. Zeroing is needed even behind a clean zero length: a torn batch may
 * have persisted later pages and not its first, and once new records fill the gap, stale frames behind
 * them would read as records. Later files without records (spares) are deleted: by (1) they cannot
 * hold acknowledged data. What is NOT a torn write is not truncated: a good record right after a bad
 * one, damage spread wider than a batch (in the last file), or any bad record in an earlier file
 * (replay) means a record that was fsynced went bad and later records may be acknowledged; dropping
 * them silently would lose data, so these raise WalCorruptError for an operator (repairCorruptTail
 * forces the torn-write reading of the last file, e.g. after a power failure reordered a batch).
 */
import {assert} from '../assert.js'
import {type Clock, systemClock, type TimerHandle} from '../clock.js'
import {errorMessage, InvalidInputError} from '../errors.js'
import {type Logger, silentLogger} from '../logger.js'
import {WalBrokenError, WalClosedError, WalCorruptError, WalOverloadedError} from './errors.js'
import {nodeFileOps, nodeSyncOps, type WalFileOps} from './file-ops.js'
import {
  parseWalFileName,
  WAL_FILE_HEADER_BYTES,
  WAL_RECORD_BYTES_LIMIT,
  WAL_RECORD_HEADER_BYTES,
  writeRecord,
} from './format.js'
import type {WalOptions, WalPosition, WalStats, WalWaiter, WriteAheadLog} from './types.js'
import {
  checkHeader,
  createWalFile,
  dirtyEnd,
  type OpenWalFile,
  recordFollows,
  type ScanResult,
  scanRecords,
  walFilePath,
  writeAll,
  zeroFill,
} from './wal-file.js'

export interface OpenWalOptions extends WalOptions {
  clock?: Clock
  logger?: Logger
  /** File operations (default: Node's fs on the threadpool); tests inject faults here. */
  fileOps?: WalFileOps
  /** Bytes allowed to wait for a flush; appends past it fail with WalOverloadedError (retriable). Default 64 MiB. */
  queueBytesMax?: number
  /**
   * With the disk idle, a batch that reaches max(this, half the previous batch's records) is flushed
   * at once instead of at the end of the event-loop turn, so a burst is split in two and the disk works
   * on the first half while the rest is still arriving. 0 turns it off. Default 64.
   */
  eagerFlushRecordsMin?: number
  /**
   * Eager flushes apply only to batches of at most this many bytes: a burst of small records costs
   * more CPU than disk time and gains from splitting, while a burst of large records is disk-bound
   * and better left whole (fewer, larger fsyncs). Default 32 KiB.
   */
  eagerFlushBytesMax?: number
  /** How many recent fsync latencies stats() reports. Default 1024. */
  fsyncLatencyWindow?: number
  /**
   * Treat any damage at the end of the last file as a torn write and zero it, even when it looks like
   * damage to acknowledged records (the operator's choice after a power failure). Default false.
   */
  repairCorruptTail?: boolean
}

/** Records framed back to back in one buffer, written with one write() and one fdatasync(). */
interface Batch {
  buf: Buffer
  bytes: number
  /** One per record, in append order. */
  waiters: WalWaiter[]
  /** When the first record arrived (only tracked when groupCommitWaitMs > 0). */
  firstAtMs: number
}

interface ActiveFile extends OpenWalFile {
  /** Where the next batch goes: just after the last fsynced record. */
  writeOffset: number
}

const QUEUE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024
const PREALLOCATE_BYTES_DEFAULT_MAX = 16 * 1024 * 1024
/** The first file of a new log is filled in the foreground, so only this much: opening stays fast. */
const FIRST_FILE_PREALLOCATE_BYTES_MAX = 1024 * 1024
const FSYNC_LATENCY_WINDOW_DEFAULT = 1024
/** A new batch buffer starts this big and doubles (up to groupCommitBytesMax) as records arrive. */
const BATCH_BUFFER_BYTES_INITIAL = 64 * 1024
/** Batch buffers kept for reuse, so steady appends allocate nothing per batch. */
const BATCH_BUFFERS_POOLED_MAX = 4
const EAGER_FLUSH_RECORDS_MIN_DEFAULT = 64
const EAGER_FLUSH_BYTES_MAX_DEFAULT = 32 * 1024
/** Largest batch written inline (see WalOptions.inlineSyncRecordsMax): one small write + fsync. */
const INLINE_SYNC_BYTES_MAX = 64 * 1024

/** writeAll's blocking form, with the default file operations' sync write. */
function writeAllSync(fd: number, buf: Buffer, position: number): void {
  for (let done = 0; done < buf.length; ) {
    const n = nodeSyncOps.write(fd, buf, done, buf.length - done, position + done)
    assert(n > 0, 'write made no progress')
    done += n
  }
}

function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`WAL option ${name} must be an integer in [${min}, ${max}], got ${value}`)
  }
}

function validateOptions(o: OpenWalOptions): Required<Omit<OpenWalOptions, 'clock' | 'logger' | 'fileOps'>> {
  if (typeof o.dir !== 'string' || o.dir === '') throw new InvalidInputError('WAL option dir must be a directory path')
  checkInteger('recordBytesMax', o.recordBytesMax, 1, WAL_RECORD_BYTES_LIMIT)
  checkInteger('fileSizeBytesMax', o.fileSizeBytesMax, WAL_FILE_HEADER_BYTES + WAL_RECORD_HEADER_BYTES + 1)
  checkInteger('groupCommitBytesMax', o.groupCommitBytesMax, 1)
  checkInteger('groupCommitRecordsMax', o.groupCommitRecordsMax, 1)
  checkInteger('groupCommitWaitMs', o.groupCommitWaitMs, 0, 60_000)
  const preallocateBytes = o.preallocateBytes ?? Math.min(o.fileSizeBytesMax, PREALLOCATE_BYTES_DEFAULT_MAX)
  checkInteger('preallocateBytes', preallocateBytes, 0)
  const frameBytesMax = o.recordBytesMax + WAL_RECORD_HEADER_BYTES
  const queueBytesMax = o.queueBytesMax ?? Math.max(QUEUE_BYTES_MAX_DEFAULT, 2 * frameBytesMax)
  checkInteger('queueBytesMax', queueBytesMax, frameBytesMax)
  const eagerFlushRecordsMin = o.eagerFlushRecordsMin ?? EAGER_FLUSH_RECORDS_MIN_DEFAULT
  checkInteger('eagerFlushRecordsMin', eagerFlushRecordsMin, 0, 1_000_000)
  const eagerFlushBytesMax = o.eagerFlushBytesMax ?? EAGER_FLUSH_BYTES_MAX_DEFAULT
  checkInteger('eagerFlushBytesMax', eagerFlushBytesMax, 0)
  const fsyncLatencyWindow = o.fsyncLatencyWindow ?? FSYNC_LATENCY_WINDOW_DEFAULT
  checkInteger('fsyncLatencyWindow', fsyncLatencyWindow, 1, 1_000_000)
  const inlineSyncRecordsMax = o.inlineSyncRecordsMax ?? 0
  checkInteger('inlineSyncRecordsMax', inlineSyncRecordsMax, 0, 1_000_000)
  return {
    dir: o.dir,
    fileSizeBytesMax: o.fileSizeBytesMax,
    groupCommitBytesMax: o.groupCommitBytesMax,
    groupCommitRecordsMax: o.groupCommitRecordsMax,
    groupCommitWaitMs: o.groupCommitWaitMs,
    recordBytesMax: o.recordBytesMax,
    preallocateBytes,
    queueBytesMax,
    fsyncLatencyWindow,
    eagerFlushRecordsMin,
    eagerFlushBytesMax,
    inlineSyncRecordsMax,
    repairCorruptTail: o.repairCorruptTail ?? false,
  }
}

/** Opens (creating if needed) the WAL in opts.dir and recovers its tail; appends may start at once. */
export async function openWal(opts: OpenWalOptions): Promise<WriteAheadLog> {
  const config = validateOptions(opts)
  const log = (opts.logger ?? silentLogger).child('wal')
  const wal = new FileWal(config, opts.clock ?? systemClock, log, opts.fileOps ?? nodeFileOps)
  await wal.open()
  return wal
}

/** append()'s waiter: settles its promise. */
class PromiseWaiter implements WalWaiter {
  private readonly resolve: (position: WalPosition) => void
  private readonly reject: (error: unknown) => void

  constructor(resolve: (position: WalPosition) => void, reject: (error: unknown) => void) {
    this.resolve = resolve
    this.reject = reject
  }

  walDone(fileId: number, offset: number): void {
    this.resolve({fileId, offset})
  }

  walFailed(error: unknown): void {
    this.reject(error)
  }
}

class FileWal implements WriteAheadLog {
  private readonly config: ReturnType<typeof validateOptions>
  private readonly clock: Clock
  private readonly log: Logger
  private readonly ops: WalFileOps
  private readonly dir: string
  /** fileIds of the .wal files in use, ascending (the active one last; the spare is not listed). */
  private files: number[] = []
  private active!: ActiveFile
  private spare: Promise<OpenWalFile> | undefined
  /** The spare, once it is ready to take records. */
  private spareReady: OpenWalFile | undefined
  private durableEnd!: WalPosition

  /** Batches waiting for the disk, oldest first; appends go into the last one until it is full. */
  private batches: Batch[] = []
  private bufferPool: Buffer[] = []
  private queuedBytes = 0
  private flushing = false
  private flushScheduled = false
  /** Records of the batch flushed last (the eager-flush threshold follows it). */
  private lastBatchRecords = 0
  private waitTimer: TimerHandle | undefined
  private idleWaiters: (() => void)[] = []
  private broken: WalBrokenError | undefined
  private closing = false
  private closed: Promise<void> | undefined

  private records = 0
  private bytes = 0
  private fsyncs = 0
  private readonly fsyncLatencyUs: number[] = []
  private fsyncLatencyNext = 0

  constructor(config: ReturnType<typeof validateOptions>, clock: Clock, log: Logger, ops: WalFileOps) {
    this.config = config
    this.clock = clock
    this.log = log
    this.ops = ops
    this.dir = config.dir
  }

  async open(): Promise<void> {
    const {ops, dir} = this
    await ops.mkdir(dir)
    let changedDir = false
    const ids: number[] = []
    for (const name of await ops.readdir(dir)) {
      if (name.endsWith('.wal.tmp')) {
        // A file whose preparation was cut short: never used for records.
        await ops.unlink(`${dir}/${name}`)
        changedDir = true
        continue
      }
      const id = parseWalFileName(name)
      if (id !== undefined) ids.push(id)
    }
    ids.sort((a, b) => a - b)
    const nextIdFloor = ids.length > 0 ? (ids[ids.length - 1] as number) + 1 : 0

    let tail: ActiveFile | undefined
    let spare: OpenWalFile | undefined
    while (ids.length > 0 && tail === undefined) {
      const fileId = ids[ids.length - 1] as number
      const fd = await ops.open(walFilePath(dir, fileId), 'r+')
      let keep = false
      try {
        const header = await checkHeader(ops, fd, fileId)
        if (!header.ok) throw new WalCorruptError({fileId, offset: 0, reason: header.reason})
        const sizeBytes = await ops.size(fd)
        const scan = await scanRecords(ops, fd, WAL_FILE_HEADER_BYTES, sizeBytes)
        const dirty = await this.checkTornTail(fd, fileId, scan, sizeBytes)
        if (scan.records === 0 && ids.length > 1) {
          // A spare, or a file whose first batch was torn: it holds nothing that was acknowledged. The
          // last file, if it is only zeros, serves again as the spare (saving its zero fill).
          if (spare === undefined && fileId === nextIdFloor - 1 && dirty === WAL_FILE_HEADER_BYTES) {
            spare = {fileId, fd, sizeBytes}
            keep = true
            ids.pop()
            continue
          }
          this.log.info('deleting a WAL file without records', {fileId})
        } else {
          keep = true
          if (dirty > scan.end) {
            this.log.warn('zeroing the torn tail of the WAL', {fileId, offset: scan.end, bytes: dirty - scan.end})
            await zeroFill(ops, fd, scan.end, dirty)
            await ops.fdatasync(fd)
          }
          tail = {fileId, fd, sizeBytes, writeOffset: scan.end}
        }
      } finally {
        if (!keep) await ops.close(fd)
      }
      if (!keep) {
        await ops.unlink(walFilePath(dir, fileId))
        changedDir = true
        ids.pop()
      }
    }
    if (changedDir) await ops.fsyncDir(dir)
    if (tail === undefined) {
      const firstBytes = Math.min(this.config.preallocateBytes, FIRST_FILE_PREALLOCATE_BYTES_MAX)
      const created = await createWalFile(ops, dir, nextIdFloor, firstBytes)
      tail = {...created, writeOffset: WAL_FILE_HEADER_BYTES}
      ids.push(created.fileId)
    }
    this.files = ids
    this.active = tail
    this.durableEnd = {fileId: tail.fileId, offset: tail.writeOffset}
    if (spare !== undefined) {
      this.spare = Promise.resolve(spare)
      this.spareReady = spare
    } else {
      this.spare = this.prepareSpare(Math.max(nextIdFloor, tail.fileId + 1))
    }
  }

  /**
   * Decides whether the bytes after the last good record of the tail file are a torn batch (returns where
   * they end, to be zeroed) or damage to data that was acknowledged (throws WalCorruptError). A torn batch
   * is the last thing written, so it is followed by zeros and spans at most one batch; a good record right
   * after the bad one, or damage spread wider than any batch, means an fsynced record went bad. After a
   * power failure that persisted a batch's pages out of order this can refuse a log whose damage is only
   * unacknowledged; repairCorruptTail then takes the torn-tail reading.
   */
  private async checkTornTail(fd: number, fileId: number, scan: ScanResult, sizeBytes: number): Promise<number> {
    const dirty = await dirtyEnd(this.ops, fd, scan.end, sizeBytes)
    if (dirty === scan.end || this.config.repairCorruptTail) return dirty
    const {groupCommitBytesMax, recordBytesMax} = this.config
    const batchBytesMax = groupCommitBytesMax + recordBytesMax + 2 * WAL_RECORD_HEADER_BYTES
    let reason: string | undefined
    if (dirty - scan.end > batchBytesMax) {
      reason = `${dirty - scan.end} damaged bytes, more than one batch`
    } else if (scan.stop === 'corrupt' && (await recordFollows(this.ops, fd, scan.end, sizeBytes))) {
      reason = `${scan.reason ?? 'bad record'} followed by good records`
    }
    if (reason !== undefined) throw new WalCorruptError({fileId, offset: scan.end, reason})
    return dirty
  }

  private prepareSpare(fileId: number): Promise<OpenWalFile> {
    this.spareReady = undefined
    const p = createWalFile(this.ops, this.dir, fileId, this.config.preallocateBytes)
    // An error surfaces when the spare is needed (roll); until then it must not count as unhandled.
    p.then((f) => (this.spareReady = f)).catch(() => {})
    return p
  }

  append(payload: Buffer): Promise<WalPosition> {
    // A refusal thrown by appendWaiting inside the executor becomes the rejection.
    return new Promise<WalPosition>((resolve, reject) => this.appendWaiting(payload, new PromiseWaiter(resolve, reject)))
  }

  appendWaiting(payload: Buffer, waiter: WalWaiter, crc?: number): void {
    if (this.broken) throw this.broken
    if (this.closing) throw new WalClosedError(this.dir)
    if (!Buffer.isBuffer(payload)) throw new InvalidInputError('WAL record payload must be a Buffer')
    const {recordBytesMax, queueBytesMax} = this.config
    if (payload.length === 0 || payload.length > recordBytesMax) {
      throw new InvalidInputError(`WAL record of ${payload.length} bytes is outside [1, ${recordBytesMax}]`)
    }
    const frameBytes = WAL_RECORD_HEADER_BYTES + payload.length
    if (this.queuedBytes + frameBytes > queueBytesMax) throw new WalOverloadedError(this.queuedBytes, queueBytesMax)
    const batch = this.batchWithRoom(frameBytes)
    writeRecord(batch.buf, batch.bytes, payload, crc)
    batch.bytes += frameBytes
    batch.waiters.push(waiter)
    this.queuedBytes += frameBytes
    this.kick()
  }

  /** The batch being filled, if the frame fits its limits; otherwise a new one. Grows its buffer as needed. */
  private batchWithRoom(frameBytes: number): Batch {
    const {groupCommitBytesMax, groupCommitRecordsMax} = this.config
    const last = this.batches[this.batches.length - 1]
    if (last && last.waiters.length < groupCommitRecordsMax && last.bytes + frameBytes <= groupCommitBytesMax) {
      if (last.bytes + frameBytes > last.buf.length) {
        const capacity = Math.min(groupCommitBytesMax, Math.max(2 * last.buf.length, last.bytes + frameBytes))
        const grown = Buffer.allocUnsafe(capacity)
        last.buf.copy(grown, 0, 0, last.bytes)
        last.buf = grown
      }
      return last
    }
    const pooled = this.bufferPool.pop()
    const capacity = Math.max(frameBytes, Math.min(groupCommitBytesMax, BATCH_BUFFER_BYTES_INITIAL))
    const buf = pooled !== undefined && pooled.length >= capacity ? pooled : Buffer.allocUnsafe(capacity)
    const firstAtMs = this.config.groupCommitWaitMs > 0 ? this.clock.monotonicMs() : 0
    const batch: Batch = {buf, bytes: 0, waiters: [], firstAtMs}
    this.batches.push(batch)
    return batch
  }

  /** Starts a flush if one is due and none is running; otherwise arranges for one later. */
  private kick(): void {
    const first = this.batches[0]
    if (this.flushing || this.broken || first === undefined) return
    const eagerMin = this.config.eagerFlushRecordsMin
    const eager =
      eagerMin > 0 &&
      this.config.groupCommitWaitMs === 0 &&
      first.bytes <= this.config.eagerFlushBytesMax &&
      first.waiters.length >= Math.max(eagerMin, this.lastBatchRecords >> 1)
    if (eager) {
      // The disk is idle and a burst is arriving: start on what is here now (see the module comment).
      void this.flush()
      return
    }
    if (this.flushScheduled) return
    const {groupCommitWaitMs, groupCommitBytesMax, groupCommitRecordsMax} = this.config
    const waitedMs = groupCommitWaitMs === 0 ? 0 : this.clock.monotonicMs() - first.firstAtMs
    const due =
      groupCommitWaitMs === 0 ||
      this.closing ||
      this.batches.length > 1 ||
      first.bytes >= groupCommitBytesMax ||
      first.waiters.length >= groupCommitRecordsMax ||
      waitedMs >= groupCommitWaitMs
    if (due) {
      if (this.waitTimer) {
        this.clock.clearTimeout(this.waitTimer)
        this.waitTimer = undefined
      }
      this.flushScheduled = true
      // After this event-loop turn, so every append made during it joins the batch.
      setImmediate(this.runFlush)
    } else if (!this.waitTimer) {
      this.waitTimer = this.clock.setTimeout(() => {
        this.waitTimer = undefined
        this.kick()
      }, groupCommitWaitMs - waitedMs)
    }
  }

  private readonly runFlush = (): void => {
    this.flushScheduled = false
    void this.flush()
  }

  private async flush(): Promise<void> {
    const batch = this.batches[0]
    if (this.flushing || this.broken || batch === undefined) return
    this.flushing = true
    // Taking the batch off the list seals it: later appends start a new one.
    this.batches.shift()
    this.queuedBytes -= batch.bytes
    this.lastBatchRecords = batch.waiters.length
    let step = 'roll'
    // Inline, nothing below awaits: the whole flush runs in this call (see WalOptions.inlineSyncRecordsMax).
    const inline = this.inlineSync(batch)
    try {
      if (!inline && this.shouldRoll(batch.bytes)) await this.roll()
      const file = this.active
      step = 'write'
      const bytes = batch.buf.subarray(0, batch.bytes)
      if (inline) writeAllSync(file.fd, bytes, file.writeOffset)
      else await writeAll(this.ops, file.fd, bytes, file.writeOffset)
      step = 'fdatasync'
      const startMs = this.clock.monotonicMs()
      if (inline) nodeSyncOps.fdatasync(file.fd)
      else await this.ops.fdatasync(file.fd)
      this.noteFsync(this.clock.monotonicMs() - startMs)
      file.writeOffset += batch.bytes
      file.sizeBytes = Math.max(file.sizeBytes, file.writeOffset)
      this.durableEnd = {fileId: file.fileId, offset: file.writeOffset}
      this.records += batch.waiters.length
      this.bytes += batch.bytes
      step = 'done'
    } catch (e) {
      this.breakWal(step, e, batch)
    } finally {
      this.flushing = false
    }
    if (step === 'done') this.completed(batch, this.durableEnd.fileId, this.durableEnd.offset - batch.bytes)
    if (this.batches.length === 0 || this.broken) this.notifyIdle()
    else this.kick()
  }

  /**
   * Whether this batch is written and fsynced on the event-loop thread (inlineSyncRecordsMax): small,
   * with the default file operations, and no roll due (rolling may wait for the spare).
   */
  private inlineSync(batch: Batch): boolean {
    return (
      batch.waiters.length <= this.config.inlineSyncRecordsMax &&
      batch.bytes <= INLINE_SYNC_BYTES_MAX &&
      this.ops === nodeFileOps &&
      !this.shouldRoll(batch.bytes)
    )
  }

  /** Tells a durable batch's waiters, in append order, where their records are; recycles its buffer. */
  private completed(batch: Batch, fileId: number, start: number): void {
    const buf = batch.buf
    let at = 0
    for (const w of batch.waiters) {
      try {
        w.walDone(fileId, start + at)
      } catch (e) {
        this.log.error('a WAL waiter threw', {error: e})
      }
      at += WAL_RECORD_HEADER_BYTES + buf.readUInt32BE(at)
    }
    if (this.bufferPool.length < BATCH_BUFFERS_POOLED_MAX) this.bufferPool.push(buf)
  }

  /**
   * A file rolls at fileSizeBytesMax, or earlier when the batch would grow it past its preallocated
   * zeros while the next (preallocated) file is ready: appending to a growing file costs more per fsync.
   */
  private shouldRoll(batchBytes: number): boolean {
    const a = this.active
    if (a.writeOffset >= this.config.fileSizeBytesMax) return true
    const outgrows = a.writeOffset + batchBytes > a.sizeBytes && a.writeOffset > WAL_FILE_HEADER_BYTES
    return outgrows && this.config.preallocateBytes > 0 && this.spareReady !== undefined
  }

  private async roll(): Promise<void> {
    assert(this.spare !== undefined, 'no spare WAL file prepared')
    const next = await this.spare
    assert(next.fileId > this.active.fileId, 'spare WAL file is not after the active one')
    const old = this.active
    this.active = {...next, writeOffset: WAL_FILE_HEADER_BYTES}
    this.files.push(next.fileId)
    this.spare = this.prepareSpare(next.fileId + 1)
    // Every batch of the old file was fsynced before this flush began.
    await this.ops.close(old.fd)
  }

  private noteFsync(latencyMs: number): void {
    this.fsyncs++
    const us = Math.round(latencyMs * 1000)
    if (this.fsyncLatencyUs.length < this.config.fsyncLatencyWindow) this.fsyncLatencyUs.push(us)
    else this.fsyncLatencyUs[this.fsyncLatencyNext] = us
    this.fsyncLatencyNext = (this.fsyncLatencyNext + 1) % this.config.fsyncLatencyWindow
  }

  private breakWal(step: string, cause: unknown, failed: Batch): void {
    const message = `write-ahead log ${this.dir}: ${step} failed (${errorMessage(cause)}); it accepts no more appends`
    this.broken = new WalBrokenError(message, {cause})
    this.log.error('write-ahead log broken', {dir: this.dir, step, error: cause})
    if (this.waitTimer) {
      this.clock.clearTimeout(this.waitTimer)
      this.waitTimer = undefined
    }
    const batches = [failed, ...this.batches]
    this.batches = []
    this.queuedBytes = 0
    for (const batch of batches) {
      for (const w of batch.waiters) {
        try {
          w.walFailed(this.broken)
        } catch (e) {
          this.log.error('a WAL waiter threw', {error: e})
        }
      }
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }

  private whenIdle(): Promise<void> {
    if (!this.flushing && (this.broken || this.batches.length === 0)) return Promise.resolve()
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  async replay(
    from: WalPosition | undefined,
    onRecord: (payload: Buffer, position: WalPosition) => void,
  ): Promise<WalPosition> {
    if (this.closing) throw new WalClosedError(this.dir)
    const end = {...this.durableEnd}
    const ids = this.files.filter((id) => id <= end.fileId && (from === undefined || id >= from.fileId))
    for (const fileId of ids) {
      const fromHere = from !== undefined && fileId === from.fileId
      const startOffset = fromHere ? Math.max(from.offset, WAL_FILE_HEADER_BYTES) : WAL_FILE_HEADER_BYTES
      const fd = await this.ops.open(walFilePath(this.dir, fileId), 'r')
      try {
        const header = await checkHeader(this.ops, fd, fileId)
        if (!header.ok) throw new WalCorruptError({fileId, offset: 0, reason: header.reason})
        const isTail = fileId === end.fileId
        const limit = isTail ? end.offset : await this.ops.size(fd)
        if (startOffset >= limit) continue
        const scan = await scanRecords(this.ops, fd, startOffset, limit, (payload, offset) =>
          onRecord(payload, {fileId, offset}),
        )
        const clean = isTail ? scan.stop === 'limit' : scan.stop === 'limit' || scan.stop === 'end'
        if (!clean) {
          const reason = scan.reason ?? `stopped (${scan.stop}) before the end`
          throw new WalCorruptError({fileId, offset: scan.end, reason})
        }
      } finally {
        await this.ops.close(fd)
      }
    }
    return end
  }

  async reclaim(upTo: WalPosition): Promise<number> {
    const victims = this.files.filter((id) => id < upTo.fileId && id < this.active.fileId)
    if (victims.length === 0) return 0
    for (const fileId of victims) {
      await this.ops.unlink(walFilePath(this.dir, fileId))
      this.files = this.files.filter((id) => id !== fileId)
    }
    await this.ops.fsyncDir(this.dir)
    this.log.debug('reclaimed WAL files', {count: victims.length, upToFileId: upTo.fileId})
    return victims.length
  }

  stats(): WalStats {
    return {records: this.records, bytes: this.bytes, fsyncs: this.fsyncs, fsyncLatencyUs: [...this.fsyncLatencyUs]}
  }

  close(): Promise<void> {
    this.closed ??= this.doClose()
    return this.closed
  }

  private async doClose(): Promise<void> {
    this.closing = true
    this.kick()
    await this.whenIdle()
    if (this.waitTimer) {
      this.clock.clearTimeout(this.waitTimer)
      this.waitTimer = undefined
    }
    const spare = await this.spare?.catch(() => undefined)
    if (spare) await this.ops.close(spare.fd)
    await this.ops.close(this.active.fd)
  }
}
