/**
 * The ledger client's BookieTransport over TCP: one pipelined BookieWireClient (net/bookie-wire-client.ts)
 * per bookie id `host:port`, opened on first use and shared by every handle of the client.
 *
 * A connection that breaks fails its in-flight requests with BookieConnectionError (the write handle
 * then changes its ensemble, readers fail over); the next request opens a new connection. A bookie that
 * cannot be reached is retried with exponential backoff (RECONNECT_BACKOFF_MS_MIN doubling up to _MAX):
 * while it backs off, requests to it fail at once instead of hammering it or waiting in a tight loop.
 * Non-OK statuses are raised as BookieError, unanswered requests as TimeoutError (requestTimeoutMs; a
 * long poll is allowed its own timeout on top).
 */
import {errorMessage, InvalidInputError} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {type AddEntryCallback, BookieConnectionError, BookieWireClient} from '../net/bookie-wire-client.js'
import type {BookieId, BookieTransport} from './types.js'

export const RECONNECT_BACKOFF_MS_MIN = 100
export const RECONNECT_BACKOFF_MS_MAX = 5_000

export interface TcpBookieTransportOptions {
  connectTimeoutMs?: number
  requestTimeoutMs?: number
  /** In-flight requests per bookie connection (the wire client's bound). */
  outstandingPerBookieMax?: number
  logger?: Logger
}

interface Connection {
  client: BookieWireClient | undefined
  connecting: Promise<BookieWireClient> | undefined
  /** Consecutive failed connection attempts. */
  failures: number
  /** performance.now() before which no new attempt is made. */
  retryAtMs: number
}

/** Splits `host:port` (or `[v6]:port`). */
export function parseBookieId(id: BookieId): {host: string; port: number} {
  const at = id.lastIndexOf(':')
  const port = Number(id.slice(at + 1))
  let host = id.slice(0, Math.max(0, at))
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (at <= 0 || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new InvalidInputError(`bookie id '${id}' is not host:port`)
  }
  return {host, port}
}

export class TcpBookieTransport implements BookieTransport {
  private readonly connectTimeoutMs: number
  private readonly requestTimeoutMs: number
  private readonly outstandingPerBookieMax: number
  private readonly log: Logger
  private readonly connections = new Map<BookieId, Connection>()
  private closed = false

  constructor(opts: TcpBookieTransportOptions = {}) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000
    this.outstandingPerBookieMax = opts.outstandingPerBookieMax ?? 10_000
    this.log = (opts.logger ?? silentLogger).child('bookie-transport')
  }

  addEntry(bookie: BookieId, ledgerId: number, entryId: number, entry: Buffer, masterKey: Buffer, opts: {recovery?: boolean} = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.addEntryCallback(bookie, ledgerId, entryId, entry, masterKey, opts.recovery ?? false, (e) => (e ? reject(e) : resolve()))
    })
  }

  /**
   * The write handle's add path: with the connection open, straight into the wire client's output
   * slab, no promise at all; otherwise after the connection attempt (or failing with it).
   */
  addEntryCallback(bookie: BookieId, _ledgerId: number, _entryId: number, entry: Buffer, masterKey: Buffer, recovery: boolean, done: AddEntryCallback): void {
    const c = this.clientOf(bookie)
    if (c instanceof BookieWireClient) {
      c.addEntryCallback(entry, masterKey, recovery, done)
      return
    }
    c.then(
      (client) => client.addEntryCallback(entry, masterKey, recovery, done),
      (e: unknown) => done(e instanceof Error ? e : new BookieConnectionError(errorMessage(e))),
    )
  }

  async readEntry(bookie: BookieId, ledgerId: number, entryId: number, opts: {fence?: boolean; masterKey?: Buffer} = {}): Promise<Buffer> {
    return (await this.clientOf(bookie)).readEntry(ledgerId, entryId, opts)
  }

  async readLac(bookie: BookieId, ledgerId: number): Promise<number> {
    return (await this.clientOf(bookie)).readLac(ledgerId)
  }

  async writeLac(bookie: BookieId, ledgerId: number, lac: number, masterKey: Buffer): Promise<void> {
    await (await this.clientOf(bookie)).writeLac(ledgerId, lac, masterKey)
  }

  async fence(bookie: BookieId, ledgerId: number, masterKey: Buffer): Promise<number> {
    return (await this.clientOf(bookie)).fence(ledgerId, masterKey)
  }

  async longPollRead(bookie: BookieId, ledgerId: number, entryId: number, timeoutMs: number): Promise<{lac: number; entry?: Buffer}> {
    return (await this.clientOf(bookie)).longPollRead(ledgerId, entryId, timeoutMs)
  }

  async close(): Promise<void> {
    this.closed = true
    const clients: Promise<unknown>[] = []
    for (const conn of this.connections.values()) {
      if (conn.client) clients.push(conn.client.close())
      if (conn.connecting) clients.push(conn.connecting.then((c) => c.close(), () => undefined))
    }
    this.connections.clear()
    await Promise.all(clients)
  }

  /** Open connections (for tools and tests). */
  get connectedBookies(): BookieId[] {
    return [...this.connections].filter(([, c]) => c.client?.isOpen).map(([id]) => id)
  }

  /**
   * The open client of `bookie` (synchronously when there is one: the add path stays allocation-light),
   * else a connection attempt, or a rejection while the bookie backs off.
   */
  private clientOf(bookie: BookieId): BookieWireClient | Promise<BookieWireClient> {
    if (this.closed) return Promise.reject(new BookieConnectionError('the bookie transport is closed'))
    let conn = this.connections.get(bookie)
    if (conn?.client?.isOpen) return conn.client
    if (!conn) {
      conn = {client: undefined, connecting: undefined, failures: 0, retryAtMs: 0}
      this.connections.set(bookie, conn)
    }
    if (conn.connecting) return conn.connecting
    const now = performance.now()
    if (now < conn.retryAtMs) {
      return Promise.reject(
        new BookieConnectionError(`bookie ${bookie} is unreachable (${conn.failures} failed attempts); retrying in ${Math.ceil(conn.retryAtMs - now)} ms`),
      )
    }
    conn.client = undefined
    const c = conn
    c.connecting = this.connect(bookie, c).finally(() => {
      c.connecting = undefined
    })
    return c.connecting
  }

  private async connect(bookie: BookieId, conn: Connection): Promise<BookieWireClient> {
    const {host, port} = parseBookieId(bookie)
    let client: BookieWireClient
    try {
      client = await BookieWireClient.connect({
        host,
        port,
        connectTimeoutMs: this.connectTimeoutMs,
        requestTimeoutMs: this.requestTimeoutMs,
        outstandingMax: this.outstandingPerBookieMax,
      })
    } catch (e) {
      conn.failures++
      const backoffMs = Math.min(RECONNECT_BACKOFF_MS_MAX, RECONNECT_BACKOFF_MS_MIN * 2 ** (conn.failures - 1))
      conn.retryAtMs = performance.now() + backoffMs
      this.log.warn('cannot connect to bookie', {bookie, failures: conn.failures, backoffMs, error: errorMessage(e)})
      throw e
    }
    if (this.closed || this.connections.get(bookie) !== conn) {
      await client.close()
      throw new BookieConnectionError('the bookie transport is closed')
    }
    conn.failures = 0
    conn.retryAtMs = 0
    conn.client = client
    void client.closed().then(() => {
      // The next request reconnects at once: a dropped connection is not a failed attempt.
      if (conn.client === client) conn.client = undefined
      if (!this.closed) this.log.info('connection to bookie closed', {bookie})
    })
    return client
  }
}
