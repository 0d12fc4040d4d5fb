// The keyspace of one shard: an arena of entries and an open-addressing index, all inside one
// growable SharedArrayBuffer, so that every byte of state (including allocator free lists,
// counters and resize progress) survives the worker that owns it. Only the owning shard writes it.
// Entry handles are byte offsets into the arena; any mutating call may invalidate handles, and
// may grow the buffer, so call bytes() again after one.
//
// Layout (see layout.ts): header at 0 (allocator, index, expiry, stats, 16384 slot lists), then
// blocks: entries (24-byte header, key, value, tail words), index tables, the volatile array.
// Entry header: next/prev in its slot list, access clock (LRU seconds + LFU counter, see
// clock.ts), key length|type|flags|TTL|size class, value length, low 32 bits of the CAS. What only
// some keys need costs only them: a TTL takes the block's last word (the index of the key's
// volatile record, which holds the expire-at), non-zero memcached flags the word in front of it
// (or the last word), the length of a key of 64 KiB or more the word in front of the key. Gaining
// either tail word may move the entry to a larger block (set, setFlags and setExpireAt return
// the handle). Neither the hash nor the slot is stored: both are computed from the key.
// CAS: every set() and resizeValue() gives the entry the next value of the shard's counter (kept
// in the header, so it survives restarts and flushes); in-place writers call bumpCas(). The entry
// keeps the counter's low 32 bits and cas() rebuilds the rest from the counter: exact for entries
// written in the last 2^32 writes of the shard; an older entry reads as a larger value, never as
// one a client could hold from before its last write (see cas()).
//
// Hits and misses: touch(e) counts a hit, miss() counts a miss; find() counts neither (writes look
// keys up too). Expired keys found by find(), randomEntry() and activeExpireCycle() count in
// expiredKeys.
import { assert, unreachable } from '../util/assert.js';
import { Arena, KeyspaceFullError, newGrowableMemory, roundToPage } from './arena.js';
import { idleSeconds, initialClock, lfuDecayed, lruNow, touchedClock } from './clock.js';
import { hash32 } from './hash.js';
import { IndexTable, MIGRATE_PER_STEP, MIN_INDEX_CAPACITY } from './index-table.js';
import {
  CLASS_SIZE, classOf, H_LAZY, E_CAS, E_CLOCK, E_META, E_NEXT, E_PREV, E_VLEN, entryHash, entryKeyLength,
  entryKeyOffset, ENTRY_HEADER_BYTES, F_CAS, F_DIRTY, F_EVICTED, F_EXPIRED, F_HITS, F_MISSES, F_USED, flagsWord,
  H_FREE, H_HEADER_BYTES, H_KEYS, H_MAGIC, H_RNG, H_SNAP, KLEN_LONG, keyPrefixBytes, META_FLAGS, META_KLEN_MASK,
  META_RESERVED, META_SNAP, META_TYPE_MASK, META_TYPE_SHIFT, META_VOL, H_SLOT_COUNT, H_SLOT_HEAD, H_TOP, H_VERSION,
  HEADER_BYTES, MAGIC, NUM_CLASSES, SNAP_ACTIVE, SNAP_MARK, tailBytes, VERSION, volWord,
} from './layout.js';
import { keySlot, SLOT_COUNT } from './slot.js';
import { VolatileSet } from './volatile-set.js';
import { D_LAZY_NEXT, type ElementTable } from './element-table.js';
import { readU32 } from './pack.js';
import type { CollectionKind } from './collection-kind.js';
import type { ElementEmit, ImageOut, ValueKind } from './value-kind.js';
import { VALUE_TYPES } from './value-kinds.js';

export { KeyspaceFullError } from './arena.js';
export { keySlot } from './slot.js';

export { TYPE_HASH, TYPE_LIST, TYPE_NAMES, TYPE_SET, TYPE_STREAM, TYPE_STRING, TYPE_ZSET, type ValueType } from './value-types.js';
import { TYPE_STRING, type ValueType } from './value-types.js';
import type { CollectionLimits } from '../core/types.js';
export type { CollectionLimits };

export const DEFAULT_COLLECTION_LIMITS: CollectionLimits = {
  hashMaxListpackEntries: 512,
  hashMaxListpackValue: 64,
  setMaxIntsetEntries: 512,
  setMaxListpackEntries: 128,
  setMaxListpackValue: 64,
  listMaxListpackSize: -2,
  listCompressDepth: 0,
  zsetMaxListpackEntries: 128,
  zsetMaxListpackValue: 64,
  streamNodeMaxBytes: 4096,
  streamNodeMaxEntries: 100,
};

/** Bytes of a collection's value that say what it holds outside its entry (encoding, descriptor). */
const HELD_VALUE_BYTES = 8;
/** Elements freed per lazyFreeStep. */
const LAZY_FREE_PER_STEP = 4096;

// The policy names are the configuration's (Redis's); one definition for both.
import type { EvictionPolicy } from '../core/types.js';
export type { EvictionPolicy };

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

/** The allocator's figures in bytes: `used` counts allocated blocks with the header and index
 * (usedMemory), `top` the bump pointer (used + free-listed + carve region), `committed` the buffer. */
export interface AllocatorFigures {
  used: number;
  top: number;
  committed: number;
  carveLeft: number;
  indexBytes: number;
  volatileBytes: number;
  lazyFreeBytes: number;
}

/** Told of every change to the keyspace, from the shard's single thread (persistence: the log of
 * effects and the snapshot's copy-on-write). `changing` comes before e's key, value, expiry or
 * flags change or e is deleted, while e still holds its old state; `created` right after a new
 * entry got its key (its value may not be written yet); `flushing` before every key goes. */
export interface KeyspaceObserver {
  changing(e: number): void;
  created(e: number): void;
  flushing(): void;
  /** Before one element (field, member) of e's large collection changes or goes: buf[off, +len)
   * names it. The log records that element's resulting state, not the whole collection. */
  elementChanging(e: number, buf: Uint8Array, off: number, len: number): void;
  /** Before only e's expiry changes (a large collection's log record then carries no elements). */
  expiryChanging(e: number): void;
  /** Before list operation `op` (list.ts LOP_*) changes e, whose length is lenBefore: a, b and
   * the element buf[off, +len) are its arguments. The log records the operation, not the list. */
  listChanging(e: number, op: number, lenBefore: number, a: number, b: number, buf: Uint8Array, off: number, len: number): void;
}

/** Told that a key changes (WATCH, src/keyspace/watch-registry.ts): `keyChanging(e)` wherever the
 * observer hears of a change to e (before it, e still holds its key; or right after e was created),
 * `flushing()` before every key goes. Installed only while some client watches a key here. */
export interface KeyspaceWatcher {
  keyChanging(e: number): void;
  flushing(): void;
}

export interface CreateOptions {
  initialBytes?: number;
}

/** Size in bytes of every entry's header (the key follows it). */
export const ENTRY_OVERHEAD_BYTES = ENTRY_HEADER_BYTES;

const DEFAULT_INITIAL_BYTES = 1 << 20;
const EXPIRE_CYCLE_SAMPLES = 20;
/** Byte copies up to this length use a loop (no allocation); longer ones use subarray + set. */
const COPY_LOOP_MAX = 64;
const RANDOM_TRIES = 64;
/** Largest entry block: the largest size class below 4 GiB. */
const MAX_ENTRY_BYTES = 2 ** 31 + 2 ** 29 * 3;
const SCORE_LRU = 0;
const SCORE_LFU = 1;
const SCORE_TTL = 2;

/** A block of `size` bytes can keep a payload of `need` bytes without wasting more than half. */
function fitsInPlace(need: number, size: number): boolean {
  return need <= size && (need * 2 > size || size <= 64);
}

export class Keyspace {
  /** Allocates fresh state. The supervisor keeps it and hands it to every incarnation of the shard. */
  static createMemory(opts?: CreateOptions): SharedArrayBuffer {
    const minBytes = roundToPage(HEADER_BYTES + MIN_INDEX_CAPACITY * 4 + 1);
    const memory = newGrowableMemory(Math.max(minBytes, opts?.initialBytes ?? DEFAULT_INITIAL_BYTES));
    const arena = new Arena(memory);
    formatMemory(arena, new IndexTable(arena), new VolatileSet(arena));
    return memory;
  }

  /** Cached clock in ms used for expiry decisions; the shard sets it once per batch. */
  now = Date.now();

  /** Who hears of changes (null: nobody; no cost beyond the test). */
  observer: KeyspaceObserver | null = null;
  /** Called after every set() with the entry written (null: nobody). The shard installs it while
   * clients are blocked on keys of this shard, so that a key created (or given a new type) wakes
   * them: Redis's signalKeyAsReady in dbAdd. */
  onWrite: ((e: number) => void) | null = null;
  /** Called with an entry about to be deleted (null: nobody). Installed with onWrite: a deleted
   * stream ends XREADGROUP waits on it (Redis's signalDeletedKeyAsReady). */
  onDelete: ((e: number) => void) | null = null;
  /** Called before flush() deletes every key (installed with onDelete, for the same waits). */
  onFlush: (() => void) | null = null;
  /** Called with an expired entry (lazy or active expiry) just before it is deleted, and with an
   * evicted one before eviction deletes it (null: nobody). The shard installs them while
   * notify-keyspace-events asks for 'x' / 'e' events. */
  onExpire: ((e: number) => void) | null = null;
  onEvict: ((e: number) => void) | null = null;
  /** Called after set() created a key that did not exist (Redis's 'new' event in dbAdd). */
  onCreate: ((e: number) => void) | null = null;
  /** Who hears that a key changes, for WATCH (null: no client watches a key of this shard). */
  watcher: KeyspaceWatcher | null = null;

  private readonly arena: Arena;
  private readonly index: IndexTable;
  private readonly vol: VolatileSet;
  /** Per value type, what the keyspace needs of it beyond its entry (null: nothing). */
  private readonly kinds: Array<ValueKind | null>;
  private readonly imageOut: ImageOut = { buf: new Uint8Array(0), off: 0, len: 0 };
  private readonly scratchBuffer = (): Buffer => this.scratch;
  /** Thresholds of the compact encodings (the shard sets them from its settings). */
  limits: CollectionLimits = { ...DEFAULT_COLLECTION_LIMITS };
  /** Where image() left a value's portable bytes (valid until the next image() or mutation). */
  imageBuf: Uint8Array = new Uint8Array(0);
  imageOff = 0;
  imageLen = 0;
  private scratch: Buffer = Buffer.allocUnsafe(4096);
  /** The first bytes of a value being overwritten, until its replacement has its place. */
  private readonly heldValue = new Uint8Array(HELD_VALUE_BYTES);

  /** Attaches to existing state (fresh or left by a crashed incarnation) and checks it. */
  constructor(readonly memory: SharedArrayBuffer) {
    if (memory.byteLength < HEADER_BYTES) throw new Error('keyspace: memory too small');
    this.arena = new Arena(memory);
    this.index = new IndexTable(this.arena);
    this.vol = new VolatileSet(this.arena);
    this.kinds = VALUE_TYPES.map((t) => (t.kind === null ? null : t.kind(this.arena)));
    const u32 = this.arena.u32;
    if (u32[H_MAGIC] !== MAGIC || u32[H_VERSION] !== VERSION || u32[H_HEADER_BYTES] !== HEADER_BYTES) {
      throw new Error('keyspace: memory is not a keyspace of this version');
    }
    if (u32[H_TOP]! > memory.byteLength || u32[H_TOP]! < HEADER_BYTES) throw new Error('keyspace: corrupt header');
  }

  /** Handle of the live entry for key, or 0. An expired entry is deleted and 0 returned. */
  find(buf: Uint8Array, off: number, len: number): number {
    return this.findHashed(buf, off, len, hash32(buf, off, len));
  }

  private findHashed(buf: Uint8Array, off: number, len: number, hash: number): number {
    const e = this.index.lookup(buf, off, len, hash);
    if (e === 0) return 0;
    const u32 = this.arena.u32;
    const meta = u32[(e >>> 2) + E_META]!;
    if ((meta & META_VOL) !== 0 && this.vol.expireAt(u32[((e + CLASS_SIZE[meta >>> 24]!) >>> 2) - 1]!) <= this.now) {
      if (this.onExpire !== null) this.onExpire(e);
      this.deleteHashed(e, hash);
      this.arena.f64[F_EXPIRED] = this.arena.f64[F_EXPIRED]! + 1;
      return 0;
    }
    return e;
  }

  /** Index of e's volatile record, or -1 when e has no TTL. */
  private volIndex(e: number): number {
    const u32 = this.arena.u32;
    return (u32[(e >>> 2) + E_META]! & META_VOL) !== 0 ? u32[volWord(u32, e)]! : -1;
  }

  /** Records a hit and updates the LRU/LFU clock of e (call on reads by commands). */
  touch(e: number): void {
    const u32 = this.arena.u32;
    const w = (e >>> 2) + E_CLOCK;
    u32[w] = touchedClock(u32[w]!, lruNow(this.now), this.random() / 4294967296);
    this.arena.f64[F_HITS] = this.arena.f64[F_HITS]! + 1;
  }

  /** Records a keyspace miss (call when a read finds no key). */
  miss(): void {
    this.arena.f64[F_MISSES] = this.arena.f64[F_MISSES]! + 1;
  }

  /** Inserts or overwrites key with a value of valueLen bytes (contents uninitialised unless
   * value is given) and the given type and expiry (0 = none). Returns the entry handle.
   * An overwrite keeps the LFU counter and resets the LRU clock; it gives the key the memcached
   * flags passed (0, as every RESP write, unless given) and the next CAS. Throws KeyspaceFullError
   * when the arena cannot grow (nothing is changed then). */
  set(key: Uint8Array, koff: number, klen: number, value: Uint8Array | null, voff: number, vlen: number, type: ValueType, expireAtMs: number, flags = 0): number {
    flags >>>= 0;
    const kx = keyPrefixBytes(klen);
    const need = ENTRY_HEADER_BYTES + kx + klen + vlen + (flags !== 0 ? 4 : 0) + (expireAtMs !== 0 ? 4 : 0);
    if (need > MAX_ENTRY_BYTES) throw new KeyspaceFullError(need);
    const hash = hash32(key, koff, klen);
    this.index.prepareInsert();
    let e = this.index.lookup(key, koff, klen, hash);
    const nowSec = lruNow(this.now);
    let u32 = this.arena.u32;
    let v = -1;
    const created = e === 0;
    if (e !== 0) {
      this.observer?.changing(e);
      this.watcher?.keyChanging(e);
      // What the old value holds outside the block is given back only once the new value has its
      // place (a relocation that fails for want of memory must leave the old value whole): its
      // first bytes (a large collection's encoding and descriptor) are kept aside until then.
      const oldType = (u32[(e >>> 2) + E_META]! >>> META_TYPE_SHIFT) & META_TYPE_MASK;
      const heldBytes = oldType === TYPE_STRING ? 0 : Math.min(u32[(e >>> 2) + E_VLEN]!, HELD_VALUE_BYTES);
      if (heldBytes > 0) this.heldValue.set(this.arena.u8.subarray(this.valueOffset(e), this.valueOffset(e) + heldBytes));
      const meta = u32[(e >>> 2) + E_META]!;
      if (!fitsInPlace(need, CLASS_SIZE[meta >>> 24]!)) {
        // relocate() carries the old tail words along, so the block must hold them next to the key
        // even when the new value is shorter than they are.
        const keep = ENTRY_HEADER_BYTES + kx + klen;
        e = this.relocate(e, classOf(Math.max(need, keep + tailBytes(meta))), keep, hash);
        u32 = this.arena.u32;
      }
      if (heldBytes > 0) this.releaseFrom(oldType, this.heldValue, 0, heldBytes);
      v = this.volIndex(e);
      const w = e >>> 2;
      u32[w + E_VLEN] = vlen;
      u32[w + E_META] = ((u32[w + E_META]! & ~(META_TYPE_MASK << META_TYPE_SHIFT)) | ((type & META_TYPE_MASK) << META_TYPE_SHIFT)) >>> 0;
      u32[w + E_CLOCK] = ((u32[w + E_CLOCK]! & 0xff000000) | nowSec) >>> 0;
    } else {
      const cls = classOf(need);
      e = this.arena.alloc(cls);
      u32 = this.arena.u32;
      const u8 = this.arena.u8;
      const w = e >>> 2;
      const slot = keySlot(key, koff, klen);
      u32[w + E_CLOCK] = initialClock(nowSec);
      const mark = (u32[H_SNAP]! & SNAP_MARK) !== 0 ? META_SNAP : 0;
      u32[w + E_META] = (Math.min(klen, KLEN_LONG) | ((type & META_TYPE_MASK) << META_TYPE_SHIFT) | mark | (cls << 24)) >>> 0;
      u32[w + E_VLEN] = vlen;
      if (kx !== 0) u32[w + ENTRY_HEADER_BYTES / 4] = klen;
      const head = u32[H_SLOT_HEAD + slot]!;
      u32[w + E_NEXT] = head;
      u32[w + E_PREV] = 0;
      if (head !== 0) u32[(head >>> 2) + E_PREV] = e;
      u32[H_SLOT_HEAD + slot] = e;
      u32[H_SLOT_COUNT + slot]!++;
      const ko = e + ENTRY_HEADER_BYTES + kx;
      if (klen <= COPY_LOOP_MAX && key.buffer !== this.memory) {
        for (let i = 0; i < klen; i++) u8[ko + i] = key[koff + i]!;
      } else {
        this.copyIn(key, koff, ko, klen);
      }
      this.index.insert(e, hash);
      u32[H_KEYS]!++;
      this.observer?.created(e);
      this.watcher?.keyChanging(e);
    }
    if (expireAtMs === 0) {
      if (v >= 0) this.vol.remove(v);
      v = -1;
    } else if (v >= 0) {
      this.vol.setExpireAt(v, expireAtMs);
    } else {
      v = this.vol.add(e, expireAtMs);
    }
    this.writeTails(e, flags, v);
    this.nextCas(e);
    if (value !== null) this.copyIn(value, voff, e + ENTRY_HEADER_BYTES + kx + klen, vlen);
    if (this.onWrite !== null) this.onWrite(e);
    if (created && this.onCreate !== null) this.onCreate(e);
    return e;
  }

  /** Sets e's META_FLAGS and META_VOL and writes their words at the end of its block: the
   * volatile record index v (-1: none) in the last word, flags (0: none) in front of it. The
   * block must have room for them after the value. */
  private writeTails(e: number, flags: number, v: number): void {
    const u32 = this.arena.u32;
    const w = e >>> 2;
    let meta = u32[w + E_META]! & ~(META_FLAGS | META_VOL);
    let t = (e + CLASS_SIZE[meta >>> 24]!) >>> 2;
    if (v >= 0) {
      u32[--t] = v;
      meta |= META_VOL;
    }
    if (flags !== 0) {
      u32[--t] = flags;
      meta |= META_FLAGS;
    }
    u32[w + E_META] = meta >>> 0;
  }

  /** Gives e the shard's next CAS value; returns it. In-place writers call it BEFORE changing the
   * value bytes, so that observers see the entry as it was. */
  bumpCas(e: number): number {
    this.observer?.changing(e);
    this.watcher?.keyChanging(e);
    return this.nextCas(e);
  }

  private nextCas(e: number): number {
    const f64 = this.arena.f64;
    f64[F_DIRTY] = f64[F_DIRTY]! + 1;
    const cas = f64[F_CAS]! + 1;
    f64[F_CAS] = cas;
    this.arena.u32[(e >>> 2) + E_CAS] = cas >>> 0; // the low 32 bits (cas < 2^53)
    return cas;
  }

  /** The CAS value of e (>= 1): the largest value <= the shard counter whose low 32 bits are the
   * entry's. Exact when e was written in the last 2^32 writes of the shard. For an older entry it
   * is larger than its true CAS and than every value the counter had 2^32 writes ago, so it can
   * never equal a CAS that a client read before e's last write: a compare against it fails (as
   * after a write), it never succeeds wrongly. Two keys can then read the same value, which
   * memcached's per-key compare does not mind. */
  cas(e: number): number {
    const counter = this.arena.f64[F_CAS]!;
    return counter - (((counter >>> 0) - this.arena.u32[(e >>> 2) + E_CAS]!) >>> 0);
  }

  /** Set by the collection operations while a change confined to one element (already announced
   * by elementChanging) rewrites a compact value's bytes: the log then records that element, not
   * the value (see ShardPersistence.changing). */
  elementScope = false;

  /** Before a command changes one element of e's large collection in place (see
   * KeyspaceObserver.elementChanging); counts one change (dirty). */
  elementChanging(e: number, buf: Uint8Array, off: number, len: number): void {
    this.observer?.elementChanging(e, buf, off, len);
    this.watcher?.keyChanging(e);
    const f64 = this.arena.f64;
    f64[F_DIRTY] = f64[F_DIRTY]! + 1;
  }

  /** Before a list operation changes e (see KeyspaceObserver.listChanging); counts one change.
   * The caller sets elementScope while it rewrites the list, so that the change is not recorded
   * whole as well. */
  listChanging(e: number, op: number, lenBefore: number, a: number, b: number, buf: Uint8Array, off: number, len: number): void {
    this.observer?.listChanging(e, op, lenBefore, a, b, buf, off, len);
    this.watcher?.keyChanging(e);
    const f64 = this.arena.f64;
    f64[F_DIRTY] = f64[F_DIRTY]! + 1;
  }

  /** memcached client flags of e (0 unless set through memcached). */
  flags(e: number): number {
    const u32 = this.arena.u32;
    return (u32[(e >>> 2) + E_META]! & META_FLAGS) === 0 ? 0 : u32[flagsWord(u32, e)]!;
  }

  /** Sets the memcached flags of e, keeping its CAS; returns the (maybe moved) handle: non-zero
   * flags take a tail word of the block, which may need a larger one. */
  setFlags(e: number, flags: number): number {
    flags >>>= 0;
    this.observer?.changing(e);
    this.watcher?.keyChanging(e);
    const meta = this.arena.u32[(e >>> 2) + E_META]!;
    if (flags !== 0 && (meta & META_FLAGS) === 0) e = this.makeRoom(e, meta);
    this.writeTails(e, flags, this.volIndex(e));
    return e;
  }

  /** e, or e moved to a block with room for one more tail word than its meta bits ask for. */
  private makeRoom(e: number, meta: number): number {
    const payload = this.payloadBytes(e);
    const need = payload + tailBytes(meta) + 4;
    if (need <= CLASS_SIZE[meta >>> 24]!) return e;
    const u32 = this.arena.u32;
    return this.relocate(e, classOf(need), payload, entryHash(this.arena.u8, u32, e));
  }

  /** Header, key length word, key and value bytes of e (without the tail words). */
  private payloadBytes(e: number): number {
    const u32 = this.arena.u32;
    const w = e >>> 2;
    const klen = entryKeyLength(u32, w);
    return ENTRY_HEADER_BYTES + keyPrefixBytes(klen) + klen + u32[w + E_VLEN]!;
  }

  /** Changes the value length of e keeping the first min(old,new) bytes (bytes past the old
   * length are zero); returns the (maybe moved) handle. Growth leaves up to 50% (at most 1 MiB)
   * slack in the block so that repeated appends are amortised O(1). */
  resizeValue(e: number, newLen: number): number {
    this.observer?.changing(e);
    this.watcher?.keyChanging(e);
    let u32 = this.arena.u32;
    const w = e >>> 2;
    const meta = u32[w + E_META]!;
    const klen = entryKeyLength(u32, w);
    const kx = keyPrefixBytes(klen);
    const vlen = u32[w + E_VLEN]!;
    const need = ENTRY_HEADER_BYTES + kx + klen + newLen + tailBytes(meta);
    if (need > MAX_ENTRY_BYTES) throw new KeyspaceFullError(need);
    if (!fitsInPlace(need, CLASS_SIZE[meta >>> 24]!)) {
      const target = newLen > vlen ? need + Math.min(Math.floor(need / 2), 1 << 20) : need;
      e = this.relocate(e, classOf(target), ENTRY_HEADER_BYTES + kx + klen + Math.min(vlen, newLen), entryHash(this.arena.u8, u32, e));
      u32 = this.arena.u32;
    }
    u32[(e >>> 2) + E_VLEN] = newLen;
    this.nextCas(e);
    if (newLen > vlen) {
      const vo = e + ENTRY_HEADER_BYTES + kx + klen;
      this.arena.u8.fill(0, vo + vlen, vo + newLen);
    }
    return e;
  }

  delete(buf: Uint8Array, off: number, len: number): boolean {
    const hash = hash32(buf, off, len);
    const e = this.findHashed(buf, off, len, hash);
    if (e === 0) return false;
    this.deleteHashed(e, hash);
    return true;
  }

  deleteEntry(e: number): void {
    this.deleteHashed(e, entryHash(this.arena.u8, this.arena.u32, e));
  }

  /** deleteEntry, for a caller that has the hash of e's key at hand. */
  private deleteHashed(e: number, hash: number): void {
    if (this.onDelete !== null) this.onDelete(e);
    this.observer?.changing(e);
    this.watcher?.keyChanging(e);
    const f64 = this.arena.f64;
    f64[F_DIRTY] = f64[F_DIRTY]! + 1;
    const u32 = this.arena.u32;
    const w = e >>> 2;
    const meta = u32[w + E_META]!;
    const slot = keySlot(this.arena.u8, entryKeyOffset(u32, e), entryKeyLength(u32, w));
    // Checked before anything changes, so that a shard stopped here restarts on whole state.
    assert(u32[H_SLOT_COUNT + slot]! > 0, () => `keyspace: deleting entry ${e} from slot ${slot}, whose count is 0`);
    assert(u32[H_KEYS]! > 0, () => `keyspace: deleting entry ${e} with a key count of 0`);
    const v = (meta & META_VOL) !== 0 ? u32[volWord(u32, e)]! : -1;
    assert(v < 0 || (v < this.vol.length() && this.vol.entry(v) === e), () => `keyspace: entry ${e} names volatile record ${v}, which does not name it`);
    this.index.remove(e, hash);
    const next = u32[w + E_NEXT]!;
    const prev = u32[w + E_PREV]!;
    if (prev !== 0) u32[(prev >>> 2) + E_NEXT] = next;
    else u32[H_SLOT_HEAD + slot] = next;
    if (next !== 0) u32[(next >>> 2) + E_PREV] = prev;
    u32[H_SLOT_COUNT + slot]!--;
    if (v >= 0) this.vol.remove(v);
    if (((meta >>> META_TYPE_SHIFT) & META_TYPE_MASK) !== TYPE_STRING) this.releaseValue(e);
    this.arena.free(e, meta >>> 24);
    this.arena.u32[H_KEYS]!--;
    this.index.afterDelete();
  }

  /** Deletes every key (statistics counters are kept). The buffer does not shrink. */
  flush(): void {
    if (this.onFlush !== null) this.onFlush();
    this.watcher?.flushing();
    this.observer?.flushing();
    const f64 = this.arena.f64;
    f64[F_DIRTY] = f64[F_DIRTY]! + this.size();
    formatMemory(this.arena, this.index, this.vol);
  }

  /** Room in the index for n more keys at once (before a bulk load). Throws a RangeError, with
   * nothing changed, when n is not a count or the index could never hold that many keys. */
  reserve(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`keyspace: cannot reserve room for ${n} keys`);
    this.index.reserve(this.size() + n);
  }

  /** Changes counted since the shard's memory was created (Redis's dirty counter). */
  dirty(): number { return this.arena.f64[F_DIRTY]!; }

  /** The entry stored under key, expired or not, without deleting, counting or touching anything
   * (persistence reads the state a command left). */
  peek(buf: Uint8Array, off: number, len: number): number {
    return this.index.lookup(buf, off, len, hash32(buf, off, len));
  }


  // --- Typed values (see docs/typed-keyspace.md) ----------------------------------------------

  /** The encoding byte of a collection entry (ENC_*), 0 for a string. */
  encoding(e: number): number {
    return this.type(e) === TYPE_STRING ? 0 : this.arena.u8[this.valueOffset(e)]!;
  }

  /** The descriptor of a collection in the large encoding. */
  tableOf(e: number): number {
    return readU32(this.arena.u8, this.valueOffset(e) + 1);
  }

  /** The ValueKind of a type (null for strings): a value module reaches its arena structures
   * through it (list.ts: the quicklist of lists). */
  kindOf(type: number): ValueKind | null {
    return this.kinds[type] ?? null;
  }

  /** The element tables of a collection type (hash or set). */
  tablesFor(type: number): ElementTable {
    return (this.kinds[type] as CollectionKind).tables;
  }

  /** Elements of a collection: fields of a hash, members of a set. */
  elementCount(e: number): number {
    const kind = this.kinds[this.type(e)];
    return kind === null || kind === undefined ? 1 : kind.count(this.arena.u8, this.valueOffset(e), this.valueLength(e));
  }

  /** Bytes e holds beyond its entry block (a large collection's descriptor, tables, elements). */
  childBytes(e: number): number {
    const kind = this.kinds[this.type(e)];
    return kind === null || kind === undefined ? 0 : kind.childBytes(this.arena.u8, this.valueOffset(e), this.valueLength(e));
  }

  /** A uniform fraction in [0, 1) from the keyspace's generator (random elements). */
  randomFraction(): number {
    return this.random() / 4294967296;
  }

  /** Gives back what a value holds outside its entry block: at once when small, else through the
   * lazy-free queue (a 10M-member set must not stall the shard). */
  private releaseValue(e: number): void {
    this.releaseFrom(this.type(e), this.arena.u8, this.valueOffset(e), this.valueLength(e));
  }

  /** releaseValue of a value of `type` whose first bytes are buf[off, +len) (the entry's own, or
   * a copy set() kept aside while it overwrote the entry). */
  private releaseFrom(type: number, buf: Uint8Array, off: number, len: number): void {
    const kind = this.kinds[type];
    if (kind === null || kind === undefined) return;
    const block = kind.release(buf, off, len);
    if (block === 0) return;
    const u32 = this.arena.u32;
    u32[(block >>> 2) + D_LAZY_NEXT] = (u32[H_LAZY]! | type) >>> 0;
    u32[H_LAZY] = block;
  }

  /** Frees a bounded number of blocks of lazily deleted values; true while some are left. */
  lazyFreeStep(budget = LAZY_FREE_PER_STEP): boolean {
    const u32 = this.arena.u32;
    const d = u32[H_LAZY]!;
    if (d === 0) return false;
    const link = u32[(d >>> 2) + D_LAZY_NEXT]!;
    if (this.kinds[link & 7]!.destroyStep(d, budget)) u32[H_LAZY] = link - (link & 7);
    return u32[H_LAZY] !== 0;
  }

  /** Runs lazy-free steps for about ms milliseconds (the shard's cron: a deleted 10M-member set
   * is given back in seconds, at a bounded share of the shard's time). True while some are left. */
  lazyFreeFor(ms: number): boolean {
    const end = performance.now() + ms;
    while (this.lazyFreeStep()) if (performance.now() >= end) return true;
    return false;
  }

  /** Bytes held by values waiting in the lazy-free queue. */
  lazyFreeBytes(): number {
    const u32 = this.arena.u32;
    let n = 0;
    for (let d = u32[H_LAZY]!; d !== 0; ) {
      const link = u32[(d >>> 2) + D_LAZY_NEXT]!;
      n += this.kinds[link & 7]!.queuedBytes(d);
      d = link - (link & 7);
    }
    return n;
  }

  /** The portable image of e's value (see pack.ts): a string's bytes, a compact collection's own
   * bytes, a large one serialized to PACK. Left in imageBuf/imageOff/imageLen. */
  image(e: number): void {
    const vo = this.valueOffset(e);
    const vl = this.valueLength(e);
    const u8 = this.bytes();
    const kind = this.kinds[this.type(e)];
    const out = this.imageOut;
    if (kind === null || kind === undefined) {
      out.buf = u8;
      out.off = vo;
      out.len = vl;
    } else {
      kind.image(u8, vo, vl, out, this.scratchBuffer);
      if (out.buf !== u8 && out.buf.length > this.scratch.length) this.scratch = out.buf as Buffer;
    }
    this.imageBuf = out.buf;
    this.imageOff = out.off;
    this.imageLen = out.len;
  }

  /** Whether a snapshot writes e element by element (a large collection; see element-table.ts). */
  snapshotPiecewise(e: number): boolean {
    const kind = this.kinds[this.type(e)];
    return kind !== null && kind !== undefined && kind.piecewise(this.arena.u8, this.valueOffset(e), this.valueLength(e));
  }

  /** One step of writing e element by element: emits about `count` unwritten elements from SCAN
   * cursor v and marks them written; returns the next cursor (0: every element is written). */
  snapshotPieceStep(e: number, v: number, count: number, emit: ElementEmit): number {
    return this.kinds[this.type(e)]!.snapshotStep(this.arena.u8, this.valueOffset(e), v, count, emit);
  }

  /** Before element buf[off, +len) of e changes: emits it if the snapshot has not written it. */
  snapshotElement(e: number, buf: Uint8Array, off: number, len: number, emit: ElementEmit): void {
    this.kinds[this.type(e)]!.snapshotElement(this.arena.u8, this.valueOffset(e), buf, off, len, emit);
  }

  /** Writes key with a value given as a portable image of `type` (a string's bytes, or an image
   * checked by imageError) in the encoding the limits call for. Returns the entry. */
  setImage(key: Uint8Array, koff: number, klen: number, type: ValueType, buf: Uint8Array, off: number, len: number, expireAtMs: number, flags = 0, keepLarge = false): number {
    const kind = this.kinds[type];
    if (kind === null || kind === undefined) return this.set(key, koff, klen, buf, off, len, type, expireAtMs, flags);
    return kind.store(this, key, koff, klen, buf, off, len, expireAtMs, flags, keepLarge);
  }

  /** True when e holds a collection in its large encoding (one that keeps blocks outside its
   * entry: a hashtable, quicklist or sorted-set tree). */
  largeEncoding(e: number): boolean {
    return this.childBytes(e) > 0;
  }

  // --- Snapshot marks (see META_SNAP) ---------------------------------------------------------

  /** Starts a snapshot: every entry now present becomes pending. */
  snapshotBegin(): void {
    const u32 = this.arena.u32;
    u32[H_SNAP] = ((u32[H_SNAP]! ^ SNAP_MARK) | SNAP_ACTIVE) >>> 0;
  }
  snapshotEnd(): void {
    const u32 = this.arena.u32;
    u32[H_SNAP] = (u32[H_SNAP]! & ~SNAP_ACTIVE) >>> 0;
  }
  snapshotActive(): boolean { return (this.arena.u32[H_SNAP]! & SNAP_ACTIVE) !== 0; }
  /** True while a snapshot runs and has not written e yet. */
  snapshotPending(e: number): boolean {
    const u32 = this.arena.u32;
    const h = u32[H_SNAP]!;
    if ((h & SNAP_ACTIVE) === 0) return false;
    return ((u32[(e >>> 2) + E_META]! & META_SNAP) !== 0) !== ((h & SNAP_MARK) !== 0);
  }
  /** Records that the running snapshot has written e. */
  snapshotDone(e: number): void {
    const u32 = this.arena.u32;
    const w = (e >>> 2) + E_META;
    u32[w] = (u32[H_SNAP]! & SNAP_MARK) !== 0 ? (u32[w]! | META_SNAP) >>> 0 : (u32[w]! & ~META_SNAP) >>> 0;
  }
  /** A snapshot that its shard abandoned (the shard died during it) leaves pending entries behind:
   * marks every entry done and ends it. Returns whether there was one. */
  snapshotAbandon(): boolean {
    if (!this.snapshotActive()) return false;
    const u32 = this.arena.u32;
    for (let s = 0; s < SLOT_COUNT; s++) {
      for (let e = u32[H_SLOT_HEAD + s]!; e !== 0; e = u32[(e >>> 2) + E_NEXT]!) {
        this.snapshotDone(e);
        // Elements of a collection the snapshot was writing piece by piece carry marks too.
        this.kinds[this.type(e)]?.snapshotSettle(this.arena.u8, this.valueOffset(e), this.valueLength(e));
      }
    }
    this.snapshotEnd();
    return true;
  }
  /** First entry of a slot's list, and the next one in its list (0 = end): a walk that must not
   * mutate between the two calls. */
  slotHead(slot: number): number { return this.arena.u32[H_SLOT_HEAD + slot]!; }
  slotNext(e: number): number { return this.arena.u32[(e >>> 2) + E_NEXT]!; }

  /** The arena as bytes; key and value of e live at keyOffset/valueOffset inside it. Valid until
   * the next mutating call. */
  bytes(): Uint8Array {
    this.arena.refresh();
    return this.arena.u8;
  }
  keyOffset(e: number): number { return entryKeyOffset(this.arena.u32, e); }
  keyLength(e: number): number { return entryKeyLength(this.arena.u32, e >>> 2); }
  valueOffset(e: number): number {
    const u32 = this.arena.u32;
    return entryKeyOffset(u32, e) + entryKeyLength(u32, e >>> 2);
  }
  valueLength(e: number): number { return this.arena.u32[(e >>> 2) + E_VLEN]!; }
  type(e: number): ValueType {
    // Only TYPE_STRING exists so far; the stored bits are whatever set() was given.
    return ((this.arena.u32[(e >>> 2) + E_META]! >>> META_TYPE_SHIFT) & META_TYPE_MASK) as ValueType;
  }
  /** Expire-at in ms, or 0 when e has no TTL. */
  expireAt(e: number): number {
    const v = this.volIndex(e);
    return v < 0 ? 0 : this.vol.expireAt(v);
  }
  /** Sets (ms, an integer > 0) or removes (0) the TTL of e; returns the (maybe moved) handle: a
   * first TTL takes a tail word of the block, which may need a larger one. Removing one never
   * moves e (the word becomes slack in its block). */
  setExpireAt(e: number, expireAtMs: number): number {
    this.observer?.expiryChanging(e);
    this.watcher?.keyChanging(e);
    const f64 = this.arena.f64;
    f64[F_DIRTY] = f64[F_DIRTY]! + 1;
    const v = this.volIndex(e);
    if (v >= 0) {
      if (expireAtMs !== 0) {
        this.vol.setExpireAt(v, expireAtMs);
      } else {
        const flags = this.flags(e);
        this.vol.remove(v);
        this.writeTails(e, flags, -1);
      }
    } else if (expireAtMs !== 0) {
      e = this.makeRoom(e, this.arena.u32[(e >>> 2) + E_META]!);
      const flags = this.flags(e);
      this.writeTails(e, flags, this.vol.add(e, expireAtMs));
    }
    return e;
  }

  /** The cluster slot of e's key (computed from the key: entries do not store it). */
  slotOf(e: number): number { return keySlot(this.arena.u8, this.keyOffset(e), this.keyLength(e)); }

  /** The raw access clock of e (bits 0-23 LRU seconds, 24-31 LFU counter; see clock.ts). */
  clock(e: number): number { return this.arena.u32[(e >>> 2) + E_CLOCK]!; }
  setClock(e: number, clock: number): void { this.arena.u32[(e >>> 2) + E_CLOCK] = clock >>> 0; }
  /** OBJECT IDLETIME: seconds since the last access. */
  idleTimeSec(e: number): number { return idleSeconds(this.clock(e), lruNow(this.now)); }
  /** OBJECT FREQ: the LFU counter after decay. */
  lfuFrequency(e: number): number { return lfuDecayed(this.clock(e), lruNow(this.now)); }
  /** Bytes of the block holding e (its share of usedMemory, without the index bucket). */
  entryBytes(e: number): number { return CLASS_SIZE[this.arena.u32[(e >>> 2) + E_META]! >>> 24]!; }
  /** The allocator's bump pointer (for tests and INFO). */
  arenaTop(): number { return this.arena.top(); }
  /** MEMORY STATS / MALLOC-STATS: the arena's figures (docs/observability-memory.md). */
  allocatorFigures(): AllocatorFigures {
    return {
      used: this.arena.f64[F_USED]!,
      top: this.arena.top(),
      committed: this.memory.byteLength,
      carveLeft: this.arena.carveLeft(),
      indexBytes: this.index.tableBytes(),
      volatileBytes: this.vol.bytes(),
      lazyFreeBytes: this.lazyFreeBytes(),
    };
  }
  /** MEMORY MALLOC-STATS: free blocks per size class into counts (see Arena.countFree). */
  countFreeBlocks(counts: Float64Array, maxLinks: number): boolean { return this.arena.countFree(counts, maxLinks); }

  size(): number { return this.arena.u32[H_KEYS]!; }
  expiresCount(): number { return this.vol.length(); }
  usedMemory(): number { return this.arena.f64[F_USED]!; }
  stats(): KeyspaceStats {
    const f64 = this.arena.f64;
    return {
      keys: this.size(),
      expires: this.expiresCount(),
      usedMemory: f64[F_USED]!,
      arenaBytes: this.memory.byteLength,
      indexCapacity: this.index.capacity(),
      resizing: this.index.resizing(),
      expiredKeys: f64[F_EXPIRED]!,
      evictedKeys: f64[F_EVICTED]!,
      keyspaceHits: f64[F_HITS]!,
      keyspaceMisses: f64[F_MISSES]!,
    };
  }
  resetStats(): void {
    const f64 = this.arena.f64;
    f64[F_EXPIRED] = 0;
    f64[F_EVICTED] = 0;
    f64[F_HITS] = 0;
    f64[F_MISSES] = 0;
  }

  /** Redis-style SCAN over the index: visits some entries, returns the next cursor (0 = done).
   * Every key present for the whole scan is returned at least once, also across a resize.
   * The cursor walks home buckets (hash & mask) in reverse-binary order, as Redis's dictScan, so
   * where linear probing or a migration put an entry does not matter. visit must not mutate. */
  scan(cursor: number, count: number, visit: (e: number) => void): number {
    if (this.size() === 0) return 0;
    let v = cursor >>> 0;
    let seen = 0;
    let budget = Math.max(1, count) * 10;
    do {
      v = this.index.scanStep(v, visit);
      seen += this.index.scanVisited;
    } while (v !== 0 && --budget > 0 && seen < count);
    return v;
  }

  /** A uniformly-ish random live entry, or 0 when empty. Expired entries met are deleted. */
  randomEntry(): number {
    for (let attempt = 0; attempt < 100 && this.size() > 0; attempt++) {
      const e = this.randomAny();
      const v = this.volIndex(e);
      if (v < 0 || this.vol.expireAt(v) > this.now) return e;
      if (this.onExpire !== null) this.onExpire(e);
      this.deleteEntry(e);
      this.arena.f64[F_EXPIRED] = this.arena.f64[F_EXPIRED]! + 1;
    }
    return this.size() > 0 ? this.randomAny() : 0;
  }

  /** Random entry by probing random buckets, falling back to a walk (keyspace not empty). */
  private randomAny(): number {
    const n = this.index.positions();
    for (let k = 0; k < RANDOM_TRIES; k++) {
      const e = this.index.entryAt(this.random() % n);
      if (e !== 0) return e;
    }
    let p = this.random() % n;
    for (let k = 0; k < n; k++, p = p + 1 === n ? 0 : p + 1) {
      const e = this.index.entryAt(p);
      if (e !== 0) return e;
    }
    unreachable('keyspace: no entry found in a non-empty index');
  }

  countInSlot(slot: number): number { return this.arena.u32[H_SLOT_COUNT + slot] ?? 0; }
  /** Visits up to count entries of the slot (newest first). visit must not mutate. */
  keysInSlot(slot: number, count: number, visit: (e: number) => void): void {
    const u32 = this.arena.u32;
    let e = u32[H_SLOT_HEAD + slot] ?? 0;
    for (let k = 0; e !== 0 && k < count; k++) {
      const next = u32[(e >>> 2) + E_NEXT]!;
      visit(e);
      e = next;
    }
  }

  /** One active-expiry step, as Redis's cycle: samples volatile keys, deletes expired ones, stops at
   * timeLimitMs. Returns how many it deleted. Samples 20 keys per round (all of them when 20 or
   * fewer) and repeats while more than 25% of a round had expired. */
  activeExpireCycle(timeLimitMs: number): number {
    const start = performance.now();
    const now = this.now;
    let deleted = 0;
    for (;;) {
      const len = this.vol.length();
      if (len === 0) break;
      let expired = 0;
      let sampled = 0;
      if (len <= EXPIRE_CYCLE_SAMPLES) {
        for (let i = len - 1; i >= 0; i--, sampled++) {
          if (this.vol.expireAt(i) <= now) {
            if (this.onExpire !== null) this.onExpire(this.vol.entry(i));
            this.deleteEntry(this.vol.entry(i));
            expired++;
          }
        }
      } else {
        for (; sampled < EXPIRE_CYCLE_SAMPLES; sampled++) {
          const n = this.vol.length();
          if (n === 0) break;
          const i = this.random() % n;
          if (this.vol.expireAt(i) <= now) {
            if (this.onExpire !== null) this.onExpire(this.vol.entry(i));
            this.deleteEntry(this.vol.entry(i));
            expired++;
          }
        }
      }
      deleted += expired;
      this.arena.f64[F_EXPIRED] = this.arena.f64[F_EXPIRED]! + expired;
      if (expired * 4 <= sampled) break;
      if (performance.now() - start >= timeLimitMs) break;
    }
    return deleted;
  }

  /** Evicts one key chosen by policy among `samples` sampled candidates. False if none is evictable.
   * allkeys-* sample a run of consecutive buckets from a random position; volatile-* sample random
   * records of the volatile array (all of them when samples >= their count). The best candidate of
   * this call is evicted (no pool kept across calls, unlike Redis). */
  evictOne(policy: EvictionPolicy, samples: number): boolean {
    const n = Math.max(1, samples);
    let e = 0;
    switch (policy) {
      case 'noeviction': return false;
      case 'allkeys-random': e = this.size() > 0 ? this.randomAny() : 0; break;
      case 'volatile-random': {
        const len = this.vol.length();
        e = len > 0 ? this.vol.entry(this.random() % len) : 0;
        break;
      }
      case 'allkeys-lru': e = this.sampleAll(SCORE_LRU, n); break;
      case 'allkeys-lfu': e = this.sampleAll(SCORE_LFU, n); break;
      case 'volatile-lru': e = this.sampleVolatile(SCORE_LRU, n); break;
      case 'volatile-lfu': e = this.sampleVolatile(SCORE_LFU, n); break;
      case 'volatile-ttl': e = this.sampleVolatile(SCORE_TTL, n); break;
    }
    if (e === 0) return false;
    if (this.onEvict !== null) this.onEvict(e);
    this.deleteEntry(e);
    this.arena.f64[F_EVICTED] = this.arena.f64[F_EVICTED]! + 1;
    return true;
  }

  /** Eviction desirability: higher is evicted first. */
  private score(e: number, kind: number, nowSec: number): number {
    if (kind === SCORE_LRU) return idleSeconds(this.clock(e), nowSec);
    if (kind === SCORE_LFU) return 255 - lfuDecayed(this.clock(e), nowSec);
    return -this.expireAt(e);
  }

  private sampleAll(kind: number, samples: number): number {
    if (this.size() === 0) return 0;
    const nowSec = lruNow(this.now);
    const n = this.index.positions();
    let p = this.random() % n;
    let best = 0;
    let bestScore = -Infinity;
    let taken = 0;
    for (let k = 0; k < n && taken < samples; k++, p = p + 1 === n ? 0 : p + 1) {
      const e = this.index.entryAt(p);
      if (e === 0) continue;
      taken++;
      const s = this.score(e, kind, nowSec);
      if (s > bestScore) {
        bestScore = s;
        best = e;
      }
    }
    return best;
  }

  private sampleVolatile(kind: number, samples: number): number {
    const len = this.vol.length();
    const nowSec = lruNow(this.now);
    let best = 0;
    let bestScore = -Infinity;
    const all = samples >= len;
    for (let k = 0; k < (all ? len : samples); k++) {
      const e = this.vol.entry(all ? k : this.random() % len);
      const s = this.score(e, kind, nowSec);
      if (s > bestScore) {
        bestScore = s;
        best = e;
      }
    }
    return best;
  }

  /** Does a bounded amount of incremental index migration; true while a resize is in progress.
   * Also starts a pending shrink of a sparse index. */
  rehashStep(): boolean {
    this.lazyFreeStep();
    if (!this.index.resizing()) this.index.maybeShrink();
    return this.index.migrate(MIGRATE_PER_STEP);
  }

  /** Checks every structural invariant (index, slot lists, volatile array, memory accounting,
   * free lists); throws on the first violation. O(memory): for tests and debugging. */
  checkIntegrity(): void {
    const fail = (what: string): never => unreachable(`keyspace integrity: ${what}`);
    this.arena.refresh();
    const u32 = this.arena.u32;
    const u8 = this.arena.u8;
    let entries = 0;
    let blockBytes = 0;
    let volatile = 0;
    const counter = this.arena.f64[F_CAS]!;
    this.index.forEach((e) => {
      entries++;
      const w = e >>> 2;
      const meta = u32[w + E_META]!;
      const klen = entryKeyLength(u32, w);
      const ko = entryKeyOffset(u32, e);
      if ((meta & META_RESERVED) !== 0) fail(`entry ${e}: reserved bits set`);
      if ((meta & META_KLEN_MASK) === KLEN_LONG && klen < KLEN_LONG) fail(`entry ${e}: short key stored as long`);
      if (this.index.lookup(u8, ko, klen, hash32(u8, ko, klen)) !== e) fail(`entry ${e}: not found by its key`);
      const size = CLASS_SIZE[meta >>> 24]!;
      if (ko + klen + u32[w + E_VLEN]! + tailBytes(meta) > e + size) fail(`entry ${e}: overflows its block`);
      if ((meta & META_FLAGS) !== 0 && this.flags(e) === 0) fail(`entry ${e}: flags word marked but 0`);
      if (counter < 1) fail(`entry ${e}: written but the CAS counter is ${counter}`);
      blockBytes += size + this.childBytes(e);
      const v = this.volIndex(e);
      if (v >= 0) {
        volatile++;
        if (v >= this.vol.length() || this.vol.entry(v) !== e) fail(`entry ${e}: volatile record does not point back`);
      }
    });
    if (entries !== this.size()) fail(`index holds ${entries} entries, header says ${this.size()}`);
    if (volatile !== this.vol.length()) fail('volatile array length');
    let inSlots = 0;
    for (let s = 0; s < SLOT_COUNT; s++) {
      let n = 0;
      let prev = 0;
      for (let e = u32[H_SLOT_HEAD + s]!; e !== 0; e = u32[(e >>> 2) + E_NEXT]!) {
        if (u32[(e >>> 2) + E_PREV] !== prev) fail(`slot ${s}: broken prev link`);
        if (keySlot(u8, entryKeyOffset(u32, e), entryKeyLength(u32, e >>> 2)) !== s) fail(`slot ${s}: foreign entry`);
        prev = e;
        if (++n > entries) fail(`slot ${s}: cycle`);
      }
      if (n !== u32[H_SLOT_COUNT + s]) fail(`slot ${s}: count`);
      inSlots += n;
    }
    if (inSlots !== entries) fail('slot lists do not cover the keys');
    const used = HEADER_BYTES + blockBytes + this.index.tableBytes() + this.vol.bytes() + this.lazyFreeBytes();
    if (used !== this.usedMemory()) fail(`usedMemory ${this.usedMemory()} but blocks sum to ${used}`);
    let freeBytes = 0;
    const top = this.arena.top();
    for (let c = 0; c < NUM_CLASSES; c++) {
      for (let b = u32[H_FREE + c]!; b !== 0; b = u32[b >>> 2]!) {
        if (b < HEADER_BYTES || b + CLASS_SIZE[c]! > top || (b & 7) !== 0) fail(`free list ${c}: bad block ${b}`);
        freeBytes += CLASS_SIZE[c]!;
      }
    }
    const carve = this.arena.carveLeft();
    if (top - HEADER_BYTES !== used - HEADER_BYTES + freeBytes + carve) fail('allocated + free blocks + the carve region do not tile the arena');
  }

  /** Moves e into a new block of class cls, copying its first copyBytes bytes and its tail words
   * (which the new block must have room for after copyBytes), and relinks it everywhere (index,
   * slot list, volatile record). hash is its key's. Returns the new handle. */
  private relocate(e: number, cls: number, copyBytes: number, hash: number): number {
    const ne = this.arena.alloc(cls);
    const u32 = this.arena.u32;
    const u8 = this.arena.u8;
    u8.copyWithin(ne, e, e + copyBytes);
    const w = ne >>> 2;
    const meta = u32[w + E_META]!;
    const oldCls = meta >>> 24;
    u32[w + E_META] = ((meta & 0x00ffffff) | (cls << 24)) >>> 0;
    const tail = tailBytes(meta);
    if (tail !== 0) {
      const end = e + CLASS_SIZE[oldCls]!;
      u8.copyWithin(ne + CLASS_SIZE[cls]! - tail, end - tail, end);
    }
    const next = u32[w + E_NEXT]!;
    const prev = u32[w + E_PREV]!;
    if (prev !== 0) u32[(prev >>> 2) + E_NEXT] = ne;
    else u32[H_SLOT_HEAD + keySlot(u8, entryKeyOffset(u32, ne), entryKeyLength(u32, w))] = ne;
    if (next !== 0) u32[(next >>> 2) + E_PREV] = ne;
    if ((meta & META_VOL) !== 0) this.vol.relink(u32[volWord(u32, ne)]!, ne);
    this.index.replace(e, ne, hash);
    this.arena.free(e, oldCls);
    return ne;
  }

  private copyIn(src: Uint8Array, soff: number, dst: number, len: number): void {
    const u8 = this.arena.u8;
    if (src.buffer === this.memory) {
      const from = src.byteOffset + soff;
      u8.copyWithin(dst, from, from + len);
    } else if (len <= COPY_LOOP_MAX) {
      for (let i = 0; i < len; i++) u8[dst + i] = src[soff + i]!;
    } else {
      u8.set(src.subarray(soff, soff + len), dst);
    }
  }

  /** xorshift32 kept in the header. */
  private random(): number {
    const u32 = this.arena.u32;
    let x = u32[H_RNG]!;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    u32[H_RNG] = x;
    return x;
  }
}

/** Writes an empty keyspace into the arena's memory, keeping the statistics counters. */
function formatMemory(arena: Arena, index: IndexTable, vol: VolatileSet): void {
  arena.refresh();
  const u32 = arena.u32;
  u32[H_MAGIC] = MAGIC;
  u32[H_VERSION] = VERSION;
  u32[H_HEADER_BYTES] = HEADER_BYTES;
  u32[H_KEYS] = 0;
  u32[H_LAZY] = 0;
  if (u32[H_RNG] === 0) u32[H_RNG] = 0x9e3779b9;
  u32.fill(0, H_SLOT_HEAD, H_SLOT_COUNT + SLOT_COUNT);
  arena.reset();
  vol.reset();
  index.init(MIN_INDEX_CAPACITY);
}


