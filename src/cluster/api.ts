// What the rest of a node sees of cluster membership: the contract between the cluster core
// (topology, gossip, failure detection, the bus, nodes.conf) and its users (the CLUSTER command
// family, the router, slot migration, forwarding). The router reads ownership on every command, so
// those reads are plain array look-ups; everything else may allocate.

export const CLUSTER_SLOTS = 16384;

/** Redis's flag words as CLUSTER NODES prints them. */
export type NodeFlag = 'myself' | 'master' | 'slave' | 'pfail' | 'fail' | 'handshake' | 'noaddr' | 'nofailover';

/** One node as this node currently knows it (a snapshot; not updated in place). */
export interface NodeView {
  /** 40 lower-case hex characters. */
  id: string;
  ip: string;
  port: number;
  /** Cluster bus port. */
  cport: number;
  /** tls-cluster: its plain RESP port besides `port` (the TLS one); 0 or absent = none. */
  pport?: number;
  hostname: string;
  flags: readonly NodeFlag[];
  /** Primary's id for a replica, null for a primary. */
  primaryId: string | null;
  /** Unix ms of the last ping sent not yet answered (0 = none pending), of the last pong received. */
  pingSentMs: number;
  pongRecvMs: number;
  configEpoch: number;
  /** A bus link to it is up. */
  connected: boolean;
  /** Slots it serves, as sorted inclusive ranges [from, to]. */
  slots: ReadonlyArray<readonly [number, number]>;
  /** Replication offset: as last announced on the bus; for myself, the hooks' current one. */
  replOffset: number;
}

/** Fields of CLUSTER INFO, in Redis's order and names. */
export interface ClusterInfoFields {
  cluster_state: 'ok' | 'fail';
  cluster_slots_assigned: number;
  cluster_slots_ok: number;
  cluster_slots_pfail: number;
  cluster_slots_fail: number;
  cluster_known_nodes: number;
  cluster_size: number;
  cluster_current_epoch: number;
  cluster_my_epoch: number;
  /** cluster_stats_messages_<type>_sent / _received, and the totals. */
  messages: ReadonlyArray<readonly [string, number]>;
}

/**
 * What the cluster core needs from the server's replication (the server passes it with setHooks at
 * start). The cluster decides roles; replication moves the data. Every function must return
 * quickly and must not throw (errors are the server's to log); until setHooks is called the core
 * behaves as if the offset were 0 and the role changes did nothing.
 */
export interface ClusterHooks {
  /** This node's replication offset: a primary's own offset, a replica's processed offset (summed
   * over shards, the same way on every node, so that replicas of one primary compare). Ranks the
   * replicas of a failed primary and ends a manual failover's catch-up. */
  replicationOffset(): number;
  /** Start (or switch to) replicating the primary at host:port (its client port): full or partial
   * sync. Called when this node becomes a replica (CLUSTER REPLICATE, a returning old primary,
   * a sibling following the winner, replica migration) and at start for a node loaded as one. */
  becomeReplicaOf(host: string, port: number): void;
  /** Stop replicating and accept writes, keeping the data (new replid; the old one as replid2 so
   * that siblings resume partially). Called when this replica wins an election or a takeover, and
   * by CLUSTER RESET on a replica. */
  becomePrimary(): void;
  /** Manual failover, primary side: pause writes (clients wait; none is refused) and resolve with
   * the offset once nothing more can be written. Paused until resumeWrites() or `timeoutMs`. */
  pauseWritesAndGetOffset(timeoutMs: number): Promise<number>;
  /** End of the manual failover (done, timed out or aborted): writes go on. */
  resumeWrites(): void;
  /** Primary side: acknowledged offsets of connected replicas, by "ip:port" (diagnostics). */
  replicaOffsetsKnown(): Map<string, number>;
}

/** One role change this node saw (the newest last): for `tessera cluster status`. */
export interface FailoverEvent {
  /** Unix ms. */
  timeMs: number;
  kind: 'failover' | 'manual' | 'force' | 'takeover' | 'replicate' | 'migrate' | 'demoted';
  /** The node that became primary (or, for 'replicate'/'migrate'/'demoted', the new primary of `nodeId`). */
  primaryId: string;
  /** The node whose role changed: the old primary (failovers), the replica (replicate, migrate). */
  nodeId: string;
  epoch: number;
}

/**
 * A node's cluster membership. Mutators throw `ReplyError` (src/commands/errors.ts) carrying
 * Redis's exact error text (e.g. "ERR Slot 5 is already busy") so that commands can reply it as is.
 * Every accepted change that Redis would persist is saved to the config file (atomically: temporary
 * file, fsync, rename) by the next flushConfig(), which runs before any reply is written.
 */
export interface ClusterControl {
  readonly myId: string;
  /** tls-cluster yes: node ports are TLS ports (CLUSTER SHARDS says `tls-port`). */
  readonly tlsCluster: boolean;

  // --- hot path (every keyed command) -------------------------------------------------------
  /** This node serves the slot. */
  ownsSlot(slot: number): boolean;
  /** "ip:port" of the slot's owner, or null when unassigned. `plain` (a client connected without
   * TLS): under tls-cluster, the owner's plain port when it has one (Redis 7.0's pport); only for
   * what a client is told (MOVED), never for a link this node dials. */
  slotAddress(slot: number, plain?: boolean): string | null;
  /** "ip:port" of the node this slot is migrating to, or null when not migrating (`plain`: as
   * slotAddress, for ASK). */
  migratingTo(slot: number, plain?: boolean): string | null;
  /** Id of the node this slot is being imported from, or null. */
  importingFrom(slot: number): string | null;
  /** 'ok' when every slot is served by a reachable node (or full coverage is not required). */
  state(): 'ok' | 'fail';

  // --- views --------------------------------------------------------------------------------
  myself(): NodeView;
  nodes(): NodeView[];
  node(id: string): NodeView | null;
  currentEpoch(): number;
  info(): ClusterInfoFields;
  /** CLUSTER NODES text, one line per node, each ending in "\n" (the same lines as nodes.conf). */
  /** `plain`: the nodes' plain ports under tls-cluster, where they have one (a client without TLS). */
  nodesText(plain?: boolean): string;
  /** Failure reports about a node held by this node (CLUSTER COUNT-FAILURE-REPORTS). */
  countFailureReports(id: string): number;
  /** [slot, node id] of slots that are migrating / importing here (for CLUSTER NODES brackets). */
  openSlots(): { migrating: Array<[number, string]>; importing: Array<[number, string]> };

  // --- changes (CLUSTER subcommands) --------------------------------------------------------
  meet(ip: string, port: number, cport?: number): void;
  forget(id: string): void;
  addSlots(slots: readonly number[]): void;
  delSlots(slots: readonly number[]): void;
  setSlotImporting(slot: number, fromId: string): void;
  setSlotMigrating(slot: number, toId: string): void;
  setSlotStable(slot: number): void;
  /** CLUSTER SETSLOT slot NODE id: assigns the slot (bumping the epoch when taking it over
   * from another node, as Redis does at the end of an import). */
  setSlotNode(slot: number, id: string): void;
  /** Returns Redis's status text: "BUMPED <epoch>" or "STILL <epoch>". */
  bumpEpoch(): string;
  setConfigEpoch(epoch: number): void;
  reset(hard: boolean): void;
  /** Writes the config file now (CLUSTER SAVECONFIG). */
  saveConfig(): void;
  /** Writes the config file if a change is pending; the server calls it before writing replies,
   * so that what a reply acknowledges is on disk. */
  flushConfig(): void;

  /** Called after ownership of any slot changed (locally or by gossip). */
  onSlotsChanged(listener: () => void): void;

  // --- pub/sub across nodes -----------------------------------------------------------------
  /** PUBLISH leaving this node (sharded = false: to every node) or SPUBLISH (sharded = true: to the
   * other nodes of this node's shard). At most once; returns at once, never blocks on a peer. */
  publish(channel: Uint8Array, message: Uint8Array, sharded: boolean): void;
  /** A message another node published, for local delivery. The bytes are views into the bus's
   * read buffer: valid during the call only (copy what is kept). */
  onPublish(listener: (channel: Uint8Array, message: Uint8Array, sharded: boolean) => void): void;
  /** Slots this node stopped serving for sharded pub/sub (as Redis 7.0 when a slot's owner
   * changes: migration, failover, DELSLOTS); `lost` is valid during the call only. */
  onServedSlotsLost(listener: (lost: (slot: number) => boolean) => void): void;

  // --- replicas and failover ----------------------------------------------------------------
  /** The server's replication, called when roles change. */
  setHooks(h: ClusterHooks): void;
  /** CLUSTER REPLICATE: become a replica of node `id`. `keys` is this node's key count (a primary
   * must be empty). Redis's errors: unknown node, myself, a replica, not empty. */
  replicate(id: string, keys: number): void;
  /** CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica; returns at once (the switch is asynchronous). */
  failover(mode: 'default' | 'force' | 'takeover'): void;
  /** CLUSTER REPLICAS id: its replicas; throws Redis's errors for an unknown node or a replica. */
  replicasOf(id: string): NodeView[];
  /** This node's primary when it is a replica (null for a primary or an unknown primary). */
  myPrimary(): NodeView | null;
  isReplica(): boolean;
  /** Whether a replica is there to serve reads of `slot` (READONLY): its primary serves it. */
  primaryOwnsSlot(slot: number): boolean;
  /** CLUSTER REPLICAS lines (CLUSTER NODES lines without the newline) of a primary's replicas
   * (`plain`: as nodesText). */
  replicaLines(id: string, plain?: boolean): string[];
  /** Role changes seen by this node, oldest first (bounded). */
  failoverLog(): readonly FailoverEvent[];
  /** cluster-migration-barrier and cluster-replica-no-failover (CONFIG SET may change them). */
  /** DEBUG CLUSTER-PARTITION: drop bus traffic to and from these nodes (empty: heal). A test hook
   * that cuts the cluster bus only (client and replication links stay up). */
  debugPartition(ids: readonly string[]): void;
  setTunables(t: { migrationBarrier?: number | undefined; replicaNoFailover?: boolean | undefined; allowReplicaMigration?: boolean | undefined }): void;

  start(): Promise<void>;
  stop(): Promise<void>;
}
