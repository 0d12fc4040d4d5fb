// Shard-side building blocks shared by the families: key lookups that keep Redis's hit/miss and
// LRU/LFU bookkeeping, expiry option parsing, and value encoding. Run inside shard actors only.

import { TYPE_STRING } from '../keyspace/keyspace.js';
import type { ShardContext } from './types.js';
import { argIs, argInt, argBigInt } from './args.js';
import { ERR } from './errors.js';

/** Looks up argument i for reading: counts a hit (and touches the entry) or a miss. */
export function readKey(c: ShardContext, i: number): number {
  const a = c.args;
  const e = c.ks.find(a.buf, a.off[i]!, a.len[i]!);
  if (e !== 0) c.ks.touch(e);
  else c.ks.miss();
  return e;
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

/** Converts an expire option's number to an absolute time in ms, or returns NaN after replying
 * with Redis's error (not an integer, or out of range / non-positive: invalid expire time). */
export function expireAtFrom(c: ShardContext, unit: ExpireUnit, i: number, cmd: string): number {
  const n = argInt(c.args, i);
  if (Number.isNaN(n)) {
    // Beyond ±2^53 but a valid int64 still overflows the ms conversion in Redis terms.
    if (argBigInt(c.args, i) !== null) {
      c.out.error(ERR.invalidExpire(cmd));
    } else {
      c.out.error(ERR.notInteger);
    }
    return NaN;
  }
  if (n <= 0) {
    c.out.error(ERR.invalidExpire(cmd));
    return NaN;
  }
  let ms: number;
  switch (unit) {
    case 'EX':
      ms = c.ks.now + n * 1000;
      break;
    case 'PX':
      ms = c.ks.now + n;
      break;
    case 'EXAT':
      ms = n * 1000;
      break;
    default:
      ms = n;
  }
  if (!Number.isSafeInteger(ms)) {
    c.out.error(ERR.invalidExpire(cmd));
    return NaN;
  }
  return ms;
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

const digitBuf = Buffer.allocUnsafe(64);

/** The decimal bytes of n in a scratch buffer (valid until the next call). */
export function decimalBytes(n: number | bigint | string): Uint8Array {
  const s = typeof n === 'string' ? n : n.toString();
  const len = digitBuf.write(s, 0, 'latin1');
  return digitBuf.subarray(0, len);
}
