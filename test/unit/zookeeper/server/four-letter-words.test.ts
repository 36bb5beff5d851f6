import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  fourLetterWordOf,
  renderFourLetterWord,
  type ServerStatsView,
} from '../../../../src/engine/zookeeper/server/four-letter-words.js'

const view: ServerStatsView = {
  latencyMinMs: 0,
  latencyAvgMs: 0.25,
  latencyMaxMs: 3.4,
  packetsReceived: 12,
  packetsSent: 11,
  connectionCount: 2,
  outstandingRequests: 0,
  lastZxidHex: '0x1a',
  nodeCount: 5,
  watchCount: 3,
  watchPathCount: 2,
  watchingConnectionCount: 1,
  ephemeralCount: 1,
  approximateDataBytes: 44,
  sessionCount: 1,
  uptimeMs: 1234.5,
  connections: [
    {remoteAddress: '127.0.0.1', remotePort: 5000, interestOps: 1, queued: 0, received: 7, sent: 6},
    {remoteAddress: '127.0.0.1', remotePort: 5001, interestOps: 0, queued: 0, received: 1, sent: 0},
  ],
  config: {clientPort: 2181, tickTimeMs: 2000, maxClientCnxns: 60, minSessionTimeoutMs: 4000, maxSessionTimeoutMs: 40000},
}

describe('zookeeper/server > four-letter words', () => {
  it('recognises exactly ZooKeeper\'s words from the first four bytes', () => {
    assert.equal(fourLetterWordOf(Buffer.from('ruok').readInt32BE(0)), 'ruok')
    assert.equal(fourLetterWordOf(Buffer.from('mntr').readInt32BE(0)), 'mntr')
    assert.equal(fourLetterWordOf(Buffer.from('nope').readInt32BE(0)), undefined)
    assert.equal(fourLetterWordOf(44), undefined, 'a ConnectRequest length is not a word')
  })

  it('renders srvr and stat in ZooKeeper 3.8\'s layout', () => {
    const srvr = renderFourLetterWord('srvr', view)
    assert.match(srvr, /^Zookeeper version: 3\.8\.0-/)
    assert.ok(srvr.endsWith(
      'Latency min/avg/max: 0/0.25/3\nReceived: 12\nSent: 11\nConnections: 2\nOutstanding: 0\nZxid: 0x1a\nMode: standalone\nNode count: 5\n',
    ))
    const stat = renderFourLetterWord('stat', view)
    assert.ok(stat.includes('\nClients:\n /127.0.0.1:5000[1](queued=0,recved=7,sent=6)\n /127.0.0.1:5001[0](queued=0,recved=1,sent=0)\n\nLatency'))
    assert.equal(renderFourLetterWord('ruok', view), 'imok')
  })

  it('renders mntr as tab-separated zk_* lines', () => {
    const lines = new Map(renderFourLetterWord('mntr', view).trimEnd().split('\n').map((l) => l.split('\t') as [string, string]))
    assert.equal(lines.get('zk_server_state'), 'standalone')
    assert.equal(lines.get('zk_znode_count'), '5')
    assert.equal(lines.get('zk_num_alive_connections'), '2')
    assert.equal(lines.get('zk_ephemerals_count'), '1')
    assert.equal(lines.get('zk_watch_count'), '3')
    assert.equal(lines.get('zk_approximate_data_size'), '44')
    assert.equal(lines.get('zk_avg_latency'), '0.25')
    assert.equal(lines.get('zk_max_latency'), '3')
    for (const k of ['zk_version', 'zk_outstanding_requests', 'zk_min_latency', 'zk_packets_received', 'zk_packets_sent']) assert.ok(lines.has(k), k)
  })
})
