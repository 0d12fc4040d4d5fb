// CRC16/XMODEM key slots against the cluster-key-slot package (the router relies on this).
import calculateSlot from 'cluster-key-slot';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc16, keySlot } from '../../src/keyspace/slot.js';
import { hash32 } from '../../src/keyspace/hash.js';
import { b, fresh, put, handle, rng } from './helpers.js';

test('crc16 check value of "123456789" is 0x31C3 (XMODEM)', () => {
  const k = b('123456789');
  assert.is(crc16(k, 0, k.length), 0x31c3);
});

test('known Redis slots', () => {
  const k = b('foo');
  assert.is(keySlot(k, 0, k.length), 12182);
  const t = b('{user1000}.following');
  assert.is(keySlot(t, 0, t.length), keySlot(b('user1000'), 0, 8));
});

test('matches cluster-key-slot on random and hash-tagged keys', () => {
  const r = rng(7);
  const samples = ['', '{', '}', '{}', '{}foo', 'foo{}{bar}', 'foo{{bar}}zap', 'foo{bar}{zap}', '{a', 'a}b{c}', 'x{y}'];
  const alphabet = 'ab{}xyz0:';
  for (let i = 0; i < 20000; i++) {
    let s = '';
    const n = Math.floor(r() * 12);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(r() * alphabet.length)];
    samples.push(s);
  }
  for (const s of samples) {
    const k = b(s);
    // cluster-key-slot differs from Redis when the first '{' is directly followed by '}' and a
    // later tag exists ("foo{}{bar}"): Redis hashes the whole key (see its keyHashSlot and the
    // cluster spec), the package hashes "{bar". We follow Redis.
    const open = s.indexOf('{');
    if (open >= 0 && s[open + 1] === '}') {
      assert.is(keySlot(k, 0, k.length), crc16(k, 0, k.length) & 0x3fff, JSON.stringify(s));
      continue;
    }
    assert.is(keySlot(k, 0, k.length), calculateSlot(s), JSON.stringify(s));
  }
});

test('an empty first tag hashes the whole key, as Redis does', () => {
  const k = b('foo{}{bar}');
  assert.is(keySlot(k, 0, k.length), crc16(k, 0, k.length) & 0x3fff);
  const t = b('foo{{bar}}zap');
  assert.is(keySlot(t, 0, t.length), keySlot(b('{bar'), 0, 4));
});

test('keySlot honours offset and length inside a larger buffer', () => {
  const whole = b('xx{tag}yyyy-tail');
  const inner = b('{tag}yyyy');
  assert.is(keySlot(whole, 2, 9), keySlot(inner, 0, inner.length));
  assert.is(keySlot(whole, 2, 9), calculateSlot('{tag}yyyy'));
});

test('hash32 depends only on the bytes, not their position', () => {
  const whole = b('..abcdefg..');
  const inner = b('abcdefg');
  for (let len = 0; len <= 7; len++) assert.is(hash32(whole, 2, len), hash32(inner, 0, len));
});

test('entries know the slot of their key; per-slot lists count and list them', () => {
  const ks = fresh();
  const names: string[] = [];
  for (let i = 0; i < 50; i++) names.push(`{same}:${i}`);
  for (let i = 0; i < 50; i++) names.push(`other:${i}`);
  for (const n of names) put(ks, n, 'v');
  const slot = calculateSlot('same');
  assert.is(ks.countInSlot(slot), 50);
  for (const n of names) assert.is(ks.slotOf(handle(ks, n)), calculateSlot(n));
  const listed = new Set<number>();
  ks.keysInSlot(slot, 1000, (e) => listed.add(e));
  assert.is(listed.size, 50);
  const some: number[] = [];
  ks.keysInSlot(slot, 7, (e) => some.push(e));
  assert.is(some.length, 7);
  const k = b('{same}:3');
  ks.delete(k, 0, k.length);
  assert.is(ks.countInSlot(slot), 49);
  let total = 0;
  for (let s = 0; s < 16384; s++) total += ks.countInSlot(s);
  assert.is(total, 99);
  ks.checkIntegrity();
});

test.run();
