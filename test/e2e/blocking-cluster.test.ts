// Blocking commands in a cluster of real processes: six Tessera nodes made into three primaries
// with one replica each (`redis-cli --cluster create --cluster-replicas 1`). A wait on keys of
// several slots gets CROSSSLOT and one on a slot served elsewhere MOVED at once; a client blocked
// on a slot that is then moved away (SETSLOT as redis-cli's reshard does it) gets -MOVED, compared
// with a three-node redis-server 7.0 cluster; a reshard under a producer/consumer load, a manual
// CLUSTER FAILOVER and a kill -9 of a primary while consumers are blocked: the old primary's
// blocked clients get an error or a closed connection, never a hang, and ioredis Cluster consumers
// go on with every job consumed exactly once. No sleeping: waits poll INFO blocked_clients.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import {
  commandOnce, rawClient, redisCli, requireTool, startClusterNode, startRedis, waitFor, withTimeout,
  type ClusterNode, type RawClient, type ServerHandle,
} from './harness.js';

// A little above the failover test's 1000 ms: the host is shared, and a missed ping under load
// must not start a failover nobody asked for.
const NODE_TIMEOUT_MS = 2000;
const TEST_TIMEOUT_MS = 120_000;
const UNBLOCKED_DEMOTED = '-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n';

const dirs: string[] = [];
const nodes: ClusterNode[] = [];
const cmd = commandOnce;

// ---------------------------------------------------------------------------------------------
// The cluster's shape, as a node sees it (CLUSTER NODES)

interface Line {
  id: string;
  port: number;
  flags: string[];
  primaryId: string | null;
  slots: string[];
}

function parseNodes(text: string): Line[] {
  return text.trim().split('\n').map((l) => {
    const f = l.split(' ');
    return { id: f[0]!, port: Number(f[1]!.split('@')[0]!.split(':')[1]), flags: f[2]!.split(','), primaryId: f[3] === '-' ? null : f[3]!, slots: f.slice(8) };
  });
}

async function nodesOf(port: number): Promise<Line[]> {
  return parseNodes(String(await cmd(port, 'CLUSTER', 'NODES')));
}

function live(): ClusterNode[] {
  return nodes.filter((n) => n.handle.proc.exitCode === null && n.handle.proc.signalCode === null);
}

async function shape(port: number): Promise<Array<{ primary: Line; replicas: Line[] }>> {
  const all = await nodesOf(port);
  return all.filter((l) => l.flags.includes('master') && l.slots.length > 0).map((p) => ({ primary: p, replicas: all.filter((r) => r.primaryId === p.id) }));
}

/** Every live node reports cluster_state:ok and agrees on the primaries and their replicas. */
async function settled(): Promise<boolean> {
  const views = await Promise.all(live().map(async (n) => ({ info: String(await cmd(n.port, 'CLUSTER', 'INFO')), s: await shape(n.port) })));
  if (!views.every((v) => /cluster_state:ok/.test(v.info))) return false;
  const sig = (s: Array<{ primary: Line; replicas: Line[] }>): string => s.map((x) => `${x.primary.id}:${x.replicas.map((r) => r.id).sort()}`).sort().join('|');
  return views.every((v) => sig(v.s) === sig(views[0]!.s) && v.s.length === 3);
}

function owns(line: Line, slot: number): boolean {
  return line.slots.some((r) => {
    if (r.startsWith('[')) return false; // an open slot ([slot->-id]), not an owned range
    const [a, b] = r.split('-').map(Number);
    return slot >= a! && slot <= (b ?? a)!;
  });
}

/** A hash tag `{prefixN}` whose slot the primary owns. */
function tagOn(primary: Line, prefix: string): string {
  for (let i = 0; ; i++) if (owns(primary, calculateSlot(`{${prefix}${i}}`))) return `{${prefix}${i}}`;
}

async function blockedCount(port: number): Promise<number> {
  const info = String(await cmd(port, 'INFO', 'clients'));
  const m = /blocked_clients:(\d+)/.exec(info);
  return m ? Number(m[1]) : -1;
}

function untilBlocked(port: number, n: number, timeoutMs = 30_000): Promise<unknown> {
  return waitFor(`${n} blocked clients on ${port}`, async () => (await blockedCount(port)) === n, timeoutMs, 20);
}

async function blockedClient(port: number, args: string[]): Promise<{ c: RawClient; reply: Promise<string> }> {
  const c = await rawClient(port);
  c.sendCommand(...args);
  const reply = c.read(1, 60_000).then((r) => r[0]!.text);
  reply.catch(() => undefined); // awaited by the test; a failure must not end the process first
  return { c, reply };
}

/** Moves an empty-or-not slot from one primary to another as redis-cli --cluster reshard does:
 * IMPORTING on the target, MIGRATING on the source, MIGRATE the keys in batches, then SETSLOT
 * NODE on the target, the source and every other primary. */
async function moveSlot(slot: number, from: { port: number; id: string }, to: { port: number; id: string }, others: number[]): Promise<void> {
  const s = String(slot);
  await cmd(to.port, 'CLUSTER', 'SETSLOT', s, 'IMPORTING', from.id);
  await cmd(from.port, 'CLUSTER', 'SETSLOT', s, 'MIGRATING', to.id);
  for (;;) {
    const keys = (await cmd(from.port, 'CLUSTER', 'GETKEYSINSLOT', s, '100')) as string[];
    if (keys.length === 0) break;
    await cmd(from.port, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '10000', 'KEYS', ...keys);
  }
  await cmd(to.port, 'CLUSTER', 'SETSLOT', s, 'NODE', to.id);
  await cmd(from.port, 'CLUSTER', 'SETSLOT', s, 'NODE', to.id);
  for (const p of others) await cmd(p, 'CLUSTER', 'SETSLOT', s, 'NODE', to.id);
}

// ---------------------------------------------------------------------------------------------
// Scenarios run the same way on the Tessera cluster and on a redis-server 7.0 cluster

interface Primaries {
  /** Primaries with slots: port and id, as CLUSTER NODES on the first lists them. */
  list: Array<{ port: number; id: string; line: Line }>;
}

async function primariesOf(port: number): Promise<Primaries> {
  const all = await nodesOf(port);
  return { list: all.filter((l) => l.flags.includes('master') && l.slots.length > 0).map((l) => ({ port: l.port, id: l.id, line: l })) };
}

/** Replies with each node's port written as P0, P1... (the order of `ports`). */
function normalize(reply: string, ports: number[]): string {
  let out = reply;
  ports.forEach((p, i) => (out = out.split(`127.0.0.1:${p}`).join(`127.0.0.1:P${i}`)));
  return out;
}

/** CROSSSLOT for keys of two slots, MOVED at once for a slot served elsewhere (no wait). */
async function immediateRedirects(entry: number): Promise<string[]> {
  const ps = await primariesOf(entry);
  const p = ps.list[0]!;
  const elsewhere = ps.list[1]!;
  const mine = tagOn(p.line, 'mine');
  let mine2 = tagOn(p.line, 'two');
  for (let i = 0; calculateSlot(mine2) === calculateSlot(mine); i++) mine2 = tagOn(p.line, `two${i}x`);
  const theirs = tagOn(elsewhere.line, 'theirs');
  const named = (x: string): string => x.split(mine).join('{mine}').split(mine2).join('{mine2}').split(theirs).join('{theirs}').replace(/-MOVED \d+ /, '-MOVED SLOT ');
  const c = await rawClient(p.port);
  const out: string[] = [];
  try {
    for (const args of [
      ['BLPOP', `${mine}a`, `${theirs}b`, '0'],
      ['BLPOP', `${mine}a`, `${mine2}b`, '0'],
      ['BRPOP', `${theirs}a`, '0'],
      ['BLMOVE', `${mine}a`, `${theirs}b`, 'LEFT', 'RIGHT', '0'],
      ['BLMOVE', `${theirs}a`, `${theirs}b`, 'LEFT', 'RIGHT', '0'],
      ['BRPOPLPUSH', `${mine}a`, `${theirs}b`, '0'],
      ['BLMPOP', '0', '2', `${mine}a`, `${theirs}a`, 'LEFT'],
      ['BLMPOP', '0', '1', `${theirs}a`, 'LEFT'],
      ['BZPOPMIN', `${theirs}z`, '0'],
      ['BZPOPMAX', `${mine}z`, `${theirs}z`, '0'],
      ['BZMPOP', '0', '1', `${theirs}z`, 'MIN'],
      ['XREAD', 'BLOCK', '0', 'STREAMS', `${mine}s`, `${theirs}s`, '$', '$'],
      ['XREAD', 'BLOCK', '0', 'STREAMS', `${theirs}s`, '$'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', `${theirs}s`, '>'],
    ]) {
      out.push(named(`${args.join(' ')} -> ${(await c.call(args, 10_000)).text}`));
    }
  } finally {
    c.close();
  }
  assert.is(await blockedCount(p.port), 0);
  return out.map((r) => normalize(r, ps.list.map((x) => x.port)));
}

/** Four clients blocked (BLPOP, BZPOPMIN, BLMOVE, XREAD) on keys of one slot; the slot moves to another
 * primary; each gets -MOVED to it, and a new wait there gets MOVED at once. */
async function blockedThenMoved(entry: number, prefix: string): Promise<string[]> {
  const ps = await primariesOf(entry);
  const [p, q, r] = [ps.list[0]!, ps.list[1]!, ps.list[2]!];
  const tag = tagOn(p.line, prefix);
  const slot = calculateSlot(tag);
  const waits = [
    await blockedClient(p.port, ['BLPOP', `${tag}list`, '0']),
    await blockedClient(p.port, ['BZPOPMIN', `${tag}zset`, '0']),
    await blockedClient(p.port, ['BLMOVE', `${tag}src`, `${tag}dst`, 'LEFT', 'RIGHT', '0']),
    await blockedClient(p.port, ['XREAD', 'BLOCK', '0', 'STREAMS', `${tag}stream`, '$']),
  ];
  // (Not XREADGROUP on a stream of the slot: see docs/blocking-cluster.md.)
  await untilBlocked(p.port, 4);
  await moveSlot(slot, p, q, [r.port]);
  const out: string[] = [];
  try {
    for (const w of waits) out.push(await withTimeout(w.reply, 30_000, 'the blocked client\'s MOVED'));
    await untilBlocked(p.port, 0);
    const again = await rawClient(p.port);
    out.push((await again.call(['BLPOP', `${tag}list`, '0'], 10_000)).text);
    again.close();
  } finally {
    for (const w of waits) w.c.close();
  }
  return out.map((x) => normalize(x, ps.list.map((y) => y.port)).split(String(slot)).join('SLOT'));
}

/** A slot MIGRATING away whose keys are still here: blocking pops are served here at once.
 * (Not compared: a multi-key command with a key missing there, where redis-server answers
 * TRYAGAIN, and a wait on a missing key, where it answers ASK; see docs/blocking-cluster.md.) */
async function popInMigratingSlot(entry: number, prefix: string): Promise<string[]> {
  const ps = await primariesOf(entry);
  const [p, q] = [ps.list[0]!, ps.list[1]!];
  const tag = tagOn(p.line, prefix);
  const slot = String(calculateSlot(tag));
  const c = await rawClient(p.port);
  const out: string[] = [];
  try {
    await c.call(['RPUSH', `${tag}l`, 'a', 'b', 'c']);
    await c.call(['ZADD', `${tag}z`, '1', 'm']);
    await c.call(['RPUSH', `${tag}l2`, 'x']);
    await cmd(q.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', p.id);
    await cmd(p.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', q.id);
    for (const args of [
      ['BLPOP', `${tag}l`, '0'],
      ['BZPOPMIN', `${tag}z`, '0'],
      ['BLMOVE', `${tag}l`, `${tag}l2`, 'LEFT', 'RIGHT', '0'],
      ['BLMPOP', '0', '2', `${tag}l`, `${tag}l2`, 'RIGHT'],
      ['LRANGE', `${tag}l2`, '0', '-1'],
    ]) out.push(`${args[0]} -> ${(await c.call(args, 10_000)).text.split(tag).join('{tag}')}`);
  } finally {
    c.close();
    await cmd(q.port, 'CLUSTER', 'SETSLOT', slot, 'STABLE');
    await cmd(p.port, 'CLUSTER', 'SETSLOT', slot, 'STABLE');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Producer/consumer: ioredis Cluster consumers, one client each (a blocked command holds its
// connection), that retry after an error (UNBLOCKED, a closed connection): a retry on the old
// primary gets MOVED and ioredis follows it.

function clusterClient(): Cluster {
  const io = new Cluster(live().map((n) => ({ host: '127.0.0.1', port: n.port })), { redisOptions: { connectTimeout: 2000 } });
  io.on('error', () => undefined);
  return io;
}

class Jobs {
  readonly seen: Uint8Array;
  readonly dups: number[] = [];
  readonly errors: string[] = [];
  count = 0;
  private readonly workers: Array<Promise<void>> = [];
  private readonly clients: Cluster[] = [];

  constructor(readonly total: number, readonly queue: string, readonly done: string | null, readonly consumers: number) {
    this.seen = new Uint8Array(total);
  }

  start(): void {
    for (let i = 0; i < this.consumers; i++) {
      const c = clusterClient();
      this.clients.push(c);
      this.workers.push(this.consume(c));
    }
  }

  private async consume(c: Cluster): Promise<void> {
    for (;;) {
      let v: string | null;
      try {
        v = this.done === null ? ((await c.blpop(this.queue, 0)) ?? [])[1] ?? null : await c.blmove(this.queue, this.done, 'LEFT', 'RIGHT', 0);
      } catch (e) {
        this.errors.push((e as Error).message);
        if (this.errors.length > 2000) throw new Error(`consumer: too many errors, last ${(e as Error).message}`);
        // A node just died: let ioredis learn the new owner instead of spinning on the dead one.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (v === null) continue;
      if (v === 'stop') return;
      const n = Number(v);
      if (this.seen[n]) this.dups.push(n);
      this.seen[n] = 1;
      this.count++;
    }
  }

  /** Pushes jobs [from, to) in batches; ioredis follows MOVED and ASK (nothing ran: no double push). */
  async push(io: Cluster, from: number, to: number, batch = 20): Promise<void> {
    for (let i = from; i < to; i += batch) {
      const b: string[] = [];
      for (let j = i; j < Math.min(to, i + batch); j++) b.push(String(j));
      await io.rpush(this.queue, ...b);
    }
  }

  until(n: number): Promise<unknown> {
    return waitFor(`${n} jobs consumed (now ${this.count})`, () => this.count >= n, 60_000, 10);
  }

  /** Stops the consumers (a 'stop' each) and checks that every job came exactly once. */
  async finish(io: Cluster): Promise<void> {
    await io.rpush(this.queue, ...Array<string>(this.consumers).fill('stop'));
    await withTimeout(Promise.all(this.workers), 60_000, 'consumers to stop');
    for (const c of this.clients) c.disconnect();
    assert.is(this.dups.length, 0, `delivered twice: ${this.dups.slice(0, 10)}`);
    let missing = 0;
    for (let i = 0; i < this.total; i++) if (!this.seen[i]) missing++;
    assert.is(missing, 0, `${missing} jobs never delivered`);
    if (this.done !== null) assert.is(await io.llen(this.done), this.total + this.consumers, 'the done list holds every job once');
  }
}

// ---------------------------------------------------------------------------------------------

const f = suite('blocking commands in a cluster');
const t = (name: string, fn: () => Promise<void>): void => f(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

f.before(async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  for (let i = 0; i < 6; i++) nodes.push(await startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, createdDirs: dirs }));
  const r = await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  await waitFor('three primaries with one replica each, agreed everywhere', settled, 30_000, 200);
});

f.after(async () => {
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A throwaway three-primary redis-server 7.0 cluster, for the replies to compare with. */
async function withRedisCluster<T>(fn: (entry: number) => Promise<T>): Promise<T> {
  requireTool('redis-server', ['--version'], 'redis-server');
  const rdirs: string[] = [];
  const servers: ServerHandle[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
      rdirs.push(dir);
      servers.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir, '--cluster-node-timeout', '5000'] }));
    }
    const r = await redisCli(['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-yes'], { timeoutMs: 60_000 });
    assert.is(r.code, 0, r.stdout + r.stderr);
    await waitFor('the redis-server cluster to be ok', async () => {
      for (const s of servers) if (!/cluster_state:ok/.test(String(await cmd(s.port, 'CLUSTER', 'INFO')))) return false;
      return true;
    }, 30_000, 100);
    return await fn(servers[0]!.port);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of rdirs) rmSync(d, { recursive: true, force: true });
  }
}

let redisImmediate: string[] = [];
let redisMoved: string[] = [];
let redisMigrating: string[] = [];

t('the same scenarios on a redis-server 7.0 cluster (for comparison)', async () => {
  await withRedisCluster(async (entry) => {
    redisImmediate = await immediateRedirects(entry);
    redisMoved = await blockedThenMoved(entry, 'mv');
    redisMigrating = await popInMigratingSlot(entry, 'mg');
  });
  assert.match(redisMoved[0]!, /^-MOVED SLOT 127\.0\.0\.1:P1\r\n$/);
});

t('keys of several slots: CROSSSLOT; a slot served elsewhere: MOVED at once, nobody blocks (as redis-server)', async () => {
  const got = await immediateRedirects(nodes[0]!.port);
  assert.ok(got.some((l) => l.includes("-CROSSSLOT Keys in request don't hash to the same slot")), got.join(''));
  assert.ok(got.some((l) => l.endsWith('-MOVED SLOT 127.0.0.1:P1\r\n')), got.join(''));
  assert.equal(got, redisImmediate);
});

t('clients blocked in BLPOP, BZPOPMIN, BLMOVE and XREAD on a slot that moves away get -MOVED (as redis-server)', async () => {
  const got = await blockedThenMoved(nodes[0]!.port, 'mv');
  assert.equal(got, Array<string>(5).fill('-MOVED SLOT 127.0.0.1:P1\r\n'));
  assert.equal(got, redisMoved);
  await waitFor('the cluster to settle after the move', settled, 30_000, 200);
});

t('a slot migrating away whose keys are still here: blocking pops served at once (as redis-server)', async () => {
  const got = await popInMigratingSlot(nodes[0]!.port, 'mg');
  assert.ok(got[0]!.endsWith('$1\r\na\r\n'), got[0]);
  assert.equal(got, redisMigrating);
  await waitFor('the cluster to settle', settled, 30_000, 200);
});

t('a reshard of the queue\'s slot under a producer/consumer load: every job consumed exactly once', async () => {
  const ps = await primariesOf(nodes[0]!.port);
  const [p, q, r] = [ps.list[0]!, ps.list[1]!, ps.list[2]!];
  const tag = tagOn(p.line, 'rq');
  const slot = calculateSlot(tag);
  const total = 6000;
  const jobs = new Jobs(total, `${tag}jobs`, null, 3);
  const io = clusterClient();
  try {
    jobs.start();
    await untilBlocked(p.port, 3);
    // The producer runs through the whole move; the slot moves once a third has been consumed.
    const producing = jobs.push(io, 0, total);
    await jobs.until(total / 3);
    await moveSlot(slot, p, q, [r.port]);
    await producing;
    await jobs.until(total);
    await untilBlocked(q.port, 3);
    assert.is(await blockedCount(p.port), 0, 'nobody is left blocked on the old owner');
    // Redirections (MOVED, ASK) are followed by ioredis; nothing else may reach a consumer.
    assert.equal([...new Set(jobs.errors)], [], 'consumer errors during the reshard');
    await jobs.finish(io);
    console.log(`  reshard of slot ${slot} under load: ${total} jobs, each consumed once; consumer errors: ${[...new Set(jobs.errors)].join("; ")}`);
    await waitFor('the cluster to settle', settled, 30_000, 200);
  } finally {
    io.disconnect();
  }
});

t('CLUSTER FAILOVER while consumers are blocked: -UNBLOCKED on the old primary, consumers go on, no job lost or twice', async () => {
  const s = await shape(nodes[0]!.port);
  const { primary, replicas } = s[1]!;
  const replica = replicas[0]!;
  const tag = tagOn(primary, 'fo');
  const total = 4000;
  const jobs = new Jobs(total, `${tag}jobs`, `${tag}done`, 3);
  const io = clusterClient();
  try {
    jobs.start();
    await untilBlocked(primary.port, 3);
    await jobs.push(io, 0, total / 2);
    await jobs.until(total / 2);
    const raw = [
      await blockedClient(primary.port, ['BLPOP', `${tag}other`, '0']),
      await blockedClient(primary.port, ['BZPOPMIN', `${tag}z`, '0']),
    ];
    await untilBlocked(primary.port, 5);
    assert.is(await cmd(replica.port, 'CLUSTER', 'FAILOVER'), 'OK');
    for (const w of raw) assert.is(await withTimeout(w.reply, 30_000, 'UNBLOCKED on the demoted primary'), UNBLOCKED_DEMOTED);
    for (const w of raw) w.c.close();
    await waitFor('the replica to be primary and the old primary its replica', async () => {
      const now = await nodesOf(primary.port);
      const me = now.find((l) => l.id === primary.id)!;
      return me.flags.includes('slave') && me.primaryId === replica.id;
    }, 30_000, 50);
    // The consumers were told, retried, were redirected, and wait on the new primary.
    await untilBlocked(replica.port, 3);
    assert.is(await blockedCount(primary.port), 0);
    assert.ok(jobs.errors.some((e) => e.startsWith('UNBLOCKED force unblock')), jobs.errors.join('; '));
    await jobs.push(io, total / 2, total);
    await jobs.until(total);
    await jobs.finish(io);
    console.log(`  manual failover: ${total} jobs, each consumed once; consumer errors: ${[...new Set(jobs.errors)].join('; ')}`);
    await waitFor('the cluster to settle', settled, 30_000, 200);
  } finally {
    io.disconnect();
  }
});

t('kill -9 of a primary while consumers are blocked: connections close, consumers go on after the failover, no job lost or twice', async () => {
  const s = await shape(nodes[0]!.port);
  const { primary, replicas } = s[2]!;
  const replica = replicas[0]!;
  const victim = nodes.find((n) => n.port === primary.port)!;
  const tag = tagOn(primary, 'k9');
  const total = 4000;
  const jobs = new Jobs(total, `${tag}jobs`, `${tag}done`, 3);
  const io = clusterClient();
  try {
    jobs.start();
    await untilBlocked(primary.port, 3);
    await jobs.push(io, 0, total / 2);
    await jobs.until(total / 2);
    const raw = await blockedClient(primary.port, ['BLMOVE', `${tag}other`, `${tag}done`, 'LEFT', 'RIGHT', '0']);
    await untilBlocked(primary.port, 4);
    // Everything so far is on the replica (replication is asynchronous; a kill may lose what is not).
    assert.is(await cmd(primary.port, 'WAIT', '1', '5000'), 1);
    process.kill(victim.handle.pid, 'SIGKILL');
    await raw.c.waitClosed(10_000);
    const outcome = await raw.reply.then((r) => `a reply: ${r}`, (e: unknown) => String(e));
    assert.match(outcome, /connection closed|ECONNRESET/);
    await waitFor('the replica to be primary', async () => {
      const l = (await nodesOf(replica.port)).find((x) => x.id === replica.id)!;
      return l.flags.includes('master') && l.slots.length > 0;
    }, 30_000, 50);
    await untilBlocked(replica.port, 3, 60_000);
    await jobs.push(io, total / 2, total);
    await jobs.until(total);
    await jobs.finish(io);
    console.log(`  kill -9: ${total} jobs, each consumed once; consumer errors: ${[...new Set(jobs.errors)].join('; ')}`);
  } finally {
    io.disconnect();
  }
});

f.run();
