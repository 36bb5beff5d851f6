/**
 * Which bookies a new ledger, or a replacement after a bookie failure, may use: the writable bookies
 * registered in ZooKeeper (`<root>/available/<host:port>`, bookie/registration.ts), never a read-only
 * one (`<root>/available/readonly/<host:port>`, and the `readonly` child itself is no bookie).
 *
 * The registry is cached and kept fresh by ZooKeeper child watches on both nodes: a change drops the
 * cache and the next call re-reads it, so creating ledgers costs no ZooKeeper round trip while the set
 * of bookies is stable. A bookie that switches to read-only appears under both nodes for a moment
 * (registration creates the new node before deleting the old): it counts as read-only.
 *
 * Choice is uniform at random through the injected Random (seeded in simulations), over the sorted
 * candidates so a seed always picks the same bookies. BookKeeper's rack- and region-aware policies are
 * not reproduced: every bookie is one failure domain.
 */
import {errorMessage} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {cryptoRandom, type Random, shuffled} from '../common/random.js'
import {NoNodeError} from '../zookeeper/client/errors.js'
import type {ZKClient} from '../zookeeper/client/zk-client.js'
import {LedgerError, LedgerErrorCode, NotEnoughBookiesError} from './errors.js'
import type {BookieId, BookiePlacement} from './types.js'

const READONLY = 'readonly'

export interface ZkBookiePlacementOptions {
  zk: ZKClient
  ledgersRootPath: string
  random?: Random
  logger?: Logger
}

export class ZkBookiePlacement implements BookiePlacement {
  private readonly zk: ZKClient
  private readonly availablePath: string
  private readonly readOnlyPath: string
  private readonly random: Random
  private readonly log: Logger
  /** The writable set, while both watches that would invalidate it are armed. */
  private cached: Promise<BookieId[]> | undefined
  /** Bumped on every invalidation so a read that raced with a change is not cached. */
  private generation = 0
  private closed = false

  constructor(opts: ZkBookiePlacementOptions) {
    this.zk = opts.zk
    this.availablePath = `${opts.ledgersRootPath}/available`
    this.readOnlyPath = `${opts.ledgersRootPath}/available/${READONLY}`
    this.random = opts.random ?? cryptoRandom
    this.log = (opts.logger ?? silentLogger).child('placement')
  }

  async newEnsemble(size: number, exclude: ReadonlySet<BookieId> = new Set()): Promise<BookieId[]> {
    if (!Number.isInteger(size) || size < 1) {
      throw new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, `ensemble size must be a positive integer, got ${size}`)
    }
    const candidates = (await this.writableBookies()).filter((b) => !exclude.has(b))
    if (candidates.length < size) throw new NotEnoughBookiesError(size, candidates.length)
    return shuffled(candidates, this.random).slice(0, size)
  }

  async replaceBookie(ensemble: readonly BookieId[], failed: BookieId, exclude: ReadonlySet<BookieId> = new Set()): Promise<BookieId> {
    const inUse = new Set(ensemble)
    const candidates = (await this.writableBookies()).filter((b) => b !== failed && !inUse.has(b) && !exclude.has(b))
    if (candidates.length === 0) throw new NotEnoughBookiesError(1, 0, {what: `replacing bookie ${failed}`})
    return candidates[this.random.nextInt(candidates.length)] as BookieId
  }

  /** Writable bookies, sorted. */
  async writableBookies(): Promise<BookieId[]> {
    if (this.closed) throw new LedgerError(LedgerErrorCode.CLIENT_CLOSED, 'bookie placement is closed')
    const cached = this.cached ?? this.load()
    return [...(await cached)]
  }

  close(): void {
    this.closed = true
    this.cached = undefined
  }

  private load(): Promise<BookieId[]> {
    const generation = this.generation
    const onChange = (): void => {
      if (this.generation !== generation) return
      this.generation++
      this.cached = undefined
    }
    const loading: Promise<BookieId[]> = this.read(onChange).catch((e: unknown) => {
      if (this.cached === loading) this.cached = undefined
      throw this.registryError(e)
    })
    // Cache only while no change was seen since the read began (a watch may fire before it resolves).
    if (!this.closed && this.generation === generation) this.cached = loading
    return loading
  }

  private async read(onChange: () => void): Promise<BookieId[]> {
    const [available, readOnly] = await Promise.all([
      this.zk.getChildren(this.availablePath, onChange),
      this.zk.getChildren(this.readOnlyPath, onChange).catch((e: unknown) => {
        if (e instanceof NoNodeError) return [] // an old layout without available/readonly
        throw e
      }),
    ])
    const ro = new Set(readOnly)
    return available.filter((b) => b !== READONLY && !ro.has(b)).sort()
  }

  private registryError(e: unknown): LedgerError {
    if (e instanceof NoNodeError) {
      return new LedgerError(LedgerErrorCode.METADATA_STORE, `${this.availablePath} does not exist: format the cluster first (dlog bkshell metaformat)`, {
        cause: e,
        retriable: false,
      })
    }
    this.log.warn('could not read the bookie registry', {error: errorMessage(e)})
    return new LedgerError(LedgerErrorCode.METADATA_STORE, `could not read the bookie registry ${this.availablePath}: ${errorMessage(e)}`, {
      cause: e,
      retriable: true,
    })
  }
}
