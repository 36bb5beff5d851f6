/**
 * `dlog tool dump -u <uri> -s <stream> [--from <pos>] [-n <count>]`: prints records of a stream in
 * DistributedLogTool's dump format. Unlike the original (which blocked when it reached the tail before
 * the limit), it stops at the last record the log had when it started. Logic: log-access walkRecords.
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {closing} from '../../cli/closing.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {rewriteLegacyFlags} from '../../cli/legacy-flags.js'
import {lastRecordOf, openLogOf, parsePosition, recordJson, walkRecords} from '../../cli/log-access.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {DLSN, InvalidInputError, LogNotFoundError, type ReadPosition} from '../../engine/index.js'

const RULE = '-'.repeat(48)
const DUMP_COUNT_DEFAULT = 100

export default class ToolDump extends DlogCommand {
  static override summary = 'Print the records of a stream'

  static override description = `Prints "Last DLSN : DLSN{...}", "Dump records for <stream> (from = <start>, dump count = \
<n>, total records = <N>)", then each record as the original does: a line of dashes, "Record (txn = <txid>, bytes = \
<size>, dlsn = DLSN{...}, sequence id = <seq>)", a blank line and the payload (UTF-8, or hex with -x; none with \
--skip-payload), ending with a line of dashes or "No records.".

--from takes earliest (the default), latest, a txid (the first record with txid >= it) or a DLSN (1,0,0, DLSN{...} or \
base64); the original's -o <txid> and -n/-e/-t (segment, entry, slot) are accepted too. -l/--limit (or -c/--count) \
bounds the records printed (default ${DUMP_COUNT_DEFAULT}). The dump ends at the last record the stream had when it \
started, so it never waits on the tail. --json prints one JSON object per record instead.`

  static override examples = [
    {description: 'The first 100 records', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -s stream-0'},
    {description: 'Ten records from txid 1000, payloads in hex', command: '<%= config.bin %> <%= command.id %> -s stream-0 --from 1000 -l 10 -x'},
    {description: 'The original flags: segment 2, entry 5', command: '<%= config.bin %> <%= command.id %> -s stream-0 -n 2 -e 5'},
  ]

  static override flags = {
    uri: uriFlag,
    stream: Flags.string({char: 's', description: 'stream name'}),
    from: Flags.string({description: 'start: earliest, latest, a txid, or a DLSN (default earliest)'}),
    offset: Flags.string({char: 'o', description: 'start at this txid (the original\'s -o)'}),
    seqno: Flags.integer({char: 'n', min: 1, description: 'start in this log segment (the original\'s -n; with -e and -t)'}),
    eid: Flags.integer({char: 'e', min: 0, description: 'entry id to start at, with -n'}),
    slot: Flags.integer({char: 't', min: 0, description: 'slot to start at, with -n'}),
    limit: Flags.integer({char: 'l', aliases: ['count'], charAliases: ['c'], min: 1, default: DUMP_COUNT_DEFAULT, description: 'number of records to print'}),
    hex: Flags.boolean({char: 'x', description: 'print payloads in hex'}),
    'skip-payload': Flags.boolean({description: 'print record headers only (-sp)'}),
    json: Flags.boolean({description: 'one JSON object per record'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolDump, rewriteLegacyFlags(this.argv, {'-sp': '--skip-payload'}))
    if (flags.stream === undefined) this.error('No stream name provided.', {exit: ExitCode.USAGE})
    const stream = flags.stream
    const starts = [flags.from, flags.offset, flags.seqno].filter((x) => x !== undefined).length
    if (starts > 1) throw new InvalidInputError('Give one of --from, -o (txid) or -n (segment).')
    const from = this.startFrom(flags)
    const uri = resolveNamespaceUri(flags.uri)
    await withNamespace(uri, async (ns) => {
      try {
        if (!(await ns.logExists(stream))) {
          this.logToStderr('No stream found to dump records.')
          this.exit(ExitCode.FAILURE)
        }
        await closing(await openLogOf(ns, stream), async (lm) => {
          const last = await lastRecordOf(lm)
          let start: ReadPosition
          if (from === 'latest') start = last === undefined ? DLSN.InitialDLSN : last.dlsn.getNextDLSN()
          else start = from
          if (flags.json) {
            await walkRecords(lm, start, last, (r) => void process.stdout.write(recordJson(stream, r, false)), {limit: flags.limit})
            return
          }
          const total = await lm.getLogRecordCount()
          this.log(`Last DLSN : ${last === undefined ? DLSN.InvalidDLSN.toString() : last.dlsn.toString()}`)
          const fromText = start instanceof DLSN ? start.toString() : String(start.txid)
          this.log(`Dump records for ${stream} (from = ${fromText}, dump count = ${flags.limit}, total records = ${total})`)
          const n = await walkRecords(
            lm,
            start,
            last,
            (r) => {
              let out = `${RULE}\nRecord (txn = ${r.txid}, bytes = ${r.payload.length}, dlsn = ${r.dlsn.toString()}, sequence id = ${r.sequenceId})\n\n`
              if (!flags['skip-payload']) out += `${flags.hex ? r.payload.toString('hex') : r.payload.toString('utf8')}\n`
              process.stdout.write(out)
            },
            {limit: flags.limit},
          )
          this.log(n === 0 ? 'No records.' : RULE)
        })
      } catch (e) {
        // Also a stream deleted after the check above: the same message as a missing one.
        if (e instanceof LogNotFoundError) {
          this.logToStderr('No stream found to dump records.')
          this.exit(ExitCode.FAILURE)
        }
        throw e
      }
    })
  }

  private startFrom(flags: {from?: string; offset?: string; seqno?: number; eid?: number; slot?: number}): ReadPosition | 'latest' {
    if (flags.offset !== undefined) {
      if (!/^\d+$/.test(flags.offset.trim())) throw new InvalidInputError(`Invalid txn id ${flags.offset}`)
      return {txid: Number(flags.offset)}
    }
    if (flags.seqno !== undefined) return new DLSN(flags.seqno, flags.eid ?? 0, flags.slot ?? 0)
    if (flags.eid !== undefined || flags.slot !== undefined) throw new InvalidInputError('-e and -t need -n (the log segment sequence number).')
    const p = parsePosition(flags.from ?? 'earliest')
    if (p.kind === 'earliest') return DLSN.InitialDLSN
    if (p.kind === 'latest') return 'latest'
    return p.kind === 'dlsn' ? p.dlsn : {txid: p.txid}
  }
}
