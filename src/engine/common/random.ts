/**
 * Randomness as a dependency. Placement, jitter and ids take a Random so a seeded simulation
 * reproduces a run exactly; production uses cryptoRandom.
 */
import {randomBytes, randomInt} from 'node:crypto'

export interface Random {
  /** An integer in [0, bound). */
  nextInt(bound: number): number
  /** A float in [0, 1). */
  nextFloat(): number
  bytes(length: number): Buffer
}

export const cryptoRandom: Random = {
  nextInt: (bound) => randomInt(bound),
  nextFloat: () => randomInt(2 ** 48) / 2 ** 48,
  bytes: (length) => randomBytes(length),
}

/** sfc32 seeded from a 32-bit seed: small, fast, and good enough for simulations and shuffles. */
export class SeededRandom implements Random {
  private a: number
  private b: number
  private c: number
  private d: number

  readonly seed: number

  constructor(seed: number) {
    this.seed = seed
    this.a = 0x9e3779b9
    this.b = 0x243f6a88
    this.c = 0xb7e15162
    this.d = seed >>> 0
    for (let i = 0; i < 16; i++) this.next32()
  }

  private next32(): number {
    this.a >>>= 0
    this.b >>>= 0
    this.c >>>= 0
    this.d >>>= 0
    let t = (this.a + this.b) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.d = (this.d + 1) | 0
    t = (t + this.d) | 0
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  nextInt(bound: number): number {
    return Math.floor(this.nextFloat() * bound)
  }

  nextFloat(): number {
    return this.next32() / 2 ** 32
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length)
    for (let i = 0; i < length; i++) out[i] = this.next32() & 0xff
    return out
  }
}

/** Fisher-Yates shuffle into a new array. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1)
    const tmp = out[i] as T
    out[i] = out[j] as T
    out[j] = tmp
  }
  return out
}
