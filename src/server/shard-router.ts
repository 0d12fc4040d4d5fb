// The main thread's way to its shards: the one slot-to-shard table, single-shard sends, multi-key
// fan-out and merge, calls for main-thread commands, the cross-shard lock, and the end of each
// event-loop turn (one ring publish per shard, one socket write per connection).
// Depends on the runtime (shard ports) only; the dispatcher, the cluster router and the front
// doors use it, never the other way round.
// Backpressure: a connection that pauses because a shard is backlogged registers here and is
// resumed as soon as no shard is, however briefly the backlog lasted.

import { keysSkip } from '../commands/key-range.js';
import type { ArgList, ShardCaller } from '../commands/types.js';
import { COMMANDS, lookupCommand } from '../commands/registry.js';
import { argListOf } from '../commands/args.js';
import { keySlot, shardOfSlot } from '../keyspace/slot.js';
import type { ArgSubset, ReplySink, ShardPort } from '../runtime/shard-port.js';
import { Gather, PromiseSink } from './fanout.js';

const SLOTS = 16384;
/** How long the end of a turn may wait for the shards' replies (see ShardLink.awaitReplies). */
const AWAIT_REPLIES_MS = 0.2;

/** A client whose output leaves at the end of the turn, and which may pause for backpressure. */
export interface TurnClient extends ReplySink {
  proto: 2 | 3;
  db: number;
  takeSeq(): number;
  /** Writes the output gathered this turn. */
  flush(): void;
  /** Re-evaluates whether the socket should be paused (after a backlog ends). */
  updatePause(): void;
}

export class ShardRouter {
  readonly links: ShardPort[] = [];
  private readonly slotToShard = new Uint16Array(SLOTS);
  private readonly dirty = new Set<TurnClient>();
  private flushScheduled = false;
  private lockChain: Promise<unknown> = Promise.resolve();
  /** Connections that paused because shards were backlogged. Each registers itself when it
   * pauses, so that it is resumed however briefly the backlog lasted: comparing the backlog state
   * between two drains missed a backlog that began and ended between them, and the paused socket
   * was never read again (`redis-cli --pipe` bulk loads stalled). */
  private readonly waitingForShards = new Set<TurnClient>();

  /** @param beforePublish runs at the end of each turn, before the rings are published (the
   *   cluster's config flush). */
  constructor(
    shardCount: number,
    private readonly beforePublish: () => void,
  ) {
    for (let s = 0; s < SLOTS; s++) this.slotToShard[s] = shardOfSlot(s, shardCount);
  }

  get shardCount(): number {
    return this.links.length;
  }

  get backlogged(): boolean {
    for (const l of this.links) if (l.backlogged) return true;
    return false;
  }

  shardOfSlot(slot: number): number {
    return this.slotToShard[slot]!;
  }

  shardOfKey(key: Uint8Array, off: number, len: number): number {
    return this.slotToShard[keySlot(key, off, len)]!;
  }

  /** The shard of argument i. */
  shardOfArg(a: ArgList, i: number): number {
    // One shard owns every slot: no CRC16 of the key (the default on a 2-core host).
    if (this.links.length === 1) return 0;
    return this.slotToShard[keySlot(a.buf, a.off[i]!, a.len[i]!)]!;
  }

  /** The shard every key (first..last by step) lives on, or -1 when they span shards. */
  singleShard(a: ArgList, first: number, last: number, step: number): number {
    const s0 = this.shardOfArg(a, first);
    for (let i = first + step; i <= last; i += step) if (i !== keysSkip && this.shardOfArg(a, i) !== s0) return -1;
    return s0;
  }

  /** Sends a whole command to one shard; its reply goes to `sink` as `seq`. */
  send(shard: number, sink: ReplySink, seq: number, cmdIndex: number, proto: 2 | 3, a: ArgList): void {
    this.links[shard]!.send(sink, seq, cmdIndex, proto, a, null);
    this.scheduleTurn();
  }

  /** Splits a multi-key command into one sub-command per shard (keys with their step's
   * arguments, in the client's order) and merges the parts into one reply. */
  fanKeys(client: TurnClient, idx: number, a: ArgList, first: number, last: number, step: number): void {
    const g = this.groupKeys(a, first, last, step);
    const gather = new Gather(client, client.takeSeq(), COMMANDS[idx]!.merge!, g.shards.length, g.order, g.keys);
    g.shards.forEach((s, part) => this.links[s]!.send(gather, part, idx, client.proto, a, g.subsets[part]!));
    this.scheduleTurn();
  }

  /** As fanKeys, as the lock owner, blocking the main thread until the merged reply (only inside
   * withShardsLocked: a script whose keys span shards); null when a shard gave none in time. */
  fanKeysSync(idx: number, a: ArgList, first: number, last: number, step: number, proto: 2 | 3, timeoutMs: number): Buffer | null {
    const g = this.groupKeys(a, first, last, step);
    let reply: Buffer | null = null;
    const sink = { deliver: (_seq: number, buf: Uint8Array, off: number, len: number): void => void (reply = Buffer.from(buf.subarray(off, off + len))) };
    const gather = new Gather(sink, 0, COMMANDS[idx]!.merge!, g.shards.length, g.order, g.keys);
    const got = new Uint8Array(g.shards.length);
    // Each part is waited for on its own shard's ring (a wait drains that ring only).
    const part = { db: this.lockedDb, deliver: (p: number, buf: Uint8Array, off: number, len: number): void => {
      got[p] = 1;
      gather.deliver(p, buf, off, len);
    } };
    g.shards.forEach((s, p) => this.links[s]!.send(part, p, idx, proto, a, g.subsets[p]!, true));
    const deadline = performance.now() + timeoutMs;
    for (let p = 0; p < g.shards.length; p++) {
      if (!this.links[g.shards[p]!]!.waitUntil(() => got[p] === 1, Math.max(0, deadline - performance.now()))) return null;
    }
    return reply;
  }

  /** The keys' shards, each with its arguments (a key with its step's arguments, in the client's
   * order) and the positions of its keys among all of them. */
  private groupKeys(a: ArgList, first: number, last: number, step: number): { shards: number[]; subsets: ArgSubset[]; order: number[][]; keys: number } {
    const groups = new Map<number, number[]>();
    const order = new Map<number, number[]>();
    let k = 0;
    for (let i = first; i <= last; i += step, k++) {
      const s = this.shardOfArg(a, i);
      let g = groups.get(s);
      if (!g) {
        g = [];
        groups.set(s, g);
        order.set(s, []);
      }
      for (let j = 0; j < step; j++) g.push(i + j);
      order.get(s)!.push(k);
    }
    const shards = [...groups.keys()];
    return { shards, subsets: shards.map((s) => subsetOf(groups.get(s)!)), order: shards.map((s) => order.get(s)!), keys: k };
  }

  /** Sends a command to every shard and merges the parts. */
  fanAll(client: TurnClient, idx: number, a: ArgList): void {
    const gather = new Gather(client, client.takeSeq(), COMMANDS[idx]!.merge ?? 'ok', this.links.length, null, 0);
    this.links.forEach((l, part) => l.send(gather, part, idx, client.proto, a, null));
    this.scheduleTurn();
  }

  /** The database of the client whose main-thread handler runs now (set by the dispatcher just
   * before it calls one): the locked calls that handler asks for run in it. */
  handlerDb = 0;
  /** The database of the locked operation running now (withShardsLocked: one at a time). */
  private lockedDb = 0;

  /** See ServerApi.setLockedDb. */
  setLockedDb(db: number): number {
    const was = this.lockedDb;
    this.lockedDb = db;
    return was;
  }

  /** Runs a shard command for a main-thread command; resolves with its raw reply. */
  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3, owner = false, db = 0): Promise<Buffer> {
    const a = argListOf(args);
    const idx = lookupCommand(a.buf, a.off[0]!, a.len[0]!);
    if (idx < 0) return Promise.reject(new Error(`no such shard command ${String(args[0])}`));
    const sink = new PromiseSink(db);
    this.links[shard]!.send(sink, 0, idx, proto, a, null, owner);
    this.scheduleTurn();
    return sink.promise;
  }

  /** Runs a shard command as the lock owner and blocks the main thread until its reply (only
   * inside withShardsLocked: a script whose keys span shards); null when the shard gave none
   * within timeoutMs (it is restarting). */
  callShardSync(shard: number, args: ArgList, proto: 2 | 3, timeoutMs: number): Buffer | null {
    const idx = lookupCommand(args.buf, args.off[0]!, args.len[0]!);
    if (idx < 0) return null;
    let reply: Buffer | null = null;
    const link = this.links[shard]!;
    // `script`: a script's call (its only user), as SLOWLOG shows it (server/slow-feed.ts).
    link.send({ db: this.lockedDb, script: true, deliver: (_seq, buf, off, len) => (reply = Buffer.from(buf.subarray(off, off + len))) }, 0, idx, proto, args, null, true);
    link.waitUntil(() => reply !== null, timeoutMs);
    return reply;
  }

  /** Runs fn while the listed shards take nothing but fn's own calls; locks in ascending order,
   * one locked operation at a time. */
  withShardsLocked<T>(shards: number[], fn: (call: ShardCaller) => Promise<T>): Promise<T> {
    const involved = [...new Set(shards)].sort((x, y) => x - y);
    // The database of the handler that asks for the lock (handlers ask before their first await).
    const dbOfHandler = this.handlerDb;
    const call: ShardCaller = (shard, args, proto, db) => this.callShard(shard, args, proto, true, db ?? dbOfHandler);
    const run = async (): Promise<T> => {
      this.lockedDb = dbOfHandler;
      for (const s of involved) this.links[s]!.lock();
      try {
        return await fn(call);
      } finally {
        for (const s of involved) this.links[s]!.unlock();
      }
    };
    const p = this.lockChain.then(run, run);
    this.lockChain = p.catch(() => undefined);
    return p;
  }

  // --- the end of a turn ------------------------------------------------------------------------

  /** `client` has output for the end of this turn. */
  markDirty(client: TurnClient): void {
    this.dirty.add(client);
    this.scheduleTurn();
  }

  /** Requests queued by a socket read go out with those of every other read of this event-loop
   * turn, in one publish and at most one wake-up per shard (flushTurn). Publishing after each
   * read instead woke a sleeping shard for nearly every request at -P 1: 0.7 wake-ups per request,
   * and 20-35% more CPU per request (bench/ANALYSIS.md). */
  scheduleTurn(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushTurn());
    }
  }

  /** End of an event-loop turn: one ring publish per shard, one socket write per connection. */
  flushTurn(): void {
    this.flushScheduled = false;
    this.beforePublish();
    for (const l of this.links) l.flush();
    // Replies to a few requests come back within microseconds: wait for them (briefly, blocking)
    // so that they leave in this turn instead of the next one.
    let deadline = -1;
    for (const l of this.links) {
      if (l.inFlight === 0) continue;
      if (deadline < 0) deadline = performance.now() + AWAIT_REPLIES_MS;
      l.awaitReplies(deadline);
    }
    for (const c of this.dirty) c.flush();
    this.dirty.clear();
  }

  // --- backpressure -----------------------------------------------------------------------------

  waitForShards(client: TurnClient): void {
    this.waitingForShards.add(client);
  }

  /** A shard drained its replies: resume sockets paused for backpressure once none is behind. */
  afterReplies(): void {
    if (this.waitingForShards.size === 0 || this.backlogged) return;
    const waiting = [...this.waitingForShards];
    this.waitingForShards.clear();
    for (const c of waiting) c.updatePause();
  }

  /** A client is gone: no output, no resume. */
  forget(client: TurnClient): void {
    this.dirty.delete(client);
    this.waitingForShards.delete(client);
  }
}

/** The argument subset of one shard's part: the command name, then the given arguments. */
function subsetOf(argIdx: number[]): ArgSubset {
  const n = argIdx.length + 1;
  const idx = new Int32Array(n);
  idx[0] = 0;
  for (let i = 0; i < argIdx.length; i++) idx[i + 1] = argIdx[i]!;
  return { idx, count: n };
}
