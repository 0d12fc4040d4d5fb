// Persistence under a crash: the server process is killed with SIGKILL while clients write, and a
// new process on the same dir and port must hold every write it acknowledged (appendfsync always),
// or every write acknowledged more than 2 s before the kill (appendfsync everysec); a shard worker
// that crashed and was restarted keeps logging, so a later SIGKILL loses nothing either.
// Tessera only (real processes on loopback ports, files in a temp dir per test).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { waitFor, withTimeout, type ServerHandle } from './harness.js';
import { cleanup, ioClient, kill9, mgetAll, restartIn, shardOf, startIn, tempDir } from './persistence-helpers.js';

const TEST_TIMEOUT_MS = 45_000;
const SHARDS = 2;

const crash = suite('persistence: SIGKILL under load, shard crash, restart');

crash.after.each(cleanup);

function t(name: string, fn: () => Promise<void>): void {
  crash(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

// ---------------------------------------------------------------------------------------------
// A write load: `lanes` sequential writers spread over `clients` connections. Lane L owns the keys
// `pk:L:j` (j < KEYS_PER_LANE); its write i sets `pk:L:(i % KEYS_PER_LANE)` to `L:i`, then INCRs
// one of COUNTERS shared counters. Every acknowledgement is recorded with the time it arrived.

const KEYS_PER_LANE = 150;
const COUNTERS = 8;

const laneKey = (lane: number, j: number): string => `pk:${lane}:${j}`;
const counterKey = (n: number): string => `pcnt:${n}`;

interface Lane {
  /** SETs sent (write i was sent for every i < sent). */
  sent: number;
  /** ackTime[i]: when SET i was acknowledged (undefined: not acknowledged). */
  ackTime: Array<number | undefined>;
}

interface Load {
  lanes: Lane[];
  /** INCRs sent per counter. */
  incrSent: number[];
  /** Acknowledged INCR replies per counter: [value, time]. */
  incrAcks: Array<Array<[number, number]>>;
  acks(): number;
  /** The first error other than the connection going away, if any. */
  unexpected(): string;
  /** Resolves once every lane has stopped (they stop on their own when the server dies). */
  finished: Promise<void>;
  stop(): void;
}

function startLoad(clients: Redis[], laneCount: number): Load {
  const lanes: Lane[] = Array.from({ length: laneCount }, () => ({ sent: 0, ackTime: [] }));
  const incrSent = new Array<number>(COUNTERS).fill(0);
  const incrAcks: Array<Array<[number, number]>> = Array.from({ length: COUNTERS }, () => []);
  let acks = 0;
  let stop = false;
  let unexpected = '';
  const runLane = async (l: number): Promise<void> => {
    const c = clients[l % clients.length]!;
    const lane = lanes[l]!;
    for (let i = 0; !stop; i++) {
      try {
        lane.sent = i + 1;
        const ok = await c.set(laneKey(l, i % KEYS_PER_LANE), `${l}:${i}`);
        if (ok !== 'OK') throw new Error(`SET replied ${String(ok)}`);
        lane.ackTime[i] = Date.now();
        acks++;
        const n = (l + i) % COUNTERS;
        incrSent[n]!++;
        const v = await c.incr(counterKey(n));
        incrAcks[n]!.push([v, Date.now()]);
        acks++;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (!/closed|ECONNRESET|EPIPE|ECONNREFUSED|writable|stream/i.test(message)) unexpected ||= message;
        return;
      }
    }
  };
  const finished = Promise.all(lanes.map((_, l) => runLane(l))).then(() => undefined);
  return {
    lanes,
    incrSent,
    incrAcks,
    acks: () => acks,
    unexpected: () => unexpected,
    finished,
    stop: () => (stop = true),
  };
}

/**
 * Checks the restarted server against the load: every key's value comes from a write that was
 * sent, no older than the last write acknowledged at or before `cutoff`; every counter is at least
 * its last value acknowledged at or before `cutoff` and at most the number of INCRs sent.
 * Returns how many keys had an acknowledged write to check.
 */
async function checkLoad(c: Redis, load: Load, cutoff: number): Promise<{ checkedKeys: number }> {
  let checkedKeys = 0;
  const problems: string[] = [];
  for (let l = 0; l < load.lanes.length; l++) {
    const lane = load.lanes[l]!;
    const keys = Array.from({ length: KEYS_PER_LANE }, (_, j) => laneKey(l, j));
    const values = await mgetAll(c, keys);
    for (let j = 0; j < KEYS_PER_LANE; j++) {
      // The last write to key j acknowledged by the cutoff.
      let lastAck = -1;
      for (let i = j; i < lane.sent; i += KEYS_PER_LANE) {
        const at = lane.ackTime[i];
        if (at !== undefined && at <= cutoff) lastAck = i;
      }
      const v = values[j] ?? null;
      if (lastAck >= 0) checkedKeys++;
      if (v === null) {
        if (lastAck >= 0) problems.push(`${keys[j]}: missing, write ${lastAck} (${l}:${lastAck}) was acknowledged`);
        continue;
      }
      const m = /^(\d+):(\d+)$/.exec(v);
      const i = m === null ? NaN : Number(m[2]);
      if (m === null || Number(m[1]) !== l || i % KEYS_PER_LANE !== j || i >= lane.sent) {
        problems.push(`${keys[j]}: ${JSON.stringify(v)} was never written to it (lane sent ${lane.sent} writes)`);
      } else if (i < lastAck) {
        problems.push(`${keys[j]}: holds write ${i}, but the later write ${lastAck} was acknowledged`);
      }
    }
  }
  for (let n = 0; n < COUNTERS; n++) {
    const raw = await c.get(counterKey(n));
    const v = raw === null ? 0 : Number(raw);
    let ackMax = 0;
    for (const [value, at] of load.incrAcks[n]!) if (at <= cutoff && value > ackMax) ackMax = value;
    if (!(v >= ackMax)) problems.push(`${counterKey(n)}: ${raw}, but ${ackMax} was acknowledged`);
    if (!(v <= load.incrSent[n]!)) problems.push(`${counterKey(n)}: ${raw}, but only ${load.incrSent[n]} INCRs were sent`);
  }
  if (problems.length > 0) {
    assert.unreachable(`${problems.length} problems after the restart, e.g.:\n  ${problems.slice(0, 15).join('\n  ')}`);
  }
  return { checkedKeys };
}

async function runKillUnderLoad(fsync: 'always' | 'everysec', until: (load: Load, startedAt: number) => boolean): Promise<void> {
  const dir = tempDir(`kill-${fsync}`);
  const args = ['--appendonly', 'yes', '--appendfsync', fsync];
  const server: ServerHandle = await startIn(dir, args, { shards: SHARDS });
  const clients = await Promise.all(Array.from({ length: 4 }, () => ioClient(server)));
  const startedAt = Date.now();
  const load = startLoad(clients, 16);
  await waitFor('the load to run long enough', () => until(load, startedAt) || load.unexpected() !== '', 30_000);
  assert.is(load.unexpected(), '', 'no error before the kill');
  const killedAt = Date.now();
  await kill9(server);
  await withTimeout(load.finished, 10_000, 'the load to stop once the server is gone');
  load.stop();
  const acks = load.acks();
  for (const c of clients) c.disconnect();

  const again = await restartIn(server.port, dir, args, { shards: SHARDS });
  const c = await ioClient(again);
  // always: every acknowledgement counts; everysec: those older than 2 s at the kill.
  const cutoff = fsync === 'always' ? Infinity : killedAt - 2_000;
  const { checkedKeys } = await checkLoad(c, load, cutoff);
  assert.ok(checkedKeys > 100, `only ${checkedKeys} keys had an acknowledged write to check`);
  console.log(`  (${fsync}: ${acks} writes acknowledged in ${killedAt - startedAt} ms; ${checkedKeys} keys checked)`);
}

t('appendfsync always: SIGKILL under a write load from 4 clients loses no acknowledged write', async () => {
  await runKillUnderLoad('always', (load) => load.acks() >= 6_000);
});

t('appendfsync everysec: SIGKILL after 4.5 s of load loses nothing acknowledged 2 s before the kill', async () => {
  await runKillUnderLoad('everysec', (load, startedAt) => Date.now() - startedAt >= 4_500 && load.acks() >= 2_000);
});

t('appendfsync always: a shard crash under a write load, then a SIGKILL: every acknowledged write is there', async () => {
  const dir = tempDir('shard-crash');
  const args = ['--appendonly', 'yes', '--appendfsync', 'always'];
  const server = await startIn(dir, args, { shards: SHARDS });
  const c = await ioClient(server);
  const N = 2_000;
  const key = (i: number): string => `sc:${i}`;
  const ck = (i: number): string => `sc2:${i}`;
  // Phase A: every write acknowledged before the crash.
  {
    const p = c.pipeline();
    for (let i = 0; i < N; i++) p.set(key(i), `A${i}`);
    const r = await p.exec();
    assert.ok(r !== null && r.every(([err, v]) => err === null && v === 'OK'), 'phase A acknowledged');
  }
  const onShard0 = Array.from({ length: N }, (_, i) => key(i)).filter((k) => shardOf(k, SHARDS) === 0);
  assert.ok(onShard0.length > N / 4, `${onShard0.length} of the keys on shard 0`);

  // Phase B: another connection writes pipelined batches of 1 KB values (key lw:i written once, as
  // i's value) while shard 0 crashes and restarts; a write may fail with shard 0's crash error.
  const writer = await ioClient(server);
  const lwKey = (i: number): string => `lw:${i}`;
  const lwValue = (i: number): string => `L${i}:${'y'.repeat(1_000)}`;
  const acked: boolean[] = [];
  let sent = 0;
  let failed = 0;
  let stop = false;
  let unexpected = '';
  const writing = (async () => {
    while (!stop && sent < 200_000) {
      const p = writer.pipeline();
      const from = sent;
      for (let j = 0; j < 100; j++) p.set(lwKey(sent), lwValue(sent++));
      const r = await p.exec();
      r?.forEach(([err, v], j) => {
        if (err === null && v === 'OK') acked[from + j] = true;
        else {
          failed++;
          if (!/shard 0/i.test(String(err?.message))) unexpected ||= String(err?.message ?? v);
        }
      });
    }
  })();
  writing.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
  try {
    await waitFor('the writer going', () => acked.length > 1_000, 10_000);
    assert.is(await c.call('DEBUG', 'SHARD-CRASH', '0'), 'OK');
    await waitFor('shard 0 restarted', async () => /^shard_restarts:1\r?$/m.test(await c.info('stats')), 15_000);
    await waitFor('shard 0 takes writes again', async () => (await c.set(onShard0[0]!, 'A-probe')) === 'OK', 15_000);
    const at = sent;
    await waitFor('more writes after the restart', () => acked.length > at + 1_000, 10_000);
  } finally {
    stop = true;
  }
  await writing;
  assert.is(unexpected, '', 'only shard-0 crash errors');
  assert.is(await c.set(onShard0[0]!, `A${onShard0[0]!.slice(3)}`), 'OK');

  // Phase C: more writes after the restart of the shard, all acknowledged.
  {
    const p = c.pipeline();
    for (let i = 0; i < N; i++) p.set(ck(i), `C${i}`);
    for (let i = 0; i < 100; i++) p.incr('sc:counter');
    const r = await p.exec();
    assert.ok(r !== null && r.every(([err]) => err === null), 'phase C acknowledged');
  }
  await kill9(server);

  const again = await restartIn(server.port, dir, args, { shards: SHARDS });
  const c2 = await ioClient(again);
  const a = await mgetAll(c2, Array.from({ length: N }, (_, i) => key(i)));
  const cs = await mgetAll(c2, Array.from({ length: N }, (_, i) => ck(i)));
  const lw = await mgetAll(c2, Array.from({ length: sent }, (_, i) => lwKey(i)), 200);
  const problems: string[] = [];
  for (let i = 0; i < N; i++) {
    if (a[i] !== `A${i}`) problems.push(`${key(i)}: ${JSON.stringify(a[i])}`);
    if (cs[i] !== `C${i}`) problems.push(`${ck(i)}: ${JSON.stringify(cs[i])}`);
  }
  for (let i = 0; i < sent; i++) {
    if (acked[i] === true ? lw[i] !== lwValue(i) : lw[i] !== null && lw[i] !== lwValue(i)) {
      problems.push(`${lwKey(i)}: ${JSON.stringify(lw[i]?.slice(0, 20))} (acknowledged: ${acked[i] === true})`);
    }
  }
  assert.equal(problems.slice(0, 10), [], `${problems.length} keys wrong after the restart`);
  assert.is(await c2.get('sc:counter'), '100');
  console.log(`  (${sent} writes during the crash window, ${failed} failed with the crash error)`);
});

crash.run();
