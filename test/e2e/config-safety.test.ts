// Several servers on one host (issue 13, item 4), protected configs (item 7) and `--bind '*'`
// (item 8), with real processes: two nodes that differ only in --port (each in its own working
// directory, as in Redis's cluster tutorial) both run, with their front doors on derived ports;
// a second server on a locked --dir is refused naming the first one's pid; CONFIG SET dir and
// dbfilename answer exactly as redis-server 7 does; --bind '*' listens and answers on 127.0.0.1.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  TESSERA_MAIN,
  commandOnce,
  encodeCommand,
  freePort,
  rawClient,
  show,
  startClusterNode,
  startRedis,
  startTessera,
  waitFor,
  withTimeout,
  type ServerHandle,
} from './harness.js';

const EXIT_DEADLINE_MS = 15_000;
const PING_DEADLINE_MS = 20_000;
const MEMCACHE_OFFSET = 4832;
const HTTP_OFFSET = 1701;
const BUS_OFFSET = 10000;

const root = mkdtempSync(join(tmpdir(), 'tessera-cfgsafety-'));
const procs = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of procs) if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) process.kill(p.pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = (): string => mkdtempSync(join(root, `d${dirCount++}-`));

interface Spawned {
  proc: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** `tessera server ARGS` in working directory `cwd`, nothing else on its command line. */
function spawnTessera(args: string[], cwd: string): Spawned {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
  const proc = spawn(process.execPath, [TESSERA_MAIN, 'server', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-64 * 1024)));
  proc.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-64 * 1024)));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    procs.delete(proc);
    resolve(code);
  }));
  return {
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    exited,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await withTimeout(exited, EXIT_DEADLINE_MS, 'tessera stop');
    },
  };
}

async function answersPing(port: number): Promise<boolean> {
  try {
    return (await commandOnce(port, 'PING')) === 'PONG';
  } catch {
    return false;
  }
}

/** True when nothing listens on 127.0.0.1:`port` (and it may be bound). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A base port such that base and base+1, and the ports derived from both, are free. Chosen
 * below the ephemeral range, so that client sockets do not take them meanwhile. */
async function tutorialPorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 9000);
    const all = [0, 1].flatMap((i) => [base + i, base + i + MEMCACHE_OFFSET, base + i + HTTP_OFFSET, base + i + BUS_OFFSET]);
    if ((await Promise.all(all.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free run of ports for two nodes');
}

/** memcached text protocol: `version` on `port` answers "VERSION ...". */
function memcacheVersion(port: number): Promise<string> {
  return withTimeout(new Promise<string>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let out = '';
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.endsWith('\r\n')) {
        s.destroy();
        resolve(out);
      }
    });
    s.write('version\r\n');
  }), 5_000, `memcached version on ${port}`);
}

async function httpStatus(port: number, path: string): Promise<number> {
  const r = await withTimeout(fetch(`http://127.0.0.1:${port}${path}`), 5_000, `GET ${path}`);
  await r.arrayBuffer();
  return r.status;
}

function requireRedisServer(): void {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error('redis-server is not installed: this test compares Tessera\'s replies with redis-server 7 (apt-get install redis-server)');
  }
}

// ---- two nodes, only --port differs ----------------------------------------------------

const side = suite('nodes side by side');

side('two cluster nodes that differ only in --port both run, front doors on their derived ports', async () => {
  const base = await tutorialPorts();
  const nodes = [0, 1].map((i) => {
    const cwd = freshDir();
    return { cwd, port: base + i, s: spawnTessera(['--port', String(base + i), '--cluster-enabled', 'yes'], cwd) };
  });
  try {
    for (const n of nodes) {
      await waitFor(`node on ${n.port} answers PING`, async () => {
        if (n.s.proc.exitCode !== null) throw new Error(`exited ${n.s.proc.exitCode}: ${n.s.output()}`);
        return answersPing(n.port);
      }, PING_DEADLINE_MS);
    }
    for (const n of nodes) {
      const mc = n.port + MEMCACHE_OFFSET;
      const http = n.port + HTTP_OFFSET;
      assert.equal(await commandOnce(n.port, 'CONFIG', 'GET', '*-port'),
        ['memcache-port', String(mc), 'http-port', String(http), 'cluster-port', '0', 'tls-port', '0']);
      assert.match(await memcacheVersion(mc), /^VERSION /);
      await waitFor(`HTTP /health on ${http}`, async () => (await httpStatus(http, '/health')) === 200, 10_000);
      assert.ok(await portFree(n.port + BUS_OFFSET) === false, 'the cluster bus listens on port + 10000');
      assert.match(n.s.output(), new RegExp(`"memcachePort":${mc},"httpPort":${http}.*"msg":"Configured ports`));
      assert.ok(existsSync(join(n.cwd, 'tessera.lock')), 'each holds the lock of its own directory');
      assert.ok(existsSync(join(n.cwd, 'nodes.conf')));
    }
  } finally {
    await Promise.all(nodes.map((n) => n.s.stop()));
  }
  for (const n of nodes) {
    assert.is(await n.s.exited, 0, n.s.output());
    assert.not.ok(existsSync(join(n.cwd, 'tessera.lock')), 'released on a clean exit');
  }
});

side.run();

// ---- one server per dir -----------------------------------------------------------------

const lock = suite('one server per --dir');

async function refusedStart(args: string[]): Promise<string> {
  const s = spawnTessera(['--port', String(await freePort()), '--memcache-port', '0', '--http-port', '0', '--loglevel', 'warning', ...args], root);
  const code = await withTimeout(s.exited, EXIT_DEADLINE_MS, 'the refused server to exit');
  assert.is(code, 1, `expected exit 1, output: ${s.output()}`);
  return s.output();
}

lock('a second server on the same --dir exits naming the first one\'s pid; the first keeps serving', async () => {
  const dir = freshDir();
  const first = await startTessera({ args: ['--dir', dir] });
  try {
    await commandOnce(first.port, 'SET', 'k', 'v');
    await commandOnce(first.port, 'SAVE');
    const snapshot = readFileSync(join(dir, 'dump.tdb'));
    const out = await refusedStart(['--dir', dir]);
    assert.ok(out.includes(`tessera: dir '${dir}' is in use by another Tessera server (pid ${first.pid}; lock file ${join(dir, 'tessera.lock')})`), out);
    assert.match(out, /give each server its own dir/);
    assert.ok(readFileSync(join(dir, 'dump.tdb')).equals(snapshot), 'the refused server wrote nothing');
    assert.is(await commandOnce(first.port, 'GET', 'k'), 'v');
  } finally {
    await first.stop();
  }
  assert.not.ok(existsSync(join(dir, 'tessera.lock')));
});

lock('the same for a cluster node whose nodes.conf lives in dir', async () => {
  const dirs: string[] = [];
  const node = await startClusterNode({ nodeTimeoutMs: 5000, createdDirs: dirs });
  try {
    const nodesConf = readFileSync(join(node.dir, 'nodes.conf'), 'utf8');
    const out = await refusedStart(['--cluster-enabled', 'yes', '--dir', node.dir]);
    assert.ok(out.includes(`is in use by another Tessera server (pid ${node.handle.pid};`), out);
    assert.is(readFileSync(join(node.dir, 'nodes.conf'), 'utf8'), nodesConf, 'nodes.conf untouched');
  } finally {
    await node.handle.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

lock('a lock left by a killed server is taken over (logged); a clean stop removes it', async () => {
  const dir = freshDir();
  const first = await startTessera({ args: ['--dir', dir, '--save', ''] });
  first.proc.kill('SIGKILL');
  await first.exited;
  assert.ok(existsSync(join(dir, 'tessera.lock')), 'SIGKILL leaves the lock file');
  const second = await startTessera({ args: ['--dir', dir, '--save', ''] });
  try {
    assert.ok(second.output().includes(`took over ${join(dir, 'tessera.lock')}, left by pid ${first.pid}, which is gone`), second.output());
  } finally {
    await second.stop();
  }
  assert.not.ok(existsSync(join(dir, 'tessera.lock')));
});

lock.run();

// ---- protected configs, compared with redis-server ------------------------------------------

const prot = suite('CONFIG SET dir / dbfilename');

/** Sends each command to both servers and requires byte-identical replies. */
async function sameReplies(redis: ServerHandle, tessera: ServerHandle, commands: string[][]): Promise<void> {
  const [r, t] = await Promise.all([rawClient(redis.port), rawClient(tessera.port)]);
  try {
    for (const c of commands) {
      const rr = await r.call(c);
      const tr = await t.call(c);
      assert.ok(rr.raw.equals(tr.raw), `${c.join(' ')}: redis ${show(rr.raw)}, tessera ${show(tr.raw)}`);
    }
  } finally {
    r.close();
    t.close();
  }
}

prot('refused by default with Redis\'s text, byte for byte; nothing is written elsewhere', async () => {
  requireRedisServer();
  const target = freshDir();
  const [redis, tessera] = await Promise.all([startRedis(), startTessera()]);
  try {
    await sameReplies(redis, tessera, [
      ['CONFIG', 'SET', 'dir', target],
      ['CONFIG', 'SET', 'DIR', target],
      ['CONFIG', 'SET', 'dbfilename', 'x.rdb'],
      ['CONFIG', 'SET', 'dbfilename', 'a/b'],
      ['CONFIG', 'SET', 'maxmemory', '1mb', 'dir', target],
      ['CONFIG', 'GET', 'maxmemory'],
      ['CONFIG', 'SET', 'enable-protected-configs', 'yes'],
      ['CONFIG', 'GET', 'enable-protected-configs'],
      ['CONFIG', 'SET', 'appendfilename', 'x'],
      ['CONFIG', 'SET', 'logfile', 'x'],
    ]);
    await commandOnce(tessera.port, 'SET', 'k', 'v');
    await commandOnce(tessera.port, 'SAVE');
    assert.equal(readdirSync(target), [], 'SAVE wrote nothing in the directory it was pointed at');
  } finally {
    await Promise.all([redis.stop(), tessera.stop()]);
  }
});

prot('with enable-protected-configs yes: Redis\'s value checks; dir moves the lock; a locked dir is refused', async () => {
  requireRedisServer();
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  const yes = ['--enable-protected-configs', 'yes'];
  const [redis, tessera] = await Promise.all([startRedis({ args: yes }), startTessera({ args: yes })]);
  const other = await startTessera({ args: ['--dir', freshDir()] });
  try {
    await sameReplies(redis, tessera, [
      ['CONFIG', 'SET', 'dbfilename', 'a/b'],
      ['CONFIG', 'SET', 'dir', join(root, 'missing')],
      ['CONFIG', 'SET', 'dir', file],
      ['CONFIG', 'GET', 'enable-protected-configs'],
    ]);
    const [, startDir] = (await commandOnce(tessera.port, 'CONFIG', 'GET', 'dir')) as [string, string];
    assert.ok(existsSync(join(startDir, 'tessera.lock')));
    const next = freshDir();
    assert.is(await commandOnce(tessera.port, 'CONFIG', 'SET', 'dir', next), 'OK');
    assert.is(readFileSync(join(next, 'tessera.lock'), 'utf8').split('\n')[0], `pid ${tessera.pid}`);
    assert.not.ok(existsSync(join(startDir, 'tessera.lock')), 'the old directory is released');
    const [, otherDir] = (await commandOnce(other.port, 'CONFIG', 'GET', 'dir')) as [string, string];
    const c = await rawClient(tessera.port);
    try {
      const reply = await c.call(['CONFIG', 'SET', 'dir', otherDir]);
      assert.is(reply.text, `-ERR CONFIG SET failed (possibly related to argument 'dir') - directory in use by another Tessera server (pid ${other.pid})\r\n`);
    } finally {
      c.close();
    }
    assert.equal(await commandOnce(tessera.port, 'CONFIG', 'GET', 'dir'), ['dir', next]);
  } finally {
    await Promise.all([redis.stop(), tessera.stop(), other.stop()]);
  }
});

prot('local: allowed from a loopback client', async () => {
  const t = await startTessera({ args: ['--enable-protected-configs', 'local'] });
  try {
    assert.is(await commandOnce(t.port, 'CONFIG', 'SET', 'dbfilename', 'other.tdb'), 'OK');
    assert.equal(await commandOnce(t.port, 'CONFIG', 'GET', 'dbfilename'), ['dbfilename', 'other.tdb']);
  } finally {
    await t.stop();
  }
});

prot.run();

// ---- bind -------------------------------------------------------------------------------

const bind = suite('--bind');

/** A non-loopback IPv4 address of this host, if it has one: proves a wildcard is not 127.0.0.1. */
function externalIpv4(): string | undefined {
  return Object.values(networkInterfaces()).flatMap((l) => l ?? []).find((i) => i.family === 'IPv4' && !i.internal)?.address;
}

async function pingAt(host: string, port: number): Promise<string> {
  return withTimeout(new Promise<string>((resolve, reject) => {
    const s = connect({ host, port });
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      s.destroy();
      resolve(d.toString());
    });
    s.write(encodeCommand(['PING']));
  }), 5_000, `PING at ${host}:${port}`);
}

for (const words of [['*'], ['*', '-::*'], ['-203.0.113.77', '127.0.0.1']]) {
  bind(`--bind ${words.join(' ')} starts, answers on 127.0.0.1 on every port, CONFIG GET shows it as given`, async () => {
    const t = await startTessera({ args: ['--bind', ...words], memcache: true, http: true });
    try {
      assert.equal(await commandOnce(t.port, 'CONFIG', 'GET', 'bind'), ['bind', words.join(' ')]);
      assert.match(await memcacheVersion(t.memcachePort), /^VERSION /);
      assert.is(await httpStatus(t.httpPort, '/health'), 200);
      const ext = externalIpv4();
      if (words[0] === '*' && ext !== undefined) assert.is(await pingAt(ext, t.port), '+PONG\r\n');
    } finally {
      await t.stop();
    }
  });
}

bind.run();

