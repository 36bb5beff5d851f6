/**
 * Serves the requests of established connections (ZooKeeper's Prep + Final request processors in one
 * pass): decodes each request, validates writes (prep.ts), applies them to the database at the next
 * zxid, hands the txn to the host's log, fires watches and writes the reply into the connection's
 * output, where it waits until its release zxid is durable (see connection.ts).
 *
 * Reply rules (ZooKeeper 3.8): the reply header's zxid is the last applied zxid (for a write, its own
 * txn); notifications carry zxid -1, auth replies 0. An error reply is the bare 16-byte header. A
 * request whose body does not decode gets MARSHALLINGERROR and the connection stays; an op code
 * ZooKeeper does not know gets UNIMPLEMENTED and the connection is closed (as ZooKeeper does); ops
 * ZooKeeper knows but this server does not offer (reconfig, persistent watches, sasl, TTL nodes) get
 * UNIMPLEMENTED and the connection stays. Only codes in CLIENT_SAFE_ZK_CODES and event types 1..4 are
 * ever sent: node-zookeeper-client throws inside its socket handler on anything else.
 */
import type {Clock} from '../../common/clock.js'
import {
  decodeAuthPacket,
  decodeCreateRequest,
  decodeMultiRequest,
  decodePathRequest,
  decodePathVersionRequest,
  decodePathWatchRequest,
  decodeSetACLRequest,
  decodeSetDataRequest,
  decodeSetWatches,
  encodeMultiResponse,
  JuteDecodeError,
  JuteReader,
  type JuteWriter,
  type MultiResult,
  readMultiHeader,
  writeACLVector,
  writeMultiHeader,
  type ZKACL,
  ZKCode,
  ZKEventType,
  ZKKeeperState,
  ZKOpCode,
  ZKPerm,
  ZKXid,
  ZK_KNOWN_REQUEST_OPS,
} from '../../protocol/jute/index.js'
import {aclAllows, digestId} from './acl.js'
import type {ServerConnection} from './connection.js'
import type {DataNode, UndoLog, WatchTrigger} from './data-tree.js'
import {prepCheck, prepCreate, prepDelete, prepSetACL, prepSetData} from './prep.js'
import type {Txn, TxnOp} from './txn.js'
import type {WatchManager} from './watch-manager.js'
import type {ZKDatabase} from './zk-database.js'

/** What the processor needs from the server that owns it. */
export interface ProcessorHost {
  readonly db: ZKDatabase
  readonly dataWatches: WatchManager<ServerConnection>
  readonly childWatches: WatchManager<ServerConnection>
  readonly clock: Clock
  /** Hands an applied txn to the durable log. */
  logTxn(txn: Txn, zxid: number): void
  /** Ends the connection's session (closeSession request); returns the close txn's zxid. */
  endSession(sessionId: bigint): number
  recordLatency(latencyMs: number): void
}

const NO_ZXID = -1
/** Nodes with at least this many children keep their encoded child list (see DataNode.childrenBuf). */
const CHILDREN_ENCODING_KEPT_FROM = 16

export class RequestProcessor {
  private readonly host: ProcessorHost
  private readonly reader = new JuteReader(Buffer.alloc(0))
  private readonly triggers: WatchTrigger[] = []

  constructor(host: ProcessorHost) {
    this.host = host
  }

  // ---- writes and watches -----------------------------------------------------------------------

  /** Applies a txn at the next zxid, logs it and fires its watches; returns the zxid. */
  commitWrite(txn: Txn): number {
    const db = this.host.db
    const zxid = db.lastZxid + 1
    const triggers = this.triggers
    triggers.length = 0
    db.applyTxn(txn, zxid, triggers)
    this.host.logTxn(txn, zxid)
    this.fire(triggers, zxid)
    return zxid
  }

  private fire(triggers: readonly WatchTrigger[], zxid: number): void {
    const {dataWatches, childWatches} = this.host
    for (const t of triggers) {
      switch (t.type) {
        case ZKEventType.NODE_CREATED:
        case ZKEventType.NODE_DATA_CHANGED:
          this.notifyAll(dataWatches.trigger(t.path), t.type, t.path, zxid)
          break
        case ZKEventType.NODE_DELETED: {
          const notified = dataWatches.trigger(t.path)
          this.notifyAll(notified, t.type, t.path, zxid)
          this.notifyAll(childWatches.trigger(t.path, notified), t.type, t.path, zxid)
          break
        }
        case ZKEventType.NODE_CHILDREN_CHANGED:
          this.notifyAll(childWatches.trigger(t.path), t.type, t.path, zxid)
          break
      }
    }
  }

  private notifyAll(conns: Set<ServerConnection> | undefined, type: ZKEventType, path: string, zxid: number): void {
    if (conns === undefined) return
    for (const conn of conns) this.notify(conn, type, path, zxid)
  }

  /** Queues a WatcherEvent (xid -1, zxid -1) that leaves once releaseZxid is durable. */
  notify(conn: ServerConnection, type: ZKEventType, path: string, releaseZxid: number): void {
    if (conn.state === 'closed') return
    const w = conn.out
    const at = w.beginFrame()
    w.int(ZKXid.NOTIFICATION).longNumber(NO_ZXID).int(ZKCode.OK)
    w.int(type).int(ZKKeeperState.SYNC_CONNECTED).ustring(path)
    w.endFrame(at)
    conn.commit(releaseZxid)
  }

  // ---- reply helpers ----------------------------------------------------------------------------

  private begin(conn: ServerConnection, xid: number, err: number, zxid = this.host.db.lastZxid): number {
    const w = conn.out
    const at = w.beginFrame()
    w.int(xid).longNumber(zxid).int(err)
    return at
  }

  private end(conn: ServerConnection, at: number): void {
    conn.out.endFrame(at)
    conn.commit(this.host.db.lastZxid)
  }

  private reply(conn: ServerConnection, xid: number, err: number, zxid?: number): void {
    this.end(conn, this.begin(conn, xid, err, zxid))
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  /** Serves one request frame of an established connection. */
  handleRequest(conn: ServerConnection, frame: Buffer): void {
    const clock = this.host.clock
    const startMs = clock.monotonicMs()
    if (frame.length < 8) {
      conn.close('request shorter than its header')
      return
    }
    const r = this.reader.reset(frame)
    const xid = r.int()
    const type = r.int()
    try {
      this.dispatch(conn, xid, type, r)
    } catch (e) {
      if (!(e instanceof JuteDecodeError)) throw e
      // Like ZooKeeper: a body that does not decode is answered, not fatal to the connection.
      this.reply(conn, xid, ZKCode.MARSHALLING_ERROR)
    }
    this.host.recordLatency(clock.monotonicMs() - startMs)
  }

  private dispatch(conn: ServerConnection, xid: number, type: number, r: JuteReader): void {
    switch (type) {
      case ZKOpCode.PING:
        this.reply(conn, ZKXid.PING, ZKCode.OK)
        return
      case ZKOpCode.GET_DATA:
        return this.getData(conn, xid, r)
      case ZKOpCode.EXISTS:
        return this.exists(conn, xid, r)
      case ZKOpCode.GET_CHILDREN:
      case ZKOpCode.GET_CHILDREN2:
        return this.getChildren(conn, xid, type, r)
      case ZKOpCode.CREATE:
      case ZKOpCode.CREATE2:
      case ZKOpCode.CREATE_CONTAINER:
        return this.create(conn, xid, type, r)
      case ZKOpCode.DELETE:
        return this.write(conn, xid, prepDelete(this.host.db.tree, decodePathVersionRequest(r), conn))
      case ZKOpCode.SET_DATA:
        return this.writeWithStat(conn, xid, prepSetData(this.host.db.tree, decodeSetDataRequest(r), conn))
      case ZKOpCode.SET_ACL:
        return this.writeWithStat(conn, xid, prepSetACL(this.host.db.tree, decodeSetACLRequest(r), conn))
      case ZKOpCode.CHECK:
        return this.check(conn, xid, r)
      case ZKOpCode.MULTI:
        return this.multi(conn, xid, r)
      case ZKOpCode.MULTI_READ:
        return this.multiRead(conn, xid, r)
      case ZKOpCode.GET_ACL:
        return this.getACL(conn, xid, r)
      case ZKOpCode.SYNC: {
        const {path} = decodePathRequest(r)
        const at = this.begin(conn, xid, ZKCode.OK)
        conn.out.ustring(path)
        return this.end(conn, at)
      }
      case ZKOpCode.SET_WATCHES:
        return this.setWatches(conn, xid, r)
      case ZKOpCode.AUTH:
        return this.auth(conn, xid, r)
      case ZKOpCode.CLOSE_SESSION:
        return this.closeSession(conn, xid)
      case ZKOpCode.GET_EPHEMERALS:
        return this.getEphemerals(conn, xid, r)
      case ZKOpCode.GET_ALL_CHILDREN_NUMBER:
        return this.getAllChildrenNumber(conn, xid, r)
      case ZKOpCode.WHO_AM_I:
        return this.whoAmI(conn, xid)
      case ZKOpCode.CREATE_TTL:
        decodeCreateRequest(r, true)
        return this.reply(conn, xid, ZKCode.UNIMPLEMENTED)
      default:
        if (ZK_KNOWN_REQUEST_OPS.has(type)) return this.reply(conn, xid, ZKCode.UNIMPLEMENTED)
        // An op ZooKeeper does not know: it answers UNIMPLEMENTED (zxid -1) and drops the connection.
        this.reply(conn, xid, ZKCode.UNIMPLEMENTED, NO_ZXID)
        conn.closeAfterOutput()
    }
  }

  // ---- reads ------------------------------------------------------------------------------------

  private readableNode(conn: ServerConnection, xid: number, path: string): DataNode | undefined {
    const node = this.host.db.tree.get(path)
    if (node === undefined) {
      this.reply(conn, xid, ZKCode.NO_NODE)
      return undefined
    }
    if (!aclAllows(node.acl, ZKPerm.READ, conn.authIds)) {
      this.reply(conn, xid, ZKCode.NO_AUTH)
      return undefined
    }
    return node
  }

  private getData(conn: ServerConnection, xid: number, r: JuteReader): void {
    const req = decodePathWatchRequest(r)
    const node = this.readableNode(conn, xid, req.path)
    if (node === undefined) return
    if (req.watch) this.host.dataWatches.add(req.path, conn)
    const at = this.begin(conn, xid, ZKCode.OK)
    conn.out.buffer(node.data)
    node.writeStat(conn.out)
    this.end(conn, at)
  }

  private exists(conn: ServerConnection, xid: number, r: JuteReader): void {
    const req = decodePathWatchRequest(r)
    if (req.path.includes('\u0000')) return this.reply(conn, xid, ZKCode.BAD_ARGUMENTS)
    // An exists watch is set whether or not the node exists (it then fires on creation).
    if (req.watch) this.host.dataWatches.add(req.path, conn)
    const node = this.host.db.tree.get(req.path)
    if (node === undefined) return this.reply(conn, xid, ZKCode.NO_NODE)
    const at = this.begin(conn, xid, ZKCode.OK)
    node.writeStat(conn.out)
    this.end(conn, at)
  }

  /**
   * Writes the node's children (vector<ustring>) into w: from the node's maintained encoding when it
   * has one, else encoded in place, keeping the encoding for nodes with many ASCII-named children.
   */
  private writeChildren(w: JuteWriter, node: DataNode): void {
    if (node.childrenBuf !== null) {
      w.raw(node.childrenBuf, 0, node.childrenBytes)
      return
    }
    const at = w.length
    const names = node.children === null ? [] : node.children.toArray()
    w.stringVector(names)
    if (names.length >= CHILDREN_ENCODING_KEPT_FROM) {
      const bytes = w.length - at
      let units = 4
      for (const n of names) units += 4 + n.length
      // bytes === units only when every name is ASCII, which in-place splicing relies on.
      if (bytes === units) {
        node.childrenBuf = w.copyFrom(at)
        node.childrenBytes = bytes
      }
    }
  }

  private getChildren(conn: ServerConnection, xid: number, type: number, r: JuteReader): void {
    const req = decodePathWatchRequest(r)
    const node = this.readableNode(conn, xid, req.path)
    if (node === undefined) return
    if (req.watch) this.host.childWatches.add(req.path, conn)
    const at = this.begin(conn, xid, ZKCode.OK)
    this.writeChildren(conn.out, node)
    if (type === ZKOpCode.GET_CHILDREN2) node.writeStat(conn.out)
    this.end(conn, at)
  }

  private getACL(conn: ServerConnection, xid: number, r: JuteReader): void {
    const {path} = decodePathRequest(r)
    const node = this.host.db.tree.get(path)
    if (node === undefined) return this.reply(conn, xid, ZKCode.NO_NODE)
    if (!aclAllows(node.acl, ZKPerm.READ | ZKPerm.ADMIN, conn.authIds)) return this.reply(conn, xid, ZKCode.NO_AUTH)
    // Without ADMIN a reader sees digest ids with the password hash masked (FinalRequestProcessor).
    const acl: readonly ZKACL[] = aclAllows(node.acl, ZKPerm.ADMIN, conn.authIds)
      ? node.acl
      : node.acl.map((a) =>
          a.id.scheme === 'digest' ? {perms: a.perms, id: {scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x')}} : a,
        )
    const at = this.begin(conn, xid, ZKCode.OK)
    writeACLVector(conn.out, acl)
    node.writeStat(conn.out)
    this.end(conn, at)
  }

  private check(conn: ServerConnection, xid: number, r: JuteReader): void {
    const req = decodePathVersionRequest(r)
    const op = prepCheck(this.host.db.tree, req, conn)
    if (typeof op === 'number') return this.reply(conn, xid, op)
    const at = this.begin(conn, xid, ZKCode.OK)
    this.host.db.tree.get(req.path)!.writeStat(conn.out)
    this.end(conn, at)
  }

  private getEphemerals(conn: ServerConnection, xid: number, r: JuteReader): void {
    const prefix = decodePathRequest(r).path
    const all = prefix.trim() === '' || prefix.trim() === '/'
    const mine = conn.sessionId === null ? undefined : this.host.db.tree.ephemerals.get(conn.sessionId)
    const paths = [...(mine ?? [])].filter((p) => all || p.startsWith(prefix))
    const at = this.begin(conn, xid, ZKCode.OK)
    conn.out.stringVector(paths)
    this.end(conn, at)
  }

  private getAllChildrenNumber(conn: ServerConnection, xid: number, r: JuteReader): void {
    const {path} = decodePathRequest(r)
    if (this.readableNode(conn, xid, path) === undefined) return
    const at = this.begin(conn, xid, ZKCode.OK)
    conn.out.int(this.host.db.tree.descendantCount(path))
    this.end(conn, at)
  }

  private whoAmI(conn: ServerConnection, xid: number): void {
    const at = this.begin(conn, xid, ZKCode.OK)
    conn.out.vector(conn.authIds, (w, id) => {
      w.ustring(id.scheme).ustring(id.scheme === 'digest' ? id.id.split(':')[0] : id.id)
    })
    this.end(conn, at)
  }

  /** multiRead (22): getData/getChildren ops, each answered on its own (no all-or-nothing). */
  private multiRead(conn: ServerConnection, xid: number, r: JuteReader): void {
    const ops: {type: number; path: string; watch: boolean}[] = []
    for (;;) {
      const h = readMultiHeader(r)
      if (h.done) break
      if (h.type !== ZKOpCode.GET_DATA && h.type !== ZKOpCode.GET_CHILDREN) {
        throw new JuteDecodeError(`invalid op type ${h.type} in multiRead`)
      }
      ops.push({type: h.type, ...decodePathWatchRequest(r)})
    }
    const {tree} = this.host.db
    const at = this.begin(conn, xid, ZKCode.OK)
    const w = conn.out
    for (const op of ops) {
      const node = tree.get(op.path)
      const err = node === undefined ? ZKCode.NO_NODE : aclAllows(node.acl, ZKPerm.READ, conn.authIds) ? 0 : ZKCode.NO_AUTH
      if (node === undefined || err !== 0) {
        writeMultiHeader(w, {type: ZKOpCode.ERROR, done: false, err})
        w.int(err)
        continue
      }
      writeMultiHeader(w, {type: op.type, done: false, err: 0})
      if (op.type === ZKOpCode.GET_DATA) {
        if (op.watch) this.host.dataWatches.add(op.path, conn)
        w.buffer(node.data)
        node.writeStat(w)
      } else {
        if (op.watch) this.host.childWatches.add(op.path, conn)
        this.writeChildren(w, node)
      }
    }
    writeMultiHeader(w, {type: -1, done: true, err: -1})
    this.end(conn, at)
  }

  // ---- writes -----------------------------------------------------------------------------------

  private create(conn: ServerConnection, xid: number, type: number, r: JuteReader): void {
    const req = decodeCreateRequest(r)
    const op = prepCreate(this.host.db.tree, type, req, conn)
    if (typeof op === 'number') return this.reply(conn, xid, op)
    this.commitWrite({timeMs: this.host.clock.nowMs(), op})
    const at = this.begin(conn, xid, ZKCode.OK)
    conn.out.ustring(op.path)
    if (type !== ZKOpCode.CREATE) this.host.db.tree.get(op.path)!.writeStat(conn.out)
    this.end(conn, at)
  }

  private write(conn: ServerConnection, xid: number, op: TxnOp | ZKCode): void {
    if (typeof op === 'number') return this.reply(conn, xid, op)
    this.commitWrite({timeMs: this.host.clock.nowMs(), op})
    this.reply(conn, xid, ZKCode.OK)
  }

  /** setData and setACL: the reply carries the node's new Stat. */
  private writeWithStat(conn: ServerConnection, xid: number, op: TxnOp | ZKCode): void {
    if (typeof op === 'number') return this.reply(conn, xid, op)
    this.commitWrite({timeMs: this.host.clock.nowMs(), op})
    const at = this.begin(conn, xid, ZKCode.OK)
    this.host.db.tree.get((op as {path: string}).path)!.writeStat(conn.out)
    this.end(conn, at)
  }

  /**
   * multi (14): all ops or none. Each op is validated against the tree as changed by the ops before
   * it and applied with an undo record; the first failure rolls everything back and the reply lists
   * 0 for the ops before it, its code, and RUNTIMEINCONSISTENCY after it (header err stays 0).
   */
  private multi(conn: ServerConnection, xid: number, r: JuteReader): void {
    const ops = decodeMultiRequest(r)
    const db = this.host.db
    const tree = db.tree
    const zxid = db.lastZxid + 1
    const timeMs = this.host.clock.nowMs()
    const undo: UndoLog = []
    const triggers: WatchTrigger[] = []
    const txnOps: TxnOp[] = []
    const results: MultiResult[] = []
    let failedAt = -1
    let failCode: number = ZKCode.OK
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!
      let t: TxnOp | ZKCode
      switch (op.type) {
        case ZKOpCode.CREATE:
        case ZKOpCode.CREATE2:
        case ZKOpCode.CREATE_CONTAINER:
          t = prepCreate(tree, op.type, op.request, conn)
          break
        case ZKOpCode.DELETE:
          t = prepDelete(tree, op.request, conn)
          break
        case ZKOpCode.SET_DATA:
          t = prepSetData(tree, op.request, conn)
          break
        case ZKOpCode.CHECK:
          t = prepCheck(tree, op.request, conn)
          break
      }
      if (typeof t === 'number') {
        failedAt = i
        failCode = t
        break
      }
      tree.apply(t, zxid, timeMs, triggers, undo)
      txnOps.push(t)
      if (op.type === ZKOpCode.CREATE) {
        results.push({type: ZKOpCode.CREATE, path: (t as {path: string}).path})
      } else if (op.type === ZKOpCode.CREATE2 || op.type === ZKOpCode.CREATE_CONTAINER) {
        const path = (t as {path: string}).path
        results.push({type: ZKOpCode.CREATE2, path, stat: tree.get(path)!.stat()})
      } else if (op.type === ZKOpCode.SET_DATA) {
        results.push({type: ZKOpCode.SET_DATA, stat: tree.get(op.request.path)!.stat()})
      } else {
        results.push({type: op.type})
      }
    }
    if (failedAt >= 0) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!()
      const errors: MultiResult[] = ops.map((_, i) => ({
        type: ZKOpCode.ERROR,
        err: i < failedAt ? ZKCode.OK : i === failedAt ? failCode : ZKCode.RUNTIME_INCONSISTENCY,
      }))
      const at = this.begin(conn, xid, ZKCode.OK)
      encodeMultiResponse(conn.out, errors)
      return this.end(conn, at)
    }
    if (txnOps.length > 0) {
      db.lastZxid = zxid
      this.host.logTxn({timeMs, op: {type: ZKOpCode.MULTI, ops: txnOps}}, zxid)
      this.fire(triggers, zxid)
    }
    const at = this.begin(conn, xid, ZKCode.OK)
    encodeMultiResponse(conn.out, results)
    this.end(conn, at)
  }

  // ---- session-level requests ---------------------------------------------------------------------

  /**
   * setWatches (101), sent on reconnect: a watch whose event already happened since relativeZxid fires
   * now (DataTree.setWatches); the others are re-armed.
   */
  private setWatches(conn: ServerConnection, xid: number, r: JuteReader): void {
    const req = decodeSetWatches(r)
    const relativeZxid = Number(req.relativeZxid)
    const {db, dataWatches, childWatches} = this.host
    const release = db.lastZxid
    for (const path of req.dataWatches) {
      const node = db.tree.get(path)
      if (node === undefined) this.notify(conn, ZKEventType.NODE_DELETED, path, release)
      else if (node.mzxid > relativeZxid) this.notify(conn, ZKEventType.NODE_DATA_CHANGED, path, release)
      else dataWatches.add(path, conn)
    }
    for (const path of req.existWatches) {
      if (db.tree.get(path) !== undefined) this.notify(conn, ZKEventType.NODE_CREATED, path, release)
      else dataWatches.add(path, conn)
    }
    for (const path of req.childWatches) {
      const node = db.tree.get(path)
      if (node === undefined) this.notify(conn, ZKEventType.NODE_DELETED, path, release)
      else if (node.pzxid > relativeZxid) this.notify(conn, ZKEventType.NODE_CHILDREN_CHANGED, path, release)
      else childWatches.add(path, conn)
    }
    this.reply(conn, xid, ZKCode.OK)
  }

  /**
   * auth (100): digest ids are added to the connection; ip needs nothing (every connection carries
   * its address). Any other scheme fails like ZooKeeper: AUTHFAILED, then the connection is closed.
   */
  private auth(conn: ServerConnection, xid: number, r: JuteReader): void {
    const packet = decodeAuthPacket(r)
    if (packet.scheme === 'digest' && packet.auth !== null) {
      const id = digestId(packet.auth.toString('utf8'))
      if (!conn.authIds.some((a) => a.scheme === 'digest' && a.id === id)) conn.authIds.push({scheme: 'digest', id})
      return this.reply(conn, xid, ZKCode.OK, 0)
    }
    if (packet.scheme === 'ip') return this.reply(conn, xid, ZKCode.OK, 0)
    this.reply(conn, xid, ZKCode.AUTH_FAILED, 0)
    conn.closeAfterOutput()
  }

  /** closeSession (-11): ephemerals go first, then the reply, then the connection. */
  private closeSession(conn: ServerConnection, xid: number): void {
    if (conn.sessionId === null) return conn.close('closeSession without a session')
    const zxid = this.host.endSession(conn.sessionId)
    this.reply(conn, xid, ZKCode.OK, zxid)
    conn.closeAfterOutput()
  }
}
