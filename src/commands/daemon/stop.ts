/**
 * `dlog daemon stop <service> [--force]`: dlog-daemon.sh stop. Ends the service named by its pid file
 * gracefully, with progress, and with --force kills what does not stop in time.
 */
import {Args, Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {DAEMON_SERVICES, daemonSettings, parseDaemonService, stopDaemon} from '../../engine/index.js'

export default class DaemonStopCommand extends DlogCommand {
  static override summary = 'Stop a service started with dlog daemon start'

  static override description = `Like DistributedLog's \`dlog-daemon.sh stop <service>\`: reads \
$DLOG_PID_DIR/dlog-<service>-<SERVICE_PORT>.pid, sends SIGTERM and waits up to DLOG_STOP_TIMEOUT seconds \
(default 30), printing "Shutdown is in progress... Please wait..." each second and "Shutdown completed." once \
the service is gone. If it is still running then, --force (the original's -force) kills it ("forcefully \
stopping <service>"); without it the command prints "WARNNING : <service> is not stopped completely." and \
exits 1. No pid file or a dead process: "no <service> to stop". Use the same SERVICE_PORT as at start.`

  static override examples = [
    {description: 'Stop the first bookie', command: 'SERVICE_PORT=3181 <%= config.bin %> <%= command.id %> bookie'},
    {description: 'Stop ZooKeeper, killing it if it will not stop within 10 s', command: 'DLOG_STOP_TIMEOUT=10 <%= config.bin %> <%= command.id %> zookeeper --force'},
  ]

  static override args = {
    service: Args.string({required: true, options: [...DAEMON_SERVICES], description: 'the service to stop'}),
  }

  static override flags = {
    force: Flags.boolean({description: 'kill the service (SIGKILL) if it has not stopped after DLOG_STOP_TIMEOUT'}),
  }

  async run(): Promise<void> {
    // The original spells it -force; oclif would read that as bundled short flags.
    const argv = this.argv.map((a) => (a === '-force' ? '--force' : a))
    const {args, flags} = await this.parse({args: DaemonStopCommand.args, flags: DaemonStopCommand.flags}, argv)
    const service = parseDaemonService(args.service)
    const code = await stopDaemon({
      service,
      force: flags.force,
      settings: daemonSettings(service, process.env, this.config.root),
      io: {print: (line) => this.log(line)},
    })
    if (code !== 0) this.exit(code)
  }
}
