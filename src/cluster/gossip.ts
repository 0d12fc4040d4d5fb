// The membership state machine of one node, with no I/O and no clock of its own: `receive` handles
// one bus message, `tick` runs the periodic work (Redis's clusterCron), and both send through a
// Transport. It follows Redis Cluster: handshakes (a MEET'd or gossiped node has a random id until
// its PONG names it), heartbeats with gossip sections, PFAIL by failure detector, failure reports
// from primaries (valid 2 x node timeout), FAIL by majority with a broadcast, slot claims decided
// by config epoch, UPDATE for stale claimers, config-epoch collision resolution, a FORGET
// blacklist. What changed is accumulated in `changes` for the owner to persist and announce.

import { type BusMessage, type GossipEntry, type MessageHeader, type StatsType, STATS_TYPES } from './bus-messages.js';
import { randomNodeId } from './node-id.js';
import { PhiAccrual } from './phi-accrual.js';
import {
  FLAG_FAIL, FLAG_HANDSHAKE, FLAG_MASTER, FLAG_MEET, FLAG_MYSELF, FLAG_NOADDR, FLAG_NOFAILOVER, FLAG_PFAIL, FLAG_SLAVE,
  type TopoNode, type Topology, WIRE_FLAGS,
} from './topology.js';

/** How a message arrived: on our outbound link to a node (`outNodeId`), or on an inbound link. */
export interface LinkRef {
  /** Id of the node our outbound link goes to, null on an inbound link. Updated on rename. */
  outNodeId: string | null;
  /** Our address on this link (Redis learns its own ip from it). */
  readonly localIp: string;
  /** The peer's address on this link. */
  readonly peerIp: string;
}

export interface Transport {
  /** Queues `msg` on the outbound link to `node` (connecting to node.ip:node.cport if needed). May drop. */
  send(node: TopoNode, msg: BusMessage): void;
  /** Sends `msg` back on the link `link` it came from. May drop. */
  reply(link: LinkRef, msg: BusMessage): void;
  /** Closes the outbound link to the node, if any (it reconnects on the next send). */
  disconnect(nodeId: string): void;
  /** The outbound link to `oldId` now belongs to `newId`. */
  rename(oldId: string, newId: string): void;
}

export interface GossipOptions {
  nodeTimeoutMs: number;
  /** cluster-announce-ip; '' = learn from the local address of MEET links. */
  announceIp: string;
  random: () => number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** What changed since the owner last looked. */
export interface Changes {
  save: boolean;
  slots: boolean;
}

/** The replica/failover side of the state machine (failover.ts), called by gossip. */
export interface RoleHandler {
  /** This node's replication offset and MFLAG_* bits, for message headers. */
  offset(): number;
  mflags(): number;
  /** An AUTH-REQ, AUTH-ACK or MFSTART from a known node. */
  receive(sender: TopoNode, msg: BusMessage, nowMs: number): void;
  /** A PING/PONG/MEET from a known node, after its role and slots were applied. */
  heartbeat(sender: TopoNode, msg: MessageHeader, nowMs: number): void;
  /** Myself must now replicate `primary`: it took the last slots of my primary (or, when I am
   * that primary, of mine). */
  follow(primary: TopoNode, demoted: boolean): void;
}

export const FAIL_REPORT_VALIDITY_MULT = 2;
export const FAIL_UNDO_TIME_MULT = 2;
export const BLACKLIST_TTL_MS = 60_000;
export const PHI_THRESHOLD = 8;
const PHI_WINDOW = 32;
const RANDOM_PING_SAMPLE = 5;

export class Gossip {
  readonly changes: Changes = { save: false, slots: false };
  /** Messages by type (pub/sub ones counted by the node, which sends and receives them). */
  readonly sent = new Map<StatsType, number>();
  readonly received = new Map<StatsType, number>();
  private readonly blacklist = new Map<string, number>();
  private readonly detectors = new Map<string, PhiAccrual>();
  /** When each node's pending ping was last (re)sent, and when its link was last reset. */
  private readonly lastPingMs = new Map<string, number>();
  private readonly linkResetMs = new Map<string, number>();
  private nextRandomPingMs = 0;
  readonly tickMs: number;
  readonly randomPingMs: number;
  readonly resendMs: number;
  roles: RoleHandler | null = null;

  constructor(readonly topo: Topology, readonly transport: Transport, readonly opts: GossipOptions) {
    const t = opts.nodeTimeoutMs;
    this.tickMs = Math.max(10, Math.min(100, Math.floor(t / 10)));
    this.randomPingMs = Math.max(100, Math.min(1000, Math.floor(t / 10)));
    this.resendMs = Math.max(this.tickMs, Math.floor(t / 4));
  }

  private get myself(): TopoNode {
    return this.topo.myself;
  }

  private isMaster(n: TopoNode): boolean {
    return (n.flags & FLAG_MASTER) !== 0;
  }

  private dirty(save: boolean, slots = false): void {
    if (save) this.changes.save = true;
    if (slots) this.changes.slots = true;
    this.topo.changed();
  }

  // --- building messages -------------------------------------------------------------------------

  header(): MessageHeader {
    const me = this.myself;
    return {
      sender: me.id, primaryId: me.primaryId, port: me.port, cport: me.cport, pport: me.pport, flags: me.flags & WIRE_FLAGS,
      mflags: this.roles?.mflags() ?? 0, currentEpoch: this.topo.currentEpoch, configEpoch: this.claimant().configEpoch,
      offset: this.roles?.offset() ?? 0, slots: this.mySlots(), ip: this.opts.announceIp, hostname: me.hostname,
    };
  }

  /** Whose slots and config epoch my headers carry: my primary's when I am a replica (as Redis). */
  private claimant(): TopoNode {
    const me = this.myself;
    if ((me.flags & FLAG_SLAVE) === 0 || me.primaryId === null) return me;
    return this.topo.get(me.primaryId) ?? me;
  }

  /** The primary whose slots a node's headers carry: itself, or its primary for a replica. */
  private claimantOf(n: TopoNode): TopoNode | undefined {
    if (this.isMaster(n)) return n;
    return n.primaryId === null ? undefined : this.topo.get(n.primaryId);
  }

  private slotsCopy: Uint8Array | null = null;

  /** A copy of my (or my primary's) slot bitmap, shared by the messages sent until it changes
   * (messages are never mutated, so sharing is safe). */
  private mySlots(): Uint8Array {
    const bits = this.claimant().slotBits;
    if (this.slotsCopy === null || Buffer.compare(this.slotsCopy, bits) !== 0) this.slotsCopy = bits.slice();
    return this.slotsCopy;
  }

  /** A gossip entry. A FAIL node we have heard from since it failed (its FAIL is only waiting for
   * the undo delay) is not advertised as failing, so that peers do not keep failure reports
   * about a node that is up. */
  private entry(n: TopoNode): GossipEntry {
    let flags = n.flags & WIRE_FLAGS;
    if ((flags & FLAG_FAIL) !== 0 && n.dataRecvMs > n.failTimeMs) flags &= ~FLAG_FAIL;
    return { id: n.id, ip: n.ip, port: n.port, cport: n.cport, pport: n.pport, flags, pingSentMs: n.pingSentMs, pongRecvMs: n.pongRecvMs };
  }

  /** A PING/PONG/MEET with Redis's gossip selection: max(3, N/10) random healthy nodes we are
   * connected to or that serve slots, then every PFAIL node. */
  heartbeat(type: 'ping' | 'pong' | 'meet'): BusMessage {
    const all = this.nodeList();
    const wanted = Math.min(Math.max(3, Math.floor(all.length / 10)), all.length - 2);
    const chosen: TopoNode[] = [];
    for (let tries = wanted * 3; tries > 0 && chosen.length < wanted; tries--) {
      const n = all[Math.floor(this.opts.random() * all.length)]!;
      if (n === this.myself || (n.flags & (FLAG_PFAIL | FLAG_HANDSHAKE | FLAG_NOADDR)) !== 0) continue;
      if ((!n.linkUp && n.numSlots === 0) || chosen.includes(n)) continue;
      chosen.push(n);
    }
    for (const n of all) if ((n.flags & FLAG_PFAIL) !== 0 && (n.flags & (FLAG_HANDSHAKE | FLAG_NOADDR)) === 0) chosen.push(n);
    const gossip: GossipEntry[] = [];
    for (const n of chosen) gossip.push(this.entry(n));
    return { ...this.header(), type, gossip };
  }

  private listCache: TopoNode[] = [];
  private listVersion = -1;

  /** The known nodes as an array, rebuilt only when the table changed. */
  private nodeList(): TopoNode[] {
    if (this.listVersion !== this.topo.version) {
      this.listCache = [...this.topo.nodes.values()];
      this.listVersion = this.topo.version;
    }
    return this.listCache;
  }

  /** Adds `n` messages of `type` to CLUSTER INFO's counters. */
  count(map: Map<StatsType, number>, type: StatsType, n = 1): void {
    map.set(type, (map.get(type) ?? 0) + n);
  }

  /** Sends `msg` to `n` (counted in the stats). */
  send(n: TopoNode, msg: BusMessage): void {
    this.count(this.sent, msg.type);
    this.transport.send(n, msg);
  }

  private ping(n: TopoNode, nowMs: number): void {
    const type = (n.flags & FLAG_MEET) !== 0 ? 'meet' : 'ping';
    if (n.pingSentMs === 0) n.pingSentMs = nowMs;
    this.lastPingMs.set(n.id, nowMs);
    this.send(n, this.heartbeat(type));
  }

  /** Sends FAIL about `failing` to every node we know (but handshakes). */
  private broadcastFail(failing: TopoNode): void {
    const msg: BusMessage = { ...this.header(), type: 'fail', failId: failing.id };
    for (const n of this.topo.nodes.values()) {
      if (n === this.myself || (n.flags & (FLAG_HANDSHAKE | FLAG_NOADDR)) !== 0) continue;
      this.send(n, msg);
    }
  }

  /** Tells every node (or, with `onlyReplicasOf`, that primary's replicas) of my config (after I
   * took slots or bumped my epoch; a replica's offset to its siblings). */
  broadcastPong(onlyReplicasOf?: TopoNode): void {
    for (const n of this.topo.nodes.values()) {
      if (n === this.myself || (n.flags & (FLAG_HANDSHAKE | FLAG_NOADDR)) !== 0) continue;
      if (onlyReplicasOf !== undefined && !((n.flags & FLAG_SLAVE) !== 0 && n.primaryId === onlyReplicasOf.id)) continue;
      this.send(n, this.heartbeat('pong'));
    }
  }

  /** Sends `msg` to every known node (but handshakes and those without an address). */
  broadcast(msg: BusMessage): void {
    for (const n of this.topo.nodes.values()) {
      if (n === this.myself || (n.flags & (FLAG_HANDSHAKE | FLAG_NOADDR)) !== 0) continue;
      this.send(n, msg);
    }
  }

  // --- handshakes, blacklist -----------------------------------------------------------------------

  /** Redis's clusterStartHandshake: a node in handshake with a random id that gets a MEET. Returns
   * false when a handshake with that address is already in progress. */
  startHandshake(ip: string, port: number, cport: number, nowMs: number): boolean {
    for (const n of this.topo.nodes.values()) {
      if ((n.flags & FLAG_HANDSHAKE) !== 0 && n.ip === ip && n.port === port && n.cport === cport) return false;
    }
    const n = this.topo.createNode(this.freshId(), FLAG_HANDSHAKE | FLAG_MEET, nowMs);
    this.topo.setAddress(n, ip, port, cport);
    this.topo.addNode(n);
    return true;
  }

  /** A random id no known node has (the id of a node in handshake). */
  freshId(): string {
    for (;;) {
      const id = randomNodeId(this.opts.random);
      if (!this.topo.get(id)) return id;
    }
  }

  blacklistAdd(id: string, nowMs: number): void {
    this.blacklist.set(id, nowMs + BLACKLIST_TTL_MS);
  }

  blacklisted(id: string, nowMs: number): boolean {
    const until = this.blacklist.get(id);
    return until !== undefined && until > nowMs;
  }

  clearBlacklist(): void {
    this.blacklist.clear();
  }

  /** Removes a node and everything kept about it. */
  deleteNode(n: TopoNode): void {
    this.transport.disconnect(n.id);
    this.detectors.delete(n.id);
    this.lastPingMs.delete(n.id);
    this.linkResetMs.delete(n.id);
    const hadSlots = n.numSlots > 0;
    this.topo.delNode(n.id);
    this.dirty(true, hadSlots);
  }

  // --- failure detection -------------------------------------------------------------------------

  private detector(id: string): PhiAccrual {
    let d = this.detectors.get(id);
    if (!d) {
      const t = this.opts.nodeTimeoutMs;
      d = new PhiAccrual({ threshold: PHI_THRESHOLD, windowSize: PHI_WINDOW, minStdDevMs: t / 16, minPauseMs: t / 2, minSamples: 3 });
      this.detectors.set(id, d);
    }
    return d;
  }

  /** phi of a node's heartbeats now (0 without history). */
  phi(id: string, nowMs: number): number {
    return this.detectors.get(id)?.phi(nowMs) ?? 0;
  }

  /** Valid failure reports about `n`. Reports expire after 2 x node timeout (as in Redis), and a
   * report older than the last message we received from the node itself is dropped too: our own
   * evidence of life supersedes it (otherwise reports kept from an earlier failure could add up
   * with fresh suspicions in a minority partition). */
  failureReports(n: TopoNode, nowMs: number): number {
    const maxAge = this.opts.nodeTimeoutMs * FAIL_REPORT_VALIDITY_MULT;
    for (const [id, t] of n.failReports) if (nowMs - t > maxAge || t < n.dataRecvMs) n.failReports.delete(id);
    return n.failReports.size;
  }

  /** Redis's markNodeAsFailingIfNeeded: PFAIL -> FAIL when a majority of the primaries serving
   * slots (counting myself) flag the node. */
  private markFailingIfNeeded(n: TopoNode, nowMs: number): void {
    if ((n.flags & FLAG_PFAIL) === 0 || (n.flags & FLAG_FAIL) !== 0) return;
    const quorum = Math.floor(this.topo.size() / 2) + 1;
    let failures = this.failureReports(n, nowMs);
    if (this.isMaster(this.myself)) failures++;
    if (failures < quorum) return;
    this.opts.log?.info({ node: n.id, reports: failures, quorum, from: [...n.failReports].map(([id, t]) => `${id.slice(0, 8)}@${t}`) }, 'marking node as failing (quorum reached)');
    n.flags = (n.flags & ~FLAG_PFAIL) | FLAG_FAIL;
    n.failTimeMs = nowMs;
    this.broadcastFail(n);
    this.dirty(true);
  }

  /** Redis's clearNodeFailureIfNeeded, on hearing from a FAIL node. */
  private clearFailureIfNeeded(n: TopoNode, nowMs: number): void {
    if ((n.flags & FLAG_FAIL) === 0) return;
    const undo = (n.flags & FLAG_SLAVE) !== 0 || n.numSlots === 0 || nowMs - n.failTimeMs > this.opts.nodeTimeoutMs * FAIL_UNDO_TIME_MULT;
    if (!undo) return;
    this.opts.log?.info({ node: n.id }, 'clear FAIL state: node is reachable again');
    n.flags &= ~FLAG_FAIL;
    this.dirty(true);
  }

  // --- receiving -----------------------------------------------------------------------------------

  /** Handles one message from `link`. Never throws on peer input. */
  receive(link: LinkRef, msg: BusMessage, nowMs: number): void {
    this.count(this.received, msg.type);
    const me = this.myself;
    let sender = this.topo.get(msg.sender);
    if (sender === me) return; // our own message looped back
    if (sender && (sender.flags & FLAG_HANDSHAKE) !== 0) sender = undefined;
    if (sender) {
      sender.dataRecvMs = nowMs;
      this.topo.setPport(sender, msg.pport ?? 0);
      if (msg.currentEpoch > this.topo.currentEpoch) {
        this.topo.currentEpoch = msg.currentEpoch;
        this.dirty(true);
      }
      if (msg.configEpoch > sender.configEpoch) this.raiseEpoch(sender, msg);
    }

    if (msg.type === 'ping' || msg.type === 'meet') {
      if ((msg.type === 'meet' || me.ip === '') && this.opts.announceIp === '' && link.localIp !== '' && me.ip !== link.localIp) {
        this.topo.setAddress(me, link.localIp, me.port, me.cport);
        this.opts.log?.info({ ip: link.localIp }, 'IP address for this node updated');
        this.dirty(true);
      }
      if (!sender && msg.type === 'meet') {
        const n = this.topo.createNode(this.freshId(), FLAG_HANDSHAKE, nowMs);
        this.topo.setAddress(n, msg.ip !== '' ? msg.ip : link.peerIp, msg.port, msg.cport);
        this.topo.addNode(n);
        this.dirty(true);
        this.processGossip(undefined, msg.gossip, nowMs);
      }
      this.count(this.sent, 'pong');
      this.transport.reply(link, this.heartbeat('pong'));
    }

    if (msg.type === 'ping' || msg.type === 'pong' || msg.type === 'meet') {
      this.receiveHeartbeat(link, msg, sender, nowMs);
    } else if (msg.type === 'fail') {
      if (!sender) return;
      const failing = this.topo.get(msg.failId);
      if (failing && (failing.flags & (FLAG_FAIL | FLAG_MYSELF)) === 0) {
        this.opts.log?.info({ node: failing.id, from: sender.id }, 'FAIL message received');
        failing.flags = (failing.flags & ~FLAG_PFAIL) | FLAG_FAIL;
        failing.failTimeMs = nowMs;
        this.dirty(true);
      }
    } else if (msg.type === 'update') {
      if (!sender) return;
      const n = this.topo.get(msg.nodeId);
      if (!n || n.configEpoch >= msg.nodeConfigEpoch) return;
      n.configEpoch = msg.nodeConfigEpoch;
      this.dirty(true);
      this.claim(n, msg.nodeConfigEpoch, msg.nodeSlots, n.primaryId === me.id);
    } else if (sender) {
      this.roles?.receive(sender, msg, nowMs);
    }
  }

  /** A node's config epoch rises to what its message says. Its slots would all rise with it, so a
   * primary first loses the slots we still attribute to it but it no longer claims (stale ones,
   * say from before a failover took them away, would otherwise beat their real owner's older
   * epoch for ever). A replica's header carries its primary's epoch: it raises the replica's
   * (as Redis shows it) unless we still think it a primary and cannot demote it yet. */
  private raiseEpoch(sender: TopoNode, msg: MessageHeader): void {
    if (this.isMaster(sender) && sender.numSlots > 0) {
      if (msg.primaryId !== null && !this.topo.get(msg.primaryId)) return;
      if (msg.primaryId === null) {
        let dropped = 0;
        for (let byte = 0; byte < sender.slotBits.length; byte++) {
          const stale = sender.slotBits[byte]! & ~msg.slots[byte]!;
          if (stale === 0) continue;
          for (let b = 0; b < 8; b++) if ((stale & (1 << b)) !== 0 && this.topo.unassignSlot((byte << 3) | b)) dropped++;
        }
        if (dropped > 0) {
          this.opts.log?.info({ node: sender.id, dropped, configEpoch: msg.configEpoch }, 'dropped slots a node no longer claims as its epoch rose');
          this.dirty(true, true);
        }
      }
    }
    sender.configEpoch = msg.configEpoch;
    this.dirty(true);
  }

  private receiveHeartbeat(link: LinkRef, msg: BusMessage & { gossip: GossipEntry[] }, sender: TopoNode | undefined, nowMs: number): void {
    const linkNode = link.outNodeId === null ? undefined : this.topo.get(link.outNodeId);
    if (linkNode) {
      if ((linkNode.flags & FLAG_HANDSHAKE) !== 0) {
        if (sender) {
          // We already know this node under its real id: refresh its address, drop the handshake.
          this.updateAddressIfNeeded(sender, link, msg);
          this.deleteNode(linkNode);
          return;
        }
        if (this.topo.get(msg.sender)) {
          // Two handshakes reached the same node: keep the older one.
          this.deleteNode(linkNode);
          return;
        }
        const oldId = linkNode.id;
        this.topo.renameNode(linkNode, msg.sender);
        this.transport.rename(oldId, msg.sender);
        link.outNodeId = msg.sender;
        this.renameState(oldId, msg.sender);
        linkNode.flags &= ~(FLAG_HANDSHAKE | FLAG_MEET | FLAG_SLAVE | FLAG_MASTER);
        linkNode.flags |= (msg.flags & FLAG_SLAVE) !== 0 ? FLAG_SLAVE : FLAG_MASTER;
        linkNode.dataRecvMs = nowMs;
        this.opts.log?.info({ node: msg.sender }, 'handshake with node completed');
        this.dirty(true);
      } else if (linkNode.id !== msg.sender) {
        // The node at this address has a new id: the one we knew is gone from there.
        this.opts.log?.warn({ node: linkNode.id, now: msg.sender }, 'node id at this address changed; marking noaddr');
        linkNode.flags |= FLAG_NOADDR;
        this.topo.setAddress(linkNode, '', 0, 0);
        this.transport.disconnect(linkNode.id);
        this.dirty(true);
        return;
      }
    }

    let wasMyReplica = false;
    if (sender) {
      const nofailover = (msg.flags & FLAG_NOFAILOVER) !== 0;
      if (nofailover !== ((sender.flags & FLAG_NOFAILOVER) !== 0)) sender.flags ^= FLAG_NOFAILOVER;
      if (msg.type === 'ping' && this.updateAddressIfNeeded(sender, link, msg)) this.dirty(true);
      sender.replOffset = msg.offset;
      wasMyReplica = (sender.flags & FLAG_SLAVE) !== 0 && sender.primaryId === this.myself.id;
      this.updateRole(sender, msg);
    }

    if (linkNode && msg.type === 'pong' && linkNode.id === msg.sender) {
      linkNode.pongRecvMs = nowMs;
      linkNode.pingSentMs = 0;
      linkNode.dataRecvMs = nowMs;
      linkNode.linkUp = true;
      this.detector(linkNode.id).heartbeat(nowMs);
      if ((linkNode.flags & FLAG_PFAIL) !== 0) {
        linkNode.flags &= ~FLAG_PFAIL;
        this.dirty(false);
      } else if ((linkNode.flags & FLAG_FAIL) !== 0) {
        this.clearFailureIfNeeded(linkNode, nowMs);
      }
    }

    if (!sender) return;
    // Slots: a primary's own claims, decided by config epoch; a replica's header carries its
    // primary's, which are only compared (a stale one is sent an UPDATE).
    const claimant = this.claimantOf(sender);
    if (claimant && claimant !== this.myself) {
      const dirtySlots = Buffer.compare(claimant.slotBits, msg.slots) !== 0;
      if (dirtySlots) {
        if (claimant === sender) this.claim(sender, msg.configEpoch, msg.slots, wasMyReplica);
        const winner = this.topo.staleClaimWinner(claimant, msg.configEpoch, msg.slots);
        if (winner) {
          this.send(sender, { ...this.header(), type: 'update', nodeId: winner.id, nodeConfigEpoch: winner.configEpoch, nodeSlots: winner.slotBits.slice() });
        }
      }
      if (claimant === sender && this.isMaster(this.myself) && msg.configEpoch === this.myself.configEpoch) this.handleEpochCollision(sender);
    }
    this.roles?.heartbeat(sender, msg, nowMs);
    this.processGossip(sender, msg.gossip, nowMs);
  }

  /** Redis's role update from a heartbeat: a node that says it is a primary is one; a node that
   * names a (known) primary is its replica, giving up any slots it had. */
  private updateRole(sender: TopoNode, msg: MessageHeader): void {
    if (msg.primaryId === null) {
      if (this.topo.setAsPrimary(sender)) {
        this.opts.log?.info({ node: sender.id }, 'node is now a primary');
        this.dirty(true, false);
      }
      return;
    }
    if (msg.primaryId === sender.id || !this.topo.get(msg.primaryId)) return;
    const had = sender.numSlots > 0;
    if (this.topo.setAsReplica(sender, msg.primaryId)) {
      this.opts.log?.info({ node: sender.id, primary: msg.primaryId }, 'node is now a replica');
      this.dirty(true, had);
    }
  }

  /** Applies `node`'s slot claims made with `configEpoch`. When they empty my primary (or me, and
   * `node` was my replica: the old primary returning after a failover), I follow `node` as its
   * replica (Redis's clusterUpdateSlotsConfigWith; unlike Redis, a primary emptied by resharding
   * stays a primary). */
  private claim(node: TopoNode, configEpoch: number, slots: Uint8Array, wasMyReplica = false): void {
    const me = this.myself;
    const amReplica = (me.flags & FLAG_SLAVE) !== 0;
    const cur = amReplica ? (me.primaryId === null ? undefined : this.topo.get(me.primaryId)) : me;
    const before = cur?.numSlots ?? 0;
    const { changed, lostMine } = this.topo.applyClaims(node, configEpoch, slots);
    if (changed === 0) return;
    if (lostMine) this.opts.log?.warn({ node: node.id, configEpoch }, 'slots of this node were taken by a node with a newer config epoch');
    this.dirty(true, true);
    if (cur && before > 0 && cur.numSlots === 0 && node !== me && (amReplica || wasMyReplica)) {
      this.opts.log?.info({ primary: node.id, configEpoch }, 'configuration change detected: reconfiguring myself as a replica');
      this.roles?.follow(node, !amReplica);
    }
  }

  /** Redis's clusterHandleConfigEpochCollision: of two primaries with the same config epoch, the
   * one with the smaller id takes a new epoch. */
  private handleEpochCollision(sender: TopoNode): void {
    const me = this.myself;
    if (sender.configEpoch !== me.configEpoch || !this.isMaster(sender) || !this.isMaster(me)) return;
    if (sender.id <= me.id) return;
    this.topo.currentEpoch++;
    me.configEpoch = this.topo.currentEpoch;
    this.opts.log?.info({ configEpoch: me.configEpoch, other: sender.id }, 'config epoch collision resolved');
    this.dirty(true);
  }

  /** Redis's nodeUpdateAddressIfNeeded; true when the address changed. */
  private updateAddressIfNeeded(n: TopoNode, link: LinkRef, msg: MessageHeader): boolean {
    if (n === this.myself) return false;
    const ip = msg.ip !== '' ? msg.ip : link.peerIp;
    if (ip === '' || (n.ip === ip && n.port === msg.port && n.cport === msg.cport)) return false;
    this.topo.setAddress(n, ip, msg.port, msg.cport);
    this.transport.disconnect(n.id);
    n.flags &= ~FLAG_NOADDR;
    this.opts.log?.info({ node: n.id, ip, port: msg.port }, 'address updated for node');
    return true;
  }

  private renameState(oldId: string, newId: string): void {
    for (const map of [this.detectors, this.lastPingMs, this.linkResetMs] as Array<Map<string, unknown>>) {
      const v = map.get(oldId);
      map.delete(oldId);
      if (v !== undefined) map.set(newId, v);
    }
  }

  /** Redis's clusterProcessGossipSection. */
  private processGossip(sender: TopoNode | undefined, entries: readonly GossipEntry[], nowMs: number): void {
    for (const g of entries) {
      const n = this.topo.get(g.id);
      if (n) {
        if (sender && this.isMaster(sender) && n !== this.myself) {
          if ((g.flags & (FLAG_FAIL | FLAG_PFAIL)) !== 0) {
            if (!n.failReports.has(sender.id)) this.opts.log?.info({ node: n.id, from: sender.id }, 'failure report');
            n.failReports.set(sender.id, nowMs);
            this.markFailingIfNeeded(n, nowMs);
          } else {
            n.failReports.delete(sender.id);
          }
        }
        // Unlike Redis 7 we do not adopt a peer's newer pong time: every node keeps pinging every
        // other node at least each node timeout / 2, so that the phi detector sees a regular stream.
        if ((n.flags & (FLAG_FAIL | FLAG_PFAIL)) !== 0 && (g.flags & FLAG_NOADDR) === 0 && (n.flags & FLAG_HANDSHAKE) === 0 &&
            n !== this.myself && g.ip !== '' && (n.ip !== g.ip || n.port !== g.port || n.cport !== g.cport)) {
          this.transport.disconnect(n.id);
          this.topo.setAddress(n, g.ip, g.port, g.cport);
          n.flags &= ~FLAG_NOADDR;
          this.dirty(true);
        }
      } else if (sender && (g.flags & FLAG_NOADDR) === 0 && g.ip !== '' && !this.blacklisted(g.id, nowMs)) {
        if (this.startHandshake(g.ip, g.port, g.cport, nowMs)) this.dirty(true);
      }
    }
  }

  // --- the periodic work ---------------------------------------------------------------------------

  /** Redis's clusterCron: handshake timeouts, heartbeats, failure detection. Call every `tickMs`. */
  tick(nowMs: number): void {
    const t = this.opts.nodeTimeoutMs;
    const handshakeTimeoutMs = Math.max(t, 1000);
    for (const [id, until] of this.blacklist) if (until <= nowMs) this.blacklist.delete(id);

    if (nowMs >= this.nextRandomPingMs) {
      this.nextRandomPingMs = nowMs + this.randomPingMs;
      const all = this.nodeList();
      let best: TopoNode | null = null;
      for (let i = 0; i < RANDOM_PING_SAMPLE && all.length > 1; i++) {
        const n = all[Math.floor(this.opts.random() * all.length)]!;
        if (n === this.myself || n.pingSentMs !== 0 || (n.flags & (FLAG_HANDSHAKE | FLAG_NOADDR)) !== 0) continue;
        if (best === null || n.pongRecvMs < best.pongRecvMs) best = n;
      }
      if (best) this.ping(best, nowMs);
    }

    for (const n of [...this.topo.nodes.values()]) {
      if (n === this.myself || (n.flags & FLAG_NOADDR) !== 0) continue;
      if ((n.flags & FLAG_HANDSHAKE) !== 0) {
        if (nowMs - n.ctimeMs > handshakeTimeoutMs) {
          this.opts.log?.info({ ip: n.ip, port: n.port }, 'handshake timeout');
          this.deleteNode(n);
          continue;
        }
        if (nowMs - (this.lastPingMs.get(n.id) ?? -Infinity) >= this.resendMs) this.ping(n, nowMs);
        continue;
      }

      // A link that carries nothing back for half the timeout is replaced (as Redis frees it).
      const resetAt = this.linkResetMs.get(n.id) ?? n.ctimeMs;
      if (n.pingSentMs !== 0 && nowMs - n.pingSentMs > t / 2 && nowMs - n.dataRecvMs > t / 2 && nowMs - resetAt > t) {
        this.transport.disconnect(n.id);
        n.linkUp = false;
        this.linkResetMs.set(n.id, nowMs);
      }

      if (n.pingSentMs === 0 && nowMs - n.pongRecvMs > t / 2) this.ping(n, nowMs);
      else if (n.pingSentMs !== 0 && nowMs - (this.lastPingMs.get(n.id) ?? 0) >= this.resendMs) this.ping(n, nowMs);
      if (n.pingSentMs === 0) continue;

      const silentMs = nowMs - n.dataRecvMs;
      const suspect = silentMs > t || this.detector(n.id).suspects(nowMs);
      if (suspect && (n.flags & (FLAG_PFAIL | FLAG_FAIL)) === 0) {
        this.opts.log?.info({ node: n.id, silentMs, phi: this.phi(n.id, nowMs) }, 'node possibly failing (pfail)');
        n.flags |= FLAG_PFAIL;
        this.dirty(false);
        this.markFailingIfNeeded(n, nowMs);
      }
    }
  }

  // --- stats -------------------------------------------------------------------------------------

  /** CLUSTER INFO's cluster_stats_messages_* fields, in Redis's order. */
  statsFields(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [map, dir] of [[this.sent, 'sent'], [this.received, 'received']] as const) {
      let total = 0;
      for (const type of STATS_TYPES) {
        const v = map.get(type) ?? 0;
        total += v;
        if (v > 0) out.push([`cluster_stats_messages_${type}_${dir}`, v]);
      }
      out.push([`cluster_stats_messages_${dir}`, total]);
    }
    return out;
  }
}
