/** The in-memory metadata store the simulation tests use keeps the LedgerMetadataStore contract. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {MetadataVersionError, NoSuchLedgerError} from '../../../src/engine/ledger/errors.js'
import type {LedgerMetadata, Versioned} from '../../../src/engine/ledger/types.js'
import {MemoryLedgerMetadataStore, sampleLedgerMetadata} from '../../helpers/memory-ledger-metadata.js'

const meta = (id: number): LedgerMetadata => sampleLedgerMetadata(id)

describe('ledger > MemoryLedgerMetadataStore', () => {
  it('allocates ids, versions writes and compares-and-sets', async () => {
    const store = new MemoryLedgerMetadataStore()
    const a = await store.createLedgerMetadata(meta)
    const b = await store.createLedgerMetadata(meta)
    assert.deepEqual([a.value.ledgerId, a.version, b.value.ledgerId], [1, 0, 2])
    const w = await store.writeLedgerMetadata({...a.value, state: 'CLOSED', lastEntryId: 4, length: 10}, 0)
    assert.equal(w.version, 1)
    await assert.rejects(store.writeLedgerMetadata(a.value, 0), MetadataVersionError)
    assert.equal((await store.readLedgerMetadata(1)).value.state, 'CLOSED')
    await store.removeLedgerMetadata(2, -1)
    assert.deepEqual(await store.listLedgers(), [1])
    await assert.rejects(store.readLedgerMetadata(2), NoSuchLedgerError)
  })

  it('copies values in and out', async () => {
    const store = new MemoryLedgerMetadataStore()
    const a = await store.createLedgerMetadata(meta)
    a.value.ensembles[0]!.bookies[0] = 'x:1'
    a.value.password[0] = 0
    const r = await store.readLedgerMetadata(1)
    assert.equal(r.value.ensembles[0]!.bookies[0], '127.0.0.1:3181')
    assert.equal(r.value.password.toString(), 'pw')
  })

  it('conflictNextWrite makes the next CAS lose to another writer', async () => {
    const store = new MemoryLedgerMetadataStore()
    const a = await store.createLedgerMetadata(meta)
    store.conflictNextWrite((m) => ({...m, state: 'IN_RECOVERY'}))
    await assert.rejects(store.writeLedgerMetadata({...a.value, state: 'CLOSED'}, 0), MetadataVersionError)
    const r = await store.readLedgerMetadata(1)
    assert.deepEqual([r.version, r.value.state], [1, 'IN_RECOVERY'])
    store.failNextWrites(1)
    await assert.rejects(store.writeLedgerMetadata(r.value, 1), /injected/)
    assert.equal((await store.writeLedgerMetadata(r.value, 1)).version, 2)
  })

  it('watches deliver updates and deletion until unsubscribed', async () => {
    const store = new MemoryLedgerMetadataStore()
    const a = await store.createLedgerMetadata(meta)
    const seen: (Versioned<LedgerMetadata> | undefined)[] = []
    const stop = store.watchLedgerMetadata(1, (m) => seen.push(m))
    await store.writeLedgerMetadata({...a.value, state: 'CLOSED'}, 0)
    await Promise.resolve()
    assert.equal(seen[0]?.value.state, 'CLOSED')
    await store.removeLedgerMetadata(1, 1)
    await Promise.resolve()
    assert.equal(seen.length, 2)
    assert.equal(seen[1], undefined)
    stop()
    assert.equal(store.watcherCount(1), 0)
  })
})
