/**
 * Session expiry: the bookie's ZooKeeper session is expired by the server (as after a long GC pause or
 * a partition); its ephemeral registration vanishes with it, and the bookie re-registers with a new
 * session by itself. Uses our ZooKeeper server, whose expireSession() does what a partition would.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'
import {FakeBookieCore} from '../../unit/bookie/fake-core.js'

const ROOT = '/ledgers'

describe('bookie > ZooKeeper session expiry', () => {
  let cluster: TestCluster | undefined

  after(async () => {
    await cluster?.close()
  })

  it('re-registers after its session is expired', async () => {
    const core = Object.assign(new FakeBookieCore(), {close: async () => {}})
    // A short tick and zkTimeout so the re-registration after the expiry is quick.
    cluster = await startTestCluster({bookies: 1, ledgersRootPath: ROOT, zkTickTimeMs: 200, bookieConf: 'zkTimeout=2000', openCore: () => async () => core})
    const {zk, zkServer: server} = cluster
    const service = [...cluster.bookies.values()][0]!
    const path = `${ROOT}/available/${service.bookieId}`
    const owner1 = (await zk.exists(path))!.ephemeralOwner
    assert.ok(server.expireSession(owner1), 'the server knew the session')
    await waitFor(async () => {
      const stat = await zk.exists(path)
      return stat !== null && stat.ephemeralOwner !== owner1
    }, {timeoutMs: 20_000, what: 're-registration under a new session'})
    // The re-registration follows the core's state too.
    core.readOnly = true
    await service.syncRegistration()
    assert.equal(await zk.exists(path), null)
    assert.ok(await zk.exists(`${ROOT}/available/readonly/${service.bookieId}`))
  })
})
