// /metrics per-command and per-shard series against a real server: commands from every thread
// (shard failures included), error replies by prefix, duration histograms per command and per
// shard with cumulative buckets; and docs/grafana-dashboard.json, parsed, queries only metrics a
// real scrape has, with the labels its queries group by.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawClient, startTessera, withTimeout, type RawClient, type ServerHandle } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TEST_TIMEOUT_MS = 30_000;
const t = suite('/metrics: commands, errors, durations; the Grafana dashboard');
let server: ServerHandle | undefined;
let client: RawClient | undefined;

t.before(async () => {
  server = await startTessera({ shards: 2, http: true });
  client = await rawClient(server.port);
  for (let i = 0; i < 50; i++) await client.call(['SET', `k${i}`, 'v']);
  for (let i = 0; i < 50; i++) await client.call(['GET', `k${i}`]);
  await client.call(['LPUSH', 'k1', 'x']);
  await client.call(['GET']);
  await client.call(['CONFIG', 'GET', 'maxmemory']);
  await client.call(['MGET', 'k1', 'k2', 'k3', 'k4']);
});

t.after(async () => {
  client?.close();
  await server?.stop();
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(): Promise<Sample[]> {
  const r = await fetch(`http://127.0.0.1:${server!.httpPort}/metrics`);
  assert.is(r.status, 200);
  const out: Sample[] = [];
  for (const line of (await r.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[4]!.replace('+Inf', 'Infinity')) });
  }
  return out;
}

const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

it('commands by outcome from every thread; errors by prefix', async () => {
  const s = await scrape();
  assert.is(sum(s, 'tessera_commands_total', { command: 'set', outcome: 'call' }), 50);
  assert.is(sum(s, 'tessera_commands_total', { command: 'get', outcome: 'call' }), 50);
  assert.is(sum(s, 'tessera_commands_total', { command: 'get', outcome: 'rejected' }), 1);
  assert.is(sum(s, 'tessera_commands_total', { command: 'lpush', outcome: 'failed' }), 1, 'a failure in a shard');
  assert.is(sum(s, 'tessera_commands_total', { command: 'config|get', outcome: 'call' }), 1);
  assert.is(sum(s, 'tessera_error_replies_total', { prefix: 'WRONGTYPE' }), 1);
  assert.is(sum(s, 'tessera_error_replies_total', { prefix: 'ERR' }), 1);
});

it('duration histograms per command and per shard: cumulative buckets ending in the count', async () => {
  const s = await scrape();
  for (const [name, labels] of [['tessera_command_duration_seconds', { command: 'set' }], ['tessera_shard_command_duration_seconds', { shard: '0' }]] as const) {
    const buckets = s.filter((x) => x.name === `${name}_bucket` && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.ok(buckets.length >= 15, `${name} has its buckets`);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${name} buckets are cumulative`);
    assert.is(buckets.at(-1)!.labels['le'], '+Inf');
    assert.is(buckets.at(-1)!.value, sum(s, `${name}_count`, labels));
    assert.ok(sum(s, `${name}_sum`, labels) > 0);
  }
  assert.is(sum(s, 'tessera_command_duration_seconds_count', { command: 'set' }), 50);
  assert.is(sum(s, 'tessera_shard_command_duration_seconds_count'), sum(s, 'tessera_shard_commands_total'), 'every shard command timed');
});

it('docs/grafana-dashboard.json: importable shape; every metric it queries is in a real scrape, with the labels it groups by', async () => {
  const dash = JSON.parse(readFileSync(join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
    title: string;
    __inputs: Array<{ name: string; type: string; pluginId: string }>;
    panels: Array<{ id: number; title: string; type: string; gridPos: { w: number; h: number }; targets: Array<{ refId: string; expr: string }> }>;
    templating: { list: Array<{ name: string; definition: string }> };
  };
  assert.is(dash.title, 'Tessera');
  assert.equal(dash.__inputs.map((i) => [i.name, i.pluginId]), [['DS_PROMETHEUS', 'prometheus']]);
  assert.ok(dash.panels.length >= 8);
  assert.is(new Set(dash.panels.map((p) => p.id)).size, dash.panels.length, 'panel ids are unique');
  const s = await scrape();
  const names = new Set(s.map((x) => x.name));
  const labelsOf = (metric: string): Set<string> => new Set(s.filter((x) => x.name === metric).flatMap((x) => Object.keys(x.labels)));
  const queries = [...dash.panels.flatMap((p) => p.targets.map((q) => ({ where: p.title, expr: q.expr }))), ...dash.templating.list.map((v) => ({ where: `$${v.name}`, expr: v.definition }))];
  const seen = new Set<string>();
  for (const { where, expr } of queries) {
    const metrics = [...expr.matchAll(/\btessera_[a-z0-9_]+/g)].map((m) => m[0]);
    assert.ok(metrics.length > 0, `${where} queries a Tessera metric`);
    const grouped = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()));
    for (const metric of metrics) {
      seen.add(metric);
      assert.ok(names.has(metric), `${where}: ${metric} is not in /metrics`);
      const labels = labelsOf(metric);
      for (const l of grouped) if (l !== 'instance') assert.ok(labels.has(l), `${where}: ${metric} has no label ${l}`);
    }
  }
  for (const m of ['tessera_commands_total', 'tessera_command_duration_seconds_bucket', 'tessera_error_replies_total', 'tessera_memory_used_bytes', 'tessera_keys']) {
    assert.ok(seen.has(m), `the dashboard reads ${m}`);
  }
});

t.run();
