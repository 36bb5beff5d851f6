import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {encodeCreateRequest, encodePathWatchRequest, OPEN_ACL_UNSAFE, ZKOpCode} from '../../../src/engine/protocol/jute/index.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {waitFor} from '../../helpers/wait-for.js'
import {connectClient, fourLetter, RawConn, runCleanup, startServer, zkCode} from './server-helpers.js'

const OPEN = [...OPEN_ACL_UNSAFE]

describe('zookeeper/server > limits and four-letter words', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(() => runCleanup(cleanup))

  it('a frame above 1048575 bytes closes only that connection; the session and everyone else carry on', async () => {
    const server = await startServer(cleanup)
    const bystander = await connectClient(server, cleanup)
    const raw = await RawConn.open(server.port)
    cleanup.push(async () => raw.destroy())
    const {sessionId} = await raw.handshake()
    // create payload = 47 + len(path) + len(data): exactly the limit is accepted...
    raw.request(1, ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/d', data: Buffer.alloc(1048526, 1), acl: OPEN, flags: 0}))
    assert.equal((await raw.reply(1)).err, 0)
    // ...one byte more is not: the connection is dropped without a reply.
    raw.request(2, ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/e', data: Buffer.alloc(1048527, 1), acl: OPEN, flags: 0}))
    await raw.waitClosed()
    assert.equal(raw.frames.length, 2)
    assert.ok(server.sessionIds().includes(sessionId), 'the session survives its connection')
    assert.equal((await bystander.getData('/d')).data?.length, 1048526)
    await bystander.create('/still-fine')
  })

  it('node-zookeeper-client sees connection loss for an oversized create and reconnects to the same session', async () => {
    const server = await startServer(cleanup)
    const zk = await connectClient(server, cleanup)
    const id = zk.sessionId
    await assert.rejects(zk.create('/huge', Buffer.alloc(1048576)), (e) => zkCode(e) === -4)
    await waitFor(async () => (await zk.create('/after').then(() => true, () => false)) || undefined, {what: 'reconnected'})
    assert.equal(zk.sessionId, id)
  })

  it('refuses connections above maxClientCnxns per address', async () => {
    const server = await startServer(cleanup, {maxClientCnxns: 3})
    const conns = await Promise.all([0, 1, 2].map(() => RawConn.open(server.port)))
    for (const c of conns) cleanup.push(async () => c.destroy())
    for (const c of conns) await c.handshake()
    const fourth = await RawConn.open(server.port)
    await fourth.waitClosed()
    assert.equal(server.stats().rejectedConnections, 1)
    conns[0]!.destroy()
    await waitFor(() => server.stats().connectionCount === 2)
    const again = await RawConn.open(server.port)
    cleanup.push(async () => again.destroy())
    assert.ok((await again.handshake()).timeOutMs > 0)
  })

  it('stops reading from a client that does not read its replies, and catches up in order when it does', async () => {
    const server = await startServer(cleanup, {outputBytesHighWater: 64 * 1024})
    const raw = await RawConn.open(server.port)
    cleanup.push(async () => raw.destroy())
    await raw.handshake()
    raw.request(1, ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/big', data: Buffer.alloc(512 * 1024, 7), acl: OPEN, flags: 0}))
    await raw.reply(1)
    raw.socket.pause()
    const n = 60
    for (let i = 0; i < n; i++) raw.request(100 + i, ZKOpCode.GET_DATA, (w) => encodePathWatchRequest(w, {path: '/big', watch: false}))
    await waitFor(() => server.stats().readPausedConnections === 1, {what: 'server stops reading the slow client'})
    const other = await connectClient(server, cleanup)
    await other.create('/others-unaffected')
    raw.socket.resume()
    await waitFor(() => raw.frames.length === 2 + n, {timeoutMs: 30_000, what: 'all replies'})
    const xids = raw.frames.slice(2).map((f) => f.readInt32BE(0))
    assert.deepEqual(xids, Array.from({length: n}, (_, i) => 100 + i))
    await waitFor(() => server.stats().readPausedConnections === 0)
  })

  it('answers ruok, srvr, stat and mntr; other words are refused as not whitelisted', async () => {
    const server = await startServer(cleanup)
    assert.equal(await fourLetter(server.port, 'ruok'), 'imok')
    const srvr = await fourLetter(server.port, 'srvr')
    assert.match(srvr, /^Zookeeper version: 3\.8\.0/)
    assert.match(srvr, /\nMode: standalone\n/)
    assert.match(srvr, /\nNode count: 5\n/, 'ZooKeeper counts 5 nodes in a fresh tree')
    assert.match(srvr, /\nZxid: 0x0\n/)
    const zk = await connectClient(server, cleanup)
    await zk.create('/x')
    const stat = await fourLetter(server.port, 'stat')
    assert.match(stat, /\nClients:\n \/127\.0\.0\.1:\d+\[1\]\(queued=0,recved=\d+,sent=\d+\)\n/)
    assert.match(stat, /\nNode count: 6\n/)
    const mntr = new Map((await fourLetter(server.port, 'mntr')).trimEnd().split('\n').map((l) => l.split('\t') as [string, string]))
    assert.equal(mntr.get('zk_server_state'), 'standalone')
    assert.equal(mntr.get('zk_znode_count'), '6')
    assert.equal(mntr.get('zk_num_alive_connections'), '2')
    assert.equal(mntr.get('zk_global_sessions'), '1')
    assert.equal(mntr.get('zk_approximate_data_size'), String(44 + 2))
    for (const k of ['zk_version', 'zk_outstanding_requests', 'zk_ephemerals_count', 'zk_watch_count', 'zk_avg_latency', 'zk_min_latency', 'zk_max_latency']) {
      assert.ok(mntr.has(k), k)
    }
    assert.equal(await fourLetter(server.port, 'conf'), 'conf is not executed because it is not in the whitelist.\n')
    const strict = await startServer(cleanup, {fourLetterWhitelist: ['ruok']})
    assert.equal(await fourLetter(strict.port, 'mntr'), 'mntr is not executed because it is not in the whitelist.\n')
    assert.match(await fourLetter(strict.port, 'srvr'), /Mode: standalone/, 'srvr is always answered')
    const all = await startServer(cleanup, {fourLetterWhitelist: ['*']})
    assert.match(await fourLetter(all.port, 'conf'), /^clientPort=\d+\ntickTime=2000\n/)
    assert.equal(await fourLetter(all.port, 'isro'), 'rw')
  })

  it('a start that cannot listen fails with the socket error and closes its store', async () => {
    const first = await startServer(cleanup)
    let closed = false
    const store = {
      recover: async () => ({txns: []}),
      append: async () => {},
      snapshot: async () => {},
      close: async () => {
        closed = true
      },
    }
    await assert.rejects(ZKServer.start({port: first.port, persistence: store}), (e) => (e as {code?: string}).code === 'EADDRINUSE')
    assert.ok(closed)
  })

  it('refuses nonsense options with a clear error', async () => {
    await assert.rejects(ZKServer.start({tickTimeMs: 0}), InvalidInputError)
    await assert.rejects(ZKServer.start({minSessionTimeoutMs: 5000, maxSessionTimeoutMs: 4000}), /exceeds maxSessionTimeoutMs/)
    await assert.rejects(ZKServer.start({port: 70000}), InvalidInputError)
  })
})
