/**
 * ZooKeeper's wire constants (ZooDefs.OpCode, the special xids, WatchedEvent types and states,
 * CreateMode flags, ACL permission bits), with the values of ZooKeeper 3.8 so captures and logs line
 * up with upstream documentation.
 */

export const ZKOpCode = {
  NOTIFICATION: 0,
  CREATE: 1,
  DELETE: 2,
  EXISTS: 3,
  GET_DATA: 4,
  SET_DATA: 5,
  GET_ACL: 6,
  SET_ACL: 7,
  GET_CHILDREN: 8,
  SYNC: 9,
  PING: 11,
  GET_CHILDREN2: 12,
  CHECK: 13,
  MULTI: 14,
  CREATE2: 15,
  RECONFIG: 16,
  CHECK_WATCHES: 17,
  REMOVE_WATCHES: 18,
  CREATE_CONTAINER: 19,
  DELETE_CONTAINER: 20,
  CREATE_TTL: 21,
  MULTI_READ: 22,
  AUTH: 100,
  SET_WATCHES: 101,
  SASL: 102,
  GET_EPHEMERALS: 103,
  GET_ALL_CHILDREN_NUMBER: 104,
  SET_WATCHES2: 105,
  ADD_WATCH: 106,
  WHO_AM_I: 107,
  CREATE_SESSION: -10,
  CLOSE_SESSION: -11,
  ERROR: -1,
} as const
export type ZKOpCode = (typeof ZKOpCode)[keyof typeof ZKOpCode]

/**
 * The op codes a ZooKeeper 3.8 server recognises as requests (Request.isValid plus auth and sasl,
 * which are handled before it). Anything else is an unknown packet: the server answers UNIMPLEMENTED
 * and closes the connection.
 */
export const ZK_KNOWN_REQUEST_OPS: ReadonlySet<number> = new Set<number>([
  ZKOpCode.CREATE, ZKOpCode.DELETE, ZKOpCode.EXISTS, ZKOpCode.GET_DATA, ZKOpCode.SET_DATA, ZKOpCode.GET_ACL,
  ZKOpCode.SET_ACL, ZKOpCode.GET_CHILDREN, ZKOpCode.SYNC, ZKOpCode.PING, ZKOpCode.GET_CHILDREN2, ZKOpCode.CHECK,
  ZKOpCode.MULTI, ZKOpCode.CREATE2, ZKOpCode.RECONFIG, ZKOpCode.CHECK_WATCHES, ZKOpCode.REMOVE_WATCHES,
  ZKOpCode.CREATE_CONTAINER, ZKOpCode.DELETE_CONTAINER, ZKOpCode.CREATE_TTL, ZKOpCode.MULTI_READ, ZKOpCode.AUTH,
  ZKOpCode.SET_WATCHES, ZKOpCode.SASL, ZKOpCode.GET_EPHEMERALS, ZKOpCode.GET_ALL_CHILDREN_NUMBER,
  ZKOpCode.SET_WATCHES2, ZKOpCode.ADD_WATCH, ZKOpCode.WHO_AM_I, ZKOpCode.CREATE_SESSION, ZKOpCode.CLOSE_SESSION,
])

/** Request/reply xids with a fixed meaning. */
export const ZKXid = {
  NOTIFICATION: -1,
  PING: -2,
  AUTH: -4,
  /** The Java client's setWatches on reconnect (node-zookeeper-client uses an ordinary xid). */
  SET_WATCHES: -8,
} as const

/** WatchedEvent.EventType values a one-shot watch can fire (the only ones clients accept). */
export const ZKEventType = {
  NODE_CREATED: 1,
  NODE_DELETED: 2,
  NODE_DATA_CHANGED: 3,
  NODE_CHILDREN_CHANGED: 4,
} as const
export type ZKEventType = (typeof ZKEventType)[keyof typeof ZKEventType]

/** WatchedEvent.KeeperState: notifications from a live session always carry SyncConnected. */
export const ZKKeeperState = {
  SYNC_CONNECTED: 3,
} as const

/** CreateMode flags of create requests. */
export const ZKCreateFlag = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const
export type ZKCreateFlag = (typeof ZKCreateFlag)[keyof typeof ZKCreateFlag]

/** ACL permission bits (ZooDefs.Perms). */
export const ZKPerm = {
  READ: 1,
  WRITE: 2,
  CREATE: 4,
  DELETE: 8,
  ADMIN: 16,
  ALL: 31,
} as const

export const ZK_PROTOCOL_VERSION = 0
/** jute.maxbuffer default: the largest frame payload a ZooKeeper 3.8 server accepts (0xfffff). */
export const ZK_FRAME_BYTES_MAX = 0xfffff
/** Session passwords are 16 bytes. */
export const ZK_PASSWD_BYTES = 16
