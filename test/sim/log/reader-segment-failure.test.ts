/**
 * A segment reader that fails after it had prefetched entries (4c32d31 hands those out first): the log
 * reader above returns those records, in order and once each, then fails with the segment's error; it
 * does not take the failure for the segment's end and go on to the next segment.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {LedgerError, LedgerErrorCode} from '../../../src/engine/ledger/errors.js'
import {rec, world} from '../../helpers/memory-log-world.js'

test('log reader - a segment that fails after prefetching: its records, then the error, never the next segment', async () => {
  const w = world({prefetchEntriesPerSegment: 4, prefetchEntriesPerSegmentMax: 4, readAheadBatchEntries: 1, readAheadRecordsMax: 1})
  const lm = await w.open()
  const first = await lm.openAsyncLogWriter()
  for (let t = 1; t <= 8; t++) await first.write(rec(t))
  await first.close()
  const second = await lm.openAsyncLogWriter()
  for (let t = 9; t <= 10; t++) await second.write(rec(t))
  await second.close()
  const segments = await lm.getLogSegments()
  assert.equal(segments.length, 2)

  const reader = await lm.getAsyncLogReader()
  const got: number[] = []
  got.push((await reader.readNext()).txid)
  // Everything read so far stays good; the next read request of segment 1 fails for good.
  w.ledgers.failReads(1, new LedgerError(LedgerErrorCode.NO_SUCH_LEDGER, 'gone'))
  let failure: unknown
  for (;;) {
    try {
      got.push((await reader.readNext()).txid)
    } catch (e) {
      failure = e
      break
    }
  }
  await reader.close()
  assert.match(String(failure), /gone/)
  assert.ok(got.length >= 2 && got.length < 8, `some prefetched records came out before the error: ${got.join(',')}`)
  assert.deepEqual(
    got,
    got.map((_, i) => i + 1),
    'in order, once each, none past the failure and none of segment 2',
  )
})
