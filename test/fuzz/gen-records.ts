// Record generators for the log and snapshot files and the replication stream (one record format,
// src/persistence/records.ts): valid records from the real encoder; records whose checksum is
// right but whose fields lie (key or value lengths beyond the payload, short payloads, unknown
// ops), as a writer's bug would leave them; and raw damage that the checksum should catch.

import { crc32 } from 'node:zlib';
import { FRAME_HEADER, OP_DEL, OP_END, OP_FLUSH, OP_SET, RecordBuffer } from '../../src/persistence/records.js';
import { mutate, type Prng } from './prng.js';

/** A record with a correct checksum over an arbitrary payload. */
export function rawRecord(payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  b.writeUInt32LE(payload.length, 0);
  b.writeUInt32LE(crc32(payload), 4);
  payload.copy(b, FRAME_HEADER);
  return b;
}

/** A checksummed payload that lies about its own shape. */
function lyingRecord(r: Prng): Buffer {
  const lens = [0, 1, 7, 8, 23, 24, 25, 250, 0x7fffffff, 0xffffffff, r.int(64)];
  switch (r.int(5)) {
    case 0: {
      const p = Buffer.alloc(24 + r.int(16));
      p[0] = OP_SET;
      p.writeUInt32LE(r.pick(lens), 16);
      p.writeUInt32LE(r.pick(lens), 20);
      p.writeDoubleLE(r.pick([0, -1, NaN, Infinity, 1e300, Date.now() + 1e6]), 8);
      return rawRecord(p);
    }
    case 1: {
      const p = Buffer.alloc(r.int(24));
      p[0] = OP_SET;
      return rawRecord(p);
    }
    case 2: {
      const p = Buffer.alloc(r.pick([1, 4, 8, 12]) + r.int(8));
      p[0] = OP_DEL;
      if (p.length >= 8) p.writeUInt32LE(r.pick(lens), 4);
      return rawRecord(p);
    }
    case 3: {
      const p = Buffer.alloc(r.pick([1, 2, 4, 8, 11, 12, 13]));
      p[0] = OP_END;
      return rawRecord(p);
    }
    default:
      return rawRecord(Buffer.from([r.pick([0, 5, 255, OP_FLUSH]), ...r.bytes(r.int(8))]));
  }
}

/** A run of records as a shard writes them (n of them, valid). */
export function validRecords(r: Prng, n: number): { bytes: Buffer; sets: number } {
  const rb = new RecordBuffer(256);
  let sets = 0;
  for (let i = 0; i < n; i++) {
    const k = r.wordBytes(1 + r.int(12));
    const roll = r.int(20);
    if (roll < 14) {
      const v = r.bytes(r.len(r.chance(0.02) ? 20_000 : 64));
      rb.set(k, 0, k.length, v, 0, v.length, 0, r.int(2 ** 32), r.chance(0.2) ? Date.now() + r.range(-5000, 1e7) : 0);
      sets++;
    } else if (roll < 19) {
      rb.del(k, 0, k.length);
    } else {
      rb.flush();
    }
  }
  return { bytes: Buffer.from(rb.buf.subarray(0, rb.length)), sets };
}

/** Records, damaged one way or another (or not at all: `clean`). */
export function recordRun(r: Prng): { bytes: Buffer; clean: boolean } {
  const { bytes } = validRecords(r, r.len(12));
  const roll = r.int(10);
  if (roll < 3) return { bytes, clean: true };
  if (roll < 6) {
    const at = r.int(3);
    const lie = lyingRecord(r);
    return { bytes: at === 0 ? Buffer.concat([lie, bytes]) : Buffer.concat([bytes, lie]), clean: false };
  }
  if (roll < 9) return { bytes: mutate(r, bytes), clean: false };
  // A torn tail: cut anywhere, or zero bytes appended (a crash while appending).
  return { bytes: r.chance(0.5) ? bytes.subarray(0, r.int(bytes.length + 1)) : Buffer.concat([bytes, Buffer.alloc(r.len(64))]), clean: false };
}
