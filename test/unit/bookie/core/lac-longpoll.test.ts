import assert from 'node:assert/strict'
import {cpSync} from 'node:fs'
import {test} from 'node:test'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {type WalFileOps, nodeFileOps} from '../../../../src/engine/common/wal/file-ops.js'
import type {WalWaiter, WriteAheadLog} from '../../../../src/engine/common/wal/types.js'
import {openWal} from '../../../../src/engine/common/wal/wal.js'
import {WalOverloadedError} from '../../../../src/engine/common/wal/errors.js'
import type {LongPollReadResult} from '../../../../src/engine/bookie/types.js'
import type {Bookie} from '../../../../src/engine/bookie/bookie.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {waitFor} from '../../../helpers/wait-for.js'
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

/** Journal file ops whose writes or fdatasyncs can be held, then let go or failed. */
function heldOps(what: 'write' | 'fdatasync'): {ops: WalFileOps; hold: () => void; held: () => number; release: () => void; fail: () => void} {
  let held: Array<(e?: Error) => void> | undefined
  const gate = async (): Promise<void> => {
    if (!held) return
    await new Promise<void>((resolve, reject) => held?.push((e) => (e ? reject(e) : resolve())))
  }
  const let_ = (e?: Error): void => {
    const waiting = held ?? []
    held = undefined
    for (const r of waiting) r(e)
  }
  const ops: WalFileOps =
    what === 'write'
      ? {...nodeFileOps, write: async (fd, buf, offset, length, position) => (await gate(), nodeFileOps.write(fd, buf, offset, length, position))}
      : {...nodeFileOps, fdatasync: async (fd) => (await gate(), nodeFileOps.fdatasync(fd))}
  return {
    ops,
    hold: () => {
      held = []
    },
    held: () => held?.length ?? 0,
    release: () => let_(),
    fail: () => let_(Object.assign(new Error('EIO: i/o error, fdatasync'), {code: 'EIO'})),
  }
}

test('bookie long poll - an add’s LAC wakes a poll before that add is durable; a poll for an entry still in the journal waits for it', async (t) => {
  const syncs = heldOps('fdatasync')
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

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

/** A poll with a flag saying whether it has been answered yet. */
function poll(bookie: Bookie, ledgerId: number, entryId: number): {answered: () => boolean; result: Promise<LongPollReadResult>} {
  let answered = false
  const result = bookie.longPollRead({ledgerId, entryId, timeoutMs: 60_000}).then((r) => {
    answered = true
    return r
  })
  return {answered: () => answered, result}
}

function add(bookie: Bookie, ledgerId: number, entryId: number, opts: {lac?: number; recovery?: boolean} = {}): Promise<void> {
  const p = bookie.addEntry({entry: makeEntry(ledgerId, entryId, {lac: opts.lac}), masterKey: KEY, recovery: opts.recovery ?? false})
  p.catch(() => {})
  return p
}

test('bookie accepted LAC - a fence answers with it only once the adds before the fence are durable and readable; refused adds move nothing', async (t) => {
  const syncs = heldOps('fdatasync')
  const {bookie} = await openTestBookie(fresh(), {openWal: (o) => openWal({...o, fileOps: syncs.ops})})
  t.after(() => bookie.close())
  await addAll(bookie, 1, 0, 3) // lac 1
  syncs.hold()
  const adds = [add(bookie, 1, 3), add(bookie, 1, 4)] // lac fields 2, 3
  assert.equal(await bookie.readLac(1), 3)
  let fencedLac: number | undefined
  const fence = bookie.fence(1, KEY).then((lac) => (fencedLac = lac))
  // The old writer's next add is refused at once and its lac field (4) is not counted.
  await assert.rejects(add(bookie, 1, 5), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.FENCED)
  assert.equal(await bookie.readLac(1), 3)
  await turn()
  assert.equal(fencedLac, undefined, 'the fence waits for its journal record, behind the adds')
  syncs.release()
  await Promise.all([...adds, fence])
  assert.equal(fencedLac, 3)
  // Recovery reads after the fence find what the fence's LAC covers (and the entry carrying it).
  assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: 3}), makeEntry(1, 3))
  assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: 4}), makeEntry(1, 4))
})

test('bookie accepted LAC - recovery adds carrying the LAC recovery started from never raise it, even while in the journal', async (t) => {
  const syncs = heldOps('fdatasync')
  const {bookie} = await openTestBookie(fresh(), {openWal: (o) => openWal({...o, fileOps: syncs.ops})})
  t.after(() => bookie.close())
  await addAll(bookie, 2, 0, 4) // lac 2
  await bookie.fence(2, KEY)
  syncs.hold()
  const p = poll(bookie, 2, 3)
  const adds = [3, 4, 5].map((e) => add(bookie, 2, e, {lac: 2, recovery: true}))
  await turn()
  assert.equal(await bookie.readLac(2), 2)
  assert.equal(p.answered(), false)
  syncs.release()
  await Promise.all(adds)
  assert.equal(await bookie.readLac(2), 2)
  assert.equal(p.answered(), false, 'a recovered entry past the LAC is not shown to a tailing reader')
  await bookie.close()
  assert.deepEqual(await p.result, {lac: 2})
})

/** A journal failure after entries 3 and 4 were accepted (lac 3): what polls get, then and later. */
async function lostInJournal(t: {after: (f: () => Promise<void>) => void}, promisePath: boolean): Promise<void> {
  const syncs = heldOps('fdatasync')
  const {bookie} = await openTestBookie(fresh(), {
    openWal: async (o) => {
      const wal = await openWal({...o, fileOps: syncs.ops})
      if (!promisePath) return wal
      // A WAL without appendWaiting: the bookie's promise path.
      const bare: WriteAheadLog = {
        replay: (from, onRecord) => wal.replay(from, onRecord),
        append: (payload) => wal.append(payload),
        reclaim: (upTo) => wal.reclaim(upTo),
        stats: () => wal.stats(),
        close: () => wal.close(),
      }
      return bare
    },
  })
  t.after(() => bookie.close())
  await addAll(bookie, 3, 0, 3) // lac 1
  syncs.hold()
  const adds = [add(bookie, 3, 3), add(bookie, 3, 4)]
  const early = poll(bookie, 3, 3)
  await waitFor(() => syncs.held() > 0)
  assert.equal(early.answered(), false, 'entry 3 is on its way through the journal')
  syncs.fail()
  for (const a of adds) await assert.rejects(a, (e: unknown) => e instanceof BookieError && e.code === BookieStatus.IO_ERROR)
  assert.equal(bookie.isReadOnly(), true)
  // The LAC (3) is still true: the writer saw entry 3 acknowledged elsewhere. This bookie has no entry 3.
  assert.deepEqual(await early.result, {lac: 3})
  // A later poll for entry 3 is answered at once too: nothing is on its way any more.
  const late = poll(bookie, 3, 3)
  await waitFor(() => late.answered(), {what: 'a poll for an entry the journal lost to be answered'})
  assert.deepEqual(await late.result, {lac: 3})
  await assert.rejects(bookie.readEntry({ledgerId: 3, entryId: 3}), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_ENTRY)
}

test('bookie accepted LAC - a journal failure: polls for the lost entries are answered with the LAC, now and later', async (t) => {
  await lostInJournal(t, false)
})

test('bookie accepted LAC - a journal failure on the promise path (a WAL without appendWaiting) answers polls the same way', async (t) => {
  await lostInJournal(t, true)
})

test('bookie accepted LAC - a WAL that fails adds inside appendWaiting (a broken inline flush) leaves no poll waiting for them', async (t) => {
  let failing: WalWaiter[] | undefined
  const {bookie} = await openTestBookie(fresh(), {
    openWal: async (o) => {
      const wal = await openWal(o)
      const appendWaiting = wal.appendWaiting?.bind(wal)
      assert(appendWaiting)
      wal.appendWaiting = (payload: Buffer, waiter: WalWaiter, crc?: number) => {
        if (!failing) return appendWaiting(payload, waiter, crc)
        failing.push(waiter)
        if (failing.length < 2) return
        // As a failed inline flush does: the batch's waiters hear within the call, which returns normally.
        for (const w of failing) w.walFailed(new Error('EIO: i/o error, fdatasync'))
        failing = undefined
      }
      return wal
    },
  })
  t.after(() => bookie.close())
  await addAll(bookie, 4, 0, 3) // lac 1
  failing = []
  const adds = [add(bookie, 4, 3), add(bookie, 4, 4)] // lac fields 2, 3
  for (const a of adds) await assert.rejects(a, (e: unknown) => e instanceof BookieError && e.code === BookieStatus.IO_ERROR)
  assert.equal(await bookie.readLac(4), 3)
  const p = poll(bookie, 4, 3)
  await waitFor(() => p.answered(), {what: 'a poll for an entry the journal lost to be answered'})
  assert.deepEqual(await p.result, {lac: 3})
})

test('bookie accepted LAC - an add the journal refuses at once (queue full) leaves the adds before it on their way', async (t) => {
  const syncs = heldOps('fdatasync')
  let refuse = false
  const {bookie} = await openTestBookie(fresh(), {
    openWal: async (o) => {
      const wal = await openWal({...o, fileOps: syncs.ops})
      const appendWaiting = wal.appendWaiting?.bind(wal)
      assert(appendWaiting)
      wal.appendWaiting = (payload: Buffer, waiter: WalWaiter, crc?: number) => {
        if (refuse) throw new WalOverloadedError(1, 1)
        appendWaiting(payload, waiter, crc)
      }
      return wal
    },
  })
  t.after(() => bookie.close())
  await addAll(bookie, 7, 0, 3) // lac 1
  syncs.hold()
  const adds = [add(bookie, 7, 3), add(bookie, 7, 4)] // lac fields 2, 3
  refuse = true
  await assert.rejects(add(bookie, 7, 5), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.TOO_MANY_REQUESTS)
  refuse = false
  assert.equal(bookie.isReadOnly(), false)
  assert.ok((await bookie.readLac(7)) >= 3)
  const p = poll(bookie, 7, 3)
  await turn()
  assert.equal(p.answered(), false, 'entry 3 is still on its way here')
  syncs.release()
  await Promise.all(adds)
  assert.deepEqual((await p.result).entry, makeEntry(7, 3))
})

test('bookie accepted LAC - a ledger deleted while its adds are in the journal: no poll is left waiting', async (t) => {
  const syncs = heldOps('fdatasync')
  const {bookie} = await openTestBookie(fresh(), {openWal: (o) => openWal({...o, fileOps: syncs.ops})})
  t.after(() => bookie.close())
  await addAll(bookie, 5, 0, 3)
  syncs.hold()
  const before = add(bookie, 5, 3) // journaled before the delete record
  await waitFor(() => syncs.held() > 0)
  const deleted = bookie.deleteLedger(5)
  const after = add(bookie, 5, 4) // accepted after it, lac 3 counted at once
  const p3 = poll(bookie, 5, 3)
  const p4 = poll(bookie, 5, 4)
  p3.result.catch(() => {})
  p4.result.catch(() => {})
  await turn()
  assert.equal(await bookie.readLac(5), 3)
  assert.equal(bookie.stats().longPolls, 2, 'both entries are on their way through the journal')
  syncs.release()
  await Promise.all([before, deleted, after.catch(() => {})])
  // Entry 3 was applied before the delete record: its poll got it. Entry 4 never is: its poll is refused.
  assert.deepEqual((await p3.result).entry, makeEntry(5, 3))
  await assert.rejects(p4.result, (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_LEDGER)
  assert.equal(bookie.stats().longPolls, 0)
  assert.deepEqual(bookie.listLedgers(), [])
})

test('bookie accepted LAC - a flush may store it before the entries it covers reach the journal; after a crash polls are answered at once', async (t) => {
  const root = fresh()
  const writes = heldOps('write')
  const {bookie} = await openTestBookie(root, {openWal: (o) => openWal({...o, fileOps: writes.ops})})
  t.after(async () => {
    writes.release()
    await bookie.close()
  })
  await addAll(bookie, 6, 0, 3) // lac 1, ledger state dirty
  writes.hold()
  void add(bookie, 6, 3)
  void add(bookie, 6, 4) // lac 3, counted now
  await turn()
  await bookie.checkpoint() // stores the ledger's state, lac 3 included; entries 3 and 4 are nowhere on disk
  // The machine dies now: its disks as they are.
  const image = `${root}-image`
  cpSync(root, image, {recursive: true})
  const {bookie: after} = await openTestBookie(image)
  t.after(() => after.close())
  assert.equal(await after.readLac(6), 3)
  await assert.rejects(after.readEntry({ledgerId: 6, entryId: 3}), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_ENTRY)
  const p = poll(after, 6, 3)
  await waitFor(() => p.answered(), {what: 'a poll for an entry that never reached this journal to be answered'})
  assert.deepEqual(await p.result, {lac: 3})
  // The writer's retry of entry 3 (to this bookie, as a replacement) lands and is served.
  await after.addEntry({entry: makeEntry(6, 3), masterKey: KEY, recovery: false})
  assert.deepEqual((await after.longPollRead({ledgerId: 6, entryId: 3, timeoutMs: 0})).entry, makeEntry(6, 3))
})
