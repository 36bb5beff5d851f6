import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {FrameDecoder, FrameSizeError} from '../../../src/engine/net/frame-decoder.js'

function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeInt32BE(payload.length)
  return Buffer.concat([len, payload])
}

function drain(d: FrameDecoder): Buffer[] {
  const out: Buffer[] = []
  for (let f = d.next(); f !== undefined; f = d.next()) out.push(Buffer.from(f))
  return out
}

describe('net > frame decoder', () => {
  it('returns the same frames however the byte stream is split into chunks', () => {
    const payloads = fc.array(fc.uint8Array({maxLength: 300}).map((a) => Buffer.from(a)), {maxLength: 20})
    fc.assert(
      fc.property(payloads, fc.array(fc.nat(), {maxLength: 30}), (ps, cuts) => {
        const stream = Buffer.concat(ps.map(frame))
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b)
        const d = new FrameDecoder({frameBytesMax: 1000})
        const got: Buffer[] = []
        let prev = 0
        for (const p of [...points, stream.length]) {
          d.push(stream.subarray(prev, p))
          got.push(...drain(d))
          prev = p
        }
        assert.deepEqual(got, ps)
        assert.equal(d.bufferedBytes, 0)
      }),
      {numRuns: 300},
    )
  })

  it('accepts a payload of exactly the limit and refuses one byte more before it arrives', () => {
    const d = new FrameDecoder({frameBytesMax: 10})
    d.push(frame(Buffer.alloc(10, 1)))
    assert.equal(d.next()?.length, 10)
    const big = Buffer.alloc(4)
    big.writeInt32BE(11)
    d.push(big) // only the length: the payload is never awaited
    assert.throws(() => d.next(), FrameSizeError)
    assert.throws(() => d.next(), FrameSizeError, 'stays failed')
    assert.equal(d.bufferedBytes, 0)
  })

  it('refuses a negative length', () => {
    const d = new FrameDecoder({frameBytesMax: 10})
    d.push(Buffer.from('ffffffff', 'hex'))
    assert.throws(() => d.next(), (e: unknown) => e instanceof FrameSizeError && e.frameBytes === -1)
  })

  it('lets the reader stop mid-chunk and continue later; frames in one chunk are views, not copies', () => {
    const chunk = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('bb')), frame(Buffer.from('ccc'))])
    const d = new FrameDecoder({frameBytesMax: 100})
    d.push(chunk)
    const first = d.next()!
    assert.equal(first.buffer, chunk.buffer, 'no copy')
    assert.equal(first.toString(), 'a')
    assert.equal(d.bufferedBytes, chunk.length - 5)
    assert.deepEqual(drain(d).map(String), ['bb', 'ccc'])
  })

  it('peeks the first four bytes without consuming them (four-letter words)', () => {
    const d = new FrameDecoder({frameBytesMax: 100})
    d.push(Buffer.from('ru'))
    assert.equal(d.peekInt32(), undefined)
    d.push(Buffer.from('ok'))
    assert.equal(d.peekInt32(), Buffer.from('ruok').readInt32BE(0))
    assert.equal(d.bufferedBytes, 4)
  })

  it('never throws anything but FrameSizeError on random input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({maxLength: 64}), {maxLength: 10}), (chunks) => {
        const d = new FrameDecoder({frameBytesMax: 50})
        try {
          for (const c of chunks) {
            d.push(Buffer.from(c))
            drain(d)
          }
        } catch (e) {
          assert.ok(e instanceof FrameSizeError, String(e))
        }
      }),
      {numRuns: 1000},
    )
  })
})
