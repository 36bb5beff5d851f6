/**
 * Typed ZooKeeper errors for every caller of the client facade (bookie registration, ledger metadata,
 * DL namespaces and locks). Each error carries the KeeperException code from protocol/jute/zk-codes.ts
 * and the path it concerns; callers switch on the class (`e instanceof NoNodeError`) or on `code`.
 *
 * `retriable` means "the same request may succeed if sent again" (connection loss, operation timeout).
 * For a write that failed with ConnectionLossError the outcome is unknown (`outcomeUnknown`): the
 * server may have applied it before the connection dropped, so repeating it blindly can report a
 * false NodeExists/BadVersion/NoNode. The facade never repeats writes on its own (see zk-client.ts).
 */
import {DlogError} from '../../common/errors.js'
import {ZK_CODE_TEXT, ZKCode} from '../../protocol/jute/zk-codes.js'

export interface ZKErrorOptions {
  path?: string
  cause?: unknown
  /** Overrides the default message (`KeeperErrorCode = <text> for <path>`, as the Java client words it). */
  message?: string
  /** For a failed multi: the index of the op that failed and every op's result code. */
  multi?: MultiFailure
}

export interface MultiFailure {
  opIndex: number
  /** Per op: 0 for ops before the failing one, its code, then -2 (RUNTIMEINCONSISTENCY) for the rest. */
  codes: number[]
}

/** The message the Java client uses for KeeperException.getMessage(): zkCli's fallback wording. */
export function keeperErrorMessage(code: number, path?: string): string {
  const text = (ZK_CODE_TEXT as Record<number, string>)[code] ?? `Unknown error ${code}`
  return `KeeperErrorCode = ${text}${path === undefined ? '' : ` for ${path}`}`
}

export class ZKError extends DlogError {
  declare readonly code: number
  readonly path: string | undefined
  readonly multi: MultiFailure | undefined

  constructor(code: number, opts: ZKErrorOptions = {}, retriable = false) {
    super(code, opts.message ?? keeperErrorMessage(code, opts.path), {retriable, cause: opts.cause})
    this.name = 'ZKError'
    this.path = opts.path
    this.multi = opts.multi
  }
}

export class NoNodeError extends ZKError {
  constructor(opts: ZKErrorOptions = {}) {
    super(ZKCode.NO_NODE, opts)
    this.name = 'NoNodeError'
  }
}

export class NodeExistsError extends ZKError {
  constructor(opts: ZKErrorOptions = {}) {
    super(ZKCode.NODE_EXISTS, opts)
    this.name = 'NodeExistsError'
  }
}

export class BadVersionError extends ZKError {
  constructor(opts: ZKErrorOptions = {}) {
    super(ZKCode.BAD_VERSION, opts)
    this.name = 'BadVersionError'
  }
}

export class NotEmptyError extends ZKError {
  constructor(opts: ZKErrorOptions = {}) {
    super(ZKCode.NOT_EMPTY, opts)
    this.name = 'NotEmptyError'
  }
}

export class NoChildrenForEphemeralsError extends ZKError {
  constructor(opts: ZKErrorOptions = {}) {
    super(ZKCode.NO_CHILDREN_FOR_EPHEMERALS, opts)
    this.name = 'NoChildrenForEphemeralsError'
  }
}

/** An invalid path or argument, refused by the facade before sending or by the server (-8). */
export class BadArgumentsError extends ZKError {
  constructor(opts: ZKErrorOptions = {}) {
    super(ZKCode.BAD_ARGUMENTS, opts)
    this.name = 'BadArgumentsError'
  }
}

/** The session is gone (expired at the server, or this client was closed after expiry). Never retriable. */
export class SessionExpiredError extends ZKError {
  constructor(opts: ZKErrorOptions = {}) {
    super(ZKCode.SESSION_EXPIRED, opts)
    this.name = 'SessionExpiredError'
  }
}

/**
 * The connection dropped (or no reply came in time) before the reply arrived. Retriable; for writes
 * `outcomeUnknown` is true: the server may or may not have applied the request.
 */
export class ConnectionLossError extends ZKError {
  readonly outcomeUnknown: boolean

  constructor(opts: ZKErrorOptions & {outcomeUnknown?: boolean} = {}) {
    super(ZKCode.CONNECTION_LOSS, opts, true)
    this.name = 'ConnectionLossError'
    this.outcomeUnknown = opts.outcomeUnknown ?? false
  }
}

/** The first connection to the ensemble could not be made within connectTimeoutMs. */
export class ZKConnectTimeoutError extends ZKError {
  readonly connectString: string

  constructor(opts: {connectString: string; timeoutMs: number; cause?: unknown}) {
    super(
      ZKCode.CONNECTION_LOSS,
      {
        message: `could not connect to ZooKeeper at ${opts.connectString} within ${opts.timeoutMs} ms`,
        cause: opts.cause,
      },
      true,
    )
    this.name = 'ZKConnectTimeoutError'
    this.connectString = opts.connectString
  }
}

/** Maps a KeeperException code to its typed error. `write` marks connection loss as outcome-unknown. */
export function zkErrorFromCode(code: number, opts: ZKErrorOptions & {write?: boolean} = {}): ZKError {
  switch (code) {
    case ZKCode.NO_NODE:
      return new NoNodeError(opts)
    case ZKCode.NODE_EXISTS:
      return new NodeExistsError(opts)
    case ZKCode.BAD_VERSION:
      return new BadVersionError(opts)
    case ZKCode.NOT_EMPTY:
      return new NotEmptyError(opts)
    case ZKCode.NO_CHILDREN_FOR_EPHEMERALS:
      return new NoChildrenForEphemeralsError(opts)
    case ZKCode.BAD_ARGUMENTS:
      return new BadArgumentsError(opts)
    case ZKCode.SESSION_EXPIRED:
      return new SessionExpiredError(opts)
    case ZKCode.CONNECTION_LOSS:
      return new ConnectionLossError({...opts, outcomeUnknown: opts.write ?? false})
    case ZKCode.OPERATION_TIMEOUT:
      return new ZKError(code, opts, true)
    default:
      return new ZKError(code, opts)
  }
}
