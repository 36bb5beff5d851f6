import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {InvalidInputError} from '../../../src/engine/common/errors.js'
import {DL_CONFIG_DEFAULTS, parseDistributedLogConfig, withLogOverrides} from '../../../src/engine/log/config.js'

describe('log/config', () => {
  it('has the original code defaults (distributedlog.md §5.4)', () => {
    const c = DL_CONFIG_DEFAULTS
    assert.equal(c.writerOutputBufferBytes, 1024)
    assert.equal(c.periodicFlushIntervalMs, 6)
    assert.equal(c.immediateFlushEnabled, false)
    assert.equal(c.compressionType, 'none')
    assert.equal(c.logSegmentRollingMinutes, 120)
    assert.equal(c.logSegmentBytesMax, 256 * 1024 * 1024)
    assert.equal(c.logSegmentRetentionHours, 72)
    assert.deepEqual([c.ensembleSize, c.writeQuorumSize, c.ackQuorumSize], [3, 3, 2])
    assert.equal(c.lockTimeoutMs, 30_000)
    assert.equal(c.zkSessionTimeoutMs, 30_000)
    assert.equal(c.readLACLongPollTimeoutMs, 1000)
    assert.equal(c.readerIdleWarnThresholdMs, 120_000)
    assert.equal(c.txidSanityCheckEnabled, true)
    assert.equal(c.firstLogSegmentSequenceNo, 1)
    assert.equal(c.outstandingWritesMax, -1)
  })

  it('reads the shipped write_proxy.conf keys, old aliases included, and warns only on unknown keys', () => {
    const text = [
      'zkSessionTimeoutSeconds=1',
      'lockTimeoutSeconds=0',
      'maxIdSanityCheck=false',
      'enableImmediateFlush=true',
      'output-buffer-size=0',
      'retention-size=4',
      'rolling-interval=120',
      'compressionType=lz4',
      'bkc.ensemblePlacementPolicy=RackawareEnsemblePlacementPolicy',
      'server_threads=16',
      'ensemble-size=3',
      'ReadAheadMaxEntries=100',
      'writerOutputBufferSzie=12',
    ].join('\n')
    const {config, explicit, warnings} = parseDistributedLogConfig(text, 'write_proxy.conf')
    assert.equal(config.zkSessionTimeoutMs, 1000)
    assert.equal(config.lockTimeoutMs, 0)
    assert.equal(config.txidSanityCheckEnabled, false)
    assert.equal(config.immediateFlushEnabled, true)
    assert.equal(config.writerOutputBufferBytes, 0)
    assert.equal(config.logSegmentRetentionHours, 4)
    assert.equal(config.compressionType, 'lz4')
    assert.equal(config.readAheadRecordsMax, 100)
    assert.equal(explicit.writerOutputBufferBytes, 0)
    assert.equal(explicit.periodicFlushIntervalMs, undefined)
    assert.deepEqual(warnings, ["write_proxy.conf:13: unknown key 'writerOutputBufferSzie' ignored"])
  })

  it('names the line of an invalid value and rejects impossible quorums', () => {
    assert.throws(() => parseDistributedLogConfig('a=1\noutput-buffer-size=lots', 'x.conf'), /x\.conf:2: output-buffer-size: expected an integer/)
    assert.throws(() => parseDistributedLogConfig('compressionType=zstd'), InvalidInputError)
    assert.throws(() => parseDistributedLogConfig('ensemble-size=2'), /write quorum 3 is larger than the ensemble 2/)
  })

  it('merges per-log overrides over the namespace configuration', () => {
    const ns = parseDistributedLogConfig('retention-size=10\nrolling-interval=5').config
    const log = withLogOverrides(ns, {logSegmentRetentionHours: 1, compressionType: undefined})
    assert.equal(log.logSegmentRetentionHours, 1)
    assert.equal(log.logSegmentRollingMinutes, 5)
    assert.equal(log.compressionType, 'none')
    assert.equal(ns.logSegmentRetentionHours, 10)
    const fromFile = parseDistributedLogConfig('retention-size=2', 'log.conf', ns)
    assert.equal(withLogOverrides(ns, fromFile.explicit).logSegmentRetentionHours, 2)
    assert.throws(() => withLogOverrides(ns, {ackQuorumSize: 4}), /ack quorum 4/)
  })
})
