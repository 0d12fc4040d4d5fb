// Sorted-set scores as Redis 7.0 reads and writes them: arguments parsed with strtod's grammar
// (decimal, hex, inf/infinity; never NaN) under the two rule sets Redis applies (string2d for
// scores and weights, zslParseRange for range bounds), and replies formatted as addReplyDouble
// ("%.17g", "inf", "-inf"; RESP3 doubles). Reused by every family that reads or writes scores.

import type { RespWriter } from '../protocol/resp-writer.js';
import { formatDouble } from '../util/numbers.js';

export { formatDouble as formatScore };

/** Set by parseRangeScore: the bound was given with '(' (exclusive). */
export let exclusive = false;

const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const HEX = /^([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?$/;
const INF = /^[+-]?inf(?:inity)?$/i;

/** Set by strtodAll: the value overflowed to infinity or underflowed to zero (strtod's ERANGE
 * cases that Redis's string2d refuses). */
let rangeError = false;

/** s as strtod reads it when it consumes all of s (no leading whitespace), NaN when it does not
 * or s is a NaN; rangeError tells an overflow or an underflow to zero. */
function strtodAll(s: string): number {
  rangeError = false;
  if (DECIMAL.test(s)) {
    const v = Number(s);
    if (!Number.isFinite(v)) rangeError = true;
    else if (v === 0 && /[1-9]/.test(s.replace(/[eE].*$/, ''))) rangeError = true;
    return v;
  }
  if (INF.test(s)) return s.charCodeAt(0) === 45 ? -Infinity : Infinity;
  const h = HEX.exec(s);
  if (h !== null) {
    const digits = h[2]!;
    const dot = digits.indexOf('.');
    const intDigits = dot < 0 ? digits : digits.slice(0, dot);
    const fracDigits = dot < 0 ? '' : digits.slice(dot + 1);
    const mant = BigInt('0x0' + intDigits + fracDigits);
    const exp = Number(h[3] ?? '0') - 4 * fracDigits.length;
    const v = bigTimesPow2(mant, exp);
    if (!Number.isFinite(v)) rangeError = true;
    else if (v === 0 && mant !== 0n) rangeError = true;
    return h[1] === '-' ? -v : v;
  }
  return NaN;
}

/** mant * 2^exp rounded to a double (exact when mant has at most 53 significant bits). */
function bigTimesPow2(mant: bigint, exp: number): number {
  if (mant === 0n) return 0;
  // Keep 64 significant bits so that one rounding (Number of a 64-bit integer) stays close.
  const bits = mant.toString(2).length;
  if (bits > 64) {
    const drop = bits - 64;
    mant = (mant >> BigInt(drop)) | ((mant & ((1n << BigInt(drop)) - 1n)) !== 0n ? 1n : 0n);
    exp += drop;
  }
  let v = Number(mant);
  // Scale in steps that neither overflow nor underflow early.
  while (exp > 0) {
    const k = Math.min(exp, 1000);
    v *= 2 ** k;
    exp -= k;
  }
  while (exp < 0) {
    const k = Math.min(-exp, 1000);
    v /= 2 ** k;
    exp += k;
  }
  return v;
}

function latin1(buf: Uint8Array, off: number, len: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('latin1');
}

/** A score or weight argument as Redis's string2d reads it (strtod over the whole argument, no
 * leading space, no overflow or underflow to zero, not NaN), or NaN when it is not one. */
export function parseScore(buf: Uint8Array, off: number, len: number): number {
  if (len === 0) return NaN;
  const v = strtodAll(latin1(buf, off, len));
  return rangeError ? NaN : v;
}

/** A ZRANGEBYSCORE/ZCOUNT bound as zslParseRange reads it: '(' makes it exclusive (left in
 * `exclusive`), then plain strtod (leading spaces skipped, overflow and underflow accepted, the
 * empty string is 0, reading stops at a NUL byte); NaN when it is not one. */
export function parseRangeScore(buf: Uint8Array, off: number, len: number): number {
  exclusive = len > 0 && buf[off] === 40; // (
  if (exclusive) {
    off++;
    len--;
  }
  const nul = buf.subarray(off, off + len).indexOf(0);
  if (nul >= 0) len = nul;
  if (len === 0) return 0; // strtod converts nothing and stops at the end: 0
  const s = latin1(buf, off, len).replace(/^[ \t\n\v\f\r]+/, '');
  return strtodAll(s);
}

/** Replies a score as Redis's addReplyDouble: a RESP3 double, or a bulk string in RESP2. */
export function replyScore(out: RespWriter, x: number): void {
  out.double(x);
}
