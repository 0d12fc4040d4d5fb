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
import { FrameReader as StreamReader, frame, KIND_FEED } from '../../src/replication/stream.js';
import { encodeMessage, FrameReader as BusReader } from '../../src/cluster/bus-messages.js';
import { busMessage } from './target-bus.js';
import { Prng } from './prng.js';

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

/** Bytes copied by Buffer.concat and Buffer#copy while fn runs (what a reader costs per byte). */
function bytesCopied(fn: () => void): number {
  const concat = Buffer.concat;
  const copy = Buffer.prototype.copy;
  let n = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    n += total ?? list.reduce((a, b) => a + b.length, 0);
    return concat(list, total);
  }) as typeof Buffer.concat;
  Buffer.prototype.copy = function (this: Buffer, target: Uint8Array, ts?: number, ss?: number, se?: number): number {
    const c = copy.call(this, target, ts, ss, se);
    n += c;
    return c;
  };
  try {
    fn();
  } finally {
    Buffer.concat = concat;
    Buffer.prototype.copy = copy;
  }
  return n;
}

// Found while writing the fuzzer's replication and bus targets: both stream readers joined the
// pending bytes with every chunk, so a frame arriving in many pieces was copied once per piece.
test('replication stream: a big frame in small pieces is copied a bounded number of times', () => {
  const payload = Buffer.alloc(4 * 1024 * 1024, 7);
  const bytes = frame(KIND_FEED, 1, payload);
  const r = new StreamReader();
  const frames: Buffer[] = [];
  const copied = bytesCopied(() => {
    for (let off = 0; off < bytes.length; off += 1024) {
      r.push(bytes.subarray(off, off + 1024));
      for (let f = r.next(); f !== null; f = r.next()) frames.push(f.payload);
    }
  });
  assert.is(frames.length, 1);
  assert.ok(frames[0]!.equals(payload));
  assert.is(r.buffered, 0);
  assert.ok(copied <= 3 * bytes.length, `copied ${copied} bytes for a ${bytes.length}-byte frame`);
});

test('cluster bus: a frame sent one byte at a time is copied a bounded number of times', () => {
  const frames = Buffer.concat([0, 1, 2].map((i) => encodeMessage(busMessage(new Prng(i)))));
  const r = new BusReader();
  let got = 0;
  const copied = bytesCopied(() => {
    for (let i = 0; i < frames.length; i++) got += r.push(frames.subarray(i, i + 1)).length;
  });
  assert.is(got, 3);
  assert.is(r.error, null);
  assert.ok(copied <= 4 * frames.length, `copied ${copied} bytes for ${frames.length} bytes of frames`);
});

test.run();
