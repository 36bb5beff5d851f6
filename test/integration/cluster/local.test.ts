/**
 * `dlog local` as a user runs it (the built CLI): ready line and table, bookies registered, the state
 * file other commands read, Ctrl-C stopping every child, --data-dir across a restart, and the failures
 * (second sandbox on a port, port in use, unusable directory) leaving nothing running.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {readBindingAt} from '../../../src/engine/log/metadata/binding.js'
import {isPidAlive} from '../../../src/engine/cluster/pids.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {type Proc, runCli, startCli} from '../../helpers/processes.js'
import {freePort} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'

const READY = 'DistributedLog Sandbox is running now. You could access '
/** Generous: two cores shared with other test runs. */
const READY_MS = 60_000

/** oclif wraps error text behind ' ›   ' prefixes: undo that for matching. */
function flat(text: string): string {
  return text.replace(/\s*\n\s*›\s*/g, ' ')
}

/** The pids whose parent is `pid` (Linux /proc via ps). */
function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], {encoding: 'utf8'})
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0)
  } catch {
    return [] // ps exits 1 when nothing matches
  }
}

/** Zombies (exited, not yet reaped by whoever inherited them) count as gone. */
const alive = isPidAlive

/** Table rows `│ name │ address │ stats │ dir │` → {name: {address, stats, dir}}. */
function tableOf(stdout: string): Map<string, {address: string; stats: string; dir: string}> {
  const rows = new Map<string, {address: string; stats: string; dir: string}>()
  for (const line of stdout.split('\n')) {
    const cells = line.split('│').map((c) => c.trim())
    if (cells.length === 6 && cells[1] !== 'component') rows.set(cells[1]!, {address: cells[2]!, stats: cells[3]!, dir: cells[4]!})
  }
  return rows
}

describe('dlog local', () => {
  const tmp = makeTmpDir('dlog-local-')
  const stateDir = join(tmp.path, 'state')
  const env = {...process.env, DLOG_STATE_DIR: stateDir, DLOG_URI: ''}
  const procs: Proc[] = []
  const strays: number[] = []
  after(async () => {
    for (const p of procs) await p.stop(15_000)
    for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL')
    tmp.remove()
  })

  async function startSandbox(args: string[]): Promise<{proc: Proc; port: number; bookiePids: number[]}> {
    const proc = startCli(['local', ...args], {env})
    procs.push(proc)
    const exitedEarly = proc.exited.then(() => {
      throw new Error(`dlog local exited before ready:\n${proc.output()}`)
    })
    await Promise.race([waitFor(() => proc.stdout().includes(READY) && proc.stdout().includes('└'), {timeoutMs: READY_MS, what: 'ready'}), exitedEarly])
    const port = Number(/127\.0\.0\.1:(\d+)\/messaging\/distributedlog/.exec(proc.stdout())?.[1])
    const bookiePids = childPids(proc.pid)
    strays.push(...bookiePids)
    return {proc, port, bookiePids}
  }

  it('starts ZooKeeper and 3 registered bookies, records itself, and Ctrl-C stops every child', async () => {
    const zkPort = await freePort()
    const {proc, port, bookiePids} = await startSandbox([String(zkPort)])
    assert.equal(port, zkPort)
    assert.ok(proc.stdout().includes(`${READY}distributedlog://127.0.0.1:${zkPort}/messaging/distributedlog\n`), proc.stdout())
    const table = tableOf(proc.stdout())
    assert.deepEqual([...table.keys()], ['zookeeper', 'bookie-1', 'bookie-2', 'bookie-3'])
    assert.equal(table.get('zookeeper')?.address, `127.0.0.1:${zkPort}`)
    assert.equal(bookiePids.length, 3, `bookie children of ${proc.pid}: ${bookiePids.join(',')}`)

    const zk = await ZKClient.connect({connectString: `127.0.0.1:${zkPort}`})
    try {
      const available = (await zk.getChildren('/ledgers/available')).filter((c) => c !== 'readonly').sort()
      const bookieAddrs = ['bookie-1', 'bookie-2', 'bookie-3'].map((b) => table.get(b)?.address as string).sort()
      assert.deepEqual(available, bookieAddrs)
      // Bound as LocalDLMEmulator binds it: every ZooKeeper field the sandbox's, ledgers at /ledgers.
      const binding = await readBindingAt(zk, '/messaging/distributedlog')
      assert.equal(binding?.bkZkServers, `127.0.0.1:${zkPort}`)
      assert.equal(binding?.dlZkServersForWriter, `127.0.0.1:${zkPort}`)
      assert.equal(binding?.bkLedgersPath, '/ledgers')
    } finally {
      await zk.close()
    }
    // A bookie's stats port answers /ping.
    const stats = Number(table.get('bookie-1')?.stats)
    const pong = await fetch(`http://127.0.0.1:${stats}/ping`).then((r) => r.text())
    assert.match(pong, /pong/)

    const state = JSON.parse(readFileSync(join(stateDir, `sandbox-${zkPort}.json`), 'utf8')) as {pid: number; uri: string}
    assert.equal(state.pid, proc.pid)
    assert.equal(state.uri, `distributedlog://127.0.0.1:${zkPort}/messaging/distributedlog`)
    const dataDir = table.get('bookie-1')?.dir.replace(/\/bookie-1$/, '') as string
    assert.ok(existsSync(dataDir))

    proc.kill('SIGINT')
    const {code} = await proc.exited
    assert.equal(code, 0, proc.output())
    assert.match(proc.stdout(), /ByeBye!\n$/)
    for (const pid of bookiePids) assert.equal(alive(pid), false, `bookie pid ${pid} still alive`)
    assert.equal(existsSync(join(stateDir, `sandbox-${zkPort}.json`)), false, 'state file removed')
    assert.equal(existsSync(dataDir), false, 'temp data dir removed')
  })

  it('a second sandbox on the same port fails clearly and the first keeps running', async () => {
    const zkPort = await freePort()
    const first = await startSandbox([String(zkPort), '--bookies', '1'])
    const second = await runCli(['local', String(zkPort), '--bookies', '1'], {env, timeoutMs: READY_MS})
    assert.notEqual(second.code, 0)
    assert.match(flat(second.stderr), new RegExp(`already running on port ${zkPort}`))
    // Without the state file (another user's state dir) the port itself is found taken.
    const third = await runCli(['local', String(zkPort), '--bookies', '1'], {
      env: {...env, DLOG_STATE_DIR: join(tmp.path, 'other-state')},
      timeoutMs: READY_MS,
    })
    assert.notEqual(third.code, 0)
    assert.match(flat(third.stderr), new RegExp(`port 127\\.0\\.0\\.1:${zkPort} is already in use`))
    assert.equal(first.proc.child.exitCode, null, 'first sandbox still running')
    assert.equal(childPids(first.proc.pid).length, 1)
    first.proc.kill('SIGTERM')
    assert.equal((await first.proc.exited).code, 0)
    assert.match(first.proc.stdout(), /ByeBye!/)
  })

  it('a bookie that dies is reported and the sandbox still stops cleanly', async () => {
    const zkPort = await freePort()
    const {proc, bookiePids} = await startSandbox([String(zkPort), '--bookies', '2'])
    assert.equal(bookiePids.length, 2)
    process.kill(bookiePids[0] as number, 'SIGKILL')
    await waitFor(() => /bookie-\d \(127\.0\.0\.1:\d+, pid \d+\) exited unexpectedly \(SIGKILL\)/.test(flat(proc.stderr())), {
      timeoutMs: 30_000,
      what: 'the warning about the dead bookie',
    })
    assert.equal(proc.child.exitCode, null, 'the sandbox keeps running')
    proc.kill('SIGINT')
    assert.equal((await proc.exited).code, 0, proc.output())
    assert.match(proc.stdout(), /ByeBye!/)
    assert.equal(alive(bookiePids[1] as number), false)
  })

  it('Ctrl-C while starting stops what was started, without announcing a ready sandbox', async () => {
    const zkPort = await freePort()
    const proc = startCli(['local', String(zkPort)], {env})
    procs.push(proc)
    await waitFor(() => proc.stdout().includes('Starting 3 bookies'), {timeoutMs: READY_MS, what: 'the bookie step'})
    proc.kill('SIGINT')
    const {code} = await proc.exited
    assert.equal(code, 0, proc.output())
    assert.equal(proc.stdout().includes(READY), false)
    assert.match(proc.stdout(), /ByeBye!\n$/)
    assert.deepEqual(childPids(proc.pid), [])
    assert.equal(existsSync(join(stateDir, `sandbox-${zkPort}.json`)), false)
  })

  it('kill -9 of the sandbox leaves no bookie running', async () => {
    const zkPort = await freePort()
    const {proc, bookiePids} = await startSandbox([String(zkPort)])
    assert.equal(bookiePids.length, 3)
    const dataDir = tableOf(proc.stdout()).get('bookie-1')?.dir.replace(/\/bookie-1$/, '') as string
    proc.kill('SIGKILL')
    await proc.exited
    await waitFor(() => bookiePids.every((pid) => !alive(pid)), {timeoutMs: 30_000, intervalMs: 100, what: 'orphaned bookies to exit'})
    // The temp dir stays behind (nobody could remove it); the next temp sandbox sweeps it.
    assert.ok(existsSync(dataDir))
    const next = await startSandbox([String(await freePort()), '--bookies', '1'])
    assert.equal(existsSync(dataDir), false, `${dataDir} swept`)
    next.proc.kill('SIGINT')
    assert.equal((await next.proc.exited).code, 0)
  })

  it('--data-dir keeps ZooKeeper data and bookie identities across a restart', async () => {
    const zkPort = await freePort()
    const dir = join(tmp.path, 'kept')
    const run1 = await startSandbox([String(zkPort), '--data-dir', dir])
    const table1 = tableOf(run1.proc.stdout())
    const zk = await ZKClient.connect({connectString: `127.0.0.1:${zkPort}`})
    await zk.create('/h6-marker', Buffer.from('kept'))
    await zk.close()
    // The seeds' commands without -u reach the running sandbox through its state file.
    const created = await runCli(['tool', 'create', '-r', 'stream-', '-e', '0-10'], {env, input: 'Y\n', timeoutMs: READY_MS})
    assert.equal(created.code, 0, created.stdout + created.stderr)
    assert.match(created.stdout, /You are going to create streams : \[stream-0, stream-1, .*stream-10\] \(Y or N\)/)
    run1.proc.kill('SIGINT')
    assert.equal((await run1.proc.exited).code, 0, run1.proc.output())
    assert.ok(existsSync(join(dir, 'sandbox.json')))
    assert.equal(existsSync(join(dir, 'sandbox.pid')), false)

    const run2 = await startSandbox([String(zkPort), '--data-dir', dir])
    const table2 = tableOf(run2.proc.stdout())
    for (const b of ['bookie-1', 'bookie-2', 'bookie-3']) assert.equal(table2.get(b)?.address, table1.get(b)?.address, b)
    const zk2 = await ZKClient.connect({connectString: `127.0.0.1:${zkPort}`})
    try {
      assert.equal((await zk2.getData('/h6-marker')).data?.toString(), 'kept')
      const available = (await zk2.getChildren('/ledgers/available')).filter((c) => c !== 'readonly')
      assert.equal(available.length, 3)
      assert.equal((await readBindingAt(zk2, '/messaging/distributedlog'))?.bkLedgersPath, '/ledgers')
    } finally {
      await zk2.close()
    }
    const listed = await runCli(['tool', 'list'], {env, timeoutMs: READY_MS})
    assert.equal(listed.code, 0, listed.stdout + listed.stderr)
    const names = listed.stdout.split('\n').filter((l) => /^stream-\d+$/.test(l)).sort()
    assert.deepEqual(names, Array.from({length: 11}, (_, i) => `stream-${i}`).sort())
    // The same directory cannot serve two sandboxes at once, whatever the port.
    const clash = await runCli(['local', String(await freePort()), '--data-dir', dir], {env, timeoutMs: READY_MS})
    assert.notEqual(clash.code, 0)
    assert.match(flat(clash.stderr), /is using data directory|belongs to a sandbox on ZooKeeper port/)
    run2.proc.kill('SIGINT')
    assert.equal((await run2.proc.exited).code, 0, run2.proc.output())
    assert.ok(existsSync(join(dir, 'zookeeper')), 'kept data dir stays')
  })

  it('an unusable data dir or a taken port fails with a message and leaves nothing running', async () => {
    const file = join(tmp.path, 'a-file')
    writeFileSync(file, 'x')
    const bad = await runCli(['local', String(await freePort()), '--data-dir', join(file, 'sub')], {env, timeoutMs: READY_MS})
    assert.notEqual(bad.code, 0)
    assert.match(flat(bad.stderr), /cannot use data directory/)

    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const taken = (blocker.address() as {port: number}).port
    try {
      const p = startCli(['local', String(taken)], {env})
      procs.push(p)
      const {code} = await p.exited
      assert.notEqual(code, 0)
      assert.match(flat(p.stderr()), new RegExp(`port 127\\.0\\.0\\.1:${taken} is already in use`))
      assert.deepEqual(childPids(p.pid), [])
    } finally {
      blocker.close()
    }
  })
})
