// The main thread of a node, as a composition root: it builds the shard links, the shard router,
// the cluster router, the dispatcher and the front doors, wires them (each depends only on those
// below it), accepts RESP connections, and owns the node's life (start, persistence, replication,
// the cluster, shutdown). The routing itself lives in shard-router.ts, cluster-router.ts and
// dispatcher.ts; admission in admission.ts.

import { SlowLog, captureThresholdUs } from '../observability/slowlog.js';
import { LatencyMonitor } from '../observability/latency-monitor.js';
import { SlowFeed } from './slow-feed.js';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config.js';
import { createLogger, pinoLevel } from '../observability/logger.js';
import type { Logger } from 'pino';
import { COMMANDS } from '../commands/registry.js';
import { ERR } from '../core/errors.js';
import type { ArgList, ClientInfo, ServerApi, ServerStats, ShardCaller, ShardSettings, ShardStatsReport } from '../commands/types.js';
import { Connection, type ConnectionHost } from './connection.js';
import { BlockedClients } from './blocked-clients.js';
import { Transactions } from './transactions.js';
import { ShardLink } from '../runtime/shard-link.js';
import { InlineShard } from '../runtime/inline-shard.js';
import type { FeedListener, PublishHooks, ReplySink, ShardPort } from '../runtime/shard-port.js';
import type { ClusterControl } from '../cluster/api.js';
import { ClusterNode, type ClusterNodeOptions } from '../cluster/cluster-node.js';
import type { TlsDialOptions } from '../cluster/dial.js';
import { TLS_RELOAD_OPTIONS, type TlsContexts } from '../config/tls.js';
import { wireClusterPubSub } from '../cluster/pubsub-bridge.js';
import { isAbsolute, join } from 'node:path';
import { PeerPool } from '../cluster/peer-client.js';
import { InFlightKeys } from '../cluster/slot-migrator.js';
import { startFrontDoors, type FrontDoors } from './front-doors.js';
import { ServerTls } from './server-tls.js';
import { PersistenceManager, type PersistenceHost } from '../persistence/persistence-manager.js';
import type { LogSettings } from '../persistence/shard-persistence.js';
import { Replication } from '../replication/replication.js';
import type { AdmissionState } from './admission.js';
import { ClientPause } from './client-pause.js';
import { Monitors } from './monitor.js';
import { ShardRouter } from './shard-router.js';
import { ClusterRouter } from './cluster-router.js';
import { Dispatcher, STAT_TABLE } from './dispatcher.js';
import { mergeCommandStats, type MergedCommandStats } from '../observability/command-stats.js';
import { ScriptNode } from '../commands/script-node.js';
import { initShardScripts } from '../scripting/shard-scripts.js';
import { PubSub } from './pubsub.js';
import { AclShards } from './acl-shards.js';
import { aclChangeListener } from './acl-clients.js';
import { serialisePermissions } from '../acl/permissions-bytes.js';
import { PUBLISH_ACL_DENIAL, type PublishMode } from '../runtime/publish-queue.js';
import { Guard } from './guard.js';
import type { AclUser } from '../core/acl.js';
import { Acl } from '../acl/acl.js';
import { aclCatalogue } from '../commands/acl-catalogue.js';
import { aclfilePath, loadAclFile } from '../acl/acl-file.js';
import { ConfigError } from '../config/config.js';

export interface RunningServer {
  /** Resolves when the server has fully stopped (after SHUTDOWN, SIGTERM or SIGINT). */
  closed: Promise<void>;
  /** Graceful stop: stop accepting, finish in-flight replies, stop shards. */
  shutdown(reason: string): Promise<void>;
  port: number;
}


/** Longest CONFIG SET waits for the shards to acknowledge new settings. */
const SETTINGS_ACK_MAX_MS = 2000;

class Server implements ServerApi, ConnectionHost, PersistenceHost {
  readonly startedAtMs = Date.now();
  readonly runId = randomBytes(20).toString('hex');
  readonly commands = COMMANDS;
  private readonly conns = new Map<number, Connection>();
  private nextClientId = 1;
  private readonly netServers: net.Server[] = [];
  readonly router: ShardRouter;
  readonly clusterRouter: ClusterRouter;
  private readonly dispatcher: Dispatcher;
  /** CLIENT PAUSE and the manual failover's write pause: one gate (client-pause.ts). */
  readonly clientPause = new ClientPause();
  /** MONITOR's clients (monitor.ts). */
  readonly monitors: Monitors = new Monitors({
    normalHardLimitBytes: () => this.config.values.clientOutputBufferLimitNormal.hardBytes,
    logDrop: (c, pending, limit) => this.log.warn({ client: c.id, addr: c.addr }, `Client closed: MONITOR output ${pending} bytes over the limit ${limit}`),
  }, COMMANDS);
  private readonly stats: ServerStats = {
    totalConnectionsReceived: 0,
    totalCommandsProcessed: 0,
    rejectedConnections: 0,
    totalNetInputBytes: 0,
    totalNetOutputBytes: 0,
    shardRestarts: 0,
    connectedClients: 0,
    protectedModeRefused: 0,
    connectionsRateRefused: 0,
    rateLimitedRequests: 0,
    bandwidthLimitedPauses: 0,
    userMaxclientsRefused: 0,
  };
  private stopping: Promise<void> | null = null;
  private closedResolve!: () => void;
  readonly closed = new Promise<void>((r) => (this.closedResolve = r));
  private cronTimer: NodeJS.Timeout | null = null;
  private frontDoors: FrontDoors | null = null;
  port = 0;
  /** The bound tls-port (0 = no RESP over TLS). */
  tlsPort = 0;
  /** The TLS contexts of every door and outgoing link (src/server/server-tls.ts). */
  readonly tls: ServerTls;
  cluster: ClusterControl | null = null;
  readonly peers = new PeerPool();
  readonly inFlight = new InFlightKeys();
  readonly persistence: PersistenceManager;
  readonly replication: Replication;
  readonly blocked: BlockedClients;
  /** The node's scripts and functions (script cache, libraries, -BUSY words). */
  readonly scripting: ScriptNode;
  readonly transactions: Transactions;
  /** SLOWLOG and LATENCY (issue 19): fed by the shards and the dispatcher through slowFeed. */
  readonly slowlog = new SlowLog();
  readonly latencyMonitor = new LatencyMonitor();
  private readonly slowFeed = new SlowFeed(this.slowlog, this.latencyMonitor);
  readonly pubsub = new PubSub();
  /** Protected mode, the new-connection cap and the client/user limits, for every door. */
  readonly guard: Guard;
  /** The node's users (src/acl): built before any client connects. */
  readonly acl = new Acl(aclCatalogue(COMMANDS));
  /** The shards' log files (set by persistence), part of every shard's settings. */
  private aof: LogSettings | null = null;
  private persistCron: NodeJS.Timeout | null = null;

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    // First: a TLS configuration that cannot be used stops the start before any shard runs.
    this.tls = new ServerTls(config, log);
    const n = config.values.shards;
    this.guard = this.makeGuard();
    this.scripting = new ScriptNode(n, COMMANDS);
    this.blocked = new BlockedClients({
      cancelOnShard: (shard, slot, gen) => void this.callShard(shard, ['__bcancel', String(slot), String(gen)], 2).catch(() => undefined),
      redirectFor: (slot, plain) => {
        const c = this.cluster;
        if (c === null || c.ownsSlot(slot)) return null;
        const to = c.slotAddress(slot, plain);
        return to === null ? ERR.clusterDownUnbound : ERR.moved(slot, to);
      },
    });
    this.router = new ShardRouter(n, () => this.cluster?.flushConfig());
    const threads = config.values.shardThreads;
    // Messages published in shards (keyspace notifications, PUBLISH run by a script) go to pub/sub.
    const publishing: PublishHooks = { onPublish: (ch, msg, mode, from) => this.onShardPublish(ch, msg, mode, from) };
    for (let i = 0; i < n; i++) {
      const onFeed: FeedListener = (shard, records) => this.onFeed(shard, records);
      // A restarted shard worker has a fresh engine: it gets the node's scripts and libraries back.
      const hooks = { claims: this.blocked.claims, onWake: this.blocked.onWake.bind(this.blocked), onRestart: (id: number) => { this.blocked.onRestart(id); this.scripting.shardRestarted(id); this.aclShards?.shardRestarted(id); } };
      this.router.links.push(threads ? new ShardLink(i, this.shardSettings(), log, () => this.router.afterReplies(), onFeed, hooks, publishing) : new InlineShard(i, this.shardSettings(), onFeed, COMMANDS, hooks, publishing));
    }
    this.clusterRouter = new ClusterRouter(this.router, this);
    this.dispatcher = new Dispatcher(this, this.router, this.clusterRouter, this.admissionState, this.clientPause, this.stats, log, this.guard);
    this.dispatcher.cmdStats.tracking = config.values.latencyTracking;
    this.transactions = new Transactions(this, this.router, this.clusterRouter);
    this.dispatcher.transactions = this.transactions;
    this.dispatcher.monitors = this.monitors;
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
        functionsDump: () => this.scripting.dump(),
      },
      {
        log,
        shardCount: n,
        listeningPort: () => this.replicaListeningPort(),
        tlsClient: this.linkTls(() => this.config.values.tlsReplication),
        masterauth: () => {
          const v = this.config.values;
          return v.masterauth === '' ? null : { user: v.masteruser === '' ? 'default' : v.masteruser, pass: v.masterauth };
        },
        callShard: (shard, args, proto) => this.callShard(shard, args, proto),
        historyChanged: () => this.replication.primary.disconnectReplicas(),
        onFunctions: (payload) => this.scripting.replaceFromPrimary(payload),
        onPublish: (channel, message, sharded) => {
          if (sharded) this.pubsub.spublishLocal(channel, message);
          else this.pubsub.publishLocal(channel, message);
        },
      },
      // The live config values (same field names): the write gate reads them without a copy.
      () => this.config.values,
    );
    // MIGRATE, forwarding and slot migration dial TLS under tls-cluster (Redis 7.0's MIGRATE too).
    this.peers.tls = this.linkTls(() => this.config.values.tlsCluster);
    this.replication.primaryBacklogBytes = config.values.replBacklogSize;
    this.scripting.onFunctionsChanged = (payload) => this.replication.primary.functionsChanged(payload);
    // PUBLISH and SPUBLISH reach the replicas' subscribers, as Redis propagates them. In cluster
    // mode the bus reaches every node instead (wireClusterPubSub replaces this hook).
    this.pubsub.onPropagate = (channel, message, sharded) => this.replication.primary.published(channel, message, sharded);
    // Redis's disconnectAllBlockedClients when a primary turns replica.
    this.replication.onBecomingReplica = () => this.blocked.unblockAll(ERR.unblockedRoleChange);
    this.wireAcl();
    this.wireAclPaths();
    this.wireSlowlog();
    config.onChange((names) => {
      if (names.includes('loglevel')) this.log.level = pinoLevel(config.values.loglevel);
      if (names.includes('appendonly') || names.includes('appendfsync')) void this.persistence.configChanged();
      if (names.some((n) => n === 'cluster-migration-barrier' || n === 'cluster-replica-no-failover' || n === 'cluster-allow-replica-migration')) {
        const v = config.values;
        this.cluster?.setTunables({ migrationBarrier: v.clusterMigrationBarrier, replicaNoFailover: v.clusterReplicaNoFailover, allowReplicaMigration: v.clusterAllowReplicaMigration });
      }
      this.dispatcher.cmdStats.tracking = config.values.latencyTracking;
      const s = this.shardSettings();
      this.applying = Promise.all(this.links.map((l) => l.configure(s))).then(() => undefined);
    });
  }

  /** SLOWLOG / LATENCY: their options now and on CONFIG SET (the shards' threshold travels in
   * their settings), the shards' records and the dispatcher's main-thread commands. */
  private wireSlowlog(): void {
    const apply = (): void => {
      const v = this.config.values;
      this.slowFeed.configure(v.slowlogLogSlowerThan, v.latencyMonitorThreshold);
      this.slowlog.maxLen = v.slowlogMaxLen;
    };
    apply();
    this.config.onChange(apply);
    for (const l of this.router.links) l.onSlow = this.slowFeed.onShard;
    this.dispatcher.slow = this.slowFeed;
  }

  /** The shards' acknowledgement of the last settings sent (CONFIG SET). */
  private applying: Promise<void> = Promise.resolve();

  settingsApplied(): Promise<void> {
    // Bounded: a shard that hangs is the supervisor's business, not a reason to hold a client.
    return Promise.race([this.applying, new Promise<void>((resolve) => setTimeout(resolve, SETTINGS_ACK_MAX_MS).unref())]);
  }

  /** The users at start (`user` lines, or the aclfile; requirepass as the default user's
   * password, as Redis 7 maps it) and the options that change them later. A bad user definition
   * stops the start, as in Redis. */
  private wireAcl(): void {
    const v = this.config.values;
    this.acl.log.maxLen = v.acllogMaxLen;
    const lines = this.config.userLines;
    const definesDefault = lines.some((l) => l[0] === 'default');
    if (v.requirepass !== '' && !definesDefault) this.acl.setRequirepass(v.requirepass);
    try {
      if (lines.length > 0) this.acl.replaceAll(lines.map((l) => [l[0] ?? '', l.slice(1)] as const));
      else if (v.aclfile !== '') loadAclFile(this.acl, aclfilePath(v.dir, v.aclfile));
    } catch (e) {
      // A complete message, as for any configuration error: no stack trace at start.
      throw new ConfigError(`Error in user declaration: ${(e as Error).message}`);
    }
    if (v.requirepass !== '' && lines.length > 0 && !definesDefault) this.acl.setRequirepass(v.requirepass);
    this.config.onChange((names) => {
      if (names.includes('requirepass')) this.acl.setRequirepass(this.config.values.requirepass);
      if (names.includes('acllog-max-len')) {
        this.acl.log.maxLen = this.config.values.acllogMaxLen;
        this.acl.log.trim();
      }
    });
  }

  /** The shards' copies of restricted users' permissions (scripts' redis.call checks). */
  private aclShards: AclShards | null = null;

  /** ACL past the dispatcher's check (docs/security-aclpaths.md): what a user change does to its
   * clients, and the permissions the shards check scripts' calls against. */
  private wireAclPaths(): void {
    const shards = new AclShards(this, (u) => serialisePermissions(this.acl.user(u.name)!));
    this.aclShards = shards;
    this.acl.onChange(aclChangeListener(this));
    this.acl.onChange((u, deleted) => shards.changed(u, deleted));
  }

  get shardCount(): number {
    return this.router.shardCount;
  }

  /** The guard (guard.ts), kept current with CONFIG SET and the ACL's user changes. */
  private makeGuard(): Guard {
    // Protected mode looks at the default user's nopass flag only, as Redis 7.0 does.
    const guard = new Guard(this.config.values, this.stats, () => !this.acl.defaultUser.nopass);
    this.config.onChange(() => guard.configChanged());
    // Every user change (SETUSER, DELUSER, LOAD, the config file's users at start) reaches it.
    this.acl.onChange((user, deleted) => guard.userChanged(user, deleted));
    return guard;
  }

  get links(): readonly ShardPort[] {
    return this.router.links;
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
      scripts: { words: this.scripting.words, busyReplyThresholdMs: v.busyReplyThreshold, shardCount: v.shards, cluster: v.clusterEnabled },
      notifyKeyspaceEvents: v.notifyKeyspaceEvents,
      notifyWord: this.notifyWordFor(v.notifyKeyspaceEvents),
      pauseWord: this.clientPause.word,
      hllSparseMaxBytes: v.hllSparseMaxBytes,
      databases: v.databases,
      latencyTracking: v.latencyTracking,
      slowCaptureUs: captureThresholdUs(v.slowlogLogSlowerThan, v.latencyMonitorThreshold),
      latencyThresholdMs: v.latencyMonitorThreshold,
      limits: {
        hashMaxListpackEntries: v.hashMaxListpackEntries,
        hashMaxListpackValue: v.hashMaxListpackValue,
        setMaxIntsetEntries: v.setMaxIntsetEntries,
        setMaxListpackEntries: v.setMaxListpackEntries,
        setMaxListpackValue: v.setMaxListpackValue,
        listMaxListpackSize: v.listMaxListpackSize,
        listCompressDepth: v.listCompressDepth,
        zsetMaxListpackEntries: v.zsetMaxListpackEntries,
        zsetMaxListpackValue: v.zsetMaxListpackValue,
        streamNodeMaxBytes: v.streamNodeMaxBytes,
        streamNodeMaxEntries: v.streamNodeMaxEntries,
      },
    };
  }

  /** notify-keyspace-events in memory the shards share (ShardSettings.notifyWord), written before
   * CONFIG SET replies so that the next command sees it on every shard. */
  private notifyWord: Int32Array | null = null;

  private notifyWordFor(flags: number): Int32Array {
    this.notifyWord ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(this.notifyWord, 0, flags);
    return this.notifyWord;
  }

  /** A message a shard published (ShardContext.publish): 0 local delivery, 1 PUBLISH, 2 SPUBLISH. */
  private onShardPublish(channel: Uint8Array, message: Uint8Array, mode: PublishMode, from: ReplySink | null): void {
    const ps = this.pubsub;
    if (mode === PUBLISH_ACL_DENIAL) this.aclShards?.denied(from, channel, message);
    else if (mode === 0) ps.publishLocal(channel, message);
    else if (mode === 1) ps.publish(channel, message);
    else ps.spublish(channel, message);
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
    this.clientPause.pause(timeoutMs);
    await this.feedBarrier();
    return this.replication.primary.offset;
  }

  resumeWrites(): void {
    this.clientPause.resume();
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
    // Users defined at start (config `user` lines, aclfile) reach the shards before any client.
    this.aclShards?.syncAll(this.acl.sortedUsers());
    const v = this.config.values;
    // Engines before any script: inline shards' here, worker shards' in their worker's start.
    if (!v.shardThreads) for (let i = 0; i < this.links.length; i++) await initShardScripts(i);
    await this.scripting.start({
      shardCount: this.links.length,
      callShard: (shard, args, proto) => this.callShard(shard, args, proto),
      dataDir: () => this.config.values.dir,
      persistent: () => this.config.values.appendonly || this.config.values.save.trim() !== '',
      readOnlyReplica: () => this.replication.isReplica && this.config.values.replicaReadOnly,
      warn: (msg) => this.log.warn(msg),
    });
    this.persistence.removeTemporaries();
    // The RESP port opens first and answers -LOADING (as redis-server does) until the data, the
    // cluster state and the other ports are back: no client sees this node before what it had.
    this.starting = true;
    // port 0 with a tls-port serves TLS only, as in Redis (port 0 alone is a random port).
    const plainHosts = v.port === 0 && v.tlsPort > 0 ? [] : v.bind;
    for (const host of plainHosts) {
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
    await this.listenTls();
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
    if (plainHosts.length > 0) this.log.info({ port: this.port, bind: v.bind, shards: this.links.length, pid: process.pid }, 'Ready to accept connections tcp');
    if (v.replicaof !== '' && this.cluster === null) {
      const [host, port] = v.replicaof.split(' ');
      this.replication.replicaOf(host!, Number(port));
    }
  }

  /** RESP over TLS on tls-port (every bind address): the same accept path as the plain port. */
  private async listenTls(): Promise<void> {
    const v = this.config.values;
    if (v.tlsPort === 0) return;
    for (const host of v.bind) {
      const { server, port } = await this.tls.listen('resp', v.tlsPort, host, (sock) => this.accept(sock));
      this.netServers.push(server);
      this.tlsPort = port;
    }
    this.log.info({ tlsPort: this.tlsPort }, 'Ready to accept connections tls');
  }

  /** True until listen() is done: commands not flagged `loading` get -LOADING. */
  private starting = false;
  /** The node's state as admission sees it, for every front door. */
  readonly admissionState: AdmissionState = ((server: Server): AdmissionState => ({
    // Getters over the live state: read only when a request is admitted.
    get loading(): boolean {
      return server.starting;
    },
    get writesPaused(): boolean {
      return server.clientPause.mode !== 0;
    },
    get allPaused(): boolean {
      return server.clientPause.mode === 2;
    },
    get writesGated(): boolean {
      return server.replication.gatesWrites;
    },
    // In cluster mode the redirect comes first (Redis's order): a replica answers MOVED for its
    // primary's slots, so only min-replicas-to-write is checked here.
    writeRefusal: () => server.replication.writeRefusal(server.cluster !== null),
  }))(this);

  /** A login as `user` (AUTH, HELLO AUTH, memcached SASL or text auth): refused past the user's
   * maxclients (guard.ts). Counts the RESP and memcached connections logged in as the user,
   * `client` itself left out. */
  loginRefusal(user: AclUser, client: object): string | null {
    if (user.limits.maxClients === 0) return null;
    let n = this.frontDoors?.clientsOf(user, client) ?? 0;
    for (const c of this.conns.values()) if (c.user === user && c !== client) n++;
    return this.guard.loginRefusal(user, n);
  }

  /** Open client connections on every front door: maxclients bounds their sum, as in Redis. */
  connectionsOpen(): number {
    return this.conns.size + (this.frontDoors?.connections() ?? 0);
  }

  /** Runs `run` (a write admission held) once the failover write pause ends. */
  whenWritesResume(run: () => void): void {
    this.clientPause.whenResumed(run);
  }

  // --- TLS between nodes (tls-replication, tls-cluster: docs/security-tlsclus.md) -----------------

  /** Client options for an outgoing link while `on()` holds, read at each dial (a reload applies
   * to the next link); null = plain TCP. */
  private linkTls(on: () => boolean): TlsDialOptions {
    return () => (on() ? (this.tls.contexts?.client() ?? null) : null);
  }

  /** REPLCONF listening-port: the tls-port under tls-replication, as Redis 7.0 announces it. */
  private replicaListeningPort(): number {
    return this.config.values.tlsReplication && this.tlsPort > 0 ? this.tlsPort : this.port;
  }

  /** tls-cluster yes: the bus's TLS (mutual; reloaded with the other contexts) and the port the
   * node announces, its tls-port (Redis 7.0); else plain TCP and the RESP port. */
  private clusterTls(plainPort: number): { port: number; plainPort: number; tls: ClusterNodeOptions['tls'] } {
    const v = this.config.values;
    if (!v.tlsCluster) return { port: plainPort, plainPort: 0, tls: null };
    const contexts = (): TlsContexts => {
      const c = this.tls.contexts;
      if (c === null) throw new Error('tls-cluster needs the tls-* certificate options');
      return c;
    };
    if (this.tlsPort === 0) throw new Error('tls-cluster yes needs a tls-port');
    contexts();
    return { port: this.tlsPort, plainPort, tls: { server: () => contexts().server(), client: () => contexts().client() } };
  }

  private async startCluster(plainPort: number): Promise<void> {
    const v = this.config.values;
    const { port, tls, plainPort: pport } = this.clusterTls(plainPort);
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
      busSecret: () => this.config.values.clusterBusSecret,
      log: this.log.child({ component: 'cluster' }),
      tls,
      plainPort: pport,
    });
    if (tls !== null) this.config.onChange((names) => names.some((n) => TLS_RELOAD_OPTIONS.has(n)) && node.reloadTls());
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
    node.onSlotsChanged(() => this.blocked.slotsChanged());
    // PUBLISH / SPUBLISH over the bus; sunsubscribe notices for shard channels of lost slots.
    wireClusterPubSub(node, this.pubsub);
  }

  private accept(sock: net.Socket): void {
    this.stats.totalConnectionsReceived++;
    // Before anything else: a socket without an error handler turns a client's reset into an
    // uncaught exception that ends the process.
    sock.on('error', () => sock.destroy());
    const refusal = this.guard.refuseConnection(sock.remoteAddress);
    if (refusal !== null) {
      sock.end(`-${refusal}\r\n`, () => sock.destroy());
      return;
    }
    if (this.connectionsOpen() >= this.config.values.maxclients) {
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
      () => this.acl.defaultNeedsAuth,
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
    return this.router.backlogged;
  }

  waitForShards(conn: Connection): void {
    this.router.waitForShards(conn);
  }

  outputLimits(pubsub: boolean): { hardBytes: number; softBytes: number; softSeconds: number } {
    return pubsub ? this.config.outputBufferLimit('pubsub') : this.config.values.clientOutputBufferLimitNormal;
  }

  logClientDrop(conn: Connection, reason: string): void {
    this.log.warn({ client: conn.id, addr: conn.addr }, `Client closed: ${reason}`);
  }

  countInput(bytes: number): void {
    this.stats.totalNetInputBytes += bytes;
  }

  markDirty(conn: Connection): void {
    this.router.markDirty(conn);
  }

  connectionClosed(conn: Connection): void {
    this.conns.delete(conn.id);
    this.blocked.connectionClosed(conn);
    this.clientPause.forget(conn.id);
    this.pubsub.forget(conn);
    this.router.forget(conn);
  }

  publishRequests(): void {
    this.router.scheduleTurn();
  }

  dispatch(conn: Connection, a: ArgList): void {
    this.dispatcher.dispatch(conn, a);
  }

  // --- what the front doors and main-thread commands use ----------------------------------------

  callForKey(key: Uint8Array, args: ReadonlyArray<Uint8Array | string>): Promise<Buffer> {
    return this.clusterRouter.callForKey(key, args);
  }

  routeMemcache(sink: ReplySink, seq: number, args: ArgList, keyArg: number): boolean {
    return this.clusterRouter.routeMemcache(sink, seq, args, keyArg);
  }

  shardOfSlot(slot: number): number {
    return this.router.shardOfSlot(slot);
  }

  shardOfKey(key: Uint8Array, off: number, len: number): number {
    return this.router.shardOfKey(key, off, len);
  }

  // --- ServerApi -------------------------------------------------------------------------------
  /** The front doors' handle on this object as the command layer sees it (dashboard-api.ts). */
  get api(): ServerApi {
    return this;
  }

  clients(): Iterable<ClientInfo> {
    return this.conns.values();
  }

  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3, db = 0): Promise<Buffer> {
    return this.router.callShard(shard, args, proto, false, db);
  }

  callShardSync(shard: number, args: ArgList, proto: 2 | 3, timeoutMs: number): Buffer | null {
    return this.router.callShardSync(shard, args, proto, timeoutMs);
  }

  fanKeysSync(idx: number, args: ArgList, first: number, last: number, step: number, proto: 2 | 3, timeoutMs: number): Buffer | null {
    return this.router.fanKeysSync(idx, args, first, last, step, proto, timeoutMs);
  }

  setLockedDb(db: number): number {
    return this.router.setLockedDb(db);
  }

  withShardsLocked<T>(shards: number[], fn: (call: ShardCaller) => Promise<T>): Promise<T> {
    return this.router.withShardsLocked(shards, fn);
  }

  shardStats(): Promise<ShardStatsReport[]> {
    return Promise.all(this.links.map((l) => l.stats()));
  }

  countCall(idx: number, a: ArgList): void {
    if (idx < 0) this.dispatcher.nestedErrors++;
    else this.dispatcher.cmdStats.calls[STAT_TABLE.statOf(idx, a)]!++;
  }

  countError(text: string): void {
    this.dispatcher.cmdStats.errors.countText(text);
  }

  /** Every thread's per-command statistics summed (INFO commandstats, latencystats, errorstats,
   * LATENCY HISTOGRAM, /metrics). */
  mergedCommandStats(shards: readonly ShardStatsReport[]): MergedCommandStats {
    return mergeCommandStats(STAT_TABLE, [this.dispatcher.cmdStats.snapshot()], shards.flatMap((r) => (r.commands ? [r.commands] : [])));
  }

  resetStats(): Promise<void> {
    this.dispatcher.resetStats();
    this.stats.totalCommandsProcessed = 0;
    this.stats.totalConnectionsReceived = 0;
    this.stats.rejectedConnections = 0;
    this.stats.totalNetInputBytes = 0;
    this.stats.protectedModeRefused = 0;
    this.stats.connectionsRateRefused = 0;
    this.stats.rateLimitedRequests = 0;
    this.stats.bandwidthLimitedPauses = 0;
    this.stats.userMaxclientsRefused = 0;
    this.monitors.dropped = 0;
    // The shards reset over their control ports, unordered with the request rings: resolved once
    // every shard has (bounded as settingsApplied is), so a command sent after the reply counts.
    const shards = Promise.all(this.links.map((l) => l.resetStats())).then(() => undefined);
    return Promise.race([shards, new Promise<void>((resolve) => setTimeout(resolve, SETTINGS_ACK_MAX_MS).unref())]);
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
      this.router.flushTurn();
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
