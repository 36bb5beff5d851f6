/**
 * An in-memory LedgerMetadataStore for the seeded simulation tests of the add and recovery logic: the
 * same contract as ledger/zk-metadata-store.ts (ids from 1 up, versions from 0, compare-and-set,
 * NoSuchLedgerError, watches until unsubscribed) without ZooKeeper, so a run depends only on its seed.
 *
 * Every value going in or coming out is deep-copied, so a caller mutating what it holds never changes
 * the store (the ZooKeeper store has the same property through its codec).
 *
 * Fault hooks for tests:
 * - `conflictNextWrite(mutate?)`: before the next writeLedgerMetadata, another "client" rewrites the
 *   stored value (applying `mutate`, default unchanged) and bumps its version, so that write fails with
 *   MetadataVersionError exactly as a lost CAS race does, and a re-read sees the other writer's value.
 * - `failNextWrites(n, error?)`: the next n writes (create/write/remove) reject with `error` (default a
 *   retriable LedgerError METADATA_STORE) without changing anything.
 * - `writes`: every successful write (including the hooks' "other client" writes), in order (ledger id, version written, the value) for assertions.
 *
 * Watch listeners are called from a microtask after the change (ZooKeeper delivers watches
 * asynchronously too), with the value current at delivery time.
 */
import {LedgerError, LedgerErrorCode, MetadataVersionError, NoSuchLedgerError} from '../../src/engine/ledger/errors.js'
import type {BookieId, LedgerMetadata, LedgerMetadataStore, Versioned} from '../../src/engine/ledger/types.js'

/**
 * The one builder of ledger metadata literals in tests: OPEN, nothing written, one ensemble of `bookies`
 * from entry 0; E = bookies.length, Qw = E and Qa = min(2, Qw) unless `over` sets them. Any field of
 * `over` replaces the default; an undefined one keeps it (so optional options pass straight through).
 */
export function newLedgerMetadata(ledgerId: number, bookies: readonly BookieId[], over: Partial<LedgerMetadata> = {}): LedgerMetadata {
  const writeQuorumSize = over.writeQuorumSize ?? bookies.length
  const defaults: LedgerMetadata = {
    ledgerId,
    ensembleSize: bookies.length,
    writeQuorumSize,
    ackQuorumSize: Math.min(2, writeQuorumSize),
    state: 'OPEN',
    lastEntryId: -1,
    length: 0,
    digestType: 'CRC32C',
    password: Buffer.alloc(0),
    ensembles: [{firstEntryId: 0, bookies: [...bookies]}],
    ctimeMs: 0,
    customMetadata: {},
  }
  const given = Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) as Partial<LedgerMetadata>
  return {...defaults, ...given}
}

/** Valid OPEN metadata for tests: E3 Qw3 Qa2 over three local bookies; `over` replaces fields. */
export function sampleLedgerMetadata(ledgerId: number, over: Partial<LedgerMetadata> = {}): LedgerMetadata {
  return newLedgerMetadata(ledgerId, ['127.0.0.1:3181', '127.0.0.1:3182', '127.0.0.1:3183'], {
    password: Buffer.from('pw'),
    ctimeMs: 1_700_000_000_000,
    customMetadata: {application: Buffer.from('dl')},
    ...over,
  })
}

/**
 * The Qw bookies holding `entryId` under `m` (round robin over the ensemble in force from that entry on).
 * Written here independently of ledger/read-handle.ts writeSetOf, so striping tests check the code
 * instead of repeating it.
 */
export function expectedWriteSet(m: LedgerMetadata, entryId: number): BookieId[] {
  let seg = m.ensembles[0] as {bookies: readonly BookieId[]}
  for (const s of m.ensembles) if (s.firstEntryId <= entryId) seg = s
  return Array.from({length: m.writeQuorumSize}, (_, i) => seg.bookies[(entryId + i) % seg.bookies.length] as BookieId)
}

export function cloneMetadata(m: LedgerMetadata): LedgerMetadata {
  return {
    ...m,
    password: Buffer.from(m.password),
    ensembles: m.ensembles.map((s) => ({firstEntryId: s.firstEntryId, bookies: [...s.bookies]})),
    customMetadata: Object.fromEntries(Object.entries(m.customMetadata).map(([k, v]) => [k, Buffer.from(v)])),
  }
}

function cloneVersioned(v: Versioned<LedgerMetadata>): Versioned<LedgerMetadata> {
  return {value: cloneMetadata(v.value), version: v.version}
}

type Listener = (metadata: Versioned<LedgerMetadata> | undefined) => void

export class MemoryLedgerMetadataStore implements LedgerMetadataStore {
  private readonly ledgers = new Map<number, Versioned<LedgerMetadata>>()
  private readonly listeners = new Map<number, Set<Listener>>()
  private nextId: number
  private pendingConflicts: ((m: LedgerMetadata) => LedgerMetadata)[] = []
  private failures: {left: number; error: () => Error} = {left: 0, error: () => new Error('unused')}
  readonly writes: {ledgerId: number; version: number; value: LedgerMetadata | undefined}[] = []

  constructor(opts: {firstLedgerId?: number} = {}) {
    this.nextId = opts.firstLedgerId ?? 1
  }

  // ---- fault hooks ----

  conflictNextWrite(mutate: (m: LedgerMetadata) => LedgerMetadata = (m) => m): void {
    this.pendingConflicts.push(mutate)
  }

  failNextWrites(count: number, error?: () => Error): void {
    this.failures = {
      left: count,
      error: error ?? (() => new LedgerError(LedgerErrorCode.METADATA_STORE, 'injected metadata store failure', {retriable: true})),
    }
  }

  /** A write by "another client", bypassing the hooks: bumps the version and notifies watchers. */
  externalUpdate(ledgerId: number, mutate: (m: LedgerMetadata) => LedgerMetadata): Versioned<LedgerMetadata> {
    const current = this.ledgers.get(ledgerId)
    if (!current) throw new NoSuchLedgerError(ledgerId)
    const next = {value: cloneMetadata(mutate(cloneMetadata(current.value))), version: current.version + 1}
    this.ledgers.set(ledgerId, next)
    this.writes.push({ledgerId, version: next.version, value: cloneMetadata(next.value)})
    this.notify(ledgerId)
    return cloneVersioned(next)
  }

  /** The stored value without going through the async API (for assertions). */
  peek(ledgerId: number): Versioned<LedgerMetadata> | undefined {
    const v = this.ledgers.get(ledgerId)
    return v ? cloneVersioned(v) : undefined
  }

  watcherCount(ledgerId: number): number {
    return this.listeners.get(ledgerId)?.size ?? 0
  }

  // ---- LedgerMetadataStore ----

  async createLedgerMetadata(build: (ledgerId: number) => LedgerMetadata): Promise<Versioned<LedgerMetadata>> {
    this.maybeFail()
    const ledgerId = this.nextId++
    const value = cloneMetadata(build(ledgerId))
    if (value.ledgerId !== ledgerId) {
      throw new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, `metadata built for ledger ${ledgerId} names ledger ${value.ledgerId}`)
    }
    const stored = {value, version: 0}
    this.ledgers.set(ledgerId, stored)
    this.writes.push({ledgerId, version: 0, value: cloneMetadata(value)})
    return cloneVersioned(stored)
  }

  async readLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>> {
    const v = this.ledgers.get(ledgerId)
    if (!v) throw new NoSuchLedgerError(ledgerId)
    return cloneVersioned(v)
  }

  async writeLedgerMetadata(metadata: LedgerMetadata, expectedVersion: number): Promise<Versioned<LedgerMetadata>> {
    this.maybeFail()
    const ledgerId = metadata.ledgerId
    const conflict = this.pendingConflicts.shift()
    if (conflict && this.ledgers.has(ledgerId)) this.externalUpdate(ledgerId, conflict)
    const current = this.ledgers.get(ledgerId)
    if (!current) throw new NoSuchLedgerError(ledgerId)
    if (current.version !== expectedVersion) throw new MetadataVersionError(ledgerId, expectedVersion)
    const next = {value: cloneMetadata(metadata), version: current.version + 1}
    this.ledgers.set(ledgerId, next)
    this.writes.push({ledgerId, version: next.version, value: cloneMetadata(metadata)})
    this.notify(ledgerId)
    return cloneVersioned(next)
  }

  async removeLedgerMetadata(ledgerId: number, expectedVersion: number): Promise<void> {
    this.maybeFail()
    const current = this.ledgers.get(ledgerId)
    if (!current) throw new NoSuchLedgerError(ledgerId)
    if (expectedVersion !== -1 && current.version !== expectedVersion) throw new MetadataVersionError(ledgerId, expectedVersion)
    this.ledgers.delete(ledgerId)
    this.writes.push({ledgerId, version: -1, value: undefined})
    this.notify(ledgerId)
  }

  async listLedgers(): Promise<number[]> {
    return [...this.ledgers.keys()].sort((a, b) => a - b)
  }

  watchLedgerMetadata(ledgerId: number, listener: Listener): () => void {
    let set = this.listeners.get(ledgerId)
    if (!set) this.listeners.set(ledgerId, (set = new Set()))
    // Each subscription is its own entry, so the same function subscribed twice is called twice.
    const entry: Listener = (m) => listener(m)
    set.add(entry)
    return () => {
      set.delete(entry)
      if (set.size === 0 && this.listeners.get(ledgerId) === set) this.listeners.delete(ledgerId)
    }
  }

  private maybeFail(): void {
    if (this.failures.left > 0) {
      this.failures.left--
      throw this.failures.error()
    }
  }

  private notify(ledgerId: number): void {
    const set = this.listeners.get(ledgerId)
    if (!set || set.size === 0) return
    queueMicrotask(() => {
      const current = this.ledgers.get(ledgerId)
      for (const l of [...set]) {
        if (set.has(l)) l(current ? cloneVersioned(current) : undefined)
      }
    })
  }
}
