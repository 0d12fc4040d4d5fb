// A short slice of the soak run (test/soak/soak.ts) with small numbers: a `redis-cli --pipe` load,
// one round of pipelines with a shard crash, half-closing, vanishing, slow and never-reading
// clients. `npm run soak` runs the long one. Needs redis-cli: fails without it.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { soak } from '../soak/soak.js';
import { againstRedis, withTimeout } from './harness.js';

const s = suite('soak: a short slice');

s('bulk load, pipelines, half-close, vanish, slow and never-reading clients, a shard crash', async () => {
  const cli = spawnSync('redis-cli', ['--version']);
  assert.ok(cli.status === 0, 'redis-cli is needed (apt-get install redis-tools)');
  const report = await withTimeout(soak({
    server: againstRedis() ? 'redis' : 'tessera',
    shards: 3,
    keys: 200_000,
    clients: 4,
    commandsPerClient: 30_000,
    durationS: 0,
    outputLimitBytes: 8 * 1024 * 1024,
    rssLimitBytes: 1536 * 1024 * 1024,
    log: (line) => console.log(`  ${line}`),
  }), 100_000, 'soak slice');
  assert.is(report.rounds, 1);
  assert.is(report.commands, 120_000);
});

s.run();
