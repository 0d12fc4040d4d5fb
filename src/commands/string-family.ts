// String commands (Redis t_string.c): specs and their shard operations. Variants share one worker
// (setGeneric serves SET, SETNX, SETEX, PSETEX, GETSET; incrBy serves the INCR family).

import type { CommandSpec, MainCall, ShardContext } from './types.js';
import { argIs, argInt, argI64, argBigInt, argCopy } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import {
  readKey,
  writeKey,
  replyValue,
  isString,
  setString,
  setStringBytes,
  expireAtFrom,
  expireUnitAt,
  decimalBytes,
  keyEvent,
  expireOrDelete,
  type ExpireUnit,
} from './shard-helpers.js';
import { parseSafeInt, parseI64Big, parseLongDoubleExact, longDoubleFromBigInt, incrByFloat } from '../util/numbers.js';

const ZERO = longDoubleFromBigInt(0n);
import { TYPE_STRING } from '../keyspace/keyspace.js';

const NX = 1;
const XX = 2;
const GET = 4;
const KEEPTTL = 8;

/** SET and its variants. `expireAtMs` 0 = no expiry; KEEPTTL keeps the old one. */
function setGeneric(c: ShardContext, flags: number, expireAtMs: number, okReply: 'ok' | 'int'): void {
  const ks = c.ks;
  // A plain SET needs no lookup of its own: set() finds the key it overwrites.
  const e = flags === 0 ? 0 : writeKey(c, 1);
  if (flags & GET) {
    if (e !== 0 && !isString(c, e)) {
      c.out.error(ERR.wrongType);
      return;
    }
    if (e !== 0) replyValue(c, e);
    else c.out.nil();
  }
  if ((flags & NX && e !== 0) || (flags & XX && e === 0)) {
    if (!(flags & GET)) {
      if (okReply === 'int') c.out.integer(0);
      else c.out.nil();
    }
    return;
  }
  const keep = flags & KEEPTTL && e !== 0 ? ks.expireAt(e) : expireAtMs;
  if (keep !== 0 && keep <= ks.now) {
    // An absolute time already past: the key is written and expires at once. Redis 7.0 keeps it
    // until the next access, which emits its 'expired' event; here that event comes now.
    if (!ks.delete(c.args.buf, c.args.off[1]!, c.args.len[1]!)) keyEvent(c, 'n', 'new', 1);
    keyEvent(c, '$', 'set', 1);
    if (expireAtMs !== 0) keyEvent(c, 'g', 'expire', 1);
    keyEvent(c, 'x', 'expired', 1);
  } else {
    setString(c, 1, 2, keep);
    keyEvent(c, '$', 'set', 1);
    if (expireAtMs !== 0) keyEvent(c, 'g', 'expire', 1);
  }
  if (!(flags & GET)) {
    if (okReply === 'int') c.out.integer(1);
    else c.out.ok();
  }
}

function setCommand(c: ShardContext): void {
  const a = c.args;
  let flags = 0;
  let unit: ExpireUnit | null = null;
  let unitArg = 0;
  for (let i = 3; i < a.argc; i++) {
    const u = expireUnitAt(c, i);
    if (u !== null && !(flags & KEEPTTL) && unit === null && i + 1 < a.argc) {
      unit = u;
      unitArg = ++i;
    } else if (argIs(a, i, 'NX') && !(flags & XX)) flags |= NX;
    else if (argIs(a, i, 'XX') && !(flags & NX)) flags |= XX;
    else if (argIs(a, i, 'GET')) flags |= GET;
    else if (argIs(a, i, 'KEEPTTL') && unit === null) flags |= KEEPTTL;
    else {
      c.out.error(ERR.syntax);
      return;
    }
  }
  let at = 0;
  if (unit !== null) {
    at = expireAtFrom(c, unit, unitArg, 'set');
    if (Number.isNaN(at)) return;
  }
  setGeneric(c, flags, at, 'ok');
}

function setexLike(unit: ExpireUnit, name: string) {
  return (c: ShardContext): void => {
    const at = expireAtFrom(c, unit, 2, name);
    if (Number.isNaN(at)) return;
    // SETEX key seconds value: the value is argument 3; reuse setGeneric by viewing it as SET.
    const a = c.args;
    a.off[2] = a.off[3]!;
    a.len[2] = a.len[3]!;
    setGeneric(c, 0, at, 'ok');
  };
}

function getCommand(c: ShardContext): void {
  const e = readKey(c, 1);
  if (e === 0) c.out.nil();
  else if (!isString(c, e)) c.out.error(ERR.wrongType);
  else replyValue(c, e);
}

function getdelCommand(c: ShardContext): void {
  const e = readKey(c, 1);
  if (e === 0) c.out.nil();
  else if (!isString(c, e)) c.out.error(ERR.wrongType);
  else {
    replyValue(c, e);
    c.ks.deleteEntry(e);
    keyEvent(c, 'g', 'del', 1);
  }
}

function getexCommand(c: ShardContext): void {
  const a = c.args;
  let unit: ExpireUnit | null = null;
  let persist = false;
  let unitArg = 0;
  for (let i = 2; i < a.argc; i++) {
    const u = expireUnitAt(c, i);
    if (u !== null && unit === null && !persist && i + 1 < a.argc) {
      unit = u;
      unitArg = ++i;
    } else if (argIs(a, i, 'PERSIST') && unit === null) persist = true;
    else {
      c.out.error(ERR.syntax);
      return;
    }
  }
  let at = 0;
  if (unit !== null) {
    at = expireAtFrom(c, unit, unitArg, 'getex');
    if (Number.isNaN(at)) return;
  }
  const e = readKey(c, 1);
  if (e === 0) {
    c.out.nil();
    return;
  }
  if (!isString(c, e)) {
    c.out.error(ERR.wrongType);
    return;
  }
  replyValue(c, e);
  if (unit !== null) {
    expireOrDelete(c, e, at, 1);
  } else if (persist && c.ks.expireAt(e) !== 0) {
    c.ks.setExpireAt(e, 0);
    keyEvent(c, 'g', 'persist', 1);
  }
}

function mgetCommand(c: ShardContext): void {
  const n = c.args.argc - 1;
  c.out.array(n);
  for (let i = 1; i <= n; i++) {
    const e = readKey(c, i);
    if (e === 0 || !isString(c, e)) c.out.nil();
    else replyValue(c, e);
  }
}

function msetCommand(c: ShardContext): void {
  for (let i = 1; i < c.args.argc; i += 2) {
    setString(c, i, i + 1, 0);
    keyEvent(c, '$', 'set', i);
  }
  c.out.ok();
}

function msetnxCommand(c: ShardContext): void {
  for (let i = 1; i < c.args.argc; i += 2) {
    if (writeKey(c, i) !== 0) {
      c.out.integer(0);
      return;
    }
  }
  for (let i = 1; i < c.args.argc; i += 2) {
    setString(c, i, i + 1, 0);
    keyEvent(c, '$', 'set', i);
  }
  c.out.integer(1);
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** INCR family: adds `delta` to the integer in argument 1 (created as 0), keeping its TTL. */
function incrBy(c: ShardContext, delta: number | bigint): void {
  const ks = c.ks;
  const e = writeKey(c, 1);
  let cur: number | bigint = 0;
  let expireAt = 0;
  if (e !== 0) {
    if (!isString(c, e)) {
      c.out.error(ERR.wrongType);
      return;
    }
    const off = ks.valueOffset(e);
    const len = ks.valueLength(e);
    const n = parseSafeInt(ks.bytes(), off, len);
    if (!Number.isNaN(n)) cur = n;
    else {
      const b = parseI64Big(ks.bytes(), off, len);
      if (b === null) {
        c.out.error(ERR.notInteger);
        return;
      }
      cur = b;
    }
    expireAt = ks.expireAt(e);
  }
  let result: number | bigint;
  if (typeof cur === 'number' && typeof delta === 'number' && Number.isSafeInteger(cur + delta)) {
    result = cur + delta;
  } else {
    const r = BigInt(cur) + BigInt(delta);
    if (r > INT64_MAX || r < INT64_MIN) {
      c.out.error(ERR.overflow);
      return;
    }
    result = r;
  }
  setStringBytes(c, 1, decimalBytes(result), expireAt);
  c.out.integer(result);
}

/** The increment in argument i as a number (or bigint beyond 2^53), or null after replying. */
function incrementArg(c: ShardContext, i: number): number | bigint | null {
  const n = argInt(c.args, i);
  if (!Number.isNaN(n)) return n;
  const b = argBigInt(c.args, i);
  if (b === null) {
    c.out.error(ERR.notInteger);
    return null;
  }
  return b;
}

function incrbyCommand(c: ShardContext): void {
  const d = incrementArg(c, 2);
  if (d !== null) incrBy(c, d);
}

function decrbyCommand(c: ShardContext): void {
  const d = incrementArg(c, 2);
  if (d === null) return;
  if (d === INT64_MIN) {
    c.out.error('ERR decrement would overflow');
    return;
  }
  incrBy(c, -d);
}

function incrbyfloatCommand(c: ShardContext): void {
  const a = c.args;
  // Redis computes in 80-bit long double; the exact emulation keeps its output (0.1+0.2 -> 0.3).
  const incr = parseLongDoubleExact(a.buf, a.off[2]!, a.len[2]!);
  if (incr === null) {
    c.out.error(ERR.notFloat);
    return;
  }
  const ks = c.ks;
  const e = writeKey(c, 1);
  let cur = ZERO;
  let expireAt = 0;
  if (e !== 0) {
    if (!isString(c, e)) {
      c.out.error(ERR.wrongType);
      return;
    }
    const v = parseLongDoubleExact(ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
    if (v === null) {
      c.out.error(ERR.notFloat);
      return;
    }
    cur = v;
    expireAt = ks.expireAt(e);
  }
  const s = incrByFloat(cur, incr);
  if (s === null) {
    c.out.error(ERR.nanOrInf);
    return;
  }
  setStringBytes(c, 1, decimalBytes(s), expireAt);
  c.out.bulkString(s);
}

function appendCommand(c: ShardContext): void {
  const ks = c.ks;
  const a = c.args;
  let e = writeKey(c, 1);
  if (e === 0) {
    setString(c, 1, 2, 0);
    c.out.integer(a.len[2]!);
    return;
  }
  if (!isString(c, e)) {
    c.out.error(ERR.wrongType);
    return;
  }
  const old = ks.valueLength(e);
  const add = a.len[2]!;
  if (old + add > c.settings.protoMaxBulkLen) {
    c.out.error(ERR.stringTooLong);
    return;
  }
  e = ks.resizeValue(e, old + add);
  ks.bytes().set(a.buf.subarray(a.off[2]!, a.off[2]! + add), ks.valueOffset(e) + old);
  c.out.integer(old + add);
}

function strlenCommand(c: ShardContext): void {
  const e = readKey(c, 1);
  if (e === 0) c.out.integer(0);
  else if (!isString(c, e)) c.out.error(ERR.wrongType);
  else c.out.integer(c.ks.valueLength(e));
}

function getrangeCommand(c: ShardContext): void {
  let start = argI64(c.args, 2);
  let end = argI64(c.args, 3);
  if (Number.isNaN(start) || Number.isNaN(end)) {
    c.out.error(ERR.notInteger);
    return;
  }
  const e = readKey(c, 1);
  if (e === 0) {
    c.out.bulkString('');
    return;
  }
  if (!isString(c, e)) {
    c.out.error(ERR.wrongType);
    return;
  }
  const len = c.ks.valueLength(e);
  // Redis: a negative start after a negative end is an empty range (7.0 semantics).
  if (start < 0 && end < 0 && start > end) {
    c.out.bulkString('');
    return;
  }
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) {
    c.out.bulkString('');
    return;
  }
  c.out.bulk(c.ks.bytes(), c.ks.valueOffset(e) + start, end - start + 1);
}

function setrangeCommand(c: ShardContext): void {
  const a = c.args;
  const offset = argInt(a, 2);
  if (Number.isNaN(offset)) {
    c.out.error(ERR.notInteger);
    return;
  }
  if (offset < 0) {
    c.out.error(ERR.offsetOutOfRange);
    return;
  }
  const ks = c.ks;
  const vlen = a.len[3]!;
  let e = writeKey(c, 1);
  if (e !== 0 && !isString(c, e)) {
    c.out.error(ERR.wrongType);
    return;
  }
  const old = e === 0 ? 0 : ks.valueLength(e);
  if (vlen === 0) {
    c.out.integer(old);
    return;
  }
  if (offset + vlen > c.settings.protoMaxBulkLen) {
    c.out.error(ERR.stringTooLong);
    return;
  }
  const need = Math.max(old, offset + vlen);
  if (e === 0) {
    e = ks.set(a.buf, a.off[1]!, a.len[1]!, null, 0, need, TYPE_STRING, 0);
    ks.bytes().fill(0, ks.valueOffset(e), ks.valueOffset(e) + need);
  } else if (need > old) {
    e = ks.resizeValue(e, need);
    ks.bytes().fill(0, ks.valueOffset(e) + old, ks.valueOffset(e) + need);
  } else {
    ks.bumpCas(e); // before the bytes change (keyspace observers see the old value)
  }
  ks.bytes().set(a.buf.subarray(a.off[3]!, a.off[3]! + vlen), ks.valueOffset(e) + offset);
  keyEvent(c, '$', 'setrange', 1);
  c.out.integer(need);
}

/** MSET / MSETNX need key-value pairs: checked before the command is split over shards. */
function pairsArity(name: string) {
  return (argc: number): string | null => (argc % 2 === 1 ? null : ERR.wrongArity(name));
}

/** MSETNX over several shards: all keys are checked and set while those shards serve nothing else. */
async function msetnxCrossShard(m: MainCall): Promise<void> {
  const { server, args: a, conn } = m;
  const byShard = new Map<number, Buffer[]>();
  for (let i = 1; i < a.argc; i += 2) {
    const s = server.shardOfKey(a.buf, a.off[i]!, a.len[i]!);
    let g = byShard.get(s);
    if (!g) byShard.set(s, (g = []));
    g.push(argCopy(a, i), argCopy(a, i + 1));
  }
  const proto = conn.proto;
  const done = await server.withShardsLocked([...byShard.keys()], async (call) => {
    for (const [s, kv] of byShard) {
      const keys = kv.filter((_, j) => j % 2 === 0);
      const r = shardOk(await call(s, ['exists', ...keys], proto));
      if (r.toString('latin1') !== ':0\r\n') return false;
    }
    for (const r of await Promise.all([...byShard].map(([s, kv]) => call(s, ['mset', ...kv], proto)))) shardOk(r);
    return true;
  });
  m.out.integer(done ? 1 : 0);
}

const STR = 'string' as const;

export const STRING_COMMANDS = [
  { name: 'get', arity: 2, flags: ['readonly', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Returns the string value of a key.', shard: getCommand },
  { name: 'set', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Sets the string value of a key, ignoring its type. The key is created if it does not exist.', shard: setCommand },
  { name: 'setnx', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Set the string value of a key only when the key does not exist.', shard: (c) => setGeneric(c, NX, 0, 'int') },
  { name: 'setex', arity: 4, flags: ['write', 'denyoom'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.0.0', summary: 'Sets the string value and expiration time of a key. Creates the key if it does not exist.', shard: setexLike('EX', 'setex') },
  { name: 'psetex', arity: 4, flags: ['write', 'denyoom'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.6.0', summary: 'Sets both string value and expiration time in milliseconds of a key. The key is created if it does not exist.', shard: setexLike('PX', 'psetex') },
  { name: 'getset', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Returns the previous string value of a key after setting it to a new value.', shard: (c) => setGeneric(c, GET, 0, 'ok') },
  { name: 'getdel', arity: 2, flags: ['write', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '6.2.0', summary: 'Returns the string value of a key after deleting the key.', shard: getdelCommand },
  { name: 'getex', arity: -2, flags: ['write', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '6.2.0', summary: 'Returns the string value of a key after setting its expiration time.', shard: getexCommand },
  { name: 'mget', arity: -2, flags: ['readonly', 'fast'], keys: { first: 1, last: -1, step: 1 }, group: STR, since: '1.0.0', summary: 'Atomically returns the string values of one or more keys.', shard: mgetCommand, merge: 'gather' },
  { name: 'mset', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: -1, step: 2 }, group: STR, since: '1.0.1', summary: 'Atomically creates or modifies the string values of one or more keys.', shard: msetCommand, merge: 'ok', validate: pairsArity('mset') },
  { name: 'msetnx', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: -1, step: 2 }, group: STR, since: '1.0.1', summary: 'Atomically modifies the string values of one or more keys only when all keys don\'t exist.', shard: msetnxCommand, crossShard: msetnxCrossShard, validate: pairsArity('msetnx') },
  { name: 'incr', arity: 2, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Increments the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.', shard: (c) => incrBy(c, 1), event: ['$', 'incrby'] },
  { name: 'decr', arity: 2, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.', shard: (c) => incrBy(c, -1), event: ['$', 'incrby'] },
  { name: 'incrby', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.', shard: incrbyCommand, event: ['$', 'incrby'] },
  { name: 'decrby', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn\'t exist.', shard: decrbyCommand, event: ['$', 'incrby'] },
  { name: 'incrbyfloat', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.6.0', summary: 'Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.', shard: incrbyfloatCommand, event: ['$', 'incrbyfloat'] },
  { name: 'append', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.0.0', summary: 'Appends a string to the value of a key. Creates the key if it doesn\'t exist.', shard: appendCommand, event: ['$', 'append'] },
  { name: 'strlen', arity: 2, flags: ['readonly', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.2.0', summary: 'Returns the length of a string value.', shard: strlenCommand },
  { name: 'getrange', arity: 4, flags: ['readonly'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.4.0', summary: 'Returns a substring of the string stored at a key.', shard: getrangeCommand },
  { name: 'substr', arity: 4, flags: ['readonly'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '1.0.0', summary: 'Returns a substring from a string value.', shard: getrangeCommand },
  { name: 'setrange', arity: 4, flags: ['write', 'denyoom'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.2.0', summary: 'Overwrites a part of a string value with another by an offset. Creates the key if it doesn\'t exist.', shard: setrangeCommand },
] as const satisfies readonly CommandSpec[];
