/**
 * The ZKClient facade: typed errors and helpers against both servers (ours and real ZooKeeper), and
 * session handling (connect bound, reply bound, disconnect/reconnect, expiry, close) against a scripted
 * fake server that answers the handshake and then does exactly what each test needs.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'

import {
  BadArgumentsError,
  ConnectionLossError,
  InvalidInputError,
  NoNodeError,
  oneShotWatch,
  SessionExpiredError,
  ZKClient,
  ZKConnectTimeoutError,
} from '../../../src/engine/index.js'
import {ourServerSkip, realZooKeeperSkip, startTarget, type ZKTarget} from '../../helpers/real-zookeeper.js'
import {waitFor} from '../../helpers/wait-for.js'

for (const [name, skip] of [
  ['ours', await ourServerSkip()],
  ['real', realZooKeeperSkip()],
] as const) {
  describe(`zookeeper client facade > ${name}`, {skip: skip || undefined}, () => {
    let target: ZKTarget
    let zk: ZKClient
    before(async () => {
      target = await startTarget(name)
      zk = await ZKClient.connect({connectString: target.connectString, connectTimeoutMs: 15_000})
    })
    after(async () => {
      await zk?.close()
      await target?.close()
    })

    it('mkdirp creates missing ancestors and tolerates existing ones', async () => {
      await zk.mkdirp('/mk/a/b/c', 'd')
      await zk.mkdirp('/mk/a/b/c')
      await zk.mkdirp('/mk/a/x')
      assert.deepEqual((await zk.getChildren('/mk/a')).sort(), ['b', 'x'])
      assert.equal((await zk.getData('/mk/a/b')).data?.toString(), 'd')
    })

    it('deleteRecursive removes a tree and counts the nodes; NoNode for a missing root', async () => {
      await zk.mkdirp('/dr/a/b')
      await zk.mkdirp('/dr/c')
      await zk.create('/dr/a/e', null, 'ephemeral')
      assert.equal(await zk.deleteRecursive('/dr'), 5)
      assert.equal(await zk.exists('/dr'), null)
      await assert.rejects(zk.deleteRecursive('/dr'), NoNodeError)
      await assert.rejects(zk.deleteRecursive('/'), BadArgumentsError)
    })

    it('bad paths and arguments fail before sending, with typed errors', async () => {
      await assert.rejects(zk.exists('no-slash'), (e: unknown) => e instanceof BadArgumentsError && e.message === 'Path must start with / character')
      await assert.rejects(zk.create('/a//b'), BadArgumentsError)
      await assert.rejects(zk.setData('/x', 'y', -2), InvalidInputError)
      await assert.rejects(zk.create('/x', null, 'bogus' as never), InvalidInputError)
      // node-zookeeper-client asserts data ≤ 1 MiB synchronously; the facade turns it into a typed error.
      await assert.rejects(zk.create('/huge', Buffer.alloc(1048577)), BadArgumentsError)
    })

    it('the same watcher on the same path fires once (Java client semantics)', async () => {
      await zk.create('/dedup', 'a')
      let calls = 0
      const w = () => void calls++
      await zk.getData('/dedup', w)
      await zk.exists('/dedup', w)
      await zk.getData('/dedup', w)
      await zk.setData('/dedup', 'b')
      await zk.sync('/dedup')
      assert.equal(calls, 1)
      // After firing it can be registered again.
      await zk.getData('/dedup', w)
      await zk.setData('/dedup', 'c')
      await waitFor(() => calls === 2, {what: 'second notification'})
    })
  })
}

// ---------------------------------------------------------------------------------------------------
// A scripted server: answers ConnectRequests (44/45 bytes) with a 36-byte ConnectResponse and then
// follows `onRequest`. Lets the session-handling paths run deterministically.

interface FakeConn {
  socket: Socket
  sessionId: bigint
}

class FakeZK {
  readonly server: Server
  readonly conns: FakeConn[] = []
  /** Timeout sent in ConnectResponses; 0 = "session expired". */
  negotiatedMs = 4000
  /** What to do with a request after the handshake: default is to never answer. */
  onRequest: (conn: FakeConn, xid: number, type: number) => void = () => {}
  private nextSession = 0x100n

  constructor() {
    this.server = createServer((socket) => this.accept(socket))
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    return `127.0.0.1:${(this.server.address() as {port: number}).port}`
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy()
    await new Promise<void>((r) => this.server.close(() => r()))
  }

  private accept(socket: Socket): void {
    let buf = Buffer.alloc(0)
    let conn: FakeConn | undefined
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const len = buf.readInt32BE(0)
        const frame = buf.subarray(4, 4 + len)
        buf = buf.subarray(4 + len)
        if (!conn) {
          const requested = frame.readBigInt64BE(16)
          const sessionId = this.negotiatedMs === 0 ? 0n : requested === 0n ? this.nextSession++ : requested
          const resp = Buffer.alloc(4 + 36)
          resp.writeInt32BE(36, 0)
          resp.writeInt32BE(0, 4)
          resp.writeInt32BE(this.negotiatedMs, 8)
          resp.writeBigInt64BE(sessionId, 12)
          resp.writeInt32BE(16, 20)
          socket.write(resp)
          conn = {socket, sessionId}
          this.conns.push(conn)
          if (this.negotiatedMs === 0) socket.end()
        } else {
          const xid = frame.readInt32BE(0)
          const type = frame.readInt32BE(4)
          if (type === 11) reply(socket, -2, 0) // ping
          else if (type === -11) {
            reply(socket, xid, 0)
            socket.end()
          } else this.onRequest(conn, xid, type)
        }
      }
    })
  }
}

function reply(socket: Socket, xid: number, err: number, body = Buffer.alloc(0)): void {
  const h = Buffer.alloc(4 + 16)
  h.writeInt32BE(16 + body.length, 0)
  h.writeInt32BE(xid, 4)
  h.writeBigInt64BE(1n, 8)
  h.writeInt32BE(err, 16)
  socket.write(Buffer.concat([h, body]))
}

describe('zookeeper client facade > sessions (scripted server)', () => {
  it('connect to a port nobody listens on fails within the bound, naming the connect string', async () => {
    const fake = new FakeZK()
    const cs = await fake.listen()
    await fake.close()
    const t0 = Date.now()
    const err = await ZKClient.connect({connectString: cs, connectTimeoutMs: 800}).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof ZKConnectTimeoutError)
    assert.equal(err.message, `could not connect to ZooKeeper at ${cs} within 800 ms`)
    assert.equal(err.retriable, true)
    assert.ok(Date.now() - t0 < 5_000)
  })

  it('connect to a server that never completes the handshake times out too', async () => {
    const sockets: Socket[] = []
    const silent = createServer((s) => {
      sockets.push(s)
      s.on('error', () => {})
    })
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    try {
      const cs = `127.0.0.1:${(silent.address() as {port: number}).port}`
      await assert.rejects(ZKClient.connect({connectString: cs, connectTimeoutMs: 600}), ZKConnectTimeoutError)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => silent.close(() => r()))
    }
  })

  it('rejects a malformed connect string and out-of-range options', async () => {
    await assert.rejects(ZKClient.connect({connectString: 'localhost'}), InvalidInputError)
    await assert.rejects(ZKClient.connect({connectString: 'h:1', retries: 99}), InvalidInputError)
    await assert.rejects(ZKClient.connect({connectString: 'h:1', sessionTimeoutMs: 5}), InvalidInputError)
  })

  it('a reply that never comes fails the call after operationTimeoutMs; a write is outcome-unknown', async () => {
    const fake = new FakeZK()
    const cs = await fake.listen()
    const zk = await ZKClient.connect({connectString: cs, operationTimeoutMs: 300, retries: 0})
    try {
      const w = await zk.create('/x').then(() => undefined, (e: unknown) => e)
      assert.ok(w instanceof ConnectionLossError)
      assert.equal(w.outcomeUnknown, true)
      assert.match(w.message, /no reply to create \/x within 300 ms/)
      const r = await zk.getData('/x').then(() => undefined, (e: unknown) => e)
      assert.ok(r instanceof ConnectionLossError)
      assert.equal(r.outcomeUnknown, false)
    } finally {
      await zk.close()
      await fake.close()
    }
  })

  it('reads are retried after connection loss, writes are not', async () => {
    const fake = new FakeZK()
    const cs = await fake.listen()
    const seen: number[] = []
    // Drop the connection on the first request of each type, answer exists (3) with NONODE afterwards.
    fake.onRequest = (conn, xid, type) => {
      seen.push(type)
      if (seen.filter((t) => t === type).length === 1) conn.socket.destroy()
      else if (type === 3) reply(conn.socket, xid, -101)
    }
    const zk = await ZKClient.connect({connectString: cs, retries: 2, reconnectDelayMs: 50})
    try {
      assert.equal(await zk.exists('/r'), null)
      const err = await zk.create('/w').then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof ConnectionLossError && err.outcomeUnknown)
      assert.deepEqual(seen, [3, 3, 1], 'exists sent twice, create once')
    } finally {
      await zk.close()
      await fake.close()
    }
  })

  it('disconnected then connected again on the same session; expiry settles watches and fails calls', async () => {
    const fake = new FakeZK()
    const cs = await fake.listen()
    fake.onRequest = (conn, xid, type) => {
      if (type === 3) reply(conn.socket, xid, -101) // exists → NONODE (a watch is set)
      else if (type === 101) reply(conn.socket, xid, 0) // setWatches on reconnect
    }
    const zk = await ZKClient.connect({connectString: cs, reconnectDelayMs: 50})
    const events: string[] = []
    for (const e of ['connected', 'disconnected', 'expired', 'closed']) zk.on(e, () => events.push(e))
    try {
      const sessionId = zk.sessionIdBigInt
      const w = oneShotWatch()
      assert.equal(await zk.exists('/w', w.watcher), null)
      fake.conns[0]!.socket.destroy()
      await waitFor(() => events.includes('connected'), {what: 'reconnect'})
      assert.deepEqual(events, ['disconnected', 'connected'])
      assert.equal(zk.sessionIdBigInt, sessionId)
      assert.equal(zk.state, 'connected')
      // Now the server forgets the session: the next reconnect is told it expired.
      fake.negotiatedMs = 0
      fake.conns[1]!.socket.destroy()
      await waitFor(() => events.includes('expired'), {what: 'expiry'})
      assert.equal(zk.state, 'expired')
      assert.deepEqual(await w.event, {type: 'sessionExpired', path: '/w'})
      await assert.rejects(zk.getData('/w'), SessionExpiredError)
    } finally {
      await zk.close()
      await fake.close()
    }
    assert.deepEqual(events, ['disconnected', 'connected', 'disconnected', 'expired', 'closed'])
  })

  it('close() while disconnected returns promptly; unfired watches get a closed event; later calls fail', async () => {
    const fake = new FakeZK()
    const cs = await fake.listen()
    fake.onRequest = (conn, xid, type) => {
      if (type === 3) reply(conn.socket, xid, -101)
    }
    const zk = await ZKClient.connect({connectString: cs, reconnectDelayMs: 50})
    const w = oneShotWatch()
    await zk.exists('/c', w.watcher)
    await fake.close()
    await waitFor(() => zk.state === 'disconnected', {what: 'disconnect'})
    const t0 = Date.now()
    await zk.close()
    assert.ok(Date.now() - t0 < 1_000)
    assert.deepEqual(await w.event, {type: 'closed', path: '/c'})
    await assert.rejects(zk.exists('/c'), (e: unknown) => e instanceof Error && /client is closed/.test(e.message))
  })
})
