import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {parseBookieConfig} from '../../../src/engine/bookie/config.js'
import {InvalidInputError} from '../../../src/engine/common/errors.js'

/** bookie-1.conf as the DistributedLog cluster-setup guide has operators write it. */
const SEED_CONF = `
bookiePort=3181
journalDirectory=/tmp/data/bk-1/journal
ledgerDirectories=/tmp/data/bk-1/ledgers
indexDirectories=/tmp/data/bk-1/ledgers
ledgerManagerType=hierarchical
zkLedgersRootPath=/messaging/bookkeeper/ledgers
logSizeLimit=1073741823
journalMaxSizeMB=2048
journalMaxBackups=5
gcWaitTime=3600000
minorCompactionThreshold=0.2
flushInterval=1000
zkServers=localhost:2181
zkTimeout=30000
serverTcpNoDelay=true
readOnlyModeEnabled=true
journalMaxGroupWaitMSec=4
journalBufferedEntriesThreshold=180
journalBufferedWritesThreshold=131072
skipListSizeLimit=67108864
numAddWorkerThreads=4
statsProviderClass=org.apache.bookkeeper.stats.CodahaleMetricsServletProvider
codahaleStatsHttpPort=9001
useHostNameAsBookieID=true
allowLoopback=true
`

describe('bookie > config', () => {
  it('reads the DistributedLog template keys without warnings and maps them to the core options', () => {
    const {config, warnings} = parseBookieConfig(SEED_CONF, 'bookie-1.conf')
    assert.deepEqual(warnings, [])
    assert.equal(config.bookiePort, 3181)
    assert.equal(config.advertisedAddress, '127.0.0.1')
    assert.equal(config.statsHttpPort, 9001)
    assert.equal(config.zkServers, 'localhost:2181')
    assert.equal(config.zkLedgersRootPath, '/messaging/bookkeeper/ledgers')
    assert.equal(config.zkTimeoutMs, 30_000)
    assert.deepEqual(config.journalDirs, ['/tmp/data/bk-1/journal'])
    assert.deepEqual(config.ledgerDirs, ['/tmp/data/bk-1/ledgers'])
    assert.equal(config.readOnlyModeEnabled, true)
    assert.equal(config.forceReadOnly, false)
    assert.equal(config.gcWaitTimeMs, 3_600_000)
    assert.deepEqual(
      {...config.core},
      {
        journalDirs: ['/tmp/data/bk-1/journal'],
        ledgerDirs: ['/tmp/data/bk-1/ledgers'],
        readOnly: false,
        diskUsageThreshold: 0.95,
        diskUsageLwmThreshold: 0.9,
        diskCheckIntervalMs: 10_000,
        journalGroupCommitWaitMs: 4,
        journalInlineSyncRecordsMax: 2,
        journalGroupCommitBytesMax: 131072,
        journalGroupCommitRecordsMax: 180,
        journalFileSizeBytesMax: 2048 * 1024 * 1024,
        journalPreallocateBytes: 16 * 1024 * 1024,
        writeCacheBytesMax: 67108864,
        entryLogSizeBytesMax: 1073741823,
        flushIntervalMs: 1000,
        flushEntrylogBytes: 512 * 1024,
        compactionThreshold: 0.2,
      },
    )
  })

  it('applies defaults, dlog aliases and --readonly', () => {
    const {config} = parseBookieConfig('bookieHost=10.0.0.5\nstatsHttpPort=0\njournalDirectories=/j1,/j2\n', 'x.conf', {forceReadOnly: true})
    assert.equal(config.advertisedAddress, '10.0.0.5')
    assert.equal(config.statsHttpPort, 0)
    assert.equal(config.zkLedgersRootPath, '/ledgers')
    assert.equal(config.bookiePort, 3181)
    assert.deepEqual(config.journalDirs, ['/j1', '/j2'])
    assert.equal(config.forceReadOnly, true)
    assert.equal(config.core.readOnly, true)
    assert.equal(parseBookieConfig('').config.statsHttpPort, -1, 'no stats server unless asked')
    assert.equal(parseBookieConfig('').config.gcWaitTimeMs, 60_000)
    const sized = parseBookieConfig('journalMaxSizeMB=8\njournalPreAllocSizeMB=2\ngcWaitTime=0\n').config
    assert.equal(sized.core.journalFileSizeBytesMax, 8 * 1024 * 1024)
    assert.equal(sized.core.journalPreallocateBytes, 2 * 1024 * 1024)
    assert.equal(sized.gcWaitTimeMs, 0, 'garbage collection off')
  })

  it("takes BookKeeper's flushEntrylogBytes: a size, or 0 or less for one sync per flush", () => {
    assert.equal(parseBookieConfig('').config.core.flushEntrylogBytes, 512 * 1024)
    assert.equal(parseBookieConfig('flushEntrylogBytes=268435456\n').config.core.flushEntrylogBytes, 268435456)
    assert.equal(parseBookieConfig('flushEntrylogBytes=0\n').config.core.flushEntrylogBytes, 0)
    // BookKeeper documents "0 or less disables": a bookkeeper.conf with -1 must start, not fail.
    const {config, warnings} = parseBookieConfig('flushEntrylogBytes=-1\n')
    assert.equal(config.core.flushEntrylogBytes, 0)
    assert.deepEqual(warnings, [])
  })

  it('warns on unknown keys and on index dirs it cannot honour', () => {
    const {warnings} = parseBookieConfig('bookiePrt=3181\nledgerDirectories=/a\nindexDirectories=/b\n', 'b.conf')
    assert.deepEqual(warnings, [
      "b.conf:1: unknown key 'bookiePrt' ignored",
      'b.conf: indexDirectories differ from ledgerDirectories; the index is kept in the first ledger directory',
    ])
  })

  it('fails clearly on invalid values', () => {
    const cases: [string, RegExp][] = [
      ['bookiePort=abc', /b\.conf:1: bookiePort: expected an integer, got 'abc'/],
      ['bookiePort=70000', /must be at most 65535/],
      ['readOnlyModeEnabled=maybe', /expected true or false/],
      ['zkLedgersRootPath=ledgers', /zkLedgersRootPath 'ledgers' must be an absolute znode path/],
      ['ledgerDirectories=', /ledgerDirectories: needs at least one directory/],
      ['journalDirectories=/a,/a', /directory \/a is listed twice/],
      ['diskUsageThreshold=0.5\ndiskUsageLwmThreshold=0.8', /diskUsageLwmThreshold 0.8 is above diskUsageThreshold 0.5/],
      ['journalPreAllocSizeMB=-1', /journalPreAllocSizeMB/],
      ['gcWaitTime=soon', /gcWaitTime: expected an integer/],
    ]
    for (const [text, re] of cases) assert.throws(() => parseBookieConfig(text, 'b.conf'), (e: unknown) => e instanceof InvalidInputError && re.test(e.message), text)
  })
})
