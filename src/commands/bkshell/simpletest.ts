/**
 * `dlog bkshell simpletest`: a smoke test of the bookie cluster through the ledger client: create a
 * ledger, write N entries (pipelined), close it, read them back and compare, report. Logic: engine
 * ledger client (write-handle.ts, read-handle.ts).
 */
import {Flags} from '@oclif/core'

import {BkshellCommand, confFlag} from '../../cli/bkshell.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {renderTable} from '../../cli/render.js'
import {DlogError} from '../../engine/index.js'

/** Appends in flight at once: enough to pipeline, few enough that latencies mean something. */
const OUTSTANDING_ADDS = 64
const ENTRIES_MAX = 10_000_000
const ENTRY_BYTES_MAX = 1024 * 1024
const READ_BATCH_ENTRIES = 500

/** Entry i's payload: its number, then filler up to `bytes` (so a misplaced or torn entry shows). */
function payloadOf(i: number, bytes: number): Buffer {
  const head = Buffer.from(`simpletest entry ${i} `)
  const out = Buffer.alloc(Math.max(bytes, 1), 0x61 + (i % 26))
  head.copy(out, 0, 0, Math.min(head.length, out.length))
  return out
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

export default class SimpleTest extends BkshellCommand {
  static override summary = 'Write entries to a new ledger, read them back and report'

  static override description = `Creates a ledger with ensemble size -e, write quorum -w and ack quorum -a \
on the writable bookies, appends -n entries of --size bytes (${OUTSTANDING_ADDS} in flight), closes the \
ledger, reads every entry back and compares it with what was written. Prints the ledger id, its \
bookies, adds per second with add latency percentiles, and the read-back result; --json prints the \
same as a JSON object. The ledger is left in place (delete it with deleteledger). Exits 1 if an add \
fails or an entry reads back different. The configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [
    {description: '100 entries on 3 bookies (3/3/2)', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %>'},
    {description: '1000 entries on 2 bookies, for a script', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -e 2 -w 2 -a 2 -n 1000 --json'},
  ]

  static override flags = {
    conf: confFlag,
    ensemble: Flags.integer({char: 'e', description: 'ensemble size', default: 3, min: 1}),
    writeQuorum: Flags.integer({char: 'w', aliases: ['write-quorum'], description: 'write quorum size', default: 3, min: 1}),
    ackQuorum: Flags.integer({char: 'a', aliases: ['ack-quorum'], description: 'ack quorum size', default: 2, min: 1}),
    numEntries: Flags.integer({char: 'n', aliases: ['num-entries'], description: 'entries to write', default: 100, min: 1, max: ENTRIES_MAX}),
    size: Flags.integer({description: 'payload bytes per entry', default: 100, min: 1, max: ENTRY_BYTES_MAX}),
    json: Flags.boolean({description: 'print JSON instead of text'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(SimpleTest)
    const {ensemble, writeQuorum, ackQuorum, numEntries, size} = flags
    if (!(ackQuorum <= writeQuorum && writeQuorum <= ensemble)) {
      this.error(`need ack quorum <= write quorum <= ensemble size, got -a ${ackQuorum} -w ${writeQuorum} -e ${ensemble}`, {exit: ExitCode.USAGE})
    }
    const config = this.loadConfig(flags.conf)
    await this.withLedgerClient(config, async (client) => {
      const writer = await client.createLedger({ensembleSize: ensemble, writeQuorumSize: writeQuorum, ackQuorumSize: ackQuorum})
      const ledgerId = writer.ledgerId
      const bookies = writer.metadata.ensembles[0]?.bookies ?? []

      // Write: keep OUTSTANDING_ADDS appends in flight, timing each one.
      const latenciesMs: number[] = []
      const writeStart = performance.now()
      let next = 0
      let failure: unknown
      const pump = async (): Promise<void> => {
        while (failure === undefined && next < numEntries) {
          const i = next++
          const t0 = performance.now()
          try {
            const entryId = await writer.append(payloadOf(i, size))
            if (entryId !== i) throw new DlogError('SIMPLETEST', `entry ${i} got entry id ${entryId}`)
            latenciesMs.push(performance.now() - t0)
          } catch (e) {
            failure ??= e
          }
        }
      }
      await Promise.all(Array.from({length: Math.min(OUTSTANDING_ADDS, numEntries)}, () => pump()))
      const writeMs = performance.now() - writeStart
      if (failure !== undefined) throw failure
      await writer.close()

      // Read back and compare.
      const readStart = performance.now()
      const reader = await client.openLedgerNoRecovery(ledgerId)
      const mismatches: number[] = []
      try {
        for (let from = 0; from < numEntries; from += READ_BATCH_ENTRIES) {
          const entries = await reader.readEntries(from, Math.min(numEntries - 1, from + READ_BATCH_ENTRIES - 1))
          for (const e of entries) if (!e.payload.equals(payloadOf(e.entryId, size))) mismatches.push(e.entryId)
        }
      } finally {
        await reader.close()
      }
      const readMs = performance.now() - readStart

      latenciesMs.sort((a, b) => a - b)
      const report = {
        ledgerId,
        ensembleSize: ensemble,
        writeQuorumSize: writeQuorum,
        ackQuorumSize: ackQuorum,
        bookies,
        entries: numEntries,
        entryBytes: size,
        writeMs: round(writeMs),
        addsPerSec: round(numEntries / (writeMs / 1000)),
        addLatencyMs: {p50: round(percentile(latenciesMs, 50)), p99: round(percentile(latenciesMs, 99)), max: round(latenciesMs.at(-1) ?? 0)},
        readMs: round(readMs),
        readsPerSec: round(numEntries / (readMs / 1000)),
        verified: mismatches.length === 0,
        mismatchedEntries: mismatches.slice(0, 20),
      }
      if (flags.json) this.log(JSON.stringify(report, null, 2))
      else {
        this.log(`Ledger ${ledgerId} (E=${ensemble} Qw=${writeQuorum} Qa=${ackQuorum}) on ${bookies.join(', ')}`)
        this.log(
          renderTable(
            ['', 'Entries', 'Time (ms)', 'Per second', 'p50 (ms)', 'p99 (ms)'],
            [
              ['write', numEntries, report.writeMs, report.addsPerSec, report.addLatencyMs.p50, report.addLatencyMs.p99],
              ['read back', numEntries, report.readMs, report.readsPerSec, '', ''],
            ],
          ),
        )
        this.log(report.verified ? `All ${numEntries} entries read back intact.` : `${mismatches.length} entries read back different: ${report.mismatchedEntries.join(', ')}`)
      }
      if (!report.verified) this.exit(ExitCode.FAILURE)
    })
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}
