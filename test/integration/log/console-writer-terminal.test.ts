/**
 * `dlog console-writer` on a terminal, as a user types into it: the command takes its interactive path
 * only when stdin and stdout are both TTYs, so the built CLI (`npm run build` first) runs under a
 * pseudo-terminal from util-linux script(1) (`script -qfec CMD /dev/null`; no extra package). The test
 * waits for each `[dlog] > ` prompt before typing the next line, ends the session with Ctrl-D or Ctrl-C
 * (bytes 0x04 / 0x03 on the terminal), and reads the log back with `dlog tool dump --json`: exactly the
 * lines entered, in order, one record each, with increasing txids; a half-typed line at Ctrl-C is not
 * written. SIGTERM or SIGINT sent with kill ends the session the same way: the writer is closed, so its
 * segment is completed rather than left for the next writer's recovery. The cluster is our ZooKeeper server and three bookies on port 0 (test/helpers/test-cluster.ts).
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {type Proc, repoRoot, runCli, startProcess} from '../../helpers/processes.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'

/** Generous bounds: two cores shared with other test runs. */
const STEP_MS = 30_000
const PROMPT = '[dlog] > '
const CTRL_C = '\u0003'
const CTRL_D = '\u0004'
const ESC = '\u001b'

/** True when script(1) can give a child a pseudo-terminal here. */
function haveScript(): boolean {
  try {
    execFileSync('script', ['-qfec', 'true', '/dev/null'], {stdio: 'ignore', timeout: 10_000})
    return true
  } catch {
    return false
  }
}

/** What the user sees: terminal control sequences (CSI ... letter) and carriage returns removed. */
function screenOf(raw: string): string {
  let out = ''
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string
    if (c === '\r') continue
    if (c === ESC && raw[i + 1] === '[') {
      i += 2
      while (i < raw.length && !/[A-Za-z]/.test(raw[i] as string)) i++
      continue
    }
    out += c
  }
  return out
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

describe('dlog console-writer on a terminal', {skip: haveScript() ? false : 'script(1) is not available for a pseudo-terminal'}, () => {
  let cluster: TestCluster
  let uri: string
  const procs: Proc[] = []
  const env = {...process.env, DLOG_URI: '', NO_COLOR: '1'}

  before(async () => {
    cluster = await startTestCluster({bookies: 3, namespacePath: '/messaging/distributedlog'})
    uri = cluster.uri as string
  })
  after(async () => {
    for (const p of procs.reverse()) await p.stop(20_000)
    await cluster?.close()
  })

  /** The built CLI under a pseudo-terminal; what the test writes to `child.stdin` is typed on it. */
  function onTerminal(args: string[]): Proc {
    const cmd = [process.execPath, join(repoRoot, 'bin', 'run.js'), ...args].map(quote).join(' ')
    const p = startProcess('script', ['-qfec', cmd, '/dev/null'], {cwd: repoRoot, env})
    procs.push(p)
    return p
  }

  const prompts = (p: Proc): number => screenOf(p.stdout()).split(PROMPT).length - 1

  /** Types `text` once the screen shows its `n`-th prompt (so the line goes to the command, not the tty echo). */
  async function typeAtPrompt(p: Proc, n: number, text: string): Promise<void> {
    await waitFor(() => prompts(p) >= n, {timeoutMs: STEP_MS, what: `prompt #${n}:\n${JSON.stringify(screenOf(p.stdout()))}`})
    p.child.stdin?.write(text)
  }

  async function records(stream: string): Promise<{payload: string; txid: number; dlsn: string}[]> {
    const r = await runCli(['tool', 'dump', '-u', uri, '-s', stream, '--json'], {env, timeoutMs: 60_000})
    assert.equal(r.code, 0, r.stderr)
    return r.stdout
      .trimEnd()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as {payload: string; txid: number; dlsn: string})
  }

  async function exitOf(p: Proc): Promise<number | null> {
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000)
    const {code} = await p.exited
    clearTimeout(timer)
    p.child.stdin?.end()
    return code
  }

  it('shows the prompt, writes each typed line as one record before the next prompt (--verbose: its DLSN); Ctrl-D ends it with 0', async () => {
    const lines = ['message-1', 'message two, with spaces', 'message-3']
    const p = onTerminal(['console-writer', '-u', uri, '--verbose', 'typed-1'])
    for (const [i, line] of lines.entries()) await typeAtPrompt(p, i + 1, `${line}\r`)
    await typeAtPrompt(p, lines.length + 1, CTRL_D)
    assert.equal(await exitOf(p), 0, p.output())

    // Each record is acknowledged (and committed, so a control record may follow it) before the next prompt:
    // the DLSNs on the screen are the ones the log holds for those lines.
    const got = await records('typed-1')
    assert.deepEqual(
      got.map((r) => r.payload),
      lines,
    )
    assert.equal(screenOf(p.stdout()), 'Opening log stream typed-1\n' + lines.map((l, i) => `${PROMPT}${l}\n${got[i]?.dlsn}\n`).join('') + `${PROMPT}\n`)
    assert.ok(got.every((r) => r.dlsn.startsWith('DLSN{logSegmentSequenceNo=1, ')), 'one segment')
    for (let i = 1; i < got.length; i++) assert.ok((got[i] as {txid: number}).txid > (got[i - 1] as {txid: number}).txid, 'txids increase')
  })

  it('Ctrl-C ends it with 0: the lines entered are durable, the half-typed one is not written; a second session appends', async () => {
    const p = onTerminal(['console-writer', '-u', uri, 'typed-2'])
    await typeAtPrompt(p, 1, 'first\r')
    await typeAtPrompt(p, 2, 'second\r')
    await typeAtPrompt(p, 3, 'half-typed')
    await waitFor(() => screenOf(p.stdout()).endsWith(`${PROMPT}half-typed`), {timeoutMs: STEP_MS, what: 'the echo of the half-typed line'})
    p.child.stdin?.write(CTRL_C)
    assert.equal(await exitOf(p), 0, p.output())
    assert.equal(screenOf(p.stdout()), `Opening log stream typed-2\n${PROMPT}first\n${PROMPT}second\n${PROMPT}half-typed\n`)

    const again = onTerminal(['console-writer', '-u', uri, 'typed-2'])
    await typeAtPrompt(again, 1, 'third\r')
    await typeAtPrompt(again, 2, CTRL_D)
    assert.equal(await exitOf(again), 0, again.output())
    const got = await records('typed-2')
    assert.deepEqual(
      got.map((r) => r.payload),
      ['first', 'second', 'third'],
    )
    assert.ok((got[2] as {txid: number}).txid > (got[1] as {txid: number}).txid, 'the second session continues the txids')
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} sent with kill (not typed) ends it with 0 after closing the writer: the lines are durable and the segment completed`, async () => {
      const stream = `typed-${signal.toLowerCase()}`
      const p = onTerminal(['console-writer', '-u', uri, stream])
      await typeAtPrompt(p, 1, 'one\r')
      await typeAtPrompt(p, 2, 'two\r')
      await waitFor(() => prompts(p) >= 3, {timeoutMs: STEP_MS, what: 'the third prompt'})
      // The command itself (a grandchild of script(1), whose shell command line quotes every argument).
      const pid = Number(execFileSync('pgrep', ['-f', `run\\.js console-writer -u \\S+ ${stream}$`], {encoding: 'utf8'}).trim())
      assert.ok(Number.isSafeInteger(pid) && pid > 0, `one console-writer process: ${pid}`)
      process.kill(pid, signal)
      assert.equal(await exitOf(p), 0, p.output())
      assert.deepEqual(
        (await records(stream)).map((r) => r.payload),
        ['one', 'two'],
      )
      // A writer killed without closing leaves its segment in progress (completed only by the next writer's recovery).
      const shown = await runCli(['tool', 'show', '-u', uri, '-s', stream, '--json'], {env, timeoutMs: 60_000})
      assert.equal(shown.code, 0, shown.stderr)
      const segments = (JSON.parse(shown.stdout) as {segments: {inprogress: boolean; recordCount: number}[]}).segments
      assert.deepEqual(
        segments.map((s) => [s.inprogress, s.recordCount]),
        [[false, 2]],
      )
    })
  }
})
