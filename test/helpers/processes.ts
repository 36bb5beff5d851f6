/**
 * Child processes for integration and fault tests: every process a test starts is tracked and ended
 * by PID in cleanup (SIGKILL if it does not exit after SIGTERM), and output is captured so a failing
 * test can show it.
 */
import {type ChildProcess, spawn, type SpawnOptions} from 'node:child_process'
import {once} from 'node:events'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface Proc {
  child: ChildProcess
  pid: number
  output(): string
  stdout(): string
  stderr(): string
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  kill(signal?: NodeJS.Signals): void
  stop(timeoutMs?: number): Promise<void>
}

export function startProcess(cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(cmd, args, {stdio: ['pipe', 'pipe', 'pipe'], ...opts})
  let out = ''
  let err = ''
  let all = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d
    all += d
  })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d
    all += d
  })
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }))
  const proc: Proc = {
    child,
    pid: child.pid as number,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    stop: async (timeoutMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      await exited
      clearTimeout(t)
    },
  }
  return proc
}

/** Runs the built CLI (bin/run.js over dist/) as a user would. */
export function startCli(args: string[], opts: SpawnOptions = {}): Proc {
  return startProcess(process.execPath, [join(repoRoot, 'bin', 'run.js'), ...args], {cwd: repoRoot, ...opts})
}

/** Runs the CLI to completion with optional stdin; returns code and output. */
export async function runCli(
  args: string[],
  opts: {input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number} = {},
): Promise<{code: number | null; stdout: string; stderr: string}> {
  const p = startCli(args, {env: {...process.env, ...opts.env}})
  if (opts.input !== undefined) p.child.stdin?.end(opts.input)
  else p.child.stdin?.end()
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  const {code} = await p.exited
  clearTimeout(timer)
  return {code, stdout: p.stdout(), stderr: p.stderr()}
}
