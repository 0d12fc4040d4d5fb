// Sorted sets in the keyspace (the contract in docs/sorted-sets.md): members with IEEE-double scores
// ordered by (score, member bytes), as Redis. Two encodings (zset-kind.ts): PACK, sorted, in the
// entry, while the set is within zset-max-listpack-entries/-value; past them ENC_ZTREE, a member
// table plus a B+ tree with subtree counts (zset-tree.ts), never converted back (as Redis 7.0).
// Handles move: mutating calls return the entry's handle. Results land in module variables (hit*,
// score, added, removedHandle), so that reads allocate nothing. Every change tells the keyspace's
// observer about the one member it touches (elementChanging), so that the log and the
// replication stream carry one element for a ZADD on a large set; a function never deletes a key
// it empties (the command does, as Redis).
import { TYPE_ZSET, type Keyspace } from './keyspace.js';
import { ENC_PACK, ENC_ZTREE, PACK_HEADER, readU32, TABLE_VALUE_BYTES, varint, vlen, vsize, writeU32 } from './pack.js';
import { compareBytes, compareKeys, type ZsetKind } from './zset-kind.js';
import { elementSize, elMl, elMo, elNext, putElement, readElement, readScore, SCORE_BYTES, skipElement, writeScore } from './zset-pack.js';

/** A member found by zsetAt / zsetRandom: a copy, valid until the next call of this module. */
export let hitBuf: Uint8Array = new Uint8Array(64);
export let hitOff = 0;
export let hitLen = 0;
/** The score of the member found / visited / at a rank. */
export let score = 0;
/** zsetAdd: the member was new. */
export let added = false;
/** The handle after zsetRemove. */
export let removedHandle = 0;

// Scratch: an element being moved inside a PACK, a member being inserted from the arena itself,
// offsets of a PACK's elements for reverse walks.
let moveBuf = new Uint8Array(256);
let packOffsets = new Int32Array(256);
/** The 8 bytes of a score (log records). */
const scoreBytes = new Uint8Array(SCORE_BYTES);
/** Index of the element packLocate found. */
let locIdx = 0;

function kind(ks: Keyspace): ZsetKind {
  return ks.kindOf(TYPE_ZSET) as ZsetKind;
}

/** The large set's descriptor in e's value. */
function zdOf(ks: Keyspace, e: number): number {
  return readU32(ks.bytes(), ks.valueOffset(e) + 1);
}

/** Creates key as an empty sorted set in the encoding the limits call for, given the expected
 * number of members and the longest member's length (as Redis's zsetTypeCreate). */
export function zsetCreate(ks: Keyspace, kb: Uint8Array, ko: number, kl: number, sizeHint: number, maxMemberLen: number): number {
  const lim = ks.limits;
  if (sizeHint <= lim.zsetMaxListpackEntries && maxMemberLen <= lim.zsetMaxListpackValue) {
    const e = ks.set(kb, ko, kl, null, 0, PACK_HEADER, TYPE_ZSET, 0);
    const u8 = ks.bytes();
    const vo = ks.valueOffset(e);
    u8[vo] = ENC_PACK;
    writeU32(u8, vo + 1, 0);
    return e;
  }
  const e = ks.set(kb, ko, kl, null, 0, TABLE_VALUE_BYTES, TYPE_ZSET, 0);
  const zd = kind(ks).create(Math.max(0, sizeHint));
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  u8[vo] = ENC_ZTREE;
  writeU32(u8, vo + 1, zd);
  return e;
}

export function zsetCount(ks: Keyspace, e: number): number {
  return kind(ks).count(ks.bytes(), ks.valueOffset(e));
}

// --- PACK walks ---------------------------------------------------------------------------------

/** Offset of the element after the one at p. */
const packNext = skipElement;

/** The element whose member is mb[mo, +ml) in e's PACK: its offset (its index in locIdx, its score
 * in `score`), or -1. */
function packLocate(u8: Uint8Array, vo: number, vl: number, mb: Uint8Array, mo: number, ml: number): number {
  const end = vo + vl;
  let i = 0;
  // The header is member length * 2 + compact-score tag (zset-pack.ts); only a match decodes the score.
  const h0 = ml * 2;
  for (let p = vo + PACK_HEADER; p < end; i++) {
    varint(u8, p);
    const h = vlen;
    const d = p + vsize;
    if (h - (h & 1) === h0) {
      let k = 0;
      while (k < ml && u8[d + k] === mb[mo + k]) k++;
      if (k === ml) {
        locIdx = i;
        score = readElement(u8, p);
        return p;
      }
    }
    let q = d + (h >>> 1);
    if ((h & 1) === 0) q += SCORE_BYTES;
    else {
      while (u8[q]! >= 0x80) q++;
      q++;
    }
    p = q;
  }
  return -1;
}

/** Offset of the first element of the PACK u8[vo, +vl) whose key is above (s, mb[mo, +ml)). */
function packInsertPos(u8: Uint8Array, vo: number, vl: number, s: number, mb: Uint8Array, mo: number, ml: number): number {
  const end = vo + vl;
  let p = vo + PACK_HEADER;
  while (p < end) {
    const x = readElement(u8, p);
    if (compareKeys(x, u8, elMo, elMl, s, mb, mo, ml) > 0) return p;
    p = elNext;
  }
  return end;
}

/** Offset of the element at index i of a PACK. */
function packAt(u8: Uint8Array, vo: number, i: number): number {
  let p = vo + PACK_HEADER;
  for (let k = 0; k < i; k++) p = packNext(u8, p);
  return p;
}

// --- Lookups ------------------------------------------------------------------------------------

/** True when member is in the set; its score in `score`. */
export function zsetScore(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number): boolean {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_ZTREE) return packLocate(u8, vo, ks.valueLength(e), mb, mo, ml) >= 0;
  const k = kind(ks);
  const el = k.tables.find(k.table(readU32(u8, vo + 1)), mb, mo, ml);
  if (el === 0) return false;
  score = readScore(ks.bytes(), k.tables.valueOffset(el));
  return true;
}

/** The 8 bytes of score s (little-endian f64) in a scratch array: what an ELEMS record carries. */
export function scoreImage(s: number): Uint8Array {
  writeScore(scoreBytes, 0, s);
  return scoreBytes;
}

/** 0-based ascending rank of member, or -1 when absent. O(log n) for ZTREE. */
export function zsetRank(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_ZTREE) return packLocate(u8, vo, ks.valueLength(e), mb, mo, ml) >= 0 ? locIdx : -1;
  if (!zsetScore(ks, e, mb, mo, ml)) return -1;
  return kind(ks).tree.rank(readU32(u8, vo + 1), score, mb, mo, ml);
}

/** Number of members whose score is < s (or <= s when inclusive). O(log n) for ZTREE. */
export function zsetCountBelowScore(ks: Keyspace, e: number, s: number, inclusive: boolean): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_ZTREE) return kind(ks).tree.countBelowScore(readU32(u8, vo + 1), s, inclusive);
  const end = vo + ks.valueLength(e);
  let n = 0;
  for (let p = vo + PACK_HEADER; p < end; n++) {
    const x = readElement(u8, p);
    if (inclusive ? x > s : x >= s) break;
    p = elNext;
  }
  return n;
}

/** Number of members below mb[mo, +ml) (or not above it, when inclusive) in member order: for the
 * lex commands, meaningful when all scores are equal, as in Redis. O(log n) for ZTREE. */
export function zsetCountBelowMember(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number, inclusive: boolean): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_ZTREE) return kind(ks).tree.countBelowMember(readU32(u8, vo + 1), mb, mo, ml, inclusive);
  const end = vo + ks.valueLength(e);
  let n = 0;
  for (let p = vo + PACK_HEADER; p < end; n++) {
    readElement(u8, p);
    const d = compareBytes(u8, elMo, elMl, mb, mo, ml);
    if (inclusive ? d > 0 : d >= 0) break;
    p = elNext;
  }
  return n;
}

function setHit(src: Uint8Array, off: number, len: number): void {
  if (hitBuf.length < len) hitBuf = new Uint8Array(Math.max(len, hitBuf.length * 2));
  hitBuf.set(src.subarray(off, off + len), 0);
  hitOff = 0;
  hitLen = len;
}

/** Member at rank (0 <= rank < count) into hit* (a copy), its score into `score`. O(log n). */
export function zsetAt(ks: Keyspace, e: number, rank: number): void {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_ZTREE) {
    const k = kind(ks);
    const el = k.tree.at(readU32(u8, vo + 1), rank);
    score = k.tree.atScore;
    setHit(ks.bytes(), k.tables.keyOffset(el), k.tables.keyLength(el));
    return;
  }
  score = readElement(u8, packAt(u8, vo, rank));
  setHit(u8, elMo, elMl);
}

export type ZsetVisit = (buf: Uint8Array, off: number, len: number, score: number) => boolean;

// The visitor of the running zsetRange over a tree, and its arena bytes (no closure per call).
let rangeVisit: ZsetVisit = () => false;
let rangeU8: Uint8Array = new Uint8Array(0);
let rangeKind: ZsetKind | null = null;
function treeVisit(el: number, s: number): boolean {
  const t = rangeKind!.tables;
  return rangeVisit(rangeU8, t.keyOffset(el), t.keyLength(el), s);
}

/** Visits ranks start..stop (inclusive, normalized) ascending, or stop down to start when
 * reverse; the visitor gets the member's bytes in the arena (valid during the call only) and
 * returns false to stop; it must not change the keyspace. O(log n + k). */
export function zsetRange(ks: Keyspace, e: number, start: number, stop: number, reverse: boolean, visit: ZsetVisit): void {
  if (stop < start) return;
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_ZTREE) {
    rangeVisit = visit;
    rangeU8 = u8;
    rangeKind = kind(ks);
    try {
      rangeKind.tree.range(readU32(u8, vo + 1), start, stop, reverse, treeVisit);
    } finally {
      rangeVisit = () => false;
      rangeKind = null;
    }
    return;
  }
  let p = packAt(u8, vo, start);
  if (!reverse) {
    for (let i = start; i <= stop; i++) {
      const x = readElement(u8, p);
      p = elNext;
      if (!visit(u8, elMo, elMl, x)) return;
    }
    return;
  }
  const n = stop - start + 1;
  if (packOffsets.length < n) packOffsets = new Int32Array(Math.max(n, packOffsets.length * 2));
  const offs = packOffsets;
  for (let i = 0; i < n; i++) {
    offs[i] = p;
    p = packNext(u8, p);
  }
  for (let i = n - 1; i >= 0; i--) {
    const x = readElement(u8, offs[i]!);
    if (!visit(u8, elMo, elMl, x)) return;
  }
}

/** Any member, uniformly at random, into hit* and score (ZRANDMEMBER). The set is not empty. */
export function zsetRandom(ks: Keyspace, e: number): void {
  zsetAt(ks, e, Math.floor(ks.randomFraction() * zsetCount(ks, e)));
}

/** SCAN over the members: a compact set gives all of them with cursor 0 (as Redis), a large one
 * follows its member table's reverse-binary cursor. Returns the next cursor. */
export function zsetScan(ks: Keyspace, e: number, cursor: number, count: number, visit: (buf: Uint8Array, off: number, len: number, score: number) => void): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_ZTREE) {
    zsetRange(ks, e, 0, zsetCount(ks, e) - 1, false, (b, o, l, s) => {
      visit(b, o, l, s);
      return true;
    });
    return 0;
  }
  const k = kind(ks);
  const t = k.tables;
  const td = k.table(readU32(u8, vo + 1));
  let v = cursor >>> 0;
  let seen = 0;
  let budget = Math.max(1, count) * 10;
  const each = (el: number): void => {
    seen++;
    visit(u8, t.keyOffset(el), t.keyLength(el), readScore(u8, t.valueOffset(el)));
  };
  do {
    v = t.scanStep(td, v, each);
  } while (v !== 0 && --budget > 0 && seen < count);
  return v;
}

/** OBJECT ENCODING: 'listpack' or 'skiplist' (Redis's name for its large encoding). */
export function zsetEncodingName(ks: Keyspace, e: number): string {
  return ks.bytes()[ks.valueOffset(e)] === ENC_ZTREE ? 'skiplist' : 'listpack';
}

// --- Changes ------------------------------------------------------------------------------------

/** A change confined to member mb[mo, +ml) of a compact set is coming: the log records that
 * member, not the whole value, though the value's bytes move (as collection.ts does). */
function compactElementChange(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number): void {
  ks.elementChanging(e, mb, mo, ml);
  ks.elementScope = true;
}

/** Sets member's score, adding it when absent (`added`); converts PACK -> ZTREE past the limits.
 * An equal score (-0 and 0 are equal) changes nothing, as in Redis; a PACK stores -0 as 0, as
 * Redis's listpack does (a ZTREE keeps -0, as its skiplist). Returns the handle. */
export function zsetAdd(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number, s: number): number {
  try {
    return add(ks, e, mb, mo, ml, s);
  } finally {
    ks.elementScope = false;
  }
}

function add(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number, s: number): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_ZTREE) return treeAdd(ks, e, mb, mo, ml, s);
  const vl = ks.valueLength(e);
  const lim = ks.limits;
  const p = packLocate(u8, vo, vl, mb, mo, ml);
  if (p < 0 && (readU32(u8, vo + 1) + 1 > lim.zsetMaxListpackEntries || ml > lim.zsetMaxListpackValue)) {
    if (mb.buffer === u8.buffer) {
      // The member lives in the arena: the conversion below may move it.
      mb = arenaCopy(mb, mo, ml);
      mo = 0;
    }
    e = toTree(ks, e, 1);
    return treeAdd(ks, e, mb, mo, ml, s);
  }
  // Redis's listpack keeps a score of -0 as 0 (a skiplist keeps -0): so does PACK.
  if (s === 0) s = 0;
  if (p >= 0) {
    added = false;
    if (score === s) return e;
    compactElementChange(ks, e, mb, mo, ml);
    return packMove(ks, e, p - vo, s);
  }
  added = true;
  compactElementChange(ks, e, mb, mo, ml);
  return packInsert(ks, e, mb, mo, ml, s);
}

function treeAdd(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number, s: number): number {
  const k = kind(ks);
  const t = k.tables;
  const zd = zdOf(ks, e);
  const td = k.table(zd);
  const el = t.find(td, mb, mo, ml);
  if (el !== 0) {
    added = false;
    const old = readScore(ks.bytes(), t.valueOffset(el));
    if (old === s) return e;
    ks.elementChanging(e, mb, mo, ml);
    k.tree.remove(zd, old, el);
    writeScore(ks.bytes(), t.valueOffset(el), s);
    k.tree.insert(zd, s, el);
    return e;
  }
  added = true;
  ks.elementChanging(e, mb, mo, ml);
  writeScore(scoreBytes, 0, s);
  const ne = t.insert(td, mb, mo, ml, scoreBytes, 0, SCORE_BYTES);
  k.tree.insert(zd, s, ne);
  return e;
}

/** Gives the element at value-relative offset rel of e's PACK the score s, moving it to its place
 * (its size changes when the score's form or compact length does); returns the handle. */
function packMove(ks: Keyspace, e: number, rel: number, s: number): number {
  ks.bumpCas(e);
  let u8 = ks.bytes();
  let vo = ks.valueOffset(e);
  const vl = ks.valueLength(e);
  const p = vo + rel;
  readElement(u8, p);
  const oldSize = elNext - p;
  const ml = elMl;
  const size = elementSize(ml, s);
  if (moveBuf.length < size) moveBuf = new Uint8Array(Math.max(size, moveBuf.length * 2));
  putElement(moveBuf, 0, u8, elMo, ml, s);
  u8.copyWithin(p, p + oldSize, vo + vl);
  const rest = vl - oldSize;
  readElement(moveBuf, 0); // the member's offset in moveBuf
  const t = packInsertPos(u8, vo, rest, s, moveBuf, elMo, ml) - vo;
  if (size !== oldSize) {
    e = ks.resizeValue(e, rest + size);
    u8 = ks.bytes();
    vo = ks.valueOffset(e);
  }
  u8.copyWithin(vo + t + size, vo + t, vo + rest);
  u8.set(moveBuf.subarray(0, size), vo + t);
  return e;
}

/** Inserts a new member with score s at its place in e's PACK; returns the handle. */
function packInsert(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number, s: number): number {
  let u8 = ks.bytes();
  let vo = ks.valueOffset(e);
  const vl = ks.valueLength(e);
  const rel = packInsertPos(u8, vo, vl, s, mb, mo, ml) - vo;
  if (mb.buffer === u8.buffer) {
    // The member lives in the arena: the resize below may move it.
    mb = arenaCopy(mb, mo, ml);
    mo = 0;
  }
  const size = elementSize(ml, s);
  const count = readU32(u8, vo + 1);
  e = ks.resizeValue(e, vl + size);
  u8 = ks.bytes();
  vo = ks.valueOffset(e);
  const at = vo + rel;
  u8.copyWithin(at + size, at, vo + vl);
  putElement(u8, at, mb, mo, ml, s);
  writeU32(u8, vo + 1, count + 1);
  return e;
}

/** Removes `size` bytes at value-relative offset rel of e's value; returns the handle. */
function packCut(ks: Keyspace, e: number, rel: number, size: number, removed: number): number {
  ks.bumpCas(e);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const vl = ks.valueLength(e);
  u8.copyWithin(vo + rel, vo + rel + size, vo + vl);
  writeU32(u8, vo + 1, readU32(u8, vo + 1) - removed);
  return ks.resizeValue(e, vl - size);
}

/** A copy of member mb[mo, +ml) in moveBuf (at 0). */
function arenaCopy(mb: Uint8Array, mo: number, ml: number): Uint8Array {
  if (moveBuf.length < ml) moveBuf = new Uint8Array(Math.max(ml, moveBuf.length * 2));
  moveBuf.set(mb.subarray(mo, mo + ml), 0);
  return moveBuf;
}

/** Turns e's PACK into a ZTREE sized for `extra` more members; returns the handle. */
function toTree(ks: Keyspace, e: number, extra: number): number {
  const k = kind(ks);
  const zd = k.create(zsetCount(ks, e) + extra);
  // The entry does not move while the set fills (only the resize below moves it).
  k.fill(zd, ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
  e = ks.resizeValue(e, TABLE_VALUE_BYTES);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  u8[vo] = ENC_ZTREE;
  writeU32(u8, vo + 1, zd);
  return e;
}

/** Removes member; false when absent. The handle afterwards is removedHandle. */
export function zsetRemove(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number): boolean {
  try {
    return remove(ks, e, mb, mo, ml);
  } finally {
    ks.elementScope = false;
  }
}

function remove(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number): boolean {
  removedHandle = e;
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_ZTREE) {
    const p = packLocate(u8, vo, ks.valueLength(e), mb, mo, ml);
    if (p < 0) return false;
    const size = packNext(u8, p) - p;
    compactElementChange(ks, e, mb, mo, ml);
    removedHandle = packCut(ks, e, p - vo, size, 1);
    return true;
  }
  const k = kind(ks);
  const t = k.tables;
  const zd = readU32(u8, vo + 1);
  const td = k.table(zd);
  const el = t.find(td, mb, mo, ml);
  if (el === 0) return false;
  ks.elementChanging(e, mb, mo, ml);
  k.tree.remove(zd, readScore(ks.bytes(), t.valueOffset(el)), el);
  t.remove(td, el);
  return true;
}

/** Removes ranks start..stop (inclusive, normalized); returns the handle. A compact set is
 * recorded whole (it is small), a large one member by member. */
export function zsetRemoveRange(ks: Keyspace, e: number, start: number, stop: number): number {
  if (stop < start) return e;
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_ZTREE) {
    const p = packAt(u8, vo, start);
    let q = p;
    for (let i = start; i <= stop; i++) q = packNext(u8, q);
    return packCut(ks, e, p - vo, q - p, stop - start + 1);
  }
  const k = kind(ks);
  const t = k.tables;
  const zd = readU32(u8, vo + 1);
  const td = k.table(zd);
  for (let i = start; i <= stop; i++) {
    const el = k.tree.at(zd, start);
    const s = k.tree.atScore;
    ks.elementChanging(e, ks.bytes(), t.keyOffset(el), t.keyLength(el));
    k.tree.remove(zd, s, el);
    t.remove(td, el);
  }
  return e;
}

/** Checks a large set's tree against its member table (tests); a compact set's order. */
export function zsetCheck(ks: Keyspace, e: number): void {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_ZTREE) kind(ks).check(readU32(u8, vo + 1));
}

/** Arena bytes of e's large structure: member table (descriptor, buckets, element blocks) and tree
 * nodes (measurements). */
export function zsetStructureBytes(ks: Keyspace, e: number): { table: number; tree: number; total: number } {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_ZTREE) return { table: 0, tree: 0, total: 0 };
  const k = kind(ks);
  const zd = readU32(u8, vo + 1);
  const total = k.queuedBytes(zd);
  const table = k.tables.bytes(k.table(zd));
  return { table, tree: total - table, total };
}
