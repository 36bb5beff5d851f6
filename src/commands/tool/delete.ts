/**
 * `dlog tool delete -u <uri> -s <stream>`: deletes a stream, its ledgers and its metadata. Refused while a
 * writer holds the stream. Logic: Namespace.deleteLog.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {confirmOrDecline} from '../../cli/prompt.js'
import {LogNotFoundError} from '../../engine/index.js'

export default class ToolDelete extends DlogCommand {
  static override summary = 'Delete a stream (log) with its data'

  static override description = `Deletes the stream's ledgers from the bookies, then its metadata, so no data is \
left behind. Refused while a writer holds the stream's lock (close the writer first). Unlike the original, asks \
"(Y or N)" first unless -f is given; a closed stdin answers No.`

  static override examples = [
    {description: 'Delete one stream', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -s stream-0'},
    {description: 'In a script', command: '<%= config.bin %> <%= command.id %> -s stream-0 -f'},
  ]

  static override flags = {
    uri: uriFlag,
    stream: Flags.string({char: 's', description: 'stream name'}),
    force: Flags.boolean({char: 'f', description: 'delete without prompting'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolDelete)
    if (flags.stream === undefined) this.error('No stream name provided.', {exit: ExitCode.USAGE})
    const stream = flags.stream
    const uri = resolveNamespaceUri(flags.uri)
    await withNamespace(uri, async (ns) => {
      if (!(await ns.logExists(stream))) throw new LogNotFoundError(stream)
      if (!flags.force) await confirmOrDecline(`You are going to delete stream : ${stream}`)
      await ns.deleteLog(stream)
    })
  }
}
