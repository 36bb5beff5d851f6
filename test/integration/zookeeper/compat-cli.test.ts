/**
 * ZooKeeper compatibility suite, command-line side: Apache zkCli.sh and `dlog zkshell` run the same
 * commands against our server and against real ZooKeeper 3.8, and must print the same lines (zxids
 * and times masked) and exit with the same codes. zkCli is the reference for the wording; a
 * difference on real ZooKeeper is a bug in dlog zkshell. Needs `npm run build` (dlog runs from dist/).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {runCli} from '../../helpers/processes.js'
import {cliBody, ourServerSkip, realZooKeeperSkip, runZkCli, startTarget, type ZKTarget} from '../../helpers/real-zookeeper.js'

/** A script exercising the shell; `$P` is replaced by a per-tool prefix so both tools work side by side. */
const SCRIPT = [
  "create $P ''",
  'create $P/a hello',
  "create $P/b 'two words'",
  'create $P/n',
  'get $P/a',
  'get $P',
  'get $P/n',
  'get $P/b',
  'ls $P',
  'ls -s $P',
  'create -s $P/s- d',
  'create -e -s $P/q',
  'create -e $P/e',
  'create $P/e/child',
  'stat $P/a',
  'set $P/a changed',
  'set -s $P/a again',
  'set -v 0 $P/a stale',
  'get -s $P/a',
  'create $P/a dup',
  'delete $P',
  'delete -v 7 $P/b',
  'delete $P/b',
  'get $P/nope',
  'ls $P/nope',
  'stat $P/nope',
  'ls $P/',
  'ls relative',
  'sync $P',
  'deleteall $P',
  'ls $P',
  'quit',
]

const MASKED = /^(cZxid|mZxid|pZxid|ctime|mtime|ephemeralOwner) = .*/

function normalize(lines: string[], prefix: string): string[] {
  return lines
    .filter((l) => l !== 'WatchedEvent state:Closed type:None path:null')
    .map((l) => l.replaceAll(prefix, '$P').replace(MASKED, '$1 = *'))
}

// zkCli is needed on both halves: it is the reference output.
const realSkip = realZooKeeperSkip()
for (const [name, skip] of [
  ['ours', (await ourServerSkip()) || realSkip],
  ['real', realSkip],
] as const) {
  describe(`zookeeper compat cli > ${name}`, {skip: skip || undefined}, () => {
    let target: ZKTarget
    before(async () => {
      target = await startTarget(name)
    })
    after(async () => {
      await target?.close()
    })

    it('zkCli and dlog zkshell print the same for the same script', async () => {
      const zkCli = await runZkCli(target.connectString, [], {input: SCRIPT.join('\n').replaceAll('$P', '/cli-zk') + '\n'})
      const dlog = await runCli(['zkshell', target.connectString], {input: SCRIPT.join('\n').replaceAll('$P', '/cli-dl') + '\n'})
      // The last command before quit failed (ls of the deleted prefix): both exit 1, as zkCli does.
      assert.equal(zkCli.code, 1, zkCli.stderr)
      assert.equal(dlog.code, 1, dlog.stderr)
      const zkOut = normalize(cliBody(zkCli.stdout), '/cli-zk')
      const dlOut = normalize(cliBody(dlog.stdout), '/cli-dl')
      const zkErr = normalize(cliBody(zkCli.stderr), '/cli-zk')
      const dlErr = normalize(cliBody(dlog.stderr), '/cli-dl')
      // The reference itself, so a change in zkCli (or in this script) shows up here first.
      assert.deepEqual(zkErr, [
        'Created $P',
        'Created $P/a',
        'Created $P/b',
        'Created $P/n',
        'Created $P/s-0000000003',
        'Created $P/q0000000004',
        'Created $P/e',
        'Ephemerals cannot have children: $P/e/child',
        'version No is not valid : $P/a',
        'Node already exists: $P/a',
        'Node not empty: $P',
        'version No is not valid : $P/b',
        'Node does not exist: $P/nope',
        'Node does not exist: $P/nope',
        'Node does not exist: $P/nope',
        'Path must not end with / character',
        'Path must start with / character',
        'Node does not exist: $P',
      ])
      assert.deepEqual(dlErr, zkErr)
      assert.deepEqual(dlOut, zkOut)
      assert.ok(zkOut.includes('two words'))
      assert.ok(zkOut.includes('null'))
      assert.ok(zkOut.includes('[a, b, n]'))
      assert.ok(zkOut.includes('Sync is OK'))
    })

    it('one-shot commands: same output and exit codes (0 ok, 1 failed)', async () => {
      const cases: [string, number][] = [
        ['create $P x', 0],
        ['get $P', 0],
        ['get $P/none', 1],
        ['create $P y', 1],
        ['ls /', 0],
        ['delete -v 3 $P', 1],
      ]
      for (const [line, code] of cases) {
        const zk = await runZkCli(target.connectString, line.replaceAll('$P', '/one-zk').split(' '))
        const dl = await runCli(['zkshell', target.connectString, ...line.replaceAll('$P', '/one-dl').split(' ')])
        assert.equal(zk.code, code, `zkCli ${line}: ${zk.stderr}`)
        assert.equal(dl.code, code, `dlog zkshell ${line}: ${dl.stderr}`)
        assert.deepEqual(normalize(cliBody(dl.stdout), '/one-dl'), normalize(cliBody(zk.stdout), '/one-zk'), line)
        assert.deepEqual(normalize(cliBody(dl.stderr), '/one-dl'), normalize(cliBody(zk.stderr), '/one-zk'), line)
      }
      // One-shot output starts with the connection banner, without the welcome lines.
      const dl = await runCli(['zkshell', target.connectString, 'get', '/one-dl'])
      assert.equal(dl.stdout, `Connecting to ${target.connectString}\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\nx\n`)
    })
  })
}
