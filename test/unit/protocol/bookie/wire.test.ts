import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {FrameDecoder} from '../../../../src/engine/net/frame-decoder.js'
import {BookieStatus} from '../../../../src/engine/protocol/bookie/codes.js'
import {encodeEntry} from '../../../../src/engine/protocol/bookie/entry.js'
import {
  BOOKIE_PROTOCOL_VERSION,
  BookieFrameError,
  BookieOp,
  type BookieRequest,
  type BookieResponse,
  FRAME_BODY_BYTES_MAX,
  HEADER_BYTES,
  decodeRequest,
  decodeResponse,
  encodeHeaderOnlyResponse,
  encodeRequest,
  encodeResponse,
  encodeResponseInto,
  readSafeInt64,
  responseBytes,
} from '../../../../src/engine/protocol/bookie/wire.js'

const id = fc.oneof(fc.constant(0), fc.integer({min: 0, max: 1000}), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat())
const lac = fc.oneof(fc.constant(-1), id)
const key = fc.uint8Array({maxLength: 40}).map((a) => Buffer.from(a))
const nonEmptyKey = fc.uint8Array({minLength: 1, maxLength: 40}).map((a) => Buffer.from(a))
const requestId = fc.nat({max: 0xffff_ffff})
const payload = fc.uint8Array({maxLength: 300}).map((a) => Buffer.from(a))
const entry = fc.record({ledgerId: id, entryId: id, lac, length: id, payload}).map((e) => encodeEntry(e))

const request: fc.Arbitrary<BookieRequest> = fc.oneof(
  fc.record({requestId, recovery: fc.boolean(), masterKey: key, entry}).map((r) => ({
    op: BookieOp.ADD_ENTRY,
    ...r,
    ledgerId: readSafeInt64(r.entry, 0)!,
    entryId: readSafeInt64(r.entry, 8)!,
  })),
  fc.oneof(
    fc.record({requestId, ledgerId: id, entryId: id, fence: fc.constant(false), masterKey: key}),
    fc.record({requestId, ledgerId: id, entryId: id, fence: fc.constant(true), masterKey: nonEmptyKey}),
  ).map((r) => ({op: BookieOp.READ_ENTRY, ...r})),
  fc.record({requestId, ledgerId: id}).map((r) => ({op: BookieOp.READ_LAC, ...r})),
  fc.record({requestId, ledgerId: id, lac, masterKey: key}).map((r) => ({op: BookieOp.WRITE_LAC, ...r})),
  fc.record({requestId}).map((r) => ({op: BookieOp.BOOKIE_INFO, ...r})),
  fc.record({requestId, ledgerId: id, entryId: id, timeoutMs: fc.nat({max: 120_000})}).map((r) => ({op: BookieOp.LONG_POLL_READ, ...r})),
  fc.record({requestId, ledgerId: id, masterKey: key}).map((r) => ({op: BookieOp.FENCE, ...r})),
)

const errorStatus = fc.constantFrom(
  BookieStatus.NO_LEDGER,
  BookieStatus.NO_ENTRY,
  BookieStatus.FENCED,
  BookieStatus.READ_ONLY,
  BookieStatus.UNAUTHORIZED,
  BookieStatus.IO_ERROR,
)
const response: fc.Arbitrary<BookieResponse> = fc.oneof(
  fc.record({requestId, status: fc.oneof(fc.constant(BookieStatus.OK), errorStatus), ledgerId: id, entryId: id}).map((r) => ({op: BookieOp.ADD_ENTRY, ...r})),
  fc.record({requestId, ledgerId: id, entryId: id, entry}).map((r) => ({op: BookieOp.READ_ENTRY, status: BookieStatus.OK, ...r})),
  fc.record({requestId, status: errorStatus, ledgerId: id, entryId: id}).map((r) => ({op: BookieOp.READ_ENTRY, ...r})),
  fc.record({requestId, ledgerId: id, lac}).map((r) => ({op: BookieOp.READ_LAC, status: BookieStatus.OK, ...r})),
  fc.record({requestId, status: errorStatus, ledgerId: id}).map((r) => ({op: BookieOp.FENCE, ...r})),
  fc.record({requestId, ledgerId: id, lac}).map((r) => ({op: BookieOp.FENCE, status: BookieStatus.OK, ...r})),
  fc.record({requestId, status: fc.oneof(fc.constant(BookieStatus.OK), errorStatus), ledgerId: id}).map((r) => ({op: BookieOp.WRITE_LAC, ...r})),
  fc.record({requestId, freeDiskBytes: fc.maxSafeNat(), totalDiskBytes: fc.maxSafeNat(), readOnly: fc.boolean()}).map(
    ({requestId, ...info}) => ({op: BookieOp.BOOKIE_INFO, requestId, status: BookieStatus.OK, info}),
  ),
  fc.record({requestId, ledgerId: id, entryId: id, lac, entry: fc.option(entry, {nil: undefined})}).map(({entry, ...r}) =>
    entry === undefined
      ? {op: BookieOp.LONG_POLL_READ, status: BookieStatus.OK, ...r}
      : {op: BookieOp.LONG_POLL_READ, status: BookieStatus.OK, ...r, entry},
  ),
)

function body(frame: Buffer): Buffer {
  assert.equal(frame.readUInt32BE(0), frame.length - 4, 'length prefix counts the body')
  return frame.subarray(4)
}

function expectOnlyTypedErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof BookieFrameError)) throw e
  }
}

describe('protocol > bookie wire', () => {
  it('round-trips every request', () => {
    fc.assert(
      fc.property(request, (req) => {
        assert.deepEqual(decodeRequest(body(encodeRequest(req))), req)
      }),
      {numRuns: 500},
    )
  })

  it('round-trips every response, also when encoded into a shared buffer', () => {
    fc.assert(
      fc.property(response, fc.nat({max: 64}), (resp, offset) => {
        const frame = encodeResponse(resp)
        assert.equal(frame.length, responseBytes(resp))
        assert.deepEqual(decodeResponse(body(frame)), resp)
        const shared = Buffer.alloc(offset + frame.length + 8, 0xee)
        assert.equal(encodeResponseInto(shared, offset, resp), offset + frame.length)
        assert.deepEqual(shared.subarray(offset, offset + frame.length), frame)
      }),
      {numRuns: 500},
    )
  })

  it('pins the byte layout of an add request (the documented format)', () => {
    const e = encodeEntry({ledgerId: 7, entryId: 3, lac: 2, length: 5, payload: Buffer.from('hello')})
    const frame = encodeRequest({op: BookieOp.ADD_ENTRY, requestId: 0x01020304, recovery: true, masterKey: Buffer.from('k'), entry: e, ledgerId: 7, entryId: 3})
    assert.equal(frame.toString('hex', 0, 15), '00000034' + '01' + '01' + '0002' + '01020304' + '0001' + '6b')
    assert.equal(frame.length, 4 + HEADER_BYTES + 3 + e.length)
    assert.deepEqual(frame.subarray(15), e)
    const resp = encodeResponse({op: BookieOp.ADD_ENTRY, requestId: 9, status: BookieStatus.FENCED, ledgerId: 7, entryId: 3})
    assert.equal(resp.toString('hex'), '00000018' + '01' + '01' + '0068' + '00000009' + '0000000000000007' + '0000000000000003')
  })

  it('classifies unknown opcodes, other versions and malformed bodies', () => {
    const info = encodeRequest({op: BookieOp.BOOKIE_INFO, requestId: 5})
    const unknown = Buffer.from(body(info))
    unknown[1] = 99
    assert.throws(() => decodeRequest(unknown), (e: unknown) => e instanceof BookieFrameError && e.kind === 'opcode' && e.requestId === 5)
    const v2 = Buffer.from(body(info))
    v2[0] = 2
    assert.throws(() => decodeRequest(v2), (e: unknown) => e instanceof BookieFrameError && e.kind === 'version' && e.opcode === 6)
    const trailing = Buffer.concat([body(info), Buffer.from([0])])
    assert.throws(() => decodeRequest(trailing), (e: unknown) => e instanceof BookieFrameError && e.kind === 'malformed')
    assert.throws(() => decodeRequest(Buffer.alloc(3)), BookieFrameError)
    const bad = encodeHeaderOnlyResponse(99, 5, BookieStatus.BAD_REQUEST)
    assert.equal(bad.toString('hex'), '00000008' + '01' + '63' + '0064' + '00000005')
    assert.equal(bad[4], BOOKIE_PROTOCOL_VERSION)
  })

  it('rejects ids beyond 2^53 and negative ids', () => {
    const frame = encodeRequest({op: BookieOp.READ_LAC, requestId: 1, ledgerId: 1})
    const b = Buffer.from(body(frame))
    b.writeBigInt64BE(2n ** 53n, HEADER_BYTES)
    assert.throws(() => decodeRequest(b), /out of range/)
    b.writeBigInt64BE(-1n, HEADER_BYTES)
    assert.throws(() => decodeRequest(b), /out of range/)
    assert.equal(readSafeInt64(Buffer.from('ffffffffffffffff', 'hex'), 0), -1)
  })

  it('never throws anything but BookieFrameError on random or mutated bodies', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 200}), (bytes) => {
        const b = Buffer.from(bytes)
        expectOnlyTypedErrors(() => decodeRequest(b))
        expectOnlyTypedErrors(() => decodeResponse(b))
      }),
      {numRuns: 2000},
    )
    fc.assert(
      fc.property(request, response, fc.array(fc.tuple(fc.nat(), fc.nat({max: 255})), {minLength: 1, maxLength: 6}), fc.nat(), (req, resp, flips, cut) => {
        for (const frame of [encodeRequest(req), encodeResponse(resp)]) {
          const b = Buffer.from(body(frame))
          b[0] = BOOKIE_PROTOCOL_VERSION
          for (const [pos, v] of flips) b[pos % b.length] = v
          const truncated = b.subarray(0, cut % (b.length + 1))
          for (const x of [b, truncated]) {
            expectOnlyTypedErrors(() => decodeRequest(x))
            expectOnlyTypedErrors(() => decodeResponse(x))
          }
        }
      }),
      {numRuns: 1000},
    )
  })
})

describe('protocol > bookie frames over the shared framing (net/frame-decoder)', () => {
  it('reassembles pipelined requests from any chunking', () => {
    fc.assert(
      fc.property(fc.array(request, {maxLength: 20}), fc.array(fc.integer({min: 1, max: 64}), {minLength: 1}), (reqs, sizes) => {
        const stream = Buffer.concat(reqs.map(encodeRequest))
        const dec = new FrameDecoder({frameBytesMax: FRAME_BODY_BYTES_MAX})
        const got: BookieRequest[] = []
        let off = 0
        for (let i = 0; off < stream.length; i++) {
          const n = sizes[i % sizes.length]!
          dec.push(stream.subarray(off, off + n))
          for (let b = dec.next(); b !== undefined; b = dec.next()) got.push(decodeRequest(b))
          off += n
        }
        assert.deepEqual(got, reqs)
        assert.equal(dec.bufferedBytes, 0)
      }),
      {numRuns: 300},
    )
  })
})
