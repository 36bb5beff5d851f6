/**
 * The original tools parse with commons-cli, where single-dash multi-letter options are legal
 * (`-bkzr`, `-dlzw`, `-seqno`, `-dlsn`, `-b64`). oclif would read `-bkzr` as the short flags -b -k -z -r,
 * so commands rewrite those words to their long forms before parsing. Only exact words are rewritten
 * (and `-word=value`), never values, and nothing after `--`.
 */

/** `map` from the legacy spelling (with its dash, e.g. `-bkzr`) to the long flag (`--bkZkServersForReader`). */
export function rewriteLegacyFlags(argv: readonly string[], map: Readonly<Record<string, string>>): string[] {
  const out: string[] = []
  let passthrough = false
  for (const arg of argv) {
    if (passthrough || arg === '--') {
      passthrough = true
      out.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const word = eq > 0 ? arg.slice(0, eq) : arg
    const long = Object.hasOwn(map, word) ? map[word] : undefined
    out.push(long === undefined ? arg : eq > 0 ? `${long}${arg.slice(eq)}` : long)
  }
  return out
}
