/**
 * The file operations the write-ahead log performs, behind an interface so tests can inject faults (an
 * fsync that fails, a write that stops half way) and benchmarks can compare I/O strategies.
 *
 * The default, nodeFileOps, runs every call on libuv's threadpool through Node's callback API (cheaper
 * than the FileHandle promise API) so the event loop keeps accepting appends while a batch is written
 * and fsynced.
 */
import * as fs from 'node:fs'

export interface WalFileOps {
  /** Opens `path`; flags as for fs.open ('r', 'r+', 'wx', ...). */
  open(path: string, flags: string): Promise<number>
  /** Writes buf[offset, offset+length) at `position`; may write less (the caller loops). */
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>
  fdatasync(fd: number): Promise<void>
  ftruncate(fd: number, length: number): Promise<void>
  size(fd: number): Promise<number>
  close(fd: number): Promise<void>
  readdir(dir: string): Promise<string[]>
  mkdir(dir: string): Promise<void>
  unlink(path: string): Promise<void>
  rename(from: string, to: string): Promise<void>
  /** Makes the directory's entries (created, renamed, deleted files) durable. */
  fsyncDir(dir: string): Promise<void>
}

function cb<T>(run: (done: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value))))
}

function cbVoid(run: (done: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => run((err) => (err ? reject(err) : resolve())))
}

/**
 * The blocking forms of write and fdatasync, used by the WAL for small batches with the disk idle
 * (WalOptions.inlineSyncRecordsMax), and only with nodeFileOps: fault-injecting ops stay on their
 * async path.
 */
export const nodeSyncOps = {
  write: (fd: number, buf: Buffer, offset: number, length: number, position: number): number => fs.writeSync(fd, buf, offset, length, position),
  fdatasync: (fd: number): void => fs.fdatasyncSync(fd),
}

export const nodeFileOps: WalFileOps = {
  open: (path, flags) => cb<number>((done) => fs.open(path, flags, 0o644, done)),
  write: (fd, buf, offset, length, position) =>
    cb<number>((done) => fs.write(fd, buf, offset, length, position, (err, n) => done(err, n))),
  read: (fd, buf, offset, length, position) =>
    cb<number>((done) => fs.read(fd, buf, offset, length, position, (err, n) => done(err, n))),
  fdatasync: (fd) => cbVoid((done) => fs.fdatasync(fd, done)),
  ftruncate: (fd, length) => cbVoid((done) => fs.ftruncate(fd, length, done)),
  size: (fd) => cb<number>((done) => fs.fstat(fd, (err, st) => done(err, st?.size ?? 0))),
  close: (fd) => cbVoid((done) => fs.close(fd, done)),
  readdir: (dir) => fs.promises.readdir(dir),
  mkdir: async (dir) => {
    await fs.promises.mkdir(dir, {recursive: true})
  },
  unlink: (path) => fs.promises.unlink(path),
  rename: (from, to) => fs.promises.rename(from, to),
  fsyncDir: async (dir) => {
    const fd = await cb<number>((done) => fs.open(dir, 'r', done))
    try {
      await cbVoid((done) => fs.fsync(fd, done))
    } finally {
      await cbVoid((done) => fs.close(fd, done))
    }
  },
}
