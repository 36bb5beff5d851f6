/**
 * ZooKeeper path rules (PathUtils.validatePath of 3.8) and the small path helpers the tree uses.
 * Paths are checked per UTF-16 code unit, as Java does, so a character outside the Basic Multilingual
 * Plane (a surrogate pair) is refused just as ZooKeeper refuses it.
 */

/** Why `path` is not a valid znode path, or null when it is. */
export function invalidPathReason(path: string): string | null {
  if (path.length === 0) return 'path length must be > 0'
  if (path.charCodeAt(0) !== 0x2f) return 'path must start with / character'
  if (path.length === 1) return null
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'path must not end with / character'
  let last = 0x2f
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i)
    if (c === 0) return `null character not allowed @${i}`
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`
    if (c === 0x2e && last === 0x2e) {
      if (path.charCodeAt(i - 2) === 0x2f && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) {
        return `relative paths not allowed @${i}`
      }
    } else if (c === 0x2e) {
      if (path.charCodeAt(i - 1) === 0x2f && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) {
        return `relative paths not allowed @${i}`
      }
    } else if (
      (c > 0x00 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return `invalid character @${i}`
    }
  }
  return null
}

export function isValidPath(path: string): boolean {
  return invalidPathReason(path) === null
}

/** The parent of an absolute path ("/" for top-level nodes); the path must contain a '/'. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash <= 0 ? '/' : path.substring(0, slash)
}

/** The last component of an absolute path. */
export function baseName(path: string): string {
  return path.substring(path.lastIndexOf('/') + 1)
}

/** A child's full path. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`
}

/** Paths ZooKeeper refuses to delete (DataTree.isSpecialPath). */
export function isSpecialPath(path: string): boolean {
  return path === '/' || path === '/zookeeper' || path === '/zookeeper/quota' || path === '/zookeeper/config'
}
