import assert from 'node:assert/strict'
import {closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {nodeFileOps, openWal, WalBrokenError, type WalFileOps} from '../../../../src/engine/common/wal/index.js'
import {
  FilePersistence,
  type FilePersistenceOptions,
  ZKStoreCorruptError,
} from '../../../../src/engine/zookeeper/server/persistence/file-persistence.js'
import {
  decodeTxnRecord,
  snapshotFileName,
} from '../../../../src/engine/zookeeper/server/persistence/file-snapshot.js'
import {makeTmpDir} from '../../../helpers/tmp.js'

const tmps: {remove(): void}[] = []
after(() => tmps.forEach((t) => t.remove()))

function tmpDir(): string {
  const t = makeTmpDir('dlog-zkstore-')
  tmps.push(t)
  return t.path
}

/** Small WAL files so that snapshots have whole files to purge. */
function store(dataDir: string, opts: Partial<FilePersistenceOptions> = {}): FilePersistence {
  return new FilePersistence({
    dataDir,
    ...opts,
    wal: {fileSizeBytesMax: 2048, preallocateBytes: 2048, ...opts.wal},
  })
}

function txnPayload(zxid: number): Buffer {
  return Buffer.from(`txn-${zxid}-` + 'p'.repeat(zxid % 40))
}

/** Appends zxids from..to, ten at a time in flight, so they spread over several small log files. */
async function appendRange(s: FilePersistence, from: number, to: number): Promise<void> {
  for (let z = from; z <= to; z += 10) {
    const all: Promise<void>[] = []
    for (let y = z; y <= Math.min(to, z + 9); y++) all.push(s.append({zxid: BigInt(y), payload: txnPayload(y)}))
    await Promise.all(all)
  }
}

function zxidsOf(txns: {zxid: bigint}[]): number[] {
  return txns.map((t) => Number(t.zxid))
}

function range(from: number, to: number): number[] {
  return Array.from({length: to - from + 1}, (_, i) => from + i)
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path)
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.from([(bytes[at] as number) ^ 0xff]), 0, 1, at)
  closeSync(fd)
}

/** File operations whose fdatasync fails with `fault.code` while it is set. */
function fdatasyncFault(): {fault: {code: string | undefined}; fileOps: WalFileOps} {
  const fault: {code: string | undefined} = {code: undefined}
  const fileOps: WalFileOps = {
    ...nodeFileOps,
    fdatasync: async (fd) => {
      const code = fault.code
      if (code !== undefined) throw Object.assign(new Error(`${code}: fdatasync failed`), {code})
      return nodeFileOps.fdatasync(fd)
    },
  }
  return {fault, fileOps}
}

const walDir = (dataDir: string) => join(dataDir, 'version-2', 'log')
const snapPath = (dataDir: string, zxid: number) => join(dataDir, 'version-2', snapshotFileName(BigInt(zxid)))

describe('zookeeper > persistence > file store', () => {
  it('a fresh store recovers nothing; appended txns come back in order after a restart', async () => {
    const dir = tmpDir()
    const s = store(dir)
    assert.deepEqual(await s.recover(), {txns: []})
    await appendRange(s, 1, 100)
    await s.close()
    const again = store(dir)
    const r = await again.recover()
    assert.equal(r.snapshot, undefined)
    assert.deepEqual(zxidsOf(r.txns), range(1, 100))
    r.txns.forEach((t) => assert.deepEqual(t.payload, txnPayload(Number(t.zxid))))
    await appendRange(again, 101, 110)
    await again.close()
    const third = store(dir)
    assert.deepEqual(zxidsOf((await third.recover()).txns), range(1, 110))
    await third.close()
  })

  it('recovers the snapshot and only the txns after it', async () => {
    const dir = tmpDir()
    const s = store(dir)
    await s.recover()
    await appendRange(s, 1, 50)
    await s.snapshot(50n, Buffer.from('tree@50'))
    await appendRange(s, 51, 80)
    await s.close()
    const again = store(dir)
    const r = await again.recover()
    assert.deepEqual(r.snapshot, {zxid: 50n, payload: Buffer.from('tree@50')})
    assert.deepEqual(zxidsOf(r.txns), range(51, 80))
    await again.close()
  })

  it('keeps the newest snapRetainCount snapshots and purges only log files every kept snapshot covers', async () => {
    const dir = tmpDir()
    const s = store(dir)
    await s.recover()
    for (let z = 1; z <= 250; z += 50) {
      await appendRange(s, z, z + 49)
      await s.snapshot(BigInt(z + 49), Buffer.from(`tree@${z + 49}`))
    }
    await s.close()
    const snaps = readdirSync(join(dir, 'version-2')).filter((n) => n.startsWith('snapshot.')).sort()
    assert.deepEqual(snaps, [150, 200, 250].map((z) => snapshotFileName(BigInt(z))).sort())
    // The log starts after txn 1 (purged) but no later than txn 151 (the oldest kept snapshot still needs it).
    const wal = await openWal({
      dir: walDir(dir),
      fileSizeBytesMax: 2048,
      groupCommitBytesMax: 4096,
      groupCommitRecordsMax: 10,
      groupCommitWaitMs: 0,
      recordBytesMax: 4096,
    })
    const logged: number[] = []
    await wal.replay(undefined, (record) => {
      const t = decodeTxnRecord(record)
      assert.ok(t.ok)
      logged.push(Number(t.zxid))
    })
    await wal.close()
    const firstLogged = logged[0] as number
    assert.ok(firstLogged > 1 && firstLogged <= 151, `the log starts at txn ${firstLogged}`)
    assert.deepEqual(logged, range(firstLogged, 250))

    // Damage the two newest snapshots: the oldest kept one still has every txn after it.
    flipByte(snapPath(dir, 250), 30)
    flipByte(snapPath(dir, 200), 30)
    const again = store(dir)
    const r = await again.recover()
    assert.deepEqual(r.snapshot, {zxid: 150n, payload: Buffer.from('tree@150')})
    assert.deepEqual(zxidsOf(r.txns), range(151, 250))
    await again.close()
  })

  it('a damaged newest snapshot falls back to the previous one', async () => {
    const dir = tmpDir()
    const s = store(dir)
    await s.recover()
    await appendRange(s, 1, 20)
    await s.snapshot(20n, Buffer.from('tree@20'))
    await appendRange(s, 21, 40)
    await s.snapshot(40n, Buffer.from('tree@40'))
    await appendRange(s, 41, 45)
    await s.close()
    flipByte(snapPath(dir, 40), 26)
    const again = store(dir)
    const r = await again.recover()
    assert.deepEqual(r.snapshot, {zxid: 20n, payload: Buffer.from('tree@20')})
    assert.deepEqual(zxidsOf(r.txns), range(21, 45))
    await again.close()
  })

  it('refuses to recover when the log no longer reaches back to the only intact snapshot', async () => {
    const dir = tmpDir()
    const s = store(dir, {snapRetainCount: 1})
    await s.recover()
    await appendRange(s, 1, 200)
    await s.snapshot(200n, Buffer.from('tree@200'))
    await appendRange(s, 201, 210)
    await s.close()
    flipByte(snapPath(dir, 200), 26)
    await assert.rejects(store(dir, {snapRetainCount: 1}).recover(), (e: unknown) => {
      assert.ok(e instanceof ZKStoreCorruptError, String(e))
      assert.match(e.message, /txns are missing/)
      return true
    })
  })

  it('rejects txns that do not move the zxid forward or are too big, and keeps working', async () => {
    const dir = tmpDir()
    const s = store(dir, {txnBytesMax: 100})
    await s.recover()
    await s.append({zxid: 5n, payload: Buffer.from('five')})
    await assert.rejects(s.append({zxid: 5n, payload: Buffer.from('again')}), InvalidInputError)
    await assert.rejects(s.append({zxid: 4n, payload: Buffer.from('back')}), InvalidInputError)
    await assert.rejects(s.append({zxid: 6n, payload: Buffer.alloc(101)}), InvalidInputError)
    await assert.rejects(s.snapshot(-1n, Buffer.alloc(1)), InvalidInputError)
    await s.append({zxid: 6n, payload: Buffer.alloc(100)})
    await s.close()
    const again = store(dir, {txnBytesMax: 100})
    assert.deepEqual(zxidsOf((await again.recover()).txns), [5, 6])
    await again.close()
  })

  it('a failed log fsync fails that append and every later one', async () => {
    const dir = tmpDir()
    const {fault, fileOps} = fdatasyncFault()
    const s = store(dir, {fileOps})
    await s.recover()
    await appendRange(s, 1, 10)
    fault.code = 'EIO'
    await assert.rejects(s.append({zxid: 11n, payload: txnPayload(11)}), (e: unknown) => {
      assert.ok(e instanceof WalBrokenError && /EIO/.test(e.message), String(e))
      return true
    })
    fault.code = undefined
    await assert.rejects(s.append({zxid: 12n, payload: txnPayload(12)}))
    await s.close()
    const again = store(dir)
    const got = zxidsOf((await again.recover()).txns)
    assert.deepEqual(got.slice(0, 10), range(1, 10))
    await again.close()
  })

  it('a failed snapshot write leaves no snapshot behind and the store keeps logging', async () => {
    const dir = tmpDir()
    const {fault, fileOps} = fdatasyncFault()
    const s = store(dir, {fileOps})
    await s.recover()
    await appendRange(s, 1, 10)
    await s.snapshot(10n, Buffer.from('tree@10'))
    await appendRange(s, 11, 20)
    fault.code = 'ENOSPC'
    await assert.rejects(s.snapshot(20n, Buffer.from('tree@20')), /ENOSPC/)
    fault.code = undefined
    assert.equal(existsSync(snapPath(dir, 20)), false)
    assert.equal(existsSync(snapPath(dir, 20) + '.tmp'), false)
    await appendRange(s, 21, 25)
    await s.close()
    const again = store(dir)
    const r = await again.recover()
    assert.equal(r.snapshot?.zxid, 10n)
    assert.deepEqual(zxidsOf(r.txns), range(11, 25))
    await again.close()
  })

  it('deletes a half-written snapshot and can keep the log in dataLogDir', async () => {
    const dir = tmpDir()
    const logDir = tmpDir()
    const s = store(dir, {dataLogDir: logDir})
    await s.recover()
    await appendRange(s, 1, 5)
    await s.close()
    assert.ok(readdirSync(join(logDir, 'version-2', 'log')).some((n) => n.endsWith('.wal')))
    assert.equal(existsSync(walDir(dir)), false)
    writeFileSync(snapPath(dir, 5) + '.tmp', 'half')
    const again = store(dir, {dataLogDir: logDir})
    assert.deepEqual(zxidsOf((await again.recover()).txns), range(1, 5))
    assert.equal(existsSync(snapPath(dir, 5) + '.tmp'), false)
    await again.close()
  })
})
