/**
 * ZooKeeper error codes (KeeperException.Code), the one table our server replies with and our client
 * facade maps to typed errors. Only codes node-zookeeper-client 1.1.3 knows may ever be sent to a
 * client: it throws inside its socket handler on any other (see reference/zookeeper.md §4).
 */
export const ZKCode = {
  OK: 0,
  SYSTEM_ERROR: -1,
  RUNTIME_INCONSISTENCY: -2,
  DATA_INCONSISTENCY: -3,
  CONNECTION_LOSS: -4,
  MARSHALLING_ERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATION_TIMEOUT: -7,
  BAD_ARGUMENTS: -8,
  API_ERROR: -100,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NO_CHILDREN_FOR_EPHEMERALS: -108,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
  INVALID_CALLBACK: -113,
  INVALID_ACL: -114,
  AUTH_FAILED: -115,
} as const
export type ZKCode = (typeof ZKCode)[keyof typeof ZKCode]

/** The codes node-zookeeper-client 1.1.3 can parse; a server must never send any other. */
export const CLIENT_SAFE_ZK_CODES: ReadonlySet<number> = new Set(Object.values(ZKCode))

/** zkCli's wording for the codes users see (KeeperErrorCode = ...). */
export const ZK_CODE_TEXT: Record<ZKCode, string> = {
  0: 'OK',
  [-1]: 'SystemError',
  [-2]: 'RuntimeInconsistency',
  [-3]: 'DataInconsistency',
  [-4]: 'ConnectionLoss',
  [-5]: 'MarshallingError',
  [-6]: 'Unimplemented',
  [-7]: 'OperationTimeout',
  [-8]: 'BadArguments',
  [-100]: 'APIError',
  [-101]: 'NoNode',
  [-102]: 'NoAuth',
  [-103]: 'BadVersion',
  [-108]: 'NoChildrenForEphemerals',
  [-110]: 'NodeExists',
  [-111]: 'Directory not empty',
  [-112]: 'Session expired',
  [-113]: 'Invalid callback',
  [-114]: 'InvalidACL',
  [-115]: 'AuthFailed',
}
