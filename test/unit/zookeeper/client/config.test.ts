import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {InvalidInputError} from '../../../../src/engine/common/errors.js'
import {defaultZKServerConfig, loadZKServerConfig, parseZKServerConfig, zkServerOptionsFromConfig} from '../../../../src/engine/zookeeper/server/config.js'
import {FilePersistence} from '../../../../src/engine/zookeeper/server/persistence/file-persistence.js'
import {MemoryPersistence} from '../../../../src/engine/zookeeper/server/persistence/types.js'
import {dlZookeeperConfTemplate} from '../../../helpers/real-zookeeper.js'

const DL_TEMPLATE = dlZookeeperConfTemplate()

describe('zookeeper server > config', () => {
  it('has ZooKeeper defaults', () => {
    const c = defaultZKServerConfig()
    assert.deepEqual(c, {
      host: '127.0.0.1',
      port: 2181,
      dataDir: undefined,
      dataLogDir: undefined,
      tickTimeMs: 2000,
      maxClientCnxns: 60,
      minSessionTimeoutMs: 4000,
      maxSessionTimeoutMs: 40000,
      fourLetterWords: ['srvr'],
      snapCount: 100000,
    })
    const t = defaultZKServerConfig({tickTimeMs: 500, port: 0})
    assert.equal(t.minSessionTimeoutMs, 1000)
    assert.equal(t.maxSessionTimeoutMs, 10000)
    assert.equal(t.port, 0)
  })

  it('reads a zoo.cfg', () => {
    const {config, warnings} = parseZKServerConfig(
      [
        'tickTime=1000',
        'dataDir=/var/zk',
        'clientPort=2199',
        'clientPortAddress=0.0.0.0',
        'maxClientCnxns=0',
        'minSessionTimeout=3000',
        'maxSessionTimeout=9000',
        '4lw.commands.whitelist=srvr, ruok,stat,mntr',
        'snapCount=5000',
      ].join('\n'),
      'zoo.cfg',
    )
    assert.deepEqual(warnings, [])
    assert.deepEqual(config, {
      host: '0.0.0.0',
      port: 2199,
      dataDir: '/var/zk',
      dataLogDir: undefined,
      tickTimeMs: 1000,
      maxClientCnxns: 0,
      minSessionTimeoutMs: 3000,
      maxSessionTimeoutMs: 9000,
      fourLetterWords: ['srvr', 'ruok', 'stat', 'mntr'],
      snapCount: 5000,
    })
  })

  it('runs the DistributedLog template quietly, taking the client port from server.1', () => {
    const {config, warnings} = parseZKServerConfig(DL_TEMPLATE, 'zookeeper.conf')
    assert.deepEqual(warnings, [])
    assert.equal(config.port, 2181)
    assert.equal(config.host, '0.0.0.0')
    assert.equal(config.dataDir, '/tmp/data/zookeeper')
    assert.equal(config.dataLogDir, '/tmp/data/zookeeper/txlog')
    assert.equal(config.maxClientCnxns, 25)
  })

  it('an explicit clientPort wins over server.1', () => {
    const {config} = parseZKServerConfig('clientPort=3000\nserver.1=h:1:2;0.0.0.0:2181\n')
    assert.equal(config.port, 3000)
    assert.equal(config.host, '127.0.0.1')
  })

  it('warns once for an ensemble and for unknown keys', () => {
    const {warnings} = parseZKServerConfig('server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nfrobnicate=1\n4lw.commands.whitelist=srvr,xyzw\n', 'z.cfg')
    assert.equal(warnings.length, 3)
    assert.match(warnings.join('\n'), /3 server\.N lines: dlog zookeeper runs one standalone server/)
    assert.match(warnings.join('\n'), /z\.cfg:4: unknown key 'frobnicate' ignored/)
    assert.match(warnings.join('\n'), /unknown four-letter word 'xyzw'/)
  })

  it('4lw `*` enables everything', () => {
    assert.deepEqual(parseZKServerConfig('4lw.commands.whitelist=*').config.fourLetterWords, ['*'])
  })

  it('fails clearly on invalid values', () => {
    const bad: [string, RegExp][] = [
      ['clientPort=abc', /zoo\.cfg:1: clientPort: expected an integer, got 'abc'/],
      ['clientPort=70000', /clientPort: must be at most 65535/],
      ['tickTime=0', /tickTime: must be at least 1/],
      ['minSessionTimeout=50000\nmaxSessionTimeout=10000', /minSessionTimeout \(50000 ms\) is greater than maxSessionTimeout \(10000 ms\)/],
      ['server.1=a:1:2;x:y', /zoo\.cfg:1: server\.1: expected ';\[address:\]port'/],
    ]
    for (const [text, re] of bad) {
      assert.throws(() => parseZKServerConfig(text, 'zoo.cfg'), (e: unknown) => e instanceof InvalidInputError && re.test(e.message), text)
    }
  })

  it('maps a config to server options: file persistence with a dataDir, memory without', () => {
    const mem = zkServerOptionsFromConfig(defaultZKServerConfig({port: 0}))
    assert.ok(mem.persistence instanceof MemoryPersistence)
    const {config} = parseZKServerConfig('dataDir=/tmp/x\ntickTime=1000\nclientPort=2199\n4lw.commands.whitelist=*\nmaxClientCnxns=7\nsnapCount=10\n')
    const opts = zkServerOptionsFromConfig(config)
    assert.ok(opts.persistence instanceof FilePersistence)
    const {persistence: _p, logger: _l, ...rest} = opts
    assert.deepEqual(rest, {
      host: '127.0.0.1',
      port: 2199,
      tickTimeMs: 1000,
      minSessionTimeoutMs: 2000,
      maxSessionTimeoutMs: 20000,
      maxClientCnxns: 7,
      snapCount: 10,
      fourLetterWhitelist: ['*'],
    })
  })

  it('names the file when it cannot be read', () => {
    assert.throws(() => loadZKServerConfig('/nonexistent/zoo.cfg'), (e: unknown) => e instanceof InvalidInputError && /cannot read ZooKeeper config \/nonexistent\/zoo\.cfg/.test(e.message))
  })
})
