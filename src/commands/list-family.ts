// List commands (Redis t_list.c, the non-blocking ones), over src/keyspace/list.ts for every
// element access whatever the encoding (listpack, quicklist). A list emptied by a command is
// deleted here, as Redis does; the value module never deletes a key. LMOVE/RPOPLPUSH with keys on
// two shards and LMPOP with keys on several run a coordinator that holds those shards' lock, so no
// other client sees an element in both lists, in neither, or a key popped out of order.

import type { ArgList, CommandSpec, CrossShardSteps, MainCall, ServerApi, ShardContext, ShardStep } from './types.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { crossShardHandler } from './cross-steps.js';
import { argI64, argIs, argCopy } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import { readKey, writeKey, keyEvent } from './shard-helpers.js';
import { TYPE_LIST, type Keyspace } from '../keyspace/keyspace.js';
import * as L from '../keyspace/list.js';

// --- shared pieces ---------------------------------------------------------------------------------

/** The list at argument i (write: looked up as Redis's lookupKeyWrite, no hit/miss counted): its
 * entry, 0 when absent, or -1 after replying WRONGTYPE. */
function listAt(c: ShardContext, i: number, write: boolean): number {
  const e = write ? writeKey(c, i) : readKey(c, i);
  if (e !== 0 && c.ks.type(e) !== TYPE_LIST) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

/** LEFT or RIGHT at argument i: HEAD, TAIL, or -1 when neither (the caller replies the syntax error). */
function sideAt(a: ArgList, i: number): number {
  if (argIs(a, i, 'LEFT')) return L.HEAD;
  if (argIs(a, i, 'RIGHT')) return L.TAIL;
  return -1;
}

/** A popped element kept across the next call into the list module (a move pushes it elsewhere). */
let moved = Buffer.allocUnsafe(256);
let movedLen = 0;

function keepHit(): void {
  if (L.hitLen > moved.length) moved = Buffer.allocUnsafe(Math.max(L.hitLen, moved.length * 2));
  moved.set(L.hitBuf.subarray(L.hitOff, L.hitOff + L.hitLen), 0);
  movedLen = L.hitLen;
}

/** Deletes e when the command emptied it; true when it did. */
function deleteIfEmpty(ks: Keyspace, e: number): boolean {
  if (L.listLength(ks, e) !== 0) return false;
  ks.deleteEntry(e);
  return true;
}

/** A pop's events on the key in argument i: lpop/rpop, then 'del' when it was emptied. */
function popEvents(c: ShardContext, i: number, where: 0 | 1, emptied: boolean): void {
  keyEvent(c, 'l', where === L.HEAD ? 'lpop' : 'rpop', i);
  if (emptied) keyEvent(c, 'g', 'del', i);
}

function sameArg(a: ArgList, i: number, j: number): boolean {
  const n = a.len[i]!;
  if (n !== a.len[j]) return false;
  for (let k = 0; k < n; k++) if (a.buf[a.off[i]! + k] !== a.buf[a.off[j]! + k]) return false;
  return true;
}

// The visitor of LRANGE and the pops' replies: module-level, so a range costs no closure.
let rangeOut: ShardContext['out'] | null = null;
function replyElement(buf: Uint8Array, off: number, len: number): boolean {
  rangeOut!.bulk(buf, off, len);
  return true;
}

/** Pops up to n elements from `where` of e (the key in argument ki), replying them as an array
 * (the first popped first), and deletes the key when emptied. */
function popInto(c: ShardContext, e: number, where: 0 | 1, n: number, ki: number): void {
  const ks = c.ks;
  const k = Math.min(n, L.listLength(ks, e));
  c.out.array(k);
  for (let i = 0; i < k; i++) {
    e = L.listPop(ks, e, where);
    c.out.bulk(L.hitBuf, L.hitOff, L.hitLen);
  }
  popEvents(c, ki, where, deleteIfEmpty(ks, e));
}

// --- pushes ------------------------------------------------------------------------------------

/** LPUSH, RPUSH (create) and LPUSHX, RPUSHX (only onto an existing list): the new length. */
function pushCommand(c: ShardContext, where: 0 | 1, create: boolean): void {
  const a = c.args;
  const ks = c.ks;
  let e = listAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) {
    if (!create) {
      c.out.integer(0);
      return;
    }
    e = L.listCreate(ks, a.buf, a.off[1]!, a.len[1]!);
  }
  for (let i = 2; i < a.argc; i++) e = L.listPush(ks, e, where, a.buf, a.off[i]!, a.len[i]!);
  keyEvent(c, 'l', where === L.HEAD ? 'lpush' : 'rpush', 1);
  c.out.integer(L.listLength(ks, e));
}

function linsertCommand(c: ShardContext): void {
  const a = c.args;
  let after: boolean;
  if (argIs(a, 2, 'AFTER')) after = true;
  else if (argIs(a, 2, 'BEFORE')) after = false;
  else return c.out.error(ERR.syntax);
  const e = listAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) return c.out.integer(0);
  L.listInsert(c.ks, e, after, a.buf, a.off[3]!, a.len[3]!, a.buf, a.off[4]!, a.len[4]!);
  if (L.count > 0) keyEvent(c, 'l', 'linsert', 1);
  c.out.integer(L.count);
}

// --- pops --------------------------------------------------------------------------------------

/** LPOP and RPOP: one element as a bulk string, or with a count an array of up to count. */
function popCommand(c: ShardContext, where: 0 | 1): void {
  const a = c.args;
  if (a.argc > 3) return c.out.error(ERR.wrongArity(where === L.HEAD ? 'lpop' : 'rpop'));
  const hasCount = a.argc === 3;
  let n = 0;
  if (hasCount) {
    n = argI64(a, 2);
    if (!(n >= 0)) return c.out.error(ERR.countPositive);
  }
  const e = listAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) return hasCount ? c.out.nilArray() : c.out.nil();
  if (!hasCount) {
    const h = L.listPop(c.ks, e, where);
    c.out.bulk(L.hitBuf, L.hitOff, L.hitLen);
    popEvents(c, 1, where, deleteIfEmpty(c.ks, h));
    return;
  }
  if (n === 0) return c.out.array(0);
  popInto(c, e, where, n, 1);
}

// LMPOP's parsed arguments (module-level: parsing allocates nothing).
let mpopKeys = 0;
let mpopWhere: 0 | 1 = 0;
let mpopCount = 1;

/** Parses LMPOP's arguments into mpopKeys, mpopWhere, mpopCount; or returns Redis's error
 * (numkeys first, then the side, then the options, as Redis checks them). */
function lmpopArgs(a: ArgList): string | null {
  const numkeys = argI64(a, 1);
  if (!(numkeys >= 1)) return ERR.numkeysPositive;
  const whereAt = 2 + numkeys;
  const where = whereAt < a.argc ? sideAt(a, whereAt) : -1;
  if (where < 0) return ERR.syntax;
  let count = -1;
  for (let j = whereAt + 1; j < a.argc; j++) {
    if (count === -1 && j + 1 < a.argc && argIs(a, j, 'COUNT')) {
      count = argI64(a, ++j);
      if (!(count >= 1)) return ERR.countAboveZero;
    } else {
      return ERR.syntax;
    }
  }
  mpopKeys = numkeys;
  mpopWhere = where as 0 | 1;
  mpopCount = count === -1 ? 1 : count;
  return null;
}

/** LMPOP numkeys key... LEFT|RIGHT [COUNT n]: pops from the first non-empty list, replying
 * [key, [elements]]; a key of another type met before it is WRONGTYPE; nil array when none. */
function lmpopCommand(c: ShardContext): void {
  const a = c.args;
  const invalid = lmpopArgs(a);
  if (invalid !== null) return c.out.error(invalid);
  for (let i = 2; i < 2 + mpopKeys; i++) {
    const e = listAt(c, i, true);
    if (e < 0) return;
    if (e === 0) continue;
    c.out.array(2);
    c.out.bulk(a.buf, a.off[i]!, a.len[i]!);
    popInto(c, e, mpopWhere, mpopCount, i);
    return;
  }
  c.out.nilArray();
}

async function lmpopCrossShard(m: MainCall): Promise<void> {
  const { server, args: a } = m;
  const invalid = lmpopArgs(a);
  if (invalid !== null) return m.out.error(invalid);
  const keys: Buffer[] = [];
  for (let i = 2; i < 2 + mpopKeys; i++) keys.push(argCopy(a, i));
  const shards = [...new Set(keys.map((k) => server.shardOfKey(k, 0, k.length)))];
  const side = mpopWhere === L.HEAD ? 'LEFT' : 'RIGHT';
  const count = String(mpopCount);
  await server.withShardsLocked(shards, async (call) => {
    // Key by key in the command's order, each on its own shard, while no other client runs on
    // any of them: the first list that has elements answers, as in one shard.
    for (const k of keys) {
      const r = await call(server.shardOfKey(k, 0, k.length), ['lmpop', '1', k, side, 'COUNT', count], m.out.proto);
      if (isNilArray(r)) continue;
      if (r[0] === 45) {
        m.out.error(r.toString('latin1', 1, r.length - 2));
        return;
      }
      m.out.raw(r, 0, r.length);
      return;
    }
    m.out.nilArray();
  });
}

/** A null array reply in either protocol: `*-1` (RESP2) or `_` (RESP3). */
function isNilArray(r: Buffer): boolean {
  return (r[0] === 42 && r[1] === 45) || r[0] === 95;
}

// --- moves -------------------------------------------------------------------------------------

/** LMOVE and RPOPLPUSH in one shard: pops from `from` of the source and pushes at `to` of the
 * destination, replying the element; nil when the source is missing. Both keys' types are checked
 * before anything moves. */
function moveInShard(c: ShardContext, from: 0 | 1, to: 0 | 1): void {
  const a = c.args;
  const ks = c.ks;
  let src = listAt(c, 1, true);
  if (src < 0) return;
  if (src === 0) return c.out.nil();
  if (listAt(c, 2, true) < 0) return;
  if (L.listLength(ks, src) === 1 && sameArg(a, 1, 2)) {
    // Rotating a one-element list changes nothing: it is not emptied and refilled (the log
    // would record a list that vanishes in the middle of the command).
    L.listIndex(ks, src, 0);
    c.out.bulk(L.hitBuf, L.hitOff, L.hitLen);
    moveEvents(c, from, to, false);
    return;
  }
  src = L.listPop(ks, src, from);
  keepHit();
  let emptied = false;
  if (sameArg(a, 1, 2)) {
    // A rotation: the element goes back on the same list, which therefore never empties.
    L.listPush(ks, src, to, moved, 0, movedLen);
  } else {
    emptied = deleteIfEmpty(ks, src);
    // The source's change may have moved other blocks: look the destination up again.
    let dst = writeKey(c, 2);
    if (dst === 0) dst = L.listCreate(ks, a.buf, a.off[2]!, a.len[2]!);
    L.listPush(ks, dst, to, moved, 0, movedLen);
  }
  moveEvents(c, from, to, emptied);
  c.out.bulk(moved, 0, movedLen);
}

/** LMOVE's events in Redis's order: the push on the destination, then the pop on the source and
 * its 'del' when emptied. */
function moveEvents(c: ShardContext, from: 0 | 1, to: 0 | 1, emptied: boolean): void {
  keyEvent(c, 'l', to === L.HEAD ? 'lpush' : 'rpush', 2);
  popEvents(c, 1, from, emptied);
}

function lmoveCommand(c: ShardContext): void {
  const from = sideAt(c.args, 3);
  const to = sideAt(c.args, 4);
  if (from < 0 || to < 0) return c.out.error(ERR.syntax);
  moveInShard(c, from as 0 | 1, to as 0 | 1);
}

/** The coordinator of LMOVE / RPOPLPUSH whose source and destination live on two shards. */
/** RPOPLPUSH / LMOVE with the two keys on two shards, as steps (cross-steps.ts): run by the
 * command itself and by a script that spans shards. */
function moveSteps(server: ServerApi, a: ArgList, out: RespWriter, from: 0 | 1, to: 0 | 1): { shards: number[]; steps: Generator<ShardStep, void, Buffer> } {
  const src = argCopy(a, 1);
  const dst = argCopy(a, 2);
  const s1 = server.shardOfKey(src, 0, src.length);
  const s2 = server.shardOfKey(dst, 0, dst.length);
  function* steps(): Generator<ShardStep, void, Buffer> {
    const srcType = (yield { shard: s1, args: ['type', src] }).toString('latin1');
    if (srcType === '+none\r\n') return out.nil();
    if (srcType !== '+list\r\n') return out.error(ERR.wrongType);
    const dstType = (yield { shard: s2, args: ['type', dst] }).toString('latin1');
    if (dstType !== '+none\r\n' && dstType !== '+list\r\n') return out.error(ERR.wrongType);
    // The element is read, pushed, then popped: the keyspace events come in Redis's order (the
    // push on the destination first), and nothing else runs on the locked shards meanwhile.
    const peeked = shardOk(yield { shard: s1, args: ['lindex', src, from === L.HEAD ? '0' : '-1'] });
    const nl = peeked.indexOf(10);
    const len = Number(peeked.toString('latin1', 1, nl - 1));
    const elem = peeked.subarray(nl + 1, nl + 1 + len);
    shardOk(yield { shard: s2, args: [to === L.HEAD ? 'lpush' : 'rpush', dst, elem] });
    shardOk(yield { shard: s1, args: [from === L.HEAD ? 'lpop' : 'rpop', src] });
    out.bulk(elem, 0, elem.length);
  }
  return { shards: [s1, s2], steps: steps() };
}

const rpoplpushSteps: CrossShardSteps = (server, a, out) => moveSteps(server, a, out, L.TAIL, L.HEAD);

const lmoveSteps: CrossShardSteps = (server, a, out) => {
  const from = sideAt(a, 3);
  const to = sideAt(a, 4);
  if (from < 0 || to < 0) {
    out.error(ERR.syntax);
    return null;
  }
  return moveSteps(server, a, out, from as 0 | 1, to as 0 | 1);
};

// --- reads -------------------------------------------------------------------------------------

function llenCommand(c: ShardContext): void {
  const e = listAt(c, 1, false);
  if (e < 0) return;
  c.out.integer(e === 0 ? 0 : L.listLength(c.ks, e));
}

function lindexCommand(c: ShardContext): void {
  const e = listAt(c, 1, false);
  if (e < 0) return;
  if (e === 0) return c.out.nil();
  const index = argI64(c.args, 2);
  if (Number.isNaN(index)) return c.out.error(ERR.notInteger);
  if (L.listIndex(c.ks, e, index)) c.out.bulk(L.hitBuf, L.hitOff, L.hitLen);
  else c.out.nil();
}

/** start and stop as Redis normalizes them for a list of n (negative from the tail, clamped);
 * false when the range is empty. The result is in rangeStart/rangeStop. */
let rangeStart = 0;
let rangeStop = 0;
function normalizeRange(start: number, stop: number, n: number): boolean {
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return false;
  rangeStart = start;
  rangeStop = stop >= n ? n - 1 : stop;
  return true;
}

function lrangeCommand(c: ShardContext): void {
  const a = c.args;
  const start = argI64(a, 2);
  const stop = argI64(a, 3);
  if (Number.isNaN(start) || Number.isNaN(stop)) return c.out.error(ERR.notInteger);
  const e = listAt(c, 1, false);
  if (e < 0) return;
  if (e === 0 || !normalizeRange(start, stop, L.listLength(c.ks, e))) return c.out.array(0);
  c.out.array(rangeStop - rangeStart + 1);
  rangeOut = c.out;
  L.listRange(c.ks, e, rangeStart, rangeStop, false, replyElement);
  rangeOut = null;
}

const LONG_MIN = -9223372036854775808;

// LPOS's search state, module-level so that the visitor is one function.
let posBuf: Uint8Array = new Uint8Array(0);
let posOff = 0;
let posLen = 0;
let posRank = 1;
let posCount = 0;
let posWithCount = false;
let posMatches = 0;
let posFound = -1;
let posReplied = 0;
let posVisited = 0;
let posMaxLen = 0;
/** LPOS COUNT's matches so far (indexes), grown on demand. */
let posHits = new Float64Array(64);

function posVisit(buf: Uint8Array, off: number, len: number, index: number): boolean {
  if (posMaxLen !== 0 && posVisited >= posMaxLen) return false;
  posVisited++;
  if (len !== posLen) return true;
  for (let k = 0; k < len; k++) if (buf[off + k] !== posBuf[posOff + k]) return true;
  posMatches++;
  if (posMatches < posRank) return true;
  if (!posWithCount) {
    posFound = index;
    return false;
  }
  if (posReplied === posHits.length) {
    const grown = new Float64Array(posHits.length * 2);
    grown.set(posHits);
    posHits = grown;
  }
  posHits[posReplied++] = index;
  return posCount === 0 || posReplied < posCount;
}

/** LPOS key element [RANK r] [COUNT n] [MAXLEN m]: the index of the r-th match (from the tail
 * when r < 0), or with COUNT an array of up to n matches (0: all), looking at m elements at most. */
function lposCommand(c: ShardContext): void {
  const a = c.args;
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let j = 3; j < a.argc; j++) {
    const more = j + 1 < a.argc;
    if (more && argIs(a, j, 'RANK')) {
      rank = argI64(a, ++j);
      if (Number.isNaN(rank)) return c.out.error(ERR.notInteger);
      if (rank === 0) return c.out.error(ERR.rankZero);
    } else if (more && argIs(a, j, 'COUNT')) {
      count = argI64(a, ++j);
      if (!(count >= 0)) return c.out.error(ERR.lposCountNegative);
    } else if (more && argIs(a, j, 'MAXLEN')) {
      maxlen = argI64(a, ++j);
      if (!(maxlen >= 0)) return c.out.error(ERR.maxlenNegative);
    } else {
      return c.out.error(ERR.syntax);
    }
  }
  const e = listAt(c, 1, false);
  if (e < 0) return;
  if (e === 0) return count !== -1 ? c.out.array(0) : c.out.nil();
  const n = L.listLength(c.ks, e);
  posBuf = a.buf;
  posOff = a.off[2]!;
  posLen = a.len[2]!;
  // Redis negates a negative rank in a C long: LONG_MIN stays negative, so every match counts
  // and a COUNT never stops the search (its overflowing test never holds).
  posRank = rank === LONG_MIN ? 1 : Math.abs(rank);
  posWithCount = count !== -1;
  posCount = rank === LONG_MIN ? 0 : count;
  posMaxLen = maxlen;
  posMatches = 0;
  posFound = -1;
  posReplied = 0;
  posVisited = 0;
  if (posWithCount) {
    // The number of matches is known only at the end: they are gathered, then replied.
    L.listRange(c.ks, e, 0, n - 1, rank < 0, posVisit);
    c.out.array(posReplied);
    for (let k = 0; k < posReplied; k++) c.out.integer(posHits[k]!);
  } else {
    L.listRange(c.ks, e, 0, n - 1, rank < 0, posVisit);
    if (posFound >= 0) c.out.integer(posFound);
    else c.out.nil();
  }
  posBuf = EMPTY;
  if (posHits.length > POS_HITS_KEPT) posHits = new Float64Array(64);
}

/** The most LPOS COUNT matches whose array is kept between commands. */
const POS_HITS_KEPT = 1 << 16;

const EMPTY = new Uint8Array(0);

// --- in-place changes --------------------------------------------------------------------------

function lsetCommand(c: ShardContext): void {
  const a = c.args;
  const e = listAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) return c.out.error(ERR.noSuchKey);
  const index = argI64(a, 2);
  if (Number.isNaN(index)) return c.out.error(ERR.notInteger);
  if (L.listSet(c.ks, e, index, a.buf, a.off[3]!, a.len[3]!) < 0) return c.out.error(ERR.indexOutOfRange);
  c.out.ok();
}

function lremCommand(c: ShardContext): void {
  const a = c.args;
  const n = argI64(a, 2);
  if (Number.isNaN(n)) return c.out.error(ERR.notInteger);
  const e = listAt(c, 1, true);
  if (e < 0) return;
  if (e === 0) return c.out.integer(0);
  const h = L.listRemove(c.ks, e, n, a.buf, a.off[3]!, a.len[3]!);
  const removed = L.count;
  if (removed > 0) keyEvent(c, 'l', 'lrem', 1);
  if (deleteIfEmpty(c.ks, h)) keyEvent(c, 'g', 'del', 1);
  c.out.integer(removed);
}

function ltrimCommand(c: ShardContext): void {
  const a = c.args;
  const start = argI64(a, 2);
  const stop = argI64(a, 3);
  if (Number.isNaN(start) || Number.isNaN(stop)) return c.out.error(ERR.notInteger);
  const e = listAt(c, 1, true);
  if (e < 0) return;
  if (e !== 0) {
    const n = L.listLength(c.ks, e);
    const empty = !normalizeRange(start, stop, n);
    if (empty) c.ks.deleteEntry(e);
    else if (rangeStart !== 0 || rangeStop !== n - 1) L.listTrim(c.ks, e, rangeStart, rangeStop);
    keyEvent(c, 'l', 'ltrim', 1);
    if (empty) keyEvent(c, 'g', 'del', 1);
  }
  c.out.ok();
}

// --- the table ---------------------------------------------------------------------------------

const G = 'list' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };
const TWO_KEYS = { first: 1, last: 2, step: 1 };

export const LIST_COMMANDS = [
  { name: 'lpush', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Prepend one or multiple elements to a list', shard: (c) => pushCommand(c, L.HEAD, true) },
  { name: 'rpush', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Append one or multiple elements to a list', shard: (c) => pushCommand(c, L.TAIL, true) },
  { name: 'lpushx', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '2.2.0', summary: 'Prepend an element to a list, only if the list exists', shard: (c) => pushCommand(c, L.HEAD, false) },
  { name: 'rpushx', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '2.2.0', summary: 'Append an element to a list, only if the list exists', shard: (c) => pushCommand(c, L.TAIL, false) },
  { name: 'lpop', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Remove and get the first elements in a list', shard: (c) => popCommand(c, L.HEAD) },
  { name: 'rpop', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Remove and get the last elements in a list', shard: (c) => popCommand(c, L.TAIL) },
  { name: 'llen', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Get the length of a list', shard: llenCommand },
  { name: 'lrange', arity: 4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Get a range of elements from a list', shard: lrangeCommand },
  { name: 'lindex', arity: 3, flags: ['readonly'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Get an element from a list by its index', shard: lindexCommand },
  { name: 'lset', arity: 4, flags: ['write', 'denyoom'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Set the value of an element in a list by its index', shard: lsetCommand, event: ['l', 'lset'] },
  { name: 'linsert', arity: 5, flags: ['write', 'denyoom'], keys: ONE_KEY, group: G, since: '2.2.0', summary: 'Insert an element before or after another element in a list', shard: linsertCommand },
  { name: 'lrem', arity: 4, flags: ['write'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Remove elements from a list', shard: lremCommand },
  { name: 'ltrim', arity: 4, flags: ['write'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Trim a list to the specified range', shard: ltrimCommand },
  { name: 'lpos', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: G, since: '6.0.6', summary: 'Return the index of matching elements on a list', shard: lposCommand },
  { name: 'lmove', arity: 5, flags: ['write', 'denyoom'], keys: TWO_KEYS, group: G, since: '6.2.0', summary: 'Pop an element from a list, push it to another list and return it', shard: lmoveCommand, crossShard: crossShardHandler(lmoveSteps), crossShardSteps: lmoveSteps },
  { name: 'rpoplpush', arity: 3, flags: ['write', 'denyoom'], keys: TWO_KEYS, group: G, since: '1.2.0', summary: 'Remove the last element in a list, prepend it to another list and return it', shard: (c) => moveInShard(c, L.TAIL, L.HEAD), crossShard: crossShardHandler(rpoplpushSteps), crossShardSteps: rpoplpushSteps },
  { name: 'lmpop', arity: -4, flags: ['write'], keys: { first: 0, last: 0, step: 0, numkeysAt: 1 }, group: G, since: '7.0.0', summary: 'Pop elements from a list', shard: lmpopCommand, crossShard: lmpopCrossShard },
] as const satisfies readonly CommandSpec[];
