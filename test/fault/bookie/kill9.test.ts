import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, test} from 'node:test'
import {Bookie} from '../../../src/engine/bookie/bookie.js'
import {repoRoot, startProcess, type Proc} from '../../helpers/processes.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {dirsOf, entryBytesOf, makeEntry} from '../../unit/bookie/core/helpers.js'

const tmp = makeTmpDir('dlog-bookie-kill9-')
const procs: Proc[] = []
after(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
  tmp.remove()
})

function ackedOf(stdout: string): number[] {
  // Only complete lines count: a line cut by the kill was never fully printed.
  const lines = stdout.split('\n').slice(0, -1)
  return lines.filter((l) => l.startsWith('acked ')).map((l) => Number(l.split(' ')[2]))
}

test('bookie fault - kill -9 while acknowledging adds loses no acknowledged entry, across three crashes', async () => {
  const root = join(tmp.path, 'b')
  const acked = new Map<number, number[]>()
  for (let round = 1; round <= 3; round++) {
    const child = startProcess(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/fault/bookie/bookie-child.ts'), root, String(round)], {cwd: repoRoot})
    procs.push(child)
    // Kill at a different point each round, after the bookie has flushed and rolled files a few times.
    const target = 1500 + round * 700
    await waitFor(() => ackedOf(child.stdout()).length >= target || child.child.exitCode !== null, {timeoutMs: 120_000, what: `${target} acks`})
    child.kill('SIGKILL')
    const {signal} = await child.exited
    assert.equal(signal, 'SIGKILL', `child exited by itself: ${child.output()}`)
    acked.set(round, ackedOf(child.stdout()))
  }
  const bookie = await Bookie.open({...dirsOf(root), journalFileSizeBytesMax: 256 * 1024})
  try {
    for (const [ledgerId, ids] of acked) {
      assert.ok(ids.length >= 1500)
      for (const entryId of ids) {
        const got = await bookie.readEntry({ledgerId, entryId})
        assert.deepEqual(got, makeEntry(ledgerId, entryId, {bytes: entryBytesOf(entryId)}), `entry ${ledgerId}/${entryId}`)
      }
    }
    assert.deepEqual(bookie.listLedgers(), [1, 2, 3])
  } finally {
    await bookie.close()
  }
})
