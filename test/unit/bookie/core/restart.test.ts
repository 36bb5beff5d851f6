import assert from 'node:assert/strict'
import {join} from 'node:path'
import {test} from 'node:test'
import {Logger} from '../../../../src/engine/common/logger.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {KEY, addAll, makeEntry, openTestBookie} from './helpers.js'

const fresh = freshDirs('dlog-bookie-restart-')

test('bookie restart - acknowledged entries come back byte-identical from the journal when nothing was checkpointed', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  const a = await addAll(bookie, 1, 0, 200)
  const b = await addAll(bookie, 2, 0, 50, {bytes: 3000})
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  for (let e = 0; e < 200; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), a[e])
  for (let e = 0; e < 50; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 2, entryId: e}), b[e])
  assert.equal(await bookie.readLac(1), 198)
  assert.deepEqual(bookie.listLedgers(), [1, 2])
  await bookie.close()
})

test('bookie restart - entries before the checkpoint come from entry logs, those after from the journal', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  const first = await addAll(bookie, 3, 0, 100)
  await bookie.checkpoint()
  const second = await addAll(bookie, 3, 100, 150)
  await bookie.fence(3, KEY)
  const third = makeEntry(3, 150)
  await bookie.addEntry({entry: third, masterKey: KEY, recovery: true})
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  const all = [...first, ...second, third]
  for (let e = 0; e <= 150; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 3, entryId: e}), all[e], `entry ${e}`)
  assert.deepEqual(await bookie.readEntry({ledgerId: 3, entryId: -1}), third)
  // A second crash right after replay loses nothing either (replay is idempotent).
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  for (let e = 0; e <= 150; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 3, entryId: e}), all[e], `entry ${e}`)
  await bookie.close()
})

test('bookie restart - journal files are reclaimed once checkpoints pass them, and replay starts at the checkpoint', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root, {journalFileSizeBytesMax: 64 * 1024})
  const entries: Buffer[] = []
  for (let round = 0; round < 10; round++) {
    entries.push(...(await addAll(bookie, 4, round * 100, (round + 1) * 100, {bytes: 200})))
    await bookie.checkpoint()
  }
  const {readdirSync} = await import('node:fs')
  const walFiles = readdirSync(join(root, 'journal', 'current')).filter((f) => f.endsWith('.wal'))
  // 1000 entries x ~250 B = ~250 KiB of journal in 64 KiB files: without reclaim there would be 4+.
  assert.ok(walFiles.length <= 3, `journal files not reclaimed: ${walFiles.join(' ')}`)
  const more = await addAll(bookie, 4, 1000, 1010)
  entries.push(...more)
  await bookie.abandon()
  const replayed: number[] = []
  const logger = new Logger({level: 'info', sink: (l) => {
    if (l.message === 'journal replayed') replayed.push(l.attrs['records'] as number)
  }})
  ;({bookie} = await openTestBookie(root, {logger}))
  // Only the records after the last checkpoint are replayed: the 10 adds made after it.
  assert.deepEqual(replayed, [10])
  for (let e = 0; e < 1010; e += 7) assert.deepEqual(await bookie.readEntry({ledgerId: 4, entryId: e}), entries[e])
  await bookie.close()
})
