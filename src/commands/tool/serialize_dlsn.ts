/**
 * `dlog tool serialize_dlsn -dlsn <lssn,entryId,slotId>`: a DLSN's base64 (or hex) form, as
 * DistributedLogTool's serialize_dlsn. Needs no namespace.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {rewriteLegacyFlags} from '../../cli/legacy-flags.js'
import {DLSN, parseDlsnArg} from '../../engine/index.js'

export default class ToolSerializeDlsn extends DlogCommand {
  static override summary = 'Print the serialized (base64) form of a DLSN'

  static override description = `Takes a DLSN as lssn,entryId,slotId or InitialDLSN (the default) and prints its \
25-byte version-1 form in padded base64, as proxies and tools exchange it, or in hex with -x. -dlsn works as in \
DistributedLog.`

  static override examples = [
    {description: 'Prints AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==', command: '<%= config.bin %> <%= command.id %> -dlsn 1,0,0'},
    {description: 'Hex form', command: '<%= config.bin %> <%= command.id %> -dlsn 1,2,3 -x'},
  ]

  static override flags = {
    dlsn: Flags.string({description: 'the DLSN: lssn,entryId,slotId or InitialDLSN (-dlsn)', default: 'InitialDLSN'}),
    hex: Flags.boolean({char: 'x', description: 'print hex instead of base64'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolSerializeDlsn, rewriteLegacyFlags(this.argv, {'-dlsn': '--dlsn'}))
    const [lssn, entryId, slotId] = parseDlsnArg(flags.dlsn)
    const d = new DLSN(lssn, entryId, slotId)
    this.log(flags.hex ? d.toBytes().toString('hex') : d.serialize())
  }
}
