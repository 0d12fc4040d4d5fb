// Set commands, differentially: the same command scripts go as raw RESP to a real redis-server and
// to Tessera (four shards, keys chosen on different shards so multi-key commands cross them), in
// RESP2 and RESP3; replies must be byte-identical, except where Redis's order is unspecified
// (any encoding but intset: compared sorted) and for random commands (SPOP, SRANDMEMBER:
// compared by properties). Then atomicity of the cross-shard SMOVE and STORE forms under a
// concurrent reader, and real clients (ioredis, node-redis, redis-cli).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { keyOn as keyOnShard, shardOf as shardOfKey } from './shard-keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  plain,
  startClusterNode,
  waitFor,
  type Plain,
  rawClient,
  redisCli,
  requireTool,
  show,
  startRedis,
  startTessera,
  type RawClient,
  type Reply,
  type RespValue,
  type ServerHandle,
} from './harness.js';
import { ServerPair, elems, exact, groupsOn, runSteps, s, sorted, timedOn, type Compare, type Step } from './differential-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;

const shardOf = (key: string): number => shardOfKey(key, SHARDS);
const keyOn = (s: number, prefix: string): string => keyOnShard(s, SHARDS, prefix);

// Keys on four different shards, and two that share one shard (same hash tag).
const A = keyOn(0, 'a');
const B = keyOn(1, 'b');
const KC = keyOn(2, 'c');
const D = keyOn(3, 'd');
const SA = '{t}sa';
const SB = '{t}sb';
const STR = keyOn(2, 'str');
const NOKEY = keyOn(1, 'nokey');
const DST = keyOn(3, 'dst');

/** An SSCAN reply of a set not kept as an intset: same cursor, same page in any order. */
const scanSorted: Compare = (r, t) => {
  if (r.value.type !== 'array' || t.value.type !== 'array' || r.value.value === null || t.value.value === null) return exact(r, t);
  const [rc, rp] = r.value.value;
  const [tc, tp] = t.value.value;
  if (JSON.stringify(rc) !== JSON.stringify(tc)) return 'cursors differ';
  const re = elems(rp!)?.sort();
  const te = elems(tp!)?.sort();
  return JSON.stringify(re) === JSON.stringify(te) ? null : 'sorted pages differ';
};

/** Members in any order: sets not kept as intsets. */
const any = (command: string | string[]): Step => s(command, sorted);

const ints = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
const words = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });

const diff = suite('set commands: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);

const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

group('SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS', [
  s(`SADD ${A} 3 1 2 2 -5`),
  s(`SMEMBERS ${A}`),
  s(`SCARD ${A}`),
  s(`SISMEMBER ${A} 2`),
  s(`SISMEMBER ${A} 4`),
  s(`SISMEMBER ${A} x`),
  s(`SMISMEMBER ${A} 1 4 -5 x 01`),
  s(`SADD ${A} 1 4`),
  s(`SMEMBERS ${A}`),
  s(`SREM ${A} 1 9 x`),
  s(`SMEMBERS ${A}`),
  s(`SADD ${B} x y z x`),
  any(`SMEMBERS ${B}`),
  s(`SISMEMBER ${B} y`),
  s(['SADD', B, '', 'with space', 'bin\x00\r\nary']),
  any(`SMEMBERS ${B}`),
  s(['SISMEMBER', B, 'bin\x00\r\nary']),
  s(['SMISMEMBER', B, '', 'nope', 'with space']),
  s(`SREM ${B} x y z nope`),
  s(['SREM', B, '', 'with space', 'bin\x00\r\nary']),
  s(`EXISTS ${B}`),
  s(`SMEMBERS ${B}`),
  s(`SCARD ${NOKEY}`),
  s(`SISMEMBER ${NOKEY} a`),
  s(`SMISMEMBER ${NOKEY} a b`),
  s(`SREM ${NOKEY} a`),
  s(`SMEMBERS ${NOKEY}`),
  s(`SET ${STR} v`),
  s(`SADD ${STR} a`),
  s(`SREM ${STR} a`),
  s(`SCARD ${STR}`),
  s(`SISMEMBER ${STR} a`),
  s(`SMISMEMBER ${STR} a`),
  s(`SMEMBERS ${STR}`),
  s(`SADD ${A}`),
  s(`SREM ${A}`),
  s(`SCARD`),
  s(`SCARD ${A} ${B}`),
  s(`SISMEMBER ${A}`),
  s(`SMISMEMBER ${A}`),
  s(`SMEMBERS`),
  s(`TYPE ${A}`),
  s(`SADD ${A} 1`),
  s(`EXPIRE ${A} 100`),
  s(`SADD ${A} 2`),
  s(`TTL ${A}`),
]);

group('encoding switches: intset to hashtable at set-max-intset-entries, and on a string member', [
  s(['SADD', A, ...ints(1, 511)]),
  s(`SADD ${A} 512`),
  s(`SMEMBERS ${A}`),
  s(`SCARD ${A}`),
  s(`SADD ${A} 513`),
  any(`SMEMBERS ${A}`),
  s(`SREM ${A} 513`),
  any(`SMEMBERS ${A}`),
  s(`SISMEMBER ${A} 512`),
  s(['SADD', B, ...ints(-100, 100)]),
  s(`SMEMBERS ${B}`),
  s(`SADD ${B} x`),
  any(`SMEMBERS ${B}`),
  s(`SISMEMBER ${B} 7`),
  s(`SISMEMBER ${B} x`),
  s(['SADD', KC, '9223372036854775807', '-9223372036854775808', '100000000000', '-7']),
  any(`SMEMBERS ${KC}`),
  s(['SADD', D, ...words('m', 200)]),
  any(`SMEMBERS ${D}`),
  s(`SCARD ${D}`),
  s(['SREM', D, ...words('m', 199)]),
  s(`SMEMBERS ${D}`),
  s(['SADD', SA, 'x'.repeat(100), '1']),
  any(`SMEMBERS ${SA}`),
]);

/** The same operations over keys on one shard (hash tags) and over keys on four shards. */
function setAlgebra(k1: string, k2: string, k3: string, dst: string): Step[] {
  return [
    s(['SADD', k1, ...ints(1, 10)]),
    s(['SADD', k2, ...ints(5, 15)]),
    s(['SADD', k3, '7', '8', 'x', 'y']),
    s(`SINTER ${k1} ${k2}`),
    any(`SINTER ${k1} ${k2} ${k3}`), // iterates the smallest, a hashtable in Redis: its order
    s(`SINTER ${k1}`),
    s(`SINTER ${k1} ${k1}`),
    s(`SINTER ${k1} ${NOKEY}`),
    s(`SINTER ${NOKEY} ${k1}`),
    s(`SINTER ${k1} ${STR}`),
    s(`SINTER ${NOKEY} ${STR}`),
    s(`SUNION ${k1} ${k2}`),
    any(`SUNION ${k1} ${k2} ${k3}`),
    s(`SUNION ${k1} ${NOKEY}`),
    s(`SUNION ${NOKEY}`),
    s(`SUNION ${NOKEY} ${STR}`),
    s(`SDIFF ${k1} ${k2}`),
    s(`SDIFF ${k2} ${k1} ${k3}`),
    s(`SDIFF ${k1} ${k1}`),
    s(`SDIFF ${k1} ${NOKEY}`),
    s(`SDIFF ${NOKEY} ${k1}`),
    s(`SDIFF ${STR} ${NOKEY}`),
    any(`SDIFF ${k3} ${k1}`),
    s(`SINTERCARD 2 ${k1} ${k2}`),
    s(`SINTERCARD 3 ${k1} ${k2} ${k3}`),
    s(`SINTERCARD 2 ${k1} ${k2} LIMIT 3`),
    s(`SINTERCARD 2 ${k1} ${k2} LIMIT 0`),
    s(`SINTERCARD 2 ${k1} ${k2} LIMIT 100`),
    s(`SINTERCARD 2 ${k1} ${k2} limit 1 LIMIT 2`),
    s(`SINTERCARD 1 ${k1}`),
    s(`SINTERCARD 2 ${k1} ${NOKEY}`),
    s(`SINTERCARD 2 ${NOKEY} ${STR}`),
    s(`SINTERCARD 0 ${k1}`),
    s(`SINTERCARD -1 ${k1}`),
    s(`SINTERCARD abc ${k1}`),
    s(`SINTERCARD 3 ${k1} ${k2}`),
    s(`SINTERCARD 2 ${k1} ${k2} LIMIT -1`),
    s(`SINTERCARD 2 ${k1} ${k2} LIMIT x`),
    s(`SINTERCARD 2 ${k1} ${k2} LIMIT`),
    s(`SINTERCARD 2 ${k1} ${k2} FOO 1`),
    s(`SINTERCARD 1 ${k1} ${k2}`),
    s(`SINTERCARD 1`),
    s(`SINTERSTORE ${dst} ${k1} ${k2}`),
    s(`SMEMBERS ${dst}`),
    s(`TYPE ${dst}`),
    s(`SUNIONSTORE ${dst} ${k1} ${k2}`),
    s(`SMEMBERS ${dst}`),
    s(`SUNIONSTORE ${dst} ${k1} ${k3}`),
    any(`SMEMBERS ${dst}`),
    s(`SDIFFSTORE ${dst} ${k1} ${k2}`),
    s(`SMEMBERS ${dst}`),
    s(`SET ${dst} string EX 100`),
    s(`SINTERSTORE ${dst} ${k1} ${k3}`),
    s(`TTL ${dst}`),
    s(`SMEMBERS ${dst}`),
    s(`SINTERSTORE ${dst} ${k1} ${NOKEY}`),
    s(`EXISTS ${dst}`),
    s(`SUNIONSTORE ${dst} ${k1}`),
    s(`SDIFFSTORE ${dst} ${k1} ${k1}`),
    s(`EXISTS ${dst}`),
    s(`SUNIONSTORE ${dst} ${NOKEY}`),
    s(`SDIFFSTORE ${dst} ${NOKEY} ${k1}`),
    s(`SUNIONSTORE ${dst} ${k1}`),
    s(`SINTERSTORE ${dst} ${k1} ${STR}`),
    s(`SUNIONSTORE ${dst} ${STR}`),
    s(`SDIFFSTORE ${dst} ${NOKEY} ${STR}`),
    s(`SMEMBERS ${dst}`),
    s(`SUNIONSTORE ${STR} ${k1}`),
    s(`TYPE ${STR}`),
    s(`SMEMBERS ${STR}`),
    s(`SET ${STR} v`),
    s(`SINTERSTORE ${k1} ${k1} ${k2}`),
    s(`SMEMBERS ${k1}`),
    s(['SADD', k2, ...ints(100, 700)]),
    s(`SUNIONSTORE ${dst} ${k1} ${k2}`),
    any(`SMEMBERS ${dst}`),
    s(`SDIFFSTORE ${dst} ${k2} ${k1}`),
    any(`SCARD ${dst}`),
    s(`SINTER`),
    s(`SINTERSTORE ${dst}`),
    s(`SUNIONSTORE ${dst}`),
    s(`SDIFFSTORE ${dst}`),
  ];
}

group('SINTER, SUNION, SDIFF, their STORE forms and SINTERCARD on one shard', [s(`SET ${STR} v`), ...setAlgebra('{t}k1', '{t}k2', '{t}k3', '{t}dst')]);
group('SINTER, SUNION, SDIFF, their STORE forms and SINTERCARD across shards', [s(`SET ${STR} v`), ...setAlgebra(A, B, KC, DST)]);

group('SMOVE on one shard and across shards', [
  s(`SADD ${SA} 1 2 3`),
  s(`SMOVE ${SA} ${SB} 2`),
  s(`SMEMBERS ${SA}`),
  s(`SMEMBERS ${SB}`),
  s(`SMOVE ${SA} ${SB} 9`),
  s(`SMOVE ${SA} ${SA} 1`),
  s(`SMOVE ${SA} ${SA} 9`),
  s(`SMOVE ${NOKEY} ${NOKEY} 1`),
  s(`SMOVE ${SA} ${SB} 1`),
  s(`SMOVE ${SA} ${SB} 3`),
  s(`EXISTS ${SA}`),
  s(`SMEMBERS ${SB}`),
  s(`SADD ${A} 1 2 3`),
  s(`SMOVE ${A} ${B} 2`),
  s(`SMEMBERS ${A}`),
  s(`SMEMBERS ${B}`),
  s(`SADD ${B} 3`),
  s(`SMOVE ${A} ${B} 3`),
  s(`SMEMBERS ${B}`),
  s(`SMOVE ${A} ${B} 9`),
  s(`SMOVE ${A} ${B} 1`),
  s(`EXISTS ${A}`),
  s(`SMOVE ${B} ${KC} x`),
  s(`SADD ${B} x`),
  s(`SMOVE ${B} ${KC} x`),
  s(`SMEMBERS ${KC}`),
  s(`SET ${STR} v`),
  s(`SMOVE ${STR} ${B} 1`),
  s(`SMOVE ${B} ${STR} 1`),
  s(`SMOVE ${NOKEY} ${STR} 1`),
  s(`SMOVE ${B} ${STR} nope`),
  s(`SMOVE ${STR} ${NOKEY} 1`),
  s(`SMOVE ${B} ${D}`),
  s(`SMOVE ${B} ${D} 1 2`),
]);

group('SSCAN', [
  s(['SADD', A, ...ints(1, 20)]),
  s(`SSCAN ${A} 0`),
  s(`SSCAN ${A} 0 COUNT 5`),
  s(`SSCAN ${A} 0 MATCH 1*`),
  s(`SSCAN ${A} 0 match *2 count 100`),
  s(`SSCAN ${A} 0 MATCH *`),
  s(`SSCAN ${A} 0 MATCH nothing*`),
  s(`SSCAN ${A} -1`),
  s(`SSCAN ${A} 18446744073709551615`),
  s(['SSCAN', A, '']),
  s(`SSCAN ${A} 18446744073709551616`),
  s(`SSCAN ${A} abc`),
  s(`SSCAN ${A} 1.5`),
  s(`SSCAN ${A} 0 COUNT 0`),
  s(`SSCAN ${A} 0 COUNT -1`),
  s(`SSCAN ${A} 0 COUNT abc`),
  s(`SSCAN ${A} 0 MATCH`),
  s(`SSCAN ${A} 0 TYPE set`),
  s(`SSCAN ${A} 0 foo bar`),
  s(`SSCAN ${NOKEY} 0`),
  s(`SSCAN ${NOKEY} abc`),
  s(`SSCAN ${NOKEY} 0 COUNT 0`),
  s(`SET ${STR} v`),
  s(`SSCAN ${STR} 0`),
  s(`SSCAN ${STR} abc`),
  s(`SSCAN ${STR} 0 COUNT 0`),
  s(['SADD', B, 'a', '', 'b']),
  s(`SSCAN ${B} 0 MATCH *`, scanSorted),
  s(`SSCAN ${B} 0 MATCH ?`, scanSorted),
  s(`SSCAN ${B} 0`, scanSorted),
  s(`SSCAN ${A}`),
]);

group('SPOP and SRANDMEMBER: errors and deterministic cases', [
  s(`SADD ${A} 1 2 3`),
  s(`SPOP ${A} -1`),
  s(`SPOP ${A} abc`),
  s(`SPOP ${A} 1 2`),
  s(`SPOP ${A} 0`),
  s(`SPOP ${NOKEY}`),
  s(`SPOP ${NOKEY} 3`),
  s(`SPOP ${NOKEY} 0`),
  s(`SRANDMEMBER ${NOKEY}`),
  s(`SRANDMEMBER ${NOKEY} 5`),
  s(`SRANDMEMBER ${NOKEY} -5`),
  s(`SRANDMEMBER ${NOKEY} abc`),
  s(`SRANDMEMBER ${A} abc`),
  s(`SRANDMEMBER ${A} 1 2`),
  s(`SRANDMEMBER ${A} 0`),
  s(`SRANDMEMBER ${A} -9223372036854775808`),
  s(`SRANDMEMBER ${A} 99999999999999999999`),
  s(`SRANDMEMBER ${A} 3`),
  s(`SRANDMEMBER ${A} 9223372036854775807`),
  s(`SET ${STR} v`),
  s(`SPOP ${STR}`),
  s(`SPOP ${STR} 2`),
  s(`SPOP ${STR} 0`),
  s(`SPOP ${STR} abc`),
  s(`SRANDMEMBER ${STR}`),
  s(`SRANDMEMBER ${STR} 2`),
  s(`SRANDMEMBER ${STR} abc`),
  s(`SPOP`),
  s(`SRANDMEMBER`),
  s(`SADD ${B} only`),
  s(`SRANDMEMBER ${B}`),
  s(`SRANDMEMBER ${B} 1`),
  s(`SRANDMEMBER ${B} -3`),
  s(`SPOP ${B}`),
  s(`EXISTS ${B}`),
  s(`SADD ${B} only`),
  s(`SPOP ${B} 1`),
  s(`EXISTS ${B}`),
  s(`SPOP ${A} 3`),
  s(`EXISTS ${A}`),
  s(`SADD ${KC} 5 1 3`),
  s(`SPOP ${KC} 99999999999999999999`),
  s(`SPOP ${KC} 9007199254740993`),
  s(`EXISTS ${KC}`),
  s(['SADD', A, ...ints(1, 50)]),
  s(`SPOP ${A} 100`),
  s(`EXISTS ${A}`),
]);

// --- random commands: properties, on each server alike --------------------------------------------

async function call(c: RawClient, ...args: string[]): Promise<Reply> {
  return c.call(args);
}

function members(r: Reply): string[] {
  const m = elems(r.value);
  if (m === null) throw new Error(`not an aggregate: ${show(r.raw)}`);
  return m;
}

/** SPOP and SRANDMEMBER on one server: counts, distinctness, membership, and that SPOP removed
 * what it returned; the reply's type byte per command, for comparing the servers. */
async function randomProperties(port: number, proto: 2 | 3, key: string, initial: string[]): Promise<string[]> {
  const c = await rawClient(port);
  const types: string[] = [];
  const type = (r: Reply): Reply => {
    types.push(String.fromCharCode(r.raw[0]!));
    return r;
  };
  try {
    if (proto === 3) await call(c, 'HELLO', '3');
    await call(c, 'DEL', key);
    await call(c, 'SADD', key, ...initial);
    const all = new Set(initial);
    const size = all.size;
    const r1 = members(type(await call(c, 'SRANDMEMBER', key, '5')));
    assert.is(r1.length, 5);
    assert.is(new Set(r1).size, 5, 'SRANDMEMBER positive count: distinct');
    for (const m of r1) assert.ok(all.has(m), `SRANDMEMBER returned ${m}`);
    const big = Math.max(1, size - 2);
    const r1b = members(type(await call(c, 'SRANDMEMBER', key, String(big))));
    assert.is(new Set(r1b).size, big, 'SRANDMEMBER count near the size: distinct');
    const r2 = members(type(await call(c, 'SRANDMEMBER', key, '-30')));
    assert.is(r2.length, 30);
    for (const m of r2) assert.ok(all.has(m));
    const r3 = members(type(await call(c, 'SRANDMEMBER', key, String(size + 10))));
    assert.equal([...r3].sort(), [...all].sort(), 'SRANDMEMBER count > size: the whole set');
    const one = type(await call(c, 'SRANDMEMBER', key));
    assert.ok(one.value.type === 'bulk' && all.has(one.value.value!.toString('latin1')));
    const popped = members(type(await call(c, 'SPOP', key, '4')));
    assert.is(new Set(popped).size, 4, 'SPOP count: distinct');
    for (const m of popped) {
      assert.ok(all.has(m), `SPOP returned ${m}`);
      all.delete(m);
    }
    const single = type(await call(c, 'SPOP', key));
    assert.ok(single.value.type === 'bulk' && single.value.value !== null);
    const sm = single.value.value!.toString('latin1');
    assert.ok(all.has(sm), `SPOP returned ${sm}`);
    all.delete(sm);
    const left = members(await call(c, 'SMEMBERS', key));
    assert.equal(left.sort(), [...all].sort(), 'SPOP removed exactly what it returned');
    const rest = members(type(await call(c, 'SPOP', key, String(all.size + 1))));
    assert.equal(rest.sort(), [...all].sort());
    assert.is((await call(c, 'EXISTS', key)).text, ':0\r\n', 'SPOP of the whole set deletes the key');
    return types;
  } finally {
    c.close();
  }
}

for (const proto of [2, 3] as const) {
  for (const [name, initial] of [
    ['intset', ints(1, 40)],
    ['small strings', words('w', 40)],
    ['hashtable', words('h', 300)],
  ] as const) {
    timed(`SPOP and SRANDMEMBER properties on a ${name} set (RESP${proto})`, async () => {
      const rt = await randomProperties(pair.redis.port, proto, A, [...initial]);
      const tt = await randomProperties(pair.tessera.port, proto, A, [...initial]);
      assert.equal(tt, rt, 'reply types per command');
    });
  }
}

timed('SSCAN over a hashtable set returns every member (RESP2 and RESP3, both servers)', async () => {
  const all = words('member:', 1000);
  for (const port of [pair.redis.port, pair.tessera.port]) {
    for (const proto of [2, 3] as const) {
      const c = await rawClient(port);
      try {
        if (proto === 3) await call(c, 'HELLO', '3');
        await call(c, 'DEL', B);
        await call(c, 'SADD', B, ...all);
        const seen = new Set<string>();
        let cursor = '0';
        let rounds = 0;
        do {
          const r = await call(c, 'SSCAN', B, cursor, 'COUNT', '50');
          assert.ok(r.value.type === 'array' && r.value.value !== null && r.value.value.length === 2, show(r.raw));
          const [cur, page] = r.value.value;
          cursor = cur!.type === 'bulk' ? cur!.value!.toString('latin1') : '?';
          for (const m of elems(page!)!) seen.add(m);
          assert.ok(++rounds < 10_000, 'SSCAN ends');
        } while (cursor !== '0');
        assert.is(seen.size, all.length, `port ${port} RESP${proto}`);
        const filtered = await call(c, 'SSCAN', B, '0', 'MATCH', 'member:99*', 'COUNT', '100000');
        const page = (filtered.value as { value: RespValue[] }).value[1]!;
        assert.equal(elems(page)!.sort(), ['member:99', ...ints(990, 999).map((n) => `member:${n}`)].sort());
      } finally {
        c.close();
      }
    }
  }
});

// OBJECT ENCODING against redis-server 7.0 needs OBJECT and `--set-max-listpack-entries 0` (so that
// Tessera's Redis 7.2 listpack for small string sets is off).
timed('OBJECT ENCODING at every switch (Tessera with --set-max-listpack-entries 0)', async () => {
  const t = await startTessera({ shards: SHARDS, args: ['--set-max-listpack-entries', '0'] });
  const steps: Step[] = [
    s(['SADD', A, ...ints(1, 512)]),
    s(`OBJECT ENCODING ${A}`), // intset
    s(`SADD ${A} 513`),
    s(`OBJECT ENCODING ${A}`), // hashtable
    s(['SREM', A, ...ints(2, 513)]),
    s(`OBJECT ENCODING ${A}`), // stays hashtable
    s(`SADD ${B} 1 x`),
    s(`OBJECT ENCODING ${B}`), // hashtable
    s(`SADD ${KC} 1 2`),
    s(`SADD ${KC} x`),
    s(`OBJECT ENCODING ${KC}`), // intset -> hashtable
    s(`SINTERSTORE ${DST} ${KC} ${KC}`),
    s(`OBJECT ENCODING ${DST}`),
    s(`SUNIONSTORE ${DST} ${A}`),
    s(`OBJECT ENCODING ${DST}`), // intset again: a STORE result is a new set
    s(`SMOVE ${DST} ${D} 1`),
    s(`OBJECT ENCODING ${D}`), // intset
    s(`SMOVE ${B} ${D} x`),
    s(`OBJECT ENCODING ${D}`), // hashtable
  ];
  try {
    await runSteps({ redis: pair.redis, tessera: t }, steps);
  } finally {
    await t.stop();
  }
});

// --- atomicity across shards -------------------------------------------------------------------

timed('SMOVE across shards is atomic: a concurrent SUNION always sees the member exactly once', async () => {
  const w = await rawClient(pair.tessera.port);
  const r = await rawClient(pair.tessera.port);
  try {
    await call(w, 'DEL', A, B);
    await call(w, 'SADD', A, 'm', 'stay-a');
    await call(w, 'SADD', B, 'stay-b');
    let stop = false;
    let reads = 0;
    const reading = (async () => {
      while (!stop) {
        const u = members(await call(r, 'SUNION', A, B));
        assert.equal(u.filter((x) => x === 'm').length, 1, `SUNION saw ${JSON.stringify(u)}`);
        const card = await call(r, 'SINTERCARD', '2', A, B);
        assert.is(card.text, ':0\r\n');
        reads++;
      }
    })();
    for (let i = 0; i < 200; i++) {
      const [from, to] = i % 2 === 0 ? [A, B] : [B, A];
      assert.is((await call(w, 'SMOVE', from, to, 'm')).text, ':1\r\n');
    }
    stop = true;
    await reading;
    assert.ok(reads > 0);
  } finally {
    w.close();
    r.close();
  }
});

timed('STORE forms across shards are atomic: a reader sees the old or the new result, never a part', async () => {
  const w = await rawClient(pair.tessera.port);
  const r = await rawClient(pair.tessera.port);
  try {
    await call(w, 'DEL', A, B, DST);
    await call(w, 'SADD', A, ...words('x', 300));
    await call(w, 'SADD', B, ...words('x', 100), ...words('y', 50));
    let stop = false;
    const reading = (async () => {
      while (!stop) {
        const n = (await call(r, 'SCARD', DST)).text;
        assert.ok([':0\r\n', ':350\r\n', ':200\r\n', ':100\r\n'].includes(n), `SCARD saw ${n}`);
      }
    })();
    for (let i = 0; i < 60; i++) {
      const cmd = ['SUNIONSTORE', 'SDIFFSTORE', 'SINTERSTORE'][i % 3]!;
      const want = [':350\r\n', ':200\r\n', ':100\r\n'][i % 3];
      assert.is((await call(w, cmd, DST, A, B)).text, want);
    }
    stop = true;
    await reading;
  } finally {
    w.close();
    r.close();
  }
});

// --- real clients ------------------------------------------------------------------------------

timed('ioredis: sadd, smembers, sismember, smove, sinter across shards', async () => {
  const io = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await io.connect();
    await io.del(A, B);
    assert.is(await io.sadd(A, 'a', 'b', 'c', 'a'), 3);
    assert.is(await io.sadd(B, ['b', 'c', 'd']), 3);
    assert.equal((await io.smembers(A)).sort(), ['a', 'b', 'c']);
    assert.is(await io.sismember(A, 'b'), 1);
    assert.equal(await io.smismember(A, 'a', 'z'), [1, 0]);
    assert.equal((await io.sinter(A, B)).sort(), ['b', 'c']);
    assert.is(await io.smove(A, B, 'a'), 1);
    assert.is(await io.scard(B), 4);
    assert.is(await io.sintercard(2, A, B), 2);
    assert.equal(await io.smembers(NOKEY), []);
  } finally {
    io.disconnect();
  }
});

timed('node-redis: sAdd, sMembers, sIsMember, sUnion, sPop (RESP2 client)', async () => {
  const nr = createClient({ socket: { port: pair.tessera.port, host: '127.0.0.1', reconnectStrategy: false } });
  nr.on('error', () => {
    // surfaced by the failing command
  });
  await nr.connect();
  try {
    await nr.del([A, B]);
    assert.is(await nr.sAdd(A, ['1', '2', '3']), 3);
    assert.is(await nr.sAdd(B, 'x'), 1);
    assert.equal(await nr.sMembers(A), ['1', '2', '3']);
    assert.is(await nr.sIsMember(A, '2'), true);
    assert.equal((await nr.sUnion([A, B])).sort(), ['1', '2', '3', 'x']);
    assert.is(await nr.sUnionStore(DST, [A, B]), 4);
    const popped = await nr.sPop(DST, 4);
    assert.equal([...popped].sort(), ['1', '2', '3', 'x']);
    assert.is(await nr.exists(DST), 0);
  } finally {
    await nr.quit();
  }
});

timed('redis-cli: SADD, SMEMBERS, SINTERSTORE across shards', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const port = String(pair.tessera.port);
  await redisCli(['-p', port, 'DEL', A, B, DST]);
  const add = await redisCli(['-p', port, 'SADD', A, '3', '1', '2']);
  assert.is(add.stdout.trim(), '3', add.stderr);
  await redisCli(['-p', port, 'SADD', B, '2', '3', '4']);
  const store = await redisCli(['-p', port, 'SINTERSTORE', DST, A, B]);
  assert.is(store.stdout.trim(), '2');
  const got = await redisCli(['-p', port, 'SMEMBERS', DST]);
  assert.is(got.stdout, '2\n3\n');
  const wrong = await redisCli(['-p', port, 'SMOVE', A, DST]);
  assert.match(wrong.stdout + wrong.stderr, /wrong number of arguments for 'smove' command/);
});

timed('cluster mode: keys of a multi-key set command must share a slot (CROSSSLOT as redis-server)', async () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'set-cluster-redis-')), mkdtempSync(join(tmpdir(), 'set-cluster-tessera-'))];
  const servers: ServerHandle[] = [];
  try {
    servers.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dirs[0]!, 'nodes.conf'), '--dir', dirs[0]!] }));
    const node = await startClusterNode({ nodeTimeoutMs: 5_000, shards: SHARDS, dir: dirs[1]! });
    servers.push(node.handle);
    for (const srv of servers) {
      const c = await rawClient(srv.port);
      try {
        assert.is((await call(c, 'CLUSTER', 'ADDSLOTSRANGE', '0', '16383')).text, '+OK\r\n');
        await waitFor(`cluster_state:ok on ${srv.kind}`, async () => (await call(c, 'CLUSTER', 'INFO')).text.includes('cluster_state:ok'), 15_000);
      } finally {
        c.close();
      }
    }
    const [r, t] = await Promise.all(servers.map((x) => rawClient(x.port)));
    const steps: string[][] = [
      ['SADD', '{t}a', '1', '2', '3'],
      ['SADD', '{t}b', '2', '3', '4'],
      ['SINTER', 'a', 'b'],
      ['SINTER', '{t}a', '{t}b'],
      ['SINTERCARD', '2', 'a', 'b'],
      ['SINTERCARD', '2', '{t}a', '{t}b', 'LIMIT', '1'],
      ['SINTERCARD', '1', '{t}a', 'LIMIT', '5'],
      ['SINTERCARD', '0', 'a'],
      ['SINTERCARD', '3', 'a'],
      ['SUNIONSTORE', 'dst', '{t}a', '{t}b'],
      ['SUNIONSTORE', '{t}dst', '{t}a', '{t}b'],
      ['SDIFF', '{t}a', 'b'],
      ['SMOVE', '{t}a', 'b', '1'],
      ['SMOVE', '{t}a', '{t}b', '1'],
      ['SMEMBERS', '{t}b'],
      ['COMMAND', 'GETKEYS', 'SINTERCARD', '2', 'x', 'y', 'LIMIT', '3'],
      ['COMMAND', 'GETKEYS', 'SINTERCARD', '0', 'x'],
    ];
    const problems: string[] = [];
    try {
      for (const args of steps) {
        const [rr, tr] = await Promise.all([call(r!, ...args), call(t!, ...args)]);
        if (!rr.raw.equals(tr.raw)) problems.push(`${args.join(' ')}\n    redis:   ${show(rr.raw)}\n    tessera: ${show(tr.raw)}`);
      }
    } finally {
      r!.close();
      t!.close();
    }
    assert.is(problems.length, 0, problems.join('\n  '));
  } finally {
    await Promise.all(servers.map((x) => x.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

timed('COMMAND INFO SINTERCARD: movable keys counted by numkeys, as redis-server', async () => {
  const [r, t] = await pair.connect();
  try {
    const [ri, ti] = await Promise.all([call(r, 'COMMAND', 'INFO', 'SINTERCARD'), call(t, 'COMMAND', 'INFO', 'SINTERCARD')]);
    // name, arity, flags, first, last, step; then the key spec's search and find parts.
    const head = (x: Reply): string => JSON.stringify(plain(x.value));
    const rv = plain(ri.value) as Plain[][];
    const tv = plain(ti.value) as Plain[][];
    assert.equal(tv[0]!.slice(0, 6), rv[0]!.slice(0, 6), `${head(ri)}\n${head(ti)}`);
    const spec = (v: Plain[][]): string => JSON.stringify(v[0]![8]).replace(/"flags",\[[^\]]*\],/, '');
    assert.is(spec(tv), spec(rv).replace(/,"access"/, ''));
  } finally {
    r.close();
    t.close();
  }
});

timed('after all of the above, and a churn over every encoding, each shard passes DEBUG INTEGRITY', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    await call(c, 'SADD', SA, ...ints(1, 600), ...words('s', 150));
    for (let i = 0; i < 20; i++) {
      await call(c, 'SPOP', SA, '30');
      await call(c, 'SUNIONSTORE', A, SA, B);
      await call(c, 'SINTERSTORE', SB, SA, A);
      await call(c, 'SMOVE', A, D, String(i));
      await call(c, 'SADD', SA, ...ints(i * 10, i * 10 + 20), `x${i}`);
      await call(c, 'SREM', A, ...ints(0, 300));
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
  assert.is.not(shardOf(DST), shardOf(A));
  assert.is(shardOf(SA), shardOf(SB));
});

diff.run();
