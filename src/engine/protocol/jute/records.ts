/**
 * ZooKeeper's jute records (zookeeper.jute, 3.8) as typed encode/decode functions: the one codec for
 * our server, its tests and anything else in dlog that speaks ZooKeeper bytes.
 *
 * Every message on the wire, in both directions, is `int length` + payload (length bytes). The first
 * payload each way is the handshake (no header); after it, a request is `RequestHeader` + the op's
 * request record and a reply is `ReplyHeader` + the op's response record only when err == 0.
 *
 *   Id                { ustring scheme, ustring id }
 *   ACL               { int perms, Id id }
 *   Stat              { long czxid, long mzxid, long ctime, long mtime, int version, int cversion,
 *                       int aversion, long ephemeralOwner, int dataLength, int numChildren, long pzxid }
 *                       (68 bytes)
 *   ConnectRequest    { int protocolVersion, long lastZxidSeen, int timeOut, long sessionId, buffer passwd }
 *                       [+ boolean readOnly: sent by the Java client, absent from node-zookeeper-client]
 *   ConnectResponse   { int protocolVersion, int timeOut, long sessionId, buffer passwd } [+ boolean readOnly,
 *                       only when the request had it]
 *   RequestHeader     { int xid, int type }
 *   ReplyHeader       { int xid, long zxid, int err }
 *   CreateRequest     { ustring path, buffer data, vector<ACL> acl, int flags }    (create, create2, container)
 *   CreateTTLRequest  { ustring path, buffer data, vector<ACL> acl, int flags, long ttl }
 *   DeleteRequest     { ustring path, int version }
 *   CheckVersionRequest { ustring path, int version }
 *   PathWatchRequest  { ustring path, boolean watch }     (exists, getData, getChildren, getChildren2)
 *   SetDataRequest    { ustring path, buffer data, int version }
 *   PathRequest       { ustring path }                     (getACL, sync, getEphemerals, getAllChildrenNumber)
 *   SetACLRequest     { ustring path, vector<ACL> acl, int version }
 *   SetWatches        { long relativeZxid, vector<ustring> dataWatches, existWatches, childWatches }
 *   AuthPacket        { int type, ustring scheme, buffer auth }
 *   MultiHeader       { int type, boolean done, int err }
 *   Multi request     = (MultiHeader{op, false, -1} + op request)* + MultiHeader{-1, true, -1}
 *   Multi response    = (MultiHeader{type, false, err} + result)* + MultiHeader{-1, true, -1}; result:
 *                       create → {ustring path}, create2/container → {ustring path, Stat}, setData → {Stat},
 *                       delete/check → nothing, error (type -1) → ErrorResponse { int err }
 *   CreateResponse    { ustring path }        Create2Response { ustring path, Stat stat }
 *   StatResponse      { Stat stat }           (exists, setData, setACL)
 *   GetDataResponse   { buffer data, Stat stat }
 *   GetACLResponse    { vector<ACL> acl, Stat stat }
 *   GetChildrenResponse { vector<ustring> children }   GetChildren2Response { vector<ustring> children, Stat }
 *   SyncResponse      { ustring path }
 *   GetEphemeralsResponse { vector<ustring> ephemerals }  GetAllChildrenNumberResponse { int totalNumber }
 *   WhoAmIResponse    { vector<ClientInfo { ustring authScheme, ustring user }> }
 *   WatcherEvent      { int type, int state, ustring path }   (sent with xid -1, zxid -1, err 0)
 *
 * Decoders throw JuteDecodeError (and nothing else) on bytes that do not form the record.
 */
import {JuteDecodeError, type JuteReader} from './jute-reader.js'
import type {JuteWriter} from './jute-writer.js'
import {ZKOpCode} from './op-codes.js'

export interface ZKId {
  scheme: string
  id: string
}

export interface ZKACL {
  perms: number
  id: ZKId
}

export interface ZKStat {
  czxid: bigint
  mzxid: bigint
  ctime: number
  mtime: number
  version: number
  cversion: number
  aversion: number
  ephemeralOwner: bigint
  dataLength: number
  numChildren: number
  pzxid: bigint
}

export const STAT_BYTES = 68
export const REPLY_HEADER_BYTES = 16
export const REQUEST_HEADER_BYTES = 8

/** world:anyone with every permission: ZooDefs.Ids.OPEN_ACL_UNSAFE. */
export const OPEN_ACL_UNSAFE: readonly ZKACL[] = Object.freeze([{perms: 31, id: {scheme: 'world', id: 'anyone'}}])
/** world:anyone read-only: ZooDefs.Ids.READ_ACL_UNSAFE (the ACL of /zookeeper/config). */
export const READ_ACL_UNSAFE: readonly ZKACL[] = Object.freeze([{perms: 1, id: {scheme: 'world', id: 'anyone'}}])

// ---- data records -------------------------------------------------------------------------------

export function readId(r: JuteReader): ZKId {
  return {scheme: r.string('Id.scheme'), id: r.string('Id.id')}
}

export function writeId(w: JuteWriter, id: ZKId): void {
  w.ustring(id.scheme).ustring(id.id)
}

export function readACL(r: JuteReader): ZKACL {
  return {perms: r.int(), id: readId(r)}
}

export function writeACL(w: JuteWriter, acl: ZKACL): void {
  w.int(acl.perms)
  writeId(w, acl.id)
}

/** Smallest encoded ACL: perms + two empty strings. */
const ACL_BYTES_MIN = 12

export function readACLVector(r: JuteReader): ZKACL[] | null {
  return r.vector(ACL_BYTES_MIN, readACL)
}

export function writeACLVector(w: JuteWriter, acl: readonly ZKACL[] | null): void {
  w.vector(acl, writeACL)
}

export function readStat(r: JuteReader): ZKStat {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.longNumber(),
    mtime: r.longNumber(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  }
}

export function writeStat(w: JuteWriter, s: ZKStat): void {
  w.long(s.czxid).long(s.mzxid).longNumber(s.ctime).longNumber(s.mtime)
  w.int(s.version).int(s.cversion).int(s.aversion).long(s.ephemeralOwner)
  w.int(s.dataLength).int(s.numChildren).long(s.pzxid)
}

// ---- handshake ----------------------------------------------------------------------------------

export interface ConnectRequest {
  protocolVersion: number
  lastZxidSeen: bigint
  timeOutMs: number
  sessionId: bigint
  passwd: Buffer | null
  /** Present only when the client sent the trailing byte (Java client yes, node-zookeeper-client no). */
  readOnly?: boolean
}

export function decodeConnectRequest(r: JuteReader): ConnectRequest {
  const req: ConnectRequest = {
    protocolVersion: r.int(),
    lastZxidSeen: r.long(),
    timeOutMs: r.int(),
    sessionId: r.long(),
    passwd: r.buffer(),
  }
  if (r.remaining() >= 1) req.readOnly = r.bool()
  return req
}

export function encodeConnectRequest(w: JuteWriter, req: ConnectRequest): void {
  w.int(req.protocolVersion).long(req.lastZxidSeen).int(req.timeOutMs).long(req.sessionId).buffer(req.passwd)
  if (req.readOnly !== undefined) w.bool(req.readOnly)
}

export interface ConnectResponse {
  protocolVersion: number
  timeOutMs: number
  sessionId: bigint
  passwd: Buffer
  readOnly?: boolean
}

export function encodeConnectResponse(w: JuteWriter, rsp: ConnectResponse): void {
  w.int(rsp.protocolVersion).int(rsp.timeOutMs).long(rsp.sessionId).buffer(rsp.passwd)
  if (rsp.readOnly !== undefined) w.bool(rsp.readOnly)
}

export function decodeConnectResponse(r: JuteReader): ConnectResponse {
  const rsp: ConnectResponse = {
    protocolVersion: r.int(),
    timeOutMs: r.int(),
    sessionId: r.long(),
    passwd: r.buffer() ?? Buffer.alloc(0),
  }
  if (r.remaining() >= 1) rsp.readOnly = r.bool()
  return rsp
}

// ---- headers ------------------------------------------------------------------------------------

export interface RequestHeader {
  xid: number
  type: number
}

export function decodeRequestHeader(r: JuteReader): RequestHeader {
  return {xid: r.int(), type: r.int()}
}

export function encodeRequestHeader(w: JuteWriter, h: RequestHeader): void {
  w.int(h.xid).int(h.type)
}

export interface ReplyHeader {
  xid: number
  zxid: bigint
  err: number
}

export function decodeReplyHeader(r: JuteReader): ReplyHeader {
  return {xid: r.int(), zxid: r.long(), err: r.int()}
}

export function encodeReplyHeader(w: JuteWriter, h: ReplyHeader): void {
  w.int(h.xid).long(h.zxid).int(h.err)
}

// ---- request records ----------------------------------------------------------------------------

export interface CreateRequest {
  path: string
  data: Buffer | null
  acl: ZKACL[] | null
  flags: number
  /** Only in CreateTTLRequest (op 21). */
  ttl?: bigint
}

export function decodeCreateRequest(r: JuteReader, withTtl = false): CreateRequest {
  const req: CreateRequest = {path: r.string('path'), data: r.buffer(), acl: readACLVector(r), flags: r.int()}
  if (withTtl) req.ttl = r.long()
  return req
}

export function encodeCreateRequest(w: JuteWriter, req: CreateRequest): void {
  w.ustring(req.path).buffer(req.data)
  writeACLVector(w, req.acl)
  w.int(req.flags)
  if (req.ttl !== undefined) w.long(req.ttl)
}

/** DeleteRequest and CheckVersionRequest share this layout. */
export interface PathVersionRequest {
  path: string
  version: number
}

export function decodePathVersionRequest(r: JuteReader): PathVersionRequest {
  return {path: r.string('path'), version: r.int()}
}

export function encodePathVersionRequest(w: JuteWriter, req: PathVersionRequest): void {
  w.ustring(req.path).int(req.version)
}

/** exists, getData, getChildren, getChildren2. */
export interface PathWatchRequest {
  path: string
  watch: boolean
}

export function decodePathWatchRequest(r: JuteReader): PathWatchRequest {
  return {path: r.string('path'), watch: r.bool()}
}

export function encodePathWatchRequest(w: JuteWriter, req: PathWatchRequest): void {
  w.ustring(req.path).bool(req.watch)
}

export interface SetDataRequest {
  path: string
  data: Buffer | null
  version: number
}

export function decodeSetDataRequest(r: JuteReader): SetDataRequest {
  return {path: r.string('path'), data: r.buffer(), version: r.int()}
}

export function encodeSetDataRequest(w: JuteWriter, req: SetDataRequest): void {
  w.ustring(req.path).buffer(req.data).int(req.version)
}

/** getACL, sync, getEphemerals, getAllChildrenNumber. */
export function decodePathRequest(r: JuteReader): {path: string} {
  return {path: r.string('path')}
}

export function encodePathRequest(w: JuteWriter, req: {path: string}): void {
  w.ustring(req.path)
}

export interface SetACLRequest {
  path: string
  acl: ZKACL[] | null
  version: number
}

export function decodeSetACLRequest(r: JuteReader): SetACLRequest {
  return {path: r.string('path'), acl: readACLVector(r), version: r.int()}
}

export function encodeSetACLRequest(w: JuteWriter, req: SetACLRequest): void {
  w.ustring(req.path)
  writeACLVector(w, req.acl)
  w.int(req.version)
}

export interface SetWatchesRequest {
  relativeZxid: bigint
  dataWatches: string[]
  existWatches: string[]
  childWatches: string[]
}

export function decodeSetWatches(r: JuteReader): SetWatchesRequest {
  return {
    relativeZxid: r.long(),
    dataWatches: r.stringVector() ?? [],
    existWatches: r.stringVector() ?? [],
    childWatches: r.stringVector() ?? [],
  }
}

export function encodeSetWatches(w: JuteWriter, req: SetWatchesRequest): void {
  w.long(req.relativeZxid).stringVector(req.dataWatches).stringVector(req.existWatches).stringVector(req.childWatches)
}

export interface AuthPacket {
  type: number
  scheme: string
  auth: Buffer | null
}

export function decodeAuthPacket(r: JuteReader): AuthPacket {
  return {type: r.int(), scheme: r.string('scheme'), auth: r.buffer()}
}

export function encodeAuthPacket(w: JuteWriter, p: AuthPacket): void {
  w.int(p.type).ustring(p.scheme).buffer(p.auth)
}

// ---- multi --------------------------------------------------------------------------------------

export interface MultiHeader {
  type: number
  done: boolean
  err: number
}

export function readMultiHeader(r: JuteReader): MultiHeader {
  return {type: r.int(), done: r.bool(), err: r.int()}
}

export function writeMultiHeader(w: JuteWriter, h: MultiHeader): void {
  w.int(h.type).bool(h.done).int(h.err)
}

export type MultiOp =
  | {type: typeof ZKOpCode.CREATE | typeof ZKOpCode.CREATE2 | typeof ZKOpCode.CREATE_CONTAINER; request: CreateRequest}
  | {type: typeof ZKOpCode.DELETE | typeof ZKOpCode.CHECK; request: PathVersionRequest}
  | {type: typeof ZKOpCode.SET_DATA; request: SetDataRequest}

/** Ops in one multi request at most: a bound well above what fits in a 1 MiB frame anyway. */
export const MULTI_OPS_MAX = 100_000

/**
 * A multi (op 14) request: the write ops ZooKeeper accepts in a transaction. Any other op type in the
 * list is bad input (ZooKeeper answers MARSHALLINGERROR).
 */
export function decodeMultiRequest(r: JuteReader): MultiOp[] {
  const ops: MultiOp[] = []
  for (;;) {
    const h = readMultiHeader(r)
    if (h.done) return ops
    if (ops.length >= MULTI_OPS_MAX) throw new JuteDecodeError(`multi has more than ${MULTI_OPS_MAX} ops`)
    switch (h.type) {
      case ZKOpCode.CREATE:
      case ZKOpCode.CREATE2:
      case ZKOpCode.CREATE_CONTAINER:
        ops.push({type: h.type, request: decodeCreateRequest(r)})
        break
      case ZKOpCode.DELETE:
      case ZKOpCode.CHECK:
        ops.push({type: h.type, request: decodePathVersionRequest(r)})
        break
      case ZKOpCode.SET_DATA:
        ops.push({type: h.type, request: decodeSetDataRequest(r)})
        break
      default:
        throw new JuteDecodeError(`invalid op type ${h.type} in multi`)
    }
  }
}

export function encodeMultiRequest(w: JuteWriter, ops: readonly MultiOp[]): void {
  for (const op of ops) {
    writeMultiHeader(w, {type: op.type, done: false, err: -1})
    switch (op.type) {
      case ZKOpCode.CREATE:
      case ZKOpCode.CREATE2:
      case ZKOpCode.CREATE_CONTAINER:
        encodeCreateRequest(w, op.request)
        break
      case ZKOpCode.DELETE:
      case ZKOpCode.CHECK:
        encodePathVersionRequest(w, op.request)
        break
      case ZKOpCode.SET_DATA:
        encodeSetDataRequest(w, op.request)
        break
    }
  }
  writeMultiHeader(w, {type: -1, done: true, err: -1})
}

export type MultiResult =
  | {type: typeof ZKOpCode.CREATE; path: string}
  | {type: typeof ZKOpCode.CREATE2; path: string; stat: ZKStat}
  | {type: typeof ZKOpCode.SET_DATA; stat: ZKStat}
  | {type: typeof ZKOpCode.DELETE | typeof ZKOpCode.CHECK}
  | {type: typeof ZKOpCode.ERROR; err: number}

export function encodeMultiResponse(w: JuteWriter, results: readonly MultiResult[]): void {
  for (const res of results) {
    writeMultiHeader(w, {type: res.type, done: false, err: res.type === ZKOpCode.ERROR ? res.err : 0})
    switch (res.type) {
      case ZKOpCode.CREATE:
        w.ustring(res.path)
        break
      case ZKOpCode.CREATE2:
        w.ustring(res.path)
        writeStat(w, res.stat)
        break
      case ZKOpCode.SET_DATA:
        writeStat(w, res.stat)
        break
      case ZKOpCode.ERROR:
        w.int(res.err)
        break
      default:
        break
    }
  }
  writeMultiHeader(w, {type: -1, done: true, err: -1})
}

export function decodeMultiResponse(r: JuteReader): MultiResult[] {
  const results: MultiResult[] = []
  for (;;) {
    const h = readMultiHeader(r)
    if (h.done) return results
    if (results.length >= MULTI_OPS_MAX) throw new JuteDecodeError(`multi has more than ${MULTI_OPS_MAX} results`)
    switch (h.type) {
      case ZKOpCode.CREATE:
        results.push({type: h.type, path: r.string('path')})
        break
      case ZKOpCode.CREATE2:
        results.push({type: h.type, path: r.string('path'), stat: readStat(r)})
        break
      case ZKOpCode.SET_DATA:
        results.push({type: h.type, stat: readStat(r)})
        break
      case ZKOpCode.DELETE:
      case ZKOpCode.CHECK:
        results.push({type: h.type})
        break
      case ZKOpCode.ERROR:
        results.push({type: h.type, err: r.int()})
        break
      default:
        throw new JuteDecodeError(`invalid result type ${h.type} in multi response`)
    }
  }
}

// ---- response records ---------------------------------------------------------------------------

export interface WatcherEvent {
  type: number
  state: number
  path: string
}

export function decodeWatcherEvent(r: JuteReader): WatcherEvent {
  return {type: r.int(), state: r.int(), path: r.string('path')}
}

export function encodeWatcherEvent(w: JuteWriter, e: WatcherEvent): void {
  w.int(e.type).int(e.state).ustring(e.path)
}

export interface GetDataResponse {
  data: Buffer | null
  stat: ZKStat
}

export function decodeGetDataResponse(r: JuteReader): GetDataResponse {
  return {data: r.buffer(), stat: readStat(r)}
}

export function encodeGetDataResponse(w: JuteWriter, rsp: GetDataResponse): void {
  w.buffer(rsp.data)
  writeStat(w, rsp.stat)
}

export interface GetACLResponse {
  acl: ZKACL[]
  stat: ZKStat
}

export function decodeGetACLResponse(r: JuteReader): GetACLResponse {
  return {acl: readACLVector(r) ?? [], stat: readStat(r)}
}

export function encodeGetACLResponse(w: JuteWriter, rsp: {acl: readonly ZKACL[]; stat: ZKStat}): void {
  writeACLVector(w, rsp.acl)
  writeStat(w, rsp.stat)
}

export interface GetChildren2Response {
  children: string[]
  stat: ZKStat
}

export function decodeGetChildren2Response(r: JuteReader): GetChildren2Response {
  return {children: r.stringVector() ?? [], stat: readStat(r)}
}

export function decodeGetChildrenResponse(r: JuteReader): {children: string[]} {
  return {children: r.stringVector() ?? []}
}

export function decodeCreate2Response(r: JuteReader): {path: string; stat: ZKStat} {
  return {path: r.string('path'), stat: readStat(r)}
}

export interface ClientInfo {
  authScheme: string
  user: string
}

export function encodeWhoAmIResponse(w: JuteWriter, infos: readonly ClientInfo[]): void {
  w.vector(infos, (ww, i) => ww.ustring(i.authScheme).ustring(i.user))
}

export function decodeWhoAmIResponse(r: JuteReader): ClientInfo[] {
  return r.vector(8, (rr) => ({authScheme: rr.string('authScheme'), user: rr.string('user')})) ?? []
}
