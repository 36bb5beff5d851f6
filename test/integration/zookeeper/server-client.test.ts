import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import type {Event} from 'node-zookeeper-client'

import {encodeCreateRequest, OPEN_ACL_UNSAFE, readStat, ZKOpCode} from '../../../src/engine/protocol/jute/index.js'
import type {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {waitFor} from '../../helpers/wait-for.js'
import {connectClient, RawConn, runCleanup, startServer, type ZK, zkCode, zookeeper} from './server-helpers.js'

const {CreateMode} = zookeeper

describe('zookeeper/server > node-zookeeper-client', () => {
  const cleanup: (() => Promise<void>)[] = []
  let server: ZKServer
  let zk: ZK

  before(async () => {
    server = await startServer(cleanup)
    zk = await connectClient(server, cleanup)
  })
  after(() => runCleanup(cleanup))

  it('starts with /zookeeper only and negotiates the session timeout into [2, 20] × tickTime', async () => {
    assert.deepEqual((await zk.getChildren('/')).children, ['zookeeper'])
    assert.equal(zk.raw.getSessionTimeout(), 30_000)
    const short = await connectClient(server, cleanup, {sessionTimeout: 1500})
    assert.equal(short.raw.getSessionTimeout(), 4000)
    const long = await connectClient(server, cleanup, {sessionTimeout: 10 * 60_000})
    assert.equal(long.raw.getSessionTimeout(), 40_000)
    assert.notEqual(short.sessionId, long.sessionId)
    await short.close()
    await long.close()
  })

  it('creates, reads, updates and deletes with versions and full stats', async () => {
    assert.equal(await zk.create('/crud', Buffer.from('v0')), '/crud')
    const {data, stat} = await zk.getData('/crud')
    assert.equal(data?.toString(), 'v0')
    assert.equal(stat.version, 0)
    assert.equal(stat.dataLength, 2)
    assert.equal(stat.czxid.readBigInt64BE(), stat.mzxid.readBigInt64BE())
    const s1 = await zk.setData('/crud', Buffer.from('v1'), 0)
    assert.equal(s1.version, 1)
    assert.ok(s1.mzxid.readBigInt64BE() > stat.mzxid.readBigInt64BE())
    await assert.rejects(zk.setData('/crud', Buffer.from('x'), 0), (e) => zkCode(e) === -103)
    await assert.rejects(zk.create('/crud'), (e) => zkCode(e) === -110)
    await assert.rejects(zk.getData('/missing'), (e) => zkCode(e) === -101)
    assert.equal(await zk.exists('/missing'), null)
    await zk.create('/crud/kid')
    await assert.rejects(zk.remove('/crud'), (e) => zkCode(e) === -111)
    await zk.remove('/crud/kid')
    await zk.remove('/crud', 1)
    assert.equal(await zk.exists('/crud'), null)
  })

  it('keeps null data (undefined) apart from an empty buffer', async () => {
    await zk.create('/nodata')
    await zk.create('/empty', Buffer.alloc(0))
    assert.equal((await zk.getData('/nodata')).data, undefined)
    assert.deepEqual((await zk.getData('/empty')).data, Buffer.alloc(0))
  })

  it('numbers sequential children per parent, counting every create and no delete', async () => {
    await zk.create('/seq')
    assert.equal(await zk.create('/seq/a-', null, CreateMode.PERSISTENT_SEQUENTIAL), '/seq/a-0000000000')
    await zk.create('/seq/plain')
    await zk.remove('/seq/a-0000000000')
    assert.equal(await zk.create('/seq/b-', null, CreateMode.EPHEMERAL_SEQUENTIAL), '/seq/b-0000000002')
    const {stat} = await zk.getChildren('/seq')
    assert.deepEqual([stat.cversion, stat.numChildren], [4, 2])
  })

  it('owns ephemerals by session and refuses children under them', async () => {
    await zk.create('/eph', null, CreateMode.EPHEMERAL)
    const stat = await zk.exists('/eph')
    assert.equal(stat?.ephemeralOwner.readBigInt64BE(), zk.sessionId)
    await assert.rejects(zk.create('/eph/kid'), (e) => zkCode(e) === -108)
    const other = await connectClient(server, cleanup)
    await other.create('/eph2', null, CreateMode.EPHEMERAL)
    await other.close()
    assert.equal(await zk.exists('/eph2'), null, 'closeSession removed it before close() finished')
    assert.ok(await zk.exists('/eph'))
  })

  it('commits multi atomically and reports the failing op like ZooKeeper', async () => {
    const results = await zk.multi((t) => t.create('/tx').create('/tx/a', Buffer.from('1')).setData('/tx/a', Buffer.from('2'), 0).check('/tx/a', 1))
    assert.deepEqual(results.map((r) => r.type), [1, 1, 5, 13])
    const failed = await zk.multi((t) => t.create('/tx/b').remove('/tx/nope').create('/tx/c')).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.equal(zkCode(failed), -101)
    assert.equal(await zk.exists('/tx/b'), null, 'nothing of the failed multi applied')
    assert.deepEqual((await zk.getChildren('/tx')).children, ['a'])
  })

  it('fires one-shot watches with the right types, notification before the write\'s reply', async () => {
    await zk.create('/w')
    const order: string[] = []
    const seen = (e: Event) => order.push(`${e.getName()} ${e.getPath()}`)
    await zk.getData('/w', seen)
    await zk.getChildren('/w', seen)
    await zk.exists('/w/new', seen)
    await zk.setData('/w', Buffer.from('x')).then(() => order.push('setData reply'))
    await zk.create('/w/new').then(() => order.push('create reply'))
    await zk.setData('/w', Buffer.from('y')).then(() => order.push('second setData reply'))
    assert.deepEqual(order, [
      'NODE_DATA_CHANGED /w',
      'setData reply',
      'NODE_CREATED /w/new',
      'NODE_CHILDREN_CHANGED /w',
      'create reply',
      'second setData reply',
    ])
    const other = await connectClient(server, cleanup)
    const events: string[] = []
    await other.getData('/w/new', (e) => events.push(e.getName()))
    await other.getChildren('/w/new', (e) => events.push(e.getName()))
    await zk.remove('/w/new')
    // One NodeDeleted on the wire (see the unit tests); the client hands it to both of its watchers.
    await waitFor(() => events.length >= 2)
    assert.deepEqual(events, ['NODE_DELETED', 'NODE_DELETED'])
    await other.close()
  })

  it('supports digest auth and ACLs', async () => {
    const owner = await connectClient(server, cleanup)
    owner.raw.addAuthInfo('digest', Buffer.from('alice:pw'))
    await owner.create('/acl', Buffer.from('s'), CreateMode.PERSISTENT, [new zookeeper.ACL(31, new zookeeper.Id('auth', ''))])
    const acl = await owner.getACL('/acl')
    assert.equal(acl[0]?.id.scheme, 'digest')
    assert.match(acl[0]!.id.id, /^alice:/)
    await assert.rejects(zk.getData('/acl'), (e) => zkCode(e) === -102)
    assert.equal((await owner.getData('/acl')).data?.toString(), 's')
    await owner.close()
  })

  it('reports counts in stats()', async () => {
    const s = server.stats()
    assert.ok(s.znodeCount >= 10)
    assert.ok(s.sessionCount >= 1)
    assert.ok(s.connectionCount >= 1)
    assert.equal(s.lastZxid, s.durableZxid)
    assert.equal(s.failure, undefined)
  })
})

describe('zookeeper/server > containers', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(() => runCleanup(cleanup))

  it('deletes a container once it is empty after having had children; an unused one stays', async () => {
    const server = await startServer(cleanup, {containerCheckIntervalMs: 50})
    const raw = await RawConn.open(server.port)
    cleanup.push(async () => raw.destroy())
    await raw.handshake()
    for (const [xid, path] of [[1, '/box'], [2, '/unused']] as const) {
      raw.request(xid, ZKOpCode.CREATE_CONTAINER, (w) => encodeCreateRequest(w, {path, data: null, acl: [...OPEN_ACL_UNSAFE], flags: 4}))
    }
    const created = await raw.reply(1)
    assert.equal(created.body.string(), '/box')
    assert.equal(readStat(created.body).ephemeralOwner, 0n, 'clients see 0 as the owner of a container')
    const zk = await connectClient(server, cleanup)
    await zk.create('/box/item')
    await zk.remove('/box/item')
    await waitFor(async () => (await zk.exists('/box')) === null || undefined, {what: 'container reaped'})
    assert.ok(await zk.exists('/unused'))
  })
})
