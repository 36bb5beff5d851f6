/**
 * Namespace over our ZooKeeper server: an unbound URI fails with the bind command to run; a
 * sub-namespace inherits its parent's binding (and its settings reach the configuration); create,
 * list, exists and delete (ledgers through the ledger-client seam) work through it.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import type {LedgerClientApi} from '../../../src/engine/ledger/types.js'
import {UnboundNamespaceError} from '../../../src/engine/log/errors.js'
import {bindAllToOneEnsemble, makeBinding, readBindingAt, writeBinding} from '../../../src/engine/log/metadata/binding.js'
import {Namespace, NamespaceBuilder} from '../../../src/engine/log/namespace.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'

describe('namespace', () => {
  let server: ZKServer
  let zkServers: string
  let zk: ZKClient
  const opened: Namespace[] = []

  before(async () => {
    server = await ZKServer.start({port: 0, host: '127.0.0.1', tickTimeMs: 200})
    zkServers = `127.0.0.1:${server.port}`
    zk = await ZKClient.connect({connectString: zkServers})
    const binding = makeBinding({bkZkServers: zkServers, bkLedgersPath: '/ledgers', dlZkServers: zkServers, firstLogSegmentSeqNo: 7})
    await writeBinding(zk, '/messaging/distributedlog', binding, {create: true})
  })
  after(async () => {
    for (const ns of opened) await ns.close()
    await zk?.close()
    await server?.close()
  })

  it('refuses an unbound namespace, saying how to bind it', async () => {
    const uri = `distributedlog://${zkServers}/unbound/ns`
    await assert.rejects(Namespace.open({uri}), (e: Error) => {
      assert.ok(e instanceof UnboundNamespaceError)
      assert.match(e.message, new RegExp(`^No bookkeeper is bound to ${uri.replace(/[/.]/g, '\\$&')}`))
      assert.match(e.message, new RegExp(`dlog admin bind -l /ledgers -s ${zkServers} -c ${uri.replace(/[/.]/g, '\\$&')}`))
      return true
    })
  })

  it('inherits the parent binding, creates its znode on first createLog, and manages logs', async () => {
    const deleted: number[] = []
    let made = 0
    const ns = await NamespaceBuilder.newBuilder()
      .uri(`distributedlog://${zkServers}/messaging/distributedlog/mynamespace`)
      .clientId('test-client')
      .ledgerClientFactory(async () => {
        made++
        return {deleteLedger: async (id: number) => void deleted.push(id), close: async () => {}} as unknown as LedgerClientApi
      })
      .build()
    opened.push(ns)
    assert.equal(ns.boundPath, '/messaging/distributedlog')
    assert.equal(ns.conf.firstLogSegmentSequenceNo, 7)
    assert.equal(ns.createStreamIfNotExists, true)
    assert.deepEqual(await ns.getLogs(), [])
    for (const name of ['stream-1', 'stream-0', 'x/y']) await ns.createLog(name)
    assert.deepEqual(await ns.getLogs(), ['stream-0', 'stream-1', 'x/y'])
    assert.equal(await ns.logExists('x/y'), true)
    const seg = await ns.store.startLogSegment('stream-0', {ledgerId: 99, firstTxId: 1})
    assert.equal(seg.logSegmentSequenceNo, 7)
    await ns.deleteLog('stream-1')
    assert.equal(made, 0, 'a log without ledgers needs no ledger client')
    const lock = ns.createWriteLock('stream-0')
    await lock.acquire()
    await assert.rejects(ns.deleteLog('stream-0'), {name: 'LogBusyError'})
    await lock.release()
    await ns.deleteLog('stream-0')
    assert.deepEqual(deleted, [99])
    assert.deepEqual(await ns.getLogs(), ['x/y'])
  })

  it('binds a sandbox namespace idempotently', async () => {
    await bindAllToOneEnsemble(zk, '/sandbox/ns', {zkServers, ledgersPath: '/ledgers'})
    await bindAllToOneEnsemble(zk, '/sandbox/ns', {zkServers, ledgersPath: '/ledgers'})
    assert.equal((await readBindingAt(zk, '/sandbox/ns'))?.dlZkServersForReader, zkServers)
    await bindAllToOneEnsemble(zk, '/sandbox/ns', {zkServers, ledgersPath: '/other'})
    assert.equal((await readBindingAt(zk, '/sandbox/ns'))?.bkLedgersPath, '/other')
  })

  it('a federated binding turns createStreamIfNotExists off', async () => {
    await writeBinding(zk, '/fed', makeBinding({bkZkServers: zkServers, bkLedgersPath: '/ledgers', dlZkServers: zkServers, federatedNamespace: true}), {create: true})
    const ns = await Namespace.open({uri: `distributedlog://${zkServers}/fed`})
    opened.push(ns)
    assert.equal(ns.createStreamIfNotExists, false)
  })
})
