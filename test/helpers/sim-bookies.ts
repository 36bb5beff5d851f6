/**
 * A simulated bookie cluster for the seeded simulation tests of the ledger client (add path, reads,
 * recovery): N in-memory bookies behind a `BookieTransport` that keeps the real bookie's rules
 * (src/engine/bookie/bookie.ts) and a network whose faults a test controls. Everything runs on a
 * `SimClock` (a ManualClock that can tell its next deadline) and one SeededRandom, so a run is a pure
 * function of its seed.
 *
 * Bookie rules kept: the master key is bound by the first add, fence or LAC write (another key gets
 * UNAUTHORIZED); a fenced ledger refuses adds without the recovery flag (FENCED); the LAC is the max
 * of the lac fields of stored entries and of explicit LAC writes; fence (and a fencing read) returns
 * that LAC; readLac/readEntry of an unknown ledger or entry answer NO_LEDGER/NO_ENTRY (readEntry -1
 * reads the bookie's last entry); an add whose CRC32C does not match is refused (BAD_CHECKSUM); a
 * read-only bookie refuses adds and LAC writes (READ_ONLY); a long poll answers at once when the LAC
 * reaches the entry, else parks until it does or until its timeout passes on the clock.
 *
 * Network model: a request travels for `latency` ms, is applied by the bookie, and the answer travels
 * back for `latency` ms, where latency = random in [latencyMs.min, latencyMs.max] + the bookie's extra
 * delay + (when reordering) random in [0, reorderJitterMs]. Faults:
 * - crash(b): calls fail with BookieConnectionError; requests in flight fail too (answers lost), but the
 *   data stays (it was fsynced). restart(b) brings the bookie back with its data.
 * - setDelay(b, ms): extra one-way latency.  setReorder(jitterMs): random extra latency per message.
 * - setDrop(b, rate, where): each request to b is lost with that probability, either on its way in
 *   (never applied) or its answer on the way back (applied); the caller sees its transport timeout.
 * - corrupt(b, ledgerId, entryId): flips a payload byte of the stored entry (CRC32C then fails on read).
 * - setReadOnly(b, ro); onRequest(fn): a hook deciding per request ('drop-request' | 'drop-response' |
 *   'crash-before' | 'crash-after' | an error to answer with) for precise scenarios.
 *
 * Advancing time: nothing happens until the test moves the clock. `await cluster.run(promise)` drains
 * microtasks, and while the promise is pending advances the clock to the next timer deadline, fires it,
 * drains again, and so on; it throws when nothing is pending (a deadlock: the code under test waits on
 * something that can never happen) or when `maxMs` of simulated time pass. `await cluster.runFor(ms)`
 * advances by ms the same way (timer by timer, draining in between). Never call clock.advance() with a
 * large delta directly: promise continuations would not run between the timers it fires.
 */
import {ManualClock, type TimerHandle} from '../../src/engine/common/clock.js'
import {TimeoutError} from '../../src/engine/common/errors.js'
import {SeededRandom, shuffled} from '../../src/engine/common/random.js'
import {LedgerError, LedgerErrorCode, NotEnoughBookiesError} from '../../src/engine/ledger/errors.js'
import type {BookieId, BookiePlacement, BookieTransport} from '../../src/engine/ledger/types.js'
import {BookieConnectionError} from '../../src/engine/net/bookie-wire-client.js'
import {BookieError, BookieStatus} from '../../src/engine/protocol/bookie/codes.js'
import {ENTRY_HEADER_BYTES, decodeEntryHeader, entryChecksumOk} from '../../src/engine/protocol/bookie/entry.js'

/** A ManualClock that also knows when its next timer is due (so a run can jump straight there). */
export class SimClock extends ManualClock {
  private readonly deadlines = new Map<number, number>()
  private nextKey = 1

  override setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const key = this.nextKey++
    const handle = super.setTimeout(() => {
      this.deadlines.delete(key)
      fn()
    }, delayMs)
    this.deadlines.set(key, this.monotonicMs() + Math.max(0, delayMs))
    return Object.assign(handle, {simKey: key})
  }

  override clearTimeout(handle: TimerHandle): void {
    const key = (handle as {simKey?: number}).simKey
    if (key !== undefined) this.deadlines.delete(key)
    super.clearTimeout(handle)
  }

  /** The earliest pending deadline, or undefined when no timer is pending. */
  nextDeadlineMs(): number | undefined {
    let min: number | undefined
    for (const d of this.deadlines.values()) if (min === undefined || d < min) min = d
    return min
  }
}

export type SimOp = 'addEntry' | 'readEntry' | 'readLac' | 'writeLac' | 'fence' | 'longPollRead'

export interface SimRequest {
  bookie: BookieId
  op: SimOp
  ledgerId: number
  /** addEntry, readEntry, longPollRead. */
  entryId?: number
  /** addEntry. */
  recovery?: boolean
  /** readEntry. */
  fence?: boolean
  /** writeLac. */
  lac?: number
}

/** What onRequest may decide for one request; undefined = deliver normally. */
export type SimAction = 'drop-request' | 'drop-response' | 'crash-before' | 'crash-after' | Error | undefined

export interface SimLedgerState {
  masterKey: Buffer | undefined
  fenced: boolean
  lac: number
  entries: Map<number, Buffer>
}

interface LongPoll {
  ledgerId: number
  entryId: number
  timer: TimerHandle | undefined
  resolve: (v: {lac: number; entry?: Buffer}) => void
}

/** One in-memory bookie: state only, no timing (the transport adds the network). */
export class SimBookie {
  readonly id: BookieId
  up = true
  readOnly = false
  extraDelayMs = 0
  dropRate = 0
  dropWhere: 'request' | 'response' | 'either' = 'either'
  readonly ledgers = new Map<number, SimLedgerState>()
  /** Adds and LAC writes applied (for assertions). */
  writesApplied = 0
  private longPolls: LongPoll[] = []
  private readonly clock: SimClock

  constructor(id: BookieId, clock: SimClock) {
    this.id = id
    this.clock = clock
  }

  private ensure(ledgerId: number): SimLedgerState {
    let s = this.ledgers.get(ledgerId)
    if (!s) this.ledgers.set(ledgerId, (s = {masterKey: undefined, fenced: false, lac: -1, entries: new Map()}))
    return s
  }

  private checkKey(ledgerId: number, masterKey: Buffer): SimLedgerState {
    const s = this.ensure(ledgerId)
    if (s.masterKey && !s.masterKey.equals(masterKey)) {
      throw new BookieError(BookieStatus.UNAUTHORIZED, `master key does not match ledger ${ledgerId}'s on ${this.id}`)
    }
    s.masterKey ??= Buffer.from(masterKey)
    return s
  }

  addEntry(entry: Buffer, masterKey: Buffer, recovery: boolean): void {
    if (!entryChecksumOk(entry)) throw new BookieError(BookieStatus.BAD_CHECKSUM, `entry fails its CRC32C on ${this.id}`)
    if (this.readOnly) throw new BookieError(BookieStatus.READ_ONLY, `bookie ${this.id} is read-only`)
    const h = decodeEntryHeader(entry)
    const existing = this.ledgers.get(h.ledgerId)
    if (existing?.masterKey && !existing.masterKey.equals(masterKey)) {
      throw new BookieError(BookieStatus.UNAUTHORIZED, `master key does not match ledger ${h.ledgerId}'s on ${this.id}`)
    }
    if (existing?.fenced && !recovery) throw new BookieError(BookieStatus.FENCED, `ledger ${h.ledgerId} is fenced on ${this.id}`)
    const s = this.checkKey(h.ledgerId, masterKey)
    s.entries.set(h.entryId, Buffer.from(entry))
    this.writesApplied++
    this.raiseLac(h.ledgerId, s, h.lac)
  }

  /** Stores an entry bypassing fence and read-only checks (test setup). */
  put(entry: Buffer, masterKey: Buffer): void {
    const h = decodeEntryHeader(entry)
    const s = this.checkKey(h.ledgerId, masterKey)
    s.entries.set(h.entryId, Buffer.from(entry))
    this.raiseLac(h.ledgerId, s, h.lac)
  }

  readEntry(ledgerId: number, entryId: number, fence: boolean, masterKey: Buffer | undefined): Buffer {
    if (fence) this.fence(ledgerId, masterKey ?? Buffer.alloc(0))
    const s = this.ledgers.get(ledgerId)
    if (!s) throw new BookieError(BookieStatus.NO_LEDGER, `no ledger ${ledgerId} on ${this.id}`)
    const id = entryId === -1 ? Math.max(-1, ...s.entries.keys()) : entryId
    const e = s.entries.get(id)
    if (!e) throw new BookieError(BookieStatus.NO_ENTRY, `no entry ${ledgerId}/${entryId} on ${this.id}`)
    return Buffer.from(e)
  }

  readLac(ledgerId: number): number {
    const s = this.ledgers.get(ledgerId)
    if (!s) throw new BookieError(BookieStatus.NO_LEDGER, `no ledger ${ledgerId} on ${this.id}`)
    return s.lac
  }

  writeLac(ledgerId: number, lac: number, masterKey: Buffer): void {
    if (this.readOnly) throw new BookieError(BookieStatus.READ_ONLY, `bookie ${this.id} is read-only`)
    const s = this.checkKey(ledgerId, masterKey)
    this.writesApplied++
    this.raiseLac(ledgerId, s, lac)
  }

  fence(ledgerId: number, masterKey: Buffer): number {
    if (masterKey.length === 0) throw new BookieError(BookieStatus.BAD_REQUEST, 'fencing needs the master key')
    const s = this.checkKey(ledgerId, masterKey)
    s.fenced = true
    return s.lac
  }

  /** Resolves with the answer (maybe later, when the LAC moves or the timer fires). */
  longPollRead(ledgerId: number, entryId: number, timeoutMs: number): Promise<{lac: number; entry?: Buffer}> {
    const now = this.pollAnswer(ledgerId, entryId)
    if (now || timeoutMs === 0) return Promise.resolve(now ?? {lac: this.ledgers.get(ledgerId)?.lac ?? -1})
    return new Promise((resolve) => {
      const poll: LongPoll = {ledgerId, entryId, timer: undefined, resolve}
      poll.timer = this.clock.setTimeout(() => {
        poll.timer = undefined
        this.longPolls = this.longPolls.filter((p) => p !== poll)
        resolve({lac: this.ledgers.get(ledgerId)?.lac ?? -1})
      }, timeoutMs)
      this.longPolls.push(poll)
    })
  }

  /** Parked long polls are answered by nobody once the bookie dies (their callers time out or fail). */
  dropLongPolls(): void {
    for (const p of this.longPolls) if (p.timer) this.clock.clearTimeout(p.timer)
    this.longPolls = []
  }

  private pollAnswer(ledgerId: number, entryId: number): {lac: number; entry?: Buffer} | undefined {
    const s = this.ledgers.get(ledgerId)
    if (!s || s.lac < entryId) return undefined
    const e = s.entries.get(entryId)
    return e ? {lac: s.lac, entry: Buffer.from(e)} : {lac: s.lac}
  }

  private raiseLac(ledgerId: number, s: SimLedgerState, lac: number): void {
    if (lac <= s.lac) return
    s.lac = lac
    const ready = this.longPolls.filter((p) => p.ledgerId === ledgerId && p.entryId <= lac)
    if (ready.length === 0) return
    this.longPolls = this.longPolls.filter((p) => !ready.includes(p))
    for (const p of ready) {
      if (p.timer) this.clock.clearTimeout(p.timer)
      p.resolve(this.pollAnswer(ledgerId, p.entryId) ?? {lac: s.lac})
    }
  }
}

export interface SimBookieClusterOptions {
  /** Number of bookies, named `bookie-<i>:3181` (default 3). */
  bookies?: number
  seed?: number
  /** One-way network latency range (default 0..2 ms). */
  latencyMs?: {min: number; max: number}
  /** The transport's per-request bound (default 5000 ms; long polls get their timeout on top). */
  requestTimeoutMs?: number
}

export class SimBookieCluster {
  readonly clock: SimClock
  readonly random: SeededRandom
  readonly seed: number
  readonly transport: SimTransport
  private readonly byId = new Map<BookieId, SimBookie>()
  readonly latencyMs: {min: number; max: number}
  reorderJitterMs = 0
  requestTimeoutMs: number
  onRequest: ((r: SimRequest) => SimAction) | undefined
  /** Every request the transport sent, in order (for assertions). */
  readonly log: SimRequest[] = []

  constructor(opts: SimBookieClusterOptions = {}) {
    this.seed = opts.seed ?? 1
    this.clock = new SimClock()
    this.random = new SeededRandom(this.seed)
    this.latencyMs = opts.latencyMs ?? {min: 0, max: 2}
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000
    for (let i = 0; i < (opts.bookies ?? 3); i++) this.addBookie()
    this.transport = new SimTransport(this)
  }

  /** Adds a bookie (up, writable, empty) and returns its id. */
  addBookie(): BookieId {
    const id = `bookie-${this.byId.size}:3181`
    this.byId.set(id, new SimBookie(id, this.clock))
    return id
  }

  get bookieIds(): BookieId[] {
    return [...this.byId.keys()]
  }

  bookie(id: BookieId): SimBookie {
    const b = this.byId.get(id)
    if (!b) throw new Error(`sim: no bookie ${id}`)
    return b
  }

  /** Bookies that are up and writable (what placement may choose). */
  writable(): BookieId[] {
    return [...this.byId.values()].filter((b) => b.up && !b.readOnly).map((b) => b.id)
  }

  crash(id: BookieId): void {
    const b = this.bookie(id)
    b.up = false
    b.dropLongPolls()
    this.transport.failInFlight(id)
  }

  restart(id: BookieId): void {
    this.bookie(id).up = true
  }

  setDelay(id: BookieId, extraMs: number): void {
    this.bookie(id).extraDelayMs = extraMs
  }

  setDrop(id: BookieId, rate: number, where: 'request' | 'response' | 'either' = 'either'): void {
    const b = this.bookie(id)
    b.dropRate = rate
    b.dropWhere = where
  }

  setReorder(jitterMs: number): void {
    this.reorderJitterMs = jitterMs
  }

  setReadOnly(id: BookieId, readOnly: boolean): void {
    this.bookie(id).readOnly = readOnly
  }

  /** Flips one payload byte (or a header byte of an empty entry) of a stored entry. */
  corrupt(id: BookieId, ledgerId: number, entryId: number): void {
    const e = this.bookie(id).ledgers.get(ledgerId)?.entries.get(entryId)
    if (!e) throw new Error(`sim: bookie ${id} has no entry ${ledgerId}/${entryId} to corrupt`)
    const at = e.length > ENTRY_HEADER_BYTES ? ENTRY_HEADER_BYTES + this.random.nextInt(e.length - ENTRY_HEADER_BYTES) : 24
    e[at] = (e[at] as number) ^ 0xff
  }

  /** The stored encoded entry (undefined when absent), whatever the bookie's state. */
  stored(id: BookieId, ledgerId: number, entryId: number): Buffer | undefined {
    return this.bookie(id).ledgers.get(ledgerId)?.entries.get(entryId)
  }

  /** Bookies holding the entry. */
  holders(ledgerId: number, entryId: number): BookieId[] {
    return this.bookieIds.filter((id) => this.stored(id, ledgerId, entryId) !== undefined)
  }

  /** Puts an entry on a bookie directly (no network, no fence check): to set up recovery scenarios. */
  put(id: BookieId, entry: Buffer, masterKey: Buffer): void {
    this.bookie(id).put(entry, masterKey)
  }

  placement(): SimPlacement {
    return new SimPlacement(this)
  }

  /** Random one-way latency of a message to or from `b`. */
  latency(b: SimBookie): number {
    const {min, max} = this.latencyMs
    const base = min + this.random.nextInt(max - min + 1)
    const jitter = this.reorderJitterMs > 0 ? this.random.nextInt(this.reorderJitterMs + 1) : 0
    return base + b.extraDelayMs + jitter
  }

  /**
   * Runs the simulation until `p` settles: drains microtasks, then jumps the clock to the next timer,
   * and repeats. Throws (naming the seed) when no timer is left while `p` is pending, or after `maxMs`
   * (default 10 minutes) of simulated time.
   */
  async run<T>(p: Promise<T>, opts: {maxMs?: number} = {}): Promise<T> {
    const outcome: {settled?: {ok: true; value: T} | {ok: false; error: unknown}} = {}
    p.then(
      (value) => (outcome.settled = {ok: true, value}),
      (error: unknown) => (outcome.settled = {ok: false, error}),
    )
    const limit = this.clock.monotonicMs() + (opts.maxMs ?? 600_000)
    for (;;) {
      await drain()
      const s = outcome.settled
      if (s) {
        if (s.ok) return s.value
        throw s.error
      }
      const next = this.clock.nextDeadlineMs()
      if (next === undefined) throw new Error(`sim (SEED=${this.seed}): deadlock at t=${this.clock.monotonicMs()} ms: the promise is pending and no timer is left`)
      if (next > limit) throw new Error(`sim (SEED=${this.seed}): the promise is still pending after ${opts.maxMs ?? 600_000} ms of simulated time`)
      this.clock.advance(next - this.clock.monotonicMs())
    }
  }

  /** Advances simulated time by `ms`, timer by timer, draining microtasks in between. */
  async runFor(ms: number): Promise<void> {
    const target = this.clock.monotonicMs() + ms
    for (;;) {
      await drain()
      const next = this.clock.nextDeadlineMs()
      if (next === undefined || next > target) break
      this.clock.advance(next - this.clock.monotonicMs())
    }
    this.clock.advance(target - this.clock.monotonicMs())
    await drain()
  }
}

/** Lets every queued microtask (and those they queue) run. */
export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

interface InFlight {
  bookie: BookieId
  reject: (e: Error) => void
}

/** The BookieTransport over the simulated network. */
export class SimTransport implements BookieTransport {
  private readonly cluster: SimBookieCluster
  private readonly inFlight = new Set<InFlight>()
  private closed = false

  constructor(cluster: SimBookieCluster) {
    this.cluster = cluster
  }

  /** Fails every request in flight to `bookie` (its connection broke). */
  failInFlight(bookie: BookieId): void {
    for (const f of [...this.inFlight]) {
      if (f.bookie === bookie) f.reject(new BookieConnectionError(`connection to bookie ${bookie} closed (crashed)`))
    }
  }

  get inFlightCount(): number {
    return this.inFlight.size
  }

  addEntry(bookie: BookieId, ledgerId: number, entryId: number, entry: Buffer, masterKey: Buffer, opts: {recovery?: boolean} = {}): Promise<void> {
    const copy = Buffer.from(entry)
    const key = Buffer.from(masterKey)
    const recovery = opts.recovery ?? false
    return this.call({bookie, op: 'addEntry', ledgerId, entryId, recovery}, 0, (b) => b.addEntry(copy, key, recovery))
  }

  readEntry(bookie: BookieId, ledgerId: number, entryId: number, opts: {fence?: boolean; masterKey?: Buffer} = {}): Promise<Buffer> {
    const fence = opts.fence ?? false
    return this.call({bookie, op: 'readEntry', ledgerId, entryId, fence}, 0, (b) => b.readEntry(ledgerId, entryId, fence, opts.masterKey))
  }

  readLac(bookie: BookieId, ledgerId: number): Promise<number> {
    return this.call({bookie, op: 'readLac', ledgerId}, 0, (b) => b.readLac(ledgerId))
  }

  writeLac(bookie: BookieId, ledgerId: number, lac: number, masterKey: Buffer): Promise<void> {
    const key = Buffer.from(masterKey)
    return this.call({bookie, op: 'writeLac', ledgerId, lac}, 0, (b) => b.writeLac(ledgerId, lac, key))
  }

  fence(bookie: BookieId, ledgerId: number, masterKey: Buffer): Promise<number> {
    const key = Buffer.from(masterKey)
    return this.call({bookie, op: 'fence', ledgerId}, 0, (b) => b.fence(ledgerId, key))
  }

  longPollRead(bookie: BookieId, ledgerId: number, entryId: number, timeoutMs: number): Promise<{lac: number; entry?: Buffer}> {
    return this.call({bookie, op: 'longPollRead', ledgerId, entryId}, timeoutMs, (b) => b.longPollRead(ledgerId, entryId, timeoutMs))
  }

  async close(): Promise<void> {
    this.closed = true
    for (const f of [...this.inFlight]) f.reject(new BookieConnectionError(`transport closed`))
  }

  /**
   * One request: deliver after a latency, apply, answer after another latency; bounded by the
   * request timeout (+ `extraTimeoutMs` for long polls) on the sim clock.
   */
  private call<T>(req: SimRequest, extraTimeoutMs: number, apply: (b: SimBookie) => T | Promise<T>): Promise<T> {
    const cluster = this.cluster
    cluster.log.push(req)
    if (this.closed) return Promise.reject(new BookieConnectionError('transport closed'))
    const b = cluster.bookie(req.bookie)
    if (!b.up) return Promise.reject(new BookieConnectionError(`cannot connect to bookie ${req.bookie}: connection refused`))
    const clock = cluster.clock
    let action = cluster.onRequest?.(req)
    if (action === undefined && b.dropRate > 0 && cluster.random.nextFloat() < b.dropRate) {
      const where = b.dropWhere === 'either' ? (cluster.random.nextInt(2) === 0 ? 'request' : 'response') : b.dropWhere
      action = where === 'request' ? 'drop-request' : 'drop-response'
    }
    if (action === 'crash-before') {
      cluster.crash(req.bookie)
      return Promise.reject(new BookieConnectionError(`connection to bookie ${req.bookie} closed (crashed)`))
    }
    return new Promise<T>((resolve, reject) => {
      const timers: TimerHandle[] = []
      const flight: InFlight = {
        bookie: req.bookie,
        reject: (e) => {
          if (!this.inFlight.delete(flight)) return
          for (const t of timers) clock.clearTimeout(t)
          reject(e)
        },
      }
      const settle = (fn: () => void): void => {
        if (!this.inFlight.delete(flight)) return
        for (const t of timers) clock.clearTimeout(t)
        fn()
      }
      this.inFlight.add(flight)
      const timeoutMs = cluster.requestTimeoutMs + extraTimeoutMs
      timers.push(
        clock.setTimeout(() => {
          settle(() => reject(new TimeoutError(`${req.op} to bookie ${req.bookie} got no answer within ${timeoutMs} ms`)))
        }, timeoutMs),
      )
      if (action === 'drop-request') return
      timers.push(
        clock.setTimeout(() => {
          if (!b.up) return // the connection already failed this request
          let result: Promise<{ok: true; value: T} | {ok: false; error: unknown}>
          try {
            if (action instanceof Error) throw action
            result = Promise.resolve(apply(b)).then(
              (value) => ({ok: true as const, value}),
              (error: unknown) => ({ok: false as const, error}),
            )
          } catch (error) {
            result = Promise.resolve({ok: false as const, error})
          }
          void result.then((r) => {
            if (!this.inFlight.has(flight)) return
            if (action === 'crash-after') {
              cluster.crash(req.bookie)
              return
            }
            if (action === 'drop-response') return
            timers.push(
              clock.setTimeout(() => {
                settle(() => (r.ok ? resolve(r.value) : reject(r.error)))
              }, cluster.latency(b)),
            )
          })
        }, cluster.latency(b)),
      )
    })
  }
}

/** BookiePlacement over the cluster's live, writable bookies, choosing with the cluster's random. */
export class SimPlacement implements BookiePlacement {
  private readonly cluster: SimBookieCluster
  private closed = false

  constructor(cluster: SimBookieCluster) {
    this.cluster = cluster
  }

  /** As ZkBookiePlacement: a closed placement answers CLIENT_CLOSED. */
  private checkOpen(): void {
    if (this.closed) throw new LedgerError(LedgerErrorCode.CLIENT_CLOSED, 'bookie placement is closed')
  }

  async newEnsemble(size: number, exclude: ReadonlySet<BookieId> = new Set()): Promise<BookieId[]> {
    this.checkOpen()
    const candidates = this.cluster.writable().filter((b) => !exclude.has(b))
    if (candidates.length < size) throw new NotEnoughBookiesError(size, candidates.length)
    return shuffled(candidates, this.cluster.random).slice(0, size)
  }

  async replaceBookie(ensemble: readonly BookieId[], failed: BookieId, exclude: ReadonlySet<BookieId> = new Set()): Promise<BookieId> {
    this.checkOpen()
    const candidates = this.cluster.writable().filter((b) => b !== failed && !ensemble.includes(b) && !exclude.has(b))
    const pick = candidates[this.cluster.random.nextInt(candidates.length)]
    if (pick === undefined) throw new NotEnoughBookiesError(1, 0, {what: `replacing bookie ${failed}`})
    return pick
  }

  async writableBookies(): Promise<BookieId[]> {
    return this.cluster.writable()
  }

  close(): void {
    this.closed = true
  }

  get isClosed(): boolean {
    return this.closed
  }
}
