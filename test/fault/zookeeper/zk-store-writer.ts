/**
 * Child process for file-persistence-kill9.test.ts: recovers the store in argv[2], then logs txns
 * zxid+1, zxid+2, ... with WINDOW appends in flight, printing `ack <zxid>` as each becomes durable,
 * and snapshots its tree every SNAPSHOT_EVERY_TXNS durable txns, until the parent kills it.
 */
import {FilePersistence} from '../../../src/engine/zookeeper/server/persistence/file-persistence.js'
import {
  decodeTree,
  encodeTree,
  SNAPSHOT_EVERY_TXNS,
  treeDigestAfter,
  zkStoreTestOptions,
  zkTxnPayload,
} from './zk-store-fixture.js'

const store = new FilePersistence(zkStoreTestOptions(process.argv[2] as string))
const window = Number(process.env.WINDOW ?? 16)
const recovered = await store.recover()
let durableZxid = 0
let digest = 0
if (recovered.snapshot) ({zxid: durableZxid, digest} = decodeTree(recovered.snapshot.payload))
for (const t of recovered.txns) {
  durableZxid = Number(t.zxid)
  digest = treeDigestAfter(digest, t.payload)
}
process.stdout.write(`start ${durableZxid}\n`)
let next = durableZxid + 1
const worker = async () => {
  for (;;) {
    const zxid = next++
    const payload = zkTxnPayload(zxid)
    await store.append({zxid: BigInt(zxid), payload})
    // Appends resolve in call order, so this is the tree after every txn up to zxid.
    durableZxid = zxid
    digest = treeDigestAfter(digest, payload)
    process.stdout.write(`ack ${zxid}\n`)
    if (zxid % SNAPSHOT_EVERY_TXNS === 0) {
      store.snapshot(BigInt(zxid), encodeTree(zxid, digest)).catch((e: unknown) => {
        process.stderr.write(`snapshot failed: ${String(e)}\n`)
        process.exit(1)
      })
    }
  }
}
await Promise.all(Array.from({length: window}, worker))
