/**
 * Which `dlog local` sandbox is running: one small JSON file per ZooKeeper port in the state directory
 * (`$DLOG_STATE_DIR`, else `<os.tmpdir()>/dlog-<user>`), written once the sandbox is ready and removed
 * when it exits. Other commands use defaultNamespaceUri() so the tutorials' commands work without `-u`
 * while a sandbox runs. A file whose pid is no longer alive (the sandbox was killed -9) is stale: it is
 * ignored and removed on the next read.
 *
 * File `sandbox-<zkPort>.json`: {"pid": 123, "uri": "distributedlog://127.0.0.1:7000/messaging/distributedlog",
 * "zkAddress": "127.0.0.1:7000", "dataDir": "/tmp/...", "startedAt": "<ISO time>"}.
 */
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

import {isPidAlive} from '../engine/index.js'

export interface SandboxState {
  pid: number
  uri: string
  zkAddress: string
  dataDir: string
  startedAt: string
}

/** A state file larger than this is not ours: skip it rather than parse it. */
const STATE_FILE_BYTES_MAX = 64 * 1024
const FILE_RE = /^sandbox-(\d{1,5})\.json$/

function userName(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_') || String(process.getuid?.() ?? 'user')
  } catch {
    // userInfo() throws when the uid has no passwd entry (containers): fall back to the numeric uid.
    return String(process.getuid?.() ?? 'user')
  }
}

export function sandboxStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DLOG_STATE_DIR
  return dir !== undefined && dir !== '' ? dir : join(tmpdir(), `dlog-${userName()}`)
}

export function sandboxStatePath(zkPort: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(sandboxStateDir(env), `sandbox-${zkPort}.json`)
}

/** Writes the state file atomically (temp file + rename) so readers never see half a file. */
export function writeSandboxState(zkPort: number, state: SandboxState, env: NodeJS.ProcessEnv = process.env): string {
  const dir = sandboxStateDir(env)
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const path = sandboxStatePath(zkPort, env)
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state)}\n`, {mode: 0o600})
  renameSync(tmp, path)
  return path
}

/** Removes the state file of `zkPort` if it names `pid` (a newer sandbox's file is left alone). */
export function removeSandboxState(zkPort: number, pid: number = process.pid, env: NodeJS.ProcessEnv = process.env): void {
  const path = sandboxStatePath(zkPort, env)
  const state = readStateFile(path)
  if (state === undefined || state.pid === pid) rmSync(path, {force: true})
}

function readStateFile(path: string): SandboxState | undefined {
  try {
    const text = readFileSync(path, 'utf8')
    if (text.length > STATE_FILE_BYTES_MAX) return undefined
    const v = JSON.parse(text) as Partial<SandboxState>
    if (typeof v.pid !== 'number' || typeof v.uri !== 'string' || typeof v.zkAddress !== 'string') return undefined
    return {pid: v.pid, uri: v.uri, zkAddress: v.zkAddress, dataDir: String(v.dataDir ?? ''), startedAt: String(v.startedAt ?? '')}
  } catch {
    return undefined
  }
}

/** The live sandboxes, by ZooKeeper port; stale files (dead pid, unreadable) are removed. */
export function liveSandboxes(env: NodeJS.ProcessEnv = process.env): Map<number, SandboxState> {
  const out = new Map<number, SandboxState>()
  const dir = sandboxStateDir(env)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of names.sort()) {
    const m = FILE_RE.exec(name)
    if (!m) continue
    const path = join(dir, name)
    const state = readStateFile(path)
    if (state !== undefined && isPidAlive(state.pid)) out.set(Number(m[1]), state)
    else rmSync(path, {force: true})
  }
  return out
}

/**
 * The namespace URI a command uses when none is given: `$DLOG_URI` if set, else the URI of the one
 * live sandbox, else undefined (also when several sandboxes run: the user must choose with -u).
 */
export function defaultNamespaceUri(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.DLOG_URI
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  const live = [...liveSandboxes(env).values()]
  return live.length === 1 ? live[0]?.uri : undefined
}
