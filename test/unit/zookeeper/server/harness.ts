/**
 * An in-process stand-in for the server around RequestProcessor: real connections (ServerConnection)
 * over fake sockets, a real database and watch managers, a txn log kept in memory, and durability
 * that the test controls. Requests go in as frames, replies come out as decoded frames.
 */
import {EventEmitter} from 'node:events'
import type {Socket} from 'node:net'

import {ManualClock} from '../../../../src/engine/common/clock.js'
import {Logger, type LogRecordLine} from '../../../../src/engine/common/logger.js'
import {JuteReader, JuteWriter, ZKOpCode} from '../../../../src/engine/protocol/jute/index.js'
import {
  type ConnectionHost,
  type ConnectionLimits,
  type LiveSession,
  ServerConnection,
} from '../../../../src/engine/zookeeper/server/connection.js'
import {type ProcessorHost, RequestProcessor} from '../../../../src/engine/zookeeper/server/request-processor.js'
import {CONTAINER_OWNER, type Txn} from '../../../../src/engine/zookeeper/server/txn.js'
import {WatchManager} from '../../../../src/engine/zookeeper/server/watch-manager.js'
import {ZKDatabase} from '../../../../src/engine/zookeeper/server/zk-database.js'

export class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1'
  remotePort = 40000
  writableLength = 0
  destroyed = false
  paused = false
  /** The peer stopped reading: written bytes stay queued in writableLength. */
  stalled = false
  readonly written: Buffer[] = []

  setNoDelay(): void {}
  pause(): void {
    this.paused = true
  }
  resume(): void {
    this.paused = false
  }
  write(b: Buffer): boolean {
    if (this.stalled) {
      this.writableLength += b.length
      return false
    }
    this.written.push(Buffer.from(b))
    return true
  }
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.emit('close')
  }
  destroySoon(): void {
    this.destroy()
  }
}

export interface Reply {
  xid: number
  zxid: bigint
  err: number
  /** Reader over the body (after the 16-byte header). */
  body: JuteReader
  raw: Buffer
}

export class Client {
  readonly socket = new FakeSocket()
  readonly conn: ServerConnection
  private xid = 0
  private readOffset = 0
  private pending = Buffer.alloc(0)

  constructor(host: ConnectionHost) {
    this.conn = new ServerConnection(this.socket as unknown as Socket, host)
  }

  get sessionId(): bigint {
    return this.conn.sessionId!
  }

  /** Sends raw bytes as if they came off the wire. */
  sendBytes(bytes: Buffer): void {
    this.socket.emit('data', bytes)
  }

  /** Sends one request (header + body) and returns every frame that came back since the last call. */
  request(type: number, body: (w: JuteWriter) => void = () => {}, xid = this.xid++): Reply[] {
    const w = new JuteWriter(64)
    const at = w.beginFrame()
    w.int(xid).int(type)
    body(w)
    w.endFrame(at)
    this.sendBytes(w.finish())
    return this.replies()
  }

  /** Like request() but expects exactly one frame back and returns it. */
  call(type: number, body: (w: JuteWriter) => void = () => {}): Reply {
    const replies = this.request(type, body)
    if (replies.length !== 1) throw new Error(`expected one reply, got ${replies.length}`)
    return replies[0]!
  }

  /** Frames written to the socket since the last call. */
  replies(): Reply[] {
    const fresh = this.socket.written.slice(this.readOffset)
    this.readOffset = this.socket.written.length
    let buf = Buffer.concat([this.pending, ...fresh])
    const out: Reply[] = []
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const len = buf.readInt32BE(0)
      const raw = buf.subarray(4, 4 + len)
      const r = new JuteReader(raw)
      out.push({xid: r.int(), zxid: r.long(), err: r.int(), body: r, raw})
      buf = buf.subarray(4 + len)
    }
    this.pending = buf
    return out
  }
}

export class Harness implements ConnectionHost, ProcessorHost {
  readonly db = new ZKDatabase()
  readonly dataWatches = new WatchManager<ServerConnection>()
  readonly childWatches = new WatchManager<ServerConnection>()
  readonly clock = new ManualClock()
  /** Every log line the connections and processor wrote. */
  readonly logLines: LogRecordLine[] = []
  readonly log = new Logger({level: 'debug', sink: (line) => this.logLines.push(line)})
  readonly limits: ConnectionLimits = {
    frameBytesMax: 0xfffff,
    outstandingRequestsMax: 1000,
    outputBytesHighWater: 4 * 1024 * 1024,
    outputBytesMax: 64 * 1024 * 1024,
    sessionlessTimeoutMs: 10_000,
  }
  readonly processor = new RequestProcessor(this)
  /** Every txn handed to the log, in order. */
  readonly txns: {zxid: number; txn: Txn}[] = []
  /** When false, txns stay non-durable until makeDurable(). */
  autoDurable = true
  private durable = 0
  private readonly waiting = new Set<ServerConnection>()
  private nextSession = 0x100n

  /** A connected client with a fresh session. */
  connect(): Client {
    const client = new Client(this)
    const id = this.nextSession++
    const session: LiveSession = {id, passwd: Buffer.alloc(16), timeoutMs: 30_000, expiresAtMs: 0, closing: false, conn: client.conn}
    this.processor.commitWrite({
      timeMs: this.clock.nowMs(),
      op: {type: ZKOpCode.CREATE_SESSION, sessionId: id, timeoutMs: 30_000, passwd: session.passwd},
    })
    client.conn.session = session
    client.conn.established()
    return client
  }

  makeDurable(zxid = this.db.lastZxid): void {
    this.durable = Math.max(this.durable, zxid)
    for (const c of this.waiting) if (!c.release(this.durable)) this.waiting.delete(c)
  }

  // ConnectionHost
  durableZxid(): number {
    return this.durable
  }
  handleFourLetterWord(): boolean {
    return false
  }
  handleFrame(conn: ServerConnection, frame: Buffer): void {
    this.processor.handleRequest(conn, frame)
  }
  scheduleFlush(conn: ServerConnection): void {
    conn.flush()
  }
  awaitDurable(conn: ServerConnection): void {
    this.waiting.add(conn)
  }
  connectionClosed(conn: ServerConnection): void {
    this.dataWatches.removeWatcher(conn)
    this.childWatches.removeWatcher(conn)
    this.waiting.delete(conn)
  }

  // ProcessorHost
  logTxn(txn: Txn, zxid: number): void {
    this.txns.push({zxid, txn})
    if (this.autoDurable) this.makeDurable(zxid)
  }
  endSession(sessionId: bigint): number {
    return this.processor.commitWrite({timeMs: this.clock.nowMs(), op: {type: ZKOpCode.CLOSE_SESSION, sessionId}})
  }
  recordLatency(): void {}
}

/** Every node with its stat and data, children sorted: equal for trees in the same state. */
export function dumpTree(db: ZKDatabase, opts: {childOrder?: boolean} = {}): string {
  const lines: string[] = []
  for (const path of [...db.tree.nodes.keys()].sort()) {
    const n = db.tree.nodes.get(path)!
    const kids = n.children === null ? [] : n.children.toArray()
    const children = opts.childOrder ? kids : [...kids].sort()
    lines.push(
      [
        path, n.data === null ? 'null' : n.data.toString('hex'), n.czxid, n.mzxid, n.pzxid, n.ctime, n.mtime,
        n.version, n.cversion, n.aversion, n.ephemeralOwner, JSON.stringify(n.acl), children.join(','),
      ].join(' '),
    )
  }
  const eph = [...db.tree.ephemerals].map(([s, p]) => `${s}:${[...p].sort().join(',')}`).sort()
  const containers = [...db.tree.containers].sort().join(',')
  const sessions = [...db.sessions.values()].map((s) => `${s.id}/${s.timeoutMs}/${s.passwd.toString('hex')}`).sort()
  return [...lines, `containers ${containers}`, `ephemerals ${eph.join(' ')}`, `sessions ${sessions.join(' ')}`, `zxid ${db.lastZxid}`].join('\n')
}

/** Structural invariants of a tree: parent links, child sets, ephemeral index. Throws on the first break. */
export function checkTreeInvariants(db: ZKDatabase): void {
  const tree = db.tree
  let childLinks = 0
  for (const [path, node] of tree.nodes) {
    if (path !== '/') {
      const slash = path.lastIndexOf('/')
      const parent = tree.nodes.get(slash === 0 ? '/' : path.substring(0, slash))
      if (parent === undefined) throw new Error(`${path} has no parent`)
      if (!parent.children?.has(path.substring(slash + 1))) throw new Error(`${path} missing from its parent's children`)
    }
    for (const name of node.children ?? []) {
      childLinks++
      if (!tree.nodes.has(path === '/' ? `/${name}` : `${path}/${name}`)) throw new Error(`${path} lists missing child ${name}`)
    }
    const owner = node.ephemeralOwner
    if (owner > 0n && !tree.ephemerals.get(owner)?.has(path)) throw new Error(`ephemeral ${path} not indexed`)
    if (owner > 0n && node.numChildren > 0) throw new Error(`ephemeral ${path} has children`)
  }
  if (childLinks !== tree.nodes.size - 1) throw new Error(`${childLinks} child links for ${tree.nodes.size} nodes`)
  for (const [path, node] of tree.nodes) {
    if ((node.ephemeralOwner === CONTAINER_OWNER) !== tree.containers.has(path)) throw new Error(`container index wrong for ${path}`)
  }
  for (const path of tree.containers) if (!tree.nodes.has(path)) throw new Error(`container index lists missing ${path}`)
  for (const [owner, paths] of tree.ephemerals) {
    for (const p of paths) if (tree.nodes.get(p)?.ephemeralOwner !== owner) throw new Error(`index lists ${p} for ${owner}`)
  }
}
