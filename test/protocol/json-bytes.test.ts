// JSON strings from raw bytes: the sizes announced match what is written, and the text reads back
// through JSON.parse as the bytes' UTF-8 (or base64) for every byte value and random inputs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { base64Length, isUtf8Bytes, jsonTextLength, writeBase64, writeJsonText } from '../../src/protocol/json-bytes.js';

function text(src: Uint8Array): string {
  const n = jsonTextLength(src, 0, src.length);
  const dst = Buffer.alloc(n + 4);
  const end = writeJsonText(dst, 2, src, 0, src.length);
  assert.is(end - 2, n, 'announced length');
  return dst.toString('utf8', 2, end);
}

function b64(src: Uint8Array): string {
  const n = base64Length(src.length);
  const dst = Buffer.alloc(n + 4);
  const end = writeBase64(dst, 2, src, 0, src.length);
  assert.is(end - 2, n, 'announced length');
  return dst.toString('latin1', 2, end);
}

test('every ASCII byte, control characters included, escapes as JSON.stringify does', () => {
  for (let c = 0; c < 128; c++) {
    const s = String.fromCharCode(c);
    const got = text(Buffer.from(s, 'latin1'));
    assert.is(JSON.parse(got), s, `byte ${c}`);
    if (c !== 0x7f) assert.is(got, JSON.stringify(s), `byte ${c}`);
  }
  assert.is(text(Buffer.alloc(0)), '""');
});

test('UTF-8 text passes as is; malformed bytes, overlongs and surrogates are not UTF-8', () => {
  const s = 'héllo wörld ☃ 𝄞 "quoted"\n\t\\';
  const u = Buffer.from(s, 'utf8');
  assert.ok(isUtf8Bytes(u, 0, u.length));
  assert.is(JSON.parse(text(u)), s);
  for (const bad of [[0xff], [0xc3], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x61, 0x80]]) {
    assert.not.ok(isUtf8Bytes(Uint8Array.from(bad), 0, bad.length), JSON.stringify(bad));
  }
  // A view into a SharedArrayBuffer, as the keyspace's arena is.
  const sab = new Uint8Array(new SharedArrayBuffer(16));
  sab.set(u.subarray(0, 8), 4);
  assert.ok(isUtf8Bytes(sab, 4, 3));
  assert.not.ok(isUtf8Bytes(sab, 4, 2)); // é cut in half
});

test('base64: padded, reads back to the same bytes, for lengths 0 to 64 and SharedArrayBuffer views', () => {
  for (let n = 0; n <= 64; n++) {
    const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
    assert.equal(Buffer.from(JSON.parse(b64(bytes)) as string, 'base64'), bytes, `length ${n}`);
  }
  const sab = new Uint8Array(new SharedArrayBuffer(8));
  sab.set([1, 2, 3, 255], 2);
  const dst = Buffer.alloc(16);
  const end = writeBase64(dst, 0, sab, 2, 4);
  assert.is(dst.toString('latin1', 0, end), `"${Buffer.from([1, 2, 3, 255]).toString('base64')}"`);
});

test('random valid UTF-8 strings round-trip through JSON.parse', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const pool = ['a', '"', '\\', '\n', '\u0001', '\u001f', 'é', '€', '😀', ' ', '\u2028', '\u007f'];
  for (let i = 0; i < 500; i++) {
    let s = '';
    for (let k = rnd(20); k > 0; k--) s += pool[rnd(pool.length)];
    assert.is(JSON.parse(text(Buffer.from(s, 'utf8'))), s);
  }
});

test.run();
