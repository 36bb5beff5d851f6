/**
 * What the FilePersistence kill -9 test and its child writer share: store options, self-checking txn
 * payloads, and a "tree" reduced to a running CRC32C over every txn payload so far, which is what the
 * child snapshots and what the test recomputes to check a recovered snapshot.
 */
import {crc32c} from '../../../src/engine/common/crc32c.js'
import type {FilePersistenceOptions} from '../../../src/engine/zookeeper/server/persistence/file-persistence.js'

export const SNAPSHOT_EVERY_TXNS = 100

export function zkStoreTestOptions(dataDir: string): FilePersistenceOptions {
  return {dataDir, wal: {fileSizeBytesMax: 2048, preallocateBytes: 2048, groupCommitRecordsMax: 20}}
}

export function zkTxnPayload(zxid: number): Buffer {
  return Buffer.from(`txn-${zxid}-` + String.fromCharCode(97 + (zxid % 26)).repeat(zxid % 64))
}

export function treeDigestAfter(digest: number, payload: Buffer): number {
  return crc32c(payload, digest)
}

/** The digest after txns 1..zxid. */
export function treeDigestAt(zxid: number): number {
  let d = 0
  for (let z = 1; z <= zxid; z++) d = treeDigestAfter(d, zkTxnPayload(z))
  return d
}

export function encodeTree(zxid: number, digest: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeBigUInt64BE(BigInt(zxid), 0)
  b.writeUInt32BE(digest, 8)
  return b
}

export function decodeTree(payload: Buffer): {zxid: number; digest: number} {
  return {zxid: Number(payload.readBigUInt64BE(0)), digest: payload.readUInt32BE(8)}
}
