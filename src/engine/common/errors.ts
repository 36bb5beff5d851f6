/**
 * The root of every error the engine raises on purpose.
 *
 * Each protocol keeps its own code table (ZooKeeper codes in protocol/jute/zk-codes.ts, bookie codes in
 * protocol/bookie, DistributedLog status codes in protocol/record); an error carries one code from one
 * table, says whether repeating the operation may succeed (`retriable`), and keeps the error that caused
 * it (`cause`). Callers switch on classes and codes, never on message text.
 */

export interface DlogErrorOptions {
  /** True when the same operation may succeed if repeated (connection loss, timeouts, not-yet-ready). */
  retriable?: boolean
  cause?: unknown
}

export class DlogError extends Error {
  readonly code: number | string
  readonly retriable: boolean

  constructor(code: number | string, message: string, opts: DlogErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = 'DlogError'
    this.code = code
    this.retriable = opts.retriable ?? false
  }
}

/** Bad input from a user or a peer: a flag, a config file, a frame. Never retriable. */
export class InvalidInputError extends DlogError {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super('INVALID_INPUT', message, {retriable: false, cause: opts.cause})
    this.name = 'InvalidInputError'
  }
}

/** An operation ran out of its time bound. */
export class TimeoutError extends DlogError {
  constructor(message: string, opts: {cause?: unknown; retriable?: boolean} = {}) {
    super('TIMEOUT', message, {retriable: opts.retriable ?? true, cause: opts.cause})
    this.name = 'TimeoutError'
  }
}

/** A programmer error: an invariant that must hold did not. Never caught to carry on. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AssertionError'
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
