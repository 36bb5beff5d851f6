/**
 * DLSN: a record's position in a log, (log segment sequence number, entry id, slot id), assigned when
 * the entry holding the record is acknowledged. Ordered lexicographically, so the order of DLSNs is the
 * order of the log.
 *
 * Binary form (version 1, what DistributedLog's proxy and tools exchange), 25 bytes:
 *
 *   byte   version = 1
 *   int64  logSegmentSequenceNo   big-endian
 *   int64  entryId                big-endian
 *   int64  slotId                 big-endian
 *
 * The string form is that binary in padded base64: (1,0,0) is `AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==`.
 * Components are JavaScript numbers (safe integers; -1 is used by the sentinels below).
 */
import {InvalidInputError} from '../common/errors.js'

const VERSION = 1
export const DLSN_BYTES = 25

export class DLSN {
  readonly logSegmentSequenceNo: number
  readonly entryId: number
  readonly slotId: number

  constructor(logSegmentSequenceNo: number, entryId: number, slotId: number) {
    this.logSegmentSequenceNo = logSegmentSequenceNo
    this.entryId = entryId
    this.slotId = slotId
  }

  /** The first position of a log whose first log segment has sequence number 1. */
  static readonly InitialDLSN = new DLSN(1, 0, 0)
  /** Just before InitialDLSN: reading from here starts at the first record. */
  static readonly NonInclusiveLowerBound = new DLSN(1, 0, -1)
  static readonly InvalidDLSN = new DLSN(0, -1, -1)

  compareTo(other: DLSN): number {
    if (this.logSegmentSequenceNo !== other.logSegmentSequenceNo) return this.logSegmentSequenceNo < other.logSegmentSequenceNo ? -1 : 1
    if (this.entryId !== other.entryId) return this.entryId < other.entryId ? -1 : 1
    if (this.slotId !== other.slotId) return this.slotId < other.slotId ? -1 : 1
    return 0
  }

  equals(other: DLSN): boolean {
    return this.compareTo(other) === 0
  }

  /** The next slot in the same entry. */
  getNextDLSN(): DLSN {
    return new DLSN(this.logSegmentSequenceNo, this.entryId, this.slotId + 1)
  }

  /** The first position of the next log segment. */
  positionOnTheNextLedger(): DLSN {
    return new DLSN(this.logSegmentSequenceNo + 1, 0, 0)
  }

  toString(): string {
    return `DLSN{logSegmentSequenceNo=${this.logSegmentSequenceNo}, entryId=${this.entryId}, slotId=${this.slotId}}`
  }

  toBytes(): Buffer {
    const out = Buffer.alloc(DLSN_BYTES)
    out.writeUInt8(VERSION, 0)
    out.writeBigInt64BE(BigInt(this.logSegmentSequenceNo), 1)
    out.writeBigInt64BE(BigInt(this.entryId), 9)
    out.writeBigInt64BE(BigInt(this.slotId), 17)
    return out
  }

  /** Padded base64 of toBytes(): DistributedLog's `DLSN.serialize()`. */
  serialize(): string {
    return this.toBytes().toString('base64')
  }

  static fromBytes(buf: Buffer): DLSN {
    if (buf.length !== DLSN_BYTES) throw new InvalidInputError(`a DLSN is ${DLSN_BYTES} bytes, got ${buf.length}`)
    const version = buf.readUInt8(0)
    if (version !== VERSION) throw new InvalidInputError(`unsupported DLSN version ${version} (expected ${VERSION})`)
    const part = (offset: number, what: string): number => {
      const v = buf.readBigInt64BE(offset)
      if (v < BigInt(Number.MIN_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new InvalidInputError(`DLSN ${what} ${v} is out of range`)
      }
      return Number(v)
    }
    return new DLSN(part(1, 'logSegmentSequenceNo'), part(9, 'entryId'), part(17, 'slotId'))
  }

  /** Parses the base64 form; throws InvalidInputError with what was wrong. */
  static deserialize(text: string): DLSN {
    const trimmed = text.trim()
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new InvalidInputError(`'${text}' is not a base64 DLSN`)
    return DLSN.fromBytes(Buffer.from(trimmed, 'base64'))
  }
}
