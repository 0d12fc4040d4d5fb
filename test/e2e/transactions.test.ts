// MULTI / EXEC / DISCARD / WATCH / UNWATCH. Differentially against redis-server 7.0 (RESP2 and
// RESP3, byte for byte), with keys on several shards of Tessera (four shards) so that both ways EXEC
// runs are covered: one shard (`__exec`) and the coordinator under the shards' lock. Then WATCH
// races with other clients (a write, expiry, FLUSHALL, a key on a second shard), atomicity across
// shards under concurrent clients (worker shards and `--shard-threads no`), blocked clients woken
// after EXEC, pipelined transactions, real clients (ioredis, node-redis, redis-cli), cluster mode
// (CROSSSLOT / MOVED at queue time) and a replica receiving every write of an EXEC.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { keyOn as keyOnShard } from './shard-keys.js';
import { encodeCommand, plain, rawClient, redisCli, requireTool, startTessera, waitFor, type ServerHandle } from './harness.js';
import { ServerPair, compareInOneNodeClusters, groupsOn, s, timedOn } from './differential-helpers.js';
import { cleanupAll, linkUp, startNode, startReplica, waitAcked } from './replication-helpers.js';

const SHARDS = 4;
const TEST_TIMEOUT_MS = 60_000;

const keyOn = (n: number, prefix: string): string => keyOnShard(n, SHARDS, prefix);

// Keys on four different shards, and two that share a hash tag.
const A = keyOn(0, 'a');
const B = keyOn(1, 'b');
const C = keyOn(2, 'c');
const D = keyOn(3, 'd');
const TA = '{t}a';
const TB = '{t}b';

const pair = new ServerPair({ tessera: { shards: SHARDS }, startTimeoutMs: 20_000 });

const diff = suite('transactions: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);

const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(diff, TEST_TIMEOUT_MS);

group('MULTI, queued replies, EXEC on one shard', [
  s('MULTI'),
  s(`SET ${TA} 1`),
  s(`INCR ${TA}`),
  s(`GET ${TB}`),
  s(`HSET ${TB} f v`),
  s(`HGETALL ${TB}`),
  s('EXEC'),
  s(`GET ${TA}`),
  s('MULTI'),
  s('EXEC'),
]);

group('EXEC across shards, with main-thread commands', [
  s('MULTI'),
  s(`SET ${A} 1`),
  s(`SET ${B} 2`),
  s(`MSET ${C} 3 ${D} 4`),
  s(`MGET ${A} ${B} ${C} ${D}`),
  s('PING'),
  s('ECHO hi'),
  s(`DEL ${A} ${C}`),
  s(`EXISTS ${A} ${B} ${C} ${D}`),
  s(`RENAME ${B} ${C}`),
  s(`GET ${C}`),
  s('DBSIZE'),
  s('EXEC'),
  s(`MGET ${A} ${B} ${C} ${D}`),
]);

group('FLUSHALL, CONFIG GET and TYPE inside a transaction', [
  s(`SET ${A} 1`),
  s(`RPUSH ${B} x`),
  s('MULTI'),
  s(`TYPE ${B}`),
  s('DBSIZE'),
  s('FLUSHALL'),
  s('DBSIZE'),
  s('CONFIG GET maxmemory-policy'),
  s(`SET ${C} after`),
  s('EXEC'),
  s(`MGET ${A} ${C}`),
]);

group('run-time errors come back in place', [
  s(`SET ${TA} v`),
  s('MULTI'),
  s(`SET ${TA} x`),
  s(`LPUSH ${TA} y`),
  s(`INCR ${TA}`),
  s(`GET ${TA}`),
  s('EXEC'),
  s('MULTI'),
  s(`LPUSH ${A} y`),
  s(`INCR ${A}`),
  s(`SET ${B} 1`),
  s('EXEC'),
]);

group('queue-time errors: EXECABORT; nested MULTI and WATCH in MULTI do not abort', [
  s('MULTI'),
  s(`SET ${A}`),
  s(`SET ${A} 1`),
  s('EXEC'),
  s(`GET ${A}`),
  s('MULTI'),
  s('NOSUCHCOMMAND x y'),
  s('EXEC'),
  s('MULTI'),
  s('MULTI'),
  s(`WATCH ${A}`),
  s(`SET ${A} 2`),
  s('EXEC'),
  s('MULTI'),
  s('SAVE'),
  s('EXEC'),
  s('MULTI'),
  s('CLIENT NOSUCH'),
  s('EXEC'),
  s('EXEC'),
  s('DISCARD'),
  s('MULTI'),
  s(`SET ${A} 3`),
  s('DISCARD'),
  s(`GET ${A}`),
  s('MULTI'),
  s('RESET'),
  s('EXEC'),
]);

group('WATCH: own writes, UNWATCH, DISCARD, EXEC unwatch', [
  s(`SET ${A} 1`),
  s(`WATCH ${A} ${B}`),
  s(`SET ${B} 1`),
  s('MULTI'),
  s(`GET ${A}`),
  s('EXEC'),
  s(`WATCH ${A}`),
  s(`SET ${A} 2`),
  s('UNWATCH'),
  s('MULTI'),
  s(`GET ${A}`),
  s('EXEC'),
  s(`WATCH ${A}`),
  s(`SET ${A} 3`),
  s('MULTI'),
  s('DISCARD'),
  s('MULTI'),
  s(`GET ${A}`),
  s('EXEC'),
  s(`WATCH ${TA}`),
  s(`SET ${TA} 1`),
  s('MULTI'),
  s(`GET ${TA}`),
  s('EXEC'),
  s('MULTI'),
  s(`GET ${TA}`),
  s('EXEC'),
  s(`WATCH ${C}`),
  s('MULTI'),
  s(`SET ${C} 1`),
  s('EXEC'),
  s(`WATCH ${C} ${D}`),
  s(`EXPIRE ${D} 100`),
  s(`EXPIRE ${C} 100`),
  s('MULTI'),
  s(`GET ${C}`),
  s('EXEC'),
  s(`WATCH nothere-${A}`),
  s(`DEL nothere-${A}`),
  s('MULTI'),
  s('PING'),
  s('EXEC'),
]);

group('WATCH and FLUSHALL: an existing watched key fails EXEC, a missing one does not', [
  s(`SET ${A} 1`),
  s(`WATCH ${A} ${B}`),
  s('FLUSHALL'),
  s('MULTI'),
  s('PING'),
  s('EXEC'),
  s(`WATCH ${A}`),
  s('FLUSHDB'),
  s('MULTI'),
  s('PING'),
  s('EXEC'),
]);

group('blocking commands inside MULTI do not block', [
  s('MULTI'),
  s(`BLPOP ${TA} 0`),
  s(`BRPOP ${TA} ${TB} 0`),
  s(`RPUSH ${TA} x y z`),
  s(`BLPOP ${TA} ${TB} 0`),
  s(`BRPOP ${TB} ${TA} 0`),
  s(`BLMOVE ${TA} ${TB} LEFT LEFT 0`),
  s(`BLMOVE ${TA} ${TB} LEFT LEFT 0`),
  s(`BRPOPLPUSH ${TB} ${TA} 0`),
  s(`BLMPOP 0 2 ${TA} ${TB} LEFT COUNT 5`),
  s(`BLMPOP 0 1 ${TB} RIGHT`),
  s(`ZADD ${TB} 1 m 2 n 3 o`),
  s(`BZPOPMIN ${TA} ${TB} 0`),
  s(`BZPOPMAX ${TB} 0`),
  s(`BZMPOP 0 1 ${TB} MIN`),
  s(`BZMPOP 0 1 ${TB} MIN`),
  s(`SET ${TA} str`),
  s(`BLPOP ${TA} 0`),
  s('EXEC'),
  s('MULTI'),
  s(`BLPOP ${A} ${B} ${C} 0`),
  s(`RPUSH ${C} c1`),
  s(`BLPOP ${A} ${B} ${C} 0`),
  s('EXEC'),
  // A bad timeout is the command's own error, in place in EXEC's reply (Redis parses it first).
  s('MULTI'),
  s(`BLPOP ${TA} abc`),
  s(`BRPOP ${TA} -1`),
  s(`RPUSH ${TA} q`),
  s(`BLMOVE ${TA} ${TB} LEFT RIGHT x`),
  s(`BRPOPLPUSH ${TA} ${TB} -0.5`),
  s(`BLMPOP nan 1 ${TA} LEFT`),
  s(`BZMPOP -2 1 ${TB} MIN`),
  s(`BZPOPMIN ${TB} 1e999`),
  s(`BLPOP ${TA} 1e300`),
  s(`BLPOP ${TA} 0`),
  s('EXEC'),
  s(`BZPOPMIN ${TB} 1e999`),
  s(`BLPOP ${TA} -1e300`),
]);

timed('CLIENT LIST / CLIENT INFO: flags x and multi=<queued> inside MULTI, as redis-server', async () => {
  const [r, t] = await pair.connect();
  const fields = (line: string): string => (line.match(/ (flags=\S+) .* (multi=\S+) /) ?? []).slice(1).join(' ');
  try {
    for (const c of [r, t]) {
      c.sendCommand('MULTI');
      c.sendCommand('SET', TA, '1');
      c.sendCommand('GET', TA);
      c.sendCommand('CLIENT', 'INFO');
      c.sendCommand('EXEC');
      c.sendCommand('CLIENT', 'INFO');
    }
    const [rr, tr] = [await r.read(6), await t.read(6)];
    const inExec = (x: typeof rr): string => fields(String((plain(x[4]!.value) as string[])[2]));
    assert.is(inExec(tr), inExec(rr));
    assert.is(inExec(tr), 'flags=x multi=3');
    assert.is(fields(String(plain(tr[5]!.value))), fields(String(plain(rr[5]!.value))));
    assert.is(fields(String(plain(tr[5]!.value))), 'flags=N multi=-1');
  } finally {
    r.close();
    t.close();
  }
});

timed('COMMAND INFO of the transaction commands as redis-server', async () => {
  const [r, t] = await pair.connect();
  const names = ['multi', 'exec', 'discard', 'watch', 'unwatch'];
  try {
    const [ri, ti] = await Promise.all([r.call(['COMMAND', 'INFO', ...names]), t.call(['COMMAND', 'INFO', ...names])]);
    // Flag names compared with '-' for '_' (COMMAND INFO prints the table's allow-busy).
    const norm = (v: unknown): string => JSON.stringify((plain(v as never) as unknown[][]).map((c) => c.slice(0, 6))).replace(/-/g, '_');
    assert.is(norm(ti.value), norm(ri.value));
  } finally {
    r.close();
    t.close();
  }
});

// --- WATCH races (Tessera only: they need a second client at the right moment) ----------------

const races = suite('transactions: WATCH against other clients');
let server: ServerHandle | undefined;
const clients: Redis[] = [];
function client(port = server!.port): Redis {
  const c = new Redis({ port, lazyConnect: false, maxRetriesPerRequest: 0 });
  clients.push(c);
  return c;
}
races.before(async () => {
  server = await startTessera({ shards: SHARDS });
});
races.after(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await server?.stop();
});
const raceTimed = timedOn(races, TEST_TIMEOUT_MS);

/** WATCH keys, let `meddle` run on another client, then MULTI / SET / EXEC: the EXEC reply. */
async function watchedExec(keys: string[], meddle: (other: Redis) => Promise<unknown>, setKey = keys[0]!): Promise<unknown> {
  const me = client();
  const other = client();
  await me.watch(...keys);
  await meddle(other);
  const r = await me.multi().set(setKey, 'mine').exec();
  me.disconnect();
  other.disconnect();
  return r;
}

raceTimed('another client writes a watched key: EXEC replies null, nothing runs', async () => {
  const k = keyOn(1, 'race-w');
  assert.is(await watchedExec([k], (o) => o.set(k, 'theirs')), null);
  assert.is(await client().get(k), 'theirs');
  // Not touched: EXEC runs.
  assert.equal(await watchedExec([keyOn(2, 'race-w')], async () => undefined), [[null, 'OK']]);
});

raceTimed('a write to a watched key on a second shard fails an EXEC whose commands are on the first', async () => {
  const k1 = keyOn(0, 'race-s1');
  const k2 = keyOn(3, 'race-s2');
  assert.is(await watchedExec([k1, k2], (o) => o.lpush(k2, 'x'), k1), null);
  assert.is(await client().get(k1), null);
  assert.equal(await watchedExec([k1, k2], (o) => o.set(keyOn(3, 'race-other'), 'x'), k1), [[null, 'OK']]);
});

/** WATCH of `k` while it holds a short TTL, then `meddle` waits for it to expire, then EXEC (of
 * SET `setKey`). The connections are made before the key is written, and a run where the key had
 * already expired when WATCH ran (a loaded machine) is tried again with a longer TTL: the case is
 * about a key that expires after WATCH. */
async function execAfterExpiry(k: string, meddle: (other: Redis, k: string) => Promise<unknown>, setKey: string): Promise<unknown> {
  for (let ttl = 60; ; ttl *= 4) {
    const me = client();
    const other = client();
    try {
      await Promise.all([me.ping(), other.ping()]);
      await other.set(k, 'v', 'PX', ttl);
      await me.watch(k);
      // PTTL by the watching client: a read, it does not touch the watch.
      const live = (await me.pttl(k)) > 0;
      await meddle(other, k);
      const r = await me.multi().set(setKey, 'mine').exec();
      if (live) return r;
      if (ttl > 10_000) throw new Error(`the key expired before WATCH even with a ${ttl} ms TTL`);
    } finally {
      me.disconnect();
      other.disconnect();
    }
  }
}

raceTimed('a watched key that expires fails EXEC; one already expired at WATCH does not', async () => {
  const k = keyOn(2, 'race-exp');
  const r = await execAfterExpiry(k, async (o) => {
    await waitFor('the key expired', async () => (await o.exists(k)) === 0, 5_000);
  }, k);
  assert.is(r, null);
  // Redis: expiry is checked at EXEC even before anything deleted the key.
  const r2 = await execAfterExpiry(k, async (o) => {
    await waitFor('the key expired', async () => (await o.pttl(k)) === -2, 5_000);
  }, keyOn(2, 'race-exp-other'));
  assert.is(r2, null);
});

raceTimed('FLUSHALL by another client fails EXEC when a watched key existed', async () => {
  const k = keyOn(1, 'race-flush');
  await client().set(k, '1');
  assert.is(await watchedExec([k], (o) => o.flushall()), null);
  assert.equal(await watchedExec([k], (o) => o.flushall()), [[null, 'OK']]);
});

raceTimed('another transaction touching a watched key fails EXEC (fast path and coordinator)', async () => {
  const k = keyOn(0, 'race-tx');
  assert.is(await watchedExec([k], (o) => o.multi().incr(k).exec()), null);
  assert.is(await watchedExec([k], (o) => o.multi().incr(k).incr(keyOn(1, 'race-tx2')).ping().exec()), null);
});

raceTimed('a shard that restarts loses its watches: EXEC replies null rather than promise anything', async () => {
  const k = keyOn(1, 'race-crash');
  const r = await watchedExec([k], async (o) => {
    await o.call('DEBUG', 'SHARD-CRASH', '1');
    await waitFor('shard 1 back', async () => (await o.set(keyOn(1, 'race-probe'), 'x').catch(() => null)) === 'OK', 10_000);
  }, keyOn(2, 'race-crash-other'));
  assert.is(r, null);
  assert.is(await client().get(keyOn(2, 'race-crash-other')), null);
});

raceTimed('a disconnected watcher leaves nothing behind: the registry forgets it', async () => {
  const k = keyOn(0, 'race-gone');
  for (let i = 0; i < 20; i++) {
    const c = client();
    await c.watch(k, keyOn(1, 'race-gone'));
    c.disconnect();
  }
  assert.equal(await watchedExec([k], async () => undefined), [[null, 'OK']]);
});

raceTimed('optimistic locking: 20 clients incrementing one counter with WATCH end at the exact count', async () => {
  const k = keyOn(3, 'race-counter');
  const watchersK = keyOn(1, 'race-count-log');
  const c = client();
  await c.set(k, '0');
  const PER = 15;
  const workers = Array.from({ length: 20 }, async () => {
    const me = client();
    let done = 0;
    while (done < PER) {
      await me.watch(k);
      const v = Number(await me.get(k));
      // Two shards: the coordinator path (the counter and its log live apart).
      const r = await me.multi().set(k, String(v + 1)).rpush(watchersK, String(v + 1)).exec();
      if (r !== null) done++;
    }
    me.disconnect();
  });
  await Promise.all(workers);
  assert.is(await c.get(k), String(20 * PER));
  const log = await c.lrange(watchersK, 0, -1);
  assert.equal(log, Array.from({ length: 20 * PER }, (_, i) => String(i + 1)));
});

// --- Atomicity and waking blocked clients, both shard modes -----------------------------------

for (const threads of ['yes', 'no'] as const) {
  const at = suite(`transactions: atomic across shards (shard-threads ${threads})`);
  let srv: ServerHandle | undefined;
  const own: Redis[] = [];
  const mk = (): Redis => {
    const c = new Redis({ port: srv!.port, lazyConnect: false, maxRetriesPerRequest: 0 });
    own.push(c);
    return c;
  };
  at.before(async () => {
    srv = await startTessera({ shards: SHARDS, args: ['--shard-threads', threads] });
  });
  at.after(async () => {
    for (const c of own.splice(0)) c.disconnect();
    await srv?.stop();
  });
  const atTimed = timedOn(at, TEST_TIMEOUT_MS);

  atTimed('concurrent readers never see part of a transaction over four shards', async () => {
    const keys = [A, B, C, D];
    const w = mk();
    await w.mset(A, 0, B, 0, C, 0, D, 0);
    let stop = false;
    const torn: string[][] = [];
    let reads = 0;
    const readers = [mk(), mk(), mk()].map(async (r, i) => {
      while (!stop) {
        // An MGET fans out; a transaction of GETs runs under the lock too.
        const vals = i === 0 ? ((await r.mget(...keys)) as string[]) : ((await r.multi().get(A).get(B).get(C).get(D).exec())!.map((x) => x[1]) as string[]);
        reads++;
        if (new Set(vals).size !== 1) torn.push(vals);
      }
    });
    const writers = [mk(), mk()].map(async (c) => {
      for (let i = 0; i < 150; i++) {
        const r = await c.multi().incr(A).incr(B).incr(C).incr(D).exec();
        assert.ok(r !== null && r.every(([e]) => e === null));
      }
    });
    await Promise.all(writers);
    stop = true;
    await Promise.all(readers);
    assert.ok(reads > 10, `only ${reads} reads`);
    assert.equal(torn.slice(0, 3), [], `${torn.length} torn reads`);
    assert.equal(await w.mget(...keys), ['300', '300', '300', '300']);
  });

  atTimed('a push inside EXEC wakes a blocked client after the whole transaction (one shard and coordinator)', async () => {
    for (const spread of [false, true]) {
      const q = `{q}list-${spread}`;
      const blocked = mk();
      const pusher = mk();
      const waiting = blocked.blpop(q, 10);
      await waitFor('the client blocked', async () => String(await pusher.call('CLIENT', 'LIST')).includes('flags=b'), 5_000);
      let tx = pusher.multi().rpush(q, 'x').rpush(q, 'y').llen(q);
      if (spread) tx = tx.ping().set(keyOn(3, 'spread'), '1');
      const r = await tx.exec();
      // Inside the transaction nobody was served: LLEN saw both elements.
      assert.equal(r!.slice(0, 3), [[null, 1], [null, 2], [null, 2]]);
      assert.equal(await waiting, [q, 'x']);
      assert.equal(await pusher.lrange(q, 0, -1), ['y']);
    }
  });
  at.run();
}

// --- Pipelining and real clients --------------------------------------------------------------

timed('1000 pipelined MULTI ... EXEC transactions, one and several shards', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    c.send(encodeCommand(['DEL', TA, A, B]));
    await c.read(1);
    const parts: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      parts.push(encodeCommand(['MULTI']), encodeCommand(['INCR', TA]), encodeCommand(['RPUSH', TB, String(i)]));
      if (i % 10 === 0) parts.push(encodeCommand(['INCR', A]), encodeCommand(['INCR', B]));
      parts.push(encodeCommand(['EXEC']));
    }
    parts.push(encodeCommand(['MGET', TA, A, B]), encodeCommand(['LLEN', TB]));
    c.send(Buffer.concat(parts));
    const replies = await c.read(parts.length, 30_000);
    const execs = replies.filter((r) => r.value.type === 'array').slice(0, 1000);
    assert.is(execs.length, 1000);
    execs.forEach((r, i) => {
      const v = plain(r.value) as unknown[];
      assert.is(v[0], i + 1, `EXEC ${i}`);
    });
    assert.equal(plain(replies[replies.length - 2]!.value), ['1000', '100', '100']);
    assert.is(plain(replies[replies.length - 1]!.value), 1000);
  } finally {
    c.close();
  }
});

timed('ioredis multi() and pipeline with MULTI, node-redis multi(), redis-cli', async () => {
  const io = new Redis({ port: pair.tessera.port, lazyConnect: false, maxRetriesPerRequest: 0 });
  try {
    await io.del(A, B);
    assert.equal(await io.multi().set(A, '1').incr(A).get(B).exec(), [[null, 'OK'], [null, 2], [null, null]]);
    const failed = await io.multi().set(A, '1').lpush(A, 'x').exec();
    assert.is(failed![0]![1], 'OK');
    assert.match(String(failed![1]![0]), /WRONGTYPE/);
    let aborted = '';
    try {
      await io.multi().set(A, '1').call('NOSUCH').exec();
    } catch (e) {
      aborted = (e as Error).message;
    }
    assert.match(aborted, /EXECABORT/);
  } finally {
    io.disconnect();
  }
  const nr = createClient({ socket: { port: pair.tessera.port, host: '127.0.0.1' } });
  nr.on('error', () => undefined);
  await nr.connect();
  try {
    assert.equal(await nr.multi().set(TA, 'v').get(TA).incr(C).exec(), ['OK', 'v', 1]);
    await nr.watch(TB);
    await nr.set(TB, 'changed');
    let watchErr = '';
    try {
      await nr.multi().get(TB).exec();
    } catch (e) {
      watchErr = (e as Error).constructor.name;
    }
    assert.is(watchErr, 'WatchError');
  } finally {
    await nr.quit();
  }
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const input = 'MULTI\nSET cli-k 5\nINCRBY cli-k 3\nEXEC\n';
  const [rr, tr] = await Promise.all([pair.redis, pair.tessera].map((srv) => redisCli(['-p', String(srv.port)], { input })));
  assert.is(tr!.stdout, rr!.stdout);
  assert.is(tr!.stdout, 'OK\nQUEUED\nQUEUED\nOK\n8\n');
});

// --- Cluster mode --------------------------------------------------------------------------------

timed('cluster mode: CROSSSLOT at queue time and at EXEC, as redis-server', async () => {
  const steps: string[][] = [
    ['MULTI'],
    ['SET', 'a', '1'],
    ['SET', 'b', '1'],
    ['EXEC'],
    ['GET', 'a'],
    ['MULTI'],
    ['MSET', 'a', '1', 'b', '2'],
    ['SET', '{a}x', '1'],
    ['EXEC'],
    ['MULTI'],
    ['SET', '{t}a', '1'],
    ['INCR', '{t}b'],
    ['PING'],
    ['MGET', '{t}a', '{t}b'],
    ['EXEC'],
    ['WATCH', 'a', 'b'],
    ['WATCH', '{t}a'],
    ['SET', '{t}a', '2'],
    ['MULTI'],
    ['GET', '{t}a'],
    ['EXEC'],
  ];
  await compareInOneNodeClusters('tx-cluster', SHARDS, steps);
});

// --- Replication -------------------------------------------------------------------------------

const repl = suite('transactions: replicas');
repl.after(cleanupAll);
timedOn(repl, TEST_TIMEOUT_MS)('a replica receives every write of an EXEC (one shard and across shards)', async () => {
  const primary = await startNode('tx-primary', { shards: SHARDS });
  const replica = await startReplica('tx-replica', primary, { shards: SHARDS });
  await linkUp(replica);
  const p = primary.client;
  assert.equal(await p.multi().set(TA, '1').rpush(TB, 'x', 'y').incr(TA).exec(), [[null, 'OK'], [null, 2], [null, 2]]);
  assert.equal(await p.multi().mset(A, 'a', B, 'b').set(C, 'c').hset(D, 'f', 'v').del(TA).exec(), [[null, 'OK'], [null, 'OK'], [null, 1], [null, 1]]);
  await waitAcked(primary);
  const r = replica.client;
  await waitFor('the replica has the writes', async () => (await r.hget(D, 'f')) === 'v', 10_000);
  assert.equal(await r.mget(A, B, C, TA), ['a', 'b', 'c', null]);
  assert.equal(await r.lrange(TB, 0, -1), ['x', 'y']);
});

diff.run();
races.run();
repl.run();
