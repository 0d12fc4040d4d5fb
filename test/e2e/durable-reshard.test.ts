// A big hash and a big set (DURABLE_SIZE elements each, one slot through their hash tag) moved to
// another node with CLUSTER SETSLOT IMPORTING/MIGRATING, CLUSTER MIGRATESLOT and SETSLOT NODE while
// an ioredis Cluster client keeps changing them (it follows MOVED and ASK): no write fails, every
// reply is the model's, and the new owner holds exactly the model of the acknowledged writes.
// Three Tessera nodes made into a cluster by `tessera cluster create`.

import { rmSync } from 'node:fs';
import calculateSlot from 'cluster-key-slot';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { commandOnce, startClusterNode, waitFor, withTimeout, type ClusterNode } from './harness.js';
import { cliExpect, clusterClient } from './cluster-cli-helpers.js';
import { HASH_KEY, SET_KEY, SIZE, TEST_TIMEOUT_MS, assertHoldsModel, fillCollections, startWriter } from './durable-helpers.js';

const NODE_TIMEOUT_MS = 2_000;
const cmd = commandOnce;

const dirs: string[] = [];
const nodes: ClusterNode[] = [];
const plain: Redis[] = [];

const s = suite(`durable collections (${SIZE} elements): reshard of their slot under writes`);

s.after(async () => {
  for (const c of plain) c.disconnect();
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The owner port of `slot` as node `port` sees it. */
async function ownerPort(port: number, slot: number): Promise<number> {
  const slots = (await cmd(port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
  const r = slots.find(([a, b]) => slot >= a && slot <= b);
  if (r === undefined) throw new Error(`slot ${slot} not covered`);
  return r[2][1];
}

s('MIGRATESLOT of the slot of a big hash and set under an ioredis Cluster writer: the new owner holds every acknowledged write', () =>
  withTimeout(
    (async () => {
      for (let i = 0; i < 3; i++) nodes.push(await startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, createdDirs: dirs }));
      await cliExpect(0, ['create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--yes']);
      for (const n of nodes) {
        await waitFor(`node ${n.port} cluster_state:ok`, async () => /cluster_state:ok/.test(String(await cmd(n.port, 'CLUSTER', 'INFO'))), 15_000);
      }
      const slot = calculateSlot(HASH_KEY);
      assert.is(calculateSlot(SET_KEY), slot);
      const src = await ownerPort(nodes[0]!.port, slot);
      const dst = nodes.find((n) => n.port !== src)!.port;
      const [srcId, dstId] = [String(await cmd(src, 'CLUSTER', 'MYID')), String(await cmd(dst, 'CLUSTER', 'MYID'))];

      const io = await clusterClient(nodes[0]!.port);
      const model = await fillCollections(io);
      const w = startWriter(io, model, 31);
      await waitFor('writes before the move', () => w.acked() >= 200 || w.unexpected() !== '', 20_000);

      await cmd(dst, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', srcId);
      await cmd(src, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', dstId);
      const ackedAtStart = w.acked();
      const t0 = performance.now();
      const moved = Number(await cmd(src, 'CLUSTER', 'MIGRATESLOT', slot, '127.0.0.1', dst));
      const moveMs = performance.now() - t0;
      const ackedDuring = w.acked() - ackedAtStart;
      assert.is(moved, 2, 'MIGRATESLOT moved the two keys');
      assert.is(await cmd(src, 'CLUSTER', 'COUNTKEYSINSLOT', slot), 0);
      await cmd(dst, 'CLUSTER', 'SETSLOT', slot, 'NODE', dstId);
      await cmd(src, 'CLUSTER', 'SETSLOT', slot, 'NODE', dstId);
      for (const n of nodes) await cmd(n.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', dstId).catch(() => undefined);

      const atMove = w.acked();
      await waitFor('writes after the move', () => w.acked() >= atMove + 200 || w.unexpected() !== '', TEST_TIMEOUT_MS / 3);
      await w.stop();
      assert.is(w.unexpected(), '', 'every write acknowledged with the model\'s reply, redirections followed');
      assert.is(await ownerPort(nodes[0]!.port, slot), dst);

      // Read straight from the new owner (no redirection could hide a key left behind).
      const direct = new Redis({ port: dst, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      direct.on('error', () => undefined);
      plain.push(direct);
      await direct.connect();
      await assertHoldsModel(direct, model, 'the new owner');
      assert.is(await cmd(src, 'CLUSTER', 'COUNTKEYSINSLOT', slot), 0, 'nothing left on the old owner');
      io.disconnect();
      console.log(`  (MIGRATESLOT of ${SIZE}-element hash and set: ${moveMs.toFixed(0)} ms, ${ackedDuring} writes acknowledged during it; ${w.acked()} in all)`);
    })(),
    TEST_TIMEOUT_MS,
    'reshard under writes',
  ),
);

s.run();
