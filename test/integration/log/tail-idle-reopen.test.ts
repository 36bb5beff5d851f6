/**
 * `dlog tail`'s idle reopen, for real: a reader that makes no progress while the log holds records beyond
 * it fails with IdleReaderError (log-reader.ts idle detection) and the tail reopens a reader where it
 * stood, printing why on stderr. The idle condition is made at the bookies: three real bookies (our
 * ZooKeeper server, TCP on port 0) whose cores hold every read while a test gate is shut, so writes go on
 * and a reader cannot read them. The tail (the built CLI, `npm run build` first) runs with the hidden
 * `--idle-error-ms` shortened from 60 s so the test takes seconds. Asserted on the data: every record
 * written is printed exactly once, in order, across the reopen, at the position the message names; a
 * reader that stays idle is reopened at most three times in a row, then the tail reports it and exits 1
 * (it does not hang on readers whose reads never return).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {openRealBookieCore} from '../../../src/engine/bookie/server/core-metrics.js'
import type {OpenBookieCore} from '../../../src/engine/bookie/server/bookie-service.js'
import {type Proc, runCli, startCli} from '../../helpers/processes.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'

/** Generous bounds: two cores shared with other test runs. */
const STEP_MS = 60_000
const IDLE_ERROR_MS = 1500
const STREAM = 'idle-1'
/** Reopens in a row the tail allows (tail.ts IDLE_REOPENS_MAX) before it gives up on a reader. */
const IDLE_REOPENS_MAX = 3

const BLOCK_RE = /^Received record (DLSN\{logSegmentSequenceNo=\d+, entryId=\d+, slotId=\d+\}) from stream (\S+)\n"""\n(.*)\n"""$/gm

/** The record blocks a tail printed, in order. */
function printed(stdout: string): {dlsn: string; stream: string; payload: string}[] {
  return [...stdout.matchAll(BLOCK_RE)].map((m) => ({dlsn: m[1] as string, stream: m[2] as string, payload: m[3] as string}))
}

/** Reads wait while the gate is shut (adds do not): the readers of the log stall with data ahead of them. */
class ReadGate {
  private shut: Promise<void> | undefined
  private release: (() => void) | undefined
  held = 0

  close(): void {
    this.shut ??= new Promise<void>((resolve) => (this.release = resolve))
  }

  open(): void {
    this.release?.()
    this.shut = undefined
    this.release = undefined
  }

  async pass(): Promise<void> {
    const shut = this.shut
    if (shut === undefined) return
    this.held++
    await shut
  }

  readonly openCore: OpenBookieCore = async (opts) => {
    const core = await openRealBookieCore(opts)
    const readEntry = core.readEntry.bind(core)
    const longPollRead = core.longPollRead.bind(core)
    core.readEntry = async (req) => {
      await this.pass()
      return readEntry(req)
    }
    core.longPollRead = async (req) => {
      await this.pass()
      return longPollRead(req)
    }
    return core
  }
}

describe('dlog tail reopens an idle reader', () => {
  const gate = new ReadGate()
  let cluster: TestCluster
  let uri: string
  const procs: Proc[] = []
  const env = {...process.env, DLOG_URI: ''}

  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/messaging/distributedlog', openCore: () => gate.openCore})
    uri = cluster.uri as string
  })
  after(async () => {
    gate.open()
    for (const p of procs.reverse()) await p.stop(20_000)
    await cluster?.close()
  })

  const write = async (lines: string[], stream = STREAM): Promise<void> => {
    const r = await runCli(['console-writer', '-u', uri, stream], {env, input: lines.join('\n') + '\n', timeoutMs: STEP_MS})
    assert.equal(r.code, 0, r.stderr)
  }
  const batch = (from: number, n: number): string[] => Array.from({length: n}, (_, i) => `record-${from + i}`)
  const startTail = (stream: string): Proc => {
    const p = startCli(['tail', '-u', uri, '--from', 'earliest', '--idle-error-ms', String(IDLE_ERROR_MS), stream], {env})
    procs.push(p)
    return p
  }

  it('records written while reads stall: the reader is reported idle, reopened where it stood, and prints each record once, in order', async () => {
    await write(batch(1, 5))
    const tail = startTail(STREAM)
    await waitFor(() => printed(tail.stdout()).length >= 5, {timeoutMs: STEP_MS, what: `the first five records:\n${tail.output()}`})
    const before = printed(tail.stdout())
    assert.deepEqual(
      before.map((r) => r.payload),
      batch(1, 5),
    )

    // Shut the reads, then write (and complete) a second segment: the reader has data ahead it cannot read.
    // (Only messages from here on count: on a loaded machine the first read may already have been slow.)
    const stderrFrom = tail.stderr().length
    gate.close()
    await write(batch(6, 5))
    const reopenRe = /^Reader on stream idle-1 is idle for \d+ ms; reopening the reader of idle-1 at (DLSN\{.*\})$/m
    const reopen = await waitFor(() => reopenRe.exec(tail.stderr().slice(stderrFrom)), {
      timeoutMs: STEP_MS,
      what: `the idle reopen:\n${tail.output()}`,
    })
    assert.ok(gate.held > 0, 'reads were held')
    assert.equal(printed(tail.stdout()).length, 5, 'nothing read while the gate is shut')
    // Where it stood: just after the last record printed (its DLSN with the next slot).
    const last = /entryId=(\d+), slotId=(\d+)/.exec(before[4]?.dlsn ?? '')
    assert.equal(reopen[1], `DLSN{logSegmentSequenceNo=1, entryId=${last?.[1]}, slotId=${Number(last?.[2]) + 1}}`)

    gate.open()
    await waitFor(() => printed(tail.stdout()).length >= 10, {timeoutMs: STEP_MS, what: `all ten records:\n${tail.output()}`})
    const all = printed(tail.stdout())
    assert.deepEqual(
      all.map((r) => r.payload),
      batch(1, 10),
    )
    assert.ok(all.every((r) => r.stream === STREAM))
    assert.deepEqual(
      all.slice(5).map((r) => r.dlsn.slice(0, 'DLSN{logSegmentSequenceNo=2'.length)),
      Array(5).fill('DLSN{logSegmentSequenceNo=2'),
      'the second batch is the second segment',
    )
    assert.equal(new Set(all.map((r) => r.dlsn)).size, 10, 'no record twice')
    assert.doesNotMatch(tail.stderr(), /Encountered error/)

    // The reopened reader keeps tailing: one more record arrives once, and Ctrl-C exits 0.
    await write(['record-11'])
    await waitFor(() => printed(tail.stdout()).length >= 11, {timeoutMs: STEP_MS, what: `record-11:\n${tail.output()}`})
    tail.kill('SIGINT')
    assert.equal((await tail.exited).code, 0, tail.output())
    assert.deepEqual(
      printed(tail.stdout()).map((r) => r.payload),
      batch(1, 11),
    )
  })

  it('a reader that stays idle is reopened a bounded number of times, then the tail reports it and exits 1', async () => {
    const stream = 'idle-2'
    await write(batch(1, 3), stream)
    const tail = startTail(stream)
    await waitFor(() => printed(tail.stdout()).length >= 3, {timeoutMs: STEP_MS, what: `the first three records:\n${tail.output()}`})
    const stderrFrom = tail.stderr().length
    gate.close()
    try {
      await write(batch(4, 3), stream)
      // Each reopened reader stalls too (the reads stay held): after IDLE_REOPENS_MAX of them the tail stops.
      await waitFor(() => tail.child.exitCode !== null, {timeoutMs: STEP_MS, what: `the tail to give up:\n${tail.output()}`})
      assert.equal((await tail.exited).code, 1, tail.output())
    } finally {
      gate.open()
    }
    const messages = tail
      .stderr()
      .slice(stderrFrom)
      .split('\n')
      .filter((l) => /^(Reader on stream|Encountered error)/.test(l))
    const lastDlsn = printed(tail.stdout())[2]?.dlsn ?? ''
    const at = lastDlsn.replace(/slotId=(\d+)\}$/, (_, slot: string) => `slotId=${Number(slot) + 1}}`)
    assert.equal(messages.length, IDLE_REOPENS_MAX + 1, tail.stderr())
    for (const m of messages.slice(0, IDLE_REOPENS_MAX)) {
      assert.match(m, /^Reader on stream idle-2 is idle for \d+ ms; reopening the reader of idle-2 at /)
      assert.ok(m.endsWith(` at ${at}`), m)
    }
    assert.match(messages[IDLE_REOPENS_MAX] as string, /^Encountered error on reading records from stream idle-2: Reader on stream idle-2 is idle for \d+ ms$/)
    assert.deepEqual(
      printed(tail.stdout()).map((r) => r.payload),
      batch(1, 3),
    )
  })
})
