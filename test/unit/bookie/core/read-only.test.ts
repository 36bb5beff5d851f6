import assert from 'node:assert/strict'
import {test} from 'node:test'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {nodeDiskOps, type DiskOps} from '../../../../src/engine/bookie/storage/disk-ops.js'
import type {WriteAheadLog} from '../../../../src/engine/common/wal/types.js'
import {openWal} from '../../../../src/engine/common/wal/wal.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {KEY, addAll, makeEntry, openTestBookie} from './helpers.js'

const fresh = freshDirs('dlog-bookie-ro-')
const readOnlyError = (e: unknown) => e instanceof BookieError && e.code === BookieStatus.READ_ONLY

/** Disk ops whose reported usage and write failures a test controls. */
function controlledDisk(): {ops: DiskOps; usedFraction: number; failWrites: boolean} {
  const ctl = {usedFraction: 0.5, failWrites: false, ops: undefined as unknown as DiskOps}
  ctl.ops = {
    ...nodeDiskOps,
    write: (fd, buf, offset, length, position) => {
      if (ctl.failWrites) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'}))
      return nodeDiskOps.write(fd, buf, offset, length, position)
    },
    usage: async (dir) => {
      const real = await nodeDiskOps.usage(dir)
      return {...real, totalBytes: 1_000_000, freeBytes: Math.round(1_000_000 * (1 - ctl.usedFraction))}
    },
  }
  return ctl
}

test('bookie read-only - forced by option: adds refused, reads, fences and LAC reads served; admin can lift it', async () => {
  const root = fresh()
  let {bookie} = await openTestBookie(root)
  const entries = await addAll(bookie, 1, 0, 10)
  await bookie.close()
  ;({bookie} = await openTestBookie(root, {readOnly: true}))
  assert.equal(bookie.isReadOnly(), true)
  assert.equal(bookie.readOnlyReason(), 'forced')
  assert.equal((await bookie.info()).readOnly, true)
  await assert.rejects(bookie.addEntry({entry: makeEntry(1, 10), masterKey: KEY, recovery: false}), readOnlyError)
  await assert.rejects(bookie.addEntry({entry: makeEntry(1, 10), masterKey: KEY, recovery: true}), readOnlyError)
  await assert.rejects(bookie.writeLac(1, KEY, 9), readOnlyError)
  assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: 9}), entries[9])
  assert.equal(await bookie.readLac(1), 8)
  assert.equal(await bookie.fence(1, KEY), 8)
  const changes: boolean[] = []
  bookie.onReadOnlyChange((ro) => changes.push(ro))
  bookie.setReadOnly(false)
  assert.deepEqual(changes, [false])
  await bookie.addEntry({entry: makeEntry(2, 0), masterKey: KEY, recovery: false})
  await bookie.close()
})

test('bookie read-only - turns on when every ledger dir passes the usage threshold and off below the low-water mark', async (t) => {
  const disk = controlledDisk()
  const {bookie, clock} = await openTestBookie(fresh(), {diskOps: disk.ops, diskUsageThreshold: 0.95, diskUsageLwmThreshold: 0.9, diskCheckIntervalMs: 1000})
  t.after(() => bookie.close())
  const changes: [boolean, string | undefined][] = []
  bookie.onReadOnlyChange((ro, reason) => changes.push([ro, reason]))
  assert.equal(bookie.isReadOnly(), false)
  disk.usedFraction = 0.97
  clock.advance(1000) // the periodic check runs on the injected clock
  await bookie.checkDisks()
  assert.deepEqual(changes, [[true, 'disk-full']])
  await assert.rejects(bookie.addEntry({entry: makeEntry(1, 0), masterKey: KEY, recovery: false}), readOnlyError)
  disk.usedFraction = 0.93 // between the marks: stays read-only
  await bookie.checkDisks()
  assert.equal(bookie.isReadOnly(), true)
  disk.usedFraction = 0.5
  await bookie.checkDisks()
  assert.deepEqual(changes, [[true, 'disk-full'], [false, undefined]])
  await bookie.addEntry({entry: makeEntry(1, 0), masterKey: KEY, recovery: false})
  const info = await bookie.info()
  assert.equal(info.totalDiskBytes, 1_000_000)
  assert.equal(info.freeDiskBytes, 500_000)
})

test('bookie read-only - ENOSPC while flushing turns it read-only; acknowledged entries stay readable and reach disk later', async () => {
  const root = fresh()
  const disk = controlledDisk()
  let {bookie} = await openTestBookie(root, {diskOps: disk.ops})
  const entries = await addAll(bookie, 1, 0, 30)
  disk.failWrites = true
  disk.usedFraction = 0.99
  await assert.rejects(bookie.checkpoint(), (e: unknown) => (e as {code?: string}).code === 'ENOSPC')
  assert.equal(bookie.isReadOnly(), true)
  assert.equal(bookie.readOnlyReason(), 'disk-full')
  await assert.rejects(bookie.addEntry({entry: makeEntry(1, 30), masterKey: KEY, recovery: false}), readOnlyError)
  for (let e = 0; e < 30; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), entries[e])
  // Space comes back: the next disk check retries the flush and lifts read-only.
  disk.failWrites = false
  disk.usedFraction = 0.5
  await bookie.checkDisks()
  await bookie.checkpoint()
  assert.equal(bookie.isReadOnly(), false)
  assert.equal(bookie.stats().cacheBytes + bookie.stats().frozenBytes, 0)
  await bookie.abandon()
  ;({bookie} = await openTestBookie(root))
  for (let e = 0; e < 30; e++) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), entries[e])
  await bookie.close()
})

test('bookie read-only - a journal that fails turns the bookie read-only; the failed add (and its key record) reject cleanly', async (t) => {
  const ctl = {fail: false}
  const {bookie} = await openTestBookie(fresh(), {
    openWal: async (o) => {
      const wal = await openWal(o)
      const failing: WriteAheadLog = {
        replay: (from, onRecord) => wal.replay(from, onRecord),
        append: (payload) => (ctl.fail ? Promise.reject(Object.assign(new Error('EIO: i/o error, write'), {code: 'EIO'})) : wal.append(payload)),
        reclaim: (upTo) => wal.reclaim(upTo),
        stats: () => wal.stats(),
        close: () => wal.close(),
      }
      return failing
    },
  })
  t.after(() => bookie.close())
  await addAll(bookie, 1, 0, 3)
  ctl.fail = true
  // A new ledger: both its key record and its entry record fail.
  await assert.rejects(
    bookie.addEntry({entry: makeEntry(2, 0), masterKey: KEY, recovery: false}),
    (e: unknown) => e instanceof BookieError && e.code === BookieStatus.IO_ERROR,
  )
  assert.equal(bookie.readOnlyReason(), 'io-error')
  await assert.rejects(bookie.addEntry({entry: makeEntry(1, 3), masterKey: KEY, recovery: false}), readOnlyError)
  assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: 2}), makeEntry(1, 2))
})
