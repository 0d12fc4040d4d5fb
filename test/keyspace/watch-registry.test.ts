// The shard's WATCH registry on a bare keyspace: which changes make a watching client dirty
// (writes, deletes, expiry seen at the check, FLUSHALL of an existing key), which do not (other
// keys, an expired key's removal when it was already expired at WATCH, FLUSHALL of a missing key),
// and that the keyspace's watcher hook is installed only while someone watches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WatchRegistry, watchRegistryOf } from '../../src/keyspace/watch-registry.js';
import { b, del, fresh, handle, put } from './helpers.js';
import type { Keyspace } from '../../src/keyspace/keyspace.js';

function watch(r: WatchRegistry, id: number, key: string): void {
  const k = b(key);
  r.watch(id, k, 0, k.length);
}

function setup(): { ks: Keyspace; r: WatchRegistry } {
  const ks = fresh();
  return { ks, r: watchRegistryOf(ks) };
}

test('one registry per keyspace, with a non-zero epoch of its own', () => {
  const a = fresh();
  const c = fresh();
  assert.is(watchRegistryOf(a), watchRegistryOf(a));
  assert.is.not(watchRegistryOf(a), watchRegistryOf(c));
  assert.ok(watchRegistryOf(a).epoch > 0);
});

test('a write, an overwrite, a delete or an expiry change of a watched key makes its watchers dirty', () => {
  for (const change of [
    (ks: Keyspace) => put(ks, 'k', 'new'),
    (ks: Keyspace) => del(ks, 'k'),
    (ks: Keyspace) => ks.setExpireAt(handle(ks, 'k'), Date.now() + 10_000),
  ]) {
    const { ks, r } = setup();
    put(ks, 'k', 'v');
    watch(r, 1, 'k');
    watch(r, 2, 'k');
    watch(r, 3, 'other');
    change(ks);
    assert.not.ok(r.clean(1));
    assert.not.ok(r.clean(2));
    assert.ok(r.clean(3));
  }
});

test('a key created after WATCH counts; a client watching nothing is clean', () => {
  const { ks, r } = setup();
  watch(r, 1, 'new');
  assert.ok(r.clean(1));
  put(ks, 'new', 'x');
  assert.not.ok(r.clean(1));
  assert.ok(r.clean(99));
});

test('expiry: a key past its time at the check is dirty; one already expired at WATCH is not', () => {
  const { ks, r } = setup();
  const now = Date.now();
  ks.now = now;
  put(ks, 'soon', 'v', now + 100);
  put(ks, 'gone', 'v', now + 50);
  ks.now = now + 60;
  watch(r, 1, 'soon');
  watch(r, 2, 'gone');
  assert.ok(r.clean(1));
  assert.ok(r.clean(2));
  ks.now = now + 200;
  assert.not.ok(r.clean(1));
  assert.ok(r.clean(2));
});

test('FLUSHALL makes dirty the watchers of keys that existed, not of missing ones', () => {
  const { ks, r } = setup();
  put(ks, 'here', 'v');
  watch(r, 1, 'here');
  watch(r, 2, 'missing');
  ks.flush();
  assert.not.ok(r.clean(1));
  assert.ok(r.clean(2));
});

test('unwatch forgets the client, and the hook goes once nobody watches', () => {
  const { ks, r } = setup();
  assert.is(ks.watcher, null);
  watch(r, 1, 'k');
  watch(r, 1, 'k');
  watch(r, 2, 'k');
  assert.is(ks.watcher, r);
  put(ks, 'k', 'v');
  r.unwatch(1);
  assert.ok(r.clean(1));
  assert.is(r.clients, 1);
  r.unwatch(2);
  assert.is(r.clients, 0);
  assert.is(ks.watcher, null);
  watch(r, 1, 'k');
  assert.ok(r.clean(1), 'a new WATCH starts clean');
});

test.run();
