/**
 * The znode tree: nodes with their full Stat, the ephemerals of each session, and the changes a txn
 * makes (create, delete, setData, setACL), each of which can record how to undo itself so a failing
 * multi leaves the tree byte-for-byte as it was (ZooKeeper validates a multi against pending changes
 * and never touches the tree; we apply and roll back, which must end in the same state, including
 * the children's HashSet order).
 *
 * Stat as ZooKeeper keeps it (DataNode/StatPersisted): `cversion` here is the internal count of child
 * creates, which is what numbers sequential children; clients are shown `2 * cversion - numChildren`
 * (DataNode.copyStat), i.e. creates + deletes. Deletes never change the counter. Zxids and times are
 * stored as numbers (safe integers; a standalone server's zxid stays far below 2^53) to keep nodes
 * small and stat encoding free of BigInt work; they become int64 on the wire.
 *
 * A fresh tree holds "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config" with all-zero
 * stats, added without counting as creates (so `stat /` shows cversion -1, as real ZooKeeper does).
 */
import {
  type JuteWriter,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  type ZKStat,
  ZKEventType,
  ZKOpCode,
} from '../../protocol/jute/index.js'
import {assert} from '../../common/assert.js'
import {ACLCache, type ACLList} from './acl.js'
import {JavaHashSet} from './child-set.js'
import {baseName, parentPath} from './paths.js'
import {CONTAINER_OWNER, type TxnOp} from './txn.js'

const TWO_POW_32 = 2 ** 32
const ZERO_ID = 0n

export class DataNode {
  data: Buffer | null
  acl: ACLList
  czxid: number
  mzxid: number
  pzxid: number
  ctime: number
  mtime: number
  version: number
  /** Internal count of child creates (see the module comment). */
  cversion: number
  aversion: number
  ephemeralOwner: bigint
  children: JavaHashSet | null = null
  /**
   * The children encoded as a vector<ustring> (bytes [0, childrenBytes) of childrenBuf, which has
   * room to grow), built on the first getChildren of a node with many children and then kept in
   * step with creates and deletes by splicing one entry in place: a large, changing child list is
   * neither re-encoded per read nor reallocated per change. Dropped (rebuilt on the next read) when
   * the set's table resizes, a name is not ASCII, or a multi rolls back.
   */
  childrenBuf: Buffer | null = null
  childrenBytes = 0

  constructor(data: Buffer | null, acl: ACLList, zxid: number, timeMs: number, ephemeralOwner: bigint) {
    this.data = data
    this.acl = acl
    this.czxid = zxid
    this.mzxid = zxid
    this.pzxid = zxid
    this.ctime = timeMs
    this.mtime = timeMs
    this.version = 0
    this.cversion = 0
    this.aversion = 0
    this.ephemeralOwner = ephemeralOwner
  }

  dropChildrenEncoding(): void {
    this.childrenBuf = null
    this.childrenBytes = 0
  }

  /** name was just added to children (at the end of its bucket). */
  childAdded(name: string, tableResized: boolean): void {
    const buf = this.childrenBuf
    if (buf === null) return
    if (tableResized || !isAscii(name)) return this.dropChildrenEncoding()
    const offset = 4 + this.children!.asciiBytesBefore(name)
    const entry = 4 + name.length
    const end = this.childrenBytes
    let target = buf
    if (end + entry > buf.length) {
      target = Buffer.allocUnsafe(Math.max(2 * buf.length, end + entry))
      buf.copy(target, 0, 0, offset)
    }
    buf.copy(target, offset + entry, offset, end)
    target.writeInt32BE(name.length, offset)
    target.write(name, offset + 4, 'latin1')
    target.writeInt32BE(this.children!.size, 0)
    this.childrenBuf = target
    this.childrenBytes = end + entry
  }

  /** name is about to be removed from children: returns its encoded offset for childRemoved. */
  childRemoving(name: string): number {
    return this.childrenBuf === null || !isAscii(name) ? -1 : 4 + this.children!.asciiBytesBefore(name)
  }

  childRemoved(name: string, offset: number): void {
    const buf = this.childrenBuf
    if (buf === null) return
    if (offset < 4) return this.dropChildrenEncoding()
    const entry = 4 + name.length
    buf.copy(buf, offset, offset + entry, this.childrenBytes)
    this.childrenBytes -= entry
    buf.writeInt32BE(this.children!.size, 0)
  }

  get numChildren(): number {
    return this.children === null ? 0 : this.children.size
  }

  /** The owner clients see: containers (and TTL nodes) report 0. */
  get clientEphemeralOwner(): bigint {
    return this.ephemeralOwner === CONTAINER_OWNER ? ZERO_ID : this.ephemeralOwner
  }

  /** Writes the 68-byte Stat record as clients see it. */
  writeStat(w: JuteWriter): void {
    const n = this.numChildren
    w.ensure(68)
    w.longNumber(this.czxid).longNumber(this.mzxid).longNumber(this.ctime).longNumber(this.mtime)
    w.int(this.version).int((2 * this.cversion - n) | 0).int(this.aversion)
    const owner = this.clientEphemeralOwner
    if (owner === ZERO_ID) w.longNumber(0)
    else w.long(owner)
    w.int(this.data === null ? 0 : this.data.length).int(n).longNumber(this.pzxid)
  }

  stat(): ZKStat {
    const n = this.numChildren
    return {
      czxid: BigInt(this.czxid),
      mzxid: BigInt(this.mzxid),
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      cversion: (2 * this.cversion - n) | 0,
      aversion: this.aversion,
      ephemeralOwner: this.clientEphemeralOwner,
      dataLength: this.data === null ? 0 : this.data.length,
      numChildren: n,
      pzxid: BigInt(this.pzxid),
    }
  }
}

/** A watch trigger produced by a change: which path, which event (the watch manager knows the sets). */
export interface WatchTrigger {
  type: ZKEventType
  path: string
}

/** Steps that put the tree back as it was, run last-first. */
export type UndoLog = (() => void)[]

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false
  return true
}

function nodeSize(path: string, data: Buffer | null): number {
  return path.length + (data === null ? 0 : data.length)
}

export class DataTree {
  readonly nodes = new Map<string, DataNode>()
  /** Session id → paths of its ephemeral nodes. */
  readonly ephemerals = new Map<bigint, Set<string>>()
  /** Paths of container nodes (deleted by the server once empty after having had children). */
  readonly containers = new Set<string>()
  readonly aclCache = new ACLCache()
  /** ZooKeeper's approximate data size: path lengths plus data lengths over all nodes. */
  approximateDataBytes = 0

  constructor(opts: {empty?: boolean} = {}) {
    if (opts.empty) return
    const root = this.addSystemNode('/', OPEN_ACL_UNSAFE)
    const zk = this.addSystemNode('/zookeeper', OPEN_ACL_UNSAFE)
    this.addSystemNode('/zookeeper/quota', OPEN_ACL_UNSAFE)
    this.addSystemNode('/zookeeper/config', READ_ACL_UNSAFE)
    ;(root.children = new JavaHashSet()).add('zookeeper')
    ;(zk.children = new JavaHashSet()).add('quota')
    zk.children.add('config')
  }

  private addSystemNode(path: string, acl: ACLList): DataNode {
    const node = new DataNode(Buffer.alloc(0), this.aclCache.intern(acl), 0, 0, ZERO_ID)
    this.nodes.set(path, node)
    this.approximateDataBytes += nodeSize(path, node.data)
    return node
  }

  get nodeCount(): number {
    return this.nodes.size
  }

  get ephemeralCount(): number {
    let n = 0
    for (const set of this.ephemerals.values()) n += set.size
    return n
  }

  get(path: string): DataNode | undefined {
    return this.nodes.get(path)
  }

  /** Children in ZooKeeper's (HashSet) order. */
  children(node: DataNode): string[] {
    return node.children === null ? [] : node.children.toArray()
  }

  /**
   * Applies one txn op (anything but the session ops, which the database handles) at `zxid`.
   * Watch triggers are appended to `triggers` (null during replay); `undo`, when given, receives the
   * steps to roll the change back.
   */
  apply(op: TxnOp, zxid: number, timeMs: number, triggers: WatchTrigger[] | null, undo: UndoLog | null): void {
    switch (op.type) {
      case ZKOpCode.CREATE:
        this.createNode(op.path, op.data, op.acl, op.ephemeralOwner, op.parentCversion, zxid, timeMs, triggers, undo)
        return
      case ZKOpCode.DELETE:
        this.deleteNode(op.path, zxid, triggers, undo)
        return
      case ZKOpCode.SET_DATA:
        this.setData(op.path, op.data, op.version, zxid, timeMs, triggers, undo)
        return
      case ZKOpCode.SET_ACL:
        this.setACL(op.path, op.acl, op.aversion, undo)
        return
      case ZKOpCode.CHECK:
        return
      case ZKOpCode.MULTI:
        for (const sub of op.ops) this.apply(sub, zxid, timeMs, triggers, undo)
        return
      case ZKOpCode.CREATE_SESSION:
      case ZKOpCode.CLOSE_SESSION:
        assert(false, 'session txns are applied by ZKDatabase')
    }
  }

  createNode(
    path: string,
    data: Buffer | null,
    acl: ACLList,
    ephemeralOwner: bigint,
    parentCversion: number,
    zxid: number,
    timeMs: number,
    triggers: WatchTrigger[] | null,
    undo: UndoLog | null,
  ): DataNode {
    const parentName = parentPath(path)
    const parent = this.nodes.get(parentName)
    assert(parent !== undefined, `create ${path}: parent missing`)
    assert(!this.nodes.has(path), `create ${path}: node exists`)
    const name = baseName(path)
    const prevCversion = parent.cversion
    const prevPzxid = parent.pzxid
    const prevChildren = undo !== null && (parent.children === null || parent.children.addWouldResize(name))
      ? (parent.children?.clone() ?? null)
      : undefined
    // Like DataTree.createNode: replaying a create for a node deleted inside a fuzzy snapshot must not
    // move the counter backwards, so only a larger cversion is taken.
    if (parentCversion > parent.cversion) {
      parent.cversion = parentCversion
      parent.pzxid = zxid
    }
    const children = (parent.children ??= new JavaHashSet())
    const capacityBefore = children.capacity
    children.add(name)
    parent.childAdded(name, children.capacity !== capacityBefore)
    const node = new DataNode(data, this.aclCache.intern(acl), zxid, timeMs, ephemeralOwner)
    this.nodes.set(path, node)
    this.approximateDataBytes += nodeSize(path, data)
    if (ephemeralOwner === CONTAINER_OWNER) {
      this.containers.add(path)
    } else if (ephemeralOwner !== ZERO_ID) {
      let set = this.ephemerals.get(ephemeralOwner)
      if (set === undefined) this.ephemerals.set(ephemeralOwner, (set = new Set()))
      set.add(path)
    }
    if (triggers !== null) {
      triggers.push({type: ZKEventType.NODE_CREATED, path}, {type: ZKEventType.NODE_CHILDREN_CHANGED, path: parentName})
    }
    if (undo !== null) {
      undo.push(() => {
        this.nodes.delete(path)
        this.containers.delete(path)
        this.approximateDataBytes -= nodeSize(path, data)
        this.ephemerals.get(ephemeralOwner)?.delete(path)
        if (this.ephemerals.get(ephemeralOwner)?.size === 0) this.ephemerals.delete(ephemeralOwner)
        if (prevChildren !== undefined) parent.children = prevChildren
        else parent.children?.delete(name)
        parent.dropChildrenEncoding()
        parent.cversion = prevCversion
        parent.pzxid = prevPzxid
      })
    }
    return node
  }

  deleteNode(path: string, zxid: number, triggers: WatchTrigger[] | null, undo: UndoLog | null): void {
    const parentName = parentPath(path)
    const parent = this.nodes.get(parentName)
    const node = this.nodes.get(path)
    assert(parent !== undefined && node !== undefined, `delete ${path}: node or parent missing`)
    const name = baseName(path)
    const offset = parent.childRemoving(name)
    const position = parent.children === null ? -1 : parent.children.deleteReturningPosition(name)
    parent.childRemoved(name, offset)
    const prevPzxid = parent.pzxid
    if (zxid > parent.pzxid) parent.pzxid = zxid
    this.nodes.delete(path)
    this.approximateDataBytes -= nodeSize(path, node.data)
    const owner = node.ephemeralOwner
    const wasContainer = this.containers.delete(path)
    const set = owner !== ZERO_ID ? this.ephemerals.get(owner) : undefined
    if (set !== undefined) {
      set.delete(path)
      if (set.size === 0) this.ephemerals.delete(owner)
    }
    if (triggers !== null) {
      triggers.push({type: ZKEventType.NODE_DELETED, path}, {type: ZKEventType.NODE_CHILDREN_CHANGED, path: parentName})
    }
    if (undo !== null) {
      undo.push(() => {
        this.nodes.set(path, node)
        this.approximateDataBytes += nodeSize(path, node.data)
        if (position >= 0) parent.children?.restoreAt(name, position)
        parent.dropChildrenEncoding()
        parent.pzxid = prevPzxid
        if (wasContainer) this.containers.add(path)
        if (set !== undefined) {
          set.add(path)
          this.ephemerals.set(owner, set)
        }
      })
    }
  }

  setData(
    path: string,
    data: Buffer | null,
    version: number,
    zxid: number,
    timeMs: number,
    triggers: WatchTrigger[] | null,
    undo: UndoLog | null,
  ): DataNode {
    const node = this.nodes.get(path)
    assert(node !== undefined, `setData ${path}: node missing`)
    const prev = {data: node.data, version: node.version, mzxid: node.mzxid, mtime: node.mtime}
    this.approximateDataBytes += (data === null ? 0 : data.length) - (node.data === null ? 0 : node.data.length)
    node.data = data
    node.version = version
    node.mzxid = zxid
    node.mtime = timeMs
    if (triggers !== null) triggers.push({type: ZKEventType.NODE_DATA_CHANGED, path})
    if (undo !== null) {
      undo.push(() => {
        this.approximateDataBytes += (prev.data === null ? 0 : prev.data.length) - (data === null ? 0 : data.length)
        node.data = prev.data
        node.version = prev.version
        node.mzxid = prev.mzxid
        node.mtime = prev.mtime
      })
    }
    return node
  }

  setACL(path: string, acl: ACLList, aversion: number, undo: UndoLog | null): DataNode {
    const node = this.nodes.get(path)
    assert(node !== undefined, `setACL ${path}: node missing`)
    const prev = {acl: node.acl, aversion: node.aversion}
    node.acl = this.aclCache.intern(acl)
    node.aversion = aversion
    if (undo !== null) {
      undo.push(() => {
        node.acl = prev.acl
        node.aversion = prev.aversion
      })
    }
    return node
  }

  /**
   * Deletes every ephemeral of a session (a closeSession txn or an expiry), in the order they were
   * created; returns the deleted paths.
   */
  killSession(sessionId: bigint, zxid: number, triggers: WatchTrigger[] | null): string[] {
    const set = this.ephemerals.get(sessionId)
    if (set === undefined) return []
    const paths = [...set]
    for (const path of paths) if (this.nodes.has(path)) this.deleteNode(path, zxid, triggers, null)
    this.ephemerals.delete(sessionId)
    return paths
  }

  /**
   * Containers ZooKeeper's ContainerManager would delete now: empty, and they had children once
   * (cversion > 0). At most `max` of them.
   */
  emptyContainers(max: number): string[] {
    const out: string[] = []
    for (const path of this.containers) {
      if (out.length >= max) break
      const node = this.nodes.get(path)
      if (node !== undefined && node.numChildren === 0 && node.cversion > 0) out.push(path)
    }
    return out
  }

  /** Number of nodes below path (ZooKeeper's getAllChildrenNumber). */
  descendantCount(path: string): number {
    if (path === '/') return this.nodes.size - 1
    const prefix = `${path}/`
    let n = 0
    for (const key of this.nodes.keys()) if (key.startsWith(prefix)) n++
    return n
  }
}

/** A number zxid as ZooKeeper prints it (0x-prefixed hex). */
export function zxidHex(zxid: number): `0x${string}` {
  const hi = Math.floor(zxid / TWO_POW_32)
  const lo = zxid - hi * TWO_POW_32
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`
}
