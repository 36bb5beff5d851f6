/**
 * A log world over in-memory ledgers and metadata (H7's MemoryLedgers, the MemoryLogMetadataStore): the
 * LogContext the log core needs, with writer-friendly defaults (immediate flush, no buffering, no rolling
 * or retention unless a test asks) and a wall clock tests can push forward. Used by the log-core sim
 * tests and their review.
 */
import {systemClock, type Clock} from '../../src/engine/common/clock.js'
import {silentLogger} from '../../src/engine/common/logger.js'
import {DL_CONFIG_DEFAULTS, type DistributedLogConfig} from '../../src/engine/log/config.js'
import {type LogContext, type LogManager, openLog} from '../../src/engine/log/log-manager.js'
import type {AsyncLogReader} from '../../src/engine/log/reader/log-reader.js'
import type {LogRecordWithDLSN} from '../../src/engine/log/types.js'
import {MemoryLedgers} from './memory-ledgers.js'
import {MemoryLogMetadataStore, MemoryWriteLock} from './memory-log-metadata.js'

/** The system clock with wall time that tests can push forward (retention, rolling). */
export function skewClock(): Clock & {skewMs: number} {
  const c = {
    skewMs: 0,
    nowMs: () => Date.now() + c.skewMs,
    monotonicMs: () => systemClock.monotonicMs(),
    setTimeout: systemClock.setTimeout,
    clearTimeout: systemClock.clearTimeout,
  }
  return c
}

export interface World {
  store: MemoryLogMetadataStore
  ledgers: MemoryLedgers
  clock: Clock & {skewMs: number}
  ctx(clientId?: string, overrides?: Partial<DistributedLogConfig>): LogContext
  open(clientId?: string, overrides?: Partial<DistributedLogConfig>): Promise<LogManager>
}

export function world(base: Partial<DistributedLogConfig> = {}, logName = 'stream-0'): World {
  const store = new MemoryLogMetadataStore()
  const ledgers = new MemoryLedgers()
  const clock = skewClock()
  const config: DistributedLogConfig = {
    ...DL_CONFIG_DEFAULTS,
    writerOutputBufferBytes: 0,
    immediateFlushEnabled: true,
    logSegmentRollingMinutes: 0,
    logSegmentRetentionHours: 0,
    lockTimeoutMs: 0,
    readLACLongPollTimeoutMs: 200,
    ...base,
  }
  const ctx = (clientId = 'writer-a', overrides: Partial<DistributedLogConfig> = {}): LogContext => ({
    store,
    ledgers,
    createLock: (name) => new MemoryWriteLock(store, name, clientId),
    config: {...config, ...overrides},
    clock,
    logger: silentLogger,
    createLog: (name) => store.createLog(name),
    logExists: (name) => store.logExists(name),
    deleteLog: (name) => store.deleteLog(name, {deleteLedger: (id) => ledgers.deleteLedger(id)}),
  })
  return {store, ledgers, clock, ctx, open: (clientId, overrides) => openLog(ctx(clientId, overrides), logName)}
}

export const rec = (txid: number, text = `record-${txid}`) => ({txid, payload: Buffer.from(text)})

export async function readN(reader: AsyncLogReader, n: number): Promise<LogRecordWithDLSN[]> {
  const out: LogRecordWithDLSN[] = []
  while (out.length < n) out.push(...(await reader.readBulk(n - out.length)))
  return out
}

