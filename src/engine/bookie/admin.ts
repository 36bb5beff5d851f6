/**
 * The logic behind `dlog bkshell`: formatting the bookkeeper metadata (metaformat), wiping a bookie
 * (bookieformat), listing registered bookies (listbookies) and asking each for its disk state
 * (bookieinfo). Commands stay thin: they parse flags, prompt, call these and render the result.
 *
 * Metadata layout metaformat creates under zkLedgersRootPath (BookKeeper's names):
 *   <root>                      created if missing; its parent must exist (as in BookKeeper, metaformat
 *                               does not create parents: the operator creates them with zkshell)
 *   <root>/available            writable bookies register here (ephemeral <host:port> children)
 *   <root>/available/readonly   read-only bookies register here
 *   <root>/cookies              one cookie per bookie (cookie.ts)
 *   <root>/INSTANCEID           a random UUID naming this cluster incarnation (cookies carry it)
 *   <root>/LAYOUT               "<layout version>\n<ledger manager>:<version>\n", see LAYOUT_DATA
 *   <root>/idgen                the ledger id generator (protocol/ledger/layout.ts)
 * Ledger metadata znodes (`<root>/00/0000/L0001`, protocol/ledger/layout.ts) are created by the ledger
 * client under the same root; metaformat with data present wipes every child of the root first, ledger
 * metadata included (bookies then drop the ledgers' data by their garbage collection).
 */
import {createConnection} from 'node:net'
import {rmSync, readdirSync, existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {DlogError, errorMessage, InvalidInputError} from '../common/errors.js'
import {NodeExistsError, NoNodeError} from '../zookeeper/client/errors.js'
import {parentPath} from '../zookeeper/client/paths.js'
import type {ZKClient} from '../zookeeper/client/zk-client.js'
import {type BookieServerConfig, bookieIdOf} from './config.js'
import {cookiePath, cookiesPath, dirIsEmpty, instanceIdPath, newInstanceId, notFormattedMessage} from './cookie.js'
import {availablePath, readOnlyPath} from './registration.js'
import {idgenPath} from '../protocol/ledger/layout.js'
import {BookieWireClient} from '../net/bookie-wire-client.js'

export const METAFORMAT_PROMPT = 'Are you sure to format bookkeeper metadata ?'
export const BOOKIEFORMAT_PROMPT = 'Are you sure to format Bookie data..?'
/** LAYOUT znode content: layout version 1, the hierarchical ledger manager (version 1). */
export const LAYOUT_DATA = '1\nhierarchical:1\n'

export function layoutPath(root: string): string {
  return `${root}/LAYOUT`
}

/** A refusal the operator can fix (root has data without --force, a bookie still running...). */
export class AdminRefusedError extends DlogError {
  constructor(message: string) {
    super('ADMIN_REFUSED', message, {retriable: false})
    this.name = 'AdminRefusedError'
  }
}

export type FormatOutcome = {done: true; message: string} | {done: false; declined: true}

// ---------------------------------------------------------------------------------------------------
// metaformat

export interface MetaformatOptions {
  zk: ZKClient
  root: string
  /** Wipe existing metadata without asking. */
  force: boolean
  /** Never ask: refuse when the root already has data (unless force). */
  nonInteractive: boolean
  /** Asks the operator (METAFORMAT_PROMPT); resolves false on No or closed input. */
  confirm: (question: string) => Promise<boolean>
  /** For tests: a fixed instance id. */
  instanceId?: string
}

export async function metaformat(opts: MetaformatOptions): Promise<FormatOutcome> {
  const {zk, root} = opts
  await requireParent(zk, root)
  const stat = await zk.exists(root)
  const hasData = stat !== null && stat.numChildren > 0
  if (!opts.force) {
    if (opts.nonInteractive) {
      if (hasData) {
        throw new AdminRefusedError(`${root} already holds bookkeeper metadata; not formatting it without --force`)
      }
    } else if (stat !== null && !(await opts.confirm(METAFORMAT_PROMPT))) {
      return {done: false, declined: true}
    }
  }
  if (stat === null) {
    await createIfMissing(zk, root)
  } else {
    for (const child of await zk.getChildren(root)) await zk.deleteRecursive(`${root}/${child}`)
  }
  const instanceId = opts.instanceId ?? newInstanceId()
  await zk
    .transaction()
    .create(availablePath(root), Buffer.alloc(0))
    .create(readOnlyPath(root), Buffer.alloc(0))
    .create(cookiesPath(root), Buffer.alloc(0))
    .create(instanceIdPath(root), Buffer.from(instanceId))
    .create(layoutPath(root), Buffer.from(LAYOUT_DATA))
    .create(idgenPath(root), Buffer.alloc(0))
    .commit()
  return {done: true, message: `Formatted bookkeeper metadata at ${root} (instance id ${instanceId}).`}
}

/** Fails with the zkshell commands to run when an ancestor of `root` is missing. */
async function requireParent(zk: ZKClient, root: string): Promise<void> {
  const missing: string[] = []
  for (let p = parentPath(root); p !== '/'; p = parentPath(p)) {
    if ((await zk.exists(p)) !== null) break
    missing.unshift(p)
  }
  if (missing.length === 0) return
  throw new InvalidInputError(
    `the parent of zkLedgersRootPath ${root} does not exist (missing: ${missing.join(', ')}); metaformat does not create ` +
      `parents. Create them first with \`dlog zkshell <zkServers>\`: ${missing.map((p) => `create ${p} ''`).join('; ')}`,
  )
}

async function createIfMissing(zk: ZKClient, path: string): Promise<void> {
  try {
    await zk.create(path, Buffer.alloc(0))
  } catch (e) {
    if (!(e instanceof NodeExistsError)) throw e
  }
}

// ---------------------------------------------------------------------------------------------------
// bookieformat

export interface BookieformatOptions {
  config: BookieServerConfig
  force: boolean
  nonInteractive: boolean
  /** Also delete the bookie's cookie in ZooKeeper (needs `zk`). */
  deleteCookie: boolean
  confirm: (question: string) => Promise<boolean>
  /** Connects to ZooKeeper; only called with deleteCookie. */
  connectZk?: () => Promise<ZKClient>
  /** Bound on the "is a bookie still listening?" probe. */
  probeTimeoutMs?: number
}

/** Every directory bookieformat wipes: journal, ledger and index dirs. */
export function bookieDirs(config: BookieServerConfig): string[] {
  return [...new Set([...config.journalDirs, ...config.ledgerDirs, ...config.indexDirs])]
}

export async function bookieformat(opts: BookieformatOptions): Promise<FormatOutcome> {
  const {config} = opts
  const bookieId = bookieIdOf(config.advertisedAddress, config.bookiePort)
  if (config.bookiePort !== 0 && (await isListening(config.advertisedAddress, config.bookiePort, opts.probeTimeoutMs ?? 1000))) {
    throw new AdminRefusedError(`a bookie is running at ${bookieId}; stop it before formatting its data`)
  }
  const dirs = bookieDirs(config)
  const used = dirs.filter((d) => !dirIsEmpty(d))
  if (used.length > 0 && !opts.force) {
    if (opts.nonInteractive) {
      throw new AdminRefusedError(`bookie directories hold data (${used.join(', ')}); not formatting them without --force`)
    }
    if (!(await opts.confirm(BOOKIEFORMAT_PROMPT))) return {done: false, declined: true}
  }
  for (const dir of dirs) {
    if (existsSync(dir)) {
      // Empty the directory but keep it: it may be a mount point, or owned by another user.
      for (const name of readdirSync(dir)) if (name !== 'lost+found') rmSync(join(dir, name), {recursive: true, force: true})
    } else mkdirSync(dir, {recursive: true})
  }
  let cookieNote = ''
  if (opts.deleteCookie) {
    if (!opts.connectZk) throw new InvalidInputError('deleting the cookie needs a ZooKeeper connection')
    const zk = await opts.connectZk()
    try {
      await zk.delete(cookiePath(config.zkLedgersRootPath, bookieId))
      cookieNote = ` and deleted its cookie ${cookiePath(config.zkLedgersRootPath, bookieId)}`
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e
      cookieNote = ' (it had no cookie in ZooKeeper)'
    } finally {
      await zk.close()
    }
  }
  return {done: true, message: `Formatted bookie ${bookieId}: wiped ${dirs.join(', ')}${cookieNote}.`}
}

function isListening(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({host, port})
    const finish = (v: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
  })
}

// ---------------------------------------------------------------------------------------------------
// listbookies / bookieinfo

export type BookieState = 'read-write' | 'read-only'

export interface ListedBookie {
  bookieId: string
  state: BookieState
}

/** Registered bookies, writable first, each group sorted by id. */
export async function listBookies(zk: ZKClient, root: string, which: {readWrite: boolean; readOnly: boolean}): Promise<ListedBookie[]> {
  const children = async (path: string): Promise<string[]> => {
    try {
      return (await zk.getChildren(path)).sort()
    } catch (e) {
      if (e instanceof NoNodeError) throw new InvalidInputError(notFormattedMessage(root))
      throw e
    }
  }
  const out: ListedBookie[] = []
  if (which.readWrite) {
    for (const c of await children(availablePath(root))) if (c !== 'readonly') out.push({bookieId: c, state: 'read-write'})
  }
  if (which.readOnly) {
    for (const c of await children(readOnlyPath(root))) out.push({bookieId: c, state: 'read-only'})
  }
  return out
}

export interface BookieInfoRow extends ListedBookie {
  freeDiskBytes?: number
  totalDiskBytes?: number
  readOnly?: boolean
  error?: string
}

/** Asks every registered bookie for its disk usage over the wire (BOOKIE_INFO); unreachable ones get `error`. */
export async function bookieInfo(zk: ZKClient, root: string, opts: {timeoutMs?: number} = {}): Promise<BookieInfoRow[]> {
  const bookies = await listBookies(zk, root, {readWrite: true, readOnly: true})
  const timeoutMs = opts.timeoutMs ?? 5000
  return Promise.all(
    bookies.map(async (b): Promise<BookieInfoRow> => {
      const i = b.bookieId.lastIndexOf(':')
      const host = b.bookieId.slice(0, i)
      const port = Number(b.bookieId.slice(i + 1))
      if (i <= 0 || !Number.isInteger(port)) return {...b, error: 'not a host:port bookie id'}
      let client: BookieWireClient | undefined
      try {
        client = await BookieWireClient.connect({host, port, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs})
        return {...b, ...(await client.info())}
      } catch (e) {
        return {...b, error: errorMessage(e)}
      } finally {
        await client?.close()
      }
    }),
  )
}
