// Inputs the fuzzer found that broke a parser or loader, each kept as a test with the seed that
// found it (`npm run fuzz -- --protocol P --seed S --replay I` prints and reruns the input).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { DEFAULT_PARSER_LIMITS, PARSE_COMMAND, PARSE_NEED_MORE, RespParser } from '../../src/protocol/resp-parser.js';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { ShardPersistence } from '../../src/persistence/shard-persistence.js';
import { tempDir } from '../persistence/helpers.js';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

// resp --seed 1 --replay 48: "*1\r\n$536870912\r\nx" made the parser reserve 512 MiB for one byte.
test('resp: an announced big bulk reserves memory only as its bytes arrive', () => {
  const p = new RespParser(DEFAULT_PARSER_LIMITS);
  const before = process.memoryUsage().arrayBuffers;
  p.feed(hex('2a310d0a243533363837303931320d0a'));
  assert.is(p.next(), PARSE_NEED_MORE);
  p.feed(Buffer.from('x'));
  assert.is(p.next(), PARSE_NEED_MORE);
  const held = process.memoryUsage().arrayBuffers - before;
  assert.ok(held < 16 * 1024 * 1024, `parser holds ${held} bytes`);
  // The bulk still arrives whole, in chunks, and is parsed in place.
  const q = new RespParser(DEFAULT_PARSER_LIMITS);
  const len = 5 * 1024 * 1024 + 3;
  q.feed(Buffer.from(`*2\r\n$4\r\nECHO\r\n$${len}\r\n`));
  assert.is(q.next(), PARSE_NEED_MORE);
  const body = Buffer.alloc(len + 2, 0x61);
  body[len] = 13;
  body[len + 1] = 10;
  for (let off = 0; off < body.length; off += 65536) {
    q.feed(body.subarray(off, off + 65536));
    const r = q.next();
    if (off + 65536 < body.length) assert.is(r, PARSE_NEED_MORE);
    else assert.is(r, PARSE_COMMAND);
  }
  assert.is(q.argLen[1], len);
  assert.ok(q.buf.subarray(q.argOff[1]!, q.argOff[1]! + len).every((c) => c === 0x61));
});

// replication --seed 1 --replay 12, 37 and others: records whose checksum matched but whose key or
// value length ran past the payload threw RangeError or KeyspaceFullError (asking the arena for
// 6 GiB) out of apply(), or wrote a key made of the next record's bytes.
test('replication: a checksummed record whose lengths lie is refused with a replication error', () => {
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 20 }));
  const ps = new ShardPersistence(0, ks);
  for (const h of [
    '0900000001000000' + '1bdf05a5' + '0102000200', // a record of 9 bytes that says SET
    '03000300' + '0d000000050000007da4e2bc020000000002000100', // DEL with a 512-byte key in 13 bytes
  ]) {
    const b = hex(h);
    // Recompute each frame's checksum, so that only the shape is wrong.
    const { crc32 } = zlib;
    for (let p = 0; p + 8 <= b.length; ) {
      const len = b.readUInt32LE(p);
      if (p + 8 + len > b.length) break;
      b.writeUInt32LE(crc32(b.subarray(p + 8, p + 8 + len)), p + 4);
      p += 8 + len;
    }
    let err: unknown = null;
    try {
      ps.apply(b, 0, b.length, { shard: 0, shards: 1 }, null);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error && err.message.startsWith('replication: '), String(err));
  }
  ks.checkIntegrity();
  assert.is(ks.size(), 0);
});

// persistence --seed 1 --replay 13: a snapshot header counting 0xffffffff keys made the loader
// reserve an index for 4 billion keys (the keyspace's memory accounting then read NaN).
test('persistence: a lying key count in a snapshot header reserves only what the file can hold', () => {
  const t = tempDir('fuzz-count');
  try {
    const path = t.path('s.tsa');
    writeFileSync(path, hex('5453534e0100000000000000ffffffff260000000ffd98a3010000000c00000010fdd378040000000000000000000000'));
    const ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 20 }));
    const report = new ShardPersistence(0, ks).load({ files: [{ path, kind: 'snapshot', last: false, from: { shard: 0, shards: 1 } }], keep: null, truncateTorn: false, repair: false });
    assert.ok(report.error !== null && /Bad record/.test(report.error), String(report.error));
    ks.checkIntegrity();
  } finally {
    t.cleanup();
  }
});

test.run();
