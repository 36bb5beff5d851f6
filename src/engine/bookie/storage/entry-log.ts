/**
 * Entry logs: append-only files holding the entries of many ledgers interleaved (BK's EntryLogger).
 * The flusher appends write-cache slabs to the current log, which rolls once it passes the size limit;
 * a new log goes to the next ledger dir that is not full. Logs are fsynced at checkpoint, before the
 * index that points into them is written, so the index never points at bytes that are not on disk.
 * Reads go through a bounded set of open descriptors; compaction scans a log record by record.
 *
 * File `<ledgerDir>/current/<logId, 8 lowercase hex digits>.log` (integers big-endian):
 *
 *   header   magic "DLEL" | version uint32 (1) | logId uint32 | reserved uint32 (0)     16 bytes
 *   record*  length uint32 | entry bytes (protocol/bookie/entry.ts: ledgerId, entryId, lac,
 *                            length, crc32c, payload)
 *
 * Entries carry their own ids and CRC32C, so a log can be scanned and verified without the index. Bytes
 * after the last checkpointed record may be garbage from a flush that crashed or failed; nothing in the
 * index points there, and a scan stops at the first record that does not verify.
 */
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {assert} from '../../common/assert.js'
import {DlogError} from '../../common/errors.js'
import {ENTRY_HEADER_BYTES, ENTRY_PAYLOAD_BYTES_MAX, entryChecksumOk} from '../../protocol/bookie/entry.js'
import {currentDir} from './dirs.js'
import {readFully, writeAll} from '../../common/wal/wal-file.js'
import type {DiskOps} from './disk-ops.js'
import {RECORD_PREFIX_BYTES} from './write-cache.js'

export const ENTRY_LOG_HEADER_BYTES = 16
const MAGIC = 0x444c454c // "DLEL"
const VERSION = 1
const LOG_FILE_RE = /^([0-9a-f]{8})\.log$/
const RECORD_BYTES_MAX = ENTRY_HEADER_BYTES + ENTRY_PAYLOAD_BYTES_MAX

export function entryLogFileName(logId: number): string {
  return `${logId.toString(16).padStart(8, '0')}.log`
}

export function encodeEntryLogHeader(logId: number): Buffer {
  const b = Buffer.alloc(ENTRY_LOG_HEADER_BYTES)
  b.writeUInt32BE(MAGIC, 0)
  b.writeUInt32BE(VERSION, 4)
  b.writeUInt32BE(logId, 8)
  return b
}

/** A corrupt or unreadable entry log: an operating error (the disk lied), never an assertion. */
export class EntryLogError extends DlogError {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super('ENTRY_LOG', message, {retriable: false, cause: opts.cause})
    this.name = 'EntryLogError'
  }
}

export interface EntryLogFile {
  logId: number
  dirIndex: number
  path: string
}

interface OpenReader {
  fd: number
  refs: number
}

/** The log currently appended to. `size` is where the next record goes. */
export interface EntryLogWriter {
  logId: number
  dirIndex: number
  fd: number
  size: number
  /** Size as of the last successful sync: bytes beyond it may be garbage after a failure. */
  syncedSize: number
}

export interface ScannedRecord {
  /** Offset of the entry bytes (after the length prefix). */
  offset: number
  entry: Buffer
}

export class EntryLogs {
  readonly files = new Map<number, EntryLogFile>()
  private readonly dirs: string[]
  private readonly ops: DiskOps
  private readonly readers = new Map<number, OpenReader>()
  private readonly readFilesOpenMax: number
  private nextLogId = 1
  writer: EntryLogWriter | undefined

  constructor(opts: {dirs: string[]; ops: DiskOps; readFilesOpenMax: number}) {
    this.dirs = opts.dirs
    this.ops = opts.ops
    this.readFilesOpenMax = opts.readFilesOpenMax
  }

  /** Finds the existing logs in every ledger dir. */
  async load(): Promise<void> {
    for (let dirIndex = 0; dirIndex < this.dirs.length; dirIndex++) {
      const dir = currentDir(this.dirs[dirIndex] as string)
      for (const name of await readdir(dir)) {
        const m = LOG_FILE_RE.exec(name)
        if (!m) continue
        const logId = parseInt(m[1] as string, 16)
        const prev = this.files.get(logId)
        if (prev) throw new EntryLogError(`entry log ${logId} exists twice: ${prev.path} and ${join(dir, name)}`)
        this.files.set(logId, {logId, dirIndex, path: join(dir, name)})
        this.nextLogId = Math.max(this.nextLogId, logId + 1)
      }
    }
  }

  /** Starts a new log in ledger dir `dirIndex` and makes it the current one (the old one must be sealed). */
  async create(dirIndex: number): Promise<EntryLogWriter> {
    assert(this.writer === undefined, 'a log is still open for writing')
    assert(this.nextLogId <= 0xffffffff, 'entry log ids exhausted')
    const logId = this.nextLogId++
    const dir = currentDir(this.dirs[dirIndex] as string)
    const path = join(dir, entryLogFileName(logId))
    const fd = await this.ops.open(path, 'wx+')
    this.files.set(logId, {logId, dirIndex, path})
    const w: EntryLogWriter = {logId, dirIndex, fd, size: 0, syncedSize: 0}
    this.writer = w
    try {
      await writeAll(this.ops, fd, encodeEntryLogHeader(logId), 0)
      // The new name must survive a crash along with the records the index will point at.
      await this.ops.fsyncDir(dir)
    } catch (e) {
      this.writer = undefined
      this.files.delete(logId)
      await this.ops.close(fd).catch(() => {})
      await this.ops.unlink(path).catch(() => {})
      throw e
    }
    // The header needs no sync of its own: the first sync of records covers it, and a log that never
    // got records has no metadata and is removed at the next start.
    w.size = ENTRY_LOG_HEADER_BYTES
    w.syncedSize = ENTRY_LOG_HEADER_BYTES
    return w
  }

  /** Appends bytes to the current log; returns the offset they were written at. */
  async append(buf: Buffer, offset: number, length: number): Promise<number> {
    const w = this.writer
    assert(w, 'no current entry log')
    const at = w.size
    // Reserve the range before awaiting so a failed write leaves `size` pointing at the last good byte.
    await writeAll(this.ops, w.fd, buf.subarray(offset, offset + length), at)
    w.size = at + length
    return at
  }

  /** Bytes appended to the current log since its last sync. */
  get unsyncedBytes(): number {
    const w = this.writer
    return w ? w.size - w.syncedSize : 0
  }

  async sync(): Promise<void> {
    const w = this.writer
    if (!w || w.syncedSize === w.size) return
    const size = w.size
    await this.ops.fdatasync(w.fd)
    w.syncedSize = size
  }

  /**
   * Closes the current log for writing. Unsynced bytes (from a failed flush) are cut off first, best
   * effort: they are unindexed garbage either way.
   */
  async seal(): Promise<void> {
    const w = this.writer
    if (!w) return
    this.writer = undefined
    if (w.size !== w.syncedSize) await this.ops.ftruncate(w.fd, w.syncedSize).catch(() => {})
    await this.ops.close(w.fd)
  }

  /** Rewinds the current log to its synced size after a failed write, so the next flush overwrites the garbage. */
  rewind(): void {
    if (this.writer) this.writer.size = this.writer.syncedSize
  }

  async read(logId: number, offset: number, length: number): Promise<Buffer> {
    const r = await this.acquire(logId)
    try {
      const buf = Buffer.allocUnsafe(length)
      const n = await readFully(this.ops, r.fd, buf, offset)
      if (n !== length) throw new EntryLogError(`entry log ${logId} is short: wanted ${length} bytes at ${offset}, got ${n}`)
      return buf
    } finally {
      this.releaseReader(logId, r)
    }
  }

  /**
   * Reads a log's records in order from the header on, calling onBatch with each chunk's records.
   * Stops at the end of the file or at the first record that does not verify; returns the offset just
   * past the last good record.
   */
  async scan(logId: number, onBatch: (records: ScannedRecord[]) => Promise<void>, chunkBytes = 4 * 1024 * 1024): Promise<number> {
    const r = await this.acquire(logId)
    try {
      const size = await this.ops.size(r.fd)
      let pos = ENTRY_LOG_HEADER_BYTES
      let buf = Buffer.allocUnsafe(Math.max(chunkBytes, RECORD_PREFIX_BYTES))
      while (pos + RECORD_PREFIX_BYTES <= size) {
        const want = Math.min(buf.length, size - pos)
        const n = await readFully(this.ops, r.fd, buf.subarray(0, want), pos)
        const records: ScannedRecord[] = []
        let at = 0
        let stop = false
        while (at + RECORD_PREFIX_BYTES <= n) {
          const len = buf.readUInt32BE(at)
          if (len < ENTRY_HEADER_BYTES || len > RECORD_BYTES_MAX) {
            stop = true
            break
          }
          if (at + RECORD_PREFIX_BYTES + len > n) break
          const entry = Buffer.from(buf.subarray(at + RECORD_PREFIX_BYTES, at + RECORD_PREFIX_BYTES + len))
          if (!entryChecksumOk(entry)) {
            stop = true
            break
          }
          records.push({offset: pos + at + RECORD_PREFIX_BYTES, entry})
          at += RECORD_PREFIX_BYTES + len
        }
        if (records.length > 0) await onBatch(records)
        if (stop) return pos + at
        if (at === 0) {
          // One record larger than the chunk: grow the buffer to hold it, or stop at a truncated tail.
          const len = buf.readUInt32BE(0)
          if (pos + RECORD_PREFIX_BYTES + len > size) return pos
          buf = Buffer.allocUnsafe(RECORD_PREFIX_BYTES + len)
          continue
        }
        pos += at
      }
      return pos
    } finally {
      this.releaseReader(logId, r)
    }
  }

  async fileSize(logId: number): Promise<number> {
    const r = await this.acquire(logId)
    try {
      return await this.ops.size(r.fd)
    } finally {
      this.releaseReader(logId, r)
    }
  }

  async remove(logId: number): Promise<void> {
    assert(this.writer?.logId !== logId, 'cannot remove the current entry log')
    const f = this.files.get(logId)
    if (!f) return
    this.files.delete(logId)
    const r = this.readers.get(logId)
    if (r && r.refs === 0) {
      this.readers.delete(logId)
      await this.ops.close(r.fd).catch(() => {})
    }
    await this.ops.unlink(f.path)
  }

  async close(): Promise<void> {
    await this.seal()
    for (const [logId, r] of this.readers) {
      this.readers.delete(logId)
      await this.ops.close(r.fd).catch(() => {})
    }
  }

  private async acquire(logId: number): Promise<OpenReader> {
    let r = this.readers.get(logId)
    if (r) {
      // Refresh its place in the LRU order.
      this.readers.delete(logId)
      this.readers.set(logId, r)
      r.refs++
      return r
    }
    const f = this.files.get(logId)
    if (!f) throw new EntryLogError(`entry log ${logId} does not exist`)
    const fd = await this.ops.open(f.path, 'r')
    r = this.readers.get(logId)
    if (r) {
      // Another read opened it while we waited.
      await this.ops.close(fd).catch(() => {})
      r.refs++
      return r
    }
    r = {fd, refs: 1}
    this.readers.set(logId, r)
    this.evictReaders()
    return r
  }

  private releaseReader(logId: number, r: OpenReader): void {
    r.refs--
    if (r.refs === 0 && (this.readers.get(logId) !== r || !this.files.has(logId))) {
      if (this.readers.get(logId) === r) this.readers.delete(logId)
      this.ops.close(r.fd).catch(() => {})
    } else if (r.refs === 0) {
      this.evictReaders()
    }
  }

  private evictReaders(): void {
    if (this.readers.size <= this.readFilesOpenMax) return
    for (const [logId, r] of this.readers) {
      if (this.readers.size <= this.readFilesOpenMax) break
      if (r.refs > 0) continue
      this.readers.delete(logId)
      this.ops.close(r.fd).catch(() => {})
    }
  }
}
