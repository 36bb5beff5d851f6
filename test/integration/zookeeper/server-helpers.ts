/**
 * Helpers for the ZooKeeper server's integration and fault tests: start our server on port 0, a
 * promise view of node-zookeeper-client, and a raw jute connection for byte-level tests.
 */
import {connect as netConnect, type Socket} from 'node:net'

import zookeeper, {type ACL, type Client, type Event, type Stat} from 'node-zookeeper-client'

import {
  decodeConnectResponse,
  encodeConnectRequest,
  JuteReader,
  JuteWriter,
} from '../../../src/engine/protocol/jute/index.js'
import {ZKServer, type ZKServerOptions} from '../../../src/engine/zookeeper/server/index.js'
import {waitFor} from '../../helpers/wait-for.js'

export {zookeeper}

/** Starts a server and registers its close with `cleanup` (an array the test's after() drains). */
export async function startServer(cleanup: (() => Promise<void>)[], opts: ZKServerOptions = {}): Promise<ZKServer> {
  const server = await ZKServer.start({port: 0, ...opts})
  cleanup.push(() => server.close())
  return server
}

export async function runCleanup(cleanup: (() => Promise<void>)[]): Promise<void> {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
}

function cb<T>(resolve: (v: T) => void, reject: (e: unknown) => void) {
  return (e: unknown, v?: unknown) => (e ? reject(e) : resolve(v as T))
}

/** node-zookeeper-client with promises; every call settles or the test times out. */
export class ZK {
  readonly raw: Client
  readonly states: string[] = []
  private closed = false

  constructor(raw: Client) {
    this.raw = raw
    raw.on('state', (s) => this.states.push(s.name))
  }

  get sessionId(): bigint {
    return this.raw.getSessionId().readBigInt64BE()
  }

  create(path: string, data?: Buffer | null, mode = zookeeper.CreateMode.PERSISTENT, acl?: ACL[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const args: unknown[] = [path]
      if (data) args.push(data)
      if (acl) args.push(acl)
      args.push(mode, cb<string>(resolve, reject))
      ;(this.raw.create as (...a: unknown[]) => void)(...args)
    })
  }

  getData(path: string, watcher?: (e: Event) => void): Promise<{data: Buffer | undefined; stat: Stat}> {
    return new Promise((resolve, reject) => {
      const done = (e: unknown, data: Buffer, stat: Stat) => (e ? reject(e) : resolve({data, stat}))
      if (watcher) this.raw.getData(path, watcher, done)
      else this.raw.getData(path, done)
    })
  }

  setData(path: string, data: Buffer | null, version = -1): Promise<Stat> {
    return new Promise((resolve, reject) => this.raw.setData(path, data, version, cb<Stat>(resolve, reject)))
  }

  remove(path: string, version = -1): Promise<void> {
    return new Promise((resolve, reject) => this.raw.remove(path, version, cb<void>(resolve, reject)))
  }

  exists(path: string, watcher?: (e: Event) => void): Promise<Stat | null> {
    return new Promise((resolve, reject) => {
      const done = cb<Stat | null>(resolve, reject)
      if (watcher) this.raw.exists(path, watcher, done)
      else this.raw.exists(path, done)
    })
  }

  getChildren(path: string, watcher?: (e: Event) => void): Promise<{children: string[]; stat: Stat}> {
    return new Promise((resolve, reject) => {
      const done = (e: unknown, children: string[], stat: Stat) => (e ? reject(e) : resolve({children, stat}))
      if (watcher) this.raw.getChildren(path, watcher, done)
      else this.raw.getChildren(path, done)
    })
  }

  getACL(path: string): Promise<ACL[]> {
    return new Promise((resolve, reject) => this.raw.getACL(path, cb<ACL[]>(resolve, reject)))
  }

  /** Commits a transaction built by `build`; resolves with the per-op results. */
  multi(build: (t: ReturnType<Client['transaction']>) => void): Promise<{type: number; path?: string; err?: number}[]> {
    const t = this.raw.transaction()
    build(t)
    return new Promise((resolve, reject) => t.commit(cb(resolve, reject)))
  }

  /** closeSession, and wait until the client reports the connection gone. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.raw.getState().name !== 'SYNC_CONNECTED') {
      // Not connected (server gone or session over): stop reconnecting, nothing to wait for.
      this.raw.close()
      return
    }
    const gone = new Promise<void>((resolve) => this.raw.once('disconnected', () => resolve()))
    this.raw.close()
    await within(gone, 5000, 'client disconnect').catch(() => {})
  }
}

/** Resolves or rejects with `p`, or rejects after timeoutMs; the timer never keeps the process alive. */
export function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Errors from node-zookeeper-client carry the ZooKeeper code in `code`. */
export function zkCode(e: unknown): number | undefined {
  return (e as {code?: number}).code
}

export async function connectClient(
  server: {host: string; port: number},
  cleanup: (() => Promise<void>)[],
  opts: {sessionTimeout?: number; sessionId?: Buffer; sessionPassword?: Buffer} = {},
): Promise<ZK> {
  const raw = zookeeper.createClient(`${server.host}:${server.port}`, {
    sessionTimeout: opts.sessionTimeout ?? 30_000,
    spinDelay: 50,
    retries: 0,
    ...(opts.sessionId ? {sessionId: opts.sessionId, sessionPassword: opts.sessionPassword} : {}),
  } as Partial<zookeeper.Option>)
  const zk = new ZK(raw)
  const connected = new Promise<void>((resolve, reject) => {
    raw.once('connected', () => resolve())
    raw.once('expired', () => reject(new Error('session expired while connecting')))
  })
  raw.connect()
  cleanup.push(() => zk.close())
  await within(connected, 10_000, 'client connect')
  return zk
}

export interface RawFrame {
  payload: Buffer
}

/** A byte-level client: send anything, read frames back, see when the server closes. */
export class RawConn {
  readonly socket: Socket
  readonly frames: Buffer[] = []
  closed = false
  private pending = Buffer.alloc(0)
  private readonly closedPromise: Promise<void>

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      this.pending = Buffer.concat([this.pending, d])
      while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readInt32BE(0)) {
        const len = this.pending.readInt32BE(0)
        this.frames.push(this.pending.subarray(4, 4 + len))
        this.pending = this.pending.subarray(4 + len)
      }
    })
    socket.on('error', () => {})
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true
        resolve()
      }),
    )
  }

  /** Bytes received that do not form a whole frame (four-letter word answers). */
  text(): string {
    return this.pending.toString('utf8')
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(port, host)
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new RawConn(socket))
      })
    })
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes)
  }

  /** Sends a length-prefixed frame with the given payload. */
  send(payload: Buffer): void {
    const len = Buffer.alloc(4)
    len.writeInt32BE(payload.length)
    this.write(Buffer.concat([len, payload]))
  }

  /** Sends a request (xid, type, body). */
  request(xid: number, type: number, body: (w: JuteWriter) => void = () => {}): void {
    const w = new JuteWriter(64)
    w.int(xid).int(type)
    body(w)
    this.send(w.finish())
  }

  /** Handshake; resolves with the ConnectResponse. */
  async handshake(opts: {sessionId?: bigint; passwd?: Buffer; timeOutMs?: number; lastZxidSeen?: bigint; readOnly?: boolean} = {}) {
    const w = new JuteWriter(64)
    encodeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: opts.lastZxidSeen ?? 0n,
      timeOutMs: opts.timeOutMs ?? 30_000,
      sessionId: opts.sessionId ?? 0n,
      passwd: opts.passwd ?? Buffer.alloc(16),
      ...(opts.readOnly === undefined ? {} : {readOnly: opts.readOnly}),
    })
    const before = this.frames.length
    this.send(w.finish())
    await waitFor(() => this.frames.length > before || this.closed, {what: 'ConnectResponse'})
    const frame = this.frames[before]
    if (frame === undefined) throw new Error('closed before a ConnectResponse')
    return {...decodeConnectResponse(new JuteReader(frame)), bytes: frame.length}
  }

  /** Waits for the n-th frame (0-based) and returns a reader positioned after the reply header. */
  async reply(n: number): Promise<{xid: number; zxid: bigint; err: number; body: JuteReader}> {
    await waitFor(() => this.frames.length > n || this.closed, {what: `frame ${n}`})
    const f = this.frames[n]
    if (f === undefined) throw new Error(`connection closed before frame ${n}`)
    const r = new JuteReader(f)
    return {xid: r.int(), zxid: r.long(), err: r.int(), body: r}
  }

  waitClosed(timeoutMs = 10_000): Promise<void> {
    return within(this.closedPromise, timeoutMs, 'server closing the connection')
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** Sends a four-letter word on a fresh connection and returns the whole answer. */
export async function fourLetter(port: number, word: string): Promise<string> {
  const c = await RawConn.open(port)
  c.write(Buffer.from(word, 'latin1'))
  await c.waitClosed()
  return c.text()
}
