/**
 * The contract between the ZooKeeper server and its durable store.
 *
 * The server turns every write request into a transaction with the next zxid and an opaque payload
 * (its own encoding of the txn). It appends the txn here and replies only after append() resolves,
 * that is after the txn is fsynced (group commit lets many txns share one fsync). From time to time it
 * serialises the whole data tree (and live sessions) into a snapshot payload taken at a zxid; once the
 * snapshot is durable, txn files wholly before it may be purged. On start, recover() returns the newest
 * intact snapshot and every intact txn after it, in zxid order; a torn or corrupt tail ends recovery
 * cleanly (it can only hold txns that were never acknowledged).
 */

export interface TxnRecord {
  zxid: bigint
  payload: Buffer
}

export interface RecoveredState {
  snapshot?: {zxid: bigint; payload: Buffer}
  /** Txns with zxid greater than the snapshot's, ascending. */
  txns: TxnRecord[]
}

export interface ZKPersistence {
  recover(): Promise<RecoveredState>
  /** Resolves once the txn is durable. Calls complete in call order. */
  append(txn: TxnRecord): Promise<void>
  /** Stores a snapshot of the tree as of `zxid`; resolves once durable. Older files may then be purged. */
  snapshot(zxid: bigint, payload: Buffer): Promise<void>
  close(): Promise<void>
}

/** Keeps nothing: the store for in-memory servers (tests, throwaway sandboxes). */
export class MemoryPersistence implements ZKPersistence {
  async recover(): Promise<RecoveredState> {
    return {txns: []}
  }

  async append(_txn: TxnRecord): Promise<void> {}

  async snapshot(_zxid: bigint, _payload: Buffer): Promise<void> {}

  async close(): Promise<void> {}
}
