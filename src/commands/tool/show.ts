/**
 * `dlog tool show -u <uri> -s <stream>`: a stream's summary and log segments from its metadata
 * (DistributedLogTool's show). Logic: Namespace store (segments, maxtxid).
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {renderTable} from '../../cli/render.js'
import {DLSN, formatTxId, INVALID_TXID, type LogSegmentMetadata, MAX_TXID, segmentToString, TruncationStatus} from '../../engine/index.js'

const STATUS = {[TruncationStatus.ACTIVE]: 'active', [TruncationStatus.PARTIALLY_TRUNCATED]: 'partially truncated', [TruncationStatus.TRUNCATED]: 'truncated'}

function lastDlsnOf(s: LogSegmentMetadata): DLSN {
  return new DLSN(s.logSegmentSequenceNo, s.lastEntryId, s.lastSlotId)
}

export default class ToolShow extends DlogCommand {
  static override summary = 'Show a stream and its log segments'

  static override description = `Prints the stream's summary line as the original does — "Stream : (firstTxId=.., \
lastTxid=.., firstDlsn=.., lastDlsn=.., endOfStreamMarked=.., recordCount=..)" — then its log segments as a table \
(sequence number, ledger, state, txid range, records, last DLSN, completion time). The summary comes from the \
segment metadata: records of the in-progress segment are not counted until it completes. --verbose prints each \
segment in the original's LogSegmentMetadata form instead of the table; --json prints everything for scripts.`

  static override examples = [
    {description: 'Show a stream', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -s stream-0'},
    {description: 'The original output form', command: '<%= config.bin %> <%= command.id %> -s stream-0 --verbose'},
  ]

  static override flags = {
    uri: uriFlag,
    stream: Flags.string({char: 's', description: 'stream name'}),
    verbose: Flags.boolean({char: 'v', description: 'print segments as the original LogSegmentMetadata strings'}),
    json: Flags.boolean({description: 'print the summary and segments as JSON'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ToolShow)
    if (flags.stream === undefined) this.error('No stream name provided.', {exit: ExitCode.USAGE})
    const stream = flags.stream
    const uri = resolveNamespaceUri(flags.uri)
    const {segments, maxTxId} = await withNamespace(uri, async (ns) => ({
      segments: await ns.getLogSegments(stream),
      maxTxId: await ns.store.getMaxTxId(stream),
    }))
    const completed = segments.filter((s) => !s.inprogress)
    const lastDone = completed.at(-1)
    const firstLive = segments.find((s) => s.status !== TruncationStatus.TRUNCATED)
    const summary = {
      firstTxId: segments[0]?.firstTxId ?? INVALID_TXID,
      lastTxId: lastDone?.lastTxId ?? INVALID_TXID,
      firstDlsn: firstLive?.minActiveDLSN ?? DLSN.InvalidDLSN,
      lastDlsn: lastDone === undefined ? DLSN.InvalidDLSN : lastDlsnOf(lastDone),
      endOfStreamMarked: maxTxId === MAX_TXID,
      recordCount: completed.reduce((n, s) => n + s.recordCount, 0),
    }
    if (flags.json) {
      const seg = (s: LogSegmentMetadata) => ({...s, minActiveDLSN: s.minActiveDLSN.toString(), lastDLSN: s.inprogress ? null : lastDlsnOf(s).toString()})
      this.log(
        JSON.stringify(
          {stream, ...summary, firstDlsn: summary.firstDlsn.toString(), lastDlsn: summary.lastDlsn.toString(), segments: segments.map(seg)},
          null,
          2,
        ),
      )
      return
    }
    const dlsn = (d: DLSN) => (d.equals(DLSN.InvalidDLSN) ? 'InvalidDLSN' : d.toString())
    this.log(
      `Stream : (firstTxId=${formatTxId(summary.firstTxId)}, lastTxid=${formatTxId(summary.lastTxId)}, firstDlsn=${dlsn(summary.firstDlsn)}, ` +
        `lastDlsn=${dlsn(summary.lastDlsn)}, endOfStreamMarked=${summary.endOfStreamMarked}, recordCount=${summary.recordCount})`,
    )
    if (flags.verbose) {
      this.log('Ledgers : ')
      for (const s of segments) this.log(`${s.logSegmentSequenceNo}\t: ${segmentToString(s)}`)
      return
    }
    if (segments.length === 0) {
      this.log('No log segments.')
      return
    }
    this.log(
      renderTable(
        ['Seq', 'Ledger', 'State', 'First txid', 'Last txid', 'Records', 'Last DLSN', 'Completed'],
        segments.map((s) => [
          s.logSegmentSequenceNo,
          s.ledgerId,
          s.inprogress ? 'in progress' : STATUS[s.status],
          formatTxId(s.firstTxId),
          s.inprogress ? '' : s.lastTxId === MAX_TXID ? 'end of stream' : formatTxId(s.lastTxId),
          s.inprogress ? '' : s.recordCount,
          s.inprogress ? '' : `${s.logSegmentSequenceNo},${s.lastEntryId},${s.lastSlotId}`,
          s.inprogress ? '' : new Date(s.completionTimeMs).toISOString(),
        ]),
      ),
    )
  }
}
