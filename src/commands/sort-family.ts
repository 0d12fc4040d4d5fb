// SORT and SORT_RO (Redis sort.c) over lists, sets and sorted sets. One pipeline serves both
// places it runs: on the key's shard when nothing leaves it (no BY/GET pattern reaching other keys,
// the STORE destination on the same shard), else on a main-thread coordinator that locks the
// shards involved (every shard when patterns name keys, which may lie anywhere), loads the elements
// with __sortload, fetches BY/GET values with __sortlookup and stores with __sortstore, so that no
// client sees a half-done SORT ... STORE. Order, errors and reply shapes are redis-server 7.0's.

import type { ArgList, CommandSpec, MainCall, ShardCaller, ShardContext } from './types.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { argIs, argBigInt, argCopy } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import { readKey, keyEvent } from './shard-helpers.js';
import { TYPE_HASH, TYPE_LIST, TYPE_SET, TYPE_STRING, TYPE_ZSET, type Keyspace } from '../keyspace/keyspace.js';
import * as C from '../keyspace/collection.js';
import * as L from '../keyspace/list.js';
import * as Z from '../keyspace/zset.js';

// --- options -----------------------------------------------------------------------------------

/** SORT's options as parsed (Redis's sortCommandGeneric loop); patterns are argument indices. */
interface SortOpts {
  desc: boolean;
  alpha: boolean;
  limitStart: number;
  limitCount: number;
  /** Argument index of STORE's destination (the last STORE wins), 0 when none. */
  storeAt: number;
  /** Argument index of BY's pattern, 0 when none. */
  byAt: number;
  /** BY without '*': keep the key's own order. */
  dontsort: boolean;
  getAt: number[];
}

/** What the last parseSort() met before it stopped (at its end or at an error). */
let sawByPattern = false;
let sawGet = false;
let sawGetLookup = false;
/** The error reply when parseSort() returned null. */
let parseError = '';

/** Index of the first '*' of a pattern before any NUL (Redis's strchr on the sds), or -1. */
function starIn(b: Uint8Array, off: number, len: number): number {
  for (let i = 0; i < len; i++) {
    const c = b[off + i]!;
    if (c === 0) return -1;
    if (c === 42) return i;
  }
  return -1;
}

/** A pattern that is "#" (the element itself), as Redis tests it: '#' then the end or a NUL. */
function isHash(b: Uint8Array, off: number, len: number): boolean {
  return len >= 1 && b[off] === 35 && (len === 1 || b[off + 1] === 0);
}

/** LIMIT's numbers as Redis's getLongFromObjectOrReply (int64), as doubles. */
function argLong(a: ArgList, i: number): number {
  const b = argBigInt(a, i);
  return b === null ? NaN : Number(b);
}

/** Parses arguments 2.. of SORT (store allowed) or SORT_RO; null with parseError set on error.
 * In cluster mode BY with a pattern and any GET are refused, as redis-server 7.0 does. */
function parseSort(a: ArgList, readonly: boolean, cluster: boolean): SortOpts | null {
  const o: SortOpts = { desc: false, alpha: false, limitStart: 0, limitCount: -1, storeAt: 0, byAt: 0, dontsort: false, getAt: [] };
  sawByPattern = false;
  sawGet = false;
  sawGetLookup = false;
  for (let j = 2; j < a.argc; j++) {
    const left = a.argc - j - 1;
    if (argIs(a, j, 'ASC')) o.desc = false;
    else if (argIs(a, j, 'DESC')) o.desc = true;
    else if (argIs(a, j, 'ALPHA')) o.alpha = true;
    else if (argIs(a, j, 'LIMIT') && left >= 2) {
      o.limitStart = argLong(a, j + 1);
      o.limitCount = argLong(a, j + 2);
      if (Number.isNaN(o.limitStart) || Number.isNaN(o.limitCount)) {
        parseError = ERR.notInteger;
        return null;
      }
      j += 2;
    } else if (!readonly && argIs(a, j, 'STORE') && left >= 1) {
      o.storeAt = ++j;
    } else if (argIs(a, j, 'BY') && left >= 1) {
      o.byAt = ++j;
      if (starIn(a.buf, a.off[j]!, a.len[j]!) < 0) {
        o.dontsort = true;
      } else {
        sawByPattern = true;
        if (cluster) {
          parseError = ERR.sortByCluster;
          return null;
        }
      }
    } else if (argIs(a, j, 'GET') && left >= 1) {
      sawGet = true;
      if (cluster) {
        parseError = ERR.sortGetCluster;
        return null;
      }
      o.getAt.push(++j);
      if (!isHash(a.buf, a.off[j]!, a.len[j]!) && starIn(a.buf, a.off[j]!, a.len[j]!) >= 0) sawGetLookup = true;
    } else {
      parseError = ERR.syntax;
      return null;
    }
  }
  return o;
}

/** Redis's sortGetKeys: the STORE destination's index (the last STORE), skipping the arguments
 * of LIMIT, GET and BY; 0 when there is none. */
function storeKeyAt(a: ArgList): number {
  let at = 0;
  for (let i = 2; i < a.argc; i++) {
    if (argIs(a, i, 'LIMIT')) i += 2;
    else if (argIs(a, i, 'GET') || argIs(a, i, 'BY')) i += 1;
    else if (argIs(a, i, 'STORE') && i + 1 < a.argc) at = i + 1;
  }
  return at;
}

function reachesOtherKeys(a: ArgList, cluster: boolean, readonly: boolean): boolean {
  parseSort(a, readonly, false);
  return sawByPattern || (cluster ? sawGet : sawGetLookup);
}

// --- loading the elements ---------------------------------------------------------------------------

/** The vector to sort and the output range [start, end] within it (Redis's LIMIT arithmetic, with
 * the ranged loading of a list or sorted set kept in its own order). */
interface Loaded {
  type: number;
  els: Buffer[];
  start: number;
  end: number;
}

/** The flags as Redis applies them for a key of `type`: a set kept in its own order for STORE
 * would store an order that differs between servers, so it is sorted ALPHA instead. */
function effective(o: SortOpts, type: number): { dontsort: boolean; alpha: boolean; byPattern: boolean } {
  if (o.dontsort && type === TYPE_SET && o.storeAt !== 0) return { dontsort: false, alpha: true, byPattern: false };
  return { dontsort: o.dontsort, alpha: o.alpha, byPattern: o.byAt !== 0 && !o.dontsort };
}

function copy(b: Uint8Array, off: number, len: number): Buffer {
  return Buffer.from(b.subarray(off, off + len));
}

/** Loads the elements of entry e (0: a missing key, sorted as an empty list) as Redis's
 * sortCommandGeneric does before it sorts. */
function loadVector(ks: Keyspace, e: number, o: SortOpts): Loaded {
  const type = e === 0 ? TYPE_LIST : ks.type(e);
  const { dontsort } = effective(o, type);
  const els: Buffer[] = [];
  const count = e === 0 ? 0 : type === TYPE_LIST ? L.listLength(ks, e) : type === TYPE_ZSET ? Z.zsetCount(ks, e) : ks.elementCount(e);
  let start = o.limitStart < 0 ? 0 : o.limitStart;
  let end = o.limitCount < 0 ? count - 1 : start + o.limitCount - 1;
  if (start >= count) {
    start = count - 1;
    end = count - 2;
  }
  if (end >= count) end = count - 1;
  if (e === 0) return { type, els, start, end };
  const ranged = dontsort && (type === TYPE_LIST || type === TYPE_ZSET);
  if (ranged) {
    // Only the range asked for, in the key's order (from the tail when DESC).
    const n = start !== 0 || end !== count - 1 ? end - start + 1 : count;
    if (end >= start && n > 0) {
      const lo = o.desc ? count - start - n : start;
      const hi = o.desc ? count - 1 - start : start + n - 1;
      if (type === TYPE_LIST) L.listRange(ks, e, lo, hi, o.desc, (b, off, len) => (els.push(copy(b, off, len)), true));
      else Z.zsetRange(ks, e, lo, hi, o.desc, (b, off, len) => (els.push(copy(b, off, len)), true));
      end -= start;
      start = 0;
    }
    return { type, els, start, end };
  }
  if (type === TYPE_LIST) {
    if (count > 0) L.listRange(ks, e, 0, count - 1, false, (b, off, len) => (els.push(copy(b, off, len)), true));
  } else if (type === TYPE_ZSET) {
    if (count > 0) Z.zsetRange(ks, e, 0, count - 1, false, (b, off, len) => (els.push(copy(b, off, len)), true));
  } else {
    C.elementForEach(ks, e, (b, off, len) => els.push(copy(b, off, len)));
  }
  return { type, els, start, end };
}

// --- patterns ------------------------------------------------------------------------------------

/** A key (and hash field) that a pattern names for one element. */
interface Ref {
  key: Buffer;
  /** The hash field after "->", or null for a string key. */
  field: Buffer | null;
}

/** What pattern p names for element el (Redis's lookupKeyByPattern): 'self' for "#", null when the
 * pattern has no '*' (nothing, as Redis), else the key with '*' replaced by the element and the
 * hash field after the first "->" that follows the '*' (when something follows it). */
function refOf(p: Buffer, el: Buffer): Ref | 'self' | null {
  if (isHash(p, 0, p.length)) return 'self';
  const star = starIn(p, 0, p.length);
  if (star < 0) return null;
  let arrow = -1;
  for (let i = star + 1; i + 1 < p.length && p[i] !== 0; i++) {
    if (p[i] === 45 && p[i + 1] === 62) {
      arrow = i;
      break;
    }
  }
  let field: Buffer | null = null;
  let keyEnd = p.length;
  if (arrow >= 0 && arrow + 2 < p.length && p[arrow + 2] !== 0) {
    field = p.subarray(arrow + 2);
    keyEnd = arrow;
  }
  const key = Buffer.concat([p.subarray(0, star), el, p.subarray(star + 1, keyEnd)]);
  return { key, field };
}

/** A string key's value or a hash field's value, read on this shard (a copy); null when the key is
 * missing or of another type, or the field is missing. Counts a hit or miss, as Redis's
 * lookupKeyRead. */
function lookupLocal(ks: Keyspace, ref: Ref): Buffer | null {
  const e = ks.find(ref.key, 0, ref.key.length);
  if (e === 0) {
    ks.miss();
    return null;
  }
  ks.touch(e);
  const type = ks.type(e);
  if (ref.field === null) return type === TYPE_STRING ? copy(ks.bytes(), ks.valueOffset(e), ks.valueLength(e)) : null;
  if (type !== TYPE_HASH || !C.elementFind(ks, e, ref.field, 0, ref.field.length)) return null;
  return copy(ks.bytes(), C.hitOff, C.hitLen);
}

// --- sorting ---------------------------------------------------------------------------------------

const NUMBER = /^[ \t\n\v\f\r]*([+-]?)(?:(inf(?:inity)?)|(nan(?:\([0-9a-z_]*\))?)|0x((?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?)|((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?))$/i;
const MIN_NORMAL = 2.2250738585072014e-308;

/** A value as C's strtod reads it when it must consume the whole string (up to a NUL), with
 * Redis's refusals: NaN, overflow and underflow (ERANGE). NaN when refused. An empty string is 0. */
function sortScore(b: Uint8Array): number {
  let n = b.indexOf(0);
  if (n < 0) n = b.length;
  if (n === 0) return 0;
  const m = NUMBER.exec(Buffer.from(b.buffer, b.byteOffset, n).toString('latin1'));
  if (m === null) return NaN;
  const neg = m[1] === '-';
  let x: number;
  let digits: string;
  if (m[2] !== undefined) return neg ? -Infinity : Infinity;
  if (m[3] !== undefined) return NaN;
  if (m[4] !== undefined) {
    const [mant, exp] = m[4].toLowerCase().split('p') as [string, string | undefined];
    const dot = mant.indexOf('.');
    digits = mant.replace('.', '');
    const frac = dot < 0 ? 0 : mant.length - dot - 1;
    x = Number(BigInt('0x' + (digits === '' ? '0' : digits))) * Math.pow(2, Number(exp ?? '0') - 4 * frac);
    if (!Number.isFinite(x) && digits !== '') {
      // Scale in two steps: a long mantissa times a tiny power can overflow the first product.
      x = Number(BigInt('0x' + digits)) * Math.pow(2, -4 * frac) * Math.pow(2, Number(exp ?? '0'));
    }
    digits = digits.replace(/0/g, '');
  } else {
    const s = m[5]!;
    x = Number(s);
    digits = s.replace(/e.*$/i, '').replace(/[.0]/g, '');
  }
  if (!Number.isFinite(x)) return NaN;
  if (digits !== '' && Math.abs(x) < MIN_NORMAL) return NaN;
  return neg ? -x : x;
}

/** memcmp order, then length (Redis's compareStringObjects). */
function binaryCompare(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** strcoll in the C locale: bytes up to the first NUL of each. */
function collate(a: Buffer, b: Buffer): number {
  let na = a.indexOf(0);
  let nb = b.indexOf(0);
  if (na < 0) na = a.length;
  if (nb < 0) nb = b.length;
  return Buffer.compare(a.subarray(0, na), b.subarray(0, nb));
}

/** The positions of `els` in sorted order (Redis's sortCompare), or null when a score does not
 * convert to a double. `by` holds the BY values (null: missing) when sorting by a pattern. */
function sortOrder(els: readonly Buffer[], by: ReadonlyArray<Buffer | null> | null, alpha: boolean, desc: boolean, store: boolean): number[] | null {
  const n = els.length;
  const idx: number[] = new Array<number>(n);
  for (let j = 0; j < n; j++) idx[j] = j;
  let cmp: (x: number, y: number) => number;
  if (!alpha) {
    const score = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const v = by ? by[j] : els[j]!;
      // A missing BY value leaves the score at 0, as Redis.
      if (v === null || v === undefined) continue;
      const s = sortScore(v);
      if (Number.isNaN(s)) return null;
      score[j] = s;
    }
    cmp = (x, y) => (score[x]! > score[y]! ? 1 : score[x]! < score[y]! ? -1 : binaryCompare(els[x]!, els[y]!));
  } else if (by) {
    // Missing values first; equal values stay in their loading order.
    const cmpOf = store ? binaryCompare : collate;
    cmp = (x, y) => {
      const a = by[x] ?? null;
      const b = by[y] ?? null;
      if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
      return cmpOf(a, b);
    };
  } else {
    const cmpOf = store ? binaryCompare : collate;
    cmp = (x, y) => cmpOf(els[x]!, els[y]!);
  }
  idx.sort(desc ? (x, y) => -cmp(x, y) : cmp);
  return idx;
}

/** The output of a sorted vector: its elements start..end in `order`, or, with GET patterns, each
 * pattern's value per element (null: nothing there). `get` answers a GET pattern for an element. */
function outputOf(els: readonly Buffer[], order: readonly number[] | null, start: number, end: number, gets: readonly Buffer[], get: (p: number, k: number) => Buffer | null): Array<Buffer | null> {
  const out: Array<Buffer | null> = [];
  for (let j = start; j <= end; j++) {
    const k = order ? order[j]! : j;
    if (gets.length === 0) out.push(els[k]!);
    else for (let p = 0; p < gets.length; p++) out.push(get(p, k));
  }
  return out;
}

function replyOutput(out: RespWriter, vals: ReadonlyArray<Buffer | null>): void {
  out.array(vals.length);
  for (const v of vals) {
    if (v === null) out.nil();
    else out.bulk(v, 0, v.length);
  }
}

const EMPTY = Buffer.alloc(0);

/** Replaces key kb[ko, +kl) with a list of `vals` (a missing GET value stores an empty string, as
 * Redis); deletes it when there are none. The values must not point into the keyspace. */
function storeList(ks: Keyspace, kb: Uint8Array, ko: number, kl: number, vals: ReadonlyArray<Buffer | null>): boolean {
  const existed = ks.delete(kb, ko, kl);
  if (vals.length === 0) return existed;
  // An overwrite, as Redis's setKey: no 'new' event for a key that was there.
  const onCreate = ks.onCreate;
  if (existed) ks.onCreate = null;
  let e: number;
  try {
    e = L.listCreate(ks, kb, ko, kl);
  } finally {
    ks.onCreate = onCreate;
  }
  for (const v of vals) {
    const b = v ?? EMPTY;
    e = L.listPush(ks, e, L.TAIL, b, 0, b.length);
  }
  return existed;
}

/** SORT STORE's events on the key in argument ki: 'sortstore', or 'del' when an empty result
 * deleted the key that was there. */
function storeEvents(c: ShardContext, ki: number, stored: number, existed: boolean): void {
  if (stored > 0) keyEvent(c, 'l', 'sortstore', ki);
  else if (existed) keyEvent(c, 'g', 'del', ki);
}

// --- on the key's shard ----------------------------------------------------------------------------

/** A view of argument i (valid while the handler runs; keys built from it are new buffers). */
function argBuf(a: ArgList, i: number): Buffer {
  return Buffer.from(a.buf.buffer, a.buf.byteOffset + a.off[i]!, a.len[i]!);
}

function sortCommand(c: ShardContext, readonly: boolean): void {
  const a = c.args;
  const ks = c.ks;
  const o = parseSort(a, readonly, false);
  if (o === null) {
    c.out.error(parseError);
    return;
  }
  const e = readKey(c, 1);
  if (e !== 0) {
    const t = ks.type(e);
    if (t !== TYPE_LIST && t !== TYPE_SET && t !== TYPE_ZSET) {
      c.out.error(ERR.wrongType);
      return;
    }
  }
  const v = loadVector(ks, e, o);
  const f = effective(o, v.type);
  let order: number[] | null = null;
  if (!f.dontsort) {
    let by: Array<Buffer | null> | null = null;
    if (f.byPattern) {
      const p = argBuf(a, o.byAt);
      by = v.els.map((el) => {
        const r = refOf(p, el);
        return r === null ? null : r === 'self' ? el : lookupLocal(ks, r);
      });
    }
    order = sortOrder(v.els, by, f.alpha, o.desc, o.storeAt !== 0);
    if (order === null) {
      c.out.error(ERR.sortScores);
      return;
    }
  }
  const gets = o.getAt.map((i) => argBuf(a, i));
  const vals = outputOf(v.els, order, v.start, v.end, gets, (p, k) => {
    const r = refOf(gets[p]!, v.els[k]!);
    return r === null ? null : r === 'self' ? v.els[k]! : lookupLocal(ks, r);
  });
  if (o.storeAt === 0) {
    replyOutput(c.out, vals);
    return;
  }
  storeEvents(c, o.storeAt, vals.length, storeList(ks, a.buf, a.off[o.storeAt]!, a.len[o.storeAt]!, vals));
  c.out.integer(vals.length);
}

// --- internal shard commands of the coordinator ---------------------------------------------------

/** __sortload key desc dontsort store limitStart limitCount: the key's type number, the output
 * range's start and end, then the loaded elements (loadVector), as a RESP2 array; WRONGTYPE for
 * a key that cannot be sorted. */
function shardLoadCommand(c: ShardContext): void {
  const a = c.args;
  const o: SortOpts = {
    desc: argIs(a, 2, '1'),
    alpha: false,
    dontsort: argIs(a, 3, '1'),
    storeAt: argIs(a, 4, '1') ? 1 : 0,
    byAt: 0,
    limitStart: argLong(a, 5),
    limitCount: argLong(a, 6),
    getAt: [],
  };
  const e = readKey(c, 1);
  if (e !== 0) {
    const t = c.ks.type(e);
    if (t !== TYPE_LIST && t !== TYPE_SET && t !== TYPE_ZSET) {
      c.out.error(ERR.wrongType);
      return;
    }
  }
  const v = loadVector(c.ks, e, o);
  c.out.array(3 + v.els.length);
  c.out.integer(v.type);
  c.out.integer(v.start);
  c.out.integer(v.end);
  for (const el of v.els) c.out.bulk(el, 0, el.length);
}

/** __sortlookup key field [key field ...]: per pair, the string key's value (empty field) or the
 * hash field's value, nil when there is none, as a RESP2 array. */
function shardLookupCommand(c: ShardContext): void {
  const a = c.args;
  c.out.array((a.argc - 1) >> 1);
  for (let i = 1; i + 1 < a.argc; i += 2) {
    const v = lookupLocal(c.ks, { key: argBuf(a, i), field: a.len[i + 1] === 0 ? null : argBuf(a, i + 1) });
    if (v === null) c.out.nil();
    else c.out.bulk(v, 0, v.length);
  }
}

/** __sortstore dest packed: replaces dest with the list of values packed as (u32 LE length,
 * bytes) each (none: deletes dest); replies the count. */
function shardStoreCommand(c: ShardContext): void {
  const a = c.args;
  const packed = argBuf(a, 2);
  const vals: Buffer[] = [];
  for (let p = 0; p < packed.length; ) {
    const l = packed.readUInt32LE(p);
    vals.push(packed.subarray(p + 4, p + 4 + l));
    p += 4 + l;
  }
  storeEvents(c, 1, vals.length, storeList(c.ks, a.buf, a.off[1]!, a.len[1]!, vals));
  c.out.integer(vals.length);
}

// --- the coordinator -------------------------------------------------------------------------------

/** Lookups per __sortlookup call: bounds the request and the reply a shard builds at once. */
const LOOKUPS_PER_CALL = 512;

/** The bulk strings (null for nil) of a RESP2 array reply. */
function bulksOf(r: Buffer): Array<Buffer | null> {
  let p = r.indexOf(10) + 1;
  const n = Number(r.toString('latin1', 1, p - 2));
  const out: Array<Buffer | null> = [];
  for (let k = 0; k < n; k++) {
    const nl = r.indexOf(10, p);
    const l = Number(r.toString('latin1', p + 1, nl - 1));
    if (l < 0) {
      out.push(null);
      p = nl + 1;
    } else {
      out.push(r.subarray(nl + 1, nl + 1 + l));
      p = nl + 1 + l + 2;
    }
  }
  return out;
}

/** The values refs name, fetched from the shards owning their keys (under the caller's lock). */
async function fetchRefs(m: MainCall, call: ShardCaller, refs: ReadonlyArray<Ref | null>): Promise<Array<Buffer | null>> {
  const vals: Array<Buffer | null> = new Array<Buffer | null>(refs.length).fill(null);
  const byShard = new Map<number, number[]>();
  refs.forEach((r, i) => {
    if (r === null) return;
    const s = m.server.shardOfKey(r.key, 0, r.key.length);
    let g = byShard.get(s);
    if (!g) byShard.set(s, (g = []));
    g.push(i);
  });
  for (const [s, ids] of byShard) {
    for (let k = 0; k < ids.length; k += LOOKUPS_PER_CALL) {
      const part = ids.slice(k, k + LOOKUPS_PER_CALL);
      const args: Array<Uint8Array | string> = ['__sortlookup'];
      for (const i of part) args.push(refs[i]!.key, refs[i]!.field ?? EMPTY);
      const got = bulksOf(shardOk(await call(s, args, 2)));
      part.forEach((i, n) => (vals[i] = got[n] ?? null));
    }
  }
  return vals;
}

function packValues(vals: ReadonlyArray<Buffer | null>): Buffer {
  let size = 0;
  for (const v of vals) size += 4 + (v?.length ?? 0);
  const b = Buffer.allocUnsafe(size);
  let p = 0;
  for (const v of vals) {
    const x = v ?? EMPTY;
    b.writeUInt32LE(x.length, p);
    x.copy(b, p + 4);
    p += 4 + x.length;
  }
  return b;
}

async function sortCrossShard(m: MainCall, readonly: boolean): Promise<void> {
  const { server, args: a } = m;
  const o = parseSort(a, readonly, server.cluster !== null);
  if (o === null) {
    m.out.error(parseError);
    return;
  }
  // The arguments are views of the receive buffer: copy what is needed before the first await.
  const key = argCopy(a, 1);
  const dest = o.storeAt !== 0 ? argCopy(a, o.storeAt) : null;
  const byPat = o.byAt !== 0 ? argCopy(a, o.byAt) : null;
  const gets = o.getAt.map((i) => argCopy(a, i));
  const keyShard = server.shardOfKey(key, 0, key.length);
  // Keys named by patterns may be on any shard, so all are locked (the lock order stays ascending).
  const shards = sawByPattern || sawGetLookup
    ? Array.from({ length: server.shardCount }, (_, i) => i)
    : [...new Set([keyShard, ...(dest ? [server.shardOfKey(dest, 0, dest.length)] : [])])].sort((x, y) => x - y);
  await server.withShardsLocked(shards, async (call) => {
    const r = shardOk(await call(keyShard, ['__sortload', key, o.desc ? '1' : '0', o.dontsort ? '1' : '0', dest ? '1' : '0', String(o.limitStart), String(o.limitCount)], 2));
    const head = bulksOrInts(r);
    const type = head.ints[0]!;
    const start = head.ints[1]!;
    const end = head.ints[2]!;
    const els = head.els;
    const f = effective(o, type);
    let order: number[] | null = null;
    if (!f.dontsort) {
      let by: Array<Buffer | null> | null = null;
      if (f.byPattern && byPat) {
        const refs = els.map((el) => refOf(byPat, el));
        const fetched = await fetchRefs(m, call, refs.map((x) => (x === null || x === 'self' ? null : x)));
        by = refs.map((x, i) => (x === 'self' ? els[i]! : fetched[i]!));
      }
      order = sortOrder(els, by, f.alpha, o.desc, dest !== null);
      if (order === null) {
        m.out.error(ERR.sortScores);
        return;
      }
    }
    // The GET values of the output range, fetched in one pass per pattern.
    const slots: Array<Ref | 'self' | null> = [];
    for (let j = start; j <= end; j++) {
      const k = order ? order[j]! : j;
      for (const g of gets) slots.push(refOf(g, els[k]!));
    }
    const fetched = await fetchRefs(m, call, slots.map((x) => (x === null || x === 'self' ? null : x)));
    let n = 0;
    const vals = outputOf(els, order, start, end, gets, (_p, k) => {
      const s = slots[n];
      const v = s === 'self' ? els[k]! : fetched[n]!;
      n++;
      return v;
    });
    if (dest === null) {
      replyOutput(m.out, vals);
      return;
    }
    shardOk(await call(server.shardOfKey(dest, 0, dest.length), ['__sortstore', dest, packValues(vals)], 2));
    m.out.integer(vals.length);
  });
}

/** __sortload's reply: its three leading integers and the elements. */
function bulksOrInts(r: Buffer): { ints: number[]; els: Buffer[] } {
  let p = r.indexOf(10) + 1;
  const n = Number(r.toString('latin1', 1, p - 2));
  const ints: number[] = [];
  const els: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const nl = r.indexOf(10, p);
    if (r[p] === 58) {
      ints.push(Number(r.toString('latin1', p + 1, nl - 1)));
      p = nl + 1;
    } else {
      const l = Number(r.toString('latin1', p + 1, nl - 1));
      els.push(r.subarray(nl + 1, nl + 1 + l));
      p = nl + 1 + l + 2;
    }
  }
  return { ints, els };
}

// --- the table -------------------------------------------------------------------------------------

const G = 'generic' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };
const I = 'internal' as const;

export const SORT_COMMANDS = [
  {
    name: 'sort', arity: -2, flags: ['write', 'denyoom'], keys: { first: 1, last: 1, step: 1, extraKeyAt: storeKeyAt }, group: G, since: '1.0.0',
    summary: 'Sort the elements in a list, set or sorted set', shard: (c) => sortCommand(c, false), crossShard: (m) => sortCrossShard(m, false),
    reachesOtherKeys: (a, cluster) => reachesOtherKeys(a, cluster, false),
  },
  {
    name: 'sort_ro', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: G, since: '7.0.0',
    summary: 'Sort the elements in a list, set or sorted set. Read-only variant of SORT.', shard: (c) => sortCommand(c, true), crossShard: (m) => sortCrossShard(m, true),
    reachesOtherKeys: (a, cluster) => reachesOtherKeys(a, cluster, true),
  },
  { name: '__sortload', arity: 7, flags: ['readonly'], keys: ONE_KEY, group: I, since: '0', summary: 'internal', shard: shardLoadCommand, hidden: true },
  { name: '__sortlookup', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: I, since: '0', summary: 'internal', shard: shardLookupCommand, hidden: true },
  { name: '__sortstore', arity: 3, flags: ['write'], keys: ONE_KEY, group: I, since: '0', summary: 'internal', shard: shardStoreCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
