// Range commands of sorted sets (Redis 7.0's zrangeGenericCommand and friends): ZRANGE with
// BYSCORE/BYLEX/REV/LIMIT/WITHSCORES, its older spellings, ZRANGESTORE, ZCOUNT, ZLEXCOUNT and the
// ZREMRANGEBY* commands. Every range is first turned into ranks [lo, hi) with the value module's
// O(log n) counts (zsetCountBelowScore/Member), then read with zsetRange or removed with
// zsetRemoveRange, so a range costs O(log n + k) in the large encoding.

import type { MainCall, ShardContext } from './types.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { argIs, argI64, argCopy } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import * as S from './score.js';
import { zsetArg, latin1, storeZsetAt, packScored, type ScoredList } from './zset-common.js';
import { keyEvent } from './shard-helpers.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import * as Z from '../keyspace/zset.js';

export const AUTO = 0;
export const RANK = 1;
export const SCORE = 2;
export const LEX = 3;
export const FWD = 1;
export const REV = 2;

/** What a range does with its result: reply it, store it at argument 1, or reply it packed
 * (the cross-shard ZRANGESTORE's fetch, __zrangeof). */
export const MODE_REPLY = 0;
export const MODE_STORE = 1;
export const MODE_FETCH = 2;

// --- bounds ------------------------------------------------------------------------------------------

/** The last parsed score range (module scratch). */
let minScore = 0;
let minEx = false;
let maxScore = 0;
let maxEx = false;

/** zslParseRange: false when a bound is not a float. */
function parseScoreRange(c: ShardContext, minIdx: number, maxIdx: number): boolean {
  const a = c.args;
  minScore = S.parseRangeScore(a.buf, a.off[minIdx]!, a.len[minIdx]!);
  minEx = S.exclusive;
  maxScore = S.parseRangeScore(a.buf, a.off[maxIdx]!, a.len[maxIdx]!);
  maxEx = S.exclusive;
  return !Number.isNaN(minScore) && !Number.isNaN(maxScore);
}

/** Ranks [lo, hi) of the members within the last parsed score range. */
function scoreRanks(ks: Keyspace, e: number): void {
  lo = Z.zsetCountBelowScore(ks, e, minScore, minEx);
  hi = Z.zsetCountBelowScore(ks, e, maxScore, !maxEx);
}

const LEX_MIN = 0; // '-'
const LEX_MAX = 1; // '+'
const LEX_IN = 2; // '['
const LEX_EX = 3; // '('

/** The kind of lex range item at argument i, or -1 when it is not one (zslParseLexRangeItem). */
function lexKind(c: ShardContext, i: number): number {
  const a = c.args;
  const len = a.len[i]!;
  if (len === 0) return -1;
  const ch = a.buf[a.off[i]!]!;
  if (ch === 43) return len === 1 ? LEX_MAX : -1; // +
  if (ch === 45) return len === 1 ? LEX_MIN : -1; // -
  if (ch === 40) return LEX_EX; // (
  if (ch === 91) return LEX_IN; // [
  return -1;
}

/** How many members sort before the lex bound at argument i: as a minimum (members below it are
 * out) or a maximum (members up to it are in). */
function lexRank(ks: Keyspace, e: number, c: ShardContext, i: number, kind: number, isMax: boolean): number {
  if (kind === LEX_MIN) return 0;
  if (kind === LEX_MAX) return Z.zsetCount(ks, e);
  const a = c.args;
  // min [x: members < x are out; min (x: members <= x; max [x: members <= x are in; max (x: < x.
  const inclusive = isMax === (kind === LEX_IN);
  return Z.zsetCountBelowMember(ks, e, a.buf, a.off[i]! + 1, a.len[i]! - 1, inclusive);
}

/** The last computed range of ranks: [lo, hi). */
let lo = 0;
let hi = 0;

// --- ZRANGE and its spellings -----------------------------------------------------------------------

/** The reply visitor's state, module-level so that a range reply allocates no closure. */
let replyOut: RespWriter | null = null;
let replyScores = false;
let replyPairs = false;

const replyVisit = (b: Uint8Array, o: number, l: number, score: number): boolean => {
  const out = replyOut!;
  if (replyPairs) out.array(2);
  out.bulk(b, o, l);
  if (replyScores) out.double(score);
  return true;
};

/**
 * ZRANGE (keyIdx 1), ZRANGESTORE (keyIdx 2, destination at 1) and the older forms with their
 * range type and direction fixed, as Redis's zrangeGenericCommand: options, then their conflicts,
 * then the range's syntax, then the key.
 */
export function zrangeGeneric(c: ShardContext, keyIdx: number, mode: number, rangeType: number, direction: number): void {
  const a = c.args;
  const out = c.out;
  const store = mode !== MODE_REPLY;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = keyIdx + 3; j < a.argc; j++) {
    const left = a.argc - j - 1;
    if (!store && argIs(a, j, 'WITHSCORES')) withScores = true;
    else if (argIs(a, j, 'LIMIT') && left >= 2) {
      offset = argI64(a, j + 1);
      if (Number.isNaN(offset)) return out.error(ERR.notInteger);
      limit = argI64(a, j + 2);
      if (Number.isNaN(limit)) return out.error(ERR.notInteger);
      j += 2;
    } else if (direction === AUTO && argIs(a, j, 'REV')) direction = REV;
    else if (rangeType === AUTO && argIs(a, j, 'BYLEX')) rangeType = LEX;
    else if (rangeType === AUTO && argIs(a, j, 'BYSCORE')) rangeType = SCORE;
    else return out.error(ERR.syntax);
  }
  if (direction === AUTO) direction = FWD;
  if (rangeType === AUTO) rangeType = RANK;
  if (limit !== -1 && rangeType === RANK) return out.error(ERR.zrangeLimitRank);
  if (withScores && rangeType === LEX) return out.error(ERR.zrangeWithscoresLex);
  const reverse = direction === REV;
  let minIdx = keyIdx + 1;
  let maxIdx = keyIdx + 2;
  if (reverse && rangeType !== RANK) {
    minIdx = keyIdx + 2;
    maxIdx = keyIdx + 1;
  }
  let start = 0;
  let end = 0;
  let minKind = 0;
  let maxKind = 0;
  if (rangeType === RANK) {
    start = argI64(a, minIdx);
    end = argI64(a, maxIdx);
    if (Number.isNaN(start) || Number.isNaN(end)) return out.error(ERR.notInteger);
  } else if (rangeType === SCORE) {
    if (!parseScoreRange(c, minIdx, maxIdx)) return out.error(ERR.minMaxNotFloat);
  } else {
    minKind = lexKind(c, minIdx);
    maxKind = lexKind(c, maxIdx);
    if (minKind < 0 || maxKind < 0) return out.error(ERR.minMaxNotLex);
  }
  const ks = c.ks;
  const e = zsetArg(c, keyIdx);
  if (e < 0) return;
  // The ranks to visit, ascending [from, to]; empty when from > to.
  let from = 0;
  let to = -1;
  if (e !== 0) {
    const n = Z.zsetCount(ks, e);
    if (rangeType === RANK) {
      if (start < 0) start += n;
      if (end < 0) end += n;
      if (start < 0) start = 0;
      if (!(start > end || start >= n)) {
        if (end >= n) end = n - 1;
        from = reverse ? n - 1 - end : start;
        to = reverse ? n - 1 - start : end;
      }
    } else {
      if (rangeType === SCORE) scoreRanks(ks, e);
      else {
        lo = lexRank(ks, e, c, minIdx, minKind, false);
        hi = lexRank(ks, e, c, maxIdx, maxKind, true);
      }
      // LIMIT: a negative offset skips everything (as Redis's countdown), a negative count
      // takes all.
      if (offset >= 0 && hi > lo) {
        if (reverse) {
          to = hi - 1 - offset;
          from = limit < 0 ? lo : Math.max(lo, to - limit + 1);
        } else {
          from = lo + offset;
          to = limit < 0 ? hi - 1 : Math.min(hi - 1, from + limit - 1);
        }
      }
    }
  }
  const count = to >= from ? to - from + 1 : 0;
  if (mode === MODE_REPLY) {
    out.array(withScores && out.proto === 2 ? count * 2 : count);
    if (count === 0) return;
    replyOut = out;
    replyScores = withScores;
    replyPairs = withScores && out.proto === 3;
    Z.zsetRange(ks, e, from, to, reverse, replyVisit);
    replyOut = null;
    return;
  }
  const list: ScoredList = { members: [], scores: [] };
  if (count > 0) {
    Z.zsetRange(ks, e, from, to, reverse, (b, o, l, s) => {
      list.members.push(latin1(b, o, l));
      list.scores.push(s);
      return true;
    });
  }
  rangeStoreSignedZeros(ks, list);
  if (mode === MODE_FETCH) {
    const packed = packScored(list);
    out.bulk(packed, 0, packed.length);
    return;
  }
  out.integer(storeZsetAt(c, 1, list, 'zrangestore'));
}

/** ZRANGESTORE with the destination on another shard than the source: the range is read on the
 * source's shard (__zrangeof: the same parsing and errors) and stored on the destination's, both
 * locked meanwhile. */
export async function zrangestoreCrossShard(m: MainCall): Promise<void> {
  const a = m.args;
  const args: Buffer[] = [Buffer.from('__zrangeof')];
  for (let i = 1; i < a.argc; i++) args.push(argCopy(a, i));
  const dst = args[1]!;
  const src = args[2]!;
  const sd = m.server.shardOfKey(dst, 0, dst.length);
  const ss = m.server.shardOfKey(src, 0, src.length);
  await m.server.withShardsLocked([sd, ss], async (call) => {
    const r = await call(ss, args, 2);
    if (r[0] === 45) {
      m.out.raw(r, 0, r.length);
      return;
    }
    const nl = r.indexOf(10);
    const packed = r.subarray(nl + 1, r.length - 2);
    const stored = shardOk(await call(sd, ['__zstore', dst, packed, 'zrangestore'], 2));
    m.out.raw(stored, 0, stored.length);
  });
}

// --- ZCOUNT, ZLEXCOUNT --------------------------------------------------------------------------------

export function zcountCommand(c: ShardContext): void {
  if (!parseScoreRange(c, 2, 3)) return c.out.error(ERR.minMaxNotFloat);
  const e = zsetArg(c, 1);
  if (e < 0) return;
  if (e === 0) return c.out.integer(0);
  scoreRanks(c.ks, e);
  c.out.integer(Math.max(0, hi - lo));
}

export function zlexcountCommand(c: ShardContext): void {
  const minKind = lexKind(c, 2);
  const maxKind = lexKind(c, 3);
  if (minKind < 0 || maxKind < 0) return c.out.error(ERR.minMaxNotLex);
  const e = zsetArg(c, 1);
  if (e < 0) return;
  if (e === 0) return c.out.integer(0);
  lo = lexRank(c.ks, e, c, 2, minKind, false);
  hi = lexRank(c.ks, e, c, 3, maxKind, true);
  c.out.integer(Math.max(0, hi - lo));
}

// --- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX -----------------------------------------------

export function zremrangeGeneric(c: ShardContext, rangeType: number): void {
  const a = c.args;
  const out = c.out;
  let start = 0;
  let end = 0;
  let minKind = 0;
  let maxKind = 0;
  if (rangeType === RANK) {
    start = argI64(a, 2);
    end = argI64(a, 3);
    if (Number.isNaN(start) || Number.isNaN(end)) return out.error(ERR.notInteger);
  } else if (rangeType === SCORE) {
    if (!parseScoreRange(c, 2, 3)) return out.error(ERR.minMaxNotFloat);
  } else {
    minKind = lexKind(c, 2);
    maxKind = lexKind(c, 3);
    if (minKind < 0 || maxKind < 0) return out.error(ERR.minMaxNotLex);
  }
  const ks = c.ks;
  let e = zsetArg(c, 1, true);
  if (e < 0) return;
  if (e === 0) return out.integer(0);
  const n = Z.zsetCount(ks, e);
  if (rangeType === RANK) {
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (start > end || start >= n) return out.integer(0);
    if (end >= n) end = n - 1;
    lo = start;
    hi = end + 1;
  } else if (rangeType === SCORE) {
    scoreRanks(ks, e);
  } else {
    lo = lexRank(ks, e, c, 2, minKind, false);
    hi = lexRank(ks, e, c, 3, maxKind, true);
  }
  if (hi <= lo) return out.integer(0);
  const removed = hi - lo;
  e = Z.zsetRemoveRange(ks, e, lo, hi - 1);
  keyEvent(c, 'z', rangeType === RANK ? 'zremrangebyrank' : rangeType === SCORE ? 'zremrangebyscore' : 'zremrangebylex', 1);
  if (Z.zsetCount(ks, e) === 0) {
    ks.deleteEntry(e);
    keyEvent(c, 'g', 'del', 1);
  }
  out.integer(removed);
}


/**
 * Gives a ZRANGESTORE result the zero signs Redis 7.0 leaves: its ZRANGESTORE creates the
 * destination with zsetTypeCreate(length, 0), a listpack when length is within
 * zset-max-listpack-entries (member lengths are not considered), and adds the members in range
 * order; the listpack stores -0 as 0 until a member longer than zset-max-listpack-value converts
 * it, and the skiplist keeps -0 from then on. storeZset picks the final encoding at once, so the
 * members added before that conversion get +0 here. (The STORE forms of ZUNION, ZINTER and ZDIFF
 * build a skiplist and convert at the end, which storeZset already matches.)
 */
function rangeStoreSignedZeros(ks: Keyspace, list: ScoredList): void {
  const lim = ks.limits;
  const n = list.members.length;
  if (n > lim.zsetMaxListpackEntries) return;
  for (let i = 0; i < n; i++) {
    if (list.members[i]!.length > lim.zsetMaxListpackValue) return;
    if (list.scores[i] === 0) list.scores[i] = 0;
  }
}
