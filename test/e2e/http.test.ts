// The HTTP port with real requests (fetch): health, REST round trips with TTLs, JSON errors,
// bearer-token auth when requirepass is set, and /metrics parsed as Prometheus text format.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { startTessera, withTimeout, type ServerHandle } from './harness.js';
import { bin, binCount, exchange, OPS, setExtras } from './memcache-harness.js';

const TEST_TIMEOUT_MS = 20_000;
const PASSWORD = 's3cret';
let open: ServerHandle | undefined;
let locked: ServerHandle | undefined;
const t = suite('HTTP: health, metrics, /v1/keys');

t.before(async () => {
  [open, locked] = await Promise.all([
    startTessera({ shards: 2, http: true, memcache: true }),
    startTessera({ shards: 1, http: true, args: ['--requirepass', PASSWORD] }),
  ]);
});

t.after(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
const url = (s: ServerHandle, path: string): string => `http://127.0.0.1:${s.httpPort}${path}`;
const req = (s: ServerHandle, path: string, init?: RequestInit): Promise<Response> =>
  fetch(url(s, path), { ...init, signal: AbortSignal.timeout(5000) });

it('/health and /health/live answer 200 with JSON', async () => {
  const r = await req(open!, '/health');
  assert.is(r.status, 200);
  const body = (await r.json()) as { status: string; shards: number };
  assert.is(body.status, 'ok');
  assert.is(body.shards, 2);
  assert.is((await req(open!, '/health/live')).status, 200);
  const missing = await req(open!, '/nope');
  assert.is(missing.status, 404);
  assert.equal(await missing.json(), { error: 'not found' });
  assert.is((await req(open!, '/health', { method: 'POST' })).status, 405);
});

it('REST: PUT, GET, DELETE round trip; binary values; TTL by query or header; visible to RESP', async () => {
  const value = Buffer.from([0, 1, 2, 250, 255, 10]);
  assert.is((await req(open!, '/v1/keys/h%3Aa', { method: 'PUT', body: value })).status, 204);
  const got = await req(open!, '/v1/keys/h%3Aa');
  assert.is(got.status, 200);
  assert.equal([...Buffer.from(await got.arrayBuffer())], [...value]);
  const redis = new Redis({ port: open!.port, maxRetriesPerRequest: 0 });
  try {
    assert.equal([...(await redis.getBuffer('h:a'))!], [...value]);
    assert.is(await redis.ttl('h:a'), -1);
    await req(open!, '/v1/keys/h:ttl?ttl=100', { method: 'PUT', body: 'x' });
    const ttl = await redis.ttl('h:ttl');
    assert.ok(ttl > 95 && ttl <= 100, String(ttl));
    await req(open!, '/v1/keys/h:ttl2', { method: 'PUT', body: 'x', headers: { 'x-ttl': '50' } });
    const ttl2 = await redis.ttl('h:ttl2');
    assert.ok(ttl2 > 45 && ttl2 <= 50, String(ttl2));
    await redis.set('h:from-resp', 'hello');
    assert.is(await (await req(open!, '/v1/keys/h:from-resp')).text(), 'hello');
  } finally {
    redis.disconnect();
  }
  // A memcached item is readable over HTTP too.
  await exchange(open!.memcachePort, [bin(OPS.SET, { key: 'h:mc', extras: setExtras(3, 0), value: 'via memcached' })], binCount(1));
  assert.is(await (await req(open!, '/v1/keys/h:mc')).text(), 'via memcached');
  assert.is((await req(open!, '/v1/keys/h%3Aa', { method: 'DELETE' })).status, 204);
  const gone = await req(open!, '/v1/keys/h%3Aa');
  assert.is(gone.status, 404);
  assert.equal(await gone.json(), { error: 'no such key' });
  assert.is((await req(open!, '/v1/keys/h%3Aa', { method: 'DELETE' })).status, 404);
  const badTtl = await req(open!, '/v1/keys/h:b?ttl=soon', { method: 'PUT', body: 'x' });
  assert.is(badTtl.status, 400);
  assert.match(((await badTtl.json()) as { error: string }).error, /ttl/);
  assert.is((await req(open!, '/v1/keys/', { method: 'PUT', body: 'x' })).status, 400);
  const post = await req(open!, '/v1/keys/h:b', { method: 'POST', body: 'x' });
  assert.is(post.status, 405);
  assert.is(post.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
});

it('auth: with requirepass the key API needs the bearer token; health and metrics stay open', async () => {
  const s = locked!;
  const anon = await req(s, '/v1/keys/k', { method: 'PUT', body: 'v' });
  assert.is(anon.status, 401);
  assert.is(anon.headers.get('www-authenticate'), 'Bearer');
  assert.match(((await anon.json()) as { error: string }).error, /authentication required/);
  assert.is((await req(s, '/v1/keys/k', { method: 'PUT', body: 'v', headers: { authorization: 'Bearer wrong' } })).status, 401);
  const auth = { authorization: `Bearer ${PASSWORD}` };
  assert.is((await req(s, '/v1/keys/k', { method: 'PUT', body: 'v', headers: auth })).status, 204);
  assert.is((await req(s, '/v1/keys/k')).status, 401);
  assert.is(await (await req(s, '/v1/keys/k', { headers: auth })).text(), 'v');
  assert.is((await req(s, '/v1/keys/k', { method: 'DELETE', headers: auth })).status, 204);
  assert.is((await req(s, '/health')).status, 200);
  assert.is((await req(s, '/metrics')).status, 200);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text exposition format (0.0.4): HELP/TYPE lines, samples
 * `name{label="value",...} number`; throws on anything else. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?(?:[0-9.e+-]+|NaN|\+Inf|-Inf))$/;
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      assert.ok(name && type && ['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type), line);
      types.set(name!, type!);
      continue;
    }
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(labelRe)) labels[l[1]!] = l[2]!;
    const value = Number(m[4]!.replace('+Inf', 'Infinity'));
    assert.not.ok(Number.isNaN(value) && m[4] !== 'NaN', line);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

it('/metrics: Prometheus text with commands, latency histograms, keys, memory, shards, memcached counters', async () => {
  const redis = new Redis({ port: open!.port, maxRetriesPerRequest: 0 });
  try {
    await redis.set('m:1', 'x');
    await redis.get('m:1');
    await redis.get('m:none');
  } finally {
    redis.disconnect();
  }
  await exchange(open!.memcachePort, [bin(OPS.GET, { key: 'm:1' }), bin(OPS.NOOP)], binCount(2));
  const r = await req(open!, '/metrics');
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  const { types, samples } = parsePrometheus(await r.text());
  const one = (name: string, labels: Record<string, string> = {}): number => {
    const s = samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.ok(s.length > 0, `${name} ${JSON.stringify(labels)} missing`);
    return s.reduce((n, x) => n + x.value, 0);
  };
  assert.is(types.get('tessera_command_duration_seconds'), 'histogram');
  assert.is(types.get('tessera_commands_total'), 'counter');
  assert.ok(one('tessera_commands_total', { command: 'get', outcome: 'call' }) >= 2);
  assert.ok(one('tessera_command_duration_seconds_count', { command: 'get' }) >= 2);
  assert.is(one('tessera_command_duration_seconds_bucket', { command: 'get', le: '+Inf' }), one('tessera_command_duration_seconds_count', { command: 'get' }));
  assert.ok(one('tessera_command_duration_seconds_count', { command: '__mc' }) >= 1);
  assert.ok(one('tessera_keyspace_hits_total') >= 2);
  assert.ok(one('tessera_keyspace_misses_total') >= 1);
  assert.ok(one('tessera_keys') >= 1);
  assert.ok(one('tessera_memory_used_bytes', { shard: '0' }) > 0);
  assert.is(samples.filter((x) => x.name === 'tessera_shard_inflight_requests').length, 2);
  assert.ok(one('tessera_shard_busy_seconds_total') > 0);
  assert.ok(one('tessera_memcache_commands_total', { command: 'get' }) >= 1);
  assert.ok(one('tessera_connections_received_total', { protocol: 'memcache' }) >= 1);
  assert.is(one('tessera_evicted_keys_total'), 0);
  assert.ok(one('tessera_expired_keys_total') >= 0);
  assert.ok(one('process_resident_memory_bytes') > 0);
  assert.ok(one('tessera_http_requests_total', { route: '/health', status: '200' }) >= 1);
});

t.run();
