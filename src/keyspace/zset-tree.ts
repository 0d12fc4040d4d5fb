// The order of a large sorted set: a B+ tree in the arena over the elements of its member table
// (element-table.ts, two parts: member, 8-byte score). Leaves hold (score f64, element u32) pairs
// sorted by (score, member bytes); inner nodes hold their children, each child's element count
// (for ranks) and separator keys. Rank, count-below, at-rank and insert/remove are O(log n).
// Invariants: for j >= 1, sep[j] of an inner node is a live element of the set with
// max(child j-1) < sep[j] <= min(child j) (so it is the first element of child j's leftmost leaf);
// sep[0] is never read. counts[j] is the number of elements under child j. No node is empty
// except a root leaf. Nodes are not linked to their siblings: walks keep their path.
// Descriptor (ZD_WORDS words): member table, root, height (0: the root is a leaf), bytes of the
// tree's nodes, then the words a lazy free uses (word 8 is the keyspace queue's link, D_LAZY_NEXT).
import { assert } from '../util/assert.js';
import type { Arena } from './arena.js';
import { CLASS_SIZE, classOf } from './layout.js';

export const ZD_TABLE = 0;
export const ZD_ROOT = 1;
export const ZD_HEIGHT = 2;
export const ZD_TREE_BYTES = 3;
export const ZD_WORDS = 10;
export const ZD_BYTES = ZD_WORDS * 4;

/** Elements per leaf and children per inner node (blocks of 776 and 968 bytes: small classes). */
export const LEAF_CAP = 64;
export const INNER_CAP = 48;
const LEAF_BYTES = 8 + LEAF_CAP * 12;
const INNER_BYTES = 8 + INNER_CAP * 20;
const LEAF_CLASS = classOf(LEAF_BYTES);
const INNER_CLASS = classOf(INNER_BYTES);
const KIND_LEAF = 1;
const KIND_INNER = 2;
/** A tree of 2^32 elements is at most this deep (inner nodes are at least a quarter full, or merged). */
const MAX_DEPTH = 32;
const LEN_MASK = 0x7fffffff;

// Word offsets inside a node (node >>> 2 + ...), f64 offsets (node >>> 3 + ...).
const W_COUNT = 0;
const W_KIND = 1;
const F_KEYS = 1;
const LW_HANDLES = 2 + 2 * LEAF_CAP;
const IW_SEPS = 2 + 2 * INNER_CAP;
const IW_CHILDREN = IW_SEPS + INNER_CAP;
const IW_COUNTS = IW_CHILDREN + INNER_CAP;

/** Receives an element in order: its block, its score. Returns false to stop. */
export type TreeVisit = (el: number, score: number) => boolean;

export class ZTree {
  private u8: Uint8Array;
  private u32: Uint32Array;
  private f64: Float64Array;
  // The path of the last descent: node and child index per level (module-level scratch).
  private readonly pathNode = new Uint32Array(MAX_DEPTH + 1);
  private readonly pathIdx = new Int32Array(MAX_DEPTH + 1);
  // The key being searched: score and member bytes.
  private ks = 0;
  private kb: Uint8Array = new Uint8Array(0);
  private ko = 0;
  private kl = 0;

  constructor(private readonly arena: Arena) {
    this.u8 = arena.u8;
    this.u32 = arena.u32;
    this.f64 = new Float64Array(arena.memory, 0, arena.memory.byteLength >>> 3);
  }

  /** Re-reads the arena's views (after anything that may have grown it). */
  private sync(): void {
    this.arena.refresh();
    this.u8 = this.arena.u8;
    this.u32 = this.arena.u32;
    if (this.f64.length !== this.arena.memory.byteLength >>> 3) this.f64 = new Float64Array(this.arena.memory, 0, this.arena.memory.byteLength >>> 3);
  }

  /** Sets up descriptor zd's tree: an empty root leaf. */
  init(zd: number): void {
    const leaf = this.newNode(zd, true);
    const u32 = this.u32;
    u32[(zd >>> 2) + ZD_ROOT] = leaf;
    u32[(zd >>> 2) + ZD_HEIGHT] = 0;
  }

  private newNode(zd: number, leaf: boolean): number {
    const cls = leaf ? LEAF_CLASS : INNER_CLASS;
    const n = this.arena.alloc(cls);
    this.sync();
    const u32 = this.u32;
    u32[(n >>> 2) + W_COUNT] = 0;
    u32[(n >>> 2) + W_KIND] = leaf ? KIND_LEAF : KIND_INNER;
    u32[(zd >>> 2) + ZD_TREE_BYTES] = u32[(zd >>> 2) + ZD_TREE_BYTES]! + CLASS_SIZE[cls]!;
    return n;
  }

  private freeNode(zd: number, n: number): void {
    const u32 = this.u32;
    const cls = u32[(n >>> 2) + W_KIND] === KIND_LEAF ? LEAF_CLASS : INNER_CLASS;
    u32[(zd >>> 2) + ZD_TREE_BYTES] = u32[(zd >>> 2) + ZD_TREE_BYTES]! - CLASS_SIZE[cls]!;
    u32[(n >>> 2) + W_KIND] = 0;
    this.arena.free(n, cls);
  }

  /** Elements in the tree. */
  count(zd: number): number {
    this.sync();
    return this.nodeTotal(this.u32[(zd >>> 2) + ZD_ROOT]!, this.u32[(zd >>> 2) + ZD_HEIGHT]!);
  }

  private nodeTotal(n: number, height: number): number {
    const u32 = this.u32;
    const w = n >>> 2;
    const c = u32[w + W_COUNT]!;
    if (height === 0) return c;
    let t = 0;
    for (let i = 0; i < c; i++) t += u32[w + IW_COUNTS + i]!;
    return t;
  }

  // --- Comparisons ------------------------------------------------------------------------------

  /** Compares the search key with element el of score s: < 0, 0, > 0. */
  private cmpKey(s: number, el: number): number {
    if (this.ks < s) return -1;
    if (this.ks > s) return 1;
    return this.cmpMember(el);
  }

  /** Compares the search key's member with element el's member (memcmp order, shorter first). */
  private cmpMember(el: number): number {
    const u8 = this.u8;
    const l = this.u32[el >>> 2]! & LEN_MASK;
    const p = el + 8;
    const kb = this.kb;
    const ko = this.ko;
    const n = Math.min(l, this.kl);
    for (let i = 0; i < n; i++) {
      const d = kb[ko + i]! - u8[p + i]!;
      if (d !== 0) return d;
    }
    return this.kl - l;
  }

  private setKey(s: number, kb: Uint8Array, ko: number, kl: number): void {
    this.ks = s;
    this.kb = kb;
    this.ko = ko;
    this.kl = kl;
  }

  /** Makes element el (in the arena) the search key. */
  private keyOfElement(s: number, el: number): void {
    this.setKey(s, this.u8, el + 8, this.u32[el >>> 2]! & LEN_MASK);
  }

  /** In inner node n (c children), the child the search key belongs under: the number of
   * separators j >= 1 with sep[j] <= key, minus... i.e. the last j with sep[j] <= key (0 if none). */
  private routeKey(n: number, c: number): number {
    const f64 = this.f64;
    const u32 = this.u32;
    const fw = (n >>> 3) + F_KEYS;
    const w = n >>> 2;
    let lo = 1;
    let hi = c - 1;
    // Binary search for the last sep <= key.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmpKey(f64[fw + mid]!, u32[w + IW_SEPS + mid]!) >= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi < 1 ? 0 : hi;
  }

  /** In leaf n, the first position whose key is >= the search key. */
  private leafLowerBound(n: number): number {
    const f64 = this.f64;
    const u32 = this.u32;
    const fw = (n >>> 3) + F_KEYS;
    const w = n >>> 2;
    let lo = 0;
    let hi = u32[w + W_COUNT]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmpKey(f64[fw + mid]!, u32[w + LW_HANDLES + mid]!) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // --- Queries ----------------------------------------------------------------------------------

  /** 0-based rank of the element with score s and member mb[mo, +ml), or -1 when absent. */
  rank(zd: number, s: number, mb: Uint8Array, mo: number, ml: number): number {
    this.sync();
    this.setKey(s, mb, mo, ml);
    const u32 = this.u32;
    let n = u32[(zd >>> 2) + ZD_ROOT]!;
    let acc = 0;
    for (let h = u32[(zd >>> 2) + ZD_HEIGHT]!; h > 0; h--) {
      const w = n >>> 2;
      const c = this.routeKey(n, u32[w + W_COUNT]!);
      for (let i = 0; i < c; i++) acc += u32[w + IW_COUNTS + i]!;
      n = u32[w + IW_CHILDREN + c]!;
    }
    const pos = this.leafLowerBound(n);
    if (pos >= u32[(n >>> 2) + W_COUNT]! || this.cmpKey(this.f64[(n >>> 3) + F_KEYS + pos]!, u32[(n >>> 2) + LW_HANDLES + pos]!) !== 0) return -1;
    return acc + pos;
  }

  /** Number of elements whose score is < s (or <= s when inclusive). */
  countBelowScore(zd: number, s: number, inclusive: boolean): number {
    this.sync();
    const u32 = this.u32;
    const f64 = this.f64;
    let n = u32[(zd >>> 2) + ZD_ROOT]!;
    let acc = 0;
    for (let h = u32[(zd >>> 2) + ZD_HEIGHT]!; h > 0; h--) {
      const w = n >>> 2;
      const fw = (n >>> 3) + F_KEYS;
      const c = u32[w + W_COUNT]!;
      // Separators are ordered: the child is the last one whose separator's score is below s.
      let j = 1;
      while (j < c && (inclusive ? f64[fw + j]! <= s : f64[fw + j]! < s)) j++;
      for (let i = 0; i < j - 1; i++) acc += u32[w + IW_COUNTS + i]!;
      n = u32[w + IW_CHILDREN + j - 1]!;
    }
    const fw = (n >>> 3) + F_KEYS;
    const c = u32[(n >>> 2) + W_COUNT]!;
    let lo = 0;
    let hi = c;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (inclusive ? f64[fw + mid]! <= s : f64[fw + mid]! < s) lo = mid + 1;
      else hi = mid;
    }
    return acc + lo;
  }

  /** Number of elements whose member is < mb[mo, +ml) (or <= when inclusive), in member order:
   * meaningful when all scores are equal (the lex commands), as in Redis. */
  countBelowMember(zd: number, mb: Uint8Array, mo: number, ml: number, inclusive: boolean): number {
    this.sync();
    this.setKey(0, mb, mo, ml);
    const u32 = this.u32;
    let n = u32[(zd >>> 2) + ZD_ROOT]!;
    let acc = 0;
    for (let h = u32[(zd >>> 2) + ZD_HEIGHT]!; h > 0; h--) {
      const w = n >>> 2;
      const c = u32[w + W_COUNT]!;
      let j = 1;
      while (j < c && this.belowMember(u32[w + IW_SEPS + j]!, inclusive)) j++;
      for (let i = 0; i < j - 1; i++) acc += u32[w + IW_COUNTS + i]!;
      n = u32[w + IW_CHILDREN + j - 1]!;
    }
    const w = n >>> 2;
    const c = u32[w + W_COUNT]!;
    let lo = 0;
    let hi = c;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.belowMember(u32[w + LW_HANDLES + mid]!, inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return acc + lo;
  }

  /** Whether element el's member is below the search key's member (or equal, when inclusive). */
  private belowMember(el: number, inclusive: boolean): boolean {
    const d = this.cmpMember(el);
    return inclusive ? d >= 0 : d > 0;
  }

  /** Descends to rank r (0 <= r < count), filling the path; returns the position in the leaf. */
  private descendRank(zd: number, r: number): number {
    const u32 = this.u32;
    let n = u32[(zd >>> 2) + ZD_ROOT]!;
    const height = u32[(zd >>> 2) + ZD_HEIGHT]!;
    for (let d = 0; d < height; d++) {
      const w = n >>> 2;
      const c = u32[w + W_COUNT]!;
      let i = 0;
      while (i < c - 1 && r >= u32[w + IW_COUNTS + i]!) r -= u32[w + IW_COUNTS + i++]!;
      this.pathNode[d] = n;
      this.pathIdx[d] = i;
      n = u32[w + IW_CHILDREN + i]!;
    }
    this.pathNode[height] = n;
    assert(r < u32[(n >>> 2) + W_COUNT]!, 'zset tree: rank past the end');
    this.pathIdx[height] = r;
    return r;
  }

  /** The element at rank r (0 <= r < count); its score in atScore. */
  atScore = 0;
  at(zd: number, r: number): number {
    this.sync();
    const pos = this.descendRank(zd, r);
    const n = this.pathNode[this.u32[(zd >>> 2) + ZD_HEIGHT]!]!;
    this.atScore = this.f64[(n >>> 3) + F_KEYS + pos]!;
    return this.u32[(n >>> 2) + LW_HANDLES + pos]!;
  }

  /** Visits ranks start..stop (0 <= start <= stop < count) ascending, or stop down to start when
   * reverse, until visit returns false. visit must not change the arena. */
  range(zd: number, start: number, stop: number, reverse: boolean, visit: TreeVisit): void {
    this.sync();
    const height = this.u32[(zd >>> 2) + ZD_HEIGHT]!;
    let pos = this.descendRank(zd, reverse ? stop : start);
    let left = stop - start + 1;
    const u32 = this.u32;
    const f64 = this.f64;
    let leaf = this.pathNode[height]!;
    while (left > 0) {
      if (!visit(u32[(leaf >>> 2) + LW_HANDLES + pos]!, f64[(leaf >>> 3) + F_KEYS + pos]!)) return;
      left--;
      if (left === 0) return;
      if (reverse) {
        if (pos > 0) {
          pos--;
          continue;
        }
        leaf = this.stepLeaf(height, -1);
        pos = u32[(leaf >>> 2) + W_COUNT]! - 1;
      } else {
        if (pos + 1 < u32[(leaf >>> 2) + W_COUNT]!) {
          pos++;
          continue;
        }
        leaf = this.stepLeaf(height, 1);
        pos = 0;
      }
    }
  }

  /** Moves the path to the next (dir 1) or previous (dir -1) leaf; returns it. */
  private stepLeaf(height: number, dir: 1 | -1): number {
    const u32 = this.u32;
    let d = height - 1;
    while (d >= 0) {
      const w = this.pathNode[d]! >>> 2;
      const i = this.pathIdx[d]! + dir;
      if (i >= 0 && i < u32[w + W_COUNT]!) {
        this.pathIdx[d] = i;
        break;
      }
      d--;
    }
    assert(d >= 0, 'zset tree: walked past the end');
    for (; d < height; d++) {
      const child = u32[(this.pathNode[d]! >>> 2) + IW_CHILDREN + this.pathIdx[d]!]!;
      this.pathNode[d + 1] = child;
      if (d + 1 < height) this.pathIdx[d + 1] = dir === 1 ? 0 : u32[(child >>> 2) + W_COUNT]! - 1;
    }
    return this.pathNode[height]!;
  }

  // --- Changes ----------------------------------------------------------------------------------

  /** Descends to the leaf of the current key (keyOfElement), adding delta to the subtree count of
   * every child passed and recording the path (pathNode, pathIdx); returns the leaf. */
  private descendCounting(zd: number, delta: number): number {
    const zw = zd >>> 2;
    const u32 = this.u32;
    const height = u32[zw + ZD_HEIGHT]!;
    let n = u32[zw + ZD_ROOT]!;
    for (let d = 0; d < height; d++) {
      const w = n >>> 2;
      const c = this.routeKey(n, u32[w + W_COUNT]!);
      u32[w + IW_COUNTS + c] = u32[w + IW_COUNTS + c]! + delta;
      this.pathNode[d] = n;
      this.pathIdx[d] = c;
      n = u32[w + IW_CHILDREN + c]!;
    }
    return n;
  }

  /** Adds element el (member in its block) with score s; the key must be absent. */
  insert(zd: number, s: number, el: number): void {
    this.sync();
    this.keyOfElement(s, el);
    let u32 = this.u32;
    const height = u32[(zd >>> 2) + ZD_HEIGHT]!;
    const n = this.descendCounting(zd, 1);
    const pos = this.leafLowerBound(n);
    const cnt = u32[(n >>> 2) + W_COUNT]!;
    if (cnt < LEAF_CAP) {
      this.leafInsertAt(n, pos, s, el);
      return;
    }
    if (height > 0 && this.shiftToSibling(n, pos, s, el, height)) return;
    // Split: half to a new right leaf, or (appending at the end) only the new element, so that
    // ascending inserts leave full leaves.
    const r = this.newNode(zd, true);
    u32 = this.u32;
    const mid = pos === LEAF_CAP ? LEAF_CAP : LEAF_CAP >>> 1;
    this.moveLeafTail(n, mid, r);
    if (pos < mid) this.leafInsertAt(n, pos, s, el);
    else this.leafInsertAt(r, pos - mid, s, el);
    const rw = r >>> 2;
    this.insertChild(zd, height - 1, r, u32[rw + W_COUNT]!, this.f64[(r >>> 3) + F_KEYS]!, u32[rw + LW_HANDLES]!, u32[(n >>> 2) + W_COUNT]!, n);
  }

  /** Full leaf n (the path's last level) makes room by evening its count with a neighbour under
   * the same parent that has some, then takes the new element (at pos in n) where it belongs.
   * False when both neighbours are (nearly) full. Spares a split: leaves stay fuller (random
   * inserts: ~80% instead of B+ trees' usual ~70%). */
  private shiftToSibling(n: number, pos: number, s: number, el: number, height: number): boolean {
    const u32 = this.u32;
    const p = this.pathNode[height - 1]!;
    const i = this.pathIdx[height - 1]!;
    const pw = p >>> 2;
    const pc = u32[pw + W_COUNT]!;
    if (i + 1 < pc) {
      const r = u32[pw + IW_CHILDREN + i + 1]!;
      if (u32[(r >>> 2) + W_COUNT]! <= LEAF_CAP - 2) {
        this.borrowLeft(p, i + 1, true);
        const keep = u32[(n >>> 2) + W_COUNT]!;
        if (pos <= keep) {
          this.leafInsertAt(n, pos, s, el);
        } else {
          this.leafInsertAt(r, pos - keep, s, el);
          u32[pw + IW_COUNTS + i]!--;
          u32[pw + IW_COUNTS + i + 1]!++;
        }
        return true;
      }
    }
    if (i > 0) {
      const l = u32[pw + IW_CHILDREN + i - 1]!;
      const lc = u32[(l >>> 2) + W_COUNT]!;
      if (lc <= LEAF_CAP - 2) {
        this.borrowRight(p, i - 1, true);
        const k = u32[(l >>> 2) + W_COUNT]! - lc;
        if (pos <= k) {
          this.leafInsertAt(l, lc + pos, s, el);
          u32[pw + IW_COUNTS + i]!--;
          u32[pw + IW_COUNTS + i - 1]!++;
        } else {
          this.leafInsertAt(n, pos - k, s, el);
        }
        return true;
      }
    }
    return false;
  }

  private leafInsertAt(n: number, pos: number, s: number, el: number): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const w = n >>> 2;
    const fw = (n >>> 3) + F_KEYS;
    const c = u32[w + W_COUNT]!;
    f64.copyWithin(fw + pos + 1, fw + pos, fw + c);
    u32.copyWithin(w + LW_HANDLES + pos + 1, w + LW_HANDLES + pos, w + LW_HANDLES + c);
    f64[fw + pos] = s;
    u32[w + LW_HANDLES + pos] = el;
    u32[w + W_COUNT] = c + 1;
  }

  /** Moves leaf n's entries from position mid on to the empty leaf r. */
  private moveLeafTail(n: number, mid: number, r: number): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const w = n >>> 2;
    const c = u32[w + W_COUNT]!;
    const fw = (n >>> 3) + F_KEYS;
    f64.copyWithin((r >>> 3) + F_KEYS, fw + mid, fw + c);
    u32.copyWithin((r >>> 2) + LW_HANDLES, w + LW_HANDLES + mid, w + LW_HANDLES + c);
    u32[(r >>> 2) + W_COUNT] = c - mid;
    u32[w + W_COUNT] = mid;
  }

  /** After node `left` (now holding leftCount elements) split at level d + 1 of the path, puts its
   * new right sibling `right` (rightCount elements, separator key) after it in the parent at level
   * d, splitting upwards as needed; d = -1: left was the root. */
  private insertChild(zd: number, d: number, right: number, rightCount: number, sepS: number, sepEl: number, leftCount: number, left: number): void {
    const zw = zd >>> 2;
    if (d < 0) {
      assert(this.u32[zw + ZD_HEIGHT]! < MAX_DEPTH, 'zset tree: too deep');
      const root = this.newNode(zd, false);
      const u32 = this.u32;
      const w = root >>> 2;
      u32[w + W_COUNT] = 2;
      u32[w + IW_CHILDREN] = left;
      u32[w + IW_CHILDREN + 1] = right;
      u32[w + IW_COUNTS] = leftCount;
      u32[w + IW_COUNTS + 1] = rightCount;
      this.f64[(root >>> 3) + F_KEYS] = 0;
      u32[w + IW_SEPS] = 0;
      this.f64[(root >>> 3) + F_KEYS + 1] = sepS;
      u32[w + IW_SEPS + 1] = sepEl;
      u32[zw + ZD_ROOT] = root;
      u32[zw + ZD_HEIGHT] = u32[zw + ZD_HEIGHT]! + 1;
      return;
    }
    const p = this.pathNode[d]!;
    const i = this.pathIdx[d]!;
    let u32 = this.u32;
    const pw = p >>> 2;
    const c = u32[pw + W_COUNT]!;
    // The parent counted the new element under `left`: now it is shared between the halves.
    u32[pw + IW_COUNTS + i] = leftCount;
    if (c < INNER_CAP) {
      this.innerInsertAt(p, i + 1, right, rightCount, sepS, sepEl);
      return;
    }
    const q = this.newNode(zd, false);
    u32 = this.u32;
    const mid = i + 1 === INNER_CAP ? INNER_CAP - 1 : INNER_CAP >>> 1;
    this.moveInnerTail(p, mid, q);
    if (i + 1 <= mid) this.innerInsertAt(p, i + 1, right, rightCount, sepS, sepEl);
    else this.innerInsertAt(q, i + 1 - mid, right, rightCount, sepS, sepEl);
    const qw = q >>> 2;
    this.insertChild(zd, d - 1, q, this.innerTotal(q), this.f64[(q >>> 3) + F_KEYS]!, u32[qw + IW_SEPS]!, this.innerTotal(p), p);
  }

  private innerTotal(n: number): number {
    const u32 = this.u32;
    const w = n >>> 2;
    const c = u32[w + W_COUNT]!;
    let t = 0;
    for (let i = 0; i < c; i++) t += u32[w + IW_COUNTS + i]!;
    return t;
  }

  private innerInsertAt(n: number, pos: number, child: number, count: number, sepS: number, sepEl: number): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const w = n >>> 2;
    const fw = (n >>> 3) + F_KEYS;
    const c = u32[w + W_COUNT]!;
    f64.copyWithin(fw + pos + 1, fw + pos, fw + c);
    u32.copyWithin(w + IW_SEPS + pos + 1, w + IW_SEPS + pos, w + IW_SEPS + c);
    u32.copyWithin(w + IW_CHILDREN + pos + 1, w + IW_CHILDREN + pos, w + IW_CHILDREN + c);
    u32.copyWithin(w + IW_COUNTS + pos + 1, w + IW_COUNTS + pos, w + IW_COUNTS + c);
    f64[fw + pos] = sepS;
    u32[w + IW_SEPS + pos] = sepEl;
    u32[w + IW_CHILDREN + pos] = child;
    u32[w + IW_COUNTS + pos] = count;
    u32[w + W_COUNT] = c + 1;
  }

  private moveInnerTail(n: number, mid: number, q: number): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const w = n >>> 2;
    const qw = q >>> 2;
    const c = u32[w + W_COUNT]!;
    const fw = (n >>> 3) + F_KEYS;
    f64.copyWithin((q >>> 3) + F_KEYS, fw + mid, fw + c);
    u32.copyWithin(qw + IW_SEPS, w + IW_SEPS + mid, w + IW_SEPS + c);
    u32.copyWithin(qw + IW_CHILDREN, w + IW_CHILDREN + mid, w + IW_CHILDREN + c);
    u32.copyWithin(qw + IW_COUNTS, w + IW_COUNTS + mid, w + IW_COUNTS + c);
    u32[qw + W_COUNT] = c - mid;
    u32[w + W_COUNT] = mid;
  }

  /** Removes element el, whose score in the tree is s (the element block must still hold its
   * member: free it after). */
  remove(zd: number, s: number, el: number): void {
    this.sync();
    this.keyOfElement(s, el);
    const u32 = this.u32;
    const height = u32[(zd >>> 2) + ZD_HEIGHT]!;
    let n = this.descendCounting(zd, -1);
    const pos = this.leafLowerBound(n);
    const w = n >>> 2;
    const c = u32[w + W_COUNT]!;
    assert(pos < c && u32[w + LW_HANDLES + pos] === el, 'zset tree: removing an element it does not hold');
    const fw = (n >>> 3) + F_KEYS;
    this.f64.copyWithin(fw + pos, fw + pos + 1, fw + c);
    u32.copyWithin(w + LW_HANDLES + pos, w + LW_HANDLES + pos + 1, w + LW_HANDLES + c);
    u32[w + W_COUNT] = c - 1;
    this.pathNode[height] = n;
    this.rebalance(zd, height);
    // Only the first element of a leaf can be a separator above it: replace it (el goes away).
    if (pos === 0 && height > 0) this.replaceSeparator(zd, el);
  }

  /** Merges or drops underfull nodes from level `height` of the path upwards. */
  private rebalance(zd: number, height: number): void {
    const zw = zd >>> 2;
    let u32 = this.u32;
    for (let d = height; d > 0; d--) {
      const n = this.pathNode[d]!;
      const p = this.pathNode[d - 1]!;
      const i = this.pathIdx[d - 1]!;
      const leaf = d === height;
      const cap = leaf ? LEAF_CAP : INNER_CAP;
      const c = u32[(n >>> 2) + W_COUNT]!;
      if (c === 0) {
        this.freeNode(zd, n);
        this.innerRemoveAt(p, i);
        continue;
      }
      if (c >= cap >>> 2) return;
      const pc = u32[(p >>> 2) + W_COUNT]!;
      if (i + 1 < pc && u32[(u32[(p >>> 2) + IW_CHILDREN + i + 1]! >>> 2) + W_COUNT]! + c <= cap) {
        this.merge(zd, p, i, leaf);
      } else if (i > 0 && u32[(u32[(p >>> 2) + IW_CHILDREN + i - 1]! >>> 2) + W_COUNT]! + c <= cap) {
        this.merge(zd, p, i - 1, leaf);
      } else {
        // Its neighbours are too full to merge with: take some of a neighbour's entries, so that
        // no node stays nearly empty (this bounds the depth and the memory per element).
        if (i + 1 < pc) this.borrowRight(p, i, leaf);
        else if (i > 0) this.borrowLeft(p, i, leaf);
        return;
      }
      u32 = this.u32;
    }
    // A root with one child gives way to it.
    for (;;) {
      const root = u32[zw + ZD_ROOT]!;
      if (u32[zw + ZD_HEIGHT] === 0 || u32[(root >>> 2) + W_COUNT] !== 1) return;
      u32[zw + ZD_ROOT] = u32[(root >>> 2) + IW_CHILDREN]!;
      u32[zw + ZD_HEIGHT] = u32[zw + ZD_HEIGHT]! - 1;
      this.freeNode(zd, root);
    }
  }

  /** Merges child i + 1 of inner node p into child i. */
  private merge(zd: number, p: number, i: number, leaf: boolean): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const pw = p >>> 2;
    const a = u32[pw + IW_CHILDREN + i]!;
    const b = u32[pw + IW_CHILDREN + i + 1]!;
    const aw = a >>> 2;
    const bw = b >>> 2;
    const ac = u32[aw + W_COUNT]!;
    const bc = u32[bw + W_COUNT]!;
    const afw = (a >>> 3) + F_KEYS;
    const bfw = (b >>> 3) + F_KEYS;
    f64.copyWithin(afw + ac, bfw, bfw + bc);
    if (leaf) {
      u32.copyWithin(aw + LW_HANDLES + ac, bw + LW_HANDLES, bw + LW_HANDLES + bc);
    } else {
      u32.copyWithin(aw + IW_SEPS + ac, bw + IW_SEPS, bw + IW_SEPS + bc);
      u32.copyWithin(aw + IW_CHILDREN + ac, bw + IW_CHILDREN, bw + IW_CHILDREN + bc);
      u32.copyWithin(aw + IW_COUNTS + ac, bw + IW_COUNTS, bw + IW_COUNTS + bc);
      // b's first child gets b's separator from the parent (b's own sep[0] is never kept right).
      f64[afw + ac] = f64[(p >>> 3) + F_KEYS + i + 1]!;
      u32[aw + IW_SEPS + ac] = u32[pw + IW_SEPS + i + 1]!;
    }
    u32[aw + W_COUNT] = ac + bc;
    u32[pw + IW_COUNTS + i] = u32[pw + IW_COUNTS + i]! + u32[pw + IW_COUNTS + i + 1]!;
    this.freeNode(zd, b);
    this.innerRemoveAt(p, i + 1);
  }

  /** Moves the first entries of child i + 1 of p to the end of child i, evening their counts. */
  private borrowRight(p: number, i: number, leaf: boolean): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const pw = p >>> 2;
    const pf = (p >>> 3) + F_KEYS;
    const a = u32[pw + IW_CHILDREN + i]!;
    const b = u32[pw + IW_CHILDREN + i + 1]!;
    const aw = a >>> 2;
    const bw = b >>> 2;
    const af = (a >>> 3) + F_KEYS;
    const bf = (b >>> 3) + F_KEYS;
    const ac = u32[aw + W_COUNT]!;
    const bc = u32[bw + W_COUNT]!;
    const k = (bc - ac) >>> 1;
    if (k === 0) return;
    let moved = k;
    f64.copyWithin(af + ac, bf, bf + k);
    f64.copyWithin(bf, bf + k, bf + bc);
    if (leaf) {
      u32.copyWithin(aw + LW_HANDLES + ac, bw + LW_HANDLES, bw + LW_HANDLES + k);
      u32.copyWithin(bw + LW_HANDLES, bw + LW_HANDLES + k, bw + LW_HANDLES + bc);
      f64[pf + i + 1] = f64[bf]!;
      u32[pw + IW_SEPS + i + 1] = u32[bw + LW_HANDLES]!;
    } else {
      moved = 0;
      for (let j = 0; j < k; j++) moved += u32[bw + IW_COUNTS + j]!;
      u32.copyWithin(aw + IW_SEPS + ac, bw + IW_SEPS, bw + IW_SEPS + k);
      u32.copyWithin(aw + IW_CHILDREN + ac, bw + IW_CHILDREN, bw + IW_CHILDREN + k);
      u32.copyWithin(aw + IW_COUNTS + ac, bw + IW_COUNTS, bw + IW_COUNTS + k);
      // b's first child keeps b's separator from the parent; the parent's becomes that of b's
      // new first child (already moved down to b's position 0 by the copy above).
      f64[af + ac] = f64[pf + i + 1]!;
      u32[aw + IW_SEPS + ac] = u32[pw + IW_SEPS + i + 1]!;
      f64[pf + i + 1] = f64[bf]!;
      u32[pw + IW_SEPS + i + 1] = u32[bw + IW_SEPS + k]!;
      u32.copyWithin(bw + IW_SEPS, bw + IW_SEPS + k, bw + IW_SEPS + bc);
      u32.copyWithin(bw + IW_CHILDREN, bw + IW_CHILDREN + k, bw + IW_CHILDREN + bc);
      u32.copyWithin(bw + IW_COUNTS, bw + IW_COUNTS + k, bw + IW_COUNTS + bc);
    }
    u32[aw + W_COUNT] = ac + k;
    u32[bw + W_COUNT] = bc - k;
    u32[pw + IW_COUNTS + i] = u32[pw + IW_COUNTS + i]! + moved;
    u32[pw + IW_COUNTS + i + 1] = u32[pw + IW_COUNTS + i + 1]! - moved;
  }

  /** Moves the last entries of child i - 1 of p to the front of child i, evening their counts. */
  private borrowLeft(p: number, i: number, leaf: boolean): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const pw = p >>> 2;
    const pf = (p >>> 3) + F_KEYS;
    const a = u32[pw + IW_CHILDREN + i - 1]!;
    const n = u32[pw + IW_CHILDREN + i]!;
    const aw = a >>> 2;
    const nw = n >>> 2;
    const af = (a >>> 3) + F_KEYS;
    const nf = (n >>> 3) + F_KEYS;
    const ac = u32[aw + W_COUNT]!;
    const nc = u32[nw + W_COUNT]!;
    const k = (ac - nc) >>> 1;
    if (k === 0) return;
    let moved = k;
    f64.copyWithin(nf + k, nf, nf + nc);
    f64.copyWithin(nf, af + ac - k, af + ac);
    if (leaf) {
      u32.copyWithin(nw + LW_HANDLES + k, nw + LW_HANDLES, nw + LW_HANDLES + nc);
      u32.copyWithin(nw + LW_HANDLES, aw + LW_HANDLES + ac - k, aw + LW_HANDLES + ac);
      f64[pf + i] = f64[nf]!;
      u32[pw + IW_SEPS + i] = u32[nw + LW_HANDLES]!;
    } else {
      moved = 0;
      for (let j = ac - k; j < ac; j++) moved += u32[aw + IW_COUNTS + j]!;
      u32.copyWithin(nw + IW_SEPS + k, nw + IW_SEPS, nw + IW_SEPS + nc);
      u32.copyWithin(nw + IW_CHILDREN + k, nw + IW_CHILDREN, nw + IW_CHILDREN + nc);
      u32.copyWithin(nw + IW_COUNTS + k, nw + IW_COUNTS, nw + IW_COUNTS + nc);
      // n's old first child gets n's separator from the parent; the parent's becomes that of
      // the first child moved over.
      f64[nf + k] = f64[pf + i]!;
      u32[nw + IW_SEPS + k] = u32[pw + IW_SEPS + i]!;
      u32.copyWithin(nw + IW_SEPS, aw + IW_SEPS + ac - k, aw + IW_SEPS + ac);
      u32.copyWithin(nw + IW_CHILDREN, aw + IW_CHILDREN + ac - k, aw + IW_CHILDREN + ac);
      u32.copyWithin(nw + IW_COUNTS, aw + IW_COUNTS + ac - k, aw + IW_COUNTS + ac);
      f64[pf + i] = f64[nf]!;
      u32[pw + IW_SEPS + i] = u32[nw + IW_SEPS]!;
    }
    u32[aw + W_COUNT] = ac - k;
    u32[nw + W_COUNT] = nc + k;
    u32[pw + IW_COUNTS + i - 1] = u32[pw + IW_COUNTS + i - 1]! - moved;
    u32[pw + IW_COUNTS + i] = u32[pw + IW_COUNTS + i]! + moved;
  }

  private innerRemoveAt(n: number, pos: number): void {
    const u32 = this.u32;
    const w = n >>> 2;
    const fw = (n >>> 3) + F_KEYS;
    const c = u32[w + W_COUNT]!;
    this.f64.copyWithin(fw + pos, fw + pos + 1, fw + c);
    u32.copyWithin(w + IW_SEPS + pos, w + IW_SEPS + pos + 1, w + IW_SEPS + c);
    u32.copyWithin(w + IW_CHILDREN + pos, w + IW_CHILDREN + pos + 1, w + IW_CHILDREN + c);
    u32.copyWithin(w + IW_COUNTS + pos, w + IW_COUNTS + pos + 1, w + IW_COUNTS + c);
    u32[w + W_COUNT] = c - 1;
  }

  /** el (the search key, no longer in the tree) may still be a separator: each one that is becomes
   * the first element of its child's subtree (el's successor). */
  private replaceSeparator(zd: number, el: number): void {
    const u32 = this.u32;
    const f64 = this.f64;
    let n = u32[(zd >>> 2) + ZD_ROOT]!;
    for (let h = u32[(zd >>> 2) + ZD_HEIGHT]!; h > 0; h--) {
      const w = n >>> 2;
      const c = this.routeKey(n, u32[w + W_COUNT]!);
      if (c > 0 && u32[w + IW_SEPS + c] === el) {
        let m = u32[w + IW_CHILDREN + c]!;
        for (let k = h - 1; k > 0; k--) m = u32[(m >>> 2) + IW_CHILDREN]!;
        f64[(n >>> 3) + F_KEYS + c] = f64[(m >>> 3) + F_KEYS]!;
        u32[w + IW_SEPS + c] = u32[(m >>> 2) + LW_HANDLES]!;
      }
      n = u32[w + IW_CHILDREN + c]!;
    }
  }

  /** Visits every element in order (visit must not change the arena). */
  forEach(zd: number, visit: TreeVisit): void {
    const total = this.count(zd);
    if (total > 0) this.range(zd, 0, total - 1, false, visit);
  }

  /** Frees up to about `budget` elements' worth of nodes of a tree nobody uses; true when none
   * is left (the descriptor itself is the caller's). */
  destroyStep(zd: number, budget: number): boolean {
    this.sync();
    const zw = zd >>> 2;
    let freed = 0;
    while (freed < budget) {
      const u32 = this.u32;
      const root = u32[zw + ZD_ROOT]!;
      if (root === 0) return true;
      const height = u32[zw + ZD_HEIGHT]!;
      // Free the leftmost leaf, then every ancestor it leaves empty.
      let n = root;
      for (let d = 0; d < height; d++) {
        this.pathNode[d] = n;
        n = u32[(n >>> 2) + IW_CHILDREN]!;
      }
      freed += u32[(n >>> 2) + W_COUNT]! + 1;
      this.freeNode(zd, n);
      let d = height - 1;
      for (; d >= 0; d--) {
        const p = this.pathNode[d]!;
        this.innerRemoveAt(p, 0);
        if (u32[(p >>> 2) + W_COUNT]! > 0) break;
        this.freeNode(zd, p);
      }
      if (d < 0) u32[zw + ZD_ROOT] = 0;
    }
    return this.u32[zw + ZD_ROOT] === 0;
  }

  /** Checks the tree's invariants against its member table's count (tests): throws on the first
   * violation. Returns the number of elements. */
  check(zd: number, expected: number, scoreOf: (el: number) => number): number {
    this.sync();
    const u32 = this.u32;
    const zw = zd >>> 2;
    let bytes = 0;
    let prevS = -Infinity;
    let prevEl = 0;
    let total = 0;
    const walk = (n: number, h: number, lo: number, loEl: number): number => {
      const w = n >>> 2;
      const c = u32[w + W_COUNT]!;
      if (h === 0) {
        assert(u32[w + W_KIND] === KIND_LEAF, 'zset tree: leaf kind');
        bytes += CLASS_SIZE[LEAF_CLASS]!;
        assert(c <= LEAF_CAP && (c > 0 || n === u32[zw + ZD_ROOT]), 'zset tree: leaf count');
        for (let i = 0; i < c; i++) {
          const s = this.f64[(n >>> 3) + F_KEYS + i]!;
          const el = u32[w + LW_HANDLES + i]!;
          assert(!Number.isNaN(s) && s === scoreOf(el), 'zset tree: leaf score differs from the table');
          if (prevEl !== 0) {
            this.keyOfElement(s, el);
            assert(this.cmpKey(prevS, prevEl) > 0, 'zset tree: leaf keys out of order');
          }
          if (i === 0 && loEl !== 0) {
            this.keyOfElement(s, el);
            assert(this.cmpKey(lo, loEl) === 0, 'zset tree: separator is not the first element of its child');
          }
          prevS = s;
          prevEl = el;
        }
        total += c;
        return c;
      }
      assert(u32[w + W_KIND] === KIND_INNER, 'zset tree: inner kind');
      bytes += CLASS_SIZE[INNER_CLASS]!;
      assert(c >= 1 && c <= INNER_CAP, 'zset tree: inner count');
      let sum = 0;
      for (let i = 0; i < c; i++) {
        const sub = walk(u32[w + IW_CHILDREN + i]!, h - 1, i === 0 ? lo : this.f64[(n >>> 3) + F_KEYS + i]!, i === 0 ? loEl : u32[w + IW_SEPS + i]!);
        assert(sub === u32[w + IW_COUNTS + i], 'zset tree: subtree count');
        sum += sub;
      }
      return sum;
    };
    walk(u32[zw + ZD_ROOT]!, u32[zw + ZD_HEIGHT]!, 0, 0);
    assert(total === expected, () => `zset tree holds ${total} elements, its table ${expected}`);
    assert(bytes === u32[zw + ZD_TREE_BYTES], 'zset tree: node bytes');
    return total;
  }
}
