/**
 * ZooKeeper compatibility suite, node-zookeeper-client side: the SAME checks run against our server
 * and against real Apache ZooKeeper 3.8 (started per reference/zookeeper.md recipe A). A check that
 * fails on real ZooKeeper is a wrong check. The real half is skipped (with the reason) when ZooKeeper
 * is not installed, unless DLOG_REQUIRE_REAL_ZK=1.
 *
 * The checks go through our facade (ZKClient, itself node-zookeeper-client 1.1.3) and, where the
 * library's own behaviour is the point (null data, exists → null, session hijack), through
 * node-zookeeper-client directly.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import nzk from 'node-zookeeper-client'

import {
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  oneShotWatch,
  type WatchEvent,
  ZKClient,
  type ZKClientOptions,
} from '../../../src/engine/index.js'
import {fourLetterWord, ourServerSkip, realZooKeeperSkip, startTarget, type ZKTarget} from '../../helpers/real-zookeeper.js'
import {waitFor} from '../../helpers/wait-for.js'

// tickTime 500 → negotiated session timeouts in [1000, 10000] ms, so expiry checks take ~1-2 s.
const TICK_MS = 500

interface Ctx {
  target: ZKTarget
  connect(opts?: Partial<ZKClientOptions>): Promise<ZKClient>
  raw(opts?: Partial<nzk.Option>): Promise<nzk.Client>
}

function rawCall<T>(fn: (cb: (err: unknown, res: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))))
}

/** java.util.HashSet<String>(8) iteration order after `ops` (the order ZooKeeper's getChildren returns). */
function javaHashSetOrder(ops: readonly (readonly ['add' | 'remove', string])[]): string[] {
  const hash = (s: string) => {
    let h = 0
    for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
    return h ^ (h >>> 16)
  }
  let capacity = 8
  const items: string[] = []
  for (const [op, name] of ops) {
    if (op === 'add' && !items.includes(name)) {
      items.push(name)
      if (items.length > 0.75 * capacity) capacity *= 2
    } else if (op === 'remove') items.splice(items.indexOf(name), 1)
  }
  // Within a bucket, entries keep insertion order (resizes split buckets preserving it): a stable sort.
  return items.map((name, i) => ({name, i, b: hash(name) & (capacity - 1)})).sort((x, y) => x.b - y.b || x.i - y.i).map((x) => x.name)
}

const CHECKS: {name: string; run(ctx: Ctx): Promise<void>}[] = [
  {
    name: 'session basics: id, negotiated timeout clamped to [2, 20] × tickTime, root children',
    async run({connect}) {
      const a = await connect({sessionTimeoutMs: 200})
      const b = await connect({sessionTimeoutMs: 600_000})
      assert.match(a.sessionId, /^0x[0-9a-f]+$/)
      assert.notEqual(a.sessionIdBigInt, 0n)
      assert.notEqual(a.sessionIdBigInt, b.sessionIdBigInt)
      assert.equal(a.sessionTimeoutMs, 2 * TICK_MS)
      assert.equal(b.sessionTimeoutMs, 20 * TICK_MS)
      assert.ok((await a.getChildren('/')).includes('zookeeper'))
      assert.deepEqual((await a.getChildren('/zookeeper')).sort(), ['config', 'quota'])
    },
  },
  {
    name: 'create modes and sequential suffixes (shared counter, not advanced by deletes)',
    async run({connect}) {
      const zk = await connect()
      await zk.create('/seq')
      assert.equal(await zk.create('/seq/a'), '/seq/a')
      assert.equal(await zk.create('/seq/s-', 'x', 'persistent_sequential'), '/seq/s-0000000001')
      assert.equal(await zk.create('/seq/e', null, 'ephemeral'), '/seq/e')
      assert.equal(await zk.create('/seq/q', null, 'ephemeral_sequential'), '/seq/q0000000003')
      await zk.delete('/seq/a')
      await zk.delete('/seq/s-0000000001')
      assert.equal(await zk.create('/seq/s-', null, 'persistent_sequential'), '/seq/s-0000000004')
      // A failed create does not advance the counter.
      await assert.rejects(zk.create('/seq/e'), NodeExistsError)
      assert.equal(await zk.create('/seq/', null, 'persistent_sequential').catch((e: Error) => e.name), 'BadArgumentsError')
      assert.equal(await zk.create('/seq/t', null, 'persistent_sequential'), '/seq/t0000000005')
      const stat = await zk.exists('/seq')
      // cversion = creates + deletes = 6 + 2; numChildren 4; next suffix = (cversion + numChildren) / 2.
      assert.equal(stat?.cversion, 8)
      assert.equal(stat?.numChildren, 4)
      // A sequential create in a multi uses the same counter.
      const [r] = await zk.transaction().create('/seq/m', null, 'persistent_sequential').commit()
      assert.deepEqual(r, {type: 'create', path: '/seq/m0000000006'})
    },
  },
  {
    name: 'Stat fields: zxids, versions, pzxid, ephemeralOwner, times, dataLength',
    async run({connect}) {
      const zk = await connect()
      const before = Date.now()
      await zk.create('/st', 'abc')
      const s0 = (await zk.exists('/st'))!
      assert.equal(s0.czxid, s0.mzxid)
      assert.equal(s0.pzxid, s0.czxid)
      assert.equal(s0.version, 0)
      assert.equal(s0.cversion, 0)
      assert.equal(s0.aversion, 0)
      assert.equal(s0.ephemeralOwner, 0n)
      assert.equal(s0.dataLength, 3)
      assert.equal(s0.numChildren, 0)
      assert.equal(s0.ctimeMs, s0.mtimeMs)
      assert.ok(s0.ctimeMs >= before - 5_000 && s0.ctimeMs <= Date.now() + 5_000, 'ctime is wall-clock ms')
      const s1 = await zk.setData('/st', 'hello', 0)
      assert.equal(s1.version, 1)
      assert.ok(s1.mzxid > s0.mzxid)
      assert.equal(s1.czxid, s0.czxid)
      assert.equal(s1.pzxid, s0.pzxid, 'setData does not move pzxid')
      assert.equal(s1.dataLength, 5)
      assert.equal(s1.cversion, 0)
      await zk.create('/st/c', null, 'ephemeral')
      const s2 = (await zk.exists('/st'))!
      assert.ok(s2.pzxid > s1.mzxid, 'child create moves pzxid')
      assert.equal(s2.mzxid, s1.mzxid, 'child create does not move mzxid')
      assert.equal(s2.version, 1)
      assert.equal(s2.cversion, 1)
      assert.equal(s2.numChildren, 1)
      const child = (await zk.exists('/st/c'))!
      assert.equal(child.ephemeralOwner, zk.sessionIdBigInt)
      assert.equal(child.pzxid, child.czxid)
      await zk.delete('/st/c')
      const s3 = (await zk.exists('/st'))!
      assert.ok(s3.pzxid > s2.pzxid, 'child delete moves pzxid')
      assert.equal(s3.cversion, 2, 'cversion counts deletes too')
      assert.equal(s3.numChildren, 0)
      // Data of a getData reply and the Stat it carries agree.
      const {data, stat} = await zk.getData('/st')
      assert.equal(data?.toString(), 'hello')
      assert.deepEqual(stat, s3)
    },
  },
  {
    name: 'null data vs empty data (node-zookeeper-client: undefined vs empty Buffer)',
    async run({connect, raw}) {
      const zk = await connect()
      await zk.create('/nd')
      await zk.create('/nd/null')
      await zk.create('/nd/empty', Buffer.alloc(0))
      assert.equal((await zk.getData('/nd/null')).data, undefined)
      assert.deepEqual((await zk.getData('/nd/empty')).data, Buffer.alloc(0))
      assert.equal((await zk.getData('/nd/null')).stat.dataLength, 0)
      await zk.setData('/nd/empty', null)
      assert.equal((await zk.getData('/nd/empty')).data, undefined)
      // The library itself: exists() of a missing node is null, not an error.
      const r = await raw()
      assert.equal(await rawCall<unknown>((cb) => r.exists('/nd/missing', cb as never)), null)
      const [d] = await new Promise<[Buffer | undefined]>((res, rej) => r.getData('/nd/null', (e, data) => (e ? rej(e) : res([data]))))
      assert.equal(d, undefined)
    },
  },
  {
    name: 'getChildren order is java.util.HashSet order (incl. after deletes and table growth)',
    async run({connect}) {
      const zk = await connect()
      await zk.create('/ord')
      const ops: ['add' | 'remove', string][] = []
      for (let i = 0; i < 30; i++) ops.push(['add', `node-${i}`])
      for (let i = 0; i < 30; i += 3) ops.push(['remove', `node-${i}`])
      for (const n of ['zz', 'a', 'member_0000000000', '127.0.0.1:3181', 'readonly']) ops.push(['add', n])
      const t = zk.transaction()
      for (const [op, name] of ops) {
        if (op === 'add') t.create(`/ord/${name}`)
        else t.delete(`/ord/${name}`)
      }
      await t.commit()
      assert.deepEqual(await zk.getChildren('/ord'), javaHashSetOrder(ops))
      // Same order when built one request at a time.
      await zk.create('/ord2')
      for (const [op, name] of ops.slice(0, 12)) {
        if (op === 'add') await zk.create(`/ord2/${name}`)
      }
      await zk.delete('/ord2/node-4')
      await zk.create('/ord2/node-4')
      const expected = javaHashSetOrder([...ops.slice(0, 12), ['remove', 'node-4'], ['add', 'node-4']])
      assert.deepEqual(await zk.getChildren('/ord2'), expected)
    },
  },
  {
    name: 'multi: per-op results on success; on failure nothing applies and codes are [0, err, -2]',
    async run({connect}) {
      const zk = await connect()
      await zk.create('/mu', 'v0')
      const results = await zk.transaction().check('/mu', 0).create('/mu/a', 'x').setData('/mu', 'v1', 0).delete('/mu/a').commit()
      assert.equal(results.length, 4)
      assert.deepEqual(results[0], {type: 'check'})
      assert.deepEqual(results[1], {type: 'create', path: '/mu/a'})
      assert.equal(results[2]?.type, 'setData')
      assert.equal(results[2]?.type === 'setData' && results[2].stat.version, 1)
      assert.deepEqual(results[3], {type: 'delete'})
      // Failure in the middle: typed error of the failing op, nothing applied.
      const err = await zk
        .transaction()
        .create('/mu/b')
        .setData('/mu/missing', 'x')
        .create('/mu/c')
        .commit()
        .then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof NoNodeError)
      assert.equal(err.path, '/mu/missing')
      assert.deepEqual(err.multi, {opIndex: 1, codes: [0, -101, -2]})
      assert.equal(await zk.exists('/mu/b'), null)
      assert.equal(await zk.exists('/mu/c'), null)
      // check with version 0 is a real check (the node-zookeeper-client 0 → -1 quirk is undone).
      const e2 = await zk.transaction().check('/mu', 0).create('/mu/d').commit().then(() => undefined, (e: unknown) => e)
      assert.ok(e2 instanceof BadVersionError)
      assert.deepEqual(e2.multi?.codes, [-103, -2])
      await assert.rejects(zk.transaction().delete('/mu', 0).commit(), BadVersionError)
      assert.equal((await zk.transaction().check('/mu', 1).commit()).length, 1)
    },
  },
  {
    name: 'watches: one-shot, event types, order created→childrenChanged, notification before the reply',
    async run({connect}) {
      const a = await connect()
      const b = await connect()
      await a.create('/wt')
      const seen: string[] = []
      const record = (tag: string) => (e: WatchEvent) => seen.push(`${tag}:${e.type}:${e.path}`)
      assert.equal(await a.exists('/wt/x', record('exists')), null)
      await a.getChildren('/wt', record('children'))
      await b.create('/wt/x', 'v')
      await waitFor(() => seen.length >= 2, {what: 'create notifications'})
      assert.deepEqual(seen, ['exists:created:/wt/x', 'children:childrenChanged:/wt'])
      // Own write: the notification arrives before the write's reply.
      seen.length = 0
      await a.getData('/wt/x', record('data'))
      await a.setData('/wt/x', 'w')
      seen.push('reply')
      assert.deepEqual(seen, ['data:dataChanged:/wt/x', 'reply'])
      // One-shot: a second change fires nothing.
      await a.setData('/wt/x', 'z')
      // Delete fires NodeDeleted on the node's data and child watchers and ChildrenChanged on the parent.
      seen.length = 0
      await a.getData('/wt/x', record('data'))
      await a.getChildren('/wt/x', record('kids'))
      await a.getChildren('/wt', record('parent'))
      await b.delete('/wt/x')
      await waitFor(() => seen.length >= 3, {what: 'delete notifications'})
      assert.deepEqual(seen.slice().sort(), ['data:deleted:/wt/x', 'kids:deleted:/wt/x', 'parent:childrenChanged:/wt'].sort())
      // A watch as a promise.
      const w = oneShotWatch()
      await a.exists('/wt/y', w.watcher)
      await b.create('/wt/y')
      assert.deepEqual(await w.event, {type: 'created', path: '/wt/y'})
    },
  },
  {
    name: 'ephemerals: removed when the session closes, before close() returns; no children allowed',
    async run({connect}) {
      const a = await connect()
      const b = await connect()
      await b.create('/eph')
      await a.create('/eph/e', 'x', 'ephemeral')
      await assert.rejects(a.create('/eph/e/c'), NoChildrenForEphemeralsError)
      const w = oneShotWatch()
      assert.ok(await b.exists('/eph/e', w.watcher))
      await a.close()
      assert.equal(await b.exists('/eph/e'), null)
      assert.deepEqual(await w.event, {type: 'deleted', path: '/eph/e'})
    },
  },
  {
    name: 'expiry: a silent session expires within (T, T + tickTime] and its ephemerals go',
    async run({connect, raw}) {
      const watcher = await connect()
      const silent = await raw({sessionTimeout: 2 * TICK_MS})
      await watcher.create('/exp')
      // The server hears from `silent` no earlier than this (its create), so expiry cannot come before + T.
      const tSent = Date.now()
      await rawCall((cb) => silent.create('/exp/e', nzk.CreateMode.EPHEMERAL, cb))
      const w = oneShotWatch()
      assert.ok(await watcher.exists('/exp/e', w.watcher))
      // Go silent: drop the socket and stop the library from reconnecting. No packet after this.
      const cm = (silent as unknown as {connectionManager: {connect(): void; socket: {destroy(): void}}}).connectionManager
      cm.connect = () => {}
      const tSilent = Date.now()
      cm.socket.destroy()
      assert.deepEqual(await w.event, {type: 'deleted', path: '/exp/e'})
      const now = Date.now()
      assert.ok(now - tSent >= 2 * TICK_MS - 50, `expired ${now - tSent} ms after the last packet, before the session timeout`)
      // T + one tick of bucket rounding, plus generous slack for a loaded machine.
      assert.ok(now - tSilent <= 2 * TICK_MS + TICK_MS + 5_000, `expired only ${now - tSilent} ms after going silent`)
    },
  },
  {
    name: 'expiry seen by the facade: expired event, watches settle, calls fail with SessionExpiredError',
    async run({connect}) {
      const observer = await connect()
      const zk = await connect({sessionTimeoutMs: 2 * TICK_MS})
      await zk.create('/hij')
      await zk.create('/hij/e', null, 'ephemeral')
      const gone = oneShotWatch()
      assert.ok(await observer.exists('/hij/e', gone.watcher))
      const w = oneShotWatch()
      await zk.exists('/hij/none', w.watcher)
      const events: string[] = []
      for (const e of ['disconnected', 'connected', 'expired']) zk.on(e, () => events.push(e))
      // A partition longer than the session timeout: no reconnect until the server has expired the session.
      const cm = (zk as unknown as {raw: {connectionManager: {connect(): void; socket: {destroy(): void}}}}).raw.connectionManager
      const reconnect = cm.connect.bind(cm)
      cm.connect = () => {}
      cm.socket.destroy()
      assert.deepEqual(await gone.event, {type: 'deleted', path: '/hij/e'})
      cm.connect = reconnect
      reconnect()
      await waitFor(() => events.includes('expired'), {what: 'expired event'})
      assert.deepEqual(events, ['disconnected', 'expired'])
      assert.equal(zk.state, 'expired')
      assert.deepEqual(await w.event, {type: 'sessionExpired', path: '/hij/none'})
      await assert.rejects(zk.exists('/hij'), (e: unknown) => e instanceof Error && e.name === 'SessionExpiredError')
    },
  },
  {
    name: 'versions: setData/delete with a stale version fail with BadVersion; -1 matches any',
    async run({connect}) {
      const zk = await connect()
      await zk.create('/ver', 'a')
      await zk.setData('/ver', 'b', 0)
      await assert.rejects(zk.setData('/ver', 'c', 0), (e: unknown) => e instanceof BadVersionError && e.path === '/ver')
      await assert.rejects(zk.delete('/ver', 0), BadVersionError)
      assert.equal((await zk.setData('/ver', 'c')).version, 2)
      await zk.delete('/ver', 2)
      assert.equal(await zk.exists('/ver'), null)
    },
  },
  {
    name: 'error codes: NoNode, NodeExists, NotEmpty, BadArguments, NoChildrenForEphemerals',
    async run({connect}) {
      const zk = await connect()
      await zk.create('/err')
      await zk.create('/err/c')
      await assert.rejects(zk.getData('/err/none'), (e: unknown) => e instanceof NoNodeError && e.code === -101 && e.path === '/err/none')
      await assert.rejects(zk.create('/err/none/x'), (e: unknown) => e instanceof NoNodeError && e.path === '/err/none/x')
      await assert.rejects(zk.create('/err'), (e: unknown) => e instanceof NodeExistsError && e.code === -110)
      await assert.rejects(zk.delete('/err'), (e: unknown) => e instanceof NotEmptyError && e.code === -111)
      await assert.rejects(zk.delete('/err/none'), NoNodeError)
      await assert.rejects(zk.setData('/err/none', 'x'), NoNodeError)
      await assert.rejects(zk.getChildren('/err/none'), NoNodeError)
      await assert.rejects(zk.delete('/zookeeper'), (e: unknown) => e instanceof BadArgumentsError && e.code === -8)
      await assert.rejects(zk.create('/err/bad/'), BadArgumentsError)
    },
  },
  {
    name: 'size limit: a 1048575-byte request is accepted, one byte more drops the connection; the session survives',
    async run({connect}) {
      const zk = await connect({retries: 3})
      await zk.create('/big')
      const path = '/big/d'
      // create payload = 47 + len(path) + len(data) with the open ACL.
      const maxData = 1048575 - 47 - Buffer.byteLength(path)
      await zk.create(path, Buffer.alloc(maxData, 7))
      const {data, stat} = await zk.getData(path)
      assert.equal(data?.length, maxData)
      assert.equal(stat.dataLength, maxData)
      const sessionId = zk.sessionIdBigInt
      const err = await zk.create('/big/e', Buffer.alloc(maxData + 1 - 0, 7)).then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof ConnectionLossError, `expected connection loss, got ${String(err)}`)
      assert.equal(err.outcomeUnknown, true)
      // The client reconnects to the same session; reads retry through it.
      assert.equal(await zk.exists('/big/e'), null)
      assert.ok(await zk.exists(path))
      assert.equal(zk.sessionIdBigInt, sessionId)
    },
  },
]

async function runSuite(name: 'ours' | 'real', skip: string | false): Promise<void> {
  describe(`zookeeper compat > ${name}`, {skip: skip || undefined}, () => {
    let target: ZKTarget
    const closers: (() => Promise<void> | void)[] = []
    before(async () => {
      target = await startTarget(name, {tickTimeMs: TICK_MS})
    })
    after(async () => {
      for (const c of closers.splice(0).reverse()) await c()
      await target?.close()
    })
    const ctx: Ctx = {
      get target() {
        return target
      },
      async connect(opts = {}) {
        const zk = await ZKClient.connect({connectString: target.connectString, sessionTimeoutMs: 10 * TICK_MS, connectTimeoutMs: 15_000, ...opts})
        closers.push(() => zk.close())
        return zk
      },
      async raw(opts = {}) {
        const c = nzk.createClient(target.connectString, {sessionTimeout: 10 * TICK_MS, spinDelay: 100, ...opts} as Partial<nzk.Option>)
        closers.push(() => {
          const cm = (c as unknown as {connectionManager: {connect(): void; socket?: {destroy(): void}}}).connectionManager
          cm.connect = () => {}
          c.close()
          cm.socket?.destroy()
        })
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('raw client connect timed out')), 15_000)
          c.once('connected', () => {
            clearTimeout(t)
            resolve()
          })
          c.connect()
        })
        return c
      },
    }
    for (const check of CHECKS) it(check.name, () => check.run(ctx))

    it('four-letter words: ruok, srvr, stat, mntr; others refused by the whitelist', async () => {
      const {host, port} = target
      assert.equal(await fourLetterWord(host, port, 'ruok'), 'imok')
      const srvr = await fourLetterWord(host, port, 'srvr')
      assert.match(srvr, /^Zookeeper version: /m)
      assert.match(srvr, /^Mode: standalone$/m)
      assert.match(srvr, /^Zxid: 0x[0-9a-f]+$/m)
      assert.match(srvr, /^Node count: \d+$/m)
      const stat = await fourLetterWord(host, port, 'stat')
      assert.match(stat, /^Clients:$/m)
      assert.match(stat, /^Mode: standalone$/m)
      const mntr = await fourLetterWord(host, port, 'mntr')
      assert.match(mntr, /^zk_version\t/m)
      assert.match(mntr, /^zk_server_state\tstandalone$/m)
      assert.match(mntr, /^zk_znode_count\t\d+$/m)
      assert.equal(await fourLetterWord(host, port, 'cons'), 'cons is not executed because it is not in the whitelist.\n')
    })
  })
}

await runSuite('ours', await ourServerSkip())
await runSuite('real', realZooKeeperSkip())
