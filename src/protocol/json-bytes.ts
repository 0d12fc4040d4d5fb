// JSON strings made from raw bytes, written straight into a buffer: UTF-8 text escaped as JSON
// requires (RFC 8259), or any bytes as base64. Knows nothing of the server. A caller sizes its
// output first (jsonTextLength / base64Length, quotes included), then writes exactly that many
// bytes (writeJsonText / writeBase64), so a reply can carry its length before its body.

import { isUtf8 } from 'node:buffer';

/** Bytes each input byte takes inside a JSON string (UTF-8 continuation bytes pass as is). */
const ESC_LEN = new Uint8Array(256).fill(1);
for (let b = 0; b < 0x20; b++) ESC_LEN[b] = 6; // \u00XX
for (const b of [8, 9, 10, 12, 13, 34, 92]) ESC_LEN[b] = 2; // \b \t \n \f \r \" \\
const SHORT_ESC: Record<number, number> = { 8: 98, 9: 116, 10: 110, 12: 102, 13: 114, 34: 34, 92: 92 };
const HEX = '0123456789abcdef';

/** Whether buf[off, off+len) is well-formed UTF-8 (no overlong forms, no surrogates). */
export function isUtf8Bytes(buf: Uint8Array, off: number, len: number): boolean {
  if (len === 0) return true;
  for (let i = 0; i < len; i++) if (buf[off + i]! >= 0x80) return isUtf8(buf.subarray(off, off + len));
  return true;
}

/** Length of the quoted JSON string of buf[off, off+len), which must be valid UTF-8. */
export function jsonTextLength(buf: Uint8Array, off: number, len: number): number {
  let n = 2;
  for (let i = 0; i < len; i++) n += ESC_LEN[buf[off + i]!]!;
  return n;
}

/** Writes the quoted JSON string of buf[off, off+len) (valid UTF-8) at dst[p]; returns the end. */
export function writeJsonText(dst: Uint8Array, p: number, buf: Uint8Array, off: number, len: number): number {
  dst[p++] = 34;
  for (let i = 0; i < len; i++) {
    const b = buf[off + i]!;
    const esc = ESC_LEN[b]!;
    if (esc === 1) dst[p++] = b;
    else if (esc === 2) {
      dst[p++] = 92;
      dst[p++] = SHORT_ESC[b]!;
    } else {
      dst[p++] = 92;
      dst[p++] = 117; // u
      dst[p++] = 48;
      dst[p++] = 48;
      dst[p++] = HEX.charCodeAt(b >> 4);
      dst[p++] = HEX.charCodeAt(b & 15);
    }
  }
  dst[p++] = 34;
  return p;
}

/** Length of the quoted base64 string of len bytes. */
export function base64Length(len: number): number {
  return 2 + 4 * Math.ceil(len / 3);
}

/** Writes the quoted base64 (RFC 4648, padded) of buf[off, off+len) at dst[p]; returns the end. */
export function writeBase64(dst: Buffer, p: number, buf: Uint8Array, off: number, len: number): number {
  dst[p++] = 34;
  if (len > 0) p += dst.write(Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('base64'), p, 'latin1');
  dst[p++] = 34;
  return p;
}
