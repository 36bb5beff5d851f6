/**
 * Ledger recovery: how a new owner takes over a ledger whose writer may be dead (or alive and about to
 * be cut off), and closes it at the last entry any ack quorum may have confirmed.
 *
 *   1. Metadata OPEN -> IN_RECOVERY (compare-and-set; a conflict is re-read: if someone else closed the
 *      ledger meanwhile, that close is the answer).
 *   2. Fence the ledger on the bookies of its last ensemble until coverage (read-handle.ts
 *      coverageReached): every write set then has fewer than Qa unfenced bookies, so the old writer can
 *      never again get an add acknowledged. Each fence answers with that bookie's LAC; the highest one
 *      (and at least the entry before the last ensemble's first entry: an ensemble change starts at the
 *      first unacknowledged entry) is where the read-forward starts.
 *   3. Read forward from LAC+1 with fencing reads on each entry's whole write set. An entry found on any
 *      bookie (with a valid CRC32C) is kept; an entry missing on Qw-Qa+1 bookies of its write set can
 *      never have been acknowledged, and neither can any later one (acks complete in id order): the
 *      recovered ledger ends before it. Anything else (bookies down, corrupt copies) fails the recovery,
 *      retriable, and leaves the ledger IN_RECOVERY for the next attempt.
 *   4. Re-replicate what was found through a write handle in recovery mode (recovery adds pass the
 *      fence), so each recovered entry reaches a full write quorum, then close: CLOSED with the last
 *      entry id and length. A bookie failing meanwhile is replaced as for any writer, but that new
 *      ensemble stays in memory and reaches ZooKeeper only with the close (BookKeeper's
 *      ReadOnlyLedgerHandle does the same): were it stored at once and this recovery then failed, the
 *      next one would look for entries the dead writer acknowledged on the new ensemble, where they
 *      may never have arrived, and could end the ledger before one of them.
 *
 * Two recoveries racing agree: whichever closes first wins the compare-and-set; the other re-reads and
 * returns the closed metadata (a loser that found fewer or more entries only re-wrote entries that no
 * quorum had acknowledged). Readers never read past the winner's last entry id, even before they see
 * the close: the recovery write handle piggybacks the LAC recovery started from on every entry it
 * re-replicates and sends no explicit LAC (write-handle.ts), so the LAC bookies report stays at what
 * the dead writer had acknowledged, which every recovery's end covers; the end itself reaches readers
 * only through the closed metadata. BookKeeper's recovery adds carry their advancing LAC: a tailing
 * reader there can read entries a losing recovery put past the winner's end.
 */
import {errorMessage} from '../common/errors.js'
import {BookieError, BookieStatus} from '../protocol/bookie/codes.js'
import type {DecodedEntry} from '../protocol/bookie/entry.js'
import {LedgerError, LedgerErrorCode} from './errors.js'
import {askUntilCovered, ensembleFor, isMissingAnswer, readFromReplicas, verifiedEntry, withTimeout, writeSetOf} from './read-handle.js'
import type {EnsembleSegment, LedgerContext, LedgerMetadata, LedgerMetadataStore, Versioned} from './types.js'
import {LedgerWriteHandle} from './write-handle.js'
import {updateLedgerMetadata} from './zk-metadata-store.js'

/** Entries whose recovery reads are in flight at once (BookKeeper's parallel recovery read batch is 5). */
export const RECOVERY_READ_WINDOW = 8
/** Recovery adds not yet acknowledged before the read-forward pauses for them. */
export const RECOVERY_ADDS_IN_FLIGHT_MAX = 256

export async function recoverLedger(ctx: LedgerContext, metadata: Versioned<LedgerMetadata>, password: Buffer): Promise<Versioned<LedgerMetadata>> {
  const ledgerId = metadata.value.ledgerId
  if (metadata.value.state === 'CLOSED') return metadata
  if (!password.equals(metadata.value.password)) {
    throw new LedgerError(LedgerErrorCode.UNAUTHORIZED, `Cannot recover ledger ${ledgerId}: wrong password`, {ledgerId})
  }
  const inRecovery = await markInRecovery(ctx, metadata)
  if (inRecovery.value.state === 'CLOSED') return inRecovery
  const log = ctx.logger.child('recovery')
  log.info('recovering ledger', {ledgerId, version: inRecovery.version})
  try {
    return await runRecovery(ctx, inRecovery)
  } catch (e) {
    // Someone else may have finished first (our close or ensemble change then lost its compare-and-set).
    const now = await ctx.metadataStore.readLedgerMetadata(ledgerId).catch(() => undefined)
    if (now?.value.state === 'CLOSED') {
      log.info('ledger closed by another recovery meanwhile', {ledgerId, lastEntryId: now.value.lastEntryId, error: errorMessage(e)})
      return now
    }
    const passThrough: number[] = [LedgerErrorCode.UNAUTHORIZED, LedgerErrorCode.RECOVERY_FAILED, LedgerErrorCode.NO_SUCH_LEDGER]
    if (e instanceof LedgerError && passThrough.includes(e.code)) throw e
    throw new LedgerError(LedgerErrorCode.RECOVERY_FAILED, `Recovery of ledger ${ledgerId} failed: ${errorMessage(e)}`, {ledgerId, cause: e})
  }
}

/** OPEN -> IN_RECOVERY by compare-and-set; returns the stored metadata (possibly CLOSED by someone else). */
function markInRecovery(ctx: LedgerContext, start: Versioned<LedgerMetadata>): Promise<Versioned<LedgerMetadata>> {
  return updateLedgerMetadata(
    ctx.metadataStore,
    start,
    (m) => (m.state === 'OPEN' ? {...m, state: 'IN_RECOVERY'} : undefined),
    ctx.config.metadataRetriesMax,
  )
}

async function runRecovery(ctx: LedgerContext, metadata: Versioned<LedgerMetadata>): Promise<Versioned<LedgerMetadata>> {
  const m = metadata.value
  const ledgerId = m.ledgerId
  const log = ctx.logger.child('recovery')
  const fencedLac = await fenceLastEnsemble(ctx, m)
  const lastSegment = m.ensembles[m.ensembles.length - 1]
  const startLac = Math.max(fencedLac, (lastSegment?.firstEntryId ?? 0) - 1)

  // The length up to the LAC comes from the LAC entry's header (it was acknowledged, so a quorum has it).
  let length = 0
  if (startLac >= 0) {
    const replicas = writeSetOf(ensembleFor(m, startLac), m.writeQuorumSize, startLac)
    const lacEntry = await readFromReplicas(ctx, ledgerId, startLac, replicas, (b) => ctx.transport.readEntry(b, ledgerId, startLac))
    length = lacEntry.length
  }

  const handleCtx: LedgerContext = {...ctx, metadataStore: new DeferredEnsembleStore(ctx.metadataStore, m)}
  const handle = new LedgerWriteHandle(handleCtx, metadata, {recovery: {lastAddConfirmed: startLac, length}})
  const adds: Promise<number>[] = []
  let recovered = 0
  let nextRead = startLac + 1
  const window: Promise<DecodedEntry | undefined>[] = []
  const refill = (): void => {
    while (window.length < RECOVERY_READ_WINDOW) window.push(handled(recoveryRead(ctx, m, nextRead++)))
  }
  let failure: unknown
  try {
    for (let expected = startLac + 1; ; expected++) {
      refill()
      const entry = await (window.shift() as Promise<DecodedEntry | undefined>)
      if (!entry) break
      if (entry.length !== length + entry.payload.length) {
        log.warn('recovered entry length does not follow its predecessor', {ledgerId, entryId: expected, length: entry.length, expected: length + entry.payload.length})
      }
      length += entry.payload.length
      adds.push(handled(handle.append(entry.payload)))
      recovered++
      while (adds.length >= Math.min(RECOVERY_ADDS_IN_FLIGHT_MAX, ctx.config.outstandingAddsMax)) await adds.shift()
    }
    await Promise.all(adds)
  } catch (e) {
    failure = e
  }
  if (failure !== undefined) {
    // Never close after a failed read or add: closing short could drop an acknowledged entry.
    throw failure
  }
  await handle.close()
  log.info('ledger recovered', {ledgerId, lac: startLac, recovered, lastEntryId: startLac + recovered})
  const closed = handle.versionedMetadata
  if (closed.value.state !== 'CLOSED') {
    throw new LedgerError(LedgerErrorCode.RECOVERY_FAILED, `Ledger ${ledgerId} is ${closed.value.state} after recovery closed it`, {ledgerId})
  }
  return closed
}

/** Marks a promise as handled now (it is awaited later, maybe after it rejects, maybe never). */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

/**
 * Sends FENCE to every bookie of the last ensemble; resolves with the highest LAC once the answers
 * cover every write set, rejects when they cannot (too many bookies down) or the key is refused.
 */
async function fenceLastEnsemble(ctx: LedgerContext, m: LedgerMetadata): Promise<number> {
  const ledgerId = m.ledgerId
  const lacs = await askUntilCovered(
    ctx,
    m,
    (bookie) => ctx.transport.fence(bookie, ledgerId, m.password),
    'FENCE',
    (bookie, e) =>
      e instanceof BookieError && e.code === BookieStatus.UNAUTHORIZED
        ? new LedgerError(LedgerErrorCode.UNAUTHORIZED, `Bookie ${bookie} refused to fence ledger ${ledgerId}: wrong master key`, {ledgerId, cause: e})
        : undefined,
    (errors) =>
      new LedgerError(
        LedgerErrorCode.RECOVERY_FAILED,
        `Cannot fence ledger ${ledgerId}: too few bookies of its ensemble answered to rule out the old writer (${errors.join('; ')})`,
        {ledgerId},
      ),
  )
  return Math.max(-1, ...lacs)
}

/**
 * A fencing read of one entry on its whole write set: the entry when any bookie has a valid copy,
 * undefined when Qw-Qa+1 bookies say they do not have it, else a RECOVERY_FAILED error.
 */
function recoveryRead(ctx: LedgerContext, m: LedgerMetadata, entryId: number): Promise<DecodedEntry | undefined> {
  const ledgerId = m.ledgerId
  const replicas = writeSetOf(ensembleFor(m, entryId), m.writeQuorumSize, entryId)
  const missingEnough = m.writeQuorumSize - m.ackQuorumSize + 1
  return new Promise((resolve, reject) => {
    let pending = replicas.length
    let missing = 0
    let done = false
    const problems: string[] = []
    const settle = (): void => {
      if (done) return
      if (missing >= missingEnough) {
        done = true
        resolve(undefined)
      } else if (pending === 0) {
        done = true
        reject(
          new LedgerError(
            LedgerErrorCode.RECOVERY_FAILED,
            `Cannot tell whether entry ${ledgerId}/${entryId} was acknowledged: ${missing} of ${replicas.length} bookies lack it, ${missingEnough} needed (${problems.join('; ')})`,
            {ledgerId},
          ),
        )
      }
    }
    for (const bookie of replicas) {
      withTimeout(ctx, ctx.transport.readEntry(bookie, ledgerId, entryId, {fence: true, masterKey: m.password}), `recovery read to bookie ${bookie}`).then(
        (buf) => {
          pending--
          if (done) return
          const entry = verifiedEntry(buf, ledgerId, entryId)
          if (entry) {
            done = true
            resolve(entry)
            return
          }
          ctx.logger.warn('corrupt entry replica during recovery', {ledgerId, entryId, bookie})
          problems.push(`${bookie}: checksum or id mismatch`)
          settle()
        },
        (e: unknown) => {
          pending--
          if (isMissingAnswer(e)) missing++
          else problems.push(`${bookie}: ${errorMessage(e)}`)
          settle()
        },
      )
    }
    settle()
  })
}

/**
 * The metadata store the recovery write handle sees. Its ensemble changes (writes that keep the ledger
 * IN_RECOVERY) are kept here instead of being stored; reads of the ledger show them on top of what
 * ZooKeeper holds, as long as ZooKeeper still holds the ensembles recovery started from; the close
 * (a CLOSED write, carrying those ensembles) is the one compare-and-set that reaches the real store.
 */
class DeferredEnsembleStore implements LedgerMetadataStore {
  private readonly real: LedgerMetadataStore
  private readonly start: LedgerMetadata
  private ensembles: EnsembleSegment[] | undefined

  constructor(real: LedgerMetadataStore, start: LedgerMetadata) {
    this.real = real
    this.start = start
  }

  async readLedgerMetadata(ledgerId: number): Promise<Versioned<LedgerMetadata>> {
    const stored = await this.real.readLedgerMetadata(ledgerId)
    const ensembles = this.ensembles
    if (ledgerId !== this.start.ledgerId || !ensembles || stored.value.state !== 'IN_RECOVERY') return stored
    if (!sameSegments(stored.value.ensembles, this.start.ensembles)) return stored
    return {value: {...stored.value, ensembles: copySegments(ensembles)}, version: stored.version}
  }

  async writeLedgerMetadata(metadata: LedgerMetadata, expectedVersion: number): Promise<Versioned<LedgerMetadata>> {
    if (metadata.ledgerId === this.start.ledgerId && metadata.state === 'IN_RECOVERY') {
      this.ensembles = copySegments(metadata.ensembles)
      return {value: {...metadata, ensembles: copySegments(metadata.ensembles)}, version: expectedVersion}
    }
    return this.real.writeLedgerMetadata(metadata, expectedVersion)
  }

  createLedgerMetadata(build: (ledgerId: number) => LedgerMetadata): Promise<Versioned<LedgerMetadata>> {
    return this.real.createLedgerMetadata(build)
  }

  removeLedgerMetadata(ledgerId: number, expectedVersion: number): Promise<void> {
    return this.real.removeLedgerMetadata(ledgerId, expectedVersion)
  }

  listLedgers(): Promise<number[]> {
    return this.real.listLedgers()
  }

  watchLedgerMetadata(ledgerId: number, listener: (metadata: Versioned<LedgerMetadata> | undefined) => void): () => void {
    return this.real.watchLedgerMetadata(ledgerId, listener)
  }
}

function copySegments(segments: readonly EnsembleSegment[]): EnsembleSegment[] {
  return segments.map((s) => ({firstEntryId: s.firstEntryId, bookies: [...s.bookies]}))
}

function sameSegments(a: readonly EnsembleSegment[], b: readonly EnsembleSegment[]): boolean {
  return (
    a.length === b.length &&
    a.every((s, i) => {
      const t = b[i]
      return t !== undefined && t.firstEntryId === s.firstEntryId && t.bookies.length === s.bookies.length && t.bookies.every((x, j) => x === s.bookies[j])
    })
  )
}
