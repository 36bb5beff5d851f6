/**
 * `dlog tool truncate_stream -u <uri> -s <stream> -dlsn <a,b,c>`: marks every record before a DLSN
 * truncated (DistributedLogTool's truncate_stream). Like the original it takes the stream's write lock
 * (a running writer makes it fail, naming the owner) and calls the writer's truncate; the data itself
 * goes with retention. Logic: AsyncLogWriter.truncate.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {closing} from '../../cli/closing.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {rewriteLegacyFlags} from '../../cli/legacy-flags.js'
import {countFrom, lastRecordOf, openLogOf, parseDlsn} from '../../cli/log-access.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {confirmOrDecline} from '../../cli/prompt.js'
import {LogNotFoundError, OwnershipAcquireFailedError} from '../../engine/index.js'

export default class ToolTruncateStream extends DlogCommand {
  static override summary = 'Truncate a stream: mark every record before a DLSN as deleted'

  static override description = `Asks "Do you want to truncate <stream> at dlsn DLSN{...} (<n> records)? (Y or N) " \
(unless -f; a closed stdin answers No), then takes the stream's write lock and marks the log segments before the \
DLSN truncated and the one holding it partially truncated; readers no longer see those records and retention \
deletes them later. Unlike the original this also works inside the segment being written. Prints "Failed to \
truncate." when nothing was changed. Fails, naming the owner, while a writer holds the stream.`

  static override examples = [
    {
      description: 'Drop everything before entry 100 of segment 1',
      command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -s stream-0 -dlsn 1,100,0',
    },
    {description: 'Without the prompt', command: '<%= config.bin %> <%= command.id %> -s stream-0 --dlsn 1,100,0 -f'},
  ]

  static override flags = {
    uri: uriFlag,
    stream: Flags.string({char: 's', description: 'stream name'}),
    dlsn: Flags.string({char: 'd', description: 'truncate every record before this DLSN (a,b,c, DLSN{...} or base64; -dlsn)'}),
    force: Flags.boolean({char: 'f', description: 'truncate without prompting'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolTruncateStream, rewriteLegacyFlags(this.argv, {'-dlsn': '--dlsn'}))
    if (flags.stream === undefined) this.error('No stream name provided.', {exit: ExitCode.USAGE})
    if (flags.dlsn === undefined) this.error('No dlsn provided (-dlsn a,b,c).', {exit: ExitCode.USAGE})
    const stream = flags.stream
    const dlsn = parseDlsn(flags.dlsn)
    const uri = resolveNamespaceUri(flags.uri)
    await withNamespace(uri, async (ns) => {
      if (!(await ns.logExists(stream))) throw new LogNotFoundError(stream)
      await closing(await openLogOf(ns, stream, {lockTimeoutMs: 0, createStreamIfNotExists: false}), async (lm) => {
        const total = await lm.getLogRecordCount()
        const after = await countFrom(lm, dlsn, await lastRecordOf(lm))
        if (!flags.force) {
          await confirmOrDecline(`Do you want to truncate ${stream} at dlsn ${dlsn.toString()} (${Math.max(0, total - after)} records)?`)
        }
        let writer
        try {
          writer = await lm.openAsyncLogWriter()
        } catch (e) {
          if (e instanceof OwnershipAcquireFailedError) {
            this.error(`Failed to truncate ${stream}: it is owned by another writer (${e.currentOwner}).`, {exit: ExitCode.UNAVAILABLE})
          }
          throw e
        }
        await closing(writer, async (w) => {
          if (!(await w.truncate(dlsn))) this.log('Failed to truncate.')
        })
      })
    })
  }
}
