/**
 * The contract of the bookie core (implementation: ./bookie.ts), which the bookie server's request
 * handler calls. Ids are safe-integer numbers. Failures are BookieError with a BookieStatus code.
 */

export const LAC_NONE = -1

export interface AddEntryRequest {
  /** The encoded entry (protocol/bookie/entry.ts), stored and served unchanged. */
  entry: Buffer
  masterKey: Buffer
  /** A recovery add (from a new writer re-replicating): allowed on a fenced ledger. */
  recovery: boolean
}

export interface ReadEntryRequest {
  ledgerId: number
  entryId: number
  /** Fence the ledger before reading (recovery); needs the master key. */
  fence?: boolean
  masterKey?: Buffer
}

export interface LongPollReadRequest {
  ledgerId: number
  /** Wait until the ledger's LAC on this bookie reaches entryId, then return that entry. */
  entryId: number
  timeoutMs: number
}

export interface LongPollReadResult {
  lac: number
  /** Present when LAC reached entryId before the timeout. */
  entry?: Buffer
}

export interface BookieInfo {
  freeDiskBytes: number
  totalDiskBytes: number
  readOnly: boolean
}

/** Hears the outcome of one add made with addEntryWith (exactly one of the two calls). */
export interface AddCallback {
  addDone(): void
  addFailed(error: unknown): void
}

export interface BookieCore {
  /** Resolves once the entry is in the journal and fsynced. */
  addEntry(req: AddEntryRequest): Promise<void>
  /**
   * addEntry without a promise per add, for the server's hot path (optional: a core without it is
   * called through addEntry). Refusals known at once are thrown; otherwise `done` hears the outcome.
   */
  addEntryWith?(entry: Buffer, masterKey: Buffer, recovery: boolean, done: AddCallback): void
  readEntry(req: ReadEntryRequest): Promise<Buffer>
  longPollRead(req: LongPollReadRequest): Promise<LongPollReadResult>
  /** The highest LAC this bookie has seen for the ledger (from entries or explicit LAC writes). */
  readLac(ledgerId: number): Promise<number>
  writeLac(ledgerId: number, masterKey: Buffer, lac: number): Promise<void>
  /** Marks the ledger fenced (durably) and returns this bookie's LAC for it. */
  fence(ledgerId: number, masterKey: Buffer): Promise<number>
  info(): Promise<BookieInfo>
  isReadOnly(): boolean
}
