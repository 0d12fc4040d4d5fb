// Numbered databases survive restarts and reach replicas: a workload over several databases
// (strings, a list and a large hash changed by operations and elements, MOVE, COPY ... DB, SWAPDB,
// FLUSHDB, a TTL) is read back database by database after SIGKILL and a restart from the log
// (appendfsync always), after an AOF rewrite (snapshot + log), from a snapshot alone, and on a
// replica that got part of it by full sync and the rest live.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { withTimeout } from './harness.js';
import { cleanup, infoNumber, ioClient, kill9, restartIn, rewriteDone, startIn, tempDir } from './persistence-helpers.js';
import { cleanupAll, linkUp, startNode, startReplica, waitAcked } from './replication-helpers.js';

const TIMEOUT_MS = 90_000;
const DATABASES = 16;
const test = suite('databases: persistence and replication');
test.after(cleanupAll);
const t = (name: string, fn: () => Promise<void>): void => test(name, () => withTimeout(fn(), TIMEOUT_MS, name));

/** Part one: keys in several databases, moved, copied and swapped. */
async function workloadOne(c: Redis): Promise<void> {
  await c.select(0);
  await c.set('a', 'zero');
  await c.select(3);
  await c.set('a', 'three');
  await c.rpush('l', 'x', 'y', 'z');
  await c.hset('h', 'f', 'v', 'g', 'w');
  await c.sadd('s', '1', '2', '3');
  await c.zadd('z', 1, 'm', 2, 'n');
  await c.set('ttl', 'v', 'PX', 600_000);
  await c.select(4);
  await c.set('b', 'four');
  assert.is(await c.move('b', 5), 1);
  await c.select(3);
  assert.is(await c.call('COPY', 'a', 'a2', 'DB', '6'), 1);
  assert.is(await c.call('SWAPDB', '4', '6'), 'OK');
  await c.select(7);
  await c.set('gone', '1');
  await c.flushdb();
  await c.select(0);
}

/** Part two: a list and a large hash changed in place (LIST and ELEMS records) in db 2. */
async function workloadTwo(c: Redis): Promise<void> {
  await c.select(2);
  await c.rpush('biglist', ...Array.from({ length: 300 }, (_, i) => `e${i}`));
  await c.lpop('biglist', 3);
  const fields: string[] = [];
  for (let i = 0; i < 700; i++) fields.push(`f${i}`, `v${i}`);
  await c.hset('bighash', ...fields);
  await c.hset('bighash', 'f5', 'changed');
  await c.hdel('bighash', 'f6');
  await c.select(9);
  await c.set('late', 'nine');
  await c.select(0);
}

/** Every database's keys, types, values and whether they have a TTL, as sorted text lines. */
async function dumpAll(c: Redis): Promise<string[]> {
  const out: string[] = [];
  for (let db = 0; db < DATABASES; db++) {
    await c.select(db);
    for (const k of (await c.keys('*')).sort()) {
      const type = await c.type(k);
      let v: string;
      if (type === 'string') v = String(await c.get(k));
      else if (type === 'list') v = (await c.lrange(k, 0, -1)).join(',');
      else if (type === 'hash') v = Object.entries(await c.hgetall(k)).map(([f, x]) => `${f}=${x}`).sort().join(',');
      else if (type === 'set') v = (await c.smembers(k)).sort().join(',');
      else v = (await c.zrange(k, 0, -1, 'WITHSCORES')).join(',');
      const ttl = (await c.pttl(k)) > 0 ? 'ttl' : 'none';
      out.push(`db${db} ${k} ${type} ${ttl} ${v.length > 200 ? `${v.length}:${v.slice(0, 60)}` : v}`);
    }
  }
  await c.select(0);
  return out;
}

t('the log (appendfsync always) and an AOF rewrite keep every database across SIGKILL', async () => {
  const dir = tempDir('dbs-aof');
  const args = ['--appendonly', 'yes', '--appendfsync', 'always'];
  const s = await startIn(dir, args, { shards: 2 });
  const c = await ioClient(s);
  await workloadOne(c);
  await workloadTwo(c);
  const before = await dumpAll(c);
  assert.ok(before.some((l) => l.startsWith('db5 b ')), before.join('\n'));
  assert.ok(before.some((l) => l.startsWith('db4 a2 ')) && !before.some((l) => l.startsWith('db7 ')), before.join('\n'));
  c.disconnect();
  await kill9(s);
  const s2 = await restartIn(s.port, dir, args, { shards: 2 });
  const c2 = await ioClient(s2);
  assert.equal(await dumpAll(c2), before, 'after a restart from the log');
  const rewrites = await infoNumber(c2, 'aof_rewrites');
  await c2.call('BGREWRITEAOF');
  await rewriteDone(c2, rewrites);
  await c2.select(11);
  await c2.set('after-rewrite', '1');
  await c2.select(0);
  const before2 = await dumpAll(c2);
  c2.disconnect();
  await kill9(s2);
  const s3 = await restartIn(s.port, dir, args, { shards: 2 });
  const c3 = await ioClient(s3);
  assert.equal(await dumpAll(c3), before2, 'after a restart from the rewrite (snapshot + log)');
  c3.disconnect();
});

t('a snapshot alone (SAVE, no log) keeps every database', async () => {
  const dir = tempDir('dbs-snap');
  const args = ['--appendonly', 'no'];
  const s = await startIn(dir, args, { shards: 3 });
  const c = await ioClient(s);
  await workloadOne(c);
  await workloadTwo(c);
  const before = await dumpAll(c);
  assert.is(await c.call('SAVE'), 'OK');
  c.disconnect();
  await kill9(s);
  const s2 = await restartIn(s.port, dir, args, { shards: 3 });
  const c2 = await ioClient(s2);
  assert.equal(await dumpAll(c2), before);
  c2.disconnect();
});

t('a replica gets every database: by full sync, then live (MOVE, COPY DB, SWAPDB, FLUSHDB)', async () => {
  const primary = await startNode('dbs-p', { shards: 2 });
  await workloadOne(primary.client);
  const replica = await startReplica('dbs-r', primary, { shards: 3 });
  await linkUp(replica);
  await workloadTwo(primary.client);
  await primary.client.select(5);
  await primary.client.call('SWAPDB', '5', '12');
  await primary.client.select(0);
  await waitAcked(primary);
  const want = await dumpAll(primary.client);
  assert.ok(want.some((l) => l.startsWith('db12 b ')), want.join('\n'));
  assert.equal(await dumpAll(replica.client), want);
});

test.after(cleanup);
test.run();
