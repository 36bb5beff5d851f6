/**
 * Open-use-close for the connections a command holds (a ZooKeeper client, a metadata store, a ledger
 * client): the resource is closed however the command's work ends, including this.error() and a
 * declined prompt, so no session outlives the command.
 */

/** Runs `fn` on `resource` and closes it however `fn` ends (a close error wins, as a finally's does). */
export async function closing<R extends {close(): Promise<void>}, T>(resource: R, fn: (r: R) => Promise<T>): Promise<T> {
  try {
    return await fn(resource)
  } finally {
    await resource.close()
  }
}
