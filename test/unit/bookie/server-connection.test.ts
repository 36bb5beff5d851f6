import assert from 'node:assert/strict'
import {Duplex} from 'node:stream'
import {after, describe, it} from 'node:test'

import {BookieServer} from '../../../src/engine/bookie/server/bookie-server.js'
import {MetricsRegistry} from '../../../src/engine/metrics/registry.js'
import {FrameDecoder} from '../../../src/engine/net/frame-decoder.js'
import {BookieStatus} from '../../../src/engine/protocol/bookie/codes.js'
import {encodeEntry} from '../../../src/engine/protocol/bookie/entry.js'
import {
  BookieOp,
  type BookieRequest,
  type BookieResponse,
  decodeResponse,
  encodeRequest,
  FRAME_BODY_BYTES_MAX,
  HEADER_BYTES,
  peekHeader,
} from '../../../src/engine/protocol/bookie/wire.js'
import {waitFor} from '../../helpers/wait-for.js'
import {FakeBookieCore} from './fake-core.js'

/** Two in-memory duplex ends: what one writes, the other reads. */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk)
        cb()
      },
      final(cb) {
        peer().push(null)
        cb()
      },
      destroy(err, cb) {
        const p = peer()
        if (!p.readableEnded) p.push(null)
        cb(err)
      },
    })
  ends.push(make(() => ends[1]!), make(() => ends[0]!))
  return [ends[0]!, ends[1]!]
}

/** A test client over an in-memory connection: sends requests, collects decoded responses. */
class TestClient {
  readonly responses: BookieResponse[] = []
  readonly rawFrames: Buffer[] = []
  ended = false
  /** Socket write() calls the server made towards this client. */
  serverWrites = 0
  readonly end: Duplex
  private readonly decoder = new FrameDecoder({frameBytesMax: FRAME_BODY_BYTES_MAX})

  constructor(server: BookieServer) {
    const [clientEnd, serverEnd] = duplexPair()
    this.end = clientEnd
    const write = serverEnd.write.bind(serverEnd)
    serverEnd.write = ((chunk: Buffer, ...rest: never[]) => {
      this.serverWrites++
      return write(chunk, ...rest)
    }) as typeof serverEnd.write
    clientEnd.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk)
      for (let body = this.decoder.next(); body !== undefined; body = this.decoder.next()) {
        this.rawFrames.push(Buffer.from(body))
        if (body.length > HEADER_BYTES || peekHeader(body)!.flagsOrStatus === BookieStatus.OK) this.responses.push(decodeResponse(body))
      }
    })
    clientEnd.on('end', () => (this.ended = true))
    clientEnd.on('close', () => (this.ended = true))
    server.handleConnection(serverEnd)
  }

  send(...reqs: BookieRequest[]): void {
    this.end.write(Buffer.concat(reqs.map(encodeRequest)))
  }

  response(requestId: number): BookieResponse | undefined {
    return this.responses.find((r) => r.requestId === requestId)
  }

  async waitResponses(n: number): Promise<void> {
    await waitFor(() => this.responses.length >= n, {what: `${n} responses (have ${this.responses.length})`})
  }
}

const KEY = Buffer.from('master-key')

function add(requestId: number, ledgerId: number, entryId: number, lac = entryId - 1, payload = `payload-${entryId}`): BookieRequest {
  const entry = encodeEntry({ledgerId, entryId, lac, length: 0, payload: Buffer.from(payload)})
  return {op: BookieOp.ADD_ENTRY, requestId, recovery: false, masterKey: KEY, entry, ledgerId, entryId}
}

function newServer(core: FakeBookieCore, max = 64): BookieServer {
  const server = new BookieServer({core, host: '127.0.0.1', port: 0, outstandingRequestsPerConnectionMax: max, metrics: new MetricsRegistry()})
  after(() => server.close({drainTimeoutMs: 100}))
  return server
}

describe('bookie > server connection', () => {
  it('answers pipelined requests of every op, matched by request id', async () => {
    const core = new FakeBookieCore()
    const server = newServer(core)
    const c = new TestClient(server)
    c.send(add(1, 7, 0), add(2, 7, 1), add(3, 7, 2))
    await c.waitResponses(3)
    c.send(
      {op: BookieOp.READ_ENTRY, requestId: 10, ledgerId: 7, entryId: 1, fence: false, masterKey: Buffer.alloc(0)},
      {op: BookieOp.READ_ENTRY, requestId: 11, ledgerId: 7, entryId: 9, fence: false, masterKey: Buffer.alloc(0)},
      {op: BookieOp.READ_LAC, requestId: 12, ledgerId: 7},
      {op: BookieOp.LONG_POLL_READ, requestId: 13, ledgerId: 7, entryId: 1, timeoutMs: 1000},
      {op: BookieOp.LONG_POLL_READ, requestId: 14, ledgerId: 7, entryId: 3, timeoutMs: 5000},
      {op: BookieOp.BOOKIE_INFO, requestId: 15},
      {op: BookieOp.READ_LAC, requestId: 16, ledgerId: 99},
    )
    await c.waitResponses(9)
    assert.deepEqual(c.response(2), {op: BookieOp.ADD_ENTRY, requestId: 2, status: BookieStatus.OK, ledgerId: 7, entryId: 1})
    const read = c.response(10) as {entry: Buffer}
    assert.deepEqual(read.entry, encodeEntry({ledgerId: 7, entryId: 1, lac: 0, length: 0, payload: Buffer.from('payload-1')}))
    assert.equal(c.response(11)?.status, BookieStatus.NO_ENTRY)
    assert.deepEqual(c.response(12), {op: BookieOp.READ_LAC, requestId: 12, status: BookieStatus.OK, ledgerId: 7, lac: 1})
    assert.equal((c.response(13) as {lac: number}).lac, 1)
    assert.ok((c.response(13) as {entry?: Buffer}).entry)
    assert.deepEqual((c.response(15) as {info: unknown}).info, {freeDiskBytes: 1000, totalDiskBytes: 5000, readOnly: false})
    assert.equal(c.response(16)?.status, BookieStatus.NO_LEDGER)
    assert.equal(c.response(14), undefined, 'the long poll for entry 3 is parked')
    // Entry 4 carries lac 3: once entry 3 is confirmed the parked long poll returns it with the LAC.
    c.send(add(20, 7, 3), add(21, 7, 4))
    await waitFor(() => c.response(14))
    const lp = c.response(14) as {lac: number; entry?: Buffer}
    assert.equal(lp.lac, 3)
    assert.equal(lp.entry?.readBigInt64BE(8), 3n)
    // Fence (and the fencing read) then an add: refused with FENCED; a recovery add still goes in.
    c.send({op: BookieOp.FENCE, requestId: 30, ledgerId: 7, masterKey: KEY})
    await waitFor(() => c.response(30))
    assert.deepEqual(c.response(30), {op: BookieOp.FENCE, requestId: 30, status: BookieStatus.OK, ledgerId: 7, lac: 3})
    c.send(add(31, 7, 5), {...(add(32, 7, 5) as {entry: Buffer} & BookieRequest), recovery: true} as BookieRequest)
    await waitFor(() => c.response(31) && c.response(32))
    assert.equal(c.response(31)?.status, BookieStatus.FENCED)
    assert.equal(c.response(32)?.status, BookieStatus.OK)
    c.send({op: BookieOp.FENCE, requestId: 33, ledgerId: 7, masterKey: Buffer.from('wrong')})
    await waitFor(() => c.response(33))
    assert.equal(c.response(33)?.status, BookieStatus.UNAUTHORIZED)
  })

  it('acks everything completed in one turn with a single socket write', async () => {
    const core = new FakeBookieCore()
    core.holding = true
    const server = newServer(core, 1000)
    const c = new TestClient(server)
    c.send(...Array.from({length: 200}, (_, i) => add(i + 1, 1, i)))
    await waitFor(() => core.heldCount === 200)
    const before = c.serverWrites
    core.release()
    await c.waitResponses(200)
    assert.equal(c.serverWrites - before, 1, 'one write for 200 acks')
    assert.deepEqual(new Set(c.responses.map((r) => r.requestId)).size, 200)
  })

  it('stops reading past the outstanding bound and resumes when drained', async () => {
    const core = new FakeBookieCore()
    core.holding = true
    const server = newServer(core, 8)
    const c = new TestClient(server)
    // All 50 in one chunk: the server must stop handing frames to the core at the bound, mid-chunk.
    c.send(...Array.from({length: 50}, (_, i) => add(i + 1, 2, i)))
    await waitFor(() => core.heldCount === 8)
    // Give the stream a chance to deliver more if it were (wrongly) still reading.
    await new Promise((r) => setImmediate(r))
    assert.equal(core.addsSeen, 8, 'no request past the bound reached the core')
    while (c.responses.length < 50) {
      core.release()
      await new Promise((r) => setImmediate(r))
      assert.ok(core.heldCount <= 8)
    }
    assert.equal(core.ledgers.get(2)?.entries.size, 50)
  })

  it('answers an unknown opcode with BAD_REQUEST and keeps the connection', async () => {
    const server = newServer(new FakeBookieCore())
    const c = new TestClient(server)
    const frame = encodeRequest({op: BookieOp.BOOKIE_INFO, requestId: 77})
    frame[5] = 42
    c.end.write(frame)
    c.send({op: BookieOp.BOOKIE_INFO, requestId: 78})
    await waitFor(() => c.rawFrames.length >= 2)
    assert.deepEqual(peekHeader(c.rawFrames[0]!), {version: 1, opcode: 42, flagsOrStatus: BookieStatus.BAD_REQUEST, requestId: 77})
    assert.equal(c.response(78)?.status, BookieStatus.OK)
    assert.equal(c.ended, false)
  })

  it('closes only the connection that sent a malformed frame', async () => {
    const server = newServer(new FakeBookieCore())
    const good = new TestClient(server)
    const bad1 = new TestClient(server)
    const bad2 = new TestClient(server)
    const bad3 = new TestClient(server)
    bad1.end.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])) // 4 GiB frame: refused before allocating
    const trailing = encodeRequest({op: BookieOp.READ_LAC, requestId: 1, ledgerId: 1})
    bad2.end.write(Buffer.concat([Buffer.from([0, 0, 0, trailing.length - 4 + 1]), trailing.subarray(4), Buffer.from([0])]))
    const v9 = encodeRequest({op: BookieOp.BOOKIE_INFO, requestId: 5})
    v9[4] = 9
    bad3.end.write(v9)
    await waitFor(() => bad1.ended && bad2.ended && bad3.ended, {what: 'bad connections closed'})
    assert.deepEqual(peekHeader(bad3.rawFrames[0]!), {version: 1, opcode: 6, flagsOrStatus: BookieStatus.BAD_VERSION, requestId: 5})
    good.send(add(1, 3, 0))
    await good.waitResponses(1)
    assert.equal(good.response(1)?.status, BookieStatus.OK)
    assert.equal(good.ended, false)
    assert.equal(server.stats.malformedFrames.value, 3)
  })

  it('drains in-flight adds on close and answers them before closing', async () => {
    const core = new FakeBookieCore()
    core.holding = true
    const server = newServer(core)
    const c = new TestClient(server)
    c.send(add(1, 4, 0), add(2, 4, 1))
    await waitFor(() => core.heldCount === 2)
    let closed = false
    const closing = server.close({drainTimeoutMs: 10_000}).then(() => (closed = true))
    await new Promise((r) => setImmediate(r))
    assert.equal(closed, false, 'close waits for the in-flight adds')
    core.release()
    await closing
    await waitFor(() => c.ended)
    assert.deepEqual(c.responses.map((r) => [r.requestId, r.status]).sort(), [[1, 0], [2, 0]])
  })
})
