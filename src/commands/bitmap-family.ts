// Bitmap commands on string values (Redis bitops.c) and LCS (t_string.c): SETBIT GETBIT BITCOUNT
// BITPOS BITOP BITFIELD BITFIELD_RO LCS. Bits are numbered from the most significant bit of byte 0,
// as Redis; a read past the end of a string reads zeros, a write grows the string with zero bytes.
// BITOP and LCS whose keys span shards read (and BITOP writes) under withShardsLocked.

import type { CommandSpec, MainCall, ShardContext, ShardCaller } from './types.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import type { ArgList } from '../core/types.js';
import { argIs, argI64, argBigInt, argCopy } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import { readKey, writeKey, isString, keyEvent, delEvent } from './shard-helpers.js';
import { parseSafeInt, parseI64Big } from '../util/numbers.js';
import { TYPE_STRING } from '../keyspace/keyspace.js';

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

/** The bit offset in argument i (Redis's getBitOffsetFromArgument): `#n` means n * bits when
 * `hash`; negative or beyond proto-max-bulk-len bytes is an error. NaN after replying. */
function bitOffsetArg(c: { out: RespWriter }, a: ArgList, i: number, hash: boolean, bits: number, maxBulk: number): number {
  let off = a.off[i]!;
  let len = a.len[i]!;
  const useHash = hash && len > 0 && a.buf[off] === 35; /* '#' */
  if (useHash) {
    off++;
    len--;
  }
  const fast = parseSafeInt(a.buf, off, len);
  if (!Number.isNaN(fast) && !useHash && fast >= 0 && Math.floor(fast / 8) < maxBulk) return fast; // no BigInt on the common path
  let n = Number.isNaN(fast) ? parseI64Big(a.buf, off, len) : BigInt(fast);
  if (n !== null && useHash) n = BigInt.asIntN(64, n * BigInt(bits)); // C's wrapping multiply
  if (n === null || n < 0n || n >> 3n >= BigInt(maxBulk)) {
    c.out.error(ERR.bitOffset);
    return NaN;
  }
  return Number(n);
}

/** The string entry of argument 1 holding at least bit `maxBit` (created or grown with zero
 * bytes; Redis's lookupStringForBitCommand); 0 after replying WRONGTYPE. */
function stringForBits(c: ShardContext, maxBit: number, found = writeKey(c, 1)): number {
  const ks = c.ks;
  const a = c.args;
  const need = Math.floor(maxBit / 8) + 1;
  let e = found;
  if (e === 0) {
    e = ks.set(a.buf, a.off[1]!, a.len[1]!, null, 0, need, TYPE_STRING, 0);
    ks.bytes().fill(0, ks.valueOffset(e), ks.valueOffset(e) + need);
    return e;
  }
  if (!isString(c, e)) {
    c.out.error(ERR.wrongType);
    return 0;
  }
  const old = ks.valueLength(e);
  if (need > old) {
    e = ks.resizeValue(e, need);
    ks.bytes().fill(0, ks.valueOffset(e) + old, ks.valueOffset(e) + need);
  } else {
    ks.bumpCas(e); // before the bytes change (keyspace observers see the old value)
  }
  return e;
}

// --- SETBIT GETBIT -----------------------------------------------------------------------------

function setbitCommand(c: ShardContext): void {
  const a = c.args;
  const offset = bitOffsetArg(c, a, 2, false, 0, c.settings.protoMaxBulkLen);
  if (Number.isNaN(offset)) return;
  const on = a.len[3] === 1 ? a.buf[a.off[3]!]! - 48 : -1;
  if (on !== 0 && on !== 1) {
    c.out.error(ERR.bitValue);
    return;
  }
  const ks = c.ks;
  const byte = Math.floor(offset / 8);
  const pre = writeKey(c, 1);
  const grows = pre === 0 || (isString(c, pre) && ks.valueLength(pre) <= byte);
  const e = stringForBits(c, offset, pre);
  if (e === 0) return;
  const p = ks.valueOffset(e) + byte;
  const mask = 1 << (7 - (offset % 8));
  const bytes = ks.bytes();
  const old = bytes[p]! & mask ? 1 : 0;
  // Redis 7.0 signals the change only when the key was created or grown or the bit flipped.
  if (grows || old !== on) {
    if (on) bytes[p] = bytes[p]! | mask;
    else bytes[p] = bytes[p]! & ~mask;
    keyEvent(c, '$', 'setbit', 1);
  }
  c.out.integer(old);
}

/** The string at argument 1, or 0 after replying: :0 for a missing key, WRONGTYPE for another
 * type (GETBIT, BITCOUNT, BITPOS's common start). */
function stringKeyOrZero(c: ShardContext): number {
  const e = readKey(c, 1);
  if (e === 0) {
    c.out.integer(0);
    return 0;
  }
  if (!isString(c, e)) {
    c.out.error(ERR.wrongType);
    return 0;
  }
  return e;
}

function getbitCommand(c: ShardContext): void {
  const offset = bitOffsetArg(c, c.args, 2, false, 0, c.settings.protoMaxBulkLen);
  if (Number.isNaN(offset)) return;
  const e = stringKeyOrZero(c);
  if (e === 0) return;
  const ks = c.ks;
  const byte = Math.floor(offset / 8);
  if (byte >= ks.valueLength(e)) c.out.integer(0);
  else c.out.integer(ks.bytes()[ks.valueOffset(e) + byte]! & (1 << (7 - (offset % 8))) ? 1 : 0);
}

// --- BITCOUNT BITPOS ---------------------------------------------------------------------------

/** BYTE / BIT in argument i: 1 for BIT, 0 for BYTE, -1 after replying a syntax error. */
function unitArg(c: ShardContext, i: number): number {
  if (argIs(c.args, i, 'BIT')) return 1;
  if (argIs(c.args, i, 'BYTE')) return 0;
  c.out.error(ERR.syntax);
  return -1;
}

function bitcountCommand(c: ShardContext): void {
  const a = c.args;
  const e = stringKeyOrZero(c);
  if (e === 0) return;
  const ks = c.ks;
  const len = ks.valueLength(e);
  let start = 0;
  let end = len - 1;
  let firstMask = 0;
  let lastMask = 0;
  if (a.argc === 4 || a.argc === 5) {
    start = argI64(a, 2);
    if (Number.isNaN(start)) return c.out.error(ERR.notInteger);
    end = argI64(a, 3);
    if (Number.isNaN(end)) return c.out.error(ERR.notInteger);
    let isBit = 0;
    if (a.argc === 5) {
      isBit = unitArg(c, 4);
      if (isBit < 0) return;
    }
    if (start < 0 && end < 0 && start > end) return c.out.integer(0);
    const total = isBit ? len * 8 : len;
    if (start < 0) start += total;
    if (end < 0) end += total;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
    if (isBit && start <= end) {
      firstMask = ~((1 << (8 - (start % 8))) - 1) & 0xff;
      lastMask = (1 << (7 - (end % 8))) - 1;
      start = Math.floor(start / 8);
      end = Math.floor(end / 8);
    }
  } else if (a.argc !== 2) {
    c.out.error(ERR.syntax);
    return;
  }
  if (start > end) return c.out.integer(0);
  const bytes = ks.bytes();
  const base = ks.valueOffset(e);
  let count = 0;
  for (let i = base + start, stop = base + end; i <= stop; i++) count += POPCOUNT[bytes[i]!]!;
  if (firstMask) count -= POPCOUNT[bytes[base + start]! & firstMask]!;
  if (lastMask) count -= POPCOUNT[bytes[base + end]! & lastMask]!;
  c.out.integer(count);
}

function bitposCommand(c: ShardContext): void {
  const a = c.args;
  const bit = argI64(a, 2);
  if (Number.isNaN(bit)) return c.out.error(ERR.notInteger);
  if (bit !== 0 && bit !== 1) return c.out.error(ERR.bitposBit);
  const e = readKey(c, 1);
  if (e === 0) return c.out.integer(bit ? -1 : 0);
  if (!isString(c, e)) return c.out.error(ERR.wrongType);
  const ks = c.ks;
  const len = ks.valueLength(e);
  // The range as bit positions [from, to] (Redis masks edge bytes; the result is the same).
  let from = 0;
  let to = len * 8 - 1;
  let endGiven = false;
  if (a.argc >= 4 && a.argc <= 6) {
    let start = argI64(a, 3);
    if (Number.isNaN(start)) return c.out.error(ERR.notInteger);
    let isBit = 0;
    if (a.argc === 6) {
      isBit = unitArg(c, 5);
      if (isBit < 0) return;
    }
    let end: number;
    if (a.argc >= 5) {
      end = argI64(a, 4);
      if (Number.isNaN(end)) return c.out.error(ERR.notInteger);
      endGiven = true;
    } else end = isBit ? len * 8 + 7 : len - 1;
    const total = isBit ? len * 8 : len;
    if (start < 0) start += total;
    if (end < 0) end += total;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
    if (start > end) return c.out.integer(-1);
    from = isBit ? start : start * 8;
    to = isBit ? end : end * 8 + 7;
  } else if (a.argc !== 3) {
    return c.out.error(ERR.syntax);
  }
  if (from > to) return c.out.integer(-1);
  const bytes = ks.bytes();
  const base = ks.valueOffset(e);
  const skip = bit ? 0 : 0xff; // a byte with nothing to find
  let i = from;
  while (i <= to) {
    const v = bytes[base + Math.floor(i / 8)]!;
    if (i % 8 === 0 && i + 7 <= to && v === skip) {
      i += 8;
      continue;
    }
    if (((v >> (7 - (i % 8))) & 1) === bit) return c.out.integer(i);
    i++;
  }
  // No clear bit: without an explicit end the string counts as padded with zeros.
  c.out.integer(bit || endGiven ? -1 : to + 1);
}

// --- BITOP -------------------------------------------------------------------------------------

const OP_AND = 0;
const OP_OR = 1;
const OP_XOR = 2;
const OP_NOT = 3;

/** The BITOP operation in argument 1, or -1 after replying (syntax, NOT with several sources). */
function bitopOp(a: ArgList, out: RespWriter): number {
  let op = -1;
  if (argIs(a, 1, 'AND')) op = OP_AND;
  else if (argIs(a, 1, 'OR')) op = OP_OR;
  else if (argIs(a, 1, 'XOR')) op = OP_XOR;
  else if (argIs(a, 1, 'NOT')) op = OP_NOT;
  if (op < 0) out.error(ERR.syntax);
  else if (op === OP_NOT && a.argc !== 4) {
    out.error(ERR.bitopNot);
    op = -1;
  }
  return op;
}

let bitopScratch = new Uint8Array(1024);
const srcBuf: Uint8Array[] = [];
const srcOff: number[] = [];
const srcLen: number[] = [];

/** Combines the n sources in srcBuf/srcOff/srcLen into bitopScratch; returns the result length
 * (the longest source; shorter ones count as zero-padded). */
function bitopCompute(op: number, n: number): number {
  let maxLen = 0;
  for (let k = 0; k < n; k++) if (srcLen[k]! > maxLen) maxLen = srcLen[k]!;
  if (bitopScratch.length < maxLen) bitopScratch = new Uint8Array(Math.max(maxLen, bitopScratch.length * 2));
  const r = bitopScratch;
  for (let j = 0; j < maxLen; j++) {
    let out = j < srcLen[0]! ? srcBuf[0]![srcOff[0]! + j]! : 0;
    if (op === OP_NOT) out = ~out & 0xff;
    for (let k = 1; k < n; k++) {
      const v = j < srcLen[k]! ? srcBuf[k]![srcOff[k]! + j]! : 0;
      if (op === OP_AND) out &= v;
      else if (op === OP_OR) out |= v;
      else out ^= v;
    }
    r[j] = out;
  }
  return maxLen;
}

function bitopCommand(c: ShardContext): void {
  const a = c.args;
  const op = bitopOp(a, c.out);
  if (op < 0) return;
  const ks = c.ks;
  const n = a.argc - 3;
  for (let k = 0; k < n; k++) {
    const e = readKey(c, 3 + k);
    if (e !== 0 && !isString(c, e)) return c.out.error(ERR.wrongType);
    srcBuf[k] = ks.bytes();
    srcOff[k] = e === 0 ? 0 : ks.valueOffset(e);
    srcLen[k] = e === 0 ? 0 : ks.valueLength(e);
  }
  const len = bitopCompute(op, n);
  srcBuf.length = 0; // no reference to the arena kept between commands
  if (len > 0) {
    ks.set(a.buf, a.off[2]!, a.len[2]!, bitopScratch, 0, len, TYPE_STRING, 0);
    keyEvent(c, '$', 'set', 2);
  } else if (ks.delete(a.buf, a.off[2]!, a.len[2]!)) {
    delEvent(c, 2);
  }
  c.out.integer(len);
}

/** The string value in a RESP2 reply to GET: null for nil, 'wrongtype' for WRONGTYPE. */
function getReplyValue(r: Buffer): Buffer | null | 'wrongtype' {
  if (r[0] === 45) {
    const text = r.toString('latin1', 1, r.length - 2);
    if (text === ERR.wrongType) return 'wrongtype';
    shardOk(r);
  }
  if (r[1] === 45) return null; // $-1
  const nl = r.indexOf(10);
  const l = Number(r.toString('latin1', 1, nl - 1));
  return r.subarray(nl + 1, nl + 1 + l);
}

function shardsOf(m: MainCall, keys: readonly Buffer[]): number[] {
  return [...new Set(keys.map((k) => m.server.shardOfKey(k, 0, k.length)))];
}

async function getAll(m: MainCall, call: ShardCaller, keys: readonly Buffer[]): Promise<Array<Buffer | null> | null> {
  const vals: Array<Buffer | null> = [];
  for (const k of keys) {
    const v = getReplyValue(await call(m.server.shardOfKey(k, 0, k.length), ['get', k], 2));
    if (v === 'wrongtype') return null;
    vals.push(v);
  }
  return vals;
}

/** BITOP whose keys span shards: sources read and the destination written under one lock. */
async function bitopCrossShard(m: MainCall): Promise<void> {
  const a = m.args;
  const op = bitopOp(a, m.out);
  if (op < 0) return;
  const dst = argCopy(a, 2);
  const keys: Buffer[] = [];
  for (let i = 3; i < a.argc; i++) keys.push(argCopy(a, i));
  await m.server.withShardsLocked(shardsOf(m, [dst, ...keys]), async (call) => {
    const vals = await getAll(m, call, keys);
    if (!vals) return m.out.error(ERR.wrongType);
    vals.forEach((v, k) => {
      srcBuf[k] = v ?? bitopScratch;
      srcOff[k] = 0;
      srcLen[k] = v ? v.length : 0;
    });
    const len = bitopCompute(op, vals.length);
    srcBuf.length = 0;
    const ds = m.server.shardOfKey(dst, 0, dst.length);
    if (len > 0) shardOk(await call(ds, ['set', dst, bitopScratch.slice(0, len)], 2));
    else shardOk(await call(ds, ['del', dst], 2));
    m.out.integer(len);
  });
}

// --- BITFIELD ----------------------------------------------------------------------------------

const BF_GET = 0;
const BF_SET = 1;
const BF_INCRBY = 2;
const OW_WRAP = 0;
const OW_SAT = 1;
const OW_FAIL = 2;

interface BitfieldOp {
  code: number;
  offset: number;
  bits: number;
  signed: boolean;
  value: bigint;
  overflow: number;
}

const ops: BitfieldOp[] = [];

/** The type (i1..i64, u1..u63) in argument i as signed * 100 + bits, or -1 after replying. */
function bitfieldType(out: RespWriter, a: ArgList, i: number): number {
  const off = a.off[i]!;
  const len = a.len[i]!;
  const t = a.buf[off];
  const signed = t === 105 || t === 73; // i / I
  if (!signed && t !== 117 && t !== 85) {
    out.error(ERR.bitfieldType);
    return -1;
  }
  const bits = parseSafeInt(a.buf, off + 1, len - 1);
  if (Number.isNaN(bits) || bits < 1 || (signed && bits > 64) || (!signed && bits > 63)) {
    out.error(ERR.bitfieldType);
    return -1;
  }
  return (signed ? 100 : 0) + bits;
}

/** Parses BITFIELD's operations into `ops`; false after replying. */
function parseBitfield(c: ShardContext, readOnly: boolean): boolean {
  const a = c.args;
  ops.length = 0;
  let overflow = OW_WRAP;
  for (let j = 2; j < a.argc; j++) {
    const rem = a.argc - j - 1;
    let code: number;
    if (argIs(a, j, 'GET') && rem >= 2) code = BF_GET;
    else if (argIs(a, j, 'SET') && rem >= 3) code = BF_SET;
    else if (argIs(a, j, 'INCRBY') && rem >= 3) code = BF_INCRBY;
    else if (argIs(a, j, 'OVERFLOW') && rem >= 1) {
      j++;
      if (argIs(a, j, 'WRAP')) overflow = OW_WRAP;
      else if (argIs(a, j, 'SAT')) overflow = OW_SAT;
      else if (argIs(a, j, 'FAIL')) overflow = OW_FAIL;
      else {
        c.out.error(ERR.bitfieldOverflow);
        return false;
      }
      continue;
    } else {
      c.out.error(ERR.syntax);
      return false;
    }
    const t = bitfieldType(c.out, a, j + 1);
    if (t < 0) return false;
    const bits = t % 100;
    const offset = bitOffsetArg(c, a, j + 2, true, bits, c.settings.protoMaxBulkLen);
    if (Number.isNaN(offset)) return false;
    let value = 0n;
    if (code !== BF_GET) {
      const v = argBigInt(a, j + 3);
      if (v === null) {
        c.out.error(ERR.notInteger);
        return false;
      }
      value = v;
    }
    ops.push({ code, offset, bits, signed: t >= 100, value, overflow });
    j += code === BF_GET ? 2 : 3;
  }
  if (readOnly) {
    for (const op of ops) {
      if (op.code !== BF_GET) {
        c.out.error(ERR.bitfieldRo);
        return false;
      }
    }
  }
  return true;
}

/** The unsigned value of `bits` bits at bit `offset` of p[base, base + len) (zeros past len). */
function getBits(p: Uint8Array, base: number, len: number, offset: number, bits: number): bigint {
  let hi = 0;
  let lo = 0;
  for (let j = 0; j < bits; j++) {
    const o = offset + j;
    const byte = Math.floor(o / 8);
    const bit = byte < len ? (p[base + byte]! >> (7 - (o % 8))) & 1 : 0;
    // Two 32-bit halves keep the arithmetic exact in doubles.
    hi = hi * 2 + Math.floor(lo / 0x80000000);
    lo = ((lo * 2) % 0x100000000) + bit;
  }
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** Writes the low `bits` bits of v at bit `offset` of p from base. */
function setBits(p: Uint8Array, base: number, offset: number, bits: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  const lo = Number(u & 0xffffffffn);
  const hi = Number(u >> 32n);
  for (let j = 0; j < bits; j++) {
    const bitFromLsb = bits - 1 - j;
    const bit = bitFromLsb < 32 ? (lo >>> bitFromLsb) & 1 : (hi >>> (bitFromLsb - 32)) & 1;
    const o = offset + j;
    const at = base + Math.floor(o / 8);
    const mask = 1 << (7 - (o % 8));
    p[at] = bit ? p[at]! | mask : p[at]! & ~mask;
  }
}

/** Result of an overflow check: the value to store, or null for FAIL on overflow. */
function bounded(sum: bigint, op: BitfieldOp): bigint | null {
  const bits = BigInt(op.bits);
  const max = op.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  const min = op.signed ? -max - 1n : 0n;
  if (sum >= min && sum <= max) return sum;
  if (op.overflow === OW_FAIL) return null;
  if (op.overflow === OW_SAT) return sum > max ? max : min;
  return op.signed ? BigInt.asIntN(op.bits, sum) : BigInt.asUintN(op.bits, sum);
}

function bitfieldGeneric(c: ShardContext, readOnly: boolean): void {
  if (!parseBitfield(c, readOnly)) return;
  const ks = c.ks;
  let maxBit = -1;
  for (const op of ops) if (op.code !== BF_GET && op.offset + op.bits - 1 > maxBit) maxBit = op.offset + op.bits - 1;
  let e: number;
  if (maxBit < 0) {
    e = readKey(c, 1);
    if (e !== 0 && !isString(c, e)) return c.out.error(ERR.wrongType);
  } else {
    e = stringForBits(c, maxBit);
    if (e === 0) return;
  }
  c.out.array(ops.length);
  let changes = 0;
  for (const op of ops) {
    const p = ks.bytes();
    const base = e === 0 ? 0 : ks.valueOffset(e);
    const len = e === 0 ? 0 : ks.valueLength(e);
    const raw = getBits(p, base, len, op.offset, op.bits);
    const old = op.signed ? BigInt.asIntN(op.bits, raw) : raw;
    if (op.code === BF_GET) {
      c.out.integer(old);
      continue;
    }
    // SET takes the argument as an int64 (an unsigned field sees its two's complement).
    const target = op.code === BF_INCRBY ? old + op.value : op.signed ? op.value : BigInt.asUintN(64, op.value);
    const v = bounded(target, op);
    if (v === null) {
      c.out.nil();
      continue;
    }
    setBits(p, base, op.offset, op.bits, v);
    changes++; // a FAIL that wrote nothing is no change (no event)
    c.out.integer(op.code === BF_INCRBY ? v : old);
  }
  if (changes > 0) keyEvent(c, '$', 'setbit', 1);
}

// --- LCS ---------------------------------------------------------------------------------------

/** LCS of a and b with the options in args[3..], replied to out (Redis 7.0's lcsCommand,
 * including the ranges it reports for IDX). */
function lcsReply(out: RespWriter, args: ArgList, a: Uint8Array, b: Uint8Array, maxBulk: number): void {
  let getIdx = false;
  let getLen = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let j = 3; j < args.argc; j++) {
    const more = args.argc - 1 - j;
    if (argIs(args, j, 'IDX')) getIdx = true;
    else if (argIs(args, j, 'LEN')) getLen = true;
    else if (argIs(args, j, 'WITHMATCHLEN')) withMatchLen = true;
    else if (argIs(args, j, 'MINMATCHLEN') && more > 0) {
      const n = argI64(args, j + 1);
      if (Number.isNaN(n)) return out.error(ERR.notInteger);
      minMatchLen = n < 0 ? 0 : n;
      j++;
    } else return out.error(ERR.syntax);
  }
  if (getIdx && getLen) return out.error(ERR.lcsIdxAndLen);
  const alen = a.length;
  const blen = b.length;
  const cells = (alen + 1) * (blen + 1);
  if (cells * 4 > maxBulk) return out.error(ERR.lcsTooBig);
  const w = blen + 1;
  // Transient, bounded by proto-max-bulk-len as in Redis.
  const lcs = new Uint32Array(cells);
  for (let i = 1; i <= alen; i++) {
    for (let j = 1; j <= blen; j++) {
      if (a[i - 1] === b[j - 1]) lcs[i * w + j] = lcs[(i - 1) * w + j - 1]! + 1;
      else {
        const l1 = lcs[(i - 1) * w + j]!;
        const l2 = lcs[i * w + j - 1]!;
        lcs[i * w + j] = l1 > l2 ? l1 : l2;
      }
    }
  }
  const total = lcs[alen * w + blen]!;
  if (getLen && !getIdx) return out.integer(total);
  const result = Buffer.allocUnsafe(total);
  const ranges: number[] = []; // aStart, aEnd, bStart, bEnd, matchLen per emitted range
  let idx = total;
  let aStart = alen;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1]!;
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (lcs[(i - 1) * w + j]! > lcs[i * w + j - 1]!) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      const matchLen = aEnd - aStart + 1;
      if (minMatchLen === 0 || matchLen >= minMatchLen) ranges.push(aStart, aEnd, bStart, bEnd, matchLen);
      aStart = alen;
    }
  }
  if (!getIdx) return out.bulk(result, 0, total);
  out.map(2);
  out.bulkString('matches');
  out.array(ranges.length / 5);
  for (let k = 0; k < ranges.length; k += 5) {
    out.array(withMatchLen ? 3 : 2);
    out.array(2);
    out.integer(ranges[k]!);
    out.integer(ranges[k + 1]!);
    out.array(2);
    out.integer(ranges[k + 2]!);
    out.integer(ranges[k + 3]!);
    if (withMatchLen) out.integer(ranges[k + 4]!);
  }
  out.bulkString('len');
  out.integer(total);
}

const EMPTY = new Uint8Array(0);

function lcsCommand(c: ShardContext): void {
  const ks = c.ks;
  const ea = readKey(c, 1);
  const eb = readKey(c, 2);
  if ((ea !== 0 && !isString(c, ea)) || (eb !== 0 && !isString(c, eb))) return c.out.error(ERR.lcsNotString);
  // Copies: the arena's views must not be held across the table's allocation.
  const va = ea === 0 ? EMPTY : ks.bytes().slice(ks.valueOffset(ea), ks.valueOffset(ea) + ks.valueLength(ea));
  const vb = eb === 0 ? EMPTY : ks.bytes().slice(ks.valueOffset(eb), ks.valueOffset(eb) + ks.valueLength(eb));
  lcsReply(c.out, c.args, va, vb, c.settings.protoMaxBulkLen);
}

/** LCS of keys on two shards: both read under one lock, computed here. */
async function lcsCrossShard(m: MainCall): Promise<void> {
  const keys = [argCopy(m.args, 1), argCopy(m.args, 2)];
  const vals = await m.server.withShardsLocked(shardsOf(m, keys), (call) => getAll(m, call, keys));
  if (!vals) return m.out.error(ERR.lcsNotString);
  lcsReply(m.out, m.args, vals[0] ?? EMPTY, vals[1] ?? EMPTY, m.server.config.values.protoMaxBulkLen);
}

// --- the table ---------------------------------------------------------------------------------

const BM = 'string' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };

export const BITMAP_COMMANDS = [
  { name: 'setbit', arity: 4, flags: ['write', 'denyoom'], keys: ONE_KEY, group: BM, since: '2.2.0', summary: 'Sets or clears the bit at offset of the string value. Creates the key if it doesn\'t exist.', shard: setbitCommand },
  { name: 'getbit', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: BM, since: '2.2.0', summary: 'Returns a bit value by offset.', shard: getbitCommand },
  { name: 'bitcount', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: BM, since: '2.6.0', summary: 'Counts the number of set bits (population counting) in a string.', shard: bitcountCommand },
  { name: 'bitpos', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: BM, since: '2.8.7', summary: 'Finds the first set (1) or clear (0) bit in a string.', shard: bitposCommand },
  { name: 'bitop', arity: -4, flags: ['write', 'denyoom'], keys: { first: 2, last: -1, step: 1 }, group: BM, since: '2.6.0', summary: 'Performs bitwise operations on multiple strings, and stores the result.', shard: bitopCommand, crossShard: bitopCrossShard },
  { name: 'bitfield', arity: -2, flags: ['write', 'denyoom'], keys: ONE_KEY, group: BM, since: '3.2.0', summary: 'Performs arbitrary bitfield integer operations on strings.', shard: (c) => bitfieldGeneric(c, false) },
  { name: 'bitfield_ro', arity: -2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: BM, since: '6.0.0', summary: 'Performs arbitrary read-only bitfield integer operations on strings.', shard: (c) => bitfieldGeneric(c, true) },
  { name: 'lcs', arity: -3, flags: ['readonly'], keys: { first: 1, last: 2, step: 1 }, group: BM, since: '7.0.0', summary: 'Finds the longest common substring.', shard: lcsCommand, crossShard: lcsCrossShard },
] as const satisfies readonly CommandSpec[];
