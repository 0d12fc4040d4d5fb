// BullMQ, unchanged, on one Tessera node: the scenarios of bullmq-scenarios.ts (concurrency,
// delayed jobs, backoff, priority, rate limit, repeatable jobs, flows, QueueEvents, pause/resume,
// a killed worker's job picked up as stalled), with four shards and BullMQ's default prefix 'bull'
// (its scripts build job keys from their arguments, undeclared and on any shard: the default
// script-undeclared-keys allow runs such scripts with every shard locked, docs/scripting.md), with
// four shards and the hash-tagged prefix '{bull}' under script-undeclared-keys slot (each script
// in its keys' shard, the fast setting), and with one shard. E2E_SERVER=redis runs the
// same scenarios on redis-server. Servers are stopped by pid.

import { suite } from 'uvu';
import { againstRedis, startTarget, type ServerHandle } from './harness.js';
import { registerBullScenarios } from './bullmq-scenarios.js';

function onNode(title: string, shards: number, prefix: string, tesseraArgs: string[] = []): void {
  let srv: ServerHandle | undefined;
  const s = suite(title);
  s.before(async () => {
    srv = await startTarget({ shards, args: againstRedis() ? [] : tesseraArgs });
  });
  s.after(async () => {
    await srv?.stop();
  });
  registerBullScenarios(s, () => ({
    prefix,
    connection: () => ({ host: '127.0.0.1', port: srv!.port, maxRetriesPerRequest: null }),
    childArgs: () => ['node', String(srv!.port)],
    closeAll: async () => undefined,
  }));
  s.run();
}

onNode("BullMQ on a node with four shards, BullMQ's default prefix", 4, 'bull');
onNode("BullMQ on a node with four shards, prefix '{bull}', script-undeclared-keys slot", 4, '{bull}', ['--script-undeclared-keys', 'slot']);
onNode("BullMQ on a node with one shard, BullMQ's default prefix", 1, 'bull');
