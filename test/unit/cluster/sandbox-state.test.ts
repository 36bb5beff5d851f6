import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, writeFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {
  defaultNamespaceUri,
  liveSandboxes,
  removeSandboxState,
  sandboxStatePath,
  writeSandboxState,
} from '../../../src/cli/sandbox-state.js'
import {makeTmpDir} from '../../helpers/tmp.js'

/** A pid that is certainly dead: a child that already exited and was reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0'])
  return r.pid as number
}

describe('sandbox state', () => {
  const tmp = makeTmpDir('dlog-state-')
  after(() => tmp.remove())
  const env = (sub: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({DLOG_STATE_DIR: join(tmp.path, sub), ...extra})
  const state = (pid: number, port: number) => ({
    pid,
    uri: `distributedlog://127.0.0.1:${port}/messaging/distributedlog`,
    zkAddress: `127.0.0.1:${port}`,
    dataDir: '/tmp/x',
    startedAt: new Date(0).toISOString(),
  })

  it('is undefined with no sandbox and no DLOG_URI', () => {
    assert.equal(defaultNamespaceUri(env('none')), undefined)
  })

  it('DLOG_URI wins over a live sandbox', () => {
    const e = env('envwins', {DLOG_URI: 'distributedlog://h:1/ns'})
    writeSandboxState(7001, state(process.pid, 7001), e)
    assert.equal(defaultNamespaceUri(e), 'distributedlog://h:1/ns')
  })

  it('names the one live sandbox and forgets it once removed', () => {
    const e = env('one')
    writeSandboxState(7002, state(process.pid, 7002), e)
    assert.equal(defaultNamespaceUri(e), 'distributedlog://127.0.0.1:7002/messaging/distributedlog')
    removeSandboxState(7002, process.pid, e)
    assert.equal(existsSync(sandboxStatePath(7002, e)), false)
    assert.equal(defaultNamespaceUri(e), undefined)
  })

  it('ignores and removes a stale file whose pid is dead', () => {
    const e = env('stale')
    writeSandboxState(7003, state(deadPid(), 7003), e)
    writeSandboxState(7004, state(process.pid, 7004), e)
    assert.equal(defaultNamespaceUri(e), 'distributedlog://127.0.0.1:7004/messaging/distributedlog')
    assert.equal(existsSync(sandboxStatePath(7003, e)), false)
  })

  it('is undefined when two sandboxes run (ambiguous)', () => {
    const e = env('two')
    writeSandboxState(7005, state(process.pid, 7005), e)
    writeSandboxState(7006, state(process.pid, 7006), e)
    assert.equal(liveSandboxes(e).size, 2)
    assert.equal(defaultNamespaceUri(e), undefined)
  })

  it('skips garbage files and does not remove a file naming another pid', () => {
    const e = env('garbage')
    mkdirSync(e.DLOG_STATE_DIR as string, {recursive: true})
    writeFileSync(sandboxStatePath(7007, e), '{not json')
    writeFileSync(join(e.DLOG_STATE_DIR as string, 'unrelated.txt'), 'x')
    assert.equal(defaultNamespaceUri(e), undefined)
    assert.deepEqual(readdirSync(e.DLOG_STATE_DIR as string), ['unrelated.txt'])
    writeSandboxState(7008, state(process.pid, 7008), e)
    removeSandboxState(7008, process.pid + 1, e)
    assert.equal(existsSync(sandboxStatePath(7008, e)), true)
  })
})
