/** Metrics shared by every engine layer (counters, gauges, summaries; Prometheus text). */
export * from './registry.js'
export * from './http-server.js'
