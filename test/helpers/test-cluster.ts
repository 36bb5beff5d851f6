/**
 * One in-process test cluster for integration tests: our ZooKeeper server on a free port, the ledgers
 * root formatted, N real bookies (BookieService: real journal, fsync on, TCP on port 0) registered in
 * it, and optionally a DistributedLog namespace bound to them. Everything it starts, close() stops.
 *
 * Tests that need separate processes (kill -9) start `dlog bookie` children instead; this helper is for
 * everything else, so each test file does not repeat the same setup.
 */
import {join} from 'node:path'

import {metaformat} from '../../src/engine/bookie/admin.js'
import {parseBookieConfig} from '../../src/engine/bookie/config.js'
import {BookieService} from '../../src/engine/bookie/server/bookie-service.js'
import {LedgerClient} from '../../src/engine/ledger/ledger-client.js'
import type {BookieId, LedgerClientConfig} from '../../src/engine/ledger/types.js'
import {makeBinding, writeBinding} from '../../src/engine/log/metadata/binding.js'
import {ZKClient} from '../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../src/engine/zookeeper/server/index.js'
import {makeTmpDir} from './tmp.js'
import {waitFor} from './wait-for.js'

export interface TestClusterOptions {
  /** Bookies to start (default 3). */
  bookies?: number
  /** Ledgers root (default /ledgers). */
  ledgersRootPath?: string
  /** A namespace path to bind to the bookies (e.g. /messaging/distributedlog); none by default. */
  namespacePath?: string
  /** Extra bookie.conf lines (e.g. `gcWaitTime=100`). */
  bookieConf?: string
}

export interface TestCluster {
  zkServer: ZKServer
  /** `127.0.0.1:<port>` of the ZooKeeper server. */
  zkServers: string
  /** A ZooKeeper session for the test's own use. */
  zk: ZKClient
  ledgersRootPath: string
  bookies: Map<BookieId, BookieService>
  /** `distributedlog://127.0.0.1:<port><namespacePath>` when a namespace was bound. */
  uri: string | undefined
  /** A ledger client over this cluster; closed with the cluster. */
  ledgerClient(config?: Partial<LedgerClientConfig>): Promise<LedgerClient>
  /** Stops one bookie (graceful close); its data stays on disk. */
  stopBookie(bookieId: BookieId): Promise<void>
  /** Starts one more bookie and waits for its registration. */
  addBookie(): Promise<BookieService>
  close(): Promise<void>
}

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const root = opts.ledgersRootPath ?? '/ledgers'
  const tmp = makeTmpDir('dlog-cluster-')
  const zkServer = await ZKServer.start({port: 0})
  const zkServers = `127.0.0.1:${zkServer.port}`
  const bookies = new Map<BookieId, BookieService>()
  const clients: LedgerClient[] = []
  let zk: ZKClient | undefined
  let started = 0

  const addBookie = async (): Promise<BookieService> => {
    const dir = join(tmp.path, `bookie-${started++}`)
    const {config} = parseBookieConfig(
      `zkServers=${zkServers}\nzkLedgersRootPath=${root}\nbookiePort=0\nadvertisedAddress=127.0.0.1\nzkTimeout=6000\n` +
        `journalDirectory=${dir}/journal\nledgerDirectories=${dir}/ledgers\n${opts.bookieConf ?? ''}\n`,
      `${dir}.conf`,
    )
    const service = await BookieService.start({config})
    bookies.set(service.bookieId, service)
    const registered = `${root}/available/${service.bookieId}`
    await waitFor(async () => (await zk!.exists(registered)) !== null, {what: `${service.bookieId} registered`})
    return service
  }

  const close = async (): Promise<void> => {
    for (const c of clients) await c.close().catch(() => {})
    for (const s of bookies.values()) await s.close().catch(() => {})
    await zk?.close().catch(() => {})
    await zkServer.close().catch(() => {})
    tmp.remove()
  }

  try {
    zk = await ZKClient.connect({connectString: zkServers})
    await metaformat({zk, root, force: true, nonInteractive: true, confirm: async () => true})
    for (let i = 0; i < (opts.bookies ?? 3); i++) await addBookie()
    let uri: string | undefined
    if (opts.namespacePath !== undefined) {
      const binding = makeBinding({bkZkServers: zkServers, bkLedgersPath: root, dlZkServers: zkServers})
      await writeBinding(zk, opts.namespacePath, binding, {create: true})
      uri = `distributedlog://${zkServers}${opts.namespacePath}`
    }
    return {
      zkServer,
      zkServers,
      zk,
      ledgersRootPath: root,
      bookies,
      uri,
      async ledgerClient(config) {
        const c = await LedgerClient.connect({zkServers, ledgersRootPath: root, config})
        clients.push(c)
        return c
      },
      async stopBookie(bookieId) {
        const s = bookies.get(bookieId)
        if (s === undefined) throw new Error(`no bookie ${bookieId}`)
        bookies.delete(bookieId)
        await s.close()
      },
      addBookie,
      close,
    }
  } catch (e) {
    await close()
    throw e
  }
}
