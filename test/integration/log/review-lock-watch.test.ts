/**
 * Review of the log core (H14) over our ZooKeeper server: the write lock with two lock objects sharing
 * one ZooKeeper session and client id (what two writers opened through one Namespace are), and the
 * segment watch surviving a dropped connection (readers must not stall or die on a blip).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {DLSN} from '../../../src/engine/log/dlsn.js'
import {OwnershipAcquireFailedError} from '../../../src/engine/log/errors.js'
import {ZkWriteLock} from '../../../src/engine/log/lock/zk-write-lock.js'
import {ZkLogMetadataStore} from '../../../src/engine/log/metadata/zk-log-metadata-store.js'
import {TruncationStatus, type LogSegmentMetadata} from '../../../src/engine/log/types.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {waitFor} from '../../helpers/wait-for.js'

const NS = '/review/ns'

describe('log core review over ZooKeeper', () => {
  let server: ZKServer
  let zk: ZKClient
  let store: ZkLogMetadataStore

  before(async () => {
    server = await ZKServer.start({port: 0, host: '127.0.0.1', tickTimeMs: 200})
    zk = await ZKClient.connect({connectString: `127.0.0.1:${server.port}`, sessionTimeoutMs: 10_000})
    await zk.mkdirp(NS)
    store = new ZkLogMetadataStore(zk, NS)
  })
  after(async () => {
    await zk?.close()
    await server?.close()
  })

  it('a second lock object in the same session and client id does not get the lock too', async () => {
    await store.createLog('same-session')
    const lockPath = store.paths('same-session').lock
    const first = new ZkWriteLock(zk, lockPath, 'app')
    await first.acquire()
    const second = new ZkWriteLock(zk, lockPath, 'app')
    await assert.rejects(second.acquire(), (e: unknown) => e instanceof OwnershipAcquireFailedError && e.currentOwner === 'app')
    assert.equal(second.held, false)
    assert.equal(first.held, true)
    // The failed attempt must not have removed the owner's member.
    await second.release()
    assert.equal((await zk.getChildren(lockPath)).length, 1)
    assert.equal(first.held, true)
    await first.release()
    await second.acquire()
    assert.equal(second.held, true)
    await second.release()
  })

  it('the segment watch keeps reporting after the connection drops (no error, no stall)', async () => {
    await store.createLog('watched')
    const lists: LogSegmentMetadata[][] = []
    const errors: Error[] = []
    const stop = store.watchLogSegments('watched', (s) => lists.push(s), (e) => errors.push(e))
    await waitFor(() => lists.length >= 1, {what: 'the first listing'})
    server.closeAllConnections()
    await waitFor(() => zk.state === 'connected', {what: 'the client to reconnect'})
    await store.startLogSegment('watched', {ledgerId: 5, firstTxId: 1})
    await waitFor(() => lists.at(-1)?.length === 1, {what: 'the new segment to be reported'})
    assert.deepEqual(errors, [])
    stop()
  })

  it('the segment watch reports an update of the in-progress segment (truncation inside the active segment)', async () => {
    await store.createLog('truncated-active')
    const seg = await store.startLogSegment('truncated-active', {ledgerId: 6, firstTxId: 1})
    const lists: LogSegmentMetadata[][] = []
    const stop = store.watchLogSegments('truncated-active', (s) => lists.push(s))
    await waitFor(() => lists.length >= 1, {what: 'the first listing'})
    await store.updateLogSegment('truncated-active', {...seg, status: TruncationStatus.PARTIALLY_TRUNCATED, minActiveDLSN: new DLSN(seg.logSegmentSequenceNo, 5, 0)})
    await waitFor(() => lists.at(-1)?.[0]?.minActiveDLSN.entryId === 5, {what: 'the new minActiveDLSN to be reported'})
    stop()
  })
})
