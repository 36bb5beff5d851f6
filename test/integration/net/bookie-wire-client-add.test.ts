import assert from 'node:assert/strict'
import {createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'

import {BookieConnectionError, BookieWireClient} from '../../../src/engine/net/bookie-wire-client.js'
import {FrameDecoder} from '../../../src/engine/net/frame-decoder.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {encodeEntry} from '../../../src/engine/protocol/bookie/entry.js'
import {BookieOp, FRAME_BODY_BYTES_MAX, decodeRequest, encodeAddResponseInto, encodeRequest, ADD_RESPONSE_BYTES} from '../../../src/engine/protocol/bookie/wire.js'
import {waitFor} from '../../helpers/wait-for.js'

/**
 * A scripted bookie: records every request frame it gets (with its length prefix) and answers adds with
 * the status `statusOf(entryId)` returns, or not at all for undefined.
 */
class FakeBookie {
  readonly frames: Buffer[] = []
  readonly sockets: Socket[] = []
  statusOf: (entryId: number) => BookieStatus | undefined = () => BookieStatus.OK
  private readonly server: Server

  constructor() {
    this.server = createServer((s) => {
      this.sockets.push(s)
      const decoder = new FrameDecoder({frameBytesMax: FRAME_BODY_BYTES_MAX})
      s.on('data', (chunk: Buffer) => {
        decoder.push(chunk)
        for (let body = decoder.next(); body !== undefined; body = decoder.next()) {
          const prefix = Buffer.alloc(4)
          prefix.writeUInt32BE(body.length)
          this.frames.push(Buffer.concat([prefix, body]))
          const req = decodeRequest(body)
          if (req.op !== BookieOp.ADD_ENTRY) continue
          const status = this.statusOf(req.entryId)
          if (status === undefined) continue
          const out = Buffer.alloc(ADD_RESPONSE_BYTES)
          encodeAddResponseInto(out, 0, req.requestId, status, req.ledgerId, req.entryId)
          s.write(out)
        }
      })
    })
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    return (this.server.address() as {port: number}).port
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise((r) => this.server.close(r))
  }
}

function add(client: BookieWireClient, entry: Buffer, key: Buffer, recovery = false): {settled: () => boolean; result: Promise<Error | undefined>} {
  let settled = false
  const result = new Promise<Error | undefined>((resolve) =>
    client.addEntryCallback(entry, key, recovery, (e) => {
      settled = true
      resolve(e)
    }),
  )
  return {settled: () => settled, result}
}

describe('net > bookie wire client > addEntryCallback', () => {
  const bookie = new FakeBookie()
  let client: BookieWireClient
  before(async () => {
    const port = await bookie.listen()
    client = await BookieWireClient.connect({host: '127.0.0.1', port, requestTimeoutMs: 5_000})
  })
  after(async () => {
    await client.close()
    await bookie.close()
  })

  it('sends exactly the frames encodeRequest makes, small and large entries alike, and calls back once each', async () => {
    const key = Buffer.from('secret-key')
    const sizes = [0, 1, 100, 1024, 16 * 1024, 16 * 1024 + 1, 70 * 1024, 300 * 1024]
    const entries = sizes.map((n, i) => encodeEntry({ledgerId: 7, entryId: i, lac: i - 1, length: n, payload: Buffer.alloc(n, i + 1)}))
    bookie.frames.length = 0
    // One turn: every frame goes into the same batch, large ones from their own buffers, in order.
    const adds = entries.map((e, i) => add(client, e, key, i % 2 === 1))
    assert.equal(adds.some((a) => a.settled()), false, 'a callback ran synchronously')
    const results = await Promise.all(adds.map((a) => a.result))
    assert.deepEqual(results, entries.map(() => undefined))
    assert.equal(bookie.frames.length, entries.length)
    bookie.frames.forEach((frame, i) => {
      const requestId = frame.readUInt32BE(8)
      const expected = encodeRequest({op: BookieOp.ADD_ENTRY, requestId, recovery: i % 2 === 1, masterKey: key, entry: entries[i] as Buffer, ledgerId: 7, entryId: i})
      assert.deepEqual(frame, expected, `frame ${i}`)
    })
    assert.equal(client.outstanding, 0)
  })

  it('reports a non-OK status as a BookieError and keeps serving', async () => {
    bookie.statusOf = (entryId) => (entryId === 1 ? BookieStatus.FENCED : BookieStatus.OK)
    const key = Buffer.from('k')
    const [a, b, c] = [0, 1, 2].map((i) => add(client, encodeEntry({ledgerId: 8, entryId: i, lac: -1, length: 1, payload: Buffer.from('x')}), key))
    assert.equal(await a!.result, undefined)
    const err = await b!.result
    assert.ok(err instanceof BookieError && err.code === BookieStatus.FENCED, String(err))
    assert.equal(await c!.result, undefined)
    bookie.statusOf = () => BookieStatus.OK
  })

  it('refuses bad input asynchronously without sending anything', async () => {
    bookie.frames.length = 0
    const short = add(client, Buffer.alloc(10), Buffer.from('k'))
    const longKey = add(client, encodeEntry({ledgerId: 1, entryId: 0, lac: -1, length: 0, payload: Buffer.alloc(0)}), Buffer.alloc(300))
    assert.equal(short.settled() || longKey.settled(), false)
    assert.match(String(await short.result), /shorter than its header/)
    assert.match(String(await longKey.result), /master key of 300 bytes/)
    const ok = add(client, encodeEntry({ledgerId: 1, entryId: 1, lac: -1, length: 0, payload: Buffer.alloc(0)}), Buffer.from('k'))
    assert.equal(await ok.result, undefined)
    assert.equal(bookie.frames.length, 1)
  })

  it('fails unanswered adds with BookieConnectionError when the connection drops, and later ones at once', async () => {
    bookie.statusOf = () => undefined
    const key = Buffer.from('k')
    const pending = [0, 1, 2].map((i) => add(client, encodeEntry({ledgerId: 9, entryId: i, lac: -1, length: 1, payload: Buffer.from('y')}), key))
    await waitFor(() => client.outstanding === 3, {what: 'three adds in flight'})
    for (const s of bookie.sockets) s.destroy()
    for (const p of pending) assert.ok((await p.result) instanceof BookieConnectionError)
    const late = add(client, encodeEntry({ledgerId: 9, entryId: 3, lac: -1, length: 1, payload: Buffer.from('y')}), key)
    assert.equal(late.settled(), false)
    assert.ok((await late.result) instanceof BookieConnectionError)
    assert.equal(client.isOpen, false)
  })
})
