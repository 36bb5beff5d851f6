/**
 * kill -9 of a bookie process while a client streams adds over the wire: after a restart from the same
 * bookie.conf, every acknowledged entry reads back byte-identical (invariant 5: kill -9 loses no
 * acknowledged record). Entries sent but not acknowledged may or may not survive; if one does, it must
 * be intact too.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {metaformat} from '../../../src/engine/bookie/admin.js'
import {BookieWireClient} from '../../../src/engine/net/bookie-wire-client.js'
import {encodeEntry} from '../../../src/engine/protocol/bookie/entry.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {type Proc, startCli} from '../../helpers/processes.js'
import {freePort, type ZKTarget} from '../../helpers/real-zookeeper.js'
import {makeTmpDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait-for.js'
import {startZooKeeper} from '../../integration/bookie/zk.js'

const ROOT = '/ledgers'
const KEY = Buffer.from('kill9-key')
const LEDGER_ID = 77

/** Deterministic, entry-specific payload of 100..1100 bytes. */
function payloadOf(entryId: number): Buffer {
  const seed = createHash('sha256').update(`entry-${entryId}`).digest()
  const n = 100 + (seed.readUInt16BE(0) % 1000)
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i += 32) seed.copy(out, i, 0, Math.min(32, n - i))
  return out
}

function entryOf(entryId: number): Buffer {
  return encodeEntry({ledgerId: LEDGER_ID, entryId, lac: entryId - 1, length: 0, payload: payloadOf(entryId)})
}

describe('bookie > kill -9 while adding', () => {
  let zkServer: ZKTarget
  const tmp = makeTmpDir('dlog-bookie-kill9-')
  const procs: Proc[] = []
  let conf = ''

  // Own setup, not test/helpers/test-cluster.ts: the bookie is a child process (kill -9) restarted on a fixed port.
  before(async () => {
    zkServer = await startZooKeeper()
    const zk = await ZKClient.connect({connectString: zkServer.connectString})
    await metaformat({zk, root: ROOT, force: true, nonInteractive: true, confirm: async () => false})
    await zk.close()
    conf = join(tmp.path, 'bookie.conf')
    writeFileSync(
      conf,
      [
        `zkServers=${zkServer.connectString}`,
        `zkLedgersRootPath=${ROOT}`,
        `bookiePort=${await freePort()}`,
        `journalDirectory=${join(tmp.path, 'journal')}`,
        `ledgerDirectories=${join(tmp.path, 'ledgers')}`,
        'zkTimeout=4000',
        // Small cache and frequent checkpoints so the kill lands in every phase: journal, cache, entry logs.
        'skipListSizeLimit=262144',
        'flushInterval=50',
        '',
      ].join('\n'),
    )
  })
  after(async () => {
    for (const p of procs) await p.stop()
    await zkServer?.close()
    tmp.remove()
  })

  async function startBookie(): Promise<{proc: Proc; port: number}> {
    const proc = startCli(['bookie', '--conf', conf])
    procs.push(proc)
    const m = await waitFor(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`bookie exited: ${proc.output()}`)
        return /Bookie \S+:(\d+) is running/.exec(proc.stdout())
      },
      {timeoutMs: 60_000, what: 'bookie running'},
    )
    return {proc, port: Number(m[1])}
  }

  it('every acknowledged entry reads back byte-identical after a restart', async () => {
    const first = await startBookie()
    const client = await BookieWireClient.connect({host: '127.0.0.1', port: first.port, outstandingMax: 64})
    const acked = new Set<number>()
    const sent = new Set<number>()
    let stop = false
    let killed = false
    // Stream adds with 64 outstanding until killed; record acknowledgements as they arrive.
    const streaming = (async () => {
      const inflight: Promise<void>[] = []
      for (let entryId = 0; !stop; entryId++) {
        sent.add(entryId)
        inflight.push(
          client.addEntry(entryOf(entryId), KEY).then(
            () => void acked.add(entryId),
            // The connection died with the bookie: stop issuing (failures are immediate from now on).
            () => void (stop = true),
          ),
        )
        if (inflight.length >= 64) await inflight.shift()
      }
      await Promise.allSettled(inflight)
    })()
    await waitFor(() => acked.size >= 3000, {timeoutMs: 120_000, what: '3000 acks'})
    first.proc.kill('SIGKILL')
    killed = true
    await first.proc.exited
    await streaming
    await client.close()
    assert.ok(killed)
    assert.ok(sent.size > acked.size, 'the kill landed with adds in flight')

    const second = await startBookie()
    const reader = await BookieWireClient.connect({host: '127.0.0.1', port: second.port})
    try {
      let survivedUnacked = 0
      const ids = [...sent].sort((a, b) => a - b)
      for (let i = 0; i < ids.length; i += 256) {
        await Promise.all(
          ids.slice(i, i + 256).map(async (entryId) => {
            let got: Buffer | undefined
            try {
              got = await reader.readEntry(LEDGER_ID, entryId)
            } catch (e) {
              if (acked.has(entryId)) throw new Error(`acknowledged entry ${entryId} is lost: ${String(e)}`)
              return
            }
            assert.deepEqual(got, entryOf(entryId), `entry ${entryId} reads back byte-identical`)
            if (!acked.has(entryId)) survivedUnacked++
          }),
        )
      }
      assert.ok(acked.size >= 3000)
      console.log(`kill -9: ${acked.size} acked entries all intact; ${sent.size - acked.size} unacked, ${survivedUnacked} of them survived`)
    } finally {
      await reader.close()
    }
  })
})
