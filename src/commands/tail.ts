/**
 * `dlog tail [-u URI] STREAM[,STREAM...]`: the tutorials' MultiReader, with its exact output, plus
 * positioning (--from), a record limit (-n) and JSON lines (--json). Each stream gets its own reader
 * (log core AsyncLogReader) and read loop; records are printed whole, one block at a time, in each
 * stream's order. A reader that fails is reported; an idle reader (no progress while records exist) is
 * reopened where it stood, a bounded number of times, so the tail never stalls silently.
 * Logic: LogManager (last record, readers); this file positions, prints and stops.
 */
import {Args, Flags} from '@oclif/core'

import {DlogCommand} from '../cli/base-command.js'
import {ExitCode} from '../cli/exit-codes.js'
import {describePosition, lastRecordOf, openLogOf, openNamespace, parsePosition, recordJson, type UserPosition} from '../cli/log-access.js'
import {resolveNamespaceUri, uriFlag} from '../cli/namespace-uri.js'
import {streamColour} from '../cli/render.js'
import {
  type AsyncLogReader,
  DLSN,
  EndOfStreamError,
  errorMessage,
  IdleReaderError,
  InvalidInputError,
  type LogManager,
  type LogRecordWithDLSN,
  type Namespace,
  ReadCancelledError,
  type ReadPosition,
} from '../engine/index.js'

/** Records taken per read: large enough for throughput, small enough to interleave streams fairly. */
const READ_BATCH = 256
/** Streams one tail may follow. */
const STREAMS_MAX = 1000
/** A reader with no progress for this long while records exist is reopened (the original stalled silently). */
const IDLE_ERROR_MS = 60_000
/** Consecutive reopenings of an idle reader before the tail gives up on it. */
const IDLE_REOPENS_MAX = 3
const CLOSE_TIMEOUT_MS = 15_000

/** Renders one record for stdout. */
type Emit = (s: StreamState, r: LogRecordWithDLSN) => string

interface StreamState {
  name: string
  label: string
  lm: LogManager
  reader?: AsyncLogReader
}

export default class Tail extends DlogCommand {
  static override summary = 'Follow one or more streams and print every record as it arrives'

  static override description = `The tutorials' MultiReader: prints "Opening log stream <s>" for every stream, then \
per stream where it starts ("Log stream <s> is empty." on stderr for an empty one, "Wait for records from <s> starting \
from DLSN{...}", "Open reader to read records from stream <s>"), then for every record "Received record DLSN{...} \
from stream <s>" and its payload between """ lines. Streams are separated by commas.

Like the original, a non-empty stream starts at its last record (which is printed again); --from changes that: \
"earliest" (every record), "latest" (only records written from now on), a DLSN (as 1,0,0, DLSN{...} or its base64 \
form from dlog tool serialize_dlsn) or a transaction id (the first record with txid >= it).

-n stops after that many records in total. --json prints one JSON object per record on stdout (stream, dlsn, \
dlsnBase64, txid, sequenceId, payload and its encoding: utf8, or base64 for binary payloads or with --base64); \
the progress lines then go to stderr. Stream names are coloured on a terminal.

A stream that does not exist stops the command before anything is read ("Log stream <s> is not found. Please \
create it first.", exit ${ExitCode.FAILURE}). A read error on any stream is printed and ends the command with exit \
${ExitCode.FAILURE}; a reader that makes no progress for ${IDLE_ERROR_MS / 1000} s while records exist is reported and \
reopened where it stood. Ctrl-C stops every reader and exits 0.`

  static override examples = [
    {description: 'Tail the eleven streams of the tutorial', command: '<%= config.bin %> <%= command.id %> stream-0,stream-1,stream-2,stream-3,stream-4,stream-5,stream-6,stream-7,stream-8,stream-9,stream-10'},
    {description: 'Every record from the start, as JSON lines, then stop after 100', command: '<%= config.bin %> <%= command.id %> --from earliest --json -n 100 stream-0'},
    {description: 'From a DLSN', command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog --from 1,5,0 stream-0'},
  ]

  static override args = {
    STREAMS: Args.string({required: true, description: 'stream name(s), comma-separated'}),
  }

  static override flags = {
    uri: uriFlag,
    from: Flags.string({description: 'where to start: earliest, latest, a DLSN, or a txid (default: each stream\'s last record)'}),
    number: Flags.integer({char: 'n', min: 1, description: 'stop after this many records (in total)'}),
    json: Flags.boolean({description: 'one JSON object per record'}),
    base64: Flags.boolean({description: 'with --json: always encode payloads as base64'}),
    // Hidden: the idle bound is a fixed operating choice; tests shorten it to reach the reopen path quickly.
    'idle-error-ms': Flags.integer({hidden: true, min: 100, default: IDLE_ERROR_MS, description: 'reopen a reader idle this long while records exist (ms)'}),
  }

  private stopping = false
  private failed = false
  private delivered = 0
  private readonly streams: StreamState[] = []

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Tail)
    const names = args.STREAMS.split(',').map((s) => s.trim()).filter((s) => s !== '')
    if (names.length === 0) throw new InvalidInputError('No stream name provided.')
    if (names.length > STREAMS_MAX) throw new InvalidInputError(`At most ${STREAMS_MAX} streams can be tailed at once, got ${names.length}.`)
    if (new Set(names).size !== names.length) throw new InvalidInputError(`A stream is listed twice: ${args.STREAMS}`)
    const position = flags.from === undefined ? undefined : parsePosition(flags.from)
    const uri = resolveNamespaceUri(flags.uri)
    const json = flags.json
    const limit = flags.number ?? Number.POSITIVE_INFINITY
    // Progress lines go to stderr in JSON mode, so stdout stays one object per line.
    const info = (line: string): void => {
      ;(json ? process.stderr : process.stdout).write(`${line}\n`)
    }
    const coloured = process.stdout.isTTY === true && !json

    const ns = await openNamespace(uri, {clientId: `dlog-tail/${process.pid}`, conf: {readerIdleErrorThresholdMs: flags['idle-error-ms']}, warnings: true})
    const onSignal = (): void => void this.stopAll()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      for (const name of names) {
        info(`Opening log stream ${name}`)
        this.streams.push({name, label: coloured ? streamColour(name)(name) : name, lm: await openLogOf(ns, name)})
      }
      let missing = 0
      for (const s of this.streams) {
        if (!(await ns.logExists(s.name))) {
          process.stderr.write(`Log stream ${s.name} is not found. Please create it first.\n`)
          missing++
        }
      }
      if (missing > 0) this.failed = true
      else await this.follow(position, limit, info, json ? (s, r) => recordJson(s.name, r, flags.base64) : (s, r) => textBlock(s.label, r))
    } finally {
      process.removeListener('SIGINT', onSignal)
      process.removeListener('SIGTERM', onSignal)
      await this.stopAll()
      await closeWithin(ns)
    }
    if (this.failed) this.exit(ExitCode.FAILURE)
  }

  /** Positions and opens each stream's reader (in order), then runs every read loop until all end. */
  private async follow(position: UserPosition | undefined, limit: number, info: (line: string) => void, emit: Emit): Promise<void> {
    const loops: Promise<void>[] = []
    for (const s of this.streams) {
      if (this.stopping) break
      const start = await this.startOf(s, position)
      if (start === undefined || this.stopping) break
      info(`Wait for records from ${s.label} starting from ${describePosition(start)}`)
      s.reader = await s.lm.getAsyncLogReader(start)
      info(`Open reader to read records from stream ${s.label}`)
      loops.push(this.readLoop(s, start, limit, emit))
    }
    await Promise.all(loops)
  }

  /** The seeds' start: the last record of a non-empty stream, the first position of an empty one. */
  private async startOf(s: StreamState, position: UserPosition | undefined): Promise<ReadPosition | undefined> {
    if (position?.kind === 'earliest') return DLSN.InitialDLSN
    if (position?.kind === 'dlsn') return position.dlsn
    if (position?.kind === 'txid') return {txid: position.txid}
    try {
      const last = await lastRecordOf(s.lm)
      if (last === undefined) {
        process.stderr.write(`Log stream ${s.label} is empty.\n`)
        return DLSN.InitialDLSN
      }
      return position?.kind === 'latest' ? last.dlsn.getNextDLSN() : last.dlsn
    } catch (e) {
      process.stderr.write(`Encountered exception on process stream ${s.name}: ${errorMessage(e)}\n`)
      this.failed = true
      await this.stopAll()
      return undefined
    }
  }

  private async readLoop(s: StreamState, start: ReadPosition, limit: number, emit: Emit): Promise<void> {
    let next: ReadPosition = start
    let idleReopens = 0
    while (!this.stopping) {
      const reader = s.reader
      if (reader === undefined) return
      let batch: LogRecordWithDLSN[]
      try {
        batch = await reader.readBulk(READ_BATCH)
      } catch (e) {
        if (this.stopping || e instanceof ReadCancelledError) return
        if (e instanceof EndOfStreamError) {
          process.stderr.write(`Log stream ${s.name} reached end of stream.\n`)
          return
        }
        let failure: unknown = e
        if (e instanceof IdleReaderError && idleReopens < IDLE_REOPENS_MAX) {
          idleReopens++
          process.stderr.write(`${e.message}; reopening the reader of ${s.name} at ${describePosition(next)}\n`)
          await reader.close().catch(() => undefined)
          try {
            const reopened = await s.lm.getAsyncLogReader(next)
            // Stopped while reopening (Ctrl-C, another stream's -n): stopAll() did not see this reader.
            if (this.stopping) {
              await reopened.close().catch(() => undefined)
              return
            }
            s.reader = reopened
            continue
          } catch (reopenError) {
            // A reopen cut short by the stop is no failure; else the log may be gone or ZooKeeper
            // unreachable: reported like any read failure.
            if (this.stopping) return
            s.reader = undefined
            failure = reopenError
          }
        }
        process.stderr.write(`Encountered error on reading records from stream ${s.name}: ${errorMessage(failure)}\n`)
        this.failed = true
        await this.stopAll()
        return
      }
      idleReopens = 0
      let out = ''
      for (const r of batch) {
        if (this.delivered >= limit) break
        this.delivered++
        next = r.dlsn.getNextDLSN()
        out += emit(s, r)
      }
      if (out !== '' && !process.stdout.write(out)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve))
      if (this.delivered >= limit) {
        await this.stopAll()
        return
      }
    }
  }

  private async stopAll(): Promise<void> {
    this.stopping = true
    const all = this.streams.map(async (s) => {
      const r = s.reader
      s.reader = undefined
      await r?.close().catch(() => undefined)
      await s.lm.close().catch(() => undefined)
    })
    await Promise.all(all)
  }
}

function textBlock(label: string, r: LogRecordWithDLSN): string {
  return `Received record ${r.dlsn.toString()} from stream ${label}\n"""\n${r.payload.toString('utf8')}\n"""\n`
}

async function closeWithin(ns: Namespace): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([ns.close().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))])
  clearTimeout(timer)
}
