// memcached's operations, run on the shard that owns the key. The main thread frames both memcached
// protocols (src/server/memcache-connection.ts) and forwards each keyed request as one `__mc`
// command whose arguments are slices of the bytes the client sent, so that nothing is parsed twice
// and no object is made per request:
//   1 request header, 24 bytes: the binary header as received, or for the text and meta protocols
//     a header of the same shape built by the main thread (byte 0 = mode, byte 5 = text flags)
//   2 extras (binary layout: flags + exptime for stores, delta + initial + exptime for incr/decr,
//     exptime for touch and GAT)    3 key    4 value
//   5 (meta only) the flag tokens after the key    6 (meta only) the key as the client wrote it
// Each operation has one core, and its reply is encoded here in the requesting protocol's wire
// format (binary, text or meta), so the main thread only copies reply bytes to the socket.
// The per-key flags and CAS live in the entry (see keyspace/layout.ts: the CAS's low 32 bits in
// the header, non-zero flags in the block's last word); RESP writes reset the flags to 0 and bump
// the CAS like any other write.
// Keys holding a collection (a hash or a set made through RESP) are not memcached items: an
// operation that would read, change or compare the value is refused with Redis's WRONGTYPE text
// (binary: EINVAL with that text as body; text and meta: SERVER_ERROR and that text, sent even
// with noreply or q, as memcached sends its own errors); set/replace without a CAS replace the key
// as Redis's SET does, add finds it taken, delete without a CAS deletes it. docs/doors-types.md
// gives the whole table and why.

import type { CommandSpec, ShardContext } from './types.js';
import { KeyspaceFullError, TYPE_STRING } from '../keyspace/keyspace.js';
import { ERR } from '../core/errors.js';
import {
  H_CAS, H_OPAQUE, H_OPCODE, HEADER_BYTES, OP, REALTIME_MAXDELTA_S, STATUS, TEXT, statusText,
  readU32, readU64, writeResponseHeader, writeU64, baseOpcode, isQuiet,
} from '../protocol/memcache.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { keyEvent } from './shard-helpers.js';

/** Byte 0 of the request header: which protocol asked (the binary magic, or these). */
export const MODE_BINARY = 0x80;
export const MODE_TEXT = 1;
export const MODE_META = 2;
/** Byte 5 of a text request header. */
export const TEXT_NOREPLY = 1;
export const TEXT_WITH_CAS = 2;
/** Byte 1 of a meta request header: the command letter. */
export const META_GET = 0x67; // g
export const META_SET = 0x73; // s
export const META_DELETE = 0x64; // d
export const META_ARITH = 0x61; // a
export const META_DEBUG = 0x65; // e

const A_HDR = 1;
const A_EXTRAS = 2;
const A_KEY = 3;
const A_VALUE = 4;
const A_META_FLAGS = 5;
const A_META_KEY = 6;

/** Outcomes of the shared cores; each protocol maps them to its own reply. */
const R_STORED = 0;
const R_EXISTS = 1; // CAS mismatch
const R_NOT_FOUND = 2; // CAS given, or delete/touch/incr, and no item
const R_ADD_EXISTS = 3; // add of an existing key
const R_REPLACE_MISSING = 4;
const R_APPEND_MISSING = 5;
const R_NO_MEMORY = 6;
const R_NON_NUMERIC = 7;
const R_WRONG_TYPE = 8; // the key holds a collection

/** The text and meta protocols' answer to an operation on a collection key. */
const TEXT_WRONG_TYPE = `SERVER_ERROR ${ERR.wrongType}\r\n`;

const U64_MOD = 1n << 64n;
const TWO53 = 2 ** 53;

// ---- shared helpers -----------------------------------------------------------------------------

/** Absolute expiry in ms for a memcached exptime: 0 none, -1 already expired. Relative up to 30
 * days, an absolute Unix time beyond; negative (text protocol) expires at once. */
export function expiryMs(now: number, exptime: number): number {
  if (exptime === 0) return 0;
  if (exptime < 0) return -1;
  if (exptime > REALTIME_MAXDELTA_S) {
    const ms = exptime * 1000;
    return ms <= now ? -1 : ms;
  }
  return now + exptime * 1000;
}

function overMemory(c: ShardContext): boolean {
  const limit = c.settings.maxmemoryBytes;
  return limit > 0 && c.ks.usedMemory() > limit;
}

function keyFind(c: ShardContext): number {
  const a = c.args;
  return c.ks.find(a.buf, a.off[A_KEY]!, a.len[A_KEY]!);
}

/** Whether entry e (non-zero) holds something other than a string: not a memcached item. */
function notItem(c: ShardContext, e: number): boolean {
  return c.ks.type(e) !== TYPE_STRING;
}

function extrasU32(c: ShardContext, at: number): number {
  return readU32(c.args.buf, c.args.off[A_EXTRAS]! + at);
}

/** The exptime in the extras at `at`: unsigned in the binary protocol, signed in the text one. */
function extrasExptime(c: ShardContext, at: number, mode: number): number {
  const v = extrasU32(c, at);
  return mode === MODE_BINARY ? v : v | 0;
}

function headerCas(c: ShardContext): number | bigint {
  return readU64(c.args.buf, c.args.off[A_HDR]! + H_CAS);
}

function casEquals(c: ShardContext, e: number, cas: number | bigint): boolean {
  return typeof cas === 'number' ? c.ks.cas(e) === cas : false;
}

/** Applies an expiry result to e: sets it, or deletes e when already past. Returns e's handle
 * (a first TTL may move it), or 0 when the item is gone. */
function applyExpiry(c: ShardContext, e: number, at: number): number {
  if (at < 0) {
    mcDelete(c, e);
    return 0;
  }
  keyEvent(c, 'g', 'expire', A_KEY);
  return c.ks.setExpireAt(e, at);
}

/** Deletes the request's key e with the keyspace event a RESP DEL gives ('del'): a rule of the
 * keyspace holds at every front door. */
function mcDelete(c: ShardContext, e: number): void {
  c.ks.deleteEntry(e);
  keyEvent(c, 'g', 'del', A_KEY);
}

// ---- cores ---------------------------------------------------------------------------------------

let lastCas = 0;

/** set/add/replace/append/prepend (and cas). Leaves the stored entry's CAS in lastCas. */
function storeCore(c: ShardContext, op: number, flags: number, exptime: number, cas: number | bigint): number {
  const ks = c.ks;
  const a = c.args;
  if (overMemory(c)) return R_NO_MEMORY;
  let e = keyFind(c);
  const hasCas = cas !== 0;
  // A CAS was never handed out for a collection (reads refuse it), and append/prepend would
  // splice bytes into its encoding: both refused. set/replace replace it (Redis's SET); add finds
  // the key taken.
  if (e !== 0 && (hasCas || op === OP.APPEND || op === OP.PREPEND) && notItem(c, e)) return R_WRONG_TYPE;
  if (hasCas) {
    if (e === 0) return R_NOT_FOUND;
    if (!casEquals(c, e, cas)) return R_EXISTS;
  }
  if (op === OP.ADD && e !== 0) return R_ADD_EXISTS;
  if (op === OP.REPLACE && e === 0) return R_REPLACE_MISSING;
  try {
    if (op === OP.APPEND || op === OP.PREPEND) {
      if (e === 0) return R_APPEND_MISSING;
      const old = ks.valueLength(e);
      const add = a.len[A_VALUE]!;
      e = ks.resizeValue(e, old + add);
      const u8 = ks.bytes();
      const vo = ks.valueOffset(e);
      const src = a.buf.subarray(a.off[A_VALUE]!, a.off[A_VALUE]! + add);
      if (op === OP.APPEND) u8.set(src, vo + old);
      else {
        u8.copyWithin(vo + add, vo, vo + old);
        u8.set(src, vo);
      }
      // Redis has no PREPEND: both are APPEND's event.
      keyEvent(c, '$', 'append', A_KEY);
    } else {
      const at = expiryMs(ks.now, exptime);
      e = ks.set(a.buf, a.off[A_KEY]!, a.len[A_KEY]!, a.buf, a.off[A_VALUE]!, a.len[A_VALUE]!, TYPE_STRING, at > 0 ? at : 0, flags);
      keyEvent(c, '$', 'set', A_KEY);
      if (at < 0) {
        lastCas = ks.cas(e);
        mcDelete(c, e);
        return R_STORED;
      }
    }
  } catch (err) {
    if (err instanceof KeyspaceFullError) return R_NO_MEMORY;
    throw err;
  }
  lastCas = ks.cas(e);
  return R_STORED;
}

/** The unsigned value of e as memcached's safe_strtoull reads an item (leading spaces, optional
 * sign, digits, then the end or a space); null when it is not a number. */
function itemNumber(c: ShardContext, e: number): number | bigint | null {
  const u8 = c.ks.bytes();
  const off = c.ks.valueOffset(e);
  const len = c.ks.valueLength(e);
  let i = 0;
  while (i < len && isSpace(u8[off + i]!)) i++;
  let neg = false;
  if (i < len && (u8[off + i] === 43 || u8[off + i] === 45)) {
    neg = u8[off + i] === 45;
    i++;
  }
  const start = i;
  let n = 0;
  let big: bigint | null = null;
  for (; i < len; i++) {
    const d = u8[off + i]! - 48;
    if (d < 0 || d > 9) break;
    if (big === null) {
      n = n * 10 + d;
      if (n >= TWO53) big = BigInt(Buffer.from(u8.buffer, u8.byteOffset + off + start, i + 1 - start).toString('latin1'));
    } else big = big * 10n + BigInt(d);
  }
  if (i === start) return null;
  if (i < len && !isSpace(u8[off + i]!)) return null;
  if (big !== null && big >= U64_MOD) return null; // ERANGE
  if (neg) {
    // strtoull negates; a result that reads as a negative int64 is refused when a '-' was seen.
    if (big === null && n === 0) return 0;
    const v = U64_MOD - (big ?? BigInt(n));
    if (v >= 1n << 63n) return null;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return big ?? n;
}

function isSpace(ch: number): boolean {
  return ch === 32 || (ch >= 9 && ch <= 13);
}

let lastNumber: number | bigint = 0;
const digitScratch = Buffer.allocUnsafe(24);

/** incr/decr: incr wraps at 2^64, decr stops at 0. A missing key is created with `initial`
 * when `create` (binary and meta auto-vivify). Leaves the value in lastNumber. */
function deltaCore(c: ShardContext, incr: boolean, delta: number | bigint, create: boolean, initial: number | bigint, exptime: number, cas: number | bigint): number {
  const ks = c.ks;
  const a = c.args;
  let e = keyFind(c);
  if (e === 0) {
    if (!create) return R_NOT_FOUND;
    if (overMemory(c)) return R_NO_MEMORY;
    const at = expiryMs(ks.now, exptime);
    const s = String(initial);
    const n = digitScratch.write(s, 0, 'latin1');
    try {
      e = ks.set(a.buf, a.off[A_KEY]!, a.len[A_KEY]!, digitScratch, 0, n, TYPE_STRING, at > 0 ? at : 0);
    } catch (err) {
      if (err instanceof KeyspaceFullError) return R_NO_MEMORY;
      throw err;
    }
    lastCas = ks.cas(e);
    lastNumber = initial;
    // The binary protocol's initial value is a store, as SET.
    keyEvent(c, '$', 'set', A_KEY);
    if (at < 0) mcDelete(c, e);
    return R_STORED;
  }
  if (notItem(c, e)) return R_WRONG_TYPE;
  if (cas !== 0 && !casEquals(c, e, cas)) return R_EXISTS;
  const cur = itemNumber(c, e);
  if (cur === null) return R_NON_NUMERIC;
  let next: number | bigint;
  if (typeof cur === 'number' && typeof delta === 'number') {
    next = incr ? cur + delta : cur - delta;
    if (next < 0) next = 0;
    else if (next >= TWO53) next = incr ? (BigInt(cur) + BigInt(delta)) % U64_MOD : next;
  } else {
    const b = incr ? (BigInt(cur) + BigInt(delta)) % U64_MOD : BigInt(cur) - BigInt(delta);
    next = b < 0n ? 0 : b;
  }
  if (typeof next === 'bigint' && next < BigInt(TWO53)) next = Number(next);
  const s = String(next);
  const n = digitScratch.write(s, 0, 'latin1');
  const old = ks.valueLength(e);
  if (n <= old) {
    // memcached rewrites a shorter number in place, padded with spaces to the old length.
    ks.bumpCas(e); // before the bytes change (keyspace observers see the old value)
    const u8 = ks.bytes();
    const vo = ks.valueOffset(e);
    for (let i = 0; i < n; i++) u8[vo + i] = digitScratch[i]!;
    u8.fill(32, vo + n, vo + old);
  } else {
    const flags = ks.flags(e);
    const at = ks.expireAt(e);
    try {
      e = ks.set(a.buf, a.off[A_KEY]!, a.len[A_KEY]!, digitScratch, 0, n, TYPE_STRING, at, flags);
    } catch (err) {
      if (err instanceof KeyspaceFullError) return R_NO_MEMORY;
      throw err;
    }
  }
  lastCas = ks.cas(e);
  lastNumber = next;
  keyEvent(c, '$', incr ? 'incrby' : 'decrby', A_KEY);
  return R_STORED;
}

// ---- binary protocol -----------------------------------------------------------------------------

function binHeader(out: RespWriter, opcode: number, keyLen: number, extLen: number, status: number, bodyLen: number, opaque: number, cas: number): void {
  out.ensure(HEADER_BYTES + bodyLen);
  writeResponseHeader(out.buf, out.length, opcode, keyLen, extLen, status, bodyLen, opaque, cas);
  out.length += HEADER_BYTES;
}

function binError(c: ShardContext, opcode: number, status: number, opaque: number, text = statusText(status)): void {
  binHeader(c.out, opcode, 0, 0, status, text.length, opaque, 0);
  c.out.ascii(text);
}

/** A refused operation on a collection key. memcached has no status for a value of another kind;
 * EINVAL (the request cannot apply as given) is the nearest, and the body says WRONGTYPE. Sent
 * for quiet opcodes too, as every error is. */
function binWrongType(c: ShardContext, opcode: number, opaque: number): void {
  binError(c, opcode, STATUS.EINVAL, opaque, ERR.wrongType);
}

/** A hit of GET/GETK/GAT/GATK/TOUCH: flags extras, the key when asked, the value unless TOUCH. */
function binItem(c: ShardContext, opcode: number, e: number, withKey: boolean, withValue: boolean, opaque: number): void {
  const ks = c.ks;
  const klen = withKey ? ks.keyLength(e) : 0;
  const vlen = withValue ? ks.valueLength(e) : 0;
  const out = c.out;
  binHeader(out, opcode, klen, 4, 0, 4 + klen + vlen, opaque, ks.cas(e));
  const b = out.buf;
  const f = ks.flags(e);
  b[out.length] = f >>> 24;
  b[out.length + 1] = (f >>> 16) & 0xff;
  b[out.length + 2] = (f >>> 8) & 0xff;
  b[out.length + 3] = f & 0xff;
  out.length += 4;
  const u8 = ks.bytes();
  if (klen > 0) out.raw(u8, ks.keyOffset(e), klen);
  if (vlen > 0) out.raw(u8, ks.valueOffset(e), vlen);
}

function binaryCommand(c: ShardContext): void {
  const a = c.args;
  const h = a.off[A_HDR]!;
  const opcode = a.buf[h + H_OPCODE]!;
  const opaque = readU32(a.buf, h + H_OPAQUE);
  const quiet = isQuiet(opcode);
  const op = baseOpcode(opcode);
  const ks = c.ks;
  switch (op) {
    case OP.GET:
    case OP.GETK:
    case OP.GAT:
    case OP.GATK:
    case OP.TOUCH: {
      let e = keyFind(c);
      if (e !== 0 && notItem(c, e)) {
        ks.touch(e); // a read of the key, as Redis's GET on a hash counts one before refusing
        binWrongType(c, opcode, opaque);
        return;
      }
      if (e !== 0 && (op === OP.GAT || op === OP.GATK || op === OP.TOUCH)) {
        e = applyExpiry(c, e, expiryMs(ks.now, extrasU32(c, 0)));
      }
      if (e === 0) {
        ks.miss();
        if (quiet) return;
        if (op === OP.GETK || op === OP.GATK) {
          // memcached answers a GETK miss with the key and no text.
          const klen = a.len[A_KEY]!;
          binHeader(c.out, opcode, klen, 0, STATUS.KEY_ENOENT, klen, opaque, 0);
          c.out.raw(a.buf, a.off[A_KEY]!, klen);
        } else binError(c, opcode, STATUS.KEY_ENOENT, opaque);
        return;
      }
      ks.touch(e);
      binItem(c, opcode, e, op === OP.GETK || op === OP.GATK, op !== OP.TOUCH, opaque);
      return;
    }
    case OP.SET:
    case OP.ADD:
    case OP.REPLACE:
    case OP.APPEND:
    case OP.PREPEND: {
      const hasExtras = op !== OP.APPEND && op !== OP.PREPEND;
      const r = storeCore(c, op, hasExtras ? extrasU32(c, 0) : 0, hasExtras ? extrasU32(c, 4) : 0, headerCas(c));
      if (r === R_STORED) {
        if (!quiet) binHeader(c.out, opcode, 0, 0, 0, 0, opaque, lastCas);
        return;
      }
      if (r === R_WRONG_TYPE) binWrongType(c, opcode, opaque);
      else binError(c, opcode, binStatus(r), opaque);
      return;
    }
    case OP.DELETE: {
      const e = keyFind(c);
      const cas = headerCas(c);
      if (e === 0) binError(c, opcode, STATUS.KEY_ENOENT, opaque);
      else if (cas !== 0 && notItem(c, e)) binWrongType(c, opcode, opaque);
      else if (cas !== 0 && !casEquals(c, e, cas)) binError(c, opcode, STATUS.KEY_EEXISTS, opaque);
      else {
        mcDelete(c, e);
        if (!quiet) binHeader(c.out, opcode, 0, 0, 0, 0, opaque, 0);
      }
      return;
    }
    case OP.INCREMENT:
    case OP.DECREMENT: {
      const x = a.off[A_EXTRAS]!;
      const exptime = readU32(a.buf, x + 16);
      const r = deltaCore(c, op === OP.INCREMENT, readU64(a.buf, x), exptime !== 0xffffffff, readU64(a.buf, x + 8), exptime, headerCas(c));
      if (r === R_WRONG_TYPE) {
        binWrongType(c, opcode, opaque);
        return;
      }
      if (r !== R_STORED) {
        binError(c, opcode, binStatus(r), opaque);
        return;
      }
      if (quiet) return;
      binHeader(c.out, opcode, 0, 0, 0, 8, opaque, lastCas);
      writeU64(c.out.buf, c.out.length, lastNumber);
      c.out.length += 8;
      return;
    }
    default:
      binError(c, opcode, STATUS.UNKNOWN_COMMAND, opaque);
  }
}

function binStatus(r: number): number {
  switch (r) {
    case R_EXISTS: return STATUS.KEY_EEXISTS;
    case R_NOT_FOUND: return STATUS.KEY_ENOENT;
    case R_ADD_EXISTS: return STATUS.KEY_EEXISTS;
    case R_REPLACE_MISSING: return STATUS.KEY_ENOENT;
    case R_APPEND_MISSING: return STATUS.NOT_STORED;
    case R_NO_MEMORY: return STATUS.ENOMEM;
    case R_NON_NUMERIC: return STATUS.DELTA_BADVAL;
    default: return STATUS.OK;
  }
}

// ---- text protocol ---------------------------------------------------------------------------------

function textItem(c: ShardContext, e: number, withCas: boolean): void {
  const ks = c.ks;
  const out = c.out;
  const u8 = ks.bytes();
  out.ascii('VALUE ');
  out.raw(u8, ks.keyOffset(e), ks.keyLength(e));
  out.ascii(withCas ? ` ${ks.flags(e)} ${ks.valueLength(e)} ${ks.cas(e)}\r\n` : ` ${ks.flags(e)} ${ks.valueLength(e)}\r\n`);
  out.raw(ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
  out.ascii('\r\n');
}

function textCommand(c: ShardContext): void {
  const a = c.args;
  const h = a.off[A_HDR]!;
  const op = a.buf[h + H_OPCODE]!;
  const tflags = a.buf[h + 5]!;
  const ks = c.ks;
  let reply: string;
  switch (op) {
    case OP.GETK:
    case OP.GATK: {
      let e = keyFind(c);
      if (e !== 0 && notItem(c, e)) {
        // In place of its VALUE; the connection ends the get here, as memcached ends a get at
        // its first error (no END).
        ks.touch(e);
        c.out.ascii(TEXT_WRONG_TYPE);
        return;
      }
      if (e !== 0 && op === OP.GATK) e = applyExpiry(c, e, expiryMs(ks.now, extrasExptime(c, 0, MODE_TEXT)));
      if (e === 0) ks.miss();
      else {
        ks.touch(e);
        textItem(c, e, (tflags & TEXT_WITH_CAS) !== 0);
      }
      return;
    }
    case OP.TOUCH: {
      let e = keyFind(c);
      if (e !== 0 && notItem(c, e)) {
        c.out.ascii(TEXT_WRONG_TYPE);
        return;
      }
      if (e !== 0) e = applyExpiry(c, e, expiryMs(ks.now, extrasExptime(c, 0, MODE_TEXT)));
      if (e !== 0) {
        ks.touch(e);
        reply = TEXT.touched;
      } else reply = TEXT.notFound;
      break;
    }
    case OP.SET:
    case OP.ADD:
    case OP.REPLACE:
    case OP.APPEND:
    case OP.PREPEND: {
      const r = storeCore(c, op, extrasU32(c, 0), extrasExptime(c, 4, MODE_TEXT), headerCas(c));
      if (r === R_WRONG_TYPE) {
        c.out.ascii(TEXT_WRONG_TYPE);
        return;
      }
      reply = r === R_STORED ? TEXT.stored : r === R_EXISTS ? TEXT.exists : r === R_NOT_FOUND ? TEXT.notFound : r === R_NO_MEMORY ? TEXT.outOfMemory : TEXT.notStored;
      break;
    }
    case OP.DELETE: {
      const e = keyFind(c);
      if (e !== 0) mcDelete(c, e);
      reply = e !== 0 ? TEXT.deleted : TEXT.notFound;
      break;
    }
    case OP.INCREMENT:
    case OP.DECREMENT: {
      const r = deltaCore(c, op === OP.INCREMENT, readU64(a.buf, a.off[A_EXTRAS]!), false, 0, 0, 0);
      if (r === R_WRONG_TYPE) {
        c.out.ascii(TEXT_WRONG_TYPE);
        return;
      }
      reply = r === R_STORED ? `${lastNumber}\r\n` : r === R_NON_NUMERIC ? TEXT.nonNumeric : r === R_NO_MEMORY ? TEXT.outOfMemory : TEXT.notFound;
      break;
    }
    default:
      reply = TEXT.error;
  }
  if ((tflags & TEXT_NOREPLY) === 0) c.out.ascii(reply);
}

// ---- meta protocol ---------------------------------------------------------------------------------

/** Flags each meta command accepts (others: CLIENT_ERROR invalid flag). */
const META_ALLOWED: Record<number, string> = {
  [META_GET]: 'bcfhklOqstvTNRE',
  [META_SET]: 'bcCFIkOqsSTMN',
  [META_DELETE]: 'bCIkOqTx',
  [META_ARITH]: 'bCcNJDTMqtvkO',
  [META_DEBUG]: 'b',
};

/** The meta flag tokens: letters, and each one's argument (the token's remaining bytes). */
interface MetaFlags {
  count: number;
  letter: Uint8Array;
  argOff: Int32Array;
  argLen: Int32Array;
}
const MF: MetaFlags = { count: 0, letter: new Uint8Array(64), argOff: new Int32Array(64), argLen: new Int32Array(64) };

/** Splits the flag tokens; false when a flag is not allowed for the command (or too many). */
function parseMetaFlags(c: ShardContext, verb: number): boolean {
  const a = c.args;
  const buf = a.buf;
  const end = a.off[A_META_FLAGS]! + a.len[A_META_FLAGS]!;
  const allowed = META_ALLOWED[verb] ?? '';
  MF.count = 0;
  let p = a.off[A_META_FLAGS]!;
  while (p < end) {
    while (p < end && buf[p] === 32) p++;
    if (p >= end) break;
    const start = p;
    while (p < end && buf[p] !== 32) p++;
    if (MF.count === MF.letter.length) return false;
    const ch = buf[start]!;
    if (allowed.indexOf(String.fromCharCode(ch)) < 0) return false;
    MF.letter[MF.count] = ch;
    MF.argOff[MF.count] = start + 1;
    MF.argLen[MF.count] = p - start - 1;
    MF.count++;
  }
  return true;
}

function metaHas(ch: number): number {
  for (let i = 0; i < MF.count; i++) if (MF.letter[i] === ch) return i;
  return -1;
}

function metaArgText(c: ShardContext, i: number): string {
  return Buffer.from(c.args.buf.buffer, c.args.buf.byteOffset + MF.argOff[i]!, MF.argLen[i]!).toString('latin1');
}

/** The numeric argument of flag `ch` (-1 when absent, NaN when malformed). */
function metaNum(c: ShardContext, ch: number): number {
  const i = metaHas(ch);
  if (i < 0) return -1;
  const t = metaArgText(c, i);
  return /^-?\d+$/.test(t) ? Number(t) : NaN;
}

function metaBig(c: ShardContext, ch: number): number | bigint | null {
  const i = metaHas(ch);
  if (i < 0) return null;
  const t = metaArgText(c, i);
  if (!/^\d{1,20}$/.test(t)) return -1;
  const b = BigInt(t);
  if (b >= U64_MOD) return -1;
  return b < BigInt(TWO53) ? Number(b) : b;
}

/** Writes the return flags of a hit (in request order) and the end of the line. */
function metaReturnFlags(c: ShardContext, e: number): void {
  const ks = c.ks;
  const out = c.out;
  const a = c.args;
  let base64 = false;
  for (let i = 0; i < MF.count; i++) {
    switch (MF.letter[i]) {
      case 0x62: base64 = true; break; // b
      case 0x63: out.ascii(` c${e !== 0 ? ks.cas(e) : lastCas}`); break; // c
      case 0x66: out.ascii(` f${e !== 0 ? ks.flags(e) : 0}`); break; // f
      case 0x68: out.ascii(' h0'); break; // h: whether it was fetched before is not tracked
      case 0x6c: out.ascii(` l${e !== 0 ? ks.idleTimeSec(e) : 0}`); break; // l
      case 0x73: out.ascii(` s${e !== 0 ? ks.valueLength(e) : 0}`); break; // s
      case 0x74: { // t
        const at = e !== 0 ? ks.expireAt(e) : 0;
        out.ascii(at === 0 ? ' t-1' : ` t${Math.max(0, Math.round((at - ks.now) / 1000))}`);
        break;
      }
      case 0x6b: // k
        out.ascii(' k');
        out.raw(a.buf, a.off[A_META_KEY]!, a.len[A_META_KEY]!);
        break;
      case 0x4f: // O
        out.ascii(' O');
        out.raw(a.buf, MF.argOff[i]!, MF.argLen[i]!);
        break;
      default:
        break;
    }
  }
  if (base64 && metaHas(0x6b) >= 0) out.ascii(' b');
  out.ascii('\r\n');
}

/** "<code><flags>\r\n" unless q hides this code. */
function metaStatus(c: ShardContext, code: string, e: number, hiddenByQ: boolean): void {
  if (hiddenByQ && metaHas(0x71) >= 0) return;
  c.out.ascii(code);
  metaReturnFlags(c, e);
}

function metaCommand(c: ShardContext): void {
  const a = c.args;
  const verb = a.buf[a.off[A_HDR]! + H_OPCODE]!;
  const ks = c.ks;
  const out = c.out;
  if (!parseMetaFlags(c, verb)) {
    out.ascii(TEXT.invalidFlag);
    return;
  }
  const q = metaHas(0x71) >= 0;
  switch (verb) {
    case META_GET: {
      let e = keyFind(c);
      const ttl = metaNum(c, 0x54); // T
      if (Number.isNaN(ttl)) {
        out.ascii(TEXT.badFormat);
        return;
      }
      if (e !== 0 && notItem(c, e)) {
        // Even without v: its size, flags and CAS would describe no memcached item.
        ks.touch(e);
        out.ascii(TEXT_WRONG_TYPE);
        return;
      }
      if (e !== 0 && ttl >= 0) e = applyExpiry(c, e, expiryMs(ks.now, ttl));
      if (e === 0) {
        ks.miss();
        if (!q) out.ascii(TEXT.en);
        return;
      }
      ks.touch(e);
      if (metaHas(0x76) >= 0) {
        out.ascii(`VA ${ks.valueLength(e)}`);
        metaReturnFlags(c, e);
        out.raw(ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
        out.ascii('\r\n');
      } else {
        out.ascii(TEXT.hd);
        metaReturnFlags(c, e);
      }
      return;
    }
    case META_SET: {
      const flags = metaNum(c, 0x46); // F
      const ttl = metaNum(c, 0x54); // T
      const cas = metaBig(c, 0x43); // C
      if (Number.isNaN(flags) || flags > 0xffffffff || flags < -1 || Number.isNaN(ttl) || cas === -1) {
        out.ascii(TEXT.badFormat);
        return;
      }
      const mi = metaHas(0x4d); // M
      const mode = mi >= 0 && MF.argLen[mi]! > 0 ? a.buf[MF.argOff[mi]!]! : 0x53;
      let op: number;
      switch (mode) {
        case 0x53: case 0x73: op = OP.SET; break; // S
        case 0x45: case 0x65: op = OP.ADD; break; // E
        case 0x52: case 0x72: op = OP.REPLACE; break; // R
        case 0x41: case 0x61: op = OP.APPEND; break; // A
        case 0x50: case 0x70: op = OP.PREPEND; break; // P
        default:
          out.ascii('CLIENT_ERROR invalid mode for ms STORE\r\n');
          return;
      }
      const r = storeCore(c, op, flags < 0 ? 0 : flags, ttl < 0 ? 0 : ttl, cas ?? 0);
      if (r === R_WRONG_TYPE) {
        out.ascii(TEXT_WRONG_TYPE);
        return;
      }
      const code = r === R_STORED ? TEXT.hd : r === R_EXISTS ? TEXT.ex : r === R_NOT_FOUND ? TEXT.nf : TEXT.ns;
      if (r === R_NO_MEMORY) {
        out.ascii(TEXT.outOfMemory);
        return;
      }
      metaStatus(c, code, 0, r === R_STORED);
      return;
    }
    case META_DELETE: {
      const e = keyFind(c);
      const cas = metaBig(c, 0x43);
      if (cas === -1) {
        out.ascii(TEXT.badFormat);
        return;
      }
      if (e === 0) metaStatus(c, TEXT.nf, 0, false);
      else if (cas !== null && notItem(c, e)) out.ascii(TEXT_WRONG_TYPE);
      else if (cas !== null && !casEquals(c, e, cas)) metaStatus(c, TEXT.ex, 0, false);
      else {
        mcDelete(c, e);
        metaStatus(c, TEXT.hd, 0, true);
      }
      return;
    }
    case META_ARITH: {
      const vivify = metaNum(c, 0x4e); // N
      const ttl = metaNum(c, 0x54); // T
      const initial = metaBig(c, 0x4a) ?? 0; // J
      const delta = metaBig(c, 0x44) ?? 1; // D
      const cas = metaBig(c, 0x43);
      if (Number.isNaN(vivify) || Number.isNaN(ttl) || initial === -1 || delta === -1 || cas === -1) {
        out.ascii(TEXT.badFormat);
        return;
      }
      const mi = metaHas(0x4d);
      const mode = mi >= 0 && MF.argLen[mi]! > 0 ? a.buf[MF.argOff[mi]!]! : 0x49;
      let incr: boolean;
      if (mode === 0x49 || mode === 0x69 || mode === 0x2b) incr = true; // I i +
      else if (mode === 0x44 || mode === 0x64 || mode === 0x2d) incr = false; // D d -
      else {
        out.ascii('CLIENT_ERROR invalid mode for ma\r\n');
        return;
      }
      const r = deltaCore(c, incr, delta, vivify >= 0, initial, vivify < 0 ? 0 : vivify, cas ?? 0);
      if (r === R_WRONG_TYPE) {
        out.ascii(TEXT_WRONG_TYPE);
        return;
      }
      if (r === R_NON_NUMERIC) {
        out.ascii(TEXT.nonNumeric);
        return;
      }
      if (r === R_NO_MEMORY) {
        out.ascii(TEXT.outOfMemory);
        return;
      }
      if (r !== R_STORED) {
        metaStatus(c, r === R_EXISTS ? TEXT.ex : TEXT.nf, 0, false);
        return;
      }
      let e = keyFind(c);
      if (e !== 0 && ttl >= 0) e = applyExpiry(c, e, expiryMs(ks.now, ttl));
      if (metaHas(0x76) >= 0) {
        const s = String(lastNumber);
        out.ascii(`VA ${s.length}`);
        metaReturnFlags(c, e);
        out.ascii(`${s}\r\n`);
      } else metaStatus(c, TEXT.hd, e, true);
      return;
    }
    case META_DEBUG: {
      const e = keyFind(c);
      if (e === 0) {
        out.ascii(TEXT.en);
        return;
      }
      const at = ks.expireAt(e);
      const exp = at === 0 ? -1 : Math.max(0, Math.round((at - ks.now) / 1000));
      out.ascii('ME ');
      out.raw(a.buf, a.off[A_META_KEY]!, a.len[A_META_KEY]!);
      out.ascii(` exp=${exp} la=${ks.idleTimeSec(e)} cas=${ks.cas(e)} fetch=no cls=1 size=${ks.entryBytes(e)}\r\n`);
      return;
    }
    default:
      out.ascii(TEXT.error);
  }
}

// ---- entry points ----------------------------------------------------------------------------------

function mcCommand(c: ShardContext): void {
  const mode = c.args.buf[c.args.off[A_HDR]!]!;
  if (mode === MODE_BINARY) binaryCommand(c);
  else if (mode === MODE_TEXT) textCommand(c);
  else metaCommand(c);
}

/** flush_all: empties this shard (the main thread sends it to every shard). */
function mcFlushCommand(c: ShardContext): void {
  c.ks.flush();
}

const I = 'internal';
// Not 'denyoom': the executor's out-of-memory error is RESP; stores check the limit themselves and
// answer in memcached's format (after the executor has evicted by policy, as for every command).
export const MEMCACHE_COMMANDS = [
  { name: '__mc', arity: -5, flags: ['write', 'fast'], keys: { first: 3, last: 3, step: 1 }, group: I, since: '0', summary: 'internal: one memcached request', shard: mcCommand, hidden: true },
  { name: '__mcflush', arity: 1, flags: ['write'], keys: null, group: I, since: '0', summary: 'internal: memcached flush_all on one shard', shard: mcFlushCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
