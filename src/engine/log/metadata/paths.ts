/**
 * Where a log lives in ZooKeeper (distributedlog.md §3.3) and which log names are valid.
 *
 *   <ns>/<log>                       stream path (empty); <log> may contain `/` (nested names)
 *   <ns>/<log>/<default>             log root (the original's unpartitioned stream name)
 *       maxtxid                      decimal highest txid, "0" at creation
 *       version                      int32 big-endian -1 (the layout version, ff ff ff ff)
 *       lock                         write lock: EPHEMERAL_SEQUENTIAL members
 *       readLock                     reader lock
 *       ledgers                      decimal max log segment sequence number, "0" at creation;
 *                                    children inprogress_%018d / logrecs_%018d
 *       allocation                   ledger pre-allocation (empty, or a ledger id)
 *
 * Name rules follow the original's (DLUtils.validateAndNormalizeName): names starting with `.` or `<`
 * are reserved for the namespace's own znodes; a leading `/` is dropped; no empty, `.` or `..`
 * components, no trailing `/`, no spaces, `<`, `>`, NUL or control characters.
 */
import {InvalidStreamNameError} from '../errors.js'

export const DEFAULT_STREAM_NAME = '<default>'
/** int32 -1, the layout version the original writes and checks. */
export const LAYOUT_VERSION_DATA = Buffer.from([0xff, 0xff, 0xff, 0xff])
/** Long names make long znode paths in every multi; DL never needed more. */
export const LOG_NAME_CHARS_MAX = 1024

export interface LogPaths {
  /** `<ns>/<log>` */
  stream: string
  /** `<ns>/<log>/<default>` */
  root: string
  maxTxId: string
  version: string
  lock: string
  readLock: string
  ledgers: string
  allocation: string
}

export function isReservedStreamName(name: string): boolean {
  return name.startsWith('.') || name.startsWith('<')
}

/** Validates a log name; returns it without a leading `/`. Throws InvalidStreamNameError. */
export function validateLogName(name: string): string {
  if (name.length === 0) throw new InvalidStreamNameError(name, 'Log name length must be > 0')
  if (name.length > LOG_NAME_CHARS_MAX) throw new InvalidStreamNameError(name.slice(0, 64) + '...', `Log name is longer than ${LOG_NAME_CHARS_MAX} characters`)
  if (isReservedStreamName(name)) throw new InvalidStreamNameError(name, 'Log Name is reserved')
  const path = name.startsWith('/') ? name : `/${name}`
  const reason = pathNameProblem(path)
  if (reason !== undefined) throw new InvalidStreamNameError(name, reason)
  const normalized = path.slice(1)
  // After dropping a leading `/`, the name itself must not be reserved either.
  if (isReservedStreamName(normalized)) throw new InvalidStreamNameError(name, 'Log Name is reserved')
  return normalized
}

function pathNameProblem(path: string): string | undefined {
  if (path === '/') return 'Log name length must be > 0'
  if (path.endsWith('/')) return 'Log name must not end with / character'
  const parts = path.slice(1).split('/')
  let at = 1
  for (const part of parts) {
    if (part === '') return `empty node name specified @${at}`
    if (part === '.' || part === '..') return `relative paths not allowed @${at}`
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i)
      const where = `@${at + i}`
      if (c === 0) return `null character not allowed ${where}`
      if (c === 0x3c || c === 0x3e) return `< or > specified ${where}`
      if (c === 0x20) return `empty space specified ${where}`
      if ((c > 0 && c < 0x1f) || (c > 0x7f && c < 0x9f) || (c > 0xd800 && c < 0xf8ff) || (c > 0xfff0 && c < 0xffff)) {
        return `invalid character ${where}`
      }
    }
    at += part.length + 1
  }
  return undefined
}

/** The znodes of log `logName` (already validated) in the namespace at `nsPath`. */
export function logPaths(nsPath: string, logName: string, streamName = DEFAULT_STREAM_NAME): LogPaths {
  const stream = `${nsPath === '/' ? '' : nsPath}/${logName}`
  const root = `${stream}/${streamName}`
  return {
    stream,
    root,
    maxTxId: `${root}/maxtxid`,
    version: `${root}/version`,
    lock: `${root}/lock`,
    readLock: `${root}/readLock`,
    ledgers: `${root}/ledgers`,
    allocation: `${root}/allocation`,
  }
}
