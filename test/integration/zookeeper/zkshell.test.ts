/**
 * `dlog zkshell` as a user runs it (bin/run.js over dist/; run `npm run build` first) against our
 * ZooKeeper server: piped scripts, closed stdin, one-shot mode, an unreachable server.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {ZKClient} from '../../../src/engine/index.js'
import {runCli} from '../../helpers/processes.js'
import {freePort, ourServerSkip, startTarget, type ZKTarget} from '../../helpers/real-zookeeper.js'

const BANNER = (cs: string) => `Connecting to ${cs}\nWelcome to ZooKeeper!\nJLine support is disabled\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n`

describe('dlog zkshell', {skip: (await ourServerSkip()) || undefined}, () => {
  let target: ZKTarget
  before(async () => {
    target = await startTarget('ours')
  })
  after(async () => {
    await target?.close()
  })

  it('closed stdin ends the shell cleanly with exit 0 after the banner', async () => {
    const r = await runCli(['zkshell', target.connectString], {input: ''})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, BANNER(target.connectString))
    assert.equal(r.stderr, '')
  })

  it('runs the seed transcript from a pipe and the nodes exist afterwards', async () => {
    const input = "create /messaging ''\ncreate /messaging/bookkeeper ''\ncreate /messaging/bookkeeper/ledgers ''\nls /messaging/bookkeeper\n"
    const r = await runCli(['zkshell', target.connectString], {input})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `${BANNER(target.connectString)}[ledgers]\n`)
    assert.equal(r.stderr, 'Created /messaging\nCreated /messaging/bookkeeper\nCreated /messaging/bookkeeper/ledgers\n')
    const zk = await ZKClient.connect({connectString: target.connectString})
    try {
      assert.deepEqual((await zk.getData('/messaging/bookkeeper/ledgers')).data, Buffer.alloc(0))
    } finally {
      await zk.close()
    }
  })

  it('one-shot: ephemeral nodes go when the shell exits (it closes its session)', async () => {
    const r = await runCli(['zkshell', target.connectString, 'create', '-e', '/eph', 'x'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, 'Created /eph\n')
    const zk = await ZKClient.connect({connectString: target.connectString})
    try {
      assert.equal(await zk.exists('/eph'), null)
    } finally {
      await zk.close()
    }
  })

  it('an unknown command exits 2 with the usage', async () => {
    const r = await runCli(['zkshell', target.connectString, 'frob'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Command not found: Command not found frob\n$/)
  })

  it('an unreachable server exits 4 naming the address', async () => {
    const port = await freePort()
    const r = await runCli(['zkshell', '--connect-timeout', '1000', `127.0.0.1:${port}`, 'ls', '/'], {timeoutMs: 60_000})
    assert.equal(r.code, 4)
    assert.equal(r.stderr, `could not connect to ZooKeeper at 127.0.0.1:${port} within 1000 ms\n`)
  })

  it('a missing HOST:PORT is a usage error', async () => {
    const r = await runCli(['zkshell'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /server/i)
  })
})
