// A stream's consumer groups, in the shard's arena (Redis's streamCG / streamConsumer / streamNACK,
// without JS objects: a restarted shard finds them where they were). The stream's descriptor holds
// one word, `groups`: 0, or the offset of the group directory.
//   directory D  [cls][count][..group offsets, sorted by name (memcmp, as Redis's rax)]
//   group G      [cls][nameLen][last id x4][entries_read hi, lo][pel R][consumers R] name@40
//   array R      [cls][count][stride][-] records@16: a packed array of fixed-stride records
//   group PEL    R of stride 10, sorted by id: id x4, delivery time hi/lo, delivery count hi/lo,
//                consumer block, 0
//   consumers    R of stride 1: consumer blocks, sorted by name
//   consumer C   [cls][nameLen][seen hi, lo][active hi, lo][pel R][-] name@32
//   consumer PEL R of stride 4, sorted by id: the ids of the group PEL entries it owns.
// Invariants: every group-PEL record names a consumer of its group, and each consumer's PEL holds
// exactly the ids of the records naming it. Lookups are binary searches; an insert or removal
// moves the tail of the array (copyWithin), cheap for the PELs of real workloads (appends at the
// end for `>` reads, removals near the front for acks); see docs/stream-groups.md for the limits.
// Every block's first word is its size class, so blocks free themselves. Arena views move on
// alloc: every function re-reads `arena.u32`/`arena.u8` after allocating.
import { assert } from '../util/assert.js';
import type { Arena } from './arena.js';
import { CLASS_SIZE, classOf } from './layout.js';

const TWO32 = 4294967296;
const NONE32 = 0xffffffff;
/** Redis's SCG_INVALID_ENTRIES_READ. */
export const ENTRIES_READ_INVALID = -1;

// Group
const G_NAMELEN = 1;
const G_ID = 2;
const G_ER_HI = 6;
const G_ER_LO = 7;
const G_PEL = 8;
const G_CONS = 9;
const G_NAME_BYTE = 40;
// Array
const R_COUNT = 1;
const R_STRIDE = 2;
const R_ITEMS = 4;
// Group PEL record
export const PEL_STRIDE = 10;
const P_TIME_HI = 4;
const P_CNT_HI = 6;
const P_CONS = 8;
// Consumer
const C_NAMELEN = 1;
const C_SEEN_HI = 2;
const C_ACTIVE_HI = 4;
const C_PEL = 6;
const C_NAME_BYTE = 32;

/** Largest record count of an array: keeps its block under the largest size class. */
const ARRAY_MAX_RECORDS = 2 ** 26;

// ---- blocks ---------------------------------------------------------------------------------

function balloc(arena: Arena, bytes: number): number {
  const cls = classOf(bytes);
  const off = arena.alloc(cls);
  arena.u32[off >>> 2] = cls;
  return off;
}

function bfree(arena: Arena, off: number): void {
  arena.free(off, arena.u32[off >>> 2]!);
}

function bsize(arena: Arena, off: number): number {
  return CLASS_SIZE[arena.u32[off >>> 2]!]!;
}

function arrNew(arena: Arena, stride: number, cap: number): number {
  const r = balloc(arena, 16 + Math.max(1, cap) * stride * 4);
  const u32 = arena.u32;
  const w = r >>> 2;
  u32[w + R_COUNT] = 0;
  u32[w + R_STRIDE] = stride;
  u32[w + 3] = 0;
  return r;
}

function arrCap(arena: Arena, r: number): number {
  return Math.floor((bsize(arena, r) - 16) / 4 / arena.u32[(r >>> 2) + R_STRIDE]!);
}

/** Opens a gap of one record at index i of array r (growing it: returns the array's new block). */
function arrInsertGap(arena: Arena, r: number, i: number): number {
  let u32 = arena.u32;
  const count = u32[(r >>> 2) + R_COUNT]!;
  const stride = u32[(r >>> 2) + R_STRIDE]!;
  assert(count < ARRAY_MAX_RECORDS, 'stream-groups: array too large');
  if (count + 1 > arrCap(arena, r)) {
    const n = arrNew(arena, stride, count * 2 + 4);
    u32 = arena.u32;
    u32.copyWithin((n >>> 2) + R_ITEMS, (r >>> 2) + R_ITEMS, (r >>> 2) + R_ITEMS + count * stride);
    u32[(n >>> 2) + R_COUNT] = count;
    bfree(arena, r);
    r = n;
  }
  const base = (r >>> 2) + R_ITEMS;
  u32.copyWithin(base + (i + 1) * stride, base + i * stride, base + count * stride);
  u32[(r >>> 2) + R_COUNT] = count + 1;
  return r;
}

/** Removes record i of array r (shrinking its block when a quarter full: returns the block). */
function arrRemove(arena: Arena, r: number, i: number): number {
  let u32 = arena.u32;
  const count = u32[(r >>> 2) + R_COUNT]!;
  const stride = u32[(r >>> 2) + R_STRIDE]!;
  const base = (r >>> 2) + R_ITEMS;
  u32.copyWithin(base + i * stride, base + (i + 1) * stride, base + count * stride);
  u32[(r >>> 2) + R_COUNT] = count - 1;
  const cap = arrCap(arena, r);
  if (cap > 64 && count - 1 < cap / 4) {
    const n = arrNew(arena, stride, cap / 2);
    u32 = arena.u32;
    u32.copyWithin((n >>> 2) + R_ITEMS, base, base + (count - 1) * stride);
    u32[(n >>> 2) + R_COUNT] = count - 1;
    bfree(arena, r);
    r = n;
  }
  return r;
}

function arrCount(arena: Arena, r: number): number {
  return arena.u32[(r >>> 2) + R_COUNT]!;
}

/** Word index of record i of array r. */
function rec(arena: Arena, r: number, i: number): number {
  return (r >>> 2) + R_ITEMS + i * arena.u32[(r >>> 2) + R_STRIDE]!;
}

/** Binary search by id in an array whose records start with an id: index if found, else
 * -(insertion point) - 1. */
function idSearch(arena: Arena, r: number, id: Uint32Array): number {
  const u32 = arena.u32;
  const stride = u32[(r >>> 2) + R_STRIDE]!;
  const base = (r >>> 2) + R_ITEMS;
  let lo = 0;
  let hi = u32[(r >>> 2) + R_COUNT]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmpAt(u32, base + mid * stride, id);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/** Compares the id at word w with id. */
function cmpAt(u32: Uint32Array, w: number, id: Uint32Array): number {
  for (let k = 0; k < 4; k++) {
    const a = u32[w + k]!;
    const b = id[k]!;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

function memcmp(a: Uint8Array, ao: number, al: number, b: Uint8Array, bo: number, bl: number): number {
  const n = al < bl ? al : bl;
  for (let i = 0; i < n; i++) {
    const x = a[ao + i]!;
    const y = b[bo + i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return al === bl ? 0 : al < bl ? -1 : 1;
}

function getU64(u32: Uint32Array, w: number): number {
  return u32[w]! * TWO32 + u32[w + 1]!;
}

function setU64(u32: Uint32Array, w: number, v: number): void {
  u32[w] = Math.floor(v / TWO32);
  u32[w + 1] = v >>> 0;
}

// ---- named records: groups in a directory, consumers in a group ------------------------------

/** Search by name in an array of offsets (stride 1) to blocks with [.., nameLen @w1] and the name
 * at nameByte: index, or -(insertion point) - 1. */
function nameSearch(arena: Arena, r: number, nameByte: number, buf: Uint8Array, off: number, len: number): number {
  const u32 = arena.u32;
  const u8 = arena.u8;
  const base = (r >>> 2) + R_ITEMS;
  let lo = 0;
  let hi = u32[(r >>> 2) + R_COUNT]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const b = u32[base + mid]!;
    const c = memcmp(u8, b + nameByte, u32[(b >>> 2) + 1]!, buf, off, len);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

// ---- groups ---------------------------------------------------------------------------------
// The directory is an array of stride 1: the group blocks in name order.

/** Groups in directory d (0: none). */
export function groupCount(arena: Arena, d: number): number {
  return d === 0 ? 0 : arrCount(arena, d);
}

/** Group i (in name order) of directory d. */
export function groupAt(arena: Arena, d: number, i: number): number {
  return arena.u32[rec(arena, d, i)]!;
}

/** The group named buf[off, +len) in directory d, or 0. */
export function groupFind(arena: Arena, d: number, buf: Uint8Array, off: number, len: number): number {
  if (d === 0) return 0;
  const i = nameSearch(arena, d, G_NAME_BYTE, buf, off, len);
  return i >= 0 ? arena.u32[rec(arena, d, i)]! : 0;
}

/** The group made by the last groupAdd. */
export let addedGroup = 0;

/** Adds a group (its name absent from d) with last id lastId and entries_read; returns the
 * directory's (maybe new) block, the group in addedGroup. */
export function groupAdd(arena: Arena, d: number, buf: Uint8Array, off: number, len: number, lastId: Uint32Array, entriesRead: number): number {
  if (d === 0) d = arrNew(arena, 1, 4);
  const i = nameSearch(arena, d, G_NAME_BYTE, buf, off, len);
  assert(i < 0, 'stream-groups: adding a group that exists');
  const pel = arrNew(arena, PEL_STRIDE, 4);
  const cons = arrNew(arena, 1, 4);
  const g = balloc(arena, G_NAME_BYTE + len);
  d = arrInsertGap(arena, d, -i - 1);
  const u32 = arena.u32;
  u32[rec(arena, d, -i - 1)] = g;
  const w = g >>> 2;
  u32[w + G_NAMELEN] = len;
  u32.set(lastId, w + G_ID);
  groupSetEntriesRead(arena, g, entriesRead);
  u32[w + G_PEL] = pel;
  u32[w + G_CONS] = cons;
  arena.u8.set(buf.subarray(off, off + len), g + G_NAME_BYTE);
  addedGroup = g;
  return d;
}

/** Removes group g from directory d and frees it; returns the directory (0 when emptied). */
export function groupRemove(arena: Arena, d: number, g: number): number {
  const i = nameSearch(arena, d, G_NAME_BYTE, arena.u8, g + G_NAME_BYTE, arena.u32[(g >>> 2) + G_NAMELEN]!);
  assert(i >= 0 && groupAt(arena, d, i) === g, 'stream-groups: removing a group not in its directory');
  groupFree(arena, g);
  d = arrRemove(arena, d, i);
  if (arrCount(arena, d) === 0) {
    bfree(arena, d);
    return 0;
  }
  return d;
}

function groupFree(arena: Arena, g: number): void {
  const u32 = arena.u32;
  const cons = u32[(g >>> 2) + G_CONS]!;
  const n = arrCount(arena, cons);
  for (let i = 0; i < n; i++) {
    const c = arena.u32[rec(arena, cons, i)]!;
    bfree(arena, arena.u32[(c >>> 2) + C_PEL]!);
    bfree(arena, c);
  }
  bfree(arena, cons);
  bfree(arena, arena.u32[(g >>> 2) + G_PEL]!);
  bfree(arena, g);
}

export function groupNameOff(g: number): number {
  return g + G_NAME_BYTE;
}

export function groupNameLen(arena: Arena, g: number): number {
  return arena.u32[(g >>> 2) + G_NAMELEN]!;
}

export function groupLastId(arena: Arena, g: number, dst: Uint32Array): void {
  const w = (g >>> 2) + G_ID;
  const u32 = arena.u32;
  dst[0] = u32[w]!;
  dst[1] = u32[w + 1]!;
  dst[2] = u32[w + 2]!;
  dst[3] = u32[w + 3]!;
}

export function groupSetLastId(arena: Arena, g: number, id: Uint32Array): void {
  arena.u32.set(id, (g >>> 2) + G_ID);
}

/** The group's entries_read, or ENTRIES_READ_INVALID. */
export function groupEntriesRead(arena: Arena, g: number): number {
  const u32 = arena.u32;
  const w = g >>> 2;
  return u32[w + G_ER_HI] === NONE32 && u32[w + G_ER_LO] === NONE32 ? ENTRIES_READ_INVALID : getU64(u32, w + G_ER_HI);
}

export function groupSetEntriesRead(arena: Arena, g: number, n: number): void {
  const u32 = arena.u32;
  const w = g >>> 2;
  if (n < 0) {
    u32[w + G_ER_HI] = NONE32;
    u32[w + G_ER_LO] = NONE32;
  } else setU64(u32, w + G_ER_HI, n);
}

// ---- the group PEL --------------------------------------------------------------------------

export function pelCount(arena: Arena, g: number): number {
  return arrCount(arena, arena.u32[(g >>> 2) + G_PEL]!);
}

/** Index of id in g's PEL, or -(insertion point) - 1. */
export function pelFind(arena: Arena, g: number, id: Uint32Array): number {
  return idSearch(arena, arena.u32[(g >>> 2) + G_PEL]!, id);
}

/** Word index of PEL record i of g (the id is its first four words; valid until the next change). */
export function pelRec(arena: Arena, g: number, i: number): number {
  return rec(arena, arena.u32[(g >>> 2) + G_PEL]!, i);
}

export function pelIdAt(arena: Arena, g: number, i: number, dst: Uint32Array): void {
  const w = pelRec(arena, g, i);
  const u32 = arena.u32;
  dst[0] = u32[w]!;
  dst[1] = u32[w + 1]!;
  dst[2] = u32[w + 2]!;
  dst[3] = u32[w + 3]!;
}

export function pelTimeAt(arena: Arena, g: number, i: number): number {
  return getU64(arena.u32, pelRec(arena, g, i) + P_TIME_HI);
}

export function pelDeliveriesAt(arena: Arena, g: number, i: number): number {
  return getU64(arena.u32, pelRec(arena, g, i) + P_CNT_HI);
}

export function pelConsumerAt(arena: Arena, g: number, i: number): number {
  return arena.u32[pelRec(arena, g, i) + P_CONS]!;
}

export function pelSetTime(arena: Arena, g: number, i: number, ms: number): void {
  setU64(arena.u32, pelRec(arena, g, i) + P_TIME_HI, ms);
}

export function pelSetDeliveries(arena: Arena, g: number, i: number, n: number): void {
  setU64(arena.u32, pelRec(arena, g, i) + P_CNT_HI, n);
}

/** Inserts id (absent: i = the negative result of pelFind) into g's PEL, owned by consumer c,
 * and into c's own PEL. */
export function pelInsert(arena: Arena, g: number, i: number, id: Uint32Array, timeMs: number, deliveries: number, c: number): void {
  const at = -i - 1;
  const r = arrInsertGap(arena, arena.u32[(g >>> 2) + G_PEL]!, at);
  arena.u32[(g >>> 2) + G_PEL] = r;
  const w = rec(arena, r, at);
  const u32 = arena.u32;
  u32.set(id, w);
  setU64(u32, w + P_TIME_HI, timeMs);
  setU64(u32, w + P_CNT_HI, deliveries);
  u32[w + P_CONS] = c;
  u32[w + 9] = 0;
  consumerPelAdd(arena, c, id);
}

/** Removes PEL record i of g, and its id from its consumer's PEL. */
export function pelRemove(arena: Arena, g: number, i: number): void {
  const w = pelRec(arena, g, i);
  const u32 = arena.u32;
  const c = u32[w + P_CONS]!;
  const id = scratchId;
  id[0] = u32[w]!;
  id[1] = u32[w + 1]!;
  id[2] = u32[w + 2]!;
  id[3] = u32[w + 3]!;
  consumerPelRemove(arena, c, id);
  arena.u32[(g >>> 2) + G_PEL] = arrRemove(arena, arena.u32[(g >>> 2) + G_PEL]!, i);
}

/** Gives PEL record i of g to consumer c (XCLAIM, XAUTOCLAIM). */
export function pelSetConsumer(arena: Arena, g: number, i: number, c: number): void {
  const w = pelRec(arena, g, i);
  const old = arena.u32[w + P_CONS]!;
  if (old === c) return;
  const id = scratchId;
  const u32 = arena.u32;
  id[0] = u32[w]!;
  id[1] = u32[w + 1]!;
  id[2] = u32[w + 2]!;
  id[3] = u32[w + 3]!;
  arena.u32[w + P_CONS] = c;
  consumerPelRemove(arena, old, id);
  consumerPelAdd(arena, c, id);
}

const scratchId = new Uint32Array(4);

// ---- consumers ------------------------------------------------------------------------------

export function consumerCount(arena: Arena, g: number): number {
  return arrCount(arena, arena.u32[(g >>> 2) + G_CONS]!);
}

/** Consumer i (in name order) of g. */
export function consumerAt(arena: Arena, g: number, i: number): number {
  return arena.u32[rec(arena, arena.u32[(g >>> 2) + G_CONS]!, i)]!;
}

export function consumerFind(arena: Arena, g: number, buf: Uint8Array, off: number, len: number): number {
  const cons = arena.u32[(g >>> 2) + G_CONS]!;
  const i = nameSearch(arena, cons, C_NAME_BYTE, buf, off, len);
  return i >= 0 ? arena.u32[rec(arena, cons, i)]! : 0;
}

/** Creates consumer buf[off, +len) (absent) in g, seen and active at nowMs (Redis 7.0 sets
 * seen-time on creation); returns it. */
export function consumerCreate(arena: Arena, g: number, buf: Uint8Array, off: number, len: number, nowMs: number): number {
  const cons0 = arena.u32[(g >>> 2) + G_CONS]!;
  const i = nameSearch(arena, cons0, C_NAME_BYTE, buf, off, len);
  assert(i < 0, 'stream-groups: creating a consumer that exists');
  const pel = arrNew(arena, 4, 4);
  const c = balloc(arena, C_NAME_BYTE + len);
  const cons = arrInsertGap(arena, cons0, -i - 1);
  const u32 = arena.u32;
  u32[(g >>> 2) + G_CONS] = cons;
  u32[rec(arena, cons, -i - 1)] = c;
  const w = c >>> 2;
  u32[w + C_NAMELEN] = len;
  setU64(u32, w + C_SEEN_HI, nowMs);
  setU64(u32, w + C_ACTIVE_HI, nowMs);
  u32[w + C_PEL] = pel;
  u32[w + 7] = 0;
  arena.u8.set(buf.subarray(off, off + len), c + C_NAME_BYTE);
  return c;
}

/** Deletes consumer c of g with its pending entries (from the group's PEL too); returns how many
 * it had pending. */
export function consumerDelete(arena: Arena, g: number, c: number): number {
  const cpel = arena.u32[(c >>> 2) + C_PEL]!;
  const n = arrCount(arena, cpel);
  const id = deleteId;
  // From the last id down, so that each removal moves the shortest tail of the group PEL.
  for (let k = n - 1; k >= 0; k--) {
    const w = rec(arena, arena.u32[(c >>> 2) + C_PEL]!, k);
    const u32 = arena.u32;
    id[0] = u32[w]!;
    id[1] = u32[w + 1]!;
    id[2] = u32[w + 2]!;
    id[3] = u32[w + 3]!;
    const i = pelFind(arena, g, id);
    assert(i >= 0 && pelConsumerAt(arena, g, i) === c, 'stream-groups: consumer PEL and group PEL disagree');
    pelRemove(arena, g, i);
  }
  const cons = arena.u32[(g >>> 2) + G_CONS]!;
  const i = nameSearch(arena, cons, C_NAME_BYTE, arena.u8, c + C_NAME_BYTE, arena.u32[(c >>> 2) + C_NAMELEN]!);
  assert(i >= 0, 'stream-groups: deleting a consumer not in its group');
  arena.u32[(g >>> 2) + G_CONS] = arrRemove(arena, cons, i);
  bfree(arena, arena.u32[(c >>> 2) + C_PEL]!);
  bfree(arena, c);
  return n;
}

const deleteId = new Uint32Array(4);

export function consumerNameOff(c: number): number {
  return c + C_NAME_BYTE;
}

export function consumerNameLen(arena: Arena, c: number): number {
  return arena.u32[(c >>> 2) + C_NAMELEN]!;
}

export function consumerSeen(arena: Arena, c: number): number {
  return getU64(arena.u32, (c >>> 2) + C_SEEN_HI);
}

export function consumerActive(arena: Arena, c: number): number {
  return getU64(arena.u32, (c >>> 2) + C_ACTIVE_HI);
}

export function consumerSetSeen(arena: Arena, c: number, ms: number): void {
  setU64(arena.u32, (c >>> 2) + C_SEEN_HI, ms);
}

export function consumerSetActive(arena: Arena, c: number, ms: number): void {
  setU64(arena.u32, (c >>> 2) + C_ACTIVE_HI, ms);
}

export function consumerPelCount(arena: Arena, c: number): number {
  return arrCount(arena, arena.u32[(c >>> 2) + C_PEL]!);
}

/** Index of id in c's PEL, or -(insertion point) - 1. */
export function consumerPelFind(arena: Arena, c: number, id: Uint32Array): number {
  return idSearch(arena, arena.u32[(c >>> 2) + C_PEL]!, id);
}

export function consumerPelIdAt(arena: Arena, c: number, i: number, dst: Uint32Array): void {
  const w = rec(arena, arena.u32[(c >>> 2) + C_PEL]!, i);
  const u32 = arena.u32;
  dst[0] = u32[w]!;
  dst[1] = u32[w + 1]!;
  dst[2] = u32[w + 2]!;
  dst[3] = u32[w + 3]!;
}

function consumerPelAdd(arena: Arena, c: number, id: Uint32Array): void {
  const r0 = arena.u32[(c >>> 2) + C_PEL]!;
  const i = idSearch(arena, r0, id);
  assert(i < 0, 'stream-groups: id already pending for the consumer');
  const r = arrInsertGap(arena, r0, -i - 1);
  arena.u32[(c >>> 2) + C_PEL] = r;
  arena.u32.set(id, rec(arena, r, -i - 1));
}

function consumerPelRemove(arena: Arena, c: number, id: Uint32Array): void {
  const r = arena.u32[(c >>> 2) + C_PEL]!;
  const i = idSearch(arena, r, id);
  assert(i >= 0, 'stream-groups: id not pending for its consumer');
  arena.u32[(c >>> 2) + C_PEL] = arrRemove(arena, r, i);
}

// ---- the kind's hooks: size, release, image ---------------------------------------------------

/** Bytes held by the groups of directory `block` (0: none). */
export function groupsBytes(arena: Arena, block: number): number {
  if (block === 0) return 0;
  let n = bsize(arena, block);
  const count = arrCount(arena, block);
  for (let i = 0; i < count; i++) {
    const g = groupAt(arena, block, i);
    const u32 = arena.u32;
    n += bsize(arena, g) + bsize(arena, u32[(g >>> 2) + G_PEL]!);
    const cons = u32[(g >>> 2) + G_CONS]!;
    n += bsize(arena, cons);
    const nc = arrCount(arena, cons);
    for (let k = 0; k < nc; k++) {
      const c = arena.u32[rec(arena, cons, k)]!;
      n += bsize(arena, c) + bsize(arena, arena.u32[(c >>> 2) + C_PEL]!);
    }
  }
  return n;
}

/** Frees every group of directory `block` and the directory. */
export function groupsRelease(arena: Arena, block: number): void {
  if (block === 0) return;
  const count = arrCount(arena, block);
  for (let i = 0; i < count; i++) groupFree(arena, groupAt(arena, block, i));
  bfree(arena, block);
}

// The image: [1][groups u32] then per group: [nameLen u32][name][last id 16 BE][entries_read
// i64 as hi u32, lo u32; -1 = all ones][consumers u32] per consumer: [nameLen u32][name][seen
// u64][active u64]; then [pel u32] per record: [id 16 BE][time u64][deliveries u64][consumer
// index u32]. Integers little-endian; u64 as lo u32 then hi u32. No groups: the single byte 0.
const IMG_PEL_REC = 16 + 8 + 8 + 4;

export function groupsImageSize(arena: Arena, block: number): number {
  if (block === 0) return 1;
  let n = 5;
  const count = arrCount(arena, block);
  for (let i = 0; i < count; i++) {
    const g = groupAt(arena, block, i);
    n += 4 + groupNameLen(arena, g) + 16 + 8 + 4 + 4;
    const nc = consumerCount(arena, g);
    for (let k = 0; k < nc; k++) n += 4 + consumerNameLen(arena, consumerAt(arena, g, k)) + 16;
    n += pelCount(arena, g) * IMG_PEL_REC;
  }
  return n;
}

function putU32(dst: Uint8Array, p: number, v: number): number {
  dst[p] = v & 0xff;
  dst[p + 1] = (v >>> 8) & 0xff;
  dst[p + 2] = (v >>> 16) & 0xff;
  dst[p + 3] = v >>> 24;
  return p + 4;
}

function getU32(src: Uint8Array, p: number): number {
  return (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0;
}

function putU32BE(dst: Uint8Array, p: number, v: number): number {
  dst[p] = v >>> 24;
  dst[p + 1] = (v >>> 16) & 0xff;
  dst[p + 2] = (v >>> 8) & 0xff;
  dst[p + 3] = v & 0xff;
  return p + 4;
}

function getU32BE(src: Uint8Array, p: number): number {
  return ((src[p]! << 24) | (src[p + 1]! << 16) | (src[p + 2]! << 8) | src[p + 3]!) >>> 0;
}

function putWords64(dst: Uint8Array, p: number, u32: Uint32Array, w: number): number {
  p = putU32(dst, p, u32[w + 1]!);
  return putU32(dst, p, u32[w]!);
}

/** Writes the image of directory `block` at dst[off]; returns the end. */
export function groupsImageWrite(arena: Arena, block: number, dst: Uint8Array, off: number): number {
  if (block === 0) {
    dst[off] = 0;
    return off + 1;
  }
  let p = off;
  dst[p++] = 1;
  const count = arrCount(arena, block);
  p = putU32(dst, p, count);
  const u32 = arena.u32;
  const u8 = arena.u8;
  for (let i = 0; i < count; i++) {
    const g = groupAt(arena, block, i);
    const gw = g >>> 2;
    const nl = u32[gw + G_NAMELEN]!;
    p = putU32(dst, p, nl);
    dst.set(u8.subarray(g + G_NAME_BYTE, g + G_NAME_BYTE + nl), p);
    p += nl;
    for (let k = 0; k < 4; k++) p = putU32BE(dst, p, u32[gw + G_ID + k]!);
    p = putWords64(dst, p, u32, gw + G_ER_HI);
    const cons = u32[gw + G_CONS]!;
    const nc = arrCount(arena, cons);
    p = putU32(dst, p, nc);
    for (let k = 0; k < nc; k++) {
      const c = u32[rec(arena, cons, k)]!;
      const cw = c >>> 2;
      const cl = u32[cw + C_NAMELEN]!;
      p = putU32(dst, p, cl);
      dst.set(u8.subarray(c + C_NAME_BYTE, c + C_NAME_BYTE + cl), p);
      p += cl;
      p = putWords64(dst, p, u32, cw + C_SEEN_HI);
      p = putWords64(dst, p, u32, cw + C_ACTIVE_HI);
      // The consumer's index in the image, for the PEL records below; cleared after the group.
      u32[cw + 7] = k;
    }
    const pel = u32[gw + G_PEL]!;
    const np = arrCount(arena, pel);
    p = putU32(dst, p, np);
    for (let k = 0; k < np; k++) {
      const w = rec(arena, pel, k);
      for (let j = 0; j < 4; j++) p = putU32BE(dst, p, u32[w + j]!);
      p = putWords64(dst, p, u32, w + P_TIME_HI);
      p = putWords64(dst, p, u32, w + P_CNT_HI);
      p = putU32(dst, p, u32[(u32[w + P_CONS]! >>> 2) + 7]!);
    }
    for (let k = 0; k < nc; k++) u32[(u32[rec(arena, cons, k)]! >>> 2) + 7] = 0;
  }
  return p;
}

/** What is wrong with a groups image src[off, +len), or null. Names must be unique and sorted as
 * the directory keeps them, PEL ids strictly increasing, consumer indexes in range. */
export function groupsImageError(src: Uint8Array, off: number, len: number): string | null {
  const end = off + len;
  if (len < 1) return 'groups image empty';
  if (src[off] === 0) return len === 1 ? null : 'groups image: bytes after "no groups"';
  if (src[off] !== 1 || len < 5) return 'groups image: bad tag';
  let p = off + 1;
  const count = getU32(src, p);
  p += 4;
  if (count === 0) return 'groups image: zero groups';
  let prevName = -1;
  let prevLen = 0;
  const prev = new Uint32Array(4);
  const cur = new Uint32Array(4);
  for (let i = 0; i < count; i++) {
    if (p + 4 > end) return 'groups image truncated';
    const nl = getU32(src, p);
    p += 4;
    if (p + nl + 16 + 8 + 4 > end) return 'groups image truncated';
    if (prevName >= 0 && memcmp(src, prevName, prevLen, src, p, nl) >= 0) return 'groups image: group names out of order';
    prevName = p;
    prevLen = nl;
    p += nl + 16 + 8;
    const nc = getU32(src, p);
    p += 4;
    let prevC = -1;
    let prevCl = 0;
    for (let k = 0; k < nc; k++) {
      if (p + 4 > end) return 'groups image truncated';
      const cl = getU32(src, p);
      p += 4;
      if (p + cl + 16 > end) return 'groups image truncated';
      if (prevC >= 0 && memcmp(src, prevC, prevCl, src, p, cl) >= 0) return 'groups image: consumer names out of order';
      prevC = p;
      prevCl = cl;
      p += cl + 16;
    }
    if (p + 4 > end) return 'groups image truncated';
    const np = getU32(src, p);
    p += 4;
    if (np > (end - p) / IMG_PEL_REC) return 'groups image truncated';
    for (let k = 0; k < np; k++) {
      for (let j = 0; j < 4; j++) cur[j] = getU32BE(src, p + 4 * j);
      if (k > 0) {
        let c = 0;
        for (let j = 0; j < 4 && c === 0; j++) c = cur[j]! < prev[j]! ? -1 : cur[j]! > prev[j]! ? 1 : 0;
        if (c <= 0) return 'groups image: PEL ids out of order';
      }
      prev.set(cur);
      if (getU32(src, p + 32) >= nc) return 'groups image: PEL entry of no consumer';
      p += IMG_PEL_REC;
    }
  }
  return p === end ? null : 'groups image: trailing bytes';
}

function getU64LE(src: Uint8Array, p: number): number {
  return getU32(src, p + 4) * TWO32 + getU32(src, p);
}

const storeId = new Uint32Array(4);

/** Builds the groups of a checked image; returns the directory block (0: no groups). */
export function groupsStore(arena: Arena, src: Uint8Array, off: number, len: number): number {
  if (len < 1 || src[off] === 0) return 0;
  let p = off + 1;
  const count = getU32(src, p);
  p += 4;
  let d = 0;
  const consumers: number[] = [];
  for (let i = 0; i < count; i++) {
    const nl = getU32(src, p);
    p += 4;
    const nameAt = p;
    p += nl;
    for (let j = 0; j < 4; j++) storeId[j] = getU32BE(src, p + 4 * j);
    p += 16;
    const erLo = getU32(src, p);
    const erHi = getU32(src, p + 4);
    p += 8;
    d = groupAdd(arena, d, src, nameAt, nl, storeId, erHi === NONE32 && erLo === NONE32 ? ENTRIES_READ_INVALID : erHi * TWO32 + erLo);
    const g = addedGroup;
    const nc = getU32(src, p);
    p += 4;
    consumers.length = 0;
    for (let k = 0; k < nc; k++) {
      const cl = getU32(src, p);
      p += 4;
      const c = consumerCreate(arena, g, src, p, cl, 0);
      p += cl;
      consumerSetSeen(arena, c, getU64LE(src, p));
      consumerSetActive(arena, c, getU64LE(src, p + 8));
      p += 16;
      consumers.push(c);
    }
    const np = getU32(src, p);
    p += 4;
    for (let k = 0; k < np; k++) {
      for (let j = 0; j < 4; j++) storeId[j] = getU32BE(src, p + 4 * j);
      const c = consumers[getU32(src, p + 32)]!;
      // Ids arrive in increasing order: each goes at the end of both PELs.
      pelInsert(arena, g, -pelCount(arena, g) - 1, storeId, getU64LE(src, p + 16), getU64LE(src, p + 24), c);
      p += IMG_PEL_REC;
    }
  }
  return d;
}
