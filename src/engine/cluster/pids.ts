/** Process liveness by pid, for pid files and lock files (the sandbox's, the daemons'). */

/** True if a process with this pid exists (EPERM: it exists but is someone else's). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
