/**
 * `dlog bookie --conf bookie.conf [--readonly]`: runs one bookie in the foreground (what
 * `dlog-daemon.sh start bookie --conf ...` ran). Logic lives in the engine (BookieService); this wires
 * the config, signals and the shutdown messages operators know from dlog-daemon.sh.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../cli/base-command.js'
import {ExitCode} from '../cli/exit-codes.js'
import {BookieService, loadBookieConfig, Logger} from '../engine/index.js'

export default class BookieCommand extends DlogCommand {
  static override summary = 'Run a bookie (storage node) in the foreground'

  static override description = `Starts a bookie from a BookKeeper-style bookie.conf: it checks its cookies \
(refusing to start when its directories or configuration changed), replays its journal, listens on \
advertisedAddress:bookiePort, registers itself in ZooKeeper under <zkLedgersRootPath>/available (or \
available/readonly with --readonly or when its disks fill up) and serves /ping and /metrics on \
codahaleStatsHttpPort. The metadata must have been formatted first (dlog bkshell metaformat).

SIGTERM or SIGINT stops it gracefully: it unregisters, answers the requests in flight, checkpoints and \
exits 0, printing "Shutdown is in progress... Please wait..." and "Shutdown completed.". Logs go to stderr.`

  static override examples = [
    {description: 'Start the first bookie of the cluster-setup guide', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf'},
    {description: 'Start it read-only (serves reads, refuses adds)', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf --readonly'},
  ]

  static override flags = {
    conf: Flags.string({char: 'c', required: true, description: 'bookie configuration file (bookie.conf)'}),
    readonly: Flags.boolean({description: 'start read-only: register under available/readonly and refuse adds'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(BookieCommand)
    const {config, warnings} = loadBookieConfig(flags.conf, {forceReadOnly: flags.readonly})
    for (const w of warnings) this.warn(w)
    const logger = new Logger({scope: 'dlog'})
    let fatal: string | undefined
    let stop!: () => void
    const stopped = new Promise<void>((resolve) => (stop = resolve))
    const service = await BookieService.start({
      config,
      logger,
      onFatal: (reason) => {
        fatal = reason
        stop()
      },
    })
    const stats = service.stats ? `, stats on http://${service.stats.host}:${service.stats.port}` : ''
    this.log(`Bookie ${service.bookieId} is running (registered at ${service.registrationPath}${stats}).`)
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
    await stopped
    this.log('Shutdown is in progress... Please wait...')
    await service.close()
    this.log('Shutdown completed.')
    if (fatal !== undefined) this.error(fatal, {exit: ExitCode.FAILURE})
  }
}
