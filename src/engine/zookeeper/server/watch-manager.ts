/**
 * One-shot watches, as ZooKeeper's WatchManager keeps them: path → the watchers (connections) that set
 * a watch there. There are two managers, data watches (getData, exists, including exists on a missing
 * node) and child watches (getChildren). Triggering a path removes its watches and returns each watcher
 * once, so a connection gets at most one notification per (path, event) however many watches it set.
 * Watches belong to a connection, not a session: a client re-registers them (setWatches) after it
 * reconnects, so a closed connection's watches are simply dropped.
 */

export interface Watcher {
  /** Paths this watcher watches in each manager (keyed by the manager), to drop them on close. */
  readonly watchedPaths: Map<object, Set<string>>
}

export class WatchManager<W extends Watcher = Watcher> {
  private readonly watches = new Map<string, Set<W>>()
  private total = 0

  /** Number of (path, watcher) pairs. */
  get size(): number {
    return this.total
  }

  get pathCount(): number {
    return this.watches.size
  }

  add(path: string, watcher: W): void {
    let set = this.watches.get(path)
    if (set === undefined) this.watches.set(path, (set = new Set()))
    if (set.has(watcher)) return
    set.add(watcher)
    this.total++
    let mine = watcher.watchedPaths.get(this)
    if (mine === undefined) watcher.watchedPaths.set(this, (mine = new Set()))
    mine.add(path)
  }

  has(path: string, watcher: W): boolean {
    return this.watches.get(path)?.has(watcher) ?? false
  }

  /**
   * Removes every watch on path and returns the watchers, minus those in `suppress` (already
   * notified for this event by the other manager). Undefined when nobody watched.
   */
  trigger(path: string, suppress?: ReadonlySet<W>): Set<W> | undefined {
    const set = this.watches.get(path)
    if (set === undefined) return undefined
    this.watches.delete(path)
    this.total -= set.size
    for (const w of set) w.watchedPaths.get(this)?.delete(path)
    if (suppress !== undefined) for (const w of suppress) set.delete(w)
    return set
  }

  /** Drops all of a watcher's watches (its connection closed). */
  removeWatcher(watcher: W): void {
    const mine = watcher.watchedPaths.get(this)
    if (mine === undefined) return
    for (const path of mine) {
      const set = this.watches.get(path)
      if (set === undefined || !set.delete(watcher)) continue
      this.total--
      if (set.size === 0) this.watches.delete(path)
    }
    watcher.watchedPaths.delete(this)
  }
}
