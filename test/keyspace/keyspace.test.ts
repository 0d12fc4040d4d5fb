// Keyspace basics: set/find/overwrite/delete, values, memory accounting and reuse, restart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENTRY_OVERHEAD_BYTES, Keyspace, KeyspaceFullError, TYPE_STRING } from '../../src/keyspace/keyspace.js';
import { MAX_INDEX_KEYS } from '../../src/keyspace/index-table.js';
import { b, del, fresh, get, handle, has, keyOf, put, valueOf } from './helpers.js';

test('set, find, overwrite, delete', () => {
  const ks = fresh();
  assert.is(ks.size(), 0);
  assert.is(get(ks, 'a'), null);
  put(ks, 'a', 'one');
  put(ks, 'b', '');
  assert.is(get(ks, 'a'), 'one');
  assert.is(get(ks, 'b'), '');
  assert.is(ks.size(), 2);
  put(ks, 'a', 'a much longer value than before, to force a move');
  assert.is(get(ks, 'a'), 'a much longer value than before, to force a move');
  put(ks, 'a', 'x');
  assert.is(get(ks, 'a'), 'x');
  assert.is(ks.size(), 2);
  assert.ok(del(ks, 'a'));
  assert.not.ok(del(ks, 'a'));
  assert.is(get(ks, 'a'), null);
  assert.is(get(ks, 'b'), '');
  assert.is(ks.size(), 1);
  const e = handle(ks, 'b');
  assert.is(keyOf(ks, e), 'b');
  assert.is(ks.type(e), TYPE_STRING);
  ks.deleteEntry(e);
  assert.is(ks.size(), 0);
  ks.checkIntegrity();
});

test('empty key and binary keys are distinct keys', () => {
  const ks = fresh();
  const k0 = new Uint8Array(0);
  const k1 = new Uint8Array([0]);
  const k2 = new Uint8Array([0, 0]);
  const v = b('v');
  ks.set(k0, 0, 0, v, 0, 1, TYPE_STRING, 0);
  ks.set(k1, 0, 1, v, 0, 1, TYPE_STRING, 0);
  ks.set(k2, 0, 2, v, 0, 1, TYPE_STRING, 0);
  assert.is(ks.size(), 3);
  assert.ok(ks.find(k0, 0, 0) !== 0);
  assert.ok(ks.find(k2, 0, 2) !== ks.find(k1, 0, 1));
  ks.checkIntegrity();
});

test('set with a null value reserves bytes the caller fills in', () => {
  const ks = fresh();
  const k = b('k');
  const e = ks.set(k, 0, 1, null, 0, 5, TYPE_STRING, 0);
  ks.bytes().set(b('hello'), ks.valueOffset(e));
  assert.is(get(ks, 'k'), 'hello');
});

test('key and value taken from an offset inside a larger buffer', () => {
  const ks = fresh();
  const buf = b('___key___value___');
  ks.set(buf, 3, 3, buf, 9, 5, TYPE_STRING, 0);
  assert.is(get(ks, 'key'), 'value');
  assert.ok(ks.find(buf, 3, 3) !== 0);
});

test('resizeValue grows and shrinks keeping the prefix, zero-filling the rest', () => {
  const ks = fresh();
  let e = put(ks, 'k', 'abc');
  e = ks.resizeValue(e, 6);
  assert.is(ks.valueLength(e), 6);
  assert.equal([...ks.bytes().slice(ks.valueOffset(e), ks.valueOffset(e) + 6)], [97, 98, 99, 0, 0, 0]);
  for (let i = 0; i < 2000; i++) {
    const len = ks.valueLength(e);
    e = ks.resizeValue(e, len + 1);
    ks.bytes()[ks.valueOffset(e) + len] = 65 + (i % 26);
  }
  assert.is(handle(ks, 'k'), e);
  const v = get(ks, 'k')!;
  assert.is(v.length, 2006);
  assert.is(v.slice(0, 3), 'abc');
  assert.is(v[6], 'A');
  assert.is(v[2005], String.fromCharCode(65 + (1999 % 26)));
  e = ks.resizeValue(e, 2);
  assert.is(get(ks, 'k'), 'ab');
  e = ks.resizeValue(e, 0);
  assert.is(get(ks, 'k'), '');
  ks.checkIntegrity();
});

test('large values (1 MiB and 8 MiB) round-trip and grow the arena', () => {
  const ks = fresh();
  const before = ks.stats().arenaBytes;
  for (const size of [1 << 20, (1 << 20) + 17, 8 << 20]) {
    const v = new Uint8Array(size);
    for (let i = 0; i < size; i++) v[i] = (i * 31 + size) & 0xff;
    const k = b(`big:${size}`);
    ks.set(k, 0, k.length, v, 0, size, TYPE_STRING, 0);
    const e = ks.find(k, 0, k.length);
    assert.is(ks.valueLength(e), size);
    const got = ks.bytes().subarray(ks.valueOffset(e), ks.valueOffset(e) + size);
    let same = true;
    for (let i = 0; i < size; i++) if (got[i] !== v[i]) { same = false; break; }
    assert.ok(same, `value of ${size} bytes`);
  }
  assert.ok(ks.stats().arenaBytes > before);
  ks.checkIntegrity();
  const used = ks.usedMemory();
  del(ks, `big:${8 << 20}`);
  assert.ok(ks.usedMemory() < used - (8 << 20) + 1);
  ks.checkIntegrity();
});

test('memory accounting is exact: header + index + blocks rounded to their class', () => {
  const ks = fresh();
  const base = ks.usedMemory();
  // 24-byte header + 3-byte key + 5-byte value = 32 bytes: class 32.
  const e = put(ks, 'abc', 'hello');
  assert.is(ENTRY_OVERHEAD_BYTES, 24);
  assert.is(ks.entryBytes(e), 32);
  assert.is(ks.usedMemory(), base + 32);
  // 24 + 3 + 13 = 40 bytes: class 40.
  put(ks, 'abd', 'hello, world!');
  assert.is(ks.usedMemory(), base + 32 + 40);
  // A TTL adds the volatile array (16 records of 12 bytes) and its record's index to the entry:
  // 24 + 3 + 1 + 4 = 32 bytes.
  put(ks, 'abe', 'x', Date.now() + 100000);
  assert.is(ks.usedMemory(), base + 32 + 40 + 32 + 16 * 12);
  assert.is(ks.expiresCount(), 1);
  ks.checkIntegrity();
  del(ks, 'abe');
  assert.is(ks.usedMemory(), base + 32 + 40);
  del(ks, 'abc');
  del(ks, 'abd');
  assert.is(ks.usedMemory(), base);
  ks.checkIntegrity();
});

test('the benchmark key (16 bytes, 32-byte value) takes a 72-byte block; flags or a TTL take 8 more', () => {
  const ks = fresh();
  const v = 'v'.repeat(32);
  assert.is(ks.entryBytes(put(ks, 'key:000000000001', v)), 72);
  const k = b('key:000000000002');
  const val = b(v);
  assert.is(ks.entryBytes(ks.set(k, 0, k.length, val, 0, val.length, TYPE_STRING, 0, 0)), 72);
  assert.is(ks.entryBytes(ks.set(k, 0, k.length, val, 0, val.length, TYPE_STRING, 0, 7)), 80);
  // Flags and a TTL together: 24 + 16 + 32 + 4 + 4 = 80, the same block.
  assert.is(ks.entryBytes(ks.set(k, 0, k.length, val, 0, val.length, TYPE_STRING, Date.now() + 100000, 7)), 80);
  assert.is(ks.entryBytes(put(ks, 'key:000000000003', v, Date.now() + 100000)), 80);
  // A later write without flags (RESP) keeps the block (it fits) but drops the flags word.
  const e = put(ks, 'key:000000000002', v);
  assert.is(ks.flags(e), 0);
  assert.is(ks.expireAt(e), 0);
  assert.is(ks.entryBytes(e), 80);
  ks.checkIntegrity();
});

test('CAS: every write takes the next value of the shard counter; flags are reset by set()', () => {
  const ks = fresh();
  let a = put(ks, 'a', '1');
  const casA = ks.cas(a);
  assert.ok(casA > 0);
  a = ks.setFlags(a, 0xdeadbeef);
  assert.is(ks.flags(a), 0xdeadbeef);
  assert.is(ks.cas(a), casA);
  const b2 = put(ks, 'b', '2');
  assert.is(ks.cas(b2), casA + 1);
  const a2 = put(ks, 'a', '3');
  assert.is(ks.cas(a2), casA + 2);
  assert.is(ks.flags(a2), 0);
  const a3 = ks.resizeValue(a2, 40);
  assert.is(ks.cas(a3), casA + 3);
  assert.is(ks.bumpCas(a3), casA + 4);
  ks.flush();
  assert.is(ks.cas(put(ks, 'c', '4')), casA + 5);
});

test('freed space is reused: churn does not move the bump pointer, memory returns to baseline', () => {
  const ks = fresh();
  const base = ks.usedMemory();
  for (let i = 0; i < 1000; i++) put(ks, `warm:${i}`, 'v'.repeat(i % 100));
  for (let i = 0; i < 1000; i++) del(ks, `warm:${i}`);
  while (ks.rehashStep());
  assert.is(ks.usedMemory(), base);
  const top = ks.arenaTop();
  let topAfter10 = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 1000; i++) put(ks, `warm:${i}`, 'v'.repeat((i + round) % 100));
    for (let i = 0; i < 1000; i++) del(ks, `warm:${i}`);
    while (ks.rehashStep());
    if (round === 10) topAfter10 = ks.arenaTop();
  }
  // Shifting sizes between rounds may carve a few extra blocks early on; then it is stable.
  assert.ok(ks.arenaTop() - top < 1024, `top moved by ${ks.arenaTop() - top}`);
  assert.is(ks.arenaTop(), topAfter10);
  // Same-size churn reuses the same blocks (the top may even come down).
  const steady = ks.arenaTop();
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 1000; i++) put(ks, `warm:${i}`, 'v'.repeat(i % 100));
    for (let i = 0; i < 1000; i++) del(ks, `warm:${i}`);
  }
  while (ks.rehashStep());
  assert.ok(ks.arenaTop() <= steady, `top moved from ${steady} to ${ks.arenaTop()}`);
  assert.is(ks.usedMemory(), base);
  assert.is(ks.size(), 0);
  ks.checkIntegrity();
});

test('flush empties the keyspace and keeps statistics', () => {
  const ks = fresh();
  const base = ks.usedMemory();
  for (let i = 0; i < 5000; i++) put(ks, `k${i}`, 'value', i % 2 ? Date.now() + 1e6 : 0);
  ks.touch(handle(ks, 'k1'));
  ks.flush();
  assert.is(ks.size(), 0);
  assert.is(ks.expiresCount(), 0);
  assert.is(ks.usedMemory(), base);
  assert.is(ks.stats().keyspaceHits, 1);
  assert.is(get(ks, 'k1'), null);
  put(ks, 'k1', 'again');
  assert.is(get(ks, 'k1'), 'again');
  ks.checkIntegrity();
});

test('a second Keyspace on the same memory sees everything and continues (crash/restart)', () => {
  const mem = Keyspace.createMemory();
  const first = new Keyspace(mem);
  const now = Date.now();
  first.now = now;
  for (let i = 0; i < 20000; i++) put(first, `key:${i}`, `value:${i}`, i % 3 === 0 ? now + 60000 : 0);
  for (let i = 0; i < 20000; i += 5) del(first, `key:${i}`);
  const e = handle(first, 'key:1');
  first.touch(e);
  first.miss();
  // The first incarnation is abandoned in the middle of a resize, with ongoing migration state.
  const statsBefore = first.stats();
  const second = new Keyspace(mem);
  second.now = now;
  assert.equal(second.stats(), statsBefore);
  second.checkIntegrity();
  for (let i = 0; i < 20000; i++) {
    assert.is(get(second, `key:${i}`), i % 5 === 0 ? null : `value:${i}`);
    if (i % 5 !== 0) assert.is(second.expireAt(handle(second, `key:${i}`)), i % 3 === 0 ? now + 60000 : 0);
  }
  assert.is(second.clock(handle(second, 'key:1')), first.clock(e));
  for (let i = 20000; i < 40000; i++) put(second, `key:${i}`, `value:${i}`);
  assert.is(second.size(), 16000 + 20000);
  second.checkIntegrity();
  const third = new Keyspace(mem);
  assert.is(get(third, 'key:39999'), 'value:39999');
});

test('attaching to memory that is not a keyspace fails', () => {
  assert.throws(() => new Keyspace(new SharedArrayBuffer(1 << 18)), /not a keyspace/);
});

test('hits and misses: touch counts a hit, miss() a miss, resetStats clears them', () => {
  const ks = fresh();
  const e = put(ks, 'a', '1');
  ks.touch(e);
  ks.touch(e);
  ks.miss();
  let s = ks.stats();
  assert.is(s.keyspaceHits, 2);
  assert.is(s.keyspaceMisses, 1);
  ks.resetStats();
  s = ks.stats();
  assert.is(s.keyspaceHits + s.keyspaceMisses + s.expiredKeys + s.evictedKeys, 0);
  assert.is(s.keys, 1);
});

test('randomEntry returns live entries and 0 when empty', () => {
  const ks = fresh();
  assert.is(ks.randomEntry(), 0);
  for (let i = 0; i < 100; i++) put(ks, `r${i}`, 'v');
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) seen.add(keyOf(ks, ks.randomEntry()));
  assert.ok(seen.size > 80, `saw ${seen.size} of 100 keys`);
  for (const k of seen) assert.ok(has(ks, k));
  assert.is(valueOf(ks, ks.randomEntry()), 'v');
});

test('an entry larger than the arena can hold is refused without changes', () => {
  const ks = fresh();
  put(ks, 'k', 'v');
  const used = ks.usedMemory();
  const k = b('k');
  assert.throws(() => ks.set(k, 0, 1, null, 0, 2 ** 32, TYPE_STRING, 0), (err: unknown) => err instanceof KeyspaceFullError);
  assert.throws(() => ks.resizeValue(handle(ks, 'k'), 2 ** 32), (err: unknown) => err instanceof KeyspaceFullError);
  assert.is(get(ks, 'k'), 'v');
  assert.is(ks.usedMemory(), used);
  ks.checkIntegrity();
});

test('reserve refuses a count no index can hold, leaving the books intact', () => {
  // Found by the fuzzer: reserve(2^32-1) on a 1 MiB keyspace left usedMemory NaN.
  const ks = fresh(1024 * 1024);
  put(ks, 'a', 'one');
  const used = ks.usedMemory();
  for (const n of [4294967295, MAX_INDEX_KEYS + 1 - ks.size(), 2 ** 53, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => ks.reserve(n), (err: unknown) => err instanceof RangeError && /cannot reserve/.test(err.message), `reserve(${n})`);
    assert.is(ks.usedMemory(), used, `usedMemory after reserve(${n})`);
    ks.checkIntegrity();
  }
  // A count that fits still makes room in one step, and the keys then go in.
  ks.reserve(10_000);
  ks.checkIntegrity();
  for (let i = 0; i < 10_000; i++) put(ks, `k${i}`, 'v');
  assert.is(get(ks, 'a'), 'one');
  assert.is(ks.size(), 10_001);
  ks.checkIntegrity();
});

test.run();
