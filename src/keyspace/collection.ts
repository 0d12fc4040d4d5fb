// Element operations on hashes and sets, whatever their encoding (PACK, INTSET, TABLE; see
// pack.ts and element-table.ts), with Redis's conversions at the configured limits. A hash element
// is a field and its value, a set element a member. Handles move: every mutating call returns
// the entry's (maybe new) handle. Lookups leave their result in module variables (hitOff, hitLen:
// the value of the element found, in ks.bytes()) so that a read allocates nothing.
// Every change notifies the keyspace's observer: a compact value through resizeValue/bumpCas (the
// whole value is small), a large one per element (elementChanging), so that the log records a
// delta.
import { TYPE_HASH, type Keyspace, type ValueType } from './keyspace.js';
import {
  ENC_INTSET, ENC_PACK, ENC_TABLE, INTSET_HEADER, intsetGet, intsetPut, intsetSearch, PACK_HEADER, packFind,
  parseIntMember, putVarint, readU32, skipEntry, TABLE_VALUE_BYTES, varint, varintSize, vlen, vsize, widthFor, writeU32,
} from './pack.js';

/** Value of the element the last elementFind/elementAt found, in ks.bytes() (or in intDigits). */
export let hitOff = 0;
export let hitLen = 0;
/** Key bytes of the element elementAt/randomElement found: in hitKeyBuf at hitKeyOff, hitKeyLen. */
export let hitKeyBuf: Uint8Array = new Uint8Array(0);
export let hitKeyOff = 0;
export let hitKeyLen = 0;
/** Whether the last elementPut added a new element (else it replaced a value). */
export let added = false;

/** Decimal digits of an intset member being visited. */
const intDigits = Buffer.allocUnsafe(24);

function partsOf(type: number): 1 | 2 {
  return type === TYPE_HASH ? 2 : 1;
}

/** A new key holding an empty collection of type in encoding enc (PACK or INTSET). */
export function createCollection(ks: Keyspace, kb: Uint8Array, ko: number, kl: number, type: ValueType, enc: number, expireAt = 0): number {
  const hdr = enc === ENC_INTSET ? INTSET_HEADER : PACK_HEADER;
  const e = ks.set(kb, ko, kl, null, 0, hdr, type, expireAt);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  u8[vo] = enc;
  if (enc === ENC_INTSET) {
    u8[vo + 1] = 2;
    writeU32(u8, vo + 2, 0);
  } else {
    writeU32(u8, vo + 1, 0);
  }
  return e;
}

/** The encoding a new set should start in for its first member (Redis's setTypeCreate). */
export function newSetEncoding(ks: Keyspace, buf: Uint8Array, off: number, len: number, sizeHint = 1): number {
  if (!Number.isNaN(parseIntMember(buf, off, len)) && sizeHint <= ks.limits.setMaxIntsetEntries) return ENC_INTSET;
  if (sizeHint <= ks.limits.setMaxListpackEntries && len <= ks.limits.setMaxListpackValue) return ENC_PACK;
  return ENC_TABLE;
}

/** Creates a new collection (maybe directly as a table). */
export function createFor(ks: Keyspace, kb: Uint8Array, ko: number, kl: number, type: ValueType, enc: number): number {
  if (enc !== ENC_TABLE) return createCollection(ks, kb, ko, kl, type, enc);
  const e = ks.set(kb, ko, kl, null, 0, TABLE_VALUE_BYTES, type, 0);
  const d = ks.tablesFor(type).create(0);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  u8[vo] = ENC_TABLE;
  writeU32(u8, vo + 1, d);
  return e;
}

/** Where element buf[off, +len) starts in e's PACK value (in ks.bytes()), or -1. */
function packElement(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number): number {
  return packFind(ks.bytes(), ks.valueOffset(e), ks.valueLength(e), partsOf(ks.type(e)), buf, off, len);
}

/** Looks element buf[off, +len) up; true when present (a hash's value is then at hitOff/hitLen). */
export function elementFind(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number): boolean {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const enc = u8[vo]!;
  if (enc === ENC_PACK) {
    const parts = partsOf(ks.type(e));
    const p = packElement(ks, e, buf, off, len);
    if (p < 0) return false;
    if (parts === 2) {
      // skipEntry decodes the field's varint: decode the value's after it.
      const q = skipEntry(u8, p);
      varint(u8, q);
      hitOff = q + vsize;
      hitLen = vlen;
    }
    return true;
  }
  if (enc === ENC_INTSET) {
    const n = parseIntMember(buf, off, len);
    return !Number.isNaN(n) && intsetSearch(u8, vo, n) >= 0;
  }
  const t = ks.tablesFor(ks.type(e));
  const el = t.find(readU32(u8, vo + 1), buf, off, len);
  if (el === 0) return false;
  if (t.parts === 2) {
    hitOff = t.valueOffset(el);
    hitLen = t.valueLength(el);
  }
  return true;
}

/** Turns e's compact value into a table sized for `extra` more elements; returns e (maybe moved). */
function toTable(ks: Keyspace, e: number, extra: number): number {
  const type = ks.type(e);
  const t = ks.tablesFor(type);
  const d = t.create(ks.elementCount(e) + extra);
  elementForEach(ks, e, (b, ko, kl, vo, vl) => {
    t.insert(d, b, ko, kl, b, vo, vl);
  });
  e = ks.resizeValue(e, TABLE_VALUE_BYTES);
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  u8[vo] = ENC_TABLE;
  writeU32(u8, vo + 1, d);
  return e;
}

/** Turns an intset into a PACK (a non-integer member is coming and the set stays small). */
function intsetToPack(ks: Keyspace, e: number): number {
  const u8 = ks.bytes();
  const vo = ks.valueOffset(e);
  const count = readU32(u8, vo + 2);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(String(intsetGet(u8, vo, i)));
  let size = PACK_HEADER;
  for (const s of parts) size += 1 + s.length;
  e = ks.resizeValue(e, size);
  const b = ks.bytes();
  const o = ks.valueOffset(e);
  b[o] = ENC_PACK;
  writeU32(b, o + 1, count);
  let p = o + PACK_HEADER;
  for (const s of parts) {
    b[p++] = s.length;
    p += writeLatin1(b, p, s);
  }
  return e;
}

function writeLatin1(b: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[p + i] = s.charCodeAt(i);
  return s.length;
}

/** Sets element buf[off, +len) (with value vb[vo, +vl) for a hash), converting the encoding
 * when a limit is passed. Sets `added`. Returns e (maybe moved). */
export function elementPut(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number, vb: Uint8Array | null, vo: number, vl: number): number {
  try {
    return put(ks, e, buf, off, len, vb, vo, vl);
  } finally {
    ks.elementScope = false;
  }
}

/** A change confined to element buf[off, +len) of a compact value is coming: the log records that
 * element (an ELEMS record), not the whole value, though the value's bytes move (elementScope
 * tells the keyspace's observer so until the caller clears it). */
function compactElementChange(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number): void {
  ks.elementChanging(e, buf, off, len);
  ks.elementScope = true;
}

function put(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number, vb: Uint8Array | null, vo: number, vl: number): number {
  const type = ks.type(e);
  const lim = ks.limits;
  let u8 = ks.bytes();
  let o = ks.valueOffset(e);
  let enc = u8[o]!;
  if (enc === ENC_INTSET) {
    const n = parseIntMember(buf, off, len);
    if (!Number.isNaN(n)) {
      const pos = intsetSearch(u8, o, n);
      if (pos >= 0) {
        added = false;
        return e;
      }
      const count = readU32(u8, o + 2);
      if (count + 1 <= lim.setMaxIntsetEntries) {
        added = true;
        compactElementChange(ks, e, buf, off, len);
        return intsetInsert(ks, e, n, -pos - 1);
      }
      e = toTable(ks, e, 1);
    } else if (ks.elementCount(e) + 1 <= lim.setMaxListpackEntries && len <= lim.setMaxListpackValue && intsetMaxDigits(u8, o) <= lim.setMaxListpackValue) {
      e = intsetToPack(ks, e);
    } else {
      e = toTable(ks, e, 1);
    }
    u8 = ks.bytes();
    o = ks.valueOffset(e);
    enc = u8[o]!;
  }
  const parts = partsOf(type);
  if (enc === ENC_PACK) {
    const vlTotal = ks.valueLength(e);
    const p = packFind(u8, o, vlTotal, parts, buf, off, len);
    const maxLen = type === TYPE_HASH ? lim.hashMaxListpackValue : lim.setMaxListpackValue;
    if (p >= 0) {
      added = false;
      if (parts === 1) return e;
      if (vl > maxLen) {
        e = toTable(ks, e, 0);
        return tablePut(ks, e, buf, off, len, vb, vo, vl);
      }
      const q = skipEntry(u8, p);
      varint(u8, q);
      const oldSize = vsize + vlen;
      const newSize = varintSize(vl) + vl;
      const rel = q - o;
      compactElementChange(ks, e, buf, off, len);
      if (oldSize === newSize) {
        ks.bumpCas(e);
        u8 = ks.bytes();
        o = ks.valueOffset(e);
      } else {
        e = splice(ks, e, rel, oldSize, newSize);
        u8 = ks.bytes();
        o = ks.valueOffset(e);
      }
      const at = o + rel + putVarint(u8, o + rel, vl);
      copy(vb!, vo, u8, at, vl);
      return e;
    }
    const count = readU32(u8, o + 1);
    const maxCount = type === TYPE_HASH ? lim.hashMaxListpackEntries : lim.setMaxListpackEntries;
    if (count + 1 > maxCount || len > maxLen || (parts === 2 && vl > maxLen)) {
      e = toTable(ks, e, 1);
      return tablePut(ks, e, buf, off, len, vb, vo, vl);
    }
    added = true;
    compactElementChange(ks, e, buf, off, len);
    const grow = varintSize(len) + len + (parts === 2 ? varintSize(vl) + vl : 0);
    e = ks.resizeValue(e, vlTotal + grow);
    u8 = ks.bytes();
    o = ks.valueOffset(e);
    writeU32(u8, o + 1, count + 1);
    let at = o + vlTotal;
    at += putVarint(u8, at, len);
    copy(buf, off, u8, at, len);
    at += len;
    if (parts === 2) {
      at += putVarint(u8, at, vl);
      copy(vb!, vo, u8, at, vl);
    }
    return e;
  }
  return tablePut(ks, e, buf, off, len, vb, vo, vl);
}

function tablePut(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number, vb: Uint8Array | null, vo: number, vl: number): number {
  const t = ks.tablesFor(ks.type(e));
  const d = ks.tableOf(e);
  const el = t.find(d, buf, off, len);
  if (el !== 0) {
    added = false;
    if (t.parts === 2) {
      ks.elementChanging(e, buf, off, len);
      t.setValue(d, el, vb!, vo, vl);
    }
    return e;
  }
  added = true;
  ks.elementChanging(e, buf, off, len);
  t.insert(ks.tableOf(e), buf, off, len, vb, vo, vl);
  return e;
}

/** Longest decimal form among the intset's members (its first or last: the extremes). */
function intsetMaxDigits(u8: Uint8Array, vo: number): number {
  const count = readU32(u8, vo + 2);
  if (count === 0) return 0;
  return Math.max(String(intsetGet(u8, vo, 0)).length, String(intsetGet(u8, vo, count - 1)).length);
}

/** Inserts n at position pos of e's intset, widening it when n needs more bytes. */
function intsetInsert(ks: Keyspace, e: number, n: number, pos: number): number {
  let u8 = ks.bytes();
  let o = ks.valueOffset(e);
  const w = u8[o + 1]!;
  const count = readU32(u8, o + 2);
  const nw = Math.max(w, widthFor(n));
  if (nw !== w) {
    // Widen: read every member first, then rewrite at the new width.
    const vals: number[] = [];
    for (let i = 0; i < count; i++) vals.push(intsetGet(u8, o, i));
    vals.splice(pos, 0, n);
    e = ks.resizeValue(e, INTSET_HEADER + (count + 1) * nw);
    u8 = ks.bytes();
    o = ks.valueOffset(e);
    u8[o + 1] = nw;
    writeU32(u8, o + 2, count + 1);
    for (let i = 0; i <= count; i++) intsetPut(u8, o + INTSET_HEADER + i * nw, nw, vals[i]!);
    return e;
  }
  e = ks.resizeValue(e, INTSET_HEADER + (count + 1) * w);
  u8 = ks.bytes();
  o = ks.valueOffset(e);
  const at = o + INTSET_HEADER + pos * w;
  u8.copyWithin(at + w, at, o + INTSET_HEADER + count * w);
  intsetPut(u8, at, w, n);
  writeU32(u8, o + 2, count + 1);
  return e;
}

/** Replaces `oldSize` bytes at value-relative offset rel with room for `newSize` bytes. */
function splice(ks: Keyspace, e: number, rel: number, oldSize: number, newSize: number): number {
  const total = ks.valueLength(e);
  if (newSize > oldSize) {
    e = ks.resizeValue(e, total + newSize - oldSize);
    const u8 = ks.bytes();
    const o = ks.valueOffset(e);
    u8.copyWithin(o + rel + newSize, o + rel + oldSize, o + total);
    return e;
  }
  ks.bumpCas(e);
  const u8 = ks.bytes();
  const o = ks.valueOffset(e);
  u8.copyWithin(o + rel + newSize, o + rel + oldSize, o + total);
  return ks.resizeValue(e, total + newSize - oldSize);
}

/** The handle of the collection after the last elementRemove (a shrink may move it). */
export let removedHandle = 0;

/** Removes element buf[off, +len); true when it was there. Leaves an empty collection in place
 * (the caller deletes the key, as Redis does); its handle is then removedHandle. */export function elementRemove(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number): boolean {
  try {
    return remove(ks, e, buf, off, len);
  } finally {
    ks.elementScope = false;
  }
}

function remove(ks: Keyspace, e: number, buf: Uint8Array, off: number, len: number): boolean {
  removedHandle = e;
  const u8 = ks.bytes();
  const o = ks.valueOffset(e);
  const enc = u8[o]!;
  if (enc === ENC_PACK) {
    const parts = partsOf(ks.type(e));
    const p = packElement(ks, e, buf, off, len);
    if (p < 0) return false;
    let q = skipEntry(u8, p);
    if (parts === 2) q = skipEntry(u8, q);
    const count = readU32(u8, o + 1);
    compactElementChange(ks, e, buf, off, len);
    removedHandle = splice(ks, e, p - o, q - p, 0);
    writeU32(ks.bytes(), ks.valueOffset(removedHandle) + 1, count - 1);
    return true;
  }
  if (enc === ENC_INTSET) {
    const n = parseIntMember(buf, off, len);
    if (Number.isNaN(n)) return false;
    const pos = intsetSearch(u8, o, n);
    if (pos < 0) return false;
    const w = u8[o + 1]!;
    const count = readU32(u8, o + 2);
    compactElementChange(ks, e, buf, off, len);
    removedHandle = splice(ks, e, INTSET_HEADER + pos * w, w, 0);
    writeU32(ks.bytes(), ks.valueOffset(removedHandle) + 2, count - 1);
    return true;
  }
  const t = ks.tablesFor(ks.type(e));
  const d = readU32(u8, o + 1);
  const el = t.find(d, buf, off, len);
  if (el === 0) return false;
  ks.elementChanging(e, buf, off, len);
  t.remove(d, el);
  return true;
}

export type ElementVisitor = (buf: Uint8Array, ko: number, kl: number, vo: number, vl: number) => void;

/** Visits every element (a set's intset members as decimal digits in a scratch buffer); visit must
 * not mutate the keyspace. */
export function elementForEach(ks: Keyspace, e: number, visit: ElementVisitor): void {
  const u8 = ks.bytes();
  const o = ks.valueOffset(e);
  const enc = u8[o]!;
  if (enc === ENC_PACK) {
    const parts = partsOf(ks.type(e));
    const end = o + ks.valueLength(e);
    for (let p = o + PACK_HEADER; p < end; ) {
      varint(u8, p);
      const ko = p + vsize;
      const kl = vlen;
      p = ko + kl;
      if (parts === 2) {
        varint(u8, p);
        const vo = p + vsize;
        const vl = vlen;
        p = vo + vl;
        visit(u8, ko, kl, vo, vl);
      } else {
        visit(u8, ko, kl, 0, 0);
      }
    }
    return;
  }
  if (enc === ENC_INTSET) {
    const count = readU32(u8, o + 2);
    for (let i = 0; i < count; i++) {
      const l = intDigits.write(String(intsetGet(u8, o, i)), 0, 'latin1');
      visit(intDigits, 0, l, 0, 0);
    }
    return;
  }
  const t = ks.tablesFor(ks.type(e));
  t.forEach(readU32(u8, o + 1), (el) => visit(u8, t.keyOffset(el), t.keyLength(el), t.parts === 2 ? t.valueOffset(el) : 0, t.parts === 2 ? t.valueLength(el) : 0));
}

/** One HSCAN/SSCAN step: a compact value is returned whole (cursor 0), as Redis does; a table
 * walks its buckets from cursor with Redis's reverse-binary cursor. Returns the next cursor. */
export function elementScan(ks: Keyspace, e: number, cursor: number, count: number, visit: ElementVisitor): number {
  const u8 = ks.bytes();
  const o = ks.valueOffset(e);
  if (u8[o] !== ENC_TABLE) {
    elementForEach(ks, e, visit);
    return 0;
  }
  const t = ks.tablesFor(ks.type(e));
  const d = readU32(u8, o + 1);
  let v = cursor >>> 0;
  let seen = 0;
  let budget = Math.max(1, count) * 10;
  const each = (el: number): void => {
    seen++;
    visit(u8, t.keyOffset(el), t.keyLength(el), t.parts === 2 ? t.valueOffset(el) : 0, t.parts === 2 ? t.valueLength(el) : 0);
  };
  do {
    v = t.scanStep(d, v, each);
  } while (v !== 0 && --budget > 0 && seen < count);
  return v;
}

/** Picks a random element of a non-empty collection: its key in hitKeyBuf/hitKeyOff/hitKeyLen and
 * (hash) its value at hitOff/hitLen in ks.bytes(). Uniform for compact encodings; for a table,
 * a random bucket's element (as Redis's dictGetFairRandomKey, close to uniform). */
export function randomElement(ks: Keyspace, e: number): void {
  const u8 = ks.bytes();
  const o = ks.valueOffset(e);
  const enc = u8[o]!;
  if (enc === ENC_TABLE) {
    const t = ks.tablesFor(ks.type(e));
    const el = t.random(readU32(u8, o + 1), () => ks.randomFraction());
    setHitKey(u8, t.keyOffset(el), t.keyLength(el));
    if (t.parts === 2) {
      hitOff = t.valueOffset(el);
      hitLen = t.valueLength(el);
    }
    return;
  }
  elementAt(ks, e, Math.floor(ks.randomFraction() * ks.elementCount(e)));
}

/** The i-th element of a compact collection (0 <= i < count), as randomElement reports it. */
export function elementAt(ks: Keyspace, e: number, i: number): void {
  const u8 = ks.bytes();
  const o = ks.valueOffset(e);
  if (u8[o] === ENC_INTSET) {
    const l = intDigits.write(String(intsetGet(u8, o, i)), 0, 'latin1');
    setHitKey(intDigits, 0, l);
    return;
  }
  const parts = partsOf(ks.type(e));
  let p = o + PACK_HEADER;
  for (let k = 0; k < i; k++) {
    p = skipEntry(u8, p);
    if (parts === 2) p = skipEntry(u8, p);
  }
  varint(u8, p);
  setHitKey(u8, p + vsize, vlen);
  if (parts === 2) {
    const q = p + vsize + vlen;
    varint(u8, q);
    hitOff = q + vsize;
    hitLen = vlen;
  }
}

function setHitKey(b: Uint8Array, off: number, len: number): void {
  hitKeyBuf = b;
  hitKeyOff = off;
  hitKeyLen = len;
}

/** Redis's OBJECT ENCODING name of a collection entry. */
export function encodingName(ks: Keyspace, e: number): string {
  const enc = ks.encoding(e);
  if (enc === ENC_INTSET) return 'intset';
  if (enc === ENC_TABLE) return 'hashtable';
  return 'listpack';
}

function copy(src: Uint8Array, soff: number, dst: Uint8Array, doff: number, len: number): void {
  if (src.buffer === dst.buffer) dst.copyWithin(doff, src.byteOffset + soff, src.byteOffset + soff + len);
  else if (len <= 64) for (let i = 0; i < len; i++) dst[doff + i] = src[soff + i]!;
  else dst.set(src.subarray(soff, soff + len), doff);
}

