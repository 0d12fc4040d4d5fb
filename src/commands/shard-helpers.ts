// Shard-side building blocks shared by the families: key lookups that keep Redis's hit/miss and
// LRU/LFU bookkeeping, expiry option parsing, and value encoding. Run inside shard actors only.

import { TYPE_STRING } from '../keyspace/keyspace.js';
import type { ShardContext } from './types.js';
import { argIs, argInt, argBigInt } from './args.js';
import { ERR } from '../core/errors.js';

/** Looks up argument i for reading: counts a hit (and touches the entry) or a miss. */
export function readKey(c: ShardContext, i: number): number {
  const a = c.args;
  const e = c.ks.find(a.buf, a.off[i]!, a.len[i]!);
  if (e !== 0) c.ks.touch(e);
  else {
    c.ks.miss();
    c.notify('m', 'keymiss', a.buf, a.off[i]!, a.len[i]!);
  }
  return e;
}

/** Keyspace notification `event` of class `type` for the key in argument i (Redis's
 * notifyKeyspaceEvent; nothing unless notify-keyspace-events enables the class). */
export function keyEvent(c: ShardContext, type: string, event: string, i: number): void {
  const a = c.args;
  c.notify(type, event, a.buf, a.off[i]!, a.len[i]!);
}

/** Gives e (the key in argument i) the expiry `at`; a time already past deletes it, with Redis's
 * 'del' event instead of 'expire' (EXPIRE and GETEX alike). */
export function expireOrDelete(c: ShardContext, e: number, at: number, i: number): void {
  if (at <= c.ks.now) {
    c.ks.deleteEntry(e);
    keyEvent(c, 'g', 'del', i);
  } else {
    c.ks.setExpireAt(e, at);
    keyEvent(c, 'g', 'expire', i);
  }
}

/** The 'del' event of a key the command emptied and deleted (Redis: "del" after the last element). */
export function delEvent(c: ShardContext, i: number): void {
  keyEvent(c, 'g', 'del', i);
}

/** Looks up argument i for writing (no hit/miss accounting, as Redis's lookupKeyWrite). */
export function writeKey(c: ShardContext, i: number): number {
  const a = c.args;
  return c.ks.find(a.buf, a.off[i]!, a.len[i]!);
}

/** Replies with the value of string entry e as a bulk string. */
export function replyValue(c: ShardContext, e: number): void {
  const ks = c.ks;
  c.out.bulk(ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
}

export function isString(c: ShardContext, e: number): boolean {
  return c.ks.type(e) === TYPE_STRING;
}

/** Stores argument vi as the string value of argument ki; returns the entry. */
export function setString(c: ShardContext, ki: number, vi: number, expireAtMs: number): number {
  const a = c.args;
  return c.ks.set(a.buf, a.off[ki]!, a.len[ki]!, a.buf, a.off[vi]!, a.len[vi]!, TYPE_STRING, expireAtMs);
}

/** Stores `value` (e.g. a formatted number) as the string value of argument ki. */
export function setStringBytes(c: ShardContext, ki: number, value: Uint8Array, expireAtMs: number): number {
  const a = c.args;
  return c.ks.set(a.buf, a.off[ki]!, a.len[ki]!, value, 0, value.length, TYPE_STRING, expireAtMs);
}

export type ExpireUnit = 'EX' | 'PX' | 'EXAT' | 'PXAT';

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

/** Converts an expire option's number to an absolute time in ms, or returns NaN after replying
 * with Redis's error (not an integer; non-positive or overflowing: invalid expire time). Same
 * checks as Redis's getExpireMillisecondsOrReply, in int64. */
export function expireAtFrom(c: ShardContext, unit: ExpireUnit, i: number, cmd: string): number {
  const relative = unit === 'EX' || unit === 'PX';
  const seconds = unit === 'EX' || unit === 'EXAT';
  const n = argInt(c.args, i);
  if (!Number.isNaN(n)) {
    const ms = (seconds ? n * 1000 : n) + (relative ? c.ks.now : 0);
    if (n > 0 && Number.isSafeInteger(ms)) return ms;
  }
  const b = argBigInt(c.args, i);
  if (b === null) {
    c.out.error(ERR.notInteger);
    return NaN;
  }
  let ms = b;
  if (ms <= 0n || (seconds && ms > LLONG_MAX / 1000n)) {
    c.out.error(ERR.invalidExpire(cmd));
    return NaN;
  }
  if (seconds) ms *= 1000n;
  if (relative) ms += BigInt(c.ks.now);
  if (ms > LLONG_MAX) {
    c.out.error(ERR.invalidExpire(cmd));
    return NaN;
  }
  return Number(ms);
}

/** EXPIRE's variant of the conversion: negative times are allowed (they delete the key); only
 * int64 overflow is refused. Returns NaN after replying. */
export function expireWhenFrom(c: ShardContext, unit: ExpireUnit, i: number, cmd: string): number {
  const relative = unit === 'EX' || unit === 'PX';
  const seconds = unit === 'EX' || unit === 'EXAT';
  const n = argInt(c.args, i);
  if (!Number.isNaN(n)) {
    const ms = (seconds ? n * 1000 : n) + (relative ? c.ks.now : 0);
    if (Number.isSafeInteger(ms)) return ms;
  }
  const b = argBigInt(c.args, i);
  if (b === null) {
    c.out.error(ERR.notInteger);
    return NaN;
  }
  let ms = b;
  if (seconds) {
    if (ms > LLONG_MAX / 1000n || ms < LLONG_MIN / 1000n) {
      c.out.error(ERR.invalidExpire(cmd));
      return NaN;
    }
    ms *= 1000n;
  }
  const base = relative ? BigInt(c.ks.now) : 0n;
  if (ms > LLONG_MAX - base) {
    c.out.error(ERR.invalidExpire(cmd));
    return NaN;
  }
  return Number(ms + base);
}

/** The expire unit named by argument i, if it is one. */
export function expireUnitAt(c: ShardContext, i: number): ExpireUnit | null {
  const a = c.args;
  if (argIs(a, i, 'EX')) return 'EX';
  if (argIs(a, i, 'PX')) return 'PX';
  if (argIs(a, i, 'EXAT')) return 'EXAT';
  if (argIs(a, i, 'PXAT')) return 'PXAT';
  return null;
}

let digitBuf = Buffer.allocUnsafe(64);

/** The decimal bytes of n in a scratch buffer (valid until the next call). */
export function decimalBytes(n: number | bigint | string): Uint8Array {
  const s = typeof n === 'string' ? n : n.toString();
  if (s.length > digitBuf.length) digitBuf = Buffer.allocUnsafe(s.length * 2);
  const len = digitBuf.write(s, 0, 'latin1');
  return digitBuf.subarray(0, len);
}
