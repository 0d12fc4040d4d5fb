// Replicas and failover with real processes on loopback: six Tessera nodes made into three
// primaries with one replica each by `redis-cli --cluster create --cluster-replicas 1` (which uses
// CLUSTER REPLICATE), with cluster-node-timeout 1000. Checks the reply shapes (CLUSTER NODES,
// REPLICAS/SLAVES, SLOTS, SHARDS, REPLICATE and FAILOVER errors as redis-server 7.0), READONLY
// reads from replicas with ioredis scaleReads: 'slave', a manual CLUSTER FAILOVER with no write
// lost, kill -9 of a primary under an ioredis Cluster write load (a replica is primary within
// about two seconds, the client carries on, every write acknowledged by WAIT 1 is there), the old
// primary restarting as a replica of the winner, and `tessera cluster status` telling all of it.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { commandOnce, runTesseraCli, rawClient, redisCli, startClusterNode, waitFor, withTimeout, type ClusterNode } from './harness.js';

const NODE_TIMEOUT_MS = 1000;
const TEST_TIMEOUT_MS = 90_000;

type Node = ClusterNode;

const dirs: string[] = [];
const nodes: Node[] = [];

function startNode(port?: number, busPort?: number, dir?: string): Promise<Node> {
  return startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, port, busPort, dir, createdDirs: dirs });
}

const cmd = commandOnce;

async function errorOf(port: number, ...args: string[]): Promise<string> {
  try {
    await cmd(port, ...args);
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
}

interface Line {
  id: string;
  port: number;
  flags: string[];
  primaryId: string | null;
  slots: string[];
}

function parseNodes(text: string): Line[] {
  return text.trim().split('\n').map((l) => {
    const f = l.split(' ');
    return { id: f[0]!, port: Number(f[1]!.split('@')[0]!.split(':')[1]), flags: f[2]!.split(','), primaryId: f[3] === '-' ? null : f[3]!, slots: f.slice(8) };
  });
}

async function nodesOf(port: number): Promise<Line[]> {
  return parseNodes(String(await cmd(port, 'CLUSTER', 'NODES')));
}

function live(): Node[] {
  return nodes.filter((n) => n.handle.proc.exitCode === null && n.handle.proc.signalCode === null);
}

/** Primaries with slots and their replicas, as node `port` sees them. */
async function shape(port: number): Promise<Array<{ primary: Line; replicas: Line[] }>> {
  const all = await nodesOf(port);
  return all.filter((l) => l.flags.includes('master') && l.slots.length > 0).map((p) => ({ primary: p, replicas: all.filter((r) => r.primaryId === p.id) }));
}

function clusterClient(opts: ConstructorParameters<typeof Cluster>[1] = {}): Cluster {
  const io = new Cluster(live().map((n) => ({ host: '127.0.0.1', port: n.port })), { ...opts });
  io.on('error', () => undefined);
  return io;
}

const runTessera = runTesseraCli;

/** Every live node reports cluster_state:ok and agrees on who the primaries are. */
async function settled(): Promise<boolean> {
  const views = await Promise.all(live().map(async (n) => ({ info: String(await cmd(n.port, 'CLUSTER', 'INFO')), s: await shape(n.port) })));
  if (!views.every((v) => /cluster_state:ok/.test(v.info))) return false;
  const sig = (s: Array<{ primary: Line; replicas: Line[] }>): string => s.map((x) => `${x.primary.id}:${x.replicas.map((r) => r.id).sort()}`).sort().join('|');
  return views.every((v) => sig(v.s) === sig(views[0]!.s) && v.s.length === 3);
}

const f = suite('cluster failover');
const t = (name: string, fn: () => Promise<void>): void => f(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

f.before(async () => {
  for (let i = 0; i < 6; i++) nodes.push(await startNode());
  const r = await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\[OK\] All 16384 slots covered/);
  await waitFor('three primaries with one replica each, agreed everywhere', settled, 30_000, 200);
});

f.after(async () => {
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

t('CLUSTER NODES, REPLICAS, SLAVES, SLOTS and SHARDS list the replicas as Redis does', async () => {
  const p0 = nodes[0]!.port;
  // A replica is listed in CLUSTER SLOTS once it has replicated something (offset not 0).
  const io = clusterClient();
  for (let i = 0; i < 100; i++) await io.set(`shape:${i}`, 'x');
  io.disconnect();
  const s = await shape(p0);
  assert.is(s.length, 3);
  for (const { primary, replicas } of s) {
    assert.is(replicas.length, 1, `replicas of ${primary.id}`);
    const r = replicas[0]!;
    assert.equal(r.flags.filter((x) => x !== 'myself'), ['slave']);
    assert.equal(r.slots, []);
    const lines = (await cmd(p0, 'CLUSTER', 'REPLICAS', primary.id)) as string[];
    assert.is(lines.length, 1);
    assert.ok(lines[0]!.startsWith(`${r.id} 127.0.0.1:${r.port}@`), lines[0]);
    assert.match(lines[0]!, new RegExp(`slave ${primary.id} \\d+ \\d+ \\d+ connected$`));
    // The same lines, but for the ping-sent and pong-received times, which move between the calls.
    const untimed = (ls: string[]): string[] => ls.map((l) => l.split(' ').map((f, i) => (i === 4 || i === 5 ? '-' : f)).join(' '));
    assert.equal(untimed((await cmd(p0, 'CLUSTER', 'SLAVES', primary.id)) as string[]), untimed(lines));
  }
  // CLUSTER SLOTS: [from, to, primary, replica] once the replica has replicated something.
  await waitFor('replicas listed in CLUSTER SLOTS', async () => {
    const slots = (await cmd(p0, 'CLUSTER', 'SLOTS')) as unknown[][];
    return slots.length === 3 && slots.every((e) => e.length === 4);
  }, 15_000, 200);
  const slots = (await cmd(p0, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string, unknown[]], [string, number, string, unknown[]]]>;
  for (const [from, , p, r] of slots) {
    const entry = s.find((x) => x.primary.id === p[2])!;
    assert.ok(entry, `primary ${p[2]} of range ${from}`);
    assert.equal(r, ['127.0.0.1', entry.replicas[0]!.port, entry.replicas[0]!.id, []]);
  }
  // CLUSTER SHARDS (RESP2: flat lists): each shard's nodes are the primary then its replica.
  const shards = (await cmd(p0, 'CLUSTER', 'SHARDS')) as Array<[string, number[], string, unknown[][]]>;
  assert.is(shards.length, 3);
  for (const sh of shards) {
    assert.is(sh[0], 'slots');
    assert.is(sh[2], 'nodes');
    const members = sh[3].map((n) => Object.fromEntries(Array.from({ length: n.length / 2 }, (_, i) => [n[2 * i], n[2 * i + 1]])));
    assert.equal(members.map((m) => m['role']), ['master', 'replica']);
    assert.equal(Object.keys(members[1]!), ['id', 'port', 'ip', 'endpoint', 'role', 'replication-offset', 'health']);
    assert.ok(['online', 'loading'].includes(String(members[1]!['health'])));
  }
  const info = String(await cmd(p0, 'CLUSTER', 'INFO'));
  assert.match(info, /cluster_known_nodes:6\r\n/);
  assert.match(info, /cluster_size:3\r\n/);
});

t('CLUSTER REPLICATE and CLUSTER FAILOVER errors are Redis 7 texts', async () => {
  const s = await shape(nodes[0]!.port);
  const primary = s[0]!.primary;
  const replica = s[0]!.replicas[0]!;
  assert.is(await errorOf(primary.port, 'CLUSTER', 'REPLICATE', 'abc'), 'ERR Unknown node abc');
  assert.is(await errorOf(primary.port, 'CLUSTER', 'REPLICATE', primary.id), "ERR Can't replicate myself");
  assert.is(await errorOf(primary.port, 'CLUSTER', 'REPLICATE', replica.id), 'ERR I can only replicate a master, not a replica.');
  assert.is(await errorOf(primary.port, 'CLUSTER', 'REPLICATE', s[1]!.primary.id), 'ERR To set a master the node must be empty and without assigned slots.');
  assert.is(await errorOf(primary.port, 'CLUSTER', 'FAILOVER'), 'ERR You should send CLUSTER FAILOVER to a replica');
  assert.is(await errorOf(replica.port, 'CLUSTER', 'FAILOVER', 'NOW'), 'ERR syntax error');
  assert.is(await errorOf(replica.port, 'CLUSTER', 'REPLICAS', replica.id), 'ERR The specified node is not a master');
});

t('a replica redirects to its primary, and serves READONLY reads (ioredis scaleReads: slave)', async () => {
  const writer = clusterClient();
  const reader = clusterClient({ scaleReads: 'slave' });
  try {
    const keys = Array.from({ length: 200 }, (_, i) => `ro:${i}`);
    for (const k of keys) await writer.set(k, `v-${k}`);
    const s = await shape(nodes[0]!.port);
    const key = keys[0]!;
    const slot = calculateSlot(key);
    const owner = s.find((x) => x.primary.slots.some((r) => {
      const [a, b] = r.split('-').map(Number);
      return slot >= a! && slot <= (b ?? a)!;
    }))!;
    const replica = owner.replicas[0]!;
    // Without READONLY: MOVED to the primary; with it, served by the replica.
    const raw = await rawClient(replica.port);
    try {
      const moved = await raw.call(['GET', key]);
      assert.is(moved.text, `-MOVED ${slot} 127.0.0.1:${owner.primary.port}\r\n`);
      await raw.call(['READONLY']);
      const got = await waitFor('the replica to have the key', async () => {
        const r = await raw.call(['GET', key]);
        return r.text.includes(`v-${key}`) ? r.text : false;
      }, 10_000, 50);
      assert.is(got, `$${`v-${key}`.length}\r\nv-${key}\r\n`);
    } finally {
      raw.close();
    }
    // Every key read back through replicas (eventually: replication is asynchronous).
    for (const k of keys) {
      await waitFor(`replica read of ${k}`, async () => (await reader.get(k)) === `v-${k}`, 10_000, 20);
    }
  } finally {
    writer.disconnect();
    reader.disconnect();
  }
});

t('a READONLY client\'s write on a replica gets MOVED to the primary (as redis-server 7.0)', async () => {
  const s = await shape(nodes[0]!.port);
  const { primary, replicas } = s[0]!;
  const [a, b] = primary.slots[0]!.split('-').map(Number);
  const key = Array.from({ length: 5000 }, (_, i) => `w${i}`).find((k) => calculateSlot(k) >= a! && calculateSlot(k) <= (b ?? a)!)!;
  const raw = await rawClient(replicas[0]!.port);
  try {
    await raw.call(['READONLY']);
    const write = await raw.call(['SET', key, 'x']);
    assert.is(write.text, `-MOVED ${calculateSlot(key)} 127.0.0.1:${primary.port}\r\n`);
  } finally {
    raw.close();
  }
});

t('CLUSTER FAILOVER on a replica: roles switch, no write lost', async () => {
  const io = clusterClient();
  try {
    const s = await shape(nodes[0]!.port);
    const { primary, replicas } = s[1]!;
    const replica = replicas[0]!;
    const keys: string[] = [];
    for (let i = 0; i < 300; i++) {
      const k = `mf:${i}`;
      await io.set(k, String(i));
      keys.push(k);
    }
    assert.is(await cmd(replica.port, 'CLUSTER', 'FAILOVER'), 'OK');
    await waitFor('the replica to be primary and the old primary its replica', async () => {
      const now = await nodesOf(primary.port);
      const me = now.find((l) => l.id === primary.id)!;
      const r = now.find((l) => l.id === replica.id)!;
      return r.flags.includes('master') && r.slots.length > 0 && me.flags.includes('slave') && me.primaryId === replica.id;
    }, 15_000, 50);
    for (const k of keys) assert.is(await io.get(k), k.slice(3), `key ${k} after the manual failover`);
    await waitFor('the cluster to settle', settled, 15_000, 200);
  } finally {
    io.disconnect();
  }
});

t('kill -9 of a primary under write load: a replica takes over in about 2 s, the client carries on, WAIT-acknowledged writes survive', async () => {
  const io = clusterClient();
  try {
    const s = await shape(nodes[0]!.port);
    const victimLine = s[0]!.primary;
    const replica = s[0]!.replicas[0]!;
    const victim = nodes.find((n) => n.port === victimLine.port)!;
    // Keys in the victim's slots, acknowledged by WAIT 1 (the replica has them).
    const slotIn = (k: string): boolean => victimLine.slots.some((r) => {
      const [a, b] = r.split('-').map(Number);
      const sl = calculateSlot(k);
      return sl >= a! && sl <= (b ?? a)!;
    });
    const acked = new Map<string, string>();
    let stop = false;
    let errors = 0;
    let okAfter = 0;
    let killedAt = 0;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const k = `load:${i}`;
        try {
          await io.set(k, String(i));
          acked.set(k, String(i));
          if (killedAt > 0) okAfter++;
        } catch {
          errors++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    // WAIT 1 on the victim itself: what it acknowledged is on its replica.
    const waited: string[] = [];
    const vc = new Redis({ port: victimLine.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    vc.on('error', () => undefined);
    await vc.connect();
    for (let i = 0; waited.length < 50; i++) {
      const k = `wait:${i}`;
      if (!slotIn(k)) continue;
      await vc.set(k, 'acked');
      const n = (await vc.call('WAIT', '1', '2000')) as number;
      assert.is(n, 1, 'WAIT 1 acknowledged by the replica');
      waited.push(k);
    }
    vc.disconnect();
    killedAt = Date.now();
    process.kill(victim.handle.pid, 'SIGKILL');
    const tookOver = await waitFor('the replica to be primary', async () => {
      const l = (await nodesOf(replica.port)).find((x) => x.id === replica.id)!;
      return l.flags.includes('master') && l.slots.length > 0 ? Date.now() - killedAt : false;
    }, 10_000, 20);
    console.log(`  kill -9 -> replica ${replica.port} primary after ${tookOver} ms (cluster-node-timeout ${NODE_TIMEOUT_MS})`);
    assert.ok(tookOver < 3500, `failover took ${tookOver} ms`);
    await waitFor('writes to go on after the failover', () => okAfter > 200, 15_000, 50);
    stop = true;
    await load;
    for (const k of waited) assert.is(await io.get(k), 'acked', `WAIT-acknowledged ${k} lost`);
    let missing = 0;
    for (const [k, v] of acked) if ((await io.get(k)) !== v) missing++;
    // Asynchronous replication may lose the last writes before the kill (not WAITed), as in Redis.
    console.log(`  ${acked.size} writes acknowledged, ${missing} not found after the failover (not WAITed), ${errors} client errors`);
    // The old primary comes back from its nodes.conf and becomes a replica of the winner.
    const idx = nodes.indexOf(victim);
    nodes[idx] = await startNode(victim.port, victim.busPort, victim.dir);
    await waitFor('the old primary to be a replica of the winner', async () => {
      const me = (await nodesOf(victim.port)).find((x) => x.flags.includes('myself'))!;
      return me.flags.includes('slave') && me.primaryId === replica.id;
    }, 20_000, 100);
    await waitFor('the cluster to settle', settled, 20_000, 200);
    // `tessera cluster status` shows the roles and what happened.
    const st = await runTessera(['cluster', 'status', `127.0.0.1:${nodes[0]!.port}`, '--no-ops']);
    assert.is(st.code, 0, st.out);
    assert.match(st.out, /replica of [0-9a-f]{8}/);
    assert.match(st.out, new RegExp(`automatic failover: 127\\.0\\.0\\.1:${replica.port} \\(${replica.id.slice(0, 8)}\\) replaced 127\\.0\\.0\\.1:${victim.port}`));
    assert.match(st.out, new RegExp(`old primary 127\\.0\\.0\\.1:${victim.port} \\(${victimLine.id.slice(0, 8)}\\) rejoined as a replica`));
    assert.match(st.out, /CLUSTER FAILOVER: /);
  } finally {
    io.disconnect();
  }
});

f.run();
