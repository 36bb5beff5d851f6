/**
 * Ledger metadata in ZooKeeper: the LedgerMetadataStore every ledger client, tool and (for listing) the
 * bookie GC meets. Paths follow protocol/ledger/layout.ts (BookKeeper's hierarchical scheme), values
 * protocol/ledger/metadata-format.ts.
 *
 * - Ids: an EPHEMERAL_SEQUENTIAL child `<root>/idgen/ID-` is created and its 10-digit sequence number is
 *   the id; the node is then deleted (BookKeeper's ZkLedgerIdGenerator). ZooKeeper hands out each
 *   sequence number of a parent once, so ids are unique across every client and process. They are not
 *   dense (each create and delete moves the parent's counter), which nothing relies on.
 * - Every update is a compare-and-set on the znode version: BadVersion → MetadataVersionError, and the
 *   caller re-reads and re-applies its change (updateLedgerMetadata below) instead of overwriting.
 * - Writes whose outcome is unknown (the connection dropped before the reply) are not repeated blindly:
 *   the node is read back, and the write counts as done only if our exact bytes are there.
 * - Failures map to the ledger error table: NoNode → NoSuchLedgerError, anything else from ZooKeeper →
 *   LedgerError METADATA_STORE with the ZooKeeper error as cause (retriable when that one is).
 */
import {type Clock, systemClock} from '../common/clock.js'
import {errorMessage, InvalidInputError} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {idgenPath, idgenPrefix, isLeafName, isLevel1Name, isLevel2Name, ledgerIdFromIdgenNode, ledgerIdFromParts, ledgerPath} from '../protocol/ledger/layout.js'
import {decodeLedgerMetadata, encodeLedgerMetadata} from '../protocol/ledger/metadata-format.js'
import {BadVersionError, ConnectionLossError, NodeExistsError, NoNodeError, SessionExpiredError, ZKError} from '../zookeeper/client/errors.js'
import {parentPath} from '../zookeeper/client/paths.js'
import {type WatchEvent, ZKClient} from '../zookeeper/client/zk-client.js'
import {LedgerError, LedgerErrorCode, MetadataVersionError, NoSuchLedgerError} from './errors.js'
import {LEDGER_CLIENT_DEFAULTS, type LedgerMetadata, type LedgerMetadataStore, type Versioned} from './types.js'

/** Sequential creates one id allocation may make (connection losses leave a number unused). */
const IDGEN_ATTEMPTS_MAX = 3
/** Concurrent getChildren calls while walking the ledger tree. */
const LIST_CONCURRENCY = 8
/** A watch whose re-read keeps failing is re-armed this many times (with backoff), then given up. */
const WATCH_REARM_ATTEMPTS_MAX = 10
const WATCH_BACKOFF_MS_MAX = 5_000

export interface ZkLedgerMetadataStoreOptions {
  zk: ZKClient
  /** The bookie cluster's zkLedgersRootPath (metaformat lays it out). */
  ledgersRootPath: string
  clock?: Clock
  logger?: Logger
}

export class ZkLedgerMetadataStore implements LedgerMetadataStore {
  readonly root: string
  private readonly zk: ZKClient
  private readonly clock: Clock
  private readonly log: Logger
  private readonly ownsZk: boolean

  constructor(opts: ZkLedgerMetadataStoreOptions & {ownsZk?: boolean}) {
    this.zk = opts.zk
    this.root = opts.ledgersRootPath
    this.clock = opts.clock ?? systemClock
    this.log = (opts.logger ?? silentLogger).child('ledger-metadata')
    this.ownsZk = opts.ownsZk ?? false
  }

  /**
   * A store with its own ZooKeeper client, closed by close(): for tools, which pass the bookie
   * configuration (zkServers, zkTimeout, zkLedgersRootPath) as it is.
   */
  static async connect(
    opts: {zkServers: string; zkTimeoutMs?: number; zkLedgersRootPath: string},
    logger?: Logger,
  ): Promise<ZkLedgerMetadataStore> {
    const zk = await ZKClient.connect({connectString: opts.zkServers, sessionTimeoutMs: opts.zkTimeoutMs, logger})
    return new ZkLedgerMetadataStore({zk, ledgersRootPath: opts.zkLedgersRootPath, logger, ownsZk: true})
  }

  /** Closes the ZooKeeper client if this store created it; watches end with it. */
  async close(): Promise<void> {
    if (this.ownsZk) await this.zk.close()
  }

  async createLedgerMetadata(build: (ledgerId: number) => LedgerMetadata): Promise<Versioned<LedgerMetadata>> {
    const ledgerId = await this.generateLedgerId()
    const metadata = build(ledgerId)
    if (metadata.ledgerId !== ledgerId) {
      throw new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, `metadata built for ledger ${ledgerId} names ledger ${metadata.ledgerId}`, {ledgerId})
    }
    const data = encodeOrThrow(metadata)
    const path = ledgerPath(this.root, ledgerId)
    try {
      await this.createWithParents(path, data)
    } catch (e) {
      if (isOutcomeUnknown(e) && (await this.holds(path, data)) !== undefined) return {value: decodeLedgerMetadata(data), version: 0}
      throw storeError(e, ledgerId, `create metadata of ledger ${ledgerId}`)
    }
    this.log.debug('created ledger metadata', {ledgerId, path})
    return {value: decodeLedgerMetadata(data), version: 0}
  }

  async readLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>> {
    const path = this.pathOf(ledgerId)
    let got: {data: Buffer | undefined; stat: {version: number}}
    try {
      got = await this.zk.getData(path)
    } catch (e) {
      throw storeError(e, ledgerId, `read metadata of ledger ${ledgerId}`)
    }
    return {value: this.decode(ledgerId, got.data), version: got.stat.version}
  }

  async writeLedgerMetadata(metadata: LedgerMetadata, expectedVersion: number): Promise<Versioned<LedgerMetadata>> {
    const ledgerId = metadata.ledgerId
    const path = this.pathOf(ledgerId)
    const data = encodeOrThrow(metadata)
    try {
      const stat = await this.zk.setData(path, data, expectedVersion)
      return {value: decodeLedgerMetadata(data), version: stat.version}
    } catch (e) {
      if (isOutcomeUnknown(e)) {
        const version = await this.holds(path, data)
        if (version !== undefined && version > expectedVersion) return {value: decodeLedgerMetadata(data), version}
      }
      throw storeError(e, ledgerId, `write metadata of ledger ${ledgerId}`, expectedVersion)
    }
  }

  async removeLedgerMetadata(ledgerId: number, expectedVersion: number): Promise<void> {
    const path = this.pathOf(ledgerId)
    try {
      await this.zk.delete(path, expectedVersion)
    } catch (e) {
      if (isOutcomeUnknown(e) && (await this.zk.exists(path).catch(() => undefined)) === null) return
      throw storeError(e, ledgerId, `delete metadata of ledger ${ledgerId}`, expectedVersion)
    }
    this.log.debug('removed ledger metadata', {ledgerId})
  }

  async listLedgers(): Promise<number[]> {
    const ids: number[] = []
    try {
      const level1 = (await this.zk.getChildren(this.root)).filter(isLevel1Name).sort()
      for (const a of level1) {
        const level2 = (await this.children(`${this.root}/${a}`)).filter(isLevel2Name).sort()
        const leaves = await mapLimit(level2, LIST_CONCURRENCY, async (b) => (await this.children(`${this.root}/${a}/${b}`)).map((c) => [b, c] as const))
        for (const [b, c] of leaves.flat()) {
          if (!isLeafName(c)) continue
          const id = ledgerIdFromParts(a, b, c)
          if (id !== undefined) ids.push(id)
        }
      }
    } catch (e) {
      if (e instanceof NoNodeError && e.path === this.root) {
        throw new LedgerError(LedgerErrorCode.METADATA_STORE, notFormatted(this.root), {cause: e, retriable: false})
      }
      throw storeError(e, undefined, `list ledgers under ${this.root}`)
    }
    return ids.sort((x, y) => x - y)
  }

  watchLedgerMetadata(ledgerId: number, listener: (metadata: Versioned<LedgerMetadata> | undefined) => void): () => void {
    const path = this.pathOf(ledgerId)
    let active = true
    let lastVersion: number | undefined
    let failures = 0
    const deliver = (m: Versioned<LedgerMetadata> | undefined): void => {
      try {
        listener(m)
      } catch (e) {
        this.log.error('ledger metadata listener threw', {ledgerId, error: e})
      }
    }
    const onEvent = (event: WatchEvent): void => {
      if (!active) return
      if (event.type === 'sessionExpired' || event.type === 'closed') {
        active = false
        this.log.debug('ledger metadata watch ended with the ZooKeeper session', {ledgerId, event: event.type})
        return
      }
      void arm(true)
    }
    const arm = async (report: boolean): Promise<void> => {
      try {
        const {data, stat} = await this.zk.getData(path, onEvent)
        failures = 0
        if (!active) return
        const changed = lastVersion !== undefined && stat.version !== lastVersion
        lastVersion = stat.version
        if (report && changed) deliver({value: this.decode(ledgerId, data), version: stat.version})
      } catch (e) {
        if (!active) return
        if (e instanceof NoNodeError) {
          active = false
          deliver(undefined)
          return
        }
        if (e instanceof SessionExpiredError || this.zk.state === 'closed' || ++failures > WATCH_REARM_ATTEMPTS_MAX) {
          active = false
          this.log.warn('stopped watching ledger metadata', {ledgerId, error: errorMessage(e)})
          return
        }
        const backoffMs = Math.min(100 * 2 ** failures, WATCH_BACKOFF_MS_MAX)
        this.clock.setTimeout(() => {
          if (active) void arm(true)
        }, backoffMs)
      }
    }
    void arm(false)
    return () => {
      active = false
    }
  }

  /**
   * A fresh ledger id. Creates the idgen node when it is missing (a root formatted by an older
   * metaformat), but never the root itself: an unformatted cluster is an operator's error.
   */
  async generateLedgerId(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      let created: string
      try {
        created = await this.zk.create(idgenPrefix(this.root), Buffer.alloc(0), 'ephemeral_sequential')
      } catch (e) {
        if (e instanceof NoNodeError && attempt < IDGEN_ATTEMPTS_MAX) {
          await this.ensureIdgenNode(e)
          continue
        }
        if (isOutcomeUnknown(e) && attempt < IDGEN_ATTEMPTS_MAX) continue // a lost number is harmless
        throw storeError(e, undefined, 'generate a ledger id')
      }
      let id: number
      try {
        id = ledgerIdFromIdgenNode(created)
      } catch (e) {
        throw new LedgerError(LedgerErrorCode.METADATA_STORE, `ledger id generator ${idgenPath(this.root)} is exhausted or corrupt: created ${created}`, {cause: e, retriable: false})
      } finally {
        // The number is ours once created; the node itself is only garbage (and ephemeral anyway).
        this.zk.delete(created).catch((e: unknown) => this.log.debug('could not delete an id generator node', {path: created, error: errorMessage(e)}))
      }
      return id
    }
  }

  private async ensureIdgenNode(cause: unknown): Promise<void> {
    try {
      if ((await this.zk.exists(this.root)) === null) {
        throw new LedgerError(LedgerErrorCode.METADATA_STORE, notFormatted(this.root), {cause, retriable: false})
      }
      await this.zk.create(idgenPath(this.root), Buffer.alloc(0))
    } catch (e) {
      if (!(e instanceof NodeExistsError)) throw storeError(e, undefined, 'create the ledger id generator node')
    }
  }

  /** Creates `path`, and its two hierarchy levels when missing; others creating them at once is fine. */
  private async createWithParents(path: string, data: Buffer): Promise<void> {
    try {
      await this.zk.create(path, data)
      return
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e
    }
    const level2 = parentPath(path)
    for (const dir of [parentPath(level2), level2]) {
      try {
        await this.zk.create(dir, Buffer.alloc(0))
      } catch (e) {
        if (!(e instanceof NodeExistsError)) throw e
      }
    }
    await this.zk.create(path, data)
  }

  /** After an outcome-unknown write: the node's version if it holds exactly `data`, else undefined. */
  private async holds(path: string, data: Buffer): Promise<number | undefined> {
    try {
      const got = await this.zk.getData(path)
      return got.data?.equals(data) ? got.stat.version : undefined
    } catch {
      return undefined
    }
  }

  private async children(path: string): Promise<string[]> {
    try {
      return await this.zk.getChildren(path)
    } catch (e) {
      if (e instanceof NoNodeError) return [] // removed since its parent was listed
      throw e
    }
  }

  private pathOf(ledgerId: number): string {
    try {
      return ledgerPath(this.root, ledgerId)
    } catch (e) {
      throw new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, errorMessage(e), {cause: e})
    }
  }

  private decode(ledgerId: number, data: Buffer | undefined): LedgerMetadata {
    let m: LedgerMetadata
    try {
      m = decodeLedgerMetadata(data)
    } catch (e) {
      throw new LedgerError(LedgerErrorCode.METADATA_STORE, `metadata of ledger ${ledgerId} is unreadable: ${errorMessage(e)}`, {ledgerId, cause: e, retriable: false})
    }
    if (m.ledgerId !== ledgerId) {
      throw new LedgerError(LedgerErrorCode.METADATA_STORE, `metadata at ${ledgerPath(this.root, ledgerId)} names ledger ${m.ledgerId}`, {ledgerId, retriable: false})
    }
    return m
  }
}

/**
 * Applies `mutate` to the metadata and compare-and-sets the result; when another client changed it
 * meanwhile, re-reads and applies `mutate` again to what is stored now, up to `attemptsMax` attempts.
 * `mutate` returns undefined when the stored metadata already needs no change: that value is returned
 * as it is. So a conflict is always resolved against the newest metadata, never overwritten.
 */
export async function updateLedgerMetadata(
  store: LedgerMetadataStore,
  current: Versioned<LedgerMetadata>,
  mutate: (metadata: LedgerMetadata) => LedgerMetadata | undefined,
  attemptsMax: number = LEDGER_CLIENT_DEFAULTS.metadataRetriesMax,
): Promise<Versioned<LedgerMetadata>> {
  let base = current
  for (let attempt = 1; ; attempt++) {
    const next = mutate(base.value)
    if (next === undefined) return base
    try {
      return await store.writeLedgerMetadata(next, base.version)
    } catch (e) {
      if (!(e instanceof MetadataVersionError) || attempt >= attemptsMax) {
        if (e instanceof MetadataVersionError) {
          throw new LedgerError(LedgerErrorCode.METADATA_VERSION, `metadata of ledger ${next.ledgerId} kept changing: gave up after ${attempt} attempts`, {
            ledgerId: next.ledgerId,
            cause: e,
          })
        }
        throw e
      }
      base = await store.readLedgerMetadata(next.ledgerId)
    }
  }
}

/**
 * The metadata of many ledgers, read `concurrency` at a time, in the order of `ledgerIds`; ledgers
 * deleted meanwhile are left out (tools list, then read, while others delete).
 */
export async function readLedgerMetadataMany(
  store: LedgerMetadataStore,
  ledgerIds: readonly number[],
  concurrency = LIST_CONCURRENCY,
): Promise<Versioned<LedgerMetadata>[]> {
  const read = await mapLimit(ledgerIds, concurrency, async (id) => {
    try {
      return await store.readLedgerMetadata(id)
    } catch (e) {
      if (e instanceof NoSuchLedgerError) return undefined
      throw e
    }
  })
  return read.filter((m) => m !== undefined)
}

function encodeOrThrow(metadata: LedgerMetadata): Buffer {
  try {
    return encodeLedgerMetadata(metadata)
  } catch (e) {
    if (e instanceof InvalidInputError) {
      throw new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, e.message, {ledgerId: metadata.ledgerId, cause: e})
    }
    throw e
  }
}

function isOutcomeUnknown(e: unknown): boolean {
  return e instanceof ConnectionLossError && e.outcomeUnknown
}

function notFormatted(root: string): string {
  return `the ledgers root ${root} does not exist: format the cluster first (dlog bkshell metaformat)`
}

/** Maps a failure of a metadata operation to the ledger error table. */
function storeError(e: unknown, ledgerId: number | undefined, what: string, expectedVersion?: number): Error {
  if (e instanceof LedgerError) return e
  if (e instanceof NoNodeError && ledgerId !== undefined) return new NoSuchLedgerError(ledgerId, {cause: e})
  if (e instanceof BadVersionError && ledgerId !== undefined) return new MetadataVersionError(ledgerId, expectedVersion ?? -1, {cause: e})
  const retriable = e instanceof ZKError ? e.retriable : false
  return new LedgerError(LedgerErrorCode.METADATA_STORE, `could not ${what}: ${errorMessage(e)}`, {ledgerId, cause: e, retriable})
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return out
}
