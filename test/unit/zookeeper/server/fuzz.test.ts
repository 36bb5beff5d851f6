import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {
  encodeCreateRequest,
  encodePathVersionRequest,
  encodePathWatchRequest,
  encodeSetDataRequest,
  encodeSetWatches,
  JuteWriter,
  OPEN_ACL_UNSAFE,
  ZKCode,
  ZKOpCode,
} from '../../../../src/engine/protocol/jute/index.js'
import {CLIENT_SAFE_ZK_CODES} from '../../../../src/engine/protocol/jute/zk-codes.js'
import {checkTreeInvariants, Harness} from './harness.js'

const OPEN = [...OPEN_ACL_UNSAFE]
const path = fc.constantFrom('/', '/a', '/a/b', '/b', '/a/', 'x', '/zookeeper', '/a/b/c', '/é')
const ops = Object.values(ZKOpCode) as number[]

/** A request body that is valid for some op; the fuzzer sends it under any op code. */
const body: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({path, flags: fc.integer({min: -1, max: 7}), data: fc.option(fc.uint8Array({maxLength: 8}), {nil: null})}).map((r) => {
    const w = new JuteWriter(64)
    encodeCreateRequest(w, {path: r.path, data: r.data && Buffer.from(r.data), acl: OPEN, flags: r.flags})
    return w.finish()
  }),
  fc.record({path, version: fc.integer({min: -2, max: 2})}).map((r) => {
    const w = new JuteWriter(64)
    encodePathVersionRequest(w, r)
    return w.finish()
  }),
  fc.record({path, watch: fc.boolean()}).map((r) => {
    const w = new JuteWriter(64)
    encodePathWatchRequest(w, r)
    return w.finish()
  }),
  fc.record({path, version: fc.integer({min: -1, max: 1})}).map((r) => {
    const w = new JuteWriter(64)
    encodeSetDataRequest(w, {...r, data: Buffer.from('d')})
    return w.finish()
  }),
  fc.array(fc.tuple(fc.constantFrom(1, 2, 5, 13, 15, 19, 4), path), {maxLength: 4}).map((list) => {
    const w = new JuteWriter(64)
    for (const [type, p] of list) {
      w.int(type).bool(false).int(-1)
      if (type === 1 || type === 15 || type === 19) encodeCreateRequest(w, {path: p, data: null, acl: OPEN, flags: 1})
      else if (type === 5) encodeSetDataRequest(w, {path: p, data: null, version: -1})
      else if (type === 4) encodePathWatchRequest(w, {path: p, watch: true})
      else encodePathVersionRequest(w, {path: p, version: -1})
    }
    w.int(-1).bool(true).int(-1)
    return w.finish()
  }),
  fc.record({data: fc.array(path, {maxLength: 3}), child: fc.array(path, {maxLength: 3})}).map((r) => {
    const w = new JuteWriter(64)
    encodeSetWatches(w, {relativeZxid: 0n, dataWatches: r.data, existWatches: r.data, childWatches: r.child})
    return w.finish()
  }),
  fc.uint8Array({maxLength: 40}).map((a) => Buffer.from(a)),
)

const frame = fc
  .record({
    xid: fc.integer({min: -10, max: 100}),
    op: fc.oneof(fc.constantFrom(...ops), fc.integer({min: -20, max: 200})),
    body,
    flips: fc.array(fc.tuple(fc.nat(), fc.nat({max: 255})), {maxLength: 2}),
    cut: fc.nat({max: 6}),
  })
  .map((f) => {
    const payload = Buffer.concat([Buffer.alloc(8), f.body])
    payload.writeInt32BE(f.xid, 0)
    payload.writeInt32BE(f.op, 4)
    for (const [at, v] of f.flips) if (f.body.length > 0) payload[8 + (at % f.body.length)] = v
    const cut = payload.subarray(0, Math.max(0, payload.length - f.cut))
    const len = Buffer.alloc(4)
    len.writeInt32BE(cut.length)
    return Buffer.concat([len, cut])
  })

describe('zookeeper/server > request fuzz', () => {
  it('random and mutated requests never break the server: typed errors only, safe codes only, consistent tree', () => {
    fc.assert(
      fc.property(fc.array(fc.array(frame, {minLength: 1, maxLength: 12}), {minLength: 1, maxLength: 4}), (clients) => {
        const h = new Harness()
        for (const frames of clients) {
          const c = h.connect()
          for (const f of frames) {
            c.sendBytes(f)
            for (const r of c.replies()) {
              assert.ok(CLIENT_SAFE_ZK_CODES.has(r.err), `unsafe code ${r.err}`)
              // A notification: xid -1, zxid -1, err 0 (a reply to a request that used xid -1 echoes it).
              if (r.xid === -1 && r.zxid === -1n && r.err === 0) {
                const type = r.body.int()
                assert.ok(type >= 1 && type <= 4, `event type ${type}`)
              }
            }
          }
          checkTreeInvariants(h.db)
        }
        const bugs = h.logLines.filter((l) => l.message === 'closing connection after an error' && l.attrs.errorName !== 'FrameSizeError')
        assert.deepEqual(bugs, [])
        // The server still serves a well-behaved client afterwards.
        const ok = h.connect()
        const r = ok.call(ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/after-fuzz', data: null, acl: OPEN, flags: 0}))
        assert.ok(r.err === ZKCode.OK || r.err === ZKCode.NODE_EXISTS)
      }),
      {numRuns: 300},
    )
  })
})
