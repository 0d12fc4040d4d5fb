// Hash commands against a real redis-server 7.0, byte for byte: the same scripts go to both
// servers as raw RESP, in RESP2 and again after HELLO 3, covering every hash command, every error
// and the listpack -> hashtable switches. Where Redis leaves the order open (a hashtable's
// HGETALL/HKEYS/HVALS/HSCAN, random picks), the replies are compared as multisets and the
// properties are checked instead (HRANDFIELD's counts, distinctness, membership, coverage).
// Then real clients on hashes: ioredis, node-redis, redis-cli (output compared with redis-server's)
// and python3's redis library (its set helpers too).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { expectReject, redisCli, requireTool, show, withTimeout, type Reply, type RespValue } from './harness.js';
import { ServerPair, groupsOn, s, sorted, text, timedOn, type Compare, type ProbeStep } from './differential-helpers.js';

const TEST_TIMEOUT_MS = 60_000;

/**
 * The groups that set hash-max-listpack-entries/value by CONFIG SET and ask OBJECT ENCODING run
 * once both are on main (the lead wires them): flip this to true then. The groups above them
 * check the same switches at the default limits (128 entries, 64 bytes) through what a client
 * sees (listpack order, HSCAN's single-step cursor).
 */
const ENCODING_OPTIONS_ON_MAIN = true;

// ---------------------------------------------------------------------------------------------
// Comparisons particular to hashes

/** The reply's structure without its contents: types and lengths at every level. */
function skeleton(v: RespValue): string {
  switch (v.type) {
    case 'array':
      return v.value === null ? '*-1' : `*${v.value.length}[${v.value.map(skeleton).join(',')}]`;
    case 'map':
      return `%${v.value.length}[${v.value.map(([k, x]) => `${skeleton(k)}:${skeleton(x)}`).join(',')}]`;
    case 'bulk':
      return v.value === null ? '$-1' : '$';
    default:
      return v.type;
  }
}

/** Field-value pairs of a map, a flat array, or an array of [field, value] arrays. */
function pairsOf(v: RespValue): Array<[string, string]> | null {
  if (v.type === 'map') return v.value.map(([k, x]) => [text(k), text(x)]);
  if (v.type !== 'array' || v.value === null) return null;
  const items = v.value;
  if (items.every((x) => x.type === 'array')) {
    return items.map((x) => (x.type === 'array' && x.value?.length === 2 ? [text(x.value[0]!), text(x.value[1]!)] : ['?', '?']));
  }
  if (items.length % 2 !== 0) return null;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < items.length; i += 2) out.push([text(items[i]!), text(items[i + 1]!)]);
  return out;
}

const sortedJson = (xs: string[]): string => JSON.stringify([...xs].sort());

/** Same structure and the same field-value pairs in any order (a hashtable's HGETALL). */
const samePairs: Compare = (r, t) => {
  if (skeleton(r.value) !== skeleton(t.value)) return 'structures differ';
  const p = (x: Reply): string => sortedJson((pairsOf(x.value) ?? []).map(([k, v]) => `${k}=${v}`));
  return p(r) === p(t) ? null : 'pairs differ';
};

/** HSCAN of a hashtable in one short step: both answer a cursor other than 0 (more to come). */
const cursorNotZero: Compare = (r, t) => {
  for (const [who, x] of [['redis', r], ['tessera', t]] as const) {
    if (x.value.type !== 'array' || x.value.value?.length !== 2) return `${who}: not a scan reply`;
    if (text(x.value.value[0]!) === '0') return `${who}: cursor 0 (the whole hash in one step: still a listpack?)`;
  }
  return null;
};

interface RandomRule {
  /** The hash's content. */
  hash: Map<string, string>;
  /** The count argument (undefined: HRANDFIELD key, a single bulk reply). */
  count?: number;
  withValues?: boolean;
  /** Every field must appear (a long sample with repetition). */
  covers?: boolean;
}

/** HRANDFIELD's properties, checked on both replies (Redis's as a check of the rule itself),
 * and the same structure for both (lengths, nesting, RESP3 pairs). */
function randomFields(rule: RandomRule): Compare {
  const check = (x: Reply): string | null => {
    const v = x.value;
    if (rule.count === undefined) {
      if (v.type !== 'bulk' || v.value === null) return `not a bulk string: ${show(x.raw)}`;
      return rule.hash.has(text(v)) ? null : `${text(v)} is not a field`;
    }
    const n = rule.count;
    const want = n >= 0 ? Math.min(n, rule.hash.size) : -n;
    let fields: string[];
    if (rule.withValues) {
      const pairs = pairsOf(v);
      if (pairs === null) return 'not field-value pairs';
      for (const [k, val] of pairs) if (rule.hash.get(k) !== val) return `${k}=${val} is not in the hash`;
      fields = pairs.map(([k]) => k);
    } else {
      if (v.type !== 'array' || v.value === null) return 'not an array';
      fields = v.value.map(text);
      for (const k of fields) if (!rule.hash.has(k)) return `${k} is not a field`;
    }
    if (fields.length !== want) return `${fields.length} fields, want ${want}`;
    if (n > 0 && new Set(fields).size !== fields.length) return 'a field repeats in a positive-count reply';
    if (rule.covers && new Set(fields).size !== rule.hash.size) return `only ${new Set(fields).size} of ${rule.hash.size} fields in a long sample`;
    return null;
  };
  return (r, t) => {
    const rw = check(r);
    if (rw !== null) return `redis-server breaks the rule (fix the test): ${rw}`;
    const tw = check(t);
    if (tw !== null) return `tessera: ${tw}`;
    return skeleton(r.value) === skeleton(t.value) ? null : 'structures differ';
  };
}

/** A whole HSCAN iteration (cursor until 0), as a sorted list of field=value. */
function scanAll(key: string, extra: string[] = []): ProbeStep {
  return {
    name: `HSCAN ${key} ... ${extra.join(' ')} (whole iteration)`,
    probe: async (c) => {
      let cursor = '0';
      const seen = new Set<string>();
      for (let rounds = 0; ; rounds++) {
        if (rounds > 100_000) throw new Error('HSCAN did not end');
        const r = await c.call(['HSCAN', key, cursor, ...extra]);
        const v = r.value;
        if (v.type !== 'array' || v.value?.length !== 2) throw new Error(`not a scan reply: ${show(r.raw)}`);
        const pairs = pairsOf(v.value[1]!);
        if (pairs === null) throw new Error(`odd scan items: ${show(r.raw)}`);
        for (const [k, x] of pairs) seen.add(`${k}=${x}`);
        cursor = text(v.value[0]!);
        if (cursor === '0') break;
      }
      return sortedJson([...seen]);
    },
  };
}

/** HSET key with `n` fields f0..f(n-1) (values v0..), as one command. */
function hsetMany(key: string, n: number, from = 0, prefix = 'f'): string[] {
  const args = ['HSET', key];
  for (let i = from; i < from + n; i++) args.push(`${prefix}${i}`, `v${i}`);
  return args;
}

function hashOf(n: number, prefix = 'f'): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < n; i++) m.set(`${prefix}${i}`, `v${i}`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Servers

/** Both servers switch at 128 entries: Redis 7.0's default is 512, Tessera's keyspace has 128
 * built in until its config takes the option (ENCODING_OPTIONS_ON_MAIN), so redis-server is
 * told; once Tessera takes it, both are. */
const LIMIT_ARGS = ['--hash-max-listpack-entries', '128', '--hash-max-listpack-value', '64'];

const pair = new ServerPair({ redisArgs: LIMIT_ARGS, tessera: { shards: 3, args: ENCODING_OPTIONS_ON_MAIN ? LIMIT_ARGS : [] } });

const diff = suite('hash commands: redis-server vs tessera');
diff.before(pair.start);

const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });

// ---------------------------------------------------------------------------------------------
// Groups

group('HSET, HSETNX, HMSET, HGET, HMGET, HEXISTS, HLEN, HSTRLEN on a listpack', () => [
  s('HSET h f1 v1 f2 v2'),
  s('HSET h f1 v1b f3 v3'),
  s('HSET h f4 x f4 y'),
  s('HGET h f4'),
  s('HSETNX h f1 other'),
  s('HSETNX h f5 v5'),
  s('HSETNX fresh f v'),
  s('HMSET h f6 v6 f7 v7'),
  s('HMSET fresh2 a 1'),
  s('HGET h f1'),
  s('HGET h nosuch'),
  s('HGET nokey f'),
  s('HMGET h f1 nosuch f2 f1'),
  s('HMGET nokey a b'),
  s('HEXISTS h f1'),
  s('HEXISTS h nosuch'),
  s('HEXISTS nokey f'),
  s('HLEN h'),
  s('HLEN nokey'),
  s('HSTRLEN h f1'),
  s('HSTRLEN h nosuch'),
  s('HSTRLEN nokey f'),
  s('HSET h num 12345 neg -17 zero 0 lead 007 big 18446744073709551616'),
  s('HSTRLEN h num'),
  s('HSTRLEN h big'),
  s('HMGET h num neg zero lead big'),
  s(['HSET', 'h', '', '']),
  s(['HGET', 'h', '']),
  s(['HSTRLEN', 'h', '']),
  s(['HSET', 'h', 'bin\x00\xff\r\n', 'val\r\n\x00']),
  s(['HGET', 'h', 'bin\x00\xff\r\n']),
  s('HGETALL h'),
  s('HKEYS h'),
  s('HVALS h'),
  s('HLEN h'),
  s('TYPE h'),
  s('HGETALL nokey'),
  s('HKEYS nokey'),
  s('HVALS nokey'),
]);

group('HDEL, and a hash emptied is deleted', () => [
  s('HSET h a 1 b 2 c 3 d 4'),
  s('HDEL h a a nosuch'),
  s('HDEL h nosuch'),
  s('HDEL nokey f'),
  s('HGETALL h'),
  s('HDEL h b c d e'),
  s('EXISTS h'),
  s('TYPE h'),
  s('HLEN h'),
  s('HSET h2 only 1'),
  s('HDEL h2 only'),
  s('EXISTS h2'),
  s('HSET h3 x 1'),
  s('HDEL h3 x x'),
  s('EXISTS h3'),
  s('HSETNX h3 x 2'),
  s('HGETALL h3'),
]);

group('values that grow and shrink in place: listpack order kept, hashtable values replaced', () => {
  const long = (n: number): string => 'L'.repeat(n);
  return [
    s('HSET h a 1 b 2 c 3 d 4'),
    s(['HSET', 'h', 'b', long(40)]),
    s('HGETALL h'),
    s('HSET h b x'),
    s('HGETALL h'),
    s(['HSET', 'h', 'c', long(64)]),
    s('HINCRBY h a 99999'),
    s('HINCRBYFLOAT h d 0.000001'),
    s('HGETALL h'),
    s('HDEL h b'),
    s('HSET h b back e 5'),
    s('HGETALL h'),
    s('HSTRLEN h c'),
    s('HMGET h a b c d e'),
    s(hsetMany('t', 200)),
    s(['HSET', 't', 'f7', long(300)]),
    s('HGET t f7'),
    s('HSTRLEN t f7'),
    s('HSET t f7 short'),
    s('HGET t f7'),
    s('HINCRBY t n 5'),
    s('HINCRBY t n 5'),
    s('HINCRBYFLOAT t n 0.5'),
    s('HSETNX t f8 other'),
    s('HMGET t f7 f8 n nosuch'),
    s(['HDEL', 't', ...Array.from({ length: 150 }, (_, i) => `f${i}`)]),
    s('HLEN t'),
    scanAll('t'),
    s('HGETALL t', samePairs),
  ];
});

group('WRONGTYPE from every command, and string commands on a hash', () => [
  s('SET s str'),
  s('HSET s f v'),
  s('HSETNX s f v'),
  s('HMSET s f v'),
  s('HGET s f'),
  s('HMGET s f g'),
  s('HGETALL s'),
  s('HDEL s f'),
  s('HEXISTS s f'),
  s('HLEN s'),
  s('HSTRLEN s f'),
  s('HKEYS s'),
  s('HVALS s'),
  s('HINCRBY s f 1'),
  s('HINCRBYFLOAT s f 1.5'),
  s('HRANDFIELD s'),
  s('HRANDFIELD s 0'),
  s('HRANDFIELD s -3 WITHVALUES'),
  s('HSCAN s 0'),
  s('HSCAN s 0 COUNT 0'),
  s('HSET h f v'),
  s('GET h'),
  s('TYPE h'),
  s('SET h now-a-string'),
  s('HGET h f'),
  s('GET h'),
]);

group('arity and argument-count errors', () => [
  s('HSET'),
  s('HSET k'),
  s('HSET k f'),
  s('HSET k f v f2'),
  s('HSET k f v f2 v2 f3'),
  s('HMSET k f'),
  s('HMSET k f v f2'),
  s('EXISTS k'),
  s('HSETNX k f'),
  s('HSETNX k f v x'),
  s('HGET k'),
  s('HGET k f x'),
  s('HMGET k'),
  s('HGETALL'),
  s('HGETALL k x'),
  s('HDEL k'),
  s('HEXISTS k'),
  s('HLEN'),
  s('HLEN k x'),
  s('HSTRLEN k'),
  s('HKEYS'),
  s('HVALS k x'),
  s('HINCRBY k f'),
  s('HINCRBY k f 1 2'),
  s('HINCRBYFLOAT k f'),
  s('HRANDFIELD'),
  s('HSCAN k'),
  s('HSCAN'),
  s('EXISTS k'),
]);

group('HINCRBY: int64 arithmetic and errors', () => [
  s('HINCRBY h n 5'),
  s('HINCRBY h n -10'),
  s('HINCRBY h n 0'),
  s('HINCRBY h n abc'),
  s('HINCRBY h n 1.5'),
  s(['HINCRBY', 'h', 'n', ' 1']),
  s(['HINCRBY', 'h', 'n', '']),
  s('HINCRBY h n 9223372036854775808'),
  s('HINCRBY h n 9223372036854775807'),
  s('HINCRBY h n 1'),
  s('HSET h big 9223372036854775807'),
  s('HINCRBY h big 1'),
  s('HINCRBY h big 0'),
  s('HINCRBY h big -1'),
  s('HSET h small -9223372036854775808'),
  s('HINCRBY h small -1'),
  s('HINCRBY h small 9223372036854775807'),
  s('HINCRBY fresh f -9223372036854775808'),
  s('HSET h s abc lz 01 neg0 -0 plus +1 empty x'),
  s(['HSET', 'h', 'empty', '']),
  s(['HSET', 'h', 'sp', ' 1']),
  s('HINCRBY h s 1'),
  s('HINCRBY h lz 1'),
  s('HINCRBY h neg0 1'),
  s('HINCRBY h plus 1'),
  s('HINCRBY h empty 1'),
  s('HINCRBY h sp 1'),
  s('HSET h over 9223372036854775808'),
  s('HINCRBY h over 1'),
  s('HGETALL h'),
]);

group('HINCRBYFLOAT: long double results formatted as Redis, and errors', () => [
  s('HINCRBYFLOAT h f 0.1'),
  s('HINCRBYFLOAT h f 0.2'),
  s('HINCRBYFLOAT h f 10.5'),
  s('HINCRBYFLOAT h f -10.8'),
  s('HINCRBYFLOAT h g 5.0e3'),
  s('HINCRBYFLOAT h g 3e-5'),
  s('HINCRBYFLOAT h g 1.5e20'),
  s('HINCRBYFLOAT h x 0x1p3'),
  s('HINCRBYFLOAT h x -8'),
  s('HINCRBYFLOAT h tiny 1e-20'),
  s('HINCRBYFLOAT h nz -0.0'),
  s('HINCRBYFLOAT h third 0.3333333333333333333333'),
  s('HINCRBYFLOAT h third 0.6666666666666666666667'),
  s('HSET h i 9223372036854775807'),
  s('HINCRBYFLOAT h i 1'),
  s('HINCRBYFLOAT h i -0.5'),
  s('HINCRBYFLOAT fresh f 1.23'),
  s('HINCRBYFLOAT h f abc'),
  s(['HINCRBYFLOAT', 'h', 'f', '']),
  s('HINCRBYFLOAT h f nan'),
  s('HINCRBYFLOAT h f inf'),
  s('HINCRBYFLOAT h f -inf'),
  s('HINCRBYFLOAT h f +Infinity'),
  s(['HINCRBYFLOAT', 'h', 'f', ' 1']),
  s(['HINCRBYFLOAT', 'h', 'f', '1 ']),
  s('HINCRBYFLOAT h f 1e'),
  s('HINCRBYFLOAT h f 1e5000'),
  s('HSET h s abc infv inf nanv nan max 1.18e4932 sp1 1 sp2 x'),
  s(['HSET', 'h', 'sp2', ' 1']),
  s('HINCRBYFLOAT h s 1'),
  s('HINCRBYFLOAT h infv 1'),
  s('HINCRBYFLOAT h nanv 1'),
  s('HINCRBYFLOAT h max 1e4932'),
  s('HINCRBYFLOAT h max -1e4932'),
  s('HINCRBYFLOAT h sp2 1'),
  s('HINCRBYFLOAT s-missing f 1'),
  // 'max' holds 4932 digits: a hashtable now, in no particular order.
  s('HGETALL h', samePairs),
]);

group('HRANDFIELD: errors and edge counts', () => [
  s('HRANDFIELD nokey'),
  s('HRANDFIELD nokey 5'),
  s('HRANDFIELD nokey -5 WITHVALUES'),
  s('HRANDFIELD nokey 0'),
  s('HRANDFIELD nokey abc'),
  s('HRANDFIELD nokey 5 badopt'),
  s('HSET h a 1 b 2 c 3 d 4 e 5'),
  s('HRANDFIELD h abc'),
  s('HRANDFIELD h 1.5'),
  s(['HRANDFIELD', 'h', '']),
  s('HRANDFIELD h -9223372036854775808'),
  s('HRANDFIELD h 9223372036854775808'),
  s('HRANDFIELD h 4611686018427387904 WITHVALUES'),
  s('HRANDFIELD h -4611686018427387904 WITHVALUES'),
  s('HRANDFIELD h 5 WITHVALUE'),
  s('HRANDFIELD h 5 WITHVALUES x'),
  s('HRANDFIELD h 0'),
  s('HRANDFIELD h 0 WITHVALUES'),
  s('HRANDFIELD h -0'),
  // At least the whole hash: all of it, in the listpack's order.
  s('HRANDFIELD h 5'),
  s('HRANDFIELD h 100 withvalues'),
  s('HRANDFIELD h 4611686018427387903 WITHVALUES'),
  s('HRANDFIELD h 9223372036854775807'),
]);

group('HRANDFIELD on a listpack: counts, distinctness, membership', () => {
  const h = new Map([['a', '1'], ['b', '2'], ['c', '3'], ['d', '4'], ['e', '5']]);
  return [
    s('HSET h a 1 b 2 c 3 d 4 e 5'),
    s('HRANDFIELD h', randomFields({ hash: h })),
    s('HRANDFIELD h 1', randomFields({ hash: h, count: 1 })),
    s('HRANDFIELD h 1 WITHVALUES', randomFields({ hash: h, count: 1, withValues: true })),
    s('HRANDFIELD h 3', randomFields({ hash: h, count: 3 })),
    s('HRANDFIELD h 4 WITHVALUES', randomFields({ hash: h, count: 4, withValues: true })),
    s('HRANDFIELD h -1', randomFields({ hash: h, count: -1 })),
    s('HRANDFIELD h -3', randomFields({ hash: h, count: -3 })),
    s('HRANDFIELD h -7 WITHVALUES', randomFields({ hash: h, count: -7, withValues: true })),
    s('HRANDFIELD h -300', randomFields({ hash: h, count: -300, covers: true })),
    s('HRANDFIELD h -300 WITHVALUES', randomFields({ hash: h, count: -300, withValues: true, covers: true })),
  ];
});

group('HRANDFIELD on a hashtable: every case of Redis', () => {
  const h = hashOf(200);
  return [
    s(hsetMany('big', 200)),
    s('HRANDFIELD big', randomFields({ hash: h })),
    s('HRANDFIELD big 1 WITHVALUES', randomFields({ hash: h, count: 1, withValues: true })),
    s('HRANDFIELD big 10', randomFields({ hash: h, count: 10 })),
    s('HRANDFIELD big 10 WITHVALUES', randomFields({ hash: h, count: 10, withValues: true })),
    s('HRANDFIELD big 150', randomFields({ hash: h, count: 150 })),
    s('HRANDFIELD big 150 WITHVALUES', randomFields({ hash: h, count: 150, withValues: true })),
    s('HRANDFIELD big 200', sorted),
    s('HRANDFIELD big 300 WITHVALUES', samePairs),
    s('HRANDFIELD big -20 WITHVALUES', randomFields({ hash: h, count: -20, withValues: true })),
    s('HRANDFIELD big -6000', randomFields({ hash: h, count: -6000, covers: true })),
  ];
});

group('HSCAN on a listpack: everything with cursor 0; cursor and option errors', () => [
  s('HSCAN nokey 0'),
  s('HSCAN nokey 0 COUNT 0'),
  s('HSCAN nokey 0 BADOPT'),
  s('HSCAN nokey abc'),
  s('HSET h a 1 b 2 c 3 aa 4 ab 5'),
  s('HSCAN h 0'),
  s('HSCAN h 0 COUNT 1'),
  s('HSCAN h 0 MATCH a*'),
  s('HSCAN h 0 MATCH * COUNT 2'),
  s('HSCAN h 0 MATCH zz*'),
  s('HSCAN h 0 match [ab] count 100'),
  s('HSCAN h 0 COUNT 1 MATCH a? COUNT 5'),
  s('HSCAN h 123'),
  s('HSCAN h -1'),
  s('HSCAN h +0'),
  s(['HSCAN', 'h', '']),
  s('HSCAN h 18446744073709551615'),
  s('HSCAN h 18446744073709551616'),
  s(['HSCAN', 'h', ' 1']),
  s(['HSCAN', 'h', '1 ']),
  s('HSCAN h -'),
  s('HSCAN h 1.5'),
  s('HSCAN h 0 COUNT 0'),
  s('HSCAN h 0 COUNT -1'),
  s('HSCAN h 0 COUNT abc'),
  s('HSCAN h 0 COUNT 9223372036854775808'),
  s('HSCAN h 0 COUNT'),
  s('HSCAN h 0 MATCH'),
  s('HSCAN h 0 TYPE string'),
  s('HSCAN h 0 NOVALUES'),
]);

group('HSCAN on a hashtable: cursors and whole iterations', () => [
  s(hsetMany('big', 300)),
  s('HSCAN big 0 COUNT 1', cursorNotZero),
  scanAll('big'),
  scanAll('big', ['COUNT', '7']),
  scanAll('big', ['MATCH', 'f1*', 'COUNT', '3']),
  scanAll('big', ['MATCH', '*9']),
  s('HSCAN big 0 COUNT 0'),
  s('HSCAN big 0 MATCH'),
  s('HSCAN big abc'),
]);

group('encoding switches at the default limits: 128 entries', () => {
  const args128 = hsetMany('h', 128);
  return [
    s(args128),
    // Still a listpack: insertion order, and HSCAN gives it all at once.
    s('HGETALL h'),
    s('HKEYS h'),
    s('HVALS h'),
    s('HSCAN h 0 COUNT 1'),
    s('HRANDFIELD h 128'),
    s(hsetMany('h', 1, 128)),
    s('HLEN h'),
    s('HGETALL h', samePairs),
    s('HKEYS h', sorted),
    s('HVALS h', sorted),
    s('HSCAN h 0 COUNT 1', cursorNotZero),
    scanAll('h'),
    // A hashtable stays one when it shrinks again, as in Redis.
    s(['HDEL', 'h', ...Array.from({ length: 120 }, (_, i) => `f${i}`)]),
    s('HLEN h'),
    s(hsetMany('h', 20, 200)),
    s('HSCAN h 0 COUNT 1', cursorNotZero),
    scanAll('h'),
    // One HSET that crosses the limit.
    s(hsetMany('h2', 129)),
    s('HSCAN h2 0 COUNT 1', cursorNotZero),
    scanAll('h2'),
  ];
});

group('encoding switches at the default limits: 64-byte fields and values', () => {
  const v64 = 'x'.repeat(64);
  const v65 = 'y'.repeat(65);
  const more = (key: string): string[] => hsetMany(key, 20, 0, 'm');
  return [
    s(['HSET', 'a', 'f', v64, v64, 'g']),
    s(more('a')),
    s('HSCAN a 0 COUNT 1'),
    s(['HSET', 'b', 'f', v65]),
    s(more('b')),
    s('HSCAN b 0 COUNT 1', cursorNotZero),
    scanAll('b'),
    s(['HSET', 'c', v65, '1']),
    s(more('c')),
    s('HSCAN c 0 COUNT 1', cursorNotZero),
    // An existing field's value grows past the limit.
    s('HSET d f short'),
    s(['HSET', 'd', 'f', v65]),
    s(more('d')),
    s('HSCAN d 0 COUNT 1', cursorNotZero),
    // HSETNX on an existing field changes nothing (Redis checks before converting).
    s('HSET e f short'),
    s(['HSETNX', 'e', 'f', v65]),
    s(more('e')),
    s('HSCAN e 0 COUNT 1'),
    s(['HSETNX', 'e2', 'f', v65]),
    s(more('e2')),
    s('HSCAN e2 0 COUNT 1', cursorNotZero),
    // HINCRBY with a long field, HINCRBYFLOAT with a long result.
    s(['HINCRBY', 'g', 'z'.repeat(65), '1']),
    s(more('g')),
    s('HSCAN g 0 COUNT 1', cursorNotZero),
    s('HSET i f 1'),
    s('HINCRBYFLOAT i f 1e70'),
    s(more('i')),
    s('HSCAN i 0 COUNT 1', cursorNotZero),
    scanAll('i'),
    s('HGET i f'),
    s('HSET j f 1'),
    s('HINCRBY j f 99999999'),
    s(more('j')),
    s('HSCAN j 0 COUNT 1'),
  ];
});

if (ENCODING_OPTIONS_ON_MAIN) {
  const small = [s('CONFIG SET hash-max-listpack-entries 4'), s('CONFIG SET hash-max-listpack-value 8')];
  const restore = [s('CONFIG SET hash-max-listpack-entries 128'), s('CONFIG SET hash-max-listpack-value 64')];
  group('OBJECT ENCODING across the switches (hash-max-listpack-entries 4, -value 8)', () => [
    ...small,
    s('HSET h a 1 b 2 c 3 d 4'),
    s('OBJECT ENCODING h'),
    s('HGETALL h'),
    s('HSET h e 5'),
    s('OBJECT ENCODING h'),
    s('HGETALL h', samePairs),
    s('HDEL h a b c d'),
    s('OBJECT ENCODING h'),
    s('HSET v f 12345678'),
    s('OBJECT ENCODING v'),
    s('HSET v f 123456789'),
    s('OBJECT ENCODING v'),
    s('HSET w 123456789 x'),
    s('OBJECT ENCODING w'),
    s('HSET x f 1'),
    s('HSETNX x f 123456789'),
    s('OBJECT ENCODING x'),
    s('HSETNX x g 123456789'),
    s('OBJECT ENCODING x'),
    s('HSET y f 1'),
    s('HINCRBY y f 123456789'),
    s('OBJECT ENCODING y'),
    s('HSET z f 1'),
    s('HINCRBYFLOAT z f 0.1234567'),
    s('OBJECT ENCODING z'),
    s('HINCRBY lf aaaaaaaaa 1'),
    s('OBJECT ENCODING lf'),
    s('HMSET m a 1 b 2 c 3 d 4 e 5'),
    s('OBJECT ENCODING m'),
    s('HSET small a 1'),
    s('HSCAN small 0 COUNT 1'),
    s('HRANDFIELD small 4 WITHVALUES'),
    s('OBJECT ENCODING nokey'),
    ...restore,
  ]);
  group('OBJECT ENCODING at 128 entries and 64 bytes (LIMIT_ARGS)', () => [
    s(hsetMany('h', 128)),
    s('OBJECT ENCODING h'),
    s(hsetMany('h', 1, 128)),
    s('OBJECT ENCODING h'),
    s(['HSET', 'v', 'f', 'x'.repeat(64)]),
    s('OBJECT ENCODING v'),
    s(['HSET', 'v', 'g', 'x'.repeat(65)]),
    s('OBJECT ENCODING v'),
  ]);
}

diff.run();

// ---------------------------------------------------------------------------------------------
// Real clients

const clients = suite('hash commands: real clients');
clients.before(pair.start);
clients.after(pair.stop);

const c = timedOn(clients, TEST_TIMEOUT_MS);
const tesseraPort = (): number => pair.tessera.port;

c('ioredis: hset with an object, hgetall into an object, hmget, hincrbyfloat, hscanStream', async () => {
  const r = new Redis({ port: tesseraPort(), host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  try {
    await withTimeout(r.connect(), 10_000, 'ioredis connect');
    await r.del('io:h', 'io:big');
    assert.is(await r.hset('io:h', { name: 'Ada', lang: 'en', visits: '3' }), 3);
    assert.is(await r.hset('io:h', 'lang', 'fr'), 0);
    assert.equal(await r.hgetall('io:h'), { name: 'Ada', lang: 'fr', visits: '3' });
    assert.equal(await r.hmget('io:h', 'name', 'nosuch'), ['Ada', null]);
    assert.is(await r.hincrby('io:h', 'visits', 2), 5);
    assert.is(await r.hincrbyfloat('io:h', 'score', '0.1'), '0.1');
    assert.is(await r.hincrbyfloat('io:h', 'score', '0.2'), '0.3');
    assert.is(await r.hexists('io:h', 'name'), 1);
    assert.is(await r.hlen('io:h'), 4);
    assert.equal((await r.hkeys('io:h')).sort(), ['lang', 'name', 'score', 'visits']);
    const picks = (await r.hrandfield('io:h', -10, 'WITHVALUES')) as string[];
    assert.is(picks.length, 20);
    await r.hset('io:big', Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, `v${i}`])));
    const seen = new Map<string, string>();
    await new Promise<void>((resolve, reject) => {
      const stream = r.hscanStream('io:big', { count: 20 });
      stream.on('data', (chunk: string[]) => {
        for (let i = 0; i < chunk.length; i += 2) seen.set(chunk[i]!, chunk[i + 1]!);
      });
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    assert.is(seen.size, 500);
    assert.is(seen.get('f499'), 'v499');
    assert.is(await r.hdel('io:h', 'name', 'lang', 'visits', 'score'), 4);
    assert.is(await r.exists('io:h'), 0);
    await r.set('io:s', 'x');
    await expectReject(r.hget('io:s', 'f'), /WRONGTYPE/);
  } finally {
    r.disconnect();
  }
});

c('node-redis: hSet with an object, hGetAll, hmGet, hIncrBy, hRandFieldCountWithValues, hScanIterator', async () => {
  const r = createClient({ socket: { port: tesseraPort(), host: '127.0.0.1', connectTimeout: 5_000, reconnectStrategy: false } });
  r.on('error', () => {
    // surfaced by the failing command
  });
  await withTimeout(r.connect(), 10_000, 'node-redis connect');
  try {
    await r.del(['nr:h', 'nr:big']);
    assert.is(await r.hSet('nr:h', { name: 'Grace', year: '1906' }), 2);
    assert.is(await r.hSet('nr:h', 'rank', 'admiral'), 1);
    assert.equal({ ...(await r.hGetAll('nr:h')) }, { name: 'Grace', year: '1906', rank: 'admiral' });
    assert.equal(await r.hmGet('nr:h', ['year', 'nosuch']), ['1906', null]);
    assert.is(await r.hIncrBy('nr:h', 'year', 100), 2006);
    assert.is(await r.hIncrByFloat('nr:h', 'f', 1.5), '1.5');
    assert.is(await r.hStrLen('nr:h', 'rank'), 7);
    assert.is(await r.hExists('nr:h', 'rank'), true);
    assert.is(await r.hSetNX('nr:h', 'rank', 'x'), false);
    const picked = await r.hRandFieldCountWithValues('nr:h', 2);
    assert.is(Object.keys(picked).length, 2);
    for (const field of Object.keys(picked)) assert.ok(['name', 'year', 'rank', 'f'].includes(field), field);
    assert.equal({ ...(await r.hGetAll('nokey:nr')) }, {});
    await r.hSet('nr:big', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, String(i)])));
    const seen = new Set<string>();
    for await (const { field, value } of r.hScanIterator('nr:big', { COUNT: 25 })) {
      assert.is(value, field.slice(1));
      seen.add(field);
    }
    assert.is(seen.size, 300);
    assert.is(await r.hLen('nr:big'), 300);
  } finally {
    await r.disconnect().catch(() => undefined);
  }
});

c('redis-cli: the same output from redis-server and tessera, in RESP2 and RESP3', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const script: string[][] = [
    ['DEL', 'cli:h'],
    ['HSET', 'cli:h', 'a', '1', 'b', 'two words', 'c', '3.5'],
    ['HGETALL', 'cli:h'],
    ['HMGET', 'cli:h', 'a', 'nosuch', 'b'],
    ['HINCRBYFLOAT', 'cli:h', 'c', '0.25'],
    ['HINCRBY', 'cli:h', 'b', '1'],
    ['HSCAN', 'cli:h', '0'],
    ['HRANDFIELD', 'cli:h', '10', 'WITHVALUES'],
    ['HKEYS', 'cli:h'],
    ['HLEN', 'cli:h'],
    ['HGET', 'cli:h', 'nosuch'],
    ['HRANDFIELD', 'nokey:cli'],
    ['HGETALL', 'nokey:cli'],
  ];
  for (const mode of [[], ['-3'], ['--no-raw'], ['-3', '--no-raw']]) {
    for (const args of script) {
      const [a, b] = await Promise.all(
        [pair.redis.port, tesseraPort()].map((port) => redisCli(['-p', String(port), ...mode, ...args], { timeoutMs: 20_000 })),
      );
      assert.is(b!.code, a!.code, `exit code of ${args.join(' ')}`);
      assert.is(b!.stdout, a!.stdout, `redis-cli ${mode.join(' ')} ${args.join(' ')}`);
    }
  }
});

/** An interpreter that can `import redis` (Debian's python3-redis), or a failure saying so. */
function pythonWithRedis(): string {
  const tried: string[] = [];
  // Debian's python3-redis goes with /usr/bin/python3, which may not be the first python3 on
  // PATH (pyenv, a virtualenv).
  for (const py of ['python3', 'python', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import redis'], { stdio: 'ignore' });
    if (r.error === undefined && r.status === 0) return py;
    tried.push(`${py}: ${r.error ? 'not found' : 'cannot import redis'}`);
  }
  throw new Error(`no python interpreter can 'import redis' (${tried.join('; ')}): install Debian's python3-redis (.ci/run does)`);
}

const PYTHON_SCRIPT = `
import json, sys, redis
r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), decode_responses=True, socket_timeout=10)
out = {}
r.delete('py:h', 'py:big')
out['hset'] = r.hset('py:h', mapping={'a': '1', 'b': '2', 'c': 'three'})
out['hset1'] = r.hset('py:h', 'a', '10')
out['hgetall'] = r.hgetall('py:h')
out['hmget'] = r.hmget('py:h', ['a', 'nosuch'])
out['hincrby'] = r.hincrby('py:h', 'b', 40)
out['hincrbyfloat'] = r.hincrbyfloat('py:h', 'f', 2.5)
out['hsetnx'] = r.hsetnx('py:h', 'a', 'x')
out['hlen'] = r.hlen('py:h')
out['hstrlen'] = r.hstrlen('py:h', 'c')
out['hexists'] = r.hexists('py:h', 'zz')
out['hkeys'] = sorted(r.hkeys('py:h'))
out['hvals'] = sorted(r.hvals('py:h'))
rf = r.hrandfield('py:h', 3, withvalues=True)
out['hrandfield_len'] = len(rf)
r.hset('py:big', mapping={'k%d' % i: str(i) for i in range(400)})
out['hscan_iter'] = len(dict(r.hscan_iter('py:big', count=30)))
try:
    r.hincrby('py:h', 'c', 1)
except redis.ResponseError as e:
    out['error'] = str(e)
out['hdel'] = r.hdel('py:h', 'a', 'b', 'c', 'f')
out['exists'] = r.exists('py:h')
# Sets: the library returns Python sets, compared sorted.
r.delete('py:s1', 'py:s2', 'py:bigset')
out['sadd'] = r.sadd('py:s1', 'a', 'b', 'c', '1')
out['sadd2'] = r.sadd('py:s2', 'b', 'c', 'd')
out['smembers'] = sorted(r.smembers('py:s1'))
out['sismember'] = r.sismember('py:s1', 'a')
out['smismember'] = r.smismember('py:s1', ['a', 'z'])
out['scard'] = r.scard('py:s1')
out['sinter'] = sorted(r.sinter('py:s1', 'py:s2'))
out['sunion'] = sorted(r.sunion('py:s1', 'py:s2'))
out['sdiff'] = sorted(r.sdiff('py:s1', 'py:s2'))
out['srem'] = r.srem('py:s1', 'a', 'zz')
r.sadd('py:bigset', *[str(i) for i in range(400)])
out['sscan_iter'] = len(set(r.sscan_iter('py:bigset', count=30)))
out['spop'] = len(r.spop('py:bigset', 5))
out['scard_after'] = r.scard('py:bigset')
print(json.dumps(out, sort_keys=True))
`;

function runPython(py: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(py, ['-c', PYTHON_SCRIPT, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
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

c('python3 redis: hset mapping, hgetall, hincrbyfloat, hscan_iter, and the set helpers; the same results as redis-server', async () => {
  const py = pythonWithRedis();
  const [want, got] = [await runPython(py, pair.redis.port), await runPython(py, tesseraPort())];
  assert.is(got, want);
  const parsed = JSON.parse(got) as Record<string, unknown>;
  assert.equal(parsed['hgetall'], { a: '10', b: '2', c: 'three' });
  assert.is(parsed['hincrbyfloat'], 2.5);
  assert.is(parsed['hscan_iter'], 400);
  assert.is(parsed['error'], 'hash value is not an integer');
  assert.equal(parsed['sinter'], ['b', 'c']);
  assert.is(parsed['sscan_iter'], 400);
  assert.is(parsed['scard_after'], 395);
});

clients.run();
