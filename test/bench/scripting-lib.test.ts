// The scripts / transactions / pub/sub benchmark's own parts (bench/scripting.ts, issue 16): its
// options, the frames and units it sends, the figures math (percentiles, ratios pair by pair), the
// byte-stream check of the subscribers; then against the real redis-server: the probes (and their
// failure on a server without the commands), a MULTI/EXEC load whose INCRs all land, and a PUBLISH
// fan-out that counts every delivery and refuses a wrong PUBLISH reply. Needs redis-server.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseScriptingOptions, publishesFor, pseudoRandom, sideName } from '../../bench/scripting.js';
import { FrameStream, runPublishLoad } from '../../bench/lib/pubsub-load.js';
import { benchmarkArgs, parseCsv } from '../../bench/lib/redis-benchmark.js';
import { decodeReply, encodeCommand, RespClient } from '../../bench/lib/resp-client.js';
import {
  channelName, EVALSHA_COMMAND, expandTests, MESSAGE, messageFrame, publishReply, scriptingLabel, SCRIPT_BODY, SCRIPT_SHA, subscribeReply,
  subscribersOf, TTL_S, txKey, txUnit, TX_REPLIES,
} from '../../bench/lib/scripting-data.js';
import { framesIn, percentile, summarizePairs, type SideRun } from '../../bench/lib/scripting-math.js';
import { counterSum, probeTest, splitCommands } from '../../bench/lib/scripting-probe.js';
import { runUnitLoad } from '../../bench/lib/unit-load.js';
import { startRedis, withTimeout } from '../e2e/harness.js';

test('options: defaults, flags and env, the side-B choices, bad values rejected', () => {
  const d = parseScriptingOptions([], {}, true);
  assert.equal([d.rounds, d.requests, d.messages, d.clients], [3, 100_000, 200_000, 50]);
  assert.equal(d.pipelines, [1, 16]);
  assert.equal(d.tests, ['evalsha', 'multi', 'publish']);
  assert.equal(d.subscribers, [1, 10, 100]);
  assert.is(d.against, 'tessera');
  assert.ok(d.results.endsWith('bench/SCRIPTING.md'));
  const q = parseScriptingOptions(['--scripting-tests', 'publish', '--scripting-subscribers=2,5', '--scripting-against', '6390'],
    { BENCH_SCRIPTING_ROUNDS: '5', BENCH_SCRIPTING_PIPELINES: '4' }, true);
  assert.equal([q.tests, q.subscribers, q.against, q.rounds, q.pipelines], [['publish'], [2, 5], { port: 6390 }, 5, [4]]);
  assert.is(parseScriptingOptions(['--scripting-against', 'redis'], {}, true).against, 'redis');
  assert.is(parseScriptingOptions(['--scripting-note', 'built from x'], {}, true).note, 'built from x');
  assert.is(d.note, '');
  assert.is(sideName({ port: 6390 }), 'the server on port 6390');
  assert.is(sideName('tessera'), 'Tessera');
  assert.throws(() => parseScriptingOptions(['--scripting-tests', 'eval'], {}, true), /unknown eval/);
  assert.throws(() => parseScriptingOptions(['--scripting-against', 'memcached'], {}, true), /tessera, redis or a port/);
  assert.throws(() => parseScriptingOptions(['--scripting-subscribers', '1,0'], {}, true), /0 is not a positive integer/);
  assert.throws(() => parseScriptingOptions(['--lists-keys', '10'], {}, true), /unknown option --lists-keys/);
  // Under npm run bench the other benchmarks' flags pass through.
  assert.is(parseScriptingOptions(['--lists-keys', '10'], {}, false).rounds, 3);
});

test('tests and labels: one PUBLISH test per subscriber count, rates named by what they count', () => {
  assert.equal(expandTests(['evalsha', 'multi', 'publish'], [1, 10, 100]), ['evalsha', 'multi', 'publish-1', 'publish-10', 'publish-100']);
  assert.equal(expandTests(['publish'], [7]), ['publish-7']);
  assert.is(subscribersOf('publish-100'), 100);
  assert.is(subscribersOf('multi'), null);
  assert.is(scriptingLabel('publish-1', 16), 'PUBLISH to 1 subscriber -P 16');
  assert.is(scriptingLabel('publish-10', 1), 'PUBLISH to 10 subscribers -P 1');
  assert.is(scriptingLabel('multi', 1), 'MULTI/EXEC (INCR+EXPIRE+GET) -P 1');
  assert.is(publishesFor(200_000, 100), 2000);
  assert.is(publishesFor(10, 3), 4);
  assert.is(publishesFor(1, 100), 1);
});

test('units and frames: a transaction is 5 commands on one key, frames are the exact RESP2 bytes', () => {
  const unit = txUnit(txKey(42));
  const cmds = splitCommands(unit);
  assert.is(cmds.length, TX_REPLIES);
  const decoded = cmds.map((c) => decodeReply(c, 0)?.reply);
  assert.equal(decoded, [['MULTI'], ['INCR', 'tx:000000000042'], ['EXPIRE', 'tx:000000000042', TTL_S], ['GET', 'tx:000000000042'], ['EXEC']]);
  assert.is(Buffer.concat(cmds).length, unit.length);
  assert.is(channelName(1).length, channelName(123_456).length);
  assert.is(messageFrame('ch', Buffer.from('hi')).toString(), '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n');
  assert.is(subscribeReply('ch').toString(), '*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n');
  assert.is(publishReply(100).toString(), ':100\r\n');
  assert.is(MESSAGE.length, 32);
  // EVALSHA runs as redis-benchmark's custom command, and its CSV row maps back to the test.
  const args = benchmarkArgs({ port: 1, tests: ['evalsha'], clients: 50, requests: 10, keyspace: 100, valueBytes: 32, pipeline: 16 });
  assert.equal(args.slice(-5), [...EVALSHA_COMMAND]);
  const csv = `"test","rps","a","b","c","d","e","f"\n"${EVALSHA_COMMAND.join(' ')}","1000.00","0.1","0.0","0.1","0.2","0.3","0.4"`;
  assert.equal(parseCsv(csv).map((r) => r.test), ['EVALSHA (INCR+EXPIRE+GET)']);
  const r = Array.from({ length: 1000 }, (_, i) => pseudoRandom(i));
  assert.ok(r.every((v) => v >= 0 && v < 1));
  assert.ok(new Set(r.map((v) => Math.floor(v * 100_000))).size > 990, 'keys spread over the key space');
});

test('math: nearest-rank percentiles, whole frames, ratios pair by pair before the median', () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.is(percentile(sorted, 50), 50);
  assert.is(percentile(sorted, 99), 99);
  assert.is(percentile(sorted, 100), 100);
  assert.is(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.is(framesIn(119, 40), 2);
  assert.is(framesIn(120, 40), 3);
  const side = (rate: number, cpuUs: number): SideRun => ({ rate, p99Ms: 1, cpuUs, mainUs: cpuUs / 2, shardUs: [], note: '' });
  // A slow moment hits both sides of pair 2. The ratio of the medians (200 / 100) would say 2x; the
  // pairs say 2x, 1x and 1.1x, whose median is 1.1x.
  const s = summarizePairs('multi', 1, 'MULTI -P 1', [
    { round: 1, redis: side(100, 4), b: side(200, 2) },
    { round: 2, redis: side(50, 8), b: side(50, 8) },
    { round: 3, redis: side(200, 4), b: side(220, 1) },
  ]);
  assert.equal([s.redisRate, s.bRate], [100, 200]);
  assert.ok(Math.abs(s.rateRatio - 1.1) < 1e-9, String(s.rateRatio));
  assert.equal([s.redisCpuUs, s.bCpuUs, s.cpuRatio, s.bMainUs], [4, 2, 0.5, 1]);
});

test('FrameStream: accepts the frame stream split at every boundary, stops at the first wrong byte', () => {
  const frame = messageFrame(channelName(3), MESSAGE);
  const stream = Buffer.concat(Array.from({ length: 5 }, () => frame));
  for (let cut = 0; cut <= stream.length; cut++) {
    const f = new FrameStream(frame);
    assert.ok(f.check(stream.subarray(0, cut)) && f.check(stream.subarray(cut)), `cut at ${cut}`);
    assert.is(framesIn(f.bytes, frame.length), 5);
  }
  // A stream far longer than the pattern buffer (64 KiB) is checked in pieces.
  const long = Buffer.concat(Array.from({ length: 3000 }, () => frame));
  const g = new FrameStream(frame);
  assert.ok(g.check(long));
  assert.is(framesIn(g.bytes, frame.length), 3000);
  const bad = Buffer.from(stream);
  bad[frame.length + 20] = 0x21;
  assert.not.ok(new FrameStream(frame).check(bad));
});

test('probes pass on redis-server (the script loads under the sha computed here), fail with the reply without the commands', async () => {
  const redis = await startRedis();
  try {
    for (const t of ['evalsha', 'multi', 'publish-1', 'publish-10']) {
      assert.is(await withTimeout(probeTest(redis.port, t), 15_000, `probe ${t}`), null, t);
    }
    const c = await RespClient.connect(redis.port);
    try {
      assert.is(await c.call('SCRIPT', 'LOAD', SCRIPT_BODY), SCRIPT_SHA);
      assert.is(await c.call('DBSIZE'), 0, 'the probes leave no keys');
    } finally {
      c.close();
    }
  } finally {
    await redis.stop();
  }
  const bare = await startRedis({ args: ['--rename-command', 'EVALSHA', '', '--rename-command', 'MULTI', '', '--rename-command', 'SUBSCRIBE', ''] });
  try {
    assert.match(await withTimeout(probeTest(bare.port, 'evalsha'), 10_000, 'probe') ?? '', /EVALSHA on probe:script:0 replied -ERR unknown command/);
    assert.match(await withTimeout(probeTest(bare.port, 'multi'), 10_000, 'probe') ?? '', /replied -ERR unknown command 'MULTI'/);
    assert.match(await withTimeout(probeTest(bare.port, 'publish-1'), 10_000, 'probe') ?? '', /SUBSCRIBE replied "-ERR unknown command/);
  } finally {
    await bare.stop();
  }
});

test('MULTI/EXEC load against redis-server: every transaction runs, exactly once', async () => {
  const redis = await startRedis();
  const keys = 10;
  try {
    const r = await withTimeout(runUnitLoad({
      port: redis.port, connections: 3, pipeline: 4, units: 1001, repliesPerUnit: TX_REPLIES, poolSize: keys,
      build: (i) => txUnit(txKey(i)),
    }), 30_000, 'runUnitLoad');
    assert.is(r.units, 1001);
    assert.ok(r.unitsPerSec > 0 && r.p50Ms <= r.p99Ms && r.p99Ms <= r.maxMs, JSON.stringify(r));
    const c = await RespClient.connect(redis.port);
    try {
      const values = await c.call('MGET', ...Array.from({ length: keys }, (_, i) => txKey(i)));
      assert.ok(Array.isArray(values));
      assert.is((values as string[]).reduce((a, v) => a + Number(v), 0), 1001, 'the INCRs add up to the transactions');
      const ttl = await c.call('TTL', txKey(0));
      assert.ok(typeof ttl === 'number' && ttl > 100 && ttl <= 3600);
      assert.is(await withTimeout(counterSum(redis.port, 'tx:'), 10_000, 'counterSum'), 1001, 'counterSum reads the same total');
    } finally {
      c.close();
    }
    // An error reply fails the run with its text.
    const failed = await withTimeout(runUnitLoad({
      port: redis.port, connections: 1, pipeline: 1, units: 3, repliesPerUnit: 1, build: () => encodeCommand(['NOSUCHCOMMAND']),
    }).then(() => 'resolved', (e: Error) => e.message), 10_000, 'runUnitLoad');
    assert.match(failed, /ERR unknown command 'NOSUCHCOMMAND'/);
  } finally {
    await redis.stop();
  }
});

test('PUBLISH fan-out against redis-server: every delivery counted; a wrong PUBLISH reply fails the run', async () => {
  const redis = await startRedis();
  try {
    const r = await withTimeout(runPublishLoad({
      port: redis.port, subscribers: 3, pipeline: 4, publishes: 501, channel: channelName(1), message: MESSAGE, windowMessages: 50,
    }), 30_000, 'runPublishLoad');
    assert.equal([r.publishes, r.subscribers, r.delivered], [501, 3, 1503]);
    assert.ok(r.deliveredPerSec > 0 && Math.abs(r.deliveredPerSec - 3 * r.publishesPerSec) < 1e-6 * r.deliveredPerSec, JSON.stringify(r));
    // A subscriber the run does not know of makes PUBLISH reply 2, not 1.
    const stranger = await RespClient.connect(redis.port);
    try {
      assert.equal(await stranger.call('SUBSCRIBE', channelName(2)), ['subscribe', channelName(2), 1]);
      const outcome = await withTimeout(runPublishLoad({
        port: redis.port, subscribers: 1, pipeline: 1, publishes: 5, channel: channelName(2), message: MESSAGE, stallMs: 5000,
      }).then(() => 'resolved', (e: Error) => e.message), 10_000, 'runPublishLoad');
      assert.match(outcome, /PUBLISH replied ":2\\r\\n", expected ":1\\r\\n"/);
    } finally {
      stranger.close();
    }
  } finally {
    await redis.stop();
  }
});

test.run();
