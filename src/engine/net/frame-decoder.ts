/**
 * Length-prefixed framing shared by our TCP protocols: `Frame { int32 BE length | payload (length bytes) }`.
 *
 * Pure and pull-based: a connection push()es each chunk it reads and calls next() for as long as it
 * wants frames, so it can stop mid-chunk (backpressure) and resume later without losing bytes. The
 * length is checked against the limit before anything is allocated or awaited for the payload, so a
 * peer cannot make us buffer gigabytes by sending four bytes. A frame inside one chunk is returned as
 * a view of that chunk (no copy: pipelined small requests cost nothing to split); a frame spread over
 * several chunks is joined once, when it is complete.
 */
import {InvalidInputError} from '../common/errors.js'

export const FRAME_PREFIX_BYTES = 4

/** A declared length that breaks the limit: the byte stream cannot be re-synchronised, close it. */
export class FrameSizeError extends InvalidInputError {
  readonly frameBytes: number

  constructor(frameBytes: number, frameBytesMax: number) {
    super(
      frameBytes < 0
        ? `frame length ${frameBytes} is negative`
        : `frame of ${frameBytes} bytes exceeds the limit of ${frameBytesMax} bytes`,
    )
    this.name = 'FrameSizeError'
    this.frameBytes = frameBytes
  }
}

const EMPTY = Buffer.alloc(0)

export class FrameDecoder {
  readonly frameBytesMax: number
  /** Current contiguous bytes; frames are cut from here. */
  private head: Buffer = EMPTY
  private headOffset = 0
  /** Chunks received after head, not yet joined to it. */
  private tail: Buffer[] = []
  private tailBytes = 0
  private failed: FrameSizeError | null = null

  constructor(opts: {frameBytesMax: number}) {
    this.frameBytesMax = opts.frameBytesMax
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.head.length - this.headOffset + this.tailBytes
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    if (this.headOffset >= this.head.length && this.tailBytes === 0) {
      this.head = chunk
      this.headOffset = 0
    } else {
      this.tail.push(chunk)
      this.tailBytes += chunk.length
    }
  }

  /**
   * The first 4 bytes as a big-endian int32 without consuming them (ZooKeeper's four-letter words
   * arrive where a length would), or undefined while fewer than 4 bytes are buffered.
   */
  peekInt32(): number | undefined {
    if (this.bufferedBytes < FRAME_PREFIX_BYTES) return undefined
    this.makeContiguous(FRAME_PREFIX_BYTES)
    return this.head.readInt32BE(this.headOffset)
  }

  /**
   * The next complete frame's payload, or undefined until more bytes arrive. Throws FrameSizeError
   * for a length above the limit (or negative); the decoder then stays failed.
   */
  next(): Buffer | undefined {
    if (this.failed) throw this.failed
    const buffered = this.bufferedBytes
    if (buffered < FRAME_PREFIX_BYTES) return undefined
    this.makeContiguous(FRAME_PREFIX_BYTES)
    const length = this.head.readInt32BE(this.headOffset)
    if (length < 0 || length > this.frameBytesMax) {
      this.failed = new FrameSizeError(length, this.frameBytesMax)
      this.head = EMPTY
      this.headOffset = 0
      this.tail = []
      this.tailBytes = 0
      throw this.failed
    }
    const frameEnd = FRAME_PREFIX_BYTES + length
    if (buffered < frameEnd) return undefined
    this.makeContiguous(frameEnd)
    const start = this.headOffset + FRAME_PREFIX_BYTES
    this.headOffset = start + length
    return this.head.subarray(start, start + length)
  }

  /** Joins head and tail chunks so that at least `bytes` bytes are contiguous in head. */
  private makeContiguous(bytes: number): void {
    if (this.head.length - this.headOffset >= bytes) return
    const parts = [this.head.subarray(this.headOffset), ...this.tail]
    this.head = Buffer.concat(parts, this.head.length - this.headOffset + this.tailBytes)
    this.headOffset = 0
    this.tail = []
    this.tailBytes = 0
  }
}
