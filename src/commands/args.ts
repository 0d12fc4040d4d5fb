// Reading command arguments without making strings on the fast path: case-insensitive keyword
// compares and integer parsing straight from the argument bytes.

import type { ArgList } from './types.js';
import { parseSafeInt, parseI64Big } from '../util/numbers.js';

/** True when argument i equals `upper` (an upper-case ASCII literal), ignoring case. */
export function argIs(a: ArgList, i: number, upper: string): boolean {
  const len = a.len[i]!;
  if (len !== upper.length) return false;
  const off = a.off[i]!;
  const b = a.buf;
  for (let k = 0; k < len; k++) {
    let c = b[off + k]!;
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== upper.charCodeAt(k)) return false;
  }
  return true;
}

export function argString(a: ArgList, i: number): string {
  const off = a.off[i]!;
  return Buffer.from(a.buf.buffer, a.buf.byteOffset + off, a.len[i]!).toString('utf8');
}

export function argLower(a: ArgList, i: number): string {
  return argString(a, i).toLowerCase();
}

/** A copy of argument i (safe to keep after the handler returns). */
export function argCopy(a: ArgList, i: number): Buffer {
  const off = a.off[i]!;
  return Buffer.from(a.buf.subarray(off, off + a.len[i]!));
}

/** Argument i as an integer within ±2^53, or NaN when it is not an integer Redis would accept
 * or is beyond that range (callers needing full int64 use argBigInt). */
export function argInt(a: ArgList, i: number): number {
  return parseSafeInt(a.buf, a.off[i]!, a.len[i]!);
}

export function argBigInt(a: ArgList, i: number): bigint | null {
  return parseI64Big(a.buf, a.off[i]!, a.len[i]!);
}

/** An ArgList over standalone buffers (for main-thread helpers building commands). */
/** A copy of a command's arguments that outlives the receive buffer (a request held for later). */
export function copyArgList(a: ArgList): ArgList {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < a.argc; i++) parts.push(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
  return argListOf(parts);
}

export function argListOf(parts: ReadonlyArray<Uint8Array | string>): ArgList {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const buf = new Uint8Array(total);
  const off = new Int32Array(bufs.length);
  const len = new Int32Array(bufs.length);
  let p = 0;
  bufs.forEach((b, i) => {
    buf.set(b, p);
    off[i] = p;
    len[i] = b.length;
    p += b.length;
  });
  return { buf, off, len, argc: bufs.length };
}

/** Printable form of the first arguments for "unknown command" errors, as Redis 7 builds it:
 * quoted arguments while the text is under 128 characters, each cut to what is left of that. */
export function argsPreview(a: ArgList, from: number): string {
  let s = '';
  for (let i = from; i < a.argc && s.length < 128; i++) {
    s += `'${argString(a, i).slice(0, 128 - s.length)}' `;
  }
  return s;
}

/** Argument i as an int64 (as a double, exact within ±2^53), or NaN when not an integer. */
export function argI64(a: ArgList, i: number): number {
  const n = parseSafeInt(a.buf, a.off[i]!, a.len[i]!);
  if (!Number.isNaN(n)) return n;
  const b = parseI64Big(a.buf, a.off[i]!, a.len[i]!);
  return b === null ? NaN : Number(b);
}
