/**
 * Opens the real bookie core (bookie.ts) for a BookieService and publishes its numbers in the metrics
 * registry: journal fsync latency (from each journal WAL's own latency window, read at scrape time),
 * fsync and record counts, write-cache fill, queue depths (adds waiting for cache space, parked
 * long polls) and the read-only state. Nothing here sits on the add path: every value is sampled
 * when /metrics is scraped.
 */
import {systemClock} from '../../common/clock.js'
import type {WriteAheadLog} from '../../common/wal/types.js'
import {openWal} from '../../common/wal/wal.js'
import type {Logger} from '../../common/logger.js'
import type {MetricsRegistry} from '../../metrics/registry.js'
import {type Bookie, openBookie} from '../bookie.js'
import type {BookieOptionsInput} from '../options.js'
import type {BookieCore} from '../types.js'

export interface ClosableBookieCore extends BookieCore {
  close(): Promise<void>
  /** When present, the service follows read-only changes at once instead of at its next poll. */
  onReadOnlyChange?(listener: (readOnly: boolean) => void): () => void
  /** When both are present, the service runs the garbage collector (../gc.ts) over them. */
  listLedgers?(): number[]
  deleteLedger?(ledgerId: number): Promise<void>
}

/** Opens the core a BookieService serves (the real one by default; tests pass fakes). */
export type OpenBookieCore = (opts: BookieOptionsInput & {logger: Logger; metrics: MetricsRegistry}) => Promise<ClosableBookieCore>

export function registerCoreMetrics(metrics: MetricsRegistry, core: Bookie, wals: readonly WriteAheadLog[]): void {
  const walStats = () => wals.map((w) => w.stats())
  metrics.summary('bookie.journal.fsync_latency_ms', 'journal fdatasync latency over the recent window (ms)', {
    sample: () => {
      const all = walStats()
      const values = all.flatMap((s) => s.fsyncLatencyUs.map((us) => us / 1000))
      return {values, count: all.reduce((n, s) => n + s.fsyncs, 0), sum: values.reduce((a, b) => a + b, 0)}
    },
  })
  metrics.gauge('bookie.journal.fsyncs', 'journal fsyncs since start', () => walStats().reduce((n, s) => n + s.fsyncs, 0))
  metrics.gauge('bookie.journal.records', 'journal records written since start', () => walStats().reduce((n, s) => n + s.records, 0))
  metrics.gauge('bookie.journal.bytes', 'journal bytes written since start', () => walStats().reduce((n, s) => n + s.bytes, 0))
  metrics.gauge('bookie.core.adds', 'entries added since start', () => core.stats().adds)
  metrics.gauge('bookie.core.reads', 'entries read since start', () => core.stats().reads)
  metrics.gauge('bookie.core.write_cache_bytes', 'bytes in the write cache not yet flushed to entry logs', () => core.stats().cacheBytes)
  metrics.gauge('bookie.core.write_cache_flushing_bytes', 'bytes in the write cache half being flushed', () => core.stats().frozenBytes)
  metrics.gauge('bookie.core.add_waiters', 'adds queued for write-cache space', () => core.stats().addWaiters)
  metrics.gauge('bookie.core.long_polls', 'long-poll reads parked', () => core.stats().longPolls)
  metrics.gauge('bookie.core.entry_logs', 'entry log files', () => core.stats().entryLogs)
  metrics.gauge('bookie.core.ledgers', 'ledgers stored', () => core.stats().ledgers)
  metrics.gauge('bookie.core.read_only', '1 when the bookie is read-only', () => (core.isReadOnly() ? 1 : 0))
}

/** The default OpenBookieCore: the real core, its journal WALs tapped for metrics. */
export const openRealBookieCore: OpenBookieCore = async (opts) => {
  const wals: WriteAheadLog[] = []
  const journalLog = opts.logger.child('journal')
  const core = await openBookie({
    ...opts,
    openWal: async (o) => {
      const wal = await openWal({...o, clock: opts.clock ?? systemClock, logger: journalLog})
      wals.push(wal)
      return wal
    },
  })
  registerCoreMetrics(opts.metrics, core, wals)
  return core satisfies ClosableBookieCore
}
