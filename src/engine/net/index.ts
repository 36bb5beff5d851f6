/** Transport pieces shared by our TCP servers and clients. */
export * from './frame-decoder.js'
