// The main thread's end of one shard actor: its request and reply rings, the FIFO of reply targets
// (a shard answers strictly in request order, so the n-th reply belongs to the n-th target), an
// overflow queue for frames that find the ring full or the shard locked, and the worker's life.
// The keyspace and the rings belong to the link, not the worker: a restarted worker gets them back.
// Bound: the overflow queue grows only while the server keeps reading; `backlogged` tells the
// server to pause its sockets until the shard catches up.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Remote } from 'comlink';
import type { Logger } from 'pino';
import { Keyspace } from '../keyspace/keyspace.js';
import { RingConsumer, RingProducer, createRingMemory, maxFrameBytes, type RingMemory } from './ring.js';
import {
  FLAG_OVERSIZE,
  REP_HEADER,
  REP_KIND,
  REPLY_OVERSIZE,
  REPLY_RING_BYTES,
  REP_SEQ,
  REPLY_WAKE,
  REPLY_WAKE_OVERSIZE,
  REPLY_PUBLISH,
  REPLY_PUBLISH_OVERSIZE,
  REPLY_SLOW,
  WAKE_HEADER,
  REQ_ARGC,
  REQ_CMD,
  REQ_DB,
  REQ_USER,
  REQ_FLAGS,
  REQ_HEADER,
  REQ_PROTO,
  REQ_SEQ,
  REQUEST_RING_BYTES,
} from './frames.js';
import type { ArgList, ShardSettings, ShardStatsReport } from '../core/types.js';
import { userSlotOf, type ArgSubset, type BlockingHooks, type FeedListener, type PublishHooks, type ReplySink, type ShardPort, type SlowHook } from './shard-port.js';
import { forEachRecord, type PublishMode } from './publish-queue.js';
import { wrapControl, releaseControl, type ShardControl } from './control-rpc.js';
import type { ShardWorkerData } from './shard-runtime.js';
import { ERR } from '../core/errors.js';
import { createClaimWords } from './wait-claims.js';
import type { LoadPlan, LoadReport } from '../persistence/shard-persistence.js';
import type { SnapshotResult } from '../persistence/snapshot-job.js';
import { recordEvent } from '../observability/events.js';

interface Pending {
  frame: Buffer;
  oversize: boolean;
}

const SHARD_WORKER_URL = new URL('../../actors/shard.js', import.meta.url);
/** Overflow bytes past which the server stops reading sockets. */
const BACKLOG_BYTES = 4 * 1024 * 1024;
const RESTART_WINDOW_MS = 10_000;
/** awaitReplies() waits only with at most this many requests in flight: a few (the -P 1 regime)
 * come back within microseconds, saving the main thread an event-loop turn and the shard's wake-up
 * task; with many, the main thread would idle through a long batch it could overlap with reading
 * sockets (measured: bench/ANALYSIS.md, item 13). */
const AWAIT_IN_FLIGHT_MAX = 32;
const RESTARTS_IN_WINDOW_MAX = 5;

export class ShardLink implements ShardPort {
  readonly keyspace: SharedArrayBuffer;
  /** Memory of every database the shard created (index 0: keyspace), for its next incarnation. */
  private dbMemory: Array<SharedArrayBuffer | null>;
  private readonly reqMem: RingMemory;
  private readonly repMem: RingMemory;
  private readonly req: RingProducer;
  private readonly rep: RingConsumer;
  private readonly maxFrame: number;
  private worker: Worker | null = null;
  private sideToShard: MessagePort | null = null;
  private sideFromShard: MessagePort | null = null;
  control: Remote<ShardControl> | null = null;
  onSlow: SlowHook | null = null;

  // FIFO of reply targets for frames in the ring and then in overflow, in send order.
  private sinks: ReplySink[] = [];
  private seqs: number[] = [];
  private head = 0;
  private overflow: Pending[] = [];
  private overflowHead = 0;
  private overflowBytes = 0;
  /** While locked by a cross-shard operation, other frames wait in `held` (their sinks too). */
  private locked = false;
  private held: Array<Pending & { sink: ReplySink; seq: number }> = [];
  private dirty = false;
  private lastSignal = 0;
  restarts = 0;
  private recentCrashes: number[] = [];
  private stopping = false;
  private readyResolve: (() => void) | null = null;
  ready: Promise<void>;
  /** Rejects the control calls of the current incarnation when it dies (comlink would wait forever). */
  private died: Promise<never> = new Promise<never>(() => undefined);
  private dieNow: (err: Error) => void = () => undefined;
  /** Hands each message a shard published to the publish hooks (none: dropped, as in tests). */
  private readonly onPublish = (channel: Uint8Array, message: Uint8Array, mode: PublishMode): void => {
    this.publishing?.onPublish(channel, message, mode, this.lastSink);
  };

  constructor(
    readonly id: number,
    private settings: ShardSettings,
    private readonly log: Logger,
    private readonly onDrained: () => void,
    private readonly onFeed: FeedListener,
    private readonly blocking: BlockingHooks = noBlocking(),
    private readonly publishing: PublishHooks | null = null,
  ) {
    this.keyspace = Keyspace.createMemory();
    this.dbMemory = [this.keyspace];
    this.reqMem = createRingMemory(REQUEST_RING_BYTES);
    this.repMem = createRingMemory(REPLY_RING_BYTES);
    this.req = new RingProducer(this.reqMem);
    this.rep = new RingConsumer(this.repMem);
    this.maxFrame = maxFrameBytes(REQUEST_RING_BYTES) - 8;
    this.ready = new Promise((r) => (this.readyResolve = r));
    this.spawn();
    this.armReplies();
  }

  private spawn(): void {
    const toShard = new MessageChannel();
    const fromShard = new MessageChannel();
    const control = new MessageChannel();
    const data: ShardWorkerData = {
      shardId: this.id,
      restarts: this.restarts,
      keyspace: this.keyspace,
      requests: this.reqMem,
      replies: this.repMem,
      sideIn: toShard.port2,
      sideOut: fromShard.port1,
      control: control.port2,
      settings: this.settings,
      claims: this.blocking.claims,
      dbMemory: this.dbMemory,
    };
    const worker = new Worker(SHARD_WORKER_URL, {
      workerData: data,
      transferList: [toShard.port2, fromShard.port1, control.port2],
      name: `shard-${this.id}`,
    });
    this.worker = worker;
    this.sideToShard = toShard.port1;
    this.sideFromShard = fromShard.port2;
    this.control = wrapControl(control.port1);
    control.port1.on('message', (m: { feed?: Uint8Array; dbs?: Array<SharedArrayBuffer | null> }) => {
      if (m?.feed !== undefined) this.onFeed(this.id, m.feed);
      else if (m?.dbs !== undefined) this.dbMemory = m.dbs;
    });
    this.died = new Promise<never>((_, reject) => (this.dieNow = reject));
    this.died.catch(() => undefined);
    worker.on('message', (m: { progress?: string }) => {
      if (typeof m?.progress === 'string') this.log.info({ shard: this.id }, m.progress);
    });
    worker.once('online', () => {
      this.readyResolve?.();
      this.readyResolve = null;
    });
    worker.on('error', (err) => {
      // An InvariantError (util/assert.ts) lands here too: the shard stopped on a broken invariant.
      this.log.error({ shard: this.id, err: err.message, kind: err.name }, 'shard worker crashed');
    });
    worker.once('exit', (code) => this.onExit(worker, code));
  }

  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    this.dieNow(new Error(`shard ${this.id} worker exited (code ${code})`));
    if (this.control) releaseControl(this.control);
    this.control = null;
    this.sideToShard?.close();
    this.worker = null;
    if (this.stopping) return;
    // Replies the shard published before dying are real: deliver them, then fail the rest in flight.
    this.drainReplies();
    const inRing = this.sinks.length - this.head - (this.overflow.length - this.overflowHead);
    const err = Buffer.from(`-${ERR.shardCrashed(this.id)}\r\n`);
    for (let i = 0; i < inRing; i++) this.deliverNext(err, 0, err.length);
    // The worker's registry of blocked clients died with it.
    this.blocking.onRestart(this.id);
    this.sideFromShard?.close();
    this.req.reset();
    this.rep.reset();
    this.req.resync();
    this.rep.resync();
    this.outOfStep = false;
    this.restarts++;
    const now = Date.now();
    this.recentCrashes = this.recentCrashes.filter((t) => now - t < RESTART_WINDOW_MS);
    this.recentCrashes.push(now);
    const delayMs = this.recentCrashes.length > RESTARTS_IN_WINDOW_MAX ? 1000 : 0;
    this.log.warn({ shard: this.id, code, failedInFlight: inRing, restarts: this.restarts, delayMs }, 'restarting shard worker on its memory');
    recordEvent('shard-restart', `shard ${this.id} restarted on its memory (exit code ${code}, restart ${this.restarts}, ${inRing} commands in flight failed)`);
    setTimeout(() => {
      if (this.stopping) return;
      this.spawn();
      this.flushOverflow();
      this.flush();
    }, delayMs);
  }

  /** True while frames wait outside the ring in amounts that should pause socket reads. */
  get backlogged(): boolean {
    return this.overflowBytes > BACKLOG_BYTES;
  }

  /** Frames not yet answered (in the ring or waiting). */
  get inFlight(): number {
    return this.sinks.length - this.head;
  }

  /** Queues one command frame: args (or the subset of them) with the command index. While the
   * link is locked, only the lock owner's frames (`owner`) go ahead; others are held back. */
  send(sink: ReplySink, seq: number, cmdIndex: number, proto: 2 | 3, a: ArgList, subset: ArgSubset | null, owner = false): void {
    const count = subset ? subset.count : a.argc;
    let len = REQ_HEADER;
    for (let k = 0; k < count; k++) {
      const i = subset ? subset.idx[k]! : k;
      len += 4 + a.len[i]!;
    }
    if (this.locked && !owner) {
      const frame = Buffer.allocUnsafe(len);
      encodeFrame(frame, new DataView(frame.buffer, frame.byteOffset, frame.length), 0, seq, cmdIndex, proto, sink.db ?? 0, userSlotOf(sink), a, subset, count);
      this.held.push({ frame, oversize: len > this.maxFrame, sink, seq });
      this.overflowBytes += len;
      return;
    }
    this.sinks.push(sink);
    this.seqs.push(seq);
    if (this.overflowHead === this.overflow.length && len <= this.maxFrame && this.worker !== null) {
      const p = this.req.reserve(len);
      if (p >= 0) {
        encodeFrame(this.req.bytes, this.req.view, p, seq, cmdIndex, proto, sink.db ?? 0, userSlotOf(sink), a, subset, count);
        this.dirty = true;
        return;
      }
    }
    const frame = Buffer.allocUnsafe(len);
    encodeFrame(frame, new DataView(frame.buffer, frame.byteOffset, frame.length), 0, seq, cmdIndex, proto, sink.db ?? 0, userSlotOf(sink), a, subset, count);
    this.overflow.push({ frame, oversize: len > this.maxFrame });
    this.overflowBytes += len;
    this.flushOverflow();
  }

  lock(): void {
    this.locked = true;
  }

  /** Releases the frames held back during a lock, in their order. */
  unlock(): void {
    this.locked = false;
    const held = this.held;
    this.held = [];
    for (const h of held) {
      this.sinks.push(h.sink);
      this.seqs.push(h.seq);
      this.overflow.push({ frame: h.frame, oversize: h.oversize });
    }
    this.flushOverflow();
    this.flush();
  }

  /** Moves waiting frames into the ring while there is room. */
  flushOverflow(): void {
    if (this.worker === null) return;
    while (this.overflowHead < this.overflow.length) {
      const item = this.overflow[this.overflowHead]!;
      const f = item.frame;
      if (item.oversize) {
        const p = this.req.reserve(REQ_HEADER);
        if (p < 0) break;
        this.req.bytes.fill(0, p, p + REQ_HEADER);
        this.req.bytes[p + REQ_FLAGS] = FLAG_OVERSIZE;
        this.sideToShard!.postMessage(f);
      } else {
        const p = this.req.reserve(f.length);
        if (p < 0) break;
        this.req.bytes.set(f, p);
      }
      this.overflowHead++;
      this.overflowBytes -= f.length;
      this.dirty = true;
    }
    if (this.overflowHead === this.overflow.length && this.overflowHead > 0) {
      this.overflow = [];
      this.overflowHead = 0;
    }
  }

  /** Publishes queued frames and wakes the shard: once per event-loop turn. */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.req.commit();
    this.req.notify();
  }

  awaitReplies(deadlineMs: number): void {
    const n = this.inFlight;
    if (n === 0 || n > AWAIT_IN_FLIGHT_MAX || this.worker === null || this.locked) return;
    if (this.rep.signal() === this.lastSignal) {
      const ms = deadlineMs - performance.now();
      if (ms <= 0) return;
      // A futex wait: the shard's notify wakes it directly (the armed waitAsync fires too, and
      // then finds nothing new), and the core is free for the shard meanwhile.
      Atomics.wait(this.rep.signalWord(), RingConsumer.SIGNAL_INDEX, this.lastSignal, ms);
      if (this.rep.signal() === this.lastSignal) return;
    }
    this.drainReplies();
    this.flushOverflow();
    this.flush();
    this.onDrained();
  }

  waitUntil(done: () => boolean, timeoutMs: number): boolean {
    this.flushOverflow();
    this.flush();
    const end = performance.now() + timeoutMs;
    while (!done()) {
      if (this.worker === null) return false;
      if (this.rep.signal() === this.lastSignal) {
        const ms = end - performance.now();
        if (ms <= 0) return false;
        Atomics.wait(this.rep.signalWord(), RingConsumer.SIGNAL_INDEX, this.lastSignal, Math.min(ms, 100));
      }
      this.drainReplies();
      this.flushOverflow();
      this.flush();
    }
    return true;
  }

  private armReplies(): void {
    const sleeping = this.rep.sleep(this.lastSignal);
    if (sleeping) {
      void sleeping.then(() => {
        this.rep.awake();
        this.onReplies();
      });
    } else {
      setImmediate(() => this.onReplies());
    }
  }

  private onReplies(): void {
    if (this.stopping) return;
    this.drainReplies();
    this.flushOverflow();
    this.flush();
    this.onDrained();
    this.armReplies();
  }

  private drainReplies(): void {
    this.lastSignal = this.rep.signal();
    const rep = this.rep;
    // Out of step with the worker (see broken()): no reply can be matched to its request any more.
    while (!this.outOfStep) {
      const p = rep.peek();
      if (p < 0) break;
      const len = rep.frameLength(p);
      const kind = rep.view.getUint32(p + REP_KIND, true);
      if (kind === REPLY_WAKE) {
        // A blocked client's reply: outside the request FIFO.
        const slot = rep.view.getUint32(p + REP_SEQ, true);
        const gen = rep.view.getUint32(p + REP_HEADER, true);
        this.blocking.onWake(slot, gen, rep.bytes, p + REP_HEADER + WAKE_HEADER, len - REP_HEADER - WAKE_HEADER);
      } else if (kind === REPLY_WAKE_OVERSIZE) {
        const msg = receiveMessageOnPort(this.sideFromShard!);
        if (!msg) {
          this.broken('an oversize wake frame without its message');
          break;
        }
        const big = msg.message as Uint8Array;
        rep.addSideBytes(-big.length);
        const slot = rep.view.getUint32(p + REP_SEQ, true);
        const gen = new DataView(big.buffer, big.byteOffset, big.byteLength).getUint32(0, true);
        this.blocking.onWake(slot, gen, big, WAKE_HEADER, big.length - WAKE_HEADER);
      } else if (kind === REPLY_PUBLISH) {
        // Messages the shard published: outside the request FIFO too.
        forEachRecord(rep.bytes, p + REP_HEADER, len - REP_HEADER, this.onPublish);
      } else if (kind === REPLY_PUBLISH_OVERSIZE) {
        const msg = receiveMessageOnPort(this.sideFromShard!);
        if (!msg) {
          this.broken('an oversize publish frame without its message');
          break;
        }
        const big = msg.message as Uint8Array;
        rep.addSideBytes(-big.length);
        forEachRecord(big, 0, big.length, this.onPublish);
      } else if (kind === REPLY_SLOW) {
        // The slow-command records of the reply delivered just before.
        this.onSlow?.(rep.bytes, p + REP_HEADER, len - REP_HEADER, this.lastSink);
      } else if (kind === REPLY_OVERSIZE) {
        const msg = receiveMessageOnPort(this.sideFromShard!);
        if (!msg) {
          this.broken('an oversize reply frame without its message');
          break;
        }
        const big = msg.message as Uint8Array;
        rep.addSideBytes(-big.length);
        this.deliverNext(big, 0, big.length);
      } else {
        this.deliverNext(rep.bytes, p + REP_HEADER, len - REP_HEADER);
      }
      rep.release(p);
    }
    rep.flushRelease();
  }

  /** True from a broken ring invariant until the worker is replaced: replies are not delivered
   * (they could go to the wrong requests); the ones in flight get the crash error instead. */
  private outOfStep = false;
  /** The sink of the reply delivered last: publish records after it came from its command. */
  private lastSink: ReplySink | null = null;

  /** The main thread's end found the rings out of step with the worker: as a broken invariant
   * inside a shard does, this ends the worker, and the supervisor restarts it on its memory
   * (onExit fails the requests in flight and resets the rings). */
  private broken(what: string): void {
    if (this.outOfStep) return;
    this.outOfStep = true;
    this.log.error({ shard: this.id }, `shard link out of step with its worker: ${what}; restarting the worker`);
    void this.worker?.terminate();
  }

  private deliverNext(buf: Uint8Array, off: number, len: number): void {
    if (this.head >= this.sinks.length) {
      this.broken('a reply without a waiting request');
      return;
    }
    const sink = this.sinks[this.head]!;
    const seq = this.seqs[this.head]!;
    this.lastSink = sink;
    this.head++;
    if (this.head === this.sinks.length) {
      this.sinks.length = 0;
      this.seqs.length = 0;
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.sinks.length) {
      this.sinks = this.sinks.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    sink.deliver(seq, buf, off, len);
  }

  stats(): Promise<ShardStatsReport> {
    const c = this.control;
    if (!c) return Promise.reject(new Error(`shard ${this.id} is restarting`));
    return c.stats().then((s) => ({ ...s, restarts: this.restarts }));
  }

  resetStats(): Promise<void> {
    return this.control?.resetStats().catch(() => undefined) ?? Promise.resolve();
  }

  configure(settings: ShardSettings): Promise<void> {
    this.settings = settings;
    // A shard without a control link (restarting) starts with this.settings.
    return this.control?.configure(settings).catch(() => undefined) ?? Promise.resolve();
  }

  load(plan: LoadPlan): Promise<LoadReport> {
    return this.controlCall((c) => c.load(plan));
  }

  snapshotWait(): Promise<SnapshotResult> {
    return this.controlCall((c) => c.snapshotWait());
  }

  feedBarrier(): Promise<void> {
    return this.controlCall((c) => c.feedBarrier()).then(() => undefined);
  }

  private controlCall<T>(fn: (c: Remote<ShardControl>) => Promise<T>): Promise<T> {
    const c = this.control;
    if (!c) return Promise.reject(new Error(`shard ${this.id} is restarting`));
    return Promise.race([fn(c), this.died]);
  }

  async stop(): Promise<void> {
    // The log's last records are written and synced by the shard itself before it goes.
    if (this.control && !this.stopping) {
      const closed = this.controlCall((c) => c.close()).catch(() => undefined);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    this.stopping = true;
    const w = this.worker;
    this.worker = null;
    if (this.control) releaseControl(this.control);
    this.control = null;
    this.sideToShard?.close();
    this.sideFromShard?.close();
    if (w) await w.terminate();
  }
}

/** For a link whose server has no blocked clients to hear of (tests). */
function noBlocking(): BlockingHooks {
  return { claims: createClaimWords(), onWake: () => undefined, onRestart: () => undefined };
}

function encodeFrame(
  dst: Uint8Array,
  dv: DataView,
  p: number,
  seq: number,
  cmdIndex: number,
  proto: 2 | 3,
  db: number,
  user: number,
  a: ArgList,
  subset: ArgSubset | null,
  count: number,
): void {
  dv.setUint32(p + REQ_SEQ, seq, true);
  dv.setUint16(p + REQ_CMD, cmdIndex, true);
  dst[p + REQ_PROTO] = proto;
  dst[p + REQ_FLAGS] = 0;
  dv.setUint32(p + REQ_ARGC, count, true);
  dv.setUint32(p + REQ_DB, db, true);
  dv.setUint32(p + REQ_USER, user, true);
  let q = p + REQ_HEADER;
  const src = a.buf;
  for (let k = 0; k < count; k++) {
    const i = subset ? subset.idx[k]! : k;
    const off = a.off[i]!;
    const l = a.len[i]!;
    dv.setUint32(q, l, true);
    q += 4;
    if (l < 48) {
      for (let j = 0; j < l; j++) dst[q + j] = src[off + j]!;
    } else {
      dst.set(src.subarray(off, off + l), q);
    }
    q += l;
  }
}
