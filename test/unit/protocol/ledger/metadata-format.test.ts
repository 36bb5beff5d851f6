/** The ledger metadata codec: round trips, documented layout, and refusal of anything malformed. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {LEDGER_ID_MAX} from '../../../../src/engine/protocol/ledger/layout.js'
import {
  decodeLedgerMetadata,
  encodeLedgerMetadata,
  type LedgerMetadata,
  METADATA_BYTES_MAX,
} from '../../../../src/engine/protocol/ledger/metadata-format.js'
import {sampleLedgerMetadata} from '../../../helpers/memory-ledger-metadata.js'

const sample = (over: Partial<LedgerMetadata> = {}): LedgerMetadata => sampleLedgerMetadata(7, over)

const bookieId = fc.tuple(fc.stringMatching(/^[a-z0-9.-]{1,20}$/), fc.integer({min: 1, max: 65535})).map(([h, p]) => `${h}:${p}`)

const metadataArb: fc.Arbitrary<LedgerMetadata> = fc
  .record({
    ensembleSize: fc.integer({min: 1, max: 6}),
    wqDelta: fc.nat(5),
    aqDelta: fc.nat(5),
    ledgerId: fc.integer({min: 0, max: LEDGER_ID_MAX}),
    state: fc.constantFrom('OPEN' as const, 'IN_RECOVERY' as const, 'CLOSED' as const),
    segments: fc.integer({min: 1, max: 4}),
    gaps: fc.array(fc.integer({min: 1, max: 1000}), {minLength: 3, maxLength: 3}),
    extra: fc.nat(10),
    length: fc.nat(),
    password: fc.uint8Array({maxLength: 40}),
    ctimeMs: fc.nat(),
    custom: fc.dictionary(fc.string({maxLength: 10}), fc.uint8Array({maxLength: 20}), {maxKeys: 4}),
    pool: fc.uniqueArray(bookieId, {minLength: 6, maxLength: 12}),
  })
  .map((r) => {
    const E = r.ensembleSize
    const Qw = Math.max(1, E - (r.wqDelta % E))
    const Qa = Math.max(1, Qw - (r.aqDelta % Qw))
    const firsts = [0]
    for (let i = 1; i < r.segments; i++) firsts.push((firsts[i - 1] as number) + (r.gaps[i - 1] as number))
    const ensembles = firsts.map((f, i) => ({firstEntryId: f, bookies: [...r.pool.slice(i), ...r.pool.slice(0, i)].slice(0, E)}))
    const closed = r.state === 'CLOSED'
    return {
      ledgerId: r.ledgerId,
      ensembleSize: E,
      writeQuorumSize: Qw,
      ackQuorumSize: Qa,
      state: r.state,
      lastEntryId: closed ? (firsts.at(-1) as number) - 1 + r.extra : -1,
      length: closed ? r.length : 0,
      digestType: 'CRC32C' as const,
      password: Buffer.from(r.password),
      ensembles,
      ctimeMs: r.ctimeMs,
      customMetadata: Object.fromEntries(Object.entries(r.custom).map(([k, v]) => [k, Buffer.from(v)])),
    }
  })

function reject(json: unknown, pattern: RegExp): void {
  assert.throws(() => decodeLedgerMetadata(Buffer.from(JSON.stringify(json))), (e: unknown) => {
    assert.ok(e instanceof InvalidInputError, String(e))
    assert.match(e.message, pattern)
    return true
  })
}

describe('protocol/ledger > metadata format', () => {
  it('encodes the documented one-line JSON', () => {
    const text = encodeLedgerMetadata(sample()).toString('utf8')
    assert.equal(
      text,
      '{"formatVersion":1,"ledgerId":7,"state":"OPEN","ensembleSize":3,"writeQuorumSize":3,"ackQuorumSize":2,' +
        '"lastEntryId":-1,"length":0,"digestType":"CRC32C","password":"cHc=","ctimeMs":1700000000000,' +
        '"ensembles":[{"firstEntryId":0,"bookies":["127.0.0.1:3181","127.0.0.1:3182","127.0.0.1:3183"]}],' +
        '"customMetadata":{"application":"ZGw="}}',
    )
  })

  it('round trips any valid metadata', () => {
    fc.assert(
      fc.property(metadataArb, (m) => {
        const decoded = decodeLedgerMetadata(encodeLedgerMetadata(m))
        assert.deepEqual(decoded, m)
        assert.deepEqual(encodeLedgerMetadata(decoded), encodeLedgerMetadata(m))
      }),
      {numRuns: 300},
    )
  })

  it('keeps a custom metadata key named __proto__ as data', () => {
    const m = sample({customMetadata: {}})
    Object.defineProperty(m.customMetadata, '__proto__', {value: Buffer.from('a'), enumerable: true})
    const decoded = decodeLedgerMetadata(encodeLedgerMetadata(m))
    assert.deepEqual(Object.keys(decoded.customMetadata), ['__proto__'])
    assert.equal(Object.getPrototypeOf(decoded.customMetadata), Object.prototype)
  })

  it('names what is wrong', () => {
    const good = JSON.parse(encodeLedgerMetadata(sample()).toString()) as Record<string, unknown>
    const ens = good.ensembles as {firstEntryId: number; bookies: string[]}[]
    reject({...good, formatVersion: 2}, /formatVersion 2 is not supported/)
    reject({...good, extra: 1}, /unknown field "extra"/)
    const {state: _s, ...noState} = good
    reject(noState, /missing field state/)
    reject({...good, state: 'open'}, /state must be one of/)
    reject({...good, ledgerId: 2 ** 53}, /ledgerId must be an integer/)
    reject({...good, ledgerId: 1.5}, /ledgerId/)
    reject({...good, writeQuorumSize: 4}, /writeQuorumSize must be an integer in \[1, 3\]/)
    reject({...good, ackQuorumSize: 0}, /ackQuorumSize/)
    reject({...good, ensembleSize: 0}, /ensembleSize/)
    reject({...good, ensembles: []}, /ensembles must be a non-empty array/)
    reject({...good, ensembles: [{...ens[0], firstEntryId: 1}]}, /firstEntryId 1 must be 0/)
    reject({...good, ensembles: [ens[0], ens[0]]}, /ensembles\[1\].firstEntryId 0 must be above 0/)
    reject({...good, ensembles: [{firstEntryId: 0, bookies: ['a:1', 'b:1']}]}, /must list ensembleSize \(3\) bookies/)
    reject({...good, ensembles: [{firstEntryId: 0, bookies: ['a:1', 'a:1', 'b:1']}]}, /lists bookie a:1 twice/)
    reject({...good, ensembles: [{firstEntryId: 0, bookies: ['a:1', '', 'b:1']}]}, /invalid bookie id ""/)
    reject({...good, password: 'not base64!'}, /password must be a base64 string/)
    reject({...good, password: 'cHd='}, /password is not canonical base64/)
    reject({...good, customMetadata: {a: 5}}, /customMetadata\["a"\] must be a base64 string/)
    reject({...good, digestType: 'CRC32'}, /digestType must be CRC32C/)
    reject({...good, state: 'CLOSED', lastEntryId: 5, ensembles: [ens[0], {...ens[0], firstEntryId: 7}]}, /closed at entry 5 but its last ensemble starts at entry 7/)
    reject([good], /not a JSON object/)
    assert.throws(() => decodeLedgerMetadata(Buffer.alloc(0)), /the znode is empty/)
    assert.throws(() => decodeLedgerMetadata(undefined), /the znode is empty/)
    assert.throws(() => decodeLedgerMetadata(Buffer.from([0xff, 0x7b])), /not UTF-8 JSON/)
    assert.throws(() => decodeLedgerMetadata(Buffer.alloc(METADATA_BYTES_MAX + 1, 0x20)), /more than/)
  })

  it('refuses to encode what it would not decode', () => {
    assert.throws(() => encodeLedgerMetadata(sample({ackQuorumSize: 4})), InvalidInputError)
    assert.throws(() => encodeLedgerMetadata(sample({ensembles: []})), InvalidInputError)
  })

  it('random bytes and mutated encodings only ever raise InvalidInputError', () => {
    const onlyInvalidInput = (data: Buffer): void => {
      try {
        const m = decodeLedgerMetadata(data)
        // Whatever decodes must encode again to something that decodes the same.
        assert.deepEqual(decodeLedgerMetadata(encodeLedgerMetadata(m)), m)
      } catch (e) {
        if (!(e instanceof InvalidInputError)) throw e
      }
    }
    fc.assert(fc.property(fc.uint8Array({maxLength: 400}), (bytes) => onlyInvalidInput(Buffer.from(bytes))), {numRuns: 500})
    fc.assert(
      fc.property(metadataArb, fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255})), {minLength: 1, maxLength: 4}), (m, flips) => {
        const data = Buffer.from(encodeLedgerMetadata(m))
        for (const [at, byte] of flips) data[at % data.length] = byte
        onlyInvalidInput(data)
      }),
      {numRuns: 500},
    )
    // Structural mutations: replace one field, or one ensemble entry, with arbitrary JSON.
    fc.assert(
      fc.property(metadataArb, fc.nat(), fc.jsonValue(), (m, pick, value) => {
        const json = JSON.parse(encodeLedgerMetadata(m).toString()) as Record<string, unknown>
        const keys = Object.keys(json)
        json[keys[pick % keys.length] as string] = value
        onlyInvalidInput(Buffer.from(JSON.stringify(json)))
        const json2 = JSON.parse(encodeLedgerMetadata(m).toString()) as {ensembles: unknown[]}
        json2.ensembles[pick % json2.ensembles.length] = value
        onlyInvalidInput(Buffer.from(JSON.stringify(json2)))
      }),
      {numRuns: 500},
    )
  })
})
