// Model-based test of the stream value (src/keyspace/stream.ts): random XADD / XDEL / XTRIM /
// XSETID / ranges against a plain array of entries, under small node limits drawn per run (so
// nodes fill, close, empty and go), with the stream's own invariant check and the keyspace's
// integrity check after every step, the image round trip (DUMP/RESTORE, the log, migration) and
// a shard restart (a new Keyspace on the same memory) among the steps.
// Seeded and replayable: MODEL_SEED, MODEL_PATH, MODEL_RUNS, MODEL_COMMANDS, MODEL_TIME_LIMIT_S.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { DEFAULT_COLLECTION_LIMITS, Keyspace, TYPE_STREAM, type CollectionLimits } from '../../src/keyspace/keyspace.js';
import { imageError } from '../../src/keyspace/image.js';
import * as S from '../../src/keyspace/stream.js';
import { sid, sidSet, type Sid } from '../../src/util/stream-id.js';
import type { ArgList } from '../../src/core/types.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1717);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 40);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 80);
const REPLAY_PATH = process.env['MODEL_PATH'];
const TIME_LIMIT_MS = Number(process.env['MODEL_TIME_LIMIT_S'] ?? 40) * 1000;

const M64 = (1n << 64n) - 1n;
const KEY = Buffer.from('stream');
const OTHER = Buffer.from('copy');

interface Entry {
  id: bigint; // ms << 64 | seq
  fields: string[];
}

function toSid(id: bigint, dst: Sid = sid()): Sid {
  const ms = id >> 64n;
  const seq = id & M64;
  sidSet(dst, Number(ms >> 32n), Number(ms & 0xffffffffn), Number(seq >> 32n), Number(seq & 0xffffffffn));
  return dst;
}

function fromSid(s: Sid): bigint {
  return (((BigInt(s[0]!) << 32n) | BigInt(s[1]!)) << 64n) | (BigInt(s[2]!) << 32n) | BigInt(s[3]!);
}

function argsOf(parts: string[]): ArgList {
  const bufs = parts.map((p) => Buffer.from(p));
  const buf = Buffer.concat(bufs);
  const off = new Int32Array(parts.length);
  const len = new Int32Array(parts.length);
  let p = 0;
  bufs.forEach((b, i) => {
    off[i] = p;
    len[i] = b.length;
    p += b.length;
  });
  return { buf, off, len, argc: parts.length };
}

type Op =
  | { t: 'add'; msGap: bigint; seq: bigint; fields: string[] }
  | { t: 'del'; pick: number; missing: boolean }
  | { t: 'trim'; maxlen: boolean; n: number; approx: boolean; limit: number }
  | { t: 'range'; a: number; b: number; rev: boolean; count: number }
  | { t: 'setid'; gap: bigint }
  | { t: 'image' }
  | { t: 'crash' }
  | { t: 'drop' };

/** Values: text, and integers that are kept as numbers or must stay text (sign, leading zero, 16 digits). */
const valueArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.nat().map(String),
  fc.constantFrom('0', '00', '007', '-5', '+5', '999999999999999', '1000000000000000', '9007199254740993', ''),
);
const FIELD_SETS = [['f1', 'f2', 'f3'], ['f1', 'f2'], ['other'], ['f1', 'f2', 'f3', 'f4']];
const fieldsArb = fc.tuple(fc.nat(FIELD_SETS.length - 1), fc.array(valueArb, { minLength: 4, maxLength: 4 })).map(([k, vals]) =>
  FIELD_SETS[k]!.flatMap((f, i) => [f, vals[i]!]),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('add' as const), msGap: fc.oneof(fc.constant(0n), fc.bigInt(1n, 5n), fc.bigInt(1n << 30n, 1n << 40n)), seq: fc.oneof(fc.bigInt(0n, 3n), fc.constant(M64 - 1n)), fields: fieldsArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), pick: fc.nat(1000), missing: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('trim' as const), maxlen: fc.boolean(), n: fc.nat(60), approx: fc.boolean(), limit: fc.oneof(fc.constant(0), fc.nat(20)) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('range' as const), a: fc.nat(1000), b: fc.nat(1000), rev: fc.boolean(), count: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('setid' as const), gap: fc.bigInt(0n, 3n) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'image' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'drop' as const }) },
);
const limitsArb = fc.record({ streamNodeMaxEntries: fc.constantFrom(0, 1, 3, 7, 100), streamNodeMaxBytes: fc.constantFrom(0, 48, 120, 4096) });

class World {
  ks: Keyspace;
  e = 0;
  entries: Entry[] = [];
  last = 0n;
  maxDel = 0n;
  added = 0;

  constructor(lim: Pick<CollectionLimits, 'streamNodeMaxEntries' | 'streamNodeMaxBytes'>) {
    this.ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 16 }));
    this.ks.limits = { ...DEFAULT_COLLECTION_LIMITS, ...lim };
  }

  stream(): number {
    if (this.e === 0 || this.ks.find(KEY, 0, KEY.length) === 0) {
      this.e = S.streamCreate(this.ks, KEY, 0, KEY.length);
      this.entries = [];
      this.last = 0n;
      this.maxDel = 0n;
      this.added = 0;
    }
    return this.e;
  }

  read(e: number, lo: bigint, hi: bigint, rev: boolean, count: number): Entry[] {
    S.streamIter(this.ks, e, toSid(lo), toSid(hi), rev);
    const got: Entry[] = [];
    while ((count === 0 || got.length < count) && S.streamNext()) {
      const fields: string[] = [];
      for (let i = 0; i < S.itFields; i++) {
        S.itField(i);
        fields.push(Buffer.from(S.fBuf.subarray(S.fOff, S.fOff + S.fLen)).toString());
        S.itValue(i);
        fields.push(Buffer.from(S.fBuf.subarray(S.fOff, S.fOff + S.fLen)).toString());
      }
      got.push({ id: fromSid(S.itId), fields });
    }
    return got;
  }

  check(): void {
    this.ks.checkIntegrity();
    if (this.e === 0) return;
    const e = this.e;
    S.streamCheck(this.ks, e);
    assert.is(S.streamLength(this.ks, e), this.entries.length);
    assert.equal(this.read(e, 0n, (M64 << 64n) | M64, false, 0), this.entries);
    const last = sid();
    S.streamLastId(this.ks, e, last);
    assert.is(fromSid(last), this.last);
    S.streamMaxDeletedId(this.ks, e, last);
    assert.is(fromSid(last), this.maxDel);
    assert.is(S.streamEntriesAdded(this.ks, e), this.added);
    const first = sid();
    const has = S.streamFirstId(this.ks, e, first);
    assert.is(has, this.entries.length > 0);
    if (has) assert.is(fromSid(first), this.entries[0]!.id);
  }
}

function idAt(w: World, pick: number): bigint {
  if (w.entries.length === 0) return BigInt(pick);
  return w.entries[pick % w.entries.length]!.id;
}

function run(w: World, op: Op): void {
  switch (op.t) {
    case 'add': {
      const e = w.stream();
      let ms = (w.last >> 64n) + op.msGap;
      if (ms > M64) ms = M64;
      let id = (ms << 64n) | op.seq;
      if (id <= w.last) {
        if (w.last === ((M64 << 64n) | M64)) return;
        id = w.last + 1n;
      }
      const a = argsOf(op.fields);
      S.streamAppend(w.ks, e, toSid(id), a, 0, op.fields.length / 2);
      w.entries.push({ id, fields: op.fields });
      w.last = id;
      w.added++;
      break;
    }
    case 'del': {
      if (w.e === 0) return;
      const id = op.missing ? idAt(w, op.pick) + 1n : idAt(w, op.pick);
      const i = w.entries.findIndex((x) => x.id === id);
      assert.is(S.streamDelete(w.ks, w.e, toSid(id)), i >= 0);
      if (i >= 0) {
        w.entries.splice(i, 1);
        if (id > w.maxDel) w.maxDel = id;
      }
      break;
    }
    case 'trim': {
      if (w.e === 0) return;
      const minid = idAt(w, op.n);
      const before = w.entries.length;
      const n = S.streamTrim(w.ks, w.e, op.maxlen ? S.TRIM_MAXLEN : S.TRIM_MINID, op.n, toSid(minid), op.approx, op.approx ? op.limit : 0);
      if (!op.approx) {
        const keep = op.maxlen ? w.entries.slice(Math.max(0, before - op.n)) : w.entries.filter((x) => x.id >= minid);
        assert.is(n, before - keep.length);
        w.entries = keep;
      } else {
        // Whole nodes only: a prefix goes, never below the target, never more than the limit.
        const rest = w.read(w.e, 0n, (M64 << 64n) | M64, false, 0);
        assert.equal(rest, w.entries.slice(before - rest.length));
        assert.is(n, before - rest.length);
        if (op.maxlen) assert.ok(rest.length >= Math.min(op.n, before));
        else assert.ok(w.entries.slice(0, before - rest.length).every((x) => x.id < minid), 'MINID ~ removed an entry at or past the id');
        if (op.limit > 0) assert.ok(n <= op.limit);
        w.entries = rest;
      }
      break;
    }
    case 'range': {
      if (w.e === 0) return;
      let lo = idAt(w, op.a);
      let hi = idAt(w, op.b);
      if (lo > hi) [lo, hi] = [hi, lo];
      let want = w.entries.filter((x) => x.id >= lo && x.id <= hi);
      if (op.rev) want = want.reverse();
      if (op.count > 0) want = want.slice(0, op.count);
      assert.equal(w.read(w.e, lo, hi, op.rev, op.count), want);
      if (w.entries.length > 0) {
        const one = w.entries[op.a % w.entries.length]!;
        assert.ok(S.streamHas(w.ks, w.e, toSid(one.id)));
        assert.is(fromSid(S.itId), one.id);
        assert.not.ok(S.streamHas(w.ks, w.e, toSid(w.last + 1n)));
      }
      break;
    }
    case 'setid': {
      if (w.e === 0) return;
      const last = w.last + op.gap;
      S.streamSetMeta(w.ks, w.e, toSid(last), w.added + 1, null);
      w.last = last;
      w.added++;
      break;
    }
    case 'image': {
      if (w.e === 0) return;
      const ks = w.ks;
      ks.image(w.e);
      const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
      assert.is(imageError(TYPE_STREAM, img, 0, img.length), null);
      assert.ok(imageError(TYPE_STREAM, img, 0, img.length - 1) !== null);
      ks.delete(OTHER, 0, OTHER.length);
      const copy = ks.setImage(OTHER, 0, OTHER.length, TYPE_STREAM, img, 0, img.length, 0);
      S.streamCheck(ks, copy);
      assert.equal(w.read(copy, 0n, (M64 << 64n) | M64, false, 0), w.entries);
      ks.image(copy);
      assert.ok(Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen)).equals(img), 'image of the copy');
      // The copy replaces the stream (RESTORE REPLACE).
      ks.delete(KEY, 0, KEY.length);
      w.e = ks.setImage(KEY, 0, KEY.length, TYPE_STREAM, img, 0, img.length, 0);
      ks.delete(OTHER, 0, OTHER.length);
      break;
    }
    case 'crash': {
      const limits = w.ks.limits;
      w.ks = new Keyspace(w.ks.memory);
      w.ks.limits = limits;
      if (w.e !== 0) w.e = w.ks.find(KEY, 0, KEY.length);
      break;
    }
    case 'drop': {
      w.ks.delete(KEY, 0, KEY.length);
      while (w.ks.lazyFreeStep(7)) w.ks.checkIntegrity();
      w.e = 0;
      w.entries = [];
      break;
    }
  }
}

test('streams follow the model through appends, deletes, trims, images, restarts and frees', () => {
  let runs = 0;
  let steps = 0;
  const prop = fc.property(limitsArb, fc.array(opArb, { maxLength: MAX_COMMANDS, size: 'max' }), (lim, ops) => {
    runs++;
    const w = new World(lim);
    for (const op of ops) {
      run(w, op);
      steps++;
      w.check();
    }
    w.ks.delete(KEY, 0, KEY.length);
    while (w.ks.lazyFreeStep()) {}
    w.ks.checkIntegrity();
  });
  const params: fc.Parameters<[typeof limitsArb extends fc.Arbitrary<infer L> ? L : never, Op[]]> = {
    seed: SEED,
    numRuns: RUNS,
    ...(REPLAY_PATH !== undefined ? { path: REPLAY_PATH } : {}),
    interruptAfterTimeLimit: TIME_LIMIT_MS,
  };
  fc.assert(prop, params);
  assert.ok(runs > 0 && steps > 0);
});

test('a 2000-entry stream: node boundaries under the default limits, reverse ranges across nodes', () => {
  const w = new World({ streamNodeMaxEntries: 100, streamNodeMaxBytes: 4096 });
  for (let i = 1; i <= 2000; i++) run(w, { t: 'add', msGap: 1n, seq: 0n, fields: ['a', String(i), 'b', 'x'] });
  w.check();
  const e = w.stream();
  assert.is(S.streamNodes(w.ks, e), 20);
  const got = w.read(e, (150n << 64n), (1450n << 64n), true, 0);
  assert.is(got.length, 1301);
  assert.is(got[0]!.id, 1450n << 64n);
  assert.is(S.streamTrim(w.ks, e, S.TRIM_MAXLEN, 1950, sid(), true, 0), 0);
  assert.is(S.streamTrim(w.ks, e, S.TRIM_MAXLEN, 1850, sid(), true, 0), 100);
  assert.is(S.streamNodes(w.ks, e), 19);
});

test.run();
