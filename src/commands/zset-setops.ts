// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis 7.0's
// zunionInterDiffGenericCommand): sets are accepted as inputs with score 1, WEIGHTS multiply
// (NaN becomes 0), AGGREGATE SUM (inf + -inf is 0), MIN or MAX; inputs are taken smallest first
// for union and intersection, as Redis (the order of a sum's terms decides its rounding). When the
// keys span shards a coordinator locks their shards, fetches each input whole (__zfetch) and
// stores the result (__zstore), so no other client sees a half-done ZUNIONSTORE.

import type { ArgList, MainCall, ShardCaller, ShardContext } from './types.js';
import { argIs, argI64, argCopy } from './args.js';
import { ERR, ReplyError, shardOk } from '../core/errors.js';
import { parseScore } from './score.js';
import { writeKey, readKey } from './shard-helpers.js';
import { bytesOf, latin1, packScored, replyScored, sortScored, storeZset, storeZsetAt, unpackScored, type ScoredList } from './zset-common.js';
import { TYPE_SET, TYPE_ZSET, type Keyspace } from '../keyspace/keyspace.js';
import * as Z from '../keyspace/zset.js';
import * as C from '../keyspace/collection.js';

export const UNION = 0;
export const INTER = 1;
export const DIFF = 2;
export const INTER_CARD = 3;

const SUM = 0;
const MIN = 1;
const MAX = 2;

const NAMES = [
  ['zunion', 'zinter', 'zdiff', 'zintercard'],
  ['zunionstore', 'zinterstore', 'zdiffstore', ''],
];

/** One input: a sorted set or a set (score 1) of this shard, or one fetched from another. */
interface Source {
  readonly size: number;
  /** The member's score, or undefined when absent. */
  find(m: string): number | undefined;
  forEach(fn: (m: string, s: number) => void): void;
}

const EMPTY: Source = { size: 0, find: () => undefined, forEach: () => undefined };

function zsetSource(ks: Keyspace, e: number): Source {
  return {
    size: Z.zsetCount(ks, e),
    find: (m) => (Z.zsetScore(ks, e, bytesOf(m), 0, m.length) ? Z.score : undefined),
    forEach: (fn) => {
      const n = Z.zsetCount(ks, e);
      if (n > 0) Z.zsetRange(ks, e, 0, n - 1, false, (b, o, l, s) => (fn(latin1(b, o, l), s), true));
    },
  };
}

function setSource(ks: Keyspace, e: number): Source {
  return {
    size: ks.elementCount(e),
    find: (m) => (C.elementFind(ks, e, bytesOf(m), 0, m.length) ? 1 : undefined),
    forEach: (fn) => C.elementForEach(ks, e, (b, o, l) => fn(latin1(b, o, l), 1)),
  };
}

function listSource(list: ScoredList): Source {
  const map = new Map<string, number>();
  for (let i = 0; i < list.members.length; i++) map.set(list.members[i]!, list.scores[i]!);
  return { size: map.size, find: (m) => map.get(m), forEach: (fn) => map.forEach((s, m) => fn(m, s)) };
}

interface Options {
  weights: number[];
  aggregate: number;
  withScores: boolean;
  limit: number;
}

/** The options after the keys (from argument j), as Redis parses them; null after the error. */
function parseOptions(a: ArgList, j: number, setnum: number, op: number, store: boolean, error: (t: string) => void): Options | null {
  const o: Options = { weights: new Array<number>(setnum).fill(1), aggregate: SUM, withScores: false, limit: 0 };
  const card = op === INTER_CARD;
  while (j < a.argc) {
    const remaining = a.argc - j;
    if (op !== DIFF && !card && remaining >= setnum + 1 && argIs(a, j, 'WEIGHTS')) {
      j++;
      for (let i = 0; i < setnum; i++, j++) {
        const w = parseScore(a.buf, a.off[j]!, a.len[j]!);
        if (Number.isNaN(w)) {
          error(ERR.weightNotFloat);
          return null;
        }
        o.weights[i] = w;
      }
    } else if (op !== DIFF && !card && remaining >= 2 && argIs(a, j, 'AGGREGATE')) {
      j++;
      if (argIs(a, j, 'SUM')) o.aggregate = SUM;
      else if (argIs(a, j, 'MIN')) o.aggregate = MIN;
      else if (argIs(a, j, 'MAX')) o.aggregate = MAX;
      else {
        error(ERR.syntax);
        return null;
      }
      j++;
    } else if (!store && !card && argIs(a, j, 'WITHSCORES')) {
      j++;
      o.withScores = true;
    } else if (card && remaining >= 2 && argIs(a, j, 'LIMIT')) {
      const n = argI64(a, j + 1);
      if (!(n >= 0)) {
        error(ERR.limitNegative);
        return null;
      }
      o.limit = n;
      j += 2;
    } else {
      error(ERR.syntax);
      return null;
    }
  }
  return o;
}

function aggregate(target: number, val: number, how: number): number {
  if (how === SUM) {
    const s = target + val;
    return Number.isNaN(s) ? 0 : s;
  }
  if (how === MIN) return val < target ? val : target;
  return val > target ? val : target;
}

/** The result of op over the sources (by size for union and intersection, as Redis); for
 * INTER_CARD only its size, in `card`. */
function compute(op: number, srcs: Source[], o: Options): ScoredList {
  const members: string[] = [];
  const scores: number[] = [];
  card = 0;
  if (op === DIFF) {
    const first = srcs[0]!;
    first.forEach((m, s) => {
      for (let j = 1; j < srcs.length; j++) if (srcs[j]!.find(m) !== undefined) return;
      members.push(m);
      scores.push(s);
    });
    return sortScored(members, scores);
  }
  const order = srcs.map((s, i) => i).sort((x, y) => srcs[x]!.size - srcs[y]!.size);
  if (op === INTER || op === INTER_CARD) {
    const i0 = order[0]!;
    const first = srcs[i0]!;
    if (first.size === 0) return { members, scores };
    let done = false;
    first.forEach((m, s) => {
      if (done) return;
      let score = o.weights[i0]! * s;
      if (Number.isNaN(score)) score = 0;
      for (let k = 1; k < order.length; k++) {
        const j = order[k]!;
        const v = srcs[j]!.find(m);
        if (v === undefined) return;
        score = aggregate(score, v * o.weights[j]!, o.aggregate);
      }
      if (op === INTER_CARD) {
        card++;
        if (o.limit > 0 && card >= o.limit) done = true;
        return;
      }
      members.push(m);
      scores.push(score);
    });
    return op === INTER_CARD ? { members, scores } : sortScored(members, scores);
  }
  const acc = new Map<string, number>();
  for (const i of order) {
    const w = o.weights[i]!;
    srcs[i]!.forEach((m, s) => {
      let score = w * s;
      if (Number.isNaN(score)) score = 0;
      const cur = acc.get(m);
      acc.set(m, cur === undefined ? score : aggregate(cur, score, o.aggregate));
    });
  }
  acc.forEach((s, m) => {
    members.push(m);
    scores.push(s);
  });
  return sortScored(members, scores);
}

/** The cardinality compute() found for INTER_CARD. */
let card = 0;

/** numkeys at argument idx and its checks; the count, or 0 after the error. */
function numkeysOf(a: ArgList, idx: number, name: string, error: (t: string) => void): number {
  const n = argI64(a, idx);
  if (Number.isNaN(n)) {
    error(ERR.notInteger);
    return 0;
  }
  if (n < 1) {
    error(ERR.atLeastOneKey(name));
    return 0;
  }
  if (n > a.argc - (idx + 1)) {
    error(ERR.syntax);
    return 0;
  }
  return n;
}

function reply(out: ShardContext['out'], op: number, list: ScoredList, o: Options): void {
  if (op === INTER_CARD) out.integer(card);
  else replyScored({ out }, list, o.withScores);
}

/** The command on one shard (all its keys here). */
export function setOpCommand(c: ShardContext, op: number, store: boolean): void {
  const a = c.args;
  const out = c.out;
  const idx = store ? 2 : 1;
  const setnum = numkeysOf(a, idx, NAMES[store ? 1 : 0]![op]!, (t) => out.error(t));
  if (setnum === 0) return;
  const ks = c.ks;
  const srcs: Source[] = [];
  for (let i = idx + 1; i <= idx + setnum; i++) {
    const e = store ? writeKey(c, i) : readKey(c, i);
    if (e === 0) srcs.push(EMPTY);
    else {
      const t = ks.type(e);
      if (t === TYPE_ZSET) srcs.push(zsetSource(ks, e));
      else if (t === TYPE_SET) srcs.push(setSource(ks, e));
      else return out.error(ERR.wrongType);
    }
  }
  const o = parseOptions(a, idx + setnum + 1, setnum, op, store, (t) => out.error(t));
  if (!o) return;
  const list = compute(op, srcs, o);
  if (store) out.integer(storeZsetAt(c, 1, list, NAMES[1]![op]!));
  else reply(out, op, list, o);
}

/** __zfetch key R|W: a sorted set or set whole, packed (zset-common's packScored; a set's
 * members with score 1), nil when absent, WRONGTYPE for another type. */
export function shardFetchCommand(c: ShardContext): void {
  const write = argIs(c.args, 2, 'W');
  const e = write ? writeKey(c, 1) : readKey(c, 1);
  if (e === 0) return c.out.nil();
  const t = c.ks.type(e);
  let src: Source;
  if (t === TYPE_ZSET) src = zsetSource(c.ks, e);
  else if (t === TYPE_SET) src = setSource(c.ks, e);
  else return c.out.error(ERR.wrongType);
  const list: ScoredList = { members: [], scores: [] };
  src.forEach((m, s) => {
    list.members.push(m);
    list.scores.push(s);
  });
  const b = packScored(list);
  c.out.bulk(b, 0, b.length);
}

/** __zstore key packed [event]: replaces key with the sorted set packed (none: deletes key),
 * with the STORE form's keyspace events when `event` is given; replies the member count. */
export function shardStoreCommand(c: ShardContext): void {
  const a = c.args;
  const list = unpackScored(a.buf, a.off[2]!, a.len[2]!);
  const event = a.argc > 3 ? Buffer.from(a.buf.subarray(a.off[3]!, a.off[3]! + a.len[3]!)).toString('latin1') : '';
  c.out.integer(event === '' ? storeZset(c.ks, a.buf, a.off[1]!, a.len[1]!, list) : storeZsetAt(c, 1, list, event));
}

/** The inputs from their shards (under the caller's lock); null when one has the wrong type. */
async function fetchSources(m: MainCall, call: ShardCaller, keys: readonly Buffer[], write: boolean): Promise<Source[] | null> {
  const srcs: Source[] = [];
  for (const k of keys) {
    const r = await call(m.server.shardOfKey(k, 0, k.length), ['__zfetch', k, write ? 'W' : 'R'], 2);
    if (r[0] === 45) {
      const text = r.toString('latin1', 1, r.length - 2);
      if (text === ERR.wrongType) return null;
      throw new ReplyError(text);
    }
    if (r[1] === 45) {
      srcs.push(EMPTY); // $-1: no such key
      continue;
    }
    const nl = r.indexOf(10);
    srcs.push(listSource(unpackScored(r, nl + 1, r.length - nl - 3)));
  }
  return srcs;
}

/** The command with keys on several shards: the same steps, with the inputs fetched whole. */
export async function setOpCrossShard(m: MainCall, op: number, store: boolean): Promise<void> {
  const a = m.args;
  const idx = store ? 2 : 1;
  const setnum = numkeysOf(a, idx, NAMES[store ? 1 : 0]![op]!, (t) => m.out.error(t));
  if (setnum === 0) return;
  const keys: Buffer[] = [];
  for (let i = idx + 1; i <= idx + setnum; i++) keys.push(argCopy(a, i));
  const dst = store ? argCopy(a, 1) : null;
  // The arguments are views into the receive buffer: options are parsed before the first await.
  const optError = { text: '' };
  const o = parseOptions(a, idx + setnum + 1, setnum, op, store, (t) => (optError.text = t));
  const all = dst ? [dst, ...keys] : keys;
  const shards = [...new Set(all.map((k) => m.server.shardOfKey(k, 0, k.length)))];
  await m.server.withShardsLocked(shards, async (call) => {
    const srcs = await fetchSources(m, call, keys, store);
    // Redis checks the inputs' types before it reads the options.
    if (!srcs) return m.out.error(ERR.wrongType);
    if (!o) return m.out.error(optError.text);
    const list = compute(op, srcs, o);
    if (dst) {
      const r = shardOk(await call(m.server.shardOfKey(dst, 0, dst.length), ['__zstore', dst, packScored(list), NAMES[1]![op]!], 2));
      m.out.raw(r, 0, r.length);
    } else reply(m.out, op, list, o);
  });
}
