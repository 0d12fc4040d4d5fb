// HyperLogLog commands, differentially: the same scripts go as raw RESP to a real redis-server and
// to Tessera (four shards, keys on different shards so PFCOUNT and PFMERGE cross them), in RESP2
// and RESP3, byte for byte, GET of the HLL values included (sparse, dense, cached cardinality).
// Then CROSSSLOT in one-node clusters, DUMP/RESTORE, the pfadd keyspace event, and real clients.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { keyOn as keyOnShard } from './shard-keys.js';
import { rawClient, redisCli, requireTool, type RawClient } from './harness.js';
import { ServerPair, compareInOneNodeClusters, groupsOn, s, timedOn } from './differential-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;
const keyOn = (sh: number, prefix: string): string => keyOnShard(sh, SHARDS, prefix);

const A = keyOn(0, 'a');
const B = keyOn(1, 'b');
const C = keyOn(2, 'c');
const D = keyOn(3, 'd');
const STR = keyOn(2, 'str');
const LIST = keyOn(1, 'list');
const NOKEY = keyOn(3, 'nokey');

const words = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });
const diff = suite('hyperloglog: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

group('PFADD and PFCOUNT on one key: replies and the bytes of the value', [
  s(`PFADD ${A}`),
  s(`GET ${A}`),
  s(`PFCOUNT ${A}`),
  s(`GET ${A}`),
  s(`PFADD ${A} x y z`),
  s(`PFADD ${A} x`),
  s(`GET ${A}`),
  s(`PFCOUNT ${A}`),
  s(`GET ${A}`),
  s(`PFCOUNT ${NOKEY}`),
  s(['PFADD', A, ...words('w', 200)]),
  s(`GET ${A}`),
  s(`PFCOUNT ${A}`),
  s(['PFADD', A, ...words('v', 3000)]),
  s(`GET ${A}`),
  s(`PFCOUNT ${A}`),
  s(`GET ${A}`),
  s(`STRLEN ${A}`),
  s(['PFADD', B, '', 'a', 'ab', 'abcdefgh', 'abcdefghi', '\u00e9\u00e8']),
  s(`PFCOUNT ${B}`),
  s(`GET ${B}`),
]);

group('PFCOUNT and PFMERGE across shards (sparse and dense inputs)', [
  s(['PFADD', A, ...words('a', 100)]),
  s(['PFADD', B, ...words('b', 50), ...words('a', 50)]),
  s(['PFADD', C, ...words('c', 5000)]),
  s(['PFADD', C, ...words('c', 100)]),
  s(['PFADD', C, ...words('dense', 300)]),
  s(`GET ${C}`),
  s(`PFCOUNT ${C}`),
  s(['PFADD', C, 'one-more']),
  s(`GET ${C}`),
  s(`PFCOUNT ${A} ${B}`),
  s(`PFCOUNT ${A} ${B} ${C} ${NOKEY}`),
  s(`PFCOUNT ${A} ${A}`),
  s(`PFMERGE ${D} ${A} ${B}`),
  s(`GET ${D}`),
  s(`PFCOUNT ${D}`),
  s(`PFMERGE ${D} ${C}`),
  s(`GET ${D}`),
  s(`PFCOUNT ${D}`),
  s(`PFMERGE ${NOKEY}`),
  s(`GET ${NOKEY}`),
  s(`PFMERGE ${A} ${B} ${NOKEY}`),
  s(`GET ${A}`),
  s(`PFCOUNT ${A}`),
]);

group('in MULTI and in a script, across shards', [
  s('MULTI'),
  s(`PFADD ${A} x y`),
  s(`PFADD ${B} z`),
  s(`PFCOUNT ${A} ${B}`),
  s(`PFMERGE ${C} ${A} ${B}`),
  s(`GET ${C}`),
  s(`PFCOUNT ${C}`),
  s('EXEC'),
  s(['EVAL', "redis.call('pfadd', KEYS[1], 'q', 'r'); return redis.call('pfcount', KEYS[1])", '1', D]),
  s(`GET ${D}`),
]);

group('errors: wrong types, not an HLL, corrupted HLL, arity', [
  s(`SET ${STR} hello`),
  s(`RPUSH ${LIST} 1`),
  s(`PFADD ${STR} x`),
  s(`PFCOUNT ${STR}`),
  s(`PFCOUNT ${LIST}`),
  s(`PFADD ${LIST} x`),
  s(`PFMERGE ${A} ${STR}`),
  s(`PFMERGE ${A} ${LIST}`),
  s(`PFCOUNT ${A} ${STR}`),
  s(`PFCOUNT ${A} ${LIST}`),
  s(['SET', STR, 'HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x01']),
  s(`PFCOUNT ${STR}`),
  s(`PFADD ${STR} x`),
  s(`PFCOUNT ${STR} ${A}`),
  s(`PFMERGE ${A} ${STR}`),
  s(['SET', STR, 'HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x01\x02']),
  s(`PFCOUNT ${STR}`),
  s(['SET', STR, 'HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff']),
  s(`PFCOUNT ${STR}`),
  s('PFADD'),
  s('PFCOUNT'),
  s('PFMERGE'),
]);

group('PFDEBUG ENCODING, DECODE, GETREG, TODENSE', [
  s(['PFADD', A, ...words('g', 20)]),
  s(`SET ${STR} x`),
  s(`PFDEBUG ENCODING ${A}`),
  s(`PFDEBUG DECODE ${A}`),
  s(`PFDEBUG FOO ${A}`),
  s(`PFDEBUG ENCODING ${NOKEY}`),
  s(`PFDEBUG ENCODING ${STR}`),
  s(`PFDEBUG GETREG ${A}`),
  s(`GET ${A}`),
  s(`PFDEBUG TODENSE ${A}`),
  s(`PFDEBUG DECODE ${A}`),
  s(['PFADD', B, 'x']),
  s(`PFDEBUG TODENSE ${B}`),
  s(`PFDEBUG TODENSE ${B}`),
  s(`GET ${B}`),
  s(`PFCOUNT ${A} ${B}`),
]);

group('hll-sparse-max-bytes: promotion to dense where the limit says', [
  s('CONFIG SET hll-sparse-max-bytes 100'),
  s('CONFIG GET hll-sparse-max-bytes'),
  s(['PFADD', A, ...words('p', 40)]),
  s(`GET ${A}`),
  s('CONFIG SET hll-sparse-max-bytes 3000'),
  s(['PFADD', B, ...words('p', 40)]),
  s(`GET ${B}`),
]);

timed('CROSSSLOT in one-node clusters (redis-server and tessera)', () =>
  compareInOneNodeClusters('hll', 2, [
    ['PFADD', 'x1', 'a'],
    ['PFADD', 'x2', 'b'],
    ['PFCOUNT', 'x1', 'x2'],
    ['PFMERGE', 'x1', 'x2'],
    ['PFADD', '{t}1', 'a', 'b'],
    ['PFADD', '{t}2', 'c'],
    ['PFCOUNT', '{t}1', '{t}2'],
    ['PFMERGE', '{t}3', '{t}1', '{t}2'],
    ['GET', '{t}3'],
  ]));

async function call(c: RawClient, ...args: string[]): Promise<Buffer> {
  return (await c.call(args)).raw;
}

timed('DUMP/RESTORE carries an HLL as its string; the TTL survives PFADD', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    await call(c, 'FLUSHALL');
    await call(c, 'PFADD', A, ...words('d', 500));
    await call(c, 'PFCOUNT', A);
    const dump = (await c.call(['DUMP', A])).value;
    assert.is(dump.type, 'bulk');
    const payload = (dump as { value: Buffer }).value;
    assert.is((await call(c, 'RESTORE', B, '0', payload as unknown as string)).toString(), '+OK\r\n');
    assert.equal(await call(c, 'GET', B), await call(c, 'GET', A));
    assert.equal(await call(c, 'PFCOUNT', B), await call(c, 'PFCOUNT', A));
    await call(c, 'EXPIRE', A, '1000');
    await call(c, 'PFADD', A, 'new-element');
    assert.is((await call(c, 'TTL', A)).toString(), ':1000\r\n');
  } finally {
    c.close();
  }
});

timed('PFADD and PFMERGE emit the pfadd keyspace event, as Redis', async () => {
  const c = await rawClient(pair.tessera.port);
  const sub = await rawClient(pair.tessera.port);
  try {
    await call(c, 'CONFIG', 'SET', 'notify-keyspace-events', 'E$');
    await call(sub, 'SUBSCRIBE', '__keyevent@0__:pfadd');
    await call(c, 'PFADD', A, 'e1');
    await call(c, 'PFMERGE', D, A, B);
    const msgs = await sub.read(2);
    assert.ok(msgs[0]!.raw.toString('latin1').includes(A));
    assert.ok(msgs[1]!.raw.toString('latin1').includes(D));
  } finally {
    await call(c, 'CONFIG', 'SET', 'notify-keyspace-events', '');
    c.close();
    sub.close();
  }
});

timed('real clients: ioredis and redis-cli', async () => {
  const io = new Redis({ port: pair.tessera.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await io.connect();
    await io.flushall();
    assert.is(await io.pfadd(A, 'a', 'b', 'c'), 1);
    assert.is(await io.pfadd(B, 'c', 'd'), 1);
    assert.is(await io.pfcount(A, B), 4);
    assert.is(await io.pfmerge(C, A, B), 'OK');
    assert.is(await io.pfcount(C), 4);
  } finally {
    io.disconnect();
  }
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const r = await redisCli(['-p', String(pair.tessera.port), 'PFCOUNT', C]);
  assert.is(r.stdout.trim(), '4');
});

timed('each shard passes DEBUG INTEGRITY after the above', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    for (let shard = 0; shard < SHARDS; shard++) {
      const r = await c.call(['DEBUG', 'INTEGRITY', String(shard)]);
      assert.is(r.value.type, 'simple', `shard ${shard}: ${r.raw.toString()}`);
    }
  } finally {
    c.close();
  }
});

diff.run();
