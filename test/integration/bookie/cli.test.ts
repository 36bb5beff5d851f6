/**
 * The bookie as operators run it: `dlog bkshell metaformat/bookieformat/listbookies/bookieinfo` and
 * `dlog bookie --conf` child processes (built CLI) against a real ZooKeeper-protocol server, driven
 * over the bookie wire protocol.
 */
import assert from 'node:assert/strict'
import {rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {BookieWireClient} from '../../../src/engine/net/bookie-wire-client.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {encodeEntry} from '../../../src/engine/protocol/bookie/entry.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {type Proc, runCli, startCli} from '../../helpers/processes.js'
import {freePort, type ZKTarget} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {startZooKeeper} from './zk.js'

const ROOT = '/messaging/bookkeeper/ledgers'
const KEY = Buffer.from('digest-of-the-password')

function entry(ledgerId: number, entryId: number, payload: string, lac = entryId - 1): Buffer {
  return encodeEntry({ledgerId, entryId, lac, length: 0, payload: Buffer.from(payload)})
}

/** oclif wraps error text to the terminal width behind ' ›   ' prefixes: undo that for matching. */
function flat(stderr: string): string {
  return stderr.replace(/\s*\n\s*›\s*/g, ' ')
}

interface RunningBookie {
  proc: Proc
  bookieId: string
  port: number
  statsPort: number
}

describe('bookie > CLI processes', () => {
  let zkServer: ZKTarget
  let zk: ZKClient
  const tmp = makeTmpDir('dlog-bookie-cli-')
  const procs: Proc[] = []
  const clients: BookieWireClient[] = []
  const confs: Record<string, string> = {}

  before(async () => {
    zkServer = await startZooKeeper()
    zk = await ZKClient.connect({connectString: zkServer.connectString})
    for (const name of ['bookie-1', 'bookie-2']) {
      const port = await freePort()
      confs[name] = join(tmp.path, `${name}.conf`)
      writeConf(name, port)
    }
  })
  after(async () => {
    for (const c of clients) await c.close()
    for (const p of procs) await p.stop()
    await zk?.close()
    await zkServer?.close()
    tmp.remove()
  })

  function writeConf(name: string, port: number, journal = `${name}/journal`): void {
    writeFileSync(
      confs[name]!,
      [
        `zkServers=${zkServer.connectString}`,
        `zkLedgersRootPath=${ROOT}`,
        `bookiePort=${port}`,
        'codahaleStatsHttpPort=0',
        `journalDirectory=${join(tmp.path, journal)}`,
        `ledgerDirectories=${join(tmp.path, name, 'ledgers')}`,
        `indexDirectories=${join(tmp.path, name, 'ledgers')}`,
        'zkTimeout=4000',
        'flushInterval=1000',
        'ledgerManagerType=hierarchical',
        '',
      ].join('\n'),
    )
  }

  async function startBookie(name: string, extra: string[] = []): Promise<RunningBookie> {
    const proc = startCli(['bookie', '--conf', confs[name]!, ...extra])
    procs.push(proc)
    const m = await waitFor(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`bookie exited: ${proc.output()}`)
        return /Bookie (\S+):(\d+) is running \(registered at (\S+), stats on http:\/\/[^:]+:(\d+)\)/.exec(proc.stdout())
      },
      {timeoutMs: 60_000, what: `${name} running`},
    )
    return {proc, bookieId: `${m[1]}:${m[2]}`, port: Number(m[2]), statsPort: Number(m[4])}
  }

  async function client(port: number): Promise<BookieWireClient> {
    const c = await BookieWireClient.connect({host: '127.0.0.1', port})
    clients.push(c)
    return c
  }

  it('metaformat: declines on closed stdin, formats on Y, re-formats with -f', async () => {
    await zk.mkdirp(ROOT)
    const env = {BOOKIE_CONF: confs['bookie-1']!}
    const declined = await runCli(['bkshell', 'metaformat'], {env})
    assert.equal(declined.code, 3, declined.stderr)
    assert.equal(declined.stdout, 'Are you sure to format bookkeeper metadata ? (Y or N) \n')
    assert.deepEqual(await zk.getChildren(ROOT), [], 'nothing written when declined')
    const yes = await runCli(['bkshell', 'metaformat'], {env, input: 'Y\n'})
    assert.equal(yes.code, 0, yes.stderr)
    assert.match(yes.stdout, /^Are you sure to format bookkeeper metadata \? \(Y or N\) \nFormatted bookkeeper metadata at \/messaging\/bookkeeper\/ledgers/)
    const id1 = (await zk.getData(`${ROOT}/INSTANCEID`)).data?.toString()
    const noPrompt = await runCli(['bkshell', 'metaformat', '-n'], {env})
    assert.equal(noPrompt.code, 1)
    assert.match(flat(noPrompt.stderr), /already holds bookkeeper metadata; not formatting it without --force/)
    const forced = await runCli(['bkshell', 'metaformat', '--conf', confs['bookie-1']!, '-f'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.doesNotMatch(forced.stdout, /Are you sure/)
    assert.notEqual((await zk.getData(`${ROOT}/INSTANCEID`)).data?.toString(), id1, 'a new instance id')
    assert.deepEqual((await zk.getChildren(ROOT)).sort(), ['INSTANCEID', 'LAYOUT', 'available', 'cookies', 'idgen'])
  })

  it('bookieformat prepares the directories', async () => {
    for (const name of ['bookie-1', 'bookie-2']) {
      const r = await runCli(['bkshell', 'bookieformat'], {env: {BOOKIE_CONF: confs[name]!}})
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^Formatted bookie 127\.0\.0\.1:\d+: wiped /)
    }
  })

  it('serves add, read, long-poll, LAC and fence over the wire, registered in available/', async () => {
    const b = await startBookie('bookie-1')
    assert.deepEqual((await zk.getChildren(`${ROOT}/available`)).sort(), [b.bookieId, 'readonly'].sort())
    const c = await client(b.port)
    const acks = await Promise.all(Array.from({length: 100}, (_, i) => c.addEntry(entry(1, i, `entry-${i}`), KEY)))
    assert.deepEqual(acks.map((a) => a.entryId), Array.from({length: 100}, (_, i) => i))
    assert.deepEqual(await c.readEntry(1, 42), entry(1, 42, 'entry-42'))
    await assert.rejects(c.readEntry(1, 100), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.NO_ENTRY)
    assert.equal(await c.readLac(1), 98)
    // A long poll for entry 100 parks until an add confirms it (entry 101 carries lac 100).
    const tail = c.longPollRead(1, 100, 10_000)
    await c.addEntry(entry(1, 100, 'entry-100'), KEY)
    await c.addEntry(entry(1, 101, 'entry-101'), KEY)
    const got = await tail
    assert.equal(got.lac, 100)
    assert.deepEqual(got.entry, entry(1, 100, 'entry-100'))
    const timedOut = await c.longPollRead(1, 500, 200)
    assert.deepEqual(timedOut, {lac: 100})
    // Fence: returns the LAC; later adds are refused, recovery adds accepted.
    assert.equal(await c.fence(1, KEY), 100)
    await assert.rejects(c.addEntry(entry(1, 102, 'late'), KEY), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.FENCED)
    await c.addEntry(entry(1, 102, 'recovered'), KEY, {recovery: true})
    await assert.rejects(c.fence(1, Buffer.from('other')), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.UNAUTHORIZED)
    // Fencing read on another ledger.
    await c.addEntry(entry(2, 0, 'x'), KEY)
    assert.deepEqual(await c.readEntry(2, 0, {fence: true, masterKey: KEY}), entry(2, 0, 'x'))
    await assert.rejects(c.addEntry(entry(2, 1, 'y'), KEY), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.FENCED)
    // A corrupted entry is refused by its checksum.
    const bad = entry(3, 0, 'payload')
    bad.writeUInt8(bad[bad.length - 1]! ^ 1, bad.length - 1)
    await assert.rejects(c.addEntry(bad, KEY), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.BAD_CHECKSUM)
  })

  it('a malformed frame closes only its own connection', async () => {
    const port = Number((await zk.getChildren(`${ROOT}/available`)).find((c) => c !== 'readonly')!.split(':')[1])
    const good = await client(port)
    const bad = connect({host: '127.0.0.1', port})
    const badClosed = new Promise<void>((resolve) => bad.on('close', () => resolve()))
    bad.on('error', () => {})
    bad.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]))
    await badClosed
    const garbage = await client(port)
    garbage.writeRaw(Buffer.from([0, 0, 0, 9, 1, 4, 0, 0, 0, 0, 0, 1, 0xee]))
    await garbage.closed()
    await good.addEntry(entry(5, 0, 'still served'), KEY)
    assert.deepEqual(await good.readEntry(5, 0), entry(5, 0, 'still served'))
  })

  it('ping, metrics, listbookies and bookieinfo', async () => {
    const b1 = procs[0]!
    const statsPort = Number(/stats on http:\/\/[^:]+:(\d+)/.exec(b1.stdout())![1])
    assert.equal(await (await fetch(`http://127.0.0.1:${statsPort}/ping`)).text(), 'pong\n')
    const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text()
    const count = Number(/^bookie_server_add_entry_count (\d+)$/m.exec(metrics)?.[1])
    assert.ok(count >= 100, `adds counted: ${count}`)
    assert.match(metrics, /^bookie_journal_fsync_latency_ms\{quantile="0.99"\} [\d.]+$/m)
    assert.match(metrics, /^bookie_journal_fsyncs \d+$/m)
    assert.match(metrics, /^bookie_server_add_entry_latency_ms\{quantile="0.5"\} [\d.]+$/m)
    const env = {BOOKIE_CONF: confs['bookie-1']!}
    const list = await runCli(['bkshell', 'listbookies', '-a'], {env})
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /│ Bookie\s+│ State\s+│/)
    assert.match(list.stdout, /│ 127\.0\.0\.1:\d+ │ read-write │/)
    const usage = await runCli(['bkshell', 'listbookies'], {env})
    assert.equal(usage.code, 2)
    assert.match(flat(usage.stderr), /one of -rw, -ro or -a is required/)
    const info = await runCli(['bkshell', 'bookieinfo'], {env})
    assert.equal(info.code, 0, info.stderr)
    assert.match(info.stdout, /│ 127\.0\.0\.1:\d+ │ read-write │ [\d.]+ \w+ │ [\d.]+ \w+ │ [\d.]+% │/)
  })

  it('--readonly registers under available/readonly and refuses adds', async () => {
    const b = await startBookie('bookie-2', ['--readonly'])
    await waitFor(async () => (await zk.getChildren(`${ROOT}/available/readonly`)).includes(b.bookieId))
    assert.ok(!(await zk.getChildren(`${ROOT}/available`)).includes(b.bookieId))
    const c = await client(b.port)
    await assert.rejects(c.addEntry(entry(9, 0, 'x'), KEY), (e: unknown) => e instanceof BookieError && e.code === BookieStatus.READ_ONLY)
    assert.equal((await c.info()).readOnly, true)
    const ro = await runCli(['bkshell', 'listbookies', '-ro'], {env: {BOOKIE_CONF: confs['bookie-1']!}})
    assert.match(ro.stdout, new RegExp(`│ ${b.bookieId.replace(/\./g, '\\.')} │ read-only │`))
    assert.doesNotMatch(ro.stdout, /read-write/)
  })

  it('SIGTERM stops a bookie with the shutdown messages; a changed journal dir or a lost VERSION file refuses start', async () => {
    const b1 = procs[0]!
    const port = Number(/Bookie \S+:(\d+) is running/.exec(b1.stdout())![1])
    b1.kill('SIGTERM')
    const {code} = await b1.exited
    assert.equal(code, 0)
    assert.match(b1.stdout(), /Shutdown is in progress\.\.\. Please wait\.\.\.\nShutdown completed\.\n$/)
    await waitFor(async () => !(await zk.getChildren(`${ROOT}/available`)).includes(`127.0.0.1:${port}`), {what: 'unregistered'})
    // Same conf: starts again and still has the data.
    const again = await startBookie('bookie-1')
    const c = await client(again.port)
    assert.deepEqual(await c.readEntry(1, 42), entry(1, 42, 'entry-42'))
    await again.proc.stop()
    // The journal directory moved: refused with what differs.
    writeConf('bookie-1', port, 'bookie-1/journal-moved')
    const refused = await runCli(['bookie', '--conf', confs['bookie-1']!])
    assert.notEqual(refused.code, 0)
    const why = flat(refused.stderr)
    assert.match(why, /cookie mismatch for bookie 127\.0\.0\.1:\d+; refusing to start/)
    assert.match(why, /journalDirs: the cookie in ZooKeeper \(\/messaging\/bookkeeper\/ledgers\/cookies\/127\.0\.0\.1:\d+\) has '[^']*bookie-1\/journal', this bookie\.conf has '[^']*bookie-1\/journal-moved'/)
    assert.match(why, /journal-moved\/current\/VERSION is missing/)
    // Back to the right journal dir, but a ledger dir lost its VERSION file: refused too.
    writeConf('bookie-1', port)
    rmSync(join(tmp.path, 'bookie-1', 'ledgers', 'current', 'VERSION'))
    const lost = await runCli(['bookie', '--conf', confs['bookie-1']!])
    assert.notEqual(lost.code, 0)
    assert.match(flat(lost.stderr), /ledgers\/current\/VERSION is missing: the directory was wiped or replaced/)
  })
})
