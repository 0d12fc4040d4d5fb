// Expiry on access and by the active cycle; each eviction policy's choice; LRU/LFU clocks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lfuLogIncr, LFU_INIT_VAL } from '../../src/keyspace/clock.js';
import type { EvictionPolicy, Keyspace } from '../../src/keyspace/keyspace.js';
import { fresh, get, handle, has, put } from './helpers.js';

const T0 = 1_700_000_000_000;

function at(nowMs: number): Keyspace {
  const ks = fresh();
  ks.now = nowMs;
  return ks;
}

test('expired keys are deleted on access and counted', () => {
  const ks = at(T0);
  put(ks, 'short', 'v', T0 + 1000);
  put(ks, 'long', 'v', T0 + 100_000);
  put(ks, 'none', 'v');
  assert.is(ks.expiresCount(), 2);
  assert.is(ks.expireAt(handle(ks, 'short')), T0 + 1000);
  assert.is(ks.expireAt(handle(ks, 'none')), 0);
  ks.now = T0 + 999;
  assert.ok(has(ks, 'short'));
  ks.now = T0 + 1000;
  assert.not.ok(has(ks, 'short'));
  assert.is(ks.size(), 2);
  assert.is(ks.expiresCount(), 1);
  assert.is(ks.stats().expiredKeys, 1);
  assert.ok(has(ks, 'long'));
  ks.checkIntegrity();
});

test('setExpireAt adds, changes and removes a TTL; set without expiry clears it', () => {
  const ks = at(T0);
  const e = put(ks, 'k', 'v');
  ks.setExpireAt(e, T0 + 10);
  assert.is(ks.expiresCount(), 1);
  ks.setExpireAt(e, T0 + 2 ** 40 + 123);
  assert.is(ks.expireAt(e), T0 + 2 ** 40 + 123);
  ks.setExpireAt(e, 0);
  assert.is(ks.expiresCount(), 0);
  assert.is(ks.expireAt(e), 0);
  put(ks, 'k', 'v', T0 + 5);
  assert.is(ks.expiresCount(), 1);
  put(ks, 'k', 'v2');
  assert.is(ks.expiresCount(), 0);
  ks.now = T0 + 10;
  assert.is(get(ks, 'k'), 'v2');
  // A TTL survives a move of the entry.
  put(ks, 'm', 'small', T0 + 50);
  put(ks, 'm', 'a much larger value that needs another block', T0 + 60);
  assert.is(ks.expireAt(handle(ks, 'm')), T0 + 60);
  ks.checkIntegrity();
});

test('swap-remove keeps the volatile array consistent', () => {
  const ks = at(T0);
  for (let i = 0; i < 200; i++) put(ks, `v${i}`, 'x', T0 + 1000 + i);
  for (let i = 0; i < 200; i += 3) ks.setExpireAt(handle(ks, `v${i}`), 0);
  for (let i = 1; i < 200; i += 3) assert.ok(ks.delete(new TextEncoder().encode(`v${i}`), 0, `v${i}`.length));
  ks.checkIntegrity();
  for (let i = 2; i < 200; i += 3) assert.is(ks.expireAt(handle(ks, `v${i}`)), T0 + 1000 + i);
  assert.is(ks.expiresCount(), 66);
});

test('activeExpireCycle removes all keys of an all-expired set in one call', () => {
  const ks = at(T0);
  for (let i = 0; i < 5000; i++) put(ks, `e${i}`, 'v', T0 + 10);
  ks.now = T0 + 10;
  assert.is(ks.activeExpireCycle(10_000), 5000);
  assert.is(ks.size(), 0);
  assert.is(ks.stats().expiredKeys, 5000);
  ks.checkIntegrity();
});

test('activeExpireCycle stops when few sampled keys are expired, and repeated cycles converge', () => {
  const ks = at(T0);
  for (let i = 0; i < 2000; i++) put(ks, `live${i}`, 'v', T0 + 1_000_000);
  for (let i = 0; i < 100; i++) put(ks, `dead${i}`, 'v', T0 + 5);
  for (let i = 0; i < 100; i++) put(ks, `persist${i}`, 'v');
  ks.now = T0 + 5;
  const first = ks.activeExpireCycle(10_000);
  assert.ok(first <= 20, `a 5% expired set is sampled once, deleted ${first}`);
  let total = first;
  for (let i = 0; i < 2000 && ks.expiresCount() > 2000; i++) total += ks.activeExpireCycle(10_000);
  assert.is(total, 100);
  assert.is(ks.size(), 2100);
  assert.is(ks.expiresCount(), 2000);
});

test('activeExpireCycle respects its time limit (one round with 0 ms)', () => {
  const ks = at(T0);
  for (let i = 0; i < 1000; i++) put(ks, `e${i}`, 'v', T0 + 1);
  ks.now = T0 + 1;
  assert.is(ks.activeExpireCycle(0), 20);
});

/** Ten keys k0..k9; k_i written at T0 + i seconds unless the caller overrides. */
function ten(ks: Keyspace, ttl?: (i: number) => number): void {
  for (let i = 0; i < 10; i++) {
    ks.now = T0 + i * 1000;
    put(ks, `k${i}`, 'v', ttl?.(i) ?? 0);
  }
  ks.now = T0 + 60_000;
}

function evicted(ks: Keyspace, policy: EvictionPolicy): string[] {
  const present = new Set<string>();
  for (let i = 0; i < 10; i++) if (has(ks, `k${i}`)) present.add(`k${i}`);
  assert.ok(ks.evictOne(policy, 64), `${policy} evicted nothing`);
  return [...present].filter((k) => !has(ks, k));
}

test('allkeys-lru evicts the least recently used key; touch makes a key young', () => {
  const ks = fresh();
  ten(ks);
  assert.equal(evicted(ks, 'allkeys-lru'), ['k0']);
  ks.touch(handle(ks, 'k1'));
  assert.equal(evicted(ks, 'allkeys-lru'), ['k2']);
  assert.is(ks.stats().evictedKeys, 2);
  assert.is(ks.idleTimeSec(handle(ks, 'k3')), 57);
});

test('allkeys-lfu evicts the least frequently used key, with decay', () => {
  const ks = fresh();
  ten(ks);
  const nowSec = Math.floor(ks.now / 1000) & 0xffffff;
  for (let i = 0; i < 10; i++) ks.setClock(handle(ks, `k${i}`), ((20 + i) << 24) | nowSec);
  ks.setClock(handle(ks, 'k5'), (3 << 24) | nowSec);
  assert.equal(evicted(ks, 'allkeys-lfu'), ['k5']);
  // k9 has the highest counter but has been idle for 25 minutes: 29 - 25 = 4.
  ks.setClock(handle(ks, 'k9'), ((29 << 24) | ((nowSec - 25 * 60) & 0xffffff)) >>> 0);
  assert.is(ks.lfuFrequency(handle(ks, 'k9')), 4);
  assert.equal(evicted(ks, 'allkeys-lfu'), ['k9']);
});

test('LFU counter: new keys start at 5, touches increase it logarithmically', () => {
  const ks = fresh();
  const e = put(ks, 'hot', 'v');
  assert.is(ks.lfuFrequency(e), LFU_INIT_VAL);
  for (let i = 0; i < 1000; i++) ks.touch(e);
  const f = ks.lfuFrequency(e);
  assert.ok(f > 10 && f < 40, `counter ${f}`);
  assert.is(lfuLogIncr(255, 0), 255);
  assert.is(lfuLogIncr(5, 0.99), 6);
  assert.is(lfuLogIncr(6, 0.5), 6);
  // An overwrite keeps the counter.
  put(ks, 'hot', 'w');
  assert.is(ks.lfuFrequency(handle(ks, 'hot')), f);
});

test('volatile-lru and volatile-lfu only consider keys with a TTL', () => {
  const ks = fresh();
  ten(ks, (i) => (i >= 5 ? T0 + 10_000_000 : 0));
  assert.equal(evicted(ks, 'volatile-lru'), ['k5']);
  const nowSec = Math.floor(ks.now / 1000) & 0xffffff;
  for (let i = 0; i < 10; i++) ks.setClock(handle(ks, `k${i}`), (((i === 8 ? 7 : 30) << 24) | nowSec) >>> 0);
  ks.setClock(handle(ks, 'k0'), (1 << 24) | nowSec);
  assert.equal(evicted(ks, 'volatile-lfu'), ['k8']);
});

test('volatile-ttl evicts the key that expires soonest', () => {
  const ks = fresh();
  ten(ks, (i) => (i % 2 === 0 ? 0 : T0 + 1_000_000 - i * 1000));
  assert.equal(evicted(ks, 'volatile-ttl'), ['k9']);
  assert.equal(evicted(ks, 'volatile-ttl'), ['k7']);
});

test('random policies, noeviction, and nothing to evict', () => {
  const ks = fresh();
  assert.not.ok(ks.evictOne('allkeys-random', 5));
  assert.not.ok(ks.evictOne('allkeys-lru', 5));
  ten(ks, (i) => (i === 3 ? T0 + 1e9 : 0));
  assert.not.ok(ks.evictOne('noeviction', 5));
  assert.equal(evicted(ks, 'volatile-random'), ['k3']);
  assert.not.ok(ks.evictOne('volatile-random', 5));
  assert.not.ok(ks.evictOne('volatile-lru', 5));
  assert.not.ok(ks.evictOne('volatile-ttl', 5));
  assert.is(evicted(ks, 'allkeys-random').length, 1);
  assert.is(ks.size(), 8);
  assert.is(ks.stats().evictedKeys, 2);
  ks.checkIntegrity();
});

test('sampled allkeys-lru over many keys prefers old keys', () => {
  const ks = fresh();
  for (let i = 0; i < 10_000; i++) {
    ks.now = T0 + i * 1000;
    put(ks, `k${i}`, 'v');
  }
  for (let i = 0; i < 5000; i++) assert.ok(ks.evictOne('allkeys-lru', 5));
  let oldHalfLeft = 0;
  for (let i = 0; i < 5000; i++) if (has(ks, `k${i}`)) oldHalfLeft++;
  assert.ok(oldHalfLeft < 1500, `${oldHalfLeft} of the oldest half survived`);
  ks.checkIntegrity();
});

test.run();
