/**
 * `dlog bkshell deleteledger -l ID [-f]`: deletes a ledger (its metadata; bookies reclaim the entries
 * by garbage collection), after a confirmation prompt unless -f. Logic: engine ledger/zk-metadata-store.ts.
 */
import {Flags} from '@oclif/core'

import {DeclinedError} from '../../cli/base-command.js'
import {BkshellCommand, confFlag, ledgerIdFlag} from '../../cli/bkshell.js'

export default class DeleteLedger extends BkshellCommand {
  static override summary = 'Delete a ledger'

  static override description = `Removes the ledger's metadata from ZooKeeper; every bookie then drops the \
ledger's entries in its next garbage collection. It asks "Are you sure to delete Ledger : <id>? (Y or N)" \
first (as BookKeeper's shell does) unless -f is given. A ledger still in use by a log is lost to it: \
delete only ledgers no log segment refers to. The configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [
    {description: 'Delete ledger 7, confirming at the prompt', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %> -l 7'},
    {description: 'Without asking', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -l 7 -f'},
  ]

  static override flags = {
    conf: confFlag,
    ledgerid: ledgerIdFlag,
    force: Flags.boolean({char: 'f', description: 'delete without prompting'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(DeleteLedger)
    const id = flags.ledgerid
    this.checkLedgerId(id)
    const config = this.loadConfig(flags.conf)
    await this.withMetadataStore(config, async (store) => {
      await store.readLedgerMetadata(id) // a missing ledger fails before the prompt
      if (!flags.force) {
        if (!(await this.ask(`Are you sure to delete Ledger : ${id}?`))) throw new DeclinedError()
        this.endPromptLine()
      }
      await store.removeLedgerMetadata(id, -1)
      this.log(`Deleted ledger ${id}.`)
    })
  }
}
