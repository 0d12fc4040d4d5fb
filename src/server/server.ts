// The main thread of a node: accepts connections, routes each command by its keys' hash slots to
// the shard owning them (one slot-to-shard table), fans multi-key commands out and merges them,
// runs keyless commands itself, and writes replies in order, once per event-loop turn.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config.js';
import { createLogger, pinoLevel } from '../observability/logger.js';
import type { Logger } from 'pino';
import { COMMANDS, arityOk, lookupCommand } from '../commands/registry.js';
import { ERR, ReplyError } from '../commands/errors.js';
import { argIs, argString, argsPreview, argListOf } from '../commands/args.js';
import type {
  ArgList,
  ClientInfo,
  CommandSpec,
  MainCall,
  ServerApi,
  ServerStats,
  ShardCaller,
  ShardSettings,
  ShardStatsReport,
} from '../commands/types.js';
import { RespWriter } from '../protocol/resp-writer.js';
import { Connection, type ConnectionHost } from './connection.js';
import { ShardLink } from '../runtime/shard-link.js';
import { InlineShard } from '../runtime/inline-shard.js';
import type { ArgSubset, FeedListener, ReplySink, ShardPort } from '../runtime/shard-port.js';
import { Gather, PromiseSink } from './fanout.js';
import { keySlot, shardOfSlot } from '../keyspace/slot.js';
import type { ClusterControl } from '../cluster/api.js';
import { ClusterNode } from '../cluster/cluster-node.js';
import { isAbsolute, join } from 'node:path';
import { PeerError, PeerPool, encodeCommand, type PeerClient } from '../cluster/peer-client.js';
import { InFlightKeys } from '../cluster/slot-migrator.js';
import { startFrontDoors, type FrontDoors } from './front-doors.js';
import { PersistenceManager, type PersistenceHost } from '../persistence/persistence-manager.js';
import type { LogSettings } from '../persistence/shard-persistence.js';
import { Replication } from '../replication/replication.js';

export interface RunningServer {
  /** Resolves when the server has fully stopped (after SHUTDOWN, SIGTERM or SIGINT). */
  closed: Promise<void>;
  /** Graceful stop: stop accepting, finish in-flight replies, stop shards. */
  shutdown(reason: string): Promise<void>;
  port: number;
}

const SLOTS = 16384;
const FORWARD_TIMEOUT_MS = 5000;
const MC_FORWARD_NAME = Buffer.from('TESSERA.MC');
const IFHERE = COMMANDS.findIndex((c) => c.name === '__ifhere');
/** How long the end of a turn may wait for the shards' replies (see ShardLink.awaitReplies). */
const AWAIT_REPLIES_MS = 0.2;
/** clusterRoute's answers besides a slot number. */
const HANDLED = -1;
const ANY_SLOTS = -2;

interface CommandCounter {
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
}

class Server implements ServerApi, ConnectionHost, PersistenceHost {
  readonly startedAtMs = Date.now();
  readonly runId = randomBytes(20).toString('hex');
  readonly commands = COMMANDS;
  readonly links: ShardPort[] = [];
  private readonly slotToShard = new Uint16Array(SLOTS);
  private readonly conns = new Map<number, Connection>();
  private nextClientId = 1;
  private readonly dirty = new Set<Connection>();
  private flushScheduled = false;
  private readonly netServers: net.Server[] = [];
  private readonly counters: CommandCounter[] = COMMANDS.map(() => ({ calls: 0, usec: 0, rejected: 0, failed: 0 }));
  private readonly stats: ServerStats = {
    totalConnectionsReceived: 0,
    totalCommandsProcessed: 0,
    rejectedConnections: 0,
    totalNetInputBytes: 0,
    totalNetOutputBytes: 0,
    shardRestarts: 0,
    connectedClients: 0,
  };
  private lockChain: Promise<unknown> = Promise.resolve();
  private subset: ArgSubset = { idx: new Int32Array(256), count: 0 };
  private stopping: Promise<void> | null = null;
  private closedResolve!: () => void;
  readonly closed = new Promise<void>((r) => (this.closedResolve = r));
  private cronTimer: NodeJS.Timeout | null = null;
  private frontDoors: FrontDoors | null = null;
  port = 0;
  cluster: ClusterControl | null = null;
  readonly peers = new PeerPool();
  readonly inFlight = new InFlightKeys();
  readonly persistence: PersistenceManager;
  readonly replication: Replication;
  /** By command index: 1 for commands flagged write (the replica and min-replicas gate). */
  private readonly isWrite = Uint8Array.from(COMMANDS, (c) => (c.flags.includes('write') ? 1 : 0));
  /** Manual failover: client writes wait here until resumeWrites(). */
  private pausedWrites: Array<() => void> | null = null;
  private pauseTimer: NodeJS.Timeout | null = null;
  /** The shards' log files (set by persistence), part of every shard's settings. */
  private aof: LogSettings | null = null;
  private persistCron: NodeJS.Timeout | null = null;

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    const n = config.values.shards;
    for (let s = 0; s < SLOTS; s++) this.slotToShard[s] = shardOfSlot(s, n);
    const threads = config.values.shardThreads;
    for (let i = 0; i < n; i++) {
      const onFeed: FeedListener = (shard, records) => this.onFeed(shard, records);
      this.links.push(threads ? new ShardLink(i, this.shardSettings(), log, () => this.afterReplies(), onFeed) : new InlineShard(i, this.shardSettings(), onFeed));
    }
    this.persistence = new PersistenceManager(this);
    this.replication = new Replication(
      log,
      {
        log,
        shardCount: n,
        enableFeed: async (call) => {
          this.replFeed = true;
          await Promise.all(this.links.map((_, i) => call(i, ['__replfeed', 'on'], 2)));
          const st = this.shardSettings();
          for (const l of this.links) l.configure(st);
        },
        saveForReplica: (onLocked) => this.persistence.saveForReplica(onLocked),
        saveIdle: () => this.persistence.idle(),
        feedBarrier: () => this.feedBarrier(),
        backlogSize: () => this.config.values.replBacklogSize,
      },
      {
        log,
        shardCount: n,
        listeningPort: () => this.port,
        masterauth: () => {
          const v = this.config.values;
          return v.masterauth === '' ? null : { user: v.masteruser === '' ? 'default' : v.masteruser, pass: v.masterauth };
        },
        callShard: (shard, args, proto) => this.callShard(shard, args, proto),
        historyChanged: () => this.replication.primary.disconnectReplicas(),
      },
      // The live config values (same field names): the write gate reads them without a copy.
      () => this.config.values,
    );
    this.replication.primaryBacklogBytes = config.values.replBacklogSize;
    config.onChange((names) => {
      if (names.includes('loglevel')) this.log.level = pinoLevel(config.values.loglevel);
      if (names.includes('appendonly') || names.includes('appendfsync')) void this.persistence.configChanged();
      if (names.some((n) => n === 'cluster-migration-barrier' || n === 'cluster-replica-no-failover' || n === 'cluster-allow-replica-migration')) {
        const v = config.values;
        this.cluster?.setTunables({ migrationBarrier: v.clusterMigrationBarrier, replicaNoFailover: v.clusterReplicaNoFailover, allowReplicaMigration: v.clusterAllowReplicaMigration });
      }
      const s = this.shardSettings();
      for (const l of this.links) l.configure(s);
    });
  }

  get shardCount(): number {
    return this.links.length;
  }

  private shardSettings(): ShardSettings {
    const v = this.config.values;
    return {
      maxmemoryBytes: v.maxmemory > 0 ? Math.max(1, Math.floor(v.maxmemory / this.config.values.shards)) : 0,
      maxmemoryPolicy: v.maxmemoryPolicy,
      maxmemorySamples: v.maxmemorySamples,
      protoMaxBulkLen: v.protoMaxBulkLen,
      activeExpireEnabled: v.activeExpireEnabled,
      hz: v.hz,
      aof: this.aof,
      aofGen: this.aofGen,
      replFeed: this.replFeed,
    };
  }

  /** Shards hand their batches' records to the main thread (this node has replicas). */
  private replFeed = false;

  /** A shard's records, in order: to the replication backlog and the replicas. */
  private onFeed(shard: number, records: Uint8Array): void {
    this.replication.primary.onFeed(shard, records);
  }

  /** Every write sent to a shard so far has run and its feed batch reached the primary: a no-op
   * through each ring (after the earlier commands), then the control port (after their feed). */
  private async feedBarrier(): Promise<void> {
    await Promise.all(this.links.map((l, i) => this.callShard(i, ['__replfeed', 'mark'], 2).then(() => l.feedBarrier())));
  }

  // --- Cluster hooks (replication side of failover) -----------------------------------------------

  /** Manual failover on a primary: client writes wait (none is refused) until resumeWrites(). */
  async pauseWritesAndGetOffset(timeoutMs: number): Promise<number> {
    if (this.pausedWrites === null) this.pausedWrites = [];
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => this.resumeWrites(), timeoutMs);
    this.pauseTimer.unref();
    await this.feedBarrier();
    return this.replication.primary.offset;
  }

  resumeWrites(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    const waiting = this.pausedWrites;
    this.pausedWrites = null;
    for (const go of waiting ?? []) go();
  }

  // --- PersistenceHost ----------------------------------------------------------------------------

  get shards(): readonly ShardPort[] {
    return this.links;
  }

  withAllShardsLocked<T>(fn: (call: ShardCaller) => Promise<T>): Promise<T> {
    return this.withShardsLocked(this.links.map((_, i) => i), fn);
  }

  /** Generation of `aof` (what shards get in their settings), and the last one handed out. */
  private aofGen = 0;
  private lastGen = 0;

  nextLogGen(): number {
    return ++this.lastGen;
  }

  setLogSettings(aof: LogSettings | null, gen?: number): void {
    this.aofGen = gen ?? this.nextLogGen();
    this.aof = aof;
    const s = this.shardSettings();
    for (const l of this.links) l.configure(s);
  }

  async listen(): Promise<void> {
    await Promise.all(this.links.map((l) => l.ready));
    const v = this.config.values;
    this.persistence.removeTemporaries();
    // The RESP port opens first and answers -LOADING (as redis-server does) until the data, the
    // cluster state and the other ports are back: no client sees this node before what it had.
    this.starting = true;
    for (const host of v.bind) {
      // Half-open sockets allowed: a client's FIN ends its input, and its replies still go out
      // (Connection closes after the last one).
      const srv = net.createServer({ noDelay: true, allowHalfOpen: true }, (sock) => this.accept(sock));
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(v.port, host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      this.netServers.push(srv);
      const addr = srv.address();
      if (addr && typeof addr === 'object') this.port = addr.port;
    }
    try {
      await this.persistence.recover();
    } catch (e) {
      this.log.fatal({ err: (e as Error).message }, 'Loading persisted data failed');
      for (const srv of this.netServers) srv.close();
      for (const c of [...this.conns.values()]) c.kill();
      await Promise.all(this.links.map((l) => l.stop()));
      throw e;
    }
    this.persistCron = setInterval(() => void this.persistence.cron(), 100);
    this.persistCron.unref();
    if (v.clusterEnabled) await this.startCluster(v.port);
    this.frontDoors = await startFrontDoors(this);
    this.starting = false;
    this.cronTimer = setInterval(() => this.cron(), 1000);
    this.cronTimer.unref();
    this.log.info({ port: this.port, bind: v.bind, shards: this.links.length, pid: process.pid }, 'Ready to accept connections tcp');
    if (v.replicaof !== '' && this.cluster === null) {
      const [host, port] = v.replicaof.split(' ');
      this.replication.replicaOf(host!, Number(port));
    }
  }

  /** True until listen() is done: commands not flagged `loading` get -LOADING. */
  private starting = false;
  /** By command index: 1 for commands that run while loading (INFO, CONFIG, ...; not CLUSTER). */
  private readonly runsWhileLoading = Uint8Array.from(COMMANDS, (c) => (c.flags.includes('loading') && c.group !== 'cluster' ? 1 : 0));

  private async startCluster(port: number): Promise<void> {
    const v = this.config.values;
    if (port === 0) throw new Error('cluster-enabled needs a fixed port (port 0 is not allowed)');
    const busPort = v.clusterPort !== 0 ? v.clusterPort : port + 10000;
    if (busPort > 65535) throw new Error(`cluster bus port ${busPort} is out of range: set cluster-port`);
    const bind = v.bind[0] ?? '127.0.0.1';
    const node = new ClusterNode({
      port,
      busPort,
      bindHost: bind === '*' ? '0.0.0.0' : bind.replace(/^-/, ''),
      announceIp: v.clusterAnnounceIp,
      configFile: isAbsolute(v.clusterConfigFile) ? v.clusterConfigFile : join(v.dir, v.clusterConfigFile),
      nodeTimeoutMs: v.clusterNodeTimeout,
      requireFullCoverage: v.clusterRequireFullCoverage,
      migrationBarrier: v.clusterMigrationBarrier,
      replicaNoFailover: v.clusterReplicaNoFailover,
      allowReplicaMigration: v.clusterAllowReplicaMigration,
      log: this.log.child({ component: 'cluster' }),
    });
    // Before start(): a node loaded from nodes.conf as a replica starts replicating at once.
    node.setHooks({
      replicationOffset: () => this.replication.replica?.offset ?? this.replication.primary.offset,
      becomeReplicaOf: (host, p) => this.replication.replicaOf(host, p),
      becomePrimary: () => void this.replication.noOne(),
      pauseWritesAndGetOffset: (timeoutMs) => this.pauseWritesAndGetOffset(timeoutMs),
      resumeWrites: () => this.resumeWrites(),
      replicaOffsetsKnown: () => new Map([...this.replication.primary.replicas].map((r) => [`${r.ip}:${r.port}`, r.ackOffset])),
    });
    await node.start();
    this.cluster = node;
  }

  private accept(sock: net.Socket): void {
    this.stats.totalConnectionsReceived++;
    // Before anything else: a socket without an error handler turns a client's reset into an
    // uncaught exception that ends the process.
    sock.on('error', () => sock.destroy());
    if (this.conns.size >= this.config.values.maxclients) {
      this.stats.rejectedConnections++;
      sock.end(`-${ERR.maxClients}\r\n`, () => sock.destroy());
      return;
    }
    sock.setNoDelay(true);
    if (this.config.values.tcpKeepalive > 0) sock.setKeepAlive(true, this.config.values.tcpKeepalive * 1000);
    const v = this.config.values;
    const conn = new Connection(
      this.nextClientId++,
      sock,
      this,
      {
        maxBulkLen: v.protoMaxBulkLen,
        maxMultibulkLen: 1024 * 1024 * 1024,
        maxInlineLen: 64 * 1024,
        maxQueryBufferLen: v.clientQueryBufferLimit,
      },
      () => this.config.values.requirepass !== '',
    );
    this.conns.set(conn.id, conn);
  }

  /** Closes idle clients (timeout) once a second. */
  private cron(): void {
    const t = this.config.values.timeout;
    if (t <= 0) return;
    const now = Date.now();
    for (const c of this.conns.values()) {
      if (now - c.lastInteractionMs > t * 1000) c.kill();
    }
  }

  // --- ConnectionHost -------------------------------------------------------------------------

  get backlogged(): boolean {
    for (const l of this.links) if (l.backlogged) return true;
    return false;
  }

  outputLimits(): { hardBytes: number; softBytes: number; softSeconds: number } {
    return this.config.values.clientOutputBufferLimitNormal;
  }

  logClientDrop(conn: Connection, reason: string): void {
    this.log.warn({ client: conn.id, addr: conn.addr }, `Client closed: ${reason}`);
  }

  countInput(bytes: number): void {
    this.stats.totalNetInputBytes += bytes;
  }

  markDirty(conn: Connection): void {
    this.dirty.add(conn);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushTurn());
    }
  }

  connectionClosed(conn: Connection): void {
    this.conns.delete(conn.id);
    this.dirty.delete(conn);
    this.waitingForShards.delete(conn);
  }

  /** Requests queued by a socket read go out with those of every other read of this event-loop
   * turn, in one publish and at most one wake-up per shard (flushTurn). Publishing after each
   * read instead woke a sleeping shard for nearly every request at -P 1: 0.7 wake-ups per request,
   * and 20-35% more CPU per request (bench/ANALYSIS.md). */
  publishRequests(): void {
    this.scheduleTurn();
  }

  /** End of an event-loop turn: one ring publish per shard, one socket write per connection. */
  private flushTurn(): void {
    this.flushScheduled = false;
    this.cluster?.flushConfig();
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

  private scheduleTurn(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushTurn());
    }
  }

  /** Connections that paused because shards were backlogged. Each registers itself when it
   * pauses, so that it is resumed however briefly the backlog lasted: comparing the backlog state
   * between two drains missed a backlog that began and ended between them, and the paused socket
   * was never read again (`redis-cli --pipe` bulk loads stalled). */
  private readonly waitingForShards = new Set<Connection>();

  waitForShards(conn: Connection): void {
    this.waitingForShards.add(conn);
  }

  private afterReplies(): void {
    // Shards caught up: resume sockets paused for backpressure.
    if (this.waitingForShards.size === 0 || this.backlogged) return;
    const waiting = [...this.waitingForShards];
    this.waitingForShards.clear();
    for (const c of waiting) c.updatePause();
  }

  // --- dispatch --------------------------------------------------------------------------------

  dispatch(conn: Connection, a: ArgList): void {
    this.stats.totalCommandsProcessed++;
    const idx = lookupCommand(a.buf, a.off[0]!, a.len[0]!);
    const spec = idx >= 0 ? COMMANDS[idx]! : null;
    if (!spec || spec.hidden) {
      conn.replyError(ERR.unknownCommand(argString(a, 0).slice(0, 128), argsPreview(a, 1)));
      return;
    }
    const counter = this.counters[idx]!;
    if (!arityOk(spec.arity, a.argc)) {
      counter.rejected++;
      conn.replyError(ERR.wrongArity(spec.name));
      return;
    }
    if (spec.subcommands && a.argc >= 2) {
      const sub = spec.subcommands.find((c) => argIs(a, 1, c.name.toUpperCase()));
      if (!sub) {
        counter.rejected++;
        conn.replyError(ERR.unknownSubcommand(argString(a, 1), spec.name.toUpperCase()));
        return;
      }
      if (!arityOk(sub.arity, a.argc)) {
        counter.rejected++;
        conn.replyError(ERR.wrongArity(`${spec.name}|${sub.name}`));
        return;
      }
    }
    const invalid = spec.validate ? spec.validate(a.argc) : null;
    if (invalid !== null) {
      counter.rejected++;
      conn.replyError(invalid);
      return;
    }
    // Before the auth check (Redis checks auth first): a client that probes with PING must not
    // take a NOAUTH for "up" while the node is still loading.
    if (this.starting && this.runsWhileLoading[idx] === 0) {
      counter.rejected++;
      conn.replyError('LOADING Redis is loading the dataset in memory');
      return;
    }
    if (!conn.authenticated && !spec.flags.includes('no-auth')) {
      counter.rejected++;
      conn.replyError(ERR.noAuth);
      return;
    }
    if (this.isWrite[idx] === 1) {
      if (this.pausedWrites !== null) {
        // Held until the manual failover ends, then dispatched as if it had just arrived.
        const copy = copyArgList(a);
        conn.hold();
        this.pausedWrites.push(() => {
          this.dispatch(conn, copy);
          conn.release();
        });
        this.stats.totalCommandsProcessed--;
        return;
      }
      // In cluster mode the redirect comes first (Redis's order): a replica answers MOVED for its
      // primary's slots, so only min-replicas-to-write is checked here.
      if (this.replication.gatesWrites) {
        const refusal = this.replication.writeRefusal(this.cluster !== null);
        if (refusal !== null) {
          counter.rejected++;
          conn.replyError(refusal);
          return;
        }
      }
    }
    counter.calls++;
    conn.lastCommand = spec.subcommands && a.argc >= 2 ? `${spec.name}|${argString(a, 1).toLowerCase()}` : spec.name;
    // ASKING holds for the next command only.
    const asking = conn.asking;
    if (asking) conn.asking = false;
    if (spec.main) {
      this.runMain(conn, a, spec.main, counter);
      return;
    }
    if (spec.allShards) {
      this.fanAll(conn, idx, spec, a);
      return;
    }
    const keys = spec.keys!;
    const last = keys.last < 0 ? a.argc + keys.last : keys.last;
    const first = keys.first;
    if (this.cluster !== null) {
      const slot = this.clusterRoute(conn, idx, spec, a, first, last, keys.step, asking, counter);
      if (slot === HANDLED) return;
      if (slot !== ANY_SLOTS) {
        // One slot, so one shard: no second CRC16 pass over the keys.
        this.links[this.slotToShard[slot]!]!.send(conn, conn.takeSeq(), idx, conn.proto, a, null);
        this.scheduleTurn();
        return;
      }
    }
    const s0 = this.shardOf(a, first);
    let single = true;
    for (let i = first + keys.step; i <= last; i += keys.step) {
      if (this.shardOf(a, i) !== s0) {
        single = false;
        break;
      }
    }
    if (single) {
      this.links[s0]!.send(conn, conn.takeSeq(), idx, conn.proto, a, null);
      this.scheduleTurn();
    } else if (spec.merge) {
      this.fanKeys(conn, idx, spec, a, first, last, keys.step);
    } else if (spec.crossShard) {
      this.runMain(conn, a, spec.crossShard, counter);
    } else {
      conn.replyError(`ERR internal: ${spec.name} cannot span shards`);
    }
  }

  /** Redis Cluster's checks for a keyed command (getNodeByQuery): one slot for all keys, served
   * here, else the redirection. Returns HANDLED when it answered (or took over) the command,
   * else the one slot of its keys (ANY_SLOTS for a multi-slot command, split by shard as usual). */
  private clusterRoute(
    conn: Connection, idx: number, spec: CommandSpec, a: ArgList, first: number, last: number, step: number, asking: boolean,
    counter: CommandCounter,
  ): number {
    const c = this.cluster!;
    const slot = keySlot(a.buf, a.off[first]!, a.len[first]!);
    if (spec.multiSlot) {
      const shard = this.slotToShard[slot]!;
      let oneShard = true;
      for (let i = first; i <= last; i += step) {
        const s = keySlot(a.buf, a.off[i]!, a.len[i]!);
        if (!c.ownsSlot(s) && c.importingFrom(s) === null) {
          const to = c.slotAddress(s);
          conn.replyError(to === null ? ERR.clusterDownUnbound : ERR.moved(s, to));
          return HANDLED;
        }
        if (this.slotToShard[s] !== shard) oneShard = false;
      }
      // All on one shard: sent whole, as a one-slot command is.
      return oneShard ? slot : ANY_SLOTS;
    }
    for (let i = first + step; i <= last; i += step) {
      if (keySlot(a.buf, a.off[i]!, a.len[i]!) !== slot) {
        counter.rejected++;
        conn.replyError(ERR.crossSlot);
        return HANDLED;
      }
    }
    const target = c.slotAddress(slot);
    if (target === null) {
      conn.replyError(ERR.clusterDownUnbound);
      return HANDLED;
    }
    if (c.state() !== 'ok' && !(this.config.values.clusterAllowReadsWhenDown && spec.flags.includes('readonly'))) {
      conn.replyError(ERR.clusterDown);
      return HANDLED;
    }
    if (c.ownsSlot(slot)) {
      const to = c.migratingTo(slot);
      if (to === null) return slot;
      if (!this.sendIfHere(conn, idx, a, slot, first, last, step, ERR.ask(slot, to))) {
        this.runMain(conn, a, (m) => this.runInMigratingSlot(m, idx, slot, first, last, step, to), counter);
      }
      return HANDLED;
    }
    if (c.importingFrom(slot) !== null && (asking || spec.flags.includes('asking'))) {
      // As Redis: a multi-key command runs in an importing slot only once all its keys are here.
      if (last === first) return slot;
      this.sendIfHere(conn, idx, a, slot, first, last, step, ERR.tryAgain);
      return HANDLED;
    }
    // A replica serves reads of its primary's slots to READONLY clients (Redis: any command that
    // is not a write); everything else is redirected to the primary.
    if (conn.readonlyMode && !spec.flags.includes('write') && c.primaryOwnsSlot(slot)) return slot;
    if (this.config.values.clusterForwarding) {
      this.runMain(conn, a, (m) => this.forward(m, target), counter);
      return HANDLED;
    }
    conn.replyError(ERR.moved(slot, target));
    return HANDLED;
  }

  /** The usual case of a command in a MIGRATING slot: no take outstanding on its shard and none
   * of its keys in flight, so it goes to the shard as `__ifhere` at once (replying `missing`
   * unless all its keys are there), in the connection's order, without holding the connection's
   * later commands. False when it has to wait. (Also a multi-key command with ASKING in an
   * IMPORTING slot, where nothing is ever taken.) */
  private sendIfHere(conn: Connection, idx: number, a: ArgList, slot: number, first: number, last: number, step: number, missing: string): boolean {
    const shard = this.slotToShard[slot]!;
    if (this.inFlight.takeOf(shard) !== undefined) return false;
    const parts: Array<Uint8Array | string> = ['__ifhere', ''];
    let n = 0;
    for (let i = first; i <= last; i += step, n++) {
      const key = a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!);
      if (this.inFlight.size > 0 && this.inFlight.waitFor(Buffer.from(key).toString('latin1')) !== undefined) return false;
      parts.push(key);
    }
    parts[1] = String(n);
    parts.push(missing, COMMANDS[idx]!.name);
    for (let i = 1; i < a.argc; i++) parts.push(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
    this.links[shard]!.send(conn, conn.takeSeq(), IFHERE, conn.proto, argListOf(parts), null);
    this.scheduleTurn();
    return true;
  }

  /** A command for a slot that is moving away: runs here if all its keys are still here, else
   * ASK. The shard decides (`__ifhere`), in its order with migration takes; a command waits only
   * while a take's reply is outstanding or one of its keys is in a batch the target has not
   * acknowledged yet (then the key is gone: ASK). */
  private async runInMigratingSlot(m: MainCall, idx: number, slot: number, first: number, last: number, step: number, to: string): Promise<void> {
    const a = m.args;
    const args: Buffer[] = [];
    for (let i = 0; i < a.argc; i++) args.push(Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!)));
    const keys: Buffer[] = [];
    for (let i = first; i <= last; i += step) keys.push(args[i]!);
    const names = keys.map((k) => k.toString('latin1'));
    const shard = this.slotToShard[slot]!;
    args[0] = Buffer.from(COMMANDS[idx]!.name);
    for (;;) {
      const take = this.inFlight.takeOf(shard);
      if (take !== undefined) {
        await take.catch(() => undefined);
        continue;
      }
      const moving = names.map((k) => this.inFlight.waitFor(k)).filter((p) => p !== undefined);
      if (moving.length > 0) {
        await Promise.all(moving);
        continue;
      }
      const reply = await this.callShard(shard, ['__ifhere', String(keys.length), ...keys, ERR.ask(slot, to), ...args], m.conn.proto);
      m.out.raw(reply, 0, reply.length);
      return;
    }
  }

  /** The pooled link for forwarding to "host:port", authenticated with this node's requirepass
   * (nodes of a cluster share it) and speaking the client's protocol. */
  private forwardPeer(target: string, proto: 2 | 3): PeerClient {
    const colon = target.lastIndexOf(':');
    const preamble: string[][] = [];
    const pass = this.config.values.requirepass;
    if (pass !== '') preamble.push(['AUTH', pass]);
    if (proto === 3) preamble.push(['HELLO', '3']);
    return this.peers.get(target.slice(0, colon), Number(target.slice(colon + 1)), `forward/${proto}`, preamble);
  }

  /** cluster-forwarding: sends the command to the slot's owner and relays its reply. */
  private async forward(m: MainCall, target: string): Promise<void> {
    const peer = this.forwardPeer(target, m.conn.proto);
    const a = m.args;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < a.argc; i++) parts.push(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
    const frame = encodeCommand(parts);
    try {
      const reply = await peer.callEncoded(frame, FORWARD_TIMEOUT_MS);
      m.out.raw(reply, 0, reply.length);
    } catch (e) {
      if (!(e instanceof PeerError)) throw e;
      throw new ReplyError(`TRYAGAIN forwarding to ${target} failed: ${e.message}`);
    }
  }

  async callForKey(key: Uint8Array, args: ReadonlyArray<Uint8Array | string>): Promise<Buffer> {
    const slot = keySlot(key, 0, key.length);
    const c = this.cluster;
    if (c === null || c.ownsSlot(slot)) return this.callShard(this.slotToShard[slot]!, args, 2);
    const target = c.slotAddress(slot);
    if (target === null) return Buffer.from(`-${ERR.clusterDownUnbound}\r\n`);
    return this.forwardPeer(target, 2).call(args, FORWARD_TIMEOUT_MS);
  }

  routeMemcache(sink: ReplySink, seq: number, args: ArgList, keyArg: number): boolean {
    const c = this.cluster;
    if (c === null) return false;
    const slot = keySlot(args.buf, args.off[keyArg]!, args.len[keyArg]!);
    if (c.ownsSlot(slot) && c.migratingTo(slot) === null) return false;
    const fail = (text: string): void => {
      const b = Buffer.from(`-${text}\r\n`);
      sink.deliver(seq, b, 0, b.length);
    };
    const target = c.slotAddress(slot);
    if (target === null) fail(ERR.clusterDownUnbound);
    else if (c.ownsSlot(slot)) fail(ERR.tryAgain);
    else {
      // The owner runs it through TESSERA.MC (same arguments) and sends the memcached reply
      // back as a bulk string.
      const parts: Uint8Array[] = [MC_FORWARD_NAME];
      for (let i = 1; i < args.argc; i++) parts.push(Buffer.from(args.buf.subarray(args.off[i]!, args.off[i]! + args.len[i]!)));
      this.forwardPeer(target, 2).call(parts, FORWARD_TIMEOUT_MS).then(
        (r) => {
          if (r[0] !== 36) return fail(r[0] === 45 ? r.toString('latin1', 1, r.length - 2) : 'ERR unexpected reply');
          const nl = r.indexOf(10);
          sink.deliver(seq, r, nl + 1, r.length - 2 - (nl + 1));
        },
        (e: Error) => fail(`TRYAGAIN forwarding to ${target} failed: ${e.message}`),
      );
    }
    return true;
  }

  shardOfSlot(slot: number): number {
    return this.slotToShard[slot]!;
  }

  private shardOf(a: ArgList, i: number): number {
    // One shard owns every slot: no CRC16 of the key (the default on a 2-core host).
    if (this.links.length === 1) return 0;
    return this.slotToShard[keySlot(a.buf, a.off[i]!, a.len[i]!)]!;
  }

  shardOfKey(key: Uint8Array, off: number, len: number): number {
    return this.slotToShard[keySlot(key, off, len)]!;
  }

  private runMain(conn: Connection, a: ArgList, handler: (m: MainCall) => void | Promise<void>, counter: CommandCounter): void {
    const seq = conn.takeSeq();
    const out = new RespWriter(256);
    out.proto = conn.proto;
    const t0 = process.hrtime.bigint();
    let r: void | Promise<void> = undefined;
    try {
      r = handler({ server: this, conn, args: a, out });
    } catch (e) {
      this.failMain(out, e);
      counter.failed++;
    }
    if (r instanceof Promise) {
      conn.hold();
      r.then(
        () => undefined,
        (e: unknown) => {
          this.failMain(out, e);
          counter.failed++;
        },
      ).finally(() => {
        counter.usec += Number(process.hrtime.bigint() - t0) / 1000;
        conn.deliver(seq, out.buf, 0, out.length);
        conn.release();
      });
      return;
    }
    counter.usec += Number(process.hrtime.bigint() - t0) / 1000;
    if (out.buf[0] === 45) counter.failed++;
    conn.deliver(seq, out.buf, 0, out.length);
  }

  /** Replaces a failed main-thread command's reply with its error. */
  private failMain(out: RespWriter, e: unknown): void {
    out.reset();
    if (e instanceof ReplyError) {
      out.error(e.reply);
      return;
    }
    this.log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'command failed');
    out.error(`ERR ${(e as Error).message}`);
  }

  /** Splits a multi-key command into one sub-command per shard (keys with their step's
   * arguments, in the client's order) and merges the parts. */
  private fanKeys(conn: Connection, idx: number, spec: CommandSpec, a: ArgList, first: number, last: number, step: number): void {
    const groups = new Map<number, number[]>();
    const order = new Map<number, number[]>();
    let k = 0;
    for (let i = first; i <= last; i += step, k++) {
      const s = this.shardOf(a, i);
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
    const gather = new Gather(conn, conn.takeSeq(), spec.merge!, shards.length, shards.map((s) => order.get(s)!), k);
    shards.forEach((s, part) => {
      const g = groups.get(s)!;
      const sub = this.subsetOf(g);
      this.links[s]!.send(gather, part, idx, conn.proto, a, sub);
    });
    this.scheduleTurn();
  }

  private fanAll(conn: Connection, idx: number, spec: CommandSpec, a: ArgList): void {
    const gather = new Gather(conn, conn.takeSeq(), spec.merge ?? 'ok', this.links.length, null, 0);
    this.links.forEach((l, part) => l.send(gather, part, idx, conn.proto, a, null));
    this.scheduleTurn();
  }

  private subsetOf(argIdx: number[]): ArgSubset {
    const n = argIdx.length + 1;
    const idx = new Int32Array(n);
    idx[0] = 0;
    for (let i = 0; i < argIdx.length; i++) idx[i + 1] = argIdx[i]!;
    return { idx, count: n };
  }

  // --- ServerApi -------------------------------------------------------------------------------

  clients(): Iterable<ClientInfo> {
    return this.conns.values();
  }

  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3, owner = false): Promise<Buffer> {
    const a = argListOf(args);
    const idx = lookupCommand(a.buf, a.off[0]!, a.len[0]!);
    if (idx < 0) return Promise.reject(new Error(`no such shard command ${String(args[0])}`));
    const sink = new PromiseSink();
    this.links[shard]!.send(sink, 0, idx, proto, a, null, owner);
    this.scheduleTurn();
    return sink.promise;
  }

  withShardsLocked<T>(shards: number[], fn: (call: ShardCaller) => Promise<T>): Promise<T> {
    const involved = [...new Set(shards)].sort((x, y) => x - y);
    const call: ShardCaller = (shard, args, proto) => this.callShard(shard, args, proto, true);
    const run = async (): Promise<T> => {
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

  shardStats(): Promise<ShardStatsReport[]> {
    return Promise.all(this.links.map((l) => l.stats()));
  }

  commandStats(): Map<string, CommandCounter> {
    const m = new Map<string, CommandCounter>();
    COMMANDS.forEach((c, i) => {
      const k = this.counters[i]!;
      if (k.calls > 0 || k.rejected > 0) m.set(c.name, k);
    });
    return m;
  }

  resetStats(): void {
    for (const c of this.counters) {
      c.calls = 0;
      c.usec = 0;
      c.rejected = 0;
      c.failed = 0;
    }
    this.stats.totalCommandsProcessed = 0;
    this.stats.totalConnectionsReceived = 0;
    this.stats.rejectedConnections = 0;
    this.stats.totalNetInputBytes = 0;
    for (const l of this.links) l.resetStats();
  }

  serverStats(): ServerStats {
    let restarts = 0;
    for (const l of this.links) restarts += l.restarts;
    return { ...this.stats, shardRestarts: restarts, connectedClients: this.conns.size };
  }

  /** save: true/false as SHUTDOWN SAVE/NOSAVE; null saves when save points are set (Redis). */
  shutdown(reason: string, save: boolean | null = null): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.log.info({ reason }, 'User requested shutdown...');
      if (this.persistCron) clearInterval(this.persistCron);
      this.replication.stop();
      try {
        await this.persistence.beforeShutdown(save);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'Error trying to save the DB before exiting');
      }
      if (this.cronTimer) clearInterval(this.cronTimer);
      // Stop accepting now; close() resolves only once every connection is gone (below).
      const listenersClosed = Promise.all(this.netServers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      // Give in-flight replies a moment to reach their clients, then close everyone.
      const deadline = Date.now() + 2000;
      while (this.links.some((l) => l.inFlight > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      this.flushTurn();
      for (const c of [...this.conns.values()]) c.kill();
      await this.frontDoors?.close();
      await listenersClosed;
      this.peers.close();
      if (this.cluster) await this.cluster.stop();
      await Promise.all(this.links.map((l) => l.stop()));
      this.log.info('Tessera is now ready to exit, bye bye...');
      this.closedResolve();
    })();
    return this.stopping;
  }
}

export async function startServer(config: Config): Promise<RunningServer> {
  const log = createLogger(config.values);
  const server = new Server(config, log);
  await server.listen();
  const onSignal = (sig: string): void => {
    void server.shutdown(`received ${sig}`);
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  return {
    closed: server.closed,
    shutdown: (reason) => server.shutdown(reason),
    get port() {
      return server.port;
    },
  };
}

/** A copy of a command's arguments that outlives the receive buffer. */
function copyArgList(a: ArgList): ArgList {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < a.argc; i++) parts.push(a.buf.slice(a.off[i]!, a.off[i]! + a.len[i]!));
  return argListOf(parts);
}
