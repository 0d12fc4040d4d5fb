// Stream ids without BigInt: parsing with Redis's strictness, text, order, increment and
// decrement across the 64-bit halves, and the big-endian bytes, against BigInt arithmetic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sid, sidCmp, sidDecr, sidFromBytes, sidIncr, sidParse, sidString, sidToBytes, SID_MAX } from '../../src/util/stream-id.js';

const M64 = (1n << 64n) - 1n;

function parse(text: string, missingSeq: 0 | 1 = 0): string | null {
  const b = Buffer.from(text);
  const id = sid();
  return sidParse(b, 0, b.length, id, missingSeq) ? sidString(id) : null;
}

test('parses ms and ms-seq as string2ull does', () => {
  assert.is(parse('0'), '0-0');
  assert.is(parse('5', 1), `5-${M64}`);
  assert.is(parse('1-2'), '1-2');
  assert.is(parse('007-01'), '7-1');
  assert.is(parse(`${M64}-${M64}`), `${M64}-${M64}`);
  assert.is(parse('9007199254740993-9007199254740995'), '9007199254740993-9007199254740995');
  for (const bad of ['', '-', '+', '1-', '-1', '1--1', '1-2-3', 'a', '1a', ' 1', '18446744073709551616', '1-18446744073709551616', '123456789012345678901']) {
    assert.is(parse(bad), null, bad);
  }
});

test('order, increment and decrement agree with 128-bit arithmetic', () => {
  let seed = 17;
  const rnd = (): bigint => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const pick = seed % 5;
    return pick === 0 ? 0n : pick === 1 ? M64 : pick === 2 ? M64 - 1n : BigInt(seed) * BigInt(seed) * BigInt(seed);
  };
  for (let i = 0; i < 500; i++) {
    const a = ((rnd() & M64) << 64n) | (rnd() & M64);
    const b = ((rnd() & M64) << 64n) | (rnd() & M64);
    const x = sid();
    const y = sid();
    const text = (v: bigint): string => `${v >> 64n}-${v & M64}`;
    assert.ok(sidParse(Buffer.from(text(a)), 0, text(a).length, x, 0));
    assert.ok(sidParse(Buffer.from(text(b)), 0, text(b).length, y, 0));
    assert.is(sidCmp(x, y), a < b ? -1 : a > b ? 1 : 0);
    const max = (1n << 128n) - 1n;
    assert.is(sidIncr(x), a !== max);
    assert.is(sidString(x), text(a === max ? a : a + 1n));
    const z = sid();
    z.set(y);
    assert.is(sidDecr(z), b !== 0n);
    assert.is(sidString(z), text(b === 0n ? 0n : b - 1n));
    const bytes = new Uint8Array(16);
    sidToBytes(y, bytes, 0);
    assert.is(Buffer.from(bytes).toString('hex'), b.toString(16).padStart(32, '0'));
    const back = sid();
    sidFromBytes(back, bytes, 0);
    assert.is(sidCmp(back, y), 0);
  }
  const m = sid();
  m.set(SID_MAX);
  assert.not.ok(sidIncr(m));
  assert.is(sidString(m), `${M64}-${M64}`);
});

test.run();
