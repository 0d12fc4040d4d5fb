// Geo commands, differentially: the same scripts go as raw RESP to a real redis-server and to
// Tessera (four shards), in RESP2 and RESP3; replies must be byte-identical: GEOADD and its
// options, GEOPOS/GEODIST/GEOHASH formatting, searches over hundreds of generated points (radius
// and box, every unit, ASC/DESC, COUNT [ANY], WITH* options, near the poles and the antimeridian,
// radii of thousands of km), the STORE forms with the destination on the same and on another
// shard, and every error. Then cluster mode (CROSSSLOT for STORE forms across slots), keyspace
// events, and ioredis against both servers.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rng } from '../keyspace/helpers.js';
import { Redis } from 'ioredis';
import { keyOn as keyOnShard } from './shard-keys.js';
import { rawClient, type RespValue, type ServerHandle } from './harness.js';
import { ServerPair, compareInOneNodeClusters, groupsOn, s, timedOn, type Compare, type Step } from './differential-helpers.js';

/** Byte for byte except numbers, which may differ in the last bits: a distance goes through the
 * platform's sin/cos/asin, and V8's differ from glibc's by an ulp at times (%.17g shows it). */
const nearly: Compare = (r, t) => {
  const a = r.raw.toString('latin1').split('\r\n');
  const b = t.raw.toString('latin1').split('\r\n');
  if (a.length !== b.length) return 'lengths differ';
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const x = Number(a[i]!.replace(/^[,$]/, ''));
    const y = Number(b[i]!.replace(/^[,$]/, ''));
    const prefixA = a[i]!.charAt(0) === ',' ? ',' : '';
    const prefixB = b[i]!.charAt(0) === ',' ? ',' : '';
    if (a[i]!.charAt(0) === '$' && b[i]!.charAt(0) === '$') continue; // bulk lengths of numbers
    if (prefixA !== prefixB || !(Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x)))) return `line ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
};

const SHARDS = 4;
const TEST_TIMEOUT_MS = 90_000;
const keyOn = (sh: number, prefix: string): string => keyOnShard(sh, SHARDS, prefix);

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });
const diff = suite('geo commands: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

function lines(text: string): Step[] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => s(l));
}


group('GEOADD (NX XX CH), GEOPOS, GEODIST, GEOHASH', lines(`
  DEL g
  GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
  GEOADD g NX 13.4 38.1 Palermo 2.35 48.85 Paris
  GEOADD g XX CH 13.5 38.2 Palermo -0.12 51.5 London
  GEOADD g CH 13.5 38.2 Palermo 13.6 38.3 Catania
  GEOADD g NX XX 1 1 a
  GEOADD g CH CH CH
  GEOADD g 1 2
  GEOADD g 200 10 a
  GEOADD g 10 86 a
  GEOADD g abc 10 a
  GEOADD g 10 abc a
  GEOADD g 180 85.05112878 corner -180 -85.05112878 corner2 0 0 zero
  ZRANGE g 0 -1 WITHSCORES
  GEOPOS g Palermo Catania nope corner corner2 zero
  GEOPOS g
  GEOPOS nokey a b
  GEODIST g Palermo Catania
  GEODIST g Palermo Catania km
  GEODIST g Palermo Catania MI
  GEODIST g Palermo Catania ft
  GEODIST g Palermo Catania parsec
  GEODIST g Palermo Catania km extra
  GEODIST g Palermo nope
  GEODIST nokey a b
  GEODIST g Palermo Palermo
  GEOHASH g Palermo Catania nope corner corner2 zero
  GEOHASH nokey a
  SET str x
  GEOADD str 1 1 a
  GEOPOS str a
  GEODIST str a b
  GEOHASH str a
  GEORADIUS str 1 1 1 km
  GEOSEARCH str FROMLONLAT 1 1 BYRADIUS 1 km
`));

group('GEORADIUS, GEORADIUSBYMEMBER and _RO: options and errors', lines(`
  DEL g
  GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 17.241510 38.788135 edge2
  GEORADIUS g 15 37 200 km
  GEORADIUS g 15 37 200 km ASC
  GEORADIUS g 15 37 200 km DESC WITHDIST WITHCOORD WITHHASH
  GEORADIUS g 15 37 200 km COUNT 1
  GEORADIUS g 15 37 200 km COUNT 1 DESC
  GEORADIUS g 15 37 200 km COUNT 1 ANY
  GEORADIUS g 15 37 200 km ANY
  GEORADIUS g 15 37 200 km COUNT 0
  GEORADIUS g 15 37 200 km COUNT -3
  GEORADIUS g 15 37 200 km COUNT abc
  GEORADIUS g 15 37 200 km COUNT
  GEORADIUS g 15 37 -1 km
  GEORADIUS g 15 37 abc km
  GEORADIUS g 15 37 10 lightyears
  GEORADIUS g 200 37 10 km
  GEORADIUS g 15 37 10 km bogus
  GEORADIUS g 15 37 10 km WITHDIST STORE dst
  GEORADIUS g 15 37 400 km STORE dst
  ZRANGE dst 0 -1 WITHSCORES
  GEORADIUS g 15 37 400 km STOREDIST dst
  ZRANGE dst 0 -1 WITHSCORES
  GEORADIUS g 15 37 1 m STORE dst
  EXISTS dst
  GEORADIUS nokey 15 37 1 m STORE g2
  GEORADIUS nokey 15 37 1 m
  GEORADIUS_RO g 15 37 200 km WITHDIST
  GEORADIUS_RO g 15 37 200 km STORE dst
  GEORADIUSBYMEMBER g Palermo 200 km WITHDIST WITHCOORD
  GEORADIUSBYMEMBER g Palermo 200 km COUNT 2 DESC
  GEORADIUSBYMEMBER g nope 200 km
  GEORADIUSBYMEMBER nokey nope abc km
  GEORADIUSBYMEMBER nokey nope 1 km STORE dst
  GEORADIUSBYMEMBER g Palermo 500 km STOREDIST dst
  ZRANGE dst 0 -1 WITHSCORES
  GEORADIUSBYMEMBER_RO g Palermo 200 mi WITHHASH
  GEORADIUSBYMEMBER_RO g Palermo 200 km STORE dst
`));

group('GEOSEARCH, GEOSEARCHSTORE: options and errors', lines(`
  DEL g
  GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 17.241510 38.788135 edge2
  GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km ASC
  GEOSEARCH g FROMMEMBER Palermo BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH
  GEOSEARCH g FROMLONLAT 15 37 BYBOX 400 400 km DESC COUNT 2
  GEOSEARCH g FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 ANY
  GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km FROMMEMBER Palermo
  GEOSEARCH g FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 200 km
  GEOSEARCH g BYRADIUS 200 km
  GEOSEARCH g FROMLONLAT 15 37 COUNT 3
  GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km
  GEOSEARCH g FROMLONLAT 15 37 BYBOX -1 1 km
  GEOSEARCH g FROMLONLAT 15 37 BYBOX abc 1 km
  GEOSEARCH g FROMLONLAT 15 37 BYBOX 1 abc km
  GEOSEARCH g FROMLONLAT 15 37 BYBOX 1 1 yards
  GEOSEARCH g FROMMEMBER nope BYRADIUS 10 km
  GEOSEARCH nokey FROMMEMBER nope BYRADIUS 10 km
  GEOSEARCH nokey FROMMEMBER nope BYRADIUS 10 km ANY
  GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km STORE dst
  GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
  geosearch g FROMLONLAT 15 37 COUNT 3
  GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 200 km
  ZRANGE dst 0 -1 WITHSCORES
  GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST COUNT 2 DESC
  ZRANGE dst 0 -1 WITHSCORES
  GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
  GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 1 m
  EXISTS dst
  GEOSEARCHSTORE dst nokey FROMMEMBER x BYRADIUS 1 m
  geosearchstore dst g FROMLONLAT 15 37
  # The antimeridian and the top latitude: cells that overflow to 2^26.
  DEL edge
  GEOADD edge 180 10 east -180 10 west 179.95 10 near 10 85.05112878 top 10 -85.05112878 bottom
  ZRANGE edge 0 -1 WITHSCORES
  GEOPOS edge east west top bottom
  GEOSEARCH edge FROMLONLAT 179.9 10 BYRADIUS 100 km ASC WITHCOORD
  GEOSEARCH edge FROMLONLAT 180 10 BYRADIUS 100 km ASC WITHDIST
  GEOSEARCH edge FROMLONLAT -180 10 BYBOX 300 300 km DESC WITHHASH
  GEOSEARCH edge FROMLONLAT 10 85 BYRADIUS 100 km ASC WITHDIST
  GEOSEARCH edge FROMLONLAT 10 -85 BYRADIUS 5000 km ASC WITHDIST
  GEOSEARCH edge FROMLONLAT 0 0 BYRADIUS 0 m
  GEOSEARCH edge FROMMEMBER near BYRADIUS 0 km WITHDIST
  GEOSEARCH edge FROMLONLAT 0 0 BYRADIUS 100000 km ASC
  GEOSEARCH edge FROMLONLAT 0 0 BYBOX 100000 100000 km ASC
  GEORADIUS edge 179.95 10 inf km
  COMMAND GETKEYS GEORADIUS src 1 1 1 km STORE dst
  COMMAND GETKEYS GEORADIUSBYMEMBER src m 1 km STOREDIST dst
  COMMAND GETKEYS GEORADIUS src 1 1 1 km
  COMMAND GETKEYS GEOSEARCHSTORE dst src FROMLONLAT 1 1 BYRADIUS 1 km
  COMMAND GETKEYS GEOADD k 1 1 m
`));

/** Many points around several places (poles, antimeridian, equator), searched with random shapes. */
function generated(seed: number): Step[] {
  const r = rng(seed);
  const steps: Step[] = [s(['DEL', 'many'])];
  const centres = [[13, 38], [179.9, 10], [-179.9, -10], [0, 0], [20, 84], [-70, -84.9], [100, 45]] as const;
  const members: string[] = [];
  for (let i = 0; i < 600; i++) {
    const [cx, cy] = centres[i % centres.length]!;
    const lon = Math.max(-180, Math.min(180, cx + (r() - 0.5) * 20));
    const lat = Math.max(-85, Math.min(85, cy + (r() - 0.5) * 10));
    members.push(`p${i}`);
    steps.push(s(['GEOADD', 'many', lon.toFixed(6), lat.toFixed(6), `p${i}`]));
  }
  const units = ['m', 'km', 'mi', 'ft'];
  const toM = [1, 1000, 1609.34, 0.3048];
  for (let q = 0; q < 120; q++) {
    const [cx, cy] = centres[q % centres.length]!;
    const lon = Math.max(-180, Math.min(180, cx + (r() - 0.5) * 20)).toFixed(4);
    const lat = Math.max(-85, Math.min(85, cy + (r() - 0.5) * 10)).toFixed(4);
    const u = Math.floor(r() * 4);
    const km = [50, 300, 1000, 5000][Math.floor(r() * 4)]! * (0.5 + r());
    const dist = ((km * 1000) / toM[u]!).toFixed(2);
    const opts: string[] = [];
    if (r() < 0.5) opts.push('WITHDIST');
    if (r() < 0.3) opts.push('WITHCOORD');
    if (r() < 0.3) opts.push('WITHHASH');
    const sortPick = r();
    opts.push(sortPick < 0.4 ? 'ASC' : sortPick < 0.7 ? 'DESC' : 'ASC');
    if (r() < 0.3) opts.push('COUNT', String(1 + Math.floor(r() * 20)));
    const from = r() < 0.5 ? ['FROMLONLAT', lon, lat] : ['FROMMEMBER', members[Math.floor(r() * members.length)]!];
    const by = r() < 0.5 ? ['BYRADIUS', dist, units[u]!] : ['BYBOX', dist, ((Number(dist) * (0.3 + r())).toFixed(2)), units[u]!];
    steps.push(s(['GEOSEARCH', 'many', ...from, ...by, ...opts]));
    if (q % 4 === 0) steps.push(s(['GEORADIUS', 'many', lon, lat, dist, units[u]!, ...opts]));
    if (q % 4 === 1) steps.push(s(['GEORADIUSBYMEMBER', 'many', members[q]!, dist, units[u]!, ...opts]));
    if (q % 4 === 2) {
      steps.push(s(['GEOSEARCHSTORE', 'mstore', 'many', ...from, ...by, 'STOREDIST']));
      steps.push(s(['ZRANGE', 'mstore', '0', '-1', 'WITHSCORES'], nearly));
    }
  }
  steps.push(s(['GEOPOS', 'many', ...members.slice(0, 100)]));
  steps.push(s(['GEOHASH', 'many', ...members.slice(0, 100)]));
  for (let i = 0; i < 30; i++) steps.push(s(['GEODIST', 'many', members[i]!, members[599 - i]!, units[i % 4]!]));
  steps.push(s(['ZRANGE', 'many', '0', '-1', 'WITHSCORES']));
  return steps;
}

group('generated points and searches', () => generated(17));

// Destination and source on different shards: the coordinator path.
const SRC = keyOn(0, 'gsrc');
const DST = keyOn(1, 'gdst');
group('STORE forms with the destination on another shard', lines(`
  DEL ${SRC} ${DST}
  GEOADD ${SRC} 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
  GEORADIUS ${SRC} 15 37 200 km STORE ${DST}
  ZRANGE ${DST} 0 -1 WITHSCORES
  GEORADIUSBYMEMBER ${SRC} Palermo 200 km STOREDIST ${DST}
  ZRANGE ${DST} 0 -1 WITHSCORES
  GEOSEARCHSTORE ${DST} ${SRC} FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST
  ZRANGE ${DST} 0 -1 WITHSCORES
  GEOSEARCHSTORE ${DST} ${SRC} FROMLONLAT 15 37 BYRADIUS 1 m
  EXISTS ${DST}
  GEOSEARCHSTORE ${DST} ${SRC} FROMLONLAT 15 37 BYRADIUS 1 m WITHDIST
  GEOSEARCHSTORE ${DST} ${SRC} FROMMEMBER nope BYRADIUS 1 m
  SET ${DST} x
  GEOSEARCHSTORE ${DST} nokey${SRC} FROMMEMBER x BYRADIUS 1 m
  GEORADIUS ${SRC} 15 37 200 km STORE ${DST}
  TYPE ${DST}
`));

timed('cluster mode: STORE forms across slots are CROSSSLOT, as redis-server', async () => {
  await compareInOneNodeClusters('geo-cluster', SHARDS, [
    ['GEOADD', '{a}src', '13.361389', '38.115556', 'Palermo'],
    ['GEORADIUS', '{a}src', '15', '37', '200', 'km', 'STORE', '{b}dst'],
    ['GEORADIUSBYMEMBER', '{a}src', 'Palermo', '200', 'km', 'STOREDIST', '{b}dst'],
    ['GEOSEARCHSTORE', '{b}dst', '{a}src', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'],
    ['GEOSEARCHSTORE', '{a}dst', '{a}src', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'],
    ['GEORADIUS', '{a}src', '15', '37', '200', 'km', 'STORE', '{a}dst2'],
    ['ZRANGE', '{a}dst2', '0', '-1', 'WITHSCORES'],
  ]);
});

// Keyspace events: GEOADD is 'zadd' (Redis rewrites it into ZADD); the STORE forms are
// 'georadiusstore' / 'geosearchstore', or 'del' when an empty result deletes the destination.
const EVENT_COMMANDS: string[][] = [
  ['GEOADD', SRC, '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania'],
  ['GEOADD', SRC, 'NX', '13.361389', '38.115556', 'Palermo'],
  ['GEOADD', SRC, 'XX', '13.5', '38.115556', 'Palermo'],
  ['GEORADIUS', SRC, '15', '37', '200', 'km', 'STORE', DST],
  ['GEORADIUS', SRC, '15', '37', '200', 'km', 'STORE', '{gs}'],
  ['GEOSEARCHSTORE', DST, SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'],
  ['GEOSEARCHSTORE', DST, SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '1', 'm'],
  ['GEOSEARCHSTORE', DST, SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '1', 'm'],
  ['GEORADIUSBYMEMBER', SRC, 'Palermo', '1', 'km', 'STOREDIST', '{gs}'],
  ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'],
];

function words(v: RespValue): string[] {
  if ((v.type !== 'array' && v.type !== 'push') || v.value === null) return [];
  return v.value.map((x) => (x.type === 'bulk' && x.value !== null ? x.value.toString('latin1') : ''));
}

async function eventsOf(srv: ServerHandle): Promise<string[]> {
  const c = await rawClient(srv.port);
  const sub = await rawClient(srv.port);
  try {
    await c.call(['FLUSHALL']);
    assert.is((await c.call(['CONFIG', 'SET', 'notify-keyspace-events', 'KEA'])).text, '+OK\r\n');
    sub.sendCommand('PSUBSCRIBE', '__keyevent@0__:*');
    sub.sendCommand('SUBSCRIBE', 'mark');
    await sub.read(2);
    const got: string[] = [];
    for (let i = 0; i < EVENT_COMMANDS.length; i++) {
      got.push(`${EVENT_COMMANDS[i]![0]} -> ${(await c.call(EVENT_COMMANDS[i]!)).text.trim()}`);
      await c.call(['PUBLISH', 'mark', String(i)]);
      for (;;) {
        const [r] = await sub.read(1, 10_000);
        const p = words(r!.value);
        if (p[0] === 'message' && p[1] === 'mark') break;
        got.push(`  ${p[2]} ${p[3]}`);
      }
    }
    await c.call(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    return got;
  } finally {
    c.close();
    sub.close();
  }
}

timed('keyspace events as redis-server (GEOADD is zadd; georadiusstore, geosearchstore, del)', async () => {
  await pair.start();
  const [r, t] = [await eventsOf(pair.redis), await eventsOf(pair.tessera)];
  assert.ok(r.some((l) => l.includes('__keyevent@0__:zadd')) && r.some((l) => l.includes('georadiusstore')), r.join('\n'));
  assert.equal(t, r);
});

timed('ioredis: geoadd, geosearch, geopos, geodist give what they give on redis-server', async () => {
  await pair.start();
  const run = async (port: number): Promise<unknown[]> => {
    const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await c.connect();
      await c.del('io:geo');
      const out: unknown[] = [];
      out.push(await c.geoadd('io:geo', 13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania'));
      out.push(await c.geosearch('io:geo', 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km', 'ASC', 'WITHCOORD', 'WITHDIST'));
      out.push(await c.geopos('io:geo', 'Palermo', 'nope'));
      out.push(await c.geodist('io:geo', 'Palermo', 'Catania', 'KM'));
      out.push(await c.geohash('io:geo', 'Palermo'));
      out.push(await c.georadiusbymember('io:geo', 'Palermo', 200, 'km', 'WITHHASH'));
      return out;
    } finally {
      c.disconnect();
    }
  };
  const r = await run(pair.redis.port);
  const t = await run(pair.tessera.port);
  assert.equal(t, r);
});

diff.run();
