/**
 * CRC32C (Castagnoli), the checksum every entry carries end to end. Backed by @node-rs/crc32, which
 * uses the CPU's CRC32 instructions; a software table would cost several times more per byte on the
 * hot add path.
 */
import {crc32c as nativeCrc32c} from '@node-rs/crc32'

/** CRC32C of `data`, continuing from `initial` (the CRC of the bytes before it), as an unsigned 32-bit int. */
export function crc32c(data: Uint8Array, initial = 0): number {
  return nativeCrc32c(data, initial) >>> 0
}
