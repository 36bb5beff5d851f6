/**
 * The simulated bookie cluster keeps the real bookie's rules (key binding, fencing, LAC, long polls,
 * NO_LEDGER/NO_ENTRY) and its faults do what they say (crash, drop, delay, corrupt), all on the sim clock.
 */
import {test} from 'node:test'
import assert from 'node:assert/strict'

import {TimeoutError} from '../../../src/engine/common/errors.js'
import {NotEnoughBookiesError} from '../../../src/engine/ledger/errors.js'
import {BookieConnectionError} from '../../../src/engine/net/bookie-wire-client.js'
import {BookieError, BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {encodeEntry, entryChecksumOk} from '../../../src/engine/protocol/bookie/entry.js'
import {SimBookieCluster} from '../../helpers/sim-bookies.js'

const KEY = Buffer.from('key')
const entry = (entryId: number, lac = entryId - 1) => encodeEntry({ledgerId: 7, entryId, lac, length: entryId + 1, payload: Buffer.from([entryId])})

function isStatus(status: number) {
  return (e: unknown) => e instanceof BookieError && e.code === status
}

test('sim: master key binding, fencing, LAC, NO_LEDGER / NO_ENTRY', async () => {
  const c = new SimBookieCluster({seed: 1})
  const t = c.transport
  const [b] = c.bookieIds as [string]
  await assert.rejects(c.run(t.readLac(b, 7)), isStatus(BookieStatus.NO_LEDGER))
  await c.run(t.addEntry(b, 7, 0, entry(0), KEY))
  await c.run(t.addEntry(b, 7, 1, entry(1), KEY))
  await assert.rejects(c.run(t.addEntry(b, 7, 2, entry(2), Buffer.from('other'))), isStatus(BookieStatus.UNAUTHORIZED))
  assert.equal(await c.run(t.readLac(b, 7)), 0)
  await assert.rejects(c.run(t.readEntry(b, 7, 5)), isStatus(BookieStatus.NO_ENTRY))
  assert.deepEqual(await c.run(t.readEntry(b, 7, -1)), entry(1))
  await c.run(t.writeLac(b, 7, 1, KEY))
  assert.equal(await c.run(t.fence(b, 7, KEY)), 1)
  await assert.rejects(c.run(t.addEntry(b, 7, 2, entry(2), KEY)), isStatus(BookieStatus.FENCED))
  await c.run(t.addEntry(b, 7, 2, entry(2), KEY, {recovery: true}))
  const bad = entry(3)
  bad[36] = (bad[36] as number) ^ 0xff
  await assert.rejects(c.run(t.addEntry(b, 7, 3, bad, KEY, {recovery: true})), isStatus(BookieStatus.BAD_CHECKSUM))
  // A fencing read on another bookie fences it and binds the key.
  const b2 = c.bookieIds[1] as string
  await assert.rejects(c.run(t.readEntry(b2, 7, 0, {fence: true, masterKey: KEY})), isStatus(BookieStatus.NO_ENTRY))
  assert.equal(c.bookie(b2).ledgers.get(7)?.fenced, true)
})

test('sim: long poll answers when the LAC reaches the entry, or at its timeout on the clock', async () => {
  const c = new SimBookieCluster({seed: 2})
  const t = c.transport
  const b = c.bookieIds[0] as string
  const start = c.clock.monotonicMs()
  assert.deepEqual(await c.run(t.longPollRead(b, 7, 0, 1000)), {lac: -1})
  assert.ok(c.clock.monotonicMs() - start >= 1000)
  const poll = t.longPollRead(b, 7, 0, 60_000)
  await c.runFor(100)
  await c.run(t.addEntry(b, 7, 0, entry(0), KEY))
  await c.run(t.addEntry(b, 7, 1, entry(1), KEY))
  const r = await c.run(poll)
  assert.equal(r.lac, 0)
  assert.deepEqual(r.entry, entry(0))
  assert.ok(c.clock.monotonicMs() - start < 2000)
})

test('sim: crash fails calls, keeps data; drop times out on the sim clock; corrupt flips bytes', async () => {
  const c = new SimBookieCluster({seed: 3, requestTimeoutMs: 3000})
  const t = c.transport
  const b = c.bookieIds[0] as string
  await c.run(t.addEntry(b, 7, 0, entry(0), KEY))
  const inflight = t.addEntry(b, 7, 1, entry(1), KEY)
  c.crash(b)
  await assert.rejects(c.run(inflight), BookieConnectionError)
  await assert.rejects(c.run(t.readLac(b, 7)), BookieConnectionError)
  c.restart(b)
  assert.deepEqual(await c.run(t.readEntry(b, 7, 0)), entry(0))

  c.setDrop(b, 1, 'response')
  const before = c.clock.monotonicMs()
  await assert.rejects(c.run(t.addEntry(b, 7, 1, entry(1), KEY)), TimeoutError)
  assert.equal(c.clock.monotonicMs() - before, 3000)
  assert.ok(c.stored(b, 7, 1), 'a dropped answer still applied the add')
  c.setDrop(b, 1, 'request')
  await assert.rejects(c.run(t.addEntry(b, 7, 2, entry(2), KEY)), TimeoutError)
  assert.equal(c.stored(b, 7, 2), undefined)
  c.setDrop(b, 0)

  c.setDelay(b, 400)
  const t0 = c.clock.monotonicMs()
  await c.run(t.readLac(b, 7))
  assert.ok(c.clock.monotonicMs() - t0 >= 800)

  c.corrupt(b, 7, 0)
  assert.equal(entryChecksumOk(await c.run(t.readEntry(b, 7, 0))), false)
  assert.equal(t.inFlightCount, 0)
  assert.equal(c.clock.pendingTimers(), 0)
})

test('sim: placement uses live writable bookies', async () => {
  const c = new SimBookieCluster({seed: 4, bookies: 4})
  const p = c.placement()
  const [b0, b1, b2, b3] = c.bookieIds as [string, string, string, string]
  c.crash(b3)
  assert.deepEqual((await p.newEnsemble(3)).sort(), [b0, b1, b2])
  await assert.rejects(p.newEnsemble(4), (e: unknown) => e instanceof NotEnoughBookiesError && e.needed === 4 && e.found === 3)
  c.restart(b3)
  c.setReadOnly(b0, true)
  assert.equal(await p.replaceBookie([b1, b2, b0], b0), b3)
  await assert.rejects(p.replaceBookie([b1, b2, b3], b1), NotEnoughBookiesError)
})

test('sim: a run names the seed on deadlock', async () => {
  const c = new SimBookieCluster({seed: 99})
  await assert.rejects(c.run(new Promise(() => {})), /SEED=99.*deadlock/)
})
