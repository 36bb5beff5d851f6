/** Exit codes of every dlog command; also printed in the man pages' EXIT STATUS section. */
export const ExitCode = {
  OK: 0,
  /** The operation failed (a server refused, data was missing, a write failed). */
  FAILURE: 1,
  /** Bad usage: an unknown flag, a missing argument, an invalid value. */
  USAGE: 2,
  /** The user answered No at a confirmation prompt, or stdin closed before an answer. */
  DECLINED: 3,
  /** A server could not be reached in time. */
  UNAVAILABLE: 4,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const EXIT_CODE_HELP: Record<ExitCode, string> = {
  0: 'success',
  1: 'the operation failed',
  2: 'bad usage: unknown flag, missing argument or invalid value',
  3: 'declined at a confirmation prompt (or stdin closed before an answer)',
  4: 'a server could not be reached in time',
}
