/**
 * Writes jute (see jute-reader.ts for the encoding) into a growable Buffer.
 *
 * One writer can serve a whole connection: records are appended one after another (each usually a
 * length-prefixed frame, see beginFrame/endFrame) and take() hands a prefix of the pending bytes to the
 * socket as one Buffer. The backing buffer works like a bump allocator: handed-out bytes are never
 * written again (later records go after them), and a new backing buffer is allocated only when the
 * current one is full, so many small replies share one allocation. Positions (beginFrame, truncate)
 * are relative to the first pending byte.
 */
import {assert} from '../../common/assert.js'

const TWO_POW_32 = 2 ** 32
const WRITER_BYTES_DEFAULT = 4096

export class JuteWriter {
  private buf: Buffer
  /** First pending (not yet taken) byte. */
  private start = 0
  /** End of the pending bytes. */
  private pos = 0
  private readonly initialBytes: number

  constructor(initialBytes = WRITER_BYTES_DEFAULT) {
    this.initialBytes = Math.max(16, initialBytes)
    this.buf = Buffer.allocUnsafe(this.initialBytes)
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.pos - this.start
  }

  /**
   * Makes room for `bytes` more bytes: moves the pending bytes to a new backing buffer at least twice
   * their size (so appends stay amortised O(1)); the old buffer is left to whoever took parts of it.
   */
  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return
    const pending = this.pos - this.start
    let size = this.initialBytes
    while (size < (pending + bytes) * 2) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, this.start, this.pos)
    this.buf = next
    this.start = 0
    this.pos = pending
  }

  int(v: number): this {
    this.ensure(4)
    this.buf.writeInt32BE(v, this.pos)
    this.pos += 4
    return this
  }

  long(v: bigint): this {
    this.ensure(8)
    this.buf.writeBigInt64BE(v, this.pos)
    this.pos += 8
    return this
  }

  /** A long from a safe integer (zxids, times), without going through BigInt. */
  longNumber(v: number): this {
    this.ensure(8)
    const hi = Math.floor(v / TWO_POW_32)
    this.buf.writeInt32BE(hi, this.pos)
    this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos + 4)
    this.pos += 8
    return this
  }

  bool(v: boolean): this {
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
    return this
  }

  buffer(b: Buffer | null | undefined): this {
    if (b === null || b === undefined) return this.int(-1)
    this.ensure(4 + b.length)
    this.buf.writeInt32BE(b.length, this.pos)
    b.copy(this.buf, this.pos + 4)
    this.pos += 4 + b.length
    return this
  }

  ustring(s: string | null | undefined): this {
    if (s === null || s === undefined) return this.int(-1)
    const bytes = Buffer.byteLength(s)
    this.ensure(4 + bytes)
    this.buf.writeInt32BE(bytes, this.pos)
    this.buf.write(s, this.pos + 4, bytes, 'utf8')
    this.pos += 4 + bytes
    return this
  }

  /** Pre-encoded bytes, copied as they are. */
  raw(b: Buffer): this {
    this.ensure(b.length)
    b.copy(this.buf, this.pos)
    this.pos += b.length
    return this
  }

  vector<T>(items: readonly T[] | null | undefined, writeItem: (w: JuteWriter, item: T) => void): this {
    if (items === null || items === undefined) return this.int(-1)
    this.int(items.length)
    for (const item of items) writeItem(this, item)
    return this
  }

  stringVector(items: readonly string[] | null | undefined): this {
    return this.vector(items, (w, s) => w.ustring(s))
  }

  /** Starts a length-prefixed frame; returns the position to pass to endFrame. */
  beginFrame(): number {
    const at = this.pos - this.start
    this.int(0)
    return at
  }

  /** Fills in the length of the frame started at `at` (the bytes written since, excluding the prefix). */
  endFrame(at: number): void {
    const abs = this.start + at
    assert(at >= 0 && abs + 4 <= this.pos, 'endFrame without a matching beginFrame')
    this.buf.writeInt32BE(this.pos - abs - 4, abs)
  }

  /** Drops everything written after `at` (a frame that turned out not to be wanted). */
  truncate(at: number): void {
    assert(at >= 0 && this.start + at <= this.pos, 'truncate past the end')
    this.pos = this.start + at
  }

  /**
   * Hands out the first `bytes` pending bytes (default all) and keeps the rest pending. The returned
   * Buffer is a view that this writer never writes again.
   */
  take(bytes = this.pos - this.start): Buffer {
    assert(bytes >= 0 && this.start + bytes <= this.pos, 'take past the end')
    const out = this.buf.subarray(this.start, this.start + bytes)
    this.start += bytes
    return out
  }

  /** A copy of everything pending, leaving the writer empty (for one-off records). */
  finish(): Buffer {
    const out = Buffer.from(this.buf.subarray(this.start, this.pos))
    this.start = this.pos
    return out
  }
}
