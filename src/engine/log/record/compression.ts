/**
 * Entry and record-set codecs: `none` and `lz4`, identified on the wire by the two low bits of the
 * enveloped entry's flags (and of a record set's metadata): 0 none, 1 lz4.
 *
 * LZ4 is the raw LZ4 *block* format (no frame, no checksum, no size prefix), the decompressed size
 * travels in the envelope header: what the original's LZ4CompressionCodec writes. The block codec comes
 * from the `lz4-napi` package (lz4_flex), whose sync calls prepend the decompressed size as a
 * little-endian u32; we strip and re-add that prefix. The package is loaded lazily: when it is missing or
 * its native binding fails to load, using lz4 fails with CompressionCodecUnavailableError and the none
 * codec keeps working.
 */
import {createRequire} from 'node:module'

import {InvalidInputError, errorMessage} from '../../common/errors.js'
import type {CompressionType} from '../config.js'
import {CompressionCodecUnavailableError} from '../errors.js'

export const CodecId = {NONE: 0, LZ4: 1} as const
export type CodecId = (typeof CodecId)[keyof typeof CodecId]
export const CODEC_MASK = 0x3

export interface CompressionCodec {
  readonly type: CompressionType
  readonly id: CodecId
  compress(data: Buffer): Buffer
  /** Throws InvalidInputError when `data` does not decompress to exactly `decompressedBytes`. */
  decompress(data: Buffer, decompressedBytes: number): Buffer
}

const identityCodec: CompressionCodec = {
  type: 'none',
  id: CodecId.NONE,
  compress: (data) => data,
  decompress: (data, decompressedBytes) => {
    if (data.length !== decompressedBytes) {
      throw new InvalidInputError(`inconsistent data length for an uncompressed block: header says ${decompressedBytes}, found ${data.length}`)
    }
    return data
  },
}

interface Lz4Binding {
  compressSync(data: Buffer): Buffer
  uncompressSync(data: Uint8Array): Buffer
}

let lz4Binding: Lz4Binding | Error | undefined

function loadLz4(): Lz4Binding {
  if (lz4Binding === undefined) {
    try {
      const mod = createRequire(import.meta.url)('lz4-napi') as Partial<Lz4Binding>
      if (typeof mod.compressSync !== 'function' || typeof mod.uncompressSync !== 'function') throw new Error('lz4-napi has no compressSync/uncompressSync')
      lz4Binding = mod as Lz4Binding
    } catch (e) {
      lz4Binding = e instanceof Error ? e : new Error(String(e))
    }
  }
  if (lz4Binding instanceof Error) throw new CompressionCodecUnavailableError('lz4', {cause: lz4Binding})
  return lz4Binding
}

const lz4Codec: CompressionCodec = {
  type: 'lz4',
  id: CodecId.LZ4,
  compress(data) {
    // lz4-napi prepends the decompressed size (u32 LE); the wire carries the bare block.
    return loadLz4().compressSync(data).subarray(4)
  },
  decompress(data, decompressedBytes) {
    const binding = loadLz4()
    const prefixed = Buffer.allocUnsafe(data.length + 4)
    prefixed.writeUInt32LE(decompressedBytes, 0)
    data.copy(prefixed, 4)
    let out: Buffer
    try {
      out = binding.uncompressSync(prefixed)
    } catch (e) {
      throw new InvalidInputError(`corrupt lz4 block: ${errorMessage(e)}`)
    }
    if (out.length !== decompressedBytes) {
      throw new InvalidInputError(`lz4 block decompressed to ${out.length} bytes, header says ${decompressedBytes}`)
    }
    return out
  },
}

/** The codec for a configured compressionType; lz4 may throw CompressionCodecUnavailableError when used. */
export function codecOf(type: CompressionType): CompressionCodec {
  return type === 'lz4' ? lz4Codec : identityCodec
}

/** The codec for a wire id; an unknown id is bad input. */
export function codecOfId(id: number): CompressionCodec {
  if (id === CodecId.NONE) return identityCodec
  if (id === CodecId.LZ4) return lz4Codec
  throw new InvalidInputError(`unknown compression codec id ${id}`)
}

/** True when the lz4 codec can run here (for tools and tests). */
export function lz4Available(): boolean {
  try {
    loadLz4()
    return true
  } catch {
    return false
  }
}
