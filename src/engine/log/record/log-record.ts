/**
 * LogRecord: one application record as stored inside an entry (distributedlog.md §4.3). Pure codec.
 *
 * Wire format, big-endian, 20 bytes + payload:
 *
 *   int64  metadata   bits 0-15 flags: 0x1 CONTROL, 0x2 END_OF_STREAM, 0x4 RECORD_SET
 *                     bits 16-47 positionWithinLogSegment (1-based count of user records in the
 *                     segment; control records carry the position of the user record before them)
 *                     bits 48-63 unused (written 0, ignored on read)
 *   int64  txid       application transaction id; Long.MAX_VALUE marks end of stream
 *   int32  length     payload bytes, >= 0
 *   bytes  payload
 *
 * In memory a txid is a JavaScript safe integer: MAX_TXID (Number.MAX_SAFE_INTEGER) stands for the
 * wire's Long.MAX_VALUE in both directions. Any other txid outside the safe range is bad input.
 *
 * Limits: a record's persistent size (20 + payload) is at most MAX_LOGRECORD_SIZE (1 MiB - 8 KiB); an
 * entry's records together at most MAX_LOGRECORDSET_SIZE (1 MiB - 4 KiB).
 */
import {InvalidInputError} from '../../common/errors.js'
import {MAX_TXID} from '../types.js'
import {LogRecordTooLongError} from '../errors.js'

export const MAX_LOGRECORD_SIZE = 1024 * 1024 - 8 * 1024
export const MAX_LOGRECORDSET_SIZE = 1024 * 1024 - 4 * 1024
export const LOG_RECORD_HEADER_BYTES = 20

export const LogRecordFlag = {CONTROL: 0x1, END_OF_STREAM: 0x2, RECORD_SET: 0x4} as const

export const CONTROL_RECORD_PAYLOAD = Buffer.from('control')
export const KEEPALIVE_RECORD_PAYLOAD = Buffer.from('keepalive')
export const END_OF_STREAM_PAYLOAD = Buffer.from('endOfStream')

const POSITION_MAX = 0xffff_ffff

/** A record as it goes on the wire. */
export interface WireLogRecord {
  /** LogRecordFlag bits. */
  flags: number
  positionWithinLogSegment: number
  txid: number
  payload: Buffer
}

export function persistentSize(payloadBytes: number): number {
  return LOG_RECORD_HEADER_BYTES + payloadBytes
}

/** Throws LogRecordTooLongError when a record with this payload is over MAX_LOGRECORD_SIZE. */
export function checkRecordSize(payloadBytes: number): void {
  const e = recordSizeError(payloadBytes)
  if (e) throw e
}

/** The LogRecordTooLongError for a record with this payload, or undefined when it fits (no throw on the hot path). */
export function recordSizeError(payloadBytes: number): LogRecordTooLongError | undefined {
  const size = persistentSize(payloadBytes)
  return size > MAX_LOGRECORD_SIZE ? new LogRecordTooLongError(size, MAX_LOGRECORD_SIZE) : undefined
}

const TWO_POW_32 = 0x1_0000_0000

/** Writes `r` at `offset` of `out` (which must have room); returns the offset after it. */
export function writeLogRecord(out: Buffer, offset: number, r: WireLogRecord): number {
  return writeLogRecordFields(out, offset, r.flags, r.positionWithinLogSegment, r.txid, r.payload)
}

/**
 * writeLogRecord without the record object (the writer's per-record path). The int64s are written as two
 * 32-bit halves in number arithmetic: no BigInt per record.
 */
export function writeLogRecordFields(out: Buffer, offset: number, flags: number, position: number, txid: number, payload: Buffer): number {
  if (!Number.isInteger(position) || position < 0 || position > POSITION_MAX) {
    throw new InvalidInputError(`positionWithinLogSegment ${position} is out of range`)
  }
  if (!Number.isSafeInteger(txid)) throw new InvalidInputError(`txid ${txid} is not a safe integer`)
  // metadata = flags | position << 16.
  out.writeUInt32BE(Math.floor(position / 0x1_0000), offset)
  out.writeUInt32BE((((position & 0xffff) << 16) | (flags & 0xffff)) >>> 0, offset + 4)
  if (txid === MAX_TXID) {
    // The wire's Long.MAX_VALUE.
    out.writeUInt32BE(0x7fff_ffff, offset + 8)
    out.writeUInt32BE(0xffff_ffff, offset + 12)
  } else {
    // Two's complement halves of a safe integer: hi = floor(txid / 2^32) (signed), lo = the rest (unsigned).
    const hi = Math.floor(txid / TWO_POW_32)
    out.writeInt32BE(hi, offset + 8)
    out.writeUInt32BE(txid - hi * TWO_POW_32, offset + 12)
  }
  const length = payload.length
  out.writeInt32BE(length, offset + 16)
  const start = offset + LOG_RECORD_HEADER_BYTES
  out.set(payload, start)
  return start + length
}

export function encodeLogRecord(r: WireLogRecord): Buffer {
  const out = Buffer.allocUnsafe(persistentSize(r.payload.length))
  writeLogRecord(out, 0, r)
  return out
}

/**
 * Reads the record at `offset`; returns it and the offset after it. The payload is a view into `buf`.
 * Throws InvalidInputError on a truncated record, a negative length or a txid out of range.
 */
export function readLogRecord(buf: Buffer, offset: number): {record: WireLogRecord; next: number} {
  if (offset + LOG_RECORD_HEADER_BYTES > buf.length) {
    throw new InvalidInputError(`truncated log record at offset ${offset}: ${buf.length - offset} bytes left, header needs ${LOG_RECORD_HEADER_BYTES}`)
  }
  const hi = buf.readUInt32BE(offset)
  const lo = buf.readUInt32BE(offset + 4)
  const flags = lo & 0xffff
  const positionWithinLogSegment = (hi & 0xffff) * 0x1_0000 + (lo >>> 16)
  const txid = readTxid(buf, offset + 8)
  if (txid === undefined) throw new InvalidInputError(`log record txid ${buf.readBigInt64BE(offset + 8)} at offset ${offset} is out of range`)
  const length = buf.readInt32BE(offset + 16)
  if (length < 0) throw new InvalidInputError(`log record at offset ${offset} is corrupt: negative length ${length}`)
  const start = offset + LOG_RECORD_HEADER_BYTES
  if (start + length > buf.length) {
    throw new InvalidInputError(`truncated log record at offset ${offset}: payload of ${length} bytes, ${buf.length - start} left`)
  }
  return {record: {flags, positionWithinLogSegment, txid, payload: buf.subarray(start, start + length)}, next: start + length}
}

/**
 * The int64 txid at `at` as a number (read as two 32-bit halves: no BigInt per record): Long.MAX_VALUE is
 * MAX_TXID; undefined when outside [MIN_SAFE_INTEGER, MAX_TXID).
 */
function readTxid(buf: Buffer, at: number): number | undefined {
  const hi = buf.readInt32BE(at)
  const lo = buf.readUInt32BE(at + 4)
  if (hi === 0x7fff_ffff && lo === 0xffff_ffff) return MAX_TXID
  // Beyond these halves the value is not a safe integer (and hi * 2^32 + lo would not be exact).
  if (hi < -0x20_0000 || hi >= 0x20_0000) return undefined
  const txid = hi * TWO_POW_32 + lo
  return txid >= Number.MIN_SAFE_INTEGER && txid < MAX_TXID ? txid : undefined
}

export function decodeLogRecord(buf: Buffer): WireLogRecord {
  const {record, next} = readLogRecord(buf, 0)
  if (next !== buf.length) throw new InvalidInputError(`${buf.length - next} trailing bytes after a log record`)
  return record
}
