/**
 * `dlog tool list -u <uri>`: the streams of a namespace, framed as DistributedLogTool's list prints them.
 * Logic: Namespace.getLogs.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'

const RULE = '-'.repeat(32)

export default class ToolList extends DlogCommand {
  static override summary = 'List the streams (logs) of a namespace'

  static override description = `Prints "Streams under <uri> : " and one stream name per line between two rulers, \
as the original (nested names as a/b/c; names starting with . or < are the namespace's own and hidden). \
Unlike the original the names are sorted. -r keeps the names starting with a prefix; --json prints an array.`

  static override examples = [
    {description: 'All streams', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog'},
    {description: 'Streams of the running sandbox starting with stream-', command: '<%= config.bin %> <%= command.id %> -r stream-'},
  ]

  static override flags = {
    uri: uriFlag,
    prefix: Flags.string({char: 'r', description: 'only streams whose name starts with this'}),
    json: Flags.boolean({description: 'print the names as a JSON array'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolList)
    const uri = resolveNamespaceUri(flags.uri)
    const names = await withNamespace(uri, (ns) => ns.getLogs())
    const shown = flags.prefix === undefined ? names : names.filter((n) => n.startsWith(flags.prefix as string))
    if (flags.json) {
      this.log(JSON.stringify(shown))
      return
    }
    this.log(`Streams under ${uri} : `)
    this.log(RULE)
    for (const n of shown) this.log(n)
    this.log(RULE)
  }
}
