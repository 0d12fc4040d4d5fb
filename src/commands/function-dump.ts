// FUNCTION DUMP / RESTORE payloads in redis-server 7.0's format: for each library the RDB
// function opcode (245, RDB_OPCODE_FUNCTION2) and its code as an RDB string, then the RDB version
// (2 bytes little-endian) and the CRC-64 of everything before it (8 bytes little-endian).
// Decoding accepts what redis-server writes (LZF-compressed strings included); encoding writes
// plain strings, which redis-server reads as well. The same bytes are the functions file.

import { crc64 } from '../util/crc64.js';

const OPCODE_FUNCTION2 = 245;
/** The RDB version redis-server 7.0 writes, and the newest one it restores. */
export const RDB_VERSION = 10;
const RDB_ENC_LZF = 3;

/** The payload of these libraries' code, in order. */
export function encodeFunctionDump(codes: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const code of codes) {
    parts.push(Buffer.from([OPCODE_FUNCTION2]), rdbLength(code.length), Buffer.from(code));
  }
  const body = Buffer.concat([...parts, Buffer.from([RDB_VERSION & 0xff, RDB_VERSION >> 8])]);
  const out = Buffer.alloc(body.length + 8);
  body.copy(out, 0);
  crc64(body, 0, body.length, out, body.length);
  return out;
}

/** The libraries' code in a payload, or null when its version or checksum is wrong or it is
 * malformed (Redis answers both with the same error). */
export function decodeFunctionDump(p: Uint8Array): Uint8Array[] | null {
  if (p.length < 10) return null;
  const footer = p.length - 10;
  const version = p[footer]! | (p[footer + 1]! << 8);
  if (version > RDB_VERSION) return null;
  const crc = new Uint8Array(8);
  crc64(p, 0, p.length - 8, crc, 0);
  for (let i = 0; i < 8; i++) if (crc[i] !== p[p.length - 8 + i]) return null;
  const codes: Uint8Array[] = [];
  const r = { pos: 0 };
  while (r.pos < footer) {
    if (p[r.pos++] !== OPCODE_FUNCTION2) return null;
    const s = readString(p, r, footer);
    if (s === null) return null;
    codes.push(s);
  }
  return r.pos === footer ? codes : null;
}

function rdbLength(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(n, 1);
  return b;
}

/** An RDB length, or -1 - enc for an encoded string (0xC0 | enc), or NaN when malformed. */
function readLength(p: Uint8Array, r: { pos: number }, end: number): number {
  if (r.pos >= end) return NaN;
  const b = p[r.pos++]!;
  const type = b >> 6;
  if (type === 0) return b & 0x3f;
  if (type === 1) {
    if (r.pos >= end) return NaN;
    return ((b & 0x3f) << 8) | p[r.pos++]!;
  }
  if (type === 3) return -1 - (b & 0x3f);
  if (b === 0x80) {
    if (r.pos + 4 > end) return NaN;
    const n = ((p[r.pos]! << 24) >>> 0) + (p[r.pos + 1]! << 16) + (p[r.pos + 2]! << 8) + p[r.pos + 3]!;
    r.pos += 4;
    return n;
  }
  if (b === 0x81) {
    if (r.pos + 8 > end) return NaN;
    let n = 0;
    for (let i = 0; i < 8; i++) n = n * 256 + p[r.pos + i]!;
    r.pos += 8;
    return n;
  }
  return NaN;
}

function readString(p: Uint8Array, r: { pos: number }, end: number): Uint8Array | null {
  const n = readLength(p, r, end);
  if (Number.isNaN(n)) return null;
  if (n >= 0) {
    if (r.pos + n > end) return null;
    const s = p.slice(r.pos, r.pos + n);
    r.pos += n;
    return s;
  }
  const enc = -1 - n;
  if (enc !== RDB_ENC_LZF) {
    // Integer encodings (0, 1, 2: int8, int16, int32): a library's code is never one, but decode.
    const size = enc === 0 ? 1 : enc === 1 ? 2 : enc === 2 ? 4 : -1;
    if (size < 0 || r.pos + size > end) return null;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + p[r.pos + i]!;
    if (v >= 2 ** (8 * size - 1)) v -= 2 ** (8 * size);
    r.pos += size;
    return Buffer.from(String(v));
  }
  const clen = readLength(p, r, end);
  const len = readLength(p, r, end);
  if (!(clen >= 0) || !(len >= 0) || r.pos + clen > end) return null;
  const out = lzfDecompress(p, r.pos, clen, len);
  r.pos += clen;
  return out;
}

/** LZF (liblzf's lzf_decompress), as RDB strings use it; null when the input is malformed. */
function lzfDecompress(src: Uint8Array, off: number, len: number, outLen: number): Uint8Array | null {
  const out = new Uint8Array(outLen);
  let ip = off;
  let op = 0;
  const end = off + len;
  while (ip < end) {
    let ctrl = src[ip++]!;
    if (ctrl < 32) {
      ctrl++;
      if (op + ctrl > outLen || ip + ctrl > end) return null;
      for (let i = 0; i < ctrl; i++) out[op++] = src[ip++]!;
    } else {
      let l = ctrl >> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (l === 7) {
        if (ip >= end) return null;
        l += src[ip++]!;
      }
      if (ip >= end) return null;
      ref -= src[ip++]!;
      l += 2;
      if (op + l > outLen || ref < 0) return null;
      for (let i = 0; i < l; i++) out[op++] = out[ref++]!;
    }
  }
  return op === outLen ? out : null;
}
