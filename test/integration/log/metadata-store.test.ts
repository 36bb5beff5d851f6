/**
 * The log metadata side against our ZooKeeper server on port 0: binding resolution up the path,
 * createLog (nested, idempotent, one multi), the segment multis, deleteLog (refused while locked,
 * deletes every ledger), getLogs, and the write lock (immediate and wait mode, session expiry).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {DLIllegalStateError, LogBusyError, LogNotFoundError, MetadataError, OwnershipAcquireFailedError} from '../../../src/engine/log/errors.js'
import {ZkWriteLock} from '../../../src/engine/log/lock/zk-write-lock.js'
import {makeBinding, resolveBinding, unbindNamespace, writeBinding} from '../../../src/engine/log/metadata/binding.js'
import {ZkLogMetadataStore} from '../../../src/engine/log/metadata/zk-log-metadata-store.js'
import {MAX_TXID} from '../../../src/engine/log/types.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {waitFor} from '../../helpers/wait-for.js'

const NS = '/messaging/distributedlog'

/**
 * Our ZooKeeper for one suite (tick 200 ms, so an expired session goes quickly); connect() opens a
 * session that the suite's after() closes with the server.
 */
function suiteZooKeeper(): {server: ZKServer; connectString: string; connect(sessionTimeoutMs?: number): Promise<ZKClient>} {
  const clients: ZKClient[] = []
  const zks = {
    server: undefined as unknown as ZKServer,
    connectString: '',
    async connect(sessionTimeoutMs = 10_000): Promise<ZKClient> {
      const c = await ZKClient.connect({connectString: zks.connectString, sessionTimeoutMs})
      clients.push(c)
      return c
    },
  }
  before(async () => {
    zks.server = await ZKServer.start({port: 0, host: '127.0.0.1', tickTimeMs: 200})
    zks.connectString = `127.0.0.1:${zks.server.port}`
  })
  after(async () => {
    for (const c of clients) await c.close().catch(() => {})
    await zks.server?.close()
  })
  return zks
}

describe('log metadata over ZooKeeper', () => {
  const zks = suiteZooKeeper()
  let connectString: string
  let zk: ZKClient
  let store: ZkLogMetadataStore

  before(async () => {
    connectString = zks.connectString
    zk = await zks.connect()
    await writeBinding(zk, NS, makeBinding({bkZkServers: connectString, bkLedgersPath: '/ledgers', dlZkServers: connectString}), {create: true})
    store = new ZkLogMetadataStore(zk, NS)
  })

  it('resolves a binding from the namespace or its nearest bound parent', async () => {
    const sub = `${NS}/team/sub`
    await zk.mkdirp(sub)
    const inherited = await resolveBinding(zk, sub)
    assert.equal(inherited?.boundPath, NS)
    assert.equal(inherited?.binding.bkLedgersPath, '/ledgers')
    await writeBinding(zk, `${NS}/team`, makeBinding({bkZkServers: 'other:2181', bkLedgersPath: '/other', dlZkServers: connectString}), {create: false})
    const overridden = await resolveBinding(zk, sub)
    assert.equal(overridden?.boundPath, `${NS}/team`)
    assert.equal(overridden?.binding.bkLedgersPath, '/other')
    await unbindNamespace(zk, `${NS}/team`)
    assert.equal((await resolveBinding(zk, sub))?.boundPath, NS)
    assert.equal(await resolveBinding(zk, '/elsewhere/x'), undefined)
    await zk.deleteRecursive(`${NS}/team`)
  })

  it('creating with -c binds an existing empty znode but refuses to overwrite a binding', async () => {
    await zk.mkdirp('/made/by/hand')
    const b = makeBinding({bkZkServers: connectString, bkLedgersPath: '/ledgers', dlZkServers: connectString})
    await writeBinding(zk, '/made/by/hand', b, {create: true})
    assert.equal((await resolveBinding(zk, '/made/by/hand'))?.boundPath, '/made/by/hand')
    await assert.rejects(writeBinding(zk, '/made/by/hand', b, {create: true}), {name: 'NodeExistsError'})
    await assert.rejects(writeBinding(zk, '/not/there', b, {create: false}), {name: 'NoNodeError'})
  })

  it('creates a nested log with its whole layout, idempotently', async () => {
    assert.equal(await store.logExists('a/b/c'), false)
    assert.equal(await store.createLog('a/b/c'), true)
    assert.equal(await store.createLog('a/b/c'), false)
    assert.equal(await store.logExists('a/b/c'), true)
    const root = `${NS}/a/b/c/<default>`
    assert.deepEqual((await zk.getChildren(root)).sort(), ['allocation', 'ledgers', 'lock', 'maxtxid', 'readLock', 'version'])
    assert.equal((await zk.getData(`${root}/maxtxid`)).data?.toString(), '0')
    assert.equal((await zk.getData(`${root}/ledgers`)).data?.toString(), '0')
    assert.deepEqual((await zk.getData(`${root}/version`)).data, Buffer.from([0xff, 0xff, 0xff, 0xff]))
    // A log nested under another log's name coexists with it.
    await store.createLog('a/b')
    assert.deepEqual(await store.getLogs().then((l) => l.filter((n) => n.startsWith('a/'))), ['a/b', 'a/b/c'])
    // A missing piece (say, a lost `allocation`) is recreated.
    await zk.delete(`${root}/allocation`)
    assert.equal(await store.createLog('a/b/c'), true)
    assert.ok(await zk.exists(`${root}/allocation`))
  })

  it('lists logs, skipping reserved names', async () => {
    await store.createLog('s1')
    await zk.create(`${NS}/.write_proxy`)
    const logs = await store.getLogs()
    assert.ok(logs.includes('s1'))
    assert.ok(!logs.some((l) => l.startsWith('.')))
  })

  it('starts and completes segments atomically, numbering them and raising maxtxid', async () => {
    await store.createLog('seg')
    const seen: number[][] = []
    const stop = store.watchLogSegments('seg', (segs) => seen.push(segs.map((s) => s.logSegmentSequenceNo)))
    const s1 = await store.startLogSegment('seg', {ledgerId: 11, firstTxId: 5})
    assert.equal(s1.logSegmentSequenceNo, 1)
    assert.equal(s1.znodeName, 'inprogress_000000000000000001')
    assert.equal(await store.getMaxTxId('seg'), 5)
    assert.equal((await zk.getData(`${NS}/seg/<default>/ledgers`)).data?.toString(), '1')
    assert.equal((await zk.getData(`${NS}/seg/<default>/ledgers/${s1.znodeName}`)).data?.toString(), '5;11;5;1;0;0;0')
    const c1 = await store.completeLogSegment('seg', s1, {lastTxId: 9, lastEntryId: 3, lastSlotId: 0, recordCount: 4, completionTimeMs: 1000})
    assert.equal(c1.znodeName, 'logrecs_000000000000000001')
    assert.equal(await store.getMaxTxId('seg'), 9)
    const s2 = await store.startLogSegment('seg', {ledgerId: 12, firstTxId: 10})
    assert.equal(s2.logSegmentSequenceNo, 2)
    assert.equal(s2.startSequenceId, 4)
    const segs = await store.getLogSegments('seg')
    assert.deepEqual(segs.map((s) => [s.znodeName, s.inprogress, s.recordCount]), [
      ['logrecs_000000000000000001', false, 4],
      ['inprogress_000000000000000002', true, 0],
    ])
    // Completing an in-progress segment someone else changed fails whole: nothing half-done.
    const stale = {...s2, znodeVersion: 7}
    await assert.rejects(store.completeLogSegment('seg', stale, {lastTxId: 20, lastEntryId: 0, lastSlotId: 0, recordCount: 1, completionTimeMs: 1}), MetadataError)
    assert.ok(await zk.exists(`${NS}/seg/<default>/ledgers/inprogress_000000000000000002`))
    assert.equal(await zk.exists(`${NS}/seg/<default>/ledgers/logrecs_000000000000000002`), null)
    assert.equal(await store.getMaxTxId('seg'), 10)
    // End of stream: MAX_TXID as Long.MAX_VALUE in maxtxid.
    await store.completeLogSegment('seg', s2, {lastTxId: MAX_TXID, lastEntryId: 0, lastSlotId: 0, recordCount: 1, completionTimeMs: 2})
    assert.equal((await zk.getData(`${NS}/seg/<default>/maxtxid`)).data?.toString(), '9223372036854775807')
    assert.equal(await store.getMaxTxId('seg'), MAX_TXID)
    await waitFor(() => seen.some((l) => l.length === 2 && l[1] === 2) && seen.at(-1)?.join() === '1,2', {what: 'the watch to report both segments'})
    stop()
  })

  it('refuses a start when the max sequence number contradicts the segments', async () => {
    await store.createLog('bad-max')
    await store.startLogSegment('bad-max', {ledgerId: 1, firstTxId: 1})
    await zk.setData(`${NS}/bad-max/<default>/ledgers`, '0')
    await assert.rejects(store.startLogSegment('bad-max', {ledgerId: 2, firstTxId: 2}), DLIllegalStateError)
  })

  it('updates and deletes one segment by compare-and-set', async () => {
    await store.createLog('upd')
    const s = await store.startLogSegment('upd', {ledgerId: 3, firstTxId: 1})
    const done = await store.completeLogSegment('upd', s, {lastTxId: 1, lastEntryId: 0, lastSlotId: 0, recordCount: 1, completionTimeMs: 1})
    const marked = await store.updateLogSegment('upd', {...done, status: 2})
    assert.equal(marked.znodeVersion, 1)
    assert.equal((await store.getLogSegments('upd'))[0]?.status, 2)
    await assert.rejects(store.updateLogSegment('upd', {...done, status: 1}), MetadataError)
    await store.deleteLogSegment('upd', marked)
    await store.deleteLogSegment('upd', marked)
    assert.deepEqual(await store.getLogSegments('upd'), [])
  })

  it('reports a missing log as LogNotFoundError', async () => {
    await assert.rejects(store.getLogSegments('nope'), LogNotFoundError)
    await assert.rejects(store.getMaxTxId('nope'), LogNotFoundError)
    await assert.rejects(store.deleteLog('nope'), LogNotFoundError)
  })

  it('deletes a log and every ledger of it, but not while a writer holds the lock', async () => {
    await store.createLog('del')
    const a = await store.startLogSegment('del', {ledgerId: 21, firstTxId: 1})
    await store.completeLogSegment('del', a, {lastTxId: 1, lastEntryId: 0, lastSlotId: 0, recordCount: 1, completionTimeMs: 1})
    await store.startLogSegment('del', {ledgerId: 22, firstTxId: 2})
    await zk.setData(`${NS}/del/<default>/allocation`, '23')
    const lock = new ZkWriteLock(zk, store.paths('del').lock, 'writer-1')
    await lock.acquire()
    const deleted: number[] = []
    const deleteLedger = async (id: number) => {
      deleted.push(id)
    }
    await assert.rejects(store.deleteLog('del', {deleteLedger}), (e: Error) => e instanceof LogBusyError && /writer-1/.test(e.message))
    assert.deepEqual(deleted, [])
    assert.equal(await store.logExists('del'), true)
    await lock.release()
    await assert.rejects(store.deleteLog('del'), /no ledger client/)
    await store.deleteLog('del', {deleteLedger})
    assert.deepEqual(deleted.sort(), [21, 22, 23])
    assert.equal(await store.logExists('del'), false)
    assert.equal(await zk.exists(`${NS}/del`), null)
  })
})

describe('write lock over ZooKeeper', () => {
  const zks = suiteZooKeeper()
  const {connect} = zks
  let store: ZkLogMetadataStore

  before(async () => {
    const zk = await connect()
    await zk.mkdirp(NS)
    store = new ZkLogMetadataStore(zk, NS)
  })

  it('names the owner when a second writer tries in immediate mode, and leaves no member behind', async () => {
    await store.createLog('l1')
    const lockPath = store.paths('l1').lock
    const first = new ZkWriteLock(await connect(), lockPath, 'console-writer')
    await first.acquire()
    assert.equal(first.held, true)
    const zk2 = await connect()
    const second = new ZkWriteLock(zk2, lockPath, 'other-writer')
    await assert.rejects(second.acquire(), (e: Error) => {
      assert.ok(e instanceof OwnershipAcquireFailedError)
      assert.equal(e.code, 302)
      assert.equal(e.message, `LockPath - ${lockPath}: Lock acquisition failed, the current owner is console-writer`)
      assert.equal(e.currentOwner, 'console-writer')
      return true
    })
    assert.equal(second.held, false)
    const members = await zk2.getChildren(lockPath)
    assert.equal(members.length, 1)
    assert.match(members[0] as string, /^member_console-writer_s\d{10,}_\d{10}$/)
    // Acquiring twice is a no-op; release frees it for the other writer.
    await first.acquire()
    await first.release()
    assert.equal(first.held, false)
    await second.acquire()
    assert.equal(second.held, true)
    await second.release()
  })

  it('wait mode gets the lock once the owner releases, and gives up after its timeout', async () => {
    await store.createLog('l2')
    const lockPath = store.paths('l2').lock
    const owner = new ZkWriteLock(await connect(), lockPath, 'owner')
    await owner.acquire()
    const waiter = new ZkWriteLock(await connect(), lockPath, 'waiter', {lockTimeoutMs: 20_000})
    const waiting = waiter.acquire()
    const zk = await connect()
    await waitFor(async () => (await zk.getChildren(lockPath)).length === 2, {what: 'the waiter to queue'})
    assert.equal(waiter.held, false)
    await owner.release()
    await waiting
    assert.equal(waiter.held, true)
    const impatient = new ZkWriteLock(zk, lockPath, 'impatient', {lockTimeoutMs: 300})
    const t0 = Date.now()
    await assert.rejects(impatient.acquire(), (e: Error) => e instanceof OwnershipAcquireFailedError && e.currentOwner === 'waiter')
    assert.ok(Date.now() - t0 >= 250)
    assert.equal((await zk.getChildren(lockPath)).length, 1)
    await waiter.release()
  })

  it('loses the lock when its session expires; the next writer then gets it', async () => {
    await store.createLog('l3')
    const lockPath = store.paths('l3').lock
    const zkA = await connect()
    const a = new ZkWriteLock(zkA, lockPath, 'a')
    await a.acquire()
    const lost: string[] = []
    a.onLost((r) => lost.push(r))
    const b = new ZkWriteLock(await connect(), lockPath, 'b', {lockTimeoutMs: 20_000})
    const bWaiting = b.acquire()
    assert.ok(zks.server.expireSession(zkA.sessionIdBigInt))
    await waitFor(() => !a.held, {what: 'held to turn false'})
    assert.equal(lost.length, 1)
    await bWaiting
    assert.equal(b.held, true)
    await a.release()
    await b.release()
  })

  it('loses the lock when an operator deletes its member', async () => {
    await store.createLog('l4')
    const lockPath = store.paths('l4').lock
    const zk = await connect()
    const w = new ZkWriteLock(zk, lockPath, 'w')
    await w.acquire()
    const [member] = await zk.getChildren(lockPath)
    await zk.delete(`${lockPath}/${member as string}`)
    await waitFor(() => !w.held, {what: 'held to turn false'})
  })
})
