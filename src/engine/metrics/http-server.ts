/**
 * The stats HTTP endpoint of a dlog server process (bookie, proxy), in the spirit of the Codahale
 * admin servlet DistributedLog operators know (`curl localhost:9001/ping` → `pong`):
 *
 *   GET /ping                       `pong`
 *   GET /metrics                    Prometheus text exposition (version 0.0.4)
 *   GET /metrics?format=json        the same values as JSON (`&pretty=true` indents it; `?pretty=true`
 *                                   alone also gives JSON, as the Codahale servlet did)
 *   GET /healthcheck                `{"healthy":true}`
 *
 * Anything else is 404; methods other than GET/HEAD are 405. Requests have no body to read, and each
 * response is built in memory from the registry (bounded by METRICS_COUNT_MAX).
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {DlogError} from '../common/errors.js'
import type {MetricsRegistry} from './registry.js'

export interface StatsHttpServer {
  host: string
  port: number
  close(): Promise<void>
}

export async function startStatsHttpServer(opts: {host: string; port: number; registry: MetricsRegistry}): Promise<StatsHttpServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stats')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {'content-type': 'text/plain', allow: 'GET, HEAD'}).end('method not allowed\n')
      return
    }
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, {'content-type': type, 'cache-control': 'no-cache'}).end(req.method === 'HEAD' ? undefined : body)
    }
    switch (url.pathname) {
      case '/ping':
        return send(200, 'text/plain', 'pong\n')
      case '/healthcheck':
        return send(200, 'application/json', '{"healthy":true}\n')
      case '/metrics': {
        const pretty = url.searchParams.get('pretty') === 'true'
        if (url.searchParams.get('format') === 'json' || pretty) {
          return send(200, 'application/json', JSON.stringify(opts.registry.toJSON(), null, pretty ? 2 : undefined) + '\n')
        }
        return send(200, 'text/plain; version=0.0.4', opts.registry.renderPrometheus())
      }
      default:
        return send(404, 'text/plain', 'not found\n')
    }
  })
  server.keepAliveTimeout = 5_000
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  server.maxHeadersCount = 100
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new DlogError('STATS_HTTP', `cannot start the stats HTTP server on ${opts.host}:${opts.port}: ${e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message}`, {
          cause: e,
        }),
      ),
    )
    server.listen({host: opts.host, port: opts.port}, () => resolve())
  })
  const a = server.address() as AddressInfo
  return {
    host: a.address,
    port: a.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
