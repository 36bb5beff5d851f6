/**
 * The engine's public surface: the only module src/commands and src/cli import, and what the
 * package exports as a library.
 */
export * from './common/index.js'
export * from './zookeeper/client/index.js'
export * from './zookeeper/server/config.js'
