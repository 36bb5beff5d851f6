import assert from 'node:assert/strict'
import {test} from 'node:test'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {type WalFileOps, nodeFileOps} from '../../../../src/engine/common/wal/file-ops.js'
import {openWal} from '../../../../src/engine/common/wal/wal.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {KEY, addAll, makeEntry, openTestBookie} from './helpers.js'

const fresh = freshDirs('dlog-bookie-lac-')

test('bookie LAC - is the max of entry lac fields and explicit LAC writes, and survives restart', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  await addAll(bookie, 1, 0, 4) // lac fields -1..2
  assert.equal(await bookie.readLac(1), 2)
  await bookie.writeLac(1, KEY, 3)
  assert.equal(await bookie.readLac(1), 3)
  // An older LAC (explicit or piggybacked) never moves it back.
  await bookie.writeLac(1, KEY, 1)
  await bookie.addEntry({entry: makeEntry(1, 4, {lac: 0}), masterKey: KEY, recovery: false})
  assert.equal(await bookie.readLac(1), 3)
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  assert.equal(await bookie.readLac(1), 3)
  await bookie.checkpoint()
  await bookie.close()
  ;({bookie} = await openTestBookie(root))
  assert.equal(await bookie.readLac(1), 3)
  await bookie.close()
})

test('bookie long poll - returns at once when the LAC is already there', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  await addAll(bookie, 2, 0, 3)
  const r = await bookie.longPollRead({ledgerId: 2, entryId: 1, timeoutMs: 1000})
  assert.equal(r.lac, 1)
  assert.deepEqual(r.entry, makeEntry(2, 1))
})

test('bookie long poll - parks until an add moves the LAC past the entry, then returns entry and LAC', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  await addAll(bookie, 3, 0, 2) // lac 0
  const poll = bookie.longPollRead({ledgerId: 3, entryId: 2, timeoutMs: 60_000})
  let settled = false
  void poll.then(() => (settled = true))
  await addAll(bookie, 3, 2, 3) // entry 2 carries lac 1: not yet
  await new Promise((r) => setImmediate(r))
  assert.equal(settled, false)
  assert.equal(bookie.stats().longPolls, 1)
  await addAll(bookie, 3, 3, 4) // entry 3 carries lac 2
  const r = await poll
  assert.equal(r.lac, 2)
  assert.deepEqual(r.entry, makeEntry(3, 2))
  assert.equal(bookie.stats().longPolls, 0)
})

test('bookie long poll - an explicit LAC write wakes it; a poll on an unknown ledger waits for it', async (t) => {
  const {bookie} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  const poll = bookie.longPollRead({ledgerId: 4, entryId: 0, timeoutMs: 60_000})
  await addAll(bookie, 4, 0, 1)
  await bookie.writeLac(4, KEY, 0)
  const r = await poll
  assert.equal(r.lac, 0)
  assert.deepEqual(r.entry, makeEntry(4, 0))
})

test('bookie long poll - times out on the injected clock with the current LAC and no entry', async (t) => {
  const {bookie, clock} = await openTestBookie(fresh())
  t.after(() => bookie.close())
  await addAll(bookie, 5, 0, 2)
  const poll = bookie.longPollRead({ledgerId: 5, entryId: 5, timeoutMs: 500})
  clock.advance(499)
  await new Promise((r) => setImmediate(r))
  assert.equal(bookie.stats().longPolls, 1)
  clock.advance(1)
  const r = await poll
  assert.deepEqual(r, {lac: 0})
  assert.equal(bookie.stats().longPolls, 0)
})

test('bookie long poll - the number of parked polls is bounded', async (t) => {
  const {bookie} = await openTestBookie(fresh(), {longPollWaitersMax: 3})
  t.after(() => bookie.close())
  const polls = [0, 1, 2].map((e) => bookie.longPollRead({ledgerId: 6, entryId: e, timeoutMs: 60_000}))
  await assert.rejects(
    bookie.longPollRead({ledgerId: 6, entryId: 3, timeoutMs: 60_000}),
    (e: unknown) => e instanceof BookieError && e.code === BookieStatus.TOO_MANY_REQUESTS,
  )
  await addAll(bookie, 6, 0, 4) // lac 2
  const rs = await Promise.all(polls)
  assert.deepEqual(rs.map((r) => r.lac), [2, 2, 2])
  assert.deepEqual(rs[2]?.entry, makeEntry(6, 2))
})

/** Journal file ops whose fdatasync can be held: adds accepted meanwhile stay in the journal, unacknowledged. */
function heldSyncs(): {ops: WalFileOps; hold: () => void; release: () => void} {
  let held: Array<() => void> | undefined
  return {
    ops: {
      ...nodeFileOps,
      fdatasync: async (fd) => {
        if (held) await new Promise<void>((r) => held?.push(r))
        return nodeFileOps.fdatasync(fd)
      },
    },
    hold: () => {
      held = []
    },
    release: () => {
      const waiting = held ?? []
      held = undefined
      for (const r of waiting) r()
    },
  }
}

test('bookie long poll - an add’s LAC wakes a poll before that add is durable; a poll for an entry still in the journal waits for it', async (t) => {
  const syncs = heldSyncs()
  const {bookie} = await openTestBookie(fresh(), {openWal: (o) => openWal({...o, fileOps: syncs.ops})})
  t.after(() => bookie.close())
  await addAll(bookie, 7, 0, 3) // entries 0..2 durable, lac 1
  const poll2 = bookie.longPollRead({ledgerId: 7, entryId: 2, timeoutMs: 60_000})
  syncs.hold()
  let acked3 = false
  const add3 = bookie.addEntry({entry: makeEntry(7, 3), masterKey: KEY, recovery: false}).then(() => (acked3 = true))
  // Entry 3 carries lac 2: the poll for entry 2 is answered with it while entry 3 waits for its fsync.
  const r2 = await poll2
  assert.equal(r2.lac, 2)
  assert.deepEqual(r2.entry, makeEntry(7, 2))
  assert.equal(acked3, false)
  // Entry 4 carries lac 3, but entry 3 is not durable here yet: its poll waits for it, not answering without the entry.
  const add4 = bookie.addEntry({entry: makeEntry(7, 4), masterKey: KEY, recovery: false})
  let settled3 = false
  const poll3 = bookie.longPollRead({ledgerId: 7, entryId: 3, timeoutMs: 60_000}).then((r) => {
    settled3 = true
    return r
  })
  await new Promise((r) => setImmediate(r))
  assert.equal(await bookie.readLac(7), 3)
  assert.equal(settled3, false)
  assert.equal(bookie.stats().longPolls, 1)
  syncs.release()
  const r3 = await poll3
  assert.equal(r3.lac, 3)
  assert.deepEqual(r3.entry, makeEntry(7, 3))
  await Promise.all([add3, add4])
  assert.equal(acked3, true)
})
