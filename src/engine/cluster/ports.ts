/**
 * Port helpers for starting servers in other processes. A child configured through a file cannot
 * listen on port 0 and tell the file, so the parent picks a port that is free now and retries with
 * another one if the child loses the race (EADDRINUSE).
 */
import {createServer} from 'node:net'

/** A port free on `host` at the time of the call (the OS picks it; the socket is closed again). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({host, port: 0, exclusive: true}, () => {
      const addr = server.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Whether `host:port` can be listened on right now; errors other than "in use" are thrown. */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve(false)
      else reject(e)
    })
    server.listen({host, port, exclusive: true}, () => server.close(() => resolve(true)))
  })
}

/** True when `e` (or one of its causes) is an EADDRINUSE from listen(). */
export function isAddressInUse(e: unknown): boolean {
  for (let cur = e, depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if ((cur as NodeJS.ErrnoException).code === 'EADDRINUSE') return true
    cur = (cur as {cause?: unknown}).cause
  }
  return false
}
