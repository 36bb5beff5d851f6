/** The embedded ZooKeeper-compatible server and the pieces tests and tools reach for. */
export {ZKServer, ZKServerFailedError, recoverDatabase, resolveZKServerOptions} from './zk-server.js'
export type {ZKServerOptions, ZKServerStats} from './zk-server.js'
export {MemoryPersistence} from './persistence/types.js'
export type {RecoveredState, TxnRecord, ZKPersistence} from './persistence/types.js'
export {ZKDatabase} from './zk-database.js'
export {decodeTxn, encodeTxn} from './txn.js'
export type {Txn, TxnOp} from './txn.js'
export {JavaHashSet} from './child-set.js'
