/**
 * Child process for wal-kill9.test.ts: opens the WAL in argv[2], replays it to find the next sequence
 * number, then appends numbered records forever with CONCURRENCY appends in flight, printing
 * `ack <seq>` once each append resolves. The parent kills it with SIGKILL mid-stream.
 * (stdout to a pipe is synchronous on Linux, so a printed ack is never lost behind a kill.)
 */
import {openWal} from '../../../src/engine/common/wal/wal.js'
import {walTestOptions, walTestPayload, walTestSeq} from './wal-fixture.js'

const dir = process.argv[2] as string
const concurrency = Number(process.env.CONCURRENCY ?? 32)
const wal = await openWal(walTestOptions(dir))
let next = 0
await wal.replay(undefined, (payload) => {
  next = walTestSeq(payload) + 1
})
process.stdout.write(`start ${next}\n`)
const worker = async () => {
  for (;;) {
    const seq = next++
    await wal.append(walTestPayload(seq))
    process.stdout.write(`ack ${seq}\n`)
  }
}
await Promise.all(Array.from({length: concurrency}, worker))
