/** dlog as a library: the engine's public API. */
export * from './engine/index.js'
