import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {openWal} from '../../../src/engine/common/wal/wal.js'
import {type Proc, repoRoot, startProcess} from '../../helpers/processes.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {ackedNumbers} from './acked.js'
import {walTestOptions, walTestPayloadIntact, walTestSeq} from './wal-fixture.js'

const procs: Proc[] = []
const tmp = makeTmpDir('dlog-wal-kill9-')
after(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
  tmp.remove()
})


describe('wal > kill -9', () => {
  it('every acknowledged record survives kill -9 of the writer, intact and in order, round after round', async () => {
    const dir = join(tmp.path, 'wal')
    const acked = new Set<number>()
    const rounds = 4
    for (let round = 0; round < rounds; round++) {
      const script = join(repoRoot, 'test/fault/common/wal-writer.ts')
      const child = startProcess(process.execPath, ['--import', 'tsx', script, dir], {
        cwd: repoRoot,
        env: {...process.env, CONCURRENCY: String([1, 8, 64, 256][round])},
      })
      procs.push(child)
      const target = 300 + round * 700
      const reached = () => ackedNumbers(child.stdout()).length >= target || child.child.exitCode !== null
      await waitFor(reached, {
        timeoutMs: 60_000,
        what: `${target} acks in round ${round}`,
      })
      child.kill('SIGKILL')
      const {signal} = await child.exited
      assert.equal(signal, 'SIGKILL', `writer died on its own: ${child.output()}`)
      const ackedNow = ackedNumbers(child.stdout())
      assert.ok(ackedNow.length >= target)
      for (const s of ackedNow) acked.add(s)

      const wal = await openWal(walTestOptions(dir))
      const seqs: number[] = []
      await wal.replay(undefined, (payload) => {
        assert.ok(walTestPayloadIntact(payload), `record ${walTestSeq(payload)} is intact`)
        seqs.push(walTestSeq(payload))
      })
      await wal.close()
      // Records are written in call order, so what survives is a gapless run from 0.
      seqs.forEach((s, i) => assert.equal(s, i, `record ${i} in order`))
      const missing = [...acked].filter((s) => s >= seqs.length)
      assert.deepEqual(missing, [], `round ${round}: acknowledged records lost`)
    }
    assert.ok(acked.size >= 300 + 1000 + 1700 + 2400)
  })
})
