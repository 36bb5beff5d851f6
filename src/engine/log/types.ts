/**
 * The contracts between the parts of the DistributedLog core: a log segment's metadata, the store that
 * keeps logs and their segments in ZooKeeper (log/metadata/, layout in distributedlog.md §3), and the
 * records applications write and read. The writer and reader (log/writer, log/reader) depend on these
 * interfaces, not on ZooKeeper, so they can be tested over an in-memory store.
 */
import type {DLSN} from './dlsn.js'

/** Truncation status of a log segment (bits 8-9 of the packed versionStatusCount field). */
export const TruncationStatus = {ACTIVE: 0, PARTIALLY_TRUNCATED: 1, TRUNCATED: 2} as const
export type TruncationStatus = (typeof TruncationStatus)[keyof typeof TruncationStatus]

/** Transaction ids are JavaScript safe integers; the original's Long.MAX_VALUE maps to this. */
export const MAX_TXID = Number.MAX_SAFE_INTEGER
/** lastTxId of an in-progress segment. */
export const INVALID_TXID = -999

/** One log segment: a ledger plus where it sits in the log (format: log/metadata/segment-format.ts). */
export interface LogSegmentMetadata {
  /** Metadata layout version; 5 (with start sequence ids) is what we write. */
  version: number
  /** The ledger holding the segment's entries (the original calls it logSegmentId). */
  ledgerId: number
  logSegmentSequenceNo: number
  firstTxId: number
  /** INVALID_TXID while in progress. */
  lastTxId: number
  completionTimeMs: number
  /** User records in the segment (completed segments only). */
  recordCount: number
  regionId: number
  status: TruncationStatus
  /** -1 while in progress. */
  lastEntryId: number
  lastSlotId: number
  /** Records before this position are truncated (partially truncated segments). */
  minActiveDLSN: DLSN
  /** Sequence id of the segment's first record; -1 until known. */
  startSequenceId: number
  inprogress: boolean
  /** The znode name: `inprogress_<18 digits>` or `logrecs_<18 digits>`. */
  znodeName: string
  /** The znode version, for compare-and-set updates. */
  znodeVersion: number
}

/** A record as written: application txid and payload. */
export interface LogRecord {
  txid: number
  payload: Buffer
}

/** A record as read: with its position, its sequence id in the log, and its flags. */
export interface LogRecordWithDLSN extends LogRecord {
  dlsn: DLSN
  /** 0-based count of user records from the log's start; -1 when unknown. */
  sequenceId: number
  /** 1-based position among the user records of its segment. */
  positionWithinLogSegment: number
  isControl: boolean
  isEndOfStream: boolean
}

/**
 * The per-log metadata operations the writer and reader need. Implemented over ZooKeeper in
 * log/metadata/; every multi-znode change is one ZooKeeper multi so a crash never leaves half of it.
 */
export interface LogMetadataStore {
  /** Segments ordered by logSegmentSequenceNo. Throws LogNotFoundError. */
  getLogSegments(logName: string): Promise<LogSegmentMetadata[]>
  /** Calls `listener` with the full ordered list whenever segments are added, completed or removed. */
  watchLogSegments(logName: string, listener: (segments: LogSegmentMetadata[]) => void, onError?: (e: Error) => void): () => void
  /** The highest txid written, or MAX_TXID once end of stream is marked. */
  getMaxTxId(logName: string): Promise<number>
  /**
   * Atomically: creates the in-progress segment znode for `ledgerId` with the next sequence number,
   * bumps the max sequence number and sets maxtxid to `firstTxId` (never lowering it).
   */
  startLogSegment(logName: string, args: {ledgerId: number; firstTxId: number; regionId?: number}): Promise<LogSegmentMetadata>
  /**
   * Atomically: writes the completed `logrecs_` znode, deletes the `inprogress_` one, and raises maxtxid
   * to `lastTxId`.
   */
  completeLogSegment(
    logName: string,
    inprogress: LogSegmentMetadata,
    args: {lastTxId: number; lastEntryId: number; lastSlotId: number; recordCount: number; completionTimeMs: number},
  ): Promise<LogSegmentMetadata>
  /** Compare-and-set of one segment's znode (truncation status, minActiveDLSN). */
  updateLogSegment(logName: string, segment: LogSegmentMetadata): Promise<LogSegmentMetadata>
  /** Removes one segment's znode (retention, after its ledger is deleted). */
  deleteLogSegment(logName: string, segment: LogSegmentMetadata): Promise<void>
}

/** The single-writer lock of one log. */
export interface LogWriteLock {
  /** Throws OwnershipAcquireFailedError naming the current owner. */
  acquire(): Promise<void>
  /** True until release() or until the ZooKeeper session holding it expires. */
  readonly held: boolean
  release(): Promise<void>
}
