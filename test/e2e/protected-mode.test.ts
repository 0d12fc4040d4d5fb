// Protected mode (issue 18) from a real non-loopback address: the test makes a network namespace
// joined by a veth pair (netns.ts) and connects from inside it to Tessera and to redis-server 7.0,
// both bound to 127.0.0.1 and the host's end of the pair. With no password for the default user
// both refuse with the same -DENIED bytes and close; with a password or protected-mode no both
// answer. The memcached and HTTP doors refuse the same clients with the same text in their own
// framing. Loopback clients are never refused.
// Then Redis 7's protected configs: no command lets a client make the server write a file outside
// its dir (CONFIG SET of every file-naming option, ACL SAVE, DEBUG, MODULE, scripts' io/os), answered as
// redis-server answers.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commandOnce, encodeCommand, rawClient, requireTool, show, startRedis, startTessera, waitFor, type ServerHandle } from './harness.js';
import { bin, OPS, parseBin } from './memcache-harness.js';
import { exchangeFromNs, netNsOrSkipReason, type NetNs } from './netns.js';

requireTool('redis-server', ['--version'], 'redis-server');
const nsOrReason = netNsOrSkipReason('pm');
const test = suite('protected mode from a non-loopback address');
const it = typeof nsOrReason === 'string' ? test.skip : test;
if (typeof nsOrReason === 'string') console.log(`SKIPPED protected-mode tests: ${nsOrReason}`);
const ns = (): NetNs => nsOrReason as NetNs;

const DENIED_PREFIX = '-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.';

async function pair(extra: string[] = [], tesseraOpts: { memcache?: boolean; http?: boolean } = {}): Promise<[ServerHandle, ServerHandle]> {
  const bind = ['--bind', `127.0.0.1 ${ns().hostIp}`];
  const redis = await startRedis({ args: [...bind, ...extra] });
  try {
    return [redis, await startTessera({ args: [...bind, ...extra], ...tesseraOpts })];
  } catch (e) {
    await redis.stop();
    throw e;
  }
}

async function stats(port: number): Promise<Map<string, string>> {
  const info = String(await commandOnce(port, 'INFO', 'stats'));
  return new Map(info.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':') as [string, string]));
}

it('default: -DENIED from the namespace, byte for byte as redis-server, then closed; loopback still served', async () => {
  const [redis, tessera] = await pair();
  try {
    const r = await exchangeFromNs(ns(), ns().hostIp, redis.port, encodeCommand(['PING']));
    const t = await exchangeFromNs(ns(), ns().hostIp, tessera.port, encodeCommand(['PING']));
    assert.ok(r.bytes.toString('latin1').startsWith(DENIED_PREFIX), `redis: ${show(r.bytes)}`);
    assert.is(t.bytes.toString('latin1'), r.bytes.toString('latin1'));
    assert.not.ok(r.open, 'redis closed');
    assert.not.ok(t.open, 'tessera closed the refused connection');
    assert.is(await commandOnce(tessera.port, 'PING'), 'PONG');
    const st = await stats(tessera.port);
    assert.is(st.get('protected_mode_refused'), '1');
    assert.is(st.get('rejected_connections'), (await stats(redis.port)).get('rejected_connections'));
  } finally {
    await Promise.all([redis.stop(), tessera.stop()]);
  }
});

/** With a password for the default user, a client from the namespace is served on both servers:
 * NOAUTH first, then AUTH works (the same bytes from each). */
async function servedWithPassword(args: string[], password: string, setUp: (port: number) => Promise<void>): Promise<void> {
  const [redis, tessera] = await pair(args);
  try {
    for (const s of [redis, tessera]) await setUp(s.port);
    const payload = Buffer.concat([encodeCommand(['PING']), encodeCommand(['AUTH', password]), encodeCommand(['PING']), encodeCommand(['QUIT'])]);
    const r = await exchangeFromNs(ns(), ns().hostIp, redis.port, payload);
    const t = await exchangeFromNs(ns(), ns().hostIp, tessera.port, payload);
    assert.is(r.bytes.toString('latin1'), '-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n+OK\r\n');
    assert.is(t.bytes.toString('latin1'), r.bytes.toString('latin1'));
  } finally {
    await Promise.all([redis.stop(), tessera.stop()]);
  }
}

it('with requirepass: the namespace client is served (NOAUTH as redis-server, then AUTH works)', () =>
  servedWithPassword(['--requirepass', 'pm-secret'], 'pm-secret', async () => undefined));

it('a password for the default user through ACL SETUSER opens the door as on redis-server', () =>
  servedWithPassword([], 'pm-acl-secret', async (port) => {
    assert.is(await commandOnce(port, 'ACL', 'SETUSER', 'default', '>pm-acl-secret'), 'OK');
  }));

it('CONFIG SET protected-mode no from loopback opens the door (both servers); yes closes it again', async () => {
  const [redis, tessera] = await pair();
  try {
    for (const s of [redis, tessera]) assert.is(await commandOnce(s.port, 'CONFIG', 'SET', 'protected-mode', 'no'), 'OK');
    const payload = Buffer.concat([encodeCommand(['PING']), encodeCommand(['QUIT'])]);
    const r = await exchangeFromNs(ns(), ns().hostIp, redis.port, payload);
    const t = await exchangeFromNs(ns(), ns().hostIp, tessera.port, payload);
    assert.is(r.bytes.toString('latin1'), '+PONG\r\n+OK\r\n');
    assert.is(t.bytes.toString('latin1'), r.bytes.toString('latin1'));
    assert.equal(await commandOnce(tessera.port, 'CONFIG', 'GET', 'protected-mode'), await commandOnce(redis.port, 'CONFIG', 'GET', 'protected-mode'));
    assert.is(await commandOnce(tessera.port, 'CONFIG', 'SET', 'protected-mode', 'yes'), 'OK');
    const again = await exchangeFromNs(ns(), ns().hostIp, tessera.port, encodeCommand(['PING']));
    assert.ok(again.bytes.toString('latin1').startsWith(DENIED_PREFIX), show(again.bytes));
  } finally {
    await Promise.all([redis.stop(), tessera.stop()]);
  }
});

it('the memcached port: a text client gets SERVER_ERROR with the DENIED text, a binary client an error response carrying it', async () => {
  const bind = ['--bind', `127.0.0.1 ${ns().hostIp}`];
  const t = await startTessera({ args: bind, memcache: true, http: true });
  try {
    const denied = DENIED_PREFIX.slice(1);
    const text = await exchangeFromNs(ns(), ns().hostIp, t.memcachePort, 'version\r\n');
    const line = text.bytes.toString('latin1');
    assert.ok(line.startsWith(`SERVER_ERROR ${denied}`) && line.endsWith('\r\n'), show(line));
    assert.not.ok(text.open, 'closed');
    const binary = await exchangeFromNs(ns(), ns().hostIp, t.memcachePort, bin(OPS.GET, { key: 'k', opaque: 0xabcd }));
    const [resp] = parseBin(binary.bytes);
    assert.ok(resp !== undefined, show(binary.bytes));
    assert.is(binary.bytes[0], 0x81);
    assert.is(resp!.opcode, OPS.GET);
    assert.is(resp!.opaque, 0xabcd);
    assert.is(resp!.status, 0x86, 'ETMPFAIL');
    assert.ok(resp!.value.toString('latin1').startsWith(denied), show(resp!.value));
    assert.not.ok(binary.open, 'closed');
    // HTTP: 403 with the text in a JSON body.
    const http = await exchangeFromNs(ns(), ns().hostIp, t.httpPort, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = http.bytes.toString('utf8');
    assert.match(res, /^HTTP\/1\.1 403 Forbidden\r\n/);
    const body = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as { error: string };
    assert.ok(body.error.startsWith(denied), body.error);
    assert.not.ok(http.open, 'closed');
    // Loopback clients of those doors are served.
    assert.is(await commandOnce(t.port, 'PING'), 'PONG');
    const st = await stats(t.port);
    assert.is(st.get('protected_mode_refused'), '3');
    // With a password (CONFIG SET requirepass), the memcached door asks for authentication instead.
    assert.is(await commandOnce(t.port, 'CONFIG', 'SET', 'requirepass', 'pm-secret'), 'OK');
    const authed = await exchangeFromNs(ns(), ns().hostIp, t.memcachePort, 'version\r\n');
    assert.not.ok(authed.bytes.toString('latin1').includes('DENIED'), show(authed.bytes));
  } finally {
    await t.stop();
  }
});

test.run();

const files = suite('no command writes a file outside dir (enable-protected-configs, enable-debug-command: no)');

files('every file-naming option, DEBUG, MODULE and scripts are refused as redis-server refuses them; nothing lands outside dir', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'tessera-outside-'));
  const own = mkdtempSync(join(tmpdir(), 'tessera-own-'));
  const redis = await startRedis();
  const tessera = await startTessera({ args: ['--enable-debug-command', 'no', '--dir', own, '--save', ''] });
  const r = await rawClient(redis.port);
  const t = await rawClient(tessera.port);
  try {
    const same = [
      ['CONFIG', 'SET', 'dir', outside],
      ['CONFIG', 'SET', 'dbfilename', join(outside, 'x.rdb')],
      ['CONFIG', 'SET', 'dbfilename', 'x.rdb'],
      ['CONFIG', 'SET', 'appendfilename', 'x.aof'],
      ['CONFIG', 'SET', 'appenddirname', outside],
      ['CONFIG', 'SET', 'logfile', join(outside, 'x.log')],
      ['CONFIG', 'SET', 'cluster-config-file', join(outside, 'nodes.conf')],
      ['CONFIG', 'SET', 'aclfile', join(outside, 'users.acl')],
      ['ACL', 'SAVE'],
      ['CONFIG', 'SET', 'maxmemory', '1mb', 'dir', outside],
      ['DEBUG', 'RELOAD'],
      ['DEBUG', 'SLEEP', '0'],
    ];
    for (const cmd of same) {
      const [a, b] = await Promise.all([r.call(cmd), t.call(cmd)]);
      assert.is(b.text, a.text, cmd.join(' '));
      assert.ok(a.text.startsWith('-ERR'), `${cmd.join(' ')}: ${a.text}`);
    }
    // No module loading at all (Tessera has no MODULE command; redis-server refuses it by default).
    assert.match((await t.call(['MODULE', 'LOAD', join(outside, 'x.so')])).text, /^-ERR unknown command 'MODULE'/);
    // Scripts have no io, os, loadfile or dofile, as in Redis.
    for (const name of ['io', 'os', 'loadfile', 'dofile']) {
      const body = name === 'io' ? `return io.open('${join(outside, 'x')}', 'w')` : name === 'os' ? `return os.remove('${join(outside, 'x')}')` : `return ${name}('/etc/hostname')`;
      const [a, b] = await Promise.all([r.call(['EVAL', body, '0']), t.call(['EVAL', body, '0'])]);
      const head = (x: string): string => x.slice(0, x.indexOf(' script:') > 0 ? x.indexOf(' script:') : undefined);
      assert.is(head(b.text), head(a.text), body);
    }
    // What may write files writes only into dir.
    assert.is((await t.call(['SAVE'])).text, '+OK\r\n');
    assert.is((await t.call(['CONFIG', 'SET', 'appendonly', 'yes'])).text, '+OK\r\n');
    await waitFor('the append-only files in dir', () => readdirSync(own).includes('appendonlydir'));
    assert.equal(readdirSync(outside), [], 'nothing was written outside dir');
    assert.ok(readdirSync(own).length > 0, 'SAVE wrote into dir');
  } finally {
    r.close();
    t.close();
    await Promise.all([redis.stop(), tessera.stop()]);
    rmSync(outside, { recursive: true, force: true });
    rmSync(own, { recursive: true, force: true });
  }
});

files.run();
