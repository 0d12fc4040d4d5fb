// Model-based test of lists and sorted sets through a real server, in the style of
// collection-model.test.ts: random LPUSH/RPUSH/LPOP/RPOP/LSET/LINSERT/LREM/LTRIM/LMOVE and
// ZADD/ZINCRBY/ZREM/ZPOPMIN/ZPOPMAX/ZREMRANGEBYRANK/ZRANGESTORE sequences with DEL, EXPIRE and
// PERSIST, bulk adds that make large encodings, shard crashes (DEBUG SHARD-CRASH), kill -9 +
// restart from the append-only log (appendfsync always), and BGSAVE + kill -9 + restart from the
// snapshot, against plain arrays and maps, on three shards with small limits (every conversion
// happens). Every reply is compared with the model's, and after each step every key: TYPE,
// LRANGE/ZRANGE WITHSCORES, LLEN/ZCARD, TTL, OBJECT ENCODING within the limits' rules, DBSIZE.
// Scores are integers, halves and infinities (their reply format is fixed; the float formats and
// -0 are the differential fuzz's job, types-fuzz.test.ts).
// Seeded and replayable: MODEL_SEED, MODEL_PATH, MODEL_RUNS, MODEL_COMMANDS, MODEL_TIME_LIMIT_S.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { plain, rawClient, show, waitFor, withTimeout, type Plain, type RawClient, type ServerHandle } from './harness.js';
import { bgsaveDone, cleanup, infoNumber, ioClient, kill9, restartIn, rewriteDone, startIn, tempDir } from './persistence-helpers.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1516);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 6);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 40);
const REPLAY_PATH = process.env['MODEL_PATH'];
const TIME_LIMIT_MS = Number(process.env['MODEL_TIME_LIMIT_S'] ?? 60) * 1000;
const SHARDS = 3;
const KEYS = ['m:0', 'm:1', 'm:2', 'm:3', 'm:4', '{m}5', '{m}6'];
const LIM = { listSize: 4, zsetEntries: 8, zsetValue: 16 };
const LIMIT_ARGS = [
  '--list-max-listpack-size', String(LIM.listSize),
  '--zset-max-listpack-entries', String(LIM.zsetEntries), '--zset-max-listpack-value', String(LIM.zsetValue),
];
const AOF_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always'];

// ---------------------------------------------------------------------------------------------
// The model and the server

type MVal = { t: 'list'; l: string[] } | { t: 'zset'; z: Map<string, number> };
interface MEntry { val: MVal; ttl: boolean }
type Model = Map<string, MEntry>;

interface Real {
  c: RawClient;
  server: ServerHandle;
  dir: string;
  restarts: number;
}

const WRONGTYPE = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
const int = (n: number): string => `:${n}\r\n`;
const bulk = (s: string | null): string => (s === null ? '$-1\r\n' : `$${Buffer.byteLength(s)}\r\n${s}\r\n`);
const arr = (xs: string[]): string => `*${xs.length}\r\n${xs.map(bulk).join('')}`;
/** A score as Redis replies it (the model's scores are integers, halves and infinities). */
const fmt = (s: number): string => (s === Infinity ? 'inf' : s === -Infinity ? '-inf' : Object.is(s, -0) ? '0' : String(s));

async function call(r: Real, args: string[]): Promise<{ text: string; value: Plain }> {
  const reply = await r.c.call(args, 10_000);
  return { text: reply.text, value: plain(reply.value) };
}

async function expect(r: Real, args: string[], want: string): Promise<void> {
  const got = (await call(r, args)).text;
  if (got !== want) assert.unreachable(`${args.join(' ')}: expected ${show(want)}, got ${show(got)}`);
}

/** Members by score, then bytewise (the members are ASCII). */
function zsorted(z: Map<string, number>): Array<[string, number]> {
  return [...z].sort((a, b) => (a[1] !== b[1] ? a[1] - b[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Every key against the model; OBJECT ENCODING within what the limits allow. */
async function checkAll(m: Model, r: Real, where: string): Promise<void> {
  for (const k of KEYS) {
    const e = m.get(k);
    const type = String((await call(r, ['TYPE', k])).value);
    assert.is(type, e === undefined ? 'none' : e.val.t, `${where}: TYPE ${k}`);
    if (e === undefined) continue;
    const ttl = Number((await call(r, ['TTL', k])).value);
    assert.ok(e.ttl ? ttl > 0 : ttl === -1, `${where}: TTL ${k} is ${ttl}, model ${e.ttl ? 'has one' : 'has none'}`);
    const enc = String((await call(r, ['OBJECT', 'ENCODING', k])).value);
    if (e.val.t === 'list') {
      await expect(r, ['LRANGE', k, '0', '-1'], arr(e.val.l));
      await expect(r, ['LLEN', k], int(e.val.l.length));
      if (enc === 'listpack') assert.ok(e.val.l.length <= LIM.listSize, `${where}: ${k} is a listpack of ${e.val.l.length}`);
      else assert.is(enc, 'quicklist', `${where}: OBJECT ENCODING ${k}`);
    } else {
      const pairs = zsorted(e.val.z);
      await expect(r, ['ZRANGE', k, '0', '-1', 'WITHSCORES'], arr(pairs.flatMap(([mm, s]) => [mm, fmt(s)])));
      await expect(r, ['ZCARD', k], int(pairs.length));
      if (enc === 'listpack') {
        assert.ok(pairs.length <= LIM.zsetEntries && pairs.every(([mm]) => mm.length <= LIM.zsetValue), `${where}: ${k} is a listpack of ${pairs.length}`);
      } else {
        // A large sorted set never converts back (a restart may load it small): no check of its past.
        assert.is(enc, 'skiplist', `${where}: OBJECT ENCODING ${k}`);
      }
    }
  }
  assert.is((await call(r, ['DBSIZE'])).value, m.size, `${where}: DBSIZE`);
}

// ---------------------------------------------------------------------------------------------
// Commands

const ELEMENTS = ['a', 'b', 'c', '1', '-2', '', 'x', 'member-longer-than-16', 'another-long-member-name'];
const SCORES = [0, 1, 2, -1, 1.5, -2.5, 7, 100, Infinity, -Infinity];
const elementArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ELEMENTS) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 30 }).map((n) => `e${n}`) });
const scoreArb = fc.constantFrom(...SCORES);
const keyArb = fc.constantFrom(...KEYS);
const indexArb = fc.integer({ min: -6, max: 6 });
const sideArb = fc.constantFrom('LEFT' as const, 'RIGHT' as const);

type Op =
  | { k: 'PUSH'; left: boolean; key: string; els: string[] }
  | { k: 'POP'; left: boolean; key: string; count: number | null }
  | { k: 'LSET'; key: string; i: number; v: string }
  | { k: 'LINSERT'; key: string; before: boolean; pivot: string; v: string }
  | { k: 'LREM'; key: string; count: number; v: string }
  | { k: 'LTRIM'; key: string; start: number; stop: number }
  | { k: 'LMOVE'; src: string; dst: string; from: 'LEFT' | 'RIGHT'; to: 'LEFT' | 'RIGHT' }
  | { k: 'ZADD'; key: string; pairs: Array<[number, string]> }
  | { k: 'ZINCRBY'; key: string; by: number; member: string }
  | { k: 'ZREM'; key: string; members: string[] }
  | { k: 'ZPOP'; min: boolean; key: string; count: number }
  | { k: 'ZREMRANGEBYRANK'; key: string; start: number; stop: number }
  | { k: 'ZRANGESTORE'; dst: string; src: string; start: number; stop: number }
  | { k: 'BULK'; key: string; zset: boolean; n: number }
  | { k: 'DEL'; key: string }
  | { k: 'EXPIRE'; key: string; s: number }
  | { k: 'PERSIST'; key: string }
  | { k: 'CRASH'; shard: number }
  | { k: 'RESTART_AOF' }
  | { k: 'RESTART_SNAPSHOT' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('PUSH' as const), left: fc.boolean(), key: keyArb, els: fc.array(elementArb, { minLength: 1, maxLength: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('POP' as const), left: fc.boolean(), key: keyArb, count: fc.option(fc.integer({ min: 0, max: 4 })) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('LSET' as const), key: keyArb, i: indexArb, v: elementArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('LINSERT' as const), key: keyArb, before: fc.boolean(), pivot: elementArb, v: elementArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('LREM' as const), key: keyArb, count: fc.integer({ min: -2, max: 2 }), v: elementArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('LTRIM' as const), key: keyArb, start: indexArb, stop: indexArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('LMOVE' as const), src: keyArb, dst: keyArb, from: sideArb, to: sideArb }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('ZADD' as const), key: keyArb, pairs: fc.array(fc.tuple(scoreArb, elementArb), { minLength: 1, maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ZINCRBY' as const), key: keyArb, by: fc.constantFrom(1, -1, 0.5, 3), member: elementArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ZREM' as const), key: keyArb, members: fc.array(elementArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ZPOP' as const), min: fc.boolean(), key: keyArb, count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ZREMRANGEBYRANK' as const), key: keyArb, start: indexArb, stop: indexArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ZRANGESTORE' as const), dst: keyArb, src: keyArb, start: indexArb, stop: indexArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('BULK' as const), key: keyArb, zset: fc.boolean(), n: fc.integer({ min: 10, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('DEL' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('EXPIRE' as const), key: keyArb, s: fc.oneof(fc.integer({ min: 100, max: 100_000 }), fc.constant(-1)) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('PERSIST' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('CRASH' as const), shard: fc.integer({ min: 0, max: SHARDS - 1 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'RESTART_AOF' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'RESTART_SNAPSHOT' as const }) },
);

function wrong(m: Model, key: string, t: 'list' | 'zset'): boolean {
  const e = m.get(key);
  return e !== undefined && e.val.t !== t;
}

function listOf(m: Model, key: string): string[] {
  let e = m.get(key);
  if (e === undefined) {
    e = { val: { t: 'list', l: [] }, ttl: false };
    m.set(key, e);
  }
  return (e.val as Extract<MVal, { t: 'list' }>).l;
}

function zsetOf(m: Model, key: string): Map<string, number> {
  let e = m.get(key);
  if (e === undefined) {
    e = { val: { t: 'zset', z: new Map() }, ttl: false };
    m.set(key, e);
  }
  return (e.val as Extract<MVal, { t: 'zset' }>).z;
}

function dropIfEmpty(m: Model, key: string): void {
  const e = m.get(key);
  if (e !== undefined && (e.val.t === 'list' ? e.val.l.length : e.val.z.size) === 0) m.delete(key);
}

/** Redis's start/stop normalization for LTRIM/LRANGE/ZREMRANGEBYRANK/ZRANGE: [lo, hi] or null. */
function span(n: number, start: number, stop: number): [number, number] | null {
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return null;
  if (stop >= n) stop = n - 1;
  return [start, stop];
}

async function run(m: Model, r: Real, op: Op): Promise<void> {
  switch (op.k) {
    case 'PUSH': {
      const args = [op.left ? 'LPUSH' : 'RPUSH', op.key, ...op.els];
      if (wrong(m, op.key, 'list')) return expect(r, args, WRONGTYPE);
      const l = listOf(m, op.key);
      for (const x of op.els) op.left ? l.unshift(x) : l.push(x);
      return expect(r, args, int(l.length));
    }
    case 'POP': {
      const args = [op.left ? 'LPOP' : 'RPOP', op.key, ...(op.count === null ? [] : [String(op.count)])];
      if (wrong(m, op.key, 'list')) return expect(r, args, WRONGTYPE);
      if (m.get(op.key) === undefined) return expect(r, args, op.count === null ? '$-1\r\n' : '*-1\r\n');
      const l = listOf(m, op.key);
      const n = Math.min(op.count ?? 1, l.length);
      const got = op.left ? l.splice(0, n) : l.splice(l.length - n, n).reverse();
      dropIfEmpty(m, op.key);
      return expect(r, args, op.count === null ? bulk(got[0]!) : arr(got));
    }
    case 'LSET': {
      const args = ['LSET', op.key, String(op.i), op.v];
      if (wrong(m, op.key, 'list')) return expect(r, args, WRONGTYPE);
      if (m.get(op.key) === undefined) return expect(r, args, '-ERR no such key\r\n');
      const l = listOf(m, op.key);
      const i = op.i < 0 ? op.i + l.length : op.i;
      if (i < 0 || i >= l.length) return expect(r, args, '-ERR index out of range\r\n');
      l[i] = op.v;
      return expect(r, args, '+OK\r\n');
    }
    case 'LINSERT': {
      const args = ['LINSERT', op.key, op.before ? 'BEFORE' : 'AFTER', op.pivot, op.v];
      if (wrong(m, op.key, 'list')) return expect(r, args, WRONGTYPE);
      if (m.get(op.key) === undefined) return expect(r, args, int(0));
      const l = listOf(m, op.key);
      const p = l.indexOf(op.pivot);
      if (p < 0) return expect(r, args, int(-1));
      l.splice(op.before ? p : p + 1, 0, op.v);
      return expect(r, args, int(l.length));
    }
    case 'LREM': {
      const args = ['LREM', op.key, String(op.count), op.v];
      if (wrong(m, op.key, 'list')) return expect(r, args, WRONGTYPE);
      if (m.get(op.key) === undefined) return expect(r, args, int(0));
      const l = listOf(m, op.key);
      let removed = 0;
      const limit = op.count === 0 ? Infinity : Math.abs(op.count);
      if (op.count >= 0) {
        for (let i = 0; i < l.length && removed < limit; ) if (l[i] === op.v) (l.splice(i, 1), removed++); else i++;
      } else {
        for (let i = l.length - 1; i >= 0 && removed < limit; i--) if (l[i] === op.v) (l.splice(i, 1), removed++);
      }
      dropIfEmpty(m, op.key);
      return expect(r, args, int(removed));
    }
    case 'LTRIM': {
      const args = ['LTRIM', op.key, String(op.start), String(op.stop)];
      if (wrong(m, op.key, 'list')) return expect(r, args, WRONGTYPE);
      if (m.get(op.key) !== undefined) {
        const l = listOf(m, op.key);
        const s = span(l.length, op.start, op.stop);
        const kept = s === null ? [] : l.slice(s[0], s[1] + 1);
        l.splice(0, l.length, ...kept);
        dropIfEmpty(m, op.key);
      }
      return expect(r, args, '+OK\r\n');
    }
    case 'LMOVE': {
      const args = ['LMOVE', op.src, op.dst, op.from, op.to];
      if (wrong(m, op.src, 'list')) return expect(r, args, WRONGTYPE);
      if (m.get(op.src) === undefined) return expect(r, args, '$-1\r\n');
      if (wrong(m, op.dst, 'list')) return expect(r, args, WRONGTYPE);
      const src = listOf(m, op.src);
      const v = op.from === 'LEFT' ? src.shift()! : src.pop()!;
      const dst = listOf(m, op.dst);
      if (op.to === 'LEFT') dst.unshift(v);
      else dst.push(v);
      dropIfEmpty(m, op.src);
      return expect(r, args, bulk(v));
    }
    case 'ZADD': {
      const args = ['ZADD', op.key, ...op.pairs.flatMap(([s, mm]) => [fmt(s), mm])];
      if (wrong(m, op.key, 'zset')) return expect(r, args, WRONGTYPE);
      const z = zsetOf(m, op.key);
      let added = 0;
      for (const [s, mm] of op.pairs) {
        if (!z.has(mm)) added++;
        z.set(mm, s);
      }
      return expect(r, args, int(added));
    }
    case 'ZINCRBY': {
      const args = ['ZINCRBY', op.key, String(op.by), op.member];
      if (wrong(m, op.key, 'zset')) return expect(r, args, WRONGTYPE);
      const z = zsetOf(m, op.key);
      const next = (z.get(op.member) ?? 0) + op.by;
      if (Number.isNaN(next)) {
        dropIfEmpty(m, op.key);
        return expect(r, args, '-ERR resulting score is not a number (NaN)\r\n');
      }
      z.set(op.member, next);
      return expect(r, args, bulk(fmt(next)));
    }
    case 'ZREM': {
      const args = ['ZREM', op.key, ...op.members];
      if (wrong(m, op.key, 'zset')) return expect(r, args, WRONGTYPE);
      const e = m.get(op.key);
      let n = 0;
      for (const x of op.members) if (e !== undefined && zsetOf(m, op.key).delete(x)) n++;
      dropIfEmpty(m, op.key);
      return expect(r, args, int(n));
    }
    case 'ZPOP': {
      const args = [op.min ? 'ZPOPMIN' : 'ZPOPMAX', op.key, String(op.count)];
      if (wrong(m, op.key, 'zset')) return expect(r, args, WRONGTYPE);
      if (m.get(op.key) === undefined) return expect(r, args, '*0\r\n');
      const z = zsetOf(m, op.key);
      const order = zsorted(z);
      const got = (op.min ? order : order.reverse()).slice(0, op.count);
      for (const [mm] of got) z.delete(mm);
      dropIfEmpty(m, op.key);
      return expect(r, args, arr(got.flatMap(([mm, s]) => [mm, fmt(s)])));
    }
    case 'ZREMRANGEBYRANK': {
      const args = ['ZREMRANGEBYRANK', op.key, String(op.start), String(op.stop)];
      if (wrong(m, op.key, 'zset')) return expect(r, args, WRONGTYPE);
      if (m.get(op.key) === undefined) return expect(r, args, int(0));
      const z = zsetOf(m, op.key);
      const order = zsorted(z);
      const s = span(order.length, op.start, op.stop);
      const gone = s === null ? [] : order.slice(s[0], s[1] + 1);
      for (const [mm] of gone) z.delete(mm);
      dropIfEmpty(m, op.key);
      return expect(r, args, int(gone.length));
    }
    case 'ZRANGESTORE': {
      const args = ['ZRANGESTORE', op.dst, op.src, String(op.start), String(op.stop)];
      if (wrong(m, op.src, 'zset')) return expect(r, args, WRONGTYPE);
      const order = m.get(op.src) === undefined ? [] : zsorted(zsetOf(m, op.src));
      const s = span(order.length, op.start, op.stop);
      const picked = s === null ? [] : order.slice(s[0], s[1] + 1);
      // The destination is replaced whatever its type (deleted when the range is empty).
      m.delete(op.dst);
      if (picked.length > 0) m.set(op.dst, { val: { t: 'zset', z: new Map(picked) }, ttl: false });
      return expect(r, args, int(picked.length));
    }
    case 'BULK': {
      // Enough elements in one command to make a quicklist of many nodes or a large sorted set.
      const t = op.zset ? 'zset' : 'list';
      const els = Array.from({ length: op.n }, (_, i) => `bulk-${i}`);
      const args = t === 'zset' ? ['ZADD', op.key, ...els.flatMap((x, i) => [String(i % 17), x])] : ['RPUSH', op.key, ...els];
      if (wrong(m, op.key, t)) return expect(r, args, WRONGTYPE);
      if (t === 'zset') {
        const z = zsetOf(m, op.key);
        let n = 0;
        els.forEach((x, i) => {
          if (!z.has(x)) n++;
          z.set(x, i % 17);
        });
        return expect(r, args, int(n));
      }
      const l = listOf(m, op.key);
      l.push(...els);
      return expect(r, args, int(l.length));
    }
    case 'DEL': {
      const had = m.delete(op.key);
      return expect(r, ['DEL', op.key], int(had ? 1 : 0));
    }
    case 'EXPIRE': {
      const e = m.get(op.key);
      await expect(r, ['EXPIRE', op.key, String(op.s)], int(e === undefined ? 0 : 1));
      if (e === undefined) return;
      if (op.s <= 0) m.delete(op.key);
      else e.ttl = true;
      return;
    }
    case 'PERSIST': {
      const e = m.get(op.key);
      await expect(r, ['PERSIST', op.key], int(e?.ttl ? 1 : 0));
      if (e !== undefined) e.ttl = false;
      return;
    }
    case 'CRASH': {
      await expect(r, ['DEBUG', 'SHARD-CRASH', String(op.shard)], '+OK\r\n');
      r.restarts++;
      await waitFor(`shard_restarts:${r.restarts}`, async () => (await restarts(r)) === r.restarts, 15_000);
      return;
    }
    case 'RESTART_AOF': {
      // kill -9 with every write acknowledged under appendfsync always: the log has them all.
      r.c.close();
      await kill9(r.server);
      await restartWith(r, [...LIMIT_ARGS, ...AOF_ARGS]);
      return;
    }
    case 'RESTART_SNAPSHOT': {
      // BGSAVE, kill -9, a restart that loads the snapshot (the log off, so that the snapshot is
      // what loads), then the log on again (its rewrite done) for the steps that follow.
      const io = await ioClient(r.server);
      const saves = await infoNumber(io, 'rdb_saves');
      await expect(r, ['BGSAVE'], '+Background saving started\r\n');
      await bgsaveDone(io, saves);
      io.disconnect();
      r.c.close();
      await kill9(r.server);
      await restartWith(r, [...LIMIT_ARGS, '--appendonly', 'no', '--appendfsync', 'always']);
      const io2 = await ioClient(r.server);
      const rewrites = await infoNumber(io2, 'aof_rewrites');
      await io2.config('SET', 'appendonly', 'yes');
      await rewriteDone(io2, rewrites);
      io2.disconnect();
      return;
    }
  }
}

async function restartWith(r: Real, args: string[]): Promise<void> {
  r.server = await restartIn(r.server.port, r.dir, args, { shards: SHARDS });
  r.c = await rawClient(r.server.port);
  r.restarts = await restarts(r);
}

async function restarts(r: Real): Promise<number> {
  const info = String((await call(r, ['INFO', 'stats'])).value);
  const mm = /^shard_restarts:(\d+)\r?$/m.exec(info);
  if (mm === null) throw new Error('no shard_restarts in INFO stats');
  return Number(mm[1]);
}

// ---------------------------------------------------------------------------------------------

const t = suite('list and sorted-set model: through a server, with crashes and restarts');
let real: Real | undefined;

t.before(async () => {
  const dir = tempDir('lz-model');
  const server = await startIn(dir, [...LIMIT_ARGS, ...AOF_ARGS], { shards: SHARDS });
  const c = await rawClient(server.port);
  real = { c, server, dir, restarts: 0 };
  real.restarts = await restarts(real);
});

t.after(async () => {
  real?.c.close();
  await cleanup();
});

t(`random command sequences (seed ${SEED}, ${RUNS} runs of up to ${MAX_COMMANDS} commands)`, async () => {
  const r = real!;
  let runs = 0;
  let steps = 0;
  const prop = fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: MAX_COMMANDS, size: 'max' }), async (ops) => {
    runs++;
    const m: Model = new Map();
    await expect(r, ['FLUSHALL'], '+OK\r\n');
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      try {
        await run(m, r, op);
        await checkAll(m, r, `after step ${i}`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`step ${i} ${JSON.stringify(op)}: ${msg}`, { cause: err });
      }
      steps++;
    }
  });
  const params: fc.Parameters<[Op[]]> = {
    seed: SEED,
    numRuns: RUNS,
    ...(REPLAY_PATH !== undefined ? { path: REPLAY_PATH } : {}),
    interruptAfterTimeLimit: TIME_LIMIT_MS,
    markInterruptAsFailure: false,
    endOnFailure: true,
  };
  try {
    await withTimeout(fc.assert(prop, params), TIME_LIMIT_MS + 60_000, 'list/zset model property');
  } catch (err) {
    const cause = err instanceof Error ? err.cause : undefined;
    if (cause instanceof Error) console.error(`  first failure of the counterexample: ${cause.message}`);
    throw err;
  }
  assert.ok(runs > 0, 'no run happened');
  console.log(`  (${runs} runs, ${steps} steps)`);
});

t.run();
