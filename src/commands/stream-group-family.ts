// Stream consumer groups (Redis 7.0 t_stream.c): XGROUP, XREADGROUP (non-blocking part), XACK,
// XPENDING, XCLAIM, XAUTOCLAIM, and the group parts of XINFO (exported for the stream family's
// XINFO). The groups live in the arena (keyspace/stream-groups.ts); a command that changes them
// calls ks.bumpCas(e) first, so the log and the replication stream record the key's resulting
// state (groups included in its image): replaying it is deterministic, whatever the clock.
// Replies are written in one pass after a counting pass (the writer has no deferred lengths).

import type { ArgList, CommandSpec, MainCall, ShardContext } from './types.js';
import { argBigInt, argCopy, argI64, argIs } from './args.js';
import { ERR, XGROUP_ERR } from '../core/errors.js';
import { readKey, writeKey } from './shard-helpers.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Arena } from '../keyspace/arena.js';
import * as G from '../keyspace/stream-groups.js';
import { ENTRIES_READ_INVALID } from '../keyspace/stream-groups.js';
import * as S from '../keyspace/stream.js';
import { TYPE_STREAM } from '../keyspace/value-types.js';
import { SID_MAX, sid, sidCmp, sidCopy, sidDecr, sidIncr, sidIsZero, sidParse, sidSet, sidWrite, SID_TEXT_MAX, type Sid } from '../util/stream-id.js';

// ---- stream access (the stream module's API, in one place) -------------------------------------

interface StreamHost {
  readonly arena: Arena;
}

/** The shard's arena (the stream kind holds it, as stream.ts reaches it). */
function arenaOf(ks: Keyspace): Arena {
  return (ks.kindOf(TYPE_STREAM) as unknown as StreamHost).arena;
}

const revLo = sid();

/** The id of the stream's last live entry into dst (Redis's streamLastValidID); false if empty. */
function lastValidId(ks: Keyspace, e: number, dst: Sid): boolean {
  sidSet(revLo, 0, 0, 0, 0);
  S.streamIter(ks, e, revLo, SID_MAX, true);
  if (!S.streamNext()) return false;
  sidCopy(dst, S.itId);
  return true;
}

// ---- ids ----------------------------------------------------------------------------------------

const idText = new Uint8Array(SID_TEXT_MAX);

/** Writes id as a bulk string. */
export function replyId(c: ShardContext, id: Readonly<Sid>): void {
  const n = sidWrite(id, idText, 0);
  c.out.bulk(idText, 0, n);
}

/** Parses argument i as a strict id ("ms" or "ms-seq"; no "-", "+"); replies the error on failure. */
function strictId(c: ShardContext, i: number, dst: Sid, reply = true): boolean {
  const a = c.args;
  if (a.len[i]! <= 127 && sidParse(a.buf, a.off[i]!, a.len[i]!, dst, 0)) return true;
  if (reply) c.out.error(XGROUP_ERR.invalidId);
  return false;
}

/** Parses argument i as an id where "-" and "+" mean the smallest and largest ids; a missing
 * sequence is missingSeq's (0, or 1 = 2^64-1). */
function looseId(c: ShardContext, i: number, dst: Sid, missingSeq: 0 | 1): boolean {
  const a = c.args;
  if (a.len[i] === 1 && a.buf[a.off[i]!] === 45) {
    sidSet(dst, 0, 0, 0, 0);
    return true;
  }
  if (a.len[i] === 1 && a.buf[a.off[i]!] === 43) {
    sidCopy(dst, SID_MAX);
    return true;
  }
  if (a.len[i]! <= 127 && sidParse(a.buf, a.off[i]!, a.len[i]!, dst, missingSeq)) return true;
  c.out.error(XGROUP_ERR.invalidId);
  return false;
}

/** An interval bound: "(" + a strict id is exclusive (Redis's streamParseIntervalIDOrReply); sets
 * `exclusive`. */
let exclusive = false;
function intervalId(c: ShardContext, i: number, dst: Sid, missingSeq: 0 | 1): boolean {
  const a = c.args;
  const len = a.len[i]!;
  const off = a.off[i]!;
  exclusive = len > 1 && a.buf[off] === 40;
  if (!exclusive) return looseId(c, i, dst, missingSeq);
  if (len - 1 <= 127 && sidParse(a.buf, off + 1, len - 1, dst, missingSeq)) return true;
  c.out.error(XGROUP_ERR.invalidId);
  return false;
}

function argIsChar(c: ShardContext, i: number, ch: number): boolean {
  return c.args.len[i] === 1 && c.args.buf[c.args.off[i]!] === ch;
}

// ---- entries_read and lag, as Redis 7.0 computes them -------------------------------------------

const firstId = sid();
const lastId = sid();
const maxDeleted = sid();

/** Loads the stream's first id, last id and max deleted id into the registers above. */
function loadStreamIds(ks: Keyspace, e: number): void {
  if (!S.streamFirstId(ks, e, firstId)) sidSet(firstId, 0, 0, 0, 0);
  S.streamLastId(ks, e, lastId);
  S.streamMaxDeletedId(ks, e, maxDeleted);
}

/** Redis's streamRangeHasTombstones(s, start, NULL) (after loadStreamIds). */
function hasTombstonesFrom(ks: Keyspace, e: number, start: Readonly<Sid>): boolean {
  if (S.streamLength(ks, e) === 0 || sidIsZero(maxDeleted)) return false;
  if (sidCmp(firstId, maxDeleted) > 0) return false;
  return sidCmp(start, maxDeleted) <= 0;
}

/** Redis's streamEstimateDistanceFromFirstEverEntry (after loadStreamIds). */
function estimateEntriesRead(ks: Keyspace, e: number, id: Readonly<Sid>): number {
  const added = S.streamEntriesAdded(ks, e);
  if (added === 0) return 0;
  const length = S.streamLength(ks, e);
  if (length === 0 && sidCmp(id, lastId) < 1) return added;
  const cmpLast = sidCmp(id, lastId);
  if (cmpLast === 0) return added;
  if (cmpLast > 0) return ENTRIES_READ_INVALID;
  const cmpFirst = sidCmp(id, firstId);
  if (sidIsZero(maxDeleted) || sidCmp(maxDeleted, firstId) < 0) {
    if (cmpFirst < 0) return added - length;
    if (cmpFirst === 0) return added - length + 1;
  }
  return ENTRIES_READ_INVALID;
}

const lagId = sid();

/** Writes the group's lag (Redis's streamReplyWithCGLag): an integer or a null. */
function replyLag(c: ShardContext, e: number, g: number): void {
  const ks = c.ks;
  const arena = arenaOf(ks);
  loadStreamIds(ks, e);
  const added = S.streamEntriesAdded(ks, e);
  if (added === 0) {
    c.out.integer(0);
    return;
  }
  const read = G.groupEntriesRead(arena, g);
  G.groupLastId(arena, g, lagId);
  if (read !== ENTRIES_READ_INVALID && !hasTombstonesFrom(ks, e, lagId)) {
    c.out.integer(added - read);
    return;
  }
  const est = estimateEntriesRead(ks, e, lagId);
  if (est !== ENTRIES_READ_INVALID) c.out.integer(added - est);
  else c.out.nil();
}

function replyEntriesRead(c: ShardContext, g: number): void {
  const n = G.groupEntriesRead(arenaOf(c.ks), g);
  if (n === ENTRIES_READ_INVALID) c.out.nil();
  else c.out.integer(n);
}

// ---- lookups ------------------------------------------------------------------------------------

/** The stream in argument i for writing: its entry, 0 when absent, -1 after a WRONGTYPE reply. */
function writableStream(c: ShardContext, i: number): number {
  const e = writeKey(c, i);
  if (e !== 0 && c.ks.type(e) !== TYPE_STREAM) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

function readableStream(c: ShardContext, i: number): number {
  const e = readKey(c, i);
  if (e !== 0 && c.ks.type(e) !== TYPE_STREAM) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

/** The group named by argument i of stream e, or 0. */
function findGroup(c: ShardContext, e: number, i: number): number {
  const a = c.args;
  return G.groupFind(arenaOf(c.ks), S.streamGroups(c.ks, e), a.buf, a.off[i]!, a.len[i]!);
}

function argText(c: ShardContext, i: number): string {
  const a = c.args;
  return Buffer.from(a.buf.buffer, a.buf.byteOffset + a.off[i]!, a.len[i]!).toString('latin1');
}

/** The consumer named by argument i in g, created (with its event) when absent. */
function consumerOrCreate(c: ShardContext, g: number, i: number, keyArg: number): number {
  const a = c.args;
  const arena = arenaOf(c.ks);
  const found = G.consumerFind(arena, g, a.buf, a.off[i]!, a.len[i]!);
  if (found !== 0) return found;
  const made = G.consumerCreate(arena, g, a.buf, a.off[i]!, a.len[i]!, c.ks.now);
  c.notify('t', 'xgroup-createconsumer', a.buf, a.off[keyArg]!, a.len[keyArg]!);
  return made;
}

// ---- XGROUP -------------------------------------------------------------------------------------

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Prints this help.',
];

const groupId = sid();

function xgroupCommand(c: ShardContext): void {
  const a = c.args;
  const argc = a.argc;
  const isCreate = argIs(a, 1, 'CREATE');
  const isSetid = argIs(a, 1, 'SETID');
  if (argc === 2 && argIs(a, 1, 'HELP')) {
    c.out.array(XGROUP_HELP.length);
    for (const line of XGROUP_HELP) c.out.simple(line);
    return;
  }
  let mkstream = false;
  let entriesRead = ENTRIES_READ_INVALID;
  const sub = argText(c, 1);
  if (isCreate) {
    for (let i = 5; i < argc; ) {
      if (argIs(a, i, 'MKSTREAM')) {
        mkstream = true;
        i++;
      } else if (argIs(a, i, 'ENTRIESREAD') && i + 1 < argc) {
        const n = argI64(a, i + 1);
        if (Number.isNaN(n)) {
          c.out.error(ERR.notInteger);
          return;
        }
        if (n < 0 && n !== ENTRIES_READ_INVALID) {
          c.out.error(XGROUP_ERR.entriesRead);
          return;
        }
        entriesRead = n;
        i += 2;
      } else {
        c.out.error(XGROUP_ERR.subcommandSyntax(sub));
        return;
      }
    }
  } else if (isSetid) {
    if (argc === 7) {
      if (!argIs(a, 5, 'ENTRIESREAD')) {
        c.out.error(XGROUP_ERR.subcommandSyntax(sub));
        return;
      }
      const n = argI64(a, 6);
      if (Number.isNaN(n)) {
        c.out.error(ERR.notInteger);
        return;
      }
      if (n < 0 && n !== ENTRIES_READ_INVALID) {
        c.out.error(XGROUP_ERR.entriesRead);
        return;
      }
      entriesRead = n;
    } else if (argc !== 5) {
      c.out.error(XGROUP_ERR.subcommandSyntax(sub));
      return;
    }
  }
  let e = writableStream(c, 2);
  if (e < 0) return;
  const ks = c.ks;
  let g = 0;
  if (!mkstream) {
    if (e === 0) {
      c.out.error(XGROUP_ERR.keyMustExist);
      return;
    }
    g = findGroup(c, e, 3);
    if (g === 0 && (isSetid || argIs(a, 1, 'CREATECONSUMER') || argIs(a, 1, 'DELCONSUMER'))) {
      c.out.error(XGROUP_ERR.noGroup(argText(c, 3), argText(c, 2)));
      return;
    }
  } else if (e !== 0) {
    g = findGroup(c, e, 3);
  }
  if (isCreate && argc >= 5 && argc <= 8) {
    if (argIsChar(c, 4, 36)) {
      if (e !== 0) S.streamLastId(ks, e, groupId);
      else sidSet(groupId, 0, 0, 0, 0);
    } else if (!strictId(c, 4, groupId)) return;
    if (g !== 0) {
      c.out.error(XGROUP_ERR.busyGroup);
      return;
    }
    if (e === 0) {
      e = S.streamCreate(ks, a.buf, a.off[2]!, a.len[2]!);
    } else ks.bumpCas(e);
    const arena = arenaOf(ks);
    const d = G.groupAdd(arena, S.streamGroups(ks, e), a.buf, a.off[3]!, a.len[3]!, groupId, entriesRead);
    S.streamSetGroups(ks, e, d);
    c.out.ok();
    c.notify('t', 'xgroup-create', a.buf, a.off[2]!, a.len[2]!);
    return;
  }
  if (isSetid && (argc === 5 || argc === 7)) {
    if (argIsChar(c, 4, 36)) S.streamLastId(ks, e, groupId);
    else if (!looseId(c, 4, groupId, 0)) return;
    ks.bumpCas(e);
    const arena = arenaOf(ks);
    G.groupSetLastId(arena, g, groupId);
    G.groupSetEntriesRead(arena, g, entriesRead);
    c.out.ok();
    c.notify('t', 'xgroup-setid', a.buf, a.off[2]!, a.len[2]!);
    return;
  }
  if (argIs(a, 1, 'DESTROY') && argc === 4) {
    if (g === 0) {
      c.out.integer(0);
      return;
    }
    ks.bumpCas(e);
    S.streamSetGroups(ks, e, G.groupRemove(arenaOf(ks), S.streamGroups(ks, e), g));
    c.out.integer(1);
    c.notify('t', 'xgroup-destroy', a.buf, a.off[2]!, a.len[2]!);
    // Consumers blocked on the group get -NOGROUP (Redis's signalKeyAsReady here).
    ks.onWrite?.(e);
    return;
  }
  if (argIs(a, 1, 'CREATECONSUMER') && argc === 5) {
    const arena = arenaOf(ks);
    if (G.consumerFind(arena, g, a.buf, a.off[4]!, a.len[4]!) !== 0) {
      c.out.integer(0);
      return;
    }
    ks.bumpCas(e);
    G.consumerCreate(arenaOf(ks), g, a.buf, a.off[4]!, a.len[4]!, ks.now);
    c.out.integer(1);
    c.notify('t', 'xgroup-createconsumer', a.buf, a.off[2]!, a.len[2]!);
    return;
  }
  if (argIs(a, 1, 'DELCONSUMER') && argc === 5) {
    const arena = arenaOf(ks);
    const cons = G.consumerFind(arena, g, a.buf, a.off[4]!, a.len[4]!);
    if (cons === 0) {
      c.out.integer(0);
      return;
    }
    ks.bumpCas(e);
    const pending = G.consumerDelete(arenaOf(ks), g, cons);
    c.out.integer(pending);
    c.notify('t', 'xgroup-delconsumer', a.buf, a.off[2]!, a.len[2]!);
    return;
  }
  c.out.error(XGROUP_ERR.subcommandSyntax(sub));
}

// ---- XREADGROUP ---------------------------------------------------------------------------------

/** Ids collected by a counting pass (4 words each); grown as needed, shrunk after a large use. */
let idScratch = new Uint32Array(4 * 64);
const ID_SCRATCH_KEEP = 4 * 65536;

function ensureIds(n: number): void {
  if (idScratch.length < n * 4) {
    const next = new Uint32Array(Math.max(idScratch.length * 2, n * 4));
    next.set(idScratch);
    idScratch = next;
  }
}

function releaseIds(): void {
  if (idScratch.length > ID_SCRATCH_KEEP) idScratch = new Uint32Array(4 * 64);
}

const oneId = sid();
const startId = sid();
const endId = sid();
const groupLast = sid();

/** Parsed XREADGROUP: the index of the first key after STREAMS, the number of streams, and the
 * options; -1 in streamsAt after an error reply. */
interface ReadArgs {
  streamsAt: number;
  streams: number;
  count: number;
  noack: boolean;
  groupAt: number;
  blockMs: number;
}
export const readArgs: ReadArgs = { streamsAt: 0, streams: 0, count: 0, noack: false, groupAt: 0, blockMs: -1 };

/** Parses XREADGROUP's options as Redis's xreadCommand does (same checks, same order). */
/** The error text, or null with the options in readArgs. Runs on the main thread too (the
 * cross-shard path), so it takes only the arguments. */
export function parseReadGroup(a: ArgList): string | null {
  const r = readArgs;
  r.streamsAt = 0;
  r.streams = 0;
  r.count = 0;
  r.noack = false;
  r.groupAt = 0;
  r.blockMs = -1;
  for (let i = 1; i < a.argc; i++) {
    const more = a.argc - i - 1;
    if (argIs(a, i, 'BLOCK') && more > 0) {
      i++;
      const t = argI64(a, i);
      if (Number.isNaN(t)) {
        return XGROUP_ERR.timeoutNotInteger;
      }
      if (t < 0) {
        return XGROUP_ERR.timeoutNegative;
      }
      r.blockMs = t;
    } else if (argIs(a, i, 'COUNT') && more > 0) {
      i++;
      const n = argI64(a, i);
      if (Number.isNaN(n)) {
        return ERR.notInteger;
      }
      r.count = n < 0 ? 0 : n;
    } else if (argIs(a, i, 'STREAMS') && more > 0) {
      r.streamsAt = i + 1;
      const n = a.argc - r.streamsAt;
      if (n % 2 !== 0) {
        return XGROUP_ERR.unbalanced;
      }
      r.streams = n / 2;
      break;
    } else if (argIs(a, i, 'GROUP') && more >= 2) {
      r.groupAt = i + 1;
      i += 2;
    } else if (argIs(a, i, 'NOACK')) {
      r.noack = true;
    } else {
      return ERR.syntax;
    }
  }
  if (r.streamsAt === 0) {
    return ERR.syntax;
  }
  if (r.groupAt === 0) {
    return XGROUP_ERR.missingGroup;
  }
  return null;
}

/** Per stream of the command: its entry, its group and what to serve (0 nothing, 1 new entries,
 * 2 history). Bounded by the argument count. */
let readEntries = new Int32Array(16);
let readGroups = new Int32Array(16);
let readModes = new Uint8Array(16);

/** XREADGROUP without blocking: replies with what is there, or the null array (true when it
 * served something). The xblock work calls this, then blocks when it returns false and BLOCK was
 * given. */
export function xreadgroupServe(c: ShardContext, r: ReadArgs, checkOnly: boolean): boolean {
  const a = c.args;
  const ks = c.ks;
  const n = r.streams;
  if (readEntries.length < n) {
    readEntries = new Int32Array(n);
    readGroups = new Int32Array(n);
    readModes = new Uint8Array(n);
  }
  // Check every key, group and id before anything is served (Redis's order: per stream, its type,
  // its group, then its id).
  for (let k = 0; k < n; k++) {
    const ki = r.streamsAt + k;
    const ii = ki + n;
    const e = readableStream(c, ki);
    if (e < 0) return !checkOnly;
    const g = e === 0 ? 0 : findGroup(c, e, r.groupAt);
    if (g === 0) {
      c.out.error(XGROUP_ERR.noGroupRead(argText(c, ki), argText(c, r.groupAt)));
      return !checkOnly;
    }
    readEntries[k] = e;
    readGroups[k] = g;
    if (argIsChar(c, ii, 36)) {
      c.out.error(XGROUP_ERR.dollarInGroup);
      return !checkOnly;
    }
    if (argIsChar(c, ii, 62)) readModes[k] = 1;
    else {
      if (!strictId(c, ii, oneId)) return !checkOnly;
      readModes[k] = 2;
    }
  }
  if (checkOnly) return true;
  // Which streams are served now.
  let served = 0;
  const arena = arenaOf(ks);
  for (let k = 0; k < n; k++) {
    const e = readEntries[k]!;
    if (readModes[k] === 1) {
      G.groupLastId(arena, readGroups[k]!, groupLast);
      if (!lastValidId(ks, e, lastId) || sidCmp(lastId, groupLast) <= 0) readModes[k] = 0;
    } else if (S.streamLength(ks, e) === 0) readModes[k] = 0;
    if (readModes[k] !== 0) served++;
  }
  if (served === 0) {
    c.out.nilArray();
    return false;
  }
  // RESP3: a map of stream -> entries; RESP2: an array of [stream, entries] pairs.
  if (c.out.proto === 3) c.out.map(served);
  else c.out.array(served);
  for (let k = 0; k < n; k++) {
    if (readModes[k] === 0) continue;
    const ki = r.streamsAt + k;
    const e = readEntries[k]!;
    const g = readGroups[k]!;
    if (c.out.proto === 2) c.out.array(2);
    c.out.bulk(a.buf, a.off[ki]!, a.len[ki]!);
    ks.bumpCas(e);
    const cons = consumerOrCreate(c, g, r.groupAt + 1, ki);
    G.consumerSetSeen(arenaOf(ks), cons, ks.now);
    if (readModes[k] === 1) serveNew(c, e, g, cons, r.count, r.noack);
    else {
      strictId(c, ki + n, startId, false);
      serveHistory(c, e, g, cons, r.count);
    }
  }
  return true;
}

/** Delivers the entries after the group's last id (at most count; 0 = all). */
function serveNew(c: ShardContext, e: number, g: number, cons: number, count: number, noack: boolean): void {
  const ks = c.ks;
  let arena = arenaOf(ks);
  G.groupLastId(arena, g, startId);
  sidIncr(startId);
  let n = 0;
  S.streamIter(ks, e, startId, SID_MAX, false);
  while (S.streamNext()) {
    ensureIds(n + 1);
    idScratch.set(S.itId, n * 4);
    n++;
    if (count > 0 && n >= count) break;
  }
  c.out.array(n);
  const now = ks.now;
  for (let k = 0; k < n; k++) {
    oneId.set(idScratch.subarray(k * 4, k * 4 + 4));
    const found = S.streamHas(ks, e, oneId);
    if (found) S.streamWriteEntry(c.out);
    else {
      // Cannot happen: the ids were just read; an entry's reply shape stays whole regardless.
      c.out.array(2);
      replyId(c, oneId);
      c.out.nilArray();
    }
    arena = arenaOf(ks);
    G.groupLastId(arena, g, groupLast);
    if (sidCmp(oneId, groupLast) > 0) {
      loadStreamIds(ks, e);
      const read = G.groupEntriesRead(arena, g);
      if (read !== ENTRIES_READ_INVALID && !hasTombstonesFrom(ks, e, oneId)) G.groupSetEntriesRead(arena, g, read + 1);
      else if (S.streamEntriesAdded(ks, e) !== 0) G.groupSetEntriesRead(arena, g, estimateEntriesRead(ks, e, oneId));
      G.groupSetLastId(arena, g, oneId);
    }
    if (!noack) {
      const i = G.pelFind(arena, g, oneId);
      if (i >= 0) {
        // Already pending (the group's id was set back): the entry moves to this consumer.
        G.pelSetConsumer(arena, g, i, cons);
        G.pelSetTime(arena, g, i, now);
        G.pelSetDeliveries(arena, g, i, 1);
      } else G.pelInsert(arena, g, i, oneId, now, 1, cons);
      G.consumerSetActive(arenaOf(ks), cons, now);
    }
  }
  releaseIds();
}

/** Delivers the consumer's own pending entries with ids >= startId (at most count; 0 = all). */
function serveHistory(c: ShardContext, e: number, g: number, cons: number, count: number): void {
  const ks = c.ks;
  sidIncr(startId);
  const arena = arenaOf(ks);
  const total = G.consumerPelCount(arena, cons);
  let from = G.consumerPelFind(arena, cons, startId);
  if (from < 0) from = -from - 1;
  let n = total - from;
  if (count > 0 && n > count) n = count;
  c.out.array(n);
  const now = ks.now;
  for (let k = 0; k < n; k++) {
    G.consumerPelIdAt(arenaOf(ks), cons, from + k, oneId);
    if (S.streamHas(ks, e, oneId)) {
      S.streamWriteEntry(c.out);
      const ar = arenaOf(ks);
      const i = G.pelFind(ar, g, oneId);
      G.pelSetTime(ar, g, i, now);
      G.pelSetDeliveries(ar, g, i, G.pelDeliveriesAt(ar, g, i) + 1);
    } else {
      c.out.array(2);
      replyId(c, oneId);
      c.out.nilArray();
    }
  }
}

function xreadgroupCommand(c: ShardContext): void {
  const err = parseReadGroup(c.args);
  if (err !== null) return c.out.error(err);
  xreadgroupServe(c, readArgs, false);
}

/** __xreadgroupcheck, same arguments as XREADGROUP: only the checks of every key, group and id
 * (+OK or the first error), for the cross-shard path, so that nothing is served when one key
 * fails, as in Redis. */
function xreadgroupCheckCommand(c: ShardContext): void {
  const err = parseReadGroup(c.args);
  if (err !== null) return c.out.error(err);
  if (xreadgroupServe(c, readArgs, true)) c.out.ok();
}

/** XREADGROUP over keys of several shards: every key checked first (in key order, so the first
 * error is Redis's), then each served on its shard, all under the shards' lock, the replies merged
 * as one (streams with nothing to serve left out; nothing at all: the null array). */
export async function xreadgroupCrossShard(m: MainCall): Promise<void> {
  const { server, args: a } = m;
  const invalid = parseReadGroup(a);
  if (invalid !== null) return m.out.error(invalid);
  const r = readArgs;
  const head: Buffer[] = [Buffer.from('GROUP'), argCopy(a, r.groupAt), argCopy(a, r.groupAt + 1), Buffer.from('COUNT'), Buffer.from(String(r.count))];
  if (r.noack) head.push(Buffer.from('NOACK'));
  const keys: Buffer[] = [];
  const ids: Buffer[] = [];
  for (let k = 0; k < r.streams; k++) {
    keys.push(argCopy(a, r.streamsAt + k));
    ids.push(argCopy(a, r.streamsAt + r.streams + k));
  }
  const shards = [...new Set(keys.map((k) => server.shardOfKey(k, 0, k.length)))];
  const proto = m.out.proto;
  await server.withShardsLocked(shards, async (call) => {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const res = await call(server.shardOfKey(key, 0, key.length), ['__xreadgroupcheck', ...head, 'STREAMS', key, ids[k]!], proto);
      if (res[0] === 45) return m.out.raw(res, 0, res.length);
    }
    const parts: Buffer[] = [];
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const res = await call(server.shardOfKey(key, 0, key.length), ['xreadgroup', ...head, 'STREAMS', key, ids[k]!], proto);
      if (res[0] === 45) return m.out.raw(res, 0, res.length);
      if ((res[0] === 42 && res[1] === 45) || res[0] === 95) continue;
      // One [key, entries] (RESP2) or key => entries (RESP3): drop the "*1" / "%1" header.
      parts.push(res.subarray(res.indexOf(10) + 1));
    }
    if (parts.length === 0) return m.out.nilArray();
    if (proto === 3) m.out.map(parts.length);
    else m.out.array(parts.length);
    for (const p of parts) m.out.raw(p, 0, p.length);
  });
}

// ---- XACK ---------------------------------------------------------------------------------------

function xackCommand(c: ShardContext): void {
  const a = c.args;
  const e = readableStream(c, 1);
  if (e < 0) return;
  const g = e === 0 ? 0 : findGroup(c, e, 2);
  if (g === 0) {
    c.out.integer(0);
    return;
  }
  for (let j = 3; j < a.argc; j++) if (!strictId(c, j, oneId)) return;
  const ks = c.ks;
  let acked = 0;
  for (let j = 3; j < a.argc; j++) {
    strictId(c, j, oneId, false);
    const arena = arenaOf(ks);
    const i = G.pelFind(arena, g, oneId);
    if (i < 0) continue;
    if (acked === 0) ks.bumpCas(e);
    G.pelRemove(arenaOf(ks), g, i);
    acked++;
  }
  c.out.integer(acked);
}

// ---- XPENDING -----------------------------------------------------------------------------------

const pendId = sid();

function xpendingCommand(c: ShardContext): void {
  const a = c.args;
  const argc = a.argc;
  const summary = argc === 3;
  if (argc !== 3 && (argc < 6 || argc > 9)) {
    c.out.error(ERR.syntax);
    return;
  }
  let count = 0;
  let minIdle = 0;
  let consumerAt = 0;
  if (argc >= 6) {
    let s = 3;
    if (argIs(a, 3, 'IDLE')) {
      minIdle = argI64(a, 4);
      if (Number.isNaN(minIdle)) {
        c.out.error(ERR.notInteger);
        return;
      }
      if (argc < 8) {
        c.out.error(ERR.syntax);
        return;
      }
      s += 2;
    }
    count = argI64(a, s + 2);
    if (Number.isNaN(count)) {
      c.out.error(ERR.notInteger);
      return;
    }
    if (count < 0) count = 0;
    if (!intervalId(c, s, startId, 0)) return;
    if (exclusive && !sidIncr(startId)) {
      c.out.error(XGROUP_ERR.invalidStart);
      return;
    }
    if (!intervalId(c, s + 1, endId, 1)) return;
    if (exclusive && !sidDecr(endId)) {
      c.out.error(XGROUP_ERR.invalidEnd);
      return;
    }
    if (s + 3 < argc) consumerAt = s + 3;
  }
  const e = readableStream(c, 1);
  if (e < 0) return;
  const g = e === 0 ? 0 : findGroup(c, e, 2);
  if (g === 0) {
    c.out.error(XGROUP_ERR.noGroupKey(argText(c, 1), argText(c, 2)));
    return;
  }
  const arena = arenaOf(c.ks);
  const out = c.out;
  if (summary) {
    const np = G.pelCount(arena, g);
    out.array(4);
    out.integer(np);
    if (np === 0) {
      out.nil();
      out.nil();
      out.nilArray();
      return;
    }
    G.pelIdAt(arena, g, 0, pendId);
    replyId(c, pendId);
    G.pelIdAt(arena, g, np - 1, pendId);
    replyId(c, pendId);
    const nc = G.consumerCount(arena, g);
    let with_ = 0;
    for (let k = 0; k < nc; k++) if (G.consumerPelCount(arena, G.consumerAt(arena, g, k)) > 0) with_++;
    out.array(with_);
    for (let k = 0; k < nc; k++) {
      const cons = G.consumerAt(arena, g, k);
      const p = G.consumerPelCount(arena, cons);
      if (p === 0) continue;
      out.array(2);
      out.bulk(arena.u8, G.consumerNameOff(cons), G.consumerNameLen(arena, cons));
      out.bulkString(String(p));
    }
    return;
  }
  let cons = 0;
  if (consumerAt > 0) {
    cons = G.consumerFind(arena, g, a.buf, a.off[consumerAt]!, a.len[consumerAt]!);
    if (cons === 0) {
      out.array(0);
      return;
    }
  }
  const now = c.ks.now;
  // Counting pass: indexes into the group PEL of the records to reply with.
  let n = 0;
  const total = cons !== 0 ? G.consumerPelCount(arena, cons) : G.pelCount(arena, g);
  let i = cons !== 0 ? G.consumerPelFind(arena, cons, startId) : G.pelFind(arena, g, startId);
  if (i < 0) i = -i - 1;
  for (; i < total && n < count; i++) {
    let gi = i;
    if (cons !== 0) {
      G.consumerPelIdAt(arena, cons, i, pendId);
      gi = G.pelFind(arena, g, pendId);
    } else G.pelIdAt(arena, g, i, pendId);
    if (sidCmp(pendId, endId) > 0) break;
    if (minIdle !== 0 && now - G.pelTimeAt(arena, g, gi) < minIdle) continue;
    ensureIds(n + 1);
    idScratch[n * 4] = gi;
    n++;
  }
  out.array(n);
  for (let k = 0; k < n; k++) {
    const gi = idScratch[k * 4]!;
    G.pelIdAt(arena, g, gi, pendId);
    out.array(4);
    replyId(c, pendId);
    const owner = G.pelConsumerAt(arena, g, gi);
    out.bulk(arena.u8, G.consumerNameOff(owner), G.consumerNameLen(arena, owner));
    const idle = now - G.pelTimeAt(arena, g, gi);
    out.integer(idle < 0 ? 0 : idle);
    out.integer(G.pelDeliveriesAt(arena, g, gi));
  }
  releaseIds();
}

// ---- XCLAIM -------------------------------------------------------------------------------------

/** Whether stream e holds id (and positions the stream's reader on it). */
function entryExists(c: ShardContext, e: number, id: Readonly<Sid>): boolean {
  return S.streamHas(c.ks, e, id);
}

const claimLast = sid();

function xclaimCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  const e = readableStream(c, 1);
  if (e < 0) return;
  const g = e === 0 ? 0 : findGroup(c, e, 2);
  if (g === 0) {
    c.out.error(XGROUP_ERR.noGroupKey(argText(c, 1), argText(c, 2)));
    return;
  }
  let minIdle = argI64(a, 4);
  if (Number.isNaN(minIdle)) {
    c.out.error(XGROUP_ERR.claimMinIdle);
    return;
  }
  if (minIdle < 0) minIdle = 0;
  let j = 5;
  for (; j < a.argc; j++) if (!strictId(c, j, oneId, false)) break;
  const lastIdArg = j - 1;
  const now = ks.now;
  let force = false;
  let justid = false;
  let retry = -1;
  let delivery = -1;
  sidSet(claimLast, 0, 0, 0, 0);
  for (; j < a.argc; j++) {
    const more = a.argc - 1 - j;
    if (argIs(a, j, 'FORCE')) force = true;
    else if (argIs(a, j, 'JUSTID')) justid = true;
    else if ((argIs(a, j, 'IDLE') || argIs(a, j, 'TIME') || argIs(a, j, 'RETRYCOUNT')) && more > 0) {
      const name = argText(c, j).toUpperCase();
      const v = argI64(a, ++j);
      if (Number.isNaN(v)) {
        c.out.error(XGROUP_ERR.claimOption(name));
        return;
      }
      if (name === 'IDLE') delivery = now - v;
      else if (name === 'TIME') delivery = v;
      else retry = v;
    } else if (argIs(a, j, 'LASTID') && more > 0) {
      j++;
      if (!strictId(c, j, claimLast)) return;
    } else {
      c.out.error(XGROUP_ERR.claimUnknown(argText(c, j)));
      return;
    }
  }
  // delivery === -1 means "not given" as in Redis (an IDLE giving exactly -1 counts as not given).
  if (delivery !== -1) {
    if (delivery < 0 || delivery > now) delivery = now;
  } else delivery = now;
  let arena = arenaOf(ks);
  let changed = false;
  const change = (): void => {
    if (!changed) {
      ks.bumpCas(e);
      changed = true;
    }
  };
  G.groupLastId(arena, g, groupLast);
  if (sidCmp(claimLast, groupLast) > 0) {
    change();
    G.groupSetLastId(arenaOf(ks), g, claimLast);
  }
  // Counting pass: which ids are claimed (their group-PEL records are then updated in the reply
  // pass). Deleted entries leave the PEL here, as Redis does.
  let n = 0;
  let cons = 0;
  for (let k = 5; k <= lastIdArg; k++) {
    strictId(c, k, oneId, false);
    arena = arenaOf(ks);
    let i = G.pelFind(arena, g, oneId);
    if (!entryExists(c, e, oneId)) {
      if (i >= 0) {
        change();
        G.pelRemove(arenaOf(ks), g, i);
      }
      continue;
    }
    let forced = false;
    if (force && i < 0) forced = true;
    if (i < 0 && !forced) continue;
    if (!forced && minIdle !== 0 && now - G.pelTimeAt(arena, g, i) < minIdle) continue;
    change();
    if (cons === 0) cons = consumerOrCreate(c, g, 3, 1);
    arena = arenaOf(ks);
    if (forced) {
      // Redis creates the NACK (delivery count 1, no consumer), then claims it like any other.
      G.pelInsert(arena, g, i, oneId, delivery, 1, cons);
      i = -i - 1;
    } else G.pelSetConsumer(arena, g, i, cons);
    arena = arenaOf(ks);
    G.pelSetTime(arena, g, i, delivery);
    if (retry >= 0) G.pelSetDeliveries(arena, g, i, retry);
    else if (!justid) G.pelSetDeliveries(arena, g, i, G.pelDeliveriesAt(arena, g, i) + 1);
    ensureIds(n + 1);
    idScratch.set(oneId, n * 4);
    n++;
  }
  if (cons !== 0) G.consumerSetSeen(arenaOf(ks), cons, now);
  c.out.array(n);
  for (let k = 0; k < n; k++) {
    oneId.set(idScratch.subarray(k * 4, k * 4 + 4));
    if (justid) replyId(c, oneId);
    else if (entryExists(c, e, oneId)) S.streamWriteEntry(c.out);
    else c.out.nil();
  }
  releaseIds();
}

// ---- XAUTOCLAIM ---------------------------------------------------------------------------------

/** LONG_MAX / 16, Redis's bound on XAUTOCLAIM's COUNT. */
const AUTOCLAIM_COUNT_MAX = 576460752303423487n;
let deletedScratch = new Uint32Array(4 * 16);

function xautoclaimCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  let minIdle = argI64(a, 4);
  if (Number.isNaN(minIdle)) {
    c.out.error(XGROUP_ERR.autoclaimMinIdle);
    return;
  }
  if (minIdle < 0) minIdle = 0;
  if (!intervalId(c, 5, startId, 0)) return;
  if (exclusive && !sidIncr(startId)) {
    c.out.error(XGROUP_ERR.invalidStart);
    return;
  }
  let count = 100;
  let justid = false;
  for (let j = 6; j < a.argc; j++) {
    const more = a.argc - 1 - j;
    if (argIs(a, j, 'COUNT') && more > 0) {
      const v = argI64(a, j + 1);
      // Doubles cannot tell LONG_MAX / 16 from one more: compare the big ones exactly.
      const big = Number.isSafeInteger(v) ? null : argBigInt(a, j + 1);
      if (Number.isNaN(v) || v < 1 || (big !== null && big > AUTOCLAIM_COUNT_MAX)) {
        c.out.error(XGROUP_ERR.autoclaimCount);
        return;
      }
      count = v;
      j++;
    } else if (argIs(a, j, 'JUSTID')) justid = true;
    else {
      c.out.error(ERR.syntax);
      return;
    }
  }
  const e = readableStream(c, 1);
  if (e < 0) return;
  const g = e === 0 ? 0 : findGroup(c, e, 2);
  if (g === 0) {
    c.out.error(XGROUP_ERR.noGroupKey(argText(c, 1), argText(c, 2)));
    return;
  }
  let attempts = count * 10;
  const now = ks.now;
  let arena = arenaOf(ks);
  let i = G.pelFind(arena, g, startId);
  if (i < 0) i = -i - 1;
  let n = 0;
  let deleted = 0;
  let cons = 0;
  let changed = false;
  while (attempts-- > 0 && count > 0 && i < G.pelCount(arenaOf(ks), g)) {
    arena = arenaOf(ks);
    G.pelIdAt(arena, g, i, oneId);
    if (!entryExists(c, e, oneId)) {
      if (!changed) {
        ks.bumpCas(e);
        changed = true;
      }
      G.pelRemove(arenaOf(ks), g, i);
      if (deletedScratch.length < (deleted + 1) * 4) {
        const next = new Uint32Array(deletedScratch.length * 2);
        next.set(deletedScratch);
        deletedScratch = next;
      }
      deletedScratch.set(oneId, deleted * 4);
      deleted++;
      count--;
      continue;
    }
    if (minIdle !== 0 && now - G.pelTimeAt(arena, g, i) < minIdle) {
      i++;
      continue;
    }
    if (!changed) {
      ks.bumpCas(e);
      changed = true;
    }
    if (cons === 0) cons = consumerOrCreate(c, g, 3, 1);
    arena = arenaOf(ks);
    G.pelSetConsumer(arena, g, i, cons);
    arena = arenaOf(ks);
    G.pelSetTime(arena, g, i, now);
    if (!justid) G.pelSetDeliveries(arena, g, i, G.pelDeliveriesAt(arena, g, i) + 1);
    ensureIds(n + 1);
    idScratch.set(oneId, n * 4);
    n++;
    count--;
    i++;
  }
  if (cons !== 0) G.consumerSetSeen(arenaOf(ks), cons, now);
  arena = arenaOf(ks);
  if (i < G.pelCount(arena, g)) G.pelIdAt(arena, g, i, endId);
  else sidSet(endId, 0, 0, 0, 0);
  const out = c.out;
  out.array(3);
  replyId(c, endId);
  out.array(n);
  for (let k = 0; k < n; k++) {
    oneId.set(idScratch.subarray(k * 4, k * 4 + 4));
    if (justid) replyId(c, oneId);
    else {
      S.streamHas(ks, e, oneId);
      S.streamWriteEntry(out);
    }
  }
  out.array(deleted);
  for (let k = 0; k < deleted; k++) {
    oneId.set(deletedScratch.subarray(k * 4, k * 4 + 4));
    replyId(c, oneId);
  }
  releaseIds();
  if (deletedScratch.length > ID_SCRATCH_KEEP) deletedScratch = new Uint32Array(4 * 16);
}

// ---- XINFO parts (called by the stream family's XINFO) ------------------------------------------

/** XINFO GROUPS key: the groups of stream e. */
export function xinfoGroups(c: ShardContext, e: number): void {
  const ks = c.ks;
  const d = S.streamGroups(ks, e);
  const arena = arenaOf(ks);
  const ng = G.groupCount(arena, d);
  const out = c.out;
  out.array(ng);
  for (let i = 0; i < ng; i++) {
    const ar = arenaOf(ks);
    const g = G.groupAt(ar, d, i);
    out.map(6);
    out.bulkString('name');
    out.bulk(ar.u8, G.groupNameOff(g), G.groupNameLen(ar, g));
    out.bulkString('consumers');
    out.integer(G.consumerCount(ar, g));
    out.bulkString('pending');
    out.integer(G.pelCount(ar, g));
    out.bulkString('last-delivered-id');
    G.groupLastId(ar, g, groupLast);
    replyId(c, groupLast);
    out.bulkString('entries-read');
    replyEntriesRead(c, g);
    out.bulkString('lag');
    replyLag(c, e, g);
  }
}

/** XINFO CONSUMERS key group (the group in argument gi): its consumers, or NOGROUP. */
export function xinfoConsumers(c: ShardContext, e: number, ki: number, gi: number): void {
  const g = findGroup(c, e, gi);
  if (g === 0) {
    c.out.error(XGROUP_ERR.noGroup(argText(c, gi), argText(c, ki)));
    return;
  }
  const arena = arenaOf(c.ks);
  const nc = G.consumerCount(arena, g);
  const out = c.out;
  const now = Date.now();
  out.array(nc);
  for (let k = 0; k < nc; k++) {
    const cons = G.consumerAt(arena, g, k);
    out.map(3);
    out.bulkString('name');
    out.bulk(arena.u8, G.consumerNameOff(cons), G.consumerNameLen(arena, cons));
    out.bulkString('pending');
    out.integer(G.consumerPelCount(arena, cons));
    out.bulkString('idle');
    const idle = now - G.consumerSeen(arena, cons);
    out.integer(idle < 0 ? 0 : idle);
  }
}

/** XINFO STREAM key FULL's "groups" value (the caller writes the "groups" name): count limits
 * each PEL listed (0 = all). */
export function xinfoFullGroups(c: ShardContext, e: number, count: number): void {
  const ks = c.ks;
  const d = S.streamGroups(ks, e);
  const arena = arenaOf(ks);
  const ng = G.groupCount(arena, d);
  const out = c.out;
  out.array(ng);
  for (let i = 0; i < ng; i++) {
    const g = G.groupAt(arena, d, i);
    out.map(7);
    out.bulkString('name');
    out.bulk(arena.u8, G.groupNameOff(g), G.groupNameLen(arena, g));
    out.bulkString('last-delivered-id');
    G.groupLastId(arena, g, groupLast);
    replyId(c, groupLast);
    out.bulkString('entries-read');
    replyEntriesRead(c, g);
    out.bulkString('lag');
    replyLag(c, e, g);
    const np = G.pelCount(arena, g);
    out.bulkString('pel-count');
    out.integer(np);
    out.bulkString('pending');
    const shown = count > 0 && np > count ? count : np;
    out.array(shown);
    for (let k = 0; k < shown; k++) {
      out.array(4);
      G.pelIdAt(arena, g, k, pendId);
      replyId(c, pendId);
      const owner = G.pelConsumerAt(arena, g, k);
      out.bulk(arena.u8, G.consumerNameOff(owner), G.consumerNameLen(arena, owner));
      out.integer(G.pelTimeAt(arena, g, k));
      out.integer(G.pelDeliveriesAt(arena, g, k));
    }
    const nc = G.consumerCount(arena, g);
    out.bulkString('consumers');
    out.array(nc);
    for (let k = 0; k < nc; k++) {
      const cons = G.consumerAt(arena, g, k);
      out.map(4);
      out.bulkString('name');
      out.bulk(arena.u8, G.consumerNameOff(cons), G.consumerNameLen(arena, cons));
      out.bulkString('seen-time');
      out.integer(G.consumerSeen(arena, cons));
      const cp = G.consumerPelCount(arena, cons);
      out.bulkString('pel-count');
      out.integer(cp);
      out.bulkString('pending');
      const cshown = count > 0 && cp > count ? count : cp;
      out.array(cshown);
      for (let q = 0; q < cshown; q++) {
        G.consumerPelIdAt(arena, cons, q, pendId);
        const gi = G.pelFind(arena, g, pendId);
        out.array(3);
        replyId(c, pendId);
        out.integer(G.pelTimeAt(arena, g, gi));
        out.integer(G.pelDeliveriesAt(arena, g, gi));
      }
    }
  }
}

/** XINFO STREAM's "groups" count. */
export function streamGroupCount(ks: Keyspace, e: number): number {
  return G.groupCount(arenaOf(ks), S.streamGroups(ks, e));
}

// ---- the table ----------------------------------------------------------------------------------

const X = 'stream' as const;
const KEY1 = { first: 1, last: 1, step: 1 } as const;
const KEY2 = { first: 2, last: 2, step: 1 } as const;
/** The first half of the arguments after STREAMS (key-range.ts). */
const READ_KEYS = { first: 0, last: 0, step: 0, afterStreams: true } as const;

export const STREAM_GROUP_COMMANDS = [
  {
    name: 'xgroup', arity: -2, flags: [], keys: KEY2, group: X, since: '5.0.0', summary: 'A container for consumer groups commands.', shard: xgroupCommand,
    subcommands: [
      { name: 'create', arity: -5, flags: ['write', 'denyoom'], keys: KEY2, summary: 'Creates a consumer group.' },
      { name: 'createconsumer', arity: 5, flags: ['write', 'denyoom'], keys: KEY2, summary: 'Creates a consumer in a consumer group.' },
      { name: 'delconsumer', arity: 5, flags: ['write'], keys: KEY2, summary: 'Deletes a consumer from a consumer group.' },
      { name: 'destroy', arity: 4, flags: ['write'], keys: KEY2, summary: 'Destroys a consumer group.' },
      { name: 'setid', arity: -5, flags: ['write'], keys: KEY2, summary: 'Sets the last-delivered ID of a consumer group.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
    ],
  },
  { name: 'xreadgroup', arity: -7, flags: ['write', 'blocking'], keys: READ_KEYS, group: X, since: '5.0.0', summary: 'Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.', shard: xreadgroupCommand, crossShard: xreadgroupCrossShard },
  { name: '__xreadgroupcheck', arity: -7, flags: ['readonly'], keys: READ_KEYS, group: 'internal', since: '0.0.0', summary: 'XREADGROUP\'s checks in a key\'s shard', shard: xreadgroupCheckCommand, hidden: true },
  { name: 'xack', arity: -4, flags: ['write', 'fast'], keys: KEY1, group: X, since: '5.0.0', summary: 'Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.', shard: xackCommand },
  { name: 'xpending', arity: -3, flags: ['readonly'], keys: KEY1, group: X, since: '5.0.0', summary: 'Returns the information and entries from a stream consumer group\'s pending entries list.', shard: xpendingCommand },
  { name: 'xclaim', arity: -6, flags: ['write', 'fast'], keys: KEY1, group: X, since: '5.0.0', summary: 'Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.', shard: xclaimCommand },
  { name: 'xautoclaim', arity: -6, flags: ['write', 'fast'], keys: KEY1, group: X, since: '6.2.0', summary: 'Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.', shard: xautoclaimCommand },
] as const satisfies readonly CommandSpec[];
