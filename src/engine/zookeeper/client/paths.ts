/**
 * ZooKeeper path rules, checked before a request leaves the client so a bad path gives a typed error
 * (BadArgumentsError) instead of node-zookeeper-client's synchronous AssertionError. The rules and
 * messages follow the Java client's PathUtils.validatePath (zkCli prints these texts verbatim).
 */
import {BadArgumentsError} from './errors.js'

/** Returns undefined when `path` is a valid absolute znode path, else the Java client's message. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'Path length must be > 0'
  if (path[0] !== '/') return 'Path must start with / character'
  if (path.length === 1) return undefined
  if (path.endsWith('/')) return 'Path must not end with / character'
  let reason: string | undefined
  let at = 0
  for (let i = 1; i < path.length && reason === undefined; i++) {
    const c = path.charCodeAt(i)
    const prev = path[i - 1]
    const ch = path[i]
    const endsName = i + 1 === path.length || path[i + 1] === '/'
    if (c === 0) reason = 'null character not allowed'
    else if (ch === '/' && prev === '/') reason = 'empty node name specified'
    else if (ch === '.' && prev === '.' && path[i - 2] === '/' && endsName) reason = 'relative paths not allowed'
    else if (ch === '.' && prev === '/' && endsName) reason = 'relative paths not allowed'
    else if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
      reason = 'invalid character'
    }
    at = i
  }
  return reason === undefined ? undefined : `Invalid path string "${path}" caused by ${reason} @${at}`
}

export function validatePath(path: string): void {
  const problem = pathProblem(path)
  if (problem !== undefined) throw new BadArgumentsError({path, message: problem})
}

/** `/a/b` → `/a`; `/a` → `/`. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/')
  return i <= 0 ? '/' : path.slice(0, i)
}

/** `/a/b` → `b`; `/` → ``. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Joins a parent path and a child name: (`/`, `a`) → `/a`, (`/a`, `b`) → `/a/b`. */
export function childPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`
}
