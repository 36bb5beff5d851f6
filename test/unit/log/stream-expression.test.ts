/** `tool create` expressions (inclusive ranges, lists, literals) and the tools' DLSN argument. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {expandStreamExpression, parseDlsnArg} from '../../../src/engine/log/stream-expression.js'

describe('stream expressions', () => {
  it('expands inclusive ranges, lists and literals', () => {
    assert.deepEqual(expandStreamExpression('stream-', '0-10'), Array.from({length: 11}, (_, i) => `stream-${i}`))
    assert.deepEqual(expandStreamExpression('basic-stream-', '3-7'), ['basic-stream-3', 'basic-stream-4', 'basic-stream-5', 'basic-stream-6', 'basic-stream-7'])
    assert.deepEqual(expandStreamExpression('s', '5-5'), ['s5'])
    assert.deepEqual(expandStreamExpression('s', '1,3,5'), ['s1', 's3', 's5'])
    assert.deepEqual(expandStreamExpression('s', 'abc'), ['sabc'])
    assert.deepEqual(expandStreamExpression('s', ''), [])
  })

  it('refuses bad ranges and lists with the original messages', () => {
    for (const e of ['1-3,5', '5-1', 'a-b', '1-2-3', '-1']) {
      assert.throws(() => expandStreamExpression('s', e), (err: Error) => err instanceof InvalidInputError && err.message.startsWith(`Invalid stream index range : ${e}`), e)
    }
    assert.throws(() => expandStreamExpression('s', '1,x'), {message: 'Invalid stream suffix list : 1,x'})
    assert.throws(() => expandStreamExpression('s', '0-1000000'), /more than 100000 streams/)
  })

  it('parses DLSN arguments', () => {
    assert.deepEqual(parseDlsnArg('InitialDLSN'), [1, 0, 0])
    assert.deepEqual(parseDlsnArg('3,4,5'), [3, 4, 5])
    assert.throws(() => parseDlsnArg('1,2'), {message: 'Invalid dlsn : 1,2'})
  })
})
