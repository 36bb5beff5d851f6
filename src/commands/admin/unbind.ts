/**
 * `dlog admin unbind [-f] <uri>`: removes a namespace's binding (empties the namespace znode's data),
 * as DistributedLogAdmin's unbind. Logic: engine log/metadata/binding.ts.
 */
import {Args, Flags} from '@oclif/core'

import {AdminCommand} from '../../cli/admin.js'
import {confirmOrDecline} from '../../cli/prompt.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {resolveBinding, unbindNamespace} from '../../engine/index.js'

export default class AdminUnbind extends AdminCommand {
  static override summary = 'Remove the bookkeeper binding of a namespace'

  static override description = `Shows the binding of the namespace and, after a Y at the prompt (or with -f), \
empties the namespace znode's data. Unlike the original, a namespace that only inherits a parent's binding is \
not touched: the command names the parent to unbind instead.`

  static override examples = [
    {description: 'Unbind, confirming at the prompt', command: '<%= config.bin %> <%= command.id %> distributedlog://127.0.0.1:7000/messaging/my_namespace'},
    {description: 'Unbind without asking', command: '<%= config.bin %> <%= command.id %> -f distributedlog://127.0.0.1:7000/messaging/my_namespace'},
  ]

  static override args = {
    uri: Args.string({description: 'namespace URI'}),
  }

  static override flags = {
    force: Flags.boolean({char: 'f', description: 'unbind without prompting'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(AdminUnbind)
    const uri = this.namespaceUri(args.uri)
    await this.withZk(uri, async (zk) => {
      const current = await resolveBinding(zk, uri.path)
      if (current === undefined) {
        this.log(`No bookkeeper is bound to ${uri.raw}`)
        return
      }
      this.logBinding(`There is bookkeeper bound to ${uri.raw} : `, current.binding)
      if (current.boundPath !== uri.path) {
        this.error(
          `${uri.raw} has no binding of its own: it inherits the binding on ${current.boundPath}. Unbind distributedlog://${uri.zkServers}${current.boundPath} to remove it.`,
          {exit: ExitCode.FAILURE},
        )
      }
      if (!flags.force) await confirmOrDecline(`Do you want to unbind ${uri.raw} :\n`)
      await unbindNamespace(zk, uri.path)
      this.log(`Unbound on ${uri.raw}.`)
    })
  }
}
