/**
 * Recovery of an in-progress log segment whose writer died or failed: open its ledger with recovery
 * (fences it, so the old writer's adds fail, and closes it at the last entry an ack quorum could have
 * acknowledged), read back the last user record for lastTxId / lastEntryId / lastSlotId / recordCount,
 * and complete the segment in one metadata multi. An empty segment (no user record) completes with
 * lastTxId = firstTxId, lastEntryId = lastSlotId = -1 and no records (distributedlog.md §3.4).
 *
 * The same backwards scan answers "what is the last record of this segment" for the log manager
 * (getLastDLSN / getLastTxId), over a handle opened without recovery.
 */
import type {ReadHandle} from '../../ledger/types.js'
import {LedgerError, LedgerErrorCode} from '../../ledger/errors.js'
import type {Clock} from '../../common/clock.js'
import type {Logger} from '../../common/logger.js'
import type {LedgerClientApi} from '../../ledger/types.js'
import type {DistributedLogConfig} from '../config.js'
import {decodeEntry} from '../record/enveloped-entry.js'
import type {LogMetadataStore, LogRecordWithDLSN, LogSegmentMetadata} from '../types.js'

/** Entries read per backwards step while looking for the last user record. */
const BACKWARDS_BATCH_ENTRIES = 16

export interface RecoveryContext {
  logName: string
  store: LogMetadataStore
  ledgers: LedgerClientApi
  config: DistributedLogConfig
  clock: Clock
  logger: Logger
}

/** startSequenceId of the segment after `prev`, or -1 when prev's is unknown. */
export function nextStartSequenceId(prev: LogSegmentMetadata): number {
  return prev.startSequenceId >= 0 && !prev.inprogress ? prev.startSequenceId + prev.recordCount : -1
}

/** The startSequenceId `seg` should carry, from the completed segment before it in `segments`. */
export function startSequenceIdFor(seg: LogSegmentMetadata, segments: readonly LogSegmentMetadata[]): number {
  if (seg.startSequenceId >= 0) return seg.startSequenceId
  const before = segments.filter((s) => s.logSegmentSequenceNo < seg.logSegmentSequenceNo)
  if (before.length === 0) return 0
  return nextStartSequenceId(before[before.length - 1] as LogSegmentMetadata)
}

/**
 * The last user (non-control) record at or before entry `lastEntryId` of an open handle; end-of-stream
 * records count. Undefined when the segment holds none.
 */
export async function readLastUserRecord(handle: ReadHandle, seg: LogSegmentMetadata, lastEntryId: number): Promise<LogRecordWithDLSN | undefined> {
  for (let hi = lastEntryId; hi >= 0; hi -= BACKWARDS_BATCH_ENTRIES) {
    const lo = Math.max(0, hi - BACKWARDS_BATCH_ENTRIES + 1)
    const entries = await handle.readEntries(lo, hi)
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]
      if (e === undefined) continue
      const records = decodeEntry(e.payload, {logSegmentSequenceNo: seg.logSegmentSequenceNo, entryId: e.entryId, startSequenceId: seg.startSequenceId})
      for (let j = records.length - 1; j >= 0; j--) {
        const r = records[j] as LogRecordWithDLSN
        if (!r.isControl || r.isEndOfStream) return r
      }
    }
  }
  return undefined
}

/** Fences and completes one in-progress segment; returns the completed metadata. */
export async function recoverSegment(ctx: RecoveryContext, seg: LogSegmentMetadata, segments: readonly LogSegmentMetadata[]): Promise<LogSegmentMetadata> {
  const log = ctx.logger.child('recovery')
  let last: LogRecordWithDLSN | undefined
  try {
    const handle = await ctx.ledgers.openLedger(seg.ledgerId, ctx.config.ledgerPassword === '' ? {} : {password: Buffer.from(ctx.config.ledgerPassword)})
    try {
      last = await readLastUserRecord(handle, seg, handle.lastAddConfirmed)
    } finally {
      await handle.close().catch(() => undefined)
    }
  } catch (e) {
    // A segment whose ledger is gone holds no data anyone can read: complete it empty.
    if (!(e instanceof LedgerError && e.code === LedgerErrorCode.NO_SUCH_LEDGER)) throw e
    log.warn('in-progress segment has no ledger; completing it empty', {log: ctx.logName, segment: seg.logSegmentSequenceNo, ledgerId: seg.ledgerId})
  }
  const inprogress = {...seg, startSequenceId: startSequenceIdFor(seg, segments)}
  const completed = await ctx.store.completeLogSegment(ctx.logName, inprogress, {
    lastTxId: last === undefined ? seg.firstTxId : last.txid,
    lastEntryId: last === undefined ? -1 : last.dlsn.entryId,
    lastSlotId: last === undefined ? -1 : last.dlsn.slotId,
    recordCount: last === undefined ? 0 : last.positionWithinLogSegment,
    completionTimeMs: ctx.clock.nowMs(),
  })
  log.info('recovered segment', {
    log: ctx.logName,
    segment: seg.logSegmentSequenceNo,
    lastTxId: completed.lastTxId,
    lastEntryId: completed.lastEntryId,
    recordCount: completed.recordCount,
  })
  return completed
}
