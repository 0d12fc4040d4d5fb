// Redis's HyperLogLog (hyperloglog.c, 7.0) byte for byte: the "HYLL" header with its cached
// cardinality, the sparse (ZERO/XZERO/VAL opcodes) and dense (6-bit registers) encodings, the
// MurmurHash64A element hash (seed 0xadc83b19) and Ertl's estimator (hllTau/hllSigma). Pure and
// allocation-free: a value is edited in the module's `work` buffer (its length in `workLen`).

export const HLL_P = 14;
export const HLL_Q = 64 - HLL_P;
export const HLL_REGISTERS = 1 << HLL_P;
const HLL_P_MASK = HLL_REGISTERS - 1;
const HLL_BITS = 6;
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
export const HLL_HDR_SIZE = 16;
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + ((HLL_REGISTERS * HLL_BITS + 7) >> 3);
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
const HLL_MAX_ENCODING = 1;
const ENCODING_AT = 4;
const CARD_AT = 8;

const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
const ALPHA_INF = 0.721347520444481703680;

/** The value being edited; a sparse value grows up to hll-sparse-max-bytes, a dense one is
 * HLL_DENSE_SIZE (one spare byte: the dense register code reads the byte after the last). */
export const work = new Uint8Array(HLL_DENSE_SIZE + 1);
export let workLen = 0;
/** Promotion scratch: the dense registers built from a sparse value. */
const denseScratch = new Uint8Array(HLL_DENSE_SIZE + 1);
const histo = new Int32Array(64);

// ---------------------------------------------------------------------------------------------
// MurmurHash64A over 32-bit halves (no BigInt on the data path).

const M_HI = 0xc6a4a793;
const M_LO = 0x5bd1e995;
let hHi = 0;
let hLo = 0;

/** (hHi, hLo) *= m, modulo 2^64. */
function mulM(): void {
  const a0 = hLo & 0xffff;
  const a1 = hLo >>> 16;
  const b0 = M_LO & 0xffff;
  const b1 = M_LO >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const hi = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(hHi, M_LO) + Math.imul(hLo, M_HI);
  hHi = hi >>> 0;
  hLo = lo;
}

/** Sets (hHi, hLo) to MurmurHash64A(buf[off, off+len), 0xadc83b19). */
function murmur64a(buf: Uint8Array, off: number, len: number): void {
  // h = seed ^ (len * m)
  hHi = 0;
  hLo = len >>> 0;
  mulM();
  hLo = (hLo ^ 0xadc83b19) >>> 0;
  const end = off + len - (len & 7);
  let p = off;
  for (; p < end; p += 8) {
    const kLo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
    const kHi = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
    // k *= m; k ^= k >> 47; k *= m  (computed in the h registers, h saved aside)
    const sHi = hHi;
    const sLo = hLo;
    hHi = kHi;
    hLo = kLo;
    mulM();
    hLo = (hLo ^ (hHi >>> 15)) >>> 0;
    mulM();
    hHi = (sHi ^ hHi) >>> 0;
    hLo = (sLo ^ hLo) >>> 0;
    mulM();
  }
  const rest = len & 7;
  if (rest > 0) {
    // The tail bytes, little-endian (Redis's switch with fall-through).
    for (let i = rest - 1; i >= 0; i--) {
      const b = buf[p + i]!;
      if (i >= 4) hHi ^= b << ((i - 4) * 8);
      else hLo ^= b << (i * 8);
    }
    hHi >>>= 0;
    hLo >>>= 0;
    mulM();
  }
  hLo = (hLo ^ (hHi >>> 15)) >>> 0;
  mulM();
  hLo = (hLo ^ (hHi >>> 15)) >>> 0;
}

/** The 64-bit MurmurHash64A of the bytes as a bigint (tests). */
export function murmurHash64A(buf: Uint8Array): bigint {
  murmur64a(buf, 0, buf.length);
  return (BigInt(hHi) << 32n) | BigInt(hLo);
}

/** Register index of the element, set by patLen. */
let patIndex = 0;

/** Redis's hllPatLen: sets patIndex and returns the run length of zeros + 1 (1..Q+1). */
function patLen(buf: Uint8Array, off: number, len: number): number {
  murmur64a(buf, off, len);
  patIndex = hLo & HLL_P_MASK;
  const lo = ((hLo >>> HLL_P) | (hHi << (32 - HLL_P))) >>> 0;
  const hi = ((hHi >>> HLL_P) | (1 << (HLL_Q - 32))) >>> 0;
  if (lo !== 0) return 32 - Math.clz32(lo & -lo);
  return 64 - Math.clz32(hi & -hi);
}

// ---------------------------------------------------------------------------------------------
// Header and validity.

/** isHLLObjectOrReply's check of a string value (the caller checked it is a string). */
export function hllIsValid(buf: Uint8Array, off: number, len: number): boolean {
  if (len < HLL_HDR_SIZE) return false;
  if (buf[off] !== 0x48 || buf[off + 1] !== 0x59 || buf[off + 2] !== 0x4c || buf[off + 3] !== 0x4c) return false;
  const enc = buf[off + ENCODING_AT]!;
  if (enc > HLL_MAX_ENCODING) return false;
  if (enc === HLL_DENSE && len !== HLL_DENSE_SIZE) return false;
  return true;
}

/** Copies a (valid) value into `work`. */
export function hllLoad(buf: Uint8Array, off: number, len: number): void {
  work.set(buf.subarray(off, off + len), 0);
  workLen = len;
  work[len] = 0;
}

/** createHLLObject: an empty sparse value (XZERO over all registers, cardinality 0, valid). */
export function hllInitEmpty(): void {
  work.fill(0, 0, HLL_HDR_SIZE + 3);
  work[0] = 0x48;
  work[1] = 0x59;
  work[2] = 0x4c;
  work[3] = 0x4c;
  work[ENCODING_AT] = HLL_SPARSE;
  let p = HLL_HDR_SIZE;
  let aux = HLL_REGISTERS;
  while (aux > 0) {
    const xz = Math.min(aux, SPARSE_XZERO_MAX_LEN);
    work[p] = ((xz - 1) >> 8) | 0x40;
    work[p + 1] = (xz - 1) & 0xff;
    p += 2;
    aux -= xz;
  }
  workLen = p;
}

export function hllEncoding(): number {
  return work[ENCODING_AT]!;
}

/** HLL_INVALIDATE_CACHE: only the top bit of the last cardinality byte is set. */
export function hllInvalidateCache(): void {
  work[CARD_AT + 7]! |= 0x80;
}

/** The cached cardinality of `work`, or -1 when the cache is invalid. */
export function hllCachedCount(): number {
  if (work[CARD_AT + 7]! & 0x80) return -1;
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + work[CARD_AT + i]!;
  return n;
}

function storeCount(n: number): void {
  let v = n;
  for (let i = 0; i < 8; i++) {
    work[CARD_AT + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

// ---------------------------------------------------------------------------------------------
// Dense registers.

function denseGet(r: Uint8Array, base: number, reg: number): number {
  const bit = reg * HLL_BITS;
  const b = base + (bit >> 3);
  const fb = bit & 7;
  // With fb <= 2 the register lies in one byte: the next one (past the value for the last
  // register) is not read.
  if (fb <= 2) return (r[b]! >> fb) & HLL_REGISTER_MAX;
  return ((r[b]! >> fb) | (r[b + 1]! << (8 - fb))) & HLL_REGISTER_MAX;
}

function denseSetRaw(r: Uint8Array, base: number, reg: number, val: number): void {
  const bit = reg * HLL_BITS;
  const b = base + (bit >> 3);
  const fb = bit & 7;
  const fb8 = 8 - fb;
  r[b] = (r[b]! & ~(HLL_REGISTER_MAX << fb)) | (val << fb);
  if (fb > 2) r[b + 1] = (r[b + 1]! & ~(HLL_REGISTER_MAX >> fb8)) | (val >> fb8);
}

/** hllDenseSet on `work`: 1 when the register grew. */
function denseSet(reg: number, count: number): number {
  if (count > denseGet(work, HLL_HDR_SIZE, reg)) {
    denseSetRaw(work, HLL_HDR_SIZE, reg, count);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Sparse encoding.

const isZero = (b: number): boolean => (b & 0xc0) === 0;
const isXZero = (b: number): boolean => (b & 0xc0) === 0x40;
const valValue = (b: number): number => ((b >> 2) & 0x1f) + 1;
const valLen = (b: number): number => (b & 3) + 1;
const valByte = (val: number, len: number): number => (((val - 1) << 2) | (len - 1) | 0x80);

/** hllSparseToDense on `work`: false when the sparse opcodes do not cover the registers. */
export function hllToDense(): boolean {
  if (work[ENCODING_AT] === HLL_DENSE) return true;
  const d = denseScratch;
  d.fill(0);
  d.set(work.subarray(0, HLL_HDR_SIZE), 0);
  d[ENCODING_AT] = HLL_DENSE;
  let idx = 0;
  let p = HLL_HDR_SIZE;
  while (p < workLen) {
    const b = work[p]!;
    if (isZero(b)) {
      idx += (b & 0x3f) + 1;
      p++;
    } else if (isXZero(b)) {
      idx += (((b & 0x3f) << 8) | work[p + 1]!) + 1;
      p += 2;
    } else {
      let run = valLen(b);
      const v = valValue(b);
      if (run + idx > HLL_REGISTERS) break;
      while (run-- > 0) denseSetRaw(d, HLL_HDR_SIZE, idx++, v);
      p++;
    }
  }
  if (idx !== HLL_REGISTERS) return false;
  work.set(d.subarray(0, HLL_DENSE_SIZE), 0);
  work[HLL_DENSE_SIZE] = 0;
  workLen = HLL_DENSE_SIZE;
  return true;
}

const seq = new Uint8Array(5);

/** hllSparseSet on `work`: 1 updated, 0 unchanged, -1 corrupted. Promotes to dense when count
 * exceeds the sparse range or the value would pass maxBytes. */
function sparseSet(index: number, count: number, maxBytes: number): number {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(index, count);
  const sparse = HLL_HDR_SIZE;
  let end = workLen;
  let p = sparse;
  let first = 0;
  let prev = -1;
  let span = 0;
  while (p < end) {
    const b = work[p]!;
    let oplen = 1;
    if (isZero(b)) span = (b & 0x3f) + 1;
    else if (isXZero(b)) {
      span = (((b & 0x3f) << 8) | work[p + 1]!) + 1;
      oplen = 2;
    } else span = valLen(b);
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span === 0 || p >= end) return -1;
  const op = work[p]!;
  let next = isXZero(op) ? p + 2 : p + 1;
  if (next >= end) next = -1;
  const zero = isZero(op);
  const xzero = isXZero(op);
  const val = !zero && !xzero;
  const runlen = zero ? (op & 0x3f) + 1 : xzero ? (((op & 0x3f) << 8) | work[p + 1]!) + 1 : valLen(op);

  let updated = false;
  if (val) {
    if (valValue(op) >= count) return 0;
    if (runlen === 1) {
      work[p] = valByte(count, 1);
      updated = true;
    }
  }
  if (!updated && zero && runlen === 1) {
    work[p] = valByte(count, 1);
    updated = true;
  }
  if (!updated) {
    let n = 0;
    const last = first + span - 1;
    if (zero || xzero) {
      if (index !== first) n = putZero(n, index - first);
      seq[n++] = valByte(count, 1);
      if (index !== last) n = putZero(n, last - index);
    } else {
      const cur = valValue(op);
      if (index !== first) seq[n++] = valByte(cur, index - first);
      seq[n++] = valByte(count, 1);
      if (index !== last) seq[n++] = valByte(cur, last - index);
    }
    const oldlen = xzero ? 2 : 1;
    const delta = n - oldlen;
    if (delta > 0 && workLen + delta > maxBytes) return promote(index, count);
    if (delta !== 0 && next >= 0) work.copyWithin(next + delta, next, end);
    workLen += delta;
    end += delta;
    work.set(seq.subarray(0, n), p);
  }
  // Merge adjacent VAL opcodes of the same value, scanning up to 5 opcodes from prev.
  p = prev >= 0 ? prev : sparse;
  let scan = 5;
  while (p < end && scan-- > 0) {
    const b = work[p]!;
    if (isXZero(b)) {
      p += 2;
      continue;
    }
    if (isZero(b)) {
      p++;
      continue;
    }
    if (p + 1 < end && !isZero(work[p + 1]!) && !isXZero(work[p + 1]!)) {
      const v1 = valValue(b);
      const v2 = valValue(work[p + 1]!);
      if (v1 === v2) {
        const len = valLen(b) + valLen(work[p + 1]!);
        if (len <= SPARSE_VAL_MAX_LEN) {
          work[p + 1] = valByte(v1, len);
          work.copyWithin(p, p + 1, end);
          workLen--;
          end--;
          continue;
        }
      }
    }
    p++;
  }
  work[workLen] = 0;
  hllInvalidateCache();
  return 1;
}

function putZero(n: number, len: number): number {
  if (len > SPARSE_ZERO_MAX_LEN) {
    seq[n] = ((len - 1) >> 8) | 0x40;
    seq[n + 1] = (len - 1) & 0xff;
    return n + 2;
  }
  seq[n] = len - 1;
  return n + 1;
}

function promote(index: number, count: number): number {
  if (!hllToDense()) return -1;
  return denseSet(index, count);
}

/** PFADD's in-place path for a dense value at buf[off...]: the register the element maps to and
 * its new count, when that count is larger than the register's (then returns the register; the
 * caller writes it with hllDenseSetAt); -1 when the element changes nothing. */
export let denseAddCount = 0;
export function hllDenseAddTarget(buf: Uint8Array, off: number, ele: Uint8Array, eoff: number, elen: number): number {
  const count = patLen(ele, eoff, elen);
  if (count <= denseGet(buf, off + HLL_HDR_SIZE, patIndex)) return -1;
  denseAddCount = count;
  return patIndex;
}

/** Sets register reg of the dense value at buf[off...] to val, and marks its cache stale. */
export function hllDenseSetAt(buf: Uint8Array, off: number, reg: number, val: number): void {
  denseSetRaw(buf, off + HLL_HDR_SIZE, reg, val);
  buf[off + CARD_AT + 7]! |= 0x80;
}

/** hllAdd on `work`: 1 when a register changed, 0 when none did, -1 on a corrupted value. */
export function hllAdd(buf: Uint8Array, off: number, len: number, sparseMaxBytes: number): number {
  const count = patLen(buf, off, len);
  const enc = work[ENCODING_AT];
  if (enc === HLL_DENSE) return denseSet(patIndex, count);
  if (enc === HLL_SPARSE) return sparseSet(patIndex, count, sparseMaxBytes);
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Merging and counting.

/** hllMerge: regs[i] = max(regs[i], register i of the value); false when it is corrupted. */
export function hllMergeInto(regs: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
  if (buf[off + ENCODING_AT] === HLL_DENSE) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const v = denseGetSafe(buf, off + HLL_HDR_SIZE, i, off + len);
      if (v > regs[i]!) regs[i] = v;
    }
    return true;
  }
  let p = off + HLL_HDR_SIZE;
  const end = off + len;
  let i = 0;
  while (p < end) {
    const b = buf[p]!;
    if (isZero(b)) {
      i += (b & 0x3f) + 1;
      p++;
    } else if (isXZero(b)) {
      i += (((b & 0x3f) << 8) | (p + 1 < end ? buf[p + 1]! : 0)) + 1;
      p += 2;
    } else {
      let run = valLen(b);
      const v = valValue(b);
      if (run + i > HLL_REGISTERS) break;
      while (run-- > 0) {
        if (v > regs[i]!) regs[i] = v;
        i++;
      }
      p++;
    }
  }
  return i === HLL_REGISTERS;
}

/** A dense register read that treats the byte after the value as 0 (Redis's sds terminator). */
function denseGetSafe(buf: Uint8Array, base: number, reg: number, end: number): number {
  const bit = reg * HLL_BITS;
  const b = base + (bit >> 3);
  const fb = bit & 7;
  const b1 = b + 1 < end ? buf[b + 1]! : 0;
  return ((buf[b]! >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

function estimate(): number {
  const m = HLL_REGISTERS;
  let z = m * hllTau((m - histo[HLL_Q + 1]!) / m);
  for (let j = HLL_Q; j >= 1; --j) {
    z += histo[j]!;
    z *= 0.5;
  }
  z += m * hllSigma(histo[0]! / m);
  return Math.round((ALPHA_INF * m * m) / z);
}

function hllSigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function hllTau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    z -= Math.pow(1 - x, 2) * y;
  } while (zPrime !== z);
  return z / 3;
}

/** hllCount of raw registers (PFCOUNT of several keys). */
export function hllCountRegs(regs: Uint8Array): number {
  histo.fill(0);
  for (let i = 0; i < HLL_REGISTERS; i++) histo[regs[i]!]!++;
  return estimate();
}

/** hllCount of `work`, stored as its cached cardinality; -1 when the sparse value is corrupted. */
export function hllCountWork(): number {
  histo.fill(0);
  if (work[ENCODING_AT] === HLL_DENSE) {
    for (let i = 0; i < HLL_REGISTERS; i++) histo[denseGet(work, HLL_HDR_SIZE, i)]!++;
  } else {
    let p = HLL_HDR_SIZE;
    let idx = 0;
    while (p < workLen) {
      const b = work[p]!;
      if (isZero(b)) {
        const run = (b & 0x3f) + 1;
        idx += run;
        histo[0]! += run;
        p++;
      } else if (isXZero(b)) {
        const run = (((b & 0x3f) << 8) | work[p + 1]!) + 1;
        idx += run;
        histo[0]! += run;
        p += 2;
      } else {
        const run = valLen(b);
        idx += run;
        histo[valValue(b)]! += run;
        p++;
      }
    }
    if (idx !== HLL_REGISTERS) return -1;
  }
  const n = estimate();
  storeCount(n);
  return n;
}

/** Register i of the dense value in `work` (PFDEBUG GETREG). */
export function hllWorkRegister(i: number): number {
  return denseGet(work, HLL_HDR_SIZE, i);
}

/** PFDEBUG DECODE of the sparse value in `work`: its opcodes as Redis prints them. */
export function hllDecodeSparse(): string {
  const parts: string[] = [];
  let p = HLL_HDR_SIZE;
  while (p < workLen) {
    const b = work[p]!;
    if (isZero(b)) {
      parts.push(`z:${(b & 0x3f) + 1}`);
      p++;
    } else if (isXZero(b)) {
      parts.push(`Z:${(((b & 0x3f) << 8) | work[p + 1]!) + 1}`);
      p += 2;
    } else {
      parts.push(`v:${valValue(b)},${valLen(b)}`);
      p++;
    }
  }
  return parts.join(' ');
}

/** PFMERGE's write of merged registers into `work` (dense first when useDense): false when the
 * destination is corrupted. Invalidates the cached cardinality. */
export function hllStoreRegs(regs: Uint8Array, useDense: boolean, sparseMaxBytes: number): boolean {
  if (useDense && !hllToDense()) return false;
  for (let j = 0; j < HLL_REGISTERS; j++) {
    const v = regs[j]!;
    if (v === 0) continue;
    if (work[ENCODING_AT] === HLL_DENSE) denseSet(j, v);
    else sparseSet(j, v, sparseMaxBytes);
  }
  hllInvalidateCache();
  return true;
}
