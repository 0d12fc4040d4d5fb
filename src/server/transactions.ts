// MULTI/EXEC on the main thread: each connection's queue and watches, and where EXEC runs.
// A transaction whose commands all run on one shard (and which watches keys of that shard only)
// goes there as one `__exec` frame, in the connection's order, like any single-shard command: the
// shard checks the watches and runs it whole (commands/transaction-family.ts). Any other runs here
// under the shards' lock (ascending order, every shard it can touch), checking the watches of
// every shard first; cross-shard commands inside it lock through a view of the server that goes
// straight through the lock already held. Invariant: conn.multi >= 0 exactly while conn has a
// queue; a connection's watches are recorded here by shard with the registry epoch they live in.
// Bounds: a queue holds at most MULTI_QUEUE_MAX commands (Redis has none; past it, a command is
// refused and the transaction aborts).

import { COMMANDS, commandIndex } from '../commands/registry.js';
import { argListOf, copyArgList } from '../commands/args.js';
import { keyRange, keyStep, keysFirst, keysLast, keysSkip } from '../commands/key-range.js';
import { nonBlockingForm } from '../commands/transaction-family.js';
import { aclClient } from '../commands/script-acl.js';
import type { ArgList, ClientInfo, CommandSpec, MainHandler, ServerApi, ShardCaller, TransactionsApi } from '../commands/types.js';
import { ACL_PATH_ERR, ERR, ReplyError } from '../core/errors.js';
import type { AclUser } from '../core/acl.js';
import { keySlot } from '../keyspace/slot.js';
import { RespWriter } from '../protocol/resp-writer.js';
import type { ArgSubset } from '../runtime/shard-port.js';
import { ANY_SLOTS, type ClusterRouter, type RoutedClient } from './cluster-router.js';
import { Gather, PromiseSink } from './fanout.js';
import { TxQueue } from './tx-queue.js';
import type { ShardRouter } from './shard-router.js';

/** Commands one transaction may queue. */
export const MULTI_QUEUE_MAX = 1 << 20;

/** A connection as the transactions module needs it (the dispatcher's client is one). */
export interface TxClient extends ClientInfo, RoutedClient {
  hold(): void;
  release(): void;
}

/** Where a queued command runs: a shard (>= 0), any shard (a key count that names no key: every
 * shard replies its error), or several (the coordinator). */
const ANY_SHARD = -2;
const SPREAD = -1;

interface Queued {
  /** Table index of the command to run (a blocking command's non-blocking form). */
  idx: number;
  args: ArgList;
  shard: number;
  /** EXEC found the command no longer allowed to the client's user: its reply, the NOPERM error. */
  denied: Buffer | null;
}

interface TxState {
  queue: TxQueue;
  /** Shards where the client watches keys -> the epoch of the registry that holds them. */
  watched: Map<number, number>;
  /** A shard restarted between two WATCHes: its earlier watches are gone, EXEC must fail. */
  watchLost: boolean;
  /** Databases the client watched keys in (UNWATCH reaches each). */
  watchDbs: Set<number>;
  /** Cluster mode: the slot of the keys queued so far (-1: none yet), and whether another slot
   * came (EXEC then answers CROSSSLOT, as Redis's getNodeByQuery over the queue). */
  slot: number;
  crossSlot: boolean;
  /** Queue position -> the command as sent, where a blocking command was queued in its
   * non-blocking form: EXEC checks the ACL on what the client sent. */
  sent: Map<number, { idx: number; args: ArgList }>;
}

const EXEC_IDX = commandIndex('__exec');
const QUEUED = Buffer.from('+QUEUED\r\n');
const EMPTY_ARRAY = Buffer.from('*0\r\n');
/** What a command sent inside MULTI does, by table index: queued, or run at once (Redis's list:
 * EXEC, DISCARD, MULTI, WATCH, QUIT, RESET), or refused (flag no-multi). */
const QUEUE = 0;
const RUN_EXEC = 1;
const RUN_DISCARD = 2;
const RUN_MULTI = 3;
const RUN_WATCH = 4;
const RUN_AS_USUAL = 5;
const REFUSE = 6;
const IN_MULTI: Uint8Array = Uint8Array.from(COMMANDS, (c) => {
  switch (c.name) {
    case 'exec':
      return RUN_EXEC;
    case 'discard':
      return RUN_DISCARD;
    case 'multi':
      return RUN_MULTI;
    case 'watch':
      return RUN_WATCH;
    case 'quit':
    case 'reset':
      return RUN_AS_USUAL;
    default:
      return (c.flags as readonly string[]).includes('no-multi') ? REFUSE : QUEUE;
  }
});

export class Transactions implements TransactionsApi {
  private readonly states = new Map<number, TxState>();

  constructor(
    private readonly server: ServerApi,
    private readonly shards: ShardRouter,
    private readonly clusterRouter: ClusterRouter,
  ) {}

  // --- outside MULTI (the transaction family's handlers) --------------------------------------

  multi(conn: ClientInfo): void {
    const st = this.state(conn);
    st.queue.begin(conn.id);
    st.sent.clear();
    st.slot = -1;
    st.crossSlot = false;
    conn.multi = 0;
    conn.multiFailed = false;
  }

  async watch(conn: ClientInfo, keys: Uint8Array[]): Promise<void> {
    const c = this.server.cluster;
    if (c !== null) {
      // WATCH runs on the main thread, past the dispatcher's cluster routing: Redis's checks here.
      const slot = keySlot(keys[0]!, 0, keys[0]!.length);
      if (keys.some((k) => keySlot(k, 0, k.length) !== slot)) throw new ReplyError(ERR.crossSlot);
      if (!c.ownsSlot(slot)) {
        const to = c.slotAddress(slot, !conn.tls);
        throw new ReplyError(to === null ? ERR.clusterDownUnbound : ERR.moved(slot, to));
      }
    }
    const byShard = new Map<number, Uint8Array[]>();
    for (const k of keys) {
      const s = this.server.shardOfKey(k, 0, k.length);
      let g = byShard.get(s);
      if (g === undefined) byShard.set(s, (g = []));
      g.push(k);
    }
    const st = this.state(conn);
    st.watchDbs.add(conn.db);
    await Promise.all(
      [...byShard].map(async ([s, ks]) => {
        const r = await this.server.callShard(s, ['__watch', String(conn.id), ...ks], 2, conn.db);
        if (r[0] !== 58) throw new ReplyError(r.toString('latin1', 1, r.length - 2));
        const epoch = Number(r.toString('latin1', 1, r.length - 2));
        const had = st.watched.get(s);
        if (had !== undefined && had !== epoch) st.watchLost = true;
        st.watched.set(s, epoch);
      }),
    );
  }

  unwatch(conn: ClientInfo): void {
    const st = this.states.get(conn.id);
    if (st === undefined) return;
    for (const s of st.watched.keys()) for (const db of st.watchDbs) this.server.callShard(s, ['__unwatch', String(conn.id)], 2, db).catch(() => undefined);
    st.watched.clear();
    st.watchDbs.clear();
    st.watchLost = false;
  }

  reset(conn: ClientInfo): void {
    this.discard(conn);
    this.unwatch(conn);
  }

  // --- inside MULTI (the dispatcher's guard) ---------------------------------------------------

  /** Takes a command that conn sent while in MULTI, after the dispatcher's own checks (arity,
   * admission): runs EXEC or DISCARD, refuses what cannot be queued, queues the rest. False for
   * the commands that run as usual (QUIT, RESET). */
  inMulti(conn: TxClient, idx: number, a: ArgList, asking: boolean): boolean {
    const spec = COMMANDS[idx]!;
    switch (IN_MULTI[idx]) {
      case QUEUE:
        break;
      case RUN_EXEC:
        this.exec(conn, idx, a);
        return true;
      case RUN_DISCARD:
        this.reset(conn);
        this.deliver(conn, Buffer.from('+OK\r\n'));
        return true;
      case RUN_MULTI:
        this.deliver(conn, Buffer.from(`-${ERR.multiNested}\r\n`));
        return true;
      case RUN_WATCH:
        this.deliver(conn, Buffer.from(`-${ERR.watchInMulti}\r\n`));
        return true;
      case RUN_AS_USUAL:
        return false;
      default:
        conn.replyError(ERR.notInMulti);
        return true;
    }
    const st = this.state(conn);
    if (st.queue.count >= MULTI_QUEUE_MAX) {
      conn.replyError(`ERR a transaction may queue at most ${MULTI_QUEUE_MAX} commands`);
      return true;
    }
    if (this.server.cluster !== null && spec.keys !== null && keyRange(spec.keys, a) && !this.routeInCluster(conn, st, idx, spec, a, asking)) return true;
    this.enqueue(st, idx, spec, a);
    conn.multi = st.queue.count;
    this.deliver(conn, QUEUED);
    return true;
  }

  /** Cluster mode: Redis's checks at queue time (MOVED, CROSSSLOT within the command, an
   * unserved slot), and the transaction's one slot. False when the command was refused (the
   * refusal went through conn.replyError, which marks the transaction failed). */
  private routeInCluster(conn: TxClient, st: TxState, idx: number, spec: CommandSpec, a: ArgList, asking: boolean): boolean {
    const c = this.server.cluster!;
    const first = keysFirst;
    const last = keysLast;
    const step = keyStep(spec.keys!);
    const slot = keySlot(a.buf, a.off[first]!, a.len[first]!);
    // A slot migrating away: queued (the route's own handling would run the command now).
    if (!(c.ownsSlot(slot) && c.migratingTo(slot) !== null)) {
      const r = this.clusterRouter.route(conn, idx, spec, a, first, last, step, asking);
      if (typeof r === 'function') {
        if (!c.ownsSlot(slot)) {
          const to = c.slotAddress(slot, !conn.tls);
          conn.replyError(to === null ? ERR.clusterDownUnbound : ERR.moved(slot, to));
          return false;
        }
      } else if (r < 0 && r !== ANY_SLOTS) {
        return false;
      }
    }
    if (spec.multiSlot) return true;
    if (st.slot < 0) st.slot = slot;
    else if (st.slot !== slot) st.crossSlot = true;
    return true;
  }

  /** Queues a copy of the command (a blocking one in its non-blocking form) with where it runs. */
  private enqueue(st: TxState, idx: number, spec: CommandSpec, a: ArgList): void {
    const queue = st.queue;
    if (spec.blocking !== undefined) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < a.argc; i++) parts.push(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
      const form = nonBlockingForm(spec.name, parts);
      if (form !== null) {
        st.sent.set(queue.count, { idx, args: copyArgList(a) });
        const args = argListOf(form);
        const to = commandIndex(String(form[0]));
        queue.add(to, args, this.shardOf(COMMANDS[to]!, args));
        return;
      }
    }
    queue.add(idx, a, this.shardOf(spec, a));
  }

  /** Where a queued command runs, as the dispatcher would send it. */
  private shardOf(spec: CommandSpec, a: ArgList): number {
    if (spec.shard === undefined || spec.keys === null || spec.allShards || spec.main || spec.blocking) return SPREAD;
    const cluster = this.server.cluster !== null;
    const other = spec.reachesOtherKeys !== undefined && (cluster || this.server.shardCount > 1) && spec.reachesOtherKeys(a, cluster, this.server);
    if (!keyRange(spec.keys, a)) return other && !cluster && spec.crossShard ? SPREAD : ANY_SHARD;
    if (other) return SPREAD;
    return this.shards.singleShard(a, keysFirst, keysLast, keyStep(spec.keys));
  }

  private discard(conn: ClientInfo): void {
    conn.multi = -1;
    conn.multiFailed = false;
    const st = this.states.get(conn.id);
    if (st === undefined) return;
    st.queue.count = 0;
    st.sent.clear();
    st.crossSlot = false;
    st.slot = -1;
  }

  // --- EXEC -------------------------------------------------------------------------------------

  private exec(conn: TxClient, execIdx: number, execArgs: ArgList): void {
    const st = this.state(conn);
    const queue = st.queue;
    let fail: Buffer | null = null;
    if (conn.multiFailed) fail = Buffer.from(`-${ERR.execAbort}\r\n`);
    else if (st.crossSlot) fail = Buffer.from(`-${ERR.crossSlot}\r\n`);
    else if (st.watchLost) fail = nullArray(conn.proto);
    // MONITOR sees the queued commands when they run, then EXEC (Redis feeds each after it runs).
    if (this.server.monitors.active) {
      if (fail === null) for (let i = 0; i < queue.count; i++) this.server.monitors.feedCommand(queue.idx(i), conn.db, conn.addr, queue.args(i));
      this.server.monitors.feedCommand(execIdx, conn.db, conn.addr, execArgs);
    }
    if (fail !== null) {
      this.reset(conn);
      this.deliver(conn, fail);
      return;
    }
    // ACL rules may have changed since the commands were queued: checked again, as Redis 7.0 does.
    // A denied command's slot in EXEC's reply is its error; such a (rare) transaction takes the
    // coordinated path, where each slot is built here.
    const denied = conn.user.unrestricted ? null : this.deniedAtExec(conn, st);
    // One shard for the whole transaction, its watches included: the fast path.
    let shard = -1;
    let one = denied === null;
    for (let i = 0; i < queue.count; i++) {
      const s = queue.shard(i);
      if (s === SPREAD) one = false;
      else if (s >= 0 && shard !== s) {
        if (shard >= 0) one = false;
        shard = s;
      }
    }
    if (st.watched.size > 0) {
      for (const s of st.watched.keys()) {
        if (shard >= 0 && shard !== s) one = false;
        shard = s;
      }
    }
    if (one) {
      if (shard < 0 && queue.count === 0) {
        this.discard(conn);
        this.deliver(conn, EMPTY_ARRAY);
        return;
      }
      if (shard < 0) shard = 0;
      let epoch = 0;
      if (st.watched.size > 0) {
        epoch = st.watched.get(shard) ?? 0;
        // The shard ends the watches (all on this shard) as it checks them.
        st.watched.clear();
      }
      const frame = queue.finish(epoch);
      // The frame is copied as it is sent: the queue may be reused at once.
      this.shards.send(shard, conn, conn.takeSeq(), EXEC_IDX, conn.proto, frame);
      this.discard(conn);
      return;
    }
    this.coordinate(conn, st, denied);
  }

  /** The queued commands conn's user may no longer run (each logged in ACL LOG, context multi),
   * by queue position; null when every one is allowed. */
  private deniedAtExec(conn: TxClient, st: TxState): Map<number, Buffer> | null {
    let denied: Map<number, Buffer> | null = null;
    const acl = this.server.acl;
    const queue = st.queue;
    for (let i = 0; i < queue.count; i++) {
      const sent = st.sent.get(i);
      const d = sent === undefined ? acl.check(conn.user, queue.idx(i), queue.args(i)) : acl.check(conn.user, sent.idx, sent.args);
      if (d === null) continue;
      acl.logDenial(aclClient(conn), conn.user, d, 'multi');
      denied ??= new Map();
      denied.set(i, Buffer.from(`-${ACL_PATH_ERR.changedInMulti(d.reason)}\r\n`));
    }
    return denied;
  }

  /** EXEC of a transaction that spans shards, or runs main-thread commands: under the lock of
   * every shard it can touch, nothing of it is seen half done. The connection reads nothing more
   * until it has run (a command after EXEC must see its effects). */
  private coordinate(conn: TxClient, st: TxState, denied: Map<number, Buffer> | null): void {
    // Views into the queue's frame: the connection queues nothing more until this has run.
    const queue: Queued[] = [];
    for (let i = 0; i < st.queue.count; i++) queue.push({ idx: st.queue.idx(i), args: st.queue.args(i), shard: st.queue.shard(i), denied: denied?.get(i) ?? null });
    const watched = [...st.watched];
    st.watched.clear();
    const involved = new Set<number>();
    for (const [s] of watched) involved.add(s);
    let all = false;
    for (const q of queue) {
      if (q.denied !== null) continue;
      if (q.shard >= 0) involved.add(q.shard);
      else if (q.shard === ANY_SHARD) involved.add(0);
      else if (!this.touchesNoShard(COMMANDS[q.idx]!)) all = true;
    }
    const shardList = all ? this.shards.links.map((_, i) => i) : [...involved];
    const seq = conn.takeSeq();
    const proto = conn.proto;
    const id = String(conn.id);
    conn.hold();
    const run = async (call: ShardCaller): Promise<Buffer> => {
      let clean = true;
      for (const [s, epoch] of watched) {
        const r = await call(s, ['__txcheck', id, String(epoch)], 2);
        if (r[0] !== 58 || r[1] !== 49) clean = false;
      }
      if (!clean) return nullArray(proto);
      const view = this.lockedView(call);
      const out = new RespWriter(1024);
      out.proto = proto;
      out.array(queue.length);
      // Blocked clients woken by the transaction's pushes are served once it has run whole.
      await Promise.all(shardList.map((s) => call(s, ['__atomic', '1'], 2)));
      try {
        for (const q of queue) {
          const r = q.denied ?? (await this.runQueued(q, view, call, conn));
          out.raw(r, 0, r.length);
        }
      } finally {
        await Promise.all(shardList.map((s) => call(s, ['__atomic', '0'], 2)));
      }
      return Buffer.from(out.buf.subarray(0, out.length));
    };
    this.server
      .withShardsLocked(shardList, run)
      .then(
        (reply) => conn.deliver(seq, reply, 0, reply.length),
        (e: unknown) => {
          const b = Buffer.from(`-${e instanceof ReplyError ? e.reply : `ERR ${(e as Error).message}`}\r\n`);
          conn.deliver(seq, b, 0, b.length);
        },
      )
      .finally(() => {
        this.discard(conn);
        conn.release();
      });
  }

  /** A keyless main-thread command that reads no shard state (PING, ECHO, INFO...): the lock
   * need not cover any shard for it. Writes and admin commands may reach every shard. */
  private touchesNoShard(spec: CommandSpec): boolean {
    return spec.main !== undefined && spec.keys === null && !spec.flags.includes('write') && !spec.flags.includes('admin');
  }

  /** Runs one queued command under the lock; its reply bytes (an error reply for a failure). */
  private async runQueued(q: Queued, view: ServerApi, call: ShardCaller, conn: TxClient): Promise<Buffer> {
    const spec = COMMANDS[q.idx]!;
    const a = q.args;
    const proto = conn.proto;
    if (spec.main) return runHandler(spec.main, view, conn, a);
    // Read after each main-thread command: a queued SELECT moves the rest of the transaction.
    const db = conn.db;
    if (spec.allShards) return this.fanOwned(q.idx, a, proto, null, db);
    // A restricted user's command carries the user to its shard: a script checks its calls there;
    // and every command its client (SLOWLOG names it).
    if (q.shard >= 0 || q.shard === ANY_SHARD) return this.sendAs(conn, Math.max(q.shard, 0), q.idx, a, proto, db);
    const keys = spec.keys!;
    const cluster = this.server.cluster !== null;
    const other = spec.reachesOtherKeys !== undefined && (cluster || this.server.shardCount > 1) && spec.reachesOtherKeys(a, cluster, this.server);
    if (!keyRange(keys, a)) return other && !cluster && spec.crossShard ? runHandler(spec.crossShard, view, conn, a) : call(0, partsOf(a), proto, db);
    const first = keysFirst;
    const last = keysLast;
    const step = keyStep(keys);
    const skip = keysSkip;
    const shard = this.shards.singleShard(a, first, last, step);
    if (shard >= 0 && !(other && spec.crossShard)) return call(shard, partsOf(a), proto, db);
    if (spec.merge && !other) {
      const groups = new Map<number, { args: number[]; order: number[] }>();
      let k = 0;
      for (let i = first; i <= last; i += step, k++) {
        if (i === skip) continue;
        const s = this.shards.shardOfArg(a, i);
        let g = groups.get(s);
        if (g === undefined) groups.set(s, (g = { args: [], order: [] }));
        for (let j = 0; j < step; j++) g.args.push(i + j);
        g.order.push(k);
      }
      return this.fanOwned(q.idx, a, proto, { groups, keys: k }, db);
    }
    if (spec.crossShard) return runHandler(spec.crossShard, view, conn, a);
    return Buffer.from(`-ERR internal: ${spec.name} cannot span shards\r\n`);
  }

  /** One command sent to shard s as the lock's owner for conn (its ACL user in the frame). */
  private sendAs(conn: TxClient, s: number, idx: number, a: ArgList, proto: 2 | 3, db: number): Promise<Buffer> {
    const sink = new ClientSink(db, conn);
    this.shards.links[s]!.send(sink, 0, idx, proto, a, null, true);
    this.shards.scheduleTurn();
    return sink.promise;
  }

  /** A command split over shards (by key groups, or to every shard), sent as the lock's owner,
   * merged as the dispatcher merges it. */
  private fanOwned(idx: number, a: ArgList, proto: 2 | 3, byKey: { groups: Map<number, { args: number[]; order: number[] }>; keys: number } | null, db: number): Promise<Buffer> {
    const sink = new PromiseSink(db);
    const spec = COMMANDS[idx]!;
    const links = this.shards.links;
    if (byKey === null) {
      const gather = new Gather(sink, 0, spec.merge ?? 'ok', links.length, null, 0);
      links.forEach((l, part) => l.send(gather, part, idx, proto, a, null, true));
    } else {
      const shards = [...byKey.groups.keys()];
      const gather = new Gather(sink, 0, spec.merge!, shards.length, shards.map((s) => byKey.groups.get(s)!.order), byKey.keys);
      shards.forEach((s, part) => links[s]!.send(gather, part, idx, proto, a, subsetOf(byKey.groups.get(s)!.args), true));
    }
    this.shards.scheduleTurn();
    return sink.promise;
  }

  /** The server as a command run inside the locked transaction sees it: its own cross-shard locks
   * and shard calls go through the lock already held (taking it again would wait for ourselves). */
  private lockedView(call: ShardCaller): ServerApi {
    const view = Object.create(this.server) as ServerApi;
    Object.defineProperties(view, {
      callShard: { value: call },
      withShardsLocked: { value: <T>(_shards: number[], fn: (c: ShardCaller) => Promise<T>): Promise<T> => fn(call) },
    });
    return view;
  }

  queuedBytes(conn: ClientInfo): number {
    const q = conn.multi >= 0 ? this.states.get(conn.id)?.queue : undefined;
    return q !== undefined && q.count > 0 ? q.queuedBytes : 0;
  }

  /** EXEC would run a write (or a command that may replicate): CLIENT PAUSE WRITE holds it, as
   * Redis holds an EXEC whose queue has one. */
  queuedMayWrite(conn: ClientInfo, mayWrite: (idx: number) => boolean): boolean {
    const q = this.states.get(conn.id)?.queue;
    if (q === undefined) return false;
    for (let i = 0; i < q.count; i++) if (mayWrite(q.idx(i))) return true;
    return false;
  }

  // --- per-connection state -------------------------------------------------------------------

  private state(conn: ClientInfo): TxState {
    // A transaction's commands come one after another from one connection.
    if (conn.id === this.lastId && this.lastState !== null) return this.lastState;
    let st = this.states.get(conn.id);
    if (st === undefined) {
      st = { queue: new TxQueue(), watched: new Map(), watchLost: false, watchDbs: new Set(), slot: -1, crossSlot: false, sent: new Map() };
      this.states.set(conn.id, st);
      conn.onClose(() => this.closed(conn));
    }
    this.lastId = conn.id;
    this.lastState = st;
    return st;
  }

  /** The last connection state() served (its entry in `states`, or null once gone). */
  private lastId = -1;
  private lastState: TxState | null = null;

  private closed(conn: ClientInfo): void {
    if (conn.id === this.lastId) this.lastState = null;
    const st = this.states.get(conn.id);
    if (st === undefined) return;
    for (const s of st.watched.keys()) for (const db of st.watchDbs) this.server.callShard(s, ['__unwatch', String(conn.id)], 2, db).catch(() => undefined);
    this.states.delete(conn.id);
  }

  private deliver(conn: TxClient, b: Buffer): void {
    conn.deliver(conn.takeSeq(), b, 0, b.length);
  }

  /** Connections in MULTI or watching keys (tests). */
  get size(): number {
    return this.states.size;
  }
}

/** A reply awaited for a client: the frame carries the client's user (frames.ts REQ_USER), and a
 * script's ACL denial reported with the reply is logged for the client (acl-shards.ts). */
export class ClientSink extends PromiseSink {
  constructor(
    db: number,
    readonly client: ClientInfo,
  ) {
    super(db);
  }

  get user(): AclUser {
    return this.client.user;
  }
}

function nullArray(proto: 2 | 3): Buffer {
  return Buffer.from(proto === 3 ? '_\r\n' : '*-1\r\n');
}

function partsOf(a: ArgList): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < a.argc; i++) parts.push(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
  return parts;
}

function subsetOf(argIdx: number[]): ArgSubset {
  const idx = new Int32Array(argIdx.length + 1);
  for (let i = 0; i < argIdx.length; i++) idx[i + 1] = argIdx[i]!;
  return { idx, count: argIdx.length + 1 };
}

/** A main-thread handler run for a transaction; its reply bytes, or its error reply. */
async function runHandler(h: MainHandler, server: ServerApi, conn: ClientInfo, args: ArgList): Promise<Buffer> {
  const out = new RespWriter(256);
  out.proto = conn.proto;
  try {
    await h({ server, conn, args, out, inExec: true });
  } catch (e) {
    out.reset();
    out.error(e instanceof ReplyError ? e.reply : `ERR ${(e as Error).message}`);
  }
  return Buffer.from(out.buf.subarray(0, out.length));
}
