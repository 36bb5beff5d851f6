/**
 * `dlog bkshell readledger -l ID`: prints a ledger's entries as text, hex or JSON. Opens the ledger
 * without recovery (a live writer is left alone) and reads no further than its LAC.
 * Logic: engine ledger/read-handle.ts through the LedgerClient.
 */
import {Flags} from '@oclif/core'

import {BkshellCommand, confFlag, ledgerIdFlag} from '../../cli/bkshell.js'
import {ExitCode} from '../../cli/exit-codes.js'
import type {LedgerEntry} from '../../engine/index.js'

/** Entries read per request batch: output streams out while the rest is read, memory stays bounded. */
const READ_BATCH_ENTRIES = 500

/** `hexdump -C` style: offset, 16 bytes in hex, the printable ASCII. */
export function hexDump(buf: Buffer): string {
  const lines: string[] = []
  for (let off = 0; off < buf.length; off += 16) {
    const row = buf.subarray(off, off + 16)
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'))
    const left = hex.slice(0, 8).join(' ')
    const right = hex.slice(8).join(' ')
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${off.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`)
  }
  return lines.join('\n')
}

export default class ReadLedger extends BkshellCommand {
  static override summary = "Print a ledger's entries"

  static override description = `Reads entries of one ledger from its bookies and prints them: by default \
each entry as a header line "--------- Lid=<ledger>, Eid=<entry> ---------" followed by its payload as \
UTF-8 text; with --hex as a hex dump instead. The ledger is opened without recovery, so a writer still \
appending is not disturbed, and only entries up to the last add confirmed (LAC) are read: --last beyond \
the LAC is cut back to it with a warning. Every entry's CRC32C is checked; a corrupt copy is skipped in \
favour of another replica, and the command fails if no good copy exists. --json prints one JSON object \
with the ledger's state, its LAC and the entries (payload as text, or as hex with --hex). The \
configuration comes from --conf or BOOKIE_CONF.`

  static override examples = [
    {description: 'Every entry of ledger 1 as text', command: 'BOOKIE_CONF=conf/bookie-1.conf <%= config.bin %> <%= command.id %> -l 1'},
    {description: 'Entries 10 to 20 as hex', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -l 1 --first 10 --last 20 --hex'},
    {description: 'For a script', command: '<%= config.bin %> <%= command.id %> --conf conf/bookie-1.conf -l 1 --json'},
  ]

  static override flags = {
    conf: confFlag,
    ledgerid: ledgerIdFlag,
    first: Flags.integer({description: 'first entry id to print', default: 0, min: 0}),
    last: Flags.integer({description: 'last entry id to print (default: the LAC)', min: 0}),
    hex: Flags.boolean({description: 'print payloads as a hex dump'}),
    json: Flags.boolean({description: 'print JSON instead of text'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ReadLedger)
    this.checkLedgerId(flags.ledgerid)
    if (flags.last !== undefined && flags.last < flags.first) {
      this.error(`--last ${flags.last} is before --first ${flags.first}`, {exit: ExitCode.USAGE})
    }
    const config = this.loadConfig(flags.conf)
    await this.withLedgerClient(config, async (client) => {
      const handle = await client.openLedgerNoRecovery(flags.ledgerid)
      try {
        const lac = handle.isClosed ? handle.lastAddConfirmed : await handle.readLastAddConfirmed()
        let last = flags.last ?? lac
        if (last > lac) {
          this.warn(
            handle.isClosed
              ? `ledger ${flags.ledgerid} is closed at entry ${lac}; reading up to ${lac}`
              : `ledger ${flags.ledgerid}: entries after ${lac} are not confirmed yet; reading up to ${lac}`,
          )
          last = lac
        }
        const render = (e: LedgerEntry): string =>
          `--------- Lid=${e.ledgerId}, Eid=${e.entryId} ---------\n${flags.hex ? hexDump(e.payload) : e.payload.toString('utf8')}`
        const json: object[] = []
        for (let from = flags.first; from <= last; from += READ_BATCH_ENTRIES) {
          const entries = await handle.readEntries(from, Math.min(last, from + READ_BATCH_ENTRIES - 1))
          for (const e of entries) {
            if (flags.json) {
              json.push({entryId: e.entryId, length: e.length, size: e.payload.length, payload: e.payload.toString(flags.hex ? 'hex' : 'utf8')})
            } else this.log(render(e))
          }
        }
        if (flags.json) {
          const m = handle.metadata
          this.log(JSON.stringify({ledgerId: m.ledgerId, state: m.state, lastAddConfirmed: lac, encoding: flags.hex ? 'hex' : 'utf8', entries: json}, null, 2))
        } else if (flags.first > last) {
          this.log(lac < 0 ? `Ledger ${flags.ledgerid} has no confirmed entries.` : `No entries in range: the LAC of ledger ${flags.ledgerid} is ${lac}.`)
        }
      } finally {
        await handle.close()
      }
    })
  }
}
