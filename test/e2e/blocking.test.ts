// Blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP) on a 3-shard
// server: reply formats and errors byte for byte against redis-server (RESP2 and RESP3), then the
// ways clients wait and are woken: a push on any shard of a multi-key wait, first-blocked first
// served, timeouts, CLIENT UNBLOCK, CLIENT LIST / INFO, disconnects, chained moves, a crashed
// shard, and real clients. No sleeping: a test waits for the server to report a client blocked.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { rawClient, redisCli, requireTool, show, startRedis, startTessera, waitFor, withTimeout, type RawClient, type ServerHandle } from './harness.js';
import { keyOn as keyOnShard } from './shard-keys.js';

const SHARDS = 3;
const keyOn = (s: number, prefix: string): string => keyOnShard(s, SHARDS, prefix);
const T = 60_000;
// BLOCKING_SHARD_THREADS=no runs every scenario with the shards on the main thread
// (test/e2e/blocking-inline.test.ts sets it); BLOCKING_JOBS sizes the producer/consumer run.
const INLINE = process.env['BLOCKING_SHARD_THREADS'] === 'no';

const test = suite(INLINE ? 'blocking commands (--shard-threads no)' : 'blocking commands');
let tessera: ServerHandle;
let redis: ServerHandle;

test.before(async () => {
  [tessera, redis] = await Promise.all([startTessera({ shards: SHARDS, args: INLINE ? ['--shard-threads', 'no'] : [] }), startRedis()]);
});
test.after(async () => {
  await Promise.all([tessera?.stop(), redis?.stop()]);
});

async function blockedCount(port: number): Promise<number> {
  const c = await rawClient(port);
  try {
    const r = await c.call(['INFO', 'clients']);
    const m = /blocked_clients:(\d+)/.exec(r.raw.toString());
    return m ? Number(m[1]) : -1;
  } finally {
    c.close();
  }
}

/** Waits until the server reports n clients blocked. */
function untilBlocked(port: number, n: number): Promise<unknown> {
  return waitFor(`${n} blocked clients`, async () => (await blockedCount(port)) === n);
}

/** Runs the same script on both servers (fresh connections, keys flushed) and compares replies. */
async function same(script: string[][], proto: 2 | 3 = 2): Promise<void> {
  const out: string[][] = [];
  for (const srv of [redis, tessera]) {
    const c = await rawClient(srv.port);
    try {
      await c.call(['FLUSHALL']);
      if (proto === 3) await c.call(['HELLO', '3']);
      const got: string[] = [];
      for (const cmd of script) got.push((await c.call(cmd)).raw.toString('latin1'));
      out.push(got);
      await c.call(['FLUSHALL']);
    } finally {
      c.close();
    }
  }
  for (let i = 0; i < script.length; i++) {
    assert.is(out[1]![i], out[0]![i], `RESP${proto} ${script[i]!.join(' ')}: tessera ${show(out[1]![i]!)} redis ${show(out[0]![i]!)}`);
  }
}

const A = keyOn(0, 'a');
const B = keyOn(1, 'b');
const Cz = keyOn(2, 'c');

test('immediate replies, timeouts and errors match redis-server byte for byte', async () => {
  const script = [
    ['RPUSH', A, 'x', 'y', 'z'],
    ['BLPOP', B, A, '0'],
    ['BRPOP', A, '0.5'],
    ['BLPOP', B, '0.01'],
    ['BRPOP', B, '0.01'],
    ['RPUSH', B, '1', '2', '3', '4'],
    ['BLMPOP', '1', '2', A, B, 'LEFT', 'COUNT', '3'],
    ['BLMPOP', '0', '1', B, 'RIGHT', 'COUNT', '10'],
    ['BLMPOP', '0.01', '1', A, 'LEFT'],
    ['RPUSH', A, 'p', 'q'],
    ['BLMOVE', A, Cz, 'LEFT', 'RIGHT', '0'],
    ['BRPOPLPUSH', A, Cz, '0'],
    ['BLMOVE', A, Cz, 'LEFT', 'RIGHT', '0.01'],
    ['LRANGE', Cz, '0', '-1'],
    ['ZADD', 'z1', '1', 'a', '2.5', 'b', '-3', 'c', '1e300', 'd'],
    ['BZPOPMIN', 'nokey', 'z1', '0'],
    ['BZPOPMAX', 'z1', '0'],
    ['BZMPOP', '0', '1', 'z1', 'MIN', 'COUNT', '5'],
    ['BZPOPMIN', 'z1', '0.01'],
    ['BZMPOP', '0.01', '2', 'z1', 'z2', 'MAX'],
    ['SET', 'str', 'v'],
    ['BLPOP', 'str', '0'],
    ['BLPOP', 'nokey', 'str', '0'],
    ['BZPOPMIN', 'str', '0'],
    ['BLMOVE', 'str', Cz, 'LEFT', 'LEFT', '0'],
    ['RPUSH', 'l2', 'e'],
    ['BLMOVE', 'l2', 'str', 'LEFT', 'LEFT', '0'],
    ['BLPOP', A, 'abc'],
    ['BLPOP', A, '-1'],
    ['BLPOP', A, '1e'],
    ['BLMOVE', A, Cz, 'UP', 'LEFT', '0'],
    ['BLMPOP', '0', '0', A, 'LEFT'],
    ['BLMPOP', '0', 'x', A, 'LEFT'],
    ['BLMPOP', '0', '3', A, 'LEFT'],
    ['BLMPOP', '0', '1', A, 'UP'],
    ['BLMPOP', '0', '1', A, 'LEFT', 'COUNT', '0'],
    ['BLMPOP', '0', '1', A, 'LEFT', 'COUNT'],
    ['BLMPOP', 'x', '1', A, 'LEFT'],
    ['BZMPOP', '0', '1', 'z1', 'LEFT'],
    ['BLPOP', A],
    ['BZPOPMIN', 'z1'],
  ];
  await same(script, 2);
  await same(script, 3);
});

async function blockedClient(port: number, cmd: string[]): Promise<{ c: RawClient; reply: Promise<string> }> {
  const c = await rawClient(port);
  c.sendCommand(...cmd);
  const reply = c.read(1, 30_000).then((r) => r[0]!.raw.toString('latin1'));
  reply.catch(() => undefined); // awaited by the test; a failure must not end the process first
  return { c, reply };
}

test('a push to any of the keys, on any shard, wakes the client', async () => {
  const p = tessera.port;
  const w = await blockedClient(p, ['BLPOP', A, B, Cz, '0']);
  await untilBlocked(p, 1);
  const c = await rawClient(p);
  await c.call(['LPUSH', Cz, 'hello']);
  assert.is(await withTimeout(w.reply, T), `*2\r\n$${Cz.length}\r\n${Cz}\r\n$5\r\nhello\r\n`);
  assert.is((await c.call(['EXISTS', Cz])).raw.toString(), ':0\r\n');
  await untilBlocked(p, 0);
  w.c.close();
  c.close();
});

test('clients are served in the order they blocked, one element each', async () => {
  const p = tessera.port;
  const ws = [];
  for (let i = 0; i < 4; i++) {
    // Each on a different mix of keys, all including B.
    const keys = i % 2 === 0 ? [A, B] : [B, Cz];
    ws.push(await blockedClient(p, ['BLPOP', ...keys, '0']));
    await untilBlocked(p, i + 1);
  }
  const c = await rawClient(p);
  await c.call(['RPUSH', B, 'e0', 'e1', 'e2']);
  for (let i = 0; i < 3; i++) assert.ok((await withTimeout(ws[i]!.reply, T)).endsWith(`$2\r\ne${i}\r\n`), `client ${i}`);
  await untilBlocked(p, 1);
  // The fourth is still blocked; a push on its other key (another shard) serves it.
  await c.call(['RPUSH', Cz, 'last']);
  assert.ok((await withTimeout(ws[3]!.reply, T)).endsWith('$4\r\nlast\r\n'));
  for (const w of ws) w.c.close();
  c.close();
});

test('timeouts: a double in seconds; 0 waits for ever', async () => {
  const p = tessera.port;
  const c = await rawClient(p);
  const t0 = performance.now();
  const r = await c.call(['BLPOP', A, B, '0.2'], 10_000);
  const ms = performance.now() - t0;
  assert.is(r.raw.toString(), '*-1\r\n');
  assert.ok(ms >= 190, `returned after ${ms} ms`);
  await c.call(['HELLO', '3']);
  assert.is((await c.call(['BLMOVE', A, B, 'LEFT', 'LEFT', '0.05'], 10_000)).raw.toString(), '_\r\n');
  await c.call(['HELLO', '2']);
  assert.is((await c.call(['BRPOPLPUSH', A, B, '0.05'], 10_000)).raw.toString(), '*-1\r\n');
  c.close();
});

test('CLIENT UNBLOCK, CLIENT LIST and INFO show and end a wait', async () => {
  const p = tessera.port;
  const w = await blockedClient(p, ['BRPOP', A, '0']);
  await untilBlocked(p, 1);
  const c = await rawClient(p);
  const list = (await c.call(['CLIENT', 'LIST'])).raw.toString();
  const line = list.split('\n').find((l) => l.includes('cmd=brpop'));
  assert.ok(line !== undefined && / flags=b /.test(line), list);
  const id = /id=(\d+)/.exec(line!)![1]!;
  assert.is((await c.call(['CLIENT', 'UNBLOCK', id])).raw.toString(), ':1\r\n');
  assert.is(await withTimeout(w.reply, T), '*-1\r\n');
  assert.is((await c.call(['CLIENT', 'UNBLOCK', id])).raw.toString(), ':0\r\n');
  w.c.sendCommand('BLPOP', A, '0');
  const again = w.c.read(1, 30_000);
  await untilBlocked(p, 1);
  assert.is((await c.call(['CLIENT', 'UNBLOCK', id, 'ERROR'])).raw.toString(), ':1\r\n');
  assert.is((await withTimeout(again, T))[0]!.raw.toString(), '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n');
  assert.is((await c.call(['CLIENT', 'UNBLOCK', id, 'MAYBE'])).raw.toString(), '-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n');
  w.c.close();
  c.close();
});

test('a client that disconnects while blocked frees its place at once', async () => {
  const p = tessera.port;
  const gone = await blockedClient(p, ['BLPOP', A, '0']);
  gone.reply.catch(() => undefined);
  await untilBlocked(p, 1);
  const stays = await blockedClient(p, ['BLPOP', A, '0']);
  await untilBlocked(p, 2);
  gone.c.close();
  await untilBlocked(p, 1);
  const c = await rawClient(p);
  await c.call(['RPUSH', A, 'only']);
  assert.ok((await withTimeout(stays.reply, T)).endsWith('$4\r\nonly\r\n'));
  // Nobody else took anything: the gone client got nothing.
  assert.is((await c.call(['EXISTS', A])).raw.toString(), ':0\r\n');
  stays.c.close();
  c.close();
});

test('BLMOVE wakes and moves (same shard and across shards); a chained waiter on the destination is served too', async () => {
  const p = tessera.port;
  const src = keyOn(0, 'src');
  const dstHere = keyOn(0, 'dsth');
  const dstThere = keyOn(2, 'dstt');
  const m1 = await blockedClient(p, ['BLMOVE', src, dstHere, 'RIGHT', 'LEFT', '0']);
  await untilBlocked(p, 1);
  const chained = await blockedClient(p, ['BLPOP', dstHere, '0']);
  await untilBlocked(p, 2);
  const c = await rawClient(p);
  await c.call(['RPUSH', src, 'j1']);
  assert.is(await withTimeout(m1.reply, T), '$2\r\nj1\r\n');
  assert.is(await withTimeout(chained.reply, T), `*2\r\n$${dstHere.length}\r\n${dstHere}\r\n$2\r\nj1\r\n`);
  const m2 = await blockedClient(p, ['BRPOPLPUSH', src, dstThere, '0']);
  await untilBlocked(p, 1);
  await c.call(['RPUSH', src, 'j2']);
  assert.is(await withTimeout(m2.reply, T), '$2\r\nj2\r\n');
  assert.is((await c.call(['LRANGE', dstThere, '0', '-1'])).raw.toString(), '*1\r\n$2\r\nj2\r\n');
  assert.is((await c.call(['EXISTS', src])).raw.toString(), ':0\r\n');
  for (const x of [m1, chained, m2]) x.c.close();
  await c.call(['DEL', dstThere]);
  c.close();
});

test('BZPOPMIN, BZPOPMAX and BZMPOP wake on ZADD; a list waiter is not served by a zset', async () => {
  const p = tessera.port;
  const z = keyOn(1, 'zz');
  const listWaiter = await blockedClient(p, ['BLPOP', z, '0']);
  await untilBlocked(p, 1);
  const zmin = await blockedClient(p, ['BZPOPMIN', z, '0']);
  await untilBlocked(p, 2);
  const zm = await blockedClient(p, ['BZMPOP', '0', '1', z, 'MAX', 'COUNT', '2']);
  await untilBlocked(p, 3);
  const c = await rawClient(p);
  await c.call(['ZADD', z, '1', 'one', '2', 'two', '3', 'three', '4', 'four']);
  assert.is(await withTimeout(zmin.reply, T), `*3\r\n$${z.length}\r\n${z}\r\n$3\r\none\r\n$1\r\n1\r\n`);
  assert.is(await withTimeout(zm.reply, T), `*2\r\n$${z.length}\r\n${z}\r\n*2\r\n*2\r\n$4\r\nfour\r\n$1\r\n4\r\n*2\r\n$5\r\nthree\r\n$1\r\n3\r\n`);
  await untilBlocked(p, 1);
  assert.is((await c.call(['ZRANGE', z, '0', '-1'])).raw.toString(), '*1\r\n$3\r\ntwo\r\n');
  await c.call(['DEL', z]);
  await c.call(['RPUSH', z, 'l']);
  assert.ok((await withTimeout(listWaiter.reply, T)).endsWith('$1\r\nl\r\n'));
  for (const x of [listWaiter, zmin, zm]) x.c.close();
  c.close();
});

test('a crashed shard answers its blocked clients with an error', async () => {
  const p = tessera.port;
  const w = await blockedClient(p, ['BLPOP', B, '0']);
  await untilBlocked(p, 1);
  const c = await rawClient(p);
  await c.call(['DEBUG', 'SHARD-CRASH', '1']);
  assert.match(await withTimeout(w.reply, T), /^-UNBLOCKED shard 1 /);
  await untilBlocked(p, 0);
  // The restarted shard serves new waits.
  const w2 = await blockedClient(p, ['BLPOP', B, '0']);
  await untilBlocked(p, 1);
  await waitFor('shard 1 back', async () => (await c.call(['RPUSH', B, 'after'])).raw[0] === 58);
  assert.ok((await withTimeout(w2.reply, T)).endsWith('$5\r\nafter\r\n'));
  w.c.close();
  w2.c.close();
  c.close();
});

test('real clients: ioredis, node-redis and redis-cli block and are woken', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const p = tessera.port;
  const io = new Redis({ port: p, lazyConnect: true, maxRetriesPerRequest: 0 });
  await io.connect();
  const nr = createClient({ socket: { port: p } });
  nr.on('error', () => undefined);
  await nr.connect();
  const pusher = new Redis({ port: p });
  try {
    const a = io.blpop(A, 0);
    const b = nr.brPop(B, 0);
    const cli = redisCli(['-p', String(p), 'BZPOPMIN', Cz, '0'], { timeoutMs: T });
    await untilBlocked(p, 3);
    await pusher.rpush(A, 'io');
    await pusher.rpush(B, 'nr');
    await pusher.zadd(Cz, 5, 'cli');
    assert.equal(await withTimeout(a, T), [A, 'io']);
    assert.equal(await withTimeout(b, T), { key: B, element: 'nr' });
    assert.is((await withTimeout(cli, T)).stdout.trim().split('\n').join(','), `${Cz},cli,5`);
  } finally {
    io.disconnect();
    await nr.quit().catch(() => undefined);
    pusher.disconnect();
  }
});

test('producer/consumer through BLMOVE across shards: no job lost or delivered twice', async () => {
  const p = tessera.port;
  const jobs = Number(process.env.BLOCKING_JOBS ?? 20_000);
  const queue = keyOn(0, 'queue');
  const consumers = 4;
  const seen = new Uint8Array(jobs);
  const dups: number[] = [];
  const done: string[] = [keyOn(1, 'done'), keyOn(2, 'done'), keyOn(0, 'done'), keyOn(1, 'done2')];
  const workers = done.slice(0, consumers).map(async (d) => {
    const c = new Redis({ port: p });
    try {
      for (;;) {
        const v = await c.blmove(queue, d, 'LEFT', 'RIGHT', 5);
        if (v === null) return;
        if (v === 'stop') return;
        const n = Number(v);
        if (seen[n]) dups.push(n);
        seen[n] = 1;
      }
    } finally {
      c.disconnect();
    }
  });
  const prod = new Redis({ port: p });
  for (let i = 0; i < jobs; i += 500) {
    const batch: string[] = [];
    for (let j = i; j < Math.min(jobs, i + 500); j++) batch.push(String(j));
    await prod.rpush(queue, ...batch);
  }
  await prod.rpush(queue, ...Array(consumers).fill('stop'));
  await withTimeout(Promise.all(workers), Math.max(300_000, jobs * 2), 'consumers');
  let moved = 0;
  for (const d of done) moved += await prod.llen(d);
  assert.is(dups.length, 0, `duplicates: ${dups.slice(0, 5)}`);
  assert.is(seen.reduce((s, x) => s + x, 0), jobs);
  assert.is(moved, jobs + consumers);
  await prod.del(...done);
  prod.disconnect();
});

test.run();
