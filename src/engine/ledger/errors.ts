/**
 * The ledger client's error table. Codes and names follow BookKeeper's client result codes (BKException)
 * so operators' searches and DistributedLog's messages (`BKTransmitException ... Error code : (<rc>)`)
 * line up. Every error names the ledger, says whether retrying may help, and keeps its cause.
 */
import {DlogError} from '../common/errors.js'

export const LedgerErrorCode = {
  READ_FAILED: -1,
  /** Qa could not be met: too many bookies of the write set failed and none could replace them. */
  QUORUM_FAILED: -2,
  DIGEST_MISMATCH: -5,
  NOT_ENOUGH_BOOKIES: -6,
  NO_SUCH_LEDGER: -7,
  METADATA_STORE: -9,
  RECOVERY_FAILED: -10,
  LEDGER_CLOSED: -11,
  WRITE_FAILED: -12,
  NO_SUCH_ENTRY: -13,
  INCORRECT_PARAMETER: -14,
  METADATA_VERSION: -17,
  CLIENT_CLOSED: -19,
  TIMEOUT: -23,
  LEDGER_FENCED: -101,
  UNAUTHORIZED: -102,
} as const
export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode]

const INFO: Record<LedgerErrorCode, {name: string; retriable: boolean}> = {
  [-1]: {name: 'ReadException', retriable: true},
  [-2]: {name: 'NotEnoughReplicasException', retriable: false},
  [-5]: {name: 'DigestMismatchException', retriable: false},
  [-6]: {name: 'NotEnoughBookiesException', retriable: true},
  [-7]: {name: 'NoSuchLedgerExistsException', retriable: false},
  [-9]: {name: 'MetaStoreException', retriable: true},
  [-10]: {name: 'LedgerRecoveryException', retriable: true},
  [-11]: {name: 'LedgerClosedException', retriable: false},
  [-12]: {name: 'WriteException', retriable: false},
  [-13]: {name: 'NoSuchEntryException', retriable: false},
  [-14]: {name: 'IncorrectParameterException', retriable: false},
  [-17]: {name: 'MetadataVersionException', retriable: true},
  [-19]: {name: 'ClientClosedException', retriable: false},
  [-23]: {name: 'TimeoutException', retriable: true},
  [-101]: {name: 'LedgerFencedException', retriable: false},
  [-102]: {name: 'UnauthorizedAccessException', retriable: false},
}

export function ledgerErrorName(code: number): string {
  return INFO[code as LedgerErrorCode]?.name ?? `LedgerError${code}`
}

export class LedgerError extends DlogError {
  override readonly code: LedgerErrorCode
  /** The ledger the failure concerns, when there is one. */
  readonly ledgerId: number | undefined

  constructor(code: LedgerErrorCode, message: string, opts: {ledgerId?: number; cause?: unknown; retriable?: boolean} = {}) {
    super(code, message, {retriable: opts.retriable ?? INFO[code]?.retriable ?? false, cause: opts.cause})
    this.name = ledgerErrorName(code)
    this.code = code
    this.ledgerId = opts.ledgerId
  }
}

export class NotEnoughBookiesError extends LedgerError {
  readonly needed: number
  readonly found: number

  constructor(needed: number, found: number, opts: {cause?: unknown; what?: string} = {}) {
    super(
      LedgerErrorCode.NOT_ENOUGH_BOOKIES,
      `Not enough bookies available: ${opts.what ?? 'the ensemble'} needs ${needed} writable bookie${needed === 1 ? '' : 's'}, found ${found}`,
      {cause: opts.cause},
    )
    this.needed = needed
    this.found = found
  }
}

export class NoSuchLedgerError extends LedgerError {
  constructor(ledgerId: number, opts: {cause?: unknown} = {}) {
    super(LedgerErrorCode.NO_SUCH_LEDGER, `Ledger ${ledgerId} does not exist`, {ledgerId, cause: opts.cause})
  }
}

export class LedgerFencedError extends LedgerError {
  constructor(ledgerId: number, opts: {cause?: unknown} = {}) {
    super(LedgerErrorCode.LEDGER_FENCED, `Ledger ${ledgerId} is fenced: another client opened it for recovery`, {ledgerId, cause: opts.cause})
  }
}

export class MetadataVersionError extends LedgerError {
  constructor(ledgerId: number, expectedVersion: number, opts: {cause?: unknown} = {}) {
    super(LedgerErrorCode.METADATA_VERSION, `Metadata of ledger ${ledgerId} changed: expected version ${expectedVersion}`, {
      ledgerId,
      cause: opts.cause,
    })
  }
}
