/**
 * Session expiry: the bookie's ZooKeeper session is expired by the server (as after a long GC pause or
 * a partition); its ephemeral registration vanishes with it, and the bookie re-registers with a new
 * session by itself. Uses our ZooKeeper server, whose expireSession() does what a partition would.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {metaformat} from '../../../src/engine/bookie/admin.js'
import {parseBookieConfig} from '../../../src/engine/bookie/config.js'
import {BookieService} from '../../../src/engine/bookie/server/bookie-service.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/zk-server.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {FakeBookieCore} from '../../unit/bookie/fake-core.js'

const ROOT = '/ledgers'

describe('bookie > ZooKeeper session expiry', () => {
  let server: ZKServer
  let zk: ZKClient
  let service: BookieService | undefined
  const tmp = makeTmpDir('dlog-bookie-expiry-')

  before(async () => {
    server = await ZKServer.start({port: 0, host: '127.0.0.1', tickTimeMs: 200})
    zk = await ZKClient.connect({connectString: `127.0.0.1:${server.port}`})
    await metaformat({zk, root: ROOT, force: true, nonInteractive: true, confirm: async () => false})
  })
  after(async () => {
    await service?.close()
    await zk?.close()
    await server?.close()
    tmp.remove()
  })

  it('re-registers after its session is expired', async () => {
    const {config} = parseBookieConfig(
      `zkServers=127.0.0.1:${server.port}\nzkLedgersRootPath=${ROOT}\nbookiePort=0\nzkTimeout=2000\n` +
        `journalDirectory=${join(tmp.path, 'j')}\nledgerDirectories=${join(tmp.path, 'l')}\n`,
    )
    const core = Object.assign(new FakeBookieCore(), {close: async () => {}})
    service = await BookieService.start({config, openCore: async () => core})
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
