/**
 * The ZooKeeper snapshot file and the txn record stored in the txn log: pure encoders and decoders.
 *
 *   Snapshot file  <dataDir>/version-2/snapshot.<zxid in lower-case hex, no padding>   (ZooKeeper's naming)
 *     magic       4B  "DLZS"
 *     version     u32 1
 *     zxid        u64 the zxid the tree was serialised at (equal to the one in the file name)
 *     length      u64 payload bytes
 *     payload     the server's opaque snapshot encoding
 *     crc32c      u32 CRC32C over every byte before it
 *   A snapshot is written as "<name>.tmp", fsynced, renamed and the directory fsynced, so a file with
 *   the final name is complete unless the disk damaged it later; the CRC catches that.
 *
 *   Txn record     the payload of one write-ahead-log record (framing and CRC: common/wal/format.ts)
 *     zxid        u64
 *     prevZxid    u64 the zxid of the txn logged just before this one (0: none), or the snapshot's zxid
 *                     the log continued from. Recovery uses it to prove that no txn between the chosen
 *                     snapshot and the first replayed txn is missing (for example after falling back to
 *                     an older snapshot whose txns were already purged).
 *     payload     the server's opaque txn encoding
 * All integers are big-endian.
 */
import {crc32c} from '../../../common/crc32c.js'

export const SNAPSHOT_MAGIC = 'DLZS'
export const SNAPSHOT_VERSION = 1
export const SNAPSHOT_HEADER_BYTES = 24
export const SNAPSHOT_TRAILER_BYTES = 4
export const TXN_RECORD_HEADER_BYTES = 16
export const ZXID_MAX = 2n ** 64n - 1n

const MAGIC_BYTES = Buffer.from(SNAPSHOT_MAGIC, 'latin1')

export function snapshotFileName(zxid: bigint): string {
  return `snapshot.${zxid.toString(16)}`
}

/** The zxid a snapshot file name stands for, or undefined for any other name (".tmp" files included). */
export function parseSnapshotFileName(name: string): bigint | undefined {
  const m = /^snapshot\.([0-9a-f]{1,16})$/.exec(name)
  return m ? BigInt(`0x${m[1] as string}`) : undefined
}

export function encodeSnapshotHeader(zxid: bigint, payloadBytes: number): Buffer {
  const out = Buffer.alloc(SNAPSHOT_HEADER_BYTES)
  MAGIC_BYTES.copy(out, 0)
  out.writeUInt32BE(SNAPSHOT_VERSION, 4)
  out.writeBigUInt64BE(zxid, 8)
  out.writeBigUInt64BE(BigInt(payloadBytes), 16)
  return out
}

/** The 4-byte trailer: CRC32C over the header followed by the payload. */
export function encodeSnapshotTrailer(header: Buffer, payload: Buffer): Buffer {
  const out = Buffer.alloc(SNAPSHOT_TRAILER_BYTES)
  out.writeUInt32BE(crc32c(payload, crc32c(header)), 0)
  return out
}

export function encodeSnapshotFile(zxid: bigint, payload: Buffer): Buffer {
  const header = encodeSnapshotHeader(zxid, payload.length)
  return Buffer.concat([header, payload, encodeSnapshotTrailer(header, payload)])
}

export type SnapshotCheck = {ok: true; zxid: bigint; payload: Buffer} | {ok: false; reason: string}

/** Checks a whole snapshot file; the payload is a view into `file`. */
export function decodeSnapshotFile(file: Buffer): SnapshotCheck {
  if (file.length < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) {
    return {ok: false, reason: `only ${file.length} bytes`}
  }
  if (!file.subarray(0, 4).equals(MAGIC_BYTES)) return {ok: false, reason: 'bad magic'}
  const version = file.readUInt32BE(4)
  if (version !== SNAPSHOT_VERSION) return {ok: false, reason: `unsupported version ${version}`}
  const length = file.readBigUInt64BE(16)
  const expected = BigInt(file.length - SNAPSHOT_HEADER_BYTES - SNAPSHOT_TRAILER_BYTES)
  if (length !== expected) return {ok: false, reason: `payload length ${length} but the file holds ${expected}`}
  const end = file.length - SNAPSHOT_TRAILER_BYTES
  if (file.readUInt32BE(end) !== crc32c(file.subarray(0, end))) return {ok: false, reason: 'CRC mismatch'}
  return {ok: true, zxid: file.readBigUInt64BE(8), payload: file.subarray(SNAPSHOT_HEADER_BYTES, end)}
}

export function encodeTxnRecord(zxid: bigint, prevZxid: bigint, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(TXN_RECORD_HEADER_BYTES + payload.length)
  out.writeBigUInt64BE(zxid, 0)
  out.writeBigUInt64BE(prevZxid, 8)
  payload.copy(out, TXN_RECORD_HEADER_BYTES)
  return out
}

export type TxnRecordCheck = {ok: true; zxid: bigint; prevZxid: bigint; payload: Buffer} | {ok: false; reason: string}

/** Decodes one txn record; the payload is a view into `record`. */
export function decodeTxnRecord(record: Buffer): TxnRecordCheck {
  if (record.length < TXN_RECORD_HEADER_BYTES) return {ok: false, reason: `txn record of ${record.length} bytes`}
  const zxid = record.readBigUInt64BE(0)
  const prevZxid = record.readBigUInt64BE(8)
  if (prevZxid >= zxid) return {ok: false, reason: `txn ${zxid} follows ${prevZxid}`}
  return {ok: true, zxid, prevZxid, payload: record.subarray(TXN_RECORD_HEADER_BYTES)}
}
