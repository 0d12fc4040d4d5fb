// Model-based test of hashes and sets through a real server: random HSET/HDEL/HINCRBY/HGET and
// SADD/SREM/SPOP/SISMEMBER sequences with DEL, EXPIRE and PERSIST, shard crashes (DEBUG
// SHARD-CRASH) and a BGSAVE + kill -9 + restart from the snapshot, against plain Maps and Sets,
// on a server with three shards and small encoding limits (every conversion happens). Every reply
// is compared with the model's, and after each step every key: TYPE, HGETALL/SMEMBERS, HLEN/SCARD,
// TTL (-2, -1 or positive; only long TTLs, so time never decides), OBJECT ENCODING within Redis's
// rules for the limits, DBSIZE.
// The set commands run once the server has them (SCARD answers); until then the run says so.
// Seeded and replayable: MODEL_SEED, MODEL_PATH, MODEL_RUNS, MODEL_COMMANDS, MODEL_TIME_LIMIT_S.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { plain, rawClient, show, waitFor, withTimeout, type Plain, type RawClient, type ServerHandle } from './harness.js';
import { bgsaveDone, cleanup, infoNumber, ioClient, kill9, restartIn, startIn, tempDir } from './persistence-helpers.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1515);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 6);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 40);
const REPLAY_PATH = process.env['MODEL_PATH'];
const TIME_LIMIT_MS = Number(process.env['MODEL_TIME_LIMIT_S'] ?? 60) * 1000;
const SHARDS = 3;
const KEYS = ['c:0', 'c:1', 'c:2', 'c:3', 'c:4', 'c:5'];
const LIM = { hashEntries: 4, hashValue: 8, intsetEntries: 4, setEntries: 4, setValue: 8 };
const LIMIT_ARGS = [
  '--hash-max-listpack-entries', String(LIM.hashEntries), '--hash-max-listpack-value', String(LIM.hashValue),
  '--set-max-intset-entries', String(LIM.intsetEntries), '--set-max-listpack-entries', String(LIM.setEntries),
  '--set-max-listpack-value', String(LIM.setValue),
];

// ---------------------------------------------------------------------------------------------
// The model and the server

type MVal = { t: 'hash'; m: Map<string, string> } | { t: 'set'; s: Set<string> };
interface MEntry { val: MVal; ttl: boolean }
type Model = Map<string, MEntry>;

interface Real {
  c: RawClient;
  server: ServerHandle;
  dir: string;
  restarts: number;
  sets: boolean;
}

const WRONGTYPE = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
const int = (n: number): string => `:${n}\r\n`;
const bulk = (s: string | null): string => (s === null ? '$-1\r\n' : `$${Buffer.byteLength(s)}\r\n${s}\r\n`);

async function call(r: Real, args: string[]): Promise<{ text: string; value: Plain }> {
  const reply = await r.c.call(args, 10_000);
  return { text: reply.text, value: plain(reply.value) };
}

async function expect(r: Real, args: string[], want: string): Promise<void> {
  const got = (await call(r, args)).text;
  if (got !== want) assert.unreachable(`${args.join(' ')}: expected ${show(want)}, got ${show(got)}`);
}

function isInt(s: string): boolean {
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return false;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
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
    if (e.val.t === 'hash') {
      const all = (await call(r, ['HGETALL', k])).value;
      assert.ok(Array.isArray(all), `${where}: HGETALL ${k}`);
      const got = new Map<string, string>();
      for (let i = 0; i < all.length; i += 2) got.set(String(all[i]), String(all[i + 1]));
      assert.is(got.size * 2, all.length, `${where}: HGETALL ${k} repeats a field`);
      assert.equal(sortedPairs(got), sortedPairs(e.val.m), `${where}: HGETALL ${k}`);
      assert.is((await call(r, ['HLEN', k])).value, e.val.m.size, `${where}: HLEN ${k}`);
      if (enc === 'listpack') {
        assert.ok(e.val.m.size <= LIM.hashEntries, `${where}: ${k} is a listpack of ${e.val.m.size} fields`);
        for (const [f, v] of e.val.m) assert.ok(f.length <= LIM.hashValue && v.length <= LIM.hashValue, `${where}: ${k} is a listpack with ${f}=${v}`);
      } else {
        // A hash never converts back: a hashtable may be small now (no check of its past here).
        assert.is(enc, 'hashtable', `${where}: OBJECT ENCODING ${k}`);
      }
    } else {
      const all = (await call(r, ['SMEMBERS', k])).value;
      assert.ok(Array.isArray(all), `${where}: SMEMBERS ${k}`);
      const got = all.map(String).sort();
      assert.equal(got, [...e.val.s].sort(), `${where}: SMEMBERS ${k}`);
      assert.is((await call(r, ['SCARD', k])).value, e.val.s.size, `${where}: SCARD ${k}`);
      if (enc === 'intset') {
        assert.ok(e.val.s.size <= LIM.intsetEntries && [...e.val.s].every(isInt), `${where}: ${k} is an intset of ${[...e.val.s].join(',')}`);
      } else if (enc === 'listpack') {
        assert.ok(e.val.s.size <= LIM.setEntries && [...e.val.s].every((x) => x.length <= LIM.setValue), `${where}: ${k} is a listpack of ${[...e.val.s].join(',')}`);
      } else {
        assert.is(enc, 'hashtable', `${where}: OBJECT ENCODING ${k}`);
      }
    }
  }
  assert.is((await call(r, ['DBSIZE'])).value, m.size, `${where}: DBSIZE`);
}

function sortedPairs(m: Map<string, string>): Array<[string, string]> {
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Commands

const INTS = ['0', '1', '-1', '7', '32767', '32768', '-32769', '2147483648', '9007199254740993', '-9223372036854775808'];
const WORDS = ['01', '-0', '+1', ' 1', 'a', 'b', 'field', 'a-long-member', ''];
const elementArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...INTS) }, { weight: 2, arbitrary: fc.constantFrom(...WORDS) }, { weight: 1, arbitrary: fc.integer({ min: -200, max: 200 }).map(String) });
const valueArb = fc.oneof(fc.constantFrom('', 'v', '10', '-5', 'a-long-value', '9223372036854775807', 'x'), fc.integer({ min: -100, max: 100 }).map(String));
const keyArb = fc.constantFrom(...KEYS);

type Op =
  | { k: 'HSET'; key: string; pairs: Array<[string, string]> }
  | { k: 'HDEL'; key: string; fields: string[] }
  | { k: 'HINCRBY'; key: string; field: string; by: number }
  | { k: 'HGET'; key: string; field: string }
  | { k: 'SADD'; key: string; members: string[] }
  | { k: 'SREM'; key: string; members: string[] }
  | { k: 'SPOP'; key: string }
  | { k: 'SISMEMBER'; key: string; member: string }
  | { k: 'BULK'; key: string; set: boolean; n: number }
  | { k: 'DEL'; key: string }
  | { k: 'EXPIRE'; key: string; s: number }
  | { k: 'PERSIST'; key: string }
  | { k: 'CRASH'; shard: number }
  | { k: 'RESTART' };

const SET_OPS = new Set(['SADD', 'SREM', 'SPOP', 'SISMEMBER']);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('HSET' as const), key: keyArb, pairs: fc.array(fc.tuple(elementArb, valueArb), { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('HDEL' as const), key: keyArb, fields: fc.array(elementArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('HINCRBY' as const), key: keyArb, field: elementArb, by: fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constantFrom(2 ** 53, -(2 ** 53))) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('HGET' as const), key: keyArb, field: elementArb }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('SADD' as const), key: keyArb, members: fc.array(elementArb, { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('SREM' as const), key: keyArb, members: fc.array(elementArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('SPOP' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('SISMEMBER' as const), key: keyArb, member: elementArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('BULK' as const), key: keyArb, set: fc.boolean(), n: fc.integer({ min: 10, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('DEL' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('EXPIRE' as const), key: keyArb, s: fc.oneof(fc.integer({ min: 100, max: 100_000 }), fc.constant(-1)) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('PERSIST' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('CRASH' as const), shard: fc.integer({ min: 0, max: SHARDS - 1 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'RESTART' as const }) },
);

/** The type a key must hold for a command of kind t, or WRONGTYPE is the reply. */
function wrong(m: Model, key: string, t: 'hash' | 'set'): boolean {
  const e = m.get(key);
  return e !== undefined && e.val.t !== t;
}

function hashOf(m: Model, key: string): Map<string, string> {
  let e = m.get(key);
  if (e === undefined) {
    e = { val: { t: 'hash', m: new Map() }, ttl: false };
    m.set(key, e);
  }
  return (e.val as Extract<MVal, { t: 'hash' }>).m;
}

function setOf(m: Model, key: string): Set<string> {
  let e = m.get(key);
  if (e === undefined) {
    e = { val: { t: 'set', s: new Set() }, ttl: false };
    m.set(key, e);
  }
  return (e.val as Extract<MVal, { t: 'set' }>).s;
}

function dropIfEmpty(m: Model, key: string): void {
  const e = m.get(key);
  if (e !== undefined && (e.val.t === 'hash' ? e.val.m.size : e.val.s.size) === 0) m.delete(key);
}

async function run(m: Model, r: Real, op: Op): Promise<void> {
  switch (op.k) {
    case 'HSET': {
      const args = ['HSET', op.key, ...op.pairs.flat()];
      if (wrong(m, op.key, 'hash')) return expect(r, args, WRONGTYPE);
      const h = hashOf(m, op.key);
      let added = 0;
      for (const [f, v] of op.pairs) {
        if (!h.has(f)) added++;
        h.set(f, v);
      }
      return expect(r, args, int(added));
    }
    case 'HDEL': {
      const args = ['HDEL', op.key, ...op.fields];
      if (wrong(m, op.key, 'hash')) return expect(r, args, WRONGTYPE);
      const h = m.get(op.key)?.val as Extract<MVal, { t: 'hash' }> | undefined;
      let n = 0;
      for (const f of op.fields) if (h?.m.delete(f)) n++;
      dropIfEmpty(m, op.key);
      return expect(r, args, int(n));
    }
    case 'HINCRBY': {
      const args = ['HINCRBY', op.key, op.field, String(op.by)];
      if (wrong(m, op.key, 'hash')) return expect(r, args, WRONGTYPE);
      const cur = m.get(op.key) === undefined ? undefined : hashOf(m, op.key).get(op.field);
      if (cur !== undefined && !isInt(cur)) return expect(r, args, '-ERR hash value is not an integer\r\n');
      const next = BigInt(cur ?? '0') + BigInt(op.by);
      if (next >= 2n ** 63n || next < -(2n ** 63n)) return expect(r, args, '-ERR increment or decrement would overflow\r\n');
      hashOf(m, op.key).set(op.field, String(next));
      return expect(r, args, `:${next}\r\n`);
    }
    case 'HGET': {
      const args = ['HGET', op.key, op.field];
      if (wrong(m, op.key, 'hash')) return expect(r, args, WRONGTYPE);
      const e = m.get(op.key);
      return expect(r, args, bulk(e === undefined ? null : hashOf(m, op.key).get(op.field) ?? null));
    }
    case 'SADD': {
      const args = ['SADD', op.key, ...op.members];
      if (wrong(m, op.key, 'set')) return expect(r, args, WRONGTYPE);
      const s = setOf(m, op.key);
      let n = 0;
      for (const x of op.members) {
        if (!s.has(x)) n++;
        s.add(x);
      }
      return expect(r, args, int(n));
    }
    case 'SREM': {
      const args = ['SREM', op.key, ...op.members];
      if (wrong(m, op.key, 'set')) return expect(r, args, WRONGTYPE);
      const e = m.get(op.key);
      let n = 0;
      for (const x of op.members) if (e !== undefined && setOf(m, op.key).delete(x)) n++;
      dropIfEmpty(m, op.key);
      return expect(r, args, int(n));
    }
    case 'SPOP': {
      const args = ['SPOP', op.key];
      if (wrong(m, op.key, 'set')) return expect(r, args, WRONGTYPE);
      const got = await call(r, args);
      if (m.get(op.key) === undefined) {
        assert.is(got.value, null, `SPOP ${op.key} of no key`);
        return;
      }
      const s = setOf(m, op.key);
      assert.ok(typeof got.value === 'string' && s.has(got.value), `SPOP ${op.key}: ${show(got.text)} is not a member of ${[...s].join(',')}`);
      s.delete(got.value as string);
      dropIfEmpty(m, op.key);
      return;
    }
    case 'SISMEMBER': {
      const args = ['SISMEMBER', op.key, op.member];
      if (wrong(m, op.key, 'set')) return expect(r, args, WRONGTYPE);
      return expect(r, args, int(m.get(op.key) !== undefined && setOf(m, op.key).has(op.member) ? 1 : 0));
    }
    case 'BULK': {
      // Enough elements in one command to make a large table (and a lazy free when deleted).
      const t = op.set && r.sets ? 'set' : 'hash';
      const els = Array.from({ length: op.n }, (_, i) => (i % 2 === 0 ? String(i * 7919) : `bulk-${i}`));
      const args = t === 'set' ? ['SADD', op.key, ...els] : ['HSET', op.key, ...els.flatMap((x) => [x, `v${x.length}`])];
      if (wrong(m, op.key, t)) return expect(r, args, WRONGTYPE);
      let n = 0;
      if (t === 'set') {
        const s = setOf(m, op.key);
        for (const x of els) if (!s.has(x) && s.add(x)) n++;
      } else {
        const h = hashOf(m, op.key);
        for (const x of els) {
          if (!h.has(x)) n++;
          h.set(x, `v${x.length}`);
        }
      }
      return expect(r, args, int(n));
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
    case 'RESTART': {
      // BGSAVE, then kill -9 and a restart that loads the snapshot: nothing was written since.
      const io = await ioClient(r.server);
      const saves = await infoNumber(io, 'rdb_saves');
      await expect(r, ['BGSAVE'], '+Background saving started\r\n');
      await bgsaveDone(io, saves);
      io.disconnect();
      r.c.close();
      await kill9(r.server);
      r.server = await restartIn(r.server.port, r.dir, LIMIT_ARGS, { shards: SHARDS });
      r.c = await rawClient(r.server.port);
      r.restarts = await restarts(r);
      return;
    }
  }
}

async function restarts(r: Real): Promise<number> {
  const info = String((await call(r, ['INFO', 'stats'])).value);
  const mm = /^shard_restarts:(\d+)\r?$/m.exec(info);
  if (mm === null) throw new Error('no shard_restarts in INFO stats');
  return Number(mm[1]);
}

// ---------------------------------------------------------------------------------------------

const t = suite('collection model: hashes and sets through a server');
let real: Real | undefined;

t.before(async () => {
  const dir = tempDir('coll-model');
  const server = await startIn(dir, LIMIT_ARGS, { shards: SHARDS });
  const c = await rawClient(server.port);
  real = { c, server, dir, restarts: 0, sets: false };
  real.restarts = await restarts(real);
  real.sets = (await call(real, ['SCARD', KEYS[0]!])).text === ':0\r\n';
  if (!real.sets) console.log('  (this server has no set commands yet: the runs use hashes only)');
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
      if (!r.sets && SET_OPS.has(op.k)) continue;
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
    await withTimeout(fc.assert(prop, params), TIME_LIMIT_MS + 30_000, 'collection model property');
  } catch (err) {
    const cause = err instanceof Error ? err.cause : undefined;
    if (cause instanceof Error) console.error(`  first failure of the counterexample: ${cause.message}`);
    throw err;
  }
  assert.ok(runs > 0, 'no run happened');
  console.log(`  (${runs} runs, ${steps} steps)`);
});

t.run();
