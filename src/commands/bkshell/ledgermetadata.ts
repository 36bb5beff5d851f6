/**
 * `dlog bkshell ledgermetadata -l ID`: one ledger's metadata as stored in ZooKeeper (state, quorums,
 * ensembles, last entry, length, custom metadata). Logic: engine ledger/zk-metadata-store.ts.
 */
import {Flags} from '@oclif/core'

import {BkshellCommand, confFlag, ledgerIdFlag} from '../../cli/bkshell.js'
import {ledgerMetadataView, ledgerPath} from '../../engine/index.js'

export default class LedgerMetadataCommand extends BkshellCommand {
  static override summary = 'Print the metadata of one ledger'

  static override description = `Prints the ledger's metadata from ZooKeeper \
(<zkLedgersRootPath>/00/0000/L0001 for ledger 1): state, ensemble size, write and ack quorum, last entry \
id and length (once closed), digest type, creation time, each ensemble with the entry it starts at, and \
the custom metadata (as text when printable, else base64). The password is never printed, only its \
length. --json prints the same fields as a JSON object. The configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [
    {description: 'Ledger 1', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %> -l 1'},
    {description: 'For a script', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -l 1 --json'},
  ]

  static override flags = {
    conf: confFlag,
    ledgerid: ledgerIdFlag,
    json: Flags.boolean({description: 'print JSON instead of text'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LedgerMetadataCommand)
    this.checkLedgerId(flags.ledgerid)
    const config = this.loadConfig(flags.conf)
    await this.withMetadataStore(config, async (store) => {
      const {value, version} = await store.readLedgerMetadata(flags.ledgerid)
      const m = ledgerMetadataView(value)
      if (flags.json) {
        this.log(JSON.stringify({...m, znodeVersion: version}, null, 2))
        return
      }
      const lines = [
        `ledgerID: ${m.ledgerId}`,
        `path: ${ledgerPath(config.zkLedgersRootPath, m.ledgerId)} (version ${version})`,
        `state: ${m.state}`,
        `ensembleSize: ${m.ensembleSize}, writeQuorumSize: ${m.writeQuorumSize}, ackQuorumSize: ${m.ackQuorumSize}`,
        `lastEntryId: ${m.lastEntryId}`,
        `length: ${m.length}`,
        `digestType: ${m.digestType}`,
        `password: ${m.passwordBytes} bytes (not shown)`,
        `ctime: ${new Date(m.ctimeMs).toISOString()} (${m.ctimeMs})`,
        'ensembles:',
        ...m.ensembles.map((s) => `  ${s.firstEntryId}: [${s.bookies.join(', ')}]`),
        `customMetadata:${Object.keys(m.customMetadata).length === 0 ? ' (none)' : ''}`,
        ...Object.entries(m.customMetadata).map(([k, v]) => `  ${k}: ${v}`),
      ]
      this.log(lines.join('\n'))
    })
  }
}
