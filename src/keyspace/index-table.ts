// Open-addressing index (linear probing) of entry offsets, in u32 tables inside the arena. A bucket
// holds entryOffset | fingerprint (top 3 hash bits); entries do not keep their hash, so placing an
// entry again hashes its key from the arena (entryHash: once per entry per resize, once per bucket
// a delete's backward shift considers, once per entry a SCAN step meets). The fingerprint is not
// taken from the low bits, which would give the home bucket without hashing: keys sharing a home
// would then share it too, and they are the ones a probe meets first. Tables grow x2 at load
// 0.75 and shrink below 1/8 INCREMENTALLY: a new table becomes current, the old one is drained a
// bounded number of buckets per mutating call; lookups consult both meanwhile.
// Invariants: the current table has no tombstones (deletion there is backward-shift); the old
// table only loses entries (migrated or deleted buckets become tombstones, never empty, so probe
// chains through them stay intact and nothing ever moves within it); every key is in exactly one
// table; the current table always has an empty bucket.
//
// One algorithm serves the keyspace (entries: key length in E_META, key at byte 24) and the large
// encoding of every collection (element blocks: key length in word 0, key at byte 4 or 8): a
// table is told where its six state words and its count live (`at`) and how its blocks hold their
// keys (a SlotLayout), so a 1M-field hash gets the keyspace's incremental resize and stable SCAN.
import { unreachable } from '../util/assert.js';
import type { Arena } from './arena.js';
import { hash32, hash32Words, WORDS_LITTLE_ENDIAN } from './hash.js';
import { BUCKET_TOMB, classOf, E_META, ENTRY_HEADER_BYTES, H_IDX_OFF, H_KEYS, KLEN_LONG, META_KLEN_MASK } from './layout.js';

/** Where a table's blocks keep their key: the word holding its length (masked), the byte where
 * the key starts, and the length value that means "the real length is the word at the key's
 * place and the key follows it" (-1: never). */
export interface SlotLayout {
  readonly klenWord: number;
  readonly klenMask: number;
  readonly longMark: number;
  readonly keyByte: number;
}

/** Keyspace entries (see layout.ts). */
export const ENTRY_SLOTS: SlotLayout = { klenWord: E_META, klenMask: META_KLEN_MASK, longMark: KLEN_LONG, keyByte: ENTRY_HEADER_BYTES };

// State words of a table, relative to its base word.
const S_OFF = 0;
const S_CAP = 1;
const S_OLD_OFF = 2;
const S_OLD_CAP = 3;
const S_CURSOR = 4;
const S_OLD_COUNT = 5;
/** Words of table state at a table's base (its count word is elsewhere). */
export const TABLE_STATE_WORDS = 6;

export const MIN_INDEX_CAPACITY = 256;
/** Largest table: 2^29 buckets of 4 bytes (2 GiB) must fit the 4 GiB arena with the old table
 * beside it while a resize runs. Sizes past it also break nextPow2's 32-bit arithmetic. */
export const MAX_INDEX_CAPACITY = 2 ** 29;
/** Most keys reserve() accepts: the table is kept at most 3/4 full. */
export const MAX_INDEX_KEYS = (MAX_INDEX_CAPACITY / 4) * 3 - 1;
/** Old-table buckets migrated per mutating call (enough to finish before the new table fills). */
const MIGRATE_PER_OP = 32;
/** Old-table buckets migrated per explicit rehashStep(). */
export const MIGRATE_PER_STEP = 4096;

function nextPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** (32 - Math.clz32(n - 1));
}

/** Next SCAN cursor after v for a table with mask m: Redis's reverse-binary increment. */
function nextCursor(v: number, m: number): number {
  v = (v | ~m) >>> 0;
  v = rev32(v);
  v = (v + 1) >>> 0;
  return rev32(v);
}

function rev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

export class IndexTable {
  /** Entries visited by the last scanStep. */
  scanVisited = 0;
  /** Word index of the table's six state words, and of its element count. */
  private base = H_IDX_OFF;
  private countWord = H_KEYS;
  private readonly klenWord: number;
  private readonly klenMask: number;
  private readonly longMark: number;
  private readonly keyByte: number;

  constructor(private readonly arena: Arena, layout: SlotLayout = ENTRY_SLOTS) {
    this.klenWord = layout.klenWord;
    this.klenMask = layout.klenMask;
    this.longMark = layout.longMark;
    this.keyByte = layout.keyByte;
  }

  /** Points this object at the table whose state words start at word `base` and whose element
   * count is word `countWord` (a collection's descriptor; the keyspace's stays in the header). */
  at(base: number, countWord: number): this {
    this.base = base;
    this.countWord = countWord;
    return this;
  }

  /** The hash of the key of block e (blocks do not keep it). */
  hashAt(u8: Uint8Array, u32: Uint32Array, e: number): number {
    const kl = u32[(e >>> 2) + this.klenWord]! & this.klenMask;
    const kb = e + this.keyByte;
    if (kl !== this.longMark) return WORDS_LITTLE_ENDIAN ? hash32Words(u32, kb >>> 2, kl) : hash32(u8, kb, kl);
    const len = u32[kb >>> 2]!;
    return WORDS_LITTLE_ENDIAN ? hash32Words(u32, (kb >>> 2) + 1, len) : hash32(u8, kb + 4, len);
  }

  /** Allocates a fresh, empty current table (state must have none). */
  init(capacity: number): void {
    const off = this.allocTable(capacity);
    const u32 = this.arena.u32;
    u32[this.base + S_OFF] = off;
    u32[this.base + S_CAP] = capacity;
    u32[this.base + S_OLD_OFF] = 0;
    u32[this.base + S_OLD_CAP] = 0;
    u32[this.base + S_CURSOR] = 0;
    u32[this.base + S_OLD_COUNT] = 0;
  }

  capacity(): number {
    return this.arena.u32[this.base + S_CAP]!;
  }

  resizing(): boolean {
    return this.arena.u32[this.base + S_OLD_OFF] !== 0;
  }

  /** Bytes of both tables (they are arena blocks, already counted in usedMemory). */
  tableBytes(): number {
    const u32 = this.arena.u32;
    return (u32[this.base + S_CAP]! + u32[this.base + S_OLD_CAP]!) * 4;
  }

  /** Entry whose key is buf[off, off+len) with the given hash, or 0. */
  lookup(buf: Uint8Array, off: number, len: number, hash: number): number {
    const u32 = this.arena.u32;
    const e = this.probe(u32, u32[this.base + S_OFF]! >>> 2, u32[this.base + S_CAP]! - 1, buf, off, len, hash);
    if (e !== 0) return e;
    const oldOff = u32[this.base + S_OLD_OFF]!;
    if (oldOff === 0) return 0;
    return this.probe(u32, oldOff >>> 2, u32[this.base + S_OLD_CAP]! - 1, buf, off, len, hash);
  }

  private probe(u32: Uint32Array, w: number, mask: number, buf: Uint8Array, off: number, len: number, hash: number): number {
    const fp = hash >>> 29;
    let i = hash & mask;
    for (;;) {
      const b = u32[w + i]!;
      if (b === 0) return 0;
      if ((b & 7) === fp && b !== BUCKET_TOMB) {
        const e = b - fp;
        const ew = e >>> 2;
        const kl = u32[ew + this.klenWord]! & this.klenMask;
        const kb = e + this.keyByte;
        if (kl !== this.longMark ? kl === len : u32[kb >>> 2] === len) {
          const u8 = this.arena.u8;
          const ko = kl !== this.longMark ? kb : kb + 4;
          let k = 0;
          while (k < len && u8[ko + k] === buf[off + k]) k++;
          if (k === len) return e;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /** Points the bucket holding entry e at ne (the entry moved; same key, same hash). */
  replace(e: number, ne: number, hash: number): void {
    const u32 = this.arena.u32;
    const b = ne | (hash >>> 29);
    const w = u32[this.base + S_OFF]! >>> 2;
    const mask = u32[this.base + S_CAP]! - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const x = u32[w + i]!;
      if (x === 0) break;
      if (x - (x & 7) === e) {
        u32[w + i] = b;
        return;
      }
    }
    const oldOff = u32[this.base + S_OLD_OFF]!;
    if (oldOff !== 0) {
      const ow = oldOff >>> 2;
      const omask = u32[this.base + S_OLD_CAP]! - 1;
      for (let i = hash & omask; ; i = (i + 1) & omask) {
        const x = u32[ow + i]!;
        if (x === 0) break;
        if (x - (x & 7) === e) {
          u32[ow + i] = b;
          return;
        }
      }
    }
    unreachable(`keyspace index: entry ${e} not found`);
  }

  /** Adds e (whose key is absent) to the current table. Call prepareInsert() first. */
  insert(e: number, hash: number): void {
    const u32 = this.arena.u32;
    const w = u32[this.base + S_OFF]! >>> 2;
    const mask = u32[this.base + S_CAP]! - 1;
    let i = hash & mask;
    while (u32[w + i] !== 0) i = (i + 1) & mask;
    u32[w + i] = e | (hash >>> 29);
  }

  /** Removes e (present) from whichever table holds it. */
  remove(e: number, hash: number): void {
    const u32 = this.arena.u32;
    const w = u32[this.base + S_OFF]! >>> 2;
    const mask = u32[this.base + S_CAP]! - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const b = u32[w + i]!;
      if (b === 0) break;
      if (b - (b & 7) === e) {
        this.removeAt(u32, w, mask, i);
        return;
      }
    }
    const oldOff = u32[this.base + S_OLD_OFF]!;
    if (oldOff !== 0) {
      const ow = oldOff >>> 2;
      const omask = u32[this.base + S_OLD_CAP]! - 1;
      for (let i = hash & omask; ; i = (i + 1) & omask) {
        const b = u32[ow + i]!;
        if (b === 0) break;
        if (b - (b & 7) === e) {
          u32[ow + i] = BUCKET_TOMB;
          const left = u32[this.base + S_OLD_COUNT]! - 1;
          u32[this.base + S_OLD_COUNT] = left;
          if (left === 0) this.finishMigration();
          return;
        }
      }
    }
    unreachable(`keyspace index: entry ${e} not found`);
  }

  /** Backward-shift deletion at i in a tombstone-free table. */
  private removeAt(u32: Uint32Array, w: number, mask: number, i: number): void {
    const u8 = this.arena.u8;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const b = u32[w + j]!;
      if (b === 0) break;
      const k = this.hashAt(u8, u32, b - (b & 7)) & mask;
      // b stays iff its home k lies cyclically in (i, j].
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        u32[w + i] = b;
        i = j;
      }
    }
    u32[w + i] = 0;
  }

  /** Before an insert: starts a grow at load 0.75, then migrates a bounded number of buckets. */
  prepareInsert(): void {
    const u32 = this.arena.u32;
    const keys = u32[this.countWord]!;
    const cap = u32[this.base + S_CAP]!;
    if ((keys + 1) * 4 > cap * 3) {
      if (u32[this.base + S_OLD_OFF] !== 0) this.migrate(Infinity); // the new table filled before the old drained
      this.startResize(cap * 2);
    }
    this.migrate(MIGRATE_PER_OP);
  }

  /** Makes room for `keys` entries in one step (a load into a fresh keyspace), so that inserting
   * them needs no incremental resize. A count no table can hold is refused with a RangeError
   * before anything is allocated (a count of 2^32-1 once turned usedMemory into NaN). */
  reserve(keys: number): void {
    if (!Number.isSafeInteger(keys) || keys < 0 || keys > MAX_INDEX_KEYS) {
      throw new RangeError(`keyspace: cannot reserve an index for ${keys} keys (at most ${MAX_INDEX_KEYS})`);
    }
    const u32 = this.arena.u32;
    const want = nextPow2(Math.ceil((keys * 4) / 3) + 1);
    if (u32[this.base + S_OLD_OFF] !== 0 || want <= u32[this.base + S_CAP]!) return;
    this.startResize(want);
    this.migrate(Infinity);
  }

  /** After a delete: starts a shrink below load 1/8, and migrates a bounded number of buckets. */
  afterDelete(): void {
    if (this.arena.u32[this.base + S_OLD_OFF] !== 0) this.migrate(MIGRATE_PER_OP);
    else this.maybeShrink();
  }

  /** Starts a shrink if the table is sparse and no resize runs. */
  maybeShrink(): void {
    const u32 = this.arena.u32;
    const cap = u32[this.base + S_CAP]!;
    const keys = u32[this.countWord]!;
    if (u32[this.base + S_OLD_OFF] === 0 && cap > MIN_INDEX_CAPACITY && keys * 8 < cap) {
      this.startResize(Math.max(MIN_INDEX_CAPACITY, nextPow2(keys * 2)));
    }
  }

  private startResize(newCap: number): void {
    const off = this.allocTable(newCap);
    const u32 = this.arena.u32;
    u32[this.base + S_OLD_OFF] = u32[this.base + S_OFF]!;
    u32[this.base + S_OLD_CAP] = u32[this.base + S_CAP]!;
    u32[this.base + S_CURSOR] = 0;
    u32[this.base + S_OLD_COUNT] = u32[this.countWord]!;
    u32[this.base + S_OFF] = off;
    u32[this.base + S_CAP] = newCap;
    if (u32[this.countWord] === 0) this.finishMigration();
  }

  /** Migrates up to n old buckets; returns true while a resize is still in progress. */
  migrate(n: number): boolean {
    const u32 = this.arena.u32;
    const oldOff = u32[this.base + S_OLD_OFF]!;
    if (oldOff === 0) return false;
    const ow = oldOff >>> 2;
    const oldCap = u32[this.base + S_OLD_CAP]!;
    const w = u32[this.base + S_OFF]! >>> 2;
    const mask = u32[this.base + S_CAP]! - 1;
    const u8 = this.arena.u8;
    let cur = u32[this.base + S_CURSOR]!;
    let left = u32[this.base + S_OLD_COUNT]!;
    const end = Math.min(oldCap, cur + n);
    for (; cur < end && left > 0; cur++) {
      const b = u32[ow + cur]!;
      if (b > BUCKET_TOMB) {
        let i = this.hashAt(u8, u32, b - (b & 7)) & mask;
        while (u32[w + i] !== 0) i = (i + 1) & mask;
        u32[w + i] = b;
        u32[ow + cur] = BUCKET_TOMB;
        left--;
      }
    }
    u32[this.base + S_CURSOR] = cur;
    u32[this.base + S_OLD_COUNT] = left;
    if (left === 0 || cur === oldCap) {
      this.finishMigration();
      return false;
    }
    return true;
  }

  private finishMigration(): void {
    const u32 = this.arena.u32;
    const oldOff = u32[this.base + S_OLD_OFF]!;
    const oldCap = u32[this.base + S_OLD_CAP]!;
    u32[this.base + S_OLD_OFF] = 0;
    u32[this.base + S_OLD_CAP] = 0;
    u32[this.base + S_CURSOR] = 0;
    u32[this.base + S_OLD_COUNT] = 0;
    this.arena.free(oldOff, classOf(oldCap * 4));
  }

  /** Frees both tables (the collection owning them is gone); the state words are left stale. */
  release(): void {
    const u32 = this.arena.u32;
    const oldOff = u32[this.base + S_OLD_OFF]!;
    if (oldOff !== 0) this.arena.free(oldOff, classOf(u32[this.base + S_OLD_CAP]! * 4));
    this.arena.free(u32[this.base + S_OFF]!, classOf(u32[this.base + S_CAP]! * 4));
  }

  private allocTable(capacity: number): number {
    const off = this.arena.alloc(classOf(capacity * 4));
    this.arena.u32.fill(0, off >>> 2, (off >>> 2) + capacity);
    return off;
  }

  /** One Redis dictScan step from cursor v: visits every entry whose home bucket matches v in the
   * smaller table and all its expansions in the larger one. Returns the next cursor (0 = done).
   * The visitor must not mutate the keyspace. */
  scanStep(v: number, visit: (e: number) => void): number {
    const u32 = this.arena.u32;
    this.scanVisited = 0;
    const oldOff = u32[this.base + S_OLD_OFF]!;
    let w0 = u32[this.base + S_OFF]! >>> 2;
    let m0 = u32[this.base + S_CAP]! - 1;
    if (oldOff === 0) {
      this.visitHome(w0, m0, v & m0, visit);
      return nextCursor(v, m0);
    }
    let w1 = oldOff >>> 2;
    let m1 = u32[this.base + S_OLD_CAP]! - 1;
    if (m0 > m1) {
      const tw = w0; w0 = w1; w1 = tw;
      const tm = m0; m0 = m1; m1 = tm;
    }
    this.visitHome(w0, m0, v & m0, visit);
    do {
      this.visitHome(w1, m1, v & m1, visit);
      v = nextCursor(v, m1);
    } while ((v & (m0 ^ m1)) !== 0);
    return v;
  }

  private visitHome(w: number, mask: number, home: number, visit: (e: number) => void): void {
    const u32 = this.arena.u32;
    for (let i = home; ; i = (i + 1) & mask) {
      const b = u32[w + i]!;
      if (b === 0) return;
      if (b === BUCKET_TOMB) continue;
      const e = b - (b & 7);
      if ((this.hashAt(this.arena.u8, u32, e) & mask) === home) {
        this.scanVisited++;
        visit(e);
      }
    }
  }

  /** Number of bucket positions across both tables, for sampling by position. */
  positions(): number {
    const u32 = this.arena.u32;
    return u32[this.base + S_CAP]! + u32[this.base + S_OLD_CAP]!;
  }

  /** The entry at position p (0 <= p < positions()), or 0 if the bucket is empty. */
  entryAt(p: number): number {
    const u32 = this.arena.u32;
    const cap = u32[this.base + S_CAP]!;
    const b = p < cap ? u32[(u32[this.base + S_OFF]! >>> 2) + p]! : u32[(u32[this.base + S_OLD_OFF]! >>> 2) + p - cap]!;
    return b > BUCKET_TOMB ? b - (b & 7) : 0;
  }

  /** Calls visit for every entry in both tables (for checks; not bounded). */
  forEach(visit: (e: number) => void): void {
    const n = this.positions();
    for (let p = 0; p < n; p++) {
      const e = this.entryAt(p);
      if (e !== 0) visit(e);
    }
  }
}
