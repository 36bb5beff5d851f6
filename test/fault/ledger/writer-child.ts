/**
 * A ledger writer in a child process, for the kill -9 fault test: connects to ZooKeeper (argv[2]) and
 * the bookies registered under the ledgers root (argv[3]), creates a ledger (E3 Qw3 Qa2, password
 * argv[4]) and prints `ledger <id>`, then keeps 32 appends of payloadOf(i) in flight forever, printing
 * `acked <entryId>` as each one is acknowledged. The test kills it with SIGKILL mid-stream.
 */
import {LedgerClient} from '../../../src/engine/ledger/ledger-client.js'
import {killPayloadOf} from './payload.js'

async function main(): Promise<void> {
  const [connectString, root, password] = process.argv.slice(2) as [string, string, string]
  const client = await LedgerClient.connect({zkServers: connectString, ledgersRootPath: root})
  const writer = await client.createLedger({ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: Buffer.from(password)})
  process.stdout.write(`ledger ${writer.ledgerId}\n`)
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
