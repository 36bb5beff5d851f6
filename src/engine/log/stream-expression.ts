/**
 * `dlog tool create -r <prefix> -e <expression>`: which stream names an expression stands for, as the
 * original's create command reads it. An expression with `-` is an inclusive index range `x-y`
 * (`0-10` is 11 streams); else one with `,` is a list of indexes `1,3,5`; else it is one literal
 * suffix. The range check comes first, so `1-3,5` is a bad range, as in the original.
 */
import {InvalidInputError} from '../common/errors.js'

/** Streams one create may name; more is a typo (a range with an extra digit). */
export const STREAMS_PER_EXPRESSION_MAX = 100_000

const INT_RE = /^\s*[+-]?\d{1,15}\s*$/

export function expandStreamExpression(prefix: string, expression: string): string[] {
  if (expression.includes('-')) {
    const parts = expression.split('-')
    const bad = () => new InvalidInputError(`Invalid stream index range : ${expression}`)
    if (parts.length !== 2 || !parts.every((p) => INT_RE.test(p))) throw bad()
    const from = Number(parts[0])
    const to = Number(parts[1])
    if (from > to) throw bad()
    if (to - from + 1 > STREAMS_PER_EXPRESSION_MAX) {
      throw new InvalidInputError(`Invalid stream index range : ${expression} (more than ${STREAMS_PER_EXPRESSION_MAX} streams)`)
    }
    const out: string[] = []
    for (let i = from; i <= to; i++) out.push(`${prefix}${i}`)
    return out
  }
  if (expression.includes(',')) {
    const parts = expression.split(',')
    if (!parts.every((p) => INT_RE.test(p))) throw new InvalidInputError(`Invalid stream suffix list : ${expression}`)
    if (parts.length > STREAMS_PER_EXPRESSION_MAX) throw new InvalidInputError(`Invalid stream suffix list : ${expression} (more than ${STREAMS_PER_EXPRESSION_MAX} streams)`)
    return parts.map((p) => `${prefix}${Number(p)}`)
  }
  return expression === '' ? [] : [`${prefix}${expression}`]
}

/** A DLSN as the tools take it: `InitialDLSN` or `lssn,entryId,slotId`. */
export function parseDlsnArg(text: string): [number, number, number] {
  const t = text.trim()
  if (t === 'InitialDLSN') return [1, 0, 0]
  const parts = t.split(',')
  if (parts.length !== 3 || !parts.every((p) => INT_RE.test(p))) throw new InvalidInputError(`Invalid dlsn : ${text}`)
  return parts.map(Number) as [number, number, number]
}
