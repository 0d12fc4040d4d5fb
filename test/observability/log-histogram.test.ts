// The log-linear histogram behind INFO latencystats and LATENCY HISTOGRAM: every value lands in a
// bucket whose midpoint is within 1% of it, percentiles agree with exact ones on seeded random
// data within that error, LATENCY HISTOGRAM's bucket names are Redis 7.0's (checked on
// redis-server: 16, 4227, 67633 us for 16 us, 4.2 ms and 67 ms), and the stat table resolves
// subcommands case-insensitively without allocating.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HIST_BUCKETS, HIST_MAX_NS, bucketLow, bucketOf, bucketWidth, histTotal, powerOfTwoCdf, valueAtPercentile } from '../../src/observability/log-histogram.js';
import { CommandStats, ErrorCounts, StatTable, mergeCommandStats } from '../../src/observability/command-stats.js';
import type { ArgList } from '../../src/core/types.js';
import { rng } from '../keyspace/helpers.js';

test('buckets tile 0..1 s without gaps, and a midpoint is within 1% of every value in its bucket', () => {
  for (let b = 1; b < HIST_BUCKETS; b++) assert.is(bucketLow(b), bucketLow(b - 1) + bucketWidth(b - 1), `bucket ${b} follows ${b - 1}`);
  assert.ok(bucketLow(HIST_BUCKETS - 1) + bucketWidth(HIST_BUCKETS - 1) > HIST_MAX_NS);
  const r = rng(19);
  for (let i = 0; i < 200_000; i++) {
    const ns = Math.floor(2 ** (r() * 30)) + 1;
    const b = bucketOf(ns);
    const v = Math.min(ns, HIST_MAX_NS);
    assert.ok(b >= 0 && b < HIST_BUCKETS);
    assert.ok(bucketLow(b) <= v && v < bucketLow(b) + bucketWidth(b), `${ns} in bucket ${b}`);
    const mid = bucketLow(b) + (bucketWidth(b) - 1) / 2;
    assert.ok(Math.abs(mid - v) / v <= 0.01, `${ns}: midpoint ${mid}`);
  }
});

test('percentiles agree with exact ones within 1% (log-normal latencies, seeded)', () => {
  const r = rng(7);
  const h = new Float64Array(HIST_BUCKETS);
  const values: number[] = [];
  for (let i = 0; i < 50_000; i++) {
    // Box-Muller: log-normal around 20 us.
    const z = Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
    const ns = Math.floor(20_000 * Math.exp(z * 0.8));
    values.push(ns);
    h[bucketOf(ns)]!++;
  }
  values.sort((a, b) => a - b);
  assert.is(histTotal(h), values.length);
  for (const p of [0, 50, 90, 99, 99.9, 100]) {
    const rank = Math.max(1, Math.floor((p / 100) * values.length + 0.5));
    const exact = values[rank - 1]!;
    const got = valueAtPercentile(h, p);
    assert.ok(Math.abs(got - exact) / exact <= 0.01, `p${p}: ${got} vs ${exact}`);
  }
});

test("LATENCY HISTOGRAM buckets: powers of two from 1 us named as Redis names them, cumulative", () => {
  const h = new Float64Array(HIST_BUCKETS);
  h[bucketOf(500)]! += 2; // under 1024 ns: in the first bucket
  h[bucketOf(16_100)]!++;
  h[bucketOf(4_200_000)]!++;
  h[bucketOf(67_000_000)]!++;
  assert.equal(powerOfTwoCdf(h), [[1, 2], [16, 3], [4227, 4], [67633, 5]]);
  // The names of successive levels, as redis-server prints them.
  const names: number[] = [];
  const one = new Float64Array(HIST_BUCKETS);
  for (let level = 1024; level <= 2 ** 29; level *= 2) {
    one.fill(0);
    one[bucketOf(level)] = 1;
    names.push(powerOfTwoCdf(one)[0]![0]);
  }
  assert.equal(names.slice(0, 12), [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113]);
  assert.equal(powerOfTwoCdf(new Float64Array(HIST_BUCKETS)), []);
});

const args = (...words: string[]): ArgList => {
  const buf = Buffer.from(words.join(''));
  const off = new Int32Array(words.length);
  const len = new Int32Array(words.length);
  let p = 0;
  words.forEach((w, i) => {
    off[i] = p;
    len[i] = w.length;
    p += w.length;
  });
  return { buf, off, len, argc: words.length };
};

test('stat table: a command, its subcommands apart (any case), internal commands hidden', () => {
  const t = new StatTable([{ name: 'get' }, { name: 'config', subcommands: [{ name: 'get' }, { name: 'set' }, { name: 'reset-stat' }] }, { name: '__mc', hidden: true }]);
  assert.equal(t.names, ['get', 'config', 'config|get', 'config|set', 'config|reset-stat', '__mc']);
  assert.is(t.statOf(0, args('GET', 'k')), 0);
  assert.is(t.statOf(1, args('CONFIG', 'get', 'x')), 2);
  assert.is(t.statOf(1, args('config', 'SeT')), 3);
  assert.is(t.statOf(1, args('config', 'RESET-STAT')), 4);
  assert.is(t.statOf(1, args('config', 'nosuch')), 1);
  assert.is(t.statOf(1, args('config')), 1);
  assert.is(t.hidden[5], 1);
});

test('error prefixes: first word within 32 bytes else ERR; merged over threads; RESETSTAT empties', () => {
  const e = new ErrorCounts();
  const reply = (s: string): void => {
    const b = Buffer.from(s);
    e.countReply(b, 0, b.length);
  };
  reply('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
  reply('-ERR no\r\n');
  reply('-NOSPACEINTHEFIRSTTHIRTYTWOBYTESATALL at all\r\n');
  e.countText('MOVED 3999 127.0.0.1:6381');
  e.countText('WRONGTYPE x');
  assert.equal(e.entries(), [['WRONGTYPE', 2], ['ERR', 2], ['MOVED', 1]]);
  assert.is(e.total, 5);

  const t = new StatTable([{ name: 'get' }, { name: 'set' }]);
  const main = new CommandStats(t);
  const shard = new CommandStats(t);
  main.calls[0] = 3;
  main.calls[1] = 2;
  shard.time(0, 0.002);
  shard.time(0, 0.004);
  const oom = Buffer.from('-OOM command not allowed\r\n');
  shard.reply(1, oom, 0, oom.length, true);
  const m = mergeCommandStats(t, [main.snapshot()], [shard.snapshot()]);
  assert.is(m.calls[0], 3);
  assert.is(m.calls[1], 1, 'a shard rejection is not a call');
  assert.is(m.rejected[1], 1);
  assert.ok(Math.abs(m.usec[0]! - 6) < 1e-9);
  assert.is(histTotal(m.hist.get(0)!), 2);
  assert.equal([...m.errors], [['OOM', 1]]);
  shard.reset();
  const after = mergeCommandStats(t, [], [shard.snapshot()]);
  assert.is(histTotal(after.hist.get(0)!), 0);
  assert.is(after.errorTotal, 0);
});

test.run();
