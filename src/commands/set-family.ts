// Set commands (Redis t_set.c), over src/keyspace/collection.ts for every element access, whatever
// the encoding (intset, listpack, hashtable). A set emptied by a command is deleted, as Redis does.
// Multi-key commands whose keys span shards run a coordinator that locks those shards, gathers
// members with the internal __smembers and writes a STORE result with __sstore (SMOVE with
// SREM/SADD), so no other client sees a half-done SINTERSTORE or SMOVE.

import type { ArgList, CommandSpec, MainCall, ShardCaller, ShardContext } from './types.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { argIs, argInt, argBigInt, argCopy, argString } from './args.js';
import { ERR, ReplyError } from '../core/errors.js';
import { readKey, writeKey, keyEvent } from './shard-helpers.js';
import { globMatch } from '../util/glob.js';
import { TYPE_SET, type Keyspace } from '../keyspace/keyspace.js';
import * as C from '../keyspace/collection.js';

// --- shared pieces ---------------------------------------------------------------------------------

/** The set at argument i for reading (write: as Redis's lookupKeyWrite, no hit/miss counted):
 * its entry, 0 when absent, or -1 after replying WRONGTYPE. */
function setAt(c: ShardContext, i: number, write = false): number {
  const e = write ? writeKey(c, i) : readKey(c, i);
  if (e !== 0 && c.ks.type(e) !== TYPE_SET) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

let scratch = Buffer.allocUnsafe(256);

/** s's bytes (latin1) in a scratch buffer, valid until the next call. */
function bytesOf(s: string): Buffer {
  if (s.length > scratch.length) scratch = Buffer.allocUnsafe(s.length * 2);
  scratch.write(s, 0, 'latin1');
  return scratch;
}

function latin1(b: Uint8Array, off: number, len: number): string {
  return Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1');
}

/** A set operand of SINTER/SUNION/SDIFF: an entry of this shard or members gathered from another. */
interface SetView {
  readonly size: number;
  has(m: string): boolean;
  forEach(fn: (m: string) => void): void;
}

function entryView(ks: Keyspace, e: number): SetView {
  return {
    size: ks.elementCount(e),
    has: (m) => C.elementFind(ks, e, bytesOf(m), 0, m.length),
    forEach: (fn) => C.elementForEach(ks, e, (b, o, l) => fn(latin1(b, o, l))),
  };
}

function memberView(members: Set<string>): SetView {
  return { size: members.size, has: (m) => members.has(m), forEach: (fn) => members.forEach((m) => fn(m)) };
}

/** Members of every operand (null: no such key), iterating the smallest (Redis's sinter); stops
 * at `limit` members when limit > 0. */
function interOf(views: ReadonlyArray<SetView | null>, limit: number): string[] {
  if (views.some((v) => v === null)) return [];
  const sorted = (views as SetView[]).slice().sort((a, b) => a.size - b.size);
  const out: string[] = [];
  const first = sorted[0]!;
  first.forEach((m) => {
    if (limit > 0 && out.length >= limit) return;
    for (let j = 1; j < sorted.length; j++) if (sorted[j] !== first && !sorted[j]!.has(m)) return;
    out.push(m);
  });
  return out;
}

function unionOf(views: ReadonlyArray<SetView | null>): string[] {
  const all = new Set<string>();
  for (const v of views) v?.forEach((m) => all.add(m));
  return [...all];
}

/** Members of the first operand in none of the others. */
function diffOf(views: ReadonlyArray<SetView | null>): string[] {
  const first = views[0];
  if (!first) return [];
  const out: string[] = [];
  first.forEach((m) => {
    for (let j = 1; j < views.length; j++) if (views[j]?.has(m)) return;
    out.push(m);
  });
  return out;
}

type SetOp = 'inter' | 'union' | 'diff';

function compute(op: SetOp, views: ReadonlyArray<SetView | null>): string[] {
  return op === 'inter' ? interOf(views, 0) : op === 'union' ? unionOf(views) : diffOf(views);
}

const INT_MEMBER = /^(?:0|-?[1-9][0-9]{0,16})$/;

/** A set member that an intset would hold (the form keyspace/pack.ts's parseIntMember accepts). */
function isIntMember(m: string): boolean {
  return INT_MEMBER.test(m) && Number.isSafeInteger(Number(m));
}

/** Redis replies a computed set in its temporary set's order: ascending when every member is an
 * integer (an intset), else unspecified; so an all-integer result is sorted. */
function inReplyOrder(ms: string[]): string[] {
  if (ms.every(isIntMember)) ms.sort((a, b) => Number(a) - Number(b));
  return ms;
}

function replyMembers(out: RespWriter, ms: readonly string[]): void {
  out.set(ms.length);
  for (const m of ms) {
    const b = bytesOf(m);
    out.bulk(b, 0, m.length);
  }
}

/** Replaces key kb[ko, +kl) with a set of `members` (deletes it when there are none), choosing the
 * encoding as Redis's setTypeCreate with the result size as the hint. Members must not point into
 * the keyspace (they are JS strings). */
function storeSet(ks: Keyspace, kb: Uint8Array, ko: number, kl: number, members: readonly string[]): boolean {
  const existed = ks.delete(kb, ko, kl);
  if (members.length === 0) return existed;
  const first = bytesOf(members[0]!);
  // An overwrite, as Redis's setKey: no 'new' event for a key that was there.
  const onCreate = ks.onCreate;
  if (existed) ks.onCreate = null;
  let e: number;
  try {
    e = C.createFor(ks, kb, ko, kl, TYPE_SET, C.newSetEncoding(ks, first, 0, members[0]!.length, members.length));
  } finally {
    ks.onCreate = onCreate;
  }
  for (const m of members) e = C.elementPut(ks, e, bytesOf(m), 0, m.length, null, 0, 0);
  return existed;
}

/** A STORE's events on the key in argument ki: `event` when it stored members, 'del' when an
 * empty result deleted the key that was there (Redis's sinterstore / sunionstore / sdiffstore). */
function storeEvents(c: ShardContext, ki: number, event: string, stored: number, existed: boolean): void {
  if (stored > 0) keyEvent(c, 's', event, ki);
  else if (existed) keyEvent(c, 'g', 'del', ki);
}

// --- one-key commands ----------------------------------------------------------------------------

function saddCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  let e = setAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) {
    const enc = C.newSetEncoding(ks, a.buf, a.off[2]!, a.len[2]!, a.argc - 2);
    e = C.createFor(ks, a.buf, a.off[1]!, a.len[1]!, TYPE_SET, enc);
  }
  let added = 0;
  for (let i = 2; i < a.argc; i++) {
    e = C.elementPut(ks, e, a.buf, a.off[i]!, a.len[i]!, null, 0, 0);
    if (C.added) added++;
  }
  if (added > 0) keyEvent(c, 's', 'sadd', 1);
  c.out.integer(added);
}

function sremCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  let e = setAt(c, 1, true);
  if (e < 0) return;
  let removed = 0;
  if (e !== 0) {
    for (let i = 2; i < a.argc; i++) {
      if (C.elementRemove(ks, e, a.buf, a.off[i]!, a.len[i]!)) removed++;
      e = C.removedHandle;
      if (ks.elementCount(e) === 0) {
        ks.deleteEntry(e);
        keyEvent(c, 's', 'srem', 1);
        keyEvent(c, 'g', 'del', 1);
        c.out.integer(removed);
        return;
      }
    }
  }
  if (removed > 0) keyEvent(c, 's', 'srem', 1);
  c.out.integer(removed);
}

function smembersCommand(c: ShardContext): void {
  const e = setAt(c, 1);
  if (e < 0) return;
  const out = c.out;
  if (e === 0) {
    out.set(0);
    return;
  }
  out.set(c.ks.elementCount(e));
  C.elementForEach(c.ks, e, (b, o, l) => out.bulk(b, o, l));
}

function sismemberCommand(c: ShardContext): void {
  const a = c.args;
  const e = setAt(c, 1);
  if (e < 0) return;
  c.out.integer(e !== 0 && C.elementFind(c.ks, e, a.buf, a.off[2]!, a.len[2]!) ? 1 : 0);
}

function smismemberCommand(c: ShardContext): void {
  const a = c.args;
  const e = setAt(c, 1);
  if (e < 0) return;
  c.out.array(a.argc - 2);
  for (let i = 2; i < a.argc; i++) c.out.integer(e !== 0 && C.elementFind(c.ks, e, a.buf, a.off[i]!, a.len[i]!) ? 1 : 0);
}

function scardCommand(c: ShardContext): void {
  const e = setAt(c, 1);
  if (e < 0) return;
  c.out.integer(e === 0 ? 0 : c.ks.elementCount(e));
}

/** A copy of the member randomElement found (it may lie in a scratch buffer or in the arena). */
function takeRandom(ks: Keyspace, e: number): Buffer {
  C.randomElement(ks, e);
  return Buffer.from(C.hitKeyBuf.subarray(C.hitKeyOff, C.hitKeyOff + C.hitKeyLen));
}

/**
 * SPOP and SRANDMEMBER without a count: the set's handle; or 0 once the reply is written (a syntax
 * error past the count, the count form's whole reply, WRONGTYPE, or nil for a missing key).
 */
function singleRandomSet(c: ShardContext, withCount: (c: ShardContext) => void, write: boolean): number {
  const argc = c.args.argc;
  if (argc > 3) {
    c.out.error(ERR.syntax);
    return 0;
  }
  if (argc === 3) {
    withCount(c);
    return 0;
  }
  const e = setAt(c, 1, write);
  if (e === 0) c.out.nil();
  return e > 0 ? e : 0;
}

function spopCommand(c: ShardContext): void {
  const ks = c.ks;
  const e = singleRandomSet(c, spopWithCount, true);
  if (e === 0) return;
  const m = takeRandom(ks, e);
  C.elementRemove(ks, e, m, 0, m.length);
  keyEvent(c, 's', 'spop', 1);
  if (ks.elementCount(C.removedHandle) === 0) {
    ks.deleteEntry(C.removedHandle);
    keyEvent(c, 'g', 'del', 1);
  }
  c.out.bulk(m, 0, m.length);
}

function spopWithCount(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  let count = argInt(a, 2);
  if (!(count >= 0)) {
    const big = argBigInt(a, 2);
    if (big === null || big < 0n) {
      c.out.error(ERR.countPositive);
      return;
    }
    // A positive long beyond 2^53: more than any set holds.
    count = Number.MAX_SAFE_INTEGER;
  }
  let e = setAt(c, 1, true);
  if (e < 0) return;
  if (e === 0 || count === 0) {
    c.out.set(0);
    return;
  }
  const size = ks.elementCount(e);
  keyEvent(c, 's', 'spop', 1);
  if (!(count < size)) {
    // The whole set, then the key goes (Redis's case 1, replied as a set).
    const ms: string[] = [];
    C.elementForEach(ks, e, (b, o, l) => ms.push(latin1(b, o, l)));
    ks.deleteEntry(e);
    keyEvent(c, 'g', 'del', 1);
    replyMembers(c.out, ms);
    return;
  }
  c.out.set(count);
  for (let k = 0; k < count; k++) {
    const m = takeRandom(ks, e);
    C.elementRemove(ks, e, m, 0, m.length);
    e = C.removedHandle;
    c.out.bulk(m, 0, m.length);
  }
}

/** The largest |count| a negative SRANDMEMBER count may ask for: the reply (repeats allowed) must
 * stay bounded; redis-server 7.0 tries to build any size and dies at the extreme. */
const SRANDMEMBER_REPEATS_MAX = 1 << 24;
const LONG_MAX = 9223372036854775807n;

function srandmemberCommand(c: ShardContext): void {
  const ks = c.ks;
  const e = singleRandomSet(c, srandmemberWithCount, false);
  if (e === 0) return;
  C.randomElement(ks, e);
  c.out.bulk(C.hitKeyBuf, C.hitKeyOff, C.hitKeyLen);
}

function srandmemberWithCount(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  let n = argInt(a, 2);
  if (Number.isNaN(n)) {
    const big = argBigInt(a, 2);
    if (big === null) {
      c.out.error(ERR.notInteger);
      return;
    }
    if (big < -LONG_MAX) {
      c.out.error(ERR.valueBetween(String(-LONG_MAX), String(LONG_MAX)));
      return;
    }
    n = Number(big);
  }
  const unique = n >= 0;
  const count = Math.abs(n);
  if (!unique && count > SRANDMEMBER_REPEATS_MAX) {
    c.out.error(ERR.valueBetween(String(-SRANDMEMBER_REPEATS_MAX), String(LONG_MAX)));
    return;
  }
  const e = setAt(c, 1);
  if (e < 0) return;
  const out = c.out;
  if (e === 0 || count === 0) {
    out.array(0);
    return;
  }
  const size = ks.elementCount(e);
  if (!unique || count === 1) {
    out.array(count);
    for (let k = 0; k < count; k++) {
      C.randomElement(ks, e);
      out.bulk(C.hitKeyBuf, C.hitKeyOff, C.hitKeyLen);
    }
    return;
  }
  if (count >= size) {
    out.array(size);
    C.elementForEach(ks, e, (b, o, l) => out.bulk(b, o, l));
    return;
  }
  // count distinct members of a larger set: draw until enough are distinct when few are asked
  // for (Redis's case 4), else pick which to leave out (case 3); both stay O(size).
  const picked = new Set<string>();
  if (count * 3 > size) {
    const all: string[] = [];
    C.elementForEach(ks, e, (b, o, l) => all.push(latin1(b, o, l)));
    for (let k = all.length - 1; k > 0; k--) {
      const j = Math.floor(ks.randomFraction() * (k + 1));
      const t = all[k]!;
      all[k] = all[j]!;
      all[j] = t;
    }
    for (let k = 0; k < count; k++) picked.add(all[k]!);
  } else {
    while (picked.size < count) {
      C.randomElement(ks, e);
      picked.add(latin1(C.hitKeyBuf, C.hitKeyOff, C.hitKeyLen));
    }
  }
  out.array(count);
  for (const m of picked) out.bulk(bytesOf(m), 0, m.length);
}

/** SSCAN's cursor as Redis parses it (strtoul: sign allowed, negative wraps; empty is 0), or
 * null when it is not one. */
function scanCursor(a: ArgList, i: number): number | null {
  const s = Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!)).toString('latin1');
  if (s === '') return 0;
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(s);
  if (!m) return null;
  let v = BigInt(m[2]!);
  if (v > 0xffffffffffffffffn) return null;
  if (m[1] === '-') v = (0x10000000000000000n - v) & 0xffffffffffffffffn;
  return Number(v & 0xffffffffn);
}

function sscanCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  const cursor = scanCursor(a, 2);
  if (cursor === null) {
    c.out.error(ERR.invalidCursor);
    return;
  }
  const e = setAt(c, 1);
  if (e < 0) return;
  if (e === 0) {
    c.out.array(2);
    c.out.bulkString('0');
    c.out.array(0);
    return;
  }
  let count = 10;
  let patIdx = -1;
  for (let i = 3; i < a.argc; i += 2) {
    const more = i + 1 < a.argc;
    if (more && argIs(a, i, 'COUNT')) {
      const n = argInt(a, i + 1);
      if (Number.isNaN(n) && argBigInt(a, i + 1) === null) {
        c.out.error(ERR.notInteger);
        return;
      }
      if (!(n >= 1)) {
        c.out.error(ERR.syntax);
        return;
      }
      count = n;
    } else if (more && argIs(a, i, 'MATCH')) {
      // A lone '*' matches everything, the empty member included (Redis skips the match then).
      patIdx = a.len[i + 1] === 1 && a.buf[a.off[i + 1]!] === 42 ? -1 : i + 1;
    } else {
      c.out.error(ERR.syntax);
      return;
    }
  }
  const found: Buffer[] = [];
  const next = C.elementScan(ks, e, cursor, count, (b, o, l) => {
    if (patIdx < 0 || globMatch(a.buf, a.off[patIdx]!, a.len[patIdx]!, b, o, l, false)) found.push(Buffer.from(b.subarray(o, o + l)));
  });
  c.out.array(2);
  c.out.bulkString(String(next));
  c.out.array(found.length);
  for (const m of found) c.out.bulk(m, 0, m.length);
}

// --- SMOVE -----------------------------------------------------------------------------------------

function sameArg(a: ArgList, i: number, j: number): boolean {
  const n = a.len[i]!;
  if (n !== a.len[j]) return false;
  for (let k = 0; k < n; k++) if (a.buf[a.off[i]! + k] !== a.buf[a.off[j]! + k]) return false;
  return true;
}

function smoveCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  const src = writeKey(c, 1);
  const dst = writeKey(c, 2);
  if (src === 0) {
    c.out.integer(0);
    return;
  }
  if (ks.type(src) !== TYPE_SET || (dst !== 0 && ks.type(dst) !== TYPE_SET)) {
    c.out.error(ERR.wrongType);
    return;
  }
  const mo = a.off[3]!;
  const ml = a.len[3]!;
  if (sameArg(a, 1, 2)) {
    c.out.integer(C.elementFind(ks, src, a.buf, mo, ml) ? 1 : 0);
    return;
  }
  if (!C.elementRemove(ks, src, a.buf, mo, ml)) {
    c.out.integer(0);
    return;
  }
  keyEvent(c, 's', 'srem', 1);
  if (ks.elementCount(C.removedHandle) === 0) {
    ks.deleteEntry(C.removedHandle);
    keyEvent(c, 'g', 'del', 1);
  }
  // The source's change may have moved other blocks: look the destination up again.
  let d = writeKey(c, 2);
  if (d === 0) d = C.createFor(ks, a.buf, a.off[2]!, a.len[2]!, TYPE_SET, C.newSetEncoding(ks, a.buf, mo, ml, 1));
  C.elementPut(ks, d, a.buf, mo, ml, null, 0, 0);
  if (C.added) keyEvent(c, 's', 'sadd', 2);
  c.out.integer(1);
}

async function smoveCrossShard(m: MainCall): Promise<void> {
  const { server, args: a } = m;
  const src = argCopy(a, 1);
  const dst = argCopy(a, 2);
  const member = argCopy(a, 3);
  const s1 = server.shardOfKey(src, 0, src.length);
  const s2 = server.shardOfKey(dst, 0, dst.length);
  await server.withShardsLocked([s1, s2], async (call) => {
    const srcType = (await call(s1, ['type', src], 2)).toString('latin1');
    if (srcType === '+none\r\n') {
      m.out.integer(0);
      return;
    }
    const dstType = (await call(s2, ['type', dst], 2)).toString('latin1');
    if (srcType !== '+set\r\n' || (dstType !== '+none\r\n' && dstType !== '+set\r\n')) {
      m.out.error(ERR.wrongType);
      return;
    }
    if (ok(await call(s1, ['srem', src, member], 2)).toString('latin1') === ':0\r\n') {
      m.out.integer(0);
      return;
    }
    ok(await call(s2, ['sadd', dst, member], 2));
    m.out.integer(1);
  });
}

/** The event of each STORE form. */
const STORE_EVENTS: Record<SetOp, string> = { inter: 'sinterstore', union: 'sunionstore', diff: 'sdiffstore' };

/** A shard reply, or a thrown ReplyError carrying the shard's error. */
function ok(r: Buffer): Buffer {
  if (r[0] === 45) throw new ReplyError(r.toString('latin1', 1, r.length - 2));
  return r;
}

// --- SINTER, SUNION, SDIFF and their STORE forms, SINTERCARD --------------------------------------

/** The sets of arguments from..to (inclusive) of this shard; null after replying WRONGTYPE (every
 * key is checked, as Redis does, before a missing one makes the result empty). */
function viewsOf(c: ShardContext, from: number, to: number, write: boolean): Array<SetView | null> | null {
  const views: Array<SetView | null> = [];
  let wrong = false;
  for (let i = from; i <= to; i++) {
    const e = write ? writeKey(c, i) : readKey(c, i);
    if (e !== 0 && c.ks.type(e) !== TYPE_SET) wrong = true;
    views.push(e === 0 ? null : entryView(c.ks, e));
  }
  if (wrong) {
    c.out.error(ERR.wrongType);
    return null;
  }
  return views;
}

function setOpCommand(c: ShardContext, op: SetOp): void {
  const views = viewsOf(c, 1, c.args.argc - 1, false);
  if (!views) return;
  replyMembers(c.out, inReplyOrder(compute(op, views)));
}

function setOpStoreCommand(c: ShardContext, op: SetOp): void {
  const a = c.args;
  // The STORE forms read their sources as Redis 7.0 does (lookupKeyRead: a missing one is a keymiss).
  const views = viewsOf(c, 2, a.argc - 1, false);
  if (!views) return;
  const ms = compute(op, views);
  storeEvents(c, 1, STORE_EVENTS[op], ms.length, storeSet(c.ks, a.buf, a.off[1]!, a.len[1]!, ms));
  c.out.integer(ms.length);
}

/** SINTERCARD's numkeys and LIMIT; null after replying with Redis's error. */
function sintercardArgs(a: ArgList, error: (t: string) => void): { numkeys: number; limit: number } | null {
  const numkeys = argInt(a, 1);
  if (!(numkeys >= 1)) {
    error(ERR.numkeysPositive);
    return null;
  }
  if (numkeys > a.argc - 2) {
    error(ERR.numkeysOverArgs);
    return null;
  }
  let limit = 0;
  for (let j = 2 + numkeys; j < a.argc; j++) {
    if (argIs(a, j, 'LIMIT') && j + 1 < a.argc) {
      j++;
      const n = argInt(a, j);
      const big = Number.isNaN(n) ? argBigInt(a, j) : null;
      if (Number.isNaN(n) ? big === null || big < 0n : n < 0) {
        error(ERR.limitNegative);
        return null;
      }
      limit = Number.isNaN(n) ? Number.MAX_SAFE_INTEGER : n;
    } else {
      error(ERR.syntax);
      return null;
    }
  }
  return { numkeys, limit };
}

function sintercardCommand(c: ShardContext): void {
  const opts = sintercardArgs(c.args, (t) => c.out.error(t));
  if (!opts) return;
  const views = viewsOf(c, 2, 1 + opts.numkeys, false);
  if (!views) return;
  c.out.integer(interOf(views, opts.limit).length);
}

/** __smembers key R|W: a set's members as a RESP2 array; nil when absent; WRONGTYPE for another
 * type. W looks the key up for writing (no hit/miss counted), as the STORE forms do. */
function shardMembersCommand(c: ShardContext): void {
  const e = setAt(c, 1, argIs(c.args, 2, 'W'));
  if (e < 0) return;
  if (e === 0) {
    c.out.nil();
    return;
  }
  c.out.array(c.ks.elementCount(e));
  C.elementForEach(c.ks, e, (b, o, l) => c.out.bulk(b, o, l));
}

/** __sstore key members: replaces key with the set of members, packed as (u32 LE length, bytes)
 * each (none: deletes key); replies the member count. */
function shardStoreCommand(c: ShardContext): void {
  const a = c.args;
  const p0 = a.off[2]!;
  const end = p0 + a.len[2]!;
  const ms: string[] = [];
  for (let p = p0; p < end; ) {
    const l = a.buf[p]! | (a.buf[p + 1]! << 8) | (a.buf[p + 2]! << 16) | (a.buf[p + 3]! * 0x1000000);
    ms.push(latin1(a.buf, p + 4, l));
    p += 4 + l;
  }
  const existed = storeSet(c.ks, a.buf, a.off[1]!, a.len[1]!, ms);
  if (a.argc > 3) storeEvents(c, 1, argString(a, 3), ms.length, existed);
  c.out.integer(ms.length);
}

function packMembers(ms: readonly string[]): Buffer {
  let size = 0;
  for (const m of ms) size += 4 + m.length;
  const b = Buffer.allocUnsafe(size);
  let p = 0;
  for (const m of ms) {
    b.writeUInt32LE(m.length, p);
    p += 4;
    p += b.write(m, p, 'latin1');
  }
  return b;
}

/** The bulk strings of a RESP2 array reply, as latin1 strings. */
function bulkArray(r: Buffer): string[] {
  let p = r.indexOf(10) + 1;
  const n = Number(r.toString('latin1', 1, p - 2));
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const nl = r.indexOf(10, p);
    const l = Number(r.toString('latin1', p + 1, nl - 1));
    out.push(r.toString('latin1', nl + 1, nl + 1 + l));
    p = nl + 1 + l + 2;
  }
  return out;
}

/** The sets of `keys` from their shards (under the caller's lock); null when one is not a set. */
async function gatherViews(m: MainCall, call: ShardCaller, keys: readonly Buffer[], write: boolean): Promise<Array<SetView | null> | null> {
  const views: Array<SetView | null> = [];
  let wrong = false;
  for (const k of keys) {
    const r = await call(m.server.shardOfKey(k, 0, k.length), ['__smembers', k, write ? 'W' : 'R'], 2);
    if (r[0] === 45) {
      if (r.toString('latin1', 1, r.length - 2) !== ERR.wrongType) throw new ReplyError(r.toString('latin1', 1, r.length - 2));
      wrong = true;
      views.push(null);
    } else {
      views.push(r[0] === 36 ? null : memberView(new Set(bulkArray(r))));
    }
  }
  return wrong ? null : views;
}

function shardsOf(m: MainCall, keys: readonly Buffer[]): number[] {
  return [...new Set(keys.map((k) => m.server.shardOfKey(k, 0, k.length)))];
}

function keysFrom(a: ArgList, from: number, to: number): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = from; i <= to; i++) keys.push(argCopy(a, i));
  return keys;
}

async function setOpCrossShard(m: MainCall, op: SetOp): Promise<void> {
  const keys = keysFrom(m.args, 1, m.args.argc - 1);
  await m.server.withShardsLocked(shardsOf(m, keys), async (call) => {
    const views = await gatherViews(m, call, keys, false);
    if (!views) m.out.error(ERR.wrongType);
    else replyMembers(m.out, inReplyOrder(compute(op, views)));
  });
}

async function setOpStoreCrossShard(m: MainCall, op: SetOp): Promise<void> {
  const dst = argCopy(m.args, 1);
  const keys = keysFrom(m.args, 2, m.args.argc - 1);
  await m.server.withShardsLocked(shardsOf(m, [dst, ...keys]), async (call) => {
    const views = await gatherViews(m, call, keys, false);
    if (!views) {
      m.out.error(ERR.wrongType);
      return;
    }
    const ms = compute(op, views);
    ok(await call(m.server.shardOfKey(dst, 0, dst.length), ['__sstore', dst, packMembers(ms), STORE_EVENTS[op]], 2));
    m.out.integer(ms.length);
  });
}

async function sintercardCrossShard(m: MainCall): Promise<void> {
  const opts = sintercardArgs(m.args, (t) => m.out.error(t));
  if (!opts) return;
  const keys = keysFrom(m.args, 2, 1 + opts.numkeys);
  await m.server.withShardsLocked(shardsOf(m, keys), async (call) => {
    const views = await gatherViews(m, call, keys, false);
    if (!views) m.out.error(ERR.wrongType);
    else m.out.integer(interOf(views, opts.limit).length);
  });
}

// --- the table ---------------------------------------------------------------------------------

const S = 'set' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };
const ALL_KEYS = { first: 1, last: -1, step: 1 };

export const SET_COMMANDS = [
  { name: 'sadd', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: S, since: '1.0.0', summary: 'Add one or more members to a set', shard: saddCommand },
  { name: 'srem', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: S, since: '1.0.0', summary: 'Remove one or more members from a set', shard: sremCommand },
  { name: 'smembers', arity: 2, flags: ['readonly'], keys: ONE_KEY, group: S, since: '1.0.0', summary: 'Get all the members in a set', shard: smembersCommand },
  { name: 'sismember', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: S, since: '1.0.0', summary: 'Determine if a given value is a member of a set', shard: sismemberCommand },
  { name: 'smismember', arity: -3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: S, since: '6.2.0', summary: 'Returns the membership associated with the given elements for a set', shard: smismemberCommand },
  { name: 'scard', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: S, since: '1.0.0', summary: 'Get the number of members in a set', shard: scardCommand },
  { name: 'spop', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: S, since: '1.0.0', summary: 'Remove and return one or multiple random members from a set', shard: spopCommand },
  { name: 'srandmember', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: S, since: '1.0.0', summary: 'Get one or multiple random members from a set', shard: srandmemberCommand },
  { name: 'smove', arity: 4, flags: ['write', 'fast'], keys: { first: 1, last: 2, step: 1 }, group: S, since: '1.0.0', summary: 'Move a member from one set to another', shard: smoveCommand, crossShard: smoveCrossShard },
  { name: 'sinter', arity: -2, flags: ['readonly'], keys: ALL_KEYS, group: S, since: '1.0.0', summary: 'Intersect multiple sets', shard: (c) => setOpCommand(c, 'inter'), crossShard: (m) => setOpCrossShard(m, 'inter') },
  { name: 'sintercard', arity: -3, flags: ['readonly'], keys: { first: 0, last: 0, step: 0, numkeysAt: 1 }, group: S, since: '7.0.0', summary: 'Intersect multiple sets and return the cardinality of the result', shard: sintercardCommand, crossShard: sintercardCrossShard },
  { name: 'sinterstore', arity: -3, flags: ['write', 'denyoom'], keys: ALL_KEYS, group: S, since: '1.0.0', summary: 'Intersect multiple sets and store the resulting set in a key', shard: (c) => setOpStoreCommand(c, 'inter'), crossShard: (m) => setOpStoreCrossShard(m, 'inter') },
  { name: 'sunion', arity: -2, flags: ['readonly'], keys: ALL_KEYS, group: S, since: '1.0.0', summary: 'Add multiple sets', shard: (c) => setOpCommand(c, 'union'), crossShard: (m) => setOpCrossShard(m, 'union') },
  { name: 'sunionstore', arity: -3, flags: ['write', 'denyoom'], keys: ALL_KEYS, group: S, since: '1.0.0', summary: 'Add multiple sets and store the resulting set in a key', shard: (c) => setOpStoreCommand(c, 'union'), crossShard: (m) => setOpStoreCrossShard(m, 'union') },
  { name: 'sdiff', arity: -2, flags: ['readonly'], keys: ALL_KEYS, group: S, since: '1.0.0', summary: 'Subtract multiple sets', shard: (c) => setOpCommand(c, 'diff'), crossShard: (m) => setOpCrossShard(m, 'diff') },
  { name: 'sdiffstore', arity: -3, flags: ['write', 'denyoom'], keys: ALL_KEYS, group: S, since: '1.0.0', summary: 'Subtract multiple sets and store the resulting set in a key', shard: (c) => setOpStoreCommand(c, 'diff'), crossShard: (m) => setOpStoreCrossShard(m, 'diff') },
  { name: 'sscan', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: S, since: '2.8.0', summary: 'Incrementally iterate Set elements', shard: sscanCommand },
  { name: '__smembers', arity: 3, flags: ['readonly'], keys: ONE_KEY, group: 'internal', since: '0', summary: 'internal', shard: shardMembersCommand, hidden: true },
  { name: '__sstore', arity: -3, flags: ['write'], keys: ONE_KEY, group: 'internal', since: '0', summary: 'internal', shard: shardStoreCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
