// The ValueKind of sorted sets (see value-kind.ts). A small set is a PACK in its entry: per element
// the member and its score, an integer score as a compact varint, any other as 8 bytes
// (zset-pack.ts), sorted by (score, member); that PACK is also the portable image of every sorted set. A large set (ENC_ZTREE) is
// [enc][descriptor u32]: a member table (element-table.ts, the score as the element's value) for
// lookups, SCAN, random picks and snapshot marks, and a B+ tree over the same elements for order
// (zset-tree.ts). The descriptor is what the lazy-free queue holds (its word 8 is the link).
import type { Arena } from './arena.js';
import { ElementTable, type ElementEmit } from './element-table.js';
import { classOf } from './layout.js';
import { ENC_PACK, ENC_ZTREE, PACK_HEADER, readU32, TABLE_VALUE_BYTES, writeU32 } from './pack.js';
import type { ImageOut, ValueHost, ValueKind } from './value-kind.js';
import { TYPE_ZSET } from './value-types.js';
import { checkedScore, elementError, elementSize, elMl, elMo, elNext, putElement, readElement, readScore, SCORE_BYTES, writeScore } from './zset-pack.js';
import { ZD_BYTES, ZD_HEIGHT, ZD_ROOT, ZD_TABLE, ZD_TREE_BYTES, ZD_WORDS, ZTree } from './zset-tree.js';

/** Large sets with at most this many members are freed at once (Redis's LAZYFREE_THRESHOLD). */
const LAZY_FREE_MIN = 64;
const ZD_CLASS = classOf(ZD_BYTES);
export { readScore, SCORE_BYTES, writeScore } from './zset-pack.js';

/** A score as a member table's 8-byte value (fill). */
const scoreBytes = new Uint8Array(SCORE_BYTES);
/** An image with its -0 scores turned into 0 (store). */
let zeroBuf = new Uint8Array(256);

export class ZsetKind implements ValueKind {
  readonly tables: ElementTable;
  readonly tree: ZTree;

  constructor(private readonly arena: Arena) {
    this.tables = new ElementTable(arena, 2);
    this.tree = new ZTree(arena);
  }

  /** A new empty large set sized for `members`; returns its descriptor. */
  create(members: number): number {
    const zd = this.arena.alloc(ZD_CLASS);
    this.arena.u32.fill(0, zd >>> 2, (zd >>> 2) + ZD_WORDS);
    const td = this.tables.create(members);
    this.arena.u32[(zd >>> 2) + ZD_TABLE] = td;
    this.tree.init(zd);
    return zd;
  }

  table(zd: number): number {
    return this.arena.u32[(zd >>> 2) + ZD_TABLE]!;
  }

  count(u8: Uint8Array, vo: number): number {
    if (u8[vo] === ENC_ZTREE) return this.tables.count(this.table(readU32(u8, vo + 1)));
    return readU32(u8, vo + 1);
  }

  childBytes(u8: Uint8Array, vo: number, vl: number): number {
    return this.piecewise(u8, vo, vl) ? this.queuedBytes(readU32(u8, vo + 1)) : 0;
  }

  release(u8: Uint8Array, vo: number, vl: number): number {
    if (!this.piecewise(u8, vo, vl)) return 0;
    const zd = readU32(u8, vo + 1);
    u8[vo] = 0; // the entry no longer owns the set
    if (this.tables.count(this.table(zd)) > LAZY_FREE_MIN) return zd;
    this.destroyStep(zd, Infinity);
    return 0;
  }

  /** Frees the member table first, then the tree, then the descriptor. */
  destroyStep(zd: number, budget: number): boolean {
    const u32 = this.arena.u32;
    const td = u32[(zd >>> 2) + ZD_TABLE]!;
    if (td !== 0) {
      if (!this.tables.destroyStep(td, budget)) return false;
      this.arena.u32[(zd >>> 2) + ZD_TABLE] = 0;
    }
    if (!this.tree.destroyStep(zd, budget)) return false;
    this.arena.free(zd, ZD_CLASS);
    return true;
  }

  queuedBytes(zd: number): number {
    const u32 = this.arena.u32;
    const td = u32[(zd >>> 2) + ZD_TABLE]!;
    return ZD_BYTES + (td === 0 ? 0 : this.tables.bytes(td)) + u32[(zd >>> 2) + ZD_TREE_BYTES]!;
  }

  piecewise(u8: Uint8Array, vo: number, vl: number): boolean {
    return vl >= TABLE_VALUE_BYTES && u8[vo] === ENC_ZTREE;
  }

  snapshotStep(u8: Uint8Array, vo: number, cursor: number, count: number, emit: ElementEmit): number {
    return this.tables.snapshotStep(this.table(readU32(u8, vo + 1)), cursor, count, emit);
  }

  snapshotElement(u8: Uint8Array, vo: number, buf: Uint8Array, off: number, len: number, emit: ElementEmit): void {
    this.tables.snapshotElement(this.table(readU32(u8, vo + 1)), buf, off, len, emit);
  }

  snapshotSettle(u8: Uint8Array, vo: number, vl: number): void {
    if (this.piecewise(u8, vo, vl)) this.tables.snapshotSettle(this.table(readU32(u8, vo + 1)));
  }

  /** A compact set is its own image; a large one is written as a sorted PACK. */
  image(u8: Uint8Array, vo: number, vl: number, out: ImageOut, scratch: () => Buffer): void {
    if (u8[vo] !== ENC_ZTREE) {
      out.buf = u8;
      out.off = vo;
      out.len = vl;
      return;
    }
    const zd = readU32(u8, vo + 1);
    const t = this.tables;
    const td = this.table(zd);
    let size = PACK_HEADER;
    this.tree.forEach(zd, (el, s) => {
      size += elementSize(t.keyLength(el), s);
      return true;
    });
    let b = scratch();
    if (b.length < size) b = Buffer.allocUnsafe(size);
    b[0] = ENC_PACK;
    writeU32(b, 1, t.count(td));
    let p = PACK_HEADER;
    const a = this.arena.u8;
    this.tree.forEach(zd, (el, s) => {
      p += putElement(b, p, a, t.keyOffset(el), t.keyLength(el), s);
      return true;
    });
    out.buf = b;
    out.off = 0;
    out.len = size;
  }

  store(host: ValueHost, key: Uint8Array, koff: number, klen: number, buf: Uint8Array, off: number, len: number, expireAtMs: number, flags: number, keepLarge = false): number {
    const lim = host.limits;
    const count = readU32(buf, off + 1);
    if (!keepLarge && count <= lim.zsetMaxListpackEntries && longestMember(buf, off, len) <= lim.zsetMaxListpackValue) {
      // A listpack keeps -0 as 0 (an image of a large set may carry -0): rewrite before storing.
      const zeros = positiveZeros(buf, off, len);
      if (zeros === 0) return host.set(key, koff, klen, buf, off, len, TYPE_ZSET, expireAtMs, flags);
      return host.set(key, koff, klen, zeroBuf, 0, len - zeros * (SCORE_BYTES - 1), TYPE_ZSET, expireAtMs, flags);
    }
    const e = host.set(key, koff, klen, null, 0, TABLE_VALUE_BYTES, TYPE_ZSET, expireAtMs, flags);
    const zd = this.create(count);
    const u8 = host.bytes();
    const vo = host.valueOffset(e);
    u8[vo] = ENC_ZTREE;
    writeU32(u8, vo + 1, zd);
    this.fill(zd, buf, off, len);
    return e;
  }

  /** Adds every element of a checked, sorted PACK to the empty large set zd. */
  fill(zd: number, buf: Uint8Array, off: number, len: number): void {
    const t = this.tables;
    const td = this.table(zd);
    const end = off + len;
    for (let p = off + PACK_HEADER; p < end; p = elNext) {
      const s = readElement(buf, p);
      writeScore(scoreBytes, 0, s);
      const el = t.insert(td, buf, elMo, elMl, scoreBytes, 0, SCORE_BYTES);
      this.tree.insert(zd, s, el);
    }
  }

  /** Checks the tree against the member table (tests). */
  check(zd: number): void {
    const t = this.tables;
    this.tree.check(zd, t.count(this.table(zd)), (el) => readScore(this.arena.u8, t.valueOffset(el)));
  }
}

/** The tree's shape (tests, measurements): height and root. */
export function treeShape(u32: Uint32Array, zd: number): { height: number; root: number } {
  return { height: u32[(zd >>> 2) + ZD_HEIGHT]!, root: u32[(zd >>> 2) + ZD_ROOT]! };
}

/** Counts the -0 scores of the PACK buf[off, +len); when there are some, writes the PACK with them
 * as 0 (compact, 7 bytes shorter each) into zeroBuf, as Redis's listpack stores them (the order
 * does not change: -0 and 0 are equal scores). */
function positiveZeros(buf: Uint8Array, off: number, len: number): number {
  const end = off + len;
  let zeros = 0;
  for (let p = off + PACK_HEADER; p < end; p = elNext) {
    const s = readElement(buf, p);
    if (s === 0 && 1 / s < 0) zeros++;
  }
  if (zeros === 0) return 0;
  if (zeroBuf.length < len) zeroBuf = new Uint8Array(Math.max(len, zeroBuf.length * 2));
  zeroBuf.set(buf.subarray(off, off + PACK_HEADER), 0);
  let q = PACK_HEADER;
  for (let p = off + PACK_HEADER; p < end; ) {
    const s = readElement(buf, p);
    const next = elNext;
    q += putElement(zeroBuf, q, buf, elMo, elMl, s === 0 ? 0 : s);
    p = next;
  }
  return zeros;
}

/** Longest member of a zset PACK. */
export function longestMember(buf: Uint8Array, off: number, len: number): number {
  let max = 0;
  const end = off + len;
  for (let p = off + PACK_HEADER; p < end; p = elNext) {
    readElement(buf, p);
    if (elMl > max) max = elMl;
  }
  return max;
}

/** What is wrong with a sorted-set image, or null: a PACK of (member, score) elements in their
 * one form (zset-pack.ts), not empty, no NaN, strictly ascending by (score, member) (so no member
 * twice), nothing after the last. */
export function zsetImageError(buf: Uint8Array, off: number, len: number): string | null {
  if (len < PACK_HEADER || buf[off] !== ENC_PACK) return 'not a pack';
  const count = readU32(buf, off + 1);
  if (count === 0) return 'empty collection';
  const end = off + len;
  let prevS = 0;
  let prevO = -1;
  let prevL = 0;
  let p = off + PACK_HEADER;
  for (let i = 0; i < count; i++) {
    if (p >= end) return 'pack shorter than its count';
    const bad = elementError(buf, p, end);
    if (bad !== null) return bad;
    const s = checkedScore;
    if (prevO >= 0 && compareKeys(prevS, buf, prevO, prevL, s, buf, elMo, elMl) >= 0) return 'members out of order';
    prevS = s;
    prevO = elMo;
    prevL = elMl;
    p = elNext;
  }
  return p === end ? null : 'bytes after the last entry';
}

/** Order of (score, member bytes) keys: < 0, 0, > 0 (-0 and 0 are equal scores, as in Redis). */
export function compareKeys(s1: number, b1: Uint8Array, o1: number, l1: number, s2: number, b2: Uint8Array, o2: number, l2: number): number {
  if (s1 < s2) return -1;
  if (s1 > s2) return 1;
  return compareBytes(b1, o1, l1, b2, o2, l2);
}

export function compareBytes(b1: Uint8Array, o1: number, l1: number, b2: Uint8Array, o2: number, l2: number): number {
  const n = Math.min(l1, l2);
  for (let i = 0; i < n; i++) {
    const d = b1[o1 + i]! - b2[o2 + i]!;
    if (d !== 0) return d;
  }
  return l1 - l2;
}
