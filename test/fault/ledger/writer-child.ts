/**
 * A ledger writer in a child process, for the kill -9 fault test: connects to ZooKeeper (argv[2]) and
 * the bookies registered under the ledgers root (argv[3]), creates a ledger (E3 Qw3 Qa2, password
 * argv[4]) and prints `ledger <id>`, then keeps 32 appends of payloadOf(i) in flight forever, printing
 * `acked <entryId>` as each one is acknowledged. The test kills it with SIGKILL mid-stream.
 */
import {connectLedgerContext, createTestLedger} from '../../helpers/ledger-cluster.js'
import {killPayloadOf} from './payload.js'

async function main(): Promise<void> {
  const [connectString, root, password] = process.argv.slice(2) as [string, string, string]
  const {ctx} = await connectLedgerContext(connectString, root)
  const {handle: writer, md} = await createTestLedger(ctx, Buffer.from(password))
  process.stdout.write(`ledger ${md.value.ledgerId}\n`)
  let next = 0
  const pump = (): void => {
    const i = next++
    writer.append(killPayloadOf(i)).then(
      (entryId) => {
        process.stdout.write(`acked ${entryId}\n`)
        pump()
      },
      (e: unknown) => {
        process.stderr.write(`append ${i} failed: ${String(e)}\n`)
        process.exit(1)
      },
    )
  }
  for (let k = 0; k < 32; k++) pump()
}

main().catch((e: unknown) => {
  process.stderr.write(`writer child failed: ${String(e)}\n`)
  process.exit(1)
})
