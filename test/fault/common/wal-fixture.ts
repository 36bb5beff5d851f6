/** What the WAL kill -9 test and its child writer share: the WAL options and self-checking numbered payloads. */
import type {OpenWalOptions} from '../../../src/engine/common/wal/wal.js'

export function walTestOptions(dir: string): OpenWalOptions {
  return {
    dir,
    fileSizeBytesMax: 128 * 1024,
    groupCommitBytesMax: 16 * 1024,
    groupCommitRecordsMax: 64,
    groupCommitWaitMs: 0,
    recordBytesMax: 4096,
  }
}

export function walTestPayload(seq: number): Buffer {
  const length = 8 + 20 + ((seq * 7919) % 300)
  const buf = Buffer.alloc(length)
  buf.writeUInt32BE(seq, 0)
  buf.writeUInt32BE(length, 4)
  for (let i = 8; i < length; i++) buf[i] = (seq + i) & 0xff
  return buf
}

export function walTestSeq(payload: Buffer): number {
  return payload.readUInt32BE(0)
}

/** True when the payload is exactly what walTestPayload(seq) wrote. */
export function walTestPayloadIntact(payload: Buffer): boolean {
  return payload.length >= 8 && walTestPayload(walTestSeq(payload)).equals(payload)
}
