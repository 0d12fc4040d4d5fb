// FUNCTION DUMP payloads against bytes redis-server 7.0 produced: a plain one encodes identically,
// an LZF-compressed one (redis-server compresses long library code) decodes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeFunctionDump, encodeFunctionDump } from '../../src/commands/function-dump.js';

const PLAIN_CODE = "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return 1 end)";
// redis-server 7.0.x: FUNCTION LOAD of PLAIN_CODE, then FUNCTION DUMP.
const PLAIN_DUMP = Buffer.concat([Buffer.from([0xf5, 0x40, 0x50]), Buffer.from(PLAIN_CODE), Buffer.from('0a00bab3ffb4060673aa', 'hex')]);

const BIG_CODE = '#!lua name=big\n' + [0, 1, 2].map((i) => `redis.register_function('fn${i}', function(keys, args) return ${i} end)\n`).join('');
const BIG_DUMP = Buffer.from(
  'f5c3406640d51f23216c7561206e616d653d6269670a72656469732e72656769737465725f66750d6e6374696f6e2827666e30272c20e0000f186b6579732c2061726773292072657475726e203020656e6429e013410031e016410031e018410032e016410032404101290a0a00a4ec5792d08cd51c',
  'hex',
);

test('a plain payload encodes as redis-server writes it', () => {
  assert.equal(encodeFunctionDump([Buffer.from(PLAIN_CODE)]).toString('hex'), PLAIN_DUMP.toString('hex'));
});

test("redis-server's payloads decode, LZF-compressed code included", () => {
  assert.equal(decodeFunctionDump(PLAIN_DUMP)!.map((c) => Buffer.from(c).toString()), [PLAIN_CODE]);
  assert.equal(decodeFunctionDump(BIG_DUMP)!.map((c) => Buffer.from(c).toString()), [BIG_CODE]);
});

test('a damaged payload, a newer RDB version, or an empty one is refused; no libraries round-trip', () => {
  const bad = Buffer.from(PLAIN_DUMP);
  bad[10] = bad[10]! ^ 1;
  assert.is(decodeFunctionDump(bad), null);
  assert.is(decodeFunctionDump(Buffer.from('abc')), null);
  assert.equal(decodeFunctionDump(encodeFunctionDump([])), []);
  const several = [Buffer.from(BIG_CODE), Buffer.from(PLAIN_CODE), Buffer.alloc(20000, 97)];
  assert.equal(decodeFunctionDump(encodeFunctionDump(several))!.map((c) => Buffer.from(c).toString()), several.map((c) => c.toString()));
});

test.run();
