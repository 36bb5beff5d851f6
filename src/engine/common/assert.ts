/**
 * Assertions for invariants. A failed assertion is a bug in dlog, not bad input: it throws
 * AssertionError and the caller must not try to carry on. Bad input gets a typed DlogError instead.
 */
import {AssertionError} from './errors.js'

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function assertNever(value: never, message = 'unexpected value'): never {
  throw new AssertionError(`${message}: ${String(value)}`)
}
