// A shard executed on the main thread (`shard-threads no`, an option: the default is shard
// threads, which measured ahead at -P 16 and level at -P 1 on 2 cores, see bench/ANALYSIS.md). Same keyspace, same
// handlers and the same SharedArrayBuffer memory as a worker shard; a request runs when sent and
// its reply is delivered at once. While locked by a cross-shard operation, other requests wait.
// A DEBUG SHARD-CRASH answers that command with the crash error and keeps the memory, as a
// restarted worker would.

import { Keyspace } from '../keyspace/keyspace.js';
import { ShardExecutor, isShardCrash } from './shard-runtime.js';
import type { ArgList, ShardSettings, ShardStatsReport } from '../core/types.js';
import type { ShardCommand } from './shard-context.js';
import { userSlotOf, type ArgSubset, type BlockingHooks, type FeedListener, type PublishHooks, type ReplySink, type ShardPort, type SlowHook } from './shard-port.js';
import { forEachRecord, type PublishMode } from './publish-queue.js';
import { ERR } from '../core/errors.js';
import type { LoadPlan, LoadReport } from '../persistence/shard-persistence.js';
import type { SnapshotResult } from '../persistence/snapshot-job.js';

interface Held {
  sink: ReplySink;
  seq: number;
  cmdIndex: number;
  proto: 2 | 3;
  args: ArgList;
}

export class InlineShard implements ShardPort {
  readonly ready = Promise.resolve();
  readonly backlogged = false;
  readonly inFlight = 0;
  restarts = 0;
  onSlow: SlowHook | null = null;
  private readonly exec: ShardExecutor;
  private locked = false;
  private held: Held[] = [];
  private deferred: Array<{ sink: ReplySink; seq: number; reply: Buffer }> = [];

  constructor(
    readonly id: number,
    settings: ShardSettings,
    onFeed: FeedListener,
    commands: readonly ShardCommand[],
    private readonly blocking: BlockingHooks,
    private readonly publishing: PublishHooks | null = null,
  ) {
    this.exec = new ShardExecutor(commands, id, Keyspace.createMemory(), settings, 0, (records) => onFeed(id, records), blocking.claims);
    this.exec.onPublishes = () => {
      this.deliverPublishes();
      this.deliverSlow(null);
    };
  }

  private readonly onPublish = (channel: Uint8Array, message: Uint8Array, mode: PublishMode): void => {
    this.publishing?.onPublish(channel, message, mode, this.lastSink);
  };
  /** The sink of the command run last: its publish records came from it. */
  private lastSink: ReplySink | null = null;

  /** Hands what the last command (or a cron step) published to the publish hooks. */
  private deliverPublishes(): void {
    const q = this.exec.publishes;
    if (q.length === 0) return;
    // Emptied first: a subscriber's delivery cannot run a command here, but nothing is sent twice.
    const n = q.length;
    q.length = 0;
    forEachRecord(q.bytes, 0, n, this.onPublish);
  }

  /** Replies to the blocked clients the last command served, after its own reply. */
  private deliverWakes(): void {
    const wakes = this.exec.wakes;
    if (wakes.length === 0) return;
    this.exec.wakes = [];
    for (const k of wakes) this.blocking.onWake(k.slot, k.gen, k.bytes, 0, k.bytes.length);
  }

  awaitReplies(): void {
    // Replies of an inline shard are delivered when sent.
  }

  waitUntil(done: () => boolean): boolean {
    // Requests run when sent; a reply held for the turn's group commit goes now.
    if (!done()) this.flush();
    return done();
  }

  send(sink: ReplySink, seq: number, cmdIndex: number, proto: 2 | 3, a: ArgList, subset: ArgSubset | null, owner = false): void {
    const args = subset ? pick(a, subset) : a;
    if (this.locked && !owner) {
      this.held.push({ sink, seq, cmdIndex, proto, args: copyArgs(args) });
      return;
    }
    this.run(sink, seq, cmdIndex, proto, args);
  }

  private run(sink: ReplySink, seq: number, cmdIndex: number, proto: 2 | 3, args: ArgList): void {
    const x = this.exec.args;
    x.buf = args.buf;
    x.off = args.off;
    x.len = args.len;
    x.argc = args.argc;
    const db = sink.db ?? 0;
    if (db !== this.exec.db) this.exec.selectDb(db);
    this.exec.userSlot = userSlotOf(sink);
    this.lastSink = sink;
    this.exec.ks.now = Date.now();
    this.exec.beginBatch();
    try {
      this.exec.run(cmdIndex, proto);
    } catch (e) {
      if (!isShardCrash(e)) throw e;
      this.restarts++;
      this.exec.wakes = [];
      this.exec.publishes.clear();
      this.exec.slow.clear();
      this.blocking.onRestart(this.id);
      const err = Buffer.from(`-${ERR.shardCrashed(this.id)}\r\n`);
      sink.deliver(seq, err, 0, err.length);
      return;
    }
    const w = this.exec.writer;
    if (this.exec.persist.syncBeforeReply) {
      // appendfsync always: the reply waits for the end of the turn, when the turn's records are
      // written and synced together (group commit), as a worker shard's batch does.
      this.deferred.push({ sink, seq, reply: Buffer.from(w.buf.subarray(0, w.length)) });
      this.deliverWakes();
      this.deliverPublishes();
      this.deliverSlow(sink);
      return;
    }
    sink.deliver(seq, w.buf, 0, w.length);
    this.deliverWakes();
    this.deliverPublishes();
    this.deliverSlow(sink);
  }

  /** Hands the slow-command records of the command just run (for `sink`) to the slow hook. */
  private deliverSlow(sink: ReplySink | null): void {
    const q = this.exec.slow;
    if (q.count === 0) return;
    this.onSlow?.(q.bytes, 0, q.length, sink);
    q.clear();
  }

  flush(): void {
    this.exec.endBatchTimed();
    this.deliverSlow(null);
    if (this.deferred.length === 0) return;
    const d = this.deferred;
    this.deferred = [];
    for (const r of d) r.sink.deliver(r.seq, r.reply, 0, r.reply.length);
  }

  lock(): void {
    this.locked = true;
  }

  unlock(): void {
    this.locked = false;
    const held = this.held;
    this.held = [];
    for (const h of held) this.run(h.sink, h.seq, h.cmdIndex, h.proto, h.args);
  }

  configure(settings: ShardSettings): Promise<void> {
    this.exec.configure(settings);
    return Promise.resolve();
  }

  stats(): Promise<ShardStatsReport> {
    return Promise.resolve({ ...this.exec.stats(), restarts: this.restarts });
  }

  resetStats(): Promise<void> {
    this.exec.resetStats();
    return Promise.resolve();
  }

  load(plan: LoadPlan): Promise<LoadReport> {
    return Promise.resolve(this.exec.load(plan));
  }

  snapshotWait(): Promise<SnapshotResult> {
    return this.exec.snapshotWait();
  }

  feedBarrier(): Promise<void> {
    this.exec.feedBarrier();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.flush();
    this.exec.close();
    return Promise.resolve();
  }
}

/** The arguments named by subset, as their own ArgList over the same bytes. */
function pick(a: ArgList, subset: ArgSubset): ArgList {
  const off = new Int32Array(subset.count);
  const len = new Int32Array(subset.count);
  for (let k = 0; k < subset.count; k++) {
    const i = subset.idx[k]!;
    off[k] = a.off[i]!;
    len[k] = a.len[i]!;
  }
  return { buf: a.buf, off, len, argc: subset.count };
}

/** A copy that stays valid after the receive buffer moves on (for requests held by a lock). */
function copyArgs(a: ArgList): ArgList {
  let total = 0;
  for (let i = 0; i < a.argc; i++) total += a.len[i]!;
  const buf = new Uint8Array(total);
  const off = new Int32Array(a.argc);
  const len = new Int32Array(a.argc);
  let p = 0;
  for (let i = 0; i < a.argc; i++) {
    buf.set(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!), p);
    off[i] = p;
    len[i] = a.len[i]!;
    p += a.len[i]!;
  }
  return { buf, off, len, argc: a.argc };
}
