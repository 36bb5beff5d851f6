/** updateLedgerMetadata: a lost compare-and-set is re-read and re-applied, a bounded number of times. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LedgerError, LedgerErrorCode} from '../../../src/engine/ledger/errors.js'
import type {LedgerMetadata} from '../../../src/engine/ledger/types.js'
import {updateLedgerMetadata} from '../../../src/engine/ledger/zk-metadata-store.js'
import {MemoryLedgerMetadataStore, sampleLedgerMetadata} from '../../helpers/memory-ledger-metadata.js'

const close = (m: LedgerMetadata): LedgerMetadata => ({...m, state: 'CLOSED', lastEntryId: 4, length: 50})

describe('ledger > updateLedgerMetadata', () => {
  it('re-applies the change to what another writer stored', async () => {
    const store = new MemoryLedgerMetadataStore()
    const v0 = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    store.conflictNextWrite((m) => ({...m, customMetadata: {other: Buffer.from('1')}}))
    let calls = 0
    const out = await updateLedgerMetadata(store, v0, (m) => (calls++, close(m)))
    assert.equal(calls, 2)
    assert.equal(out.version, 2)
    assert.equal(out.value.state, 'CLOSED')
    assert.equal(out.value.customMetadata.other?.toString(), '1')
    assert.deepEqual(store.peek(v0.value.ledgerId), out)
  })

  it('returns the stored value when the change is no longer needed', async () => {
    const store = new MemoryLedgerMetadataStore()
    const v0 = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    store.conflictNextWrite(close) // someone else closed it first
    const out = await updateLedgerMetadata(store, v0, (m) => (m.state === 'CLOSED' ? undefined : close(m)))
    assert.equal(out.version, 1)
    assert.equal(store.writes.length, 2) // create + the other writer's close; nothing from us
  })

  it('gives up after attemptsMax lost races with a METADATA_VERSION error', async () => {
    const store = new MemoryLedgerMetadataStore()
    const v0 = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    for (let i = 0; i < 10; i++) store.conflictNextWrite()
    await assert.rejects(updateLedgerMetadata(store, v0, close, 3), (e: unknown) => {
      assert.ok(e instanceof LedgerError && e.code === LedgerErrorCode.METADATA_VERSION, String(e))
      assert.match(e.message, /gave up after 3 attempts/)
      return true
    })
    assert.equal(store.peek(v0.value.ledgerId)?.value.state, 'OPEN')
  })

  it('passes other failures through without retrying', async () => {
    const store = new MemoryLedgerMetadataStore()
    const v0 = await store.createLedgerMetadata((id) => sampleLedgerMetadata(id))
    store.failNextWrites(1)
    await assert.rejects(updateLedgerMetadata(store, v0, close), /injected/)
    assert.equal(store.peek(v0.value.ledgerId)?.version, 0)
  })
})
