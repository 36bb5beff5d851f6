import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import fc from 'fast-check'

import {Logger, type LogRecordLine} from '../../../src/engine/common/logger.js'
import {
  encodeConnectRequest,
  encodeCreateRequest,
  encodeMultiRequest,
  encodeSetWatches,
  JuteWriter,
  OPEN_ACL_UNSAFE,
  ZKOpCode,
} from '../../../src/engine/protocol/jute/index.js'
import {waitFor} from '../../helpers/wait-for.js'
import {connectClient, RawConn, runCleanup, startServer} from './server-helpers.js'

const OPEN = [...OPEN_ACL_UNSAFE]

function framed(payload: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeInt32BE(payload.length)
  return Buffer.concat([len, payload])
}

function encode(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(64)
  write(w)
  return w.finish()
}

const handshake = framed(encode((w) => encodeConnectRequest(w, {protocolVersion: 0, lastZxidSeen: 0n, timeOutMs: 5000, sessionId: 0n, passwd: Buffer.alloc(16)})))
const validRequests = [
  encode((w) => {
    w.int(1).int(ZKOpCode.CREATE)
    encodeCreateRequest(w, {path: '/fz', data: Buffer.from('x'), acl: OPEN, flags: 3})
  }),
  encode((w) => {
    w.int(2).int(ZKOpCode.MULTI)
    encodeMultiRequest(w, [
      {type: ZKOpCode.CREATE, request: {path: '/fm', data: null, acl: OPEN, flags: 1}},
      {type: ZKOpCode.SET_DATA, request: {path: '/fm', data: Buffer.from('y'), version: -1}},
    ])
  }),
  encode((w) => {
    w.int(3).int(ZKOpCode.SET_WATCHES)
    encodeSetWatches(w, {relativeZxid: 0n, dataWatches: ['/fz'], existWatches: ['/q'], childWatches: ['/']})
  }),
  encode((w) => w.int(-2).int(ZKOpCode.PING)),
  encode((w) => w.int(4).int(ZKOpCode.GET_CHILDREN2).ustring('/').bool(true)),
]

const mutated = fc
  .record({
    which: fc.nat({max: validRequests.length - 1}),
    flips: fc.array(fc.tuple(fc.nat(), fc.nat({max: 255})), {maxLength: 3}),
    cut: fc.nat({max: 8}),
    lie: fc.option(fc.integer({min: -5, max: 40}), {nil: undefined}),
  })
  .map((m) => {
    const p = Buffer.from(validRequests[m.which]!)
    for (const [at, v] of m.flips) p[at % p.length] = v
    const cut = p.subarray(0, Math.max(0, p.length - m.cut))
    const f = framed(cut)
    if (m.lie !== undefined) f.writeInt32BE(cut.length + m.lie, 0) // a length that lies about the payload
    return f
  })

const session = fc.record({
  withHandshake: fc.boolean(),
  garbledHandshake: fc.option(fc.tuple(fc.nat(), fc.nat({max: 255})), {nil: undefined}),
  chunks: fc.array(fc.oneof(fc.uint8Array({maxLength: 64}).map((a) => Buffer.from(a)), mutated, fc.constantFrom(...validRequests.map(framed))), {
    maxLength: 8,
  }),
})

describe('zookeeper/server > live fuzz', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(() => runCleanup(cleanup))

  it('random and mutated bytes on fresh connections never hurt the server or other clients', async () => {
    const lines: LogRecordLine[] = []
    const server = await startServer(cleanup, {logger: new Logger({level: 'debug', sink: (l) => lines.push(l)}), sessionlessTimeoutMs: 2000})
    const bystander = await connectClient(server, cleanup)
    await bystander.create('/bystander')
    await fc.assert(
      fc.asyncProperty(session, async (s) => {
        const c = await RawConn.open(server.port)
        try {
          if (s.withHandshake) {
            const h = Buffer.from(handshake)
            if (s.garbledHandshake) h[4 + (s.garbledHandshake[0] % (h.length - 4))] = s.garbledHandshake[1]
            c.write(h)
          }
          for (const chunk of s.chunks) c.write(chunk)
          c.socket.end()
          await c.waitClosed(10_000)
        } finally {
          c.destroy()
        }
      }),
      {numRuns: 150},
    )
    await waitFor(() => server.stats().connectionCount === 1, {what: 'fuzz connections closed'})
    const bugs = lines.filter((l) => l.message === 'closing connection after an error' && l.attrs.errorName !== 'FrameSizeError')
    assert.deepEqual(bugs, [])
    assert.equal(server.stats().failure, undefined)
    assert.ok(await bystander.exists('/bystander'), 'the bystander session is intact')
    const fresh = await connectClient(server, cleanup)
    await fresh.create('/after-fuzz')
    assert.deepEqual((await fresh.getData('/bystander')).data, undefined)
  })
})
