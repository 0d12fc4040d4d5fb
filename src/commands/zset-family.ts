// Sorted-set commands (Redis 7.0 t_zset.c): the one-key commands here, ranges in zset-range.ts,
// ZUNION/ZINTER/ZDIFF in zset-setops.ts, and the command table. Every member access goes through
// keyspace/zset.ts, whatever the encoding; a command that empties a sorted set deletes the key, as
// Redis does. ZMPOP over keys on several shards runs a coordinator under the cross-shard lock.
// The blocking forms (BZPOPMIN, BZPOPMAX, BZMPOP) belong to the blocking layer, not here.

import type { ArgList, CommandSpec, MainCall, ShardContext } from './types.js';
import { argIs, argInt, argBigInt, argI64, argCopy } from './args.js';
import { ERR } from '../core/errors.js';
import { globMatch } from '../util/glob.js';
import { parseScore, formatScore } from './score.js';
import { zsetArg, latin1, bytesOf, addMember } from './zset-common.js';
import { keyEvent } from './shard-helpers.js';
import * as R from './zset-range.js';
import * as O from './zset-setops.js';
import * as Z from '../keyspace/zset.js';

const LONG_MAX = 9223372036854775807n;

// --- ZADD, ZINCRBY ---------------------------------------------------------------------------------

const NX = 1;
const XX = 2;
const GT = 4;
const LT = 8;
const CH = 16;
const INCR = 32;

/** Parsed scores of the current ZADD (module scratch: no allocation per command). */
let scores = new Float64Array(64);

/** ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ... and ZINCRBY (INCR, scores from 2). */
function zaddGeneric(c: ShardContext, scoreIdx: number, flags: number): void {
  const a = c.args;
  const out = c.out;
  for (; scoreIdx < a.argc; scoreIdx++) {
    if (argIs(a, scoreIdx, 'NX')) flags |= NX;
    else if (argIs(a, scoreIdx, 'XX')) flags |= XX;
    else if (argIs(a, scoreIdx, 'CH')) flags |= CH;
    else if (argIs(a, scoreIdx, 'INCR')) flags |= INCR;
    else if (argIs(a, scoreIdx, 'GT')) flags |= GT;
    else if (argIs(a, scoreIdx, 'LT')) flags |= LT;
    else break;
  }
  const pairs = a.argc - scoreIdx;
  if (pairs === 0 || pairs % 2 !== 0) return out.error(ERR.syntax);
  const n = pairs / 2;
  if (flags & NX && flags & XX) return out.error(ERR.zaddNxXx);
  if ((flags & GT && flags & NX) || (flags & LT && flags & NX) || (flags & GT && flags & LT)) return out.error(ERR.zaddGtLtNx);
  if (flags & INCR && n > 1) return out.error(ERR.zaddIncrPair);
  if (n > scores.length) scores = new Float64Array(n * 2);
  for (let j = 0; j < n; j++) {
    const i = scoreIdx + 2 * j;
    const s = parseScore(a.buf, a.off[i]!, a.len[i]!);
    if (Number.isNaN(s)) return out.error(ERR.notFloat);
    scores[j] = s;
  }
  const ks = c.ks;
  let e = zsetArg(c, 1, true);
  if (e < 0) return;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let score = 0;
  if (e === 0 && !(flags & XX)) {
    // As Redis 7.0: the first member's length picks the encoding; adds convert past the limits.
    e = Z.zsetCreate(ks, a.buf, a.off[1]!, a.len[1]!, 1, a.len[scoreIdx + 1]!);
  }
  if (flags === 0 && c.keyspaceEvents === 0) {
    // Plain ZADD (redis-benchmark's zadd): one lookup per member, in the value module. (With
    // keyspace events on, the loop below tells an update apart: 'zadd' fires for it too.)
    for (let j = 0; j < n; j++) {
      const mi = scoreIdx + 2 * j + 1;
      e = addMember(ks, e, a.buf, a.off[mi]!, a.len[mi]!, scores[j]!);
      if (Z.added) added++;
    }
    return out.integer(added);
  }
  for (let j = 0; e !== 0 && j < n; j++) {
    const mi = scoreIdx + 2 * j + 1;
    const mo = a.off[mi]!;
    const ml = a.len[mi]!;
    score = scores[j]!;
    if (Z.zsetScore(ks, e, a.buf, mo, ml)) {
      const cur = Z.score;
      if (flags & NX) continue;
      if (flags & INCR) {
        score += cur;
        if (Number.isNaN(score)) return out.error(ERR.zaddNan);
      }
      if ((flags & LT && score >= cur) || (flags & GT && score <= cur)) continue;
      processed++;
      if (score !== cur) {
        e = addMember(ks, e, a.buf, mo, ml, score);
        updated++;
      }
    } else {
      if (flags & XX) continue;
      e = addMember(ks, e, a.buf, mo, ml, score);
      added++;
      processed++;
    }
  }
  if (flags & INCR) {
    if (processed > 0) out.double(score);
    else out.nil();
  } else {
    out.integer(flags & CH ? added + updated : added);
  }
  if (added + updated > 0) keyEvent(c, 'z', flags & INCR ? 'zincr' : 'zadd', 1);
}

function zremCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  let e = zsetArg(c, 1, true);
  if (e < 0) return;
  let removed = 0;
  for (let i = 2; e !== 0 && i < a.argc; i++) {
    if (Z.zsetRemove(ks, e, a.buf, a.off[i]!, a.len[i]!)) removed++;
    e = Z.removedHandle;
    if (Z.zsetCount(ks, e) === 0) {
      ks.deleteEntry(e);
      e = 0;
      break;
    }
  }
  if (removed > 0) {
    keyEvent(c, 'z', 'zrem', 1);
    if (e === 0) keyEvent(c, 'g', 'del', 1);
  }
  c.out.integer(removed);
}

// --- reads -----------------------------------------------------------------------------------------

function zscoreCommand(c: ShardContext): void {
  const a = c.args;
  const e = zsetArg(c, 1);
  if (e < 0) return;
  if (e !== 0 && Z.zsetScore(c.ks, e, a.buf, a.off[2]!, a.len[2]!)) c.out.double(Z.score);
  else c.out.nil();
}

function zmscoreCommand(c: ShardContext): void {
  const a = c.args;
  const e = zsetArg(c, 1);
  if (e < 0) return;
  c.out.array(a.argc - 2);
  for (let i = 2; i < a.argc; i++) {
    if (e !== 0 && Z.zsetScore(c.ks, e, a.buf, a.off[i]!, a.len[i]!)) c.out.double(Z.score);
    else c.out.nil();
  }
}

function zcardCommand(c: ShardContext): void {
  const e = zsetArg(c, 1);
  if (e < 0) return;
  c.out.integer(e === 0 ? 0 : Z.zsetCount(c.ks, e));
}

function zrankGeneric(c: ShardContext, reverse: boolean): void {
  const a = c.args;
  const e = zsetArg(c, 1);
  if (e < 0) return;
  const rank = e === 0 ? -1 : Z.zsetRank(c.ks, e, a.buf, a.off[2]!, a.len[2]!);
  if (rank < 0) c.out.nil();
  else c.out.integer(reverse ? Z.zsetCount(c.ks, e) - 1 - rank : rank);
}

// --- ZPOPMIN, ZPOPMAX, ZMPOP -------------------------------------------------------------------------

/** Pops up to count members of e from the low (max false) or high end and replies them: flat
 * pairs, or [member, score] arrays when nested; deletes the key when emptied. */
function popAndReply(c: ShardContext, e: number, max: boolean, count: number, nested: boolean, ki: number): void {
  const ks = c.ks;
  const out = c.out;
  const n = Math.min(count, Z.zsetCount(ks, e));
  out.array(nested ? n : n * 2);
  for (let k = 0; k < n; k++) {
    const r = max ? Z.zsetCount(ks, e) - 1 : 0;
    Z.zsetAt(ks, e, r);
    if (nested) out.array(2);
    // The member's bytes may lie in the value about to change: they are copied out first.
    out.bulk(Z.hitBuf, Z.hitOff, Z.hitLen);
    out.double(Z.score);
    e = Z.zsetRemoveRange(ks, e, r, r);
  }
  if (n > 0) keyEvent(c, 'z', max ? 'zpopmax' : 'zpopmin', ki);
  if (Z.zsetCount(ks, e) === 0) {
    ks.deleteEntry(e);
    keyEvent(c, 'g', 'del', ki);
  }
}

function zpopGeneric(c: ShardContext, max: boolean): void {
  const a = c.args;
  if (a.argc > 3) return c.out.error(ERR.syntax);
  let count = -1;
  if (a.argc === 3) {
    count = positiveLong(a, 2, (t) => c.out.error(t));
    if (count < 0) return;
  }
  const e = zsetArg(c, 1, true);
  if (e < 0) return;
  if (e === 0 || count === 0) return c.out.array(0);
  popAndReply(c, e, max, count === -1 ? 1 : count, c.out.proto === 3 && count !== -1, 1);
}

/** Redis's getPositiveLongFromObjectOrReply: the count, or -1 after replying its error (the
 * same for a count that is not an integer). */
function positiveLong(a: ArgList, i: number, error: (t: string) => void): number {
  const n = argI64(a, i);
  if (!(n >= 0)) {
    error(ERR.countPositive);
    return -1;
  }
  return n;
}

/** ZMPOP's arguments: numkeys, MIN|MAX, COUNT; null after replying Redis's error. */
function zmpopArgs(a: ArgList, error: (t: string) => void): { numkeys: number; max: boolean; count: number } | null {
  const numkeys = rangeLong(a, 1, ERR.numkeysPositive, error);
  if (numkeys === null) return null;
  const whereIdx = 1 + numkeys + 1;
  if (whereIdx >= a.argc) {
    error(ERR.syntax);
    return null;
  }
  let max: boolean;
  if (argIs(a, whereIdx, 'MIN')) max = false;
  else if (argIs(a, whereIdx, 'MAX')) max = true;
  else {
    error(ERR.syntax);
    return null;
  }
  let count = -1;
  for (let j = whereIdx + 1; j < a.argc; j++) {
    if (count === -1 && argIs(a, j, 'COUNT') && j + 1 < a.argc) {
      j++;
      const n = rangeLong(a, j, ERR.countAboveZero, error);
      if (n === null) return null;
      count = n;
    } else {
      error(ERR.syntax);
      return null;
    }
  }
  return { numkeys, max, count: count === -1 ? 1 : count };
}

/** getRangeLongFromObjectOrReply(1, LONG_MAX, msg): a long >= 1, or null after the error. */
function rangeLong(a: ArgList, i: number, msg: string, error: (t: string) => void): number | null {
  const n = argI64(a, i);
  if (!(n >= 1)) {
    error(msg);
    return null;
  }
  return n;
}

function zmpopCommand(c: ShardContext): void {
  const opts = zmpopArgs(c.args, (t) => c.out.error(t));
  if (!opts) return;
  const a = c.args;
  for (let i = 2; i < 2 + opts.numkeys; i++) {
    const e = zsetArg(c, i, true);
    if (e < 0) return;
    if (e === 0) continue;
    c.out.array(2);
    c.out.bulk(a.buf, a.off[i]!, a.len[i]!);
    popAndReply(c, e, opts.max, opts.count, true, i);
    return;
  }
  c.out.nilArray();
}

/** ZMPOP over keys on several shards: the first key holding a sorted set, in argument order,
 * pops (as a one-key ZMPOP on its shard); all the keys' shards are locked meanwhile. */
async function zmpopCrossShard(m: MainCall): Promise<void> {
  const opts = zmpopArgs(m.args, (t) => m.out.error(t));
  if (!opts) return;
  const keys: Buffer[] = [];
  for (let i = 2; i < 2 + opts.numkeys; i++) keys.push(argCopy(m.args, i));
  const shards = [...new Set(keys.map((k) => m.server.shardOfKey(k, 0, k.length)))];
  const where = opts.max ? 'MAX' : 'MIN';
  await m.server.withShardsLocked(shards, async (call) => {
    for (const k of keys) {
      const r = await call(m.server.shardOfKey(k, 0, k.length), ['zmpop', '1', k, where, 'COUNT', String(opts.count)], m.out.proto);
      // A null array (RESP2 *-1, RESP3 _): no such key, try the next.
      if ((r[0] === 42 && r[1] === 45) || r[0] === 95) continue;
      m.out.raw(r, 0, r.length);
      return;
    }
    m.out.nilArray();
  });
}

// --- ZRANDMEMBER ---------------------------------------------------------------------------------

/** The largest |count| a negative ZRANDMEMBER count may ask for: the reply (repeats allowed) must
 * stay bounded; redis-server tries to build any size. */
const ZRANDMEMBER_REPEATS_MAX = 1 << 24;

function zrandmemberCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  if (a.argc === 2) {
    const e = zsetArg(c, 1);
    if (e < 0) return;
    if (e === 0) return c.out.nil();
    Z.zsetRandom(ks, e);
    c.out.bulk(Z.hitBuf, Z.hitOff, Z.hitLen);
    return;
  }
  const l = argBigInt(a, 2);
  if (l === null) return c.out.error(ERR.notInteger);
  if (l < -LONG_MAX) return c.out.error(ERR.valueBetween(String(-LONG_MAX), String(LONG_MAX)));
  if (a.argc > 4 || (a.argc === 4 && !argIs(a, 3, 'WITHSCORES'))) return c.out.error(ERR.syntax);
  const withScores = a.argc === 4;
  if (withScores && (l < -LONG_MAX / 2n || l > LONG_MAX / 2n)) return c.out.error(ERR.valueOutOfRange);
  if (l < -BigInt(ZRANDMEMBER_REPEATS_MAX)) return c.out.error(ERR.valueBetween(String(-ZRANDMEMBER_REPEATS_MAX), String(LONG_MAX)));
  const e = zsetArg(c, 1);
  if (e < 0) return;
  const out = c.out;
  const uniq = l >= 0n;
  const count = Number(uniq ? l : -l);
  if (e === 0 || count === 0) return out.array(0);
  const size = Z.zsetCount(ks, e);
  const pairs = withScores && out.proto === 3;
  if (!uniq || count === 1) {
    out.array(withScores && out.proto === 2 ? count * 2 : count);
    for (let k = 0; k < count; k++) {
      Z.zsetRandom(ks, e);
      if (pairs) out.array(2);
      out.bulk(Z.hitBuf, Z.hitOff, Z.hitLen);
      if (withScores) out.double(Z.score);
    }
    return;
  }
  const n = Math.min(count, size);
  out.array(withScores && out.proto === 2 ? n * 2 : n);
  if (count >= size) {
    // The whole set, highest first, as redis-server 7.0 replies it (its case 2).
    Z.zsetRange(ks, e, 0, size - 1, true, (b, o, len, s) => {
      if (pairs) out.array(2);
      out.bulk(b, o, len);
      if (withScores) out.double(s);
      return true;
    });
    return;
  }
  // count distinct ranks: a partial shuffle of the ranks when many are asked for, else draws
  // until enough are distinct; both O(count) space.
  const picked = new Set<number>();
  if (count * 3 > size) {
    const ranks = new Int32Array(size);
    for (let k = 0; k < size; k++) ranks[k] = k;
    for (let k = 0; k < count; k++) {
      const j = k + Math.floor(ks.randomFraction() * (size - k));
      const t = ranks[k]!;
      ranks[k] = ranks[j]!;
      ranks[j] = t;
      picked.add(ranks[k]!);
    }
  } else {
    while (picked.size < count) picked.add(Math.floor(ks.randomFraction() * size));
  }
  for (const r of picked) {
    Z.zsetAt(ks, e, r);
    if (pairs) out.array(2);
    out.bulk(Z.hitBuf, Z.hitOff, Z.hitLen);
    if (withScores) out.double(Z.score);
  }
}

// --- ZSCAN -----------------------------------------------------------------------------------------

/** SCAN's cursor as Redis parses it (strtoul: sign allowed, negative wraps; empty is 0), or null
 * when it is not one. */
function scanCursor(a: ArgList, i: number): number | null {
  const s = latin1(a.buf, a.off[i]!, a.len[i]!);
  if (s === '') return 0;
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(s);
  if (!m) return null;
  let v = BigInt(m[2]!);
  if (v > 0xffffffffffffffffn) return null;
  if (m[1] === '-') v = (0x10000000000000000n - v) & 0xffffffffffffffffn;
  return Number(v & 0xffffffffn);
}

function zscanCommand(c: ShardContext): void {
  const a = c.args;
  const cursor = scanCursor(a, 2);
  if (cursor === null) return c.out.error(ERR.invalidCursor);
  const e = zsetArg(c, 1);
  if (e < 0) return;
  const out = c.out;
  if (e === 0) {
    out.array(2);
    out.bulkString('0');
    out.array(0);
    return;
  }
  let count = 10;
  let patIdx = -1;
  for (let i = 3; i < a.argc; i += 2) {
    const more = i + 1 < a.argc;
    if (more && argIs(a, i, 'COUNT')) {
      const n = argInt(a, i + 1);
      if (Number.isNaN(n) && argBigInt(a, i + 1) === null) return out.error(ERR.notInteger);
      if (!(n >= 1)) return out.error(ERR.syntax);
      count = n;
    } else if (more && argIs(a, i, 'MATCH')) {
      patIdx = a.len[i + 1] === 1 && a.buf[a.off[i + 1]!] === 42 ? -1 : i + 1;
    } else {
      return out.error(ERR.syntax);
    }
  }
  const members: string[] = [];
  const found: number[] = [];
  const next = Z.zsetScan(c.ks, e, cursor, count, (b, o, l, s) => {
    if (patIdx >= 0 && !globMatch(a.buf, a.off[patIdx]!, a.len[patIdx]!, b, o, l, false)) return;
    members.push(latin1(b, o, l));
    found.push(s);
  });
  out.array(2);
  out.bulkString(String(next));
  out.array(members.length * 2);
  for (let k = 0; k < members.length; k++) {
    const m = members[k]!;
    out.bulk(bytesOf(m), 0, m.length);
    // ZSCAN replies scores as strings in both protocols (Redis builds a list of strings).
    out.bulkString(formatScore(found[k]!));
  }
}

// --- the table -------------------------------------------------------------------------------------

const G = 'zset' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };
const NUMKEYS_1 = { first: 0, last: 0, step: 0, numkeysAt: 1 };
/** A destination key, then keys counted by argument 2 (ZUNIONSTORE): Redis's legacy (1, 1, 1). */
const DST_NUMKEYS_2 = { first: 1, last: 1, step: 1, numkeysAt: 2 };

export const ZSET_COMMANDS = [
  { name: 'zadd', arity: -4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Add one or more members to a sorted set, or update its score if it already exists', shard: (c) => zaddGeneric(c, 2, 0) },
  { name: 'zincrby', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Increment the score of a member in a sorted set', shard: (c) => zaddGeneric(c, 2, INCR) },
  { name: 'zrem', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Remove one or more members from a sorted set', shard: zremCommand },
  { name: 'zscore', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Get the score associated with the given member in a sorted set', shard: zscoreCommand },
  { name: 'zmscore', arity: -3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '6.2.0', summary: 'Get the score associated with the given members in a sorted set', shard: zmscoreCommand },
  { name: 'zcard', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Get the number of members in a sorted set', shard: zcardCommand },
  { name: 'zcount', arity: 4, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '2.0.0', summary: 'Count the members in a sorted set with scores within the given values', shard: R.zcountCommand },
  { name: 'zlexcount', arity: 4, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '2.8.9', summary: 'Count the number of members in a sorted set between a given lexicographical range', shard: R.zlexcountCommand },
  { name: 'zrank', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '2.0.0', summary: 'Determine the index of a member in a sorted set', shard: (c) => zrankGeneric(c, false) },
  { name: 'zrevrank', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '2.0.0', summary: 'Determine the index of a member in a sorted set, with scores ordered from high to low', shard: (c) => zrankGeneric(c, true) },
  { name: 'zrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Return a range of members in a sorted set', shard: (c) => R.zrangeGeneric(c, 1, R.MODE_REPLY, R.AUTO, R.AUTO) },
  { name: 'zrangestore', arity: -5, flags: ['write', 'denyoom'], keys: { first: 1, last: 2, step: 1 }, group: G, since: '6.2.0', summary: 'Store a range of members from sorted set into another key', shard: (c) => R.zrangeGeneric(c, 2, R.MODE_STORE, R.AUTO, R.AUTO), crossShard: R.zrangestoreCrossShard },
  { name: 'zrevrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Return a range of members in a sorted set, by index, with scores ordered from high to low', shard: (c) => R.zrangeGeneric(c, 1, R.MODE_REPLY, R.RANK, R.REV) },
  { name: 'zrangebyscore', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '1.0.5', summary: 'Return a range of members in a sorted set, by score', shard: (c) => R.zrangeGeneric(c, 1, R.MODE_REPLY, R.SCORE, R.FWD) },
  { name: 'zrevrangebyscore', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '2.2.0', summary: 'Return a range of members in a sorted set, by score, with scores ordered from high to low', shard: (c) => R.zrangeGeneric(c, 1, R.MODE_REPLY, R.SCORE, R.REV) },
  { name: 'zrangebylex', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '2.8.9', summary: 'Return a range of members in a sorted set, by lexicographical range', shard: (c) => R.zrangeGeneric(c, 1, R.MODE_REPLY, R.LEX, R.FWD) },
  { name: 'zrevrangebylex', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: G, since: '2.8.9', summary: 'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.', shard: (c) => R.zrangeGeneric(c, 1, R.MODE_REPLY, R.LEX, R.REV) },
  { name: 'zremrangebyrank', arity: 4, flags: ['write'], keys: ONE_KEY, group: G, since: '2.0.0', summary: 'Remove all members in a sorted set within the given indexes', shard: (c) => R.zremrangeGeneric(c, R.RANK) },
  { name: 'zremrangebyscore', arity: 4, flags: ['write'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Remove all members in a sorted set within the given scores', shard: (c) => R.zremrangeGeneric(c, R.SCORE) },
  { name: 'zremrangebylex', arity: 4, flags: ['write'], keys: ONE_KEY, group: G, since: '2.8.9', summary: 'Remove all members in a sorted set between the given lexicographical range', shard: (c) => R.zremrangeGeneric(c, R.LEX) },
  { name: 'zpopmin', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'Remove and return members with the lowest scores in a sorted set', shard: (c) => zpopGeneric(c, false) },
  { name: 'zpopmax', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '5.0.0', summary: 'Remove and return members with the highest scores in a sorted set', shard: (c) => zpopGeneric(c, true) },
  { name: 'zmpop', arity: -4, flags: ['write'], keys: NUMKEYS_1, group: G, since: '7.0.0', summary: 'Remove and return members with scores in a sorted set', shard: zmpopCommand, crossShard: zmpopCrossShard },
  { name: 'zrandmember', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: G, since: '6.2.0', summary: 'Get one or multiple random elements from a sorted set', shard: zrandmemberCommand },
  { name: 'zunion', arity: -3, flags: ['readonly'], keys: NUMKEYS_1, group: G, since: '6.2.0', summary: 'Add multiple sorted sets', shard: (c) => O.setOpCommand(c, O.UNION, false), crossShard: (m) => O.setOpCrossShard(m, O.UNION, false) },
  { name: 'zinter', arity: -3, flags: ['readonly'], keys: NUMKEYS_1, group: G, since: '6.2.0', summary: 'Intersect multiple sorted sets', shard: (c) => O.setOpCommand(c, O.INTER, false), crossShard: (m) => O.setOpCrossShard(m, O.INTER, false) },
  { name: 'zdiff', arity: -3, flags: ['readonly'], keys: NUMKEYS_1, group: G, since: '6.2.0', summary: 'Subtract multiple sorted sets', shard: (c) => O.setOpCommand(c, O.DIFF, false), crossShard: (m) => O.setOpCrossShard(m, O.DIFF, false) },
  { name: 'zunionstore', arity: -4, flags: ['write', 'denyoom'], keys: DST_NUMKEYS_2, group: G, since: '2.0.0', summary: 'Add multiple sorted sets and store the resulting sorted set in a new key', shard: (c) => O.setOpCommand(c, O.UNION, true), crossShard: (m) => O.setOpCrossShard(m, O.UNION, true) },
  { name: 'zinterstore', arity: -4, flags: ['write', 'denyoom'], keys: DST_NUMKEYS_2, group: G, since: '2.0.0', summary: 'Intersect multiple sorted sets and store the resulting sorted set in a new key', shard: (c) => O.setOpCommand(c, O.INTER, true), crossShard: (m) => O.setOpCrossShard(m, O.INTER, true) },
  { name: 'zdiffstore', arity: -4, flags: ['write', 'denyoom'], keys: DST_NUMKEYS_2, group: G, since: '6.2.0', summary: 'Subtract multiple sorted sets and store the resulting sorted set in a new key', shard: (c) => O.setOpCommand(c, O.DIFF, true), crossShard: (m) => O.setOpCrossShard(m, O.DIFF, true) },
  { name: 'zintercard', arity: -3, flags: ['readonly'], keys: NUMKEYS_1, group: G, since: '7.0.0', summary: 'Intersect multiple sorted sets and return the cardinality of the result', shard: (c) => O.setOpCommand(c, O.INTER_CARD, false), crossShard: (m) => O.setOpCrossShard(m, O.INTER_CARD, false) },
  { name: 'zscan', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: G, since: '2.8.0', summary: 'Incrementally iterate sorted sets elements and associated scores', shard: zscanCommand },
  { name: '__zfetch', arity: 3, flags: ['readonly'], keys: ONE_KEY, group: 'internal', since: '0', summary: 'internal', shard: O.shardFetchCommand, hidden: true },
  { name: '__zstore', arity: -3, flags: ['write'], keys: ONE_KEY, group: 'internal', since: '0', summary: 'internal', shard: O.shardStoreCommand, hidden: true },
  { name: '__zrangeof', arity: -5, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, group: 'internal', since: '0', summary: 'internal', shard: (c) => R.zrangeGeneric(c, 2, R.MODE_FETCH, R.AUTO, R.AUTO), hidden: true },
] as const satisfies readonly CommandSpec[];

