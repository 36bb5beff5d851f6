/**
 * The bookie wire protocol, version 1: what a ledger client (in any language) sends a bookie over TCP
 * and what it gets back. Pure codec: Buffers in, typed objects out; decoding never throws anything
 * but BookieFrameError (or FrameLengthError from the framing layer).
 *
 * Transport: one TCP connection carries many pipelined requests. The client picks a requestId per
 * request; responses come back in any order and are matched by requestId (a bookie answers a read
 * before an add still waiting for its journal fsync).
 *
 *   Frame     { length int32 BE | body (length bytes, HEADER_BYTES..FRAME_BODY_BYTES_MAX) }
 *   Request   { version uint8 = 1 | opcode uint8 | flags uint16 BE  | requestId uint32 BE | fields }
 *   Response  { version uint8 = 1 | opcode uint8 | status uint16 BE | requestId uint32 BE | fields }
 *
 * All integers are big-endian. `id` = int64 holding a non-negative safe integer (< 2^53); `lac` =
 * int64, -1 meaning "no entry confirmed yet". `key` = { keyLength uint16 | key bytes } (0..256 bytes),
 * the ledger's master key (a digest of the ledger password); the first add of a ledger sets it and
 * every later add, fence and LAC write must present the same key. `entry` = an encoded entry
 * (protocol/bookie/entry.ts: 36-byte header with ledgerId, entryId, lac, length, crc32c + payload),
 * always the rest of the body. Status values are BookieStatus (codes.ts); flags are BookieFlag bits.
 *
 *   opcode              request fields                          response fields (status OK)
 *   1 ADD_ENTRY         key, entry                              ledgerId id, entryId id
 *       flag RECOVERY (0x2): a recovery add, accepted on a fenced ledger.
 *   2 READ_ENTRY        ledgerId id, entryId id, key            ledgerId id, entryId id, entry
 *       flag FENCE (0x1): fence the ledger before reading (key required, non-empty).
 *   4 READ_LAC          ledgerId id                             ledgerId id, lac
 *   5 WRITE_LAC         ledgerId id, lac, key                   ledgerId id
 *   6 BOOKIE_INFO       (none)                                  freeDiskBytes uint64, totalDiskBytes uint64,
 *                                                               state uint8 (bit 0: read-only)
 *   7 LONG_POLL_READ    ledgerId id, entryId id, timeoutMs u32  ledgerId id, entryId id, lac, hasEntry uint8,
 *                                                               entry (when hasEntry = 1)
 *       The bookie parks the request until its LAC for the ledger reaches entryId or timeoutMs passes
 *       (at most LONG_POLL_TIMEOUT_MS_MAX); either way it answers OK with its current LAC.
 *   8 FENCE             ledgerId id, key                        ledgerId id, lac
 *       Fences the ledger (adds other than recovery adds are refused from then on) and returns this
 *       bookie's LAC: the two steps ledger recovery starts with, in one round trip.
 *
 * A response whose status is not OK carries only the op's key fields: ledgerId and entryId for
 * ADD_ENTRY, READ_ENTRY and LONG_POLL_READ; ledgerId for READ_LAC, WRITE_LAC and FENCE; nothing for
 * BOOKIE_INFO. A request with an unknown opcode gets a header-only BAD_REQUEST response (so an old
 * bookie tells a newer client what it cannot do); a request with another version gets a header-only
 * BAD_VERSION response carrying the bookie's version, and the bookie then closes the connection.
 * Any other malformed frame closes the connection (other connections are unaffected).
 *
 * Compatibility: new ops get new opcodes, new optional request bits get new flags; fields are never
 * reordered within a version. Opcode numbers and flag bits follow BookKeeper's BookieProtocol.
 */
import {InvalidInputError} from '../../common/errors.js'
import {BookieStatus} from './codes.js'
import {ENTRY_HEADER_BYTES} from './entry.js'

export const BOOKIE_PROTOCOL_VERSION = 1
/** The frame's length prefix (the framing of net/frame-decoder.ts, shared by our TCP protocols). */
export const FRAME_LENGTH_BYTES = 4
export const HEADER_BYTES = 8
/** Largest frame body (BookKeeper's nettyMaxFrameSizeBytes default): checked before allocating. */
export const FRAME_BODY_BYTES_MAX = 5 * 1024 * 1024
export const MASTER_KEY_BYTES_MAX = 256
export const LONG_POLL_TIMEOUT_MS_MAX = 120_000

export const BookieOp = {
  ADD_ENTRY: 1,
  READ_ENTRY: 2,
  READ_LAC: 4,
  WRITE_LAC: 5,
  BOOKIE_INFO: 6,
  LONG_POLL_READ: 7,
  FENCE: 8,
} as const
export type BookieOp = (typeof BookieOp)[keyof typeof BookieOp]

const OP_NAMES: Record<number, string> = {
  1: 'ADD_ENTRY',
  2: 'READ_ENTRY',
  4: 'READ_LAC',
  5: 'WRITE_LAC',
  6: 'BOOKIE_INFO',
  7: 'LONG_POLL_READ',
  8: 'FENCE',
}

export function bookieOpName(op: number): string {
  return OP_NAMES[op] ?? `OP${op}`
}

export function isBookieOp(op: number): op is BookieOp {
  return OP_NAMES[op] !== undefined
}

export const BookieFlag = {
  /** READ_ENTRY: fence the ledger before reading. */
  FENCE: 0x1,
  /** ADD_ENTRY: a recovery add, allowed on a fenced ledger. */
  RECOVERY: 0x2,
} as const

const INFO_STATE_READ_ONLY = 0x1

// ---------------------------------------------------------------------------------------------------
// Messages

export interface AddEntryWireRequest {
  op: typeof BookieOp.ADD_ENTRY
  requestId: number
  recovery: boolean
  masterKey: Buffer
  /** The encoded entry, carried unchanged; ledgerId and entryId are read from its header. */
  entry: Buffer
  ledgerId: number
  entryId: number
}

export interface ReadEntryWireRequest {
  op: typeof BookieOp.READ_ENTRY
  requestId: number
  ledgerId: number
  entryId: number
  fence: boolean
  /** Empty unless fencing. */
  masterKey: Buffer
}

export interface ReadLacWireRequest {
  op: typeof BookieOp.READ_LAC
  requestId: number
  ledgerId: number
}

export interface WriteLacWireRequest {
  op: typeof BookieOp.WRITE_LAC
  requestId: number
  ledgerId: number
  lac: number
  masterKey: Buffer
}

export interface BookieInfoWireRequest {
  op: typeof BookieOp.BOOKIE_INFO
  requestId: number
}

export interface LongPollReadWireRequest {
  op: typeof BookieOp.LONG_POLL_READ
  requestId: number
  ledgerId: number
  entryId: number
  timeoutMs: number
}

export interface FenceWireRequest {
  op: typeof BookieOp.FENCE
  requestId: number
  ledgerId: number
  masterKey: Buffer
}

export type BookieRequest =
  | AddEntryWireRequest
  | ReadEntryWireRequest
  | ReadLacWireRequest
  | WriteLacWireRequest
  | BookieInfoWireRequest
  | LongPollReadWireRequest
  | FenceWireRequest

interface ResponseBase {
  requestId: number
  status: BookieStatus
}

export interface AddEntryWireResponse extends ResponseBase {
  op: typeof BookieOp.ADD_ENTRY
  ledgerId: number
  entryId: number
}

export interface ReadEntryWireResponse extends ResponseBase {
  op: typeof BookieOp.READ_ENTRY
  ledgerId: number
  entryId: number
  /** Present when status is OK. */
  entry?: Buffer
}

export interface ReadLacWireResponse extends ResponseBase {
  op: typeof BookieOp.READ_LAC
  ledgerId: number
  lac?: number
}

export interface WriteLacWireResponse extends ResponseBase {
  op: typeof BookieOp.WRITE_LAC
  ledgerId: number
}

export interface BookieInfoWireResponse extends ResponseBase {
  op: typeof BookieOp.BOOKIE_INFO
  info?: {freeDiskBytes: number; totalDiskBytes: number; readOnly: boolean}
}

export interface LongPollReadWireResponse extends ResponseBase {
  op: typeof BookieOp.LONG_POLL_READ
  ledgerId: number
  entryId: number
  lac?: number
  entry?: Buffer
}

export interface FenceWireResponse extends ResponseBase {
  op: typeof BookieOp.FENCE
  ledgerId: number
  lac?: number
}

export type BookieResponse =
  | AddEntryWireResponse
  | ReadEntryWireResponse
  | ReadLacWireResponse
  | WriteLacWireResponse
  | BookieInfoWireResponse
  | LongPollReadWireResponse
  | FenceWireResponse

// ---------------------------------------------------------------------------------------------------
// Errors

export type BookieFrameErrorKind = 'malformed' | 'version' | 'opcode'

/**
 * A frame that does not decode. `kind` tells the server how to answer: 'opcode' (reply BAD_REQUEST,
 * keep the connection), 'version' (reply BAD_VERSION, close), 'malformed' (close). opcode and
 * requestId are set when the header could be read.
 */
export class BookieFrameError extends InvalidInputError {
  readonly kind: BookieFrameErrorKind
  readonly opcode: number | undefined
  readonly requestId: number | undefined

  constructor(kind: BookieFrameErrorKind, message: string, header?: {opcode: number; requestId: number}) {
    super(message)
    this.name = 'BookieFrameError'
    this.kind = kind
    this.opcode = header?.opcode
    this.requestId = header?.requestId
  }
}

// ---------------------------------------------------------------------------------------------------
// Primitive readers and writers

const TWO_POW_32 = 0x1_0000_0000
/** The high word of a safe integer lies in [-2^21, 2^21). */
const SAFE_HIGH_MAX = 0x1f_ffff

/** A cursor over one body; every read checks bounds and throws BookieFrameError. */
class Reader {
  offset: number
  private readonly buf: Buffer
  private readonly what: string

  constructor(buf: Buffer, offset: number, what: string) {
    this.buf = buf
    this.offset = offset
    this.what = what
  }

  private need(n: number, field: string): void {
    if (this.buf.length - this.offset < n) {
      throw new BookieFrameError('malformed', `${this.what}: body ends inside ${field}`)
    }
  }

  u8(field: string): number {
    this.need(1, field)
    return this.buf[this.offset++] as number
  }

  u16(field: string): number {
    this.need(2, field)
    const v = this.buf.readUInt16BE(this.offset)
    this.offset += 2
    return v
  }

  u32(field: string): number {
    this.need(4, field)
    const v = this.buf.readUInt32BE(this.offset)
    this.offset += 4
    return v
  }

  /** int64 as a number in [min, 2^53). */
  int64(field: string, min: number): number {
    this.need(8, field)
    const v = readSafeInt64(this.buf, this.offset)
    if (v === undefined || v < min) {
      throw new BookieFrameError('malformed', `${this.what}: ${field} ${this.buf.readBigInt64BE(this.offset)} is out of range`)
    }
    this.offset += 8
    return v
  }

  uint64(field: string): number {
    return this.int64(field, 0)
  }

  key(field: string): Buffer {
    const n = this.u16(`${field} length`)
    if (n > MASTER_KEY_BYTES_MAX) {
      throw new BookieFrameError('malformed', `${this.what}: ${field} of ${n} bytes exceeds ${MASTER_KEY_BYTES_MAX}`)
    }
    this.need(n, field)
    const v = this.buf.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.offset)
    this.offset = this.buf.length
    return v
  }

  end(): void {
    if (this.offset !== this.buf.length) {
      throw new BookieFrameError('malformed', `${this.what}: ${this.buf.length - this.offset} unexpected trailing bytes`)
    }
  }
}

/** Reads an int64 BE; undefined when it is not a safe integer. Avoids BigInt on the hot path. */
export function readSafeInt64(buf: Buffer, offset: number): number | undefined {
  const high = buf.readInt32BE(offset)
  if (high > SAFE_HIGH_MAX || high < -SAFE_HIGH_MAX - 1) return undefined
  return high * TWO_POW_32 + buf.readUInt32BE(offset + 4)
}

function writeInt64(buf: Buffer, offset: number, v: number): number {
  const high = Math.floor(v / TWO_POW_32)
  buf.writeInt32BE(high, offset)
  buf.writeUInt32BE(v - high * TWO_POW_32, offset + 4)
  return offset + 8
}

function writeKey(buf: Buffer, offset: number, key: Buffer): number {
  buf.writeUInt16BE(key.length, offset)
  key.copy(buf, offset + 2)
  return offset + 2 + key.length
}

function checkId(v: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(v) || v < min) throw new InvalidInputError(`${what} ${v} is not a valid id`)
}

function checkKey(key: Buffer): void {
  if (key.length > MASTER_KEY_BYTES_MAX) {
    throw new InvalidInputError(`master key of ${key.length} bytes exceeds ${MASTER_KEY_BYTES_MAX}`)
  }
}

/** Writes length prefix + header at `at` (0 unless encoding into a shared buffer); returns the offset after it. */
function writeHeader(buf: Buffer, bodyBytes: number, op: number, flagsOrStatus: number, requestId: number, at = 0): number {
  if (bodyBytes > FRAME_BODY_BYTES_MAX) {
    throw new InvalidInputError(`frame of ${bodyBytes} bytes exceeds the limit of ${FRAME_BODY_BYTES_MAX} bytes`)
  }
  buf.writeUInt32BE(bodyBytes, at)
  buf[at + 4] = BOOKIE_PROTOCOL_VERSION
  buf[at + 5] = op
  buf.writeUInt16BE(flagsOrStatus, at + 6)
  buf.writeUInt32BE(requestId >>> 0, at + 8)
  return at + FRAME_LENGTH_BYTES + HEADER_BYTES
}

// ---------------------------------------------------------------------------------------------------
// Requests

/** Encodes a request as a complete frame (length prefix included). */
export function encodeRequest(req: BookieRequest): Buffer {
  switch (req.op) {
    case BookieOp.ADD_ENTRY: {
      checkKey(req.masterKey)
      if (req.entry.length < ENTRY_HEADER_BYTES) throw new InvalidInputError('entry is shorter than its header')
      const body = HEADER_BYTES + 2 + req.masterKey.length + req.entry.length
      const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + body)
      let o = writeHeader(out, body, req.op, req.recovery ? BookieFlag.RECOVERY : 0, req.requestId)
      o = writeKey(out, o, req.masterKey)
      req.entry.copy(out, o)
      return out
    }
    case BookieOp.READ_ENTRY: {
      checkId(req.ledgerId, 'ledgerId')
      checkId(req.entryId, 'entryId')
      checkKey(req.masterKey)
      if (req.fence && req.masterKey.length === 0) throw new InvalidInputError('a fencing read needs the master key')
      const body = HEADER_BYTES + 16 + 2 + req.masterKey.length
      const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + body)
      let o = writeHeader(out, body, req.op, req.fence ? BookieFlag.FENCE : 0, req.requestId)
      o = writeInt64(out, o, req.ledgerId)
      o = writeInt64(out, o, req.entryId)
      writeKey(out, o, req.masterKey)
      return out
    }
    case BookieOp.READ_LAC: {
      checkId(req.ledgerId, 'ledgerId')
      const body = HEADER_BYTES + 8
      const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + body)
      writeInt64(out, writeHeader(out, body, req.op, 0, req.requestId), req.ledgerId)
      return out
    }
    case BookieOp.WRITE_LAC: {
      checkId(req.ledgerId, 'ledgerId')
      checkId(req.lac, 'lac', -1)
      checkKey(req.masterKey)
      const body = HEADER_BYTES + 16 + 2 + req.masterKey.length
      const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + body)
      let o = writeHeader(out, body, req.op, 0, req.requestId)
      o = writeInt64(out, o, req.ledgerId)
      o = writeInt64(out, o, req.lac)
      writeKey(out, o, req.masterKey)
      return out
    }
    case BookieOp.BOOKIE_INFO: {
      const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + HEADER_BYTES)
      writeHeader(out, HEADER_BYTES, req.op, 0, req.requestId)
      return out
    }
    case BookieOp.LONG_POLL_READ: {
      checkId(req.ledgerId, 'ledgerId')
      checkId(req.entryId, 'entryId')
      if (!Number.isInteger(req.timeoutMs) || req.timeoutMs < 0 || req.timeoutMs > LONG_POLL_TIMEOUT_MS_MAX) {
        throw new InvalidInputError(`long-poll timeout ${req.timeoutMs} ms is outside 0..${LONG_POLL_TIMEOUT_MS_MAX}`)
      }
      const body = HEADER_BYTES + 20
      const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + body)
      let o = writeHeader(out, body, req.op, 0, req.requestId)
      o = writeInt64(out, o, req.ledgerId)
      o = writeInt64(out, o, req.entryId)
      out.writeUInt32BE(req.timeoutMs, o)
      return out
    }
    case BookieOp.FENCE: {
      checkId(req.ledgerId, 'ledgerId')
      checkKey(req.masterKey)
      const body = HEADER_BYTES + 8 + 2 + req.masterKey.length
      const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + body)
      const o = writeInt64(out, writeHeader(out, body, req.op, 0, req.requestId), req.ledgerId)
      writeKey(out, o, req.masterKey)
      return out
    }
  }
}

/**
 * A well-formed ADD_ENTRY request (nearly every request a bookie gets) decoded with direct reads and no
 * intermediate objects; undefined for anything else or anything off, which the general decoder then
 * handles (and explains). The result is what the general decoder returns for the same bytes.
 */
function decodeAddRequestFast(body: Buffer): AddEntryWireRequest | undefined {
  if (body.length < HEADER_BYTES + 2 || body[0] !== BOOKIE_PROTOCOL_VERSION || body[1] !== BookieOp.ADD_ENTRY) return undefined
  const keyBytes = body.readUInt16BE(HEADER_BYTES)
  const entryAt = HEADER_BYTES + 2 + keyBytes
  if (keyBytes > MASTER_KEY_BYTES_MAX || body.length - entryAt < ENTRY_HEADER_BYTES) return undefined
  const ledgerId = readSafeInt64(body, entryAt)
  const entryId = readSafeInt64(body, entryAt + 8)
  if (ledgerId === undefined || ledgerId < 0 || entryId === undefined || entryId < 0) return undefined
  return {
    op: BookieOp.ADD_ENTRY,
    requestId: body.readUInt32BE(4),
    recovery: (body.readUInt16BE(2) & BookieFlag.RECOVERY) !== 0,
    masterKey: body.subarray(HEADER_BYTES + 2, entryAt),
    entry: body.subarray(entryAt),
    ledgerId,
    entryId,
  }
}

function readHeader(body: Buffer, what: string): {version: number; opcode: number; flags: number; requestId: number} {
  if (body.length < HEADER_BYTES) {
    throw new BookieFrameError('malformed', `${what} of ${body.length} bytes is shorter than the ${HEADER_BYTES}-byte header`)
  }
  return {version: body[0] as number, opcode: body[1] as number, flags: body.readUInt16BE(2), requestId: body.readUInt32BE(4)}
}

/** Decodes a request body (without its length prefix). Throws only BookieFrameError. */
export function decodeRequest(body: Buffer): BookieRequest {
  const add = decodeAddRequestFast(body)
  if (add !== undefined) return add
  const h = readHeader(body, 'request')
  const ids = {opcode: h.opcode, requestId: h.requestId}
  if (h.version !== BOOKIE_PROTOCOL_VERSION) {
    throw new BookieFrameError('version', `request version ${h.version} is not supported (this bookie speaks ${BOOKIE_PROTOCOL_VERSION})`, ids)
  }
  const what = `${bookieOpName(h.opcode)} request`
  const r = new Reader(body, HEADER_BYTES, what)
  const requestId = h.requestId
  switch (h.opcode) {
    case BookieOp.ADD_ENTRY: {
      const masterKey = r.key('master key')
      const entry = r.rest()
      if (entry.length < ENTRY_HEADER_BYTES) {
        throw new BookieFrameError('malformed', `${what}: entry of ${entry.length} bytes is shorter than its header`, ids)
      }
      const e = new Reader(entry, 0, `${what} entry`)
      const ledgerId = e.int64('ledgerId', 0)
      const entryId = e.int64('entryId', 0)
      return {op: BookieOp.ADD_ENTRY, requestId, recovery: (h.flags & BookieFlag.RECOVERY) !== 0, masterKey, entry, ledgerId, entryId}
    }
    case BookieOp.READ_ENTRY: {
      const ledgerId = r.int64('ledgerId', 0)
      const entryId = r.int64('entryId', 0)
      const masterKey = r.key('master key')
      r.end()
      const fence = (h.flags & BookieFlag.FENCE) !== 0
      if (fence && masterKey.length === 0) throw new BookieFrameError('malformed', `${what}: fencing without a master key`, ids)
      return {op: BookieOp.READ_ENTRY, requestId, ledgerId, entryId, fence, masterKey}
    }
    case BookieOp.READ_LAC: {
      const ledgerId = r.int64('ledgerId', 0)
      r.end()
      return {op: BookieOp.READ_LAC, requestId, ledgerId}
    }
    case BookieOp.WRITE_LAC: {
      const ledgerId = r.int64('ledgerId', 0)
      const lac = r.int64('lac', -1)
      const masterKey = r.key('master key')
      r.end()
      return {op: BookieOp.WRITE_LAC, requestId, ledgerId, lac, masterKey}
    }
    case BookieOp.BOOKIE_INFO:
      r.end()
      return {op: BookieOp.BOOKIE_INFO, requestId}
    case BookieOp.LONG_POLL_READ: {
      const ledgerId = r.int64('ledgerId', 0)
      const entryId = r.int64('entryId', 0)
      const timeoutMs = r.u32('timeoutMs')
      r.end()
      if (timeoutMs > LONG_POLL_TIMEOUT_MS_MAX) {
        throw new BookieFrameError('malformed', `${what}: timeout ${timeoutMs} ms exceeds ${LONG_POLL_TIMEOUT_MS_MAX}`, ids)
      }
      return {op: BookieOp.LONG_POLL_READ, requestId, ledgerId, entryId, timeoutMs}
    }
    case BookieOp.FENCE: {
      const ledgerId = r.int64('ledgerId', 0)
      const masterKey = r.key('master key')
      r.end()
      return {op: BookieOp.FENCE, requestId, ledgerId, masterKey}
    }
    default:
      throw new BookieFrameError('opcode', `unknown opcode ${h.opcode}`, ids)
  }
}

// ---------------------------------------------------------------------------------------------------
// Responses

/** Bytes encodeResponseInto writes for `resp`, length prefix included (entry bytes excluded when split). */
export function responseBytes(resp: BookieResponse, opts: {withoutEntry?: boolean} = {}): number {
  const ok = resp.status === BookieStatus.OK
  let n = FRAME_LENGTH_BYTES + HEADER_BYTES
  switch (resp.op) {
    case BookieOp.ADD_ENTRY:
      return n + 16
    case BookieOp.READ_ENTRY:
      n += 16
      return ok && !opts.withoutEntry ? n + requireField(resp.entry, 'entry').length : n
    case BookieOp.READ_LAC:
    case BookieOp.FENCE:
      return n + (ok ? 16 : 8)
    case BookieOp.WRITE_LAC:
      return n + 8
    case BookieOp.BOOKIE_INFO:
      return n + (ok ? 17 : 0)
    case BookieOp.LONG_POLL_READ:
      if (!ok) return n + 16
      n += 25
      return resp.entry && !opts.withoutEntry ? n + resp.entry.length : n
  }
}

function requireField<T>(v: T | undefined, field: string): T {
  if (v === undefined) throw new InvalidInputError(`an OK response needs its ${field}`)
  return v
}

/**
 * Writes `resp` as a frame into `out` at `offset`; returns the new offset. With `withoutEntry`, the
 * length prefix still counts the entry but its bytes are left for the caller to send right after
 * (so a large entry is written from its own buffer instead of being copied).
 */
export function encodeResponseInto(out: Buffer, offset: number, resp: BookieResponse, opts: {withoutEntry?: boolean} = {}): number {
  const total = responseBytes(resp)
  const ok = resp.status === BookieStatus.OK
  // Absolute offsets into `out`: no per-response view allocation on the ack path.
  let o = writeHeader(out, total - FRAME_LENGTH_BYTES, resp.op, resp.status, resp.requestId, offset)
  let entry: Buffer | undefined
  switch (resp.op) {
    case BookieOp.ADD_ENTRY:
      o = writeInt64(out, o, resp.ledgerId)
      o = writeInt64(out, o, resp.entryId)
      break
    case BookieOp.READ_ENTRY:
      o = writeInt64(out, o, resp.ledgerId)
      o = writeInt64(out, o, resp.entryId)
      if (ok) entry = resp.entry
      break
    case BookieOp.READ_LAC:
    case BookieOp.FENCE:
      o = writeInt64(out, o, resp.ledgerId)
      if (ok) o = writeInt64(out, o, requireField(resp.lac, 'lac'))
      break
    case BookieOp.WRITE_LAC:
      o = writeInt64(out, o, resp.ledgerId)
      break
    case BookieOp.BOOKIE_INFO:
      if (ok) {
        const info = requireField(resp.info, 'info')
        o = writeInt64(out, o, info.freeDiskBytes)
        o = writeInt64(out, o, info.totalDiskBytes)
        out[o++] = info.readOnly ? INFO_STATE_READ_ONLY : 0
      }
      break
    case BookieOp.LONG_POLL_READ:
      o = writeInt64(out, o, resp.ledgerId)
      o = writeInt64(out, o, resp.entryId)
      if (ok) {
        o = writeInt64(out, o, requireField(resp.lac, 'lac'))
        out[o++] = resp.entry ? 1 : 0
        entry = resp.entry
      }
      break
  }
  if (entry && !opts.withoutEntry) o += entry.copy(out, o)
  return o
}

/** Bytes of an ADD_ENTRY response frame (length prefix included), whatever its status. */
export const ADD_RESPONSE_BYTES = FRAME_LENGTH_BYTES + HEADER_BYTES + 16

/**
 * encodeResponseInto for an ADD_ENTRY response, from its fields (the bookie's ack path: no response
 * object per add). Same bytes. `out` must have ADD_RESPONSE_BYTES of room at `offset`.
 */
export function encodeAddResponseInto(out: Buffer, offset: number, requestId: number, status: BookieStatus, ledgerId: number, entryId: number): number {
  let o = writeHeader(out, ADD_RESPONSE_BYTES - FRAME_LENGTH_BYTES, BookieOp.ADD_ENTRY, status, requestId, offset)
  o = writeInt64(out, o, ledgerId)
  return writeInt64(out, o, entryId)
}

/** Encodes a response as a complete frame. */
export function encodeResponse(resp: BookieResponse): Buffer {
  const out = Buffer.allocUnsafe(responseBytes(resp))
  encodeResponseInto(out, 0, resp)
  return out
}

/** A header-only response: BAD_REQUEST for an unknown opcode, BAD_VERSION for another version. */
export function encodeHeaderOnlyResponse(opcode: number, requestId: number, status: BookieStatus): Buffer {
  const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + HEADER_BYTES)
  writeHeader(out, HEADER_BYTES, opcode & 0xff, status, requestId)
  return out
}

/** Decodes a response body (without its length prefix). Throws only BookieFrameError. */
export function decodeResponse(body: Buffer): BookieResponse {
  const h = readHeader(body, 'response')
  const ids = {opcode: h.opcode, requestId: h.requestId}
  if (h.version !== BOOKIE_PROTOCOL_VERSION) {
    throw new BookieFrameError('version', `response version ${h.version} is not supported (this client speaks ${BOOKIE_PROTOCOL_VERSION})`, ids)
  }
  const status = h.flags as BookieStatus
  const ok = status === BookieStatus.OK
  const requestId = h.requestId
  const what = `${bookieOpName(h.opcode)} response`
  const r = new Reader(body, HEADER_BYTES, what)
  switch (h.opcode) {
    case BookieOp.ADD_ENTRY: {
      const ledgerId = r.int64('ledgerId', 0)
      const entryId = r.int64('entryId', 0)
      r.end()
      return {op: BookieOp.ADD_ENTRY, requestId, status, ledgerId, entryId}
    }
    case BookieOp.READ_ENTRY: {
      const ledgerId = r.int64('ledgerId', 0)
      const entryId = r.int64('entryId', 0)
      if (!ok) {
        r.end()
        return {op: BookieOp.READ_ENTRY, requestId, status, ledgerId, entryId}
      }
      return {op: BookieOp.READ_ENTRY, requestId, status, ledgerId, entryId, entry: r.rest()}
    }
    case BookieOp.READ_LAC:
    case BookieOp.FENCE: {
      const ledgerId = r.int64('ledgerId', 0)
      const lac = ok ? r.int64('lac', -1) : undefined
      r.end()
      return lac === undefined ? {op: h.opcode, requestId, status, ledgerId} : {op: h.opcode, requestId, status, ledgerId, lac}
    }
    case BookieOp.WRITE_LAC: {
      const ledgerId = r.int64('ledgerId', 0)
      r.end()
      return {op: BookieOp.WRITE_LAC, requestId, status, ledgerId}
    }
    case BookieOp.BOOKIE_INFO: {
      if (!ok) {
        r.end()
        return {op: BookieOp.BOOKIE_INFO, requestId, status}
      }
      const freeDiskBytes = r.uint64('freeDiskBytes')
      const totalDiskBytes = r.uint64('totalDiskBytes')
      const state = r.u8('state')
      r.end()
      return {op: BookieOp.BOOKIE_INFO, requestId, status, info: {freeDiskBytes, totalDiskBytes, readOnly: (state & INFO_STATE_READ_ONLY) !== 0}}
    }
    case BookieOp.LONG_POLL_READ: {
      const ledgerId = r.int64('ledgerId', 0)
      const entryId = r.int64('entryId', 0)
      if (!ok) {
        r.end()
        return {op: BookieOp.LONG_POLL_READ, requestId, status, ledgerId, entryId}
      }
      const lac = r.int64('lac', -1)
      const hasEntry = r.u8('hasEntry')
      if (hasEntry > 1) throw new BookieFrameError('malformed', `${what}: hasEntry is ${hasEntry}`, ids)
      if (hasEntry === 0) {
        r.end()
        return {op: BookieOp.LONG_POLL_READ, requestId, status, ledgerId, entryId, lac}
      }
      return {op: BookieOp.LONG_POLL_READ, requestId, status, ledgerId, entryId, lac, entry: r.rest()}
    }
    default:
      // A header-only answer (BAD_REQUEST/BAD_VERSION) to an op this client does not know is still an answer.
      throw new BookieFrameError('opcode', `unknown opcode ${h.opcode} in response (status ${status})`, ids)
  }
}

/** Reads just the header of a body: enough to route a frame that failed to decode. */
export function peekHeader(body: Buffer): {version: number; opcode: number; flagsOrStatus: number; requestId: number} | undefined {
  if (body.length < HEADER_BYTES) return undefined
  return {version: body[0] as number, opcode: body[1] as number, flagsOrStatus: body.readUInt16BE(2), requestId: body.readUInt32BE(4)}
}
