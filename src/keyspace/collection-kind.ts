// The ValueKind of hashes and sets (see value-kind.ts): their compact encodings live in the entry
// (PACK, INTSET: nothing outside it), their large one is an ElementTable. Serializes a table to a
// PACK image, and turns an image into the encoding the limits call for. A hash's element has two
// parts (field, value), a set's one (member).
import type { Arena } from './arena.js';
import { ElementTable, type ElementEmit } from './element-table.js';
import {
  ENC_INTSET, ENC_PACK, ENC_TABLE, intsetError, intsetGet, PACK_HEADER, packError, putVarint, readU32, TABLE_VALUE_BYTES,
  varint, varintSize, vlen, vsize, writeU32,
} from './pack.js';
import type { ImageOut, ValueHost, ValueKind } from './value-kind.js';
import { TYPE_HASH, type ValueType } from './value-types.js';

/** Large collections with at most this many elements are freed at once, others a step at a time
 * (Redis's LAZYFREE_THRESHOLD). */
const LAZY_FREE_MIN = 64;

export class CollectionKind implements ValueKind {
  readonly tables: ElementTable;

  constructor(arena: Arena, private readonly type: ValueType) {
    this.tables = new ElementTable(arena, type === TYPE_HASH ? 2 : 1);
  }

  count(u8: Uint8Array, vo: number): number {
    const enc = u8[vo]!;
    if (enc === ENC_TABLE) return this.tables.count(readU32(u8, vo + 1));
    return readU32(u8, vo + (enc === ENC_INTSET ? 2 : 1));
  }

  childBytes(u8: Uint8Array, vo: number, vl: number): number {
    return vl >= TABLE_VALUE_BYTES && u8[vo] === ENC_TABLE ? this.tables.bytes(readU32(u8, vo + 1)) : 0;
  }

  release(u8: Uint8Array, vo: number, vl: number): number {
    if (vl < TABLE_VALUE_BYTES || u8[vo] !== ENC_TABLE) return 0;
    const d = readU32(u8, vo + 1);
    u8[vo] = 0; // the entry no longer owns the table
    if (this.tables.count(d) > LAZY_FREE_MIN) return d;
    this.tables.destroyStep(d, Infinity);
    return 0;
  }

  destroyStep(d: number, budget: number): boolean {
    return this.tables.destroyStep(d, budget);
  }

  queuedBytes(d: number): number {
    return this.tables.bytes(d);
  }

  piecewise(u8: Uint8Array, vo: number, vl: number): boolean {
    return vl >= TABLE_VALUE_BYTES && u8[vo] === ENC_TABLE;
  }

  snapshotStep(u8: Uint8Array, vo: number, cursor: number, count: number, emit: ElementEmit): number {
    return this.tables.snapshotStep(readU32(u8, vo + 1), cursor, count, emit);
  }

  snapshotElement(u8: Uint8Array, vo: number, buf: Uint8Array, off: number, len: number, emit: ElementEmit): void {
    this.tables.snapshotElement(readU32(u8, vo + 1), buf, off, len, emit);
  }

  snapshotSettle(u8: Uint8Array, vo: number, vl: number): void {
    if (this.piecewise(u8, vo, vl)) this.tables.snapshotSettle(readU32(u8, vo + 1));
  }

  image(u8: Uint8Array, vo: number, vl: number, out: ImageOut, scratch: () => Buffer): void {
    if (u8[vo] !== ENC_TABLE) {
      out.buf = u8;
      out.off = vo;
      out.len = vl;
      return;
    }
    const t = this.tables;
    const d = readU32(u8, vo + 1);
    let size = PACK_HEADER;
    t.forEach(d, (el) => {
      const kl = t.keyLength(el);
      size += varintSize(kl) + kl;
      if (t.parts === 2) size += varintSize(t.valueLength(el)) + t.valueLength(el);
    });
    let b = scratch();
    if (b.length < size) b = Buffer.allocUnsafe(size);
    b[0] = ENC_PACK;
    writeU32(b, 1, t.count(d));
    let p = PACK_HEADER;
    t.forEach(d, (el) => {
      const kl = t.keyLength(el);
      p += putVarint(b, p, kl);
      b.set(u8.subarray(t.keyOffset(el), t.keyOffset(el) + kl), p);
      p += kl;
      if (t.parts === 2) {
        const l = t.valueLength(el);
        p += putVarint(b, p, l);
        b.set(u8.subarray(t.valueOffset(el), t.valueOffset(el) + l), p);
        p += l;
      }
    });
    out.buf = b;
    out.off = 0;
    out.len = size;
  }

  store(host: ValueHost, key: Uint8Array, koff: number, klen: number, buf: Uint8Array, off: number, len: number, expireAtMs: number, flags: number, keepLarge = false): number {
    if (!keepLarge && !this.needsTable(host, buf, off, len)) return host.set(key, koff, klen, buf, off, len, this.type, expireAtMs, flags);
    const t = this.tables;
    const intset = buf[off] === ENC_INTSET;
    const count = readU32(buf, off + (intset ? 2 : 1));
    const e = host.set(key, koff, klen, null, 0, TABLE_VALUE_BYTES, this.type, expireAtMs, flags);
    const d = t.create(count);
    const u8 = host.bytes();
    const vo = host.valueOffset(e);
    u8[vo] = ENC_TABLE;
    writeU32(u8, vo + 1, d);
    if (intset) {
      const digits = Buffer.allocUnsafe(24);
      for (let i = 0; i < count; i++) {
        const l = digits.write(String(intsetGet(buf, off, i)), 0, 'latin1');
        if (t.find(d, digits, 0, l) === 0) t.insert(d, digits, 0, l, null, 0, 0);
      }
      return e;
    }
    let p = off + PACK_HEADER;
    for (let i = 0; i < count; i++) {
      varint(buf, p);
      const ko = p + vsize;
      const kl = vlen;
      p = ko + kl;
      let vo2 = 0;
      let vl2 = 0;
      if (t.parts === 2) {
        varint(buf, p);
        vo2 = p + vsize;
        vl2 = vlen;
        p = vo2 + vl2;
      }
      const el = t.find(d, buf, ko, kl);
      if (el === 0) t.insert(d, buf, ko, kl, buf, vo2, vl2);
      else if (t.parts === 2) t.setValue(d, el, buf, vo2, vl2);
    }
    return e;
  }

  /** Whether an image exceeds the compact encoding's limits. */
  private needsTable(host: ValueHost, buf: Uint8Array, off: number, len: number): boolean {
    const lim = host.limits;
    if (buf[off] === ENC_INTSET) return readU32(buf, off + 2) > lim.setMaxIntsetEntries;
    const hash = this.type === TYPE_HASH;
    if (readU32(buf, off + 1) > (hash ? lim.hashMaxListpackEntries : lim.setMaxListpackEntries)) return true;
    const maxLen = hash ? lim.hashMaxListpackValue : lim.setMaxListpackValue;
    const end = off + len;
    for (let p = off + PACK_HEADER; p < end; ) {
      varint(buf, p);
      if (vlen > maxLen) return true;
      p += vsize + vlen;
    }
    return false;
  }
}

/** What is wrong with a hash image, or null. */
export function hashImageError(buf: Uint8Array, off: number, len: number): string | null {
  return nonEmpty(packError(buf, off, len, 2), buf, off);
}

/** What is wrong with a set image (PACK or INTSET), or null. */
export function setImageError(buf: Uint8Array, off: number, len: number): string | null {
  return nonEmpty(len > 0 && buf[off] === ENC_INTSET ? intsetError(buf, off, len) : packError(buf, off, len, 1), buf, off);
}

/** Redis never keeps an empty collection: its key is deleted with its last element. */
function nonEmpty(err: string | null, buf: Uint8Array, off: number): string | null {
  if (err !== null) return err;
  return readU32(buf, off + (buf[off] === ENC_INTSET ? 2 : 1)) === 0 ? 'empty collection' : null;
}
