/**
 * A ZooKeeper for the bookie integration tests: our own server when the engine exports it, else a
 * real Apache ZooKeeper (reference/zookeeper.md recipe), so these tests run before and after ours lands.
 */
import {ourServerStart, startTarget, type ZKTarget} from '../../helpers/real-zookeeper.js'

export async function startZooKeeper(): Promise<ZKTarget> {
  return startTarget((await ourServerStart()) ? 'ours' : 'real', {tickTimeMs: 500})
}
