// Authentication between nodes: a replica logs in to its primary as a least-privilege ACL user
// (masteruser/masterauth with only +psync +replconf +ping, as Redis's docs suggest); a cluster of
// three with requirepass, masteruser/masterauth and cluster-bus-secret gossips, forwards commands
// and migrates a slot with those credentials; a node with the wrong bus secret cannot join (its
// links are refused, the others never list it). Servers are stopped by pid in after().

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { redisCli, requireTool, runTesseraCli, startClusterNode, waitFor, withTimeout, type ClusterNode } from './harness.js';
import { cleanupAll, linkUp, replicasOnline, replInfo, startNode, startReplica, waitAcked } from './replication-helpers.js';

const CLIENT_PW = 'client-pw';
const NODE_USER = 'node';
const NODE_PW = 'node-pw';
const BUS_SECRET = 'bus-s3cret';
const NODE_TIMEOUT_MS = 1000;

// ---- replication with a least-privilege replica user ------------------------------------------

const r = suite('replica user');

r.after(async () => {
  await cleanupAll();
});

r('a replica logs in as a user with only +psync +replconf +ping and replicates', async () => {
  const primary = await startNode('la-p', { args: ['--requirepass', 'admin-pw'], password: 'admin-pw' });
  assert.is(await primary.client.call('ACL', 'SETUSER', 'repl', 'on', '>repl-pw', '+psync', '+replconf', '+ping'), 'OK');
  await primary.client.set('before', '1');
  const replica = await startReplica('la-r', primary, { args: ['--masteruser', 'repl', '--masterauth', 'repl-pw'] });
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await primary.client.set('after', '2');
  await waitAcked(primary);
  assert.equal(await replica.client.mget('before', 'after'), ['1', '2']);
  // Nothing the replica did was denied.
  const log = (await primary.client.call('ACL', 'LOG')) as unknown[][];
  const denied = log.filter((e) => e.includes('repl'));
  assert.equal(denied, [], JSON.stringify(log));
  assert.is((await replInfo(replica.client)).get('master_link_status'), 'up');
});

r('the same replica with a wrong masterauth stays down, and its failed login is in ACL LOG', async () => {
  const primary = await startNode('lb-p', { args: ['--requirepass', 'admin-pw'], password: 'admin-pw' });
  await primary.client.call('ACL', 'SETUSER', 'repl', 'on', '>repl-pw', '+psync', '+replconf', '+ping');
  const replica = await startReplica('lb-r', primary, { args: ['--masteruser', 'repl', '--masterauth', 'wrong'] });
  await waitFor('the replica logged the refused login', () => /WRONGPASS/.test(replica.server.output()));
  assert.is((await replInfo(replica.client)).get('master_link_status'), 'down');
  const log = (await primary.client.call('ACL', 'LOG')) as Array<Array<string | number>>;
  assert.ok(log.some((e) => e[e.indexOf('reason') + 1] === 'auth' && e[e.indexOf('username') + 1] === 'repl'), JSON.stringify(log));
});

r.run();

// ---- a cluster with client, node and bus credentials --------------------------------------------

const c = suite('cluster with node auth');
const nodes: ClusterNode[] = [];
const dirs: string[] = [];
const clients: Redis[] = [];

const NODE_ARGS = ['--requirepass', CLIENT_PW, '--masteruser', NODE_USER, '--masterauth', NODE_PW, '--cluster-bus-secret', BUS_SECRET];

async function client(port: number): Promise<Redis> {
  const io = new Redis({ port, host: '127.0.0.1', password: CLIENT_PW, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  io.on('error', () => undefined);
  clients.push(io);
  await withTimeout(io.connect(), 5000, 'connect');
  return io;
}

async function cmd(port: number, ...args: string[]): Promise<unknown> {
  const io = await client(port);
  return io.call(args[0]!, ...args.slice(1));
}

async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = String(await cmd(port, 'CLUSTER', 'INFO'));
  return Object.fromEntries(text.trim().split('\r\n').map((l) => l.split(':') as [string, string]));
}

c.before(async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  for (let i = 0; i < 3; i++) nodes.push(await startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, extra: NODE_ARGS, createdDirs: dirs }));
  // The user the nodes log in to each other as (forwarding, migration).
  for (const n of nodes) await cmd(n.port, 'ACL', 'SETUSER', NODE_USER, 'on', `>${NODE_PW}`, '+@all', '~*', '&*');
  const created = await redisCli(['-a', CLIENT_PW, '--no-auth-warning', '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'], { timeoutMs: 30_000 });
  assert.is(created.code, 0, created.stdout + created.stderr);
  for (const n of nodes) {
    await waitFor(`node ${n.port} cluster_state:ok`, async () => (await clusterInfo(n.port))['cluster_state'] === 'ok', 15_000);
  }
});

c.after(async () => {
  for (const io of clients.splice(0)) io.disconnect();
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

c('gossip over authenticated bus links: every node knows the three and the whole slot map', async () => {
  for (const n of nodes) {
    const info = await clusterInfo(n.port);
    assert.is(info['cluster_known_nodes'], '3');
    assert.is(info['cluster_slots_assigned'], '16384');
  }
});

c('cluster-forwarding: a plain client of one node reaches every slot (links log in as masteruser)', async () => {
  const p0 = nodes[0]!.port;
  await cmd(p0, 'CONFIG', 'SET', 'cluster-forwarding', 'yes');
  try {
    const io = await client(p0);
    for (let i = 0; i < 100; i++) assert.is(await io.set(`fw:${i}`, String(i)), 'OK');
    for (let i = 0; i < 100; i++) assert.is(await io.get(`fw:${i}`), String(i));
  } finally {
    await cmd(p0, 'CONFIG', 'SET', 'cluster-forwarding', 'no');
  }
});

c('CLUSTER MIGRATESLOT streams a slot to a node that requires a login', async () => {
  const src = nodes[0]!.port;
  const dst = nodes[1]!.port;
  const srcId = String(await cmd(src, 'CLUSTER', 'MYID'));
  const dstId = String(await cmd(dst, 'CLUSTER', 'MYID'));
  const slots = (await cmd(src, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
  const owned = (slot: number): boolean => slots.some(([a, b, m]) => slot >= a && slot <= b && m[1] === src);
  // Keys of one slot of src: a hash tag that lands there.
  let t = 0;
  while (!owned(calculateSlot(`{t${t}}`))) t++;
  const slot = calculateSlot(`{t${t}}`);
  const before = Number(await cmd(src, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
  const io = await client(src);
  for (let i = 0; i < 20; i++) assert.is(await io.set(`{t${t}}:${i}`, String(i)), 'OK');
  await cmd(dst, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', srcId);
  await cmd(src, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dstId);
  const moved = Number(await cmd(src, 'CLUSTER', 'MIGRATESLOT', String(slot), '127.0.0.1', String(dst)));
  assert.is(moved, 20 + before);
  await cmd(dst, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', dstId);
  await cmd(src, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', dstId);
  assert.is(await cmd(dst, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)), 20 + before);
});

c('tessera cluster logs in with --pass (or TESSERA_PASS); without it the node answers NOAUTH', async () => {
  const at = `127.0.0.1:${nodes[0]!.port}`;
  const ok = await runTesseraCli(['cluster', 'check', '--pass', CLIENT_PW, at]);
  assert.is(ok.code, 0, ok.out);
  assert.match(ok.out, /All 16384 slots covered/);
  const refused = await runTesseraCli(['cluster', 'check', at]);
  assert.is(refused.code, 1, refused.out);
  assert.match(refused.out, /NOAUTH/);
});

c('a node with the wrong bus secret cannot join: its links are refused and nobody lists it', async () => {
  const intruder = await startClusterNode({
    nodeTimeoutMs: NODE_TIMEOUT_MS, createdDirs: dirs,
    extra: ['--requirepass', CLIENT_PW, '--cluster-bus-secret', 'not-the-secret'],
  });
  nodes.push(intruder);
  const target = nodes[0]!;
  assert.is(await cmd(intruder.port, 'CLUSTER', 'MEET', '127.0.0.1', String(target.port), String(target.busPort)), 'OK');
  await waitFor('the target refused the intruder\'s bus link', () => /cluster bus: link refused/.test(target.handle.output()), 10_000);
  // Several heartbeats later (node timeout 1 s), still nobody lists it.
  const t0 = Date.now();
  await waitFor('two node timeouts pass', () => Date.now() - t0 > 2 * NODE_TIMEOUT_MS, 5000);
  for (const n of nodes.slice(0, 3)) {
    const text = String(await cmd(n.port, 'CLUSTER', 'NODES'));
    assert.not.match(text, new RegExp(`:${intruder.port}@`), `node ${n.port} lists the intruder:\n${text}`);
    assert.is((await clusterInfo(n.port))['cluster_known_nodes'], '3');
  }
  // And the intruder learnt nothing of the cluster.
  assert.is((await clusterInfo(intruder.port))['cluster_slots_assigned'], '0');
});

c.run();
