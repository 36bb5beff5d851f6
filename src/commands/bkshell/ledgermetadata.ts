/**
 * `dlog bkshell ledgermetadata -l ID`: one ledger's metadata as stored in ZooKeeper (state, quorums,
 * ensembles, last entry, length, custom metadata). Logic: engine ledger/zk-metadata-store.ts.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {isLedgerId, LEDGER_ID_MAX, ledgerMetadataView, ledgerPath, loadBookieConfigFrom, ZkLedgerMetadataStore} from '../../engine/index.js'

export default class LedgerMetadataCommand extends DlogCommand {
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
    conf: Flags.string({char: 'c', description: 'bookie configuration file (default: $BOOKIE_CONF)'}),
    ledgerid: Flags.integer({char: 'l', description: 'the ledger id', required: true}),
    json: Flags.boolean({description: 'print JSON instead of text'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LedgerMetadataCommand)
    if (!isLedgerId(flags.ledgerid)) this.error(`ledger id must be in [0, ${LEDGER_ID_MAX}], got ${flags.ledgerid}`, {exit: ExitCode.USAGE})
    const {config, warnings} = loadBookieConfigFrom({conf: flags.conf, env: process.env})
    for (const w of warnings) this.warn(w)
    const store = await ZkLedgerMetadataStore.connect(config)
    try {
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
    } finally {
      await store.close()
    }
  }
}
