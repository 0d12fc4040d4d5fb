// The keyspace of one shard: an arena of entries and an open-addressing index, all inside one
// growable SharedArrayBuffer, so that every byte of state (including allocator free lists,
// counters and resize progress) survives the worker that owns it. Only the owning shard writes it.
// Entry handles are byte offsets into the arena; any mutating call may invalidate handles.
// SKELETON: the bodies are filled in by the keyspace implementation.

export const TYPE_STRING = 0;
export type ValueType = typeof TYPE_STRING;

export type EvictionPolicy =
  | 'noeviction'
  | 'allkeys-lru'
  | 'allkeys-lfu'
  | 'volatile-lru'
  | 'volatile-lfu'
  | 'volatile-ttl'
  | 'allkeys-random'
  | 'volatile-random';

export interface KeyspaceStats {
  keys: number;
  expires: number;
  /** Exact bytes in use: allocated entry blocks (size-class rounded) + index + header. */
  usedMemory: number;
  /** Bytes of the SharedArrayBuffer currently committed (its byteLength). */
  arenaBytes: number;
  indexCapacity: number;
  resizing: boolean;
  expiredKeys: number;
  evictedKeys: number;
  keyspaceHits: number;
  keyspaceMisses: number;
}

export interface CreateOptions {
  initialBytes?: number;
}

export class Keyspace {
  /** Allocates fresh state. The supervisor keeps it and hands it to every incarnation of the shard. */
  static createMemory(opts?: CreateOptions): SharedArrayBuffer {
    void opts;
    throw new Error('not implemented');
  }

  /** Cached clock in ms used for expiry decisions; the shard sets it once per batch. */
  now = Date.now();

  /** Attaches to existing state (fresh or left by a crashed incarnation) and checks it. */
  constructor(readonly memory: SharedArrayBuffer) {}

  /** Handle of the live entry for key, or 0. An expired entry is deleted and 0 returned. */
  find(buf: Uint8Array, off: number, len: number): number { void buf; void off; void len; return 0; }
  /** Records a hit/miss and updates the LRU/LFU clock of e (call on reads by commands). */
  touch(e: number): void { void e; }
  /** Inserts or overwrites key with a value of valueLen bytes (contents uninitialised unless
   * value is given) and the given type and expiry (0 = none). Returns the entry handle. */
  set(key: Uint8Array, koff: number, klen: number, value: Uint8Array | null, voff: number, vlen: number, type: ValueType, expireAtMs: number): number { void key; void koff; void klen; void value; void voff; void vlen; void type; void expireAtMs; return 0; }
  /** Changes the value length of e keeping the first min(old,new) bytes; returns the (maybe moved) handle. */
  resizeValue(e: number, newLen: number): number { void newLen; return e; }
  delete(buf: Uint8Array, off: number, len: number): boolean { void buf; void off; void len; return false; }
  deleteEntry(e: number): void { void e; }
  flush(): void {}

  /** The arena as bytes; key and value of e live at keyOffset/valueOffset inside it. */
  bytes(): Uint8Array { return new Uint8Array(0); }
  keyOffset(e: number): number { return e; }
  keyLength(e: number): number { return e; }
  valueOffset(e: number): number { return e; }
  valueLength(e: number): number { return e; }
  type(e: number): ValueType { void e; return TYPE_STRING; }
  expireAt(e: number): number { return e; }
  setExpireAt(e: number, expireAtMs: number): void { void e; void expireAtMs; }
  slotOf(e: number): number { return e; }

  size(): number { return 0; }
  expiresCount(): number { return 0; }
  usedMemory(): number { return 0; }
  stats(): KeyspaceStats { throw new Error('not implemented'); }
  resetStats(): void {}

  /** Redis-style SCAN over the index: visits some entries, returns the next cursor (0 = done).
   * Every key present for the whole scan is returned at least once, also across a resize. */
  scan(cursor: number, count: number, visit: (e: number) => void): number { void cursor; void count; void visit; return 0; }
  /** A uniformly-ish random live entry, or 0 when empty. */
  randomEntry(): number { return 0; }
  countInSlot(slot: number): number { return slot; }
  /** Visits up to count entries of the slot. */
  keysInSlot(slot: number, count: number, visit: (e: number) => void): void { void slot; void count; void visit; }

  /** One active-expiry step, as Redis's cycle: samples volatile keys, deletes expired ones, stops at
   * timeLimitMs. Returns how many it deleted. */
  activeExpireCycle(timeLimitMs: number): number { return timeLimitMs; }
  /** Evicts one key chosen by policy among `samples` sampled candidates. False if none is evictable. */
  evictOne(policy: EvictionPolicy, samples: number): boolean { void policy; void samples; return false; }
  /** Does a bounded amount of incremental index migration; true while a resize is in progress. */
  rehashStep(): boolean { return false; }
}
