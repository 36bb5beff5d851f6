/**
 * The replicated state of the ZooKeeper server: the data tree, the sessions (id, timeout, password)
 * and the last applied zxid, plus its two serial forms, txns (txn.ts) and snapshots (below). Live
 * requests and recovery both change it only through txns, so replaying the log rebuilds exactly the
 * state clients saw (ephemerals of sessions that were still alive included).
 *
 * Snapshot payload (jute primitives, big-endian):
 *
 *   Snapshot { int magic = 0x5a4b534e ("ZKSN"), int formatVersion = 1, long zxid,
 *              int sessionCount, Session[sessionCount],
 *              int aclCount, vector<ACL>[aclCount],            (ACL lists, referenced by index)
 *              int nodeCount, Node[nodeCount] }
 *   Session  { long id, int timeoutMs, buffer passwd }
 *   Node     { ustring path, buffer data (-1 = null), int aclIndex, long czxid, long mzxid, long pzxid,
 *              long ctime, long mtime, int version, int cversion, int aversion, long ephemeralOwner }
 *
 * Nodes are written in pre-order (a parent before its children, children in the parent's HashSet
 * order); `cversion` is the internal child-create counter, so sequential numbering continues exactly
 * after a restart. Loading re-inserts children in that order into fresh sets, which is what
 * ZooKeeper does on a snapshot load (child order after a restart may therefore differ, as it may in
 * ZooKeeper).
 */
import {
  JuteDecodeError,
  JuteReader,
  JuteWriter,
  readACLVector,
  writeACLVector,
  ZKOpCode,
} from '../../protocol/jute/index.js'
import type {ACLList} from './acl.js'
import {JavaHashSet} from './child-set.js'
import {DataNode, DataTree, type UndoLog, type WatchTrigger} from './data-tree.js'
import {baseName, parentPath} from './paths.js'
import {CONTAINER_OWNER, type Txn} from './txn.js'

export const SNAPSHOT_MAGIC = 0x5a4b534e
export const SNAPSHOT_FORMAT_VERSION = 1

export interface SessionRecord {
  id: bigint
  timeoutMs: number
  passwd: Buffer
}

export class ZKDatabase {
  tree: DataTree
  readonly sessions = new Map<bigint, SessionRecord>()
  lastZxid = 0

  constructor(tree = new DataTree()) {
    this.tree = tree
  }

  /**
   * Applies a txn at zxid (which must follow lastZxid). Session txns update the session table; a
   * closeSession also deletes the session's ephemerals.
   */
  applyTxn(txn: Txn, zxid: number, triggers: WatchTrigger[] | null, undo: UndoLog | null = null): void {
    const op = txn.op
    switch (op.type) {
      case ZKOpCode.CREATE_SESSION:
        this.sessions.set(op.sessionId, {id: op.sessionId, timeoutMs: op.timeoutMs, passwd: op.passwd})
        break
      case ZKOpCode.CLOSE_SESSION:
        this.tree.killSession(op.sessionId, zxid, triggers)
        this.sessions.delete(op.sessionId)
        break
      default:
        this.tree.apply(op, zxid, txn.timeMs, triggers, undo)
    }
    if (zxid > this.lastZxid) this.lastZxid = zxid
  }

  encodeSnapshot(): Buffer {
    const w = new JuteWriter(64 * 1024)
    w.int(SNAPSHOT_MAGIC).int(SNAPSHOT_FORMAT_VERSION).longNumber(this.lastZxid)
    w.int(this.sessions.size)
    for (const s of this.sessions.values()) w.long(s.id).int(s.timeoutMs).buffer(s.passwd)
    const aclIndex = new Map<ACLList, number>()
    for (const node of this.tree.nodes.values()) if (!aclIndex.has(node.acl)) aclIndex.set(node.acl, aclIndex.size)
    w.int(aclIndex.size)
    for (const acl of aclIndex.keys()) writeACLVector(w, acl)
    w.int(this.tree.nodes.size)
    let written = 0
    const stack: string[] = ['/']
    while (stack.length > 0) {
      const path = stack.pop()!
      const node = this.tree.nodes.get(path)!
      w.ustring(path).buffer(node.data).int(aclIndex.get(node.acl)!)
      w.longNumber(node.czxid).longNumber(node.mzxid).longNumber(node.pzxid).longNumber(node.ctime).longNumber(node.mtime)
      w.int(node.version).int(node.cversion).int(node.aversion).long(node.ephemeralOwner)
      written++
      if (node.children !== null) {
        const names = node.children.toArray()
        const prefix = path === '/' ? '/' : `${path}/`
        for (let i = names.length - 1; i >= 0; i--) stack.push(prefix + names[i])
      }
    }
    if (written !== this.tree.nodes.size) throw new Error(`snapshot wrote ${written} of ${this.tree.nodes.size} nodes`)
    return w.take() // the writer is dropped: hand out its bytes without copying a large snapshot
  }

  /** Rebuilds a database from a snapshot payload; throws JuteDecodeError on a malformed one. */
  static fromSnapshot(payload: Buffer): ZKDatabase {
    const r = new JuteReader(payload)
    if (r.int() !== SNAPSHOT_MAGIC) throw new JuteDecodeError('not a ZooKeeper snapshot (bad magic)')
    const version = r.int()
    if (version !== SNAPSHOT_FORMAT_VERSION) throw new JuteDecodeError(`unknown snapshot format version ${version}`)
    const tree = new DataTree({empty: true})
    const db = new ZKDatabase(tree)
    db.lastZxid = r.longNumber()
    const sessionCount = r.vectorCount(16)
    for (let i = 0; i < sessionCount; i++) {
      const id = r.long()
      const timeoutMs = r.int()
      const passwd = r.buffer()
      if (passwd === null) throw new JuteDecodeError('session without a password')
      db.sessions.set(id, {id, timeoutMs, passwd})
    }
    const aclCount = r.vectorCount(4)
    const acls: ACLList[] = []
    for (let i = 0; i < aclCount; i++) acls.push(tree.aclCache.intern(readACLVector(r) ?? []))
    const nodeCount = r.vectorCount(64)
    for (let i = 0; i < nodeCount; i++) {
      const path = r.string('path')
      const data = r.buffer()
      const acl = acls[r.int()]
      if (acl === undefined) throw new JuteDecodeError(`node ${path} refers to a missing ACL`)
      const czxid = r.longNumber()
      const node = new DataNode(data, acl, czxid, 0, 0n)
      node.mzxid = r.longNumber()
      node.pzxid = r.longNumber()
      node.ctime = r.longNumber()
      node.mtime = r.longNumber()
      node.version = r.int()
      node.cversion = r.int()
      node.aversion = r.int()
      node.ephemeralOwner = r.long()
      if (tree.nodes.has(path)) throw new JuteDecodeError(`node ${path} appears twice`)
      if (path !== '/') {
        const parent = tree.nodes.get(parentPath(path))
        if (parent === undefined) throw new JuteDecodeError(`node ${path} comes before its parent`)
        ;(parent.children ??= new JavaHashSet()).add(baseName(path))
      }
      tree.nodes.set(path, node)
      tree.approximateDataBytes += path.length + (data === null ? 0 : data.length)
      if (node.ephemeralOwner === CONTAINER_OWNER) {
        tree.containers.add(path)
      } else if (node.ephemeralOwner !== 0n) {
        let set = tree.ephemerals.get(node.ephemeralOwner)
        if (set === undefined) tree.ephemerals.set(node.ephemeralOwner, (set = new Set()))
        set.add(path)
      }
    }
    if (!tree.nodes.has('/')) throw new JuteDecodeError('snapshot has no root node')
    if (r.remaining() !== 0) throw new JuteDecodeError(`${r.remaining()} trailing bytes after snapshot`)
    return db
  }
}
