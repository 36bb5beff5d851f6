/**
 * The multi (all-or-nothing) request builder: `zk.transaction().check(p, 3).setData(q, d, 7).commit()`
 * resolves to one result per op, or rejects with the typed error of the op that failed (its path, and
 * `error.multi = {opIndex, codes}` with every op's code as the server reported them).
 *
 * node-zookeeper-client 1.1.3 quirk worked around here: its Transaction.check/setData/remove do
 * `version = version || -1`, so an explicit version 0 would silently become -1 (unconditional) — a
 * check(path, 0) guarding a first update would always pass. buildRawTransaction puts the version back
 * on the op it queued, so 0 means 0. (Top-level setData/remove don't have the quirk.)
 */
import type nzk from 'node-zookeeper-client'

import {InvalidInputError} from '../../common/errors.js'
import {checkVersion, CreateMode, isCreateMode, toDataBuffer, type ZKData} from './args.js'
import type {Stat} from './stat.js'

/** Ops per multi; ZooKeeper itself only bounds the request size (1 MiB), this keeps a builder bug from growing it. */
export const TRANSACTION_OPS_MAX = 10_000

export type TxOp =
  | {type: 'create'; path: string; data: Buffer | undefined; mode: CreateMode}
  | {type: 'delete'; path: string; version: number}
  | {type: 'setData'; path: string; data: Buffer | undefined; version: number}
  | {type: 'check'; path: string; version: number}

export type TxResult =
  | {type: 'create'; path: string}
  | {type: 'delete'}
  | {type: 'setData'; stat: Stat}
  | {type: 'check'}

export class ZKTransaction {
  readonly ops: TxOp[] = []
  private readonly send: (ops: readonly TxOp[]) => Promise<TxResult[]>
  private committed = false

  constructor(send: (ops: readonly TxOp[]) => Promise<TxResult[]>) {
    this.send = send
  }

  create(path: string, data?: ZKData, mode: CreateMode = 'persistent'): this {
    if (!isCreateMode(mode)) throw new InvalidInputError(`unknown create mode '${String(mode)}'`)
    return this.push({type: 'create', path, data: toDataBuffer(data), mode})
  }

  delete(path: string, version = -1): this {
    return this.push({type: 'delete', path, version: checkVersion(version)})
  }

  setData(path: string, data: ZKData, version = -1): this {
    return this.push({type: 'setData', path, data: toDataBuffer(data), version: checkVersion(version)})
  }

  /** Fails the whole multi unless `path` exists and (if version ≠ -1) has that data version. */
  check(path: string, version = -1): this {
    return this.push({type: 'check', path, version: checkVersion(version)})
  }

  async commit(): Promise<TxResult[]> {
    if (this.committed) throw new InvalidInputError('transaction already committed')
    this.committed = true
    if (this.ops.length === 0) return []
    return this.send(this.ops)
  }

  private push(op: TxOp): this {
    if (this.committed) throw new InvalidInputError('transaction already committed')
    if (this.ops.length >= TRANSACTION_OPS_MAX) throw new InvalidInputError(`a transaction holds at most ${TRANSACTION_OPS_MAX} ops`)
    this.ops.push(op)
    return this
  }
}

/** The fields of a queued op inside node-zookeeper-client's Transaction (read at commit time). */
interface RawQueuedOp {
  version?: number
}

/** Fills a node-zookeeper-client Transaction with `ops`, undoing its version-0 → -1 rewrite. */
export function buildRawTransaction(raw: nzk.Transaction, ops: readonly TxOp[]): nzk.Transaction {
  const queued = (raw as unknown as {ops: RawQueuedOp[]}).ops
  for (const op of ops) {
    switch (op.type) {
      case 'create':
        if (op.data === undefined) raw.create(op.path, CreateMode[op.mode])
        else raw.create(op.path, op.data, CreateMode[op.mode])
        break
      case 'delete':
        raw.remove(op.path, op.version)
        break
      case 'setData':
        raw.setData(op.path, op.data ?? null, op.version)
        break
      case 'check':
        raw.check(op.path, op.version)
        break
    }
    if (op.type !== 'create') {
      const last = queued[queued.length - 1]
      if (last) last.version = op.version
    }
  }
  return raw
}
