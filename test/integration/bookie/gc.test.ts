import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {GarbageCollector} from '../../../src/engine/bookie/gc.js'
import type {BookieService} from '../../../src/engine/bookie/server/bookie-service.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {ledgerPath} from '../../../src/engine/protocol/ledger/layout.js'
import type {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'
import {KEY, makeEntry} from '../../unit/bookie/core/helpers.js'

const ROOT = '/ledgers'

describe('bookie > garbage collection from ZooKeeper metadata (real core)', () => {
  let cluster: TestCluster
  let zk: ZKClient
  let service: BookieService

  before(async () => {
    cluster = await startTestCluster({bookies: 1, ledgersRootPath: ROOT, bookieConf: 'gcWaitTime=100'})
    zk = cluster.zk
    service = [...cluster.bookies.values()][0] as BookieService
  })
  after(async () => {
    await cluster?.close()
  })

  it('reclaims a ledger whose metadata znode was removed and keeps the ones that still exist', async () => {
    const core = service.core
    assert.ok(service.gc, 'a garbage collector runs when gcWaitTime > 0')
    // Metadata first, as a writer does, then the adds.
    for (const id of [1, 2, 1234567890]) {
      await zk.mkdirp(ledgerPath(ROOT, id), Buffer.from('{}'))
      for (let e = 0; e < 20; e++) await core.addEntry({entry: makeEntry(id, e), masterKey: KEY, recovery: false})
    }
    // A round with every ledger alive deletes nothing. (The first call may join a periodic round that
    // listed before the last znode existed; the second starts after every ledger was made.)
    await service.gc.runNow()
    const kept = await service.gc.runNow()
    assert.deepEqual(kept.deleted, [])
    assert.equal(kept.liveLedgers, 3)

    await zk.delete(ledgerPath(ROOT, 2))
    // The periodic rounds (every 100 ms) pick it up.
    await waitFor(() => !core.listLedgers?.().includes(2), {timeoutMs: 20_000, what: 'ledger 2 garbage collected'})
    assert.deepEqual(core.listLedgers?.(), [1, 1234567890])
    await assert.rejects(core.readEntry({ledgerId: 2, entryId: 0}), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_LEDGER)
    for (const id of [1, 1234567890]) {
      for (let e = 0; e < 20; e++) assert.deepEqual(await core.readEntry({ledgerId: id, entryId: e}), makeEntry(id, e))
    }
  })

  it('deletes nothing while the ledgers root cannot be listed', async () => {
    const core = service.core
    await zk.mkdirp(ledgerPath(ROOT, 7), Buffer.from('{}'))
    await core.addEntry({entry: makeEntry(7, 0), masterKey: KEY, recovery: false})
    const before = core.listLedgers?.()
    // A collector pointed at a root that is not there: a listing error, not "no ledger is alive".
    // (Removing the real root would delete the ledger znodes first, which is a real deletion.)
    const gc = new GarbageCollector({
      core: {listLedgers: () => core.listLedgers!(), deleteLedger: (id) => core.deleteLedger!(id)},
      zk: () => zk,
      root: '/no-such-root',
      gcWaitTimeMs: 60_000,
    })
    const round = await gc.runNow()
    await gc.close()
    assert.match(round.skipped ?? '', /listing failed/)
    assert.deepEqual(round.deleted, [])
    assert.deepEqual(core.listLedgers?.(), before)
    assert.deepEqual(await core.readEntry({ledgerId: 7, entryId: 0}), makeEntry(7, 0))
  })
})
