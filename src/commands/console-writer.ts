/**
 * `dlog console-writer [-u URI] STREAM`: the tutorials' ConsoleWriter. Each line read from the terminal
 * (prompt `[dlog] > `) or from a pipe becomes one durable record written with the log core's writer
 * (immediate flush, no buffering: a reader sees each line at once). Txids follow a time sequencer:
 * max(last + 1, now in ms), so they never decrease even if the clock steps back. Logic: LogManager /
 * AsyncLogWriter; this file reads lines, orders output and maps failures to exit codes.
 */
import {Args, Flags} from '@oclif/core'
import {hostname} from 'node:os'
import {createInterface} from 'node:readline'

import {DlogCommand} from '../cli/base-command.js'
import {ExitCode} from '../cli/exit-codes.js'
import {openLogOf, openNamespace} from '../cli/log-access.js'
import {resolveNamespaceUri, uriFlag} from '../cli/namespace-uri.js'
import {
  type AsyncLogWriter,
  type DLSN,
  errorMessage,
  LockingError,
  type LogManager,
  type Namespace,
  OwnershipAcquireFailedError,
} from '../engine/index.js'

/** Lines written but not yet acknowledged (piped input); reading pauses beyond this. */
const IN_FLIGHT_MAX = 1000
/** Bound on flushing and closing at the end, so a dead cluster cannot hang the exit. */
const CLOSE_TIMEOUT_MS = 30_000
const PROMPT = '[dlog] > '

/** Txids from the wall clock that never go backwards (the original's TimeSequencer). */
class TimeSequencer {
  private last: number

  constructor(last: number) {
    this.last = Math.max(0, last)
  }

  next(): number {
    this.last = Math.max(this.last + 1, Date.now())
    return this.last
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

export default class ConsoleWriter extends DlogCommand {
  static override summary = 'Write lines typed (or piped) into a stream, one record per line'

  static override description = `Opens STREAM with the log core (creating it if missing) and writes every line \
as one durable record: on a terminal it shows the prompt "[dlog] > " and waits for each record to be acknowledged \
before the next prompt; with stdin not a terminal (a pipe or a file) it writes every line in order, up to \
${IN_FLIGHT_MAX} in flight, and exits 0 at end of input once everything is durable. Records become visible to \
readers (dlog tail) as soon as they are acknowledged. --verbose prints each record's DLSN.

If another writer owns the stream the command stops at once, naming the owner (exit ${ExitCode.UNAVAILABLE}). A \
failed write is reported on stderr; on a terminal the writer carries on with the next line, with piped input it \
stops and exits ${ExitCode.FAILURE}. Ctrl-D (end of input) or Ctrl-C ends it cleanly: pending records are flushed \
and the log segment is completed.`

  static override examples = [
    {description: 'Type records into stream-0 of the running sandbox', command: '<%= config.bin %> <%= command.id %> stream-0'},
    {description: 'Write 1000 records from a pipe', command: 'seq 1000 | <%= config.bin %> <%= command.id %> stream-0'},
    {
      description: 'Print the DLSN of each record',
      command: '<%= config.bin %> <%= command.id %> -u distributedlog://127.0.0.1:7000/messaging/distributedlog --verbose stream-0',
    },
  ]

  static override args = {
    STREAM: Args.string({required: true, description: 'the stream (log) to write'}),
  }

  static override flags = {
    uri: uriFlag,
    verbose: Flags.boolean({char: 'v', description: "print each record's DLSN once it is durable"}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ConsoleWriter)
    const stream = args.STREAM
    const uri = resolveNamespaceUri(flags.uri)
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true
    this.log(`Opening log stream ${stream}`)
    // As the original ConsoleWriter: write-through, and never wait for another writer's lock.
    const ns = await openNamespace(uri, {
      clientId: `console-writer@${hostname()}/${process.pid}`,
      conf: {immediateFlushEnabled: true, writerOutputBufferBytes: 0, periodicFlushIntervalMs: 0, lockTimeoutMs: 0},
    })
    let lm: LogManager | undefined
    let writer: AsyncLogWriter | undefined
    let code: number = ExitCode.OK
    try {
      lm = await openLogOf(ns, stream)
      try {
        writer = await lm.openAsyncLogWriter()
      } catch (e) {
        if (e instanceof OwnershipAcquireFailedError) {
          this.error(`Stream ${stream} is owned by another writer: ${e.currentOwner}. Stop that writer first (or wait for its session to expire).`, {
            exit: ExitCode.UNAVAILABLE,
          })
        }
        throw e
      }
      const w = writer
      const sequencer = new TimeSequencer(w.getLastTxId())
      code = interactive ? await this.interactive(w, sequencer, flags.verbose) : await this.piped(w, sequencer, flags.verbose)
    } finally {
      if (writer !== undefined) {
        await withTimeout(writer.close(), CLOSE_TIMEOUT_MS, 'closing the writer').catch((e: unknown) => {
          process.stderr.write(`Failed to close the writer of ${stream}: ${errorMessage(e)}\n`)
          code = ExitCode.FAILURE
        })
      }
      await lm?.close().catch(() => undefined)
      await closeQuietly(ns)
    }
    if (code !== ExitCode.OK) this.exit(code)
  }

  /** Prompt, write, wait for the acknowledgement, prompt again. */
  private async interactive(w: AsyncLogWriter, sequencer: TimeSequencer, verbose: boolean): Promise<number> {
    const rl = createInterface({input: process.stdin, output: process.stdout, prompt: PROMPT})
    let code: number = ExitCode.OK
    let interrupted = false
    const stop = (): void => {
      interrupted = true
      rl.close()
    }
    // Ctrl-C reaches readline as a keystroke; a signal sent with kill reaches the process.
    rl.on('SIGINT', stop)
    const removeSignals = onStopSignals(stop)
    rl.prompt()
    try {
      for await (const line of rl) {
        try {
          const dlsn = await w.write({txid: sequencer.next(), payload: Buffer.from(line, 'utf8')})
          if (verbose) process.stdout.write(`${dlsn.toString()}\n`)
        } catch (e) {
          process.stderr.write(`Encountered error on writing data: ${errorMessage(e)}\n`)
          if (e instanceof LockingError) {
            code = ExitCode.UNAVAILABLE
            break
          }
        }
        if (interrupted) break
        rl.prompt()
      }
    } finally {
      removeSignals()
      rl.close()
    }
    process.stdout.write('\n')
    return code
  }

  /** Every line in order, pipelined; the first failure stops reading. */
  private async piped(w: AsyncLogWriter, sequencer: TimeSequencer, verbose: boolean): Promise<number> {
    const rl = createInterface({input: process.stdin, terminal: false, crlfDelay: Number.POSITIVE_INFINITY})
    const inFlight = new Set<Promise<unknown>>()
    let failure: unknown
    let printed: Promise<void> = Promise.resolve()
    let stop = false
    const removeSignals = onStopSignals(() => {
      stop = true
      rl.close()
    })
    try {
      for await (const line of rl) {
        if (stop || failure !== undefined) break
        const p: Promise<DLSN> = w.write({txid: sequencer.next(), payload: Buffer.from(line, 'utf8')})
        // Acknowledgements come in write order; chaining keeps the printed DLSNs in that order too.
        printed = printed.then(async () => {
          try {
            const dlsn = await p
            if (verbose) process.stdout.write(`${dlsn.toString()}\n`)
          } catch (e) {
            failure ??= e
          }
        })
        const tracked = printed
        inFlight.add(tracked)
        void tracked.finally(() => inFlight.delete(tracked))
        if (inFlight.size >= IN_FLIGHT_MAX) await Promise.race(inFlight)
      }
      await printed
    } finally {
      removeSignals()
      rl.close()
    }
    if (failure === undefined) return ExitCode.OK
    process.stderr.write(`Encountered error on writing data: ${errorMessage(failure)}\n`)
    return failure instanceof LockingError ? ExitCode.UNAVAILABLE : ExitCode.FAILURE
  }
}

/**
 * SIGINT and SIGTERM stop reading input instead of killing the process, so the writer is closed (its
 * segment completed) before exit. Returns the remover.
 */
function onStopSignals(stop: () => void): () => void {
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return () => {
    process.removeListener('SIGINT', stop)
    process.removeListener('SIGTERM', stop)
  }
}

async function closeQuietly(ns: Namespace): Promise<void> {
  await withTimeout(ns.close(), CLOSE_TIMEOUT_MS, 'closing the namespace').catch(() => undefined)
}
