import assert from 'node:assert/strict'
import {closeSync, openSync, readdirSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {FilePersistence} from '../../../src/engine/zookeeper/server/persistence/file-persistence.js'
import {
  parseSnapshotFileName,
  snapshotFileName,
} from '../../../src/engine/zookeeper/server/persistence/file-snapshot.js'
import {type Proc, repoRoot, startProcess} from '../../helpers/processes.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {ackedNumbers} from '../common/acked.js'
import {decodeTree, treeDigestAt, zkStoreTestOptions, zkTxnPayload} from './zk-store-fixture.js'

const procs: Proc[] = []
const tmp = makeTmpDir('dlog-zkstore-kill9-')
after(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
  tmp.remove()
})


function snapshotZxids(dataDir: string): number[] {
  return readdirSync(join(dataDir, 'version-2'))
    .map(parseSnapshotFileName)
    .filter((z): z is bigint => z !== undefined)
    .map(Number)
    .sort((a, b) => b - a)
}

/** Recovers in this process and checks the state is whole: returns the last zxid it reaches. */
async function recoverAndCheck(dataDir: string, ackedMax: number): Promise<{lastZxid: number; snapshotZxid: number}> {
  const store = new FilePersistence(zkStoreTestOptions(dataDir))
  const r = await store.recover()
  await store.close()
  let zxid = 0
  if (r.snapshot) {
    const tree = decodeTree(r.snapshot.payload)
    assert.equal(BigInt(tree.zxid), r.snapshot.zxid)
    assert.equal(tree.digest, treeDigestAt(tree.zxid), `snapshot ${tree.zxid} reflects txns 1..${tree.zxid}`)
    zxid = tree.zxid
  }
  for (const t of r.txns) {
    assert.equal(Number(t.zxid), zxid + 1, 'txns follow the snapshot without a gap')
    zxid = Number(t.zxid)
    assert.deepEqual(t.payload, zkTxnPayload(zxid), `txn ${zxid} intact`)
  }
  assert.ok(zxid >= ackedMax, `recovered up to ${zxid}, but ${ackedMax} was acknowledged`)
  return {lastZxid: zxid, snapshotZxid: r.snapshot ? Number(r.snapshot.zxid) : 0}
}

describe('zookeeper > persistence > kill -9', () => {
  it('every acknowledged txn survives kill -9 amid appends and snapshots; a damaged snapshot falls back', async () => {
    const dataDir = join(tmp.path, 'data')
    let ackedMax = 0
    for (let round = 0; round < 4; round++) {
      const script = join(repoRoot, 'test/fault/zookeeper/zk-store-writer.ts')
      const child = startProcess(process.execPath, ['--import', 'tsx', script, dataDir], {
        cwd: repoRoot,
        env: {...process.env, WINDOW: String([1, 16, 64, 8][round])},
      })
      procs.push(child)
      const target = ackedMax + 250 + round * 180
      const reached = () => (ackedNumbers(child.stdout()).at(-1) ?? 0) >= target || child.child.exitCode !== null
      await waitFor(reached, {
        timeoutMs: 60_000,
        what: `txn ${target} acknowledged in round ${round}`,
      })
      child.kill('SIGKILL')
      const {signal} = await child.exited
      assert.equal(signal, 'SIGKILL', `writer died on its own: ${child.output()}`)
      ackedMax = Math.max(ackedMax, ...ackedNumbers(child.stdout()))

      const {lastZxid, snapshotZxid} = await recoverAndCheck(dataDir, ackedMax)
      assert.ok(snapshotZxid > 0, 'snapshots were taken')
      // 3 are kept; a kill between writing a snapshot and purging the oldest can leave one more.
      assert.ok(snapshotZxids(dataDir).length <= 4, 'old snapshots are purged')

      if (round === 2) {
        // Damage the newest snapshot: recovery falls back to the one before and still reaches lastZxid.
        const newest = snapshotZxids(dataDir)[0] as number
        const fd = openSync(join(dataDir, 'version-2', snapshotFileName(BigInt(newest))), 'r+')
        writeSync(fd, Buffer.from([0xee]), 0, 1, 30)
        closeSync(fd)
        const fallback = await recoverAndCheck(dataDir, ackedMax)
        assert.ok(fallback.snapshotZxid < newest, 'fell back to an older snapshot')
        assert.equal(fallback.lastZxid, lastZxid)
      }
    }
  })
})
