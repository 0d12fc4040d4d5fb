// XREAD BLOCK and XREADGROUP BLOCK on a 3-shard server: immediate replies, errors and timeouts byte
// for byte against redis-server (RESP2 and RESP3), the reply after a wake likewise, then waits on
// keys of several shards, every XREAD waiter served by one XADD, consumers of a group getting
// distinct entries, CLIENT UNBLOCK, a destroyed group or deleted key, a crashed shard, MULTI, and
// real clients. No sleeping: a test waits for the server to report its clients blocked.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { rawClient, redisCli, requireTool, show, startRedis, startTessera, waitFor, withTimeout, type RawClient, type ServerHandle } from './harness.js';
import { keyOn as keyOnShard } from './shard-keys.js';

const SHARDS = 3;
const keyOn = (s: number, prefix: string): string => keyOnShard(s, SHARDS, prefix);
const T = 30_000;

const test = suite('stream blocking (XREAD / XREADGROUP BLOCK)');
let tessera: ServerHandle;
let redis: ServerHandle;

test.before(async () => {
  [tessera, redis] = await Promise.all([startTessera({ shards: SHARDS }), startRedis()]);
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

function untilBlocked(port: number, n: number): Promise<unknown> {
  return waitFor(`${n} blocked clients`, async () => (await blockedCount(port)) === n);
}

async function blockedClient(port: number, cmd: string[], proto: 2 | 3 = 2): Promise<{ c: RawClient; reply: Promise<string> }> {
  const c = await rawClient(port);
  if (proto === 3) await c.call(['HELLO', '3']);
  c.sendCommand(...cmd);
  const reply = c.read(1, T).then((r) => r[0]!.raw.toString('latin1'));
  reply.catch(() => undefined); // awaited by the test; a failure must not end the process first
  return { c, reply };
}

async function call(port: number, ...cmd: string[]): Promise<string> {
  const c = await rawClient(port);
  try {
    return (await c.call(cmd)).raw.toString('latin1');
  } finally {
    c.close();
  }
}

const A = keyOn(0, 'sa');
const B = keyOn(1, 'sb');
const C = keyOn(2, 'sc');

test('immediate replies, timeouts and errors match redis-server byte for byte (RESP2 and RESP3)', async () => {
  const script = [
    ['XADD', A, '1-1', 'f', 'v'],
    ['XADD', A, '2-1', 'f', 'w', 'g', 'x'],
    ['XREAD', 'BLOCK', '0', 'STREAMS', A, '0'],
    // Entries on two shards already: both keys in the reply, as Redis gives them.
    ['XADD', B, '1-5', 'b', 'v'],
    ['XREAD', 'BLOCK', '0', 'STREAMS', A, B, C, '0', '0', '$'],
    ['XREAD', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', C, B, A, '$', '0', '1-1'],
    ['XREAD', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', A, '1-1'],
    ['XREAD', 'BLOCK', '10', 'STREAMS', A, '$'],
    ['XREAD', 'BLOCK', '10', 'STREAMS', A, '2-1'],
    ['XREAD', 'BLOCK', '10', 'STREAMS', 'nokey', '0'],
    ['XREAD', 'BLOCK', '-1', 'STREAMS', A, '0'],
    ['XREAD', 'BLOCK', '1.5', 'STREAMS', A, '0'],
    ['XREAD', 'BLOCK', 'x', 'STREAMS', A, '0'],
    ['XREAD', 'BLOCK', '10', 'STREAMS', A, '>'],
    ['XREAD', 'BLOCK', '10', 'STREAMS', A, 'zz'],
    ['XREAD', 'BLOCK', '10', 'STREAMS', A, 'nokey', '0'],
    ['XREAD', 'BLOCK', '10', 'GROUP', 'g', 'c', 'STREAMS', A, '0'],
    ['XREAD', 'BLOCK', '10', 'NOACK', 'STREAMS', A, '0'],
    ['XREAD', 'BLOCK', '10', 'COUNT', 'x', 'STREAMS', A, '0'],
    ['XREAD', 'BLOCK', '10', 'FOO', 'STREAMS', A, '0'],
    ['SET', 'str', 'x'],
    ['XREAD', 'BLOCK', '10', 'STREAMS', 'str', '0'],
    ['XGROUP', 'CREATE', A, 'g', '0'],
    ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', A, '>'],
    ['XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '10', 'STREAMS', A, '0'],
    ['XREADGROUP', 'GROUP', 'g', 'c2', 'NOACK', 'BLOCK', '0', 'STREAMS', A, '>'],
    ['XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '10', 'STREAMS', A, '>'],
    ['XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '10', 'STREAMS', A, '$'],
    ['XREADGROUP', 'GROUP', 'nog', 'c2', 'BLOCK', '10', 'STREAMS', A, '>'],
    ['XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '10', 'STREAMS', 'nokey', '>'],
    ['XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '-5', 'STREAMS', A, '>'],
    ['XREADGROUP', 'BLOCK', '10', 'STREAMS', A, '>'],
    ['XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '10', 'STREAMS', A, 'x', '>'],
    ['XPENDING', A, 'g'],
    ['MULTI'],
    ['XREAD', 'BLOCK', '0', 'STREAMS', A, '$'],
    ['XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '0', 'STREAMS', A, '>'],
    ['EXEC'],
  ];
  for (const proto of [2, 3] as const) {
    const out: string[][] = [];
    for (const srv of [redis, tessera]) {
      const c = await rawClient(srv.port);
      try {
        await c.call(['FLUSHALL']);
        if (proto === 3) await c.call(['HELLO', '3']);
        const got: string[] = [];
        for (const cmd of script) got.push((await c.call(cmd, T)).raw.toString('latin1'));
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
});

test('the reply after a wake matches redis-server byte for byte (XREAD and XREADGROUP, RESP2 and RESP3)', async () => {
  for (const proto of [2, 3] as const) {
    const got: string[][] = [];
    for (const srv of [redis, tessera]) {
      const p = srv.port;
      await call(p, 'FLUSHALL');
      await call(p, 'XGROUP', 'CREATE', B, 'g', '$', 'MKSTREAM');
      const r1 = await blockedClient(p, ['XREAD', 'BLOCK', '0', 'STREAMS', A, B, '$', '$'], proto);
      await untilBlocked(p, 1);
      const r2 = await blockedClient(p, ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '5', 'BLOCK', '0', 'STREAMS', B, '>'], proto);
      await untilBlocked(p, 2);
      await call(p, 'XADD', B, '5-1', 'field', 'value', 'f2', 'v2');
      got.push([await withTimeout(r1.reply, T), await withTimeout(r2.reply, T), await call(p, 'XPENDING', B, 'g')]);
      r1.c.close();
      r2.c.close();
      await untilBlocked(p, 0);
      await call(p, 'FLUSHALL');
    }
    assert.equal(got[1], got[0], `RESP${proto}`);
  }
});

test('XREAD on keys of several shards: an XADD on any of them wakes it with that key', async () => {
  const p = tessera.port;
  await call(p, 'DEL', A, B, C);
  const w = await blockedClient(p, ['XREAD', 'BLOCK', '0', 'STREAMS', A, B, C, '$', '$', '$']);
  await untilBlocked(p, 1);
  await call(p, 'XADD', C, '7-7', 'k', 'v');
  assert.is(await withTimeout(w.reply, T), `*1\r\n*2\r\n$${C.length}\r\n${C}\r\n*1\r\n*2\r\n$3\r\n7-7\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n`);
  // $ is the last id when the wait began: an entry added before does not wake it.
  const w2 = await blockedClient(p, ['XREAD', 'BLOCK', '0', 'STREAMS', C, A, '$', '$']);
  await untilBlocked(p, 1);
  await call(p, 'XADD', A, '1-1', 'a', 'b');
  assert.ok((await withTimeout(w2.reply, T)).includes(`${A}\r\n*1\r\n*2\r\n$3\r\n1-1\r\n`));
  w.c.close();
  w2.c.close();
  await call(p, 'DEL', A, B, C);
});

test('one XADD serves every XREAD client blocked on the stream, in the order they blocked', async () => {
  const p = tessera.port;
  await call(p, 'DEL', B);
  const ws = [];
  for (let i = 0; i < 3; i++) {
    ws.push(await blockedClient(p, ['XREAD', 'BLOCK', '0', 'STREAMS', B, '$']));
    await untilBlocked(p, i + 1);
  }
  await call(p, 'XADD', B, '3-0', 'x', '1');
  for (const w of ws) assert.ok((await withTimeout(w.reply, T)).includes('$3\r\n3-0\r\n'));
  await untilBlocked(p, 0);
  assert.is(await call(p, 'XLEN', B), ':1\r\n');
  for (const w of ws) w.c.close();
  await call(p, 'DEL', B);
});

test('XREADGROUP >: each entry goes to one consumer; the others keep waiting', async () => {
  const p = tessera.port;
  await call(p, 'DEL', C);
  await call(p, 'XGROUP', 'CREATE', C, 'g', '$', 'MKSTREAM');
  const ws = [];
  for (let i = 0; i < 3; i++) {
    ws.push(await blockedClient(p, ['XREADGROUP', 'GROUP', 'g', `c${i}`, 'COUNT', '1', 'BLOCK', '0', 'STREAMS', C, '>']));
    await untilBlocked(p, i + 1);
  }
  await call(p, 'XADD', C, '1-0', 'n', '1');
  assert.ok((await withTimeout(ws[0]!.reply, T)).includes('$3\r\n1-0\r\n'));
  await untilBlocked(p, 2);
  await call(p, 'XADD', C, '2-0', 'n', '2');
  assert.ok((await withTimeout(ws[1]!.reply, T)).includes('$3\r\n2-0\r\n'));
  await untilBlocked(p, 1);
  const pending = await call(p, 'XPENDING', C, 'g', '-', '+', '10');
  assert.match(pending, /1-0\r\n\$2\r\nc0\r\n/);
  assert.match(pending, /2-0\r\n\$2\r\nc1\r\n/);
  // The group destroyed: the last waiter gets Redis's error.
  await call(p, 'XGROUP', 'DESTROY', C, 'g');
  assert.is(await withTimeout(ws[2]!.reply, T), '-NOGROUP the consumer group this client was blocked on no longer exists\r\n');
  // The key deleted: XREADGROUP waiters get an error; XREAD waiters keep waiting.
  await call(p, 'XGROUP', 'CREATE', C, 'g', '$');
  const rg = await blockedClient(p, ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', C, '>']);
  await untilBlocked(p, 1);
  const rd = await blockedClient(p, ['XREAD', 'BLOCK', '0', 'STREAMS', C, '$']);
  await untilBlocked(p, 2);
  await call(p, 'DEL', C);
  assert.is(await withTimeout(rg.reply, T), '-UNBLOCKED the stream key no longer exists\r\n');
  await untilBlocked(p, 1);
  await call(p, 'XADD', C, '9-9', 'a', 'b');
  assert.ok((await withTimeout(rd.reply, T)).includes('$3\r\n9-9\r\n'));
  // FLUSHALL too ends an XREADGROUP wait with that error.
  await call(p, 'XGROUP', 'CREATE', C, 'g', '$');
  const rf = await blockedClient(p, ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', C, '>']);
  await untilBlocked(p, 1);
  await call(p, 'FLUSHALL');
  assert.is(await withTimeout(rf.reply, T), '-UNBLOCKED the stream key no longer exists\r\n');
  for (const w of [...ws, rg, rd, rf]) w.c.close();
  await call(p, 'DEL', C);
});

test('timeouts reply the null array; BLOCK 0 waits for ever; CLIENT UNBLOCK TIMEOUT and ERROR', async () => {
  const p = tessera.port;
  const c = await rawClient(p);
  const t0 = performance.now();
  assert.is((await c.call(['XREAD', 'BLOCK', '150', 'STREAMS', A, B, '$', '$'], T)).raw.toString(), '*-1\r\n');
  assert.ok(performance.now() - t0 >= 140);
  await c.call(['HELLO', '3']);
  await c.call(['XGROUP', 'CREATE', B, 'g', '$', 'MKSTREAM']);
  assert.is((await c.call(['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '50', 'STREAMS', B, '>'], T)).raw.toString(), '_\r\n');
  const w = await blockedClient(p, ['XREAD', 'BLOCK', '0', 'STREAMS', A, '$']);
  await untilBlocked(p, 1);
  const list = (await c.call(['CLIENT', 'LIST'])).raw.toString();
  const line = list.split('\n').find((l) => l.includes('cmd=xread'));
  assert.ok(line !== undefined && / flags=b /.test(line), list);
  const id = /id=(\d+)/.exec(line!)![1]!;
  assert.is((await c.call(['CLIENT', 'UNBLOCK', id, 'TIMEOUT'])).raw.toString(), ':1\r\n');
  assert.is(await withTimeout(w.reply, T), '*-1\r\n');
  w.c.sendCommand('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', B, '>');
  const again = w.c.read(1, T);
  await untilBlocked(p, 1);
  assert.is((await c.call(['CLIENT', 'UNBLOCK', id, 'ERROR'])).raw.toString(), ':1\r\n');
  assert.is((await withTimeout(again, T))[0]!.raw.toString(), '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n');
  // Nothing was consumed for the unblocked consumer.
  await c.call(['XADD', B, '1-0', 'a', 'b']);
  assert.match((await c.call(['XPENDING', B, 'g'])).raw.toString(), /^\*4\r\n:0\r\n/);
  w.c.close();
  await c.call(['DEL', A, B]);
  c.close();
});

test('a crashed shard answers its blocked stream readers with an error', async () => {
  const p = tessera.port;
  const w = await blockedClient(p, ['XREAD', 'BLOCK', '0', 'STREAMS', B, '$']);
  await untilBlocked(p, 1);
  await call(p, 'DEBUG', 'SHARD-CRASH', '1');
  assert.match(await withTimeout(w.reply, T), /^-UNBLOCKED shard 1 /);
  await untilBlocked(p, 0);
  const c = await rawClient(p);
  await waitFor('shard 1 back', async () => (await c.call(['XLEN', B])).raw[0] === 58);
  w.c.close();
  c.close();
});

test('real clients: ioredis, node-redis and redis-cli block and are woken', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const p = tessera.port;
  await call(p, 'DEL', A, B, C);
  await call(p, 'XGROUP', 'CREATE', B, 'grp', '$', 'MKSTREAM');
  const io = new Redis({ port: p, lazyConnect: true, maxRetriesPerRequest: 0 });
  await io.connect();
  const nr = createClient({ socket: { port: p } });
  nr.on('error', () => undefined);
  await nr.connect();
  const producer = new Redis({ port: p });
  try {
    const a = io.xread('BLOCK', 0, 'STREAMS', A, '$');
    const b = nr.xReadGroup('grp', 'worker', { key: B, id: '>' }, { BLOCK: 0, COUNT: 1 });
    const cli = redisCli(['-p', String(p), 'XREAD', 'BLOCK', '0', 'STREAMS', C, '$'], { timeoutMs: T });
    await untilBlocked(p, 3);
    await producer.xadd(A, '1-1', 'who', 'io');
    await producer.xadd(B, '1-2', 'who', 'nr');
    await producer.xadd(C, '1-3', 'who', 'cli');
    assert.equal(await withTimeout(a, T), [[A, [['1-1', ['who', 'io']]]]]);
    // node-redis builds its messages with a null prototype: compared as JSON.
    assert.is(JSON.stringify(await withTimeout(b, T)), JSON.stringify([{ name: B, messages: [{ id: '1-2', message: { who: 'nr' } }] }]));
    assert.is((await withTimeout(cli, T)).stdout.trim().split('\n').join(','), `${C},1-3,who,cli`);
  } finally {
    io.disconnect();
    await nr.quit().catch(() => undefined);
    producer.disconnect();
  }
  await call(p, 'DEL', A, B, C);
});

test.run();
