/**
 * The on-disk format of a write-ahead log file: pure encoders and decoders (Buffer in, objects out).
 *
 *   File      := FileHeader Record* ZeroFill
 *   name       <fileId as 16 lower-case hex digits>.wal   (a file being preallocated is "<name>.tmp")
 *   FileHeader (24 bytes, all integers big-endian)
 *     magic     4B  "DLWL"
 *     version   u32 1
 *     fileId    u64 the number in the file name (a renamed or copied file is detected)
 *     flags     u32 0 (reserved)
 *     headerCrc u32 CRC32C over bytes [0, 20)
 *   Record (8-byte header + payload)
 *     length    u32 payload bytes, 1..RECORD_BYTES_LIMIT; 0 means "no record here" (end of the log)
 *     crc32c    u32 CRC32C over the 4 length bytes followed by the payload
 *     payload   `length` bytes
 *   ZeroFill   zeros up to the end of the file (preallocated space, see wal.ts)
 *
 * The record CRC covers neither the fileId nor the offset, so a record is checkable on its own. That is
 * safe because files are never recycled: every file starts life as header + zeros, so the only
 * non-zero bytes past the last good record are a torn batch, which wal.ts zeroes when it opens the log.
 * A reader walks records from the header: a zero length is the clean end, and a length that runs past
 * the file or a CRC mismatch is a torn or corrupt record.
 */
import {crc32c} from '../crc32c.js'
import {CRC32C_TABLE} from './crc32c-math.js'

export const WAL_FILE_MAGIC = 'DLWL'
export const WAL_FILE_VERSION = 1
export const WAL_FILE_HEADER_BYTES = 24
export const WAL_RECORD_HEADER_BYTES = 8
/** The format's hard cap on one payload; WalOptions.recordBytesMax must stay at or below it. */
export const WAL_RECORD_BYTES_LIMIT = 64 * 1024 * 1024
export const WAL_FILE_SUFFIX = '.wal'

const MAGIC_BYTES = Buffer.from(WAL_FILE_MAGIC, 'latin1')
const TWO_POW_32 = 2 ** 32

export function walFileName(fileId: number): string {
  return fileId.toString(16).padStart(16, '0') + WAL_FILE_SUFFIX
}

/** The fileId a WAL file name stands for, or undefined for any other name (including ".tmp" files). */
export function parseWalFileName(name: string): number | undefined {
  const m = /^([0-9a-f]{16})\.wal$/.exec(name)
  if (!m) return undefined
  const id = Number.parseInt(m[1] as string, 16)
  return Number.isSafeInteger(id) ? id : undefined
}

export function encodeFileHeader(fileId: number): Buffer {
  const out = Buffer.alloc(WAL_FILE_HEADER_BYTES)
  MAGIC_BYTES.copy(out, 0)
  out.writeUInt32BE(WAL_FILE_VERSION, 4)
  out.writeUInt32BE(Math.floor(fileId / TWO_POW_32), 8)
  out.writeUInt32BE(fileId >>> 0, 12)
  out.writeUInt32BE(0, 16)
  out.writeUInt32BE(crc32c(out.subarray(0, 20)), 20)
  return out
}

export type FileHeaderCheck = {ok: true; fileId: number} | {ok: false; reason: string}

export function decodeFileHeader(buf: Buffer): FileHeaderCheck {
  if (buf.length < WAL_FILE_HEADER_BYTES) return {ok: false, reason: `header is ${buf.length} bytes`}
  if (!buf.subarray(0, 4).equals(MAGIC_BYTES)) return {ok: false, reason: 'bad magic'}
  if (buf.readUInt32BE(20) !== crc32c(buf.subarray(0, 20))) return {ok: false, reason: 'header CRC mismatch'}
  const version = buf.readUInt32BE(4)
  if (version !== WAL_FILE_VERSION) return {ok: false, reason: `unsupported version ${version}`}
  const fileId = buf.readUInt32BE(8) * TWO_POW_32 + buf.readUInt32BE(12)
  if (!Number.isSafeInteger(fileId)) return {ok: false, reason: 'fileId out of range'}
  return {ok: true, fileId}
}

/** One framed record, ready to be written. */
export function encodeRecord(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(WAL_RECORD_HEADER_BYTES + payload.length)
  writeRecord(frame, 0, payload)
  return frame
}

/** Frames `payload` into `target` at `offset` (which must have room); returns the bytes written. */
export function writeRecord(target: Buffer, offset: number, payload: Buffer, crc = recordCrc(payload)): number {
  target.writeUInt32BE(payload.length, offset)
  target.writeUInt32BE(crc, offset + 4)
  target.set(payload, offset + WAL_RECORD_HEADER_BYTES)
  return WAL_RECORD_HEADER_BYTES + payload.length
}

/** The CRC a record of `payload` carries: CRC32C over the 4 big-endian length bytes, then the payload. */
export function recordCrc(payload: Buffer): number {
  return crc32c(payload, lengthCrc(payload.length))
}

/**
 * CRC32C of the 4 big-endian length bytes, computed here so each record costs one call into the native
 * CRC (over the payload, continuing from this value) instead of two: the call itself costs more than
 * checksumming 100 bytes. Same result as crc32c(lengthBytes) over the big-endian bytes.
 */
export function lengthCrc(length: number): number {
  let c = 0xffffffff
  for (let shift = 24; shift >= 0; shift -= 8) {
    c = (CRC32C_TABLE[(c ^ (length >>> shift)) & 0xff] as number) ^ (c >>> 8)
  }
  return (c ^ 0xffffffff) >>> 0
}

/**
 * What lies at `offset` in `buf` (a window of the file):
 *   record  a whole, CRC-valid record; `payload` is a view into buf and `next` the offset after it
 *   end     a zero length: no record was ever written here
 *   short   buf ends before the record does: read more, or, at the end of the file, it is torn
 *   corrupt the length is out of range or the CRC does not match
 */
export type RecordAt =
  | {kind: 'record'; payload: Buffer; next: number}
  | {kind: 'end'}
  | {kind: 'short'; bytesNeeded: number}
  | {kind: 'corrupt'; reason: string}

export function decodeRecordAt(buf: Buffer, offset: number): RecordAt {
  if (offset + WAL_RECORD_HEADER_BYTES > buf.length) {
    // A zero length is the end even when fewer than 8 bytes are left; anything else needs more bytes.
    const avail = buf.length - offset
    if (avail >= 4 && buf.readUInt32BE(offset) === 0) return {kind: 'end'}
    return {kind: 'short', bytesNeeded: WAL_RECORD_HEADER_BYTES}
  }
  const length = buf.readUInt32BE(offset)
  if (length === 0) return {kind: 'end'}
  if (length > WAL_RECORD_BYTES_LIMIT) return {kind: 'corrupt', reason: `record length ${length} is out of range`}
  const next = offset + WAL_RECORD_HEADER_BYTES + length
  if (next > buf.length) return {kind: 'short', bytesNeeded: WAL_RECORD_HEADER_BYTES + length}
  const payload = buf.subarray(offset + WAL_RECORD_HEADER_BYTES, next)
  if (buf.readUInt32BE(offset + 4) !== crc32c(payload, lengthCrc(length))) {
    return {kind: 'corrupt', reason: 'record CRC mismatch'}
  }
  return {kind: 'record', payload, next}
}
