// Byte layout of the keyspace memory: the header at offset 0 (all allocator, index, expiry and
// statistics state), the entry header, and the allocator's size classes. Everything is addressed
// by u32 word index (byte offset >>> 2) except the f64 statistics counters.
import { hash32, hash32Words, WORDS_LITTLE_ENDIAN } from './hash.js';
import { SLOT_COUNT } from './slot.js';

export const MAGIC = 0x534b5354; // 'TSKS'
export const VERSION = 5;

// ---- Header: u32 words ----
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_HEADER_BYTES = 2;
/** Bump pointer: first byte past the last block ever carved (minus blocks given back at the top). */
export const H_TOP = 3;
export const H_KEYS = 4;
/** Volatile array: byte offset, length and capacity in records. */
export const H_VOL_OFF = 5;
export const H_VOL_LEN = 6;
export const H_VOL_CAP = 7;
/** Current index table: byte offset and capacity in buckets (a power of two). */
export const H_IDX_OFF = 8;
export const H_IDX_CAP = 9;
/** Table being migrated from during an incremental resize (0 when none), its capacity, the next
 * bucket to migrate and how many live entries it still holds. */
export const H_OLD_OFF = 10;
export const H_OLD_CAP = 11;
export const H_MIG_CURSOR = 12;
export const H_OLD_COUNT = 13;
/** xorshift32 state for sampling (kept here so that a restarted shard continues the sequence). */
export const H_RNG = 14;
/** Snapshot state: bit 0 the current snapshot mark, bit 1 set while a snapshot runs (see
 * META_SNAP). Kept here so that a shard restarted mid-snapshot can tell and repair the marks. */
export const H_SNAP = 15;
export const SNAP_MARK = 1;
export const SNAP_ACTIVE = 2;

// ---- Header: u32 words 30 and 31 (after the f64 slots) ----
/** The carve region: a freed large block (an old index table) that small blocks are cut from
 * before the top grows, so that its pages, already resident, hold entries instead of sitting in
 * a free list no entry uses. [H_CARVE_OFF, H_CARVE_END); both 0 when there is none. */
export const H_CARVE_OFF = 30;
export const H_CARVE_END = 31;

// ---- Header: f64 slots (f64 index = byte offset / 8), bytes 64..119 ----
export const F_USED = 8;
export const F_EXPIRED = 9;
export const F_EVICTED = 10;
export const F_HITS = 11;
export const F_MISSES = 12;
/** The shard's CAS counter: the last CAS value given to an entry (bumped on every write). */
export const F_CAS = 13;
/** Changes since the shard started: every key written or deleted counts one (Redis's dirty). */
export const F_DIRTY = 14;
export const F_COUNT = 15;

// ---- Size classes ----
// Small: every multiple of 8 up to 1024 bytes (classes 0..127). Large: four geometric steps per
// power of two above that (1280, 1536, 1792, 2048, 2560, ...) up to 4 GiB; waste is at most 25%.
export const SMALL_MAX = 1024;
export const SMALL_CLASSES = SMALL_MAX / 8;
export const NUM_CLASSES = SMALL_CLASSES + 22 * 4;
export const CLASS_SIZE = new Float64Array(NUM_CLASSES);
for (let c = 0; c < SMALL_CLASSES; c++) CLASS_SIZE[c] = (c + 1) * 8;
for (let p = 10; p < 32; p++) {
  for (let j = 1; j <= 4; j++) CLASS_SIZE[SMALL_CLASSES + (p - 10) * 4 + (j - 1)] = 2 ** p + (2 ** p / 4) * j;
}

/** The smallest class whose blocks hold `size` bytes (size >= 1). */
export function classOf(size: number): number {
  if (size <= SMALL_MAX) return ((size + 7) >>> 3) - 1;
  const p = 31 - Math.clz32(size - 1); // 2^p < size <= 2^(p+1)
  const base = 2 ** p;
  const j = Math.ceil((size - base) / (base / 4));
  return SMALL_CLASSES + (p - 10) * 4 + (j - 1);
}

export const H_FREE = 32; // NUM_CLASSES words: free-list heads per class
/** The lazy-free queue: the first descriptor of a large collection that was deleted and whose
 * blocks are given back a bounded number per background step (see Keyspace.lazyFreeStep). Each
 * descriptor links the next by its D_LAZY_NEXT word, whose low 3 bits say its element parts. */
export const H_LAZY = H_FREE + NUM_CLASSES;
export const H_SLOT_HEAD = 256; // SLOT_COUNT words: first entry of each slot list
export const H_SLOT_COUNT = H_SLOT_HEAD + SLOT_COUNT; // SLOT_COUNT words: keys per slot
export const HEADER_BYTES = (H_SLOT_COUNT + SLOT_COUNT) * 4;

// ---- Entry header: 6 u32 words from e >>> 2, then the key, then the value ----
// Every key pays these 24 bytes; what only some keys need lives elsewhere: a key of 65535 bytes or
// more puts its u32 length in front of its bytes (KLEN_LONG), a TTL takes the block's last word
// (META_VOL, the position of its volatile record) and memcached flags other than 0 the word before
// it, or the last word when the key has no TTL (META_FLAGS). Neither the slot nor the hash is
// stored: both are recomputed from the key where an entry is deleted, moved or re-placed (keySlot,
// entryHash: allocation-free); the index bucket keeps 3 bits of the hash to skip most other keys.
export const E_NEXT = 0; // slot list
export const E_PREV = 1;
/** Bits 0-23: LRU clock (seconds, mod 2^24); bits 24-31: LFU log counter. */
export const E_CLOCK = 2;
/** Bits 0-15: key length, or KLEN_LONG; 16-19: value type; 20: META_FLAGS; 21: META_SNAP;
 * 22: META_VOL; 23: zero; 24-31: size class of the block. */
export const E_META = 3;
export const E_VLEN = 4;
/** Low 32 bits of the CAS value (memcached's per-item version) given to the entry by its last
 * write; the full value is the largest value <= the shard counter (F_CAS) with these low bits. */
export const E_CAS = 5;
export const ENTRY_HEADER_BYTES = 24;

export const META_KLEN_MASK = 0xffff;
/** In the key-length bits: the key is 65535 bytes or longer; its length is the u32 at
 * e + ENTRY_HEADER_BYTES and its bytes follow that word. */
export const KLEN_LONG = 0xffff;
export const META_TYPE_SHIFT = 16;
export const META_TYPE_MASK = 0xf;
/** The entry has non-zero memcached flags in a tail word of its block (see flagsWord). */
export const META_FLAGS = 1 << 20;
/** Snapshot mark: while a snapshot runs, an entry whose bit differs from the header's mark still
 * has to be written by it (its image from the snapshot's start); equal means written, or born
 * after the start. A snapshot flips the header's mark when it starts, so no entry needs clearing. */
export const META_SNAP = 1 << 21;
/** The entry has a TTL: the last word of its block is the index of its volatile record. */
export const META_VOL = 1 << 22;
export const META_RESERVED = 0x00800000;

/** Bytes of the tail words that the meta bits ask for (flags, TTL record). */
export function tailBytes(meta: number): number {
  return ((meta & META_FLAGS) !== 0 ? 4 : 0) + ((meta & META_VOL) !== 0 ? 4 : 0);
}

/** Word index of the volatile-record word of the entry at byte offset e (META_VOL set): the last
 * word of the block, a fixed place, because find() reads it on every hit of a key with a TTL. */
export function volWord(u32: Uint32Array, e: number): number {
  return ((e + CLASS_SIZE[u32[(e >>> 2) + E_META]! >>> 24]!) >>> 2) - 1;
}

/** Word index of the flags word of the entry at byte offset e (META_FLAGS set): in front of the
 * volatile-record word when there is one, else the last word of the block. */
export function flagsWord(u32: Uint32Array, e: number): number {
  const meta = u32[(e >>> 2) + E_META]!;
  return ((e + CLASS_SIZE[meta >>> 24]!) >>> 2) - ((meta & META_VOL) !== 0 ? 2 : 1);
}

/** Bytes in front of a key of klen bytes (its u32 length when it is long). */
export function keyPrefixBytes(klen: number): number {
  return klen >= KLEN_LONG ? 4 : 0;
}

/** Key length of the entry at word w. */
export function entryKeyLength(u32: Uint32Array, w: number): number {
  const kl = u32[w + E_META]! & META_KLEN_MASK;
  return kl !== KLEN_LONG ? kl : u32[w + ENTRY_HEADER_BYTES / 4]!;
}

/** Byte offset of the key of the entry at byte offset e. */
export function entryKeyOffset(u32: Uint32Array, e: number): number {
  return (u32[(e >>> 2) + E_META]! & META_KLEN_MASK) !== KLEN_LONG ? e + ENTRY_HEADER_BYTES : e + ENTRY_HEADER_BYTES + 4;
}

/** The index hash of the entry at byte offset e, from its key (entries do not store it). */
export function entryHash(u8: Uint8Array, u32: Uint32Array, e: number): number {
  if (!WORDS_LITTLE_ENDIAN) return hash32(u8, entryKeyOffset(u32, e), entryKeyLength(u32, e >>> 2));
  // Keys start 4-aligned and the word holding a key's last byte lies inside its block.
  const kw = (e + ENTRY_HEADER_BYTES) >>> 2;
  const kl = u32[(e >>> 2) + E_META]! & META_KLEN_MASK;
  return kl !== KLEN_LONG ? hash32Words(u32, kw, kl) : hash32Words(u32, kw + 1, u32[kw]!);
}

/** Volatile array records: [entry offset, expireAt ms low 32 bits, expireAt ms high bits]. The
 * entry names its record by index in its volWord. */
export const VOL_RECORD_WORDS = 3;

/** Index buckets: 0 empty, 1 tombstone (only in a table being migrated from), else
 * entryOffset | (hash >>> 29): entries are 8-aligned, so the low 3 bits carry a fingerprint, the
 * only part of the hash kept (an entry's full hash is recomputed from its key: entryHash). */
export const BUCKET_EMPTY = 0;
export const BUCKET_TOMB = 1;

if (HEADER_BYTES % 8 !== 0 || H_LAZY >= H_SLOT_HEAD || F_COUNT * 2 > H_CARVE_OFF || H_CARVE_END >= H_FREE) {
  throw new Error('keyspace layout: header regions overlap');
}
