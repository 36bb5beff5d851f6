/**
 * Length-prefixed framing for the bookie protocol: `Frame { length uint32 BE | body (length bytes) }`.
 *
 * Pure (no sockets): the connection pushes each chunk it reads and gets back every complete body.
 * The length is checked against the limit before anything is allocated for the body, so a peer cannot
 * make the bookie allocate gigabytes by sending four bytes. Bodies are subarrays of the received
 * chunks whenever a frame sits inside one chunk (the common case with pipelined small requests),
 * so decoding costs no copy; a frame split across chunks is joined once it is complete.
 *
 * (The bookie keeps its own small decoder here because no shared net/ frame decoder existed when
 * this was written; the rules are the same: uint32 length, limit checked first.)
 */
import {InvalidInputError} from '../../common/errors.js'

export const FRAME_LENGTH_BYTES = 4

/** A frame whose declared length breaks the limits: the stream cannot be re-synchronised. */
export class FrameLengthError extends InvalidInputError {
  readonly lengthBytes: number

  constructor(lengthBytes: number, message: string) {
    super(message)
    this.name = 'FrameLengthError'
    this.lengthBytes = lengthBytes
  }
}

export class FrameDecoder {
  private readonly bodyBytesMax: number
  private readonly bodyBytesMin: number
  /** Received bytes not yet forming a complete frame, kept as chunks until enough arrive. */
  private parts: Buffer[] = []
  private partsBytes = 0
  /** Bytes needed (from the start of parts) before another decode attempt can make progress. */
  private needBytes = FRAME_LENGTH_BYTES

  constructor(opts: {bodyBytesMax: number; bodyBytesMin?: number}) {
    this.bodyBytesMax = opts.bodyBytesMax
    this.bodyBytesMin = opts.bodyBytesMin ?? 0
  }

  /** Bytes received but not yet delivered as a frame. */
  get bufferedBytes(): number {
    return this.partsBytes
  }

  /**
   * Feeds one chunk; calls onFrame for each complete body in order. Throws FrameLengthError on a bad
   * length, after which the decoder must not be used again (the byte stream has lost its framing).
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    let data = chunk
    if (this.partsBytes > 0) {
      this.parts.push(chunk)
      this.partsBytes += chunk.length
      if (this.partsBytes < this.needBytes) return
      data = Buffer.concat(this.parts, this.partsBytes)
      this.parts = []
      this.partsBytes = 0
    }
    let offset = 0
    let bodyBytes = -1
    while (data.length - offset >= FRAME_LENGTH_BYTES) {
      bodyBytes = data.readUInt32BE(offset)
      this.checkLength(bodyBytes)
      if (data.length - offset - FRAME_LENGTH_BYTES < bodyBytes) break
      const start = offset + FRAME_LENGTH_BYTES
      offset = start + bodyBytes
      bodyBytes = -1
      onFrame(data.subarray(start, offset))
    }
    if (offset < data.length) {
      this.parts = [data.subarray(offset)]
      this.partsBytes = data.length - offset
      this.needBytes = bodyBytes >= 0 ? FRAME_LENGTH_BYTES + bodyBytes : FRAME_LENGTH_BYTES
    } else {
      this.needBytes = FRAME_LENGTH_BYTES
    }
  }

  private checkLength(bodyBytes: number): void {
    if (bodyBytes > this.bodyBytesMax) {
      throw new FrameLengthError(bodyBytes, `frame of ${bodyBytes} bytes exceeds the limit of ${this.bodyBytesMax} bytes`)
    }
    if (bodyBytes < this.bodyBytesMin) {
      throw new FrameLengthError(bodyBytes, `frame of ${bodyBytes} bytes is shorter than the minimum of ${this.bodyBytesMin}`)
    }
  }
}
