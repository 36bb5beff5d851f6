import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import type {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {cliBody, realZooKeeperSkip, runZkCli} from '../../helpers/real-zookeeper.js'
import {runCleanup, startServer} from './server-helpers.js'

const skip = realZooKeeperSkip()

describe('zookeeper/server > zkCli.sh one-shot commands', {skip: skip || undefined}, () => {
  const cleanup: (() => Promise<void>)[] = []
  let server: ZKServer
  let at: string

  before(async () => {
    server = await startServer(cleanup)
    at = `${server.host}:${server.port}`
  })
  after(() => runCleanup(cleanup))

  async function cli(...args: string[]): Promise<{code: number | null; lines: string[]}> {
    const r = await runZkCli(at, args)
    return {code: r.code, lines: cliBody(r.stdout + r.stderr).filter((l) => !/^\d{4}-\d\d-\d\d|log4j|SLF4J/.test(l))}
  }

  it('create, get, ls, stat and delete print what zkCli prints against ZooKeeper, exit 1 on errors', async () => {
    const created = await cli('create', '/cli', 'hello')
    assert.equal(created.code, 0)
    assert.ok(created.lines.includes('Created /cli'), created.lines.join('\n'))

    const again = await cli('create', '/cli', 'x')
    assert.equal(again.code, 1)
    assert.ok(again.lines.includes('Node already exists: /cli'), again.lines.join('\n'))

    const get = await cli('get', '/cli')
    assert.equal(get.code, 0)
    assert.ok(get.lines.includes('hello'))

    const ls = await cli('ls', '/')
    assert.equal(ls.code, 0)
    assert.ok(ls.lines.includes('[cli, zookeeper]'), ls.lines.join('\n'))

    const stat = await cli('stat', '/cli')
    assert.equal(stat.code, 0)
    for (const re of [/^cZxid = 0x[0-9a-f]+$/, /^dataVersion = 0$/, /^dataLength = 5$/, /^numChildren = 0$/, /^ephemeralOwner = 0x0$/, /^ctime = \w{3} \w{3} /]) {
      assert.ok(stat.lines.some((l) => re.test(l)), `${re} in\n${stat.lines.join('\n')}`)
    }

    const seq = await cli('create', '-s', '/cli/s-', 'x')
    assert.ok(seq.lines.includes('Created /cli/s-0000000000'), seq.lines.join('\n'))
    assert.equal((await cli('delete', '/cli')).code, 1, 'not empty')
    assert.equal((await cli('delete', '/cli/s-0000000000')).code, 0)
    assert.equal((await cli('delete', '/cli')).code, 0)
    const missing = await cli('delete', '/cli')
    assert.equal(missing.code, 1)
    assert.ok(missing.lines.includes('Node does not exist: /cli'), missing.lines.join('\n'))
    const getMissing = await cli('get', '/nope')
    assert.equal(getMissing.code, 1)
  })
})
