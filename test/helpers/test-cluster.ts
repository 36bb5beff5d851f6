/**
 * One in-process test cluster for integration tests: our ZooKeeper server on a free port, the ledgers
 * root formatted (its parents created, so nested roots work), N real bookies (BookieService: real journal,
 * fsync on, TCP on port 0) registered in it, and optionally a DistributedLog namespace bound to them.
 * Everything it starts, close() stops.
 *
 * For tests that need more: `openCore` wraps or replaces a bookie's core (e.g. serve a corrupt copy of
 * one entry, or a fake core); `confFile()` writes a bookie.conf naming the cluster, for CLI tests
 * (`--conf`); `stopBookie()` shuts one bookie down (it unregisters and its port closes: clients fail over).
 *
 * Tests that need separate processes (kill -9) start `dlog bookie` children instead; this helper is for
 * everything else, so each test file does not repeat the same setup.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {metaformat} from '../../src/engine/bookie/admin.js'
import {parseBookieConfig} from '../../src/engine/bookie/config.js'
import {BookieService} from '../../src/engine/bookie/server/bookie-service.js'
import type {OpenBookieCore} from '../../src/engine/bookie/server/core-metrics.js'
import {LedgerClient, type LedgerClientConnectOptions} from '../../src/engine/ledger/ledger-client.js'
import type {BookieId, LedgerClientConfig} from '../../src/engine/ledger/types.js'
import {makeBinding, writeBinding} from '../../src/engine/log/metadata/binding.js'
import {ZKClient} from '../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../src/engine/zookeeper/server/index.js'
import {makeTmpDir} from './tmp.js'
import {waitFor} from './wait-for.js'

export interface TestClusterOptions {
  /** Bookies to start (default 3). */
  bookies?: number
  /** Ledgers root (default /ledgers); its parents are created. */
  ledgersRootPath?: string
  /** A namespace path to bind to the bookies (e.g. /messaging/distributedlog); none by default. */
  namespacePath?: string
  /** Extra bookie.conf lines (e.g. `gcWaitTime=100`); they win over the defaults. */
  bookieConf?: string
  /** The core of the i-th bookie started (from 0, counting addBookie); undefined: the real core. */
  openCore?: (i: number) => OpenBookieCore | undefined
  /** How often the bookies check for read-only changes (BookieService default otherwise). */
  readOnlyPollMs?: number
  /** ZooKeeper tick (default the server's 2000 ms); a short one lets tests use short session timeouts. */
  zkTickTimeMs?: number
}

/** What ledgerClient() may add to the cluster's connect options (transport, logger, random, ...). */
export type TestLedgerClientOptions = Omit<LedgerClientConnectOptions, 'zkServers' | 'zk' | 'ledgersRootPath' | 'config'>

export interface TestCluster {
  zkServer: ZKServer
  /** `127.0.0.1:<port>` of the ZooKeeper server. */
  zkServers: string
  /** A ZooKeeper session for the test's own use. */
  zk: ZKClient
  ledgersRootPath: string
  /** The running bookies. */
  bookies: Map<BookieId, BookieService>
  /** Every bookie started, in start order (openCore's i); a stopped one stays listed. */
  bookieIds: BookieId[]
  /** `distributedlog://127.0.0.1:<port><namespacePath>` when a namespace was bound. */
  uri: string | undefined
  /** A ledger client over this cluster; closed with the cluster. */
  ledgerClient(config?: Partial<LedgerClientConfig>, opts?: TestLedgerClientOptions): Promise<LedgerClient>
  /** Stops one bookie (graceful close); its data stays on disk. */
  stopBookie(bookieId: BookieId): Promise<void>
  /** Starts one more bookie and waits for its registration. */
  addBookie(): Promise<BookieService>
  /** Writes the bookie.conf of a bookie started here (default the first) and returns its path. */
  confFile(bookieId?: BookieId): string
  close(): Promise<void>
}

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const root = opts.ledgersRootPath ?? '/ledgers'
  const tmp = makeTmpDir('dlog-cluster-')
  const zkServer = await ZKServer.start({port: 0, tickTimeMs: opts.zkTickTimeMs})
  const zkServers = `127.0.0.1:${zkServer.port}`
  const bookies = new Map<BookieId, BookieService>()
  const bookieIds: BookieId[] = []
  const confText = new Map<BookieId, string>()
  const clients: LedgerClient[] = []
  let zk: ZKClient | undefined

  const addBookie = async (): Promise<BookieService> => {
    const i = bookieIds.length
    const dir = join(tmp.path, `bookie-${i}`)
    // Tests write little: 1 MiB journal files instead of 16 MiB of fsynced zeros per bookie.
    const text =
      `zkServers=${zkServers}\nzkLedgersRootPath=${root}\nbookiePort=0\nadvertisedAddress=127.0.0.1\nzkTimeout=6000\n` +
      `journalDirectory=${dir}/journal\nledgerDirectories=${dir}/ledgers\njournalPreAllocSizeMB=1\n${opts.bookieConf ?? ''}\n`
    const {config} = parseBookieConfig(text, `${dir}.conf`)
    const service = await BookieService.start({config, openCore: opts.openCore?.(i), readOnlyPollMs: opts.readOnlyPollMs})
    bookies.set(service.bookieId, service)
    bookieIds.push(service.bookieId)
    confText.set(service.bookieId, text)
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
    const parent = root.slice(0, root.lastIndexOf('/'))
    if (parent !== '') await zk.mkdirp(parent)
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
      bookieIds,
      uri,
      async ledgerClient(config, more) {
        const c = await LedgerClient.connect({...more, zkServers, ledgersRootPath: root, config})
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
      confFile(bookieId = bookieIds[0] as BookieId) {
        const text = confText.get(bookieId)
        if (text === undefined) throw new Error(`no bookie ${bookieId}`)
        const file = join(tmp.path, `${bookieId.replace(':', '_')}.conf`)
        writeFileSync(file, text)
        return file
      },
      close,
    }
  } catch (e) {
    await close()
    throw e
  }
}
