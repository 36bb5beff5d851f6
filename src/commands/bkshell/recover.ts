/**
 * `dlog bkshell recover -l ID`: opens a ledger with recovery (fence, recover the last entries, close)
 * and prints the closed ledger. Logic: engine ledger/recovery.ts through the LedgerClient.
 */
import {Flags} from '@oclif/core'

import {DeclinedError} from '../../cli/base-command.js'
import {BkshellCommand, confFlag, ledgerIdFlag} from '../../cli/bkshell.js'

export default class Recover extends BkshellCommand {
  static override summary = 'Recover and close a ledger'

  static override description = `Opens the ledger with recovery, as a new writer taking over does: fences \
it on its bookies (its current writer, if still alive, can no longer add entries), finds the last entry \
any ack quorum may have confirmed, copies the entries past the LAC to a full write quorum, and closes \
the ledger with that last entry id and length. A ledger already closed is left as it is. Asks \
"Are you sure to recover ledger <id> ? (Y or N)" unless -f is given. Prints the state, last entry id and \
length afterwards (--json for a script). The configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [
    {description: 'Recover ledger 3, confirming at the prompt', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %> -l 3'},
    {description: 'Without the prompt, JSON result', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -l 3 -f --json'},
  ]

  static override flags = {
    conf: confFlag,
    ledgerid: ledgerIdFlag,
    force: Flags.boolean({char: 'f', description: 'recover without asking'}),
    json: Flags.boolean({description: 'print JSON instead of text'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Recover)
    this.checkLedgerId(flags.ledgerid)
    const config = this.loadConfig(flags.conf)
    if (!flags.force) {
      const yes = await this.ask(`Are you sure to recover ledger ${flags.ledgerid} ?`)
      this.endPromptLine()
      if (!yes) throw new DeclinedError()
    }
    await this.withLedgerClient(config, async (client) => {
      const before = (await client.getLedgerMetadata(flags.ledgerid)).value.state
      const handle = await client.openLedger(flags.ledgerid)
      const m = handle.metadata
      await handle.close()
      const result = {
        ledgerId: m.ledgerId,
        stateBefore: before,
        state: m.state,
        lastEntryId: m.lastEntryId,
        length: m.length,
        ensembles: m.ensembles.map((s) => ({firstEntryId: s.firstEntryId, bookies: s.bookies})),
      }
      if (flags.json) {
        this.log(JSON.stringify(result, null, 2))
        return
      }
      this.log(
        before === 'CLOSED'
          ? `Ledger ${m.ledgerId} was already closed: last entry ${m.lastEntryId}, length ${m.length} bytes.`
          : `Ledger ${m.ledgerId} recovered and closed: last entry ${m.lastEntryId}, length ${m.length} bytes.`,
      )
      for (const s of result.ensembles) this.log(`  ensemble from entry ${s.firstEntryId}: [${s.bookies.join(', ')}]`)
    })
  }
}
