/**
 * A client of the bookie wire protocol over one TCP connection. It lives in net/ so both sides can
 * use it without crossing layers: `bkshell bookieinfo`, the bookie tests and benchmark, and the ledger
 * client's transport (ledger/tcp-transport.ts), which adds reconnection and per-bookie pooling on top.
 *
 * Requests are pipelined: each gets the next requestId, and responses are matched by id. Requests
 * issued in the same event-loop turn are copied into one output slab and go out in one socket write
 * (a write per request costs more than the request itself at these sizes; see FrameBatcher). Every
 * request has a deadline; in-flight requests are bounded by `outstandingMax` (send() waits for room).
 *
 * The add path has a callback form, addEntryCallback(): no promise, no request or response object per
 * add (the frame is written field by field, the answer read from its header), since a ledger writer
 * sends every entry to Qw bookies and this runs Qw times per append.
 */
import {connect, type Socket} from 'node:net'

import {deferred, type Deferred} from '../common/deferred.js'
import {DlogError, errorMessage, InvalidInputError, TimeoutError} from '../common/errors.js'
import {ENTRY_HEADER_BYTES} from '../protocol/bookie/entry.js'
import {FrameDecoder} from './frame-decoder.js'
import {BookieError, BookieStatus, bookieStatusName} from '../protocol/bookie/codes.js'
import {
  type AddEntryWireResponse,
  BOOKIE_PROTOCOL_VERSION,
  BookieFlag,
  BookieOp,
  type BookieInfoWireResponse,
  type BookieRequest,
  type BookieResponse,
  bookieOpName,
  decodeResponse,
  encodeRequest,
  FRAME_BODY_BYTES_MAX,
  FRAME_LENGTH_BYTES,
  HEADER_BYTES,
  MASTER_KEY_BYTES_MAX,
  type LongPollReadWireResponse,
  type ReadEntryWireResponse,
  readSafeInt64,
} from '../protocol/bookie/wire.js'

/** The connection failed or closed before the answer came. Retriable: the bookie may be restarting. */
export class BookieConnectionError extends DlogError {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super('BOOKIE_CONNECTION', message, {retriable: true, cause: opts.cause})
    this.name = 'BookieConnectionError'
  }
}

export interface BookieWireClientOptions {
  host: string
  port: number
  connectTimeoutMs?: number
  requestTimeoutMs?: number
  outstandingMax?: number
}

/**
 * Writes to a socket corked until the end of the current event-loop turn, so every request issued in
 * one turn leaves in a single syscall (writev) instead of one per request.
 */
export class TurnBatchedWriter {
  private readonly socket: Socket
  private corked = false

  constructor(socket: Socket) {
    this.socket = socket
  }

  write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(() => {
        this.corked = false
        this.socket.uncork()
      })
    }
    this.socket.write(frame)
  }
}

/** A new output slab; frames of a turn are copied into it back to back. */
const SLAB_BYTES = 64 * 1024
/** Larger pieces (big entries) are written from their own buffer rather than copied. */
const COPY_BYTES_MAX = 16 * 1024

/**
 * Collects the frames of one event-loop turn and writes them at its end in one socket write: after the
 * I/O callbacks of the turn (setImmediate), so the acks of every bookie read in one poll phase make one
 * batch of new requests rather than one per socket that answered. Small
 * pieces are copied into a slab; the bytes handed to the socket are never written again (the slab is
 * only filled forward, and replaced once full), so nothing is copied twice and nothing allocated per
 * frame. Large pieces are queued as they are, after whatever precedes them, and the turn's pieces then
 * leave in one corked writev.
 */
export class FrameBatcher {
  private readonly socket: Socket
  private slab = Buffer.allocUnsafe(SLAB_BYTES)
  /** slab[start, end) holds this turn's bytes not yet queued in `parts`. */
  private start = 0
  private end = 0
  private parts: Buffer[] = []
  private scheduled = false
  /** performance.now() when this turn's first frame came: one clock read per turn, not per request. */
  private turnStartMs = 0
  private readonly flushFn = (): void => this.flush()

  constructor(socket: Socket) {
    this.socket = socket
  }

  /** `n` bytes of room in the slab to write into at the returned offset (then call commit). */
  reserve(n: number): number {
    this.schedule()
    if (this.slab.length - this.end < n) {
      this.seal()
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, n))
      this.start = 0
      this.end = 0
    }
    return this.end
  }

  get buffer(): Buffer {
    return this.slab
  }

  commit(end: number): void {
    this.end = end
  }

  /** Queues `bytes` after everything before it: copied when small, else sent from its own buffer. */
  append(bytes: Buffer): void {
    if (bytes.length <= COPY_BYTES_MAX) {
      const at = this.reserve(bytes.length)
      this.commit(at + bytes.copy(this.slab, at))
      return
    }
    this.schedule()
    this.seal()
    this.parts.push(bytes)
  }

  /** When the current turn's first frame was queued (or now, outside a turn). */
  get turnNowMs(): number {
    return this.scheduled ? this.turnStartMs : performance.now()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    this.turnStartMs = performance.now()
    setImmediate(this.flushFn)
  }

  private seal(): void {
    if (this.end > this.start) this.parts.push(this.slab.subarray(this.start, this.end))
    this.start = this.end
  }

  private flush(): void {
    this.scheduled = false
    this.seal()
    const parts = this.parts
    if (parts.length === 0) return
    this.parts = []
    if (this.socket.destroyed) return
    if (parts.length === 1) {
      this.socket.write(parts[0] as Buffer)
      return
    }
    this.socket.cork()
    for (const p of parts) this.socket.write(p)
    this.socket.uncork()
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
export type BookieRequestInput = DistributiveOmit<BookieRequest, 'requestId'>

/**
 * Called exactly once per addEntryCallback(), never synchronously: no error once the bookie confirmed
 * the entry (journaled and fsynced), else BookieError (its status), BookieConnectionError or TimeoutError.
 */
export type AddEntryCallback = (error: Error | undefined) => void

interface Pending {
  op: number
  /** Requests through send(): the response, whatever its status. */
  done: Deferred<BookieResponse> | undefined
  /** Adds through addEntryCallback(). */
  addDone: AddEntryCallback | undefined
  deadlineMs: number
  timeoutMs: number
}

export class BookieWireClient {
  readonly address: string
  private readonly socket: Socket
  private readonly decoder = new FrameDecoder({frameBytesMax: FRAME_BODY_BYTES_MAX})
  private readonly pending = new Map<number, Pending>()
  private readonly requestTimeoutMs: number
  private readonly outstandingMax: number
  private roomWaiters: (() => void)[] = []
  private nextRequestId = 1
  private readonly out: FrameBatcher
  private sweeper: ReturnType<typeof setInterval> | undefined
  private failure: Error | undefined

  private constructor(socket: Socket, opts: BookieWireClientOptions) {
    this.socket = socket
    this.address = `${opts.host}:${opts.port}`
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
    this.outstandingMax = opts.outstandingMax ?? 10_000
    this.out = new FrameBatcher(socket)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk)
        for (let body = this.decoder.next(); body !== undefined; body = this.decoder.next()) this.onFrame(body)
      } catch (e) {
        this.fail(new BookieConnectionError(`bad frame from bookie ${this.address}: ${errorMessage(e)}`, {cause: e}))
      }
    })
    socket.on('error', (e) => this.fail(new BookieConnectionError(`connection to bookie ${this.address} failed: ${e.message}`, {cause: e})))
    socket.on('close', () => this.fail(new BookieConnectionError(`connection to bookie ${this.address} closed`)))
  }

  static async connect(opts: BookieWireClientOptions): Promise<BookieWireClient> {
    const timeoutMs = opts.connectTimeoutMs ?? 10_000
    const socket = connect({host: opts.host, port: opts.port})
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new TimeoutError(`could not connect to bookie ${opts.host}:${opts.port} within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        resolve()
      })
      socket.once('error', (e) => {
        clearTimeout(timer)
        reject(new BookieConnectionError(`cannot connect to bookie ${opts.host}:${opts.port}: ${e.message}`, {cause: e}))
      })
    })
    return new BookieWireClient(socket, opts)
  }

  get outstanding(): number {
    return this.pending.size
  }

  /** False once the connection failed or was closed: every later request fails at once. */
  get isOpen(): boolean {
    return this.failure === undefined
  }

  /**
   * Sends a request and resolves with the response, whatever its status. `timeoutMs` overrides the
   * client's request timeout for this request (a long poll waits longer than an add).
   */
  send(input: BookieRequestInput, opts: {timeoutMs?: number} = {}): Promise<BookieResponse> {
    if (this.pending.size >= this.outstandingMax && !this.failure) return this.waitForRoom().then(() => this.send(input, opts))
    if (this.failure) return Promise.reject(this.failure)
    const requestId = this.takeRequestId()
    let frame: Buffer
    try {
      frame = encodeRequest({...input, requestId} as BookieRequest)
    } catch (e) {
      return Promise.reject(e)
    }
    const done = deferred<BookieResponse>()
    this.out.append(frame)
    this.track(requestId, input.op, done, undefined, opts.timeoutMs ?? this.requestTimeoutMs)
    return done.promise
  }

  /**
   * Sends an encoded entry (protocol/bookie/entry.ts) as an ADD_ENTRY request; `done` is called once,
   * later. The frame is written straight into the turn's output slab: length, header, key, entry.
   */
  addEntryCallback(entry: Buffer, masterKey: Buffer, recovery: boolean, done: AddEntryCallback): void {
    if (this.pending.size >= this.outstandingMax && !this.failure) {
      this.waitForRoom().then(() => this.addEntryCallback(entry, masterKey, recovery, done), done)
      return
    }
    if (this.failure) return later(done, this.failure)
    if (masterKey.length > MASTER_KEY_BYTES_MAX) return later(done, new InvalidInputError(`master key of ${masterKey.length} bytes exceeds ${MASTER_KEY_BYTES_MAX}`))
    if (entry.length < ENTRY_HEADER_BYTES) return later(done, new InvalidInputError('entry is shorter than its header'))
    const body = HEADER_BYTES + 2 + masterKey.length + entry.length
    if (body > FRAME_BODY_BYTES_MAX) return later(done, new InvalidInputError(`frame of ${body} bytes exceeds the limit of ${FRAME_BODY_BYTES_MAX} bytes`))
    const requestId = this.takeRequestId()
    // Same bytes as encodeRequest() of the ADD_ENTRY request (wire.ts documents the layout).
    const headBytes = FRAME_LENGTH_BYTES + body - entry.length
    const inline = entry.length <= COPY_BYTES_MAX
    let o = this.out.reserve(inline ? FRAME_LENGTH_BYTES + body : headBytes)
    const buf = this.out.buffer
    buf.writeUInt32BE(body, o)
    buf[o + 4] = BOOKIE_PROTOCOL_VERSION
    buf[o + 5] = BookieOp.ADD_ENTRY
    buf.writeUInt16BE(recovery ? BookieFlag.RECOVERY : 0, o + 6)
    buf.writeUInt32BE(requestId, o + 8)
    buf.writeUInt16BE(masterKey.length, o + 12)
    o += 14 + masterKey.copy(buf, o + 14)
    if (inline) o += entry.copy(buf, o)
    this.out.commit(o)
    if (!inline) this.out.append(entry)
    this.track(requestId, BookieOp.ADD_ENTRY, undefined, done, this.requestTimeoutMs)
  }

  /** Sends a request; rejects with BookieError when the status is not OK. */
  async call<R extends BookieResponse>(input: BookieRequestInput, opts: {timeoutMs?: number} = {}): Promise<R> {
    const resp = await this.send(input, opts)
    if (resp.status !== BookieStatus.OK) {
      throw new BookieError(resp.status, `${bookieOpName(input.op)} on bookie ${this.address} failed: ${bookieStatusName(resp.status)}`)
    }
    return resp as R
  }

  /** The promise form of addEntryCallback() with the decoded response (tools and tests). */
  addEntry(entry: Buffer, masterKey: Buffer, opts: {recovery?: boolean} = {}): Promise<AddEntryWireResponse> {
    const ledgerId = readSafeInt64(entry, 0) ?? -1
    const entryId = readSafeInt64(entry, 8) ?? -1
    return this.call({op: BookieOp.ADD_ENTRY, recovery: opts.recovery ?? false, masterKey, entry, ledgerId, entryId})
  }

  async readEntry(ledgerId: number, entryId: number, opts: {fence?: boolean; masterKey?: Buffer} = {}): Promise<Buffer> {
    const r = await this.call<ReadEntryWireResponse>({
      op: BookieOp.READ_ENTRY,
      ledgerId,
      entryId,
      fence: opts.fence ?? false,
      masterKey: opts.masterKey ?? Buffer.alloc(0),
    })
    return r.entry as Buffer
  }

  async readLac(ledgerId: number): Promise<number> {
    const r = await this.call<BookieResponse & {lac?: number}>({op: BookieOp.READ_LAC, ledgerId})
    return r.lac as number
  }

  async writeLac(ledgerId: number, lac: number, masterKey: Buffer): Promise<void> {
    await this.call({op: BookieOp.WRITE_LAC, ledgerId, lac, masterKey})
  }

  async fence(ledgerId: number, masterKey: Buffer): Promise<number> {
    const r = await this.call<BookieResponse & {lac?: number}>({op: BookieOp.FENCE, ledgerId, masterKey})
    return r.lac as number
  }

  /** The request is allowed the poll's own timeout on top of the client's request timeout. */
  async longPollRead(ledgerId: number, entryId: number, timeoutMs: number): Promise<{lac: number; entry?: Buffer}> {
    const r = await this.call<LongPollReadWireResponse>(
      {op: BookieOp.LONG_POLL_READ, ledgerId, entryId, timeoutMs},
      {timeoutMs: timeoutMs + this.requestTimeoutMs},
    )
    return r.entry === undefined ? {lac: r.lac as number} : {lac: r.lac as number, entry: r.entry}
  }

  async info(): Promise<{freeDiskBytes: number; totalDiskBytes: number; readOnly: boolean}> {
    const r = await this.call<BookieInfoWireResponse>({op: BookieOp.BOOKIE_INFO})
    return r.info as {freeDiskBytes: number; totalDiskBytes: number; readOnly: boolean}
  }

  /** Writes raw bytes on the connection (tests: malformed frames). */
  writeRaw(bytes: Buffer): void {
    this.out.append(bytes)
  }

  /** Resolves when the bookie closes the connection. */
  closed(): Promise<void> {
    if (this.socket.destroyed || this.socket.readyState === 'closed') return Promise.resolve()
    return new Promise((resolve) => this.socket.once('close', () => resolve()))
  }

  async close(): Promise<void> {
    this.fail(new BookieConnectionError(`connection to bookie ${this.address} closed by the client`))
    if (!this.socket.destroyed) {
      const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()))
      this.socket.destroy()
      await closed
    }
  }

  private onFrame(body: Buffer): void {
    if (body.length < HEADER_BYTES) return // not an answer to anything; the decoder bounds the rest
    const requestId = body.readUInt32BE(4)
    const p = this.pending.get(requestId)
    if (!p) return // a late answer to a request that timed out
    this.pending.delete(requestId)
    this.wakeRoom()
    const opcode = body[1] as number
    const status = body.readUInt16BE(2)
    if (opcode === p.op && status !== BookieStatus.OK && body.length === HEADER_BYTES) {
      // A header-only error answer (BAD_REQUEST for an op the bookie lacks, BAD_VERSION).
      settle(p, new BookieError(status as BookieStatus, `${bookieOpName(p.op)} refused by bookie ${this.address}: ${bookieStatusName(status)}`), undefined)
      return
    }
    if (p.addDone) {
      // The add path: an ADD_ENTRY answer is header + ledgerId + entryId; only the status matters.
      if (body[0] !== BOOKIE_PROTOCOL_VERSION || opcode !== BookieOp.ADD_ENTRY || body.length !== HEADER_BYTES + 16) {
        p.addDone(new BookieConnectionError(`bad ADD_ENTRY answer from bookie ${this.address} (version ${body[0]}, opcode ${opcode}, ${body.length} bytes)`))
      } else if (status !== BookieStatus.OK) {
        p.addDone(new BookieError(status as BookieStatus, `ADD_ENTRY on bookie ${this.address} failed: ${bookieStatusName(status)}`))
      } else {
        p.addDone(undefined)
      }
      return
    }
    let resp: BookieResponse
    try {
      resp = decodeResponse(body)
    } catch (e) {
      settle(p, e, undefined)
      return
    }
    settle(p, undefined, resp)
  }

  private takeRequestId(): number {
    const requestId = this.nextRequestId
    this.nextRequestId = requestId === 0xffff_ffff ? 1 : requestId + 1
    return requestId
  }

  private track(requestId: number, op: number, done: Deferred<BookieResponse> | undefined, addDone: AddEntryCallback | undefined, timeoutMs: number): void {
    this.pending.set(requestId, {op, done, addDone, deadlineMs: this.out.turnNowMs + timeoutMs, timeoutMs})
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.expire(), Math.min(1000, Math.max(10, this.requestTimeoutMs / 4)))
      this.sweeper.unref()
    }
  }

  private waitForRoom(): Promise<void> {
    return new Promise<void>((r) => this.roomWaiters.push(r))
  }

  /** Fails requests past their deadline; one interval timer for all requests (a timer each is costly). */
  private expire(): void {
    const now = performance.now()
    for (const [id, p] of this.pending) {
      if (p.deadlineMs > now) continue
      this.pending.delete(id)
      settle(p, new TimeoutError(`${bookieOpName(p.op)} to bookie ${this.address} got no answer within ${p.timeoutMs} ms`), undefined)
      this.wakeRoom()
    }
    if (this.pending.size === 0 && this.sweeper) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }

  private wakeRoom(): void {
    const w = this.roomWaiters.shift()
    if (w) w()
  }

  private fail(e: Error): void {
    this.failure ??= e
    if (this.sweeper) clearInterval(this.sweeper)
    const failed = [...this.pending.values()]
    this.pending.clear()
    // close() may run inside a caller's own add bookkeeping: its adds learn of it in a later microtask.
    for (const p of failed) {
      if (p.addDone) later(p.addDone, this.failure)
      else p.done?.reject(this.failure)
    }
    const waiters = this.roomWaiters
    this.roomWaiters = []
    for (const w of waiters) w()
  }
}

function settle(p: Pending, error: unknown, resp: BookieResponse | undefined): void {
  if (p.addDone) p.addDone(error === undefined ? undefined : error instanceof Error ? error : new Error(String(error)))
  else if (error !== undefined) p.done?.reject(error)
  else p.done?.resolve(resp as BookieResponse)
}

/** An add refused before it was sent still completes asynchronously, as the callback contract says. */
function later(done: AddEntryCallback, error: Error): void {
  queueMicrotask(() => done(error))
}
