import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {type Deferred, deferred} from '../../../src/engine/common/deferred.js'
import {encodeCreateRequest, encodePathWatchRequest, OPEN_ACL_UNSAFE, ZKOpCode} from '../../../src/engine/protocol/jute/index.js'
import type {RecoveredState, TxnRecord, ZKPersistence} from '../../../src/engine/zookeeper/server/index.js'
import {waitFor} from '../../helpers/wait-for.js'
import {connectClient, RawConn, runCleanup, startServer, zkCode} from '../../integration/zookeeper/server-helpers.js'

const OPEN = [...OPEN_ACL_UNSAFE]

/** A store whose fsyncs complete only when the test says so, or fail. */
class GatedPersistence implements ZKPersistence {
  readonly appended: bigint[] = []
  private gate: Deferred<void> = deferred()
  failWith: Error | null = null

  async recover(): Promise<RecoveredState> {
    return {txns: []}
  }

  async append(txn: TxnRecord): Promise<void> {
    this.appended.push(txn.zxid)
    const gate = this.gate.promise
    await gate
    if (this.failWith) throw this.failWith
  }

  /** Completes every append so far (like one group fsync). */
  sync(): void {
    const g = this.gate
    this.gate = deferred()
    g.resolve()
  }

  async snapshot(): Promise<void> {}
  async close(): Promise<void> {
    this.sync()
  }
}

describe('zookeeper/server > durability faults', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(() => runCleanup(cleanup))

  it('keeps accepting and applying requests while fsync is slow; replies (reads too) wait for it, in order', async () => {
    const store = new GatedPersistence()
    const server = await startServer(cleanup, {persistence: store})
    const writer = await RawConn.open(server.port)
    const reader = await RawConn.open(server.port)
    cleanup.push(async () => writer.destroy(), async () => reader.destroy())
    const handshakes = Promise.all([writer.handshake(), reader.handshake()])
    await waitFor(() => store.appended.length === 2)
    store.sync()
    await handshakes
    for (let i = 0; i < 20; i++) {
      writer.request(i, ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: `/n${i}`, data: null, acl: OPEN, flags: 0}))
    }
    await waitFor(() => store.appended.length === 22, {what: 'all 20 creates applied and handed to the store'})
    reader.request(7, ZKOpCode.EXISTS, (w) => encodePathWatchRequest(w, {path: '/n19', watch: false}))
    await waitFor(() => server.stats().outstandingRequests === 21)
    const s = server.stats()
    assert.equal(s.lastZxid - s.durableZxid, 20n, 'applied ahead of the log')
    assert.equal(writer.frames.length, 1, 'no write reply before its fsync')
    assert.equal(reader.frames.length, 1, 'a read that sees un-synced state waits too')
    store.sync()
    await waitFor(() => writer.frames.length === 21 && reader.frames.length === 2)
    assert.deepEqual(writer.frames.slice(1).map((f) => f.readInt32BE(0)), Array.from({length: 20}, (_, i) => i))
    const read = await reader.reply(1)
    assert.deepEqual([read.xid, read.err], [7, 0])
    assert.equal(server.stats().outstandingRequests, 0)
  })

  it('stops serving when an append fails: connections close, new ones are refused, the process lives on', async () => {
    const store = new GatedPersistence()
    const server = await startServer(cleanup, {persistence: store})
    const ready = connectClient(server, cleanup)
    await waitFor(() => store.appended.length === 1)
    store.sync()
    const zk = await ready
    store.failWith = new Error('disk on fire')
    const pending = zk.create('/never')
    await waitFor(() => store.appended.length === 2)
    store.sync()
    await assert.rejects(pending, (e) => zkCode(e) === -4, 'the client sees connection loss, not a false ack')
    await waitFor(() => server.stats().failure !== undefined)
    assert.match(server.stats().failure!, /disk on fire/)
    assert.equal(server.stats().connectionCount, 0)
    const late = await RawConn.open(server.port).catch(() => undefined)
    if (late) await late.waitClosed()
    await zk.close()
  })
})
