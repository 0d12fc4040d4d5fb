// Streams with consumer groups under resharding and failover (issue 17), with real processes on
// loopback: six Tessera nodes made into three primaries with one replica each (redis-cli --cluster
// create --cluster-replicas 1, as cluster-failover.test.ts). Three `{tag}` streams in three slots
// of one primary, each with a group; per stream a producer (XADD with `*`, `<ms>-*` and explicit
// ids), two consumers (XREADGROUP COUNT n `>`, one with BLOCK; both XACK, but "forget" some
// entries) and one claimer over all streams (XAUTOCLAIM of idle entries, acking some). Meanwhile
// the three slots move to another primary (two by MIGRATE as redis-cli's reshard does, one by
// CLUSTER MIGRATESLOT), then that primary is killed with SIGKILL, its replica takes over, and the
// old primary comes back as a replica. The load pauses twice (after the move, after the failover)
// for a check of XPENDING against what the clients saw, and at the end it drains every stream.
//
// Replication is asynchronous, as in Redis: every write is followed by `WAIT 1 500` on the node
// that served it, and only a write that WAIT confirmed counts as acknowledged ("confirmed") for
// the checks; a write whose reply was lost, or whose WAIT said 0, is "unknown" (it may or may not
// have survived the failover). The checks:
// - every confirmed XADD is in the stream (XRANGE);
// - no entry got two confirmed `>` deliveries: a second consumer only ever got it by a claim;
// - a confirmed XACK's entries are never pending again;
// - every entry whose delivery was confirmed and that no one tried to ack is still pending (the
//   PEL survives migration and failover), with a delivery count >= 1 and >= its confirmed
//   deliveries and claims; when the count equals those, its owner is the last one of them;
// - at the end every entry of every stream is delivered and acked (lag 0, nothing pending).
// The clients route commands themselves from CLUSTER SLOTS, following MOVED and ASK and retrying
// on TRYAGAIN, CLUSTERDOWN and closed connections, as a cluster client does (they need the node
// that served a write, for its WAIT). Seeded (STREAM_CHAOS_SEED); bounded (STREAM_CHAOS_ENTRIES).

import { rmSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { makeRandom } from '../../src/loadgen/keys.js';
import { commandOnce, rawClient, redisCli, requireTool, startClusterNode, waitFor, withTimeout, type ClusterNode } from './harness.js';

const NODE_TIMEOUT_MS = 1000;
const TEST_TIMEOUT_MS = 120_000;
const SEED = Number(process.env['STREAM_CHAOS_SEED'] ?? 1717);
/** Confirmed XADDs per stream in each phase (before the move, after it, after the failover). */
const PER_PHASE = Number(process.env['STREAM_CHAOS_ENTRIES'] ?? 60);
const STREAMS = 3;
const GROUP = 'g';
const WAIT_MS = 500;
/** XAUTOCLAIM's min-idle-time: entries a consumer forgot become the claimer's after this. */
const MIN_IDLE_MS = 150;
const cmd = commandOnce;

const dirs: string[] = [];
const nodes: ClusterNode[] = [];

// ---------------------------------------------------------------------------------------------
// The cluster's shape

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

function alive(n: ClusterNode): boolean {
  return n.handle.proc.exitCode === null && n.handle.proc.signalCode === null;
}

function live(): ClusterNode[] {
  return nodes.filter(alive);
}

function owns(l: Line, slot: number): boolean {
  return l.slots.some((r) => {
    if (r.startsWith('[')) return false;
    const [a, b] = r.split('-').map(Number);
    return slot >= a! && slot <= (b ?? a)!;
  });
}

async function shape(port: number): Promise<Array<{ primary: Line; replicas: Line[] }>> {
  const all = await nodesOf(port);
  return all.filter((l) => l.flags.includes('master') && l.slots.length > 0).map((p) => ({ primary: p, replicas: all.filter((r) => r.primaryId === p.id) }));
}

/** Every live node reports cluster_state:ok and agrees on three primaries and their replicas. */
async function settled(): Promise<boolean> {
  const views = await Promise.all(live().map(async (n) => ({ info: String(await cmd(n.port, 'CLUSTER', 'INFO')), s: await shape(n.port) })));
  if (!views.every((v) => /cluster_state:ok/.test(v.info))) return false;
  const sig = (s: Array<{ primary: Line; replicas: Line[] }>): string => s.map((x) => `${x.primary.id}:${x.replicas.map((r) => r.id).sort()}`).sort().join('|');
  return views.every((v) => sig(v.s) === sig(views[0]!.s) && v.s.length === 3 && v.s.every((x) => x.replicas.length === 1));
}

/** Moves a slot as redis-cli --cluster reshard does: IMPORTING, MIGRATING, MIGRATE in batches
 * (or one CLUSTER MIGRATESLOT), then SETSLOT NODE on the target, the source and the others. */
async function moveSlot(slot: number, from: Line, to: Line, others: number[], how: 'migrate' | 'migrateslot'): Promise<void> {
  await cmd(to.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
  await cmd(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
  if (how === 'migrateslot') {
    await cmd(from.port, 'CLUSTER', 'MIGRATESLOT', slot, '127.0.0.1', to.port);
  } else {
    for (;;) {
      const keys = (await cmd(from.port, 'CLUSTER', 'GETKEYSINSLOT', slot, '10')) as string[];
      if (keys.length === 0) break;
      await cmd(from.port, 'MIGRATE', '127.0.0.1', to.port, '', '0', '10000', 'KEYS', ...keys);
    }
  }
  await cmd(to.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
  await cmd(from.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
  for (const p of others) await cmd(p, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
}

// ---------------------------------------------------------------------------------------------
// A cluster client that routes by slot and tells which node served a command

/** The slot -> port map, read from CLUSTER SLOTS of any live node; changed by MOVED. */
class Router {
  private readonly owner = new Map<number, number>();

  async refresh(): Promise<void> {
    for (const n of live()) {
      try {
        const slots = (await cmd(n.port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
        this.owner.clear();
        for (const [a, b, p] of slots) for (let s = a; s <= b; s++) this.owner.set(s, p[1]);
        return;
      } catch {
        // the next node
      }
    }
  }

  async portOf(slot: number): Promise<number> {
    if (!this.owner.has(slot)) await this.refresh();
    const p = this.owner.get(slot);
    if (p === undefined) throw new Error(`CLUSTERDOWN slot ${slot} not served`);
    return p;
  }

  moved(slot: number, port: number): void {
    this.owner.set(slot, port);
  }
}

type Reply = [Error | null, unknown];

/** One actor's connections, one per node (a BLOCK holds only the actor's own). */
class Conns {
  private readonly byPort = new Map<number, Redis>();

  async get(port: number): Promise<Redis> {
    let c = this.byPort.get(port);
    if (c !== undefined && c.status === 'ready') return c;
    c?.disconnect();
    c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: 2000 });
    c.on('error', () => undefined);
    this.byPort.set(port, c);
    await c.connect();
    return c;
  }

  drop(port: number): void {
    this.byPort.get(port)?.disconnect();
    this.byPort.delete(port);
  }

  close(): void {
    for (const c of this.byPort.values()) c.disconnect();
    this.byPort.clear();
  }
}

/** What a routed command came to: its reply and WAIT's count, or an error after which the
 * command may or may not have run ("unknown"), or a refusal before it ran (redirect exhausted). */
type Outcome = { ok: true; value: unknown; replicas: number } | { ok: false; ran: 'maybe' | 'no'; error: string };

const retryPause = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

/** Sends `args` for `slot` followed by WAIT 1, following MOVED/ASK and retrying TRYAGAIN,
 * CLUSTERDOWN and refused connections (up to `tries` times); a connection lost with the command
 * sent is an unknown outcome and is not retried (the caller decides). */
async function routed(router: Router, conns: Conns, slot: number, args: Array<string | number>, tries = 200): Promise<Outcome> {
  let asking: number | null = null;
  let last = '';
  for (let i = 0; i < tries; i++) {
    let port: number;
    try {
      port = asking ?? (await router.portOf(slot));
    } catch (e) {
      last = (e as Error).message;
      await retryPause();
      await router.refresh();
      continue;
    }
    let c: Redis;
    try {
      c = await conns.get(port);
    } catch (e) {
      // Not sent: the node is down (killed, or not yet restarted).
      last = (e as Error).message;
      conns.drop(port);
      await retryPause();
      await router.refresh();
      continue;
    }
    const p = c.pipeline();
    if (asking !== null) p.call('ASKING');
    p.call(String(args[0]), ...args.slice(1).map(String));
    p.call('WAIT', '1', String(WAIT_MS));
    const wasAsking = asking !== null;
    asking = null;
    let res: Reply[] | null;
    try {
      res = (await p.exec()) as Reply[] | null;
    } catch (e) {
      conns.drop(port);
      return { ok: false, ran: 'maybe', error: (e as Error).message };
    }
    if (res === null) return { ok: false, ran: 'maybe', error: 'no reply' };
    const [err, value] = res[wasAsking ? 1 : 0]!;
    const [, waited] = res[wasAsking ? 2 : 1]!;
    if (err === null) return { ok: true, value, replicas: typeof waited === 'number' ? waited : 0 };
    const m = err.message;
    // A lost connection fails every queued command: the command may have run.
    if (/Connection is closed|ECONNRESET|EPIPE/.test(m)) {
      conns.drop(port);
      return { ok: false, ran: 'maybe', error: m };
    }
    last = m;
    const mv = /^(MOVED|ASK) (\d+) [^:]+:(\d+)/.exec(m);
    if (mv !== null) {
      if (mv[1] === 'MOVED') router.moved(Number(mv[2]), Number(mv[3]));
      else asking = Number(mv[3]);
      continue;
    }
    if (/^(TRYAGAIN|CLUSTERDOWN|LOADING|UNBLOCKED)/.test(m)) {
      await retryPause();
      await router.refresh();
      continue;
    }
    return { ok: false, ran: 'no', error: m };
  }
  return { ok: false, ran: 'no', error: `gave up after ${tries} tries: ${last}` };
}

// ---------------------------------------------------------------------------------------------
// What the clients saw

interface Seen {
  /** XADD ids confirmed by WAIT. */
  added: Set<string>;
  /** XADD ids replied to but not confirmed. */
  addedUnconfirmed: Set<string>;
  /** Confirmed `>` deliveries: id -> consumers. */
  delivered: Map<string, string[]>;
  /** Confirmed claims: id -> consumers, in the claimer's (sequential) order. */
  claimed: Map<string, string[]>;
  /** Ids of confirmed XACKs. */
  acked: Set<string>;
  /** Ids of every XACK sent, confirmed or not. */
  ackTried: Set<string>;
  /** Ids some client saw (delivered or claimed), confirmed or not. */
  touched: Set<string>;
}

function newSeen(): Seen {
  return { added: new Set(), addedUnconfirmed: new Set(), delivered: new Map(), claimed: new Map(), acked: new Set(), ackTried: new Set(), touched: new Set() };
}

function push(m: Map<string, string[]>, id: string, c: string): void {
  const l = m.get(id);
  if (l === undefined) m.set(id, [c]);
  else l.push(c);
}

/** The load's actors: they stop between commands when asked to pause, and end when asked to. */
class Load {
  readonly seen: Seen[] = Array.from({ length: STREAMS }, newSeen);
  readonly errors: string[] = [];
  readonly conns: Conns[] = [];
  private readonly actors: Array<Promise<void>> = [];
  private pauseGate: Promise<void> | null = null;
  private release: (() => void) | null = null;
  private idle = 0;
  private running = 0;
  stopProducers = false;
  /** Where the test is, for error messages. */
  phase = 'before the move';
  stopAll = false;
  /** Unknown outcomes, by command. */
  readonly unknown = new Map<string, number>();

  constructor(private readonly router: Router, private readonly keys: string[]) {}

  private note(what: string, o: Outcome): void {
    if (!o.ok && o.ran === 'maybe') this.unknown.set(what, (this.unknown.get(what) ?? 0) + 1);
    else if (!o.ok) this.errors.push(`${what} (${this.phase}): ${o.error}`);
  }

  /** Called between two commands of an actor: waits while paused. */
  private async gate(): Promise<void> {
    while (this.pauseGate !== null) {
      this.idle++;
      await this.pauseGate;
      this.idle--;
    }
  }

  async pause(): Promise<void> {
    this.pauseGate = new Promise((r) => (this.release = r));
    await waitFor('every actor paused', () => this.idle === this.running, 20_000, 10);
  }

  resume(): void {
    const r = this.release;
    this.pauseGate = null;
    this.release = null;
    r?.();
  }

  private spawn(fn: (conns: Conns) => Promise<void>): void {
    const conns = new Conns();
    this.conns.push(conns);
    this.running++;
    this.actors.push(fn(conns).catch((e: unknown) => void this.errors.push(`actor died: ${(e as Error).stack ?? String(e)}`)).finally(() => {
      this.running--;
      conns.close();
    }));
  }

  start(): void {
    this.keys.forEach((key, s) => {
      this.spawn((c) => this.producer(c, key, s));
      this.spawn((c) => this.consumer(c, key, s, `c${s}a`, false));
      this.spawn((c) => this.consumer(c, key, s, `c${s}b`, true));
    });
    this.spawn((c) => this.claimer(c));
  }

  async end(): Promise<void> {
    this.stopAll = true;
    this.resume();
    await Promise.all(this.actors);
  }

  confirmedAdds(s: number): number {
    return this.seen[s]!.added.size;
  }

  private async producer(conns: Conns, key: string, s: number): Promise<void> {
    const rand = makeRandom(SEED * 31 + s);
    const seen = this.seen[s]!;
    let lastMs = 0;
    let lastSeq = 0;
    for (let i = 0; !this.stopProducers && !this.stopAll; i++) {
      await this.gate();
      if (this.stopProducers || this.stopAll) break;
      const r = rand();
      // `*`, `<ms>-*` and explicit ids; an explicit one may be refused when an earlier XADD whose
      // reply was lost did run (ERR ... equal or smaller): that is a refusal, not a loss.
      const id = r < 0.6 || lastMs === 0 ? '*' : r < 0.8 ? `${lastMs + 1}-*` : `${lastMs}-${lastSeq + 1}`;
      const o = await routed(this.router, conns, calculateSlot(key), ['XADD', key, id, 'p', String(i), 'pad', 'x'.repeat(1 + (i % 40))]);
      if (o.ok) {
        const got = String(o.value);
        const [ms, seq] = got.split('-').map(Number);
        lastMs = ms!;
        lastSeq = seq!;
        if (o.replicas >= 1) seen.added.add(got);
        else seen.addedUnconfirmed.add(got);
      } else if (!/equal or smaller than the target stream top item/.test(o.error)) {
        this.note('XADD', o);
      }
    }
  }

  private async consumer(conns: Conns, key: string, s: number, name: string, block: boolean): Promise<void> {
    const rand = makeRandom(SEED * 97 + s * 7 + (block ? 1 : 0));
    const seen = this.seen[s]!;
    const slot = calculateSlot(key);
    while (!this.stopAll) {
      await this.gate();
      if (this.stopAll) break;
      const count = 1 + Math.floor(rand() * 5);
      const args: Array<string | number> = ['XREADGROUP', 'GROUP', GROUP, name, 'COUNT', count];
      if (block) args.push('BLOCK', 200);
      args.push('STREAMS', key, '>');
      const o = await routed(this.router, conns, slot, args);
      if (!o.ok) {
        this.note(`XREADGROUP${block ? ' BLOCK' : ''}`, o);
        continue;
      }
      const ids = readIds(o.value);
      for (const id of ids) {
        seen.touched.add(id);
        if (o.replicas >= 1) push(seen.delivered, id, name);
      }
      // Forget about one in six: it stays pending and idle, for the claimer.
      const toAck = ids.filter(() => rand() >= 1 / 6);
      if (toAck.length > 0) await this.ack(conns, key, s, toAck);
    }
  }

  private async ack(conns: Conns, key: string, s: number, ids: string[]): Promise<void> {
    const seen = this.seen[s]!;
    for (const id of ids) seen.ackTried.add(id);
    const o = await routed(this.router, conns, calculateSlot(key), ['XACK', key, GROUP, ...ids]);
    if (o.ok && o.replicas >= 1) for (const id of ids) seen.acked.add(id);
    else this.note('XACK', o);
  }

  private async claimer(conns: Conns): Promise<void> {
    const rand = makeRandom(SEED * 13 + 5);
    const cursors = this.keys.map(() => '0-0');
    for (let round = 0; !this.stopAll; round++) {
      await this.gate();
      if (this.stopAll) break;
      const s = round % STREAMS;
      const key = this.keys[s]!;
      const seen = this.seen[s]!;
      // Two claimer names, one after the other: a claimed entry may be claimed again by the other.
      const name = round % 2 === 0 ? 'claimer-x' : 'claimer-y';
      const o = await routed(this.router, conns, calculateSlot(key), ['XAUTOCLAIM', key, GROUP, name, MIN_IDLE_MS, cursors[s]!, 'COUNT', 10]);
      if (!o.ok) {
        this.note('XAUTOCLAIM', o);
        continue;
      }
      const [next, entries] = o.value as [string, Array<[string, unknown]>];
      cursors[s] = String(next);
      const ids = entries.map((e) => String(e[0]));
      for (const id of ids) {
        seen.touched.add(id);
        if (o.replicas >= 1) push(seen.claimed, id, name);
      }
      // Ack about two thirds; the rest is claimed again later (its delivery count grows).
      const toAck = ids.filter(() => rand() < 2 / 3);
      if (toAck.length > 0) await this.ack(conns, key, s, toAck);
    }
  }
}

function readIds(v: unknown): string[] {
  if (v === null) return [];
  const out: string[] = [];
  for (const [, entries] of v as Array<[string, Array<[string, unknown]>]>) for (const [id] of entries) out.push(String(id));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks

type PendingRow = [string, string, number, number];

async function pendingOf(router: Router, conns: Conns, key: string): Promise<PendingRow[]> {
  const o = await routed(router, conns, calculateSlot(key), ['XPENDING', key, GROUP, '-', '+', 100_000]);
  if (!o.ok) throw new Error(`XPENDING ${key}: ${o.error}`);
  return o.value as PendingRow[];
}

/** XPENDING of every stream against what the clients saw (the load is paused). */
async function checkPending(load: Load, router: Router, keys: string[], where: string): Promise<string> {
  const conns = new Conns();
  let checked = 0;
  let over1 = 0;
  try {
    for (let s = 0; s < keys.length; s++) {
      const seen = load.seen[s]!;
      const rows = await pendingOf(router, conns, keys[s]!);
      const pending = new Map(rows.map((r) => [String(r[0]), r]));
      for (const [id, owner, , count] of rows) {
        const d = seen.delivered.get(id) ?? [];
        const c = seen.claimed.get(id) ?? [];
        assert.ok(!seen.acked.has(id), `${where}: ${keys[s]} ${id} is pending after a confirmed XACK`);
        assert.ok(count >= 1, `${where}: ${keys[s]} ${id} delivery count ${count}`);
        assert.ok(count >= d.length + c.length, `${where}: ${keys[s]} ${id} delivery count ${count} < ${d.length} confirmed deliveries + ${c.length} confirmed claims`);
        if (count === d.length + c.length && count > 0) {
          const lastOwner = c.length > 0 ? c[c.length - 1]! : d[0]!;
          assert.is(owner, lastOwner, `${where}: ${keys[s]} ${id} owned by ${owner}, the last confirmed delivery or claim was to ${lastOwner}`);
        }
        if (count > 1) over1++;
        checked++;
      }
      for (const [id, consumers] of seen.delivered) {
        assert.ok(consumers.length === 1, `${where}: ${keys[s]} ${id} delivered by '>' to ${consumers.join(', ')} (no claim in between)`);
        if (!seen.ackTried.has(id)) assert.ok(pending.has(id), `${where}: ${keys[s]} ${id} delivered to ${consumers[0]} (confirmed), never acked, not pending`);
      }
      for (const id of seen.claimed.keys()) {
        if (!seen.ackTried.has(id)) assert.ok(pending.has(id), `${where}: ${keys[s]} ${id} claimed (confirmed), never acked, not pending`);
      }
    }
  } finally {
    conns.close();
  }
  return `${checked} pending entries checked (${over1} delivered more than once)`;
}

// ---------------------------------------------------------------------------------------------

const s = suite('streams and consumer groups under resharding and failover');

s.before(async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  for (let i = 0; i < 6; i++) nodes.push(await startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, createdDirs: dirs }));
  const r = await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  await waitFor('three primaries with one replica each, agreed everywhere', settled, 30_000, 200);
});

s.after(async () => {
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

s('XREADGROUP BLOCK on a stream that has left a MIGRATING slot: -ASK to the target (as redis-server), which serves it after ASKING', () =>
  withTimeout(
    (async () => {
      const sh = await shape(nodes[0]!.port);
      const [src, dst] = [sh[2]!.primary, sh[0]!.primary];
      let tag = '';
      for (let i = 0; tag === ''; i++) if (owns(src, calculateSlot(`{ask${i}}`))) tag = `{ask${i}}`;
      const key = `${tag}:stream`;
      const slot = calculateSlot(key);
      assert.is(await cmd(src.port, 'XGROUP', 'CREATE', key, GROUP, '$', 'MKSTREAM'), 'OK');
      assert.match(String(await cmd(src.port, 'XADD', key, '1-1', 'f', 'v')), '1-1');
      await cmd(dst.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id);
      await cmd(src.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id);
      assert.is(await cmd(src.port, 'MIGRATE', '127.0.0.1', dst.port, key, '0', '5000'), 'OK');
      const raw = await rawClient(src.port);
      try {
        const r = await raw.call(['XREADGROUP', 'GROUP', GROUP, 'c', 'BLOCK', '100', 'STREAMS', key, '>']);
        assert.is(r.text, `-ASK ${slot} 127.0.0.1:${dst.port}\r\n`);
      } finally {
        raw.close();
      }
      const target = await rawClient(dst.port);
      try {
        await target.call(['ASKING']);
        const r = await target.call(['XREADGROUP', 'GROUP', GROUP, 'c', 'BLOCK', '100', 'STREAMS', key, '>']);
        assert.ok(r.text.includes('1-1'), r.text);
      } finally {
        target.close();
      }
      for (const n of [dst, src, sh[1]!.primary]) await cmd(n.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', dst.id);
      await waitFor('the cluster to settle', settled, 20_000, 100);
    })(),
    30_000,
    'ASK for XREADGROUP BLOCK',
  ),
);

s('XADD, XREADGROUP, XACK and XAUTOCLAIM through a reshard and a failover: nothing confirmed lost, no entry delivered twice without a claim, PELs and delivery counts kept', () =>
  withTimeout(
    (async () => {
      const sh = await shape(nodes[0]!.port);
      const [from, to, third] = [sh[0]!.primary, sh[1]!.primary, sh[2]!.primary];
      // Three tags in three different slots, all served by `from`.
      const keys: string[] = [];
      const slots: number[] = [];
      for (let i = 0; keys.length < STREAMS; i++) {
        const slot = calculateSlot(`{sc${i}}`);
        if (owns(from, slot) && !slots.includes(slot)) {
          keys.push(`{sc${i}}:stream`);
          slots.push(slot);
        }
      }
      for (const k of keys) assert.is(await cmd(from.port, 'XGROUP', 'CREATE', k, GROUP, '$', 'MKSTREAM'), 'OK');

      const router = new Router();
      await router.refresh();
      const load = new Load(router, keys);
      const phase = (n: number, what: string): Promise<unknown> =>
        waitFor(what, () => keys.every((_, i) => load.confirmedAdds(i) >= n * PER_PHASE) || load.errors.length > 0, 40_000, 20);
      load.start();
      try {
        await phase(1, 'confirmed XADDs before the move');

        // The reshard: the three slots go from `from` to `to` under the load.
        load.phase = 'during the move';
        await moveSlot(slots[0]!, from, to, [third.port], 'migrate');
        await moveSlot(slots[1]!, from, to, [third.port], 'migrateslot');
        await moveSlot(slots[2]!, from, to, [third.port], 'migrate');
        // The move is over once every node, replicas included, knows the new owner (as
        // `redis-cli --cluster check` would confirm): in Redis 7.0 too a replica learns its
        // primary's new slots by gossip, and one promoted before that leaves them unserved.
        await waitFor('every node to see the moved slots on the new owner', async () => {
          for (const n of live()) {
            const me = (await nodesOf(n.port)).find((x) => x.id === to.id)!;
            if (!slots.every((sl) => owns(me, sl))) return false;
          }
          return true;
        }, 15_000, 50);
        load.phase = 'after the move';
        await phase(2, 'confirmed XADDs after the move');
        await load.pause();
        for (const sl of slots) assert.is(await cmd(from.port, 'CLUSTER', 'COUNTKEYSINSLOT', sl), 0, `slot ${sl}: keys left on the old owner`);
        const afterMove = await checkPending(load, router, keys, 'after the move');
        load.resume();

        // The failover: the new owner is killed; its replica takes over.
        const victim = nodes.find((n) => n.port === to.port)!;
        const replica = sh[1]!.replicas[0]!;
        load.phase = 'during the failover';
        const killedAt = Date.now();
        process.kill(victim.handle.pid, 'SIGKILL');
        await victim.handle.exited;
        await waitFor('the replica to be primary', async () => {
          const l = (await nodesOf(replica.port)).find((x) => x.id === replica.id)!;
          return l.flags.includes('master') && slots.every((sl) => owns(l, sl));
        }, 20_000, 20).catch(async (e: unknown) => {
          throw new Error(`${(e as Error).message}; slots ${slots.join(',')}; the replica's CLUSTER NODES:\n${String(await cmd(replica.port, 'CLUSTER', 'NODES'))}\nthe third's:\n${String(await cmd(third.port, 'CLUSTER', 'NODES'))}; errors: ${load.errors.slice(0, 5).join('; ')}`);
        });
        const failoverMs = Date.now() - killedAt;
        // The old primary comes back (its nodes.conf) as a replica of the winner, so WAIT 1 can
        // be satisfied again.
        const idx = nodes.indexOf(victim);
        nodes[idx] = await startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, port: victim.port, busPort: victim.busPort, dir: victim.dir });
        await waitFor('the old primary to be a replica of the winner', async () => {
          const me = (await nodesOf(victim.port)).find((x) => x.flags.includes('myself'))!;
          return me.flags.includes('slave') && me.primaryId === replica.id;
        }, 30_000, 100);
        load.phase = 'after the failover';
        await phase(3, 'confirmed XADDs after the failover');
        await load.pause();
        const afterFailover = await checkPending(load, router, keys, 'after the failover');
        load.resume();

        // Drain: no more XADDs; consumers and the claimer go on until every entry is acked.
        load.stopProducers = true;
        const conns = new Conns();
        try {
          await waitFor('every stream drained (lag 0, nothing pending)', async () => {
            for (const k of keys) {
              const o = await routed(router, conns, calculateSlot(k), ['XINFO', 'GROUPS', k]);
              if (!o.ok) return false;
              const g = o.value as unknown[][];
              const f = new Map<string, unknown>();
              for (let i = 0; i < g[0]!.length; i += 2) f.set(String(g[0]![i]), g[0]![i + 1]);
              if (f.get('pending') !== 0 || f.get('lag') !== 0) return false;
            }
            return true;
          }, 40_000, 50);
          await load.end();
          assert.equal(load.errors, [], 'client errors other than redirections and lost connections');
          // Every confirmed XADD is in its stream; every entry is acked by now.
          let total = 0;
          let unconfirmedKept = 0;
          let unconfirmed = 0;
          for (let i = 0; i < keys.length; i++) {
            const o = await routed(router, conns, calculateSlot(keys[i]!), ['XRANGE', keys[i]!, '-', '+']);
            assert.ok(o.ok, `XRANGE ${keys[i]}`);
            const ids = new Set((o.value as Array<[string, unknown]>).map((e) => String(e[0])));
            for (const id of load.seen[i]!.added) assert.ok(ids.has(id), `${keys[i]}: confirmed XADD ${id} lost`);
            for (const id of load.seen[i]!.addedUnconfirmed) if (ids.has(id)) unconfirmedKept++;
            unconfirmed += load.seen[i]!.addedUnconfirmed.size;
            total += ids.size;
            assert.equal(await pendingOf(router, conns, keys[i]!), [], `${keys[i]} has nothing pending`);
          }
          const deliveredTwice = load.seen.reduce((n, x) => n + [...x.delivered.values()].filter((c) => c.length > 1).length, 0);
          assert.is(deliveredTwice, 0);
          const claims = load.seen.reduce((n, x) => n + [...x.claimed.values()].reduce((m, c) => m + c.length, 0), 0);
          console.log(`  ${total} entries in ${STREAMS} streams (${unconfirmed} XADDs replied but not confirmed by WAIT, ${unconfirmedKept} of them kept), ${claims} confirmed claims; failover in ${failoverMs} ms`);
          console.log(`  after the move: ${afterMove}; after the failover: ${afterFailover}; unknown outcomes: ${JSON.stringify(Object.fromEntries(load.unknown))}`);
        } finally {
          conns.close();
        }
      } finally {
        await load.end();
      }
    })(),
    TEST_TIMEOUT_MS,
    'stream chaos',
  ),
);

s.run();
