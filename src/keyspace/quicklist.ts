// The large list encoding (Redis's quicklist), all in the arena: a descriptor block and a doubly
// linked chain of node blocks, each holding a packed run of elements (list-pack.ts) bounded by the
// list's fill (list-max-listpack-size when the list was made). A node's run sits anywhere inside its
// block, [start, end): the head node keeps its free room in front and the tail node behind, so a
// push at either end writes one entry without moving the run. With a compress depth d > 0, nodes
// more than d from both ends hold their run deflated (node:zlib, raw deflate, level 1; see
// docs/lists.md) and are inflated when a command changes them.
// Invariants (check()): the descriptor's count, node count and bytes are those of its chain; no
// node is empty; a node within `depth` of either end is never compressed.
// Node handles are block offsets and change when a node is resized or (de)compressed: every
// function that may do so returns the node's new handle.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { assert } from '../util/assert.js';
import type { Arena } from './arena.js';
import { CLASS_SIZE, classOf } from './layout.js';
import { copyInto, elLen, elOff, entryAt, entryEquals, entrySize, prevEntry, putEntry, readEntry, runError, skip } from './list-pack.js';

// Descriptor words.
export const D_COUNT = 0;
const D_NODES = 1;
const D_HEAD = 2;
const D_TAIL = 3;
const D_BYTES = 4;
const D_FILL = 5;
const D_DEPTH = 6;
/** Words 8 and 9 are the keyspace's lazy-free link (element-table.ts D_LAZY_NEXT) and cursor. */
const DESC_WORDS = 10;
export const DESC_BYTES = DESC_WORDS * 4;
const DESC_CLASS = classOf(DESC_BYTES);

// Node words.
const N_PREV = 0;
const N_NEXT = 1;
const N_COUNT = 2;
const N_START = 3;
const N_END = 4;
/** Length of the run when inflated (compressed nodes only). */
const N_RAW = 5;
/** Bits 0-7: size class of the block; COMPRESSED; INCOMPRESSIBLE (tried, did not pay). */
const N_META = 6;
const NODE_HDR = 32;
const COMPRESSED = 0x100;
const INCOMPRESSIBLE = 0x200;

/** Redis's optimization_level: node byte limits for fills -1..-5. */
const SIZE_LIMITS = [4096, 8192, 16384, 32768, 65536];
/** Redis's SIZE_SAFETY_LIMIT: a count-bounded node also stops at this many bytes. */
const SAFETY_BYTES = 8192;
/** Runs shorter than this are not worth compressing (Redis's MIN_COMPRESS_BYTES). */
const MIN_COMPRESS_BYTES = 48;
/** Smallest room a node block is given beyond its run when it grows. */
const MIN_SLACK = 64;
/** A node whose run uses less than a quarter of a block at least this large is shrunk. */
const SHRINK_MIN_BYTES = 512;

/** Where the last pop copied its element, and where get() found one (hitBuf[hitOff, +hitLen)). */
export let hitBuf: Uint8Array = new Uint8Array(0);
export let hitOff = 0;
export let hitLen = 0;
/** The run of a node being read (raw, or an inflated copy of a compressed node). */
export let runBuf: Uint8Array = new Uint8Array(0);
export let runStart = 0;
export let runEnd = 0;

let popScratch = Buffer.allocUnsafe(256);

/** Bytes and element limits of a node under fill, as Redis's quicklistNodeLimit. */
export function nodeExceeds(fill: number, bytes: number, count: number): boolean {
  if (fill < 0) return bytes > SIZE_LIMITS[Math.min(-fill, SIZE_LIMITS.length) - 1]!;
  return bytes > SAFETY_BYTES || count > Math.max(fill, 1);
}

/** Whether a one-node quicklist is small enough to become a listpack again (Redis 7.2's
 * listTypeTryConvertQuicklist with shrinking: half of the limits). */
export function smallEnoughToPack(fill: number, bytes: number, count: number): boolean {
  if (fill < 0) return bytes <= (SIZE_LIMITS[Math.min(-fill, SIZE_LIMITS.length) - 1]! >>> 1);
  return count <= fill >>> 1;
}

export class Quicklist {
  /** Bumped whenever a node block is freed, so the inflate cache never serves a reused block. */
  private epoch = 0;
  private cacheNode = 0;
  private cacheEpoch = -1;
  private cacheBuf: Buffer = Buffer.allocUnsafe(0);

  constructor(private readonly arena: Arena) {}

  create(fill: number, depth: number): number {
    const d = this.arena.alloc(DESC_CLASS);
    const u32 = this.arena.u32;
    u32.fill(0, d >>> 2, (d >>> 2) + DESC_WORDS);
    u32[(d >>> 2) + D_FILL] = fill | 0;
    u32[(d >>> 2) + D_DEPTH] = Math.max(0, depth);
    return d;
  }

  count(d: number): number { return this.arena.u32[(d >>> 2) + D_COUNT]!; }
  nodes(d: number): number { return this.arena.u32[(d >>> 2) + D_NODES]!; }
  head(d: number): number { return this.arena.u32[(d >>> 2) + D_HEAD]!; }
  fill(d: number): number { return this.arena.u32[(d >>> 2) + D_FILL]! | 0; }
  depth(d: number): number { return this.arena.u32[(d >>> 2) + D_DEPTH]!; }
  /** Bytes of the descriptor and its node blocks. */
  bytes(d: number): number { return DESC_BYTES + this.arena.u32[(d >>> 2) + D_BYTES]!; }
  nodeCount(n: number): number { return this.arena.u32[(n >>> 2) + N_COUNT]!; }
  next(n: number): number { return this.arena.u32[(n >>> 2) + N_NEXT]!; }
  /** Bytes of the node's run when raw. */
  runBytes(n: number): number {
    const u32 = this.arena.u32;
    const w = n >>> 2;
    return (u32[w + N_META]! & COMPRESSED) !== 0 ? u32[w + N_RAW]! : u32[w + N_END]! - u32[w + N_START]!;
  }

  // --- Node blocks --------------------------------------------------------------------------

  /** A new raw node block able to hold `cap` bytes of run, empty, its run placed at `at` (relative
   * to the block). Not linked. */
  private newNode(d: number, cap: number, at: number): number {
    const cls = classOf(NODE_HDR + cap);
    const n = this.arena.alloc(cls);
    const u32 = this.arena.u32;
    const w = n >>> 2;
    u32[w + N_PREV] = 0;
    u32[w + N_NEXT] = 0;
    u32[w + N_COUNT] = 0;
    u32[w + N_START] = at;
    u32[w + N_END] = at;
    u32[w + N_RAW] = 0;
    u32[w + N_META] = cls;
    u32[(d >>> 2) + D_BYTES] = u32[(d >>> 2) + D_BYTES]! + CLASS_SIZE[cls]!;
    return n;
  }

  private freeNode(d: number, n: number): void {
    const u32 = this.arena.u32;
    const cls = u32[(n >>> 2) + N_META]! & 0xff;
    u32[(d >>> 2) + D_BYTES] = u32[(d >>> 2) + D_BYTES]! - CLASS_SIZE[cls]!;
    this.arena.free(n, cls);
    this.epoch++;
  }

  private capacity(n: number): number {
    return CLASS_SIZE[this.arena.u32[(n >>> 2) + N_META]! & 0xff]!;
  }

  /** Puts n in the chain after `prev` (0: at the head). */
  private linkAfter(d: number, prev: number, n: number): void {
    const u32 = this.arena.u32;
    const dw = d >>> 2;
    const next = prev === 0 ? u32[dw + D_HEAD]! : u32[(prev >>> 2) + N_NEXT]!;
    u32[(n >>> 2) + N_PREV] = prev;
    u32[(n >>> 2) + N_NEXT] = next;
    if (prev === 0) u32[dw + D_HEAD] = n;
    else u32[(prev >>> 2) + N_NEXT] = n;
    if (next === 0) u32[dw + D_TAIL] = n;
    else u32[(next >>> 2) + N_PREV] = n;
    u32[dw + D_NODES]!++;
  }

  /** Takes n out of the chain and frees it. */
  private dropNode(d: number, n: number): void {
    const u32 = this.arena.u32;
    const dw = d >>> 2;
    const prev = u32[(n >>> 2) + N_PREV]!;
    const next = u32[(n >>> 2) + N_NEXT]!;
    if (prev === 0) u32[dw + D_HEAD] = next;
    else u32[(prev >>> 2) + N_NEXT] = next;
    if (next === 0) u32[dw + D_TAIL] = prev;
    else u32[(next >>> 2) + N_PREV] = prev;
    u32[dw + D_NODES]!--;
    this.freeNode(d, n);
  }

  /** Replaces node n by the new block nn (header words copied by the caller) in the chain. */
  private relink(d: number, n: number, nn: number): void {
    const u32 = this.arena.u32;
    const dw = d >>> 2;
    const prev = u32[(n >>> 2) + N_PREV]!;
    const next = u32[(n >>> 2) + N_NEXT]!;
    u32[(nn >>> 2) + N_PREV] = prev;
    u32[(nn >>> 2) + N_NEXT] = next;
    if (prev === 0) u32[dw + D_HEAD] = nn;
    else u32[(prev >>> 2) + N_NEXT] = nn;
    if (next === 0) u32[dw + D_TAIL] = nn;
    else u32[(next >>> 2) + N_PREV] = nn;
    u32[(nn >>> 2) + N_COUNT] = u32[(n >>> 2) + N_COUNT]!;
    this.freeNode(d, n);
  }

  /** Moves n's raw run into a new block of `cap` bytes of room, with a gap of `gap` bytes opened
   * at absolute offset p of the old run, the run placed so that `front` bytes of the free room are
   * in front of it. Returns the new node; the gap is at gapAt. */
  private rebuild(d: number, n: number, cap: number, p: number, gap: number, front: number): number {
    const u32o = this.arena.u32;
    const s = n + u32o[(n >>> 2) + N_START]!;
    const e = n + u32o[(n >>> 2) + N_END]!;
    const used = e - s + gap;
    const nn = this.newNode(d, cap, 0);
    const u8 = this.arena.u8;
    const u32 = this.arena.u32;
    const room = this.capacity(nn) - NODE_HDR - used;
    const at = NODE_HDR + Math.min(front, room);
    u8.copyWithin(nn + at, s, p);
    u8.copyWithin(nn + at + (p - s) + gap, p, e);
    u32[(nn >>> 2) + N_START] = at;
    u32[(nn >>> 2) + N_END] = at + used;
    this.gapAt = nn + at + (p - s);
    this.relink(d, n, nn);
    return nn;
  }

  /** Absolute offset of the gap the last openGap/rebuild opened. */
  private gapAt = 0;

  /** Opens `sz` bytes at absolute offset p of raw node n's run (p = start: in front of its first
   * entry; p = end: after its last). Returns the (maybe new) node; the gap is at gapAt. */
  private openGap(d: number, n: number, p: number, sz: number): number {
    const u32 = this.arena.u32;
    const w = n >>> 2;
    const s = n + u32[w + N_START]!;
    const e = n + u32[w + N_END]!;
    const frontFree = s - n - NODE_HDR;
    const backFree = n + this.capacity(n) - e;
    const u8 = this.arena.u8;
    if (p === s && frontFree >= sz) {
      u32[w + N_START] = s - sz - n;
      this.gapAt = s - sz;
      return n;
    }
    if (p === e && backFree >= sz) {
      u32[w + N_END] = e + sz - n;
      this.gapAt = e;
      return n;
    }
    // Move the shorter side of the run, where there is room for it.
    if (frontFree >= sz && (p - s <= e - p || backFree < sz)) {
      u8.copyWithin(s - sz, s, p);
      u32[w + N_START] = s - sz - n;
      this.gapAt = p - sz;
      return n;
    }
    if (backFree >= sz) {
      u8.copyWithin(p + sz, p, e);
      u32[w + N_END] = e + sz - n;
      this.gapAt = p;
      return n;
    }
    // Grow: room for half again as much, within the node limit; the slack goes to the side that
    // pushes (the head node's front, the tail node's back, half each for a lone node).
    const used = e - s + sz;
    const fill = this.fill(d);
    const limit = fill < 0 ? SIZE_LIMITS[Math.min(-fill, SIZE_LIMITS.length) - 1]! : SAFETY_BYTES;
    const cap = Math.max(used, Math.min(used + Math.max(used >>> 1, MIN_SLACK), limit));
    const isHead = u32[w + N_PREV] === 0;
    const isTail = u32[w + N_NEXT] === 0;
    const slack = CLASS_SIZE[classOf(NODE_HDR + cap)]! - NODE_HDR - used;
    const front = isHead && isTail ? slack >>> 1 : isHead ? slack : 0;
    return this.rebuild(d, n, cap, p, sz, front);
  }

  /** Removes `sz` bytes at absolute offset p of raw node n's run (moving its shorter side); shrinks
   * a mostly empty block. Returns the (maybe new) node. */
  private closeGap(d: number, n: number, p: number, sz: number): number {
    const u32 = this.arena.u32;
    const w = n >>> 2;
    const s = n + u32[w + N_START]!;
    const e = n + u32[w + N_END]!;
    const u8 = this.arena.u8;
    if (p - s <= e - p - sz) {
      u8.copyWithin(s + sz, s, p);
      u32[w + N_START] = s + sz - n;
    } else {
      u8.copyWithin(p, p + sz, e);
      u32[w + N_END] = e - sz - n;
    }
    const cap = this.capacity(n);
    const used = e - s - sz;
    if (cap >= SHRINK_MIN_BYTES && used * 4 < cap - NODE_HDR) {
      const isHead = u32[w + N_PREV] === 0;
      const isTail = u32[w + N_NEXT] === 0;
      const slack = Math.max(used >>> 1, MIN_SLACK);
      const ns = n + u32[w + N_START]!;
      return this.rebuild(d, n, used + slack, ns, 0, isHead && isTail ? slack >>> 1 : isHead ? slack : 0);
    }
    return n;
  }

  /** Whether raw or compressed node n may take one more element of `len` bytes. */
  private allows(d: number, n: number, len: number): boolean {
    const u32 = this.arena.u32;
    return !nodeExceeds(this.fill(d), this.runBytes(n) + entrySize(len), u32[(n >>> 2) + N_COUNT]! + 1);
  }

  // --- Compression ---------------------------------------------------------------------------

  private compressed(n: number): boolean {
    return (this.arena.u32[(n >>> 2) + N_META]! & COMPRESSED) !== 0;
  }

  /** n with its run raw (inflated into a new block when it was compressed). */
  private raw(d: number, n: number): number {
    if (!this.compressed(n)) return n;
    const u32o = this.arena.u32;
    const w = n >>> 2;
    const s = n + u32o[w + N_START]!;
    const e = n + u32o[w + N_END]!;
    const rawLen = u32o[w + N_RAW]!;
    const out = inflateRawSync(this.arena.u8.subarray(s, e));
    assert(out.length === rawLen, () => `quicklist: node ${n} inflates to ${out.length} bytes, not ${rawLen}`);
    const nn = this.newNode(d, rawLen, NODE_HDR);
    this.arena.u8.set(out, nn + NODE_HDR);
    const u32 = this.arena.u32;
    u32[(nn >>> 2) + N_END] = NODE_HDR + rawLen;
    this.relink(d, n, nn);
    return nn;
  }

  /** n compressed when that pays (at least 8 bytes saved, as Redis requires). */
  private compress(d: number, n: number): number {
    const u32o = this.arena.u32;
    const w = n >>> 2;
    const meta = u32o[w + N_META]!;
    if ((meta & (COMPRESSED | INCOMPRESSIBLE)) !== 0) return n;
    const s = n + u32o[w + N_START]!;
    const e = n + u32o[w + N_END]!;
    if (e - s < MIN_COMPRESS_BYTES) return n;
    const out = deflateRawSync(this.arena.u8.subarray(s, e), { level: 1 });
    if (out.length + 8 > e - s) {
      u32o[w + N_META] = meta | INCOMPRESSIBLE;
      return n;
    }
    const nn = this.newNode(d, out.length, NODE_HDR);
    this.arena.u8.set(out, nn + NODE_HDR);
    const u32 = this.arena.u32;
    const nw = nn >>> 2;
    u32[nw + N_END] = NODE_HDR + out.length;
    u32[nw + N_RAW] = e - s;
    u32[nw + N_META] = u32[nw + N_META]! | COMPRESSED;
    this.relink(d, n, nn);
    return nn;
  }

  /** Whether n lies more than depth nodes from both ends (walks at most depth nodes each way). */
  private interior(n: number, depth: number): boolean {
    if (depth === 0) return false;
    const u32 = this.arena.u32;
    let p = n;
    for (let k = 0; k < depth; k++) {
      p = u32[(p >>> 2) + N_PREV]!;
      if (p === 0) return false;
    }
    p = n;
    for (let k = 0; k < depth; k++) {
      p = u32[(p >>> 2) + N_NEXT]!;
      if (p === 0) return false;
    }
    return true;
  }

  /** After a change to node n: compresses it again if it lies inside the compressed middle. */
  private settleNode(d: number, n: number): number {
    const depth = this.depth(d);
    if (depth === 0 || n === 0) return n;
    const u32 = this.arena.u32;
    u32[(n >>> 2) + N_META] = u32[(n >>> 2) + N_META]! & ~INCOMPRESSIBLE;
    return this.interior(n, depth) ? this.compress(d, n) : n;
  }

  /** Restores the compression invariant at both ends after the chain changed: the `depth` nodes
   * at each end raw, the next one in compressed (O(depth)). */
  private settleEnds(d: number): void {
    const depth = this.depth(d);
    if (depth === 0) return;
    const total = this.nodes(d);
    for (let side = 0; side < 2; side++) {
      let n = this.arena.u32[(d >>> 2) + (side === 0 ? D_HEAD : D_TAIL)]!;
      for (let i = 0; n !== 0 && i <= depth; i++) {
        if (i < depth) n = this.raw(d, n);
        else if (total - 1 - i >= depth) n = this.compress(d, n);
        n = this.arena.u32[(n >>> 2) + (side === 0 ? N_NEXT : N_PREV)]!;
      }
    }
  }

  /** Leaves node n's raw run in runBuf[runStart, runEnd) without changing anything (a compressed
   * node is inflated into a cache: reading it again costs nothing). */
  view(n: number): void {
    const u32 = this.arena.u32;
    const w = n >>> 2;
    if ((u32[w + N_META]! & COMPRESSED) === 0) {
      runBuf = this.arena.u8;
      runStart = n + u32[w + N_START]!;
      runEnd = n + u32[w + N_END]!;
      return;
    }
    if (this.cacheNode !== n || this.cacheEpoch !== this.epoch) {
      this.cacheBuf = inflateRawSync(this.arena.u8.subarray(n + u32[w + N_START]!, n + u32[w + N_END]!));
      this.cacheNode = n;
      this.cacheEpoch = this.epoch;
    }
    runBuf = this.cacheBuf;
    runStart = 0;
    runEnd = this.cacheBuf.length;
  }

  // --- Element operations --------------------------------------------------------------------

  /** Pushes buf[off, +len) at the head (where 0) or the tail (1). */
  push(d: number, where: 0 | 1, buf: Uint8Array, off: number, len: number): void {
    const dw = d >>> 2;
    let n = this.arena.u32[dw + (where === 0 ? D_HEAD : D_TAIL)]!;
    const sz = entrySize(len);
    let fresh = false;
    if (n === 0 || !this.allows(d, n, len)) {
      const nn = this.newNode(d, Math.max(sz, Math.min(sz * 4, SAFETY_BYTES)), 0);
      const u32 = this.arena.u32;
      const room = this.capacity(nn) - NODE_HDR - sz;
      const at = NODE_HDR + (where === 0 ? room : 0);
      u32[(nn >>> 2) + N_START] = at;
      u32[(nn >>> 2) + N_END] = at;
      this.linkAfter(d, where === 0 ? 0 : u32[dw + D_TAIL]!, nn);
      n = nn;
      fresh = true;
    }
    n = this.raw(d, n);
    const u32 = this.arena.u32;
    const w = n >>> 2;
    n = this.openGap(d, n, n + u32[(where === 0 ? w + N_START : w + N_END)]!, sz);
    putEntry(this.arena.u8, this.gapAt, buf, off, len);
    this.arena.u32[(n >>> 2) + N_COUNT]!++;
    this.arena.u32[dw + D_COUNT]!++;
    if (fresh) this.settleEnds(d);
  }

  /** Pops the element at the head or the tail (the list is not empty) into hitBuf (a copy). */
  pop(d: number, where: 0 | 1): void {
    const dw = d >>> 2;
    let n = this.raw(d, this.arena.u32[dw + (where === 0 ? D_HEAD : D_TAIL)]!);
    const u32 = this.arena.u32;
    const w = n >>> 2;
    const u8 = this.arena.u8;
    const s = n + u32[w + N_START]!;
    const e = n + u32[w + N_END]!;
    const p = where === 0 ? s : prevEntry(u8, e);
    const q = readEntry(u8, p);
    if (popScratch.length < elLen) popScratch = Buffer.allocUnsafe(Math.max(elLen, popScratch.length * 2));
    copyInto(u8, elOff, popScratch, 0, elLen);
    hitBuf = popScratch;
    hitOff = 0;
    hitLen = elLen;
    u32[dw + D_COUNT]!--;
    if (--u32[w + N_COUNT]! === 0) {
      this.dropNode(d, n);
      this.settleEnds(d);
      return;
    }
    n = this.closeGap(d, n, p, q - p);
  }

  /** Finds the node holding index i (0 <= i < count), walking from the nearer end by node
   * counts. Leaves the index within the node in `within`. */
  private locate(d: number, i: number): number {
    const u32 = this.arena.u32;
    const dw = d >>> 2;
    const count = u32[dw + D_COUNT]!;
    if (i < count >>> 1) {
      let n = u32[dw + D_HEAD]!;
      let base = 0;
      while (base + u32[(n >>> 2) + N_COUNT]! <= i) {
        base += u32[(n >>> 2) + N_COUNT]!;
        n = u32[(n >>> 2) + N_NEXT]!;
      }
      this.within = i - base;
      return n;
    }
    let n = u32[dw + D_TAIL]!;
    let base = count - u32[(n >>> 2) + N_COUNT]!;
    while (base > i) {
      n = u32[(n >>> 2) + N_PREV]!;
      base -= u32[(n >>> 2) + N_COUNT]!;
    }
    this.within = i - base;
    return n;
  }

  private within = 0;

  /** Element i (0 <= i < count) into hitBuf/hitOff/hitLen (the arena or an inflated copy). */
  get(d: number, i: number): void {
    const n = this.locate(d, i);
    this.view(n);
    readEntry(runBuf, entryAt(runBuf, runStart, runEnd, this.nodeCount(n), this.within));
    hitBuf = runBuf;
    hitOff = elOff;
    hitLen = elLen;
  }

  /** Replaces element i (0 <= i < count) by buf[off, +len) (which must not lie in this list). */
  set(d: number, i: number, buf: Uint8Array, off: number, len: number): void {
    let n = this.raw(d, this.locate(d, i));
    const u8 = this.arena.u8;
    const u32 = this.arena.u32;
    const w = n >>> 2;
    const p = entryAt(u8, n + u32[w + N_START]!, n + u32[w + N_END]!, u32[w + N_COUNT]!, this.within);
    const old = skip(u8, p) - p;
    const sz = entrySize(len);
    const rel = p - n - u32[w + N_START]!;
    if (sz > old) n = this.openGap(d, n, p + old, sz - old);
    else if (sz < old) n = this.closeGap(d, n, p + sz, old - sz);
    putEntry(this.arena.u8, n + this.arena.u32[(n >>> 2) + N_START]! + rel, buf, off, len);
    n = this.splitIfOver(d, n);
    this.settleNode(d, n);
    this.settleEnds(d);
  }

  /** Inserts buf[off, +len) so that it becomes element i (0 <= i <= count). */
  insert(d: number, i: number, buf: Uint8Array, off: number, len: number): void {
    const count = this.count(d);
    if (i === 0 || i === count) {
      this.push(d, i === 0 ? 0 : 1, buf, off, len);
      return;
    }
    // Into the node holding element i - 1, after it (a node boundary then appends to a node).
    let n = this.raw(d, this.locate(d, i - 1));
    const u8 = this.arena.u8;
    const u32 = this.arena.u32;
    const w = n >>> 2;
    const p = skip(u8, entryAt(u8, n + u32[w + N_START]!, n + u32[w + N_END]!, u32[w + N_COUNT]!, this.within));
    n = this.openGap(d, n, p, entrySize(len));
    putEntry(this.arena.u8, this.gapAt, buf, off, len);
    this.arena.u32[(n >>> 2) + N_COUNT]!++;
    this.arena.u32[(d >>> 2) + D_COUNT]!++;
    n = this.splitIfOver(d, n);
    this.settleNode(d, n);
    this.settleEnds(d);
  }

  /** Splits raw node n in two halves when it passes the fill (after an insert or a set); returns
   * the first half. A node of one element stays whole (a large element, as Redis's plain node). */
  private splitIfOver(d: number, n: number): number {
    const u32 = this.arena.u32;
    const w = n >>> 2;
    const count = u32[w + N_COUNT]!;
    if (count < 2 || !nodeExceeds(this.fill(d), u32[w + N_END]! - u32[w + N_START]!, count)) return n;
    const u8 = this.arena.u8;
    const s = n + u32[w + N_START]!;
    const e = n + u32[w + N_END]!;
    const half = count >>> 1;
    const mid = entryAt(u8, s, e, count, half);
    const tail = e - mid;
    const nn = this.newNode(d, tail + MIN_SLACK, NODE_HDR);
    const u8b = this.arena.u8;
    const u32b = this.arena.u32;
    u8b.copyWithin(nn + NODE_HDR, mid, e);
    u32b[(nn >>> 2) + N_END] = NODE_HDR + tail;
    u32b[(nn >>> 2) + N_COUNT] = count - half;
    this.linkAfter(d, n, nn);
    u32b[w + N_COUNT] = half;
    // The first half keeps its block: cut its end (a later closeGap may shrink it).
    u32b[w + N_END] = mid - n;
    const first = this.closeGap(d, n, n + u32b[w + N_END]!, 0);
    this.settleNode(d, nn);
    return first;
  }

  /** Removes the elements equal to buf[off, +len): up to `max` (0: all), from the head (fromTail
   * false) or from the tail. Returns how many. */
  removeMatching(d: number, max: number, fromTail: boolean, buf: Uint8Array, off: number, len: number): number {
    const dw = d >>> 2;
    let removed = 0;
    let n = this.arena.u32[dw + (fromTail ? D_TAIL : D_HEAD)]!;
    while (n !== 0 && (max === 0 || removed < max)) {
      // Look before inflating for good: most nodes hold no match.
      this.view(n);
      let any = false;
      for (let p = runStart; p < runEnd; p = skip(runBuf, p)) {
        if (entryEquals(runBuf, p, buf, off, len)) {
          any = true;
          break;
        }
      }
      if (!any) {
        n = this.arena.u32[(n >>> 2) + (fromTail ? N_PREV : N_NEXT)]!;
        continue;
      }
      n = this.raw(d, n);
      const u32 = this.arena.u32;
      const w = n >>> 2;
      const u8 = this.arena.u8;
      // Compact the run in place: keep the entries that stay, in order.
      const s = n + u32[w + N_START]!;
      const e = n + u32[w + N_END]!;
      let kept = 0;
      if (!fromTail) {
        let out = s;
        for (let p = s; p < e; ) {
          const q = skip(u8, p);
          if ((max === 0 || removed < max) && entryEquals(u8, p, buf, off, len)) removed++;
          else {
            if (out !== p) u8.copyWithin(out, p, q);
            out += q - p;
            kept++;
          }
          p = q;
        }
        u32[w + N_END] = out - n;
      } else {
        let out = e;
        for (let q = e; q > s; ) {
          const p = prevEntry(u8, q);
          if ((max === 0 || removed < max) && entryEquals(u8, p, buf, off, len)) removed++;
          else {
            out -= q - p;
            if (out !== p) u8.copyWithin(out, p, q);
            kept++;
          }
          q = p;
        }
        u32[w + N_START] = out - n;
      }
      u32[dw + D_COUNT] = u32[dw + D_COUNT]! - (u32[w + N_COUNT]! - kept);
      u32[w + N_COUNT] = kept;
      const further = u32[(n >>> 2) + (fromTail ? N_PREV : N_NEXT)]!;
      if (kept === 0) this.dropNode(d, n);
      else this.settleNode(d, this.closeGap(d, n, n + u32[w + N_START]!, 0));
      n = further;
    }
    this.settleEnds(d);
    return removed;
  }

  /** Removes `k` elements from the head (where 0) or the tail (1), 0 <= k <= count. */
  removeEnd(d: number, where: 0 | 1, k: number): void {
    const dw = d >>> 2;
    while (k > 0) {
      let n = this.arena.u32[dw + (where === 0 ? D_HEAD : D_TAIL)]!;
      const c = this.nodeCount(n);
      if (c <= k) {
        this.arena.u32[dw + D_COUNT] = this.arena.u32[dw + D_COUNT]! - c;
        this.dropNode(d, n);
        k -= c;
        continue;
      }
      n = this.raw(d, n);
      const u32 = this.arena.u32;
      const w = n >>> 2;
      const u8 = this.arena.u8;
      const s = n + u32[w + N_START]!;
      const e = n + u32[w + N_END]!;
      if (where === 0) {
        const p = entryAt(u8, s, e, c, k);
        this.closeGap(d, n, s, p - s);
      } else {
        const p = entryAt(u8, s, e, c, c - k);
        this.closeGap(d, n, p, e - p);
      }
      const nw = (where === 0 ? this.arena.u32[dw + D_HEAD]! : this.arena.u32[dw + D_TAIL]!) >>> 2;
      this.arena.u32[nw + N_COUNT] = c - k;
      this.arena.u32[dw + D_COUNT] = this.arena.u32[dw + D_COUNT]! - k;
      k = 0;
    }
    this.settleEnds(d);
  }

  /** Visits elements start..stop (0 <= start <= stop < count) from the head, or from stop down to
   * start when reverse; visit returns false to stop. Nothing changes (compressed nodes are
   * inflated into a cache). */
  range(d: number, start: number, stop: number, reverse: boolean, visit: (buf: Uint8Array, off: number, len: number, index: number) => boolean): void {
    let i = reverse ? stop : start;
    let n = this.locate(d, i);
    let k = this.within;
    const u32 = this.arena.u32;
    for (;;) {
      this.view(n);
      const c = u32[(n >>> 2) + N_COUNT]!;
      const buf = runBuf;
      if (!reverse) {
        let p = entryAt(buf, runStart, runEnd, c, k);
        for (; k < c; k++) {
          const q = readEntry(buf, p);
          if (!visit(buf, elOff, elLen, i) || i === stop) return;
          i++;
          p = q;
        }
        n = u32[(n >>> 2) + N_NEXT]!;
        k = 0;
      } else {
        let q = k + 1 === c ? runEnd : entryAt(buf, runStart, runEnd, c, k + 1);
        for (; k >= 0; k--) {
          const p = prevEntry(buf, q);
          readEntry(buf, p);
          if (!visit(buf, elOff, elLen, i) || i === start) return;
          i--;
          q = p;
        }
        n = u32[(n >>> 2) + N_PREV]!;
        k = u32[(n >>> 2) + N_COUNT]! - 1;
      }
    }
  }

  /** Appends a raw run of `count` entries as a new tail node (building a list from a listpack or
   * an image; the run is copied). */
  appendRun(d: number, src: Uint8Array, s: number, end: number, count: number): void {
    const len = end - s;
    const n = this.newNode(d, len, NODE_HDR);
    copyInto(src, s, this.arena.u8, n + NODE_HDR, len);
    const u32 = this.arena.u32;
    u32[(n >>> 2) + N_END] = NODE_HDR + len;
    u32[(n >>> 2) + N_COUNT] = count;
    this.linkAfter(d, u32[(d >>> 2) + D_TAIL]!, n);
    u32[(d >>> 2) + D_COUNT] = u32[(d >>> 2) + D_COUNT]! + count;
  }

  /** Compresses what must be after a bulk build (appendRun). */
  settle(d: number): void {
    const depth = this.depth(d);
    if (depth === 0) return;
    for (let n = this.head(d); n !== 0; n = this.next(n)) {
      n = this.interior(n, depth) ? this.compress(d, n) : this.raw(d, n);
    }
  }

  /** Frees nodes from the head until `budget` elements are gone; frees the descriptor when none is
   * left. True when nothing is left of it. */
  destroyStep(d: number, budget: number): boolean {
    const u32 = this.arena.u32;
    const dw = d >>> 2;
    let freed = 0;
    while (u32[dw + D_HEAD] !== 0 && freed < budget) {
      const n = u32[dw + D_HEAD]!;
      freed += this.nodeCount(n);
      u32[dw + D_COUNT] = u32[dw + D_COUNT]! - this.nodeCount(n);
      this.dropNode(d, n);
    }
    if (this.arena.u32[dw + D_HEAD] !== 0) return false;
    this.arena.free(d, DESC_CLASS);
    return true;
  }

  /** Visits each node's raw run (inflated when compressed), head to tail. */
  forEachRun(d: number, visit: (buf: Uint8Array, s: number, end: number, count: number) => void): void {
    for (let n = this.head(d); n !== 0; n = this.next(n)) {
      this.view(n);
      visit(runBuf, runStart, runEnd, this.nodeCount(n));
    }
  }

  /** Checks the chain against the descriptor; throws on the first violation. O(list). */
  check(d: number): void {
    const u32 = this.arena.u32;
    const dw = d >>> 2;
    const depth = this.depth(d);
    const total = u32[dw + D_NODES]!;
    let nodes = 0;
    let count = 0;
    let bytes = 0;
    let prev = 0;
    for (let n = u32[dw + D_HEAD]!; n !== 0; n = u32[(n >>> 2) + N_NEXT]!) {
      const w = n >>> 2;
      assert(u32[w + N_PREV] === prev, `quicklist ${d}: node ${n} has a bad prev link`);
      assert(u32[w + N_COUNT]! > 0, `quicklist ${d}: empty node ${n}`);
      const cap = this.capacity(n);
      assert(u32[w + N_START]! >= NODE_HDR && u32[w + N_START]! <= u32[w + N_END]! && u32[w + N_END]! <= cap, `quicklist ${d}: node ${n} run out of its block`);
      const fromEnds = Math.min(nodes, total - 1 - nodes);
      if (this.compressed(n)) assert(fromEnds >= depth && depth > 0, `quicklist ${d}: node ${n} compressed ${fromEnds} from an end (depth ${depth})`);
      this.view(n);
      const err = runError(runBuf, runStart, runEnd, u32[w + N_COUNT]!);
      assert(err === null, () => `quicklist ${d}: node ${n}: ${err}`);
      nodes++;
      count += u32[w + N_COUNT]!;
      bytes += cap;
      prev = n;
      assert(nodes <= total, `quicklist ${d}: cycle`);
    }
    assert(u32[dw + D_TAIL] === prev, `quicklist ${d}: bad tail`);
    assert(nodes === total, `quicklist ${d}: ${nodes} nodes, descriptor says ${total}`);
    assert(count === u32[dw + D_COUNT], `quicklist ${d}: ${count} elements, descriptor says ${u32[dw + D_COUNT]}`);
    assert(bytes === u32[dw + D_BYTES], `quicklist ${d}: ${bytes} node bytes, descriptor says ${u32[dw + D_BYTES]}`);
  }
}
