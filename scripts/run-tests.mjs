#!/usr/bin/env node
// Runs node:test (through tsx) over the named test layers: unit, integration, fault, sim.
// Node 20's --test takes files, not globs, so the files are listed here. Each file runs in its
// own process, which isolates port and handle leaks. Usage: node scripts/run-tests.mjs unit [fault ...]
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

const layers = process.argv.slice(2)
const known = new Set(['unit', 'integration', 'fault', 'sim'])
if (layers.length === 0 || layers.some((l) => !known.has(l))) {
  console.error(`usage: run-tests.mjs <${[...known].join('|')}> ...`)
  process.exit(2)
}

function findTests(dir) {
  if (!existsSync(dir)) return []
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...findTests(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const files = layers.flatMap((l) => findTests(join('test', l)))
if (files.length === 0) {
  console.error(`no test files under ${layers.map((l) => 'test/' + l).join(', ')}`)
  process.exit(1)
}
// Concurrency 2 matches the machine; integration and fault files start real servers and processes.
// --test-force-exit: a file whose tests finished but left a handle open must not hang the whole run
// (such a leak is still a bug: every test closes what it opens).
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', '--test-force-exit', '--test-reporter=spec', ...files]
const r = spawnSync(process.execPath, args, {stdio: 'inherit', env: {...process.env, NODE_ENV: 'test'}})
process.exit(r.status ?? 1)
