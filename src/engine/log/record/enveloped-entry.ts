/**
 * The enveloped entry: one ledger entry holding a batch of LogRecords (distributedlog.md §4.4). Pure codec.
 *
 * Wire format, big-endian, 13-byte header:
 *
 *   byte   version          1
 *   int32  flags            bits 0-1 codec: 0 none, 1 lz4; other bits 0
 *   int32  decompressedLen  bytes of the records before compression
 *   int32  compressedLen    bytes that follow (== decompressedLen for codec none)
 *   bytes  records          (compressed) concatenation of LogRecords (log-record.ts)
 *
 * Slots: the records of an entry get slot ids 0..n-1 in order; a RECORD_SET record occupies as many
 * slots as it holds records. A record's DLSN is (segment sequence number, entry id, slot).
 * Header plus records stay within MAX_LOGRECORDSET_SIZE (the writer transmits before that).
 */
import {InvalidInputError} from '../../common/errors.js'
import type {CompressionType} from '../config.js'
import {DLSN} from '../dlsn.js'
import type {LogRecordWithDLSN} from '../types.js'
import {CODEC_MASK, codecOf, codecOfId} from './compression.js'
import {LogRecordFlag, MAX_LOGRECORDSET_SIZE, type WireLogRecord, persistentSize, readLogRecord, writeLogRecordFields} from './log-record.js'
import {decodeRecordSet, recordSetCount} from './record-set.js'

export const ENVELOPE_VERSION = 1
export const ENVELOPE_HEADER_BYTES = 13

/** Builds one entry; the segment writer owns one per buffered entry. */
export class EnvelopedEntryBuilder {
  private buf: Buffer
  private at = ENVELOPE_HEADER_BYTES
  private readonly compression: CompressionType
  /** Slots used so far (records, with a set counting as its record count). */
  slotCount = 0
  /** Records written, a set counting once. */
  recordCount = 0
  hasUserRecords = false
  maxTxId = -Infinity

  constructor(compression: CompressionType, initialBytes = 1024) {
    this.compression = compression
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(ENVELOPE_HEADER_BYTES + initialBytes, 64), MAX_LOGRECORDSET_SIZE))
  }

  /** Bytes of the entry so far, header included (uncompressed). */
  get sizeBytes(): number {
    return this.at
  }

  /** Whether a record with this payload still fits within MAX_LOGRECORDSET_SIZE. */
  fits(payloadBytes: number): boolean {
    return this.at + persistentSize(payloadBytes) <= MAX_LOGRECORDSET_SIZE
  }

  /** Appends `r`, which occupies `slots` slots; returns its first slot. */
  add(r: WireLogRecord, slots = 1): number {
    return this.addRecord(r.flags, r.positionWithinLogSegment, r.txid, r.payload, slots)
  }

  /** add() without a record object (the writer's per-record path). */
  addRecord(flags: number, position: number, txid: number, payload: Buffer, slots = 1): number {
    const need = this.at + persistentSize(payload.length)
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(this.buf.length * 2, MAX_LOGRECORDSET_SIZE)))
      this.buf.copy(grown, 0, 0, this.at)
      this.buf = grown
    }
    this.at = writeLogRecordFields(this.buf, this.at, flags, position, txid, payload)
    const slot = this.slotCount
    this.slotCount += slots
    this.recordCount++
    if ((flags & LogRecordFlag.CONTROL) === 0) this.hasUserRecords = true
    if (txid > this.maxTxId) this.maxTxId = txid
    return slot
  }

  /** The entry's bytes. The builder must not be used afterwards. */
  build(): Buffer {
    const codec = codecOf(this.compression)
    const dataLen = this.at - ENVELOPE_HEADER_BYTES
    let out: Buffer
    let bodyLen: number
    if (codec.id === 0) {
      out = this.buf.subarray(0, this.at)
      bodyLen = dataLen
    } else {
      const body = codec.compress(this.buf.subarray(ENVELOPE_HEADER_BYTES, this.at))
      out = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + body.length)
      body.copy(out, ENVELOPE_HEADER_BYTES)
      bodyLen = body.length
    }
    out.writeUInt8(ENVELOPE_VERSION, 0)
    out.writeInt32BE(codec.id, 1)
    out.writeInt32BE(dataLen, 5)
    out.writeInt32BE(bodyLen, 9)
    return out
  }
}

/** Unwraps the envelope: the concatenated records. InvalidInputError on any inconsistency. */
export function openEnvelope(entry: Buffer): Buffer {
  if (entry.length < ENVELOPE_HEADER_BYTES) {
    throw new InvalidInputError(`entry of ${entry.length} bytes is shorter than its ${ENVELOPE_HEADER_BYTES}-byte envelope header`)
  }
  const version = entry.readUInt8(0)
  if (version !== ENVELOPE_VERSION) {
    throw new InvalidInputError(`Version mismatch while reading. Received: ${version}, Required: ${ENVELOPE_VERSION}`)
  }
  const flags = entry.readInt32BE(1)
  const decompressedLen = entry.readInt32BE(5)
  const compressedLen = entry.readInt32BE(9)
  if (compressedLen < 0 || ENVELOPE_HEADER_BYTES + compressedLen !== entry.length) {
    throw new InvalidInputError(`entry envelope declares ${compressedLen} data bytes, carries ${entry.length - ENVELOPE_HEADER_BYTES}`)
  }
  // Never allocate for a forged length: no writer produces an entry past this.
  if (decompressedLen < 0 || decompressedLen > MAX_LOGRECORDSET_SIZE) {
    throw new InvalidInputError(`entry envelope declares ${decompressedLen} decompressed bytes (limit ${MAX_LOGRECORDSET_SIZE})`)
  }
  return codecOfId(flags & CODEC_MASK).decompress(entry.subarray(ENVELOPE_HEADER_BYTES), decompressedLen)
}

export interface EntryPosition {
  logSegmentSequenceNo: number
  entryId: number
  /** The segment's startSequenceId, or -1 when unknown (then sequence ids are -1). */
  startSequenceId: number
}

/**
 * Every record of an entry, in order, control records included (isControl), record sets expanded into
 * one record per slot. Payloads are views into the entry (or its decompressed copy).
 */
export function decodeEntry(entry: Buffer, pos: EntryPosition): LogRecordWithDLSN[] {
  const data = openEnvelope(entry)
  const out: LogRecordWithDLSN[] = []
  let at = 0
  let slot = 0
  while (at < data.length) {
    const {record, next} = readLogRecord(data, at)
    at = next
    const isControl = (record.flags & LogRecordFlag.CONTROL) !== 0
    const isEndOfStream = (record.flags & LogRecordFlag.END_OF_STREAM) !== 0
    if ((record.flags & LogRecordFlag.RECORD_SET) !== 0) {
      const payloads = decodeRecordSet(record.payload)
      for (let i = 0; i < payloads.length; i++) {
        out.push(makeRecord(pos, slot + i, record.positionWithinLogSegment + i, record.txid, payloads[i] as Buffer, isControl, isEndOfStream))
      }
      slot += payloads.length
    } else {
      out.push(makeRecord(pos, slot, record.positionWithinLogSegment, record.txid, record.payload, isControl, isEndOfStream))
      slot++
    }
  }
  return out
}

function makeRecord(
  pos: EntryPosition,
  slot: number,
  positionWithinLogSegment: number,
  txid: number,
  payload: Buffer,
  isControl: boolean,
  isEndOfStream: boolean,
): LogRecordWithDLSN {
  return {
    txid,
    payload,
    dlsn: new DLSN(pos.logSegmentSequenceNo, pos.entryId, slot),
    sequenceId: pos.startSequenceId >= 0 && !isControl ? pos.startSequenceId + positionWithinLogSegment - 1 : -1,
    positionWithinLogSegment,
    isControl,
    isEndOfStream,
  }
}

/** Slots a record occupies (a set: its count). */
export function slotsOf(r: WireLogRecord): number {
  return (r.flags & LogRecordFlag.RECORD_SET) !== 0 ? recordSetCount(r.payload) : 1
}

/** `LogRecordWithDLSN{dlsn=DLSN{...}, txid=1, position=1, isControl=false, isEndOfStream=false}` (the original's toString). */
export function logRecordToString(r: LogRecordWithDLSN): string {
  return `LogRecordWithDLSN{dlsn=${r.dlsn.toString()}, txid=${r.txid}, position=${r.positionWithinLogSegment}, isControl=${r.isControl}, isEndOfStream=${r.isEndOfStream}}`
}
