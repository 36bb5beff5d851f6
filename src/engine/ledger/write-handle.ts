/**
 * The write path of a ledger (BookKeeper's LedgerHandle + PendingAddOp): entries get consecutive ids,
 * are encoded once (CRC32C, the current LAC piggybacked), sent to their write set — entry e goes to
 * bookies (e + i) mod E, i < Qw, of the current ensemble — and pipelined; an entry is acknowledged when
 * Qa distinct bookies of its write set confirmed it, and completions happen strictly in entry-id order,
 * so the LAC only moves over a contiguous run of acknowledged entries.
 *
 * Failure handling:
 * - FENCED from any bookie: a recovery has taken the ledger; every pending and later append fails with
 *   LedgerFencedError (UNAUTHORIZED likewise, with its own code).
 * - Any other bookie error, or no answer within addEntryTimeoutMs: ensemble change. Completions are held
 *   (as BookKeeper's blockAddCompletions does) while a replacement is chosen and the new ensemble is
 *   written to the metadata, starting at LAC + 1, by compare-and-set; then the failed bookie's acks of
 *   pending entries are forgotten (readers will look for those entries on the replacement) and every
 *   pending entry it was part of is resent to the replacement. Entries at or below the LAC stay in the
 *   old segment where they were acknowledged; entries above it were never acknowledged to the caller
 *   before the change finished, so nothing acknowledged is lost or acknowledged twice.
 * - No replacement available: the failed bookie stays in the ensemble but is no longer written to
 *   (BookKeeper's delayed ensemble change); entries whose remaining write set is below Qa fail, with
 *   every later append, with QUORUM_FAILED.
 * - A metadata conflict is re-read: if the ledger was fenced (IN_RECOVERY) or closed by someone else,
 *   the handle fails with LedgerFencedError; never is another writer's metadata overwritten.
 *
 * An idle writer sends the LAC explicitly (writeLac) to its ensemble after explicitLacIntervalMs so
 * tailing readers see the last entry. close() waits for outstanding appends, then writes CLOSED with the
 * last entry id and length; a close racing a recovery is accepted only if the recovery closed the ledger
 * at the same entry. In recovery mode (ledger/recovery.ts) ids continue after the recovered LAC, adds
 * carry the recovery flag (fenced bookies accept them) and the metadata is expected IN_RECOVERY.
 *
 * A recovery-mode handle never tells the bookies a LAC beyond the one recovery started from: every
 * entry it sends piggybacks that starting LAC (its own LAC still moves, for ensemble changes and the
 * close), and it sends no explicit LAC. Two recoveries may race, and the loser may re-replicate entries
 * past the last entry id the winner closed the ledger at; were the loser to advance the bookies' LAC, a
 * tailing reader that has not yet seen the closed metadata would read records the log later says never
 * existed. Readers learn where a recovered ledger ends from its closed metadata alone. (BookKeeper's
 * recovery adds piggyback their advancing LAC, so it has this window.)
 *
 * Every timer runs on ctx.clock: one sweeper for add timeouts while adds are outstanding, one for the
 * explicit LAC while the LAC is ahead of what the bookies were told (never in recovery mode).
 */
import type {TimerHandle} from '../common/clock.js'
import {deferred, type Deferred} from '../common/deferred.js'
import {errorMessage, TimeoutError} from '../common/errors.js'
import type {Logger} from '../common/logger.js'
import {BookieError, BookieStatus} from '../protocol/bookie/codes.js'
import {ENTRY_PAYLOAD_BYTES_MAX, encodeEntry} from '../protocol/bookie/entry.js'
import {LedgerError, LedgerErrorCode, LedgerFencedError, NotEnoughBookiesError} from './errors.js'
import type {BookieId, LedgerContext, LedgerMetadata, LedgerState, Versioned, WriteHandle} from './types.js'
import {updateLedgerMetadata} from './zk-metadata-store.js'

/**
 * Appends that may wait for room beyond outstandingAddsMax; past this a caller ignoring backpressure
 * gets a retriable error instead of growing memory without bound.
 */
export const APPEND_WAITERS_MAX = 100_000

interface PendingAdd {
  entryId: number
  /** Total ledger bytes up to and including this entry. */
  length: number
  encoded: Buffer
  done: Deferred<number>
  /** Bookies of the current write set that confirmed. */
  acked: Set<BookieId>
  /** Requests in flight: bookie -> attempt token and deadline (monotonic ms). */
  out: Map<BookieId, {attempt: number; deadlineMs: number}>
  /** False while held back by an ensemble change. */
  sent: boolean
  /** Set once the append has failed; it rejects in its turn. */
  error?: Error
}

interface Waiter {
  payload: Buffer
  done: Deferred<number>
}

export class LedgerWriteHandle implements WriteHandle {
  readonly ledgerId: number
  private readonly ctx: LedgerContext
  private readonly log: Logger
  private readonly recovery: boolean
  /** In recovery mode, the LAC every entry piggybacks: the one recovery started from (see above). */
  private readonly recoveryLac: number
  private readonly expectedState: LedgerState
  private versioned: Versioned<LedgerMetadata>
  private lac: number
  private lap: number
  private confirmedLength: number
  private pushedLength: number
  /** Pending adds in ascending entry id. */
  private pending: PendingAdd[] = []
  private waiters: Waiter[] = []
  private error: Error | undefined
  private closing = false
  private closePromise: Promise<void> | undefined
  private idleWaiters: (() => void)[] = []
  private attemptSeq = 0
  // Ensemble change state.
  private changing: Promise<void> | undefined
  private readonly failedBookies = new Set<BookieId>()
  /** Bookies that failed during this handle's life: never chosen again as replacements. */
  private readonly everFailed = new Set<BookieId>()
  /** Failed bookies left in the ensemble for lack of a replacement: not written to. */
  private readonly dead = new Set<BookieId>()
  private ensembleChanges = 0
  // Timers.
  private sweeper: TimerHandle | undefined
  private lacTimer: TimerHandle | undefined
  private lacSent: number
  private lastActivityMs: number

  constructor(ctx: LedgerContext, metadata: Versioned<LedgerMetadata>, opts: {recovery?: {lastAddConfirmed: number; length: number}} = {}) {
    const m = metadata.value
    this.ctx = ctx
    this.ledgerId = m.ledgerId
    this.log = ctx.logger.child('write-handle')
    this.recovery = opts.recovery !== undefined
    this.expectedState = this.recovery ? 'IN_RECOVERY' : 'OPEN'
    if (m.state !== this.expectedState) {
      throw new LedgerError(
        LedgerErrorCode.INCORRECT_PARAMETER,
        `Ledger ${m.ledgerId} is ${m.state}: a ${this.recovery ? 'recovery' : ''} write handle needs it ${this.expectedState}`,
        {ledgerId: m.ledgerId},
      )
    }
    if (m.ackQuorumSize < 1 || m.ackQuorumSize > m.writeQuorumSize || m.writeQuorumSize > m.ensembleSize || m.ensembles.length === 0) {
      throw new LedgerError(
        LedgerErrorCode.INCORRECT_PARAMETER,
        `Ledger ${m.ledgerId} has invalid quorums: E=${m.ensembleSize} Qw=${m.writeQuorumSize} Qa=${m.ackQuorumSize}`,
        {ledgerId: m.ledgerId},
      )
    }
    this.versioned = metadata
    this.lac = opts.recovery?.lastAddConfirmed ?? -1
    this.recoveryLac = this.lac
    this.lap = this.lac
    this.confirmedLength = opts.recovery?.length ?? 0
    this.pushedLength = this.confirmedLength
    this.lacSent = this.lac
    this.lastActivityMs = ctx.clock.monotonicMs()
  }

  get metadata(): LedgerMetadata {
    return this.versioned.value
  }

  /** The metadata with its znode version (for the ledger client and tests). */
  get versionedMetadata(): Versioned<LedgerMetadata> {
    return this.versioned
  }

  get lastAddConfirmed(): number {
    return this.lac
  }

  get lastAddPushed(): number {
    return this.lap
  }

  /** Total bytes of the entries up to the LAC. */
  get length(): number {
    return this.confirmedLength
  }

  get isClosed(): boolean {
    return this.versioned.value.state === 'CLOSED'
  }

  append(payload: Buffer): Promise<number> {
    // A broken handle still settles in order: this append fails after the pending ones settled.
    if (this.error && this.pending.length === 0) return Promise.reject(this.error)
    if (this.closing) return Promise.reject(new LedgerError(LedgerErrorCode.LEDGER_CLOSED, `Ledger ${this.ledgerId} is closed for writing`, {ledgerId: this.ledgerId}))
    if (payload.length > ENTRY_PAYLOAD_BYTES_MAX) {
      return Promise.reject(
        new LedgerError(LedgerErrorCode.INCORRECT_PARAMETER, `entry of ${payload.length} bytes exceeds the limit of ${ENTRY_PAYLOAD_BYTES_MAX} bytes`, {
          ledgerId: this.ledgerId,
        }),
      )
    }
    if (!this.error && this.pending.length < this.ctx.config.outstandingAddsMax && this.waiters.length === 0) return this.start(payload)
    // Waiting appends are bounded like the in-flight ones: a caller ignoring backpressure gets an error.
    if (this.waiters.length >= APPEND_WAITERS_MAX) {
      return Promise.reject(
        new LedgerError(LedgerErrorCode.WRITE_FAILED, `Ledger ${this.ledgerId}: ${this.waiters.length} appends already wait for room`, {
          ledgerId: this.ledgerId,
          retriable: true,
        }),
      )
    }
    const done = deferred<number>()
    this.waiters.push({payload, done})
    return done.promise
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose()
    return this.closePromise
  }

  // ---------------------------------------------------------------------------------------------
  // Adds

  /** Gives the entry its id and sends it; `done` is the caller's (a waiter's own, so no extra hop reorders it). */
  private start(payload: Buffer, done = deferred<number>()): Promise<number> {
    const entryId = this.lap + 1
    this.lap = entryId
    this.pushedLength += payload.length
    const lac = this.recovery ? this.recoveryLac : this.lac
    const encoded = encodeEntry({ledgerId: this.ledgerId, entryId, lac, length: this.pushedLength, payload})
    const add: PendingAdd = {entryId, length: this.pushedLength, encoded, done, acked: new Set(), out: new Map(), sent: false}
    this.pending.push(add)
    const nowMs = this.ctx.clock.monotonicMs()
    this.lastActivityMs = nowMs
    if (this.dead.size > 0 && !this.quorumPossible(add)) {
      this.failFrom(entryId, this.quorumError(entryId))
      return done.promise
    }
    if (!this.changing) this.sendAll(add, nowMs)
    return done.promise
  }

  private ensemble(): BookieId[] {
    const segs = this.versioned.value.ensembles
    return (segs[segs.length - 1] as {bookies: BookieId[]}).bookies
  }

  private writeSet(entryId: number, ensemble = this.ensemble()): BookieId[] {
    const m = this.versioned.value
    const set: BookieId[] = []
    for (let i = 0; i < m.writeQuorumSize; i++) set.push(ensemble[(entryId + i) % ensemble.length] as BookieId)
    return set
  }

  private quorumPossible(add: PendingAdd): boolean {
    let live = 0
    for (const b of this.writeSet(add.entryId)) if (!this.dead.has(b) || add.acked.has(b)) live++
    return live >= this.versioned.value.ackQuorumSize
  }

  private sendAll(add: PendingAdd, nowMs = this.ctx.clock.monotonicMs()): void {
    add.sent = true
    for (const b of this.writeSet(add.entryId)) {
      if (!this.dead.has(b) && !add.acked.has(b)) this.send(add, b, nowMs)
    }
  }

  private send(add: PendingAdd, bookie: BookieId, nowMs = this.ctx.clock.monotonicMs()): void {
    const attempt = ++this.attemptSeq
    add.out.set(bookie, {attempt, deadlineMs: nowMs + this.ctx.config.addEntryTimeoutMs})
    this.armSweeper()
    const t = this.ctx.transport
    const password = this.versioned.value.password
    if (t.addEntryCallback) {
      // No promise per bookie request (TCP): the answer calls back, never synchronously.
      t.addEntryCallback(bookie, this.ledgerId, add.entryId, add.encoded, password, this.recovery, (e) => {
        if (e === undefined) this.onAddOk(add, bookie, attempt)
        else this.onAddError(add, bookie, attempt, e)
      })
      return
    }
    t.addEntry(bookie, this.ledgerId, add.entryId, add.encoded, password, {recovery: this.recovery}).then(
      () => this.onAddOk(add, bookie, attempt),
      (e: unknown) => this.onAddError(add, bookie, attempt, e),
    )
  }

  private onAddOk(add: PendingAdd, bookie: BookieId, attempt: number): void {
    if (add.out.get(bookie)?.attempt !== attempt) return // timed out, replaced, or failed meanwhile
    add.out.delete(bookie)
    add.acked.add(bookie)
    if (add.acked.size >= this.versioned.value.ackQuorumSize && this.pending[0] === add) this.drainCompletions()
  }

  private onAddError(add: PendingAdd, bookie: BookieId, attempt: number, e: unknown): void {
    if (add.out.get(bookie)?.attempt !== attempt) return
    add.out.delete(bookie)
    if (e instanceof BookieError && e.code === BookieStatus.FENCED) {
      this.failFrom(0, new LedgerFencedError(this.ledgerId, {cause: e}))
      return
    }
    if (e instanceof BookieError && e.code === BookieStatus.UNAUTHORIZED) {
      this.failFrom(0, new LedgerError(LedgerErrorCode.UNAUTHORIZED, `Bookie ${bookie} refused the key of ledger ${this.ledgerId}`, {ledgerId: this.ledgerId, cause: e}))
      return
    }
    this.bookieFailed(bookie, e)
  }

  /**
   * Settles entries in id order (held during an ensemble change): an acknowledged head resolves and
   * moves the LAC, a failed head rejects; a head still waiting for acks stops the run.
   */
  private drainCompletions(): void {
    if (this.changing) return
    const qa = this.versioned.value.ackQuorumSize
    let done = 0
    let confirmed = false
    for (let head = this.pending[0]; head; head = this.pending[done]) {
      if (head.error) {
        head.done.reject(head.error)
      } else if (head.acked.size >= qa) {
        this.lac = head.entryId
        this.confirmedLength = head.length
        head.done.resolve(head.entryId)
        confirmed = true
      } else {
        break
      }
      done++
    }
    if (done > 0) this.pending.splice(0, done)
    if (confirmed) {
      this.lastActivityMs = this.ctx.clock.monotonicMs()
      this.armLacTimer()
    }
    if (this.error) {
      // Waiting appends come after every pending one: they fail once those settled.
      if (this.pending.length === 0) {
        const waiters = this.waiters
        this.waiters = []
        for (const w of waiters) w.done.reject(this.error)
      }
    } else {
      this.admitWaiters()
    }
    this.checkIdle()
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.pending.length < this.ctx.config.outstandingAddsMax && !this.error) {
      const w = this.waiters.shift() as Waiter
      void this.start(w.payload, w.done)
    }
  }

  /**
   * Fails the pending appends from `fromEntryId` on (all of them with 0), every waiting one and every
   * later one; they reject in id order, after the earlier pending appends, which may still complete.
   */
  private failFrom(fromEntryId: number, error: Error): void {
    this.error ??= error
    let count = 0
    for (const a of this.pending) {
      if (a.entryId < fromEntryId || a.error) continue
      a.error = this.error
      a.out.clear()
      count++
    }
    if (count > 0) this.log.warn('appends failed', {ledgerId: this.ledgerId, fromEntryId, count, error: errorMessage(error)})
    this.drainCompletions()
  }

  // ---------------------------------------------------------------------------------------------
  // Timeouts

  private armSweeper(): void {
    if (this.sweeper) return
    const intervalMs = Math.max(1, Math.min(1000, Math.floor(this.ctx.config.addEntryTimeoutMs / 4)))
    this.sweeper = this.ctx.clock.setTimeout(() => {
      this.sweeper = undefined
      this.sweep()
    }, intervalMs)
    this.sweeper.unref()
  }

  private sweep(): void {
    const now = this.ctx.clock.monotonicMs()
    let outstanding = false
    for (const add of [...this.pending]) {
      for (const [bookie, o] of add.out) {
        if (o.deadlineMs > now) {
          outstanding = true
          continue
        }
        add.out.delete(bookie)
        this.bookieFailed(bookie, new TimeoutError(`add of entry ${this.ledgerId}/${add.entryId} to bookie ${bookie} got no answer within ${this.ctx.config.addEntryTimeoutMs} ms`))
      }
    }
    if (outstanding) this.armSweeper()
  }

  // ---------------------------------------------------------------------------------------------
  // Ensemble change

  private bookieFailed(bookie: BookieId, cause: unknown): void {
    if (!this.ensemble().includes(bookie) || this.dead.has(bookie)) return
    if (!this.failedBookies.has(bookie)) {
      this.log.warn('bookie failed; changing the ensemble', {ledgerId: this.ledgerId, bookie, error: errorMessage(cause)})
      this.failedBookies.add(bookie)
    }
    if (!this.changing) this.startEnsembleChange()
  }

  private startEnsembleChange(): void {
    this.changing = this.changeEnsemble().finally(() => {
      this.changing = undefined
      // A failure reported after the change left its loop (e.g. the replacement refusing the resends at
      // once) found `changing` still set: it gets a change of its own, or the appends it holds never settle.
      // Each change clears failedBookies first, so this ends.
      if (this.failedBookies.size > 0 && this.pending.some((a) => !a.error)) {
        this.startEnsembleChange()
        return
      }
      for (const add of this.pending) if (!add.sent && !add.error) this.sendAll(add)
      this.drainCompletions()
    })
  }

  private async changeEnsemble(): Promise<void> {
    try {
      // Entries below a failed one may still complete (after a QUORUM_FAILED), so the change goes on
      // while any pending entry is alive.
      while (this.failedBookies.size > 0 && this.pending.some((a) => !a.error)) {
        // Bookies left in the ensemble earlier for lack of a replacement get another chance to be replaced.
        const failed = [...new Set([...this.failedBookies, ...this.dead])]
        this.failedBookies.clear()
        for (const f of failed) this.everFailed.add(f)
        const current = this.ensemble()
        const next = [...current]
        let replaced = 0
        for (const f of failed) {
          const at = next.indexOf(f)
          if (at < 0) continue
          try {
            next[at] = await this.ctx.placement.replaceBookie(next, f, new Set([...this.everFailed, ...this.dead]))
            replaced++
          } catch (e) {
            // A closed client is not a lost quorum: the appends fail with CLIENT_CLOSED (the catch below).
            if (e instanceof LedgerError && e.code === LedgerErrorCode.CLIENT_CLOSED) throw e
            if (!(e instanceof NotEnoughBookiesError)) this.log.warn('placement failed', {ledgerId: this.ledgerId, error: errorMessage(e)})
            this.log.warn('no bookie to replace a failed one; writing to the rest', {ledgerId: this.ledgerId, bookie: f})
            this.dead.add(f)
          }
        }
        if (!this.pending.some((a) => !a.error) && this.error) return
        if (replaced > 0) {
          if (this.ensembleChanges >= this.ctx.config.ensembleChangesMax) {
            this.failFrom(
              this.lac + 1,
              new LedgerError(LedgerErrorCode.WRITE_FAILED, `Ledger ${this.ledgerId}: gave up after ${this.ensembleChanges} ensemble changes`, {ledgerId: this.ledgerId}),
            )
            return
          }
          // Completions are held, so the LAC is stable: every pending entry is above it.
          const firstEntryId = this.lac + 1
          await this.writeEnsemble(firstEntryId, next)
          this.ensembleChanges++
          for (const d of [...this.dead]) if (!next.includes(d)) this.dead.delete(d)
          this.log.info('ensemble changed', {ledgerId: this.ledgerId, firstEntryId, ensemble: next.join(',')})
          for (const add of this.pending) {
            const before = this.writeSet(add.entryId, current)
            const after = this.writeSet(add.entryId, next)
            for (let i = 0; i < after.length; i++) {
              const was = before[i] as BookieId
              const now = after[i] as BookieId
              if (was === now) continue
              add.acked.delete(was)
              add.out.delete(was)
              if (add.sent && !add.error) this.send(add, now)
            }
          }
        }
        // Some failed bookies may be left in the ensemble: fail the entries that cannot reach Qa.
        const first = this.pending.find((a) => !a.error && !this.quorumPossible(a))
        if (first) this.failFrom(first.entryId, this.quorumError(first.entryId))
      }
    } catch (e) {
      this.failFrom(
        this.lac + 1,
        e instanceof LedgerError ? e : new LedgerError(LedgerErrorCode.WRITE_FAILED, `Ensemble change of ledger ${this.ledgerId} failed: ${errorMessage(e)}`, {ledgerId: this.ledgerId, cause: e}),
      )
    }
  }

  private quorumError(entryId: number): LedgerError {
    const m = this.versioned.value
    const live = this.writeSet(entryId).filter((b) => !this.dead.has(b)).length
    return new LedgerError(
      LedgerErrorCode.QUORUM_FAILED,
      `Ledger ${this.ledgerId}: entry ${entryId} cannot reach its ack quorum of ${m.ackQuorumSize} (${live} of ${m.writeQuorumSize} bookies left, no replacement available)`,
      {ledgerId: this.ledgerId, cause: new NotEnoughBookiesError(m.ackQuorumSize, live, {what: `entry ${entryId}'s ack quorum`})},
    )
  }

  private async writeEnsemble(firstEntryId: number, bookies: BookieId[]): Promise<void> {
    const build = (base: LedgerMetadata): LedgerMetadata => {
      const segs = base.ensembles.map((s) => ({firstEntryId: s.firstEntryId, bookies: [...s.bookies]}))
      const last = segs[segs.length - 1] as {firstEntryId: number; bookies: BookieId[]}
      // A segment that would hold no entry is replaced rather than followed.
      if (last.firstEntryId >= firstEntryId) last.bookies = [...bookies]
      else segs.push({firstEntryId, bookies: [...bookies]})
      return {...base, ensembles: segs}
    }
    const ours = this.versioned.value
    const wanted = build(ours)
    this.versioned = await this.casMetadata(build, (stored) => {
      if (stored.state !== this.expectedState) return new LedgerFencedError(this.ledgerId)
      if (sameEnsembles(stored, wanted)) return 'done' // our own write, answered late
      if (!sameEnsembles(stored, ours)) return ensemblesConflict(this.ledgerId)
      return 'apply'
    })
  }

  /**
   * Compare-and-set of the metadata from this handle's version (updateLedgerMetadata re-reads on a lost
   * race). `check` judges every base the change would apply to: 'apply', 'done' (the stored value is
   * already what we wanted, e.g. our own write answered late), or an error to fail with. A retriable
   * store error (connection loss) backs off on the clock and starts again from a fresh read.
   */
  private async casMetadata(
    build: (base: LedgerMetadata) => LedgerMetadata,
    check: (base: LedgerMetadata) => 'apply' | 'done' | Error,
  ): Promise<Versioned<LedgerMetadata>> {
    const store = this.ctx.metadataStore
    let base = this.versioned
    for (let attempt = 1; ; attempt++) {
      try {
        return await updateLedgerMetadata(
          store,
          base,
          (m) => {
            const verdict = check(m)
            if (verdict === 'done') return undefined
            if (verdict !== 'apply') throw verdict
            return build(m)
          },
          this.ctx.config.metadataRetriesMax,
        )
      } catch (e) {
        const retriable = e instanceof LedgerError && e.code === LedgerErrorCode.METADATA_STORE && e.retriable
        if (!retriable || attempt >= this.ctx.config.metadataRetriesMax) throw e
        this.log.warn('metadata update failed; retrying', {ledgerId: this.ledgerId, attempt, error: errorMessage(e)})
        await sleep(this.ctx, Math.min(1000, 50 * 2 ** attempt))
        base = await store.readLedgerMetadata(this.ledgerId)
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Explicit LAC

  private armLacTimer(): void {
    const intervalMs = this.ctx.config.explicitLacIntervalMs
    // A recovery never advances the LAC readers trust (see the module comment).
    if (this.recovery || intervalMs <= 0 || this.lacTimer || this.lac <= this.lacSent || this.closing) return
    const dueMs = this.lastActivityMs + intervalMs - this.ctx.clock.monotonicMs()
    this.lacTimer = this.ctx.clock.setTimeout(() => {
      this.lacTimer = undefined
      this.maybeSendLac()
    }, Math.max(1, dueMs))
    this.lacTimer.unref()
  }

  private maybeSendLac(): void {
    if (this.closing || this.error || this.lac <= this.lacSent) return
    const idleMs = this.ctx.clock.monotonicMs() - this.lastActivityMs
    if (this.pending.length > 0 || idleMs < this.ctx.config.explicitLacIntervalMs) {
      // Still busy: a pending entry will carry the LAC, or the writer goes idle later.
      this.armLacTimer()
      return
    }
    const lac = this.lac
    this.lacSent = lac
    for (const b of this.ensemble()) {
      if (this.dead.has(b)) continue
      this.ctx.transport.writeLac(b, this.ledgerId, lac, this.versioned.value.password).catch((e: unknown) => {
        this.log.debug('explicit LAC write failed', {ledgerId: this.ledgerId, bookie: b, lac, error: errorMessage(e)})
      })
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Close

  private checkIdle(): void {
    if (this.pending.length > 0 || this.waiters.length > 0 || this.changing) return
    if (this.sweeper) {
      this.ctx.clock.clearTimeout(this.sweeper)
      this.sweeper = undefined
    }
    const ws = this.idleWaiters
    this.idleWaiters = []
    for (const w of ws) w()
  }

  private async doClose(): Promise<void> {
    this.closing = true
    if (this.lacTimer) {
      this.ctx.clock.clearTimeout(this.lacTimer)
      this.lacTimer = undefined
    }
    while (this.pending.length > 0 || this.waiters.length > 0 || this.changing) {
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve)
        this.checkIdle()
      })
    }
    if (this.versioned.value.state === 'CLOSED') return
    const lastEntryId = this.lac
    const length = this.confirmedLength
    const build = (base: LedgerMetadata): LedgerMetadata => ({...base, state: 'CLOSED', lastEntryId, length})
    const ours = this.versioned.value
    this.versioned = await this.casMetadata(build, (s) => {
      if (s.state === 'CLOSED') {
        if (s.lastEntryId === lastEntryId) return 'done'
        return new LedgerError(
          LedgerErrorCode.LEDGER_CLOSED,
          `Ledger ${this.ledgerId} was closed by another client at entry ${s.lastEntryId}; this writer's last confirmed entry is ${lastEntryId}`,
          {ledgerId: this.ledgerId},
        )
      }
      if (s.state !== this.expectedState) return new LedgerFencedError(this.ledgerId)
      if (!sameEnsembles(s, ours)) return ensemblesConflict(this.ledgerId)
      return 'apply'
    })
    this.error ??= new LedgerError(LedgerErrorCode.LEDGER_CLOSED, `Ledger ${this.ledgerId} is closed`, {ledgerId: this.ledgerId})
  }
}

function ensemblesConflict(ledgerId: number): LedgerError {
  return new LedgerError(LedgerErrorCode.METADATA_VERSION, `Ledger ${ledgerId}: its ensembles were changed by another client`, {ledgerId})
}

function sameEnsembles(a: LedgerMetadata, b: LedgerMetadata): boolean {
  if (a.ensembles.length !== b.ensembles.length) return false
  return a.ensembles.every((s, i) => {
    const t = b.ensembles[i]
    return t !== undefined && t.firstEntryId === s.firstEntryId && t.bookies.length === s.bookies.length && t.bookies.every((x, j) => x === s.bookies[j])
  })
}

function sleep(ctx: LedgerContext, ms: number): Promise<void> {
  return new Promise((resolve) => ctx.clock.setTimeout(resolve, ms))
}
