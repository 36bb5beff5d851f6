/**
 * `dlog zkshell`: a ZooKeeper shell that mirrors Apache zkCli (ZooKeeperMain, 3.8 wording) so the
 * DistributedLog docs' transcripts read the same:
 *
 *   Connecting to localhost:2181
 *   Welcome to ZooKeeper!
 *   JLine support is enabled
 *
 *   WATCHER::
 *
 *   WatchedEvent state:SyncConnected type:None path:null
 *   [zk: localhost:2181(CONNECTED) 0] create /messaging ''
 *   Created /messaging
 *
 * Like zkCli: results (ls, get, stat, `Sync is OK`) go to stdout; `Created ...`, errors and usage go
 * to stderr; ls sorts children; a prompt is shown only on a terminal; piped stdin runs line by line,
 * end of input ends the shell cleanly and the exit status is the last command's (0 if it worked, as
 * zkCli does); one-shot mode (`zkshell HOST:PORT ls /`) prints no welcome lines and
 * exits 1 when the command fails. Differences, on purpose: one-shot mode closes its session (zkCli
 * leaves it to expire, keeping its ephemerals ~30 s); `set path data version` and `delete path version`
 * honour the positional version of zkCli 3.4 (3.8 silently ignores it); an unknown command exits 2 and
 * an unreachable server exits 4 (dlog's exit codes) instead of zkCli's 127 and 1; `sync` is a read
 * round trip (see ZKClient.sync). Logic only: the oclif command wires it to process stdin/stdout.
 */
import {createInterface} from 'node:readline'
import type {Readable, Writable} from 'node:stream'

import {errorMessage} from '../../common/errors.js'
import type {CreateMode} from './args.js'
import {
  BadArgumentsError,
  BadVersionError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  ZKConnectTimeoutError,
  ZKError,
} from './errors.js'
import {childPath, pathProblem} from './paths.js'
import {hex64, type Stat} from './stat.js'
import type {Watcher, WatchEvent, ZKClientState} from './zk-client.js'

/** The part of ZKClient the shell uses (a fake implements it in unit tests). */
export interface ShellClient {
  readonly state: ZKClientState
  exists(path: string, watcher?: Watcher): Promise<Stat | null>
  getData(path: string, watcher?: Watcher): Promise<{data: Buffer | undefined; stat: Stat}>
  setData(path: string, data: Buffer | string | null, version?: number): Promise<Stat>
  getChildrenWithStat(path: string, watcher?: Watcher): Promise<{children: string[]; stat: Stat}>
  create(path: string, data?: Buffer | string | null, mode?: CreateMode): Promise<string>
  delete(path: string, version?: number): Promise<void>
  deleteRecursive(path: string): Promise<number>
  sync(path: string): Promise<void>
  close(): Promise<void>
  on(event: 'connected' | 'disconnected' | 'expired', fn: () => void): unknown
}

export interface ShellIO {
  out(text: string): void
  err(text: string): void
}

/** Exit codes (dlog's table, src/cli/exit-codes.ts): 1 failed command, 2 bad usage, 4 unreachable. */
export const ShellExit = {OK: 0, FAILURE: 1, USAGE: 2, UNAVAILABLE: 4} as const

const HISTORY_MAX = 1_000
const HISTORY_SHOWN = 11
const LINE_BYTES_MAX = 4 * 1024 * 1024
const LS_RECURSIVE_NODES_MAX = 100_000

interface CommandSpec {
  usage: string
  /** Flags without a value. */
  switches: string
  /** Flags taking a value. */
  valued: string
}

const COMMANDS: Record<string, CommandSpec> = {
  create: {usage: 'create [-s] [-e] path [data]', switches: 'se', valued: ''},
  delete: {usage: 'delete [-v version] path', switches: '', valued: 'v'},
  deleteall: {usage: 'deleteall path', switches: '', valued: 'b'},
  get: {usage: 'get [-s] [-w] path', switches: 'sw', valued: ''},
  help: {usage: 'help ', switches: '', valued: ''},
  history: {usage: 'history ', switches: '', valued: ''},
  ls: {usage: 'ls [-s] [-w] [-R] path', switches: 'swR', valued: ''},
  quit: {usage: 'quit ', switches: '', valued: ''},
  redo: {usage: 'redo cmdno', switches: '', valued: ''},
  set: {usage: 'set [-s] [-v version] path data', switches: 's', valued: 'v'},
  stat: {usage: 'stat [-w] path', switches: 'w', valued: ''},
  sync: {usage: 'sync path', switches: '', valued: ''},
}

export function usageText(): string {
  const lines = ['ZooKeeper -server host:port cmd args']
  for (const name of Object.keys(COMMANDS).sort()) lines.push(`\t${(COMMANDS[name] as CommandSpec).usage}`)
  return lines.join('\n') + '\n'
}

/** Splits a command line like zkCli: "double quoted", 'single quoted' ('' is an empty argument) or bare words. */
export function tokenize(line: string): string[] {
  const out: string[] = []
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '')
  return out
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** java.util.Date.toString(): `Mon Nov 23 01:51:57 UTC 2026`, in `timeZone` (default: the process's). */
export function formatJavaDate(ms: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    weekday: 'short',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms))
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? ''
  const weekday = DAYS.find((d) => d === p('weekday')) ?? p('weekday')
  return `${weekday} ${MONTHS[Number(p('month')) - 1]} ${p('day')} ${p('hour')}:${p('minute')}:${p('second')} ${p('timeZoneName')} ${p('year')}`
}

/** The Stat block zkCli prints (`stat`, `get -s`, `ls -s`, `set -s`). */
export function formatStat(stat: Stat, timeZone?: string): string {
  return (
    [
      `cZxid = ${hex64(stat.czxid)}`,
      `ctime = ${formatJavaDate(stat.ctimeMs, timeZone)}`,
      `mZxid = ${hex64(stat.mzxid)}`,
      `mtime = ${formatJavaDate(stat.mtimeMs, timeZone)}`,
      `pZxid = ${hex64(stat.pzxid)}`,
      `cversion = ${stat.cversion}`,
      `dataVersion = ${stat.version}`,
      `aclVersion = ${stat.aversion}`,
      `ephemeralOwner = ${hex64(stat.ephemeralOwner)}`,
      `dataLength = ${stat.dataLength}`,
      `numChildren = ${stat.numChildren}`,
    ].join('\n') + '\n'
  )
}

/** zkCli's message for a failed ZooKeeper call (CliWrapperException wording). */
export function shellErrorMessage(e: unknown): string {
  if (e instanceof BadArgumentsError && e.message !== '' && !e.message.startsWith('KeeperErrorCode')) return e.message
  if (e instanceof ZKError) {
    const path = e.path ?? ''
    if (e instanceof NoNodeError) return `Node does not exist: ${path}`
    if (e instanceof NodeExistsError) return `Node already exists: ${path}`
    if (e instanceof NotEmptyError) return `Node not empty: ${path}`
    if (e instanceof BadVersionError) return `version No is not valid : ${path}`
    if (e instanceof NoChildrenForEphemeralsError) return `Ephemerals cannot have children: ${path}`
    if (e instanceof BadArgumentsError) return `Arguments are not valid : ${path}`
    if (e.code === -114) return `Acl is not valid : ${path}`
    if (e.code === -102) return `Insufficient permission : ${path}`
  }
  return errorMessage(e)
}

const STATE_NAMES: Record<ZKClientState, string> = {
  connecting: 'CONNECTING',
  connected: 'CONNECTED',
  disconnected: 'CONNECTING',
  expired: 'CLOSED',
  closed: 'CLOSED',
}

const EVENT_NAMES: Record<WatchEvent['type'], string> = {
  created: 'NodeCreated',
  deleted: 'NodeDeleted',
  dataChanged: 'NodeDataChanged',
  childrenChanged: 'NodeChildrenChanged',
  sessionExpired: 'None',
  closed: 'None',
}

function watcherBlock(state: string, type: string, path: string | null): string {
  return `\nWATCHER::\n\nWatchedEvent state:${state} type:${type} path:${path ?? 'null'}\n`
}

class UsageError extends Error {}

interface Parsed {
  flags: Map<string, string | true>
  args: string[]
}

function parseArgs(spec: CommandSpec, tokens: readonly string[]): Parsed {
  const flags = new Map<string, string | true>()
  const args: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string
    const m = /^-(\w)$/.exec(t)
    if (m && spec.switches.includes(m[1] as string)) flags.set(m[1] as string, true)
    else if (m && spec.valued.includes(m[1] as string)) {
      const v = tokens[++i]
      if (v === undefined) throw new UsageError()
      flags.set(m[1] as string, v)
    } else if (/^-\w$/.test(t)) throw new UsageError()
    else args.push(t)
  }
  return {flags, args}
}

function parseVersion(text: string): number {
  if (!/^-?\d+$/.test(text) || Number(text) < -1 || Number(text) > 2 ** 31 - 1) throw new UsageError()
  return Number(text)
}

export interface ZKShellOptions {
  connectString: string
  client: ShellClient
  io: ShellIO
  /** Print asynchronous watch and session events (interactive and piped modes). */
  printEvents?: boolean
  timeZone?: string
}

export interface LineOutcome {
  /** 0 ok, 1 the ZooKeeper call failed, 2 bad usage / unknown command. */
  code: number
  quit: boolean
}

/** One shell session over a connected client: executes lines, keeps history and the command counter. */
export class ZKShell {
  readonly connectString: string
  private readonly client: ShellClient
  private readonly io: ShellIO
  private readonly timeZone: string | undefined
  private readonly printEvents: boolean
  private readonly historyLines: string[] = []
  /** Number of the next command (shown in the prompt); history index = command number. */
  private commandCount = 0
  private historyBase = 0

  constructor(opts: ZKShellOptions) {
    this.connectString = opts.connectString
    this.client = opts.client
    this.io = opts.io
    this.timeZone = opts.timeZone
    this.printEvents = opts.printEvents ?? false
    if (this.printEvents) {
      opts.client.on('disconnected', () => this.io.out(watcherBlock('Disconnected', 'None', null)))
      opts.client.on('connected', () => this.io.out(watcherBlock('SyncConnected', 'None', null)))
      opts.client.on('expired', () => this.io.out(watcherBlock('Expired', 'None', null)))
    }
  }

  prompt(): string {
    return `[zk: ${this.connectString}(${STATE_NAMES[this.client.state]}) ${this.commandCount}] `
  }

  /** Runs one input line (blank lines are ignored and not counted, as in zkCli). */
  async executeLine(line: string): Promise<LineOutcome> {
    if (line.length > LINE_BYTES_MAX) {
      this.io.err(`line longer than ${LINE_BYTES_MAX} characters ignored\n`)
      return {code: ShellExit.USAGE, quit: false}
    }
    if (line.trim() === '') return {code: ShellExit.OK, quit: false}
    this.historyLines.push(line)
    if (this.historyLines.length > HISTORY_MAX) {
      this.historyLines.shift()
      this.historyBase++
    }
    this.commandCount++
    return this.execute(tokenize(line))
  }

  /** Runs one already tokenized command (one-shot mode: `zkshell HOST:PORT ls /`). */
  async execute(tokens: readonly string[]): Promise<LineOutcome> {
    const [name = '', ...rest] = tokens
    const spec = COMMANDS[name]
    if (!spec) {
      this.io.err(usageText())
      this.io.err(`Command not found: Command not found ${name}\n`)
      return {code: ShellExit.USAGE, quit: false}
    }
    try {
      return await this.run(name, spec, rest)
    } catch (e) {
      if (e instanceof UsageError) {
        this.io.err(`${spec.usage.trimEnd()}\n`)
        return {code: ShellExit.USAGE, quit: false}
      }
      this.io.err(`${shellErrorMessage(e)}\n`)
      return {code: ShellExit.FAILURE, quit: false}
    }
  }

  private path(args: string[], index = 0): string {
    const path = args[index]
    if (path === undefined) throw new UsageError()
    const problem = pathProblem(path)
    if (problem !== undefined) throw new BadArgumentsError({path, message: problem})
    return path
  }

  private watcher(watch: boolean): Watcher | undefined {
    if (!watch || !this.printEvents) return watch ? () => {} : undefined
    return (e) => {
      if (e.type !== 'closed' && e.type !== 'sessionExpired') this.io.out(watcherBlock('SyncConnected', EVENT_NAMES[e.type], e.path))
    }
  }

  private async run(name: string, spec: CommandSpec, tokens: string[]): Promise<LineOutcome> {
    const ok: LineOutcome = {code: ShellExit.OK, quit: false}
    const {flags, args} = parseArgs(spec, tokens)
    const out = (s: string) => this.io.out(s)
    switch (name) {
      case 'ls': {
        const path = this.path(args)
        if (flags.has('R')) {
          await this.listRecursive(path)
          return ok
        }
        const {children, stat} = await this.client.getChildrenWithStat(path, this.watcher(flags.has('w')))
        out(`[${[...children].sort().join(', ')}]\n`)
        if (flags.has('s')) out(formatStat(stat, this.timeZone))
        return ok
      }
      case 'stat': {
        const path = this.path(args)
        const stat = await this.client.exists(path, this.watcher(flags.has('w')))
        if (!stat) throw new NoNodeError({path})
        out(formatStat(stat, this.timeZone))
        return ok
      }
      case 'get': {
        const path = this.path(args)
        const {data, stat} = await this.client.getData(path, this.watcher(flags.has('w')))
        out(`${data === undefined ? 'null' : data.toString('utf8')}\n`)
        if (flags.has('s')) out(formatStat(stat, this.timeZone))
        return ok
      }
      case 'set': {
        const path = this.path(args)
        const data = args[1]
        if (data === undefined || args.length > 3) throw new UsageError()
        const v = flags.get('v')
        const version = typeof v === 'string' ? parseVersion(v) : args[2] !== undefined ? parseVersion(args[2]) : -1
        const stat = await this.client.setData(path, data, version)
        if (flags.has('s')) out(formatStat(stat, this.timeZone))
        return ok
      }
      case 'create': {
        const path = this.path(args)
        if (args.length > 3) {
          this.io.err('ACLs are not supported by dlog zkshell (nodes are created with world:anyone:cdrwa)\n')
          return {code: ShellExit.USAGE, quit: false}
        }
        const e = flags.has('e')
        const s = flags.has('s')
        const mode: CreateMode = e ? (s ? 'ephemeral_sequential' : 'ephemeral') : s ? 'persistent_sequential' : 'persistent'
        // zkCli passes null data when no data argument is given; `''` is an empty (non-null) value.
        const created = await this.client.create(path, args[1] ?? null, mode)
        this.io.err(`Created ${created}\n`)
        return ok
      }
      case 'delete': {
        const path = this.path(args)
        if (args.length > 2) throw new UsageError()
        const v = flags.get('v')
        const version = typeof v === 'string' ? parseVersion(v) : args[1] !== undefined ? parseVersion(args[1]) : -1
        await this.client.delete(path, version)
        return ok
      }
      case 'deleteall': {
        const path = this.path(args)
        if (path === '/') throw new BadArgumentsError({path, message: 'Arguments are not valid : /'})
        await this.client.deleteRecursive(path)
        return ok
      }
      case 'sync': {
        await this.client.sync(this.path(args))
        out('Sync is OK\n')
        return ok
      }
      case 'history': {
        const first = Math.max(this.historyBase, this.commandCount - HISTORY_SHOWN)
        for (let i = first; i < this.commandCount; i++) out(`${i} - ${this.historyLines[i - this.historyBase] ?? ''}\n`)
        return ok
      }
      case 'redo': {
        const n = args[0] === undefined || !/^\d+$/.test(args[0]) ? NaN : Number(args[0])
        if (!Number.isSafeInteger(n) || n < this.historyBase || n >= this.commandCount - 1) {
          this.io.err('Command index out of range\n')
          return {code: ShellExit.FAILURE, quit: false}
        }
        const line = this.historyLines[n - this.historyBase] as string
        // Like zkCli, the redone command replaces `redo N` in the history.
        this.historyLines[this.historyLines.length - 1] = line
        return this.execute(tokenize(line))
      }
      case 'help':
        out(usageText())
        return ok
      case 'quit':
        return {code: ShellExit.OK, quit: true}
      default:
        throw new UsageError()
    }
  }

  /** `ls -R`: the path and every node below it, depth first, children sorted. */
  private async listRecursive(path: string): Promise<void> {
    const stack = [path]
    let listed = 0
    while (stack.length > 0) {
      const p = stack.pop() as string
      this.io.out(`${p}\n`)
      if (++listed >= LS_RECURSIVE_NODES_MAX) {
        this.io.err(`ls -R stopped after ${LS_RECURSIVE_NODES_MAX} nodes\n`)
        return
      }
      let children: string[]
      try {
        children = (await this.client.getChildrenWithStat(p)).children
      } catch (e) {
        if (e instanceof NoNodeError && p !== path) continue
        throw e
      }
      for (const c of [...children].sort().reverse()) stack.push(childPath(p, c))
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Entry points used by src/commands/zkshell.ts

export interface RunShellOptions {
  connectString: string
  /** Tokens after HOST:PORT; empty = interactive / piped mode. */
  command: string[]
  connect: (connectString: string) => Promise<ShellClient>
  stdin: Readable
  stdout: Writable
  stderr: Writable
  /** True when stdin is a terminal: prompt, line editing, history keys. */
  terminal: boolean
  timeZone?: string
}

/** Connects, runs one command or a read-eval loop, closes; resolves to the process exit code. */
export async function runShell(opts: RunShellOptions): Promise<number> {
  const io: ShellIO = {out: (s) => void opts.stdout.write(s), err: (s) => void opts.stderr.write(s)}
  const oneShot = opts.command.length > 0
  io.out(`Connecting to ${opts.connectString}\n`)
  if (!oneShot) io.out(`Welcome to ZooKeeper!\nJLine support is ${opts.terminal ? 'enabled' : 'disabled'}\n`)
  let client: ShellClient
  try {
    client = await opts.connect(opts.connectString)
  } catch (e) {
    io.err(`${errorMessage(e)}\n`)
    return e instanceof ZKConnectTimeoutError || (e instanceof ZKError && e.retriable) ? ShellExit.UNAVAILABLE : ShellExit.FAILURE
  }
  io.out(watcherBlock('SyncConnected', 'None', null))
  const shell = new ZKShell({connectString: opts.connectString, client, io, printEvents: !oneShot, timeZone: opts.timeZone})
  try {
    if (oneShot) return (await shell.execute(opts.command)).code
    return await readEvalLoop(shell, opts)
  } finally {
    await client.close()
  }
}

async function readEvalLoop(shell: ZKShell, opts: RunShellOptions): Promise<number> {
  const rl = createInterface({
    input: opts.stdin,
    output: opts.terminal ? opts.stdout : undefined,
    terminal: opts.terminal,
    historySize: opts.terminal ? HISTORY_MAX : 0,
  })
  // Ctrl-C at the prompt ends the shell like zkCli (the JVM exits on SIGINT).
  rl.on('SIGINT', () => rl.close())
  // Like zkCli, the exit status is the last command's (quit and blank lines leave it alone).
  let code: number = ShellExit.OK
  try {
    if (opts.terminal) {
      rl.setPrompt(shell.prompt())
      rl.prompt()
    }
    for await (const line of rl) {
      const outcome = await shell.executeLine(line)
      if (line.trim() !== '' && !outcome.quit) code = outcome.code
      if (outcome.quit) {
        opts.stdout.write(watcherBlock('Closed', 'None', null))
        break
      }
      if (opts.terminal) {
        rl.setPrompt(shell.prompt())
        rl.prompt()
      }
    }
  } finally {
    rl.close()
  }
  return code
}
