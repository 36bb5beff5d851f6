/**
 * A real bookie cluster in the test process for ledger client integration tests: an embedded ZooKeeper
 * on port 0 (test/integration/bookie/zk.ts), the metadata formatted under a ledgers root, and N
 * BookieService instances with real cores (journal fsync on) on port 0, each in its own temp dir.
 *
 * `openCore` lets a test wrap a bookie's core (e.g. serve a corrupt copy of one entry); `stop(i)` shuts a
 * bookie down (it unregisters and its port closes: clients fail over); `confFile(i)` writes a bookie.conf
 * naming the cluster, for CLI tests (`--conf`). close() stops everything and removes the dirs.
 *
 * (test/helpers/test-cluster.ts is the general fixture; this one adds core wrappers, nested roots and
 * conf files, which the ledger read/recovery and bkshell tests need.)
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {metaformat} from '../../src/engine/bookie/admin.js'
import {parseBookieConfig, type BookieServerConfig} from '../../src/engine/bookie/config.js'
import {BookieService} from '../../src/engine/bookie/server/bookie-service.js'
import {type OpenBookieCore, openRealBookieCore} from '../../src/engine/bookie/server/core-metrics.js'
import {ZKClient} from '../../src/engine/zookeeper/client/zk-client.js'
import {startZooKeeper} from '../integration/bookie/zk.js'
import type {ZKTarget} from './real-zookeeper.js'
import {makeTmpDir} from './tmp.js'

export interface LedgerCluster {
  zkServer: ZKTarget
  connectString: string
  root: string
  services: (BookieService | undefined)[]
  bookieIds: string[]
  dir: string
  stop(i: number): Promise<void>
  confFile(i?: number): string
  close(): Promise<void>
}

export async function startLedgerCluster(opts: {bookies?: number; root?: string; openCore?: (i: number) => OpenBookieCore | undefined} = {}): Promise<LedgerCluster> {
  const root = opts.root ?? '/ledgers'
  const tmp = makeTmpDir('dlog-ledger-cluster-')
  const zkServer = await startZooKeeper()
  const services: (BookieService | undefined)[] = []
  const configText: string[] = []
  const close = async (): Promise<void> => {
    for (const s of services) await s?.close().catch(() => {})
    await zkServer.close()
    tmp.remove()
  }
  try {
    const zk = await ZKClient.connect({connectString: zkServer.connectString})
    try {
      const parent = root.slice(0, root.lastIndexOf('/'))
      if (parent !== '') await zk.mkdirp(parent)
      await metaformat({zk, root, force: true, nonInteractive: true, confirm: async () => false})
    } finally {
      await zk.close()
    }
    for (let i = 0; i < (opts.bookies ?? 3); i++) {
      const dir = join(tmp.path, `bookie-${i}`)
      const text =
        `zkServers=${zkServer.connectString}\nzkLedgersRootPath=${root}\nbookiePort=0\nzkTimeout=4000\n` +
        `journalDirectory=${dir}/journal\nledgerDirectories=${dir}/ledgers\nadvertisedAddress=127.0.0.1\n`
      configText.push(text)
      const config: BookieServerConfig = parseBookieConfig(text, `bookie-${i}.conf`).config
      services.push(await BookieService.start({config, openCore: opts.openCore?.(i) ?? openRealBookieCore, readOnlyPollMs: 50}))
    }
  } catch (e) {
    await close()
    throw e
  }
  return {
    zkServer,
    connectString: zkServer.connectString,
    root,
    services,
    bookieIds: services.map((s) => (s as BookieService).bookieId),
    dir: tmp.path,
    async stop(i: number) {
      const s = services[i]
      services[i] = undefined
      await s?.close()
    },
    confFile(i = 0) {
      const file = join(tmp.path, `bookie-${i}.conf`)
      writeFileSync(file, configText[i] as string)
      return file
    },
    close,
  }
}

