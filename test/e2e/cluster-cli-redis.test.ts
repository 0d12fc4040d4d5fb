// `tessera cluster` against real redis-server 7 nodes, 3 primaries with a replica each, to hold the
// CLI to what redis-cli --cluster does there: create --replicas, check, status, remove-node of a
// replica, refusal of a primary with slots and replicas, remove-node of an empty primary with a
// replica (which goes to the primary with the fewest replicas), reshard and rebalance with keys
// (MIGRATE fallback: redis-server has no CLUSTER MIGRATESLOT), fix of a slot opened by hand, and
// remove-node of a primary with slots (Redis turns a primary that loses its last slot into a
// replica, which then refuses SETSLOT). Fails, never skips, when redis-server is missing.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commandOnce, startRedis, withTimeout, type ServerHandle } from './harness.js';
import { addr, cli, cliExpect, clusterClient, myId, readAll, statusJson, type StatusJson } from './cluster-cli-helpers.js';

const NODE_TIMEOUT_MS = 2000;
const TEST_TIMEOUT_MS = 90_000;
const KEY_COUNT = 500;

const tmpRoot = mkdtempSync(join(tmpdir(), 'tessera-cluster-cli-redis-'));
const servers: ServerHandle[] = [];
let nodeDirs = 0;

/** A cluster-enabled redis-server with its own directory for nodes.conf. */
async function startNode(): Promise<ServerHandle> {
  const dir = join(tmpRoot, `node-${nodeDirs++}`);
  mkdirSync(dir, { recursive: true });
  const h = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--dir', dir] });
  servers.push(h);
  return h;
}

function redisServerMissing(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined) return `redis-server is not installed or not on PATH (${r.error.message}); install it (e.g. apt-get install redis-server) to run this test`;
  return null;
}

const written = new Map<string, string>();
/** The six nodes create gets, in order: the first three become primaries. */
let nodes: ServerHandle[] = [];
const byPort = new Map<number, ServerHandle>();

const s = suite('tessera cluster against redis-server primaries with replicas');

s.after(async () => {
  await Promise.all(servers.map((h) => h.stop()));
  rmSync(tmpRoot, { recursive: true, force: true });
});

function t(name: string, fn: () => Promise<void>): void {
  s(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

function portOf(n: { addr: string }): number {
  return Number(n.addr.slice(n.addr.lastIndexOf(':') + 1));
}

function primariesOf(st: StatusJson): StatusJson['nodes'] {
  return st.nodes.filter((n) => n.role === 'primary');
}

function handleOf(n: { addr: string }): ServerHandle {
  const h = byPort.get(portOf(n));
  if (h === undefined) throw new Error(`no server on ${n.addr}`);
  return h;
}

/** The replica's CLUSTER NODES has only itself and it holds nothing: what CLUSTER RESET leaves. */
async function assertReset(h: ServerHandle): Promise<void> {
  assert.is(String(await commandOnce(h.port, 'CLUSTER', 'NODES')).trim().split('\n').length, 1, `${addr(h)} was reset`);
  assert.is(await commandOnce(h.port, 'DBSIZE'), 0);
}

t('redis-server is installed', async () => {
  const missing = redisServerMissing();
  assert.is(missing, null, missing ?? '');
});

t('create --replicas 1 with six nodes; check and status agree; keys go in', async () => {
  nodes = await Promise.all(Array.from({ length: 6 }, () => startNode()));
  for (const h of nodes) byPort.set(h.port, h);
  const r = await cliExpect(0, ['create', ...nodes.map(addr), '--replicas', '1', '--yes']);
  assert.match(r.stdout, /Adding replica/);
  await cliExpect(0, ['check', addr(nodes[3]!)]);
  const st = await statusJson(nodes[0]!.port);
  assert.ok(st.ok);
  assert.is(st.nodes.length, 6);
  assert.is(primariesOf(st).length, 3);
  for (const p of primariesOf(st)) assert.is(st.nodes.filter((n) => n.primaryId === p.id).length, 1, `${p.addr} has one replica`);
  const client = await clusterClient(nodes[0]!.port);
  try {
    for (let i = 0; i < KEY_COUNT; i++) written.set(`key:${i}`, `value-${i}`);
    await Promise.all([...written].map(([k, v]) => client.set(k, v)));
  } finally {
    client.disconnect();
  }
});

/** The primary at nodes[i] and its one replica, as the cluster now has them. */
async function primaryAndReplica(i: number): Promise<{ primary: StatusJson['nodes'][number]; replica: StatusJson['nodes'][number] | undefined; st: StatusJson }> {
  const st = await statusJson(nodes[0]!.port);
  const primary = st.nodes.find((n) => n.addr === addr(nodes[i]!))!;
  return { primary, replica: st.nodes.find((n) => n.primaryId === primary.id), st };
}

t('remove-node of a replica', async () => {
  const { replica } = await primaryAndReplica(0);
  assert.ok(replica !== undefined);
  const r = await cliExpect(0, ['remove-node', addr(nodes[1]!), replica.id]);
  assert.match(r.stdout, /Sending CLUSTER FORGET messages to the cluster/);
  const st = await statusJson(nodes[1]!.port);
  assert.is(st.nodes.length, 5);
  assert.not.ok(st.nodes.some((n) => n.id === replica.id));
  await assertReset(handleOf(replica));
  await cliExpect(0, ['check', addr(nodes[2]!)]);
});

t('remove-node refuses a primary that has slots and replicas, with redis-cli\'s message', async () => {
  const { primary } = await primaryAndReplica(1);
  const r = await cli(['remove-node', addr(nodes[0]!), primary.id]);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, `Node ${primary.addr} is not empty! Reshard data away and try again.`);
  const st = await statusJson(nodes[0]!.port);
  assert.is(st.nodes.length, 5, 'nothing was removed');
  assert.is(st.nodes.find((n) => n.id === primary.id)?.slots, primary.slots);
});

t('remove-node of an empty primary with a replica: the replica goes to the primary with the fewest', async () => {
  const [empty, itsReplica] = await Promise.all([startNode(), startNode()]);
  byPort.set(empty.port, empty);
  byPort.set(itsReplica.port, itsReplica);
  await cliExpect(0, ['add-node', addr(empty), addr(nodes[0]!)]);
  const emptyId = await myId(empty);
  await cliExpect(0, ['add-node', addr(itsReplica), addr(nodes[0]!), '--replica-of', emptyId]);
  const replicaId = await myId(itsReplica);
  assert.is((await statusJson(nodes[0]!.port)).nodes.find((n) => n.id === replicaId)?.primaryId, emptyId);

  const r = await cliExpect(0, ['remove-node', addr(nodes[0]!), emptyId]);
  // nodes[0] lost its replica above: it is the only primary with none left.
  assert.match(r.stdout, `${addr(itsReplica)} as replica of ${addr(nodes[0]!)}`);
  const st = await statusJson(nodes[0]!.port);
  assert.is(st.nodes.length, 6);
  assert.not.ok(st.nodes.some((n) => n.id === emptyId));
  assert.is(st.nodes.find((n) => n.id === replicaId)?.primaryId, await myId(nodes[0]!));
  await assertReset(empty);
  await cliExpect(0, ['check', addr(itsReplica)]);
});

t('reshard and rebalance with keys present (MIGRATE, as redis-server has no MIGRATESLOT)', async () => {
  const from = await myId(nodes[1]!);
  const slotsBefore = (await statusJson(nodes[0]!.port)).nodes.find((n) => n.id === from)!.slots;
  const r = await cliExpect(0, ['reshard', addr(nodes[0]!), '--from', from, '--to', addr(nodes[2]!), '--slots', '200', '--yes']);
  assert.match(r.stdout, /Moved 200 slots and \d+ keys/);
  let st = await statusJson(nodes[0]!.port);
  assert.is(st.nodes.find((n) => n.id === from)?.slots, slotsBefore - 200);
  assert.is(primariesOf(st).reduce((k, n) => k + n.keys, 0), KEY_COUNT);
  await readAll(nodes[0]!.port, written);

  await cliExpect(0, ['rebalance', addr(nodes[0]!)]);
  st = await statusJson(nodes[0]!.port);
  for (const n of primariesOf(st)) assert.ok(Math.abs(n.slots - 16384 / 3) <= 2, `${n.addr} has ${n.slots} slots`);
  await cliExpect(0, ['check', addr(nodes[1]!)]);
  await readAll(nodes[1]!.port, written);
});

t('fix finishes a move left open by hand', async () => {
  const slot = Number(await commandOnce(nodes[0]!.port, 'CLUSTER', 'KEYSLOT', '{fixme}'));
  const client = await clusterClient(nodes[0]!.port);
  try {
    for (let i = 0; i < 20; i++) {
      written.set(`{fixme}:${i}`, `f${i}`);
      await client.set(`{fixme}:${i}`, `f${i}`);
    }
  } finally {
    client.disconnect();
  }
  const prims = primariesOf(await statusJson(nodes[0]!.port));
  const owner = prims.find((n) => n.keys > 0 && n.ranges !== '-' && ownsSlot(n.ranges, slot))!;
  const target = prims.find((n) => n.id !== owner.id)!;
  await commandOnce(portOf(target), 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', owner.id);
  await commandOnce(portOf(owner), 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
  const bad = await cli(['check', addr(nodes[0]!)]);
  assert.is(bad.code, 1);
  await cliExpect(0, ['fix', addr(nodes[0]!)]);
  assert.is(await commandOnce(portOf(target), 'CLUSTER', 'COUNTKEYSINSLOT', slot), 20);
  await cliExpect(0, ['check', addr(nodes[2]!)]);
  await readAll(nodes[2]!.port, written);
});

function ownsSlot(ranges: string, slot: number): boolean {
  return ranges.split(',').some((r) => {
    const [lo, hi] = r.split('-').map(Number);
    return slot >= lo! && slot <= (hi ?? lo)!;
  });
}

t('remove-node of a primary with slots and no replica moves its slots away first', async () => {
  const extra = await startNode();
  byPort.set(extra.port, extra);
  await cliExpect(0, ['add-node', addr(extra), addr(nodes[0]!)]);
  await cliExpect(0, ['rebalance', addr(nodes[0]!), '--use-empty-masters']);
  const extraId = await myId(extra);
  const before = await statusJson(nodes[0]!.port);
  assert.ok(before.nodes.find((n) => n.id === extraId)!.slots > 4000, 'the new primary took its share');

  // Redis makes the drained node a replica of the primary that took its last slot, which then
  // answers SETSLOT with "Please use SETSLOT only with masters." (the error this used to stop on).
  const r = await cliExpect(0, ['remove-node', addr(nodes[0]!), extraId]);
  assert.match(r.stdout, /\[OK\] Node [0-9a-f]+ removed/);
  const st = await statusJson(nodes[0]!.port);
  assert.not.ok(st.nodes.some((n) => n.id === extraId));
  assert.is(st.slotsAssigned, 16384);
  assert.is(primariesOf(st).reduce((k, n) => k + n.keys, 0), written.size);
  await assertReset(extra);
  await cliExpect(0, ['check', addr(nodes[1]!)]);
  await readAll(nodes[0]!.port, written);
});

s.run();
