// Byte layout of the keyspace memory: the header at offset 0 (all allocator, index, expiry and
// statistics state), the entry header, and the allocator's size classes. Everything is addressed
// by u32 word index (byte offset >>> 2) except the f64 statistics counters.
import { SLOT_COUNT } from './slot.js';

export const MAGIC = 0x534b5354; // 'TSKS'
export const VERSION = 2;

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

// ---- Header: f64 slots (f64 index = byte offset / 8), bytes 64..103 ----
export const F_USED = 8;
export const F_EXPIRED = 9;
export const F_EVICTED = 10;
export const F_HITS = 11;
export const F_MISSES = 12;
/** The shard's CAS counter: the last CAS value given to an entry (bumped on every write). */
export const F_CAS = 13;
export const F_COUNT = 14;

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
export const H_SLOT_HEAD = 256; // SLOT_COUNT words: first entry of each slot list
export const H_SLOT_COUNT = H_SLOT_HEAD + SLOT_COUNT; // SLOT_COUNT words: keys per slot
export const HEADER_BYTES = (H_SLOT_COUNT + SLOT_COUNT) * 4;

// ---- Entry header: u32 words from e >>> 2; key bytes at e + 44, value bytes right after ----
export const E_NEXT = 0; // slot list
export const E_PREV = 1;
export const E_HASH = 2;
/** Bits 0-23: LRU clock (seconds, mod 2^24); bits 24-31: LFU log counter. */
export const E_CLOCK = 3;
export const E_KLEN = 4;
export const E_VLEN = 5;
/** Bits 0-13: slot; 16-23: value type; 24-31: size class of the block. */
export const E_META = 6;
/** 1 + position in the volatile array, or 0 when the key has no TTL. */
export const E_VOL = 7;
/** CAS value (memcached's per-item version): low 32 bits, then the high bits (a CAS stays below
 * 2^53, the shard counter being an f64). Set from the shard counter on every write. */
export const E_CAS_LO = 8;
export const E_CAS_HI = 9;
/** memcached's 32-bit client flags (0 for keys written through RESP). */
export const E_FLAGS = 10;
export const ENTRY_HEADER_BYTES = 44;

/** Volatile array records: [entry offset, expireAt ms low 32 bits, expireAt ms high bits]. */
export const VOL_RECORD_WORDS = 3;

/** Index buckets: 0 empty, 1 tombstone (only in a table being migrated from), else
 * entryOffset | (hash >>> 29): entries are 8-aligned, so the low 3 bits carry a fingerprint. */
export const BUCKET_EMPTY = 0;
export const BUCKET_TOMB = 1;

if (HEADER_BYTES % 8 !== 0 || H_FREE + NUM_CLASSES > H_SLOT_HEAD || F_COUNT * 2 > H_FREE) {
  throw new Error('keyspace layout: header regions overlap');
}
