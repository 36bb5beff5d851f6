/**
 * `dlog daemon start|stop` as the cluster-setup guide (seed 002) uses it, with the built CLI: a
 * ZooKeeper from a zookeeper.conf and three bookies from bookie-N.conf with SERVICE_PORT, pid and .out
 * files named as dlog-daemon.sh names them, double starts refused, graceful stops with the original
 * messages, and --force for a service that ignores SIGTERM.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {isPidAlive} from '../../../src/engine/cluster/pids.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {type Proc, runCli, startProcess} from '../../helpers/processes.js'
import {freePort} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'

const ROOT = '/messaging/bookkeeper/ledgers'
const CLI_MS = 90_000

/** Zombies (exited, not yet reaped by whoever inherited them) count as gone. */
const alive = isPidAlive

function pidIn(file: string): number {
  return Number(readFileSync(file, 'utf8').trim())
}

describe('dlog daemon', () => {
  const tmp = makeTmpDir('dlog-daemon-')
  const pidDir = join(tmp.path, 'pids')
  const logDir = join(tmp.path, 'logs')
  const env = {DLOG_PID_DIR: pidDir, DLOG_LOG_DIR: logDir, SERVICE_PORT: ''}
  const started: number[] = []
  const procs: Proc[] = []
  let zkPort = 0
  const bookiePorts: number[] = []

  before(async () => {
    zkPort = await freePort()
    writeFileSync(
      join(tmp.path, 'zookeeper.conf'),
      ['tickTime=2000', `dataDir=${join(tmp.path, 'data', 'zookeeper')}`, `clientPort=${zkPort}`, '4lw.commands.whitelist=*', ''].join('\n'),
    )
    for (let i = 1; i <= 3; i++) {
      const port = await freePort()
      bookiePorts.push(port)
      writeFileSync(
        join(tmp.path, `bookie-${i}.conf`),
        [
          `zkServers=127.0.0.1:${zkPort}`,
          `zkLedgersRootPath=${ROOT}`,
          `bookiePort=${port}`,
          `codahaleStatsHttpPort=${await freePort()}`,
          `journalDirectory=${join(tmp.path, 'data', `bk-${i}`, 'journal')}`,
          `ledgerDirectories=${join(tmp.path, 'data', `bk-${i}`, 'ledgers')}`,
          `indexDirectories=${join(tmp.path, 'data', `bk-${i}`, 'ledgers')}`,
          '',
        ].join('\n'),
      )
    }
  })
  after(async () => {
    for (const p of procs) await p.stop()
    // Detached services a failing test left behind: end them by the pids this test started.
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL')
    tmp.remove()
  })

  const daemon = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(['daemon', ...args], {env: {...env, ...extra}, timeoutMs: CLI_MS})

  it('starts ZooKeeper from its conf with a pid file, and refuses a second start', async () => {
    const r = await daemon(['start', 'zookeeper', join(tmp.path, 'zookeeper.conf')])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const pidFile = join(pidDir, 'dlog-zookeeper-0.pid')
    const out = join(logDir, `dlog-zookeeper-${hostname()}-0.out`)
    assert.ok(r.stdout.startsWith(`doing start zookeeper ...\nstarting zookeeper, logging to ${out}\n`), r.stdout)
    const pid = pidIn(pidFile)
    started.push(pid)
    assert.ok(alive(pid))
    assert.match(readFileSync(out, 'utf8'), new RegExp(`serving on 127\\.0\\.0\\.1:${zkPort}`))

    const again = await daemon(['start', 'zookeeper', join(tmp.path, 'zookeeper.conf')])
    assert.equal(again.code, 1)
    assert.equal(again.stdout, `doing start zookeeper ...\nzookeeper running as process ${pid}.  Stop it first.\n`)
    assert.equal(pidIn(pidFile), pid)
  })

  it('formats the metadata and starts three bookies by SERVICE_PORT; a second start of one is refused', async () => {
    const zk = await ZKClient.connect({connectString: `127.0.0.1:${zkPort}`})
    try {
      // As the guide does: zkshell creates the parents, metaformat does not.
      for (const path of ['/messaging', '/messaging/bookkeeper', ROOT]) {
        const r = await runCli(['zkshell', `127.0.0.1:${zkPort}`, 'create', path, ''], {timeoutMs: CLI_MS})
        assert.equal(r.code, 0, r.stdout + r.stderr)
        assert.match(r.stdout + r.stderr, new RegExp(`Created ${path}`))
      }
      const fmt = await runCli(['bkshell', 'metaformat'], {env: {BOOKIE_CONF: join(tmp.path, 'bookie-1.conf')}, input: 'Y\n', timeoutMs: CLI_MS})
      assert.equal(fmt.code, 0, fmt.stdout + fmt.stderr)
      for (let i = 1; i <= 3; i++) {
        const port = bookiePorts[i - 1] as number
        const r = await daemon(['start', 'bookie', '--conf', join(tmp.path, `bookie-${i}.conf`)], {SERVICE_PORT: String(port)})
        assert.equal(r.code, 0, r.stdout + r.stderr)
        assert.match(r.stdout, /^doing start bookie \.\.\.\nstarting bookie, logging to /)
        started.push(pidIn(join(pidDir, `dlog-bookie-${port}.pid`)))
        assert.ok(existsSync(join(logDir, `dlog-bookie-${hostname()}-${port}.out`)))
      }
      const available = (await zk.getChildren(`${ROOT}/available`)).filter((c) => c !== 'readonly').sort()
      assert.deepEqual(available, bookiePorts.map((p) => `127.0.0.1:${p}`).sort())

      const port1 = bookiePorts[0] as number
      const again = await daemon(['start', 'bookie', '--conf', join(tmp.path, 'bookie-1.conf')], {SERVICE_PORT: String(port1)})
      assert.equal(again.code, 1)
      assert.match(again.stdout, /bookie running as process \d+\. {2}Stop it first\./)
    } finally {
      await zk.close()
    }
  })

  it('binds a namespace to the cluster and creates 11 streams in it, as the guide does', async () => {
    const uri = `distributedlog://127.0.0.1:${zkPort}/messaging/distributedlog/mynamespace`
    const zks = `127.0.0.1:${zkPort}`
    const bind = await runCli(
      ['admin', 'bind', '-dlzr', zks, '-dlzw', zks, '-s', zks, '-bkzr', zks, '-l', ROOT, '-i', 'false', '-r', 'true', '-c', uri],
      {timeoutMs: CLI_MS},
    )
    assert.equal(bind.code, 0, bind.stdout + bind.stderr)
    assert.match(bind.stdout, new RegExp(`No bookkeeper is bound to ${uri}\\n`))
    assert.match(bind.stdout, new RegExp(`Created binding on ${uri}\\.`))
    const create = await runCli(['tool', 'create', '-u', uri, '-r', 'stream-', '-e', '0-10'], {input: 'Y\n', timeoutMs: CLI_MS})
    assert.equal(create.code, 0, create.stdout + create.stderr)
    const list = await runCli(['tool', 'list', '-u', uri], {timeoutMs: CLI_MS})
    assert.equal(list.code, 0, list.stdout + list.stderr)
    assert.equal(list.stdout.split('\n').filter((l) => /^stream-\d+$/.test(l)).length, 11)
  })

  it('stops a bookie gracefully with the original messages and unregisters it', async () => {
    const port = bookiePorts[0] as number
    const pidFile = join(pidDir, `dlog-bookie-${port}.pid`)
    const pid = pidIn(pidFile)
    const r = await daemon(['stop', 'bookie'], {SERVICE_PORT: String(port)})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^doing stop bookie \.\.\.\nstopping bookie\n(Shutdown is in progress\.\.\. Please wait\.\.\.\n)+Shutdown completed\.\n$/)
    assert.equal(alive(pid), false)
    assert.equal(existsSync(pidFile), false)
    const out = readFileSync(join(logDir, `dlog-bookie-${hostname()}-${port}.out`), 'utf8')
    assert.match(out, /Shutdown completed\./, 'the bookie itself shut down cleanly')
    const zk = await ZKClient.connect({connectString: `127.0.0.1:${zkPort}`})
    try {
      assert.equal((await zk.getChildren(`${ROOT}/available`)).includes(`127.0.0.1:${port}`), false)
    } finally {
      await zk.close()
    }
    const none = await daemon(['stop', 'bookie'], {SERVICE_PORT: String(port)})
    assert.equal(none.code, 0)
    assert.equal(none.stdout, 'doing stop bookie ...\nno bookie to stop\n')
  })

  it('restarts the stopped bookie (its cookie matches) and rotates its .out', async () => {
    const port = bookiePorts[0] as number
    const r = await daemon(['start', 'bookie', '--conf', join(tmp.path, 'bookie-1.conf')], {SERVICE_PORT: String(port)})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    started.push(pidIn(join(pidDir, `dlog-bookie-${port}.pid`)))
    assert.ok(existsSync(join(logDir, `dlog-bookie-${hostname()}-${port}.out.1`)))
  })

  it('stops every bookie and ZooKeeper', async () => {
    for (const port of bookiePorts) {
      const r = await daemon(['stop', 'bookie'], {SERVICE_PORT: String(port)})
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(r.stdout, /Shutdown completed\.\n$/)
    }
    const r = await daemon(['stop', 'zookeeper'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /Shutdown completed\.\n$/)
    for (const pid of started) assert.equal(alive(pid), false, `pid ${pid} still alive`)
  })

  it('a service that ignores SIGTERM: a warning and exit 1, then --force (or -force) kills it', async () => {
    const stubborn = startProcess(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('up')"])
    procs.push(stubborn)
    await waitFor(() => stubborn.stdout().includes('up'), {timeoutMs: 30_000})
    writeFileSync(join(pidDir, 'dlog-bookie-99.pid'), `${stubborn.pid}\n`)
    const soft = await daemon(['stop', 'bookie'], {SERVICE_PORT: '99', DLOG_STOP_TIMEOUT: '1'})
    assert.equal(soft.code, 1)
    assert.match(soft.stdout, /WARNNING : bookie is not stopped completely\.\n$/)
    assert.ok(alive(stubborn.pid))
    const hard = await daemon(['stop', 'bookie', '-force'], {SERVICE_PORT: '99', DLOG_STOP_TIMEOUT: '1'})
    assert.equal(hard.code, 0, hard.stdout + hard.stderr)
    assert.match(hard.stdout, /forcefully stopping bookie\nSuccessfully stopped the process\n$/)
    assert.notEqual((await stubborn.exited).signal, null)
  })

  it('writeproxy is refused with a clear message; an unknown service is a usage error', async () => {
    const wp = await daemon(['start', 'writeproxy'])
    assert.notEqual(wp.code, 0)
    assert.match(wp.stderr.replace(/\s*\n\s*›\s*/g, ' '), /write proxy \(writeproxy\) is not available/)
    const bad = await daemon(['start', 'nosuch'])
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /nosuch/)
  })
})
