// Record encoding (records.ts) and reading back (record-reader.ts): every record kind round-trips,
// values larger than the reader's 8 MiB chunk, long keys, a long random stream across chunks.
import { writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readRecords } from '../../src/persistence/record-reader.js';
import { FILE_HEADER, FORMAT_VERSION, MAGIC_LOG, MAGIC_SNAPSHOT, RecordBuffer } from '../../src/persistence/records.js';
import { b, decode, readAll, rng, randomBytes, tempDir, valueId, type Decoded } from './helpers.js';

const tmp = tempDir('records');
test.after(() => tmp.cleanup());

function writeBuffer(path: string, r: RecordBuffer): void {
  writeFileSync(path, r.buf.subarray(0, r.length));
}

function setRec(r: RecordBuffer, key: Uint8Array, value: Uint8Array, flags = 0, expireAt = 0, type = 0): Decoded {
  r.set(key, 0, key.length, value, 0, value.length, type, flags, expireAt);
  return { op: 'set', key: Buffer.from(key).toString('latin1'), value: valueId(value), type, flags: flags >>> 0, expireAt };
}

function delRec(r: RecordBuffer, key: Uint8Array): Decoded {
  r.del(key, 0, key.length);
  return { op: 'del', key: Buffer.from(key).toString('latin1') };
}

test('file header: magic, version, shard', () => {
  const r = new RecordBuffer(16);
  r.fileHeader(MAGIC_SNAPSHOT, 7);
  assert.is(r.length, FILE_HEADER);
  assert.is(r.buf.readUInt32LE(0), MAGIC_SNAPSHOT);
  assert.is(r.buf.readUInt32LE(4), FORMAT_VERSION);
  assert.is(r.buf.readUInt32LE(8), 7);
  assert.is(r.buf.readUInt32LE(12), 0);
  assert.is(r.buf.toString('latin1', 0, 4), 'TSSN');
  const l = new RecordBuffer(16);
  l.fileHeader(MAGIC_LOG, 0);
  assert.is(l.buf.toString('latin1', 0, 4), 'TSRA');
});

test('SET (flags, expiry, empty and long keys/values), DEL, FLUSH, END round trip', () => {
  const path = tmp.path('kinds.tsr');
  const r = new RecordBuffer(32); // starts tiny: reserve() must grow it many times
  r.fileHeader(MAGIC_SNAPSHOT, 3);
  const want: Decoded[] = [];
  want.push(setRec(r, b('plain'), b('value')));
  want.push(setRec(r, b('flags'), b('v'), 0xffffffff, 0));
  want.push(setRec(r, b('flags-neg'), b('v'), -2, 0)); // stored as u32
  want.push(setRec(r, b('expiry'), b('v'), 0, 1_700_000_000_123));
  want.push(setRec(r, b('expiry-f64'), b('v'), 5, 1_700_000_000_000.25));
  want.push(setRec(r, b('empty-value'), new Uint8Array(0)));
  want.push(setRec(r, new Uint8Array(0), b('empty key')));
  // A set's image: a PACK of one member 't' (records carry typed values as their portable image).
  want.push(setRec(r, b('type'), Uint8Array.from([1, 1, 0, 0, 0, 1, 0x74]), 0, 0, 2));
  const r1 = rng(1);
  want.push(setRec(r, randomBytes(r1, 65), randomBytes(r1, 65))); // just over the copy loop
  want.push(setRec(r, randomBytes(r1, 64), randomBytes(r1, 64)));
  const longKey = randomBytes(r1, 70_000); // > 64 KiB
  want.push(setRec(r, longKey, b('long key'), 9, 123));
  want.push(delRec(r, b('plain')));
  want.push(delRec(r, new Uint8Array(0)));
  want.push(delRec(r, longKey));
  r.flush();
  want.push({ op: 'flush' });
  want.push(setRec(r, b('after flush'), randomBytes(r1, 1000)));
  r.end(want.length);
  writeBuffer(path, r);

  const { records, outcome } = readAll(path, MAGIC_SNAPSHOT);
  assert.equal(records, want);
  assert.is(outcome.damage, null);
  assert.is(outcome.records, want.length + 1, 'END counts as a record but is not visited');
  assert.is(outcome.endCount, want.length);
  assert.is(outcome.validBytes, r.length);
  assert.is(outcome.fileBytes, r.length);
});

test('END record: counts of 2^32 and more', () => {
  const path = tmp.path('end.tsr');
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_SNAPSHOT, 0);
  r.end(2 ** 32 + 5);
  writeBuffer(path, r);
  const o = readRecords(path, MAGIC_SNAPSHOT, () => assert.unreachable('END is not visited'));
  assert.is(o.endCount, 2 ** 32 + 5);
  assert.is(o.damage, null);
});

test('an empty file (header only) and no END: no records, no damage', () => {
  const path = tmp.path('empty.tsr');
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_LOG, 0);
  writeBuffer(path, r);
  const o = readRecords(path, MAGIC_LOG, () => assert.unreachable());
  assert.equal({ ...o }, { records: 0, validBytes: FILE_HEADER, fileBytes: FILE_HEADER, damage: null, endCount: null });
});

test('values larger than the 8 MiB read chunk, first, in the middle and last', () => {
  const path = tmp.path('big.tsr');
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_LOG, 1);
  const r2 = rng(2);
  const want: Decoded[] = [];
  want.push(setRec(r, b('big1'), randomBytes(r2, 9 * 1024 * 1024 + 3), 1, 0));
  for (let i = 0; i < 100; i++) want.push(setRec(r, b(`small${i}`), randomBytes(r2, 1 + (i % 50))));
  // Starts a few bytes before the 8 MiB mark of the reader's buffer, so it straddles a refill.
  want.push(setRec(r, b('big2'), randomBytes(r2, 12 * 1024 * 1024), 2, 42));
  want.push(delRec(r, b('big1')));
  want.push(setRec(r, b('big3'), randomBytes(r2, 8 * 1024 * 1024 - 30))); // frame exactly fills 8 MiB
  want.push(setRec(r, b('big4'), randomBytes(r2, 8 * 1024 * 1024 - 29))); // one byte over
  writeBuffer(path, r);
  const { records, outcome } = readAll(path, MAGIC_LOG);
  assert.is(outcome.damage, null);
  assert.is(outcome.validBytes, r.length);
  assert.is(records.length, want.length);
  assert.equal(records, want);
});

test('a stream of many random records across many chunks reads back identically', () => {
  const path = tmp.path('stream.tsr');
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_LOG, 2);
  const rand = rng(3);
  const want: Decoded[] = [];
  let bytes = 0;
  while (bytes < 40 * 1024 * 1024) {
    const x = rand();
    const klen = rand() < 0.05 ? (rand() * 3000) | 0 : (rand() * 40) | 0;
    const key = randomBytes(rand, klen);
    if (x < 0.75) {
      const vlen = rand() < 0.02 ? (rand() * 2_000_000) | 0 : (rand() * 600) | 0;
      const flags = rand() < 0.3 ? (rand() * 2 ** 32) >>> 0 : 0;
      const at = rand() < 0.3 ? Math.floor(1.7e12 + rand() * 1e10) : 0;
      want.push(setRec(r, key, randomBytes(rand, vlen), flags, at));
      bytes += vlen + klen;
    } else if (x < 0.99) {
      want.push(delRec(r, key));
      bytes += klen;
    } else {
      r.flush();
      want.push({ op: 'flush' });
    }
  }
  writeBuffer(path, r);
  let progress = 0;
  const got: Decoded[] = [];
  const o = readRecords(path, MAGIC_LOG, (op, buf, q, len) => got.push(decode(op, buf, q, len)), () => progress++);
  assert.is(o.damage, null);
  assert.is(o.records, want.length);
  assert.is(o.validBytes, r.length);
  assert.is(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) assert.unreachable(`record ${i} differs: ${JSON.stringify(got[i]).slice(0, 200)} vs ${JSON.stringify(want[i]).slice(0, 200)}`);
  }
  assert.ok(progress === 0 || r.length >= 64 * 1024 * 1024, 'progress is reported every 64 MiB');
});

test('RecordBuffer.reset keeps small buffers and drops large ones', () => {
  const r = new RecordBuffer(16);
  const big = new Uint8Array(3 * 1024 * 1024);
  r.set(b('k'), 0, 1, big, 0, big.length, 0, 0, 0);
  assert.ok(r.buf.length >= big.length);
  r.reset(1024);
  assert.is(r.length, 0);
  assert.is(r.buf.length, 1024);
  r.set(b('k'), 0, 1, b('v'), 0, 1, 0, 0, 0);
  const kept = r.buf;
  r.reset(1024);
  assert.is(r.buf, kept);
});

test('key and value taken at offsets inside larger buffers', () => {
  const path = tmp.path('offsets.tsr');
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_LOG, 0);
  const src = b('xxKEYyyVALUEzz');
  r.set(src, 2, 3, src, 7, 5, 0, 0, 0);
  const longSrc = new Uint8Array(500).map((_, i) => i & 0xff);
  r.set(longSrc, 10, 100, longSrc, 200, 300, 0, 0, 0);
  r.del(src, 2, 3);
  writeBuffer(path, r);
  const { records } = readAll(path, MAGIC_LOG);
  assert.equal(records, [
    { op: 'set', key: 'KEY', value: valueId(b('VALUE')), type: 0, flags: 0, expireAt: 0 },
    { op: 'set', key: Buffer.from(longSrc.subarray(10, 110)).toString('latin1'), value: valueId(longSrc.subarray(200, 500)), type: 0, flags: 0, expireAt: 0 },
    { op: 'del', key: 'KEY' },
  ]);
});

test.run();
