// The keyspace's snapshot marks: snapshotBegin makes every present entry pending, new entries are
// never pending, snapshotDone clears one, snapshotAbandon clears all and ends the snapshot.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { entries, freshKs, handle, put } from './helpers.js';

function pending(ks: Keyspace): number {
  return entries(ks).filter((e) => ks.snapshotPending(e)).length;
}

test('begin: every entry pending; done: one at a time; new entries are not pending; end', () => {
  const ks = freshKs();
  for (let i = 0; i < 1000; i++) put(ks, `k${i}`, `v${i}`);
  assert.not.ok(ks.snapshotActive());
  assert.is(pending(ks), 0);
  ks.snapshotBegin();
  assert.ok(ks.snapshotActive());
  assert.is(pending(ks), 1000);
  ks.snapshotDone(handle(ks, 'k1'));
  assert.not.ok(ks.snapshotPending(handle(ks, 'k1')));
  assert.is(pending(ks), 999);
  put(ks, 'new', 'born during the snapshot');
  assert.not.ok(ks.snapshotPending(handle(ks, 'new')));
  // An overwrite that moves the entry keeps its mark (still pending, unless written).
  put(ks, 'k2', 'a much longer value that needs a larger block than the old one had');
  assert.ok(ks.snapshotPending(handle(ks, 'k2')));
  put(ks, 'k1', 'another much longer value that needs a larger block than the old one');
  assert.not.ok(ks.snapshotPending(handle(ks, 'k1')));
  ks.setFlags(handle(ks, 'k3'), 77);
  assert.ok(ks.snapshotPending(handle(ks, 'k3')), 'flags (which may move the entry) keep the mark');
  // 'k5' (24 + 2 + 2 = 28 -> 32) has room for a TTL word; 'k4' with flags (24 + 2 + 2 + 4 = 32)
  // has none: its first TTL moves it, mark included.
  const k5 = handle(ks, 'k5');
  assert.is(ks.setExpireAt(k5, Date.now() + 60_000), k5);
  assert.ok(ks.snapshotPending(k5));
  const k4 = ks.setFlags(handle(ks, 'k4'), 5);
  const k4moved = ks.setExpireAt(k4, Date.now() + 60_000);
  assert.is.not(k4moved, k4);
  assert.ok(ks.snapshotPending(k4moved), 'a TTL that moves the entry keeps the mark');
  ks.snapshotDone(k4moved);
  assert.not.ok(ks.snapshotPending(handle(ks, 'k4')));
  assert.not.ok(ks.snapshotPending(ks.setExpireAt(handle(ks, 'k4'), 0)), 'a done entry stays done');
  assert.is(pending(ks), 998);
  ks.snapshotEnd();
  assert.not.ok(ks.snapshotActive());
  assert.is(pending(ks), 0, 'nothing is pending once the snapshot ended');
  ks.checkIntegrity();
});

test('snapshotAbandon: nothing pending, not active, and the next begin makes every entry pending again', () => {
  const ks = freshKs();
  for (let i = 0; i < 2000; i++) put(ks, `k${i}`, `v${i}`);
  assert.not.ok(ks.snapshotAbandon(), 'no snapshot to abandon');
  ks.snapshotBegin();
  const all = entries(ks);
  all.slice(0, 700).forEach((e) => ks.snapshotDone(e));
  put(ks, 'born', 'during');
  assert.is(pending(ks), 1300);
  assert.ok(ks.snapshotAbandon());
  assert.not.ok(ks.snapshotActive());
  assert.is(pending(ks), 0);
  assert.not.ok(ks.snapshotAbandon(), 'a second abandon finds nothing');
  // The marks are consistent again: the next snapshot sees every entry (done, not done, new).
  ks.snapshotBegin();
  assert.is(pending(ks), 2001);
  ks.snapshotAbandon();
  ks.snapshotBegin();
  assert.is(pending(ks), 2001);
  ks.snapshotAbandon();
  ks.checkIntegrity();
});

test('marks live in the shared memory: a new incarnation sees the snapshot and can abandon it', () => {
  const a = freshKs();
  for (let i = 0; i < 100; i++) put(a, `k${i}`, 'v');
  a.snapshotBegin();
  entries(a).slice(0, 10).forEach((e) => a.snapshotDone(e));
  const b = new Keyspace(a.memory);
  assert.ok(b.snapshotActive());
  assert.is(pending(b), 90);
  assert.ok(b.snapshotAbandon());
  assert.is(pending(b), 0);
  assert.not.ok(a.snapshotActive());
  b.snapshotBegin();
  assert.is(pending(b), 100);
  b.snapshotEnd();
});

test('a flush during a snapshot: keys created after it are not pending', () => {
  const ks = freshKs();
  for (let i = 0; i < 100; i++) put(ks, `k${i}`, 'v');
  ks.snapshotBegin();
  ks.flush();
  assert.ok(ks.snapshotActive(), 'a flush does not end the snapshot (the job does)');
  for (let i = 0; i < 100; i++) put(ks, `n${i}`, 'v');
  assert.is(pending(ks), 0);
  ks.snapshotEnd();
  ks.snapshotBegin();
  assert.is(pending(ks), 100);
  ks.snapshotAbandon();
});

test.run();
