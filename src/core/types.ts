// The shared kernel's types: what every layer passes to every other (argument lists, shard
// settings and statistics, client info, server counters). Imports nothing of the project, so that
// the runtime, cluster, persistence and replication layers never reach into the command layer.

export type EvictionPolicy =
  | 'noeviction' | 'allkeys-lru' | 'allkeys-lfu' | 'volatile-lru' | 'volatile-lfu' | 'volatile-ttl'
  | 'allkeys-random' | 'volatile-random';

export type FsyncPolicy = 'always' | 'everysec' | 'no';

/** Where a shard logs: paths[shard] under the given policy (null: no log). */
export interface LogSettings {
  paths: string[];
  fsync: FsyncPolicy;
}

export interface PersistenceStats {
  dirty: number;
  aofBytes: number;
  aofPending: number;
  aofWriteOk: boolean;
  snapshotActive: boolean;
  snapshotKeys: number;
  snapshotKeysTotal: number;
  snapshotPeakBytes: number;
}

/** Arguments of one command: argument i is buf[off[i] .. off[i]+len[i]). Argument 0 is the name.
 * Views into a ring or a receive buffer: valid only while the handler runs. */
export interface ArgList {
  buf: Uint8Array;
  off: Int32Array;
  len: Int32Array;
  argc: number;
}

/** Tessera's own per-user limits (ACL rules `ops-per-sec=N`, `bytes-per-sec=N`, `maxclients=N`;
 * 0 = no limit). */
/** (Declared here, re-exported by acl.ts: ClientInfo names the user.) */
export interface UserLimits {
  readonly opsPerSec: number;
  readonly bytesPerSec: number;
  readonly maxClients: number;
}

export interface AclUser {
  readonly name: string;
  /** `on`; a disabled or deleted user's clients are disconnected (as Redis does). */
  readonly enabled: boolean;
  /** Every command, key and channel allowed (`+@all ~* &*` and no selector narrower): the
   * dispatcher skips the check. The default user's usual state. */
  readonly unrestricted: boolean;
  /** The number naming the user to the shards (scripts check redis.call there); stable for the
   * user's life and never reused (a request in flight when its user is deleted must not
   * take the rights of a later user). 0 is the default user. */
  readonly id: number;
  readonly limits: UserLimits;
}

/** Per-shard settings that shard handlers read (pushed over the control port). */
/** When a collection leaves its compact encoding (Redis's options of the same names). */
export interface CollectionLimits {
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  setMaxIntsetEntries: number;
  setMaxListpackEntries: number;
  setMaxListpackValue: number;
  /** Redis's list-max-listpack-size: > 0 elements per node, -1..-5 bytes per node (4..64 KiB). */
  listMaxListpackSize: number;
  listCompressDepth: number;
  zsetMaxListpackEntries: number;
  zsetMaxListpackValue: number;
  /** Redis's stream-node-max-bytes and stream-node-max-entries (0 = no limit). */
  streamNodeMaxBytes: number;
  streamNodeMaxEntries: number;
}

export interface ShardSettings {
  /** This shard's share of maxmemory, bytes; 0 = no limit. */
  maxmemoryBytes: number;
  maxmemoryPolicy: EvictionPolicy;
  maxmemorySamples: number;
  protoMaxBulkLen: number;
  activeExpireEnabled: boolean;
  hz: number;
  /** The append-only log each shard writes (paths by shard), or null when appendonly is off. */
  aof: LogSettings | null;
  /** Generation of `aof`: a shard ignores log settings older than the ones it already has (a
   * rewrite switches logs through the ring, ahead of settings still on their way). */
  aofGen: number;
  /** Hand every batch's records to the main thread for replicas (this node has replicas). */
  replFeed: boolean;
  /** Encoding thresholds of hashes and sets. */
  limits: CollectionLimits;
  /** Scripts (src/scripting/shard-scripts.ts): the busy/kill words shared with the main thread,
   * busy-reply-threshold, and what a script's host needs to tell a key of another shard. */
  scripts?: { words: Int32Array; busyReplyThresholdMs: number; shardCount: number; cluster: boolean };
  /** notify-keyspace-events as flags (core/keyspace-events.ts); 0 = no keyspace events. Optional
   * for settings built before the option existed (tests, tools): absent means 0. */
  notifyKeyspaceEvents?: number;
  /** The same flags in shared memory (word 0), written by the main thread before CONFIG SET
   * replies: a shard reads it before each command, so the next command already sees a change
   * (settings themselves travel over the control port, unordered with the rings). */
  notifyWord?: Int32Array;
  /** CLIENT PAUSE's mode in shared memory (word 0; 0 = none), written by the main thread: while
   * a pause is in force the shard's active expiry cycle stands still, as Redis 7.0's does. */
  pauseWord?: Int32Array;
  /** hll-sparse-max-bytes: a sparse HyperLogLog growing past it becomes dense (absent: 3000). */
  hllSparseMaxBytes?: number;
  /** `databases`: numbered databases a client may SELECT (absent: 16). */
  databases?: number;
  /** Commands taking this many microseconds or more are reported to the main thread (SLOWLOG,
   * LATENCY: the lower of their thresholds); absent or Infinity: none. */
  slowCaptureUs?: number;
  /** latency-monitor-threshold (ms, 0 or absent: off): the shard's own latency events (expire
   * cycle) at or above it are reported. */
  latencyThresholdMs?: number;
}

/** How the replies of a command fanned out over several shards become one reply. */
export type MergeKind = 'sum' | 'ok' | 'gather' | 'concat';

export interface ClientInfo {
  readonly id: number;
  name: string;
  proto: 2 | 3;
  authenticated: boolean;
  /** The ACL user its commands run as (the default user until AUTH; again on RESET). */
  user: AclUser;
  readonly addr: string;
  readonly laddr: string;
  readonly fd: number;
  /** Connected through tls-port (a tls.TLSSocket): a TLS cluster shows it the TLS ports, a plain
   * client the plain ones (Redis 7.0's pport). */
  readonly tls: boolean;
  readonly createdAtMs: number;
  lastInteractionMs: number;
  lastCommand: string;
  libName: string;
  libVer: string;
  /** Bytes buffered but not parsed, and pending output bytes (CLIENT LIST qbuf, omem). */
  queryBufferBytes(): number;
  outputBufferBytes(): number;
  /** Of the pending output, the bytes in the reply buffer not yet handed to the socket (obl). */
  replyBufferBytes(): number;
  /** Close after the current reply is written (QUIT, CLIENT KILL of itself). */
  closeAfterReply(): void;
  /** Close now (CLIENT KILL of another client). */
  kill(): void;
  /** Waiting in a blocking command (BLPOP...): its socket keeps being read, so that a client
   * that goes away is noticed at once and its place freed, as Redis frees it. */
  setBlocked(blocked: boolean): void;
  /** Back to a fresh connection's state (RESET). */
  reset(): void;
  /** CLIENT NO-EVICT on (CLIENT LIST flag e). */
  noEvict: boolean;
  /** In MONITOR mode (set by server/monitor.ts; CLIENT LIST flag O). */
  monitoring: boolean;
  /** Bytes of the command being run (CLIENT LIST argv-mem; 0 between commands). */
  argvBytes(): number;
  /** ASKING was the previous command (cleared after the next one). */
  asking: boolean;
  /** READONLY mode (cluster): reads may be served by replicas. */
  readonlyMode: boolean;
  /** Replication: what a replica announced with REPLCONF (capa values, listening-port). */
  replCapa: string[];
  replListeningPort: number;
  /** Writes bytes to the socket after every reply so far (a replica link's stream); false when
   * the caller should wait for drained() before writing more. */
  writeRaw(bytes: Uint8Array): boolean;
  drained(): Promise<void>;
  /** Called once when the connection closes. */
  onClose(listener: () => void): void;
  /** Commands queued since MULTI (CLIENT LIST multi=), -1 outside a transaction. */
  multi: number;
  /** The database its commands run in (SELECT; 0 for every door but RESP). */
  db: number;
  /** A command was refused while queueing: EXEC answers EXECABORT (Redis's CLIENT_DIRTY_EXEC). */
  multiFailed: boolean;
  /** Pub/sub subscriptions, kept by server/pubsub.ts (CLIENT LIST sub/psub/ssub, flag P). */
  readonly subscriptions: ClientSubscriptions;
  /** Queues a pub/sub push frame after the replies already due, never inside one. A frame of
   * PUSH_SHARE_MIN_BYTES (server/pubsub.ts) or more may be kept by reference (the caller must not reuse it). */
  push(frame: Uint8Array): void;
  /** Pushes published from now on go after this command's reply (a (P|S)SUBSCRIBE's confirmation
   * comes before the first message it lets through). */
  pushAfterCurrentReply(): void;
}

/** A client's pub/sub subscriptions; names are latin1 strings of the channel or pattern bytes. */
export interface ClientSubscriptions {
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  readonly shardChannels: Set<string>;
}

export type ShardCaller = (shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3, db?: number) => Promise<Buffer>;

export interface ServerStats {
  totalConnectionsReceived: number;
  totalCommandsProcessed: number;
  rejectedConnections: number;
  totalNetInputBytes: number;
  totalNetOutputBytes: number;
  shardRestarts: number;
  connectedClients: number;
  // guard (src/server/guard.ts): refusals and limits, on every door
  /** Connections refused by protected mode. */
  protectedModeRefused: number;
  /** Connections refused by max-new-connections-per-sec. */
  connectionsRateRefused: number;
  /** Requests answered -LIMIT (client-ops-per-sec or a user's ops-per-sec). */
  rateLimitedRequests: number;
  /** Times a client's socket was paused for its bytes-per-sec budget. */
  bandwidthLimitedPauses: number;
  /** Logins refused by a user's maxclients. */
  userMaxclientsRefused: number;
}

export interface ShardStatsReport {
  shardId: number;
  keys: number;
  expires: number;
  usedMemory: number;
  arenaBytes: number;
  indexCapacity: number;
  expiredKeys: number;
  evictedKeys: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  commandsProcessed: number;
  restarts: number;
  /** Milliseconds spent executing commands since the shard started. */
  busyMs: number;
  /** Linux thread id of the thread that runs the shard (the process id when inline; 0 where
   * unknown), so that a benchmark can read that thread's CPU time from /proc (INFO cpu). */
  threadId: number;
  persistence: PersistenceStats;
  /** [db, keys, expires] of each database holding keys (INFO keyspace); absent: db 0 only. */
  dbs?: Array<[number, number, number]>;
  /** Execution-time histograms by command index (see observability/latency.ts). */
  latency: Float64Array;
}
