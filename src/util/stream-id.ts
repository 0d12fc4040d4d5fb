// Stream ids (ms-seq, two unsigned 64-bit numbers) without BigInt: a `Sid` is a Uint32Array(4)
// [msHi, msLo, seqHi, seqLo]; order is lexicographic on the four words. Nothing here allocates
// except sid() and sidString(): callers keep module-level registers made once with sid().
// Parsing follows Redis's string2ull strictness (digits only, no sign, at most 2^64-1).

export type Sid = Uint32Array;

const TWO32 = 4294967296;

/** A new id register, 0-0. */
export function sid(): Sid {
  return new Uint32Array(4);
}

export const SID_MIN: Readonly<Sid> = sid();
export const SID_MAX: Readonly<Sid> = new Uint32Array([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);

export function sidSet(dst: Sid, msHi: number, msLo: number, seqHi: number, seqLo: number): void {
  dst[0] = msHi;
  dst[1] = msLo;
  dst[2] = seqHi;
  dst[3] = seqLo;
}

/** Sets dst to ms-seq from two numbers, each at most 2^53-1 (tests, clocks). */
export function sidSetNumbers(dst: Sid, ms: number, seq: number): void {
  dst[0] = Math.floor(ms / TWO32);
  dst[1] = ms >>> 0;
  dst[2] = Math.floor(seq / TWO32);
  dst[3] = seq >>> 0;
}

export function sidCopy(dst: Sid, src: Readonly<Sid>): void {
  dst[0] = src[0]!;
  dst[1] = src[1]!;
  dst[2] = src[2]!;
  dst[3] = src[3]!;
}

export function sidCmp(a: Readonly<Sid>, b: Readonly<Sid>): -1 | 0 | 1 {
  for (let i = 0; i < 4; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function sidIsZero(a: Readonly<Sid>): boolean {
  return (a[0]! | a[1]! | a[2]! | a[3]!) === 0;
}

/** The ms part as a number when it is below 2^53 (else a lossy approximation). */
export function sidMs(a: Readonly<Sid>): number {
  return a[0]! * TWO32 + a[1]!;
}

/** The seq part as a number when it is below 2^53 (else a lossy approximation). */
export function sidSeq(a: Readonly<Sid>): number {
  return a[2]! * TWO32 + a[3]!;
}

/** a + 1 as one 128-bit number (Redis's streamIncrID: seq wraps into ms). False, a unchanged, when
 * a is already the largest id. */
export function sidIncr(a: Sid): boolean {
  if (a[0] === 0xffffffff && a[1] === 0xffffffff && a[2] === 0xffffffff && a[3] === 0xffffffff) return false;
  for (let i = 3; i >= 0; i--) {
    if (a[i] !== 0xffffffff) {
      a[i] = a[i]! + 1;
      return true;
    }
    a[i] = 0;
  }
  return true;
}

/** a - 1 (Redis's streamDecrID). False, a unchanged, when a is 0-0. */
export function sidDecr(a: Sid): boolean {
  if (sidIsZero(a)) return false;
  for (let i = 3; i >= 0; i--) {
    if (a[i] !== 0) {
      a[i] = a[i]! - 1;
      return true;
    }
    a[i] = 0xffffffff;
  }
  return true;
}

let pHi = 0;
let pLo = 0;

/** Parses buf[off, off+len) as an unsigned 64-bit decimal into pHi/pLo. False unless digits only,
 * 1..20 of them, value <= 2^64-1 (leading zeros allowed as strtoull allows them). */
function parseU64(buf: Uint8Array, off: number, len: number): boolean {
  if (len === 0) return false;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < len; i++) {
    const d = buf[off + i]! - 48;
    if (d < 0 || d > 9) return false;
    const x = lo * 10 + d; // < 2^36: exact
    const carry = Math.floor(x / TWO32);
    lo = x - carry * TWO32;
    hi = hi * 10 + carry;
    if (hi >= TWO32) return false;
  }
  pHi = hi;
  pLo = lo;
  return true;
}

/** Parses "ms" or "ms-seq" into dst (unchanged on failure). A missing seq is 0 (missingSeq 0) or
 * 2^64-1 (missingSeq 1, as XRANGE's end). "-", "+", "*" and "(" are the callers' business. */
export function sidParse(buf: Uint8Array, off: number, len: number, dst: Sid, missingSeq: 0 | 1): boolean {
  let dash = -1;
  for (let i = 0; i < len; i++) {
    if (buf[off + i] === 45) {
      dash = i;
      break;
    }
  }
  if (dash < 0) {
    if (!parseU64(buf, off, len)) return false;
    dst[0] = pHi;
    dst[1] = pLo;
    dst[2] = dst[3] = missingSeq === 1 ? 0xffffffff : 0;
    return true;
  }
  if (!parseU64(buf, off, dash)) return false;
  const msHi = pHi;
  const msLo = pLo;
  if (!parseU64(buf, off + dash + 1, len - dash - 1)) return false;
  dst[0] = msHi;
  dst[1] = msLo;
  dst[2] = pHi;
  dst[3] = pLo;
  return true;
}

const digits = new Uint8Array(24);

/** Writes the decimal of the u64 hi:lo at dst[off], returns the length. */
function writeU64(hi: number, lo: number, dst: Uint8Array, off: number): number {
  let n = 0;
  if (hi >= 0x200000) {
    // Above 2^53: peel six low digits by long division (remainder * 2^32 stays below 2^53).
    const qHi = Math.floor(hi / 1e6);
    const r = hi - qHi * 1e6;
    const t = r * TWO32 + lo;
    const qLo = Math.floor(t / 1e6);
    let low = t - qLo * 1e6;
    for (let i = 0; i < 6; i++) {
      digits[n++] = 48 + (low % 10);
      low = Math.floor(low / 10);
    }
    let v = qHi * TWO32 + qLo; // < 2^64 / 1e6 < 2^53: exact
    while (v > 0) {
      const q = Math.floor(v / 10);
      digits[n++] = 48 + (v - q * 10);
      v = q;
    }
  } else {
    let v = hi * TWO32 + lo;
    do {
      const q = Math.floor(v / 10);
      digits[n++] = 48 + (v - q * 10);
      v = q;
    } while (v > 0);
  }
  for (let i = 0; i < n; i++) dst[off + i] = digits[n - 1 - i]!;
  return n;
}

/** Longest text of an id: 20 + 1 + 20 bytes. */
export const SID_TEXT_MAX = 41;

/** Writes "ms-seq" at dst[off] (room for SID_TEXT_MAX bytes), returns its length. */
export function sidWrite(a: Readonly<Sid>, dst: Uint8Array, off: number): number {
  let n = writeU64(a[0]!, a[1]!, dst, off);
  dst[off + n++] = 45;
  n += writeU64(a[2]!, a[3]!, dst, off + n);
  return n;
}

const textScratch = new Uint8Array(SID_TEXT_MAX);

/** "ms-seq" as a string: tests and logs only (allocates). */
export function sidString(a: Readonly<Sid>): string {
  const n = sidWrite(a, textScratch, 0);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(textScratch[i]!);
  return s;
}

/** 16 bytes big-endian at dst[off] (memcmp order equals id order). */
export function sidToBytes(a: Readonly<Sid>, dst: Uint8Array, off: number): void {
  for (let w = 0; w < 4; w++) {
    const v = a[w]!;
    const o = off + w * 4;
    dst[o] = v >>> 24;
    dst[o + 1] = (v >>> 16) & 0xff;
    dst[o + 2] = (v >>> 8) & 0xff;
    dst[o + 3] = v & 0xff;
  }
}

/** Reads 16 big-endian bytes at src[off] into dst. */
export function sidFromBytes(dst: Sid, src: Uint8Array, off: number): void {
  for (let w = 0; w < 4; w++) {
    const o = off + w * 4;
    dst[w] = ((src[o]! << 24) | (src[o + 1]! << 16) | (src[o + 2]! << 8) | src[o + 3]!) >>> 0;
  }
}
