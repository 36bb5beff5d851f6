/**
 * The DistributedLog core's error table. Codes are the original's StatusCode values (the proxy protocol's
 * response codes: 302 FOUND for a lock owned elsewhere, 413 for a record over the size limit, 5xx for
 * server-side failures, 6xx unexpected, 10xx reader failures), so a proxy can put `error.code` on the wire
 * unchanged and operators' searches for the original exception names and messages still match.
 * Every class keeps the original message shape; callers switch on classes or `code`, never on text.
 * (Helpers may append classes at the end of this file.)
 */
import {DlogError} from '../common/errors.js'

export const DLStatusCode = {
  SUCCESS: 200,
  CLIENT_CLOSED: 301,
  /** The log is owned by another writer (OwnershipAcquireFailed); a proxy redirects to it. */
  FOUND: 302,
  REQUEST_DENIED: 403,
  TOO_LARGE_RECORD: 413,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  ALREADY_CLOSED: 502,
  SERVICE_UNAVAILABLE: 503,
  LOCKING_EXCEPTION: 504,
  ZOOKEEPER_ERROR: 505,
  METADATA_EXCEPTION: 506,
  BK_TRANSMIT_ERROR: 507,
  FLUSH_TIMEOUT: 508,
  LOG_EMPTY: 509,
  LOG_NOT_FOUND: 510,
  TRUNCATED_TRANSACTION: 511,
  END_OF_STREAM: 512,
  TRANSACTION_OUT_OF_ORDER: 513,
  WRITE_EXCEPTION: 514,
  STREAM_UNAVAILABLE: 515,
  WRITE_CANCELLED_EXCEPTION: 516,
  OVER_CAPACITY: 517,
  STREAM_NOT_READY: 518,
  REGION_UNAVAILABLE: 519,
  INVALID_ENVELOPED_ENTRY: 520,
  UNSUPPORTED_METADATA_VERSION: 521,
  LOG_EXISTS: 522,
  CHECKSUM_FAILED: 523,
  TOO_MANY_STREAMS: 524,
  UNEXPECTED: 600,
  INTERRUPTED: 601,
  INVALID_STREAM_NAME: 602,
  ILLEGAL_STATE: 603,
  RETRYABLE_READ: 1000,
  LOG_READ_ERROR: 1001,
  READ_CANCELLED_EXCEPTION: 1002,
} as const
export type DLStatusCode = (typeof DLStatusCode)[keyof typeof DLStatusCode]

const NAMES = new Map<number, string>(Object.entries(DLStatusCode).map(([name, code]) => [code, name]))

/** The StatusCode name of a code (`FOUND` for 302), or `STATUS_<code>` for one not in the table. */
export function dlStatusName(code: number): string {
  return NAMES.get(code) ?? `STATUS_${code}`
}

export interface LogErrorOptions {
  cause?: unknown
  retriable?: boolean
}

/** The root of the log core's errors (the original's DLException). */
export class LogError extends DlogError {
  override readonly code: DLStatusCode

  constructor(code: DLStatusCode, message: string, opts: LogErrorOptions = {}) {
    super(code, message, {retriable: opts.retriable ?? false, cause: opts.cause})
    this.name = 'LogError'
    this.code = code
  }
}

export class LogNotFoundError extends LogError {
  readonly logName: string

  constructor(logName: string, opts: LogErrorOptions & {message?: string} = {}) {
    super(DLStatusCode.LOG_NOT_FOUND, opts.message ?? `Log ${logName} does not exist or has been deleted`, opts)
    this.name = 'LogNotFoundError'
    this.logName = logName
  }
}

export class LogExistsError extends LogError {
  readonly logName: string

  constructor(logName: string, opts: LogErrorOptions & {message?: string} = {}) {
    super(DLStatusCode.LOG_EXISTS, opts.message ?? `Log ${logName} already exists`, opts)
    this.name = 'LogExistsError'
    this.logName = logName
  }
}

/** Any failure of the write lock (the original's LockingException): `LockPath - <path>: <reason>`. */
export class LockingError extends LogError {
  readonly lockPath: string

  constructor(lockPath: string, reason: string, opts: LogErrorOptions & {code?: DLStatusCode} = {}) {
    super(opts.code ?? DLStatusCode.LOCKING_EXCEPTION, `LockPath - ${lockPath}: ${reason}`, {retriable: opts.retriable ?? true, cause: opts.cause})
    this.name = 'LockingError'
    this.lockPath = lockPath
  }
}

/** Another client holds the log's write lock (code 302 FOUND: a proxy redirects to the owner). */
export class OwnershipAcquireFailedError extends LockingError {
  readonly currentOwner: string

  constructor(lockPath: string, currentOwner: string, opts: LogErrorOptions = {}) {
    super(lockPath, `Lock acquisition failed, the current owner is ${currentOwner}`, {
      code: DLStatusCode.FOUND,
      retriable: opts.retriable ?? false,
      cause: opts.cause,
    })
    this.name = 'OwnershipAcquireFailedError'
    this.currentOwner = currentOwner
  }
}

/** A segment would start (or a record be written) with a txid below the log's highest one. */
export class TransactionIdOutOfOrderError extends LogError {
  readonly txId: number
  readonly lastTxId: number | undefined

  constructor(txId: number, lastTxId: number | undefined, opts: LogErrorOptions & {message?: string} = {}) {
    const message =
      opts.message ??
      (lastTxId === undefined
        ? `The txn id ${txId} is invalid and will break the sequence`
        : `Received smaller txn id ${txId}, last txn id is ${lastTxId}`)
    super(DLStatusCode.TRANSACTION_OUT_OF_ORDER, message, opts)
    this.name = 'TransactionIdOutOfOrderError'
    this.txId = txId
    this.lastTxId = lastTxId
  }
}

/** Writing after end of stream was marked, or reading past the end-of-stream record. */
export class EndOfStreamError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.END_OF_STREAM, message, opts)
    this.name = 'EndOfStreamError'
  }
}

export class LogRecordTooLongError extends LogError {
  readonly sizeBytes: number
  readonly maxBytes: number

  constructor(sizeBytes: number, maxBytes: number, opts: LogErrorOptions = {}) {
    super(DLStatusCode.TOO_LARGE_RECORD, `Log Record of size ${sizeBytes} written when only ${maxBytes} is allowed`, opts)
    this.name = 'LogRecordTooLongError'
    this.sizeBytes = sizeBytes
    this.maxBytes = maxBytes
  }
}

/** Positioning a reader into data that was truncated (the original's AlreadyTruncatedTransactionException). */
export class AlreadyTruncatedError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.TRUNCATED_TRANSACTION, message, opts)
    this.name = 'AlreadyTruncatedError'
  }
}

export class LogEmptyError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.LOG_EMPTY, message, opts)
    this.name = 'LogEmptyError'
  }
}

/**
 * A reader made no progress for longer than its idle bound while the log had data for it (the original's
 * IdleReaderException, which had no status code of its own; it is a read error here).
 */
export class IdleReaderError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.LOG_READ_ERROR, message, {retriable: opts.retriable ?? true, cause: opts.cause})
    this.name = 'IdleReaderError'
  }
}

export class ReadCancelledError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.READ_CANCELLED_EXCEPTION, message, opts)
    this.name = 'ReadCancelledError'
  }
}

/** A write rejected because the writer (or its stream) is in error or closed. */
export class WriteError extends LogError {
  readonly streamName: string

  constructor(streamName: string, reason: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.WRITE_EXCEPTION, `Write rejected because stream ${streamName} has encountered an error : ${reason}`, opts)
    this.name = 'WriteError'
    this.streamName = streamName
  }
}

/** A write cancelled before it was transmitted (the writer errored or closed with it pending). */
export class WriteCancelledError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.WRITE_CANCELLED_EXCEPTION, message, opts)
    this.name = 'WriteCancelledError'
  }
}

/** The ledger client failed an add; `bkResultCode` is its LedgerErrorCode (BookKeeper's rc). */
export class BKTransmitError extends LogError {
  readonly bkResultCode: number

  constructor(message: string, bkResultCode: number, opts: LogErrorOptions = {}) {
    super(DLStatusCode.BK_TRANSMIT_ERROR, message, opts)
    this.name = 'BKTransmitError'
    this.bkResultCode = bkResultCode
  }
}

/** ZooKeeper failed or answered in a way the metadata layer cannot use. */
export class MetadataError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.METADATA_EXCEPTION, message, {retriable: opts.retriable ?? true, cause: opts.cause})
    this.name = 'MetadataError'
  }
}

/** Stored metadata is of a newer layout than this code reads. */
export class UnsupportedMetadataVersionError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.UNSUPPORTED_METADATA_VERSION, message, opts)
    this.name = 'UnsupportedMetadataVersionError'
  }
}

/** The namespace URI (or a parent path) carries no `dlog admin bind` binding. */
export class UnboundNamespaceError extends LogError {
  readonly uri: string

  constructor(uri: string, opts: LogErrorOptions & {path?: string; zkServers?: string} = {}) {
    const zk = opts.zkServers ?? '<zk servers>'
    super(
      DLStatusCode.METADATA_EXCEPTION,
      `No bookkeeper is bound to ${uri}` +
        (opts.path === undefined ? '' : ` (no binding on ${opts.path} or any parent path)`) +
        `. Bind it first: dlog admin bind -l /ledgers -s ${zk} -c ${uri}`,
      opts,
    )
    this.name = 'UnboundNamespaceError'
    this.uri = uri
  }
}

export class InvalidStreamNameError extends LogError {
  readonly streamName: string

  constructor(streamName: string, reason?: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.INVALID_STREAM_NAME, `Invalid stream name : '${streamName}'${reason === undefined ? '' : ` : ${reason}`}`, opts)
    this.name = 'InvalidStreamNameError'
    this.streamName = streamName
  }
}

/** The log's state contradicts what an operation expects (e.g. a max sequence number mismatch). */
export class DLIllegalStateError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.ILLEGAL_STATE, message, opts)
    this.name = 'DLIllegalStateError'
  }
}

export class UnexpectedError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.UNEXPECTED, message, opts)
    this.name = 'UnexpectedError'
  }
}

export class AlreadyClosedError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.ALREADY_CLOSED, message, opts)
    this.name = 'AlreadyClosedError'
  }
}

export class LogReadError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.LOG_READ_ERROR, message, opts)
    this.name = 'LogReadError'
  }
}

export class InvalidEnvelopedEntryError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.INVALID_ENVELOPED_ENTRY, message, opts)
    this.name = 'InvalidEnvelopedEntryError'
  }
}

export class FlushTimeoutError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.FLUSH_TIMEOUT, message, {retriable: opts.retriable ?? true, cause: opts.cause})
    this.name = 'FlushTimeoutError'
  }
}

/** The log is being deleted while its write lock is held (deleteLog refuses rather than fence a live writer). */
export class LogBusyError extends LockingError {
  constructor(lockPath: string, logName: string, owner: string | undefined, opts: LogErrorOptions = {}) {
    super(lockPath, `Log ${logName} is in use by a writer${owner === undefined ? '' : ` (${owner})`}; close it before deleting the log`, {
      retriable: opts.retriable ?? true,
      cause: opts.cause,
    })
    this.name = 'LogBusyError'
  }
}

/** A writer has more writes pending than its limit (perWriterOutstandingWriteLimit); retry after some complete. */
export class OverCapacityError extends LogError {
  constructor(message: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.OVER_CAPACITY, message, {retriable: opts.retriable ?? true, cause: opts.cause})
    this.name = 'OverCapacityError'
  }
}

/** The configured entry codec cannot run in this process (its package is missing or failed to load). */
export class CompressionCodecUnavailableError extends LogError {
  readonly codec: string

  constructor(codec: string, opts: LogErrorOptions = {}) {
    super(DLStatusCode.NOT_IMPLEMENTED, `Compression codec ${codec} is unavailable in this process; use compressionType=none or install its package`, opts)
    this.name = 'CompressionCodecUnavailableError'
    this.codec = codec
  }
}
