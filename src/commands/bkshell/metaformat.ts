/**
 * `dlog bkshell metaformat`: formats the bookkeeper metadata under zkLedgersRootPath (BookKeeper's
 * BookieShell metaformat). Logic: engine bookie/admin.ts metaformat().
 */
import {Flags} from '@oclif/core'

import {DeclinedError} from '../../cli/base-command.js'
import {BkshellCommand, confFlag} from '../../cli/bkshell.js'
import {metaformat} from '../../engine/index.js'

export default class Metaformat extends BkshellCommand {
  static override summary = 'Format the bookkeeper metadata in ZooKeeper'

  static override description = `Lays out <zkLedgersRootPath> for a new cluster: available, available/readonly, \
cookies, INSTANCEID (a new random id), LAYOUT and idgen (the ledger id generator; ledger metadata then \
goes under <zkLedgersRootPath>/00/0000/L0001 and so on). When the root already exists it asks \
"Are you sure to format bookkeeper metadata ? (Y or N)" and, on Y, deletes everything under it first, \
ledger metadata included (every bookie must then be re-formatted with bookieformat). The root's parent must exist: create it with \
dlog zkshell first. The configuration comes from --conf or the BOOKIE_CONF environment variable.`

  static override examples = [
    {description: 'Format, confirming at the prompt', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %>'},
    {description: 'Format in a script; refuse if metadata exists', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -n'},
    {description: 'Wipe and re-format without asking', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -f'},
  ]

  static override flags = {
    conf: confFlag,
    nonInteractive: Flags.boolean({char: 'n', aliases: ['non-interactive'], description: 'never prompt; refuse if the root already has data'}),
    force: Flags.boolean({char: 'f', description: 'wipe existing metadata without prompting'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Metaformat)
    const config = this.loadConfig(flags.conf)
    const r = await this.withZk(config, (zk) =>
      metaformat({zk, root: config.zkLedgersRootPath, force: flags.force, nonInteractive: flags.nonInteractive, confirm: (q) => this.ask(q)}),
    )
    if (!r.done) throw new DeclinedError()
    this.endPromptLine()
    this.log(r.message)
  }
}
