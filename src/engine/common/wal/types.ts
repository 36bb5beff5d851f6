/**
 * The contract of the write-ahead log shared by the bookie journal and the ZooKeeper txn log
 * (implementation: ./wal.ts).
 *
 * A WAL is a directory of numbered files. append() adds one record and resolves with the record's
 * position once it is on disk (fdatasync'ed): group commit batches records by bytes, by count and by a
 * short wait so that thousands of appends share one fsync. Appends resolve in call order. replay()
 * reads every intact record from a position in order and stops at the first torn or corrupt record
 * (length or CRC32C mismatch), truncating that tail so new appends follow the last good record.
 * (The implementation does the truncation when the log is opened, so appends are safe even before a
 * replay; damage that cannot be a torn write is reported as WalCorruptError instead: see wal.ts.)
 * reclaim() deletes whole files that lie before a checkpointed position.
 */

export interface WalPosition {
  /** File number, increasing as the WAL rolls. */
  fileId: number
  /** Byte offset of the record's start within the file. */
  offset: number
}

export interface WalOptions {
  dir: string
  /** Start a new file once the current one passes this size. */
  fileSizeBytesMax: number
  /** Flush as soon as this many bytes are waiting. */
  groupCommitBytesMax: number
  /** Flush as soon as this many records are waiting. */
  groupCommitRecordsMax: number
  /** Flush no later than this long after the first waiting record (0 = flush whenever the disk is free). */
  groupCommitWaitMs: number
  /** Largest record payload accepted; bigger appends are refused with InvalidInputError. */
  recordBytesMax: number
  /**
   * Bytes of zeros each new file is filled with (in the background) before use; 0 grows files by
   * appending. Once a file's preallocated space is used up and the next file is ready, the WAL rolls
   * early rather than grow the file. Default min(fileSizeBytesMax, 16 MiB), BookKeeper's journal
   * preallocation step.
   */
  preallocateBytes?: number
  /**
   * A batch of at most this many records (and 64 KiB), found with the disk idle, is written and
   * fdatasynced on the event-loop thread (fs.writeSync + fs.fdatasyncSync) instead of on libuv's
   * threadpool: two thread hand-offs less per add, which is most of a lone add's latency beyond the
   * disk's own. The loop is blocked only for as long as the single small sync; bigger batches (many
   * appends in flight) keep the threadpool, where the loop stays free to gather the next batch.
   * Only with the default file operations. Default 0 (off).
   */
  inlineSyncRecordsMax?: number
}

export interface WalStats {
  /** Records made durable since open. */
  records: number
  /** Bytes of those records as written (8-byte record headers included). */
  bytes: number
  fsyncs: number
  /** Latencies of recent fsyncs in microseconds (a bounded window). */
  fsyncLatencyUs: number[]
}

/**
 * Told when a record appended with appendWaiting() is durable or lost. Callbacks run synchronously in
 * append order, one batch at a time, right after the batch's fdatasync; they must not throw.
 */
export interface WalWaiter {
  walDone(fileId: number, offset: number): void
  walFailed(error: unknown): void
}

export interface WriteAheadLog {
  replay(from: WalPosition | undefined, onRecord: (payload: Buffer, position: WalPosition) => void): Promise<WalPosition>
  append(payload: Buffer): Promise<WalPosition>
  /**
   * append() without a promise per record (the hot path of the bookie journal): `waiter` hears the
   * outcome. Refusals known at once (broken or closed log, bad size, queue full) are thrown instead.
   * `recordCrc`, when given, must equal the record CRC format.ts defines (crc32c of the length bytes
   * then the payload): a caller that already checksummed the payload in one pass saves a second one.
   * Optional: wrappers (tests) may leave it out, and callers then fall back to append().
   */
  appendWaiting?(payload: Buffer, waiter: WalWaiter, recordCrc?: number): void
  /** Deletes files that end before `upTo`; returns how many were deleted. */
  reclaim(upTo: WalPosition): Promise<number>
  stats(): WalStats
  close(): Promise<void>
}
