/**
 * The ledger index and metadata store, in LevelDB (classic-level) at `<ledgerDirs[0]>/current/index`.
 * Entry locations are kept in pages of 128 consecutive entry ids (like BK's ledger index pages), so a
 * flush of N entries writes about N/128 keys, not N: the add path never touches LevelDB, and a checkpoint
 * commits pages, ledger metadata, entry log metadata and the journal positions in one synced batch.
 *
 * Key layout (integers big-endian):
 *
 *   0x01 ledgerId uint64 page uint64  → index page: 128 × (logId uint32, offset uint32, length uint32);
 *                                      slot entryId % 128; length 0 = no entry
 *   0x02 ledgerId uint64              → ledger metadata: version uint8 (1), flags uint8 (bit 0 fenced),
 *                                      keyLength uint16, masterKey, lac int64, lastEntryId int64
 *   0x03 logId uint32                 → entry log metadata: version uint8 (1), end uint64 (offset past
 *                                      the last committed record), count uint32,
 *                                      count × (ledgerId uint64, bytes uint64): bytes each ledger has there
 *   0x04 journalIndex uint16          → checkpoint: fileId uint64, offset uint64 (the journal position
 *                                      replay starts from)
 *
 * Reads look the page up in a bounded in-memory LRU first (catch-up readers walk a page 128 times).
 */
import {ClassicLevel} from 'classic-level'
import {join} from 'node:path'
import {assert} from '../../common/assert.js'
import {InvalidInputError} from '../../common/errors.js'
import type {WalPosition} from '../../common/wal/types.js'
import {currentDir} from './dirs.js'

export const ENTRIES_PER_PAGE = 128
const SLOT_BYTES = 12
export const PAGE_BYTES = ENTRIES_PER_PAGE * SLOT_BYTES
const PAGES_CACHED_MAX = 4096
const KEY_PAGE = 0x01
const KEY_LEDGER = 0x02
const KEY_LOG = 0x03
const KEY_CHECKPOINT = 0x04
const TWO_32 = 2 ** 32

export interface EntryLocation {
  logId: number
  offset: number
  length: number
}

/** What the index knows of one entry log: where its committed records end, and each ledger's bytes in it. */
export interface LogMeta {
  end: number
  ledgers: Map<number, number>
}

export interface LedgerMeta {
  fenced: boolean
  masterKey: Buffer | undefined
  lac: number
  lastEntryId: number
}

function writeU64(b: Buffer, v: number, at: number): void {
  b.writeUInt32BE(Math.floor(v / TWO_32), at)
  b.writeUInt32BE(v >>> 0, at + 4)
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4)
}

function pageKey(ledgerId: number, page: number): Buffer {
  const k = Buffer.allocUnsafe(17)
  k[0] = KEY_PAGE
  writeU64(k, ledgerId, 1)
  writeU64(k, page, 9)
  return k
}

function ledgerKey(ledgerId: number): Buffer {
  const k = Buffer.allocUnsafe(9)
  k[0] = KEY_LEDGER
  writeU64(k, ledgerId, 1)
  return k
}

function logKey(logId: number): Buffer {
  const k = Buffer.allocUnsafe(5)
  k[0] = KEY_LOG
  k.writeUInt32BE(logId, 1)
  return k
}

function checkpointKey(journalIndex: number): Buffer {
  const k = Buffer.allocUnsafe(3)
  k[0] = KEY_CHECKPOINT
  k.writeUInt16BE(journalIndex, 1)
  return k
}

export function encodeLedgerMeta(m: LedgerMeta): Buffer {
  const key = m.masterKey ?? Buffer.alloc(0)
  const b = Buffer.allocUnsafe(4 + key.length + 16)
  b[0] = 1
  b[1] = m.fenced ? 1 : 0
  b.writeUInt16BE(key.length, 2)
  key.copy(b, 4)
  b.writeBigInt64BE(BigInt(m.lac), 4 + key.length)
  b.writeBigInt64BE(BigInt(m.lastEntryId), 12 + key.length)
  return b
}

export function decodeLedgerMeta(b: Buffer): LedgerMeta {
  if (b.length < 20 || b[0] !== 1) throw new InvalidInputError('bad ledger metadata record in the index')
  const n = b.readUInt16BE(2)
  if (b.length !== 20 + n) throw new InvalidInputError('ledger metadata record has the wrong length')
  return {
    fenced: ((b[1] as number) & 1) === 1,
    // The key byte length 0 means "no key yet" (a ledger seen only through an explicit LAC).
    masterKey: n === 0 ? undefined : Buffer.from(b.subarray(4, 4 + n)),
    lac: Number(b.readBigInt64BE(4 + n)),
    lastEntryId: Number(b.readBigInt64BE(12 + n)),
  }
}

export function encodeLogMeta(m: LogMeta): Buffer {
  const b = Buffer.allocUnsafe(13 + m.ledgers.size * 16)
  b[0] = 1
  writeU64(b, m.end, 1)
  b.writeUInt32BE(m.ledgers.size, 9)
  let at = 13
  for (const [ledgerId, bytes] of m.ledgers) {
    writeU64(b, ledgerId, at)
    writeU64(b, bytes, at + 8)
    at += 16
  }
  return b
}

export function decodeLogMeta(b: Buffer): LogMeta {
  if (b.length < 13 || b[0] !== 1) throw new InvalidInputError('bad entry log metadata record in the index')
  const count = b.readUInt32BE(9)
  if (b.length !== 13 + count * 16) throw new InvalidInputError('entry log metadata record has the wrong length')
  const ledgers = new Map<number, number>()
  for (let i = 0, at = 13; i < count; i++, at += 16) ledgers.set(readU64(b, at), readU64(b, at + 8))
  return {end: readU64(b, 1), ledgers}
}

function encodePosition(p: WalPosition): Buffer {
  const b = Buffer.allocUnsafe(16)
  writeU64(b, p.fileId, 0)
  writeU64(b, p.offset, 8)
  return b
}

function decodePosition(b: Buffer): WalPosition {
  if (b.length !== 16) throw new InvalidInputError('bad checkpoint record in the index')
  return {fileId: readU64(b, 0), offset: readU64(b, 8)}
}

/** Index changes staged by a flush or compaction step, committed atomically by LedgerIndex.commit(). */
export class IndexBatch {
  /** ledgerId → page → page bytes (a private copy). */
  readonly pages = new Map<number, Map<number, Buffer>>()
  readonly ledgerMetas = new Map<number, LedgerMeta>()
  readonly logMetas = new Map<number, LogMeta>()
  readonly deletedLogs = new Set<number>()
  readonly deletedLedgers = new Set<number>()
  readonly checkpoints = new Map<number, WalPosition>()
  private readonly index: LedgerIndex

  constructor(index: LedgerIndex) {
    this.index = index
  }

  setLocation(ledgerId: number, entryId: number, loc: EntryLocation): void {
    assert(loc.length > 0, 'an indexed entry has bytes')
    const pageNo = Math.floor(entryId / ENTRIES_PER_PAGE)
    let pages = this.pages.get(ledgerId)
    if (!pages) {
      pages = new Map()
      this.pages.set(ledgerId, pages)
    }
    let page = pages.get(pageNo)
    if (!page) {
      const base = this.index.loadPage(ledgerId, pageNo)
      page = base ? Buffer.from(base) : Buffer.alloc(PAGE_BYTES)
      pages.set(pageNo, page)
    }
    const at = (entryId % ENTRIES_PER_PAGE) * SLOT_BYTES
    page.writeUInt32BE(loc.logId, at)
    page.writeUInt32BE(loc.offset, at + 4)
    page.writeUInt32BE(loc.length, at + 8)
  }

  get empty(): boolean {
    return (
      this.pages.size === 0 &&
      this.ledgerMetas.size === 0 &&
      this.logMetas.size === 0 &&
      this.deletedLogs.size === 0 &&
      this.deletedLedgers.size === 0 &&
      this.checkpoints.size === 0
    )
  }
}

export class LedgerIndex {
  private readonly db: ClassicLevel<Buffer, Buffer>
  /** `${ledgerId}/${page}` → committed page bytes, in LRU order. */
  private readonly pageCache = new Map<string, Buffer>()

  private constructor(db: ClassicLevel<Buffer, Buffer>) {
    this.db = db
  }

  static async open(ledgerDir: string): Promise<LedgerIndex> {
    const db = new ClassicLevel<Buffer, Buffer>(join(currentDir(ledgerDir), 'index'), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing: true,
    })
    await db.open()
    return new LedgerIndex(db)
  }

  /** The committed bytes of a page, or undefined when it has none. Callers must not modify them. */
  loadPage(ledgerId: number, pageNo: number): Buffer | undefined {
    const ck = `${ledgerId}/${pageNo}`
    const hit = this.pageCache.get(ck)
    if (hit) {
      this.pageCache.delete(ck)
      this.pageCache.set(ck, hit)
      return hit
    }
    const v = this.db.getSync(pageKey(ledgerId, pageNo))
    if (v === undefined) return undefined
    if (v.length !== PAGE_BYTES) throw new InvalidInputError(`index page ${ledgerId}/${pageNo} has ${v.length} bytes`)
    this.cachePage(ck, v)
    return v
  }

  getLocation(ledgerId: number, entryId: number): EntryLocation | undefined {
    const page = this.loadPage(ledgerId, Math.floor(entryId / ENTRIES_PER_PAGE))
    if (!page) return undefined
    const at = (entryId % ENTRIES_PER_PAGE) * SLOT_BYTES
    const length = page.readUInt32BE(at + 8)
    if (length === 0) return undefined
    return {logId: page.readUInt32BE(at), offset: page.readUInt32BE(at + 4), length}
  }

  batch(): IndexBatch {
    return new IndexBatch(this)
  }

  /** Writes the batch durably (LevelDB sync write), then makes its pages visible to reads. */
  async commit(b: IndexBatch): Promise<void> {
    if (b.empty) return
    const chained = this.db.batch()
    for (const [ledgerId, pages] of b.pages) {
      for (const [pageNo, page] of pages) chained.put(pageKey(ledgerId, pageNo), page)
    }
    for (const [ledgerId, m] of b.ledgerMetas) chained.put(ledgerKey(ledgerId), encodeLedgerMeta(m))
    for (const [logId, m] of b.logMetas) chained.put(logKey(logId), encodeLogMeta(m))
    for (const logId of b.deletedLogs) chained.del(logKey(logId))
    for (const ledgerId of b.deletedLedgers) chained.del(ledgerKey(ledgerId))
    for (const [j, p] of b.checkpoints) chained.put(checkpointKey(j), encodePosition(p))
    await chained.write({sync: true})
    for (const [ledgerId, pages] of b.pages) {
      for (const [pageNo, page] of pages) this.cachePage(`${ledgerId}/${pageNo}`, page)
    }
  }

  /**
   * Removes a ledger's pages and metadata, then commits `extra` (entry log metadata without the
   * ledger) with a synced write, which also makes the range delete durable (LevelDB logs in order).
   */
  async deleteLedger(ledgerId: number, extra: IndexBatch): Promise<void> {
    const hi = Buffer.allocUnsafe(9)
    hi[0] = KEY_PAGE
    writeU64(hi, ledgerId + 1, 1)
    await this.db.clear({gte: pageKey(ledgerId, 0), lt: hi})
    const prefix = `${ledgerId}/`
    for (const k of [...this.pageCache.keys()]) if (k.startsWith(prefix)) this.pageCache.delete(k)
    extra.deletedLedgers.add(ledgerId)
    await this.commit(extra)
  }

  async loadLedgerMetas(): Promise<Map<number, LedgerMeta>> {
    const out = new Map<number, LedgerMeta>()
    for await (const [k, v] of this.db.iterator({gte: Buffer.from([KEY_LEDGER]), lt: Buffer.from([KEY_LEDGER + 1])})) {
      out.set(readU64(k, 1), decodeLedgerMeta(v))
    }
    return out
  }

  async loadLogMetas(): Promise<Map<number, LogMeta>> {
    const out = new Map<number, LogMeta>()
    for await (const [k, v] of this.db.iterator({gte: Buffer.from([KEY_LOG]), lt: Buffer.from([KEY_LOG + 1])})) {
      out.set(k.readUInt32BE(1), decodeLogMeta(v))
    }
    return out
  }

  async loadCheckpoints(): Promise<Map<number, WalPosition>> {
    const out = new Map<number, WalPosition>()
    for await (const [k, v] of this.db.iterator({gte: Buffer.from([KEY_CHECKPOINT]), lt: Buffer.from([KEY_CHECKPOINT + 1])})) {
      out.set(k.readUInt16BE(1), decodePosition(v))
    }
    return out
  }

  async close(): Promise<void> {
    await this.db.close()
  }

  private cachePage(ck: string, page: Buffer): void {
    this.pageCache.delete(ck)
    this.pageCache.set(ck, page)
    if (this.pageCache.size > PAGES_CACHED_MAX) {
      const oldest = this.pageCache.keys().next().value
      if (oldest !== undefined) this.pageCache.delete(oldest)
    }
  }
}
