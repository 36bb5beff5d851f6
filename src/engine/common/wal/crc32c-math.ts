/**
 * CRC32C arithmetic in JavaScript for the few bytes around a native checksum pass: a table-driven
 * update over a short byte range, and the "shift" that says how a CRC register changes when n more
 * bytes follow (multiplication by x^(8n) modulo the Castagnoli polynomial, the step zlib's
 * crc32_combine is built on). With them, a caller that made one native pass over a record can derive
 * a related checksum (e.g. the same bytes without a header field) without a second pass over the
 * payload: calling into the native CRC costs more than checksumming a 100-byte entry.
 *
 * Registers here are the CRC's internal state: a CRC value c corresponds to the register ~c, and
 * processing bytes B from register r gives A(|B|)·r XOR g(B), linear in r (A is the shift).
 */

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78

export const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** The register after processing buf[start, end) from register `reg` (table-driven: for short ranges). */
export function crc32cRegister(reg: number, buf: Uint8Array, start: number, end: number): number {
  const t = CRC32C_TABLE
  for (let i = start; i < end; i++) reg = (t[(reg ^ (buf[i] as number)) & 0xff] as number) ^ (reg >>> 8)
  return reg >>> 0
}

/** a(x)·b(x) modulo the polynomial, both in reflected bit order. */
export function crc32cMultiply(a: number, b: number): number {
  let m = 0x80000000
  let p = 0
  for (;;) {
    if (a & m) {
      p ^= b
      if ((a & (m - 1)) === 0) break
    }
    m >>>= 1
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1
  }
  return p >>> 0
}

/** x^(2^k) modulo the polynomial, k = 0..31. */
const X_POW_2K = (() => {
  const t = new Uint32Array(32)
  let p = 0x40000000 // x^1
  t[0] = p
  for (let k = 1; k < 32; k++) t[k] = p = crc32cMultiply(p, p)
  return t
})()

/** The operator that shifts a register over `bytes` zero-contribution bytes: x^(8·bytes) mod P. */
export function crc32cShiftOperator(bytes: number): number {
  let xp = 0x80000000 // x^0
  let k = 3 // 8 = 2^3 bits per byte
  for (let n = bytes; n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) xp = crc32cMultiply(X_POW_2K[k & 31] as number, xp)
    k++
  }
  return xp >>> 0
}

/** A(bytes)·reg: the part of the register after `bytes` more bytes that depends on the register before them. */
export function crc32cShift(reg: number, bytes: number): number {
  return crc32cMultiply(crc32cShiftOperator(bytes), reg)
}
