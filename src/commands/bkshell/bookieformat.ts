/**
 * `dlog bkshell bookieformat`: wipes one bookie's journal, ledger and index directories (and with -d
 * its cookie), so it can start afresh. Logic: engine bookie/admin.ts bookieformat().
 */
import {Flags} from '@oclif/core'

import {DeclinedError} from '../../cli/base-command.js'
import {BkshellCommand, confFlag} from '../../cli/bkshell.js'
import {bookieformat} from '../../engine/index.js'

export default class Bookieformat extends BkshellCommand {
  static override summary = "Format a bookie's local data (and optionally its cookie)"

  static override description = `Empties the journal, ledger and index directories of the bookie described by \
the configuration (--conf or BOOKIE_CONF). When they hold data it asks \
"Are you sure to format Bookie data..? (Y or N)". With -d it also deletes the bookie's cookie in \
ZooKeeper, which a bookie whose directories or address changed needs before it can start again. \
Refuses while a bookie is listening on the configured address. The bookie's ledgers are lost on this \
node: they must be re-replicated from other bookies.`

  static override examples = [
    {description: 'Format the first bookie of the cluster-setup guide', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %>'},
    {description: 'Wipe data and cookie without asking', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -f -d'},
  ]

  static override flags = {
    conf: confFlag,
    nonInteractive: Flags.boolean({char: 'n', aliases: ['non-interactive'], description: 'never prompt; refuse if the directories hold data'}),
    force: Flags.boolean({char: 'f', description: 'wipe without prompting'}),
    deleteCookie: Flags.boolean({char: 'd', aliases: ['delete-cookie'], description: "also delete the bookie's cookie in ZooKeeper"}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Bookieformat)
    const config = this.loadConfig(flags.conf)
    const r = await bookieformat({
      config,
      force: flags.force,
      nonInteractive: flags.nonInteractive,
      deleteCookie: flags.deleteCookie,
      confirm: (q) => this.ask(q),
      connectZk: () => this.connectZk(config),
    })
    if (!r.done) throw new DeclinedError()
    this.endPromptLine()
    this.log(r.message)
  }
}
