/**
 * LogRecordSet: client-side batching of many small payloads into one LogRecord (flag RECORD_SET), as the
 * original's proxy client does (distributedlog.md §4.4). Pure codec. The set record carries one txid for
 * all its records; readers expand it and give its i-th record slot `setSlot + i` and position
 * `setPosition + i`, so every inner record has its own DLSN.
 *
 * Payload format, big-endian:
 *
 *   int32  metadata        0x1000 (version, bits 12-15) | codec id (bits 0-1: 0 none, 1 lz4)
 *   int32  count           records in the set
 *   int32  decompressedLen bytes of the record data below before compression
 *   int32  compressedLen   bytes that follow
 *   bytes  data            (compressed) repeated: int32 length | payload bytes
 *
 * A whole set must fit one LogRecord: 20 + 16 + Σ(4 + payload) <= MAX_LOGRECORD_SIZE.
 */
import {InvalidInputError} from '../../common/errors.js'
import type {CompressionType} from '../config.js'
import {LogRecordTooLongError} from '../errors.js'
import {CODEC_MASK, codecOf, codecOfId} from './compression.js'
import {LOG_RECORD_HEADER_BYTES, MAX_LOGRECORD_SIZE, MAX_LOGRECORDSET_SIZE} from './log-record.js'

export const RECORD_SET_HEADER_BYTES = 16
const VERSION = 0x1000
const VERSION_MASK = 0xf000
/** Payload bytes a set may hold so that the set itself is a valid LogRecord. */
const SET_PAYLOAD_MAX = MAX_LOGRECORD_SIZE - LOG_RECORD_HEADER_BYTES

/** Accumulates payloads, then builds the set's LogRecord payload. */
export class LogRecordSetBuilder {
  private readonly payloads: Buffer[] = []
  private dataBytes = 0

  get count(): number {
    return this.payloads.length
  }

  /** Bytes the set's payload will have (uncompressed). */
  get sizeBytes(): number {
    return RECORD_SET_HEADER_BYTES + this.dataBytes
  }

  /** Whether one more payload of `bytes` still fits. */
  fits(bytes: number): boolean {
    return this.sizeBytes + 4 + bytes <= SET_PAYLOAD_MAX
  }

  /** Adds one payload; LogRecordTooLongError when it, or the set with it, would be over the limits. */
  add(payload: Buffer): void {
    if (payload.length + LOG_RECORD_HEADER_BYTES > MAX_LOGRECORD_SIZE) {
      throw new LogRecordTooLongError(payload.length + LOG_RECORD_HEADER_BYTES, MAX_LOGRECORD_SIZE)
    }
    if (!this.fits(payload.length)) {
      throw new LogRecordTooLongError(LOG_RECORD_HEADER_BYTES + this.sizeBytes + 4 + payload.length, MAX_LOGRECORD_SIZE)
    }
    this.payloads.push(payload)
    this.dataBytes += 4 + payload.length
  }

  build(compression: CompressionType = 'none'): Buffer {
    const data = Buffer.allocUnsafe(this.dataBytes)
    let at = 0
    for (const p of this.payloads) {
      data.writeInt32BE(p.length, at)
      p.copy(data, at + 4)
      at += 4 + p.length
    }
    const codec = codecOf(compression)
    const body = codec.compress(data)
    const out = Buffer.allocUnsafe(RECORD_SET_HEADER_BYTES + body.length)
    out.writeInt32BE(VERSION | codec.id, 0)
    out.writeInt32BE(this.payloads.length, 4)
    out.writeInt32BE(data.length, 8)
    out.writeInt32BE(body.length, 12)
    body.copy(out, RECORD_SET_HEADER_BYTES)
    return out
  }
}

/** The number of records a set payload declares (checks the version only). */
export function recordSetCount(payload: Buffer): number {
  checkHeader(payload)
  return payload.readInt32BE(4)
}

function checkHeader(payload: Buffer): void {
  if (payload.length < RECORD_SET_HEADER_BYTES) {
    throw new InvalidInputError(`record set of ${payload.length} bytes is shorter than its ${RECORD_SET_HEADER_BYTES}-byte header`)
  }
  const version = payload.readInt32BE(0) & VERSION_MASK
  if (version !== VERSION) throw new InvalidInputError(`Version mismatch while reading. Received: ${version}, Required: ${VERSION}`)
  const count = payload.readInt32BE(4)
  if (count < 0) throw new InvalidInputError(`record set declares a negative count ${count}`)
}

/** The payloads of a set; InvalidInputError on any inconsistency. Payloads are views into the data. */
export function decodeRecordSet(payload: Buffer): Buffer[] {
  checkHeader(payload)
  const metadata = payload.readInt32BE(0)
  const count = payload.readInt32BE(4)
  const decompressedLen = payload.readInt32BE(8)
  const compressedLen = payload.readInt32BE(12)
  if (compressedLen < 0 || RECORD_SET_HEADER_BYTES + compressedLen !== payload.length) {
    throw new InvalidInputError(`record set declares ${compressedLen} data bytes, carries ${payload.length - RECORD_SET_HEADER_BYTES}`)
  }
  // A set never decompresses past one entry's limit: refuse to allocate for a forged length.
  if (decompressedLen < 0 || decompressedLen > MAX_LOGRECORDSET_SIZE) {
    throw new InvalidInputError(`record set declares ${decompressedLen} decompressed bytes (limit ${MAX_LOGRECORDSET_SIZE})`)
  }
  if (count > decompressedLen / 4) throw new InvalidInputError(`record set declares ${count} records in ${decompressedLen} bytes`)
  const data = codecOfId(metadata & CODEC_MASK).decompress(payload.subarray(RECORD_SET_HEADER_BYTES), decompressedLen)
  const out: Buffer[] = []
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + 4 > data.length) throw new InvalidInputError(`record set truncated at record ${i} of ${count}`)
    const len = data.readInt32BE(at)
    if (len < 0 || at + 4 + len > data.length) throw new InvalidInputError(`record set record ${i} has a bad length ${len}`)
    out.push(data.subarray(at + 4, at + 4 + len))
    at += 4 + len
  }
  if (at !== data.length) throw new InvalidInputError(`${data.length - at} trailing bytes after the ${count} records of a record set`)
  return out
}
