/** The shared foundation every engine layer may import. */
export * from './assert.js'
export * from './clock.js'
export * from './crc32c.js'
export * from './deferred.js'
export * from './errors.js'
export * from './logger.js'
export * from './properties.js'
export * from './random.js'
