import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {GarbageCollector, type GcCore, listLedgerIds} from '../../../src/engine/bookie/gc.js'
import {ConnectionLossError, NoNodeError} from '../../../src/engine/zookeeper/client/errors.js'
import type {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'

/** A ZooKeeper tree as a map of path → children, with a hook that runs before each getChildren. */
function fakeZk(tree: Map<string, string[]>, beforeList?: (path: string) => void): ZKClient {
  const zk = {
    getChildren: async (path: string) => {
      beforeList?.(path)
      const children = tree.get(path)
      if (children === undefined) throw new NoNodeError({path})
      return [...children]
    },
  }
  return zk as unknown as ZKClient
}

function fakeCore(ids: number[]): GcCore & {ids: Set<number>; deleted: number[]} {
  const core = {
    ids: new Set(ids),
    deleted: [] as number[],
    listLedgers: () => [...core.ids].sort((a, b) => a - b),
    deleteLedger: async (id: number) => {
      core.ids.delete(id)
      core.deleted.push(id)
    },
  }
  return core
}

const ROOT = '/ledgers'

function treeOf(ids: number[]): Map<string, string[]> {
  const tree = new Map<string, string[]>([[ROOT, ['available', 'cookies', 'INSTANCEID', 'LAYOUT', 'idgen', 'underreplication']]])
  for (const id of ids) {
    const s = String(id).padStart(10, '0')
    const [a, b, c] = [s.slice(0, 2), s.slice(2, 6), `L${s.slice(6)}`]
    if (!tree.get(ROOT)!.includes(a)) tree.get(ROOT)!.push(a)
    if (!tree.has(`${ROOT}/${a}`)) tree.set(`${ROOT}/${a}`, [])
    if (!tree.get(`${ROOT}/${a}`)!.includes(b)) tree.get(`${ROOT}/${a}`)!.push(b)
    tree.set(`${ROOT}/${a}/${b}`, [...(tree.get(`${ROOT}/${a}/${b}`) ?? []), c])
  }
  return tree
}

describe('bookie > gc', () => {
  it('lists ledger ids from the 2/4/4 layout, skipping the fixed nodes and stray names', async () => {
    const tree = treeOf([1, 9999, 10_000, 1234567890])
    tree.get(ROOT)!.push('notes')
    tree.get(`${ROOT}/00/0000`)!.push('L12', 'X0001')
    assert.deepEqual([...(await listLedgerIds(fakeZk(tree), ROOT))].sort((a, b) => a - b), [1, 9999, 10_000, 1234567890])
  })

  it('a directory removed during the walk counts as empty; a missing root is an error', async () => {
    const tree = treeOf([1, 20_000])
    tree.delete(`${ROOT}/00/0002`)
    assert.deepEqual([...(await listLedgerIds(fakeZk(tree), ROOT))], [1])
    await assert.rejects(listLedgerIds(fakeZk(new Map()), ROOT), NoNodeError)
  })

  it('deletes the snapshot ledgers that have no metadata, and never one that appears after the snapshot', async () => {
    const core = fakeCore([1, 2, 3])
    // While the listing runs, a writer creates ledger 4: its metadata lands after the listing passed
    // its directory, and its first add reaches the bookie. It is not in the snapshot, so it stays.
    const tree = treeOf([1, 3])
    const zk = fakeZk(tree, (path) => {
      if (path === `${ROOT}/00/0000`) core.ids.add(4)
    })
    const gc = new GarbageCollector({core, zk: () => zk, root: ROOT, gcWaitTimeMs: 60_000})
    const round = await gc.runNow()
    assert.deepEqual(round.deleted, [2])
    assert.deepEqual(core.listLedgers(), [1, 3, 4])
    await gc.close()
  })

  it('deletes nothing when the listing fails or there is no session, and bounds deletes per round', async () => {
    const core = fakeCore([1, 2, 3])
    const failing = {getChildren: async () => Promise.reject(new ConnectionLossError({path: ROOT}))} as unknown as ZKClient
    let gc = new GarbageCollector({core, zk: () => failing, root: ROOT, gcWaitTimeMs: 60_000})
    assert.match((await gc.runNow()).skipped ?? '', /listing failed/)
    gc = new GarbageCollector({core, zk: () => undefined, root: ROOT, gcWaitTimeMs: 60_000})
    assert.match((await gc.runNow()).skipped ?? '', /no ZooKeeper session/)
    assert.deepEqual(core.deleted, [])
    gc = new GarbageCollector({core, zk: () => fakeZk(treeOf([])), root: ROOT, gcWaitTimeMs: 60_000, deletesPerRunMax: 2})
    assert.deepEqual((await gc.runNow()).deleted, [1, 2])
    assert.deepEqual((await gc.runNow()).deleted, [3])
  })
})
