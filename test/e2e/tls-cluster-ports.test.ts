// The ports a TLS cluster shows a client: three nodes with both a plain `port` and a `tls-port`
// and `tls-cluster yes`, made by `redis-cli --cluster create --tls`, once of Tessera and once of
// redis-server 7.0. A client connected without TLS gets the plain ports in CLUSTER SLOTS, NODES,
// REPLICAS, MOVED and ASK, a TLS client the TLS ports; CLUSTER SHARDS shows both to both. The replies of the
// two clusters are compared after naming each port by its role (P0 = node 0's plain port, T0 its
// TLS port, B0 its bus port). Fails, never skips, when openssl, redis-server or redis-cli (with
// TLS) is missing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commandOnce, freePort, redisCli, requireTool, TESSERA_MAIN, waitFor, watchProcess, withTimeout } from './harness.js';
import { makeTestCerts, type TestCerts } from './tls-certs.js';

const TEST_TIMEOUT_MS = 120_000;
const START_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 10_000;

const root = mkdtempSync(join(tmpdir(), 'tessera-tls-ports-'));
let certs: TestCerts;

type Kind = 'tessera' | 'redis';

interface Node {
  port: number;
  tlsPort: number;
  busPort: number;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const started: Node[] = [];

function nodeArgs(kind: Kind, port: number, tlsPort: number, busPort: number, dir: string): [string, string[]] {
  const common = [
    '--port', String(port), '--tls-port', String(tlsPort), '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey,
    '--tls-ca-cert-file', certs.caCert, '--tls-cluster', 'yes', '--tls-replication', 'yes', '--cluster-enabled', 'yes',
    '--cluster-port', String(busPort), '--cluster-node-timeout', '2000', '--save', '', '--dir', dir,
  ];
  if (kind === 'redis') return ['redis-server', [...common, '--appendonly', 'no', '--bind', '127.0.0.1']];
  return [process.execPath, [TESSERA_MAIN, 'server', ...common, '--shards', '1', '--memcache-port', '0', '--http-port', '0', '--loglevel', 'warning']];
}

async function startNode(kind: Kind): Promise<Node> {
  const [port, tlsPort, busPort] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(root, `${kind}-`));
  const [cmd, args] = nodeArgs(kind, port, tlsPort, busPort, dir);
  const proc = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const w = watchProcess(proc, `${kind} node stop`, STOP_DEADLINE_MS);
  const node: Node = {
    port,
    tlsPort,
    busPort,
    proc,
    output: w.output,
    stop: w.stop,
  };
  started.push(node);
  await waitFor(`${kind} node on ${port} to answer PING`, async () => {
    if (w.gone()) throw new Error(`${kind} node on ${port} exited:\n${w.output()}`);
    return (await commandOnce(port, 'PING').catch(() => null)) === 'PONG';
  }, START_DEADLINE_MS);
  return node;
}

function clientTls(): { ca: Buffer; cert: Buffer; key: Buffer; checkServerIdentity: () => undefined } {
  return { ca: readFileSync(certs.caCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), checkServerIdentity: () => undefined };
}

/** redis-cli's TLS flags. */
function tlsFlags(): string[] {
  return ['--tls', '--cacert', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey];
}

/** One client of `n`: on its plain port, or on its TLS port with TLS. */
async function withClient<T>(n: Node, useTls: boolean, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    host: '127.0.0.1', port: useTls ? n.tlsPort : n.port, ...(useTls ? { tls: clientTls() } : {}),
    lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  await r.connect();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** A command's reply, or its error text (MOVED / ASK). */
async function replyOf(r: Redis, ...args: string[]): Promise<unknown> {
  try {
    return await r.call(args[0]!, ...args.slice(1));
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** Names every port and id of the trio by its role, so that two clusters' replies compare. */
function namer(trio: Node[], ids: string[]): (v: unknown) => unknown {
  const names = new Map<string, string>();
  trio.forEach((n, i) => {
    names.set(String(n.port), `P${i}`);
    names.set(String(n.tlsPort), `T${i}`);
    names.set(String(n.busPort), `B${i}`);
    names.set(ids[i]!, `ID${i}`);
  });
  const word = (s: string): string => s.replace(/[0-9a-f]{40}|\d{4,5}/g, (m) => names.get(m) ?? m);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'number') return names.get(String(v)) ?? v;
    if (typeof v === 'string') return word(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk;
}

/** What one client kind sees of a trio: SLOTS (by first slot), NODES (id, address, flags,
 * primary, slots), SHARDS (offsets zeroed), a MOVED and an ASK. */
async function portsSeen(trio: Node[], useTls: boolean): Promise<Record<string, unknown>> {
  return withClient(trio[0]!, useTls, async (r) => {
    const slots = ((await r.call('CLUSTER', 'SLOTS')) as unknown[][]).sort((a, b) => Number(a[0]) - Number(b[0]));
    const nodesText = String(await r.call('CLUSTER', 'NODES'));
    const nodes = nodesText.trim().split('\n').map((l) => {
      const f = l.split(' ');
      return [f[0], f[1], f[2], f[3], ...f.slice(8)].join(' ');
    });
    const shards = (await r.call('CLUSTER', 'SHARDS')) as unknown[][];
    for (const shard of shards) {
      for (const n of shard[3] as unknown[][]) {
        const i = n.indexOf('replication-offset');
        if (i >= 0) n[i + 1] = 0;
      }
    }
    shards.sort((a, b) => Number((a[1] as unknown[])[0]) - Number((b[1] as unknown[])[0]));
    // "foo" is in slot 12182 (node 2); "b" in slot 3300 (node 0), made MIGRATING to node 1 and
    // absent here: ASK.
    const moved = await replyOf(r, 'GET', 'foo');
    const ask = await replyOf(r, 'GET', 'b');
    return { slots, nodes, shards, moved, ask };
  });
}

/** Makes a trio of `kind` into a cluster with redis-cli, waits until every node knows every
 * other's plain port, and opens slot 3300 for migration to node 1. Returns the node ids. */
async function makeCluster(kind: Kind): Promise<{ trio: Node[]; ids: string[] }> {
  const trio = await Promise.all([0, 1, 2].map(() => startNode(kind)));
  const r = await redisCli(['--cluster', 'create', ...trio.map((n) => `127.0.0.1:${n.tlsPort}`), '--cluster-yes', ...tlsFlags()], { timeoutMs: 60_000 });
  assert.is(r.code, 0, `${kind}: redis-cli --cluster create --tls failed:\n${r.stdout}\n${r.stderr}`);
  const ids = await Promise.all(trio.map((n) => commandOnce(n.port, 'CLUSTER', 'MYID').then(String)));
  for (const n of trio) {
    await waitFor(`${kind} node ${n.port}: cluster ok with every plain port known`, async () => {
      const info = String(await commandOnce(n.port, 'CLUSTER', 'INFO'));
      const text = String(await commandOnce(n.port, 'CLUSTER', 'NODES'));
      return info.includes('cluster_state:ok') && trio.every((m) => text.includes(`127.0.0.1:${m.port}@${m.busPort}`));
    }, 30_000);
  }
  assert.is(await commandOnce(trio[0]!.port, 'CLUSTER', 'SETSLOT', '3300', 'MIGRATING', ids[1]!), 'OK');
  return { trio, ids };
}

const s = suite('plain and TLS clients of a TLS cluster with both ports');

s.before(() => {
  certs = makeTestCerts();
  requireTool('redis-server', ['--version'], 'redis-server');
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const r = spawnSync('redis-cli', ['--tls', '--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`this redis-cli has no TLS support (redis-cli --tls --version: ${r.stderr.trim()}); install Debian's redis-tools 7`);
});

s.after(async () => {
  await Promise.all(started.map((n) => n.stop()));
  rmSync(root, { recursive: true, force: true });
  certs?.remove();
});

function t(name: string, fn: () => Promise<void>): void {
  s(name, () =>
    withTimeout(fn(), TEST_TIMEOUT_MS, name).catch((e: unknown) => {
      const logs = started.map((n) => `--- node ${n.port}:\n${n.output().slice(-1500)}`).join('\n');
      const details = (e as { details?: unknown }).details;
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${typeof details === 'string' ? details : ''}\n${logs}`);
    }),
  );
}

const seen: Record<Kind, { plain: Record<string, unknown>; tls: Record<string, unknown> } | null> = { tessera: null, redis: null };

for (const kind of ['tessera', 'redis'] as const) {
  t(`${kind}: a plain client sees plain ports, a TLS client TLS ports (SLOTS, NODES, SHARDS, MOVED, ASK, REPLICAS)`, async () => {
    const { trio, ids } = await makeCluster(kind);
    const name = namer(trio, ids);
    // NODES lines in node order (sorted once the ids are named).
    const named = async (useTls: boolean): Promise<Record<string, unknown>> => {
      const v = name(await portsSeen(trio, useTls)) as Record<string, unknown>;
      return { ...v, nodes: (v.nodes as string[]).sort() };
    };
    const plain = await named(false);
    const tls = await named(true);
    seen[kind] = { plain, tls };

    // The shape, spelled out (the same for both kinds; the comparison below checks them equal).
    assert.equal((plain.slots as unknown[][]).map((r) => r[2]), [0, 1, 2].map((i) => ['127.0.0.1', `P${i}`, `ID${i}`, []]));
    assert.equal((tls.slots as unknown[][]).map((r) => (r[2] as unknown[])[1]), ['T0', 'T1', 'T2']);
    assert.equal((plain.nodes as string[]).map((l) => l.split(' ')[1]), ['127.0.0.1:P0@B0', '127.0.0.1:P1@B1', '127.0.0.1:P2@B2']);
    assert.equal((tls.nodes as string[]).map((l) => l.split(' ')[1]), ['127.0.0.1:T0@B0', '127.0.0.1:T1@B1', '127.0.0.1:T2@B2']);
    assert.equal(plain.moved, { error: 'MOVED 12182 127.0.0.1:P2' });
    assert.equal(tls.moved, { error: 'MOVED 12182 127.0.0.1:T2' });
    assert.equal(plain.ask, { error: 'ASK 3300 127.0.0.1:P1' });
    assert.equal(tls.ask, { error: 'ASK 3300 127.0.0.1:T1' });
    // SHARDS: both ports, the same to both clients.
    assert.equal(plain.shards, tls.shards);
    const first = ((plain.shards as unknown[][])[0]![3] as unknown[][])[0]!;
    assert.equal(first.slice(0, 6), ['id', 'ID0', 'port', 'P0', 'tls-port', 'T0']);

    // CLUSTER REPLICAS: a fourth node made a replica of node 0 (redis-cli --cluster add-node, which
    // refuses a cluster with an open slot).
    assert.is(await commandOnce(trio[0]!.port, 'CLUSTER', 'SETSLOT', '3300', 'STABLE'), 'OK');
    const replica = await startNode(kind);
    const add = await redisCli(['--cluster', 'add-node', `127.0.0.1:${replica.tlsPort}`, `127.0.0.1:${trio[0]!.tlsPort}`,
      '--cluster-slave', '--cluster-master-id', ids[0]!, ...tlsFlags()], { timeoutMs: 60_000 });
    assert.is(add.code, 0, `${kind}: redis-cli --cluster add-node --tls failed:\n${add.stdout}\n${add.stderr}`);
    const rid = String(await commandOnce(replica.port, 'CLUSTER', 'MYID'));
    const name4 = namer([...trio, replica], [...ids, rid]);
    await waitFor(`${kind}: node 0 to list its replica with its plain port`, async () =>
      String(await commandOnce(trio[0]!.port, 'CLUSTER', 'REPLICAS', ids[0]!)).includes(`:${replica.port}@`), 30_000);
    const replicasSeen = async (useTls: boolean): Promise<unknown> => withClient(trio[0]!, useTls, async (r) =>
      name4(((await r.call('CLUSTER', 'REPLICAS', ids[0]!)) as string[]).map((l) => l.split(' ').slice(0, 4).join(' '))));
    const replicas = { plain: await replicasSeen(false), tls: await replicasSeen(true) };
    assert.equal(replicas.plain, ['ID3 127.0.0.1:P3@B3 slave ID0']);
    assert.equal(replicas.tls, ['ID3 127.0.0.1:T3@B3 slave ID0']);
    seen[kind]!.plain.replicas = replicas.plain;
    seen[kind]!.tls.replicas = replicas.tls;
    await Promise.all([...trio, replica].map((n) => n.stop()));
  });
}

t('tessera answers both clients as redis-server 7.0 does', async () => {
  if (seen.tessera === null || seen.redis === null) throw new Error('the two clusters above did not both run');
  assert.equal(seen.tessera.plain, seen.redis.plain);
  assert.equal(seen.tessera.tls, seen.redis.tls);
});

s.run();
