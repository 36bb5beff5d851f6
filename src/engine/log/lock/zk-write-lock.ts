/**
 * The single-writer lock of one log, over ZooKeeper (the original's ZKSessionLock, distributedlog.md
 * §5.1): each contender creates an EPHEMERAL_SEQUENTIAL member
 *
 *   <root>/lock/member_<urlencoded clientId>_s<sessionId, %010d>_<sequence, 10 digits>   data = clientId
 *
 * and the member with the lowest sequence owns the log. Immediate mode (lockTimeoutMs 0, what the
 * shipped configurations use) fails at once when someone else is first, removing our member; wait mode
 * watches the member just before ours (no herd) until it owns the lock or lockTimeoutMs passes.
 * Failure is OwnershipAcquireFailedError naming the owner (the first member's data).
 *
 * The lock lives as long as the ZooKeeper session: when the session expires (or the client closes, or
 * someone deletes our member), `held` turns false and onLost listeners are told, so a writer stops
 * before a new owner's writes could interleave with its own. A member left by an earlier attempt of THIS
 * lock object (a create whose reply was lost) is reused, not duplicated; a member of another lock object
 * with the same client id and session (two writers opened through one Namespace) is a different owner.
 */
import {type Clock, systemClock} from '../../common/clock.js'
import {InvalidInputError} from '../../common/errors.js'
import {type Logger, silentLogger} from '../../common/logger.js'
import {NoNodeError} from '../../zookeeper/client/errors.js'
import type {Watcher, ZKClient} from '../../zookeeper/client/zk-client.js'
import {LockingError, OwnershipAcquireFailedError} from '../errors.js'
import type {LogWriteLock} from '../types.js'

/** Wait mode's upper bound (the original's default is 30 s). */
export const LOCK_TIMEOUT_MS_MAX = 3_600_000
const MEMBER_PREFIX = 'member_'

export interface ZkWriteLockOptions {
  /** 0 = immediate mode; else how long acquire() waits for the current owner to go. */
  lockTimeoutMs?: number
  clock?: Clock
  logger?: Logger
}

/** clientId as java.net.URLEncoder writes it (space as `+`), so member names match the original's. */
function urlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

function sequenceOf(member: string): string {
  return member.slice(-10)
}

function isMember(name: string): boolean {
  return name.startsWith(MEMBER_PREFIX) && /\d{10}$/.test(name)
}

export class ZkWriteLock implements LogWriteLock {
  readonly lockPath: string
  readonly clientId: string
  private readonly zk: ZKClient
  private readonly lockTimeoutMs: number
  private readonly clock: Clock
  private readonly log: Logger
  /** Our member's full path while we have one. */
  private member: string | undefined
  private heldValue = false
  private acquiring: Promise<void> | undefined
  /** A create of our member failed with an unknown outcome: a member with our prefix may be ours. */
  private orphanPossible = false
  private readonly lostListeners = new Set<(reason: string) => void>()
  private readonly onExpired = () => this.lose('ZooKeeper session expired')
  private readonly onClosed = () => this.lose('ZooKeeper client closed')

  constructor(zk: ZKClient, lockPath: string, clientId: string, opts: ZkWriteLockOptions = {}) {
    const timeout = opts.lockTimeoutMs ?? 0
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > LOCK_TIMEOUT_MS_MAX) {
      throw new InvalidInputError(`lockTimeoutMs must be 0..${LOCK_TIMEOUT_MS_MAX}, got ${timeout}`)
    }
    if (clientId === '') throw new InvalidInputError('a lock clientId must not be empty')
    this.zk = zk
    this.lockPath = lockPath
    this.clientId = clientId
    this.lockTimeoutMs = timeout
    this.clock = opts.clock ?? systemClock
    this.log = (opts.logger ?? silentLogger).child('write-lock')
  }

  get held(): boolean {
    return this.heldValue
  }

  /** Called once if the lock is lost without release() (session expiry, member deleted). */
  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener)
    return () => this.lostListeners.delete(listener)
  }

  async acquire(): Promise<void> {
    if (this.heldValue) return
    this.acquiring ??= this.doAcquire().finally(() => (this.acquiring = undefined))
    return this.acquiring
  }

  private memberPrefix(): string {
    return `${MEMBER_PREFIX}${urlEncode(this.clientId)}_s${this.zk.sessionIdBigInt.toString().padStart(10, '0')}_`
  }

  private async doAcquire(): Promise<void> {
    const prefix = this.memberPrefix()
    let children = await this.members()
    // Same client id and session is not enough to call a member ours: another lock object on this
    // client (a second writer in the process) names its member the same way.
    const mine = this.orphanPossible ? children.find((c) => c.startsWith(prefix)) : undefined
    this.orphanPossible = false
    this.member = mine !== undefined ? `${this.lockPath}/${mine}` : await this.createMember(prefix)
    const ourName = this.member.slice(this.lockPath.length + 1)
    const deadline = this.clock.monotonicMs() + this.lockTimeoutMs
    try {
      for (;;) {
        children = await this.members()
        const index = children.indexOf(ourName)
        if (index < 0) throw new LockingError(this.lockPath, `our lock member ${ourName} disappeared while acquiring`)
        if (index === 0) {
          this.gain()
          return
        }
        const remainingMs = deadline - this.clock.monotonicMs()
        if (remainingMs <= 0) throw await this.ownedElsewhere(children)
        // Watch the member just before ours; it going away is the only change that can make us first.
        const predecessor = `${this.lockPath}/${children[index - 1] as string}`
        const gone = await this.waitGone(predecessor, remainingMs)
        if (!gone && this.clock.monotonicMs() >= deadline) throw await this.ownedElsewhere(await this.members())
      }
    } catch (e) {
      await this.dropMember()
      throw e
    }
  }

  private async createMember(prefix: string): Promise<string> {
    try {
      return await this.zk.create(`${this.lockPath}/${prefix}`, Buffer.from(this.clientId, 'utf8'), 'ephemeral_sequential')
    } catch (e) {
      if ((e as {outcomeUnknown?: unknown}).outcomeUnknown === true) this.orphanPossible = true
      if (e instanceof NoNodeError) throw new LockingError(this.lockPath, 'the log has no lock znode (deleted, or being deleted)', {cause: e, retriable: false})
      throw e
    }
  }

  /** Lock members ordered by sequence number. */
  private async members(): Promise<string[]> {
    try {
      const children = await this.zk.getChildren(this.lockPath)
      return children.filter(isMember).sort((a, b) => (sequenceOf(a) < sequenceOf(b) ? -1 : sequenceOf(a) > sequenceOf(b) ? 1 : 0))
    } catch (e) {
      if (e instanceof NoNodeError) throw new LockingError(this.lockPath, 'the log has no lock znode (deleted, or being deleted)', {cause: e, retriable: false})
      throw e
    }
  }

  private async ownedElsewhere(children: string[]): Promise<OwnershipAcquireFailedError> {
    for (const c of children) {
      if (this.member !== undefined && `${this.lockPath}/${c}` === this.member) continue
      try {
        const {data} = await this.zk.getData(`${this.lockPath}/${c}`)
        return new OwnershipAcquireFailedError(this.lockPath, data?.toString('utf8') ?? '')
      } catch (e) {
        if (!(e instanceof NoNodeError)) throw e
      }
    }
    return new OwnershipAcquireFailedError(this.lockPath, 'unknown (the owner released while we gave up)')
  }

  /** Resolves true when `path` is deleted, false after `timeoutMs`. */
  private waitGone(path: string, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let done = false
      const finish = (v: boolean) => {
        if (done) return
        done = true
        this.clock.clearTimeout(timer)
        resolve(v)
      }
      const timer = this.clock.setTimeout(() => finish(false), timeoutMs)
      const watcher: Watcher = (event) => {
        if (event.type === 'sessionExpired' || event.type === 'closed') {
          if (!done) {
            done = true
            this.clock.clearTimeout(timer)
            reject(new LockingError(this.lockPath, `ZooKeeper session ${event.type} while waiting for the lock`))
          }
          return
        }
        finish(true)
      }
      this.zk.exists(path, watcher).then(
        (stat) => {
          if (stat === null) finish(true)
        },
        (e: unknown) => {
          if (!done) {
            done = true
            this.clock.clearTimeout(timer)
            reject(e instanceof Error ? e : new Error(String(e)))
          }
        },
      )
    })
  }

  private gain(): void {
    this.heldValue = true
    this.zk.on('expired', this.onExpired)
    this.zk.on('closed', this.onClosed)
    this.watchOwnMember()
    this.log.info('acquired write lock', {lockPath: this.lockPath, clientId: this.clientId, member: this.member})
  }

  /** Our member deleted by anyone but us (an operator, a session expiry) means the lock is gone. */
  private watchOwnMember(): void {
    const member = this.member
    if (member === undefined) return
    const watcher: Watcher = (event) => {
      if (!this.heldValue || this.member !== member) return
      if (event.type === 'deleted') this.lose('our lock member was deleted')
      else if (event.type === 'dataChanged') this.watchOwnMember()
    }
    this.zk.exists(member, watcher).then(
      (stat) => {
        if (stat === null && this.heldValue && this.member === member) this.lose('our lock member was deleted')
      },
      () => {
        // A failed read here comes with session loss, which the expiry listener reports.
      },
    )
  }

  private lose(reason: string): void {
    if (!this.heldValue) return
    this.heldValue = false
    this.member = undefined
    this.detach()
    this.log.warn('lost write lock', {lockPath: this.lockPath, clientId: this.clientId, reason})
    for (const l of [...this.lostListeners]) {
      try {
        l(reason)
      } catch (e) {
        this.log.error('lock-lost listener threw', {error: e})
      }
    }
  }

  private detach(): void {
    this.zk.off('expired', this.onExpired)
    this.zk.off('closed', this.onClosed)
  }

  private async dropMember(): Promise<void> {
    const member = this.member
    this.member = undefined
    if (member === undefined) return
    try {
      await this.zk.delete(member)
    } catch (e) {
      if (!(e instanceof NoNodeError) && this.zk.state === 'connected') throw e
    }
  }

  async release(): Promise<void> {
    if (this.acquiring) await this.acquiring.catch(() => {})
    this.heldValue = false
    this.detach()
    if (this.zk.state === 'expired' || this.zk.state === 'closed') {
      this.member = undefined
      return
    }
    await this.dropMember()
  }
}
