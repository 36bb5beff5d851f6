import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {type Cookie, decodeCookie, diffCookies, encodeCookie} from '../../../src/engine/bookie/cookie.js'
import {InvalidInputError} from '../../../src/engine/common/errors.js'

const COOKIE: Cookie = {
  bookieHost: '127.0.0.1:3181',
  journalDirs: ['/data/bk-1/journal'],
  ledgerDirs: ['/data/bk-1/ledgers-a', '/data/bk-1/ledgers-b'],
  instanceId: '0f8e3c52-4b9d-4a5e-9a0c-8d6f1b2e7a41',
}

describe('bookie > cookie format', () => {
  it('writes the documented text and reads it back', () => {
    const text = encodeCookie(COOKIE)
    assert.equal(
      text,
      [
        '1',
        'bookieHost: "127.0.0.1:3181"',
        'journalDirs: "1\\t/data/bk-1/journal"',
        'ledgerDirs: "2\\t/data/bk-1/ledgers-a\\t/data/bk-1/ledgers-b"',
        'instanceId: "0f8e3c52-4b9d-4a5e-9a0c-8d6f1b2e7a41"',
        '',
      ].join('\n'),
    )
    assert.deepEqual(decodeCookie(text, 'VERSION'), COOKIE)
  })

  it('names every differing field', () => {
    const other = {...COOKIE, journalDirs: ['/elsewhere'], instanceId: 'x'}
    assert.deepEqual(diffCookies(COOKIE, other, 'ZooKeeper', 'bookie.conf'), [
      "journalDirs: ZooKeeper has '/data/bk-1/journal', bookie.conf has '/elsewhere'",
      "instanceId: ZooKeeper has '0f8e3c52-4b9d-4a5e-9a0c-8d6f1b2e7a41', bookie.conf has 'x'",
    ])
    assert.deepEqual(diffCookies(COOKIE, {...COOKIE}, 'a', 'b'), [])
  })

  it('rejects malformed cookies with the file name', () => {
    const bad = [
      ['2\nbookieHost: "h:1"', /layout version '2' is not supported/],
      ['1\nbookieHost "h:1"', /malformed cookie line/],
      ['1\nbookieHost: "h:1"', /cookie has no journalDirs/],
      [encodeCookie(COOKIE) + 'extra: "x"\n', /unknown cookie field\(s\) extra/],
      [encodeCookie(COOKIE).replace('"2\\t', '"3\\t'), /lists 2 paths but says 3/],
    ] as const
    for (const [text, re] of bad) {
      assert.throws(() => decodeCookie(text, '/d/current/VERSION'), (e: unknown) => e instanceof InvalidInputError && re.test(e.message) && e.message.startsWith('/d/current/VERSION'))
    }
  })
})
