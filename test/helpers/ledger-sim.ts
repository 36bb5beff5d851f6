/**
 * Fixtures for the seeded simulation tests of the ledger read path and recovery: a SimBookieCluster
 * (test/helpers/sim-bookies.ts) plus a MemoryLedgerMetadataStore wired into a LedgerContext, ledgers
 * laid out by hand (metadata written, entries put on exactly the bookies a scenario wants), and seeds.
 *
 * Seeds: `simSeeds(n)` gives n seeds starting at $SEED (then only that one) or at a random base, and
 * prints the base so a failing run is replayed with `SEED=<n> node --import tsx --test <file>`.
 */
import {silentLogger} from '../../src/engine/common/logger.js'
import {encodeEntry} from '../../src/engine/protocol/bookie/entry.js'
import {
  type BookieId,
  LEDGER_CLIENT_DEFAULTS,
  type LedgerClientConfig,
  type LedgerContext,
  type LedgerMetadata,
  type Versioned,
} from '../../src/engine/ledger/types.js'
import {MemoryLedgerMetadataStore, newLedgerMetadata} from './memory-ledger-metadata.js'
import {SimBookieCluster, type SimBookieClusterOptions} from './sim-bookies.js'

export interface LedgerSim {
  cluster: SimBookieCluster
  store: MemoryLedgerMetadataStore
  ctx: LedgerContext
}

export function ledgerSim(opts: SimBookieClusterOptions & {config?: Partial<LedgerClientConfig>} = {}): LedgerSim {
  const cluster = new SimBookieCluster(opts)
  const store = new MemoryLedgerMetadataStore()
  const ctx: LedgerContext = {
    transport: cluster.transport,
    metadataStore: store,
    placement: cluster.placement(),
    clock: cluster.clock,
    random: cluster.random,
    logger: silentLogger,
    config: {...LEDGER_CLIENT_DEFAULTS, readEntryTimeoutMs: 1000, speculativeReadTimeoutMs: 200, addEntryTimeoutMs: 1000, ...opts.config},
  }
  return {cluster, store, ctx}
}

/** The seeds a test runs: $SEED alone when set, else `count` seeds from a random base (printed). */
export function simSeeds(count: number, name: string): number[] {
  const env = process.env.SEED
  if (env !== undefined && env !== '') return [Number(env)]
  const base = Math.floor(Math.random() * 1_000_000)
  console.log(`# ${name}: seeds ${base}..${base + count - 1} (replay one with SEED=<n>)`)
  return Array.from({length: count}, (_, i) => base + i)
}

export const SIM_PASSWORD = Buffer.from('sim-password')

/** Stores OPEN metadata for a new ledger on `bookies` (E = bookies.length). */
export async function createSimLedger(
  store: MemoryLedgerMetadataStore,
  bookies: BookieId[],
  quorum: {writeQuorumSize?: number; ackQuorumSize?: number} = {},
): Promise<Versioned<LedgerMetadata>> {
  return store.createLedgerMetadata((ledgerId) => newLedgerMetadata(ledgerId, bookies, {...quorum, password: SIM_PASSWORD}))
}

export function payloadOf(ledgerId: number, entryId: number): Buffer {
  return Buffer.from(`ledger ${ledgerId} entry ${entryId} ` + 'x'.repeat(entryId % 7))
}

/**
 * Puts entries 0..count-1 (payloadOf) on bookies as a writer would, each with lac = entryId - 1 and
 * the running length; `where(entryId, writeSet)` picks which bookies of the write set get it (default
 * all of them). Returns the encoded entries.
 */
export function putEntries(
  sim: LedgerSim,
  metadata: LedgerMetadata,
  count: number,
  where: (entryId: number, writeSet: BookieId[]) => BookieId[] = (_, ws) => ws,
  opts: {lacOf?: (entryId: number) => number} = {},
): Buffer[] {
  const out: Buffer[] = []
  let length = 0
  const ensemble = metadata.ensembles[0]?.bookies ?? []
  for (let e = 0; e < count; e++) {
    const payload = payloadOf(metadata.ledgerId, e)
    length += payload.length
    const entry = encodeEntry({ledgerId: metadata.ledgerId, entryId: e, lac: opts.lacOf ? opts.lacOf(e) : e - 1, length, payload})
    const writeSet: BookieId[] = []
    for (let i = 0; i < metadata.writeQuorumSize; i++) writeSet.push(ensemble[(e + i) % ensemble.length] as BookieId)
    for (const b of where(e, writeSet)) sim.cluster.put(b, entry, metadata.password)
    out.push(entry)
  }
  return out
}

/** Total payload bytes of entries 0..lastEntryId as putEntries writes them. */
/** Closes a laid-out ledger at `lastEntryId` (length of payloadOf entries 0..lastEntryId), as another client would. */
export function closeSimLedger(sim: LedgerSim, ledgerId: number, lastEntryId: number): Versioned<LedgerMetadata> {
  return sim.store.externalUpdate(ledgerId, (m) => ({...m, state: 'CLOSED', lastEntryId, length: lengthThrough(ledgerId, lastEntryId)}))
}

export function lengthThrough(ledgerId: number, lastEntryId: number): number {
  let n = 0
  for (let e = 0; e <= lastEntryId; e++) n += payloadOf(ledgerId, e).length
  return n
}
