/**
 * ZooKeeper's durable store on local disk (contract: ./types.ts; byte formats: ./file-snapshot.ts).
 *
 *   <dataDir>/version-2/snapshot.<zxid hex>            snapshots (ZooKeeper's names), newest snapRetainCount kept
 *   <dataLogDir or dataDir>/version-2/log/<id>.wal     the txn log: a write-ahead log (common/wal) of txn records
 *
 * append() logs a txn through the WAL, whose group commit lets many txns share one fdatasync, and
 * resolves once it is durable. snapshot() writes "<name>.tmp", fsyncs it, renames it and fsyncs the
 * directory, then keeps the newest snapRetainCount snapshots and purges the WAL files whose txns all
 * precede the OLDEST kept snapshot. Purging up to the newest one instead would save disk, but then
 * falling back to an older snapshot (when the newest is damaged) would silently skip the txns between
 * the two; ZooKeeper's PurgeTxnLog keeps logs for every retained snapshot for the same reason.
 *
 * recover() picks the newest snapshot whose CRC checks out (a damaged one falls back to the one
 * before), replays the WAL (which already cut any torn tail: only unacknowledged txns can be in it)
 * and returns the txns after the snapshot. Every txn record names the zxid logged before it, so
 * recovery proves the chain is whole from the snapshot on and refuses (ZKStoreCorruptError) rather
 * than return a state with txns missing.
 */
import {join} from 'node:path'

import {assert} from '../../../common/assert.js'
import type {Clock} from '../../../common/clock.js'
import {DlogError, InvalidInputError} from '../../../common/errors.js'
import {type Logger, silentLogger} from '../../../common/logger.js'
import {nodeFileOps, type WalFileOps} from '../../../common/wal/file-ops.js'
import type {WalOptions, WalPosition, WriteAheadLog} from '../../../common/wal/types.js'
import {readFully, writeAll} from '../../../common/wal/wal-file.js'
import {openWal, type OpenWalOptions} from '../../../common/wal/wal.js'
import {
  decodeSnapshotFile,
  decodeTxnRecord,
  encodeSnapshotHeader,
  encodeSnapshotTrailer,
  encodeTxnRecord,
  parseSnapshotFileName,
  SNAPSHOT_HEADER_BYTES,
  SNAPSHOT_TRAILER_BYTES,
  snapshotFileName,
  TXN_RECORD_HEADER_BYTES,
  ZXID_MAX,
} from './file-snapshot.js'
import type {RecoveredState, TxnRecord, ZKPersistence} from './types.js'

export interface FilePersistenceOptions {
  dataDir: string
  /** Where the txn log lives (zoo.cfg dataLogDir); default dataDir. */
  dataLogDir?: string
  /** Snapshots kept (zoo.cfg autopurge.snapRetainCount); default 3. */
  snapRetainCount?: number
  /** Largest txn payload accepted (ZooKeeper's jute.maxbuffer is just under 1 MiB); default 4 MiB. */
  txnBytesMax?: number
  /** Largest snapshot payload written or read; default 1 GiB. */
  snapshotBytesMax?: number
  /** Overrides for the txn log's WAL (file size, preallocation, group commit). */
  wal?: Partial<Omit<OpenWalOptions, 'dir' | 'recordBytesMax' | 'clock' | 'logger' | 'fileOps'>>
  clock?: Clock
  logger?: Logger
  /** File operations for the WAL and the snapshots; tests inject faults here. */
  fileOps?: WalFileOps
}

const SNAP_RETAIN_COUNT_DEFAULT = 3
const TXN_BYTES_MAX_DEFAULT = 4 * 1024 * 1024
const SNAPSHOT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024
/** ZooKeeper's SyncRequestProcessor also flushes at most 1000 txns per group. */
const WAL_DEFAULTS: Omit<WalOptions, 'dir' | 'recordBytesMax'> & {preallocateBytes: number} = {
  fileSizeBytesMax: 16 * 1024 * 1024,
  preallocateBytes: 4 * 1024 * 1024,
  groupCommitBytesMax: 1024 * 1024,
  groupCommitRecordsMax: 1000,
  groupCommitWaitMs: 0,
}

export const ZKStoreErrorCode = {
  /** The snapshots and the txn log do not add up to a whole history. */
  CORRUPT: 'ZK_STORE_CORRUPT',
} as const
export type ZKStoreErrorCode = (typeof ZKStoreErrorCode)[keyof typeof ZKStoreErrorCode]

export class ZKStoreCorruptError extends DlogError {
  constructor(message: string) {
    super(ZKStoreErrorCode.CORRUPT, message, {retriable: false})
    this.name = 'ZKStoreCorruptError'
  }
}

function hex(zxid: bigint): string {
  return `0x${zxid.toString(16)}`
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidInputError(`${name} must be an integer of at least ${min}, got ${value}`)
  }
}

export class FilePersistence implements ZKPersistence {
  private readonly snapDir: string
  private readonly logDir: string
  private readonly snapRetainCount: number
  private readonly txnBytesMax: number
  private readonly snapshotBytesMax: number
  private readonly walOverrides: FilePersistenceOptions['wal']
  private readonly clock: Clock | undefined
  private readonly log: Logger
  private readonly ops: WalFileOps

  private wal: WriteAheadLog | undefined
  private recovered = false
  private closing = false
  /** The zxid the store has reached: the last txn logged, or the snapshot recovery started from. */
  private lastZxid = 0n
  /** The first zxid in each WAL file (ascending), to find the files a snapshot makes obsolete. */
  private fileFirstZxids: {fileId: number; zxid: bigint}[] = []
  /** Set once an append fails: later txns would leave a hole in the log, so they are refused too. */
  private failure: unknown
  private snapshotChain: Promise<void> = Promise.resolve()

  constructor(opts: FilePersistenceOptions) {
    if (typeof opts.dataDir !== 'string' || opts.dataDir === '') throw new InvalidInputError('dataDir must be a path')
    this.snapDir = join(opts.dataDir, 'version-2')
    this.logDir = join(opts.dataLogDir ?? opts.dataDir, 'version-2', 'log')
    this.snapRetainCount = opts.snapRetainCount ?? SNAP_RETAIN_COUNT_DEFAULT
    checkCount('snapRetainCount', this.snapRetainCount, 1)
    this.txnBytesMax = opts.txnBytesMax ?? TXN_BYTES_MAX_DEFAULT
    checkCount('txnBytesMax', this.txnBytesMax, 1)
    this.snapshotBytesMax = opts.snapshotBytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT
    checkCount('snapshotBytesMax', this.snapshotBytesMax, 1)
    this.walOverrides = opts.wal
    this.clock = opts.clock
    this.log = (opts.logger ?? silentLogger).child('zk-store')
    this.ops = opts.fileOps ?? nodeFileOps
  }

  async recover(): Promise<RecoveredState> {
    assert(!this.recovered, 'recover() runs once')
    this.recovered = true
    await this.ops.mkdir(this.snapDir)
    const snapshot = await this.newestIntactSnapshot()
    const base = snapshot?.zxid ?? 0n
    this.wal = await openWal({
      ...WAL_DEFAULTS,
      ...this.walOverrides,
      dir: this.logDir,
      recordBytesMax: TXN_RECORD_HEADER_BYTES + this.txnBytesMax,
      clock: this.clock,
      logger: this.log,
      fileOps: this.ops,
    })
    const txns: TxnRecord[] = []
    let last: bigint | undefined
    await this.wal.replay(undefined, (record, position) => {
      const t = decodeTxnRecord(record)
      const where = `txn log file ${position.fileId} offset ${position.offset}`
      if (!t.ok) throw new ZKStoreCorruptError(`${where}: ${t.reason}`)
      if (last !== undefined && t.zxid <= last) {
        throw new ZKStoreCorruptError(`${where}: txn ${hex(t.zxid)} follows ${hex(last)}`)
      }
      last = t.zxid
      this.noteFile(position, t.zxid)
      if (t.zxid <= base) return
      const before = txns.length === 0 ? undefined : (txns[txns.length - 1] as TxnRecord).zxid
      if (before === undefined ? t.prevZxid > base : t.prevZxid !== before) {
        const from = before === undefined ? `the snapshot at ${hex(base)}` : hex(before)
        throw new ZKStoreCorruptError(
          `${where}: txn ${hex(t.zxid)} was logged after ${hex(t.prevZxid)}, but recovery has only reached ${from}: ` +
            'txns are missing',
        )
      }
      txns.push({zxid: t.zxid, payload: t.payload})
    })
    this.lastZxid = last !== undefined && last > base ? last : base
    this.log.info('recovered', {snapshotZxid: hex(base), txns: txns.length, lastZxid: hex(this.lastZxid)})
    return snapshot === undefined ? {txns} : {snapshot, txns}
  }

  private async newestIntactSnapshot(): Promise<{zxid: bigint; payload: Buffer} | undefined> {
    const zxids: bigint[] = []
    for (const name of await this.ops.readdir(this.snapDir)) {
      if (name.startsWith('snapshot.') && name.endsWith('.tmp')) {
        // A snapshot whose write was cut short; the one before it is still there.
        await this.ops.unlink(join(this.snapDir, name))
        continue
      }
      const zxid = parseSnapshotFileName(name)
      if (zxid !== undefined) zxids.push(zxid)
    }
    zxids.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
    for (const zxid of zxids) {
      const check = await this.readSnapshot(zxid)
      if (check.ok) return {zxid, payload: check.payload}
      this.log.warn('skipping a damaged snapshot', {file: snapshotFileName(zxid), reason: check.reason})
    }
    return undefined
  }

  private async readSnapshot(zxid: bigint): Promise<{ok: true; payload: Buffer} | {ok: false; reason: string}> {
    const fd = await this.ops.open(join(this.snapDir, snapshotFileName(zxid)), 'r')
    try {
      const size = await this.ops.size(fd)
      if (size > this.snapshotBytesMax + SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) {
        return {ok: false, reason: `${size} bytes is more than snapshotBytesMax`}
      }
      const file = Buffer.allocUnsafe(size)
      const got = await readFully(this.ops, fd, file, 0)
      const check = decodeSnapshotFile(file.subarray(0, got))
      if (!check.ok) return check
      if (check.zxid !== zxid) return {ok: false, reason: `holds zxid ${hex(check.zxid)}`}
      return {ok: true, payload: check.payload}
    } finally {
      await this.ops.close(fd)
    }
  }

  private noteFile(position: WalPosition, zxid: bigint): void {
    const lastFile = this.fileFirstZxids[this.fileFirstZxids.length - 1]
    if (lastFile === undefined || lastFile.fileId !== position.fileId) {
      this.fileFirstZxids.push({fileId: position.fileId, zxid})
    }
  }

  append(txn: TxnRecord): Promise<void> {
    const wal = this.wal
    assert(wal !== undefined, 'append() before recover()')
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (typeof txn.zxid !== 'bigint' || txn.zxid <= this.lastZxid || txn.zxid > ZXID_MAX) {
      return Promise.reject(new InvalidInputError(`txn zxid ${String(txn.zxid)} does not follow ${hex(this.lastZxid)}`))
    }
    if (!Buffer.isBuffer(txn.payload) || txn.payload.length > this.txnBytesMax) {
      return Promise.reject(new InvalidInputError(`txn payload must be a Buffer of at most ${this.txnBytesMax} bytes`))
    }
    const record = encodeTxnRecord(txn.zxid, this.lastZxid, txn.payload)
    this.lastZxid = txn.zxid
    return wal.append(record).then(
      (position) => this.noteFile(position, txn.zxid),
      (e: unknown) => {
        this.failure ??= e
        throw e
      },
    )
  }

  snapshot(zxid: bigint, payload: Buffer): Promise<void> {
    assert(this.wal !== undefined, 'snapshot() before recover()')
    if (this.closing) return Promise.reject(new InvalidInputError('the store is closing'))
    if (typeof zxid !== 'bigint' || zxid < 0n || zxid > ZXID_MAX) {
      return Promise.reject(new InvalidInputError(`snapshot zxid ${String(zxid)} is out of range`))
    }
    if (!Buffer.isBuffer(payload) || payload.length > this.snapshotBytesMax) {
      const message = `snapshot must be a Buffer of at most ${this.snapshotBytesMax} bytes`
      return Promise.reject(new InvalidInputError(message))
    }
    // One snapshot at a time, so purging never races a write.
    const done = this.snapshotChain.then(() => this.writeSnapshot(zxid, payload))
    this.snapshotChain = done.catch(() => {})
    return done
  }

  private async writeSnapshot(zxid: bigint, payload: Buffer): Promise<void> {
    const path = join(this.snapDir, snapshotFileName(zxid))
    const tmp = `${path}.tmp`
    const header = encodeSnapshotHeader(zxid, payload.length)
    const fd = await this.ops.open(tmp, 'w')
    try {
      await writeAll(this.ops, fd, header, 0)
      await writeAll(this.ops, fd, payload, SNAPSHOT_HEADER_BYTES)
      await writeAll(this.ops, fd, encodeSnapshotTrailer(header, payload), SNAPSHOT_HEADER_BYTES + payload.length)
      await this.ops.fdatasync(fd)
    } catch (e) {
      await this.ops.close(fd).catch(() => {})
      await this.ops.unlink(tmp).catch(() => {})
      throw e
    }
    await this.ops.close(fd)
    await this.ops.rename(tmp, path)
    await this.ops.fsyncDir(this.snapDir)
    await this.purge()
  }

  /** Keeps the newest snapRetainCount snapshots and the WAL files any of them may still need. */
  private async purge(): Promise<void> {
    const zxids = (await this.ops.readdir(this.snapDir))
      .map(parseSnapshotFileName)
      .filter((z): z is bigint => z !== undefined)
      .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
    const kept = zxids.slice(0, this.snapRetainCount)
    const dropped = zxids.slice(this.snapRetainCount)
    for (const zxid of dropped) await this.ops.unlink(join(this.snapDir, snapshotFileName(zxid)))
    if (dropped.length > 0) await this.ops.fsyncDir(this.snapDir)
    const oldestKept = kept[kept.length - 1]
    if (oldestKept === undefined || this.wal === undefined) return
    // Files before the last one starting at or below oldestKept hold only txns every kept snapshot covers.
    let cut: {fileId: number; zxid: bigint} | undefined
    for (const f of this.fileFirstZxids) if (f.zxid <= oldestKept) cut = f
    if (cut === undefined) return
    const fileId = cut.fileId
    const deleted = await this.wal.reclaim({fileId, offset: 0})
    this.fileFirstZxids = this.fileFirstZxids.filter((f) => f.fileId >= fileId)
    this.log.debug('purged', {snapshots: dropped.length, logFiles: deleted, oldestKeptZxid: hex(oldestKept)})
  }

  async close(): Promise<void> {
    this.closing = true
    await this.snapshotChain
    await this.wal?.close()
  }
}
