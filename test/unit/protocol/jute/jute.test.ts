import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {
  decodeAuthPacket,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeCreate2Response,
  decodeCreateRequest,
  decodeGetACLResponse,
  decodeGetChildren2Response,
  decodeGetChildrenResponse,
  decodeGetDataResponse,
  decodeMultiRequest,
  decodeMultiResponse,
  decodePathRequest,
  decodePathVersionRequest,
  decodePathWatchRequest,
  decodeReplyHeader,
  decodeRequestHeader,
  decodeSetACLRequest,
  decodeSetDataRequest,
  decodeSetWatches,
  decodeWatcherEvent,
  decodeWhoAmIResponse,
  encodeAuthPacket,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeCreateRequest,
  encodeGetACLResponse,
  encodeGetDataResponse,
  encodeMultiRequest,
  encodeMultiResponse,
  encodePathRequest,
  encodePathVersionRequest,
  encodePathWatchRequest,
  encodeReplyHeader,
  encodeRequestHeader,
  encodeSetACLRequest,
  encodeSetDataRequest,
  encodeSetWatches,
  encodeWatcherEvent,
  encodeWhoAmIResponse,
  JuteDecodeError,
  JuteReader,
  JuteWriter,
  type MultiOp,
  type MultiResult,
  OPEN_ACL_UNSAFE,
  readStat,
  STAT_BYTES,
  writeStat,
  type ZKACL,
  ZKOpCode,
  type ZKStat,
} from '../../../../src/engine/protocol/jute/index.js'

// ---- node-zookeeper-client's own jute, as an independent implementation to cross-check against ----

interface NzcRecord {
  serialize(buf: Buffer, offset: number): number
  deserialize(buf: Buffer, offset: number): number
  byteLength(): number
  [field: string]: unknown
}
type NzcCtor = new (...args: unknown[]) => NzcRecord
interface NzcJute {
  protocol: Record<string, NzcCtor>
  data: Record<string, NzcCtor>
  TransactionRequest: new (ops: unknown[]) => NzcRecord
  TransactionResponse: new () => NzcRecord & {results: {type: number; path?: string; err?: number}[]}
}
const nzc = createRequire(import.meta.url)('node-zookeeper-client/lib/jute/index.js') as NzcJute
const nzcAcl = createRequire(import.meta.url)('node-zookeeper-client/lib/ACL.js') as new (perms: number, id: unknown) => unknown
const nzcId = createRequire(import.meta.url)('node-zookeeper-client/lib/Id.js') as new (scheme: string, id: string) => unknown

function nzcBytes(rec: NzcRecord): Buffer {
  const buf = Buffer.alloc(rec.byteLength())
  rec.serialize(buf, 0)
  return buf
}

function ours(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(16)
  write(w)
  return w.finish()
}

function long8(v: bigint): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(v)
  return b
}

// ---- arbitraries ---------------------------------------------------------------------------------

/** fc.record with plain objects (decoders build ordinary objects; deepEqual compares prototypes). */
const rec = ((model: Record<string, fc.Arbitrary<unknown>>, opts: Record<string, unknown> = {}) =>
  fc.record(model, {...opts, noNullPrototype: true})) as typeof fc.record

const int32 = fc.integer({min: -(2 ** 31), max: 2 ** 31 - 1})
const int64 = fc.bigInt({min: -(2n ** 63n), max: 2n ** 63n - 1n})
const safeLong = fc.integer({min: -(2 ** 53 - 2 ** 32), max: 2 ** 53 - 1})
const bytes = fc.uint8Array({maxLength: 64}).map((a) => Buffer.from(a))
const maybeBytes = fc.option(bytes, {nil: null})
const str = fc.string({unit: 'grapheme', maxLength: 24})
const path = fc.array(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), {minLength: 1, maxLength: 4}).map((p) => `/${p.join('/')}`)
const acl: fc.Arbitrary<ZKACL> = rec({perms: fc.integer({min: 0, max: 31}), id: rec({scheme: str, id: str})})
const aclList = fc.array(acl, {maxLength: 3})
const stat: fc.Arbitrary<ZKStat> = rec({
  czxid: int64,
  mzxid: int64,
  ctime: safeLong,
  mtime: safeLong,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: int64,
  dataLength: int32,
  numChildren: int32,
  pzxid: int64,
})

function roundTrip<T>(arb: fc.Arbitrary<T>, enc: (w: JuteWriter, v: T) => void, dec: (r: JuteReader) => T): void {
  fc.assert(
    fc.property(arb, (v) => {
      const buf = ours((w) => enc(w, v))
      const r = new JuteReader(buf)
      assert.deepEqual(dec(r), v)
      assert.equal(r.remaining(), 0, 'decoder consumed exactly the encoding')
    }),
    {numRuns: 200},
  )
}

describe('protocol/jute > primitives', () => {
  it('round-trips every primitive in any order', () => {
    type Item = ['int', number] | ['long', bigint] | ['longNumber', number] | ['bool', boolean] | ['buffer', Buffer | null] | ['ustring', string | null]
    const item: fc.Arbitrary<Item> = fc.oneof(
      int32.map((v): Item => ['int', v]),
      int64.map((v): Item => ['long', v]),
      safeLong.map((v): Item => ['longNumber', v]),
      fc.boolean().map((v): Item => ['bool', v]),
      maybeBytes.map((v): Item => ['buffer', v]),
      fc.option(str, {nil: null}).map((v): Item => ['ustring', v]),
    )
    fc.assert(
      fc.property(fc.array(item, {maxLength: 30}), (items) => {
        const w = new JuteWriter(16)
        for (const [kind, v] of items) {
          if (kind === 'int') w.int(v)
          else if (kind === 'long') w.long(v)
          else if (kind === 'longNumber') w.longNumber(v)
          else if (kind === 'bool') w.bool(v)
          else if (kind === 'buffer') w.buffer(v)
          else w.ustring(v)
        }
        const r = new JuteReader(w.finish())
        for (const [kind, v] of items) {
          if (kind === 'int') assert.equal(r.int(), v)
          else if (kind === 'long') assert.equal(r.long(), v)
          else if (kind === 'longNumber') assert.equal(r.longNumber(), v)
          else if (kind === 'bool') assert.equal(r.bool(), v)
          else if (kind === 'buffer') assert.deepEqual(r.buffer(), v)
          else assert.equal(r.ustring(), v)
        }
        assert.equal(r.remaining(), 0)
      }),
    )
  })

  it('encodes big-endian with -1 for null buffers and strings', () => {
    const buf = ours((w) => w.int(1).long(-2n).bool(true).buffer(null).ustring(null).ustring('é').buffer(Buffer.from([7])))
    assert.equal(
      buf.toString('hex'),
      '00000001' + 'fffffffffffffffe' + '01' + 'ffffffff' + 'ffffffff' + '00000002c3a9' + '0000000107',
    )
    assert.equal(ours((w) => w.longNumber(-1)).toString('hex'), 'ffffffffffffffff')
    assert.equal(ours((w) => w.longNumber(2 ** 32 + 5)).toString('hex'), '0000000100000005')
  })

  it('refuses truncated fields, negative lengths and impossible vector counts with JuteDecodeError', () => {
    const cases: [string, () => unknown][] = [
      ['int', () => new JuteReader(Buffer.alloc(3)).int()],
      ['long', () => new JuteReader(Buffer.alloc(7)).long()],
      ['bool', () => new JuteReader(Buffer.alloc(0)).bool()],
      ['buffer past end', () => new JuteReader(Buffer.from('0000000501', 'hex')).buffer()],
      ['negative buffer', () => new JuteReader(Buffer.from('fffffffe', 'hex')).buffer()],
      ['negative string', () => new JuteReader(Buffer.from('80000000', 'hex')).ustring()],
      ['null required string', () => new JuteReader(Buffer.from('ffffffff', 'hex')).string()],
      ['huge vector', () => new JuteReader(Buffer.from('7fffffff00000000', 'hex')).stringVector()],
      ['negative vector', () => new JuteReader(Buffer.from('fffffff0', 'hex')).stringVector()],
      ['unsafe long as number', () => new JuteReader(Buffer.from('7fffffffffffffff', 'hex')).longNumber()],
    ]
    for (const [what, fn] of cases) assert.throws(fn, JuteDecodeError, what)
    assert.equal(new JuteReader(Buffer.from('ffffffff', 'hex')).stringVector(), null)
  })

  it('a reader view never reads past its end bound', () => {
    const buf = Buffer.from('000000010000000200000003', 'hex')
    const r = new JuteReader(buf, 4, 8)
    assert.equal(r.int(), 2)
    assert.throws(() => r.int(), JuteDecodeError)
  })
})

describe('protocol/jute > writer', () => {
  it('writes frames with their length and hands out bytes that later writes never touch', () => {
    const w = new JuteWriter(16)
    const at = w.beginFrame()
    w.int(0x11223344).ustring('abc')
    w.endFrame(at)
    const first = w.take()
    assert.equal(first.toString('hex'), '0000000b' + '11223344' + '00000003616263')
    for (let i = 0; i < 100; i++) w.int(i) // grows past the first backing buffer
    assert.equal(first.toString('hex'), '0000000b' + '11223344' + '00000003616263')
    assert.equal(w.length, 400)
    const part = w.take(8)
    assert.equal(part.readInt32BE(4), 1)
    assert.equal(w.length, 392)
    const b2 = w.beginFrame()
    w.int(5)
    w.truncate(b2)
    assert.equal(w.length, 392)
  })
})

describe('protocol/jute > records', () => {
  it('round-trip: Stat is 68 bytes', () => {
    roundTrip(stat, writeStat, readStat)
    fc.assert(fc.property(stat, (s) => ours((w) => writeStat(w, s)).length === STAT_BYTES))
  })

  it('round-trip: handshake records, with and without the readOnly byte', () => {
    const connectRequest = rec(
      {protocolVersion: int32, lastZxidSeen: int64, timeOutMs: int32, sessionId: int64, passwd: maybeBytes, readOnly: fc.boolean()},
      {requiredKeys: ['protocolVersion', 'lastZxidSeen', 'timeOutMs', 'sessionId', 'passwd']},
    )
    roundTrip(connectRequest, encodeConnectRequest, decodeConnectRequest)
    const connectResponse = rec(
      {protocolVersion: int32, timeOutMs: int32, sessionId: int64, passwd: bytes, readOnly: fc.boolean()},
      {requiredKeys: ['protocolVersion', 'timeOutMs', 'sessionId', 'passwd']},
    )
    roundTrip(connectResponse, encodeConnectResponse, decodeConnectResponse)
  })

  it('round-trip: headers and every request record', () => {
    roundTrip(rec({xid: int32, type: int32}), encodeRequestHeader, decodeRequestHeader)
    roundTrip(rec({xid: int32, zxid: int64, err: int32}), encodeReplyHeader, decodeReplyHeader)
    roundTrip(rec({path, data: maybeBytes, acl: fc.option(aclList, {nil: null}), flags: int32}), encodeCreateRequest, (r) =>
      decodeCreateRequest(r),
    )
    roundTrip(
      rec({path, data: maybeBytes, acl: fc.option(aclList, {nil: null}), flags: int32, ttl: int64}),
      encodeCreateRequest,
      (r) => decodeCreateRequest(r, true),
    )
    roundTrip(rec({path, version: int32}), encodePathVersionRequest, decodePathVersionRequest)
    roundTrip(rec({path, watch: fc.boolean()}), encodePathWatchRequest, decodePathWatchRequest)
    roundTrip(rec({path, data: maybeBytes, version: int32}), encodeSetDataRequest, decodeSetDataRequest)
    roundTrip(rec({path}), encodePathRequest, decodePathRequest)
    roundTrip(rec({path, acl: fc.option(aclList, {nil: null}), version: int32}), encodeSetACLRequest, decodeSetACLRequest)
    roundTrip(
      rec({relativeZxid: int64, dataWatches: fc.array(path), existWatches: fc.array(path), childWatches: fc.array(path)}),
      encodeSetWatches,
      decodeSetWatches,
    )
    roundTrip(rec({type: int32, scheme: str, auth: maybeBytes}), encodeAuthPacket, decodeAuthPacket)
    const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
      rec({
        type: fc.constantFrom(ZKOpCode.CREATE, ZKOpCode.CREATE2, ZKOpCode.CREATE_CONTAINER),
        request: rec({path, data: maybeBytes, acl: fc.option(aclList, {nil: null}), flags: int32}),
      }),
      rec({type: fc.constantFrom(ZKOpCode.DELETE, ZKOpCode.CHECK), request: rec({path, version: int32})}),
      rec({type: fc.constant(ZKOpCode.SET_DATA), request: rec({path, data: maybeBytes, version: int32})}),
    )
    roundTrip(fc.array(multiOp, {maxLength: 6}), encodeMultiRequest, decodeMultiRequest)
  })

  it('round-trip: every response record', () => {
    roundTrip(rec({type: int32, state: int32, path}), encodeWatcherEvent, decodeWatcherEvent)
    roundTrip(rec({data: maybeBytes, stat}), encodeGetDataResponse, decodeGetDataResponse)
    roundTrip(rec({acl: aclList, stat}), encodeGetACLResponse, decodeGetACLResponse)
    roundTrip(fc.array(rec({authScheme: str, user: str}), {maxLength: 3}), encodeWhoAmIResponse, decodeWhoAmIResponse)
    roundTrip(
      rec({children: fc.array(str, {maxLength: 5}), stat}),
      (w, v) => {
        w.stringVector(v.children)
        writeStat(w, v.stat)
      },
      decodeGetChildren2Response,
    )
    roundTrip(rec({children: fc.array(str, {maxLength: 5})}), (w, v) => w.stringVector(v.children), decodeGetChildrenResponse)
    roundTrip(
      rec({path, stat}),
      (w, v) => {
        w.ustring(v.path)
        writeStat(w, v.stat)
      },
      decodeCreate2Response,
    )
    const result: fc.Arbitrary<MultiResult> = fc.oneof(
      rec({type: fc.constant(ZKOpCode.CREATE), path}),
      rec({type: fc.constant(ZKOpCode.CREATE2), path, stat}),
      rec({type: fc.constant(ZKOpCode.SET_DATA), stat}),
      rec({type: fc.constantFrom(ZKOpCode.DELETE, ZKOpCode.CHECK)}),
      rec({type: fc.constant(ZKOpCode.ERROR), err: int32}),
    )
    roundTrip(fc.array(result, {maxLength: 6}), encodeMultiResponse, decodeMultiResponse)
  })

  it('a multi with an op type outside create/delete/setData/check is refused', () => {
    const buf = ours((w) => w.int(ZKOpCode.GET_DATA).bool(false).int(-1).ustring('/a').bool(false))
    assert.throws(() => decodeMultiRequest(new JuteReader(buf)), JuteDecodeError)
  })
})

describe('protocol/jute > interop with node-zookeeper-client', () => {
  it('decodes the ConnectRequest node-zookeeper-client sends (44 bytes, no readOnly byte)', () => {
    const passwd = Buffer.alloc(16, 7)
    const rec = new nzc.protocol.ConnectRequest!(0, long8(0x1234n), 30000, long8(0x0100_0000_0000_0001n), passwd)
    const buf = nzcBytes(rec)
    assert.equal(buf.length, 44)
    const req = decodeConnectRequest(new JuteReader(buf))
    assert.deepEqual(req, {protocolVersion: 0, lastZxidSeen: 0x1234n, timeOutMs: 30000, sessionId: 0x0100_0000_0000_0001n, passwd})
  })

  it('our ConnectResponse, ReplyHeader, Stat and read responses parse with its decoders', () => {
    const s: ZKStat = {
      czxid: 5n, mzxid: 6n, ctime: 1700000000123, mtime: 1700000000456, version: 2, cversion: -1, aversion: 1,
      ephemeralOwner: 0x0100_0000_00ab_0000n, dataLength: 3, numChildren: 4, pzxid: 9n,
    }
    const rsp = new nzc.protocol.ConnectResponse!()
    const connect = ours((w) => encodeConnectResponse(w, {protocolVersion: 0, timeOutMs: 4000, sessionId: 77n, passwd: Buffer.alloc(16, 1)}))
    assert.equal(rsp.deserialize(connect, 0), 36)
    assert.equal(rsp.timeOut, 4000)
    assert.equal((rsp.sessionId as Buffer).readBigInt64BE(), 77n)

    const hdr = new nzc.protocol.ReplyHeader!()
    hdr.deserialize(ours((w) => encodeReplyHeader(w, {xid: 3, zxid: 0x1_0000_0002n, err: -101})), 0)
    assert.deepEqual([hdr.xid, (hdr.zxid as Buffer).readBigInt64BE(), hdr.err], [3, 0x1_0000_0002n, -101])

    const data = new nzc.protocol.GetDataResponse!()
    data.deserialize(ours((w) => encodeGetDataResponse(w, {data: null, stat: s})), 0)
    assert.equal(data.data, undefined, 'null data arrives as undefined')
    const st = data.stat as Record<string, unknown>
    assert.equal((st.ephemeralOwner as Buffer).readBigInt64BE(), s.ephemeralOwner)
    assert.equal((st.mtime as Buffer).readBigInt64BE(), BigInt(s.mtime))
    assert.deepEqual([st.version, st.cversion, st.aversion, st.dataLength, st.numChildren], [2, -1, 1, 3, 4])

    const kids = new nzc.protocol.GetChildren2Response!()
    kids.deserialize(ours((w) => {
      w.stringVector(['b', 'a', 'ü'])
      writeStat(w, s)
    }), 0)
    assert.deepEqual(kids.children, ['b', 'a', 'ü'])

    const ev = new nzc.protocol.WatcherEvent!()
    ev.deserialize(ours((w) => encodeWatcherEvent(w, {type: 4, state: 3, path: '/x'})), 0)
    assert.deepEqual([ev.type, ev.state, ev.path], [4, 3, '/x'])

    const acls = new nzc.protocol.GetACLResponse!()
    acls.deserialize(ours((w) => encodeGetACLResponse(w, {acl: [...OPEN_ACL_UNSAFE], stat: s})), 0)
    assert.equal((acls.acl as {perms: number}[])[0]!.perms, 31)
  })

  it('decodes its multi request and it decodes our multi response (success and failure)', () => {
    const open = [new nzcAcl(31, new nzcId('world', 'anyone'))]
    const req = new nzc.TransactionRequest([
      {type: 1, path: '/a', data: Buffer.from('x'), acls: open, mode: 2},
      {type: 13, path: '/a', version: 3},
      {type: 5, path: '/a', data: Buffer.from('y'), version: -1},
      {type: 2, path: '/a', version: 4},
    ])
    const ops = decodeMultiRequest(new JuteReader(nzcBytes(req)))
    assert.deepEqual(
      ops.map((o) => [o.type, o.request.path]),
      [[1, '/a'], [13, '/a'], [5, '/a'], [2, '/a']],
    )
    assert.equal((ops[0]!.request as {flags: number}).flags, 2)

    const results: MultiResult[] = [{type: 1, path: '/a0000000001'}, {type: 13}, {type: 2}, {type: -1, err: -101}]
    const res = new nzc.TransactionResponse()
    res.deserialize(ours((w) => encodeMultiResponse(w, results)), 0)
    assert.deepEqual(res.results, [{type: 1, path: '/a0000000001'}, {type: 13}, {type: 2}, {type: -1, err: -101}])
  })

  it('decodes its SetWatches and AuthPacket', () => {
    const sw = new nzc.protocol.SetWatches!(long8(42n), ['/d'], ['/e1', '/e2'], [])
    assert.deepEqual(decodeSetWatches(new JuteReader(nzcBytes(sw))), {
      relativeZxid: 42n,
      dataWatches: ['/d'],
      existWatches: ['/e1', '/e2'],
      childWatches: [],
    })
    const auth = new nzc.protocol.AuthPacket!(0, 'digest', Buffer.from('u:p'))
    assert.deepEqual(decodeAuthPacket(new JuteReader(nzcBytes(auth))), {type: 0, scheme: 'digest', auth: Buffer.from('u:p')})
  })
})

describe('protocol/jute > fuzz', () => {
  const decoders: [string, (r: JuteReader) => unknown][] = [
    ['ConnectRequest', decodeConnectRequest],
    ['RequestHeader', decodeRequestHeader],
    ['CreateRequest', (r) => decodeCreateRequest(r)],
    ['CreateTTLRequest', (r) => decodeCreateRequest(r, true)],
    ['PathVersionRequest', decodePathVersionRequest],
    ['PathWatchRequest', decodePathWatchRequest],
    ['SetDataRequest', decodeSetDataRequest],
    ['PathRequest', decodePathRequest],
    ['SetACLRequest', decodeSetACLRequest],
    ['SetWatches', decodeSetWatches],
    ['AuthPacket', decodeAuthPacket],
    ['MultiRequest', decodeMultiRequest],
    ['MultiResponse', decodeMultiResponse],
    ['GetDataResponse', decodeGetDataResponse],
    ['GetACLResponse', decodeGetACLResponse],
  ]

  function onlyTypedErrors(buf: Buffer): void {
    for (const [name, dec] of decoders) {
      try {
        dec(new JuteReader(buf))
      } catch (e) {
        if (!(e instanceof JuteDecodeError)) throw new Error(`${name} threw ${String(e)} on ${buf.toString('hex')}`)
      }
    }
  }

  it('random bytes make every decoder either succeed or throw JuteDecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({maxLength: 200}), (a) => onlyTypedErrors(Buffer.from(a))), {numRuns: 2000})
  })

  it('mutated valid encodings (flipped bytes, truncation, big lengths) do too', () => {
    const valid = [
      ours((w) => encodeCreateRequest(w, {path: '/a/b', data: Buffer.from('hello'), acl: [...OPEN_ACL_UNSAFE], flags: 3})),
      ours((w) =>
        encodeMultiRequest(w, [
          {type: 1, request: {path: '/m', data: null, acl: [...OPEN_ACL_UNSAFE], flags: 0}},
          {type: 2, request: {path: '/m', version: -1}},
        ]),
      ),
      ours((w) => encodeSetWatches(w, {relativeZxid: 9n, dataWatches: ['/a'], existWatches: [], childWatches: ['/b']})),
      ours((w) => encodeConnectRequest(w, {protocolVersion: 0, lastZxidSeen: 0n, timeOutMs: 1, sessionId: 0n, passwd: Buffer.alloc(16)})),
    ]
    const mutation = rec({
      which: fc.nat({max: valid.length - 1}),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255})), {maxLength: 4}),
      cut: fc.nat(),
      bigLengthAt: fc.option(fc.nat(), {nil: undefined}),
    })
    fc.assert(
      fc.property(mutation, (m) => {
        const buf = Buffer.from(valid[m.which]!)
        for (const [at, v] of m.flips) buf[at % buf.length] = v
        if (m.bigLengthAt !== undefined && buf.length >= 4) buf.writeInt32BE(0x7ffffff0, m.bigLengthAt % (buf.length - 3))
        onlyTypedErrors(buf.subarray(0, buf.length - (m.cut % (buf.length + 1))))
      }),
      {numRuns: 2000},
    )
  })
})
