/**
 * The benchmark harness: `npm run bench -- <suite> [<suite> ...]` runs bench/<suite>.ts for each name
 * and prints its result. A suite is a module exporting `run(): Promise<Result>` and optionally
 * `formatResult(result): string` (else the result is printed as JSON); it must do nothing on import,
 * so it can also keep a `node --import tsx bench/<suite>.ts` entry of its own behind an is-main check.
 * Speed targets live here, never in tests. Suites today: zk (ZooKeeper, ours vs Apache), bookie.
 *
 *   npm run bench -- zk
 *   npm run bench -- --list
 */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const benchDir = dirname(fileURLToPath(import.meta.url))

interface Suite {
  run(): Promise<unknown>
  formatResult?(result: unknown): string
}

/** Files that look like suites (export a run function), found without importing them. */
function suiteNames(): string[] {
  return readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .filter((f) => /^export (async )?function run\b/m.test(readFileSync(join(benchDir, f), 'utf8')))
    .map((f) => f.slice(0, -3))
    .sort()
}

function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)
}

async function main(args: string[]): Promise<number> {
  const names = suiteNames()
  if (args.length === 0 || args.includes('--list') || args.includes('--help')) {
    console.log(`usage: npm run bench -- <suite> [<suite> ...]\nsuites: ${names.join(', ')}`)
    return args.length === 0 ? 2 : 0
  }
  for (const name of args) {
    if (!names.includes(name)) {
      console.error(`unknown bench suite '${name}' (suites: ${names.join(', ')})`)
      return 2
    }
  }
  for (const name of args) {
    const mod = (await import(pathToFileURL(join(benchDir, `${name}.ts`)).href)) as Partial<Suite>
    if (typeof mod.run !== 'function') {
      console.error(`bench/${name}.ts does not export run()`)
      return 2
    }
    const startedMs = Date.now()
    console.log(`== ${name} ==`)
    const result = await mod.run()
    console.log(typeof mod.formatResult === 'function' ? mod.formatResult(result) : json(result))
    console.log(`(${name}: ${((Date.now() - startedMs) / 1000).toFixed(1)} s)\n`)
  }
  return 0
}

process.exitCode = await main(process.argv.slice(2))
