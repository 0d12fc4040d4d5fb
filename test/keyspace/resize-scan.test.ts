// Index growth and shrink by incremental migration, checked while it runs; SCAN guarantees.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { del, fresh, get, handle, keyOf, put, rng } from './helpers.js';
import { TYPE_STRING, type Keyspace } from '../../src/keyspace/keyspace.js';
import { hash32, hash32Words, WORDS_LITTLE_ENDIAN } from '../../src/keyspace/hash.js';
import { KLEN_LONG } from '../../src/keyspace/layout.js';

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

test('hash32Words (entries rehashed in place) equals hash32 for every length and remainder', () => {
  if (!WORDS_LITTLE_ENDIAN) return;
  const r = rng(5);
  const buf = new Uint8Array(4096 + 8);
  for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(r() * 256);
  const u32 = new Uint32Array(buf.buffer);
  for (let w = 0; w < 8; w++) {
    for (let len = 0; len <= 70; len++) assert.is(hash32Words(u32, w, len), hash32(buf, w * 4, len), `len ${len} at word ${w}`);
  }
  assert.is(hash32Words(u32, 1, 4096), hash32(buf, 4, 4096));
});

test('index without stored hashes: grows, shrinks and backward shifts re-place keys of every length', () => {
  // Keys of lengths 0..40 (every remainder of 4), some long (the length word in front of the key),
  // with values that leave the word after the key's end dirty: the index recomputes each key's
  // hash from the arena at every migration and backward shift, and must land where lookups probe.
  const ks = fresh();
  const r = rng(11);
  const mk = (i: number): Uint8Array => {
    const len = i % 97 === 0 ? KLEN_LONG + (i % 5) : i % 41;
    const k = new Uint8Array(len);
    let x = i + 1;
    for (let j = 0; j < len; j++) {
      k[j] = x & 0xff;
      x = (x >>> 8) | ((x * 131 + j) << 16);
    }
    return k;
  };
  const live = new Map<string, Uint8Array>();
  const name = (k: Uint8Array): string => Buffer.from(k).toString('latin1');
  const v = new Uint8Array(24).fill(0xff);
  const N = 30_000;
  for (let i = 0; i < N; i++) {
    const k = mk(i);
    ks.set(k, 0, k.length, v, 0, Math.floor(r() * 24), TYPE_STRING, 0);
    live.set(name(k), k);
    if (i % 3 === 0) {
      const j = Math.floor(r() * i);
      const dk = mk(j);
      if (live.delete(name(dk))) assert.ok(ks.delete(dk, 0, dk.length));
    }
    if (i % 7_001 === 0) ks.checkIntegrity();
  }
  ks.checkIntegrity();
  assert.is(ks.size(), live.size);
  for (const k of live.values()) assert.ok(ks.find(k, 0, k.length) !== 0, `key of ${k.length} bytes lost`);
  // Empty it down to a few keys: shrinks migrate what is left; deletes by handle hash from the arena.
  let n = 0;
  for (const [id, k] of live) {
    if (n++ % 50 === 0) continue;
    ks.deleteEntry(ks.find(k, 0, k.length));
    live.delete(id);
  }
  while (ks.rehashStep());
  ks.checkIntegrity();
  assert.is(ks.size(), live.size);
  for (const k of live.values()) assert.ok(ks.find(k, 0, k.length) !== 0);
  const visited = new Set<number>();
  let cursor = 0;
  do cursor = ks.scan(cursor, 7, (e) => visited.add(e)); while (cursor !== 0);
  assert.is(visited.size, live.size);
});

test('deletes at load 0.74: backward shifts over long and short runs keep every key findable', () => {
  // At this load runs of full buckets are long: each shift re-places entries by their hash,
  // recomputed from their keys.
  const ks = fresh();
  const r = rng(3);
  const live: string[] = [];
  let next = 0;
  while (ks.size() < 760) {
    const k = `churn:${next++}`;
    put(ks, k, 'v');
    live.push(k);
  }
  while (ks.rehashStep());
  assert.is(ks.stats().indexCapacity, 1024);
  for (let step = 0; step < 40_000; step++) {
    const at = Math.floor(r() * live.length);
    assert.ok(del(ks, live[at]!));
    live[at] = `churn:${next++}`;
    put(ks, live[at]!, 'w');
    if (step % 4000 === 0) {
      ks.checkIntegrity();
      for (const k of live) assert.ok(get(ks, k) !== null, k);
    }
  }
  assert.is(ks.stats().indexCapacity, 1024, 'no resize: the churn ran at one load');
  ks.checkIntegrity();
  for (const k of live) assert.ok(handle(ks, k) !== 0, k);
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
