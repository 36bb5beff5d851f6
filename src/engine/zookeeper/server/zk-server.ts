/**
 * The embedded ZooKeeper-compatible server: a standalone ZooKeeper 3.8 as node-zookeeper-client and
 * the Java client (zkCli.sh) see it, on one Node event loop.
 *
 * Pipeline (ZooKeeper's prep → sync → final, without threads): a request is validated and applied to
 * the in-memory database at once (request-processor.ts), its txn is handed to ZKPersistence.append()
 * without waiting, and its reply waits in the connection's output until the txn is durable. So the
 * server keeps accepting and applying requests while earlier txns are being synced (the store may
 * group many into one fsync), replies leave in request order, and no reply (a read's included) ever
 * shows state that is not yet durable. Released output is written once per event-loop turn.
 *
 * Sessions: the handshake creates a session (a createSession txn, reply once durable) or resumes one
 * by id and password on a new connection (closing the old connection); a bad password or an unknown
 * or expired session gets the ZooKeeper "invalid session" answer (timeOut 0, id 0, zero password) and
 * the connection is closed. Sessions expire in tickTime buckets (session-tracker.ts); expiry and
 * closeSession are closeSession txns that delete the session's ephemerals and fire their watches.
 *
 * Recovery: start() loads the store's snapshot and replays the txns after it. A snapshot is taken
 * every snapCount txns, once the txn it reflects is durable. A failing append is fatal to the server
 * (nothing more can be made durable): it stops serving and closes every connection.
 */
import {createServer, type Server, type Socket} from 'node:net'

import {assert} from '../../common/assert.js'
import {type Clock, systemClock, type TimerHandle} from '../../common/clock.js'
import {DlogError, errorMessage, InvalidInputError} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import {cryptoRandom, type Random} from '../../common/random.js'
import {
  decodeConnectRequest,
  JuteReader,
  JuteWriter,
  ZK_FRAME_BYTES_MAX,
  ZK_PASSWD_BYTES,
  ZK_PROTOCOL_VERSION,
  ZKOpCode,
} from '../../protocol/jute/index.js'
import {normaliseAddress} from './acl.js'
import {type ConnectionHost, type ConnectionLimits, type LiveSession, ServerConnection} from './connection.js'
import {zxidHex} from './data-tree.js'
import {
  DEFAULT_FOUR_LETTER_WHITELIST,
  FOUR_LETTER_WORDS,
  fourLetterWordOf,
  IMPLEMENTED_FOUR_LETTER_WORDS,
  notWhitelistedText,
  renderFourLetterWord,
  type ServerStatsView,
} from './four-letter-words.js'
import {MemoryPersistence, type RecoveredState, type ZKPersistence} from './persistence/types.js'
import {type ProcessorHost, RequestProcessor} from './request-processor.js'
import {SessionTracker} from './session-tracker.js'
import {decodeTxn, encodeTxn, type Txn} from './txn.js'
import {WatchManager} from './watch-manager.js'
import {ZKDatabase} from './zk-database.js'

export interface ZKServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string
  /** TCP port; 0 (default) picks a free one. */
  port?: number
  tickTimeMs?: number
  /** Default 2 × tickTime. */
  minSessionTimeoutMs?: number
  /** Default 20 × tickTime. */
  maxSessionTimeoutMs?: number
  /** Connections per client IP (default 60); 0 = unlimited. */
  maxClientCnxns?: number
  /** Default: MemoryPersistence (nothing survives a restart). */
  persistence?: ZKPersistence
  /** Txns between snapshots (default 100000). */
  snapCount?: number
  /** Four-letter words answered (default srvr, ruok, stat, mntr; `*` = all); srvr is always answered. */
  fourLetterWhitelist?: string[]
  /**
   * How often empty containers (create -c) that once had children are deleted (default 60 s, like
   * znode.container.checkIntervalMs).
   */
  containerCheckIntervalMs?: number
  /** A connection sending no ConnectRequest is closed after this long (default 10 s). */
  sessionlessTimeoutMs?: number
  /** Largest request payload (default jute.maxbuffer, 1048575). */
  frameBytesMax?: number
  /** Requests per connection waiting for durability before it stops reading (default 1000). */
  outstandingRequestsMax?: number
  /** Unsent output per connection at which it stops reading requests (default 4 MiB). */
  outputBytesHighWater?: number
  /** Unsent output per connection at which it is closed (default 64 MiB). */
  outputBytesMax?: number
  clock?: Clock
  random?: Random
  logger?: Logger
}

export interface ZKServerStats {
  /** Znodes, "/" and the /zookeeper nodes included. */
  znodeCount: number
  ephemeralCount: number
  sessionCount: number
  connectionCount: number
  /** (path, connection) watch pairs, data and child watches together. */
  watchCount: number
  lastZxid: bigint
  durableZxid: bigint
  outstandingRequests: number
  packetsReceived: number
  packetsSent: number
  approximateDataBytes: number
  latencyMinMs: number
  latencyAvgMs: number
  latencyMaxMs: number
  /** Connections refused by maxClientCnxns. */
  rejectedConnections: number
  /** Connections not reading requests right now (backpressure: output or durability backlog). */
  readPausedConnections: number
  snapshotsTaken: number
  /** Set when the store failed and the server stopped serving. */
  failure: string | undefined
}

/** The persistent store failed: nothing more can be made durable, so the server stopped. */
export class ZKServerFailedError extends DlogError {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super('ZK_SERVER_FAILED', message, {retriable: false, cause: opts.cause})
    this.name = 'ZKServerFailedError'
  }
}

interface ResolvedOptions {
  host: string
  port: number
  tickTimeMs: number
  minSessionTimeoutMs: number
  maxSessionTimeoutMs: number
  maxClientCnxns: number
  persistence: ZKPersistence
  snapCount: number
  fourLetterWhitelist: ReadonlySet<string>
  containerCheckIntervalMs: number
  limits: ConnectionLimits
  clock: Clock
  random: Random
  logger: Logger
}

const TELNET_CLOSE = 0xfff4fffd | 0
/** ZooKeeper's znode.container.maxPerMinute default, applied per check. */
const CONTAINER_DELETES_PER_CHECK_MAX = 10_000
const ZERO_PASSWD = Buffer.alloc(ZK_PASSWD_BYTES)

/** Fills in defaults and checks the options (one place for both). */
export function resolveZKServerOptions(opts: ZKServerOptions = {}): ResolvedOptions {
  const tickTimeMs = opts.tickTimeMs ?? 2000
  const minSessionTimeoutMs = opts.minSessionTimeoutMs ?? 2 * tickTimeMs
  const maxSessionTimeoutMs = opts.maxSessionTimeoutMs ?? 20 * tickTimeMs
  const whitelist = opts.fourLetterWhitelist ?? [...DEFAULT_FOUR_LETTER_WHITELIST]
  const words = whitelist.map((w) => w.trim()).includes('*') ? [...FOUR_LETTER_WORDS] : whitelist.map((w) => w.trim())
  const resolved: ResolvedOptions = {
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    tickTimeMs,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    maxClientCnxns: opts.maxClientCnxns ?? 60,
    persistence: opts.persistence ?? new MemoryPersistence(),
    snapCount: opts.snapCount ?? 100_000,
    fourLetterWhitelist: new Set([...words, 'srvr']),
    containerCheckIntervalMs: opts.containerCheckIntervalMs ?? 60_000,
    limits: {
      frameBytesMax: opts.frameBytesMax ?? ZK_FRAME_BYTES_MAX,
      outstandingRequestsMax: opts.outstandingRequestsMax ?? 1000,
      outputBytesHighWater: opts.outputBytesHighWater ?? 4 * 1024 * 1024,
      outputBytesMax: opts.outputBytesMax ?? 64 * 1024 * 1024,
      sessionlessTimeoutMs: opts.sessionlessTimeoutMs ?? 10_000,
    },
    clock: opts.clock ?? systemClock,
    random: opts.random ?? cryptoRandom,
    logger: opts.logger ?? silentLogger,
  }
  const positive: [string, number][] = [
    ['tickTimeMs', tickTimeMs],
    ['minSessionTimeoutMs', minSessionTimeoutMs],
    ['maxSessionTimeoutMs', maxSessionTimeoutMs],
    ['snapCount', resolved.snapCount],
    ['containerCheckIntervalMs', resolved.containerCheckIntervalMs],
    ['frameBytesMax', resolved.limits.frameBytesMax],
    ['outstandingRequestsMax', resolved.limits.outstandingRequestsMax],
    ['outputBytesHighWater', resolved.limits.outputBytesHighWater],
    ['outputBytesMax', resolved.limits.outputBytesMax],
    ['sessionlessTimeoutMs', resolved.limits.sessionlessTimeoutMs],
  ]
  for (const [name, v] of positive) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new InvalidInputError(`${name} must be a positive integer, got ${v}`)
  }
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new InvalidInputError(`minSessionTimeoutMs ${minSessionTimeoutMs} exceeds maxSessionTimeoutMs ${maxSessionTimeoutMs}`)
  }
  if (!Number.isSafeInteger(resolved.maxClientCnxns) || resolved.maxClientCnxns < 0) {
    throw new InvalidInputError(`maxClientCnxns must be 0 (unlimited) or more, got ${resolved.maxClientCnxns}`)
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw new InvalidInputError(`port must be 0..65535, got ${resolved.port}`)
  }
  return resolved
}

/** Rebuilds the database from what the store recovered: its snapshot, then every txn after it. */
export function recoverDatabase(recovered: RecoveredState): ZKDatabase {
  let db: ZKDatabase
  try {
    db = recovered.snapshot ? ZKDatabase.fromSnapshot(recovered.snapshot.payload) : new ZKDatabase()
  } catch (e) {
    throw new InvalidInputError(`ZooKeeper snapshot cannot be loaded: ${errorMessage(e)}`, {cause: e})
  }
  if (recovered.snapshot) db.lastZxid = Math.max(db.lastZxid, Number(recovered.snapshot.zxid))
  for (const record of recovered.txns) {
    const zxid = Number(record.zxid)
    if (zxid <= db.lastZxid) continue
    try {
      db.applyTxn(decodeTxn(record.payload), zxid, null)
    } catch (e) {
      throw new InvalidInputError(`ZooKeeper txn ${zxidHex(zxid)} cannot be replayed: ${errorMessage(e)}`, {cause: e})
    }
  }
  return db
}

export class ZKServer implements ConnectionHost, ProcessorHost {
  readonly host: string
  port = 0
  readonly db: ZKDatabase
  readonly dataWatches = new WatchManager<ServerConnection>()
  readonly childWatches = new WatchManager<ServerConnection>()
  readonly clock: Clock
  readonly log: Logger
  readonly limits: ConnectionLimits

  private readonly opts: ResolvedOptions
  private readonly persistence: ZKPersistence
  private readonly processor: RequestProcessor
  private readonly sessions = new Map<bigint, LiveSession>()
  private readonly tracker: SessionTracker<LiveSession>
  private readonly connections = new Set<ServerConnection>()
  private readonly connectionsPerIp = new Map<string, number>()
  private readonly netServer: Server
  private readonly txnWriter = new JuteWriter(1024)
  private readonly connectReader = new JuteReader(Buffer.alloc(0))
  private durable: number
  private readonly waiting = new Set<ServerConnection>()
  private readonly dirty = new Set<ServerConnection>()
  private flushImmediate: NodeJS.Immediate | null = null
  private nextSessionId: bigint
  private lastAppend: Promise<void> = Promise.resolve()
  private txnsSinceSnapshot = 0
  private snapshotPending: {zxid: number; payload: Buffer} | null = null
  private snapshotRunning: Promise<void> | null = null
  private snapshotsTaken = 0
  private failure: Error | null = null
  private closed = false
  private readonly startedAtMs: number
  private retiredPacketsReceived = 0
  private retiredPacketsSent = 0
  private rejectedConnections = 0
  private containerTimer: TimerHandle | null = null
  private latencyMinMs = Infinity
  private latencyMaxMs = 0
  private latencyTotalMs = 0
  private latencyCount = 0

  /** Recovers the state from the store, then listens. */
  static async start(opts: ZKServerOptions = {}): Promise<ZKServer> {
    const resolved = resolveZKServerOptions(opts)
    const db = recoverDatabase(await resolved.persistence.recover())
    const server = new ZKServer(resolved, db)
    try {
      await server.listen(resolved.port)
    } catch (e) {
      await server.close() // timers and the store, so a failed start leaves nothing running
      throw e
    }
    return server
  }

  private constructor(opts: ResolvedOptions, db: ZKDatabase) {
    this.opts = opts
    this.host = opts.host
    this.db = db
    this.clock = opts.clock
    this.log = opts.logger.child('zookeeper')
    this.limits = opts.limits
    this.persistence = opts.persistence
    this.durable = db.lastZxid
    this.startedAtMs = opts.clock.monotonicMs()
    this.processor = new RequestProcessor(this)
    this.tracker = new SessionTracker<LiveSession>({
      tickMs: opts.tickTimeMs,
      clock: opts.clock,
      onExpire: (s) => this.expire(s),
    })
    // Like ZooKeeper standalone: the first id is 1 in the top byte over the low 40 bits of the clock
    // shifted 16, and ids then count up; above every recovered id so a restart never reuses one.
    let next = (1n << 56n) | ((BigInt(Math.floor(opts.clock.nowMs())) & 0xff_ffff_ffffn) << 16n)
    for (const record of db.sessions.values()) {
      const session: LiveSession = {...record, expiresAtMs: 0, closing: false, conn: null}
      this.sessions.set(record.id, session)
      this.tracker.touch(session)
      if (record.id >= next) next = record.id + 1n
    }
    this.nextSessionId = next
    this.armContainerCheck()
    this.netServer = createServer((socket) => this.accept(socket))
    this.netServer.on('error', (e) => this.log.error('listener error', {error: errorMessage(e)}))
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e)
      this.netServer.once('error', onError)
      this.netServer.listen(port, this.host, () => {
        this.netServer.off('error', onError)
        const addr = this.netServer.address()
        assert(addr !== null && typeof addr === 'object', 'listening server has an address')
        this.port = addr.port
        this.log.info('ZooKeeper server listening', {host: this.host, port: this.port, zxid: zxidHex(this.db.lastZxid)})
        resolve()
      })
    })
  }

  // ---- connections ------------------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closed || this.failure !== null) {
      socket.destroy()
      return
    }
    const ip = normaliseAddress(socket.remoteAddress ?? '')
    const count = this.connectionsPerIp.get(ip) ?? 0
    if (this.opts.maxClientCnxns > 0 && count >= this.opts.maxClientCnxns) {
      this.rejectedConnections++
      this.log.warn('too many connections from one address', {ip, max: this.opts.maxClientCnxns})
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    this.connectionsPerIp.set(ip, count + 1)
    this.connections.add(new ServerConnection(socket, this))
  }

  connectionClosed(conn: ServerConnection): void {
    if (!this.connections.delete(conn)) return
    const ip = conn.remoteAddress
    const count = (this.connectionsPerIp.get(ip) ?? 1) - 1
    if (count <= 0) this.connectionsPerIp.delete(ip)
    else this.connectionsPerIp.set(ip, count)
    this.dataWatches.removeWatcher(conn)
    this.childWatches.removeWatcher(conn)
    this.waiting.delete(conn)
    this.dirty.delete(conn)
    this.retiredPacketsReceived += conn.packetsReceived
    this.retiredPacketsSent += conn.packetsSent
    const session = conn.session
    if (session !== null && session.conn === conn) session.conn = null
  }

  durableZxid(): number {
    return this.durable
  }

  scheduleFlush(conn: ServerConnection): void {
    this.dirty.add(conn)
    if (this.flushImmediate === null) this.flushImmediate = setImmediate(() => this.flushAll())
  }

  private flushAll(): void {
    this.flushImmediate = null
    const conns = [...this.dirty]
    this.dirty.clear()
    for (const conn of conns) conn.flush()
  }

  awaitDurable(conn: ServerConnection): void {
    this.waiting.add(conn)
  }

  handleFrame(conn: ServerConnection, frame: Buffer): void {
    if (this.failure !== null) {
      conn.close('server stopped after a persistence failure')
      return
    }
    if (conn.state === 'handshake') {
      this.handleConnect(conn, frame)
      return
    }
    const session = conn.session
    if (session === null || session.closing) return
    this.tracker.touch(session)
    this.processor.handleRequest(conn, frame)
  }

  // ---- sessions ---------------------------------------------------------------------------------

  private handleConnect(conn: ServerConnection, frame: Buffer): void {
    let req
    try {
      req = decodeConnectRequest(this.connectReader.reset(frame))
    } catch (e) {
      conn.close(`malformed ConnectRequest: ${errorMessage(e)}`)
      return
    }
    if (req.lastZxidSeen > BigInt(this.db.lastZxid)) {
      // ZooKeeper: "Refusing session request ... client must try another server".
      this.log.info('refusing a client that has seen a later zxid', {
        clientZxid: req.lastZxidSeen,
        zxid: zxidHex(this.db.lastZxid),
      })
      conn.close('client has seen a zxid this server does not have')
      return
    }
    const timeoutMs = Math.min(Math.max(req.timeOutMs, this.opts.minSessionTimeoutMs), this.opts.maxSessionTimeoutMs)
    conn.readOnlyRequested = req.readOnly !== undefined
    if (req.sessionId === 0n) {
      const id = this.nextSessionId
      this.nextSessionId += 1n
      const passwd = this.opts.random.bytes(ZK_PASSWD_BYTES)
      const zxid = this.processor.commitWrite({
        timeMs: this.clock.nowMs(),
        op: {type: ZKOpCode.CREATE_SESSION, sessionId: id, timeoutMs, passwd},
      })
      const session: LiveSession = {id, passwd, timeoutMs, expiresAtMs: 0, closing: false, conn}
      this.sessions.set(id, session)
      this.tracker.touch(session)
      conn.session = session
      conn.established()
      this.writeConnectResponse(conn, timeoutMs, id, passwd, zxid)
      this.log.debug('session created', {session: id, timeoutMs})
      return
    }
    const session = this.sessions.get(req.sessionId)
    if (session === undefined || session.closing || req.passwd === null || !req.passwd.equals(session.passwd)) {
      this.writeConnectResponse(conn, 0, 0n, ZERO_PASSWD, this.db.lastZxid)
      conn.closeAfterOutput()
      return
    }
    const old = session.conn
    if (old !== null && old !== conn) old.close('the session reconnected on another connection')
    session.conn = conn
    session.timeoutMs = timeoutMs
    const record = this.db.sessions.get(session.id)
    if (record !== undefined) record.timeoutMs = timeoutMs
    conn.session = session
    this.tracker.touch(session)
    conn.established()
    this.writeConnectResponse(conn, timeoutMs, session.id, session.passwd, this.db.lastZxid)
  }

  private writeConnectResponse(
    conn: ServerConnection,
    timeoutMs: number,
    sessionId: bigint,
    passwd: Buffer,
    releaseZxid: number,
  ): void {
    const w = conn.out
    const at = w.beginFrame()
    w.int(ZK_PROTOCOL_VERSION).int(timeoutMs).long(sessionId).buffer(passwd)
    // Real ZooKeeper appends readOnly only for clients that sent it (cnxn.isOldClient).
    if (conn.readOnlyRequested) w.bool(false)
    w.endFrame(at)
    conn.commit(releaseZxid)
  }

  /** Ends a session: a closeSession txn deletes its ephemerals (watches fire). Returns the txn zxid. */
  endSession(sessionId: bigint): number {
    const session = this.sessions.get(sessionId)
    if (session === undefined || session.closing) return this.db.lastZxid
    session.closing = true
    this.tracker.remove(session)
    this.sessions.delete(sessionId)
    return this.processor.commitWrite({timeMs: this.clock.nowMs(), op: {type: ZKOpCode.CLOSE_SESSION, sessionId}})
  }

  private expire(session: LiveSession): void {
    if (session.closing || this.closed || this.failure !== null) return
    this.log.info('session expired', {session: session.id, timeoutMs: session.timeoutMs})
    this.endSession(session.id)
    session.conn?.closeAfterOutput()
  }

  /** ContainerManager: deletes (through the txn log) containers that are empty after having had children. */
  private armContainerCheck(): void {
    const timer = this.clock.setTimeout(() => {
      this.containerTimer = null
      if (this.closed) return
      if (this.failure === null) {
        for (const path of this.db.tree.emptyContainers(CONTAINER_DELETES_PER_CHECK_MAX)) {
          this.processor.commitWrite({timeMs: this.clock.nowMs(), op: {type: ZKOpCode.DELETE, path}})
        }
      }
      this.armContainerCheck()
    }, this.opts.containerCheckIntervalMs)
    timer.unref()
    this.containerTimer = timer
  }

  // ---- durability -------------------------------------------------------------------------------

  logTxn(txn: Txn, zxid: number): void {
    if (this.failure !== null) return
    const payload = encodeTxn(txn, this.txnWriter)
    let append: Promise<void>
    try {
      append = this.persistence.append({zxid: BigInt(zxid), payload})
    } catch (e) {
      append = Promise.reject(e) // a store that throws instead of rejecting fails the same way
    }
    this.lastAppend = append.then(
      () => this.onDurable(zxid),
      (e) => this.onPersistenceFailure(e),
    )
    if (++this.txnsSinceSnapshot >= this.opts.snapCount) this.snapshotAt(zxid)
  }

  private onDurable(zxid: number): void {
    if (zxid <= this.durable) return
    this.durable = zxid
    for (const conn of this.waiting) if (!conn.release(zxid)) this.waiting.delete(conn)
    if (this.snapshotPending !== null && this.snapshotPending.zxid <= zxid) this.writeSnapshot()
  }

  /** Serialises the state as of zxid now; it is stored once zxid is durable. */
  private snapshotAt(zxid: number): void {
    if (this.snapshotPending !== null || this.snapshotRunning !== null) return
    this.txnsSinceSnapshot = 0
    this.snapshotPending = {zxid, payload: this.db.encodeSnapshot()}
    if (this.durable >= zxid) this.writeSnapshot()
  }

  private writeSnapshot(): void {
    const pending = this.snapshotPending
    if (pending === null || this.snapshotRunning !== null) return
    this.snapshotPending = null
    this.snapshotRunning = this.persistence.snapshot(BigInt(pending.zxid), pending.payload).then(
      () => {
        this.snapshotsTaken++
        this.snapshotRunning = null
        this.log.info('snapshot stored', {zxid: zxidHex(pending.zxid), bytes: pending.payload.length})
      },
      (e) => {
        // Not fatal: the txn log still holds everything since the previous snapshot.
        this.snapshotRunning = null
        this.log.warn('snapshot failed', {zxid: zxidHex(pending.zxid), error: errorMessage(e)})
      },
    )
  }

  private onPersistenceFailure(e: unknown): void {
    if (this.failure !== null) return
    this.failure = new ZKServerFailedError(`ZooKeeper txn log append failed: ${errorMessage(e)}`, {cause: e})
    this.log.error('txn log append failed; the server stops serving', {error: errorMessage(e)})
    this.netServer.close()
    for (const conn of [...this.connections]) conn.close('server stopped after a persistence failure')
  }

  // ---- stats, four-letter words ----------------------------------------------------------------

  recordLatency(latencyMs: number): void {
    if (latencyMs < this.latencyMinMs) this.latencyMinMs = latencyMs
    if (latencyMs > this.latencyMaxMs) this.latencyMaxMs = latencyMs
    this.latencyTotalMs += latencyMs
    this.latencyCount++
  }

  private resetLatency(): void {
    this.latencyMinMs = Infinity
    this.latencyMaxMs = 0
    this.latencyTotalMs = 0
    this.latencyCount = 0
  }

  handleFourLetterWord(conn: ServerConnection, word: number): boolean {
    if (word === TELNET_CLOSE) {
      conn.close('telnet close')
      return true
    }
    const cmd = fourLetterWordOf(word)
    if (cmd === undefined) return false
    conn.packetsReceived++
    let text: string
    if (!this.opts.fourLetterWhitelist.has(cmd) || !IMPLEMENTED_FOUR_LETTER_WORDS.has(cmd)) {
      text = notWhitelistedText(cmd)
    } else {
      if (cmd === 'srst') {
        this.resetLatency()
        this.retiredPacketsReceived = 0
        this.retiredPacketsSent = 0
        for (const c of this.connections) c.packetsReceived = c.packetsSent = 0
      } else if (cmd === 'crst') {
        for (const c of this.connections) c.packetsReceived = c.packetsSent = 0
      }
      text = renderFourLetterWord(cmd, this.statsView(conn))
    }
    conn.out.raw(Buffer.from(text, 'utf8'))
    conn.commit(0)
    conn.closeAfterOutput()
    return true
  }

  private statsView(asking: ServerConnection): ServerStatsView {
    const s = this.stats()
    let watching = 0
    for (const c of this.connections) if (c.watchedPaths.size > 0) watching++
    return {
      latencyMinMs: s.latencyMinMs,
      latencyAvgMs: s.latencyAvgMs,
      latencyMaxMs: s.latencyMaxMs,
      packetsReceived: s.packetsReceived,
      packetsSent: s.packetsSent,
      connectionCount: s.connectionCount,
      outstandingRequests: s.outstandingRequests,
      lastZxidHex: zxidHex(this.db.lastZxid),
      nodeCount: s.znodeCount + 1,
      watchCount: s.watchCount,
      watchPathCount: this.dataWatches.pathCount + this.childWatches.pathCount,
      watchingConnectionCount: watching,
      ephemeralCount: s.ephemeralCount,
      approximateDataBytes: s.approximateDataBytes,
      sessionCount: s.sessionCount,
      uptimeMs: this.clock.monotonicMs() - this.startedAtMs,
      connections: [...this.connections].map((c) => ({
        remoteAddress: c.remoteAddress,
        remotePort: c.remotePort,
        interestOps: c === asking ? 0 : 1,
        queued: c.outstanding,
        received: c.packetsReceived,
        sent: c.packetsSent,
      })),
      config: {
        clientPort: this.port,
        tickTimeMs: this.opts.tickTimeMs,
        maxClientCnxns: this.opts.maxClientCnxns,
        minSessionTimeoutMs: this.opts.minSessionTimeoutMs,
        maxSessionTimeoutMs: this.opts.maxSessionTimeoutMs,
      },
    }
  }

  stats(): ZKServerStats {
    let outstanding = 0
    let paused = 0
    let received = this.retiredPacketsReceived
    let sent = this.retiredPacketsSent
    for (const c of this.connections) {
      outstanding += c.outstanding
      if (c.isReadPaused) paused++
      received += c.packetsReceived
      sent += c.packetsSent
    }
    const tree = this.db.tree
    return {
      znodeCount: tree.nodeCount,
      ephemeralCount: tree.ephemeralCount,
      sessionCount: this.sessions.size,
      connectionCount: this.connections.size,
      watchCount: this.dataWatches.size + this.childWatches.size,
      lastZxid: BigInt(this.db.lastZxid),
      durableZxid: BigInt(this.durable),
      outstandingRequests: outstanding,
      packetsReceived: received,
      packetsSent: sent,
      approximateDataBytes: tree.approximateDataBytes,
      latencyMinMs: this.latencyCount === 0 ? 0 : this.latencyMinMs,
      latencyAvgMs: this.latencyCount === 0 ? 0 : this.latencyTotalMs / this.latencyCount,
      latencyMaxMs: this.latencyMaxMs,
      rejectedConnections: this.rejectedConnections,
      readPausedConnections: paused,
      snapshotsTaken: this.snapshotsTaken,
      failure: this.failure === null ? undefined : this.failure.message,
    }
  }

  // ---- controls (tests, fault injection) -------------------------------------------------------

  /** Ids of the live sessions. */
  sessionIds(): bigint[] {
    return [...this.sessions.keys()]
  }

  /** Expires a session now, as if its timeout had passed: ephemerals go, its connection closes. */
  expireSession(sessionId: bigint): boolean {
    const session = this.sessions.get(sessionId)
    if (session === undefined || session.closing) return false
    this.expire(session)
    return true
  }

  /** Drops every client connection (sessions survive; clients reconnect and resume them). */
  closeAllConnections(): void {
    for (const conn of [...this.connections]) conn.close('closeAllConnections')
  }

  /** Stops listening, closes every connection, waits for in-flight appends, closes the store. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.tracker.stop()
    if (this.containerTimer !== null) this.clock.clearTimeout(this.containerTimer)
    this.containerTimer = null
    await new Promise<void>((resolve) => {
      this.netServer.close(() => resolve())
      for (const conn of [...this.connections]) conn.close('server shutting down')
    })
    if (this.flushImmediate !== null) clearImmediate(this.flushImmediate)
    this.flushImmediate = null
    await this.lastAppend.catch(() => {})
    await this.snapshotRunning?.catch(() => {})
    await this.persistence.close()
  }
}
