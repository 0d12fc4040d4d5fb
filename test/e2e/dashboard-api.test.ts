// The dashboard's JSON API (docs/http-api.md) against a real 3-node Tessera cluster with
// requirepass (and a 4th node as a replica for the failover): every route's JSON shape, 401
// without or with wrong credentials, 403 with the NOPERM text for an ACL user denied the command,
// SCAN paging across pages, a key preview of each type, the event log after a migration, a
// save, a shard restart and a failover, the rebalance plan equal to `tessera cluster rebalance --dry-run`'s, and a
// rebalance started by POST that runs to the end (slots even, every key still readable).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';
import { addr, cliExpect } from './cluster-cli-helpers.js';

const PASSWORD = 'dash-secret';
const TEST_TIMEOUT_MS = 90_000;
const KEY_COUNT = 300;
const t = suite('dashboard JSON API');

const tmpRoot = mkdtempSync(join(tmpdir(), 'tessera-dashapi-'));
const nodes: ServerHandle[] = [];
let a!: ServerHandle;
let b!: ServerHandle;
let c!: ServerHandle;
const written = new Map<string, string>();

async function startNode(i: number): Promise<ServerHandle> {
  const dir = join(tmpRoot, `node-${i}`);
  mkdirSync(dir, { recursive: true });
  const h = await startTessera({
    shards: 1,
    http: true,
    args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--dir', dir, '--requirepass', PASSWORD, '--masterauth', PASSWORD, '--save', ''],
  });
  nodes.push(h);
  return h;
}

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
const BASIC = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const ADMIN = BASIC('default', PASSWORD);

async function http(h: ServerHandle, path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const r = await fetch(`http://127.0.0.1:${h.httpPort}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  assert.match(r.headers.get('content-type') ?? '', /application\/json/, `${path}: JSON`);
  return { status: r.status, body: JSON.parse(text) as unknown, headers: r.headers };
}

/** GET that must answer 200; its JSON. */
async function get<T>(h: ServerHandle, path: string, auth?: string): Promise<T> {
  const r = await http(h, path, auth === undefined ? {} : { headers: { authorization: auth } });
  assert.is(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
  return r.body as T;
}

function client(h: ServerHandle): Redis {
  return new Redis({ port: h.port, host: '127.0.0.1', password: PASSWORD, maxRetriesPerRequest: 1, lazyConnect: false });
}

async function cmd(h: ServerHandle, ...args: Array<string | number>): Promise<unknown> {
  const r = client(h);
  try {
    return await r.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    r.disconnect();
  }
}

async function clusterClient(h: ServerHandle): Promise<Cluster> {
  const cl = new Cluster([{ host: '127.0.0.1', port: h.port }], { redisOptions: { password: PASSWORD, maxRetriesPerRequest: 3 }, slotsRefreshTimeout: 2000 });
  cl.on('error', () => undefined);
  await waitFor('the cluster client to be ready', () => cl.status === 'ready', 15_000);
  return cl;
}

interface ClusterJson {
  enabled: boolean;
  state: string;
  myId: string;
  currentEpoch: number;
  slotsAssigned: number;
  nodes: Array<{
    id: string; ip: string; port: number; tlsPort: number | null; httpPort: number | null; role: string; primaryId: string | null;
    flags: string[]; linkState: string; configEpoch: number; slots: Array<[number, number]>; migrating: unknown[]; importing: unknown[];
    stats: { keys: number; usedMemory: number; opsPerSec: number; p99Us: number | null } | null;
  }>;
}
interface EventJson { id: number; time: number; kind: string; detail: string }
interface PlanJson { needed: boolean; totalSlots: number; moves: Array<{ from: string; to: string; slots: Array<[number, number]>; count: number }> }
interface RebalanceJson { state: string; plan: PlanJson | null; moved: number; total: number; keysMoved: number; startedAt: number | null; finishedAt: number | null; error: string | null }

const slotCount = (ranges: Array<[number, number]>): number => ranges.reduce((n, [x, y]) => n + y - x + 1, 0);
const owns = (ranges: Array<[number, number]>, slot: number): boolean => ranges.some(([x, y]) => slot >= x && slot <= y);

t.before(async () => {
  [a, b, c] = await Promise.all([startNode(0), startNode(1), startNode(2)]);
  await cliExpect(0, ['create', addr(a), addr(b), addr(c), '--yes', '-a', PASSWORD]);
  const cl = await clusterClient(a);
  try {
    for (let i = 0; i < KEY_COUNT; i++) {
      written.set(`key:${i}`, `value-${i}`);
      await cl.set(`key:${i}`, `value-${i}`);
    }
    // One key of each type, on one node (hash tag).
    await cl.set('{dash}:str', 'x'.repeat(300));
    await cl.rpush('{dash}:list', ...Array.from({ length: 30 }, (_, i) => `e${i}`));
    await cl.hset('{dash}:hash', 'f1', 'v1', 'f2', 'v2');
    await cl.sadd('{dash}:set', 'm1', 'm2', 'm3');
    await cl.zadd('{dash}:zset', 1, 'one', 2, 'two');
    await cl.xadd('{dash}:stream', '*', 'field', 'value');
    await cl.set('{dash}:ttl', 'v', 'EX', 1000);
  } finally {
    cl.disconnect();
  }
  // Two users on node a: one denied SCAN, one that may read but not administer the cluster.
  await cmd(a, 'ACL', 'SETUSER', 'noscan', 'on', '>pw', '~*', '+@all', '-scan');
  await cmd(a, 'ACL', 'SETUSER', 'reader', 'on', '>pw', '~*', '+@read', '+@keyspace', '-@dangerous');
});

t.after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(tmpRoot, { recursive: true, force: true });
});

it('GET /v1/cluster: three primaries, 16384 slots, figures of every node', async () => {
  // Figures are at most a second or so old: wait for every node's, with every key counted.
  const cj = await waitFor('every node with figures', async () => {
    const j = await get<ClusterJson>(a, '/v1/cluster');
    return j.nodes.every((n) => n.stats !== null) && j.nodes.reduce((k, n) => k + n.stats!.keys, 0) === KEY_COUNT + 7 ? j : false;
  }, 15_000);
  assert.is(cj.enabled, true);
  assert.is(cj.state, 'ok');
  assert.is(cj.slotsAssigned, 16384);
  assert.is(cj.nodes.length, 3);
  assert.ok(/^[0-9a-f]{40}$/.test(cj.myId));
  assert.type(cj.currentEpoch, 'number');
  assert.is(cj.nodes.reduce((n, x) => n + slotCount(x.slots), 0), 16384);
  const me = cj.nodes.find((n) => n.flags.includes('myself'))!;
  assert.is(me.id, cj.myId);
  assert.is(me.port, a.port);
  assert.is(me.httpPort, a.httpPort);
  // Other nodes' HTTP ports, as each tells its own (gossip does not carry them).
  for (const h of [b, c]) assert.is(cj.nodes.find((n) => n.port === h.port)!.httpPort, h.httpPort, `http port of ${h.port}`);
  for (const n of cj.nodes) {
    assert.is(n.role, 'primary');
    assert.is(n.primaryId, null);
    assert.is(n.linkState, 'connected');
    assert.is(n.ip, '127.0.0.1');
    assert.equal(Object.keys(n).sort(), ['configEpoch', 'flags', 'httpPort', 'id', 'importing', 'ip', 'linkState', 'migrating', 'port', 'primaryId', 'role', 'slots', 'stats', 'tlsPort'].sort());
    assert.equal(Object.keys(n.stats!).sort(), ['keys', 'opsPerSec', 'p99Us', 'usedMemory']);
  }
  assert.is(cj.nodes.reduce((k, n) => k + n.stats!.keys, 0), KEY_COUNT + 7, 'keys of all nodes');
});

it("GET /v1/cluster: another node's migrating and importing slots, read from its CLUSTER NODES", async () => {
  const [bId, cId] = [String(await cmd(b, 'CLUSTER', 'MYID')), String(await cmd(c, 'CLUSTER', 'MYID'))];
  const first = await get<ClusterJson>(a, '/v1/cluster');
  const slot = first.nodes.find((n) => n.id === bId)!.slots[0]![0];
  await cmd(c, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', bId);
  await cmd(b, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', cId);
  try {
    // Node a is in neither: it learns of both from b's and c's own CLUSTER NODES.
    await waitFor('node a to show the open slot of b and c', async () => {
      const j = await get<ClusterJson>(a, '/v1/cluster');
      const nb = j.nodes.find((n) => n.id === bId)!;
      const nc = j.nodes.find((n) => n.id === cId)!;
      return JSON.stringify(nb.migrating) === JSON.stringify([[slot, cId]]) && JSON.stringify(nc.importing) === JSON.stringify([[slot, bId]]);
    }, 10_000);
  } finally {
    await cmd(b, 'CLUSTER', 'SETSLOT', slot, 'STABLE');
    await cmd(c, 'CLUSTER', 'SETSLOT', slot, 'STABLE');
  }
  await waitFor('the open slot to be gone', async () => {
    const j = await get<ClusterJson>(a, '/v1/cluster');
    return j.nodes.every((n) => n.migrating.length === 0 && n.importing.length === 0);
  }, 10_000);
});

it('GET /v1/node and /v1/series: shards, memory, persistence, replication; samples each second', async () => {
  const n = await get<Record<string, unknown> & { shards: Array<Record<string, unknown>>; replication: { role: string; replicas: unknown[] } }>(a, '/v1/node');
  for (const k of ['id', 'version', 'uptimeSeconds', 'role', 'shards', 'clients', 'memory', 'persistence', 'replication']) assert.ok(k in n, `node has ${k}`);
  assert.is(n.role, 'primary');
  assert.is(n.shards.length, 1);
  for (const k of ['id', 'keys', 'expires', 'usedMemory', 'arenaBytes', 'arenaFree', 'opsPerSec', 'p50Us', 'p99Us', 'p999Us', 'restarts']) assert.ok(k in n.shards[0]!, `shard has ${k}`);
  assert.equal(Object.keys(n.memory as object).slice(0, 3), ['used', 'rss', 'peak']);
  assert.ok((n.memory as { rss: number }).rss > 0);
  for (const k of ['lastSaveTime', 'aofSize', 'rewriteInProgress']) assert.ok(k in (n.persistence as object), `persistence has ${k}`);
  assert.is(n.replication.role, 'primary');
  // Commands while sampling: some second shows them, with percentiles.
  const r = client(a);
  try {
    const s = await waitFor('a sample with commands and latencies', async () => {
      for (let i = 0; i < 50; i++) await r.ping();
      await r.get('key:1').catch(() => null);
      const j = await get<{ intervalMs: number; samples: Array<Record<string, number | null>> }>(a, '/v1/series?seconds=5');
      assert.is(j.intervalMs, 1000);
      assert.ok(j.samples.length <= 5);
      return j.samples.find((x) => (x['opsPerSec'] ?? 0) > 0) ?? false;
    }, 15_000);
    assert.equal(Object.keys(s), ['t', 'opsPerSec', 'p50Us', 'p99Us', 'p999Us', 'usedMemory', 'rss']);
    assert.ok(Math.abs(Date.now() - s['t']!) < 60_000);
  } finally {
    r.disconnect();
  }
  const all = await get<{ samples: Array<{ t: number }> }>(a, '/v1/series');
  for (let i = 1; i < all.samples.length; i++) assert.ok(all.samples[i]!.t > all.samples[i - 1]!.t, 'samples in time order');
});

it('credentials: 401 without or with wrong ones, 403 with NOPERM for a denied user', async () => {
  for (const path of ['/v1/scan', '/v1/key?key=key:1', '/v1/slowlog']) {
    const none = await http(a, path);
    assert.is(none.status, 401, path);
    assert.match(none.headers.get('www-authenticate') ?? '', /Basic/);
    assert.equal(none.body, { error: 'NOAUTH Authentication required.' });
    const wrong = await http(a, path, { headers: { authorization: BASIC('default', 'nope') } });
    assert.is(wrong.status, 401, path);
    assert.match((wrong.body as { error: string }).error, /^WRONGPASS/);
  }
  const denied = await http(a, '/v1/scan', { headers: { authorization: BASIC('noscan', 'pw') } });
  assert.is(denied.status, 403);
  assert.match((denied.body as { error: string }).error, /^NOPERM this user has no permissions to run the 'scan' command/);
  const log = (await cmd(a, 'ACL', 'LOG', '1')) as unknown[][];
  assert.ok(JSON.stringify(log).includes('noscan'), 'the denial is in ACL LOG');
  // Writes need credentials, and a user allowed CLUSTER SETSLOT.
  const post = await http(a, '/v1/rebalance', { method: 'POST' });
  assert.is(post.status, 401);
  const reader = await http(a, '/v1/rebalance', { method: 'POST', headers: { authorization: BASIC('reader', 'pw') } });
  assert.is(reader.status, 403);
  assert.match((reader.body as { error: string }).error, /^NOPERM this user has no permissions to run the 'cluster\|setslot' command/);
  // The reader may browse keys.
  await get(a, '/v1/scan?count=5', BASIC('reader', 'pw'));
  // The figures-only routes are open.
  for (const path of ['/v1/cluster', '/v1/node', '/v1/series', '/v1/events', '/v1/rebalance']) await get(a, path);
  assert.is((await http(a, '/v1/cluster', { method: 'DELETE' })).status, 405);
  assert.is((await http(a, '/v1/nosuch')).status, 404);
});

it('GET /v1/scan pages through every key of each primary, one SCAN step a request', async () => {
  const seen = new Set<string>();
  for (const h of [a, b, c]) {
    let cursor = '0';
    let pages = 0;
    do {
      const page = await get<{ cursor: string; keys: Array<{ key: string; type: string; ttl: number; encoding: string | null; memory: number | null }> }>(h, `/v1/scan?cursor=${cursor}&match=key:*&count=20`, ADMIN);
      for (const k of page.keys) {
        assert.equal(Object.keys(k), ['key', 'type', 'ttl', 'encoding', 'memory']);
        assert.is(k.type, 'string');
        assert.is(k.ttl, -1);
        assert.type(k.encoding, 'string');
        assert.ok(k.memory === null || k.memory > 0);
        seen.add(k.key);
      }
      assert.type(page.cursor, 'string');
      cursor = page.cursor;
      pages++;
      assert.ok(pages < 1000, 'scan ends');
    } while (cursor !== '0');
    assert.ok(pages > 1, 'more than one page');
  }
  assert.equal([...seen].sort(), [...written.keys()].sort());
  const typed = await get<{ keys: Array<{ type: string }> }>(a, '/v1/scan?count=1000&type=hash', ADMIN);
  for (const k of typed.keys) assert.is(k.type, 'hash');
  assert.is((await http(a, '/v1/scan?cursor=x', { headers: { authorization: ADMIN } })).status, 400);
});

it('GET /v1/key previews each type, bounded', async () => {
  const slot = Number(await cmd(a, 'CLUSTER', 'KEYSLOT', '{dash}'));
  const cj = await get<ClusterJson>(a, '/v1/cluster');
  const ownerId = cj.nodes.find((n) => owns(n.slots, slot))!.id;
  const owner = [a, b, c].find((h) => cj.nodes.find((n) => n.id === ownerId)!.port === h.port)!;
  const key = (k: string): Promise<Record<string, unknown> & { preview: Record<string, unknown> }> => get(owner, `/v1/key?key=${encodeURIComponent(k)}`, ADMIN);
  const str = await key('{dash}:str');
  assert.is(str.type, 'string');
  assert.equal(str.preview, { length: 300, value: 'x'.repeat(256), truncated: true });
  const list = await key('{dash}:list');
  assert.is(list.type, 'list');
  assert.is(list.preview['length'], 30);
  assert.equal(list.preview['items'], Array.from({ length: 20 }, (_, i) => `e${i}`));
  const hash = await key('{dash}:hash');
  assert.equal(hash.preview, { length: 2, fields: [['f1', 'v1'], ['f2', 'v2']] });
  const set = await key('{dash}:set');
  assert.equal((set.preview['members'] as string[]).sort(), ['m1', 'm2', 'm3']);
  const zset = await key('{dash}:zset');
  assert.equal(zset.preview, { length: 2, members: [['one', 1], ['two', 2]] });
  const stream = await key('{dash}:stream');
  assert.is(stream.type, 'stream');
  assert.equal((stream.preview['entries'] as Array<{ fields: unknown }>)[0]!.fields, [['field', 'value']]);
  const ttl = await key('{dash}:ttl');
  assert.ok((ttl.ttl as number) > 900_000 && (ttl.ttl as number) <= 1_000_000, `ttl ${String(ttl.ttl)}`);
  for (const k of [str, list, hash, set, zset, stream]) {
    assert.type(k.encoding, 'string');
    assert.ok(k.memory === null || typeof k.memory === 'number');
  }
  assert.is((await http(owner, '/v1/key?key=nope', { headers: { authorization: ADMIN } })).status, 404);
  // Another node answers for the key's node (cluster forwarding) or redirects (421 with MOVED).
  const other = [a, b, c].find((h) => h !== owner)!;
  const elsewhere = await http(other, '/v1/key?key=%7Bdash%7D%3Astr', { headers: { authorization: ADMIN } });
  if (elsewhere.status === 421) assert.match((elsewhere.body as { error: string }).error, /^MOVED \d+ /);
  else assert.is((elsewhere.body as { type: string }).type, 'string');
});

it('GET /v1/slowlog answers SLOWLOG GET as JSON, newest first, with the client', async () => {
  const r = client(a);
  try {
    await r.call('CLIENT', 'SETNAME', 'dash-test');
    await r.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    await r.get('key:slow').catch(() => null);
    // A secret argument (the same value again: nothing changes) is redacted by SLOWLOG.
    await r.call('CONFIG', 'SET', 'masterauth', PASSWORD);
    await r.call('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
  } finally {
    r.disconnect();
  }
  const entries = await get<Array<{ id: number; time: number; durationUs: number; args: string[]; client: string; clientName: string }>>(a, '/v1/slowlog?count=50', ADMIN);
  assert.ok(entries.length > 0);
  for (const e of entries) assert.equal(Object.keys(e), ['id', 'time', 'durationUs', 'args', 'client', 'clientName']);
  for (let i = 1; i < entries.length; i++) assert.ok(entries[i]!.id < entries[i - 1]!.id, 'newest first');
  const set = entries.find((e) => e.args[0] === 'CONFIG' && e.args[1] === 'SET' && e.args[2] === 'slowlog-log-slower-than');
  const getEntry = entries.find((e) => e.args[0] === 'get' || e.args[0] === 'GET');
  assert.ok(set !== undefined || getEntry !== undefined, JSON.stringify(entries));
  const mine = entries.find((e) => e.clientName === 'dash-test');
  assert.ok(mine !== undefined, 'the client name is there');
  assert.match(mine.client, /^127\.0\.0\.1:\d+$/);
  assert.ok(Math.abs(mine.time - Date.now() / 1000) < 120);
  assert.ok(!JSON.stringify(entries).includes(PASSWORD), 'no secret in the slow log');
  assert.ok(entries.some((e) => e.args.includes('(redacted)')), 'the secret is shown redacted');
  assert.ok((await get<unknown[]>(a, '/v1/slowlog?count=1', ADMIN)).length === 1);
  // Credentials like /v1/keys; a user without SLOWLOG (an admin command) is refused.
  assert.is((await http(a, '/v1/slowlog', { headers: { authorization: BASIC('reader', 'pw') } })).status, 403);
});

it('events: a save, a slot migration (reshard), slot assignments', async () => {
  const before = (await get<EventJson[]>(a, '/v1/events')).at(-1)?.id ?? 0;
  await cmd(a, 'BGSAVE');
  await waitFor('a save event', async () => (await get<EventJson[]>(a, `/v1/events?since=${before}`)).some((e) => e.kind === 'save' && /snapshot saved/.test(e.detail)), 15_000);
  // Unbalance the cluster: 2000 of b's slots to a (the CLI moves them; b runs MIGRATESLOT).
  const ids = (await get<ClusterJson>(a, '/v1/cluster')).nodes;
  const idOf = (h: ServerHandle): string => ids.find((n) => n.port === h.port)!.id;
  await cliExpect(0, ['reshard', addr(a), '--from', idOf(b), '--to', idOf(a), '--slots', '2000', '--yes', '-a', PASSWORD]);
  const bEvents = await get<EventJson[]>(b, '/v1/events');
  assert.ok(bEvents.some((e) => e.kind === 'migration' && e.detail.includes(`moved to 127.0.0.1:${a.port}`)), JSON.stringify(bEvents));
  const aEvents = await get<EventJson[]>(a, `/v1/events?since=${before}`);
  const assigned = aEvents.filter((e) => e.kind === 'slot-assigned');
  assert.ok(assigned.length > 0 && assigned.length < 100, `slot assignments merged (${assigned.length} events)`);
  for (const e of aEvents) {
    assert.equal(Object.keys(e), ['id', 'time', 'kind', 'detail']);
    assert.ok(e.id > before);
  }
  // since= pages: nothing after the newest.
  assert.equal(await get(a, `/v1/events?since=${aEvents.at(-1)!.id}`), []);
});

it('events: a shard restart, and the node view counts it', async () => {
  const before = (await get<EventJson[]>(c, '/v1/events')).at(-1)?.id ?? 0;
  await cmd(c, 'DEBUG', 'SHARD-CRASH', 0).catch(() => undefined);
  const ev = await waitFor('a shard-restart event', async () => (await get<EventJson[]>(c, `/v1/events?since=${before}`)).find((e) => e.kind === 'shard-restart'), 15_000);
  assert.match(ev.detail, /^shard 0 restarted on its memory/);
  await waitFor('the restart in /v1/node', async () => (await get<{ shards: Array<{ restarts: number }> }>(c, '/v1/node')).shards[0]!.restarts === 1, 15_000);
});

it('the rebalance plan is the one `tessera cluster rebalance --dry-run` prints', async () => {
  const plan = await get<PlanJson>(a, '/v1/rebalance/plan');
  assert.is(plan.needed, true);
  const dry = await cliExpect(0, ['rebalance', addr(a), '--dry-run', '-a', PASSWORD]);
  const lines = [...dry.stdout.matchAll(/Move (\d+) slots? from \S+ \(([0-9a-f]{8})\) to \S+ \(([0-9a-f]{8})\): (\S+)/g)];
  assert.ok(lines.length > 0, dry.stdout);
  assert.equal(
    plan.moves.map((m) => [m.count, m.from.slice(0, 8), m.to.slice(0, 8), m.slots.map(([x, y]) => (x === y ? `${x}` : `${x}-${y}`)).join(',')]),
    lines.map((l) => [Number(l[1]), l[2], l[3], l[4]]),
  );
  assert.is(plan.totalSlots, Number(/Plan: (\d+) slots? to move/.exec(dry.stdout)![1]));
  const weighted = await get<PlanJson>(a, `/v1/rebalance/plan?threshold=0&weights=${(await get<ClusterJson>(a, '/v1/cluster')).myId.slice(0, 10)}=2`);
  assert.ok(weighted.totalSlots !== plan.totalSlots || JSON.stringify(weighted.moves) !== JSON.stringify(plan.moves), 'weights change the plan');
  assert.is((await http(a, '/v1/rebalance/plan?threshold=x')).status, 400);
});

it('POST /v1/rebalance runs to the end: 202, 409 while running, slots even, keys intact', async () => {
  const started = await http(a, '/v1/rebalance', { method: 'POST', headers: { authorization: ADMIN } });
  assert.is(started.status, 202, JSON.stringify(started.body));
  const s0 = started.body as RebalanceJson;
  assert.ok(s0.state === 'running' || s0.state === 'done');
  assert.ok(s0.total > 0);
  assert.ok(s0.plan !== null && s0.plan.totalSlots === s0.total);
  if (s0.state === 'running') {
    const again = await http(a, '/v1/rebalance', { method: 'POST', headers: { authorization: ADMIN } });
    // It may have finished in between; while it runs, a second one is refused.
    if (again.status !== 202) {
      assert.is(again.status, 409);
      assert.is((again.body as { error: string }).error, 'a rebalance is already running');
    }
  }
  const done = await waitFor('the rebalance to finish', async () => {
    const s = await get<RebalanceJson>(a, '/v1/rebalance');
    assert.ok(s.state !== 'failed', `rebalance failed: ${s.error ?? ''}`);
    return s.state === 'done' ? s : false;
  }, 60_000, 100);
  assert.is(done.moved, done.total);
  assert.ok(done.finishedAt! >= done.startedAt!);
  const cj = await waitFor('every node to agree', async () => {
    const j = await get<ClusterJson>(b, '/v1/cluster');
    return j.state === 'ok' && j.nodes.every((n) => Math.abs(slotCount(n.slots) - 5461) <= 1) ? j : false;
  }, 20_000);
  assert.is(cj.slotsAssigned, 16384);
  const events = await get<EventJson[]>(a, '/v1/events');
  assert.ok(events.some((e) => e.kind === 'rebalance' && /rebalance done/.test(e.detail)));
  const cl = await clusterClient(b);
  try {
    for (const [k, v] of written) assert.is(await cl.get(k), v, k);
  } finally {
    cl.disconnect();
  }
  const after = await get<PlanJson>(a, '/v1/rebalance/plan');
  assert.is(after.needed, false);
});

it('events: a failover of a replica shows on the replica', async () => {
  const r = await startNode(3);
  const cj = await get<ClusterJson>(a, '/v1/cluster');
  await cliExpect(0, ['add-node', addr(r), addr(a), '--replica-of', cj.myId, '-a', PASSWORD]);
  let last: unknown = null;
  await waitFor('the replica to be in sync', async () => {
    const n = await get<{ role: string; replication: { primary: { linkStatus: string } | null } }>(r, '/v1/node');
    last = n;
    return n.role === 'replica' && n.replication.primary?.linkStatus === 'up';
  }, 30_000).catch((e: Error) => {
    throw new Error(`${e.message}; last /v1/node: ${JSON.stringify(last)}`);
  });
  const rId = String(await cmd(r, 'CLUSTER', 'MYID'));
  // Becoming a replica is a role change too.
  await waitFor('a replicate event', async () => (await get<EventJson[]>(r, '/v1/events')).some((e) => e.kind === 'failover' && e.detail.startsWith('replicate: ')), 15_000);
  await cmd(r, 'CLUSTER', 'FAILOVER');
  const ev = await waitFor('a failover event on the replica', async () => (await get<EventJson[]>(r, '/v1/events')).find((e) => e.kind === 'failover' && /^manual: /.test(e.detail)), 30_000);
  assert.match(ev.detail, new RegExp(`^manual: ${rId} is the primary \\(of ${cj.myId}\\), epoch \\d+$`));
  const rj = await waitFor('the old replica to be a primary', async () => {
    const j = await get<ClusterJson>(r, '/v1/cluster');
    const me = j.nodes.find((n) => n.flags.includes('myself'))!;
    // ...and the old primary its replica, as the new primary sees it.
    return me.role === 'primary' && j.nodes.some((n) => n.role === 'replica' && n.primaryId === me.id) ? j : false;
  }, 20_000);
  assert.is(rj.nodes.find((n) => n.id === cj.myId)!.role, 'replica');
});

t.run();
