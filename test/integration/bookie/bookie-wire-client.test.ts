import assert from 'node:assert/strict'
import {createServer, type Socket} from 'node:net'
import {after, describe, it} from 'node:test'

import {BookieConnectionError, BookieWireClient} from '../../../src/engine/net/bookie-wire-client.js'
import {TimeoutError} from '../../../src/engine/common/errors.js'

describe('bookie > wire client', () => {
  const sockets: Socket[] = []
  const silent = createServer((s) => {
    sockets.push(s)
    s.resume()
  })
  after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((r) => silent.close(r))
  })

  it('times out an unanswered request and fails the rest when the connection drops', async () => {
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as {port: number}).port
    const c = await BookieWireClient.connect({host: '127.0.0.1', port, requestTimeoutMs: 150})
    const t0 = performance.now()
    await assert.rejects(c.readLac(1), (e: unknown) => e instanceof TimeoutError && /READ_LAC to bookie 127\.0\.0\.1:\d+ got no answer within 150 ms/.test(e.message))
    assert.ok(performance.now() - t0 >= 140)
    assert.equal(c.outstanding, 0)
    const pending = c.info()
    sockets[0]!.destroy()
    await assert.rejects(pending, BookieConnectionError)
    await assert.rejects(c.readLac(1), BookieConnectionError)
    await c.close()
  })
})
