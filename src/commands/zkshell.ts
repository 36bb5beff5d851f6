/**
 * `dlog zkshell HOST:PORT [COMMAND ...]`: the ZooKeeper shell of DistributedLog's `bin/dlog zkshell`
 * (stock zkCli there). Logic lives in the engine (zookeeper/client/shell.ts); this only wires stdio.
 */
import {Args, Flags} from '@oclif/core'

import {DlogCommand} from '../cli/base-command.js'
import {runShell, ZKClient} from '../engine/index.js'

export default class ZkShell extends DlogCommand {
  static override summary = 'Run a ZooKeeper shell (zkCli commands) against HOST:PORT'

  static override description = `Connects to a ZooKeeper server (ours or Apache ZooKeeper) and runs zkCli commands: \
ls [-s] [-w] [-R] path, stat [-w] path, get [-s] [-w] path, set [-s] [-v version] path data, \
create [-s] [-e] path [data], delete [-v version] path, deleteall path, sync path, history, redo cmdno, help, quit.

With a COMMAND it runs that one command and exits (1 if it failed, 2 on bad usage, 4 if the server \
cannot be reached). Without one it reads commands: with a prompt on a terminal, line by line from a \
pipe; the end of input ends it and, like zkCli, the exit status is the last command's. Output, error wording and the Stat layout follow zkCli 3.8; ls sorts \
children; '' is an empty data value.`

  static override examples = [
    {description: 'Interactive shell', command: '<%= config.bin %> <%= command.id %> localhost:2181'},
    {description: 'Create the BookKeeper root (one-shot)', command: "<%= config.bin %> <%= command.id %> localhost:2181 create /messaging ''"},
    {description: 'List available bookies', command: '<%= config.bin %> <%= command.id %> localhost:2181 ls /messaging/bookkeeper/ledgers/available'},
    {description: 'Run a script', command: "printf 'create /a x\\nget /a\\n' | <%= config.bin %> <%= command.id %> localhost:2181"},
  ]

  static override args = {
    server: Args.string({required: true, description: 'ZooKeeper connect string HOST:PORT[,HOST:PORT...][/chroot]'}),
    command: Args.string({required: false, description: 'a zkCli command and its arguments (one-shot mode)'}),
  }

  static override flags = {
    'connect-timeout': Flags.integer({
      description: 'milliseconds to wait for the connection (give it before HOST:PORT)',
      default: 10_000,
      min: 1,
      max: 3_600_000,
    }),
  }

  // The shell command's own options (create -e, ls -s, ...) must reach the shell untouched, so only
  // options before HOST:PORT belong to dlog.
  static override strict = false

  async run(): Promise<void> {
    const argv = [...this.argv]
    const at = argv.findIndex((a, i) => !a.startsWith('-') && !(i > 0 && argv[i - 1] === '--connect-timeout'))
    const own = at < 0 ? argv : argv.slice(0, at)
    const {flags} = await this.parse({flags: ZkShell.flags, args: {}, strict: true}, own)
    const [server, ...command] = at < 0 ? [] : argv.slice(at)
    if (server === undefined) this.error('missing HOST:PORT (the ZooKeeper server to connect to)', {exit: 2})
    const connectTimeoutMs = flags['connect-timeout']
    const code = await runShell({
      connectString: server,
      command,
      connect: (connectString) => ZKClient.connect({connectString, connectTimeoutMs}),
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    })
    if (code !== 0) this.exit(code)
  }
}
