/**
 * Enforces the layer rules of docs/architecture.md (from the style guide) on every import in src/:
 *
 *   commands → cli → engine/index.ts → cluster → proxy → log → ledger → bookie | zookeeper → net → protocol → common
 *
 * - an engine module imports only the modules listed for it in ALLOWED (so `ledger` never reaches the
 *   bookie server and zookeeper/server never reaches zookeeper/client);
 * - src/commands and src/cli reach the engine only through src/engine/index.ts;
 * - there are no import cycles anywhere in src/.
 * Exit status 1 with one line per violation.
 */
import {readdirSync, readFileSync, statSync, existsSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

const root = resolve(dirname(new URL(import.meta.url).pathname), '..')
const src = join(root, 'src')

const BASE = ['common', 'metrics']
const ALLOWED: Record<string, string[]> = {
  common: ['common'],
  metrics: ['common', 'metrics'],
  protocol: [...BASE, 'protocol'],
  net: [...BASE, 'protocol', 'net'],
  'zookeeper/shared': [...BASE, 'protocol', 'net', 'zookeeper/shared'],
  'zookeeper/server': [...BASE, 'protocol', 'net', 'zookeeper/shared', 'zookeeper/server'],
  'zookeeper/client': [...BASE, 'protocol', 'zookeeper/shared', 'zookeeper/client'],
  bookie: [...BASE, 'protocol', 'net', 'zookeeper/client', 'zookeeper/shared', 'bookie'],
  ledger: [...BASE, 'protocol', 'net', 'zookeeper/client', 'zookeeper/shared', 'ledger'],
  log: [...BASE, 'protocol', 'net', 'zookeeper/client', 'zookeeper/shared', 'ledger', 'log'],
  'proxy/shared': [...BASE, 'protocol', 'proxy/shared'],
  'proxy/client': [...BASE, 'protocol', 'net', 'zookeeper/client', 'zookeeper/shared', 'proxy/shared', 'proxy/client'],
  'proxy/server': [
    ...BASE, 'protocol', 'net', 'zookeeper/client', 'zookeeper/shared', 'ledger', 'log', 'proxy/shared', 'proxy/server',
  ],
  cluster: ['*'],
  index: ['*'],
}
const SPLIT = new Set(['zookeeper', 'proxy'])

function walk(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** The engine module a file belongs to, or the top-level area for files outside the engine. */
function moduleOf(file: string): string {
  const rel = relative(src, file).split('/')
  if (rel[0] !== 'engine') return rel[0] === 'index.ts' ? 'lib-index' : (rel[0] as string)
  if (rel.length === 2) return 'index'
  const top = rel[1] as string
  if (SPLIT.has(top)) {
    const sub = rel[2] as string
    return rel.length > 3 && (sub === 'server' || sub === 'client') ? `${top}/${sub}` : `${top}/shared`
  }
  return top
}

const importRe = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2] ?? m[3]
    if (spec?.startsWith('.')) {
      const base = resolve(dirname(file), spec)
      const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]
      const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile())
      if (hit) out.push(hit)
      else violations.push(`${relative(root, file)}: cannot resolve import '${spec}'`)
    }
  }
  return out
}

const violations: string[] = []
const files = walk(src)
const graph = new Map<string, string[]>()
const engineIndex = join(src, 'engine', 'index.ts')

for (const file of files) {
  const deps = importsOf(file)
  graph.set(file, deps)
  const from = moduleOf(file)
  for (const dep of deps) {
    const to = moduleOf(dep)
    const rel = relative(root, file)
    if (from === 'commands' || from === 'cli') {
      if (to !== 'commands' && to !== 'cli' && dep !== engineIndex) {
        violations.push(`${rel}: ${from} may reach the engine only through src/engine/index.ts (imports ${relative(root, dep)})`)
      }
      continue
    }
    if (from === 'lib-index') continue
    const allowed = ALLOWED[from]
    if (!allowed) {
      violations.push(`${rel}: engine module '${from}' is not in scripts/check-layers.ts ALLOWED`)
      continue
    }
    if (to === 'commands' || to === 'cli') {
      violations.push(`${rel}: the engine never imports ${to}/ (imports ${relative(root, dep)})`)
    } else if (!allowed.includes('*') && !allowed.includes(to)) {
      violations.push(`${rel}: ${from} must not import ${to} (imports ${relative(root, dep)})`)
    }
  }
}

// Cycle detection: iterative DFS with colours; report each cycle once by its smallest rotation.
const colour = new Map<string, 0 | 1 | 2>()
const seenCycles = new Set<string>()
for (const start of files) {
  if (colour.get(start)) continue
  const stack: {file: string; next: number}[] = [{file: start, next: 0}]
  const path: string[] = [start]
  colour.set(start, 1)
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    const deps = graph.get(top.file) ?? []
    if (top.next >= deps.length) {
      colour.set(top.file, 2)
      stack.pop()
      path.pop()
      continue
    }
    const dep = deps[top.next++]!
    const c = colour.get(dep) ?? 0
    if (c === 1) {
      const cycle = path.slice(path.indexOf(dep)).map((f) => relative(root, f))
      const k = cycle.indexOf([...cycle].sort()[0]!)
      const key = [...cycle.slice(k), ...cycle.slice(0, k)].join(' -> ')
      if (!seenCycles.has(key)) {
        seenCycles.add(key)
        violations.push(`import cycle: ${key} -> ${cycle[k]}`)
      }
    } else if (c === 0) {
      colour.set(dep, 1)
      stack.push({file: dep, next: 0})
      path.push(dep)
    }
  }
}

if (violations.length > 0) {
  for (const v of violations) console.error(v)
  console.error(`check-layers: ${violations.length} violation(s)`)
  process.exit(1)
}
console.log(`check-layers: ${files.length} files, layer rules and no cycles: ok`)
