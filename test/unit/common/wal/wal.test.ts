import assert from 'node:assert/strict'
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {ManualClock} from '../../../../src/engine/common/clock.js'
import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {encodeRecord, WAL_FILE_HEADER_BYTES, walFileName} from '../../../../src/engine/common/wal/format.js'
import {
  nodeFileOps,
  openWal,
  type OpenWalOptions,
  WalBrokenError,
  WalClosedError,
  WalCorruptError,
  type WalFileOps,
  WalOverloadedError,
  type WalPosition,
  type WriteAheadLog,
} from '../../../../src/engine/common/wal/index.js'
import {makeTmpDir} from '../../../helpers/tmp.js'
import {waitFor} from '../../../helpers/wait-for.js'

const tmps: {remove(): void}[] = []
after(() => tmps.forEach((t) => t.remove()))

function tmpDir(): string {
  const t = makeTmpDir('dlog-wal-')
  tmps.push(t)
  return t.path
}

function open(dir: string, opts: Partial<OpenWalOptions> = {}): Promise<WriteAheadLog> {
  return openWal({
    dir,
    fileSizeBytesMax: 64 * 1024,
    groupCommitBytesMax: 16 * 1024,
    groupCommitRecordsMax: 64,
    groupCommitWaitMs: 0,
    recordBytesMax: 4096,
    ...opts,
  })
}

async function readAll(wal: WriteAheadLog, from?: WalPosition) {
  const payloads: string[] = []
  const positions: WalPosition[] = []
  const end = await wal.replay(from, (payload, position) => {
    payloads.push(payload.toString())
    positions.push(position)
  })
  return {payloads, positions, end}
}

function walFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.wal')).sort()
}

function payloadFor(i: number): Buffer {
  return Buffer.from(`record-${i}-` + 'x'.repeat(i % 97))
}

function bigPayloadFor(i: number): Buffer {
  return Buffer.from(`record-${i}-` + 'y'.repeat(200))
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

describe('wal > append and replay', () => {
  it('replays every record in order with the positions append returned, across rolled files', async () => {
    const dir = tmpDir()
    const wal = await open(dir, {fileSizeBytesMax: 4096})
    const positions = await Promise.all(Array.from({length: 300}, (_, i) => wal.append(payloadFor(i))))
    await wal.close()
    assert.ok(walFiles(dir).length > 3, 'the log rolled over several files')

    const again = await open(dir, {fileSizeBytesMax: 4096})
    const got = await readAll(again)
    assert.deepEqual(got.payloads, Array.from({length: 300}, (_, i) => payloadFor(i).toString()))
    assert.deepEqual(got.positions, positions)
    const last = positions[299] as WalPosition
    assert.deepEqual(got.end, {fileId: last.fileId, offset: last.offset + payloadFor(299).length + 8})

    const more = await again.append(Buffer.from('after reopen'))
    assert.ok(more.fileId > last.fileId || more.offset >= got.end.offset)
    const all = await readAll(again)
    assert.equal(all.payloads.length, 301)
    assert.equal(all.payloads[300], 'after reopen')
    await again.close()
  })

  it('resolves appends in call order, across many batches', async () => {
    const wal = await open(tmpDir(), {groupCommitRecordsMax: 7})
    const order: number[] = []
    const positions: WalPosition[] = []
    await Promise.all(
      Array.from({length: 500}, (_, i) =>
        wal.append(payloadFor(i)).then((p) => {
          order.push(i)
          positions[i] = p
        }),
      ),
    )
    assert.deepEqual(order, Array.from({length: 500}, (_, i) => i))
    for (let i = 1; i < 500; i++) {
      const a = positions[i - 1] as WalPosition
      const b = positions[i] as WalPosition
      const later = b.fileId > a.fileId || (b.fileId === a.fileId && b.offset > a.offset)
      assert.ok(later, `position ${i} is after ${i - 1}`)
    }
    assert.ok(wal.stats().fsyncs >= Math.ceil(500 / 7), 'batches respect groupCommitRecordsMax')
    await wal.close()
  })

  it('group commit: concurrent appends share fsyncs, sequential ones do not', async () => {
    const wal = await open(tmpDir(), {groupCommitRecordsMax: 1000, groupCommitBytesMax: 1024 * 1024})
    await Promise.all(Array.from({length: 200}, (_, i) => wal.append(payloadFor(i))))
    const s = wal.stats()
    assert.equal(s.records, 200)
    assert.ok(s.fsyncs < 20, `200 concurrent appends took ${s.fsyncs} fsyncs`)
    for (let i = 0; i < 5; i++) await wal.append(payloadFor(i))
    assert.equal(wal.stats().fsyncs, s.fsyncs + 5)
    await wal.close()
  })

  it('groupCommitWaitMs holds a small batch until the wait passes or a threshold is reached', async () => {
    const clock = new ManualClock()
    let writes = 0
    const fileOps: WalFileOps = {
      ...nodeFileOps,
      write: (fd, buf, offset, length, position) => {
        if (position >= WAL_FILE_HEADER_BYTES) writes++ // records, not the header of the spare file
        return nodeFileOps.write(fd, buf, offset, length, position)
      },
    }
    const opts = {groupCommitWaitMs: 50, groupCommitRecordsMax: 10, clock, fileOps, preallocateBytes: 0}
    const wal = await open(tmpDir(), opts)
    writes = 0
    const resolved: number[] = []
    const first = Array.from({length: 3}, (_, i) => wal.append(payloadFor(i)).then(() => resolved.push(i)))
    await turns(5)
    assert.equal(writes, 0, 'nothing written before the wait passes')
    clock.advance(49)
    await turns(5)
    assert.equal(writes, 0)
    clock.advance(1)
    await Promise.all(first)
    assert.deepEqual(resolved, [0, 1, 2])
    assert.equal(wal.stats().fsyncs, 1)
    // Ten records reach groupCommitRecordsMax: flushed without any clock movement.
    await Promise.all(Array.from({length: 10}, (_, i) => wal.append(payloadFor(i))))
    assert.equal(wal.stats().fsyncs, 2)
    await wal.close()
  })
})

describe('wal > files', () => {
  it('reclaim deletes whole files before a position, never the active one', async () => {
    const dir = tmpDir()
    const wal = await open(dir, {fileSizeBytesMax: 4096, groupCommitRecordsMax: 10})
    const positions = await Promise.all(Array.from({length: 100}, (_, i) => wal.append(bigPayloadFor(i))))
    const mark = positions[60] as WalPosition
    const older = new Set(positions.filter((p) => p.fileId < mark.fileId).map((p) => p.fileId))
    assert.ok(older.size >= 2)
    assert.equal(await wal.reclaim(mark), older.size)
    for (const id of older) assert.equal(existsSync(join(dir, walFileName(id))), false)

    const fromMark = await readAll(wal, mark)
    assert.deepEqual(fromMark.payloads, Array.from({length: 40}, (_, i) => bigPayloadFor(60 + i).toString()))
    const fromStart = await readAll(wal)
    const firstKept = positions.findIndex((p) => p.fileId >= mark.fileId)
    const kept = Array.from({length: 100 - firstKept}, (_, i) => bigPayloadFor(firstKept + i).toString())
    assert.deepEqual(fromStart.payloads, kept)

    await wal.reclaim({fileId: Number.MAX_SAFE_INTEGER, offset: 0})
    const after = await wal.append(Buffer.from('still writable'))
    const tail = await readAll(wal, after)
    assert.deepEqual(tail.payloads, ['still writable'])
    await wal.close()
  })

  it('preallocates files with zeros and keeps their size while appending into them', async () => {
    const dir = tmpDir()
    const wal = await open(dir, {fileSizeBytesMax: 32 * 1024})
    const p = await wal.append(Buffer.from('one'))
    const path = join(dir, walFileName(p.fileId))
    assert.equal(statSync(path).size, 32 * 1024)
    await wal.append(Buffer.alloc(1000, 1))
    assert.equal(statSync(path).size, 32 * 1024)
    await wal.close()
    const again = await open(dir, {fileSizeBytesMax: 32 * 1024})
    assert.equal((await readAll(again)).payloads.length, 2)
    const q = await again.append(Buffer.from('three'))
    assert.equal(q.fileId, p.fileId, 'continues in the same preallocated file')
    assert.equal(statSync(path).size, 32 * 1024)
    await again.close()
  })

  it('rolls early to the ready spare instead of growing a file past its preallocated zeros', async () => {
    const dir = tmpDir()
    let dirSyncs = 0
    const fileOps: WalFileOps = {...nodeFileOps, fsyncDir: (d) => nodeFileOps.fsyncDir(d).then(() => void dirSyncs++)}
    const wal = await open(dir, {fileSizeBytesMax: 1024 * 1024, preallocateBytes: 4096, fileOps})
    await waitFor(() => dirSyncs >= 2, {what: 'the first file and the spare to be created'})
    const positions: WalPosition[] = []
    for (let i = 0; i < 6; i++) positions.push(await wal.append(Buffer.alloc(1000, i)))
    const first = (positions[0] as WalPosition).fileId
    assert.deepEqual(positions.map((p) => p.fileId > first), [false, false, false, false, true, true])
    assert.equal(statSync(join(dir, walFileName(first))).size, 4096, 'the first file did not grow')
    await wal.close()
  })

  it('deletes leftover .tmp files and reuses a clean spare when opening', async () => {
    const dir = tmpDir()
    const wal = await open(dir)
    const p = await wal.append(Buffer.from('kept'))
    await wal.close()
    const files = [walFileName(p.fileId), walFileName(p.fileId + 1)]
    assert.deepEqual(walFiles(dir), files, 'the active file and a prepared spare')
    writeFileSync(join(dir, walFileName(99) + '.tmp'), 'half prepared')
    const again = await open(dir)
    assert.ok(!readdirSync(dir).includes(walFileName(99) + '.tmp'))
    assert.deepEqual(walFiles(dir), files, 'no new spare: the old one serves again')
    assert.deepEqual((await readAll(again)).payloads, ['kept'])
    await again.close()
  })

  it('deletes a trailing file whose only batch was torn', async () => {
    const dir = tmpDir()
    const wal = await open(dir)
    const p = await wal.append(Buffer.from('kept'))
    await wal.close()
    const torn = join(dir, walFileName(p.fileId + 1))
    const fd = openSync(torn, 'r+')
    const frame = encodeRecord(Buffer.from('never acknowledged'))
    writeSync(fd, frame, 0, frame.length - 3, WAL_FILE_HEADER_BYTES)
    closeSync(fd)
    const again = await open(dir)
    assert.equal(existsSync(torn), false)
    assert.deepEqual((await readAll(again)).payloads, ['kept'])
    assert.equal((await again.append(Buffer.from('next'))).fileId, p.fileId)
    await again.close()
  })
})

describe('wal > bad input', () => {
  it('refuses oversized and empty records and keeps working', async () => {
    const wal = await open(tmpDir(), {recordBytesMax: 100})
    await wal.append(Buffer.from('before'))
    await assert.rejects(wal.append(Buffer.alloc(101)), InvalidInputError)
    await assert.rejects(wal.append(Buffer.alloc(0)), InvalidInputError)
    await assert.rejects(wal.append('text' as unknown as Buffer), InvalidInputError)
    await wal.append(Buffer.alloc(100, 0x41))
    const got = await readAll(wal)
    assert.deepEqual(got.payloads, ['before', 'A'.repeat(100)])
    await wal.close()
  })

  it('refuses invalid options with InvalidInputError', async () => {
    await assert.rejects(open(tmpDir(), {groupCommitRecordsMax: 0}), InvalidInputError)
    await assert.rejects(open(tmpDir(), {recordBytesMax: 2 ** 40}), InvalidInputError)
    await assert.rejects(open(tmpDir(), {groupCommitWaitMs: -1}), InvalidInputError)
  })

  it('refuses appends beyond queueBytesMax with a retriable error', async () => {
    const wal = await open(tmpDir(), {recordBytesMax: 1000, queueBytesMax: 2016})
    const a = wal.append(Buffer.alloc(1000, 1))
    const b = wal.append(Buffer.alloc(1000, 2))
    const c = wal.append(Buffer.alloc(1000, 3))
    const err = await c.then(
      () => assert.fail('third append should be refused'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof WalOverloadedError)
    assert.equal(err.retriable, true)
    await Promise.all([a, b])
    await wal.append(Buffer.alloc(1000, 4))
    assert.equal((await readAll(wal)).payloads.length, 3)
    await wal.close()
  })
})

describe('wal > torn and corrupt tails', () => {
  async function writeTwenty(dir: string, opts: Partial<OpenWalOptions>) {
    const wal = await open(dir, opts)
    const positions = await Promise.all(Array.from({length: 20}, (_, i) => wal.append(payloadFor(i))))
    await wal.close()
    return positions
  }

  async function expectNineteenThenAppend(dir: string, opts: Partial<OpenWalOptions>) {
    const wal = await open(dir, opts)
    const got = await readAll(wal)
    const expected = Array.from({length: 19}, (_, i) => payloadFor(i).toString())
    assert.deepEqual(got.payloads, expected)
    await wal.append(Buffer.from('after-1'))
    await wal.append(Buffer.from('after-2'))
    await wal.close()
    const again = await open(dir, opts)
    assert.deepEqual((await readAll(again)).payloads, [...expected, 'after-1', 'after-2'])
    await again.close()
  }

  it('a file truncated mid-record replays up to the last whole record', async () => {
    const dir = tmpDir()
    const opts = {preallocateBytes: 0}
    const positions = await writeTwenty(dir, opts)
    const last = positions[19] as WalPosition
    truncateSync(join(dir, walFileName(last.fileId)), last.offset + 11)
    await expectNineteenThenAppend(dir, opts)
  })

  it('a flipped byte in the last record ends replay before it', async () => {
    const dir = tmpDir()
    const positions = await writeTwenty(dir, {})
    const last = positions[19] as WalPosition
    const path = join(dir, walFileName(last.fileId))
    const bytes = readFileSync(path)
    const at = last.offset + 8 + 3
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.from([(bytes[at] as number) ^ 0x10]), 0, 1, at)
    closeSync(fd)
    await expectNineteenThenAppend(dir, {})
  })

  it('a zeroed last record (a torn batch in preallocated space) ends replay before it', async () => {
    const dir = tmpDir()
    const positions = await writeTwenty(dir, {})
    const last = positions[19] as WalPosition
    const fd = openSync(join(dir, walFileName(last.fileId)), 'r+')
    writeSync(fd, Buffer.alloc(8), 0, 8, last.offset)
    closeSync(fd)
    await expectNineteenThenAppend(dir, {})
  })

  it('stale records of a torn batch behind a zero gap never resurface', async () => {
    // A torn batch: its first frame never reached the disk, later frames did. They were never acknowledged.
    const dir = tmpDir()
    const wal = await open(dir)
    const positions = await Promise.all(Array.from({length: 10}, (_, i) => wal.append(Buffer.alloc(100, 0x30 + i))))
    await wal.close()
    const last = positions[9] as WalPosition
    const tail = last.offset + 108
    const fd = openSync(join(dir, walFileName(last.fileId)), 'r+')
    const junk = Buffer.concat([encodeRecord(Buffer.alloc(100, 0x6a)), encodeRecord(Buffer.alloc(100, 0x6b))])
    writeSync(fd, junk, 0, junk.length, tail + 108)
    closeSync(fd)

    const reopened = await open(dir)
    assert.equal((await readAll(reopened)).payloads.length, 10)
    // A new record of the same size fills the gap; the stale frames behind it must be gone.
    const p = await reopened.append(Buffer.alloc(100, 0x41))
    assert.deepEqual(p, {fileId: last.fileId, offset: tail})
    await reopened.close()
    const again = await open(dir)
    const got = await readAll(again)
    assert.equal(got.payloads.length, 11)
    assert.equal(got.payloads[10], 'A'.repeat(100))
    await again.close()
  })

  it('a torn tail with a clean spare after it: appends follow the last good record', async () => {
    const dir = tmpDir()
    const positions = await writeTwenty(dir, {})
    const last = positions[19] as WalPosition
    assert.equal(walFiles(dir).length, 2)
    const fd = openSync(join(dir, walFileName(last.fileId)), 'r+')
    writeSync(fd, Buffer.from([0xff]), 0, 1, last.offset + 12)
    closeSync(fd)
    const wal = await open(dir)
    assert.equal((await readAll(wal)).payloads.length, 19)
    const p = await wal.append(Buffer.from('next'))
    assert.deepEqual(p, last)
    await wal.close()
  })

  it('damage inside the tail file with good records after it is refused, unless repairCorruptTail', async () => {
    const dir = tmpDir()
    const positions = await writeTwenty(dir, {})
    const victim = positions[10] as WalPosition
    const path = join(dir, walFileName(victim.fileId))
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.from([0x00]), 0, 1, victim.offset + 9)
    closeSync(fd)
    const err = await open(dir).then(
      () => assert.fail('open should refuse'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof WalCorruptError, String(err))
    assert.equal(err.offset, victim.offset)
    // Nothing was changed on disk: the records after the damage are still there.
    const later = positions[19] as WalPosition
    assert.equal(readFileSync(path).subarray(later.offset + 8, later.offset + 17).toString(), 'record-19')

    const repaired = await open(dir, {repairCorruptTail: true})
    assert.equal((await readAll(repaired)).payloads.length, 10)
    await repaired.close()
  })

  it('damage spread wider than one batch after the tail is refused', async () => {
    const dir = tmpDir()
    const positions = await writeTwenty(dir, {})
    const last = positions[19] as WalPosition
    const fd = openSync(join(dir, walFileName(last.fileId)), 'r+')
    writeSync(fd, Buffer.alloc(8), 0, 8, last.offset + 200)
    writeSync(fd, Buffer.from('stray'), 0, 5, last.offset + 40_000)
    closeSync(fd)
    await assert.rejects(open(dir, {groupCommitBytesMax: 16 * 1024, recordBytesMax: 4096}), WalCorruptError)
  })

  it('damage before the tail is reported as WalCorruptError and nothing is deleted', async () => {
    const dir = tmpDir()
    const wal = await open(dir, {fileSizeBytesMax: 4096, groupCommitRecordsMax: 10})
    const positions = await Promise.all(Array.from({length: 100}, (_, i) => wal.append(bigPayloadFor(i))))
    await wal.close()
    assert.ok(new Set(positions.map((p) => p.fileId)).size > 2)
    const first = positions[0] as WalPosition
    const path = join(dir, walFileName(first.fileId))
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.from([0x00]), 0, 1, first.offset + 9)
    closeSync(fd)
    const again = await open(dir, {fileSizeBytesMax: 4096, groupCommitRecordsMax: 10})
    const err = await again.replay(undefined, () => {}).then(
      () => assert.fail('replay should refuse'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof WalCorruptError)
    assert.equal(err.fileId, first.fileId)
    assert.equal(err.offset, first.offset)
    assert.equal(err.retriable, false)
    await again.close()
    for (const id of new Set(positions.map((p) => p.fileId))) {
      assert.ok(existsSync(join(dir, walFileName(id))), `file ${id} with records is kept`)
    }
  })
})

describe('wal > failures', () => {
  function faultyOps() {
    const state = {failFdatasync: false, failWrite: false, gate: undefined as Promise<void> | undefined}
    const ops: WalFileOps = {
      ...nodeFileOps,
      write: async (fd, buf, offset, length, position) => {
        if (state.failWrite) {
          // Half the bytes land, then the disk reports an error.
          if (length > 1) return nodeFileOps.write(fd, buf, offset, Math.floor(length / 2), position)
          throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'})
        }
        return nodeFileOps.write(fd, buf, offset, length, position)
      },
      fdatasync: async (fd) => {
        if (state.gate) await state.gate
        if (state.failFdatasync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), {code: 'EIO'})
        return nodeFileOps.fdatasync(fd)
      },
    }
    return {state, ops}
  }

  it('a failed fdatasync rejects its batch and every later append, and never resolves them', async () => {
    const dir = tmpDir()
    const {state, ops} = faultyOps()
    const wal = await open(dir, {fileOps: ops, groupCommitRecordsMax: 4})
    const acked = await Promise.all(Array.from({length: 5}, (_, i) => wal.append(payloadFor(i))))
    assert.equal(acked.length, 5)

    let release!: () => void
    state.gate = new Promise<void>((r) => (release = r))
    state.failFdatasync = true
    const outcomes: string[] = []
    const watch = (p: Promise<WalPosition>) =>
      p.then(
        () => outcomes.push('resolved'),
        (e: unknown) => outcomes.push(e instanceof WalBrokenError && !e.retriable ? 'broken' : `other: ${String(e)}`),
      )
    const doomed = Array.from({length: 12}, (_, i) => watch(wal.append(payloadFor(100 + i))))
    await turns(3)
    // More appends queue behind the stuck fsync, in later batches.
    doomed.push(...Array.from({length: 6}, (_, i) => watch(wal.append(payloadFor(200 + i)))))
    release()
    await Promise.all(doomed)
    assert.deepEqual(outcomes, Array(18).fill('broken'))
    const isBroken = (e: unknown) => e instanceof WalBrokenError && e.code === 'WAL_BROKEN'
    await assert.rejects(wal.append(Buffer.from('later')), isBroken)
    assert.equal(wal.stats().records, 5)
    await wal.close()

    const again = await open(dir)
    const got = await readAll(again)
    const acknowledged = Array.from({length: 5}, (_, i) => payloadFor(i).toString())
    assert.deepEqual(got.payloads.slice(0, 5), acknowledged, 'every acknowledged record is there, first, in order')
    await again.close()
  })

  it('a write that fails half way breaks the WAL', async () => {
    const dir = tmpDir()
    const {state, ops} = faultyOps()
    const wal = await open(dir, {fileOps: ops})
    await wal.append(Buffer.from('ok'))
    state.failWrite = true
    await assert.rejects(wal.append(Buffer.alloc(500, 1)), WalBrokenError)
    state.failWrite = false
    await assert.rejects(wal.append(Buffer.from('after')), WalBrokenError)
    await wal.close()
    const again = await open(dir)
    assert.deepEqual((await readAll(again)).payloads, ['ok'])
    await again.close()
  })

  it('close drains queued appends; appends after close are refused', async () => {
    const wal = await open(tmpDir())
    const pending = Array.from({length: 50}, (_, i) => wal.append(payloadFor(i)))
    await wal.close()
    assert.equal((await Promise.all(pending)).length, 50)
    await assert.rejects(wal.append(Buffer.from('late')), WalClosedError)
    await wal.close()
  })

  it('stats count records, bytes and fsyncs and keep a bounded latency window', async () => {
    const wal = await open(tmpDir(), {fsyncLatencyWindow: 4})
    for (let i = 0; i < 10; i++) await wal.append(Buffer.alloc(10 + i))
    const s = wal.stats()
    assert.equal(s.records, 10)
    assert.equal(s.bytes, Array.from({length: 10}, (_, i) => 8 + 10 + i).reduce((a, b) => a + b))
    assert.equal(s.fsyncs, 10)
    assert.equal(s.fsyncLatencyUs.length, 4)
    assert.ok(s.fsyncLatencyUs.every((us) => Number.isInteger(us) && us >= 0))
    await wal.close()
  })

  it('files start with a header naming their id', async () => {
    const dir = tmpDir()
    const wal = await open(dir)
    const p = await wal.append(Buffer.from('x'))
    assert.equal(p.offset, WAL_FILE_HEADER_BYTES)
    await wal.close()
    const head = readFileSync(join(dir, walFileName(p.fileId))).subarray(0, 4)
    assert.equal(head.toString('latin1'), 'DLWL')
  })
})

describe('wal > eager flush', () => {
  it('splits a burst with the disk idle into batches of at least the minimum, in order, all durable', async () => {
    const dir = tmpDir()
    const wal = await open(dir, {groupCommitRecordsMax: 10_000, groupCommitBytesMax: 1024 * 1024, eagerFlushRecordsMin: 8})
    const order: number[] = []
    const all = Array.from({length: 40}, (_, i) => wal.append(Buffer.from(`r${i}`)).then(() => void order.push(i)))
    await Promise.all(all)
    assert.deepEqual(order, Array.from({length: 40}, (_, i) => i))
    // 8 flushed at once, the rest in later batches: more than one fsync, fewer than one per record.
    const fsyncs = wal.stats().fsyncs
    assert.ok(fsyncs >= 2 && fsyncs < 40, `${fsyncs} fsyncs`)
    await wal.close()
    const reopened = await open(dir)
    assert.deepEqual((await readAll(reopened)).payloads, Array.from({length: 40}, (_, i) => `r${i}`))
    await reopened.close()
  })

  it('is off with eagerFlushRecordsMin 0: a burst made in one turn is one batch', async () => {
    const wal = await open(tmpDir(), {groupCommitRecordsMax: 10_000, groupCommitBytesMax: 1024 * 1024, eagerFlushRecordsMin: 0})
    await Promise.all(Array.from({length: 40}, (_, i) => wal.append(Buffer.from(`r${i}`))))
    assert.equal(wal.stats().fsyncs, 1)
    await wal.close()
  })
})

describe('wal > inline sync (inlineSyncRecordsMax)', () => {
  it('writes small batches inline: in order, durable, replayed across rolls, with a concurrent burst on the pool', async () => {
    const dir = tmpDir()
    const wal = await open(dir, {fileSizeBytesMax: 4096, inlineSyncRecordsMax: 2})
    const positions: WalPosition[] = []
    for (let i = 0; i < 120; i++) positions.push(await wal.append(payloadFor(i)))
    const burst = await Promise.all(Array.from({length: 50}, (_, i) => wal.append(payloadFor(120 + i))))
    assert.equal(wal.stats().records, 170)
    assert.ok(wal.stats().fsyncs >= 120, 'each lone append had its own fsync')
    assert.ok(walFiles(dir).length > 2, 'the log rolled')
    await wal.close()
    const again = await open(dir, {fileSizeBytesMax: 4096})
    const got = await readAll(again)
    assert.deepEqual(got.payloads, Array.from({length: 170}, (_, i) => payloadFor(i).toString()))
    assert.deepEqual(got.positions, [...positions, ...burst])
    await again.close()
  })

  it('is refused when negative and never used with injected file operations (their faults still apply)', async () => {
    await assert.rejects(open(tmpDir(), {inlineSyncRecordsMax: -1}), InvalidInputError)
    let fail = false
    const failing: WalFileOps = {...nodeFileOps, fdatasync: (fd) => (fail ? Promise.reject(new Error('EIO: injected')) : nodeFileOps.fdatasync(fd))}
    const wal = await open(tmpDir(), {inlineSyncRecordsMax: 4, fileOps: failing, preallocateBytes: 0})
    fail = true
    await assert.rejects(wal.append(Buffer.from('lone')), WalBrokenError)
    await wal.close()
  })
})

