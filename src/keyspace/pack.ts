// The compact encodings of collections, kept in the entry's own value bytes (one block per small
// collection, as Redis's listpack and intset):
//   PACK    [enc u8][count u32 LE][entries]   entry = varint length (LEB128) + bytes; a hash's
//           element is two entries (field, value), a set's one. Insertion order is kept.
//   INTSET  [enc u8][width u8][count u32 LE][ints]  sorted, little-endian, width 2, 4 or 8 bytes
//           (8-byte ints are limited to JS safe integers; larger integer members use PACK).
// PACK is also the portable image of every hash and set (log records, DUMP, migration, snapshots):
// a large table serializes to it and a loader converts it to a table above the thresholds.
// Readers are allocation-free: varint() leaves the decoded length in `vlen` and its size in `vsize`.

export const ENC_PACK = 1;
export const ENC_INTSET = 2;
export const ENC_TABLE = 3;
/** A long list: a chain of packed nodes (list.ts; OBJECT ENCODING quicklist). */
export const ENC_QUICKLIST = 4;
/** A large sorted set: its ordered index and member table (zset.ts; OBJECT ENCODING skiplist). */
export const ENC_ZTREE = 5;

export const PACK_HEADER = 5;
export const INTSET_HEADER = 6;
/** [enc][u32 descriptor offset] */
export const TABLE_VALUE_BYTES = 5;

export let vlen = 0;
export let vsize = 0;

/** Decodes the varint at u8[p]: sets vlen and vsize. */
export function varint(u8: Uint8Array, p: number): void {
  let b = u8[p]!;
  if (b < 0x80) {
    vlen = b;
    vsize = 1;
    return;
  }
  let n = b & 0x7f;
  let shift = 7;
  let i = 1;
  do {
    b = u8[p + i]!;
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
    i++;
  } while (b >= 0x80 && i < 6);
  vlen = n;
  vsize = i;
}

/** Bytes of the varint of n. */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Writes n as a varint at u8[p]; returns its size. */
export function putVarint(u8: Uint8Array, p: number, n: number): number {
  let i = 0;
  while (n >= 0x80) {
    u8[p + i++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  u8[p + i++] = n;
  return i;
}

export function readU32(u8: Uint8Array, p: number): number {
  return (u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24)) >>> 0;
}

export function writeU32(u8: Uint8Array, p: number, n: number): void {
  u8[p] = n & 0xff;
  u8[p + 1] = (n >>> 8) & 0xff;
  u8[p + 2] = (n >>> 16) & 0xff;
  u8[p + 3] = (n >>> 24) & 0xff;
}

/** Byte offset just past the entry at p. */
export function skipEntry(u8: Uint8Array, p: number): number {
  varint(u8, p);
  return p + vsize + vlen;
}

/** Offset of the element whose first entry equals buf[off, +len) in the pack at vo (vl bytes),
 * or -1. parts: entries per element. */
export function packFind(u8: Uint8Array, vo: number, vl: number, parts: 1 | 2, buf: Uint8Array, off: number, len: number): number {
  const end = vo + vl;
  let p = vo + PACK_HEADER;
  while (p < end) {
    varint(u8, p);
    const d = p + vsize;
    if (vlen === len) {
      let k = 0;
      while (k < len && u8[d + k] === buf[off + k]) k++;
      if (k === len) return p;
    }
    p = d + vlen;
    if (parts === 2) p = skipEntry(u8, p);
  }
  return -1;
}

/** What is wrong with a pack image buf[off, +len) of elements of `parts` entries, or null. */
export function packError(buf: Uint8Array, off: number, len: number, parts: 1 | 2): string | null {
  if (len < PACK_HEADER || buf[off] !== ENC_PACK) return 'not a pack';
  const count = readU32(buf, off + 1);
  const end = off + len;
  let p = off + PACK_HEADER;
  for (let i = 0; i < count * parts; i++) {
    if (p >= end) return 'pack shorter than its count';
    varint(buf, p);
    if (vsize > 5 || (buf[p + vsize - 1]! & 0x80) !== 0) return 'bad length';
    p += vsize + vlen;
    if (p > end) return 'entry past the end';
  }
  return p === end ? null : 'bytes after the last entry';
}

// ---- INTSET ----

/** The i-th integer of the intset at vo. */
export function intsetGet(u8: Uint8Array, vo: number, i: number): number {
  const w = u8[vo + 1]!;
  const p = vo + INTSET_HEADER + i * w;
  if (w === 2) return ((u8[p]! | (u8[p + 1]! << 8)) << 16) >> 16;
  if (w === 4) return u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24);
  return readU32(u8, p) + (u8[p + 4]! | (u8[p + 5]! << 8) | (u8[p + 6]! << 16) | (u8[p + 7]! << 24)) * 4294967296;
}

export function intsetPut(u8: Uint8Array, p: number, w: number, n: number): void {
  if (w === 2) {
    u8[p] = n & 0xff;
    u8[p + 1] = (n >> 8) & 0xff;
  } else if (w === 4) {
    writeU32(u8, p, n >>> 0);
  } else {
    const lo = n % 4294967296;
    const loU = lo < 0 ? lo + 4294967296 : lo;
    writeU32(u8, p, loU);
    writeU32(u8, p + 4, ((n - loU) / 4294967296) >>> 0);
  }
}

/** Smallest width that holds n. */
export function widthFor(n: number): number {
  return n >= -32768 && n <= 32767 ? 2 : n >= -2147483648 && n <= 2147483647 ? 4 : 8;
}

/** Position of n in the intset, or -(insertion point) - 1. */
export function intsetSearch(u8: Uint8Array, vo: number, n: number): number {
  let lo = 0;
  let hi = readU32(u8, vo + 2) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = intsetGet(u8, vo, mid);
    if (x < n) lo = mid + 1;
    else if (x > n) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/** What is wrong with an intset image, or null. */
export function intsetError(buf: Uint8Array, off: number, len: number): string | null {
  if (len < INTSET_HEADER || buf[off] !== ENC_INTSET) return 'not an intset';
  const w = buf[off + 1]!;
  if (w !== 2 && w !== 4 && w !== 8) return 'bad intset width';
  const count = readU32(buf, off + 2);
  if (INTSET_HEADER + count * w !== len) return 'intset length does not match its count';
  for (let i = 0; i < count; i++) {
    const x = intsetGet(buf, off, i);
    if (!Number.isSafeInteger(x)) return 'intset integer out of range';
    if (i > 0 && intsetGet(buf, off, i - 1) >= x) return 'intset not sorted';
  }
  return null;
}

/** The canonical decimal integer in buf[off, +len) as Redis's string2ll accepts it (no sign
 * other than one '-', no leading zeros, no spaces) and within JS's safe integers, or NaN. */
export function parseIntMember(buf: Uint8Array, off: number, len: number): number {
  if (len === 0 || len > 17) return NaN;
  let i = 0;
  let neg = false;
  if (buf[off] === 45) {
    neg = true;
    i = 1;
    if (len === 1) return NaN;
  }
  const first = buf[off + i]!;
  if (first === 48) return len === 1 ? 0 : NaN;
  let n = 0;
  for (; i < len; i++) {
    const c = buf[off + i]! - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  if (!Number.isSafeInteger(n)) return NaN;
  return neg ? -n : n;
}
