/**
 * Ledger metadata in a real ZooKeeper-protocol server (ours, on port 0): id generation across clients,
 * the hierarchical layout, compare-and-set races, watches, and the errors callers switch on.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode, MetadataVersionError, NoSuchLedgerError} from '../../../src/engine/ledger/errors.js'
import type {LedgerMetadata, Versioned} from '../../../src/engine/ledger/types.js'
import {updateLedgerMetadata, ZkLedgerMetadataStore} from '../../../src/engine/ledger/zk-metadata-store.js'
import {ZKClient} from '../../../src/engine/zookeeper/client/zk-client.js'
import {ZKServer} from '../../../src/engine/zookeeper/server/index.js'
import {sampleLedgerMetadata} from '../../helpers/memory-ledger-metadata.js'
import {waitFor} from '../../helpers/wait-for.js'

const ROOT = '/bk/ledgers'

describe('ledger > ZkLedgerMetadataStore', () => {
  let server: ZKServer
  const clients: ZKClient[] = []
  let zk: ZKClient
  let store: ZkLedgerMetadataStore

  async function client(): Promise<ZKClient> {
    const c = await ZKClient.connect({connectString: `127.0.0.1:${server.port}`, sessionTimeoutMs: 10_000})
    clients.push(c)
    return c
  }

  before(async () => {
    server = await ZKServer.start({port: 0})
    zk = await client()
    await zk.mkdirp(`${ROOT}/idgen`)
    store = new ZkLedgerMetadataStore({zk, ledgersRootPath: ROOT})
  })
  after(async () => {
    for (const c of clients) await c.close()
    await server.close()
  })

  it('stores metadata at the hierarchical path, version 0, and reads it back', async () => {
    const created = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    const id = created.value.ledgerId
    assert.equal(created.version, 0)
    const padded = String(id).padStart(10, '0')
    const path = `${ROOT}/${padded.slice(0, 2)}/${padded.slice(2, 6)}/L${padded.slice(6)}`
    const raw = await zk.getData(path)
    assert.match(raw.data?.toString() ?? '', /^\{"formatVersion":1,"ledgerId":\d+,"state":"OPEN"/)
    assert.deepEqual(await store.readLedgerMetadata(id), created)
    // The id generator leaves nothing behind.
    await waitFor(async () => (await zk.getChildren(`${ROOT}/idgen`)).length === 0, {what: 'idgen children deleted'})
  })

  it('gives concurrent creators on several clients distinct ids, all listed', async () => {
    const stores = await Promise.all([0, 1, 2, 3].map(async () => new ZkLedgerMetadataStore({zk: await client(), ledgersRootPath: ROOT})))
    const before = new Set(await store.listLedgers())
    const created = await Promise.all(
      stores.flatMap((s) => Array.from({length: 15}, () => s.createLedgerMetadata((id) => sampleLedgerMetadata(id)))),
    )
    const ids = created.map((c) => c.value.ledgerId)
    assert.equal(new Set(ids).size, 60)
    for (const id of ids) assert.ok(!before.has(id), `id ${id} reused`)
    const listed = await store.listLedgers()
    assert.deepEqual(listed, [...listed].sort((a, b) => a - b))
    for (const id of ids) assert.ok(listed.includes(id), `ledger ${id} listed`)
  })

  it('lets exactly one of two racing compare-and-sets win; the loser re-reads and re-applies', async () => {
    const other = new ZkLedgerMetadataStore({zk: await client(), ledgersRootPath: ROOT})
    const {value, version} = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    const results = await Promise.allSettled([
      store.writeLedgerMetadata({...value, customMetadata: {who: Buffer.from('a')}}, version),
      other.writeLedgerMetadata({...value, customMetadata: {who: Buffer.from('b')}}, version),
    ])
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
    const lost = results.find((r) => r.status === 'rejected')
    assert.ok(lost?.status === 'rejected' && lost.reason instanceof MetadataVersionError, String(lost))
    assert.equal((await store.readLedgerMetadata(value.ledgerId)).version, 1)

    // Both updaters start from the same stale version; each change survives, neither is overwritten.
    const stale = await store.readLedgerMetadata(value.ledgerId)
    const add = (key: string) => (m: LedgerMetadata) => ({...m, customMetadata: {...m.customMetadata, [key]: Buffer.from(key)}})
    const [a, b] = await Promise.all([updateLedgerMetadata(store, stale, add('x')), updateLedgerMetadata(other, stale, add('y'))])
    assert.equal(Math.max(a.version, b.version), 3)
    const final = await store.readLedgerMetadata(value.ledgerId)
    assert.deepEqual(Object.keys(final.value.customMetadata).sort(), ['who', 'x', 'y'])
    // A mutate with nothing to do returns what is stored, without writing.
    const same = await updateLedgerMetadata(store, stale, (m) => (m.customMetadata.x ? undefined : add('x')(m)))
    assert.equal(same.version, 3)
  })

  it('watches report the close and the deletion, until unsubscribed', async () => {
    const watcher = new ZkLedgerMetadataStore({zk: await client(), ledgersRootPath: ROOT})
    const created = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    const id = created.value.ledgerId
    const seen: (Versioned<LedgerMetadata> | undefined)[] = []
    const stop = watcher.watchLedgerMetadata(id, (m) => seen.push(m))
    await waitFor(async () => {
      // The watch is armed by an asynchronous read, so the first write may land before it: write again
      // until the watch reports a change (a write after arming always fires it).
      if (seen.length === 0) {
        const cur = await store.readLedgerMetadata(id)
        if (cur.value.state !== 'CLOSED') await store.writeLedgerMetadata({...cur.value, state: 'CLOSED', lastEntryId: 9, length: 100}, cur.version)
        else await store.writeLedgerMetadata(cur.value, cur.version)
      }
      return seen.length > 0
    }, {what: 'close seen by the watch', intervalMs: 50})
    assert.equal(seen[0]?.value.state, 'CLOSED')
    assert.equal(seen[0]?.value.lastEntryId, 9)
    const n = seen.length
    await store.removeLedgerMetadata(id, -1)
    await waitFor(() => seen.length > n, {what: 'deletion seen'})
    assert.equal(seen.at(-1), undefined)
    stop()
    await assert.rejects(store.readLedgerMetadata(id), NoSuchLedgerError)
  })

  it('stops calling an unsubscribed listener', async () => {
    const created = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    const seen: unknown[] = []
    const stop = store.watchLedgerMetadata(created.value.ledgerId, (m) => seen.push(m))
    stop()
    await store.writeLedgerMetadata({...created.value, state: 'CLOSED'}, 0)
    await store.readLedgerMetadata(created.value.ledgerId) // a round trip after the event
    assert.deepEqual(seen, [])
  })

  it('maps missing ledgers, version conflicts and unreadable metadata to typed errors', async () => {
    await assert.rejects(store.readLedgerMetadata(9_999_999_000), NoSuchLedgerError)
    await assert.rejects(store.removeLedgerMetadata(9_999_999_000, -1), NoSuchLedgerError)
    await assert.rejects(store.writeLedgerMetadata(sampleLedgerMetadata(9_999_999_000), 0), NoSuchLedgerError)
    const {value} = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    await assert.rejects(store.removeLedgerMetadata(value.ledgerId, 5), MetadataVersionError)
    const padded = String(value.ledgerId).padStart(10, '0')
    await zk.setData(`${ROOT}/${padded.slice(0, 2)}/${padded.slice(2, 6)}/L${padded.slice(6)}`, Buffer.from('{"garbage"'))
    await assert.rejects(store.readLedgerMetadata(value.ledgerId), (e: unknown) => {
      assert.ok(e instanceof LedgerError && e.code === LedgerErrorCode.METADATA_STORE, String(e))
      assert.match(e.message, /unreadable: invalid ledger metadata/)
      return true
    })
    await assert.rejects(store.readLedgerMetadata(-1), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.INCORRECT_PARAMETER)
    await assert.rejects(
      store.createLedgerMetadata((id) => ({...sampleLedgerMetadata(id), ackQuorumSize: 9})),
      (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.INCORRECT_PARAMETER,
    )
  })

  it('re-creates a missing idgen node but refuses an unformatted root', async () => {
    await zk.mkdirp('/other/ledgers')
    const fresh = new ZkLedgerMetadataStore({zk, ledgersRootPath: '/other/ledgers'})
    const {value} = await fresh.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    // Two clusters under one ZooKeeper: each root has its own ids and sees only its own ledgers.
    assert.deepEqual(await fresh.listLedgers(), [value.ledgerId])
    const missing = new ZkLedgerMetadataStore({zk, ledgersRootPath: '/nowhere/ledgers'})
    await assert.rejects(missing.createLedgerMetadata((id) => sampleLedgerMetadata(id)), /does not exist: format the cluster first/)
    await assert.rejects(missing.listLedgers(), /does not exist: format the cluster first/)
  })
})
