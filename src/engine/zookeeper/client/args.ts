/** Argument types and checks shared by the client calls and the multi builder. */
import {InvalidInputError} from '../../common/errors.js'

/** Znode create modes and their wire flags (CreateRequest.flags; ZooKeeper CreateMode). */
export const CreateMode = {
  persistent: 0,
  ephemeral: 1,
  persistent_sequential: 2,
  ephemeral_sequential: 3,
} as const
export type CreateMode = keyof typeof CreateMode

export function isCreateMode(v: string): v is CreateMode {
  return Object.hasOwn(CreateMode, v)
}

/** Node data as callers pass it: null/undefined = null data (getData returns undefined), strings are UTF-8. */
export type ZKData = Buffer | string | null | undefined

export function toDataBuffer(data: ZKData): Buffer | undefined {
  if (data === null || data === undefined) return undefined
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

/** A znode version argument: -1 (any) or a non-negative int32. */
export function checkVersion(version: number): number {
  if (!Number.isInteger(version) || version < -1 || version > 2 ** 31 - 1) {
    throw new InvalidInputError(`version must be -1 or a non-negative 32-bit integer, got ${version}`)
  }
  return version
}
