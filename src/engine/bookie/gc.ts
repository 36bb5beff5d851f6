/**
 * The bookie's garbage collector, driven by the ledger metadata in ZooKeeper (BookKeeper's GC thread
 * with the hierarchical ledger manager). Every gcWaitTimeMs it:
 *
 *   1. snapshots the ids of the ledgers this bookie holds, FIRST;
 *   2. lists the ledger ids whose metadata exists under the ledgers root (the 2/4/4 layout of
 *      protocol/ledger/layout.ts, skipping available, cookies, idgen and the other fixed nodes);
 *   3. deletes locally (journaled delete, index and metadata dropped, entry logs compacted) every
 *      ledger of the snapshot that the listing does not have.
 *
 * Why this order is safe: a writer creates a ledger's metadata znode before it sends the ledger's
 * first add to any bookie, so every ledger in the snapshot had metadata before the snapshot was taken.
 * If the listing, taken after the snapshot, lacks it, the metadata was deleted in between or earlier:
 * the ledger was deleted, and ids are never reused (they come from a sequential znode). The other
 * order would be wrong: a ledger created after the listing but before the snapshot would look
 * orphaned and lose its entries.
 *
 * A listing that fails (connection loss, expired session, a missing root) deletes nothing: the round
 * is skipped and the next one tries again. A directory that vanishes during the walk was emptied
 * first (ZooKeeper deletes only empty nodes), so it counts as holding no ledgers. Rounds never overlap,
 * and one round deletes at most deletesPerRunMax ledgers (the rest wait for the next).
 */
import {type Clock, systemClock, type TimerHandle} from '../common/clock.js'
import {errorMessage} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {isLeafName, isLevel1Name, isLevel2Name, ledgerIdFromParts} from '../protocol/ledger/layout.js'
import {NoNodeError} from '../zookeeper/client/errors.js'
import type {ZKClient} from '../zookeeper/client/zk-client.js'

/** What the collector needs of the core. */
export interface GcCore {
  listLedgers(): number[]
  deleteLedger(ledgerId: number): Promise<void>
}

export interface GarbageCollectorOptions {
  core: GcCore
  /** The current ZooKeeper client, or undefined while there is none (reconnecting): the round is skipped. */
  zk: () => ZKClient | undefined
  /** zkLedgersRootPath. */
  root: string
  /** Time between rounds (BK gcWaitTime). */
  gcWaitTimeMs: number
  /** Bound on ledgers deleted by one round. Default 10,000. */
  deletesPerRunMax?: number
  clock?: Clock
  logger?: Logger
}

export interface GcRound {
  /** Ledgers this bookie held at the start of the round. */
  localLedgers: number
  /** Ledgers with metadata in ZooKeeper (undefined when the listing failed). */
  liveLedgers: number | undefined
  deleted: number[]
  /** Why the round deleted nothing without looking, or stopped early. */
  skipped?: string
}

const DELETES_PER_RUN_MAX_DEFAULT = 10_000

async function childrenOrNone(zk: ZKClient, path: string): Promise<string[]> {
  try {
    return await zk.getChildren(path)
  } catch (e) {
    if (e instanceof NoNodeError) return []
    throw e
  }
}

/**
 * Ledger ids whose metadata exists under `root`. Throws when the root itself is missing or ZooKeeper
 * fails; a directory deleted during the walk counts as empty.
 */
export async function listLedgerIds(zk: ZKClient, root: string): Promise<Set<number>> {
  const ids = new Set<number>()
  // The root must exist: an empty answer from a missing root would read as "no ledger is alive".
  const level1 = (await zk.getChildren(root)).filter(isLevel1Name)
  for (const a of level1) {
    const level2 = (await childrenOrNone(zk, `${root}/${a}`)).filter(isLevel2Name)
    for (const b of level2) {
      for (const leaf of await childrenOrNone(zk, `${root}/${a}/${b}`)) {
        if (!isLeafName(leaf)) continue
        const id = ledgerIdFromParts(a, b, leaf)
        if (id !== undefined) ids.add(id)
      }
    }
  }
  return ids
}

export class GarbageCollector {
  private readonly opts: GarbageCollectorOptions
  private readonly clock: Clock
  private readonly log: Logger
  private timer: TimerHandle | undefined
  private running: Promise<GcRound> | undefined
  private closed = false

  constructor(opts: GarbageCollectorOptions) {
    this.opts = opts
    this.clock = opts.clock ?? systemClock
    this.log = (opts.logger ?? silentLogger).child('gc')
  }

  /** Starts the periodic rounds (the first one gcWaitTimeMs from now). */
  start(): void {
    this.schedule()
  }

  /** Runs a round now (or joins the one running) and resolves with what it did. */
  runNow(): Promise<GcRound> {
    this.running ??= this.round().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    await this.running?.catch(() => {})
  }

  private schedule(): void {
    if (this.closed) return
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      this.runNow()
        .catch((e: unknown) => this.log.warn('garbage collection round failed', {error: errorMessage(e)}))
        .finally(() => this.schedule())
    }, this.opts.gcWaitTimeMs)
    this.timer.unref()
  }

  private async round(): Promise<GcRound> {
    // 1. Local ledgers first (see the module comment for why the order matters).
    const local = this.opts.core.listLedgers()
    const result: GcRound = {localLedgers: local.length, liveLedgers: undefined, deleted: []}
    if (local.length === 0) return {...result, skipped: 'no local ledgers'}
    const zk = this.opts.zk()
    if (zk === undefined) return {...result, skipped: 'no ZooKeeper session'}
    // 2. Then the ledgers alive in ZooKeeper; a failed listing deletes nothing.
    let live: Set<number>
    try {
      live = await listLedgerIds(zk, this.opts.root)
    } catch (e) {
      this.log.warn('cannot list ledgers in ZooKeeper: nothing deleted this round', {root: this.opts.root, error: errorMessage(e)})
      return {...result, skipped: `listing failed: ${errorMessage(e)}`}
    }
    result.liveLedgers = live.size
    // 3. Delete the local ledgers whose metadata is gone.
    const max = this.opts.deletesPerRunMax ?? DELETES_PER_RUN_MAX_DEFAULT
    for (const ledgerId of local) {
      if (live.has(ledgerId)) continue
      if (this.closed) return {...result, skipped: 'closing'}
      if (result.deleted.length >= max) return {...result, skipped: `more than ${max} ledgers to delete: the rest wait for the next round`}
      try {
        await this.opts.core.deleteLedger(ledgerId)
      } catch (e) {
        this.log.warn('deleting a ledger failed', {ledgerId, error: errorMessage(e)})
        return {...result, skipped: `deleting ledger ${ledgerId} failed: ${errorMessage(e)}`}
      }
      result.deleted.push(ledgerId)
    }
    if (result.deleted.length > 0) this.log.info('garbage collected ledgers', {count: result.deleted.length, ledgers: result.deleted.slice(0, 20)})
    return result
  }
}
