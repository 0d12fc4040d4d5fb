// Redis-exact number parsing and formatting over bytes (buf, off, len), without building strings
// on the fast path. Integers follow util.c string2ll; floats follow string2ld (strtold on x86-64,
// i.e. the x87 80-bit long double) and ld2string. INCRBYFLOAT is emulated bit for bit with an
// exact BigInt model of the 80-bit format (`LongDouble`), because doubles cannot reproduce its output.

const CH_MINUS = 45;
const CH_PLUS = 43;
const CH_DOT = 46;
const CH_0 = 48;
const CH_1 = 49;
const CH_9 = 57;

/** Redis LONG_STR_SIZE: string2ll rejects strings of this length or longer. */
const LONG_STR_SIZE = 21;
/** Redis MAX_LONG_DOUBLE_CHARS: string2ld rejects strings of this length or longer. */
const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

// ---------------------------------------------------------------------------------------------
// Integers (string2ll): optional '-', no '+', no leading zeros except "0" itself ("-0" is
// rejected), no spaces, range -2^63 .. 2^63-1, fewer than 21 bytes.

/**
 * Fast path: the value when the bytes are a valid int64 in string2ll form AND within
 * ±(2^53-1) (Number.isSafeInteger); NaN otherwise. A NaN may still be a valid int64 beyond
 * 2^53: callers that must accept those fall back to parseI64Big. Allocates nothing.
 */
export function parseSafeInt(buf: Uint8Array, off: number, len: number): number {
  // 16 digits and a sign is the longest string that can be a safe integer.
  if (len <= 0 || len > 17) return NaN;
  let i = off;
  const end = off + len;
  let neg = false;
  if (buf[i] === CH_MINUS) {
    neg = true;
    i++;
    if (i === end) return NaN;
  }
  let c = buf[i]!;
  if (c < CH_1 || c > CH_9) return c === CH_0 && len === 1 ? 0 : NaN;
  let v = c - CH_0;
  for (i++; i < end; i++) {
    c = buf[i]!;
    if (c < CH_0 || c > CH_9) return NaN;
    v = v * 10 + (c - CH_0);
  }
  // Rounding is monotonic, so a true value above 2^53-1 never computes to one at or below it.
  if (v > Number.MAX_SAFE_INTEGER) return NaN;
  return neg ? -v : v;
}

/** Exact string2ll: the int64 value, or null when the bytes are not a valid int64. */
export function parseI64Big(buf: Uint8Array, off: number, len: number): bigint | null {
  if (len <= 0 || len >= LONG_STR_SIZE) return null;
  const fast = parseSafeInt(buf, off, len);
  if (!Number.isNaN(fast)) return BigInt(fast);
  let i = off;
  const end = off + len;
  let neg = false;
  if (buf[i] === CH_MINUS) {
    neg = true;
    i++;
    if (i === end) return null;
  }
  let c = buf[i]!;
  if (c < CH_1 || c > CH_9) return null;
  // Accumulate in two safe-integer halves to keep BigInt work to a couple of operations.
  let hi = 0;
  let lo = 0;
  let loDigits = 0;
  for (; i < end; i++) {
    c = buf[i]!;
    if (c < CH_0 || c > CH_9) return null;
    if (loDigits === 15) {
      hi = hi * 1e15 + lo; // happens once at most (<= 20 digits): hi < 1e15 stays exact
      lo = 0;
      loDigits = 0;
    }
    lo = lo * 10 + (c - CH_0);
    loDigits++;
  }
  let v = BigInt(hi) * 10n ** BigInt(loDigits) + BigInt(lo);
  if (neg) v = -v;
  if (v > I64_MAX || v < I64_MIN) return null;
  return v;
}

/**
 * string2ll validity with a double result: NaN when not a valid int64, otherwise the value,
 * exact within ±(2^53-1) and the nearest double beyond (use parseI64Big when exactness matters).
 */
export function parseI64(buf: Uint8Array, off: number, len: number): number {
  const fast = parseSafeInt(buf, off, len);
  if (!Number.isNaN(fast)) return fast;
  const big = parseI64Big(buf, off, len);
  return big === null ? NaN : Number(big);
}

// ---------------------------------------------------------------------------------------------
// x87 80-bit long double, modelled exactly: value = (neg ? -1 : 1) * mant * 2^exp, with
// mant < 2^64 (normal numbers have bit 63 set; subnormals have exp = LD_EXP_MIN). Zero is mant 0.

/** A finite or infinite 80-bit extended-precision value. NaN is never represented. */
export interface LongDouble {
  readonly neg: boolean;
  readonly mant: bigint;
  readonly exp: number;
  readonly inf: boolean;
}

/** Exponent of the least significant mantissa bit of the smallest subnormal: 2^-16445. */
const LD_EXP_MIN = -16445;
/** Largest exponent of a finite value: (2^64-1) * 2^16320 is LDBL_MAX. */
const LD_EXP_MAX = 16320;
const LD_MANT_BITS = 64;
const TWO_64 = 1n << 64n;

const LD_ZERO: LongDouble = { neg: false, mant: 0n, exp: 0, inf: false };
const LD_INF: LongDouble = { neg: false, mant: 0n, exp: 0, inf: true };
const LD_NEG_INF: LongDouble = { neg: true, mant: 0n, exp: 0, inf: true };

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/**
 * Rounds (num / den) * 2^binExp (num >= 0, den > 0) to the nearest long double, ties to even,
 * with subnormals; overflow gives infinity.
 */
function roundToLongDouble(neg: boolean, num: bigint, den: bigint, binExp: number): LongDouble {
  if (num === 0n) return { neg, mant: 0n, exp: 0, inf: false };
  // Scale so that the integer quotient q has 66 or 67 bits: 64 kept, the rest for rounding.
  const shift = 66 - (bitLength(num) - bitLength(den));
  const n = shift >= 0 ? num << BigInt(shift) : num;
  const d = shift >= 0 ? den : den << BigInt(-shift);
  let q = n / d;
  const sticky = n - q * d !== 0n;
  let exp = binExp - shift; // value = (q + frac) * 2^exp
  let drop = bitLength(q) - LD_MANT_BITS;
  if (exp + drop < LD_EXP_MIN) drop = LD_EXP_MIN - exp; // subnormal: fixed exponent
  if (drop > 0) {
    const big = BigInt(drop);
    const lost = q & ((1n << big) - 1n);
    const half = 1n << (big - 1n);
    q >>= big;
    exp += drop;
    if (lost > half || (lost === half && (sticky || (q & 1n) === 1n))) {
      q += 1n;
      if (q === TWO_64) {
        q >>= 1n;
        exp += 1;
      }
    }
  }
  if (exp > LD_EXP_MAX) return neg ? LD_NEG_INF : LD_INF;
  return { neg, mant: q, exp, inf: false };
}

function isSpaceByte(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function lowerAscii(c: number): number {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}

function matchesWordNoCase(buf: Uint8Array, off: number, end: number, word: string): boolean {
  if (end - off !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if (lowerAscii(buf[off + k]!) !== word.charCodeAt(k)) return false;
  }
  return true;
}

function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const l = lowerAscii(c);
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Decimal exponents beyond these certainly overflow / underflow the 80-bit range. */
const DEC_MAG_OVERFLOW = 4934;
const DEC_MAG_UNDERFLOW = -4952;

/**
 * Exact string2ld: the bytes must be one whole strtold number (optional sign, decimal with
 * optional exponent, hexadecimal "0x..p..", "inf" or "infinity" in any case), no leading
 * space, no "nan", not overflowing to ±HUGE_VAL and not underflowing to zero, fewer than 5120
 * bytes. Returns null when Redis would reply "value is not a valid float".
 */
export function parseLongDoubleExact(buf: Uint8Array, off: number, len: number): LongDouble | null {
  if (len <= 0 || len >= MAX_LONG_DOUBLE_CHARS) return null;
  const end = off + len;
  let i = off;
  if (isSpaceByte(buf[i]!)) return null;
  let neg = false;
  if (buf[i] === CH_MINUS || buf[i] === CH_PLUS) {
    neg = buf[i] === CH_MINUS;
    i++;
    if (i === end) return null;
  }
  const first = lowerAscii(buf[i]!);
  if (first === 105 /* i */) {
    if (matchesWordNoCase(buf, i, end, 'inf') || matchesWordNoCase(buf, i, end, 'infinity')) {
      return neg ? LD_NEG_INF : LD_INF;
    }
    return null;
  }
  // Hexadecimal: "0x" then at least one hex digit (else strtold stops after the "0").
  if (buf[i] === CH_0 && i + 1 < end && lowerAscii(buf[i + 1]!) === 120 /* x */) {
    return parseHexLongDouble(buf, i + 2, end, neg);
  }
  let mant = 0n;
  let chunk = 0;
  let chunkDigits = 0;
  let digits = 0; // significant digits taken into mant (leading zeros skipped)
  let sawDigit = false;
  let decExp = 0;
  let seenDot = false;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= CH_0 && c <= CH_9) {
      sawDigit = true;
      if (seenDot) decExp--;
      if (c === CH_0 && digits === 0) continue;
      chunk = chunk * 10 + (c - CH_0);
      chunkDigits++;
      digits++;
      if (chunkDigits === 15) {
        mant = mant * 1000000000000000n + BigInt(chunk);
        chunk = 0;
        chunkDigits = 0;
      }
    } else if (c === CH_DOT && !seenDot) {
      seenDot = true;
    } else {
      break;
    }
  }
  if (!sawDigit) return null;
  if (chunkDigits > 0) mant = mant * 10n ** BigInt(chunkDigits) + BigInt(chunk);
  if (i < end) {
    // Only an exponent may follow, and it must be complete: "1e" or "1e+" leave trailing bytes.
    if (lowerAscii(buf[i]!) !== 101 /* e */) return null;
    i++;
    let expNeg = false;
    if (i < end && (buf[i] === CH_MINUS || buf[i] === CH_PLUS)) {
      expNeg = buf[i] === CH_MINUS;
      i++;
    }
    if (i === end) return null;
    let e = 0;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (c < CH_0 || c > CH_9) return null;
      if (e < 1e9) e = e * 10 + (c - CH_0); // saturates: far beyond any finite long double
    }
    decExp += expNeg ? -e : e;
  }
  if (mant === 0n) return { neg, mant: 0n, exp: 0, inf: false };
  const magnitude = digits + decExp; // value lies in [10^(magnitude-1), 10^magnitude)
  if (magnitude > DEC_MAG_OVERFLOW || magnitude < DEC_MAG_UNDERFLOW) return null;
  const r =
    decExp >= 0
      ? roundToLongDouble(neg, mant * 10n ** BigInt(decExp), 1n, 0)
      : roundToLongDouble(neg, mant, 10n ** BigInt(-decExp), 0);
  if (r.inf || r.mant === 0n) return null; // ERANGE with HUGE_VAL or zero
  return r;
}

function parseHexLongDouble(buf: Uint8Array, i: number, end: number, neg: boolean): LongDouble | null {
  let mant = 0n;
  let sawDigit = false;
  let binExp = 0;
  let seenDot = false;
  for (; i < end; i++) {
    const c = buf[i]!;
    const h = hexValue(c);
    if (h >= 0) {
      sawDigit = true;
      mant = (mant << 4n) | BigInt(h);
      if (seenDot) binExp -= 4;
    } else if (c === CH_DOT && !seenDot) {
      seenDot = true;
    } else {
      break;
    }
  }
  if (!sawDigit) return null; // "0x" alone: strtold parses "0" and leaves "x"
  if (i < end) {
    if (lowerAscii(buf[i]!) !== 112 /* p */) return null;
    i++;
    let expNeg = false;
    if (i < end && (buf[i] === CH_MINUS || buf[i] === CH_PLUS)) {
      expNeg = buf[i] === CH_MINUS;
      i++;
    }
    if (i === end) return null;
    let e = 0;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (c < CH_0 || c > CH_9) return null;
      if (e < 1e9) e = e * 10 + (c - CH_0);
    }
    binExp += expNeg ? -e : e;
  }
  if (mant === 0n) return { neg, mant: 0n, exp: 0, inf: false };
  const top = bitLength(mant) + binExp;
  if (top > LD_EXP_MAX + LD_MANT_BITS + 1 || top < LD_EXP_MIN - 2) return null;
  const r = roundToLongDouble(neg, mant, 1n, binExp);
  if (r.inf || r.mant === 0n) return null;
  return r;
}

/** (long double) v for an int64 v: exact, as the 64-bit mantissa holds every int64. */
export function longDoubleFromBigInt(v: bigint): LongDouble {
  const neg = v < 0n;
  return roundToLongDouble(neg, neg ? -v : v, 1n, 0);
}

/** a + b in long double, one rounding to nearest-even; null when the sum is NaN (inf + -inf). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.inf || b.inf) {
    if (a.inf && b.inf && a.neg !== b.neg) return null;
    return a.inf ? a : b;
  }
  if (a.mant === 0n && b.mant === 0n) return a.neg && b.neg ? a : LD_ZERO;
  if (a.mant === 0n) return b;
  if (b.mant === 0n) return a;
  const e = Math.min(a.exp, b.exp);
  const av = a.mant << BigInt(a.exp - e);
  const bv = b.mant << BigInt(b.exp - e);
  const sum = (a.neg ? -av : av) + (b.neg ? -bv : bv);
  if (sum === 0n) return LD_ZERO; // x + (-x) is +0 when rounding to nearest
  return sum < 0n ? roundToLongDouble(true, -sum, 1n, e) : roundToLongDouble(false, sum, 1n, e);
}

/** The nearest double to a long double (may overflow to ±Infinity or underflow to ±0). */
export function longDoubleToNumber(x: LongDouble): number {
  if (x.inf) return x.neg ? -Infinity : Infinity;
  let v: number;
  if (x.mant === 0n) {
    v = 0;
  } else {
    // Round the mantissa to 53 bits first so the scaling below is a single exact step
    // except in the double subnormal range.
    const bits = bitLength(x.mant);
    let m = x.mant;
    let e = x.exp;
    if (bits > 53) {
      const drop = BigInt(bits - 53);
      const lost = m & ((1n << drop) - 1n);
      const half = 1n << (drop - 1n);
      m >>= drop;
      e += bits - 53;
      if (lost > half || (lost === half && (m & 1n) === 1n)) m += 1n;
    }
    v = Number(m);
    // Scale in steps so that intermediate powers of two stay finite and nonzero.
    while (e > 1000) {
      v *= 2 ** 1000;
      e -= 1000;
    }
    while (e < -1000) {
      v *= 2 ** -1000;
      e += 1000;
    }
    v *= 2 ** e;
  }
  return x.neg ? -v : v;
}

const TEN_17 = 10n ** 17n;

/**
 * ld2string(LD_STR_HUMAN): "%.17Lf" (17 digits after the point, exact binary value rounded
 * half-even like glibc), then trailing zeros and a bare '.' removed, "-0" printed as "0";
 * infinities as "inf" / "-inf". This is what INCRBYFLOAT stores and replies.
 */
export function formatLongDoubleHuman(x: LongDouble): string {
  if (x.inf) return x.neg ? '-inf' : 'inf';
  let scaled: bigint; // round(|x| * 10^17)
  if (x.exp >= 0) {
    scaled = (x.mant << BigInt(x.exp)) * TEN_17;
  } else {
    const sh = BigInt(-x.exp);
    const num = x.mant * TEN_17;
    scaled = num >> sh;
    const rem = num - (scaled << sh);
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (scaled & 1n) === 1n)) scaled += 1n;
  }
  const s = scaled.toString().padStart(18, '0');
  const intPart = s.slice(0, s.length - 17);
  let fracEnd = s.length;
  while (fracEnd > s.length - 17 && s.charCodeAt(fracEnd - 1) === CH_0) fracEnd--;
  const frac = s.slice(s.length - 17, fracEnd);
  const out = (x.neg ? '-' : '') + intPart + (frac.length > 0 ? '.' + frac : '');
  return out === '-0' ? '0' : out;
}

/**
 * INCRBYFLOAT's arithmetic: current + increment in long double, formatted as Redis stores it.
 * Returns null when the result is NaN or infinite ("increment would produce NaN or Infinity").
 */
export function incrByFloat(current: LongDouble, increment: LongDouble): string | null {
  const sum = addLongDouble(current, increment);
  if (sum === null || sum.inf) return null;
  return formatLongDoubleHuman(sum);
}

// ---------------------------------------------------------------------------------------------
// Double-precision conveniences.

/**
 * A double as Redis 7.0 replies it (addReplyDouble: RESP3 ",<text>\r\n", RESP2 bulk <text>):
 * "%.17g", with "inf", "-inf" and "nan" spelled out; exact ties at the 17th significant digit
 * round half-even, as glibc does (V8's toExponential rounds them half-up).
 */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const neg = x < 0;
  const ax = neg ? -x : x;
  let sci = ax.toExponential(16); // 17 significant digits: "d.dddddddddddddddde+X"
  const probe = ax.toExponential(20);
  // probe is "d.ddd…" with 21 digits: the 17th digit is at index 17, the 18th at index 18.
  if (probe.charCodeAt(18) === 53 /* 5 */ && probe.startsWith('000', 19) && isExactDecimal(ax, probe)) {
    // An exact tie: glibc rounds to even, so undo V8's round-half-up when the kept digit is even.
    if ((probe.charCodeAt(17) - CH_0) % 2 === 0) sci = probe.slice(0, 18) + probe.slice(probe.indexOf('e'));
  }
  const ePos = sci.indexOf('e');
  const exp10 = Number(sci.slice(ePos + 1));
  const digits = sci.slice(0, ePos).replace('.', '').replace(/0+$/, '');
  let body: string;
  if (exp10 < -4 || exp10 >= 17) {
    const absExp = Math.abs(exp10);
    body =
      digits[0]! +
      (digits.length > 1 ? '.' + digits.slice(1) : '') +
      (exp10 < 0 ? 'e-' : 'e+') +
      (absExp < 10 ? '0' : '') +
      absExp;
  } else if (exp10 < 0) {
    body = '0.' + '0'.repeat(-exp10 - 1) + digits;
  } else if (digits.length <= exp10 + 1) {
    body = digits + '0'.repeat(exp10 + 1 - digits.length);
  } else {
    body = digits.slice(0, exp10 + 1) + '.' + digits.slice(exp10 + 1);
  }
  return neg ? '-' + body : body;
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** True when the positive finite double x equals the decimal written in `sci` ("d.ddd…e±X") exactly. */
function isExactDecimal(x: number, sci: string): boolean {
  F64[0] = x;
  const bits = U64[0]!;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = biased === 0 ? frac : frac | (1n << 52n);
  const e2 = (biased === 0 ? 1 : biased) - 1075; // x = m * 2^e2
  const ePos = sci.indexOf('e');
  const d = BigInt(sci.slice(0, ePos).replace('.', ''));
  const e10 = Number(sci.slice(ePos + 1)) - (ePos - 2); // decimal = d * 10^e10
  // Compare d * 10^e10 with m * 2^e2 as integers.
  let left = d;
  let right = m;
  if (e10 >= 0) left *= 10n ** BigInt(e10);
  else right *= 10n ** BigInt(-e10);
  if (e2 >= 0) right <<= BigInt(e2);
  else left <<= BigInt(-e2);
  return left === right;
}
