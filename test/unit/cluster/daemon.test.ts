import assert from 'node:assert/strict'
import {hostname} from 'node:os'
import {describe, it} from 'node:test'

import {daemonFiles, daemonSettings, parseDaemonService, serviceArgs} from '../../../src/engine/cluster/daemon.js'
import {ClusterError} from '../../../src/engine/cluster/errors.js'
import {InvalidInputError} from '../../../src/engine/common/errors.js'

describe('daemon settings and file names (dlog-daemon.sh)', () => {
  it('defaults under DLOG_HOME (else the installation) with SERVICE_PORT 0', () => {
    const s = daemonSettings('bookie', {}, '/opt/dlog')
    assert.deepEqual(daemonFiles('bookie', s), {
      pidFile: '/opt/dlog/pids/dlog-bookie-0.pid',
      outFile: `/opt/dlog/logs/dlog-bookie-${hostname()}-0.out`,
    })
    assert.equal(s.stopTimeoutMs, 30_000)
    assert.equal(daemonSettings('bookie', {DLOG_HOME: '/h'}, '/opt/dlog').pidDir, '/h/pids')
  })

  it('DLOG_PID_DIR, DLOG_LOG_DIR, SERVICE_PORT and DLOG_STOP_TIMEOUT are honoured', () => {
    const s = daemonSettings('bookie', {DLOG_PID_DIR: '/p', DLOG_LOG_DIR: '/l', SERVICE_PORT: '3181', DLOG_STOP_TIMEOUT: '5'}, '/x')
    assert.deepEqual(daemonFiles('bookie', s), {pidFile: '/p/dlog-bookie-3181.pid', outFile: `/l/dlog-bookie-${hostname()}-3181.out`})
    assert.equal(s.stopTimeoutMs, 5_000)
  })

  it('writeproxy names its files by WP_SERVICE_PORT (default 4181), ignoring SERVICE_PORT', () => {
    assert.equal(daemonSettings('writeproxy', {SERVICE_PORT: '1'}, '/x').servicePort, '4181')
    assert.equal(daemonSettings('writeproxy', {WP_SERVICE_PORT: '4182'}, '/x').servicePort, '4182')
  })

  it('rejects values that cannot name a file or a timeout', () => {
    assert.throws(() => daemonSettings('bookie', {SERVICE_PORT: '../x'}, '/x'), InvalidInputError)
    assert.throws(() => daemonSettings('bookie', {DLOG_STOP_TIMEOUT: 'soon'}, '/x'), InvalidInputError)
    assert.throws(() => daemonSettings('bookie', {DLOG_STOP_TIMEOUT: '0'}, '/x'), InvalidInputError)
  })

  it('maps services to dlog commands: the zookeeper conf is positional, bookie args pass through', () => {
    assert.deepEqual(serviceArgs('zookeeper', ['conf/zookeeper.conf']), ['zookeeper', '--conf', 'conf/zookeeper.conf'])
    assert.deepEqual(serviceArgs('zookeeper', ['--port', '2181']), ['zookeeper', '--port', '2181'])
    assert.deepEqual(serviceArgs('bookie', ['--conf', 'b.conf', '--readonly']), ['bookie', '--conf', 'b.conf', '--readonly'])
    assert.throws(() => serviceArgs('writeproxy', []), (e: unknown) => e instanceof ClusterError && e.code === 'NOT_AVAILABLE')
    assert.throws(() => parseDaemonService('bookie-rereplicator'), /unknown service name bookie-rereplicator/)
  })
})
