// List operations, whatever the encoding (see list-kind.ts): a small list is a run of entries in
// its own entry (ENC_PACK, 'listpack'), a large one a quicklist (ENC_QUICKLIST). As Redis 7.2, a
// listpack becomes a quicklist when a change would pass list-max-listpack-size, and a quicklist
// that shrinks to one node of at most half the limit becomes a listpack again.
// Handles move: every mutating call returns the entry's (maybe new) handle. Results that are bytes
// are left in the live exports hitBuf/hitOff/hitLen (valid until the next call into this module).
// A function never deletes a key it empties: the command does (ks.deleteEntry), as Redis.
// Every change tells the keyspace's observer first (resizeValue or bumpCas), so the log, the
// replication feed and a running snapshot see it.
import type { Keyspace } from './keyspace.js';
import { TYPE_LIST } from './value-types.js';
import { copyInto, elLen, elOff, entryAt, entryEquals, entrySize, prevEntry, putEntry, readEntry, runError, skip } from './list-pack.js';
import type { ListKind } from './list-kind.js';
import { QUICKLIST_VALUE_BYTES } from './list-kind.js';
import { ENC_PACK, ENC_QUICKLIST, PACK_HEADER, readU32, writeU32 } from './pack.js';
import * as Q from './quicklist.js';
import { nodeExceeds, smallEnoughToPack, type Quicklist } from './quicklist.js';

export let hitBuf: Uint8Array = new Uint8Array(0);
export let hitOff = 0;
export let hitLen = 0;
/** listRemove: elements removed; listInsert: the new length, or -1 when the pivot was not found. */
export let count = 0;
export const HEAD = 0;
export const TAIL = 1;

/** Elements given from the arena itself (an element read from another list) are copied here
 * first: a resize may move the bytes they point at. */
let argScratch = Buffer.allocUnsafe(256);
let popScratch = Buffer.allocUnsafe(256);

function quicklistOf(ks: Keyspace): Quicklist {
  return (ks.kindOf(TYPE_LIST) as ListKind).ql;
}

/** buf, or a copy of buf[off, +len) at argOff when it lies in ks's arena. */
function stable(ks: Keyspace, buf: Uint8Array, off: number, len: number): Uint8Array {
  argOff = off;
  if (buf.buffer !== ks.memory) return buf;
  if (argScratch.length < len) argScratch = Buffer.allocUnsafe(Math.max(len, argScratch.length * 2));
  copyInto(buf, off, argScratch, 0, len);
  argOff = 0;
  return argScratch;
}
let argOff = 0;

/** Creates key as an empty list (ENC_PACK) and returns its handle; the caller pushes at once. */
export function listCreate(ks: Keyspace, kb: Uint8Array, ko: number, kl: number): number {
  const e = ks.set(kb, ko, kl, null, 0, PACK_HEADER, TYPE_LIST, 0);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  u8[vo] = ENC_PACK;
  writeU32(u8, vo + 1, 0);
  return e;
}

export function listLength(ks: Keyspace, e: number): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const v = readU32(u8, vo + 1);
  return u8[vo] === ENC_QUICKLIST ? quicklistOf(ks).count(v) : v;
}

function isPack(ks: Keyspace, e: number): boolean {
  return ks.bytes()[ks.valueOffset(e)] === ENC_PACK;
}

function descriptor(ks: Keyspace, e: number): number {
  return readU32(ks.bytes(), ks.valueOffset(e) + 1);
}

/** Turns e's listpack into a quicklist of one node holding its run (none when empty). */
function toQuicklist(ks: Keyspace, e: number): number {
  const ql = quicklistOf(ks);
  const d = ql.create(ks.limits.listMaxListpackSize, ks.limits.listCompressDepth);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const n = readU32(u8, vo + 1);
  if (n > 0) ql.appendRun(d, u8, vo + PACK_HEADER, vo + ks.valueLength(e), n);
  e = ks.resizeValue(e, QUICKLIST_VALUE_BYTES);
  const b = ks.bytes();
  const o = ks.valueOffset(e);
  b[o] = ENC_QUICKLIST;
  writeU32(b, o + 1, d);
  return e;
}

/** After a shrinking change: a quicklist of one node at most half the limit becomes a listpack
 * (Redis 7.2's listTypeTryConvertQuicklist). */
function maybeToPack(ks: Keyspace, e: number): number {
  const ql = quicklistOf(ks);
  const d = descriptor(ks, e);
  if (ql.nodes(d) !== 1) return e;
  const n = ql.head(d);
  const c = ql.count(d);
  if (!smallEnoughToPack(ks.limits.listMaxListpackSize, ql.runBytes(n), c)) return e;
  ql.view(n);
  const runLen = Q.runEnd - Q.runStart;
  e = ks.resizeValue(e, PACK_HEADER + runLen);
  // view() again: the resize may have grown the arena (an inflated run lives outside it).
  ql.view(n);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  copyInto(Q.runBuf, Q.runStart, u8, vo + PACK_HEADER, runLen);
  u8[vo] = ENC_PACK;
  writeU32(u8, vo + 1, c);
  ql.destroyStep(d, Infinity);
  return e;
}

/** Whether a listpack of `bytes` run bytes and `n` elements passes the limit. */
function packExceeds(ks: Keyspace, bytes: number, n: number): boolean {
  return nodeExceeds(ks.limits.listMaxListpackSize, bytes, n);
}

/** Pushes one element at HEAD or TAIL; converts to a quicklist past the limits. Returns the handle. */
export function listPush(ks: Keyspace, e: number, where: 0 | 1, buf: Uint8Array, off: number, len: number): number {
  buf = stable(ks, buf, off, len);
  off = argOff;
  if (isPack(ks, e)) {
    const vl = ks.valueLength(e);
    const n = readU32(ks.bytes(), ks.valueOffset(e) + 1);
    const sz = entrySize(len);
    if (!packExceeds(ks, vl - PACK_HEADER + sz, n + 1)) {
      e = ks.resizeValue(e, vl + sz);
      const u8 = ks.bytes();
      const vo = ks.valueOffset(e);
      let at = vo + vl;
      if (where === HEAD) {
        at = vo + PACK_HEADER;
        u8.copyWithin(at + sz, at, vo + vl);
      }
      putEntry(u8, at, buf, off, len);
      writeU32(u8, vo + 1, n + 1);
      return e;
    }
    e = toQuicklist(ks, e);
  } else {
    ks.bumpCas(e);
  }
  quicklistOf(ks).push(descriptor(ks, e), where, buf, off, len);
  return e;
}

/** Pops one element (the list must not be empty) into hitBuf/hitOff/hitLen (a copy, valid until
 * the next call of this module). Returns the handle. */
export function listPop(ks: Keyspace, e: number, where: 0 | 1): number {
  if (!isPack(ks, e)) {
    ks.bumpCas(e);
    const ql = quicklistOf(ks);
    ql.pop(descriptor(ks, e), where);
    hitBuf = Q.hitBuf;
    hitOff = Q.hitOff;
    hitLen = Q.hitLen;
    return maybeToPack(ks, e);
  }
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const vl = ks.valueLength(e);
  const n = readU32(u8, vo + 1);
  const p = where === HEAD ? vo + PACK_HEADER : prevEntry(u8, vo + vl);
  const q = readEntry(u8, p);
  if (popScratch.length < elLen) popScratch = Buffer.allocUnsafe(Math.max(elLen, popScratch.length * 2));
  copyInto(u8, elOff, popScratch, 0, elLen);
  hitBuf = popScratch;
  hitOff = 0;
  hitLen = elLen;
  return cut(ks, e, p - vo, q - p, n - 1);
}

/** Removes `size` bytes at value offset rel of e's listpack and sets its count; returns e. */
function cut(ks: Keyspace, e: number, rel: number, size: number, n: number): number {
  ks.bumpCas(e);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const vl = ks.valueLength(e);
  u8.copyWithin(vo + rel, vo + rel + size, vo + vl);
  writeU32(u8, vo + 1, n);
  return ks.resizeValue(e, vl - size);
}

/** Normalized index (negative counts from the tail), or -1 when out of range. */
function normalize(index: number, n: number): number {
  const i = index < 0 ? n + index : index;
  return i >= 0 && i < n ? i : -1;
}

/** Element at index (negative counts from the tail): true and hit* when in range. */
export function listIndex(ks: Keyspace, e: number, index: number): boolean {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_PACK) {
    const ql = quicklistOf(ks);
    const d = readU32(u8, vo + 1);
    const i = normalize(index, ql.count(d));
    if (i < 0) return false;
    ql.get(d, i);
    hitBuf = Q.hitBuf;
    hitOff = Q.hitOff;
    hitLen = Q.hitLen;
    return true;
  }
  const n = readU32(u8, vo + 1);
  const i = normalize(index, n);
  if (i < 0) return false;
  readEntry(u8, entryAt(u8, vo + PACK_HEADER, vo + ks.valueLength(e), n, i));
  hitBuf = u8;
  hitOff = elOff;
  hitLen = elLen;
  return true;
}

/** Replaces the element at index; returns the handle, or -1 when out of range (nothing changed). */
export function listSet(ks: Keyspace, e: number, index: number, buf: Uint8Array, off: number, len: number): number {
  const n = listLength(ks, e);
  const i = normalize(index, n);
  if (i < 0) return -1;
  buf = stable(ks, buf, off, len);
  off = argOff;
  if (isPack(ks, e)) {
    const u8 = ks.bytes();
    const vo = ks.valueOffset(e);
    const vl = ks.valueLength(e);
    const p = entryAt(u8, vo + PACK_HEADER, vo + vl, n, i);
    const old = skip(u8, p) - p;
    const sz = entrySize(len);
    if (!packExceeds(ks, vl - PACK_HEADER - old + sz, n)) {
      const rel = p - vo;
      if (sz === old) {
        ks.bumpCas(e);
      } else if (sz > old) {
        e = ks.resizeValue(e, vl + sz - old);
        const b = ks.bytes();
        const o = ks.valueOffset(e);
        b.copyWithin(o + rel + sz, o + rel + old, o + vl);
      } else {
        ks.bumpCas(e);
        const b = ks.bytes();
        b.copyWithin(vo + rel + sz, vo + rel + old, vo + vl);
        e = ks.resizeValue(e, vl + sz - old);
      }
      putEntry(ks.bytes(), ks.valueOffset(e) + rel, buf, off, len);
      return e;
    }
    e = toQuicklist(ks, e);
  } else {
    ks.bumpCas(e);
  }
  quicklistOf(ks).set(descriptor(ks, e), i, buf, off, len);
  return maybeToPack(ks, e);
}

/** Index of the first element equal to buf[off, +len), or -1. */
function indexOf(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_PACK) {
    const end = vo + ks.valueLength(e);
    let i = 0;
    for (let p = vo + PACK_HEADER; p < end; p = skip(u8, p), i++) if (entryEquals(u8, p, buf, off, len)) return i;
    return -1;
  }
  const ql = quicklistOf(ks);
  let base = 0;
  for (let n = ql.head(readU32(u8, vo + 1)); n !== 0; n = ql.next(n)) {
    ql.view(n);
    let i = base;
    for (let p = Q.runStart; p < Q.runEnd; p = skip(Q.runBuf, p), i++) if (entryEquals(Q.runBuf, p, buf, off, len)) return i;
    base += ql.nodeCount(n);
  }
  return -1;
}

/** Inserts elem before (or after) the first element equal to pivot; count = new length or -1. */
export function listInsert(ks: Keyspace, e: number, after: boolean, pb: Uint8Array, po: number, pl: number, buf: Uint8Array, off: number, len: number): number {
  const at = indexOf(ks, e, pb, po, pl);
  if (at < 0) {
    count = -1;
    return e;
  }
  buf = stable(ks, buf, off, len);
  off = argOff;
  const i = after ? at + 1 : at;
  const n = listLength(ks, e);
  count = n + 1;
  if (isPack(ks, e)) {
    const vl = ks.valueLength(e);
    const sz = entrySize(len);
    if (!packExceeds(ks, vl - PACK_HEADER + sz, n + 1)) {
      const u8 = ks.bytes();
      const vo = ks.valueOffset(e);
      const rel = (i === n ? vo + vl : entryAt(u8, vo + PACK_HEADER, vo + vl, n, i)) - vo;
      e = ks.resizeValue(e, vl + sz);
      const b = ks.bytes();
      const o = ks.valueOffset(e);
      b.copyWithin(o + rel + sz, o + rel, o + vl);
      putEntry(b, o + rel, buf, off, len);
      writeU32(b, o + 1, n + 1);
      return e;
    }
    e = toQuicklist(ks, e);
  } else {
    ks.bumpCas(e);
  }
  quicklistOf(ks).insert(descriptor(ks, e), i, buf, off, len);
  return e;
}

/** LREM semantics (n > 0 from head, < 0 from tail, 0 all); `count` = how many were removed. */
export function listRemove(ks: Keyspace, e: number, n: number, buf: Uint8Array, off: number, len: number): number {
  count = 0;
  if (indexOf(ks, e, buf, off, len) < 0) return e;
  buf = stable(ks, buf, off, len);
  off = argOff;
  const max = Math.abs(n);
  if (!isPack(ks, e)) {
    ks.bumpCas(e);
    count = quicklistOf(ks).removeMatching(descriptor(ks, e), max, n < 0, buf, off, len);
    return maybeToPack(ks, e);
  }
  ks.bumpCas(e);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const vl = ks.valueLength(e);
  const s = vo + PACK_HEADER;
  const end = vo + vl;
  let removed = 0;
  let newStart = s;
  let newEnd = end;
  if (n >= 0) {
    let out = s;
    for (let p = s; p < end; ) {
      const q = skip(u8, p);
      if ((max === 0 || removed < max) && entryEquals(u8, p, buf, off, len)) removed++;
      else {
        if (out !== p) u8.copyWithin(out, p, q);
        out += q - p;
      }
      p = q;
    }
    newEnd = out;
  } else {
    let out = end;
    for (let q = end; q > s; ) {
      const p = prevEntry(u8, q);
      if (removed < max && entryEquals(u8, p, buf, off, len)) removed++;
      else {
        out -= q - p;
        if (out !== p) u8.copyWithin(out, p, q);
      }
      q = p;
    }
    newStart = out;
    u8.copyWithin(s, newStart, end);
    newEnd = s + (end - newStart);
  }
  writeU32(u8, vo + 1, readU32(u8, vo + 1) - removed);
  count = removed;
  return ks.resizeValue(e, newEnd - vo);
}

/** Keeps only [start, stop] (normalized: 0 <= start <= stop < length). Returns the handle. */
export function listTrim(ks: Keyspace, e: number, start: number, stop: number): number {
  const n = listLength(ks, e);
  if (start === 0 && stop === n - 1) return e;
  ks.bumpCas(e);
  if (!isPack(ks, e)) {
    const ql = quicklistOf(ks);
    const d = descriptor(ks, e);
    ql.removeEnd(d, 1, n - 1 - stop);
    ql.removeEnd(d, 0, start);
    return maybeToPack(ks, e);
  }
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const vl = ks.valueLength(e);
  const a = entryAt(u8, vo + PACK_HEADER, vo + vl, n, start);
  const z = stop + 1 === n ? vo + vl : entryAt(u8, vo + PACK_HEADER, vo + vl, n, stop + 1);
  u8.copyWithin(vo + PACK_HEADER, a, z);
  writeU32(u8, vo + 1, stop - start + 1);
  return ks.resizeValue(e, PACK_HEADER + (z - a));
}

/** Visits elements start..stop (normalized, inclusive) from head to tail, or from stop down to
 * start when reverse; the visitor returns false to stop. It must not change the keyspace. */
export function listRange(ks: Keyspace, e: number, start: number, stop: number, reverse: boolean,
  visit: (buf: Uint8Array, off: number, len: number, index: number) => boolean): void {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] !== ENC_PACK) {
    quicklistOf(ks).range(readU32(u8, vo + 1), start, stop, reverse, visit);
    return;
  }
  const n = readU32(u8, vo + 1);
  const s = vo + PACK_HEADER;
  const end = vo + ks.valueLength(e);
  if (!reverse) {
    let p = entryAt(u8, s, end, n, start);
    for (let i = start; i <= stop; i++) {
      p = readEntry(u8, p);
      if (!visit(u8, elOff, elLen, i)) return;
    }
    return;
  }
  let q = stop + 1 === n ? end : entryAt(u8, s, end, n, stop + 1);
  for (let i = stop; i >= start; i--) {
    const p = prevEntry(u8, q);
    readEntry(u8, p);
    if (!visit(u8, elOff, elLen, i)) return;
    q = p;
  }
}

/** OBJECT ENCODING name: 'listpack' (small, as Redis 7.2) or 'quicklist'. */
export function listEncodingName(ks: Keyspace, e: number): string {
  return isPack(ks, e) ? 'listpack' : 'quicklist';
}

/** Checks e's list structure (tests): the quicklist's chain, or the listpack's run. */
export function listCheck(ks: Keyspace, e: number): void {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  if (u8[vo] === ENC_QUICKLIST) {
    quicklistOf(ks).check(readU32(u8, vo + 1));
    return;
  }
  const err = runErrorOf(u8, vo, ks.valueLength(e));
  if (err !== null) throw new Error(`list: ${err}`);
}

function runErrorOf(u8: Uint8Array, vo: number, vl: number): string | null {
  if (u8[vo] !== ENC_PACK) return `encoding ${u8[vo]}`;
  return runError(u8, vo + PACK_HEADER, vo + vl, readU32(u8, vo + 1));
}
