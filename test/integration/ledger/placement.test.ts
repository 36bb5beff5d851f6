/** Bookie placement over the ZooKeeper registry: writable bookies only, watched, seeded choice. */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {SeededRandom} from '../../../src/engine/common/random.js'
import {NotEnoughBookiesError} from '../../../src/engine/ledger/errors.js'
import {ZkBookiePlacement} from '../../../src/engine/ledger/placement.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {waitFor} from '../../helpers/wait-for.js'

const ROOT = '/ledgers'

describe('ledger > ZkBookiePlacement', () => {
  let server: ZKServer
  let zk: ZKClient

  const register = (id: string, readOnly = false) =>
    zk.create(`${ROOT}/available/${readOnly ? 'readonly/' : ''}${id}`, Buffer.alloc(0), 'ephemeral')

  before(async () => {
    server = await ZKServer.start({port: 0})
    zk = await ZKClient.connect({connectString: `127.0.0.1:${server.port}`})
    await zk.mkdirp(`${ROOT}/available/readonly`)
    for (const id of ['10.0.0.1:3181', '10.0.0.2:3181', '10.0.0.3:3181']) await register(id)
    // Read-only bookies: one only under readonly, one switching over (registered under both for a moment).
    await register('10.0.0.8:3181', true)
    await register('10.0.0.9:3181', true)
    await register('10.0.0.9:3181')
  })
  after(async () => {
    await zk.close()
    await server.close()
  })

  it('lists writable bookies only, and never picks a read-only one', async () => {
    const placement = new ZkBookiePlacement({zk, ledgersRootPath: ROOT, random: new SeededRandom(1)})
    assert.deepEqual(await placement.writableBookies(), ['10.0.0.1:3181', '10.0.0.2:3181', '10.0.0.3:3181'])
    for (let i = 0; i < 50; i++) {
      const e = await placement.newEnsemble(3)
      assert.deepEqual([...e].sort(), ['10.0.0.1:3181', '10.0.0.2:3181', '10.0.0.3:3181'])
    }
    placement.close()
  })

  it('says how many bookies were needed and found', async () => {
    const placement = new ZkBookiePlacement({zk, ledgersRootPath: ROOT})
    await assert.rejects(placement.newEnsemble(5), (e: unknown) => {
      assert.ok(e instanceof NotEnoughBookiesError)
      assert.deepEqual([e.needed, e.found], [5, 3])
      assert.match(e.message, /needs 5 writable bookies, found 3/)
      return true
    })
    await assert.rejects(placement.newEnsemble(3, new Set(['10.0.0.2:3181'])), (e: unknown) => e instanceof NotEnoughBookiesError && e.found === 2)
    await assert.rejects(placement.replaceBookie(['10.0.0.1:3181', '10.0.0.2:3181', '10.0.0.3:3181'], '10.0.0.3:3181'), NotEnoughBookiesError)
    placement.close()
  })

  it('follows the registry through its watches and spreads choices', async () => {
    const placement = new ZkBookiePlacement({zk, ledgersRootPath: ROOT, random: new SeededRandom(7)})
    assert.equal((await placement.writableBookies()).length, 3)
    await register('10.0.0.4:3181')
    await waitFor(async () => (await placement.writableBookies()).includes('10.0.0.4:3181'), {what: 'new bookie seen'})
    const replacement = await placement.replaceBookie(['10.0.0.1:3181', '10.0.0.2:3181', '10.0.0.3:3181'], '10.0.0.2:3181')
    assert.equal(replacement, '10.0.0.4:3181')
    const counts = new Map<string, number>()
    for (let i = 0; i < 400; i++) for (const b of await placement.newEnsemble(2)) counts.set(b, (counts.get(b) ?? 0) + 1)
    assert.equal(counts.size, 4)
    for (const [b, n] of counts) assert.ok(n > 100 && n < 300, `${b} chosen ${n} of 800 times`)
    // Going read-only (create the readonly node, then delete the writable one) removes it at once.
    await register('10.0.0.4:3181', true)
    await waitFor(async () => !(await placement.writableBookies()).includes('10.0.0.4:3181'), {what: 'read-only bookie dropped'})
    await zk.delete(`${ROOT}/available/10.0.0.4:3181`)
    placement.close()
  })

  it('gives the same choices for the same seed', async () => {
    const picks = async (seed: number) => {
      const p = new ZkBookiePlacement({zk, ledgersRootPath: ROOT, random: new SeededRandom(seed)})
      const out = [await p.newEnsemble(2), await p.newEnsemble(2), await p.newEnsemble(1)]
      p.close()
      return out
    }
    assert.deepEqual(await picks(42), await picks(42))
  })

  it('names an unformatted cluster', async () => {
    const placement = new ZkBookiePlacement({zk, ledgersRootPath: '/missing'})
    await assert.rejects(placement.newEnsemble(1), /\/missing\/available does not exist: format the cluster first/)
  })
})
