/**
 * Errors of the cluster layer (the sandbox and the daemons), one code table. Every failure names
 * what failed and where to look (a port, a directory, a bookie and its log file).
 */
import {DlogError} from '../common/errors.js'

export const ClusterErrorCode = {
  /** A port the sandbox or a daemon needs is taken. */
  PORT_IN_USE: 'PORT_IN_USE',
  /** Another sandbox or daemon already runs (same port, same data dir, same pid file). */
  ALREADY_RUNNING: 'ALREADY_RUNNING',
  /** A directory cannot be created or written. */
  DIR_UNUSABLE: 'DIR_UNUSABLE',
  /** A child process (bookie, daemon) failed to start or did not become ready in time. */
  START_FAILED: 'START_FAILED',
  /** The persisted sandbox description (sandbox.json) cannot be used. */
  BAD_STATE: 'BAD_STATE',
  /** The service exists in the original but not here yet (writeproxy before the proxy). */
  NOT_AVAILABLE: 'NOT_AVAILABLE',
} as const
export type ClusterErrorCode = (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode]

export class ClusterError extends DlogError {
  constructor(code: ClusterErrorCode, message: string, opts: {cause?: unknown; retriable?: boolean} = {}) {
    super(code, message, {retriable: opts.retriable ?? false, cause: opts.cause})
    this.name = 'ClusterError'
  }
}
