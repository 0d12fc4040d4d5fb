// A big hash and a big set (DURABLE_SIZE elements each; 1M in `npm run test:durable`) under
// kill -9 with `appendfsync always` while a client keeps changing them: the restarted server holds
// exactly the model of every acknowledged write, and the log grew by about one small ELEMS record
// per write, not by the collection; the same after a BGREWRITEAOF under writes (and a kill -9
// during one). A BGSAVE under writes holds the collections as at one point between two writes
// (the snapshot writes a large collection element by element). Then a restart with another --shards count (the log of 2 shards
// read by 3, the dump of 3 read by 2), and DEL of the big set: it answers at once, the shard keeps
// serving, and used_memory falls as the set is freed in the background (figures printed).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor, withTimeout } from './harness.js';
import { bgsaveDone, cleanup, ioClient, kill9, restartIn, rewriteDone, startIn, tempDir } from './persistence-helpers.js';
import {
  HASH_KEY, SET_KEY, SIZE, TEST_TIMEOUT_MS, aofBytes, assertHoldsModel, cloneModel, fillCollections, infoField, prefixHeld, startWriter,
} from './durable-helpers.js';

const AOF_ALWAYS = ['--appendonly', 'yes', '--appendfsync', 'always', '--auto-aof-rewrite-percentage', '0'];
/** Acknowledged writes of the load before the kill. */
const WRITES = Number(process.env['DURABLE_WRITES'] ?? 600);
/** Log bytes one single-element write may add: an ELEMS record of one element is under 100. */
const BYTES_PER_WRITE_MAX = 200;

const s = suite(`durable collections (${SIZE} elements): kill -9, another shard count, DEL`);
s.after.each(cleanup);

function t(name: string, fn: () => Promise<void>): void {
  s(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

t('kill -9 under appendfsync always while a client writes: every acknowledged write is there; the log grew by O(changes)', async () => {
  const dir = tempDir('durable-kill');
  const server = await startIn(dir, AOF_ALWAYS, { shards: 2 });
  const c = await ioClient(server);
  const model = await fillCollections(c);
  const filledBytes = aofBytes(dir);
  const rewrites = await infoField(c, 'persistence', 'aof_rewrites');

  const w = startWriter(await ioClient(server), model, 14);
  await waitFor(`${WRITES} writes acknowledged`, () => w.acked() >= WRITES || w.unexpected() !== '', TEST_TIMEOUT_MS / 2);
  assert.is(w.unexpected(), '', 'every reply as the model says before the kill');
  assert.is(await infoField(c, 'persistence', 'aof_rewrites'), rewrites, 'no log rewrite during the load (the size comparison needs one log)');
  await kill9(server);
  await withTimeout(w.finished, 10_000, 'the writer to stop once the server is gone');
  assert.is(w.unexpected(), '', 'only connection errors at the kill');
  const acked = w.acked();
  const grownBytes = aofBytes(dir) - filledBytes;

  // Each write changed one element: the log holds one element per write, not the collection.
  const perWrite = grownBytes / (acked + 1);
  console.log(`  (log ${filledBytes} bytes after the fill; ${acked} acknowledged writes added ${grownBytes} bytes, ${perWrite.toFixed(1)} per write)`);
  assert.ok(perWrite <= BYTES_PER_WRITE_MAX, `the log grew by ${grownBytes} bytes for ${acked} single-element writes (${perWrite.toFixed(0)} per write)`);

  const again = await restartIn(server.port, dir, AOF_ALWAYS, { shards: 2 });
  const c2 = await ioClient(again);
  await assertHoldsModel(c2, model, 'after kill -9 and a restart', w.pending());
  assert.is(await c2.call('OBJECT', 'ENCODING', HASH_KEY), 'hashtable');
  assert.is(await c2.call('OBJECT', 'ENCODING', SET_KEY), 'hashtable');
});

t('BGREWRITEAOF while a client writes, then more writes and kill -9: the new base and its log hold every acknowledged write', async () => {
  const dir = tempDir('durable-rewrite');
  const server = await startIn(dir, AOF_ALWAYS, { shards: 2 });
  const c = await ioClient(server);
  const model = await fillCollections(c);
  const w = startWriter(await ioClient(server), model, 41);
  await waitFor('writes before the rewrite', () => w.acked() >= 100 || w.unexpected() !== '', TEST_TIMEOUT_MS / 4);
  const rewrites = await infoField(c, 'persistence', 'aof_rewrites');
  const atRewrite = w.acked();
  await c.bgrewriteaof();
  await rewriteDone(c, rewrites);
  const duringRewrite = w.acked() - atRewrite;
  const atDone = w.acked();
  await waitFor('writes after the rewrite', () => w.acked() >= atDone + 100 || w.unexpected() !== '', TEST_TIMEOUT_MS / 4);
  assert.is(w.unexpected(), '', 'every reply as the model says');
  await kill9(server);
  await withTimeout(w.finished, 10_000, 'the writer to stop once the server is gone');
  assert.is(w.unexpected(), '', 'only connection errors at the kill');

  const again = await restartIn(server.port, dir, AOF_ALWAYS, { shards: 2 });
  await assertHoldsModel(await ioClient(again), model, 'after a rewrite under writes and kill -9', w.pending());
  console.log(`  (${duringRewrite} writes acknowledged during the rewrite, ${w.acked()} in all)`);
});

t('kill -9 in the middle of a BGREWRITEAOF under writes: the old base and log, or the new ones, hold every acknowledged write', async () => {
  const dir = tempDir('durable-rewrite-kill');
  const server = await startIn(dir, AOF_ALWAYS, { shards: 2 });
  const c = await ioClient(server);
  const model = await fillCollections(c);
  const w = startWriter(await ioClient(server), model, 51);
  await waitFor('writes before the rewrite', () => w.acked() >= 50 || w.unexpected() !== '', TEST_TIMEOUT_MS / 4);
  await c.bgrewriteaof();
  const atRewrite = w.acked();
  await waitFor('a few writes during the rewrite', () => w.acked() >= atRewrite + 5 || w.unexpected() !== '', TEST_TIMEOUT_MS / 4);
  const inProgress = (await infoField(c, 'persistence', 'aof_rewrite_in_progress')) === 1;
  await kill9(server);
  await withTimeout(w.finished, 10_000, 'the writer to stop once the server is gone');
  assert.is(w.unexpected(), '', 'only connection errors at the kill');

  const again = await restartIn(server.port, dir, AOF_ALWAYS, { shards: 2 });
  await assertHoldsModel(await ioClient(again), model, 'after kill -9 during a rewrite', w.pending());
  console.log(`  (the rewrite was ${inProgress ? 'still' : 'no longer'} in progress at the kill; ${w.acked() - atRewrite} writes acknowledged after BGREWRITEAOF)`);
});

t('BGSAVE while a client writes: the dump holds the collections as they were at one point between two writes', async () => {
  const dir = tempDir('durable-bgsave');
  const server = await startIn(dir, ['--appendonly', 'no'], { shards: 2 });
  const c = await ioClient(server);
  const model = await fillCollections(c);
  const w = startWriter(await ioClient(server), model, 61);
  await waitFor('writes before the snapshot', () => w.acked() >= 100 || w.unexpected() !== '', TEST_TIMEOUT_MS / 4);
  const saves = await infoField(c, 'persistence', 'rdb_saves');
  // The model and the count of acknowledged writes, taken in the same turn as BGSAVE is sent: the
  // snapshot's point lies after write `from` was sent and before the one after the reply.
  const base = cloneModel(model);
  const from = w.acked();
  const reply = await c.bgsave();
  const to = w.acked() + 1;
  assert.match(String(reply), /Background saving started/);
  await bgsaveDone(c, saves);
  await w.stop();
  assert.is(w.unexpected(), '', 'every reply as the model says');
  await kill9(server);

  const again = await restartIn(server.port, dir, ['--appendonly', 'no'], { shards: 2 });
  const k = await prefixHeld(await ioClient(again), base, w.log.slice(from, to + 1));
  assert.type(k, 'number', String(k));
  console.log(`  (the dump holds the model after ${k} of the ${to - from} writes acknowledged up to BGSAVE's reply; ${w.acked() - from} during the whole save)`);
});

t('a restart with another --shards count keeps them: the log of 2 shards read by 3, the dump of 3 read by 2', async () => {
  const dir = tempDir('durable-shards');
  const two = await startIn(dir, AOF_ALWAYS, { shards: 2 });
  const c = await ioClient(two);
  const model = await fillCollections(c);
  const w = startWriter(await ioClient(two), model, 7);
  await waitFor('200 writes acknowledged', () => w.acked() >= 200 || w.unexpected() !== '', TEST_TIMEOUT_MS / 2);
  await w.stop();
  assert.is(w.unexpected(), '');
  await kill9(two);

  const three = await restartIn(two.port, dir, AOF_ALWAYS, { shards: 3 });
  const c3 = await ioClient(three);
  await assertHoldsModel(c3, model, 'the log of 2 shards loaded by 3');
  const w3 = startWriter(await ioClient(three), model, 8);
  await waitFor('100 more writes on 3 shards', () => w3.acked() >= 100 || w3.unexpected() !== '', TEST_TIMEOUT_MS / 2);
  await w3.stop();
  assert.is(w3.unexpected(), '');
  assert.is(await c3.save(), 'OK');
  await three.stop();

  const back = await restartIn(two.port, dir, ['--appendonly', 'no'], { shards: 2 });
  await assertHoldsModel(await ioClient(back), model, 'the dump of 3 shards loaded by 2');
});

t('DEL of the big set answers at once; the shard keeps serving while used_memory falls', async () => {
  const dir = tempDir('durable-del');
  const server = await startIn(dir, [], { shards: 2 });
  const c = await ioClient(server);
  await fillCollections(c);
  const setBytes = Number(await c.call('MEMORY', 'USAGE', SET_KEY));
  const usedBefore = await infoField(c, 'memory', 'used_memory');
  assert.ok(setBytes > SIZE * 8, `MEMORY USAGE of the set: ${setBytes}`);

  // Another client asks the same shard (the hash shares the set's slot) and the main thread.
  const other = await ioClient(server);
  let stop = false;
  let pingMaxMs = 0;
  let hgetMaxMs = 0;
  let probes = 0;
  let probeError = '';
  const probing = (async () => {
    while (!stop) {
      try {
        let t0 = performance.now();
        await other.ping();
        pingMaxMs = Math.max(pingMaxMs, performance.now() - t0);
        t0 = performance.now();
        const v = await other.hget(HASH_KEY, 'f:1');
        hgetMaxMs = Math.max(hgetMaxMs, performance.now() - t0);
        if (v !== 'v:1') probeError ||= `HGET replied ${String(v)}`;
        probes++;
      } catch (err) {
        probeError ||= err instanceof Error ? err.message : String(err);
        return;
      }
    }
  })();
  try {
    await waitFor('the probe going', () => probes > 10 || probeError !== '', 10_000);
    const t0 = performance.now();
    assert.is(await c.del(SET_KEY), 1);
    const delMs = performance.now() - t0;
    assert.is(await c.scard(SET_KEY), 0);
    assert.is(await c.exists(SET_KEY), 0);
    const freedAt = performance.now();
    const target = usedBefore - setBytes * 0.9;
    const samples: number[] = [];
    await waitFor(
      `used_memory below ${target} (was ${usedBefore}, the set ${setBytes})`,
      async () => {
        const used = await infoField(c, 'memory', 'used_memory');
        samples.push(used);
        return used <= target || probeError !== '';
      },
      TEST_TIMEOUT_MS / 2,
      200,
    );
    const freeMs = performance.now() - freedAt;
    assert.is(probeError, '');
    assert.is(await c.hlen(HASH_KEY), SIZE, 'the hash is untouched');
    console.log(
      `  (DEL of ${SIZE} members (${setBytes} bytes): ${delMs.toFixed(1)} ms; used_memory ${usedBefore} -> ${samples.at(-1)} in ${(freeMs / 1000).toFixed(1)} s; ` +
        `during it ${probes} probes, slowest PING ${pingMaxMs.toFixed(1)} ms, slowest HGET on the same shard ${hgetMaxMs.toFixed(1)} ms)`,
    );
  } finally {
    stop = true;
    await probing;
  }
});

s.run();
