// A big hash and a big set (DURABLE_SIZE elements each) through a failover: a replica makes its
// full sync while a client keeps changing them on the primary, then follows the stream of element
// records; once WAIT says it has everything, it holds exactly the model of the acknowledged writes.
// The primary is killed with SIGKILL, the replica promoted with REPLICAOF NO ONE, and it serves
// the same hash and set, and takes writes to them. The stream grows by about one element per
// write, not by the collection (master_repl_offset).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor, withTimeout } from './harness.js';
import { ioClient, kill9 } from './persistence-helpers.js';
import { cleanupAll, linkUp, replInfo, replicasOnline, startNode, startReplica, waitAcked } from './replication-helpers.js';
import { SIZE, TEST_TIMEOUT_MS, assertHoldsModel, fillCollections, startWriter } from './durable-helpers.js';

/** Replication stream bytes one single-element write may add (its ELEMS record is under 100). */
const BYTES_PER_WRITE_MAX = 200;

const s = suite(`durable collections (${SIZE} elements): replica, failover`);
s.after.each(cleanupAll);

function t(name: string, fn: () => Promise<void>): void {
  s(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

t('a replica synced under writes holds the acknowledged writes; promoted after kill -9 of the primary, it serves them', async () => {
  const primary = await startNode('durable-p');
  const model = await fillCollections(primary.client);

  // The replica's full sync (snapshot, then the stream) happens while the writer runs.
  const w = startWriter(await ioClient(primary.server), model, 21);
  await waitFor('writes before the replica starts', () => w.acked() >= 100 || w.unexpected() !== '', 20_000);
  const syncStart = performance.now();
  const replica = await startReplica('durable-r', primary);
  await linkUp(replica, TEST_TIMEOUT_MS / 2);
  const syncMs = performance.now() - syncStart;
  await replicasOnline(primary, 1);
  const atLink = w.acked();
  const offsetAtLink = Number((await replInfo(primary.client)).get('master_repl_offset'));
  await waitFor('writes after the link is up', () => w.acked() >= atLink + 300 || w.unexpected() !== '', TEST_TIMEOUT_MS / 3);
  await w.stop();
  // Each write changed one element: the stream carries that element, not the collection.
  const streamed = Number((await replInfo(primary.client)).get('master_repl_offset')) - offsetAtLink;
  const perWrite = streamed / (w.acked() - atLink);
  assert.ok(perWrite <= BYTES_PER_WRITE_MAX, `the replication stream carried ${streamed} bytes for ${w.acked() - atLink} single-element writes`);
  assert.is(w.unexpected(), '', 'every reply as the model says');
  await waitAcked(primary, 1, 10_000);
  await assertHoldsModel(replica.client, model, 'the replica after WAIT');

  await kill9(primary.server);
  assert.is(await replica.client.call('REPLICAOF', 'NO', 'ONE'), 'OK');
  assert.is((await replInfo(replica.client)).get('role'), 'master');
  await assertHoldsModel(replica.client, model, 'the promoted replica');

  const w2 = startWriter(await ioClient(replica.server), model, 22);
  await waitFor('writes on the promoted replica', () => w2.acked() >= 200 || w2.unexpected() !== '', TEST_TIMEOUT_MS / 3);
  await w2.stop();
  assert.is(w2.unexpected(), '', 'the promoted replica answers as the model says');
  await assertHoldsModel(replica.client, model, 'the promoted replica after its own writes');
  console.log(`  (replica started and synced in ${(syncMs / 1000).toFixed(1)} s; ${w.acked()} writes on the primary, ${w.acked() - atLink} after the replica's link was up (${perWrite.toFixed(1)} stream bytes per write); ${w2.acked()} on the promoted replica)`);
});

s.run();
