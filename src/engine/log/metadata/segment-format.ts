/**
 * The log segment metadata codec: the data of a `ledgers/inprogress_*` or `ledgers/logrecs_*` znode,
 * byte-compatible with DistributedLog's LogSegmentMetadata (distributedlog.md §3.4). Pure.
 *
 * Format: decimal integers joined by `;` (UTF-8, no spaces). The first, versionStatusCount (int64), packs
 *
 *   bits  0-7   layout version (1..5)
 *   bits  8-15  status (bits 8-9: truncation 0 ACTIVE, 1 PARTIALLY_TRUNCATED, 2 TRUNCATED)
 *   bits 28-31  region id (0..15)
 *   bits 32-63  record count (completed segments only)
 *
 * then, by version (inprogress / completed field lists):
 *
 *   V1     vsc;ledgerId;firstTxId                         vsc;ledgerId;firstTxId;lastTxId;completionTime
 *   V2     ...;firstTxId;lssn                             ...;completionTime;lssn;lastEntryId;lastSlotId
 *   V3, V4 ...;lssn;minActiveEntryId;minActiveSlotId      ...;lastSlotId;minActiveEntryId;minActiveSlotId
 *   V5     ...;minActiveSlotId;startSequenceId            ...;minActiveSlotId;startSequenceId
 *
 * (V1 writes only version and count in vsc.) We read V1-V5 and write V5. The field count says whether
 * the segment is in progress. Txid Long.MAX_VALUE (the end-of-stream record's txid) maps to MAX_TXID.
 *
 * Znode names: `inprogress_%018d` and `logrecs_%018d` of the log segment sequence number.
 */
import {InvalidInputError} from '../../common/errors.js'
import {DLSN} from '../dlsn.js'
import {UnsupportedMetadataVersionError} from '../errors.js'
import {INVALID_TXID, type LogSegmentMetadata, MAX_TXID, TruncationStatus} from '../types.js'

export const SegmentVersion = {V1_ORIGINAL: 1, V2_LEDGER_SEQNO: 2, V3_MIN_ACTIVE_DLSN: 3, V4_ENVELOPED_ENTRIES: 4, V5_SEQUENCE_ID: 5} as const
export type SegmentVersion = (typeof SegmentVersion)[keyof typeof SegmentVersion]
export const SEGMENT_VERSION_CURRENT = SegmentVersion.V5_SEQUENCE_ID

const VERSION_NAMES: Record<number, string> = {
  1: 'VERSION_V1_ORIGINAL',
  2: 'VERSION_V2_LEDGER_SEQNO',
  3: 'VERSION_V3_MIN_ACTIVE_DLSN',
  4: 'VERSION_V4_ENVELOPED_ENTRIES',
  5: 'VERSION_V5_SEQUENCE_ID',
}

/** Segment metadata is well under 1 KiB; the bound keeps a corrupt znode from costing a big parse. */
export const SEGMENT_METADATA_BYTES_MAX = 1024

export const INPROGRESS_PREFIX = 'inprogress_'
export const COMPLETED_PREFIX = 'logrecs_'
const JAVA_LONG_MAX = 9223372036854775807n
const UNASSIGNED_SEQUENCE_ID = -1

export function inprogressZnodeName(logSegmentSequenceNo: number): string {
  return `${INPROGRESS_PREFIX}${pad18(logSegmentSequenceNo)}`
}

export function completedZnodeName(logSegmentSequenceNo: number): string {
  return `${COMPLETED_PREFIX}${pad18(logSegmentSequenceNo)}`
}

function pad18(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(`log segment sequence number ${n} must be a non-negative safe integer`)
  return String(n).padStart(18, '0')
}

/** A txid as the original writes it: MAX_TXID (end of stream) is Java's Long.MAX_VALUE. */
export function formatTxId(txid: number): string {
  return txid === MAX_TXID ? JAVA_LONG_MAX.toString() : String(txid)
}

/** Parses a txid written by us or the original; Long.MAX_VALUE reads as MAX_TXID. */
export function parseTxId(text: string, what = 'txid'): number {
  const v = parseLong(text, what)
  if (v === JAVA_LONG_MAX) return MAX_TXID
  return toSafe(v, what)
}

function parseLong(text: string, what: string): bigint {
  if (!/^[+-]?\d{1,19}$/.test(text)) throw new InvalidInputError(`${what} '${text}' is not a decimal integer`)
  const v = BigInt(text)
  if (v > JAVA_LONG_MAX || v < -JAVA_LONG_MAX - 1n) throw new InvalidInputError(`${what} '${text}' does not fit in 64 bits`)
  return v
}

function toSafe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new InvalidInputError(`${what} ${v} is out of range (at most 2^53-1 here)`)
  }
  return Number(v)
}

/**
 * Decodes a segment znode's data. `znodeName` and `znodeVersion` come from the znode, not the data.
 * Throws InvalidInputError for malformed data and UnsupportedMetadataVersionError for versions above 5.
 */
export function decodeSegmentMetadata(data: Buffer, znodeName: string, znodeVersion: number): LogSegmentMetadata {
  if (data.length > SEGMENT_METADATA_BYTES_MAX) {
    throw new InvalidInputError(`log segment metadata of ${znodeName} is ${data.length} bytes (at most ${SEGMENT_METADATA_BYTES_MAX})`)
  }
  const text = data.toString('utf8')
  const invalid = (why: string) => new InvalidInputError(`Invalid log segment metadata : ${text} (${znodeName}: ${why})`)
  const parts = text.split(';')
  let vsc: bigint
  try {
    vsc = BigInt.asUintN(64, parseLong(parts[0] as string, 'versionStatusCount'))
  } catch {
    throw new InvalidInputError(`Invalid ledger entry, ${text}`)
  }
  const version = Number(vsc & 0xffn)
  if (version > SEGMENT_VERSION_CURRENT) {
    throw new UnsupportedMetadataVersionError(`Metadata version '${version}' is higher than the highest supported version : ${text}`)
  }
  if (version < SegmentVersion.V1_ORIGINAL) throw invalid(`version ${version}`)
  const status = Number((vsc >> 8n) & 0xffn)
  const truncation = status & 0x3
  if (truncation > TruncationStatus.TRUNCATED) throw invalid(`truncation status ${truncation}`)
  const regionId = Number((vsc >> 28n) & 0xfn)
  const recordCount = Number(vsc >> 32n)

  const num = (i: number, what: string): number => {
    const p = parts[i]
    if (p === undefined) throw invalid(`missing ${what}`)
    try {
      return toSafe(parseLong(p, what), what)
    } catch (e) {
      throw invalid(e instanceof Error ? e.message : String(e))
    }
  }
  const txid = (i: number, what: string): number => {
    try {
      return parseTxId(parts[i] as string, what)
    } catch (e) {
      throw invalid(e instanceof Error ? e.message : String(e))
    }
  }

  // Field counts per version: [inprogress, completed].
  const counts: Record<number, [number, number]> = {1: [3, 5], 2: [4, 8], 3: [6, 10], 4: [6, 10], 5: [7, 11]}
  const [inCount, doneCount] = counts[version] as [number, number]
  if (parts.length !== inCount && parts.length !== doneCount) throw invalid(`${parts.length} fields for version ${version}`)
  const inprogress = parts.length === inCount

  const ledgerId = num(1, 'ledgerId')
  const firstTxId = txid(2, 'firstTxId')
  let lastTxId = INVALID_TXID
  let completionTimeMs = 0
  let lssn = 0
  let lastEntryId = -1
  let lastSlotId = -1
  let minEntry = 0
  let minSlot = 0
  let startSequenceId = UNASSIGNED_SEQUENCE_ID
  if (inprogress) {
    if (version >= 2) lssn = num(3, 'logSegmentSequenceNo')
    if (version >= 3) {
      minEntry = num(4, 'minActiveEntryId')
      minSlot = num(5, 'minActiveSlotId')
    }
    if (version >= 5) startSequenceId = num(6, 'startSequenceId')
  } else {
    lastTxId = txid(3, 'lastTxId')
    completionTimeMs = num(4, 'completionTime')
    if (version >= 2) {
      lssn = num(5, 'logSegmentSequenceNo')
      lastEntryId = num(6, 'lastEntryId')
      lastSlotId = num(7, 'lastSlotId')
    }
    if (version >= 3) {
      minEntry = num(8, 'minActiveEntryId')
      minSlot = num(9, 'minActiveSlotId')
    }
    if (version >= 5) startSequenceId = num(10, 'startSequenceId')
  }
  if (ledgerId < 0) throw invalid(`ledgerId ${ledgerId}`)
  if (lssn < 0) throw invalid(`logSegmentSequenceNo ${lssn}`)
  return {
    version,
    ledgerId,
    logSegmentSequenceNo: lssn,
    firstTxId,
    lastTxId,
    completionTimeMs,
    recordCount: inprogress ? 0 : recordCount,
    regionId,
    status: truncation as TruncationStatus,
    lastEntryId,
    lastSlotId,
    minActiveDLSN: new DLSN(lssn, minEntry, minSlot),
    startSequenceId,
    inprogress,
    znodeName,
    znodeVersion,
  }
}

/** Encodes a segment as V5 (whatever version it was read as: rewriting upgrades it). */
export function encodeSegmentMetadata(s: LogSegmentMetadata): Buffer {
  for (const [what, v] of [
    ['ledgerId', s.ledgerId],
    ['logSegmentSequenceNo', s.logSegmentSequenceNo],
    ['recordCount', s.recordCount],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidInputError(`segment ${what} ${v} must be a non-negative integer`)
  }
  if (s.recordCount > 0xffffffff) throw new InvalidInputError(`segment recordCount ${s.recordCount} exceeds 32 bits`)
  if (!Number.isInteger(s.regionId) || s.regionId < 0 || s.regionId > 0xf) throw new InvalidInputError(`region id ${s.regionId} must be 0..15`)
  let vsc = BigInt(SEGMENT_VERSION_CURRENT) | (BigInt(s.status & 0xff) << 8n) | (BigInt(s.regionId) << 28n)
  if (!s.inprogress) vsc |= BigInt(s.recordCount) << 32n
  // Java writes the packed field as a signed long.
  vsc = BigInt.asIntN(64, vsc)
  const min = s.minActiveDLSN
  const fields: string[] = s.inprogress
    ? [String(vsc), String(s.ledgerId), formatTxId(s.firstTxId), String(s.logSegmentSequenceNo), String(min.entryId), String(min.slotId), String(s.startSequenceId)]
    : [
        String(vsc),
        String(s.ledgerId),
        formatTxId(s.firstTxId),
        formatTxId(s.lastTxId),
        String(s.completionTimeMs),
        String(s.logSegmentSequenceNo),
        String(s.lastEntryId),
        String(s.lastSlotId),
        String(min.entryId),
        String(min.slotId),
        String(s.startSequenceId),
      ]
  return Buffer.from(fields.join(';'), 'utf8')
}

/** The original's LogSegmentMetadata.toString(), which `dlog tool show --verbose` prints. */
export function segmentToString(s: LogSegmentMetadata): string {
  const versionName = VERSION_NAMES[s.version] ?? String(s.version)
  return (
    `[LogSegmentId:${s.ledgerId}, firstTxId:${formatTxId(s.firstTxId)}, lastTxId:${formatTxId(s.lastTxId)}, version:${versionName}, ` +
    `completionTime:${s.completionTimeMs}, recordCount:${s.recordCount}, regionId:${s.regionId}, status:${s.status}, ` +
    `logSegmentSequenceNumber:${s.logSegmentSequenceNo}, lastEntryId:${s.lastEntryId}, lastSlotId:${s.lastSlotId}, ` +
    `inprogress:${s.inprogress}, minActiveDLSN:${s.minActiveDLSN.toString()}, startSequenceId:${s.startSequenceId}]`
  )
}

/** A new in-progress segment (V5) as startLogSegment writes it. */
export function newInprogressSegment(args: {
  ledgerId: number
  logSegmentSequenceNo: number
  firstTxId: number
  regionId?: number
  startSequenceId?: number
}): LogSegmentMetadata {
  return {
    version: SEGMENT_VERSION_CURRENT,
    ledgerId: args.ledgerId,
    logSegmentSequenceNo: args.logSegmentSequenceNo,
    firstTxId: args.firstTxId,
    lastTxId: INVALID_TXID,
    completionTimeMs: 0,
    recordCount: 0,
    regionId: args.regionId ?? 0,
    status: TruncationStatus.ACTIVE,
    lastEntryId: -1,
    lastSlotId: -1,
    minActiveDLSN: new DLSN(args.logSegmentSequenceNo, 0, 0),
    startSequenceId: args.startSequenceId ?? UNASSIGNED_SEQUENCE_ID,
    inprogress: true,
    znodeName: inprogressZnodeName(args.logSegmentSequenceNo),
    znodeVersion: 0,
  }
}

/** Orders segments by sequence number; for one number, completed before in-progress (as the original). */
export function compareSegments(a: LogSegmentMetadata, b: LogSegmentMetadata): number {
  if (a.logSegmentSequenceNo !== b.logSegmentSequenceNo) return a.logSegmentSequenceNo < b.logSegmentSequenceNo ? -1 : 1
  if (a.inprogress === b.inprogress) return 0
  return a.inprogress ? 1 : -1
}
