// WATCH within one shard: which clients watch which keys of this keyspace, and which of those
// clients saw a watched key change since (the dirty set). Fed by the keyspace's watcher hook,
// installed only while some client watches here, so a shard nobody watches pays one null test per
// change. Invariants: `byClient` and `byKey` name the same (client, key) pairs; a dirty client
// watches at least one key here; `epoch` is new for every registry, so a restarted shard (whose
// registry died with its worker) is told apart from the one a client watched on.

import type { Keyspace, KeyspaceWatcher } from './keyspace.js';
import { assert } from '../util/assert.js';

/** Keys one client may watch on one shard (Redis has no limit; ours bounds the registry). */
export const WATCHED_KEYS_MAX = 1 << 20;

export class WatchRegistry implements KeyspaceWatcher {
  /** Never 0 (0 stands for "watches nothing here" in the __exec frame). */
  readonly epoch = 1 + Math.floor(Math.random() * 0x7ffffffe);
  private readonly byKey = new Map<string, Set<number>>();
  private readonly byClient = new Map<number, string[]>();
  private readonly dirty = new Set<number>();

  constructor(private readonly ks: Keyspace) {}

  /** Client `id` watches key buf[off, +len). A key already expired counts as absent (it is
   * deleted now), so that its later removal by expiry is no change, as in Redis. */
  watch(id: number, buf: Uint8Array, off: number, len: number): void {
    this.ks.find(buf, off, len);
    const key = Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('latin1');
    let keys = this.byClient.get(id);
    if (keys === undefined) {
      keys = [];
      this.byClient.set(id, keys);
    }
    let clients = this.byKey.get(key);
    if (clients === undefined) {
      clients = new Set();
      this.byKey.set(key, clients);
    }
    if (clients.has(id)) return;
    if (keys.length >= WATCHED_KEYS_MAX) throw new Error(`a client may watch at most ${WATCHED_KEYS_MAX} keys of one shard`);
    clients.add(id);
    keys.push(key);
    this.ks.watcher = this;
  }

  /** True when client `id` may run its transaction: none of its keys here changed since WATCH,
   * and none expired (looked up now, so that one past its time is deleted and counts). */
  clean(id: number): boolean {
    const keys = this.byClient.get(id);
    if (keys === undefined) return true;
    for (const k of keys) {
      const b = Buffer.from(k, 'latin1');
      this.ks.find(b, 0, b.length);
    }
    return !this.dirty.has(id);
  }

  /** Client `id` watches nothing here any more (UNWATCH, EXEC, DISCARD, a disconnect). */
  unwatch(id: number): void {
    const keys = this.byClient.get(id);
    if (keys === undefined) return;
    this.byClient.delete(id);
    this.dirty.delete(id);
    for (const k of keys) {
      const clients = this.byKey.get(k);
      assert(clients !== undefined && clients.has(id), () => `watch registry: client ${id} watches ${k}, which does not name it`);
      clients.delete(id);
      if (clients.size === 0) this.byKey.delete(k);
    }
    if (this.byClient.size === 0) {
      assert(this.byKey.size === 0, 'watch registry: keys watched by no client');
      this.ks.watcher = null;
    }
  }

  get clients(): number {
    return this.byClient.size;
  }

  keyChanging(e: number): void {
    const ks = this.ks;
    const u8 = ks.bytes();
    const key = Buffer.from(u8.buffer, u8.byteOffset + ks.keyOffset(e), ks.keyLength(e)).toString('latin1');
    const clients = this.byKey.get(key);
    if (clients !== undefined) for (const id of clients) this.dirty.add(id);
  }

  /** FLUSHALL / FLUSHDB: as Redis's touchAllWatchedKeysInDb, a watched key that exists now makes
   * its clients dirty; one that does not exist is left alone. */
  flushing(): void {
    for (const [key, clients] of this.byKey) {
      const b = Buffer.from(key, 'latin1');
      if (this.ks.peek(b, 0, b.length) !== 0) for (const id of clients) this.dirty.add(id);
    }
  }
}

const registries = new WeakMap<Keyspace, WatchRegistry>();

/** The registry of a keyspace (one per shard incarnation: a restarted worker attaches a new
 * Keyspace object and so gets a new registry with a new epoch). */
export function watchRegistryOf(ks: Keyspace): WatchRegistry {
  let r = registries.get(ks);
  if (r === undefined) {
    r = new WatchRegistry(ks);
    registries.set(ks, r);
  }
  return r;
}
