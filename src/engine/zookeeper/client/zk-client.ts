/**
 * The promise-based ZooKeeper client every engine layer uses (bookie registration and cookies, ledger
 * metadata, DL namespaces and locks). It wraps node-zookeeper-client 1.1.3 and adds what that library
 * lacks: typed errors with the path (errors.ts), a bounded connect, a bounded wait for every reply,
 * bigint zxids/session ids (stat.ts), watches that always settle, and a multi builder without the
 * version-0 quirk (transaction.ts). It behaves the same against our server and Apache ZooKeeper.
 *
 * Retries after connection loss — what is safe to repeat:
 * - Reads (exists, getData, getChildren, sync) are repeated up to `retries` times with backoff: a read
 *   has no effect, and a watch is registered only by the attempt that succeeds.
 * - Writes are NEVER repeated here. A ConnectionLossError on a write has `outcomeUnknown: true`: the
 *   server may have applied it. Repeating blindly is wrong in each case: create → a false
 *   NodeExistsError (or a second sequential node); delete → a false NoNodeError; setData/delete with
 *   an explicit version → a false BadVersionError although our own write won the race (fatal for a
 *   lock or a ledger-metadata CAS); setData with -1 → may overwrite a newer write by someone else.
 *   Callers that know their intent (e.g. "create if absent") read back and decide.
 *
 * Sessions: events 'connected' (first connect and every reconnect), 'disconnected' (socket lost; the
 * library reconnects on its own and the session survives if it is back within the session timeout),
 * 'expired' (the server ended the session: ephemerals are gone, every unfired watch is delivered a
 * `sessionExpired` event, every call fails with SessionExpiredError; make a new client), 'closed'.
 *
 * Uses node-zookeeper-client internals in one place (abandon()): the library has no way to stop its
 * endless reconnect loop without a live server, which a bounded connect and close() need.
 */
import {EventEmitter} from 'node:events'

import nzk from 'node-zookeeper-client'

import {type Clock, systemClock} from '../../common/clock.js'
import {InvalidInputError} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import {ZKCode} from '../../protocol/jute/zk-codes.js'
import {
  BadArgumentsError,
  ConnectionLossError,
  NoNodeError,
  NodeExistsError,
  NotEmptyError,
  SessionExpiredError,
  ZKConnectTimeoutError,
  ZKError,
  zkErrorFromCode,
} from './errors.js'
import {checkVersion, CreateMode, isCreateMode, toDataBuffer, type ZKData} from './args.js'
import {childPath, validatePath} from './paths.js'
import {hex64, type Stat, statFromWire, type WireStat} from './stat.js'
import {buildRawTransaction, type TxOp, type TxResult, ZKTransaction} from './transaction.js'

/** What a watch reports. `sessionExpired` / `closed` are delivered to watches that can no longer fire. */
export type WatchEventType = 'created' | 'deleted' | 'dataChanged' | 'childrenChanged' | 'sessionExpired' | 'closed'
export interface WatchEvent {
  type: WatchEventType
  path: string
}
/** Called at most once per registration (ZooKeeper watches are one-shot). */
export type Watcher = (event: WatchEvent) => void

export type ZKClientState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed'

export interface ZKClientOptions {
  /** `host:port[,host:port...][/chroot]`. */
  connectString: string
  /** Requested session timeout; the server clamps it to [2, 20] × tickTime. Default 30000. */
  sessionTimeoutMs?: number
  /** Bound on the first connection. Default 10000. */
  connectTimeoutMs?: number
  /** Bound on the wait for each reply (including time queued while disconnected). Default: session timeout. */
  operationTimeoutMs?: number
  /** How many times a read is repeated after connection loss. Default 3, at most 10. */
  retries?: number
  /** Max random wait between reconnect rounds (node-zookeeper-client spinDelay). Default 500. */
  reconnectDelayMs?: number
  logger?: Logger
  clock?: Clock
}

const RETRIES_MAX = 10
const RETRY_BACKOFF_MS_MAX = 2_000
const CLOSE_TIMEOUT_MS = 3_000
/** deleteRecursive refuses to walk more nodes than this (a guard against deleting a whole tree by mistake). */
export const DELETE_RECURSIVE_NODES_MAX = 1_000_000
const DELETE_RECURSIVE_ATTEMPTS_MAX = 5

const EVENT_TYPES: Record<number, WatchEventType> = {1: 'created', 2: 'deleted', 3: 'dataChanged', 4: 'childrenChanged'}

/** A one-shot watch as a promise: pass `watcher` to a read, await `event`. Always settles (see Watcher). */
export function oneShotWatch(): {watcher: Watcher; event: Promise<WatchEvent>} {
  let resolve!: (e: WatchEvent) => void
  const event = new Promise<WatchEvent>((r) => (resolve = r))
  return {watcher: (e) => resolve(e), event}
}

/** The node-zookeeper-client internals abandon() touches. */
interface ConnectionManagerInternals {
  socket?: {destroy(): void}
  state: number
  connect: () => void
  onSocketConnected: () => void
  setState(state: number): void
}
const CM_STATE_CLOSING = -1

type Callback = (error: unknown, ...results: unknown[]) => void
/** One entry of node-zookeeper-client's multi results. */
interface RawMultiResult {
  type: number
  err?: number
  path?: string
  stat?: WireStat
}
interface PendingOp {
  fail(error: ZKError): void
}
interface WatchEntry {
  fired: boolean
  path: string
  watcher: Watcher
  key: string
  wrapped: (event: {type: number; path: string}) => void
}

export class ZKClient extends EventEmitter {
  readonly connectString: string
  private readonly raw: nzk.Client
  private readonly log: Logger
  private readonly clock: Clock
  private readonly retries: number
  private readonly operationTimeoutMs: number
  private stateValue: ZKClientState = 'connecting'
  private readonly pending = new Set<PendingOp>()
  private readonly watches = new Set<WatchEntry>()
  /** Dedup like the Java client: the same watcher on the same path and kind is registered once. */
  private readonly watchByKey = new Map<string, Map<Watcher, WatchEntry>>()
  private abandoned = false

  private constructor(opts: ZKClientOptions, raw: nzk.Client) {
    super()
    this.connectString = opts.connectString
    this.raw = raw
    this.log = (opts.logger ?? silentLogger).child('zk-client')
    this.clock = opts.clock ?? systemClock
    this.retries = opts.retries ?? 3
    this.operationTimeoutMs = opts.operationTimeoutMs ?? opts.sessionTimeoutMs ?? 30_000
    raw.on('state', (s: nzk.State) => this.onRawState(s))
  }

  /** Connects and resolves once the session is established; ZKConnectTimeoutError after connectTimeoutMs. */
  static async connect(opts: ZKClientOptions): Promise<ZKClient> {
    const sessionTimeoutMs = opts.sessionTimeoutMs ?? 30_000
    const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000
    checkInt('sessionTimeoutMs', sessionTimeoutMs, 100, 2 ** 31 - 1)
    checkInt('connectTimeoutMs', connectTimeoutMs, 1, 3_600_000)
    if (opts.operationTimeoutMs !== undefined) checkInt('operationTimeoutMs', opts.operationTimeoutMs, 1, 3_600_000)
    if (opts.retries !== undefined) checkInt('retries', opts.retries, 0, RETRIES_MAX)
    if (!/^[^,\s/]+:\d+(,[^,\s/]+:\d+)*(\/.*)?$/.test(opts.connectString)) {
      throw new InvalidInputError(`invalid ZooKeeper connect string '${opts.connectString}' (expected host:port[,host:port...][/chroot])`)
    }
    const raw = nzk.createClient(opts.connectString, {
      sessionTimeout: sessionTimeoutMs,
      spinDelay: opts.reconnectDelayMs ?? 500,
      retries: 0,
    })
    const client = new ZKClient(opts, raw)
    const clock = opts.clock ?? systemClock
    await new Promise<void>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        client.off('connected', onConnected)
        client.abandon()
        client.stateValue = 'closed'
        reject(new ZKConnectTimeoutError({connectString: opts.connectString, timeoutMs: connectTimeoutMs}))
      }, connectTimeoutMs)
      const onConnected = () => {
        clock.clearTimeout(timer)
        resolve()
      }
      client.once('connected', onConnected)
      raw.connect()
    })
    client.log.debug('connected', {connectString: opts.connectString, sessionId: client.sessionId})
    return client
  }

  get state(): ZKClientState {
    return this.stateValue
  }

  /** Session id as ZooKeeper prints it: `0x` + hex. */
  get sessionId(): string {
    return hex64(this.sessionIdBigInt)
  }

  get sessionIdBigInt(): bigint {
    return this.raw.getSessionId().readBigInt64BE(0)
  }

  /** The session timeout the server negotiated. */
  get sessionTimeoutMs(): number {
    return this.raw.getSessionTimeout()
  }

  // ---------------------------------------------------------------------------------------------
  // Operations

  /** Creates a node; resolves to the created path (with the sequence suffix for sequential modes). */
  async create(path: string, data?: ZKData, mode: CreateMode = 'persistent'): Promise<string> {
    validatePath(path)
    if (!isCreateMode(mode)) throw new InvalidInputError(`unknown create mode '${String(mode)}'`)
    const flags = CreateMode[mode]
    const buf = toDataBuffer(data)
    const args: unknown[] = buf === undefined ? [flags] : [buf, flags]
    const created = await this.call<[string]>('write', path, 'create', (cb) =>
      (this.raw.create as (...a: unknown[]) => void)(path, ...args, cb),
    )
    return created[0]
  }

  /** Deletes a node; version -1 matches any version. */
  async delete(path: string, version = -1): Promise<void> {
    validatePath(path)
    checkVersion(version)
    await this.call('write', path, 'delete', (cb) => this.raw.remove(path, version, cb))
  }

  /** The node's Stat, or null if it does not exist. A watcher fires on create, delete or data change. */
  async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    validatePath(path)
    const [stat] = await this.read<[WireStat | null]>(path, 'exists', 'data', watcher, (cb, w) =>
      w ? this.raw.exists(path, w, cb as never) : this.raw.exists(path, cb as never),
    )
    return stat ? statFromWire(stat) : null
  }

  /** Data (undefined when the node holds null data, an empty Buffer when empty) and Stat. */
  async getData(path: string, watcher?: Watcher): Promise<{data: Buffer | undefined; stat: Stat}> {
    validatePath(path)
    const [data, stat] = await this.read<[Buffer | undefined | null, WireStat]>(path, 'getData', 'data', watcher, (cb, w) =>
      w ? this.raw.getData(path, w, cb as never) : this.raw.getData(path, cb as never),
    )
    return {data: data ?? undefined, stat: statFromWire(stat)}
  }

  /** Sets data; version -1 matches any version. Resolves to the new Stat. */
  async setData(path: string, data: ZKData, version = -1): Promise<Stat> {
    validatePath(path)
    checkVersion(version)
    const buf = toDataBuffer(data)
    if (buf === undefined) {
      // node-zookeeper-client's setData crashes on null data (it copies data.length); its multi sends
      // null fine, so null data goes as a one-op multi (same txn, same watches, same Stat in the reply).
      const [result] = await this.multi([{type: 'setData', path, data: undefined, version}])
      if (result?.type !== 'setData') throw new ZKError(ZKCode.MARSHALLING_ERROR, {path, message: `setData ${path}: unexpected multi result`})
      return result.stat
    }
    const [stat] = await this.call<[WireStat]>('write', path, 'setData', (cb) => this.raw.setData(path, buf, version, cb as never))
    return statFromWire(stat)
  }

  /** Child names in the server's order (ZooKeeper: HashSet order, not sorted). */
  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return (await this.getChildrenWithStat(path, watcher)).children
  }

  async getChildrenWithStat(path: string, watcher?: Watcher): Promise<{children: string[]; stat: Stat}> {
    validatePath(path)
    const [children, stat] = await this.read<[string[], WireStat]>(path, 'getChildren', 'child', watcher, (cb, w) =>
      w ? this.raw.getChildren(path, w, cb as never) : this.raw.getChildren(path, cb as never),
    )
    return {children, stat: statFromWire(stat)}
  }

  /**
   * Waits until every earlier request of this session has been answered. node-zookeeper-client cannot
   * send the sync opcode, so this is a read round trip: on a standalone server (ours, or one Apache
   * ZooKeeper server) every read is already ordered after all committed writes, which is what sync
   * guarantees; against a multi-server ensemble it does not force the follower to catch up.
   */
  async sync(path: string): Promise<void> {
    await this.exists(path)
  }

  /** Creates `path` and any missing ancestors (persistent, `data` on every created node). */
  async mkdirp(path: string, data?: ZKData): Promise<void> {
    validatePath(path)
    if (path === '/' || (await this.exists(path))) return
    let current = ''
    for (const part of path.split('/').slice(1)) {
      current += `/${part}`
      try {
        await this.create(current, data)
      } catch (e) {
        if (!(e instanceof NodeExistsError)) throw e
      }
    }
  }

  /**
   * Deletes `path` and everything under it, children first. Nodes deleted concurrently by others are
   * skipped; a node that gains children meanwhile is retried a few times. NoNodeError if `path` itself
   * does not exist. Resolves to the number of nodes this call deleted.
   */
  async deleteRecursive(path: string): Promise<number> {
    validatePath(path)
    if (path === '/') throw new BadArgumentsError({path, message: 'refusing to delete the root node'})
    if (!(await this.exists(path))) throw new NoNodeError({path})
    const budget = {left: DELETE_RECURSIVE_NODES_MAX}
    return this.deleteTree(path, budget)
  }

  private async deleteTree(path: string, budget: {left: number}): Promise<number> {
    let deleted = 0
    for (let attempt = 1; ; attempt++) {
      let children: string[]
      try {
        children = await this.getChildren(path)
      } catch (e) {
        if (e instanceof NoNodeError) return deleted
        throw e
      }
      budget.left -= children.length
      if (budget.left < 0) {
        throw new BadArgumentsError({path, message: `deleteRecursive: more than ${DELETE_RECURSIVE_NODES_MAX} nodes under ${path}`})
      }
      for (const child of children) deleted += await this.deleteTree(childPath(path, child), budget)
      try {
        await this.delete(path)
        return deleted + 1
      } catch (e) {
        if (e instanceof NoNodeError) return deleted
        if (!(e instanceof NotEmptyError) || attempt >= DELETE_RECURSIVE_ATTEMPTS_MAX) throw e
      }
    }
  }

  /** A multi (all-or-nothing) request; see transaction.ts. */
  transaction(): ZKTransaction {
    return new ZKTransaction((ops) => this.multi(ops))
  }

  private async multi(ops: readonly TxOp[]): Promise<TxResult[]> {
    for (const op of ops) validatePath(op.path)
    const first = ops[0]?.path ?? '/'
    const [outcome] = await this.call<[{failed: boolean; results: RawMultiResult[]}]>('write', first, 'multi', (cb) =>
      buildRawTransaction(this.raw.transaction(), ops).commit((error, results) => {
        // An op failure is a successful reply whose results carry the codes; only then are results an array.
        if (error && Array.isArray(results)) cb(null, {failed: true, results})
        else cb(error, {failed: false, results})
      }),
    )
    if (outcome.failed) {
      const codes = outcome.results.map((r) => r.err ?? 0)
      const opIndex = Math.max(0, codes.findIndex((c) => c !== 0 && c !== ZKCode.RUNTIME_INCONSISTENCY))
      const code = codes[opIndex] ?? ZKCode.SYSTEM_ERROR
      throw zkErrorFromCode(code, {path: ops[opIndex]?.path, multi: {opIndex, codes}})
    }
    return outcome.results.map((r, i): TxResult => {
      const op = ops[i]
      switch (op?.type) {
        case 'create':
          return {type: 'create', path: r.path ?? op.path}
        case 'setData':
          return {type: 'setData', stat: statFromWire(r.stat as WireStat)}
        case 'delete':
          return {type: 'delete'}
        case 'check':
          return {type: 'check'}
        default:
          throw new ZKError(ZKCode.MARSHALLING_ERROR, {path: first, message: `multi reply has ${outcome.results.length} results for ${ops.length} ops`})
      }
    })
  }

  /**
   * Ends the session (the server deletes its ephemerals before replying) and stops the client. When
   * the connection is down the session cannot be closed and lingers until it expires at the server.
   */
  async close(): Promise<void> {
    if (this.stateValue === 'closed') return
    const wasConnected = this.stateValue === 'connected'
    this.stateValue = 'closed'
    if (wasConnected) await this.closeSession()
    this.abandon()
    this.settleAll('closed', new ZKError(ZKCode.CONNECTION_LOSS, {message: 'ZooKeeper client is closed'}))
    this.emit('closed')
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  /** Sends closeSession and waits (bounded) for the server to drop the connection. */
  private closeSession(): Promise<void> {
    return new Promise<void>((resolve) => {
      const onState = (s: nzk.State) => {
        if (s === nzk.State.DISCONNECTED) finish()
      }
      const finish = () => {
        this.clock.clearTimeout(timer)
        this.raw.off('state', onState)
        resolve()
      }
      const timer = this.clock.setTimeout(finish, CLOSE_TIMEOUT_MS)
      this.raw.on('state', onState)
      this.raw.close()
    })
  }

  private onRawState(s: nzk.State): void {
    if (this.stateValue === 'closed' || this.stateValue === 'expired') return
    if (s === nzk.State.SYNC_CONNECTED) {
      this.stateValue = 'connected'
      this.log.debug('session connected', {sessionId: this.sessionId})
      this.emit('connected')
    } else if (s === nzk.State.DISCONNECTED) {
      if (this.stateValue === 'connecting') return
      this.stateValue = 'disconnected'
      this.log.info('disconnected from ZooKeeper, reconnecting', {connectString: this.connectString})
      this.emit('disconnected')
    } else if (s === nzk.State.EXPIRED) {
      this.stateValue = 'expired'
      this.log.warn('ZooKeeper session expired', {sessionId: this.sessionId})
      this.abandon()
      this.settleAll('sessionExpired', new SessionExpiredError({message: 'ZooKeeper session expired'}))
      this.emit('expired')
    }
  }

  /** Stops node-zookeeper-client for good: no closeSession, no reconnect, socket destroyed. */
  private abandon(): void {
    if (this.abandoned) return
    this.abandoned = true
    const cm = (this.raw as unknown as {connectionManager: ConnectionManagerInternals}).connectionManager
    cm.connect = () => {}
    cm.onSocketConnected = function (this: ConnectionManagerInternals) {
      this.socket?.destroy()
    }
    if (cm.state >= 0) cm.setState(CM_STATE_CLOSING)
    cm.socket?.destroy()
  }

  /** Fails every in-flight call and delivers a final event to every unfired watch. */
  private settleAll(type: 'closed' | 'sessionExpired', error: ZKError): void {
    for (const op of [...this.pending]) op.fail(error)
    for (const w of [...this.watches]) this.fire(w, {type, path: w.path})
  }

  private fire(entry: WatchEntry, event: WatchEvent): void {
    if (entry.fired) return
    entry.fired = true
    this.watches.delete(entry)
    const byWatcher = this.watchByKey.get(entry.key)
    if (byWatcher?.get(entry.watcher) === entry) {
      byWatcher.delete(entry.watcher)
      if (byWatcher.size === 0) this.watchByKey.delete(entry.key)
    }
    try {
      entry.watcher(event)
    } catch (e) {
      this.log.error('watcher threw', {path: event.path, error: e})
    }
  }

  private watchEntry(path: string, kind: 'data' | 'child', watcher: Watcher): {entry: WatchEntry; fresh: boolean} {
    const key = `${kind}:${path}`
    const existing = this.watchByKey.get(key)?.get(watcher)
    if (existing) return {entry: existing, fresh: false}
    const entry: WatchEntry = {
      fired: false,
      path,
      watcher,
      key,
      wrapped: (ev) => this.fire(entry, {type: EVENT_TYPES[ev.type] ?? 'dataChanged', path: ev.path ?? path}),
    }
    return {entry, fresh: true}
  }

  private async read<T extends unknown[]>(
    path: string,
    what: string,
    kind: 'data' | 'child',
    watcher: Watcher | undefined,
    send: (cb: Callback, wrapped?: (ev: {type: number; path: string}) => void) => void,
  ): Promise<T> {
    const w = watcher ? this.watchEntry(path, kind, watcher) : undefined
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.call<T>('read', path, what, (cb) => send(cb, w?.entry.wrapped))
        if (w?.fresh && !w.entry.fired) {
          this.watches.add(w.entry)
          let byWatcher = this.watchByKey.get(w.entry.key)
          if (!byWatcher) this.watchByKey.set(w.entry.key, (byWatcher = new Map()))
          byWatcher.set(w.entry.watcher, w.entry)
        }
        return result
      } catch (e) {
        const retry = e instanceof ConnectionLossError && attempt < this.retries && this.stateValue !== 'closed'
        if (!retry) throw e
        const backoffMs = Math.min(100 * 2 ** attempt, RETRY_BACKOFF_MS_MAX)
        this.log.debug('read lost its connection, retrying', {op: what, path, attempt: attempt + 1, backoffMs})
        await new Promise<void>((r) => this.clock.setTimeout(r, backoffMs))
      }
    }
  }

  /** Sends one request and maps its outcome; bounded by operationTimeoutMs. */
  private call<T extends unknown[]>(kind: 'read' | 'write', path: string, what: string, send: (cb: Callback) => void): Promise<T> {
    if (this.stateValue === 'expired') return Promise.reject(new SessionExpiredError({path}))
    if (this.stateValue === 'closed') {
      return Promise.reject(new ZKError(ZKCode.CONNECTION_LOSS, {path, message: `ZooKeeper client is closed (${what} ${path})`}))
    }
    const write = kind === 'write'
    return new Promise<T>((resolve, reject) => {
      let done = false
      const op: PendingOp = {
        fail: (error) => finish(() => reject(error)),
      }
      const timer = this.clock.setTimeout(() => {
        finish(() =>
          reject(
            new ConnectionLossError({
              path,
              outcomeUnknown: write,
              message: `no reply to ${what} ${path} within ${this.operationTimeoutMs} ms (connection lost)`,
            }),
          ),
        )
      }, this.operationTimeoutMs)
      const finish = (settle: () => void) => {
        if (done) return
        done = true
        this.clock.clearTimeout(timer)
        this.pending.delete(op)
        settle()
      }
      this.pending.add(op)
      try {
        send((error, ...results) => {
          if (error) finish(() => reject(this.mapError(error, path, write)))
          else finish(() => resolve(results as T))
        })
      } catch (e) {
        // node-zookeeper-client asserts on arguments synchronously (data over 1 MiB, bad path, ...).
        finish(() => reject(new BadArgumentsError({path, message: `${what} ${path}: ${(e as Error).message}`, cause: e})))
      }
    })
  }

  private mapError(error: unknown, path: string, write: boolean): ZKError {
    const code = (error as {code?: unknown}).code
    if (typeof code === 'number') return zkErrorFromCode(code, {path, write, cause: error})
    return new ZKError(ZKCode.SYSTEM_ERROR, {path, message: `${String(error)} (${path})`, cause: error})
  }
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidInputError(`${name} must be an integer in [${min}, ${max}], got ${v}`)
}
