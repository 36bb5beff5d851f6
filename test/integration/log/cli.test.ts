/**
 * `dlog admin bind/unbind/show` and `dlog tool create/list/show/delete/serialize_dlsn/deserialize_dlsn`
 * run as a user runs them (the built CLI, bin/run.js over dist/: `npm run build` first) against our
 * ZooKeeper server on port 0: the seed transcripts, prompts with a closed stdin, the URI defaults.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {ZkWriteLock} from '../../../src/engine/log/lock/zk-write-lock.js'
import {decodeBinding, readBindingAt} from '../../../src/engine/log/metadata/binding.js'
import {ZkLogMetadataStore} from '../../../src/engine/log/metadata/zk-log-metadata-store.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {runCli} from '../../helpers/processes.js'
import {makeTmpDir} from '../../helpers/tmp.js'

describe('dlog admin and tool commands', () => {
  let server: ZKServer
  let zks: string
  let zk: ZKClient
  const stateDir = makeTmpDir('dlog-cli-state-')
  // No DLOG_URI and an empty sandbox state dir: only what a test passes counts.
  const env = {DLOG_URI: '', DLOG_STATE_DIR: stateDir.path, OCLIF_COLUMNS: '1000'}
  const dlog = (args: string[], opts: {input?: string; env?: NodeJS.ProcessEnv} = {}) => runCli(args, {input: opts.input, env: {...env, ...opts.env}})
  let nsUri: string

  before(async () => {
    server = await ZKServer.start({port: 0, host: '127.0.0.1', tickTimeMs: 200})
    zks = `127.0.0.1:${server.port}`
    zk = await ZKClient.connect({connectString: zks})
    nsUri = `distributedlog://${zks}/messaging/distributedlog/mynamespace`
  })
  after(async () => {
    await zk?.close()
    await server?.close()
    stateDir.remove()
  })

  it('admin bind: the deployment guide transcript, byte for byte, and the stored binding', async () => {
    const r = await dlog(['admin', 'bind', '-dlzr', zks, '-dlzw', zks, '-s', zks, '-bkzr', zks, '-l', '/messaging/bookkeeper/ledgers', '-i', 'false', '-r', 'true', '-c', nsUri])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `No bookkeeper is bound to ${nsUri}\nCreated binding on ${nsUri}.\n`)
    const {data} = await zk.getData('/messaging/distributedlog/mynamespace')
    assert.equal(
      data?.toString(),
      `1\nBKDL\n{"1":{"str":"${zks}"},"2":{"str":"/messaging/bookkeeper/ledgers"},"3":{"tf":0},"4":{"tf":1},"5":{"str":"${zks}"},"6":{"str":"${zks}"},"7":{"str":"${zks}"}}`,
    )
  })

  it('admin bind: same binding quits, a different one needs a Y (closed stdin declines), -q only shows', async () => {
    const same = await dlog(['admin', 'bind', '-dlzr', zks, '-dlzw', zks, '-s', zks, '-bkzr', zks, '-l', '/messaging/bookkeeper/ledgers', '-i', 'false', '-r', 'true', nsUri])
    assert.equal(same.code, 0, same.stderr)
    assert.match(same.stdout, new RegExp(`^There is bookkeeper bound to ${esc(nsUri)} : \n\n\\{"1".*\n\nNo bookkeeper binding needs to be updated. Quit.\n$`))
    const declined = await dlog(['admin', 'bind', '-s', zks, '-l', '/other/ledgers', nsUri])
    assert.equal(declined.code, 3)
    assert.match(declined.stdout, /Do you want to bind .* with new bookkeeper instance :\n\{"1".*"\/other\/ledgers".*\} \(Y or N\) /)
    assert.equal((await readBindingAt(zk, '/messaging/distributedlog/mynamespace'))?.bkLedgersPath, '/messaging/bookkeeper/ledgers')
    const query = await dlog(['admin', 'bind', '-q', nsUri])
    assert.equal(query.code, 0)
    assert.match(query.stdout, /\nDone.\n$/)
    const missing = await dlog(['admin', 'bind', '-s', zks, nsUri])
    assert.equal(missing.code, 2)
    assert.match(flat(missing.stderr), /Neither zkServers nor ledgersPath specified/)
    const noUri = await dlog(['admin', 'bind', '-s', zks, '-l', '/l'])
    assert.equal(noUri.code, 2)
    assert.match(flat(noUri.stderr), /No distributedlog uri specified/)
  })

  it('admin bind with -f updates; -seqno reaches the binding; admin show prints it', async () => {
    const r = await dlog(['admin', 'bind', '-f', '-s', zks, '-l', '/ledgers', '-seqno', '5', nsUri])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`Updated binding on ${esc(nsUri)} : \n\n.*"9":\\{"i64":5\\}`))
    const shown = await dlog(['admin', 'show', '--json', nsUri])
    assert.equal(shown.code, 0, shown.stderr)
    const json = JSON.parse(shown.stdout) as Record<string, unknown>
    assert.equal(json.bkLedgersPath, '/ledgers')
    assert.equal(json.firstLogSegmentSeqNo, 5)
    assert.equal(json.inherited, false)
    const table = await dlog(['admin', 'show', `distributedlog://${zks}/messaging/distributedlog/mynamespace/sub`])
    assert.match(table.stdout, /\/messaging\/distributedlog\/mynamespace \(inherited\)/)
    const none = await dlog(['admin', 'show', `distributedlog://${zks}/nothing/here`])
    assert.equal(none.code, 1)
    assert.match(flat(none.stderr), /No bookkeeper is bound to/)
  })

  it('tool create: the prompt, a closed stdin declines; Y creates the inclusive range; list shows them', async () => {
    const declined = await dlog(['tool', 'create', '-u', nsUri, '-r', 'stream-', '-e', '0-10'])
    assert.equal(declined.code, 3)
    assert.equal(
      declined.stdout,
      'You are going to create streams : [stream-0, stream-1, stream-2, stream-3, stream-4, stream-5, stream-6, stream-7, stream-8, stream-9, stream-10] (Y or N) \n\n',
    )
    const ns = new ZkLogMetadataStore(zk, '/messaging/distributedlog/mynamespace')
    assert.deepEqual(await ns.getLogs(), [])
    const created = await dlog(['tool', 'create', '-u', nsUri, '-r', 'stream-', '-e', '0-10'], {input: 'Y\n'})
    assert.equal(created.code, 0, created.stderr)
    assert.equal((await ns.getLogs()).length, 11)
    const listed = await dlog(['tool', 'list', '-u', nsUri])
    assert.equal(listed.code, 0, listed.stderr)
    const names = Array.from({length: 11}, (_, i) => `stream-${i}`).sort()
    assert.equal(listed.stdout, `Streams under ${nsUri} : \n${'-'.repeat(32)}\n${names.join('\n')}\n${'-'.repeat(32)}\n`)
    const bad = await dlog(['tool', 'create', '-u', nsUri, '-r', 's', '-e', '1-3,5', '-f'])
    assert.equal(bad.code, 2)
    assert.match(flat(bad.stderr), /Invalid stream index range : 1-3,5/)
  })

  it('tool commands take the namespace from DLOG_URI, and say what to do without one', async () => {
    const r = await dlog(['tool', 'create', '-r', 'env-', '-e', '1,3', '-f'], {env: {DLOG_URI: nsUri}})
    assert.equal(r.code, 0, r.stderr)
    const listed = await dlog(['tool', 'list', '-r', 'env-', '--json'], {env: {DLOG_URI: nsUri}})
    assert.deepEqual(JSON.parse(listed.stdout), ['env-1', 'env-3'])
    const none = await dlog(['tool', 'list'])
    assert.equal(none.code, 2)
    assert.match(flat(none.stderr), /No distributedlog uri provided/)
    const unbound = await dlog(['tool', 'list', '-u', `distributedlog://${zks}/unbound`])
    assert.notEqual(unbound.code, 0)
    assert.match(flat(unbound.stderr), /No bookkeeper is bound to distributedlog:\/\/.*\/unbound/)
  })

  it('tool show: summary line and segment table from the metadata; --verbose prints the original form', async () => {
    const store = new ZkLogMetadataStore(zk, '/messaging/distributedlog/mynamespace', {firstLogSegmentSequenceNo: 5})
    const s = await store.startLogSegment('stream-0', {ledgerId: 516, firstTxId: 8249})
    await store.completeLogSegment('stream-0', s, {lastTxId: 8300, lastEntryId: 2, lastSlotId: 0, recordCount: 3, completionTimeMs: 1626873057488})
    await store.startLogSegment('stream-0', {ledgerId: 517, firstTxId: 8301})
    const r = await dlog(['tool', 'show', '-u', nsUri, '-s', 'stream-0'])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.split('\n')
    assert.equal(
      lines[0],
      'Stream : (firstTxId=8249, lastTxid=8300, firstDlsn=DLSN{logSegmentSequenceNo=5, entryId=0, slotId=0}, ' +
        'lastDlsn=DLSN{logSegmentSequenceNo=5, entryId=2, slotId=0}, endOfStreamMarked=false, recordCount=3)',
    )
    assert.match(r.stdout, /│ 5 +│ 516 +│ active +│ 8249 +│ 8300 +│ 3 +│ 5,2,0 +│ 2021-07-21T13:10:57.488Z/)
    assert.match(r.stdout, /│ 6 +│ 517 +│ in progress +│ 8301/)
    const v = await dlog(['tool', 'show', '-u', nsUri, '-s', 'stream-0', '--verbose'])
    assert.match(v.stdout, /\nLedgers : \n5\t: \[LogSegmentId:516, firstTxId:8249, lastTxId:8300, version:VERSION_V5_SEQUENCE_ID, completionTime:1626873057488, recordCount:3,/)
    assert.match(v.stdout, /\n6\t: \[LogSegmentId:517, firstTxId:8301, lastTxId:-999, .*inprogress:true/)
    const missing = await dlog(['tool', 'show', '-u', nsUri, '-s', 'nope'])
    assert.equal(missing.code, 1)
    assert.match(flat(missing.stderr), /Log nope does not exist or has been deleted/)
  })

  it('tool delete: a closed stdin declines, a locked stream is refused, -f deletes', async () => {
    const declined = await dlog(['tool', 'delete', '-u', nsUri, '-s', 'stream-1'])
    assert.equal(declined.code, 3)
    assert.match(declined.stdout, /You are going to delete stream : stream-1 \(Y or N\) /)
    const store = new ZkLogMetadataStore(zk, '/messaging/distributedlog/mynamespace')
    assert.equal(await store.logExists('stream-1'), true)
    const lock = new ZkWriteLock(zk, store.paths('stream-1').lock, 'console-writer')
    await lock.acquire()
    const busy = await dlog(['tool', 'delete', '-u', nsUri, '-s', 'stream-1', '-f'])
    assert.notEqual(busy.code, 0)
    assert.match(flat(busy.stderr), /in use by a writer \(console-writer\)/)
    await lock.release()
    const done = await dlog(['tool', 'delete', '-u', nsUri, '-s', 'stream-1', '-f'])
    assert.equal(done.code, 0, done.stderr)
    assert.equal(await store.logExists('stream-1'), false)
  })

  it('admin unbind: refuses an inherited binding, unbinds its own with -f', async () => {
    const sub = `distributedlog://${zks}/messaging/distributedlog/mynamespace/sub`
    const inherited = await dlog(['admin', 'unbind', '-f', sub])
    assert.equal(inherited.code, 1)
    assert.match(flat(inherited.stderr), /inherits the binding on \/messaging\/distributedlog\/mynamespace/)
    const r = await dlog(['admin', 'unbind', '-f', nsUri])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`Unbound on ${esc(nsUri)}.\n$`))
    const {data} = await zk.getData('/messaging/distributedlog/mynamespace')
    assert.equal(data?.length ?? 0, 0)
    assert.throws(() => decodeBinding(Buffer.alloc(0)))
    const again = await dlog(['admin', 'unbind', nsUri])
    assert.equal(again.stdout, `No bookkeeper is bound to ${nsUri}\n`)
  })

  it('serialize_dlsn / deserialize_dlsn', async () => {
    assert.equal((await dlog(['tool', 'serialize_dlsn', '-dlsn', '1,2,3'])).stdout, 'AQAAAAAAAAABAAAAAAAAAAIAAAAAAAAAAw==\n')
    assert.equal((await dlog(['tool', 'serialize_dlsn', '-x'])).stdout, '01000000000000000100000000000000000000000000000000\n')
    assert.equal((await dlog(['tool', 'deserialize_dlsn', '-b64', 'AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA=='])).stdout, 'DLSN{logSegmentSequenceNo=1, entryId=0, slotId=0}\n')
    const bad = await dlog(['tool', 'deserialize_dlsn', '-b64', 'nope!'])
    assert.equal(bad.code, 2)
    assert.match(flat(bad.stderr), /is not a base64 DLSN/)
  })
})

/** oclif wraps error lines at the terminal width behind ` ›   `: join them back. */
function flat(s: string): string {
  return s.replace(/\n › {3}/g, ' ').replace(/\s+/g, ' ')
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
