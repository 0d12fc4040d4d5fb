// The packed run of list elements that both a small list (ENC_PACK, in its entry) and each node of
// a quicklist hold: entry = varint length (LEB128) + bytes + back-length, where the back-length is
// the size of (varint + bytes) written so that it reads from its LAST byte backwards (as Redis's
// listpack), so that a run is walked from either end and a pop at the tail never walks the run.
// Functions here work on a region u8[s, end) and allocate nothing: results in live exports.
import { putVarint, varint, varintSize, vlen, vsize } from './pack.js';

/** Element found by entryAt/readEntry: its bytes are u8[elOff, +elLen), its entry at entryOff. */
export let elOff = 0;
export let elLen = 0;

/** Bytes of the back-length of an entry whose varint + bytes take s bytes. */
export function backlenSize(s: number): number {
  return s < 0x80 ? 1 : s < 0x4000 ? 2 : s < 0x200000 ? 3 : s < 0x10000000 ? 4 : 5;
}

/** Bytes an element of len bytes takes in a run. */
export function entrySize(len: number): number {
  const s = varintSize(len) + len;
  return s + backlenSize(s);
}

/** Writes element buf[off, +len) as an entry at u8[p] (u8 may be buf's own memory when the ranges
 * do not overlap); returns the entry's size. */
export function putEntry(u8: Uint8Array, p: number, buf: Uint8Array, off: number, len: number): number {
  const h = putVarint(u8, p, len);
  copyInto(buf, off, u8, p + h, len);
  const s = h + len;
  const k = backlenSize(s);
  let q = p + s + k - 1;
  let n = s;
  // Last byte: the low 7 bits; each byte before it carries 7 more, all but the first flagged.
  for (let i = 0; i < k; i++) {
    u8[q--] = (n & 0x7f) | (i < k - 1 ? 0x80 : 0);
    n = Math.floor(n / 0x80);
  }
  return s + k;
}

/** Reads the entry at p: its element into elOff/elLen; returns the offset past the entry. */
export function readEntry(u8: Uint8Array, p: number): number {
  varint(u8, p);
  elOff = p + vsize;
  elLen = vlen;
  const s = vsize + vlen;
  return p + s + backlenSize(s);
}

/** Start of the entry that ends at `end` (the byte after its back-length). */
export function prevEntry(u8: Uint8Array, end: number): number {
  let q = end - 1;
  let b = u8[q]!;
  let n = b & 0x7f;
  let mul = 0x80;
  let k = 1;
  while ((b & 0x80) !== 0 && k < 5) {
    b = u8[--q]!;
    n += (b & 0x7f) * mul;
    mul *= 0x80;
    k++;
  }
  return end - k - n;
}

/** Start of the i-th entry (0-based) of the run u8[s, end) holding `count` entries, walked from
 * the nearer end. */
export function entryAt(u8: Uint8Array, s: number, end: number, count: number, i: number): number {
  if (i <= count >>> 1) {
    let p = s;
    for (let k = 0; k < i; k++) p = skip(u8, p);
    return p;
  }
  let p = end;
  for (let k = count; k > i; k--) p = prevEntry(u8, p);
  return p;
}

/** Offset past the entry at p. */
export function skip(u8: Uint8Array, p: number): number {
  varint(u8, p);
  const s = vsize + vlen;
  return p + s + backlenSize(s);
}

/** Whether the entry at p holds buf[off, +len). */
export function entryEquals(u8: Uint8Array, p: number, buf: Uint8Array, off: number, len: number): boolean {
  varint(u8, p);
  if (vlen !== len) return false;
  const d = p + vsize;
  for (let k = 0; k < len; k++) if (u8[d + k] !== buf[off + k]) return false;
  return true;
}

/** Copies len bytes (src may be dst's own memory: copyWithin, so overlap is safe). */
export function copyInto(src: Uint8Array, soff: number, dst: Uint8Array, doff: number, len: number): void {
  if (src.buffer === dst.buffer) {
    const from = src.byteOffset + soff - dst.byteOffset;
    dst.copyWithin(doff, from, from + len);
  } else if (len <= 64) {
    for (let i = 0; i < len; i++) dst[doff + i] = src[soff + i]!;
  } else {
    dst.set(src.subarray(soff, soff + len), doff);
  }
}

/** What is wrong with the run u8[s, end) said to hold `count` entries, or null (back-lengths and
 * varints must agree exactly: the run is walked from both ends). */
export function runError(u8: Uint8Array, s: number, end: number, count: number): string | null {
  let p = s;
  for (let i = 0; i < count; i++) {
    if (p >= end) return 'run shorter than its count';
    varint(u8, p);
    if (vsize > 5 || (u8[p + vsize - 1]! & 0x80) !== 0) return 'bad length';
    const q = skip(u8, p);
    if (q > end) return 'entry past the end';
    if (prevEntry(u8, q) !== p) return 'bad back-length';
    p = q;
  }
  return p === end ? null : 'bytes after the last entry';
}
