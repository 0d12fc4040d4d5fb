// A node's cluster membership (ClusterControl): the topology, the gossip state machine, the TCP bus
// and nodes.conf wired together. Admin changes (CLUSTER ADDSLOTS, SETSLOT, ...) are validated with
// Redis's exact error texts, applied, and saved before the call returns; changes learned from peers
// are saved and announced to onSlotsChanged listeners after the message or tick that caused them.
// The simulation drives the same object through `receive` and `tick` with its own Transport.
// Pub/sub crosses nodes here too (publish / onPublish): over the TCP bus only, at most once, each
// message encoded once for all its links; the simulation's Transport carries no pub/sub.

import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { ReplyError } from '../core/errors.js';
import { CLUSTER_SLOTS, type ClusterControl, type ClusterHooks, type ClusterInfoFields, type FailoverEvent, type NodeView } from './api.js';
import { encodePublish, isPublish, MAX_PUBLISH_FRAME_BYTES, type PublishMessage, publishFrameBytes, type WireMessage } from './bus-messages.js';
import { ClusterBus, type ClusterBusOptions } from './cluster-bus.js';
import { Failover } from './failover.js';
import { Gossip, type LinkRef, type Transport } from './gossip.js';
import { parseNodesConfig, writeFileAtomic } from './nodes-file.js';
import { isNodeId, randomNodeId } from './node-id.js';
import { ServedSlots } from './served-slots.js';
import { FLAG_FAIL, FLAG_HANDSHAKE, FLAG_MASTER, FLAG_PFAIL, FLAG_SLAVE, type TopoNode, Topology } from './topology.js';
import { events } from '../observability/events.js';

export interface ClusterNodeOptions {
  /** tls-cluster yes: the bus is TLS both ways, and `port` is the tls-port (what Redis announces). */
  tls?: ClusterBusOptions['tls'];
  /** tls-cluster yes: the plain RESP port too, when there is one (gossiped; CLUSTER SHARDS `port`). */
  plainPort?: number;
  /** Client (RESP) port of this node. */
  port: number;
  /** Cluster bus port (the server passes port + 10000 unless configured). */
  busPort: number;
  /** Address the bus listens on. */
  bindHost: string;
  /** '' = learn own ip as Redis does (from the local address of the first MEET link). */
  announceIp: string;
  /** nodes.conf path (absolute); '' = keep nothing on disk (simulation). */
  configFile: string;
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  log: Logger;
  /** For deterministic simulation; default to Date.now and Math.random. */
  clock?: () => number;
  random?: () => number;
  /** cluster-announce-hostname (optional). */
  announceHostname?: string;
  /** cluster-migration-barrier (default 1), cluster-replica-no-failover (no),
   * cluster-allow-replica-migration (yes). */
  migrationBarrier?: number;
  replicaNoFailover?: boolean;
  allowReplicaMigration?: boolean;
  /** cluster-bus-secret, read per new bus link ('' = bus links are not authenticated). */
  busSecret?: () => string;
}

/** Replaces the TCP bus (the simulation passes its network here). */
export interface ClusterNodeDeps {
  transport?: Transport;
}

export class ClusterNode implements ClusterControl {
  private readonly topo: Topology;
  private pendingSave = false;
  private readonly gossip: Gossip;
  private readonly fo: Failover;
  private readonly bus: ClusterBus | null;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly listeners: Array<() => void> = [];
  private readonly publishListeners: Array<(channel: Uint8Array, message: Uint8Array, sharded: boolean) => void> = [];
  private readonly lostListeners: Array<(lost: (slot: number) => boolean) => void> = [];
  private readonly served: ServedSlots;
  /** When a too big PUBLISH was last logged (one line a minute at most). */
  private bigPublishLoggedMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly opts: ClusterNodeOptions, deps: ClusterNodeDeps = {}) {
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.log;
    const now = this.clock();
    let loaded = false;
    if (opts.configFile !== '' && existsSync(opts.configFile)) {
      const text = readFileSync(opts.configFile, 'utf8');
      if (text.trim() !== '') {
        this.topo = parseNodesConfig(text, opts.configFile, now);
        loaded = true;
      } else {
        this.topo = new Topology(randomNodeId(opts.random), now);
      }
    } else {
      this.topo = new Topology(randomNodeId(opts.random), now);
    }
    const me = this.topo.myself;
    this.topo.setAddress(me, opts.announceIp !== '' ? opts.announceIp : me.ip, opts.port, opts.busPort);
    this.topo.setPport(me, opts.plainPort ?? 0);
    if (opts.announceHostname !== undefined) me.hostname = opts.announceHostname;
    if (deps.transport) {
      this.bus = null;
    } else {
      this.bus = new ClusterBus({
        bindHost: opts.bindHost, busPort: opts.busPort, log: opts.log, clock: this.clock,
        ...(opts.busSecret ? { secret: opts.busSecret } : {}),
        onMessage: (link, msg) => this.receive(link, msg),
        onLinkDown: (id) => {
          const n = this.topo.get(id);
          if (n) n.linkUp = false;
        },
        tls: opts.tls ?? null,
      });
    }
    const base = deps.transport ?? this.bus!;
    // Every send passes the partition filter (DEBUG CLUSTER-PARTITION).
    const filtered: Transport = {
      send: (node, msg) => {
        if (!this.cut.has(node.id)) base.send(node, msg);
      },
      reply: (link, msg) => base.reply(link, msg),
      disconnect: (id) => base.disconnect(id),
      rename: (oldId, newId) => base.rename(oldId, newId),
    };
    this.gossip = new Gossip(this.topo, filtered, {
      nodeTimeoutMs: opts.nodeTimeoutMs, announceIp: opts.announceIp, random: this.random, log: opts.log,
    });
    this.fo = new Failover(this.topo, this.gossip, {
      nodeTimeoutMs: opts.nodeTimeoutMs, random: this.random, clock: this.clock, log: opts.log,
      persist: () => {
        this.topo.changed();
        this.saveConfigQuietly();
      },
    });
    this.setTunables({ migrationBarrier: opts.migrationBarrier, replicaNoFailover: opts.replicaNoFailover, allowReplicaMigration: opts.allowReplicaMigration });
    this.served = new ServedSlots(this.topo);
    this.log.info({ id: me.id, loaded, configFile: opts.configFile }, loaded ? 'node configuration loaded' : 'no cluster configuration found, I am a new node');
    this.saveConfigQuietly();
  }

  get myId(): string {
    return this.topo.myself.id;
  }

  /** The topology (tests and the simulation inspect it; do not change it from outside). */
  get topology(): Topology {
    return this.topo;
  }

  /** How often `tick` should run. */
  get tickMs(): number {
    return this.gossip.tickMs;
  }

  // --- driving -------------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.bus) await this.bus.listen();
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.gossip.tickMs);
      this.timer.unref();
    }
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.bus) await this.bus.close();
    this.saveConfigQuietly();
  }

  /** tls-cluster yes: the announced ports are TLS ports (CLUSTER SHARDS names them tls-port). */
  get tlsCluster(): boolean {
    return (this.opts.tls ?? null) !== null;
  }

  /** New certificates for the bus listener (CONFIG SET tls-*). */
  reloadTls(): void {
    this.bus?.reloadTls();
  }

  /** The bus port actually bound (the configured one unless it was 0). */
  get boundBusPort(): number {
    return this.bus?.boundPort ?? this.opts.busPort;
  }

  /** Periodic work; the timer calls it every `tickMs` once started. */
  tick(): void {
    try {
      const now = this.clock();
      this.gossip.tick(now);
      this.fo.tick(now);
    } catch (e) {
      this.log.error({ err: e }, 'cluster: error in periodic work');
    }
    this.afterEvent();
  }

  /** One bus message from `link`. */
  receive(link: LinkRef, msg: WireMessage): void {
    if (this.cut.size > 0 && this.cut.has(msg.sender)) return;
    if (isPublish(msg)) {
      this.receivePublish(msg);
      return;
    }
    try {
      this.gossip.receive(link, msg, this.clock());
    } catch (e) {
      this.log.error({ err: e, type: msg.type }, 'cluster: error handling a bus message');
    }
    this.afterEvent();
  }

  /** Persists and announces what gossip changed. */
  private afterEvent(): void {
    const c = this.gossip.changes;
    const roles = c.save;
    if (c.save) {
      c.save = false;
      this.markSave();
    }
    if (c.slots) {
      c.slots = false;
      this.notifySlots();
    } else if (roles && this.topo.myself.primaryId !== this.servedPrimaryId) {
      // A role change (this replica follows another primary) moves served slots too.
      this.checkServedSlots();
    }
  }

  private notifySlots(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.log.error({ err: e }, 'cluster: onSlotsChanged listener failed');
      }
    }
    this.checkServedSlots();
  }

  /** My primary at the last checkServedSlots(). */
  private servedPrimaryId: string | null = null;

  /** Tells the onServedSlotsLost listeners which slots this node no longer serves (a pass over
   * the slots: only with listeners, after a change of slots or of my primary). */
  private checkServedSlots(): void {
    if (this.lostListeners.length === 0) return;
    this.servedPrimaryId = this.topo.myself.primaryId;
    if (this.served.update(this.topo) === 0) return;
    for (const l of this.lostListeners) {
      try {
        l(this.served.lost);
      } catch (e) {
        this.log.error({ err: e }, 'cluster: onServedSlotsLost listener failed');
      }
    }
  }

  // --- pub/sub across nodes --------------------------------------------------------------------------

  /** PUBLISH (sharded = false): to every other node with a link up; SPUBLISH (sharded = true): to
   * the other nodes of my shard (my primary or me, and its replicas), as Redis 7.0. At most once:
   * a node whose link is down or backed up (cluster-bus.ts's MAX_PUBLISH_BACKLOG_BYTES) misses it.
   * A message too big for one frame (MAX_PUBLISH_FRAME_BYTES) stays on this node. */
  publish(channel: Uint8Array, message: Uint8Array, sharded: boolean): void {
    const bus = this.bus;
    if (bus === null) return;
    if (publishFrameBytes(channel.length, message.length) > MAX_PUBLISH_FRAME_BYTES) {
      bus.droppedPublish++;
      const now = this.clock();
      if (now - this.bigPublishLoggedMs >= 60_000) {
        this.bigPublishLoggedMs = now;
        this.log.warn({ bytes: message.length, max: MAX_PUBLISH_FRAME_BYTES }, 'cluster: a published message too big for the bus was delivered on this node only');
      }
      return;
    }
    const me = this.topo.myself;
    let shardPrimary: string | null = null;
    if (sharded) {
      shardPrimary = (me.flags & FLAG_SLAVE) !== 0 ? me.primaryId : me.id;
      if (shardPrimary === null) return;
    }
    let frame: Buffer | null = null;
    let sent = 0;
    for (const n of this.topo.nodes.values()) {
      if (n === me || (n.flags & FLAG_HANDSHAKE) !== 0) continue;
      if (shardPrimary !== null && n.id !== shardPrimary && n.primaryId !== shardPrimary) continue;
      if (this.cut.size > 0 && this.cut.has(n.id)) continue;
      frame ??= encodePublish(me.id, sharded, channel, message);
      if (bus.sendPublish(n.id, frame)) sent++;
    }
    if (sent > 0) this.gossip.count(this.gossip.sent, sharded ? 'publishshard' : 'publish', sent);
  }

  /** A message from another node: to the onPublish listeners (local delivery). */
  private receivePublish(msg: PublishMessage): void {
    this.gossip.count(this.gossip.received, msg.type);
    const sender = this.topo.get(msg.sender);
    // As Redis: nothing from a node we do not know (yet).
    if (!sender || sender === this.topo.myself || (sender.flags & FLAG_HANDSHAKE) !== 0) return;
    const sharded = msg.type === 'publishshard';
    for (const l of this.publishListeners) {
      try {
        l(msg.channel, msg.message, sharded);
      } catch (e) {
        this.log.error({ err: e }, 'cluster: onPublish listener failed');
      }
    }
  }

  onPublish(listener: (channel: Uint8Array, message: Uint8Array, sharded: boolean) => void): void {
    this.publishListeners.push(listener);
  }

  onServedSlotsLost(listener: (lost: (slot: number) => boolean) => void): void {
    // From now on: what was served before the first listener is not reported.
    if (this.lostListeners.length === 0) {
      this.served.update(this.topo);
      this.servedPrimaryId = this.topo.myself.primaryId;
    }
    this.lostListeners.push(listener);
  }

  /** Bytes queued in user space on the bus link to a node (diagnostics and tests). */
  linkUnsentBytes(id: string): number {
    return this.bus?.unsentBytes(id) ?? 0;
  }

  /** Pub/sub frames not sent since start (link down or backed up, message too big). */
  get droppedPublish(): number {
    return this.bus?.droppedPublish ?? 0;
  }

  /** After an admin change: saved by flushConfig(), which the server calls before it writes any
   * reply (as Redis saves in beforeSleep), so a pipeline of SETSLOTs costs one fsync'd write. */
  private commit(slots: boolean): void {
    this.topo.changed();
    this.gossip.changes.save = false;
    this.markSave();
    if (slots) this.notifySlots();
  }

  private markSave(): void {
    if (this.pendingSave) return;
    this.pendingSave = true;
    // Backstop for changes no reply waits on (gossip): saved within the turn anyway.
    setImmediate(() => this.flushConfig());
  }

  flushConfig(): void {
    if (!this.pendingSave) return;
    this.pendingSave = false;
    this.saveConfigQuietly();
  }

  private saveConfigQuietly(): void {
    try {
      this.saveConfig();
    } catch (e) {
      this.log.error({ err: e, file: this.opts.configFile }, 'cluster: could not save the cluster configuration');
    }
  }

  // --- hot path ------------------------------------------------------------------------------------

  ownsSlot(slot: number): boolean {
    return this.topo.owner[slot] === this.topo.myself.index;
  }

  slotAddress(slot: number, plain = false): string | null {
    const i = this.topo.owner[slot];
    if (i === undefined || i < 0) return null;
    const n = this.topo.nodeAt(i)!;
    return plain && this.tlsCluster ? n.plainAddress : n.address;
  }

  migratingTo(slot: number, plain = false): string | null {
    const id = this.topo.migrating.get(slot);
    const n = id === undefined ? undefined : this.topo.get(id);
    if (n === undefined) return null;
    return plain && this.tlsCluster ? n.plainAddress : n.address;
  }

  importingFrom(slot: number): string | null {
    return this.topo.importing.get(slot) ?? null;
  }

  state(): 'ok' | 'fail' {
    return this.topo.state(this.opts);
  }

  // --- views ---------------------------------------------------------------------------------------

  myself(): NodeView {
    this.topo.myself.replOffset = this.fo.offset();
    return this.topo.view(this.topo.myself);
  }

  nodes(): NodeView[] {
    this.topo.myself.replOffset = this.fo.offset();
    return [...this.topo.nodes.values()].map((n) => this.topo.view(n));
  }

  node(id: string): NodeView | null {
    const n = this.topo.get(id);
    return n ? this.topo.view(n) : null;
  }

  currentEpoch(): number {
    return this.topo.currentEpoch;
  }

  info(): ClusterInfoFields {
    let assigned = 0;
    let pfail = 0;
    let fail = 0;
    for (let s = 0; s < CLUSTER_SLOTS; s++) {
      const n = this.topo.ownerOf(s);
      if (!n) continue;
      assigned++;
      if ((n.flags & FLAG_FAIL) !== 0) fail++;
      else if ((n.flags & FLAG_PFAIL) !== 0) pfail++;
    }
    const me = this.topo.myself;
    const primary = me.primaryId !== null ? this.topo.get(me.primaryId) : undefined;
    return {
      cluster_state: this.state(),
      cluster_slots_assigned: assigned,
      cluster_slots_ok: assigned - pfail - fail,
      cluster_slots_pfail: pfail,
      cluster_slots_fail: fail,
      cluster_known_nodes: this.topo.nodes.size,
      cluster_size: this.topo.size(),
      cluster_current_epoch: this.topo.currentEpoch,
      cluster_my_epoch: (primary ?? me).configEpoch,
      messages: this.gossip.statsFields(),
    };
  }

  nodesText(plain = false): string {
    return this.topo.nodesText(true, plain && this.tlsCluster);
  }

  countFailureReports(id: string): number {
    const n = this.topo.get(id);
    return n ? this.gossip.failureReports(n, this.clock()) : 0;
  }

  openSlots(): { migrating: Array<[number, string]>; importing: Array<[number, string]> } {
    const sorted = (m: Map<number, string>): Array<[number, string]> => [...m.entries()].sort((a, b) => a[0] - b[0]);
    return { migrating: sorted(this.topo.migrating), importing: sorted(this.topo.importing) };
  }

  // --- changes -------------------------------------------------------------------------------------

  private lookup(id: string): TopoNode | undefined {
    return isNodeId(id) ? this.topo.get(id) : undefined;
  }

  private checkSlot(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= CLUSTER_SLOTS) throw new ReplyError('ERR Invalid or out of range slot');
  }

  meet(ip: string, port: number, cport?: number): void {
    const bus = cport ?? port + 10000;
    const valid = isIP(ip) !== 0 && Number.isInteger(port) && port > 0 && port <= 65535 && Number.isInteger(bus) && bus > 0 && bus <= 65535;
    if (!valid) throw new ReplyError(`ERR Invalid node address specified: ${ip}:${port}`);
    const normalized = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
    this.gossip.startHandshake(normalized, port, bus, this.clock());
  }

  forget(id: string): void {
    const n = this.lookup(id);
    if (!n) throw new ReplyError(`ERR Unknown node ${id}`);
    if (n === this.topo.myself) throw new ReplyError("ERR I tried hard but I can't forget myself...");
    if ((this.topo.myself.flags & FLAG_SLAVE) !== 0 && this.topo.myself.primaryId === n.id) throw new ReplyError("ERR Can't forget my master!");
    this.gossip.blacklistAdd(n.id, this.clock());
    const hadSlots = n.numSlots > 0;
    this.gossip.deleteNode(n);
    this.commit(hadSlots);
  }

  addSlots(slots: readonly number[]): void {
    for (const s of slots) {
      this.checkSlot(s);
      if (this.topo.owner[s] !== -1) throw new ReplyError(`ERR Slot ${s} is already busy`);
    }
    for (const s of slots) {
      this.topo.importing.delete(s);
      this.topo.assignSlot(s, this.topo.myself);
    }
    this.commit(slots.length > 0);
  }

  delSlots(slots: readonly number[]): void {
    for (const s of slots) {
      this.checkSlot(s);
      if (this.topo.owner[s] === -1) throw new ReplyError(`ERR Slot ${s} is already unassigned`);
    }
    for (const s of slots) this.topo.unassignSlot(s);
    this.commit(slots.length > 0);
  }

  private targetNode(id: string, unknown: string): TopoNode {
    const n = this.lookup(id);
    if (!n) throw new ReplyError(unknown);
    if ((n.flags & FLAG_SLAVE) !== 0) throw new ReplyError('ERR Target node is not a master');
    return n;
  }

  setSlotImporting(slot: number, fromId: string): void {
    this.checkSlot(slot);
    if (this.ownsSlot(slot)) throw new ReplyError(`ERR I'm already the owner of hash slot ${slot}`);
    const n = this.targetNode(fromId, `ERR I don't know about node ${fromId}`);
    this.topo.importing.set(slot, n.id);
    this.commit(false);
  }

  setSlotMigrating(slot: number, toId: string): void {
    this.checkSlot(slot);
    if (!this.ownsSlot(slot)) throw new ReplyError(`ERR I'm not the owner of hash slot ${slot}`);
    const n = this.targetNode(toId, `ERR I don't know about node ${toId}`);
    this.topo.migrating.set(slot, n.id);
    this.commit(false);
  }

  setSlotStable(slot: number): void {
    this.checkSlot(slot);
    this.topo.migrating.delete(slot);
    this.topo.importing.delete(slot);
    this.commit(false);
  }

  setSlotNode(slot: number, id: string): void {
    this.checkSlot(slot);
    const n = this.targetNode(id, `ERR Unknown node ${id}`);
    const me = this.topo.myself;
    // The keys have moved (checking that none are left is the caller's job): close the migration.
    if (n !== me) this.topo.migrating.delete(slot);
    if (n === me && this.topo.importing.has(slot)) {
      // The end of an import: take a new epoch so that the whole cluster accepts the new owner.
      const r = this.bumpEpochWithoutConsensus();
      this.log.info({ slot, result: r }, 'epoch bumped at the end of a slot import');
      this.topo.importing.delete(slot);
    }
    const changed = this.topo.assignSlot(slot, n);
    this.commit(changed);
    if (changed) events.slotAssigned(slot, n.id);
  }

  private bumpEpochWithoutConsensus(): string {
    const me = this.topo.myself;
    const max = this.topo.maxEpoch();
    if (me.configEpoch === 0 || me.configEpoch !== max) {
      this.topo.currentEpoch++;
      me.configEpoch = this.topo.currentEpoch;
      return `BUMPED ${me.configEpoch}`;
    }
    return `STILL ${me.configEpoch}`;
  }

  bumpEpoch(): string {
    const r = this.bumpEpochWithoutConsensus();
    this.commit(false);
    return r;
  }

  setConfigEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ReplyError(`ERR Invalid config epoch specified: ${epoch}`);
    if (this.topo.nodes.size > 1) throw new ReplyError('ERR The user can assign a config epoch only when the node does not know any other node.');
    if (this.topo.myself.configEpoch !== 0) throw new ReplyError('ERR Node config epoch is already non-zero');
    this.topo.myself.configEpoch = epoch;
    if (this.topo.currentEpoch < epoch) this.topo.currentEpoch = epoch;
    this.commit(false);
  }

  reset(hard: boolean): void {
    const t = this.topo;
    const hadSlots = t.myself.numSlots > 0 || [...t.nodes.values()].some((n) => n.numSlots > 0);
    t.migrating.clear();
    t.importing.clear();
    for (let s = 0; s < CLUSTER_SLOTS; s++) t.unassignSlot(s);
    for (const n of [...t.nodes.values()]) if (n !== t.myself) this.gossip.deleteNode(n);
    const me = t.myself;
    this.fo.resetToPrimary(this.clock());
    t.setAsPrimary(me);
    if (hard) {
      t.currentEpoch = 0;
      t.lastVoteEpoch = 0;
      me.configEpoch = 0;
      const old = me.id;
      t.renameNode(me, this.gossip.freshId());
      this.log.info({ old, id: me.id }, 'node hard reset, now I am a new node');
    }
    this.gossip.clearBlacklist();
    this.commit(hadSlots);
  }

  saveConfig(): void {
    if (this.opts.configFile === '') return;
    try {
      writeFileAtomic(this.opts.configFile, this.topo.configText());
    } catch (e) {
      throw new ReplyError(`ERR error saving the cluster node config: ${(e as Error).message}`);
    }
  }

  onSlotsChanged(listener: () => void): void {
    this.listeners.push(listener);
  }

  // --- replicas and failover -------------------------------------------------------------------------

  setHooks(h: ClusterHooks): void {
    this.fo.hooks = h;
    // A node that restarts as a replica resumes replicating its primary.
    const p = this.fo.myPrimary();
    if (p && p.ip !== '' && p.port > 0) {
      try {
        h.becomeReplicaOf(p.ip, p.port);
      } catch (e) {
        this.log.error({ err: e }, 'cluster: becomeReplicaOf failed');
      }
    }
  }

  replicate(id: string, keys: number): void {
    const n = this.lookup(id);
    const me = this.topo.myself;
    if (!n) throw new ReplyError(`ERR Unknown node ${id}`);
    if (n === me) throw new ReplyError("ERR Can't replicate myself");
    if ((n.flags & FLAG_SLAVE) !== 0) throw new ReplyError('ERR I can only replicate a master, not a replica.');
    if ((me.flags & FLAG_MASTER) !== 0 && (me.numSlots !== 0 || keys !== 0)) {
      throw new ReplyError('ERR To set a master the node must be empty and without assigned slots.');
    }
    this.fo.replicate(n, this.clock());
    this.afterAdmin();
  }

  failover(mode: 'default' | 'force' | 'takeover'): void {
    const me = this.topo.myself;
    if ((me.flags & FLAG_MASTER) !== 0) throw new ReplyError('ERR You should send CLUSTER FAILOVER to a replica');
    const p = this.fo.myPrimary();
    if (!p) throw new ReplyError("ERR I'm a replica but my master is unknown to me");
    if (mode === 'default' && ((p.flags & FLAG_FAIL) !== 0 || !p.linkUp)) {
      throw new ReplyError('ERR Master is down or failed, please use CLUSTER FAILOVER FORCE');
    }
    this.log.warn({ mode }, 'manual failover user request accepted');
    this.fo.startManual(mode, this.clock());
    this.afterAdmin();
  }

  /** An admin change that went through the failover state machine: saved and announced. */
  private afterAdmin(): void {
    const slots = this.gossip.changes.slots;
    this.gossip.changes.slots = false;
    this.commit(slots);
    if (!slots) this.checkServedSlots();
  }

  replicasOf(id: string): NodeView[] {
    const n = this.lookup(id);
    if (!n) throw new ReplyError(`ERR Unknown node ${id}`);
    if ((n.flags & FLAG_SLAVE) !== 0) throw new ReplyError('ERR The specified node is not a master');
    this.topo.myself.replOffset = this.fo.offset();
    return this.topo.replicasOf(n).map((r) => this.topo.view(r));
  }

  /** CLUSTER REPLICAS lines (CLUSTER NODES lines without the newline), as Redis replies them. */
  replicaLines(id: string, plain = false): string[] {
    const n = this.lookup(id);
    if (!n) return [];
    const usePport = plain && this.tlsCluster;
    return this.topo.replicasOf(n).map((r) => this.topo.nodeLine(r, usePport).slice(0, -1));
  }

  myPrimary(): NodeView | null {
    const p = this.fo.myPrimary();
    return p ? this.topo.view(p) : null;
  }

  isReplica(): boolean {
    return (this.topo.myself.flags & FLAG_SLAVE) !== 0;
  }

  primaryOwnsSlot(slot: number): boolean {
    const me = this.topo.myself;
    if ((me.flags & FLAG_SLAVE) === 0 || me.primaryId === null) return false;
    const o = this.topo.ownerOf(slot);
    return o !== null && o.id === me.primaryId;
  }

  failoverLog(): readonly FailoverEvent[] {
    return this.fo.events;
  }

  /** Nodes whose bus traffic is dropped (DEBUG CLUSTER-PARTITION). */
  private cut = new Set<string>();

  debugPartition(ids: readonly string[]): void {
    this.cut = new Set(ids);
    for (const id of ids) this.bus?.disconnect(id);
    this.log.warn({ nodes: ids }, ids.length > 0 ? 'DEBUG CLUSTER-PARTITION: bus traffic to and from these nodes is dropped' : 'DEBUG CLUSTER-PARTITION: healed');
  }

  setTunables(t: { migrationBarrier?: number | undefined; replicaNoFailover?: boolean | undefined; allowReplicaMigration?: boolean | undefined }): void {
    if (t.migrationBarrier !== undefined) this.fo.migrationBarrier = t.migrationBarrier;
    if (t.replicaNoFailover !== undefined) this.fo.replicaNoFailover = t.replicaNoFailover;
    if (t.allowReplicaMigration !== undefined) this.fo.allowReplicaMigration = t.allowReplicaMigration;
  }

  /** The failover state machine (tests: vote rules, ranks). */
  get failoverState(): Failover {
    return this.fo;
  }

  /** Nodes in handshake (tests). */
  handshakes(): number {
    let n = 0;
    for (const x of this.topo.nodes.values()) if ((x.flags & FLAG_HANDSHAKE) !== 0) n++;
    return n;
  }

  /** phi of a node's heartbeats now (diagnostics). */
  phi(id: string): number {
    return this.gossip.phi(id, this.clock());
  }

  /** Messages by type (tests). */
  messageStats(): { sent: ReadonlyMap<string, number>; received: ReadonlyMap<string, number> } {
    return { sent: this.gossip.sent, received: this.gossip.received };
  }
}
