/**
 * The seeds' tutorial end to end, run as a user runs it (the built CLI over `dlog local` on a free port;
 * `npm run build` first): `dlog tool create -r stream- -e 0-10`, `dlog tail` on all eleven streams,
 * console writers piping lines into several of them at once; every record arrives exactly once, in
 * order per stream, in the MultiReader's format; Ctrl-C ends the tail with 0. Then the tail's start
 * positions, -n, --json, a missing stream, and the console writer's ownership conflict; and the
 * record-level `dlog tool` commands (dump, count, readlac, truncate_stream, inspect) on those streams.
 * Commands find the sandbox through its state file (no -u), as the seeds write them.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {ZkLogMetadataStore} from '../../../src/engine/log/metadata/zk-log-metadata-store.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {type Proc, runCli, startCli} from '../../helpers/processes.js'
import {freePort} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'

/** Generous bounds: two cores shared with other test runs. */
const READY_MS = 90_000
const ARRIVE_MS = 90_000
const STREAMS = Array.from({length: 11}, (_, i) => `stream-${i}`)
const RECORDS_PER_WRITER = 40

interface Received {
  stream: string
  dlsn: [number, number, number]
  payload: string
}

const BLOCK_RE = /^Received record DLSN\{logSegmentSequenceNo=(\d+), entryId=(\d+), slotId=(\d+)\} from stream (\S+)\n"""\n(.*)\n"""\n/

/** Splits a tail's stdout into its header lines and record blocks; anything else fails the test. */
function parseTail(stdout: string): {header: string[]; records: Received[]} {
  const header: string[] = []
  const records: Received[] = []
  let rest = stdout
  while (rest.length > 0) {
    const m = BLOCK_RE.exec(rest)
    if (m) {
      records.push({stream: m[4] as string, dlsn: [Number(m[1]), Number(m[2]), Number(m[3])], payload: m[5] as string})
      rest = rest.slice(m[0].length)
      continue
    }
    const nl = rest.indexOf('\n')
    if (nl < 0) break // a partial last line: still being written
    const line = rest.slice(0, nl)
    assert.match(line, /^(Opening log stream \S+|Wait for records from \S+ starting from DLSN\{.*\}|Open reader to read records from stream \S+)$/, `unexpected tail output: ${line}`)
    header.push(line)
    rest = rest.slice(nl + 1)
  }
  return {header, records}
}

function compareDlsn(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

describe('dlog tail and dlog console-writer over a sandbox', () => {
  const tmp = makeTmpDir('dlog-tail-')
  const env = {...process.env, DLOG_STATE_DIR: join(tmp.path, 'state'), DLOG_URI: ''}
  const procs: Proc[] = []
  let sandbox: Proc
  let zkPort: number
  const dlog = (args: string[], opts: {input?: string} = {}) => runCli(args, {env, input: opts.input, timeoutMs: 120_000})
  const start = (args: string[]): Proc => {
    const p = startCli(args, {env})
    procs.push(p)
    return p
  }

  before(async () => {
    zkPort = await freePort()
    sandbox = start(['local', String(zkPort)])
    const early = sandbox.exited.then(() => {
      throw new Error(`dlog local exited before ready:\n${sandbox.output()}`)
    })
    await Promise.race([waitFor(() => sandbox.stdout().includes('└'), {timeoutMs: READY_MS, what: 'sandbox ready'}), early])
    const created = await dlog(['tool', 'create', '-r', 'stream-', '-e', '0-10', '-f'])
    assert.equal(created.code, 0, created.stderr)
  })

  after(async () => {
    for (const p of procs.reverse()) await p.stop(20_000)
    tmp.remove()
  })

  it('tails eleven streams while three console writers pipe records in: each once, in order, in the seeds\' format; Ctrl-C exits 0', async () => {
    const tail = start(['tail', STREAMS.join(',')])
    await waitFor(() => (tail.stdout().match(/^Open reader to read records from stream /gm)?.length ?? 0) === STREAMS.length, {
      timeoutMs: READY_MS,
      what: `eleven readers open:\n${tail.output()}`,
    })
    const {header} = parseTail(tail.stdout())
    assert.deepEqual(header.slice(0, STREAMS.length), STREAMS.map((s) => `Opening log stream ${s}`))
    for (const s of STREAMS) {
      assert.ok(header.includes(`Wait for records from ${s} starting from DLSN{logSegmentSequenceNo=1, entryId=0, slotId=0}`), s)
      assert.ok(tail.stderr().includes(`Log stream ${s} is empty.\n`), s)
    }

    const targets = ['stream-0', 'stream-3', 'stream-10']
    const writers = await Promise.all(
      targets.map((s) => dlog(['console-writer', s], {input: Array.from({length: RECORDS_PER_WRITER}, (_, i) => `${s}-record-${i + 1}`).join('\n') + '\n'})),
    )
    for (const w of writers) {
      assert.equal(w.code, 0, w.stderr)
      assert.match(w.stdout, /^Opening log stream stream-\d+\n$/)
    }

    const total = targets.length * RECORDS_PER_WRITER
    await waitFor(() => parseTail(tail.stdout()).records.length >= total, {timeoutMs: ARRIVE_MS, what: `${total} records in the tail`})
    const {records} = parseTail(tail.stdout())
    assert.equal(records.length, total, 'no record twice')
    for (const s of targets) {
      const mine = records.filter((r) => r.stream === s)
      assert.deepEqual(
        mine.map((r) => r.payload),
        Array.from({length: RECORDS_PER_WRITER}, (_, i) => `${s}-record-${i + 1}`),
      )
      for (let i = 1; i < mine.length; i++) assert.ok(compareDlsn((mine[i - 1] as Received).dlsn, (mine[i] as Received).dlsn) < 0, 'DLSNs increase')
      assert.deepEqual(mine[0]?.dlsn, [1, 0, 0])
    }

    // A second writer session on a stream appends after the first (a new segment), and the tail follows.
    const again = await dlog(['console-writer', '--verbose', 'stream-3'], {input: 'late-1\nlate-2\n'})
    assert.equal(again.code, 0, again.stderr)
    const dlsns = again.stdout.split('\n').filter((l) => l.startsWith('DLSN{'))
    assert.equal(dlsns.length, 2, again.stdout)
    await waitFor(() => parseTail(tail.stdout()).records.length >= total + 2, {timeoutMs: ARRIVE_MS, what: 'the late records'})
    const late = parseTail(tail.stdout()).records.slice(total)
    assert.deepEqual(
      late.map((r) => [r.stream, r.payload]),
      [
        ['stream-3', 'late-1'],
        ['stream-3', 'late-2'],
      ],
    )
    const [lssn, entryId, slotId] = late[0]?.dlsn ?? []
    assert.equal(dlsns[0], `DLSN{logSegmentSequenceNo=${lssn}, entryId=${entryId}, slotId=${slotId}}`)

    tail.kill('SIGINT')
    const {code} = await tail.exited
    assert.equal(code, 0, tail.output())
    assert.doesNotMatch(tail.stderr(), /Encountered error/)
  })

  it('a non-empty stream starts at its last record; -n stops; --from earliest and a DLSN; --json lines', async () => {
    const last = await dlog(['tail', '-n', '1', 'stream-0'])
    assert.equal(last.code, 0, last.stderr)
    const parsed = parseTail(last.stdout)
    assert.deepEqual(parsed.header, [
      'Opening log stream stream-0',
      `Wait for records from stream-0 starting from DLSN{logSegmentSequenceNo=1, entryId=${RECORDS_PER_WRITER - 1}, slotId=0}`,
      'Open reader to read records from stream stream-0',
    ])
    assert.deepEqual(
      parsed.records.map((r) => r.payload),
      [`stream-0-record-${RECORDS_PER_WRITER}`],
    )

    const fromDlsn = await dlog(['tail', '--from', '1,5,0', '-n', '2', 'stream-10'])
    assert.equal(fromDlsn.code, 0, fromDlsn.stderr)
    assert.deepEqual(
      parseTail(fromDlsn.stdout).records.map((r) => r.payload),
      ['stream-10-record-6', 'stream-10-record-7'],
    )

    const json = await dlog(['tail', '--from', 'earliest', '--json', '-n', '50', 'stream-0,stream-10'])
    assert.equal(json.code, 0, json.stderr)
    const lines = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(lines.length, 50)
    for (const s of ['stream-0', 'stream-10']) {
      const mine = lines.filter((l) => l.stream === s)
      mine.forEach((l, i) => {
        assert.equal(l.payload, `${s}-record-${i + 1}`)
        assert.equal(l.encoding, 'utf8')
        assert.equal(l.sequenceId, i)
        assert.equal(l.dlsn, `DLSN{logSegmentSequenceNo=1, entryId=${i}, slotId=0}`)
        assert.equal(typeof l.txid, 'number')
      })
    }
    assert.match(json.stderr, /Opening log stream stream-0/)

    const latest = start(['tail', '--from', 'latest', '--json', '-n', '1', 'stream-0'])
    await waitFor(() => latest.stderr().includes('Open reader to read records from stream stream-0'), {timeoutMs: READY_MS, what: 'latest reader'})
    const w = await dlog(['console-writer', 'stream-0'], {input: 'brand-new\n'})
    assert.equal(w.code, 0, w.stderr)
    const {code} = await latest.exited
    assert.equal(code, 0, latest.output())
    assert.equal((JSON.parse(latest.stdout()) as {payload: string}).payload, 'brand-new')
  })

  it('a stream that does not exist: the original message and exit 1, before anything is read', async () => {
    const r = await dlog(['tail', 'stream-1,no-such-stream'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /Log stream no-such-stream is not found\. Please create it first\./)
    assert.doesNotMatch(r.stdout, /Open reader/)
    const bad = await dlog(['tail', '--from', 'yesterday', 'stream-1'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /Invalid position : yesterday/)
  })

  it('console-writer: a second writer on an owned stream names the owner and exits 4; the first then ends cleanly at EOF', async () => {
    const first = start(['console-writer', '--verbose', 'stream-5'])
    first.child.stdin?.write('held-1\n')
    await waitFor(() => first.stdout().includes('DLSN{'), {timeoutMs: READY_MS, what: 'first writer acknowledged'})
    const second = await dlog(['console-writer', 'stream-5'], {input: 'never\n'})
    assert.equal(second.code, 4, second.stderr)
    assert.match(second.stderr.replace(/\s*\n\s*›\s*/g, ' '), /Stream stream-5 is owned by another writer: console-writer@\S+\/\d+/)
    first.child.stdin?.end('held-2\n')
    const {code} = await first.exited
    assert.equal(code, 0, first.output())
    const dump = await dlog(['tool', 'dump', '-s', 'stream-5'])
    assert.equal(dump.code, 0, dump.stderr)
    assert.deepEqual(
      [...dump.stdout.matchAll(/^Record \(txn = \d+, bytes = \d+, dlsn = .*\)\n\n(.*)$/gm)].map((m) => m[1]),
      ['held-1', 'held-2'],
    )
  })

  it('seq 1000 | console-writer: every line a record, txids increasing, exit 0', async () => {
    const input = Array.from({length: 1000}, (_, i) => String(i + 1)).join('\n') + '\n'
    const r = await dlog(['console-writer', 'stream-7'], {input})
    assert.equal(r.code, 0, r.stderr)
    const json = await dlog(['tool', 'dump', '-s', 'stream-7', '-l', '2000', '--json'])
    assert.equal(json.code, 0, json.stderr)
    const recs = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as {payload: string; txid: number})
    assert.deepEqual(
      recs.map((x) => x.payload),
      Array.from({length: 1000}, (_, i) => String(i + 1)),
    )
    for (let i = 1; i < recs.length; i++) assert.ok((recs[i] as {txid: number}).txid > (recs[i - 1] as {txid: number}).txid)
  })

  const records = (s: string, n: number) => Array.from({length: n}, (_, i) => `${s}-record-${i + 1}`)
  const write = async (stream: string, lines: string[]) => {
    const r = await dlog(['console-writer', stream], {input: lines.join('\n') + '\n'})
    assert.equal(r.code, 0, r.stderr)
  }

  it('tool dump: the original format, from a txid or a DLSN, -l, -x, stops at the last record; missing and empty streams', async () => {
    await dlog(['tool', 'create', '-r', 'dump-', '-e', '1-2', '-f'])
    await write('dump-1', records('dump-1', 12))
    const head = await dlog(['tool', 'dump', '-s', 'dump-1', '-l', '2'])
    assert.equal(head.code, 0, head.stderr)
    const rule = '-'.repeat(48)
    const lines = head.stdout.split('\n')
    assert.equal(lines[0], 'Last DLSN : DLSN{logSegmentSequenceNo=1, entryId=11, slotId=0}')
    assert.equal(lines[1], 'Dump records for dump-1 (from = DLSN{logSegmentSequenceNo=1, entryId=0, slotId=0}, dump count = 2, total records = 12)')
    assert.equal(lines[2], rule)
    assert.match(lines[3] as string, /^Record \(txn = \d+, bytes = 15, dlsn = DLSN\{logSegmentSequenceNo=1, entryId=0, slotId=0\}, sequence id = 0\)$/)
    assert.match(lines[7] as string, /^Record \(txn = \d+, bytes = 15, dlsn = DLSN\{logSegmentSequenceNo=1, entryId=1, slotId=0\}, sequence id = 1\)$/)
    assert.deepEqual(lines.slice(4), ['', 'dump-1-record-1', rule, lines[7], '', 'dump-1-record-2', rule, ''])

    const json = await dlog(['tool', 'dump', '-s', 'dump-1', '--json'])
    const all = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as {txid: number; payload: string})
    assert.deepEqual(all.map((r) => r.payload), records('dump-1', 12))
    const byTxid = await dlog(['tool', 'dump', '-s', 'dump-1', '--from', String(all[4]?.txid), '-l', '1', '-x'])
    assert.match(byTxid.stdout, new RegExp(`\\(from = ${all[4]?.txid}, dump count = 1, total records = 12\\)`))
    assert.ok(byTxid.stdout.includes(`\n${Buffer.from('dump-1-record-5').toString('hex')}\n`), byTxid.stdout)
    const legacy = await dlog(['tool', 'dump', '-s', 'dump-1', '-o', String(all[4]?.txid), '-l', '1', '-sp'])
    assert.doesNotMatch(legacy.stdout, /dump-1-record/)
    assert.match(legacy.stdout, /sequence id = 4\)/)
    // From near the end with a limit beyond it: ends at the last record instead of waiting for more.
    const tailEnd = await dlog(['tool', 'dump', '-s', 'dump-1', '-n', '1', '-e', '10'])
    assert.equal(tailEnd.code, 0, tailEnd.stderr)
    assert.deepEqual([...tailEnd.stdout.matchAll(/^dump-1-record-\d+$/gm)].map((m) => m[0]), ['dump-1-record-11', 'dump-1-record-12'])

    const empty = await dlog(['tool', 'dump', '-s', 'dump-2'])
    assert.equal(empty.code, 0, empty.stderr)
    assert.match(empty.stdout, /\(from = .*, dump count = 100, total records = 0\)\nNo records\.\n$/)
    const missing = await dlog(['tool', 'dump', '-s', 'dump-9'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /No stream found to dump records\./)
  })

  it('tool count: all records, from a DLSN, between two DLSNs (first and last record printed)', async () => {
    await dlog(['tool', 'create', '-r', 'count-', '-e', '1', '-f'])
    await write('count-1', records('count-1', 30))
    const all = await dlog(['tool', 'count', '-s', 'count-1'])
    assert.equal(all.stdout, 'total is 30 records.\n', all.stderr)
    const from = await dlog(['tool', 'count', '-s', 'count-1', '1,10,0'])
    assert.equal(from.stdout, 'total is 20 records.\n', from.stderr)
    const between = await dlog(['tool', 'count', '-s', 'count-1', 'DLSN{logSegmentSequenceNo=1, entryId=10, slotId=0}', '1,19,0'])
    assert.equal(between.code, 0, between.stderr)
    const out = between.stdout.split('\n')
    assert.match(out[0] as string, /^first record : LogRecordWithDLSN\{dlsn=DLSN\{logSegmentSequenceNo=1, entryId=10, slotId=0\}, txid=\d+, position=11, isControl=false, isEndOfStream=false\}$/)
    assert.match(out[1] as string, /^last record : LogRecordWithDLSN\{dlsn=DLSN\{logSegmentSequenceNo=1, entryId=19, slotId=0\}/)
    assert.equal(out[2], 'total is 10 records.')
    const bad = await dlog(['tool', 'count', '-s', 'count-1', '1,x,0'])
    assert.equal(bad.code, 2)
  })

  it('tool truncate_stream: prompt with the record count (closed stdin declines), -f truncates; readers start after it; readlac', async () => {
    await dlog(['tool', 'create', '-r', 'trunc-', '-e', '1', '-f'])
    await write('trunc-1', records('trunc-1', 20))
    const declined = await dlog(['tool', 'truncate_stream', '-s', 'trunc-1', '-dlsn', '1,5,0'])
    assert.equal(declined.code, 3)
    assert.match(declined.stdout, /^Do you want to truncate trunc-1 at dlsn DLSN\{logSegmentSequenceNo=1, entryId=5, slotId=0\} \(5 records\)\? \(Y or N\) /)
    const done = await dlog(['tool', 'truncate_stream', '-s', 'trunc-1', '--dlsn', '1,5,0', '-f'])
    assert.equal(done.code, 0, done.stderr)
    const dump = await dlog(['tool', 'dump', '-s', 'trunc-1', '-l', '1', '--json'])
    assert.equal((JSON.parse(dump.stdout) as {payload: string}).payload, 'trunc-1-record-6')
    const tail = await dlog(['tail', '--from', 'earliest', '-n', '1', 'trunc-1'])
    assert.equal(parseTail(tail.stdout).records[0]?.payload, 'trunc-1-record-6')

    const lac = await dlog(['tool', 'readlac', '-s', 'trunc-1'])
    assert.equal(lac.code, 0, lac.stderr)
    const n = Number(/^LastAddConfirmed: (-?\d+)\n$/.exec(lac.stdout)?.[1])
    assert.ok(n >= 19, lac.stdout)
    const show = await dlog(['tool', 'show', '-s', 'trunc-1', '--json'])
    const ledgerId = (JSON.parse(show.stdout) as {segments: {ledgerId: number}[]}).segments[0]?.ledgerId
    const byLedger = await dlog(['tool', 'readlac', '-l', String(ledgerId)])
    assert.equal(byLedger.stdout, lac.stdout)
    const none = await dlog(['tool', 'readlac'])
    assert.equal(none.code, 2)
  })

  it('tool inspect: no candidates in a healthy namespace; a gap in segment sequence numbers is reported', async () => {
    await dlog(['tool', 'create', '-r', 'gap-', '-e', '1', '-f'])
    for (const part of ['a', 'b', 'c']) await write('gap-1', [`gap-${part}`])
    const healthy = await dlog(['tool', 'inspect', '-ft', 'gap-', '-f'])
    assert.equal(healthy.code, 0, healthy.stderr)
    assert.equal(healthy.stdout, 'Streams : [gap-1]\nThread 0 finished.\nCorrupted Candidates : \n')
    const declined = await dlog(['tool', 'inspect', '-ft', 'gap-'])
    assert.equal(declined.code, 3)
    assert.match(declined.stdout, /Are you sure you want to inspect 1 streams \(Y or N\) /)

    const zk = await ZKClient.connect({connectString: `127.0.0.1:${zkPort}`})
    try {
      const store = new ZkLogMetadataStore(zk, '/messaging/distributedlog')
      const segments = await store.getLogSegments('gap-1')
      assert.equal(segments.length, 3)
      await zk.delete(`${store.paths('gap-1').ledgers}/${segments[1]?.znodeName}`, -1)
    } finally {
      await zk.close()
    }
    const gap = await dlog(['tool', 'inspect', '-ft', 'gap-', '-f'])
    assert.equal(gap.code, 0, gap.stderr)
    assert.match(gap.stdout, /Corrupted Candidates : \ngap-1 : \n\n\t - \[LogSegmentId:\d+, .*\n\t - \[LogSegmentId:\d+, .*\n\n$/)
    const names = await dlog(['tool', 'inspect', '-pso', '-f'])
    assert.match(names.stdout, /Corrupted Candidates : \n\[gap-1\]\n$/)
  })
})

describe('dlog local --data-dir: streams and records survive a restart', () => {
  const tmp = makeTmpDir('dlog-tail-restart-')
  const env = {...process.env, DLOG_STATE_DIR: join(tmp.path, 'state'), DLOG_URI: ''}
  const procs: Proc[] = []
  const dlog = (args: string[], opts: {input?: string} = {}) => runCli(args, {env, input: opts.input, timeoutMs: 120_000})
  after(async () => {
    for (const p of procs.reverse()) await p.stop(20_000)
    tmp.remove()
  })

  async function sandbox(port: number): Promise<Proc> {
    const p = startCli(['local', String(port), '--data-dir', join(tmp.path, 'data')], {env})
    procs.push(p)
    const early = p.exited.then(() => {
      throw new Error(`dlog local exited before ready:\n${p.output()}`)
    })
    await Promise.race([waitFor(() => p.stdout().includes('└'), {timeoutMs: READY_MS, what: 'sandbox ready'}), early])
    return p
  }

  it('writes, Ctrl-C, restart on the same directory, then tail --from earliest reads every record once, in order', async () => {
    const port = await freePort()
    const first = await sandbox(port)
    assert.equal((await dlog(['tool', 'create', '-r', 'keep-', '-e', '1-2', '-f'])).code, 0)
    const lines = (s: string) => Array.from({length: 25}, (_, i) => `${s}-${i + 1}`)
    for (const s of ['keep-1', 'keep-2']) {
      const w = await dlog(['console-writer', s], {input: lines(s).join('\n') + '\n'})
      assert.equal(w.code, 0, w.stderr)
    }
    first.kill('SIGINT')
    assert.equal((await first.exited).code, 0, first.output())

    await sandbox(port)
    const more = await dlog(['console-writer', 'keep-1'], {input: 'after-restart\n'})
    assert.equal(more.code, 0, more.stderr)
    const r = await dlog(['tail', '--from', 'earliest', '-n', '51', 'keep-1,keep-2'])
    assert.equal(r.code, 0, r.stderr)
    const {records} = parseTail(r.stdout)
    assert.deepEqual(
      records.filter((x) => x.stream === 'keep-1').map((x) => x.payload),
      [...lines('keep-1'), 'after-restart'],
    )
    assert.deepEqual(
      records.filter((x) => x.stream === 'keep-2').map((x) => x.payload),
      lines('keep-2'),
    )
  })
})
