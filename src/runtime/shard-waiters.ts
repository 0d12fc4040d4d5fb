// A shard's clients blocked on its keys (BLPOP and the other blocking commands): per key, the
// waiters in the order they blocked, and the keys made ready since the last serve (a key created
// or overwritten while someone waits on it: Redis's signalKeyAsReady). The registry holds
// connection state, not data: it lives in the worker's heap and dies with it (the main thread
// then answers those clients with an error). Bounded by the claim slots (one wait per client).

import type { Keyspace } from '../keyspace/keyspace.js';
import { claimWait, stillWaiting } from './wait-claims.js';

/** One blocked client's registration in this shard. */
export interface Waiter {
  readonly slot: number;
  readonly gen: number;
  readonly proto: 2 | 3;
  /** What to do when served, as the command layer defines it (pop left, move, zpopmin...). */
  readonly op: number;
  /** The keys it waits on in this shard, in its command's order (latin1 strings of their bytes). */
  readonly keys: readonly string[];
  /** The command's other arguments the op needs (destination, count...), copied. */
  readonly extra: readonly Uint8Array[];
}

export class ShardWaiters {
  private readonly byKey = new Map<string, Waiter[]>();
  private readonly bySlot = new Map<number, Waiter>();
  private readonly ready: string[] = [];
  private readonly readySet = new Set<string>();
  private readonly onWrite = (e: number): void => {
    const ks = this.ks;
    const key = latin1(ks.bytes(), ks.keyOffset(e), ks.keyLength(e));
    if (this.byKey.has(key) && !this.readySet.has(key)) {
      this.readySet.add(key);
      this.ready.push(key);
    }
  };

  /** FLUSHALL / FLUSHDB: every watched key is ready (a stream's XREADGROUP waits end). */
  private readonly onFlush = (): void => {
    for (const key of this.byKey.keys()) {
      if (!this.readySet.has(key)) {
        this.readySet.add(key);
        this.ready.push(key);
      }
    }
  };

  constructor(
    private readonly ks: Keyspace,
    readonly claims: Int32Array,
  ) {}

  /** Clients registered here. */
  get size(): number {
    return this.bySlot.size;
  }

  /** Registers w on each of its keys (after any older registration of its client, which is stale). */
  add(w: Waiter): void {
    const old = this.bySlot.get(w.slot);
    if (old !== undefined) this.remove(old);
    this.bySlot.set(w.slot, w);
    for (const k of w.keys) {
      const q = this.byKey.get(k);
      if (q === undefined) this.byKey.set(k, [w]);
      else q.push(w);
    }
    this.ks.onWrite = this.onWrite;
    this.ks.onDelete = this.onWrite;
    this.ks.onFlush = this.onFlush;
  }

  /** Drops the registration of the slot's wait gen (the main thread ended it). */
  cancel(slot: number, gen: number): void {
    const w = this.bySlot.get(slot);
    if (w !== undefined && w.gen === gen) this.remove(w);
  }

  remove(w: Waiter): void {
    if (this.bySlot.get(w.slot) !== w) return;
    this.bySlot.delete(w.slot);
    for (const k of w.keys) {
      const q = this.byKey.get(k);
      if (q === undefined) continue;
      const i = q.indexOf(w);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.byKey.delete(k);
    }
    if (this.bySlot.size === 0) {
      this.ks.onWrite = null;
      this.ks.onDelete = null;
      this.ks.onFlush = null;
    }
  }

  /** The next key made ready since the last call, or undefined. */
  nextReady(): string | undefined {
    const k = this.ready.shift();
    if (k !== undefined) this.readySet.delete(k);
    return k;
  }

  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  /** The waiters on key in the order they blocked (a copy: serving one changes the queue);
   * registrations whose wait ended elsewhere are dropped on the way. */
  waitersOn(key: string): Waiter[] {
    const q = this.byKey.get(key);
    if (q === undefined) return [];
    const live: Waiter[] = [];
    for (const w of [...q]) {
      if (stillWaiting(this.claims, w.slot, w.gen)) live.push(w);
      else this.remove(w);
    }
    return live;
  }

  /** Claims w for this shard (one compare-and-swap shared with every other shard and the main
   * thread); on success its registrations here are dropped. */
  claim(w: Waiter): boolean {
    if (!claimWait(this.claims, w.slot, w.gen)) {
      this.remove(w);
      return false;
    }
    this.remove(w);
    return true;
  }
}

/** The key bytes as a string (one char per byte): a Map key that round-trips any bytes. */
export function latin1(buf: Uint8Array, off: number, len: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('latin1');
}
