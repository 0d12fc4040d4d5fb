// Index growth and shrink by incremental migration, checked while it runs; SCAN guarantees.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { del, fresh, get, handle, keyOf, put, rng } from './helpers.js';
import type { Keyspace } from '../../src/keyspace/keyspace.js';

test('200k keys: several incremental grows, reads and deletes during migration', () => {
  const ks = fresh();
  const N = 200_000;
  const capacities = new Set<number>();
  let checksDuringResize = 0;
  for (let i = 0; i < N; i++) {
    put(ks, `key:${i}`, `v${i}`);
    const st = ks.stats();
    capacities.add(st.indexCapacity);
    if (st.resizing && i % 97 === 0) {
      checksDuringResize++;
      // Every key so far is visible, whichever table holds it.
      for (let j = Math.max(0, i - 300); j <= i; j++) {
        if (j % 10 !== 7) assert.is(get(ks, `key:${j}`), `v${j}`, `key:${j} during resize`);
      }
    }
    if (i % 10 === 7) assert.ok(del(ks, `key:${i}`));
  }
  assert.ok(capacities.size >= 8, `saw capacities ${[...capacities].join(',')}`);
  assert.ok(checksDuringResize > 20);
  ks.checkIntegrity();
  assert.is(ks.size(), N - N / 10);
  for (let i = 0; i < N; i++) assert.is(get(ks, `key:${i}`), i % 10 === 7 ? null : `v${i}`);
  // Delete nearly everything: the index shrinks back, incrementally, while lookups keep working.
  let shrinks = 0;
  let cap = ks.stats().indexCapacity;
  for (let i = 0; i < N; i++) {
    if (i % 10 !== 7 && i % 1000 !== 0) del(ks, `key:${i}`);
    const c = ks.stats().indexCapacity;
    if (c < cap) shrinks++;
    cap = c;
    if (ks.stats().resizing && i % 501 === 0) {
      for (let j = 0; j < N; j += 1000) assert.is(get(ks, `key:${j}`), `v${j}`);
    }
  }
  while (ks.rehashStep());
  assert.ok(shrinks >= 1);
  assert.is(ks.size(), N / 1000);
  assert.ok(ks.stats().indexCapacity <= 1024, `capacity ${ks.stats().indexCapacity}`);
  ks.checkIntegrity();
});

test('random operations agree with a Map model, with integrity checks through resizes', () => {
  const ks = fresh();
  const model = new Map<string, string>();
  const r = rng(42);
  for (let step = 0; step < 120_000; step++) {
    // Phases: grow, churn, shrink.
    const phase = step < 50_000 ? 0.8 : step < 80_000 ? 0.5 : 0.15;
    const k = `k${Math.floor(r() * 40_000)}`;
    const op = r();
    if (op < phase) {
      const v = 'x'.repeat(Math.floor(r() * 40)) + step;
      put(ks, k, v);
      model.set(k, v);
    } else if (op < phase + (1 - phase) * 0.7) {
      assert.is(del(ks, k), model.delete(k));
    } else {
      assert.is(get(ks, k), model.get(k) ?? null);
    }
    if (step % 20_000 === 0 || step === 50_001 || step === 80_777) ks.checkIntegrity();
  }
  ks.checkIntegrity();
  assert.is(ks.size(), model.size);
  for (const [k, v] of model) assert.is(get(ks, k), v);
});

function scanAll(ks: Keyspace, count: number, between?: (round: number) => void): Map<string, number> {
  const seen = new Map<string, number>();
  let cursor = 0;
  let rounds = 0;
  do {
    cursor = ks.scan(cursor, count, (e) => {
      const k = keyOf(ks, e);
      seen.set(k, (seen.get(k) ?? 0) + 1);
    });
    between?.(rounds++);
    assert.ok(rounds < 200_000, 'scan does not terminate');
  } while (cursor !== 0);
  return seen;
}

test('scan returns every key, and rarely twice, on a stable keyspace', () => {
  const ks = fresh();
  assert.is(ks.scan(0, 10, () => assert.unreachable()), 0);
  for (let i = 0; i < 10_000; i++) put(ks, `s${i}`, 'v');
  const seen = scanAll(ks, 10);
  assert.is(seen.size, 10_000);
  for (const n of seen.values()) assert.is(n, 1);
});

test('scan returns every key present throughout while the index grows under it', () => {
  const ks = fresh();
  for (let i = 0; i < 3_000; i++) put(ks, `stable:${i}`, 'v');
  let added = 0;
  let resizingSeen = 0;
  const seen = scanAll(ks, 5, () => {
    for (let j = 0; j < 60 && added < 40_000; j++) put(ks, `added:${added++}`, 'w');
    if (ks.stats().resizing) resizingSeen++;
  });
  assert.ok(resizingSeen > 0, 'the scan overlapped a migration');
  for (let i = 0; i < 3_000; i++) assert.ok(seen.has(`stable:${i}`), `stable:${i} missed`);
});

test('scan returns every key present throughout while the index shrinks under it', () => {
  const ks = fresh();
  for (let i = 0; i < 60_000; i++) put(ks, `gone:${i}`, 'v');
  for (let i = 0; i < 500; i++) put(ks, `stable:${i}`, 'v');
  let next = 0;
  let resizingSeen = 0;
  const seen = scanAll(ks, 3, () => {
    for (let j = 0; j < 400 && next < 60_000; j++) del(ks, `gone:${next++}`);
    if (ks.stats().resizing) resizingSeen++;
  });
  assert.ok(resizingSeen > 0, 'the scan overlapped a migration');
  for (let i = 0; i < 500; i++) assert.ok(seen.has(`stable:${i}`), `stable:${i} missed`);
  assert.ok(handle(ks, 'stable:0') !== 0);
});

test.run();
