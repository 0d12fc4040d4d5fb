// Numbered databases, differentially: SELECT, MOVE, SWAPDB, COPY ... DB, FLUSHDB, FLUSHALL,
// DBSIZE, KEYS, INFO keyspace and keyspace events go as raw RESP to a real redis-server and to
// Tessera (four shards, keys on different shards), in RESP2 and RESP3, byte for byte. Then the
// cluster-mode refusals in one-node clusters, blocking commands in a database, a shard restart
// keeping every database, and the db options of ioredis and node-redis.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { keyOn as keyOnShard } from './shard-keys.js';
import { rawClient } from './harness.js';
import { ServerPair, compareInOneNodeClusters, groupsOn, s, timedOn } from './differential-helpers.js';
import { parseLoadgenArgs, runLoadgen } from '../../src/loadgen/run.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;
const keyOn = (sh: number, prefix: string): string => keyOnShard(sh, SHARDS, prefix);

const A = keyOn(0, 'a');
const B = keyOn(1, 'b');
const C = keyOn(2, 'c');
const D = keyOn(3, 'd');

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });
const diff = suite('databases: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

/** INFO keyspace compared without avg_ttl: Redis estimates it from its expire cycle's samples
 * (0 until one ran), Tessera reports 0. */
const keyspaceInfo = (r: { raw: Buffer }, t: { raw: Buffer }): string | null => {
  const norm = (b: Buffer): string => b.toString('latin1').replace(/avg_ttl=\d+/g, 'avg_ttl=N').replace(/^[$=]\d+/, '');
  return norm(r.raw) === norm(t.raw) ? null : 'keyspace lines differ';
};

group('SELECT: its errors, and keys that live in one database only', [
  s('SELECT abc'),
  s('SELECT 1.5'),
  s('SELECT 16'),
  s('SELECT -1'),
  s(`SET ${A} zero`),
  s(`SET ${B} zero`),
  s('SELECT 5'),
  s(`GET ${A}`),
  s(`SET ${A} five`),
  s(`RPUSH ${C} x y`),
  s(`HSET ${D} f v`),
  s('DBSIZE'),
  s(`EXISTS ${A} ${B} ${C} ${D}`),
  s(`MGET ${A} ${B}`),
  s('KEYS *', (r, t) => (JSON.stringify(sortedLines(r.raw)) === JSON.stringify(sortedLines(t.raw)) ? null : 'keys differ')),
  s('SELECT 0'),
  s(`GET ${A}`),
  s('DBSIZE'),
  s(`EXISTS ${C}`),
  s('SELECT 15'),
  s('DBSIZE'),
  s('INFO keyspace', keyspaceInfo),
]);

group('MOVE: errors in Redis order, a key present in the target, across types', [
  s(`MOVE ${A} 0`),
  s(`MOVE ${A} 16`),
  s(`MOVE ${A} abc`),
  s(`MOVE ${A} 1`),
  s(`SET ${A} v0`),
  s(`MOVE ${A} 0`),
  s(`MOVE ${A} 1`),
  s(`GET ${A}`),
  s(`SET ${A} again`),
  s(`MOVE ${A} 1`),
  s(`ZADD ${B} 1 m 2 n`),
  s(`PEXPIRE ${B} 100000`),
  s(`MOVE ${B} 2`),
  s('SELECT 1'),
  s(`GET ${A}`),
  s('SELECT 2'),
  s(`ZRANGE ${B} 0 -1 WITHSCORES`),
  s(`TTL ${B}`),
  s(`MOVE ${B} 0`),
  s('SELECT 0'),
  s(`TYPE ${B}`),
  s('INFO keyspace', keyspaceInfo),
]);

group('SWAPDB and FLUSHDB / FLUSHALL per database', [
  s('SWAPDB a 1'),
  s('SWAPDB 0 a'),
  s('SWAPDB 0 16'),
  s('SWAPDB -1 0'),
  s('SWAPDB 0'),
  s(`SET ${A} in0`),
  s(`SET ${C} in0`),
  s('SELECT 3'),
  s(`SET ${B} in3`),
  s('SWAPDB 0 3'),
  s(`MGET ${A} ${B} ${C}`),
  s('DBSIZE'),
  s('SWAPDB 3 3'),
  s('SELECT 0'),
  s(`MGET ${A} ${B} ${C}`),
  s('INFO keyspace', keyspaceInfo),
  s('FLUSHDB x'),
  s('FLUSHDB ASYNC'),
  s('DBSIZE'),
  s('SELECT 3'),
  s('DBSIZE'),
  s('INFO keyspace', keyspaceInfo),
  s('FLUSHALL SYNC'),
  s('DBSIZE'),
  s('INFO keyspace', keyspaceInfo),
]);

group('COPY ... DB: same and other shards, REPLACE, errors', [
  s(`SET ${A} v`),
  s(`COPY ${A} ${A} DB 16`),
  s(`COPY ${A} ${A} DB x`),
  s(`COPY ${A} ${A}`),
  s(`COPY ${A} ${A} DB 0`),
  s(`COPY ${A} ${A} DB 4`),
  s(`COPY ${A} ${A} DB 4`),
  s(`COPY ${A} ${B} DB 4`),
  s(`SET ${A} w`),
  s(`COPY ${A} ${A} DB 4 REPLACE`),
  s(`SADD ${C} 1 2 3`),
  s(`COPY ${C} ${D} DB 4`),
  s('SELECT 4'),
  s(`MGET ${A} ${B}`),
  s(`SMEMBERS ${D}`),
  s(`COPY ${D} ${C} DB 0`),
  s('INFO keyspace', keyspaceInfo),
]);

group('MULTI/EXEC runs in the client\'s database, a queued SELECT moves the rest', [
  s('SELECT 2'),
  s('MULTI'),
  s(`SET ${A} t2`),
  s('SELECT 6'),
  s(`SET ${A} t6`),
  s(`INCR ${B}`),
  s('EXEC'),
  s(`MGET ${A} ${B}`),
  s('SELECT 2'),
  s(`MGET ${A} ${B}`),
  s('INFO keyspace', keyspaceInfo),
]);

group('scripts run in the client\'s database; a SELECT inside stays inside (7.0)', [
  s('SELECT 2'),
  s(['EVAL', "redis.call('set', KEYS[1], 'db2'); redis.call('select', 5); redis.call('set', KEYS[1], 'db5'); return redis.call('get', KEYS[1])", '1', A]),
  s(`GET ${A}`),
  s('DBSIZE'),
  s(['EVAL', "return redis.call('select', 99)", '0']),
  s(['EVAL', "return redis.call('select', 'x')", '0']),
  s(['EVAL', "return redis.call('select')", '0']),
  s(['EVAL', "redis.call('move', KEYS[1], 7); return redis.call('exists', KEYS[1])", '1', A]),
  s('SELECT 4'),
  s(['EVAL', "redis.call('set', KEYS[1], 'x'); redis.call('set', KEYS[2], 'y'); return {redis.call('get', KEYS[1]), redis.call('get', KEYS[2])}", '2', C, D]),
  s(`MGET ${C} ${D}`),
  s('SELECT 7'),
  s(`GET ${A}`),
  s('SELECT 5'),
  s(`GET ${A}`),
  s('INFO keyspace', keyspaceInfo),
]);

group('CLIENT INFO shows the database; RESET goes back to 0', [
  s('SELECT 9'),
  s(`SET ${A} nine`),
  s('CLIENT INFO', (r, t) => (dbField(r.raw) === dbField(t.raw) ? null : `db= differs: ${dbField(r.raw)} ${dbField(t.raw)}`)),
  s('RESET'),
  s(`GET ${A}`),
  s('CLIENT INFO', (r, t) => (dbField(r.raw) === dbField(t.raw) ? null : `db= differs: ${dbField(r.raw)} ${dbField(t.raw)}`)),
]);

function sortedLines(raw: Buffer): string[] {
  return raw.toString('latin1').split('\r\n').sort();
}

function dbField(raw: Buffer): string {
  return /\bdb=(\d+)/.exec(raw.toString('latin1'))?.[1] ?? 'none';
}

timed('keyspace events carry the database in their channel (set, move_from, move_to, copy_to)', async () => {
  const events: string[][] = [];
  for (const port of [pair.redis.port, pair.tessera.port]) {
    const c = await rawClient(port);
    const sub = await rawClient(port);
    try {
      await c.call(['FLUSHALL']);
      await c.call(['CONFIG', 'SET', 'notify-keyspace-events', 'KEA']);
      await sub.call(['PSUBSCRIBE', '__key*__:*']);
      await c.call(['SELECT', '3']);
      await c.call(['SET', A, '1']);
      await c.call(['MOVE', A, '7']);
      await c.call(['SELECT', '7']);
      await c.call(['COPY', A, B, 'DB', '2']);
      await c.call(['PING']);
      const got: string[] = [];
      // set (2), move_from (2), move_to (2), copy_to (2)
      const replies = await sub.read(8);
      for (const r of replies) got.push(r.raw.toString('latin1').split('\r\n').filter((x, i) => i % 2 === 0 && i > 0).join(' '));
      events.push(got);
      await c.call(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    } finally {
      c.close();
      sub.close();
    }
  }
  assert.equal(events[1], events[0]);
});

timed('cluster mode: only db 0, with Redis\'s refusals', () =>
  compareInOneNodeClusters('databases', 2, [
    ['SELECT', '1'],
    ['SELECT', '0'],
    ['SWAPDB', '0', '1'],
    ['SET', 'k', 'v'],
    ['MOVE', 'k', '1'],
    ['COPY', 'k', 'k2', 'DB', '1'],
    ['COPY', '{k}', '{k}2', 'DB', '0'],
  ]),
);

timed('blocking commands wait on their own database\'s key', async () => {
  const c = await rawClient(pair.tessera.port);
  const w = await rawClient(pair.tessera.port);
  try {
    await c.call(['FLUSHALL']);
    await w.call(['SELECT', '3']);
    w.send(Buffer.from(`*3\r\n$5\r\nBLPOP\r\n$${A.length}\r\n${A}\r\n$1\r\n5\r\n`));
    // Wait until it is blocked, then write the same key in db 0 (must not wake it), then db 3.
    for (let i = 0; i < 200; i++) {
      const info = (await c.call(['INFO', 'clients'])).raw.toString('latin1');
      if (/blocked_clients:1/.test(info)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await c.call(['RPUSH', A, 'db0']);
    await c.call(['SELECT', '3']);
    await c.call(['RPUSH', A, 'db3']);
    const [r] = await w.read(1);
    assert.ok(r!.raw.toString('latin1').includes('db3'), r!.raw.toString('latin1'));
    await c.call(['SELECT', '0']);
    assert.is((await c.call(['LLEN', A])).raw.toString('latin1'), ':1\r\n');
  } finally {
    c.close();
    w.close();
  }
});

timed('XREAD BLOCK, XREADGROUP BLOCK and XINFO run in the client\'s database', async () => {
  const c = await rawClient(pair.tessera.port);
  const w = await rawClient(pair.tessera.port);
  const blocked = async (n: number): Promise<void> => {
    for (let i = 0; i < 500; i++) {
      if (new RegExp(`blocked_clients:${n}\\b`).test((await c.call(['INFO', 'clients'])).raw.toString('latin1'))) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`never saw ${n} blocked client(s)`);
  };
  try {
    await c.call(['FLUSHALL']);
    await c.call(['SELECT', '3']);
    await w.call(['SELECT', '3']);
    w.send(Buffer.from(`*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$4\r\n5000\r\n$7\r\nSTREAMS\r\n$${C.length}\r\n${C}\r\n$1\r\n$\r\n`));
    await blocked(1);
    await c.call(['SELECT', '0']);
    await c.call(['XADD', C, '1-1', 'db', '0']); // another database: must not wake it
    await c.call(['SELECT', '3']);
    await c.call(['XADD', C, '2-1', 'db', '3']);
    const [r] = await w.read(1);
    const text = r!.raw.toString('latin1');
    assert.ok(text.includes('2-1') && !text.includes('1-1'), text);
    assert.is((await c.call(['XGROUP', 'CREATE', C, 'g', '$'])).raw.toString('latin1'), '+OK\r\n');
    w.send(Buffer.from(`*9\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$1\r\nc\r\n$5\r\nBLOCK\r\n$4\r\n5000\r\n$7\r\nSTREAMS\r\n$${C.length}\r\n${C}\r\n$1\r\n>\r\n`));
    await blocked(1);
    await c.call(['XADD', C, '3-1', 'db', '3']);
    const [g] = await w.read(1);
    assert.ok(g!.raw.toString('latin1').includes('3-1'), g!.raw.toString('latin1'));
    assert.ok((await c.call(['XINFO', 'GROUPS', C])).raw.toString('latin1').includes('3-1'));
    await c.call(['SELECT', '0']);
    assert.is((await c.call(['XLEN', C])).raw.toString('latin1'), ':1\r\n');
  } finally {
    c.close();
    w.close();
  }
});

timed('SWAPDB serves a client blocked in one of the two databases, as redis-server does', async () => {
  const got: string[] = [];
  for (const port of [pair.redis.port, pair.tessera.port]) {
    const c = await rawClient(port);
    const w = await rawClient(port);
    try {
      await c.call(['FLUSHALL']);
      await c.call(['SELECT', '6']);
      await c.call(['RPUSH', B, 'fromsix']);
      await w.call(['SELECT', '5']);
      w.send(Buffer.from(`*3\r\n$5\r\nBLPOP\r\n$${B.length}\r\n${B}\r\n$2\r\n10\r\n`));
      for (let i = 0; i < 200; i++) {
        if (/blocked_clients:1/.test((await c.call(['INFO', 'clients'])).raw.toString('latin1'))) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await c.call(['SWAPDB', '5', '6']);
      const [r] = await w.read(1);
      got.push(r!.raw.toString('latin1'));
      await c.call(['SELECT', '5']);
      got.push((await c.call(['EXISTS', B])).raw.toString('latin1'));
    } finally {
      c.close();
      w.close();
    }
  }
  assert.equal(got.slice(2), got.slice(0, 2));
  assert.ok(got[0]!.includes('fromsix'), got[0]);
});

timed('a restarted shard keeps every database', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    await c.call(['FLUSHALL']);
    await c.call(['SELECT', '4']);
    await c.call(['SET', A, 'kept']);
    await c.call(['SET', B, 'kept']);
    await c.call(['SELECT', '0']);
    for (let s0 = 0; s0 < SHARDS; s0++) await c.call(['DEBUG', 'SHARD-CRASH', String(s0)]);
    await c.call(['SELECT', '4']);
    let got = '';
    for (let i = 0; i < 200; i++) {
      got = (await c.call(['MGET', A, B])).raw.toString('latin1');
      if (!got.startsWith('-')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.is(got, '*2\r\n$4\r\nkept\r\n$4\r\nkept\r\n');
  } finally {
    c.close();
  }
});

timed('ioredis `db` and node-redis `database` options', async () => {
  const io = new Redis({ port: pair.tessera.port, db: 5, lazyConnect: true, maxRetriesPerRequest: 1 });
  const nr = createClient({ socket: { port: pair.tessera.port, reconnectStrategy: false }, database: 6 });
  try {
    await io.connect();
    await nr.connect();
    await io.flushall();
    await io.set('k', 'io');
    await nr.set('k', 'nr');
    assert.is(await io.get('k'), 'io');
    assert.is(await nr.get('k'), 'nr');
    assert.is(await io.dbsize(), 1);
    const io0 = new Redis({ port: pair.tessera.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await io0.connect();
    assert.is(await io0.get('k'), null);
    assert.match(await io0.info('keyspace'), /db5:keys=1,expires=0,avg_ttl=0\r\ndb6:keys=1,expires=0,avg_ttl=0/);
    io0.disconnect();
  } finally {
    io.disconnect();
    await nr.disconnect().catch(() => undefined);
  }
});

timed('tessera bench --dbnum writes in that database', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    await c.call(['FLUSHALL']);
    const phases = await runLoadgen(parseLoadgenArgs(['-p', String(pair.tessera.port), '--dbnum', '4', '-t', 'set', '-n', '2000', '-r', '100', '-c', '4', '-q']));
    assert.is(phases[0]!.errors, 0, phases[0]!.firstError);
    assert.is(phases[0]!.requests, 2000);
    assert.is((await c.call(['INFO', 'keyspace'])).raw.toString('latin1').split('\r\n').filter((l) => l.startsWith('db')).join(','), 'db4:keys=100,expires=0,avg_ttl=0');
  } finally {
    c.close();
  }
});

diff.run();
