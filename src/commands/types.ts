// The shape of a command: one declarative spec per command, kept in its family file beside its
// handler. The dispatcher checks arity, auth and out-of-memory from the spec, once, for every
// command; handlers never repeat those checks.

import type { MergedCommandStats } from '../observability/command-stats.js';
import type { SlowLog } from '../observability/slowlog.js';
import type { LatencyMonitor } from '../observability/latency-monitor.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import type { Config } from '../config/config.js';
import type { ClusterControl } from '../cluster/api.js';
import type { PeerPool } from '../cluster/peer-client.js';
import type { InFlightKeys } from '../cluster/slot-migrator.js';
import type { PersistenceManager } from '../persistence/persistence-manager.js';
import type { Replication } from '../replication/replication.js';
import type { ArgList, ClientInfo, MergeKind, ServerStats, ShardCaller, ShardSettings, ShardStatsReport } from '../core/types.js';
import type { ShardContext, ShardHandler } from '../runtime/shard-context.js';
import type { LuaEngine } from '../scripting/lua-engine.js';
import type { CommandDecl } from './command-decl.js';
import type { Acl } from '../acl/acl.js';
import type { AclUser } from '../core/acl.js';

// The shared kernel's types and the shard handler contract, for the command layer's own use.
export type { ArgList, ClientInfo, MergeKind, ServerStats, ShardCaller, ShardSettings, ShardStatsReport, ShardContext, ShardHandler };

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
  | 'pubsub'
  /** Runs in an importing slot without a preceding ASKING (RESTORE-ASKING, RESTOREBATCH). */
  | 'asking';

/** Redis key spec in its legacy (first, last, step) form; last -1 = up to the last argument. */
export interface KeySpec {
  first: number;
  last: number;
  step: number;
  /** Movable keys counted by an argument (Redis's keynum key spec, SINTERCARD's numkeys): the
   * argument at this index holds n, and the n arguments after it are the keys. first, last and
   * step are then 0, as Redis's legacy triple; see keyRange(). With first > 0 the fixed keys
   * first..last (= numkeysAt - 1) come before the count, as ZUNIONSTORE's destination. */
  numkeysAt?: number;
  /** Movable keys found by a function (Redis's getkeys_proc; SORT's STORE destination): the index
   * of the one key after `first`, or 0 when there is none. The keys are then first and that one
   * (step = their distance); see keyRange(). */
  extraKeyAt?: (a: ArgList) => number;
  /** Keys after a STREAMS keyword (XREAD, XREADGROUP): the first half of the arguments after
   * the first STREAMS; see keyRange(). */
  afterStreams?: boolean;
}






/** One blocked client's wait (server/blocked-clients.ts): a shard serves it or the main thread
 * cancels it (timeout, CLIENT UNBLOCK, disconnect...), never both. */
export interface ClientWait {
  readonly slot: number;
  readonly gen: number;
  /** The final reply once the wait was served or cancelled, else null. */
  readonly result: Buffer | null;
  readonly ended: boolean;
  /** A shard holds a registration of this wait. */
  registered(shard: number): void;
  /** The final reply: a shard's, the timeout's (timeoutMs 0: none), or a cancel's. */
  settle(timeoutMs: number): Promise<Buffer>;
  /** Ends the wait with reply unless a shard claimed it first (false: its reply is on its way). */
  cancelWith(reply: Buffer): boolean;
  /** Releases the wait (always, once its reply is known). */
  end(): void;
}

export interface BlockingApi {
  /** Starts conn's wait on keys of the given cluster slots; nullReply answers a timeout. */
  begin(conn: ClientInfo, slots: readonly number[], nullReply: Buffer): ClientWait;
  readonly count: number;
  isBlocked(connId: number): boolean;
  unblock(connId: number, error: boolean): boolean;
}

/** CLIENT PAUSE / UNPAUSE and what CLIENT LIST and INFO show of the pause (server/client-pause.ts). */
export interface ClientPauseApi {
  /** 0 none, 1 writes, 2 every command. */
  readonly mode: number;
  pauseClients(mode: 1 | 2, endMs: number): void;
  unpauseClients(): void;
  readonly heldCount: number;
  isHeld(clientId: number): boolean;
}

/** MONITOR's clients (server/monitor.ts). */
export interface MonitorsApi {
  readonly active: boolean;
  readonly count: number;
  readonly dropped: number;
  /** Attaches c; false when it already monitors. */
  add(c: ClientInfo): boolean;
  remove(c: ClientInfo): void;
  has(c: ClientInfo): boolean;
  /** Feeds command `idx` (unless MONITOR leaves it out: admin commands) run in database `db` by
   * the client at `addr`. */
  feedCommand(idx: number, db: number, addr: string, a: ArgList): void;
}

/** Pub/sub subscription kinds: 0 channels, 1 patterns, 2 shard channels. */
export type SubKind = 0 | 1 | 2;

/** Pub/sub on the main thread (server/pubsub.ts implements it, and re-exports it). */
export interface PubSubApi {
  /** PUBLISH: delivers to this node's subscribers (channels and matching patterns), then hands the
   * message to onPropagate (cluster bus) when set. Returns the local receivers (Redis's reply). */
  publish(channel: Uint8Array, message: Uint8Array): number;
  /** Local delivery only (a message received over the cluster bus, a keyspace notification). */
  publishLocal(channel: Uint8Array, message: Uint8Array): number;
  /** SPUBLISH's delivery to this node's sharded subscribers, then onPropagate(..., true). */
  spublish(channel: Uint8Array, message: Uint8Array): number;
  spublishLocal(channel: Uint8Array, message: Uint8Array): number;
  /** Set by the cluster wiring (pubsub-cluster): PUBLISH / SPUBLISH leave the node. The bytes are
   * views (of a client's receive buffer): valid during the call only, copy what is kept. */
  onPropagate: ((channel: Uint8Array, message: Uint8Array, sharded: boolean) => void) | null;
  /** Slot migration / loss: sharded subscribers of channels whose slot `lost(slot)` is true get
   * Redis 7's sunsubscribe notice and are unsubscribed from them. */
  dropShardChannels(lost: (slot: number) => boolean): void;
  /** Counts for INFO (pubsub_channels, pubsub_patterns, pubsubshard_channels). */
  counts(): { channels: number; patterns: number; shardChannels: number };
}

/** What the pub/sub commands use besides the contract. */
export interface PubSubNode extends PubSubApi {
  /** (P|S)SUBSCRIBE of one name; its confirmation goes to out. */
  subscribe(c: ClientInfo, kind: SubKind, name: Uint8Array, out: RespWriter): void;
  /** (P|S)UNSUBSCRIBE of one name; its confirmation goes to out (none when null). */
  unsubscribe(c: ClientInfo, kind: SubKind, name: Uint8Array, out: RespWriter | null): void;
  /** (P|S)UNSUBSCRIBE without names: all of that kind, one confirmation each. */
  unsubscribeAll(c: ClientInfo, kind: SubKind, out: RespWriter | null): void;
  /** Every subscription of c dropped silently (RESET, disconnect). */
  forget(c: ClientInfo): void;
  /** PUBSUB CHANNELS / SHARDCHANNELS: the active names matching pattern (all when null). */
  names(kind: 0 | 2, pattern: Uint8Array | null): Buffer[];
  /** PUBSUB NUMSUB / SHARDNUMSUB: the subscribers of one name. */
  subscriberCount(kind: 0 | 2, name: Uint8Array): number;
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
  /** @param db the database it runs in (default 0) */
  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3, db?: number): Promise<Buffer>;
  shardOfKey(key: Uint8Array, off: number, len: number): number;
  /** Statistics from every shard's control port. */
  shardStats(): Promise<ShardStatsReport[]>;
  /** Every thread's per-command statistics summed, given the shards' reports. */
  mergedCommandStats(shards: readonly ShardStatsReport[]): MergedCommandStats;
  /** Counts a call of command `idx` made by a script run on the main thread (INFO commandstats);
   * idx -1: that call replied an error (counted by its shard), so an error the script passes on
   * is not counted twice in errorstats. */
  countCall(idx: number, a: ArgList): void;
  resetStats(): Promise<void>;
  /** Resolves once every shard has the settings of the last CONFIG SET (bounded wait). */
  settingsApplied(): Promise<void>;
  /** SLOWLOG's entries and LATENCY's events (main thread; shards report theirs to it). */
  readonly slowlog: SlowLog;
  readonly latencyMonitor: LatencyMonitor;
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
  /** Inside withShardsLocked only: runs a shard command and blocks until its reply (a script
   * whose keys span shards); null when the shard gave none within timeoutMs. */
  callShardSync(shard: number, args: ArgList, proto: 2 | 3, timeoutMs: number): Buffer | null;
  /** Inside withShardsLocked only: a merged multi-key command (MGET, DEL...) split over the keys'
   * shards, blocking until the merged reply; null when a shard gave none within timeoutMs. */
  fanKeysSync(idx: number, args: ArgList, first: number, last: number, step: number, proto: 2 | 3, timeoutMs: number): Buffer | null;
  /** Inside withShardsLocked: the database the blocking calls above run in from now on (a
   * script's SELECT on the cross-shard path); returns the previous one. */
  setLockedDb(db: number): number;
  /** Cluster membership when cluster-enabled, else null. */
  readonly cluster: ClusterControl | null;
  shardOfSlot(slot: number): number;
  /** Pooled node-to-node RESP clients (MIGRATE, slot migration, forwarding). */
  readonly peers: PeerPool;
  /** Keys of slot-migration batches sent and not yet acknowledged. */
  readonly inFlight: InFlightKeys;
  /** Blocked clients (BLPOP and the other blocking commands, CLIENT UNBLOCK, INFO). */
  readonly blocked: BlockingApi;
  /** CLIENT PAUSE's gate, shared with the manual failover's write pause. */
  readonly clientPause: ClientPauseApi;
  /** Clients in MONITOR mode. */
  readonly monitors: MonitorsApi;
  /** Pub/sub of this node (channels, patterns, shard channels). */
  readonly pubsub: PubSubNode;
  /** The node's scripts and functions (script-node.ts). */
  readonly scripting: ScriptingApi;
  /** MULTI / WATCH state of the connections (server/transactions.ts). */
  readonly transactions: TransactionsApi;
  /** The node's users (ACL commands, AUTH, the dispatcher's check). */
  readonly acl: Acl;
  /** A login of `client` as `user`: the error when the user's maxclients is reached, else null
   * (server/guard.ts). */
  loginRefusal(user: AclUser, client: object): string | null;
}

/** One shard command of a stepped coordinator; the generator receives its raw reply. */
export interface ShardStep {
  shard: number;
  args: Array<Uint8Array | string>;
}

/** A stepped coordinator: the shards it locks, and its steps (it writes its reply to out, or
 * throws ReplyError). The arguments are read before the first step (copy what the steps keep). */
export type CrossShardSteps = (server: ServerApi, a: ArgList, out: RespWriter) => { shards: number[]; steps: Generator<ShardStep, void, Buffer> } | null;

/** What the SCRIPT / FUNCTION handlers and the dispatcher use of the node's scripting state. */
export interface ScriptingApi {
  readonly engine: LuaEngine | null;
  readonly scripts: ReadonlyMap<string, Buffer>;
  /** -BUSY / NOSCRIPT before routing, or null (the dispatcher's one guarded call). */
  admit(idx: number, a: ArgList): string | null;
  addScript(body: Buffer): string;
  /** EVAL*, FCALL*: whether the script is bound to its declared keys' slot (Redis 7 flags: a
   * shebang or a function without allow-cross-slot-keys, and at least one key). */
  boundToKeys(a: ArgList, kind: 'eval' | 'evalsha' | 'fcall'): boolean;
  flushScripts(): void;
  kill(fn: boolean): string | null;
  runningShard(): { shard: number; fn: boolean } | null;
  loadLibrary(code: Buffer, replace: boolean): string;
  deleteLibrary(name: string): boolean;
  flushLibraries(): void;
  dump(): Buffer;
  restore(codes: Uint8Array[], policy: 'APPEND' | 'REPLACE' | 'FLUSH'): void;
  /** INFO memory's script fields (number_of_cached_scripts...). */
  memoryInfo(): Array<[string, string | number]>;
}

/** What the transaction commands need outside a transaction; inside one, the dispatcher hands
 * every command to the transactions module first (EXEC, DISCARD, queueing). */
export interface TransactionsApi {
  /** MULTI: conn starts queueing. */
  multi(conn: ClientInfo): void;
  /** WATCH key...: resolves once every key's shard registered the watch. */
  watch(conn: ClientInfo, keys: Uint8Array[]): Promise<void>;
  /** UNWATCH (also RESET, a disconnect): conn watches nothing any more. */
  unwatch(conn: ClientInfo): void;
  /** RESET: the transaction is discarded, the keys unwatched. */
  reset(conn: ClientInfo): void;
  /** Bytes of conn's queued commands (CLIENT LIST multi-mem; 0 outside MULTI). */
  queuedBytes(conn: ClientInfo): number;
}




export interface MainCall {
  server: ServerApi;
  conn: ClientInfo;
  args: ArgList;
  out: RespWriter;
  /** Run by EXEC: a command that would block or stream (MONITOR) refuses, as Redis's
   * CLIENT_DENY_BLOCKING. */
  inExec?: boolean;
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
  /** See CommandSpec.decl. */
  decl?: DeclOverride;
}

/** What COMMAND reports of a command Redis 7.0 lacks, beyond what it derives from the spec (ACL
 * categories, key spec flags, docs); commands Redis has take Redis's declaration (decls/). */
export type DeclOverride = Partial<Omit<CommandDecl, 'name' | 'arity' | 'subcommands'>>;

export interface CommandSpec {
  /** Lower-case name. */
  name: string;
  /** Redis rule: n > 0 exactly n arguments (name included), n < 0 at least -n. */
  arity: number;
  flags: readonly CommandFlag[];
  keys: KeySpec | null;
  group: 'string' | 'list' | 'hash' | 'set' | 'zset' | 'generic' | 'connection' | 'server' | 'cluster' | 'pubsub' | 'internal' | 'scripting' | 'geo' | 'stream';
  since: string;
  summary: string;
  /** Runs on the shard owning the key(s). */
  shard?: ShardHandler;
  /** Keyspace event [class, name] on argument 1 after every non-error reply (see ShardCommand). */
  event?: readonly [string, string];
  /** When keys span shards (or the command has no key and `allShards`): how partial replies merge. */
  merge?: MergeKind;
  /** Keyless command that runs on every shard and merges with `merge`. */
  allShards?: boolean;
  /** Coordinator for a command whose keys span shards and which must stay atomic. */
  crossShard?: MainHandler;
  /** Runs on the main thread. */
  main?: MainHandler;
  /** A blocking command: runs on the main thread once cluster routing accepted its keys (the
   * shard-channel pub/sub commands, SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, use it for that too). */
  blocking?: MainHandler;
  subcommands?: readonly SubcommandSpec[];
  /** Argument-count rule beyond arity, checked before the command is split over shards. */
  validate?: (argc: number) => string | null;
  /** Cluster mode: keys may span slots (no CROSSSLOT) as long as each slot is served here or
   * being imported (RESTOREBATCH of a slot-migration batch). */
  multiSlot?: boolean;
  /** Arguments that reach keys beyond the key arguments (SORT's BY and GET patterns): true when
   * these do. With several shards, or in cluster mode, the command then runs `crossShard` even
   * when its key arguments share one shard (cluster: the coordinator refuses it, as Redis). */
  reachesOtherKeys?: (a: ArgList, cluster: boolean, server: ServerApi) => boolean;
  /** A `crossShard` coordinator written as steps (the shards to lock, then one shard command per
   * step, each given its reply): run by crossShardHandler, and synchronously by a script spanning
   * shards (script-cross.ts), so both use one implementation. */
  crossShardSteps?: CrossShardSteps;
  /** Internal shard operation, not listed by COMMAND. */
  hidden?: boolean;
  /** For a command Redis 7.0 lacks: its declaration beyond what COMMAND derives (command-meta.ts). */
  decl?: DeclOverride;
}
