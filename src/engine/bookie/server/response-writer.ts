/**
 * Batches a connection's responses into as few socket writes as possible.
 *
 * Responses are encoded straight into a slab buffer; everything encoded during one turn of the event
 * loop (e.g. the acks of every add a journal group commit made durable) goes out as one write() at the
 * end of that turn. With 256 adds outstanding this is one syscall per group commit instead of one per
 * add. Entries larger than ENTRY_COPY_BYTES_MAX are not copied: their bytes go out as their own chunk
 * after the encoded header, in the same corked write.
 */
import {BookieStatus} from '../../protocol/bookie/codes.js'
import {
  ADD_RESPONSE_BYTES,
  BookieOp,
  type BookieResponse,
  encodeAddResponseInto,
  encodeResponseInto,
  responseBytes,
} from '../../protocol/bookie/wire.js'

/** Read responses with entries up to this size are copied into the slab; larger ones are sent as is. */
export const ENTRY_COPY_BYTES_MAX = 4096
const SLAB_BYTES = 64 * 1024

export interface ResponseSink {
  write(chunk: Buffer): boolean
  cork(): void
  uncork(): void
  readonly destroyed: boolean
}

export class ResponseWriter {
  private readonly sink: ResponseSink
  private slab = Buffer.allocUnsafe(SLAB_BYTES)
  /** [start, end) of the slab holds encoded bytes not yet handed to the socket. */
  private start = 0
  private end = 0
  /** Chunks to write before the slab's pending bytes (slab pieces and uncopied entries), in order. */
  private chunks: Buffer[] = []
  private flushScheduled = false
  /** Called after each flush with whether the socket accepted everything without buffering. */
  private readonly afterFlush: (drained: boolean) => void

  constructor(sink: ResponseSink, afterFlush: (drained: boolean) => void = () => {}) {
    this.sink = sink
    this.afterFlush = afterFlush
  }

  write(resp: BookieResponse): void {
    const entry = resp.status === BookieStatus.OK && (resp.op === BookieOp.READ_ENTRY || resp.op === BookieOp.LONG_POLL_READ) ? resp.entry : undefined
    const split = entry !== undefined && entry.length > ENTRY_COPY_BYTES_MAX
    const n = responseBytes(resp, {withoutEntry: split})
    if (SLAB_BYTES - this.end < n) this.newSlab(n)
    this.end = encodeResponseInto(this.slab, this.end, resp, {withoutEntry: split})
    if (split) {
      this.chunks.push(this.slab.subarray(this.start, this.end), entry)
      this.start = this.end
    }
    this.schedule()
  }

  /** An ADD_ENTRY response (the ack path: encoded from its fields). */
  writeAdd(requestId: number, status: BookieStatus, ledgerId: number, entryId: number): void {
    if (SLAB_BYTES - this.end < ADD_RESPONSE_BYTES) this.newSlab(ADD_RESPONSE_BYTES)
    this.end = encodeAddResponseInto(this.slab, this.end, requestId, status, ledgerId, entryId)
    this.schedule()
  }

  /** A pre-encoded frame (header-only error responses). */
  writeRaw(frame: Buffer): void {
    this.takePending()
    this.chunks.push(frame)
    this.schedule()
  }

  private newSlab(bytesNeeded: number): void {
    this.takePending()
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytesNeeded))
    this.start = 0
    this.end = 0
  }

  private takePending(): void {
    if (this.end > this.start) this.chunks.push(this.slab.subarray(this.start, this.end))
    this.start = this.end
  }

  private schedule(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    // process.nextTick queued from a promise continuation runs after the whole microtask queue drains,
    // so every response completed in this turn (one journal group commit) joins the same write.
    process.nextTick(() => this.flush())
  }

  /** Writes everything pending now. */
  flush(): void {
    this.flushScheduled = false
    this.takePending()
    const chunks = this.chunks
    if (chunks.length === 0) return
    this.chunks = []
    if (this.sink.destroyed) return
    let drained: boolean
    if (chunks.length === 1) {
      drained = this.sink.write(chunks[0] as Buffer)
    } else {
      this.sink.cork()
      drained = true
      for (const c of chunks) drained = this.sink.write(c) && drained
      this.sink.uncork()
    }
    // The slab's written part now belongs to the socket; keep filling the rest (never rewrite it).
    this.afterFlush(drained)
  }
}
