/**
 * Generates the command reference from the commands' own oclif metadata (summary, description,
 * examples, flags, args), so the docs cannot drift from `--help`:
 *   - man/dlog.1 and man/dlog-<command-id-with-dashes>.1 (roff), listed in package.json "man";
 *   - the block between <!-- commands --> and <!-- commandsstop --> in README.md.
 * `--check` writes nothing and exits 1 if anything is out of date (npm test runs it after the build).
 * Reads the built commands (dist/), so run `npm run build` first.
 */
import {Config, type Command} from '@oclif/core'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {EXIT_CODE_HELP} from '../src/cli/exit-codes.js'

const root = resolve(dirname(new URL(import.meta.url).pathname), '..')
const check = process.argv.includes('--check')

const ENVIRONMENT: [string, string][] = [
  ['DLOG_URI', 'default namespace URI for commands that take -u/--uri'],
  ['BOOKIE_CONF', 'bookie configuration file for dlog bkshell (like --conf)'],
  ['DLOG_PID_DIR', 'directory of pid files for dlog daemon'],
  ['DLOG_LOG_DIR', 'directory of log files for dlog daemon'],
  ['SERVICE_PORT', 'names the pid and log files of a daemon, so several run on one host'],
]

type CachedCommand = Command.Loadable

/** oclif ids use ':' between topic and command; users type a space, files use a dash. */
const shownId = (id: string) => id.replaceAll(':', ' ')
const fileId = (id: string) => id.replaceAll(':', '-').replaceAll(' ', '-')

function renderTemplate(s: string, id: string): string {
  return s.replaceAll('<%= config.bin %>', 'dlog').replaceAll('<%= command.id %>', shownId(id))
}

function exampleLines(cmd: CachedCommand): {description?: string; command: string}[] {
  return (cmd.examples ?? []).map((e) =>
    typeof e === 'string' ? {command: renderTemplate(e, cmd.id)} : {description: e.description, command: renderTemplate(e.command, cmd.id)},
  )
}

function flagSynopsis(name: string, f: Command.Flag.Cached): string {
  const forms = [f.char ? `-${f.char}` : undefined, `--${name}`].filter(Boolean).join(', ')
  return f.type === 'option' ? `${forms} <${(f as {helpValue?: string}).helpValue ?? 'value'}>` : forms
}

function usage(cmd: CachedCommand): string {
  const args = Object.entries(cmd.args ?? {}).map(([n, a]) => (a.required ? n.toUpperCase() : `[${n.toUpperCase()}]`))
  const hasFlags = Object.values(cmd.flags ?? {}).some((f) => !f.hidden)
  return ['dlog', shownId(cmd.id), ...args, hasFlags ? '[FLAGS]' : ''].filter(Boolean).join(' ')
}

// ------------------------------------------------------------------------------------------- roff
function roffEscape(s: string): string {
  return s
    .replaceAll('\\', '\\e')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n')
    .replaceAll('-', '\\-')
}

function manPage(cmd: CachedCommand, date: string): string {
  const name = `dlog-${fileId(cmd.id)}`
  const out: string[] = [`.TH ${name.toUpperCase()} 1 "${date}" "dlog" "dlog manual"`]
  out.push('.SH NAME', `${roffEscape(name)} \\- ${roffEscape(cmd.summary ?? '')}`)
  out.push('.SH SYNOPSIS', `.B ${roffEscape(usage(cmd))}`)
  if (cmd.description) out.push('.SH DESCRIPTION', ...cmd.description.split(/\n\n+/).flatMap((p) => ['.PP', roffEscape(p)]))
  const args = Object.entries(cmd.args ?? {})
  if (args.length > 0) {
    out.push('.SH ARGUMENTS')
    for (const [n, a] of args) out.push('.TP', `.B ${roffEscape(n.toUpperCase())}`, roffEscape(a.description ?? ''))
  }
  const flags = Object.entries(cmd.flags ?? {}).filter(([, f]) => !f.hidden)
  if (flags.length > 0) {
    out.push('.SH OPTIONS')
    for (const [n, f] of flags) {
      const dflt = f.type === 'option' && f.default !== undefined && typeof f.default !== 'function' ? ` (default: ${String(f.default)})` : ''
      out.push('.TP', `.B ${roffEscape(flagSynopsis(n, f))}`, roffEscape(`${f.summary ?? f.description ?? ''}${dflt}`))
    }
  }
  const examples = exampleLines(cmd)
  if (examples.length > 0) {
    out.push('.SH EXAMPLES')
    for (const e of examples) {
      if (e.description) out.push('.PP', roffEscape(e.description))
      out.push('.PP', '.nf', '.RS 4', roffEscape(e.command), '.RE', '.fi')
    }
  }
  out.push('.SH EXIT STATUS')
  for (const [code, help] of Object.entries(EXIT_CODE_HELP)) out.push('.TP', `.B ${code}`, roffEscape(help))
  out.push('.SH SEE ALSO', '.BR dlog (1)')
  return out.join('\n') + '\n'
}

function indexPage(cmds: CachedCommand[], date: string, description: string): string {
  const out = [`.TH DLOG 1 "${date}" "dlog" "dlog manual"`, '.SH NAME', `dlog \\- ${roffEscape(description)}`]
  out.push('.SH SYNOPSIS', '.B dlog', '.I COMMAND', '[FLAGS]')
  out.push('.SH COMMANDS')
  for (const c of cmds) out.push('.TP', `.B dlog ${roffEscape(shownId(c.id))}`, roffEscape(c.summary ?? ''))
  out.push('.SH ENVIRONMENT')
  for (const [k, v] of ENVIRONMENT) out.push('.TP', `.B ${k}`, roffEscape(v))
  out.push('.SH EXIT STATUS')
  for (const [code, help] of Object.entries(EXIT_CODE_HELP)) out.push('.TP', `.B ${code}`, roffEscape(help))
  out.push('.SH SEE ALSO', cmds.map((c) => `.BR dlog\\-${roffEscape(fileId(c.id))} (1)`).join(',\n'))
  return out.join('\n') + '\n'
}

// ------------------------------------------------------------------------------------------- README
function readmeSection(cmds: CachedCommand[]): string {
  const out: string[] = ['']
  for (const c of cmds) out.push(`* [\`dlog ${shownId(c.id)}\`](#dlog-${fileId(c.id)})`)
  for (const c of cmds) {
    out.push('', `### \`dlog ${shownId(c.id)}\``, '', c.summary ?? '', '', '```', `USAGE`, `  $ ${usage(c)}`)
    const args = Object.entries(c.args ?? {})
    if (args.length > 0) {
      out.push('', 'ARGUMENTS')
      for (const [n, a] of args) out.push(`  ${n.toUpperCase().padEnd(24)} ${a.description ?? ''}`)
    }
    const flags = Object.entries(c.flags ?? {}).filter(([, f]) => !f.hidden)
    if (flags.length > 0) {
      out.push('', 'FLAGS')
      for (const [n, f] of flags) out.push(`  ${flagSynopsis(n, f).padEnd(30)} ${f.summary ?? f.description ?? ''}`)
    }
    const examples = exampleLines(c)
    if (examples.length > 0) {
      out.push('', 'EXAMPLES')
      for (const e of examples) {
        if (e.description) out.push(`  ${e.description}`)
        out.push(`  $ ${e.command}`)
      }
    }
    out.push('```')
    if (c.description) out.push('', c.description)
  }
  return out.join('\n') + '\n'
}

// ------------------------------------------------------------------------------------------- main
const config = await Config.load({root})
const cmds = [...config.commands].filter((c) => !c.hidden && c.pluginName === 'dlog').sort((a, b) => a.id.localeCompare(b.id))
const pkgPath = join(root, 'package.json')
const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {description: string; man: string[]}
// A fixed date keeps the pages reproducible; bump it with the version.
const date = '2026-11-23'

const wanted = new Map<string, string>()
wanted.set('man/dlog.1', indexPage(cmds, date, pkg.description))
for (const c of cmds) wanted.set(`man/dlog-${fileId(c.id)}.1`, manPage(c, date))

const stale: string[] = []
const manDir = join(root, 'man')
const existing = existsSync(manDir) ? readdirSync(manDir).map((f) => `man/${f}`) : []
for (const f of existing) if (!wanted.has(f)) stale.push(`${f} (no such command any more)`)
for (const [f, text] of wanted) {
  const p = join(root, f)
  if (!existsSync(p) || readFileSync(p, 'utf8') !== text) stale.push(f)
}
const manList = [...wanted.keys()].map((f) => `./${f}`)
if (JSON.stringify(pkg.man) !== JSON.stringify(manList)) stale.push('package.json "man"')

const readmePath = join(root, 'README.md')
const readme = readFileSync(readmePath, 'utf8')
const m = /(<!-- commands -->\n)([\s\S]*?)(<!-- commandsstop -->)/.exec(readme)
if (!m) throw new Error('README.md has no <!-- commands --> ... <!-- commandsstop --> block')
const newReadme = readme.replace(m[0], `${m[1]}${readmeSection(cmds)}${m[3]}`)
if (newReadme !== readme) stale.push('README.md command reference')

if (check) {
  if (stale.length > 0) {
    console.error(`docs are out of date (run \`npm run build && npm run docs\`):\n  ${stale.join('\n  ')}`)
    process.exit(1)
  }
  console.log(`docs: ${cmds.length} commands, man pages and README are current`)
} else {
  mkdirSync(manDir, {recursive: true})
  for (const f of existing) if (!wanted.has(f)) rmSync(join(root, f))
  for (const [f, text] of wanted) writeFileSync(join(root, f), text)
  pkg.man = manList
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n')
  writeFileSync(readmePath, newReadme)
  console.log(`docs: wrote ${wanted.size} man pages and the README command reference (${stale.length} changed)`)
}
