// BullMQ, unchanged, on one Tessera node with four shards: the scenarios of bullmq-scenarios.ts
// (concurrency, delayed jobs, backoff, priority, rate limit, repeatable jobs, flows, QueueEvents,
// pause/resume, a killed worker's job picked up as stalled). The prefix is BullMQ's documented
// hash-tagged form, '{bull}' (docs/bullmq.md says why: BullMQ's scripts build job keys from
// their arguments). The server is killed by pid at the end.

import { suite } from 'uvu';
import { startTarget, type ServerHandle } from './harness.js';
import { registerBullScenarios } from './bullmq-scenarios.js';

let srv: ServerHandle | undefined;
const s = suite('BullMQ on a Tessera node with four shards');

s.before(async () => {
  srv = await startTarget({ shards: 4 }); // E2E_SERVER=redis: the same scenarios on redis-server
});
s.after(async () => {
  await srv?.stop();
});

registerBullScenarios(s, () => ({
  prefix: '{bull}',
  connection: () => ({ host: '127.0.0.1', port: srv!.port, maxRetriesPerRequest: null }),
  childArgs: () => ['node', String(srv!.port)],
  closeAll: async () => undefined,
}));

s.run();
