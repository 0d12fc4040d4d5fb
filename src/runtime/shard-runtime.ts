// The shard actor's loop: drain the request ring, run each command against this shard's keyspace,
// put each reply in the reply ring, publish and notify once per batch. Idle, it sleeps in
// Atomics.waitAsync so that its event loop still serves control messages and the expire cycle.
// Contract: replies leave in request order, exactly one per request.

import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Keyspace, KeyspaceFullError } from '../keyspace/keyspace.js';
import { RespWriter } from '../protocol/resp-writer.js';
import { RingConsumer, RingProducer, maxFrameBytes, type RingMemory } from './ring.js';
import {
  FLAG_OVERSIZE,
  REP_HEADER,
  REP_KIND,
  REP_SEQ,
  REPLY_INLINE,
  REPLY_OVERSIZE,
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
} from './frames.js';
import type { ArgList, ShardSettings, ShardStatsReport } from '../core/types.js';
import type { ShardCommand, ShardContext } from './shard-context.js';
import { ERR } from '../core/errors.js';
import { exposeControl } from './control-rpc.js';
import { InvariantError, assert, isInvariantError } from '../util/assert.js';
import { CommandLatency } from '../observability/latency.js';
import { SLOW_EVENT, SLOW_FAST, SLOW_SCRIPT, SLOW_SKIP_LOG, SlowRecords } from '../observability/slowlog.js';
import { osThreadId } from '../observability/thread-id.js';
import { ShardPersistence, type FeedSink, type LoadPlan, type LoadReport } from '../persistence/shard-persistence.js';
import type { SnapshotResult } from '../persistence/snapshot-job.js';
import { ShardWaiters, type Waiter } from './shard-waiters.js';
import { createClaimWords } from './wait-claims.js';
import { PublishQueue, recordLength } from './publish-queue.js';
import { NOTIFY_EVICTED, NOTIFY_EXPIRED, NOTIFY_KEYEVENT, NOTIFY_KEYSPACE, NOTIFY_NEW, eventClassFlag } from '../core/keyspace-events.js';

/** LATENCY's name of the shard's expire cycle (Redis's), as a one-argument list. */
const EXPIRE_CYCLE = eventName('expire-cycle');
/** The log's write and fsync of a batch under appendfsync always (Redis's name), and its write
 * under the other policies. */
const AOF_FSYNC_ALWAYS = eventName('aof-fsync-always');
const AOF_WRITE = eventName('aof-write');

function eventName(name: string): ArgList {
  return { buf: Buffer.from(name, 'latin1'), off: Int32Array.of(0), len: Int32Array.of(name.length), argc: 1 };
}

/** A reply for a blocked client, waiting to leave after the reply of the command that served it. */
export interface Wake {
  slot: number;
  gen: number;
  bytes: Uint8Array;
}

export interface ShardWorkerData {
  shardId: number;
  restarts: number;
  keyspace: SharedArrayBuffer;
  requests: RingMemory;
  replies: RingMemory;
  /** Oversize request frames arrive here; oversize replies leave by sideOut. */
  sideIn: MessagePort;
  sideOut: MessagePort;
  control: MessagePort;
  settings: ShardSettings;
  /** The blocked clients' claim words (wait-claims.ts), shared with the main thread. */
  claims: Int32Array;
  /** Memory of the numbered databases above 0 that earlier incarnations created (null: none). */
  dbMemory: Array<SharedArrayBuffer | null>;
}

/** Oversize reply bytes in flight beside the reply ring (posted, not yet taken by the main thread)
 * past which the shard waits, as it does when the ring is full. */
const SIDE_REPLY_BYTES_MAX = 16 * 1024 * 1024;
/** Frames handled before the loop yields to its event loop (control messages, timers). */
const BATCH_FRAMES = 512;
/** Room reserved in the reply ring for each reply before its command runs: most replies fit, so
 * they are encoded in place; a longer one moves to the writer's own buffer and is copied. */
const BORROW_BYTES = 4096;

/** Publish records packed into one REPLY_PUBLISH frame at most (a longer record gets its own). */
const PUBLISH_FRAME_BYTES = 64 * 1024;
const NO_BYTES = new Uint8Array(0);

/** An event name's bytes and its keyevent channel, encoded once per name. */
interface EventName {
  name: Uint8Array;
  channel: Uint8Array;
}

/** DEBUG SHARD-CRASH: an invariant broken on request, so that it takes the very path a real one
 * takes (out of run(), out of the batch, out of the worker, restarted by the supervisor). */
class ShardCrash extends InvariantError {}


/** One shard's keyspace and command execution, independent of how requests reach it (rings from
 * a worker thread, or direct calls on the main thread). Replies land in `writer`. */
export class ShardExecutor {
  /** The keyspace of the database the running command is in (db 0 between frames of db 0). */
  ks: Keyspace;
  /** Its number (SELECT). */
  db = 0;
  /** The REQ_USER word of the request running (frames.ts): whose permissions a script's
   * redis.call is checked against; 0 = nothing checked. */
  userSlot = 0;
  /** Keyspaces by database: db 0 always, the others created on first use, each on its own memory
   * (kept by the supervisor through onDbs, so a restarted shard re-attaches them all). Every
   * database is logged, snapshotted and replicated (DB records, docs/databases.md). */
  private readonly dbs: Array<Keyspace | null>;
  /** Told the memory of every database after one is created or two are swapped (SWAPDB). */
  onDbs: ((memory: Array<SharedArrayBuffer | null>) => void) | null = null;
  /** `__keyspace@<db>__:` and `__keyevent@<db>__:` by database, encoded on first use. */
  private readonly prefixes: Array<{ space: Uint8Array; event: Uint8Array } | undefined> = [];
  readonly persist: ShardPersistence;
  readonly writer = new RespWriter(64 * 1024);
  readonly args: ArgList = { buf: new Uint8Array(0), off: new Int32Array(64), len: new Int32Array(64), argc: 0 };
  private readonly ctx: ShardContext;
  private settings: ShardSettings;
  private commandsProcessed = 0;
  /** Execution time per command (what /metrics reports), and its total in ms (busy time). */
  private readonly latency: CommandLatency;
  /** By command index: 1 for commands flagged write (refused while the log cannot be written). */
  private readonly writes: Uint8Array;
  /** By command index: SLOW_FAST / SLOW_SKIP_LOG of its slow-command records. */
  private readonly slowFlags: Uint8Array;
  /** Commands taking this many microseconds or more are queued in `slow` (ShardSettings.slowCaptureUs). */
  private slowCaptureUs = Infinity;
  /** Slow-command records since the last hand-over; whoever runs the executor sends them after
   * the reply of the command that queued them. */
  readonly slow = new SlowRecords();
  /** The command run() is running (its nested commands' records tell a script's from EXEC's). */
  private topCmd = -1;
  /** Command index by lower-case name (commandNamed; off the hot path). */
  private readonly byName: Map<string, number>;
  private busyMs = 0;
  private cronTimer: NodeJS.Timeout | null = null;
  /** Clients blocked on keys of the running command's database (one registry per database). */
  waiters: ShardWaiters;
  private readonly waitersByDb: ShardWaiters[] = [];
  private readonly wakeWriter = new RespWriter(4096);
  /** Replies to blocked clients served by the last command, in the order they were served. */
  wakes: Wake[] = [];
  /** Index of the command that serves blocked clients on ready keys (-1: none in the table). */
  private readonly serveIndex: number;
  /** Messages published since the last hand-over (ShardContext.publish, keyspace events). */
  readonly publishes = new PublishQueue();
  /** Set by whoever runs the executor: sends the queued publishes now (after a cron step). */
  onPublishes: (() => void) | null = null;
  /** notify-keyspace-events flags in force (0: none; the only test a handler's notify() costs
   * then), and where the main thread writes them (ShardSettings.notifyWord). */
  private notifyFlags = 0;
  private appliedWord = 0;
  private notifyWord: Int32Array;
  private readonly eventNames = new Map<string, EventName>();

  /** @param commands the command table (indexes are the frames' command numbers), handed down by
   *   the layer above: the runtime runs handlers, it does not know them. */
  constructor(
    private readonly commands: readonly ShardCommand[],
    readonly shardId: number,
    memory: SharedArrayBuffer,
    settings: ShardSettings,
    private readonly restarts: number,
    /** Where the replication feed goes (to the main thread). */
    feedSink: FeedSink,
    /** The blocked clients' claim words (own ones when none are given: tests, tools). */
    claims: Int32Array = createClaimWords(),
    dbMemory: ReadonlyArray<SharedArrayBuffer | null> = [],
  ) {
    this.latency = new CommandLatency(commands.length);
    this.writes = Uint8Array.from(commands, (c) => (c.flags.includes('write') ? 1 : 0));
    // Internal commands (__exec: its commands are logged one by one) are never a client's.
    this.slowFlags = Uint8Array.from(commands, (c) => (c.flags.includes('fast') ? SLOW_FAST : 0) | (c.flags.includes('skip-slowlog') || c.name.startsWith('__') ? SLOW_SKIP_LOG : 0));
    this.slowCaptureUs = settings.slowCaptureUs ?? Infinity;
    this.byName = new Map(commands.map((c, i) => [c.name, i]));
    this.ks = new Keyspace(memory);
    this.dbs = [this.ks];
    this.persist = new ShardPersistence(shardId, this.ks, feedSink);
    this.persist.dbs = {
      keyspaceOf: (db) => this.keyspaceOf(db),
      all: () => this.dbs,
      swap: (a, b) => this.swapDbs(a, b),
    };
    this.persist.setLog(settings.aof, settings.aofGen);
    this.persist.enableFeed(settings.replFeed);
    this.settings = settings;
    this.ks.limits = { ...settings.limits };
    for (let db = 1; db < dbMemory.length; db++) {
      const m = dbMemory[db];
      this.dbs.push(m === null || m === undefined ? null : this.attachDb(m, db));
    }
    this.waiters = new ShardWaiters(this.ks, claims, []);
    this.waitersByDb[0] = this.waiters;
    this.serveIndex = this.byName.get('__bserve') ?? -1;
    const self = this;
    this.ctx = {
      shardId,
      ks: this.ks,
      get db() {
        return self.db;
      },
      get userSlot() {
        return self.userSlot;
      },
      keyspaceOf: (db) => self.keyspaceOf(db),
      swapDbs: (a, b) => self.swapDbs(a, b),
      selectDb: (db) => self.selectDb(db),
      flushAllDbs: () => {
        for (const ks of self.dbs) ks?.flush();
      },
      get settings() {
        return self.settings;
      },
      out: this.writer,
      args: this.args,
      commandNamed: (name) => {
        const i = self.byName.get(name.toLowerCase());
        return i === undefined ? undefined : self.commands[i];
      },
      crash(): never {
        throw new ShardCrash(`shard ${shardId} crashed on request (DEBUG SHARD-CRASH)`);
      },
      get persist() {
        return self.persist;
      },
      get waiters() {
        return self.waiters;
      },
      wakeOut: this.wakeWriter,
      commandIndex: (name) => self.byName.get(name.toLowerCase()) ?? -1,
      execute: (cmd, args, out) => self.executeNested(cmd, args, out),
      beginAtomic: () => self.beginAtomic(),
      endAtomic: () => self.endAtomic(),
      publish: (channel, message, mode) => self.publishes.push(mode, NO_BYTES, channel, 0, channel.length, message, 0, message.length),
      get keyspaceEvents() {
        return self.notifyFlags;
      },
      notify: (type, event, key, off, len, db) => {
        if (self.notifyFlags !== 0) self.notify(type, event, key, off, len, db ?? self.db);
      },
      wake(w: Waiter): void {
        const ww = self.wakeWriter;
        // A copy: the writer's buffer is reused for the next waiter (Buffer#slice would be a view).
        self.wakes.push({ slot: w.slot, gen: w.gen, bytes: Uint8Array.prototype.slice.call(ww.buf, 0, ww.length) });
      },
    };
    this.notifyWord = settings.notifyWord ?? Int32Array.of(settings.notifyKeyspaceEvents ?? 0);
    this.applyNotify(this.notifyWord[0]!);
    this.startCron();
  }

  /** Emits a keyspace notification when its class is enabled (notifyFlags is not 0), on the
   * channels of database `db` (the running command's by default). */
  private notify(type: string, event: string, key: Uint8Array, off: number, len: number, db = this.db): void {
    const f = this.notifyFlags;
    if ((f & eventClassFlag(type)) === 0) return;
    const names = db === 0 ? this.eventNames : this.eventNamesOf(db);
    const pre = this.prefixOf(db);
    let ev = names.get(event);
    if (ev === undefined) {
      const name = Buffer.from(event);
      ev = { name, channel: Buffer.concat([pre.event, name]) };
      names.set(event, ev);
    }
    if (f & NOTIFY_KEYSPACE) this.publishes.push(0, pre.space, key, off, len, ev.name, 0, ev.name.length);
    if (f & NOTIFY_KEYEVENT) this.publishes.push(0, ev.channel, NO_BYTES, 0, 0, key, off, len);
  }

  private readonly eventNamesByDb: Array<Map<string, EventName> | undefined> = [];

  private eventNamesOf(db: number): Map<string, EventName> {
    let m = this.eventNamesByDb[db];
    if (m === undefined) this.eventNamesByDb[db] = m = new Map();
    return m;
  }

  private prefixOf(db: number): { space: Uint8Array; event: Uint8Array } {
    let p = this.prefixes[db];
    if (p === undefined) this.prefixes[db] = p = { space: Buffer.from(`__keyspace@${db}__:`), event: Buffer.from(`__keyevent@${db}__:`) };
    return p;
  }

  // --- Numbered databases ----------------------------------------------------------------------

  /** Makes `db` the database of the commands that follow (created on first use). */
  selectDb(db: number): void {
    const ks = this.keyspaceOf(db);
    ks.now = this.ks.now;
    this.ks = ks;
    this.ctx.ks = ks;
    this.db = db;
    this.persist.useDb(ks, db);
    let ws = this.waitersByDb[db];
    if (ws === undefined) this.waitersByDb[db] = ws = new ShardWaiters(ks, this.waitersByDb[0]!.claims, this.waitersByDb[0]!.group);
    this.waiters = ws;
  }

  /** Database db's keyspace, created (empty) on first use. */
  keyspaceOf(db: number): Keyspace {
    assert(db >= 0 && db < 1 << 20, () => `shard ${this.shardId}: database ${db} out of range`);
    let ks = this.dbs[db];
    if (ks === undefined || ks === null) {
      ks = this.attachDb(Keyspace.createMemory(), db);
      while (this.dbs.length < db) this.dbs.push(null); // no holes: loops test for null only
      this.dbs[db] = ks;
      this.onDbs?.(this.dbMemory());
    }
    return ks;
  }

  /** A keyspace on memory of a database above 0: the shard's settings and hooks, no log. */
  private attachDb(memory: SharedArrayBuffer, db: number): Keyspace {
    const ks = new Keyspace(memory);
    ks.snapshotAbandon();
    ks.limits = { ...this.settings.limits };
    ks.now = Date.now();
    this.hookDb(ks, db);
    this.persist.observe(ks, db);
    return ks;
  }

  /** SWAPDB: the two databases trade keyspaces (the running command's follows its number). */
  swapDbs(a: number, b: number): void {
    const ka = this.keyspaceOf(a);
    const kb = this.keyspaceOf(b);
    this.dbs[a] = kb;
    this.dbs[b] = ka;
    this.persist.swapped(a, b);
    this.persist.observe(ka, b);
    this.persist.observe(kb, a);
    if (this.db === a || this.db === b) {
      this.ks = this.dbs[this.db]!;
      this.ctx.ks = this.ks;
      this.persist.useDb(this.ks, this.db);
    }
    this.applyNotify(this.appliedWord);
    // Clients blocked in a or b now wait on the other keyspace: served at once where it holds
    // their keys, in their own database.
    this.waitersByDb[a]?.rebind(kb);
    this.waitersByDb[b]?.rebind(ka);
    if (this.serveIndex >= 0 && this.atomicDepth === 0) {
      const back = this.db;
      for (const x of [a, b]) {
        if (this.waitersByDb[x]?.hasReady !== true) continue;
        this.selectDb(x);
        this.serveReady();
      }
      if (this.db !== back) this.selectDb(back);
    }
    this.onDbs?.(this.dbMemory());
  }

  /** The memory of every database (null where none was created). */
  dbMemory(): Array<SharedArrayBuffer | null> {
    return Array.from(this.dbs, (ks) => ks?.memory ?? null);
  }

  /** [db, keys, expires] of every database that holds keys (INFO keyspace). */
  private dbCounts(): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    this.dbs.forEach((ks, db) => {
      if (ks === null) return;
      const s = ks.stats();
      if (s.keys > 0) out.push([db, s.keys, s.expires]);
    });
    return out;
  }

  /** A command's declared event (ShardCommand.event) when its reply at `at` is not an error. */
  private declaredEvent(ev: readonly [string, string], w: RespWriter, at: number): void {
    const b = w.buf[at];
    if (b === 45 || b === 33) return; // '-' or '!': an error reply
    const a = this.ctx.args;
    this.notify(ev[0], ev[1], a.buf, a.off[1]!, a.len[1]!);
  }

  /** Installs the keyspace's expiry, eviction and creation hooks only while their events are on. */
  private applyNotify(flags: number): void {
    this.appliedWord = flags;
    this.notifyFlags = (flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) === 0 ? 0 : flags;
    this.dbs.forEach((ks, db) => {
      if (ks !== null) this.hookDb(ks, db);
    });
  }

  /** Installs keyspace ks's expiry, eviction and creation hooks for database db's channels. */
  private hookDb(ks: Keyspace, db: number): void {
    const f = this.notifyFlags;
    ks.onExpire = f & NOTIFY_EXPIRED ? (e) => this.notify('x', 'expired', ks.bytes(), ks.keyOffset(e), ks.keyLength(e), db) : null;
    ks.onEvict = f & NOTIFY_EVICTED ? (e) => this.notify('e', 'evicted', ks.bytes(), ks.keyOffset(e), ks.keyLength(e), db) : null;
    ks.onCreate = f & NOTIFY_NEW ? (e) => this.notify('n', 'new', ks.bytes(), ks.keyOffset(e), ks.keyLength(e), db) : null;
  }

  /** Clock at the end of the last command (performance.now() ms), or -1 when a batch starts:
   * commands of one batch run back to back, so one clock read per command times each (two
   * reads per command were 4-8% of a shard's time under SET/GET -P 16). */
  private lastStamp = -1;

  /** Starts a batch of commands: the next run() reads the clock first. */
  beginBatch(): void {
    this.lastStamp = -1;
  }

  /** Runs command `cmd` on `this.args` (filled by the caller); the reply is in `writer`. */
  run(cmd: number, proto: 2 | 3): void {
    const w = this.writer;
    w.reset();
    w.proto = proto;
    const spec = this.commands[cmd];
    const t0 = this.lastStamp >= 0 ? this.lastStamp : performance.now();
    if (this.notifyWord[0] !== this.appliedWord) this.applyNotify(this.notifyWord[0]!);
    // The main thread routes by the same table: a command without a shard handler here means the
    // two threads disagree on the frame or the table, and no reply could be trusted.
    assert(spec !== undefined && spec.shard !== undefined, () => `shard ${this.shardId}: command ${cmd} does not run on shards`);
    this.topCmd = cmd;
    this.invoke(cmd, spec, w);
    this.persist.afterCommand();
    if (this.waiters.hasReady && this.serveIndex >= 0 && this.atomicDepth === 0) this.serveReady();
    const t1 = performance.now();
    this.lastStamp = t1;
    const ms = t1 - t0;
    this.busyMs += ms;
    this.latency.record(cmd, ms / 1000);
    if (ms * 1000 >= this.slowCaptureUs) this.slow.push(this.ctx.args, Date.now(), ms * 1000, this.slowFlags[cmd]!);
    this.commandsProcessed++;
  }

  /** Runs spec's handler on ctx.args with its reply in w: memory and log checks first, a
   * handler's failure (other than a broken invariant) answered as an error. */
  private invoke(cmd: number, spec: ShardCommand, w: RespWriter): void {
    if (this.overMemory(spec)) {
      w.error(ERR.oom);
    } else if (this.writes[cmd] === 1 && this.persist.writeError() !== null) {
      w.error(`MISCONF Errors writing to the AOF file: ${this.persist.writeError()}`);
    } else {
      // Relative to the reply's start: a reply that outgrows a borrowed region moves.
      const mark = w.length - w.start;
      try {
        spec.shard!(this.ctx);
        if (spec.event !== undefined && this.notifyFlags !== 0) this.declaredEvent(spec.event, w, w.start + mark);
      } catch (e) {
        // A broken invariant (the keyspace's asserts, DEBUG SHARD-CRASH) ends the shard: the worker
        // dies and the supervisor restarts it on its memory; going on would serve, log and
        // replicate from state the code no longer understands.
        if (isInvariantError(e)) throw e;
        // The keyspace refuses before changing anything (KeyspaceFullError). Any other throw is a
        // handler's bug that broke none of the keyspace's asserted invariants (those throw
        // InvariantError above): that client gets an error, the shard's other clients keep going.
        w.length = w.start + mark;
        w.error(e instanceof KeyspaceFullError ? `OOM ${e.message}` : `ERR internal error in '${spec.name}': ${(e as Error).message}`);
      }
    }
  }

  /** ShardContext.execute: a command run by another one (EXEC, redis.call). */
  private executeNested(cmd: number, args: ArgList, out: RespWriter): void {
    const spec = this.commands[cmd];
    if (spec === undefined || spec.shard === undefined) {
      out.error(`ERR command '${spec?.name ?? cmd}' does not run on a shard`);
      return;
    }
    const ctx = this.ctx;
    const savedOut = ctx.out;
    const savedArgs = ctx.args;
    ctx.out = out;
    ctx.args = args;
    // No clock read for a script's calls while nothing is captured.
    const t0 = this.slowCaptureUs === Infinity ? 0 : performance.now();
    try {
      this.invoke(cmd, spec, out);
    } finally {
      ctx.out = savedOut;
      ctx.args = savedArgs;
    }
    this.persist.afterCommand();
    this.commandsProcessed++;
    // Logged one by one, as Redis logs the commands of EXEC and of scripts (with the script client).
    const us = this.slowCaptureUs === Infinity ? 0 : (performance.now() - t0) * 1000;
    if (us >= this.slowCaptureUs) {
      const top = this.commands[this.topCmd];
      this.slow.push(args, Date.now(), us, this.slowFlags[cmd]! | (top !== undefined && top.name === '__exec' ? 0 : SLOW_SCRIPT));
    }
  }

  /** While > 0, commands run as one atomic unit (a transaction or a script, when they exist):
   * blocked clients are served only once it ends, as Redis serves them after EXEC. */
  private atomicDepth = 0;

  beginAtomic(): void {
    this.atomicDepth++;
  }

  /** Ends an atomic unit; the clients its commands made ready are served now. */
  endAtomic(): void {
    if (--this.atomicDepth === 0 && this.waiters.hasReady && this.serveIndex >= 0) this.serveReady();
  }

  /** Serves the clients blocked on keys the last command made ready (Redis's
   * handleClientsBlockedOnKeys, after every command). Its pops are logged as the command's own. */
  private serveReady(): void {
    const spec = this.commands[this.serveIndex]!;
    spec.shard!(this.ctx);
    this.persist.afterCommand();
  }

  /** Frees memory by the eviction policy before a command that may grow it; true when it still
   * cannot run (Redis's performEvictions + denyoom check). */
  private overMemory(spec: ShardCommand): boolean {
    const limit = this.settings.maxmemoryBytes;
    if (limit <= 0) return false;
    if (this.usedMemory() <= limit) return false;
    const policy = this.settings.maxmemoryPolicy;
    if (policy !== 'noeviction') {
      // The running command's database first, then the others in order (Redis samples every db).
      for (let i = 0; i < this.dbs.length && this.usedMemory() > limit; i++) {
        const ks = i === 0 ? this.ks : this.dbs[i === this.db ? 0 : i];
        if (ks === null || ks === undefined) continue;
        while (this.usedMemory() > limit) {
          if (!ks.evictOne(policy, this.settings.maxmemorySamples)) break;
        }
      }
    }
    return this.usedMemory() > limit && spec.flags.includes('denyoom');
  }

  /** Bytes in use in every database of the shard. */
  private usedMemory(): number {
    if (this.dbs.length === 1) return this.ks.usedMemory();
    let n = 0;
    for (const ks of this.dbs) if (ks !== null) n += ks.usedMemory();
    return n;
  }

  stats(): ShardStatsReport {
    const s = this.dbs[0]!.stats();
    for (let db = 1; db < this.dbs.length; db++) {
      const o = this.dbs[db]?.stats();
      if (o === undefined) continue;
      s.keys += o.keys;
      s.expires += o.expires;
      s.usedMemory += o.usedMemory;
      s.arenaBytes += o.arenaBytes;
      s.indexCapacity += o.indexCapacity;
      s.expiredKeys += o.expiredKeys;
      s.evictedKeys += o.evictedKeys;
      s.keyspaceHits += o.keyspaceHits;
      s.keyspaceMisses += o.keyspaceMisses;
    }
    return {
      shardId: this.shardId,
      keys: s.keys,
      expires: s.expires,
      usedMemory: s.usedMemory,
      arenaBytes: s.arenaBytes,
      indexCapacity: s.indexCapacity,
      expiredKeys: s.expiredKeys,
      evictedKeys: s.evictedKeys,
      keyspaceHits: s.keyspaceHits,
      keyspaceMisses: s.keyspaceMisses,
      dbs: this.dbCounts(),
      commandsProcessed: this.commandsProcessed,
      restarts: this.restarts,
      busyMs: this.busyMs,
      threadId: osThreadId(),
      latency: this.latency.data.slice(),
      persistence: this.persist.stats(),
    };
  }

  resetStats(): void {
    for (const ks of this.dbs) ks?.resetStats();
    this.commandsProcessed = 0;
    this.latency.reset();
  }

  configure(s: ShardSettings): void {
    const hzChanged = s.hz !== this.settings.hz;
    this.settings = s;
    this.slowCaptureUs = s.slowCaptureUs ?? Infinity;
    for (const ks of this.dbs) if (ks !== null) ks.limits = { ...s.limits };
    this.persist.setLog(s.aof, s.aofGen);
    if (s.replFeed) this.persist.enableFeed(true);
    if (hzChanged) this.startCron();
    if (s.notifyWord !== undefined) this.notifyWord = s.notifyWord;
    else this.notifyWord[0] = s.notifyKeyspaceEvents ?? 0;
    this.applyNotify(this.notifyWord[0]!);
  }

  load(plan: LoadPlan, progress?: (msg: string) => void): LoadReport {
    return this.persist.load(plan, progress);
  }

  snapshotWait(): Promise<SnapshotResult> {
    return this.persist.snapshotWait();
  }

  /** Bytes fed so far (after this call's reply, every feed message before it has arrived). */
  feedBarrier(): number {
    this.persist.endBatch();
    return this.persist.fedBytes;
  }

  /** Redis's serverCron share that belongs to a shard: active expiry and incremental rehash. */
  private startCron(): void {
    this.stopCron();
    const periodMs = Math.max(2, Math.floor(1000 / this.settings.hz));
    this.cronTimer = setInterval(() => {
      const now = Date.now();
      if (this.notifyWord[0] !== this.appliedWord) this.applyNotify(this.notifyWord[0]!);
      // Every database gets the cycle; expired keys of db 0 are logged below (the others are not).
      // The pass over every database (expiry, rehash, freeing) is LATENCY's expire-cycle.
      const latencyMs = this.settings.latencyThresholdMs ?? 0;
      const t0 = latencyMs > 0 ? performance.now() : 0;
      for (const ks of this.dbs) {
        if (ks === null) continue;
        ks.now = now;
        // Not during a client pause (ShardSettings.pauseWord): Redis 7.0 expires nothing then.
        if (this.settings.activeExpireEnabled && (this.settings.pauseWord?.[0] ?? 0) === 0) ks.activeExpireCycle(periodMs / 4 / this.dbs.length);
        ks.rehashStep();
        // Large collections deleted lately: a tenth of the period at most goes to freeing them.
        ks.lazyFreeFor(periodMs / 10 / this.dbs.length);
      }
      if (latencyMs > 0) this.latencyEvent(EXPIRE_CYCLE, performance.now() - t0, latencyMs);
      // Keys expired in the background are logged as deleted, as Redis propagates a DEL.
      this.persist.afterCommand();
      this.endBatchTimed();
      // Expired keys' events leave now rather than with the next command's reply (and the
      // cycle's latency event with them).
      if (this.publishes.length > 0 || this.slow.count > 0) this.onPublishes?.();
    }, periodMs);
    this.cronTimer.unref();
  }

  /** persist.endBatch(): the batch's log write (and its fsync under appendfsync always) is a
   * LATENCY event of its own when it takes latency-monitor-threshold or more. */
  endBatchTimed(): void {
    const thresholdMs = this.settings.aof === null ? 0 : this.settings.latencyThresholdMs ?? 0;
    if (thresholdMs <= 0) {
      this.persist.endBatch();
      return;
    }
    const t0 = performance.now();
    this.persist.endBatch();
    this.latencyEvent(this.persist.syncBeforeReply ? AOF_FSYNC_ALWAYS : AOF_WRITE, performance.now() - t0, thresholdMs);
  }

  /** Queues a latency event of the shard's own (LATENCY) when it took thresholdMs or more. */
  private latencyEvent(name: ArgList, ms: number, thresholdMs: number): void {
    if (ms >= thresholdMs) this.slow.push(name, Date.now(), ms * 1000, SLOW_EVENT);
  }

  stopCron(): void {
    if (this.cronTimer) clearInterval(this.cronTimer);
    this.cronTimer = null;
  }

  /** The shard stops for good: its log is written and synced. */
  close(): void {
    this.stopCron();
    this.persist.close();
  }
}

/** The worker side: frames from the request ring into the executor, replies into the reply ring. */
export class ShardRuntime {
  private readonly exec: ShardExecutor;
  private readonly req: RingConsumer;
  private readonly rep: RingProducer;
  private readonly maxReply: number;
  /** The reply ring's bytes as a Buffer, so that the executor's writer can encode into it. */
  private readonly repBuf: Buffer;
  /** Payload bytes of the reply frame reserved for the command running now (0: none). */
  private borrowedLen = 0;

  constructor(
    private readonly data: ShardWorkerData,
    commands: readonly ShardCommand[],
  ) {
    // The feed shares the control port with comlink's replies, so that a feedBarrier() reply
    // arrives after every feed message sent before it (comlink ignores messages without an id).
    this.exec = new ShardExecutor(commands, data.shardId, data.keyspace, data.settings, data.restarts, (records) => {
      const copy = records.slice();
      data.control.postMessage({ feed: copy }, [copy.buffer]);
    }, data.claims, data.dbMemory);
    this.exec.onDbs = (dbs) => data.control.postMessage({ dbs });
    this.exec.onPublishes = () => {
      if (this.exec.publishes.length > 0) this.emitPublishes();
      if (this.exec.slow.count > 0) this.emitSlow();
      if (this.rep.commit()) this.rep.notify();
    };
    this.req = new RingConsumer(data.requests);
    this.exec.persist.busy = () => this.req.hasFrames();
    this.rep = new RingProducer(data.replies);
    this.maxReply = maxFrameBytes(data.replies.capacity) - REP_HEADER - 16;
    this.repBuf = Buffer.from(this.rep.bytes.buffer, this.rep.bytes.byteOffset, this.rep.bytes.length);
    exposeControl(
      {
        stats: () => this.exec.stats(),
        configure: (s) => this.exec.configure(s),
        resetStats: () => this.exec.resetStats(),
        load: (plan) => this.exec.load(plan, (msg) => parentPort?.postMessage({ progress: msg })),
        snapshotWait: () => this.exec.snapshotWait(),
        close: () => this.exec.close(),
        feedBarrier: () => this.exec.feedBarrier(),
      },
      data.control,
    );
  }

  async serve(): Promise<void> {
    for (;;) {
      const seen = this.req.signal();
      const more = this.drain();
      if (more) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const sleeping = this.req.sleep(seen);
      if (sleeping) {
        await sleeping;
        this.req.awake();
      }
    }
  }

  /** Runs up to BATCH_FRAMES requests. Returns true when more are waiting. */
  private drain(): boolean {
    let n = 0;
    this.exec.ks.now = Date.now();
    this.exec.beginBatch();
    try {
      for (; n < BATCH_FRAMES; n++) {
        const p = this.req.peek();
        if (p < 0) break;
        const len = this.req.frameLength(p);
        const flags = this.req.bytes[p + REQ_FLAGS]!;
        if (flags & FLAG_OVERSIZE) {
          const msg = receiveMessageOnPort(this.data.sideIn);
          assert(msg !== undefined, 'oversize request marker without its frame');
          const frame = msg.message as Uint8Array;
          this.execute(frame, 0, frame.length);
        } else {
          this.execute(this.req.bytes, p, len);
        }
        this.req.release(p);
      }
    } catch (e) {
      this.dropBorrowed();
      // Publish what already ran so that those replies are not lost with the crash; their records
      // reach the log first, and the next incarnation appends after them.
      this.exec.persist.afterCommand();
      this.exec.persist.endBatch();
      this.rep.commit();
      this.rep.notify();
      throw e;
    }
    this.req.flushRelease();
    this.exec.endBatchTimed();
    if (this.exec.slow.count > 0) this.emitSlow();
    if (this.rep.commit()) this.rep.notify();
    return n === BATCH_FRAMES;
  }

  private execute(buf: Uint8Array, p: number, frameLen: number): void {
    const dv = buf === this.req.bytes ? this.req.view : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const seq = dv.getUint32(p + REQ_SEQ, true);
    const cmd = dv.getUint16(p + REQ_CMD, true);
    const proto = buf[p + REQ_PROTO] === 3 ? 3 : 2;
    const argc = dv.getUint32(p + REQ_ARGC, true);
    const db = dv.getUint32(p + REQ_DB, true);
    if (db !== this.exec.db) this.exec.selectDb(db);
    this.exec.userSlot = dv.getUint32(p + REQ_USER, true);
    const a = this.exec.args;
    if (a.off.length < argc) {
      a.off = new Int32Array(argc * 2);
      a.len = new Int32Array(argc * 2);
    }
    let q = p + REQ_HEADER;
    for (let i = 0; i < argc; i++) {
      const l = dv.getUint32(q, true);
      a.off[i] = q + 4;
      a.len[i] = l;
      q += 4 + l;
    }
    assert(q <= p + frameLen, () => `malformed request frame: ${argc} arguments run past its ${frameLen} bytes`);
    a.buf = buf;
    a.argc = argc;
    const w = this.exec.writer;
    const p0 = this.borrowReplyRoom(w);
    this.exec.run(cmd, proto);
    if (p0 >= 0 && w.borrowed()) {
      // Encoded in place: the frame only needs its header and its final length.
      const len = w.length - w.start;
      this.rep.shrinkLast(REP_HEADER + len, this.borrowedLen);
      this.borrowedLen = 0;
      w.unborrow();
      this.rep.view.setUint32(p0 + REP_SEQ, seq, true);
      this.rep.view.setUint32(p0 + REP_KIND, REPLY_INLINE, true);
      if (this.exec.wakes.length > 0) this.emitWakes();
      if (this.exec.publishes.length > 0) this.emitPublishes();
      if (this.exec.slow.count > 0) this.emitSlow();
      return;
    }
    this.dropBorrowed();
    this.emit(seq, w.buf, w.length);
    if (this.exec.wakes.length > 0) this.emitWakes();
    if (this.exec.publishes.length > 0) this.emitPublishes();
    if (this.exec.slow.count > 0) this.emitSlow();
  }

  /** Sends the slow-command records of the command just answered, in one REPLY_SLOW frame right
   * after its reply (the main thread attributes them to that reply's client). Their bytes are
   * bounded by SLOW_RECORDS_MAX_BYTES, far below what one ring frame holds. */
  private emitSlow(): void {
    const q = this.exec.slow;
    const rep = this.rep;
    assert(q.length <= this.maxReply, () => `slow records of ${q.length} bytes exceed a reply frame`);
    let f = rep.reserve(REP_HEADER + q.length);
    while (f < 0) {
      this.waitForMainThread();
      f = rep.reserve(REP_HEADER + q.length);
    }
    rep.view.setUint32(f + REP_SEQ, q.count, true);
    rep.view.setUint32(f + REP_KIND, REPLY_SLOW, true);
    rep.bytes.set(q.bytes.subarray(0, q.length), f + REP_HEADER);
    q.clear();
  }

  /** Sends the queued publish records: packed into frames of PUBLISH_FRAME_BYTES at most, a
   * record longer than the ring takes over the side port. A full ring makes the shard wait, so a
   * shard cannot publish faster than the main thread takes the messages. */
  private emitPublishes(): void {
    const q = this.exec.publishes;
    const dv = q.view;
    const end = q.length;
    const rep = this.rep;
    let p = 0;
    while (p < end) {
      let e = p;
      let n = 0;
      while (e < end) {
        const l = recordLength(dv, e);
        if (n > 0 && e - p + l > PUBLISH_FRAME_BYTES) break;
        if (l > this.maxReply) break;
        e += l;
        n++;
      }
      if (n === 0) {
        // One record too big for the ring: alone over the side port, bounded as oversize replies.
        const l = recordLength(dv, p);
        while (rep.sideBytes() > SIDE_REPLY_BYTES_MAX) this.waitForMainThread();
        let f = rep.reserve(REP_HEADER);
        while (f < 0) {
          this.waitForMainThread();
          f = rep.reserve(REP_HEADER);
        }
        rep.view.setUint32(f + REP_SEQ, 1, true);
        rep.view.setUint32(f + REP_KIND, REPLY_PUBLISH_OVERSIZE, true);
        const copy = q.bytes.slice(p, p + l);
        rep.addSideBytes(copy.length);
        this.data.sideOut.postMessage(copy, [copy.buffer]);
        p += l;
        continue;
      }
      let f = rep.reserve(REP_HEADER + (e - p));
      while (f < 0) {
        this.waitForMainThread();
        f = rep.reserve(REP_HEADER + (e - p));
      }
      rep.view.setUint32(f + REP_SEQ, n, true);
      rep.view.setUint32(f + REP_KIND, REPLY_PUBLISH, true);
      rep.bytes.set(q.bytes.subarray(p, e), f + REP_HEADER);
      p = e;
    }
    q.clear();
  }

  /** Sends the replies of the clients the last command served (after its own reply). */
  private emitWakes(): void {
    const wakes = this.exec.wakes;
    this.exec.wakes = [];
    for (const k of wakes) this.emitWake(k);
  }

  private emitWake(k: Wake): void {
    const rep = this.rep;
    const len = k.bytes.length;
    const oversize = WAKE_HEADER + len > this.maxReply;
    while (oversize && rep.sideBytes() > SIDE_REPLY_BYTES_MAX) this.waitForMainThread();
    const frameLen = REP_HEADER + (oversize ? 0 : WAKE_HEADER + len);
    let p = rep.reserve(frameLen);
    while (p < 0) {
      this.waitForMainThread();
      p = rep.reserve(frameLen);
    }
    rep.view.setUint32(p + REP_SEQ, k.slot, true);
    rep.view.setUint32(p + REP_KIND, oversize ? REPLY_WAKE_OVERSIZE : REPLY_WAKE, true);
    if (oversize) {
      const copy = new Uint8Array(WAKE_HEADER + len);
      new DataView(copy.buffer).setUint32(0, k.gen, true);
      copy.set(k.bytes, WAKE_HEADER);
      rep.addSideBytes(copy.length);
      this.data.sideOut.postMessage(copy, [copy.buffer]);
    } else {
      rep.view.setUint32(p + REP_HEADER, k.gen, true);
      rep.bytes.set(k.bytes, p + REP_HEADER + WAKE_HEADER);
    }
  }

  /** Reserves a reply frame and points the writer into it; returns the frame's payload offset,
   * or -1 when the ring has no room for a frame of BORROW_BYTES (the reply is then copied in). */
  private borrowReplyRoom(w: RespWriter): number {
    const p = this.rep.reserve(REP_HEADER + BORROW_BYTES);
    if (p < 0) return -1;
    this.borrowedLen = REP_HEADER + BORROW_BYTES;
    w.borrow(this.repBuf, p + REP_HEADER, p + REP_HEADER + BORROW_BYTES);
    return p;
  }

  /** Gives back a reserved reply frame that was not used (the reply outgrew it, or a crash). */
  private dropBorrowed(): void {
    if (this.borrowedLen === 0) return;
    this.rep.cancelLast(this.borrowedLen);
    this.borrowedLen = 0;
    const w = this.exec.writer;
    // The writer moved to its own buffer with the reply, or still points into the ring.
    if (w.borrowed()) w.unborrow();
  }

  private emit(seq: number, bytes: Uint8Array, len: number): void {
    const rep = this.rep;
    const oversize = len > this.maxReply;
    // Bounded like the ring: a client pipelining GETs of a large value (and never reading) must
    // not make the shard post hundreds of MB that the main thread will only drop. Waited for
    // before the frame is reserved: a commit() here publishes every reserved frame, and an
    // oversize frame published before its message is posted is one the main thread cannot match.
    while (oversize && rep.sideBytes() > SIDE_REPLY_BYTES_MAX) this.waitForMainThread();
    const frameLen = REP_HEADER + (oversize ? 0 : len);
    let p = rep.reserve(frameLen);
    while (p < 0) {
      // The reply ring is full: publish what we have and wait for the main thread to drain it.
      this.waitForMainThread();
      p = rep.reserve(frameLen);
    }
    rep.view.setUint32(p + REP_SEQ, seq, true);
    rep.view.setUint32(p + REP_KIND, oversize ? REPLY_OVERSIZE : REPLY_INLINE, true);
    if (oversize) {
      rep.addSideBytes(len);
      // Transferred, not cloned: one copy of a large reply instead of two.
      // (A fresh buffer: `bytes` may be the writer's, and Buffer#slice would be a view of it.)
      const copy = new Uint8Array(len);
      copy.set(bytes.subarray(0, len));
      this.data.sideOut.postMessage(copy, [copy.buffer]);
    } else if (len < 64) {
      const dst = rep.bytes;
      const base = p + REP_HEADER;
      for (let i = 0; i < len; i++) dst[base + i] = bytes[i]!;
    } else {
      rep.bytes.set(bytes.subarray(0, len), p + REP_HEADER);
    }
  }

  /** Publishes the replies so far and waits (briefly) for the main thread to take some. */
  private waitForMainThread(): void {
    const rep = this.rep;
    rep.commit();
    rep.notify();
    const word = rep.signalWord();
    Atomics.wait(word, 1, Atomics.load(word, 1), 5);
  }
}

/** True for an error that ends a shard: a broken invariant, DEBUG SHARD-CRASH among them. */
export function isShardCrash(e: unknown): boolean {
  return isInvariantError(e);
}
