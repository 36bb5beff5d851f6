/**
 * An in-memory LedgerClientApi for the log core's unit and simulation tests: ledgers, write handles and
 * read handles with BookKeeper's visibility rules, without bookies.
 *
 * LAC semantics as in BookKeeper: a write handle's lastAddConfirmed advances in entry-id order as
 * appends are acknowledged; readers learn the LAC only as it is *piggybacked* on the entries the writer
 * sends (each entry carries the writer's LAC at the time it was sent), so the last acknowledged entry
 * becomes readable only after a later entry (or an explicit `publishLac`) was sent. A closed ledger is
 * readable to its last entry. readLastAddConfirmedAndEntry is a real long poll: it waits (on the injected
 * clock) until the LAC reaches the entry or the timeout passes; `stats` counts calls so tests can prove a
 * reader does not busy-poll.
 *
 * Acknowledgements: `ackMode: 'auto'` acknowledges each append on a later microtask, in order;
 * `'manual'` keeps them pending until `ackNext(n)` / `ackAll()` so a test (or a seeded simulation)
 * chooses the interleaving.
 *
 * Fault injection:
 * - `failAppends(opts)`: the next append (after `after` more succeed) fails with `error` (default a
 *   WriteException LedgerError); as in the real handle, every later append of that handle fails too.
 * - `fence(ledgerId)`: what a recovering opener does; pending and later appends fail LedgerFencedError.
 * - `failReads(n, error?)`: the next n read calls reject.
 */
import type {Clock, TimerHandle} from '../../src/engine/common/clock.js'
import {systemClock} from '../../src/engine/common/clock.js'
import {LedgerError, LedgerErrorCode, LedgerFencedError, NoSuchLedgerError} from '../../src/engine/ledger/errors.js'
import type {
  CreateLedgerOptions,
  LedgerClientApi,
  LedgerEntry,
  LedgerMetadata,
  ReadHandle,
  Versioned,
  WriteHandle,
} from '../../src/engine/ledger/types.js'
import {newLedgerMetadata} from './memory-ledger-metadata.js'

interface StoredEntry {
  payload: Buffer
  /** The writer's LAC when it sent this entry (what a reader learns from it). */
  lacAtSend: number
  length: number
}

interface PendingAppend {
  entryId: number
  resolve: (id: number) => void
  reject: (e: Error) => void
  settled?: Promise<unknown>
}

class MemLedger {
  readonly entries: StoredEntry[] = []
  metadata: LedgerMetadata
  version = 0
  fenced = false
  /** LAC published explicitly (explicit LAC / writeLac). */
  explicitLac = -1
  readonly waiters = new Set<() => void>()

  constructor(metadata: LedgerMetadata) {
    this.metadata = metadata
  }

  get closed(): boolean {
    return this.metadata.state === 'CLOSED'
  }

  /** The LAC a reader can learn from the bookies. */
  readableLac(): number {
    if (this.closed) return this.metadata.lastEntryId
    let lac = this.explicitLac
    for (let i = this.entries.length - 1; i >= 0 && i >= lac; i--) {
      const e = this.entries[i] as StoredEntry
      if (e.lacAtSend > lac) lac = e.lacAtSend
    }
    return lac
  }

  notify(): void {
    for (const w of [...this.waiters]) w()
  }
}

export interface MemoryLedgersOptions {
  clock?: Clock
  ackMode?: 'auto' | 'manual'
}

export class MemoryLedgers implements LedgerClientApi {
  readonly clock: Clock
  ackMode: 'auto' | 'manual'
  readonly ledgers = new Map<number, MemLedger>()
  readonly stats = {appends: 0, readEntries: 0, readLac: 0, longPolls: 0, longPollTimeouts: 0}
  private nextLedgerId = 1
  private readonly pending: {handle: MemWriteHandle; op: PendingAppend}[] = []
  private readonly writeHandles = new Map<number, MemWriteHandle>()
  private appendFaults: {ledgerId?: number; after: number; error: Error}[] = []
  private readFaults: Error[] = []
  private closedClient = false

  constructor(opts: MemoryLedgersOptions = {}) {
    this.clock = opts.clock ?? systemClock
    this.ackMode = opts.ackMode ?? 'auto'
  }

  // ---------------------------------------------------------------------------------------------
  // LedgerClientApi

  async createLedger(opts: CreateLedgerOptions = {}): Promise<WriteHandle> {
    this.checkOpen()
    const ledgerId = this.nextLedgerId++
    const e = opts.ensembleSize ?? 3
    const bookies = Array.from({length: e}, (_, i) => `127.0.0.1:${3181 + i}`)
    const ledger = new MemLedger(
      newLedgerMetadata(ledgerId, bookies, {
        writeQuorumSize: opts.writeQuorumSize,
        ackQuorumSize: opts.ackQuorumSize,
        password: opts.password,
        ctimeMs: this.clock.nowMs(),
        customMetadata: opts.customMetadata,
      }),
    )
    this.ledgers.set(ledgerId, ledger)
    const handle = new MemWriteHandle(this, ledger)
    this.writeHandles.set(ledgerId, handle)
    return handle
  }

  async openLedgerNoRecovery(ledgerId: number): Promise<ReadHandle> {
    this.checkOpen()
    return new MemReadHandle(this, this.ledger(ledgerId))
  }

  async openLedger(ledgerId: number): Promise<ReadHandle> {
    this.checkOpen()
    const ledger = this.ledger(ledgerId)
    if (!ledger.closed) {
      this.fence(ledgerId)
      // Recovery: every entry that reached the bookies is recovered, then the ledger is closed there.
      this.closeLedger(ledger, ledger.entries.length - 1)
    }
    return new MemReadHandle(this, ledger)
  }

  async deleteLedger(ledgerId: number): Promise<void> {
    this.ledger(ledgerId)
    this.ledgers.delete(ledgerId)
  }

  async listLedgers(): Promise<number[]> {
    return [...this.ledgers.keys()].sort((a, b) => a - b)
  }

  async getLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>> {
    const l = this.ledger(ledgerId)
    return {value: {...l.metadata}, version: l.version}
  }

  async close(): Promise<void> {
    this.closedClient = true
  }

  // ---------------------------------------------------------------------------------------------
  // Control for tests

  /** The next append (of `ledgerId`, or any) fails after `after` more succeed. */
  failAppends(opts: {ledgerId?: number; after?: number; error?: Error} = {}): void {
    this.appendFaults.push({
      ledgerId: opts.ledgerId,
      after: opts.after ?? 0,
      error: opts.error ?? new LedgerError(LedgerErrorCode.WRITE_FAILED, 'injected add failure', {ledgerId: opts.ledgerId}),
    })
  }

  failReads(n: number, error: Error = new LedgerError(LedgerErrorCode.READ_FAILED, 'injected read failure')): void {
    for (let i = 0; i < n; i++) this.readFaults.push(error)
  }

  /** Another client fences the ledger: the writer's pending and later appends fail. */
  fence(ledgerId: number): void {
    const ledger = this.ledger(ledgerId)
    ledger.fenced = true
    this.writeHandles.get(ledgerId)?.failFrom(new LedgerFencedError(ledgerId))
  }

  /** Makes `lac` readable without a new entry (the real client's explicit LAC when idle). */
  publishLac(ledgerId: number, lac: number): void {
    const l = this.ledger(ledgerId)
    l.explicitLac = Math.max(l.explicitLac, lac)
    l.notify()
  }

  /** Appends waiting for acknowledgement (manual mode). */
  pendingAcks(): number {
    return this.pending.length
  }

  /** Acknowledges the oldest `n` pending appends (in order, as bookies would). Returns how many. */
  ackNext(n = 1): number {
    let done = 0
    while (done < n && this.pending.length > 0) {
      const p = this.pending.shift()!
      p.handle.ackComplete(p.op)
      done++
    }
    return done
  }

  ackAll(): number {
    return this.ackNext(Number.MAX_SAFE_INTEGER)
  }

  /** Fails the oldest pending append (and so the rest of its handle's). */
  failNextPending(error: Error = new LedgerError(LedgerErrorCode.WRITE_FAILED, 'injected add failure')): boolean {
    const p = this.pending[0]
    if (!p) return false
    p.handle.failFrom(error, p.op)
    return true
  }

  entriesOf(ledgerId: number): Buffer[] {
    return this.ledger(ledgerId).entries.map((e) => e.payload)
  }

  // ---------------------------------------------------------------------------------------------
  // Internals used by the handles

  ledger(ledgerId: number): MemLedger {
    const l = this.ledgers.get(ledgerId)
    if (!l) throw new NoSuchLedgerError(ledgerId)
    return l
  }

  takeAppendFault(ledgerId: number): Error | undefined {
    const i = this.appendFaults.findIndex((f) => f.ledgerId === undefined || f.ledgerId === ledgerId)
    if (i < 0) return undefined
    const f = this.appendFaults[i]!
    if (f.after > 0) {
      f.after--
      return undefined
    }
    this.appendFaults.splice(i, 1)
    return f.error
  }

  takeReadFault(): Error | undefined {
    return this.readFaults.shift()
  }

  enqueue(handle: MemWriteHandle, op: PendingAppend): void {
    if (this.ackMode === 'manual') {
      this.pending.push({handle, op})
      return
    }
    queueMicrotask(() => handle.ackComplete(op))
  }

  dropPending(ops: readonly PendingAppend[]): void {
    const drop = new Set(ops)
    for (let i = this.pending.length - 1; i >= 0; i--) if (drop.has(this.pending[i]!.op)) this.pending.splice(i, 1)
  }

  closeLedger(ledger: MemLedger, lastEntryId: number): void {
    const last = ledger.entries[lastEntryId]
    ledger.metadata = {...ledger.metadata, state: 'CLOSED', lastEntryId, length: last ? last.length : 0}
    ledger.version++
    ledger.notify()
  }

  private checkOpen(): void {
    if (this.closedClient) throw new LedgerError(LedgerErrorCode.CLIENT_CLOSED, 'client closed')
  }
}

class MemWriteHandle implements WriteHandle {
  readonly ledgerId: number
  lastAddConfirmed = -1
  lastAddPushed = -1
  private readonly client: MemoryLedgers
  private readonly ledger: MemLedger
  private broken: Error | undefined
  private closed = false
  private readonly inflight: PendingAppend[] = []
  private length = 0

  constructor(client: MemoryLedgers, ledger: MemLedger) {
    this.client = client
    this.ledger = ledger
    this.ledgerId = ledger.metadata.ledgerId
  }

  get metadata(): LedgerMetadata {
    return this.ledger.metadata
  }

  append(payload: Buffer): Promise<number> {
    if (this.closed) return Promise.reject(new LedgerError(LedgerErrorCode.LEDGER_CLOSED, `ledger ${this.ledgerId} is closed`, {ledgerId: this.ledgerId}))
    if (this.ledger.fenced) this.broken ??= new LedgerFencedError(this.ledgerId)
    if (this.broken) return Promise.reject(this.broken)
    this.client.stats.appends++
    const entryId = ++this.lastAddPushed
    const fault = this.client.takeAppendFault(this.ledgerId)
    let op!: PendingAppend
    const promise = new Promise<number>((resolve, reject) => {
      op = {entryId, resolve, reject}
    })
    op.settled = promise.then(
      () => undefined,
      () => undefined,
    )
    this.inflight.push(op)
    if (fault) {
      // The entry never reached enough bookies: the handle is broken from here on; the add itself fails
      // on a later turn, after the adds before it (which may still succeed).
      this.broken = fault
      queueMicrotask(() => this.failFrom(fault, op))
      return promise
    }
    this.length += payload.length
    // The bookies store it now (recovery would find it); readers learn the LAC it carries.
    this.ledger.entries.push({payload: Buffer.from(payload), lacAtSend: this.lastAddConfirmed, length: this.length})
    this.ledger.notify()
    this.client.enqueue(this, op)
    return promise
  }

  ackComplete(op: PendingAppend): void {
    if (this.inflight[0] !== op) return
    this.inflight.shift()
    this.lastAddConfirmed = op.entryId
    op.resolve(op.entryId)
  }

  /** Fails `op` (or every in-flight op) and every later one; the handle stays broken. */
  failFrom(error: Error, op?: PendingAppend): void {
    this.broken ??= error
    const start = op ? this.inflight.indexOf(op) : 0
    if (start < 0) return
    const failed = this.inflight.splice(start)
    this.client.dropPending(failed)
    for (const f of failed) f.reject(this.broken)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // Wait for outstanding appends (they complete or fail on their own).
    await Promise.all(this.inflight.map((op) => op.settled))
    if (this.ledger.fenced) throw new LedgerFencedError(this.ledgerId)
    if (!this.ledger.closed) this.client.closeLedger(this.ledger, this.lastAddConfirmed)
  }
}

class MemReadHandle implements ReadHandle {
  readonly ledgerId: number
  lastAddConfirmed: number
  private readonly client: MemoryLedgers
  private readonly ledger: MemLedger
  private closedHandle = false

  constructor(client: MemoryLedgers, ledger: MemLedger) {
    this.client = client
    this.ledger = ledger
    this.ledgerId = ledger.metadata.ledgerId
    this.lastAddConfirmed = ledger.readableLac()
  }

  get metadata(): LedgerMetadata {
    return this.ledger.metadata
  }

  get isClosed(): boolean {
    return this.ledger.closed
  }

  async readEntries(firstEntryId: number, lastEntryId: number): Promise<LedgerEntry[]> {
    this.client.stats.readEntries++
    const fault = this.client.takeReadFault()
    if (fault) throw fault
    if (this.ledger.closed) this.lastAddConfirmed = this.ledger.metadata.lastEntryId
    if (firstEntryId < 0 || lastEntryId < firstEntryId || lastEntryId > this.lastAddConfirmed) {
      throw new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, `read ${firstEntryId}..${lastEntryId} beyond LAC ${this.lastAddConfirmed}`, {ledgerId: this.ledgerId})
    }
    const out: LedgerEntry[] = []
    for (let id = firstEntryId; id <= lastEntryId; id++) out.push(this.entry(id))
    return out
  }

  async readLastAddConfirmed(): Promise<number> {
    this.client.stats.readLac++
    const fault = this.client.takeReadFault()
    if (fault) throw fault
    this.lastAddConfirmed = Math.max(this.lastAddConfirmed, this.ledger.readableLac())
    return this.lastAddConfirmed
  }

  readLastAddConfirmedAndEntry(entryId: number, timeoutMs: number): Promise<{lac: number; entry?: LedgerEntry}> {
    this.client.stats.longPolls++
    const fault = this.client.takeReadFault()
    if (fault) return Promise.reject(fault)
    return new Promise((resolve) => {
      const pending: {timer?: TimerHandle} = {}
      const check = (timedOut: boolean): boolean => {
        const lac = Math.max(this.lastAddConfirmed, this.ledger.readableLac())
        if (lac >= entryId || timedOut || this.ledger.closed || this.closedHandle) {
          this.ledger.waiters.delete(waiter)
          if (pending.timer) this.client.clock.clearTimeout(pending.timer)
          this.lastAddConfirmed = lac
          if (timedOut && lac < entryId) this.client.stats.longPollTimeouts++
          resolve(lac >= entryId && this.ledger.entries[entryId] ? {lac, entry: this.entry(entryId)} : {lac})
          return true
        }
        return false
      }
      const waiter = (): void => {
        check(false)
      }
      if (check(false)) return
      this.ledger.waiters.add(waiter)
      pending.timer = this.client.clock.setTimeout(() => check(true), timeoutMs)
    })
  }

  async close(): Promise<void> {
    this.closedHandle = true
  }

  private entry(id: number): LedgerEntry {
    const e = this.ledger.entries[id]
    if (!e) throw new LedgerError(LedgerErrorCode.NO_SUCH_ENTRY, `no entry ${id}`, {ledgerId: this.ledgerId})
    return {ledgerId: this.ledgerId, entryId: id, length: e.length, payload: e.payload}
  }
}
