/**
 * A set of child names that iterates in exactly the order java.util.HashSet<String> does, because
 * ZooKeeper returns getChildren in that order (DataNode keeps `new HashSet<String>(8)`) and DL tools
 * print children as they come.
 *
 * The model of java.util.HashMap (JDK 8+): the table has a power-of-two capacity, starting at 8 on the
 * first insert (HashSet(8): initial threshold 8 becomes the capacity, load factor 0.75) and doubling
 * when size exceeds 0.75·capacity; it never shrinks. An element lives in bucket
 * `(h ^ (h >>> 16)) & (capacity - 1)` with h = String.hashCode over UTF-16 code units; a new element is
 * appended to its bucket's list; a resize splits every bucket into a low and a high list keeping their
 * relative order. Iteration walks buckets 0..capacity-1, each list in order. A bucket that reaches 9
 * elements while the table is smaller than 64 makes HashMap resize instead of treeifying (modelled).
 *
 * Not modelled: treeified buckets (9+ names whose spread hashes collide in one bucket of a table of
 * 64 or more), whose iteration order moves the red-black tree root first. Natural names essentially
 * never do that; if they do, our order differs only within that one bucket.
 */

/** java.lang.String.hashCode: s[0]*31^(n-1) + ... + s[n-1] in 32-bit arithmetic. */
export function javaStringHash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

/** HashMap.hash: spreads the high bits into the low ones. */
export function javaSpreadHash(s: string): number {
  const h = javaStringHash(s)
  return h ^ (h >>> 16)
}

const INITIAL_CAPACITY = 8
const TREEIFY_THRESHOLD = 8
const MIN_TREEIFY_CAPACITY = 64

export class JavaHashSet implements Iterable<string> {
  private table: (string[] | undefined)[] | null = null
  private count = 0

  get size(): number {
    return this.count
  }

  /** Current table capacity (0 before the first insert). */
  get capacity(): number {
    return this.table === null ? 0 : this.table.length
  }

  has(name: string): boolean {
    if (this.table === null) return false
    const bucket = this.table[javaSpreadHash(name) & (this.table.length - 1)]
    return bucket !== undefined && bucket.includes(name)
  }

  /** Adds name; false (and no change) when it is already present. */
  add(name: string): boolean {
    if (this.table === null) this.table = new Array<string[] | undefined>(INITIAL_CAPACITY)
    const table = this.table
    const index = javaSpreadHash(name) & (table.length - 1)
    let bucket = table[index]
    if (bucket === undefined) {
      bucket = table[index] = []
    } else if (bucket.includes(name)) {
      return false
    }
    bucket.push(name)
    // HashMap.putVal: a bin that now holds more than TREEIFY_THRESHOLD entries is treeified, or, in a
    // table below MIN_TREEIFY_CAPACITY, the table is resized instead.
    if (bucket.length > TREEIFY_THRESHOLD && table.length < MIN_TREEIFY_CAPACITY) this.resize()
    this.count++
    if (this.count > this.threshold()) this.resize()
    return true
  }

  /** Removes name; false when absent. Capacity stays (HashMap never shrinks). */
  delete(name: string): boolean {
    return this.deleteReturningPosition(name) >= 0
  }

  /**
   * Removes name and returns where it was in its bucket, so that a rolled-back multi can put it back
   * exactly (restoreAt). Returns -1 when absent.
   */
  deleteReturningPosition(name: string): number {
    if (this.table === null) return -1
    const index = javaSpreadHash(name) & (this.table.length - 1)
    const bucket = this.table[index]
    if (bucket === undefined) return -1
    const at = bucket.indexOf(name)
    if (at < 0) return -1
    bucket.splice(at, 1)
    if (bucket.length === 0) this.table[index] = undefined
    this.count--
    return at
  }

  /** Undoes deleteReturningPosition: valid only while nothing else changed the set since. */
  restoreAt(name: string, position: number): void {
    if (this.table === null) this.table = new Array<string[] | undefined>(INITIAL_CAPACITY)
    const index = javaSpreadHash(name) & (this.table.length - 1)
    const bucket = (this.table[index] ??= [])
    bucket.splice(position, 0, name)
    this.count++
  }

  /** Whether adding name (absent) would resize the table, i.e. whether add can be undone by delete. */
  addWouldResize(name: string): boolean {
    if (this.table === null) return true
    if (this.count + 1 > ((this.table.length * 3) / 4)) return true
    const bucket = this.table[javaSpreadHash(name) & (this.table.length - 1)]
    return (bucket?.length ?? 0) + 1 > TREEIFY_THRESHOLD && this.table.length < MIN_TREEIFY_CAPACITY
  }

  /**
   * Bytes that the names before `name` (present) take in an encoded vector<ustring> when every name is
   * ASCII: the sum of 4 + length over them, in iteration order.
   */
  asciiBytesBefore(name: string): number {
    const table = this.table
    if (table === null) return -1
    const index = javaSpreadHash(name) & (table.length - 1)
    let bytes = 0
    for (let j = 0; j < index; j++) {
      const bucket = table[j]
      if (bucket !== undefined) for (const n of bucket) bytes += 4 + n.length
    }
    for (const n of table[index] ?? []) {
      if (n === name) return bytes
      bytes += 4 + n.length
    }
    return -1
  }

  clone(): JavaHashSet {
    const copy = new JavaHashSet()
    if (this.table !== null) copy.table = this.table.map((b) => (b === undefined ? undefined : [...b]))
    copy.count = this.count
    return copy
  }

  *[Symbol.iterator](): Iterator<string> {
    if (this.table === null) return
    for (const bucket of this.table) if (bucket !== undefined) yield* bucket
  }

  /** The names in iteration order, as a new array. */
  toArray(): string[] {
    const out: string[] = []
    if (this.table === null) return out
    for (const bucket of this.table) if (bucket !== undefined) for (const name of bucket) out.push(name)
    return out
  }

  private threshold(): number {
    return this.table === null ? 0 : (this.table.length * 3) / 4
  }

  private resize(): void {
    const old = this.table
    if (old === null) return
    const oldCap = old.length
    const table = new Array<string[] | undefined>(oldCap * 2)
    for (let j = 0; j < oldCap; j++) {
      const bucket = old[j]
      if (bucket === undefined) continue
      let lo: string[] | undefined
      let hi: string[] | undefined
      for (const name of bucket) {
        if ((javaSpreadHash(name) & oldCap) === 0) (lo ??= []).push(name)
        else (hi ??= []).push(name)
      }
      table[j] = lo
      table[j + oldCap] = hi
    }
    this.table = table
  }
}
