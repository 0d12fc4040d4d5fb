// The shape of a command: one declarative spec per command, kept in its family file beside its
// handler. The dispatcher checks arity, auth and out-of-memory from the spec, once, for every
// command; handlers never repeat those checks.

import type { Keyspace, EvictionPolicy } from '../keyspace/keyspace.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import type { Config } from '../config/config.js';
import type { ClusterControl } from '../cluster/api.js';
import type { PeerPool } from '../cluster/peer-client.js';
import type { InFlightKeys } from '../cluster/slot-migrator.js';
import type { LogSettings, PersistenceStats, ShardPersistence } from '../persistence/shard-persistence.js';
import type { PersistenceManager } from '../persistence/persistence-manager.js';
import type { Replication } from '../replication/replication.js';

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'fast'
  | 'noscript'
  | 'random'
  | 'loading'
  | 'stale'
  | 'no-auth'
  | 'allow-busy'
  | 'skip-slowlog'
  | 'no-multi'
  | 'blocking'
  /** Runs in an importing slot without a preceding ASKING (RESTORE-ASKING, RESTOREBATCH). */
  | 'asking';

/** Redis key spec in its legacy (first, last, step) form; last -1 = up to the last argument. */
export interface KeySpec {
  first: number;
  last: number;
  step: number;
}

/** Arguments of one command: argument i is buf[off[i] .. off[i]+len[i]). Argument 0 is the name.
 * Views into a ring or a receive buffer: valid only while the handler runs. */
export interface ArgList {
  buf: Uint8Array;
  off: Int32Array;
  len: Int32Array;
  argc: number;
}

/** Per-shard settings that shard handlers read (pushed over the control port). */
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
}

export interface ShardContext {
  readonly shardId: number;
  readonly ks: Keyspace;
  readonly settings: ShardSettings;
  /** Where the reply goes; its `proto` is the requesting connection's protocol. */
  out: RespWriter;
  args: ArgList;
  /** Stops the shard abruptly, as a crash would (DEBUG SHARD-CRASH). */
  crash(): never;
  /** The shard's log, feed and snapshot job (persistence commands). */
  readonly persist: ShardPersistence;
}

export type ShardHandler = (c: ShardContext) => void;

/** How the replies of a command fanned out over several shards become one reply. */
export type MergeKind = 'sum' | 'ok' | 'gather' | 'concat';

export interface ClientInfo {
  readonly id: number;
  name: string;
  proto: 2 | 3;
  authenticated: boolean;
  readonly addr: string;
  readonly laddr: string;
  readonly fd: number;
  readonly createdAtMs: number;
  lastInteractionMs: number;
  lastCommand: string;
  libName: string;
  libVer: string;
  /** Bytes buffered but not parsed, and pending output bytes (CLIENT LIST qbuf, omem). */
  queryBufferBytes(): number;
  outputBufferBytes(): number;
  /** Close after the current reply is written (QUIT, CLIENT KILL of itself). */
  closeAfterReply(): void;
  /** Close now (CLIENT KILL of another client). */
  kill(): void;
  /** Back to a fresh connection's state (RESET). */
  reset(): void;
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
}

/** What main-thread handlers may use of the server. */
export interface ServerApi {
  readonly config: Config;
  readonly shardCount: number;
  readonly startedAtMs: number;
  readonly runId: string;
  readonly port: number;
  readonly commands: readonly CommandSpec[];
  clients(): Iterable<ClientInfo>;
  /** Runs a shard command on one shard with the given arguments (argument 0 = command name)
   * and resolves with its raw reply bytes, encoded for proto. */
  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3): Promise<Buffer>;
  shardOfKey(key: Uint8Array, off: number, len: number): number;
  /** Statistics from every shard's control port. */
  shardStats(): Promise<ShardStatsReport[]>;
  /** Per-command counters: calls and total microseconds. */
  commandStats(): Map<string, { calls: number; usec: number; rejected: number; failed: number }>;
  resetStats(): void;
  serverStats(): ServerStats;
  /** save: SHUTDOWN SAVE (true) / NOSAVE (false); null = save when save points are set. */
  shutdown(reason: string, save?: boolean | null): void;
  /** Saves, rewrites and their state (INFO persistence). */
  readonly persistence: PersistenceManager;
  /** Replication role, replicas, WAIT (INFO replication, ROLE). */
  readonly replication: Replication;
  /** Serialises cross-shard atomic operations: runs fn while the listed shards receive nothing
   * but fn's own calls (made through `call`), so no other client sees a half-done operation. */
  withShardsLocked<T>(shards: number[], fn: (call: ShardCaller) => Promise<T>): Promise<T>;
  /** Cluster membership when cluster-enabled, else null. */
  readonly cluster: ClusterControl | null;
  shardOfSlot(slot: number): number;
  /** Pooled node-to-node RESP clients (MIGRATE, slot migration, forwarding). */
  readonly peers: PeerPool;
  /** Keys of slot-migration batches sent and not yet acknowledged. */
  readonly inFlight: InFlightKeys;
}

export type ShardCaller = (shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3) => Promise<Buffer>;

export interface ServerStats {
  totalConnectionsReceived: number;
  totalCommandsProcessed: number;
  rejectedConnections: number;
  totalNetInputBytes: number;
  totalNetOutputBytes: number;
  shardRestarts: number;
  connectedClients: number;
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
  /** Execution-time histograms by command index (see observability/latency.ts). */
  latency: Float64Array;
}

export interface MainCall {
  server: ServerApi;
  conn: ClientInfo;
  args: ArgList;
  out: RespWriter;
}

/** Runs on the main thread. Returning a promise holds the connection's later commands until it
 * settles. `args` are views into the receive buffer: read them all before the first await. */
export type MainHandler = (m: MainCall) => void | Promise<void>;

export interface SubcommandSpec {
  name: string;
  arity: number;
  flags: readonly CommandFlag[];
  keys: KeySpec | null;
  summary: string;
}

export interface CommandSpec {
  /** Lower-case name. */
  name: string;
  /** Redis rule: n > 0 exactly n arguments (name included), n < 0 at least -n. */
  arity: number;
  flags: readonly CommandFlag[];
  keys: KeySpec | null;
  group: 'string' | 'generic' | 'connection' | 'server' | 'cluster' | 'internal';
  since: string;
  summary: string;
  /** Runs on the shard owning the key(s). */
  shard?: ShardHandler;
  /** When keys span shards (or the command has no key and `allShards`): how partial replies merge. */
  merge?: MergeKind;
  /** Keyless command that runs on every shard and merges with `merge`. */
  allShards?: boolean;
  /** Coordinator for a command whose keys span shards and which must stay atomic. */
  crossShard?: MainHandler;
  /** Runs on the main thread. */
  main?: MainHandler;
  subcommands?: readonly SubcommandSpec[];
  /** Argument-count rule beyond arity, checked before the command is split over shards. */
  validate?: (argc: number) => string | null;
  /** Cluster mode: keys may span slots (no CROSSSLOT) as long as each slot is served here or
   * being imported (RESTOREBATCH of a slot-migration batch). */
  multiSlot?: boolean;
  /** Internal shard operation, not listed by COMMAND. */
  hidden?: boolean;
}
