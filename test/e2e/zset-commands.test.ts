// Sorted-set commands, differentially: the same command scripts go as raw RESP to a real
// redis-server and to Tessera (four shards; multi-key commands run once with keys sharing a shard
// and once with keys on four shards), in RESP2 and RESP3; replies must be byte-identical: every
// command and option, every error, the reply format of scores (inf, -inf, -0, denormals, sums of
// ZINCRBY), OBJECT ENCODING at the listpack -> skiplist switches (default and small limits), and
// 10K-member sets for ranges, ranks and removes. Random replies (ZRANDMEMBER) and SCAN pages of a
// large set are compared by their properties. Then cluster mode (CROSSSLOT), COMMAND INFO and
// GETKEYS for the numkeys commands, and real clients (ioredis, node-redis, redis-cli, python3-redis).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { keyOn as keyOnShard, shardOf as shardOfKey } from './shard-keys.js';
import { plain, rawClient, redisCli, requireTool, show, type Plain, type RawClient, type Reply } from './harness.js';
import { ServerPair, compareInOneNodeClusters, elems, groupsOn, s, timedOn, type Step } from './differential-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 90_000;

const shardOf = (key: string): number => shardOfKey(key, SHARDS);
const keyOn = (sh: number, prefix: string): string => keyOnShard(sh, SHARDS, prefix);

// Keys on four different shards, and four sharing one (a hash tag).
const SPREAD = [keyOn(0, 'za'), keyOn(1, 'zb'), keyOn(2, 'zc'), keyOn(3, 'zd')] as const;
const TOGETHER = ['{t}z0', '{t}z1', '{t}z2', '{t}z3'] as const;

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });

const diff = suite('sorted-set commands: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);

const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

/** Steps from lines (arguments split on spaces; K0..K3 replaced by the given keys). */
function lines(text: string, keys: readonly string[] = TOGETHER): Step[] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => s(l.replace(/K([0-3])/g, (_, d: string) => keys[Number(d)]!)));
}

/** A deterministic generator (mulberry32) for the generated scripts. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- one-key commands --------------------------------------------------------------------------------

group('ZADD (NX XX GT LT CH INCR), ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK', [
  ...lines(`
    ZADD z 1 a 2 b 3 c
    ZADD z NX 5 a 6 d
    ZADD z XX CH 10 a 20 zz
    ZADD z GT CH 5 a 50 b
    ZADD z LT CH 100 a 1 b
    ZADD z gt lt 1 a
    ZADD z NX XX 1 a
    ZADD z NX GT 1 a
    ZADD z NX LT 1 a
    ZADD z XX GT CH 60 b 1 newmember
    ZADD z INCR 0.1 c
    ZINCRBY z 0.2 c
    ZADD z INCR 1 a 2 b
    ZADD z 1
    ZADD z 1 a 2
    ZADD z CH
    ZADD z abc a
    ZADD z nan a
    ZADD z NaN a
    ZADD z inf a
    ZADD z -inf b
    ZINCRBY z +inf b
    ZINCRBY z -inf a
    ZINCRBY z nan a
    ZINCRBY z abc a
    ZRANGE z 0 -1 WITHSCORES
    ZADD incr XX INCR 1 a
    EXISTS incr
    ZADD incr GT INCR 1 a
    ZADD incr GT INCR -5 a
    ZADD incr GT INCR 5 a
    ZADD incr LT INCR 5 a
    ZADD incr NX INCR 5 a
    ZADD incr INCR -6 a
    ZSCORE z a
    ZSCORE z nosuch
    ZSCORE nokey a
    ZMSCORE z a b nosuch c
    ZMSCORE nokey a b
    ZCARD z
    ZCARD nokey
    ZRANK z c
    ZREVRANK z c
    ZRANK z nosuch
    ZREVRANK nokey a
    ZREM z a b nosuch
    ZREM z nosuch
    ZREM nokey a
    ZRANGE z 0 -1 WITHSCORES
    ZREM z c d zz newmember
    EXISTS z
    SET str x
    ZADD str 1 a
    ZINCRBY str 1 a
    ZREM str a
    ZSCORE str a
    ZMSCORE str a
    ZCARD str
    ZRANK str a
    ZADD
    ZADD z
    ZADD z 1
    ZINCRBY z 1
    ZREM z
    ZSCORE z
    ZMSCORE z
    ZCARD
    ZCARD a b
    ZRANK z
    TYPE z
    ZADD z 1 a
    TYPE z
    EXPIRE z 100
    ZADD z 2 b
    TTL z
  `),
  s(['ZADD', 'bin', '1', '', '2', 'with space', '3', 'bin\x00\r\nary']),
  s('ZRANGE bin 0 -1 WITHSCORES'),
  s(['ZSCORE', 'bin', 'bin\x00\r\nary']),
  s(['ZMSCORE', 'bin', '', 'nope', 'with space']),
  s(['ZREM', 'bin', '', 'with space', 'bin\x00\r\nary']),
  s('EXISTS bin'),
]);

// Scores as strtod reads them and as addReplyDouble prints them (%.17g), through every path
// that replies a score.
const SCORES = ['0', '-0', '1', '-1', '0.1', '0.2', '0.3', '1e3', '1E3', '-1.5e-7', '1e-5', '1e-4', '1e16', '1e17', '1e300', '-1e300',
  '1.7976931348623157e308', '1e-320', '4.9e-324', '3e-324', '5e-324', '123456789012345678', '12345.678', '3.0', '.5', '5.', '+7',
  '0x10', '0X1p3', '-0x1.8p1', '0x.8', 'inf', '+inf', '-inf', 'Infinity', '-INFINITY', 'iNf', '9007199254740993', '2.5e-310'];
const BAD_SCORES = ['', ' 1', '1 ', 'nan', '-nan', 'NAN', '1e400', '-1e400', '1e-400', '2e-324', 'abc', '1e', 'e5', '0x', '0b101', '0o7',
  '1_000', 'inf1', 'infinit', '1.2.3', '--1', '+-1', '0x1p', '1e+'];

group('score parsing and formatting: ZADD, ZSCORE, ZMSCORE, ZRANGE WITHSCORES, ZINCRBY sums', () => [
  ...SCORES.map((v, i) => s(['ZADD', 'sc', v, `m${i}`])),
  s('ZRANGE sc 0 -1 WITHSCORES'),
  ...SCORES.map((_, i) => s(`ZSCORE sc m${i}`)),
  s(['ZMSCORE', 'sc', ...SCORES.map((_, i) => `m${i}`)]),
  ...BAD_SCORES.map((v) => s(['ZADD', 'sc', v, 'bad'])),
  ...BAD_SCORES.map((v) => s(['ZINCRBY', 'sc', v, 'bad'])),
  s('ZSCORE sc bad'),
  // 0.1 + 0.2, repeated sums, and NaN from inf - inf.
  ...lines(`
    ZADD f 0.1 a
    ZINCRBY f 0.2 a
    ZINCRBY f 0.3 a
    ZINCRBY f -0.6 a
    ZINCRBY f 1e308 b
    ZINCRBY f 1e308 b
    ZINCRBY f -inf b
    ZINCRBY f 1 b
    ZINCRBY f 0 neg
    ZINCRBY f -0 neg
    ZADD f INCR -0 neg2
    ZRANGE f 0 -1 WITHSCORES
    ZPOPMIN f
  `),
  ...Array.from({ length: 12 }, () => s('ZINCRBY f 0.1 c')),
  s('ZSCORE f c'),
]);

group('ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES), ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE', [
  ...lines(`
    ZADD z 1 a 2 b 3 c 4 d 5 e 5 f 6 g
    ZRANGE z 0 -1
    ZRANGE z 2 4 WITHSCORES
    ZRANGE z -3 -1 withscores
    ZRANGE z 5 2
    ZRANGE z 10 20
    ZRANGE z -100 100
    ZRANGE z 0 9223372036854775807
    ZRANGE z -9223372036854775808 1
    ZRANGE z 0 9223372036854775808
    ZRANGE z 0 -1 REV
    ZRANGE z 0 2 REV WITHSCORES
    ZRANGE z 0 -1 LIMIT 0 1
    ZRANGE z 0 -1 BYSCORE BYLEX
    ZRANGE z 0 -1 REV REV
    ZRANGE z a b
    ZRANGE z 0 -1 foo
    ZRANGE z (1 5 BYSCORE
    ZRANGE z (1 (5 BYSCORE WITHSCORES
    ZRANGE z -inf +inf BYSCORE LIMIT 2 3
    ZRANGE z -inf +inf BYSCORE LIMIT -1 3
    ZRANGE z -inf +inf BYSCORE LIMIT 2 -1
    ZRANGE z -inf +inf BYSCORE LIMIT 2 0
    ZRANGE z -inf +inf BYSCORE LIMIT 10 1
    ZRANGE z -inf +inf BYSCORE LIMIT 0 9223372036854775807
    ZRANGE z 5 1 BYSCORE REV
    ZRANGE z 5 1 BYSCORE REV LIMIT 1 2 WITHSCORES
    ZRANGE z 5 1 BYSCORE REV LIMIT -1 2
    ZRANGE z 1 5 BYSCORE REV
    ZRANGE z x 5 BYSCORE
    ZRANGE z nan 5 BYSCORE
    ZRANGE z ( 5 BYSCORE
    ZRANGE z (( 5 BYSCORE
    ZRANGE z 1e400 -1e400 BYSCORE REV
    ZRANGE z 1e-400 3 BYSCORE
    ZRANGE z 0x2 0x4 BYSCORE
    ZRANGE z 1 1 BYSCORE
    ZRANGE z (1 1 BYSCORE
    ZRANGE z 1 (1 BYSCORE
    ZRANGE z (inf +inf BYSCORE
    ZRANGE z - + BYLEX
    ZRANGE z [a [c BYLEX WITHSCORES
    ZRANGE z 0 -1 LIMIT 1 1 WITHSCORES
    ZRANGE z 0 -1 LIMIT x 1 BYSCORE
    ZRANGE z 0 -1 LIMIT 1 x BYSCORE
    ZRANGE z 0 1 LIMIT 1
    ZRANGE z 0 -1 WITHSCORES WITHSCORES
    ZRANGEBYSCORE z 2 5
    ZRANGEBYSCORE z 2 5 WITHSCORES LIMIT 1 2
    ZRANGEBYSCORE z 2 5 LIMIT 1 2 WITHSCORES
    ZRANGEBYSCORE z 2 5 REV
    ZRANGEBYSCORE z 2 5 BYSCORE
    ZRANGEBYSCORE z 2 5 BYLEX
    ZREVRANGEBYSCORE z 5 2 WITHSCORES
    ZREVRANGEBYSCORE z 2 5
    ZREVRANGEBYSCORE z +inf -inf LIMIT 0 2
    ZREVRANGEBYSCORE z (5 (2
    ZREVRANGE z 0 2 WITHSCORES
    ZREVRANGE z -2 -1
    ZREVRANGE z 0 2 LIMIT 0 1
    ZREVRANGE z 0 2 REV
    ZREVRANGE z 0 2 BYSCORE
    ZRANGE nokey 0 -1
    ZRANGE nokey 0 -1 BYSCORE
    ZRANGEBYSCORE nokey x 1
    ZRANGEBYSCORE nokey 0 1
    SET str x
    ZRANGE str 0 -1
    ZRANGE str x y
    ZRANGEBYSCORE str 0 1
    ZRANGE z 0
    ZRANGEBYSCORE z 0
    ZREVRANGE z
  `),
  s(['ZRANGE', 'z', '', '5', 'BYSCORE']),
  s(['ZRANGE', 'z', ' 2', '5', 'BYSCORE']),
  s(['ZRANGE', 'z', '2 ', '5', 'BYSCORE']),
  s(['ZRANGE', 'z', '  ', '5', 'BYSCORE']),
  s(['ZRANGE', 'z', '(', '(5', 'BYSCORE']),
]);

group('ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT, ZCOUNT', [
  ...lines(`
    ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 B
    ZRANGEBYLEX l - +
    ZRANGEBYLEX l [b (e
    ZRANGEBYLEX l (b [e LIMIT 1 2
    ZRANGEBYLEX l (b [e LIMIT 1 -1
    ZRANGEBYLEX l (b [e LIMIT -1 1
    ZRANGEBYLEX l + -
    ZRANGEBYLEX l - -
    ZRANGEBYLEX l + +
    ZRANGEBYLEX l [c [c
    ZRANGEBYLEX l (c [c
    ZRANGEBYLEX l [c (c
    ZRANGEBYLEX l [e [b
    ZRANGEBYLEX l [ +
    ZRANGEBYLEX l ( +
    ZRANGEBYLEX l b c
    ZRANGEBYLEX l [b c
    ZRANGEBYLEX l +x -
    ZRANGEBYLEX l - -x
    ZRANGEBYLEX l [b [e WITHSCORES
    ZRANGEBYLEX l - + BYLEX
    ZREVRANGEBYLEX l [e [b
    ZREVRANGEBYLEX l + - LIMIT 1 3
    ZREVRANGEBYLEX l (e (b
    ZREVRANGEBYLEX l - +
    ZRANGE l [e [b BYLEX REV
    ZRANGE l [b [e BYLEX LIMIT 1 1
    ZRANGE l [b [e BYLEX REV
    ZLEXCOUNT l - +
    ZLEXCOUNT l [b (e
    ZLEXCOUNT l (z +
    ZLEXCOUNT l + -
    ZLEXCOUNT l x +
    ZLEXCOUNT nokey - +
    ZLEXCOUNT nokey x +
    ZCOUNT l 0 0
    ZCOUNT l (0 0
    ZCOUNT l -inf +inf
    ZCOUNT l x 0
    ZCOUNT l 0 nan
    ZCOUNT nokey 0 1
    ZADD s 1 a 2 b 3 c 4 d 5 e
    ZCOUNT s 2 4
    ZCOUNT s (2 (4
    ZCOUNT s 4 2
    ZCOUNT s (4 4
    SET str x
    ZCOUNT str 0 1
    ZLEXCOUNT str - +
    ZRANGEBYLEX str - +
    ZLEXCOUNT l -
    ZCOUNT s 1
  `),
]);

group('ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX', [
  ...lines(`
    ZADD s 1 a 2 b 3 c 4 d 5 e 6 f 7 g
    ZREMRANGEBYSCORE s (1 3
    ZRANGE s 0 -1
    ZREMRANGEBYSCORE s x 3
    ZREMRANGEBYSCORE s 10 30
    ZREMRANGEBYSCORE s 5 4
    ZREMRANGEBYRANK s 0 0
    ZREMRANGEBYRANK s -1 -1
    ZREMRANGEBYRANK s 5 10
    ZREMRANGEBYRANK s 2 1
    ZREMRANGEBYRANK s -100 -50
    ZREMRANGEBYRANK s x 1
    ZREMRANGEBYRANK s 1 9223372036854775808
    ZRANGE s 0 -1 WITHSCORES
    ZREMRANGEBYRANK s 0 -1
    EXISTS s
    ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g
    ZREMRANGEBYLEX l [b [d
    ZREMRANGEBYLEX l x [d
    ZREMRANGEBYLEX l (a (a
    ZRANGE l 0 -1
    ZREMRANGEBYLEX l - +
    EXISTS l
    ZADD sc 1 a 2 b
    ZREMRANGEBYSCORE sc -inf +inf
    EXISTS sc
    ZREMRANGEBYRANK nokey 0 1
    ZREMRANGEBYSCORE nokey 0 1
    ZREMRANGEBYLEX nokey - +
    ZREMRANGEBYSCORE nokey x 1
    SET str x
    ZREMRANGEBYRANK str 0 1
    ZREMRANGEBYRANK str x 1
    ZREMRANGEBYSCORE str 0 1
    ZREMRANGEBYLEX str - +
    ZREMRANGEBYRANK s 0
  `),
]);

function rangestore(k: readonly string[]): Step[] {
  return lines(
    `
    SET K3 str
    ZADD K0 1 a 2 b 3 c
    ZRANGESTORE K1 K0 0 -1
    ZRANGE K1 0 -1 WITHSCORES
    ZRANGESTORE K1 K0 0 1
    ZRANGE K1 0 -1 WITHSCORES
    ZRANGESTORE K1 K0 1 2 BYSCORE LIMIT 0 1
    ZRANGE K1 0 -1 WITHSCORES
    ZRANGESTORE K1 K0 (3 -inf BYSCORE REV
    ZRANGE K1 0 -1 WITHSCORES
    ZRANGESTORE K1 K0 0 -1 WITHSCORES
    ZRANGESTORE K1 K0 [a [b BYLEX
    ZRANGE K1 0 -1 WITHSCORES
    ZRANGESTORE K1 K0 0 0 REV
    ZRANGE K1 0 -1 WITHSCORES
    ZRANGESTORE K1 K0 5 10
    EXISTS K1
    ZRANGESTORE K1 K0 x 10
    ZRANGESTORE K1 K0 0 1 LIMIT 0 1
    ZRANGESTORE K1 K2 0 -1
    ZRANGESTORE K1 K3 0 -1
    ZRANGESTORE K3 K0 0 -1
    TYPE K3
    ZRANGESTORE K0 K0 1 1
    ZRANGE K0 0 -1 WITHSCORES
    ZRANGESTORE K1 K0
  `,
    k,
  );
}

group('ZRANGESTORE, source and destination on one shard', rangestore(TOGETHER));
group('ZRANGESTORE, source and destination on different shards', rangestore(SPREAD));

// --- ZUNION, ZINTER, ZDIFF ---------------------------------------------------------------------------

function algebra(k: readonly string[]): Step[] {
  return lines(
    `
    ZADD K0 1 a 2 b 3 c
    ZADD K1 10 b 20 c 30 d
    SADD K2 c d e
    ZUNION 2 K0 K1
    ZUNION 2 K0 K1 WITHSCORES
    ZUNION 3 K0 K1 K2 WITHSCORES
    ZINTER 2 K0 K1 WITHSCORES
    ZINTER 3 K0 K1 K2 WITHSCORES
    ZINTER 1 K2 WITHSCORES
    ZDIFF 2 K0 K1 WITHSCORES
    ZDIFF 3 K1 K0 K2 WITHSCORES
    ZDIFF 1 K0
    ZDIFF 1 K2 WITHSCORES
    ZUNION 2 K0 K1 WEIGHTS 2 3 WITHSCORES
    ZUNION 2 K0 K1 WEIGHTS 2 WITHSCORES
    ZUNION 2 K0 K1 WEIGHTS 2 x WITHSCORES
    ZUNION 2 K0 K1 WEIGHTS 2 nan
    ZUNION 2 K0 K1 AGGREGATE MIN WITHSCORES
    ZUNION 2 K0 K1 AGGREGATE max WITHSCORES
    ZUNION 2 K0 K1 AGGREGATE sum WITHSCORES
    ZUNION 2 K0 K1 AGGREGATE foo
    ZUNION 2 K0 K1 AGGREGATE
    ZUNION 2 K0 K1 WITHSCORES WITHSCORES
    ZUNION 2 K0 K1 WEIGHTS inf -inf WITHSCORES
    ZUNION 2 K0 K1 WEIGHTS 0 1 WITHSCORES
    ZUNION 2 K0 K1 WEIGHTS 0.1 0.7 WITHSCORES
    ZINTER 2 K0 K1 WEIGHTS 1 1 AGGREGATE SUM WITHSCORES
    ZINTER 2 K0 K1 WEIGHTS -1 1 AGGREGATE MIN WITHSCORES
    ZDIFF 2 K0 K1 WEIGHTS 1 2
    ZDIFF 2 K0 K1 AGGREGATE SUM
    ZUNION 0 K0
    ZUNION -1 K0
    ZUNION x K0
    ZUNION 3 K0 K1
    ZINTER 0 K0
    ZDIFF 0 K0
    ZINTER 2 K0 nokey WITHSCORES
    ZUNION 2 K0 nokey WITHSCORES
    ZDIFF 2 nokey K0
    ZDIFF 2 K0 nokey WITHSCORES
    SET K3 str
    ZUNION 2 K0 K3
    ZUNION 2 K0 K3 foo
    ZINTER 2 nokey K3
    ZUNION 2 K0 K1 foo
    ZUNIONSTORE K3 2 K0 K1
    TYPE K3
    ZRANGE K3 0 -1 WITHSCORES
    ZINTERSTORE K3 3 K0 K1 K2
    ZRANGE K3 0 -1 WITHSCORES
    ZDIFFSTORE K3 2 K0 K1
    ZRANGE K3 0 -1 WITHSCORES
    ZINTERSTORE K3 2 K0 nokey
    EXISTS K3
    ZUNIONSTORE K3 2 K0 K1 WITHSCORES
    ZUNIONSTORE K3 0 K0
    ZUNIONSTORE K3 3 K0 K1
    ZUNIONSTORE K3 2 K0 K1 WEIGHTS 1 2 AGGREGATE MAX
    ZRANGE K3 0 -1 WITHSCORES
    ZUNIONSTORE K0 2 K0 K1
    ZRANGE K0 0 -1 WITHSCORES
    ZINTERCARD 2 K0 K1
    ZINTERCARD 3 K0 K1 K2
    ZINTERCARD 2 K0 K1 LIMIT 1
    ZINTERCARD 2 K0 K1 LIMIT 0
    ZINTERCARD 2 K0 K1 LIMIT -1
    ZINTERCARD 2 K0 K1 LIMIT x
    ZINTERCARD 2 K0 K1 LIMIT
    ZINTERCARD 0 K0
    ZINTERCARD x K0
    ZINTERCARD 3 K0 K1
    ZINTERCARD 2 K0 K1 WITHSCORES
    ZINTERCARD 2 K0 K1 WEIGHTS 1 1
    ZINTERCARD 1 K2
    ZINTERCARD 2 K0 nokey
    SET K3 str
    ZINTERCARD 2 K0 K3
    ZUNION 1
    ZUNIONSTORE K3 1
  `,
    k,
  );
}

group('ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD on one shard', algebra(TOGETHER));
group('ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD across shards', algebra(SPREAD));

// The order of a sum's terms decides its rounding: inputs are summed smallest set first.
group('aggregate sums in Redis order (smallest input first), across shards', [
  s(`ZADD ${SPREAD[0]} 0.1 x 0.2 y 0.3 z 1 w`),
  s(`ZADD ${SPREAD[1]} 0.2 x 0.1 y`),
  s(`ZADD ${SPREAD[2]} 0.7 x 0.3 y 1e16 z`),
  s(`ZUNION 3 ${SPREAD[0]} ${SPREAD[1]} ${SPREAD[2]} WITHSCORES`),
  s(`ZUNION 3 ${SPREAD[2]} ${SPREAD[1]} ${SPREAD[0]} WEIGHTS 3 0.1 7 WITHSCORES`),
  s(`ZINTER 3 ${SPREAD[0]} ${SPREAD[1]} ${SPREAD[2]} WITHSCORES`),
  s(`ZUNIONSTORE ${SPREAD[3]} 3 ${SPREAD[0]} ${SPREAD[1]} ${SPREAD[2]} AGGREGATE SUM`),
  s(`ZRANGE ${SPREAD[3]} 0 -1 WITHSCORES`),
]);

// --- pops, ZRANDMEMBER, ZSCAN ----------------------------------------------------------------------

function pops(k: readonly string[]): Step[] {
  return lines(
    `
    ZADD K0 1 a 2 b 3 c 4 d 5 e
    ZPOPMIN K0
    ZPOPMAX K0
    ZPOPMIN K0 2
    ZPOPMIN K0 0
    ZPOPMIN K0 -1
    ZPOPMIN K0 x
    ZPOPMIN K0 1 2
    ZPOPMAX K0 10
    EXISTS K0
    ZPOPMIN K0
    ZPOPMIN K0 3
    ZPOPMIN nokey 0
    SET K3 s
    ZPOPMIN K3
    ZPOPMAX K3 0
    ZADD K1 1 a 2 b 3 c
    ZADD K2 7 x 8 y
    ZMPOP 2 K0 K1 MIN
    ZMPOP 2 K0 K1 MAX COUNT 5
    ZMPOP 2 K0 K1 MAX COUNT 5
    ZMPOP 3 K0 K1 K2 MIN COUNT 1
    ZMPOP 1 K2 MAX COUNT 0
    ZMPOP 1 K2 MAX COUNT -1
    ZMPOP 1 K2 MAX COUNT x
    ZMPOP 1 K2 MAX COUNT 1 COUNT 1
    ZMPOP 1 K2 MAX COUNT
    ZMPOP 1 K2 FOO
    ZMPOP 0 K2 MIN
    ZMPOP x K2 MIN
    ZMPOP -1 K2 MIN
    ZMPOP 2 K2 MIN
    ZMPOP 3 K2 MIN
    ZMPOP 2 K0 K3 MIN
    ZMPOP 2 K3 K2 MIN
    ZMPOP 2 K2 K3 MIN
    ZMPOP 1 K2 min count 10
    ZMPOP 1 K2 MIN
    ZMPOP 1 K2
  `,
    k,
  );
}

group('ZPOPMIN, ZPOPMAX, ZMPOP with keys on one shard', pops(TOGETHER));
group('ZPOPMIN, ZPOPMAX, ZMPOP with keys on four shards', pops(SPREAD));

group('ZRANDMEMBER: errors and deterministic cases; ZSCAN of a listpack', [
  ...lines(`
    ZRANDMEMBER nokey
    ZRANDMEMBER nokey 5
    ZRANDMEMBER nokey 5 WITHSCORES
    ZRANDMEMBER nokey x
    SET str s
    ZRANDMEMBER str
    ZRANDMEMBER str 1
    ZRANDMEMBER str x
    ZADD z 1 a 2 b 3 c 0.1 d -inf e
    ZRANDMEMBER z 5 WITHSCORES
    ZRANDMEMBER z 10 WITHSCORES
    ZRANDMEMBER z 10
    ZRANDMEMBER z 0
    ZRANDMEMBER z 0 WITHSCORES
    ZRANDMEMBER z x
    ZRANDMEMBER z 1 foo
    ZRANDMEMBER z 1 WITHSCORES foo
    ZRANDMEMBER z 9223372036854775807 WITHSCORES
    ZRANDMEMBER z -9223372036854775807 WITHSCORES
    ZRANDMEMBER z -9223372036854775808
    ZRANDMEMBER z 9223372036854775808
    ZRANDMEMBER z 4611686018427387904 WITHSCORES
    ZRANDMEMBER z 4611686018427387903 WITHSCORES
    ZRANDMEMBER z -4611686018427387904 WITHSCORES
    ZADD one 3.5 only
    ZRANDMEMBER one
    ZRANDMEMBER one -3 WITHSCORES
    ZRANDMEMBER one 1 WITHSCORES
    ZSCAN z 0
    ZSCAN z 0 MATCH a*
    ZSCAN z 0 MATCH *
    ZSCAN z 0 COUNT 1
    ZSCAN z 0 COUNT 0
    ZSCAN z 0 COUNT x
    ZSCAN z x
    ZSCAN z -1
    ZSCAN z 0 FOO
    ZSCAN z 0 MATCH
    ZSCAN nokey 0
    ZSCAN str 0
    ZADD sc 0.1 a -0 b inf c 1e300 d 1e-320 e
    ZSCAN sc 0
    ZSCAN
  `),
]);

// --- encodings ---------------------------------------------------------------------------------------

const ENC = `
  CONFIG SET zset-max-listpack-entries 128
  CONFIG SET zset-max-listpack-value 64
`;

group('OBJECT ENCODING: listpack to skiplist at 128 entries and 64 bytes, and at small limits; -0 in each', () => [
  ...lines(ENC),
  ...Array.from({ length: 128 }, (_, i) => s(`ZADD e ${i} m${i}`)),
  ...lines(`
    OBJECT ENCODING e
    ZADD e 128 m128
    OBJECT ENCODING e
    ZREMRANGEBYRANK e 0 100
    OBJECT ENCODING e
    ZUNIONSTORE u 1 e
    OBJECT ENCODING u
    ZRANGESTORE r e 0 10
    OBJECT ENCODING r
    ZRANGESTORE r3 e 0 -1 BYSCORE
    OBJECT ENCODING r3
    ZADD neg -0 a
    ZSCORE neg a
  `),
  s(`ZADD v 1 ${'x'.repeat(64)}`),
  s('OBJECT ENCODING v'),
  s(`ZADD v 1 ${'y'.repeat(65)}`),
  s('OBJECT ENCODING v'),
  s(`ZADD w 1 ${'y'.repeat(65)}`),
  s('OBJECT ENCODING w'),
  s(`ZADD w2 1 a 2 ${'y'.repeat(65)}`),
  s('OBJECT ENCODING w2'),
  s('ZRANGESTORE r2 v 0 -1'),
  s('OBJECT ENCODING r2'),
  s('ZRANGESTORE r4 v 0 0'),
  s('OBJECT ENCODING r4'),
  ...lines(`
    CONFIG SET zset-max-listpack-entries 4
    CONFIG SET zset-max-listpack-value 8
    ZADD s 1 a 2 b 3 c 4 d
    OBJECT ENCODING s
    ZADD s 5 e
    OBJECT ENCODING s
    ZADD s2 1 aaaaaaaa
    OBJECT ENCODING s2
    ZADD s2 1 aaaaaaaaa
    OBJECT ENCODING s2
    ZUNIONSTORE u2 2 s s2
    OBJECT ENCODING u2
    ZINTERSTORE u3 2 s s
    OBJECT ENCODING u3
    ZRANGESTORE u4 s 0 2
    OBJECT ENCODING u4
    ZDIFFSTORE u5 1 s2
    OBJECT ENCODING u5
    ZADD big -0 negz
    ZSCORE big negz
    ZADD big 0 m0 1 m1 2 m2 3 m3 4 m4
    OBJECT ENCODING big
    ZSCORE big negz
    ZADD big -0 negz2
    ZSCORE big negz2
    ZRANGE big 0 -1 WITHSCORES
    ZUNION 1 big WITHSCORES
    ZPOPMIN big 3
    ZRANGE big 0 -1 WITHSCORES
    ZRANDMEMBER big 100 WITHSCORES
    ZRANGEBYSCORE big -inf +inf LIMIT 1 3 WITHSCORES
    ZREVRANGE big 0 1 WITHSCORES
    ZRANK big m4
    ZREVRANK big m4
    ZREM big m2 m3 m4
    OBJECT ENCODING big
    ZCARD big
  `),
  ...lines(ENC),
]);

// --- big sets ----------------------------------------------------------------------------------------

/** A 10K-member set with mixed scores and a 5K-member set of equal scores (for the lex commands),
 * then random ranges, ranks and removes over them, seeded. */
function bigScript(seed: number): Step[] {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const N = 10_000;
  const m = (i: number): string => `m${String(i).padStart(6, '0')}`;
  const steps: Step[] = [];
  for (let b = 0; b < N; b += 500) {
    const args = ['ZADD', 'big'];
    for (let i = b; i < b + 500; i++) {
      const kind = int(0, 2);
      args.push(kind === 0 ? String(int(0, 1000)) : kind === 1 ? String(Math.round(r() * 100_000) / 1000) : String(-i), m(i));
    }
    steps.push(s(args));
  }
  steps.push(s('ZCARD big'), s('OBJECT ENCODING big'));
  const w = (i: number): string => `w${String(i).padStart(5, '0')}`;
  steps.push(s(['ZADD', 'lexbig', ...Array.from({ length: 5000 }, (_, i) => ['0', w(i)]).flat()]));
  for (let k = 0; k < 150; k++) {
    const a = int(-N, N);
    switch (int(0, 10)) {
      case 0:
        steps.push(s(`ZRANK big ${m(int(0, N))}`), s(`ZREVRANK big ${m(int(0, N))}`));
        break;
      case 1:
        steps.push(s(`ZRANGE big ${a} ${a + int(0, 50)} WITHSCORES`), s(`ZREVRANGE big ${a} ${a + int(0, 30)}`));
        break;
      case 2: {
        const lo = int(-100, 1000);
        steps.push(s(`ZRANGEBYSCORE big (${lo} ${lo + int(0, 5)} WITHSCORES LIMIT ${int(0, 5)} ${int(-1, 20)}`));
        break;
      }
      case 3: {
        const lo = int(-100, 1000);
        steps.push(s(`ZRANGE big ${lo + 3} (${lo} BYSCORE REV WITHSCORES LIMIT 1 10`));
        break;
      }
      case 4:
        steps.push(s(`ZRANGEBYLEX lexbig (${w(int(0, 5000))} [${w(int(0, 5000))} LIMIT 0 10`), s(`ZREVRANGEBYLEX lexbig [${w(int(0, 5000))} - LIMIT 2 5`));
        break;
      case 5: {
        const lo = int(-100, 1000);
        steps.push(s(`ZCOUNT big ${lo} (${lo + 50}`), s(`ZLEXCOUNT lexbig [${w(int(0, 5000))} +`));
        break;
      }
      case 6: {
        const st = int(0, N / 2);
        steps.push(int(0, 1) === 0 ? s(`ZREMRANGEBYRANK big ${st} ${st + int(0, 20)}`) : s(`ZREMRANGEBYSCORE big ${int(0, 1000)} (${int(0, 1000) + 1}`));
        break;
      }
      case 7:
        steps.push(s(`ZSCORE big ${m(int(0, N))}`), s(`ZMSCORE big ${m(int(0, N))} ${m(int(0, N))}`));
        break;
      case 8:
        steps.push(s(`ZPOPMIN big ${int(1, 3)}`), s('ZPOPMAX big'));
        break;
      case 9:
        steps.push(s(`ZINCRBY big ${['0.1', '-0.3', '7', '1e-3'][int(0, 3)]!} ${m(int(0, N))}`));
        break;
      default:
        steps.push(s(`ZREM big ${m(int(0, N))} ${m(int(0, N))}`), s(`ZREMRANGEBYLEX lexbig [${w(int(0, 5000))} (${w(int(0, 5000))}`));
    }
  }
  steps.push(
    s('ZCARD big'),
    s('ZRANGE big 0 -1 WITHSCORES'),
    s('ZRANGE lexbig 0 -1'),
    s('ZUNIONSTORE {b}u 2 big lexbig WEIGHTS 2 1'),
    s('ZRANGE {b}u 0 -1 WITHSCORES'),
    s('ZINTERSTORE {b}i 2 big {b}u AGGREGATE MAX'),
    s('ZCARD {b}i'),
    s('ZDIFF 2 {b}u big WITHSCORES'),
    s('ZRANGESTORE rs big 100 5000'),
    s('ZRANGE rs 0 -1 WITHSCORES'),
    s('OBJECT ENCODING rs'),
  );
  return steps;
}

group('10K-member sets: random ranges, ranks, counts, removes, pops and set algebra', () => bigScript(15));

timed('a 100K-member set: ranks, score and rank ranges, counts and removes give the same bytes as redis-server', async () => {
  const [r, t] = await pair.connect();
  try {
    const both = async (...args: string[]): Promise<[Reply, Reply]> => Promise.all([call(r, ...args), call(t, ...args)]);
    await both('DEL', 'huge');
    const N = 100_000;
    const gen = rng(100);
    for (let b = 0; b < N; b += 1000) {
      const args: string[] = [];
      for (let i = b; i < b + 1000; i++) args.push(String(Math.floor(gen() * 50_000) / 4), `h${i}`);
      await both('ZADD', 'huge', ...args);
    }
    const problems: string[] = [];
    const check = async (...args: string[]): Promise<void> => {
      const [rr, tr] = await both(...args);
      if (!rr.raw.equals(tr.raw)) problems.push(`${args.join(' ')}\n    redis:   ${show(rr.raw, 200)}\n    tessera: ${show(tr.raw, 200)}`);
    };
    await check('ZCARD', 'huge');
    await check('OBJECT', 'ENCODING', 'huge');
    const int = (n: number): number => Math.floor(gen() * n);
    for (let k = 0; k < 100; k++) {
      await check('ZRANK', 'huge', `h${int(N)}`);
      await check('ZREVRANK', 'huge', `h${int(N)}`);
      const st = int(N) - N / 2;
      await check('ZRANGE', 'huge', String(st), String(st + int(40)), 'WITHSCORES');
      const lo = int(12_500);
      await check('ZRANGEBYSCORE', 'huge', `(${lo}`, String(lo + int(3)), 'WITHSCORES', 'LIMIT', String(int(3)), String(int(30)));
      await check('ZRANGE', 'huge', String(lo + 2), String(lo), 'BYSCORE', 'REV', 'LIMIT', '0', '20');
      await check('ZCOUNT', 'huge', String(lo), `(${lo + int(1000)}`);
      if (k % 10 === 0) {
        await check('ZREMRANGEBYRANK', 'huge', String(int(N / 2)), String(N / 2 + int(50)));
        await check('ZREMRANGEBYSCORE', 'huge', String(lo), `(${lo + 1}`);
        await check('ZPOPMIN', 'huge', '3');
        await check('ZPOPMAX', 'huge', '3');
      }
    }
    await check('ZCARD', 'huge');
    await check('ZRANGE', 'huge', '0', '-1', 'WITHSCORES');
    assert.is(problems.length, 0, problems.slice(0, 10).join('\n  '));
    await both('DEL', 'huge');
  } finally {
    r.close();
    t.close();
  }
});

// --- properties of random and paged replies ---------------------------------------------------------------

async function call(c: RawClient, ...args: string[]): Promise<Reply> {
  return c.call(args);
}

function list(r: Reply): string[] {
  const e = elems(r.value);
  assert.ok(e !== null, `not an aggregate: ${show(r.raw)}`);
  return e!;
}

timed('ZRANDMEMBER: distinct members for a positive count, repeats for a negative one, scores right (both servers, RESP2 and RESP3)', async () => {
  for (const port of [pair.redis.port, pair.tessera.port]) {
    for (const proto of [2, 3] as const) {
      const c = await rawClient(port);
      try {
        if (proto === 3) await call(c, 'HELLO', '3');
        for (const size of [5, 300]) {
          await call(c, 'DEL', 'rz');
          const members = Array.from({ length: size }, (_, i) => `r${i}`);
          await call(c, 'ZADD', 'rz', ...members.flatMap((m, i) => [String(i / 2), m]));
          for (const count of [1, 2, 4, size - 1, Math.floor(size / 2)]) {
            const got = list(await call(c, 'ZRANDMEMBER', 'rz', String(count)));
            assert.is(got.length, count, `count ${count} of ${size}`);
            assert.is(new Set(got).size, count, 'distinct');
            for (const m of got) assert.ok(members.includes(m), m);
          }
          const rep = list(await call(c, 'ZRANDMEMBER', 'rz', '-50'));
          assert.is(rep.length, 50);
          const ws = await call(c, 'ZRANDMEMBER', 'rz', '-20', 'WITHSCORES');
          const flat = proto === 3 ? (plain(ws.value) as string[][]).flat() : list(ws);
          assert.is(flat.length, 40);
          for (let i = 0; i < flat.length; i += 2) assert.is(Number(flat[i + 1]), Number(flat[i]!.slice(1)) / 2, `score of ${flat[i]}`);
        }
      } finally {
        c.close();
      }
    }
  }
});

timed('ZSCAN over a skiplist set returns every member once with its score (both servers)', async () => {
  for (const port of [pair.redis.port, pair.tessera.port]) {
    const c = await rawClient(port);
    try {
      await call(c, 'DEL', 'scanz');
      const n = 1000;
      for (let b = 0; b < n; b += 250) await call(c, 'ZADD', 'scanz', ...Array.from({ length: 250 }, (_, i) => [String((b + i) / 4), `s${b + i}`]).flat());
      assert.is(show((await call(c, 'OBJECT', 'ENCODING', 'scanz')).raw), show('$8\r\nskiplist\r\n'));
      const seen = new Map<string, string>();
      let cursor = '0';
      let calls = 0;
      do {
        const v = plain((await call(c, 'ZSCAN', 'scanz', cursor, 'COUNT', '37', 'MATCH', 's*')).value) as [string, string[]];
        cursor = v[0];
        for (let i = 0; i < v[1].length; i += 2) seen.set(v[1][i]!, v[1][i + 1]!);
        assert.ok(++calls < 10_000, 'ZSCAN ends');
      } while (cursor !== '0');
      assert.is(seen.size, n);
      for (let i = 0; i < n; i++) assert.is(seen.get(`s${i}`), String(i / 4));
    } finally {
      c.close();
    }
  }
});

timed('STORE forms across shards are atomic: a concurrent reader sees the old or the new result, never a part', async () => {
  const [a, b, dst] = [SPREAD[0], SPREAD[1], SPREAD[3]];
  const w = await rawClient(pair.tessera.port);
  const r = await rawClient(pair.tessera.port);
  try {
    await call(w, 'DEL', a, b, dst);
    await call(w, 'ZADD', a, ...Array.from({ length: 300 }, (_, i) => [String(i), `x${i}`]).flat());
    await call(w, 'ZADD', b, ...Array.from({ length: 100 }, (_, i) => [String(i), `x${i}`]).flat(), ...Array.from({ length: 50 }, (_, i) => [String(i), `y${i}`]).flat());
    let stop = false;
    let reads = 0;
    const reading = (async () => {
      while (!stop) {
        const n = (await call(r, 'ZCARD', dst)).text;
        assert.ok([':0\r\n', ':350\r\n', ':200\r\n', ':100\r\n', ':40\r\n'].includes(n), `ZCARD saw ${n}`);
        reads++;
      }
    })();
    for (let i = 0; i < 80; i++) {
      const k = i % 4;
      const args = k === 3 ? ['ZRANGESTORE', dst, a, '0', '39'] : [['ZUNIONSTORE', 'ZDIFFSTORE', 'ZINTERSTORE'][k]!, dst, '2', a, b];
      assert.is((await call(w, ...args)).text, [':350\r\n', ':200\r\n', ':100\r\n', ':40\r\n'][k], args.join(' '));
    }
    stop = true;
    await reading;
    assert.ok(reads > 0);
  } finally {
    w.close();
    r.close();
  }
});

// --- cluster mode, command table --------------------------------------------------------------------

timed('cluster mode: keys of a multi-key sorted-set command must share a slot (CROSSSLOT as redis-server)', async () => {
  const steps: string[][] = [
    ['ZADD', '{t}a', '1', 'x', '2', 'y'],
    ['ZADD', '{t}b', '3', 'y', '4', 'z'],
    ['ZUNION', '2', 'a', 'b'],
    ['ZUNION', '2', '{t}a', '{t}b', 'WITHSCORES'],
    ['ZINTER', '2', '{t}a', 'b'],
    ['ZDIFF', '2', '{t}a', '{t}b'],
    ['ZUNIONSTORE', 'dst', '2', '{t}a', '{t}b'],
    ['ZUNIONSTORE', '{t}dst', '2', '{t}a', '{t}b'],
    ['ZINTERSTORE', '{t}dst', '2', '{t}a', 'b'],
    ['ZDIFFSTORE', '{t}dst', '1', '{t}a'],
    ['ZRANGE', '{t}dst', '0', '-1', 'WITHSCORES'],
    ['ZINTERCARD', '2', 'a', 'b'],
    ['ZINTERCARD', '2', '{t}a', '{t}b', 'LIMIT', '1'],
    ['ZINTERCARD', '0', 'a'],
    ['ZRANGESTORE', 'dst', '{t}a', '0', '-1'],
    ['ZRANGESTORE', '{t}d2', '{t}a', '0', '-1'],
    ['ZMPOP', '2', 'a', 'b', 'MIN'],
    ['ZMPOP', '2', '{t}a', '{t}b', 'MAX', 'COUNT', '3'],
    ['ZMPOP', '0', 'a', 'MIN'],
    ['COMMAND', 'GETKEYS', 'ZUNIONSTORE', 'dst', '2', 'x', 'y', 'WEIGHTS', '1', '2'],
    ['COMMAND', 'GETKEYS', 'ZINTER', '2', 'x', 'y', 'WITHSCORES'],
    ['COMMAND', 'GETKEYS', 'ZMPOP', '2', 'x', 'y', 'MIN'],
    ['COMMAND', 'GETKEYS', 'ZRANGESTORE', 'd', 's', '0', '1'],
  ];
  await compareInOneNodeClusters('zset-cluster', SHARDS, steps);
});

timed('COMMAND INFO: arity, flags and legacy key positions of every sorted-set command, as redis-server', async () => {
  const names = ['zadd', 'zincrby', 'zrem', 'zscore', 'zmscore', 'zcard', 'zcount', 'zlexcount', 'zrank', 'zrevrank', 'zrange', 'zrangestore',
    'zrevrange', 'zrangebyscore', 'zrevrangebyscore', 'zrangebylex', 'zrevrangebylex', 'zremrangebyrank', 'zremrangebyscore', 'zremrangebylex',
    'zpopmin', 'zpopmax', 'zmpop', 'zrandmember', 'zunion', 'zinter', 'zdiff', 'zunionstore', 'zinterstore', 'zdiffstore', 'zintercard', 'zscan'];
  const [r, t] = await pair.connect();
  try {
    const problems: string[] = [];
    for (const n of names) {
      const [ri, ti] = await Promise.all([call(r, 'COMMAND', 'INFO', n), call(t, 'COMMAND', 'INFO', n)]);
      const head = (x: Reply): string => {
        const v = (plain(x.value) as Plain[][])[0]!;
        // name, arity, flags (sorted), first key, last key, step
        return JSON.stringify([v[0], v[1], [...(v[2] as string[])].sort(), v[3], v[4], v[5]]);
      };
      if (head(ri) !== head(ti)) problems.push(`${n}: redis ${head(ri)} tessera ${head(ti)}`);
    }
    assert.is(problems.length, 0, problems.join('\n  '));
  } finally {
    r.close();
    t.close();
  }
});

// --- real clients --------------------------------------------------------------------------------

const [A, B, KC, D] = SPREAD;

timed('ioredis: zadd, zrange, zrangebyscore, zincrby, zunionstore across shards, zpopmin, zscore', async () => {
  const io = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await io.connect();
    await io.del(A, B, KC, D);
    assert.is(await io.zadd(A, 1, 'a', 2, 'b', 3, 'c'), 3);
    assert.is(await io.zadd(B, 'NX', 10, 'b', 20, 'd'), 2);
    assert.equal(await io.zrange(A, 0, -1, 'WITHSCORES'), ['a', '1', 'b', '2', 'c', '3']);
    assert.equal(await io.zrangebyscore(A, '(1', '+inf'), ['b', 'c']);
    assert.equal(await io.zrevrange(A, 0, 0), ['c']);
    assert.is(await io.zincrby(A, '0.5', 'a'), '1.5');
    assert.is(await io.zscore(A, 'a'), '1.5');
    assert.is(await io.zrank(A, 'c'), 2);
    assert.is(await io.zunionstore(D, 2, A, B, 'WEIGHTS', 1, 2), 4);
    assert.equal(await io.zrange(D, 0, -1, 'WITHSCORES'), ['a', '1.5', 'c', '3', 'b', '22', 'd', '40']);
    assert.equal(await io.zinter(2, A, B, 'WITHSCORES'), ['b', '12']);
    assert.equal(await io.zpopmin(D, 2), ['a', '1.5', 'c', '3']);
    assert.equal(await io.zmpop(2, KC, D, 'MAX'), [D, [['d', '40']]]);
    assert.is(await io.zcard(D), 1);
    assert.equal(await io.zmscore(A, 'a', 'zz'), ['1.5', null]);
    assert.is(await io.zintercard(2, A, B), 1);
    const stream = io.zscanStream(A, { count: 2 });
    const seen: string[] = [];
    for await (const page of stream) seen.push(...(page as string[]));
    assert.is(seen.length, 6);
  } finally {
    io.disconnect();
  }
});

timed('node-redis: zAdd, zRangeWithScores, zRangeByScore, zIncrBy, zPopMax, zUnionStore (RESP2 client)', async () => {
  const nr = createClient({ socket: { port: pair.tessera.port, host: '127.0.0.1', reconnectStrategy: false } });
  nr.on('error', () => {
    // surfaced by the failing command
  });
  await nr.connect();
  try {
    await nr.del([A, B, D]);
    assert.is(await nr.zAdd(A, [{ score: 1, value: 'a' }, { score: 2.5, value: 'b' }, { score: 7, value: 'c' }]), 3);
    assert.equal(await nr.zRangeWithScores(A, 0, -1), [{ value: 'a', score: 1 }, { value: 'b', score: 2.5 }, { value: 'c', score: 7 }]);
    assert.equal(await nr.zRangeByScore(A, 2, '+inf'), ['b', 'c']);
    assert.equal(await nr.zRange(A, '+inf', '(1', { BY: 'SCORE', REV: true }), ['c', 'b']);
    assert.is(await nr.zIncrBy(A, 0.1, 'a'), 1.1);
    assert.is(await nr.zScore(A, 'b'), 2.5);
    assert.is(await nr.zCount(A, '-inf', '(3'), 2);
    assert.is(await nr.zAdd(B, { score: 5, value: 'a' }), 1);
    assert.is(await nr.zUnionStore(D, [A, B]), 3);
    assert.equal(await nr.zPopMax(D), { value: 'c', score: 7 });
    assert.equal(await nr.zRangeWithScores(D, 0, -1), [{ value: 'b', score: 2.5 }, { value: 'a', score: 6.1 }]);
    assert.is(await nr.zRemRangeByRank(D, 0, -1), 2);
    assert.is(await nr.exists(D), 0);
  } finally {
    await nr.quit();
  }
});

timed('redis-cli: ZADD, ZRANGE WITHSCORES, ZUNIONSTORE across shards, errors, as redis-server prints them', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const script: string[][] = [
    ['ZADD', A, '1', 'a', '0.1', 'b', 'inf', 'c'],
    ['ZADD', B, '2', 'a'],
    ['ZRANGE', A, '0', '-1', 'WITHSCORES'],
    ['ZUNIONSTORE', D, '2', A, B],
    ['ZRANGE', D, '0', '-1', 'WITHSCORES'],
    ['ZSCORE', D, 'a'],
    ['ZINCRBY', D, 'nan', 'a'],
    ['ZPOPMIN', D, '2'],
    ['ZMPOP', '2', A, B, 'MIN', 'COUNT', '2'],
  ];
  for (const mode of [[], ['-3']]) {
    // The earlier client tests ran on Tessera only: both servers start from the same keys.
    await Promise.all([pair.redis.port, pair.tessera.port].map((port) => redisCli(['-p', String(port), 'DEL', A, B, D])));
    for (const args of script) {
      const [a, b] = await Promise.all([pair.redis.port, pair.tessera.port].map((port) => redisCli(['-p', String(port), ...mode, ...args], { timeoutMs: 20_000 })));
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
a, b, d = sys.argv[2], sys.argv[3], sys.argv[4]
out = {}
r.delete(a, b, d, 'py:bigz')
out['zadd'] = r.zadd(a, {'a': 1, 'b': 2.5, 'c': 0.1})
out['zadd_gt'] = r.zadd(a, {'a': 0, 'b': 3}, gt=True, ch=True)
out['zadd_incr'] = r.zadd(a, {'c': 0.2}, incr=True)
out['zrange'] = r.zrange(a, 0, -1, withscores=True)
out['zrevrange'] = r.zrevrange(a, 0, 1)
out['zrangebyscore'] = r.zrangebyscore(a, '(0.1', '+inf', withscores=True)
out['zrange_byscore_rev'] = r.zrange(a, 10, 0, desc=True, byscore=True, offset=1, num=1)
out['zscore'] = r.zscore(a, 'b')
out['zmscore'] = r.zmscore(a, ['a', 'nosuch'])
out['zrank'] = r.zrank(a, 'b')
out['zcount'] = r.zcount(a, 0, 1)
out['zincrby'] = r.zincrby(a, 0.5, 'a')
r.zadd(b, {'a': 10, 'x': 5})
out['zunionstore'] = r.zunionstore(d, {a: 1, b: 2}, aggregate='MAX')
out['zunion'] = r.zunion([a, b], withscores=True)
out['zinter'] = r.zinter([a, b], withscores=True)
out['zdiff'] = r.zdiff([a, b])
out['zpopmin'] = r.zpopmin(d, 2)
out['zmpop'] = r.zmpop(2, [d, a], max=True, count=2)
r.zadd('py:bigz', {'k%d' % i: i for i in range(400)})
out['zscan_iter'] = len(dict(r.zscan_iter('py:bigz', count=30)))
out['zremrangebyscore'] = r.zremrangebyscore('py:bigz', 100, '(300')
out['zcard'] = r.zcard('py:bigz')
try:
    r.zincrby(a, float('nan'), 'a')
except redis.ResponseError as e:
    out['error'] = str(e)
print(json.dumps(out, sort_keys=True))
`;

function runPython(py: string, port: number, keys: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(py, ['-c', PYTHON_SCRIPT, String(port), ...keys], { stdio: ['ignore', 'pipe', 'pipe'] });
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

timed('python3-redis: the sorted-set helpers give the same results as on redis-server (keys across shards)', async () => {
  const py = pythonWithRedis();
  const keys = [A, B, D];
  const [r, t] = await Promise.all([runPython(py, pair.redis.port, keys), runPython(py, pair.tessera.port, keys)]);
  assert.is(t, r);
});

timed('after all of the above, and a churn over both encodings, each shard passes DEBUG INTEGRITY', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    for (let i = 0; i < 20; i++) {
      await call(c, 'ZADD', A, ...Array.from({ length: 40 }, (_, k) => [String((i * 7 + k) % 50), `m${(i * 13 + k) % 300}`]).flat());
      await call(c, 'ZUNIONSTORE', B, '2', A, KC);
      await call(c, 'ZREMRANGEBYRANK', A, '0', '10');
      await call(c, 'ZPOPMAX', B, '5');
      await call(c, 'ZRANGESTORE', KC, A, '0', '150');
      await call(c, 'ZINCRBY', KC, '0.1', `m${i}`);
    }
    for (let shard = 0; shard < SHARDS; shard++) {
      const r = await call(c, 'DEBUG', 'INTEGRITY', String(shard));
      assert.is(r.value.type === 'error' ? r.raw.toString() : 'ok', 'ok', `shard ${shard}`);
    }
  } finally {
    c.close();
  }
});

diff('the chosen keys really are on different shards', () => {
  assert.equal(new Set(SPREAD.map(shardOf)).size, 4);
  assert.equal(new Set(TOGETHER.map(shardOf)).size, 1);
});

diff.run();
