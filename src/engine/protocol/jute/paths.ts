/**
 * ZooKeeper path rules (PathUtils.validatePath of 3.8) and path helpers, shared by our server (which
 * answers BadArguments) and our client (which refuses a bad path before sending it, with the Java
 * client's message, since zkCli prints that text verbatim).
 *
 * Paths are checked per UTF-16 code unit, as Java does, so a character outside the Basic Multilingual
 * Plane (a surrogate pair) is refused just as ZooKeeper refuses it.
 */

/** Why a path is invalid: the Java client's reason, and the index of the offending character if any. */
export interface PathProblem {
  reason: string
  at?: number
}

/** Undefined when `path` is a valid absolute znode path. */
export function findPathProblem(path: string): PathProblem | undefined {
  if (path.length === 0) return {reason: 'Path length must be > 0'}
  if (path.charCodeAt(0) !== 0x2f) return {reason: 'Path must start with / character'}
  if (path.length === 1) return undefined
  if (path.charCodeAt(path.length - 1) === 0x2f) return {reason: 'Path must not end with / character'}
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i)
    const prev = path.charCodeAt(i - 1)
    const endsName = i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f
    if (c === 0) return {reason: 'null character not allowed', at: i}
    if (c === 0x2f && prev === 0x2f) return {reason: 'empty node name specified', at: i}
    if (c === 0x2e && prev === 0x2e && path.charCodeAt(i - 2) === 0x2f && endsName) return {reason: 'relative paths not allowed', at: i}
    if (c === 0x2e && prev === 0x2f && endsName) return {reason: 'relative paths not allowed', at: i}
    if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
      return {reason: 'invalid character', at: i}
    }
  }
  return undefined
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
