/**
 * Terminal rendering: tables, colour and spinners. Only src/cli and src/commands draw; the engine
 * returns data. Colour and spinners switch off when the stream is not a terminal (chalk and ora do
 * this by themselves), so piped output stays plain and stable for scripts and tests.
 */
import chalk from 'chalk'
import Table from 'cli-table3'
import ora, {type Ora} from 'ora'

export function renderTable(head: string[], rows: (string | number | boolean | bigint | null | undefined)[][]): string {
  const table = new Table({head, style: {head: [], border: []}})
  for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '' : String(c))))
  return table.toString()
}

export const colour = {
  ok: (s: string) => chalk.green(s),
  warn: (s: string) => chalk.yellow(s),
  bad: (s: string) => chalk.red(s),
  dim: (s: string) => chalk.dim(s),
  name: (s: string) => chalk.cyan(s),
}

/** Colours for stream names in multi-stream output, picked stably by name. */
const STREAM_COLOURS = [chalk.cyan, chalk.magenta, chalk.yellow, chalk.green, chalk.blue, chalk.redBright]
export function streamColour(name: string): (s: string) => string {
  let h = 0
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0
  return STREAM_COLOURS[h % STREAM_COLOURS.length] as (s: string) => string
}

/** Runs `work` under a spinner on stderr (only on a terminal) and returns its result. */
export async function withSpinner<T>(text: string, work: () => Promise<T>): Promise<T> {
  const spinner: Ora | undefined = process.stderr.isTTY ? ora({text, stream: process.stderr}).start() : undefined
  try {
    const result = await work()
    spinner?.succeed()
    return result
  } catch (e) {
    spinner?.fail()
    throw e
  }
}
