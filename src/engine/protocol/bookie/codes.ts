/**
 * Status codes of the bookie protocol: one table, used by the bookie server in responses and by the
 * ledger client to raise typed errors. Values follow BookKeeper's BookieProtocol so logs and docs line up.
 */
import {DlogError} from '../../common/errors.js'

export const BookieStatus = {
  OK: 0,
  /** No such ledger on this bookie. */
  NO_LEDGER: 1,
  /** No such entry in the ledger on this bookie. */
  NO_ENTRY: 2,
  /** The request was malformed or had invalid arguments. */
  BAD_REQUEST: 100,
  /** The bookie failed to read or write its disks. */
  IO_ERROR: 101,
  /** The master key does not match the one the ledger was first written with. */
  UNAUTHORIZED: 102,
  /** The request's protocol version is not supported. */
  BAD_VERSION: 103,
  /** The ledger is fenced: a new writer took over, adds are refused. */
  FENCED: 104,
  /** The bookie is read-only: it serves reads and refuses adds. */
  READ_ONLY: 105,
  /** The bookie is overloaded; retry later or elsewhere. */
  TOO_MANY_REQUESTS: 106,
  /** The entry's CRC32C did not match its bytes. */
  BAD_CHECKSUM: 107,
  /** A long-poll read ended without the requested entry becoming available. */
  TIMEOUT: 108,
} as const
export type BookieStatus = (typeof BookieStatus)[keyof typeof BookieStatus]

const STATUS_TEXT: Record<BookieStatus, {name: string; retriable: boolean}> = {
  0: {name: 'OK', retriable: false},
  1: {name: 'NoSuchLedger', retriable: false},
  2: {name: 'NoSuchEntry', retriable: false},
  100: {name: 'BadRequest', retriable: false},
  101: {name: 'IOError', retriable: true},
  102: {name: 'Unauthorized', retriable: false},
  103: {name: 'BadVersion', retriable: false},
  104: {name: 'LedgerFenced', retriable: false},
  105: {name: 'ReadOnlyBookie', retriable: true},
  106: {name: 'TooManyRequests', retriable: true},
  107: {name: 'BadChecksum', retriable: false},
  108: {name: 'Timeout', retriable: true},
}

export function bookieStatusName(status: number): string {
  return STATUS_TEXT[status as BookieStatus]?.name ?? `Status${status}`
}

/** An error carrying a bookie status code; raised by the bookie and mirrored by the client. */
export class BookieError extends DlogError {
  override readonly code: BookieStatus

  constructor(code: BookieStatus, message: string, opts: {cause?: unknown} = {}) {
    super(code, message, {retriable: STATUS_TEXT[code]?.retriable ?? false, cause: opts.cause})
    this.name = `BookieError(${bookieStatusName(code)})`
    this.code = code
  }
}
