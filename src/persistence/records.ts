// The one record format of logs and snapshots: [u32 payload length][u32 CRC-32 of the payload]
// [payload], little-endian. A payload is an effect on one key, stated as the key's resulting state,
// so that replaying a record twice is harmless (a rewrite may log a change that its snapshot also
// holds; see append-log.ts):
//   SET    op type 0 0 | flags u32 | expireAt f64 (absolute ms, 0 = none) | klen u32 | vlen u32 | key | value
//   DEL    op 0 0 0 | klen u32 | key
//   FLUSH  op
//   ELEMS  op type 0 0 | count u32 | expireAt f64 | klen u32 | key | count x element
//          element = present u8 | flen u32 | vlen u32 | field | value
//          The resulting state of some elements of a large collection (present with this value,
//          or absent) and of its expiry: what an HSET on a 1M-field hash logs instead of the hash.
//   LIST   op lop 0 0 | count u32 | expireAt f64 | klen u32 | lenBefore u32 | a i32 | b i32 | key
//          | count x (len u32 | bytes)
//          One list operation (keyspace/list.ts LOP_*: push at an end of `count` elements, pop a,
//          set index a, insert at index a, remove a times, trim to [a, b]) on a list of lenBefore
//          elements: what an LPUSH on a 10M-element list logs. Not a resulting state: replay
//          applies it only to a list of exactly lenBefore elements (see docs/lists.md).
//   END    op 0 0 0 | records u32 | records / 2^32 u32   (a snapshot's last record)
// Files start with a 16-byte header: magic, format version, shard, and a snapshot's key count
// (0 in logs).

import { crc32 } from 'node:zlib';
import { imageError } from '../keyspace/image.js';
import { TYPE_HASH, TYPE_LIST, TYPE_SET, TYPE_STREAM, TYPE_ZSET } from '../keyspace/keyspace.js';

export const OP_SET = 1;
export const OP_DEL = 2;
export const OP_FLUSH = 3;
export const OP_END = 4;
export const OP_ELEMS = 5;
export const OP_LIST = 6;
export const LIST_HEADER = 32;
/** list.ts LOP_MAX (the persistence layer reads list records without the list module's constants
 * where it only checks shapes). */
const LOP_MAX = 8;

export const FRAME_HEADER = 8;
export const SET_HEADER = 24;
export const DEL_HEADER = 8;
export const ELEMS_HEADER = 20;
export const ELEM_HEADER = 9;
export const FILE_HEADER = 16;
export const FORMAT_VERSION = 1;
/** "TSRA": a shard's log of effects. "TSSN": a shard's snapshot. */
export const MAGIC_LOG = 0x41525354;
export const MAGIC_SNAPSHOT = 0x4e535354;
/** No record is larger: a value is at most 4 GiB in the keyspace, and a frame's length is a u32. */
export const MAX_RECORD = 2 ** 32 - 1 - FRAME_HEADER;

/** The smallest record a file can hold per key (a SET with a one-byte key and no value): bounds
 * how many keys a file's header may ask the loader to reserve room for. */
export const MIN_SET_RECORD_BYTES = FRAME_HEADER + SET_HEADER + 1;

/**
 * What is wrong with the shape of the payload b[q, q+len) whose checksum matched, or null: a
 * checksum proves the bytes are those written, not that the writer was right, and every length
 * inside a payload must lie within it before a key or value is read (a SET whose key length runs
 * past its payload would read the next record as key bytes, or ask the arena for gigabytes).
 */
export function recordShapeError(b: Buffer, q: number, len: number): string | null {
  if (len < 1) return 'empty record';
  const op = b[q]!;
  if (op === OP_SET) {
    if (len < SET_HEADER) return `SET record of ${len} bytes, shorter than its header`;
    const klen = b.readUInt32LE(q + 16);
    const vlen = b.readUInt32LE(q + 20);
    if (SET_HEADER + klen + vlen !== len) return `SET record of ${len} bytes with a ${klen}-byte key and a ${vlen}-byte value`;
    const expireAt = b.readDoubleLE(q + 8);
    if (!Number.isFinite(expireAt) || expireAt < 0) return `SET record with expiry time ${expireAt}`;
    const bad = imageError(b[q + 1]!, b, q + SET_HEADER + klen, vlen);
    return bad === null ? null : `SET record with a bad value (${bad})`;
  }
  if (op === OP_DEL) {
    if (len < DEL_HEADER) return `DEL record of ${len} bytes, shorter than its header`;
    const klen = b.readUInt32LE(q + 4);
    if (DEL_HEADER + klen !== len) return `DEL record of ${len} bytes with a ${klen}-byte key`;
    return null;
  }
  if (op === OP_ELEMS) {
    if (len < ELEMS_HEADER) return `ELEMS record of ${len} bytes, shorter than its header`;
    const type = b[q + 1];
    // A list's ELEMS record carries no element: its expiry changed (EXPIRE, PERSIST).
    const expiryOnly = type === TYPE_LIST && b.readUInt32LE(q + 4) === 0;
    if (type !== TYPE_HASH && type !== TYPE_SET && type !== TYPE_ZSET && type !== TYPE_STREAM && !expiryOnly) return `ELEMS record of type ${type}`;
    const expireAt = b.readDoubleLE(q + 8);
    if (!Number.isFinite(expireAt) || expireAt < 0) return `ELEMS record with expiry time ${expireAt}`;
    const count = b.readUInt32LE(q + 4);
    const end = q + len;
    let p = q + ELEMS_HEADER + b.readUInt32LE(q + 16);
    for (let i = 0; i < count; i++) {
      if (p + ELEM_HEADER > end) return `ELEMS record of ${len} bytes shorter than its ${count} elements`;
      if (type === TYPE_ZSET && b[p] === 1 && (b.readUInt32LE(p + 5) !== 8 || p + ELEM_HEADER + b.readUInt32LE(p + 1) + 8 > end || Number.isNaN(b.readDoubleLE(p + ELEM_HEADER + b.readUInt32LE(p + 1))))) {
        return 'ELEMS record of a sorted set with a bad score';
      }
      if (type === TYPE_STREAM && !streamElementShapeOk(b[p] === 1, b.readUInt32LE(p + 1), b.readUInt32LE(p + 5))) return 'ELEMS record of a stream with a bad element';
      p += ELEM_HEADER + b.readUInt32LE(p + 1) + b.readUInt32LE(p + 5);
    }
    return p === end ? null : `ELEMS record of ${len} bytes whose elements end at ${p - q}`;
  }
  if (op === OP_LIST) {
    if (len < LIST_HEADER) return `LIST record of ${len} bytes, shorter than its header`;
    const lop = b[q + 1]!;
    if (lop < 1 || lop > LOP_MAX) return `LIST record of operation ${lop}`;
    const expireAt = b.readDoubleLE(q + 8);
    if (!Number.isFinite(expireAt) || expireAt < 0) return `LIST record with expiry time ${expireAt}`;
    const count = b.readUInt32LE(q + 4);
    const end = q + len;
    let p = q + LIST_HEADER + b.readUInt32LE(q + 16);
    for (let i = 0; i < count; i++) {
      if (p + 4 > end) return `LIST record of ${len} bytes shorter than its ${count} elements`;
      p += 4 + b.readUInt32LE(p);
    }
    return p === end ? null : `LIST record of ${len} bytes whose elements end at ${p - q}`;
  }
  if (op === OP_FLUSH) return len === 1 ? null : `FLUSH record of ${len} bytes`;
  if (op === OP_END) return len === 12 ? null : `END record of ${len} bytes`;
  return `unknown record type ${op}`;
}

/** A growable byte buffer that records are encoded into. */
export class RecordBuffer {
  buf: Buffer;
  length = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Makes room for n more bytes; returns the offset where they go. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = Math.max(256, this.buf.length * 2);
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length = need;
    return at;
  }

  /** Shrinks back after a burst (a snapshot's copy-on-write images can be large). */
  reset(keepBytes = 1024 * 1024): void {
    this.length = 0;
    if (this.buf.length > keepBytes) this.buf = Buffer.allocUnsafe(keepBytes);
  }

  /** count: a snapshot's key count (a loader sizes its index with it), else 0. */
  fileHeader(magic: number, shard: number, count = 0): void {
    const p = this.reserve(FILE_HEADER);
    const b = this.buf;
    b.writeUInt32LE(magic, p);
    b.writeUInt32LE(FORMAT_VERSION, p + 4);
    b.writeUInt32LE(shard, p + 8);
    b.writeUInt32LE(Math.min(count, 0xffffffff), p + 12);
  }

  /** A SET record of key src[koff, +klen) and value val[voff, +vlen). */
  set(src: Uint8Array, koff: number, klen: number, val: Uint8Array, voff: number, vlen: number, type: number, flags: number, expireAt: number): void {
    const payload = SET_HEADER + klen + vlen;
    const p = this.reserve(FRAME_HEADER + payload);
    const b = this.buf;
    const q = p + FRAME_HEADER;
    b.writeUInt32LE(payload, p);
    b[q] = OP_SET;
    b[q + 1] = type;
    b[q + 2] = 0;
    b[q + 3] = 0;
    b.writeUInt32LE(flags >>> 0, q + 4);
    b.writeDoubleLE(expireAt, q + 8);
    b.writeUInt32LE(klen, q + 16);
    b.writeUInt32LE(vlen, q + 20);
    copy(src, koff, b, q + SET_HEADER, klen);
    copy(val, voff, b, q + SET_HEADER + klen, vlen);
    b.writeUInt32LE(crc32(b.subarray(q, q + payload)), p + 4);
  }

  del(src: Uint8Array, koff: number, klen: number): void {
    const payload = DEL_HEADER + klen;
    const p = this.reserve(FRAME_HEADER + payload);
    const b = this.buf;
    const q = p + FRAME_HEADER;
    b.writeUInt32LE(payload, p);
    b.writeUInt32LE(OP_DEL, q);
    b.writeUInt32LE(klen, q + 4);
    copy(src, koff, b, q + DEL_HEADER, klen);
    b.writeUInt32LE(crc32(b.subarray(q, q + payload)), p + 4);
  }

  /** Starts an ELEMS record of key src[koff, +klen); returns its frame's offset for elemsEnd. */
  elemsBegin(src: Uint8Array, koff: number, klen: number, type: number, expireAt: number): number {
    const p = this.reserve(FRAME_HEADER + ELEMS_HEADER + klen);
    const b = this.buf;
    const q = p + FRAME_HEADER;
    b[q] = OP_ELEMS;
    b[q + 1] = type;
    b[q + 2] = 0;
    b[q + 3] = 0;
    b.writeDoubleLE(expireAt, q + 8);
    b.writeUInt32LE(klen, q + 16);
    copy(src, koff, b, q + ELEMS_HEADER, klen);
    return p;
  }

  /** One element of the ELEMS record being written: present with value vb[voff, +vlen) (vb null
   * for a set member), or absent. */
  elemsAdd(present: boolean, fb: Uint8Array, foff: number, flen: number, vb: Uint8Array | null, voff: number, vlen: number): void {
    const vl = vb === null ? 0 : vlen;
    const p = this.reserve(ELEM_HEADER + flen + vl);
    const b = this.buf;
    b[p] = present ? 1 : 0;
    b.writeUInt32LE(flen, p + 1);
    b.writeUInt32LE(vl, p + 5);
    copy(fb, foff, b, p + ELEM_HEADER, flen);
    if (vb !== null) copy(vb, voff, b, p + ELEM_HEADER + flen, vl);
  }

  /** Drops everything from offset p on (an ELEMS record that got no element). */
  truncate(p: number): void {
    this.length = p;
  }

  /** Ends the ELEMS record started at p with its element count. */
  elemsEnd(p: number, count: number): void {
    const b = this.buf;
    const q = p + FRAME_HEADER;
    const payload = this.length - q;
    b.writeUInt32LE(payload, p);
    b.writeUInt32LE(count, q + 4);
    b.writeUInt32LE(crc32(b.subarray(q, q + payload)), p + 4);
  }

  /** Starts a LIST record of key src[koff, +klen); returns its frame's offset for listEnd. */
  listBegin(src: Uint8Array, koff: number, klen: number, lop: number, expireAt: number, lenBefore: number, a: number, b2: number): number {
    const p = this.reserve(FRAME_HEADER + LIST_HEADER + klen);
    const b = this.buf;
    const q = p + FRAME_HEADER;
    b[q] = OP_LIST;
    b[q + 1] = lop;
    b[q + 2] = 0;
    b[q + 3] = 0;
    b.writeDoubleLE(expireAt, q + 8);
    b.writeUInt32LE(klen, q + 16);
    b.writeUInt32LE(lenBefore >>> 0, q + 20);
    b.writeInt32LE(a | 0, q + 24);
    b.writeInt32LE(b2 | 0, q + 28);
    copy(src, koff, b, q + LIST_HEADER, klen);
    return p;
  }

  /** Appends bytes already in the record's element format (len u32 | bytes, repeated). */
  raw(src: Uint8Array, off: number, len: number): void {
    const p = this.reserve(len);
    copy(src, off, this.buf, p, len);
  }

  /** Ends the LIST record started at p with its element count. */
  listEnd(p: number, count: number): void {
    this.elemsEnd(p, count);
  }

  flush(): void {
    const p = this.reserve(FRAME_HEADER + 1);
    const b = this.buf;
    b.writeUInt32LE(1, p);
    b[p + FRAME_HEADER] = OP_FLUSH;
    b.writeUInt32LE(crc32(b.subarray(p + FRAME_HEADER, p + FRAME_HEADER + 1)), p + 4);
  }

  end(records: number): void {
    const p = this.reserve(FRAME_HEADER + 12);
    const b = this.buf;
    const q = p + FRAME_HEADER;
    b.writeUInt32LE(12, p);
    b.writeUInt32LE(OP_END, q);
    b.writeUInt32LE(records >>> 0, q + 4);
    b.writeUInt32LE(Math.floor(records / 2 ** 32), q + 8);
    b.writeUInt32LE(crc32(b.subarray(q, q + 12)), p + 4);
  }
}

function copy(src: Uint8Array, soff: number, dst: Buffer, doff: number, len: number): void {
  if (len <= 64) {
    for (let i = 0; i < len; i++) dst[doff + i] = src[soff + i]!;
  } else {
    dst.set(src.subarray(soff, soff + len), doff);
  }
}

/** A stream's ELEMS element: an entry's 16-byte id (with its fields when present) or the 40 bytes
 * of its metadata (empty name, always present); see keyspace/stream.ts. */
function streamElementShapeOk(present: boolean, nameLen: number, valueLen: number): boolean {
  if (nameLen === 0) return present && valueLen === 40;
  return nameLen === 16 && (present ? valueLen > 0 : valueLen === 0);
}
