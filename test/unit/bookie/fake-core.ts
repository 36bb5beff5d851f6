/**
 * An in-memory BookieCore for server tests: stores entries per ledger, tracks LAC and fencing, and can
 * hold adds back (gate) so tests control when acks happen.
 */
import {deferred, type Deferred} from '../../../src/engine/common/deferred.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {decodeEntryHeader} from '../../../src/engine/protocol/bookie/entry.js'
import type {
  AddEntryRequest,
  BookieCore,
  BookieInfo,
  LongPollReadRequest,
  LongPollReadResult,
  ReadEntryRequest,
} from '../../../src/engine/bookie/types.js'

interface Ledger {
  masterKey: Buffer
  entries: Map<number, Buffer>
  lac: number
  fenced: boolean
}

export class FakeBookieCore implements BookieCore {
  readonly ledgers = new Map<number, Ledger>()
  readOnly = false
  /** When set, adds wait for release(). */
  holding = false
  addsSeen = 0
  private held: {d: Deferred<void>; apply: () => void}[] = []
  private waiters: {ledgerId: number; entryId: number; d: Deferred<LongPollReadResult>}[] = []

  private ledger(ledgerId: number): Ledger {
    const l = this.ledgers.get(ledgerId)
    if (!l) throw new BookieError(BookieStatus.NO_LEDGER, `no ledger ${ledgerId}`)
    return l
  }

  async addEntry(req: AddEntryRequest): Promise<void> {
    this.addsSeen++
    if (this.readOnly) throw new BookieError(BookieStatus.READ_ONLY, 'read-only')
    const h = decodeEntryHeader(req.entry)
    let l = this.ledgers.get(h.ledgerId)
    if (!l) {
      l = {masterKey: Buffer.from(req.masterKey), entries: new Map(), lac: -1, fenced: false}
      this.ledgers.set(h.ledgerId, l)
    }
    if (!l.masterKey.equals(req.masterKey)) throw new BookieError(BookieStatus.UNAUTHORIZED, 'bad key')
    if (l.fenced && !req.recovery) throw new BookieError(BookieStatus.FENCED, 'fenced')
    const ledger = l
    const apply = () => {
      ledger.entries.set(h.entryId, Buffer.from(req.entry))
      ledger.lac = Math.max(ledger.lac, h.lac)
      this.wake(h.ledgerId)
    }
    if (!this.holding) return apply()
    const d = deferred<void>()
    this.held.push({d, apply})
    return d.promise
  }

  release(): void {
    const held = this.held
    this.held = []
    for (const h of held) {
      h.apply()
      h.d.resolve()
    }
  }

  get heldCount(): number {
    return this.held.length
  }

  async readEntry(req: ReadEntryRequest): Promise<Buffer> {
    const l = this.ledger(req.ledgerId)
    if (req.fence) l.fenced = true
    const e = l.entries.get(req.entryId)
    if (!e) throw new BookieError(BookieStatus.NO_ENTRY, `no entry ${req.entryId}`)
    return e
  }

  async longPollRead(req: LongPollReadRequest): Promise<LongPollReadResult> {
    const l = this.ledgers.get(req.ledgerId)
    if (l && l.lac >= req.entryId) return {lac: l.lac, entry: l.entries.get(req.entryId) as Buffer}
    const d = deferred<LongPollReadResult>()
    this.waiters.push({ledgerId: req.ledgerId, entryId: req.entryId, d})
    setTimeout(() => d.resolve({lac: this.ledgers.get(req.ledgerId)?.lac ?? -1}), req.timeoutMs).unref()
    return d.promise
  }

  private wake(ledgerId: number): void {
    const l = this.ledger(ledgerId)
    this.waiters = this.waiters.filter((w) => {
      if (w.ledgerId !== ledgerId || l.lac < w.entryId) return true
      w.d.resolve({lac: l.lac, entry: l.entries.get(w.entryId) as Buffer})
      return false
    })
  }

  async readLac(ledgerId: number): Promise<number> {
    return this.ledger(ledgerId).lac
  }

  async writeLac(ledgerId: number, masterKey: Buffer, lac: number): Promise<void> {
    const l = this.ledger(ledgerId)
    if (!l.masterKey.equals(masterKey)) throw new BookieError(BookieStatus.UNAUTHORIZED, 'bad key')
    l.lac = Math.max(l.lac, lac)
    this.wake(ledgerId)
  }

  async fence(ledgerId: number, masterKey: Buffer): Promise<number> {
    const l = this.ledger(ledgerId)
    if (!l.masterKey.equals(masterKey)) throw new BookieError(BookieStatus.UNAUTHORIZED, 'bad key')
    l.fenced = true
    return l.lac
  }

  async info(): Promise<BookieInfo> {
    return {freeDiskBytes: 1000, totalDiskBytes: 5000, readOnly: this.readOnly}
  }

  isReadOnly(): boolean {
    return this.readOnly
  }
}
