import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {PassThrough} from 'node:stream'
import {describe, it} from 'node:test'

import type {CreateMode} from '../../../../src/engine/zookeeper/client/args.js'
import {
  BadVersionError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  ZKConnectTimeoutError,
} from '../../../../src/engine/zookeeper/client/errors.js'
import {childPath, parentPath} from '../../../../src/engine/zookeeper/client/paths.js'
import {formatJavaDate, formatStat, runShell, type ShellClient, tokenize, ZKShell} from '../../../../src/engine/zookeeper/client/shell.js'
import type {Stat} from '../../../../src/engine/zookeeper/client/stat.js'
import type {Watcher, ZKClientState} from '../../../../src/engine/zookeeper/client/zk-client.js'

/** An in-memory ZooKeeper tree behind the ShellClient interface. */
class FakeClient extends EventEmitter implements ShellClient {
  state: ZKClientState = 'connected'
  closed = false
  private zxid = 0n
  private readonly nodes = new Map<string, {data: Buffer | undefined; stat: Stat; seq: number}>()
  private readonly watchers: {path: string; w: Watcher}[] = []

  constructor() {
    super()
    this.nodes.set('/', {data: undefined, stat: this.newStat(0n), seq: 0})
    this.nodes.set('/zookeeper', {data: undefined, stat: this.newStat(0n), seq: 0})
  }

  private newStat(zxid: bigint, owner = 0n, dataLength = 0): Stat {
    return {czxid: zxid, mzxid: zxid, pzxid: zxid, ctimeMs: 0, mtimeMs: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, dataLength, numChildren: 0}
  }

  private node(path: string) {
    const n = this.nodes.get(path)
    if (!n) throw new NoNodeError({path})
    return n
  }

  private children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`
    return [...this.nodes.keys()].filter((k) => k !== path && k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length))
  }

  async exists(path: string, w?: Watcher) {
    if (w) this.watchers.push({path, w})
    return this.nodes.get(path)?.stat ?? null
  }

  async getData(path: string, w?: Watcher) {
    const n = this.node(path)
    if (w) this.watchers.push({path, w})
    return {data: n.data, stat: n.stat}
  }

  async setData(path: string, data: Buffer | string | null, version = -1) {
    const n = this.node(path)
    if (version !== -1 && version !== n.stat.version) throw new BadVersionError({path})
    n.data = data === null ? undefined : Buffer.from(data)
    n.stat = {...n.stat, version: n.stat.version + 1, mzxid: ++this.zxid, dataLength: n.data?.length ?? 0}
    for (const x of this.watchers.splice(0)) if (x.path === path) x.w({type: 'dataChanged', path})
    return n.stat
  }

  async getChildrenWithStat(path: string, w?: Watcher) {
    const n = this.node(path)
    if (w) this.watchers.push({path, w})
    return {children: this.children(path).reverse(), stat: n.stat}
  }

  async create(path: string, data?: Buffer | string | null, mode: CreateMode = 'persistent') {
    const parent = this.node(parentPath(path))
    let name = path
    if (mode.endsWith('sequential')) name = `${path}${String(parent.seq).padStart(10, '0')}`
    if (this.nodes.has(name)) throw new NodeExistsError({path: name})
    parent.seq++
    const buf = data === null || data === undefined ? undefined : Buffer.from(data)
    this.nodes.set(name, {data: buf, stat: this.newStat(++this.zxid, mode.startsWith('ephemeral') ? 0x77n : 0n, buf?.length ?? 0), seq: 0})
    parent.stat = {...parent.stat, cversion: parent.stat.cversion + 1, numChildren: parent.stat.numChildren + 1}
    return name
  }

  async delete(path: string, version = -1) {
    const n = this.node(path)
    if (version !== -1 && version !== n.stat.version) throw new BadVersionError({path})
    if (this.children(path).length > 0) throw new NotEmptyError({path})
    this.nodes.delete(path)
  }

  async deleteRecursive(path: string) {
    this.node(path)
    let count = 0
    for (const c of this.children(path)) count += await this.deleteRecursive(childPath(path, c))
    await this.delete(path)
    return count + 1
  }

  async sync(_path: string) {}

  async close() {
    this.closed = true
    this.state = 'closed'
  }
}

function capture() {
  let out = ''
  let err = ''
  return {io: {out: (s: string) => void (out += s), err: (s: string) => void (err += s)}, out: () => out, err: () => err}
}

function shell() {
  const client = new FakeClient()
  const c = capture()
  const sh = new ZKShell({connectString: 'localhost:2181', client, io: c.io, printEvents: true, timeZone: 'UTC'})
  return {client, sh, ...c}
}

describe('zookeeper client > zkshell', () => {
  it('tokenizes like zkCli, with quotes and empty arguments', () => {
    assert.deepEqual(tokenize("create /messaging ''"), ['create', '/messaging', ''])
    assert.deepEqual(tokenize('create /q "hello world"  x'), ['create', '/q', 'hello world', 'x'])
    assert.deepEqual(tokenize("  ls   /  "), ['ls', '/'])
    assert.deepEqual(tokenize(''), [])
  })

  it('formats dates and Stat like zkCli', () => {
    assert.equal(formatJavaDate(0, 'UTC'), 'Thu Jan 01 00:00:00 UTC 1970')
    assert.equal(formatJavaDate(Date.UTC(2026, 10, 23, 1, 51, 57), 'UTC'), 'Mon Nov 23 01:51:57 UTC 2026')
    const stat: Stat = {czxid: 4n, mzxid: 0x3en, pzxid: 0x11n, ctimeMs: 0, mtimeMs: 0, version: 4, cversion: 2, aversion: 0, ephemeralOwner: 0x1000081d56001bn, dataLength: 1, numChildren: 2}
    assert.equal(
      formatStat(stat, 'UTC'),
      [
        'cZxid = 0x4',
        'ctime = Thu Jan 01 00:00:00 UTC 1970',
        'mZxid = 0x3e',
        'mtime = Thu Jan 01 00:00:00 UTC 1970',
        'pZxid = 0x11',
        'cversion = 2',
        'dataVersion = 4',
        'aclVersion = 0',
        'ephemeralOwner = 0x1000081d56001b',
        'dataLength = 1',
        'numChildren = 2',
        '',
      ].join('\n'),
    )
  })

  it('runs the seed transcript: create with empty data, prompt counter', async () => {
    const {sh, out, err} = shell()
    assert.equal(sh.prompt(), '[zk: localhost:2181(CONNECTED) 0] ')
    for (const p of ['/messaging', '/messaging/bookkeeper', '/messaging/bookkeeper/ledgers']) {
      assert.deepEqual(await sh.executeLine(`create ${p} ''`), {code: 0, quit: false})
    }
    assert.equal(sh.prompt(), '[zk: localhost:2181(CONNECTED) 3] ')
    assert.equal(err(), 'Created /messaging\nCreated /messaging/bookkeeper\nCreated /messaging/bookkeeper/ledgers\n')
    await sh.executeLine('get /messaging')
    await sh.executeLine('ls /')
    assert.equal(out(), '\n[messaging, zookeeper]\n')
  })

  it('blank lines are not commands', async () => {
    const {sh, out, err} = shell()
    await sh.executeLine('')
    await sh.executeLine('   ')
    assert.equal(sh.prompt(), '[zk: localhost:2181(CONNECTED) 0] ')
    assert.equal(out() + err(), '')
  })

  it('get prints null for null data and the stat with -s', async () => {
    const {sh, out} = shell()
    await sh.executeLine('create /n')
    await sh.executeLine('create /d hello')
    await sh.executeLine('get /n')
    await sh.executeLine('get -s /d')
    const lines = out().split('\n')
    assert.equal(lines[0], 'null')
    assert.equal(lines[1], 'hello')
    assert.equal(lines[2], 'cZxid = 0x2')
    assert.equal(lines[11], 'dataLength = 5')
  })

  it('prints zkCli error messages and returns code 1', async () => {
    const {sh, err} = shell()
    const codes: number[] = []
    for (const line of ['get /x', 'create /a 1', 'create /a 2', 'create /a/b', 'delete /a', 'delete -v 7 /a/b', 'set /a v 3', 'stat /nope', 'ls a', 'create /a/']) {
      codes.push((await sh.executeLine(line)).code)
    }
    assert.deepEqual(codes, [1, 0, 1, 0, 1, 1, 1, 1, 1, 1])
    assert.equal(
      err(),
      [
        'Node does not exist: /x',
        'Created /a',
        'Node already exists: /a',
        'Created /a/b',
        'Node not empty: /a',
        'version No is not valid : /a/b',
        'version No is not valid : /a',
        'Node does not exist: /nope',
        'Path must start with / character',
        'Path must not end with / character',
        '',
      ].join('\n'),
    )
  })

  it('set honours -v and the positional version; delete -v', async () => {
    const {sh, client} = shell()
    await sh.executeLine('create /v x')
    assert.equal((await sh.executeLine('set -v 0 /v y')).code, 0)
    assert.equal((await sh.executeLine('set /v z 1')).code, 0)
    assert.equal((await sh.executeLine('set /v w 1')).code, 1)
    assert.equal((await sh.executeLine('delete -v 2 /v')).code, 0)
    assert.equal(await client.exists('/v'), null)
  })

  it('sequential and ephemeral creates', async () => {
    const {sh, err, client} = shell()
    await sh.executeLine('create /p')
    await sh.executeLine('create -s /p/s- d')
    await sh.executeLine('create -e -s /p/q')
    await sh.executeLine('create -e /e')
    assert.equal(err(), 'Created /p\nCreated /p/s-0000000000\nCreated /p/q0000000001\nCreated /e\n')
    assert.equal((await client.exists('/e'))?.ephemeralOwner, 0x77n)
  })

  it('ls sorts, ls -s adds the stat, ls -R walks the tree', async () => {
    const {sh, out} = shell()
    for (const p of ['/t', '/t/zz', '/t/b', '/t/a', '/t/a/x']) await sh.executeLine(`create ${p}`)
    await sh.executeLine('ls /t')
    assert.equal(out(), '[a, b, zz]\n')
    const {sh: sh2, out: out2} = shell()
    for (const p of ['/t', '/t/zz', '/t/b', '/t/a', '/t/a/x']) await sh2.executeLine(`create ${p}`)
    await sh2.executeLine('ls -R /t')
    assert.equal(out2(), '/t\n/t/a\n/t/a/x\n/t/b\n/t/zz\n')
  })

  it('deleteall, sync, history and redo', async () => {
    const {sh, out, err, client} = shell()
    await sh.executeLine('create /r')
    await sh.executeLine('create /r/1')
    await sh.executeLine('deleteall /r')
    assert.equal(await client.exists('/r'), null)
    await sh.executeLine('sync /')
    await sh.executeLine('create /h')
    await sh.executeLine('redo 4')
    await sh.executeLine('redo 99')
    await sh.executeLine('history')
    assert.equal(
      out(),
      ['Sync is OK', '0 - create /r', '1 - create /r/1', '2 - deleteall /r', '3 - sync /', '4 - create /h', '5 - create /h', '6 - redo 99', '7 - history', ''].join('\n'),
    )
    assert.match(err(), /Node already exists: \/h\nCommand index out of range\n$/)
  })

  it('unknown commands and bad usage print usage and return code 2', async () => {
    const {sh, err} = shell()
    assert.equal((await sh.executeLine('frob /x')).code, 2)
    assert.match(err(), /^ZooKeeper -server host:port cmd args\n\tcreate \[-s\] \[-e\] path \[data\]\n/)
    assert.match(err(), /Command not found: Command not found frob\n$/)
    const {sh: sh2, err: err2} = shell()
    assert.equal((await sh2.executeLine('ls')).code, 2)
    assert.equal((await sh2.executeLine('set /a')).code, 2)
    assert.equal((await sh2.executeLine('delete -v x /a')).code, 2)
    assert.equal(err2(), 'ls [-s] [-w] [-R] path\nset [-s] [-v version] path data\ndelete [-v version] path\n')
  })

  it('prints watch events in zkCli form', async () => {
    const {sh, out} = shell()
    await sh.executeLine('create /w x')
    await sh.executeLine('get -w /w')
    await sh.executeLine('set /w y')
    assert.equal(out(), 'x\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n')
  })

  it('quit ends the loop', async () => {
    const {sh} = shell()
    assert.deepEqual(await sh.executeLine('quit'), {code: 0, quit: true})
  })
})

describe('zookeeper client > zkshell runShell', () => {
  function streams(input: string) {
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    let out = ''
    let err = ''
    stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    stdin.end(input)
    return {stdin, stdout, stderr, out: () => out, err: () => err}
  }

  it('piped input runs line by line and ends with 0 at EOF, closing the client', async () => {
    const client = new FakeClient()
    const s = streams("create /a ''\nget /a\nls /\n")
    const code = await runShell({connectString: 'h:1', command: [], connect: async () => client, stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, terminal: false})
    assert.equal(code, 0)
    assert.equal(client.closed, true)
    assert.equal(
      s.out(),
      'Connecting to h:1\nWelcome to ZooKeeper!\nJLine support is disabled\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n\n[a, zookeeper]\n',
    )
    assert.equal(s.err(), 'Created /a\n')
  })

  it('a terminal gets the prompt with the command counter', async () => {
    const client = new FakeClient()
    const s = streams('ls /\nquit\n')
    const code = await runShell({connectString: 'h:1', command: [], connect: async () => client, stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, terminal: true})
    assert.equal(code, 0)
    assert.match(s.out(), /JLine support is enabled\n/)
    assert.match(s.out(), /\[zk: h:1\(CONNECTED\) 0\] /)
    assert.match(s.out(), /\[zk: h:1\(CONNECTED\) 1\] /)
    assert.match(s.out(), /WatchedEvent state:Closed type:None path:null\n$/)
  })

  it('piped input: the exit status is the last command\'s, like zkCli', async () => {
    const run = async (input: string) => {
      const s = streams(input)
      return runShell({connectString: 'h:1', command: [], connect: async () => new FakeClient(), stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, terminal: false})
    }
    assert.equal(await run('get /nope\n'), 1)
    assert.equal(await run('get /nope\nls /\n'), 0)
    assert.equal(await run('get /nope\nquit\n'), 1)
    assert.equal(await run('get /nope\n\n'), 1)
    assert.equal(await run(''), 0)
  })

  it('one-shot: no welcome, exit 1 on a failed command', async () => {
    const s = streams('')
    const code = await runShell({connectString: 'h:1', command: ['get', '/nope'], connect: async () => new FakeClient(), stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, terminal: false})
    assert.equal(code, 1)
    assert.equal(s.out(), 'Connecting to h:1\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n')
    assert.equal(s.err(), 'Node does not exist: /nope\n')
  })

  it('an unreachable server exits 4 with a message naming it', async () => {
    const s = streams('')
    const code = await runShell({
      connectString: 'h:1',
      command: ['ls', '/'],
      connect: async () => {
        throw new ZKConnectTimeoutError({connectString: 'h:1', timeoutMs: 5})
      },
      stdin: s.stdin,
      stdout: s.stdout,
      stderr: s.stderr,
      terminal: false,
    })
    assert.equal(code, 4)
    assert.equal(s.err(), 'could not connect to ZooKeeper at h:1 within 5 ms\n')
  })
})
