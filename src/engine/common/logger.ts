/**
 * A small structured logger. Engine code logs a message plus attributes (`log.warn('fence failed',
 * {ledgerId, bookie})`) and never formats for a terminal; a sink decides where lines go. The default
 * sink writes one line per record to stderr, so stdout stays free for command output.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const LEVEL_RANK: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40}

export type LogAttrs = Record<string, unknown>

export interface LogRecordLine {
  level: LogLevel
  timeMs: number
  scope: string
  message: string
  attrs: LogAttrs
}

export type LogSink = (line: LogRecordLine) => void

export class Logger {
  readonly scope: string
  private readonly level: LogLevel
  private readonly sink: LogSink

  constructor(opts: {scope?: string; level?: LogLevel; sink?: LogSink} = {}) {
    this.scope = opts.scope ?? 'dlog'
    this.level = opts.level ?? 'info'
    this.sink = opts.sink ?? stderrSink
  }

  child(scope: string): Logger {
    return new Logger({scope: `${this.scope}.${scope}`, level: this.level, sink: this.sink})
  }

  debug(message: string, attrs: LogAttrs = {}): void {
    this.emit('debug', message, attrs)
  }

  info(message: string, attrs: LogAttrs = {}): void {
    this.emit('info', message, attrs)
  }

  warn(message: string, attrs: LogAttrs = {}): void {
    this.emit('warn', message, attrs)
  }

  error(message: string, attrs: LogAttrs = {}): void {
    this.emit('error', message, attrs)
  }

  private emit(level: LogLevel, message: string, attrs: LogAttrs): void {
    if (LEVEL_RANK[level] < LEVEL_RANK[this.level]) return
    this.sink({level, timeMs: Date.now(), scope: this.scope, message, attrs})
  }
}

function formatAttr(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message)
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value
  return JSON.stringify(value)
}

export const stderrSink: LogSink = (line) => {
  const attrs = Object.entries(line.attrs)
    .map(([k, v]) => `${k}=${formatAttr(v)}`)
    .join(' ')
  const ts = new Date(line.timeMs).toISOString()
  process.stderr.write(`${ts} ${line.level.toUpperCase()} ${line.scope} ${line.message}${attrs ? ' ' + attrs : ''}\n`)
}

/** Discards everything: the default for tests and for library use that wants silence. */
export const nullSink: LogSink = () => {}

export const silentLogger = new Logger({sink: nullSink})
