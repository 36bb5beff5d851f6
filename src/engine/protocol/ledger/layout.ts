/**
 * Where ledger metadata lives in ZooKeeper: the path scheme shared by the ledger client (which creates
 * and walks it), metaformat (which lays out its fixed nodes) and the bookie's garbage collector (which
 * lists live ledger ids). Pure string functions, no I/O.
 *
 * The scheme is BookKeeper's hierarchical ledger manager, under the cluster's zkLedgersRootPath:
 *
 *   <root>/idgen                  ledger id generator: clients create EPHEMERAL_SEQUENTIAL children
 *                                 `ID-<10 digits>`, take the sequence number as the id and delete them
 *   <root>/<d2>/<d4>/L<d4>        one ledger's metadata (protocol/ledger/metadata-format.ts)
 *
 * The ledger id zero-padded to 10 digits is split 2/4/4: ledger 1 → `<root>/00/0000/L0001`, ledger
 * 1234567890 → `<root>/12/3456/L7890`. So no directory ever holds more than 10,000 children and ids
 * stop at 9,999,999,999 (ZooKeeper's sequence counter is an int32, far below that anyway).
 *
 * Other children of the root (available, cookies, INSTANCEID, LAYOUT, idgen, underreplication) are not
 * ledger directories; a walker keeps only names that look like level-1 directories (two digits).
 */
import {InvalidInputError} from '../../common/errors.js'

export const LEDGER_ID_MAX = 9_999_999_999

export const IDGEN_NODE = 'idgen'
/** Prefix of the sequential children of the idgen node; ZooKeeper appends a 10-digit counter. */
export const IDGEN_PREFIX = 'ID-'

/** Children of the ledgers root that are never ledger directories. */
export const NON_LEDGER_ROOT_NAMES: ReadonlySet<string> = new Set([
  'available',
  'cookies',
  'INSTANCEID',
  'LAYOUT',
  IDGEN_NODE,
  'underreplication',
])

const LEVEL1 = /^\d{2}$/
const LEVEL2 = /^\d{4}$/
const LEAF = /^L\d{4}$/

export function isLedgerId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 0 && id <= LEDGER_ID_MAX
}

function checkLedgerId(id: number): void {
  if (!isLedgerId(id)) throw new InvalidInputError(`ledger id must be an integer in [0, ${LEDGER_ID_MAX}], got ${id}`)
}

/** The three path levels of a ledger: `00`, `0000`, `L0001` for ledger 1. */
export function ledgerPathParts(id: number): [string, string, string] {
  checkLedgerId(id)
  const s = String(id).padStart(10, '0')
  return [s.slice(0, 2), s.slice(2, 6), `L${s.slice(6)}`]
}

function join(root: string, ...names: string[]): string {
  return (root === '/' ? '' : root) + names.map((n) => `/${n}`).join('')
}

export function ledgerPath(root: string, id: number): string {
  return join(root, ...ledgerPathParts(id))
}

export function idgenPath(root: string): string {
  return join(root, IDGEN_NODE)
}

/** The path prefix a sequential create takes: `<root>/idgen/ID-`. */
export function idgenPrefix(root: string): string {
  return join(root, IDGEN_NODE, IDGEN_PREFIX)
}

export function isLevel1Name(name: string): boolean {
  return LEVEL1.test(name)
}

export function isLevel2Name(name: string): boolean {
  return LEVEL2.test(name)
}

export function isLeafName(name: string): boolean {
  return LEAF.test(name)
}

/** The ledger id of three level names, or undefined when they do not form one. */
export function ledgerIdFromParts(level1: string, level2: string, leaf: string): number | undefined {
  if (!isLevel1Name(level1) || !isLevel2Name(level2) || !isLeafName(leaf)) return undefined
  return Number(level1 + level2 + leaf.slice(1))
}

/** The ledger id a full path names (`<root>/00/0000/L0001` → 1), or undefined for any other path. */
export function ledgerIdFromPath(root: string, path: string): number | undefined {
  const prefix = root === '/' ? '/' : `${root}/`
  if (!path.startsWith(prefix)) return undefined
  const parts = path.slice(prefix.length).split('/')
  if (parts.length !== 3) return undefined
  const [a, b, c] = parts as [string, string, string]
  return ledgerIdFromParts(a, b, c)
}

/**
 * The id a sequential idgen node names (`<root>/idgen/ID-0000000042` or just `ID-0000000042` → 42).
 * Throws InvalidInputError for anything else, including a counter past LEDGER_ID_MAX or negative
 * (ZooKeeper's int32 counter wraps to negative after 2^31 - 1).
 */
export function ledgerIdFromIdgenNode(pathOrName: string): number {
  const name = pathOrName.slice(pathOrName.lastIndexOf('/') + 1)
  const m = /^ID-(-?\d{1,19})$/.exec(name)
  const id = m ? Number(m[1]) : NaN
  if (!isLedgerId(id)) throw new InvalidInputError(`not a ledger id generator node: ${pathOrName}`)
  return id
}
