// The 24-byte entry and what lives outside it: a TTL's record index in the block's last word and
// memcached flags in the word in front of it (each only when present), the length of a long key
// in front of its bytes, the CAS kept as the low 32 bits of the shard counter. Each test checks the entry against a plain model and runs checkIntegrity().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyspace, TYPE_STRING } from '../../src/keyspace/keyspace.js';
import { CLASS_SIZE, F_CAS, F_COUNT, flagsWord, H_VERSION, KLEN_LONG, SMALL_MAX, volWord } from '../../src/keyspace/layout.js';
import { keySlot } from '../../src/keyspace/slot.js';
import { b, del, fresh, get, handle, put, rng, valueOf } from './helpers.js';

const TWO_32 = 2 ** 32;

function setWithFlags(ks: Keyspace, key: string | Uint8Array, value: string, flags: number): number {
  const k = typeof key === 'string' ? b(key) : key;
  const v = b(value);
  return ks.set(k, 0, k.length, v, 0, v.length, TYPE_STRING, 0, flags);
}

/** Moves the shard's CAS counter, as 2^32 writes would (tests only). */
function setCounter(mem: SharedArrayBuffer, value: number): void {
  new Float64Array(mem, 0, F_COUNT)[F_CAS] = value;
}

test('flags: kept through in-place and moving overwrites, appends and shrinks; 0 takes no space', () => {
  const ks = fresh();
  let e = setWithFlags(ks, 'f', 'abc', 0xffffffff);
  assert.is(ks.flags(e), 0xffffffff);
  assert.is(ks.entryBytes(e), 32); // 24 + 1 + 3 + the flags word
  e = setWithFlags(ks, 'f', 'x'.repeat(200), 12345); // moves to a larger block
  assert.is(ks.flags(e), 12345);
  assert.is(get(ks, 'f'), 'x'.repeat(200));
  const cas = ks.cas(e);
  e = ks.resizeValue(e, 5000); // moves again, as APPEND does
  assert.is(ks.flags(e), 12345);
  assert.ok(ks.cas(e) > cas);
  assert.is(valueOf(ks, e).slice(0, 200), 'x'.repeat(200));
  e = ks.resizeValue(e, 3); // shrinks into a small block
  assert.is(ks.flags(e), 12345);
  assert.is(get(ks, 'f'), 'xxx');
  ks.checkIntegrity();
  // setFlags on a block with no room for the word moves the entry, keeping key, value and CAS.
  const g0 = put(ks, 'g', 'v'.repeat(11)); // 24 + 1 + 11 = 36 -> 40: 4 bytes left
  assert.is(ks.entryBytes(g0), 40);
  const g1 = put(ks, 'h', 'v'.repeat(15)); // 24 + 1 + 15 = 40 -> 40: full
  const casH = ks.cas(g1);
  const g0b = ks.setFlags(g0, 1);
  assert.is(g0b, g0, 'the word fits in the slack: no move');
  const g1b = ks.setFlags(g1, 2);
  assert.is.not(g1b, g1);
  assert.is(ks.entryBytes(g1b), 48);
  assert.is(handle(ks, 'h'), g1b);
  assert.is(get(ks, 'h'), 'v'.repeat(15));
  assert.is(ks.cas(g1b), casH);
  assert.is(ks.flags(g1b), 2);
  assert.is(ks.flags(handle(ks, 'g')), 1);
  assert.is(ks.setFlags(g1b, 0), g1b);
  assert.is(ks.flags(g1b), 0);
  // A RESP-style write (no flags) resets them.
  assert.is(ks.flags(put(ks, 'g', 'new')), 0);
  ks.checkIntegrity();
});

test('flags and CAS survive a second Keyspace on the same memory (crash/restart)', () => {
  const mem = Keyspace.createMemory();
  const first = new Keyspace(mem);
  const seen = new Map<string, [number, number]>();
  for (let i = 0; i < 3000; i++) {
    const e = setWithFlags(first, `k${i}`, `value:${i}`, i % 3 === 0 ? 0 : i * 7919);
    seen.set(`k${i}`, [first.flags(e), first.cas(e)]);
  }
  const second = new Keyspace(mem);
  second.checkIntegrity();
  for (const [k, [flags, cas]] of seen) {
    const e = handle(second, k);
    assert.is(second.flags(e), flags);
    assert.is(second.cas(e), cas);
  }
  assert.is(second.cas(put(second, 'k1', 'again')), 3001);
});

test('long keys (65535 bytes and more) carry their length in front of their bytes', () => {
  const ks = fresh();
  const mk = (len: number, fill: number): Uint8Array => new Uint8Array(len).fill(fill);
  const lens = [KLEN_LONG - 1, KLEN_LONG, KLEN_LONG + 1, 100_000];
  for (const len of lens) {
    const k = mk(len, 0x61);
    const e = setWithFlags(ks, k, `v${len}`, len);
    assert.is(ks.keyLength(e), len);
    assert.ok(ks.entryBytes(e) >= 24 + (len >= KLEN_LONG ? 4 : 0) + len + `v${len}`.length + 4);
    assert.is(ks.slotOf(e), keySlot(k, 0, len));
  }
  // Keys that are prefixes of one another stay distinct (the stored length is compared first).
  for (const len of lens) {
    const k = mk(len, 0x61);
    const e = ks.find(k, 0, len);
    assert.ok(e !== 0, `key of ${len} bytes`);
    assert.is(valueOf(ks, e), `v${len}`);
    assert.is(ks.flags(e), len);
    const ko = ks.keyOffset(e);
    assert.ok(ks.bytes().subarray(ko, ko + len).every((x) => x === 0x61));
  }
  assert.is(ks.find(mk(KLEN_LONG + 2, 0x61), 0, KLEN_LONG + 2), 0);
  // Growing the value of a long key moves it; the key stays findable and intact.
  let e = ks.find(mk(KLEN_LONG, 0x61), 0, KLEN_LONG);
  e = ks.resizeValue(e, 70_000);
  assert.is(ks.find(mk(KLEN_LONG, 0x61), 0, KLEN_LONG), e);
  assert.is(ks.flags(e), KLEN_LONG);
  ks.checkIntegrity();
  for (const len of lens) assert.ok(ks.delete(mk(len, 0x61), 0, len));
  assert.is(ks.size(), 0);
  ks.checkIntegrity();
});

test('CAS across the 2^32 boundary of the counter: exact, increasing, never 0', () => {
  const mem = Keyspace.createMemory();
  const ks = new Keyspace(mem);
  setCounter(mem, TWO_32 - 3);
  const cas: number[] = [];
  for (let i = 0; i < 6; i++) cas.push(ks.cas(put(ks, 'a', String(i))));
  assert.equal(cas, [TWO_32 - 2, TWO_32 - 1, TWO_32, TWO_32 + 1, TWO_32 + 2, TWO_32 + 3]);
  setCounter(mem, 3 * TWO_32 - 1);
  const e = put(ks, 'z', 'low bits 0'); // counter 3 * 2^32: its low word is 0
  assert.is(ks.cas(e), 3 * TWO_32);
  assert.is(new Keyspace(mem).cas(handle(ks, 'z')), 3 * TWO_32);
});

test('CAS of an entry not written for 2^32 writes: larger than any CAS it had, so compares fail', () => {
  const mem = Keyspace.createMemory();
  const ks = new Keyspace(mem);
  const old = ks.cas(put(ks, 'stale', 'v'));
  const other = ks.cas(put(ks, 'other', 'v'));
  setCounter(mem, old + TWO_32 + 5); // as if 2^32 + 4 writes went to other keys since
  const drifted = ks.cas(handle(ks, 'stale'));
  assert.ok(drifted > old && drifted > other, `${drifted} vs ${old}`);
  assert.ok(drifted <= old + TWO_32 + 5);
  const rewritten = ks.cas(put(ks, 'stale', 'w'));
  assert.ok(rewritten > drifted);
});

test('CAS after delete and re-create, and after flush, differs from every earlier one', () => {
  const ks = fresh();
  const before = ks.cas(put(ks, 'k', 'v'));
  assert.ok(del(ks, 'k'));
  const again = ks.cas(put(ks, 'k', 'v'));
  assert.ok(again > before);
  ks.flush();
  assert.ok(ks.cas(put(ks, 'k', 'v')) > again);
});

test('random writes against a model: values, flags, CAS unique and increasing per key', () => {
  const ks = fresh();
  const r = rng(42);
  const model = new Map<string, { value: string; flags: number; cas: number }>();
  const everCas = new Set<number>();
  for (let step = 0; step < 20_000; step++) {
    const key = `k${Math.floor(r() * 300)}`;
    const op = r();
    const cur = model.get(key);
    let e = 0;
    if (op < 0.45) {
      const flags = r() < 0.5 ? 0 : Math.floor(r() * TWO_32);
      const value = 'x'.repeat(Math.floor(r() * 120));
      e = setWithFlags(ks, key, value, flags);
      model.set(key, { value, flags, cas: ks.cas(e) });
    } else if (op < 0.65 && cur !== undefined) {
      const add = Math.floor(r() * 60);
      e = ks.resizeValue(handle(ks, key), cur.value.length + add);
      const vo = ks.valueOffset(e);
      ks.bytes().fill(0x79, vo + cur.value.length, vo + cur.value.length + add);
      model.set(key, { value: cur.value + 'y'.repeat(add), flags: cur.flags, cas: ks.cas(e) });
    } else if (op < 0.8 && cur !== undefined) {
      const flags = r() < 0.3 ? 0 : Math.floor(r() * TWO_32);
      e = ks.setFlags(handle(ks, key), flags);
      assert.is(ks.cas(e), cur.cas, 'setFlags keeps the CAS');
      model.set(key, { ...cur, flags });
      continue;
    } else if (cur !== undefined) {
      assert.ok(del(ks, key));
      model.delete(key);
      continue;
    } else continue;
    const m = model.get(key)!;
    assert.not.ok(everCas.has(m.cas), `CAS ${m.cas} given twice`);
    if (cur !== undefined) assert.ok(m.cas > cur.cas);
    everCas.add(m.cas);
  }
  assert.is(ks.size(), model.size);
  for (const [key, m] of model) {
    const e = handle(ks, key);
    assert.is(valueOf(ks, e), m.value);
    assert.is(ks.flags(e), m.flags);
    assert.is(ks.cas(e), m.cas);
  }
  ks.checkIntegrity();
});

const LATER = Date.now() + 3_600_000;

/** The tail words of e as read through the layout: [flags word or null, TTL record word or null]. */
function tails(ks: Keyspace, e: number): [number | null, number | null] {
  const u32 = new Uint32Array(ks.memory, 0, ks.memory.byteLength >>> 2);
  const end = ((e + ks.entryBytes(e)) >>> 2) - 1;
  const f = ks.flags(e) !== 0 ? flagsWord(u32, e) : -1;
  const v = ks.expireAt(e) !== 0 ? volWord(u32, e) : -1;
  if (v >= 0) assert.is(v, end, 'the TTL record word is the last word');
  if (f >= 0) assert.is(f, v >= 0 ? end - 1 : end, 'the flags word sits in front of it, or last');
  return [f >= 0 ? u32[f]! : null, v >= 0 ? u32[v]! : null];
}

test('TTL: a first one uses the slack of the block or moves the entry; removing one never moves it', () => {
  const ks = fresh();
  ks.now = Date.now();
  // 24 + 1 + 11 = 36 -> 40: room for the TTL word.
  const a = put(ks, 'a', 'v'.repeat(11));
  const casA = ks.cas(a);
  assert.is(ks.setExpireAt(a, LATER), a);
  assert.is(ks.entryBytes(a), 40);
  assert.is(ks.expireAt(a), LATER);
  assert.is(ks.cas(a), casA, 'a TTL keeps the CAS');
  // 24 + 1 + 15 = 40 -> 40: full, the TTL moves it to 48 with key, value, CAS and clock.
  const b0 = put(ks, 'b', 'w'.repeat(15));
  const casB = ks.cas(b0);
  const clockB = ks.clock(b0);
  const b1 = ks.setExpireAt(b0, LATER + 1);
  assert.is.not(b1, b0);
  assert.is(handle(ks, 'b'), b1);
  assert.is(ks.entryBytes(b1), 48);
  assert.is(get(ks, 'b'), 'w'.repeat(15));
  assert.is(ks.cas(b1), casB);
  assert.is(ks.clock(b1), clockB);
  assert.is(ks.expireAt(b1), LATER + 1);
  assert.equal(tails(ks, b1), [null, ks.expiresCount() - 1]);
  // Flags next to the TTL: 40 + 4 + 4 = 48, no move; both words where the layout says.
  assert.is(ks.setFlags(b1, 0xdeadbeef), b1);
  assert.is(tails(ks, b1)[0], 0xdeadbeef);
  assert.is(ks.expireAt(b1), LATER + 1);
  ks.checkIntegrity();
  // Removing the TTL keeps the block; the flags word takes the last word.
  assert.is(ks.setExpireAt(b1, 0), b1);
  assert.is(ks.expireAt(b1), 0);
  assert.equal(tails(ks, b1), [0xdeadbeef, null]);
  assert.is(ks.entryBytes(b1), 48);
  // ... and a TTL again fits in the same block.
  assert.is(ks.setExpireAt(b1, LATER + 2), b1);
  assert.equal([ks.flags(b1), ks.expireAt(b1)], [0xdeadbeef, LATER + 2]);
  // Removing the flags keeps the TTL word last.
  assert.is(ks.setFlags(b1, 0), b1);
  assert.equal([ks.flags(b1), ks.expireAt(b1)], [0, LATER + 2]);
  // An entry with flags and a full block: the TTL moves it, the flags follow.
  const c0 = setWithFlags(ks, 'c', 'x'.repeat(11), 7); // 24 + 1 + 11 + 4 = 40: full
  assert.is(ks.entryBytes(c0), 40);
  const c1 = ks.setExpireAt(c0, LATER + 3);
  assert.is.not(c1, c0);
  assert.is(ks.entryBytes(c1), 48);
  assert.equal([ks.flags(c1), ks.expireAt(c1), get(ks, 'c')], [7, LATER + 3, 'x'.repeat(11)]);
  assert.equal(tails(ks, c1), [7, ks.expiresCount() - 1]);
  ks.checkIntegrity();
  // Deleting the key of another record moves the last record into its place: the moved entry's
  // word follows (checked by checkIntegrity and by the expiries read back).
  assert.ok(del(ks, 'a'));
  assert.equal([ks.expireAt(handle(ks, 'b')), ks.expireAt(handle(ks, 'c'))], [LATER + 2, LATER + 3]);
  ks.checkIntegrity();
});

test('TTL and flags across size class boundaries: the last small class, the large ones', () => {
  const ks = fresh();
  const payload = (len: number): number => 24 + 2 + len;
  // Exactly SMALL_MAX bytes: a TTL moves it to the first large class (1280).
  let e = put(ks, 'k1', 'a'.repeat(SMALL_MAX - payload(0)));
  assert.is(ks.entryBytes(e), SMALL_MAX);
  e = ks.setExpireAt(e, LATER);
  assert.is(ks.entryBytes(e), 1280);
  assert.is(get(ks, 'k1'), 'a'.repeat(SMALL_MAX - payload(0)));
  // Flags then fit in the slack of 1280.
  assert.is(ks.setFlags(e, 5), e);
  // A full large block (1536): the TTL takes the next class (1792).
  let g = setWithFlags(ks, 'k2', 'b'.repeat(1536 - payload(0) - 4), 9);
  assert.is(ks.entryBytes(g), 1536);
  g = ks.setExpireAt(g, LATER + 1);
  assert.is(ks.entryBytes(g), 1792);
  assert.equal([ks.flags(g), ks.expireAt(g), get(ks, 'k2')], [9, LATER + 1, 'b'.repeat(1536 - payload(0) - 4)]);
  // An append that moves an entry with both words keeps them.
  g = ks.resizeValue(g, 5000);
  assert.equal([ks.flags(g), ks.expireAt(g)], [9, LATER + 1]);
  assert.ok(ks.entryBytes(g) >= payload(5000) + 8);
  // A shrink back to a small block keeps them too.
  g = ks.resizeValue(g, 3);
  assert.equal([ks.flags(g), ks.expireAt(g), get(ks, 'k2')], [9, LATER + 1, 'bbb']);
  assert.is(ks.entryBytes(g), 40); // 24 + 2 + 3 + 8 = 37 -> 40
  ks.checkIntegrity();
  for (const c of [SMALL_MAX, 1280, 1536, 1792]) assert.ok(CLASS_SIZE.includes(c));
});

test('set() over an entry with a TTL and flags: each combination, in place and moving', () => {
  const ks = fresh();
  ks.now = Date.now();
  const key = 'thirteen-byte'; // 13 bytes: the key ends in the word before a short value's end
  const combos: [number, number][] = [[0, 0], [0, LATER], [77, 0], [77, LATER]];
  for (const [f0, t0] of combos) {
    for (const [f1, t1] of combos) {
      for (const [len0, len1] of [[200, 0], [0, 200], [10, 11], [300, 2]] as [number, number][]) {
        const k = b(key);
        const v0 = b('p'.repeat(len0));
        const v1 = b('q'.repeat(len1));
        ks.set(k, 0, k.length, v0, 0, v0.length, TYPE_STRING, t0, f0);
        const e = ks.set(k, 0, k.length, v1, 0, v1.length, TYPE_STRING, t1, f1);
        const what = `${f0}/${t0 !== 0}/${len0} -> ${f1}/${t1 !== 0}/${len1}`;
        assert.is(handle(ks, key), e, what);
        assert.is(get(ks, key), 'q'.repeat(len1), what);
        assert.equal([ks.flags(e), ks.expireAt(e)], [f1, t1], what);
        assert.is(ks.expiresCount(), t1 !== 0 ? 1 : 0, what);
        ks.checkIntegrity();
      }
    }
  }
});

test('random TTL, flags and value changes against a model, handles followed as returned', () => {
  const ks = fresh();
  ks.now = Date.now();
  const r = rng(7);
  const model = new Map<string, { value: string; flags: number; at: number; cas: number }>();
  for (let step = 0; step < 30_000; step++) {
    const key = `t${Math.floor(r() * 400)}`;
    const cur = model.get(key);
    const op = r();
    const at = r() < 0.5 ? 0 : LATER + Math.floor(r() * 1e6);
    if (op < 0.3 || cur === undefined) {
      const flags = r() < 0.6 ? 0 : Math.floor(r() * TWO_32) || 1;
      const value = 'x'.repeat(Math.floor(r() * (r() < 0.1 ? 1500 : 100)));
      const k = b(key);
      const v = b(value);
      const e = ks.set(k, 0, k.length, v, 0, v.length, TYPE_STRING, at, flags);
      model.set(key, { value, flags, at, cas: ks.cas(e) });
    } else if (op < 0.55) {
      const e = ks.setExpireAt(handle(ks, key), at);
      assert.is(handle(ks, key), e);
      model.set(key, { ...cur, at });
    } else if (op < 0.75) {
      const flags = r() < 0.4 ? 0 : Math.floor(r() * TWO_32);
      const e = ks.setFlags(handle(ks, key), flags);
      assert.is(handle(ks, key), e);
      model.set(key, { ...cur, flags });
    } else if (op < 0.9) {
      const len = Math.floor(r() * 300);
      const e = ks.resizeValue(handle(ks, key), len);
      const vo = ks.valueOffset(e);
      const keepLen = Math.min(len, cur.value.length);
      ks.bytes().fill(0x7a, vo + keepLen, vo + len);
      model.set(key, { value: cur.value.slice(0, keepLen) + 'z'.repeat(len - keepLen), flags: cur.flags, at: cur.at, cas: ks.cas(e) });
    } else {
      assert.ok(del(ks, key));
      model.delete(key);
    }
    if (step % 5000 === 0) ks.checkIntegrity();
  }
  assert.is(ks.size(), model.size);
  assert.is(ks.expiresCount(), [...model.values()].filter((m) => m.at !== 0).length);
  for (const [key, m] of model) {
    const e = handle(ks, key);
    assert.is(valueOf(ks, e), m.value, key);
    assert.equal([ks.flags(e), ks.expireAt(e), ks.cas(e)], [m.flags, m.at, m.cas], key);
  }
  ks.checkIntegrity();
});

test('memory of an older layout version is refused', () => {
  const mem = Keyspace.createMemory();
  new Uint32Array(mem, 0, 4)[H_VERSION] = 3; // the 32-byte entry
  assert.throws(() => new Keyspace(mem), /not a keyspace of this version/);
});

test.run();
