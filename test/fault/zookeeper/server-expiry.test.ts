import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {ManualClock} from '../../../src/engine/common/clock.js'
import {encodeCreateRequest, OPEN_ACL_UNSAFE, ZKOpCode} from '../../../src/engine/protocol/jute/index.js'
import {waitFor} from '../../helpers/wait-for.js'
import {connectClient, RawConn, runCleanup, startServer, type ZK, zookeeper} from '../../integration/zookeeper/server-helpers.js'

const OPEN = [...OPEN_ACL_UNSAFE]

describe('zookeeper/server > session expiry and connection faults', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(() => runCleanup(cleanup))

  it('expires exactly in the tick bucket after the last packet (manual clock)', async () => {
    const clock = new ManualClock()
    const server = await startServer(cleanup, {clock, tickTimeMs: 1000})
    const raw = await RawConn.open(server.port)
    cleanup.push(async () => raw.destroy())
    const {sessionId} = await raw.handshake({timeOutMs: 5000})
    raw.request(1, ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/mine', data: null, acl: OPEN, flags: 1}))
    await raw.reply(1)
    clock.advance(4999)
    assert.ok(server.sessionIds().includes(sessionId), 'alive just before the timeout')
    raw.request(-2, ZKOpCode.PING)
    await raw.reply(2)
    // The ping at 4999 moved the deadline to the tick after 4999 + 5000, i.e. 10000.
    clock.advance(5000)
    assert.ok(server.sessionIds().includes(sessionId), 'alive 5000 ms after the ping')
    clock.advance(1)
    assert.ok(!server.sessionIds().includes(sessionId), 'expired at the bucket boundary (5001 ms after the ping)')
    assert.equal(server.stats().ephemeralCount, 0)
    await raw.waitClosed()
  })

  it('clients ride out repeated connection drops; expiring some sessions removes only their ephemerals', async () => {
    const server = await startServer(cleanup)
    const clients: ZK[] = []
    for (let i = 0; i < 8; i++) {
      const zk = await connectClient(server, cleanup)
      await zk.create(`/e${i}`, null, zookeeper.CreateMode.EPHEMERAL)
      clients.push(zk)
    }
    const ids = clients.map((c) => c.sessionId)
    for (let round = 0; round < 5; round++) {
      server.closeAllConnections()
      await waitFor(async () => {
        const ok = await Promise.all(clients.map((c) => c.exists(`/e0`).then(() => true, () => false)))
        return ok.every(Boolean) || undefined
      }, {timeoutMs: 20_000, what: `all clients back after drop ${round}`})
    }
    assert.deepEqual(clients.map((c) => c.sessionId), ids, 'every client kept its session')
    assert.equal(server.stats().ephemeralCount, 8)
    const deleted: string[] = []
    await clients[0]!.exists('/e5', (e) => deleted.push(e.getPath()))
    for (const i of [5, 6, 7]) assert.ok(server.expireSession(ids[i]!))
    assert.equal(server.expireSession(ids[5]!), false, 'already gone')
    await waitFor(() => deleted.length === 1)
    const left = (await clients[0]!.getChildren('/')).children.filter((c) => c.startsWith('e')).sort()
    assert.deepEqual(left, ['e0', 'e1', 'e2', 'e3', 'e4'])
    await waitFor(() => clients.slice(5).every((c) => c.states.includes('EXPIRED')), {what: 'expired clients told so'})
  })
})
