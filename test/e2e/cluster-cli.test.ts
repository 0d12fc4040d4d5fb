// `tessera cluster` end to end: create, status (table and --json), check, add-node, reshard with
// keys present (all readable afterwards through an ioredis Cluster client), rebalance --dry-run and
// a real rebalance, remove-node (of a primary with slots, of an empty primary with a replica, which
// goes to the primary with the fewest replicas, of a replica; a primary with slots and replicas
// is refused), fix of a slot opened by hand with SETSLOT, usage errors, and `cluster local`
// started and stopped with SIGINT. Against Tessera nodes by default; with
// CLUSTER_CLI_SERVER=redis against redis-server, to show the CLI itself does what redis-cli does.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TESSERA_MAIN, commandOnce, startRedis, startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';
import { addr, cli, cliExpect, clusterClient, consecutiveFreePorts, myId, readAll, statusJson } from './cluster-cli-helpers.js';

const SERVER: 'redis' | 'tessera' = process.env['CLUSTER_CLI_SERVER'] === 'redis' ? 'redis' : 'tessera';
const NODE_TIMEOUT_MS = 2000;
const TEST_TIMEOUT_MS = 90_000;
const KEY_COUNT = 1000;

const tmpRoot = mkdtempSync(join(tmpdir(), 'tessera-cluster-cli-'));
const servers: ServerHandle[] = [];
let nodeDirs = 0;

/** One cluster-enabled node of the kind under test, with its own directory for nodes.conf. */
async function startNode(): Promise<ServerHandle> {
  const dir = join(tmpRoot, `node-${nodeDirs++}`);
  mkdirSync(dir, { recursive: true });
  const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--dir', dir];
  const h = SERVER === 'redis' ? await startRedis({ args: clusterArgs }) : await startTessera({ args: clusterArgs });
  servers.push(h);
  return h;
}

const written = new Map<string, string>();
/** Hashes, sets, lists and sorted sets (small, and past their compact encoding's limit) that every
 * slot move must carry along whole. */
const TYPED_COUNT = 120;
const typedKeys: string[] = [];
const TOTAL_KEYS = KEY_COUNT + TYPED_COUNT;

/** Elements of typed key i: 600 is past hash-max-listpack-entries and zset-max-listpack-entries,
 * and 600 list elements of 8-9 bytes pass list-max-listpack-size -2 (8 KB): a quicklist. */
const sizeOf = (i: number): number => (i % 3 === 0 ? 600 : 5);

async function writeTyped(client: Awaited<ReturnType<typeof clusterClient>>): Promise<void> {
  for (let i = 0; i < TYPED_COUNT / 4; i++) {
    const fields = sizeOf(i);
    await client.hset(`hash:${i}`, ...Array.from({ length: fields }, (_, j) => [`f${j}`, `v${i}:${j}`]).flat());
    await client.sadd(`set:${i}`, ...Array.from({ length: fields }, (_, j) => (i % 2 === 0 ? String(j) : `m${j}`)));
    await client.rpush(`list:${i}`, ...Array.from({ length: fields }, (_, j) => `e${i}:${j}:xx`));
    await client.zadd(`zset:${i}`, ...Array.from({ length: fields }, (_, j) => [String(j / 2), `m${i}:${j}`]).flat());
    typedKeys.push(`hash:${i}`, `set:${i}`, `list:${i}`, `zset:${i}`);
  }
}

/** Every typed key holds what writeTyped wrote, read through a cluster client. */
async function readTyped(port: number): Promise<void> {
  const client = await clusterClient(port);
  try {
    for (const k of typedKeys) {
      const i = Number(k.split(':')[1]);
      const fields = sizeOf(i);
      if (k.startsWith('hash:')) {
        const got = await client.hgetall(k);
        assert.is(Object.keys(got).length, fields, `${k} fields`);
        assert.is(got[`f${fields - 1}`], `v${i}:${fields - 1}`, k);
      } else if (k.startsWith('set:')) {
        assert.is(await client.scard(k), fields, `${k} members`);
      } else if (k.startsWith('list:')) {
        assert.is(await client.llen(k), fields, `${k} elements`);
        assert.equal(await client.lrange(k, 0, 1), [`e${i}:0:xx`, `e${i}:1:xx`], `${k} head`);
        assert.is(await client.lindex(k, -1), `e${i}:${fields - 1}:xx`, `${k} tail`);
      } else {
        assert.is(await client.zcard(k), fields, `${k} members`);
        assert.equal(await client.zrange(k, -1, -1, 'WITHSCORES'), [`m${i}:${fields - 1}`, String((fields - 1) / 2)], `${k} last`);
      }
    }
  } finally {
    client.disconnect();
  }
}
let a: ServerHandle;
let b: ServerHandle;
let c: ServerHandle;
let d: ServerHandle;
/** An empty primary added and removed again, and its replica, which outlives it. */
let e: ServerHandle;
let replica: ServerHandle;

const s = suite(`tessera cluster against ${SERVER}`);

s.before(async () => {
  [a, b, c, d] = await Promise.all([startNode(), startNode(), startNode(), startNode()]);
});

s.after(async () => {
  await Promise.all(servers.map((h) => h.stop()));
  rmSync(tmpRoot, { recursive: true, force: true });
});

function t(name: string, fn: () => Promise<void>): void {
  s(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

t('usage errors exit 2 with a message on stderr', async () => {
  const none = await cli(['create']);
  assert.is(none.code, 2);
  assert.match(none.stderr, /expected at least one HOST:PORT/);
  const replicas = await cli(['create', addr(a), addr(b), addr(c), '--replicas', '3', '--yes']);
  assert.is(replicas.code, 2);
  assert.match(replicas.stderr, /cannot make a primary with 3 replica\(s\)/);
  assert.is((await cli(['nosuch'])).code, 2);
  assert.is((await cli(['reshard', addr(a), '--slots', '3'])).code, 2);
  const noTty = await cli(['create', addr(a), addr(b), addr(c)]);
  assert.is(noTty.code, 2, 'without --yes and without a terminal, create refuses');
  assert.match(noTty.stderr, /--yes/);
  const help = await cli(['help', 'rebalance']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /--weight-by/);
});

t('create with 3 nodes', async () => {
  const r = await cliExpect(0, ['create', addr(a), addr(b), addr(c), '--yes']);
  assert.match(r.stdout, /Master\[0\] -> Slots 0 - 5460/);
  assert.match(r.stdout, /\[OK\] All nodes agree about slots configuration/);
});

t('status: table and --json', async () => {
  const table = await cliExpect(0, ['status', addr(a)]);
  assert.match(table.stdout, /ADDRESS/);
  assert.match(table.stdout, /cluster_state: ok/);
  const st = await statusJson(a.port);
  assert.ok(st.ok);
  assert.is(st.clusterState, 'ok');
  assert.is(st.slotsAssigned, 16384);
  assert.is(st.nodes.length, 3);
  assert.equal(st.nodes.map((n) => n.slots).sort(), [5461, 5461, 5462]);
});

t('check is ok; keys go in', async () => {
  const r = await cliExpect(0, ['check', addr(b)]);
  assert.match(r.stdout, /\[OK\] All 16384 slots covered/);
  const client = await clusterClient(a.port);
  try {
    for (let i = 0; i < KEY_COUNT; i++) {
      const k = `key:${i}`;
      written.set(k, `value-${i}`);
    }
    await Promise.all([...written].map(([k, v]) => client.set(k, v)));
    await writeTyped(client);
  } finally {
    client.disconnect();
  }
  const st = await statusJson(a.port);
  assert.is(st.nodes.reduce((n, x) => n + x.keys, 0), TOTAL_KEYS);
});

t('add-node', async () => {
  const r = await cliExpect(0, ['add-node', addr(d), addr(a)]);
  assert.match(r.stdout, /New node added correctly/);
  const st = await statusJson(b.port);
  assert.is(st.nodes.length, 4);
  assert.ok(st.nodes.some((n) => n.addr === addr(d) && n.slots === 0));
});

t('reshard with keys present: every key readable afterwards', async () => {
  const r = await cliExpect(0, ['reshard', addr(a), '--from', 'all', '--to', addr(d), '--slots', '300', '--yes']);
  assert.match(r.stdout, /Moved 300 slots and \d+ keys/);
  const st = await statusJson(a.port);
  assert.is(st.nodes.find((n) => n.addr === addr(d))!.slots, 300);
  assert.is(st.nodes.reduce((n, x) => n + x.keys, 0), TOTAL_KEYS);
  await cliExpect(0, ['check', addr(d)]);
  await readAll(a.port, written);
  await readTyped(a.port);
});

t('rebalance --dry-run prints a plan and moves nothing; a real rebalance evens slots out', async () => {
  const before = await statusJson(a.port);
  const dry = await cliExpect(0, ['rebalance', addr(a), '--dry-run']);
  assert.match(dry.stdout, /Plan: \d+ slots to move/);
  assert.match(dry.stdout, new RegExp(`to ${addr(d).replace(/\./g, '\\.')}`));
  const same = await statusJson(a.port);
  assert.equal(same.nodes.map((n) => [n.id, n.slots]), before.nodes.map((n) => [n.id, n.slots]));

  const real = await cliExpect(0, ['rebalance', addr(a)]);
  assert.match(real.stdout, /Moved \d+ slots and \d+ keys in [\d.]+ s \(\d+ keys\/s\)/);
  const st = await statusJson(a.port);
  for (const n of st.nodes) assert.ok(Math.abs(n.slots - 4096) <= 1, `${n.addr} has ${n.slots} slots`);
  const again = await cliExpect(0, ['rebalance', addr(a)]);
  assert.match(again.stdout, /No rebalancing needed/);
  await cliExpect(0, ['check', addr(a)]);
  await readAll(b.port, written);
  await readTyped(b.port);
});

t('remove-node moves its slots away first', async () => {
  const dId = await myId(d);
  const r = await cliExpect(0, ['remove-node', addr(a), dId]);
  assert.match(r.stdout, /removed/);
  const st = await statusJson(a.port);
  assert.is(st.nodes.length, 3);
  assert.not.ok(st.nodes.some((n) => n.id === dId));
  assert.is(st.slotsAssigned, 16384);
  assert.is(st.nodes.reduce((n, x) => n + x.keys, 0), TOTAL_KEYS);
  await cliExpect(0, ['check', addr(c)]);
  await readAll(a.port, written);
  await readTyped(a.port);
});

t('fix closes a slot opened by hand with SETSLOT (keys left on the source move)', async () => {
  const probe = new Redis({ port: a.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await probe.connect();
  let slot: number;
  try {
    slot = Number(await probe.call('CLUSTER', 'KEYSLOT', '{fixme}'));
  } finally {
    probe.disconnect();
  }
  const client = await clusterClient(a.port);
  try {
    for (let i = 0; i < 50; i++) {
      written.set(`{fixme}:${i}`, `f${i}`);
      await client.set(`{fixme}:${i}`, `f${i}`);
    }
  } finally {
    client.disconnect();
  }
  const st = await statusJson(a.port);
  const byAddr = new Map([a, b, c].map((h) => [addr(h), h]));
  // The owner of the slot, found through CLUSTER COUNTKEYSINSLOT on each node.
  let owner: ServerHandle | undefined;
  for (const h of [a, b, c]) {
    const r = new Redis({ port: h.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await r.connect();
    if (Number(await r.call('CLUSTER', 'COUNTKEYSINSLOT', slot)) === 50) owner = h;
    r.disconnect();
  }
  assert.ok(owner !== undefined, 'found the owner');
  const target = [a, b, c].find((h) => h !== owner)!;
  const ownerId = st.nodes.find((n) => byAddr.get(n.addr) === owner)!.id;
  const targetId = st.nodes.find((n) => byAddr.get(n.addr) === target)!.id;
  const call = async (h: ServerHandle, ...args: string[]): Promise<unknown> => {
    const r = new Redis({ port: h.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await r.connect();
    try {
      return await r.call(args[0]!, ...args.slice(1));
    } finally {
      r.disconnect();
    }
  };
  await call(target, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ownerId);
  await call(owner!, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);

  const bad = await cli(['check', addr(a)]);
  assert.is(bad.code, 1);
  assert.match(bad.stdout, new RegExp(`The following slots are open: ${slot}\\.`));
  const fixed = await cliExpect(0, ['fix', addr(a)]);
  assert.match(fixed.stdout, new RegExp(`Fixing open slot ${slot}`));
  await cliExpect(0, ['check', addr(b)]);
  assert.is(Number(await call(target, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))), 50);
  await readAll(c.port, written);
});

t('remove-node of an empty primary with a replica: the replica goes to the primary with the fewest', async () => {
  [e, replica] = await Promise.all([startNode(), startNode()]);
  await cliExpect(0, ['add-node', addr(e), addr(a)]);
  const eId = await myId(e);
  await cliExpect(0, ['add-node', addr(replica), addr(a), '--replica-of', eId]);
  const replicaId = await myId(replica);
  assert.is((await statusJson(a.port)).nodes.find((n) => n.id === replicaId)?.primaryId, eId);

  const r = await cliExpect(0, ['remove-node', addr(a), eId]);
  // a, b and c have no replicas and all serve slots: the first listed, the entry a, gets it.
  assert.match(r.stdout, `${addr(replica)} as replica of ${addr(a)}`);
  const st = await statusJson(a.port);
  assert.not.ok(st.nodes.some((n) => n.id === eId));
  assert.is(st.nodes.find((n) => n.id === replicaId)?.primaryId, await myId(a));
  assert.is(String(await commandOnce(e.port, 'CLUSTER', 'NODES')).trim().split('\n').length, 1, 'the removed node was reset');
  await cliExpect(0, ['check', addr(b)]);
});

t('remove-node refuses a primary with slots and replicas, then removes the replica', async () => {
  const refused = await cli(['remove-node', addr(b), await myId(a)]);
  assert.is(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, `Node ${addr(a)} is not empty! Reshard data away and try again.`);
  assert.is((await statusJson(b.port)).nodes.length, 4, 'nothing was removed');

  await cliExpect(0, ['remove-node', addr(b), '--node', addr(replica)]);
  // As in Redis, a reset replica is an empty primary that knows no one.
  assert.is(await commandOnce(replica.port, 'DBSIZE'), 0);
  assert.is(String(await commandOnce(replica.port, 'CLUSTER', 'NODES')).trim().split('\n').length, 1);
  const st = await statusJson(b.port);
  assert.is(st.nodes.length, 3);
  assert.is(st.slotsAssigned, 16384);
  await cliExpect(0, ['check', addr(a)]);
  await readAll(b.port, written);
  await readTyped(b.port);
});

t('status of an unreachable entry exits 1', async () => {
  const r = await cli(['status', '127.0.0.1:1']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /cannot connect/);
});


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t('cluster local --nodes 3: starts, forms a cluster, SIGINT stops every child', async () => {
  const base = await consecutiveFreePorts(3);
  const cwd = mkdtempSync(join(tmpRoot, 'local-'));
  const extra = SERVER === 'redis' ? ['--server-bin', 'redis-server', '--', '--save', '', '--appendonly', 'no'] : ['--shards', '1'];
  const child = spawn(
    process.execPath,
    [TESSERA_MAIN, 'cluster', 'local', '--nodes', '3', '--base-port', String(base), '--node-timeout', String(NODE_TIMEOUT_MS), ...extra],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (x: Buffer) => (stdout += x.toString('utf8')));
  child.stderr.on('data', (x: Buffer) => (stderr += x.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const pids: number[] = [];
  try {
    await waitFor('cluster local to be ready', () => /Cluster ready/.test(stdout) || (child.exitCode !== null && 'exited'), 60_000, 100).then((v) => {
      if (v === 'exited') throw new Error(`cluster local exited: ${stdout}\n${stderr}`);
    });
    for (const m of stdout.matchAll(/ pid (\d+) /g)) pids.push(Number(m[1]));
    assert.is(pids.length, 3, stdout);
    assert.ok(pids.every(alive));
    const st = await statusJson(base);
    assert.ok(st.ok);
    assert.is(st.nodes.length, 3);
    child.kill('SIGINT');
    assert.is(await withTimeout(exited, 30_000, 'cluster local to exit'), 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /All nodes stopped/);
    await waitFor('every child to be gone', () => pids.every((p) => !alive(p)), 5_000);
  } finally {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
  }
});

s.run();
