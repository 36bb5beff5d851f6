/**
 * flushEntrylogBytes: a write-cache flush fdatasyncs the entry log every N bytes instead of once at its
 * end, so a journal fdatasync never queues behind a whole flush; what is stored is the same either way.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {nodeDiskOps, type DiskOps} from '../../../../src/engine/bookie/storage/disk-ops.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {addAll, openTestBookie} from './helpers.js'

const fresh = freshDirs('dlog-bookie-flush-')
const MiB = 1024 * 1024

/** Disk ops that count entry-log fdatasyncs. */
function countingDisk(): {ops: DiskOps; syncs: number} {
  const ctl = {syncs: 0, ops: undefined as unknown as DiskOps}
  ctl.ops = {
    ...nodeDiskOps,
    fdatasync: (fd) => {
      ctl.syncs++
      return nodeDiskOps.fdatasync(fd)
    },
  }
  return ctl
}

async function syncsOfOneFlush(flushEntrylogBytes: number): Promise<{syncs: number; stored: Buffer[]; read: Buffer[]}> {
  const root = fresh()
  const disk = countingDisk()
  // A write cache large enough that nothing flushes before the explicit checkpoint.
  const opts = {diskOps: disk.ops, writeCacheBytesMax: 32 * MiB, entryLogSizeBytesMax: 64 * MiB, flushEntrylogBytes}
  let {bookie} = await openTestBookie(root, opts)
  // About 3.5 MiB of entries: four 1 MiB write-cache slabs.
  const stored = await addAll(bookie, 7, 0, 1700, {bytes: 2000})
  const before = disk.syncs
  await bookie.checkpoint()
  const syncs = disk.syncs - before
  await bookie.close()
  ;({bookie} = await openTestBookie(root, opts))
  const read: Buffer[] = []
  for (const e of [0, 850, 1699]) read.push(await bookie.readEntry({ledgerId: 7, entryId: e}))
  await bookie.close()
  return {syncs, stored: [stored[0]!, stored[850]!, stored[1699]!], read}
}

test('bookie flushEntrylogBytes - a 3.5 MiB flush syncs the entry log after every slab at 512 KiB, every other at 1 MiB, once at 0', async () => {
  const perSlab = await syncsOfOneFlush(512 * 1024)
  const chunked = await syncsOfOneFlush(1 * MiB)
  const once = await syncsOfOneFlush(0)
  assert.equal(once.syncs, 1, 'flushEntrylogBytes=0 syncs the entry log once per flush')
  // Four slabs of a little under 1 MiB each: a sync after each (the last one ends the flush).
  assert.equal(perSlab.syncs, 4)
  // 1 MiB is reached after every second slab: after the second, and at the end.
  assert.equal(chunked.syncs, 2)
  // Same data after a restart either way.
  assert.deepEqual(perSlab.read, perSlab.stored)
  assert.deepEqual(chunked.read, chunked.stored)
  assert.deepEqual(once.read, once.stored)
})

/** Disk ops whose `failAt`-th write to an entry log (counted from arm()) fails with EIO. */
function failingLogWrites(): {ops: DiskOps; arm: (failAt: number) => void; logSyncs: () => number} {
  const logFds = new Set<number>()
  let left = Infinity
  let logSyncs = 0
  const ops: DiskOps = {
    ...nodeDiskOps,
    open: async (path, flags) => {
      const fd = await nodeDiskOps.open(path, flags)
      if (path.endsWith('.log')) logFds.add(fd)
      return fd
    },
    write: (fd, buf, offset, length, position) => {
      if (logFds.has(fd) && --left === 0) return Promise.reject(Object.assign(new Error('injected EIO'), {code: 'EIO'}))
      return nodeDiskOps.write(fd, buf, offset, length, position)
    },
    fdatasync: (fd) => {
      if (logFds.has(fd)) logSyncs++
      return nodeDiskOps.fdatasync(fd)
    },
  }
  return {ops, arm: (failAt) => (left = failAt), logSyncs: () => logSyncs}
}

test('bookie flushEntrylogBytes - a flush failing after some of its slabs were synced commits nothing; the retry and a restart lose nothing', async () => {
  for (const crash of [false, true]) {
    const root = fresh()
    const disk = failingLogWrites()
    const opts = {diskOps: disk.ops, writeCacheBytesMax: 32 * MiB, entryLogSizeBytesMax: 64 * MiB, flushEntrylogBytes: 512 * 1024}
    let {bookie} = await openTestBookie(root, opts)
    const stored = await addAll(bookie, 7, 0, 1700, {bytes: 2000})
    // The entry log's header, then two slabs (each synced), then the third slab's write fails.
    disk.arm(4)
    await assert.rejects(bookie.checkpoint(), /injected EIO/)
    assert.ok(disk.logSyncs() >= 2, `the first two slabs were synced before the failure (${disk.logSyncs()} syncs)`)
    // Entries stay readable from the frozen cache meanwhile.
    assert.deepEqual(await bookie.readEntry({ledgerId: 7, entryId: 1699}), stored[1699])
    if (crash) await bookie.abandon()
    else {
      await bookie.checkpoint()
      await bookie.close()
    }
    ;({bookie} = await openTestBookie(root, opts))
    for (let e = 0; e < stored.length; e += 13) assert.deepEqual(await bookie.readEntry({ledgerId: 7, entryId: e}), stored[e], `crash=${crash} entry ${e}`)
    assert.deepEqual(await bookie.readEntry({ledgerId: 7, entryId: 1699}), stored[1699], `crash=${crash}`)
    // Nothing left to replay: after this checkpoint and another restart, the entries come from the entry logs.
    await bookie.checkpoint()
    await bookie.close()
    ;({bookie} = await openTestBookie(root, opts))
    for (let e = 0; e < stored.length; e += 13) assert.deepEqual(await bookie.readEntry({ledgerId: 7, entryId: e}), stored[e], `crash=${crash} entry ${e} after a second restart`)
    await bookie.close()
  }
})
