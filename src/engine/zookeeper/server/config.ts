/**
 * Configuration of the standalone ZooKeeper server (`dlog zookeeper --conf zookeeper.conf`): a zoo.cfg
 * style Java-properties file, as ZooKeeper and DistributedLog's zookeeper.conf.template write it.
 *
 * Keys (ZooKeeper names and defaults): clientPort (2181), clientPortAddress, dataDir, dataLogDir,
 * tickTime (2000), maxClientCnxns (60 per client IP, 0 = unlimited), minSessionTimeout (2×tickTime),
 * maxSessionTimeout (20×tickTime), 4lw.commands.whitelist (srvr; `*` = all), snapCount (100000).
 *
 * Ensemble and JVM settings that mean nothing to a single dlog server (initLimit, syncLimit, electionAlg,
 * adminPort, autopurge.*, standaloneEnabled, ...; see QUIET_KEYS) are accepted without a warning, so the
 * DL template runs unchanged. `server.N` lines are read for one thing: DL's template has no clientPort
 * and names the client address in the dynamic-reconfig form `server.1=host:2710:3710:participant;0.0.0.0:2181`,
 * so with exactly one server line that `;[addr:]port` suffix supplies clientPort(Address). More than one
 * server line gets one warning: dlog runs a standalone server. Other unknown keys warn; bad values fail
 * with the file, line and expectation.
 *
 * Differences from ZooKeeper, on purpose: without clientPortAddress the server listens on 127.0.0.1,
 * not on every interface (set clientPortAddress=0.0.0.0 for that).
 */
import {readFileSync} from 'node:fs'

import {errorMessage, InvalidInputError} from '../../common/errors.js'
import type {Logger} from '../../common/logger.js'
import {type ConfigSchema, parseConfig, parseProperties, type PropertyEntry} from '../../common/properties.js'
import {FilePersistence} from './persistence/file-persistence.js'
import {MemoryPersistence} from './persistence/types.js'
import type {ZKServerOptions} from './zk-server.js'

export const FOUR_LETTER_WORDS = ['conf', 'cons', 'crst', 'dump', 'envi', 'ruok', 'srst', 'srvr', 'stat', 'wchs', 'wchc', 'wchp', 'mntr', 'isro', 'gtmk', 'stmk', 'dirs'] as const

export const ZK_SERVER_SCHEMA = {
  clientPort: {type: 'int', default: 2181, min: 0, max: 65535, description: 'TCP port for client connections (0 = any free port)'},
  clientPortAddress: {type: 'string', default: '', description: 'address to listen on (default 127.0.0.1)'},
  dataDir: {type: 'string', default: '', description: 'snapshot directory; empty = in-memory server'},
  dataLogDir: {type: 'string', default: '', description: 'transaction log directory (default: dataDir)'},
  tickTime: {type: 'int', default: 2000, min: 1, max: 3_600_000, description: 'basic time unit in ms'},
  maxClientCnxns: {type: 'int', default: 60, min: 0, max: 1_000_000, description: 'connections per client IP (0 = unlimited)'},
  minSessionTimeout: {type: 'int', default: -1, min: -1, max: 2 ** 31 - 1, description: 'ms; default 2 × tickTime'},
  maxSessionTimeout: {type: 'int', default: -1, min: -1, max: 2 ** 31 - 1, description: 'ms; default 20 × tickTime'},
  '4lw.commands.whitelist': {type: 'list', default: ['srvr'], description: 'four-letter words answered (`*` = all)'},
  snapCount: {type: 'int', default: 100_000, min: 2, max: 2 ** 31 - 1, description: 'txns between snapshots'},
} satisfies ConfigSchema

/** Keys of ensemble / JVM / admin settings that do not apply to dlog's standalone server: accepted quietly. */
const QUIET_KEYS = new Set([
  'initLimit',
  'syncLimit',
  'electionAlg',
  'electionPort',
  'leaderServes',
  'standaloneEnabled',
  'reconfigEnabled',
  'dynamicConfigFile',
  'adminPort',
  'admin.serverPort',
  'admin.enableServer',
  'zookeeper.admin.enableServer',
  'globalOutstandingLimit',
  'skipACL',
  'autopurge.purgeInterval',
  'autopurge.snapRetainCount',
  'serverCnxnFactory',
  'quorumListenOnAllIPs',
  'preAllocSize',
  'syncEnabled',
  'peerType',
  'clientPortListenBacklog',
  'maxCnxns',
  'myid',
  'connectToLearnerMasterLimit',
  'metricsProvider.className',
  'metricsProvider.httpPort',
])
const QUIET_PATTERN = /^(server|group|weight)\.\d+$|^(metricsProvider|quorum\.auth|ssl)\./

export interface ZKServerConfig {
  host: string
  port: number
  /** Undefined = in-memory (nothing survives a restart). */
  dataDir: string | undefined
  /** Transaction log directory; defaults to dataDir. */
  dataLogDir: string | undefined
  tickTimeMs: number
  /** Per client IP; 0 = unlimited. */
  maxClientCnxns: number
  minSessionTimeoutMs: number
  maxSessionTimeoutMs: number
  /** Four-letter words the server answers; `['*']` = all. */
  fourLetterWords: string[]
  snapCount: number
}

export const DEFAULT_ZK_HOST = '127.0.0.1'

export interface ParsedZKServerConfig {
  config: ZKServerConfig
  warnings: string[]
}

/** Parses zoo.cfg / zookeeper.conf text. `source` names the file in messages. */
export function parseZKServerConfig(text: string, source = 'zookeeper.conf'): ParsedZKServerConfig {
  const entries = parseProperties(text, source)
  const parsed = parseConfig(ZK_SERVER_SCHEMA, entries, source, {ignoreKeys: (k) => QUIET_KEYS.has(k) || QUIET_PATTERN.test(k)})
  const warnings = [...parsed.warnings]
  const v = parsed.values
  let port = v.clientPort
  let host = v.clientPortAddress
  const servers = entries.filter((e) => /^server\.\d+$/.test(e.key))
  if (servers.length > 1) {
    warnings.push(`${source}: ${servers.length} server.N lines: dlog zookeeper runs one standalone server, the ensemble settings are ignored`)
  } else if (servers.length === 1 && !parsed.explicit.has('clientPort')) {
    const client = clientAddressOf(servers[0] as PropertyEntry, source)
    if (client) {
      port = client.port
      if (!parsed.explicit.has('clientPortAddress') && client.host !== undefined) host = client.host
    }
  }
  const tickTimeMs = v.tickTime
  const minSessionTimeoutMs = v.minSessionTimeout === -1 ? 2 * tickTimeMs : v.minSessionTimeout
  const maxSessionTimeoutMs = v.maxSessionTimeout === -1 ? 20 * tickTimeMs : v.maxSessionTimeout
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new InvalidInputError(
      `${source}: minSessionTimeout (${minSessionTimeoutMs} ms) is greater than maxSessionTimeout (${maxSessionTimeoutMs} ms)`,
    )
  }
  const fourLetterWords = checkFourLetterWords(v['4lw.commands.whitelist'] as string[], source, warnings)
  return {
    config: {
      host: host === '' ? DEFAULT_ZK_HOST : host,
      port,
      dataDir: v.dataDir === '' ? undefined : v.dataDir,
      dataLogDir: v.dataLogDir === '' ? undefined : v.dataLogDir,
      tickTimeMs,
      maxClientCnxns: v.maxClientCnxns,
      minSessionTimeoutMs,
      maxSessionTimeoutMs,
      fourLetterWords,
      snapCount: v.snapCount,
    },
    warnings,
  }
}

/** The defaults (`dlog zookeeper` with no --conf), optionally overridden. */
export function defaultZKServerConfig(overrides: Partial<ZKServerConfig> = {}): ZKServerConfig {
  const base = parseZKServerConfig('', '<defaults>').config
  const merged = {...base, ...overrides}
  if (overrides.tickTimeMs !== undefined) {
    if (overrides.minSessionTimeoutMs === undefined) merged.minSessionTimeoutMs = 2 * merged.tickTimeMs
    if (overrides.maxSessionTimeoutMs === undefined) merged.maxSessionTimeoutMs = 20 * merged.tickTimeMs
  }
  return merged
}

/** Reads and parses a config file; a missing or unreadable file is an InvalidInputError naming it. */
export function loadZKServerConfig(file: string): ParsedZKServerConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new InvalidInputError(`cannot read ZooKeeper config ${file}: ${errorMessage(e)}`, {cause: e})
  }
  return parseZKServerConfig(text, file)
}

/**
 * The ZKServer options for a config: a FilePersistence in dataDir (txn log in dataLogDir) or, without
 * a dataDir, a MemoryPersistence (nothing survives a restart; the caller should say so).
 */
export function zkServerOptionsFromConfig(config: ZKServerConfig, opts: {logger?: Logger} = {}): ZKServerOptions {
  const persistence =
    config.dataDir === undefined
      ? new MemoryPersistence()
      : new FilePersistence({dataDir: config.dataDir, dataLogDir: config.dataLogDir, logger: opts.logger})
  return {
    host: config.host,
    port: config.port,
    tickTimeMs: config.tickTimeMs,
    minSessionTimeoutMs: config.minSessionTimeoutMs,
    maxSessionTimeoutMs: config.maxSessionTimeoutMs,
    maxClientCnxns: config.maxClientCnxns,
    snapCount: config.snapCount,
    fourLetterWhitelist: config.fourLetterWords,
    persistence,
    logger: opts.logger,
  }
}

/** `server.1=127.0.0.1:2710:3710:participant;0.0.0.0:2181` → {host: '0.0.0.0', port: 2181}. */
function clientAddressOf(e: PropertyEntry, source: string): {host: string | undefined; port: number} | undefined {
  const semi = e.value.indexOf(';')
  if (semi < 0) return undefined
  const client = e.value.slice(semi + 1).trim()
  const m = /^(?:(.*):)?(\d+)$/.exec(client)
  const port = m ? Number(m[2]) : NaN
  if (!m || port > 65535) {
    throw new InvalidInputError(`${source}:${e.line}: ${e.key}: expected ';[address:]port' after the server address, got ';${client}'`)
  }
  return {host: m[1] === undefined || m[1] === '' ? undefined : m[1], port}
}

function checkFourLetterWords(words: string[], source: string, warnings: string[]): string[] {
  if (words.includes('*')) return ['*']
  const known = new Set<string>(FOUR_LETTER_WORDS)
  const out: string[] = []
  for (const w of words) {
    if (known.has(w)) out.push(w)
    else warnings.push(`${source}: 4lw.commands.whitelist: unknown four-letter word '${w}' ignored`)
  }
  return out
}
