/**
 * One client TCP connection (ZooKeeper's ServerCnxn): framing, the handshake state, and ordered,
 * durability-gated, batched output.
 *
 * Output: every reply and notification is appended to one per-connection buffer in the order the
 * server produced it, tagged with a release zxid: the zxid that must be durable before those bytes
 * may leave (a write's own zxid; for a read, the last applied zxid, so no client ever sees state
 * that a crash could take back). Releases happen in order, so replies keep request order and a
 * notification always precedes the reply of any later request. Released bytes are written once per
 * event-loop turn (the host schedules flush()), one socket write per connection per turn.
 *
 * Limits: frames above frameBytesMax close the connection (its session survives); when too many
 * requests wait for durability or too many bytes wait for the client to read them, the connection
 * stops reading (TCP backpressure on the client) until they drain; a client that still lets output
 * pile up past outputBytesMax is disconnected rather than allowed to grow our memory.
 */
import type {Socket} from 'node:net'

import type {Clock, TimerHandle} from '../../common/clock.js'
import {errorMessage} from '../../common/errors.js'
import type {Logger} from '../../common/logger.js'
import {FrameDecoder} from '../../net/frame-decoder.js'
import {JuteWriter, type ZKId} from '../../protocol/jute/index.js'
import {normaliseAddress} from './acl.js'
import type {Session} from './session-tracker.js'
import type {Watcher} from './watch-manager.js'

/** A session as the server tracks it: the tracker's view plus the connection it is attached to. */
export interface LiveSession extends Session {
  conn: ServerConnection | null
}

export interface ConnectionLimits {
  /** Largest frame payload accepted (jute.maxbuffer). */
  frameBytesMax: number
  /** Requests whose replies wait for durability before the connection stops reading. */
  outstandingRequestsMax: number
  /** Pending output (ours plus the socket's) above which the connection stops reading. */
  outputBytesHighWater: number
  /** Pending output above which the connection is closed. */
  outputBytesMax: number
  /** A connection that sends no ConnectRequest within this time is closed. */
  sessionlessTimeoutMs: number
}

/** What a connection needs from the server it belongs to. */
export interface ConnectionHost {
  readonly limits: ConnectionLimits
  readonly clock: Clock
  readonly log: Logger
  /** Highest zxid known durable. */
  durableZxid(): number
  /** The first four bytes of a fresh connection: true when they were a four-letter word (handled). */
  handleFourLetterWord(conn: ServerConnection, word: number): boolean
  handleFrame(conn: ServerConnection, frame: Buffer): void
  /** conn has released output: call conn.flush() soon (once per event-loop turn). */
  scheduleFlush(conn: ServerConnection): void
  /** conn holds output waiting for durability: call conn.release() as the durable zxid advances. */
  awaitDurable(conn: ServerConnection): void
  connectionClosed(conn: ServerConnection): void
}

export type ConnectionState = 'handshake' | 'connected' | 'closing' | 'closed'

let nextConnectionId = 1

export class ServerConnection implements Watcher {
  readonly id = nextConnectionId++
  readonly socket: Socket
  readonly remoteAddress: string
  readonly remotePort: number
  readonly watchedPaths = new Map<object, Set<string>>()
  state: ConnectionState = 'handshake'
  /** The attached session (set by the server once the handshake succeeded). */
  session: LiveSession | null = null
  /** The connect request carried the trailing readOnly byte (Java clients): echo one back. */
  readOnlyRequested = false
  /** The connection's identities: its ip, plus digest ids it authenticated with. */
  readonly authIds: ZKId[]
  packetsReceived = 0
  packetsSent = 0
  /** Replies and notifications are written here; see commit() and flush(). */
  readonly out: JuteWriter

  private readonly host: ConnectionHost
  private readonly decoder: FrameDecoder
  private sessionlessTimer: TimerHandle | null
  private firstBytesChecked = false
  private readPaused = false
  private closeWhenDrained = false
  /** Bytes handed to the socket so far; with out.length this makes absolute output positions. */
  private takenBytes = 0
  /** Absolute end of the output that may be written now. */
  private releasedEnd = 0
  /** Held output: absolute end positions and the zxid each waits for, in order (a queue from markHead). */
  private markEnds: number[] = []
  private markZxids: number[] = []
  private markHead = 0

  constructor(socket: Socket, host: ConnectionHost) {
    this.socket = socket
    this.host = host
    this.remoteAddress = normaliseAddress(socket.remoteAddress ?? '')
    this.remotePort = socket.remotePort ?? 0
    this.authIds = [{scheme: 'ip', id: this.remoteAddress}]
    this.decoder = new FrameDecoder({frameBytesMax: host.limits.frameBytesMax})
    this.out = new JuteWriter(16 * 1024)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.maybeResume())
    socket.on('error', (e) => host.log.debug('connection error', {conn: this.id, error: errorMessage(e)}))
    socket.on('close', () => this.onClosed())
    const timer = host.clock.setTimeout(() => {
      if (this.state === 'handshake') this.close('no ConnectRequest within the sessionless timeout')
    }, host.limits.sessionlessTimeoutMs)
    timer.unref()
    this.sessionlessTimer = timer
  }

  /** Requests (and notifications) whose output waits for durability. */
  get outstanding(): number {
    return this.markEnds.length - this.markHead
  }

  /** Bytes produced and not yet written to the socket, plus the socket's own backlog. */
  get pendingOutputBytes(): number {
    return this.out.length + this.socket.writableLength
  }

  get sessionId(): bigint | null {
    return this.session === null ? null : this.session.id
  }

  /** Reading is paused because replies wait for durability or for the client to read them. */
  get isReadPaused(): boolean {
    return this.readPaused
  }

  get isOpen(): boolean {
    return this.state === 'handshake' || this.state === 'connected'
  }

  /** The handshake succeeded: requests are now served. */
  established(): void {
    if (this.state !== 'handshake') return
    this.state = 'connected'
    this.clearSessionlessTimer()
  }

  private onData(chunk: Buffer): void {
    if (!this.isOpen) return
    this.decoder.push(chunk)
    this.processFrames()
  }

  /** Serves buffered frames until none is complete, a limit is hit, or the connection stops serving. */
  private processFrames(): void {
    try {
      while (this.isOpen) {
        if (this.overLimits()) {
          this.pauseReading()
          return
        }
        if (!this.firstBytesChecked) {
          const word = this.decoder.peekInt32()
          if (word === undefined) return
          this.firstBytesChecked = true
          if (this.host.handleFourLetterWord(this, word)) return
        }
        const frame = this.decoder.next()
        if (frame === undefined) return
        this.packetsReceived++
        this.host.handleFrame(this, frame)
      }
    } catch (e) {
      // Bad input (an oversized frame) or a bug while serving this connection: it ends here, the
      // server and every other connection carry on.
      this.host.log.info('closing connection after an error', {
        conn: this.id,
        error: errorMessage(e),
        errorName: e instanceof Error ? e.name : typeof e,
      })
      this.close(errorMessage(e))
    }
  }

  private overLimits(): boolean {
    const limits = this.host.limits
    return this.outstanding >= limits.outstandingRequestsMax || this.pendingOutputBytes > limits.outputBytesHighWater
  }

  private pauseReading(): void {
    if (this.readPaused) return
    this.readPaused = true
    this.socket.pause()
  }

  private maybeResume(): void {
    if (!this.readPaused || !this.isOpen || this.overLimits()) return
    this.readPaused = false
    this.socket.resume()
    this.processFrames()
  }

  /**
   * Marks everything appended to `out` so far as one unit of output that may leave once
   * `releaseZxid` is durable.
   */
  commit(releaseZxid: number): void {
    this.packetsSent++
    const end = this.takenBytes + this.out.length
    if (this.markHead === this.markEnds.length && releaseZxid <= this.host.durableZxid()) {
      this.releasedEnd = end
      this.host.scheduleFlush(this)
    } else {
      if (this.markHead === this.markEnds.length) this.host.awaitDurable(this)
      this.markEnds.push(end)
      this.markZxids.push(releaseZxid)
    }
    if (this.pendingOutputBytes > this.host.limits.outputBytesMax) {
      this.close(`output backlog above ${this.host.limits.outputBytesMax} bytes (client not reading)`)
    }
  }

  /** The durable zxid advanced: releases held output up to it. Returns true while output is still held. */
  release(durableZxid: number): boolean {
    let released = false
    while (this.markHead < this.markEnds.length && this.markZxids[this.markHead]! <= durableZxid) {
      this.releasedEnd = this.markEnds[this.markHead]!
      this.markHead++
      released = true
    }
    if (this.markHead === this.markEnds.length) {
      this.markEnds = []
      this.markZxids = []
      this.markHead = 0
    }
    if (released) this.host.scheduleFlush(this)
    return this.markHead < this.markEnds.length
  }

  /** Writes the released output (one socket write); ends the connection if it was asked to. */
  flush(): void {
    if (this.state === 'closed') return
    const bytes = this.releasedEnd - this.takenBytes
    if (bytes > 0) {
      const buf = this.out.take(bytes)
      this.takenBytes += bytes
      this.socket.write(buf)
      // Nothing queued in the socket: the kernel took the bytes during write(), so the writer may
      // reuse its buffer instead of allocating a new one (most writes on a healthy connection).
      if (this.socket.writableLength === 0) this.out.reclaim()
    }
    if (this.closeWhenDrained && this.outstanding === 0 && this.out.length === 0) {
      this.finish()
      return
    }
    if (this.socket.writableLength > this.host.limits.outputBytesMax) {
      this.close(`output backlog above ${this.host.limits.outputBytesMax} bytes (client not reading)`)
      return
    }
    this.maybeResume()
  }

  /**
   * Stops serving requests and closes the connection once everything already produced (including
   * output still waiting for durability) has been written.
   */
  closeAfterOutput(): void {
    if (!this.isOpen) return
    this.state = 'closing'
    this.closeWhenDrained = true
    this.clearSessionlessTimer()
    this.host.scheduleFlush(this)
  }

  private finish(): void {
    this.state = 'closed'
    this.socket.destroySoon()
    this.host.connectionClosed(this)
  }

  /** Closes at once, dropping unsent output. */
  close(reason: string): void {
    if (this.state === 'closed') return
    this.host.log.debug('closing connection', {conn: this.id, session: this.sessionId ?? undefined, reason})
    this.state = 'closed'
    this.clearSessionlessTimer()
    this.socket.destroy()
    this.host.connectionClosed(this)
  }

  private onClosed(): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.clearSessionlessTimer()
    this.host.connectionClosed(this)
  }

  private clearSessionlessTimer(): void {
    if (this.sessionlessTimer === null) return
    this.host.clock.clearTimeout(this.sessionlessTimer)
    this.sessionlessTimer = null
  }
}
