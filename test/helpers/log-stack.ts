/**
 * A LogContext over a real Namespace (ZooKeeper store, ZooKeeper write lock, the namespace's ledger
 * client), what Namespace.openLog will do once it is wired: tests and fixtures open logs through it.
 */
import {systemClock} from '../../src/engine/common/clock.js'
import {silentLogger} from '../../src/engine/common/logger.js'
import type {DistributedLogConfig} from '../../src/engine/log/config.js'
import {type LogContext, type LogManager, openLog} from '../../src/engine/log/log-manager.js'
import type {Namespace} from '../../src/engine/log/namespace.js'

export async function namespaceLogContext(ns: Namespace): Promise<LogContext> {
  return {
    store: ns.store,
    ledgers: await ns.ledgerClient(),
    createLock: (name) => ns.createWriteLock(name),
    config: ns.conf,
    clock: systemClock,
    logger: silentLogger,
    createLog: (name) => ns.createLog(name),
    logExists: (name) => ns.logExists(name),
    deleteLog: (name) => ns.deleteLog(name),
    lockPathOf: (name) => ns.store.paths(name).lock,
  }
}

export async function openNamespaceLog(ns: Namespace, name: string, overrides?: Partial<DistributedLogConfig>): Promise<LogManager> {
  return openLog(await namespaceLogContext(ns), name, overrides)
}
