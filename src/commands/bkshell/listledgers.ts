/**
 * `dlog bkshell listledgers`: every ledger of the cluster with its state, quorums, last entry and
 * length, read from the ledger metadata in ZooKeeper. Logic: engine ledger/zk-metadata-store.ts.
 */
import {Flags} from '@oclif/core'

import {BkshellCommand, confFlag} from '../../cli/bkshell.js'
import {renderTable} from '../../cli/render.js'
import {ledgerMetadataView, readLedgerMetadataMany} from '../../engine/index.js'

export default class ListLedgers extends BkshellCommand {
  static override summary = 'List the ledgers of the cluster'

  static override description = `Prints one row per ledger: id, state (OPEN, IN_RECOVERY, CLOSED), ensemble size, \
write and ack quorum (E/Qw/Qa), last entry id and length in bytes (both known once the ledger is closed; \
-1 and 0 before). -m adds each ledger's ensembles. --json prints the same as a JSON array for scripts \
(with -m, each ledger's full metadata as ledgermetadata --json shows it). The ledgers are read from \
<zkLedgersRootPath> in ZooKeeper; the configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [
    {description: 'All ledgers as a table', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %>'},
    {description: 'With their ensembles', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -m'},
    {description: 'For a script', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf --json'},
  ]

  static override flags = {
    conf: confFlag,
    meta: Flags.boolean({char: 'm', description: 'also print each ledger\'s metadata (ensembles)'}),
    json: Flags.boolean({description: 'print JSON instead of a table'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ListLedgers)
    const config = this.loadConfig(flags.conf)
    await this.withMetadataStore(config, async (store) => {
      const ledgers = (await readLedgerMetadataMany(store, await store.listLedgers())).map((v) => ledgerMetadataView(v.value))
      if (flags.json) {
        const rows = flags.meta
          ? ledgers
          : ledgers.map(({ledgerId, state, ensembleSize, writeQuorumSize, ackQuorumSize, lastEntryId, length}) => ({
              ledgerId,
              state,
              ensembleSize,
              writeQuorumSize,
              ackQuorumSize,
              lastEntryId,
              length,
            }))
        this.log(JSON.stringify(rows, null, 2))
        return
      }
      if (ledgers.length === 0) {
        this.log('No ledgers.')
        return
      }
      const head = ['Ledger', 'State', 'E/Qw/Qa', 'Last entry', 'Length']
      if (flags.meta) head.push('Ensembles')
      const rows = ledgers.map((m) => {
        const row: (string | number)[] = [m.ledgerId, m.state, `${m.ensembleSize}/${m.writeQuorumSize}/${m.ackQuorumSize}`, m.lastEntryId, m.length]
        if (flags.meta) row.push(m.ensembles.map((s) => `${s.firstEntryId}: ${s.bookies.join(', ')}`).join('\n'))
        return row
      })
      this.log(renderTable(head, rows))
    })
  }
}
