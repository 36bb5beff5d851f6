import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ManualClock} from '../../../src/engine/common/clock.js'
import {crc32c} from '../../../src/engine/common/crc32c.js'
import {SeededRandom, shuffled} from '../../../src/engine/common/random.js'

describe('common > crc32c', () => {
  it('matches the CRC-32C check value and continues across chunks', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
    const whole = crc32c(Buffer.from('hello world'))
    assert.equal(crc32c(Buffer.from(' world'), crc32c(Buffer.from('hello'))), whole)
  })
})

describe('common > random', () => {
  it('replays the same sequence from the same seed', () => {
    const a = new SeededRandom(42)
    const b = new SeededRandom(42)
    const xs = Array.from({length: 20}, () => a.nextInt(1000))
    assert.deepEqual(xs, Array.from({length: 20}, () => b.nextInt(1000)))
    assert.ok(new Set(xs).size > 10, 'values vary')
    assert.deepEqual(shuffled([1, 2, 3, 4, 5], new SeededRandom(7)).sort(), [1, 2, 3, 4, 5])
  })
})

describe('common > manual clock', () => {
  it('fires timers in deadline order as time advances', () => {
    const clock = new ManualClock(0)
    const fired: string[] = []
    clock.setTimeout(() => fired.push('b'), 20)
    const h = clock.setTimeout(() => fired.push('x'), 15)
    clock.setTimeout(() => fired.push('a'), 10)
    clock.clearTimeout(h)
    clock.advance(15)
    assert.deepEqual(fired, ['a'])
    clock.advance(5)
    assert.deepEqual(fired, ['a', 'b'])
    assert.equal(clock.monotonicMs(), 20)
  })
})
