// The ValueKind of lists (see value-kind.ts). A small list (ENC_PACK) is [1][count u32][run] in
// its entry, the run as list-pack.ts writes it (entries walkable from both ends); a large one
// (ENC_QUICKLIST) is [4][descriptor u32] and a Quicklist in the arena. The portable image of
// every list is a plain PACK of its elements (pack.ts: [1][count][varint length + bytes]...), the
// same shape as a set's, so DUMP, the log and migration carry it; store() builds the encoding the
// limits call for from it. A list is written to snapshots whole (piecewise: false).
import { unreachable } from '../util/assert.js';
import type { Arena } from './arena.js';
import { copyOut, elLen, elOff, entrySize, putEntry, readEntry } from './list-pack.js';
import { ENC_PACK, ENC_QUICKLIST, PACK_HEADER, packError, putVarint, readU32, TABLE_VALUE_BYTES, varint, varintSize, vlen, vsize, writeU32 } from './pack.js';
import { NODE_HDR, nodeExceeds, Quicklist } from './quicklist.js';
import type { ImageOut, ValueHost, ValueKind } from './value-kind.js';
import { TYPE_LIST } from './value-types.js';

/** Lists with at most this many elements are freed at once, others a step at a time. */
const LAZY_FREE_MIN = 64;

/** Bytes of a value in each encoding that says it holds a quicklist. */
export const QUICKLIST_VALUE_BYTES = TABLE_VALUE_BYTES;

export class ListKind implements ValueKind {
  readonly ql: Quicklist;
  private run: Buffer = Buffer.allocUnsafe(8192);

  constructor(arena: Arena) {
    this.ql = new Quicklist(arena);
  }

  count(u8: Uint8Array, vo: number): number {
    const v = readU32(u8, vo + 1);
    return u8[vo] === ENC_QUICKLIST ? this.ql.count(v) : v;
  }

  childBytes(u8: Uint8Array, vo: number, vl: number): number {
    return vl >= QUICKLIST_VALUE_BYTES && u8[vo] === ENC_QUICKLIST ? this.ql.bytes(readU32(u8, vo + 1)) : 0;
  }

  release(u8: Uint8Array, vo: number, vl: number): number {
    if (vl < QUICKLIST_VALUE_BYTES || u8[vo] !== ENC_QUICKLIST) return 0;
    const d = readU32(u8, vo + 1);
    u8[vo] = 0; // the entry no longer owns the chain
    if (this.ql.count(d) > LAZY_FREE_MIN) return d;
    this.ql.destroyStep(d, Infinity);
    return 0;
  }

  destroyStep(d: number, budget: number): boolean {
    return this.ql.destroyStep(d, budget);
  }

  queuedBytes(d: number): number {
    return this.ql.bytes(d);
  }

  piecewise(): boolean {
    return false;
  }

  snapshotStep(): number {
    unreachable('list: snapshots write lists whole');
  }

  snapshotElement(): void {
    unreachable('list: snapshots write lists whole');
  }

  snapshotSettle(): void {}

  image(u8: Uint8Array, vo: number, vl: number, out: ImageOut, scratch: () => Buffer): void {
    let size = PACK_HEADER;
    let count = 0;
    const measure = (buf: Uint8Array, s: number, end: number, n: number): void => {
      count += n;
      // A list entry is a plain pack entry plus its back-length.
      for (let p = s; p < end; ) {
        p = readEntry(buf, p);
        size += varintSize(elLen) + elLen;
      }
    };
    this.eachRun(u8, vo, vl, measure);
    let b = scratch();
    if (b.length < size) b = Buffer.allocUnsafe(size);
    b[0] = ENC_PACK;
    writeU32(b, 1, count);
    let q = PACK_HEADER;
    this.eachRun(u8, vo, vl, (buf, s, end) => {
      for (let p = s; p < end; ) {
        p = readEntry(buf, p);
        q += putVarint(b, q, elLen);
        copyOut(buf, elOff, b, q, elLen);
        q += elLen;
      }
    });
    out.buf = b;
    out.off = 0;
    out.len = size;
  }

  /** Visits the runs of a list value: its own, or each node's. */
  eachRun(u8: Uint8Array, vo: number, vl: number, visit: (buf: Uint8Array, s: number, end: number, count: number) => void): void {
    if (u8[vo] === ENC_QUICKLIST) this.ql.forEachRun(readU32(u8, vo + 1), visit);
    else visit(u8, vo + PACK_HEADER, vo + vl, readU32(u8, vo + 1));
  }

  store(host: ValueHost, key: Uint8Array, koff: number, klen: number, buf: Uint8Array, off: number, len: number, expireAtMs: number, flags: number, keepLarge = false): number {
    const count = readU32(buf, off + 1);
    const fill = host.limits.listMaxListpackSize;
    const end = off + len;
    let total = 0;
    for (let p = off + PACK_HEADER; p < end; p += vsize + vlen) {
      varint(buf, p);
      total += entrySize(vlen);
    }
    if (!keepLarge && !nodeExceeds(fill, total, count)) {
      const e = host.set(key, koff, klen, null, 0, PACK_HEADER + total, TYPE_LIST, expireAtMs, flags);
      const u8 = host.bytes();
      const vo = host.valueOffset(e);
      u8[vo] = ENC_PACK;
      writeU32(u8, vo + 1, count);
      let q = vo + PACK_HEADER;
      for (let p = off + PACK_HEADER; p < end; p += vsize + vlen) {
        varint(buf, p);
        const l = vlen;
        q += putEntry(u8, q, buf, p + vsize, l);
      }
      return e;
    }
    const e = host.set(key, koff, klen, null, 0, QUICKLIST_VALUE_BYTES, TYPE_LIST, expireAtMs, flags);
    const ql = this.ql;
    const d = ql.create(fill, host.limits.listCompressDepth);
    const u8 = host.bytes();
    const vo = host.valueOffset(e);
    u8[vo] = ENC_QUICKLIST;
    writeU32(u8, vo + 1, d);
    // Cut the elements into nodes of at most the fill, as pushes would have.
    let run = this.run;
    let used = 0;
    let n = 0;
    for (let p = off + PACK_HEADER; p < end; ) {
      varint(buf, p);
      const l = vlen;
      const eo = p + vsize;
      p = eo + l;
      const sz = entrySize(l);
      if (n > 0 && nodeExceeds(fill, NODE_HDR + used + sz, n + 1)) {
        ql.appendRun(d, run, 0, used, n);
        used = 0;
        n = 0;
      }
      if (run.length < used + sz) {
        const next = Buffer.allocUnsafe(Math.max(run.length * 2, used + sz));
        run.copy(next, 0, 0, used);
        run = next;
      }
      used += putEntry(run, used, buf, eo, l);
      n++;
    }
    if (n > 0) ql.appendRun(d, run, 0, used, n);
    if (run.length > 1 << 20) run = Buffer.allocUnsafe(8192);
    this.run = run;
    ql.settle(d);
    return e;
  }
}

/** What is wrong with a list image, or null (a plain PACK of at least one element). */
export function listImageError(buf: Uint8Array, off: number, len: number): string | null {
  const err = packError(buf, off, len, 1);
  if (err !== null) return err;
  return readU32(buf, off + 1) === 0 ? 'empty collection' : null;
}
