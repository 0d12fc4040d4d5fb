// Hash commands (Redis t_hash.c, 7.0 semantics): specs and their shard operations. Every element
// access goes through keyspace/collection.ts, which keeps Redis's listpack -> hashtable conversion
// at hash-max-listpack-entries/value; a command that empties a hash deletes the key, as Redis does.

import type { CommandSpec, ShardContext } from './types.js';
import { argIs, argInt, argBigInt } from './args.js';
import { ERR } from '../core/errors.js';
import { readKey, writeKey, decimalBytes, keyEvent } from './shard-helpers.js';
import { TYPE_HASH } from '../keyspace/keyspace.js';
import { ENC_PACK, ENC_TABLE } from '../keyspace/pack.js';
import * as C from '../keyspace/collection.js';
import { globMatch } from '../util/glob.js';
import { parseI64Big, parseLongDoubleExact, longDoubleFromBigInt, incrByFloat } from '../util/numbers.js';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** LONG_MAX on Redis's 64-bit builds: HRANDFIELD's count range, halved with WITHVALUES. */
const LONG_MAX = INT64_MAX;

/** The hash in argument 1 for writing: its handle, 0 when absent, -1 after a WRONGTYPE reply. */
function writableHash(c: ShardContext): number {
  const e = writeKey(c, 1);
  if (e !== 0 && c.ks.type(e) !== TYPE_HASH) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

/** The hash in argument 1 for reading (counts a hit or a miss), as writableHash. */
function readableHash(c: ShardContext): number {
  const e = readKey(c, 1);
  if (e !== 0 && c.ks.type(e) !== TYPE_HASH) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

/** The hash in argument 1, created empty (listpack) when absent. */
function hashOrCreate(c: ShardContext, e: number): number {
  if (e !== 0) return e;
  const a = c.args;
  return C.createCollection(c.ks, a.buf, a.off[1]!, a.len[1]!, TYPE_HASH, ENC_PACK);
}

/** Sets field argument fi to vb[vo, +vl) in hash e; returns e's (maybe new) handle. */
function putField(c: ShardContext, e: number, fi: number, vb: Uint8Array, vo: number, vl: number): number {
  const a = c.args;
  return C.elementPut(c.ks, e, a.buf, a.off[fi]!, a.len[fi]!, vb, vo, vl);
}

/** Looks field argument fi up in hash e (its value then at C.hitOff/C.hitLen in ks.bytes()). */
function findField(c: ShardContext, e: number, fi: number): boolean {
  const a = c.args;
  return C.elementFind(c.ks, e, a.buf, a.off[fi]!, a.len[fi]!);
}

// --- writes ------------------------------------------------------------------------------------

/** HSET and HMSET: field-value pairs (the pair check is the command's, as in Redis, so it runs
 * after admission and inside MULTI at EXEC). */
function hsetGeneric(c: ShardContext, name: 'hset' | 'hmset'): void {
  const a = c.args;
  if (a.argc % 2 === 1) {
    c.out.error(ERR.wrongArity(name));
    return;
  }
  let e = writableHash(c);
  if (e < 0) return;
  e = hashOrCreate(c, e);
  let created = 0;
  for (let i = 2; i < a.argc; i += 2) {
    e = putField(c, e, i, a.buf, a.off[i + 1]!, a.len[i + 1]!);
    if (C.added) created++;
  }
  if (name === 'hset') c.out.integer(created);
  else c.out.ok();
}

function hsetnxCommand(c: ShardContext): void {
  let e = writableHash(c);
  if (e < 0) return;
  if (e !== 0 && findField(c, e, 2)) {
    c.out.integer(0);
    return;
  }
  const a = c.args;
  e = hashOrCreate(c, e);
  putField(c, e, 2, a.buf, a.off[3]!, a.len[3]!);
  keyEvent(c, 'h', 'hset', 1);
  c.out.integer(1);
}

function hdelCommand(c: ShardContext): void {
  let e = writableHash(c);
  if (e < 0) return;
  if (e === 0) {
    c.out.integer(0);
    return;
  }
  const a = c.args;
  const ks = c.ks;
  let deleted = 0;
  let emptied = false;
  for (let i = 2; i < a.argc; i++) {
    if (C.elementRemove(ks, e, a.buf, a.off[i]!, a.len[i]!)) deleted++;
    e = C.removedHandle;
    if (ks.elementCount(e) === 0) {
      ks.deleteEntry(e);
      emptied = true;
      break;
    }
  }
  if (deleted > 0) {
    keyEvent(c, 'h', 'hdel', 1);
    if (emptied) keyEvent(c, 'g', 'del', 1);
  }
  c.out.integer(deleted);
}

function hincrbyCommand(c: ShardContext): void {
  const a = c.args;
  let incr: number | bigint = argInt(a, 3);
  if (Number.isNaN(incr)) {
    const b = argBigInt(a, 3);
    if (b === null) {
      c.out.error(ERR.notInteger);
      return;
    }
    incr = b;
  }
  let e = writableHash(c);
  if (e < 0) return;
  let cur: bigint = 0n;
  if (e !== 0 && findField(c, e, 2)) {
    const v = parseI64Big(c.ks.bytes(), C.hitOff, C.hitLen);
    if (v === null) {
      c.out.error(ERR.hashNotInteger);
      return;
    }
    cur = v;
  }
  const sum = cur + BigInt(incr);
  if (sum > INT64_MAX || sum < INT64_MIN) {
    c.out.error(ERR.overflow);
    return;
  }
  const digits = decimalBytes(sum);
  e = hashOrCreate(c, e);
  putField(c, e, 2, digits, 0, digits.length);
  c.out.integer(sum);
}

function hincrbyfloatCommand(c: ShardContext): void {
  const a = c.args;
  // Redis computes in 80-bit long double and formats as INCRBYFLOAT does (util/numbers.ts).
  const incr = parseLongDoubleExact(a.buf, a.off[3]!, a.len[3]!);
  if (incr === null) {
    c.out.error(ERR.notFloat);
    return;
  }
  if (incr.inf) {
    c.out.error(ERR.valueNanOrInf);
    return;
  }
  let e = writableHash(c);
  if (e < 0) return;
  let cur = ZERO;
  if (e !== 0 && findField(c, e, 2)) {
    const v = parseLongDoubleExact(c.ks.bytes(), C.hitOff, C.hitLen);
    if (v === null) {
      c.out.error(ERR.hashNotFloat);
      return;
    }
    cur = v;
  }
  const s = incrByFloat(cur, incr);
  if (s === null) {
    c.out.error(ERR.nanOrInf);
    return;
  }
  const digits = decimalBytes(s);
  e = hashOrCreate(c, e);
  putField(c, e, 2, digits, 0, digits.length);
  c.out.bulkString(s);
}

const ZERO = longDoubleFromBigInt(0n);

// --- reads -------------------------------------------------------------------------------------

function hgetCommand(c: ShardContext): void {
  const e = readableHash(c);
  if (e < 0) return;
  if (e !== 0 && findField(c, e, 2)) c.out.bulk(c.ks.bytes(), C.hitOff, C.hitLen);
  else c.out.nil();
}

function hmgetCommand(c: ShardContext): void {
  const e = readableHash(c);
  if (e < 0) return;
  const a = c.args;
  c.out.array(a.argc - 2);
  for (let i = 2; i < a.argc; i++) {
    if (e !== 0 && findField(c, e, i)) c.out.bulk(c.ks.bytes(), C.hitOff, C.hitLen);
    else c.out.nil();
  }
}

function hexistsCommand(c: ShardContext): void {
  const e = readableHash(c);
  if (e < 0) return;
  c.out.integer(e !== 0 && findField(c, e, 2) ? 1 : 0);
}

function hlenCommand(c: ShardContext): void {
  const e = readableHash(c);
  if (e < 0) return;
  c.out.integer(e === 0 ? 0 : c.ks.elementCount(e));
}

function hstrlenCommand(c: ShardContext): void {
  const e = readableHash(c);
  if (e < 0) return;
  c.out.integer(e !== 0 && findField(c, e, 2) ? C.hitLen : 0);
}

const KEYS = 1;
const VALUES = 2;

/** HGETALL (a map), HKEYS and HVALS (arrays); a missing key is an empty map or array. */
function getAllGeneric(c: ShardContext, what: number): void {
  const e = readableHash(c);
  if (e < 0) return;
  const both = what === (KEYS | VALUES);
  const n = e === 0 ? 0 : c.ks.elementCount(e);
  if (both) c.out.map(n);
  else c.out.array(n);
  if (e === 0) return;
  const out = c.out;
  C.elementForEach(c.ks, e, (b, ko, kl, vo, vl) => {
    if (what & KEYS) out.bulk(b, ko, kl);
    if (what & VALUES) out.bulk(b, vo, vl);
  });
}

// --- HRANDFIELD --------------------------------------------------------------------------------

/** Offsets of elements picked for a reply: field at [i], [i+1] (length), value at [i+2], [i+3]. */
type Picks = number[];

function replyPicks(c: ShardContext, picks: Picks, withValues: boolean): void {
  const out = c.out;
  const u8 = c.ks.bytes();
  const n = picks.length / 4;
  out.array(withValues && out.proto === 2 ? n * 2 : n);
  for (let i = 0; i < picks.length; i += 4) {
    if (withValues && out.proto === 3) out.array(2);
    out.bulk(u8, picks[i]!, picks[i + 1]!);
    if (withValues) out.bulk(u8, picks[i + 2]!, picks[i + 3]!);
  }
}

/** Every element of hash e, in its iteration order. */
function allElements(c: ShardContext, e: number): Picks {
  const picks: Picks = [];
  C.elementForEach(c.ks, e, (_b, ko, kl, vo, vl) => {
    picks.push(ko, kl, vo, vl);
  });
  return picks;
}

function hrandfieldCommand(c: ShardContext): void {
  const a = c.args;
  if (a.argc === 2) {
    const e = readKey(c, 1);
    if (e === 0) {
      c.out.nil();
      return;
    }
    if (c.ks.type(e) !== TYPE_HASH) {
      c.out.error(ERR.wrongType);
      return;
    }
    C.randomElement(c.ks, e);
    c.out.bulk(C.hitKeyBuf, C.hitKeyOff, C.hitKeyLen);
    return;
  }
  const l = argBigInt(a, 2);
  if (l === null) {
    c.out.error(ERR.notInteger);
    return;
  }
  if (l < -LONG_MAX || l > LONG_MAX) {
    c.out.error(ERR.valueOutOfRangeBetween(String(-LONG_MAX), String(LONG_MAX)));
    return;
  }
  if (a.argc > 4 || (a.argc === 4 && !argIs(a, 3, 'WITHVALUES'))) {
    c.out.error(ERR.syntax);
    return;
  }
  const withValues = a.argc === 4;
  if (withValues && (l < -LONG_MAX / 2n || l > LONG_MAX / 2n)) {
    c.out.error(ERR.valueOutOfRange);
    return;
  }
  const e = readKey(c, 1);
  if (e === 0) {
    c.out.array(0);
    return;
  }
  if (c.ks.type(e) !== TYPE_HASH) {
    c.out.error(ERR.wrongType);
    return;
  }
  randomFields(c, e, l, withValues);
}

/** HRANDFIELD key count: Redis's four cases (hrandfieldWithCountCommand). */
function randomFields(c: ShardContext, e: number, l: bigint, withValues: boolean): void {
  const ks = c.ks;
  const uniq = l >= 0n;
  const count = Number(uniq ? l : -l);
  if (count === 0) {
    c.out.array(0);
    return;
  }
  const size = ks.elementCount(e);
  const table = ks.encoding(e) === ENC_TABLE;
  // Case 1: a negative count (or 1) samples with repetition, in random order.
  if (!uniq || count === 1) {
    const out = c.out;
    out.array(withValues && out.proto === 2 ? count * 2 : count);
    const all = table ? null : allElements(c, e);
    const u8 = ks.bytes();
    for (let k = 0; k < count; k++) {
      if (withValues && out.proto === 3) out.array(2);
      if (all === null) {
        C.randomElement(ks, e);
        out.bulk(C.hitKeyBuf, C.hitKeyOff, C.hitKeyLen);
        if (withValues) out.bulk(u8, C.hitOff, C.hitLen);
      } else {
        const i = 4 * Math.floor(ks.randomFraction() * size);
        out.bulk(u8, all[i]!, all[i + 1]!);
        if (withValues) out.bulk(u8, all[i + 2]!, all[i + 3]!);
      }
    }
    return;
  }
  // Case 2: at least the whole hash: all of it, in its own order.
  if (count >= size) {
    replyPicks(c, allElements(c, e), withValues);
    return;
  }
  if (!table) {
    // A listpack: unique picks in listpack order (selection sampling, as lpRandomPairsUnique).
    const picks: Picks = [];
    let remaining = count;
    let index = 0;
    C.elementForEach(ks, e, (_b, ko, kl, vo, vl) => {
      if (remaining > 0 && ks.randomFraction() < remaining / (size - index)) {
        picks.push(ko, kl, vo, vl);
        remaining--;
      }
      index++;
    });
    replyPicks(c, picks, withValues);
    return;
  }
  // Case 3: most of a table: take all, drop random ones until count are left.
  if (count * 3 > size) {
    const all = allElements(c, e);
    let left = size;
    while (left > count) {
      const i = Math.floor(ks.randomFraction() * left);
      left--;
      for (let k = 0; k < 4; k++) all[4 * i + k] = all[4 * left + k]!;
    }
    all.length = 4 * count;
    replyPicks(c, all, withValues);
    return;
  }
  // Case 4: few of a large table: random picks until count distinct fields.
  const seen = new Set<string>();
  const picks: Picks = [];
  const u8 = ks.bytes();
  while (picks.length < 4 * count) {
    C.randomElement(ks, e);
    const name = Buffer.from(u8.buffer, u8.byteOffset + C.hitKeyOff, C.hitKeyLen).toString('latin1');
    if (seen.has(name)) continue;
    seen.add(name);
    picks.push(C.hitKeyOff, C.hitKeyLen, C.hitOff, C.hitLen);
  }
  replyPicks(c, picks, withValues);
}

// --- HSCAN -------------------------------------------------------------------------------------

/** Redis's parseScanCursorOrReply: strtoul over the whole argument (a sign is accepted, "-1" is
 * ULONG_MAX, an empty argument is 0), no leading space, no overflow. Null when invalid. */
export function parseScanCursor(buf: Uint8Array, off: number, len: number): bigint | null {
  let i = off;
  const end = off + len;
  let neg = false;
  if (i < end && (buf[i] === 43 || buf[i] === 45)) {
    neg = buf[i] === 45;
    i++;
  }
  if (i === end) return len === 0 ? 0n : null;
  let v = 0n;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10n + BigInt(d);
    if (v > ULONG_MAX) return null;
  }
  return neg ? (ULONG_MAX + 1n - v) & ULONG_MAX : v;
}

const ULONG_MAX = (1n << 64n) - 1n;
/** An element table's cursor holds the low 32 bits of Redis's (its masks are narrower). */
const CURSOR_MASK = 0xffffffffn;

function hscanCommand(c: ShardContext): void {
  const a = c.args;
  const cursor = parseScanCursor(a.buf, a.off[2]!, a.len[2]!);
  if (cursor === null) {
    c.out.error(ERR.invalidCursor);
    return;
  }
  const e = readKey(c, 1);
  if (e === 0) {
    c.out.array(2);
    c.out.bulkString('0');
    c.out.array(0);
    return;
  }
  if (c.ks.type(e) !== TYPE_HASH) {
    c.out.error(ERR.wrongType);
    return;
  }
  let count = 10;
  let pat = -1;
  for (let i = 3; i < a.argc; i += 2) {
    if (argIs(a, i, 'COUNT') && i + 1 < a.argc) {
      const n = argBigInt(a, i + 1);
      if (n === null) {
        c.out.error(ERR.notInteger);
        return;
      }
      if (n < 1n) {
        c.out.error(ERR.syntax);
        return;
      }
      count = n > 1_000_000_000n ? 1_000_000_000 : Number(n);
    } else if (argIs(a, i, 'MATCH') && i + 1 < a.argc) {
      // "*" matches everything: no pattern to apply, as in Redis.
      pat = a.len[i + 1] === 1 && a.buf[a.off[i + 1]!] === 42 ? -1 : i + 1;
    } else {
      c.out.error(ERR.syntax);
      return;
    }
  }
  const ks = c.ks;
  const found: Picks = [];
  const next = C.elementScan(ks, e, Number(cursor & CURSOR_MASK), count, (b, ko, kl, vo, vl) => {
    if (pat >= 0 && !globMatch(a.buf, a.off[pat]!, a.len[pat]!, b, ko, kl, false)) return;
    found.push(ko, kl, vo, vl);
  });
  c.out.array(2);
  c.out.bulkString(String(next));
  c.out.array(found.length / 2);
  const u8 = ks.bytes();
  for (let i = 0; i < found.length; i += 4) {
    c.out.bulk(u8, found[i]!, found[i + 1]!);
    c.out.bulk(u8, found[i + 2]!, found[i + 3]!);
  }
}

const H = 'hash' as const;
const KEY1 = { first: 1, last: 1, step: 1 } as const;

export const HASH_COMMANDS = [
  { name: 'hset', arity: -4, flags: ['write', 'denyoom', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Set the string value of a hash field', shard: (c) => hsetGeneric(c, 'hset'), event: ['h', 'hset'] },
  { name: 'hsetnx', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Set the value of a hash field, only if the field does not exist', shard: hsetnxCommand },
  { name: 'hmset', arity: -4, flags: ['write', 'denyoom', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Set multiple hash fields to multiple values', shard: (c) => hsetGeneric(c, 'hmset'), event: ['h', 'hset'] },
  { name: 'hget', arity: 3, flags: ['readonly', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Get the value of a hash field', shard: hgetCommand },
  { name: 'hmget', arity: -3, flags: ['readonly', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Get the values of all the given hash fields', shard: hmgetCommand },
  { name: 'hgetall', arity: 2, flags: ['readonly'], keys: KEY1, group: H, since: '2.0.0', summary: 'Get all the fields and values in a hash', shard: (c) => getAllGeneric(c, KEYS | VALUES) },
  { name: 'hdel', arity: -3, flags: ['write', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Delete one or more hash fields', shard: hdelCommand },
  { name: 'hexists', arity: 3, flags: ['readonly', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Determine if a hash field exists', shard: hexistsCommand },
  { name: 'hlen', arity: 2, flags: ['readonly', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Get the number of fields in a hash', shard: hlenCommand },
  { name: 'hstrlen', arity: 3, flags: ['readonly', 'fast'], keys: KEY1, group: H, since: '3.2.0', summary: 'Get the length of the value of a hash field', shard: hstrlenCommand },
  { name: 'hkeys', arity: 2, flags: ['readonly'], keys: KEY1, group: H, since: '2.0.0', summary: 'Get all the fields in a hash', shard: (c) => getAllGeneric(c, KEYS) },
  { name: 'hvals', arity: 2, flags: ['readonly'], keys: KEY1, group: H, since: '2.0.0', summary: 'Get all the values in a hash', shard: (c) => getAllGeneric(c, VALUES) },
  { name: 'hincrby', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: KEY1, group: H, since: '2.0.0', summary: 'Increment the integer value of a hash field by the given number', shard: hincrbyCommand, event: ['h', 'hincrby'] },
  { name: 'hincrbyfloat', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: KEY1, group: H, since: '2.6.0', summary: 'Increment the float value of a hash field by the given amount', shard: hincrbyfloatCommand, event: ['h', 'hincrbyfloat'] },
  { name: 'hrandfield', arity: -2, flags: ['readonly'], keys: KEY1, group: H, since: '6.2.0', summary: 'Get one or multiple random fields from a hash', shard: hrandfieldCommand },
  { name: 'hscan', arity: -3, flags: ['readonly'], keys: KEY1, group: H, since: '2.8.0', summary: 'Incrementally iterate hash fields and associated values', shard: hscanCommand },
] as const satisfies readonly CommandSpec[];
