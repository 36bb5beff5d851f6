/**
 * `dlog bkshell metaformat`: formats the bookkeeper metadata under zkLedgersRootPath (BookKeeper's
 * BookieShell metaformat). Logic: engine bookie/admin.ts metaformat().
 */
import {Flags} from '@oclif/core'

import {DeclinedError, DlogCommand} from '../../cli/base-command.js'
import {confirm} from '../../cli/prompt.js'
import {loadBookieConfigFrom, metaformat, ZKClient} from '../../engine/index.js'

export default class Metaformat extends DlogCommand {
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
    conf: Flags.string({char: 'c', description: 'bookie configuration file (default: $BOOKIE_CONF)'}),
    nonInteractive: Flags.boolean({char: 'n', aliases: ['non-interactive'], description: 'never prompt; refuse if the root already has data'}),
    force: Flags.boolean({char: 'f', description: 'wipe existing metadata without prompting'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Metaformat)
    const {config, warnings} = loadBookieConfigFrom({conf: flags.conf, env: process.env})
    for (const w of warnings) this.warn(w)
    let prompted = false
    const zk = await ZKClient.connect({connectString: config.zkServers, sessionTimeoutMs: config.zkTimeoutMs})
    try {
      const r = await metaformat({
        zk,
        root: config.zkLedgersRootPath,
        force: flags.force,
        nonInteractive: flags.nonInteractive,
        confirm: (q) => {
        prompted = true
        return confirm(q)
      },
      })
      if (!r.done) throw new DeclinedError()
      // A piped answer is not echoed: end the prompt's line before the result.
      if (prompted && !process.stdin.isTTY) this.log('')
      this.log(r.message)
    } finally {
      await zk.close()
    }
  }
}
