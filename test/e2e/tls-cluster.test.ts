// Replication and the cluster over TLS, every node serving TLS only (port 0, tls-port N):
// a primary and a replica with tls-replication (writes replicated, the link killed and re-made);
// a three-node cluster made by `redis-cli --cluster create --tls` with the bus, forwarding and
// migration over TLS (keys written through `redis-cli -c --tls` spread over the nodes, the ports
// announced are the TLS ports, a slot moved with CLUSTER SETSLOT + MIGRATE); and a four-node
// cluster (two primaries with a replica each) made by `tessera cluster create --tls`, resharded by
// `tessera cluster reshard --tls` and failed over to a replica; `tessera bench --tls --cluster`;
// `tessera cluster local --tls`.
// Certificates are made with openssl (tls-certs.ts). Fails, never skips, when openssl or
// redis-cli with TLS support is missing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Cluster, Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, redisCli, requireTool, runTesseraCli, TESSERA_MAIN, waitFor, watchProcess, withTimeout } from './harness.js';
import { cli, consecutiveFreePorts } from './cluster-cli-helpers.js';
import { makeTestCerts, type TestCerts } from './tls-certs.js';

const TEST_TIMEOUT_MS = 120_000;
const NODE_TIMEOUT_MS = 2_000;
const START_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 10_000;

const root = mkdtempSync(join(tmpdir(), 'tessera-tls-cluster-'));

let certs: TestCerts;

function clientTls(): tls.ConnectionOptions {
  return { ca: readFileSync(certs.caCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), checkServerIdentity: () => undefined };
}

/** redis-cli's and `tessera cluster`'s TLS flags. */
function tlsFlags(): string[] {
  return ['--tls', '--cacert', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey];
}

// ---------------------------------------------------------------------------------------------
// TLS-only Tessera nodes (the harness waits for a plain PING, which these do not answer).

interface TlsNode {
  port: number;
  busPort: number;
  proc: ChildProcess;
  output(): string;
  exited: Promise<void>;
  stop(): Promise<void>;
}

const nodes: TlsNode[] = [];

function serverTlsArgs(): string[] {
  return ['--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey, '--tls-ca-cert-file', certs.caCert];
}

async function startTlsNode(extra: string[], cluster: boolean): Promise<TlsNode> {
  const port = await freePort();
  const busPort = cluster ? await freePort() : 0;
  const dir = mkdtempSync(join(root, 'node-'));
  const args = [
    TESSERA_MAIN, 'server', '--port', '0', '--tls-port', String(port), ...serverTlsArgs(), '--shards', '1',
    '--memcache-port', '0', '--http-port', '0', '--save', '', '--dir', dir, '--loglevel', 'warning',
    ...(cluster ? ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--tls-cluster', 'yes', '--tls-replication', 'yes'] : []),
    ...extra,
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const w = watchProcess(proc, 'node stop', STOP_DEADLINE_MS);
  const node: TlsNode = {
    port,
    busPort,
    proc,
    output: w.output,
    exited: w.exited,
    stop: w.stop,
  };
  nodes.push(node);
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!(await tlsPing(port))) {
    if (w.gone()) throw new Error(`TLS node on ${port} exited before answering PING:\n${w.output()}`);
    if (Date.now() > deadline) throw new Error(`TLS node on ${port} did not answer PING over TLS within ${START_DEADLINE_MS} ms:\n${w.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return node;
}

/** One TLS connection, one PING: true on +PONG. */
function tlsPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...clientTls() });
    const timer = setTimeout(() => done(false), 1_000);
    let got = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    s.on('secureConnect', () => s.write('PING\r\n'));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
    s.on('error', () => done(false));
  });
}

/** The serial number of the certificate a node's bus presents to a new link (ours: the client's). */
function busCertSerial(busPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: busPort, ...clientTls() });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no TLS handshake with the bus on ${busPort}`));
    }, 5_000);
    s.on('secureConnect', () => {
      clearTimeout(timer);
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** An ioredis client over TLS (no retries). */
async function client(port: number): Promise<Redis> {
  const r = new Redis({ host: '127.0.0.1', port, tls: clientTls(), lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  await r.connect();
  return r;
}

async function clusterClient(port: number): Promise<Cluster> {
  const c = new Cluster([{ host: '127.0.0.1', port }], { redisOptions: { tls: clientTls(), maxRetriesPerRequest: 3 }, slotsRefreshTimeout: 2_000 });
  c.on('error', () => undefined);
  await waitFor('the TLS cluster client to be ready', () => c.status === 'ready', 15_000);
  return c;
}

async function withClient<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = await client(port);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*?)\\r?$`, 'm').exec(info)?.[1];
}

function requireRedisCliTls(): void {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const r = spawnSync('redis-cli', ['--tls', '--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`this redis-cli has no TLS support (redis-cli --tls --version: ${r.stderr.trim()}); install Debian's redis-tools 7 (.ci/run does)`);
}

const s = suite('replication and cluster over TLS');

s.before(() => {
  certs = makeTestCerts();
  requireRedisCliTls();
});

s.after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(root, { recursive: true, force: true });
  certs?.remove();
});

function t(name: string, fn: () => Promise<void>): void {
  s(name, () =>
    withTimeout(fn(), TEST_TIMEOUT_MS, name).catch((e: unknown) => {
      const logs = nodes.map((n) => `--- node ${n.port}:\n${n.output().slice(-1500)}`).join('\n');
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${logs}`);
    }),
  );
}

// ---------------------------------------------------------------------------------------------

t('a replica dials its primary over TLS (tls-replication), replicates writes and reconnects', async () => {
  const primary = await startTlsNode([], false);
  const replica = await startTlsNode(['--tls-replication', 'yes', '--replicaof', '127.0.0.1', String(primary.port)], false);
  const p = await client(primary.port);
  const r = await client(replica.port);
  try {
    await waitFor('the replica link to be up', async () => infoField(await r.info('replication'), 'master_link_status') === 'up', 20_000);
    for (let i = 0; i < 200; i++) await p.set(`k${i}`, `v${i}`);
    await waitFor('200 keys on the replica', async () => (await r.dbsize()) === 200, 20_000);
    assert.is(await r.get('k123'), 'v123');
    // The replica announces its TLS port to the primary (Redis: tls-port when tls-replication).
    const pinfo = await p.info('replication');
    assert.match(infoField(pinfo, 'slave0') ?? '', `port=${replica.port},`);

    // The link dies (killed on the primary's side): the replica dials again over TLS and resumes.
    const killed = await p.call('CLIENT', 'KILL', 'TYPE', 'replica');
    assert.is(killed, 1);
    for (let i = 200; i < 300; i++) await p.set(`k${i}`, `v${i}`);
    await waitFor('300 keys on the replica after the reconnect', async () => (await r.dbsize()) === 300, 20_000);
    assert.is(infoField(await r.info('replication'), 'master_link_status'), 'up');
    assert.is(await r.get('k299'), 'v299');
  } finally {
    p.disconnect();
    r.disconnect();
  }
});

t('a replica without tls-replication cannot sync from a TLS-only primary (the link is TLS, not a plain fallback)', async () => {
  const primary = nodes[0]!;
  const plain = await startTlsNode(['--replicaof', '127.0.0.1', String(primary.port)], false);
  await withClient(plain.port, async (r) => {
    await new Promise((res) => setTimeout(res, 1_500));
    assert.is(infoField(await r.info('replication'), 'master_link_status'), 'down');
    assert.is(await r.dbsize(), 0);
  });
  await plain.stop();
});

// ---------------------------------------------------------------------------------------------

let trio: TlsNode[] = [];
const written = new Map<string, string>();

t('redis-cli --cluster create --tls makes a cluster of TLS-only nodes whose bus is TLS', async () => {
  trio = await Promise.all([0, 1, 2].map(() => startTlsNode([], true)));
  const r = await redisCli(['--cluster', 'create', ...trio.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes', ...tlsFlags()], { timeoutMs: 60_000 });
  assert.is(r.code, 0, `redis-cli --cluster create failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, '[OK] All 16384 slots covered');
  for (const n of trio) {
    await withClient(n.port, async (c) => {
      await waitFor(`cluster_state:ok on ${n.port}`, async () => /cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO'))), 20_000);
    });
  }
});

t('the TLS ports are announced: CLUSTER NODES, SLOTS, SHARDS (tls-port) and MOVED', async () => {
  const ports = new Set(trio.map((n) => n.port));
  await withClient(trio[0]!.port, async (c) => {
    const text = String(await c.call('CLUSTER', 'NODES'));
    for (const n of trio) assert.match(text, `127.0.0.1:${n.port}@${n.busPort}`);
    const slots = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    assert.is(slots.length, 3);
    for (const [, , [, port]] of slots) assert.ok(ports.has(port), `CLUSTER SLOTS port ${port}`);
    const shards = (await c.call('CLUSTER', 'SHARDS')) as Array<[string, unknown, string, Array<Array<string | number>>]>;
    for (const shard of shards) {
      const node = shard[3][0]!;
      assert.is(node.indexOf('port'), -1, 'no plain port field: the nodes have none');
      const at = node.indexOf('tls-port');
      assert.ok(at >= 0 && ports.has(node[at + 1] as number), `CLUSTER SHARDS: ${JSON.stringify(node)}`);
    }
    // A key of another node's slot: MOVED names that node's TLS port.
    const moved = await c.set('foo', 'bar').then(
      () => null,
      (e: Error) => e.message,
    );
    if (moved !== null) {
      const m = /^MOVED 12182 127\.0\.0\.1:(\d+)$/.exec(moved);
      assert.ok(m !== null && ports.has(Number(m[1])), moved);
    }
  });
});

t('keys written through redis-cli -c --tls spread over the nodes and read back', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    written.set(`key:${i}`, `value-${i}`);
    lines.push(`SET key:${i} value-${i}`);
  }
  const r = await redisCli(['-c', '-p', String(trio[0]!.port), ...tlsFlags()], { input: `${lines.join('\n')}\n`, timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stdout, /ERR|MOVED|CLUSTERDOWN/);
  for (const n of trio) {
    const keys = await withClient(n.port, (c) => c.dbsize());
    assert.ok(keys > 50 && keys < 200, `node ${n.port} holds ${keys} of 300 keys`);
  }
  const got = await redisCli(['-c', '-p', String(trio[1]!.port), ...tlsFlags(), 'GET', 'key:42']);
  assert.is(got.stdout.trim(), 'value-42');
});

t('a slot moves with CLUSTER SETSLOT and MIGRATE over TLS', async () => {
  const key = 'key:7';
  const slot = Number(await withClient(trio[0]!.port, (c) => c.call('CLUSTER', 'KEYSLOT', key)));
  const ids = await Promise.all(trio.map((n) => withClient(n.port, async (c) => String(await c.call('CLUSTER', 'MYID')))));
  const owner = await withClient(trio[0]!.port, async (c) => {
    const slots = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    const range = slots.find(([a, b]) => slot >= a && slot <= b)!;
    return trio.findIndex((n) => n.port === range[2][1]);
  });
  const target = (owner + 1) % 3;
  const src = trio[owner]!;
  const dst = trio[target]!;
  await withClient(dst.port, (c) => c.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[owner]!));
  await withClient(src.port, async (c) => {
    await c.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[target]!);
    const keys = (await c.call('CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[];
    assert.ok(keys.includes(key));
    // MIGRATE dials the target's TLS port (tls-cluster yes), as redis-server 7.0 does.
    assert.is(await c.call('MIGRATE', '127.0.0.1', dst.port, '', 0, 5000, 'KEYS', ...keys), 'OK');
  });
  for (const n of trio) await withClient(n.port, (c) => c.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[target]!));
  await withClient(dst.port, async (c) => assert.is(await c.get(key), written.get(key)!));
  await withClient(src.port, async (c) => {
    const e = await c.get(key).then(() => '', (err: Error) => err.message);
    assert.is(e, `MOVED ${slot} 127.0.0.1:${dst.port}`);
  });
  const c = await clusterClient(trio[2]!.port);
  try {
    for (const [k, v] of written) assert.is(await c.get(k), v, k);
  } finally {
    c.disconnect();
  }
});

t('certificates reloaded by CONFIG SET: the bus takes the new context, redis-cli --cluster check --tls is happy', async () => {
  for (const n of trio) {
    await withClient(n.port, async (c) => {
      assert.is(await c.call('CONFIG', 'SET', 'tls-cert-file', certs.server2Cert, 'tls-key-file', certs.server2Key), 'OK');
    });
  }
  // A new link to a bus gets the new certificate (links already up keep theirs, as in Redis).
  for (const n of trio) assert.is(await busCertSerial(n.busPort), certs.serials.server2, `bus of ${n.port}`);
  const r = await redisCli(['--cluster', 'check', `127.0.0.1:${trio[1]!.port}`, ...tlsFlags()], { timeoutMs: 30_000 });
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, '[OK] All 16384 slots covered');
  assert.not.match(r.stdout, /\[WARNING\]|\[ERR\]/);
});

t('tessera bench --tls --cluster runs against the TLS cluster', async () => {
  const r = await runTesseraCli(['bench', '-p', String(trio[0]!.port), '--cluster', '-n', '2000', '-c', '4', '-r', '500', '-q', ...tlsFlags()]);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^SET: [\d.]+ requests per second/m);
  assert.match(r.out, /^GET: [\d.]+ requests per second/m);
});

// ---------------------------------------------------------------------------------------------

let quad: TlsNode[] = [];

t('tessera cluster create --tls: two primaries with a TLS replica each', async () => {
  // The last node has a plain port besides its TLS one (CLUSTER SHARDS shows both).
  const plainPort = await freePort();
  quad = await Promise.all([0, 1, 2, 3].map((i) => startTlsNode(i === 3 ? ['--port', String(plainPort)] : [], true)));
  const r = await cli(['create', ...quad.map((n) => `127.0.0.1:${n.port}`), '--replicas', '1', '--yes', ...tlsFlags()]);
  assert.is(r.code, 0, `tessera cluster create --tls failed:\n${r.stdout}\n${r.stderr}`);
  // Without --tls the CLI cannot talk to the nodes (TLS only): it fails, it does not hang.
  const plain = await cli(['status', `127.0.0.1:${quad[0]!.port}`, '--json', '--no-ops']);
  assert.is.not(plain.code, 0);
  const status = await cli(['status', `127.0.0.1:${quad[0]!.port}`, '--json', '--no-ops', ...tlsFlags()]);
  assert.is(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as { ok: boolean; nodes: Array<{ role: string }> };
  assert.ok(parsed.ok);
  assert.is(parsed.nodes.filter((n) => n.role === 'replica' || n.role === 'slave').length, 2, status.stdout);
  const shards = (await withClient(quad[0]!.port, (c) => c.call('CLUSTER', 'SHARDS'))) as Array<[string, unknown, string, Array<Array<string | number>>]>;
  const all = shards.flatMap((sh) => sh[3]);
  const withPlain = all.find((n) => n.includes(quad[3]!.port))!;
  assert.equal(withPlain.slice(2, 6), ['port', plainPort, 'tls-port', quad[3]!.port], JSON.stringify(withPlain));
  for (const n of all.filter((x) => x !== withPlain)) assert.is(n[2], 'tls-port', JSON.stringify(n));
  const c = await clusterClient(quad[0]!.port);
  try {
    for (let i = 0; i < 200; i++) await c.set(`q:${i}`, `v${i}`);
  } finally {
    c.disconnect();
  }
});

t('tessera cluster reshard --tls moves slots with their keys between TLS nodes', async () => {
  const ids = await Promise.all(quad.map((n) => withClient(n.port, async (c) => [n, String(await c.call('CLUSTER', 'MYID')), String(await c.call('ROLE').then((x) => (x as unknown[])[0]))] as const)));
  const primaries = ids.filter(([, , role]) => role === 'master');
  assert.is(primaries.length, 2);
  const r = await cli(['reshard', `127.0.0.1:${quad[0]!.port}`, '--from', primaries[0]![1], '--to', primaries[1]![1], '--slots', '500', '--yes', ...tlsFlags()]);
  assert.is(r.code, 0, `reshard failed:\n${r.stdout}\n${r.stderr}`);
  const c = await clusterClient(quad[1]!.port);
  try {
    for (let i = 0; i < 200; i++) assert.is(await c.get(`q:${i}`), `v${i}`);
  } finally {
    c.disconnect();
  }
});

/** One node's CLUSTER NODES reduced to what every node must agree on: ids, roles, primaries,
 * config epochs and slots (open migrations, shown only by the nodes in them, are left out). */
function clusterView(nodes: string): string {
  return nodes
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.split(' ');
      const role = f[2]!.split(',').filter((x) => x === 'master' || x === 'slave');
      return [f[0], role.join(','), f[3], f[6], ...f.slice(8).filter((x) => !x.startsWith('['))].join(' ');
    })
    .sort()
    .join('\n');
}

t('a TLS replica takes over its primary with CLUSTER FAILOVER', async () => {
  // The reshard just before bumped config epochs; a replica that has not heard of them yet asks
  // for votes with its primary's old epoch and is refused (as redis-server would refuse it), so
  // the failover starts once every node has the same view.
  let views: string[] = [];
  await waitFor('every node to agree on the configuration after the reshard', async () => {
    views = await Promise.all(quad.map((n) => withClient(n.port, async (c) => clusterView(String(await c.call('CLUSTER', 'NODES'))))));
    return views.every((v) => v === views[0]);
  }, 20_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}\n${views.join('\n--\n')}`);
  });
  const roles = await Promise.all(quad.map((n) => withClient(n.port, async (c) => ({ n, role: (await c.call('ROLE')) as unknown[] }))));
  const replica = roles.find((x) => x.role[0] === 'slave')!;
  await withClient(replica.n.port, async (c) => {
    await waitFor('the replica link to be up', async () => infoField(await c.info('replication'), 'master_link_status') === 'up', 20_000);
    assert.is(await c.call('CLUSTER', 'FAILOVER'), 'OK');
    await waitFor('the replica to become a primary', async () => ((await c.call('ROLE')) as unknown[])[0] === 'master', 20_000);
  });
  const c = await clusterClient(replica.n.port);
  try {
    for (let i = 0; i < 200; i++) assert.is(await c.get(`q:${i}`), `v${i}`);
    await c.set('after-failover', 'yes');
    assert.is(await c.get('after-failover'), 'yes');
  } finally {
    c.disconnect();
  }
});

// ---------------------------------------------------------------------------------------------


t('tessera cluster local --tls: TLS-only nodes that form a cluster over a TLS bus', async () => {
  const base = await consecutiveFreePorts(3);
  const cwd = mkdtempSync(join(root, 'local-'));
  const child = spawn(
    process.execPath,
    [TESSERA_MAIN, 'cluster', 'local', '--nodes', '3', '--base-port', String(base), '--node-timeout', String(NODE_TIMEOUT_MS), '--shards', '1',
      '--tls', '--cacert', certs.caCert, '--cert', certs.serverCert, '--key', certs.serverKey],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.on('data', (x: Buffer) => (stdout += x.toString('utf8')));
  child.stderr.on('data', (x: Buffer) => (stdout += x.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const pids: number[] = [];
  let stopped = false;
  try {
    const v = await waitFor('cluster local --tls to be ready', () => /Cluster ready/.test(stdout) || (child.exitCode !== null && 'exited'), 60_000, 100);
    if (v === 'exited') throw new Error(`cluster local --tls exited: ${stdout}`);
    for (const m of stdout.matchAll(/ pid (\d+) /g)) pids.push(Number(m[1]));
    assert.is(pids.length, 3, stdout);
    assert.match(stdout, `redis-cli -c --tls --cacert ${certs.caCert} -p ${base}`);
    assert.ok(await tlsPing(base + 1), 'TLS on the node port');
    const st = await cli(['status', `127.0.0.1:${base}`, '--json', '--no-ops', ...tlsFlags()]);
    assert.is(st.code, 0, st.stderr);
    assert.ok((JSON.parse(st.stdout) as { ok: boolean }).ok, st.stdout);
    child.kill('SIGINT');
    assert.is(await withTimeout(exited, 30_000, 'cluster local to exit'), 0, stdout);
    // It waited for its nodes: none is left to clean up.
    stopped = true;
  } finally {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    for (const p of stopped ? [] : pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

s.run();
