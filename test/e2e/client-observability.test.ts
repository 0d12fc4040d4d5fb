// CLIENT LIST / CLIENT INFO, CLIENT PAUSE / UNPAUSE, CLIENT NO-EVICT and MONITOR against a real
// redis-server 7.0 in the same run: the same fields in the same order and the same flags, the
// same error replies byte for byte, the same MONITOR lines (timestamps and ports aside) with
// secrets redacted and admin commands left out; paused writes wait (not fail) while reads pass,
// ALL holds every command until the pause ends; `redis-cli monitor` reads Tessera's stream; and a
// monitor that never reads is disconnected at its output bound, and counted.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  rawClient, requireTool, show, startRedis, startTessera, waitFor, withTimeout, type RawClient, type Reply, type ServerHandle,
} from './harness.js';

const TEST_TIMEOUT_MS = 60_000;

let tessera: ServerHandle | undefined;
let redis: ServerHandle | undefined;
const open: RawClient[] = [];

function servers(): Array<[string, number]> {
  if (tessera === undefined || redis === undefined) throw new Error('servers not started');
  return [['redis', redis.port], ['tessera', tessera.port]];
}

async function client(port: number): Promise<RawClient> {
  const c = await rawClient(port);
  open.push(c);
  return c;
}

function txt(r: Reply): string {
  const v = r.value;
  if (v.type === 'simple' || v.type === 'error') return v.value;
  if (v.type === 'bulk') return v.value === null ? '(nil)' : v.value.toString('latin1');
  if (v.type === 'verbatim') return v.value.toString('latin1');
  if (v.type === 'integer') return String(v.value);
  return r.text;
}

async function call(c: RawClient, ...args: Array<string | Buffer>): Promise<string> {
  return txt(await c.call(args));
}

/** CLIENT LIST / INFO line -> [field, value] pairs in order. */
function fields(line: string): Array<[string, string]> {
  return line.trim().split(' ').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
  });
}

function byId(list: string): Map<string, Map<string, string>> {
  const m = new Map<string, Map<string, string>>();
  for (const line of list.split('\n')) if (line.trim() !== '') {
    const f = new Map(fields(line));
    m.set(f.get('id')!, f);
  }
  return m;
}

const s = suite('client observability: CLIENT LIST/INFO/PAUSE/NO-EVICT and MONITOR vs redis-server 7.0');

s.before(async () => {
  requireTool('redis-server', ['--version'], 'redis-server');
  [tessera, redis] = await Promise.all([startTessera({ shards: 2 }), startRedis()]);
});

s.after.each(() => {
  for (const c of open.splice(0)) c.close();
});

s.after(async () => {
  await Promise.all([tessera?.stop(), redis?.stop()]);
});

function t(name: string, fn: () => Promise<void>): void {
  s(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

t('CLIENT INFO and CLIENT LIST: the same fields in the same order as redis-server', async () => {
  const names: Record<string, string[]> = {};
  for (const [who, port] of servers()) {
    const c = await client(port);
    assert.is(await call(c, 'CLIENT', 'SETNAME', 'obs'), 'OK');
    const info = await call(c, 'CLIENT', 'INFO');
    names[who] = fields(info).map(([k]) => k);
    const list = await call(c, 'CLIENT', 'LIST');
    const mine = [...byId(list).values()].find((f) => f.get('name') === 'obs');
    assert.ok(mine, `${who}: own line in CLIENT LIST ${show(list)}`);
    assert.equal([...mine.keys()], names[who], `${who}: CLIENT LIST fields`);
    assert.is(mine.get('cmd'), 'client|list', `${who}: cmd`);
    assert.is(fields(info).find(([k]) => k === 'argv-mem')?.[1], '10', `${who}: argv-mem of CLIENT INFO`);
  }
  assert.equal(names['tessera'], names['redis']);
});

t('INFO clients: redis-server\'s fields in its order', async () => {
  const keys: Record<string, string[]> = {};
  for (const [who, port] of servers()) {
    const c = await client(port);
    const info = await call(c, 'INFO', 'clients');
    keys[who] = info.split('\r\n').filter((l) => l.includes(':')).map((l) => l.slice(0, l.indexOf(':')));
  }
  assert.equal(keys['tessera'], keys['redis']);
});

t('flags, cmd, db, multi and sub of clients in different states match redis-server', async () => {
  const seen: Record<string, Record<string, Record<string, string>>> = {};
  for (const [who, port] of servers()) {
    const plain = await client(port);
    const mon = await client(port);
    const noevict = await client(port);
    const multi = await client(port);
    const sub = await client(port);
    const obs = await client(port);
    const ids: Record<string, string> = {};
    for (const [role, c] of Object.entries({ plain, mon, noevict, multi, sub })) ids[role] = await call(c, 'CLIENT', 'ID');
    await call(plain, 'SET', 'flags:k', 'v');
    assert.is(await call(mon, 'MONITOR'), 'OK');
    assert.is(await call(noevict, 'CLIENT', 'NO-EVICT', 'on'), 'OK');
    await call(noevict, 'SELECT', '2');
    assert.is(await call(multi, 'MULTI'), 'OK');
    assert.is(await call(multi, 'INCR', 'flags:n'), 'QUEUED');
    await sub.call(['SUBSCRIBE', 'ch1', 'ch2']);
    await sub.read(1);
    const list = byId(await call(obs, 'CLIENT', 'LIST'));
    const roles: Record<string, Map<string, string>> = {};
    for (const [role, id] of Object.entries(ids)) {
      const f = list.get(id);
      assert.ok(f, `${who}: client ${role} (${id}) not in CLIENT LIST`);
      roles[role] = f;
    }
    seen[who] = {};
    for (const [role, f] of Object.entries(roles)) {
      seen[who][role] = { flags: f.get('flags')!, cmd: f.get('cmd')!, db: f.get('db')!, multi: f.get('multi')!, sub: f.get('sub')!, psub: f.get('psub')!, resp: f.get('resp')!, user: f.get('user')!, multiMem: Number(f.get('multi-mem')) > 0 ? '>0' : '0' };
    }
    assert.is(await call(multi, 'DISCARD'), 'OK');
  }
  assert.equal(seen['tessera'], seen['redis']);
  assert.is(seen['tessera']!['mon']!['flags'], 'O');
  assert.is(seen['tessera']!['noevict']!['flags'], 'e');
  assert.is(seen['tessera']!['multi']!['flags'], 'x');
  assert.is(seen['tessera']!['sub']!['flags'], 'P');
});

t('CLIENT LIST / PAUSE / UNPAUSE / NO-EVICT / MONITOR errors are redis-server\'s, byte for byte', async () => {
  const cases: string[][] = [
    ['CLIENT', 'LIST', 'TYPE', 'bogus'],
    ['CLIENT', 'LIST', 'ID', 'abc'],
    ['CLIENT', 'LIST', 'ID', '0'],
    ['CLIENT', 'LIST', 'ID'],
    ['CLIENT', 'LIST', 'FOO', 'x'],
    ['CLIENT', 'PAUSE'],
    ['CLIENT', 'PAUSE', 'abc'],
    ['CLIENT', 'PAUSE', '-1'],
    ['CLIENT', 'PAUSE', '1.5'],
    ['CLIENT', 'PAUSE', '9223372036854775808'],
    ['CLIENT', 'PAUSE', '+5'],
    ['CLIENT', 'PAUSE', '99999999999999999', 'WRITE'],
    ['CLIENT', 'UNPAUSE'],
    ['CLIENT', 'PAUSE', '10', 'FOO'],
    ['CLIENT', 'PAUSE', '10', 'ALL', 'x'],
    ['CLIENT', 'UNPAUSE', 'x'],
    ['CLIENT', 'UNPAUSE'],
    ['CLIENT', 'NO-EVICT', 'maybe'],
    ['CLIENT', 'NO-EVICT'],
    ['CLIENT', 'NO-EVICT', 'OFF'],
    ['MONITOR', 'x'],
    ['CLIENT', 'KILL', 'USER', 'nobody'],
    ['CLIENT', 'KILL', 'USER', 'default', 'ADDR', '1.2.3.4:5'],
  ];
  const replies: Record<string, string[]> = {};
  for (const [who, port] of servers()) {
    const c = await client(port);
    replies[who] = [];
    for (const cmd of cases) replies[who].push((await c.call(cmd)).text);
    // MONITOR inside a transaction: refused at EXEC (Redis's DENY BLOCKING client).
    for (const cmd of [['MULTI'], ['MONITOR'], ['EXEC']]) replies[who].push((await c.call(cmd)).text);
  }
  for (let i = 0; i < replies['redis']!.length; i++) assert.is(replies['tessera']![i], replies['redis']![i], (cases[i] ?? ['MULTI MONITOR EXEC']).join(' '));
});

/** Waits until CLIENT LIST shows client `id` blocked (flag b) and INFO counts `n` blocked clients. */
async function waitHeld(ctl: RawClient, id: string, n: number): Promise<void> {
  await waitFor(`client ${id} held by the pause`, async () => {
    const f = byId(await call(ctl, 'CLIENT', 'LIST')).get(id);
    const info = await call(ctl, 'INFO', 'clients');
    return f?.get('flags') === 'b' && info.includes(`blocked_clients:${n}\r\n`);
  });
}

t('CLIENT PAUSE WRITE: writes and may-replicate commands wait (in order), reads pass; UNPAUSE runs them', async () => {
  for (const [who, port] of servers()) {
    const ctl = await client(port);
    const reader = await client(port);
    const writer = await client(port);
    const publisher = await client(port);
    await call(ctl, 'DEL', 'pause:k');
    const writerId = await call(writer, 'CLIENT', 'ID');
    const publisherId = await call(publisher, 'CLIENT', 'ID');
    assert.is(await call(ctl, 'CLIENT', 'PAUSE', '60000', 'WRITE'), 'OK');
    try {
      assert.is(await call(reader, 'GET', 'pause:k'), '(nil)', `${who}: a read passes`);
      assert.is(await call(reader, 'EVAL_RO', 'return 7', '0'), '7', `${who}: a read-only script passes`);
      // Pipelined: the GET behind the held SET waits for it (the connection's order is kept).
      writer.sendCommand('SET', 'pause:k', 'v1');
      writer.sendCommand('GET', 'pause:k');
      await waitHeld(ctl, writerId, 1);
      publisher.sendCommand('PUBLISH', 'pause:ch', 'm');
      await waitHeld(ctl, publisherId, 2);
      assert.is(writer.pending(), 0, `${who}: no reply while paused`);
      assert.is(await call(reader, 'GET', 'pause:k'), '(nil)', `${who}: the held write has not run`);
    } finally {
      assert.is(await call(ctl, 'CLIENT', 'UNPAUSE'), 'OK');
    }
    const [set, get] = await writer.read(2);
    assert.is(txt(set!), 'OK', who);
    assert.is(txt(get!), 'v1', who);
    assert.is(txt((await publisher.read(1))[0]!), '0', who);
    assert.match(await call(ctl, 'INFO', 'clients'), /blocked_clients:0\r\n/);
  }
});

t('CLIENT PAUSE WRITE holds an EXEC whose queue writes', async () => {
  for (const [who, port] of servers()) {
    const ctl = await client(port);
    const tx = await client(port);
    const txId = await call(tx, 'CLIENT', 'ID');
    assert.is(await call(tx, 'MULTI'), 'OK');
    assert.is(await call(tx, 'SET', 'pause:tx', '1'), 'QUEUED');
    assert.is(await call(ctl, 'CLIENT', 'PAUSE', '60000', 'WRITE'), 'OK');
    try {
      tx.sendCommand('EXEC');
      await waitFor(`${who}: EXEC held`, async () => byId(await call(ctl, 'CLIENT', 'LIST')).get(txId)?.get('flags')?.includes('b') === true);
    } finally {
      assert.is(await call(ctl, 'CLIENT', 'UNPAUSE'), 'OK');
    }
    assert.is((await tx.read(1))[0]!.text, '*1\r\n+OK\r\n', who);
  }
});

t('CLIENT PAUSE ALL holds every command, the pausing client\'s too, until it ends', async () => {
  const pauseMs = 1200;
  for (const [who, port] of servers()) {
    const ctl = await client(port);
    const reader = await client(port);
    await call(ctl, 'SET', 'pause:all', 'x');
    const t0 = Date.now();
    assert.is(await call(ctl, 'CLIENT', 'PAUSE', String(pauseMs), 'ALL'), 'OK');
    // Replies can only come once the pause is over: a lower bound, never a race.
    reader.sendCommand('GET', 'pause:all');
    ctl.sendCommand('PING');
    assert.is(txt((await reader.read(1, 10_000))[0]!), 'x', who);
    assert.ok(Date.now() - t0 >= pauseMs - 50, `${who}: GET answered during the pause (${Date.now() - t0} ms)`);
    assert.is(txt((await ctl.read(1, 10_000))[0]!), 'PONG', who);
  }
});

/** A monitor line without its timestamp and port: `[db] "arg" ...` ("lua" lines as they are). */
function normalise(line: string): string {
  const m = /^\+?(\d{10})\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$/.exec(line);
  if (m === null) return `UNPARSED ${line}`;
  return `[${m[3]}${m[4] === 'lua' ? ' lua' : ''}] ${m[5]}`;
}

async function monitorUntil(mon: RawClient, last: string): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) {
    const [r] = await mon.read(1);
    const line = normalise(txt(r!));
    lines.push(line);
    if (line.endsWith(last)) return lines;
  }
  throw new Error(`no ${last} in ${show(lines.join('\n'), 2000)}`);
}

t('MONITOR: the same lines as redis-server, secrets redacted, admin and refused commands left out', async () => {
  const lines: Record<string, string[]> = {};
  for (const [who, port] of servers()) {
    const mon = await client(port);
    const c = await client(port);
    assert.is(await call(mon, 'MONITOR'), 'OK');
    const scenario: Array<Array<string | Buffer>> = [
      ['SET', 'mon:k', Buffer.from([0x61, 0x20, 0x62, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x07, 0x08, 0x01, 0xff])],
      ['GET', 'mon:k'],
      ['AUTH', 'mon-secret-1'],
      ['AUTH', 'someone', 'mon-secret-2'],
      ['HELLO', '2', 'AUTH', 'default', 'mon-secret-3'],
      ['CONFIG', 'SET', 'requirepass', ''],
      ['CONFIG', 'GET', 'maxmemory'],
      ['MULTI'], ['SET', 'mon:a', '1'], ['INCR', 'mon:a'], ['CONFIG', 'GET', 'hz'], ['EXEC'],
      ['MULTI'], ['SET', 'mon:d', '1'], ['DISCARD'],
      ['MULTI'], ['SET', 'mon:e', '1'], ['GET'], ['EXEC'],
      ['SELECT', '3'], ['GET', 'mon:z'], ['SELECT', '0'],
      ['CLIENT', 'ID'], ['CLIENT', 'LIST'], ['CLIENT', 'SETNAME', 'monitored'],
      ['NOSUCHCOMMAND', 'x'], ['GET'],
      ['MGET', 'mon:k', 'mon:a', 'mon:other'],
      ['PING'],
      ['ECHO', 'done'],
    ];
    for (const cmd of scenario) await c.call(cmd);
    lines[who] = await monitorUntil(mon, '"ECHO" "done"');
    // The monitor's own command: its reply, then its line.
    const [pong, own] = await mon.call(['PING']).then(async (r) => [r, (await mon.read(1))[0]!]);
    assert.is(txt(pong!), 'PONG', who);
    lines[who].push(normalise(txt(own!)));
    const all = lines[who].join('\n');
    for (const secret of ['mon-secret-1', 'mon-secret-2', 'mon-secret-3']) assert.not.ok(all.includes(secret), `${who}: ${secret} shown`);
  }
  assert.equal(lines['tessera'], lines['redis']);
  assert.ok(lines['tessera']!.includes('[0] "AUTH" "(redacted)"'));
  assert.ok(lines['tessera']!.includes('[0] "HELLO" "2" "AUTH" "(redacted)" "(redacted)"'));
  assert.ok(lines['tessera']!.includes('[3] "SELECT" "3"'));
});

t('MONITOR in cluster mode leaves out a command answered -CLUSTERDOWN (it never ran), as redis-server', async () => {
  const args = ['--cluster-enabled', 'yes', '--cluster-require-full-coverage', 'no'];
  // Each in a folder of its own: redis-server writes nodes.conf where it runs.
  const dirs = [mkdtempSync(join(tmpdir(), 'tessera-mon-')), mkdtempSync(join(tmpdir(), 'redis-mon-'))];
  const pair = await Promise.all([startTessera({ shards: 2, args: [...args, '--dir', dirs[0]!] }), startRedis({ args: [...args, '--dir', dirs[1]!] })]);
  try {
    const lines: string[][] = [];
    for (const srv of [pair[1], pair[0]]) {
      const mon = await client(srv.port);
      const c = await client(srv.port);
      // Slots 0-8191 only: "b" (slot 3300) is served, "a" (slot 15495) is not.
      assert.is(await call(c, 'CLUSTER', 'ADDSLOTSRANGE', '0', '8191'), 'OK');
      await waitFor('the node to serve its slots', async () => (await call(c, 'SET', 'b', '1')) === 'OK', 10_000);
      assert.is(await call(mon, 'MONITOR'), 'OK');
      assert.is(await call(c, 'SET', 'b', '2'), 'OK');
      assert.match(await call(c, 'GET', 'a'), /^CLUSTERDOWN Hash slot not served/);
      await call(c, 'ECHO', 'done');
      lines.push(await monitorUntil(mon, '"ECHO" "done"'));
    }
    assert.equal(lines[1], lines[0]);
    assert.equal(lines[1], ['[0] "SET" "b" "2"', '[0] "ECHO" "done"']);
  } finally {
    await Promise.all(pair.map((h) => h.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

t('MONITOR in RESP3 streams simple strings; RESET ends it', async () => {
  for (const [who, port] of servers()) {
    const mon = await client(port);
    const c = await client(port);
    await mon.call(['HELLO', '3']);
    assert.is(await call(mon, 'MONITOR'), 'OK');
    await call(c, 'PING', 'resp3');
    const [line] = await mon.read(1);
    assert.is(line!.value.type, 'simple', `${who}: ${show(line!.raw)}`);
    assert.is(normalise(txt(line!)), '[0] "PING" "resp3"', who);
    assert.is(await call(mon, 'RESET'), 'RESET', who);
    const list = await call(c, 'CLIENT', 'LIST');
    assert.not.match(list, /flags=O/, `${who}: still a monitor after RESET`);
  }
});

t('a monitor cannot run keyspace commands, as a replica cannot (redis-server\'s reply)', async () => {
  const replies: string[] = [];
  for (const [, port] of servers()) {
    const mon = await client(port);
    assert.is(await call(mon, 'MONITOR'), 'OK');
    replies.push((await mon.call(['GET', 'x'])).text);
  }
  assert.is(replies[1], replies[0]);
  assert.is(replies[0], "-ERR Replica can't interact with the keyspace\r\n");
});

t('redis-cli monitor reads Tessera\'s stream', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const port = tessera!.port;
  const ctl = await client(port);
  // redis-cli 7.0 enters its monitor mode on the MONITOR command (it has no --monitor option).
  const cli = spawn('redis-cli', ['-p', String(port), 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
  cli.stderr.on('data', (b: Buffer) => (out += b.toString('latin1')));
  try {
    await waitFor('redis-cli monitor attached', async () => /flags=O/.test(await call(ctl, 'CLIENT', 'LIST')));
    await call(ctl, 'SET', 'cli:k', 'v w');
    await waitFor('the SET in redis-cli monitor', () => out.includes('"SET" "cli:k"'));
    const line = out.split('\n').find((l) => l.includes('"SET" "cli:k"'))!.trim();
    assert.match(line, /^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "cli:k" "v w"$/);
  } finally {
    if (cli.exitCode === null && cli.pid !== undefined) process.kill(cli.pid, 'SIGKILL');
  }
});

t('a monitor that never reads is disconnected at the output limit, and counted', async () => {
  const port = tessera!.port;
  const ctl = await client(port);
  assert.is(await call(ctl, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1mb 0 0'), 'OK');
  try {
    const mon = await client(port);
    assert.is(await call(mon, 'MONITOR'), 'OK');
    // Never read again: the kernel's buffers fill, then the server's output for it grows.
    mon.socket.pause();
    const writer = await client(port);
    const value = Buffer.alloc(64 * 1024, 0x61);
    const dropped = async (): Promise<boolean> => /monitor_output_disconnections:1\r\n/.test(await call(ctl, 'INFO', 'stats'));
    for (let batch = 0; batch < 400 && !(await dropped()); batch++) {
      for (let i = 0; i < 16; i++) writer.sendCommand('SET', `fill:${i}`, value);
      await writer.read(16, 10_000);
    }
    assert.ok(await dropped(), 'the monitor was not disconnected');
    assert.not.match(await call(ctl, 'CLIENT', 'LIST'), /flags=O/);
    assert.match(await call(ctl, 'PING'), /PONG/);
  } finally {
    await call(ctl, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
  }
});

s.run();
