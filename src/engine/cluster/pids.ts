/** Process liveness by pid, for pid files and lock files (the sandbox's, the daemons'). */
import {readFileSync} from 'node:fs'

/**
 * True if a process with this pid exists (EPERM: it exists but is someone else's). A zombie (exited,
 * not yet reaped by a parent that may never reap it) counts as gone: on Linux its state is read from
 * /proc/<pid>/stat.
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  return !isZombie(pid)
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses, so split at the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch {
    return false // no /proc (not Linux) or the process just went away
  }
}
