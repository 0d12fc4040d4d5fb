// The ValueKind of streams (see value-kind.ts and stream.ts). The portable image (DUMP, the log,
// snapshots, migration, replication) carries the stream whole:
//   [6][last id 16][entries_added hi u32, lo u32][max deleted id 16][count u32]
//   count x ([id 16][field count varint] field count x (varint length + field, varint + value))
//   [groups image length u32][groups image (stream-groups.ts)]
// ids big-endian (stream-id.ts sidToBytes), u32s little-endian. store() rebuilds the nodes under
// the host's stream-node-max-* limits. A stream may be empty (Redis keeps emptied streams).
import { unreachable } from '../util/assert.js';
import { sid, sidCmp, sidFromBytes, sidToBytes } from '../util/stream-id.js';
import type { ArgList } from '../core/types.js';
import type { Arena } from './arena.js';
import { readU32, writeU32 } from './pack.js';
import * as S from './stream.js';
import { groupsBytes, groupsImageError, groupsImageSize, groupsImageWrite, groupsRelease, groupsStore } from './stream-groups.js';
import type { ImageOut, ValueHost, ValueKind } from './value-kind.js';
import { TYPE_STREAM } from './value-types.js';

/** Streams with at most this many entries are freed at once, others a step at a time. */
const LAZY_FREE_MIN = 64;
const IMAGE_HEADER = 1 + 16 + 8 + 16 + 4;

const last = sid();
const maxDel = sid();
const id = sid();
const prev = sid();

// The visitor state of image(): module-level so that a walk costs no closure.
let imgSize = 0;
let imgBuf: Uint8Array = new Uint8Array(0);
let imgPos = 0;
let imgCount = 0;

let gLen = 0;
let gSize = 0;
/** Reads a varint length at buf[p] (at most 8 bytes) into gLen/gSize; false when it runs past end. */
function getLen(buf: Uint8Array, p: number, end: number): boolean {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (p + i >= end) return false;
    const b = buf[p + i]!;
    n += (b & 0x7f) * mul;
    if (b < 0x80) {
      gLen = n;
      gSize = i + 1;
      return true;
    }
    mul *= 128;
  }
  return false;
}

function measure(): void {
  imgCount++;
  imgSize += 16 + S.sizeLen(S.itFields);
  for (let i = 0; i < S.itFields; i++) {
    S.itField(i);
    imgSize += S.sizeLen(S.fLen) + S.fLen;
    S.itValue(i);
    imgSize += S.sizeLen(S.fLen) + S.fLen;
  }
}

function emit(): void {
  const b = imgBuf;
  sidToBytes(S.itId, b, imgPos);
  imgPos += 16;
  imgPos += S.putLen(b, imgPos, S.itFields);
  for (let i = 0; i < S.itFields; i++) {
    for (let v = 0; v < 2; v++) {
      if (v === 0) S.itField(i);
      else S.itValue(i);
      imgPos += S.putLen(b, imgPos, S.fLen);
      b.set(S.fBuf.subarray(S.fOff, S.fOff + S.fLen), imgPos);
      imgPos += S.fLen;
    }
  }
}

/** An ArgList over an image's entry, for descAppend. */
const entryArgs: ArgList = { buf: new Uint8Array(0), off: new Int32Array(16), len: new Int32Array(16), argc: 0 };

export class StreamKind implements ValueKind {
  constructor(readonly arena: Arena) {}

  count(u8: Uint8Array, vo: number): number {
    return S.descLength(this.arena, S.valueDesc(u8, vo));
  }

  childBytes(u8: Uint8Array, vo: number): number {
    const d = S.valueDesc(u8, vo);
    return S.streamBytes(this.arena, d) + groupsBytes(this.arena, S.descGroups(this.arena, d));
  }

  release(u8: Uint8Array, vo: number, vl: number): number {
    if (vl < S.STREAM_VALUE_BYTES || u8[vo] !== S.ENC_STREAM) return 0;
    const d = S.valueDesc(u8, vo);
    u8[vo] = 0; // the entry no longer owns the descriptor
    const g = S.descGroups(this.arena, d);
    if (g !== 0) groupsRelease(this.arena, g);
    S.descSetGroups(this.arena, d, 0);
    if (S.descLength(this.arena, d) > LAZY_FREE_MIN) return d;
    S.streamDestroyStep(this.arena, d, Infinity);
    return 0;
  }

  destroyStep(d: number, budget: number): boolean {
    return S.streamDestroyStep(this.arena, d, budget);
  }

  queuedBytes(d: number): number {
    return S.streamBytes(this.arena, d);
  }

  piecewise(): boolean {
    return false;
  }

  snapshotStep(): number {
    unreachable('stream: snapshots write streams whole');
  }

  snapshotElement(): void {
    unreachable('stream: snapshots write streams whole');
  }

  snapshotSettle(): void {}

  image(u8: Uint8Array, vo: number, _vl: number, out: ImageOut, scratch: () => Buffer): void {
    const arena = this.arena;
    const d = S.valueDesc(u8, vo);
    const g = S.descGroups(arena, d);
    imgSize = IMAGE_HEADER + 4 + groupsImageSize(arena, g);
    imgCount = 0;
    S.descForEach(arena, d, measure);
    let b = scratch();
    if (b.length < imgSize) b = Buffer.allocUnsafe(imgSize);
    imgBuf = b;
    const added = S.descMeta(arena, d, last, maxDel);
    b[0] = S.ENC_STREAM;
    sidToBytes(last, b, 1);
    writeU32(b, 17, Math.floor(added / 4294967296));
    writeU32(b, 21, added >>> 0);
    sidToBytes(maxDel, b, 25);
    writeU32(b, 41, imgCount);
    imgPos = IMAGE_HEADER;
    S.descForEach(arena, d, emit);
    const glen = groupsImageSize(arena, g);
    writeU32(b, imgPos, glen);
    const end = groupsImageWrite(arena, g, b, imgPos + 4);
    imgBuf = new Uint8Array(0);
    out.buf = b;
    out.off = 0;
    out.len = end;
  }

  store(host: ValueHost, key: Uint8Array, koff: number, klen: number, buf: Uint8Array, off: number, len: number, expireAtMs: number, flags: number): number {
    const arena = this.arena;
    const d = S.descCreate(arena);
    const count = readU32(buf, off + 41);
    let p = off + IMAGE_HEADER;
    const end = off + len;
    const a = entryArgs;
    a.buf = buf;
    for (let k = 0; k < count; k++) {
      sidFromBytes(id, buf, p);
      p += 16;
      getLen(buf, p, end);
      const nf = gLen;
      p += gSize;
      if (a.off.length < 2 * nf) {
        a.off = new Int32Array(4 * nf);
        a.len = new Int32Array(4 * nf);
      }
      for (let i = 0; i < 2 * nf; i++) {
        getLen(buf, p, end);
        p += gSize;
        a.off[i] = p;
        a.len[i] = gLen;
        p += gLen;
      }
      a.argc = 2 * nf;
      S.descAppend(arena, d, host.limits, id, a, 0, nf);
    }
    a.buf = new Uint8Array(0);
    sidFromBytes(last, buf, off + 1);
    sidFromBytes(maxDel, buf, off + 25);
    const added = readU32(buf, off + 17) * 4294967296 + readU32(buf, off + 21);
    S.descSetMeta(arena, d, last, added, maxDel);
    const glen = readU32(buf, p);
    S.descSetGroups(arena, d, groupsStore(arena, buf, p + 4, glen));
    const e = host.set(key, koff, klen, null, 0, S.STREAM_VALUE_BYTES, TYPE_STREAM, expireAtMs, flags);
    S.putValue(host.bytes(), host.valueOffset(e), d);
    return e;
  }
}

/** What is wrong with a stream image, or null. */
export function streamImageError(buf: Uint8Array, off: number, len: number): string | null {
  if (len < IMAGE_HEADER + 4 || buf[off] !== S.ENC_STREAM) return 'not a stream image';
  const end = off + len;
  sidFromBytes(last, buf, off + 1);
  const count = readU32(buf, off + 41);
  let p = off + IMAGE_HEADER;
  for (let k = 0; k < count; k++) {
    if (p + 16 > end) return 'stream image: truncated entry';
    sidFromBytes(id, buf, p);
    if (k > 0 && sidCmp(id, prev) <= 0) return 'stream image: ids out of order';
    if (sidCmp(id, last) > 0) return 'stream image: entry past the last id';
    prev.set(id);
    p += 16;
    if (!getLen(buf, p, end)) return 'stream image: bad field count';
    const nf = gLen;
    p += gSize;
    if (nf === 0) return 'stream image: entry without fields';
    for (let i = 0; i < 2 * nf; i++) {
      if (!getLen(buf, p, end)) return 'stream image: bad length';
      p += gSize + gLen;
      if (p > end) return 'stream image: truncated field';
    }
  }
  if (p + 4 > end) return 'stream image: no groups part';
  const glen = readU32(buf, p);
  if (p + 4 + glen !== end) return 'stream image: bad groups length';
  return groupsImageError(buf, p + 4, glen);
}
