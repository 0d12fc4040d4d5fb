// The reader's classification of damage: a cut inside the last record or zero bytes after the
// last record are 'torn' (a crash while appending); a bad record followed by more data is
// 'corrupt'; a bad header is corrupt at 0. Every record before the damage is delivered.
import { readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readRecords } from '../../src/persistence/record-reader.js';
import { FILE_HEADER, FRAME_HEADER, MAGIC_LOG, MAGIC_SNAPSHOT, RecordBuffer } from '../../src/persistence/records.js';
import { b, decode, frameOffsets, rng, randomBytes, tempDir, type Decoded } from './helpers.js';

const tmp = tempDir('damage');
test.after(() => tmp.cleanup());

/** A log of a few records of different sizes; its bytes, frame offsets and decoded records. */
function sample(): { file: Buffer; offs: number[]; want: Decoded[] } {
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_LOG, 0);
  const rand = rng(11);
  r.set(b('first'), 0, 5, b('one'), 0, 3, 0, 0, 0);
  r.del(b('gone'), 0, 4);
  const v = randomBytes(rand, 300);
  r.set(b('middle'), 0, 6, v, 0, v.length, 0, 77, 1_800_000_000_000);
  r.flush();
  const v2 = randomBytes(rand, 90);
  r.set(b('fifth'), 0, 5, v2, 0, v2.length, 0, 1, 0);
  const v3 = randomBytes(rand, 120);
  r.set(b('last-record'), 0, 11, v3, 0, v3.length, 0, 3, 1_900_000_000_000);
  const file = Buffer.from(r.buf.subarray(0, r.length));
  const want: Decoded[] = [];
  readRecords(writeTmp('sample', file), MAGIC_LOG, (op, buf, q, len) => want.push(decode(op, buf, q, len)));
  const offs = frameOffsets(file);
  assert.is(offs.length, 6);
  assert.is(want.length, 6);
  return { file, offs, want };
}

function writeTmp(name: string, data: Uint8Array): string {
  const path = tmp.path(`${name}.tsr`);
  writeFileSync(path, data);
  return path;
}

function read(path: string, magic = MAGIC_LOG): { got: Decoded[]; o: ReturnType<typeof readRecords> } {
  const got: Decoded[] = [];
  const o = readRecords(path, magic, (op, buf, q, len) => got.push(decode(op, buf, q, len)));
  return { got, o };
}

test('intact sample: no damage', () => {
  const { file, want } = sample();
  const { got, o } = read(writeTmp('intact', file));
  assert.equal(got, want);
  assert.is(o.damage, null);
  assert.is(o.validBytes, file.length);
});

test('cut at every byte offset inside the last record: torn at its offset, the others delivered', () => {
  const { file, offs, want } = sample();
  const last = offs.at(-1)!;
  for (let cut = last + 1; cut < file.length; cut++) {
    const { got, o } = read(writeTmp('cut', file.subarray(0, cut)));
    assert.ok(o.damage !== null, `cut at ${cut}: damage expected`);
    assert.is(o.damage!.kind, 'torn', `cut at ${cut}: ${o.damage!.reason}`);
    assert.is(o.damage!.offset, last, `cut at ${cut}`);
    assert.is(o.validBytes, last);
    assert.is(o.fileBytes, cut);
    assert.is(o.records, want.length - 1);
    assert.equal(got, want.slice(0, -1));
  }
  // Cut exactly at the record boundary: a shorter, intact file.
  const { got, o } = read(writeTmp('cut', file.subarray(0, last)));
  assert.is(o.damage, null);
  assert.equal(got, want.slice(0, -1));
});

test('cut at every byte offset inside every record: torn at that record', () => {
  const { file, offs, want } = sample();
  const ends = [...offs.slice(1), file.length];
  offs.forEach((start, i) => {
    for (let cut = start + 1; cut < ends[i]!; cut++) {
      const { got, o } = read(writeTmp('cut-any', file.subarray(0, cut)));
      assert.is(o.damage?.kind, 'torn', `record ${i}, cut at ${cut}`);
      assert.is(o.damage!.offset, start);
      assert.equal(got, want.slice(0, i));
    }
  });
});

test('a flipped byte in a middle record (payload or checksum): corrupt at its offset', () => {
  const { file, offs, want } = sample();
  for (let i = 0; i < offs.length - 1; i++) {
    const start = offs[i]!;
    const end = offs[i + 1]!;
    // Bytes 4.. of the frame: the checksum and the payload (the length field is covered below).
    for (let at = start + 4; at < end; at++) {
      const bad = Buffer.from(file);
      bad[at] = bad[at]! ^ 0x5a;
      const { got, o } = read(writeTmp('flip-mid', bad));
      assert.is(o.damage?.kind, 'corrupt', `record ${i}, byte ${at - start}: ${o.damage?.reason}`);
      assert.is(o.damage!.offset, start);
      assert.is(o.validBytes, start);
      assert.equal(got, want.slice(0, i));
    }
  }
});

test('a flipped byte in the last record (payload or checksum): torn at its offset', () => {
  const { file, offs, want } = sample();
  const start = offs.at(-1)!;
  for (let at = start + 4; at < file.length; at++) {
    const bad = Buffer.from(file);
    bad[at] = bad[at]! ^ 0x01;
    const { got, o } = read(writeTmp('flip-last', bad));
    assert.is(o.damage?.kind, 'torn', `byte ${at - start}`);
    assert.is(o.damage!.offset, start);
    assert.equal(got, want.slice(0, -1));
  }
});

test('a length field grown past the end of the file in the last record: torn', () => {
  const { file, offs, want } = sample();
  const start = offs.at(-1)!;
  for (let k = 1; k < 4; k++) {
    const bad = Buffer.from(file);
    bad[start + k] = 0x7f;
    const { got, o } = read(writeTmp('len-last', bad));
    assert.is(o.damage?.kind, 'torn');
    assert.is(o.damage!.offset, start);
    assert.equal(got, want.slice(0, -1));
  }
});

test('a length field of 0 or over the maximum in a middle record: corrupt', () => {
  const { file, offs, want } = sample();
  for (const i of [1, 3]) {
    const bad = Buffer.from(file);
    bad.writeUInt32LE(0, offs[i]!);
    let { got, o } = read(writeTmp('len0', bad));
    assert.is(o.damage?.kind, 'corrupt');
    assert.is(o.damage!.offset, offs[i]);
    assert.equal(got, want.slice(0, i));
    bad.writeUInt32LE(0xffffffff, offs[i]!);
    ({ got, o } = read(writeTmp('lenmax', bad)));
    assert.is(o.damage?.kind, 'corrupt');
    assert.is(o.damage!.offset, offs[i]);
  }
});

test('a length field shrunk inside a middle record: corrupt', () => {
  const { file, offs, want } = sample();
  const i = 2; // the 300-byte value
  const bad = Buffer.from(file);
  bad.writeUInt32LE(bad.readUInt32LE(offs[i]!) - 10, offs[i]!);
  const { got, o } = read(writeTmp('len-shrunk', bad));
  assert.is(o.damage?.kind, 'corrupt');
  assert.is(o.damage!.offset, offs[i]);
  assert.equal(got, want.slice(0, i));
});

test('zero-filled tail after the last record: torn at the end of the valid data', () => {
  const { file, want } = sample();
  for (const zeros of [1, 7, 8, 9, 4096, 100_000]) {
    const { got, o } = read(writeTmp('zeros', Buffer.concat([file, Buffer.alloc(zeros)])));
    assert.is(o.damage?.kind, 'torn', `${zeros} zero bytes`);
    assert.is(o.damage!.offset, file.length);
    assert.is(o.validBytes, file.length);
    assert.equal(got, want);
  }
});

test('last record zeroed out (length written, data lost): torn at its offset', () => {
  const { file, offs, want } = sample();
  const start = offs.at(-1)!;
  const bad = Buffer.from(file);
  bad.fill(0, start);
  let { got, o } = read(writeTmp('zero-last', bad));
  assert.is(o.damage?.kind, 'torn');
  assert.is(o.damage!.offset, start);
  assert.equal(got, want.slice(0, -1));
  // Header kept, payload and checksum zeroed: a checksum mismatch at the end of the file.
  const bad2 = Buffer.from(file);
  bad2.fill(0, start + 4);
  ({ got, o } = read(writeTmp('zero-last2', bad2)));
  assert.is(o.damage?.kind, 'torn');
  assert.is(o.damage!.offset, start);
  assert.equal(got, want.slice(0, -1));
});

test('zero bytes in the middle followed by data: corrupt', () => {
  const { file, offs, want } = sample();
  const bad = Buffer.from(file);
  bad.fill(0, offs[2]!, offs[3]!);
  const { got, o } = read(writeTmp('zero-mid', bad));
  assert.is(o.damage?.kind, 'corrupt');
  assert.is(o.damage!.offset, offs[2]);
  assert.equal(got, want.slice(0, 2));
});

test('unknown record type with a valid checksum: corrupt', () => {
  const { file, offs, want } = sample();
  const bad = Buffer.from(file);
  const at = offs[1]!;
  const len = bad.readUInt32LE(at);
  bad[at + FRAME_HEADER] = 9;
  bad.writeUInt32LE(crc32(bad.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len)), at + 4);
  const { got, o } = read(writeTmp('op9', bad));
  assert.is(o.damage?.kind, 'corrupt');
  assert.is(o.damage!.offset, at);
  assert.match(o.damage!.reason, /unknown record type 9/);
  assert.equal(got, want.slice(0, 1));
});

test('bad header: wrong magic, wrong version, wrong kind of file: corrupt at 0, nothing delivered', () => {
  const { file } = sample();
  const cases: Array<[string, Buffer, number]> = [];
  const m = Buffer.from(file);
  m[0] = m[0]! ^ 1;
  cases.push(['magic', m, MAGIC_LOG]);
  const v = Buffer.from(file);
  v.writeUInt32LE(2, 4);
  cases.push(['version', v, MAGIC_LOG]);
  cases.push(['log read as snapshot', file, MAGIC_SNAPSHOT]);
  cases.push(['garbage', Buffer.from('this is not a Tessera file at all, really'), MAGIC_LOG]);
  for (const [name, data, magic] of cases) {
    const { got, o } = read(writeTmp('hdr', data), magic);
    assert.is(o.damage?.kind, 'corrupt', name);
    assert.is(o.damage!.offset, 0, name);
    assert.is(o.validBytes, 0, name);
    assert.is(got.length, 0, name);
  }
});

test('a file shorter than its header: torn at 0', () => {
  const { file } = sample();
  for (const n of [0, 1, FILE_HEADER - 1]) {
    const { got, o } = read(writeTmp('short', file.subarray(0, n)));
    assert.is(o.damage?.kind, 'torn', `${n} bytes`);
    assert.is(o.damage!.offset, 0);
    assert.is(got.length, 0);
  }
  // Exactly the header: an empty, intact file.
  const { o } = read(writeTmp('short', file.subarray(0, FILE_HEADER)));
  assert.is(o.damage, null);
});

test('damage after a record larger than the read chunk is found at the right offset', () => {
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_LOG, 0);
  const big = randomBytes(rng(5), 9 * 1024 * 1024);
  r.set(b('big'), 0, 3, big, 0, big.length, 0, 0, 0);
  r.set(b('a'), 0, 1, b('1'), 0, 1, 0, 0, 0);
  r.set(b('b'), 0, 1, b('2'), 0, 1, 0, 0, 0);
  r.set(b('c'), 0, 1, b('3'), 0, 1, 0, 0, 0);
  const file = Buffer.from(r.buf.subarray(0, r.length));
  const offs = frameOffsets(file);
  const corrupt = Buffer.from(file);
  corrupt[offs[2]! + FRAME_HEADER + 2] = corrupt[offs[2]! + FRAME_HEADER + 2]! ^ 0xff;
  let { got, o } = read(writeTmp('big-corrupt', corrupt));
  assert.is(o.damage?.kind, 'corrupt');
  assert.is(o.damage!.offset, offs[2]);
  assert.is(got.length, 2);
  ({ got, o } = read(writeTmp('big-torn', file.subarray(0, file.length - 1))));
  assert.is(o.damage?.kind, 'torn');
  assert.is(o.damage!.offset, offs[3]);
  assert.is(got.length, 3);
  // Cut inside the big record itself.
  ({ got, o } = read(writeTmp('big-cut', file.subarray(0, offs[0]! + 5 * 1024 * 1024))));
  assert.is(o.damage?.kind, 'torn');
  assert.is(o.damage!.offset, offs[0]);
  assert.is(got.length, 0);
  assert.is(readFileSync(tmp.path('big-cut.tsr')).length, offs[0]! + 5 * 1024 * 1024);
});

test.run();
