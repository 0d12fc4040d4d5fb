// memcached wire helpers: number parsing as memcached's safe_strto* functions, headers, expiry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseI32, parseU64, readU64, writeResponseHeader, writeU64, baseOpcode, isQuiet, OP, errorResponse, STATUS } from '../../src/protocol/memcache.js';
import { expiryMs } from '../../src/commands/memcache-family.js';

const b = (s: string): Buffer => Buffer.from(s);

test('parseU64: digits only, up to 2^64-1; bigint above 2^53', () => {
  assert.is(parseU64(b('0'), 0, 1), 0);
  assert.is(parseU64(b('12345'), 0, 5), 12345);
  assert.is(parseU64(b('18446744073709551615'), 0, 20), 18446744073709551615n);
  assert.is(parseU64(b('18446744073709551616'), 0, 20), null);
  for (const bad of ['', '-1', '+1', '1a', ' 1']) assert.is(parseU64(b(bad), 0, bad.length), null, bad);
});

test('parseI32: signed or unsigned 32-bit', () => {
  assert.is(parseI32(b('-1'), 0, 2, true), -1);
  assert.ok(Number.isNaN(parseI32(b('-1'), 0, 2, false)));
  assert.is(parseI32(b('4294967295'), 0, 10, false), 4294967295);
  assert.ok(Number.isNaN(parseI32(b('4294967296'), 0, 10, false)));
  assert.ok(Number.isNaN(parseI32(b('2147483648'), 0, 10, true)));
  assert.ok(Number.isNaN(parseI32(b('abc'), 0, 3, true)));
});

test('64-bit fields and response headers are big-endian', () => {
  const x = Buffer.alloc(8);
  writeU64(x, 0, 2 ** 40 + 5);
  assert.is(x.readBigUInt64BE(0), 2n ** 40n + 5n);
  assert.is(readU64(x, 0), 2 ** 40 + 5);
  writeU64(x, 0, 0xfedcba9876543210n);
  assert.is(readU64(x, 0), 0xfedcba9876543210n);
  const h = Buffer.alloc(24);
  writeResponseHeader(h, 0, OP.GETK, 3, 4, 1, 10, 0xabcd, 2 ** 33 + 1);
  assert.is(h.toString('hex'), '810c0003040000010000000a0000abcd0000000200000001');
  assert.is(errorResponse(OP.GET, STATUS.KEY_ENOENT, 7).subarray(24).toString(), 'Not found');
});

test('quiet opcodes map to their base operation', () => {
  assert.is(baseOpcode(OP.GETKQ), OP.GETK);
  assert.is(baseOpcode(OP.GATQ), OP.GAT);
  assert.ok(isQuiet(OP.SETQ));
  assert.not.ok(isQuiet(OP.NOOP));
});

test('expiry: 0 none, negative expired, relative up to 30 days, absolute beyond', () => {
  const now = 1_700_000_000_000;
  assert.is(expiryMs(now, 0), 0);
  assert.is(expiryMs(now, -1), -1);
  assert.is(expiryMs(now, 100), now + 100_000);
  assert.is(expiryMs(now, 2592000), now + 2592000_000);
  assert.is(expiryMs(now, 2592001), -1, 'an absolute time in 1970 is already past');
  assert.is(expiryMs(now, 1_800_000_000), 1_800_000_000_000);
});

test.run();
