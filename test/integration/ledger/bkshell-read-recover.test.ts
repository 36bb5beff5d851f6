/**
 * `dlog bkshell simpletest`, `readledger` and `recover` as operators run them (the built CLI, `npm run
 * build` first) against an embedded ZooKeeper and three in-process bookies: simpletest writes and
 * verifies a ledger; readledger prints it as text, hex and JSON, and on a ledger still being written
 * reads only up to the LAC without disturbing the writer; recover asks first, then fences the writer
 * and closes the ledger at its last entry.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {LedgerFencedError} from '../../../src/engine/ledger/errors.js'
import {runCli} from '../../helpers/processes.js'
import {startTestCluster, type TestCluster} from '../../helpers/test-cluster.js'
import {waitFor} from '../../helpers/wait-for.js'

/** oclif wraps error text to the terminal width behind ' ›   ' prefixes: undo that for matching. */
function flat(stderr: string): string {
  return stderr.replace(/\s*\n\s*›\s*/g, ' ')
}

describe('bkshell simpletest, readledger, recover', () => {
  let cluster: TestCluster
  let conf: string

  before(async () => {
    cluster = await startTestCluster({bookies: 3})
    conf = cluster.confFile()
  })
  after(async () => {
    await cluster?.close()
  })

  let simpleLedger = -1

  it('simpletest writes, reads back and reports', async () => {
    const r = await runCli(['bkshell', 'simpletest', '--conf', conf, '-n', '40', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as {ledgerId: number; entries: number; verified: boolean; addsPerSec: number; bookies: string[]; ackQuorumSize: number}
    assert.equal(report.entries, 40)
    assert.equal(report.verified, true)
    assert.equal(report.ackQuorumSize, 2)
    assert.ok(report.addsPerSec > 0)
    assert.deepEqual([...report.bookies].sort(), [...cluster.bookieIds].sort())
    simpleLedger = report.ledgerId

    const text = await runCli(['bkshell', 'simpletest', '-e', '2', '-w', '2', '-a', '1', '-n', '5'], {env: {BOOKIE_CONF: conf}})
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^Ledger \d+ \(E=2 Qw=2 Qa=1\) on /m)
    assert.match(text.stdout, /All 5 entries read back intact\./)
    assert.match(text.stdout, /write/)

    const bad = await runCli(['bkshell', 'simpletest', '--conf', conf, '-e', '2', '-w', '3'])
    assert.equal(bad.code, 2)
    assert.match(flat(bad.stderr), /need ack quorum <= write quorum <= ensemble size/)
  })

  it('readledger prints entries as text, hex and JSON', async () => {
    const r = await runCli(['bkshell', 'readledger', '--conf', conf, '-l', String(simpleLedger), '--first', '3', '--last', '5'])
    assert.equal(r.code, 0, r.stderr)
    const headers = [...r.stdout.matchAll(/^--------- Lid=(\d+), Eid=(\d+) ---------$/gm)].map((m) => Number(m[2]))
    assert.deepEqual(headers, [3, 4, 5])
    assert.match(r.stdout, /^simpletest entry 4 /m)

    const hex = await runCli(['bkshell', 'readledger', '--conf', conf, '-l', String(simpleLedger), '--first', '0', '--last', '0', '--hex'])
    assert.equal(hex.code, 0, hex.stderr)
    // "simpletest entry 0 " in hex, then the ASCII column.
    assert.match(hex.stdout, /^00000000 {2}73 69 6d 70 6c 65 74 65 {2}73 74 20 65 6e 74 72 79 {2}\|simpletest entry\|$/m)

    const json = await runCli(['bkshell', 'readledger', '--conf', conf, '-l', String(simpleLedger), '--json'])
    assert.equal(json.code, 0, json.stderr)
    const doc = JSON.parse(json.stdout) as {state: string; lastAddConfirmed: number; entries: {entryId: number; payload: string; size: number}[]}
    assert.equal(doc.state, 'CLOSED')
    assert.equal(doc.lastAddConfirmed, 39)
    assert.equal(doc.entries.length, 40)
    assert.ok(doc.entries.every((e, i) => e.entryId === i && e.payload.startsWith(`simpletest entry ${i} `) && e.size === 100))

    const missing = await runCli(['bkshell', 'readledger', '--conf', conf, '-l', '999999'])
    assert.equal(missing.code, 1)
    assert.match(flat(missing.stderr), /Ledger 999999 does not exist/)
  })

  it('readledger reads an open ledger up to its LAC; recover asks, then fences the writer and closes it', async () => {
    const client = await cluster.ledgerClient({explicitLacIntervalMs: 100})
    const writer = await client.createLedger()
    const ledgerId = writer.ledgerId
    for (let i = 0; i < 6; i++) await writer.append(Buffer.from(`open entry ${i}`))
    // The idle writer's explicit LAC makes entry 5 readable.
    await waitFor(async () => {
      const r = await runCli(['bkshell', 'readledger', '--conf', conf, '-l', String(ledgerId), '--json'])
      return r.code === 0 && (JSON.parse(r.stdout) as {lastAddConfirmed: number}).lastAddConfirmed === 5
    }, {timeoutMs: 30_000, intervalMs: 200})
    const beyond = await runCli(['bkshell', 'readledger', '--conf', conf, '-l', String(ledgerId), '--first', '4', '--last', '50'])
    assert.equal(beyond.code, 0, beyond.stderr)
    assert.deepEqual([...beyond.stdout.matchAll(/Eid=(\d+)/g)].map((m) => Number(m[1])), [4, 5])
    assert.match(flat(beyond.stderr), /entries after 5 are not confirmed yet; reading up to 5/)
    // Reading did not fence: the writer goes on.
    assert.equal(await writer.append(Buffer.from('open entry 6')), 6)

    const declined = await runCli(['bkshell', 'recover', '--conf', conf, '-l', String(ledgerId)], {input: 'N\n'})
    assert.equal(declined.code, 3)
    assert.match(declined.stdout, new RegExp(`Are you sure to recover ledger ${ledgerId} \\? \\(Y or N\\) `))
    assert.equal(await writer.append(Buffer.from('open entry 7')), 7)

    const r = await runCli(['bkshell', 'recover', '--conf', conf, '-l', String(ledgerId)], {input: 'Y\n'})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`Ledger ${ledgerId} recovered and closed: last entry 7, length \\d+ bytes\\.`))
    await assert.rejects(writer.append(Buffer.from('too late')), LedgerFencedError)

    const again = await runCli(['bkshell', 'recover', '--conf', conf, '-l', String(ledgerId), '-f', '--json'])
    assert.equal(again.code, 0, again.stderr)
    const doc = JSON.parse(again.stdout) as {stateBefore: string; state: string; lastEntryId: number}
    assert.deepEqual([doc.stateBefore, doc.state, doc.lastEntryId], ['CLOSED', 'CLOSED', 7])
  })
})
