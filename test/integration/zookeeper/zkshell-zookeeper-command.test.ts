/**
 * `dlog zookeeper` (the standalone server command) driven together with `dlog zkshell`, as processes
 * (bin/run.js over dist/; run `npm run build` first): DistributedLog's own zookeeper.conf.template
 * with a temp dataDir, data surviving a restart, SIGTERM/SIGINT, config errors and warnings.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {runCli, startCli, type Proc} from '../../helpers/processes.js'
import {dlZookeeperConfTemplate} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'

/** oclif wraps warnings and errors at the terminal width: join the continuation lines back. */
const unwrap = (s: string) => s.replace(/\s*\n ›\s+/g, ' ')

const SERVING = /^ZooKeeper server serving on (127\.0\.0\.1):(\d+) \((.*)\)$/m

describe('dlog zookeeper + dlog zkshell', () => {
  const tmp = makeTmpDir('dlog-zk-cmd-')
  const procs: Proc[] = []
  after(async () => {
    for (const p of procs) await p.stop()
    tmp.remove()
  })

  async function serve(args: string[]): Promise<{proc: Proc; port: number; where: string}> {
    const proc = startCli(['zookeeper', ...args])
    procs.push(proc)
    const m = await waitFor(() => SERVING.exec(proc.stdout()) ?? (proc.child.exitCode !== null ? Promise.reject(new Error(proc.output())) : null), {
      timeoutMs: 30_000,
      what: 'the serving line',
    })
    return {proc, port: Number(m[2]), where: m[3] as string}
  }

  it('runs the DL template, keeps data across a restart, stops cleanly on SIGTERM and SIGINT', async () => {
    const dataDir = join(tmp.path, 'zk')
    const conf = join(tmp.path, 'zookeeper.conf')
    writeFileSync(conf, dlZookeeperConfTemplate(dataDir, '127.0.0.1:0'))
    const first = await serve(['--conf', conf])
    assert.equal(first.where, `dataDir ${dataDir}`)
    assert.doesNotMatch(first.proc.stderr(), /Warning/, 'the DL template is accepted quietly')
    const cs = `127.0.0.1:${first.port}`
    const created = await runCli(['zkshell', cs], {input: "create /messaging ''\ncreate /messaging/bookkeeper hello\n"})
    assert.equal(created.code, 0, created.stderr)
    first.proc.kill('SIGTERM')
    assert.deepEqual(await first.proc.exited, {code: 0, signal: null})

    // Same dataDir, same port (a flag wins over the file): the data is still there.
    const second = await serve(['--conf', conf, '--port', String(first.port)])
    const got = await runCli(['zkshell', cs, 'get', '/messaging/bookkeeper'])
    assert.equal(got.code, 0, got.stderr)
    assert.match(got.stdout, /\nhello\n$/)
    second.proc.kill('SIGINT')
    assert.deepEqual(await second.proc.exited, {code: 0, signal: null})
  })

  it('without a dataDir it serves from memory and says so', async () => {
    const s = await serve(['--port', '0', '--tick-time', '500'])
    assert.equal(s.where, 'in memory')
    assert.match(unwrap(s.proc.stderr()), /no dataDir: running in memory, nothing survives a restart/)
    const r = await runCli(['zkshell', `127.0.0.1:${s.port}`, 'ls', '/'])
    assert.match(r.stdout, /\n\[zookeeper\]\n$/)
    await s.proc.stop()
  })

  it('warns about unknown keys and fails clearly on invalid values', async () => {
    const warn = join(tmp.path, 'warn.cfg')
    writeFileSync(warn, 'clientPort=0\nfrobnicate=1\n')
    const s = await serve(['--conf', warn])
    assert.match(unwrap(s.proc.stderr()), /warn\.cfg:2: unknown key 'frobnicate' ignored/)
    await s.proc.stop()

    const bad = join(tmp.path, 'bad.cfg')
    writeFileSync(bad, 'tickTime=2000\nclientPort=twenty\n')
    const r = await runCli(['zookeeper', '--conf', bad])
    assert.equal(r.code, 2)
    assert.match(unwrap(r.stderr), /bad\.cfg:2: clientPort: expected an integer, got 'twenty'/)

    const missing = await runCli(['zookeeper', '--conf', join(tmp.path, 'nope.cfg')])
    assert.equal(missing.code, 2)
    assert.match(unwrap(missing.stderr), /cannot read ZooKeeper config .*nope\.cfg/)
  })
})
