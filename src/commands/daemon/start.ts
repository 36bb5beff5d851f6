/**
 * `dlog daemon start <service> [args...]`: dlog-daemon.sh start. Runs `dlog zookeeper` or `dlog bookie`
 * detached with a pid file and a .out log; the engine (cluster/daemon.ts) does the work.
 */
import {Args} from '@oclif/core'
import {join} from 'node:path'

import {DlogCommand} from '../../cli/base-command.js'
import {DAEMON_SERVICES, daemonSettings, parseDaemonService, startDaemon} from '../../engine/index.js'

export default class DaemonStartCommand extends DlogCommand {
  static override summary = 'Start a service (zookeeper, bookie) in the background with a pid file'

  static override description = `Like DistributedLog's \`dlog-daemon.sh start <service> <args...>\`: starts the service \
detached from the terminal, writes its pid to $DLOG_PID_DIR/dlog-<service>-<SERVICE_PORT>.pid and its output to \
$DLOG_LOG_DIR/dlog-<service>-<HOSTNAME>-<SERVICE_PORT>.out (previous outputs kept as .out.1 to .out.5), then waits \
until the service says it is running and prints the head of its output. A service whose pid file names a \
live process is not started twice ("<service> running as process <pid>.  Stop it first.", exit 1).

Services: zookeeper (args: a zookeeper.conf path and/or \`dlog zookeeper\` flags), bookie (args: --conf \
bookie.conf [--readonly]). writeproxy is not available in this version yet.

Environment: DLOG_PID_DIR (default <DLOG_HOME>/pids), DLOG_LOG_DIR (default <DLOG_HOME>/logs), DLOG_HOME \
(default the dlog installation directory), SERVICE_PORT (default 0; only names the files, so give each \
instance on a host its own), WP_SERVICE_PORT (writeproxy's SERVICE_PORT, default 4181).`

  static override examples = [
    {description: 'The cluster-setup guide\'s ZooKeeper', command: '<%= config.bin %> <%= command.id %> zookeeper conf/zookeeper.conf'},
    {description: 'Its first bookie', command: 'SERVICE_PORT=3181 <%= config.bin %> <%= command.id %> bookie --conf conf/bookie-1.conf'},
  ]

  static override args = {
    service: Args.string({required: true, options: [...DAEMON_SERVICES], description: 'the service to start'}),
  }

  async run(): Promise<void> {
    // Everything after the service belongs to the service (`bookie --conf x`): only the part up to the
    // service name is parsed here, so oclif does not reject the service's flags as unknown.
    const argv = [...this.argv]
    const at = argv.findIndex((a) => !a.startsWith('-'))
    const rest = at < 0 ? [] : argv.slice(at + 1)
    const {args} = await this.parse(DaemonStartCommand, at < 0 ? argv : argv.slice(0, at + 1))
    const service = parseDaemonService(args.service)
    const code = await startDaemon({
      service,
      args: rest,
      command: [process.execPath, join(this.config.root, 'bin', 'run.js')],
      settings: daemonSettings(service, process.env, this.config.root),
      env: process.env,
      io: {print: (line) => this.log(line)},
    })
    if (code !== 0) this.exit(code)
  }
}
