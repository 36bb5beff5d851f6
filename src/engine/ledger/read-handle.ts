/**
 * Reading a ledger (ReadHandle): entries up to the LAC from the bookies of each entry's write set,
 * the LAC from the bookies, and long-poll tailing. Used by readers (open without recovery) and, once
 * recovery has closed the ledger, by the new owner.
 *
 * - An entry lives on its write set: Qw bookies of the ensemble that covers its id, picked round-robin
 *   from position (entryId mod E). A read asks the first replica; on an error it asks the next at once,
 *   and when a replica has not answered after `speculativeReadTimeoutMs` it also asks the next (the
 *   first valid answer wins). A replica silent for `readEntryTimeoutMs` counts as failed.
 * - Every entry is checked before it is returned: CRC32C over header and payload, and the ledger and
 *   entry ids in its header. A replica serving a bad entry counts as a failed replica; if every replica
 *   is bad the read fails with DIGEST_MISMATCH, so corruption never reaches a caller silently.
 * - Nothing beyond the LAC is ever returned (a reader must not see an entry the writer may still lose).
 *   The LAC of a closed ledger is its last entry id; of an open one, the highest LAC heard from bookies.
 * - readLastAddConfirmed follows BookKeeper's coverage rule (see coverageReached): it answers once
 *   enough bookies of the last ensemble have answered that no ack quorum can be entirely unheard.
 * - The handle watches the ledger's metadata, so it learns ensemble changes and the close; a long poll
 *   waiting for an entry past the last one ends when the ledger closes. Once closed, the metadata's last
 *   entry id is the end, whatever LAC a bookie reports or entry it serves: nothing past it is returned,
 *   even by a read or a poll that began before the close was learned (a recovery that lost the race to
 *   close may have put entries, and a LAC, beyond it on the bookies; see ledger/recovery.ts).
 */
import type {TimerHandle} from '../common/clock.js'
import {errorMessage, TimeoutError} from '../common/errors.js'
import {BookieError, BookieStatus} from '../protocol/bookie/codes.js'
import {decodeEntry, entryChecksumOk, type DecodedEntry} from '../protocol/bookie/entry.js'
import {LONG_POLL_TIMEOUT_MS_MAX} from '../protocol/bookie/wire.js'
import {LedgerError, LedgerErrorCode} from './errors.js'
import type {BookieId, LedgerContext, LedgerEntry, LedgerMetadata, ReadHandle, Versioned} from './types.js'

/** Entries one readEntries call reads at once (a bound on requests in flight per call). */
export const READ_CONCURRENCY_MAX = 64

// ---------------------------------------------------------------------------------------------------
// Placement of entries, shared with recovery.

/** The ensemble that stores `entryId`: the last segment starting at or before it. */
export function ensembleFor(metadata: LedgerMetadata, entryId: number): readonly BookieId[] {
  let bookies = metadata.ensembles[0]?.bookies ?? []
  for (const segment of metadata.ensembles) {
    if (segment.firstEntryId > entryId) break
    bookies = segment.bookies
  }
  return bookies
}

/** The Qw bookies holding `entryId` in `ensemble`, in the order readers try them. */
export function writeSetOf(ensemble: readonly BookieId[], writeQuorumSize: number, entryId: number): BookieId[] {
  const out: BookieId[] = []
  const size = ensemble.length
  for (let i = 0; i < writeQuorumSize && i < size; i++) out.push(ensemble[(entryId + i) % size] as BookieId)
  return out
}

/**
 * BookKeeper's quorum coverage: true once, for every write set of the ensemble, fewer than Qa of its
 * bookies are unheard. Then no write set can still have an ack quorum of bookies that did not answer:
 * after fencing, the old writer cannot get any entry acknowledged; after reading LACs, the highest
 * acknowledged entry's LAC has been seen by at least one answering bookie of each write set.
 */
export function coverageReached(writeQuorumSize: number, ackQuorumSize: number, heard: readonly boolean[]): boolean {
  const size = heard.length
  for (let first = 0; first < size; first++) {
    let unheard = 0
    for (let j = 0; j < writeQuorumSize && j < size; j++) if (!heard[(first + j) % size]) unheard++
    if (unheard >= ackQuorumSize) return false
  }
  return true
}

/** Decodes an entry as served by a bookie; undefined when its checksum or ids are wrong. */
export function verifiedEntry(buf: Buffer, ledgerId: number, entryId: number): DecodedEntry | undefined {
  if (!entryChecksumOk(buf)) return undefined
  const e = decodeEntry(buf)
  return e.ledgerId === ledgerId && e.entryId === entryId ? e : undefined
}

/** True for a bookie answer meaning "I do not have it" (as opposed to "I could not answer"). */
export function isMissingAnswer(e: unknown): boolean {
  return e instanceof BookieError && (e.code === BookieStatus.NO_ENTRY || e.code === BookieStatus.NO_LEDGER)
}

export interface ReplicaFailure {
  bookie: BookieId
  kind: 'missing' | 'corrupt' | 'error'
  error: unknown
}

/** The error for an entry no replica could serve: corrupt wins over missing, missing over other. */
export function entryReadError(ledgerId: number, entryId: number, failures: readonly ReplicaFailure[]): LedgerError {
  const detail = failures.map((f) => `${f.bookie}: ${f.kind === 'corrupt' ? 'checksum or id mismatch' : errorMessage(f.error)}`).join('; ')
  const cause = failures.find((f) => f.kind === 'error')?.error
  if (failures.some((f) => f.kind === 'corrupt')) {
    return new LedgerError(LedgerErrorCode.DIGEST_MISMATCH, `Entry ${ledgerId}/${entryId} failed its CRC32C or id check on every replica that answered (${detail})`, {ledgerId})
  }
  if (failures.length > 0 && failures.every((f) => f.kind === 'missing')) {
    return new LedgerError(LedgerErrorCode.NO_SUCH_ENTRY, `Entry ${ledgerId}/${entryId} is on none of its bookies (${detail})`, {ledgerId})
  }
  return new LedgerError(LedgerErrorCode.READ_FAILED, `Could not read entry ${ledgerId}/${entryId} from any replica (${detail})`, {ledgerId, cause})
}

/**
 * Reads one entry from its replicas, in order, with failover on error and speculation on silence;
 * resolves with the first valid entry or rejects with entryReadError. Timers are the context's clock.
 */
export function readFromReplicas(
  ctx: LedgerContext,
  ledgerId: number,
  entryId: number,
  replicas: readonly BookieId[],
  read: (bookie: BookieId) => Promise<Buffer>,
): Promise<DecodedEntry> {
  const {clock, config} = ctx
  return new Promise((resolve, reject) => {
    const failures: ReplicaFailure[] = []
    const timers = new Set<TimerHandle>()
    let next = 0
    let outstanding = 0
    let done = false
    let speculative: TimerHandle | undefined

    const finish = (): void => {
      done = true
      for (const t of timers) clock.clearTimeout(t)
      timers.clear()
      if (speculative) clock.clearTimeout(speculative)
    }
    const failed = (f: ReplicaFailure): void => {
      failures.push(f)
      outstanding--
      if (next < replicas.length) send()
      else if (outstanding === 0) {
        finish()
        reject(entryReadError(ledgerId, entryId, failures))
      }
    }
    const armSpeculation = (): void => {
      if (speculative) clock.clearTimeout(speculative)
      speculative = undefined
      if (config.speculativeReadTimeoutMs <= 0 || next >= replicas.length) return
      speculative = clock.setTimeout(() => {
        speculative = undefined
        if (!done && next < replicas.length) send()
      }, config.speculativeReadTimeoutMs)
    }
    const send = (): void => {
      const bookie = replicas[next++] as BookieId
      outstanding++
      let settled = false
      const timer = clock.setTimeout(() => {
        timers.delete(timer)
        if (done || settled) return
        settled = true
        failed({bookie, kind: 'error', error: new TimeoutError(`bookie ${bookie} did not answer within ${config.readEntryTimeoutMs} ms`)})
      }, config.readEntryTimeoutMs)
      timers.add(timer)
      armSpeculation()
      read(bookie).then(
        (buf) => {
          if (done) return
          const entry = verifiedEntry(buf, ledgerId, entryId)
          if (entry) {
            // A valid answer wins even after its replica was given up on for silence.
            finish()
            resolve(entry)
            return
          }
          if (settled) return
          settled = true
          clock.clearTimeout(timer)
          timers.delete(timer)
          ctx.logger.warn('corrupt entry replica', {ledgerId, entryId, bookie})
          failed({bookie, kind: 'corrupt', error: undefined})
        },
        (e: unknown) => {
          if (done || settled) return
          settled = true
          clock.clearTimeout(timer)
          timers.delete(timer)
          failed({bookie, kind: isMissingAnswer(e) ? 'missing' : 'error', error: e})
        },
      )
    }
    if (replicas.length === 0) {
      reject(new LedgerError(LedgerErrorCode.READ_FAILED, `Entry ${ledgerId}/${entryId} has no bookies in the ledger's metadata`, {ledgerId}))
      return
    }
    send()
  })
}

/**
 * Sends `call` to every bookie of the last ensemble and resolves with the answers once they cover every
 * write set (coverageReached). `onError` turns an error into an answer (a value), an abort (an Error),
 * or silence (undefined); `notCovered` builds the error when every bookie is done without coverage.
 * Each call is bounded by the read timeout.
 */
export function askUntilCovered<T>(
  ctx: LedgerContext,
  m: LedgerMetadata,
  call: (bookie: BookieId) => Promise<T>,
  what: string,
  onError: (bookie: BookieId, e: unknown) => T | Error | undefined,
  notCovered: (errors: string[]) => Error,
): Promise<T[]> {
  const ensemble = m.ensembles[m.ensembles.length - 1]?.bookies ?? []
  const heard = ensemble.map(() => false)
  return new Promise((resolve, reject) => {
    const answers: T[] = []
    const errors: string[] = []
    let pending = ensemble.length
    let done = false
    const check = (): void => {
      if (done) return
      if (coverageReached(m.writeQuorumSize, m.ackQuorumSize, heard)) {
        done = true
        resolve(answers)
      } else if (pending === 0) {
        done = true
        reject(notCovered(errors))
      }
    }
    ensemble.forEach((bookie, i) => {
      withTimeout(ctx, call(bookie), `${what} to bookie ${bookie}`).then(
        (value) => {
          pending--
          heard[i] = true
          answers.push(value)
          check()
        },
        (e: unknown) => {
          pending--
          const r = onError(bookie, e)
          if (r instanceof Error) {
            if (!done) reject(r)
            done = true
            return
          }
          if (r === undefined) errors.push(`${bookie}: ${errorMessage(e)}`)
          else {
            heard[i] = true
            answers.push(r)
          }
          check()
        },
      )
    })
    check()
  })
}

// ---------------------------------------------------------------------------------------------------

interface LongPollWaiter {
  entryId: number
  onClosed: () => void
}

export class LedgerReadHandle implements ReadHandle {
  readonly ledgerId: number
  private readonly ctx: LedgerContext
  private current: Versioned<LedgerMetadata>
  private lac: number
  private handleClosed = false
  private deleted = false
  private readonly unwatch: () => void
  private readonly waiters = new Set<LongPollWaiter>()

  constructor(ctx: LedgerContext, metadata: Versioned<LedgerMetadata>) {
    this.ctx = ctx
    this.ledgerId = metadata.value.ledgerId
    this.current = metadata
    this.lac = metadata.value.state === 'CLOSED' ? metadata.value.lastEntryId : -1
    this.unwatch = ctx.metadataStore.watchLedgerMetadata(this.ledgerId, (m) => this.onMetadata(m))
    // A change between the caller's read and the watch being armed would go unseen: look once more.
    if (metadata.value.state !== 'CLOSED') {
      ctx.metadataStore.readLedgerMetadata(this.ledgerId).then(
        (m) => this.onMetadata(m),
        () => {},
      )
    }
  }

  get metadata(): LedgerMetadata {
    return this.current.value
  }

  /** The metadata with its znode version (recovery and tools want the version too). */
  get versionedMetadata(): Versioned<LedgerMetadata> {
    return this.current
  }

  get lastAddConfirmed(): number {
    return this.lac
  }

  get isClosed(): boolean {
    return this.current.value.state === 'CLOSED'
  }

  async readEntries(firstEntryId: number, lastEntryId: number): Promise<LedgerEntry[]> {
    this.checkOpen()
    if (!Number.isSafeInteger(firstEntryId) || !Number.isSafeInteger(lastEntryId) || firstEntryId < 0 || firstEntryId > lastEntryId) {
      throw new LedgerError(
        LedgerErrorCode.INCORRECT_PARAMETER,
        `Invalid entry range ${firstEntryId}..${lastEntryId} for ledger ${this.ledgerId}: need 0 <= first <= last`,
        {ledgerId: this.ledgerId},
      )
    }
    if (lastEntryId > this.lac) {
      throw new LedgerError(
        LedgerErrorCode.READ_FAILED,
        `Cannot read entry ${lastEntryId} of ledger ${this.ledgerId}: beyond its last add confirmed (${this.lac})${this.isClosed ? ', the ledger is closed' : ''}`,
        {ledgerId: this.ledgerId, retriable: !this.isClosed},
      )
    }
    const count = lastEntryId - firstEntryId + 1
    const out = new Array<LedgerEntry>(count)
    let next = firstEntryId
    let failed = false
    const worker = async (): Promise<void> => {
      while (!failed && next <= lastEntryId) {
        const entryId = next++
        try {
          out[entryId - firstEntryId] = await this.readOne(entryId)
        } catch (e) {
          failed = true
          throw e
        }
      }
    }
    await Promise.all(Array.from({length: Math.min(READ_CONCURRENCY_MAX, count)}, () => worker()))
    // The ledger may have closed while we read, at an entry before some we were reading.
    this.checkNotPastClose(lastEntryId)
    return out
  }

  async readLastAddConfirmed(): Promise<number> {
    this.checkOpen()
    if (this.isClosed) return this.lac
    const m = this.current.value
    const answers = await askUntilCovered(
      this.ctx,
      m,
      (bookie) => this.ctx.transport.readLac(bookie, this.ledgerId),
      `READ_LAC`,
      (_, e) => (isMissingAnswer(e) ? -1 : undefined),
      (errors) =>
        new LedgerError(
          LedgerErrorCode.READ_FAILED,
          `Could not read the LAC of ledger ${this.ledgerId}: too few bookies of its ensemble answered (${errors.join('; ')})`,
          {ledgerId: this.ledgerId},
        ),
    )
    this.raiseLac(Math.max(-1, ...answers))
    return this.lac
  }

  async readLastAddConfirmedAndEntry(entryId: number, timeoutMs: number): Promise<{lac: number; entry?: LedgerEntry}> {
    this.checkOpen()
    if (!Number.isSafeInteger(entryId) || entryId < 0) {
      throw new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, `Invalid entry id ${entryId} for a long-poll read of ledger ${this.ledgerId}`, {ledgerId: this.ledgerId})
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > LONG_POLL_TIMEOUT_MS_MAX) {
      throw new LedgerError(
        LedgerErrorCode.INCORRECT_PARAMETER,
        `Long-poll timeout ${timeoutMs} ms is outside [0, ${LONG_POLL_TIMEOUT_MS_MAX}]`,
        {ledgerId: this.ledgerId},
      )
    }
    if (entryId <= this.lac) return {lac: this.lac, entry: await this.readOne(entryId)}
    if (this.isClosed) return {lac: this.lac}

    const polled = await this.longPoll(entryId, timeoutMs)
    // The close may have been learned while the answer was on its way: the metadata's end wins.
    if (this.isClosed && entryId > this.lac) return {lac: this.lac}
    if (polled.entry) {
      const entry = verifiedEntry(polled.entry, this.ledgerId, entryId)
      if (entry) {
        // The bookie had the entry and a LAC covering it, even if another answer raised ours further.
        this.raiseLac(Math.max(polled.lac, entryId))
        return {lac: this.lac, entry: toLedgerEntry(entry)}
      }
      this.ctx.logger.warn('corrupt entry in long-poll answer', {ledgerId: this.ledgerId, entryId})
    }
    this.raiseLac(polled.lac)
    // The LAC covers the entry but this answer lacked it (or it was corrupt): read it from the replicas.
    if (entryId <= this.lac) return {lac: this.lac, entry: await this.readOne(entryId)}
    return {lac: this.lac}
  }

  async close(): Promise<void> {
    if (this.handleClosed) return
    this.handleClosed = true
    this.unwatch()
    for (const w of [...this.waiters]) w.onClosed()
  }

  // -------------------------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.handleClosed) {
      throw new LedgerError(LedgerErrorCode.CLIENT_CLOSED, `The read handle of ledger ${this.ledgerId} is closed`, {ledgerId: this.ledgerId})
    }
  }

  private async readOne(entryId: number): Promise<LedgerEntry> {
    const m = this.current.value
    const replicas = writeSetOf(ensembleFor(m, entryId), m.writeQuorumSize, entryId)
    const entry = await readFromReplicas(this.ctx, this.ledgerId, entryId, replicas, (b) => this.ctx.transport.readEntry(b, this.ledgerId, entryId))
    this.checkNotPastClose(entryId)
    return toLedgerEntry(entry)
  }

  /**
   * Throws when the ledger is closed before `entryId` (an entry read on an older, higher LAC). Retriable:
   * the same read within the new lastAddConfirmed succeeds.
   */
  private checkNotPastClose(entryId: number): void {
    if (!this.isClosed || entryId <= this.lac) return
    throw new LedgerError(
      LedgerErrorCode.READ_FAILED,
      `Entry ${this.ledgerId}/${entryId} is past the last entry (${this.lac}) of the ledger, which closed during the read`,
      {ledgerId: this.ledgerId, retriable: true},
    )
  }

  private raiseLac(lac: number): void {
    // A closed ledger's LAC is fixed by its metadata; a bookie's LAC beyond it (entries a losing recovery
    // re-replicated past the close) must not become visible.
    if (this.isClosed) return
    if (lac > this.lac) this.lac = lac
  }

  private onMetadata(m: Versioned<LedgerMetadata> | undefined): void {
    if (this.handleClosed) return
    if (!m) {
      if (!this.deleted) this.ctx.logger.info('ledger deleted while open for reading', {ledgerId: this.ledgerId})
      this.deleted = true
      return
    }
    if (m.version < this.current.version) return
    this.current = m
    if (m.value.state === 'CLOSED') {
      this.lac = m.value.lastEntryId
      for (const w of [...this.waiters]) w.onClosed()
    }
  }

  /**
   * One long poll on the write set of `entryId`, failing over to the next replica on an error (with
   * the time left). Resolves with the first answer; with our LAC when the time runs out, the handle
   * closes, or the ledger closes meanwhile; rejects when every replica failed.
   */
  private longPoll(entryId: number, timeoutMs: number): Promise<{lac: number; entry?: Buffer}> {
    const {clock, config, transport} = this.ctx
    const m = this.current.value
    const replicas = writeSetOf(ensembleFor(m, entryId), m.writeQuorumSize, entryId)
    const startMs = clock.monotonicMs()
    return new Promise((resolve, reject) => {
      let done = false
      const errors: string[] = []
      const finish = (): void => {
        done = true
        clock.clearTimeout(watchdog)
        this.waiters.delete(waiter)
      }
      // The bookie answers by itself when its timer fires; this only guards against a silent bookie.
      const watchdog = clock.setTimeout(() => {
        if (done) return
        finish()
        resolve({lac: this.lac})
      }, timeoutMs + config.readEntryTimeoutMs)
      const waiter: LongPollWaiter = {
        entryId,
        onClosed: () => {
          if (done) return
          finish()
          if (this.handleClosed) {
            reject(new LedgerError(LedgerErrorCode.CLIENT_CLOSED, `The read handle of ledger ${this.ledgerId} was closed during a long-poll read`, {ledgerId: this.ledgerId}))
          } else resolve({lac: this.lac})
        },
      }
      this.waiters.add(waiter)
      const attempt = (i: number): void => {
        const bookie = replicas[i]
        if (bookie === undefined) {
          finish()
          reject(new LedgerError(LedgerErrorCode.READ_FAILED, `Long-poll read of entry ${this.ledgerId}/${entryId} failed on every replica (${errors.join('; ')})`, {ledgerId: this.ledgerId}))
          return
        }
        const leftMs = Math.max(0, timeoutMs - (clock.monotonicMs() - startMs))
        transport.longPollRead(bookie, this.ledgerId, entryId, Math.floor(leftMs)).then(
          (r) => {
            if (done) return
            finish()
            resolve(r)
          },
          (e: unknown) => {
            if (done) return
            errors.push(`${bookie}: ${errorMessage(e)}`)
            attempt(i + 1)
          },
        )
      }
      attempt(0)
    })
  }
}

function toLedgerEntry(e: DecodedEntry): LedgerEntry {
  return {ledgerId: e.ledgerId, entryId: e.entryId, length: e.length, payload: e.payload}
}

/** Bounds a bookie request by the read timeout on the context's clock (the transport has its own bound too). */
export function withTimeout<T>(ctx: LedgerContext, p: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = ctx.clock.setTimeout(() => reject(new TimeoutError(`${what} got no answer within ${ctx.config.readEntryTimeoutMs} ms`)), ctx.config.readEntryTimeoutMs)
    p.then(
      (v) => {
        ctx.clock.clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        ctx.clock.clearTimeout(timer)
        reject(e)
      },
    )
  })
}
