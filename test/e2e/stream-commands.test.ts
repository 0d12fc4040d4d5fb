// Stream commands (no consumer groups), differentially: the same scripts go as raw RESP to a real
// redis-server 7.0 and to Tessera (four shards; XREAD's keys on different shards), in RESP2 and
// RESP3, byte for byte. Ids are explicit, so replies are deterministic; `*` ids are checked for
// their shape only. Node effects (XINFO's radix-tree counts, `~` trimming of whole nodes) use
// both servers' defaults (100 entries per node). Then keyspace events, TYPE/OBJECT ENCODING/SCAN
// TYPE, DUMP/RESTORE, and real clients.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { keyOn as keyOnShard } from './shard-keys.js';
import { rawClient, redisCli, requireTool } from './harness.js';
import { ServerPair, groupsOn, s, timedOn, type Compare } from './differential-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;
const keyOn = (sh: number, prefix: string): string => keyOnShard(sh, SHARDS, prefix);

const A = keyOn(0, 'sa');
const B = keyOn(1, 'sb');
const C = keyOn(2, 'sc');
const STR = keyOn(3, 'str');
const NOKEY = keyOn(2, 'nokey');

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });
const diff = suite('streams: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

/** XADD of n entries to key with ids ms-0 from `from`, fields as `shape` picks. */
function adds(key: string, from: number, n: number, shape: (i: number) => string[] = (i) => ['f1', `v${i}`, 'f2', 'x', 'f3', `${i * 7}`]): ReturnType<typeof s>[] {
  return Array.from({ length: n }, (_, i) => s(['XADD', key, `${from + i}-0`, ...shape(from + i)]));
}

/** A reply that is an id generated from the clock: its shape only. */
const autoId: Compare = (r, t) => {
  const re = /^\$\d+\r\n\d+-\d+\r\n$/;
  return re.test(r.raw.toString()) && re.test(t.raw.toString()) ? null : 'not both ids';
};

group('XADD ids, XLEN, XRANGE and XREVRANGE', [
  s(`XADD ${A} 1-1 a 1`),
  s(`XADD ${A} 1-1 a 1`),
  s(`XADD ${A} 1 a 1`),
  s(`XADD ${A} 1-* b 2`),
  s(`XADD ${A} 1-* b 3 c 4`),
  s(`XADD ${A} 5 a 1`),
  s(`XADD ${A} 5-* a 1`),
  s(`XADD ${A} 0-0 a 1`),
  s(`XADD ${B} 0-0 a 1`),
  s(`EXISTS ${B}`),
  s(`XADD ${B} 0-* a 1`),
  s(`XADD ${A} 18446744073709551615-18446744073709551614 big 1`),
  s(`XADD ${A} 18446744073709551615-* big 2`),
  s(`XADD ${A} * big 3`),
  s(`XADD ${A} 18446744073709551615-* big 4`),
  s(`XADD ${A} 18446744073709551616 a 1`),
  s(`XADD ${A} -1 a 1`),
  s(`XADD ${A} 1-x a 1`),
  s(`XADD ${A} a 1`),
  s(`XADD ${A} * a`),
  s(`XADD ${A} 99-1 a 1 b`),
  s(`XLEN ${A}`),
  s(`XLEN ${NOKEY}`),
  s(`XRANGE ${A} - +`),
  s(`XRANGE ${A} - + COUNT 2`),
  s(`XRANGE ${A} - + COUNT 0`),
  s(`XRANGE ${A} - + COUNT -3`),
  s(`XRANGE ${NOKEY} - + COUNT 0`),
  s(`XRANGE ${A} 1 1`),
  s(`XRANGE ${A} 1-2 5`),
  s(`XRANGE ${A} (1-2 +`),
  s(`XRANGE ${A} - (5-1`),
  s(`XRANGE ${A} (- +`),
  s(`XRANGE ${A} - (0-0`),
  s(`XRANGE ${A} (18446744073709551615-18446744073709551615 +`),
  s(`XRANGE ${A} 5 1`),
  s(`XRANGE ${A} - + COUNT`),
  s(`XRANGE ${A} - + LIMIT 1`),
  s(`XRANGE ${A} - + COUNT x`),
  s(`XRANGE ${A} x +`),
  s(`XREVRANGE ${A} + -`),
  s(`XREVRANGE ${A} + - COUNT 3`),
  s(`XREVRANGE ${A} 5 (1-1`),
  s(`XREVRANGE ${A} (5-0 -`),
  s(`XREVRANGE ${NOKEY} + -`),
  s(`SET ${STR} x`),
  s(`XADD ${STR} * a 1`),
  s(`XLEN ${STR}`),
  s(`XRANGE ${STR} - +`),
]);

group('XADD with a clock id and NOMKSTREAM', [
  s(`XADD ${A} * a 1`, autoId),
  s(`XADD ${A} * a 2`, autoId),
  s(`XLEN ${A}`),
  s(`XADD ${NOKEY} NOMKSTREAM * a 1`),
  s(`EXISTS ${NOKEY}`),
  s(`XADD ${NOKEY} NOMKSTREAM 1-1 a 1`),
  s(`XADD ${B} 1-1 a 1`),
  s(`XADD ${B} NOMKSTREAM 2-1 a 1`),
  s(`XADD ${B} NOMKSTREAM`),
]);

group('Entries across many nodes: same and different fields, ranges from any id', () => [
  ...adds(A, 1, 350, (i) => (i % 9 === 0 ? ['other', `${i}`] : i % 13 === 0 ? ['f1', 'a', 'f2', 'b'] : ['f1', `v${i}`, 'f2', 'x', 'f3', `${i * 7}`])),
  s(`XLEN ${A}`),
  s(`XRANGE ${A} 95 105`),
  s(`XRANGE ${A} 199-0 201`),
  s(`XRANGE ${A} (100-0 + COUNT 5`),
  s(`XREVRANGE ${A} 302 (290 COUNT 20`),
  s(`XREVRANGE ${A} + - COUNT 4`),
  s(`XRANGE ${A} - + COUNT 3`),
  s(`XINFO STREAM ${A}`),
  s(`XDEL ${A} 100-0 101-0 101-0 5000-0`),
  s(`XDEL ${A} 100-0`),
  s(`XRANGE ${A} 99 102`),
  s(`XINFO STREAM ${A}`),
  s(`XDEL ${A} ${Array.from({ length: 100 }, (_, i) => `${i + 1}-0`).join(' ')}`),
  s(`XINFO STREAM ${A}`),
  s(`XRANGE ${A} - + COUNT 2`),
  s(`XDEL ${NOKEY} 1-0`),
  s(`XDEL ${NOKEY} bad`),
  s(`XDEL ${A} 1-0 bad`),
  s(`XDEL ${A} -`),
  s(`XDEL ${A} 350-0`),
  s(`XINFO STREAM ${A}`),
  s(`XREVRANGE ${A} + - COUNT 1`),
]);

group('XTRIM and XADD trimming: MAXLEN, MINID, = and ~, LIMIT', () => [
  ...adds(A, 1, 420),
  s(`XTRIM ${A} MAXLEN ~ 250`),
  s(`XLEN ${A}`),
  s(`XINFO STREAM ${A}`),
  s(`XTRIM ${A} MAXLEN = 250`),
  s(`XINFO STREAM ${A}`),
  s(`XTRIM ${A} MAXLEN 249`),
  s(`XTRIM ${A} MINID ~ 260`),
  s(`XTRIM ${A} MINID 260`),
  s(`XRANGE ${A} - + COUNT 2`),
  s(`XINFO STREAM ${A}`),
  s(`XTRIM ${A} MAXLEN ~ 0 LIMIT 50`),
  s(`XTRIM ${A} MAXLEN ~ 0 LIMIT 100`),
  s(`XLEN ${A}`),
  s(`XTRIM ${A} MAXLEN 10 LIMIT 100`),
  s(`XTRIM ${A} MAXLEN ~ -1`),
  s(`XTRIM ${A} MAXLEN x`),
  s(`XTRIM ${A} MINID -`),
  s(`XTRIM ${A} MINID 5 MAXLEN 1`),
  s(`XTRIM ${A} LIMIT 10`),
  s(`XTRIM ${A} FOO`),
  s(`XTRIM ${A} MAXLEN ~ 5 LIMIT -1`),
  s(`XTRIM ${NOKEY} MAXLEN 1`),
  s(`XTRIM ${STR} MAXLEN 1`),
  s(`XADD ${A} MAXLEN 3 500-0 a 1`),
  s(`XRANGE ${A} - +`),
  s(`XADD ${A} MAXLEN = 2 501-0 a 1`),
  s(`XADD ${A} MINID 501 502-0 a 1`),
  s(`XRANGE ${A} - +`),
  s(`XADD ${A} MAXLEN 1 LIMIT 10 503-0 a 1`),
  s(`XADD ${A} LIMIT 0 503-0 a 1`),
  s(`XADD ${A} LIMIT 1 503-0 a 1`),
  s(`XADD ${A} MAXLEN ~ -1 503-0 a 1`),
  s(`XADD ${A} MAXLEN 1 MINID 1 503-0 a 1`),
  s(`XTRIM ${A} MAXLEN 0`),
  s(`XINFO STREAM ${A}`),
  s(`EXISTS ${A}`),
  s(`XADD ${A} 1-0 a 1`),
  ...adds(B, 1, 250),
  s(`XADD ${B} MAXLEN ~ 100 251-0 a 1`),
  s(`XLEN ${B}`),
  s(`XADD ${B} MINID ~ 230 LIMIT 1000 252-0 a 1`),
  s(`XLEN ${B}`),
  s(`XINFO STREAM ${B}`),
  s(`XTRIM ${B} MINID 300`),
  s(`XINFO STREAM ${B}`),
  s(`XADD ${B} 400-0 a 1`),
  s(`XINFO STREAM ${B}`),
]);

group('XSETID', [
  s(`XSETID ${NOKEY} 1-1`),
  s(`XADD ${A} 5-5 a 1`),
  s(`XSETID ${A} 5-4`),
  s(`XSETID ${A} 5-5`),
  s(`XSETID ${A} 10-0 ENTRIESADDED 0`),
  s(`XSETID ${A} 10-0 ENTRIESADDED -1`),
  s(`XSETID ${A} 10-0 ENTRIESADDED 7 MAXDELETEDID 3-0`),
  s(`XSETID ${A} 10-0 MAXDELETEDID 11-0`),
  s(`XSETID ${A} 10-0 MAXDELETEDID x`),
  s(`XSETID ${A} 10-0 FOO 1`),
  s(`XSETID ${A} -`),
  s(`XINFO STREAM ${A}`),
  s(`XADD ${A} 10-0 a 1`),
  s(`XADD ${A} 10-* a 1`),
  s(`XINFO STREAM ${A}`),
  s(`XDEL ${A} 10-1 5-5`),
  s(`XSETID ${A} 0-1`),
  s(`XINFO STREAM ${A}`),
  s(`XSETID ${STR} 1-1`),
]);

group('XINFO STREAM FULL and HELP', () => [
  s(`XINFO HELP`),
  s(`XINFO HELP x`),
  s(`XINFO FOO ${A}`),
  s(`XINFO STREAM ${NOKEY}`),
  ...adds(A, 1, 30),
  s(`XINFO STREAM ${A} FULL`),
  s(`XINFO STREAM ${A} FULL COUNT 3`),
  s(`XINFO STREAM ${A} FULL COUNT 0`),
  s(`XINFO STREAM ${A} FULL COUNT -1`),
  s(`XINFO STREAM ${A} FULL COUNT x`),
  s(`XINFO STREAM ${A} FULL x`),
  s(`XINFO STREAM ${A} FOO`),
  s(`XINFO STREAM ${A} FULL COUNT 1 x`),
  s(`XINFO STREAM ${STR}`),
]);

group('XREAD without BLOCK, keys on several shards', [
  s(`XADD ${A} 1-1 a 1`),
  s(`XADD ${A} 2-1 a 2`),
  s(`XADD ${B} 1-5 b 1`),
  s(`XADD ${C} 3-0 c 1`),
  s(`XREAD STREAMS ${A} 0`),
  s(`XREAD COUNT 1 STREAMS ${A} ${B} ${C} 0 0 0`),
  s(`XREAD STREAMS ${A} ${B} ${C} ${NOKEY} 1-1 1-5 0 0`),
  s(`XREAD STREAMS ${A} ${B} 2-1 1-5`),
  s(`XREAD STREAMS ${A} ${B} $ $`),
  s(`XREAD STREAMS ${A} ${NOKEY} 0 $`),
  s(`XREAD COUNT 0 STREAMS ${C} ${A} 0 (0`),
  s(`XREAD COUNT -5 STREAMS ${C} 0`),
  s(`XREAD STREAMS ${A} ${B} 0 +`),
  s(`XREAD STREAMS ${A} ${B} 0 >`),
  s(`XREAD STREAMS ${A} ${B} 0`),
  s(`XREAD STREAMS ${A} ${STR} 0 0`),
  s(`XREAD GROUP g c STREAMS ${A} 0`),
  s(`XREAD NOACK STREAMS ${A} 0`),
  s(`XREAD FOO STREAMS ${A} 0`),
  s(`XREAD COUNT x STREAMS ${A} 0`),
  s(`XREAD COUNT 1 ${A} 0`),
  s(`XREAD STREAMS ${A} 99999999999999999999`),
  s(`XDEL ${A} 2-1`),
  s(`XREAD STREAMS ${A} 1-1`),
  s(`XREAD STREAMS ${A} ${C} 1-1 0`),
]);

group('TYPE, OBJECT ENCODING, DEL', [
  s(`XADD ${A} 1-1 a 1`),
  s(`TYPE ${A}`),
  s(`OBJECT ENCODING ${A}`),
  s(`DEL ${A}`),
  s(`TYPE ${A}`),
]);

timed('keyspace events: xadd, xtrim, xdel, xsetid', async () => {
  const t = pair.tessera;
  const sub = await rawClient(t.port);
  const c = await rawClient(t.port);
  try {
    await c.call(['CONFIG', 'SET', 'notify-keyspace-events', 'KEt']);
    await sub.call(['PSUBSCRIBE', '__keyevent@0__:*']);
    await c.call(['XADD', A, 'MAXLEN', '1', '1-1', 'a', '1']);
    await c.call(['XADD', A, 'MAXLEN', '1', '2-1', 'a', '1']);
    await c.call(['XDEL', A, '2-1']);
    await c.call(['XSETID', A, '5-5']);
    await c.call(['XTRIM', A, 'MAXLEN', '0']);
    const got = await sub.read(5);
    const events = got.map((r) => r.raw.toString().match(/__keyevent@0__:(\w+)/)![1]);
    assert.equal(events, ['xadd', 'xadd', 'xtrim', 'xdel', 'xsetid']);
  } finally {
    await c.call(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    sub.close();
    c.close();
  }
});

timed('DUMP/RESTORE, RENAME across shards and COPY keep the whole stream', async () => {
  const t = pair.tessera;
  const c = new Redis(t.port, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await c.connect();
  try {
    await c.flushall();
    for (let i = 1; i <= 250; i++) await c.xadd(A, `${i}-0`, 'f', `v${i}`, ...(i % 5 === 0 ? ['g', 'h'] : []));
    await c.xdel(A, '7-0', '8-0');
    await c.xsetid(A, '900-0', 'ENTRIESADDED', '1000', 'MAXDELETEDID', '8-0');
    const before = await c.xrange(A, '-', '+');
    const info = await c.call('XINFO', 'STREAM', A);
    const dump = await c.dumpBuffer(A);
    await c.restore(B, 0, dump);
    assert.equal(await c.xrange(B, '-', '+'), before);
    const infoB = await c.call('XINFO', 'STREAM', B);
    assert.equal(infoB, info);
    await c.rename(B, C);
    assert.equal(await c.call('XINFO', 'STREAM', C), info);
    await c.copy(C, NOKEY);
    assert.equal(await c.xrange(NOKEY, '-', '+'), before);
    assert.ok(Number(await c.memory('USAGE', A)) > 250 * 8);
    // SCAN TYPE stream over every shard finds exactly the streams.
    await c.set(STR, 'x');
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'COUNT', 100, 'TYPE', 'stream');
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    assert.equal(found.sort(), [A, C, NOKEY].sort());
  } finally {
    c.disconnect();
  }
});

timed('real clients: ioredis and redis-cli', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const t = pair.tessera;
  const c = new Redis(t.port, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await c.connect();
  try {
    await c.flushall();
    const id = await c.xadd(A, '*', 'name', 'ada', 'lang', 'en');
    assert.match(id!, /^\d+-\d+$/);
    assert.equal(await c.xrange(A, '-', '+'), [[id, ['name', 'ada', 'lang', 'en']]]);
    assert.equal(await c.xread('STREAMS', A, B, '0', '0'), [[A, [[id, ['name', 'ada', 'lang', 'en']]]]]);
    const out = await redisCli(['-p', String(t.port), 'XLEN', A]);
    assert.is(out.stdout.trim(), '1');
  } finally {
    c.disconnect();
  }
});

diff.run();
