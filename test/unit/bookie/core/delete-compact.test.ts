import assert from 'node:assert/strict'
import {closeSync, openSync, readdirSync, statSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {Logger} from '../../../../src/engine/common/logger.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {KEY, makeEntry, openTestBookie} from './helpers.js'
import type {Bookie} from '../../../../src/engine/bookie/bookie.js'

const fresh = freshDirs('dlog-bookie-gc-')

function logFiles(root: string): {count: number; bytes: number} {
  const dir = join(root, 'ledgers0', 'current')
  const files = readdirSync(dir).filter((f) => f.endsWith('.log'))
  return {count: files.length, bytes: files.reduce((s, f) => s + statSync(join(dir, f)).size, 0)}
}

const noLedger = (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_LEDGER

/** Writes ledgers interleaved 3:1 (A, A, A, B) so every entry log holds mostly A. */
async function writeMixed(bookie: Bookie, a: number, b: number, count: number): Promise<Map<number, Buffer>> {
  const kept = new Map<number, Buffer>()
  for (let e = 0; e < count; e++) {
    const ps = [0, 1, 2].map((k) => bookie.addEntry({entry: makeEntry(a, e * 3 + k, {bytes: 500}), masterKey: KEY, recovery: false}))
    const entry = makeEntry(b, e, {bytes: 500})
    kept.set(e, entry)
    ps.push(bookie.addEntry({entry, masterKey: KEY, recovery: false}))
    await Promise.all(ps)
    if (e % 50 === 49) await bookie.checkpoint()
  }
  await bookie.checkpoint()
  return kept
}

test('bookie gc - deleting a ledger and compacting frees entry log space; the rest stays readable, also after restart', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root, {entryLogSizeBytesMax: 64 * 1024})
  const kept = await writeMixed(bookie, 100, 200, 300)
  const only = await Promise.all([0, 1, 2].map((e) => bookie.addEntry({entry: makeEntry(300, e, {bytes: 20_000}), masterKey: KEY, recovery: false})))
  assert.equal(only.length, 3)
  await bookie.checkpoint()
  const before = logFiles(root)
  assert.ok(before.count >= 6, `expected several entry logs, got ${before.count}`)

  await bookie.deleteLedger(100)
  await bookie.deleteLedger(300)
  const result = await bookie.compact()
  const afterCompaction = logFiles(root)
  assert.ok(result.logsRemoved >= before.count - 2, `only ${result.logsRemoved} of ${before.count} logs removed`)
  // Ledger 200 is a quarter of the mixed data; ledgers 100 and 300 are gone.
  assert.ok(afterCompaction.bytes < before.bytes * 0.4, `entry logs still hold ${afterCompaction.bytes} of ${before.bytes} bytes`)
  assert.deepEqual(bookie.listLedgers(), [200])
  await assert.rejects(bookie.readEntry({ledgerId: 100, entryId: 0}), noLedger)
  for (const [e, entry] of kept) assert.deepEqual(await bookie.readEntry({ledgerId: 200, entryId: e}), entry)

  await bookie.close()
  ;({bookie} = await openTestBookie(root, {entryLogSizeBytesMax: 64 * 1024}))
  assert.deepEqual(bookie.listLedgers(), [200])
  await assert.rejects(bookie.readEntry({ledgerId: 300, entryId: 1}), noLedger)
  for (const [e, entry] of kept) assert.deepEqual(await bookie.readEntry({ledgerId: 200, entryId: e}), entry)
  await bookie.close()
})

test('bookie gc - a ledger deleted while its entries are in the write cache is never indexed, and stays deleted after a crash', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  for (let e = 0; e < 20; e++) await bookie.addEntry({entry: makeEntry(1, e), masterKey: KEY, recovery: false})
  for (let e = 0; e < 20; e++) await bookie.addEntry({entry: makeEntry(2, e), masterKey: KEY, recovery: false})
  await bookie.deleteLedger(1)
  await assert.rejects(bookie.readEntry({ledgerId: 1, entryId: 0}), noLedger)
  // Crash before any checkpoint: replay sees the adds and then the delete.
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  assert.deepEqual(bookie.listLedgers(), [2])
  await assert.rejects(bookie.readEntry({ledgerId: 1, entryId: 0}), noLedger)
  await bookie.checkpoint()
  await bookie.close()
  ;({bookie} = await openTestBookie(root))
  assert.deepEqual(bookie.listLedgers(), [2])
  assert.deepEqual(await bookie.readEntry({ledgerId: 2, entryId: 19}), makeEntry(2, 19))
  await bookie.close()
})

test('bookie gc - a deleted ledger can be written again as a new ledger', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  await bookie.addEntry({entry: makeEntry(5, 0), masterKey: KEY, recovery: false})
  await bookie.fence(5, KEY)
  await bookie.checkpoint()
  await bookie.deleteLedger(5)
  await bookie.addEntry({entry: makeEntry(5, 0), masterKey: Buffer.from('new-key'), recovery: false})
  assert.deepEqual(await bookie.readEntry({ledgerId: 5, entryId: 0}), makeEntry(5, 0))
})

test('bookie gc - compaction keeps an entry log that is damaged before its committed end, so live entries are not dropped', async () => {
  const root = fresh()
  const errors: string[] = []
  const logger = new Logger({level: 'error', sink: (l) => errors.push(l.message)})
  const {bookie} = await openTestBookie(root, {entryLogSizeBytesMax: 64 * 1024, logger})
  const kept = await writeMixed(bookie, 100, 200, 100)
  const dir = join(root, 'ledgers0', 'current')
  const first = readdirSync(dir).filter((f) => f.endsWith('.log')).sort()[0]!
  // Damage the first record (ledger 100's entry 0): a scan stops there, before ledger 200's records.
  const fd = openSync(join(dir, first), 'r+')
  writeSync(fd, Buffer.from([0xde, 0xad]), 0, 2, 16 + 4 + 40)
  closeSync(fd)
  await bookie.deleteLedger(100)
  await bookie.compact()
  assert.ok(readdirSync(dir).includes(first), 'the damaged log was deleted')
  assert.ok(errors.some((m) => m.includes('damaged')), errors.join('; '))
  // Every entry of ledger 200 is still readable (from the damaged log or from copies).
  for (const [e, entry] of kept) assert.deepEqual(await bookie.readEntry({ledgerId: 200, entryId: e}), entry)
  await bookie.close()
})
