/** The hierarchical ledger path scheme: 2/4/4 split, inverse parsing, idgen node names. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {
  idgenPath,
  idgenPrefix,
  isLevel1Name,
  LEDGER_ID_MAX,
  ledgerIdFromIdgenNode,
  ledgerIdFromParts,
  ledgerIdFromPath,
  ledgerPath,
  ledgerPathParts,
  NON_LEDGER_ROOT_NAMES,
} from '../../../../src/engine/protocol/ledger/layout.js'

describe('protocol/ledger > layout', () => {
  it('splits the zero-padded id 2/4/4 as BookKeeper does', () => {
    assert.equal(ledgerPath('/ledgers', 1), '/ledgers/00/0000/L0001')
    assert.equal(ledgerPath('/ledgers', 0), '/ledgers/00/0000/L0000')
    assert.equal(ledgerPath('/a/b', 1234567890), '/a/b/12/3456/L7890')
    assert.equal(ledgerPath('/x', LEDGER_ID_MAX), '/x/99/9999/L9999')
    assert.equal(ledgerPath('/', 10_000), '/00/0001/L0000')
    assert.deepEqual(ledgerPathParts(42), ['00', '0000', 'L0042'])
  })

  it('refuses ids out of range', () => {
    for (const id of [-1, LEDGER_ID_MAX + 1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => ledgerPath('/l', id), InvalidInputError)
    }
  })

  it('parses back what it builds, and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({min: 0, max: LEDGER_ID_MAX}), (id) => {
        assert.equal(ledgerIdFromPath('/l/r', ledgerPath('/l/r', id)), id)
        assert.equal(ledgerIdFromParts(...ledgerPathParts(id)), id)
      }),
    )
    assert.equal(ledgerIdFromPath('/l', '/l/00/0000'), undefined)
    assert.equal(ledgerIdFromPath('/l', '/m/00/0000/L0001'), undefined)
    assert.equal(ledgerIdFromPath('/l', '/l/00/0000/L001'), undefined)
    assert.equal(ledgerIdFromPath('/l', '/l/0/00000/L0001'), undefined)
    assert.equal(ledgerIdFromParts('idgen', '0000', 'L0001'), undefined)
    for (const name of NON_LEDGER_ROOT_NAMES) assert.equal(isLevel1Name(name), false)
  })

  it('names the id generator nodes', () => {
    assert.equal(idgenPath('/ledgers'), '/ledgers/idgen')
    assert.equal(idgenPrefix('/ledgers'), '/ledgers/idgen/ID-')
    assert.equal(ledgerIdFromIdgenNode('/ledgers/idgen/ID-0000000042'), 42)
    assert.equal(ledgerIdFromIdgenNode('ID-0000000000'), 0)
    for (const bad of ['ID--000000001', 'ID-', 'ID-abc', 'X-0000000001', 'ID-99999999999']) {
      assert.throws(() => ledgerIdFromIdgenNode(bad), InvalidInputError, bad)
    }
  })
})
