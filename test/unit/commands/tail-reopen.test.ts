/**
 * `dlog tail`'s idle reopen when the tail is stopping meanwhile (Ctrl-C, or another stream reached -n):
 * the read loop runs over stub readers and a stub log manager, and stopAll() runs while the reopen is in
 * flight. The stop must win: no error is reported (Ctrl-C exits 0), and a reader the reopen still
 * returned is closed, not left long-polling after stopAll() closed everything else.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import Tail from '../../../src/commands/tail.js'
import {DLSN} from '../../../src/engine/log/dlsn.js'
import {AlreadyClosedError, IdleReaderError} from '../../../src/engine/log/errors.js'

interface StubReader {
  closed: boolean
  readBulk(): Promise<never[]>
  close(): Promise<void>
}

interface TailInternals {
  stopping: boolean
  failed: boolean
  delivered: number
  streams: {name: string; label: string; lm: unknown; reader?: StubReader}[]
  stopAll(): Promise<void>
  readLoop(s: unknown, start: DLSN, limit: number, emit: () => string): Promise<void>
}

const idleReader = (): StubReader => ({
  closed: false,
  readBulk: () => Promise.reject(new IdleReaderError('Reader on stream s is idle for 99 ms')),
  async close() {
    this.closed = true
  },
})

/** Runs one read loop whose reopen resolves (or rejects) only after the tail began to stop. */
async function reopenDuringStop(reopen: 'resolves' | 'rejects'): Promise<{t: TailInternals; stderr: string; reopened: StubReader}> {
  const t = Object.create(Tail.prototype) as TailInternals
  Object.assign(t, {stopping: false, failed: false, delivered: 0, streams: []})
  const reopened = idleReader()
  const lm = {
    async getAsyncLogReader() {
      await t.stopAll()
      if (reopen === 'rejects') throw new AlreadyClosedError('Log manager of s is closed')
      return reopened
    },
    close: () => Promise.resolve(),
  }
  const s = {name: 's', label: 's', lm, reader: idleReader()}
  t.streams.push(s)
  let stderr = ''
  const write = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string) => {
    stderr += chunk
    return true
  }) as typeof process.stderr.write
  try {
    await t.readLoop(s, DLSN.InitialDLSN, Number.POSITIVE_INFINITY, () => '')
  } finally {
    process.stderr.write = write
  }
  return {t, stderr, reopened}
}

describe('commands/tail > idle reopen while stopping', () => {
  it('a reopen that fails because the tail stopped is not reported as a read failure', async () => {
    const {t, stderr} = await reopenDuringStop('rejects')
    assert.doesNotMatch(stderr, /Encountered error/)
    assert.equal(t.failed, false, 'Ctrl-C during a reopen exits 0')
  })

  it('a reader the reopen returns after the stop is closed', async () => {
    const {t, stderr, reopened} = await reopenDuringStop('resolves')
    assert.equal(reopened.closed, true, 'the reopened reader is closed')
    assert.equal(t.failed, false)
    assert.doesNotMatch(stderr, /Encountered error/)
  })
})
