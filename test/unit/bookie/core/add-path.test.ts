import assert from 'node:assert/strict'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import fc from 'fast-check'
import {LedgerPositions} from '../../../../src/engine/bookie/storage/write-cache.js'
import {entryRecordCrc} from '../../../../src/engine/bookie/storage/journal.js'
import type {AddCallback} from '../../../../src/engine/bookie/types.js'
import {recordCrc} from '../../../../src/engine/common/wal/format.js'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {encodeEntry} from '../../../../src/engine/protocol/bookie/entry.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {waitFor} from '../../../helpers/wait-for.js'
import {KEY, OTHER_KEY, makeEntry, openTestBookie} from './helpers.js'

const fresh = freshDirs('dlog-bookie-addpath-')

const entryArb = fc
  .record({
    ledgerId: fc.maxSafeNat(),
    entryId: fc.maxSafeNat(),
    lac: fc.oneof(fc.constant(-1), fc.maxSafeNat()),
    length: fc.maxSafeNat(),
    payload: fc.uint8Array({maxLength: 3000}).map((a) => Buffer.from(a)),
  })
  .map((e) => encodeEntry(e))

test('add path - entryRecordCrc is the journal record CRC of a good entry (one native pass)', () => {
  fc.assert(fc.property(entryArb, (entry) => entryRecordCrc(entry) === recordCrc(entry)))
})

test('add path - entryRecordCrc refuses an entry with any flipped bit, header, stored CRC or payload', () => {
  fc.assert(
    fc.property(entryArb, fc.nat(), fc.integer({min: 0, max: 7}), (entry, at, bit) => {
      const bad = Buffer.from(entry)
      const i = at % bad.length
      bad[i] = (bad[i] as number) ^ (1 << bit)
      return entryRecordCrc(bad) === -1
    }),
  )
})

test('add path - the write cache table keeps in-order, gapped, rewritten and far-away ids', () => {
  const p = new LedgerPositions()
  const want = new Map<number, number>()
  const put = (id: number, pos: number): void => {
    p.set(id, pos)
    want.set(id, pos)
  }
  for (let e = 10; e < 20; e++) put(e, e * 100)
  put(25, 2500) // a small gap: dense with holes
  put(5, 500) // before the run: sparse
  put(100_000, 7) // far after: sparse
  put(12, 1212) // rewrite in the run
  put(21, 2121) // fills a hole
  for (let e = 26; e < 200; e++) put(e, e) // the run grows past nothing sparse yet
  for (const [id, pos] of want) assert.equal(p.get(id), pos, `entry ${id}`)
  for (const id of [0, 9, 22, 24, 200, 99_999]) assert.equal(p.get(id), undefined, `entry ${id}`)
  const seen = new Map<number, number>()
  p.forEach((id, pos) => {
    assert.ok(!seen.has(id), `entry ${id} twice`)
    seen.set(id, pos)
  })
  assert.deepEqual([...seen].sort((a, b) => a[0] - b[0]), [...want].sort((a, b) => a[0] - b[0]))
})

function callback(): AddCallback & {result: Promise<void>} {
  let addDone!: () => void
  let addFailed!: (e: unknown) => void
  const result = new Promise<void>((resolve, reject) => {
    addDone = resolve
    addFailed = reject
  })
  return {addDone, addFailed, result}
}

test('add path - addEntryWith acks in order once durable, throws refusals at once, and reads back', async (t) => {
  const root = fresh()
  const {bookie} = await openTestBookie(root)
  t.after(() => bookie.close())
  const acked: number[] = []
  const all: Promise<void>[] = []
  for (let e = 0; e < 40; e++) {
    const cb = callback()
    bookie.addEntryWith(makeEntry(3, e), KEY, false, cb)
    all.push(cb.result.then(() => void acked.push(e)))
  }
  await Promise.all(all)
  assert.deepEqual(acked, Array.from({length: 40}, (_, i) => i))
  for (let e = 0; e < 40; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 3, entryId: e}), makeEntry(3, e))
  const refused = (code: number) => (e: unknown) => e instanceof BookieError && e.code === code
  const corrupt = makeEntry(3, 40)
  corrupt[60] = (corrupt[60] as number) ^ 1
  assert.throws(() => bookie.addEntryWith(corrupt, KEY, false, callback()), refused(BookieStatus.BAD_CHECKSUM))
  assert.throws(() => bookie.addEntryWith(makeEntry(3, 40), OTHER_KEY, false, callback()), refused(BookieStatus.UNAUTHORIZED))
  await bookie.fence(3, KEY)
  assert.throws(() => bookie.addEntryWith(makeEntry(3, 40), KEY, false, callback()), refused(BookieStatus.FENCED))
  const recovery = callback()
  bookie.addEntryWith(makeEntry(3, 40), KEY, true, recovery)
  await recovery.result
  assert.deepEqual(await bookie.readEntry({ledgerId: 3, entryId: 40}), makeEntry(3, 40))
})

test('add path - adds made with addEntryWith survive a crash (journal replay, the precomputed record CRC)', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  const cbs = Array.from({length: 30}, (_, e) => {
    const cb = callback()
    bookie.addEntryWith(makeEntry(9, e, {bytes: 10 + e * 37}), KEY, false, cb)
    return cb.result
  })
  await Promise.all(cbs)
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  try {
    for (let e = 0; e < 30; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 9, entryId: e}), makeEntry(9, e, {bytes: 10 + e * 37}))
  } finally {
    await bookie.close()
  }
})

test('journal preallocation - new journal files hold journalPreallocateBytes of zeros, not a whole file size', async (t) => {
  const root = fresh()
  const {bookie} = await openTestBookie(root, {journalFileSizeBytesMax: 8 * 1024 * 1024, journalPreallocateBytes: 64 * 1024})
  t.after(() => bookie.close())
  const dir = join(root, 'journal', 'current')
  const walFiles = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.wal'))
  // The first file and the spare prepared behind it.
  await waitFor(() => walFiles().length === 2, {what: 'the spare journal file'})
  for (const f of walFiles()) assert.ok(statSync(join(dir, f)).size <= 64 * 1024 + 24, `${f} is ${statSync(join(dir, f)).size} bytes`)
  // Past the preallocated space the journal rolls to the spare rather than grow the file.
  for (let e = 0; e < 100; e++) {
    const cb = callback()
    bookie.addEntryWith(makeEntry(1, e, {bytes: 1000}), KEY, false, cb)
    await cb.result
  }
  await waitFor(() => walFiles().length >= 3, {what: 'a roll'})
  for (const f of walFiles()) assert.ok(statSync(join(dir, f)).size <= 64 * 1024 + 24 + 1100, `${f} is ${statSync(join(dir, f)).size} bytes`)
})
