// The bounded network slice of the fuzzer that `npm test` runs: a few seconds of seeded inputs on
// every front door of a real server (RESP, memcached text/meta/binary, HTTP) beside well-behaved
// clients, the maxclients phase (refused connections reset by their clients), then the checks of
// network.ts (alive, good replies, connections and memory released, no shard restart, arena
// integrity). The inputs that once crashed the server (issue 13) are sent like any other.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from '../e2e/harness.js';
import { NET_PROTOCOLS, runNetworkFuzz } from './network.js';

const SEED = 20_261_206;
const DURATION_MS = 6_000;

test(`network fuzz: ${DURATION_MS / 1000} s of seed ${SEED} on every front door`, async () => {
  const r = await withTimeout(runNetworkFuzz({ seed: SEED, durationMs: DURATION_MS }), 90_000, 'network fuzz');
  assert.is(r.problems.length, 0, r.problems.join('\n'));
  for (const p of NET_PROTOCOLS) assert.ok(r.inputs[p] > 0, `no ${p} input was sent`);
  assert.ok(r.goodOps > 0, 'the good clients did nothing');
  assert.ok(r.refusalsSeen > 0, 'no connection was refused at maxclients');
  process.stdout.write(`  ${NET_PROTOCOLS.map((p) => `${p} ${r.inputs[p]}`).join(', ')} inputs; ${r.goodOps} good round trips; ${r.resets} resets at maxclients\n`);
});

test.run();
