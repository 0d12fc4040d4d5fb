// BullMQ, unchanged, on a three-node Tessera cluster (`tessera cluster create`), through ioredis
// Cluster clients and the '{bull}' prefix BullMQ's docs ask for on a cluster: the scenarios of
// bullmq-scenarios.ts. Every node is stopped by pid and its directory removed at the end.

import { suite } from 'uvu';
import { rmSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';
import { commandOnce, startClusterNode, waitFor, type ClusterNode } from './harness.js';
import { cliExpect } from './cluster-cli-helpers.js';
import { registerBullScenarios } from './bullmq-scenarios.js';

const NODE_TIMEOUT_MS = 2000;
const dirs: string[] = [];
const nodes: ClusterNode[] = [];
const s = suite('BullMQ on a three-node Tessera cluster');

s.before(async () => {
  for (let i = 0; i < 3; i++) nodes.push(await startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, createdDirs: dirs, shards: 1 }));
  await cliExpect(0, ['create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--yes']);
  await waitFor('cluster_state:ok on every node', async () => {
    for (const n of nodes) if (!String(await commandOnce(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
    return true;
  }, 30_000, 100);
});
s.after(async () => {
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const clients: Cluster[] = [];
registerBullScenarios(s, () => ({
  prefix: '{bull}',
  connection: () => {
    const c = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), { redisOptions: { maxRetriesPerRequest: null } });
    c.on('error', () => undefined);
    clients.push(c);
    // BullMQ pins its own ioredis copy: the same class at runtime, another type to tsc.
    return c as unknown as ConnectionOptions;
  },
  childArgs: () => ['cluster', String(nodes[0]!.port)],
  closeAll: async () => {
    for (const c of clients.splice(0)) c.disconnect();
  },
}));

s.run();
