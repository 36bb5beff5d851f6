import assert from 'node:assert/strict'
import {test} from 'node:test'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
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
