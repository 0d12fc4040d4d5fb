// The large encoding of a collection (Redis's "hashtable"): a descriptor block, an index table of
// the keyspace's kind (same probing, fingerprints, incremental resize and reverse-binary SCAN
// cursor), and one arena block per element. An element is its bytes and nothing else:
//   one part (set member):      [u32 len][bytes]
//   two parts (hash field):     [u32 field len][u32 value len][field][value]
// so a 17-byte set member costs a 24-byte block plus about 5 bytes of bucket, where Redis pays a
// dictEntry, an sds and allocator rounding (~72 bytes, see docs/typed-keyspace.md).
// Bit 31 of an element's first word is its snapshot mark (as META_SNAP is an entry's): while a
// snapshot writes a large collection element by element, an element whose bit differs from the
// header's mark has not been written yet. Elements are born with the header's mark (written).
// Descriptor block (DESC_WORDS u32 words): count, six table state words, element bytes (sum of
// the element blocks' size classes, for MEMORY USAGE and the keyspace's integrity check), and two
// words a lazy free uses (the next descriptor in the keyspace's free queue, its position cursor).
// Invariant: the descriptor's count and element bytes are those of the blocks its tables hold.
import type { Arena } from './arena.js';
import { hash32 } from './hash.js';
import { IndexTable, MIN_INDEX_CAPACITY, type SlotLayout } from './index-table.js';
import { CLASS_SIZE, classOf, H_SNAP, SNAP_MARK } from './layout.js';

export const D_COUNT = 0;
const D_STATE = 1;
export const D_BYTES = 7;
export const D_LAZY_NEXT = 8;
export const D_LAZY_CURSOR = 9;
export const DESC_WORDS = 10;
export const DESC_BYTES = DESC_WORDS * 4;
const DESC_CLASS = classOf(DESC_BYTES);

const LEN_MASK = 0x7fffffff;
const SET_SLOTS: SlotLayout = { klenWord: 0, klenMask: LEN_MASK, longMark: -1, keyByte: 4 };
const HASH_SLOTS: SlotLayout = { klenWord: 0, klenMask: LEN_MASK, longMark: -1, keyByte: 8 };

/** Receives an element's bytes: key at u8[ko, +kl), value at u8[vo, +vl) (0, 0 for a member). */
export type ElementEmit = (u8: Uint8Array, ko: number, kl: number, vo: number, vl: number) => void;

export class ElementTable {
  private readonly index: IndexTable;
  /** Bytes in front of an element's key. */
  readonly keyByte: number;

  constructor(private readonly arena: Arena, readonly parts: 1 | 2) {
    this.keyByte = parts === 1 ? 4 : 8;
    this.index = new IndexTable(arena, parts === 1 ? SET_SLOTS : HASH_SLOTS);
  }

  private at(d: number): IndexTable {
    const w = d >>> 2;
    return this.index.at(w + D_STATE, w + D_COUNT);
  }

  /** A new empty table sized for `elements`; returns its descriptor. */
  create(elements: number): number {
    const d = this.arena.alloc(DESC_CLASS);
    this.arena.u32.fill(0, d >>> 2, (d >>> 2) + DESC_WORDS);
    const t = this.at(d);
    t.init(MIN_INDEX_CAPACITY);
    if (elements > 0) t.reserve(elements);
    return d;
  }

  count(d: number): number {
    return this.arena.u32[(d >>> 2) + D_COUNT]!;
  }

  /** Bytes of the descriptor, its tables and its elements (all arena blocks). */
  bytes(d: number): number {
    return DESC_BYTES + this.at(d).tableBytes() + this.arena.u32[(d >>> 2) + D_BYTES]!;
  }

  /** The element whose key is buf[off, +len), or 0. */
  find(d: number, buf: Uint8Array, off: number, len: number): number {
    return this.at(d).lookup(buf, off, len, hash32(buf, off, len));
  }

  keyOffset(el: number): number { return el + this.keyByte; }
  keyLength(el: number): number { return this.arena.u32[el >>> 2]! & LEN_MASK; }
  valueOffset(el: number): number { return el + 8 + (this.arena.u32[el >>> 2]! & LEN_MASK); }
  valueLength(el: number): number { return this.arena.u32[(el >>> 2) + 1]!; }

  /** Adds an element whose key is absent (find() first); returns its block. May grow the arena. */
  insert(d: number, kb: Uint8Array, ko: number, kl: number, vb: Uint8Array | null, vo: number, vl: number): number {
    const hash = hash32(kb, ko, kl);
    this.at(d).prepareInsert();
    const el = this.writeBlock(d, kb, ko, kl, vb, vo, vl);
    this.at(d).insert(el, hash);
    this.arena.u32[(d >>> 2) + D_COUNT]!++;
    return el;
  }

  /** Gives the element el (two parts) a new value; returns its (maybe moved) block. */
  setValue(d: number, el: number, vb: Uint8Array, vo: number, vl: number): number {
    const u32 = this.arena.u32;
    const kl = u32[el >>> 2]! & LEN_MASK;
    const cls = classOf(8 + kl + Math.max(vl, 1));
    const oldCls = classOf(8 + kl + Math.max(u32[(el >>> 2) + 1]!, 1));
    if (cls === oldCls) {
      u32[(el >>> 2) + 1] = vl;
      copyBytes(this.arena, vb, vo, el + 8 + kl, vl);
      return el;
    }
    const u8 = this.arena.u8;
    const hash = this.at(d).hashAt(u8, u32, el);
    const ne = this.writeBlock(d, this.arena.u8, el + 8, kl, vb, vo, vl);
    this.at(d).replace(el, ne, hash);
    this.release(d, el);
    return ne;
  }

  /** Removes element el from the table and frees it. */
  remove(d: number, el: number): void {
    const u8 = this.arena.u8;
    const u32 = this.arena.u32;
    const t = this.at(d);
    t.remove(el, t.hashAt(u8, u32, el));
    this.release(d, el);
    u32[(d >>> 2) + D_COUNT]!--;
    t.afterDelete();
  }

  /** One SCAN step from cursor v (Redis's reverse-binary cursor); visit must not mutate. */
  scanStep(d: number, v: number, visit: (el: number) => void): number {
    return this.at(d).scanStep(v, visit);
  }


  /** A random element (table not empty): random buckets first, then a walk. rnd in [0, 1). */
  random(d: number, rnd: () => number): number {
    const t = this.at(d);
    const n = t.positions();
    for (let k = 0; k < 64; k++) {
      const el = t.entryAt(Math.floor(rnd() * n));
      if (el !== 0) return el;
    }
    let p = Math.floor(rnd() * n);
    for (let k = 0; k < n; k++, p = p + 1 === n ? 0 : p + 1) {
      const el = t.entryAt(p);
      if (el !== 0) return el;
    }
    return 0;
  }

  /** Every element, in table order; visit must not mutate. */
  forEach(d: number, visit: (el: number) => void): void {
    this.at(d).forEach(visit);
  }

  // --- Snapshots written element by element (see the mark above) -----------------------------

  /** One step of a snapshot's walk of table d: from SCAN cursor v, emits the elements not written
   * yet (about `count` of them) and marks them written; returns the next cursor (0: done). SCAN's
   * cursor sees every element present for the whole walk, across resizes; the marks make an
   * element seen twice, or copied earlier by a change, written once. */
  snapshotStep(d: number, v: number, count: number, emit: ElementEmit): number {
    const mark = this.arena.u32[H_SNAP]! & SNAP_MARK;
    let seen = 0;
    let budget = Math.max(1, count) * 10;
    const visit = (el: number): void => {
      seen++;
      this.emitIfPending(el, mark, emit);
    };
    do {
      v = this.at(d).scanStep(v, visit);
    } while (v !== 0 && --budget > 0 && seen < count);
    return v;
  }

  /** A change is coming to element buf[off, +len) of table d: emits it first if the running
   * snapshot has not written it (copy on write of one element). */
  snapshotElement(d: number, buf: Uint8Array, off: number, len: number, emit: ElementEmit): void {
    const el = this.find(d, buf, off, len);
    if (el !== 0) this.emitIfPending(el, this.arena.u32[H_SNAP]! & SNAP_MARK, emit);
  }

  /** Marks every element of table d written (a snapshot was abandoned). */
  snapshotSettle(d: number): void {
    const u32 = this.arena.u32;
    const on = (u32[H_SNAP]! & SNAP_MARK) !== 0;
    this.forEach(d, (el) => {
      const w = el >>> 2;
      u32[w] = on ? (u32[w]! | 0x80000000) >>> 0 : u32[w]! & LEN_MASK;
    });
  }

  private emitIfPending(el: number, mark: number, emit: ElementEmit): void {
    const u32 = this.arena.u32;
    const w = el >>> 2;
    if (u32[w]! >>> 31 === mark) return;
    u32[w] = mark === 0 ? u32[w]! & LEN_MASK : (u32[w]! | 0x80000000) >>> 0;
    const kl = u32[w]! & LEN_MASK;
    if (this.parts === 1) emit(this.arena.u8, el + 4, kl, 0, 0);
    else emit(this.arena.u8, el + 8, kl, el + 8 + kl, u32[w + 1]!);
  }

  /** Frees up to `budget` elements of a table nobody uses any more, from its lazy cursor; frees the
   * tables and the descriptor when done. Returns true when nothing is left of it. */
  destroyStep(d: number, budget: number): boolean {
    const t = this.at(d);
    const w = d >>> 2;
    const n = t.positions();
    let p = this.arena.u32[w + D_LAZY_CURSOR]!;
    for (let freed = 0; p < n && freed < budget; p++) {
      const el = t.entryAt(p);
      if (el !== 0) {
        // Through release(): the descriptor's element bytes must follow, for the keyspace's
        // accounting of the lazy-free queue (lazyFreeBytes) while the table is half freed.
        this.release(d, el);
        freed++;
      }
    }
    this.arena.u32[w + D_LAZY_CURSOR] = p;
    if (p < n) return false;
    t.release();
    this.arena.free(d, DESC_CLASS);
    return true;
  }

  /** Size class of element el's block. */
  blockClass(el: number): number {
    const u32 = this.arena.u32;
    const kl = u32[el >>> 2]! & LEN_MASK;
    return this.parts === 1 ? classOf(4 + Math.max(kl, 1)) : classOf(8 + kl + Math.max(u32[(el >>> 2) + 1]!, 1));
  }

  /** A new element block of table d (counted in its element bytes). */
  private writeBlock(d: number, kb: Uint8Array, ko: number, kl: number, vb: Uint8Array | null, vo: number, vl: number): number {
    const cls = classOf(this.parts === 1 ? 4 + Math.max(kl, 1) : 8 + kl + Math.max(vl, 1));
    const el = this.arena.alloc(cls);
    const u32 = this.arena.u32;
    u32[el >>> 2] = ((u32[H_SNAP]! & SNAP_MARK) === 0 ? kl : kl | 0x80000000) >>> 0;
    if (this.parts === 2) u32[(el >>> 2) + 1] = vl;
    u32[(d >>> 2) + D_BYTES] = u32[(d >>> 2) + D_BYTES]! + CLASS_SIZE[cls]!;
    copyBytes(this.arena, kb, ko, el + this.keyByte, kl);
    if (this.parts === 2 && vb !== null) copyBytes(this.arena, vb, vo, el + 8 + kl, vl);
    return el;
  }

  private release(d: number, el: number): void {
    const cls = this.blockClass(el);
    const u32 = this.arena.u32;
    u32[(d >>> 2) + D_BYTES] = u32[(d >>> 2) + D_BYTES]! - CLASS_SIZE[cls]!;
    this.arena.free(el, cls);
  }
}

/** Copies len bytes into the arena at dst (src may be the arena itself). */
export function copyBytes(arena: Arena, src: Uint8Array, soff: number, dst: number, len: number): void {
  const u8 = arena.u8;
  if (src.buffer === u8.buffer) {
    const from = src.byteOffset + soff;
    u8.copyWithin(dst, from, from + len);
  } else if (len <= 64) {
    for (let i = 0; i < len; i++) u8[dst + i] = src[soff + i]!;
  } else {
    u8.set(src.subarray(soff, soff + len), dst);
  }
}
