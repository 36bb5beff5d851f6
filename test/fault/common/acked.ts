/** Reads what a kill -9 child writer printed: the numbers on its complete `ack <n>` lines, in order. */
export function ackedNumbers(stdout: string): number[] {
  const out: number[] = []
  // The last piece has no newline yet (or is empty): a line cut short by the kill is not counted.
  for (const line of stdout.split('\n').slice(0, -1)) if (line.startsWith('ack ')) out.push(Number(line.slice(4)))
  return out
}
