/**
 * The position and DLSN spellings `dlog tail --from`, `dlog tool dump/count/truncate_stream` accept, and
 * the JSON line a record becomes (UTF-8 payloads as text, anything else as base64).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {isUtf8, parseDlsn, parsePosition, recordJson} from '../../../src/cli/log-access.js'
import {DLSN} from '../../../src/engine/log/dlsn.js'
import {InvalidInputError} from '../../../src/engine/common/errors.js'

describe('cli/log-access', () => {
  it('parses every DLSN spelling to the same DLSN', () => {
    const d = new DLSN(2, 7, 1)
    for (const text of ['2,7,1', ' 2,7,1 ', 'DLSN{logSegmentSequenceNo=2, entryId=7, slotId=1}', 'DLSN{logSegmentSequenceNo=2,entryId=7,slotId=1}', d.serialize()]) {
      assert.ok(parseDlsn(text).equals(d), text)
    }
    assert.ok(parseDlsn('InitialDLSN').equals(DLSN.InitialDLSN))
    assert.ok(parseDlsn('AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA==').equals(DLSN.InitialDLSN))
    for (const bad of ['1,2', '1,x,0', 'DLSN{}', 'not base64!', 'AQAA']) assert.throws(() => parseDlsn(bad), InvalidInputError, bad)
  })

  it('parses positions: earliest, latest, txids (digits), DLSNs; rejects the rest with what it accepts', () => {
    assert.deepEqual(parsePosition('earliest'), {kind: 'earliest'})
    assert.deepEqual(parsePosition('latest'), {kind: 'latest'})
    assert.deepEqual(parsePosition('1464085079105'), {kind: 'txid', txid: 1464085079105})
    const p = parsePosition('1,5,0')
    assert.ok(p.kind === 'dlsn' && p.dlsn.equals(new DLSN(1, 5, 0)))
    assert.throws(() => parsePosition('99999999999999999999'), /Invalid txid/)
    assert.throws(() => parsePosition('yesterday'), /Invalid position : yesterday \(expected earliest, latest, a txid/)
  })

  it('renders a record as one JSON line, base64 for binary payloads or when asked', () => {
    const r = {dlsn: new DLSN(1, 2, 0), txid: 10, sequenceId: 4, positionWithinLogSegment: 5, isControl: false, isEndOfStream: false}
    const text = JSON.parse(recordJson('s', {...r, payload: Buffer.from('héllo')}, false)) as Record<string, unknown>
    assert.deepEqual(text, {
      stream: 's',
      dlsn: 'DLSN{logSegmentSequenceNo=1, entryId=2, slotId=0}',
      dlsnBase64: new DLSN(1, 2, 0).serialize(),
      txid: 10,
      sequenceId: 4,
      payload: 'héllo',
      encoding: 'utf8',
    })
    const binary = Buffer.from([0xff, 0x00, 0xc3])
    assert.equal(isUtf8(binary), false)
    const b = JSON.parse(recordJson('s', {...r, payload: binary}, false)) as {payload: string; encoding: string}
    assert.deepEqual([b.payload, b.encoding], [binary.toString('base64'), 'base64'])
    const forced = JSON.parse(recordJson('s', {...r, payload: Buffer.from('abc')}, true)) as {payload: string; encoding: string}
    assert.deepEqual([forced.payload, forced.encoding], ['YWJj', 'base64'])
    assert.ok(recordJson('s', {...r, payload: Buffer.from('a\nb')}, false).endsWith('}\n'))
  })
})
