/**
 * Client-side path checks: a bad path gives a typed error (BadArgumentsError) before a request leaves,
 * instead of node-zookeeper-client's synchronous AssertionError. The rules live in protocol/jute/paths.ts.
 */
import {findPathProblem} from '../../protocol/jute/paths.js'
import {BadArgumentsError} from './errors.js'

export {baseName, childPath, parentPath} from '../../protocol/jute/paths.js'

/** Undefined when `path` is valid, else the Java client's message. */
export function pathProblem(path: string): string | undefined {
  const p = findPathProblem(path)
  if (p === undefined) return undefined
  return p.at === undefined ? p.reason : `Invalid path string "${path}" caused by ${p.reason} @${p.at}`
}

export function validatePath(path: string): void {
  const problem = pathProblem(path)
  if (problem !== undefined) throw new BadArgumentsError({path, message: problem})
}
