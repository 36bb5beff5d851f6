import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {encodeCreateRequest, encodePathWatchRequest, OPEN_ACL_UNSAFE, ZKOpCode} from '../../../src/engine/protocol/jute/index.js'
import {waitFor} from '../../helpers/wait-for.js'
import {connectClient, RawConn, runCleanup, startServer, zookeeper} from './server-helpers.js'

const OPEN = [...OPEN_ACL_UNSAFE]

describe('zookeeper/server > sessions', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(() => runCleanup(cleanup))

  it('a dropped connection resumes its session: ephemerals survive and watches are re-armed', async () => {
    const server = await startServer(cleanup)
    const zk = await connectClient(server, cleanup)
    const other = await connectClient(server, cleanup)
    await zk.create('/keep', null, zookeeper.CreateMode.EPHEMERAL)
    await zk.create('/watched')
    const events: string[] = []
    await zk.getData('/watched', (e) => events.push(e.getName()))
    const id = zk.sessionId
    const reconnected = new Promise<void>((resolve) => zk.raw.once('connected', () => resolve()))
    server.closeAllConnections()
    await reconnected
    assert.equal(zk.sessionId, id, 'same session')
    assert.ok(await other.exists('/keep'), 'ephemeral survived the drop')
    await other.setData('/watched', Buffer.from('x'))
    await waitFor(() => events.length > 0, {what: 'watch re-armed by setWatches'})
    assert.deepEqual(events, ['NODE_DATA_CHANGED'])
  })

  it('an expired session loses its ephemerals, fires their watches and the client sees "expired"', async () => {
    const server = await startServer(cleanup, {tickTimeMs: 100})
    const zk = await connectClient(server, cleanup, {sessionTimeout: 2000})
    const watcher = await connectClient(server, cleanup)
    await zk.create('/gone', null, zookeeper.CreateMode.EPHEMERAL)
    const events: string[] = []
    await watcher.exists('/gone', (e) => events.push(`${e.getName()} ${e.getPath()}`))
    const expired = new Promise<void>((resolve) => zk.raw.once('expired', () => resolve()))
    assert.ok(server.expireSession(zk.sessionId))
    await expired
    assert.equal(await watcher.exists('/gone'), null)
    await waitFor(() => events.length > 0)
    assert.deepEqual(events, ['NODE_DELETED /gone'])
    assert.ok(!server.sessionIds().includes(zk.sessionId))
  })

  it('a silent session expires between T and T + tickTime after its last packet', async () => {
    const server = await startServer(cleanup, {tickTimeMs: 100})
    const watcher = await connectClient(server, cleanup)
    const raw = await RawConn.open(server.port)
    cleanup.push(async () => raw.destroy())
    const rsp = await raw.handshake({timeOutMs: 600})
    assert.equal(rsp.timeOutMs, 600)
    raw.request(1, ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/silent', data: null, acl: OPEN, flags: 1}))
    assert.equal((await raw.reply(1)).err, 0)
    const lastPacketMs = Date.now()
    const events: string[] = []
    await watcher.exists('/silent', (e) => events.push(e.getName()))
    await raw.waitClosed(5000)
    const elapsedMs = Date.now() - lastPacketMs
    assert.ok(elapsedMs >= 550, `expired after ${elapsedMs} ms, not before the timeout`)
    assert.ok(elapsedMs < 600 + 100 + 1500, `expired after ${elapsedMs} ms (timeout 600 + tick 100, load margin)`)
    assert.equal(await watcher.exists('/silent'), null)
    await waitFor(() => events.includes('NODE_DELETED'))
  })

  it('resumes by id and password on a new connection, closing the old one; a bad password gets the invalid-session answer', async () => {
    const server = await startServer(cleanup)
    const first = await RawConn.open(server.port)
    cleanup.push(async () => first.destroy())
    const created = await first.handshake({readOnly: false})
    assert.equal(created.bytes, 37, 'a request with the readOnly byte gets one back')
    assert.equal(created.readOnly, false)
    const second = await RawConn.open(server.port)
    cleanup.push(async () => second.destroy())
    const resumed = await second.handshake({sessionId: created.sessionId, passwd: created.passwd})
    assert.equal(resumed.bytes, 36, 'no readOnly byte for a request without it')
    assert.equal(resumed.sessionId, created.sessionId)
    await first.waitClosed()
    second.request(5, ZKOpCode.EXISTS, (w) => encodePathWatchRequest(w, {path: '/', watch: false}))
    assert.equal((await second.reply(1)).xid, 5, 'the resumed connection serves requests')

    const bad = await RawConn.open(server.port)
    const wrong = Buffer.from(created.passwd)
    wrong[0]! ^= 0xff
    const rsp = await bad.handshake({sessionId: created.sessionId, passwd: wrong})
    assert.deepEqual([rsp.timeOutMs, rsp.sessionId, rsp.passwd], [0, 0n, Buffer.alloc(16)])
    await bad.waitClosed()
    const unknown = await RawConn.open(server.port)
    const rsp2 = await unknown.handshake({sessionId: 12345n, passwd: Buffer.alloc(16)})
    assert.equal(rsp2.timeOutMs, 0)
    await unknown.waitClosed()
    assert.equal(second.closed, false, 'a failed resume attempt leaves the live connection alone')
  })

  it('closeSession replies and closes; the session is gone', async () => {
    const server = await startServer(cleanup)
    const raw = await RawConn.open(server.port)
    const rsp = await raw.handshake()
    raw.request(1, ZKOpCode.CLOSE_SESSION)
    const reply = await raw.reply(1)
    assert.deepEqual([reply.xid, reply.err], [1, 0])
    await raw.waitClosed()
    assert.ok(!server.sessionIds().includes(rsp.sessionId))
  })

  it('closes a connection that sends no ConnectRequest in time, and one that has seen a later zxid', async () => {
    const server = await startServer(cleanup, {sessionlessTimeoutMs: 300})
    const idle = await RawConn.open(server.port)
    const t0 = Date.now()
    await idle.waitClosed(5000)
    assert.ok(Date.now() - t0 >= 250)
    const ahead = await RawConn.open(server.port)
    await ahead.handshake({lastZxidSeen: 1_000_000n}).catch(() => undefined)
    await ahead.waitClosed()
    assert.equal(ahead.frames.length, 0, 'refused without a ConnectResponse')
    assert.equal(server.stats().sessionCount, 0)
  })
})
