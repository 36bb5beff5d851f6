/**
 * A bookie running in a child process of the sandbox (bookie-main.ts), so bookies use the other cores
 * instead of sharing the sandbox's event loop. The child reports over IPC when it is registered or why
 * it failed; its stdout and stderr go to a log file that error messages name.
 *
 * The child runs in its own process group: Ctrl-C in the terminal reaches only the sandbox, which
 * then stops the bookies in order (SIGTERM, a bounded wait, SIGKILL). The IPC channel doubles as the
 * parent's heartbeat: the child exits when it closes, so a kill -9 of the sandbox leaves no orphans.
 */
import {type ChildProcess, fork} from 'node:child_process'
import {closeSync, openSync, readSync, statSync} from 'node:fs'
import {extname} from 'node:path'
import {fileURLToPath} from 'node:url'

import {errorMessage} from '../common/errors.js'
import {ClusterError} from './errors.js'

/** What a bookie child says over IPC (bookie-main.ts). */
export type BookieChildMessage =
  | {type: 'ready'; bookieId: string; port: number; statsPort: number}
  | {type: 'failed'; message: string; addressInUse: boolean}

/** Bytes of a bookie's log quoted in an error message. */
const LOG_TAIL_BYTES = 2_000

export interface BookieProcessOptions {
  /** Shown in messages: "bookie-2". */
  name: string
  confPath: string
  logPath: string
  readyTimeoutMs: number
}

/** A bookie child that failed to start; addressInUse says another port may succeed. */
export class BookieStartError extends ClusterError {
  readonly addressInUse: boolean
  constructor(message: string, addressInUse: boolean) {
    super('START_FAILED', message)
    this.name = 'BookieStartError'
    this.addressInUse = addressInUse
  }
}

function entryPath(): {path: string; execArgv: string[]} {
  const self = fileURLToPath(import.meta.url)
  const ext = extname(self)
  // From source (tests run through tsx) the child needs the same loader; from dist/ it needs none.
  return {path: fileURLToPath(new URL(`./bookie-main${ext}`, import.meta.url)), execArgv: ext === '.ts' ? ['--import', 'tsx'] : []}
}

/** The last bytes of a log file, for error messages; '' if unreadable. */
export function logTail(path: string, bytes = LOG_TAIL_BYTES): string {
  try {
    const size = statSync(path).size
    const fd = openSync(path, 'r')
    try {
      // A positioned read keeps memory bounded however large the log grew.
      const buf = Buffer.alloc(Math.min(size, bytes))
      const n = readSync(fd, buf, 0, buf.length, Math.max(0, size - bytes))
      return buf.subarray(0, n).toString('utf8').trim()
    } finally {
      closeSync(fd)
    }
  } catch {
    return ''
  }
}

export class BookieProcess {
  readonly name: string
  readonly logPath: string
  readonly pid: number
  readonly bookieId: string
  readonly port: number
  readonly statsPort: number
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  private readonly child: ChildProcess

  private constructor(
    opts: BookieProcessOptions,
    child: ChildProcess,
    ready: Extract<BookieChildMessage, {type: 'ready'}>,
    exited: BookieProcess['exited'],
  ) {
    this.name = opts.name
    this.logPath = opts.logPath
    this.child = child
    this.pid = child.pid as number
    this.bookieId = ready.bookieId
    this.port = ready.port
    this.statsPort = ready.statsPort
    this.exited = exited
  }

  /** Forks the bookie and resolves once it is registered; BookieStartError otherwise (child gone). */
  static async start(opts: BookieProcessOptions): Promise<BookieProcess> {
    const {path, execArgv} = entryPath()
    const logFd = openSync(opts.logPath, 'a')
    let child: ChildProcess
    try {
      child = fork(path, [opts.confPath], {stdio: ['ignore', logFd, logFd, 'ipc'], execArgv, detached: true, serialization: 'json'})
    } finally {
      closeSync(logFd)
    }
    const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => {
      child.once('exit', (code, signal) => resolve({code, signal}))
    })
    const failWith = (why: string, addressInUse: boolean): BookieStartError => {
      const tail = logTail(opts.logPath)
      return new BookieStartError(
        `${opts.name} failed to start: ${why} (log: ${opts.logPath})${tail === '' ? '' : `\n--- last lines of ${opts.logPath} ---\n${tail}`}`,
        addressInUse,
      )
    }
    const ready = await new Promise<Extract<BookieChildMessage, {type: 'ready'}>>((resolve, reject) => {
      let failure: Extract<BookieChildMessage, {type: 'failed'}> | undefined
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(failWith(`not registered within ${opts.readyTimeoutMs} ms`, false))
      }, opts.readyTimeoutMs)
      child.on('message', (m: BookieChildMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer)
          resolve(m)
        } else if (m.type === 'failed') failure = m
      })
      child.once('error', (e) => {
        clearTimeout(timer)
        reject(failWith(`cannot run ${path}: ${errorMessage(e)}`, false))
      })
      void exited.then(({code, signal}) => {
        clearTimeout(timer)
        const why = failure?.message ?? `the process exited (${signal ?? `code ${code}`}) before registering`
        reject(failWith(why, failure?.addressInUse ?? false))
      })
    })
    // The handle must not keep the sandbox alive by itself, yet the IPC channel stays open (the child
    // watches it); the sandbox's own lifetime is held by its ZooKeeper server and signal handlers.
    child.unref()
    child.channel?.unref()
    return new BookieProcess(opts, child, ready, exited)
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** SIGTERM (graceful: unregister, drain, checkpoint), then SIGKILL after graceMs. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }

  /** Kills at once (a failed start's cleanup). */
  async kill(): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGKILL')
    await this.exited
  }
}
