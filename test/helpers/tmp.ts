/** Temporary directories that a test removes in its after() hook. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after} from 'node:test'

export function makeTmpDir(prefix = 'dlog-test-'): {path: string; remove(): void} {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return {path, remove: () => rmSync(path, {recursive: true, force: true})}
}

/**
 * For a test file whose tests each want their own directory: one temp dir, removed after the file's
 * tests (this registers the after() hook, so call it at the top level), and `fresh()` = a new path in it.
 */
export function freshDirs(prefix: string): () => string {
  const tmp = makeTmpDir(prefix)
  after(() => tmp.remove())
  let n = 0
  return () => join(tmp.path, `b${n++}`)
}
