/**
 * `dlog tool readlac -u <uri> -l <ledger> | -s <stream>`: the last add confirmed of a ledger, asked of
 * its bookies without fencing it (DistributedLogTool's readlac), or of a stream's last log segment.
 * Logic: LedgerClientApi.openLedgerNoRecovery + ReadHandle.readLastAddConfirmed.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {closing} from '../../cli/closing.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {InvalidInputError, isLedgerId, LogEmptyError, LogNotFoundError} from '../../engine/index.js'

export default class ToolReadlac extends DlogCommand {
  static override summary = 'Print the last add confirmed of a ledger or of a stream\'s last segment'

  static override description = `Prints "LastAddConfirmed: <n>": the highest entry id the bookies of the ledger \
confirm, read without fencing (a writer on it carries on). -l names the ledger, as the original; -s names a stream \
instead and reads the ledger of its last log segment (the one being written, if any). -1 means no entry yet.`

  static override examples = [
    {description: 'A ledger', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -l 12'},
    {description: 'The segment a stream is writing', command: '<%= config.bin %> <%= command.id %> -s stream-0'},
  ]

  static override flags = {
    uri: uriFlag,
    ledger: Flags.string({char: 'l', description: 'ledger id'}),
    stream: Flags.string({char: 's', description: 'stream name: read its last log segment\'s ledger'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolReadlac)
    if ((flags.ledger === undefined) === (flags.stream === undefined)) {
      this.error('No ledger provided. Give -l <ledger id> or -s <stream>.', {exit: ExitCode.USAGE})
    }
    let ledgerId: number | undefined
    if (flags.ledger !== undefined) {
      ledgerId = /^\d+$/.test(flags.ledger) ? Number(flags.ledger) : Number.NaN
      if (!isLedgerId(ledgerId)) throw new InvalidInputError(`Invalid ledger id : ${flags.ledger}`)
    }
    const uri = resolveNamespaceUri(flags.uri)
    await withNamespace(uri, async (ns) => {
      if (flags.stream !== undefined) {
        const stream = flags.stream
        if (!(await ns.logExists(stream))) throw new LogNotFoundError(stream)
        const last = (await ns.getLogSegments(stream)).at(-1)
        if (last === undefined) throw new LogEmptyError(`Log ${stream} has no log segments`)
        ledgerId = last.ledgerId
        this.logToStderr(`Log segment ${last.logSegmentSequenceNo} of ${stream} (${last.inprogress ? 'in progress' : 'completed'}) is ledger ${ledgerId}`)
      }
      await closing(await (await ns.ledgerClient()).openLedgerNoRecovery(ledgerId as number), async (handle) => {
        this.log(`LastAddConfirmed: ${await handle.readLastAddConfirmed()}`)
      })
    })
  }
}
