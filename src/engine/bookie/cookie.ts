/**
 * Cookies: how a bookie notices that its disks or its configuration changed under it (a journal
 * directory pointed elsewhere, a ledger disk replaced by an empty one, the metadata re-formatted)
 * instead of silently serving a partial copy of its ledgers.
 *
 * A cookie records the bookie's identity and layout. One copy lives in ZooKeeper at
 * `<zkLedgersRootPath>/cookies/<bookieId>`, one in a file `current/VERSION` inside every journal and
 * ledger directory (next to the journal and entry-log files, BookKeeper's layout). On start the bookie compares both against what bookie.conf says now and
 * refuses to start on any difference, naming exactly what differs.
 *
 * Cookie text format (UTF-8; like BookKeeper's: a layout version line, then protobuf-text fields whose
 * values are JSON string literals):
 *
 *   1
 *   bookieHost: "127.0.0.1:3181"
 *   journalDirs: "1\t/data/bk-1/journal"
 *   ledgerDirs: "2\t/data/bk-1/ledgers-a\t/data/bk-1/ledgers-b"
 *   instanceId: "0f8e3c52-4b9d-4a5e-9a0c-8d6f1b2e7a41"
 *
 * Directory lists are "<count>\t<path>\t<path>..." (BookKeeper's ledgerDirs encoding), paths absolute.
 * instanceId is the cluster's `<root>/INSTANCEID`, written by `dlog bkshell metaformat`.
 * Unknown fields are an error (a newer layout version must bump the version line).
 */
import {randomUUID} from 'node:crypto'
import {closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {DlogError, errorMessage, InvalidInputError} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {currentDir} from './storage/dirs.js'
import {NodeExistsError, NoNodeError} from '../zookeeper/client/errors.js'
import type {ZKClient} from '../zookeeper/client/zk-client.js'

export const COOKIE_LAYOUT_VERSION = 1
export const COOKIE_FILE = 'VERSION'
const COOKIE_BYTES_MAX = 64 * 1024
/** Files that may sit in a fresh directory without making it "in use" (mount points have lost+found). */
const IGNORABLE_FILES = new Set([COOKIE_FILE, 'lost+found'])

export interface Cookie {
  bookieHost: string
  journalDirs: string[]
  ledgerDirs: string[]
  instanceId: string
}

/** The bookie must not start: its cookies and its configuration disagree, or metadata is missing. */
export class InvalidCookieError extends DlogError {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super('INVALID_COOKIE', message, {retriable: false, cause: opts.cause})
    this.name = 'InvalidCookieError'
  }
}

function encodeDirs(dirs: readonly string[]): string {
  return [String(dirs.length), ...dirs].join('\t')
}

export function encodeCookie(c: Cookie): string {
  return [
    String(COOKIE_LAYOUT_VERSION),
    `bookieHost: ${JSON.stringify(c.bookieHost)}`,
    `journalDirs: ${JSON.stringify(encodeDirs(c.journalDirs))}`,
    `ledgerDirs: ${JSON.stringify(encodeDirs(c.ledgerDirs))}`,
    `instanceId: ${JSON.stringify(c.instanceId)}`,
    '',
  ].join('\n')
}

export function decodeCookie(text: string, source: string): Cookie {
  if (text.length > COOKIE_BYTES_MAX) throw new InvalidInputError(`${source}: cookie is larger than ${COOKIE_BYTES_MAX} bytes`)
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const version = lines.shift()?.trim()
  if (version !== String(COOKIE_LAYOUT_VERSION)) {
    throw new InvalidInputError(`${source}: cookie layout version '${version ?? ''}' is not supported (expected ${COOKIE_LAYOUT_VERSION})`)
  }
  const fields = new Map<string, string>()
  for (const line of lines) {
    const m = /^\s*([A-Za-z]+)\s*:\s*(".*")\s*$/.exec(line)
    if (!m) throw new InvalidInputError(`${source}: malformed cookie line '${line}'`)
    let value: unknown
    try {
      value = JSON.parse(m[2] as string)
    } catch (e) {
      throw new InvalidInputError(`${source}: malformed cookie value in '${line}'`, {cause: e})
    }
    if (typeof value !== 'string') throw new InvalidInputError(`${source}: malformed cookie value in '${line}'`)
    fields.set(m[1] as string, value)
  }
  const get = (k: string): string => {
    const v = fields.get(k)
    if (v === undefined) throw new InvalidInputError(`${source}: cookie has no ${k}`)
    fields.delete(k)
    return v
  }
  const dirs = (k: string): string[] => {
    const [count, ...paths] = get(k).split('\t')
    if (String(paths.length) !== count) throw new InvalidInputError(`${source}: cookie ${k} lists ${paths.length} paths but says ${count}`)
    return paths
  }
  const cookie = {bookieHost: get('bookieHost'), journalDirs: dirs('journalDirs'), ledgerDirs: dirs('ledgerDirs'), instanceId: get('instanceId')}
  if (fields.size > 0) throw new InvalidInputError(`${source}: unknown cookie field(s) ${[...fields.keys()].join(', ')}`)
  return cookie
}

/** One line per differing field: `<field>: <aName> has X, <bName> has Y`. */
export function diffCookies(a: Cookie, b: Cookie, aName: string, bName: string): string[] {
  const out: string[] = []
  const show = (v: string | string[]): string => (Array.isArray(v) ? v.join(',') : v)
  for (const k of ['bookieHost', 'journalDirs', 'ledgerDirs', 'instanceId'] as const) {
    if (show(a[k]) !== show(b[k])) out.push(`${k}: ${aName} has '${show(a[k])}', ${bName} has '${show(b[k])}'`)
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// ZooKeeper layout

export function cookiesPath(root: string): string {
  return `${root}/cookies`
}

export function cookiePath(root: string, bookieId: string): string {
  return `${root}/cookies/${bookieId}`
}

export function instanceIdPath(root: string): string {
  return `${root}/INSTANCEID`
}

export function notFormattedMessage(root: string): string {
  return (
    `the bookkeeper metadata under ${root} is not formatted (${instanceIdPath(root)} does not exist); ` +
    'run `dlog bkshell metaformat` with this bookie.conf first'
  )
}

/** The cluster's instance id; InvalidCookieError telling to run metaformat when it is missing. */
export async function readInstanceId(zk: ZKClient, root: string): Promise<string> {
  try {
    const {data} = await zk.getData(instanceIdPath(root))
    const id = data?.toString('utf8').trim() ?? ''
    if (id === '') throw new InvalidCookieError(`${instanceIdPath(root)} is empty; run \`dlog bkshell metaformat\` to format the metadata`)
    return id
  } catch (e) {
    if (e instanceof NoNodeError) throw new InvalidCookieError(notFormattedMessage(root), {cause: e})
    throw e
  }
}

export function newInstanceId(): string {
  return randomUUID()
}

// ---------------------------------------------------------------------------------------------------
// Directory cookies

/** `<dir>/current/VERSION`. */
export function dirCookieFile(dir: string): string {
  return join(currentDir(dir), COOKIE_FILE)
}

function readDirCookie(dir: string): Cookie | undefined {
  const file = dirCookieFile(dir)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new InvalidCookieError(`cannot read ${file}: ${errorMessage(e)}`, {cause: e})
  }
  return decodeCookie(text, file)
}

/** Writes <dir>/VERSION durably: temp file, fsync, rename, fsync the directory. */
function writeDirCookie(dataDir: string, cookie: Cookie): void {
  const dir = currentDir(dataDir)
  mkdirSync(dir, {recursive: true})
  const tmp = join(dir, `${COOKIE_FILE}.tmp`)
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, encodeCookie(cookie))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, join(dir, COOKIE_FILE))
  const dfd = openSync(dir, 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

/** True when the data directory is missing or holds nothing but ignorable files (and an empty current/). */
export function dirIsEmpty(dir: string): boolean {
  if (!existsSync(dir)) return true
  const ignorable = (f: string): boolean => IGNORABLE_FILES.has(f) || f === `${COOKIE_FILE}.tmp`
  return readdirSync(dir).every((f) => ignorable(f) || (f === 'current' && readdirSync(currentDir(dir)).every(ignorable)))
}

// ---------------------------------------------------------------------------------------------------
// The start-up check

export interface CookieCheckInput {
  zk: ZKClient
  root: string
  bookieId: string
  journalDirs: string[]
  ledgerDirs: string[]
  logger?: Logger
}

/**
 * Verifies (or, for a new bookie, writes) the cookies. Resolves with what it did; throws
 * InvalidCookieError with a message naming every difference when the bookie must not start.
 */
export async function checkCookies(input: CookieCheckInput): Promise<{created: boolean; instanceId: string}> {
  const log = input.logger ?? silentLogger
  const {zk, root, bookieId} = input
  const instanceId = await readInstanceId(zk, root)
  const expected: Cookie = {bookieHost: bookieId, journalDirs: input.journalDirs, ledgerDirs: input.ledgerDirs, instanceId}
  const zkPath = cookiePath(root, bookieId)
  const zkName = `the cookie in ZooKeeper (${zkPath})`
  const confName = 'this bookie.conf'
  const advice =
    'If the change is intended, wipe this bookie with `dlog bkshell bookieformat -d` (its data is lost and must be ' +
    're-replicated from other bookies); otherwise restore the previous configuration or disks.'

  let zkCookie: Cookie | undefined
  try {
    const {data} = await zk.getData(zkPath)
    zkCookie = decodeCookie(data?.toString('utf8') ?? '', zkPath)
  } catch (e) {
    if (!(e instanceof NoNodeError)) throw e
  }
  const dirs = [...new Set([...input.journalDirs, ...input.ledgerDirs])]
  const dirCookies = dirs.map((dir) => ({dir, cookie: readDirCookie(dir)}))
  const problems: string[] = []

  if (zkCookie === undefined) {
    const withCookie = dirCookies.filter((d) => d.cookie !== undefined)
    if (withCookie.length === 0) {
      const used = dirs.filter((d) => !dirIsEmpty(d))
      if (used.length > 0) {
        throw new InvalidCookieError(
          `bookie ${bookieId} has no cookie, yet ${used.join(', ')} already hold data: refusing to adopt directories ` +
            'of unknown origin. Run `dlog bkshell bookieformat` to wipe them if they are disposable.',
        )
      }
      // A new bookie: directory cookies first, then ZooKeeper (a crash in between is repaired below).
      for (const dir of dirs) writeDirCookie(dir, expected)
      await createZkCookie(zk, root, zkPath, expected)
      log.info('new bookie: cookies written', {bookieId, instanceId})
      return {created: true, instanceId}
    }
    for (const {dir, cookie} of dirCookies) {
      if (cookie === undefined) problems.push(`${dirCookieFile(dir)} is missing`)
      else problems.push(...diffCookies(cookie, expected, dirCookieFile(dir), confName))
    }
    if (problems.length === 0) {
      // Every directory agrees with the configuration: a start that stopped before writing ZooKeeper.
      await createZkCookie(zk, root, zkPath, expected)
      log.warn('cookie was missing in ZooKeeper; recreated it from the matching directory cookies', {bookieId})
      return {created: false, instanceId}
    }
    problems.unshift(`ZooKeeper has no cookie at ${zkPath}`)
  } else {
    problems.push(...diffCookies(zkCookie, expected, zkName, confName))
    for (const {dir, cookie} of dirCookies) {
      if (cookie === undefined) {
        problems.push(
          `${dirCookieFile(dir)} is missing: the directory was wiped or replaced` + (dirIsEmpty(dir) ? ' (it is empty)' : ''),
        )
      } else problems.push(...diffCookies(cookie, zkCookie, dirCookieFile(dir), zkName))
    }
    if (problems.length === 0) return {created: false, instanceId}
  }
  throw new InvalidCookieError(
    `cookie mismatch for bookie ${bookieId}; refusing to start:\n${problems.map((p) => `  - ${p}`).join('\n')}\n${advice}`,
  )
}

async function createZkCookie(zk: ZKClient, root: string, zkPath: string, cookie: Cookie): Promise<void> {
  try {
    await zk.create(cookiesPath(root))
  } catch (e) {
    if (!(e instanceof NodeExistsError)) throw e
  }
  try {
    await zk.create(zkPath, encodeCookie(cookie))
  } catch (e) {
    if (!(e instanceof NodeExistsError)) throw e
    // Another start of the same bookie raced us: accept only an identical cookie.
    const {data} = await zk.getData(zkPath)
    const other = decodeCookie(data?.toString('utf8') ?? '', zkPath)
    const diff = diffCookies(other, cookie, `the cookie in ZooKeeper (${zkPath})`, 'this bookie.conf')
    if (diff.length > 0) throw new InvalidCookieError(`cookie mismatch for bookie ${cookie.bookieHost}:\n  - ${diff.join('\n  - ')}`)
  }
}
