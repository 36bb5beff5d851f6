/**
 * `dlog tool count -u <uri> -s <stream> [<start> [<end>]]`: records in a stream, from a DLSN, or
 * between two DLSNs (DistributedLogTool's count). Logic: LogManager.getLogRecordCount and log-access.
 */
import {Args, Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {closing} from '../../cli/closing.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {countFrom, lastRecordOf, openLogOf, parseDlsn, walkRecords} from '../../cli/log-access.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {InvalidInputError, LogNotFoundError, type LogRecordWithDLSN, logRecordToString} from '../../engine/index.js'

export default class ToolCount extends DlogCommand {
  static override summary = 'Count the records of a stream, or between two DLSNs'

  static override description = `Prints "total is <N> records.". Without positions it counts every record of the \
stream (from the segment metadata, plus the last position of the in-progress segment). With <start> it counts \
the records at or after that DLSN; with <start> and <end> the records between them, both included, reading them, \
and prints the first and last record counted as the original does ("first record : LogRecordWithDLSN{...}", \
"last record : ..."). DLSNs are written 1,0,0, InitialDLSN, DLSN{...} or in base64. The original required <start>.`

  static override examples = [
    {description: 'Every record', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -s stream-0'},
    {description: 'Records from a DLSN on', command: '<%= config.bin %> <%= command.id %> -s stream-0 1,100,0'},
    {description: 'Records between two DLSNs', command: '<%= config.bin %> <%= command.id %> -s stream-0 1,0,0 1,99,0'},
  ]

  static override args = {
    start: Args.string({description: 'first DLSN to count from'}),
    end: Args.string({description: 'last DLSN to count to (included)'}),
  }

  static override flags = {
    uri: uriFlag,
    stream: Flags.string({char: 's', description: 'stream name'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ToolCount)
    if (flags.stream === undefined) this.error('No stream name provided.', {exit: ExitCode.USAGE})
    const stream = flags.stream
    const start = args.start === undefined ? undefined : parseDlsn(args.start)
    const end = args.end === undefined ? undefined : parseDlsn(args.end)
    if (start !== undefined && end !== undefined && end.compareTo(start) < 0) {
      throw new InvalidInputError(`The end ${end.toString()} is before the start ${start.toString()}.`)
    }
    const uri = resolveNamespaceUri(flags.uri)
    await withNamespace(uri, async (ns) => {
      if (!(await ns.logExists(stream))) throw new LogNotFoundError(stream)
      await closing(await openLogOf(ns, stream), async (lm) => {
        if (start === undefined) {
          this.log(`total is ${await lm.getLogRecordCount()} records.`)
          return
        }
        const last = await lastRecordOf(lm)
        if (end === undefined) {
          this.log(`total is ${await countFrom(lm, start, last)} records.`)
          return
        }
        let first: LogRecordWithDLSN | undefined
        let previous: LogRecordWithDLSN | undefined
        let count = 0
        await walkRecords(lm, start, last, (r) => {
          if (r.dlsn.compareTo(end) > 0) return false
          first ??= r
          previous = r
          count++
        })
        this.log(`first record : ${first === undefined ? 'null' : logRecordToString(first)}`)
        this.log(`last record : ${previous === undefined ? 'null' : logRecordToString(previous)}`)
        this.log(`total is ${count} records.`)
      })
    })
  }
}
