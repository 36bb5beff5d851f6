/**
 * The namespace binding: which bookie cluster (its ZooKeeper and ledgers path) and which settings a
 * namespace uses. It lives in the data of the namespace znode itself, written by `dlog admin bind`, and
 * is found by walking up from a namespace's path, so a sub-namespace inherits its parent's binding
 * unless it has its own.
 *
 * Format (UTF-8, DistributedLog's DLMetadata with a BKDLConfig, byte-compatible with the original):
 *
 *   1\n                 metadata format version (only 1 exists)
 *   BKDL\n              the type
 *   {"1":{"str":"127.0.0.1:7000"},"2":{"str":"/ledgers"},"3":{"tf":1},"4":{"tf":0},"5":{"str":...},...}
 *
 * The last part is Thrift TJSONProtocol of struct BKDLConfigFormat: an object keyed by field id, each
 * value an object keyed by the Thrift type (`str`, `tf` = bool as 1/0, `i64` = number). Fields, in the
 * id order they are written: 1 bkZkServers (BK ZooKeeper for writers), 2 bkLedgersPath, 3
 * sanityCheckTxnID, 4 encodeRegionID (3 and 4 always written), 5 bkZkServersForReader, 6
 * dlZkServersForWriter, 7 dlZkServersForReader, 8 aclRootPath (if set), 9 firstLogSegmentSeqNo (i64, if
 * set), 10 federatedNamespace (only when true). There is no trailing newline. Readers join the lines after
 * the second, ignore unknown field ids, and require 1, 2 and 6 (5 and 7 default to 1 and 6).
 */
import {InvalidInputError} from '../../common/errors.js'
import {NodeExistsError, NoNodeError} from '../../zookeeper/client/errors.js'
import {parentPath} from '../../zookeeper/client/paths.js'
import type {ZKClient} from '../../zookeeper/client/zk-client.js'

export const BINDING_FORMAT_VERSION = 1
export const BINDING_TYPE = 'BKDL'
/** A binding is a few hundred bytes; anything this large is not one. */
export const BINDING_BYTES_MAX = 64 * 1024

export interface NamespaceBinding {
  /** ZooKeeper servers bookkeeper writers use (field 1). */
  bkZkServers: string
  /** zkLedgersRootPath of the bookie cluster (field 2). */
  bkLedgersPath: string
  /** Refuse segment starts with a txid below the log's highest (field 3, default true). */
  sanityCheckTxnId: boolean
  /** Encode the region id into segment metadata (field 4, default false). */
  encodeRegionId: boolean
  bkZkServersForReader: string
  dlZkServersForWriter: string
  dlZkServersForReader: string
  aclRootPath?: string
  /** Sequence number of a log's first segment (field 9; unset = 1). */
  firstLogSegmentSeqNo?: number
  federatedNamespace: boolean
}

/** A binding from the admin's flags: readers default to writers, DL servers to the namespace URI's. */
export function makeBinding(args: {
  bkZkServers: string
  bkLedgersPath: string
  dlZkServers: string
  bkZkServersForReader?: string
  dlZkServersForWriter?: string
  dlZkServersForReader?: string
  sanityCheckTxnId?: boolean
  encodeRegionId?: boolean
  firstLogSegmentSeqNo?: number
  federatedNamespace?: boolean
  aclRootPath?: string
}): NamespaceBinding {
  const dlWriter = args.dlZkServersForWriter ?? args.dlZkServers
  const b: NamespaceBinding = {
    bkZkServers: args.bkZkServers,
    bkLedgersPath: args.bkLedgersPath,
    sanityCheckTxnId: args.sanityCheckTxnId ?? true,
    encodeRegionId: args.encodeRegionId ?? false,
    bkZkServersForReader: args.bkZkServersForReader ?? args.bkZkServers,
    dlZkServersForWriter: dlWriter,
    dlZkServersForReader: args.dlZkServersForReader ?? dlWriter,
    federatedNamespace: args.federatedNamespace ?? false,
  }
  if (args.aclRootPath !== undefined) b.aclRootPath = args.aclRootPath
  if (args.firstLogSegmentSeqNo !== undefined) b.firstLogSegmentSeqNo = args.firstLogSegmentSeqNo
  return b
}

/** The TJSON config alone (what the original's BKDLConfig.toString() prints in `admin bind`). */
export function bindingConfigJson(b: NamespaceBinding): string {
  const str = (v: string) => `{"str":${JSON.stringify(v)}}`
  const tf = (v: boolean) => `{"tf":${v ? 1 : 0}}`
  const fields: string[] = [
    `"1":${str(b.bkZkServers)}`,
    `"2":${str(b.bkLedgersPath)}`,
    `"3":${tf(b.sanityCheckTxnId)}`,
    `"4":${tf(b.encodeRegionId)}`,
    `"5":${str(b.bkZkServersForReader)}`,
    `"6":${str(b.dlZkServersForWriter)}`,
    `"7":${str(b.dlZkServersForReader)}`,
  ]
  if (b.aclRootPath !== undefined) fields.push(`"8":${str(b.aclRootPath)}`)
  if (b.firstLogSegmentSeqNo !== undefined) fields.push(`"9":{"i64":${b.firstLogSegmentSeqNo}}`)
  if (b.federatedNamespace) fields.push(`"10":${tf(true)}`)
  return `{${fields.join(',')}}`
}

export function encodeBinding(b: NamespaceBinding): Buffer {
  return Buffer.from(`${BINDING_FORMAT_VERSION}\n${BINDING_TYPE}\n${bindingConfigJson(b)}`, 'utf8')
}

type FieldType = 'str' | 'tf' | 'i64'
const FIELD_TYPES: Record<string, FieldType> = {1: 'str', 2: 'str', 3: 'tf', 4: 'tf', 5: 'str', 6: 'str', 7: 'str', 8: 'str', 9: 'i64', 10: 'tf'}

function deserializeFailure(text: string, why: string): InvalidInputError {
  return new InvalidInputError(`Failed to deserialize data '${text}' : ${why}`)
}

function decodeConfig(text: string): NamespaceBinding {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    throw deserializeFailure(text, e instanceof Error ? e.message : String(e))
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw deserializeFailure(text, 'not a Thrift struct')
  const values = new Map<number, string | boolean | number>()
  for (const [id, field] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^\d{1,5}$/.test(id)) throw deserializeFailure(text, `field id '${id}' is not a number`)
    if (field === null || typeof field !== 'object' || Array.isArray(field)) throw deserializeFailure(text, `field ${id} is not a typed value`)
    const entries = Object.entries(field as Record<string, unknown>)
    if (entries.length !== 1) throw deserializeFailure(text, `field ${id} must have exactly one type`)
    const [type, value] = entries[0] as [string, unknown]
    const expected = FIELD_TYPES[id]
    if (expected === undefined) continue // a newer writer's field: skip it, as Thrift does
    if (type !== expected) throw deserializeFailure(text, `field ${id} has type '${type}', expected '${expected}'`)
    if (expected === 'str') {
      if (typeof value !== 'string') throw deserializeFailure(text, `field ${id} is not a string`)
      values.set(Number(id), value)
    } else if (expected === 'tf') {
      if (value !== 0 && value !== 1) throw deserializeFailure(text, `field ${id} is not a boolean (0 or 1)`)
      values.set(Number(id), value === 1)
    } else {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw deserializeFailure(text, `field ${id} is not a 64-bit integer`)
      values.set(Number(id), value)
    }
  }
  const str = (id: number) => values.get(id) as string | undefined
  const bkWriter = str(1)
  const bkReader = str(5) ?? bkWriter
  const ledgers = str(2)
  const dlWriter = str(6)
  const dlReader = str(7) ?? dlWriter
  if (bkWriter === undefined || bkReader === undefined || ledgers === undefined || dlWriter === undefined || dlReader === undefined) {
    throw new InvalidInputError(`Missing zk/bk settings in BKDL Config : ${text}`)
  }
  const b: NamespaceBinding = {
    bkZkServers: bkWriter,
    bkLedgersPath: ledgers,
    sanityCheckTxnId: (values.get(3) as boolean | undefined) ?? true,
    encodeRegionId: (values.get(4) as boolean | undefined) ?? false,
    bkZkServersForReader: bkReader,
    dlZkServersForWriter: dlWriter,
    dlZkServersForReader: dlReader,
    federatedNamespace: (values.get(10) as boolean | undefined) ?? false,
  }
  const acl = str(8)
  if (acl !== undefined) b.aclRootPath = acl
  const seqno = values.get(9) as number | undefined
  if (seqno !== undefined) b.firstLogSegmentSeqNo = seqno
  return b
}

/** Decodes a namespace znode's data; throws InvalidInputError with the original's messages. */
export function decodeBinding(data: Buffer): NamespaceBinding {
  if (data.length > BINDING_BYTES_MAX) throw new InvalidInputError(`a namespace binding is at most ${BINDING_BYTES_MAX} bytes, got ${data.length}`)
  const text = data.toString('utf8')
  // Java's BufferedReader.readLine: \n, \r or \r\n end a line.
  const lines = text.split(/\r\n|\r|\n/)
  if (text === '') throw new InvalidInputError('Empty DL Metadata.')
  const versionLine = lines[0] as string
  const version = /^[+-]?\d{1,10}$/.test(versionLine) ? Number(versionLine) : -1
  if (version !== BINDING_FORMAT_VERSION) {
    throw new InvalidInputError(`Metadata version not compatible. Expected ${BINDING_FORMAT_VERSION} but got ${version}`)
  }
  const type = lines[1]
  if (type !== BINDING_TYPE) throw new InvalidInputError(`Invalid DL type : ${type === undefined ? 'null' : type}`)
  return decodeConfig(lines.slice(2).join(''))
}

export function bindingsEqual(a: NamespaceBinding, b: NamespaceBinding): boolean {
  return bindingConfigJson(a) === bindingConfigJson(b)
}

/** The binding stored on exactly `path`, or undefined when the znode is missing or has no data. */
export async function readBindingAt(zk: ZKClient, path: string): Promise<NamespaceBinding | undefined> {
  try {
    const {data} = await zk.getData(path)
    if (data === undefined || data.length === 0) return undefined
    return decodeBinding(data)
  } catch (e) {
    if (e instanceof NoNodeError) return undefined
    throw e
  }
}

export interface ResolvedBinding {
  binding: NamespaceBinding
  /** The znode the binding was found on: the namespace's own path or one of its parents. */
  boundPath: string
}

/**
 * Walks from `path` up to `/` and returns the first binding found (the deepest one wins, so a
 * sub-namespace may override its parent's); undefined when none of them is bound.
 */
export async function resolveBinding(zk: ZKClient, path: string): Promise<ResolvedBinding | undefined> {
  for (let p = path; ; p = parentPath(p)) {
    const binding = await readBindingAt(zk, p)
    if (binding !== undefined) return {binding, boundPath: p}
    if (p === '/') return undefined
  }
}

/**
 * Writes `binding` on `path`. With `create`, makes the znode (and missing parents) and fails with
 * NodeExistsError if it already carries a binding; a znode that exists without data (made by hand
 * with zkshell, say) is bound in place. Without `create`, updates an existing znode (NoNodeError if
 * it is missing), as the original's update does.
 */
export async function writeBinding(zk: ZKClient, path: string, binding: NamespaceBinding, opts: {create: boolean}): Promise<void> {
  const data = encodeBinding(binding)
  if (!opts.create) {
    await zk.setData(path, data)
    return
  }
  if (path !== '/' && parentPath(path) !== '/') await zk.mkdirp(parentPath(path))
  try {
    await zk.create(path, data)
  } catch (e) {
    if (!(e instanceof NodeExistsError)) throw e
    const {data: existing, stat} = await zk.getData(path)
    if (existing !== undefined && existing.length > 0) throw e
    await zk.setData(path, data, stat.version)
  }
}

/** Removes the binding on exactly `path` (the znode stays, with empty data). */
export async function unbindNamespace(zk: ZKClient, path: string): Promise<void> {
  await zk.setData(path, Buffer.alloc(0))
}

/**
 * Binds `nsPath` to one ZooKeeper ensemble for everything (DL and BK, readers and writers), as the
 * sandbox does; creates the znode and its parents, and rebinds a znode that has other settings.
 */
export async function bindAllToOneEnsemble(zk: ZKClient, nsPath: string, args: {zkServers: string; ledgersPath: string}): Promise<void> {
  const binding = makeBinding({bkZkServers: args.zkServers, bkLedgersPath: args.ledgersPath, dlZkServers: args.zkServers})
  const current = await readBindingAt(zk, nsPath)
  if (current !== undefined && bindingsEqual(current, binding)) return
  await writeBinding(zk, nsPath, binding, {create: current === undefined})
}
