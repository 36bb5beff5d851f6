/**
 * `dlog admin bind [options] <uri>`: writes the namespace binding (DistributedLogAdmin's bind), with the
 * original's single-dash flags (-bkzr, -dlzw, -dlzr, -seqno, -fns) and messages. Logic: engine
 * log/metadata/binding.ts.
 */
import {Args, Flags} from '@oclif/core'

import {AdminCommand} from '../../cli/admin.js'
import {confirmOrDecline} from '../../cli/prompt.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {rewriteLegacyFlags} from '../../cli/legacy-flags.js'
import {
  bindingConfigJson,
  bindingsEqual,
  errorMessage,
  InvalidInputError,
  makeBinding,
  resolveBinding,
  writeBinding,
} from '../../engine/index.js'

const LEGACY = {
  '-bkzr': '--bkZkServersForReader',
  '-dlzw': '--dlZkServersForWriter',
  '-dlzr': '--dlZkServersForReader',
  '-seqno': '--firstLogSegmentSeqNo',
  '-fns': '--federatedNamespace',
}

/** commons-cli hands `-i false` over as text; accept the usual spellings, refuse the rest. */
function parseBool(flag: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt
  const v = value.trim().toLowerCase()
  if (v === 'true' || v === 'yes' || v === '1') return true
  if (v === 'false' || v === 'no' || v === '0') return false
  throw new InvalidInputError(`-${flag} takes true or false, got '${value}'`)
}

export default class AdminBind extends AdminCommand {
  static override summary = 'Bind a namespace to a bookkeeper cluster'

  static override description = `Writes the namespace binding into the data of the namespace znode: the \
ZooKeeper servers bookkeeper uses (-s, and -bkzr for readers), its ledgers path (-l), the ZooKeeper servers \
DistributedLog uses (-dlzw/-dlzr, default the URI's), whether segment starts check txid order (-i), whether \
segment metadata encodes the region id (-r) and the first log segment sequence number (-seqno). Sub-namespaces \
inherit the binding of the nearest bound parent. -c creates the namespace znode (and its parents); without it an \
existing znode is updated. An existing, different binding is shown and replaced only after a Y at the prompt \
(or with -f). -q only shows the binding that applies. Single-dash long options (-bkzr, -dlzw, -dlzr, -seqno, -fns) \
work as in DistributedLog.`

  static override examples = [
    {
      description: 'Bind a new namespace (the deployment guide)',
      command:
        '<%= config.bin %> <%= command.id %> -dlzr 127.0.0.1:2181 -dlzw 127.0.0.1:2181 -s 127.0.0.1:2181 -bkzr 127.0.0.1:2181 -l /messaging/bookkeeper/ledgers -i false -r true -c distributedlog://127.0.0.1:2181/messaging/distributedlog/mynamespace',
    },
    {description: 'Bind with defaults for the rest', command: '<%= config.bin %> <%= command.id %> -l /ledgers -s 127.0.0.1:7000 -c distributedlog://127.0.0.1:7000/messaging/my_namespace'},
    {description: 'Show the binding that applies', command: '<%= config.bin %> <%= command.id %> -q distributedlog://127.0.0.1:7000/messaging/my_namespace'},
  ]

  static override args = {
    uri: Args.string({description: 'namespace URI, distributedlog://<zk servers>/<path>'}),
  }

  static override flags = {
    bkLedgers: Flags.string({char: 'l', description: 'ZooKeeper ledgers path of the bookkeeper cluster'}),
    bkZkServers: Flags.string({char: 's', description: 'ZooKeeper servers bookkeeper writers use'}),
    bkZkServersForReader: Flags.string({description: 'ZooKeeper servers bookkeeper readers use (-bkzr; default: -s)'}),
    dlZkServersForWriter: Flags.string({description: 'ZooKeeper servers DistributedLog writers use (-dlzw; default: the URI servers)'}),
    dlZkServersForReader: Flags.string({description: 'ZooKeeper servers DistributedLog readers use (-dlzr; default: -dlzw)'}),
    sanityCheckTxnID: Flags.string({char: 'i', description: 'check that segments start at a txid not below the highest (true|false; default true)'}),
    encodeRegionID: Flags.string({char: 'r', description: 'encode the region id in segment metadata (true|false; default false)'}),
    firstLogSegmentSeqNo: Flags.string({description: 'sequence number of a log\'s first segment (-seqno)'}),
    federatedNamespace: Flags.boolean({description: 'make the namespace federated (-fns; also creates <ns>/.subnamespaces)'}),
    creation: Flags.boolean({char: 'c', description: 'create the namespace znode (and parents) instead of updating it'}),
    force: Flags.boolean({char: 'f', description: 'replace an existing binding without prompting'}),
    query: Flags.boolean({char: 'q', description: 'only show the binding that applies'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(AdminBind, rewriteLegacyFlags(this.argv, LEGACY))
    if (!flags.query && (flags.bkLedgers === undefined || flags.bkZkServers === undefined)) {
      this.error('Error: Neither zkServers nor ledgersPath specified for bookkeeper environment.', {exit: ExitCode.USAGE})
    }
    const uri = this.namespaceUri(args.uri)
    let seqNo: number | undefined
    if (flags.firstLogSegmentSeqNo !== undefined) {
      seqNo = Number(flags.firstLogSegmentSeqNo)
      if (!/^\d{1,15}$/.test(flags.firstLogSegmentSeqNo) || seqNo < 1) {
        throw new InvalidInputError(`-seqno takes a sequence number >= 1, got '${flags.firstLogSegmentSeqNo}'`)
      }
    }
    const binding = makeBinding({
      bkZkServers: flags.bkZkServers ?? '',
      bkLedgersPath: flags.bkLedgers ?? '',
      dlZkServers: uri.zkServers,
      bkZkServersForReader: flags.bkZkServersForReader,
      dlZkServersForWriter: flags.dlZkServersForWriter,
      dlZkServersForReader: flags.dlZkServersForReader,
      sanityCheckTxnId: parseBool('i', flags.sanityCheckTxnID, true),
      encodeRegionId: parseBool('r', flags.encodeRegionID, false),
      firstLogSegmentSeqNo: seqNo,
      federatedNamespace: flags.federatedNamespace,
    })

    await this.withZk(uri, async (zk) => {
      const current = await resolveBinding(zk, uri.path).catch(() => undefined)
      if (current === undefined) {
        this.log(`No bookkeeper is bound to ${uri.raw}`)
      } else {
        this.logBinding(`There is bookkeeper bound to ${uri.raw} : `, current.binding)
        if (!flags.query) {
          if (bindingsEqual(binding, current.binding)) {
            this.log('No bookkeeper binding needs to be updated. Quit.')
            return
          }
          if (current.binding.federatedNamespace && !binding.federatedNamespace) {
            this.error("You can't turn a federated namespace back to non-federated.", {exit: ExitCode.FAILURE})
          }
          if (!flags.force) {
            await confirmOrDecline(`Do you want to bind ${uri.raw} with new bookkeeper instance :\n${bindingConfigJson(binding)}`)
          }
        }
      }
      if (flags.query) {
        this.log('Done.')
        return
      }
      try {
        await writeBinding(zk, uri.path, binding, {create: flags.creation})
        if (flags.federatedNamespace) await zk.mkdirp(`${uri.path}/.subnamespaces`)
      } catch (e) {
        this.error(`Failed to ${flags.creation ? 'create' : 'update'} binding on ${uri.raw} : ${errorMessage(e)}`, {exit: ExitCode.FAILURE})
      }
      if (flags.creation) this.log(`Created binding on ${uri.raw}.`)
      else this.logBinding(`Updated binding on ${uri.raw} : `, binding)
    })
  }
}
