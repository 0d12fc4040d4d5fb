// `tessera bench` end to end: against redis-server, against Tessera, and against a three-node
// Redis Cluster (keys routed by slot, so no request may come back MOVED).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli, startRedis, startTessera, waitFor, type ServerHandle } from '../e2e/harness.js';
import { bench as benchIn, type Phase } from './bench-cli.js';

const t = suite('tessera bench');
const servers: ServerHandle[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tessera-loadgen-'));

t.after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const bench = (args: string[], name: string): Promise<Phase[]> => benchIn(args, dir, name);

function checkPhases(phases: Phase[], names: string[], requests: number): void {
  assert.equal(phases.map((p) => p.name), names);
  for (const p of phases) {
    assert.is(p.requests, requests, p.name);
    assert.is(p.errors, 0, p.name);
    const l = p.latencyMs;
    assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
    assert.ok(l.max < 10_000, `max latency ${l.max} ms`);
    assert.ok(p.series.length >= 1 && p.series.every((s) => s.rps > 0 && s.p50Ms <= s.p99Ms), JSON.stringify(p.series));
  }
}

t('closed loop against redis-server, with two threads and pipelining', async () => {
  const redis = await startRedis();
  servers.push(redis);
  const phases = await bench(['-p', String(redis.port), '-t', 'set,get', '-c', '8', '-n', '20000', '-P', '8', '--threads', '2', '-r', '1000'], 'redis');
  checkPhases(phases, ['SET', 'GET'], 20000);
  assert.is(phases[1]!.hits, 20000, 'every GET after the SET phase hits');
  assert.is(phases[1]!.misses, 0);
  assert.is((await redisCli(['-p', String(redis.port), 'dbsize'])).stdout.trim(), '1000');
});

t('open loop and a zipfian mix against Tessera', async () => {
  const tessera = await startTessera({ shards: 2 });
  servers.push(tessera);
  const phases = await bench(['-p', String(tessera.port), '--ratio', '9:1', '--dist', 'zipf', '-c', '4', '-n', '3000', '--rate', '3000'], 'tessera');
  checkPhases(phases, ['GET:SET 9:1'], 3000);
});

t('cluster mode routes every key to its slot owner', async () => {
  const nodes: ServerHandle[] = [];
  for (let i = 0; i < 3; i++) {
    nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${i}.conf`)] }));
  }
  servers.push(...nodes);
  const created = await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeoutMs: 60_000 });
  assert.is(created.code, 0, created.stdout + created.stderr);
  for (const n of nodes) {
    await waitFor('cluster_state:ok', async () => (await redisCli(['-p', String(n.port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'), 20_000);
  }
  const phases = await bench(['-p', String(nodes[0]!.port), '--cluster', '-t', 'set,get', '-c', '6', '-n', '6000', '-P', '4'], 'cluster');
  checkPhases(phases, ['SET', 'GET'], 6000);
  const keys = await Promise.all(nodes.map(async (n) => Number((await redisCli(['-p', String(n.port), 'dbsize'])).stdout.trim())));
  assert.ok(keys.every((k) => k > 0), `keys per node: ${keys}`);
});

t.run();
