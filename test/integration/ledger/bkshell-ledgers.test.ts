/**
 * `dlog bkshell listledgers / ledgermetadata / deleteledger` as operators run them (built CLI, child
 * processes) against our ZooKeeper server, over a cluster laid out by `dlog bkshell metaformat`.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {ZkLedgerMetadataStore} from '../../../src/engine/ledger/zk-metadata-store.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {sampleLedgerMetadata} from '../../helpers/memory-ledger-metadata.js'
import {runCli} from '../../helpers/processes.js'
import {makeTmpDir} from '../../helpers/tmp.js'

const ROOT = '/messaging/bookkeeper/ledgers'

/** oclif wraps error text to the terminal width behind ' ›   ' prefixes: undo that for matching. */
function flat(stderr: string): string {
  return stderr.replace(/\s*\n\s*›\s*/g, ' ')
}

describe('ledger > bkshell ledger commands', () => {
  let server: ZKServer
  let zk: ZKClient
  let store: ZkLedgerMetadataStore
  const tmp = makeTmpDir('dlog-bkshell-ledgers-')
  let conf: string
  const ids: number[] = []

  before(async () => {
    server = await ZKServer.start({port: 0})
    zk = await ZKClient.connect({connectString: `127.0.0.1:${server.port}`})
    conf = join(tmp.path, 'bookie.conf')
    writeFileSync(conf, [`zkServers=127.0.0.1:${server.port}`, `zkLedgersRootPath=${ROOT}`, 'zkTimeout=4000', ''].join('\n'))
    await zk.mkdirp('/messaging/bookkeeper')
    const formatted = await runCli(['bkshell', 'metaformat', '--conf', conf, '-n'])
    assert.equal(formatted.code, 0, formatted.stderr)
    assert.deepEqual((await zk.getChildren(ROOT)).sort(), ['INSTANCEID', 'LAYOUT', 'available', 'cookies', 'idgen'])
    store = new ZkLedgerMetadataStore({zk, ledgersRootPath: ROOT})
    const open = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id, {customMetadata: {application: Buffer.from('dl'), raw: Buffer.from([0, 1, 2])}}))
    const closed = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id, {ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 1, ensembles: [{firstEntryId: 0, bookies: ['10.0.0.1:3181', '10.0.0.2:3181']}]}))
    await store.writeLedgerMetadata(
      {...closed.value, state: 'CLOSED', lastEntryId: 41, length: 4200, ensembles: [...closed.value.ensembles, {firstEntryId: 20, bookies: ['10.0.0.1:3181', '10.0.0.3:3181']}]},
      0,
    )
    ids.push(open.value.ledgerId, closed.value.ledgerId)
  })
  after(async () => {
    await zk.close()
    await server.close()
    tmp.remove()
  })

  it('listledgers prints a table, and JSON for scripts', async () => {
    const table = await runCli(['bkshell', 'listledgers', '--conf', conf])
    assert.equal(table.code, 0, table.stderr)
    const lines = table.stdout.split('\n')
    assert.match(lines[1] ?? '', /Ledger\s*│\s*State\s*│\s*E\/Qw\/Qa\s*│\s*Last entry\s*│\s*Length/)
    assert.match(table.stdout, new RegExp(`│ ${ids[0]}\\s+│ OPEN\\s+│ 3/3/2\\s+│ -1\\s+│ 0 `))
    assert.match(table.stdout, new RegExp(`│ ${ids[1]}\\s+│ CLOSED\\s+│ 2/2/1\\s+│ 41\\s+│ 4200 `))

    const json = await runCli(['bkshell', 'listledgers', '--json'], {env: {BOOKIE_CONF: conf}})
    assert.equal(json.code, 0, json.stderr)
    assert.deepEqual(JSON.parse(json.stdout), [
      {ledgerId: ids[0], state: 'OPEN', ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, lastEntryId: -1, length: 0},
      {ledgerId: ids[1], state: 'CLOSED', ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 1, lastEntryId: 41, length: 4200},
    ])
    const meta = await runCli(['bkshell', 'listledgers', '--conf', conf, '-m', '--json'])
    const parsed = JSON.parse(meta.stdout) as {ensembles: unknown[]}[]
    assert.equal(parsed[1]?.ensembles.length, 2)
    const metaTable = await runCli(['bkshell', 'listledgers', '--conf', conf, '-m'])
    assert.match(metaTable.stdout, /20: 10\.0\.0\.1:3181, 10\.0\.0\.3:3181/)
  })

  it('ledgermetadata prints one ledger, text or JSON, never the password', async () => {
    const id = ids[1] as number
    const text = await runCli(['bkshell', 'ledgermetadata', '--conf', conf, '-l', String(id)])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, new RegExp(`^ledgerID: ${id}\\n`))
    assert.match(text.stdout, /\nstate: CLOSED\n/)
    assert.match(text.stdout, /\nensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 1\n/)
    assert.match(text.stdout, /\nlastEntryId: 41\nlength: 4200\n/)
    assert.match(text.stdout, /\nensembles:\n {2}0: \[10\.0\.0\.1:3181, 10\.0\.0\.2:3181\]\n {2}20: \[10\.0\.0\.1:3181, 10\.0\.0\.3:3181\]\n/)
    assert.match(text.stdout, /\npassword: 2 bytes \(not shown\)\n/)
    assert.doesNotMatch(text.stdout, /cHc=|\bpw\b/)
    const json = await runCli(['bkshell', 'ledgermetadata', '--conf', conf, '-l', String(ids[0]), '--json'])
    const m = JSON.parse(json.stdout) as Record<string, unknown>
    assert.equal(m.ledgerId, ids[0])
    assert.equal(m.znodeVersion, 0)
    assert.deepEqual(m.customMetadata, {application: 'dl', raw: 'base64:AAEC'})
    assert.equal(m.password, undefined)

    const missing = await runCli(['bkshell', 'ledgermetadata', '--conf', conf, '-l', '999999'])
    assert.equal(missing.code, 1)
    assert.match(flat(missing.stderr), /Ledger 999999 does not exist/)
    const bad = await runCli(['bkshell', 'ledgermetadata', '--conf', conf, '-l', '-3'])
    assert.equal(bad.code, 2, bad.stderr)
  })

  it('deleteledger asks first, and -f deletes without asking', async () => {
    const [keep, gone] = ids as [number, number]
    const declined = await runCli(['bkshell', 'deleteledger', '--conf', conf, '-l', String(gone)]) // stdin closed: No
    assert.equal(declined.code, 3, declined.stderr)
    assert.equal(declined.stdout, `Are you sure to delete Ledger : ${gone}? (Y or N) \n`)
    assert.deepEqual(await store.listLedgers(), [keep, gone])
    const yes = await runCli(['bkshell', 'deleteledger', '--conf', conf, '-l', String(gone)], {input: 'Y\n'})
    assert.equal(yes.code, 0, yes.stderr)
    assert.equal(yes.stdout, `Are you sure to delete Ledger : ${gone}? (Y or N) \nDeleted ledger ${gone}.\n`)
    assert.deepEqual(await store.listLedgers(), [keep])
    const forced = await runCli(['bkshell', 'deleteledger', '--conf', conf, '-l', String(keep), '-f'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(forced.stdout, `Deleted ledger ${keep}.\n`)
    const again = await runCli(['bkshell', 'deleteledger', '--conf', conf, '-l', String(keep), '-f'])
    assert.equal(again.code, 1)
    assert.match(flat(again.stderr), new RegExp(`Ledger ${keep} does not exist`))
    const empty = await runCli(['bkshell', 'listledgers', '--conf', conf])
    assert.equal(empty.stdout, 'No ledgers.\n')
  })

  it('metaformat -f wipes the ledger metadata with the rest', async () => {
    const {value} = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    assert.deepEqual(await store.listLedgers(), [value.ledgerId])
    const forced = await runCli(['bkshell', 'metaformat', '--conf', conf, '-f'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.deepEqual(await store.listLedgers(), [])
    assert.deepEqual((await zk.getChildren(ROOT)).sort(), ['INSTANCEID', 'LAYOUT', 'available', 'cookies', 'idgen'])
  })

  it('names an unformatted cluster', async () => {
    const other = join(tmp.path, 'other.conf')
    writeFileSync(other, [`zkServers=127.0.0.1:${server.port}`, 'zkLedgersRootPath=/nowhere/ledgers', ''].join('\n'))
    const r = await runCli(['bkshell', 'listledgers', '--conf', other])
    assert.equal(r.code, 1, r.stderr)
    assert.match(flat(r.stderr), /the ledgers root \/nowhere\/ledgers does not exist: format the cluster first/)
  })
})
