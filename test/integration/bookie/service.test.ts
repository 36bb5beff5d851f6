import assert from 'node:assert/strict'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {AdminRefusedError, bookieInfo, bookieformat, listBookies, metaformat} from '../../../src/engine/bookie/admin.js'
import {parseBookieConfig, type BookieServerConfig} from '../../../src/engine/bookie/config.js'
import {dirCookieFile, InvalidCookieError} from '../../../src/engine/bookie/cookie.js'
import {BookieService} from '../../../src/engine/bookie/server/bookie-service.js'
import {BookieWireClient} from '../../../src/engine/net/bookie-wire-client.js'
import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import type {ZKTarget} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {FakeBookieCore} from '../../unit/bookie/fake-core.js'
import {startZooKeeper} from './zk.js'

const ROOT = '/messaging/bookkeeper/ledgers'

describe('bookie > service with ZooKeeper (fake core)', () => {
  let zkServer: ZKTarget
  let zk: ZKClient
  const tmp = makeTmpDir('dlog-bookie-svc-')
  const services: BookieService[] = []

  // Own setup, not test/helpers/test-cluster.ts: these tests format the metadata and start and break bookies themselves.
  before(async () => {
    zkServer = await startZooKeeper()
    zk = await ZKClient.connect({connectString: zkServer.connectString})
  })
  after(async () => {
    for (const s of services) await s.close()
    await zk?.close()
    await zkServer?.close()
    tmp.remove()
  })

  function conf(name: string, extra = ''): BookieServerConfig {
    const dir = join(tmp.path, name)
    return parseBookieConfig(
      `zkServers=${zkServer.connectString}\nzkLedgersRootPath=${ROOT}\nbookiePort=0\nzkTimeout=4000\n` +
        `journalDirectory=${dir}/journal\nledgerDirectories=${dir}/ledgers\n${extra}`,
      `${name}.conf`,
    ).config
  }

  async function start(config: BookieServerConfig, core = new FakeBookieCore(), onFatal?: (reason: string) => void): Promise<BookieService> {
    const s = await BookieService.start({config, openCore: async () => Object.assign(core, {close: async () => {}}), readOnlyPollMs: 20, onFatal})
    services.push(s)
    return s
  }

  it('metaformat refuses a missing parent and tells how to create it', async () => {
    await assert.rejects(
      metaformat({zk, root: ROOT, force: false, nonInteractive: false, confirm: async () => true}),
      (e: unknown) => e instanceof InvalidInputError && /create \/messaging ''; create \/messaging\/bookkeeper ''/.test(e.message),
    )
  })

  it('a bookie refuses to start until the metadata is formatted', async () => {
    await zk.mkdirp(ROOT)
    await assert.rejects(start(conf('early')), (e: unknown) => e instanceof InvalidCookieError && /dlog bkshell metaformat/.test(e.message))
  })

  it('metaformat asks when the root exists, and lays out the metadata', async () => {
    const asked: string[] = []
    const declined = await metaformat({zk, root: ROOT, force: false, nonInteractive: false, confirm: async (q) => (asked.push(q), false)})
    assert.deepEqual(declined, {done: false, declined: true})
    assert.deepEqual(asked, ['Are you sure to format bookkeeper metadata ?'])
    const r = await metaformat({zk, root: ROOT, force: false, nonInteractive: false, confirm: async () => true, instanceId: 'inst-1'})
    assert.equal(r.done, true)
    assert.deepEqual((await zk.getChildren(ROOT)).sort(), ['INSTANCEID', 'LAYOUT', 'available', 'cookies', 'idgen'])
    assert.deepEqual(await zk.getChildren(`${ROOT}/available`), ['readonly'])
    assert.equal((await zk.getData(`${ROOT}/INSTANCEID`)).data?.toString(), 'inst-1')
    await assert.rejects(
      metaformat({zk, root: ROOT, force: false, nonInteractive: true, confirm: async () => assert.fail('no prompt')}),
      AdminRefusedError,
    )
  })

  it('registers, serves, lists and reports info; cookies hold on restart', async () => {
    const config = conf('b1', `statsHttpPort=0`)
    const s = await start(config)
    assert.equal(s.registrationPath, `${ROOT}/available/${s.bookieId}`)
    assert.deepEqual((await zk.getChildren(`${ROOT}/available`)).sort(), [s.bookieId, 'readonly'].sort())
    assert.deepEqual(await listBookies(zk, ROOT, {readWrite: true, readOnly: true}), [{bookieId: s.bookieId, state: 'read-write'}])
    const info = await bookieInfo(zk, ROOT)
    assert.deepEqual(info, [{bookieId: s.bookieId, state: 'read-write', freeDiskBytes: 1000, totalDiskBytes: 5000, readOnly: false}])
    const ping = await fetch(`http://127.0.0.1:${s.stats!.port}/ping`)
    assert.equal(await ping.text(), 'pong\n')
    const metrics = await (await fetch(`http://127.0.0.1:${s.stats!.port}/metrics`)).text()
    assert.match(metrics, /^bookie_server_connections \d+$/m)
    // Restart with the same port and dirs: the cookies match.
    const port = s.port
    await s.close()
    await waitFor(async () => !(await zk.getChildren(`${ROOT}/available`)).includes(s.bookieId), {what: 'unregistered'})
    const again = await start({...config, bookiePort: port})
    assert.equal(again.bookieId, s.bookieId)
    await again.close()
    // A changed journal dir, and a lost VERSION file, are refused with what differs.
    const moved = {...config, bookiePort: port, journalDirs: [join(tmp.path, 'b1', 'journal2')]}
    moved.core = {...moved.core, journalDirs: moved.journalDirs}
    await assert.rejects(start(moved), (e: unknown) => {
      assert.ok(e instanceof InvalidCookieError)
      assert.match(e.message, /cookie mismatch for bookie 127\.0\.0\.1:\d+; refusing to start/)
      assert.match(e.message, /journalDirs: the cookie in ZooKeeper \(.*\) has '.*b1\/journal', this bookie.conf has '.*b1\/journal2'/)
      assert.match(e.message, /journal2\/current\/VERSION is missing/)
      return true
    })
    rmSync(dirCookieFile(config.ledgerDirs[0]!))
    await assert.rejects(start({...config, bookiePort: port}), /ledgers\/current\/VERSION is missing: the directory was wiped or replaced/)
    // bookieformat -d wipes the dirs and the cookie; then the bookie starts as new.
    const r = await bookieformat({
      config: {...config, bookiePort: port},
      force: true,
      nonInteractive: false,
      deleteCookie: true,
      confirm: async () => assert.fail('no prompt with --force'),
      connectZk: () => ZKClient.connect({connectString: zkServer.connectString}),
    })
    assert.equal(r.done, true)
    const fresh = await start({...config, bookiePort: port})
    assert.equal(fresh.bookieId, s.bookieId)
  })

  it('a bookie with data but no cookie is refused; bookieformat prompts when dirs hold data', async () => {
    const config = conf('b2')
    writeFileSync(join(tmp.path, 'b2-marker'), '')
    const {mkdirSync} = await import('node:fs')
    mkdirSync(config.journalDirs[0]!, {recursive: true})
    writeFileSync(join(config.journalDirs[0]!, 'old.txn'), 'x')
    await assert.rejects(start(config), /already hold data: refusing to adopt/)
    const asked: string[] = []
    const declined = await bookieformat({config, force: false, nonInteractive: false, deleteCookie: false, confirm: async (q) => (asked.push(q), false)})
    assert.deepEqual(declined, {done: false, declined: true})
    assert.deepEqual(asked, ['Are you sure to format Bookie data..?'])
    await assert.rejects(bookieformat({config, force: false, nonInteractive: true, deleteCookie: false, confirm: async () => true}), AdminRefusedError)
    await bookieformat({config, force: false, nonInteractive: false, deleteCookie: false, confirm: async () => true})
    await start(config)
  })

  it('registers read-only bookies under available/readonly and follows the core live', async () => {
    const ro = await start({...conf('b3'), forceReadOnly: true}, Object.assign(new FakeBookieCore(), {readOnly: true}))
    assert.equal(ro.registrationPath, `${ROOT}/available/readonly/${ro.bookieId}`)
    const core = new FakeBookieCore()
    const rw = await start(conf('b4'), core)
    core.readOnly = true
    await rw.syncRegistration()
    assert.equal(rw.registrationPath, `${ROOT}/available/readonly/${rw.bookieId}`)
    assert.ok(!(await zk.getChildren(`${ROOT}/available`)).includes(rw.bookieId))
    const listed = await listBookies(zk, ROOT, {readWrite: false, readOnly: true})
    assert.deepEqual(listed.map((b) => b.bookieId).sort(), [ro.bookieId, rw.bookieId].sort())
    const c = await BookieWireClient.connect({host: '127.0.0.1', port: ro.port})
    assert.equal((await c.info()).readOnly, true)
    await c.close()
  })

  it('without readOnlyModeEnabled, a core turning read-only stops the bookie instead', async () => {
    const core = new FakeBookieCore()
    let fatal: string | undefined
    await start(conf('b5', 'readOnlyModeEnabled=false'), core, (reason) => (fatal = reason))
    core.readOnly = true
    await waitFor(() => fatal, {what: 'onFatal'})
    assert.match(fatal!, /readOnlyModeEnabled is false: shutting down/)
  })
})
