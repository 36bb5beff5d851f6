/**
 * `dlog zkshell HOST:PORT [COMMAND ...]`: the ZooKeeper shell of DistributedLog's `bin/dlog zkshell`
 * (stock zkCli there). Logic lives in the engine (zookeeper/client/shell.ts); this only wires stdio.
 */
import {Args} from '@oclif/core'

import {DlogCommand} from '../cli/base-command.js'
import {runShell, ZKClient} from '../engine/index.js'

export default class ZkShell extends DlogCommand {
  static override summary = 'Run a ZooKeeper shell (zkCli commands) against HOST:PORT'

  static override description = `Connects to a ZooKeeper server (ours or Apache ZooKeeper) and runs zkCli commands: \
ls [-s] [-w] [-R] path, stat [-w] path, get [-s] [-w] path, set [-s] [-v version] path data, \
create [-s] [-e] path [data], delete [-v version] path, deleteall path, sync path, history, redo cmdno, help, quit.

With a COMMAND it runs that one command and exits (1 if it failed, 2 on bad usage, 4 if the server \
cannot be reached). Without one it reads commands: with a prompt on a terminal, line by line from a \
pipe (exit 0 at end of input). Output, error wording and the Stat layout follow zkCli 3.8; ls sorts \
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

  // The command's own options (create -e, ls -s, ...) must reach the shell untouched.
  static override strict = false

  async run(): Promise<void> {
    const [server, ...command] = this.argv
    if (server === undefined || server.startsWith('-')) {
      await this.parse(ZkShell)
      this.error('missing HOST:PORT', {exit: 2})
    }
    const code = await runShell({
      connectString: server,
      command,
      connect: (connectString) => ZKClient.connect({connectString, connectTimeoutMs: 10_000}),
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    })
    if (code !== 0) this.exit(code)
  }
}
