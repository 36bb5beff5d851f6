/**
 * ZooKeeper's four-letter words: a fresh connection whose first four bytes spell a known command gets
 * a plain-text answer instead of a session, then is closed. Formats follow ZooKeeper 3.8 (StatCommand,
 * MonitorCommand, RuokCommand, IsReadOnlyCommand, ConfCommand), since tools such as `zkServer.sh
 * status` grep them. Commands not in the whitelist answer "<cmd> is not executed because it is not in
 * the whitelist."; `srvr` is always allowed.
 */

/** The words ZooKeeper 3.8 recognises (FourLetterCommands); only these are ever treated as commands. */
export const FOUR_LETTER_WORDS = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srst', 'srvr', 'stat', 'wchc', 'wchp',
  'wchs', 'mntr', 'isro', 'hash',
] as const
export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number]

/** Words this server answers; other known words reply as if not whitelisted. */
export const IMPLEMENTED_FOUR_LETTER_WORDS: ReadonlySet<string> = new Set([
  'ruok', 'srvr', 'stat', 'mntr', 'isro', 'conf', 'wchs', 'srst', 'crst',
])

/** The whitelist DistributedLog's sandbox uses (its ZooKeeper runs with `*`). */
export const DEFAULT_FOUR_LETTER_WHITELIST: readonly string[] = ['srvr', 'ruok', 'stat', 'mntr']

const WORD_BY_INT = new Map<number, FourLetterWord>(
  FOUR_LETTER_WORDS.map((w) => [Buffer.from(w, 'latin1').readInt32BE(0), w]),
)

/** The command whose four ASCII bytes read as `word` (a big-endian int32), if any. */
export function fourLetterWordOf(word: number): FourLetterWord | undefined {
  return WORD_BY_INT.get(word)
}

export const ZK_VERSION_STRING = '3.8.0-dlog, built on 1970-01-01 00:00 UTC'

export interface ConnectionInfo {
  remoteAddress: string
  remotePort: number
  /** The connection is reading requests (1) or is the one asking (0), like Java's interest ops. */
  interestOps: number
  queued: number
  received: number
  sent: number
}

export interface ServerStatsView {
  latencyMinMs: number
  latencyAvgMs: number
  latencyMaxMs: number
  packetsReceived: number
  packetsSent: number
  connectionCount: number
  outstandingRequests: number
  lastZxidHex: string
  /** ZooKeeper's node count (its node map also holds the root under "", so one more than znodes). */
  nodeCount: number
  watchCount: number
  watchPathCount: number
  /** Connections holding at least one watch. */
  watchingConnectionCount: number
  ephemeralCount: number
  approximateDataBytes: number
  sessionCount: number
  uptimeMs: number
  connections: ConnectionInfo[]
  config: {clientPort: number; tickTimeMs: number; maxClientCnxns: number; minSessionTimeoutMs: number; maxSessionTimeoutMs: number}
}

/** Java's Double.toString for the latencies ZooKeeper prints (always with a fraction). */
function javaDouble(v: number): string {
  const s = String(Math.round(v * 10000) / 10000)
  return s.includes('.') || s.includes('e') ? s : `${s}.0`
}

function address(c: ConnectionInfo): string {
  return `/${c.remoteAddress}:${c.remotePort}`
}

function statBody(s: ServerStatsView): string {
  return (
    `Latency min/avg/max: ${Math.round(s.latencyMinMs)}/${javaDouble(s.latencyAvgMs)}/${Math.round(s.latencyMaxMs)}\n` +
    `Received: ${s.packetsReceived}\n` +
    `Sent: ${s.packetsSent}\n` +
    `Connections: ${s.connectionCount}\n` +
    `Outstanding: ${s.outstandingRequests}\n` +
    `Zxid: ${s.lastZxidHex}\n` +
    'Mode: standalone\n' +
    `Node count: ${s.nodeCount}\n`
  )
}

/** The text answer to a whitelisted, implemented word (resetting words act through `reset`). */
export function renderFourLetterWord(word: string, s: ServerStatsView): string {
  switch (word) {
    case 'ruok':
      return 'imok'
    case 'isro':
      return 'rw'
    case 'srvr':
      return `Zookeeper version: ${ZK_VERSION_STRING}\n${statBody(s)}`
    case 'stat': {
      const clients = s.connections
        .map((c) => ` ${address(c)}[${c.interestOps}](queued=${c.queued},recved=${c.received},sent=${c.sent})\n`)
        .join('')
      return `Zookeeper version: ${ZK_VERSION_STRING}\nClients:\n${clients}\n${statBody(s)}`
    }
    case 'mntr': {
      const lines: [string, string | number][] = [
        ['zk_version', ZK_VERSION_STRING],
        ['zk_server_state', 'standalone'],
        ['zk_ephemerals_count', s.ephemeralCount],
        ['zk_num_alive_connections', s.connectionCount],
        ['zk_avg_latency', javaDouble(s.latencyAvgMs)],
        ['zk_outstanding_requests', s.outstandingRequests],
        ['zk_znode_count', s.nodeCount],
        ['zk_global_sessions', s.sessionCount],
        ['zk_local_sessions', 0],
        ['zk_packets_sent', s.packetsSent],
        ['zk_packets_received', s.packetsReceived],
        ['zk_watch_count', s.watchCount],
        ['zk_min_latency', Math.round(s.latencyMinMs)],
        ['zk_max_latency', Math.round(s.latencyMaxMs)],
        ['zk_approximate_data_size', s.approximateDataBytes],
        ['zk_uptime', Math.round(s.uptimeMs)],
      ]
      return lines.map(([k, v]) => `${k}\t${v}\n`).join('')
    }
    case 'conf':
      return (
        `clientPort=${s.config.clientPort}\n` +
        `tickTime=${s.config.tickTimeMs}\n` +
        `maxClientCnxns=${s.config.maxClientCnxns}\n` +
        `minSessionTimeout=${s.config.minSessionTimeoutMs}\n` +
        `maxSessionTimeout=${s.config.maxSessionTimeoutMs}\n` +
        'serverId=0\n'
      )
    case 'wchs':
      return `${s.watchingConnectionCount} connections watching ${s.watchPathCount} paths\nTotal watches:${s.watchCount}\n`
    case 'srst':
      return 'Server stats reset.\n'
    case 'crst':
      return 'Connection stats reset.\n'
    default:
      return `${word} is not executed because it is not in the whitelist.\n`
  }
}

export function notWhitelistedText(word: string): string {
  return `${word} is not executed because it is not in the whitelist.\n`
}
