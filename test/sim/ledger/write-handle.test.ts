/**
 * Seeded simulation of the ledger add path (ledger/write-handle.ts) over the simulated bookies and the
 * in-memory metadata store: striping, in-order completions, LAC, backpressure, explicit LAC, ensemble
 * change (the first entry id it records, resends), fencing, quorum loss, close races and recovery
 * mode; then many seeds of random faults (crash, restart, delay, drop, reorder) checking that every
 * acknowledged entry is on at least Qa bookies of its write set, completions are in order, and nothing
 * is acknowledged twice. A failing seed is printed; `SEED=<n>` replays just that one.
 */
import {test} from 'node:test'
import assert from 'node:assert/strict'

import {SeededRandom} from '../../../src/engine/common/random.js'
import {LedgerError, LedgerErrorCode, LedgerFencedError} from '../../../src/engine/ledger/errors.js'
import type {BookieId, LedgerClientConfig, LedgerMetadata, Versioned} from '../../../src/engine/ledger/types.js'
import {LedgerWriteHandle} from '../../../src/engine/ledger/write-handle.js'
import {decodeEntry, entryChecksumOk} from '../../../src/engine/protocol/bookie/entry.js'
import {type LedgerSim, ledgerSim} from '../../helpers/ledger-sim.js'
import {expectedWriteSet, newLedgerMetadata} from '../../helpers/memory-ledger-metadata.js'

const PASSWORD = Buffer.from('pw')

type Fixture = LedgerSim

/** The shared sim (seed 1, three bookies, 1 s add timeout by default) with an explicit LAC every 500 ms. */
function fixture(opts: {seed?: number; bookies?: number; config?: Partial<LedgerClientConfig>} = {}): Fixture {
  return ledgerSim({seed: opts.seed, bookies: opts.bookies, config: {explicitLacIntervalMs: 500, ...opts.config}})
}

async function createLedger(f: Fixture, e: number, qw: number, qa: number, state: LedgerMetadata['state'] = 'OPEN'): Promise<Versioned<LedgerMetadata>> {
  const bookies = await f.ctx.placement.newEnsemble(e)
  return f.store.createLedgerMetadata((ledgerId) => newLedgerMetadata(ledgerId, bookies, {writeQuorumSize: qw, ackQuorumSize: qa, state, password: PASSWORD}))
}

const payload = (i: number) => Buffer.from(`entry-${i}-${'y'.repeat(i % 13)}`)

/** Bookies of the entry's write set holding exactly the payload written. */
function goodCopies(f: Fixture, m: LedgerMetadata, entryId: number, expected: Buffer): BookieId[] {
  return expectedWriteSet(m, entryId).filter((b) => {
    const e = f.cluster.stored(b, m.ledgerId, entryId)
    return e !== undefined && entryChecksumOk(e) && decodeEntry(e).payload.equals(expected)
  })
}

/** Starts appends and records the order in which they settle. */
function appendAll(h: LedgerWriteHandle, payloads: Buffer[], settled: {i: number; id?: number; error?: unknown}[], offset = 0): Promise<unknown>[] {
  return payloads.map((p, k) =>
    h.append(p).then(
      (id) => void settled.push({i: offset + k, id}),
      (error: unknown) => void settled.push({i: offset + k, error}),
    ),
  )
}

test('stripes entry e over bookies (e + i) mod E, completes in order, LAC and length follow', async () => {
  const f = fixture({bookies: 4})
  const v = await createLedger(f, 4, 2, 2)
  const h = new LedgerWriteHandle(f.ctx, v)
  f.cluster.setReorder(5)
  const settled: {i: number; id?: number}[] = []
  await f.cluster.run(Promise.all(appendAll(h, Array.from({length: 40}, (_, i) => payload(i)), settled)))
  assert.deepEqual(settled.map((s) => s.id), Array.from({length: 40}, (_, i) => i))
  assert.equal(h.lastAddConfirmed, 39)
  assert.equal(h.lastAddPushed, 39)
  const ens = v.value.ensembles[0]?.bookies as BookieId[]
  for (let e = 0; e < 40; e++) {
    assert.deepEqual(f.cluster.holders(v.value.ledgerId, e).sort(), [ens[e % 4], ens[(e + 1) % 4]].sort(), `entry ${e}`)
    const stored = decodeEntry(f.cluster.stored(ens[e % 4] as BookieId, v.value.ledgerId, e) as Buffer)
    assert.ok(stored.lac < e, 'the piggybacked LAC is below the entry')
  }
  await f.cluster.run(h.close())
  const m = f.store.peek(v.value.ledgerId)?.value
  assert.equal(m?.state, 'CLOSED')
  assert.equal(m?.lastEntryId, 39)
  assert.equal(m?.length, Array.from({length: 40}, (_, i) => payload(i).length).reduce((a, b) => a + b))
  await assert.rejects(h.append(Buffer.from('late')), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.LEDGER_CLOSED)
  assert.equal(f.cluster.clock.pendingTimers(), 0, 'a closed handle leaves no timer behind')
})

test('a slow bookie does not reorder completions; outstandingAddsMax bounds what is in flight', async () => {
  const f = fixture({config: {outstandingAddsMax: 4}})
  const v = await createLedger(f, 3, 3, 2)
  const h = new LedgerWriteHandle(f.ctx, v)
  const ens = v.value.ensembles[0]?.bookies as BookieId[]
  f.cluster.setDelay(ens[0] as BookieId, 30)
  let maxInFlight = 0
  const seen = new Set<number>()
  f.cluster.onRequest = (r) => {
    if (r.op === 'addEntry' && r.entryId !== undefined) seen.add(r.entryId)
    maxInFlight = Math.max(maxInFlight, h.lastAddPushed - h.lastAddConfirmed)
    return undefined
  }
  const settled: {i: number; id?: number}[] = []
  await f.cluster.run(Promise.all(appendAll(h, Array.from({length: 30}, (_, i) => payload(i)), settled)))
  assert.deepEqual(settled.map((s) => s.id), Array.from({length: 30}, (_, i) => i))
  assert.ok(maxInFlight <= 4, `in flight ${maxInFlight}`)
  assert.equal(seen.size, 30)
})

test('an idle writer sends the LAC explicitly after explicitLacIntervalMs', async () => {
  const f = fixture()
  const v = await createLedger(f, 3, 3, 2)
  const h = new LedgerWriteHandle(f.ctx, v)
  await f.cluster.run(Promise.all([0, 1, 2].map((i) => h.append(payload(i)))))
  const ens = v.value.ensembles[0]?.bookies as BookieId[]
  const lacs = () => ens.map((b) => f.cluster.bookie(b).ledgers.get(v.value.ledgerId)?.lac)
  assert.ok(lacs().every((l) => l !== undefined && l < 2), 'the last entry only carries LAC 1')
  await f.cluster.runFor(400)
  assert.ok(lacs().every((l) => l !== undefined && l < 2), 'not yet idle long enough')
  await f.cluster.runFor(200)
  assert.deepEqual(lacs(), [2, 2, 2])
  const writes = f.cluster.log.filter((r) => r.op === 'writeLac').length
  await f.cluster.runFor(5000)
  assert.equal(f.cluster.log.filter((r) => r.op === 'writeLac').length, writes, 'sent once, not periodically')
  await f.cluster.run(h.close())
})

test('ensemble change: new segment from LAC+1, unconfirmed entries resent to the replacement', async () => {
  const f = fixture({bookies: 4})
  const v = await createLedger(f, 3, 3, 2)
  const h = new LedgerWriteHandle(f.ctx, v)
  const id = v.value.ledgerId
  await f.cluster.run(Promise.all(Array.from({length: 10}, (_, i) => h.append(payload(i)))))
  assert.equal(h.lastAddConfirmed, 9)
  const [victim] = v.value.ensembles[0]?.bookies as BookieId[]
  f.cluster.crash(victim as BookieId)
  const more = Array.from({length: 10}, (_, i) => h.append(payload(10 + i)))
  assert.deepEqual(await f.cluster.run(Promise.all(more)), Array.from({length: 10}, (_, i) => 10 + i))
  const m = f.store.peek(id)?.value as LedgerMetadata
  assert.equal(m.ensembles.length, 2)
  assert.equal(m.ensembles[1]?.firstEntryId, 10)
  const replacement = (m.ensembles[1]?.bookies as BookieId[]).find((b) => !(m.ensembles[0]?.bookies as BookieId[]).includes(b)) as BookieId
  assert.ok(replacement && replacement !== victim)
  for (let e = 10; e < 20; e++) assert.ok(f.cluster.stored(replacement, id, e), `replacement has entry ${e}`)
  assert.deepEqual(h.metadata.ensembles, m.ensembles)
  await f.cluster.run(h.close())
})

test('an ensemble change survives a lost metadata race and a bookie that only times out', async () => {
  const f = fixture({bookies: 5, config: {addEntryTimeoutMs: 200}})
  const v = await createLedger(f, 3, 3, 3)
  const h = new LedgerWriteHandle(f.ctx, v)
  await f.cluster.run(h.append(payload(0)))
  const slow = v.value.ensembles[0]?.bookies[1] as BookieId
  f.cluster.setDrop(slow, 1, 'request')
  f.store.conflictNextWrite((m) => ({...m, customMetadata: {other: Buffer.from('x')}}))
  assert.equal(await f.cluster.run(h.append(payload(1))), 1)
  const m = f.store.peek(v.value.ledgerId)?.value as LedgerMetadata
  assert.equal(m.ensembles[1]?.firstEntryId, 1)
  assert.ok(!m.ensembles[1]?.bookies.includes(slow))
  assert.equal(m.customMetadata.other?.toString(), 'x', "the other writer's change is kept")
})

test('FENCED from a bookie fails pending and later appends with LedgerFencedError', async () => {
  const f = fixture()
  const v = await createLedger(f, 3, 3, 2)
  const h = new LedgerWriteHandle(f.ctx, v)
  await f.cluster.run(h.append(payload(0)))
  for (const b of v.value.ensembles[0]?.bookies as BookieId[]) await f.cluster.run(f.ctx.transport.fence(b, v.value.ledgerId, PASSWORD))
  const settled: {i: number; id?: number; error?: unknown}[] = []
  await f.cluster.run(Promise.all(appendAll(h, [payload(1), payload(2)], settled)))
  assert.ok(settled.every((s) => s.error instanceof LedgerFencedError))
  await assert.rejects(h.append(payload(3)), LedgerFencedError)
  assert.equal(h.lastAddConfirmed, 0)
})

test('an ensemble change finding the ledger IN_RECOVERY fails with LedgerFencedError', async () => {
  const f = fixture({bookies: 4})
  const v = await createLedger(f, 3, 3, 2)
  const h = new LedgerWriteHandle(f.ctx, v)
  await f.cluster.run(h.append(payload(0)))
  f.store.externalUpdate(v.value.ledgerId, (m) => ({...m, state: 'IN_RECOVERY'}))
  f.cluster.crash(v.value.ensembles[0]?.bookies[0] as BookieId)
  // Qa = 2 is still reachable for this entry, but its completion waits for the ensemble change.
  await assert.rejects(f.cluster.run(h.append(payload(1))), LedgerFencedError)
  assert.equal(f.store.peek(v.value.ledgerId)?.value.state, 'IN_RECOVERY')
})

test('no replacement: writes go on while Qa holds, then fail with QUORUM_FAILED', async () => {
  const f = fixture({bookies: 3})
  const v = await createLedger(f, 3, 3, 2)
  const h = new LedgerWriteHandle(f.ctx, v)
  const ens = v.value.ensembles[0]?.bookies as BookieId[]
  await f.cluster.run(h.append(payload(0)))
  f.cluster.crash(ens[0] as BookieId)
  assert.deepEqual(await f.cluster.run(Promise.all([1, 2, 3].map((i) => h.append(payload(i))))), [1, 2, 3])
  f.cluster.crash(ens[1] as BookieId)
  const settled: {i: number; id?: number; error?: unknown}[] = []
  await f.cluster.run(Promise.all(appendAll(h, [payload(4), payload(5)], settled)))
  for (const s of settled) assert.ok(s.error instanceof LedgerError && s.error.code === LedgerErrorCode.QUORUM_FAILED, String(s.error))
  await assert.rejects(h.append(payload(6)), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.QUORUM_FAILED)
  assert.equal(h.lastAddConfirmed, 3)
  await f.cluster.run(h.close())
  assert.equal(f.store.peek(v.value.ledgerId)?.value.lastEntryId, 3)
})

test('close racing a recovery: accepted when closed at the same entry, an error otherwise', async () => {
  for (const other of [2, 5]) {
    const f = fixture()
    const v = await createLedger(f, 3, 3, 2)
    const h = new LedgerWriteHandle(f.ctx, v)
    await f.cluster.run(Promise.all([0, 1, 2].map((i) => h.append(payload(i)))))
    f.store.conflictNextWrite((m) => ({...m, state: 'CLOSED', lastEntryId: other, length: 99}))
    if (other === 2) {
      await f.cluster.run(h.close())
      assert.equal(h.metadata.state, 'CLOSED')
      assert.equal(h.metadata.length, 99, "the recovery's metadata is adopted")
    } else {
      await assert.rejects(f.cluster.run(h.close()), (e: unknown) => e instanceof LedgerError && e.code === LedgerErrorCode.LEDGER_CLOSED)
    }
  }
})

test('recovery mode: ids continue after the recovered LAC, fenced bookies accept, close writes CLOSED', async () => {
  const f = fixture({bookies: 4})
  const v = await createLedger(f, 3, 3, 2, 'IN_RECOVERY')
  const id = v.value.ledgerId
  for (const b of v.value.ensembles[0]?.bookies as BookieId[]) await f.cluster.run(f.ctx.transport.fence(b, id, PASSWORD))
  assert.throws(() => new LedgerWriteHandle(f.ctx, v), LedgerError)
  const h = new LedgerWriteHandle(f.ctx, v, {recovery: {lastAddConfirmed: 6, length: 70}})
  assert.equal(await f.cluster.run(h.append(payload(7))), 7)
  f.cluster.crash(v.value.ensembles[0]?.bookies[2] as BookieId)
  assert.equal(await f.cluster.run(h.append(payload(8))), 8)
  await f.cluster.run(h.close())
  const m = f.store.peek(id)?.value as LedgerMetadata
  assert.equal(m.state, 'CLOSED')
  assert.equal(m.lastEntryId, 8)
  assert.equal(m.length, 70 + payload(7).length + payload(8).length)
  assert.equal(m.ensembles.length, 2, 'recovery changed the ensemble too')
  assert.equal(m.ensembles[1]?.firstEntryId, 8)
  assert.ok(f.cluster.log.filter((r) => r.op === 'addEntry').every((r) => r.recovery))
})

// ---------------------------------------------------------------------------------------------------
// Random faults, many seeds.

function seeds(count: number): number[] {
  const env = process.env.SEED
  if (env !== undefined && env !== '') return [Number(env)]
  const base = Math.floor(Math.random() * 1_000_000)
  return Array.from({length: count}, (_, i) => base + i)
}

const stats = {runs: 0, ensembleChanges: 0, failedRuns: 0, acked: 0}

async function randomRun(seed: number): Promise<void> {
  const rnd = new SeededRandom(seed ^ 0x5eed)
  const bookies = 4 + rnd.nextInt(3)
  const shapes = [
    [3, 3, 2],
    [3, 2, 2],
    [4, 3, 2],
    [3, 3, 3],
    [2, 2, 1],
  ] as const
  const [e, qw, qa] = shapes[rnd.nextInt(shapes.length)] as readonly [number, number, number]
  const f = fixture({
    seed,
    bookies,
    config: {addEntryTimeoutMs: 300 + rnd.nextInt(700), outstandingAddsMax: 1 + rnd.nextInt(64), explicitLacIntervalMs: rnd.nextInt(2) * 200},
  })
  f.cluster.requestTimeoutMs = 2000
  const v = await createLedger(f, e, qw, qa)
  const h = new LedgerWriteHandle(f.ctx, v)
  const payloads: Buffer[] = []
  const settled: {i: number; id?: number; error?: unknown}[] = []
  const all: Promise<unknown>[] = []
  let crashed = 0
  for (let round = 0; round < 12; round++) {
    const n = 1 + rnd.nextInt(25)
    const batch = Array.from({length: n}, (_, k) => payload(payloads.length + k))
    all.push(...appendAll(h, batch, settled, payloads.length))
    payloads.push(...batch)
    const ids = f.cluster.bookieIds
    const b = ids[rnd.nextInt(ids.length)] as BookieId
    switch (rnd.nextInt(8)) {
      case 0:
        if (crashed < bookies - e) {
          f.cluster.crash(b)
          crashed++
        }
        break
      case 1:
        f.cluster.restart(b)
        break
      case 2:
        f.cluster.setDelay(b, rnd.nextInt(400))
        break
      case 3:
        f.cluster.setDrop(b, rnd.nextFloat() * 0.3, rnd.nextInt(2) === 0 ? 'request' : 'response')
        break
      case 4:
        f.cluster.setReorder(rnd.nextInt(20))
        break
      default:
        break
    }
    await f.cluster.runFor(rnd.nextInt(300))
  }
  await f.cluster.run(Promise.all(all), {maxMs: 600_000})
  // Heal the network so close can finish, then check.
  for (const b of f.cluster.bookieIds) {
    f.cluster.setDrop(b, 0)
    f.cluster.setDelay(b, 0)
  }
  const closed = await f.cluster.run(h.close()).then(
    () => true,
    (err: unknown) => {
      assert.ok(err instanceof LedgerError, `close failed with ${String(err)}`)
      return false
    },
  )

  // Completions in order, each append settled once, successes a prefix-contiguous run of ids.
  assert.equal(settled.length, payloads.length, 'every append settled exactly once')
  const ok = settled.filter((s) => s.id !== undefined)
  assert.deepEqual(
    ok.map((s) => s.id),
    ok.map((_, k) => k),
    'acknowledged ids are 0..n-1 in completion order',
  )
  for (const s of ok) assert.equal(s.id, s.i, 'each append got the id of its position')
  const firstFail = settled.findIndex((s) => s.id === undefined)
  if (firstFail >= 0) {
    assert.ok(
      settled.slice(firstFail).every((s) => s.id === undefined),
      `after one failure every later append fails: ${JSON.stringify(settled.map((s) => (s.id === undefined ? `x${s.i}:${String(s.error)}` : s.id)))}`,
    )
  }
  assert.equal(h.lastAddConfirmed, ok.length - 1)

  // Every acknowledged entry is on >= Qa bookies of its write set under the final metadata.
  const m = h.metadata
  stats.runs++
  stats.ensembleChanges += m.ensembles.length - 1
  stats.acked += ok.length
  if (firstFail >= 0) stats.failedRuns++
  for (const s of ok) {
    const id = s.id as number
    const copies = goodCopies(f, m, id, payloads[id] as Buffer)
    assert.ok(copies.length >= qa, `entry ${id} on ${copies.length} bookies of its write set (Qa ${qa})`)
  }
  // Segments: strictly increasing first ids, each ensemble change starting right after an acknowledged prefix.
  for (let k = 1; k < m.ensembles.length; k++) {
    const first = (m.ensembles[k] as {firstEntryId: number}).firstEntryId
    assert.ok(first > (m.ensembles[k - 1] as {firstEntryId: number}).firstEntryId)
    assert.ok(first <= ok.length, `segment ${k} starts at ${first}, past the unacknowledged entry ${ok.length}`)
  }
  if (closed) {
    const stored = f.store.peek(m.ledgerId)?.value as LedgerMetadata
    assert.equal(stored.state, 'CLOSED')
    assert.equal(stored.lastEntryId, ok.length - 1)
    assert.equal(stored.length, payloads.slice(0, ok.length).reduce((a, b) => a + b.length, 0))
  }
}

test('random faults over many seeds: acknowledged entries are on Qa bookies, in order, once', async () => {
  const list = seeds(Number(process.env.SIM_RUNS ?? 100))
  for (const seed of list) {
    try {
      await randomRun(seed)
    } catch (e) {
      console.log(`write-handle sim failed: SEED=${seed} node --import tsx --test test/sim/ledger/write-handle.test.ts`)
      throw e
    }
  }
  console.log(`write-handle sim: ${stats.runs} runs: ${stats.acked} entries acknowledged, ${stats.ensembleChanges} ensemble changes, ${stats.failedRuns} runs ended in failed appends`)
  assert.ok(list.length < 20 || stats.ensembleChanges > 0, 'the faults do cause ensemble changes')
})
