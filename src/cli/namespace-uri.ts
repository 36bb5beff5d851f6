/**
 * Which namespace a `dlog tool` command works on: `-u/--uri`, else the DLOG_URI environment variable,
 * else the one local sandbox running (`dlog local` records its URI; see sandbox-state.ts). Without any
 * of them the command stops with a usage error that lists all three ways.
 */
import {Flags} from '@oclif/core'

import {InvalidInputError, Namespace} from '../engine/index.js'
import {closing} from './closing.js'
import {defaultNamespaceUri} from './sandbox-state.js'

export const uriFlag = Flags.string({
  char: 'u',
  description: 'namespace URI, e.g. distributedlog://127.0.0.1:7000/messaging/distributedlog (default: $DLOG_URI, else the running sandbox)',
})

export function resolveNamespaceUri(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return flag
  const fallback = defaultNamespaceUri(env)
  if (fallback !== undefined) return fallback
  throw new InvalidInputError(
    'No distributedlog uri provided. Pass -u distributedlog://<zk servers>/<namespace path>, set DLOG_URI, or start a sandbox with `dlog local <port>`.',
  )
}

/** Opens the namespace, runs `work`, and closes it whatever happens. */
export async function withNamespace<T>(uri: string, work: (ns: Namespace) => Promise<T>): Promise<T> {
  return closing(await Namespace.open({uri, clientId: `dlog-tool/${process.pid}`}), work)
}
