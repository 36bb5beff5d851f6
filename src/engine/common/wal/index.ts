/** The write-ahead log: contract, implementation, errors and the file-operations seam. */
export * from './errors.js'
export * from './file-ops.js'
export * from './types.js'
export * from './wal.js'
