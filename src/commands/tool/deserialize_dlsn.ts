/**
 * `dlog tool deserialize_dlsn -b64 <base64>`: the DLSN a serialized form stands for, as
 * DistributedLogTool's deserialize_dlsn. Needs no namespace.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {rewriteLegacyFlags} from '../../cli/legacy-flags.js'
import {DLSN} from '../../engine/index.js'

export default class ToolDeserializeDlsn extends DlogCommand {
  static override summary = 'Decode a serialized (base64) DLSN'

  static override description = `Prints the DLSN of a padded-base64 serialized DLSN as \
DLSN{logSegmentSequenceNo=.., entryId=.., slotId=..}. A malformed value is refused with what is wrong. \
-b64 works as in DistributedLog.`

  static override examples = [
    {description: 'Prints DLSN{logSegmentSequenceNo=1, entryId=0, slotId=0}', command: '<%= config.bin %> <%= command.id %> -b64 AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA=='},
  ]

  static override flags = {
    base64: Flags.string({description: 'the serialized DLSN (-b64)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolDeserializeDlsn, rewriteLegacyFlags(this.argv, {'-b64': '--base64'}))
    if (flags.base64 === undefined) this.error('Argument b64 is required', {exit: ExitCode.USAGE})
    this.log(DLSN.deserialize(flags.base64).toString())
  }
}
