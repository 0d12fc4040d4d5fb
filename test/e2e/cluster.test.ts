// A three-node Tessera cluster on loopback, made the way users make one (redis-cli --cluster
// create) and used through the clients users have: ioredis Cluster, node-redis createCluster,
// redis-cli -c, raw RESP for exact redirection replies. Then keys moved while clients write
// (redis-cli --cluster reshard and Tessera's CLUSTER MIGRATESLOT), a node killed with SIGKILL
// (FAIL within the node timeout) and restarted from its nodes.conf (rejoins with its id).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { Redis, Cluster } from 'ioredis';
import { createCluster } from 'redis';
import calculateSlot from 'cluster-key-slot';
import memjs from 'memjs';
import {
  commandOnce, freePort, rawClient, redisCli, startClusterNode, startTessera, waitFor,
  type ClusterNode, runTesseraCli,
} from './harness.js';

const NODE_TIMEOUT_MS = 1000;

type Node = ClusterNode;

const dirs: string[] = [];

/** An ioredis Cluster client; connection trouble (a node killed on purpose) reaches the test
 * through the commands' promises, so the client's own 'error' events are not printed. */
function clusterClient(port: number): Cluster {
  const io = new Cluster([{ host: '127.0.0.1', port }]);
  io.on('error', () => undefined);
  return io;
}

function startNode(port?: number, busPort?: number, dir?: string, extra: string[] = []): Promise<Node> {
  return startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, port, busPort, dir, extra, createdDirs: dirs });
}

const runTessera = runTesseraCli;

const cmd = commandOnce;

async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = String(await cmd(port, 'CLUSTER', 'INFO'));
  return Object.fromEntries(text.trim().split('\r\n').map((l) => l.split(':') as [string, string]));
}

async function myId(port: number): Promise<string> {
  return String(await cmd(port, 'CLUSTER', 'MYID'));
}

/** The owner port of a slot according to node `port`'s CLUSTER SLOTS. */
async function ownerPort(port: number, slot: number): Promise<number> {
  const slots = (await cmd(port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
  const r = slots.find(([a, b]) => slot >= a && slot <= b);
  if (!r) throw new Error(`slot ${slot} not covered`);
  return r[2][1];
}

const nodes: Node[] = [];
let httpPort = 0;
let memcachePort = 0;
const c = suite('cluster of three');

c.before(async () => {
  httpPort = await freePort();
  memcachePort = await freePort();
  const doors = ['--http-port', String(httpPort), '--memcache-port', String(memcachePort)];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(undefined, undefined, undefined, i === 0 ? doors : []));
  const r = await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'], { timeoutMs: 30_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\[OK\] All 16384 slots covered/);
  for (const n of nodes) {
    await waitFor(`node ${n.port} cluster_state:ok`, async () => (await clusterInfo(n.port))['cluster_state'] === 'ok', 15_000);
  }
});

c.after(async () => {
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

c('every node knows every node and the same slot map', async () => {
  for (const n of nodes) {
    const info = await clusterInfo(n.port);
    assert.is(info['cluster_known_nodes'], '3');
    assert.is(info['cluster_size'], '3');
    assert.is(info['cluster_slots_assigned'], '16384');
  }
  const maps = await Promise.all(nodes.map((n) => cmd(n.port, 'CLUSTER', 'SLOTS')));
  const norm = (m: unknown): string => JSON.stringify((m as unknown[][]).map((r) => [r[0], r[1], (r[2] as unknown[])[2]]));
  assert.is(norm(maps[1]), norm(maps[0]));
  assert.is(norm(maps[2]), norm(maps[0]));
  const text = String(await cmd(nodes[0]!.port, 'CLUSTER', 'NODES'));
  const mine = text.split('\n').find((l) => l.includes('myself'));
  assert.ok(mine?.startsWith(await myId(nodes[0]!.port)), text);
  assert.match(mine!, new RegExp(`127\\.0\\.0\\.1:${nodes[0]!.port}@${nodes[0]!.busPort} myself,master - 0 0 \\d+ connected \\d+-\\d+`));
});

c('redirections and slot errors have Redis formats', async () => {
  const p0 = nodes[0]!.port;
  const key = Array.from({ length: 1000 }, (_, i) => `k${i}`).find((k) => calculateSlot(k) > 12000)!;
  const slot = calculateSlot(key);
  const owner = await ownerPort(p0, slot);
  const other = nodes.find((n) => n.port !== owner)!;
  const cl = await rawClient(other.port);
  try {
    cl.send(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$1\r\nv\r\n`);
    cl.send('*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n');
    cl.send(`*3\r\n$7\r\nCLUSTER\r\n$7\r\nKEYSLOT\r\n$${key.length}\r\n${key}\r\n`);
    cl.send('*3\r\n$7\r\nCLUSTER\r\n$15\r\nCOUNTKEYSINSLOT\r\n$5\r\n99999\r\n');
    cl.send('*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n');
    const [moved, cross, ks, bad, sel] = await cl.read(5, 5000);
    assert.is(moved!.text, `-MOVED ${slot} 127.0.0.1:${owner}\r\n`);
    assert.is(cross!.text, "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    assert.is(ks!.text, `:${slot}\r\n`);
    assert.is(bad!.text, '-ERR Invalid slot\r\n');
    assert.is(sel!.text, '-ERR SELECT is not allowed in cluster mode\r\n');
  } finally {
    cl.close();
  }
});

c('ioredis Cluster, node-redis createCluster and redis-cli -c read and write', async () => {
  const io = clusterClient(nodes[0]!.port);
  try {
    const keys = Array.from({ length: 2000 }, (_, i) => `io:${i}`);
    await Promise.all(keys.map((k) => io.set(k, `v-${k}`)));
    const got = await Promise.all(keys.map((k) => io.get(k)));
    got.forEach((v, i) => assert.is(v, `v-${keys[i]}`));
    assert.equal(await io.mget('{t}a', '{t}b'), [null, null]);
    await io.mset('{t}a', '1', '{t}b', '2');
    assert.equal(await io.mget('{t}a', '{t}b'), ['1', '2']);
  } finally {
    io.disconnect();
  }
  const nr = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${nodes[1]!.port}` }] });
  await nr.connect();
  try {
    for (let i = 0; i < 200; i++) await nr.set(`nr:${i}`, String(i));
    for (let i = 0; i < 200; i++) assert.is(await nr.get(`nr:${i}`), String(i));
  } finally {
    await nr.disconnect();
  }
  const set = await redisCli(['-c', '-p', String(nodes[2]!.port), 'SET', 'cli-key', 'hello']);
  assert.is(set.stdout.trim(), 'OK', set.stdout + set.stderr);
  const get = await redisCli(['-c', '-p', String(nodes[0]!.port), 'GET', 'cli-key']);
  assert.is(get.stdout.trim(), 'hello');
});

c('DUMP, RESTORE and MIGRATE between nodes', async () => {
  const io = clusterClient(nodes[0]!.port);
  try {
    await io.set('{m}one', 'first', 'PX', 100_000);
    await io.set('{m}two', 'second');
    const slot = calculateSlot('{m}one');
    const src = await ownerPort(nodes[0]!.port, slot);
    const dst = nodes.find((n) => n.port !== src)!.port;
    const direct = new Redis({ port: src });
    const dump = (await direct.callBuffer('DUMP', '{m}one').finally(() => direct.disconnect())) as Buffer;
    assert.ok(Buffer.isBuffer(dump) && dump.length > 10);
    // MIGRATE KEYS to a node that does not own the slot: it lands there only through
    // RESTORE-ASKING, which the target must accept while importing.
    await cmd(dst, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', await myId(src));
    await cmd(src, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', await myId(dst));
    assert.is(await cmd(src, 'MIGRATE', '127.0.0.1', String(dst), '', '0', '5000', 'KEYS', '{m}one', '{m}two'), 'OK');
    assert.is(await cmd(src, 'MIGRATE', '127.0.0.1', String(dst), '{m}none', '0', '5000'), 'NOKEY');
    // On the importing side, after ASKING: a multi-key command runs only when all its keys are
    // there (TRYAGAIN otherwise), as Redis does.
    const imp = await rawClient(dst);
    try {
      imp.send('*1\r\n$6\r\nASKING\r\n*3\r\n$4\r\nMGET\r\n$7\r\n{m}none\r\n$6\r\n{m}one\r\n');
      imp.send('*1\r\n$6\r\nASKING\r\n*3\r\n$4\r\nMGET\r\n$6\r\n{m}two\r\n$6\r\n{m}one\r\n');
      const [, tryAgain, , both] = await imp.read(4, 5000);
      assert.is(tryAgain!.text, '-TRYAGAIN Multiple keys request during rehashing of slot\r\n');
      assert.is(both!.text, '*2\r\n$6\r\nsecond\r\n$5\r\nfirst\r\n');
    } finally {
      imp.close();
    }
    // Both now answered through ASK while the slot is open, by ioredis.
    assert.is(await io.get('{m}one'), 'first');
    const pttl = await io.pttl('{m}one');
    assert.ok(pttl > 90_000 && pttl <= 100_000, String(pttl));
    for (const n of nodes) await cmd(n.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', await myId(dst));
    assert.is(await io.get('{m}two'), 'second');
    const restored = await cmd(dst, 'RESTORE', '{m}copy', '0', dump);
    assert.is(restored, 'OK');
    assert.is(await io.get('{m}copy'), 'first');
    let err = '';
    await cmd(dst, 'RESTORE', '{m}copy', '0', dump).catch((e: Error) => (err = e.message));
    assert.is(err, 'BUSYKEY Target key name already exists.');
  } finally {
    io.disconnect();
  }
});

interface Writer {
  stop(): Promise<void>;
  acked: Map<string, string>;
  errors: string[];
}

/** Writes keys with `set` (50 at a time, over 5000 names) until stopped; records every
 * acknowledged value and every error. */
function writeLoop(
  prefix: string, set: (k: string, v: string) => Promise<unknown>, open: () => Promise<void>, close: () => Promise<void>, inFlight = 50,
): Writer {
  const acked = new Map<string, string>();
  const errors: string[] = [];
  let running = true;
  const loop = (async () => {
    await open();
    for (let i = 0; running; i++) {
      const batch = Array.from({ length: inFlight }, (_, j) => `${prefix}:${(i * inFlight + j) % 5000}`);
      await Promise.all(
        batch.map((k) =>
          set(k, `${i}`).then(
            () => acked.set(k, `${i}`),
            (e: Error) => errors.push(e.message),
          ),
        ),
      );
    }
  })();
  return {
    acked,
    errors,
    stop: async () => {
      running = false;
      await loop;
      await close();
    },
  };
}

/** writeLoop through an ioredis Cluster. */
function writer(port: number, prefix: string): Writer {
  const io = clusterClient(port);
  return writeLoop(prefix, (k, v) => io.set(k, v), async () => undefined, async () => io.disconnect());
}

/** writeLoop through node-redis's cluster client, one command at a time: node-redis 4 follows
 * an ASK by awaiting ASKING's reply before sending the command, so with several commands in
 * flight another one can take the ASKING meant for it (the same would happen against Redis). */
function nodeRedisWriter(port: number, prefix: string): Writer {
  const cl = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${port}` }] });
  return writeLoop(prefix, (k, v) => cl.set(k, v), async () => void (await cl.connect()), () => cl.disconnect(), 1);
}

async function verifyAll(port: number, acked: Map<string, string>): Promise<void> {
  const io = clusterClient(port);
  try {
    const keys = [...acked.keys()];
    const got = await Promise.all(keys.map((k) => io.get(k)));
    const wrong = keys.filter((k, i) => got[i] !== acked.get(k));
    if (wrong.length > 0) {
      // Where each wrong key is, node by node, and the owners each node believes in: the clue.
      const where = await Promise.all(wrong.slice(0, 5).map(async (k) => {
        const per = await Promise.all(nodes.map(async (n) => {
          const direct = new Redis({ port: n.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          try {
            await direct.connect();
            const v = await direct.call('GET', k).catch((e: Error) => e.message);
            return `${n.port}=${String(v)}`;
          } finally {
            direct.disconnect();
          }
        }));
        return `${k} (slot ${calculateSlot(k)}) acked ${acked.get(k)}: ${per.join(' ')}`;
      }));
      assert.unreachable(`lost or stale: ${where.join('; ')}\n${nodes.map((n) => n.handle.output().slice(-3000)).join('\n---\n')}`);
    }
  } finally {
    io.disconnect();
  }
}

c('redis-cli --cluster reshard while a client writes: nothing lost, no client error', async () => {
  const w = writer(nodes[0]!.port, 'rs');
  await waitFor('some writes', () => w.acked.size > 500);
  const from = await myId(nodes[0]!.port);
  const to = await myId(nodes[1]!.port);
  const r = await redisCli(
    ['--cluster', 'reshard', `127.0.0.1:${nodes[0]!.port}`, '--cluster-from', from, '--cluster-to', to, '--cluster-slots', '300', '--cluster-yes'],
    { timeoutMs: 60_000 },
  );
  await w.stop();
  assert.is(r.code, 0, r.stdout.slice(-2000) + r.stderr);
  assert.equal(w.errors, []);
  await verifyAll(nodes[2]!.port, w.acked);
  const check = await redisCli(['--cluster', 'check', `127.0.0.1:${nodes[0]!.port}`]);
  assert.is(check.code, 0, check.stdout);
});

c('tessera cluster rebalance while ioredis and node-redis write: nothing lost, no client error', async () => {
  const w1 = writer(nodes[0]!.port, 'rb-io');
  const w2 = nodeRedisWriter(nodes[1]!.port, 'rb-nr');
  await waitFor('some writes', () => w1.acked.size > 500 && w2.acked.size > 50);
  const r = await runTessera(['cluster', 'rebalance', `127.0.0.1:${nodes[0]!.port}`, '--threshold', '1']);
  await w1.stop();
  await w2.stop();
  assert.is(r.code, 0, r.out.slice(-2000));
  assert.match(r.out, /Moved \d+ slots/);
  assert.equal(w1.errors, []);
  assert.equal(w2.errors, []);
  await verifyAll(nodes[2]!.port, w1.acked);
  await verifyAll(nodes[2]!.port, w2.acked);
});

c('CLUSTER MIGRATESLOT streams a slot in bulk while a client writes', async () => {
  const w = writer(nodes[0]!.port, 'ms');
  await waitFor('some writes', () => w.acked.size > 2000);
  const src = nodes[0]!.port;
  const dst = nodes[2]!.port;
  const srcId = await myId(src);
  const dstId = await myId(dst);
  const slots = ((await cmd(src, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>)
    .filter((r) => r[2][1] === src)
    .flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))
    .slice(0, 3);
  let moved = 0;
  for (const slot of slots) {
    await cmd(dst, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', srcId);
    await cmd(src, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dstId);
    moved += Number(await cmd(src, 'CLUSTER', 'MIGRATESLOT', String(slot), '127.0.0.1', String(dst)));
    assert.is(await cmd(src, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)), 0);
    await cmd(dst, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', dstId);
    await cmd(src, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', dstId);
  }
  await w.stop();
  assert.ok(moved > 0, 'keys moved');
  assert.equal(w.errors, []);
  await verifyAll(nodes[1]!.port, w.acked);
});

c('cluster-forwarding serves a plain client for any slot', async () => {
  const p0 = nodes[0]!.port;
  await cmd(p0, 'CONFIG', 'SET', 'cluster-forwarding', 'yes');
  try {
    const plainClient = new Redis({ port: p0 });
    try {
      for (let i = 0; i < 100; i++) await plainClient.set(`fw:${i}`, String(i));
      for (let i = 0; i < 100; i++) assert.is(await plainClient.get(`fw:${i}`), String(i));
    } finally {
      plainClient.disconnect();
    }
  } finally {
    await cmd(p0, 'CONFIG', 'SET', 'cluster-forwarding', 'no');
  }
});

c('the HTTP key API of one node reads and writes keys of every slot (forwarded to their owners)', async () => {
  const base = `http://127.0.0.1:${httpPort}/v1/keys/`;
  const keys = Array.from({ length: 60 }, (_, i) => `http:${i}`);
  for (const k of keys) {
    const put = await fetch(base + encodeURIComponent(k), { method: 'PUT', body: `v-${k}` });
    assert.is(put.status, 204, k);
  }
  const io = clusterClient(nodes[1]!.port);
  try {
    for (const k of keys) assert.is(await io.get(k), `v-${k}`);
    await io.set('http:from-resp', 'x');
  } finally {
    io.disconnect();
  }
  const owners = new Set(await Promise.all(keys.map((k) => ownerPort(nodes[0]!.port, calculateSlot(k)))));
  assert.is(owners.size, 3, 'the keys span every node');
  const got = await fetch(base + 'http%3Afrom-resp');
  assert.is(got.status, 200);
  assert.is(await got.text(), 'x');
  const del = await fetch(base + 'http%3A0', { method: 'DELETE' });
  assert.is(del.status, 204);
  assert.is((await fetch(base + 'http%3A0')).status, 404);
});

c('redis-cli --cluster add-node, reshard, info, rebalance and del-node work on Tessera nodes', async () => {
  const extra = await startNode();
  try {
    const add = await redisCli(['--cluster', 'add-node', `127.0.0.1:${extra.port}`, `127.0.0.1:${nodes[0]!.port}`], { timeoutMs: 30_000 });
    assert.is(add.code, 0, add.stdout + add.stderr);
    assert.match(add.stdout, /\[OK\] New node added correctly/);
    await waitFor('4 nodes known everywhere', async () => {
      const infos = await Promise.all([...nodes, extra].map((n) => clusterInfo(n.port)));
      return infos.every((i) => i['cluster_known_nodes'] === '4' && i['cluster_state'] === 'ok');
    }, 15_000);
    const id = await myId(extra.port);
    const fill = await redisCli(
      ['--cluster', 'reshard', `127.0.0.1:${nodes[0]!.port}`, '--cluster-from', 'all', '--cluster-to', id, '--cluster-slots', '150', '--cluster-yes'],
      { timeoutMs: 120_000 },
    );
    assert.is(fill.code, 0, fill.stdout.slice(-2000) + fill.stderr);
    const info = await redisCli(['--cluster', 'info', `127.0.0.1:${nodes[0]!.port}`]);
    assert.match(info.stdout, new RegExp(`127\\.0\\.0\\.1:${extra.port} \\(\\w+\\.\\.\\.\\) -> \\d+ keys \\| 150 slots`));
    const drain = await redisCli(['--cluster', 'rebalance', `127.0.0.1:${nodes[0]!.port}`, '--cluster-weight', `${id}=0`], { timeoutMs: 120_000 });
    assert.is(drain.code, 0, drain.stdout.slice(-2000) + drain.stderr);
    const del = await redisCli(['--cluster', 'del-node', `127.0.0.1:${nodes[0]!.port}`, id], { timeoutMs: 30_000 });
    assert.is(del.code, 0, del.stdout + del.stderr);
    const check = await redisCli(['--cluster', 'check', `127.0.0.1:${nodes[0]!.port}`]);
    assert.is(check.code, 0, check.stdout);
    assert.match(check.stdout, /\[OK\] All 16384 slots covered/);
    for (const n of nodes) await waitFor('3 nodes known', async () => (await clusterInfo(n.port))['cluster_known_nodes'] === '3');
  } finally {
    await extra.handle.stop();
  }
});

c('the memcached port of one node serves keys of every slot (forwarded to their owners)', async () => {
  const mc = memjs.Client.create(`127.0.0.1:${memcachePort}`, { retries: 0, timeout: 5, logger: { log: () => undefined } });
  try {
    const keys = Array.from({ length: 60 }, (_, i) => `mc:${i}`);
    for (const k of keys) assert.ok(await mc.set(k, `v-${k}`, { expires: 0 }), k);
    for (const k of keys) assert.is((await mc.get(k)).value?.toString(), `v-${k}`);
    const owners = new Set(await Promise.all(keys.map((k) => ownerPort(nodes[0]!.port, calculateSlot(k)))));
    assert.is(owners.size, 3, 'the keys span every node');
    const io = clusterClient(nodes[2]!.port);
    try {
      for (const k of keys) assert.is(await io.get(k), `v-${k}`);
      await io.set('mc:from-resp', 'r');
    } finally {
      io.disconnect();
    }
    assert.is((await mc.get('mc:from-resp')).value?.toString(), 'r');
    assert.ok(await mc.delete('mc:0'));
    assert.is((await mc.get('mc:0')).value, null);
  } finally {
    mc.close();
  }
});

c('a killed node is marked FAIL within the node timeout; restarted, it rejoins with its id', async () => {
  const victim = nodes[2]!;
  const id = await myId(victim.port);
  process.kill(victim.handle.pid, 'SIGKILL');
  await victim.handle.exited;
  const t0 = Date.now();
  await waitFor('FAIL flag at node 0', async () => {
    const text = String(await cmd(nodes[0]!.port, 'CLUSTER', 'NODES'));
    return text.split('\n').some((l) => l.startsWith(id) && / (master,)?fail /.test(` ${l.split(' ')[2]} `));
  }, 10 * NODE_TIMEOUT_MS);
  const took = Date.now() - t0;
  assert.ok(took < 4 * NODE_TIMEOUT_MS, `FAIL after ${took} ms`);
  assert.is((await clusterInfo(nodes[0]!.port))['cluster_state'], 'fail');
  nodes[2] = await startNode(victim.port, victim.busPort, victim.dir);
  assert.is(await myId(victim.port), id);
  for (const n of nodes) {
    await waitFor(`node ${n.port} ok again`, async () => (await clusterInfo(n.port))['cluster_state'] === 'ok', 15_000);
  }
  const text = String(await cmd(nodes[0]!.port, 'CLUSTER', 'NODES'));
  assert.not.match(text, /fail/);
});

const plain = suite('cluster mode off');
plain('CLUSTER, ASKING and READONLY say cluster support is disabled', async () => {
  const s = await startTessera();
  try {
    const cl = await rawClient(s.port);
    cl.send('*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n*1\r\n$6\r\nASKING\r\n*1\r\n$8\r\nREADONLY\r\n');
    const replies = await cl.read(3, 5000);
    for (const r of replies) assert.is(r.text, '-ERR This instance has cluster support disabled\r\n');
    cl.close();
  } finally {
    await s.stop();
  }
});

plain('MIGRATE between standalone nodes: AUTH, COPY, REPLACE, and the target\'s errors', async () => {
  const src = await startTessera();
  const dst = await startTessera({ args: ['--requirepass', 'secret'] });
  const s = new Redis({ port: src.port });
  const d = new Redis({ port: dst.port, password: 'secret' });
  try {
    await s.set('mk', 'v1');
    let err = '';
    await s.call('MIGRATE', '127.0.0.1', String(dst.port), 'mk', '0', '5000').catch((e: Error) => (err = e.message));
    assert.match(err, /^ERR Target instance replied with error: NOAUTH/);
    assert.is(await s.get('mk'), 'v1', 'kept after a failed MIGRATE');
    assert.is(await s.call('MIGRATE', '127.0.0.1', String(dst.port), 'mk', '0', '5000', 'COPY', 'AUTH', 'secret'), 'OK');
    assert.is(await s.get('mk'), 'v1', 'COPY keeps the source');
    assert.is(await d.get('mk'), 'v1');
    err = '';
    await s.call('MIGRATE', '127.0.0.1', String(dst.port), 'mk', '0', '5000', 'AUTH2', 'default', 'secret').catch((e: Error) => (err = e.message));
    assert.is(err, 'ERR Target instance replied with error: BUSYKEY Target key name already exists.');
    await s.set('mk', 'v2');
    assert.is(await s.call('MIGRATE', '127.0.0.1', String(dst.port), 'mk', '0', '5000', 'REPLACE', 'AUTH', 'secret'), 'OK');
    assert.is(await s.exists('mk'), 0);
    assert.is(await d.get('mk'), 'v2');
  } finally {
    s.disconnect();
    d.disconnect();
    await src.stop();
    await dst.stop();
  }
});

c.run();
plain.run();
