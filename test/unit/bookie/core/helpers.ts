/** Shared helpers for the bookie core tests: entries, a bookie over temp dirs with small limits. */
import {ManualClock} from '../../../../src/engine/common/clock.js'
import {encodeEntry} from '../../../../src/engine/protocol/bookie/entry.js'
import {Bookie} from '../../../../src/engine/bookie/bookie.js'
import type {BookieOptionsInput} from '../../../../src/engine/bookie/options.js'
import {join} from 'node:path'

export const KEY = Buffer.from('master-key-0123456789')
export const OTHER_KEY = Buffer.from('another-key')

export function payloadOf(ledgerId: number, entryId: number, bytes = 100): Buffer {
  const b = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) b[i] = (ledgerId * 31 + entryId * 7 + i) & 0xff
  return b
}

/** Entry sizes that vary with the id (20 B .. 2 KiB), for crash tests that must recompute them. */
export function entryBytesOf(entryId: number): number {
  return 20 + ((entryId * 97) % 2000)
}

export function makeEntry(ledgerId: number, entryId: number, opts: {lac?: number; bytes?: number} = {}): Buffer {
  const payload = payloadOf(ledgerId, entryId, opts.bytes ?? 100)
  return encodeEntry({ledgerId, entryId, lac: opts.lac ?? entryId - 1, length: (entryId + 1) * payload.length, payload})
}

export function dirsOf(root: string, ledgerDirs = 1): {journalDirs: string[]; ledgerDirs: string[]} {
  return {
    journalDirs: [join(root, 'journal')],
    ledgerDirs: Array.from({length: ledgerDirs}, (_, i) => join(root, `ledgers${i}`)),
  }
}

/** A bookie with small journal files and a manual clock (so only explicit checkpoints flush). */
export async function openTestBookie(root: string, opts: Partial<BookieOptionsInput> = {}): Promise<{bookie: Bookie; clock: ManualClock}> {
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock()
  const bookie = await Bookie.open({
    ...dirsOf(root),
    journalFileSizeBytesMax: 1024 * 1024,
    writeCacheBytesMax: 1024 * 1024,
    entryLogSizeBytesMax: 256 * 1024,
    ...opts,
    clock,
  })
  return {bookie, clock}
}

export async function addAll(bookie: Bookie, ledgerId: number, from: number, to: number, opts: {bytes?: number} = {}): Promise<Buffer[]> {
  const entries: Buffer[] = []
  const ps: Promise<void>[] = []
  for (let e = from; e < to; e++) {
    const entry = makeEntry(ledgerId, e, opts)
    entries.push(entry)
    ps.push(bookie.addEntry({entry, masterKey: KEY, recovery: false}))
  }
  await Promise.all(ps)
  return entries
}
