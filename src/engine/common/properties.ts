/**
 * Java-properties files (zoo.cfg, bookie.conf, distributedlog.conf) and typed configuration on top.
 *
 * Format (java.util.Properties, the parts operators use): one `key=value` or `key: value` or
 * `key value` per logical line; `#` and `!` start comments; a trailing odd backslash joins the next
 * line; `\t \n \r \f \uXXXX` and `\<any>` escapes; leading whitespace of a value is dropped.
 *
 * `parseConfig` checks the entries against a schema: every key has a type and a default, unknown keys
 * produce warnings (operators copy templates from other versions), and an invalid value is an
 * InvalidInputError that names the file, the line and what was expected.
 */
import {InvalidInputError} from './errors.js'

export interface PropertyEntry {
  key: string
  value: string
  line: number
}

const MAX_PROPERTIES_BYTES = 4 * 1024 * 1024

export function parseProperties(text: string, source = '<properties>'): PropertyEntry[] {
  if (text.length > MAX_PROPERTIES_BYTES) {
    throw new InvalidInputError(`${source}: file is larger than ${MAX_PROPERTIES_BYTES} bytes`)
  }
  const physical = text.split(/\r\n|\r|\n/)
  const entries: PropertyEntry[] = []
  for (let i = 0; i < physical.length; i++) {
    const startLine = i + 1
    let line = (physical[i] ?? '').replace(/^[ \t\f]+/, '')
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    // Join continuation lines: an odd number of trailing backslashes continues the logical line.
    while (endsWithOddBackslashes(line) && i + 1 < physical.length) {
      i++
      line = line.slice(0, -1) + (physical[i] ?? '').replace(/^[ \t\f]+/, '')
    }
    if (endsWithOddBackslashes(line)) line = line.slice(0, -1)
    let k = 0
    let key = ''
    while (k < line.length) {
      const c = line[k] as string
      if (c === '\\' && k + 1 < line.length) {
        key += line.slice(k, k + 2)
        k += 2
        continue
      }
      if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') break
      key += c
      k++
    }
    // Skip whitespace, then at most one separator, then whitespace again.
    while (k < line.length && /[ \t\f]/.test(line[k] as string)) k++
    if (k < line.length && (line[k] === '=' || line[k] === ':')) k++
    while (k < line.length && /[ \t\f]/.test(line[k] as string)) k++
    entries.push({key: unescape(key, source, startLine), value: unescape(line.slice(k), source, startLine), line: startLine})
  }
  return entries
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++
  return n % 2 === 1
}

function unescape(s: string, source: string, line: number): string {
  if (!s.includes('\\')) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string
    if (c !== '\\') {
      out += c
      continue
    }
    const n = s[++i]
    if (n === undefined) break
    if (n === 't') out += '\t'
    else if (n === 'n') out += '\n'
    else if (n === 'r') out += '\r'
    else if (n === 'f') out += '\f'
    else if (n === 'u') {
      const hex = s.slice(i + 1, i + 5)
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new InvalidInputError(`${source}:${line}: malformed \\uXXXX escape`)
      out += String.fromCharCode(parseInt(hex, 16))
      i += 4
    } else out += n
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// Typed configuration

export type ConfigType = 'string' | 'int' | 'bool' | 'list' | 'float'

export interface ConfigKeySpec<T> {
  type: ConfigType
  default: T
  /** Older or alternative key names accepted for the same setting. */
  aliases?: readonly string[]
  min?: number
  max?: number
  description: string
}

export type ConfigSchema = Record<string, ConfigKeySpec<unknown>>

export type ConfigValues<S extends ConfigSchema> = {[K in keyof S]: S[K]['default']}

export interface ParsedConfig<S extends ConfigSchema> {
  values: ConfigValues<S>
  /** Keys the file set (canonical names). */
  explicit: Set<keyof S>
  warnings: string[]
}

/** Parses and validates `entries` against `schema`; `overrides` (already typed) win over the file. */
export function parseConfig<S extends ConfigSchema>(
  schema: S,
  entries: readonly PropertyEntry[],
  source: string,
  opts: {ignoreKeys?: (key: string) => boolean} = {},
): ParsedConfig<S> {
  const byName = new Map<string, string>()
  for (const [name, spec] of Object.entries(schema)) {
    byName.set(name, name)
    for (const alias of spec.aliases ?? []) byName.set(alias, name)
  }
  const values: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(schema)) values[name] = spec.default
  const explicit = new Set<keyof S>()
  const warnings: string[] = []
  for (const e of entries) {
    const name = byName.get(e.key)
    if (name === undefined) {
      if (!opts.ignoreKeys?.(e.key)) warnings.push(`${source}:${e.line}: unknown key '${e.key}' ignored`)
      continue
    }
    const spec = schema[name] as ConfigKeySpec<unknown>
    values[name] = convertValue(spec, e.value, `${source}:${e.line}: ${e.key}`)
    explicit.add(name as keyof S)
  }
  return {values: values as ConfigValues<S>, explicit, warnings}
}

export function convertValue(spec: ConfigKeySpec<unknown>, raw: string, where: string): unknown {
  const v = raw.trim()
  switch (spec.type) {
    case 'string':
      return v
    case 'list':
      return v === '' ? [] : v.split(',').map((s) => s.trim()).filter((s) => s !== '')
    case 'bool': {
      const l = v.toLowerCase()
      if (l === 'true' || l === 'yes' || l === '1') return true
      if (l === 'false' || l === 'no' || l === '0') return false
      throw new InvalidInputError(`${where}: expected true or false, got '${raw}'`)
    }
    case 'int':
    case 'float': {
      const n = spec.type === 'int' ? (/^[-+]?\d+$/.test(v) ? Number(v) : NaN) : Number(v)
      if (v === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isSafeInteger(n))) {
        throw new InvalidInputError(`${where}: expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got '${raw}'`)
      }
      if (spec.min !== undefined && n < spec.min) throw new InvalidInputError(`${where}: must be at least ${spec.min}, got ${n}`)
      if (spec.max !== undefined && n > spec.max) throw new InvalidInputError(`${where}: must be at most ${spec.max}, got ${n}`)
      return n
    }
  }
}
