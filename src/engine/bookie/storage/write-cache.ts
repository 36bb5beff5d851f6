/**
 * The write cache (BK's memtable / DbLedgerStorage write cache): journaled entries wait here until the
 * flusher moves them to an entry log. Entries are copied into 1 MiB slabs laid out exactly like an
 * entry log's records (`length uint32 BE, entry bytes`), so a flush writes each slab with one write
 * call; a per-ledger table finds an entry's record for reads and for building the index. Copying also
 * detaches entries from the network buffers they arrived in. Slabs go back to a bounded pool after a
 * flush so a steady load does not churn the allocator.
 *
 * The per-ledger table is an array indexed by entry id (a ledger's entries arrive in order, or with
 * small gaps when a bookie holds every n-th entry of a striped ensemble), so the add path appends to
 * an array instead of growing a hash map; ids far outside the run go to a map.
 */
import {assert} from '../../common/assert.js'

export const SLAB_BYTES = 1024 * 1024
/** Bytes of the length prefix in front of every record (in slabs and in entry logs). */
export const RECORD_PREFIX_BYTES = 4
/** Positions pack (slab index, offset): offsets stay below this span (> the largest record). */
export const POS_SPAN = 2 ** 23
/** Largest gap of missing ids the dense run of a ledger's table bridges with holes. */
const DENSE_GAP_MAX = 64
const HOLE = -1

/** Packed record positions of one ledger's cached entries, by entry id. */
export class LedgerPositions {
  /** Entry id of dense[0] (meaningful once dense is not empty). */
  first = 0
  /** Positions from `first` on; HOLE where no entry is cached. */
  readonly dense: number[] = []
  /** Ids that do not fit the dense run. */
  sparse: Map<number, number> | undefined

  set(entryId: number, pos: number): void {
    const dense = this.dense
    if (dense.length === 0 && this.sparse === undefined) {
      this.first = entryId
      dense.push(pos)
      return
    }
    const i = entryId - this.first
    if (i === dense.length) {
      dense.push(pos)
    } else if (i >= 0 && i < dense.length) {
      dense[i] = pos
    } else if (i > dense.length && i - dense.length <= DENSE_GAP_MAX && dense.length > 0) {
      while (dense.length < i) dense.push(HOLE)
      dense.push(pos)
    } else {
      this.sparse ??= new Map()
      this.sparse.set(entryId, pos)
    }
  }

  get(entryId: number): number | undefined {
    const i = entryId - this.first
    if (i >= 0 && i < this.dense.length) {
      const pos = this.dense[i] as number
      if (pos !== HOLE) return pos
    }
    return this.sparse?.get(entryId)
  }

  /** Calls fn for every cached entry (dense run first, then the others). */
  forEach(fn: (entryId: number, pos: number) => void): void {
    const {dense, first} = this
    for (let i = 0; i < dense.length; i++) {
      const pos = dense[i] as number
      if (pos !== HOLE) fn(first + i, pos)
    }
    if (this.sparse) for (const [entryId, pos] of this.sparse) if (this.get(entryId) === pos) fn(entryId, pos)
  }
}

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
  readonly ledgers = new Map<number, LedgerPositions>()
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
    const buf = slab.buf
    const n = entry.length
    buf[offset] = n >>> 24
    buf[offset + 1] = (n >>> 16) & 0xff
    buf[offset + 2] = (n >>> 8) & 0xff
    buf[offset + 3] = n & 0xff
    buf.set(entry, offset + RECORD_PREFIX_BYTES)
    slab.used += recordBytes
    let positions = this.ledgers.get(ledgerId)
    if (!positions) {
      positions = new LedgerPositions()
      this.ledgers.set(ledgerId, positions)
    }
    positions.set(entryId, (this.slabs.length - 1) * POS_SPAN + offset)
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
    return this.ledgers.get(ledgerId)?.get(entryId) !== undefined
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
