/**
 * How commands reach log data: a namespace opened with a ledger client for the bookie cluster it is
 * bound to, logs opened through the log core (LogManager), positions typed by a user (`earliest`,
 * `latest`, a txid, a DLSN in any of its spellings), and a bounded walk over the records that existed
 * when a command started — so `dump` and `count` end at the log's last record instead of tailing
 * forever as the original's dump did, and a reader that stops making progress is an error, not a hang.
 */
import {
  DLSN,
  type DistributedLogConfig,
  EndOfStreamError,
  InvalidInputError,
  LogEmptyError,
  type LogManager,
  type LogRecordWithDLSN,
  Logger,
  Namespace,
  parseDlsnArg,
  type ReadPosition,
  silentLogger,
  TimeoutError,
} from '../engine/index.js'

/** A stalled walk (no record within this while records are known to exist) is an error. */
export const READ_STALL_MS = 30_000
/** Records asked for per read while walking a log. */
const WALK_BATCH = 500

export interface OpenNamespaceOptions {
  /** Written into write locks, so another writer's error names us. */
  clientId: string
  conf?: Partial<DistributedLogConfig>
  /** Engine warnings (idle readers, retries) on stderr; default silent. */
  warnings?: boolean
}

/** Opens the namespace; its ledger client is the bookie cluster its binding names. */
export async function openNamespace(uri: string, opts: OpenNamespaceOptions): Promise<Namespace> {
  const logger = opts.warnings ? new Logger({level: 'warn'}) : silentLogger
  return Namespace.open({uri, clientId: opts.clientId, conf: opts.conf, logger})
}

/** Opens one log of `ns` through the log core; `overrides` apply to this log only. */
export async function openLogOf(ns: Namespace, name: string, overrides: Partial<DistributedLogConfig> = {}): Promise<LogManager> {
  return ns.openLog(name, overrides)
}

/** Where a read starts, as a user wrote it. */
export type UserPosition = {kind: 'earliest'} | {kind: 'latest'} | {kind: 'dlsn'; dlsn: DLSN} | {kind: 'txid'; txid: number}

const DLSN_TEXT_RE = /^DLSN\{logSegmentSequenceNo=(\d+),\s*entryId=(\d+),\s*slotId=(\d+)\}$/

/** Parses a DLSN written as `a,b,c`, `InitialDLSN`, `DLSN{logSegmentSequenceNo=a, entryId=b, slotId=c}` or base64. */
export function parseDlsn(text: string): DLSN {
  const t = text.trim()
  const m = DLSN_TEXT_RE.exec(t)
  if (m) return new DLSN(Number(m[1]), Number(m[2]), Number(m[3]))
  if (t === 'InitialDLSN' || t.includes(',')) return new DLSN(...parseDlsnArg(t))
  try {
    return DLSN.deserialize(t)
  } catch {
    throw new InvalidInputError(`Invalid dlsn : ${text} (expected a,b,c, DLSN{logSegmentSequenceNo=a, entryId=b, slotId=c} or base64)`)
  }
}

/** Parses `earliest`, `latest`, a txid (digits) or a DLSN (see parseDlsn). */
export function parsePosition(text: string): UserPosition {
  const t = text.trim()
  if (t === 'earliest') return {kind: 'earliest'}
  if (t === 'latest') return {kind: 'latest'}
  if (/^\d+$/.test(t)) {
    const txid = Number(t)
    if (!Number.isSafeInteger(txid)) throw new InvalidInputError(`Invalid txid : ${text}`)
    return {kind: 'txid', txid}
  }
  try {
    return {kind: 'dlsn', dlsn: parseDlsn(t)}
  } catch {
    throw new InvalidInputError(`Invalid position : ${text} (expected earliest, latest, a txid, or a DLSN as a,b,c, DLSN{...} or base64)`)
  }
}

export function describePosition(p: ReadPosition): string {
  return p instanceof DLSN ? p.toString() : `txid ${p.txid}`
}

/** The last user record, or undefined for an empty log (LogNotFoundError propagates). */
export async function lastRecordOf(lm: LogManager): Promise<LogRecordWithDLSN | undefined> {
  try {
    return await lm.getLastLogRecord()
  } catch (e) {
    if (e instanceof LogEmptyError) return undefined
    throw e
  }
}

/**
 * Calls `each` for every record from `from` up to `last` (the log's last record when the walk started),
 * at most `limit` of them, in order. Stops early when `each` returns false. A reader that delivers
 * nothing for `stallMs` while records remain is a TimeoutError naming where it stood.
 */
export async function walkRecords(
  lm: LogManager,
  from: ReadPosition,
  last: LogRecordWithDLSN | undefined,
  each: (r: LogRecordWithDLSN) => boolean | void | Promise<boolean | void>,
  opts: {limit?: number; stallMs?: number} = {},
): Promise<number> {
  const limit = opts.limit ?? Number.POSITIVE_INFINITY
  if (last === undefined || limit <= 0) return 0
  if (from instanceof DLSN ? from.compareTo(last.dlsn) > 0 : from.txid > last.txid) return 0
  const reader = await lm.getAsyncLogReader(from)
  let seen = 0
  let at: ReadPosition = from
  try {
    for (;;) {
      let batch: LogRecordWithDLSN[]
      try {
        batch = await reader.readBulk(Math.min(WALK_BATCH, limit - seen), opts.stallMs ?? READ_STALL_MS)
      } catch (e) {
        if (e instanceof EndOfStreamError) return seen
        throw e
      }
      if (batch.length === 0) {
        throw new TimeoutError(
          `Reader of ${lm.name} made no progress for ${opts.stallMs ?? READ_STALL_MS} ms at ${describePosition(at)} ` +
            `while records up to ${last.dlsn.toString()} exist`,
        )
      }
      for (const r of batch) {
        if (r.dlsn.compareTo(last.dlsn) > 0) return seen
        seen++
        at = r.dlsn.getNextDLSN()
        if ((await each(r)) === false || seen >= limit || r.dlsn.compareTo(last.dlsn) >= 0) return seen
      }
    }
  } finally {
    await reader.close().catch(() => undefined)
  }
}

/** Records at or after `from` (up to the last record): sequence ids when known, else by reading. */
export async function countFrom(lm: LogManager, from: DLSN, last: LogRecordWithDLSN | undefined): Promise<number> {
  if (last === undefined) return 0
  let first: LogRecordWithDLSN | undefined
  await walkRecords(lm, from, last, (r) => {
    first = r
    return false
  })
  if (first === undefined) return 0
  if (first.sequenceId >= 0 && last.sequenceId >= first.sequenceId) return last.sequenceId - first.sequenceId + 1
  return walkRecords(lm, from, last, () => true)
}

/** True when `payload` is valid UTF-8 (decoding and re-encoding gives the same bytes). */
export function isUtf8(payload: Buffer): boolean {
  return Buffer.from(payload.toString('utf8'), 'utf8').equals(payload)
}

/**
 * One record as a JSON line (what `tail --json` and `dump --json` print): payload as UTF-8 text when it
 * is valid UTF-8 (and `forceBase64` is off), else base64, with `encoding` saying which.
 */
export function recordJson(stream: string, r: LogRecordWithDLSN, forceBase64: boolean): string {
  const utf8 = !forceBase64 && isUtf8(r.payload)
  return `${JSON.stringify({
    stream,
    dlsn: r.dlsn.toString(),
    dlsnBase64: r.dlsn.serialize(),
    txid: r.txid,
    sequenceId: r.sequenceId,
    payload: utf8 ? r.payload.toString('utf8') : r.payload.toString('base64'),
    encoding: utf8 ? 'utf8' : 'base64',
  })}\n`
}
