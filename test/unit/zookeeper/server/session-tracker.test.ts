import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ManualClock} from '../../../../src/engine/common/clock.js'
import {type Session, SessionTracker} from '../../../../src/engine/zookeeper/server/session-tracker.js'

function session(id: number, timeoutMs: number): Session {
  return {id: BigInt(id), passwd: Buffer.alloc(16), timeoutMs, expiresAtMs: 0, closing: false}
}

describe('zookeeper/server > session tracker', () => {
  it('expires a silent session between T and T + tickTime after its last packet, in tick buckets', () => {
    for (const startMs of [0, 1, 999, 1000, 1999]) {
      const clock = new ManualClock()
      clock.advance(startMs)
      const expired: bigint[] = []
      const t = new SessionTracker({tickMs: 1000, clock, onExpire: (s) => expired.push(s.id)})
      const s = session(1, 4000)
      t.touch(s)
      assert.equal(s.expiresAtMs % 1000, 0, 'deadline on a tick boundary')
      clock.advance(3999)
      assert.deepEqual(expired, [], `alive at T - 1 (start ${startMs})`)
      clock.advance(1001)
      assert.deepEqual(expired, [1n], `gone by T + tick (start ${startMs})`)
    }
  })

  it('every touch moves the deadline; removed sessions never expire', () => {
    const clock = new ManualClock(0)
    const expired: bigint[] = []
    const t = new SessionTracker({tickMs: 500, clock, onExpire: (s) => expired.push(s.id)})
    const a = session(1, 2000)
    const b = session(2, 2000)
    const c = session(3, 2000)
    for (const s of [a, b, c]) t.touch(s)
    t.remove(c)
    for (let i = 0; i < 10; i++) {
      clock.advance(1000)
      t.touch(a)
    }
    assert.deepEqual(expired, [2n])
    clock.advance(3000)
    assert.deepEqual(expired, [2n, 1n])
    assert.equal(clock.pendingTimers(), 0, 'no timer left once nothing is tracked')
  })

  it('does not track closing sessions and stops cleanly', () => {
    const clock = new ManualClock(0)
    const expired: bigint[] = []
    const t = new SessionTracker({tickMs: 100, clock, onExpire: (s) => expired.push(s.id)})
    const s = session(1, 200)
    s.closing = true
    t.touch(s)
    assert.equal(s.expiresAtMs, 0)
    const live = session(2, 200)
    t.touch(live)
    t.stop()
    clock.advance(10_000)
    assert.deepEqual(expired, [])
  })
})
