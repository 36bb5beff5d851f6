/**
 * The znode Stat as the facade hands it out: zxids and the ephemeral owner (a session id) are bigint,
 * times are epoch milliseconds as numbers, counters are numbers. node-zookeeper-client delivers the
 * 64-bit fields as 8-byte big-endian Buffers; `statFromWire` converts them.
 */

export interface Stat {
  czxid: bigint
  mzxid: bigint
  pzxid: bigint
  /** Creation time, epoch ms. */
  ctimeMs: number
  /** Last data change time, epoch ms. */
  mtimeMs: number
  /** Data version (zkCli: dataVersion). */
  version: number
  /** Child-list version: creates + deletes of children. */
  cversion: number
  aversion: number
  /** Session id owning the node if ephemeral, else 0n. */
  ephemeralOwner: bigint
  dataLength: number
  numChildren: number
}

/** The Stat shape node-zookeeper-client returns (64-bit fields as Buffers). */
export interface WireStat {
  czxid: Buffer
  mzxid: Buffer
  ctime: Buffer
  mtime: Buffer
  version: number
  cversion: number
  aversion: number
  ephemeralOwner: Buffer
  dataLength: number
  numChildren: number
  pzxid: Buffer
}

function long(b: Buffer): bigint {
  return b.length === 8 ? b.readBigInt64BE(0) : 0n
}

export function statFromWire(s: WireStat): Stat {
  return {
    czxid: long(s.czxid),
    mzxid: long(s.mzxid),
    pzxid: long(s.pzxid),
    ctimeMs: Number(long(s.ctime)),
    mtimeMs: Number(long(s.mtime)),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: long(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  }
}

/** `0x` + lowercase hex without padding, as ZooKeeper prints zxids and session ids. */
export function hex64(v: bigint): string {
  return `0x${BigInt.asUintN(64, v).toString(16)}`
}
