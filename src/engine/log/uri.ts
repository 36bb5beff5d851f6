/**
 * Namespace URIs: `distributedlog://zk1:2181,zk2:2181/messaging/distributedlog`. The scheme is
 * `distributedlog` or `distributedlog-<backend>` (only `bk` exists; the original drops the backend when
 * normalizing), the authority is the ZooKeeper servers (`,` or `;` between them, port 2181 when
 * omitted), and the path is the namespace's znode. Query strings and fragments are refused rather than
 * silently ignored.
 */
import {InvalidInputError} from '../common/errors.js'
import {pathProblem} from '../zookeeper/client/paths.js'

export const DEFAULT_ZK_PORT = 2181
const SCHEME = 'distributedlog'
const BACKENDS = new Set(['bk'])
const SERVERS_MAX = 64

export interface NamespaceUri {
  /** The URI as given, trimmed. */
  raw: string
  /** `distributedlog://<servers joined by ,><path>`: the form messages print and bindings compare. */
  normalized: string
  /** `host:port,host:port`, ready for ZKClient's connectString. */
  zkServers: string
  /** The namespace znode, e.g. `/messaging/distributedlog`. */
  path: string
}

function usage(uri: string, why: string): InvalidInputError {
  return new InvalidInputError(`invalid namespace URI '${uri}': ${why} (expected distributedlog://host:port[,host:port...]/path)`)
}

function parseServer(uri: string, server: string): string {
  // host, host:port, [v6]:port
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(server)
  if (!m) throw usage(uri, `'${server}' is not a host[:port]`)
  const port = m[2] === undefined ? DEFAULT_ZK_PORT : Number(m[2])
  if (port < 1 || port > 65535) throw usage(uri, `port ${port} is out of range`)
  return `${m[1]}:${port}`
}

/** Parses a namespace URI; throws InvalidInputError saying what is wrong. */
export function parseNamespaceUri(input: string): NamespaceUri {
  const raw = input.trim()
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(.*)$/.exec(raw)
  if (!m) throw usage(raw, 'not a URI')
  const scheme = (m[1] as string).toLowerCase()
  const authority = m[2] as string
  const path = m[3] as string
  const rest = m[4] as string
  if (scheme !== SCHEME) {
    const backend = scheme.startsWith(`${SCHEME}-`) ? scheme.slice(SCHEME.length + 1) : undefined
    if (backend === undefined) throw usage(raw, `unknown scheme '${scheme}'`)
    if (!BACKENDS.has(backend)) throw usage(raw, `unknown backend '${backend}' (only distributedlog-bk)`)
  }
  if (rest !== '') throw usage(raw, 'query strings and fragments are not supported')
  if (authority === '') throw usage(raw, 'no ZooKeeper servers')
  const parts = authority.split(/[,;]/)
  if (parts.length > SERVERS_MAX) throw usage(raw, `more than ${SERVERS_MAX} servers`)
  const servers = parts.map((s) => parseServer(raw, s.trim()))
  if (path === '' || path === '/') throw usage(raw, 'no namespace path')
  const nsPath = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  const problem = pathProblem(nsPath)
  if (problem !== undefined) throw usage(raw, problem)
  const zkServers = servers.join(',')
  return {raw, normalized: `${SCHEME}://${zkServers}${nsPath}`, zkServers, path: nsPath}
}
