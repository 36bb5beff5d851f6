/**
 * Invariant 5 end to end for the metadata plane: a `dlog zookeeper --data-dir` process is killed with
 * SIGKILL while clients stream creates and setData; after a restart on the same data dir every write a
 * client saw acknowledged is there (creates present, each counter at least its last acknowledged value).
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {ZKClient} from '../../../src/engine/index.js'
import {startCli, type Proc} from '../../helpers/processes.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'

const WRITERS = 8
const ACKED_BEFORE_KILL = 400

async function startServer(dataDir: string): Promise<{proc: Proc; port: number}> {
  const proc = startCli(['zookeeper', '--port', '0', '--data-dir', dataDir])
  const port = await waitFor(
    () => {
      const m = /serving on 127\.0\.0\.1:(\d+)/.exec(proc.stdout())
      return m ? Number(m[1]) : undefined
    },
    {timeoutMs: 30_000, what: `dlog zookeeper to serve (output: ${proc.output()})`},
  )
  return {proc, port}
}

describe('zookeeper > kill -9 of the server process', () => {
  const tmp = makeTmpDir('dlog-zk-kill9-')
  const procs: Proc[] = []
  const clients: ZKClient[] = []
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    for (const p of procs) p.kill('SIGKILL')
    await Promise.allSettled(procs.map((p) => p.exited))
    tmp.remove()
  })

  it('loses no acknowledged create or setData', async () => {
    const dataDir = `${tmp.path}/zk`
    const first = await startServer(dataDir)
    procs.push(first.proc)
    const connectString = `127.0.0.1:${first.port}`
    const admin = await ZKClient.connect({connectString, sessionTimeoutMs: 10_000, connectTimeoutMs: 10_000})
    clients.push(admin)
    await admin.create('/k')
    for (let i = 0; i < WRITERS; i++) await admin.create(`/c${i}`, Buffer.from('0'))

    const ackedCreates = new Set<string>()
    const ackedCounter = Array.from({length: WRITERS}, () => 0)
    let stop = false
    const writers = Array.from({length: WRITERS}, async (_, i) => {
      const zk = await ZKClient.connect({connectString, sessionTimeoutMs: 10_000, connectTimeoutMs: 10_000, retries: 0})
      clients.push(zk)
      for (let n = 1; !stop; n++) {
        try {
          const path = await zk.create(`/k/w${i}-`, Buffer.from(`payload-${i}-${n}`), 'persistent_sequential')
          ackedCreates.add(path.slice('/k/'.length))
          await zk.setData(`/c${i}`, Buffer.from(String(n)))
          ackedCounter[i] = n
        } catch {
          return // the server died under us: everything acknowledged so far is recorded
        }
      }
    })

    await waitFor(() => ackedCreates.size >= ACKED_BEFORE_KILL, {timeoutMs: 60_000, what: `${ACKED_BEFORE_KILL} acked creates`})
    first.proc.kill('SIGKILL')
    const exit = await first.proc.exited
    assert.equal(exit.signal, 'SIGKILL')
    stop = true
    await Promise.all(writers)
    await Promise.allSettled(clients.splice(0).map((c) => c.close()))

    const second = await startServer(dataDir)
    procs.push(second.proc)
    const check = await ZKClient.connect({connectString: `127.0.0.1:${second.port}`, sessionTimeoutMs: 10_000, connectTimeoutMs: 10_000})
    clients.push(check)
    const children = new Set(await check.getChildren('/k'))
    const missing = [...ackedCreates].filter((c) => !children.has(c))
    assert.deepEqual(missing, [], `${missing.length} of ${ackedCreates.size} acknowledged creates lost`)
    for (let i = 0; i < WRITERS; i++) {
      const {data} = await check.getData(`/c${i}`)
      assert.ok(Number(data?.toString()) >= ackedCounter[i]!, `/c${i} is ${data?.toString()}, acked ${ackedCounter[i]}`)
    }
    // Every recovered node still carries the payload written with it.
    const sample = [...ackedCreates].slice(0, 50)
    for (const name of sample) {
      const {data} = await check.getData(`/k/${name}`)
      assert.match(data?.toString() ?? '', /^payload-\d+-\d+$/)
    }
  })
})
