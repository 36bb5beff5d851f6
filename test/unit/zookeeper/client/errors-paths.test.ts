import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {DlogError} from '../../../../src/engine/common/errors.js'
import {ZKCode} from '../../../../src/engine/protocol/jute/zk-codes.js'
import {
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  keeperErrorMessage,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  SessionExpiredError,
  ZKError,
  zkErrorFromCode,
} from '../../../../src/engine/zookeeper/client/errors.js'
import {baseName, childPath, parentPath, pathProblem, validatePath} from '../../../../src/engine/zookeeper/client/paths.js'
import {hex64, statFromWire} from '../../../../src/engine/zookeeper/client/stat.js'

describe('zookeeper client > errors', () => {
  it('maps every code to its typed class with code and path', () => {
    const cases: [number, new (...a: never[]) => ZKError][] = [
      [ZKCode.NO_NODE, NoNodeError],
      [ZKCode.NODE_EXISTS, NodeExistsError],
      [ZKCode.BAD_VERSION, BadVersionError],
      [ZKCode.NOT_EMPTY, NotEmptyError],
      [ZKCode.SESSION_EXPIRED, SessionExpiredError],
      [ZKCode.CONNECTION_LOSS, ConnectionLossError],
      [ZKCode.BAD_ARGUMENTS, BadArgumentsError],
    ]
    for (const [code, cls] of cases) {
      const e = zkErrorFromCode(code, {path: '/a/b'})
      assert.ok(e instanceof cls, `${code} → ${cls.name}`)
      assert.ok(e instanceof ZKError && e instanceof DlogError)
      assert.equal(e.code, code)
      assert.equal(e.path, '/a/b')
    }
    const other = zkErrorFromCode(ZKCode.NO_AUTH, {path: '/x'})
    assert.equal(other.constructor, ZKError)
    assert.equal(other.message, 'KeeperErrorCode = NoAuth for /x')
  })

  it('only connection loss and operation timeout are retriable', () => {
    assert.equal(zkErrorFromCode(ZKCode.CONNECTION_LOSS).retriable, true)
    assert.equal(zkErrorFromCode(ZKCode.OPERATION_TIMEOUT).retriable, true)
    for (const c of [ZKCode.NO_NODE, ZKCode.NODE_EXISTS, ZKCode.BAD_VERSION, ZKCode.SESSION_EXPIRED, ZKCode.NOT_EMPTY]) {
      assert.equal(zkErrorFromCode(c).retriable, false, String(c))
    }
  })

  it('marks connection loss on a write as outcome-unknown', () => {
    const w = zkErrorFromCode(ZKCode.CONNECTION_LOSS, {path: '/w', write: true})
    const r = zkErrorFromCode(ZKCode.CONNECTION_LOSS, {path: '/r'})
    assert.ok(w instanceof ConnectionLossError && r instanceof ConnectionLossError)
    assert.equal(w.outcomeUnknown, true)
    assert.equal(r.outcomeUnknown, false)
  })

  it('words messages like the Java client', () => {
    assert.equal(keeperErrorMessage(-101, '/x'), 'KeeperErrorCode = NoNode for /x')
    assert.equal(keeperErrorMessage(-4), 'KeeperErrorCode = ConnectionLoss')
    assert.equal(new NoNodeError({path: '/q'}).message, 'KeeperErrorCode = NoNode for /q')
  })
})

describe('zookeeper client > paths', () => {
  it('accepts valid paths', () => {
    for (const p of ['/', '/a', '/a/b', '/a.b', '/.a', '/a..', '/ledgers/available/127.0.0.1:3181', '/x/-1']) {
      assert.equal(pathProblem(p), undefined, p)
    }
  })

  it('rejects invalid paths with zkCli wording', () => {
    assert.equal(pathProblem(''), 'Path length must be > 0')
    assert.equal(pathProblem('a'), 'Path must start with / character')
    assert.equal(pathProblem('/a/'), 'Path must not end with / character')
    assert.equal(pathProblem('/a//b'), 'Invalid path string "/a//b" caused by empty node name specified @3')
    assert.equal(pathProblem('/a/./b'), 'Invalid path string "/a/./b" caused by relative paths not allowed @3')
    assert.equal(pathProblem('/a/../b'), 'Invalid path string "/a/../b" caused by relative paths not allowed @4')
    assert.equal(pathProblem('/a/.'), 'Invalid path string "/a/." caused by relative paths not allowed @3')
    assert.match(pathProblem('/a\u0000b') ?? '', /null character not allowed @2/)
    assert.match(pathProblem('/a\u0001') ?? '', /invalid character @2/)
    assert.throws(() => validatePath('/a/'), (e: unknown) => e instanceof BadArgumentsError && e.path === '/a/')
  })

  it('splits and joins paths', () => {
    assert.equal(parentPath('/a/b'), '/a')
    assert.equal(parentPath('/a'), '/')
    assert.equal(baseName('/a/b'), 'b')
    assert.equal(childPath('/', 'a'), '/a')
    assert.equal(childPath('/a', 'b'), '/a/b')
  })
})

describe('zookeeper client > stat', () => {
  it('converts the wire Stat to bigint zxids and numeric times', () => {
    const long = (v: bigint) => {
      const b = Buffer.alloc(8)
      b.writeBigInt64BE(v)
      return b
    }
    const s = statFromWire({
      czxid: long(0x100000004n),
      mzxid: long(5n),
      ctime: long(1_700_000_000_123n),
      mtime: long(1_700_000_000_456n),
      version: 2,
      cversion: 3,
      aversion: 0,
      ephemeralOwner: long(0x1000009bb1b0000n),
      dataLength: 7,
      numChildren: 1,
      pzxid: long(6n),
    })
    assert.deepEqual(s, {
      czxid: 0x100000004n,
      mzxid: 5n,
      pzxid: 6n,
      ctimeMs: 1_700_000_000_123,
      mtimeMs: 1_700_000_000_456,
      version: 2,
      cversion: 3,
      aversion: 0,
      ephemeralOwner: 0x1000009bb1b0000n,
      dataLength: 7,
      numChildren: 1,
    })
    assert.equal(hex64(0x1000009bb1b0000n), '0x1000009bb1b0000')
    assert.equal(hex64(0n), '0x0')
    assert.equal(hex64(-1n), '0xffffffffffffffff')
  })
})
