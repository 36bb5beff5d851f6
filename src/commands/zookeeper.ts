/**
 * `dlog zookeeper`: runs our ZooKeeper-compatible server in the foreground (what `dlog-daemon.sh start
 * zookeeper conf/zookeeper.conf` ran). Config parsing and the server live in the engine; this wires
 * flags, signals and the one "serving" line.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../cli/base-command.js'
import {ExitCode} from '../cli/exit-codes.js'
import {
  defaultZKServerConfig,
  loadZKServerConfig,
  Logger,
  type ZKServerConfig,
  zkServerOptionsFromConfig,
  ZKServer,
} from '../engine/index.js'

const FAILURE_POLL_MS = 1_000

export default class ZookeeperCommand extends DlogCommand {
  static override summary = 'Run a standalone ZooKeeper server in the foreground'

  static override description = `Starts dlog's ZooKeeper-compatible server (Apache ZooKeeper 3.8 clients, \
zkCli and node-zookeeper-client work against it). Settings come from a zoo.cfg-style file (--conf; \
DistributedLog's zookeeper.conf.template runs unchanged: its server.1 line supplies the client port) \
and/or flags, flags winning. Keys: clientPort, clientPortAddress, dataDir, dataLogDir, tickTime, \
maxClientCnxns, minSessionTimeout, maxSessionTimeout, 4lw.commands.whitelist, snapCount; ensemble keys \
(initLimit, syncLimit, server.N, ...) are accepted and ignored, unknown keys are warned about.

With a dataDir every change is fsynced to its transaction log before it is acknowledged and survives a \
restart; without one the server keeps everything in memory (a warning says so). Unlike ZooKeeper, it \
listens on 127.0.0.1 unless clientPortAddress or --host says otherwise.

Prints one line once it is serving; SIGINT or SIGTERM stops it cleanly (exit 0).`

  static override examples = [
    {description: 'In memory on the default port', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Persistent, on port 2181 of every interface', command: '<%= config.bin %> <%= command.id %> --data-dir /var/lib/dlog/zk --host 0.0.0.0'},
    {description: "DistributedLog's template", command: '<%= config.bin %> <%= command.id %> --conf conf/zookeeper.conf'},
  ]

  static override flags = {
    conf: Flags.string({char: 'c', description: 'zoo.cfg-style configuration file'}),
    port: Flags.integer({char: 'p', min: 0, max: 65535, description: 'client port (clientPort; default 2181, 0 = any free port)'}),
    host: Flags.string({description: 'address to listen on (clientPortAddress; default 127.0.0.1)'}),
    'data-dir': Flags.string({description: 'data directory (dataDir); without one the server runs in memory'}),
    'tick-time': Flags.integer({min: 1, max: 3_600_000, description: 'tick in ms (tickTime; default 2000)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ZookeeperCommand)
    const logger = new Logger({scope: 'dlog'})
    let base: ZKServerConfig
    if (flags.conf === undefined) base = defaultZKServerConfig()
    else {
      const parsed = loadZKServerConfig(flags.conf)
      for (const w of parsed.warnings) this.warn(w)
      base = parsed.config
    }
    const config = defaultZKServerConfig({
      ...base,
      ...(flags.port === undefined ? {} : {port: flags.port}),
      ...(flags.host === undefined ? {} : {host: flags.host}),
      ...(flags['data-dir'] === undefined ? {} : {dataDir: flags['data-dir']}),
      ...(flags['tick-time'] === undefined
        ? {}
        : {tickTimeMs: flags['tick-time'], minSessionTimeoutMs: undefined, maxSessionTimeoutMs: undefined}),
    })
    if (config.dataDir === undefined) this.warn('no dataDir: running in memory, nothing survives a restart')
    const server = await ZKServer.start(zkServerOptionsFromConfig(config, {logger}))
    const where = config.dataDir === undefined ? 'in memory' : `dataDir ${config.dataDir}`
    this.log(`ZooKeeper server serving on ${server.host}:${server.port} (${where})`)
    let stop!: () => void
    const stopped = new Promise<void>((resolve) => (stop = resolve))
    // The store failing (disk full, I/O error) stops the server from serving: exit instead of idling.
    const poll = setInterval(() => {
      if (server.stats().failure !== undefined) stop()
    }, FAILURE_POLL_MS)
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
    await stopped
    clearInterval(poll)
    const failure = server.stats().failure
    await server.close()
    if (failure !== undefined) this.error(failure, {exit: ExitCode.FAILURE})
  }
}
