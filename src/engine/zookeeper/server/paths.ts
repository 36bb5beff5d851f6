/**
 * Server-side path helpers: the validity rules are shared with the client (protocol/jute/paths.ts);
 * only the server knows which paths are special.
 */
import {findPathProblem} from '../../protocol/jute/paths.js'

export {baseName, childPath, parentPath} from '../../protocol/jute/paths.js'

export function isValidPath(path: string): boolean {
  return findPathProblem(path) === undefined
}

/** Paths ZooKeeper refuses to delete (DataTree.isSpecialPath). */
export function isSpecialPath(path: string): boolean {
  return path === '/' || path === '/zookeeper' || path === '/zookeeper/quota' || path === '/zookeeper/config'
}
