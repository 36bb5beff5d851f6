/**
 * The file operations ledger storage performs, behind a small interface so fault tests can inject disk
 * errors (ENOSPC, EIO) at exactly the write or sync they choose, without privileges or loop mounts.
 * nodeDiskOps is the real thing: libuv-pool calls that keep the event loop free while entry logs are
 * written and synced in the background.
 */
import * as fs from 'node:fs'

export interface DiskUsage {
  freeBytes: number
  totalBytes: number
  /** Identifies the filesystem, so two dirs on one disk are counted once. */
  deviceId: number
}

export interface DiskOps {
  /** Opens a file; flags as in fs.open ('r', 'r+', 'wx', ...). Returns a descriptor. */
  open(path: string, flags: string): Promise<number>
  /** Positional write of buf[offset, offset+length) at `position`; resolves with bytes written. */
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>
  datasync(fd: number): Promise<void>
  truncate(fd: number, length: number): Promise<void>
  close(fd: number): Promise<void>
  unlink(path: string): Promise<void>
  size(fd: number): Promise<number>
  usage(dir: string): Promise<DiskUsage>
}

function cb<T>(run: (done: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((err, v) => (err ? reject(err) : resolve(v))))
}

export const nodeDiskOps: DiskOps = {
  open: (path, flags) => cb<number>((done) => fs.open(path, flags, 0o644, done)),
  write: (fd, buf, offset, length, position) => cb<number>((done) => fs.write(fd, buf, offset, length, position, done)),
  read: (fd, buf, offset, length, position) => cb<number>((done) => fs.read(fd, buf, offset, length, position, done)),
  datasync: (fd) => cb<void>((done) => fs.fdatasync(fd, (err) => done(err, undefined))),
  truncate: (fd, length) => cb<void>((done) => fs.ftruncate(fd, length, (err) => done(err, undefined))),
  close: (fd) => cb<void>((done) => fs.close(fd, (err) => done(err, undefined))),
  unlink: (path) => cb<void>((done) => fs.unlink(path, (err) => done(err, undefined))),
  size: (fd) => cb<number>((done) => fs.fstat(fd, (err, st) => done(err, st?.size ?? 0))),
  usage: async (dir) => {
    const [st, s] = await Promise.all([fs.promises.statfs(dir), fs.promises.stat(dir)])
    return {freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize, deviceId: s.dev}
  },
}

/** Writes all of buf[offset, offset+length) at `position`, looping over short writes. */
export async function writeFully(ops: DiskOps, fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0
  while (done < length) {
    const n = await ops.write(fd, buf, offset + done, length - done, position + done)
    if (n <= 0) throw new Error(`write returned ${n}`)
    done += n
  }
}

/** Reads exactly `length` bytes at `position`, or fewer only at end of file; returns bytes read. */
export async function readFully(ops: DiskOps, fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0
  while (done < length) {
    const n = await ops.read(fd, buf, offset + done, length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

/** True for the error codes that mean "the disk is full" rather than "the disk is broken". */
export function isDiskFullError(e: unknown): boolean {
  const code = (e as {code?: unknown})?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}
