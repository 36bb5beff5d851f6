/**
 * `dlog admin show <uri>`: the binding that applies to a namespace and where it comes from (the
 * original only had `bind -q`). Logic: engine log/metadata/binding.ts.
 */
import {Args, Flags} from '@oclif/core'

import {AdminCommand} from '../../cli/admin.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {renderTable} from '../../cli/render.js'
import {bindingConfigJson, resolveBinding} from '../../engine/index.js'

export default class AdminShow extends AdminCommand {
  static override summary = 'Show the bookkeeper binding of a namespace'

  static override description = `Resolves the binding as clients do (the namespace znode, else its nearest bound \
parent) and prints its settings as a table, with the znode it was found on. --raw prints the stored Thrift JSON \
as the original's bind -q does; --json prints the settings for scripts. Exits 1 when nothing is bound.`

  static override examples = [
    {description: 'Show a binding', command: '<%= config.bin %> <%= command.id %> distributedlog://127.0.0.1:7000/messaging/distributedlog'},
    {description: 'For scripts', command: '<%= config.bin %> <%= command.id %> --json distributedlog://127.0.0.1:7000/messaging/distributedlog'},
  ]

  static override args = {
    uri: Args.string({description: 'namespace URI'}),
  }

  static override flags = {
    json: Flags.boolean({description: 'print the binding as JSON'}),
    raw: Flags.boolean({description: 'print the stored Thrift JSON'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(AdminShow)
    const uri = this.namespaceUri(args.uri)
    const current = await this.withZk(uri, (zk) => resolveBinding(zk, uri.path))
    if (current === undefined) this.error(`No bookkeeper is bound to ${uri.raw}`, {exit: ExitCode.FAILURE})
    const b = current.binding
    if (flags.json) {
      this.log(JSON.stringify({uri: uri.raw, boundPath: current.boundPath, inherited: current.boundPath !== uri.path, ...b}, null, 2))
      return
    }
    if (flags.raw) {
      this.log(bindingConfigJson(b))
      return
    }
    this.log(
      renderTable(
        ['Setting', 'Value'],
        [
          ['bound on', current.boundPath === uri.path ? current.boundPath : `${current.boundPath} (inherited)`],
          ['bookkeeper ledgers path', b.bkLedgersPath],
          ['bookkeeper zk (writers)', b.bkZkServers],
          ['bookkeeper zk (readers)', b.bkZkServersForReader],
          ['dlog zk (writers)', b.dlZkServersForWriter],
          ['dlog zk (readers)', b.dlZkServersForReader],
          ['txid sanity check', b.sanityCheckTxnId],
          ['encode region id', b.encodeRegionId],
          ['first segment sequence no', b.firstLogSegmentSeqNo ?? 1],
          ['federated', b.federatedNamespace],
        ],
      ),
    )
  }
}
