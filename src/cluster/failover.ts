// Replicas and failover, Redis Cluster's way, with no I/O and no clock of its own (like gossip.ts,
// which calls it through RoleHandler): a replica of a FAIL primary waits a delay that grows with
// its rank (replicas with a greater replication offset go first), takes a new currentEpoch and
// asks every node for a vote; a primary serving slots grants one vote per epoch, not twice for
// replicas of the same primary within 2 x node timeout, and never for a claim staler than what it
// knows; a majority of the primaries serving slots elects the replica, which takes the slots with
// the election epoch as its config epoch and tells everyone (PONG). Those claims, winning by
// config epoch, make the siblings and the returning old primary replicas of the winner (gossip's
// claim()). Manual failover (CLUSTER FAILOVER): the primary pauses writes and announces its offset
// (MFSTART, then heartbeats flagged PAUSED); the replica waits until it has processed that offset,
// then is elected with votes forced (FORCEACK) although its primary is not FAIL. FORCE skips the
// offset handshake; TAKEOVER takes a new epoch without votes. Replica migration gives a replica of
// a primary with more than cluster-migration-barrier working replicas to an orphaned primary.
//
// Timing: Redis's delays (500 ms + 0-500 ms + rank x 1 s before an election, 5 s of orphanhood
// before a migration) are scaled by min(1, node timeout / 5000), so that with the default 15 s
// timeout they are Redis's and with 1 s a failover takes about the failure detection time plus
// 100-200 ms. cluster-replica-validity-factor is accepted and ignored: a replica with stale data
// may be elected (it still ranks last among its siblings).

import type { ClusterHooks, FailoverEvent } from './api.js';
import { type BusMessage, type MessageHeader, MFLAG_FORCEACK, MFLAG_PAUSED, slotBit } from './bus-messages.js';
import { CLUSTER_SLOTS } from './api.js';
import type { Gossip, RoleHandler } from './gossip.js';
import { FLAG_FAIL, FLAG_MASTER, FLAG_NOFAILOVER, FLAG_PFAIL, FLAG_SLAVE, type TopoNode, type Topology } from './topology.js';
import { recordEvent } from '../observability/events.js';

/** How long a manual failover may take (Redis's CLUSTER_MF_TIMEOUT). */
export const MF_TIMEOUT_MS = 5000;
const MIGRATION_DELAY_MS = 5000;
const FAILOVER_LOG_MAX = 64;

/** Stand-ins until the server passes its replication (and in the simulation). */
export const NO_HOOKS: ClusterHooks = {
  replicationOffset: () => 0,
  becomeReplicaOf: () => undefined,
  becomePrimary: () => undefined,
  pauseWritesAndGetOffset: () => Promise.resolve(0),
  resumeWrites: () => undefined,
  replicaOffsetsKnown: () => new Map(),
};

export interface FailoverOptions {
  nodeTimeoutMs: number;
  random: () => number;
  clock: () => number;
  /** Writes nodes.conf now: before a vote or a vote request leaves, as Redis fsyncs it. */
  persist(): void;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export type ManualMode = 'default' | 'force' | 'takeover';

export class Failover implements RoleHandler {
  hooks: ClusterHooks = NO_HOOKS;
  migrationBarrier = 1;
  replicaNoFailover = false;
  allowReplicaMigration = true;
  readonly events: FailoverEvent[] = [];
  /** Delays scale: 1 with Redis's default timeout, less with short ones. */
  readonly scale: number;
  readonly authTimeoutMs: number;

  // Election (replica side), Redis's failover_auth_*.
  private authTimeMs = 0;
  private authSent = false;
  private authRank = 0;
  private authEpoch = 0;
  private readonly votes = new Set<string>();
  // Manual failover: mfEndMs != 0 while one runs (either side).
  private mfEndMs = 0;
  private mfMode: ManualMode = 'default';
  private mfCanStart = false;
  /** Replica side: the paused primary's offset (-1: not announced yet). */
  private mfPrimaryOffset = -1;
  /** Primary side: the replica that asked, and the offset once writes are paused (-1: pausing). */
  private mfReplicaId: string | null = null;
  private mfPausedOffset = -1;
  private mfGeneration = 0;
  private readonly orphanedSinceMs = new Map<string, number>();

  constructor(readonly topo: Topology, readonly gossip: Gossip, readonly opts: FailoverOptions) {
    const t = opts.nodeTimeoutMs;
    this.scale = Math.min(1, t / 5000);
    this.authTimeoutMs = Math.max(2 * t, Math.round(2000 * this.scale));
    gossip.roles = this;
  }

  private get me(): TopoNode {
    return this.topo.myself;
  }

  private isReplica(): boolean {
    return (this.me.flags & FLAG_SLAVE) !== 0;
  }

  /** My primary (null when I am one, or it is unknown). */
  myPrimary(): TopoNode | null {
    const id = this.me.primaryId;
    return this.isReplica() && id !== null ? (this.topo.get(id) ?? null) : null;
  }

  private record(kind: FailoverEvent['kind'], primaryId: string, nodeId: string, nowMs: number): void {
    this.events.push({ timeMs: nowMs, kind, primaryId, nodeId, epoch: this.topo.currentEpoch });
    recordEvent('failover', `${kind}: ${primaryId} is the primary${nodeId !== primaryId ? ` (of ${nodeId})` : ''}, epoch ${this.topo.currentEpoch}`);
    if (this.events.length > FAILOVER_LOG_MAX) this.events.shift();
  }

  private safely(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.opts.log?.warn({ err: e }, `replication hook ${what} failed`);
    }
  }

  // --- RoleHandler (called by gossip) --------------------------------------------------------------

  offset(): number {
    if (!this.isReplica() && this.mfEndMs !== 0 && this.mfPausedOffset >= 0) return this.mfPausedOffset;
    return this.currentOffset();
  }

  mflags(): number {
    let f = 0;
    if (!this.isReplica() && this.mfEndMs !== 0 && this.mfPausedOffset >= 0) f |= MFLAG_PAUSED;
    if (this.isReplica() && this.mfEndMs !== 0) f |= MFLAG_FORCEACK;
    return f;
  }

  private currentOffset(): number {
    try {
      return this.hooks.replicationOffset();
    } catch {
      return 0;
    }
  }

  receive(sender: TopoNode, msg: BusMessage, nowMs: number): void {
    if (msg.type === 'auth-req') this.maybeVote(sender, msg, nowMs);
    else if (msg.type === 'auth-ack') {
      // A vote counts from a primary serving slots whose epoch is at least the election's.
      if ((sender.flags & FLAG_MASTER) !== 0 && sender.numSlots > 0 && msg.currentEpoch >= this.authEpoch && this.authSent) {
        this.votes.add(sender.id);
        this.handleReplicaFailover(nowMs);
      }
    } else if (msg.type === 'mfstart') {
      if (this.isReplica() || sender.primaryId !== this.me.id || (sender.flags & FLAG_SLAVE) === 0) return;
      this.startManualAsPrimary(sender, nowMs);
    }
  }

  heartbeat(sender: TopoNode, msg: MessageHeader, nowMs: number): void {
    if (this.mfEndMs !== 0 && this.isReplica() && this.me.primaryId === sender.id && (msg.mflags & MFLAG_PAUSED) !== 0 && this.mfPrimaryOffset < 0) {
      this.mfPrimaryOffset = msg.offset;
      this.opts.log?.info({ offset: msg.offset }, 'received the paused primary offset for the manual failover');
      this.handleManual(nowMs);
    }
  }

  follow(primary: TopoNode, demoted: boolean): void {
    const nowMs = this.opts.clock();
    const old = this.me.primaryId;
    this.setPrimary(primary, nowMs);
    this.record(demoted ? 'demoted' : 'failover', primary.id, demoted ? this.me.id : (old ?? this.me.id), nowMs);
  }

  // --- role changes of myself ----------------------------------------------------------------------

  /** Redis's clusterSetMaster: myself becomes a replica of `primary` (open slots closed). */
  setPrimary(primary: TopoNode, nowMs: number): void {
    const me = this.me;
    if ((me.flags & FLAG_MASTER) !== 0) {
      this.topo.migrating.clear();
      this.topo.importing.clear();
    }
    const hadSlots = me.numSlots > 0;
    this.topo.setAsReplica(me, primary.id);
    this.gossip.changes.save = true;
    if (hadSlots) this.gossip.changes.slots = true;
    this.resetElection();
    this.opts.log?.info({ primary: primary.id, ip: primary.ip, port: primary.port }, 'replicating a new primary');
    const { ip, port } = primary;
    this.safely('becomeReplicaOf', () => this.hooks.becomeReplicaOf(ip, port));
    // After the switch: writes paused by a manual failover resume as a replica's (redirected).
    this.resetManual(nowMs);
  }

  /** Redis's clusterFailoverReplaceYourMaster: myself takes my primary's slots. */
  private replacePrimary(kind: FailoverEvent['kind'], nowMs: number): void {
    const old = this.myPrimary();
    if (old === null) return;
    const me = this.me;
    this.topo.setAsPrimary(me);
    me.hadReplicas = true;
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (slotBit(old.slotBits, s)) this.topo.assignSlot(s, me);
    this.gossip.changes.save = true;
    this.gossip.changes.slots = true;
    this.safely('becomePrimary', () => this.hooks.becomePrimary());
    this.opts.persist();
    this.gossip.broadcastPong();
    this.record(kind, me.id, old.id, nowMs);
    this.opts.log?.warn({ old: old.id, configEpoch: me.configEpoch, kind }, 'failover: I am the new primary');
    this.resetElection();
    this.resetManual(nowMs);
  }

  private resetElection(): void {
    this.authTimeMs = 0;
    this.authSent = false;
    this.authRank = 0;
    this.votes.clear();
  }

  // --- votes (primary side) ------------------------------------------------------------------------

  /** Redis's clusterSendFailoverAuthIfNeeded. Exported logic for the vote-rule tests: returns the
   * reason a vote is refused, or null when it is granted (and sent). */
  maybeVote(requester: TopoNode, req: MessageHeader, nowMs: number): string | null {
    const me = this.me;
    const refuse = (why: string): string => {
      this.opts.log?.warn({ requester: requester.id, epoch: req.currentEpoch, why }, 'failover auth denied');
      return why;
    };
    if ((me.flags & FLAG_MASTER) === 0 || me.numSlots === 0) return 'not a primary serving slots';
    if (req.currentEpoch < this.topo.currentEpoch) return refuse('request epoch is older than mine');
    if (this.topo.lastVoteEpoch === this.topo.currentEpoch) return refuse('already voted in this epoch');
    const primary = requester.primaryId === null ? undefined : this.topo.get(requester.primaryId);
    if ((requester.flags & FLAG_MASTER) !== 0 || !primary) return refuse('requester is not a replica of a known primary');
    if ((primary.flags & FLAG_FAIL) === 0 && (req.mflags & MFLAG_FORCEACK) === 0) return refuse('its primary is not failing');
    if (primary.votedTimeMs !== 0 && nowMs - primary.votedTimeMs < this.opts.nodeTimeoutMs * 2) return refuse('voted for a replica of this primary recently');
    for (let s = 0; s < CLUSTER_SLOTS; s++) {
      if (!slotBit(req.slots, s)) continue;
      const owner = this.topo.ownerOf(s);
      if (owner !== null && owner.configEpoch > req.configEpoch) return refuse(`slot ${s} has a newer config epoch here`);
    }
    this.topo.lastVoteEpoch = this.topo.currentEpoch;
    primary.votedTimeMs = nowMs;
    this.opts.persist();
    this.gossip.send(requester, { ...this.gossip.header(), type: 'auth-ack' });
    this.opts.log?.warn({ requester: requester.id, epoch: this.topo.currentEpoch }, 'failover auth granted');
    return null;
  }

  // --- elections (replica side) --------------------------------------------------------------------

  /** Redis's clusterGetSlaveRank: siblings that may fail over with a better offset (or the same
   * offset and a smaller id, so that ranks differ) go before me. */
  rank(): number {
    const primary = this.myPrimary();
    if (!primary) return 0;
    const mine = this.currentOffset();
    let rank = 0;
    for (const r of this.topo.replicasOf(primary)) {
      if (r === this.me || (r.flags & (FLAG_NOFAILOVER | FLAG_FAIL)) !== 0) continue;
      if (r.replOffset > mine || (r.replOffset === mine && r.id < this.me.id)) rank++;
    }
    return rank;
  }

  /** Redis's clusterHandleSlaveFailover. */
  private handleReplicaFailover(nowMs: number): void {
    const primary = this.myPrimary();
    const manual = this.mfEndMs !== 0 && this.mfCanStart;
    if (!primary || ((primary.flags & FLAG_FAIL) === 0 && !manual) || (this.replicaNoFailover && !manual) || primary.numSlots === 0) return;
    const authAge = nowMs - this.authTimeMs;
    if (this.authTimeMs === 0 || authAge > this.authTimeoutMs * 2) {
      this.votes.clear();
      this.authSent = false;
      if (this.mfEndMs !== 0) {
        this.authTimeMs = nowMs;
        this.authRank = 0;
      } else {
        this.authRank = this.rank();
        this.authTimeMs = nowMs + Math.round((500 + this.opts.random() * 500 + this.authRank * 1000) * this.scale);
        // Let the siblings know my offset, so that their ranks are right.
        this.gossip.broadcastPong(primary);
        this.opts.log?.info({ rank: this.authRank, delayMs: this.authTimeMs - nowMs, offset: this.currentOffset() }, 'start of election delayed');
        return;
      }
    }
    if (!this.authSent && this.mfEndMs === 0) {
      const rank = this.rank();
      if (rank > this.authRank) {
        this.authTimeMs += Math.round((rank - this.authRank) * 1000 * this.scale);
        this.authRank = rank;
      }
    }
    if (nowMs < this.authTimeMs) return;
    if (nowMs - this.authTimeMs > this.authTimeoutMs) return; // expired: retried after twice the timeout
    if (!this.authSent) {
      this.topo.currentEpoch++;
      this.authEpoch = this.topo.currentEpoch;
      this.authSent = true;
      this.gossip.changes.save = true;
      this.opts.persist();
      this.opts.log?.warn({ epoch: this.authEpoch, manual: this.mfEndMs !== 0 }, 'starting a failover election');
      this.gossip.broadcast({ ...this.gossip.header(), type: 'auth-req' });
      return;
    }
    const quorum = Math.floor(this.topo.size() / 2) + 1;
    if (this.votes.size >= quorum) {
      if (this.me.configEpoch < this.authEpoch) this.me.configEpoch = this.authEpoch;
      const kind = this.mfEndMs === 0 ? 'failover' : this.mfMode === 'force' ? 'force' : 'manual';
      this.replacePrimary(kind, nowMs);
    }
  }

  // --- manual failover -----------------------------------------------------------------------------

  /** CLUSTER FAILOVER on this replica (the caller checked the errors). */
  startManual(mode: ManualMode, nowMs: number): void {
    this.resetManual(nowMs);
    this.resetElection();
    this.mfEndMs = nowMs + MF_TIMEOUT_MS;
    this.mfMode = mode;
    const primary = this.myPrimary()!;
    if (mode === 'takeover') {
      // Redis's clusterBumpConfigEpochWithoutConsensus, then the switch: no votes.
      const max = this.topo.maxEpoch();
      if (this.me.configEpoch === 0 || this.me.configEpoch !== max) {
        this.topo.currentEpoch++;
        this.me.configEpoch = this.topo.currentEpoch;
      }
      this.replacePrimary('takeover', nowMs);
      return;
    }
    if (mode === 'force') {
      this.mfCanStart = true;
      this.handleReplicaFailover(nowMs);
      return;
    }
    this.gossip.send(primary, { ...this.gossip.header(), type: 'mfstart' });
  }

  /** Primary side of MFSTART: pause writes, then announce the offset to the replica. */
  private startManualAsPrimary(replica: TopoNode, nowMs: number): void {
    this.resetManual(nowMs);
    this.mfEndMs = nowMs + MF_TIMEOUT_MS;
    this.mfReplicaId = replica.id;
    this.mfPausedOffset = -1;
    const generation = ++this.mfGeneration;
    this.opts.log?.warn({ replica: replica.id }, 'manual failover requested by replica');
    let paused: Promise<number>;
    try {
      paused = this.hooks.pauseWritesAndGetOffset(MF_TIMEOUT_MS * 2);
    } catch (e) {
      paused = Promise.reject(e);
    }
    paused.then(
      (offset) => {
        if (generation !== this.mfGeneration || this.mfEndMs === 0) return;
        this.mfPausedOffset = offset;
        const r = this.topo.get(this.mfReplicaId ?? '');
        if (r) this.gossip.send(r, this.gossip.heartbeat('ping'));
      },
      (e: unknown) => this.opts.log?.warn({ err: e }, 'could not pause writes for a manual failover'),
    );
  }

  /** Redis's clusterHandleManualFailover (replica side): start once caught up. */
  private handleManual(nowMs: number): void {
    if (this.mfEndMs === 0 || this.mfCanStart || this.mfPrimaryOffset < 0) return;
    if (this.mfPrimaryOffset === this.currentOffset()) {
      this.mfCanStart = true;
      this.opts.log?.warn({ offset: this.mfPrimaryOffset }, 'all the primary stream processed: manual failover can start');
      this.handleReplicaFailover(nowMs);
    }
  }

  private resetManual(_nowMs: number): void {
    const wasPausing = this.mfReplicaId !== null;
    this.mfEndMs = 0;
    this.mfCanStart = false;
    this.mfPrimaryOffset = -1;
    this.mfReplicaId = null;
    this.mfPausedOffset = -1;
    this.mfGeneration++;
    if (wasPausing) this.safely('resumeWrites', () => this.hooks.resumeWrites());
  }

  // --- the periodic work -----------------------------------------------------------------------------

  tick(nowMs: number): void {
    if (this.mfEndMs !== 0 && nowMs > this.mfEndMs) {
      this.opts.log?.warn({}, 'manual failover timed out');
      this.resetManual(nowMs);
    }
    const me = this.me;
    const noFailover = this.replicaNoFailover ? FLAG_NOFAILOVER : 0;
    if ((me.flags & FLAG_NOFAILOVER) !== noFailover) {
      me.flags ^= FLAG_NOFAILOVER;
      this.gossip.changes.save = true;
    }
    if (!this.isReplica()) return;
    this.handleManual(nowMs);
    this.handleReplicaFailover(nowMs);
    if (this.allowReplicaMigration) this.handleMigration(nowMs);
  }

  private okReplicas(primary: TopoNode): number {
    let n = 0;
    for (const r of this.topo.replicasOf(primary)) if ((r.flags & FLAG_FAIL) === 0) n++;
    return n;
  }

  /** Redis's orphan bookkeeping in clusterCron plus clusterHandleSlaveMigration. */
  private handleMigration(nowMs: number): void {
    const mine = this.myPrimary();
    if (!mine) return;
    let maxReplicas = 0;
    let orphans = 0;
    let thisReplicas = 0;
    for (const n of this.topo.nodes.values()) {
      if ((n.flags & FLAG_MASTER) === 0 || (n.flags & FLAG_FAIL) !== 0) continue;
      const ok = this.okReplicas(n);
      if (ok === 0 && n.numSlots > 0 && n.hadReplicas) orphans++;
      if (ok > maxReplicas) maxReplicas = ok;
      if (n === mine) thisReplicas = ok;
    }
    if (orphans === 0 || maxReplicas < 2 || thisReplicas !== maxReplicas) {
      this.orphanedSinceMs.clear();
      return;
    }
    if (this.topo.state({ requireFullCoverage: true }) !== 'ok') return;
    let okMine = 0;
    for (const r of this.topo.replicasOf(mine)) if ((r.flags & (FLAG_FAIL | FLAG_PFAIL)) === 0) okMine++;
    if (okMine <= this.migrationBarrier) return;
    let target: TopoNode | null = null;
    let candidate: TopoNode = this.me;
    for (const n of this.topo.nodes.values()) {
      const ok = (n.flags & FLAG_MASTER) !== 0 ? this.okReplicas(n) : 0;
      const orphaned = (n.flags & FLAG_MASTER) !== 0 && (n.flags & FLAG_FAIL) === 0 && n.hadReplicas && ok === 0;
      if (orphaned) {
        if (target === null && n.numSlots > 0) target = n;
        if (!this.orphanedSinceMs.has(n.id)) this.orphanedSinceMs.set(n.id, nowMs);
      } else {
        this.orphanedSinceMs.delete(n.id);
      }
      if ((n.flags & FLAG_MASTER) !== 0 && ok === maxReplicas) {
        for (const r of this.topo.replicasOf(n)) if (r.id < candidate.id) candidate = r;
      }
    }
    if (target && candidate === this.me && nowMs - this.orphanedSinceMs.get(target.id)! > MIGRATION_DELAY_MS * this.scale) {
      this.opts.log?.warn({ target: target.id }, 'migrating to an orphaned primary');
      this.setPrimary(target, nowMs);
      this.record('migrate', target.id, this.me.id, nowMs);
    }
  }

  // --- admin ---------------------------------------------------------------------------------------

  /** CLUSTER REPLICATE (checked by the caller). */
  replicate(primary: TopoNode, nowMs: number): void {
    this.setPrimary(primary, nowMs);
    this.record('replicate', primary.id, this.me.id, nowMs);
  }

  /** CLUSTER RESET on a replica: it becomes an empty primary. */
  resetToPrimary(nowMs: number): void {
    const wasReplica = this.isReplica();
    this.resetElection();
    this.resetManual(nowMs);
    if (wasReplica) this.safely('becomePrimary', () => this.hooks.becomePrimary());
  }
}
