// Geo commands (Redis 7.0 geo.c) on sorted sets: a point is a member whose score is its 52-bit
// geohash (util/geohash.ts). GEOADD is ZADD with encoded scores (its keyspace event is 'zadd');
// searches scan the 9 boxes of the shape by score range and filter by distance, as Redis, so
// results and their order match. A STORE form whose destination is on another shard runs the
// search on the source's shard (__geofetch) and stores on the destination's, both locked.

import type { ArgList, CommandSpec, MainCall, ShardContext } from './types.js';
import { argIs, argI64, argCopy } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import { parseScore } from './score.js';
import { zsetArg, latin1, bytesOf, addMember, packScored, storeZsetAt, type ScoredList } from './zset-common.js';
import { keyEvent } from './shard-helpers.js';
import * as Z from '../keyspace/zset.js';
import * as G from '../util/geohash.js';

// --- GEOADD ----------------------------------------------------------------------------------------

/** Scores of the current GEOADD (module scratch). */
let scores = new Float64Array(64);

/** Parses (lon, lat) at arguments i, i+1 into pairLon/pairLat; false after replying the error. */
let pairLon = 0;
let pairLat = 0;
function lonLatArg(c: ShardContext, i: number): boolean {
  const a = c.args;
  const lon = parseScore(a.buf, a.off[i]!, a.len[i]!);
  if (Number.isNaN(lon)) return (c.out.error(ERR.notFloat), false);
  const lat = parseScore(a.buf, a.off[i + 1]!, a.len[i + 1]!);
  if (Number.isNaN(lat)) return (c.out.error(ERR.notFloat), false);
  if (lon < G.LONG_MIN || lon > G.LONG_MAX || lat < G.LAT_MIN || lat > G.LAT_MAX) {
    c.out.error(ERR.geoBadPair(lon.toFixed(6), lat.toFixed(6)));
    return false;
  }
  pairLon = lon;
  pairLat = lat;
  return true;
}

/** GEOADD key [NX|XX] [CH] lon lat member ...: ZADD with the points' geohashes as scores. */
function geoaddCommand(c: ShardContext): void {
  const a = c.args;
  const out = c.out;
  let nx = false;
  let xx = false;
  let ch = false;
  let i = 2;
  for (; i < a.argc; i++) {
    if (argIs(a, i, 'NX')) nx = true;
    else if (argIs(a, i, 'XX')) xx = true;
    else if (argIs(a, i, 'CH')) ch = true;
    else break;
  }
  const n = (a.argc - i) / 3;
  if ((a.argc - i) % 3 !== 0 || (nx && xx)) return out.error(ERR.syntax);
  // ZADD's own check, reached when only options were given.
  if (n === 0) return out.error(ERR.syntax);
  if (n > scores.length) scores = new Float64Array(n * 2);
  for (let j = 0; j < n; j++) {
    if (!lonLatArg(c, i + 3 * j)) return;
    scores[j] = G.scoreOf(pairLon, pairLat);
  }
  const ks = c.ks;
  let e = zsetArg(c, 1, true);
  if (e < 0) return;
  if (e === 0 && !xx) e = Z.zsetCreate(ks, a.buf, a.off[1]!, a.len[1]!, 1, a.len[i + 2]!);
  let added = 0;
  let updated = 0;
  for (let j = 0; e !== 0 && j < n; j++) {
    const mi = i + 3 * j + 2;
    const mo = a.off[mi]!;
    const ml = a.len[mi]!;
    const s = scores[j]!;
    if (Z.zsetScore(ks, e, a.buf, mo, ml)) {
      if (nx) continue;
      if (s !== Z.score) {
        e = addMember(ks, e, a.buf, mo, ml, s);
        updated++;
      }
    } else {
      if (xx) continue;
      e = addMember(ks, e, a.buf, mo, ml, s);
      added++;
    }
  }
  out.integer(ch ? added + updated : added);
  if (added + updated > 0) keyEvent(c, 'z', 'zadd', 1);
}

// --- GEOHASH, GEOPOS, GEODIST ----------------------------------------------------------------------

function geohashCommand(c: ShardContext): void {
  const a = c.args;
  const e = zsetArg(c, 1);
  if (e < 0) return;
  c.out.array(a.argc - 2);
  for (let i = 2; i < a.argc; i++) {
    if (e === 0 || !Z.zsetScore(c.ks, e, a.buf, a.off[i]!, a.len[i]!)) c.out.nil();
    else c.out.bulkString(G.geohashString(Z.score));
  }
}

/** A coordinate as addReplyHumanLongDouble: a bulk string in RESP2, a double in RESP3. */
function replyCoord(c: { out: ShardContext['out'] }, x: number): void {
  const s = G.formatCoord(x);
  if (c.out.proto === 3) c.out.ascii(',' + s + '\r\n');
  else c.out.bulkString(s);
}

function geoposCommand(c: ShardContext): void {
  const a = c.args;
  const e = zsetArg(c, 1);
  if (e < 0) return;
  c.out.array(a.argc - 2);
  for (let i = 2; i < a.argc; i++) {
    if (e === 0 || !Z.zsetScore(c.ks, e, a.buf, a.off[i]!, a.len[i]!)) c.out.nilArray();
    else {
      G.decode(Z.score);
      c.out.array(2);
      replyCoord(c, G.lonOut);
      replyCoord(c, G.latOut);
    }
  }
}

/** The unit at argument i in meters (extractUnitOrReply), or -1 when it is not one. */
function unitOf(a: ArgList, i: number): number {
  if (argIs(a, i, 'M')) return 1;
  if (argIs(a, i, 'KM')) return 1000;
  if (argIs(a, i, 'FT')) return 0.3048;
  if (argIs(a, i, 'MI')) return 1609.34;
  return -1;
}

function geodistCommand(c: ShardContext): void {
  const a = c.args;
  let toMeters = 1;
  if (a.argc === 5) {
    toMeters = unitOf(a, 4);
    if (toMeters < 0) return c.out.error(ERR.geoUnit);
  } else if (a.argc > 5) return c.out.error(ERR.syntax);
  const e = zsetArg(c, 1);
  if (e < 0) return;
  if (e === 0) return c.out.nil();
  if (!Z.zsetScore(c.ks, e, a.buf, a.off[2]!, a.len[2]!)) return c.out.nil();
  const s1 = Z.score;
  if (!Z.zsetScore(c.ks, e, a.buf, a.off[3]!, a.len[3]!)) return c.out.nil();
  G.decode(s1);
  const x1 = G.lonOut;
  const y1 = G.latOut;
  G.decode(Z.score);
  c.out.bulkString(G.formatDistance(G.distance(x1, y1, G.lonOut, G.latOut) / toMeters));
}

// --- GEORADIUS, GEORADIUSBYMEMBER, GEOSEARCH, GEOSEARCHSTORE -----------------------------------

const RADIUS_COORDS = 1;
const RADIUS_MEMBER = 2;
const NOSTORE = 4;
const SEARCH = 8;
const SEARCHSTORE = 16;

const SORT_NONE = 0;
const SORT_ASC = 1;
const SORT_DESC = 2;

/** Found points of the current search (module scratch, reset per search). */
interface Point {
  member: string;
  dist: number;
  score: number;
  lon: number;
  lat: number;
}

/** The search, run on the source's shard. Arguments are read at base + i (i as in the user's
 * command: 0 its name); fetch replies the result to store packed instead of storing it. */
function searchGeneric(c: ShardContext, base: number, flags: number, fetch: boolean): void {
  const a = c.args;
  const out = c.out;
  const argc = a.argc - base;
  const at = (i: number): number => base + i;
  const is = (i: number, kw: string): boolean => argIs(a, at(i), kw);
  const num = (i: number): number => parseScore(a.buf, a.off[at(i)]!, a.len[at(i)]!);
  const srcIdx = flags & SEARCHSTORE ? 2 : 1;
  const e = zsetArg(c, at(srcIdx));
  if (e < 0) return;
  const shape: G.Shape = { lon: 0, lat: 0, box: false, radius: 0, width: 0, height: 0, toMeters: 1 };
  const lonLat = (i: number): boolean => {
    if (!lonLatArg(c, at(i))) return false;
    shape.lon = pairLon;
    shape.lat = pairLat;
    return true;
  };
  const fromMember = (i: number): boolean => {
    if (!Z.zsetScore(c.ks, e, a.buf, a.off[at(i)]!, a.len[at(i)]!)) return (out.error(ERR.geoDecodeMember), false);
    G.decode(Z.score);
    shape.lon = G.lonOut;
    shape.lat = G.latOut;
    return true;
  };
  const radius = (i: number): boolean => {
    const d = num(i);
    if (Number.isNaN(d)) return (out.error(ERR.geoNeedRadius), false);
    if (d < 0) return (out.error(ERR.geoRadiusNegative), false);
    const u = unitOf(a, at(i + 1));
    if (u < 0) return (out.error(ERR.geoUnit), false);
    shape.box = false;
    shape.radius = d;
    shape.toMeters = u;
    return true;
  };
  let base_ = 2;
  let storeIdx = -1;
  let storeDist = false;
  if (flags & RADIUS_COORDS) {
    base_ = 6;
    if (!lonLat(2) || !radius(4)) return;
  } else if (flags & RADIUS_MEMBER) {
    base_ = 5;
    // Without the key Redis parses neither the member nor the radius, only the options.
    if (e !== 0 && (!fromMember(2) || !radius(3))) return;
  } else if (flags & SEARCHSTORE) {
    base_ = 3;
    storeIdx = 1;
  }
  let withDist = false;
  let withHash = false;
  let withCoord = false;
  let fromMem = false;
  let fromLoc = false;
  let byRadius = false;
  let byBox = false;
  let sort = SORT_NONE;
  let any = false;
  let count = 0;
  const search = (flags & SEARCH) !== 0;
  const remaining = argc - base_;
  for (let k = 0; k < remaining; k++) {
    const i = base_ + k;
    if (is(i, 'WITHDIST')) withDist = true;
    else if (is(i, 'WITHHASH')) withHash = true;
    else if (is(i, 'WITHCOORD')) withCoord = true;
    else if (is(i, 'ANY')) any = true;
    else if (is(i, 'ASC')) sort = SORT_ASC;
    else if (is(i, 'DESC')) sort = SORT_DESC;
    else if (is(i, 'COUNT') && k + 1 < remaining) {
      const n = argI64(a, at(i + 1));
      if (Number.isNaN(n)) return out.error(ERR.notInteger);
      if (n <= 0) return out.error(ERR.geoCountPositive);
      count = n;
      k++;
    } else if ((is(i, 'STORE') || is(i, 'STOREDIST')) && k + 1 < remaining && !(flags & NOSTORE) && !search) {
      storeDist = is(i, 'STOREDIST');
      storeIdx = i + 1;
      k++;
    } else if (is(i, 'STOREDIST') && search && flags & SEARCHSTORE) {
      storeDist = true;
    } else if (is(i, 'FROMMEMBER') && k + 1 < remaining && search && !fromLoc) {
      if (e !== 0 && !fromMember(i + 1)) return;
      fromMem = true;
      k++;
    } else if (is(i, 'FROMLONLAT') && k + 2 < remaining && search && !fromMem) {
      if (!lonLat(i + 1)) return;
      fromLoc = true;
      k += 2;
    } else if (is(i, 'BYRADIUS') && k + 2 < remaining && search && !byBox) {
      if (!radius(i + 1)) return;
      byRadius = true;
      k += 2;
    } else if (is(i, 'BYBOX') && k + 3 < remaining && search && !byRadius) {
      const w = num(i + 1);
      if (Number.isNaN(w)) return out.error(ERR.geoNeedWidth);
      const h = num(i + 2);
      if (Number.isNaN(h)) return out.error(ERR.geoNeedHeight);
      if (h < 0 || w < 0) return out.error(ERR.geoBoxNegative);
      const u = unitOf(a, at(i + 3));
      if (u < 0) return out.error(ERR.geoUnit);
      shape.box = true;
      shape.width = w;
      shape.height = h;
      shape.toMeters = u;
      byBox = true;
      k += 3;
    } else return out.error(ERR.syntax);
  }
  const store = storeIdx >= 0;
  if (store && (withDist || withHash || withCoord)) return out.error(ERR.geoStoreWith(flags & SEARCHSTORE ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS'));
  const name = latin1(a.buf, a.off[at(0)]!, a.len[at(0)]!);
  if (search && !(fromMem || fromLoc)) return out.error(ERR.geoFromOne(name));
  if (search && !(byRadius || byBox)) return out.error(ERR.geoByOne(name));
  if (any && count === 0) return out.error(ERR.geoAnyCount);
  const points: Point[] = [];
  if (e !== 0) {
    if (count !== 0 && sort === SORT_NONE && !any) sort = SORT_ASC;
    collect(c, e, shape, any ? count : 0, points);
  }
  if (!store) {
    if (points.length === 0) return out.array(0);
  }
  const returned = count === 0 || points.length < count ? points.length : count;
  if (sort === SORT_ASC) points.sort((p, q) => p.dist - q.dist);
  else if (sort === SORT_DESC) points.sort((p, q) => q.dist - p.dist);
  if (!store) {
    const options = (withDist ? 1 : 0) + (withCoord ? 1 : 0) + (withHash ? 1 : 0);
    out.array(returned);
    for (let j = 0; j < returned; j++) {
      const p = points[j]!;
      if (options) out.array(options + 1);
      out.bulk(bytesOf(p.member), 0, p.member.length);
      if (withDist) out.bulkString(G.formatDistance(p.dist / shape.toMeters));
      if (withHash) out.integer(p.score);
      if (withCoord) {
        out.array(2);
        replyCoord(c, p.lon);
        replyCoord(c, p.lat);
      }
    }
    return;
  }
  const list: ScoredList = { members: [], scores: [] };
  for (let j = 0; j < returned; j++) {
    const p = points[j]!;
    list.members.push(p.member);
    list.scores.push(storeDist ? p.dist / shape.toMeters : p.score);
  }
  if (fetch) {
    const packed = packScored(list);
    out.bulk(packed, 0, packed.length);
    return;
  }
  out.integer(storeZsetAt(c, at(storeIdx), list, search ? 'geosearchstore' : 'georadiusstore'));
}

/** Points of the sorted set e inside the shape, box by box (membersOfAllNeighbors); with limit
 * > 0 (ANY) it stops once it has that many. */
function collect(c: ShardContext, e: number, shape: G.Shape, limit: number, points: Point[]): void {
  const ks = c.ks;
  G.areas(shape);
  for (let i = 0; i < 9; i++) {
    if (!G.boxUsed[i]) continue;
    if (limit && points.length >= limit) break;
    const from = Z.zsetCountBelowScore(ks, e, G.boxStart[i]!, false);
    const to = Z.zsetCountBelowScore(ks, e, G.boxEnd[i]!, false) - 1;
    if (to < from) continue;
    Z.zsetRange(ks, e, from, to, false, (b, o, l, s) => {
      G.decode(s);
      const lon = G.lonOut;
      const lat = G.latOut;
      const d = G.withinShape(shape, lon, lat);
      if (d >= 0) points.push({ member: latin1(b, o, l), dist: d, score: s, lon, lat });
      return !(limit && points.length >= limit);
    });
  }
}

/** GEORADIUS[BYMEMBER] ... STORE|STOREDIST dst: the destination's argument index, or 0. */
function radiusStoreKeyAt(a: ArgList): number {
  let at = 0;
  for (let i = 5; i < a.argc; i++) {
    if ((argIs(a, i, 'STORE') || argIs(a, i, 'STOREDIST')) && i + 1 < a.argc) {
      at = i + 1;
      i++;
    }
  }
  return at;
}

/** The STORE forms with the destination on another shard: the search runs on the source's shard
 * (__geofetch src flags <the command's arguments>, the same parsing and errors) and the result is
 * stored on the destination's (__zstore), both shards locked meanwhile. */
async function storeCrossShard(m: MainCall, flags: number): Promise<void> {
  const a = m.args;
  const search = (flags & SEARCHSTORE) !== 0;
  const src = argCopy(a, search ? 2 : 1);
  const dstAt = search ? 1 : radiusStoreKeyAt(a);
  const dst = argCopy(a, dstAt);
  const args: Buffer[] = [Buffer.from('__geofetch'), src, Buffer.from(String(flags))];
  for (let i = 0; i < a.argc; i++) args.push(argCopy(a, i));
  const ss = m.server.shardOfKey(src, 0, src.length);
  const sd = m.server.shardOfKey(dst, 0, dst.length);
  await m.server.withShardsLocked([ss, sd], async (call) => {
    const r = await call(ss, args, 2);
    // An error, or no store after all (a later STORE option named a key on the source's shard).
    if (r[0] !== 36) {
      m.out.raw(r, 0, r.length);
      return;
    }
    const nl = r.indexOf(10);
    const packed = r.subarray(nl + 1, r.length - 2);
    const stored = shardOk(await call(sd, ['__zstore', dst, packed, search ? 'geosearchstore' : 'georadiusstore'], 2));
    m.out.raw(stored, 0, stored.length);
  });
}

/** __geofetch src flags cmd args...: the search of `cmd args...` with its result packed. */
function geofetchCommand(c: ShardContext): void {
  const a = c.args;
  const flags = Number(latin1(a.buf, a.off[2]!, a.len[2]!));
  searchGeneric(c, 3, flags, true);
}

// --- the table -------------------------------------------------------------------------------------

const GR = 'geo' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };
const RADIUS_KEYS = { first: 1, last: 1, step: 1, extraKeyAt: radiusStoreKeyAt };

export const GEO_COMMANDS = [
  { name: 'geoadd', arity: -5, flags: ['write', 'denyoom'], keys: ONE_KEY, group: GR, since: '3.2.0', summary: 'Add one or more geospatial items in the geospatial index represented using a sorted set', shard: geoaddCommand },
  { name: 'geohash', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: GR, since: '3.2.0', summary: 'Returns members of a geospatial index as standard geohash strings', shard: geohashCommand },
  { name: 'geopos', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: GR, since: '3.2.0', summary: 'Returns longitude and latitude of members of a geospatial index', shard: geoposCommand },
  { name: 'geodist', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: GR, since: '3.2.0', summary: 'Returns the distance between two members of a geospatial index', shard: geodistCommand },
  { name: 'georadius', arity: -6, flags: ['write', 'denyoom'], keys: RADIUS_KEYS, group: GR, since: '3.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point', shard: (c) => searchGeneric(c, 0, RADIUS_COORDS, false), crossShard: (m) => storeCrossShard(m, RADIUS_COORDS) },
  { name: 'georadiusbymember', arity: -5, flags: ['write', 'denyoom'], keys: RADIUS_KEYS, group: GR, since: '3.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member', shard: (c) => searchGeneric(c, 0, RADIUS_MEMBER, false), crossShard: (m) => storeCrossShard(m, RADIUS_MEMBER) },
  { name: 'georadius_ro', arity: -6, flags: ['readonly'], keys: ONE_KEY, group: GR, since: '3.2.10', summary: 'A read-only variant for GEORADIUS', shard: (c) => searchGeneric(c, 0, RADIUS_COORDS | NOSTORE, false) },
  { name: 'georadiusbymember_ro', arity: -5, flags: ['readonly'], keys: ONE_KEY, group: GR, since: '3.2.10', summary: 'A read-only variant for GEORADIUSBYMEMBER', shard: (c) => searchGeneric(c, 0, RADIUS_MEMBER | NOSTORE, false) },
  { name: 'geosearch', arity: -7, flags: ['readonly'], keys: ONE_KEY, group: GR, since: '6.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.', shard: (c) => searchGeneric(c, 0, SEARCH, false) },
  { name: 'geosearchstore', arity: -8, flags: ['write', 'denyoom'], keys: { first: 1, last: 2, step: 1 }, group: GR, since: '6.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.', shard: (c) => searchGeneric(c, 0, SEARCH | SEARCHSTORE, false), crossShard: (m) => storeCrossShard(m, SEARCH | SEARCHSTORE) },
  { name: '__geofetch', arity: -5, flags: ['readonly'], keys: ONE_KEY, group: 'internal', since: '0', summary: 'internal', shard: geofetchCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
