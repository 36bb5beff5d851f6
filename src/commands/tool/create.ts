/**
 * `dlog tool create -u <uri> -r <prefix> -e <expression>`: creates logs named by a prefix and an
 * index expression (DistributedLogTool's create). Logic: engine log/stream-expression.ts, Namespace.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {confirmOrDecline} from '../../cli/prompt.js'
import {expandStreamExpression} from '../../engine/index.js'

export default class ToolCreate extends DlogCommand {
  static override summary = 'Create streams (logs) in a namespace'

  static override description = `Creates the logs <prefix><index> for every index the expression names: a range \
x-y is inclusive (0-10 is eleven streams), a list 1,3,5 names those indexes, anything else is one literal \
suffix. Lists the streams and asks "(Y or N)" first unless -f is given; a closed stdin answers No. Creating a \
stream that exists is a no-op. The namespace comes from -u, else DLOG_URI, else the running sandbox.`

  static override examples = [
    {description: 'Eleven streams stream-0 .. stream-10', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -r stream- -e 0-10'},
    {description: 'On the running sandbox, without prompting', command: '<%= config.bin %> <%= command.id %> -r messaging-stream- -e 1,3,5 -f'},
  ]

  static override flags = {
    uri: uriFlag,
    prefix: Flags.string({char: 'r', description: 'stream name prefix'}),
    expression: Flags.string({char: 'e', description: 'index range x-y (inclusive), list a,b,c, or a literal suffix'}),
    force: Flags.boolean({char: 'f', description: 'create without prompting'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolCreate)
    if (flags.prefix === undefined || flags.expression === undefined) {
      this.error('Please specify stream prefix & expression.', {exit: ExitCode.USAGE})
    }
    const streams = expandStreamExpression(flags.prefix, flags.expression)
    if (streams.length === 0) {
      this.log('Nothing to create.')
      return
    }
    const uri = resolveNamespaceUri(flags.uri)
    await withNamespace(uri, async (ns) => {
      if (!flags.force) await confirmOrDecline(`You are going to create streams : [${streams.join(', ')}]`)
      for (const s of streams) await ns.createLog(s)
    })
  }
}
