// The lists-and-sorted-sets benchmark's own parts (bench/lists.ts, issue 15): its options, the
// loaders' RESP text, the refills and probes, the error quoting and the percentile summary; then
// against the real redis-server: the four memory cases (counts and encodings as bench/LISTS.md states
// them), the probes, and the BLPOP wake-up measurement, including its failure on a server without
// BLPOP. Needs redis-server (Debian: redis-server).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LIST_TESTS, parseListsOptions, probeTests } from '../../bench/lists.js';
import { blpopLatency, summarizeNs } from '../../bench/lib/list-blocking.js';
import {
  BIG_PER_COMMAND, bigListCommand, bigZsetCommand, LIST_MEMORY_CASES, listKey, PROBES, rankZsetCommand, rankZsetCommands, refillCommand,
  refillTarget, shortError, smallListCommand, smallZsetCommand, SMALL_ZSET_MEMBERS, zsetKey,
} from '../../bench/lib/list-data.js';
import { benchmarkArgs, parseCsv } from '../../bench/lib/redis-benchmark.js';
import { decodeReply, RespClient } from '../../bench/lib/resp-client.js';
import { caseGrowth } from '../../bench/lib/type-memory.js';
import { startRedis, withTimeout } from '../e2e/harness.js';

/** The arguments of one RESP command text. */
function args(text: string): string[] {
  const decoded = decodeReply(Buffer.from(text, 'latin1'), 0);
  if (decoded === null) throw new Error('incomplete command');
  assert.is(decoded.end, text.length, 'one command, nothing after it');
  return decoded.reply as string[];
}

test('options: the issue\'s sizes by default, scale flags, unknown names rejected', () => {
  const d = parseListsOptions([], {}, true);
  assert.is(d.keys, 1_000_000);
  assert.is(d.elements, 10_000_000);
  assert.equal(d.pipelines, [1, 16]);
  assert.equal(d.tests, LIST_TESTS);
  assert.equal([...d.sections], ['throughput', 'memory', 'blocking']);
  const q = parseListsOptions(['--lists-elements', '1000000', '--lists-keys=5000', '--lists-tests', 'lpush,zrank'], { BENCH_LISTS_ROUNDS: '2' }, true);
  assert.equal([q.elements, q.zsetElements, q.keys, q.rounds, q.tests], [1_000_000, 1_000_000, 5000, 2, ['lpush', 'zrank']]);
  assert.is(parseListsOptions(['--lists-elements', '1000000', '--lists-zset-elements', '100000'], {}, true).zsetElements, 100_000);
  assert.throws(() => parseListsOptions(['--lists-tests', 'lpush,blpop'], {}, true), /unknown blpop/);
  assert.throws(() => parseListsOptions(['--types-count', '10'], {}, true), /unknown option --types-count/);
  // Under npm run bench the other benchmarks' flags pass through.
  assert.is(parseListsOptions(['--types-count', '10'], {}, false).keys, 1_000_000);
});

test('every test has a probe, and the custom ones run as redis-benchmark commands named for the report', () => {
  for (const t of LIST_TESTS) assert.ok(PROBES[t] !== undefined, t);
  const run = { port: 7000, clients: 50, requests: 10, keyspace: 100, valueBytes: 32, pipeline: 16 };
  assert.equal(benchmarkArgs({ ...run, tests: ['lrange_600'] }).slice(-4), ['lrange', 'mylist', '0', '599']);
  assert.equal(benchmarkArgs({ ...run, tests: ['zrank'] }).slice(-3), ['zrank', 'rankzset', 'm:__rand_int__']);
  assert.ok(benchmarkArgs({ ...run, tests: ['lpush'] }).includes('-t'));
  const csv = [
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
    '"lrange mylist 0 99","1000.00","0.1","0.0","0.1","0.2","0.3","0.4"',
    '"zrangebyscore rankzset __rand_int__ +inf limit 0 10","900.00","0.1","0.0","0.1","0.2","0.3","0.4"',
    '"ZPOPMIN","800.00","0.1","0.0","0.1","0.2","0.3","0.4"',
  ].join('\n');
  assert.equal(parseCsv(csv).map((r) => r.test), ['LRANGE_100', 'ZRANGEBYSCORE (LIMIT 10)', 'ZPOPMIN']);
});

test('loaders: small lists and sorted sets of 10, big ones 100 per command, the last command short', () => {
  assert.equal(args(smallListCommand(3)), ['RPUSH', listKey(3), ...Array.from({ length: 10 }, (_, j) => `v${String(30 + j).padStart(7, '0')}`)]);
  const z = args(smallZsetCommand(3));
  assert.equal(z.slice(0, 2), ['ZADD', zsetKey(3)]);
  assert.equal(z.filter((_, k) => k >= 2 && k % 2 === 1), [...SMALL_ZSET_MEMBERS]);
  assert.ok(z.filter((_, k) => k >= 2 && k % 2 === 0).every((s) => Number.isInteger(Number(s))));
  assert.is(args(bigListCommand(0, 250)).length, 2 + BIG_PER_COMMAND);
  assert.is(args(bigListCommand(2, 250)).length, 2 + 50);
  assert.equal(args(bigZsetCommand(2, 201)), ['ZADD', 'bigzset', '200', 'member:0000000200']);
  assert.is(rankZsetCommands(250), 3);
  assert.equal(args(rankZsetCommand(2, 201)), ['ZADD', 'rankzset', '200', 'm:000000000200']);
  for (const c of LIST_MEMORY_CASES) {
    const n = 1234;
    let elements = 0;
    for (let i = 0; i < c.commands(n); i++) elements += (args(c.command(i, n)).length - 2) / (c.countCommand === 'ZCARD' ? 2 : 1);
    assert.is(elements, c.elements(n), c.id);
    assert.ok(args(c.command(0, n)).every((a, k) => k < 2 || c.countCommand === 'ZCARD' || Number.isNaN(Number(a))), `${c.id}: elements are not numbers`);
  }
});

test('refills: pops get more than the run can pop, LRANGE 600, pushes nothing; ZADD members never repeat', () => {
  assert.equal(refillTarget('lpop', 1000, 50, 16), { key: 'mylist', count: 1800 });
  assert.equal(refillTarget('zpopmin', 1000, 50, 1), { key: 'myzset', count: 1050 });
  assert.equal(refillTarget('lrange_600', 1000, 50, 16), { key: 'mylist', count: 600 });
  assert.is(refillTarget('lpush', 1000, 50, 16), null);
  assert.equal(args(refillCommand('myzset', 500, 101, 1)), ['ZADD', 'myzset', '600', 'pop:000000000600']);
  const push = args(refillCommand('mylist', 0, 150, 0));
  assert.is(push[0], 'RPUSH');
  assert.is(push.length, 2 + BIG_PER_COMMAND);
  assert.is(push[2]?.length, 32);
});

test('shortError keeps the first line without Redis\'s argument tail; summarizeNs gives microseconds', () => {
  assert.is(shortError("ERR unknown command 'LPUSH', with args beginning with: 'k' 'v' \nmore"), "ERR unknown command 'LPUSH'");
  assert.is(shortError('x'.repeat(300)).length, 100);
  const s = summarizeNs(Array.from({ length: 100 }, (_, i) => (i + 1) * 1000));
  assert.ok(Math.abs(s.p50Us - 50) <= 0.1, `p50 ${s.p50Us}`);
  assert.ok(Math.abs(s.p99Us - 99) <= 0.1, `p99 ${s.p99Us}`);
  assert.ok(Math.abs(s.maxUs - 100) <= 0.1, `max ${s.maxUs}`);
  assert.ok(Number.isNaN(summarizeNs([]).p50Us));
});

test('each memory case loads into redis-server with its key count, element count and encoding; probes pass', async () => {
  const redis = await startRedis();
  const client = await RespClient.connect(redis.port);
  // Redis 7.0 keeps every list in a quicklist (7.2 has listpack lists); 1000 members is past the zset listpack limit.
  const want: Record<string, string> = { 'small-lists': 'quicklist', 'big-list': 'quicklist', 'small-zsets': 'listpack', 'big-zset': 'skiplist' };
  try {
    const server = { name: 'redis-server', pid: redis.pid, port: redis.port, commandLine: 'redis-server', stop: () => redis.stop() };
    for (const c of LIST_MEMORY_CASES) {
      const growth = await withTimeout(caseGrowth(server, c, 1000, 2), 30_000, `load ${c.id}`);
      assert.is(growth.encoding, want[c.id], c.id);
      assert.ok(growth.usedBytes > 0, c.id);
      await client.call('FLUSHALL');
    }
    const probes = await withTimeout(probeTests(redis.port, LIST_TESTS), 10_000, 'probes');
    assert.equal([...probes.values()], LIST_TESTS.map(() => null));
    assert.is(await client.call('DBSIZE'), 0, 'the probes leave no keys');
  } finally {
    client.close();
    await redis.stop();
  }
});

test('BLPOP wake-up latency against redis-server: every push wakes its consumer, percentiles are finite', async () => {
  const redis = await startRedis();
  try {
    const r = await withTimeout(blpopLatency(redis.port, { consumers: 4, wakeups: 200, warmup: 20 }), 30_000, 'blpopLatency');
    assert.is(r.wakeups, 200);
    assert.ok(r.p50Us > 0 && r.p50Us <= r.p99Us && r.p99Us <= r.maxUs, JSON.stringify(r));
    const client = await RespClient.connect(redis.port);
    try {
      assert.is(await client.call('EXISTS', 'blpop:0', 'blpop:1', 'blpop:2', 'blpop:3'), 0, 'every pushed element was popped');
    } finally {
      client.close();
    }
  } finally {
    await redis.stop();
  }
});

test('BLPOP wake-up latency fails with the server\'s reply when BLPOP does not exist', async () => {
  const redis = await startRedis({ args: ['--rename-command', 'BLPOP', ''] });
  try {
    const outcome = await withTimeout(blpopLatency(redis.port, { consumers: 2, wakeups: 10, warmup: 0 }).then(() => 'resolved', (e: Error) => e.message),
      10_000, 'blpopLatency');
    assert.match(outcome, /BLPOP replied before any push: -ERR unknown command/);
  } finally {
    await redis.stop();
  }
});

test.run();
