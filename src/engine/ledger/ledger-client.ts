/**
 * The ledger client's facade (BookKeeper's BookKeeper class): creates, opens, recovers, lists and
 * deletes ledgers, and hands out the write and read handles that do the work (write-handle.ts,
 * read-handle.ts, recovery.ts). The log layer and `dlog bkshell` use it through LedgerClientApi.
 *
 * `LedgerClient.connect()` wires the production parts: a ZooKeeper client (its own, closed with the
 * ledger client, unless one is passed in), ZooKeeper metadata (zk-metadata-store.ts), placement from
 * the bookie registry (placement.ts) and TCP to the bookies (tcp-transport.ts). The constructor takes a
 * ready LedgerContext instead, so the simulation tests drive the same facade over simulated bookies, an
 * in-memory store and a manual clock.
 *
 * Deleting a ledger removes only its metadata: each bookie's garbage collector finds the ledger gone
 * from ZooKeeper and reclaims its entries, as in BookKeeper.
 */
import {type Clock, systemClock} from '../common/clock.js'
import {InvalidInputError} from '../common/errors.js'
import {type Logger, silentLogger} from '../common/logger.js'
import {cryptoRandom, type Random} from '../common/random.js'
import {MASTER_KEY_BYTES_MAX} from '../protocol/bookie/wire.js'
import {mapValues} from '../protocol/ledger/metadata-format.js'
import {ZKClient} from '../zookeeper/client/zk-client.js'
import {LedgerError, LedgerErrorCode} from './errors.js'
import {ZkBookiePlacement} from './placement.js'
import {LedgerReadHandle} from './read-handle.js'
import {recoverLedger} from './recovery.js'
import {TcpBookieTransport} from './tcp-transport.js'
import {
  type BookiePlacement,
  type BookieTransport,
  type CreateLedgerOptions,
  LEDGER_CLIENT_DEFAULTS,
  type LedgerClientApi,
  type LedgerClientConfig,
  type LedgerContext,
  type LedgerMetadata,
  type LedgerMetadataStore,
  type ReadHandle,
  type Versioned,
  type WriteHandle,
} from './types.js'
import {LedgerWriteHandle} from './write-handle.js'
import {ZkLedgerMetadataStore} from './zk-metadata-store.js'

/** DistributedLog's defaults (E3 Qw3 Qa2); smaller ensembles shrink the quorums to fit. */
export const DEFAULT_ENSEMBLE_SIZE = 3
export const DEFAULT_WRITE_QUORUM_SIZE = 3
export const DEFAULT_ACK_QUORUM_SIZE = 2
/** Bounds on what one ledger may ask for: far above any real cluster, low enough to stop a typo. */
export const ENSEMBLE_SIZE_MAX = 64
/**
 * The password is the master key bookies bind the ledger to (and fencing presents), so it is 1 to
 * MASTER_KEY_BYTES_MAX bytes; a ledger created without one gets this fixed default.
 */
export const DEFAULT_LEDGER_PASSWORD: Readonly<Buffer> = Buffer.from('dlog')
export const CUSTOM_METADATA_BYTES_MAX = 64 * 1024

export interface LedgerClientConnectOptions {
  /** ZooKeeper connect string; ignored when `zk` is given. */
  zkServers?: string
  /** A connected ZooKeeper client to use (the ledger client then leaves it open on close). */
  zk?: ZKClient
  zkSessionTimeoutMs?: number
  ledgersRootPath: string
  config?: Partial<LedgerClientConfig>
  transport?: BookieTransport
  placement?: BookiePlacement
  metadataStore?: LedgerMetadataStore
  clock?: Clock
  random?: Random
  logger?: Logger
}

/** What a LedgerClient closes with itself: only what it created. */
export interface LedgerClientOwned {
  zk?: ZKClient
  transport?: BookieTransport
  placement?: BookiePlacement
}

export class LedgerClient implements LedgerClientApi {
  readonly ctx: LedgerContext
  private readonly owned: LedgerClientOwned
  private closed = false

  /** Over a ready context (simulations, tests); close() then closes nothing of it. */
  constructor(ctx: LedgerContext, owned: LedgerClientOwned = {}) {
    this.ctx = ctx
    this.owned = owned
  }

  static async connect(opts: LedgerClientConnectOptions): Promise<LedgerClient> {
    const config = resolveLedgerClientConfig(opts.config)
    const logger = opts.logger ?? silentLogger
    const clock = opts.clock ?? systemClock
    const random = opts.random ?? cryptoRandom
    const owned: LedgerClientOwned = {}
    let zk = opts.zk
    const needsZk = opts.metadataStore === undefined || opts.placement === undefined
    if (zk === undefined && needsZk) {
      if (opts.zkServers === undefined) throw new InvalidInputError('LedgerClient.connect needs zkServers or a ZooKeeper client')
      zk = owned.zk = await ZKClient.connect({connectString: opts.zkServers, sessionTimeoutMs: opts.zkSessionTimeoutMs, logger, clock})
    }
    const ledgersRootPath = opts.ledgersRootPath
    try {
      const metadataStore = opts.metadataStore ?? new ZkLedgerMetadataStore({zk: zk as ZKClient, ledgersRootPath, clock, logger})
      const placement = opts.placement ?? (owned.placement = new ZkBookiePlacement({zk: zk as ZKClient, ledgersRootPath, random, logger}))
      // The transport's own bound sits at the longer of the add and read timeouts the handles apply.
      const requestTimeoutMs = Math.max(config.addEntryTimeoutMs, config.readEntryTimeoutMs)
      const transport = opts.transport ?? (owned.transport = new TcpBookieTransport({requestTimeoutMs, logger}))
      return new LedgerClient({transport, metadataStore, placement, clock, random, logger: logger.child('ledger-client'), config}, owned)
    } catch (e) {
      await owned.zk?.close()
      throw e
    }
  }

  async createLedger(opts: CreateLedgerOptions = {}): Promise<WriteHandle> {
    this.checkOpen()
    const ensembleSize = opts.ensembleSize ?? DEFAULT_ENSEMBLE_SIZE
    const writeQuorumSize = opts.writeQuorumSize ?? Math.min(DEFAULT_WRITE_QUORUM_SIZE, ensembleSize)
    const ackQuorumSize = opts.ackQuorumSize ?? Math.min(DEFAULT_ACK_QUORUM_SIZE, writeQuorumSize)
    checkQuorums(ensembleSize, writeQuorumSize, ackQuorumSize)
    const password = Buffer.from(opts.password ?? DEFAULT_LEDGER_PASSWORD)
    if (password.length === 0 || password.length > MASTER_KEY_BYTES_MAX) {
      throw incorrect(`password must be 1 to ${MASTER_KEY_BYTES_MAX} bytes (bookies use it as the ledger's master key), got ${password.length}`)
    }
    const customMetadata = copyCustomMetadata(opts.customMetadata ?? {})
    const bookies = await this.ctx.placement.newEnsemble(ensembleSize)
    const created = await this.ctx.metadataStore.createLedgerMetadata(
      (ledgerId): LedgerMetadata => ({
        ledgerId,
        ensembleSize,
        writeQuorumSize,
        ackQuorumSize,
        state: 'OPEN',
        lastEntryId: -1,
        length: 0,
        digestType: 'CRC32C',
        password,
        ensembles: [{firstEntryId: 0, bookies}],
        ctimeMs: this.ctx.clock.nowMs(),
        customMetadata,
      }),
    )
    this.ctx.logger.debug('created ledger', {ledgerId: created.value.ledgerId, ensemble: bookies, writeQuorumSize, ackQuorumSize})
    return new LedgerWriteHandle(this.ctx, created)
  }

  async openLedgerNoRecovery(ledgerId: number): Promise<ReadHandle> {
    this.checkOpen()
    return new LedgerReadHandle(this.ctx, await this.ctx.metadataStore.readLedgerMetadata(ledgerId))
  }

  async openLedger(ledgerId: number, opts: {password?: Buffer} = {}): Promise<ReadHandle> {
    this.checkOpen()
    const metadata = await this.ctx.metadataStore.readLedgerMetadata(ledgerId)
    const password = opts.password ?? metadata.value.password
    if (!password.equals(metadata.value.password)) {
      throw new LedgerError(LedgerErrorCode.UNAUTHORIZED, `wrong password for ledger ${ledgerId}`, {ledgerId})
    }
    // A closed ledger has nothing to recover (and no writer left to fence).
    const recovered = metadata.value.state === 'CLOSED' ? metadata : await recoverLedger(this.ctx, metadata, password)
    return new LedgerReadHandle(this.ctx, recovered)
  }

  async deleteLedger(ledgerId: number): Promise<void> {
    this.checkOpen()
    await this.ctx.metadataStore.removeLedgerMetadata(ledgerId, -1)
    this.ctx.logger.debug('deleted ledger', {ledgerId})
  }

  async listLedgers(): Promise<number[]> {
    this.checkOpen()
    return this.ctx.metadataStore.listLedgers()
  }

  async getLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>> {
    this.checkOpen()
    return this.ctx.metadataStore.readLedgerMetadata(ledgerId)
  }

  /** Closes what this client created (transport, placement, ZooKeeper client); handles fail afterwards. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.owned.placement?.close()
    await this.owned.transport?.close()
    await this.owned.zk?.close()
  }

  private checkOpen(): void {
    if (this.closed) throw new LedgerError(LedgerErrorCode.CLIENT_CLOSED, 'the ledger client is closed')
  }
}

/** Defaults filled in and every value checked: InvalidInputError names the bad one. */
export function resolveLedgerClientConfig(partial: Partial<LedgerClientConfig> = {}): LedgerClientConfig {
  const config = {...LEDGER_CLIENT_DEFAULTS}
  for (const [key, value] of Object.entries(partial) as [keyof LedgerClientConfig, unknown][]) {
    if (value === undefined) continue
    if (!Object.hasOwn(LEDGER_CLIENT_DEFAULTS, key)) throw new InvalidInputError(`unknown ledger client setting ${key}`)
    const min = key === 'outstandingAddsMax' || key === 'metadataRetriesMax' || key === 'addEntryTimeoutMs' || key === 'readEntryTimeoutMs' ? 1 : 0
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidInputError(`ledger client setting ${key} must be an integer >= ${min}, got ${String(value)}`)
    }
    config[key] = value
  }
  return config
}

function incorrect(message: string): LedgerError {
  return new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, message)
}

function checkQuorums(ensembleSize: number, writeQuorumSize: number, ackQuorumSize: number): void {
  for (const [name, v] of [['ensemble size', ensembleSize], ['write quorum', writeQuorumSize], ['ack quorum', ackQuorumSize]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > ENSEMBLE_SIZE_MAX) throw incorrect(`${name} must be an integer in [1, ${ENSEMBLE_SIZE_MAX}], got ${v}`)
  }
  if (!(ensembleSize >= writeQuorumSize && writeQuorumSize >= ackQuorumSize)) {
    throw incorrect(
      `need ensemble size >= write quorum >= ack quorum >= 1, got ensemble ${ensembleSize}, write quorum ${writeQuorumSize}, ack quorum ${ackQuorumSize}`,
    )
  }
}

function copyCustomMetadata(custom: Record<string, Buffer>): Record<string, Buffer> {
  let bytes = 0
  const out = mapValues(custom, (v, k) => {
    if (!Buffer.isBuffer(v)) throw incorrect(`custom metadata ${JSON.stringify(k)} must be a Buffer`)
    bytes += Buffer.byteLength(k) + v.length
    return Buffer.from(v)
  })
  if (bytes > CUSTOM_METADATA_BYTES_MAX) throw incorrect(`custom metadata is ${bytes} bytes, at most ${CUSTOM_METADATA_BYTES_MAX}`)
  return out
}
