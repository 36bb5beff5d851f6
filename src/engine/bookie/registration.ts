/**
 * Announces a running bookie in ZooKeeper so ledger clients can find it: an ephemeral znode
 * `<root>/available/<bookieId>` while writable, `<root>/available/readonly/<bookieId>` while
 * read-only (BookKeeper's layout; the node's data is empty). The node lives as long as the bookie's
 * ZooKeeper session, so a crashed bookie disappears by itself after the session timeout.
 *
 * - Switching state (the core turning read-only on full disks, or back) creates the new node first
 *   and then deletes the old one, so the bookie is never invisible.
 * - After session expiry the client is replaced and the node re-created (ephemerals died with the
 *   session). Reconnects are retried with backoff until close().
 * - A node already present at start belongs to a previous incarnation of this bookie whose session
 *   has not yet expired (e.g. right after kill -9): BookKeeper waits for it to vanish, and so do we,
 *   up to the old session's timeout plus a margin; then it fails with a clear message (two bookies
 *   with the same id).
 */
import {type Clock, systemClock} from '../common/clock.js'
import {DlogError, errorMessage} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {NodeExistsError, NoNodeError} from '../zookeeper/client/errors.js'
import {oneShotWatch, type ZKClient} from '../zookeeper/client/zk-client.js'

export function availablePath(root: string): string {
  return `${root}/available`
}

export function readOnlyPath(root: string): string {
  return `${root}/available/readonly`
}

export function registrationPath(root: string, bookieId: string, readOnly: boolean): string {
  return readOnly ? `${readOnlyPath(root)}/${bookieId}` : `${availablePath(root)}/${bookieId}`
}

export class BookieRegistrationError extends DlogError {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super('BOOKIE_REGISTRATION', message, {retriable: true, cause: opts.cause})
    this.name = 'BookieRegistrationError'
  }
}

export interface BookieRegistrationOptions {
  /** Makes a new ZooKeeper session (called at start and after each expiry). */
  connect: () => Promise<ZKClient>
  root: string
  bookieId: string
  readOnly: boolean
  /** How long to wait for a stale node of a previous incarnation to go away. */
  staleNodeWaitMs: number
  logger?: Logger
  clock?: Clock
}

const RECONNECT_DELAY_MS_MAX = 5_000

export class BookieRegistration {
  private readonly opts: BookieRegistrationOptions
  private readonly log: Logger
  private readonly clock: Clock
  private zk: ZKClient | undefined
  private readOnly: boolean
  /** The node currently held, if any. */
  private registeredPath: string | undefined
  private closed = false
  /** Serialises register/switch/re-register so they never interleave. */
  private chain: Promise<void> = Promise.resolve()

  constructor(opts: BookieRegistrationOptions) {
    this.opts = opts
    this.log = (opts.logger ?? silentLogger).child('registration')
    this.clock = opts.clock ?? systemClock
    this.readOnly = opts.readOnly
  }

  get path(): string | undefined {
    return this.registeredPath
  }

  get client(): ZKClient | undefined {
    return this.zk
  }

  /** Connects (unless given a client) and registers; rejects if the first registration fails. */
  async start(zk?: ZKClient): Promise<void> {
    this.zk = zk ?? (await this.opts.connect())
    this.watchSession(this.zk)
    await this.enqueue(() => this.register())
  }

  /** Moves the registration between available/ and available/readonly/. */
  setReadOnly(readOnly: boolean): Promise<void> {
    if (readOnly === this.readOnly) return this.chain
    this.readOnly = readOnly
    return this.enqueue(async () => {
      if (this.closed || !this.zk) return
      const old = this.registeredPath
      await this.register()
      if (old !== undefined && old !== this.registeredPath) await this.deleteQuietly(this.zk, old)
      this.log.info('registration moved', {bookieId: this.opts.bookieId, readOnly, path: this.registeredPath})
    })
  }

  /** Removes the registration and closes the session. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.chain.catch(() => {})
    const zk = this.zk
    if (zk && this.registeredPath) await this.deleteQuietly(zk, this.registeredPath)
    this.registeredPath = undefined
    await zk?.close().catch(() => {})
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step)
    this.chain = next.catch(() => {})
    return next
  }

  private async register(): Promise<void> {
    const zk = this.zk
    if (!zk) return
    const path = registrationPath(this.opts.root, this.opts.bookieId, this.readOnly)
    const deadline = this.clock.monotonicMs() + this.opts.staleNodeWaitMs
    for (;;) {
      try {
        await zk.create(path, Buffer.alloc(0), 'ephemeral')
        this.registeredPath = path
        this.log.info('registered', {path, sessionId: zk.sessionId})
        return
      } catch (e) {
        if (e instanceof NoNodeError) {
          throw new BookieRegistrationError(
            `cannot register at ${path}: its parent does not exist; run \`dlog bkshell metaformat\` to format ${this.opts.root}`,
            {cause: e},
          )
        }
        if (!(e instanceof NodeExistsError)) throw e
      }
      // The node exists. Ours (a create whose reply was lost)? Then done.
      const w = oneShotWatch()
      const stat = await zk.exists(path, w.watcher)
      if (stat === null) continue
      if (stat.ephemeralOwner === zk.sessionIdBigInt) {
        this.registeredPath = path
        return
      }
      const leftMs = deadline - this.clock.monotonicMs()
      if (leftMs <= 0) {
        throw new BookieRegistrationError(
          `another bookie is registered as ${this.opts.bookieId} (${path}, session 0x${stat.ephemeralOwner.toString(16)}) ` +
            `and did not go away within ${this.opts.staleNodeWaitMs} ms; is a second bookie configured with the same address and port?`,
        )
      }
      this.log.info('waiting for the registration of a previous incarnation to expire', {path, leftMs})
      let timer: ReturnType<Clock['setTimeout']> | undefined
      await Promise.race([w.event, new Promise<void>((r) => (timer = this.clock.setTimeout(r, Math.min(leftMs, 1000))))])
      if (timer) this.clock.clearTimeout(timer)
    }
  }

  private async deleteQuietly(zk: ZKClient, path: string): Promise<void> {
    try {
      await zk.delete(path)
    } catch (e) {
      if (!(e instanceof NoNodeError)) this.log.warn('could not delete registration', {path, error: errorMessage(e)})
    }
  }

  private watchSession(zk: ZKClient): void {
    zk.once('expired', () => {
      if (this.closed || this.zk !== zk) return
      this.log.warn('ZooKeeper session expired; re-registering with a new session', {bookieId: this.opts.bookieId})
      this.registeredPath = undefined
      void zk.close().catch(() => {})
      void this.enqueue(() => this.reconnect())
    })
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const zk = await this.opts.connect()
        if (this.closed) {
          await zk.close()
          return
        }
        this.zk = zk
        this.watchSession(zk)
        await this.register()
        return
      } catch (e) {
        const delayMs = Math.min(RECONNECT_DELAY_MS_MAX, 100 * 2 ** Math.min(attempt, 6))
        this.log.warn('re-registration failed; retrying', {error: errorMessage(e), delayMs})
        await new Promise<void>((r) => this.clock.setTimeout(r, delayMs))
      }
    }
  }
}
