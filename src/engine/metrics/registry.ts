/**
 * A tiny metrics registry shared by every engine layer: counters, gauges and summaries (latency or
 * size distributions over a bounded reservoir of recent samples), rendered as Prometheus text.
 *
 * Names are dotted scopes like BookKeeper's stats scopes (`bookie.journal.fsync_latency_ms`); the
 * Prometheus rendering turns every character outside [a-zA-Z0-9_:] into `_`. Recording is cheap
 * (an add, or a store into a ring buffer) so it can sit on the hot add path; quantiles are computed
 * only when /metrics is scraped. Every structure is bounded: a summary keeps at most
 * `reservoirSize` samples, and a registry at most METRICS_COUNT_MAX metrics.
 */
import {assert} from '../common/assert.js'
import {InvalidInputError} from '../common/errors.js'

export const METRICS_COUNT_MAX = 1024
export const RESERVOIR_SIZE_DEFAULT = 1024
const QUANTILES_DEFAULT = [0.5, 0.9, 0.99, 0.999] as const

export type Labels = Readonly<Record<string, string>>

export class Counter {
  readonly kind = 'counter'
  readonly name: string
  readonly help: string
  private valueTotal = 0

  constructor(name: string, help: string) {
    this.name = name
    this.help = help
  }

  inc(n = 1): void {
    this.valueTotal += n
  }

  get value(): number {
    return this.valueTotal
  }
}

export class Gauge {
  readonly kind = 'gauge'
  readonly name: string
  readonly help: string
  private current = 0
  private readonly sample: (() => number) | undefined

  /** With `sample`, the gauge reads its value at scrape time (queue depths, disk space). */
  constructor(name: string, help: string, sample?: () => number) {
    this.name = name
    this.help = help
    this.sample = sample
  }

  set(v: number): void {
    this.current = v
  }

  inc(n = 1): void {
    this.current += n
  }

  dec(n = 1): void {
    this.current -= n
  }

  get value(): number {
    return this.sample ? this.sample() : this.current
  }
}

/** What a sampled summary reads at scrape time (e.g. a component's own bounded latency window). */
export interface SummarySample {
  /** Recent observations (the window quantiles are computed from). */
  values: readonly number[]
  count: number
  sum: number
}

/**
 * Count, sum and quantiles of observations. Quantiles come from the last `reservoirSize`
 * observations (a sliding window, so a slow minute shows up instead of drowning in history).
 * With `sample`, nothing is observed here: every read asks the component that keeps the data.
 */
export class Summary {
  readonly kind = 'summary'
  readonly name: string
  readonly help: string
  readonly quantiles: readonly number[]
  private readonly reservoir: Float64Array
  private filled = 0
  private next = 0
  private countTotal = 0
  private sumTotal = 0
  private readonly sample: (() => SummarySample) | undefined

  constructor(
    name: string,
    help: string,
    quantiles: readonly number[] = QUANTILES_DEFAULT,
    reservoirSize = RESERVOIR_SIZE_DEFAULT,
    sample?: () => SummarySample,
  ) {
    this.name = name
    this.help = help
    this.quantiles = quantiles
    this.sample = sample
    assert(reservoirSize > 0, 'reservoir size must be positive')
    this.reservoir = new Float64Array(reservoirSize)
  }

  observe(v: number): void {
    this.countTotal++
    this.sumTotal += v
    this.reservoir[this.next] = v
    this.next = this.next + 1 === this.reservoir.length ? 0 : this.next + 1
    if (this.filled < this.reservoir.length) this.filled++
  }

  get count(): number {
    return this.sample ? this.sample().count : this.countTotal
  }

  get sum(): number {
    return this.sample ? this.sample().sum : this.sumTotal
  }

  /** The q-quantile of the reservoir (nearest rank), NaN when nothing was observed. */
  quantile(q: number): number {
    return this.snapshot([q])[0] as number
  }

  snapshot(qs: readonly number[] = this.quantiles): number[] {
    const sorted = this.sample ? Float64Array.from(this.sample().values).sort() : this.reservoir.slice(0, this.filled).sort()
    if (sorted.length === 0) return qs.map(() => NaN)
    return qs.map((q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number)
  }
}

export type Metric = Counter | Gauge | Summary

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>()

  counter(name: string, help: string): Counter {
    return this.getOrAdd(name, () => new Counter(name, help), 'counter')
  }

  gauge(name: string, help: string, sample?: () => number): Gauge {
    return this.getOrAdd(name, () => new Gauge(name, help, sample), 'gauge')
  }

  summary(
    name: string,
    help: string,
    opts: {quantiles?: readonly number[]; reservoirSize?: number; sample?: () => SummarySample} = {},
  ): Summary {
    return this.getOrAdd(name, () => new Summary(name, help, opts.quantiles, opts.reservoirSize, opts.sample), 'summary')
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name)
  }

  list(): Metric[] {
    return [...this.metrics.values()]
  }

  /** Registering the same name twice returns the first metric, so independent modules can share one. */
  private getOrAdd<M extends Metric>(name: string, make: () => M, kind: M['kind']): M {
    const existing = this.metrics.get(name)
    if (existing) {
      if (existing.kind !== kind) {
        throw new InvalidInputError(`metric ${name} is already registered as a ${existing.kind}, not a ${kind}`)
      }
      return existing as M
    }
    if (this.metrics.size >= METRICS_COUNT_MAX) throw new InvalidInputError(`more than ${METRICS_COUNT_MAX} metrics`)
    const m = make()
    this.metrics.set(name, m)
    return m
  }

  /** Prometheus text exposition format (version 0.0.4). */
  renderPrometheus(): string {
    const lines: string[] = []
    for (const m of this.metrics.values()) {
      const name = prometheusName(m.name)
      lines.push(`# HELP ${name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`)
      lines.push(`# TYPE ${name} ${m.kind}`)
      if (m.kind === 'summary') {
        const values = m.snapshot()
        m.quantiles.forEach((q, i) => lines.push(`${name}{quantile="${q}"} ${formatValue(values[i] as number)}`))
        lines.push(`${name}_sum ${formatValue(m.sum)}`)
        lines.push(`${name}_count ${m.count}`)
      } else {
        lines.push(`${name} ${formatValue(m.value)}`)
      }
    }
    return lines.join('\n') + '\n'
  }

  /** A plain object of every metric's current value(s), for JSON output and tests. */
  toJSON(): Record<string, number | Record<string, number>> {
    const out: Record<string, number | Record<string, number>> = {}
    for (const m of this.metrics.values()) {
      if (m.kind === 'summary') {
        const values = m.snapshot()
        const entry: Record<string, number> = {count: m.count, sum: m.sum}
        m.quantiles.forEach((q, i) => (entry[`p${q * 100}`] = values[i] as number))
        out[m.name] = entry
      } else out[m.name] = m.value
    }
    return out
  }
}

export function prometheusName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_')
  return /^[0-9]/.test(s) ? `_${s}` : s
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

/** A registry nobody scrapes: the default where a caller passes none. */
export function newMetricsRegistry(): MetricsRegistry {
  return new MetricsRegistry()
}
