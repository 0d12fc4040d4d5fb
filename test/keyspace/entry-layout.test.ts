// The 32-byte entry and what lives outside it: memcached flags in the block's last word (only when
// non-zero), the length of a long key in front of its bytes, the CAS kept as the low 32 bits of
// the shard counter. Each test checks the entry against a plain model and runs checkIntegrity().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyspace, TYPE_STRING } from '../../src/keyspace/keyspace.js';
import { F_CAS, F_COUNT, H_VERSION, KLEN_LONG } from '../../src/keyspace/layout.js';
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
  assert.is(ks.entryBytes(e), 40); // 32 + 1 + 3 + the flags word
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
  const g0 = put(ks, 'g', 'v'.repeat(11)); // 32 + 1 + 11 = 44 -> 48: 4 bytes left
  assert.is(ks.entryBytes(g0), 48);
  const g1 = put(ks, 'h', 'v'.repeat(15)); // 32 + 1 + 15 = 48 -> 48: full
  const casH = ks.cas(g1);
  const g0b = ks.setFlags(g0, 1);
  assert.is(g0b, g0, 'the word fits in the slack: no move');
  const g1b = ks.setFlags(g1, 2);
  assert.is.not(g1b, g1);
  assert.is(ks.entryBytes(g1b), 56);
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
    assert.ok(ks.entryBytes(e) >= 32 + (len >= KLEN_LONG ? 4 : 0) + len + `v${len}`.length + 4);
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

test('memory of an older layout version is refused', () => {
  const mem = Keyspace.createMemory();
  new Uint32Array(mem, 0, 4)[H_VERSION] = 2;
  assert.throws(() => new Keyspace(mem), /not a keyspace of this version/);
});

test.run();
