/**
 * The entry: the unit a ledger writer sends, a bookie stores, and a reader gets back, byte for byte.
 *
 *   Entry {
 *     ledgerId  int64 BE
 *     entryId   int64 BE
 *     lac       int64 BE   last-add-confirmed known to the writer when it sent this entry (-1: none)
 *     length    int64 BE   total bytes of ledger data up to and including this entry's payload
 *     crc32c    uint32 BE  CRC32C over bytes [0, 32) followed by the payload
 *     payload   bytes      the rest of the frame
 *   }
 *
 * The writer computes the CRC; the bookie verifies it before journaling and serves the entry unchanged;
 * the reader verifies it again. So a bit flip anywhere between the writer's memory and the reader's is
 * caught. Ids are JavaScript numbers: they must be safe integers (ledger ids and entry ids stay far
 * below 2^53), and decoding rejects anything else.
 */
import {crc32c} from '../../common/crc32c.js'
import {InvalidInputError} from '../../common/errors.js'

export const ENTRY_HEADER_BYTES = 36
/** Largest payload of one entry (BookKeeper's default nettyMaxFrameSizeBytes is 5 MiB; DL entries stay under 1 MiB). */
export const ENTRY_PAYLOAD_BYTES_MAX = 4 * 1024 * 1024

export interface EntryHeader {
  ledgerId: number
  entryId: number
  lac: number
  length: number
  crc: number
}

export interface DecodedEntry extends EntryHeader {
  payload: Buffer
}

const TWO_POW_32 = 0x1_0000_0000
/** The high word of a safe integer, or of -1, lies in [-1, 2^21). */
const SAFE_HIGH_MAX = 0x1f_ffff

/**
 * An int64 BE that must be a safe integer >= -1, read as two 32-bit words: this runs for every entry a
 * bookie journals and a reader verifies, and BigInt would cost an allocation each time.
 */
function readId(buf: Buffer, offset: number, what: string): number {
  const high = buf.readInt32BE(offset)
  const v = high * TWO_POW_32 + buf.readUInt32BE(offset + 4)
  if (high > SAFE_HIGH_MAX || high < -1 || v < -1) throw new InvalidInputError(`entry ${what} ${buf.readBigInt64BE(offset)} is out of range`)
  return v
}

/** Writes a safe integer (>= -1) as int64 BE, two's complement, without BigInt. */
function writeId(buf: Buffer, offset: number, v: number): void {
  const high = Math.floor(v / TWO_POW_32)
  buf.writeInt32BE(high, offset)
  buf.writeUInt32BE(v - high * TWO_POW_32, offset + 4)
}

function checkId(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < -1) throw new InvalidInputError(`entry ${what} ${v} is not a safe integer >= -1`)
}

export function encodeEntry(e: {ledgerId: number; entryId: number; lac: number; length: number; payload: Buffer}): Buffer {
  if (e.payload.length > ENTRY_PAYLOAD_BYTES_MAX) {
    throw new InvalidInputError(`entry payload of ${e.payload.length} bytes exceeds ${ENTRY_PAYLOAD_BYTES_MAX}`)
  }
  // Checked here because the two-word writes below, unlike BigInt, would not refuse a fraction or NaN.
  checkId(e.ledgerId, 'ledgerId')
  checkId(e.entryId, 'entryId')
  checkId(e.lac, 'lac')
  checkId(e.length, 'length')
  const out = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + e.payload.length)
  writeId(out, 0, e.ledgerId)
  writeId(out, 8, e.entryId)
  writeId(out, 16, e.lac)
  writeId(out, 24, e.length)
  e.payload.copy(out, ENTRY_HEADER_BYTES)
  const crc = crc32c(e.payload, crc32c(out.subarray(0, 32)))
  out.writeUInt32BE(crc, 32)
  return out
}

export function decodeEntryHeader(buf: Buffer): EntryHeader {
  if (buf.length < ENTRY_HEADER_BYTES) throw new InvalidInputError(`entry of ${buf.length} bytes is shorter than its header`)
  return {
    ledgerId: readId(buf, 0, 'ledgerId'),
    entryId: readId(buf, 8, 'entryId'),
    lac: readId(buf, 16, 'lac'),
    length: readId(buf, 24, 'length'),
    crc: buf.readUInt32BE(32),
  }
}

/** True when the stored CRC matches the entry's bytes. */
export function entryChecksumOk(buf: Buffer): boolean {
  if (buf.length < ENTRY_HEADER_BYTES) return false
  const crc = crc32c(buf.subarray(ENTRY_HEADER_BYTES), crc32c(buf.subarray(0, 32)))
  return crc === buf.readUInt32BE(32)
}

export function decodeEntry(buf: Buffer): DecodedEntry {
  const header = decodeEntryHeader(buf)
  return {...header, payload: buf.subarray(ENTRY_HEADER_BYTES)}
}
