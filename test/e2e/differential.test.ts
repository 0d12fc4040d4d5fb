// Differential test: the same commands, as raw RESP, go to a real redis-server and to Tessera
// (three shards, so keys spread over workers); the replies must be byte-identical. Where a reply
// depends on the clock or on the server's identity (TTL, CLIENT ID, TIME, HELLO's map), only its
// shape or range is compared. Each group starts from an empty keyspace on fresh connections.
// A mismatch prints the command and both replies, JSON-escaped.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeCommand,
  rawClient,
  show,
  startRedis,
  startTessera,
  withTimeout,
  type RawClient,
  type Reply,
  type ServerHandle,
} from './harness.js';

const TEST_TIMEOUT_MS = 30_000;
/** Far in the future (2100-01-01), so that fixed absolute expiries give fixed replies. */
const AT_S = 4102444800;
const AT_MS = AT_S * 1000 + 123;

/** Returns null when the two replies agree, or why they do not. */
type Compare = (redis: Reply, tessera: Reply) => string | null;

interface Step {
  args: string[];
  /** Bytes to send instead of `args` encoded as a multibulk. */
  raw?: string;
  compare: Compare;
}

const exact: Compare = (r, t) => (r.raw.equals(t.raw) ? null : 'bytes differ');

/** Both are integers within [lo, hi] (TTLs, which move with the clock). */
const intIn =
  (lo: number, hi: number): Compare =>
  (r, t) => {
    for (const [who, x] of [['redis', r], ['tessera', t]] as const) {
      if (x.value.type !== 'integer') return `${who} did not reply with an integer`;
      const n = Number(x.value.value);
      if (n < lo || n > hi) return `${who} replied ${n}, outside [${lo}, ${hi}]`;
    }
    return null;
  };

/** Same reply type (first byte), and for aggregates the same number of elements. */
const sameShape: Compare = (r, t) => {
  if (r.raw[0] !== t.raw[0]) return 'reply types differ';
  const rv = r.value;
  const tv = t.value;
  if ((rv.type === 'array' || rv.type === 'map') && (tv.type === 'array' || tv.type === 'map')) {
    if ((rv.value?.length ?? -1) !== (tv.value?.length ?? -1)) return 'element counts differ';
  }
  return null;
};

/** Arrays with the same elements in any order (KEYS). */
const sameSet: Compare = (r, t) => {
  const elems = (x: Reply): string[] | null =>
    x.value.type === 'array' && x.value.value !== null
      ? x.value.value.map((e) => (e.type === 'bulk' && e.value !== null ? e.value.toString('latin1') : `?${e.type}`)).sort()
      : null;
  const re = elems(r);
  const te = elems(t);
  if (re === null || te === null) return 'not both arrays';
  return JSON.stringify(re) === JSON.stringify(te) ? null : `sorted elements differ: redis ${JSON.stringify(re)} tessera ${JSON.stringify(te)}`;
};

/** Splits on single spaces; use an array for arguments that hold spaces or are empty. */
function s(command: string | string[], compare: Compare = exact): Step {
  return { args: typeof command === 'string' ? command.split(' ') : command, compare };
}
const ttl = (command: string, lo: number, hi: number): Step => s(command, intIn(lo, hi));
const shape = (command: string | string[]): Step => s(command, sameShape);

let redis: ServerHandle | undefined;
let tessera: ServerHandle | undefined;

const diff = suite('differential: redis-server vs tessera');

diff.before(async () => {
  [redis, tessera] = await withTimeout(Promise.all([startRedis(), startTessera({ shards: 3 })]), 20_000, 'server start');
});

diff.after(async () => {
  await Promise.all([redis?.stop(), tessera?.stop()]);
});

async function connectPair(): Promise<[RawClient, RawClient]> {
  if (redis === undefined || tessera === undefined) throw new Error('servers not started');
  return Promise.all([rawClient(redis.port), rawClient(tessera.port)]);
}

/**
 * Sends each step to both servers in turn (FLUSHALL first) and compares the replies. All
 * mismatches of the group are reported together; a reply missing from Tessera ends the group,
 * since the connection can no longer be trusted to be in step.
 */
async function runSteps(steps: Step[], opts: { flush?: boolean } = {}): Promise<void> {
  const all = opts.flush === false ? steps : [s('FLUSHALL'), ...steps];
  const [r, t] = await connectPair();
  const problems: string[] = [];
  try {
    for (const step of all) {
      const bytes = step.raw !== undefined ? Buffer.from(step.raw, 'latin1') : encodeCommand(step.args);
      r.send(bytes);
      t.send(bytes);
      let rr: Reply | undefined;
      try {
        [rr] = await r.read(1);
      } catch (err) {
        throw new Error(`redis-server gave no reply to ${show(bytes)} (${(err as Error).message}): fix the test`);
      }
      let tr: Reply | undefined;
      try {
        [tr] = await t.read(1);
      } catch (err) {
        problems.push(`${show(bytes)}\n    redis:   ${show(rr!.raw)}\n    tessera: no reply (${(err as Error).message})`);
        break;
      }
      const why = step.compare(rr!, tr!);
      if (why !== null) {
        problems.push(`${step.args.join(' ')}  [${why}]\n    redis:   ${show(rr!.raw)}\n    tessera: ${show(tr!.raw)}`);
      }
    }
  } finally {
    r.close();
    t.close();
  }
  if (problems.length > 0) {
    const report = `${problems.length} of ${all.length} replies differ:\n  ${problems.join('\n  ')}`;
    assert.unreachable(report);
  }
}

function group(name: string, steps: Step[] | (() => Step[])): void {
  diff(name, () => withTimeout(runSteps(typeof steps === 'function' ? steps() : steps), TEST_TIMEOUT_MS, name));
}

group('PING and ECHO', [
  s('PING'),
  s('ping'),
  s('PING hello'),
  s(['PING', '']),
  s('PING a b'),
  s('ECHO hello'),
  s(['ECHO', '']),
  s(['ECHO', 'with\r\nnewline\0and nul']),
  s('ECHO'),
  s('ECHO a b'),
]);

group('SET options', [
  s('SET k v'),
  s('GET k'),
  s('SET k v2 NX'),
  s('GET k'),
  s('SET k2 v NX'),
  s('SET k v3 XX'),
  s('SET nokey v XX'),
  s('EXISTS nokey'),
  s('SET k v nx'),
  s('SET k v xx'),
  s('SET k v NX XX'),
  s('SET k v XX NX'),
  s('SET k v EX 100 PX 100000'),
  s('SET k v PX 100 EX 100'),
  s('SET k v EX 100 EXAT 4102444800'),
  s('SET k v EX 100 KEEPTTL'),
  s('SET k v KEEPTTL EX 100'),
  s('SET k v EX'),
  s('SET k v PX'),
  s('SET k v EX abc'),
  s('SET k v EX 1.5'),
  s('SET k v PX 10abc'),
  s('SET k v EX 0'),
  s('SET k v EX -1'),
  s('SET k v PX 0'),
  s('SET k v PX -100'),
  s('SET k v EXAT 0'),
  s('SET k v PXAT -5'),
  s('SET k v EX 9223372036854775807'),
  s('SET k v PX 9223372036854775807'),
  s('SET k v EX 99999999999999999999'),
  s('SET k v FOO'),
  s('SET k v GET GET'),
  s('SET k'),
  s('SET'),
  s('SET k v EX 100'),
  ttl('TTL k', 99, 100),
  ttl('PTTL k', 99_000, 100_000),
  s('SET k v PX 100000'),
  ttl('PTTL k', 99_000, 100_000),
  s(`SET k v EXAT ${AT_S}`),
  s('EXPIRETIME k'),
  s('PEXPIRETIME k'),
  s(`SET k v PXAT ${AT_MS}`),
  s('PEXPIRETIME k'),
  s('EXPIRETIME k'),
  s('SET k other KEEPTTL'),
  s('PEXPIRETIME k'),
  s('GET k'),
  s('SET k plain'),
  s('PEXPIRETIME k'),
  s('TTL k'),
  s('SET k v KEEPTTL'),
  s('TTL k'),
  s('SET k new GET'),
  s('SET fresh v GET'),
  s('GET fresh'),
  s('SET k newer NX GET'),
  s('SET absent v XX GET'),
  s('EXISTS absent'),
  s('SET k v4 XX GET'),
  s(`SET k v5 GET EXAT ${AT_S}`),
  s('EXPIRETIME k'),
  s('SET k v6 ex 50 get'),
  ttl('TTL k', 49, 50),
  s('SET past v EXAT 1'),
  s('GET past'),
  s('EXISTS past'),
  s('SET past v PXAT 1000'),
  s('EXISTS past'),
  s(['SET', 'spaces key', 'a value with spaces']),
  s(['GET', 'spaces key']),
  s(['SET', 'empty', '']),
  s('GET empty'),
  s('STRLEN empty'),
  s(['SET', 'bin\0key', 'v\r\n\0x']),
  s(['GET', 'bin\0key']),
  s('DBSIZE'),
]);

group('GET, GETDEL, GETEX, GETSET', [
  s('SET k hello'),
  s('GET k'),
  s('GET missing'),
  s('GET'),
  s('GET a b'),
  s('GETDEL k'),
  s('GETDEL k'),
  s('EXISTS k'),
  s('GETDEL'),
  s('SET k hello'),
  s('GETEX k'),
  s('TTL k'),
  s('GETEX k EX 100'),
  ttl('TTL k', 99, 100),
  s('GETEX k PERSIST'),
  s('TTL k'),
  s('GETEX k PX 200000'),
  ttl('PTTL k', 199_000, 200_000),
  s(`GETEX k EXAT ${AT_S}`),
  s('EXPIRETIME k'),
  s(`GETEX k PXAT ${AT_MS}`),
  s('PEXPIRETIME k'),
  s('GETEX k persist'),
  s('PEXPIRETIME k'),
  s('GETEX k EX 0'),
  s('GETEX k PX 0'),
  s('GETEX k EX -1'),
  s('GETEX k EXAT -1'),
  s('GETEX k EX abc'),
  s('GETEX k EX'),
  s('GETEX k EX 10 PX 10000'),
  s('GETEX k PERSIST EX 10'),
  s('GETEX k EX 10 PERSIST'),
  s('GETEX k FOO'),
  s('GETEX k EX 9223372036854775807'),
  s('GETEX missing EX 10'),
  s('GETEX missing'),
  s('GETEX'),
  s('GETEX k EXAT 1'),
  s('EXISTS k'),
  s('SET k old'),
  s('EXPIRE k 100'),
  s('GETSET k new'),
  s('TTL k'),
  s('GET k'),
  s('GETSET missing v'),
  s('GET missing'),
  s('GETSET k'),
  s('GETSET'),
]);

group('SETNX, SETEX, PSETEX', [
  s('SETNX k v'),
  s('SETNX k w'),
  s('GET k'),
  s('SETNX k'),
  s('SETEX k 100 v'),
  ttl('TTL k', 99, 100),
  s('GET k'),
  s('SETEX k 0 v'),
  s('SETEX k -5 v'),
  s('SETEX k abc v'),
  s('SETEX k 9223372036854775807 v'),
  s('SETEX k 10'),
  s('SETEX k 10 v extra'),
  s('PSETEX k 100000 v'),
  ttl('PTTL k', 99_000, 100_000),
  s('PSETEX k 0 v'),
  s('PSETEX k -1 v'),
  s('PSETEX k 1.5 v'),
  s('PSETEX k 10'),
  s('GET k'),
]);

group('MGET, MSET, MSETNX across shards', [
  s('MSET a 1 b 2 c 3 d 4 e 5 f 6 {t}x 7 {t}y 8'),
  s('MGET a b c d e f {t}x {t}y missing a'),
  s('MGET missing'),
  s('MGET'),
  s('MSET a'),
  s('MSET a 1 b'),
  s('MSET'),
  s('MSET a 10 a 11'),
  s('GET a'),
  s('MSETNX x 1 y 2 z 3'),
  s('MGET x y z'),
  s('MSETNX x 9 w 9'),
  s('MGET x w'),
  s('EXISTS w'),
  s('MSETNX n1 1 n1 2'),
  s('GET n1'),
  s('MSETNX a'),
  s('MSETNX a 1 b'),
  s('MSETNX'),
  s('DBSIZE'),
]);

group('INCR family and int64 limits', [
  s('SET n 10'),
  s('INCR n'),
  s('DECR n'),
  s('INCRBY n 5'),
  s('DECRBY n 3'),
  s('INCRBY n -50'),
  s('DECRBY n -7'),
  s('GET n'),
  s('INCR fresh'),
  s('DECR fresh2'),
  s('INCRBY fresh3 -9223372036854775808'),
  s('SET max 9223372036854775807'),
  s('INCR max'),
  s('INCRBY max 1'),
  s('DECR max'),
  s('INCR max'),
  s('GET max'),
  s('SET min -9223372036854775808'),
  s('DECR min'),
  s('DECRBY min 1'),
  s('INCRBY min -1'),
  s('INCR min'),
  s('SET max 9223372036854775807'),
  s('INCRBY max -9223372036854775808'),
  s('SET z 0'),
  s('INCRBY z 9223372036854775808'),
  s('INCRBY z -9223372036854775809'),
  s('DECRBY z -9223372036854775808'),
  s('DECRBY z 9223372036854775807'),
  s('DECRBY z 1'),
  s('DECRBY z 1'),
  s('INCRBY n abc'),
  s('INCRBY n 1.5'),
  s(['INCRBY', 'n', '']),
  s('SET str hello'),
  s('INCR str'),
  s('DECRBY str 1'),
  s(['SET', 'sp', ' 1']),
  s('INCR sp'),
  s(['SET', 'sp2', '1 ']),
  s('INCR sp2'),
  s('SET lead 01'),
  s('INCR lead'),
  s('SET plus +1'),
  s('INCR plus'),
  s('SET negzero -0'),
  s('INCR negzero'),
  s('SET huge 12345678901234567890'),
  s('INCR huge'),
  s('SET fl 1.0'),
  s('INCR fl'),
  s(['SET', 'emptyn', '']),
  s('INCR emptyn'),
  s('INCR'),
  s('INCR a b'),
  s('INCRBY n'),
  s('DECR'),
  s('DECRBY n'),
  s('SET k 5'),
  s('APPEND k 0'),
  s('INCR k'),
  s('GET k'),
]);

group('INCRBYFLOAT formatting and errors', [
  s('SET f 10.5'),
  s('INCRBYFLOAT f 0.1'),
  s('INCRBYFLOAT f -5'),
  s('INCRBYFLOAT f 5.0e3'),
  s('INCRBYFLOAT f 5.0E3'),
  s('INCRBYFLOAT g 3.0e-5'),
  s('INCRBYFLOAT h 0'),
  s('INCRBYFLOAT h -0'),
  s('INCRBYFLOAT i 0.1'),
  s('INCRBYFLOAT i 0.1'),
  s('INCRBYFLOAT i 0.1'),
  s('INCRBYFLOAT j 1.1'),
  s('INCRBYFLOAT j 2.2'),
  s('INCRBYFLOAT big 1e20'),
  s('INCRBYFLOAT bigger 1e21'),
  s('INCRBYFLOAT neg -1.5'),
  s('INCRBYFLOAT n1 3'),
  s('INCRBYFLOAT n1 .5'),
  s('INCRBYFLOAT n1 5.'),
  s('INCRBYFLOAT n1 1e2'),
  s('INCRBYFLOAT n1 0x10'),
  s('INCRBYFLOAT frac 0.0001'),
  s('INCRBYFLOAT tiny 1e-20'),
  s('SET int 100'),
  s('INCRBYFLOAT int 1.5'),
  s('INCRBYFLOAT int -1.5'),
  s('GET int'),
  s('INCR int'),
  s('SET e1 5.0e3'),
  s('INCRBYFLOAT e1 1'),
  s('SET e2 1.5'),
  s('INCR e2'),
  s('INCRBYFLOAT f abc'),
  s('INCRBYFLOAT f 1.5x'),
  s(['INCRBYFLOAT', 'f', '']),
  s(['INCRBYFLOAT', 'f', ' 1']),
  s('INCRBYFLOAT f inf'),
  s('INCRBYFLOAT f -inf'),
  s('INCRBYFLOAT f nan'),
  s('SET s abc'),
  s('INCRBYFLOAT s 1'),
  s('SET m 1e308'),
  s('INCRBYFLOAT m 1e308'),
  s('GET m'),
  s('INCRBYFLOAT f'),
  s('INCRBYFLOAT'),
  s('GET f'),
]);

group('APPEND, STRLEN, GETRANGE, SETRANGE', [
  s('APPEND s hello'),
  s(['APPEND', 's', ' world']),
  s('GET s'),
  s('STRLEN s'),
  s('STRLEN missing'),
  s('GETRANGE s 0 4'),
  s('GETRANGE s -5 -1'),
  s('GETRANGE s 5 2'),
  s('GETRANGE s -100 100'),
  s('GETRANGE s 100 200'),
  s('GETRANGE s 0 -100'),
  s('GETRANGE s -1 -5'),
  s('GETRANGE s 3 3'),
  s('GETRANGE s 0 -1'),
  s('GETRANGE s 10 10'),
  s('GETRANGE s 11 11'),
  s('GETRANGE s -1 0'),
  s('GETRANGE s 0 9223372036854775807'),
  s('GETRANGE s -9223372036854775808 3'),
  s('GETRANGE missing 0 -1'),
  s('GETRANGE missing 0 10'),
  s('GETRANGE s a b'),
  s('GETRANGE s 0'),
  s('SETRANGE s 6 Redis'),
  s('GET s'),
  s('SETRANGE s 0 J'),
  s('SETRANGE s 11 !!'),
  s('GET s'),
  s('SETRANGE pad 5 x'),
  s('GET pad'),
  s('STRLEN pad'),
  s('SETRANGE s -1 x'),
  s('SETRANGE s abc x'),
  s('SETRANGE s 536870912 x'),
  s(['SETRANGE', 'nothing', '0', '']),
  s('EXISTS nothing'),
  s(['SETRANGE', 'nothing', '100', '']),
  s('EXISTS nothing'),
  s(['SETRANGE', 's', '3', '']),
  s(['SETRANGE', 's', '100', '']),
  s('STRLEN s'),
  s('SETRANGE s 0'),
  s('SET num 12345'),
  s('APPEND num 6'),
  s('GET num'),
  s('GETRANGE num 1 2'),
  s('STRLEN num'),
  s('SETRANGE num 0 9'),
  s('GET num'),
  s(['APPEND', 'bin', 'a\0b\r\n']),
  s('STRLEN bin'),
  s('GET bin'),
  s('APPEND s'),
  s('STRLEN'),
  s('STRLEN a b'),
]);

group('DEL, UNLINK, EXISTS, TOUCH, TYPE', [
  s('MSET a 1 b 2 c 3 d 4 e 5'),
  s('EXISTS a'),
  s('EXISTS a a b missing'),
  s('EXISTS missing missing'),
  s('TOUCH a b c missing'),
  s('TOUCH a a'),
  s('DEL a a b missing'),
  s('DEL a'),
  s('UNLINK c missing'),
  s('UNLINK d e d'),
  s('EXISTS a b c d e'),
  s('DBSIZE'),
  s('SET t v'),
  s('TYPE t'),
  s('TYPE missing'),
  s('TYPE'),
  s('TYPE a b'),
  s('DEL'),
  s('UNLINK'),
  s('EXISTS'),
  s('TOUCH'),
]);

group('EXPIRE family with NX XX GT LT', [
  s('SET e v'),
  s('TTL e'),
  s('PTTL e'),
  s('TTL missing'),
  s('PTTL missing'),
  s('EXPIRETIME e'),
  s('PEXPIRETIME e'),
  s('EXPIRETIME missing'),
  s('PEXPIRETIME missing'),
  s('EXPIRE e 100 XX'),
  s('EXPIRE e 100 GT'),
  s('TTL e'),
  s('EXPIRE e 100 LT'),
  ttl('TTL e', 99, 100),
  s('PERSIST e'),
  s('EXPIRE e 100'),
  ttl('TTL e', 99, 100),
  s('EXPIRE e 200 NX'),
  s('EXPIRE e 200 XX'),
  ttl('TTL e', 199, 200),
  s('EXPIRE e 50 GT'),
  s('EXPIRE e 300 GT'),
  ttl('TTL e', 299, 300),
  s('EXPIRE e 400 LT'),
  s('EXPIRE e 100 LT'),
  ttl('TTL e', 99, 100),
  s('EXPIRE e 100 nx'),
  s('EXPIRE e 100 NX XX'),
  s('EXPIRE e 100 XX NX'),
  s('EXPIRE e 100 NX GT'),
  s('EXPIRE e 100 NX LT'),
  s('EXPIRE e 100 GT LT'),
  s('EXPIRE e 100 LT GT'),
  s('EXPIRE e 100 XX GT'),
  s('EXPIRE e 100 FOO'),
  s('EXPIRE e abc'),
  s('EXPIRE e 1.5'),
  s('EXPIRE e'),
  s('EXPIRE'),
  s('EXPIRE missing 100'),
  s('EXPIRE missing 100 NX'),
  s('EXPIRE e 9223372036854775807'),
  s('PEXPIRE e 9223372036854775807'),
  s('EXPIREAT e 9223372036854775807'),
  s('PEXPIREAT e 9223372036854775807'),
  s('PEXPIRE e 300000'),
  ttl('PTTL e', 299_000, 300_000),
  ttl('TTL e', 299, 300),
  s('PEXPIRE e 100000 GT'),
  s('PEXPIRE e 100000 LT'),
  ttl('PTTL e', 99_000, 100_000),
  s(`EXPIREAT e ${AT_S}`),
  s('EXPIRETIME e'),
  s('PEXPIRETIME e'),
  s(`EXPIREAT e ${AT_S} NX`),
  s(`EXPIREAT e ${AT_S + 10} GT`),
  s('EXPIRETIME e'),
  s(`EXPIREAT e ${AT_S} LT`),
  s('EXPIRETIME e'),
  s(`PEXPIREAT e ${AT_MS}`),
  s('PEXPIRETIME e'),
  s('EXPIRETIME e'),
  s(`PEXPIREAT e ${AT_S * 1000 + 500}`),
  s('EXPIRETIME e'),
  s(`PEXPIREAT e ${AT_S * 1000 + 499}`),
  s('EXPIRETIME e'),
  s(`PEXPIREAT e ${AT_MS + 1} XX`),
  s('PEXPIRETIME e'),
  s('PERSIST e'),
  s('PERSIST e'),
  s('PERSIST missing'),
  s('PERSIST'),
  s('PEXPIRETIME e'),
  s('EXPIRE e -1'),
  s('EXISTS e'),
  s('SET e v'),
  s('EXPIRE e 0'),
  s('EXISTS e'),
  s('SET e v'),
  s('PEXPIRE e -100'),
  s('EXISTS e'),
  s('SET e v'),
  s('EXPIREAT e 1'),
  s('EXISTS e'),
  s('SET e v'),
  s('PEXPIREAT e 1000'),
  s('EXISTS e'),
  s('SET e v'),
  s('EXPIRE e -1 GT'),
  s('EXISTS e'),
  s('EXPIRE e -1 LT'),
  s('EXISTS e'),
  s('TTL'),
  s('TTL a b'),
  s('PTTL'),
  s('EXPIRETIME'),
  s('PEXPIREAT e'),
]);

group('RENAME, RENAMENX, COPY', [
  s('SET a 1'),
  s('RENAME a b'),
  s('GET a'),
  s('GET b'),
  s('RENAME missing x'),
  s('RENAME b b'),
  s('RENAME missing missing'),
  s('GET b'),
  s(`SET t v EXAT ${AT_S}`),
  s('RENAME t t2'),
  s('EXPIRETIME t2'),
  s('SET c 3'),
  s('RENAMENX b c'),
  s('RENAMENX b d'),
  s('GET d'),
  s('EXISTS b'),
  s('RENAMENX d d'),
  s('RENAMENX missing x'),
  s('RENAME d c'),
  s('GET c'),
  s('RENAME a'),
  s('RENAMENX a'),
  s('COPY c c2'),
  s('GET c2'),
  s('COPY c c2'),
  s('SET c newer'),
  s('COPY c c2 REPLACE'),
  s('GET c2'),
  s('COPY c c2 replace'),
  s('COPY c c'),
  s('COPY c c REPLACE'),
  s('COPY missing c3'),
  s('COPY missing c'),
  s('COPY c c3 DB 0'),
  s('GET c3'),
  s('COPY c c3 DB 0'),
  s('COPY c c3 DB 0 REPLACE'),
  s('COPY c c3 REPLACE DB 0'),
  s('COPY c c3 FOO'),
  s('COPY c c3 DB abc'),
  s('COPY c c3 DB'),
  s('COPY t2 t3'),
  s('EXPIRETIME t3'),
  s('COPY t2 c3 REPLACE'),
  s('EXPIRETIME c3'),
  s('COPY c'),
  s('COPY'),
  s('DBSIZE'),
]);

group('DBSIZE, FLUSHDB, FLUSHALL, KEYS', [
  s('DBSIZE'),
  s('MSET user:1 a user:2 b user:10 c user:20 d other x h{tag}1 y h{tag}2 z star* s q? q user\\:1 esc'),
  s('DBSIZE'),
  s('KEYS *', sameSet),
  s('KEYS user:*', sameSet),
  s('KEYS user:?', sameSet),
  s('KEYS user:??', sameSet),
  s('KEYS user:[12]', sameSet),
  s('KEYS user:[^1]*', sameSet),
  s('KEYS user:[!1]*', sameSet),
  s('KEYS user:[0-1]*', sameSet),
  s('KEYS user\\:1', sameSet),
  s('KEYS user\\\\:1', sameSet),
  s('KEYS h{tag}*', sameSet),
  s('KEYS star\\*', sameSet),
  s('KEYS q\\?', sameSet),
  s('KEYS *1*', sameSet),
  s('KEYS nomatch*', sameSet),
  s('KEYS USER:*', sameSet),
  s('KEYS'),
  s('KEYS a b'),
  s('DBSIZE x'),
  s('FLUSHDB'),
  s('DBSIZE'),
  s('KEYS *'),
  s('MSET a 1 b 2'),
  s('FLUSHALL'),
  s('DBSIZE'),
  s('MSET a 1 b 2'),
  s('FLUSHDB ASYNC'),
  s('DBSIZE'),
  s('MSET a 1 b 2'),
  s('FLUSHALL SYNC'),
  s('DBSIZE'),
  s('FLUSHALL async'),
  s('FLUSHALL FOO'),
  s('FLUSHDB FOO'),
  s('FLUSHDB SYNC ASYNC'),
]);

group('SELECT, unknown command, wrong arity', [
  s('SELECT 0'),
  s('SELECT abc'),
  s('SELECT -1'),
  s('SELECT 16'),
  s('SELECT'),
  s('SELECT 0 1'),
  s('FOO'),
  s('foo bar baz'),
  s('NOSUCHCOMMAND a b c d e f'),
  s(['FOO', 'with space', '']),
  s(['X'.repeat(200), 'y'.repeat(200)]),
  s('CONFIG'),
  s('CONFIG GET'),
  s('CONFIG NOPE'),
  s('CLIENT'),
  s('CLIENT NOPE'),
  s('COMMAND NOPE'),
  s('DEBUG'),
  s('GETRANGE k 0'),
  s('SETRANGE k 0'),
  s('APPEND k'),
  s('GETSET k'),
  s('SETNX k'),
  s('PSETEX k 10'),
  s('PEXPIRE k'),
  s('EXPIREAT k'),
  s('PERSIST a b'),
  s('RENAME a b c'),
  s('DBSIZE a'),
  s('FLUSHALL a b'),
  s('TIME x'),
  s('MGET'),
  s('UNLINK'),
  s('RESET x'),
  s('ECHO'),
  s('AUTH'),
  s('AUTH a b c'),
]);

group('AUTH without a password, RESET, CLIENT, COMMAND, CONFIG GET, TIME', [
  s('AUTH foo'),
  s('AUTH default foo'),
  s('AUTH someone foo'),
  s('CLIENT GETNAME'),
  s('CLIENT SETNAME conn1'),
  s('CLIENT GETNAME'),
  s(['CLIENT', 'SETNAME', 'has space']),
  s(['CLIENT', 'SETNAME', 'new\nline']),
  s(['CLIENT', 'SETNAME', '']),
  s('CLIENT GETNAME'),
  s('CLIENT SETNAME'),
  s('CLIENT GETNAME x'),
  shape('CLIENT ID'),
  s('CLIENT ID x'),
  shape('COMMAND COUNT'),
  s('COMMAND GETKEYS SET a b'),
  s('COMMAND GETKEYS GET k'),
  s('COMMAND GETKEYS MSET a 1 b 2 c 3'),
  s('COMMAND GETKEYS MGET a b c'),
  s('COMMAND GETKEYS DEL a b'),
  s('COMMAND GETKEYS RENAME a b'),
  s('COMMAND GETKEYS COPY a b'),
  s('COMMAND GETKEYS EXPIRE a 10'),
  s('COMMAND GETKEYS GET'),
  s('COMMAND GETKEYS MSET a'),
  s('COMMAND GETKEYS PING'),
  s('COMMAND GETKEYS GET a b'),
  s('COMMAND GETKEYS PING x'),
  s('COMMAND GETKEYS SET a'),
  s('COMMAND GETKEYS NOSUCH a'),
  s('COMMAND GETKEYS'),
  s('CONFIG GET maxmemory'),
  s('CONFIG GET maxmemory-policy'),
  s('CONFIG GET nosuchparameter'),
  s('CONFIG GET maxmemory-samples'),
  s('CONFIG SET maxmemory-policy nosuch'),
  s('CONFIG SET nosuchparameter 1'),
  s('CONFIG SET maxmemory'),
  shape('TIME'),
  s('RESET'),
  s('CLIENT GETNAME'),
  s('SELECT 0'),
]);

diff('TIME agrees with the clock and with redis-server', () =>
  withTimeout(
    (async () => {
      const [r, t] = await connectPair();
      try {
        const times: number[] = [];
        for (const c of [r, t]) {
          const reply = await c.call(['TIME']);
          assert.match(reply.text, /^\*2\r\n\$\d+\r\n\d+\r\n\$\d+\r\n\d+\r\n$/, `TIME reply ${show(reply.raw)}`);
          const v = reply.value;
          assert.ok(v.type === 'array' && v.value !== null);
          const [sec, usec] = v.value.map((x) => Number(x.type === 'bulk' ? x.value?.toString() : NaN));
          assert.ok(usec! >= 0 && usec! < 1_000_000, `microseconds in range: ${usec}`);
          times.push(sec! * 1000 + usec! / 1000);
        }
        assert.ok(Math.abs(times[0]! - Date.now()) < 5_000, 'redis TIME is now');
        assert.ok(Math.abs(times[1]! - Date.now()) < 5_000, 'tessera TIME is now');
      } finally {
        r.close();
        t.close();
      }
    })(),
    TEST_TIMEOUT_MS,
  ),
);

diff('HELLO 3 switches to RESP3 (nil as _, maps), HELLO 2 back', () =>
  withTimeout(
    (async () => {
      const helloKeys = (x: Reply): string[] =>
        x.value.type === 'map' ? x.value.value.map(([k]) => (k.type === 'bulk' ? k.value?.toString() ?? '' : `?${k.type}`)) : [];
      const [r, t] = await connectPair();
      try {
        for (const c of [r, t]) {
          const hello = await c.call(['HELLO', '3']);
          assert.is(hello.raw[0], '%'.charCodeAt(0), `HELLO 3 replies a map: ${show(hello.raw)}`);
          assert.equal(helloKeys(hello), ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']);
          assert.ok(hello.text.includes('$5\r\nproto\r\n:3\r\n'), `proto 3 in ${show(hello.raw)}`);
        }
        const hello2 = await Promise.all([r.call(['HELLO', '2']), t.call(['HELLO', '2'])]);
        for (const h of hello2) {
          assert.is(h.raw[0], '*'.charCodeAt(0), 'HELLO 2 replies a flat array');
          assert.ok(h.text.includes('$5\r\nproto\r\n:2\r\n'), `proto 2 in ${show(h.raw)}`);
        }
      } finally {
        r.close();
        t.close();
      }
      // The rest, in RESP3, byte for byte (HELLO 3 itself compared by shape).
      await runSteps([
        s('SET a b'),
        shape('HELLO 3'),
        s('GET missing'),
        s('GET a'),
        s('SET a c GET'),
        s('SET x y NX GET'),
        s('SET a z XX'),
        s('SET nokey z XX'),
        s('INCR n'),
        s('INCRBYFLOAT f 1.5'),
        s('MGET a missing n'),
        s('EXISTS a missing'),
        s('TTL missing'),
        s('GETDEL missing'),
        s('GETEX missing'),
        s('CONFIG GET maxmemory'),
        s('CONFIG GET maxmemory-policy'),
        s('CONFIG GET nosuch'),
        s('KEYS nomatch'),
        s('KEYS a'),
        s('COMMAND GETKEYS SET a b'),
        s('CLIENT GETNAME'),
        s('FOO'),
        s('GET'),
        s('PING'),
        s('PING hi'),
        s('ECHO hi'),
        s('TYPE a'),
        s('HELLO 4'),
        s('HELLO abc'),
        s('HELLO 3 FOO'),
        shape('HELLO'),
        shape('HELLO 2'),
        s('GET missing'),
        s('MGET a missing'),
      ]);
    })(),
    TEST_TIMEOUT_MS,
  ),
);

diff('inline commands give the same replies', () =>
  withTimeout(
    runSteps([
      { args: ['inline PING'], raw: 'PING\r\n', compare: exact },
      { args: ['inline SET'], raw: 'SET a "hello world"\r\n', compare: exact },
      { args: ['inline GET'], raw: 'GET a\n', compare: exact },
      { args: ['inline quoted escapes'], raw: 'SET b "x\\r\\ny\\x41"\r\n', compare: exact },
      { args: ['inline GET b'], raw: 'GET b\r\n', compare: exact },
      { args: ['inline single quotes 2'], raw: "SET c 'a\\'b'\r\n", compare: exact },
      { args: ['inline GET c'], raw: 'GET c\r\n', compare: exact },
      { args: ['inline extra spaces'], raw: '   ECHO    spaced   \r\n', compare: exact },
      { args: ['inline unknown'], raw: 'NOPE x\r\n', compare: exact },
      { args: ['inline arity'], raw: 'GET\r\n', compare: exact },
      { args: ['inline lowercase'], raw: 'dbsize\r\n', compare: exact },
    ]),
    TEST_TIMEOUT_MS,
  ),
);

diff('QUIT replies OK and both servers close the connection', () =>
  withTimeout(
    (async () => {
      const [r, t] = await connectPair();
      try {
        r.sendCommand('QUIT');
        t.sendCommand('QUIT');
        const [[rr], [tr]] = await Promise.all([r.read(1), t.read(1)]);
        assert.is(tr!.text, rr!.text);
        assert.is(tr!.text, '+OK\r\n');
        await Promise.all([r.waitClosed(), t.waitClosed()]);
        assert.ok(t.isClosed());
      } finally {
        r.close();
        t.close();
      }
    })(),
    TEST_TIMEOUT_MS,
  ),
);

diff.run();
