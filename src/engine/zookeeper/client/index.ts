/** The ZooKeeper client facade's public surface (re-exported by src/engine/index.ts). */
export {CreateMode, type ZKData} from './args.js'
export {
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  keeperErrorMessage,
  type MultiFailure,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  SessionExpiredError,
  ZKConnectTimeoutError,
  ZKError,
  zkErrorFromCode,
} from './errors.js'
export {baseName, childPath, parentPath, pathProblem, validatePath} from './paths.js'
export {formatJavaDate, formatStat, runShell, type RunShellOptions, type ShellClient, ShellExit, tokenize, ZKShell} from './shell.js'
export {hex64, type Stat} from './stat.js'
export {type TxOp, type TxResult, ZKTransaction} from './transaction.js'
export {
  oneShotWatch,
  type Watcher,
  type WatchEvent,
  type WatchEventType,
  ZKClient,
  type ZKClientOptions,
  type ZKClientState,
} from './zk-client.js'
