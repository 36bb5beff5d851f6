/**
 * Session liveness as ZooKeeper's SessionTrackerImpl/ExpiryQueue does it: deadlines are rounded up to
 * the next multiple of tickTime, so sessions expire in batches once per tick. Every packet a client
 * sends (pings included) touches its session, moving it to the bucket of now + timeout; a session
 * nobody touches expires between timeout and timeout + tickTime after its last packet.
 *
 * The tracker only decides *when*: expiring (the closeSession txn that deletes ephemerals and closes
 * the connection) is the server's onExpire callback.
 */
import type {Clock, TimerHandle} from '../../common/clock.js'

export interface Session {
  readonly id: bigint
  readonly passwd: Buffer
  timeoutMs: number
  /** The bucket (deadline rounded to a tick) the session sits in; 0 when not tracked. */
  expiresAtMs: number
  /** Set once a closeSession or expiry is under way: the session accepts nothing more. */
  closing: boolean
}

export class SessionTracker<S extends Session = Session> {
  private readonly tickMs: number
  private readonly clock: Clock
  private readonly onExpire: (session: S) => void
  private readonly buckets = new Map<number, Set<S>>()
  private timer: TimerHandle | null = null
  private timerAtMs = 0
  private stopped = false

  constructor(opts: {tickMs: number; clock: Clock; onExpire: (session: S) => void}) {
    this.tickMs = opts.tickMs
    this.clock = opts.clock
    this.onExpire = opts.onExpire
  }

  /** ExpiryQueue.roundToNextInterval: the first tick boundary strictly after t. */
  private roundToNextTick(t: number): number {
    return (Math.floor(t / this.tickMs) + 1) * this.tickMs
  }

  /** Moves the session's deadline to now + its timeout (rounded to the next tick). */
  touch(session: S): void {
    if (session.closing || this.stopped) return
    const at = this.roundToNextTick(this.clock.monotonicMs() + session.timeoutMs)
    if (at === session.expiresAtMs) return
    if (session.expiresAtMs !== 0) this.buckets.get(session.expiresAtMs)?.delete(session)
    let bucket = this.buckets.get(at)
    if (bucket === undefined) this.buckets.set(at, (bucket = new Set()))
    bucket.add(session)
    session.expiresAtMs = at
    this.arm()
  }

  /** Stops tracking the session (closed or expired). */
  remove(session: S): void {
    if (session.expiresAtMs === 0) return
    const bucket = this.buckets.get(session.expiresAtMs)
    bucket?.delete(session)
    if (bucket?.size === 0) this.buckets.delete(session.expiresAtMs)
    session.expiresAtMs = 0
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
  }

  private arm(): void {
    if (this.stopped) return
    let next = Infinity
    for (const [at, bucket] of this.buckets) {
      if (bucket.size === 0) this.buckets.delete(at)
      else if (at < next) next = at
    }
    if (next === Infinity) return
    if (this.timer !== null) {
      if (this.timerAtMs <= next) return
      this.clock.clearTimeout(this.timer)
    }
    this.timerAtMs = next
    const timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next - this.clock.monotonicMs()))
    timer.unref()
    this.timer = timer
  }

  private fire(): void {
    this.timer = null
    const now = this.clock.monotonicMs()
    const due: S[] = []
    for (const [at, bucket] of this.buckets) {
      if (at > now) continue
      this.buckets.delete(at)
      for (const s of bucket) {
        s.expiresAtMs = 0
        due.push(s)
      }
    }
    for (const s of due) this.onExpire(s)
    this.arm()
  }
}
