// Standalone (non-cluster) replication through real server processes on loopback: the full sync
// (values, TTLs, ROLE and INFO replication on both sides), the stream of later writes, primaries
// and replicas with different shard counts, the read-only replica, WAIT, a partial resync after
// the primary cuts the replica's link (CLIENT KILL ADDR) and a full one when the cut outlasts the
// backlog, REPLICAOF NO ONE / REPLICAOF host port at run time, min-replicas-to-write, a replica
// killed with -9 and restarted, and large values and data sets. Clients: ioredis, node-redis,
// redis-cli and the harness's raw RESP client. Tessera only; every node has its own temp dir.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createClient } from 'redis';
import { rawClient, redisCli, waitFor, withTimeout } from './harness.js';
import { infoNumber, ioClient, kill9 } from './persistence-helpers.js';
import {
  APPLY_FAILED,
  assertHolds,
  assertSameData,
  cleanupAll,
  emptyModel,
  fill,
  infoMap,
  linkUp,
  replicaLinkAddrs,
  replicasOnline,
  replInfo,
  restartNode,
  startNode,
  startReplica,
  waitAcked,
  type Model,
  type Node,
} from './replication-helpers.js';

const TEST_TIMEOUT_MS = 45_000;
const READONLY = "READONLY You can't write against a read only replica.";
const NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';
const WAIT_ON_REPLICA =
  'ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.';

const r = suite('replication: standalone primary and replicas');

r.after.each(cleanupAll);

function t(name: string, fn: () => Promise<void>): void {
  r(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

/** The error a command gets, as the raw RESP line (without CRLF). */
async function rawError(port: number, args: string[]): Promise<string> {
  const c = await rawClient(port);
  try {
    const reply = await c.call(args);
    return reply.text.replace(/\r\n$/, '');
  } finally {
    c.close();
  }
}

/** Keys spread over many slots, so that MSET / DEL cross every shard. */
const spread = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}{${i}}`);

// ---------------------------------------------------------------------------------------------
// Full sync

t('full sync: every key, value and TTL reaches the replica; ROLE and INFO replication on both sides', async () => {
  const primary = await startNode('full-p', { shards: 2 });
  const model = emptyModel();
  await fill(primary.client, model, 'fs:', 3_000);
  // --replicaof as one argv word holding "<host> <port>".
  const replica = await startNode('full-r', { shards: 2, args: ['--replicaof', `127.0.0.1 ${primary.server.port}`] });
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await assertHolds(replica.client, model, 'replica after the full sync');

  // Some writes after the sync, so that offsets are not 0, then both sides agree on them.
  await fill(primary.client, model, 'after:', 50);
  await waitAcked(primary);
  await waitFor('replica ack offset equal to the primary offset', async () => {
    const [pi, ri] = [await replInfo(primary.client), await replInfo(replica.client)];
    const off = pi.get('master_repl_offset');
    return off === ri.get('master_repl_offset') && (pi.get('slave0') ?? '').includes(`offset=${off},`);
  });
  const [pi, ri] = [await replInfo(primary.client), await replInfo(replica.client)];
  const offset = Number(pi.get('master_repl_offset'));
  assert.ok(offset > 0, `master_repl_offset ${offset} > 0 after writes`);

  // INFO replication, primary side.
  assert.is(pi.get('role'), 'master');
  assert.is(pi.get('connected_slaves'), '1');
  assert.match(pi.get('slave0') ?? '', new RegExp(`^ip=127\\.0\\.0\\.1,port=${replica.server.port},state=online,offset=${offset},lag=[01]$`));
  assert.match(pi.get('master_replid') ?? '', /^[0-9a-f]{40}$/);
  assert.is(pi.get('repl_backlog_active'), '1');
  // INFO replication, replica side.
  assert.is(ri.get('role'), 'slave');
  assert.is(ri.get('master_host'), '127.0.0.1');
  assert.is(ri.get('master_port'), String(primary.server.port));
  assert.is(ri.get('master_link_status'), 'up');
  assert.is(ri.get('master_sync_in_progress'), '0');
  assert.is(ri.get('slave_read_only'), '1');
  assert.is(ri.get('slave_repl_offset'), String(offset));
  assert.is(ri.get('master_replid'), pi.get('master_replid'), 'master_replid equal on both');
  assert.is(ri.get('master_repl_offset'), String(offset));

  // ROLE, as Redis shapes it.
  assert.equal(await primary.client.call('ROLE'), ['master', offset, [['127.0.0.1', String(replica.server.port), String(offset)]]]);
  assert.equal(await replica.client.call('ROLE'), ['slave', '127.0.0.1', primary.server.port, 'connected', offset]);
  const cli = await redisCli(['-p', String(replica.server.port), 'ROLE']);
  assert.is(cli.code, 0);
  assert.equal(cli.stdout.trim().split('\n'), ['slave', '127.0.0.1', String(primary.server.port), 'connected', String(offset)]);

  await assertHolds(replica.client, model, 'replica after the later writes');
});

// ---------------------------------------------------------------------------------------------
// The stream of writes

t('streaming: SET, INCR, INCRBYFLOAT, APPEND, DEL, EXPIRE, FLUSHALL and cross-shard MSET reach the replica exactly', async () => {
  const primary = await startNode('stream-p', { shards: 2 });
  const replica = await startReplica('stream-r', primary, { shards: 2 });
  await linkUp(replica);
  await replicasOnline(primary, 1);
  const p = primary.client;

  // Before a FLUSHALL: all of these must be gone on the replica too.
  const doomed = spread('doomed', 200);
  assert.is(await p.mset(...doomed.flatMap((k) => [k, 'x'])), 'OK');
  await p.set('doomed:ttl', 'v', 'PX', 100_000);
  assert.is(await p.flushall(), 'OK');

  assert.is(await p.set('s1', 'hello'), 'OK');
  for (let i = 0; i < 10; i++) await p.incr('counter');
  for (let i = 0; i < 3; i++) await p.incrbyfloat('float', '1.5');
  await p.incrbyfloat('float', '0.1');
  for (let i = 0; i < 5; i++) await p.append('appended', `ab${i}`);
  await p.set('gone', 'soon');
  assert.is(await p.del('gone'), 1);
  await p.set('ttl', 'v');
  assert.is(await p.expire('ttl', 100), 1);
  await p.set('px', 'v', 'PX', 50_000);
  const msetKeys = spread('m', 100);
  assert.is(await p.mset(...msetKeys.flatMap((k, i) => [k, `mv${i}`])), 'OK');
  assert.is(await p.del(...msetKeys.slice(0, 10)), 10);
  assert.is(await p.set('s1', 'hello-again'), 'OK');

  await waitAcked(primary);
  const c = replica.client;
  // Read right after WAIT: the replica has applied every write.
  assert.is(await c.get('s1'), 'hello-again');
  assert.is(await c.get('counter'), '10');
  assert.is(await c.get('float'), '4.6');
  assert.is(await c.get('appended'), 'ab0ab1ab2ab3ab4');
  assert.is(await c.get('gone'), null);
  assert.is(await c.exists(...doomed, 'doomed:ttl'), 0, 'FLUSHALL replicated');
  const ttl = await c.pttl('ttl');
  assert.ok(ttl > 90_000 && ttl <= 100_000, `EXPIRE replicated: PTTL ${ttl}`);
  const px = await c.pttl('px');
  assert.ok(px > 40_000 && px <= 50_000, `SET PX replicated: PTTL ${px}`);
  assert.is(await c.pttl('s1'), -1, 'SET without a TTL clears none and sets none');
  const got = await c.mget(...msetKeys);
  assert.equal(got, msetKeys.map((_, i) => (i < 10 ? null : `mv${i}`)));
  const n = await assertSameData(p, c, 'replica after the stream');
  assert.is(n, 6 + 90);
});

// ---------------------------------------------------------------------------------------------
// Different shard counts

async function differentShards(primaryShards: number, replicaShards: number): Promise<void> {
  const primary = await startNode(`shards-p${primaryShards}`, { shards: primaryShards });
  const model = emptyModel();
  await fill(primary.client, model, 'before:', 2_000);
  const replica = await startReplica(`shards-r${replicaShards}`, primary, { shards: replicaShards });
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await assertHolds(replica.client, model, `${primaryShards} -> ${replicaShards} shards, after the full sync`);

  const p = primary.client;
  await fill(p, model, 'during:', 1_000);
  const dels = [...model.values.keys()].filter((_, i) => i % 7 === 0);
  assert.is(await p.del(...dels), dels.length);
  for (const k of dels) {
    model.values.delete(k);
    model.expireAt.delete(k);
  }
  await waitAcked(primary);
  await assertHolds(replica.client, model, `${primaryShards} -> ${replicaShards} shards, after the stream`);

  // A FLUSHALL (one flush record per primary shard, each covering that shard's slots only), then
  // rounds of cross-shard writes, each read on the replica right after WAIT acknowledged it.
  assert.is(await p.flushall(), 'OK');
  const after = emptyModel();
  for (let round = 0; round < 15; round++) {
    const keys = spread(`r${round}:`, 60);
    assert.is(await p.mset(...keys.flatMap((k) => [k, `v${round}:${k}`])), 'OK');
    for (const k of keys) after.values.set(k, `v${round}:${k}`);
    await waitAcked(primary);
    const got = await replica.client.mget(...keys);
    const missing = keys.filter((k, i) => got[i] !== `v${round}:${k}`);
    assert.equal(missing, [], `round ${round}: keys not on the ${replicaShards}-shard replica right after WAIT 1 returned 1`);
  }
  await assertHolds(replica.client, after, `${primaryShards} -> ${replicaShards} shards, after FLUSHALL and MSETs`);
}

t('different shard counts: primary with 2 shards, replica with 3', () => differentShards(2, 3));
t('different shard counts: primary with 3 shards, replica with 2', () => differentShards(3, 2));

// ---------------------------------------------------------------------------------------------
// Read-only replica

t('a replica refuses client writes with -READONLY (raw, ioredis, node-redis, redis-cli) and serves reads', async () => {
  const primary = await startNode('ro-p');
  await primary.client.set('k', 'from-primary');
  const replica = await startReplica('ro-r', primary);
  await linkUp(replica);

  assert.is(await rawError(replica.server.port, ['SET', 'k', 'local']), `-${READONLY}`);
  assert.is(await rawError(replica.server.port, ['INCR', 'n']), `-${READONLY}`);
  const ioErr = await replica.client.set('k', 'local').then(
    () => 'no error',
    (e: Error) => e.message,
  );
  assert.is(ioErr, READONLY);

  const nr = createClient({ socket: { port: replica.server.port, host: '127.0.0.1', connectTimeout: 5_000, reconnectStrategy: false } });
  nr.on('error', () => {
    // surfaced by the failing command
  });
  await withTimeout(nr.connect(), 10_000, 'node-redis connect');
  try {
    const nrErr = await nr.set('k', 'local').then(
      () => 'no error',
      (e: Error) => e.message,
    );
    assert.is(nrErr, READONLY);
    assert.is(await nr.get('k'), 'from-primary');
  } finally {
    await nr.disconnect().catch(() => undefined);
  }

  const cli = await redisCli(['-p', String(replica.server.port), 'SET', 'k', 'local']);
  assert.is(cli.stdout.trim(), READONLY);
  const cliGet = await redisCli(['-p', String(replica.server.port), 'GET', 'k']);
  assert.is(cliGet.stdout.trim(), 'from-primary');

  assert.is(await replica.client.get('k'), 'from-primary');
  assert.is(await replica.client.dbsize(), 1);
  assert.is(await replica.client.exists('n'), 0, 'the refused INCR wrote nothing');
});

// ---------------------------------------------------------------------------------------------
// WAIT

t('WAIT: 0 after its timeout without replicas, 1 with one (timeout 0), and the Redis error on a replica', async () => {
  const primary = await startNode('wait-p');
  await primary.client.set('a', '1');
  const t0 = Date.now();
  assert.is(await primary.client.call('WAIT', '1', '100'), 0);
  const took = Date.now() - t0;
  assert.ok(took >= 90 && took < 3_000, `WAIT 1 100 took ${took} ms`);
  assert.is(await primary.client.call('WAIT', '0', '0'), 0, 'WAIT 0 0 returns at once');

  const replica = await startReplica('wait-r', primary);
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await primary.client.set('b', '2');
  assert.is(await withTimeout(primary.client.call('WAIT', '1', '0'), 10_000, 'WAIT 1 0'), 1);
  assert.is(await replica.client.get('b'), '2');
  // Nothing new written: already acknowledged.
  assert.is(await primary.client.call('WAIT', '1', '0'), 1);
  // Asking for more replicas than exist: the count after the timeout.
  assert.is(await primary.client.call('WAIT', '2', '100'), 1);

  assert.is(await rawError(replica.server.port, ['WAIT', '1', '100']), `-${WAIT_ON_REPLICA}`);
  assert.is(await rawError(primary.server.port, ['WAIT', '1', '-1']), '-ERR timeout is negative');
  assert.is(await rawError(primary.server.port, ['WAIT', 'x', '0']), '-ERR value is not an integer or out of range');
});

// ---------------------------------------------------------------------------------------------
// Partial resync

t('partial resync: the primary cuts the replica link (CLIENT KILL ADDR), writes go on, the replica resumes from the backlog', async () => {
  const primary = await startNode('psync-p', { loglevel: 'notice' });
  const model = emptyModel();
  await fill(primary.client, model, 'base:', 1_000);
  const replica = await startReplica('psync-r', primary, { loglevel: 'notice' });
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await fill(primary.client, model, 'streamed:', 200);
  await waitAcked(primary);
  const savesBefore = await infoNumber(primary.client, 'rdb_saves');
  const replidBefore = (await replInfo(primary.client)).get('master_replid');

  const [addr, ...others] = await replicaLinkAddrs(primary);
  assert.ok(addr !== undefined && others.length === 0, `one replica link in CLIENT LIST: ${addr} ${others.join(' ')}`);
  assert.is(await primary.client.call('CLIENT', 'KILL', 'ADDR', addr), 1);
  // Writes while the link is down (the replica retries after a second).
  const cutModel = emptyModel();
  await fill(primary.client, cutModel, 'cut:', 300);
  await primary.client.incrby('counter', 5);
  cutModel.values.set('counter', '5');
  await primary.client.del('base:1', 'base:2');
  for (const [k, v] of cutModel.values) model.values.set(k, v);
  for (const [k, v] of cutModel.expireAt) model.expireAt.set(k, v);
  model.values.delete('base:1');
  model.values.delete('base:2');
  model.expireAt.delete('base:1');
  model.expireAt.delete('base:2');
  await waitFor('the primary noticed the lost link', () => primary.server.output().includes('Connection with replica lost'));
  await waitFor('the replica noticed the lost link', () => replica.server.output().includes('Connection with primary lost'));

  await relinked(primary, replica, addr);
  await assertHolds(replica.client, model, 'replica after the partial resync');
  assert.ok(primary.server.output().includes('Partial resynchronization request accepted'), `primary log:\n${primary.server.output().slice(-2000)}`);
  assert.ok(replica.server.output().includes('Successful partial resynchronization with primary'), `replica log:\n${replica.server.output().slice(-2000)}`);
  assert.is(await infoNumber(primary.client, 'rdb_saves'), savesBefore, 'no new snapshot for the replica');
  assert.equal((primary.server.output().match(/Full resync requested/g) ?? []).length, 1, 'one full sync only (the first)');
  assert.is((await replInfo(replica.client)).get('master_replid'), replidBefore);
});

/** After the primary cut the replica link at addr: a new link is up, online and acknowledged. */
async function relinked(primary: Node, replica: Node, addr: string): Promise<void> {
  await waitFor('a new replica link', async () => {
    const addrs = await replicaLinkAddrs(primary);
    return addrs.length === 1 && addrs[0] !== addr;
  });
  await replicasOnline(primary, 1);
  await linkUp(replica);
  await waitAcked(primary);
}

t('a cut that outlasts the backlog (repl-backlog-size 16kb) ends in a full resync, and the data converge', async () => {
  const primary = await startNode('backlog-p', { loglevel: 'notice', args: ['--repl-backlog-size', '16kb'] });
  const model = emptyModel();
  await fill(primary.client, model, 'base:', 500);
  const replica = await startReplica('backlog-r', primary);
  await linkUp(replica);
  await replicasOnline(primary, 1);
  const savesBefore = await infoNumber(primary.client, 'rdb_saves');
  assert.is((await replInfo(primary.client)).get('repl_backlog_size'), String(16 * 1024));

  const [addr] = await replicaLinkAddrs(primary);
  assert.ok(addr !== undefined, 'a replica link in CLIENT LIST');
  assert.is(await primary.client.call('CLIENT', 'KILL', 'ADDR', addr), 1);
  // Far more than 16 KB per shard while the link is down.
  await fill(primary.client, model, 'cut:', 3_000, { value: (i) => `cut-${i}-${'y'.repeat(100)}` });
  await relinked(primary, replica, addr);
  await assertHolds(replica.client, model, 'replica after the full resync');
  assert.ok(await infoNumber(primary.client, 'rdb_saves') > savesBefore, 'a new snapshot for the replica');
  assert.equal((primary.server.output().match(/Full resync requested/g) ?? []).length, 2, 'the second sync is a full one');
  assert.not.ok(primary.server.output().includes('Partial resynchronization request accepted'));
});

t('writes during the full sync (a writer running while the snapshot is taken and sent) all reach the replica', async () => {
  const primary = await startNode('busy-p', { shards: 2 });
  const model = emptyModel();
  await fill(primary.client, model, 'base:', 1_000);
  const writer = await ioClient(primary.server);
  let stop = false;
  let ops = 0;
  const writing = (async () => {
    // Bounded key set (the snapshot stays small); each round one pipeline of SETs and INCRs.
    for (let round = 0; !stop; round++) {
      const pl = writer.pipeline();
      for (let j = 0; j < 50; j++) {
        pl.set(`w:${(round * 50 + j) % 2_000}`, `r${round}j${j}`);
        pl.incr(`c:${j}`);
      }
      const res = await pl.exec();
      assert.ok(res !== null && res.every(([err]) => err === null), 'writer pipeline acknowledged');
      ops += 100;
    }
  })();
  const replica = await startReplica('busy-r', primary, { shards: 3 });
  await linkUp(replica);
  await replicasOnline(primary, 1);
  const opsAtSync = ops;
  await waitFor('more writes after the sync', () => ops >= opsAtSync + 2_000);
  stop = true;
  await writing;
  await waitAcked(primary);
  const n = await assertSameData(primary.client, replica.client, 'replica after a sync under writes');
  assert.ok(n >= 1_000 + 50, `${n} keys compared`);
  const counters = await primary.client.mget(...Array.from({ length: 50 }, (_, j) => `c:${j}`));
  assert.equal(await replica.client.mget(...Array.from({ length: 50 }, (_, j) => `c:${j}`)), counters);
  assert.ok(Number(counters[0]) > 20, `the writer ran through the sync (${counters[0]} rounds)`);
});

t('masterauth: a replica of a primary with requirepass stays down without it, and syncs once CONFIG SET masterauth gives it', async () => {
  const primary = await startNode('auth-p', { args: ['--requirepass', 's3cret'], password: 's3cret' });
  await primary.client.set('k', 'v');
  const replica = await startReplica('auth-r', primary);
  await waitFor('the replica logged the refused handshake', () => /NOAUTH/.test(replica.server.output()));
  assert.is((await replInfo(replica.client)).get('master_link_status'), 'down');
  assert.is((await replInfo(primary.client)).get('connected_slaves'), '0');
  assert.is(await replica.client.config('SET', 'masterauth', 's3cret'), 'OK');
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await primary.client.set('k2', 'v2');
  await waitAcked(primary);
  assert.equal(await replica.client.mget('k', 'k2'), ['v', 'v2']);
});

t('chained replication: a replica of a replica receives the data and the later writes', async () => {
  const a = await startNode('chain-a', { shards: 2 });
  const model = emptyModel();
  await fill(a.client, model, 'k:', 1_000);
  const b = await startReplica('chain-b', a, { shards: 2 });
  await linkUp(b);
  const c = await startReplica('chain-c', b, { shards: 3 });
  await linkUp(c);
  await replicasOnline(a, 1);
  await replicasOnline(b, 1);
  assert.is((await replInfo(b.client)).get('role'), 'slave');
  await fill(a.client, model, 'later:', 200);
  await a.client.set('last', 'x');
  model.values.set('last', 'x');
  await waitAcked(a);
  await waitFor('the last write reached the end of the chain', async () => (await c.client.get('last')) === 'x');
  await assertHolds(c.client, model, 'replica of a replica');
  assert.is(await rawError(b.server.port, ['WAIT', '1', '0']), `-${WAIT_ON_REPLICA}`);
  assert.is(await rawError(c.server.port, ['SET', 'x', '1']), `-${READONLY}`);
});

// ---------------------------------------------------------------------------------------------
// REPLICAOF at run time

t('REPLICAOF NO ONE promotes the replica (writes accepted, data kept, replid2 = old replid); REPLICAOF host port starts a sync', async () => {
  const primary = await startNode('promote-p');
  const model = emptyModel();
  await fill(primary.client, model, 'k:', 1_000);
  const replica = await startReplica('promote-r', primary);
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await fill(primary.client, model, 'more:', 100);
  await waitAcked(primary);
  const oldReplid = (await replInfo(primary.client)).get('master_replid');

  assert.is(await replica.client.call('REPLICAOF', 'NO', 'ONE'), 'OK');
  const ri = await replInfo(replica.client);
  assert.is(ri.get('role'), 'master');
  assert.is(ri.get('master_replid2'), oldReplid, 'master_replid2 is the old primary replid');
  assert.is.not(ri.get('master_replid'), oldReplid, 'a new replid');
  assert.not.ok(ri.has('master_link_status'));
  assert.equal(((await replica.client.call('ROLE')) as unknown[])[0], 'master');
  await waitFor('the old primary lost its replica', async () => (await replInfo(primary.client)).get('connected_slaves') === '0');

  assert.is(await replica.client.set('promoted', 'yes'), 'OK');
  assert.is(await replica.client.incr('k:1:counter'), 1);
  model.values.set('promoted', 'yes');
  model.values.set('k:1:counter', '1');
  // Writes on the old primary do not reach the promoted node any more.
  await primary.client.set('old-primary-only', 'x');
  await assertHolds(replica.client, model, 'promoted node');
  assert.is(await replica.client.get('old-primary-only'), null);
  assert.is(await replica.client.call('REPLICAOF', 'NO', 'ONE'), 'OK', 'NO ONE on a primary is a no-op');

  // A fresh primary with data of its own becomes a replica at run time: its data give way.
  const fresh = await startNode('fresh');
  await fresh.client.set('local-only', 'x');
  assert.is(await fresh.client.call('REPLICAOF', '127.0.0.1', String(primary.server.port)), 'OK');
  assert.is(await fresh.client.call('REPLICAOF', '127.0.0.1', String(primary.server.port)), 'OK Already connected to specified master');
  await linkUp(fresh);
  await replicasOnline(primary, 1);
  await waitAcked(primary);
  assert.is(await fresh.client.get('local-only'), null);
  assert.is(await fresh.client.get('old-primary-only'), 'x');
  await assertSameData(primary.client, fresh.client, 'a node made a replica with REPLICAOF');
  assert.equal(await fresh.client.call('ROLE'), ['slave', '127.0.0.1', primary.server.port, 'connected', Number((await replInfo(fresh.client)).get('master_repl_offset'))]);
  assert.is(await rawError(fresh.server.port, ['SET', 'x', '1']), `-${READONLY}`);
  // SLAVEOF is the same command.
  assert.is(await fresh.client.call('SLAVEOF', 'NO', 'ONE'), 'OK');
  assert.is(await fresh.client.set('x', '1'), 'OK');
  assert.is(await rawError(fresh.server.port, ['REPLICAOF', '127.0.0.1', 'notaport']), '-ERR Invalid master port');
});

// ---------------------------------------------------------------------------------------------
// min-replicas-to-write

t('min-replicas-to-write 1: -NOREPLICAS without a replica, writes succeed once one is connected, refused again when it dies', async () => {
  const primary = await startNode('minrep-p', { args: ['--min-replicas-to-write', '1'] });
  assert.is(await rawError(primary.server.port, ['SET', 'k', 'v']), `-${NOREPLICAS}`);
  const ioErr = await primary.client.set('k', 'v').then(
    () => 'no error',
    (e: Error) => e.message,
  );
  assert.is(ioErr, NOREPLICAS);
  assert.is(await primary.client.get('k'), null, 'reads work, the write did not happen');
  assert.is((await replInfo(primary.client)).get('min_slaves_good_slaves'), '0');

  const replica = await startReplica('minrep-r', primary);
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await waitFor('a write accepted with a good replica', async () => (await primary.client.set('k', 'v')) === 'OK');
  assert.is((await replInfo(primary.client)).get('min_slaves_good_slaves'), '1');
  await waitAcked(primary);
  assert.is(await replica.client.get('k'), 'v');

  await kill9(replica.server);
  // (A probe key: a probe SET that still gets through before the primary notices is harmless.)
  await waitFor('writes refused again without the replica', async () => (await rawError(primary.server.port, ['SET', 'probe', 'v'])) === `-${NOREPLICAS}`);
  assert.is(await rawError(primary.server.port, ['SET', 'k2', 'v']), `-${NOREPLICAS}`);
  assert.is(await primary.client.get('k2'), null);
  // Turned off at run time: writes go through.
  assert.is(await primary.client.config('SET', 'min-replicas-to-write', '0'), 'OK');
  assert.is(await primary.client.set('k2', 'v'), 'OK');
});

// ---------------------------------------------------------------------------------------------
// Replica restart

t('replica killed with -9 and restarted with the same arguments full-syncs again and converges', async () => {
  const primary = await startNode('restart-p');
  const model = emptyModel();
  await fill(primary.client, model, 'k:', 2_000);
  let replica: Node = await startReplica('restart-r', primary);
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await waitAcked(primary);
  const saves = await infoNumber(primary.client, 'rdb_saves');

  await kill9(replica.server);
  await waitFor('the primary lost its replica', async () => (await replInfo(primary.client)).get('connected_slaves') === '0');
  // Writes while the replica is down, including deletes and overwrites.
  await fill(primary.client, model, 'down:', 1_000);
  await fill(primary.client, model, 'k:', 500, { value: (i) => `overwritten-${i}` });
  assert.is(await primary.client.del('k:1999'), 1);
  model.values.delete('k:1999');
  model.expireAt.delete('k:1999');

  replica = await restartNode(replica);
  await linkUp(replica);
  await replicasOnline(primary, 1);
  await waitAcked(primary);
  await assertHolds(replica.client, model, 'restarted replica');
  assert.ok(await infoNumber(primary.client, 'rdb_saves') > saves, 'a full sync (new snapshot) for the restarted replica');
  await fill(primary.client, model, 'later:', 100);
  await waitAcked(primary);
  await assertHolds(replica.client, model, 'restarted replica, later writes');
});

// ---------------------------------------------------------------------------------------------
// Volume

const big = (i: number): string => `${i}:`.padEnd(2 * 1024 * 1024, String.fromCharCode(97 + (i % 26)));

t('a full sync of a big data set: 50k keys and 2 MB values (snapshots of several MB per shard)', async () => {
  const primary = await startNode('big-p', { shards: 2 });
  const model: Model = emptyModel();
  await fill(primary.client, model, 'many:', 50_000, { value: (i) => `v${i}` });
  for (let i = 0; i < 4; i++) {
    assert.is(await primary.client.set(`big:${i}`, big(i)), 'OK');
    model.values.set(`big:${i}`, big(i));
  }
  const replica = await startReplica('big-r', primary, { shards: 3 });
  await linkUp(replica, 30_000);
  await replicasOnline(primary, 1, 30_000);
  await waitAcked(primary, 1, 20_000);
  assert.not.ok(replica.server.output().includes(APPLY_FAILED), `replica log:\n${replica.server.output().slice(-1500)}`);
  await assertHolds(replica.client, model, 'replica with 50k keys and 2 MB values');
  assert.is(await replica.client.strlen('big:3'), 2 * 1024 * 1024);
  const ks = await infoMap(replica.client, 'keyspace');
  assert.match(ks.get('db0') ?? '', /^keys=50004,/);
});

t('2 MB values and 20k keys through the stream (after a small full sync)', async () => {
  const primary = await startNode('bigstream-p', { shards: 2 });
  const model: Model = emptyModel();
  await fill(primary.client, model, 'small:', 100);
  const replica = await startReplica('bigstream-r', primary, { shards: 2 });
  await linkUp(replica);
  await replicasOnline(primary, 1);
  for (let i = 0; i < 4; i++) {
    assert.is(await primary.client.set(`big:${i}`, big(i)), 'OK');
    model.values.set(`big:${i}`, big(i));
  }
  // Several 2 MB values in one cross-shard MSET (one feed batch per shard).
  const msetKeys = spread('bigm', 4);
  assert.is(await primary.client.mset(...msetKeys.flatMap((k, i) => [k, big(10 + i)])), 'OK');
  msetKeys.forEach((k, i) => model.values.set(k, big(10 + i)));
  await fill(primary.client, model, 'many:', 20_000, { value: (i) => `v${i}` });
  await waitAcked(primary, 1, 20_000);
  assert.not.ok(replica.server.output().includes(APPLY_FAILED), `replica log:\n${replica.server.output().slice(-1500)}`);
  await assertHolds(replica.client, model, 'replica after streaming 2 MB values and 20k keys');
});

r.run();
