/**
 * A client of the bookie wire protocol over one TCP connection. It lives in net/ so both sides can
 * use it without crossing layers: `bkshell bookieinfo`, the bookie tests and benchmark, and the ledger
 * client's transport (ledger/tcp-transport.ts), which adds reconnection and per-bookie pooling on top.
 *
 * Requests are pipelined: each gets the next requestId, and responses are matched by id. Requests
 * issued in the same event-loop turn go out in one socket write. Every request has a deadline;
 * in-flight requests are bounded by `outstandingMax` (send() waits for room).
 */
import {connect, type Socket} from 'node:net'

import {deferred, type Deferred} from '../common/deferred.js'
import {DlogError, errorMessage, TimeoutError} from '../common/errors.js'
import {FrameDecoder} from './frame-decoder.js'
import {BookieError, BookieStatus, bookieStatusName} from '../protocol/bookie/codes.js'
import {
  type AddEntryWireResponse,
  BookieOp,
  type BookieInfoWireResponse,
  type BookieRequest,
  type BookieResponse,
  bookieOpName,
  decodeResponse,
  encodeRequest,
  FRAME_BODY_BYTES_MAX,
  HEADER_BYTES,
  type LongPollReadWireResponse,
  peekHeader,
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

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
export type BookieRequestInput = DistributiveOmit<BookieRequest, 'requestId'>

interface Pending {
  op: number
  done: Deferred<BookieResponse>
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
  private readonly writer: TurnBatchedWriter
  private sweeper: ReturnType<typeof setInterval> | undefined
  private failure: Error | undefined

  private constructor(socket: Socket, opts: BookieWireClientOptions) {
    this.socket = socket
    this.address = `${opts.host}:${opts.port}`
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
    this.outstandingMax = opts.outstandingMax ?? 10_000
    this.writer = new TurnBatchedWriter(socket)
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
  async send(input: BookieRequestInput, opts: {timeoutMs?: number} = {}): Promise<BookieResponse> {
    while (this.pending.size >= this.outstandingMax && !this.failure) {
      await new Promise<void>((r) => this.roomWaiters.push(r))
    }
    if (this.failure) throw this.failure
    const requestId = this.nextRequestId
    this.nextRequestId = this.nextRequestId === 0xffff_ffff ? 1 : this.nextRequestId + 1
    const frame = encodeRequest({...input, requestId} as BookieRequest)
    const done = deferred<BookieResponse>()
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs
    this.pending.set(requestId, {op: input.op, done, deadlineMs: performance.now() + timeoutMs, timeoutMs})
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.expire(), Math.min(1000, Math.max(10, this.requestTimeoutMs / 4)))
      this.sweeper.unref()
    }
    this.writer.write(frame)
    return done.promise
  }

  /** Sends a request; rejects with BookieError when the status is not OK. */
  async call<R extends BookieResponse>(input: BookieRequestInput, opts: {timeoutMs?: number} = {}): Promise<R> {
    const resp = await this.send(input, opts)
    if (resp.status !== BookieStatus.OK) {
      throw new BookieError(resp.status, `${bookieOpName(input.op)} on bookie ${this.address} failed: ${bookieStatusName(resp.status)}`)
    }
    return resp as R
  }

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
    this.socket.write(bytes)
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
    const header = peekHeader(body)
    const p = header ? this.pending.get(header.requestId) : undefined
    if (!header || !p) return // a late answer to a request that timed out
    this.pending.delete(header.requestId)
    this.wakeRoom()
    if (header.opcode === p.op && header.flagsOrStatus !== BookieStatus.OK && body.length === HEADER_BYTES) {
      // A header-only error answer (BAD_REQUEST for an op the bookie lacks, BAD_VERSION).
      p.done.reject(new BookieError(header.flagsOrStatus as BookieStatus, `${bookieOpName(p.op)} refused by bookie ${this.address}: ${bookieStatusName(header.flagsOrStatus)}`))
      return
    }
    try {
      p.done.resolve(decodeResponse(body))
    } catch (e) {
      p.done.reject(e)
    }
  }

  /** Fails requests past their deadline; one interval timer for all requests (a timer each is costly). */
  private expire(): void {
    const now = performance.now()
    for (const [id, p] of this.pending) {
      if (p.deadlineMs > now) continue
      this.pending.delete(id)
      p.done.reject(new TimeoutError(`${bookieOpName(p.op)} to bookie ${this.address} got no answer within ${p.timeoutMs} ms`))
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
    for (const [id, p] of this.pending) {
      p.done.reject(this.failure)
      this.pending.delete(id)
    }
    const waiters = this.roomWaiters
    this.roomWaiters = []
    for (const w of waiters) w()
  }
}
