// The ValueKind of sorted sets (see value-kind.ts). A small set is a PACK in its entry: two entries
// per element, the member and its score as 8 bytes (f64, little-endian), sorted by (score,
// member); that PACK is also the portable image of every sorted set. A large set (ENC_ZTREE) is
// [enc][descriptor u32]: a member table (element-table.ts, the score as the element's value) for
// lookups, SCAN, random picks and snapshot marks, and a B+ tree over the same elements for order
// (zset-tree.ts). The descriptor is what the lazy-free queue holds (its word 8 is the link).
import type { Arena } from './arena.js';
import { ElementTable, type ElementEmit } from './element-table.js';
import { classOf } from './layout.js';
import { ENC_PACK, ENC_ZTREE, packError, PACK_HEADER, putVarint, readU32, TABLE_VALUE_BYTES, varint, vlen, vsize, writeU32 } from './pack.js';
import type { ImageOut, ValueHost, ValueKind } from './value-kind.js';
import { TYPE_ZSET } from './value-types.js';
import { ZD_BYTES, ZD_HEIGHT, ZD_ROOT, ZD_TABLE, ZD_TREE_BYTES, ZD_WORDS, ZTree } from './zset-tree.js';

/** Large sets with at most this many members are freed at once (Redis's LAZYFREE_THRESHOLD). */
const LAZY_FREE_MIN = 64;
const ZD_CLASS = classOf(ZD_BYTES);
/** Bytes of one PACK element besides its member: the member's length, then the score's (8). */
export const SCORE_BYTES = 8;

const f8 = new Float64Array(1);
const b8 = new Uint8Array(f8.buffer);

/** The f64 at u8[p, +8) (little-endian; any alignment). */
export function readScore(u8: Uint8Array, p: number): number {
  for (let i = 0; i < 8; i++) b8[i] = u8[p + i]!;
  return f8[0]!;
}

export function writeScore(u8: Uint8Array, p: number, s: number): void {
  f8[0] = s;
  for (let i = 0; i < 8; i++) u8[p + i] = b8[i]!;
}

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
    this.tree.forEach(zd, (el) => {
      const kl = t.keyLength(el);
      size += varintLen(kl) + kl + 1 + SCORE_BYTES;
      return true;
    });
    let b = scratch();
    if (b.length < size) b = Buffer.allocUnsafe(size);
    b[0] = ENC_PACK;
    writeU32(b, 1, t.count(td));
    let p = PACK_HEADER;
    const a = this.arena.u8;
    this.tree.forEach(zd, (el, s) => {
      const kl = t.keyLength(el);
      const ko = t.keyOffset(el);
      p += putVarint(b, p, kl);
      b.set(a.subarray(ko, ko + kl), p);
      p += kl;
      b[p++] = SCORE_BYTES;
      writeScore(b, p, s);
      p += SCORE_BYTES;
      return true;
    });
    out.buf = b;
    out.off = 0;
    out.len = size;
  }

  store(host: ValueHost, key: Uint8Array, koff: number, klen: number, buf: Uint8Array, off: number, len: number, expireAtMs: number, flags: number): number {
    const lim = host.limits;
    const count = readU32(buf, off + 1);
    if (count <= lim.zsetMaxListpackEntries && longestMember(buf, off, len) <= lim.zsetMaxListpackValue) {
      return host.set(key, koff, klen, buf, off, len, TYPE_ZSET, expireAtMs, flags);
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
    for (let p = off + PACK_HEADER; p < end; ) {
      varint(buf, p);
      const ko = p + vsize;
      const kl = vlen;
      const so = ko + kl + 1;
      p = so + SCORE_BYTES;
      const el = t.insert(td, buf, ko, kl, buf, so, SCORE_BYTES);
      this.tree.insert(zd, readScore(buf, so), el);
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

function varintLen(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Longest member of a zset PACK. */
export function longestMember(buf: Uint8Array, off: number, len: number): number {
  let max = 0;
  const end = off + len;
  for (let p = off + PACK_HEADER; p < end; ) {
    varint(buf, p);
    if (vlen > max) max = vlen;
    p += vsize + vlen + 1 + SCORE_BYTES;
  }
  return max;
}

/** What is wrong with a sorted-set image, or null: a PACK of (member, 8-byte score) pairs, not
 * empty, no NaN, strictly ascending by (score, member) (so no member twice). */
export function zsetImageError(buf: Uint8Array, off: number, len: number): string | null {
  const bad = packError(buf, off, len, 2);
  if (bad !== null) return bad;
  const count = readU32(buf, off + 1);
  if (count === 0) return 'empty collection';
  let prevS = 0;
  let prevO = -1;
  let prevL = 0;
  let p = off + PACK_HEADER;
  for (let i = 0; i < count; i++) {
    varint(buf, p);
    const mo = p + vsize;
    const ml = vlen;
    p = mo + ml;
    varint(buf, p);
    if (vlen !== SCORE_BYTES || vsize !== 1) return 'score not 8 bytes';
    const s = readScore(buf, p + 1);
    p += 1 + SCORE_BYTES;
    if (Number.isNaN(s)) return 'NaN score';
    if (prevO >= 0 && compareKeys(prevS, buf, prevO, prevL, s, buf, mo, ml) >= 0) return 'members out of order';
    prevS = s;
    prevO = mo;
    prevL = ml;
  }
  return null;
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
