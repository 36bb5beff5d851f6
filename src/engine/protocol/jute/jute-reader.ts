/**
 * Reads jute, ZooKeeper's binary record encoding, from a Buffer with a bounds check on every field.
 *
 * Primitives (big-endian): `int` 4 bytes signed; `long` 8 bytes signed; `boolean` 1 byte (non-zero is
 * true, as Java's DataInput reads it); `buffer` = int length (-1 = null) + bytes; `ustring` = int byte
 * length (-1 = null) + UTF-8 (malformed sequences become U+FFFD, as in Java); `vector<T>` = int count
 * (-1 = null) + items. A record is its fields in declaration order, nothing between them.
 *
 * Every read that would pass the end of the input, a negative length other than -1, or a vector count
 * that cannot fit in the remaining bytes throws JuteDecodeError, never a RangeError: a decoder fed
 * hostile bytes fails with one typed error and allocates nothing the input does not pay for.
 */
import {InvalidInputError} from '../../common/errors.js'

/** Bytes that do not form the record being read: truncated, negative lengths, counts past the end. */
export class JuteDecodeError extends InvalidInputError {
  constructor(message: string) {
    super(message)
    this.name = 'JuteDecodeError'
  }
}

const TWO_POW_32 = 2 ** 32

export class JuteReader {
  private buf: Buffer
  private pos: number
  private end: number

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf
    this.pos = offset
    this.end = end
  }

  /** Points the reader at new input, so one reader can serve a whole connection. */
  reset(buf: Buffer, offset = 0, end = buf.length): this {
    this.buf = buf
    this.pos = offset
    this.end = end
    return this
  }

  get offset(): number {
    return this.pos
  }

  remaining(): number {
    return this.end - this.pos
  }

  private need(bytes: number, what: string): void {
    if (this.end - this.pos < bytes) {
      throw new JuteDecodeError(`truncated ${what}: need ${bytes} bytes at offset ${this.pos}, have ${this.end - this.pos}`)
    }
  }

  int(): number {
    this.need(4, 'int')
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  long(): bigint {
    this.need(8, 'long')
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return v
  }

  /**
   * A long that must hold a safe integer (zxids, times, counters): read without a BigInt.
   * Values outside ±2^53 throw JuteDecodeError.
   */
  longNumber(): number {
    this.need(8, 'long')
    const hi = this.buf.readInt32BE(this.pos)
    const lo = this.buf.readUInt32BE(this.pos + 4)
    if (hi > 0x1fffff || hi < -0x1fffff) throw new JuteDecodeError(`long at offset ${this.pos} is not a safe integer`)
    this.pos += 8
    return hi * TWO_POW_32 + lo
  }

  bool(): boolean {
    this.need(1, 'boolean')
    return this.buf[this.pos++] !== 0
  }

  /** A buffer field; the result is a copy, so it never pins the (larger) input chunk. */
  buffer(): Buffer | null {
    const len = this.length('buffer')
    if (len < 0) return null
    const out = Buffer.allocUnsafe(len)
    this.buf.copy(out, 0, this.pos, this.pos + len)
    this.pos += len
    return out
  }

  /** A buffer field as a view into the input (valid only while the input is). */
  bufferView(): Buffer | null {
    const len = this.length('buffer')
    if (len < 0) return null
    const out = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return out
  }

  ustring(): string | null {
    const len = this.length('ustring')
    if (len < 0) return null
    const s = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    return s
  }

  /** A ustring that the record requires: null is refused like bad input. */
  string(what = 'string'): string {
    const s = this.ustring()
    if (s === null) throw new JuteDecodeError(`${what} must not be null`)
    return s
  }

  /**
   * Reads a vector count (-1 = null) and checks that `count` items of at least itemBytesMin bytes
   * each can fit in what is left, before the caller allocates anything for them.
   */
  vectorCount(itemBytesMin: number): number {
    const count = this.int()
    if (count === -1) return -1
    if (count < 0) throw new JuteDecodeError(`negative vector count ${count} at offset ${this.pos - 4}`)
    if (count * itemBytesMin > this.end - this.pos) {
      throw new JuteDecodeError(`vector of ${count} items cannot fit in ${this.end - this.pos} remaining bytes`)
    }
    return count
  }

  /** vector<T>: null stays null. */
  vector<T>(itemBytesMin: number, readItem: (r: JuteReader) => T): T[] | null {
    const count = this.vectorCount(itemBytesMin)
    if (count < 0) return null
    const out: T[] = new Array<T>(count)
    for (let i = 0; i < count; i++) out[i] = readItem(this)
    return out
  }

  /** vector<ustring> with null items refused. */
  stringVector(): string[] | null {
    return this.vector(4, (r) => r.string('vector item'))
  }

  private length(what: string): number {
    const len = this.int()
    if (len === -1) return -1
    if (len < 0) throw new JuteDecodeError(`negative ${what} length ${len} at offset ${this.pos - 4}`)
    this.need(len, what)
    return len
  }
}
