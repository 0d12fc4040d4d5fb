// Model-based test of lists in the keyspace (src/keyspace/list.ts on Keyspace): random sequences
// of every list operation (push and pop at both ends, index, set, insert, remove, trim, range
// both ways), bulk pushes, image round trips (COPY / DUMP-RESTORE, also under other limits),
// deletes of large lists with the lazy free after them, and crashes (a new Keyspace on the same
// memory), against plain arrays. Small fills (1..4 elements per node, or 4 KiB) and compress depths
// 0..2 make every conversion happen (listpack -> quicklist -> listpack, node splits, compressed
// interior nodes). After every step each list is compared with the model, its structure checked
// (listCheck) and the whole keyspace checked (checkIntegrity: memory accounting, lazy-free queue).
// Seeded and replayable: MODEL_SEED, MODEL_PATH, MODEL_RUNS, MODEL_COMMANDS.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { DEFAULT_COLLECTION_LIMITS, Keyspace, TYPE_LIST, type CollectionLimits } from '../../src/keyspace/keyspace.js';
import * as L from '../../src/keyspace/list.js';
import { imageError } from '../../src/keyspace/image.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1515);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 60);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 80);
const REPLAY_PATH = process.env['MODEL_PATH'];

const KEYS = ['l0', 'l1', 'l2'] as const;
const WORDS = ['a', 'b', 'c', 'hello', '', 'x'.repeat(40), 'y'.repeat(130), 'z'.repeat(700), '\u0000\u00ff'];
const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }).map((a) => String.fromCharCode(...a));
const elArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...WORDS) }, { weight: 2, arbitrary: latin1 }, { weight: 1, arbitrary: fc.constantFrom('w'.repeat(5000), 'v'.repeat(17000)) });
const keyArb = fc.constantFrom(...KEYS);
const whereArb = fc.constantFrom(0 as const, 1 as const);
const idxArb = fc.integer({ min: -40, max: 40 });

const limitsArb: fc.Arbitrary<CollectionLimits> = fc.record({
  listMaxListpackSize: fc.constantFrom(1, 2, 3, 4, -1),
  listCompressDepth: fc.constantFrom(0, 1, 2),
}).map((l) => ({ ...DEFAULT_COLLECTION_LIMITS, ...l }));

type Op =
  | { k: 'push'; key: string; where: 0 | 1; el: string }
  | { k: 'bulk'; key: string; where: 0 | 1; n: number; size: number }
  | { k: 'pop'; key: string; where: 0 | 1; times: number }
  | { k: 'index'; key: string; i: number }
  | { k: 'set'; key: string; i: number; el: string }
  | { k: 'insert'; key: string; after: boolean; pivotAt: number; pivot: string; el: string }
  | { k: 'remove'; key: string; n: number; el: string; pick: number }
  | { k: 'trim'; key: string; start: number; stop: number }
  | { k: 'range'; key: string; start: number; stop: number; reverse: boolean; limit: number }
  | { k: 'copy'; from: string; to: string; limits: CollectionLimits | null }
  | { k: 'del'; key: string; budgets: number[] }
  | { k: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ k: fc.constant('push' as const), key: keyArb, where: whereArb, el: elArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('bulk' as const), key: keyArb, where: whereArb, n: fc.integer({ min: 1, max: 300 }), size: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('pop' as const), key: keyArb, where: whereArb, times: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('index' as const), key: keyArb, i: idxArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('set' as const), key: keyArb, i: idxArb, el: elArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('insert' as const), key: keyArb, after: fc.boolean(), pivotAt: idxArb, pivot: elArb, el: elArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('remove' as const), key: keyArb, n: fc.integer({ min: -3, max: 3 }), el: elArb, pick: idxArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('trim' as const), key: keyArb, start: fc.integer({ min: -50, max: 50 }), stop: fc.integer({ min: -50, max: 50 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('range' as const), key: keyArb, start: idxArb, stop: idxArb, reverse: fc.boolean(), limit: fc.integer({ min: 1, max: 1000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('copy' as const), from: keyArb, to: keyArb, limits: fc.option(limitsArb, { freq: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('del' as const), key: keyArb, budgets: fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'crash' as const }) },
);

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (b: Uint8Array, off: number, len: number): string => Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1');

/** Redis's LRANGE/LTRIM normalization: [start, stop] clipped to the list, or null when empty. */
function clip(start: number, stop: number, n: number): [number, number] | null {
  if (start < 0) start = Math.max(0, n + start);
  if (stop < 0) stop = n + stop;
  if (stop >= n) stop = n - 1;
  if (start > stop || start >= n) return null;
  return [start, stop];
}

class World {
  ks: Keyspace;
  readonly model = new Map<string, string[]>();
  readonly seen = new Set<string>();

  constructor(readonly limits: CollectionLimits) {
    this.ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 20 }));
    this.ks.limits = { ...limits };
  }

  find(key: string): number {
    const k = bytes(key);
    return this.ks.find(k, 0, k.length);
  }

  /** The key's handle, created as an empty list when absent (the caller pushes at once). */
  findOrCreate(key: string): number {
    const e = this.find(key);
    if (e !== 0) return e;
    const k = bytes(key);
    return L.listCreate(this.ks, k, 0, k.length);
  }

  /** Deletes the key when the operation emptied it (the command's duty). */
  settle(key: string, e: number): void {
    if (e !== 0 && L.listLength(this.ks, e) === 0) this.ks.deleteEntry(e);
    const m = this.model.get(key);
    if (m !== undefined && m.length === 0) this.model.delete(key);
  }

  step(op: Op): void {
    const ks = this.ks;
    switch (op.k) {
      case 'push': {
        const m = this.model.get(op.key) ?? [];
        this.model.set(op.key, m);
        const v = bytes(op.el);
        L.listPush(ks, this.findOrCreate(op.key), op.where, v, 0, v.length);
        if (op.where === 0) m.unshift(op.el);
        else m.push(op.el);
        break;
      }
      case 'bulk': {
        const m = this.model.get(op.key) ?? [];
        this.model.set(op.key, m);
        let e = this.findOrCreate(op.key);
        for (let i = 0; i < op.n; i++) {
          const s = `${i % 10}`.repeat(op.size) + String(i);
          const v = bytes(s);
          e = L.listPush(ks, e, op.where, v, 0, v.length);
          if (op.where === 0) m.unshift(s);
          else m.push(s);
        }
        break;
      }
      case 'pop': {
        const m = this.model.get(op.key);
        let e = this.find(op.key);
        assert.is(e !== 0, m !== undefined);
        if (m === undefined) break;
        for (let t = 0; t < op.times && m.length > 0; t++) {
          e = L.listPop(ks, e, op.where);
          const want = op.where === 0 ? m.shift() : m.pop();
          assert.is(str(L.hitBuf, L.hitOff, L.hitLen), want);
        }
        this.settle(op.key, e);
        break;
      }
      case 'index': {
        const m = this.model.get(op.key);
        const e = this.find(op.key);
        if (m === undefined) break;
        const i = op.i < 0 ? m.length + op.i : op.i;
        const found = L.listIndex(ks, e, op.i);
        assert.is(found, i >= 0 && i < m.length);
        if (found) assert.is(str(L.hitBuf, L.hitOff, L.hitLen), m[i]);
        break;
      }
      case 'set': {
        const m = this.model.get(op.key);
        const e = this.find(op.key);
        if (m === undefined) break;
        const i = op.i < 0 ? m.length + op.i : op.i;
        const v = bytes(op.el);
        const r = L.listSet(ks, e, op.i, v, 0, v.length);
        assert.is(r === -1, !(i >= 0 && i < m.length));
        if (r !== -1) m[i] = op.el;
        break;
      }
      case 'insert': {
        const m = this.model.get(op.key);
        const e = this.find(op.key);
        if (m === undefined) break;
        // A pivot taken from the list most of the time, else any element.
        const at = op.pivotAt < 0 ? m.length + op.pivotAt : op.pivotAt;
        const pivot = at >= 0 && at < m.length ? m[at]! : op.pivot;
        const pv = bytes(pivot);
        const v = bytes(op.el);
        L.listInsert(ks, e, op.after, pv, 0, pv.length, v, 0, v.length);
        const j = m.indexOf(pivot);
        if (j < 0) assert.is(L.count, -1);
        else {
          m.splice(op.after ? j + 1 : j, 0, op.el);
          assert.is(L.count, m.length);
        }
        break;
      }
      case 'remove': {
        const m = this.model.get(op.key);
        const e = this.find(op.key);
        if (m === undefined) break;
        const at = op.pick < 0 ? m.length + op.pick : op.pick;
        const el = at >= 0 && at < m.length ? m[at]! : op.el;
        const v = bytes(el);
        const r = L.listRemove(ks, e, op.n, v, 0, v.length);
        let removed = 0;
        const max = Math.abs(op.n);
        if (op.n >= 0) {
          for (let i = 0; i < m.length; ) {
            if (m[i] === el && (max === 0 || removed < max)) {
              m.splice(i, 1);
              removed++;
            } else i++;
          }
        } else {
          for (let i = m.length - 1; i >= 0; i--) {
            if (m[i] === el && removed < max) {
              m.splice(i, 1);
              removed++;
            }
          }
        }
        assert.is(L.count, removed);
        this.settle(op.key, r);
        break;
      }
      case 'trim': {
        const m = this.model.get(op.key);
        const e = this.find(op.key);
        if (m === undefined) break;
        const r = clip(op.start, op.stop, m.length);
        if (r === null) {
          ks.deleteEntry(e);
          this.model.delete(op.key);
          break;
        }
        L.listTrim(ks, e, r[0], r[1]);
        this.model.set(op.key, m.slice(r[0], r[1] + 1));
        break;
      }
      case 'range': {
        const m = this.model.get(op.key);
        const e = this.find(op.key);
        if (m === undefined) break;
        const r = clip(op.start, op.stop, m.length);
        if (r === null) break;
        const got: string[] = [];
        L.listRange(ks, e, r[0], r[1], op.reverse, (b, o, l, i) => {
          got.push(str(b, o, l));
          assert.is(i, op.reverse ? r[1] - got.length + 1 : r[0] + got.length - 1);
          return got.length < op.limit;
        });
        let want = m.slice(r[0], r[1] + 1);
        if (op.reverse) want = want.reverse();
        assert.equal(got, want.slice(0, op.limit));
        break;
      }
      case 'copy': {
        const e = this.find(op.from);
        const m = this.model.get(op.from);
        if (m === undefined) break;
        ks.image(e);
        const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
        assert.is(imageError(TYPE_LIST, img, 0, img.length), null);
        if (op.limits !== null) ks.limits = { ...op.limits };
        const k = bytes(op.to);
        ks.setImage(k, 0, k.length, TYPE_LIST, img, 0, img.length, 0);
        ks.limits = { ...this.limits };
        this.model.set(op.to, [...m]);
        break;
      }
      case 'del': {
        const e = this.find(op.key);
        if (e === 0) break;
        ks.deleteEntry(e);
        this.model.delete(op.key);
        for (const b of op.budgets) ks.lazyFreeStep(b);
        break;
      }
      case 'crash': {
        this.ks = new Keyspace(this.ks.memory);
        this.ks.limits = { ...this.limits };
        break;
      }
    }
  }

  check(): void {
    const ks = this.ks;
    for (const key of KEYS) {
      const m = this.model.get(key);
      const e = this.find(key);
      assert.is(e !== 0, m !== undefined, `${key} present`);
      if (m === undefined) continue;
      L.listCheck(ks, e);
      assert.is(L.listLength(ks, e), m.length, `${key} length`);
      const got: string[] = [];
      L.listRange(ks, e, 0, m.length - 1, false, (b, o, l) => {
        got.push(str(b, o, l));
        return true;
      });
      assert.equal(got, m, `${key} elements`);
      this.seen.add(L.listEncodingName(ks, e));
    }
    ks.checkIntegrity();
  }
}

test('lists behave as arrays across every operation, conversion, compression, copy and crash', () => {
  const encodings = new Set<string>();
  fc.assert(
    fc.property(limitsArb, fc.array(opArb, { maxLength: MAX_COMMANDS }), (limits, ops) => {
      const w = new World(limits);
      for (const op of ops) {
        w.step(op);
        w.check();
      }
      // Everything freed in the end: delete every key and drain the lazy-free queue.
      for (const key of KEYS) {
        const e = w.find(key);
        if (e !== 0) w.ks.deleteEntry(e);
      }
      while (w.ks.lazyFreeStep()) { /* drain */ }
      w.ks.checkIntegrity();
      for (const s of w.seen) encodings.add(s);
    }),
    { seed: SEED, numRuns: RUNS, ...(REPLAY_PATH !== undefined ? { path: REPLAY_PATH } : {}) },
  );
  assert.ok(encodings.has('listpack') && encodings.has('quicklist'), `both encodings seen: ${[...encodings].join(',')}`);
});

test('a quicklist under compression keeps interior nodes compressed and survives a crash', () => {
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 20 }));
  ks.limits = { ...DEFAULT_COLLECTION_LIMITS, listMaxListpackSize: -1, listCompressDepth: 1 };
  const k = bytes('big');
  let e = L.listCreate(ks, k, 0, k.length);
  const model: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const s = `element-${i}-${'q'.repeat(i % 30)}`;
    const v = bytes(s);
    e = L.listPush(ks, e, i % 3 === 0 ? 0 : 1, v, 0, v.length);
    if (i % 3 === 0) model.unshift(s);
    else model.push(s);
  }
  assert.is(L.listEncodingName(ks, e), 'quicklist');
  L.listCheck(ks, e);
  // Compressed: the list's arena bytes are well below its raw size.
  let raw = 0;
  for (const s of model) raw += s.length + 2;
  assert.ok(ks.childBytes(e) < raw * 0.6, `compressed ${ks.childBytes(e)} of ${raw}`);
  const mid = bytes('MIDDLE');
  e = L.listSet(ks, e, 2500, mid, 0, mid.length);
  model[2500] = 'MIDDLE';
  assert.ok(L.listIndex(ks, e, 2500));
  assert.is(str(L.hitBuf, L.hitOff, L.hitLen), 'MIDDLE');
  const again = new Keyspace(ks.memory);
  again.limits = ks.limits;
  const e2 = again.find(k, 0, k.length);
  L.listCheck(again, e2);
  const got: string[] = [];
  L.listRange(again, e2, 0, model.length - 1, false, (b, o, l) => (got.push(str(b, o, l)), true));
  assert.equal(got, model);
  again.checkIntegrity();
});

test('a bad list image is refused', () => {
  assert.ok(imageError(TYPE_LIST, Buffer.from([1, 0, 0, 0, 0]), 0, 5) !== null);
  assert.ok(imageError(TYPE_LIST, Buffer.from([1, 2, 0, 0, 0, 1, 97]), 0, 7) !== null);
  assert.ok(imageError(TYPE_LIST, Buffer.from([4, 1, 0, 0, 0]), 0, 5) !== null);
  assert.is(imageError(TYPE_LIST, Buffer.from([1, 1, 0, 0, 0, 1, 97]), 0, 7), null);
});

test.run();
