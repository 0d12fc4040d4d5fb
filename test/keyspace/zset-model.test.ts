// Model-based test of sorted sets in the keyspace (src/keyspace/zset.ts on Keyspace): random
// sequences of every call of the contract (add with score updates, remove, score, rank, counts
// below a score or a member, at-rank, ranges forward and reverse with early stops, rank-range
// removal, random picks, SCAN), image round trips (COPY, DUMP/RESTORE, a reload of every key under
// other limits), deletes of large sets with the lazy free after them, string overwrites and crashes
// (a new Keyspace on the same memory), against a Map + sorted array. Small limits, drawn per run,
// make the PACK -> ZTREE conversion happen, and the model predicts each key's encoding as Redis
// 7.0 chooses it. Scores include -0/+0, +-inf and many ties (ordered by member bytes). After every
// step every key is compared whole, its tree checked (zsetCheck) and the keyspace checked
// (checkIntegrity: memory accounting with tree nodes and the lazy-free queue).
// Seeded and replayable: MODEL_SEED, MODEL_PATH, MODEL_RUNS, MODEL_COMMANDS, MODEL_TIME_LIMIT_S.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { DEFAULT_COLLECTION_LIMITS, Keyspace, TYPE_STRING, TYPE_ZSET, type CollectionLimits } from '../../src/keyspace/keyspace.js';
import { imageError } from '../../src/keyspace/image.js';
import * as Z from '../../src/keyspace/zset.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1515);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 30);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 50);
const REPLAY_PATH = process.env['MODEL_PATH'];
const TIME_LIMIT_MS = Number(process.env['MODEL_TIME_LIMIT_S'] ?? 40) * 1000;

const KEYS = ['z0', 'z1', 'z2', 'k'] as const;
const SCAN_STEPS_MAX = 100_000;

// Compact (integer) and 8-byte scores, and the edges of the compact forms' lengths.
const SCORES = [0, -0, 1, -1, 1.5, 2, 3, 10, Infinity, -Infinity, 1e300, -1e-300, 0.1, 1 / 3, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, 63, 64, -64, -65, 127, 128, -129, 2 ** 31, 0.5];
const scoreArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SCORES) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.double({ noNaN: true }) },
);
const WORDS = ['', 'a', 'b', 'ab', 'abc', 'b\u0000', 'member:0000001', 'member:0000002', '\u00ff', '\u0000', 'zz'];
const LONG = ['L'.repeat(70), 'M'.repeat(200)];
const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 10 }).map((a) => String.fromCharCode(...a));
const memberArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 2, arbitrary: latin1 },
  { weight: 1, arbitrary: fc.constantFrom(...LONG) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 300 }).map((n) => `m${n}`) },
);
const keyArb = fc.constantFrom(...KEYS);

const SMALL_LIMITS: CollectionLimits = { ...DEFAULT_COLLECTION_LIMITS, zsetMaxListpackEntries: 4, zsetMaxListpackValue: 8 };
const limitsArb: fc.Arbitrary<CollectionLimits> = fc.oneof(
  fc.constant(SMALL_LIMITS),
  fc.record({
    zsetMaxListpackEntries: fc.constantFrom(0, 1, 3, 8, 128),
    zsetMaxListpackValue: fc.constantFrom(0, 2, 8, 64),
  }).map((l) => ({ ...DEFAULT_COLLECTION_LIMITS, ...l })),
);

type Op =
  | { k: 'add'; key: string; m: string; s: number }
  | { k: 'rem'; key: string; m: string }
  | { k: 'query'; key: string; m: string; s: number; incl: boolean }
  | { k: 'bulk'; key: string; n: number; hint: number; ties: boolean; asc: boolean; from: number }
  | { k: 'bulkRem'; key: string; every: number }
  | { k: 'at'; key: string; r: number }
  | { k: 'range'; key: string; a: number; b: number; rev: boolean; stopAfter: number }
  | { k: 'remRange'; key: string; a: number; b: number }
  | { k: 'random'; key: string; times: number }
  | { k: 'scan'; key: string; count: number }
  | { k: 'copy'; from: string; to: string; limits: CollectionLimits | null }
  | { k: 'reload'; limits: CollectionLimits | null }
  | { k: 'del'; key: string; budgets: number[] }
  | { k: 'str'; key: string }
  | { k: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ k: fc.constant('add' as const), key: keyArb, m: memberArb, s: scoreArb }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('rem' as const), key: keyArb, m: memberArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('query' as const), key: keyArb, m: memberArb, s: scoreArb, incl: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('bulk' as const), key: keyArb, n: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1000, max: 5000 })),
      hint: fc.integer({ min: 0, max: 500 }), ties: fc.boolean(), asc: fc.boolean(), from: fc.integer({ min: 0, max: 9000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('bulkRem' as const), key: keyArb, every: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('at' as const), key: keyArb, r: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('range' as const), key: keyArb, a: fc.nat(), b: fc.nat(), rev: fc.boolean(), stopAfter: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('remRange' as const), key: keyArb, a: fc.nat(), b: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('random' as const), key: keyArb, times: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('scan' as const), key: keyArb, count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('copy' as const), from: keyArb, to: keyArb, limits: fc.option(limitsArb, { freq: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reload' as const), limits: fc.option(limitsArb, { freq: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('del' as const), key: keyArb, budgets: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('str' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ k: 'crash' as const }) },
);

// ---------------------------------------------------------------------------------------------
// The model

type Enc = 'pack' | 'tree';
interface MZset { m: Map<string, number>; enc: Enc }
type MVal = MZset | { str: true };

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (b: Uint8Array, off: number, len: number): string => Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1');

function cmpMember(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0; // latin1: code units are the bytes
}
function cmpKey(as: number, am: string, bs: number, bm: string): number {
  return as < bs ? -1 : as > bs ? 1 : cmpMember(am, bm);
}
function sorted(z: MZset): Array<[string, number]> {
  return [...z.m].sort((x, y) => cmpKey(x[1], x[0], y[1], y[0]));
}

function encOf(ks: Keyspace, e: number): Enc {
  return Z.zsetEncodingName(ks, e) === 'skiplist' ? 'tree' : 'pack';
}

/** The encoding an image takes when stored under lim (a listpack keeps -0 as 0: z follows). */
function storedEnc(z: MZset, lim: CollectionLimits): Enc {
  let longest = 0;
  for (const k of z.m.keys()) longest = Math.max(longest, k.length);
  const enc = z.m.size <= lim.zsetMaxListpackEntries && longest <= lim.zsetMaxListpackValue ? 'pack' : 'tree';
  if (enc === 'pack') for (const [k, s] of z.m) if (s === 0) z.m.set(k, 0);
  return enc;
}

class World {
  ks: Keyspace;
  model = new Map<string, MVal>();
  lim: CollectionLimits;
  conversions = new Set<string>();
  lazy = 0;

  constructor(lim: CollectionLimits) {
    this.lim = lim;
    this.ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 16 }));
    this.ks.limits = lim;
  }

  find(key: string): number {
    const k = bytes(key);
    return this.ks.find(k, 0, k.length);
  }

  zset(key: string): MZset | null {
    const v = this.model.get(key);
    return v !== undefined && !('str' in v) ? v : null;
  }

  /** The key as a zset handle, creating it (with the given hint) when absent or a string. */
  ensure(key: string, hint: number, maxLen: number): { e: number; z: MZset } {
    let z = this.zset(key);
    if (z !== null) return { e: this.find(key), z };
    const k = bytes(key);
    const e = Z.zsetCreate(this.ks, k, 0, k.length, hint, maxLen);
    z = { m: new Map(), enc: hint <= this.lim.zsetMaxListpackEntries && maxLen <= this.lim.zsetMaxListpackValue ? 'pack' : 'tree' };
    this.model.set(key, z);
    return { e, z };
  }

  add(key: string, e: number, z: MZset, m: string, s: number): number {
    const mb = bytes(m);
    const had = z.m.has(m);
    if (!had && z.enc === 'pack' && (z.m.size + 1 > this.lim.zsetMaxListpackEntries || m.length > this.lim.zsetMaxListpackValue)) {
      z.enc = 'tree';
      this.conversions.add('pack->tree');
    }
    e = Z.zsetAdd(this.ks, e, mb, 0, mb.length, s);
    assert.is(Z.added, !had, `added ${JSON.stringify(m)}`);
    if (z.enc === 'pack' && s === 0) s = 0; // a listpack keeps -0 as 0, as Redis's
    if (!had || z.m.get(m) !== s) z.m.set(m, s); // an equal score (-0 vs 0) keeps the old one
    return e;
  }

  dropIfEmpty(key: string, e: number): void {
    const z = this.zset(key)!;
    if (z.m.size > 0) return;
    assert.is(Z.zsetCount(this.ks, e), 0);
    this.ks.deleteEntry(e);
    this.model.delete(key);
  }

  /** Compares every key with the model and checks the structures. */
  check(): void {
    const ks = this.ks;
    for (const key of KEYS) {
      const v = this.model.get(key);
      const e = this.find(key);
      if (v === undefined) {
        assert.is(e, 0, `${key} should be absent`);
        continue;
      }
      assert.ok(e !== 0, `${key} should exist`);
      if ('str' in v) {
        assert.is(ks.type(e), TYPE_STRING);
        continue;
      }
      assert.is(ks.type(e), TYPE_ZSET);
      assert.is(encOf(ks, e), v.enc, `${key} encoding`);
      const want = sorted(v);
      assert.is(Z.zsetCount(ks, e), want.length, `${key} count`);
      assert.is(ks.elementCount(e), want.length);
      const got: Array<[string, number]> = [];
      Z.zsetRange(ks, e, 0, want.length - 1, false, (b, o, l, s) => {
        got.push([str(b, o, l), s]);
        return true;
      });
      assert.equal(got.length, want.length, `${key} range length`);
      for (let i = 0; i < want.length; i++) {
        assert.is(got[i]![0], want[i]![0], `${key} member at ${i}`);
        assert.ok(Object.is(got[i]![1], want[i]![1]), `${key} score at ${i}: ${got[i]![1]} vs ${want[i]![1]}`);
      }
      Z.zsetCheck(ks, e);
    }
    ks.checkIntegrity();
  }
}

function normRange(n: number, a: number, b: number): [number, number] {
  const x = a % n;
  const y = b % n;
  return x <= y ? [x, y] : [y, x];
}

function run(w: World, op: Op): void {
  const ks = w.ks;
  switch (op.k) {
    case 'add': {
      const { e, z } = w.ensure(op.key, 1, op.m.length);
      w.add(op.key, e, z, op.m, op.s);
      break;
    }
    case 'rem': {
      const z = w.zset(op.key);
      if (z === null) break;
      const mb = bytes(op.m);
      const e = w.find(op.key);
      const had = z.m.delete(op.m);
      assert.is(Z.zsetRemove(ks, e, mb, 0, mb.length), had);
      w.dropIfEmpty(op.key, Z.removedHandle);
      break;
    }
    case 'query': {
      const z = w.zset(op.key);
      if (z === null) break;
      const e = w.find(op.key);
      const mb = bytes(op.m);
      const all = sorted(z);
      const has = z.m.has(op.m);
      assert.is(Z.zsetScore(ks, e, mb, 0, mb.length), has);
      if (has) assert.ok(Object.is(Z.score, z.m.get(op.m)), 'score');
      assert.is(Z.zsetRank(ks, e, mb, 0, mb.length), has ? all.findIndex(([m]) => m === op.m) : -1, 'rank');
      const below = all.filter(([, s]) => (op.incl ? s <= op.s : s < op.s)).length;
      assert.is(Z.zsetCountBelowScore(ks, e, op.s, op.incl), below, `count below score ${op.s} incl ${op.incl}`);
      // Lex counts are meaningful when the scores are equal: check on sets where they are.
      if (all.every(([, s]) => s === all[0]![1])) {
        const lb = all.filter(([m]) => (op.incl ? cmpMember(m, op.m) <= 0 : cmpMember(m, op.m) < 0)).length;
        assert.is(Z.zsetCountBelowMember(ks, e, mb, 0, mb.length, op.incl), lb, 'count below member');
      } else {
        Z.zsetCountBelowMember(ks, e, mb, 0, mb.length, op.incl);
      }
      break;
    }
    case 'bulk': {
      const maxLen = 12;
      const { z } = w.ensure(op.key, op.hint, maxLen);
      let e = w.find(op.key);
      for (let i = 0; i < op.n; i++) {
        const j = op.asc ? op.from + i : op.from + op.n - i;
        const m = `b${String(j).padStart(6, '0')}`;
        const s = op.ties ? (j % 3) : op.asc ? j : ((j * 7919) % 1009) / 7;
        e = w.add(op.key, e, z, m, s);
      }
      break;
    }
    case 'bulkRem': {
      const z = w.zset(op.key);
      if (z === null) break;
      let e = w.find(op.key);
      let i = 0;
      for (const m of [...z.m.keys()]) {
        if (i++ % op.every !== 0) continue;
        const mb = bytes(m);
        assert.ok(Z.zsetRemove(ks, e, mb, 0, mb.length));
        e = Z.removedHandle;
        z.m.delete(m);
      }
      w.dropIfEmpty(op.key, e);
      break;
    }
    case 'at': {
      const z = w.zset(op.key);
      if (z === null) break;
      const all = sorted(z);
      const r = op.r % all.length;
      Z.zsetAt(ks, w.find(op.key), r);
      assert.is(str(Z.hitBuf, Z.hitOff, Z.hitLen), all[r]![0]);
      assert.ok(Object.is(Z.score, all[r]![1]));
      break;
    }
    case 'range': {
      const z = w.zset(op.key);
      if (z === null) break;
      const all = sorted(z);
      const [a, b] = normRange(all.length, op.a, op.b);
      const want = all.slice(a, b + 1);
      if (op.rev) want.reverse();
      const got: string[] = [];
      Z.zsetRange(ks, w.find(op.key), a, b, op.rev, (buf, o, l) => {
        got.push(str(buf, o, l));
        return got.length < op.stopAfter;
      });
      assert.equal(got, want.slice(0, op.stopAfter).map(([m]) => m));
      break;
    }
    case 'remRange': {
      const z = w.zset(op.key);
      if (z === null) break;
      const all = sorted(z);
      const [a, b] = normRange(all.length, op.a, op.b);
      const e = Z.zsetRemoveRange(ks, w.find(op.key), a, b);
      for (const [m] of all.slice(a, b + 1)) z.m.delete(m);
      w.dropIfEmpty(op.key, e);
      break;
    }
    case 'random': {
      const z = w.zset(op.key);
      if (z === null) break;
      for (let i = 0; i < op.times; i++) {
        Z.zsetRandom(ks, w.find(op.key));
        const m = str(Z.hitBuf, Z.hitOff, Z.hitLen);
        assert.ok(z.m.has(m), 'random member is a member');
        assert.ok(Object.is(Z.score, z.m.get(m)));
      }
      break;
    }
    case 'scan': {
      const z = w.zset(op.key);
      if (z === null) break;
      const e = w.find(op.key);
      const seen = new Map<string, number>();
      let cursor = 0;
      let steps = 0;
      do {
        cursor = Z.zsetScan(ks, e, cursor, op.count, (b, o, l, s) => {
          seen.set(str(b, o, l), s);
        });
        assert.ok(++steps < SCAN_STEPS_MAX, 'scan never ends');
      } while (cursor !== 0);
      assert.is(seen.size, z.m.size);
      for (const [m, s] of seen) assert.ok(Object.is(z.m.get(m), s), `scan score of ${m}`);
      break;
    }
    case 'copy': {
      const z = w.zset(op.from);
      if (z === null || op.from === op.to) break;
      const e = w.find(op.from);
      ks.image(e);
      const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
      assert.is(imageError(TYPE_ZSET, img, 0, img.length), null, 'image checks');
      if (op.limits !== null) ks.limits = op.limits;
      const k = bytes(op.to);
      ks.setImage(k, 0, k.length, TYPE_ZSET, img, 0, img.length, 0);
      const lim = ks.limits;
      ks.limits = w.lim;
      const copy = { m: new Map(z.m), enc: 'pack' as Enc };
      copy.enc = storedEnc(copy, lim);
      w.model.set(op.to, copy);
      break;
    }
    case 'reload': {
      // Every key through its image into a fresh keyspace (a snapshot and a load).
      const fresh = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 16 }));
      fresh.limits = op.limits ?? w.lim;
      for (const key of KEYS) {
        const e = w.find(key);
        if (e === 0) continue;
        ks.image(e);
        const k = bytes(key);
        fresh.setImage(k, 0, k.length, ks.type(e), ks.imageBuf, ks.imageOff, ks.imageLen, 0);
        const z = w.zset(key);
        if (z !== null) z.enc = storedEnc(z, fresh.limits);
      }
      fresh.limits = w.lim;
      w.ks = fresh;
      break;
    }
    case 'del': {
      const e = w.find(op.key);
      if (e === 0) break;
      ks.deleteEntry(e);
      w.model.delete(op.key);
      for (const b of op.budgets) {
        ks.checkIntegrity();
        if (!ks.lazyFreeStep(b)) break;
        w.lazy++;
      }
      break;
    }
    case 'str': {
      const k = bytes(op.key);
      ks.set(k, 0, k.length, k, 0, k.length, TYPE_STRING, 0);
      w.model.set(op.key, { str: true });
      break;
    }
    case 'crash': {
      const limits = ks.limits;
      w.ks = new Keyspace(ks.memory);
      w.ks.limits = limits;
      break;
    }
  }
}

test('sorted sets follow the model through every call, conversion, image, lazy free and crash', () => {
  let runs = 0;
  let steps = 0;
  const conversions = new Set<string>();
  let lazy = 0;
  const prop = fc.property(limitsArb, fc.array(opArb, { maxLength: MAX_COMMANDS, size: 'max' }), (lim, ops) => {
    runs++;
    const w = new World(lim);
    for (const op of ops) {
      run(w, op);
      steps++;
      w.check();
    }
    while (w.ks.lazyFreeStep()) w.lazy++;
    w.ks.checkIntegrity();
    for (const c of w.conversions) conversions.add(c);
    lazy += w.lazy;
  });
  const params: fc.Parameters<[CollectionLimits, Op[]]> = {
    seed: SEED,
    numRuns: RUNS,
    ...(REPLAY_PATH !== undefined ? { path: REPLAY_PATH } : {}),
    interruptAfterTimeLimit: TIME_LIMIT_MS,
    markInterruptAsFailure: false,
    verbose: 0,
  };
  try {
    fc.assert(prop, params);
  } catch (err) {
    const cause = err instanceof Error ? err.cause : undefined;
    if (cause instanceof Error) console.error(`  first failure of the counterexample: ${cause.message}\n${cause.stack ?? ''}`);
    throw err;
  }
  assert.ok(runs > 0, 'no run happened');
  console.log(`  (${runs} runs, ${steps} steps, ${lazy} partial lazy frees; conversions: ${[...conversions].join(', ')})`);
  assert.ok(conversions.has('pack->tree'), 'the runs never converted: widen the workload');
});

test('a deep tree: 20000 members, ranks, counts, ranges, removals and merges down to empty', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const before = ks.usedMemory();
  const k = bytes('big');
  let e = Z.zsetCreate(ks, k, 0, k.length, 20000, 10);
  const n = 20000;
  const model: Array<[string, number]> = [];
  for (let i = 0; i < n; i++) {
    const m = `m${String((i * 7919) % n).padStart(6, '0')}`;
    const s = (i * 31) % 97;
    e = Z.zsetAdd(ks, e, bytes(m), 0, m.length, s);
    model.push([m, s]);
  }
  model.sort((x, y) => cmpKey(x[1], x[0], y[1], y[0]));
  Z.zsetCheck(ks, e);
  ks.checkIntegrity();
  for (let r = 0; r < n; r += 997) {
    Z.zsetAt(ks, e, r);
    assert.is(str(Z.hitBuf, Z.hitOff, Z.hitLen), model[r]![0]);
    const mb = bytes(model[r]![0]);
    assert.is(Z.zsetRank(ks, e, mb, 0, mb.length), r);
  }
  for (const s of [-1, 0, 5, 50.5, 96, 97]) {
    assert.is(Z.zsetCountBelowScore(ks, e, s, false), model.filter(([, x]) => x < s).length);
    assert.is(Z.zsetCountBelowScore(ks, e, s, true), model.filter(([, x]) => x <= s).length);
  }
  // Remove in an order that empties leaves at both ends and in the middle.
  const order = model.map(([m]) => m).sort((a, b) => (a.charCodeAt(a.length - 1) % 3) - (b.charCodeAt(b.length - 1) % 3));
  let left = n;
  for (const m of order) {
    const mb = bytes(m);
    assert.ok(Z.zsetRemove(ks, e, mb, 0, mb.length));
    e = Z.removedHandle;
    left--;
    if (left % 2500 === 0) {
      Z.zsetCheck(ks, e);
      ks.checkIntegrity();
      assert.is(Z.zsetCount(ks, e), left);
    }
  }
  ks.deleteEntry(e);
  while (ks.lazyFreeStep(100));
  ks.checkIntegrity();
  assert.is(ks.usedMemory(), before);
});

test('nearly emptied nodes next to full ones borrow from them; random removals keep every invariant', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const k = bytes('big');
  let e = Z.zsetCreate(ks, k, 0, k.length, 100000, 10);
  const n = 40000;
  const name = (i: number): Buffer => bytes(`m${String(i).padStart(6, '0')}`);
  // Ascending scores: the appending split leaves full leaves and full inner nodes.
  for (let i = 0; i < n; i++) e = Z.zsetAdd(ks, e, name(i), 0, 7, i);
  Z.zsetCheck(ks, e);
  const alive = new Set<number>();
  for (let i = 0; i < n; i++) alive.add(i);
  // Most of the 6th and the last inner node's leaves go: each falls under a quarter of its
  // children next to a full neighbour (ascending inserts leave 47 full leaves of 64 under each).
  const under = 64 * 47;
  const last = Math.floor((n - 1) / under) * under;
  for (const [from, to] of [[5 * under + 128, 6 * under], [last, n - 128]] as const) {
    for (let i = from; i < to; i++) {
      assert.ok(Z.zsetRemove(ks, e, name(i), 0, 7));
      e = Z.removedHandle;
      alive.delete(i);
    }
    Z.zsetCheck(ks, e);
  }
  // Every other run of 64 ranks loses 60 of them: each such leaf falls under a quarter while its
  // neighbours stay full; every other run of 3000 loses nearly all, for the inner nodes.
  for (let i = 0; i < n; i++) {
    if (!alive.has(i)) continue;
    if ((Math.floor(i / 64) % 2 === 0 && i % 64 < 60) || (Math.floor(i / 3000) % 2 === 1 && i % 3000 < 2990)) {
      assert.ok(Z.zsetRemove(ks, e, name(i), 0, 7));
      e = Z.removedHandle;
      alive.delete(i);
    }
    if (i % 1000 === 0) Z.zsetCheck(ks, e);
  }
  Z.zsetCheck(ks, e);
  ks.checkIntegrity();
  const order = [...alive];
  let r = 0;
  Z.zsetRange(ks, e, 0, order.length - 1, false, (b, o, l) => {
    assert.is(str(b, o, l), `m${String(order[r++]).padStart(6, '0')}`);
    return true;
  });
  assert.is(r, order.length);
  // Then random removals and re-adds with new scores, checked as they go.
  let seed = 7;
  const rnd = (m: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % m;
  };
  for (let step = 0; step < 20000; step++) {
    const i = rnd(n);
    if (alive.has(i) && rnd(3) > 0) {
      assert.ok(Z.zsetRemove(ks, e, name(i), 0, 7));
      e = Z.removedHandle;
      alive.delete(i);
    } else {
      e = Z.zsetAdd(ks, e, name(i), 0, 7, rnd(50));
      alive.add(i);
    }
    if (step % 2000 === 0) Z.zsetCheck(ks, e);
  }
  Z.zsetCheck(ks, e);
  assert.is(Z.zsetCount(ks, e), alive.size);
  ks.checkIntegrity();
});

test('a lazily freed large set gives every block back, also across a crash', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const before = ks.usedMemory();
  const k = bytes('big');
  let e = Z.zsetCreate(ks, k, 0, k.length, 0, 100);
  for (let i = 0; i < 5000; i++) {
    const m = `member:${i}`;
    e = Z.zsetAdd(ks, e, bytes(m), 0, m.length, i % 50);
  }
  ks.deleteEntry(e);
  for (let i = 0; i < 30 && ks.lazyFreeStep(100); i++) ks.checkIntegrity();
  const again = new Keyspace(ks.memory);
  again.checkIntegrity();
  let steps = 0;
  while (again.lazyFreeStep(100)) {
    steps++;
    if (steps % 10 === 0) again.checkIntegrity();
  }
  again.checkIntegrity();
  assert.is(again.usedMemory(), before);
});

/** A one-member-per-entry image: [1][count u32] then the given elements' raw bytes. */
function rawImage(...elements: number[][]): Buffer {
  const head = Buffer.from([1, 0, 0, 0, 0]);
  head.writeUInt32LE(elements.length, 1);
  return Buffer.concat([head, ...elements.map((b) => Buffer.from(b))]);
}

function f64(s: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(s, 0);
  return [...b];
}

/** LEB128 bytes of a zigzag value given as a bigint (images beyond what the writer makes). */
function leb(z: bigint): number[] {
  const out: number[] = [];
  do {
    const b = Number(z & 0x7fn);
    z >>= 7n;
    out.push(z > 0n ? b | 0x80 : b);
  } while (z > 0n);
  return out;
}

test('images: a bad RESTORE payload is refused, never stored', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const k = bytes('z');
  let e = Z.zsetCreate(ks, k, 0, k.length, 1, 1);
  for (const [m, s] of [['a', 1], ['b', 2]] as const) e = Z.zsetAdd(ks, e, bytes(m), 0, 1, s);
  ks.image(e);
  const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
  // Elements are [member length * 2 + 1]['a'][zigzag score] from offset 5: 03 61 02, 03 62 04.
  assert.equal([...img], [1, 2, 0, 0, 0, 3, 0x61, 2, 3, 0x62, 4]);
  assert.is(imageError(TYPE_ZSET, img, 0, img.length), null);
  const swapped = Buffer.from(img);
  swapped[7] = 4;
  swapped[10] = 2;
  assert.is(imageError(TYPE_ZSET, swapped, 0, swapped.length), 'members out of order');
  assert.is(imageError(TYPE_ZSET, rawImage([2, 0x61, ...f64(NaN)]), 0, 15), 'NaN score');
  const dup = Buffer.from(img);
  dup[9] = 0x61;
  dup[10] = 2;
  assert.is(imageError(TYPE_ZSET, dup, 0, dup.length), 'members out of order');
  assert.ok(imageError(TYPE_ZSET, img, 0, img.length - 1) !== null);
  const empty = Buffer.from([1, 0, 0, 0, 0]);
  assert.is(imageError(TYPE_ZSET, empty, 0, empty.length), 'empty collection');
  // One form per score: an integer as 8 bytes, an overlong varint, a compact form past +-2^53.
  const bad: Array<[Buffer, string]> = [
    [rawImage([2, 0x61, ...f64(1)]), 'score not in its compact form'],
    [rawImage([2, 0x61, ...f64(2 ** 53)]), 'score not in its compact form'],
    [rawImage([3, 0x61, 0x82, 0]), 'bad compact score'],
    [rawImage([0x83, 0, 0x61, 2]), 'bad length'],
    [rawImage([3, 0x61, ...leb(2n ** 54n + 2n)]), 'bad compact score'],
    [rawImage([3, 0x61, ...leb(2n ** 54n + 1n)]), 'bad compact score'],
    [rawImage([3, 0x61, ...leb(2n ** 60n)]), 'bad compact score'],
    [rawImage([3, 0x61, 0x80]), 'entry past the end'],
    [rawImage([3, 0x61]), 'entry past the end'],
    [rawImage([2, 0x61, 0, 0]), 'entry past the end'],
  ];
  for (const [b, why] of bad) {
    assert.is(imageError(TYPE_ZSET, b, 0, b.length), why, [...b].join(' '));
    // Refused before the arena: the loader checks, so a refused image never reaches store.
  }
  // The extremes that are compact: 2^53 and -2^53 in 8 bytes.
  for (const [z, s] of [[2n ** 54n, 2 ** 53], [2n ** 54n - 1n, -(2 ** 53)]] as const) {
    const b = rawImage([3, 0x61, ...leb(z)]);
    assert.is(b.length, 5 + 2 + 8);
    assert.is(imageError(TYPE_ZSET, b, 0, b.length), null);
    const fresh = new Keyspace(Keyspace.createMemory());
    const fe = fresh.setImage(k, 0, 1, TYPE_ZSET, b, 0, b.length, 0);
    assert.ok(Z.zsetScore(fresh, fe, bytes('a'), 0, 1));
    assert.is(Z.score, s);
  }
  // An 8-byte -0 (the image of a large set) is valid, and stored as a listpack's compact 0.
  const negZero = rawImage([2, 0x61, ...f64(-0)], [3, 0x62, 0]);
  assert.is(imageError(TYPE_ZSET, negZero, 0, negZero.length), null);
  const fresh = new Keyspace(Keyspace.createMemory());
  const fe = fresh.setImage(k, 0, 1, TYPE_ZSET, negZero, 0, negZero.length, 0);
  fresh.image(fe);
  assert.equal([...fresh.imageBuf.subarray(fresh.imageOff, fresh.imageOff + fresh.imageLen)], [1, 2, 0, 0, 0, 3, 0x61, 0, 3, 0x62, 0]);
  fresh.checkIntegrity();
});

test('compact scores: integers up to 2^53 take a zigzag varint, others 8 bytes; every call agrees', () => {
  // [score, bytes of its form in the PACK]
  const cases: Array<[number, number]> = [
    [0, 1], [1, 1], [-1, 1], [63, 1], [-64, 1], [64, 2], [-65, 2], [127, 2], [128, 2], [-129, 2], [2 ** 31, 5],
    [-(2 ** 31), 5], [2 ** 53, 8], [-(2 ** 53), 8], [2 ** 53 + 2, 8], [-(2 ** 53) - 2, 8], [0.5, 8], [-0, 1], [Infinity, 8],
    [-Infinity, 8], [1e300, 8],
  ];
  const m = bytes('m:00');
  for (const [s, size] of cases) {
    const ks = new Keyspace(Keyspace.createMemory());
    const k = bytes('z');
    let e = Z.zsetCreate(ks, k, 0, 1, 1, 4);
    e = Z.zsetAdd(ks, e, m, 0, 4, s);
    const want = s === 0 ? 0 : s; // a listpack keeps -0 as 0
    assert.is(ks.valueLength(e), 5 + 1 + 4 + size, `size of ${s}`);
    assert.ok(Z.zsetScore(ks, e, m, 0, 4));
    assert.ok(Object.is(Z.score, want), `score ${s}`);
    ks.image(e);
    const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
    assert.is(imageError(TYPE_ZSET, img, 0, img.length), null);
    // Through the image into a listpack and into a large set, and back out as the same image.
    for (const entries of [128, 0]) {
      const fresh = new Keyspace(Keyspace.createMemory());
      fresh.limits = { ...DEFAULT_COLLECTION_LIMITS, zsetMaxListpackEntries: entries };
      const fe = fresh.setImage(k, 0, 1, TYPE_ZSET, img, 0, img.length, 0);
      assert.is(Z.zsetEncodingName(fresh, fe), entries === 0 ? 'skiplist' : 'listpack');
      assert.ok(Z.zsetScore(fresh, fe, m, 0, 4));
      assert.ok(Object.is(Z.score, want));
      fresh.image(fe);
      assert.equal([...fresh.imageBuf.subarray(fresh.imageOff, fresh.imageOff + fresh.imageLen)], [...img]);
    }
  }
  // One member moved through every score among nine others (sizes change in place): order, ranks
  // and scores follow a sorted model; the handle may move.
  const ks = new Keyspace(Keyspace.createMemory());
  const k = bytes('z');
  let e = Z.zsetCreate(ks, k, 0, 1, 10, 4);
  const model = new Map<string, number>();
  for (let j = 0; j < 10; j++) {
    const mj = bytes(`m:0${j}`);
    e = Z.zsetAdd(ks, e, mj, 0, 4, j);
    model.set(`m:0${j}`, j);
  }
  for (const [s] of [...cases, ...cases.slice().reverse()]) {
    for (const who of ['m:00', 'm:05', 'm:09']) {
      e = Z.zsetAdd(ks, e, bytes(who), 0, 4, s);
      assert.not.ok(Z.added);
      model.set(who, s === 0 ? 0 : s);
      const want = [...model].sort((a, b) => (a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const got: Array<[string, number]> = [];
      Z.zsetRange(ks, e, 0, 9, false, (b, o, l, sc) => {
        got.push([Buffer.from(b.subarray(o, o + l)).toString('latin1'), sc]);
        return true;
      });
      assert.equal(got, want);
      assert.is(Z.zsetRank(ks, e, bytes(who), 0, 4), want.findIndex(([w]) => w === who));
      assert.is(ks.valueLength(e), 5 + want.reduce((n, [, sc]) => n + 5 + (cases.find(([c]) => Object.is(c, sc))?.[1] ?? 1), 0));
      ks.checkIntegrity();
    }
  }
});

test.run();
