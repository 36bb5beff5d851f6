/**
 * Time as a dependency. Engine logic that depends on time takes a Clock so tests and the seeded
 * simulator can drive it; production code uses systemClock.
 */

export interface TimerHandle {
  /** Lets the process exit while this timer is pending (like Node's Timeout.unref). */
  unref(): void
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch (for timestamps written to metadata). */
  nowMs(): number
  /** Monotonic milliseconds (for durations and deadlines); never goes backwards. */
  monotonicMs(): number
  setTimeout(fn: () => void, delayMs: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * A clock that only moves when told to. Timers fire in deadline order (ties in creation order) from
 * advance(), so a simulation replays exactly.
 */
export class ManualClock implements Clock {
  private nowMsValue: number
  private monotonicMsValue = 0
  private timers: {id: number; deadlineMs: number; fn: () => void}[] = []
  private nextId = 1

  constructor(startMs = 1_700_000_000_000) {
    this.nowMsValue = startMs
  }

  nowMs(): number {
    return this.nowMsValue
  }

  monotonicMs(): number {
    return this.monotonicMsValue
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++
    this.timers.push({id, deadlineMs: this.monotonicMsValue + Math.max(0, delayMs), fn})
    const handle = {id, unref: () => {}}
    return handle
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as unknown as {id: number}).id
    this.timers = this.timers.filter((t) => t.id !== id)
  }

  /** Moves time forward by deltaMs, firing every timer that falls due, in order. */
  advance(deltaMs: number): void {
    const target = this.monotonicMsValue + deltaMs
    for (;;) {
      this.timers.sort((a, b) => a.deadlineMs - b.deadlineMs || a.id - b.id)
      const next = this.timers[0]
      if (!next || next.deadlineMs > target) break
      this.timers.shift()
      this.nowMsValue += next.deadlineMs - this.monotonicMsValue
      this.monotonicMsValue = next.deadlineMs
      next.fn()
    }
    this.nowMsValue += target - this.monotonicMsValue
    this.monotonicMsValue = target
  }

  pendingTimers(): number {
    return this.timers.length
  }
}
