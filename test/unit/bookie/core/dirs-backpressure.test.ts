import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {BookieError, BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {freshDirs} from '../../../helpers/tmp.js'
import {KEY, makeEntry, openTestBookie} from './helpers.js'

const fresh = freshDirs('dlog-bookie-dirs-')

test('bookie dirs - entry logs are spread over several ledger dirs and read back, also after restart', async () => {
  const root = fresh()
  const ledgerDirs = [0, 1, 2].map((i) => join(root, `ld${i}`))
  const opts = {journalDirs: [join(root, 'j0'), join(root, 'j1')], ledgerDirs, entryLogSizeBytesMax: 16 * 1024}
  let {bookie} = await openTestBookie(root, opts)
  const want = new Map<string, Buffer>()
  for (let round = 0; round < 6; round++) {
    const ps: Promise<void>[] = []
    for (let e = round * 40; e < (round + 1) * 40; e++) {
      for (const l of [1, 2]) {
        const entry = makeEntry(l, e, {bytes: 400})
        want.set(`${l}/${e}`, entry)
        ps.push(bookie.addEntry({entry, masterKey: KEY, recovery: false}))
      }
    }
    await Promise.all(ps)
    await bookie.checkpoint()
  }
  for (const d of ledgerDirs) {
    const logs = readdirSync(join(d, 'current')).filter((f) => f.endsWith('.log'))
    assert.ok(logs.length >= 1, `no entry log in ${d}`)
  }
  // Both journals were used (ledger 1 → journal 1, ledger 2 → journal 0).
  for (const j of opts.journalDirs) assert.ok(readdirSync(join(j, 'current')).some((f) => f.endsWith('.wal')))
  await bookie.close()
  ;({bookie} = await openTestBookie(root, opts))
  for (const [k, v] of want) {
    const [l, e] = k.split('/').map(Number) as [number, number]
    assert.deepEqual(await bookie.readEntry({ledgerId: l, entryId: e}), v, k)
  }
  await bookie.close()
})

test('bookie dirs - a ledger or journal dir that cannot be used fails the open with an error naming it', async () => {
  const root = fresh()
  mkdirSync(root, {recursive: true})
  const file = join(root, 'not-a-dir')
  writeFileSync(file, 'x')
  await assert.rejects(
    openTestBookie(root, {ledgerDirs: [join(root, 'ok'), file]}),
    (e: unknown) => e instanceof InvalidInputError && e.message.includes(`ledger directory ${file}`) && e.message.includes('not a directory'),
  )
  const under = join(file, 'sub')
  await assert.rejects(
    openTestBookie(root, {journalDirs: [under]}),
    (e: unknown) => e instanceof InvalidInputError && e.message.includes(`journal directory ${under}`),
  )
})

test('bookie backpressure - adds wait for cache space instead of growing memory past the bound', async (t) => {
  const cacheMax = 64 * 1024
  const {bookie} = await openTestBookie(fresh(), {writeCacheBytesMax: cacheMax})
  t.after(() => bookie.close())
  let peak = 0
  const ps: Promise<void>[] = []
  for (let e = 0; e < 600; e++) {
    const p = bookie.addEntry({entry: makeEntry(1, e, {bytes: 1000}), masterKey: KEY, recovery: false}).then(() => {
      const s = bookie.stats()
      peak = Math.max(peak, s.cacheBytes + s.frozenBytes)
    })
    ps.push(p)
  }
  // 600 KB offered at once to a 64 KiB cache: most adds had to wait for flushes.
  assert.ok(bookie.stats().addWaiters > 0)
  await Promise.all(ps)
  assert.ok(peak <= cacheMax, `cache held ${peak} bytes, bound ${cacheMax}`)
  for (let e = 0; e < 600; e += 37) assert.deepEqual(await bookie.readEntry({ledgerId: 1, entryId: e}), makeEntry(1, e, {bytes: 1000}))
})

test('bookie backpressure - the queue of waiting adds is bounded', async (t) => {
  const {bookie} = await openTestBookie(fresh(), {writeCacheBytesMax: 64 * 1024, addWaitersMax: 5})
  t.after(() => bookie.close())
  const results = await Promise.allSettled(
    Array.from({length: 200}, (_, e) => bookie.addEntry({entry: makeEntry(1, e, {bytes: 1000}), masterKey: KEY, recovery: false})),
  )
  const refused = results.filter((r) => r.status === 'rejected')
  assert.ok(refused.length > 0)
  for (const r of refused) {
    const e = (r as PromiseRejectedResult).reason
    assert.ok(e instanceof BookieError && e.code === BookieStatus.TOO_MANY_REQUESTS, String(e))
  }
})
