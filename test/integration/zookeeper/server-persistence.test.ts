import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {
  encodeCreateRequest,
  encodePathVersionRequest,
  encodeSetDataRequest,
  OPEN_ACL_UNSAFE,
  ZKOpCode,
} from '../../../src/engine/protocol/jute/index.js'
import type {RecoveredState, TxnRecord, ZKPersistence, ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {dumpTree} from '../../unit/zookeeper/server/harness.js'
import {connectClient, RawConn, runCleanup, startServer, zookeeper} from './server-helpers.js'

const OPEN = [...OPEN_ACL_UNSAFE]

/** Keeps every txn and snapshot it is given; recover() returns the newest snapshot and the txns after it. */
class RecordingPersistence implements ZKPersistence {
  readonly txns: TxnRecord[] = []
  readonly snapshots: {zxid: bigint; payload: Buffer}[] = []
  closed = false

  async recover(): Promise<RecoveredState> {
    const snapshot = this.snapshots.at(-1)
    return {
      ...(snapshot ? {snapshot: {zxid: snapshot.zxid, payload: Buffer.from(snapshot.payload)}} : {}),
      txns: this.txns.filter((t) => snapshot === undefined || t.zxid > snapshot.zxid).map((t) => ({zxid: t.zxid, payload: Buffer.from(t.payload)})),
    }
  }

  async append(txn: TxnRecord): Promise<void> {
    const last = this.txns.at(-1)
    if (last !== undefined) assert.ok(txn.zxid > last.zxid, 'appends come in zxid order')
    this.txns.push(txn)
  }

  async snapshot(zxid: bigint, payload: Buffer): Promise<void> {
    assert.ok(this.txns.some((t) => t.zxid === zxid), 'a snapshot is taken at a logged zxid')
    this.snapshots.push({zxid, payload})
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

async function workload(server: ZKServer, cleanup: (() => Promise<void>)[]): Promise<{alive: {id: bigint; passwd: Buffer}[]}> {
  const zk = await connectClient(server, cleanup)
  await zk.create('/app', Buffer.from('root'))
  await zk.create('/app/q')
  for (let i = 0; i < 30; i++) await zk.create('/app/q/item-', Buffer.from(String(i)), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL)
  for (let i = 0; i < 30; i += 3) await zk.remove(`/app/q/item-${String(i).padStart(10, '0')}`)
  await zk.setData('/app', Buffer.from('v2'))
  await zk.multi((t) => t.create('/app/m').create('/app/m/x', Buffer.from('1')).setData('/app/q', Buffer.from('q')))
  await zk.create('/app/empty', Buffer.alloc(0))
  // A session that ends cleanly loses its ephemerals; two that only lose their connection keep theirs.
  const leaving = await connectClient(server, cleanup)
  await leaving.create('/app/leaving', null, zookeeper.CreateMode.EPHEMERAL)
  await leaving.close()
  const alive: {id: bigint; passwd: Buffer}[] = []
  for (const name of ['a', 'b']) {
    const raw = await RawConn.open(server.port)
    const rsp = await raw.handshake({timeOutMs: 40_000})
    raw.request(1, ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: `/app/eph-${name}-`, data: null, acl: OPEN, flags: 3}))
    raw.request(2, ZKOpCode.SET_DATA, (w) => encodeSetDataRequest(w, {path: '/app/m/x', data: Buffer.from(name), version: -1}))
    raw.request(3, ZKOpCode.DELETE, (w) => encodePathVersionRequest(w, {path: '/app/q/item-0000000001', version: -1}))
    await raw.reply(3)
    raw.destroy()
    alive.push({id: rsp.sessionId, passwd: rsp.passwd})
  }
  await zk.close()
  return {alive}
}

describe('zookeeper/server > restart from the txn log and snapshots', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(() => runCleanup(cleanup))

  for (const snapCount of [20, 1_000_000]) {
    it(`rebuilds the same tree, sessions, ephemerals and sequence counters (snapCount ${snapCount})`, async () => {
      const store = new RecordingPersistence()
      const first = await startServer(cleanup, {persistence: store, snapCount})
      const {alive} = await workload(first, cleanup)
      const before = dumpTree(first.db)
      const beforeOrdered = dumpTree(first.db, {childOrder: true})
      const statsBefore = first.stats()
      await first.close()
      assert.ok(store.closed, 'close() closes the store')
      if (snapCount === 20) assert.ok(store.snapshots.length >= 2, `${store.snapshots.length} snapshots`)
      else assert.equal(store.snapshots.length, 0)

      const second = await startServer(cleanup, {persistence: store, snapCount})
      assert.equal(dumpTree(second.db), before)
      if (snapCount !== 20) assert.equal(dumpTree(second.db, {childOrder: true}), beforeOrdered, 'pure replay keeps child order too')
      const stats = second.stats()
      for (const k of ['znodeCount', 'ephemeralCount', 'sessionCount', 'lastZxid', 'approximateDataBytes'] as const) {
        assert.equal(stats[k], statsBefore[k], k)
      }
      assert.deepEqual(second.sessionIds().sort(), alive.map((a) => a.id).sort())
      assert.equal(stats.ephemeralCount, 2)

      const zk = await connectClient(second, cleanup)
      assert.equal(await zk.create('/app/q/item-', null, zookeeper.CreateMode.PERSISTENT_SEQUENTIAL), '/app/q/item-0000000030')
      assert.equal(await zk.exists('/app/leaving'), null)
      // A live session resumes on the restarted server with its id and password.
      const raw = await RawConn.open(second.port)
      cleanup.push(async () => raw.destroy())
      const resumed = await raw.handshake({sessionId: alive[0]!.id, passwd: alive[0]!.passwd, lastZxidSeen: stats.lastZxid})
      assert.equal(resumed.sessionId, alive[0]!.id)
      assert.ok(resumed.timeOutMs > 0)
      await zk.close()
    })
  }
})
