import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {aclAllows, digestId, fixupACL, ipMatches} from '../../../../src/engine/zookeeper/server/acl.js'
import {isValidPath, parentPath} from '../../../../src/engine/zookeeper/server/paths.js'

describe('zookeeper/server > paths', () => {
  it('accepts what PathUtils.validatePath accepts and refuses the rest', () => {
    for (const ok of ['/', '/a', '/a/b', '/a.b', '/..a', '/a..', '/é', '/a b', '/-_~']) assert.equal(isValidPath(ok), true, ok)
    const bad = ['', 'a', '/a/', '//a', '/a//b', '/.', '/..', '/a/./b', '/a/../b', '/a\u0000', '/a\u0001', '/a\u007f', '/\u{1F600}', '/\uf000', '/\ufff0']
    for (const p of bad) assert.equal(isValidPath(p), false, JSON.stringify(p))
    assert.equal(parentPath('/a'), '/')
    assert.equal(parentPath('/a/b/c'), '/a/b')
  })
})

describe('zookeeper/server > acl', () => {
  it('computes digest ids like DigestAuthenticationProvider', () => {
    // base64(sha1("super:secret")), the example from ZooKeeper's admin guide family of docs.
    assert.equal(digestId('user:pw'), 'user:2Om+GBbT2q/tS6pdvACZbbm7/1A=')
  })

  it('fixupACL: refuses empty lists and bad ids, expands auth to digest ids, drops duplicates', () => {
    const world = {perms: 31, id: {scheme: 'world', id: 'anyone'}}
    assert.equal(fixupACL([], []), null)
    assert.equal(fixupACL(null, []), null)
    assert.equal(fixupACL([{perms: 1, id: {scheme: 'world', id: 'someone'}}], []), null)
    assert.equal(fixupACL([{perms: 1, id: {scheme: 'nope', id: 'x'}}], []), null)
    assert.equal(fixupACL([{perms: 1, id: {scheme: 'digest', id: 'user:'}}], []), null, 'Java split drops the empty part')
    assert.equal(fixupACL([{perms: 1, id: {scheme: 'ip', id: '10.0.0.0/33'}}], []), null)
    assert.equal(fixupACL([{perms: 31, id: {scheme: 'auth', id: ''}}], [{scheme: 'ip', id: '127.0.0.1'}]), null)
    assert.deepEqual(fixupACL([world, world], []), [world])
    assert.deepEqual(fixupACL([{perms: 3, id: {scheme: 'auth', id: ''}}], [{scheme: 'ip', id: '1.2.3.4'}, {scheme: 'digest', id: 'u:h'}]), [
      {perms: 3, id: {scheme: 'digest', id: 'u:h'}},
    ])
  })

  it('aclAllows: any entry with one of the bits for world, a matching digest or a matching ip range', () => {
    const acl = [
      {perms: 1, id: {scheme: 'world', id: 'anyone'}},
      {perms: 2, id: {scheme: 'digest', id: 'u:h'}},
      {perms: 4, id: {scheme: 'ip', id: '10.1.0.0/16'}},
    ]
    assert.ok(aclAllows(acl, 1, []))
    assert.ok(!aclAllows(acl, 2, []))
    assert.ok(aclAllows(acl, 2, [{scheme: 'digest', id: 'u:h'}]))
    assert.ok(aclAllows(acl, 4, [{scheme: 'ip', id: '10.1.200.3'}]))
    assert.ok(!aclAllows(acl, 4, [{scheme: 'ip', id: '10.2.0.1'}]))
    assert.ok(aclAllows([], 16, []), 'an empty list allows everything')
    assert.ok(ipMatches('::ffff:127.0.0.1', '127.0.0.1'))
    assert.ok(ipMatches('192.168.1.7', '0.0.0.0/0'))
  })
})
