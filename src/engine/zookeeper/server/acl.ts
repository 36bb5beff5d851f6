/**
 * Access control as ZooKeeper 3.8 does it: the schemes `world` (anyone), `digest` (user:base64(sha1(
 * user:password))), `ip` (address, optionally /bits) and `auth` (expanded at create/setACL time to the
 * caller's authenticated ids). ACL lists are interned, like ZooKeeper's ACL cache, so a million nodes
 * with the default open ACL share one list.
 */
import {createHash} from 'node:crypto'
import {isIP} from 'node:net'

import {OPEN_ACL_UNSAFE, type ZKACL, type ZKId, ZKPerm} from '../../protocol/jute/index.js'

export type ACLList = readonly ZKACL[]

function aclKey(acl: ACLList): string {
  let key = ''
  for (const a of acl) key += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`
  return key
}

/** Interned ACL lists: equal lists are one object (compare with ===, store once). */
export class ACLCache {
  private readonly lists = new Map<string, ACLList>()

  constructor() {
    this.lists.set(aclKey(OPEN_ACL_UNSAFE), OPEN_ACL_UNSAFE)
  }

  intern(acl: ACLList): ACLList {
    if (acl === OPEN_ACL_UNSAFE) return acl
    if (acl.length === 1) {
      const a = acl[0]!
      if (a.perms === ZKPerm.ALL && a.id.scheme === 'world' && a.id.id === 'anyone') return OPEN_ACL_UNSAFE
    }
    const key = aclKey(acl)
    const hit = this.lists.get(key)
    if (hit) return hit
    const frozen = Object.freeze(acl.map((a) => Object.freeze({perms: a.perms, id: Object.freeze({...a.id})})))
    this.lists.set(key, frozen)
    return frozen
  }

  get size(): number {
    return this.lists.size
  }
}

/** DigestAuthenticationProvider.generateDigest: "user:password" → "user:base64(sha1(user:password))". */
export function digestId(userPassword: string): string {
  const colon = userPassword.indexOf(':')
  const user = colon < 0 ? userPassword : userPassword.substring(0, colon)
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`
}

function ipv4ToInt(addr: string): number | null {
  const parts = addr.split('.')
  if (parts.length !== 4) return null
  let v = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null
    const n = Number(p)
    if (n > 255) return null
    v = v * 256 + n
  }
  return v
}

/** The address in the form ZooKeeper's ip scheme compares (IPv4-mapped IPv6 as plain IPv4). */
export function normaliseAddress(addr: string): string {
  return addr.startsWith('::ffff:') && isIP(addr.substring(7)) === 4 ? addr.substring(7) : addr
}

/** IPAuthenticationProvider.matches: `aclExpr` is an address or address/bits. */
export function ipMatches(clientAddr: string, aclExpr: string): boolean {
  const slash = aclExpr.indexOf('/')
  const base = slash < 0 ? aclExpr : aclExpr.substring(0, slash)
  const client = normaliseAddress(clientAddr)
  if (isIP(base) === 4) {
    const c = ipv4ToInt(client)
    const b = ipv4ToInt(base)
    if (c === null || b === null) return false
    const bits = slash < 0 ? 32 : Number(aclExpr.substring(slash + 1))
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false
    if (bits === 0) return true
    const shift = 32 - bits
    return Math.floor(c / 2 ** shift) === Math.floor(b / 2 ** shift)
  }
  return slash < 0 && base === client
}

function validIpExpr(expr: string): boolean {
  const slash = expr.indexOf('/')
  const base = slash < 0 ? expr : expr.substring(0, slash)
  const kind = isIP(base)
  if (kind === 0) return false
  if (slash < 0) return true
  const bits = Number(expr.substring(slash + 1))
  return Number.isInteger(bits) && bits >= 0 && bits <= (kind === 4 ? 32 : 128)
}

/** Whether an id of a known scheme is well formed (ServerAuthenticationProvider.isValid). */
function validId(id: ZKId): boolean {
  switch (id.scheme) {
    case 'world':
      return id.id === 'anyone'
    case 'digest': {
      // Java's String.split drops trailing empty strings: "user:" has one part, not two.
      const parts = id.id.split(':')
      while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
      return parts.length === 2
    }
    case 'ip':
      return validIpExpr(id.id)
    default:
      return false
  }
}

/**
 * PrepRequestProcessor.fixupACL: drops duplicates, refuses empty lists and unknown schemes or ids, and
 * expands `auth` entries to the caller's ids. Returns null when the list is invalid (INVALIDACL).
 */
export function fixupACL(acl: readonly ZKACL[] | null, authIds: readonly ZKId[]): ZKACL[] | null {
  if (acl === null || acl.length === 0) return null
  const unique: ZKACL[] = []
  for (const a of acl) {
    if (!unique.some((u) => u.perms === a.perms && u.id.scheme === a.id.scheme && u.id.id === a.id.id)) unique.push(a)
  }
  const out: ZKACL[] = []
  for (const a of unique) {
    if (a.id.scheme === 'world' && a.id.id === 'anyone') {
      out.push(a)
    } else if (a.id.scheme === 'auth') {
      let any = false
      // Only providers that authenticate count (digest); an ip id is never "authenticated".
      for (const id of authIds) {
        if (id.scheme === 'digest') {
          any = true
          out.push({perms: a.perms, id})
        }
      }
      if (!any) return null
    } else {
      if (!validId(a.id)) return null
      out.push(a)
    }
  }
  return out
}

/**
 * ZooKeeperServer.checkACL: true when some entry grants any of `perm` to world:anyone or to one of the
 * caller's ids. An empty list grants everything.
 */
export function aclAllows(acl: ACLList, perm: number, authIds: readonly ZKId[]): boolean {
  if (acl.length === 0) return true
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue
    const {scheme, id} = a.id
    if (scheme === 'world' && id === 'anyone') return true
    for (const cid of authIds) {
      if (cid.scheme !== scheme) continue
      if (scheme === 'ip' ? ipMatches(cid.id, id) : cid.id === id) return true
    }
  }
  return false
}
