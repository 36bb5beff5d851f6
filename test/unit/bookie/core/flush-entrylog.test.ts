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
