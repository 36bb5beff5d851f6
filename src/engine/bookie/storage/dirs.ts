/**
 * Start-up checks of the journal and ledger directories: each must exist or be creatable, and be
 * writable (a probe file is created, synced and removed). A failure is an InvalidInputError naming the
 * directory and its role, so an operator sees "ledger directory /data/bk2 is not writable (EACCES)"
 * rather than a stack trace from deep inside storage.
 */
import {mkdir, open, stat, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import {InvalidInputError, errorMessage} from '../../common/errors.js'

/** Where a data dir keeps its files (BK layout: `<dir>/current`). */
export function currentDir(dir: string): string {
  return join(dir, 'current')
}

export async function checkDataDir(dir: string, role: 'journal' | 'ledger'): Promise<void> {
  const what = `${role} directory ${dir}`
  try {
    const st = await stat(dir)
    if (!st.isDirectory()) throw new InvalidInputError(`${what} is not a directory`)
  } catch (e) {
    if (e instanceof InvalidInputError) throw e
    if ((e as {code?: string}).code !== 'ENOENT') throw new InvalidInputError(`${what} cannot be read (${errorMessage(e)})`, {cause: e})
    try {
      await mkdir(dir, {recursive: true})
    } catch (e2) {
      throw new InvalidInputError(`${what} does not exist and cannot be created (${errorMessage(e2)})`, {cause: e2})
    }
  }
  const cur = currentDir(dir)
  const probe = join(cur, `.probe-${process.pid}`)
  try {
    await mkdir(cur, {recursive: true})
    const fh = await open(probe, 'w')
    try {
      await fh.write(Buffer.from('probe'))
      await fh.datasync()
    } finally {
      await fh.close()
    }
    await unlink(probe)
  } catch (e) {
    throw new InvalidInputError(`${what} is not writable (${errorMessage(e)})`, {cause: e})
  }
}
