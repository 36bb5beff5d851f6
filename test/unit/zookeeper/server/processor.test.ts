import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {
  decodeGetChildren2Response,
  decodeGetDataResponse,
  decodeMultiResponse,
  decodeWatcherEvent,
  encodeAuthPacket,
  encodeCreateRequest,
  encodeMultiRequest,
  encodePathRequest,
  encodePathVersionRequest,
  encodePathWatchRequest,
  encodeSetACLRequest,
  encodeSetDataRequest,
  encodeSetWatches,
  type JuteWriter,
  JuteWriter as JuteWriterImpl,
  type MultiOp,
  OPEN_ACL_UNSAFE,
  readACLVector,
  readStat,
  type ZKACL,
  ZKCode,
  ZKOpCode,
  type ZKStat,
} from '../../../../src/engine/protocol/jute/index.js'
import {digestId} from '../../../../src/engine/zookeeper/server/acl.js'
import {type Client, dumpTree, Harness, type Reply} from './harness.js'

const OPEN = [...OPEN_ACL_UNSAFE]

function create(path: string, opts: {data?: Buffer | null; flags?: number; acl?: ZKACL[] | null} = {}) {
  return (w: JuteWriter) =>
    encodeCreateRequest(w, {path, data: opts.data === undefined ? null : opts.data, acl: opts.acl === undefined ? OPEN : opts.acl, flags: opts.flags ?? 0})
}
const pathVersion = (path: string, version = -1) => (w: JuteWriter) => encodePathVersionRequest(w, {path, version})
const pathWatch = (path: string, watch = false) => (w: JuteWriter) => encodePathWatchRequest(w, {path, watch})
const setData = (path: string, data: string | null, version = -1) => (w: JuteWriter) =>
  encodeSetDataRequest(w, {path, data: data === null ? null : Buffer.from(data), version})
const multi = (ops: MultiOp[]) => (w: JuteWriter) => encodeMultiRequest(w, ops)

function frameOf(xid: number, type: number, body: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriterImpl(64)
  const at = w.beginFrame()
  w.int(xid).int(type)
  body(w)
  w.endFrame(at)
  return w.finish()
}

function createdPath(c: Client, path: string, flags = 0): string {
  const r = c.call(ZKOpCode.CREATE, create(path, {flags}))
  assert.equal(r.err, 0, `create ${path}`)
  return r.body.string()
}

function err(c: Client, type: number, body: (w: JuteWriter) => void): number {
  return c.call(type, body).err
}

function statOf(c: Client, path: string): ZKStat {
  const r = c.call(ZKOpCode.EXISTS, pathWatch(path))
  assert.equal(r.err, 0, `exists ${path}`)
  return readStat(r.body)
}

function children(c: Client, path: string): string[] {
  const r = c.call(ZKOpCode.GET_CHILDREN2, pathWatch(path))
  assert.equal(r.err, 0)
  return decodeGetChildren2Response(r.body).children
}

function events(replies: Reply[]): string[] {
  return replies.map((r) => {
    if (r.xid !== -1) return `reply ${r.xid} err ${r.err}`
    const e = decodeWatcherEvent(r.body)
    return `event ${e.type} ${e.path}`
  })
}

describe('zookeeper/server > sequential nodes and cversion', () => {
  it('numbers with %010d of the parent child-create counter: shared by prefixes, not advanced by deletes or failures', () => {
    const h = new Harness()
    const c = h.connect()
    createdPath(c, '/p')
    assert.equal(createdPath(c, '/p/a-', 2), '/p/a-0000000000')
    createdPath(c, '/p/b')
    assert.equal(createdPath(c, '/p/x-', 2), '/p/x-0000000002', 'plain creates count too, across prefixes')
    assert.equal(err(c, ZKOpCode.DELETE, pathVersion('/p/a-0000000000')), 0)
    assert.equal(createdPath(c, '/p/a-', 3), '/p/a-0000000003', 'deletes do not advance; ephemeral sequential shares it')
    assert.equal(err(c, ZKOpCode.CREATE, create('/p/b')), ZKCode.NODE_EXISTS)
    assert.equal(createdPath(c, '/p/', 2), '/p/0000000004', 'a failed create does not advance; "/p/" + suffix is legal')
    const s = statOf(c, '/p')
    // 5 creates, 1 delete: clients see cversion = 2 * creates - numChildren = creates + deletes.
    assert.deepEqual([s.cversion, s.numChildren], [6, 4])
    assert.equal(err(c, ZKOpCode.CREATE, create('/p/')), ZKCode.BAD_ARGUMENTS, 'without the sequential flag "/p/" is invalid')
  })

  it('counts creates inside a multi; a failed multi leaves the counter and the children exactly as they were', () => {
    const h = new Harness()
    const c = h.connect()
    createdPath(c, '/m')
    for (let i = 0; i < 5; i++) createdPath(c, `/m/c${i}`)
    const before = dumpTree(h.db, {childOrder: true})
    const seq = (path: string): MultiOp => ({type: ZKOpCode.CREATE, request: {path, data: null, acl: OPEN, flags: 2}})
    // Nine creates grow the children's HashSet (8 → 16 → 32 buckets); the last op fails.
    const failing: MultiOp[] = [...Array.from({length: 9}, () => seq('/m/s-')), {type: ZKOpCode.DELETE, request: {path: '/nope', version: -1}}]
    const r = c.call(ZKOpCode.MULTI, multi(failing))
    assert.equal(r.err, 0, 'header err stays 0')
    assert.deepEqual(
      decodeMultiResponse(r.body).map((x) => (x.type === -1 ? x.err : 'ok')),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, ZKCode.NO_NODE],
    )
    assert.equal(dumpTree(h.db, {childOrder: true}), before, 'rolled back byte for byte, child order included')
    const ok = c.call(ZKOpCode.MULTI, multi([seq('/m/s-'), seq('/m/s-'), {type: ZKOpCode.DELETE, request: {path: '/m/c0', version: -1}}, seq('/m/t-')]))
    assert.deepEqual(
      decodeMultiResponse(ok.body).map((x) => ('path' in x ? x.path : x.type)),
      ['/m/s-0000000005', '/m/s-0000000006', ZKOpCode.DELETE, '/m/t-0000000007'],
    )
    const st = statOf(c, '/m')
    assert.deepEqual([st.cversion, st.numChildren], [2 * 8 - 7, 7])
    assert.equal(st.pzxid, ok.zxid, 'pzxid = the multi zxid')
  })

  it('at 2^31-1 the counter sticks, as in ZooKeeper\'s DataTree (only a larger cversion is taken)', () => {
    const h = new Harness()
    const c = h.connect()
    createdPath(c, '/o')
    h.db.tree.get('/o')!.cversion = 2147483646
    assert.equal(createdPath(c, '/o/n', 2), '/o/n2147483646')
    assert.equal(createdPath(c, '/o/n', 2), '/o/n2147483647')
    // The next counter value wraps to -2^31, which DataTree.createNode never stores: same name again.
    assert.equal(err(c, ZKOpCode.CREATE, create('/o/n', {flags: 2})), ZKCode.NODE_EXISTS)
    assert.equal(createdPath(c, '/o/m', 2), '/o/m2147483647')
  })

  it('pzxid moves with child creates and deletes; the root starts with cversion -1 like ZooKeeper', () => {
    const h = new Harness()
    const c = h.connect()
    const root = statOf(c, '/')
    assert.deepEqual([root.cversion, root.numChildren, root.czxid, root.pzxid], [-1, 1, 0n, 0n])
    assert.equal(statOf(c, '/zookeeper').cversion, -2)
    const r1 = c.call(ZKOpCode.CREATE2, create('/q'))
    const created = readStat((r1.body.string(), r1.body))
    assert.deepEqual([created.czxid, created.mzxid, created.pzxid], [r1.zxid, r1.zxid, r1.zxid])
    const r2 = c.call(ZKOpCode.CREATE, create('/q/k'))
    assert.equal(statOf(c, '/q').pzxid, r2.zxid)
    const r3 = c.call(ZKOpCode.DELETE, pathVersion('/q/k'))
    const s = statOf(c, '/q')
    assert.deepEqual([s.pzxid, s.cversion, s.numChildren, s.mzxid], [r3.zxid, 2, 0, r1.zxid])
  })
})

describe('zookeeper/server > data, versions and errors', () => {
  it('keeps null data apart from empty data', () => {
    const h = new Harness()
    const c = h.connect()
    c.call(ZKOpCode.CREATE, create('/n', {data: null}))
    c.call(ZKOpCode.CREATE, create('/e', {data: Buffer.alloc(0)}))
    const n = decodeGetDataResponse(c.call(ZKOpCode.GET_DATA, pathWatch('/n')).body)
    const e = decodeGetDataResponse(c.call(ZKOpCode.GET_DATA, pathWatch('/e')).body)
    assert.equal(n.data, null)
    assert.deepEqual(e.data, Buffer.alloc(0))
    assert.deepEqual([n.stat.dataLength, e.stat.dataLength], [0, 0])
    assert.equal(c.call(ZKOpCode.SET_DATA, setData('/e', null)).err, 0)
    assert.equal(decodeGetDataResponse(c.call(ZKOpCode.GET_DATA, pathWatch('/e')).body).data, null)
  })

  it('setData and delete honour versions (-1 = any); the version counter goes up by one', () => {
    const h = new Harness()
    const c = h.connect()
    c.call(ZKOpCode.CREATE, create('/v'))
    assert.equal(err(c, ZKOpCode.SET_DATA, setData('/v', 'a', 1)), ZKCode.BAD_VERSION)
    const r = c.call(ZKOpCode.SET_DATA, setData('/v', 'a', 0))
    const s = readStat(r.body)
    assert.deepEqual([s.version, s.mzxid, s.dataLength], [1, r.zxid, 1])
    assert.equal(err(c, ZKOpCode.SET_DATA, setData('/v', 'b', -1)), 0)
    assert.equal(err(c, ZKOpCode.DELETE, pathVersion('/v', 1)), ZKCode.BAD_VERSION)
    assert.equal(err(c, ZKOpCode.DELETE, pathVersion('/v', 2)), 0)
    assert.equal(err(c, ZKOpCode.CHECK, pathVersion('/v', 2)), ZKCode.NO_NODE)
  })

  it('checks create errors in ZooKeeper order', () => {
    const h = new Harness()
    const c = h.connect()
    assert.equal(err(c, ZKOpCode.CREATE, create('/x', {flags: 9})), ZKCode.BAD_ARGUMENTS, 'unknown flags')
    assert.equal(err(c, ZKOpCode.CREATE, create('/x', {flags: 5})), ZKCode.UNIMPLEMENTED, 'TTL disabled')
    assert.equal(err(c, ZKOpCode.CREATE, create('rel')), ZKCode.BAD_ARGUMENTS, 'no slash')
    assert.equal(err(c, ZKOpCode.CREATE, create('/missing/x', {acl: []})), ZKCode.INVALID_ACL, 'ACL before parent')
    assert.equal(err(c, ZKOpCode.CREATE, create('/missing/')), ZKCode.NO_NODE, 'parent before full path check')
    createdPath(c, '/a')
    assert.equal(err(c, ZKOpCode.CREATE, create('/a/')), ZKCode.BAD_ARGUMENTS)
    assert.equal(err(c, ZKOpCode.CREATE, create('/a/./b')), ZKCode.NO_NODE, 'parent "/a/." is looked up first')
    assert.equal(err(c, ZKOpCode.CREATE, create('/a/.')), ZKCode.BAD_ARGUMENTS)
    assert.equal(err(c, ZKOpCode.CREATE, create('/a/\u{1F600}')), ZKCode.BAD_ARGUMENTS, 'surrogates are refused like Java')
    assert.equal(err(c, ZKOpCode.CREATE, create('/a')), ZKCode.NODE_EXISTS)
    assert.equal(createdPath(c, '/eph', 1), '/eph')
    assert.equal(err(c, ZKOpCode.CREATE, create('/eph/kid')), ZKCode.NO_CHILDREN_FOR_EPHEMERALS)
    assert.equal(err(c, ZKOpCode.CREATE, create('/eph')), ZKCode.NODE_EXISTS, 'exists is checked before ephemeral parent')
    assert.equal(err(c, ZKOpCode.CREATE, create('/')), ZKCode.NODE_EXISTS)
    assert.equal(statOf(c, '/eph').ephemeralOwner, c.sessionId)
  })

  it('checks delete errors in ZooKeeper order and protects the system nodes', () => {
    const h = new Harness()
    const c = h.connect()
    for (const p of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      assert.equal(err(c, ZKOpCode.DELETE, pathVersion(p)), ZKCode.BAD_ARGUMENTS, p)
    }
    assert.equal(err(c, ZKOpCode.DELETE, pathVersion('nope')), ZKCode.BAD_ARGUMENTS)
    assert.equal(err(c, ZKOpCode.DELETE, pathVersion('/x/y')), ZKCode.NO_NODE)
    createdPath(c, '/d')
    createdPath(c, '/d/k')
    assert.equal(err(c, ZKOpCode.DELETE, pathVersion('/d', 3)), ZKCode.BAD_VERSION, 'version before emptiness')
    assert.equal(err(c, ZKOpCode.DELETE, pathVersion('/d', 0)), ZKCode.NOT_EMPTY)
    assert.equal(err(c, ZKOpCode.SET_DATA, setData('/d/', 'x')), ZKCode.BAD_ARGUMENTS)
  })

  it('answers reads of paths that are not valid with NONODE, as ZooKeeper does; exists refuses NUL', () => {
    const h = new Harness()
    const c = h.connect()
    assert.equal(err(c, ZKOpCode.GET_DATA, pathWatch('abc')), ZKCode.NO_NODE)
    assert.equal(err(c, ZKOpCode.GET_CHILDREN2, pathWatch('/a/')), ZKCode.NO_NODE)
    assert.equal(err(c, ZKOpCode.EXISTS, pathWatch('/a\u0000b')), ZKCode.BAD_ARGUMENTS)
  })
})

describe('zookeeper/server > multi', () => {
  it('reports 0 before the failing op, its code, then -2, and applies nothing', () => {
    const h = new Harness()
    const c = h.connect()
    createdPath(c, '/mu')
    const before = dumpTree(h.db)
    const zxidBefore = h.db.lastZxid
    const r = c.call(
      ZKOpCode.MULTI,
      multi([
        {type: ZKOpCode.CREATE, request: {path: '/mu/a', data: null, acl: OPEN, flags: 0}},
        {type: ZKOpCode.SET_DATA, request: {path: '/mu', data: Buffer.from('x'), version: -1}},
        {type: ZKOpCode.CHECK, request: {path: '/mu/zz', version: 0}},
        {type: ZKOpCode.DELETE, request: {path: '/mu', version: -1}},
      ]),
    )
    assert.deepEqual(decodeMultiResponse(r.body), [
      {type: -1, err: 0},
      {type: -1, err: 0},
      {type: -1, err: ZKCode.NO_NODE},
      {type: -1, err: ZKCode.RUNTIME_INCONSISTENCY},
    ])
    assert.equal(dumpTree(h.db), before)
    assert.equal(h.db.lastZxid, zxidBefore, 'a failed multi logs nothing')
  })

  it('sees its own earlier ops, returns per-op results and fires watches before its reply', () => {
    const h = new Harness()
    const c = h.connect()
    const w = h.connect()
    assert.equal(w.call(ZKOpCode.EXISTS, pathWatch('/t', true)).err, ZKCode.NO_NODE)
    const replies = c.request(
      ZKOpCode.MULTI,
      multi([
        {type: ZKOpCode.CREATE, request: {path: '/t', data: null, acl: OPEN, flags: 0}},
        {type: ZKOpCode.CREATE2, request: {path: '/t/k', data: Buffer.from('1'), acl: OPEN, flags: 0}},
        {type: ZKOpCode.SET_DATA, request: {path: '/t/k', data: Buffer.from('22'), version: 0}},
        {type: ZKOpCode.SET_DATA, request: {path: '/t/k', data: Buffer.from('333'), version: 1}},
        {type: ZKOpCode.CHECK, request: {path: '/t/k', version: 2}},
        {type: ZKOpCode.DELETE, request: {path: '/t/k', version: 2}},
      ]),
    )
    assert.equal(replies.length, 1)
    const results = decodeMultiResponse(replies[0]!.body)
    assert.deepEqual(results.map((x) => x.type), [1, 15, 5, 5, 13, 2])
    const [, c2, s1, s2] = results as [unknown, {stat: ZKStat}, {stat: ZKStat}, {stat: ZKStat}]
    assert.deepEqual([c2.stat.version, s1.stat.version, s2.stat.version], [0, 1, 2], 'each result is the stat at that step')
    assert.deepEqual([s1.stat.dataLength, s2.stat.dataLength], [2, 3])
    assert.deepEqual(events(w.replies()), ['event 1 /t'])
    assert.equal(h.txns.at(-1)!.txn.op.type, ZKOpCode.MULTI)
  })
})

describe('zookeeper/server > watches', () => {
  it('delivers a write\'s notifications before its reply, once per (connection, path, event)', () => {
    const h = new Harness()
    const c = h.connect()
    createdPath(c, '/w')
    c.call(ZKOpCode.GET_DATA, pathWatch('/w', true))
    c.call(ZKOpCode.EXISTS, pathWatch('/w', true))
    c.call(ZKOpCode.GET_CHILDREN2, pathWatch('/', true))
    assert.deepEqual(events(c.request(ZKOpCode.SET_DATA, setData('/w', 'x'), 50)), ['event 3 /w', 'reply 50 err 0'])
    assert.deepEqual(events(c.request(ZKOpCode.SET_DATA, setData('/w', 'y'), 51)), ['reply 51 err 0'], 'one-shot')
    c.call(ZKOpCode.GET_DATA, pathWatch('/w', true))
    c.call(ZKOpCode.GET_CHILDREN2, pathWatch('/w', true))
    assert.deepEqual(events(c.request(ZKOpCode.DELETE, pathVersion('/w'), 52)), [
      'event 2 /w',
      'event 4 /',
      'reply 52 err 0',
    ])
  })

  it('exists on a missing node arms a watch that fires NodeCreated; child watches fire NodeChildrenChanged', () => {
    const h = new Harness()
    const a = h.connect()
    const b = h.connect()
    assert.equal(b.call(ZKOpCode.EXISTS, pathWatch('/late', true)).err, ZKCode.NO_NODE)
    assert.equal(b.call(ZKOpCode.GET_DATA, pathWatch('/late2', true)).err, ZKCode.NO_NODE, 'getData on a missing node sets no watch')
    b.call(ZKOpCode.GET_CHILDREN2, pathWatch('/', true))
    createdPath(a, '/late')
    createdPath(a, '/late2')
    assert.deepEqual(events(b.replies()), ['event 1 /late', 'event 4 /'])
    assert.equal(h.dataWatches.size + h.childWatches.size, 0)
  })

  it('setWatches fires what changed since relativeZxid and re-arms the rest', () => {
    const h = new Harness()
    const a = h.connect()
    createdPath(a, '/same')
    createdPath(a, '/changed')
    createdPath(a, '/kids')
    const rel = h.db.lastZxid
    a.call(ZKOpCode.SET_DATA, setData('/changed', 'z'))
    createdPath(a, '/kids/k')
    createdPath(a, '/born')
    const b = h.connect()
    const replies = b.request(
      ZKOpCode.SET_WATCHES,
      (w) =>
        encodeSetWatches(w, {
          relativeZxid: BigInt(rel),
          dataWatches: ['/same', '/changed', '/gone'],
          existWatches: ['/born', '/unborn'],
          childWatches: ['/kids', '/same', '/gone2'],
        }),
      7,
    )
    assert.deepEqual(events(replies), [
      'event 3 /changed',
      'event 2 /gone',
      'event 1 /born',
      'event 4 /kids',
      'event 2 /gone2',
      'reply 7 err 0',
    ])
    assert.ok(h.dataWatches.has('/same', b.conn) && h.dataWatches.has('/unborn', b.conn) && h.childWatches.has('/same', b.conn))
    a.call(ZKOpCode.SET_DATA, setData('/same', 'q'))
    assert.deepEqual(events(b.replies()), ['event 3 /same'])
  })

  it('drops a closed connection\'s watches', () => {
    const h = new Harness()
    const a = h.connect()
    a.call(ZKOpCode.EXISTS, pathWatch('/x', true))
    a.call(ZKOpCode.GET_CHILDREN2, pathWatch('/', true))
    assert.equal(h.dataWatches.size + h.childWatches.size, 2)
    a.conn.close('test')
    assert.equal(h.dataWatches.size + h.childWatches.size, 0)
  })
})

describe('zookeeper/server > sessions, auth and odd requests', () => {
  it('closeSession deletes the session\'s ephemerals (firing watches) before replying, then closes', () => {
    const h = new Harness()
    const a = h.connect()
    const b = h.connect()
    createdPath(a, '/e1', 1)
    createdPath(a, '/e2', 3)
    b.call(ZKOpCode.EXISTS, pathWatch('/e1', true))
    const r = a.request(ZKOpCode.CLOSE_SESSION, () => {}, 9)
    assert.deepEqual(events(r), ['reply 9 err 0'])
    assert.equal(r[0]!.zxid, BigInt(h.db.lastZxid), 'reply zxid = the close txn')
    assert.equal(h.db.tree.get('/e1'), undefined)
    assert.equal(h.db.tree.ephemerals.size, 0)
    assert.ok(a.socket.destroyed)
    assert.deepEqual(events(b.replies()), ['event 2 /e1'])
  })

  it('digest auth: ACLs with auth ids, NOAUTH for others, masked digests without ADMIN', () => {
    const h = new Harness()
    const owner = h.connect()
    const r = owner.call(ZKOpCode.AUTH, (w) => encodeAuthPacket(w, {type: 0, scheme: 'digest', auth: Buffer.from('alice:secret')}))
    assert.deepEqual([r.xid, r.zxid, r.err], [0, 0n, 0])
    const auth = [{perms: 31, id: {scheme: 'auth', id: ''}}]
    assert.equal(err(owner, ZKOpCode.CREATE, create('/s', {acl: auth, data: Buffer.from('x')})), 0)
    const acl = readACLVector(owner.call(ZKOpCode.GET_ACL, (w) => encodePathRequest(w, {path: '/s'})).body)
    assert.deepEqual(acl, [{perms: 31, id: {scheme: 'digest', id: digestId('alice:secret')}}])
    const other = h.connect()
    assert.equal(err(other, ZKOpCode.CREATE, create('/t', {acl: auth})), ZKCode.INVALID_ACL, 'no digest id to expand "auth" to')
    assert.equal(err(other, ZKOpCode.GET_DATA, pathWatch('/s')), ZKCode.NO_AUTH)
    assert.equal(err(other, ZKOpCode.SET_DATA, setData('/s', 'y')), ZKCode.NO_AUTH)
    assert.equal(err(other, ZKOpCode.CREATE, create('/s/k')), ZKCode.NO_AUTH)
    assert.equal(err(other, ZKOpCode.GET_ACL, (w) => encodePathRequest(w, {path: '/s'})), ZKCode.NO_AUTH)
    // READ only: getACL works but shows the digest masked.
    owner.call(ZKOpCode.SET_ACL, (w) =>
      encodeSetACLRequest(w, {path: '/s', acl: [{perms: 1, id: {scheme: 'world', id: 'anyone'}}, auth[0]!], version: 0}),
    )
    const masked = readACLVector(other.call(ZKOpCode.GET_ACL, (w) => encodePathRequest(w, {path: '/s'})).body)
    assert.deepEqual(masked?.map((a) => a.id.id), ['anyone', 'alice:x'])
    assert.equal(err(other, ZKOpCode.SET_ACL, (w) => encodeSetACLRequest(w, {path: '/s', acl: OPEN, version: -1})), ZKCode.NO_AUTH)
    const ip = h.connect()
    assert.equal(err(ip, ZKOpCode.CREATE, create('/ip', {acl: [{perms: 31, id: {scheme: 'ip', id: '127.0.0.0/8'}}]})), 0)
    assert.equal(err(ip, ZKOpCode.GET_DATA, pathWatch('/ip')), 0, 'ip ACL matches the connection address')
  })

  it('an auth scheme ZooKeeper does not know fails with AUTHFAILED and the connection closes', () => {
    const h = new Harness()
    const c = h.connect()
    const r = c.call(ZKOpCode.AUTH, (w) => encodeAuthPacket(w, {type: 0, scheme: 'kerberos', auth: Buffer.from('x')}))
    assert.equal(r.err, ZKCode.AUTH_FAILED)
    assert.ok(c.socket.destroyed)
  })

  it('unknown ops get UNIMPLEMENTED (zxid -1) and close; known-but-absent ops and bad bodies keep the connection', () => {
    const h = new Harness()
    const c = h.connect()
    const bad = c.call(ZKOpCode.CREATE, (w) => w.int(5))
    assert.equal(bad.err, ZKCode.MARSHALLING_ERROR)
    assert.equal(c.call(ZKOpCode.ADD_WATCH, (w) => w.ustring('/').int(0)).err, ZKCode.UNIMPLEMENTED)
    assert.equal(c.call(ZKOpCode.CREATE_TTL, (w) => {
      encodeCreateRequest(w, {path: '/ttl', data: null, acl: OPEN, flags: 5})
      w.long(1000n)
    }).err, ZKCode.UNIMPLEMENTED)
    assert.equal(c.socket.destroyed, false)
    const u = c.call(99)
    assert.deepEqual([u.err, u.zxid], [ZKCode.UNIMPLEMENTED, -1n])
    assert.ok(c.socket.destroyed)
  })

  it('pings, syncs and stamps every reply with the last applied zxid', () => {
    const h = new Harness()
    const c = h.connect()
    const created = c.call(ZKOpCode.CREATE, create('/z'))
    assert.equal(created.zxid, BigInt(h.db.lastZxid))
    const ping = c.request(ZKOpCode.PING, () => {}, -2)[0]!
    assert.deepEqual([ping.xid, ping.zxid, ping.err, ping.body.remaining()], [-2, created.zxid, 0, 0])
    const sync = c.call(ZKOpCode.SYNC, (w) => encodePathRequest(w, {path: '/anything'}))
    assert.equal(sync.body.string(), '/anything')
    const failed = c.call(ZKOpCode.CREATE, create('/z'))
    assert.deepEqual([failed.err, failed.zxid, failed.body.remaining()], [ZKCode.NODE_EXISTS, created.zxid, 0])
  })

  it('holds replies (reads included) until the txns they follow are durable, keeping request order', () => {
    const h = new Harness()
    const c = h.connect()
    h.autoDurable = false
    const other = h.connect()
    h.makeDurable()
    assert.deepEqual(c.request(ZKOpCode.CREATE, create('/d'), 1), [])
    assert.deepEqual(other.request(ZKOpCode.GET_DATA, pathWatch('/d'), 2), [], 'a read that sees /d waits too')
    assert.deepEqual(c.request(ZKOpCode.GET_DATA, pathWatch('/d'), 3), [])
    assert.equal(c.conn.outstanding, 2)
    h.makeDurable()
    assert.deepEqual(events(c.replies()), ['reply 1 err 0', 'reply 3 err 0'])
    assert.deepEqual(events(other.replies()), ['reply 2 err 0'])
  })

  it('answers getChildren (8) without a stat and getAllChildrenNumber, getEphemerals, whoAmI', () => {
    const h = new Harness()
    const c = h.connect()
    createdPath(c, '/g')
    createdPath(c, '/g/a', 1)
    createdPath(c, '/g/b')
    const r = c.call(ZKOpCode.GET_CHILDREN, pathWatch('/g'))
    assert.deepEqual(r.body.stringVector(), ['a', 'b'])
    assert.equal(r.body.remaining(), 0)
    assert.deepEqual(children(c, '/').sort(), ['g', 'zookeeper'])
    assert.equal(c.call(ZKOpCode.GET_ALL_CHILDREN_NUMBER, (w) => encodePathRequest(w, {path: '/g'})).body.int(), 2)
    assert.deepEqual(c.call(ZKOpCode.GET_EPHEMERALS, (w) => encodePathRequest(w, {path: '/g'})).body.stringVector(), ['/g/a'])
    const who = c.call(ZKOpCode.WHO_AM_I).body
    assert.deepEqual([who.int(), who.string(), who.string()], [1, 'ip', '127.0.0.1'])
  })

  it('closes a connection whose unsent output passes outputBytesMax instead of buffering without bound', () => {
    const h = new Harness()
    h.limits.outputBytesMax = 10_000
    const c = h.connect()
    c.call(ZKOpCode.CREATE, create('/blob', {data: Buffer.alloc(4000)}))
    c.socket.stalled = true // the client stopped reading: the socket keeps what it could not send
    c.request(ZKOpCode.GET_DATA, pathWatch('/blob'))
    c.request(ZKOpCode.GET_DATA, pathWatch('/blob'))
    assert.equal(c.socket.destroyed, false, 'two replies (8 KB) fit')
    c.request(ZKOpCode.GET_DATA, pathWatch('/blob'))
    assert.ok(c.socket.destroyed)
    assert.ok(h.logLines.some((l) => l.message === 'closing connection' && String(l.attrs.reason).includes('client not reading')))
  })

  it('stops reading while too many replies wait for durability, and resumes as they are released', () => {
    const h = new Harness()
    h.limits.outstandingRequestsMax = 3
    const c = h.connect()
    h.autoDurable = false
    for (let i = 0; i < 5; i++) c.sendBytes(frameOf(i, ZKOpCode.CREATE, create(`/o${i}`)))
    assert.equal(c.conn.outstanding, 3)
    assert.ok(c.socket.paused && c.conn.isReadPaused)
    h.makeDurable()
    // The harness flushes synchronously; released replies let the connection read the last two.
    assert.equal(c.conn.isReadPaused, false)
    h.makeDurable()
    assert.deepEqual(events(c.replies()), [0, 1, 2, 3, 4].map((i) => `reply ${i} err 0`))
  })

  it('keeps a large child list\'s encoding in step with creates, deletes and rolled-back multis', () => {
    const name = fc.oneof(fc.stringMatching(/^[a-c]{1,2}-[0-9]$/), fc.constantFrom('é1', '日本', 'ß', 'base-3', 'base-7'))
    const op = fc.oneof(
      fc.record({kind: fc.constant('create' as const), name, seq: fc.boolean()}),
      fc.record({kind: fc.constant('delete' as const), name}),
      fc.record({kind: fc.constant('failedMulti' as const), names: fc.array(name, {maxLength: 12})}),
      fc.record({kind: fc.constant('read' as const)}),
      fc.record({kind: fc.constant('read' as const)}),
    )
    fc.assert(
      fc.property(fc.array(op, {minLength: 1, maxLength: 120}), (ops) => {
        const h = new Harness()
        const c = h.connect()
        createdPath(c, '/p')
        for (let i = 0; i < 20; i++) createdPath(c, `/p/base-${i}`)
        for (const o of ops) {
          if (o.kind === 'create') c.request(ZKOpCode.CREATE, create(`/p/${o.name}`, {flags: o.seq ? 2 : 0}))
          else if (o.kind === 'delete') c.request(ZKOpCode.DELETE, pathVersion(`/p/${o.name}`))
          else if (o.kind === 'failedMulti') {
            c.request(ZKOpCode.MULTI, multi([
              ...o.names.map((n): MultiOp => ({type: ZKOpCode.CREATE, request: {path: `/p/m-${n}`, data: null, acl: OPEN, flags: 2}})),
              {type: ZKOpCode.DELETE, request: {path: '/p/base-0', version: 99}},
            ]))
          }
          if (o.kind !== 'read' && o.kind !== 'create') continue
          assert.deepEqual(children(c, '/p'), h.db.tree.get('/p')!.children!.toArray())
        }
        assert.deepEqual(children(c, '/p'), h.db.tree.get('/p')!.children!.toArray())
      }),
      {numRuns: 150},
    )
  })
})
