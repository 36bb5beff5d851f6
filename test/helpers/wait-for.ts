/**
 * Waiting without sleeps: poll a predicate until it holds or a bound passes. Tests wait on the
 * condition they need ("the bookie is registered"), never on a guessed duration.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: {timeoutMs?: number; intervalMs?: number; what?: string} = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const intervalMs = opts.intervalMs ?? 10
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await predicate()
      if (v !== undefined && v !== null && v !== false) return v
    } catch (e) {
      lastError = e
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Resolves when `emitter` emits `event`, or rejects after timeoutMs. */
export function onceWithin<T = unknown>(
  emitter: {once(event: string, fn: (...args: unknown[]) => void): unknown; off?(event: string, fn: (...args: unknown[]) => void): unknown},
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fn = (...args: unknown[]) => {
      clearTimeout(timer)
      resolve(args[0] as T)
    }
    const timer = setTimeout(() => {
      emitter.off?.(event, fn)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`))
    }, timeoutMs)
    emitter.once(event, fn)
  })
}
