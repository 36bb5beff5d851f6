/**
 * A ledger's metadata and its codec: what the ledger client stores in the ledger's znode
 * (`<root>/<d2>/<d4>/L<d4>`, see layout.ts) and every client and tool reads back. Pure: Buffer in,
 * objects out. The types live here (re-exported by ledger/types.ts) because the codec owns the format.
 *
 * Format (version 1): one line of UTF-8 JSON, readable with `dlog zkshell get <path>`; keys in this order,
 * no others:
 *
 *   {"formatVersion":1,          this format; a decoder rejects versions it does not know
 *    "ledgerId":42,              safe integer in [0, LEDGER_ID_MAX]; equals the id in the znode path
 *    "state":"OPEN",             OPEN | IN_RECOVERY | CLOSED
 *    "ensembleSize":3,           E >= writeQuorumSize >= ackQuorumSize >= 1
 *    "writeQuorumSize":3,
 *    "ackQuorumSize":2,
 *    "lastEntryId":-1,           -1 until CLOSED (and -1 when closed empty)
 *    "length":0,                 total payload bytes once CLOSED
 *    "digestType":"CRC32C",
 *    "password":"cHc=",          base64 of the master key bookies bind to the ledger
 *    "ctimeMs":1700000000000,    creation time, ms since the epoch
 *    "ensembles":[{"firstEntryId":0,"bookies":["10.0.0.1:3181","10.0.0.2:3181","10.0.0.3:3181"]}],
 *                                ordered by firstEntryId (strictly increasing, the first is 0), each
 *                                with E distinct bookie ids `host:port`; when CLOSED the last one
 *                                starts at most at lastEntryId + 1
 *    "customMetadata":{"app":"ZGw="}}  name → base64 value
 *
 * Decoding checks all of the above and throws InvalidInputError naming the first problem, so corrupt or
 * hand-edited metadata gives a clear error instead of a client misbehaving later. Encoding checks the
 * same rules (writing metadata a decoder would refuse is a bug worth stopping at the writer).
 */
import {InvalidInputError} from '../../common/errors.js'
import {LEDGER_ID_MAX} from './layout.js'

/** A bookie's identity as it registers in ZooKeeper: `host:port`. */
export type BookieId = string

export type LedgerState = 'OPEN' | 'IN_RECOVERY' | 'CLOSED'

/** One ensemble of a ledger: the bookies that store entries from `firstEntryId` on (until the next ensemble). */
export interface EnsembleSegment {
  firstEntryId: number
  bookies: BookieId[]
}

/** What ZooKeeper holds for one ledger (format: this file). */
export interface LedgerMetadata {
  ledgerId: number
  ensembleSize: number
  writeQuorumSize: number
  ackQuorumSize: number
  state: LedgerState
  /** Last entry id once CLOSED (-1: closed empty); -1 while OPEN or IN_RECOVERY. */
  lastEntryId: number
  /** Total payload bytes once CLOSED; 0 before. */
  length: number
  digestType: 'CRC32C'
  /** The master key every bookie binds to the ledger at its first add; recovery and fencing need it. */
  password: Buffer
  /** Ordered by firstEntryId, the first one starting at 0. Never empty. */
  ensembles: EnsembleSegment[]
  ctimeMs: number
  customMetadata: Record<string, Buffer>
}

export const METADATA_FORMAT_VERSION = 1
/** Below ZooKeeper's default jute.maxbuffer (1 MiB), leaving room for the request around it. */
export const METADATA_BYTES_MAX = 1024 * 1024 - 1024
export const LEDGER_STATES: readonly LedgerState[] = ['OPEN', 'IN_RECOVERY', 'CLOSED']
const BOOKIE_ID_CHARS_MAX = 255

const KEYS = [
  'formatVersion',
  'ledgerId',
  'state',
  'ensembleSize',
  'writeQuorumSize',
  'ackQuorumSize',
  'lastEntryId',
  'length',
  'digestType',
  'password',
  'ctimeMs',
  'ensembles',
  'customMetadata',
] as const

export function encodeLedgerMetadata(m: LedgerMetadata): Buffer {
  const json = {
    formatVersion: METADATA_FORMAT_VERSION,
    ...plainFields(m),
    password: m.password.toString('base64'),
    ctimeMs: m.ctimeMs,
    ensembles: copyEnsembles(m.ensembles),
    customMetadata: mapValues(m.customMetadata, (v) => v.toString('base64')),
  }
  const buf = Buffer.from(JSON.stringify(json), 'utf8')
  // The same checks as decoding, so nothing this writes is refused by a reader.
  fromJson(json, buf.length)
  return buf
}

export function decodeLedgerMetadata(data: Buffer | undefined): LedgerMetadata {
  if (data === undefined || data.length === 0) throw bad('the znode is empty')
  if (data.length > METADATA_BYTES_MAX) throw bad(`${data.length} bytes, more than ${METADATA_BYTES_MAX}`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(data))
  } catch (e) {
    throw bad(`not UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`, e)
  }
  return fromJson(json, data.length)
}

function bad(what: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError(`invalid ledger metadata: ${what}`, {cause})
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function int(o: Record<string, unknown>, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v) ?? String(v)}`)
  }
  return v
}

function base64(v: unknown, what: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw bad(`${what} must be a base64 string`)
  const buf = Buffer.from(v, 'base64')
  // Non-canonical padding bits would decode to the same bytes from two texts: refuse them.
  if (buf.toString('base64') !== v) throw bad(`${what} is not canonical base64`)
  return buf
}

function fromJson(json: unknown, bytes: number): LedgerMetadata {
  if (bytes > METADATA_BYTES_MAX) throw bad(`${bytes} bytes, more than ${METADATA_BYTES_MAX}`)
  if (!isObject(json)) throw bad('not a JSON object')
  for (const k of Object.keys(json)) if (!(KEYS as readonly string[]).includes(k)) throw bad(`unknown field ${JSON.stringify(k)}`)
  for (const k of KEYS) if (!Object.hasOwn(json, k)) throw bad(`missing field ${k}`)
  if (json.formatVersion !== METADATA_FORMAT_VERSION) {
    throw bad(`formatVersion ${JSON.stringify(json.formatVersion)} is not supported (this version reads ${METADATA_FORMAT_VERSION})`)
  }
  const ledgerId = int(json, 'ledgerId', 0, LEDGER_ID_MAX)
  const state = json.state
  if (typeof state !== 'string' || !(LEDGER_STATES as readonly string[]).includes(state)) {
    throw bad(`state must be one of ${LEDGER_STATES.join(', ')}, got ${JSON.stringify(state)}`)
  }
  const ensembleSize = int(json, 'ensembleSize', 1)
  const writeQuorumSize = int(json, 'writeQuorumSize', 1, ensembleSize)
  const ackQuorumSize = int(json, 'ackQuorumSize', 1, writeQuorumSize)
  const lastEntryId = int(json, 'lastEntryId', -1)
  const length = int(json, 'length', 0)
  if (json.digestType !== 'CRC32C') throw bad(`digestType must be CRC32C, got ${JSON.stringify(json.digestType)}`)
  const password = base64(json.password, 'password')
  const ctimeMs = int(json, 'ctimeMs', 0)

  if (!Array.isArray(json.ensembles) || json.ensembles.length === 0) throw bad('ensembles must be a non-empty array')
  const ensembles: EnsembleSegment[] = []
  for (const [i, seg] of (json.ensembles as unknown[]).entries()) {
    if (!isObject(seg) || Object.keys(seg).some((k) => k !== 'firstEntryId' && k !== 'bookies')) {
      throw bad(`ensembles[${i}] must be {firstEntryId, bookies}`)
    }
    const firstEntryId = int(seg, 'firstEntryId', 0)
    const prev = ensembles.at(-1)
    if (prev === undefined ? firstEntryId !== 0 : firstEntryId <= prev.firstEntryId) {
      throw bad(`ensembles[${i}].firstEntryId ${firstEntryId} ${prev === undefined ? 'must be 0' : `must be above ${prev.firstEntryId}`}`)
    }
    if (!Array.isArray(seg.bookies) || seg.bookies.length !== ensembleSize) {
      throw bad(`ensembles[${i}] must list ensembleSize (${ensembleSize}) bookies`)
    }
    const bookies: BookieId[] = []
    for (const b of seg.bookies as unknown[]) {
      if (typeof b !== 'string' || b.length === 0 || b.length > BOOKIE_ID_CHARS_MAX || /[\s/\p{Cc}]/u.test(b)) {
        throw bad(`ensembles[${i}] has an invalid bookie id ${JSON.stringify(b)}`)
      }
      if (bookies.includes(b)) throw bad(`ensembles[${i}] lists bookie ${b} twice`)
      bookies.push(b)
    }
    ensembles.push({firstEntryId, bookies})
  }
  const lastSegment = ensembles.at(-1) as EnsembleSegment
  if (state === 'CLOSED' && lastSegment.firstEntryId > lastEntryId + 1) {
    throw bad(`closed at entry ${lastEntryId} but its last ensemble starts at entry ${lastSegment.firstEntryId}`)
  }

  if (!isObject(json.customMetadata)) throw bad('customMetadata must be an object')
  const customMetadata = mapValues(json.customMetadata, (v, k) => base64(v, `customMetadata[${JSON.stringify(k)}]`))
  return {
    ledgerId,
    ensembleSize,
    writeQuorumSize,
    ackQuorumSize,
    state: state as LedgerState,
    lastEntryId,
    length,
    digestType: 'CRC32C',
    password,
    ensembles,
    ctimeMs,
    customMetadata,
  }
}

/**
 * The metadata as tools print it (`dlog bkshell ledgermetadata --json`): the stored fields without the
 * password (only its length), custom metadata values as text when they are printable UTF-8, else
 * `base64:<...>`.
 */
export interface LedgerMetadataView {
  ledgerId: number
  state: LedgerState
  ensembleSize: number
  writeQuorumSize: number
  ackQuorumSize: number
  lastEntryId: number
  length: number
  digestType: 'CRC32C'
  passwordBytes: number
  ctimeMs: number
  ensembles: EnsembleSegment[]
  customMetadata: Record<string, string>
}

export function ledgerMetadataView(m: LedgerMetadata): LedgerMetadataView {
  return {
    ...plainFields(m),
    passwordBytes: m.password.length,
    ctimeMs: m.ctimeMs,
    ensembles: copyEnsembles(m.ensembles),
    customMetadata: mapValues(m.customMetadata, printable),
  }
}

/** The fields stored as they are, in the format's key order. */
function plainFields(m: LedgerMetadata) {
  const {ledgerId, state, ensembleSize, writeQuorumSize, ackQuorumSize, lastEntryId, length, digestType} = m
  return {ledgerId, state, ensembleSize, writeQuorumSize, ackQuorumSize, lastEntryId, length, digestType}
}

function copyEnsembles(ensembles: readonly EnsembleSegment[]): EnsembleSegment[] {
  return ensembles.map((s) => ({firstEntryId: s.firstEntryId, bookies: [...s.bookies]}))
}

/**
 * A record with `fn` applied to each value. Keys are defined as own data properties, so a key such as
 * `__proto__` (custom metadata is user data) stays a key instead of changing the object's prototype.
 */
export function mapValues<A, B>(record: Record<string, A>, fn: (value: A, key: string) => B): Record<string, B> {
  const out: Record<string, B> = {}
  for (const [k, v] of Object.entries(record)) Object.defineProperty(out, k, {value: fn(v, k), enumerable: true, writable: true, configurable: true})
  return out
}

function printable(v: Buffer): string {
  const text = v.toString('utf8')
  const clean = Buffer.from(text, 'utf8').equals(v) && !/[\p{Cc}]/u.test(text) && !text.startsWith('base64:')
  return clean ? text : `base64:${v.toString('base64')}`
}
