/** The payload of entry i in the ledger kill -9 tests: shared by the writer child and the test. */
export function killPayloadOf(i: number): Buffer {
  return Buffer.from(`kill9 entry ${i} ${'#'.repeat((i * 7) % 200)}`)
}
