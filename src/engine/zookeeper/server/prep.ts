/**
 * Turns write requests into txns, checking them in the order ZooKeeper 3.8's PrepRequestProcessor
 * does, so a request that is wrong in several ways gets the same error code as from real ZooKeeper.
 *
 *   create   flags → path has a '/' and no NUL (BADARGUMENTS) → ACL (INVALIDACL) → parent exists (NONODE)
 *            → CREATE permission on the parent (NOAUTH) → sequential suffix → full path check
 *            (BADARGUMENTS) → name free (NODEEXISTS) → parent not ephemeral (NOCHILDRENFOREPHEMERALS)
 *   delete   path has a '/', no NUL, not a system node (BADARGUMENTS) → parent exists (NONODE) → DELETE
 *            permission on the parent (NOAUTH) → node exists (NONODE) → version (BADVERSION) → no
 *            children (NOTEMPTY)
 *   setData  path (BADARGUMENTS) → node (NONODE) → WRITE (NOAUTH) → version (BADVERSION)
 *   setACL   path (BADARGUMENTS) → ACL (INVALIDACL) → node (NONODE) → ADMIN (NOAUTH) → aversion (BADVERSION)
 *   check    path (BADARGUMENTS) → node (NONODE) → READ (NOAUTH) → version (BADVERSION)
 *
 * A sequential name is the given path plus `%010d` of the parent's child-create counter (Java's
 * formatting, so a counter past 2^31-1 gives "-2147483648"). Each function returns the txn op or a
 * ZKCode; it reads the tree and never changes it.
 */
import {
  type CreateRequest,
  type PathVersionRequest,
  type SetACLRequest,
  type SetDataRequest,
  type ZKId,
  ZKCode,
  ZKCreateFlag,
  ZKOpCode,
  ZKPerm,
} from '../../protocol/jute/index.js'
import {aclAllows, fixupACL} from './acl.js'
import type {DataTree} from './data-tree.js'
import {isSpecialPath, isValidPath} from './paths.js'
import {CONTAINER_OWNER, type TxnOp} from './txn.js'

export interface RequestContext {
  /** The caller's session (null only before the handshake, when no request is served). */
  readonly sessionId: bigint | null
  /** The connection's authenticated ids (its ip id plus any digest ids it added). */
  readonly authIds: readonly ZKId[]
}

type CreateOp = Extract<TxnOp, {type: typeof ZKOpCode.CREATE}>

/** Java's String.format("%010d", n) for an int. */
export function sequenceSuffix(n: number): string {
  return n < 0 ? `-${String(-n).padStart(9, '0')}` : String(n).padStart(10, '0')
}

function parentOfRaw(path: string): string | null {
  const slash = path.lastIndexOf('/')
  if (slash < 0 || path.includes('\u0000')) return null
  return slash === 0 ? '/' : path.substring(0, slash)
}

export function prepCreate(tree: DataTree, type: number, req: CreateRequest, ctx: RequestContext): CreateOp | ZKCode {
  const flags = req.flags
  if (flags < ZKCreateFlag.PERSISTENT || flags > ZKCreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL) return ZKCode.BAD_ARGUMENTS
  // TTL nodes need extendedTypesEnabled, which ZooKeeper leaves off by default.
  if (flags === ZKCreateFlag.PERSISTENT_WITH_TTL || flags === ZKCreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL) {
    return ZKCode.UNIMPLEMENTED
  }
  const sequential = flags === ZKCreateFlag.PERSISTENT_SEQUENTIAL || flags === ZKCreateFlag.EPHEMERAL_SEQUENTIAL
  const ephemeral = flags === ZKCreateFlag.EPHEMERAL || flags === ZKCreateFlag.EPHEMERAL_SEQUENTIAL
  const parentName = parentOfRaw(req.path)
  if (parentName === null) return ZKCode.BAD_ARGUMENTS
  const acl = fixupACL(req.acl, ctx.authIds)
  if (acl === null) return ZKCode.INVALID_ACL
  const parent = tree.get(parentName)
  if (parent === undefined) return ZKCode.NO_NODE
  if (!aclAllows(parent.acl, ZKPerm.CREATE, ctx.authIds)) return ZKCode.NO_AUTH
  const path = sequential ? req.path + sequenceSuffix(parent.cversion) : req.path
  if (!isValidPath(path)) return ZKCode.BAD_ARGUMENTS
  if (tree.get(path) !== undefined) return ZKCode.NODE_EXISTS
  if (parent.ephemeralOwner !== 0n && parent.ephemeralOwner !== CONTAINER_OWNER) return ZKCode.NO_CHILDREN_FOR_EPHEMERALS
  // DataTree applies a plain CreateTxn as persistent or ephemeral only: container needs op 19.
  const ephemeralOwner = type === ZKOpCode.CREATE_CONTAINER ? CONTAINER_OWNER : ephemeral ? (ctx.sessionId ?? 0n) : 0n
  return {
    type: ZKOpCode.CREATE,
    path,
    data: req.data,
    acl,
    ephemeralOwner,
    parentCversion: (parent.cversion + 1) | 0,
  }
}

function versionMismatch(current: number, expected: number): boolean {
  return expected !== -1 && expected !== current
}

export function prepDelete(tree: DataTree, req: PathVersionRequest, ctx: RequestContext): TxnOp | ZKCode {
  const parentName = parentOfRaw(req.path)
  if (parentName === null || isSpecialPath(req.path)) return ZKCode.BAD_ARGUMENTS
  const parent = tree.get(parentName)
  if (parent === undefined) return ZKCode.NO_NODE
  if (!aclAllows(parent.acl, ZKPerm.DELETE, ctx.authIds)) return ZKCode.NO_AUTH
  const node = tree.get(req.path)
  if (node === undefined) return ZKCode.NO_NODE
  if (versionMismatch(node.version, req.version)) return ZKCode.BAD_VERSION
  if (node.numChildren > 0) return ZKCode.NOT_EMPTY
  return {type: ZKOpCode.DELETE, path: req.path}
}

export function prepSetData(tree: DataTree, req: SetDataRequest, ctx: RequestContext): TxnOp | ZKCode {
  if (!isValidPath(req.path)) return ZKCode.BAD_ARGUMENTS
  const node = tree.get(req.path)
  if (node === undefined) return ZKCode.NO_NODE
  if (!aclAllows(node.acl, ZKPerm.WRITE, ctx.authIds)) return ZKCode.NO_AUTH
  if (versionMismatch(node.version, req.version)) return ZKCode.BAD_VERSION
  return {type: ZKOpCode.SET_DATA, path: req.path, data: req.data, version: (node.version + 1) | 0}
}

export function prepSetACL(tree: DataTree, req: SetACLRequest, ctx: RequestContext): TxnOp | ZKCode {
  if (!isValidPath(req.path)) return ZKCode.BAD_ARGUMENTS
  const acl = fixupACL(req.acl, ctx.authIds)
  if (acl === null) return ZKCode.INVALID_ACL
  const node = tree.get(req.path)
  if (node === undefined) return ZKCode.NO_NODE
  if (!aclAllows(node.acl, ZKPerm.ADMIN, ctx.authIds)) return ZKCode.NO_AUTH
  if (versionMismatch(node.aversion, req.version)) return ZKCode.BAD_VERSION
  return {type: ZKOpCode.SET_ACL, path: req.path, acl, aversion: (node.aversion + 1) | 0}
}

export function prepCheck(tree: DataTree, req: PathVersionRequest, ctx: RequestContext): TxnOp | ZKCode {
  if (!isValidPath(req.path)) return ZKCode.BAD_ARGUMENTS
  const node = tree.get(req.path)
  if (node === undefined) return ZKCode.NO_NODE
  if (!aclAllows(node.acl, ZKPerm.READ, ctx.authIds)) return ZKCode.NO_AUTH
  if (versionMismatch(node.version, req.version)) return ZKCode.BAD_VERSION
  return {type: ZKOpCode.CHECK, path: req.path, version: req.version}
}
