// The element layout of a compact sorted set (PACK, also the image of every sorted set):
//   [varint: member length * 2 + tag][member][score]
// tag 1: the score is an integer in [-2^53, 2^53] other than -0, stored as a zigzag LEB128 varint
// (1 byte for -64..63, as Redis's listpack stores small integers compactly); tag 0: any other score
// (fractions, +-inf, beyond 2^53, -0 in an image of a large set) as its 8 bytes (f64 LE). Each score
// has exactly one form, so equal sets have equal images. Readers leave their results in module
// variables (el*), allocating nothing.
import { varint, vlen, vsize } from './pack.js';

export const SCORE_BYTES = 8;
/** Largest magnitude of a compact score: integers up to here are exact doubles. */
const COMPACT_MAX = 2 ** 53;
/** Most bytes of a compact score: 6 bits, then 7 per byte, for magnitudes up to 2^53. */
const COMPACT_BYTES_MAX = 8;

/** readElement's results: the member's offset and length, the next element's offset (small
 * integers: writing them allocates nothing, where a module variable holding a fraction would box
 * it at every write, so the score is readElement's return value). */
export let elMo = 0;
export let elMl = 0;
export let elNext = 0;
/** The score elementError read (image checks). */
export let checkedScore = 0;

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

/** True when s is stored as a compact integer. */
export function compactScore(s: number): boolean {
  return Number.isInteger(s) && s <= COMPACT_MAX && s >= -COMPACT_MAX && (s !== 0 || 1 / s > 0);
}

/** Bytes of score s in an element. */
export function scoreSize(s: number): number {
  if (!compactScore(s)) return SCORE_BYTES;
  let m = Math.floor((s >= 0 ? s : -s - 1) / 64);
  let n = 1;
  while (m > 0) {
    n++;
    m = Math.floor(m / 128);
  }
  return n;
}

/** Bytes of an element of an ml-byte member with score s. */
export function elementSize(ml: number, s: number): number {
  return headerSize(ml * 2 + 1) + ml + scoreSize(s);
}

function headerSize(h: number): number {
  return h < 0x80 ? 1 : h < 0x4000 ? 2 : h < 0x200000 ? 3 : h < 0x10000000 ? 4 : 5;
}

/** Writes an element (member mb[mo, +ml), score s) at u8[p]; returns its size. */
export function putElement(u8: Uint8Array, p: number, mb: Uint8Array, mo: number, ml: number, s: number): number {
  const compact = compactScore(s);
  let h = ml * 2 + (compact ? 1 : 0);
  let q = p;
  while (h >= 0x80) {
    u8[q++] = (h % 0x80) | 0x80;
    h = Math.floor(h / 0x80);
  }
  u8[q++] = h;
  if (mb === u8 && mo < q) u8.copyWithin(q, mo, mo + ml);
  else for (let i = 0; i < ml; i++) u8[q + i] = mb[mo + i]!;
  q += ml;
  if (!compact) {
    writeScore(u8, q, s);
    return q + SCORE_BYTES - p;
  }
  // Zigzag (magnitude * 2 + sign, negatives offset by one) computed in two parts, so that 2^53
  // and -2^53 stay exact: the first byte takes the sign and 6 bits, the others 7 bits each.
  const neg = s < 0;
  let m = neg ? -s - 1 : s;
  const low = (m % 64) * 2 + (neg ? 1 : 0);
  m = Math.floor(m / 64);
  u8[q++] = m > 0 ? low | 0x80 : low;
  while (m > 0) {
    const b = m % 128;
    m = Math.floor(m / 128);
    u8[q++] = m > 0 ? b | 0x80 : b;
  }
  return q - p;
}

/** Decodes the element at u8[p] (trusted: the arena, or a checked image) into el*; returns its score. */
export function readElement(u8: Uint8Array, p: number): number {
  varint(u8, p);
  const h = vlen;
  elMo = p + vsize;
  elMl = Math.floor(h / 2);
  const q = elMo + elMl;
  if (h % 2 === 0) {
    elNext = q + SCORE_BYTES;
    return readScore(u8, q);
  }
  let b = u8[q]!;
  let m = (b & 0x7f) >>> 1;
  let i = 1;
  if (b >= 0x80) {
    let mult = 64;
    do {
      b = u8[q + i]!;
      m += (b & 0x7f) * mult;
      mult *= 128;
      i++;
    } while (b >= 0x80);
  }
  elNext = q + i;
  return (u8[q]! & 1) === 1 ? -m - 1 : m;
}

/** Offset of the element after the one at p (its score not decoded). */
export function skipElement(u8: Uint8Array, p: number): number {
  varint(u8, p);
  const h = vlen;
  let q = p + vsize + Math.floor(h / 2);
  if (h % 2 === 0) return q + SCORE_BYTES;
  while (u8[q]! >= 0x80) q++;
  return q + 1;
}

/** What is wrong with the element at buf[p] of an image ending at end (untrusted), or null; when
 * null, el* and checkedScore hold the element. Refused: a truncated or overlong varint, a member or score past the
 * end, a compact score beyond +-2^53, an 8-byte score that has a compact form, NaN. */
export function elementError(buf: Uint8Array, p: number, end: number): string | null {
  varint(buf, p);
  if (vsize > 5 || (buf[p + vsize - 1]! & 0x80) !== 0 || vsize !== headerSize(vlen) || p + vsize > end) return 'bad length';
  const h = vlen;
  elMo = p + vsize;
  elMl = Math.floor(h / 2);
  const q = elMo + elMl;
  if (q > end) return 'entry past the end';
  if (h % 2 === 0) {
    if (q + SCORE_BYTES > end) return 'entry past the end';
    checkedScore = readScore(buf, q);
    elNext = q + SCORE_BYTES;
    if (Number.isNaN(checkedScore)) return 'NaN score';
    return compactScore(checkedScore) ? 'score not in its compact form' : null;
  }
  // Bytes 1..7 carry at most 48 bits, exact; an 8th byte (the last one allowed) adds hi * 2^48.
  let lo = 0;
  let hi = 0;
  let mult = 1;
  let i = 0;
  for (;;) {
    if (i === COMPACT_BYTES_MAX) return 'bad compact score';
    if (q + i >= end) return 'entry past the end';
    const b = buf[q + i]!;
    if (i === COMPACT_BYTES_MAX - 1) hi = b & 0x7f;
    else lo += (i === 0 ? (b & 0x7f) >>> 1 : b & 0x7f) * mult;
    mult = i === 0 ? 64 : mult * 128;
    i++;
    if (b < 0x80) {
      if (i > 1 && b === 0) return 'bad compact score'; // overlong
      break;
    }
  }
  const neg = (buf[q]! & 1) === 1;
  // Magnitude (lo + hi * 2^48) at most 2^53, or 2^53 - 1 for negatives (-m - 1 >= -2^53).
  if (hi > 32 || (hi === 32 && (lo > 0 || neg))) return 'bad compact score';
  const m = lo + hi * 2 ** 48;
  checkedScore = neg ? -m - 1 : m;
  elNext = q + i;
  return null;
}
