/**
 * The file operations ledger storage performs: the write-ahead log's WalFileOps (so one fault-injecting
 * object can serve the journal and the entry logs) plus disk usage for the read-only checks. Tests
 * inject disk errors (ENOSPC, EIO) at exactly the write or sync they choose, without privileges or loop
 * mounts. nodeDiskOps is the real thing: libuv-pool calls that keep the event loop free while entry
 * logs are written and synced in the background.
 */
import * as fs from 'node:fs'
import {nodeFileOps, type WalFileOps} from '../../common/wal/file-ops.js'

export interface DiskUsage {
  freeBytes: number
  totalBytes: number
  /** Identifies the filesystem, so two dirs on one disk are counted once. */
  deviceId: number
}

export interface DiskOps extends WalFileOps {
  usage(dir: string): Promise<DiskUsage>
}

export const nodeDiskOps: DiskOps = {
  ...nodeFileOps,
  usage: async (dir) => {
    const [st, s] = await Promise.all([fs.promises.statfs(dir), fs.promises.stat(dir)])
    return {freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize, deviceId: s.dev}
  },
}

/** True for the error codes that mean "the disk is full" rather than "the disk is broken". */
export function isDiskFullError(e: unknown): boolean {
  const code = (e as {code?: unknown})?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}
