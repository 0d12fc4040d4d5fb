// The stream value (Redis's t_stream.c idea): a descriptor block and packed nodes of entries, all
// in the arena. The entry's value is [ENC_STREAM][descriptor u32]. Nodes sit in a directory (an
// array of node offsets in id order, used slots [start, start+nodes)), so a lookup by id is a
// binary search over the nodes' master ids: XRANGE from any id is O(log nodes + node).
// Invariants: ids strictly increase through the directory and inside a node; a node's live count
// is that of its entries without the deleted flag; the descriptor's length is the sum of the live
// counts; no node has zero live entries except one left by an exact MINID trim (as Redis's).
//
// API for the other stream modules (ks: Keyspace, e: a stream entry). Nothing here allocates on
// the data path; results are left in live exports, valid until the next call into this module:
//   streamCreate(ks, key, koff, klen) -> e; streamLength; streamLastId(ks, e, dst);
//   streamFirstId(ks, e, dst) -> false when empty; streamEntriesAdded; streamMaxDeletedId;
//   streamGroups / streamSetGroups (the u32 word owned by stream-groups.ts);
//   streamIter(ks, e, lo, hi, reverse) then streamNext() -> boolean: after true, itId (the id)
//   and itFields (field count) are set, itField(i) / itValue(i) set fBuf/fOff/fLen;
//   streamWriteEntry(out): the current entry as Redis replies it, [id, [f1, v1, ...]];
//   streamHas(ks, e, id) -> boolean: positions the current entry on a live entry with that id;
//   streamAppend, streamDelete, streamTrim, streamSetMeta for the commands (they announce what
//   they change to the keyspace's observer themselves: see below).
// Logging: a change announces each entry it adds or removes (ks.elementChanging with the 16-byte
// big-endian id) and the metadata (an empty name) BEFORE making it; the log then records their
// resulting state (streamElementState), not the stream (docs/streams.md). Anything else that
// changes a stream in place (the consumer groups) must call ks.bumpCas(e) first, which records
// the stream whole, or announce elements of its own.
import { assert } from '../util/assert.js';
import { sid, sidCmp, sidCopy, sidIsZero, sidSet, sidToBytes, sidWrite, SID_TEXT_MAX, type Sid } from '../util/stream-id.js';
import type { ArgList, CollectionLimits } from '../core/types.js';
import type { Arena } from './arena.js';
import type { ValueType } from './value-types.js';
import { CLASS_SIZE, classOf } from './layout.js';
import { TYPE_STREAM } from './value-types.js';

export const ENC_STREAM = 6;
/** [ENC_STREAM][descriptor u32] */
export const STREAM_VALUE_BYTES = 5;

// ---- Descriptor words ----
const D_LENGTH = 0;
const D_NODES = 1;
const D_DIR = 2;
const D_DIR_START = 3;
const D_DIR_CAP = 4;
/** Bytes of the node blocks and the directory block. */
const D_BYTES = 5;
const D_GROUPS = 6;
const D_ADDED_HI = 7;
/** Words 8 and 9 are the keyspace's lazy-free link and cursor (element-table.ts D_LAZY_NEXT). */
const D_ADDED_LO = 10;
const D_LAST = 11; // 4 words
const D_MAXDEL = 15; // 4 words
const DESC_WORDS = 20;
export const STREAM_DESC_BYTES = DESC_WORDS * 4;
const DESC_CLASS = classOf(STREAM_DESC_BYTES);

// ---- Node words ----
const N_MASTER = 0; // 4 words: the id entries are delta-encoded against
const N_LAST = 4; // 4 words: the id of the node's last entry, deleted or not
const N_LIVE = 8;
const N_DELETED = 9;
/** Bytes used in the block (header included); entries end there. */
const N_USED = 10;
const N_CLASS = 11;
/** Byte (relative to the block) where the entries start, after the master fields. */
const N_ESTART = 12;
const NODE_HDR = 52;

// ---- Entry flags ----
const F_DELETED = 1;
const F_SAMEFIELDS = 2;

const TWO32 = 4294967296;

interface StreamHost {
  readonly arena: Arena;
}

/** What this module needs of the keyspace (Keyspace implements it; importing keyspace.ts here
 * would close a circle through value-kinds.ts and stream-kind.ts). */
export interface Keyspace {
  readonly limits: CollectionLimits;
  kindOf(type: number): unknown;
  valueOffset(e: number): number;
  bumpCas(e: number): number;
  elementChanging(e: number, buf: Uint8Array, off: number, len: number): void;
  set(key: Uint8Array, koff: number, klen: number, value: Uint8Array | null, voff: number, vlen: number, type: ValueType, expireAtMs: number, flags?: number): number;
}

function arenaOf(ks: Keyspace): Arena {
  return (ks.kindOf(TYPE_STREAM) as StreamHost).arena;
}

function descOf(ks: Keyspace, e: number): number {
  const u8 = arenaOf(ks).u8;
  const vo = ks.valueOffset(e);
  assert(u8[vo] === ENC_STREAM, 'stream: entry is not a stream');
  return (u8[vo + 1]! | (u8[vo + 2]! << 8) | (u8[vo + 3]! << 16) | (u8[vo + 4]! << 24)) >>> 0;
}

// ---- 64-bit varints (ids) and 53-bit varints (lengths) ----

export let rHi = 0;
export let rLo = 0;
let rSize = 0;

/** Reads the varint at u8[p] into rHi:rLo, its size into rSize. */
function getV64(u8: Uint8Array, p: number): void {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  let i = 0;
  for (;;) {
    const b = u8[p + i++]!;
    const v = b & 0x7f;
    if (shift < 28) lo |= v << shift;
    else if (shift === 28) {
      lo |= (v & 0xf) << 28;
      hi |= v >>> 4;
    } else hi |= v << (shift - 32);
    if (b < 0x80) break;
    shift += 7;
  }
  rLo = lo >>> 0;
  rHi = hi >>> 0;
  rSize = i;
}

function sizeV64(hi: number, lo: number): number {
  let n = 1;
  while (hi !== 0 || lo >= 0x80) {
    lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
    hi >>>= 7;
    n++;
  }
  return n;
}

function putV64(u8: Uint8Array, p: number, hi: number, lo: number): number {
  let i = 0;
  while (hi !== 0 || lo >= 0x80) {
    u8[p + i++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
    hi >>>= 7;
  }
  u8[p + i++] = lo;
  return i;
}

let vLen = 0;
let vSize = 0;

function getLen(u8: Uint8Array, p: number): void {
  let b = u8[p]!;
  if (b < 0x80) {
    vLen = b;
    vSize = 1;
    return;
  }
  let n = b & 0x7f;
  let mul = 128;
  let i = 1;
  do {
    b = u8[p + i++]!;
    n += (b & 0x7f) * mul;
    mul *= 128;
  } while (b >= 0x80);
  vLen = n;
  vSize = i;
}

/** Bytes of n as an unsigned LEB128 length (any safe integer, not only 32-bit ones). */
export function sizeLen(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

/** Writes n as an unsigned LEB128 length at p; returns its bytes. */
export function putLen(u8: Uint8Array, p: number, n: number): number {
  let i = 0;
  while (n >= 0x80) {
    u8[p + i++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  u8[p + i++] = n;
  return i;
}

// ---- Descriptor access ----

export function streamCreate(ks: Keyspace, key: Uint8Array, koff: number, klen: number): number {
  const arena = arenaOf(ks);
  const d = arena.alloc(DESC_CLASS);
  arena.u32.fill(0, d >>> 2, (d >>> 2) + DESC_WORDS);
  const e = ks.set(key, koff, klen, null, 0, STREAM_VALUE_BYTES, TYPE_STREAM, 0);
  writeValue(ks, e, d);
  return e;
}

function writeValue(ks: Keyspace, e: number, d: number): void {
  const u8 = arenaOf(ks).u8;
  const vo = ks.valueOffset(e);
  u8[vo] = ENC_STREAM;
  u8[vo + 1] = d & 0xff;
  u8[vo + 2] = (d >>> 8) & 0xff;
  u8[vo + 3] = (d >>> 16) & 0xff;
  u8[vo + 4] = d >>> 24;
}

export function streamLength(ks: Keyspace, e: number): number {
  return arenaOf(ks).u32[(descOf(ks, e) >>> 2) + D_LENGTH]!;
}

export function streamNodes(ks: Keyspace, e: number): number {
  return arenaOf(ks).u32[(descOf(ks, e) >>> 2) + D_NODES]!;
}

function readSid(u32: Uint32Array, w: number, dst: Sid): void {
  dst[0] = u32[w]!;
  dst[1] = u32[w + 1]!;
  dst[2] = u32[w + 2]!;
  dst[3] = u32[w + 3]!;
}

function writeSid(u32: Uint32Array, w: number, src: Readonly<Sid>): void {
  u32[w] = src[0]!;
  u32[w + 1] = src[1]!;
  u32[w + 2] = src[2]!;
  u32[w + 3] = src[3]!;
}

export function streamLastId(ks: Keyspace, e: number, dst: Sid): void {
  readSid(arenaOf(ks).u32, (descOf(ks, e) >>> 2) + D_LAST, dst);
}

export function streamMaxDeletedId(ks: Keyspace, e: number, dst: Sid): void {
  readSid(arenaOf(ks).u32, (descOf(ks, e) >>> 2) + D_MAXDEL, dst);
}

export function streamEntriesAdded(ks: Keyspace, e: number): number {
  const u32 = arenaOf(ks).u32;
  const w = descOf(ks, e) >>> 2;
  return u32[w + D_ADDED_HI]! * TWO32 + u32[w + D_ADDED_LO]!;
}

export function streamGroups(ks: Keyspace, e: number): number {
  return arenaOf(ks).u32[(descOf(ks, e) >>> 2) + D_GROUPS]!;
}

/** Sets the groups word (stream-groups.ts's block, 0 = none). Callers announce the change
 * (ks.bumpCas) first. */
export function streamSetGroups(ks: Keyspace, e: number, block: number): void {
  arenaOf(ks).u32[(descOf(ks, e) >>> 2) + D_GROUPS] = block;
}

/** XSETID: the last id, entries_added and max_deleted_entry_id (null: unchanged). */
export function streamSetMeta(ks: Keyspace, e: number, last: Readonly<Sid>, entriesAdded: number, maxDeleted: Readonly<Sid> | null): void {
  announceMeta(ks, e);
  const u32 = arenaOf(ks).u32;
  const w = descOf(ks, e) >>> 2;
  writeSid(u32, w + D_LAST, last);
  if (entriesAdded >= 0) {
    u32[w + D_ADDED_HI] = Math.floor(entriesAdded / TWO32);
    u32[w + D_ADDED_LO] = entriesAdded >>> 0;
  }
  if (maxDeleted !== null) writeSid(u32, w + D_MAXDEL, maxDeleted);
}

/** The id of the first live entry; false (dst 0-0) when the stream is empty. */
export function streamFirstId(ks: Keyspace, e: number, dst: Sid): boolean {
  streamIter(ks, e, MIN, MAX, false);
  if (!streamNext()) {
    sidSet(dst, 0, 0, 0, 0);
    return false;
  }
  sidCopy(dst, itId);
  return true;
}

const MIN = sid();
const MAX = new Uint32Array([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);

// ---- Directory ----

function dirNode(u32: Uint32Array, w: number, i: number): number {
  return u32[(u32[w + D_DIR]! >>> 2) + u32[w + D_DIR_START]! + i]!;
}

/** Compares the node's master id with id. */
function cmpMaster(u32: Uint32Array, n: number, id: Readonly<Sid>): number {
  const w = n >>> 2;
  for (let i = 0; i < 4; i++) {
    const x = u32[w + N_MASTER + i]!;
    const y = id[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Index of the last node whose master id <= id, or -1 when none. */
function findNode(u32: Uint32Array, w: number, id: Readonly<Sid>): number {
  let lo = 0;
  let hi = u32[w + D_NODES]! - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpMaster(u32, dirNode(u32, w, mid), id) <= 0) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Appends node n to the directory, growing it when full. */
function dirPush(arena: Arena, d: number, n: number): void {
  let u32 = arena.u32;
  const w = d >>> 2;
  const nodes = u32[w + D_NODES]!;
  let dir = u32[w + D_DIR]!;
  const start = u32[w + D_DIR_START]!;
  const cap = u32[w + D_DIR_CAP]!;
  if (dir === 0 || start + nodes >= cap) {
    if (dir !== 0 && nodes * 2 <= cap) {
      // Room freed at the front by trimming: slide down instead of growing.
      u32.copyWithin(dir >>> 2, (dir >>> 2) + start, (dir >>> 2) + start + nodes);
    } else {
      const newCap = Math.max(4, nodes * 2);
      const cls = classOf(newCap * 4);
      const nd = arena.alloc(cls);
      u32 = arena.u32;
      if (dir !== 0) {
        u32.copyWithin(nd >>> 2, (dir >>> 2) + start, (dir >>> 2) + start + nodes);
        const oldCls = classOf(cap * 4);
        arena.free(dir, oldCls);
        u32[w + D_BYTES] = u32[w + D_BYTES]! - CLASS_SIZE[oldCls]!;
      }
      u32[w + D_BYTES] = u32[w + D_BYTES]! + CLASS_SIZE[cls]!;
      dir = nd;
      u32[w + D_DIR] = nd;
      u32[w + D_DIR_CAP] = CLASS_SIZE[cls]! / 4;
    }
    u32[w + D_DIR_START] = 0;
  }
  u32[(dir >>> 2) + u32[w + D_DIR_START]! + nodes] = n;
  u32[w + D_NODES] = nodes + 1;
}

/** Removes the directory slot i (its node already freed). */
function dirRemove(u32: Uint32Array, w: number, i: number): void {
  const nodes = u32[w + D_NODES]!;
  const base = (u32[w + D_DIR]! >>> 2) + u32[w + D_DIR_START]!;
  if (i === 0) u32[w + D_DIR_START] = u32[w + D_DIR_START]! + 1;
  else u32.copyWithin(base + i, base + i + 1, base + nodes);
  u32[w + D_NODES] = nodes - 1;
  if (nodes === 1) u32[w + D_DIR_START] = 0;
}

function freeNode(arena: Arena, w: number, n: number): void {
  const u32 = arena.u32;
  const cls = u32[(n >>> 2) + N_CLASS]!;
  u32[w + D_BYTES] = u32[w + D_BYTES]! - CLASS_SIZE[cls]!;
  arena.free(n, cls);
}

/** Moves node n (directory slot i) to a block of class cls; returns the new node. */
function reallocNode(arena: Arena, w: number, i: number, n: number, cls: number): number {
  const nn = arena.alloc(cls);
  const u8 = arena.u8;
  const u32 = arena.u32;
  const used = u32[(n >>> 2) + N_USED]!;
  u8.copyWithin(nn, n, n + used);
  const oldCls = u32[(n >>> 2) + N_CLASS]!;
  u32[(nn >>> 2) + N_CLASS] = cls;
  u32[w + D_BYTES] = u32[w + D_BYTES]! + CLASS_SIZE[cls]! - CLASS_SIZE[oldCls]!;
  arena.free(n, oldCls);
  u32[(u32[w + D_DIR]! >>> 2) + u32[w + D_DIR_START]! + i] = nn;
  return nn;
}

// ---- Entries ----

/** The field/value spans of the entry parsed last (parseEntry). */
let spanFOff = new Int32Array(32);
let spanFLen = new Int32Array(32);
let spanVOff = new Int32Array(32);
let spanVLen = new Int32Array(32);
/** 1 where value i is an integer rendered into intText. */
let spanVInt = new Uint8Array(32);
let eFlags = 0;

function ensureSpans(n: number): void {
  if (n <= spanFOff.length) return;
  const c = Math.max(n, spanFOff.length * 2);
  spanFOff = new Int32Array(c);
  spanFLen = new Int32Array(c);
  spanVOff = new Int32Array(c);
  spanVLen = new Int32Array(c);
  spanVInt = new Uint8Array(c);
}

/** The current entry: its id and field count. */
export const itId: Sid = sid();
export let itFields = 0;
/** Where itField()/itValue() found their bytes. */
export let fBuf: Uint8Array = new Uint8Array(0);
export let fOff = 0;
export let fLen = 0;

/** Parses the entry at u8[p] of node n (word nw): flags in eFlags, id in itId, the spans when
 * spans; returns the offset past the entry. */
function parseEntry(u8: Uint8Array, u32: Uint32Array, n: number, p: number, spans: boolean): number {
  const nw = n >>> 2;
  eFlags = u8[p++]!;
  getV64(u8, p);
  p += rSize;
  // ms = master ms + delta (64-bit add)
  const lo = u32[nw + N_MASTER + 1]! + rLo;
  const carry = lo >= TWO32 ? 1 : 0;
  itId[1] = lo >>> 0;
  itId[0] = (u32[nw + N_MASTER]! + rHi + carry) >>> 0;
  getV64(u8, p);
  p += rSize;
  itId[2] = rHi;
  itId[3] = rLo;
  if ((eFlags & F_SAMEFIELDS) !== 0) {
    let q = n + NODE_HDR;
    getLen(u8, q);
    const nf = vLen;
    q += vSize;
    itFields = nf;
    if (spans) ensureSpans(nf);
    for (let i = 0; i < nf; i++) {
      getLen(u8, q);
      if (spans) {
        spanFOff[i] = q + vSize;
        spanFLen[i] = vLen;
      }
      q += vSize + vLen;
      p = readValue(u8, p, i, spans);
    }
    return p;
  }
  getLen(u8, p);
  const nf = vLen;
  p += vSize;
  itFields = nf;
  if (spans) ensureSpans(nf);
  for (let i = 0; i < nf; i++) {
    getLen(u8, p);
    if (spans) {
      spanFOff[i] = p + vSize;
      spanFLen[i] = vLen;
    }
    p += vSize + vLen;
    p = readValue(u8, p, i, spans);
  }
  return p;
}

/** Reads value i at u8[p] (a tagged varint: (length << 1) then the bytes, or (n << 1) | 1 for a
 * canonical non-negative integer n, whose text is rendered into intText); returns the end. */
function readValue(u8: Uint8Array, p: number, i: number, spans: boolean): number {
  getLen(u8, p);
  const v = vLen;
  if (v % 2 === 1) {
    if (spans) {
      let n = (v - 1) / 2;
      // Digits backwards into this value's 16 bytes of intText.
      if (intText.length < (i + 1) * 16) {
        const b = new Uint8Array(Math.max((i + 1) * 16, intText.length * 2));
        intText = b;
      }
      let q = (i + 1) * 16;
      do {
        const d = n % 10;
        intText[--q] = 48 + d;
        n = (n - d) / 10;
      } while (n > 0);
      spanVOff[i] = q;
      spanVLen[i] = (i + 1) * 16 - q;
      spanVInt[i] = 1;
    }
    return p + vSize;
  }
  if (spans) {
    spanVOff[i] = p + vSize;
    spanVLen[i] = v / 2;
    spanVInt[i] = 0;
  }
  return p + vSize + v / 2;
}

/** The text of integer-encoded values of the current entry: value i at [16i, 16i + 16). */
let intText = new Uint8Array(16 * 32);

export function itField(i: number): void {
  fBuf = itArena!.u8;
  fOff = spanFOff[i]!;
  fLen = spanFLen[i]!;
}

export function itValue(i: number): void {
  fBuf = spanVInt[i] === 1 ? intText : itArena!.u8;
  fOff = spanVOff[i]!;
  fLen = spanVLen[i]!;
}

/** The writer streamWriteEntry replies into (the RESP writer, structurally). */
export interface EntryOut {
  array(n: number): void;
  bulk(src: Uint8Array, off: number, len: number): void;
}

const idText = new Uint8Array(SID_TEXT_MAX);

/** Writes the current entry as [id, [f1, v1, ...]]. */
export function streamWriteEntry(out: EntryOut): void {
  out.array(2);
  out.bulk(idText, 0, sidWrite(itId, idText, 0));
  out.array(itFields * 2);
  const u8 = itArena!.u8;
  for (let i = 0; i < itFields; i++) {
    out.bulk(u8, spanFOff[i]!, spanFLen[i]!);
    out.bulk(spanVInt[i] === 1 ? intText : u8, spanVOff[i]!, spanVLen[i]!);
  }
}

/** Writes an id as a bulk string. */
export function writeIdBulk(out: EntryOut, id: Readonly<Sid>): void {
  out.bulk(idText, 0, sidWrite(id, idText, 0));
}

// ---- Iteration ----

let itArena: Arena | null = null;
let itD = 0;
let itIdx = -1; // directory index of the current node, -1 when done
let itNode = 0;
let itPos = 0; // forward: offset of the next entry
let itRev = false;
const itLo = sid();
const itHi = sid();
let revOffs = new Int32Array(128);
let revK = -1;

function loadRev(u8: Uint8Array, u32: Uint32Array, n: number): void {
  const end = n + u32[(n >>> 2) + N_USED]!;
  let k = 0;
  for (let p = n + u32[(n >>> 2) + N_ESTART]!; p < end; ) {
    if (k === revOffs.length) {
      const b = new Int32Array(k * 2);
      b.set(revOffs);
      revOffs = b;
    }
    revOffs[k++] = p;
    p = parseEntry(u8, u32, n, p, false);
  }
  revK = k - 1;
}

/** Starts an iteration over the live entries with lo <= id <= hi, ascending or descending. */
export function streamIter(ks: Keyspace, e: number, lo: Readonly<Sid>, hi: Readonly<Sid>, reverse: boolean): void {
  const arena = arenaOf(ks);
  itArena = arena;
  const d = descOf(ks, e);
  itD = d;
  sidCopy(itLo, lo);
  sidCopy(itHi, hi);
  itRev = reverse;
  const u32 = arena.u32;
  const w = d >>> 2;
  const nodes = u32[w + D_NODES]!;
  if (nodes === 0 || sidCmp(lo, hi) > 0) {
    itIdx = -1;
    return;
  }
  if (!reverse) {
    itIdx = Math.max(0, findNode(u32, w, lo));
    itNode = dirNode(u32, w, itIdx);
    itPos = itNode + u32[(itNode >>> 2) + N_ESTART]!;
  } else {
    itIdx = findNode(u32, w, hi);
    if (itIdx < 0) return;
    itNode = dirNode(u32, w, itIdx);
    loadRev(arena.u8, u32, itNode);
  }
}

/** Moves to the next entry of the iteration; false when there is none. */
export function streamNext(): boolean {
  if (itIdx < 0) return false;
  const arena = itArena!;
  const u8 = arena.u8;
  const u32 = arena.u32;
  const w = itD >>> 2;
  if (!itRev) {
    for (;;) {
      const end = itNode + u32[(itNode >>> 2) + N_USED]!;
      if (itPos >= end) {
        if (++itIdx >= u32[w + D_NODES]!) {
          itIdx = -1;
          return false;
        }
        itNode = dirNode(u32, w, itIdx);
        itPos = itNode + u32[(itNode >>> 2) + N_ESTART]!;
        continue;
      }
      itPos = parseEntry(u8, u32, itNode, itPos, true);
      if ((eFlags & F_DELETED) !== 0 || sidCmp(itId, itLo) < 0) continue;
      if (sidCmp(itId, itHi) > 0) {
        itIdx = -1;
        return false;
      }
      return true;
    }
  }
  for (;;) {
    if (revK < 0) {
      if (--itIdx < 0) return false;
      itNode = dirNode(u32, w, itIdx);
      loadRev(u8, u32, itNode);
      continue;
    }
    parseEntry(u8, u32, itNode, revOffs[revK--]!, true);
    if ((eFlags & F_DELETED) !== 0 || sidCmp(itId, itHi) > 0) continue;
    if (sidCmp(itId, itLo) < 0) {
      itIdx = -1;
      return false;
    }
    return true;
  }
}

/** Finds the live entry with this id and makes it the current entry; false when there is none. */
export function streamHas(ks: Keyspace, e: number, id: Readonly<Sid>): boolean {
  streamIter(ks, e, id, id, false);
  const ok = streamNext();
  itIdx = -1;
  return ok;
}

// ---- Appending ----

let entryBytes = 0;
let sameFields = false;

/** Whether the fields a[from], a[from+2], ... (n of them) are node n's master fields. */
function sameAsMaster(u8: Uint8Array, n: number, a: ArgList, from: number, nf: number): boolean {
  let q = n + NODE_HDR;
  getLen(u8, q);
  if (vLen !== nf) return false;
  q += vSize;
  for (let i = 0; i < nf; i++) {
    getLen(u8, q);
    q += vSize;
    const len = a.len[from + 2 * i]!;
    if (vLen !== len) return false;
    const off = a.off[from + 2 * i]!;
    for (let k = 0; k < len; k++) if (u8[q + k] !== a.buf[off + k]) return false;
    q += len;
  }
  return true;
}

function fieldsBytes(a: ArgList, from: number, nf: number, values: boolean, fields: boolean): number {
  let s = 0;
  for (let i = 0; i < nf; i++) {
    if (fields) s += sizeLen(a.len[from + 2 * i]!) + a.len[from + 2 * i]!;
    if (values) s += valueBytes(a, from + 2 * i + 1);
  }
  return s;
}

/** Appends the entry id with the nf field/value pairs a[from..] to e (id > its last id, checked
 * by the caller); updates length, last id and entries_added. */
export function streamAppend(ks: Keyspace, e: number, id: Readonly<Sid>, a: ArgList, from: number, nf: number): void {
  announceId(ks, e, id);
  announceMeta(ks, e);
  descAppend(arenaOf(ks), descOf(ks, e), ks.limits, id, a, from, nf);
}

/** streamAppend on a descriptor (also for building a stream from its image). */
export function descAppend(arena: Arena, d: number, lim: CollectionLimits, id: Readonly<Sid>, a: ArgList, from: number, nf: number): void {
  const w = d >>> 2;
  let u32 = arena.u32;
  let u8 = arena.u8;
  const nodes = u32[w + D_NODES]!;
  let n = nodes > 0 ? dirNode(u32, w, nodes - 1) : 0;
  if (n !== 0) {
    const nw = n >>> 2;
    sameFields = sameAsMaster(u8, n, a, from, nf);
    entryBytes = entrySize(u32, n, id, a, from, nf);
    const count = u32[nw + N_LIVE]! + u32[nw + N_DELETED]!;
    const used = u32[nw + N_USED]!;
    if ((lim.streamNodeMaxEntries > 0 && count >= lim.streamNodeMaxEntries) || (lim.streamNodeMaxBytes > 0 && used + entryBytes >= lim.streamNodeMaxBytes)) {
      // The node is closed: give back its slack, start a new one.
      const fit = classOf(used);
      if (fit !== u32[nw + N_CLASS]!) reallocNode(arena, w, nodes - 1, n, fit);
      n = 0;
    }
  }
  if (n === 0) {
    // A new node: the entry's fields become its master fields.
    const master = sizeLen(nf) + fieldsBytes(a, from, nf, false, true);
    sameFields = true;
    const need = NODE_HDR + master + 1 + 1 + sizeV64(id[2]!, id[3]!) + fieldsBytes(a, from, nf, true, false);
    const cls = classOf(need);
    n = arena.alloc(cls);
    u32 = arena.u32;
    u8 = arena.u8;
    const nw = n >>> 2;
    writeSid(u32, nw + N_MASTER, id);
    u32[nw + N_LIVE] = 0;
    u32[nw + N_DELETED] = 0;
    u32[nw + N_CLASS] = cls;
    let p = n + NODE_HDR;
    p += putLen(u8, p, nf);
    for (let i = 0; i < nf; i++) p = putBytes(u8, p, a, from + 2 * i);
    u32[nw + N_ESTART] = p - n;
    u32[nw + N_USED] = p - n;
    u32[w + D_BYTES] = u32[w + D_BYTES]! + CLASS_SIZE[cls]!;
    dirPush(arena, d, n);
    u32 = arena.u32;
    entryBytes = entrySize(u32, n, id, a, from, nf);
  }
  let nw = n >>> 2;
  const used = u32[nw + N_USED]!;
  if (used + entryBytes > CLASS_SIZE[u32[nw + N_CLASS]!]!) {
    // Grow by a quarter at least, so appends are amortised O(1).
    const want = Math.max(used + entryBytes, used + (used >>> 2), used + 64);
    const cap = lim.streamNodeMaxBytes > 0 ? Math.max(used + entryBytes, Math.min(want, lim.streamNodeMaxBytes)) : want;
    n = reallocNode(arena, w, u32[w + D_NODES]! - 1, n, classOf(cap));
    u32 = arena.u32;
    nw = n >>> 2;
  }
  u8 = arena.u8;
  let p = n + used;
  u8[p++] = sameFields ? F_SAMEFIELDS : 0;
  // ms delta against the master (64-bit subtraction)
  let dlo = id[1]! - u32[nw + N_MASTER + 1]!;
  let borrow = 0;
  if (dlo < 0) {
    dlo += TWO32;
    borrow = 1;
  }
  const dhi = id[0]! - u32[nw + N_MASTER]! - borrow;
  p += putV64(u8, p, dhi >>> 0, dlo);
  p += putV64(u8, p, id[2]!, id[3]!);
  if (!sameFields) p += putLen(u8, p, nf);
  for (let i = 0; i < nf; i++) {
    if (!sameFields) p = putBytes(u8, p, a, from + 2 * i);
    p = putEntryValue(u8, p, a, from + 2 * i + 1);
  }
  assert(p - n === used + entryBytes, 'stream: entry size mismatch');
  u32[nw + N_USED] = p - n;
  u32[nw + N_LIVE] = u32[nw + N_LIVE]! + 1;
  writeSid(u32, nw + N_LAST, id);
  u32[w + D_LENGTH] = u32[w + D_LENGTH]! + 1;
  writeSid(u32, w + D_LAST, id);
  const lo = u32[w + D_ADDED_LO]! + 1;
  if (lo === TWO32) {
    u32[w + D_ADDED_LO] = 0;
    u32[w + D_ADDED_HI] = u32[w + D_ADDED_HI]! + 1;
  } else u32[w + D_ADDED_LO] = lo;
}

/** Largest integer kept as a number: 15 digits, exact in a double. */
const INT_VALUE_MAX_DIGITS = 15;

/** Argument i as a canonical non-negative integer (no sign, no leading zero), or -1. */
function intValue(a: ArgList, i: number): number {
  const len = a.len[i]!;
  if (len === 0 || len > INT_VALUE_MAX_DIGITS) return -1;
  const off = a.off[i]!;
  if (len > 1 && a.buf[off] === 48) return -1;
  let n = 0;
  for (let k = 0; k < len; k++) {
    const d = a.buf[off + k]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Bytes of value argument i as putEntryValue writes it. */
function valueBytes(a: ArgList, i: number): number {
  const n = intValue(a, i);
  if (n >= 0) return sizeLen(n * 2 + 1);
  const len = a.len[i]!;
  return sizeLen(len * 2) + len;
}

/** Writes value argument i (see readValue) at u8[p]; returns the end. */
function putEntryValue(u8: Uint8Array, p: number, a: ArgList, i: number): number {
  const n = intValue(a, i);
  if (n >= 0) return p + putLen(u8, p, n * 2 + 1);
  const len = a.len[i]!;
  p += putLen(u8, p, len * 2);
  const off = a.off[i]!;
  if (len <= 32) for (let k = 0; k < len; k++) u8[p + k] = a.buf[off + k]!;
  else u8.set(a.buf.subarray(off, off + len), p);
  return p + len;
}

function putBytes(u8: Uint8Array, p: number, a: ArgList, i: number): number {
  const len = a.len[i]!;
  p += putLen(u8, p, len);
  const off = a.off[i]!;
  if (len <= 32) for (let k = 0; k < len; k++) u8[p + k] = a.buf[off + k]!;
  else u8.set(a.buf.subarray(off, off + len), p);
  return p + len;
}

/** Bytes of the entry id with the fields a[from..] in node n (sameFields already decided). */
function entrySize(u32: Uint32Array, n: number, id: Readonly<Sid>, a: ArgList, from: number, nf: number): number {
  const nw = n >>> 2;
  let dlo = id[1]! - u32[nw + N_MASTER + 1]!;
  let borrow = 0;
  if (dlo < 0) {
    dlo += TWO32;
    borrow = 1;
  }
  const dhi = (id[0]! - u32[nw + N_MASTER]! - borrow) >>> 0;
  let s = 1 + sizeV64(dhi, dlo) + sizeV64(id[2]!, id[3]!);
  if (sameFields) return s + fieldsBytes(a, from, nf, true, false);
  return s + sizeLen(nf) + fieldsBytes(a, from, nf, true, true);
}

// ---- Deleting ----

/** Marks the entry at u8[p] of node n (slot i) deleted; frees the node when it has no live entry
 * left (Redis's streamIteratorRemoveEntry). True when the node was freed. */
function markDeleted(arena: Arena, w: number, i: number, n: number, p: number): boolean {
  const u32 = arena.u32;
  const nw = n >>> 2;
  arena.u8[p] = arena.u8[p]! | F_DELETED;
  u32[nw + N_LIVE] = u32[nw + N_LIVE]! - 1;
  u32[nw + N_DELETED] = u32[nw + N_DELETED]! + 1;
  u32[w + D_LENGTH] = u32[w + D_LENGTH]! - 1;
  if (u32[nw + N_LIVE] !== 0) return false;
  freeNode(arena, w, n);
  dirRemove(arena.u32, w, i);
  return true;
}

/** XDEL of one id: true when a live entry was deleted (max_deleted_entry_id follows). */
export function streamDelete(ks: Keyspace, e: number, id: Readonly<Sid>): boolean {
  const arena = arenaOf(ks);
  const d = descOf(ks, e);
  const w = d >>> 2;
  const u32 = arena.u32;
  const i = findNode(u32, w, id);
  if (i < 0) return false;
  const n = dirNode(u32, w, i);
  const u8 = arena.u8;
  const end = n + u32[(n >>> 2) + N_USED]!;
  for (let p = n + u32[(n >>> 2) + N_ESTART]!; p < end; ) {
    const next = parseEntry(u8, u32, n, p, false);
    const c = sidCmp(itId, id);
    if (c > 0) return false;
    if (c === 0) {
      if ((eFlags & F_DELETED) !== 0) return false;
      announceId(ks, e, id);
      announceMeta(ks, e);
      markDeleted(arena, w, i, n, p);
      const u = arena.u32;
      if (sidCmp(id, maxDelScratch(u, w)) > 0) writeSid(u, w + D_MAXDEL, id);
      return true;
    }
    p = next;
  }
  return false;
}

// ---- Change announcements (the log records the resulting state of each; see docs/streams.md) ----

/** An entry's element name in the log: its id, 16 bytes big-endian. */
const idBytes = new Uint8Array(16);
/** The metadata's element name (last id, entries_added, max deleted id): empty. */
const META_NAME = new Uint8Array(0);
export const ELEMENT_META_BYTES = 40;

function announceId(ks: Keyspace, e: number, id: Readonly<Sid>): void {
  sidToBytes(id, idBytes, 0);
  ks.elementChanging(e, idBytes, 0, 16);
}

function announceMeta(ks: Keyspace, e: number): void {
  ks.elementChanging(e, META_NAME, 0, 0);
}

/** Announces every live entry of node n (about to be freed whole). */
function announceNode(ks: Keyspace, e: number, arena: Arena, n: number): void {
  const u32 = arena.u32;
  const end = n + u32[(n >>> 2) + N_USED]!;
  for (let p = n + u32[(n >>> 2) + N_ESTART]!; p < end; ) {
    p = parseEntry(arena.u8, u32, n, p, false);
    if ((eFlags & F_DELETED) === 0) announceId(ks, e, itId);
  }
}

/** The log's state of element name[off, +len) of e (see announceId/announceMeta): true when
 * present, its bytes then in elemBuf[0, elemLen): the metadata (40 bytes) or the entry's fields
 * ([field count varint][varint length + bytes] per field and value). */
export let elemBuf: Uint8Array = new Uint8Array(256);
export let elemLen = 0;
const elemId = sid();

export function streamElementState(ks: Keyspace, e: number, name: Uint8Array, off: number, len: number): boolean {
  const arena = arenaOf(ks);
  if (len === 0) {
    const u32 = arena.u32;
    const w = descOf(ks, e) >>> 2;
    readSid(u32, w + D_LAST, elemId);
    sidToBytes(elemId, elemBuf, 0);
    // entries_added as two big-endian words, as the ids.
    sidSet(elemId, u32[w + D_ADDED_HI]!, u32[w + D_ADDED_LO]!, 0, 0);
    sidToBytes(elemId, elemBuf, 16);
    readSid(u32, w + D_MAXDEL, elemId);
    sidToBytes(elemId, elemBuf, 24);
    elemLen = ELEMENT_META_BYTES;
    return true;
  }
  if (len !== 16) return false;
  readIdBytes(name, off, elemId);
  if (!streamHas(ks, e, elemId)) return false;
  let size = sizeLen(itFields);
  for (let i = 0; i < itFields; i++) size += sizeLen(spanFLen[i]!) + spanFLen[i]! + sizeLen(spanVLen[i]!) + spanVLen[i]!;
  if (elemBuf.length < size) elemBuf = new Uint8Array(Math.max(size, elemBuf.length * 2));
  const b = elemBuf;
  const u8 = arena.u8;
  let q = putLen(b, 0, itFields);
  for (let i = 0; i < itFields; i++) {
    q += putLen(b, q, spanFLen[i]!);
    b.set(u8.subarray(spanFOff[i]!, spanFOff[i]! + spanFLen[i]!), q);
    q += spanFLen[i]!;
    const vb = spanVInt[i] === 1 ? intText : u8;
    q += putLen(b, q, spanVLen[i]!);
    b.set(vb.subarray(spanVOff[i]!, spanVOff[i]! + spanVLen[i]!), q);
    q += spanVLen[i]!;
  }
  elemLen = q;
  return true;
}

function readIdBytes(src: Uint8Array, off: number, dst: Sid): void {
  for (let w = 0; w < 4; w++) {
    const o = off + w * 4;
    dst[w] = ((src[o]! << 24) | (src[o + 1]! << 16) | (src[o + 2]! << 8) | src[o + 3]!) >>> 0;
  }
}

const applyArgs: ArgList = { buf: new Uint8Array(0), off: new Int32Array(16), len: new Int32Array(16), argc: 0 };

/** Replays elements of a log record on e: an entry present is appended when its id is past the
 * last id (a record replayed over a state that holds it already is skipped), an entry absent is
 * deleted; the metadata goes last (applyMeta). False when an element is malformed. */
export function streamApplyElement(ks: Keyspace, e: number, present: boolean, b: Uint8Array, fo: number, fl: number, vo: number, vl: number): boolean {
  if (fl === 0) return vl === ELEMENT_META_BYTES;
  if (fl !== 16) return false;
  readIdBytes(b, fo, elemId);
  const arena = arenaOf(ks);
  const d = descOf(ks, e);
  if (!present) {
    streamDelete(ks, e, elemId);
    return true;
  }
  readSid(arena.u32, (d >>> 2) + D_LAST, scratchId);
  if (sidCmp(elemId, scratchId) <= 0) return true;
  const end = vo + vl;
  let p = vo;
  getLen(b, p);
  const nf = vLen;
  p += vSize;
  const a = applyArgs;
  if (a.off.length < 2 * nf) {
    a.off = new Int32Array(4 * nf);
    a.len = new Int32Array(4 * nf);
  }
  for (let i = 0; i < 2 * nf; i++) {
    if (p >= end) return false;
    getLen(b, p);
    p += vSize;
    a.off[i] = p;
    a.len[i] = vLen;
    p += vLen;
  }
  if (p !== end || nf === 0) return false;
  a.buf = b;
  a.argc = 2 * nf;
  announceId(ks, e, elemId);
  descAppend(arena, d, ks.limits, elemId, a, 0, nf);
  a.buf = new Uint8Array(0);
  return true;
}

/** Replays the metadata element b[vo, +40). */
export function streamApplyMeta(ks: Keyspace, e: number, b: Uint8Array, vo: number): void {
  const arena = arenaOf(ks);
  const d = descOf(ks, e);
  readIdBytes(b, vo, elemId);
  readIdBytes(b, vo + 24, scratchId);
  const hi = ((b[vo + 16]! << 24) | (b[vo + 17]! << 16) | (b[vo + 18]! << 8) | b[vo + 19]!) >>> 0;
  const lo = ((b[vo + 20]! << 24) | (b[vo + 21]! << 16) | (b[vo + 22]! << 8) | b[vo + 23]!) >>> 0;
  announceMeta(ks, e);
  descSetMeta(arena, d, elemId, hi * TWO32 + lo, scratchId);
}

const scratchId = sid();
const scratchTrim = sid();
function maxDelScratch(u32: Uint32Array, w: number): Sid {
  readSid(u32, w + D_MAXDEL, scratchId);
  return scratchId;
}

export const TRIM_MAXLEN = 1;
export const TRIM_MINID = 2;

/** Redis's streamTrim: removes entries from the start while the stream is longer than maxlen
 * (TRIM_MAXLEN) or older than minid (TRIM_MINID). approx: whole nodes only; limit (0 = none):
 * stop before removing more entries than that. Returns the number removed. */
export function streamTrim(ks: Keyspace, e: number, strategy: number, maxlen: number, minid: Readonly<Sid>, approx: boolean, limit: number): number {
  const arena = arenaOf(ks);
  const d = descOf(ks, e);
  const w = d >>> 2;
  let deleted = 0;
  // Trimming leaves max_deleted_entry_id alone, but replaying its deletes would not: the log
  // records the metadata too.
  let metaAnnounced = false;
  for (;;) {
    const u32 = arena.u32;
    if (u32[w + D_NODES] === 0) break;
    if (strategy === TRIM_MAXLEN && u32[w + D_LENGTH]! <= maxlen) break;
    const n = dirNode(u32, w, 0);
    const nw = n >>> 2;
    const entries = u32[nw + N_LIVE]!;
    if (limit > 0 && deleted + entries > limit) break;
    let removeNode: boolean;
    if (strategy === TRIM_MAXLEN) removeNode = u32[w + D_LENGTH]! - entries >= maxlen;
    else {
      readSid(u32, nw + N_LAST, scratchId);
      removeNode = sidCmp(scratchId, minid) < 0;
    }
    if (removeNode) {
      if (!metaAnnounced) {
        announceMeta(ks, e);
        metaAnnounced = true;
      }
      announceNode(ks, e, arena, n);
      freeNode(arena, w, n);
      dirRemove(arena.u32, w, 0);
      const v = arena.u32;
      v[w + D_LENGTH] = v[w + D_LENGTH]! - entries;
      deleted += entries;
      continue;
    }
    if (approx) break;
    // Exact: mark entries of this node deleted (the node stays, as Redis leaves it).
    const u8 = arena.u8;
    const end = n + u32[nw + N_USED]!;
    for (let p = n + u32[nw + N_ESTART]!; p < end; ) {
      const next = parseEntry(u8, u32, n, p, false);
      const stop = strategy === TRIM_MAXLEN ? u32[w + D_LENGTH]! <= maxlen : sidCmp(itId, minid) >= 0;
      if (stop) break;
      const flags = eFlags;
      if ((flags & F_DELETED) === 0) {
        // Announcing may write the stream's image (a snapshot's copy on write), which moves the
        // parse registers: the entry's id and flags are kept here.
        sidCopy(scratchTrim, itId);
        if (!metaAnnounced) {
          announceMeta(ks, e);
          metaAnnounced = true;
        }
        announceId(ks, e, scratchTrim);
        u8[p] = flags | F_DELETED;
        u32[nw + N_LIVE] = u32[nw + N_LIVE]! - 1;
        u32[nw + N_DELETED] = u32[nw + N_DELETED]! + 1;
        u32[w + D_LENGTH] = u32[w + D_LENGTH]! - 1;
        deleted++;
      }
      p = next;
    }
    break;
  }
  return deleted;
}

// ---- Introspection ----

/** Bytes held outside the entry: descriptor, directory and nodes (groups excluded). */
export function streamBytes(arena: Arena, d: number): number {
  return STREAM_DESC_BYTES + arena.u32[(d >>> 2) + D_BYTES]!;
}


/** Nodes of Redis's rax holding the node keys (16-byte big-endian master ids), as XINFO STREAM's
 * radix-tree-nodes reports: the canonical compressed trie over the sorted keys. O(nodes). */
export function streamRaxNodes(ks: Keyspace, e: number): number {
  const arena = arenaOf(ks);
  const d = descOf(ks, e);
  const u32 = arena.u32;
  const w = d >>> 2;
  const nodes = u32[w + D_NODES]!;
  if (nodes === 0) return 1;
  return raxCount(u32, w, 0, nodes, 0);
}

function masterByte(u32: Uint32Array, w: number, i: number, at: number): number {
  const word = u32[(dirNode(u32, w, i) >>> 2) + N_MASTER + (at >>> 2)]!;
  return (word >>> (24 - 8 * (at & 3))) & 0xff;
}

/** Rax nodes of the keys of directory slots [from, to) below the prefix of length depth. */
function raxCount(u32: Uint32Array, w: number, from: number, to: number, depth: number): number {
  if (to - from === 1) return depth === 16 ? 1 : 2;
  // Longest common prefix beyond depth: keys are sorted, so that of the first and last.
  let l = depth;
  while (l < 16 && masterByte(u32, w, from, l) === masterByte(u32, w, to - 1, l)) l++;
  let count = l > depth ? 1 : 0; // a compressed node for the shared part
  count += 1; // the branching node at l
  let i = from;
  while (i < to) {
    const b = masterByte(u32, w, i, l);
    let j = i + 1;
    while (j < to && masterByte(u32, w, j, l) === b) j++;
    count += raxCount(u32, w, i, j, l + 1);
    i = j;
  }
  return count;
}

// ---- Release, image, store (the ValueKind's work) ----

/** Frees up to budget entries' worth of nodes of descriptor d from the end; true when all of it
 * (directory, descriptor) is freed. The groups block is freed by the caller first. */
export function streamDestroyStep(arena: Arena, d: number, budget: number): boolean {
  const w = d >>> 2;
  let u32 = arena.u32;
  while (u32[w + D_NODES]! > 0 && budget > 0) {
    const i = u32[w + D_NODES]! - 1;
    const n = dirNode(u32, w, i);
    budget -= u32[(n >>> 2) + N_LIVE]! + u32[(n >>> 2) + N_DELETED]!;
    freeNode(arena, w, n);
    u32 = arena.u32;
    u32[w + D_NODES] = i;
  }
  if (u32[w + D_NODES]! > 0) return false;
  if (u32[w + D_DIR] !== 0) arena.free(u32[w + D_DIR]!, classOf(u32[w + D_DIR_CAP]! * 4));
  arena.free(d, DESC_CLASS);
  return true;
}

export function descLength(arena: Arena, d: number): number {
  return arena.u32[(d >>> 2) + D_LENGTH]!;
}

export function descGroups(arena: Arena, d: number): number {
  return arena.u32[(d >>> 2) + D_GROUPS]!;
}

export function descSetGroups(arena: Arena, d: number, block: number): void {
  arena.u32[(d >>> 2) + D_GROUPS] = block;
}

/** Sets the last id, entries_added and max deleted id of descriptor d. */
export function descSetMeta(arena: Arena, d: number, last: Readonly<Sid>, entriesAdded: number, maxDeleted: Readonly<Sid>): void {
  const u32 = arena.u32;
  const w = d >>> 2;
  writeSid(u32, w + D_LAST, last);
  u32[w + D_ADDED_HI] = Math.floor(entriesAdded / TWO32);
  u32[w + D_ADDED_LO] = entriesAdded >>> 0;
  writeSid(u32, w + D_MAXDEL, maxDeleted);
}

/** Descriptor of a stream value's bytes. */
export function valueDesc(u8: Uint8Array, vo: number): number {
  return (u8[vo + 1]! | (u8[vo + 2]! << 8) | (u8[vo + 3]! << 16) | (u8[vo + 4]! << 24)) >>> 0;
}

/** Visits every live entry of descriptor d in order (image writing): the visitor gets the parsed
 * current entry (itId, itFields, spans). */
export function descForEach(arena: Arena, d: number, visit: () => void): void {
  const u32 = arena.u32;
  const w = d >>> 2;
  const nodes = u32[w + D_NODES]!;
  itArena = arena;
  for (let i = 0; i < nodes; i++) {
    const n = dirNode(arena.u32, w, i);
    const u8 = arena.u8;
    const end = n + arena.u32[(n >>> 2) + N_USED]!;
    for (let p = n + arena.u32[(n >>> 2) + N_ESTART]!; p < end; ) {
      p = parseEntry(u8, arena.u32, n, p, true);
      if ((eFlags & F_DELETED) === 0) visit();
    }
  }
}


/** Header words of the image: last id, entries_added, max deleted id. */
export function descMeta(arena: Arena, d: number, last: Sid, maxDel: Sid): number {
  const u32 = arena.u32;
  const w = d >>> 2;
  readSid(u32, w + D_LAST, last);
  readSid(u32, w + D_MAXDEL, maxDel);
  return u32[w + D_ADDED_HI]! * TWO32 + u32[w + D_ADDED_LO]!;
}

/** A new empty descriptor (store from an image). */
export function descCreate(arena: Arena): number {
  const d = arena.alloc(DESC_CLASS);
  arena.u32.fill(0, d >>> 2, (d >>> 2) + DESC_WORDS);
  return d;
}

/** Writes the value [ENC_STREAM][d] at u8[vo]. */
export function putValue(u8: Uint8Array, vo: number, d: number): void {
  u8[vo] = ENC_STREAM;
  u8[vo + 1] = d & 0xff;
  u8[vo + 2] = (d >>> 8) & 0xff;
  u8[vo + 3] = (d >>> 16) & 0xff;
  u8[vo + 4] = d >>> 24;
}

export { sidIsZero };

/** Checks the invariants of e's stream (header comment); throws on the first broken one. O(n):
 * for tests and debugging. */
export function streamCheck(ks: Keyspace, e: number): void {
  const arena = arenaOf(ks);
  const d = descOf(ks, e);
  const w = d >>> 2;
  const u32 = arena.u32;
  const u8 = arena.u8;
  const nodes = u32[w + D_NODES]!;
  const prevId = sid();
  let length = 0;
  let bytes = u32[w + D_DIR] !== 0 ? CLASS_SIZE[classOf(u32[w + D_DIR_CAP]! * 4)]! : 0;
  let first = true;
  let seen = false;
  for (let i = 0; i < nodes; i++) {
    const n = dirNode(u32, w, i);
    const nw = n >>> 2;
    bytes += CLASS_SIZE[u32[nw + N_CLASS]!]!;
    assert(u32[nw + N_USED]! <= CLASS_SIZE[u32[nw + N_CLASS]!]!, 'stream check: node overflows its block');
    let live = 0;
    let dead = 0;
    const end = n + u32[nw + N_USED]!;
    let p = n + u32[nw + N_ESTART]!;
    assert(p < end, 'stream check: empty node');
    readSid(u32, nw + N_MASTER, scratchId);
    while (p < end) {
      p = parseEntry(u8, u32, n, p, false);
      if (first) assert(sidCmp(itId, scratchId) === 0, 'stream check: first entry is not the master id');
      first = false;
      if (seen) assert(sidCmp(itId, prevId) > 0, 'stream check: ids not increasing');
      seen = true;
      sidCopy(prevId, itId);
      if ((eFlags & F_DELETED) !== 0) dead++;
      else live++;
    }
    first = true;
    assert(p === end, 'stream check: entries overrun the node');
    readSid(u32, nw + N_LAST, scratchId);
    assert(sidCmp(scratchId, itId) === 0, 'stream check: node last id');
    assert(live === u32[nw + N_LIVE] && dead === u32[nw + N_DELETED], 'stream check: node counts');
    length += live;
  }
  assert(length === u32[w + D_LENGTH], () => `stream check: length ${u32[w + D_LENGTH]} but ${length} live entries`);
  assert(bytes === u32[w + D_BYTES], () => `stream check: bytes ${u32[w + D_BYTES]} but blocks sum to ${bytes}`);
  readSid(u32, w + D_LAST, scratchId);
  if (nodes > 0) assert(sidCmp(scratchId, prevId) >= 0, 'stream check: an entry past the last id');
}
