/** Rewriting commons-cli style single-dash long options for oclif. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {rewriteLegacyFlags} from '../../../src/cli/legacy-flags.js'

describe('legacy flags', () => {
  it('rewrites exact words and -word=value, leaves values and everything after -- alone', () => {
    const map = {'-bkzr': '--bkZkServersForReader', '-dlsn': '--dlsn'}
    assert.deepEqual(rewriteLegacyFlags(['-bkzr', 'h:1', '-s', '-bkzr', '-dlsn=1,0,0', '--', '-bkzr'], map), [
      '--bkZkServersForReader',
      'h:1',
      '-s',
      '--bkZkServersForReader',
      '--dlsn=1,0,0',
      '--',
      '-bkzr',
    ])
    assert.deepEqual(rewriteLegacyFlags(['-bk', '-bkzrx', 'x'], map), ['-bk', '-bkzrx', 'x'])
  })
})
