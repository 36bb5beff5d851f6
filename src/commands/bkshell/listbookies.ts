/**
 * `dlog bkshell listbookies -rw|-ro|-a`: the bookies registered in ZooKeeper and their state.
 * Logic: engine bookie/admin.ts listBookies().
 */
import {Flags} from '@oclif/core'

import {BkshellCommand, confFlag} from '../../cli/bkshell.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {renderTable} from '../../cli/render.js'
import {listBookies} from '../../engine/index.js'

export default class ListBookies extends BkshellCommand {
  static override summary = 'List the bookies registered in ZooKeeper'

  static override description = `Prints a table of bookie address and state (read-write or read-only) from \
<zkLedgersRootPath>/available and available/readonly. One of -rw (read-write bookies), -ro (read-only \
bookies) or -a (all) is required, as in BookKeeper's shell; --readwrite, --readonly and --all are the \
long forms. The configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [
    {description: 'All bookies', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %> -a'},
    {description: 'Read-only bookies', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -ro'},
  ]

  static override flags = {
    conf: confFlag,
    readwrite: Flags.boolean({aliases: ['rw'], description: 'list read-write bookies (-rw)'}),
    readonly: Flags.boolean({aliases: ['ro'], description: 'list read-only bookies (-ro)'}),
    all: Flags.boolean({char: 'a', description: 'list all bookies'}),
  }

  async run(): Promise<void> {
    // BookKeeper spells the options -rw and -ro (one dash, two letters); turn them into long flags.
    const argv = this.argv.map((a) => (a === '-rw' ? '--readwrite' : a === '-ro' ? '--readonly' : a))
    const {flags} = await this.parse(ListBookies, argv)
    if (!flags.readwrite && !flags.readonly && !flags.all) {
      this.error('one of -rw, -ro or -a is required', {exit: ExitCode.USAGE})
    }
    const config = this.loadConfig(flags.conf)
    await this.withZk(config, async (zk) => {
      const bookies = await listBookies(zk, config.zkLedgersRootPath, {
        readWrite: flags.all || flags.readwrite,
        readOnly: flags.all || flags.readonly,
      })
      if (bookies.length === 0) {
        this.log('No bookie is registered.')
        return
      }
      this.log(renderTable(['Bookie', 'State'], bookies.map((b) => [b.bookieId, b.state])))
    })
  }
}
