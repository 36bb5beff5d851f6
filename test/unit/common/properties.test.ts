import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {parseConfig, parseProperties} from '../../../src/engine/common/properties.js'

describe('common > properties', () => {
  it('parses separators, comments, continuations and escapes like java.util.Properties', () => {
    const text = [
      '# comment',
      '! also a comment',
      'zkServers=localhost:2181',
      'bookiePort : 3181',
      'journalDirectory /tmp/data/bk/journal',
      'ledgerDirectories=/a,\\',
      '    /b',
      'tab\\tkey=x\\u0041y',
      '   185 codahaleStatsHttpPort=9001',
      'empty=',
    ].join('\n')
    const entries = parseProperties(text)
    assert.deepEqual(
      entries.map((e) => [e.key, e.value, e.line]),
      [
        ['zkServers', 'localhost:2181', 3],
        ['bookiePort', '3181', 4],
        ['journalDirectory', '/tmp/data/bk/journal', 5],
        ['ledgerDirectories', '/a,/b', 6],
        ['tab\tkey', 'xAy', 8],
        ['185', 'codahaleStatsHttpPort=9001', 9],
        ['empty', '', 10],
      ],
    )
  })

  it('types values, applies aliases, warns on unknown keys and names file:line on bad values', () => {
    const schema = {
      bookiePort: {type: 'int', default: 3181, min: 0, max: 65535, description: 'port'},
      readOnly: {type: 'bool', default: false, aliases: ['readOnlyModeEnabled'], description: 'ro'},
      dirs: {type: 'list', default: [] as string[], description: 'dirs'},
    } as const
    const ok = parseConfig(schema, parseProperties('bookiePort=3182\nreadOnlyModeEnabled=true\ndirs=a, b\nfoo=1'), 'b.conf')
    assert.equal(ok.values.bookiePort, 3182)
    assert.equal(ok.values.readOnly, true)
    assert.deepEqual(ok.values.dirs, ['a', 'b'])
    assert.deepEqual(ok.warnings, ["b.conf:4: unknown key 'foo' ignored"])
    assert.throws(
      () => parseConfig(schema, parseProperties('\nbookiePort=abc'), 'b.conf'),
      (e: unknown) => e instanceof InvalidInputError && e.message === "b.conf:2: bookiePort: expected an integer, got 'abc'",
    )
    assert.throws(() => parseConfig(schema, parseProperties('bookiePort=70000'), 'b.conf'), /must be at most 65535/)
  })
})
