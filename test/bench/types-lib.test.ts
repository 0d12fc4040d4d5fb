// The hashes-and-sets benchmark's own parts (bench/types.ts): redis-benchmark's custom commands and
// how their CSV rows are named, the loader's RESP text, and the four memory cases loaded into the
// real redis-server (counts and encodings as the report states them).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchmarkArgs, parseCsv } from '../../bench/lib/redis-benchmark.js';
import { RespClient } from '../../bench/lib/resp-client.js';
import { loadCommands } from '../../bench/lib/line-load.js';
import { MEMORY_CASES, resp, smallHashCommand, SMALL_FIELDS, hashKey } from '../../bench/lib/type-data.js';
import { caseGrowth } from '../../bench/lib/type-memory.js';
import { startRedis, withTimeout } from '../e2e/harness.js';

test('custom read tests run as redis-benchmark commands and their CSV rows get the report names', () => {
  const args = benchmarkArgs({ port: 7000, tests: ['hgetall'], clients: 50, requests: 10, keyspace: 100, valueBytes: 32, pipeline: 16 });
  assert.equal(args.slice(-2), ['hgetall', 'hash:__rand_int__']);
  assert.not.ok(args.includes('-t'));
  assert.ok(benchmarkArgs({ port: 7000, tests: ['hset'], clients: 1, requests: 1, keyspace: 1, valueBytes: 1, pipeline: 1 }).includes('-t'));
  const csv = [
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
    '"hget hash:__rand_int__ field:03","1000.00","0.1","0.0","0.1","0.2","0.3","0.4"',
    '"hgetall hash:__rand_int__","900.00","0.1","0.0","0.1","0.2","0.3","0.4"',
    '"sismember set:__rand_int__ 3","800.00","0.1","0.0","0.1","0.2","0.3","0.4"',
    '"SPOP","700.00","0.1","0.0","0.1","0.2","0.3","0.4"',
  ].join('\n');
  assert.equal(parseCsv(csv).map((r) => [r.test, r.rps]), [['HGET', 1000], ['HGETALL (10 fields)', 900], ['SISMEMBER', 800], ['SPOP', 700]]);
});

test('the small-hash command is the RESP of HSET key and 10 fields of 8 bytes with 8-byte values', () => {
  const text = smallHashCommand(42);
  const values = SMALL_FIELDS.map((_, j) => `v${String(420 + j).padStart(7, '0')}`);
  assert.is(text, resp(['HSET', hashKey(42), ...SMALL_FIELDS.flatMap((f, j) => [f, values[j] ?? ''])]));
  assert.ok(SMALL_FIELDS.every((f) => f.length === 8) && values.every((v) => v.length === 8 && Number.isNaN(Number(v))));
});

test('loadCommands fails on an error reply', async () => {
  const redis = await startRedis();
  try {
    const load = loadCommands(redis.port, 10, (i) => (i === 7 ? resp(['NOSUCHCOMMAND']) : resp(['SADD', 's', String(i)])), { connections: 1, batch: 4 });
    const outcome = await withTimeout(load.then(() => 'resolved', (err: Error) => err.message), 10_000, 'loadCommands');
    assert.match(outcome, /command failed while loading: -ERR unknown command/);
  } finally {
    await redis.stop();
  }
});

test('each memory case loads into redis-server with its key count, element count and encoding', async () => {
  const redis = await startRedis();
  const client = await RespClient.connect(redis.port);
  const want: Record<string, string> = { 'small-hashes': 'listpack', 'big-hash': 'hashtable', 'small-sets': 'intset', 'big-set': 'hashtable' };
  try {
    const server = { name: 'redis-server', pid: redis.pid, port: redis.port, commandLine: 'redis-server', stop: () => redis.stop() };
    for (const c of MEMORY_CASES) {
      // 1000 is past redis-server's listpack and intset limits for one big collection, far under them for the small ones.
      const growth = await withTimeout(caseGrowth(server, c, 1000, 2), 30_000, `load ${c.id}`);
      assert.is(growth.encoding, want[c.id], c.id);
      assert.ok(growth.usedBytes > 0, c.id);
      assert.is(await client.call('FLUSHALL'), 'OK');
    }
  } finally {
    client.close();
    await redis.stop();
  }
});

test.run();
