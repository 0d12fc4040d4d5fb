// Stream commands without consumer groups (Redis t_stream.c, 7.0): XADD XLEN XRANGE XREVRANGE
// XDEL XTRIM XSETID XINFO STREAM/HELP and non-blocking XREAD, over src/keyspace/stream.ts. Parsing
// follows Redis's order of checks so that the first error is Redis's. XREAD with keys on several
// shards runs a coordinator that asks each key's shard in key order while it holds their lock, so
// the reply is one point in time, as Redis's. XADD tells the blocking layer the key is ready.

import type { ArgList, CommandSpec, MainCall, ShardContext } from './types.js';
import { argCopy, argI64, argIs, argString } from './args.js';
import { ERR, STREAM_ERR } from '../core/errors.js';
import { keyEvent, readKey, writeKey } from './shard-helpers.js';
import { TYPE_STREAM } from '../keyspace/keyspace.js';
import * as S from '../keyspace/stream.js';
import { sid, sidCmp, sidCopy, sidDecr, sidIncr, sidIsZero, sidParse, sidSetNumbers, SID_MAX, SID_MIN, type Sid } from '../util/stream-id.js';
import { keySlot } from '../keyspace/slot.js';
import { streamGroupCount, xinfoConsumers, xinfoFullGroups, xinfoGroups } from './stream-group-family.js';

// --- shared pieces ---------------------------------------------------------------------------------

/** The stream at argument i: its entry, 0 when absent, or -1 after replying WRONGTYPE. */
function streamAt(c: ShardContext, i: number, write: boolean): number {
  const e = write ? writeKey(c, i) : readKey(c, i);
  if (e !== 0 && c.ks.type(e) !== TYPE_STREAM) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

// Id registers: module-level, so that no command allocates one.
const idA = sid();
const idB = sid();
const idC = sid();
const lastId = sid();

/** Whether the ID argument i carried its sequence (false for "<ms>-*"), after parseStrictId. */
let seqGiven = true;

/** Parses argument i as a strict id (no "-" or "+"; "<ms>-*" when allowAutoSeq) into dst;
 * replies the error and returns false when it is not one. */
function parseStrictId(c: ShardContext, i: number, dst: Sid, missingSeq: 0 | 1, allowAutoSeq: boolean): boolean {
  const a = c.args;
  const off = a.off[i]!;
  const len = a.len[i]!;
  seqGiven = true;
  if (len <= 127) {
    if (allowAutoSeq && len >= 3 && a.buf[off + len - 1] === 42 && a.buf[off + len - 2] === 45) {
      // "<ms>-*": the sequence comes from the stream.
      if (sidParse(a.buf, off, len - 2, dst, 0) && a.buf.subarray(off, off + len - 2).indexOf(45) < 0) {
        seqGiven = false;
        return true;
      }
    } else if (sidParse(a.buf, off, len, dst, missingSeq)) return true;
  }
  c.out.error(STREAM_ERR.invalidId);
  return false;
}

/** Parses an interval end: "-", "+", "(id" (exclusive, strict) or an id. Sets `exclusive`. */
let exclusive = false;
function parseIntervalId(c: ShardContext, i: number, dst: Sid, missingSeq: 0 | 1): boolean {
  const a = c.args;
  const off = a.off[i]!;
  const len = a.len[i]!;
  exclusive = len > 1 && a.buf[off] === 40; // (
  if (exclusive) {
    if (len - 1 <= 127 && sidParse(a.buf, off + 1, len - 1, dst, missingSeq)) return true;
    c.out.error(STREAM_ERR.invalidId);
    return false;
  }
  if (len === 1 && a.buf[off] === 45) {
    sidCopy(dst, SID_MIN);
    return true;
  }
  if (len === 1 && a.buf[off] === 43) {
    sidCopy(dst, SID_MAX);
    return true;
  }
  if (len <= 127 && sidParse(a.buf, off, len, dst, missingSeq)) return true;
  c.out.error(STREAM_ERR.invalidId);
  return false;
}

/** Replies the entries of e with lo <= id <= hi (count 0: all), ascending or descending; returns
 * how many. */
function replyRange(c: ShardContext, e: number, lo: Readonly<Sid>, hi: Readonly<Sid>, count: number, rev: boolean): number {
  const out = c.out;
  // Count first (the array header comes before the entries), then write.
  S.streamIter(c.ks, e, lo, hi, rev);
  let n = 0;
  while ((count === 0 || n < count) && S.streamNext()) n++;
  out.array(n);
  S.streamIter(c.ks, e, lo, hi, rev);
  for (let k = 0; k < n && S.streamNext(); k++) S.streamWriteEntry(out);
  return n;
}

/** The id of the last live entry of e (Redis's streamLastValidID); false when empty. */
function lastValidId(c: ShardContext, e: number, dst: Sid): boolean {
  S.streamIter(c.ks, e, SID_MIN, SID_MAX, true);
  if (!S.streamNext()) return false;
  sidCopy(dst, S.itId);
  return true;
}

// --- XADD and XTRIM options ---------------------------------------------------------------------

/** What streamParseAddOrTrimArgsOrReply found. */
const trim = { strategy: 0, approx: false, maxlen: 0, limit: 0, noMkStream: false, idGiven: false };
const minId = sid();
const addId = sid();

/** Redis's streamParseAddOrTrimArgsOrReply: the options of XADD (xadd) or XTRIM from argument 2;
 * returns the index of XADD's id (argc when none), or -1 after replying an error. */
function parseAddOrTrim(c: ShardContext, xadd: boolean): number {
  const a = c.args;
  trim.strategy = 0;
  trim.approx = false;
  trim.maxlen = -1;
  trim.limit = 0;
  trim.noMkStream = false;
  trim.idGiven = false;
  let limitGiven = false;
  let i = 2;
  for (; i < a.argc; i++) {
    const more = a.argc - 1 - i;
    if (xadd && a.len[i] === 1 && a.buf[a.off[i]!] === 42) break; // *
    if (argIs(a, i, 'MAXLEN') && more > 0) {
      if (trim.strategy !== 0) return fail(c, STREAM_ERR.maxlenAndMinid);
      trim.approx = false;
      if (more >= 2 && isSingle(a, i + 1, 126)) {
        trim.approx = true;
        i++;
      } else if (more >= 2 && isSingle(a, i + 1, 61)) i++;
      const n = argI64(a, i + 1);
      if (!Number.isInteger(n)) return fail(c, ERR.notInteger);
      if (n < 0) return fail(c, STREAM_ERR.maxlenNegative);
      trim.maxlen = n;
      i++;
      trim.strategy = S.TRIM_MAXLEN;
    } else if (argIs(a, i, 'MINID') && more > 0) {
      if (trim.strategy !== 0) return fail(c, STREAM_ERR.maxlenAndMinid);
      trim.approx = false;
      if (more >= 2 && isSingle(a, i + 1, 126)) {
        trim.approx = true;
        i++;
      } else if (more >= 2 && isSingle(a, i + 1, 61)) i++;
      if (!parseStrictId(c, i + 1, minId, 0, false)) return -1;
      i++;
      trim.strategy = S.TRIM_MINID;
    } else if (argIs(a, i, 'LIMIT') && more > 0) {
      const n = argI64(a, i + 1);
      if (!Number.isInteger(n)) return fail(c, ERR.notInteger);
      if (n < 0) return fail(c, STREAM_ERR.limitNegative);
      trim.limit = n;
      limitGiven = true;
      i++;
    } else if (xadd && argIs(a, i, 'NOMKSTREAM')) {
      trim.noMkStream = true;
    } else if (xadd) {
      if (!parseStrictId(c, i, addId, 0, true)) return -1;
      trim.idGiven = true;
      break;
    } else return fail(c, ERR.syntax);
  }
  if (trim.limit !== 0 && trim.strategy === 0) return fail(c, STREAM_ERR.limitWithoutStrategy);
  if (!xadd && trim.strategy === 0) return fail(c, STREAM_ERR.xtrimWithoutStrategy);
  if (limitGiven) {
    if (!trim.approx) return fail(c, STREAM_ERR.limitWithoutApprox);
  } else if (trim.approx) {
    const l = 100 * c.ks.limits.streamNodeMaxEntries;
    trim.limit = l <= 0 || l > 1_000_000_000 ? 10000 : l;
  } else trim.limit = 0;
  return i;
}

function fail(c: ShardContext, text: string): -1 {
  c.out.error(text);
  return -1;
}

function isSingle(a: ArgList, i: number, ch: number): boolean {
  return a.len[i] === 1 && a.buf[a.off[i]!] === ch;
}

function runTrim(c: ShardContext, e: number): number {
  return S.streamTrim(c.ks, e, trim.strategy, trim.maxlen, minId, trim.approx, trim.limit);
}

// --- commands --------------------------------------------------------------------------------------

function xaddCommand(c: ShardContext): void {
  const a = c.args;
  const idAt = parseAddOrTrim(c, true);
  if (idAt < 0) return;
  const fieldsAt = idAt + 1;
  if (a.argc - fieldsAt < 2 || (a.argc - fieldsAt) % 2 === 1) return c.out.error(ERR.wrongArity('xadd'));
  if (trim.idGiven && seqGiven && sidIsZero(addId)) return c.out.error(STREAM_ERR.xaddZeroId);
  const ks = c.ks;
  let e = streamAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) {
    if (trim.noMkStream) return c.out.nil();
    e = S.streamCreate(ks, a.buf, a.off[1]!, a.len[1]!);
  }
  S.streamLastId(ks, e, lastId);
  if (sidCmp(lastId, SID_MAX) === 0) return c.out.error(STREAM_ERR.exhausted);
  // The new id (Redis's streamAppendItem).
  if (!trim.idGiven) {
    const now = Date.now();
    if (now > S_ms(lastId)) sidSetNumbers(idA, now, 0);
    else {
      sidCopy(idA, lastId);
      sidIncr(idA);
    }
  } else if (!seqGiven) {
    if (lastId[0] === addId[0] && lastId[1] === addId[1]) {
      if (lastId[2] === 0xffffffff && lastId[3] === 0xffffffff) return c.out.error(STREAM_ERR.xaddTooSmall);
      sidCopy(idA, lastId);
      sidIncr(idA);
    } else sidCopy(idA, addId);
  } else sidCopy(idA, addId);
  if (sidCmp(idA, lastId) <= 0) return c.out.error(STREAM_ERR.xaddTooSmall);
  S.streamAppend(ks, e, idA, a, fieldsAt, (a.argc - fieldsAt) / 2);
  S.writeIdBulk(c.out, idA);
  keyEvent(c, 't', 'xadd', 1);
  if (trim.strategy !== 0 && runTrim(c, e) > 0) keyEvent(c, 't', 'xtrim', 1);
  // Blocked XREAD clients of this key may now be served (docs/blocking.md).
  ks.onWrite?.(e);
}

/** The ms part of an id as a number (exact below 2^53; ids above compare as larger anyway). */
function S_ms(id: Readonly<Sid>): number {
  return id[0]! * 4294967296 + id[1]!;
}

function xlenCommand(c: ShardContext): void {
  const e = streamAt(c, 1, false);
  if (e < 0) return;
  c.out.integer(e === 0 ? 0 : S.streamLength(c.ks, e));
}

function xrangeCommand(c: ShardContext, rev: boolean): void {
  const a = c.args;
  const startAt = rev ? 3 : 2;
  const endAt = rev ? 2 : 3;
  if (!parseIntervalId(c, startAt, idA, 0)) return;
  if (exclusive && !sidIncr(idA)) return c.out.error(STREAM_ERR.invalidStart);
  if (!parseIntervalId(c, endAt, idB, 1)) return;
  if (exclusive && !sidDecr(idB)) return c.out.error(STREAM_ERR.invalidEnd);
  let count = -1;
  for (let j = 4; j < a.argc; j++) {
    if (argIs(a, j, 'COUNT') && a.argc - j - 1 >= 1) {
      const n = argI64(a, j + 1);
      if (!Number.isInteger(n)) return c.out.error(ERR.notInteger);
      count = n < 0 ? 0 : n;
      j++;
    } else return c.out.error(ERR.syntax);
  }
  const e = streamAt(c, 1, false);
  if (e < 0) return;
  if (e === 0) return c.out.array(0);
  if (count === 0) return c.out.nilArray();
  replyRange(c, e, idA, idB, count < 0 ? 0 : count, rev);
}

function xdelCommand(c: ShardContext): void {
  const a = c.args;
  const e = streamAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) return c.out.integer(0);
  // Every id is checked before any is deleted, as Redis.
  for (let j = 2; j < a.argc; j++) if (!parseStrictId(c, j, idA, 0, false)) return;
  let deleted = 0;
  for (let j = 2; j < a.argc; j++) {
    sidParse(a.buf, a.off[j]!, a.len[j]!, idA, 0);
    if (S.streamDelete(c.ks, e, idA)) deleted++;
  }
  if (deleted > 0) keyEvent(c, 't', 'xdel', 1);
  c.out.integer(deleted);
}

function xtrimCommand(c: ShardContext): void {
  if (parseAddOrTrim(c, false) < 0) return;
  const e = streamAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) return c.out.integer(0);
  const n = runTrim(c, e);
  if (n > 0) keyEvent(c, 't', 'xtrim', 1);
  c.out.integer(n);
}

function xsetidCommand(c: ShardContext): void {
  const a = c.args;
  if (!parseStrictId(c, 2, idA, 0, false)) return;
  let entriesAdded = -1;
  let maxDelGiven = false;
  sidCopy(idB, SID_MIN);
  for (let i = 3; i < a.argc; ) {
    const more = a.argc - 1 - i;
    if (argIs(a, i, 'ENTRIESADDED') && more > 0) {
      const n = argI64(a, i + 1);
      if (!Number.isInteger(n)) return c.out.error(ERR.notInteger);
      if (n < 0) return c.out.error(STREAM_ERR.entriesAddedNegative);
      entriesAdded = n;
      i += 2;
    } else if (argIs(a, i, 'MAXDELETEDID') && more > 0) {
      if (!parseStrictId(c, i + 1, idB, 0, false)) return;
      if (sidCmp(idA, idB) < 0) return c.out.error(STREAM_ERR.xsetidBelowMaxDeleted);
      maxDelGiven = true;
      i += 2;
    } else return c.out.error(ERR.syntax);
  }
  const e = streamAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) return c.out.error(ERR.noSuchKey);
  const ks = c.ks;
  const len = S.streamLength(ks, e);
  if (len > 0) {
    lastValidId(c, e, idC);
    if (sidCmp(idA, idC) < 0) return c.out.error(STREAM_ERR.xsetidBelowTop);
    if (entriesAdded !== -1 && len > entriesAdded) return c.out.error(STREAM_ERR.xsetidEntriesAdded);
  }
  S.streamSetMeta(ks, e, idA, entriesAdded, maxDelGiven && !sidIsZero(idB) ? idB : null);
  c.out.ok();
  keyEvent(c, 't', 'xsetid', 1);
}

// --- XINFO -----------------------------------------------------------------------------------------

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Prints this help.',
];

/** XINFO runs where its key lives; HELP needs none (so XINFO is a main-thread command). */
async function xinfoCommand(m: MainCall): Promise<void> {
  const a = m.args;
  if (argIs(a, 1, 'HELP')) {
    if (a.argc !== 2) return m.out.error(ERR.subcommandSyntax(argString(a, 1), 'XINFO'));
    m.out.array(XINFO_HELP.length);
    for (const line of XINFO_HELP) m.out.simple(line);
    return;
  }
  const parts: Buffer[] = [];
  for (let i = 1; i < a.argc; i++) parts.push(argCopy(a, i));
  const key = parts[1]!;
  const cluster = m.server.cluster;
  if (cluster !== null) {
    const slot = keySlot(key, 0, key.length);
    if (!cluster.ownsSlot(slot)) {
      const addr = cluster.slotAddress(slot, !m.conn.tls);
      return m.out.error(addr === null ? ERR.clusterDownUnbound : ERR.moved(slot, addr));
    }
  }
  const r = await m.server.callShard(m.server.shardOfKey(key, 0, key.length), ['__xinfo', ...parts], m.conn.proto, m.conn.db);
  m.out.raw(r, 0, r.length);
}

/** __xinfo <subcommand> key [...]: XINFO's work in the key's shard. */
function shardXinfoCommand(c: ShardContext): void {
  const a = c.args;
  const e = streamAt(c, 2, false);
  if (e < 0) return;
  if (e === 0) return c.out.error(ERR.noSuchKey);
  if (argIs(a, 1, 'STREAM')) return xinfoStream(c, e);
  if (argIs(a, 1, 'GROUPS') && a.argc === 3) return xinfoGroups(c, e);
  if (argIs(a, 1, 'CONSUMERS') && a.argc === 4) return xinfoConsumers(c, e, 2, 3);
  c.out.error(ERR.subcommandSyntax(argString(a, 1), 'XINFO'));
}

function xinfoStream(c: ShardContext, e: number): void {
  const a = c.args;
  const ks = c.ks;
  const out = c.out;
  const optc = a.argc - 3;
  let full = false;
  let count = 10;
  if (optc > 0) {
    if ((optc !== 1 && optc !== 3) || !argIs(a, 3, 'FULL') || (optc === 3 && !argIs(a, 4, 'COUNT'))) {
      return out.error(ERR.subcommandSyntax(argString(a, 1), 'XINFO'));
    }
    full = true;
    if (optc === 3) {
      const n = argI64(a, 5);
      if (!Number.isInteger(n)) return out.error(ERR.notInteger);
      count = n < 0 ? 10 : n;
    }
  }
  out.map(full ? 9 : 10);
  out.bulkString('length');
  out.integer(S.streamLength(ks, e));
  out.bulkString('radix-tree-keys');
  out.integer(S.streamNodes(ks, e));
  out.bulkString('radix-tree-nodes');
  out.integer(S.streamRaxNodes(ks, e));
  out.bulkString('last-generated-id');
  S.streamLastId(ks, e, idA);
  S.writeIdBulk(out, idA);
  out.bulkString('max-deleted-entry-id');
  S.streamMaxDeletedId(ks, e, idA);
  S.writeIdBulk(out, idA);
  out.bulkString('entries-added');
  out.integer(S.streamEntriesAdded(ks, e));
  out.bulkString('recorded-first-entry-id');
  S.streamFirstId(ks, e, idA);
  S.writeIdBulk(out, idA);
  if (!full) {
    out.bulkString('groups');
    out.integer(streamGroupCount(ks, e));
    out.bulkString('first-entry');
    S.streamIter(ks, e, SID_MIN, SID_MAX, false);
    if (S.streamNext()) S.streamWriteEntry(out);
    else out.nil();
    out.bulkString('last-entry');
    S.streamIter(ks, e, SID_MIN, SID_MAX, true);
    if (S.streamNext()) S.streamWriteEntry(out);
    else out.nil();
    return;
  }
  out.bulkString('entries');
  replyRange(c, e, SID_MIN, SID_MAX, count, false);
  out.bulkString('groups');
  xinfoFullGroups(c, e, count);
}

// --- XREAD -----------------------------------------------------------------------------------------

/** XREAD's parsed options: COUNT, BLOCK (ms, -1 none) and where STREAMS' keys start. */
export const xread = { count: 0, blockMs: -1, keysAt: 0, keys: 0 };

/** Redis's XREAD option parsing (xreadCommand's first loop); null, or the error to reply. */
export function parseXread(a: ArgList): string | null {
  xread.count = 0;
  xread.blockMs = -1;
  xread.keysAt = 0;
  xread.keys = 0;
  for (let i = 1; i < a.argc; i++) {
    const more = a.argc - i - 1;
    if (argIs(a, i, 'BLOCK') && more > 0) {
      i++;
      const n = argI64(a, i);
      if (!Number.isInteger(n)) return STREAM_ERR.timeoutNotInteger;
      if (n < 0) return STREAM_ERR.timeoutNegative;
      xread.blockMs = n;
    } else if (argIs(a, i, 'COUNT') && more > 0) {
      i++;
      const n = argI64(a, i);
      if (!Number.isInteger(n)) return ERR.notInteger;
      xread.count = n < 0 ? 0 : n;
    } else if (argIs(a, i, 'STREAMS') && more > 0) {
      const n = a.argc - (i + 1);
      if (n % 2 !== 0) return STREAM_ERR.unbalanced('XREAD', '$');
      xread.keysAt = i + 1;
      xread.keys = n / 2;
      break;
    } else if (argIs(a, i, 'GROUP') && more >= 2) return STREAM_ERR.groupOnXread;
    else if (argIs(a, i, 'NOACK')) return STREAM_ERR.noackOnXread;
    else return ERR.syntax;
  }
  if (xread.keysAt === 0) return ERR.syntax;
  return null;
}

/** Non-blocking XREAD in one shard: per key with entries after its id, [key, entries]. */
function xreadCommand(c: ShardContext): void {
  const a = c.args;
  const invalid = parseXread(a);
  if (invalid !== null) return c.out.error(invalid);
  const { keysAt, keys, count } = xread;
  // The ids, checked (and each key's type) in key order before anything is replied.
  for (let k = 0; k < keys; k++) {
    const e = streamAt(c, keysAt + k, false);
    if (e < 0) return;
    const ia = keysAt + keys + k;
    if (isSingle(a, ia, 36)) continue; // $
    if (isSingle(a, ia, 62)) return c.out.error(STREAM_ERR.gtOnXread);
    if (!parseStrictId(c, ia, idA, 0, false)) return;
  }
  let served = 0;
  for (let k = 0; k < keys; k++) if (xreadWants(c, keysAt + k, keysAt + keys + k) !== 0) served++;
  if (served === 0) return c.out.nilArray();
  const out = c.out;
  if (out.proto === 3) out.map(served);
  else out.array(served);
  for (let k = 0; k < keys; k++) {
    const e = xreadWants(c, keysAt + k, keysAt + keys + k);
    if (e === 0) continue;
    if (out.proto !== 3) out.array(2);
    out.bulk(a.buf, a.off[keysAt + k]!, a.len[keysAt + k]!);
    sidIncr(idB);
    replyRange(c, e, idB, SID_MAX, count, false);
  }
}

/** The stream of key argument ki when it has a live entry after the id in argument ii (left in
 * idB), else 0. */
function xreadWants(c: ShardContext, ki: number, ii: number): number {
  const a = c.args;
  const e = writeKey(c, ki);
  if (e === 0 || c.ks.type(e) !== TYPE_STREAM || S.streamLength(c.ks, e) === 0) return 0;
  if (isSingle(a, ii, 36)) S.streamLastId(c.ks, e, idB);
  else sidParse(a.buf, a.off[ii]!, a.len[ii]!, idB, 0);
  if (!lastValidId(c, e, idC)) return 0;
  return sidCmp(idC, idB) > 0 ? e : 0;
}

/** XREAD whose keys live on several shards: each key's part from its shard, in key order, under
 * the lock of all of them; the first error (in key order) is the reply, as in one shard. */
export async function xreadCrossShard(m: MainCall): Promise<void> {
  const { server, args: a } = m;
  const invalid = parseXread(a);
  if (invalid !== null) return m.out.error(invalid);
  const { keysAt, keys } = xread;
  const count = String(xread.count);
  const ks: Buffer[] = [];
  const ids: Buffer[] = [];
  for (let k = 0; k < keys; k++) {
    ks.push(argCopy(a, keysAt + k));
    ids.push(argCopy(a, keysAt + keys + k));
  }
  const shards = [...new Set(ks.map((k) => server.shardOfKey(k, 0, k.length)))];
  const proto = m.out.proto;
  await server.withShardsLocked(shards, async (call) => {
    const parts: Buffer[] = [];
    for (let k = 0; k < keys; k++) {
      const key = ks[k]!;
      const r = await call(server.shardOfKey(key, 0, key.length), ['xread', 'COUNT', count, 'STREAMS', key, ids[k]!], proto);
      if (r[0] === 45) return m.out.error(r.toString('latin1', 1, r.length - 2));
      if ((r[0] === 42 && r[1] === 45) || r[0] === 95) continue; // nothing for this key
      // One [key, entries] (RESP2) or one key => entries pair (RESP3): drop the "*1" / "%1" header.
      parts.push(r.subarray(r.indexOf(10) + 1));
    }
    if (parts.length === 0) return m.out.nilArray();
    if (proto === 3) m.out.map(parts.length);
    else m.out.array(parts.length);
    for (const p of parts) m.out.raw(p, 0, p.length);
  });
}

// --- the table -------------------------------------------------------------------------------------

const G = 'stream' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };
/** XREAD's keys: the first half of the arguments after STREAMS (key-range.ts). */
const XREAD_KEYS = { first: 0, last: 0, step: 0, afterStreams: true };

export const STREAM_COMMANDS = [
  { name: 'xadd', arity: -5, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'Appends a new entry to a stream', shard: xaddCommand },
  { name: 'xlen', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'Return the number of entries in a stream', shard: xlenCommand },
  { name: 'xrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'Return a range of elements in a stream, with IDs matching the specified IDs interval', shard: (c) => xrangeCommand(c, false) },
  { name: 'xrevrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE', shard: (c) => xrangeCommand(c, true) },
  { name: 'xdel', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.', shard: xdelCommand },
  { name: 'xtrim', arity: -4, flags: ['write'], keys: ONE_KEY, group: G, since: '5.0.0', summary: "Trims the stream to (approximately if '~' is passed) a certain size", shard: xtrimCommand },
  { name: 'xsetid', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'An internal command for replicating stream values', shard: xsetidCommand },
  { name: 'xread', arity: -4, flags: ['readonly', 'blocking'], keys: XREAD_KEYS, group: G, since: '5.0.0', summary: 'Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.', shard: xreadCommand, crossShard: xreadCrossShard },
  {
    name: 'xinfo', arity: -2, flags: [], keys: null, group: G, since: '5.0.0', summary: 'A container for stream introspection commands', main: xinfoCommand,
    subcommands: [
      { name: 'consumers', arity: 4, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'List the consumers in a consumer group' },
      { name: 'groups', arity: 3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'List the consumer groups of a stream' },
      { name: 'stream', arity: -3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'Get information about a stream' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Show helpful text about the different subcommands' },
    ],
  },
  { name: '__xinfo', arity: -3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, group: 'internal', since: '0.0.0', summary: 'XINFO in the key\'s shard', shard: shardXinfoCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
