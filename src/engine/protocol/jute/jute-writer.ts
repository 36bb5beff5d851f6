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
/** Strings up to this many UTF-16 units try the ASCII fast path in ustring(). */
const ASCII_FAST_PATH_CHARS_MAX = 256

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
    const n = s.length
    if (n <= ASCII_FAST_PATH_CHARS_MAX) {
      // Paths and child names are short and nearly always ASCII: copying the char codes in JS beats
      // two native calls (byteLength + write) per string. Anything else takes the general path.
      this.ensure(4 + n)
      const buf = this.buf
      const start = this.pos + 4
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[start + i] = c
      }
      if (i === n) {
        buf.writeInt32BE(n, this.pos)
        this.pos = start + n
        return this
      }
    }
    const bytes = Buffer.byteLength(s)
    this.ensure(4 + bytes)
    this.buf.writeInt32BE(bytes, this.pos)
    this.buf.write(s, this.pos + 4, bytes, 'utf8')
    this.pos += 4 + bytes
    return this
  }

  /** Pre-encoded bytes (b[start, end)), copied as they are. */
  raw(b: Buffer, start = 0, end = b.length): this {
    this.ensure(end - start)
    b.copy(this.buf, this.pos, start, end)
    this.pos += end - start
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

  /** A copy of the bytes written since position `at` (see beginFrame for positions). */
  copyFrom(at: number): Buffer {
    assert(at >= 0 && this.start + at <= this.pos, 'copyFrom past the end')
    return Buffer.from(this.buf.subarray(this.start + at, this.pos))
  }

  /**
   * Declares that no Buffer handed out by take() is referenced any more (e.g. the socket copied it all
   * to the kernel synchronously), so the backing buffer can be reused from its start.
   */
  reclaim(): void {
    if (this.start === 0) return
    this.buf.copy(this.buf, 0, this.start, this.pos)
    this.pos -= this.start
    this.start = 0
  }

  /**
   * A copy of everything pending, leaving the writer empty (for one-off records). Only for writers
   * that never take(): the backing buffer is reused from its start.
   */
  finish(): Buffer {
    const out = Buffer.from(this.buf.subarray(this.start, this.pos))
    this.start = 0
    this.pos = 0
    return out
  }
}
