// List commands, differentially: the same command scripts go as raw RESP to a real redis-server and
// to Tessera (four shards, keys chosen on different shards so that LMOVE, RPOPLPUSH and LMPOP cross
// them), in RESP2 and RESP3; replies must be byte-identical. OBJECT ENCODING is compared only past
// the listpack limit (redis-server 7.0 answers quicklist for every list; Tessera answers listpack
// for small lists as Redis 7.2 does, checked on its own). Then big lists, concurrent cross-shard
// moves (no element lost or doubled), cluster mode (CROSSSLOT), and real clients (ioredis,
// node-redis, redis-cli, python3-redis).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyOn as keyOnShard, shardOf as shardOfKey } from './shard-keys.js';
import { plain, rawClient, redisCli, requireTool, show, startTessera, startTesseraAt, type Plain, type RawClient, type Reply, type ServerHandle } from './harness.js';
import { ServerPair, compareInOneNodeClusters, elems, groupsOn, s, timedOn, type Step } from './differential-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;

const shardOf = (key: string): number => shardOfKey(key, SHARDS);
const keyOn = (n: number, prefix: string): string => keyOnShard(n, SHARDS, prefix);

// Keys on four different shards, and two that share one shard (same hash tag).
const A = keyOn(0, 'a');
const B = keyOn(1, 'b');
const KC = keyOn(2, 'c');
const D = keyOn(3, 'd');
const LA = '{t}la';
const LB = '{t}lb';
const STR = keyOn(2, 'str');
const NOKEY = keyOn(1, 'nokey');

const words = (prefix: string, n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });

const diff = suite('list commands: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);

const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

group('LPUSH, RPUSH, LPUSHX, RPUSHX, LLEN, LRANGE, LINDEX', [
  s(`LPUSH ${A} a b c`),
  s(`RPUSH ${A} x y`),
  s(`LRANGE ${A} 0 -1`),
  s(`LLEN ${A}`),
  s(`LPUSHX ${A} p`),
  s(`RPUSHX ${A} q r`),
  s(`LPUSHX ${NOKEY} p`),
  s(`RPUSHX ${NOKEY} p`),
  s(`EXISTS ${NOKEY}`),
  s(`LRANGE ${A} 0 -1`),
  s(`LRANGE ${A} 2 4`),
  s(`LRANGE ${A} -3 -1`),
  s(`LRANGE ${A} -100 100`),
  s(`LRANGE ${A} 5 2`),
  s(`LRANGE ${A} 100 200`),
  s(`LRANGE ${A} -1 -3`),
  s(`LRANGE ${A} 0 0`),
  s(`LRANGE ${A} -9223372036854775808 9223372036854775807`),
  s(`LRANGE ${A} 0 9223372036854775808`),
  s(`LRANGE ${A} a 1`),
  s(`LRANGE ${A} 1 1.5`),
  s(`LRANGE ${NOKEY} 0 -1`),
  s(`LRANGE ${NOKEY} a 1`),
  s(`LINDEX ${A} 0`),
  s(`LINDEX ${A} -1`),
  s(`LINDEX ${A} 3`),
  s(`LINDEX ${A} 99`),
  s(`LINDEX ${A} -99`),
  s(`LINDEX ${A} abc`),
  s(`LINDEX ${A} 9223372036854775808`),
  s(`LINDEX ${NOKEY} 0`),
  s(`LINDEX ${NOKEY} abc`),
  s(`LLEN ${NOKEY}`),
  s(['RPUSH', B, '', 'with space', 'bin\x00\r\nary', 'ü']),
  s(`LRANGE ${B} 0 -1`),
  s(['LINDEX', B, '2']),
  s(`SET ${STR} v`),
  s(`LPUSH ${STR} a`),
  s(`RPUSH ${STR} a`),
  s(`LPUSHX ${STR} a`),
  s(`RPUSHX ${STR} a`),
  s(`LLEN ${STR}`),
  s(`LRANGE ${STR} 0 -1`),
  s(`LRANGE ${STR} a 1`),
  s(`LINDEX ${STR} 0`),
  s(`LINDEX ${STR} abc`),
  s(`LPUSH ${A}`),
  s(`RPUSH`),
  s(`LPUSHX ${A}`),
  s(`RPUSHX ${A}`),
  s(`LLEN`),
  s(`LLEN ${A} ${B}`),
  s(`LRANGE ${A} 0`),
  s(`LRANGE ${A} 0 1 2`),
  s(`LINDEX ${A}`),
  s(`LINDEX ${A} 0 1`),
  s(`TYPE ${A}`),
  s(`EXPIRE ${A} 100`),
  s(`RPUSH ${A} z`),
  s(`TTL ${A}`),
]);

group('LPOP and RPOP, with and without a count', [
  s(['RPUSH', A, ...words('e', 10)]),
  s(`LPOP ${A}`),
  s(`RPOP ${A}`),
  s(`LPOP ${A} 2`),
  s(`RPOP ${A} 3`),
  s(`LPOP ${A} 0`),
  s(`RPOP ${A} 0`),
  s(`LRANGE ${A} 0 -1`),
  s(`LPOP ${A} -1`),
  s(`LPOP ${A} abc`),
  s(`RPOP ${A} 1.5`),
  s(`LPOP ${A} 9223372036854775808`),
  s(`LPOP ${A} 1 2`),
  s(`RPOP ${A} 1 2`),
  s(`LPOP ${A} 100`),
  s(`EXISTS ${A}`),
  s(`RPUSH ${A} only`),
  s(`RPOP ${A}`),
  s(`EXISTS ${A}`),
  s(`RPUSH ${A} a b`),
  s(`RPOP ${A} 9223372036854775807`),
  s(`EXISTS ${A}`),
  s(`LPOP ${NOKEY}`),
  s(`RPOP ${NOKEY}`),
  s(`LPOP ${NOKEY} 1`),
  s(`LPOP ${NOKEY} 0`),
  s(`RPOP ${NOKEY} 5`),
  s(`LPOP ${NOKEY} -1`),
  s(`SET ${STR} v`),
  s(`LPOP ${STR}`),
  s(`RPOP ${STR} 2`),
  s(`LPOP ${STR} 0`),
  s(`LPOP ${STR} abc`),
  s(`LPOP`),
  s(`RPOP`),
]);

group('LINSERT, LSET, LREM, LTRIM', [
  s(`RPUSH ${A} a b c b a`),
  s(`LINSERT ${A} BEFORE b x`),
  s(`LINSERT ${A} after b y`),
  s(`LINSERT ${A} BEFORE nope z`),
  s(`LRANGE ${A} 0 -1`),
  s(`LINSERT ${A} MIDDLE b z`),
  s(`LINSERT ${NOKEY} BEFORE a z`),
  s(`LINSERT ${NOKEY} MIDDLE a z`),
  s(`EXISTS ${NOKEY}`),
  s(`LSET ${A} 0 first`),
  s(`LSET ${A} -1 last`),
  s(`LSET ${A} 3 mid`),
  s(`LSET ${A} 99 x`),
  s(`LSET ${A} -99 x`),
  s(`LSET ${A} abc x`),
  s(`LSET ${NOKEY} 0 x`),
  s(`LSET ${NOKEY} abc x`),
  s(`LRANGE ${A} 0 -1`),
  s(`RPUSH ${B} a b a c a b a`),
  s(`LREM ${B} 2 a`),
  s(`LRANGE ${B} 0 -1`),
  s(`LREM ${B} -1 a`),
  s(`LRANGE ${B} 0 -1`),
  s(`LREM ${B} 0 b`),
  s(`LRANGE ${B} 0 -1`),
  s(`LREM ${B} 0 nope`),
  s(`LREM ${B} abc a`),
  s(`LREM ${NOKEY} 0 a`),
  s(`LREM ${NOKEY} abc a`),
  s(`LREM ${B} 0 a`),
  s(`LREM ${B} 0 c`),
  s(`EXISTS ${B}`),
  s(['RPUSH', KC, ...words('t', 10)]),
  s(`LTRIM ${KC} 1 -2`),
  s(`LRANGE ${KC} 0 -1`),
  s(`LTRIM ${KC} -3 100`),
  s(`LRANGE ${KC} 0 -1`),
  s(`LTRIM ${KC} 0 -1`),
  s(`LRANGE ${KC} 0 -1`),
  s(`LTRIM ${KC} -100 0`),
  s(`LRANGE ${KC} 0 -1`),
  s(`LTRIM ${KC} 5 2`),
  s(`EXISTS ${KC}`),
  s(`RPUSH ${KC} a b c`),
  s(`LTRIM ${KC} 3 10`),
  s(`EXISTS ${KC}`),
  s(`RPUSH ${KC} a b c`),
  s(`LTRIM ${KC} 0 -4`),
  s(`EXISTS ${KC}`),
  s(`LTRIM ${KC} a 1`),
  s(`LTRIM ${NOKEY} 0 1`),
  s(`LTRIM ${NOKEY} a 1`),
  s(`SET ${STR} v`),
  s(`LINSERT ${STR} BEFORE a b`),
  s(`LINSERT ${STR} MIDDLE a b`),
  s(`LSET ${STR} 0 a`),
  s(`LSET ${STR} abc a`),
  s(`LREM ${STR} 0 a`),
  s(`LREM ${STR} abc a`),
  s(`LTRIM ${STR} 0 1`),
  s(`LTRIM ${STR} a 1`),
  s(`LINSERT ${A} BEFORE a`),
  s(`LSET ${A} 0`),
  s(`LREM ${A} 0`),
  s(`LTRIM ${A} 0`),
]);

group('LPOS: RANK, COUNT, MAXLEN and their errors', [
  s(`RPUSH ${A} a b c a b c a`),
  s(`LPOS ${A} a`),
  s(`LPOS ${A} c`),
  s(`LPOS ${A} z`),
  s(`LPOS ${A} a RANK 2`),
  s(`LPOS ${A} a RANK 3`),
  s(`LPOS ${A} a RANK 4`),
  s(`LPOS ${A} a RANK -1`),
  s(`LPOS ${A} a RANK -2`),
  s(`LPOS ${A} a RANK -9`),
  s(`LPOS ${A} a COUNT 0`),
  s(`LPOS ${A} a COUNT 2`),
  s(`LPOS ${A} a COUNT 9`),
  s(`LPOS ${A} z COUNT 0`),
  s(`LPOS ${A} a RANK 2 COUNT 0`),
  s(`LPOS ${A} a RANK -1 COUNT 2`),
  s(`LPOS ${A} a RANK -2 COUNT 0`),
  s(`LPOS ${A} a MAXLEN 1`),
  s(`LPOS ${A} b MAXLEN 1`),
  s(`LPOS ${A} a COUNT 0 MAXLEN 4`),
  s(`LPOS ${A} a RANK -1 COUNT 0 MAXLEN 3`),
  s(`LPOS ${A} a MAXLEN 0`),
  s(`LPOS ${A} a rank 2 count 1 maxlen 7`),
  s(`LPOS ${A} a RANK 1 RANK 2`),
  s(`LPOS ${A} a RANK -9223372036854775808`),
  s(`LPOS ${A} a RANK -9223372036854775808 COUNT 1`),
  s(`LPOS ${A} a RANK 9223372036854775807`),
  s(`LPOS ${A} a RANK 9223372036854775808`),
  s(`LPOS ${A} a RANK 0`),
  s(`LPOS ${A} a RANK abc`),
  s(`LPOS ${A} a COUNT -1`),
  s(`LPOS ${A} a COUNT abc`),
  s(`LPOS ${A} a MAXLEN -1`),
  s(`LPOS ${A} a MAXLEN abc`),
  s(`LPOS ${A} a RANK`),
  s(`LPOS ${A} a COUNT`),
  s(`LPOS ${A} a FOO 1`),
  s(`LPOS ${A} a FOO`),
  s(`LPOS ${NOKEY} a`),
  s(`LPOS ${NOKEY} a COUNT 1`),
  s(`LPOS ${NOKEY} a RANK 0`),
  s(`SET ${STR} v`),
  s(`LPOS ${STR} a`),
  s(`LPOS ${STR} a COUNT 0`),
  s(`LPOS ${STR} a RANK 0`),
  s(`LPOS ${A}`),
]);

/** LMOVE and RPOPLPUSH between k1 and k2 (one shard or two). */
function moves(k1: string, k2: string): Step[] {
  return [
    s(`RPUSH ${k1} 1 2 3 4`),
    s(`RPOPLPUSH ${k1} ${k2}`),
    s(`LMOVE ${k1} ${k2} LEFT RIGHT`),
    s(`LMOVE ${k1} ${k2} right left`),
    s(`LRANGE ${k1} 0 -1`),
    s(`LRANGE ${k2} 0 -1`),
    s(`LMOVE ${k2} ${k2} LEFT RIGHT`),
    s(`LRANGE ${k2} 0 -1`),
    s(`RPOPLPUSH ${k2} ${k2}`),
    s(`LRANGE ${k2} 0 -1`),
    s(`LMOVE ${k1} ${k2} LEFT LEFT`),
    s(`EXISTS ${k1}`),
    s(`LMOVE ${k1} ${k2} LEFT LEFT`),
    s(`RPOPLPUSH ${k1} ${k2}`),
    s(`LMOVE ${k1} ${k1} LEFT LEFT`),
    s(`LMOVE ${k2} ${k1} RIGHT RIGHT`),
    s(`LRANGE ${k1} 0 -1`),
    s(`LRANGE ${k2} 0 -1`),
    s(`RPUSH ${k1} only`),
    s(`LMOVE ${k1} ${k1} LEFT RIGHT`),
    s(`LRANGE ${k1} 0 -1`),
    s(`SET ${STR} v`),
    s(`LMOVE ${STR} ${k1} LEFT LEFT`),
    s(`LMOVE ${k1} ${STR} LEFT LEFT`),
    s(`LRANGE ${k1} 0 -1`),
    s(`LMOVE ${NOKEY} ${STR} LEFT LEFT`),
    s(`RPOPLPUSH ${k1} ${STR}`),
    s(`RPOPLPUSH ${STR} ${k1}`),
    s(`RPOPLPUSH ${NOKEY} ${STR}`),
    s(`LMOVE ${k1} ${k2} UP LEFT`),
    s(`LMOVE ${k1} ${k2} LEFT DOWN`),
    s(`LMOVE ${NOKEY} ${k2} UP LEFT`),
    s(`LMOVE ${STR} ${k2} LEFT DOWN`),
    s(`LMOVE ${k1} ${k2} LEFT`),
    s(`RPOPLPUSH ${k1}`),
    s(`RPOPLPUSH ${k1} ${k2} ${k1}`),
    s(['RPUSH', k1, 'bin\x00\r\nary', '']),
    s(`RPOPLPUSH ${k1} ${k2}`),
    s(`LMOVE ${k1} ${k2} RIGHT LEFT`),
    s(`LRANGE ${k2} 0 -1`),
    s(`EXPIRE ${k2} 100`),
    s(`LMOVE ${k2} ${k1} LEFT LEFT`),
    s(`TTL ${k2}`),
  ];
}

group('LMOVE and RPOPLPUSH on one shard', moves(LA, LB));
group('LMOVE and RPOPLPUSH across shards', moves(A, B));

/** LMPOP over keys k1..k3 (one shard or several). */
function lmpops(k1: string, k2: string, k3: string): Step[] {
  return [
    s(`LMPOP 2 ${k1} ${k2} LEFT`),
    s(`RPUSH ${k2} a b c d e`),
    s(`LMPOP 2 ${k1} ${k2} LEFT`),
    s(`LMPOP 2 ${k1} ${k2} RIGHT COUNT 2`),
    s(`LMPOP 3 ${k1} ${k3} ${k2} left count 10`),
    s(`EXISTS ${k2}`),
    s(`RPUSH ${k3} x y z`),
    s(`RPUSH ${k1} p`),
    s(`LMPOP 3 ${k1} ${k2} ${k3} RIGHT COUNT 3`),
    s(`EXISTS ${k1}`),
    s(`LMPOP 3 ${k1} ${k2} ${k3} RIGHT COUNT 3`),
    s(`LMPOP 1 ${k3} LEFT COUNT 9223372036854775807`),
    s(`LMPOP 1 ${k3} LEFT`),
    s(`SET ${STR} v`),
    s(`RPUSH ${k3} q`),
    s(`LMPOP 2 ${k1} ${STR} LEFT`),
    s(`LMPOP 2 ${k3} ${STR} LEFT`),
    s(`LMPOP 2 ${STR} ${k3} LEFT`),
    s(`LMPOP 0 ${k1} LEFT`),
    s(`LMPOP -1 ${k1} LEFT`),
    s(`LMPOP abc ${k1} LEFT`),
    s(`LMPOP 3 ${k1} ${k2} LEFT`),
    s(`LMPOP 2 ${k1} ${k2}`),
    s(`LMPOP 2 ${k1} ${k2} UP`),
    s(`LMPOP 2 ${k1} ${k2} LEFT COUNT 0`),
    s(`LMPOP 2 ${k1} ${k2} LEFT COUNT -1`),
    s(`LMPOP 2 ${k1} ${k2} LEFT COUNT abc`),
    s(`LMPOP 2 ${k1} ${k2} LEFT COUNT`),
    s(`LMPOP 2 ${k1} ${k2} LEFT COUNT 1 COUNT 2`),
    s(`LMPOP 2 ${k1} ${k2} LEFT FOO`),
    s(`LMPOP 99 ${k1} ${k2} LEFT`),
    s(`LMPOP 1 ${k1}`),
    s(`LMPOP 1`),
  ];
}

group('LMPOP on one shard', lmpops('{t}m1', '{t}m2', '{t}m3'));
group('LMPOP across shards', lmpops(A, B, KC));

// Past list-max-listpack-size (-2: 8 KB per node) both servers say quicklist.
group('OBJECT ENCODING past the listpack limit: quicklist', [
  s(['RPUSH', A, ...words('element-of-a-long-list-', 600)]),
  s(`OBJECT ENCODING ${A}`),
  s(`LLEN ${A}`),
  s(`LINDEX ${A} 300`),
  s(`LRANGE ${A} 295 305`),
  s(['RPUSH', B, 'x'.repeat(10_000)]),
  s(`OBJECT ENCODING ${B}`),
  s(`STRLEN ${B}`),
]);

timed('OBJECT ENCODING in Tessera: listpack for small lists (as Redis 7.2), quicklist past the limits', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    const enc = async (k: string): Promise<string> => (await c.call(['OBJECT', 'ENCODING', k])).text;
    await c.call(['DEL', A, B, KC]);
    await c.call(['RPUSH', A, 'a', 'b', 'c']);
    assert.is(await enc(A), '$8\r\nlistpack\r\n');
    await c.call(['RPUSH', A, ...words('element-of-a-long-list-', 600)]);
    assert.is(await enc(A), '$9\r\nquicklist\r\n');
    await c.call(['RPUSH', B, 'x'.repeat(10_000)]);
    assert.is(await enc(B), '$9\r\nquicklist\r\n');
    // A positive list-max-listpack-size counts entries.
    assert.is((await c.call(['CONFIG', 'SET', 'list-max-listpack-size', '4'])).text, '+OK\r\n');
    try {
      await c.call(['RPUSH', KC, '1', '2', '3', '4']);
      assert.is(await enc(KC), '$8\r\nlistpack\r\n');
      await c.call(['RPUSH', KC, '5']);
      assert.is(await enc(KC), '$9\r\nquicklist\r\n');
      assert.is((await c.call(['LRANGE', KC, '0', '-1'])).value.type, 'array');
      assert.equal(elems((await c.call(['LRANGE', KC, '0', '-1'])).value), ['1', '2', '3', '4', '5']);
    } finally {
      await c.call(['CONFIG', 'SET', 'list-max-listpack-size', '-2']);
    }
  } finally {
    c.close();
  }
});

// A 100K-element list, changed in the middle: both servers must agree on every reply.
const BIG = 100_000;
group('a 100K-element list: LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS in the middle', () => {
  const steps: Step[] = [];
  for (let i = 0; i < BIG; i += 10_000) steps.push(s(['RPUSH', D, ...words('v', 10_000, i)]));
  steps.push(
    s(`LLEN ${D}`),
    s(`OBJECT ENCODING ${D}`),
    s(`LINDEX ${D} 50000`),
    s(`LINDEX ${D} -50001`),
    s(`LSET ${D} 50000 changed`),
    s(`LSET ${D} -1 last`),
    s(`LINDEX ${D} 50000`),
    s(`LINSERT ${D} BEFORE v60000 before-60000`),
    s(`LINSERT ${D} AFTER v70000 after-70000`),
    s(`LINSERT ${D} AFTER nope x`),
    s(`LRANGE ${D} 59998 60002`),
    s(`LRANGE ${D} 70000 70003`),
    s(`LPOS ${D} v80000`),
    s(`LPOS ${D} last RANK -1`),
    s(`LPOS ${D} v1 MAXLEN 1000`),
    s(`LPOS ${D} v99000 MAXLEN 1000`),
    s(`RPUSH ${D} dup dup`),
    s(`LSET ${D} 40000 dup`),
    s(`LREM ${D} 1 dup`),
    s(`LREM ${D} -1 dup`),
    s(`LREM ${D} 0 v45000`),
    s(`LLEN ${D}`),
    s(`LRANGE ${D} 39998 40003`),
    s(`LTRIM ${D} 25000 -25000`),
    s(`LLEN ${D}`),
    s(`LINDEX ${D} 0`),
    s(`LINDEX ${D} -1`),
    s(`LRANGE ${D} 24990 25010`),
    s(`LPOP ${D} 5`),
    s(`RPOP ${D} 5`),
    s(`LLEN ${D}`),
  );
  return steps;
});

// --- concurrency across shards --------------------------------------------------------------------

async function call(c: RawClient, ...args: string[]): Promise<Reply> {
  return c.call(args);
}

timed('cross-shard LMOVE, RPOPLPUSH and LMPOP under concurrency: no element is lost or delivered twice', async () => {
  const N = 400;
  const setup = await rawClient(pair.tessera.port);
  const clients = await Promise.all([0, 1, 2, 3].map(() => rawClient(pair.tessera.port)));
  try {
    await call(setup, 'DEL', A, B, KC, D);
    await call(setup, 'RPUSH', A, ...words('j', N));
    // Movers shuffle elements between A, B and C; a consumer takes from them all with LMPOP into D.
    const consumed: string[] = [];
    let moving = true;
    const mover = async (c: RawClient, from: string, to: string, cmd: 'LMOVE' | 'RPOPLPUSH'): Promise<void> => {
      for (let i = 0; i < 300 && moving; i++) {
        const r = cmd === 'LMOVE' ? await call(c, 'LMOVE', from, to, 'LEFT', 'RIGHT') : await call(c, 'RPOPLPUSH', from, to);
        assert.ok(r.value.type === 'bulk', show(r.raw));
      }
    };
    const consumer = (async () => {
      const c = clients[3]!;
      for (;;) {
        const r = await call(c, 'LMPOP', '3', KC, B, A, 'LEFT', 'COUNT', '3');
        if (r.value.type === 'array' && r.value.value !== null) {
          const got = elems(r.value.value[1]!)!;
          consumed.push(...got);
        } else if (!moving) {
          return;
        }
        if (consumed.length >= N) return;
      }
    })();
    await Promise.all([mover(clients[0]!, A, B, 'LMOVE'), mover(clients[1]!, B, KC, 'RPOPLPUSH'), mover(clients[2]!, KC, A, 'LMOVE')]);
    moving = false;
    await consumer;
    const left = [A, B, KC].flatMap(() => [] as string[]);
    for (const k of [A, B, KC]) left.push(...elems((await call(setup, 'LRANGE', k, '0', '-1')).value)!);
    const all = [...consumed, ...left].sort();
    assert.equal(all, words('j', N).sort(), 'every element exactly once');
  } finally {
    setup.close();
    for (const c of clients) c.close();
  }
});

// --- real clients ------------------------------------------------------------------------------

timed('ioredis: list helpers across shards', async () => {
  const io = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await io.connect();
    await io.del(A, B);
    assert.is(await io.rpush(A, 'a', 'b', 'c'), 3);
    assert.is(await io.lpush(A, 'z'), 4);
    assert.equal(await io.lrange(A, 0, -1), ['z', 'a', 'b', 'c']);
    assert.is(await io.lindex(A, 1), 'a');
    assert.is(await io.lset(A, 1, 'A'), 'OK');
    assert.is(await io.linsert(A, 'AFTER', 'A', 'x'), 5);
    assert.is(await io.lpos(A, 'x'), 2);
    assert.is(await io.lmove(A, B, 'LEFT', 'RIGHT'), 'z');
    assert.is(await io.rpoplpush(A, B), 'c');
    assert.equal(await io.lmpop(2, [NOKEY, B], 'RIGHT', 'COUNT', 5), [B, ['z', 'c']]);
    assert.is(await io.lrem(A, 0, 'x'), 1);
    assert.is(await io.ltrim(A, 0, 0), 'OK');
    assert.equal(await io.lpop(A, 5), ['A']);
    assert.is(await io.exists(A), 0);
    assert.is(await io.lpop(A), null);
  } finally {
    io.disconnect();
  }
});

timed('node-redis: list helpers (RESP2 client)', async () => {
  const nr = createClient({ socket: { port: pair.tessera.port, host: '127.0.0.1', reconnectStrategy: false } });
  nr.on('error', () => {
    // surfaced by the failing command
  });
  await nr.connect();
  try {
    await nr.del([A, B]);
    assert.is(await nr.rPush(A, ['1', '2', '3', '4']), 4);
    assert.is(await nr.lPushX(A, '0'), 5);
    assert.is(await nr.lLen(A), 5);
    assert.equal(await nr.lRange(A, 1, 2), ['1', '2']);
    assert.is(await nr.lMove(A, B, 'RIGHT', 'LEFT'), '4');
    assert.equal(await nr.lmPop([A, B], 'LEFT', { COUNT: 2 }), [A, ['0', '1']]);
    assert.equal(await nr.lPos(A, '3'), 1);
    assert.equal(await nr.lPosCount(A, '3', 0), [1]);
    assert.equal(await nr.rPopCount(A, 9), ['3', '2']);
    assert.is(await nr.rPop(B), '4');
    assert.is(await nr.exists([A, B]), 0);
  } finally {
    await nr.quit();
  }
});

timed('redis-cli: list commands print as for redis-server (raw and formatted, RESP2 and RESP3)', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const script: string[][] = [
    ['DEL', 'cli:l', 'cli:m'],
    ['RPUSH', 'cli:l', 'a', 'b', 'c', 'a'],
    ['LRANGE', 'cli:l', '0', '-1'],
    ['LPOS', 'cli:l', 'a', 'COUNT', '0'],
    ['LPOP', 'cli:l', '2'],
    ['LMPOP', '2', 'cli:m', 'cli:l', 'RIGHT', 'COUNT', '1'],
    ['LMPOP', '1', 'cli:m', 'LEFT'],
    ['LINDEX', 'cli:l', '9'],
    ['LSET', 'cli:l', '9', 'x'],
    ['LLEN', 'cli:l'],
  ];
  for (const mode of [[], ['-3'], ['--no-raw'], ['-3', '--no-raw']]) {
    for (const args of script) {
      const [a, b] = await Promise.all(
        [pair.redis.port, pair.tessera.port].map((port) => redisCli(['-p', String(port), ...mode, ...args], { timeoutMs: 20_000 })),
      );
      assert.is(b!.code, a!.code, `exit code of ${args.join(' ')}`);
      assert.is(b!.stdout, a!.stdout, `redis-cli ${mode.join(' ')} ${args.join(' ')}`);
    }
  }
});

/** An interpreter that can `import redis` (Debian's python3-redis), or a failure saying so. */
function pythonWithRedis(): string {
  const tried: string[] = [];
  for (const py of ['python3', 'python', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import redis'], { stdio: 'ignore' });
    if (r.error === undefined && r.status === 0) return py;
    tried.push(`${py}: ${r.error ? 'not found' : 'cannot import redis'}`);
  }
  throw new Error(`no python interpreter can 'import redis' (${tried.join('; ')}): install Debian's python3-redis`);
}

const PYTHON_SCRIPT = `
import json, sys, redis
r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), decode_responses=True, socket_timeout=10)
a, b = sys.argv[2], sys.argv[3]
out = {}
r.delete(a, b)
out['rpush'] = r.rpush(a, 'a', 'b', 'c', 'd')
out['lpush'] = r.lpush(a, 'z')
out['lrange'] = r.lrange(a, 0, -1)
out['llen'] = r.llen(a)
out['lindex'] = r.lindex(a, -1)
out['lset'] = r.lset(a, 0, 'Z')
out['linsert'] = r.linsert(a, 'BEFORE', 'b', 'x')
out['lpos'] = r.lpos(a, 'b')
out['lpos_count'] = r.lpos(a, 'b', count=0)
out['lmove'] = r.lmove(a, b, 'LEFT', 'RIGHT')
out['rpoplpush'] = r.rpoplpush(a, b)
out['lmpop'] = r.lmpop(2, 'nokey:py', b, direction='LEFT', count=5)
out['lrem'] = r.lrem(a, 0, 'x')
out['ltrim'] = r.ltrim(a, 0, 1)
out['lpop'] = r.lpop(a, 3)
out['rpop'] = r.rpop(a)
out['exists'] = r.exists(a)
try:
    r.lset(a, 0, 'x')
except redis.ResponseError as e:
    out['error'] = str(e)
print(json.dumps(out, sort_keys=True))
`;

function runPython(py: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(py, ['-c', PYTHON_SCRIPT, String(port), A, B], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`${py} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

timed('python3 redis: list helpers give the same results as against redis-server', async () => {
  const py = pythonWithRedis();
  const [want, got] = [await runPython(py, pair.redis.port), await runPython(py, pair.tessera.port)];
  assert.is(got, want);
  const parsed = JSON.parse(got) as Record<string, unknown>;
  assert.equal(parsed['lrange'], ['z', 'a', 'b', 'c', 'd']);
  assert.is(parsed['error'], 'no such key');
});

const ttlOf = (r: Reply): number => (r.value.type === 'integer' ? Number(r.value.value) : NaN);

// --- persistence ---------------------------------------------------------------------------------

timed('the effect of every list command survives a crash: the append-only log replays to the same lists', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'list-aof-'));
  const args = ['--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--list-max-listpack-size', '8'];
  let server: ServerHandle | undefined;
  try {
    server = await startTessera({ shards: SHARDS, args });
    const c = await rawClient(server.port);
    const keys = [A, B, KC, D, LA, LB];
    const before: string[] = [];
    try {
      const script: string[][] = [
        ['RPUSH', A, ...words('a', 50)],
        ['LPUSH', B, ...words('b', 5)],
        ['LPUSHX', B, 'bx'],
        ['RPUSHX', KC, 'never'],
        ['LPOP', A, '3'],
        ['RPOP', A],
        ['LSET', A, '10', 'set-10'],
        ['LINSERT', A, 'BEFORE', 'a20', 'ins'],
        ['LREM', A, '0', 'a30'],
        ['LTRIM', A, '1', '-2'],
        ['LMOVE', A, B, 'LEFT', 'RIGHT'],
        ['RPOPLPUSH', B, KC],
        ['LMOVE', KC, KC, 'LEFT', 'RIGHT'],
        ['RPUSH', LA, 'x', 'y', 'z'],
        ['LMOVE', LA, LB, 'RIGHT', 'LEFT'],
        ['LMPOP', '3', NOKEY, B, A, 'LEFT', 'COUNT', '2'],
        ['LMPOP', '2', LA, LB, 'RIGHT'],
        ['RPUSH', D, ...words('d', 20)],
        ['LTRIM', D, '5', '2'],
        ['EXPIRE', A, '1000'],
        ['RPUSH', A, 'after-expire'],
      ];
      for (const cmd of script) {
        const r = await c.call(cmd);
        assert.ok(r.value.type !== 'error', `${cmd.join(' ')}: ${r.text}`);
      }
      for (const k of keys) before.push(show((await c.call(['LRANGE', k, '0', '-1'])).raw, 10_000));
      assert.ok(ttlOf(await c.call(['TTL', A])) > 900, 'a TTL before the crash');
    } finally {
      c.close();
    }
    // SIGKILL: nothing is flushed on the way out; what was acknowledged must be in the log.
    server.proc.kill('SIGKILL');
    await server.exited;
    const port = server.port;
    server = await startTesseraAt(port, { shards: SHARDS, args });
    const c2 = await rawClient(server.port);
    try {
      const after: string[] = [];
      for (const k of keys) after.push(show((await c2.call(['LRANGE', k, '0', '-1'])).raw, 10_000));
      assert.equal(after, before);
      assert.ok(ttlOf(await c2.call(['TTL', A])) > 900, 'the TTL survives');
      assert.is((await c2.call(['EXISTS', D])).text, ':0\r\n');
    } finally {
      c2.close();
    }
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- cluster mode, COMMAND INFO, integrity ---------------------------------------------------------

timed('cluster mode: keys of LMOVE, RPOPLPUSH and LMPOP must share a slot (CROSSSLOT as redis-server)', async () => {
  const steps: string[][] = [
    ['RPUSH', '{t}a', '1', '2', '3'],
    ['LMOVE', '{t}a', 'b', 'LEFT', 'RIGHT'],
    ['LMOVE', '{t}a', '{t}b', 'LEFT', 'RIGHT'],
    ['RPOPLPUSH', 'a', 'b'],
    ['RPOPLPUSH', '{t}a', '{t}b'],
    ['LMPOP', '2', 'a', 'b', 'LEFT'],
    ['LMPOP', '2', '{t}a', '{t}b', 'LEFT', 'COUNT', '5'],
    ['LMPOP', '0', 'a', 'LEFT'],
    ['LMPOP', '3', 'a', 'LEFT'],
    ['LRANGE', '{t}b', '0', '-1'],
    ['COMMAND', 'GETKEYS', 'LMPOP', '2', 'x', 'y', 'LEFT'],
    ['COMMAND', 'GETKEYS', 'LMOVE', 'x', 'y', 'LEFT', 'RIGHT'],
  ];
  await compareInOneNodeClusters('list-cluster', SHARDS, steps);
});

timed('COMMAND INFO of the list commands: arity, flags and key positions as redis-server', async () => {
  const [r, t] = await pair.connect();
  const names = ['lpush', 'rpush', 'lpushx', 'rpushx', 'lpop', 'rpop', 'llen', 'lrange', 'lindex', 'lset', 'linsert', 'lrem', 'ltrim', 'lpos', 'lmove', 'rpoplpush', 'lmpop'];
  try {
    const [ri, ti] = await Promise.all([call(r, 'COMMAND', 'INFO', ...names), call(t, 'COMMAND', 'INFO', ...names)]);
    const rv = plain(ri.value) as Plain[][];
    const tv = plain(ti.value) as Plain[][];
    // name, arity, flags, first, last, step.
    for (let i = 0; i < names.length; i++) assert.equal(tv[i]!.slice(0, 6), rv[i]!.slice(0, 6), names[i]);
  } finally {
    r.close();
    t.close();
  }
});

timed('after all of the above, each shard passes DEBUG INTEGRITY', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    await call(c, 'RPUSH', LA, ...words('w', 3000));
    for (let i = 0; i < 20; i++) {
      await call(c, 'LMOVE', LA, A, 'LEFT', 'RIGHT');
      await call(c, 'LTRIM', LA, '1', '-2');
      await call(c, 'LINSERT', LA, 'BEFORE', `w${1000 + i}`, `i${i}`);
      await call(c, 'LREM', LA, '0', `w${2000 + i}`);
      await call(c, 'LMPOP', '2', A, LA, 'RIGHT', 'COUNT', '7');
    }
    for (let shard = 0; shard < SHARDS; shard++) {
      const r = await call(c, 'DEBUG', 'INTEGRITY', String(shard));
      assert.is(r.value.type === 'error' ? r.text : 'ok', 'ok', `shard ${shard}: ${r.text}`);
    }
  } finally {
    c.close();
  }
});

diff('the chosen keys really are on different shards', () => {
  assert.equal(new Set([A, B, KC, D].map(shardOf)).size, 4);
  assert.is(shardOf(LA), shardOf(LB));
  assert.is(shardOf('{t}m1'), shardOf('{t}m3'));
});

diff.run();
