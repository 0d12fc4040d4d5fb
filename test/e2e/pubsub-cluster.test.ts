// Pub/sub across a Tessera cluster, with real processes on loopback: three primaries A, B, C made
// by `tessera cluster create` and a replica R of A (`tessera cluster add-node --replica-of`), node
// timeout 1000 ms. A PUBLISH on one node reaches the subscribers of every node once (RESP2 and
// RESP3, channels and patterns); ioredis Cluster's subscribe/publish and, with shardedSubscribers,
// ssubscribe/spublish; SPUBLISH stays in the slot owner's shard (primary <-> replica, a replica
// subscribes without READONLY); `tessera cluster reshard` of a slot and a CLUSTER FAILOVER send
// Redis 7.0's sunsubscribe notices; a stopped peer (SIGSTOP) does not stall PUBLISH; and the
// shard-channel commands in a cluster that is down answer as redis-server 7.0 does (differential).
// Every process is cleaned up by pid; waits are on conditions, with deadlines.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { commandOnce, rawClient, show, startClusterNode, startRedis, waitFor, withTimeout, type ClusterNode, type RawClient, type ServerHandle } from './harness.js';
import { cliExpect } from './cluster-cli-helpers.js';

const NODE_TIMEOUT_MS = 1000;
const TEST_TIMEOUT_MS = 90_000;

const dirs: string[] = [];
const nodes: ClusterNode[] = [];
const clients: RawClient[] = [];
let A: ClusterNode;
let B: ClusterNode;
let C: ClusterNode;
let R: ClusterNode;

/** A channel name hashing to a slot that `ok` accepts (deterministic: the first of ch0, ch1...). */
function channelIn(ok: (slot: number) => boolean, prefix = 'ch'): string {
  for (let i = 0; ; i++) if (ok(calculateSlot(`${prefix}${i}`))) return `${prefix}${i}`;
}
// After create: A 0-5460, B 5461-10922, C 10923-16383. The reshard below moves slot 0 to B.
// One channel of A's slots per test: a client closed by the test before may still be counted for
// a moment (its disconnect is asynchronous).
const CH0 = channelIn((s) => s === 0, 'zero');
const inA = (s: number): boolean => s > 100 && s <= 5460;
const CH_IO = channelIn(inA, 'io');
const CH_SHARD = channelIn(inA, 'shard');
const CH_KEEP = channelIn(inA, 'keep');
const CH_FAILOVER = channelIn(inA, 'failover');

const addr = (n: ClusterNode): string => `127.0.0.1:${n.port}`;
const cmd = commandOnce;

async function client(n: ClusterNode, proto: 2 | 3 = 2): Promise<RawClient> {
  const c = await rawClient(n.port);
  clients.push(c);
  if (proto === 3) await c.call(['HELLO', '3']);
  return c;
}

/** A client with these subscriptions (each confirmation read). */
async function subscriber(n: ClusterNode, proto: 2 | 3, command: string, ...names: string[]): Promise<RawClient> {
  const c = await client(n, proto);
  c.sendCommand(command, ...names);
  const confirmations = await c.read(names.length);
  for (const r of confirmations) assert.match(r.raw.toString('latin1'), new RegExp(`^[*>]3\r\n\\$\\d+\r\n${command.toLowerCase()}\r\n`), `${command} ${names.join(' ')} on ${n.port}: ${show(r.raw)}`);
  return c;
}

/** RESP2 or RESP3 bytes of a pub/sub push. */
function push(proto: 2 | 3, ...parts: Array<string | number>): string {
  let s = `${proto === 3 ? '>' : '*'}${parts.length}\r\n`;
  for (const p of parts) s += typeof p === 'number' ? `:${p}\r\n` : `$${Buffer.byteLength(p)}\r\n${p}\r\n`;
  return s;
}

async function next(c: RawClient, what: string): Promise<string> {
  const [r] = await c.read(1, 10_000).catch((e: unknown) => {
    throw new Error(`${what}: ${(e as Error).message}`);
  });
  return r!.raw.toString('latin1');
}

async function nodesLines(n: ClusterNode): Promise<string[]> {
  return String(await cmd(n.port, 'CLUSTER', 'NODES')).trim().split('\n');
}

/** Every node sees cluster_state:ok and `primary` (by port) with `replica` as its replica. */
async function settled(primary: ClusterNode, replica: ClusterNode): Promise<boolean> {
  for (const n of nodes) {
    if (!String(await cmd(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
    const lines = await nodesLines(n);
    const p = lines.find((l) => l.includes(` ${addr(primary)}@`));
    const r = lines.find((l) => l.includes(` ${addr(replica)}@`));
    if (!p || !r || !p.split(' ')[2]!.includes('master') || !r.split(' ')[2]!.includes('slave') || r.split(' ')[3] !== p.split(' ')[0]) return false;
    if (lines.some((l) => /fail|handshake/.test(l.split(' ')[2]!))) return false;
  }
  return true;
}

async function clusterInfoField(n: ClusterNode, field: string): Promise<number> {
  const m = new RegExp(`${field}:(\\d+)`).exec(String(await cmd(n.port, 'CLUSTER', 'INFO')));
  return m ? Number(m[1]) : 0;
}

const s = suite('pub/sub across a cluster');
const t = (name: string, fn: () => Promise<void>): void => s(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

s.before(async () => {
  for (let i = 0; i < 4; i++) nodes.push(await startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, createdDirs: dirs }));
  [A, B, C, R] = nodes as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
  await cliExpect(0, ['create', addr(A), addr(B), addr(C), '--yes']);
  await cliExpect(0, ['add-node', addr(R), addr(A), '--replica-of', String(await cmd(A.port, 'CLUSTER', 'MYID'))]);
  await waitFor('R is a replica of A on every node, cluster ok', () => settled(A, R), 30_000, 100);
});

s.after.each(() => {
  for (const c of clients.splice(0)) c.close();
});

s.after(async () => {
  for (const n of nodes) {
    try {
      process.kill(n.handle.pid, 'SIGCONT');
    } catch {
      // gone already
    }
  }
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

t('a PUBLISH on one node reaches the subscribers of every node, once', async () => {
  const onA = await subscriber(A, 2, 'SUBSCRIBE', 'news');
  const onB = await subscriber(B, 3, 'PSUBSCRIBE', 'n*');
  const onR = await subscriber(R, 3, 'SUBSCRIBE', 'news');
  const onC = await subscriber(C, 2, 'SUBSCRIBE', 'other');
  const pub = await client(C);
  // Redis's reply counts this node's receivers only.
  assert.is((await pub.call(['PUBLISH', 'news', 'hello'])).raw.toString(), ':0\r\n');
  const binary = Buffer.from([0, 13, 10, 255, 42]);
  assert.is((await pub.call(['PUBLISH', 'news', binary])).raw.toString(), ':0\r\n');
  assert.is(await next(onA, 'A'), push(2, 'message', 'news', 'hello'));
  assert.is(await next(onB, 'B'), push(3, 'pmessage', 'n*', 'news', 'hello'));
  assert.is(await next(onR, 'R'), push(3, 'message', 'news', 'hello'));
  const bin = binary.toString('latin1');
  assert.is(await next(onA, 'A'), `*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\n${bin}\r\n`);
  assert.is(await next(onB, 'B'), `>4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\n${bin}\r\n`);
  assert.is(await next(onR, 'R'), `>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\n${bin}\r\n`);
  // From the replica: the publisher's own subscriber counts, the others get it over the bus.
  const pubR = await client(R);
  assert.is((await pubR.call(['PUBLISH', 'news', 'from-r'])).raw.toString(), ':1\r\n');
  assert.is(await next(onR, 'R'), push(3, 'message', 'news', 'from-r'));
  assert.is(await next(onA, 'A'), push(2, 'message', 'news', 'from-r'));
  assert.is(await next(onB, 'B'), push(3, 'pmessage', 'n*', 'news', 'from-r'));
  // Nothing twice, nothing for the wrong channel.
  assert.is(await pub.call(['PUBLISH', 'other', 'last']).then((r) => r.raw.toString()), ':1\r\n');
  assert.is(await next(onC, 'C'), push(2, 'message', 'other', 'last'));
  assert.is(onA.pending() + onB.pending() + onR.pending(), 0);
  assert.ok((await clusterInfoField(C, 'cluster_stats_messages_publish_sent')) >= 3 * 3);
  assert.ok((await clusterInfoField(A, 'cluster_stats_messages_publish_received')) >= 3);
});

t('ioredis Cluster: subscribe/publish and ssubscribe/spublish (shardedSubscribers)', async () => {
  const seeds = [A, B, C].map((n) => ({ host: '127.0.0.1', port: n.port }));
  const sub = new Cluster(seeds, { shardedSubscribers: true });
  const pub = new Cluster(seeds);
  sub.on('error', () => undefined);
  pub.on('error', () => undefined);
  try {
    const messages: string[] = [];
    const smessages: string[] = [];
    sub.on('message', (ch: string, m: string) => messages.push(`${ch}:${m}`));
    sub.on('smessage', (ch: string, m: string) => smessages.push(`${ch}:${m}`));
    await sub.subscribe('io-news');
    await sub.ssubscribe('{io}:a', '{io}:b');
    await sub.ssubscribe(CH_IO);
    for (let i = 0; i < 20; i++) await pub.publish('io-news', `m${i}`);
    await pub.spublish('{io}:a', 'sa');
    await pub.spublish('{io}:b', 'sb');
    await pub.spublish(CH_IO, 'sc');
    await waitFor('ioredis got the messages', () => messages.length >= 20 && smessages.length >= 3, 10_000);
    // ioredis sends each PUBLISH to any node: messages from different nodes come over different
    // links, so only each one's arrival, once, is certain (as with Redis).
    assert.equal([...messages].sort(), Array.from({ length: 20 }, (_, i) => `io-news:m${i}`).sort());
    assert.equal(smessages.sort(), ['{io}:a:sa', '{io}:b:sb', `${CH_IO}:sc`].sort());
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
});

t('SPUBLISH stays in the shard: primary and replica deliver to each other, nowhere else', async () => {
  const bBefore = await clusterInfoField(B, 'cluster_stats_messages_publishshard_received');
  const cBefore = await clusterInfoField(C, 'cluster_stats_messages_publishshard_received');
  // A replica accepts SSUBSCRIBE for its primary's slots without READONLY (Redis 7.0).
  const onR = await subscriber(R, 2, 'SSUBSCRIBE', CH_SHARD);
  const onA = await subscriber(A, 3, 'SSUBSCRIBE', CH_SHARD);
  const other = await client(B);
  const slot = calculateSlot(CH_SHARD);
  assert.is((await other.call(['SSUBSCRIBE', CH_SHARD])).raw.toString(), `-MOVED ${slot} ${addr(A)}\r\n`);
  assert.is((await other.call(['SPUBLISH', CH_SHARD, 'x'])).raw.toString(), `-MOVED ${slot} ${addr(A)}\r\n`);
  const pubA = await client(A);
  assert.is((await pubA.call(['SPUBLISH', CH_SHARD, 'from-a'])).raw.toString(), ':1\r\n');
  assert.is(await next(onA, 'A'), push(3, 'smessage', CH_SHARD, 'from-a'));
  assert.is(await next(onR, 'R'), push(2, 'smessage', CH_SHARD, 'from-a'));
  const pubR = await client(R);
  assert.is((await pubR.call(['SPUBLISH', CH_SHARD, 'from-r'])).raw.toString(), ':1\r\n');
  assert.is(await next(onR, 'R'), push(2, 'smessage', CH_SHARD, 'from-r'));
  assert.is(await next(onA, 'A'), push(3, 'smessage', CH_SHARD, 'from-r'));
  // B and C never saw a PUBLISHSHARD; A and R sent theirs to each other only.
  assert.is(await clusterInfoField(B, 'cluster_stats_messages_publishshard_received'), bBefore);
  assert.is(await clusterInfoField(C, 'cluster_stats_messages_publishshard_received'), cBefore);
  assert.ok((await clusterInfoField(R, 'cluster_stats_messages_publishshard_received')) >= 1);
});

t('tessera cluster reshard of a slot sends its sharded subscribers the sunsubscribe notice', async () => {
  const onA = await subscriber(A, 2, 'SSUBSCRIBE', CH0);
  const keep = await subscriber(A, 2, 'SSUBSCRIBE', CH_KEEP);
  // A second channel of the same client in the same slot: the counts go down one by one.
  const both = await client(A);
  both.sendCommand('SSUBSCRIBE', CH0);
  await both.read(1);
  both.sendCommand('SSUBSCRIBE', CH_KEEP);
  await both.read(1);
  const onR = await subscriber(R, 3, 'SSUBSCRIBE', CH0);
  const bId = String(await cmd(B.port, 'CLUSTER', 'MYID'));
  await cliExpect(0, ['reshard', addr(A), '--from', addr(A), '--to', bId, '--slots', '1', '--yes']);
  assert.is(String(await cmd(A.port, 'CLUSTER', 'COUNTKEYSINSLOT', '0')), '0');
  assert.is(await next(onA, 'A'), push(2, 'sunsubscribe', CH0, 0));
  assert.is(await next(both, 'A, two channels'), push(2, 'sunsubscribe', CH0, 1));
  assert.is(await next(onR, 'R'), push(3, 'sunsubscribe', CH0, 0));
  // Channels of other slots stay.
  const pubA = await client(A);
  assert.is((await pubA.call(['SPUBLISH', CH_KEEP, 'still'])).raw.toString(), ':2\r\n');
  assert.is(await next(keep, 'A, other slot'), push(2, 'smessage', CH_KEEP, 'still'));
  assert.is(await next(both, 'A, other slot'), push(2, 'smessage', CH_KEEP, 'still'));
  // Slot 0 is B's now: A redirects, B serves.
  assert.is((await pubA.call(['SSUBSCRIBE', CH0])).raw.toString(), `-MOVED 0 ${addr(B)}\r\n`);
  const onB = await subscriber(B, 2, 'SSUBSCRIBE', CH0);
  assert.is((await (await client(B)).call(['SPUBLISH', CH0, 'moved'])).raw.toString(), ':1\r\n');
  assert.is(await next(onB, 'B'), push(2, 'smessage', CH0, 'moved'));
  assert.is(onA.pending() + onR.pending(), 0);
});

t('a failover sends the old primary\'s sharded subscribers the notice; the winner keeps its own', async () => {
  const onA = await subscriber(A, 2, 'SSUBSCRIBE', CH_FAILOVER);
  const onR = await subscriber(R, 3, 'SSUBSCRIBE', CH_FAILOVER);
  assert.is(String(await cmd(R.port, 'CLUSTER', 'FAILOVER')), 'OK');
  await waitFor('R is primary and A its replica, everywhere', () => settled(R, A), 30_000, 100);
  assert.is(await next(onA, 'old primary'), push(2, 'sunsubscribe', CH_FAILOVER, 0));
  // The winner's subscriber is still there: its next push is a message, not a notice.
  const pubR = await client(R);
  assert.is((await pubR.call(['SPUBLISH', CH_FAILOVER, 'after'])).raw.toString(), ':1\r\n');
  assert.is(await next(onR, 'new primary'), push(3, 'smessage', CH_FAILOVER, 'after'));
  // The old primary, a replica now, serves SSUBSCRIBE for its new primary's slots.
  const again = await subscriber(A, 2, 'SSUBSCRIBE', CH_FAILOVER);
  await pubR.call(['SPUBLISH', CH_FAILOVER, 'to-replica']);
  assert.is(await next(again, 'A as a replica'), push(2, 'smessage', CH_FAILOVER, 'to-replica'));
  assert.is(await next(onR, 'new primary'), push(3, 'smessage', CH_FAILOVER, 'to-replica'));
});

t('PUBLISH does not stall while a peer is stopped (SIGSTOP)', async () => {
  const onB = await subscriber(B, 2, 'SUBSCRIBE', 'flood');
  const pub = await client(A);
  const message = Buffer.alloc(1024, 120);
  const N = 4000;
  const burst = async (): Promise<number> => {
    const t0 = Date.now();
    for (let i = 0; i < N; i++) pub.sendCommand('PUBLISH', 'flood', message);
    const replies = await pub.read(N, 30_000);
    assert.ok(replies.every((r) => r.raw.toString() === ':0\r\n'));
    return Date.now() - t0;
  };
  const drain = async (what: string): Promise<void> => {
    for (let got = 0; got < N; got += 500) await onB.read(500, 30_000).catch((e: unknown) => assert.unreachable(`${what}: ${(e as Error).message}`));
  };
  const baselineMs = await burst();
  await drain('B, C running');
  process.kill(C.handle.pid, 'SIGSTOP');
  try {
    const stoppedMs = await burst();
    await drain('B, C stopped');
    // The bus link to C filled and was dropped from; A still answers at once.
    const burst2Ms = await burst();
    await drain('B, C stopped, second burst');
    assert.is((await pub.call(['PING'])).raw.toString(), '+PONG\r\n');
    console.log(`  ${N} PUBLISH of 1 KiB, pipelined: ${baselineMs} ms with C running, ${stoppedMs} and ${burst2Ms} ms with C stopped`);
  } finally {
    process.kill(C.handle.pid, 'SIGCONT');
  }
});

t('cluster down: the shard-channel commands answer as redis-server 7.0 (differential)', async () => {
  const rdir = mkdtempSync(join(tmpdir(), 'pubsub-cluster-redis-'));
  dirs.push(rdir);
  const redis: ServerHandle = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(rdir, 'nodes.conf'), '--dir', rdir] });
  const lone = await startClusterNode({ nodeTimeoutMs: 5_000, createdDirs: dirs });
  nodes.push(lone);
  try {
    const servers = [redis.port, lone.port];
    // Slots 0..100 only: the cluster is down, slot 0 is served here, the rest by nobody.
    for (const port of servers) assert.is(String(await cmd(port, 'CLUSTER', 'ADDSLOTSRANGE', '0', '100')), 'OK');
    for (const port of servers) await waitFor('101 slots assigned', async () => String(await cmd(port, 'CLUSTER', 'INFO')).includes('cluster_slots_assigned:101'), 15_000);
    const far = channelIn((s) => s > 100, 'far');
    const steps: string[][] = [
      ['SPUBLISH', CH0, 'm'],
      ['SPUBLISH', far, 'm'],
      ['PUBLISH', CH0, 'm'],
      ['CONFIG', 'GET', 'cluster-allow-pubsubshard-when-down'],
      ['CONFIG', 'SET', 'cluster-allow-pubsubshard-when-down', 'no'],
      ['SPUBLISH', CH0, 'm'],
      ['SSUBSCRIBE', CH0],
      ['SUNSUBSCRIBE', CH0],
      ['CONFIG', 'SET', 'cluster-allow-pubsubshard-when-down', 'yes'],
      ['SSUBSCRIBE', far],
      ['SSUBSCRIBE', CH0, far],
      ['SSUBSCRIBE', CH0],
      ['SPUBLISH', CH0, 'm'],
      ['SUNSUBSCRIBE'],
    ];
    const [r, tc] = [await rawClient(redis.port), await rawClient(lone.port)];
    const problems: string[] = [];
    try {
      for (const args of steps) {
        const [rr, tr] = await Promise.all([r.call(args), tc.call(args)]);
        if (!rr.raw.equals(tr.raw)) problems.push(`${args.join(' ')}\n    redis:   ${show(rr.raw)}\n    tessera: ${show(tr.raw)}`);
      }
    } finally {
      r.close();
      tc.close();
    }
    assert.is(problems.length, 0, problems.join('\n  '));
  } finally {
    await redis.stop();
  }
});

s.run();
