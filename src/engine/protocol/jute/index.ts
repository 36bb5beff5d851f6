/** ZooKeeper wire codecs: jute primitives, records, op codes and the error code table. */
export * from './jute-reader.js'
export * from './jute-writer.js'
export * from './op-codes.js'
export * from './records.js'
export * from './zk-codes.js'
export * from './paths.js'
