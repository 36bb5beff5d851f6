/**
 * The bookie's network front: a TCP server speaking the bookie wire protocol (protocol/bookie/wire.ts)
 * that hands each decoded request to a BookieCore and writes the answer back.
 *
 * Per connection: requests are pipelined and answered in completion order; at most
 * `outstandingRequestsPerConnectionMax` may be in flight — past that the server stops reading the
 * socket (TCP pushes back on the client) and resumes once half have completed; likewise while the
 * client is not reading its responses. Responses are batched into one socket write per event-loop turn
 * (response-writer.ts). A frame that does not decode closes only its own connection, with a log line.
 *
 * Shutdown (close): stop accepting, stop reading every connection, wait (bounded) for the in-flight
 * adds and reads to be answered, then close the sockets. Parked long-poll reads are not waited for:
 * their clients simply retry elsewhere. The core is owned and closed by the caller.
 */
import {type AddressInfo, createServer, type Server, type Socket} from 'node:net'
import type {Duplex} from 'node:stream'

import {assert} from '../../common/assert.js'
import {type Clock, systemClock} from '../../common/clock.js'
import {DlogError, errorMessage} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import {type MetricsRegistry, newMetricsRegistry} from '../../metrics/registry.js'
import {FrameDecoder} from '../../net/frame-decoder.js'
import {BookieError, BookieStatus} from '../../protocol/bookie/codes.js'
import {
  BOOKIE_PROTOCOL_VERSION,
  BookieFrameError,
  BookieOp,
  type BookieRequest,
  type BookieResponse,
  decodeRequest,
  encodeHeaderOnlyResponse,
  FRAME_BODY_BYTES_MAX,
} from '../../protocol/bookie/wire.js'
import type {AddCallback, BookieCore} from '../types.js'
import {ResponseWriter} from './response-writer.js'

export interface BookieServerOptions {
  /** May be attached later (attachCore): connections accepted before that are not read until then. */
  core?: BookieCore
  /** Address to listen on. */
  host: string
  /** 0 picks a free port. */
  port: number
  outstandingRequestsPerConnectionMax?: number
  /** Bound on open connections; more are closed on accept. */
  connectionsMax?: number
  /** Stop reading a connection while this many response bytes wait for the client to read them. */
  pendingWriteBytesMax?: number
  logger?: Logger
  metrics?: MetricsRegistry
  clock?: Clock
}

export const BOOKIE_SERVER_DEFAULTS = {
  outstandingRequestsPerConnectionMax: 4096,
  connectionsMax: 10_000,
  pendingWriteBytesMax: 8 * 1024 * 1024,
  drainTimeoutMs: 10_000,
} as const

/** The server's metrics (names are dotted scopes; /metrics renders them Prometheus-style). */
export class BookieServerStats {
  readonly addCount
  readonly addBytes
  readonly addFailures
  readonly addLatencyMs
  readonly readCount
  readonly readBytes
  readonly readFailures
  readonly readLatencyMs
  readonly longPollCount
  readonly otherCount
  readonly malformedFrames
  readonly responseWrites

  constructor(m: MetricsRegistry) {
    this.addCount = m.counter('bookie.server.add_entry.count', 'ADD_ENTRY requests answered')
    this.addBytes = m.counter('bookie.server.add_entry.bytes', 'bytes of entries added')
    this.addFailures = m.counter('bookie.server.add_entry.failures', 'ADD_ENTRY requests answered with an error status')
    this.addLatencyMs = m.summary('bookie.server.add_entry.latency_ms', 'ADD_ENTRY latency: request decoded to ack queued (ms)')
    this.readCount = m.counter('bookie.server.read_entry.count', 'READ_ENTRY requests answered')
    this.readBytes = m.counter('bookie.server.read_entry.bytes', 'bytes of entries read')
    this.readFailures = m.counter('bookie.server.read_entry.failures', 'READ_ENTRY requests answered with an error status')
    this.readLatencyMs = m.summary('bookie.server.read_entry.latency_ms', 'READ_ENTRY latency (ms)')
    this.longPollCount = m.counter('bookie.server.long_poll_read.count', 'LONG_POLL_READ requests answered')
    this.otherCount = m.counter('bookie.server.other_requests.count', 'READ_LAC, WRITE_LAC, FENCE and BOOKIE_INFO requests answered')
    this.malformedFrames = m.counter('bookie.server.malformed_frames', 'connections closed for a malformed frame')
    this.responseWrites = m.counter('bookie.server.response_writes', 'socket writes of batched responses')
  }
}

/** A TCP socket, or any duplex stream in tests (the socket-only calls are optional). */
export type ConnectionSocket = Duplex & Partial<Pick<Socket, 'setNoDelay' | 'setTimeout' | 'remoteAddress' | 'remotePort'>>

function statusOf(e: unknown): BookieStatus {
  return e instanceof BookieError ? e.code : BookieStatus.IO_ERROR
}

class BookieConnection {
  readonly remote: string
  private readonly socket: ConnectionSocket
  private readonly server: BookieServer
  private readonly decoder = new FrameDecoder({frameBytesMax: FRAME_BODY_BYTES_MAX})
  private readonly writer: ResponseWriter
  /** In flight, long polls included (the bound), and without them (what shutdown waits for). */
  private outstanding = 0
  private outstandingShort = 0
  private readPaused = false
  private writeBlocked = false
  private stopped = false
  closed = false
  private drainWaiters: (() => void)[] = []

  constructor(server: BookieServer, socket: ConnectionSocket) {
    this.server = server
    this.socket = socket
    this.remote = `${socket.remoteAddress ?? 'local'}:${socket.remotePort ?? 0}`
    this.writer = new ResponseWriter(socket, (drained) => {
      server.stats.responseWrites.inc()
      if (!drained && socket.writableLength > server.pendingWriteBytesMax) {
        this.writeBlocked = true
        this.updateReading()
      }
    })
    socket.setNoDelay?.(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => {
      this.writeBlocked = false
      this.updateReading()
    })
    socket.on('error', (e) => server.logger.debug('connection error', {remote: this.remote, error: e}))
    socket.on('close', () => this.onClose())
    this.updateReading()
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return
    this.decoder.push(chunk)
    this.drainFrames()
  }

  /** Handles buffered frames until none is complete or the connection must stop reading (the bound). */
  private drainFrames(): void {
    while (!this.stopped && !this.readPaused && !this.closed) {
      let body: Buffer | undefined
      try {
        body = this.decoder.next()
      } catch (e) {
        // A length over the limit: the byte stream has lost its framing.
        this.reject(errorMessage(e))
        return
      }
      if (body === undefined) return
      this.onFrame(body)
    }
  }

  private onFrame(body: Buffer): void {
    if (this.stopped) return
    let req: BookieRequest
    try {
      req = decodeRequest(body)
    } catch (e) {
      if (!(e instanceof BookieFrameError)) throw e
      if (e.kind === 'opcode') {
        // A newer client asking for an op this bookie does not have: say so, keep the connection.
        this.writer.writeRaw(encodeHeaderOnlyResponse(e.opcode ?? 0, e.requestId ?? 0, BookieStatus.BAD_REQUEST))
        return
      }
      if (e.kind === 'version') {
        this.writer.writeRaw(encodeHeaderOnlyResponse(e.opcode ?? 0, e.requestId ?? 0, BookieStatus.BAD_VERSION))
        this.writer.flush()
        this.server.logger.warn('closing connection: unsupported protocol version', {remote: this.remote, error: e.message, version: BOOKIE_PROTOCOL_VERSION})
        this.server.stats.malformedFrames.inc()
        this.stopped = true
        this.socket.end()
        return
      }
      this.reject(e.message)
      return
    }
    this.dispatch(req)
  }

  private reject(why: string): void {
    this.server.stats.malformedFrames.inc()
    this.server.logger.warn('closing connection after a malformed frame', {remote: this.remote, error: why})
    this.stopped = true
    this.socket.destroy()
  }

  private dispatch(req: BookieRequest): void {
    const core = this.server.core
    const stats = this.server.stats
    const short = req.op !== BookieOp.LONG_POLL_READ
    this.outstanding++
    if (short) this.outstandingShort++
    this.server.outstandingTotal++
    if (this.outstanding >= this.server.outstandingRequestsPerConnectionMax) this.updateReading()
    const t0 = this.server.clock.monotonicMs()
    if (req.op === BookieOp.ADD_ENTRY) {
      // The hot path: no promise or closure per add, the ack encoded from its fields. A core with only
      // the promise API answers through the same callback, so adds have one way to be acknowledged.
      const add = new PendingAdd(this, req, t0)
      try {
        if (core.addEntryWith !== undefined) core.addEntryWith(req.entry, req.masterKey, req.recovery, add)
        else core.addEntry({entry: req.entry, masterKey: req.masterKey, recovery: req.recovery}).then(() => add.addDone(), (e: unknown) => add.addFailed(e))
      } catch (e) {
        add.addFailed(e)
      }
      return
    }
    const done = (resp: BookieResponse): void => {
      this.finished(short)
      if (!this.closed) this.writer.write(resp)
    }
    try {
      switch (req.op) {
        case BookieOp.READ_ENTRY: {
          const {requestId, ledgerId, entryId} = req
          const read = req.fence
            ? core.readEntry({ledgerId, entryId, fence: true, masterKey: req.masterKey})
            : core.readEntry({ledgerId, entryId})
          read.then(
            (entry) => {
              stats.readCount.inc()
              stats.readBytes.inc(entry.length)
              stats.readLatencyMs.observe(this.server.clock.monotonicMs() - t0)
              done({op: BookieOp.READ_ENTRY, requestId, status: BookieStatus.OK, ledgerId, entryId, entry})
            },
            (e: unknown) => {
              stats.readCount.inc()
              stats.readFailures.inc()
              this.logFailure(req, e)
              done({op: BookieOp.READ_ENTRY, requestId, status: statusOf(e), ledgerId, entryId})
            },
          )
          return
        }
        case BookieOp.LONG_POLL_READ: {
          const {requestId, ledgerId, entryId} = req
          core.longPollRead({ledgerId, entryId, timeoutMs: req.timeoutMs}).then(
            (r) => {
              stats.longPollCount.inc()
              done(
                r.entry === undefined
                  ? {op: BookieOp.LONG_POLL_READ, requestId, status: BookieStatus.OK, ledgerId, entryId, lac: r.lac}
                  : {op: BookieOp.LONG_POLL_READ, requestId, status: BookieStatus.OK, ledgerId, entryId, lac: r.lac, entry: r.entry},
              )
            },
            (e: unknown) => {
              stats.longPollCount.inc()
              this.logFailure(req, e)
              done({op: BookieOp.LONG_POLL_READ, requestId, status: statusOf(e), ledgerId, entryId})
            },
          )
          return
        }
        case BookieOp.READ_LAC: {
          const {requestId, ledgerId} = req
          core.readLac(ledgerId).then(
            (lac) => done({op: BookieOp.READ_LAC, requestId, status: BookieStatus.OK, ledgerId, lac}),
            (e: unknown) => done({op: BookieOp.READ_LAC, requestId, status: this.logFailure(req, e), ledgerId}),
          )
          stats.otherCount.inc()
          return
        }
        case BookieOp.WRITE_LAC: {
          const {requestId, ledgerId} = req
          core.writeLac(ledgerId, req.masterKey, req.lac).then(
            () => done({op: BookieOp.WRITE_LAC, requestId, status: BookieStatus.OK, ledgerId}),
            (e: unknown) => done({op: BookieOp.WRITE_LAC, requestId, status: this.logFailure(req, e), ledgerId}),
          )
          stats.otherCount.inc()
          return
        }
        case BookieOp.FENCE: {
          const {requestId, ledgerId} = req
          core.fence(ledgerId, req.masterKey).then(
            (lac) => done({op: BookieOp.FENCE, requestId, status: BookieStatus.OK, ledgerId, lac}),
            (e: unknown) => done({op: BookieOp.FENCE, requestId, status: this.logFailure(req, e), ledgerId}),
          )
          stats.otherCount.inc()
          return
        }
        case BookieOp.BOOKIE_INFO: {
          const {requestId} = req
          core.info().then(
            (info) => done({op: BookieOp.BOOKIE_INFO, requestId, status: BookieStatus.OK, info}),
            (e: unknown) => done({op: BookieOp.BOOKIE_INFO, requestId, status: this.logFailure(req, e)}),
          )
          stats.otherCount.inc()
          return
        }
      }
    } catch (e) {
      // A core method that throws instead of rejecting: answer like a rejection.
      done(failureResponse(req, this.logFailure(req, e)))
    }
  }

  /** An add made through addEntryWith is answered. */
  addAnswered(add: PendingAdd, status: BookieStatus, error: unknown): void {
    const stats = this.server.stats
    stats.addCount.inc()
    if (status === BookieStatus.OK) {
      stats.addBytes.inc(add.bytes)
      stats.addLatencyMs.observe(this.server.clock.monotonicMs() - add.t0)
    } else {
      stats.addFailures.inc()
      if (!(error instanceof BookieError)) this.server.logger.error('request failed', {op: BookieOp.ADD_ENTRY, remote: this.remote, error})
    }
    this.finished(true)
    if (!this.closed) this.writer.writeAdd(add.requestId, status, add.ledgerId, add.entryId)
  }

  /** Bookkeeping once a request is answered: the bounds, reading again, shutdown's drain. */
  private finished(short: boolean): void {
    this.outstanding--
    if (short) this.outstandingShort--
    this.server.outstandingTotal--
    if (this.readPaused) this.updateReading()
    if (this.outstandingShort === 0 && this.drainWaiters.length > 0) this.notifyDrained()
  }

  /** Expected refusals (fenced, no entry...) are routine; anything else is worth a line. */
  private logFailure(req: BookieRequest, e: unknown): BookieStatus {
    const status = statusOf(e)
    if (!(e instanceof BookieError)) {
      this.server.logger.error('request failed', {op: req.op, remote: this.remote, error: e})
    }
    return status
  }

  /** Pauses or resumes reading from the socket according to the bounds. */
  updateReading(): void {
    if (this.closed) return
    const over =
      !this.server.hasCore ||
      this.stopped ||
      this.writeBlocked ||
      this.outstanding >= this.server.outstandingRequestsPerConnectionMax ||
      (this.readPaused && this.outstanding > this.server.outstandingRequestsPerConnectionMax / 2)
    if (over && !this.readPaused) {
      this.readPaused = true
      this.socket.pause()
    } else if (!over && this.readPaused) {
      this.readPaused = false
      this.socket.resume()
      // Frames that arrived with the chunk that crossed the bound are still buffered.
      if (this.decoder.bufferedBytes > 0) setImmediate(() => this.drainFrames())
    }
  }

  /** Stops reading; resolves once every request but parked long polls has been answered (or on close). */
  stopAndDrain(): Promise<void> {
    this.stopped = true
    this.updateReading()
    if (this.outstandingShort === 0 || this.closed) return Promise.resolve()
    return new Promise((resolve) => this.drainWaiters.push(resolve))
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters
    this.drainWaiters = []
    this.writer.flush()
    for (const w of waiters) w()
  }

  /** Flushes what is pending and closes the socket. */
  end(): void {
    if (this.closed) return
    this.writer.flush()
    this.socket.end()
    // A client that never reads its responses must not hold shutdown up.
    this.socket.setTimeout?.(2_000, () => this.socket.destroy())
  }

  private onClose(): void {
    this.closed = true
    this.server.connectionClosed(this)
    this.notifyDrained()
  }
}

/** One add in flight through a core's addEntryWith: its answer's fields and where it goes. */
class PendingAdd implements AddCallback {
  readonly connection: BookieConnection
  readonly requestId: number
  readonly ledgerId: number
  readonly entryId: number
  readonly bytes: number
  readonly t0: number

  constructor(connection: BookieConnection, req: {requestId: number; ledgerId: number; entryId: number; entry: Buffer}, t0: number) {
    this.connection = connection
    this.requestId = req.requestId
    this.ledgerId = req.ledgerId
    this.entryId = req.entryId
    this.bytes = req.entry.length
    this.t0 = t0
  }

  addDone(): void {
    this.connection.addAnswered(this, BookieStatus.OK, undefined)
  }

  addFailed(error: unknown): void {
    this.connection.addAnswered(this, statusOf(error), error)
  }
}

function failureResponse(req: BookieRequest, status: BookieStatus): BookieResponse {
  switch (req.op) {
    case BookieOp.ADD_ENTRY:
    case BookieOp.READ_ENTRY:
    case BookieOp.LONG_POLL_READ:
      return {op: req.op, requestId: req.requestId, status, ledgerId: req.ledgerId, entryId: req.entryId}
    case BookieOp.READ_LAC:
    case BookieOp.WRITE_LAC:
    case BookieOp.FENCE:
      return {op: req.op, requestId: req.requestId, status, ledgerId: req.ledgerId}
    case BookieOp.BOOKIE_INFO:
      return {op: req.op, requestId: req.requestId, status}
  }
}

export class BookieServer {
  private coreValue: BookieCore | undefined
  readonly logger: Logger
  readonly clock: Clock
  readonly stats: BookieServerStats
  readonly outstandingRequestsPerConnectionMax: number
  readonly pendingWriteBytesMax: number
  outstandingTotal = 0
  private readonly connectionsMax: number
  private readonly host: string
  private readonly port: number
  private listening = false
  private readonly server: Server
  private readonly connections = new Set<BookieConnection>()
  private closing: Promise<void> | undefined

  /** A server not yet listening (tests hand it in-memory connections); start() also listens. */
  constructor(opts: BookieServerOptions) {
    this.coreValue = opts.core
    this.logger = opts.logger ?? silentLogger
    this.clock = opts.clock ?? systemClock
    const metrics = opts.metrics ?? newMetricsRegistry()
    this.stats = new BookieServerStats(metrics)
    metrics.gauge('bookie.server.connections', 'open client connections', () => this.connections.size)
    metrics.gauge('bookie.server.requests_outstanding', 'requests in flight (all connections)', () => this.outstandingTotal)
    this.outstandingRequestsPerConnectionMax =
      opts.outstandingRequestsPerConnectionMax ?? BOOKIE_SERVER_DEFAULTS.outstandingRequestsPerConnectionMax
    this.pendingWriteBytesMax = opts.pendingWriteBytesMax ?? BOOKIE_SERVER_DEFAULTS.pendingWriteBytesMax
    this.connectionsMax = opts.connectionsMax ?? BOOKIE_SERVER_DEFAULTS.connectionsMax
    this.host = opts.host
    this.port = opts.port
    this.server = createServer({noDelay: true})
    this.server.on('connection', (socket: Socket) => this.handleConnection(socket))
  }

  /** Listens on host:port; rejects with a clear message when the address is taken. */
  static async start(opts: BookieServerOptions): Promise<BookieServer> {
    const bookieServer = new BookieServer(opts)
    await bookieServer.listen()
    return bookieServer
  }

  private async listen(): Promise<void> {
    const server = this.server
    const opts = {host: this.host, port: this.port}
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        // Not retriable: a taken port or a foreign address needs the operator, not another attempt.
        reject(
          new DlogError(
            'BOOKIE_LISTEN',
            e.code === 'EADDRINUSE'
              ? `cannot listen on ${opts.host}:${opts.port}: the address is already in use (another bookie running?)`
              : `cannot listen on ${opts.host}:${opts.port}: ${e.message}`,
            {cause: e, retriable: false},
          ),
        )
      }
      server.once('error', onError)
      server.listen({host: opts.host, port: opts.port}, () => {
        server.off('error', onError)
        server.on('error', (e) => this.logger.error('server socket error', {error: e}))
        this.listening = true
        resolve()
      })
    })
  }

  get core(): BookieCore {
    assert(this.coreValue !== undefined, 'bookie server has no core attached')
    return this.coreValue
  }

  get hasCore(): boolean {
    return this.coreValue !== undefined
  }

  /** Starts serving requests with `core` (for a server that listened before its core was open). */
  attachCore(core: BookieCore): void {
    this.coreValue = core
    for (const c of this.connections) c.updateReading()
  }

  get address(): {host: string; port: number} {
    const a = this.server.address() as AddressInfo
    return {host: a.address, port: a.port}
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /** Serves one connection (accepted by the listener, or an in-memory stream in tests). */
  handleConnection(socket: ConnectionSocket): void {
    if (this.closing || this.connections.size >= this.connectionsMax) {
      if (!this.closing) this.logger.warn('refusing connection: too many open', {connectionsMax: this.connectionsMax})
      socket.destroy()
      return
    }
    this.connections.add(new BookieConnection(this, socket))
  }

  connectionClosed(c: BookieConnection): void {
    this.connections.delete(c)
  }

  /** Graceful shutdown; see the module comment. Idempotent. */
  close(opts: {drainTimeoutMs?: number} = {}): Promise<void> {
    this.closing ??= this.doClose(opts.drainTimeoutMs ?? BOOKIE_SERVER_DEFAULTS.drainTimeoutMs)
    return this.closing
  }

  private async doClose(drainTimeoutMs: number): Promise<void> {
    const stopped = this.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve()
    const conns = [...this.connections]
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)))
    await Promise.race([Promise.all(conns.map((c) => c.stopAndDrain())), timedOut])
    clearTimeout(timer)
    for (const c of conns) c.end()
    await stopped
  }
}
