// Model-based test of hashes and sets in the keyspace (src/keyspace/collection.ts on Keyspace):
// random sequences of element writes, removals (an emptied key is deleted, as the commands do),
// lookups, SCANs with writes between their steps, random picks, image round trips (COPY, DUMP/
// RESTORE and a snapshot + reload of every key, also under other limits), deletes of large
// collections and the lazy free after them, string overwrites, expiry, and crashes (a new Keyspace
// on the same memory, as a restarted worker), against plain Maps and Sets. Small encoding limits,
// drawn per run, make every conversion happen (PACK -> TABLE, INTSET -> PACK, INTSET -> TABLE,
// intset widening 16 -> 32 -> 64 bits) and the model predicts each key's encoding as Redis 7.2
// chooses it. After every step the whole keyspace is compared with the model and checked
// (checkIntegrity: memory accounting with collection blocks and the lazy-free queue).
// Seeded and replayable: MODEL_SEED, MODEL_PATH (fast-check's replay path), MODEL_RUNS,
// MODEL_COMMANDS, MODEL_TIME_LIMIT_S (e.g. MODEL_RUNS=2000 MODEL_COMMANDS=200 for a longer run).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  DEFAULT_COLLECTION_LIMITS, Keyspace, TYPE_HASH, TYPE_SET, TYPE_STRING, type CollectionLimits, type ValueType,
} from '../../src/keyspace/keyspace.js';
import * as C from '../../src/keyspace/collection.js';
import { ENC_INTSET, ENC_PACK, ENC_TABLE } from '../../src/keyspace/pack.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1414);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 40);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 60);
const REPLAY_PATH = process.env['MODEL_PATH'];
const TIME_LIMIT_MS = Number(process.env['MODEL_TIME_LIMIT_S'] ?? 40) * 1000;

const KEYS = ['h0', 'h1', 's0', 's1', 's2', 'k'] as const;
const T0 = 1_700_000_000_000;
/** Most SCAN steps one scan may take (a cursor that never comes back to 0 is a failure). */
const SCAN_STEPS_MAX = 100_000;

// ---------------------------------------------------------------------------------------------
// Elements: integers in every intset width, integer-looking members that are not canonical (they
// must stay strings), integers past 2^53 (kept out of the intset), short and long strings, bytes.

const INTS = [
  '0', '1', '-1', '7', '100', '32767', '32768', '-32768', '-32769', '65536', '2147483647', '2147483648',
  '-2147483648', '-2147483649', '4294967296', '9007199254740991', '-9007199254740991',
];
const NOT_INTS = [
  '01', '-0', '+1', ' 1', '1 ', '00', '0x1', '1e3', '', '-', '9007199254740992', '9007199254740993',
  '-9007199254740992', '9223372036854775807', '-9223372036854775808', '18446744073709551616', '12345678901234567890',
];
const WORDS = ['a', 'b', 'f1', 'f2', 'field', 'member-x', 'a-rather-long-member-name', '\u0000', '\u00ff\u0000\u00fe'];

/** Values past 64 bytes take the bulk copy path, past 127 a two-byte length in a pack. */
const LONG = ['L'.repeat(70), 'M'.repeat(200)];
const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 14 }).map((a) => String.fromCharCode(...a));
const elementArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INTS) },
  { weight: 2, arbitrary: fc.constantFrom(...NOT_INTS) },
  { weight: 3, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 1, arbitrary: latin1 },
  { weight: 1, arbitrary: fc.constantFrom(...LONG) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.integer(), fc.maxSafeInteger()).map(String) },
);
const valueArb = fc.oneof(fc.constantFrom('', 'v', '42', 'value-1'), latin1, fc.constantFrom(...LONG));
const keyArb = fc.constantFrom(...KEYS);
const kindArb = fc.constantFrom('hash' as const, 'set' as const);

/** Limits under which every conversion is a few writes away (half of the runs), or any mix. */
const SMALL_LIMITS: CollectionLimits = {
  ...DEFAULT_COLLECTION_LIMITS,
  hashMaxListpackEntries: 4, hashMaxListpackValue: 8, setMaxIntsetEntries: 4, setMaxListpackEntries: 8, setMaxListpackValue: 20,
};
const limitsArb: fc.Arbitrary<CollectionLimits> = fc.oneof(fc.constant(SMALL_LIMITS), fc.record({
  hashMaxListpackEntries: fc.constantFrom(0, 1, 3, 8, 128),
  hashMaxListpackValue: fc.constantFrom(0, 2, 8, 64),
  setMaxIntsetEntries: fc.constantFrom(0, 1, 4, 8, 512),
  setMaxListpackEntries: fc.constantFrom(0, 1, 3, 8, 128),
  setMaxListpackValue: fc.constantFrom(0, 2, 8, 64),
}).map((l) => ({ ...DEFAULT_COLLECTION_LIMITS, ...l })));

type Op =
  | { k: 'put'; key: string; as: 'hash' | 'set'; el: string; v: string }
  | { k: 'rem'; key: string; el: string }
  | { k: 'find'; key: string; el: string }
  | { k: 'bulk'; key: string; as: 'hash' | 'set'; n: number; ints: boolean; from: number }
  | { k: 'bulkRem'; key: string; every: number }
  | { k: 'scan'; key: string; count: number; muts: Array<{ add: boolean; el: string; v: string; grow: number }> }
  | { k: 'random'; key: string; times: number }
  | { k: 'copy'; from: string; to: string; limits: CollectionLimits | null }
  | { k: 'reload'; limits: CollectionLimits | null }
  | { k: 'del'; key: string; budgets: number[] }
  | { k: 'str'; key: string; v: string }
  | { k: 'expire'; key: string; deltaMs: number }
  | { k: 'persist'; key: string }
  | { k: 'tick'; ms: number; rehash: boolean; active: boolean }
  | { k: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ k: fc.constant('put' as const), key: keyArb, as: kindArb, el: elementArb, v: valueArb }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('rem' as const), key: keyArb, el: elementArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('find' as const), key: keyArb, el: elementArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('bulk' as const), key: keyArb, as: kindArb, n: fc.integer({ min: 1, max: 400 }), ints: fc.boolean(), from: fc.integer({ min: -40000, max: 40000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('bulkRem' as const), key: keyArb, every: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('scan' as const),
      key: keyArb,
      count: fc.integer({ min: 1, max: 30 }),
      muts: fc.array(fc.record({ add: fc.boolean(), el: elementArb, v: valueArb, grow: fc.constantFrom(0, 0, 0, 40, 200) }), { maxLength: 12 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('random' as const), key: keyArb, times: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('copy' as const), from: keyArb, to: keyArb, limits: fc.option(limitsArb, { freq: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reload' as const), limits: fc.option(limitsArb, { freq: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('del' as const), key: keyArb, budgets: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('str' as const), key: keyArb, v: valueArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('expire' as const), key: keyArb, deltaMs: fc.integer({ min: -3, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('persist' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 25 }), rehash: fc.boolean(), active: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'crash' as const }) },
);

// ---------------------------------------------------------------------------------------------
// The model

type Enc = 'intset' | 'pack' | 'table';
type MVal =
  | { t: 'hash'; m: Map<string, string>; enc: Enc }
  | { t: 'set'; s: Set<string>; enc: Enc }
  | { t: 'string'; v: string };
interface MEntry { val: MVal; expireAt: number }

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (b: Uint8Array, off: number, len: number): string => Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1');

/** Redis's string2ll as the intset uses it here: canonical decimal within JS's safe integers. */
function isIntMember(s: string): boolean {
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return false;
  return Number.isSafeInteger(Number(s));
}

/** The encoding Redis 7.2 gives a set after adding a member that was not there. */
function setEncAfterAdd(enc: Enc, s: Set<string>, el: string, lim: CollectionLimits): Enc {
  if (enc === 'intset') {
    if (isIntMember(el)) return s.size + 1 <= lim.setMaxIntsetEntries ? 'intset' : 'table';
    let digits = 0;
    for (const m of s) digits = Math.max(digits, m.length);
    return s.size + 1 <= lim.setMaxListpackEntries && el.length <= lim.setMaxListpackValue && digits <= lim.setMaxListpackValue ? 'pack' : 'table';
  }
  if (enc === 'pack') return s.size + 1 <= lim.setMaxListpackEntries && el.length <= lim.setMaxListpackValue ? 'pack' : 'table';
  return 'table';
}

function newSetEnc(el: string, lim: CollectionLimits): Enc {
  if (isIntMember(el) && lim.setMaxIntsetEntries >= 1) return 'intset';
  if (lim.setMaxListpackEntries >= 1 && el.length <= lim.setMaxListpackValue) return 'pack';
  return 'table';
}

function hashEncAfterPut(enc: Enc, m: Map<string, string>, f: string, v: string, lim: CollectionLimits): Enc {
  if (enc !== 'pack') return enc;
  if (m.has(f)) return v.length <= lim.hashMaxListpackValue ? 'pack' : 'table';
  return m.size + 1 <= lim.hashMaxListpackEntries && f.length <= lim.hashMaxListpackValue && v.length <= lim.hashMaxListpackValue ? 'pack' : 'table';
}

/** The encoding setImage gives an image of a value in `enc` under `lim` (an intset image stays one). */
function encAfterImage(val: MVal, lim: CollectionLimits): Enc {
  if (val.t === 'set') {
    if (val.enc === 'intset') return val.s.size > lim.setMaxIntsetEntries ? 'table' : 'intset';
    if (val.s.size > lim.setMaxListpackEntries) return 'table';
    for (const m of val.s) if (m.length > lim.setMaxListpackValue) return 'table';
    return 'pack';
  }
  if (val.t === 'hash') {
    if (val.m.size > lim.hashMaxListpackEntries) return 'table';
    for (const [f, v] of val.m) if (f.length > lim.hashMaxListpackValue || v.length > lim.hashMaxListpackValue) return 'table';
    return 'pack';
  }
  throw new Error('not a collection');
}

function cloneVal(val: MVal): MVal {
  if (val.t === 'hash') return { t: 'hash', m: new Map(val.m), enc: val.enc };
  if (val.t === 'set') return { t: 'set', s: new Set(val.s), enc: val.enc };
  return { t: 'string', v: val.v };
}

const ENC_OF: Record<Enc, number> = { intset: ENC_INTSET, pack: ENC_PACK, table: ENC_TABLE };
const TYPE_OF: Record<MVal['t'], ValueType> = { hash: TYPE_HASH, set: TYPE_SET, string: TYPE_STRING };

// ---------------------------------------------------------------------------------------------
// The system under test and the model, side by side

class World {
  ks: Keyspace;
  readonly model = new Map<string, MEntry>();
  now = T0;
  lazyFreed = 0;
  conversions = new Set<string>();

  constructor(readonly limits: CollectionLimits) {
    this.ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 20 }));
    this.setup();
  }

  private setup(): void {
    this.ks.limits = { ...this.limits };
    this.ks.now = this.now;
  }

  /** The model's live entry of key (an expired one is dropped, as find() deletes it). */
  live(key: string): MEntry | undefined {
    const m = this.model.get(key);
    if (m !== undefined && m.expireAt !== 0 && m.expireAt <= this.now) {
      this.model.delete(key);
      return undefined;
    }
    return m;
  }

  find(key: string): number {
    const k = bytes(key);
    return this.ks.find(k, 0, k.length);
  }

  noteEnc(before: Enc, after: Enc, what: string): void {
    if (before !== after) this.conversions.add(`${what} ${before}->${after}`);
  }

  /** An element write through the command path (create the key if absent; WRONGTYPE: nothing). */
  put(key: string, as: 'hash' | 'set', el: string, v: string): void {
    const ks = this.ks;
    const me = this.live(key);
    let e = this.find(key);
    assert.is(e !== 0, me !== undefined, `put ${key}: presence`);
    const kb = bytes(key);
    const eb = bytes(el);
    if (me === undefined) {
      if (as === 'hash') {
        e = C.createCollection(ks, kb, 0, kb.length, TYPE_HASH, ENC_PACK);
        this.model.set(key, { val: { t: 'hash', m: new Map(), enc: 'pack' }, expireAt: 0 });
      } else {
        const enc = C.newSetEncoding(ks, eb, 0, eb.length);
        e = C.createFor(ks, kb, 0, kb.length, TYPE_SET, enc);
        this.model.set(key, { val: { t: 'set', s: new Set(), enc: newSetEnc(el, this.limits) }, expireAt: 0 });
      }
    }
    const val = this.model.get(key)!.val;
    if (val.t === 'string') return;
    if (val.t === 'hash') {
      const vb = bytes(v);
      const enc = hashEncAfterPut(val.enc, val.m, el, v, this.limits);
      const wasNew = !val.m.has(el);
      e = C.elementPut(ks, e, eb, 0, eb.length, vb, 0, vb.length);
      assert.is(e, this.find(key), `hash put ${key}: the handle returned`);
      assert.is(C.added, wasNew, `hash put ${key} ${JSON.stringify(el)}: added`);
      this.noteEnc(val.enc, enc, 'hash');
      val.m.set(el, v);
      val.enc = enc;
    } else {
      const wasNew = !val.s.has(el);
      const enc = wasNew ? setEncAfterAdd(val.enc, val.s, el, this.limits) : val.enc;
      e = C.elementPut(ks, e, eb, 0, eb.length, null, 0, 0);
      assert.is(e, this.find(key), `set add ${key}: the handle returned`);
      assert.is(C.added, wasNew, `set add ${key} ${JSON.stringify(el)}: added`);
      this.noteEnc(val.enc, enc, 'set');
      val.s.add(el);
      val.enc = enc;
    }
  }

  /** A removal through the command path: an emptied key is deleted. */
  rem(key: string, el: string): void {
    const me = this.live(key);
    const e = this.find(key);
    assert.is(e !== 0, me !== undefined, `rem ${key}: presence`);
    if (me === undefined || me.val.t === 'string') return;
    const eb = bytes(el);
    const was = me.val.t === 'hash' ? me.val.m.delete(el) : me.val.s.delete(el);
    assert.is(C.elementRemove(this.ks, e, eb, 0, eb.length), was, `rem ${key} ${JSON.stringify(el)}`);
    assert.is(C.removedHandle, this.find(key), `rem ${key}: removedHandle`);
    if (was && (me.val.t === 'hash' ? me.val.m.size : me.val.s.size) === 0) {
      assert.is(this.ks.elementCount(C.removedHandle), 0, `rem ${key}: emptied`);
      this.ks.deleteEntry(C.removedHandle);
      this.model.delete(key);
    }
  }

  crash(): void {
    this.ks = new Keyspace(this.ks.memory);
    this.setup();
  }

  /** The whole keyspace against the model. */
  check(where: string): void {
    const ks = this.ks;
    let live = 0;
    for (const key of KEYS) {
      const me = this.live(key);
      const e = this.find(key);
      assert.is(e !== 0, me !== undefined, `${where}: ${key} present`);
      if (me === undefined) continue;
      live++;
      const val = me.val;
      assert.is(ks.type(e), TYPE_OF[val.t], `${where}: ${key} type`);
      assert.is(ks.expireAt(e), me.expireAt, `${where}: ${key} expire-at`);
      if (val.t === 'string') {
        assert.is(str(ks.bytes(), ks.valueOffset(e), ks.valueLength(e)), val.v, `${where}: ${key} string value`);
        continue;
      }
      const size = val.t === 'hash' ? val.m.size : val.s.size;
      assert.ok(size > 0, `${where}: model holds an empty collection ${key}`);
      assert.is(ks.elementCount(e), size, `${where}: ${key} count`);
      assert.is(ks.encoding(e), ENC_OF[val.enc], `${where}: ${key} encoding (model says ${val.enc})`);
      assert.is(C.encodingName(ks, e), val.enc === 'pack' ? 'listpack' : val.enc === 'table' ? 'hashtable' : 'intset');
      const got = new Map<string, string>();
      C.elementForEach(ks, e, (b, ko, kl, vo, vl) => {
        const f = str(b, ko, kl);
        assert.not.ok(got.has(f), `${where}: ${key} visits ${JSON.stringify(f)} twice`);
        got.set(f, val.t === 'hash' ? str(b, vo, vl) : '');
      });
      const want = val.t === 'hash' ? val.m : new Map([...val.s].map((m) => [m, ''] as const));
      assert.equal(sorted(got), sorted(want), `${where}: ${key} elements`);
      for (const [f, v] of want) {
        const fb = bytes(f);
        assert.ok(C.elementFind(ks, e, fb, 0, fb.length), `${where}: ${key} finds ${JSON.stringify(f)}`);
        if (val.t === 'hash') assert.is(str(ks.bytes(), C.hitOff, C.hitLen), v, `${where}: ${key} value of ${JSON.stringify(f)}`);
      }
    }
    assert.is(ks.size(), live, `${where}: key count`);
    ks.checkIntegrity();
  }
}

function sorted(m: Map<string, string>): Array<[string, string]> {
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Steps

function step(w: World, op: Op): void {
  const ks = w.ks;
  switch (op.k) {
    case 'put':
      w.put(op.key, op.as, op.el, op.v);
      return;
    case 'rem':
      w.rem(op.key, op.el);
      return;
    case 'find': {
      const me = w.live(op.key);
      const e = w.find(op.key);
      if (me === undefined || me.val.t === 'string') return;
      const eb = bytes(op.el);
      const has = me.val.t === 'hash' ? me.val.m.has(op.el) : me.val.s.has(op.el);
      assert.is(C.elementFind(ks, e, eb, 0, eb.length), has, `find ${op.key} ${JSON.stringify(op.el)}`);
      if (has && me.val.t === 'hash') assert.is(str(ks.bytes(), C.hitOff, C.hitLen), me.val.m.get(op.el));
      return;
    }
    case 'bulk':
      for (let i = 0; i < op.n; i++) {
        const n = op.from + i * 97;
        w.put(op.key, op.as, op.ints ? String(n) : `b${n}`, `w${i}`);
      }
      return;
    case 'bulkRem': {
      const me = w.live(op.key);
      if (me === undefined || me.val.t === 'string') return;
      const els = me.val.t === 'hash' ? [...me.val.m.keys()] : [...me.val.s];
      for (let i = 0; i < els.length; i += op.every) w.rem(op.key, els[i]!);
      return;
    }
    case 'scan':
      scan(w, op);
      return;
    case 'random': {
      const me = w.live(op.key);
      const e = w.find(op.key);
      if (me === undefined || me.val.t === 'string') return;
      for (let i = 0; i < op.times; i++) {
        C.randomElement(ks, e);
        const f = str(C.hitKeyBuf, C.hitKeyOff, C.hitKeyLen);
        if (me.val.t === 'hash') {
          assert.ok(me.val.m.has(f), `random ${op.key}: ${JSON.stringify(f)} is not a field`);
          assert.is(str(ks.bytes(), C.hitOff, C.hitLen), me.val.m.get(f));
        } else {
          assert.ok(me.val.s.has(f), `random ${op.key}: ${JSON.stringify(f)} is not a member`);
        }
      }
      return;
    }
    case 'copy': {
      // COPY / DUMP + RESTORE: the image copied out of the arena, then written to another key.
      const me = w.live(op.from);
      const e = w.find(op.from);
      if (me === undefined) return;
      const type = ks.type(e);
      const expireAt = ks.expireAt(e);
      ks.image(e);
      const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
      const lim = op.limits ?? w.limits;
      ks.limits = { ...lim };
      const to = bytes(op.to);
      ks.setImage(to, 0, to.length, type, img, 0, img.length, expireAt);
      ks.limits = { ...w.limits };
      const val = cloneVal(me.val);
      if (val.t !== 'string') val.enc = encAfterImage(me.val, lim);
      w.model.set(op.to, { val, expireAt });
      return;
    }
    case 'reload': {
      // A snapshot of every key, then a restart that loads it (maybe under other limits).
      const saved: Array<{ key: string; type: ValueType; img: Buffer; expireAt: number }> = [];
      for (const key of KEYS) {
        const e = w.find(key);
        if (e === 0) continue;
        ks.image(e);
        saved.push({ key, type: ks.type(e), img: Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen)), expireAt: ks.expireAt(e) });
      }
      ks.flush();
      w.crash();
      const lim = op.limits ?? w.limits;
      w.ks.limits = { ...lim };
      for (const s of saved) {
        const k = bytes(s.key);
        w.ks.setImage(k, 0, k.length, s.type, s.img, 0, s.img.length, s.expireAt);
        const me = w.live(s.key)!;
        if (me.val.t !== 'string') me.val.enc = encAfterImage(me.val, lim);
      }
      w.ks.limits = { ...w.limits };
      return;
    }
    case 'del': {
      const me = w.live(op.key);
      const e = w.find(op.key);
      if (me === undefined) return;
      ks.deleteEntry(e);
      w.model.delete(op.key);
      ks.checkIntegrity();
      for (const budget of op.budgets) {
        if (!ks.lazyFreeStep(budget)) break;
        w.lazyFreed++;
        ks.checkIntegrity();
      }
      return;
    }
    case 'str': {
      const k = bytes(op.key);
      const v = bytes(op.v);
      w.live(op.key);
      ks.set(k, 0, k.length, v, 0, v.length, TYPE_STRING, 0);
      w.model.set(op.key, { val: { t: 'string', v: op.v }, expireAt: 0 });
      return;
    }
    case 'expire': {
      const me = w.live(op.key);
      const e = w.find(op.key);
      if (me === undefined) return;
      const at = Math.max(1, w.now + op.deltaMs);
      ks.setExpireAt(e, at);
      me.expireAt = at;
      return;
    }
    case 'persist': {
      const me = w.live(op.key);
      const e = w.find(op.key);
      if (me === undefined) return;
      ks.setExpireAt(e, 0);
      me.expireAt = 0;
      return;
    }
    case 'tick':
      w.now += op.ms;
      ks.now = w.now;
      if (op.rehash) ks.rehashStep();
      if (op.active) {
        ks.activeExpireCycle(1);
        for (const key of KEYS) w.live(key);
      }
      return;
    case 'crash':
      w.crash();
      return;
  }
}

/** A SCAN of one key with writes between its steps: every element present for the whole scan is
 * seen at least once, and nothing is seen that was never there. */
function scan(w: World, op: Extract<Op, { k: 'scan' }>): void {
  const me = w.live(op.key);
  if (me === undefined || me.val.t === 'string') return;
  const val = me.val;
  const elements = (): string[] => (val.t === 'hash' ? [...val.m.keys()] : [...val.s]);
  const always = new Set(elements());
  const ever = new Set(always);
  const seen = new Set<string>();
  let cursor = 0;
  let muts = 0;
  let steps = 0;
  do {
    const e = w.find(op.key);
    cursor = C.elementScan(w.ks, e, cursor, op.count, (b, ko, kl) => {
      seen.add(str(b, ko, kl));
    });
    assert.ok(++steps < SCAN_STEPS_MAX, `scan ${op.key}: the cursor does not come back to 0`);
    const m = op.muts[muts++];
    if (cursor === 0 || m === undefined) continue;
    const as = val.t === 'hash' ? 'hash' : 'set';
    if (m.add) {
      w.put(op.key, as, m.el, m.v);
      ever.add(m.el);
      for (let i = 0; i < m.grow; i++) {
        const el = `g${muts}-${i}`;
        w.put(op.key, as, el, 'x');
        ever.add(el);
      }
    } else {
      // Never the last element: the key (and the scan) would go away.
      const victims = m.grow > 0 ? elements().slice(0, m.grow) : [m.el];
      for (const el of victims) {
        if ((val.t === 'hash' ? val.m.size : val.s.size) <= 1) break;
        w.rem(op.key, el);
        always.delete(el);
      }
    }
  } while (cursor !== 0);
  for (const el of always) assert.ok(seen.has(el), `scan ${op.key}: ${JSON.stringify(el)} was there all along but not returned`);
  for (const el of seen) assert.ok(ever.has(el), `scan ${op.key}: returned ${JSON.stringify(el)}, which was never there`);
}

function describe(op: Op): string {
  return JSON.stringify(op, (_k, v: unknown) => (Array.isArray(v) && v.length > 4 ? `[${v.length} items]` : v));
}

// ---------------------------------------------------------------------------------------------

test('hashes and sets against a model: conversions, scans, images, lazy free, expiry, crashes', () => {
  let runs = 0;
  let steps = 0;
  const conversions = new Set<string>();
  let lazy = 0;
  const prop = fc.property(limitsArb, fc.array(opArb, { minLength: 1, maxLength: MAX_COMMANDS, size: 'max' }), (limits, ops) => {
    runs++;
    const w = new World(limits);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      try {
        step(w, op);
        w.check(`after step ${i}`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`step ${i} ${describe(op)}: ${msg}`, { cause: err });
      }
      steps++;
    }
    // Whatever a last crash leaves must be whole.
    w.crash();
    w.check('after a final crash');
    while (w.ks.lazyFreeStep(50)) w.ks.checkIntegrity();
    for (const c of w.conversions) conversions.add(c);
    lazy += w.lazyFreed;
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
  console.log(`  (${runs} runs, ${steps} steps, ${lazy} partial lazy frees; conversions seen: ${[...conversions].sort().join(', ')})`);
  for (const c of ['hash pack->table', 'set intset->pack', 'set intset->table', 'set pack->table']) {
    assert.ok(conversions.has(c), `the runs never converted ${c}: widen the workload`);
  }
});

// ---------------------------------------------------------------------------------------------
// Regressions the model found, as plain cases

test('regression: a listpack hash reports a value with its own length, not its field\'s', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const k = bytes('h');
  let e = C.createCollection(ks, k, 0, k.length, TYPE_HASH, ENC_PACK);
  for (const [f, v] of [['0', ''], ['ab', 'xyz12'], ['long-field', 'v']] as const) {
    const fb = bytes(f);
    const vb = bytes(v);
    e = C.elementPut(ks, e, fb, 0, fb.length, vb, 0, vb.length);
  }
  assert.is(ks.encoding(e), ENC_PACK);
  for (const [f, v] of [['0', ''], ['ab', 'xyz12'], ['long-field', 'v']] as const) {
    const fb = bytes(f);
    assert.ok(C.elementFind(ks, e, fb, 0, fb.length));
    assert.is(str(ks.bytes(), C.hitOff, C.hitLen), v, `value of ${f}`);
  }
});

test('regression: memory accounting holds while a deleted large collection is half freed', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const before = ks.usedMemory();
  const k = bytes('s');
  let e = C.createFor(ks, k, 0, k.length, TYPE_SET, ENC_TABLE);
  for (let i = 0; i < 300; i++) {
    const m = bytes(`member-${i}`);
    e = C.elementPut(ks, e, m, 0, m.length, null, 0, 0);
  }
  ks.deleteEntry(e);
  ks.checkIntegrity();
  let steps = 0;
  while (ks.lazyFreeStep(50)) {
    steps++;
    ks.checkIntegrity();
  }
  assert.ok(steps >= 5, `freed in ${steps} steps`);
  ks.checkIntegrity();
  assert.is(ks.usedMemory(), before);
});

test.run();
