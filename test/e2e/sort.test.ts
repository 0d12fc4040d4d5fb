// SORT and SORT_RO, differentially: the same command scripts go as raw RESP to a real redis-server
// and to Tessera (four shards; the sorted keys, the BY/GET keys and the STORE destinations are
// spread over them, so most commands run on the main-thread coordinator), in RESP2 and RESP3, and
// the replies must be byte-identical. Only a set kept in its own order (BY nosort without STORE)
// has an order Redis leaves unspecified: compared sorted. Then cluster mode (BY/GET refused,
// CROSSSLOT for a STORE elsewhere), atomicity of a cross-shard SORT ... STORE under a concurrent
// reader, and real clients.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { keyOn as keyOnShard, shardOf as shardOfKey } from './shard-keys.js';
import { redisCli, requireTool } from './harness.js';
import { ServerPair, compareInOneNodeClusters, groupsOn, s, sorted, timedOn, type Step } from './differential-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;

const shardOf = (key: string): number => shardOfKey(key, SHARDS);
const keyOn = (sh: number, prefix: string): string => keyOnShard(sh, SHARDS, prefix);

// Sorted keys and destinations on different shards; {t} keys share one shard (the shard path).
const SET = keyOn(0, 'set');
const WORDS = keyOn(1, 'words');
const LIST = keyOn(2, 'list');
const ZS = keyOn(3, 'zs');
const STR = keyOn(1, 'str');
const HASH = keyOn(2, 'hash');
const NOKEY = keyOn(3, 'nokey');
const DST = keyOn(3, 'dst');
const TSET = '{t}set';
const TDST = '{t}dst';

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });

const diff = suite('SORT: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);

const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

/** The option combinations every source is sorted with (numeric elements). */
function combos(key: string): Step[] {
  const out: Step[] = [];
  for (const order of ['', 'ASC', 'DESC']) {
    for (const limit of ['', 'LIMIT 0 3', 'LIMIT 1 2', 'LIMIT 2 -1', 'LIMIT -3 2', 'LIMIT 0 0', 'LIMIT 5 1', 'LIMIT 100 3']) {
      for (const alpha of ['', 'ALPHA']) {
        const opts = [order, limit, alpha].filter((x) => x !== '').join(' ');
        out.push(s(`SORT ${key}${opts ? ' ' + opts : ''}`));
        out.push(s(`SORT_RO ${key}${opts ? ' ' + opts : ''}`));
      }
    }
  }
  return out;
}

/** Weights w_<n> and hash fields h_<n>->f/g on every shard, for BY and GET. */
const weights: Step[] = [
  s('MSET w_1 50 w_2 40 w_3 30 w_10 -1 w_-5 2.5 wa_1 x wa_2 y wa_3 z'),
  s('HSET h_1 f 9 g one'),
  s('HSET h_2 f 8 g two'),
  s('HSET h_3 f 7 g three'),
  s('HSET h_10 f 1e3 g ten'),
  s('HSET h_-5 f -inf'),
  s('RPUSH l_1 x'),
];

group('sets of integers: every order, LIMIT and ALPHA', [s(`SADD ${SET} 3 1 2 10 -5`), ...combos(SET)]);

group('sets of strings: ALPHA, numbers that are not, and the scores strtod reads', [
  s(`SADD ${WORDS} pear apple fig banana`),
  s(`SORT ${WORDS} ALPHA`),
  s(`SORT ${WORDS} ALPHA DESC LIMIT 1 2`),
  s(`SORT ${WORDS}`),
  s(`SORT ${WORDS} DESC LIMIT 0 1`),
  s(`SORT ${WORDS} BY nosort`, sorted),
  s(`SORT_RO ${WORDS} BY nosort ALPHA`, sorted),
  s(`SADD ${TSET} 1e3 0x10 inf -inf 2.5 ${'+7'}`),
  s(['SADD', TSET, '', ' 3', '-0']),
  s(`SORT ${TSET}`),
  s(`SORT ${TSET} DESC`),
  s(`SORT ${TSET} ALPHA`),
  s(`SADD ${TSET} 1e-310`),
  s(`SORT ${TSET}`),
  s(`SREM ${TSET} 1e-310`),
  s(`SADD ${TSET} 1e400`),
  s(`SORT ${TSET}`),
  s(`SREM ${TSET} 1e400`),
  s(['SADD', TSET, '3 ']),
  s(`SORT ${TSET}`),
  s(['SREM', TSET, '3 ']),
  s(`SADD ${TSET} nan`),
  s(`SORT ${TSET}`),
  s(`SORT ${TSET} ALPHA LIMIT 1 3`),
]);

const many = Array.from({ length: 300 }, (_, i) => String((i * 7919) % 1000));

group('lists: every order, LIMIT and ALPHA; BY nosort keeps the list order (ranged, from the tail when DESC)', [
  s(`RPUSH ${LIST} 3 1 2 10 -5 2`),
  ...combos(LIST),
  s(`SORT ${LIST} BY nosort`),
  s(`SORT ${LIST} BY nosort DESC`),
  s(`SORT ${LIST} BY nosort LIMIT 1 3`),
  s(`SORT ${LIST} BY nosort DESC LIMIT 1 3`),
  s(`SORT ${LIST} BY nosort DESC LIMIT 4 10`),
  s(`SORT ${LIST} BY nosort LIMIT 6 1`),
  s(`SORT ${LIST} BY nosort LIMIT 0 0`),
  s(`SORT ${LIST} BY nosort LIMIT -2 2`),
  s(`SORT_RO ${LIST} BY nokey DESC LIMIT 0 2 ALPHA`),
  s(`RPUSH ${TDST} b a c a`),
  s(`SORT ${TDST} ALPHA`),
  s(`SORT ${TDST} ALPHA DESC`),
  s(`SORT ${TDST} BY nosort GET #`),
]);

group('sorted sets: members sorted as numbers or ALPHA; BY nosort keeps the score order (ranged)', [
  s(`ZADD ${ZS} 5 3 1 1 4 2 2 10 3 -5`),
  ...combos(ZS),
  s(`SORT ${ZS} BY nosort`),
  s(`SORT ${ZS} BY nosort DESC`),
  s(`SORT ${ZS} BY nosort LIMIT 1 3`),
  s(`SORT ${ZS} BY nosort DESC LIMIT 1 3`),
  s(`SORT ${ZS} BY nosort DESC LIMIT 3 10`),
  s(`SORT ${ZS} BY nosort LIMIT 5 1`),
  s(`SORT ${ZS} BY nosort LIMIT 0 0`),
  s(`SORT_RO ${ZS} BY nosort DESC LIMIT -1 2 GET #`),
  s(`SORT ${ZS} BY nosort STORE ${DST}`),
  s(`LRANGE ${DST} 0 -1`),
  s(`ZADD {t}z 1 b 1 a 0 c 2 d`),
  s(`SORT {t}z ALPHA`),
  s(`SORT {t}z BY nosort`),
  s(`SORT {t}z BY nosort DESC LIMIT 0 2 STORE ${TDST}`),
  s(`LRANGE ${TDST} 0 -1`),
  s(`SORT {t}z`),
]);

group('a large sorted set (past zset-max-listpack-entries): BY nosort ranges, numeric, BY weights', () => [
  s(['ZADD', ZS, ...many.flatMap((m, i) => [String(i % 17), m])]),
  s(`SORT ${ZS} BY nosort LIMIT 100 20`),
  s(`SORT ${ZS} BY nosort DESC LIMIT 100 20`),
  s(`SORT ${ZS} LIMIT 10 10`),
  s(`SORT ${ZS} DESC ALPHA LIMIT 0 15`),
  s('MSET w_7 1 w_14 2'),
  s(`SORT ${ZS} BY w_* LIMIT 0 5 GET # GET w_*`),
]);

group('a long list (quicklist): numeric and ALPHA, LIMIT, BY nosort ranges, STORE', [
  s(['RPUSH', LIST, ...many]),
  s(`SORT ${LIST}`),
  s(`SORT ${LIST} DESC LIMIT 100 20`),
  s(`SORT ${LIST} ALPHA LIMIT 250 100`),
  s(`SORT ${LIST} BY nosort LIMIT 140 30`),
  s(`SORT ${LIST} BY nosort DESC LIMIT 140 30`),
  s(`SORT ${LIST} STORE ${DST}`),
  s(`LRANGE ${DST} 0 -1`),
  s(`SORT ${LIST} BY nosort DESC STORE ${LIST}`),
  s(`LRANGE ${LIST} 0 -1`),
]);

group('STORE: the result is a list on its shard, replacing any value; empty deletes', [
  ...weights,
  s(`SADD ${SET} 3 1 2 10 -5`),
  s(`SADD ${WORDS} pear apple fig`),
  s(`SORT ${SET} STORE ${DST}`),
  s(`TYPE ${DST}`),
  s(`LRANGE ${DST} 0 -1`),
  s(`SET ${DST} x EX 100`),
  s(`SORT ${SET} DESC LIMIT 1 2 STORE ${DST}`),
  s(`TTL ${DST}`),
  s(`LRANGE ${DST} 0 -1`),
  s(`SORT ${SET} BY w_* GET # GET nokey_* GET h_*->g STORE ${DST}`),
  s(`LRANGE ${DST} 0 -1`),
  s(`SORT ${WORDS} BY nosort STORE ${DST}`),
  s(`LRANGE ${DST} 0 -1`),
  s(`SORT ${WORDS} BY nosort STORE ${TDST}`),
  s(`LRANGE ${TDST} 0 -1`),
  s(`SORT ${SET} LIMIT 0 0 STORE ${DST}`),
  s(`EXISTS ${DST}`),
  s(`SORT ${NOKEY} STORE ${DST}`),
  s(`SORT ${SET} STORE ${DST} STORE ${TDST}`),
  s(`LRANGE ${TDST} 0 -1`),
  s(`EXISTS ${DST}`),
  s(`SADD ${TSET} 5 4`),
  s(`SORT ${TSET} STORE ${TDST}`),
  s(`LRANGE ${TDST} 0 -1`),
  s(`SORT ${TSET} BY w_* STORE ${TSET}`),
  s(`TYPE ${TSET}`),
  s(`LRANGE ${TSET} 0 -1`),
  s(`SORT ${WORDS} STORE ${DST}`),
  s(`EXISTS ${DST}`),
  s(`SORT ${WORDS} ALPHA STORE ${DST} GET wa_*`),
  s(`LRANGE ${DST} 0 -1`),
]);

group('BY and GET with string keys and hash fields on other shards', [
  ...weights,
  s(`SADD ${SET} 3 1 2 10 -5`),
  s(`SORT ${SET} BY w_*`),
  s(`SORT ${SET} BY w_* DESC`),
  s(`SORT ${SET} BY w_* LIMIT 1 2`),
  s(`SORT ${SET} BY w_* DESC LIMIT 0 3`),
  s(`SORT ${SET} BY wa_* ALPHA`),
  s(`SORT ${SET} BY wa_* ALPHA DESC`),
  s(`SORT ${SET} BY h_*->f`),
  s(`SORT ${SET} BY h_*->f DESC LIMIT 1 10`),
  s(`SORT ${SET} BY h_*->g ALPHA`),
  s(`SORT ${SET} BY missing_*`),
  s(`SORT ${SET} BY l_*`),
  s(`SORT ${SET} BY h_*`),
  s(`SORT ${SET} BY w_*->f`),
  s(`SORT ${SET} BY wa_*`),
  s(`SORT ${SET} GET #`),
  s(`SORT ${SET} GET w_*`),
  s(`SORT ${SET} GET w_* GET # GET h_*->g GET h_*->nofield GET nokey_* GET l_*`),
  s(`SORT ${SET} BY w_* GET h_*->f GET #`),
  s(`SORT ${SET} BY w_* DESC LIMIT 1 3 GET wa_* GET h_*->g`),
  s(`SORT ${SET} GET nostar`),
  s(`SORT ${SET} GET h_*->`),
  s(`SORT ${SET} GET h_->*`),
  s(`SORT ${SET} BY nosort GET w_*`, sorted),
  s(`SORT ${SET} BY w_* LIMIT 0 0 GET w_*`),
  s(`SORT ${NOKEY} BY w_* GET #`),
  s(`SORT_RO ${SET} BY w_* GET w_* GET #`),
]);

group('errors and syntax', [
  s(`SET ${STR} v`),
  s(`HSET ${HASH} f v`),
  s(`SADD ${SET} 1 2`),
  s(`SORT ${STR}`),
  s(`SORT ${HASH} BY w_*`),
  s(`SORT ${STR} BY nosort`),
  s(`SORT ${SET} FOO`),
  s(`SORT ${SET} LIMIT 1`),
  s(`SORT ${SET} LIMIT a 1`),
  s(`SORT ${SET} LIMIT 1 1.5`),
  s(`SORT ${SET} LIMIT 1 99999999999999999999`),
  s(`SORT ${SET} BY`),
  s(`SORT ${SET} GET`),
  s(`SORT ${SET} STORE`),
  s(`SORT ${STR} FOO`),
  s(`SORT_RO ${SET} STORE ${DST}`),
  s(`SORT_RO ${SET} store`),
  s(`SORT ${NOKEY}`),
  s(`SORT ${NOKEY} LIMIT 1 2 DESC ALPHA`),
  s('SORT'),
  s('SORT_RO'),
  s(`SORT ${SET} asc desc Alpha limit 0 1 asc`),
  s(`SORT ${STR} STORE ${DST}`),
  s(`EXISTS ${DST}`),
  s(['SADD', WORDS, 'a', 'b']),
  s(`SORT ${WORDS} STORE ${DST} BY w_*`),
  s(`EXISTS ${DST}`),
]);

// --- cluster mode -------------------------------------------------------------------------------

timed('cluster mode: BY patterns and GET refused, STORE elsewhere CROSSSLOT (as redis-server 7.0)', async () => {
  const steps: string[][] = [
    ['SADD', '{t}s', '3', '1', '2'],
    ['SET', '{t}w_1', '5'],
    ['SORT', '{t}s'],
    ['SORT', '{t}s', 'DESC', 'LIMIT', '0', '2'],
    ['SORT', '{t}s', 'BY', '{t}w_*'],
    ['SORT', '{t}s', 'BY', 'w_*'],
    ['SORT_RO', '{t}s', 'BY', 'w_*'],
    ['SORT', '{t}s', 'GET', '#'],
    ['SORT', '{t}s', 'GET', '{t}w_*'],
    ['SORT', '{t}s', 'BY', 'nosort', 'ALPHA'],
    ['SORT', '{t}s', 'FOO', 'BY', 'w_*'],
    ['SORT', '{t}s', 'BY', 'w_*', 'FOO'],
    ['SORT', '{t}s', 'GET', '#', 'BY', 'w_*'],
    ['SORT', '{t}s', 'LIMIT', 'x', '1', 'GET', '#'],
    ['SORT', '{t}s', 'STORE', 'elsewhere'],
    ['SORT', '{t}s', 'STORE', '{t}d'],
    ['SORT', '{t}s', 'STORE', 'elsewhere', 'STORE', '{t}d'],
    ['SORT', '{t}s', 'STORE', '{t}d', 'STORE', 'elsewhere'],
    ['SORT', '{t}s', 'GET', 'STORE', 'STORE', '{t}d'],
    ['SORT_RO', '{t}s', 'STORE', 'elsewhere'],
    ['EXISTS', '{t}d'],
    ['COMMAND', 'GETKEYS', 'SORT', 'k', 'LIMIT', '0', '1', 'STORE', 'd'],
    ['COMMAND', 'GETKEYS', 'SORT', 'k', 'GET', 'store', 'BY', 'x'],
    ['COMMAND', 'GETKEYS', 'SORT_RO', 'k', 'STORE', 'd'],
  ];
  await compareInOneNodeClusters('sort-cluster', SHARDS, steps);
});

// --- atomicity ---------------------------------------------------------------------------------

timed('a cross-shard SORT ... GET sees the keys it reads at one moment (a sequential writer is never seen out of order)', async () => {
  const N = 2000;
  const io = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  const rd = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await Promise.all([io.connect(), rd.connect()]);
    await io.flushall();
    await io.sadd(SET, ...Array.from({ length: N }, (_, i) => i + 1));
    await io.mset(...Array.from({ length: N }, (_, i) => [`gen_${i + 1}`, 0]).flat());
    assert.ok(new Set(Array.from({ length: N }, (_, i) => shardOf(`gen_${i + 1}`))).size > 1, 'the GET keys span shards');
    let stop = false;
    // The writer raises the generation of gen_1 .. gen_N in order, one acknowledged SET at a time.
    const writer = (async () => {
      for (let g = 1; !stop; g++) for (let k = 1; k <= N && !stop; k++) await io.set(`gen_${k}`, g);
    })();
    let reads = 0;
    try {
      for (; reads < 100; reads++) {
        const r = (await rd.sort(SET, 'GET', '#', 'GET', 'gen_*')) as string[];
        const gens = Array.from({ length: N }, (_, i) => Number(r[2 * i + 1]));
        // One moment's state: a prefix of the keys at generation g+1, the rest at g.
        for (let i = 1; i < N; i++) assert.ok(gens[i]! <= gens[i - 1]! && gens[0]! - gens[i]! <= 1, `read ${reads}: generations ${gens.join(',')}`);
      }
    } finally {
      stop = true;
      await writer;
    }
  } finally {
    io.disconnect();
    rd.disconnect();
  }
});

// --- real clients --------------------------------------------------------------------------------

timed('ioredis: sort with BY, GET, LIMIT and ALPHA across shards', async () => {
  const io = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await io.connect();
    await io.flushall();
    await io.sadd(SET, 3, 1, 2);
    await io.mset('w_1', 30, 'w_2', 10, 'w_3', 20, 'n_1', 'one', 'n_2', 'two', 'n_3', 'three');
    assert.equal(await io.sort(SET), ['1', '2', '3']);
    assert.equal(await io.sort(SET, 'BY', 'w_*', 'GET', 'n_*'), ['two', 'three', 'one']);
    assert.equal(await io.sort(SET, 'BY', 'w_*', 'DESC', 'LIMIT', 0, 2, 'GET', '#', 'GET', 'w_*'), ['1', '30', '3', '20']);
    assert.equal(await io.sort_ro(SET, 'DESC', 'ALPHA'), ['3', '2', '1']);
    const err = await io.sort(SET, 'LIMIT', 'x', 1).then(() => null, (e: Error) => e);
    assert.ok(err !== null && /not an integer/.test(err.message), String(err));
  } finally {
    io.disconnect();
  }
});

timed('redis-cli: SORT with GET across shards', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const port = String(pair.tessera.port);
  await redisCli(['-p', port, 'FLUSHALL']);
  await redisCli(['-p', port, 'SADD', SET, '2', '1']);
  await redisCli(['-p', port, 'MSET', 'n_1', 'one', 'n_2', 'two']);
  const got = await redisCli(['-p', port, 'SORT', SET, 'GET', 'n_*', 'GET', 'missing_*']);
  assert.is(got.stdout, 'one\n\ntwo\n\n', got.stderr);
});

diff('the chosen keys really are on different shards', () => {
  assert.equal(new Set([SET, WORDS, LIST, ZS].map(shardOf)).size, 4);
  assert.is.not(shardOf(DST), shardOf(SET));
  assert.is(shardOf(TSET), shardOf(TDST));
});

diff.run();
