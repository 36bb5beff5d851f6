import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {JavaHashSet, javaStringHash} from '../../../../src/engine/zookeeper/server/child-set.js'

function order(inserted: readonly string[], deleted: readonly string[] = []): string[] {
  const s = new JavaHashSet()
  for (const n of inserted) assert.ok(s.add(n))
  for (const n of deleted) assert.ok(s.delete(n))
  return s.toArray()
}

/*
 * Expected orders were captured from real ZooKeeper 3.8.0 (getChildren through node-zookeeper-client
 * after creating the children in the given order), see reference/zookeeper.md "Child order".
 */
describe('zookeeper/server > child order (java.util.HashSet)', () => {
  it('String.hashCode matches Java', () => {
    assert.equal(javaStringHash(''), 0)
    assert.equal(javaStringHash('a'), 97)
    assert.equal(javaStringHash('Aa'), javaStringHash('BB'))
    // Values printed by Java 17's String.hashCode.
    assert.equal(javaStringHash('zookeeper'), 1600681804)
    assert.equal(javaStringHash('日本'), 835047)
    assert.equal(javaStringHash('messaging-stream-1'), -1452317235)
  })

  it('matches real ZooKeeper: five DL streams, six mixed names, non-ASCII names', () => {
    assert.deepEqual(order([1, 2, 3, 4, 5].map((i) => `messaging-stream-${i}`)), [
      'messaging-stream-3', 'messaging-stream-2', 'messaging-stream-1', 'messaging-stream-5', 'messaging-stream-4',
    ])
    assert.deepEqual(order(['a', 'b', 'c', 'ledgers', 'streams', 'zz9']), ['zz9', 'a', 'b', 'c', 'ledgers', 'streams'])
    assert.deepEqual(order(['é', 'ü-x', 'ß', '日本', 'a b', 'Z']), ['é', 'a b', 'Z', '日本', 'ü-x', 'ß'])
  })

  it('matches real ZooKeeper: 40 created, every fourth deleted (table grown to 64, never shrunk)', () => {
    const names = Array.from({length: 40}, (_, i) => `node-${i}`)
    assert.deepEqual(order(names, names.filter((_, i) => i % 4 === 0)), [
      'node-15', 'node-37', 'node-14', 'node-13', 'node-35', 'node-34', 'node-11', 'node-33', 'node-10', 'node-31',
      'node-30', 'node-19', 'node-18', 'node-17', 'node-39', 'node-38', 'node-1', 'node-2', 'node-3', 'node-26',
      'node-25', 'node-5', 'node-6', 'node-23', 'node-7', 'node-22', 'node-21', 'node-9', 'node-29', 'node-27',
    ])
  })

  it('matches real ZooKeeper: a bucket of 10 equal hashes resizes a small table instead of treeifying', () => {
    const same: string[] = []
    for (const a of ['Aa', 'BB']) for (const b of ['Aa', 'BB']) for (const c of ['Aa', 'BB']) for (const d of ['Aa', 'BB']) same.push(a + b + c + d)
    const inserted: string[] = []
    for (let i = 0; i < 10; i++) {
      inserted.push(same[i]!)
      if (i % 2 === 0) inserted.push(`other-${i}`)
    }
    const s = new JavaHashSet()
    for (const n of inserted) s.add(n)
    assert.equal(s.capacity, 64, 'grown by the bucket rule; by size alone it would be 32')
    assert.deepEqual(s.toArray(), [
      'AaAaAaAa', 'AaAaAaBB', 'AaAaBBAa', 'AaAaBBBB', 'AaBBAaAa', 'AaBBAaBB', 'AaBBBBAa', 'AaBBBBBB', 'BBAaAaAa',
      'BBAaAaBB', 'other-8', 'other-6', 'other-4', 'other-2', 'other-0',
    ])
  })

  it('matches real ZooKeeper: 2000 sequential children with every seventh deleted', () => {
    const names = Array.from({length: 2000}, (_, i) => `s-${String(i).padStart(10, '0')}`)
    const got = order(names, names.filter((_, i) => i % 7 === 0))
    assert.equal(got.length, 1714)
    assert.deepEqual(got.slice(0, 10), [
      's-0000000920', 's-0000000922', 's-0000000921', 's-0000000923', 's-0000000926', 's-0000000925', 's-0000000928',
      's-0000000927', 's-0000000929', 's-0000000911',
    ])
    assert.equal(createHash('sha1').update(got.join(',')).digest('hex'), '1fae71be65b2ab4817074289d5dcd276fe84bbe7')
  })

  it('is a set: add/has/delete agree with a Set under random operations', () => {
    const op = fc.tuple(fc.boolean(), fc.stringMatching(/^[a-d]{1,3}$/))
    fc.assert(
      fc.property(fc.array(op, {maxLength: 200}), (ops) => {
        const ours = new JavaHashSet()
        const ref = new Set<string>()
        for (const [add, name] of ops) {
          assert.equal(add ? ours.add(name) : ours.delete(name), add ? !ref.has(name) : ref.has(name))
          if (add) ref.add(name)
          else ref.delete(name)
          assert.equal(ours.size, ref.size)
        }
        assert.deepEqual([...ours].sort(), [...ref].sort())
        for (const n of ref) assert.ok(ours.has(n))
      }),
    )
  })

  it('undo helpers restore the exact order: delete/restoreAt and clone before a resizing add', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), {minLength: 1, maxLength: 60}), fc.nat(), (names, pick) => {
        const s = new JavaHashSet()
        for (const n of names) s.add(n)
        const before = s.toArray()
        const victim = names[pick % names.length]!
        const at = s.deleteReturningPosition(victim)
        s.restoreAt(victim, at)
        assert.deepEqual(s.toArray(), before)
        const fresh = `new-${pick}`
        const saved = s.addWouldResize(fresh) ? s.clone() : null
        s.add(fresh)
        const restored = saved ?? s
        if (saved === null) s.delete(fresh)
        assert.deepEqual(restored.toArray(), before)
      }),
    )
  })
})
