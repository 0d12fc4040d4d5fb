// Shared pieces of the standalone replication e2e tests (replication.test.ts): nodes started in
// their own temp dir (a primary writes its full-sync snapshot there, never in the working tree),
// INFO sections as maps, waiting for a replica's link and for the replica to have applied
// everything, the replica link's address in the primary's CLIENT LIST, data sets kept as a model
// and compared key by key (values and TTLs) on a node. Servers, clients and dirs are cleaned up
// by cleanupAll() (servers killed by pid).

import { Redis } from 'ioredis';
import * as assert from 'uvu/assert';
import { waitFor, withTimeout, type ServerHandle } from './harness.js';
import { cleanup, ioClient, mgetAll, restartIn, startIn, tempDir } from './persistence-helpers.js';

export interface Node {
  server: ServerHandle;
  dir: string;
  client: Redis;
  shards: number;
  args: string[];
}

export interface NodeOptions {
  shards?: number;
  args?: string[];
  loglevel?: string;
  /** The node's requirepass: its client authenticates with it. */
  password?: string;
}

const ownClients: Redis[] = [];

/** An ioredis client with a password (as persistence-helpers' ioClient: never reconnects). */
async function authClient(s: ServerHandle, password: string): Promise<Redis> {
  const c = new Redis({ port: s.port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 5_000 });
  c.on('error', () => {
    // surfaced by the failing command
  });
  ownClients.push(c);
  await withTimeout(c.connect(), 10_000, 'ioredis connect');
  return c;
}

/** Disconnects the clients made here, then persistence-helpers' cleanup (servers by pid, dirs). */
export async function cleanupAll(): Promise<void> {
  for (const c of ownClients.splice(0)) c.disconnect();
  await cleanup();
}

/** Starts a Tessera node (a primary unless `args` say --replicaof) in a fresh temp dir. */
export async function startNode(tag: string, opts: NodeOptions = {}): Promise<Node> {
  const dir = tempDir(`repl-${tag}`);
  const shards = opts.shards ?? 2;
  const args = opts.args ?? [];
  const server = await startIn(dir, args, { shards, ...(opts.loglevel !== undefined ? { loglevel: opts.loglevel } : {}) });
  const client = opts.password !== undefined ? await authClient(server, opts.password) : await ioClient(server);
  return { server, dir, client, shards, args };
}

/** Starts `node` again on its port and dir with the same arguments (after a kill). */
export async function restartNode(node: Node, loglevel?: string): Promise<Node> {
  const server = await restartIn(node.server.port, node.dir, node.args, { shards: node.shards, ...(loglevel !== undefined ? { loglevel } : {}) });
  const client = await ioClient(server);
  return { ...node, server, client };
}

/** `--replicaof <host> <port>` as two argv words after the flag. */
export function replicaOfArgs(primary: Node): string[] {
  return ['--replicaof', '127.0.0.1', String(primary.server.port)];
}

/** Starts a replica of `primary`. */
export function startReplica(tag: string, primary: Node, opts: NodeOptions = {}): Promise<Node> {
  return startNode(tag, { ...opts, args: [...replicaOfArgs(primary), ...(opts.args ?? [])] });
}

/** An INFO section as field → value. */
export async function infoMap(c: Redis, section: string): Promise<Map<string, string>> {
  const text = await c.info(section);
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

export const replInfo = (c: Redis): Promise<Map<string, string>> => infoMap(c, 'replication');

/** What a replica logs when it cannot apply its primary's records (it then resyncs, forever). */
export const APPLY_FAILED = "Applying the primary's records failed";

/** Resolves once the replica's link is up and no sync is in progress; fails at once (with the
 * replica's log) when the replica logged that it could not apply its primary's records. */
export async function linkUp(replica: Node, deadlineMs = 20_000): Promise<Map<string, string>> {
  const r = await waitFor(
    `replica on ${replica.server.port}: master_link_status:up, master_sync_in_progress:0`,
    async () => {
      const out = replica.server.output();
      if (out.includes(APPLY_FAILED)) {
        const lines = out.split('\n').filter((l) => l.includes(APPLY_FAILED));
        return `the replica failed to apply its primary's stream (${lines.length} times), e.g.: ${lines[0]}`;
      }
      const i = await replInfo(replica.client);
      return i.get('master_link_status') === 'up' && i.get('master_sync_in_progress') === '0' ? i : false;
    },
    deadlineMs,
  );
  if (typeof r === 'string') throw new Error(r);
  return r;
}

/** Resolves once the primary lists `n` replicas, all online. */
export function replicasOnline(primary: Node, n: number, deadlineMs = 20_000): Promise<Map<string, string>> {
  return waitFor(
    `primary on ${primary.server.port}: ${n} replica(s) online`,
    async () => {
      const i = await replInfo(primary.client);
      if (i.get('connected_slaves') !== String(n)) return false;
      for (let k = 0; k < n; k++) if (!/state=online/.test(i.get(`slave${k}`) ?? '')) return false;
      return i;
    },
    deadlineMs,
  );
}

/** WAIT 1 `timeoutMs` on the primary must answer 1: every earlier write is applied on the replica. */
export async function waitAcked(primary: Node, replicas = 1, timeoutMs = 5_000): Promise<void> {
  const n = await primary.client.call('WAIT', String(replicas), String(timeoutMs));
  assert.is(n, replicas, `WAIT ${replicas} ${timeoutMs} acknowledged by ${String(n)} replica(s)`);
}

/** The primary's CLIENT LIST address of a replica's link (the connection that sent PSYNC / REPLCONF ACK). */
export async function replicaLinkAddrs(primary: Node): Promise<string[]> {
  const list = (await primary.client.call('CLIENT', 'LIST')) as string;
  return list
    .split('\n')
    .filter((l) => /\bcmd=(replconf|psync)\b/.test(l))
    .map((l) => /\baddr=(\S+)/.exec(l)?.[1] ?? '')
    .filter((a) => a !== '');
}

/** The expected content of a node: key → value and, for keys with a TTL, the absolute expiry (ms). */
export interface Model {
  values: Map<string, string>;
  expireAt: Map<string, number>;
}

export function emptyModel(): Model {
  return { values: new Map(), expireAt: new Map() };
}

/** Writes `n` keys `<prefix><i>` in pipelines of 1000; every third one with PX ttlMs. Updates the model. */
export async function fill(c: Redis, model: Model, prefix: string, n: number, opts: { ttlMs?: number; value?: (i: number) => string } = {}): Promise<void> {
  const ttl = opts.ttlMs ?? 300_000;
  const value = opts.value ?? ((i: number) => `${prefix}value-${i}-${'x'.repeat(i % 50)}`);
  const CHUNK = 1_000;
  for (let start = 0; start < n; start += CHUNK) {
    const pl = c.pipeline();
    const sent: Array<[string, string, boolean]> = [];
    const t0 = Date.now();
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      const k = `${prefix}${i}`;
      const v = value(i);
      const withTtl = i % 3 === 0;
      if (withTtl) pl.set(k, v, 'PX', ttl);
      else pl.set(k, v);
      sent.push([k, v, withTtl]);
    }
    const r = await pl.exec();
    assert.ok(r !== null && r.every(([err, v]) => err === null && v === 'OK'), `every SET of ${prefix}${start}.. acknowledged`);
    for (const [k, v, withTtl] of sent) {
      model.values.set(k, v);
      if (withTtl) model.expireAt.set(k, t0 + ttl);
      else model.expireAt.delete(k);
    }
  }
}

/** Every key of the model has its value on `c`, the keys with a TTL have about the right one
 * (within `slackMs`), the others none, and `c` holds no other key (DBSIZE). */
export async function assertHolds(c: Redis, model: Model, what: string, slackMs = 15_000): Promise<void> {
  const keys = [...model.values.keys()];
  const got = await mgetAll(c, keys);
  const wrong: string[] = [];
  keys.forEach((k, i) => {
    const want = model.values.get(k)!;
    if (got[i] !== want) wrong.push(`${k}: ${JSON.stringify(got[i]?.slice(0, 60))} (expected ${JSON.stringify(want.slice(0, 60))})`);
  });
  assert.equal(wrong.slice(0, 10), [], `${what}: ${wrong.length} of ${keys.length} values wrong`);
  // PTTL is read between `before` and `now`; a SET's expiry lies between its pipeline's send
  // time (the model's) and its acknowledgement, which a loaded machine can delay by seconds.
  const before = Date.now();
  const ttls = await pttlAll(c, keys);
  const now = Date.now();
  const badTtl: string[] = [];
  keys.forEach((k, i) => {
    const at = model.expireAt.get(k);
    const t = ttls[i]!;
    if (at === undefined) {
      if (t !== -1) badTtl.push(`${k}: PTTL ${t}, expected -1`);
    } else {
      const want = at - now;
      if (t < 0 || t > at - before + 5_000 || t < want - slackMs) badTtl.push(`${k}: PTTL ${t}, expected about ${want}`);
    }
  });
  assert.equal(badTtl.slice(0, 10), [], `${what}: ${badTtl.length} of ${keys.length} TTLs wrong`);
  assert.is(await c.dbsize(), keys.length, `${what}: DBSIZE`);
}

export async function pttlAll(c: Redis, keys: string[], chunk = 1_000): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < keys.length; i += chunk) {
    const pl = c.pipeline();
    for (const k of keys.slice(i, i + chunk)) pl.pttl(k);
    const r = await pl.exec();
    if (r === null) throw new Error('PTTL pipeline failed');
    for (const [err, v] of r) {
      if (err) throw err;
      out.push(Number(v));
    }
  }
  return out;
}

/** Every key on the primary (SCAN) has the same value on the replica, and both hold as many keys. */
export async function assertSameData(primary: Redis, replica: Redis, what: string): Promise<number> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await primary.scan(cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const unique = [...new Set(keys)];
  const [a, b] = [await mgetAll(primary, unique), await mgetAll(replica, unique)];
  const wrong: string[] = [];
  unique.forEach((k, i) => {
    if (a[i] !== b[i]) wrong.push(`${k}: primary ${JSON.stringify(a[i]?.slice(0, 40))}, replica ${JSON.stringify(b[i]?.slice(0, 40))}`);
  });
  assert.equal(wrong.slice(0, 10), [], `${what}: ${wrong.length} of ${unique.length} keys differ`);
  assert.is(await replica.dbsize(), await primary.dbsize(), `${what}: DBSIZE`);
  return unique.length;
}
