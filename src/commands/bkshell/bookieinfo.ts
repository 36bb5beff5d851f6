/**
 * `dlog bkshell bookieinfo`: asks every registered bookie for its disk space and state over the wire
 * (BOOKIE_INFO). Logic: engine bookie/admin.ts bookieInfo().
 */
import {BkshellCommand, confFlag} from '../../cli/bkshell.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {renderTable} from '../../cli/render.js'
import {bookieInfo} from '../../engine/index.js'

function formatBytes(n: number | undefined): string {
  if (n === undefined) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`
}

export default class BookieInfo extends BkshellCommand {
  static override summary = 'Show free and total disk space of every registered bookie'

  static override description = `Lists the bookies registered under <zkLedgersRootPath>/available (and \
available/readonly), asks each one over the bookie protocol for its free and total ledger-disk space \
and read-only state, and prints a table. A bookie that cannot be reached is shown with the error, and \
the command exits 1. The configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [{description: 'Disk space of all bookies', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %>'}]

  static override flags = {
    conf: confFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(BookieInfo)
    const config = this.loadConfig(flags.conf)
    const rows = await this.withZk(config, (zk) => bookieInfo(zk, config.zkLedgersRootPath))
    if (rows.length === 0) {
      this.log('No bookie is registered.')
      return
    }
    this.log(
      renderTable(
        ['Bookie', 'State', 'Free', 'Total', 'Used', 'Error'],
        rows.map((r) => [
          r.bookieId,
          r.error ? 'unreachable' : r.readOnly ? 'read-only' : 'read-write',
          formatBytes(r.freeDiskBytes),
          formatBytes(r.totalDiskBytes),
          r.totalDiskBytes ? `${(100 * (1 - (r.freeDiskBytes ?? 0) / r.totalDiskBytes)).toFixed(1)}%` : '',
          r.error ?? '',
        ]),
      ),
    )
    if (rows.some((r) => r.error)) this.exit(ExitCode.FAILURE)
  }
}
