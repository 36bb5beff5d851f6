import assert from 'node:assert/strict'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {encodeEntry} from '../../../../src/engine/protocol/bookie/entry.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {KEY, OTHER_KEY, addAll, makeEntry, openTestBookie} from './helpers.js'

const fresh = freshDirs('dlog-bookie-core-')

function status(code: number) {
  return (e: unknown) => e instanceof BookieError && e.code === code
}

function entryLogs(root: string, dir = 'ledgers0'): string[] {
  return readdirSync(join(root, dir, 'current')).filter((f) => f.endsWith('.log'))
}

test('bookie core - add then read returns the same bytes, from the cache and after a flush from entry logs', async (t) => {
  const root = fresh()
  const {bookie} = await openTestBookie(root)
  t.after(() => bookie.close())
  const entries = await addAll(bookie, 7, 0, 50)
  for (let e = 0; e < 50; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 7, entryId: e}), entries[e])
  assert.ok(bookie.stats().cacheBytes > 0)
  await bookie.checkpoint()
  assert.equal(bookie.stats().cacheBytes, 0)
  assert.ok(entryLogs(root).length >= 1)
  for (let e = 0; e < 50; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 7, entryId: e}), entries[e])
})

test('bookie core - index is right after flushes of interleaved ledgers across pages and rolled logs', async (t) => {
  const root = fresh()
  const {bookie} = await openTestBookie(root, {entryLogSizeBytesMax: 64 * 1024, writeCacheBytesMax: 256 * 1024})
  t.after(() => bookie.close())
  const want = new Map<string, Buffer>()
  // Three ledgers written round-robin, 400 entries each (several index pages), with periodic checkpoints.
  for (let round = 0; round < 4; round++) {
    const ps: Promise<void>[] = []
    for (let e = round * 100; e < (round + 1) * 100; e++) {
      for (const l of [1, 2, 1_000_000_007]) {
        const entry = makeEntry(l, e, {bytes: 50 + ((e * l) % 300)})
        want.set(`${l}/${e}`, entry)
        ps.push(bookie.addEntry({entry, masterKey: KEY, recovery: false}))
      }
    }
    await Promise.all(ps)
    if (round % 2 === 1) await bookie.checkpoint()
  }
  await bookie.checkpoint()
  assert.ok(entryLogs(root).length >= 3, `expected rolled entry logs, got ${entryLogs(root).length}`)
  for (const [k, v] of want) {
    const [l, e] = k.split('/').map(Number) as [number, number]
    assert.deepEqual(await bookie.readEntry({ledgerId: l, entryId: e}), v, k)
  }
  assert.deepEqual(await bookie.readEntry({ledgerId: 2, entryId: -1}), want.get('2/399'))
})

test('bookie core - missing ledger and entry give NO_LEDGER and NO_ENTRY', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  await assert.rejects(bookie.readEntry({ledgerId: 1, entryId: 0}), status(BookieStatus.NO_LEDGER))
  await addAll(bookie, 1, 0, 3)
  await assert.rejects(bookie.readEntry({ledgerId: 1, entryId: 3}), status(BookieStatus.NO_ENTRY))
  await bookie.checkpoint()
  await assert.rejects(bookie.readEntry({ledgerId: 1, entryId: 500}), status(BookieStatus.NO_ENTRY))
  await assert.rejects(bookie.readLac(99), status(BookieStatus.NO_LEDGER))
})

test('bookie core - a corrupted entry is refused with BAD_CHECKSUM and a short one with BAD_REQUEST', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  const entry = makeEntry(3, 0)
  entry[entry.length - 1] = (entry[entry.length - 1] as number) ^ 0x01
  await assert.rejects(bookie.addEntry({entry, masterKey: KEY, recovery: false}), status(BookieStatus.BAD_CHECKSUM))
  await assert.rejects(bookie.addEntry({entry: Buffer.alloc(10), masterKey: KEY, recovery: false}), status(BookieStatus.BAD_REQUEST))
  // Well-formed and checksummed, but with ids no ledger can have.
  const negative = encodeEntry({ledgerId: -1, entryId: 0, lac: -1, length: 1, payload: Buffer.from('x')})
  await assert.rejects(bookie.addEntry({entry: negative, masterKey: KEY, recovery: false}), status(BookieStatus.BAD_REQUEST))
  const huge = makeEntry(3, 0)
  huge.writeUInt32BE(0x00400000, 8) // entryId >= 2^54
  await assert.rejects(bookie.addEntry({entry: huge, masterKey: KEY, recovery: false}), status(BookieStatus.BAD_REQUEST))
  // Nothing was stored: the ledger does not exist.
  await assert.rejects(bookie.readEntry({ledgerId: 3, entryId: 0}), status(BookieStatus.NO_LEDGER))
})

test('bookie core - the first add fixes the master key; another key is UNAUTHORIZED, also after restart', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  await addAll(bookie, 5, 0, 1)
  await assert.rejects(bookie.addEntry({entry: makeEntry(5, 1), masterKey: OTHER_KEY, recovery: false}), status(BookieStatus.UNAUTHORIZED))
  await assert.rejects(bookie.fence(5, OTHER_KEY), status(BookieStatus.UNAUTHORIZED))
  await assert.rejects(bookie.writeLac(5, OTHER_KEY, 0), status(BookieStatus.UNAUTHORIZED))
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  await assert.rejects(bookie.addEntry({entry: makeEntry(5, 1), masterKey: OTHER_KEY, recovery: false}), status(BookieStatus.UNAUTHORIZED))
  await bookie.addEntry({entry: makeEntry(5, 1), masterKey: KEY, recovery: false})
  await bookie.checkpoint()
  await bookie.close()
  ;({bookie} = await openTestBookie(root))
  await assert.rejects(bookie.addEntry({entry: makeEntry(5, 2), masterKey: OTHER_KEY, recovery: false}), status(BookieStatus.UNAUTHORIZED))
  await bookie.close()
})

test('bookie core - a fenced ledger refuses adds but takes recovery adds; fence returns the LAC and survives restart', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  await addAll(bookie, 9, 0, 5) // entry 4 carries lac 3
  assert.equal(await bookie.fence(9, KEY), 3)
  await assert.rejects(bookie.addEntry({entry: makeEntry(9, 5), masterKey: KEY, recovery: false}), status(BookieStatus.FENCED))
  const recovered = makeEntry(9, 5, {lac: 4})
  await bookie.addEntry({entry: recovered, masterKey: KEY, recovery: true})
  assert.deepEqual(await bookie.readEntry({ledgerId: 9, entryId: 5}), recovered)
  assert.equal(await bookie.readLac(9), 4)
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  await assert.rejects(bookie.addEntry({entry: makeEntry(9, 6), masterKey: KEY, recovery: false}), status(BookieStatus.FENCED))
  await bookie.checkpoint()
  await bookie.close()
  ;({bookie} = await openTestBookie(root))
  await assert.rejects(bookie.addEntry({entry: makeEntry(9, 6), masterKey: KEY, recovery: false}), status(BookieStatus.FENCED))
  await bookie.close()
})

test('bookie core - fencing a ledger this bookie never saw records it, so a late add from the old writer is refused', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  assert.equal(await bookie.fence(11, KEY), -1)
  await assert.rejects(bookie.addEntry({entry: makeEntry(11, 0), masterKey: KEY, recovery: false}), status(BookieStatus.FENCED))
  await assert.rejects(bookie.readEntry({ledgerId: 11, entryId: 0, fence: true, masterKey: KEY}), status(BookieStatus.NO_ENTRY))
})

test('bookie core - a fencing read fences, then returns the entry; adds in flight before the fence are readable after it', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  await addAll(bookie, 12, 0, 2)
  // Adds admitted before the fence share its journal and are applied before the fence resolves.
  const inflight = [2, 3, 4].map((e) => bookie.addEntry({entry: makeEntry(12, e), masterKey: KEY, recovery: false}))
  const fenced = bookie.readEntry({ledgerId: 12, entryId: 1, fence: true, masterKey: KEY})
  await assert.rejects(bookie.addEntry({entry: makeEntry(12, 5), masterKey: KEY, recovery: false}), status(BookieStatus.FENCED))
  assert.deepEqual(await fenced, makeEntry(12, 1))
  // Read before awaiting the adds themselves: the fence's completion implies they are applied.
  assert.deepEqual(await bookie.readEntry({ledgerId: 12, entryId: 4}), makeEntry(12, 4))
  await Promise.all(inflight)
  await assert.rejects(bookie.readEntry({ledgerId: 12, entryId: 1, fence: true}), status(BookieStatus.BAD_REQUEST))
})
