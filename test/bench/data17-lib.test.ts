// The issue-17 data benchmark's own parts (bench/data17.ts): its options, the commands it sends and
// their bounds, the report; then against the real redis-server: the XREAD stream and every probe
// (and a probe's failure without the command), the XREADGROUP + XACK load (every entry read and
// acked exactly once, and a run that runs out of entries fails), the SETBIT pool, and the stream
// memory case through redis-cli --pipe. Needs redis-server and redis-cli (Debian: redis-server).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadXreadStream, parseData17Options, probeData17, xaddTotal } from '../../bench/data17.js';
import {
  DATA17_TESTS, DRIVERS, GROUP, KEYSPACES, PROBES, SETBIT_KEYS, SETBIT_OFFSETS, setbitUnit, XREAD_ENTRIES, xaddAutoUnit,
} from '../../bench/lib/data17-data.js';
import { renderData17Report } from '../../bench/lib/data17-report.js';
import { entryId, runGroupLoad } from '../../bench/lib/group-load.js';
import { benchmarkArgs, parseCsv } from '../../bench/lib/redis-benchmark.js';
import { decodeReply, RespClient } from '../../bench/lib/resp-client.js';
import type { BenchServer } from '../../bench/lib/servers.js';
import { streamGrowth } from '../../bench/lib/stream-memory.js';
import { runUnitLoad } from '../../bench/lib/unit-load.js';
import { startRedis, withTimeout, type ServerHandle } from '../e2e/harness.js';

test('options: the issue\'s sizes by default, the quick preset, flags and env, bad values rejected', () => {
  const d = parseData17Options([], {}, true);
  assert.equal([d.rounds, d.requests, d.clients, d.entries], [3, 100_000, 50, 10_000_000]);
  assert.equal(d.pipelines, [1, 16]);
  assert.equal(d.tests, [...DATA17_TESTS]);
  assert.is(d.against, 'tessera');
  assert.ok(d.results.endsWith('bench/DATA17.md'));
  const q = parseData17Options(['--data17-quick', 'yes', '--data17-rounds', '2'], { BENCH_DATA17_TESTS: 'xadd,xread' }, true);
  assert.equal([q.rounds, q.requests, q.entries, q.tests], [2, 20_000, 200_000, ['xadd', 'xread']]);
  assert.equal(parseData17Options(['--data17-against', '6390'], {}, true).against, { port: 6390 });
  assert.is(parseData17Options(['--data17-entries', '0'], {}, true).entries, 0);
  assert.throws(() => parseData17Options(['--data17-tests', 'xadd,xdel'], {}, true), /unknown xdel/);
  assert.throws(() => parseData17Options(['--data17-pipelines', '1,0'], {}, true), /0 is not a positive integer/);
  assert.throws(() => parseData17Options(['--scripting-rounds', '1'], {}, true), /unknown option --scripting-rounds/);
  assert.throws(() => parseData17Options(['--data17-quick', 'maybe'], {}, true), /takes yes or no/);
  // Under npm run bench the other benchmarks' flags pass through.
  assert.is(parseData17Options(['--scripting-rounds', '1'], {}, false).rounds, 3);
});

test('commands: redis-benchmark tests named for the report, SETBIT within its bounds, every test probed', () => {
  const run = { port: 7000, clients: 50, requests: 10, valueBytes: 32, pipeline: 16 };
  assert.equal(benchmarkArgs({ ...run, tests: ['xadd'], keyspace: KEYSPACES.xadd }).slice(-9), ['xadd', 'xadd:__rand_int__', '*', 'a', '1', 'b', '2', 'c', '3']);
  assert.equal(benchmarkArgs({ ...run, tests: ['xread'], keyspace: KEYSPACES.xread }).slice(-6), ['xread', 'count', '10', 'streams', 'xread:stream', '__rand_int__']);
  const csv = [
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
    '"pfadd hll:__rand_int__ e:__rand_int__","1000.00","0.1","0.0","0.1","0.2","0.3","0.4"',
    '"geoadd geo:__rand_int__ 13.__rand_int__ 52.__rand_int__ m:__rand_int__","900.00","0.1","0.0","0.1","0.2","0.3","0.4"',
  ].join('\n');
  assert.equal(parseCsv(csv).map((r) => r.test), ['PFADD', 'GEOADD']);
  for (const t of DATA17_TESTS) assert.ok(PROBES[t].checks.length > 0 && DRIVERS[t] !== undefined, t);
  const keys = new Set<string>();
  for (let i = 0; i < 4096; i++) {
    const args = decodeReply(setbitUnit(i), 0)?.reply as string[];
    assert.is(args[0], 'SETBIT');
    keys.add(args[1] ?? '');
    const offset = Number(args[2]);
    assert.ok(Number.isInteger(offset) && offset >= 0 && offset < SETBIT_OFFSETS && String(offset) === args[2], args.join(' '));
  }
  assert.ok(keys.size > SETBIT_KEYS / 2 && keys.size <= SETBIT_KEYS, `${keys.size} keys`);
  assert.equal(setbitUnit(7), setbitUnit(7), 'the same command on both servers');
  assert.is(entryId([['s', [['5-1', ['a', '1']]]]]), '5-1');
  assert.ok(entryId([]) instanceof Error);
  assert.ok(entryId(null) instanceof Error);
});

test('the report names a plumbing check and a test a side could not run', () => {
  const text = renderData17Report({
    generatedAt: new Date(0), command: 'node dist/bench/data17.js', machineLines: ['- CPU: x'], sideB: 'redis-server (B)', commands: ['c'],
    summaries: [], notRun: [{ test: 'xadd', redis: null, b: "-ERR unknown command 'XADD'" }], failed: [], memory: null, rounds: 1, requests: 10, clients: 2,
  });
  assert.match(text, /Plumbing check/);
  assert.match(text, /\| XADD \(3 fields, \* id\) \| ok \| not run: -ERR unknown command 'XADD' \|/);
  assert.match(text, /Not measured in this run/);
});

const asBench = (h: ServerHandle): BenchServer => ({ name: 'redis-server', pid: h.pid, port: h.port, commandLine: '', stop: () => h.stop() });

test('against redis-server: the XREAD stream loads, every probe passes; a probe without its command fails with the reply', async () => {
  const redis = await startRedis();
  try {
    assert.is(await withTimeout(loadXreadStream(redis.port), 30_000, 'loadXreadStream'), null);
    for (const t of DATA17_TESTS) assert.is(await withTimeout(probeData17(redis.port, t), 10_000, `probe ${t}`), null, t);
    const c = await RespClient.connect(redis.port);
    try {
      assert.is(await c.call('XLEN', 'xread:stream'), XREAD_ENTRIES);
      assert.equal(await c.call('XREVRANGE', 'xread:stream', '+', '-', 'COUNT', '1'), [[`${XREAD_ENTRIES}-0`, ['a', '1', 'b', '2', 'c', '3']]]);
    } finally {
      c.close();
    }
    assert.is(await withTimeout(xaddTotal(redis.port), 10_000, 'xaddTotal'), 0);
  } finally {
    await redis.stop();
  }
  const bare = await startRedis({ args: ['--rename-command', 'XREADGROUP', '', '--rename-command', 'PFADD', ''] });
  try {
    assert.match(await withTimeout(probeData17(bare.port, 'xreadgroup'), 10_000, 'probe') ?? '', /^XREADGROUP GROUP bench c0 .* replied -ERR unknown command/);
    assert.match(await withTimeout(probeData17(bare.port, 'pfadd'), 10_000, 'probe') ?? '', /^PFADD probe:hll .* replied -ERR unknown command/);
    assert.is(await withTimeout(probeData17(bare.port, 'geoadd'), 10_000, 'probe'), null);
  } finally {
    await bare.stop();
  }
});

test('XREADGROUP + XACK load against redis-server: every entry read and acked once; too few entries fail the run', async () => {
  const redis = await startRedis();
  const entries = 1001;
  try {
    await withTimeout(runUnitLoad({ port: redis.port, connections: 2, pipeline: 100, units: entries, repliesPerUnit: 1, poolSize: 1, build: () => xaddAutoUnit('gs') }), 20_000, 'fill');
    const c = await RespClient.connect(redis.port);
    try {
      assert.is(await c.call('XGROUP', 'CREATE', 'gs', GROUP, '0'), 'OK');
      const r = await withTimeout(runGroupLoad({ port: redis.port, connections: 3, pipeline: 4, units: entries, stream: 'gs', group: GROUP }), 30_000, 'runGroupLoad');
      assert.is(r.units, entries);
      assert.ok(r.unitsPerSec > 0 && r.p50Ms <= r.p99Ms, JSON.stringify(r));
      assert.equal(await c.call('XPENDING', 'gs', GROUP), [0, null, null, null], 'nothing left pending');
      const consumers = await c.call('XINFO', 'CONSUMERS', 'gs', GROUP);
      assert.equal((consumers as unknown[][]).map((row) => row[1]), ['c0', 'c1', 'c2'], 'one consumer per connection');
      // The stream is drained: the next XREADGROUP gets nothing, and the run says so.
      const outcome = await withTimeout(runGroupLoad({ port: redis.port, connections: 1, pipeline: 2, units: 2, stream: 'gs', group: GROUP, stallMs: 5000 })
        .then(() => 'resolved', (e: Error) => e.message), 10_000, 'runGroupLoad');
      assert.match(outcome, /XREADGROUP returned no entry: null/);
    } finally {
      c.close();
    }
  } finally {
    await redis.stop();
  }
});

test('SETBIT pool and the stream memory case against redis-server', async () => {
  const redis = await startRedis();
  try {
    await withTimeout(runUnitLoad({ port: redis.port, connections: 2, pipeline: 16, units: 2000, repliesPerUnit: 1, poolSize: 2000, build: setbitUnit }), 20_000, 'setbit');
    const c = await RespClient.connect(redis.port);
    try {
      const size = await c.call('DBSIZE');
      assert.ok(typeof size === 'number' && size > 0 && size <= SETBIT_KEYS, String(size));
      await c.call('FLUSHALL');
    } finally {
      c.close();
    }
    const g = await withTimeout(streamGrowth(asBench(redis), 20_000), 30_000, 'streamGrowth');
    assert.is(g.entries, 20_000);
    assert.is(g.encoding, 'stream');
    assert.ok(g.usedBytes > 20_000 && g.usedBytes / g.entries < 100, `${g.usedBytes} bytes used`);
  } finally {
    await redis.stop();
  }
});

test.run();
