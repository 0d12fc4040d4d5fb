// Stream consumer groups, differentially: the same scripts go as raw RESP to a real redis-server
// and to Tessera (four shards), in RESP2 and RESP3, byte for byte; where a reply holds a clock
// (idle times, seen-time, delivery times) the comparison masks exactly those integers and still
// wants everything else equal. Ids are explicit, so every other byte is deterministic.
// Then: pending entries and delivery counts survive a restart from disk and a DUMP/RESTORE, and
// the xgroup-* keyspace events.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { keyOn as keyOnShard } from './shard-keys.js';
import { waitFor, type Reply, type RespValue } from './harness.js';
import { ServerPair, groupsOn, s, timedOn, type Compare } from './differential-helpers.js';
import { cleanup, ioClient, kill9, restartIn, startIn, tempDir } from './persistence-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;
const keyOn = (sh: number, prefix: string): string => keyOnShard(sh, SHARDS, prefix);

const S1 = keyOn(0, 's');
const S2 = keyOn(1, 't');
const STR = keyOn(2, 'str');
const NOKEY = keyOn(3, 'nokey');
// Two streams in one slot, for XREADGROUP over several keys.
const TA = '{pair}a';
const TB = '{pair}b';

// ---- comparisons with clocks masked ---------------------------------------------------------

/** Integers that read a clock: absolute times (ms since 1970, within a minute of each other) or
 * idle times (both small and non-negative: the two servers ran the command a few ms apart). */
function clockLike(a: bigint, b: bigint): boolean {
  const d = a > b ? a - b : b - a;
  if (a >= 1_000_000_000_000n && b >= 1_000_000_000_000n) return d < 60_000n;
  return a >= 0n && b >= 0n && d < 5_000n;
}

/** Walks both replies; an integer slot marked as a clock may differ (clockLike). */
function sameShape(r: RespValue, t: RespValue, clock: boolean, path: string): string | null {
  if (r.type !== t.type) return `${path}: ${r.type} vs ${t.type}`;
  if (r.type === 'integer' && t.type === 'integer') {
    if (r.value === t.value) return null;
    return clock && clockLike(r.value, t.value) ? null : `${path}: ${r.value} vs ${t.value}`;
  }
  if (r.type === 'bulk' && t.type === 'bulk') {
    if (r.value === null || t.value === null) return r.value === t.value ? null : `${path}: null vs bulk`;
    return r.value.equals(t.value) ? null : `${path}: bulk differs`;
  }
  if (r.type === 'map' && t.type === 'map') {
    if (r.value.length !== t.value.length) return `${path}: map sizes`;
    for (let i = 0; i < r.value.length; i++) {
      const [rk, rv] = r.value[i]!;
      const [tk, tv] = t.value[i]!;
      const k = sameShape(rk, tk, false, `${path}.key${i}`);
      if (k !== null) return k;
      const v = sameShape(rv, tv, isClockKey(rk), `${path}.${keyName(rk)}`);
      if (v !== null) return v;
    }
    return null;
  }
  if (r.type === 'array' && t.type === 'array') {
    if (r.value === null || t.value === null) return r.value === t.value ? null : `${path}: null array`;
    if (r.value.length !== t.value.length) return `${path}: lengths ${r.value.length} vs ${t.value.length}`;
    // An XPENDING extended entry: [id, consumer, idle, deliveries]; a FULL pending entry: [id,
    // consumer, delivery time, deliveries] or [id, delivery time, deliveries].
    const pendingRow = isPendingRow(r.value);
    for (let i = 0; i < r.value.length; i++) {
      const prev = i > 0 ? r.value[i - 1]! : null;
      const c = (prev !== null && isClockKey(prev)) || (pendingRow && i === r.value.length - 2);
      const v = sameShape(r.value[i]!, t.value[i]!, c, `${path}[${i}]`);
      if (v !== null) return v;
    }
    return null;
  }
  return JSON.stringify(r) === JSON.stringify(t) ? null : `${path}: differs`;
}

function keyName(v: RespValue): string {
  return v.type === 'bulk' && v.value !== null ? v.value.toString('latin1') : '?';
}

function isClockKey(v: RespValue): boolean {
  const k = keyName(v);
  return k === 'idle' || k === 'seen-time' || k === 'active-time';
}

function isPendingRow(a: RespValue[]): boolean {
  if (a.length !== 3 && a.length !== 4) return false;
  const first = a[0]!;
  if (first.type !== 'bulk' || first.value === null || !/^\d+-\d+$/.test(first.value.toString('latin1'))) return false;
  return a[a.length - 1]!.type === 'integer' && a[a.length - 2]!.type === 'integer';
}

const clocks: Compare = (r: Reply, t: Reply) => sameShape(r.value, t.value, false, '$');
const m = (cmd: string | string[]) => s(cmd, clocks);

// ---- differential groups ----------------------------------------------------------------------

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });
const diff = suite('stream groups: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });

const fill = (key: string, n: number, from = 1): ReturnType<typeof s>[] =>
  Array.from({ length: n }, (_, i) => s(`XADD ${key} ${from + i}-1 f ${from + i} g v${from + i}`));

group('XGROUP: CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP and their errors', [
  s('XGROUP HELP'),
  s('XGROUP help extra'),
  s('XGROUP'),
  s(`XGROUP CREATE ${S1} g 0`),
  s(`XGROUP CREATE ${S1} g $`),
  s(`XGROUP CREATE ${S1} g $ MKSTREAM`),
  s(`XGROUP CREATE ${S1} g $`),
  s(`XGROUP CREATE ${S1} g 0`),
  s(`XGROUP CREATE ${S1} g2 - `),
  s(`XGROUP CREATE ${S1} g2 +`),
  s(`XGROUP CREATE ${S1} g2 1-x`),
  s(`XGROUP CREATE ${S1} g2 0 FOO`),
  s(`XGROUP Create ${S1} g2 0 ENTRIESREAD`),
  s(`XGROUP CREATE ${S1} g2 0 ENTRIESREAD x`),
  s(`XGROUP CREATE ${S1} g2 0 ENTRIESREAD -2`),
  s(`XGROUP CREATE ${S1} g2 0 ENTRIESREAD -1 MKSTREAM`),
  ...fill(S1, 3),
  s(`XGROUP CREATE ${S1} g3 2-1 ENTRIESREAD 2`),
  s(`XGROUP CREATE ${S1} g4 $`),
  s(`XGROUP CREATE ${S1} a0 0`),
  s(`XINFO GROUPS ${S1}`),
  s(`XGROUP SETID ${S1} g 1`),
  s(`XGROUP SETID ${S1} g - ENTRIESREAD 0`),
  s(`XGROUP SETID ${S1} g + ENTRIESREAD 5`),
  s(`XGROUP SETID ${S1} g $ ENTRIESREAD 3`),
  s(`XGROUP SETID ${S1} g 0 ENTRIES 3`),
  s(`XGROUP SETID ${S1} g 0 ENTRIESREAD -5`),
  s(`XGROUP SETID ${S1} g 0 x y z`),
  s(`XGROUP SETID ${S1} nogroup 0`),
  s(`XGROUP SETID ${NOKEY} g 0`),
  s(`XINFO GROUPS ${S1}`),
  s(`XGROUP CREATECONSUMER ${S1} g alice`),
  s(`XGROUP CREATECONSUMER ${S1} g alice`),
  s(`XGROUP CREATECONSUMER ${S1} g bob`),
  s(`XGROUP CREATECONSUMER ${S1} nogroup bob`),
  s(`XGROUP CREATECONSUMER ${S1} g`),
  m(`XINFO CONSUMERS ${S1} g`),
  s(`XINFO CONSUMERS ${S1} nogroup`),
  s(`XGROUP DELCONSUMER ${S1} g alice`),
  s(`XGROUP DELCONSUMER ${S1} g alice`),
  s(`XGROUP DELCONSUMER ${S1} nogroup alice`),
  s(`XGROUP DESTROY ${S1} g4`),
  s(`XGROUP DESTROY ${S1} g4`),
  s(`XGROUP DESTROY ${NOKEY} g4`),
  s(`XGROUP DESTROY ${S1}`),
  s(`XGROUP FOO ${S1} g`),
  s(`SET ${STR} x`),
  s(`XGROUP CREATE ${STR} g 0`),
  s(`XGROUP CREATE ${STR} g 0 MKSTREAM`),
  s(`XGROUP DESTROY ${STR} g`),
  s(`XINFO GROUPS ${S1}`),
  s(`TYPE ${S1}`),
]);

group('XREADGROUP: > with COUNT and NOACK, history, several streams, errors', [
  ...fill(S1, 6),
  s(`XGROUP CREATE ${S1} g 0`),
  s(`XREADGROUP GROUP g alice COUNT 2 STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g bob COUNT 1 STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g alice COUNT 0 STREAMS ${S1} 0`),
  s(`XREADGROUP GROUP g alice COUNT 1 STREAMS ${S1} 1-1`),
  s(`XREADGROUP GROUP g alice STREAMS ${S1} 2`),
  s(`XREADGROUP GROUP g bob STREAMS ${S1} 0-0`),
  s(`XREADGROUP GROUP g carol NOACK COUNT 2 STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g carol STREAMS ${S1} 0`),
  s(`XPENDING ${S1} g`),
  s(`XINFO GROUPS ${S1}`),
  s(`XREADGROUP GROUP g alice STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g alice STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g alice BLOCK 10 STREAMS ${S1} 0`),
  s(`XINFO GROUPS ${S1}`),
  s(`XPENDING ${S1} g`),
  // History of an entry deleted since its delivery: its id with a null.
  s(`XDEL ${S1} 2-1`),
  s(`XREADGROUP GROUP g alice STREAMS ${S1} 0`),
  s(`XREADGROUP GROUP g nobody STREAMS ${S1} 0`),
  m(`XINFO CONSUMERS ${S1} g`),
  // Several streams in one slot: only the ones with something to serve are in the reply.
  ...fill(TA, 2),
  ...fill(TB, 2),
  s(`XGROUP CREATE ${TA} g $`),
  s(`XGROUP CREATE ${TB} g 0`),
  s(`XREADGROUP GROUP g c STREAMS ${TA} ${TB} > >`),
  s(`XREADGROUP GROUP g c STREAMS ${TA} ${TB} > >`),
  s(`XREADGROUP GROUP g c STREAMS ${TA} ${TB} 0 0`),
  s(`XADD ${TA} 9-1 x y`),
  s(`XREADGROUP GROUP g c COUNT 5 STREAMS ${TA} ${TB} > >`),
  // Errors, in Redis's order.
  s(`XREADGROUP GROUP g c STREAMS ${S1}`),
  s(`XREADGROUP GROUP g c STREAMS ${S1} ${TA} >`),
  s(`XREADGROUP COUNT 1 STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g c COUNT x STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g c BLOCK x STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g c BLOCK -1 STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g c FOO STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g c STREAMS ${S1} $`),
  s(`XREADGROUP GROUP g c STREAMS ${S1} x`),
  s(`XREADGROUP GROUP g c STREAMS ${S1} +`),
  s(`XREADGROUP GROUP nogroup c STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g c STREAMS ${NOKEY} >`),
  s(`SET ${STR} x`),
  s(`XREADGROUP GROUP g c STREAMS ${STR} >`),
  s(`XINFO GROUPS ${S1}`),
]);

group('XGROUP SETID back: entries already pending move to the reader, delivery count 1', [
  ...fill(S1, 4),
  s(`XGROUP CREATE ${S1} g 0`),
  s(`XREADGROUP GROUP g alice STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g alice STREAMS ${S1} 0`),
  s(`XGROUP SETID ${S1} g 2-1`),
  s(`XREADGROUP GROUP g bob COUNT 1 STREAMS ${S1} >`),
  m(`XPENDING ${S1} g - + 10`),
  s(`XPENDING ${S1} g`),
  s(`XINFO GROUPS ${S1}`),
  s(`XGROUP DELCONSUMER ${S1} g alice`),
  s(`XPENDING ${S1} g`),
  s(`XINFO GROUPS ${S1}`),
]);

group('XACK and XPENDING (summary, extended with ranges, consumer and IDLE)', [
  ...fill(S1, 8),
  s(`XGROUP CREATE ${S1} g 0`),
  s(`XPENDING ${S1} g`),
  s(`XREADGROUP GROUP g alice COUNT 3 STREAMS ${S1} >`),
  s(`XREADGROUP GROUP g bob COUNT 3 STREAMS ${S1} >`),
  s(`XPENDING ${S1} g`),
  m(`XPENDING ${S1} g - + 10`),
  m(`XPENDING ${S1} g - + 2`),
  m(`XPENDING ${S1} g 2-1 5 10`),
  m(`XPENDING ${S1} g (2-1 (5-1 10`),
  m(`XPENDING ${S1} g - + 10 bob`),
  s(`XPENDING ${S1} g - + 10 nobody`),
  s(`XPENDING ${S1} g - + 0`),
  s(`XPENDING ${S1} g - + -3`),
  s(`XPENDING ${S1} g IDLE 100000000 - + 10`),
  m(`XPENDING ${S1} g IDLE 0 - + 10 alice`),
  m(`XPENDING ${S1} g IDLE -5 - + 10`),
  s(`XPENDING ${S1} g IDLE 5 - +`),
  s(`XPENDING ${S1} g IDLE x - + 10`),
  s(`XPENDING ${S1} g - + x`),
  s(`XPENDING ${S1} g x + 10`),
  s(`XPENDING ${S1} g (- + 10`),
  m(`XPENDING ${S1} g - (18446744073709551615-18446744073709551615 10`),
  m(`XPENDING ${S1} g (0-0 + 10`),
  s(`XPENDING ${S1} g - (0-0 10`),
  s(`XPENDING ${S1} g (18446744073709551615-18446744073709551615 + 10`),
  m(`XPENDING ${S1} g - + 10 alice extra`),
  s(`XPENDING ${S1} g -`),
  s(`XPENDING ${S1} nogroup`),
  s(`XPENDING ${NOKEY} g`),
  s(`XACK ${S1} g 1-1 2 3-1 99-1`),
  s(`XACK ${S1} g 1-1`),
  s(`XACK ${S1} g 4-1 x`),
  s(`XACK ${S1} g 4-1 -`),
  s(`XACK ${S1} nogroup 4-1`),
  s(`XACK ${NOKEY} g 4-1`),
  s(`XPENDING ${S1} g`),
  s(`XACK ${S1} g 4-1 5-1 6-1`),
  s(`XPENDING ${S1} g`),
  s(`XINFO GROUPS ${S1}`),
  s(`SET ${STR} x`),
  s(`XACK ${STR} g 1-1`),
  s(`XPENDING ${STR} g`),
]);

group('XCLAIM: IDLE, TIME, RETRYCOUNT, FORCE, JUSTID, LASTID, deleted entries', [
  ...fill(S1, 6),
  s(`XGROUP CREATE ${S1} g 0`),
  s(`XREADGROUP GROUP g alice COUNT 4 STREAMS ${S1} >`),
  s(`XCLAIM ${S1} g bob 0 1-1 2-1`),
  s(`XCLAIM ${S1} g bob 100000000 3-1`),
  s(`XCLAIM ${S1} g bob 0 3-1 JUSTID`),
  s(`XCLAIM ${S1} g carol 0 3-1 RETRYCOUNT 7 TIME 1000 JUSTID`),
  m(`XPENDING ${S1} g - + 10`),
  s(`XCLAIM ${S1} g carol 0 4-1 IDLE 5000000 RETRYCOUNT 2`),
  m(`XPENDING ${S1} g IDLE 4000000 - + 10`),
  s(`XCLAIM ${S1} g carol 0 5-1`),
  s(`XCLAIM ${S1} g carol 0 5-1 FORCE`),
  s(`XCLAIM ${S1} g carol 0 6-1 FORCE JUSTID RETRYCOUNT 3`),
  s(`XCLAIM ${S1} g carol 0 99-1 FORCE`),
  s(`XCLAIM ${S1} g carol 0 1-1 LASTID 5-1 JUSTID`),
  s(`XINFO GROUPS ${S1}`),
  s(`XCLAIM ${S1} g carol 0 1-1 LASTID 2-1 JUSTID`),
  s(`XINFO GROUPS ${S1}`),
  s(`XCLAIM ${S1} g dave 0 JUSTID`),
  s(`XCLAIM ${S1} g dave 0 x`),
  s(`XCLAIM ${S1} g dave 0 1-1 x`),
  s(`XCLAIM ${S1} g dave 0 1-1 IDLE x`),
  s(`XCLAIM ${S1} g dave 0 1-1 TIME x`),
  s(`XCLAIM ${S1} g dave 0 1-1 RETRYCOUNT x`),
  s(`XCLAIM ${S1} g dave 0 1-1 LASTID x`),
  s(`XCLAIM ${S1} g dave 0 1-1 IDLE`),
  s(`XCLAIM ${S1} g dave x 1-1`),
  s(`XCLAIM ${S1} nogroup dave 0 1-1`),
  s(`XCLAIM ${NOKEY} g dave 0 1-1`),
  m(`XINFO CONSUMERS ${S1} g`),
  // An entry deleted while pending leaves the PEL when claimed, and is not in the reply.
  s(`XDEL ${S1} 2-1`),
  s(`XCLAIM ${S1} g erin 0 2-1 1-1`),
  s(`XPENDING ${S1} g`),
  m(`XPENDING ${S1} g - + 10`),
  s(`XCLAIM ${S1} g erin 0 1-1 TIME 2000 RETRYCOUNT 9`),
  m(`XINFO STREAM ${S1} FULL`),
  m(`XINFO STREAM ${S1} FULL COUNT 1`),
  s(`SET ${STR} x`),
  s(`XCLAIM ${STR} g dave 0 1-1`),
]);

group('XAUTOCLAIM: COUNT, JUSTID, the cursor, deleted ids', [
  ...fill(S1, 10),
  s(`XGROUP CREATE ${S1} g 0`),
  s(`XREADGROUP GROUP g alice STREAMS ${S1} >`),
  s(`XAUTOCLAIM ${S1} g bob 0 0 COUNT 3`),
  s(`XAUTOCLAIM ${S1} g bob 0 4-1 COUNT 3 JUSTID`),
  s(`XAUTOCLAIM ${S1} g bob 0 (6-1 COUNT 2`),
  s(`XAUTOCLAIM ${S1} g bob 100000000 0`),
  s(`XDEL ${S1} 3-1 5-1 9-1`),
  s(`XAUTOCLAIM ${S1} g carol 0 0 COUNT 4`),
  s(`XAUTOCLAIM ${S1} g carol 0 0 JUSTID`),
  s(`XPENDING ${S1} g`),
  m(`XPENDING ${S1} g - + 20`),
  s(`XAUTOCLAIM ${S1} g carol 0 0 COUNT 0`),
  s(`XAUTOCLAIM ${S1} g carol 0 0 COUNT x`),
  s(`XAUTOCLAIM ${S1} g carol 0 0 COUNT 576460752303423488`),
  s(`XAUTOCLAIM ${S1} g carol 0 0 FOO`),
  s(`XAUTOCLAIM ${S1} g carol x 0`),
  s(`XAUTOCLAIM ${S1} g carol 0 x`),
  s(`XAUTOCLAIM ${S1} g carol 0 (18446744073709551615-18446744073709551615`),
  s(`XAUTOCLAIM ${S1} nogroup carol 0 0`),
  s(`XAUTOCLAIM ${NOKEY} g carol 0 0`),
  s(`SET ${STR} x`),
  s(`XAUTOCLAIM ${STR} g carol 0 0`),
  m(`XINFO CONSUMERS ${S1} g`),
]);

group('entries-read and lag through XADD, XDEL, XTRIM and SETID', [
  s(`XGROUP CREATE ${S2} g $ MKSTREAM`),
  s(`XINFO GROUPS ${S2}`),
  ...fill(S2, 5),
  s(`XGROUP CREATE ${S2} g1 0`),
  s(`XGROUP CREATE ${S2} g2 3-1`),
  s(`XINFO GROUPS ${S2}`),
  s(`XREADGROUP GROUP g1 c COUNT 2 STREAMS ${S2} >`),
  s(`XREADGROUP GROUP g2 c COUNT 1 STREAMS ${S2} >`),
  s(`XINFO GROUPS ${S2}`),
  s(`XDEL ${S2} 4-1`),
  s(`XINFO GROUPS ${S2}`),
  s(`XREADGROUP GROUP g1 c STREAMS ${S2} >`),
  s(`XINFO GROUPS ${S2}`),
  s(`XDEL ${S2} 1-1`),
  s(`XINFO GROUPS ${S2}`),
  s(`XTRIM ${S2} MAXLEN 1`),
  s(`XINFO GROUPS ${S2}`),
  s(`XGROUP SETID ${S2} g2 0 ENTRIESREAD 0`),
  s(`XINFO GROUPS ${S2}`),
  s(`XADD ${S2} 10-1 a b`),
  s(`XREADGROUP GROUP g2 c STREAMS ${S2} >`),
  s(`XINFO GROUPS ${S2}`),
  s(`XDEL ${S2} 10-1 5-1`),
  s(`XINFO GROUPS ${S2}`),
  s(`XGROUP CREATE ${S2} g3 $`),
  s(`XGROUP CREATE ${S2} g4 0`),
  s(`XINFO GROUPS ${S2}`),
  s(`XINFO STREAM ${S2}`),
]);

// ---- durability and events ---------------------------------------------------------------------

const durable = suite('stream groups: restarts, DUMP/RESTORE, events');
durable.after.each(cleanup);
const timed = timedOn(durable, TEST_TIMEOUT_MS);

async function groupState(c: Redis, key: string): Promise<unknown> {
  return [
    await c.call('XINFO', 'GROUPS', key),
    await c.call('XPENDING', key, 'g', '-', '+', '100'),
    await c.call('XPENDING', key, 'g'),
  ].map((v) => JSON.stringify(v, (_k, x: unknown) => x));
}

/** The PEL rows without their idle times (which move with the clock). */
function withoutIdle(state: unknown): unknown {
  const [groups, ext, summary] = state as [string, string, string];
  const rows = (JSON.parse(ext) as Array<[string, string, number, number]>).map(([id, c, , n]) => [id, c, n]);
  return [groups, rows, summary];
}

async function loadGroups(c: Redis, key: string): Promise<void> {
  for (let i = 1; i <= 20; i++) await c.call('XADD', key, `${i}-1`, 'f', String(i));
  await c.call('XGROUP', 'CREATE', key, 'g', '0');
  await c.call('XGROUP', 'CREATE', key, 'other', '5-1', 'ENTRIESREAD', '5');
  await c.call('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '8', 'STREAMS', key, '>');
  await c.call('XREADGROUP', 'GROUP', 'g', 'bob', 'COUNT', '5', 'STREAMS', key, '>');
  await c.call('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', key, '0');
  await c.call('XCLAIM', key, 'g', 'carol', '0', '3-1', '4-1', 'RETRYCOUNT', '11', 'TIME', '1000');
  await c.call('XACK', key, 'g', '1-1', '10-1');
  await c.call('XGROUP', 'CREATECONSUMER', key, 'g', 'idle-one');
}

timed('PEL, delivery counts and consumers survive kill -9 and a restart from the log', async () => {
  const dir = tempDir('xgroups');
  const s1 = await startIn(dir, ['--appendonly', 'yes', '--appendfsync', 'always']);
  const c1 = await ioClient(s1);
  await loadGroups(c1, S1);
  const before = withoutIdle(await groupState(c1, S1));
  await kill9(s1);
  const s2 = await restartIn(s1.port, dir, ['--appendonly', 'yes', '--appendfsync', 'always']);
  const c2 = await ioClient(s2);
  assert.equal(withoutIdle(await groupState(c2, S1)), before);
  // Delivery counts kept counting from where they were.
  const again = (await c2.call('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', S1, '0')) as unknown[];
  assert.ok(Array.isArray(again));
  const rows = (await c2.call('XPENDING', S1, 'g', '3-1', '3-1', '1')) as Array<[string, string, number, number]>;
  assert.equal([rows[0]![0], rows[0]![1], rows[0]![3]], ['3-1', 'carol', 11]);
});

timed('PEL and consumers survive BGSAVE and a restart from the snapshot', async () => {
  const dir = tempDir('xgroups-snap');
  const s1 = await startIn(dir);
  const c1 = await ioClient(s1);
  await loadGroups(c1, S2);
  const before = withoutIdle(await groupState(c1, S2));
  await c1.call('SAVE');
  await kill9(s1);
  const s2 = await restartIn(s1.port, dir);
  const c2 = await ioClient(s2);
  assert.equal(withoutIdle(await groupState(c2, S2)), before);
});

timed('DUMP/RESTORE carries groups, PEL and delivery counts, across shards', async () => {
  const dir = tempDir('xgroups-dump');
  const s1 = await startIn(dir, [], { shards: SHARDS });
  const c = await ioClient(s1);
  await loadGroups(c, S1);
  const before = withoutIdle(await groupState(c, S1));
  const payload = (await c.callBuffer('DUMP', S1)) as Buffer;
  for (const dst of [S2, keyOn(0, 'copy')]) {
    assert.is(await c.call('RESTORE', dst, '0', payload), 'OK');
    assert.equal(withoutIdle(await groupState(c, dst)), before);
  }
  assert.is(await c.call('RENAME', S1, keyOn(3, 'renamed')), 'OK');
  assert.equal(withoutIdle(await groupState(c, keyOn(3, 'renamed'))), before);
  // A damaged payload is refused, not half-loaded.
  const bad = Buffer.from(payload);
  bad[bad.length - 12] = bad[bad.length - 12]! ^ 0xff;
  await c.call('RESTORE', keyOn(1, 'bad'), '0', bad).then(
    () => assert.unreachable('a damaged payload was accepted'),
    (e: Error) => assert.match(e.message, /ERR/),
  );
});

timed('keyspace events of the group commands', async () => {
  const dir = tempDir('xgroups-events');
  const s1 = await startIn(dir, ['--notify-keyspace-events', 'KEA']);
  const c = await ioClient(s1);
  const sub = await ioClient(s1);
  const seen: string[] = [];
  sub.on('pmessage', (_p: string, ch: string, msg: string) => {
    if (ch.startsWith('__keyevent@0__:')) seen.push(`${ch.slice('__keyevent@0__:'.length)} ${msg}`);
  });
  await sub.psubscribe('__keyevent@0__:*');
  await c.call('XGROUP', 'CREATE', 'ev', 'g', '$', 'MKSTREAM');
  await c.call('XGROUP', 'CREATECONSUMER', 'ev', 'g', 'c1');
  await c.call('XADD', 'ev', '1-1', 'a', 'b');
  await c.call('XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', 'ev', '>');
  await c.call('XGROUP', 'SETID', 'ev', 'g', '0');
  await c.call('XGROUP', 'DELCONSUMER', 'ev', 'g', 'c1');
  await c.call('XGROUP', 'DESTROY', 'ev', 'g');
  await c.call('SET', 'done', '1');
  await waitFor('the set event after the group events', () => seen.includes('set done'));
  assert.equal(
    seen.filter((x) => x.endsWith(' ev') && x !== 'new ev'),
    ['xgroup-create ev', 'xgroup-createconsumer ev', 'xadd ev', 'xgroup-createconsumer ev', 'xgroup-setid ev', 'xgroup-delconsumer ev', 'xgroup-destroy ev'],
  );
});

diff.run();
durable.run();
