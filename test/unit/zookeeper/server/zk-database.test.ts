import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {
  encodeCreateRequest,
  encodeMultiRequest,
  encodePathVersionRequest,
  encodeSetACLRequest,
  encodeSetDataRequest,
  JuteDecodeError,
  OPEN_ACL_UNSAFE,
  ZKOpCode,
} from '../../../../src/engine/protocol/jute/index.js'
import {decodeTxn, encodeTxn, type Txn} from '../../../../src/engine/zookeeper/server/txn.js'
import {ZKDatabase} from '../../../../src/engine/zookeeper/server/zk-database.js'
import {type Client, dumpTree, Harness} from './harness.js'

const OPEN = [...OPEN_ACL_UNSAFE]
const PATHS = ['/a', '/b', '/a/x', '/a/y', '/b/z', '/a/x/q', '/s-']

type Step =
  | {kind: 'create'; client: number; path: string; flags: number; data: string | null}
  | {kind: 'container'; client: number; path: string}
  | {kind: 'delete'; client: number; path: string; version: number}
  | {kind: 'set'; client: number; path: string; data: string; version: number}
  | {kind: 'acl'; client: number; path: string}
  | {kind: 'multi'; client: number; paths: string[]}
  | {kind: 'close'; client: number}
  | {kind: 'snapshot'}

const path = fc.constantFrom(...PATHS)
const client = fc.nat({max: 3})
const step: fc.Arbitrary<Step> = fc.oneof(
  {weight: 5, arbitrary: fc.record({kind: fc.constant('create' as const), client, path, flags: fc.nat({max: 3}), data: fc.option(fc.string({maxLength: 4}), {nil: null})})},
  {weight: 2, arbitrary: fc.record({kind: fc.constant('delete' as const), client, path, version: fc.constantFrom(-1, 0, 1)})},
  {weight: 1, arbitrary: fc.record({kind: fc.constant('container' as const), client, path})},
  {weight: 2, arbitrary: fc.record({kind: fc.constant('set' as const), client, path, data: fc.string({maxLength: 4}), version: fc.constantFrom(-1, 0, 1)})},
  {weight: 1, arbitrary: fc.record({kind: fc.constant('acl' as const), client, path})},
  {weight: 2, arbitrary: fc.record({kind: fc.constant('multi' as const), client, paths: fc.array(path, {maxLength: 4})})},
  {weight: 1, arbitrary: fc.record({kind: fc.constant('close' as const), client})},
  {weight: 1, arbitrary: fc.constant({kind: 'snapshot' as const})},
)

/** Runs steps against a harness; returns the snapshots taken along the way. */
function run(h: Harness, steps: Step[]): {zxid: number; payload: Buffer}[] {
  const clients: Client[] = [h.connect(), h.connect(), h.connect(), h.connect()]
  const snapshots: {zxid: number; payload: Buffer}[] = []
  for (const s of steps) {
    if (s.kind === 'snapshot') {
      snapshots.push({zxid: h.db.lastZxid, payload: h.db.encodeSnapshot()})
      continue
    }
    let c = clients[s.client]!
    if (c.socket.destroyed) c = clients[s.client] = h.connect()
    switch (s.kind) {
      case 'create':
        c.request(ZKOpCode.CREATE, (w) =>
          encodeCreateRequest(w, {path: s.path, data: s.data === null ? null : Buffer.from(s.data), acl: OPEN, flags: s.flags}),
        )
        break
      case 'container':
        c.request(ZKOpCode.CREATE_CONTAINER, (w) => encodeCreateRequest(w, {path: s.path, data: null, acl: OPEN, flags: 4}))
        break
      case 'delete':
        c.request(ZKOpCode.DELETE, (w) => encodePathVersionRequest(w, {path: s.path, version: s.version}))
        break
      case 'set':
        c.request(ZKOpCode.SET_DATA, (w) => encodeSetDataRequest(w, {path: s.path, data: Buffer.from(s.data), version: s.version}))
        break
      case 'acl':
        c.request(ZKOpCode.SET_ACL, (w) =>
          encodeSetACLRequest(w, {path: s.path, acl: [{perms: 7, id: {scheme: 'world', id: 'anyone'}}], version: -1}),
        )
        break
      case 'multi':
        c.request(ZKOpCode.MULTI, (w) =>
          encodeMultiRequest(
            w,
            s.paths.map((p, i) =>
              i % 2 === 0
                ? {type: ZKOpCode.CREATE, request: {path: p, data: null, acl: OPEN, flags: i % 4 === 0 ? 2 : 1}}
                : {type: ZKOpCode.DELETE, request: {path: p, version: -1}},
            ),
          ),
        )
        break
      case 'close':
        c.request(ZKOpCode.CLOSE_SESSION)
        break
    }
  }
  return snapshots
}

function replay(h: Harness, from?: {zxid: number; payload: Buffer}): ZKDatabase {
  const db = from ? ZKDatabase.fromSnapshot(from.payload) : new ZKDatabase()
  for (const {zxid, txn} of h.txns) if (zxid > db.lastZxid) db.applyTxn(decodeTxn(encodeTxn(txn)), zxid, null)
  return db
}

describe('zookeeper/server > txns, snapshots and replay', () => {
  it('replaying the logged txns rebuilds the same state, child order included; snapshot + later txns too', () => {
    fc.assert(
      fc.property(fc.array(step, {maxLength: 60}), (steps) => {
        const h = new Harness()
        const snapshots = run(h, steps)
        const live = dumpTree(h.db, {childOrder: true})
        assert.equal(dumpTree(replay(h), {childOrder: true}), live)
        for (const snap of snapshots) {
          // Loading re-inserts children into fresh sets (as ZooKeeper does), so compare them as sets.
          assert.equal(dumpTree(replay(h, snap)), dumpTree(h.db))
        }
      }),
      {numRuns: 150},
    )
  })

  it('every logged txn survives its encoding', () => {
    const h = new Harness()
    // A fixed prefix makes sure every txn type appears, whatever the random steps do.
    const fixed: Step[] = [
      {kind: 'create', client: 0, path: '/a', flags: 0, data: 'x'},
      {kind: 'set', client: 0, path: '/a', data: 'y', version: -1},
      {kind: 'acl', client: 0, path: '/a'},
      {kind: 'create', client: 1, path: '/b', flags: 1, data: null},
      {kind: 'delete', client: 1, path: '/b', version: -1},
      {kind: 'multi', client: 1, paths: ['/a/x']},
      {kind: 'close', client: 1},
    ]
    fc.assert(
      fc.property(fc.array(step, {maxLength: 40}), (steps) => {
        run(h, [...fixed, ...steps])
        for (const {txn} of h.txns) assert.deepEqual(decodeTxn(encodeTxn(txn)), txn)
      }),
      {numRuns: 30},
    )
    const types = new Set(h.txns.map((t) => t.txn.op.type))
    for (const t of [ZKOpCode.CREATE_SESSION, ZKOpCode.CREATE, ZKOpCode.DELETE, ZKOpCode.SET_DATA, ZKOpCode.SET_ACL, ZKOpCode.MULTI, ZKOpCode.CLOSE_SESSION]) {
      assert.ok(types.has(t), `workload produced a txn of type ${t}`)
    }
  })

  it('a snapshot keeps sessions, ephemerals and the sequential counters', () => {
    const h = new Harness()
    const c = h.connect()
    c.request(ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/p', data: Buffer.from('d'), acl: OPEN, flags: 0}))
    for (let i = 0; i < 3; i++) c.request(ZKOpCode.CREATE, (w) => encodeCreateRequest(w, {path: '/p/e-', data: null, acl: OPEN, flags: 3}))
    c.request(ZKOpCode.DELETE, (w) => encodePathVersionRequest(w, {path: '/p/e-0000000000', version: -1}))
    const db = ZKDatabase.fromSnapshot(h.db.encodeSnapshot())
    assert.equal(db.lastZxid, h.db.lastZxid)
    assert.deepEqual([...db.sessions.keys()], [c.sessionId])
    assert.deepEqual([...db.tree.ephemerals.get(c.sessionId)!].sort(), ['/p/e-0000000001', '/p/e-0000000002'])
    assert.equal(db.tree.get('/p')!.cversion, 3, 'next sequential suffix is 0000000003')
    assert.equal(dumpTree(db), dumpTree(h.db))
  })

  it('refuses malformed snapshots and txns with JuteDecodeError only', () => {
    const h = new Harness()
    h.connect()
    const good = h.db.encodeSnapshot()
    const txn: Txn = {timeMs: 5, op: {type: ZKOpCode.DELETE, path: '/x'}}
    const goodTxn = encodeTxn(txn)
    assert.throws(() => ZKDatabase.fromSnapshot(good.subarray(0, good.length - 1)), JuteDecodeError)
    assert.throws(() => ZKDatabase.fromSnapshot(Buffer.concat([good, Buffer.alloc(1)])), JuteDecodeError)
    assert.throws(() => decodeTxn(goodTxn.subarray(0, 10)), JuteDecodeError)
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 120}), fc.array(fc.tuple(fc.nat(), fc.nat({max: 255})), {maxLength: 3}), (junk, flips) => {
        for (const buf of [Buffer.from(junk), Buffer.from(good), Buffer.from(goodTxn)]) {
          for (const [at, v] of flips) if (buf.length > 0) buf[at % buf.length] = v
          for (const decode of [() => ZKDatabase.fromSnapshot(buf), () => decodeTxn(buf)]) {
            try {
              decode()
            } catch (e) {
              assert.ok(e instanceof JuteDecodeError, String(e))
            }
          }
        }
      }),
      {numRuns: 500},
    )
  })
})
