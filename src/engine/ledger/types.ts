/**
 * The contracts of the replicated-ledger client: what a ledger's metadata holds, how the client reaches
 * bookies (BookieTransport), ZooKeeper (LedgerMetadataStore) and the bookie registry (BookiePlacement),
 * and the handles applications get back (WriteHandle, ReadHandle) from the LedgerClient.
 *
 * These are interfaces so the add and recovery logic can run over an injected transport, store and clock
 * in the seeded simulation tests, and over TCP and ZooKeeper everywhere else. Nothing here imports the
 * bookie server: the client meets bookies only in protocol/bookie.
 */
import type {Clock} from '../common/clock.js'
import type {Logger} from '../common/logger.js'
import type {Random} from '../common/random.js'
import type {BookieId, LedgerMetadata} from '../protocol/ledger/metadata-format.js'

export type {BookieId, EnsembleSegment, LedgerMetadata, LedgerState} from '../protocol/ledger/metadata-format.js'

/** A value read from, or written to, ZooKeeper with the znode version every update compares and sets. */
export interface Versioned<T> {
  value: T
  version: number
}

// ---------------------------------------------------------------------------------------------------
// Transport: one object reaching every bookie. TCP in production (ledger/tcp-transport.ts), simulated in
// the sim tests. Each call either resolves or rejects with a BookieError (protocol/bookie/codes.ts, the
// bookie's status), a BookieConnectionError (retriable), or a TimeoutError. A call never hangs: the
// transport bounds every request by its timeout.
// ---------------------------------------------------------------------------------------------------

export interface BookieTransport {
  /** Sends an encoded entry (protocol/bookie/entry.ts). Resolves once the bookie has it fsynced. */
  addEntry(bookie: BookieId, ledgerId: number, entryId: number, entry: Buffer, masterKey: Buffer, opts?: {recovery?: boolean}): Promise<void>
  /**
   * Optional callback form of addEntry, which the write handle prefers (it runs Qw times per append, and
   * a promise each costs more than the rest of the client's add path): `done` is called exactly once,
   * never synchronously, with undefined once the bookie has the entry fsynced, else the error addEntry
   * would reject with.
   */
  addEntryCallback?(bookie: BookieId, ledgerId: number, entryId: number, entry: Buffer, masterKey: Buffer, recovery: boolean, done: (error: Error | undefined) => void): void
  /** The encoded entry as the writer sent it (the caller verifies its CRC32C). */
  readEntry(bookie: BookieId, ledgerId: number, entryId: number, opts?: {fence?: boolean; masterKey?: Buffer}): Promise<Buffer>
  readLac(bookie: BookieId, ledgerId: number): Promise<number>
  writeLac(bookie: BookieId, ledgerId: number, lac: number, masterKey: Buffer): Promise<void>
  /** Fences the ledger on that bookie; resolves with the bookie's LAC for it (-1 when it has none). */
  fence(bookie: BookieId, ledgerId: number, masterKey: Buffer): Promise<number>
  /**
   * Waits on the bookie until its LAC reaches `entryId` or `timeoutMs` passes; resolves with the LAC and,
   * when the entry is there, the encoded entry.
   */
  longPollRead(bookie: BookieId, ledgerId: number, entryId: number, timeoutMs: number): Promise<{lac: number; entry?: Buffer}>
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------------
// Metadata store: ledger metadata in ZooKeeper (ledger/zk-metadata-store.ts), or in memory in sim tests.
// ---------------------------------------------------------------------------------------------------

export interface LedgerMetadataStore {
  /** Allocates a ledger id unique across every client and process, then stores `build(id)` at version 0. */
  createLedgerMetadata(build: (ledgerId: number) => LedgerMetadata): Promise<Versioned<LedgerMetadata>>
  /** Throws NoSuchLedgerError. */
  readLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>>
  /** Compare-and-set; throws MetadataVersionError when the stored version is not `expectedVersion`. */
  writeLedgerMetadata(metadata: LedgerMetadata, expectedVersion: number): Promise<Versioned<LedgerMetadata>>
  /** Throws NoSuchLedgerError; `expectedVersion` -1 deletes whatever version is there. */
  removeLedgerMetadata(ledgerId: number, expectedVersion: number): Promise<void>
  /** Every ledger id, ascending. */
  listLedgers(): Promise<number[]>
  /**
   * Calls `listener` whenever the ledger's metadata changes (or with `undefined` once it is deleted)
   * until the returned function is called. Readers use it to learn that a ledger was closed.
   */
  watchLedgerMetadata(ledgerId: number, listener: (metadata: Versioned<LedgerMetadata> | undefined) => void): () => void
}

// ---------------------------------------------------------------------------------------------------
// Placement: which bookies a new ensemble, or a replacement, may use (ledger/placement.ts).
// ---------------------------------------------------------------------------------------------------

export interface BookiePlacement {
  /** `size` distinct writable bookies, none in `exclude`; throws NotEnoughBookiesError (needed, found). */
  newEnsemble(size: number, exclude?: ReadonlySet<BookieId>): Promise<BookieId[]>
  /** One writable bookie not in `ensemble` and not in `exclude`; throws NotEnoughBookiesError. */
  replaceBookie(ensemble: readonly BookieId[], failed: BookieId, exclude?: ReadonlySet<BookieId>): Promise<BookieId>
  /** Current writable bookies (for tools and tests). */
  writableBookies(): Promise<BookieId[]>
  close(): void
}

// ---------------------------------------------------------------------------------------------------
// Client configuration and the context every handle shares.
// ---------------------------------------------------------------------------------------------------

export interface LedgerClientConfig {
  /** A bookie that has not answered an add within this is treated as failed (ensemble change). */
  addEntryTimeoutMs: number
  /** A read that has not answered within this fails over to the next replica. */
  readEntryTimeoutMs: number
  /** A read still unanswered after this also goes to the next replica; the first answer wins. 0 = off. */
  speculativeReadTimeoutMs: number
  /** An idle writer sends an explicit LAC to its bookies after this long. 0 = off. */
  explicitLacIntervalMs: number
  /** Adds in flight per write handle; append() waits for room beyond this. */
  outstandingAddsMax: number
  /** Ensemble changes one write handle may make before its adds fail. */
  ensembleChangesMax: number
  /** Attempts at one metadata compare-and-set before giving up. */
  metadataRetriesMax: number
}

export const LEDGER_CLIENT_DEFAULTS: LedgerClientConfig = {
  addEntryTimeoutMs: 10_000,
  readEntryTimeoutMs: 10_000,
  speculativeReadTimeoutMs: 2_000,
  explicitLacIntervalMs: 1_000,
  outstandingAddsMax: 10_000,
  ensembleChangesMax: 32,
  metadataRetriesMax: 16,
}

export interface LedgerContext {
  transport: BookieTransport
  metadataStore: LedgerMetadataStore
  placement: BookiePlacement
  clock: Clock
  random: Random
  logger: Logger
  config: LedgerClientConfig
}

// ---------------------------------------------------------------------------------------------------
// Handles.
// ---------------------------------------------------------------------------------------------------

export interface LedgerEntry {
  ledgerId: number
  entryId: number
  /** Total ledger bytes up to and including this entry. */
  length: number
  payload: Buffer
}

export interface CreateLedgerOptions {
  ensembleSize?: number
  writeQuorumSize?: number
  ackQuorumSize?: number
  password?: Buffer
  customMetadata?: Record<string, Buffer>
}

/** A ledger opened for writing by its creator (ledger/write-handle.ts). */
export interface WriteHandle {
  readonly ledgerId: number
  /** The metadata as last written by this handle (ensemble changes and close update it). */
  readonly metadata: LedgerMetadata
  /** Highest entry id acknowledged by an ack quorum, with every entry before it also acknowledged. */
  readonly lastAddConfirmed: number
  /** Highest entry id handed out by append() so far. */
  readonly lastAddPushed: number
  /**
   * Appends one entry. Resolves with its entry id once Qa bookies of its write set have it fsynced;
   * completions happen in entry-id order. Rejects with a LedgerError once the handle is broken, fenced,
   * or closed; after one append fails, every later one fails too.
   */
  append(payload: Buffer): Promise<number>
  /** Waits for outstanding appends, then writes state CLOSED with the last entry id and length. */
  close(): Promise<void>
}

/** A ledger opened for reading (ledger/read-handle.ts), either as it is (readers) or after recovery. */
export interface ReadHandle {
  readonly ledgerId: number
  readonly metadata: LedgerMetadata
  /** LAC as far as this handle knows: the last entry id when closed, else the highest LAC seen. */
  readonly lastAddConfirmed: number
  readonly isClosed: boolean
  /** Entries first..last inclusive, in order; throws if `last` is beyond lastAddConfirmed. */
  readEntries(firstEntryId: number, lastEntryId: number): Promise<LedgerEntry[]>
  /** Asks the bookies for their LAC, updates lastAddConfirmed, and returns it. */
  readLastAddConfirmed(): Promise<number>
  /**
   * Long poll: resolves once the LAC reaches `entryId` (with that entry) or after about `timeoutMs`
   * (without it). Updates lastAddConfirmed either way.
   */
  readLastAddConfirmedAndEntry(entryId: number, timeoutMs: number): Promise<{lac: number; entry?: LedgerEntry}>
  close(): Promise<void>
}

/** What the log layer (and bkshell) use: ledger/ledger-client.ts implements it. */
export interface LedgerClientApi {
  createLedger(opts?: CreateLedgerOptions): Promise<WriteHandle>
  /** Opens for reading without fencing: readers tail an open ledger this way. */
  openLedgerNoRecovery(ledgerId: number): Promise<ReadHandle>
  /** Fences the ledger, recovers its last entry, closes it; the old writer's adds then fail with LedgerFencedError. */
  openLedger(ledgerId: number, opts?: {password?: Buffer}): Promise<ReadHandle>
  deleteLedger(ledgerId: number): Promise<void>
  listLedgers(): Promise<number[]>
  getLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>>
  close(): Promise<void>
}
