/**
 * The bookie journal: every state change is a record in a write-ahead log (common/wal), and an add is
 * acknowledged only after its record is fsynced. Several journal dirs may be configured; all records of
 * one ledger go to journal `ledgerId % journalCount`, so a ledger's records keep their order (a fence
 * record lands after every add admitted before it). Ledger storage checkpoints a position per journal;
 * on restart each journal is replayed from there, and files wholly before it are reclaimed.
 *
 * Journal record (one WAL record payload; integers big-endian):
 *
 *   ENTRY   the encoded entry itself (protocol/bookie/entry.ts), unchanged. Its first byte is the top
 *           byte of ledgerId, always 0x00 because ledger ids are non-negative safe integers (< 2^53);
 *           that byte doubles as the record type, so the hot add path journals the caller's buffer
 *           without copying it.
 *   KEY     0x01  ledgerId int64  keyLength uint16  masterKey bytes   the ledger's master key, fixed by
 *                                                                     its first add or fence
 *   FENCE   0x02  ledgerId int64                                      the ledger is fenced
 *   LAC     0x03  ledgerId int64  lac int64                           an explicit last-add-confirmed
 *   DELETE  0x04  ledgerId int64                                      the ledger was deleted (by GC)
 *
 * Replaying any record twice leaves the same state (keys are fixed once, fences and LACs only grow,
 * entries overwrite themselves), so the checkpoint position need not be exact.
 */
import {assert} from '../../common/assert.js'
import {InvalidInputError} from '../../common/errors.js'
import {crc32cMultiply, crc32cRegister, crc32cShift, crc32cShiftOperator} from '../../common/wal/crc32c-math.js'
import {lengthCrc, recordCrc} from '../../common/wal/format.js'
import type {WalOptions, WalPosition, WriteAheadLog} from '../../common/wal/types.js'
import {ENTRY_HEADER_BYTES, ENTRY_PAYLOAD_BYTES_MAX} from '../../protocol/bookie/entry.js'
import {currentDir} from './dirs.js'

export const JournalRecordType = {ENTRY: 0x00, KEY: 0x01, FENCE: 0x02, LAC: 0x03, DELETE: 0x04} as const
export type JournalRecordType = (typeof JournalRecordType)[keyof typeof JournalRecordType]

/** BK master keys are 20-byte digests; anything beyond this bound is refused as bad input. */
export const MASTER_KEY_BYTES_MAX = 1024
/** Largest journal record: an entry with the largest payload. */
export const JOURNAL_RECORD_BYTES_MAX = ENTRY_HEADER_BYTES + ENTRY_PAYLOAD_BYTES_MAX

export type JournalRecord =
  | {type: typeof JournalRecordType.ENTRY; entry: Buffer}
  | {type: typeof JournalRecordType.KEY; ledgerId: number; masterKey: Buffer}
  | {type: typeof JournalRecordType.FENCE; ledgerId: number}
  | {type: typeof JournalRecordType.LAC; ledgerId: number; lac: number}
  | {type: typeof JournalRecordType.DELETE; ledgerId: number}

function header(type: JournalRecordType, ledgerId: number, extra: number): Buffer {
  assert(Number.isSafeInteger(ledgerId) && ledgerId >= 0, `bad ledger id ${ledgerId}`)
  const b = Buffer.allocUnsafe(9 + extra)
  b[0] = type
  b.writeBigInt64BE(BigInt(ledgerId), 1)
  return b
}

export function encodeKeyRecord(ledgerId: number, masterKey: Buffer): Buffer {
  if (masterKey.length > MASTER_KEY_BYTES_MAX) throw new InvalidInputError(`master key of ${masterKey.length} bytes exceeds ${MASTER_KEY_BYTES_MAX}`)
  const b = header(JournalRecordType.KEY, ledgerId, 2 + masterKey.length)
  b.writeUInt16BE(masterKey.length, 9)
  masterKey.copy(b, 11)
  return b
}

export function encodeFenceRecord(ledgerId: number): Buffer {
  return header(JournalRecordType.FENCE, ledgerId, 0)
}

export function encodeLacRecord(ledgerId: number, lac: number): Buffer {
  const b = header(JournalRecordType.LAC, ledgerId, 8)
  b.writeBigInt64BE(BigInt(lac), 9)
  return b
}

export function encodeDeleteRecord(ledgerId: number): Buffer {
  return header(JournalRecordType.DELETE, ledgerId, 0)
}

function readSafe(b: Buffer, offset: number, min: number): number {
  const v = b.readBigInt64BE(offset)
  if (v < BigInt(min) || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidInputError(`journal record id ${v} out of range`)
  return Number(v)
}

/** Decodes one journal record; a malformed one is an InvalidInputError (the WAL's CRC makes that rare). */
export function decodeJournalRecord(b: Buffer): JournalRecord {
  if (b.length === 0) throw new InvalidInputError('empty journal record')
  const type = b[0]
  if (type === JournalRecordType.ENTRY) {
    if (b.length < ENTRY_HEADER_BYTES) throw new InvalidInputError(`journal entry record of ${b.length} bytes is too short`)
    return {type, entry: b}
  }
  if (b.length < 9) throw new InvalidInputError(`journal record of type ${type} is ${b.length} bytes, too short`)
  const ledgerId = readSafe(b, 1, 0)
  switch (type) {
    case JournalRecordType.KEY: {
      if (b.length < 11) throw new InvalidInputError('journal key record is too short')
      const n = b.readUInt16BE(9)
      if (b.length !== 11 + n) throw new InvalidInputError(`journal key record length ${b.length} does not match key length ${n}`)
      return {type, ledgerId, masterKey: b.subarray(11)}
    }
    case JournalRecordType.FENCE:
      return {type, ledgerId}
    case JournalRecordType.LAC:
      if (b.length !== 17) throw new InvalidInputError('journal LAC record has the wrong length')
      return {type, ledgerId, lac: readSafe(b, 9, -1)}
    case JournalRecordType.DELETE:
      return {type, ledgerId}
    default:
      throw new InvalidInputError(`unknown journal record type ${type}`)
  }
}

/** Per entry length: the two constants entryRecordCrc needs (see there). Bounded; writers repeat lengths. */
const lengthTerms = new Map<number, {k: number; shiftOp: number}>()
const LENGTH_TERMS_MAX = 4096

/**
 * Checks an entry's own CRC32C and returns the CRC of its journal ENTRY record, with one native pass
 * over the entry instead of two; -1 when the entry's CRC does not match (the caller refuses it).
 *
 * The native pass computes the record CRC w = crc(L H C P) (L the record's 4 length bytes, H the
 * entry's 32 header bytes, C its 4 stored CRC bytes, P the payload). The entry's CRC is crc(H P).
 * With registers r (crc = ~r) and processing of P being r -> A_P r + g(P) (crc32c-math.ts):
 *   r(H P) = r(L H C P) + A_P (r(L H C) + r(H)),  and  r(L H C) = r(H C) + A_36 (r(L) + ~0)
 * where r(L) + ~0 is just crc(L) = lengthCrc. So H and C are run through the table in JavaScript
 * (36 bytes), and one multiplication by x^(8|P|) replaces a second pass over the payload.
 */
export function entryRecordCrc(entry: Buffer): number {
  const length = entry.length
  const w = recordCrc(entry)
  const rH = crc32cRegister(0xffffffff, entry, 0, 32)
  const rHC = crc32cRegister(rH, entry, 32, ENTRY_HEADER_BYTES)
  let terms = lengthTerms.get(length)
  if (terms === undefined) {
    if (lengthTerms.size >= LENGTH_TERMS_MAX) lengthTerms.clear()
    terms = {k: crc32cShift(lengthCrc(length), ENTRY_HEADER_BYTES), shiftOp: crc32cShiftOperator(length - ENTRY_HEADER_BYTES)}
    lengthTerms.set(length, terms)
  }
  const rEntry = (~w ^ crc32cMultiply(terms.shiftOp, (rHC ^ rH ^ terms.k) >>> 0)) >>> 0
  return (~rEntry >>> 0) === entry.readUInt32BE(32) ? w : -1
}

export interface JournalOptions {
  dirs: string[]
  fileSizeBytesMax: number
  preallocateBytes: number
  groupCommitBytesMax: number
  groupCommitRecordsMax: number
  groupCommitWaitMs: number
  inlineSyncRecordsMax: number
  openWal: (opts: WalOptions) => Promise<WriteAheadLog>
}

/** The journal WALs, one per journal dir (in `<dir>/current`). */
export class Journal {
  readonly wals: WriteAheadLog[]

  private constructor(wals: WriteAheadLog[]) {
    this.wals = wals
  }

  static async open(opts: JournalOptions): Promise<Journal> {
    const wals: WriteAheadLog[] = []
    try {
      for (const dir of opts.dirs) {
        wals.push(
          await opts.openWal({
            dir: currentDir(dir),
            fileSizeBytesMax: opts.fileSizeBytesMax,
            preallocateBytes: Math.min(opts.preallocateBytes, opts.fileSizeBytesMax),
            groupCommitBytesMax: opts.groupCommitBytesMax,
            groupCommitRecordsMax: opts.groupCommitRecordsMax,
            groupCommitWaitMs: opts.groupCommitWaitMs,
            inlineSyncRecordsMax: opts.inlineSyncRecordsMax,
            recordBytesMax: JOURNAL_RECORD_BYTES_MAX,
          }),
        )
      }
    } catch (e) {
      await Promise.allSettled(wals.map((w) => w.close()))
      throw e
    }
    return new Journal(wals)
  }

  get count(): number {
    return this.wals.length
  }

  indexOf(ledgerId: number): number {
    return ledgerId % this.wals.length
  }

  /** Appends one record of `ledgerId`'s journal; resolves once fsynced, with the journal index and position. */
  append(journalIndex: number, payload: Buffer): Promise<WalPosition> {
    const wal = this.wals[journalIndex]
    assert(wal, `no journal ${journalIndex}`)
    return wal.append(payload)
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.wals.map((w) => w.close()))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  }
}

