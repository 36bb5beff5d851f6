import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {MetricsRegistry, prometheusName} from '../../../src/engine/metrics/registry.js'

describe('metrics > registry', () => {
  it('counts, gauges and summarises, and renders Prometheus text', () => {
    const r = new MetricsRegistry()
    const adds = r.counter('bookie.add_entry.count', 'entries added')
    adds.inc()
    adds.inc(4)
    let depth = 7
    r.gauge('bookie.queue.depth', 'requests waiting', () => depth)
    const lat = r.summary('bookie.add_entry.latency_ms', 'add latency', {quantiles: [0.5, 0.99], reservoirSize: 100})
    for (let i = 1; i <= 100; i++) lat.observe(i)
    depth = 9
    const text = r.renderPrometheus()
    assert.match(text, /^# HELP bookie_add_entry_count entries added$/m)
    assert.match(text, /^# TYPE bookie_add_entry_count counter$/m)
    assert.match(text, /^bookie_add_entry_count 5$/m)
    assert.match(text, /^bookie_queue_depth 9$/m)
    assert.match(text, /^bookie_add_entry_latency_ms\{quantile="0.5"\} 50$/m)
    assert.match(text, /^bookie_add_entry_latency_ms\{quantile="0.99"\} 99$/m)
    assert.match(text, /^bookie_add_entry_latency_ms_sum 5050$/m)
    assert.match(text, /^bookie_add_entry_latency_ms_count 100$/m)
    assert.deepEqual(r.toJSON()['bookie.add_entry.latency_ms'], {count: 100, sum: 5050, p50: 50, p99: 99})
  })

  it('keeps a bounded sliding window of samples', () => {
    const s = new MetricsRegistry().summary('x', 'x', {quantiles: [0], reservoirSize: 10})
    for (let i = 0; i < 1000; i++) s.observe(i)
    assert.equal(s.count, 1000)
    assert.equal(s.quantile(0), 990, 'only the last 10 samples remain')
    assert.ok(Number.isNaN(new MetricsRegistry().summary('y', 'y').quantile(0.5)))
  })

  it('reads a sampled summary from its source at scrape time', () => {
    const r = new MetricsRegistry()
    let values = [3, 1, 2]
    r.summary('wal.fsync_latency_ms', 'fsync', {quantiles: [0.5, 1], sample: () => ({values, count: 10, sum: 20})})
    assert.match(r.renderPrometheus(), /^wal_fsync_latency_ms\{quantile="0.5"\} 2$/m)
    values = [9]
    assert.match(r.renderPrometheus(), /^wal_fsync_latency_ms\{quantile="1"\} 9$/m)
    assert.match(r.renderPrometheus(), /^wal_fsync_latency_ms_count 10$/m)
  })

  it('shares a metric registered twice and refuses a kind clash', () => {
    const r = new MetricsRegistry()
    assert.equal(r.counter('a', 'a'), r.counter('a', 'a'))
    assert.throws(() => r.gauge('a', 'a'), InvalidInputError)
    assert.equal(prometheusName('9.a-b'), '_9_a_b')
  })
})
