// Real client libraries against a Tessera process with four shards: ioredis and node-redis (v4)
// doing what applications do — options, pipelines, multi-key commands whose keys live on
// different shards, SCAN over thousands of keys (each key exactly once), binary-safe values and
// a 5 MB value.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { expectReject, startTarget, withTimeout, type ServerHandle } from './harness.js';

const TEST_TIMEOUT_MS = 30_000;
const SCAN_KEYS = 2000;

let server: ServerHandle | undefined;
let io: Redis | undefined;
let nr: ReturnType<typeof createClient> | undefined;

function ioredis(): Redis {
  if (io === undefined) throw new Error('ioredis not connected');
  return io;
}
function nodeRedis(): ReturnType<typeof createClient> {
  if (nr === undefined) throw new Error('node-redis not connected');
  return nr;
}

const clients = suite('clients: ioredis and node-redis');

clients.before(async () => {
  server = await startTarget({ shards: 4 });
  io = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  await withTimeout(io.connect(), 10_000, 'ioredis connect');
  nr = createClient({ socket: { port: server.port, host: '127.0.0.1', connectTimeout: 5_000, reconnectStrategy: false } });
  nr.on('error', () => {
    // surfaced by the failing command
  });
  await withTimeout(nr.connect(), 10_000, 'node-redis connect');
});

clients.after(async () => {
  io?.disconnect();
  await nr?.disconnect().catch(() => undefined);
  await server?.stop();
});

function t(name: string, fn: () => Promise<void>): void {
  clients(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

t('ioredis: SET with options, GET, TTL', async () => {
  const r = ioredis();
  await r.flushall();
  assert.is(await r.set('io:a', 'hello'), 'OK');
  assert.is(await r.get('io:a'), 'hello');
  assert.is(await r.set('io:a', 'x', 'NX'), null);
  assert.is(await r.set('io:b', 'y', 'EX', 100, 'NX'), 'OK');
  const ttl = await r.ttl('io:b');
  assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
  assert.is(await r.set('io:b', 'z', 'KEEPTTL', 'GET'), 'y');
  assert.ok((await r.pttl('io:b')) > 98_000);
  assert.is(await r.set('io:missing', 'v', 'XX'), null);
  assert.is(await r.get('io:missing'), null);
  assert.is(await r.getdel('io:a'), 'hello');
  assert.is(await r.exists('io:a'), 0);
  await expectReject(r.set('io:a', 'v', 'EX', 0), /invalid expire time in 'set' command/);
});

t('ioredis: INCR family, EXPIRE, PERSIST, TYPE', async () => {
  const r = ioredis();
  assert.is(await r.incr('io:n'), 1);
  assert.is(await r.incrby('io:n', 41), 42);
  assert.is(await r.decr('io:n'), 41);
  assert.is(await r.decrby('io:n', 1), 40);
  assert.is(await r.incrbyfloat('io:n', '0.5'), '40.5');
  await expectReject(r.incr('io:n'), /not an integer or out of range/);
  assert.is(await r.expire('io:n', 100), 1);
  assert.ok((await r.ttl('io:n')) > 0);
  assert.is(await r.persist('io:n'), 1);
  assert.is(await r.ttl('io:n'), -1);
  assert.is(await r.type('io:n'), 'string');
  assert.is(await r.type('io:nothing'), 'none');
});

t('ioredis: a pipeline of 1000 commands, replies in order', async () => {
  const r = ioredis();
  const p = r.pipeline();
  for (let i = 0; i < 500; i++) {
    p.set(`io:p:${i}`, String(i));
    p.incrby(`io:pc:${i % 7}`, i);
  }
  const res = await p.exec();
  assert.ok(res !== null);
  assert.is(res.length, 1000);
  const expected = new Map<number, number>();
  res.forEach(([err, v]: [Error | null, unknown], idx: number) => {
    assert.is(err, null, `command ${idx} failed: ${String(err)}`);
    if (idx % 2 === 0) assert.is(v, 'OK');
    else {
      const i = (idx - 1) / 2;
      const sum = (expected.get(i % 7) ?? 0) + i;
      expected.set(i % 7, sum);
      assert.is(v, sum, `running total of io:pc:${i % 7} at ${i}`);
    }
  });
  const gets = r.pipeline();
  for (let i = 0; i < 500; i++) gets.get(`io:p:${i}`);
  const got = await gets.exec();
  assert.equal(got?.map(([, v]: [Error | null, unknown]) => v), Array.from({ length: 500 }, (_, i) => String(i)));
});

t('ioredis: MSET, MGET, MSETNX, DEL, EXISTS with keys on every shard', async () => {
  const r = ioredis();
  const keys = Array.from({ length: 200 }, (_, i) => `io:m:${i}`);
  const pairs = keys.flatMap((k, i) => [k, `v${i}`]);
  assert.is(await r.mset(...pairs), 'OK');
  assert.equal(await r.mget(...keys, 'io:m:absent'), [...keys.map((_, i) => `v${i}`), null]);
  assert.is(await r.exists(...keys, ...keys), 400);
  assert.is(await r.msetnx('io:m:new1', 'a', 'io:m:0', 'b'), 0);
  assert.is(await r.exists('io:m:new1'), 0, 'MSETNX is all or nothing');
  assert.is(await r.get('io:m:0'), 'v0');
  assert.is(await r.msetnx('io:m:new1', 'a', 'io:m:new2', 'b', 'io:m:new3', 'c'), 1);
  assert.equal(await r.mget('io:m:new1', 'io:m:new2', 'io:m:new3'), ['a', 'b', 'c']);
  assert.is(await r.del(...keys, 'io:m:absent'), 200);
  assert.is(await r.exists(...keys), 0);
  assert.is(await r.unlink('io:m:new1', 'io:m:new2', 'io:m:new3'), 3);
});

t('ioredis: RENAME and COPY across shards keep value and TTL', async () => {
  const r = ioredis();
  // Many sources and destinations, so some pairs surely sit on different shards.
  for (let i = 0; i < 40; i++) {
    await r.set(`io:src:${i}`, `val${i}`, 'PX', 500_000);
    assert.is(await r.rename(`io:src:${i}`, `io:dst:${i}`), 'OK');
    assert.is(await r.get(`io:dst:${i}`), `val${i}`);
    assert.is(await r.exists(`io:src:${i}`), 0);
    assert.ok((await r.pttl(`io:dst:${i}`)) > 400_000, 'TTL moved with the key');
    assert.is(await r.copy(`io:dst:${i}`, `io:cp:${i}`), 1);
    assert.is(await r.get(`io:cp:${i}`), `val${i}`);
    assert.ok((await r.pttl(`io:cp:${i}`)) > 400_000, 'TTL copied');
    assert.is(await r.renamenx(`io:cp:${i}`, `io:dst:${i}`), 0);
  }
});

t('ioredis: scanStream visits 2000 keys exactly once; KEYS agrees', async () => {
  const r = ioredis();
  await r.flushall();
  const p = r.pipeline();
  for (let i = 0; i < SCAN_KEYS; i++) p.set(`scan:${i}`, 'x');
  for (let i = 0; i < 50; i++) p.set(`other:${i}`, 'x');
  await p.exec();
  assert.is(await r.dbsize(), SCAN_KEYS + 50);
  const seen = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    const stream = r.scanStream({ match: 'scan:*', count: 100 });
    stream.on('data', (batch: string[]) => {
      for (const k of batch) seen.set(k, (seen.get(k) ?? 0) + 1);
    });
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const dupes = [...seen].filter(([, n]) => n > 1);
  assert.equal(dupes, [], 'no key returned twice');
  assert.is(seen.size, SCAN_KEYS);
  for (let i = 0; i < SCAN_KEYS; i++) assert.ok(seen.has(`scan:${i}`), `scan:${i} seen`);
  const keys = await r.keys('scan:*');
  assert.is(keys.length, SCAN_KEYS);
  assert.equal(new Set(keys), new Set(seen.keys()));
  const others = await r.keys('other:*');
  assert.is(others.length, 50);
});

t('ioredis: binary-safe keys and values with \\r\\n and \\0', async () => {
  const r = ioredis();
  const key = Buffer.from('bin:\r\n\0key');
  const value = Buffer.from([0, 13, 10, 0, 255, 254, 36, 42, 13, 10, 0]);
  assert.is(await r.set(key, value), 'OK');
  const got = await r.getBuffer(key);
  assert.ok(got !== null && got.equals(value), `got ${got?.toString('hex')}`);
  assert.is(await r.strlen(key), value.length);
  assert.is(await r.append(key, Buffer.from('\0\r\n')), value.length + 3);
  const all = await r.getrangeBuffer(key, 0, -1);
  assert.ok(all.equals(Buffer.concat([value, Buffer.from('\0\r\n')])));
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await r.set('bin:all-bytes', every);
  assert.ok((await r.getBuffer('bin:all-bytes'))?.equals(every));
});

t('ioredis: a 5 MB value round-trips intact', async () => {
  const r = ioredis();
  const big = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  assert.is(await r.set('big', big), 'OK');
  assert.is(await r.strlen('big'), big.length);
  const got = await r.getBuffer('big');
  assert.ok(got !== null && got.length === big.length, `length ${got?.length}`);
  assert.ok(got.equals(big), '5 MB value intact');
  assert.equal(await r.getrangeBuffer('big', 1_000_000, 1_000_009), big.subarray(1_000_000, 1_000_010));
  assert.is(await r.del('big'), 1);
});

t('node-redis: SET options, GET, INCR, EXPIRE, TTL', async () => {
  const c = nodeRedis();
  assert.is(await c.set('nr:a', 'hello'), 'OK');
  assert.is(await c.get('nr:a'), 'hello');
  assert.is(await c.set('nr:a', 'x', { NX: true }), null);
  assert.is(await c.set('nr:b', 'y', { EX: 100, NX: true }), 'OK');
  const ttl = await c.ttl('nr:b');
  assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
  assert.is(await c.set('nr:b', 'z', { KEEPTTL: true, GET: true }), 'y');
  assert.is(await c.set('nr:c', 'v', { PXAT: Date.now() + 100_000 }), 'OK');
  assert.ok((await c.pTTL('nr:c')) > 90_000);
  assert.is(await c.incr('nr:n'), 1);
  assert.is(await c.incrBy('nr:n', 9), 10);
  assert.is(await c.incrByFloat('nr:n', 0.5), '10.5');
  assert.is(await c.getEx('nr:a', { EX: 50 }), 'hello');
  assert.ok((await c.ttl('nr:a')) > 0);
  assert.is(await c.getEx('nr:a', { PERSIST: true }), 'hello');
  assert.is(await c.ttl('nr:a'), -1);
  assert.is(await c.expire('nr:a', 100), true);
  assert.is(await c.persist('nr:a'), true);
  await expectReject(c.incr('nr:a'), /not an integer or out of range/);
  assert.is(await c.getDel('nr:a'), 'hello');
  assert.is(await c.get('nr:a'), null);
});

t('node-redis: concurrent commands are pipelined and answered in order', async () => {
  const c = nodeRedis();
  const n = 2000;
  const sets = await Promise.all(Array.from({ length: n }, (_, i) => c.set(`nr:p:${i}`, `v${i}`)));
  assert.ok(sets.every((x) => x === 'OK'));
  const gets = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`nr:p:${i}`)));
  assert.equal(gets, Array.from({ length: n }, (_, i) => `v${i}`));
  const pipe = c.multi();
  for (let i = 0; i < 100; i++) pipe.incr('nr:pipe:counter');
  const replies = await pipe.execAsPipeline();
  assert.equal(replies, Array.from({ length: 100 }, (_, i) => i + 1));
});

t('node-redis: MSET/MGET across shards, DEL of many keys', async () => {
  const c = nodeRedis();
  const entries: Array<[string, string]> = Array.from({ length: 300 }, (_, i) => [`nr:m:{${i}}`, `v${i}`]);
  assert.is(await c.mSet(entries), 'OK');
  const got = await c.mGet([...entries.map(([k]) => k), 'nr:m:absent']);
  assert.equal(got, [...entries.map(([, v]) => v), null]);
  assert.is(await c.mSetNX([['nr:m:{0}', 'no'], ['nr:m:fresh', 'no']]), false);
  assert.is(await c.exists('nr:m:fresh'), 0);
  assert.is(await c.exists(entries.map(([k]) => k)), 300);
  assert.is(await c.del(entries.map(([k]) => k)), 300);
  assert.is(await c.exists(entries.map(([k]) => k)), 0);
});

t('node-redis: scanIterator visits 2000 keys exactly once', async () => {
  const c = nodeRedis();
  await c.flushAll();
  const values = Array.from({ length: SCAN_KEYS }, (_, i): [string, string] => [`it:${i}`, 'x']);
  await c.mSet(values);
  await c.set('not-it', 'x');
  const seen = new Map<string, number>();
  for await (const key of c.scanIterator({ MATCH: 'it:*', COUNT: 50 })) {
    // v4 yields one key at a time; later versions yield batches.
    for (const k of Array.isArray(key) ? (key as string[]) : [key]) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  assert.equal([...seen].filter(([, n]) => n > 1), [], 'no key returned twice');
  assert.is(seen.size, SCAN_KEYS);
  assert.is(await c.dbSize(), SCAN_KEYS + 1);
  const all = new Set<string>();
  for await (const key of c.scanIterator()) all.add(key);
  assert.is(all.size, SCAN_KEYS + 1, 'SCAN without MATCH sees every key');
  assert.ok(all.has('not-it'));
  const keys = await c.keys('it:1??');
  assert.is(keys.length, 100);
});

t('node-redis: binary values and a 5 MB value', async () => {
  const c = nodeRedis();
  const value = Buffer.from('a\r\nb\0c\r\n\0', 'latin1');
  await c.set('nr:bin', value);
  const got = await c.get(c.commandOptions({ returnBuffers: true }), 'nr:bin');
  assert.ok(got !== null && Buffer.from(got).equals(value));
  const big = Buffer.alloc(5 * 1024 * 1024, 'abcdefghij');
  await c.set('nr:big', big);
  const back = await c.get(c.commandOptions({ returnBuffers: true }), 'nr:big');
  assert.ok(back !== null && Buffer.from(back).equals(big), '5 MB value intact');
  assert.is(await c.strLen('nr:big'), big.length);
});

t('both clients see the same data', async () => {
  const r = ioredis();
  const c = nodeRedis();
  await r.set('shared:key', 'from-ioredis');
  assert.is(await c.get('shared:key'), 'from-ioredis');
  await c.set('shared:key', 'from-node-redis');
  assert.is(await r.get('shared:key'), 'from-node-redis');
  assert.is(await r.dbsize(), await c.dbSize());
});

clients.run();
