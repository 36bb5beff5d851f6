/**
 * The write cache (BK's memtable / DbLedgerStorage write cache): journaled entries wait here until the
 * flusher moves them to an entry log. Entries are copied into 1 MiB slabs laid out exactly like an
 * entry log's records (`length uint32 BE, entry bytes`), so a flush writes each slab with one write
 * call; a per-ledger map finds an entry's record for reads and for building the index. Copying also
 * detaches entries from the network buffers they arrived in. Slabs go back to a bounded pool after a
 * flush so a steady load does not churn the allocator.
 */
import {assert} from '../../common/assert.js'

export const SLAB_BYTES = 1024 * 1024
/** Bytes of the length prefix in front of every record (in slabs and in entry logs). */
export const RECORD_PREFIX_BYTES = 4
/** Positions pack (slab index, offset): offsets stay below this span (> the largest record). */
const POS_SPAN = 2 ** 23

export class SlabPool {
  private readonly free: Buffer[] = []
  private readonly slabsFreeMax: number

  constructor(slabsFreeMax: number) {
    this.slabsFreeMax = slabsFreeMax
  }

  take(bytes: number): Buffer {
    if (bytes <= SLAB_BYTES) return this.free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES)
    return Buffer.allocUnsafeSlow(bytes)
  }

  give(slab: Buffer): void {
    if (slab.length === SLAB_BYTES && this.free.length < this.slabsFreeMax) this.free.push(slab)
  }
}

export interface CachedSlab {
  buf: Buffer
  /** Bytes of records in the slab. */
  used: number
}

export class WriteCache {
  readonly slabs: CachedSlab[] = []
  /** ledgerId → entryId → packed position of the entry's record. */
  readonly ledgers = new Map<number, Map<number, number>>()
  /** Record bytes held (what a flush will write). */
  bytes = 0
  entries = 0
  private readonly pool: SlabPool

  constructor(pool: SlabPool) {
    this.pool = pool
  }

  put(ledgerId: number, entryId: number, entry: Buffer): void {
    const recordBytes = RECORD_PREFIX_BYTES + entry.length
    assert(recordBytes < POS_SPAN, `entry of ${entry.length} bytes is larger than a cache record`)
    let slab = this.slabs[this.slabs.length - 1]
    if (!slab || slab.buf.length - slab.used < recordBytes) {
      slab = {buf: this.pool.take(recordBytes), used: 0}
      this.slabs.push(slab)
    }
    const offset = slab.used
    slab.buf.writeUInt32BE(entry.length, offset)
    entry.copy(slab.buf, offset + RECORD_PREFIX_BYTES)
    slab.used += recordBytes
    let map = this.ledgers.get(ledgerId)
    if (!map) {
      map = new Map()
      this.ledgers.set(ledgerId, map)
    }
    map.set(entryId, (this.slabs.length - 1) * POS_SPAN + offset)
    this.bytes += recordBytes
    this.entries++
  }

  /** A copy of the entry (slabs are reused after a flush, so callers never hold slab memory). */
  get(ledgerId: number, entryId: number): Buffer | undefined {
    const pos = this.ledgers.get(ledgerId)?.get(entryId)
    if (pos === undefined) return undefined
    const {slab, offset} = this.locate(pos)
    const length = slab.buf.readUInt32BE(offset)
    const out = Buffer.allocUnsafe(length)
    slab.buf.copy(out, 0, offset + RECORD_PREFIX_BYTES, offset + RECORD_PREFIX_BYTES + length)
    return out
  }

  has(ledgerId: number, entryId: number): boolean {
    return this.ledgers.get(ledgerId)?.has(entryId) ?? false
  }

  /** Splits a packed position into its slab index and the record's offset in that slab. */
  locate(pos: number): {slabIndex: number; slab: CachedSlab; offset: number} {
    const slabIndex = Math.floor(pos / POS_SPAN)
    const slab = this.slabs[slabIndex]
    assert(slab, `bad cache position ${pos}`)
    return {slabIndex, slab, offset: pos % POS_SPAN}
  }

  /** Forgets a ledger's entries (their bytes stay in the slabs and are never indexed). */
  deleteLedger(ledgerId: number): void {
    this.ledgers.delete(ledgerId)
  }

  get empty(): boolean {
    return this.entries === 0
  }

  /** Returns the slabs to the pool; the cache must not be used afterwards. */
  release(): void {
    for (const s of this.slabs) this.pool.give(s.buf)
    this.slabs.length = 0
    this.ledgers.clear()
  }
}
