import assert from 'node:assert/strict'
import {closeSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {freshDirs} from '../../helpers/tmp.js'
import {KEY, addAll, makeEntry, openTestBookie} from '../../unit/bookie/core/helpers.js'

const fresh = freshDirs('dlog-bookie-tail-')

/** The journal file holding the newest records, and the offset just past its last non-zero byte. */
function journalTail(root: string): {path: string; end: number} {
  const dir = join(root, 'journal', 'current')
  const files = readdirSync(dir).filter((f) => f.endsWith('.wal')).sort()
  for (const f of files.reverse()) {
    const path = join(dir, f)
    const bytes = readFileSync(path)
    let end = bytes.length
    while (end > 0 && bytes[end - 1] === 0) end--
    // Past the 24-byte file header means the file holds records.
    if (end > 24) return {path, end}
  }
  throw new Error('no journal records found')
}

function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+')
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, at)
  b[0] = (b[0] as number) ^ 0xff
  writeSync(fd, b, 0, 1, at)
  closeSync(fd)
}

const noEntry = (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_ENTRY

for (const damage of ['truncated', 'corrupted'] as const) {
  test(`bookie fault - a ${damage} journal tail ends replay cleanly; earlier entries survive and new adds follow`, async () => {
    const root = fresh()
    let {bookie} = await openTestBookie(root)
    const entries = await addAll(bookie, 1, 0, 100)
    await bookie.abandon()
    const tail = journalTail(root)
    if (damage === 'truncated') truncateSync(tail.path, tail.end - 30) // cuts into the last record (entry 99)
    else flipByte(tail.path, tail.end - 30) // its CRC no longer matches
    ;({bookie} = await openTestBookie(root))
    for (let e = 0; e < 99; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), entries[e])
    await assert.rejects(bookie.readEntry({ledgerId: 1, entryId: 99}), noEntry)
    // The writer re-sends entry 99; it lands after the last good record and survives another crash.
    await bookie.addEntry({entry: makeEntry(1, 99), masterKey: KEY, recovery: false})
    const more = await addAll(bookie, 1, 100, 120)
    await bookie.abandon()
    ;({bookie} = await openTestBookie(root))
    for (let e = 0; e < 99; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), entries[e])
    assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: 99}), makeEntry(1, 99))
    for (let e = 100; e < 120; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), more[e - 100])
    await bookie.close()
  })
}

test('bookie fault - a corrupt journal record before the tail fails the open with an error instead of dropping later data', async () => {
  const root = fresh()
  const {bookie} = await openTestBookie(root)
  // Separate batches, so the damaged record is followed by later fsynced ones.
  for (let e = 0; e < 20; e++) await bookie.addEntry({entry: makeEntry(2, e), masterKey: KEY, recovery: false})
  await bookie.abandon()
  const tail = journalTail(root)
  flipByte(tail.path, 24 + 60)
  assert.ok(statSync(tail.path).size > 0)
  await assert.rejects(openTestBookie(root), (e: unknown) => e instanceof Error && /corrupt/i.test(e.message))
  // The failed open released everything it held (a leaked index lock would fail differently).
  await assert.rejects(openTestBookie(root), (e: unknown) => e instanceof Error && /corrupt/i.test(e.message))
})
