/**
 * `dlog local [ZK_PORT]`: the DistributedLog sandbox (LocalDLMEmulator) in one command: ZooKeeper,
 * bookies in child processes and the namespace, in the foreground until Ctrl-C or SIGTERM. The engine
 * (cluster/sandbox.ts) does the work; this shows progress, the ready line and the table, records the
 * sandbox in the state file other commands read for their default namespace, and stops cleanly.
 */
import {Args, Flags} from '@oclif/core'

import {DlogCommand} from '../cli/base-command.js'
import {ExitCode} from '../cli/exit-codes.js'
import {renderTable, withSpinner} from '../cli/render.js'
import {liveSandboxes, removeSandboxState, sandboxStatePath, writeSandboxState} from '../cli/sandbox-state.js'
import {ClusterError, errorMessage, Sandbox, SANDBOX_BOOKIES_DEFAULT, SANDBOX_BOOKIES_MAX} from '../engine/index.js'

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

export default class LocalCommand extends DlogCommand {
  static override summary = 'Run a DistributedLog sandbox: ZooKeeper, bookies and a namespace, in one command'

  static override description = `Starts, in the foreground, everything a DistributedLog application needs on this machine: \
ZooKeeper on 127.0.0.1:ZK_PORT, the bookkeeper metadata at /ledgers, ${SANDBOX_BOOKIES_DEFAULT} bookies (--bookies N; each in its own \
process, on free ports) and the namespace distributedlog://127.0.0.1:ZK_PORT/messaging/distributedlog. Once ready it prints \
"DistributedLog Sandbox is running now. You could access <uri>" and a table of the components.

Data lives in a temporary directory removed on exit, or in --data-dir DIR, which a later run with the same \
port reuses (ZooKeeper data, bookie data and ports). While the sandbox runs, other dlog commands use its \
namespace when no -u is given (unless DLOG_URI is set); the record lives in $DLOG_STATE_DIR (default a \
per-user directory under the system temp dir).

Ctrl-C or SIGTERM stops the bookies gracefully, then ZooKeeper, and prints "ByeBye!". If the sandbox \
itself is killed, its bookies notice and exit. A port in use, an unusable directory or a second sandbox \
on the same port fails with a message and leaves nothing running.`

  static override examples = [
    {description: 'The tutorials\' sandbox', command: '<%= config.bin %> <%= command.id %> 7000'},
    {description: 'Five bookies, data kept across runs', command: '<%= config.bin %> <%= command.id %> 7000 --bookies 5 --data-dir ~/dlog-sandbox'},
  ]

  static override args = {
    ZK_PORT: Args.integer({default: 7000, min: 0, max: 65535, description: 'ZooKeeper client port (default 7000)'}),
  }

  static override flags = {
    bookies: Flags.integer({
      char: 'b',
      default: SANDBOX_BOOKIES_DEFAULT,
      min: 1,
      max: SANDBOX_BOOKIES_MAX,
      description: 'number of bookies',
    }),
    'data-dir': Flags.string({char: 'd', description: 'keep the data in this directory (reused by the next run); default a temp dir removed on exit'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(LocalCommand)
    const requested = args.ZK_PORT
    const other = requested === 0 ? undefined : liveSandboxes().get(requested)
    if (other !== undefined) {
      throw new ClusterError('ALREADY_RUNNING', `a dlog sandbox (pid ${other.pid}) is already running on port ${requested}: ${other.uri}`)
    }

    // Signals during start are remembered and honoured once the start has finished or failed.
    let stop!: (signal: string) => void
    let signalled = false
    const stopped = new Promise<string>((resolve) => (stop = resolve))
    const onSignal = (signal: string): void => {
      signalled = true
      stop(signal)
    }
    for (const s of STOP_SIGNALS) process.once(s, onSignal)

    const step = <T>(what: string, work: () => Promise<T>): Promise<T> => {
      if (!process.stderr.isTTY) this.log(`${what} ...`)
      return withSpinner(what, work)
    }
    const sandbox = await Sandbox.start({
      zkPort: requested,
      bookies: flags.bookies,
      dataDir: flags['data-dir'],
      step,
      onBookieExit: (b, how) =>
        this.warn(`${b.name} (${b.bookieId}, pid ${b.pid}) exited unexpectedly (${how.signal ?? `code ${how.code}`}); see ${b.logPath}`),
    })
    let statePath: string | undefined
    if (!signalled) statePath = this.announce(sandbox)
    await stopped
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal)
    // A second Ctrl-C while stopping falls through to the default handler (exits at once); the
    // bookies then notice their parent is gone and exit by themselves.
    if (statePath !== undefined) removeSandboxState(sandbox.zkPort)
    try {
      await sandbox.close()
    } catch (e) {
      this.error(`the sandbox did not stop cleanly: ${errorMessage(e)}`, {exit: ExitCode.FAILURE})
    }
    this.log('ByeBye!')
  }

  /** Records the sandbox for other commands and prints the ready line and the table. */
  private announce(sandbox: Sandbox): string | undefined {
    let statePath: string | undefined
    try {
      statePath = writeSandboxState(sandbox.zkPort, {
        pid: process.pid,
        uri: sandbox.uri,
        zkAddress: sandbox.zkAddress,
        dataDir: sandbox.dataDir,
        startedAt: new Date().toISOString(),
      })
    } catch (e) {
      this.warn(`cannot record the sandbox in ${sandboxStatePath(sandbox.zkPort)} (other commands will need -u): ${errorMessage(e)}`)
    }

    this.log(`DistributedLog Sandbox is running now. You could access ${sandbox.uri}`)
    this.log(
      renderTable(
        ['component', 'address', 'stats port', 'data directory'],
        sandbox.components.map((c) => [c.component, c.address, c.statsPort, c.dataDir]),
      ),
    )
    if (sandbox.temporary) this.log(`Data is temporary (removed on exit); keep it with --data-dir.`)
    return statePath
  }
}
