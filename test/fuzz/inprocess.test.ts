// The bounded slice of the in-process fuzzer that `npm test` runs: fixed seeds and a fixed number
// of inputs per protocol (a few seconds each), so that a failure here replays exactly with
// `npm run fuzz -- --protocol P --seed S --replay I`. The long run is `npm run fuzz`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runTarget } from './target.js';
import { TARGETS } from './targets.js';

const SEED = 20_261_206;
/** Inputs per protocol; the duration is only a safety cap on a loaded machine. */
const SLICE: Record<string, number> = { resp: 20_000, bus: 4_000, replication: 6_000, persistence: 6_000, memcache: 10_000, http: 50_000 };
const CAP_MS = 20_000;

for (const [name, make] of Object.entries(TARGETS)) {
  test(`fuzz ${name}: ${SLICE[name] ?? 2_000} inputs of seed ${SEED}`, () => {
    const r = runTarget(make(), { seed: SEED, count: SLICE[name] ?? 2_000, durationMs: CAP_MS, maxFailures: 3 });
    const lines = r.failures.map((f) => `--protocol ${f.target} --seed ${f.runSeed} --replay ${f.index}: ${f.message}\n  input ${f.inputHex.slice(0, 200)}`);
    assert.is(r.failures.length, 0, lines.join('\n'));
    assert.ok(r.inputs > 0);
    process.stdout.write(`  ${name}: ${r.inputs} inputs, ${Math.round(r.perSecond)}/s\n`);
  });
}

test.run();
