import assert from 'node:assert/strict'
import {test} from 'node:test'
import {nodeDiskOps, type DiskOps} from '../../../src/engine/bookie/storage/disk-ops.js'
import {nodeFileOps, type WalFileOps} from '../../../src/engine/common/wal/file-ops.js'
import {openWal} from '../../../src/engine/common/wal/wal.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {freshDirs} from '../../helpers/tmp.js'
import {KEY, entryBytesOf, makeEntry, openTestBookie} from '../../unit/bookie/core/helpers.js'

const fresh = freshDirs('dlog-bookie-full-')

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'})

interface FullDisk {
  journalFull: boolean
  ledgersFull: boolean
  walOps: WalFileOps
  diskOps: DiskOps
}

/** Switches that fill "the disk" of the journal (WAL file ops) or of the ledger dirs (disk ops). */
function fullDisk(): FullDisk {
  const ctl = {journalFull: false, ledgersFull: false} as FullDisk
  ctl.walOps = {
    ...nodeFileOps,
    write: (fd, buf, offset, length, position) =>
      ctl.journalFull ? Promise.reject(enospc()) : nodeFileOps.write(fd, buf, offset, length, position),
  }
  ctl.diskOps = {
    ...nodeDiskOps,
    write: (fd, buf, offset, length, position) =>
      ctl.ledgersFull ? Promise.reject(enospc()) : nodeDiskOps.write(fd, buf, offset, length, position),
    usage: async (dir) => {
      const real = await nodeDiskOps.usage(dir)
      return ctl.ledgersFull ? {...real, freeBytes: 0} : real
    },
  }
  return ctl
}

for (const where of ['journal', 'entry logs'] as const) {
  test(`bookie fault - the disk filling up under the ${where} turns the bookie read-only and loses no acknowledged entry`, async () => {
    const root = fresh()
    const disk = fullDisk()
    let {bookie} = await openTestBookie(root, {diskOps: disk.diskOps, openWal: (o) => openWal({...o, fileOps: disk.walOps})})
    const readOnlyEvents: boolean[] = []
    bookie.onReadOnlyChange((ro) => readOnlyEvents.push(ro))
    const acked = new Set<number>()
    const add = (e: number) =>
      bookie.addEntry({entry: makeEntry(1, e, {bytes: entryBytesOf(e)}), masterKey: KEY, recovery: false}).then(() => {
        acked.add(e)
      })
    for (let e = 0; e < 300; e++) await add(e)
    await bookie.checkpoint()
    // Keep adds flowing while the disk fills.
    const inflight: Promise<void>[] = []
    for (let e = 300; e < 600; e++) {
      inflight.push(add(e))
      if (e === 400) {
        if (where === 'journal') disk.journalFull = true
        else {
          disk.ledgersFull = true
          // The next flush (of the adds acknowledged so far) hits the full disk.
          await Promise.allSettled(inflight)
          await assert.rejects(bookie.checkpoint(), (err: unknown) => (err as {code?: string}).code === 'ENOSPC')
        }
      }
    }
    const results = await Promise.allSettled(inflight)
    assert.equal(bookie.isReadOnly(), true)
    assert.equal(bookie.readOnlyReason(), 'disk-full')
    assert.deepEqual(readOnlyEvents, [true])
    for (const r of results) {
      if (r.status === 'rejected') {
        const code = (r.reason as BookieError).code
        assert.ok(code === BookieStatus.IO_ERROR || code === BookieStatus.READ_ONLY, String(r.reason))
      }
    }
    assert.ok(acked.size >= 300 && acked.size < 600, `acked ${acked.size}`)
    await assert.rejects(bookie.addEntry({entry: makeEntry(1, 1000), masterKey: KEY, recovery: false}), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.READ_ONLY)
    // Every acknowledged entry is still served while the disk is full.
    for (const e of acked) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), makeEntry(1, e, {bytes: entryBytesOf(e)}))
    await bookie.abandon()

    // The operator frees space and restarts the bookie: everything acknowledged is there.
    ;({bookie} = await openTestBookie(root))
    assert.equal(bookie.isReadOnly(), false)
    for (const e of acked) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), makeEntry(1, e, {bytes: entryBytesOf(e)}), `entry ${e}`)
    await bookie.addEntry({entry: makeEntry(1, 1000), masterKey: KEY, recovery: false})
    await bookie.close()
  })
}
