/**
 * Errors of the write-ahead log, with their one code table. Callers switch on the class or the code:
 * a broken or corrupt WAL needs an operator (never retriable); an overloaded one may accept the same
 * append a little later.
 */
import {DlogError} from '../errors.js'

export const WalErrorCode = {
  /** A write or fsync failed: nothing after the last acknowledged record can be trusted to be on disk. */
  BROKEN: 'WAL_BROKEN',
  CLOSED: 'WAL_CLOSED',
  /** A record before the tail is unreadable although later data exists: not a crash artefact. */
  CORRUPT: 'WAL_CORRUPT',
  /** Too many bytes are waiting to be written. */
  OVERLOADED: 'WAL_OVERLOADED',
} as const
export type WalErrorCode = (typeof WalErrorCode)[keyof typeof WalErrorCode]

export class WalError extends DlogError {
  constructor(code: WalErrorCode, message: string, opts: {retriable?: boolean; cause?: unknown} = {}) {
    super(code, message, {retriable: opts.retriable ?? false, cause: opts.cause})
    this.name = 'WalError'
  }
}

/** The WAL failed to write or fsync; it refuses every later append (fsync failures cannot be retried safely). */
export class WalBrokenError extends WalError {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super(WalErrorCode.BROKEN, message, {retriable: false, cause: opts.cause})
    this.name = 'WalBrokenError'
  }
}

export class WalClosedError extends WalError {
  constructor(dir: string) {
    super(WalErrorCode.CLOSED, `write-ahead log ${dir} is closed`, {retriable: false})
    this.name = 'WalClosedError'
  }
}

export class WalCorruptError extends WalError {
  readonly fileId: number
  readonly offset: number

  constructor(opts: {fileId: number; offset: number; reason: string}) {
    super(
      WalErrorCode.CORRUPT,
      `write-ahead log file ${opts.fileId} is corrupt at offset ${opts.offset} (${opts.reason}) and later data exists`,
      {retriable: false},
    )
    this.name = 'WalCorruptError'
    this.fileId = opts.fileId
    this.offset = opts.offset
  }
}

export class WalOverloadedError extends WalError {
  constructor(queuedBytes: number, queueBytesMax: number) {
    super(WalErrorCode.OVERLOADED, `write-ahead log has ${queuedBytes} bytes waiting (limit ${queueBytesMax})`, {
      retriable: true,
    })
    this.name = 'WalOverloadedError'
  }
}
