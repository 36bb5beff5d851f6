/**
 * Transactions: every change to the ZooKeeper state (data tree and sessions) as the server logs it
 * through ZKPersistence.append() and replays it on start. A txn is fully resolved when logged
 * (sequential suffixes, `auth` ACLs, versions are already computed), so replay never validates or
 * decides anything: it applies.
 *
 * Payload encoding (jute primitives, big-endian; the zxid is kept by the store next to the payload):
 *
 *   Txn        { int formatVersion = 1, long timeMs, TxnOp op }
 *   TxnOp      { int type, body }                          type values follow ZooKeeper's op codes:
 *     1  CREATE          { ustring path, buffer data (-1 = null), vector<ACL> acl, long ephemeralOwner,
 *                          int parentCversion }   ephemeralOwner: 0 persistent, a session id for an
 *                          ephemeral, CONTAINER_OWNER for a container; parentCversion is the parent's
 *                          child-create counter after this create (next sequential suffix)
 *     2  DELETE          { ustring path }
 *     5  SET_DATA        { ustring path, buffer data, int version }           version = the new version
 *     7  SET_ACL         { ustring path, vector<ACL> acl, int aversion }      aversion = the new version
 *     13 CHECK           { ustring path, int version }                        (inside multi; no effect)
 *     14 MULTI           { int count, TxnOp[count] }                          all with the txn's zxid
 *    -10 CREATE_SESSION  { long sessionId, int timeoutMs, buffer passwd (16 bytes) }
 *    -11 CLOSE_SESSION   { long sessionId }     deletes every ephemeral the session owns, then the session
 */
import {
  JuteDecodeError,
  JuteReader,
  JuteWriter,
  readACLVector,
  writeACLVector,
  type ZKACL,
  ZKOpCode,
} from '../../protocol/jute/index.js'

export const TXN_FORMAT_VERSION = 1

/** ephemeralOwner of container nodes (EphemeralType.CONTAINER_EPHEMERAL_OWNER); clients see 0. */
export const CONTAINER_OWNER = -0x8000000000000000n

export type TxnOp =
  | {
      type: typeof ZKOpCode.CREATE
      path: string
      data: Buffer | null
      acl: readonly ZKACL[]
      ephemeralOwner: bigint
      parentCversion: number
    }
  | {type: typeof ZKOpCode.DELETE; path: string}
  | {type: typeof ZKOpCode.SET_DATA; path: string; data: Buffer | null; version: number}
  | {type: typeof ZKOpCode.SET_ACL; path: string; acl: readonly ZKACL[]; aversion: number}
  | {type: typeof ZKOpCode.CHECK; path: string; version: number}
  | {type: typeof ZKOpCode.MULTI; ops: TxnOp[]}
  | {type: typeof ZKOpCode.CREATE_SESSION; sessionId: bigint; timeoutMs: number; passwd: Buffer}
  | {type: typeof ZKOpCode.CLOSE_SESSION; sessionId: bigint}

export interface Txn {
  timeMs: number
  op: TxnOp
}

function writeOp(w: JuteWriter, op: TxnOp): void {
  w.int(op.type)
  switch (op.type) {
    case ZKOpCode.CREATE:
      w.ustring(op.path).buffer(op.data)
      writeACLVector(w, op.acl)
      w.long(op.ephemeralOwner).int(op.parentCversion)
      return
    case ZKOpCode.DELETE:
      w.ustring(op.path)
      return
    case ZKOpCode.SET_DATA:
      w.ustring(op.path).buffer(op.data).int(op.version)
      return
    case ZKOpCode.SET_ACL:
      w.ustring(op.path)
      writeACLVector(w, op.acl)
      w.int(op.aversion)
      return
    case ZKOpCode.CHECK:
      w.ustring(op.path).int(op.version)
      return
    case ZKOpCode.MULTI:
      w.int(op.ops.length)
      for (const sub of op.ops) writeOp(w, sub)
      return
    case ZKOpCode.CREATE_SESSION:
      w.long(op.sessionId).int(op.timeoutMs).buffer(op.passwd)
      return
    case ZKOpCode.CLOSE_SESSION:
      w.long(op.sessionId)
      return
  }
}

function readOp(r: JuteReader, depth: number): TxnOp {
  const type = r.int()
  switch (type) {
    case ZKOpCode.CREATE: {
      const path = r.string('path')
      const data = r.buffer()
      const acl = readACLVector(r)
      if (acl === null) throw new JuteDecodeError('create txn without an ACL')
      return {type, path, data, acl, ephemeralOwner: r.long(), parentCversion: r.int()}
    }
    case ZKOpCode.DELETE:
      return {type, path: r.string('path')}
    case ZKOpCode.SET_DATA:
      return {type, path: r.string('path'), data: r.buffer(), version: r.int()}
    case ZKOpCode.SET_ACL: {
      const path = r.string('path')
      const acl = readACLVector(r)
      if (acl === null) throw new JuteDecodeError('setACL txn without an ACL')
      return {type, path, acl, aversion: r.int()}
    }
    case ZKOpCode.CHECK:
      return {type, path: r.string('path'), version: r.int()}
    case ZKOpCode.MULTI: {
      if (depth > 0) throw new JuteDecodeError('nested multi txn')
      const count = r.vectorCount(4)
      if (count < 0) throw new JuteDecodeError('multi txn with a null op list')
      const ops: TxnOp[] = []
      for (let i = 0; i < count; i++) ops.push(readOp(r, depth + 1))
      return {type, ops}
    }
    case ZKOpCode.CREATE_SESSION: {
      const sessionId = r.long()
      const timeoutMs = r.int()
      const passwd = r.buffer()
      if (passwd === null) throw new JuteDecodeError('createSession txn without a password')
      return {type, sessionId, timeoutMs, passwd}
    }
    case ZKOpCode.CLOSE_SESSION:
      return {type, sessionId: r.long()}
    default:
      throw new JuteDecodeError(`unknown txn op type ${type}`)
  }
}

export function encodeTxn(txn: Txn, w = new JuteWriter(256)): Buffer {
  w.int(TXN_FORMAT_VERSION).longNumber(txn.timeMs)
  writeOp(w, txn.op)
  return w.finish()
}

export function decodeTxn(payload: Buffer): Txn {
  const r = new JuteReader(payload)
  const version = r.int()
  if (version !== TXN_FORMAT_VERSION) throw new JuteDecodeError(`unknown txn format version ${version}`)
  const timeMs = r.longNumber()
  const op = readOp(r, 0)
  if (r.remaining() !== 0) throw new JuteDecodeError(`${r.remaining()} trailing bytes after txn`)
  return {timeMs, op}
}
