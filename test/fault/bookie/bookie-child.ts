/**
 * A bookie core in a child process for kill -9 tests: opens the dirs under argv[2], then keeps 64 adds
 * of ledger argv[3] in flight forever (checkpointing every 20 ms so kills also land mid-flush), and
 * prints `acked <ledgerId> <entryId>` after each add resolves. The test kills it with SIGKILL.
 */
import {Bookie} from '../../../src/engine/bookie/bookie.js'
import {dirsOf, entryBytesOf, KEY, makeEntry} from '../../unit/bookie/core/helpers.js'

async function main(): Promise<void> {
  const root = process.argv[2] as string
  const ledgerId = Number(process.argv[3])
  const bookie = await Bookie.open({
    ...dirsOf(root),
    flushIntervalMs: 20,
    writeCacheBytesMax: 256 * 1024,
    entryLogSizeBytesMax: 128 * 1024,
    journalFileSizeBytesMax: 256 * 1024,
  })
  process.stdout.write('ready\n')
  let next = 0
  const pump = (): void => {
    const entryId = next++
    const entry = makeEntry(ledgerId, entryId, {bytes: entryBytesOf(entryId)})
    bookie.addEntry({entry, masterKey: KEY, recovery: false}).then(
      () => {
        process.stdout.write(`acked ${ledgerId} ${entryId}\n`)
        pump()
      },
      (e: unknown) => {
        process.stderr.write(`add ${entryId} failed: ${String(e)}\n`)
        process.exit(1)
      },
    )
  }
  for (let i = 0; i < 64; i++) pump()
}

main().catch((e: unknown) => {
  process.stderr.write(`child failed: ${String(e)}\n`)
  process.exit(1)
})
