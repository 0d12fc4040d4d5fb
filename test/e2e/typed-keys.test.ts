// The commands that touch any key, on hashes, sets, lists and sorted sets: TYPE, OBJECT, MEMORY
// USAGE, SCAN TYPE,
// WRONGTYPE from string commands, COPY and RENAME (in one shard and across shards), EXPIRE,
// DUMP/RESTORE, MIGRATE, eviction, a shard crash. Replies that Redis defines are compared with a
// real redis-server run with the same encoding limits; Tessera runs with
// set-max-listpack-entries 0 where OBJECT ENCODING is compared (Redis 7.0 has no set listpack).
// A list's OBJECT ENCODING is Redis 7.2's (listpack when small; 7.0 says quicklist for all), so it
// is checked against Tessera's own rule instead.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { keyOn as keyOnShard } from './shard-keys.js';
import { requireTool, startRedis, startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';

const SHARDS = 3;
const TEST_TIMEOUT_MS = 60_000;
const LIMITS = [
  '--hash-max-listpack-entries', '4', '--hash-max-listpack-value', '16', '--set-max-intset-entries', '4',
  '--zset-max-listpack-entries', '4', '--list-max-listpack-size', '4',
];

const keyOn = (s: number, prefix: string): string => keyOnShard(s, SHARDS, prefix);

let tessera: ServerHandle | undefined;
let redis: ServerHandle | undefined;
let T: Redis;
let R: Redis;
const extra: Array<{ stop(): Promise<void> }> = [];

const t = suite('typed keys: generic commands on hashes, sets, lists and sorted sets');

t.before(async () => {
  requireTool('redis-server', ['--version'], 'redis-server');
  tessera = await startTessera({ shards: SHARDS, args: [...LIMITS, '--set-max-listpack-entries', '0'] });
  redis = await startRedis({ args: LIMITS });
  T = new Redis({ port: tessera.port, maxRetriesPerRequest: 0 });
  R = new Redis({ port: redis.port, maxRetriesPerRequest: 0 });
});

t.after(async () => {
  T?.disconnect();
  R?.disconnect();
  for (const s of extra) await s.stop();
  await tessera?.stop();
  await redis?.stop();
});

function test(name: string, fn: () => Promise<void>): void {
  t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

/** The reply of a command, or its error text. */
async function reply(c: Redis, args: Array<string | Buffer>): Promise<unknown> {
  try {
    return await c.call(String(args[0]), ...args.slice(1));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Runs each command on both servers and compares the replies. */
async function same(cmds: Array<Array<string | Buffer>>): Promise<void> {
  for (const cmd of cmds) {
    const want = await reply(R, cmd);
    const got = await reply(T, cmd);
    assert.equal(got, want, `${cmd.join(' ')}: redis ${JSON.stringify(want)}, tessera ${JSON.stringify(got)}`);
  }
}

async function fill(c: Redis, prefix = ''): Promise<void> {
  await c.set(`${prefix}str`, 'hello');
  await c.set(`${prefix}num`, '12345');
  await c.hset(`${prefix}hsmall`, 'a', '1', 'b', '2');
  await c.hset(`${prefix}hbig`, ...Array.from({ length: 20 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  await c.hset(`${prefix}hlong`, 'f', 'x'.repeat(40));
  await c.sadd(`${prefix}sint`, '1', '2', '3');
  await c.sadd(`${prefix}sintbig`, ...Array.from({ length: 10 }, (_, i) => String(i)));
  await c.sadd(`${prefix}sstr`, 'a', 'b', 'c');
  await c.rpush(`${prefix}lsmall`, 'a', 'b', 'c');
  await c.rpush(`${prefix}lbig`, ...Array.from({ length: 20 }, (_, i) => `e${i}`));
  await c.zadd(`${prefix}zsmall`, '1', 'a', '2.5', 'b');
  await c.zadd(`${prefix}zbig`, ...Array.from({ length: 20 }, (_, i) => [String(i % 7), `m${i}`]).flat());
}

const KEYS = ['str', 'num', 'hsmall', 'hbig', 'hlong', 'sint', 'sintbig', 'sstr', 'lsmall', 'lbig', 'zsmall', 'zbig', 'missing'];
/** Tessera's list encodings (Redis 7.2's names: listpack up to list-max-listpack-size). */
const LIST_ENCODINGS: Record<string, string> = { lsmall: 'listpack', lbig: 'quicklist' };

test('TYPE, OBJECT ENCODING and the OBJECT errors as redis-server', async () => {
  await fill(T);
  await fill(R);
  await same(KEYS.map((k) => ['TYPE', k]));
  await same(KEYS.filter((k) => LIST_ENCODINGS[k] === undefined).map((k) => ['OBJECT', 'ENCODING', k]));
  for (const [k, enc] of Object.entries(LIST_ENCODINGS)) assert.is(await T.call('OBJECT', 'ENCODING', k), enc, `OBJECT ENCODING ${k}`);
  await same([
    ['OBJECT', 'REFCOUNT', 'missing'],
    ['OBJECT', 'FREQ', 'hsmall'],
    ['OBJECT', 'NOPE', 'hsmall'],
    ['OBJECT', 'ENCODING'],
    ['OBJECT', 'ENCODING', 'a', 'b'],
  ]);
  const idle = (await T.call('OBJECT', 'IDLETIME', 'hbig')) as number;
  assert.ok(idle >= 0 && idle < 100, `OBJECT IDLETIME ${idle}`);
});

test('SCAN TYPE finds each type; MEMORY USAGE grows with a collection', async () => {
  for (const type of ['string', 'hash', 'set', 'list', 'zset']) {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = (await T.scan(cursor, 'COUNT', 100, 'TYPE', type)) as [string, string[]];
      for (const k of keys) found.add(k);
      cursor = next;
    } while (cursor !== '0');
    const want = new Set<string>();
    for (const k of KEYS) if ((await T.type(k)) === type) want.add(k);
    assert.equal([...found].sort(), [...want].sort(), `SCAN TYPE ${type}`);
  }
  const small = (await T.call('MEMORY', 'USAGE', 'hsmall')) as number;
  await T.hset('hhuge', ...Array.from({ length: 2000 }, (_, i) => [`field:${i}`, `value:${i}`]).flat());
  const huge = (await T.call('MEMORY', 'USAGE', 'hhuge')) as number;
  assert.ok(small > 0 && huge > small * 100, `MEMORY USAGE small ${small}, 2000 fields ${huge}`);
  assert.ok(huge < 2000 * 80, `2000 fields of 10-15 bytes use ${huge} bytes`);
  assert.is(await T.call('MEMORY', 'USAGE', 'missing'), null);
  await T.del('hhuge');
  for (const [small, big, fillBig] of [
    ['lsmall', 'lhuge', (k: string) => T.rpush(k, ...Array.from({ length: 2000 }, (_, i) => `element:${i}`))],
    ['zsmall', 'zhuge', (k: string) => T.zadd(k, ...Array.from({ length: 2000 }, (_, i) => [String(i), `member:${i}`]).flat())],
  ] as const) {
    await fillBig(big);
    const a = (await T.call('MEMORY', 'USAGE', small)) as number;
    const b = (await T.call('MEMORY', 'USAGE', big)) as number;
    assert.ok(a > 0 && b > a * 50, `MEMORY USAGE ${small} ${a}, 2000 elements ${b}`);
    assert.ok(b < 2000 * 100, `2000 elements of 10-12 bytes use ${b} bytes`);
    await T.del(big);
  }
});

test('string commands on a hash or set: WRONGTYPE, as redis-server', async () => {
  const cmds: string[][] = [];
  for (const k of ['hsmall', 'hbig', 'sint', 'sstr', 'lsmall', 'lbig', 'zsmall', 'zbig']) {
    cmds.push(['GET', k], ['APPEND', k, 'x'], ['INCR', k], ['INCRBYFLOAT', k, '1.5'], ['STRLEN', k], ['GETRANGE', k, '0', '1'],
      ['SETRANGE', k, '0', 'x'], ['GETDEL', k], ['GETEX', k, 'PERSIST'], ['SET', k, 'v', 'GET'], ['MGET', k, 'str']);
  }
  await same(cmds);
  await same([['HGETALL', 'hsmall'], ['SMEMBERS', 'sint'], ['LRANGE', 'lbig', '0', '-1'], ['ZRANGE', 'zbig', '0', '-1', 'WITHSCORES']]);
  // And each collection's commands on the others.
  await same([['LPUSH', 'zsmall', 'x'], ['ZADD', 'lsmall', '1', 'x'], ['SADD', 'lbig', 'x'], ['HGET', 'zbig', 'f'], ['LLEN', 'hsmall'], ['ZCARD', 'sint'], ['SORT', 'hsmall'], ['SORT', 'str']]);
});

async function contents(c: Redis, key: string): Promise<unknown> {
  const type = await c.type(key);
  if (type === 'hash') return Object.entries(await c.hgetall(key)).sort();
  if (type === 'set') return (await c.smembers(key)).sort();
  if (type === 'string') return c.get(key);
  if (type === 'list') return c.lrange(key, 0, -1);
  if (type === 'zset') return c.zrange(key, 0, -1, 'WITHSCORES');
  return type;
}

test('COPY and RENAME of hashes and sets, in one shard and across shards, keep contents, encoding and TTL', async () => {
  const cases = [
    ['hbig', 'hashtable'], ['hsmall', 'listpack'], ['sintbig', 'hashtable'], ['sint', 'intset'],
    ['lbig', 'quicklist'], ['lsmall', 'listpack'], ['zbig', 'skiplist'], ['zsmall', 'listpack'],
  ] as const;
  for (const [src, kind] of cases) {
    const want = await contents(T, src);
    await T.pexpire(src, 600_000);
    for (const to of [0, 1, 2]) {
      const dst = keyOn(to, `${src}-copy-`);
      assert.is(await T.copy(src, dst), 1);
      assert.equal(await contents(T, dst), want, `COPY ${src} to shard ${to}`);
      assert.is(await T.call('OBJECT', 'ENCODING', dst), kind);
      const ttl = await T.pttl(dst);
      assert.ok(ttl > 500_000, `COPY keeps the TTL: ${ttl}`);
      const moved = keyOn((to + 1) % SHARDS, `${src}-renamed-`);
      assert.is(await T.rename(dst, moved), 'OK');
      assert.is(await T.exists(dst), 0);
      assert.equal(await contents(T, moved), want, `RENAME to shard ${(to + 1) % SHARDS}`);
      assert.is(await T.copy(src, moved), 0, 'COPY without REPLACE onto an existing key');
      await T.del(moved);
    }
    await T.persist(src);
  }
  const h = keyOn(0, 'hcopy-');
  await T.hset(h, 'x', '1');
  await T.copy(h, 'hsmall-dst');
  await T.hset('hsmall-dst', 'y', '2');
  assert.equal(await T.hgetall(h), { x: '1' }, 'a copy is deep: changing it leaves the source alone');
  await T.del(h, 'hsmall-dst');
  const l = keyOn(1, 'lcopy-');
  await T.rpush(l, 'x');
  await T.copy(l, keyOn(2, 'lcopy-dst-'));
  await T.rpush(keyOn(2, 'lcopy-dst-'), 'y');
  assert.equal(await T.lrange(l, 0, -1), ['x'], 'a list copy is deep');
  await T.del(l, keyOn(2, 'lcopy-dst-'));
});

test('EXPIRE on a large hash, set, list and sorted set: they expire; DEL and UNLINK of large ones', async () => {
  await T.hset('hexp', ...Array.from({ length: 500 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  await T.sadd('sexp', ...Array.from({ length: 500 }, (_, i) => `m${i}`));
  await T.pexpire('hexp', 30);
  await T.rpush('lexp', ...Array.from({ length: 500 }, (_, i) => `e${i}`));
  await T.zadd('zexp', ...Array.from({ length: 500 }, (_, i) => [String(i), `m${i}`]).flat());
  await T.pexpire('sexp', 30);
  await T.pexpire('lexp', 30);
  await T.pexpire('zexp', 30);
  await waitFor('large collections expired', async () => (await T.exists('hexp', 'sexp', 'lexp', 'zexp')) === 0, 5_000);
  await T.sadd('sdel', ...Array.from({ length: 5000 }, (_, i) => `m${i}`));
  await T.hset('hdel', ...Array.from({ length: 5000 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  assert.is(await T.del('sdel'), 1);
  assert.is(await T.unlink('hdel'), 1);
  assert.is(await T.exists('sdel', 'hdel'), 0);
  // A huge list and sorted set go through the lazy free as well.
  for (let i = 0; i < 10; i++) await T.rpush('ldel', ...Array.from({ length: 10_000 }, (_, j) => `e${i}:${j}`));
  for (let i = 0; i < 5; i++) await T.zadd('zdel', ...Array.from({ length: 10_000 }, (_, j) => [String(j), `m${i}:${j}`]).flat());
  assert.is(await T.llen('ldel'), 100_000);
  assert.is(await T.unlink('ldel'), 1);
  assert.is(await T.del('zdel'), 1);
  assert.is(await T.exists('ldel', 'zdel'), 0);
  for (let s = 0; s < SHARDS; s++) assert.is(await T.call('DEBUG', 'INTEGRITY', String(s)), 'OK');
});

test('DUMP and RESTORE of hashes, sets, lists and sorted sets of every encoding; a damaged payload is refused', async () => {
  for (const k of ['hsmall', 'hbig', 'sint', 'sintbig', 'sstr', 'lsmall', 'lbig', 'zsmall', 'zbig']) {
    const want = await contents(T, k);
    const payload = await T.dumpBuffer(k);
    assert.ok(payload !== null);
    assert.is(await T.restore(`${k}-restored`, 0, payload!), 'OK');
    assert.equal(await contents(T, `${k}-restored`), want, `RESTORE of ${k}`);
    assert.is(await T.call('OBJECT', 'ENCODING', `${k}-restored`), await T.call('OBJECT', 'ENCODING', k));
    await T.del(`${k}-restored`);
    const bad = Buffer.from(payload!);
    bad[3] = bad[3]! ^ 0xff;
    const err = await reply(T, ['RESTORE', `${k}-bad`, '0', bad]);
    assert.ok(typeof err === 'object' && err !== null && 'error' in err, `a damaged payload is refused: ${JSON.stringify(err)}`);
    assert.is(await T.exists(`${k}-bad`), 0);
  }
});

test('MIGRATE moves a large hash, a set, a list and a sorted set to another node', async () => {
  const other = await startTessera({ shards: 2, args: LIMITS });
  extra.push(other);
  const O = new Redis({ port: other.port, maxRetriesPerRequest: 0 });
  try {
    const keys = ['hbig', 'sstr', 'lbig', 'zbig'];
    const want = await Promise.all(keys.map((k) => contents(T, k)));
    assert.is(await T.call('MIGRATE', '127.0.0.1', String(other.port), '', '0', '5000', 'COPY', 'KEYS', ...keys), 'OK');
    assert.equal(await Promise.all(keys.map((k) => contents(O, k))), want);
    assert.is(await O.call('OBJECT', 'ENCODING', 'hbig'), 'hashtable');
    assert.is(await O.call('OBJECT', 'ENCODING', 'lbig'), 'quicklist');
    assert.is(await O.call('OBJECT', 'ENCODING', 'zbig'), 'skiplist');
  } finally {
    O.disconnect();
  }
});

test('a shard crash keeps every hash, set, list and sorted set; eviction removes collections and keeps the arena whole', async () => {
  const before: unknown[] = [];
  for (const k of KEYS) before.push(await contents(T, k));
  for (let s = 0; s < SHARDS; s++) {
    try {
      await T.call('DEBUG', 'SHARD-CRASH', String(s));
    } catch {
      // the crash's own reply is an error
    }
  }
  await waitFor('shards restarted', async () => (await T.ping()) === 'PONG' && (await T.dbsize()) > 0, 10_000);
  const after: unknown[] = [];
  for (const k of KEYS) after.push(await contents(T, k));
  assert.equal(after, before);

  for (let i = 0; i < 300; i++) {
    const k = `evict:${i}`;
    if (i % 3 === 0) await T.hset(k, ...Array.from({ length: 30 }, (_, j) => [`f${j}`, `value-${j}`]).flat());
    else if (i % 3 === 1) await T.rpush(k, ...Array.from({ length: 30 }, (_, j) => `value-${j}`));
    else await T.zadd(k, ...Array.from({ length: 30 }, (_, j) => [String(j), `value-${j}`]).flat());
  }
  const used = Number(/used_memory:(\d+)/.exec(await T.info('memory'))![1]);
  await T.config('SET', 'maxmemory-policy', 'allkeys-random');
  await T.config('SET', 'maxmemory', String(Math.floor(used * 0.7)));
  // Each shard evicts from its own share of maxmemory when a write reaches it.
  await waitFor('eviction brought memory under the limit', async () => {
    for (let s = 0; s < SHARDS; s++) await T.set(keyOn(s, 'trigger'), 'x');
    return Number(/used_memory:(\d+)/.exec(await T.info('memory'))![1]) <= used * 0.75;
  }, 10_000);
  assert.ok(Number(/evicted_keys:(\d+)/.exec(await T.info('stats'))![1]) > 0, 'keys were evicted');
  await T.config('SET', 'maxmemory', '0');
  for (let s = 0; s < SHARDS; s++) assert.is(await T.call('DEBUG', 'INTEGRITY', String(s)), 'OK');
});

t.run();
