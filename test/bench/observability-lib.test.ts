// The observability benchmark: its arithmetic (costs of medians and of round pairs, the report
// table), the recording micro-benchmark, and a bounded slice of the real thing (one round of a few thousand requests against a
// real Tessera with redis-benchmark), so that `npm run bench:observability` is known to run.
// Needs redis-benchmark and redis-cli (Debian: redis-tools).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { obsRow, obsTable, recordCostNs } from '../../bench/lib/observability-report.js';
import { benchObservability } from '../../bench/observability.js';
import { requireTool, withTimeout } from '../e2e/harness.js';

test('cost of the medians and median of the round pairs; CPU cost', () => {
  const on = [{ rps: 97, cpuNsPerReq: 1030 }, { rps: 95, cpuNsPerReq: 1050 }, { rps: 99, cpuNsPerReq: 1010 }];
  const off = [{ rps: 100, cpuNsPerReq: 1000 }, { rps: 100, cpuNsPerReq: 1000 }, { rps: 100, cpuNsPerReq: 1000 }];
  const r = obsRow('SET', on, off);
  assert.is(r.on, 97);
  assert.is(r.off, 100);
  assert.ok(Math.abs(r.cost - 3) < 1e-9);
  assert.ok(Math.abs(r.pairCost - 3) < 1e-9);
  assert.ok(Math.abs(r.cpuCost - 3) < 1e-9);
  assert.equal(obsTable([r]).at(-1), '| SET | 97 | 100 | 3.0% | 3.0% | 1030 | 1000 | 3.0% |');
  assert.throws(() => obsRow('GET', on, off.slice(1)), /3 runs on, 2 off/);
});

test('recordCostNs: a finite cost per command, tracking on and off', () => {
  const r = recordCostNs(20_000, 3);
  assert.ok(Number.isFinite(r.on) && r.on > 0 && Number.isFinite(r.off) && r.off > 0, JSON.stringify(r));
});

test('a bounded slice: one round against a real server prints both tests', () =>
  withTimeout((async () => {
    requireTool('redis-benchmark', ['--version'], 'redis-tools');
    requireTool('redis-cli', ['--version'], 'redis-tools');
    const lines: string[] = [];
    const report = await benchObservability({ rounds: 1, requests: 5000, clients: 4, pipeline: 16, shards: 1, part: 'all', results: '' }, (l) => lines.push(l));
    assert.is(lines.length, 2);
    assert.match(report, /\| SET \| \d+ \| \d+ \| -?\d+\.\d% \|/);
    assert.match(report, /\| GET \| \d+ \| \d+ \| -?\d+\.\d% \|/);
  })(), 60_000, 'bench slice'));

test.run();
