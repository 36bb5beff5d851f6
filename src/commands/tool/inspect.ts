/**
 * `dlog tool inspect -u <uri>`: DistributedLogTool's inspect. Scans the streams of a namespace for
 * segment-list damage — a gap in log segment sequence numbers, or (with -cio) a completed segment
 * sharing its sequence number with an in-progress one — and prints those streams' segments, with the
 * LAC read from the bookies standing in for the unknown last entry of in-progress segments.
 * Logic: Namespace (getLogs, getLogSegments) and the ledger client (openLedgerNoRecovery).
 */
import {Flags} from '@oclif/core'

import {DlogCommand} from '../../cli/base-command.js'
import {rewriteLegacyFlags} from '../../cli/legacy-flags.js'
import {resolveNamespaceUri, uriFlag, withNamespace} from '../../cli/namespace-uri.js'
import {confirmOrDecline} from '../../cli/prompt.js'
import {decodeEntry, errorMessage, type LogSegmentMetadata, type Namespace, segmentToString} from '../../engine/index.js'

/** Inspection workers (the original's threads). */
const THREADS_MAX = 64
/** Entries dumped per in-progress segment with -i -d. */
const DUMP_ENTRIES_MAX = 10_000

interface Candidate {
  segment: LogSegmentMetadata
  entries: string[]
}

export default class ToolInspect extends DlogCommand {
  static override summary = 'Find streams whose log segment list looks damaged'

  static override description = `Lists the streams (-ft keeps those starting with a prefix), prints "Streams : [...]" and \
asks "Are you sure you want to inspect N streams (Y or N) " (unless -f; a closed stdin answers No). A stream with \
more than one log segment is a candidate when its segment sequence numbers have a gap — or, with -cio, when a \
completed segment has the same sequence number as an in-progress one (a crash between completing and removing it). \
Then prints "Corrupted Candidates : " and, per candidate, "<stream> : " and its segments ("\\t - <segment>"); for \
an in-progress segment the last entry id shown is the LAC its bookies report. -i shows in-progress segments only, \
-d (with -i) also prints their records entry by entry, -ot orders segments by completion time, -pso prints only \
the stream names. -t inspects that many streams at a time.

This is the original's check, done honestly: it reads metadata and LACs only and repairs nothing; a stream whose \
in-progress segment was left by a dead writer is recovered by the next writer that opens it.`

  static override examples = [
    {description: 'Inspect every stream', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog -f'},
    {description: 'Streams named stream-*, duplicated in-progress segments only', command: '<%= config.bin %> <%= command.id %> -ft stream- -cio -f'},
  ]

  static override flags = {
    uri: uriFlag,
    threads: Flags.integer({char: 't', min: 1, max: THREADS_MAX, default: 1, description: 'streams inspected at a time'}),
    filter: Flags.string({description: 'only streams starting with this prefix (-ft)'}),
    inprogress: Flags.boolean({char: 'i', description: 'print in-progress log segments only'}),
    dump: Flags.boolean({char: 'd', description: 'with -i: print the records of in-progress segments'}),
    orderbytime: Flags.boolean({description: 'order segments by completion time (-ot)'}),
    'print-stream-only': Flags.boolean({description: 'print stream names only (-pso)'}),
    'check-inprogress-only': Flags.boolean({description: 'only look for completed segments duplicating an in-progress one (-cio)'}),
    force: Flags.boolean({char: 'f', description: 'inspect without prompting'}),
  }

  async run(): Promise<void> {
    const legacy = {'-ft': '--filter', '-ot': '--orderbytime', '-pso': '--print-stream-only', '-cio': '--check-inprogress-only'}
    const {flags} = await this.parse(ToolInspect, rewriteLegacyFlags(this.argv, legacy))
    const uri = resolveNamespaceUri(flags.uri)
    const candidates = new Map<string, Candidate[]>()
    await withNamespace(uri, async (ns) => {
      const prefix = flags.filter
      const streams = (await ns.getLogs()).filter((s) => prefix === undefined || s.startsWith(prefix))
      if (streams.length > 0) {
        this.log(`Streams : [${streams.join(', ')}]`)
        if (!flags.force) await confirmOrDecline(`Are you sure you want to inspect ${streams.length} streams`)
        const threads = Math.min(streams.length, flags.threads)
        const perThread = Math.ceil(streams.length / threads)
        await Promise.all(
          Array.from({length: threads}, async (_, tid) => {
            try {
              for (const s of streams.slice(tid * perThread, (tid + 1) * perThread)) {
                const found = await inspectStream(ns, s, flags)
                if (found !== undefined) candidates.set(s, found)
              }
              this.log(`Thread ${tid} finished.`)
            } catch (e) {
              this.logToStderr(`Thread ${tid} quits with exception : ${errorMessage(e)}`)
            }
          }),
        )
      }
    })
    this.log('Corrupted Candidates : ')
    const names = [...candidates.keys()].sort()
    if (flags['print-stream-only']) {
      this.log(`[${names.join(', ')}]`)
      return
    }
    for (const name of names) {
      this.log(`${name} : \n`)
      for (const c of candidates.get(name) ?? []) {
        this.log(`\t - ${segmentToString(c.segment)}`)
        c.entries.forEach((e, i) => this.log(`\t${i}\t: ${e}`))
      }
      this.log('')
    }
  }
}

async function inspectStream(
  ns: Namespace,
  stream: string,
  flags: {inprogress: boolean; dump: boolean; orderbytime: boolean; 'check-inprogress-only': boolean},
): Promise<Candidate[] | undefined> {
  const segments = await ns.getLogSegments(stream)
  if (segments.length <= 1) return undefined
  let candidate = false
  if (flags['check-inprogress-only']) {
    const inprogress = new Set(segments.filter((s) => s.inprogress).map((s) => s.logSegmentSequenceNo))
    candidate = segments.some((s) => !s.inprogress && inprogress.has(s.logSegmentSequenceNo))
  } else {
    for (let i = 1; i < segments.length && !candidate; i++) {
      candidate = (segments[i] as LogSegmentMetadata).logSegmentSequenceNo !== (segments[i - 1] as LogSegmentMetadata).logSegmentSequenceNo + 1
    }
  }
  if (!candidate) return undefined
  if (flags.orderbytime) segments.sort((a, b) => a.completionTimeMs - b.completionTimeMs)
  const out: Candidate[] = []
  for (const seg of segments) {
    let segment = seg
    const entries: string[] = []
    if (seg.inprogress) {
      const handle = await (await ns.ledgerClient()).openLedgerNoRecovery(seg.ledgerId)
      try {
        const lac = await handle.readLastAddConfirmed()
        segment = {...seg, lastEntryId: lac}
        if (flags.inprogress && flags.dump && lac >= 0) {
          const last = Math.min(lac, DUMP_ENTRIES_MAX - 1)
          for (const e of await handle.readEntries(0, last)) {
            const records = decodeEntry(e.payload, {logSegmentSequenceNo: seg.logSegmentSequenceNo, entryId: e.entryId, startSequenceId: seg.startSequenceId})
            entries.push(records.map((r) => (r.isControl ? '<control record>' : `txid=${r.txid} ${JSON.stringify(r.payload.toString('utf8'))}`)).join(', '))
          }
        }
      } finally {
        await handle.close()
      }
    }
    if (!flags.inprogress || segment.inprogress) out.push({segment, entries})
  }
  return out
}
