/**
 * File-level steps of the write-ahead log: create a file (header, zero fill, fsync, rename, fsync the
 * directory), walk its records, find and zero a torn tail. wal.ts decides when each step runs; the
 * byte layout is in format.ts.
 */
import {join} from 'node:path'
import {assert} from '../assert.js'
import type {WalFileOps} from './file-ops.js'
import {
  decodeFileHeader,
  decodeRecordAt,
  encodeFileHeader,
  WAL_FILE_HEADER_BYTES,
  WAL_RECORD_BYTES_LIMIT,
  WAL_RECORD_HEADER_BYTES,
  walFileName,
} from './format.js'

/** Reads and zero fills move through the file in windows of this size (a record larger than it gets its own). */
const WINDOW_BYTES = 1024 * 1024
let zeros: Buffer | undefined

function zeroBuffer(): Buffer {
  zeros ??= Buffer.alloc(WINDOW_BYTES)
  return zeros
}

export function walFilePath(dir: string, fileId: number): string {
  return join(dir, walFileName(fileId))
}

/** Writes all of buf at `position`, looping over short writes. */
export async function writeAll(ops: WalFileOps, fd: number, buf: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const n = await ops.write(fd, buf, done, buf.length - done, position + done)
    assert(n > 0, 'write made no progress')
    done += n
  }
}

export async function readFully(ops: WalFileOps, fd: number, buf: Buffer, position: number): Promise<number> {
  let done = 0
  while (done < buf.length) {
    const n = await ops.read(fd, buf, done, buf.length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

/** Writes zeros over [from, to) of the file (not fsynced). */
export async function zeroFill(ops: WalFileOps, fd: number, from: number, to: number): Promise<void> {
  const z = zeroBuffer()
  for (let pos = from; pos < to; pos += WINDOW_BYTES) {
    const length = Math.min(WINDOW_BYTES, to - pos)
    await writeAll(ops, fd, length === z.length ? z : z.subarray(0, length), pos)
  }
}

export interface OpenWalFile {
  fileId: number
  fd: number
  /** Bytes the file holds on disk (header, records and preallocated zeros). */
  sizeBytes: number
}

/**
 * Creates file `fileId` ready for appends: header plus `preallocateBytes` of zeros, fsynced under a
 * temporary name, then renamed into place and the directory fsynced. So a ".wal" file always has a
 * durable header, and a crash mid-way leaves only a ".tmp" file that the next open deletes.
 */
export async function createWalFile(
  ops: WalFileOps,
  dir: string,
  fileId: number,
  preallocateBytes: number,
): Promise<OpenWalFile> {
  const path = walFilePath(dir, fileId)
  const tmp = `${path}.tmp`
  const fd = await ops.open(tmp, 'w')
  try {
    await writeAll(ops, fd, encodeFileHeader(fileId), 0)
    const sizeBytes = Math.max(WAL_FILE_HEADER_BYTES, preallocateBytes)
    // Synced a window at a time: the active file's fsyncs then never wait behind a long burst of zeros.
    for (let pos = WAL_FILE_HEADER_BYTES; pos < sizeBytes; pos += WINDOW_BYTES) {
      await zeroFill(ops, fd, pos, Math.min(sizeBytes, pos + WINDOW_BYTES))
      await ops.fdatasync(fd)
    }
    if (sizeBytes === WAL_FILE_HEADER_BYTES) await ops.fdatasync(fd)
    await ops.rename(tmp, path)
    await ops.fsyncDir(dir)
    return {fileId, fd, sizeBytes}
  } catch (e) {
    await ops.close(fd).catch(() => {})
    await ops.unlink(tmp).catch(() => {})
    throw e
  }
}

export type HeaderCheck = {ok: true} | {ok: false; reason: string}

export async function checkHeader(ops: WalFileOps, fd: number, fileId: number): Promise<HeaderCheck> {
  const buf = Buffer.alloc(WAL_FILE_HEADER_BYTES)
  const n = await readFully(ops, fd, buf, 0)
  const h = decodeFileHeader(buf.subarray(0, n))
  if (!h.ok) return h
  if (h.fileId !== fileId) return {ok: false, reason: `header names file ${h.fileId}`}
  return {ok: true}
}

/**
 * How a walk over records ended: `limit` reached exactly (clean), a zero length (clean end of a
 * preallocated file), or a torn/corrupt record at `end`.
 */
export type ScanStop = 'limit' | 'end' | 'torn' | 'corrupt'

export interface ScanResult {
  /** Offset just after the last good record. */
  end: number
  records: number
  stop: ScanStop
  reason?: string
}

/**
 * Walks the records of one file from `from` (a record boundary) up to `limit` bytes, calling onRecord
 * with a copy of each payload, and stops at the first zero length, torn or corrupt record.
 */
export async function scanRecords(
  ops: WalFileOps,
  fd: number,
  from: number,
  limit: number,
  onRecord?: (payload: Buffer, offset: number) => void,
): Promise<ScanResult> {
  let records = 0
  let windowStart = from
  let recordBytesNeeded = 0
  for (;;) {
    const windowBytes = Math.min(Math.max(WINDOW_BYTES, recordBytesNeeded), limit - windowStart)
    recordBytesNeeded = 0
    if (windowBytes <= 0) return {end: windowStart, records, stop: 'limit'}
    const win = Buffer.allocUnsafe(windowBytes)
    const got = await readFully(ops, fd, win, windowStart)
    const view = win.subarray(0, got)
    const atLimit = windowStart + got >= limit || got < windowBytes
    let off = 0
    for (;;) {
      const r = decodeRecordAt(view, off)
      if (r.kind === 'record') {
        onRecord?.(Buffer.from(r.payload), windowStart + off)
        records++
        off = r.next
        continue
      }
      if (r.kind === 'end') return {end: windowStart + off, records, stop: 'end'}
      if (r.kind === 'corrupt') return {end: windowStart + off, records, stop: 'corrupt', reason: r.reason}
      // Short: the record runs past this window. At the limit that makes it torn, unless what is left is zeros.
      if (atLimit) {
        const rest = view.subarray(off)
        if (rest.length === 0) return {end: windowStart + off, records, stop: 'limit'}
        if (isZero(rest)) return {end: windowStart + off, records, stop: 'end'}
        return {end: windowStart + off, records, stop: 'torn', reason: 'record runs past the end of the file'}
      }
      windowStart += off
      recordBytesNeeded = r.bytesNeeded
      break
    }
  }
}

function isZero(buf: Buffer): boolean {
  const z = zeroBuffer()
  for (let pos = 0; pos < buf.length; pos += z.length) {
    const part = buf.subarray(pos, Math.min(buf.length, pos + z.length))
    if (!part.equals(z.subarray(0, part.length))) return false
  }
  return true
}

/** The offset just past the last non-zero byte in [from, to), or `from` when the range is all zeros. */
export async function dirtyEnd(ops: WalFileOps, fd: number, from: number, to: number): Promise<number> {
  let dirty = from
  const win = Buffer.allocUnsafe(WINDOW_BYTES)
  for (let pos = from; pos < to; pos += WINDOW_BYTES) {
    const n = await readFully(ops, fd, win.subarray(0, Math.min(WINDOW_BYTES, to - pos)), pos)
    const part = win.subarray(0, n)
    if (isZero(part)) continue
    let last = n - 1
    while (last >= 0 && part[last] === 0) last--
    dirty = pos + last + 1
  }
  return dirty
}

/**
 * Whether a whole, CRC-valid record starts right after the (bad) record at `offset`, judging that
 * record's extent by its length field.
 */
export async function recordFollows(ops: WalFileOps, fd: number, offset: number, sizeBytes: number): Promise<boolean> {
  const head = Buffer.alloc(WAL_RECORD_HEADER_BYTES)
  if ((await readFully(ops, fd, head, offset)) < head.length) return false
  const next = offset + WAL_RECORD_HEADER_BYTES + head.readUInt32BE(0)
  if (next + WAL_RECORD_HEADER_BYTES > sizeBytes) return false
  if ((await readFully(ops, fd, head, next)) < head.length) return false
  const length = head.readUInt32BE(0)
  if (length === 0 || length > WAL_RECORD_BYTES_LIMIT) return false
  if (next + WAL_RECORD_HEADER_BYTES + length > sizeBytes) return false
  const frame = Buffer.allocUnsafe(WAL_RECORD_HEADER_BYTES + length)
  if ((await readFully(ops, fd, frame, next)) < frame.length) return false
  return decodeRecordAt(frame, 0).kind === 'record'
}
