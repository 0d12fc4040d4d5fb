// What this node knows of the cluster: the node table, the slot owner table, open (migrating /
// importing) slots and the epochs, with Redis Cluster's rules for them. The slot owner table is an
// Int32Array of node indexes so that the router's reads (ownsSlot, slotAddress) are array look-ups;
// each node also keeps its slots as a bitmap so that a heartbeat's claims compare with one memcmp.
// Invariants (checkInvariants): owner[s] is a live node's index, numSlots and bitmaps agree with it.

import { CLUSTER_SLOTS, type NodeFlag, type NodeView } from './api.js';
import { SLOT_BITMAP_BYTES, slotBit } from './bus-messages.js';

export const FLAG_MYSELF = 1;
export const FLAG_MASTER = 2;
export const FLAG_SLAVE = 4;
export const FLAG_PFAIL = 8;
export const FLAG_FAIL = 16;
export const FLAG_HANDSHAKE = 32;
export const FLAG_NOADDR = 64;
export const FLAG_NOFAILOVER = 128;
/** Internal: send MEET rather than PING on the next contact (never printed nor sent). */
export const FLAG_MEET = 256;
/** Flags carried on the wire. */
export const WIRE_FLAGS = 0xff;

/** Redis's flag words, in its order (CLUSTER NODES prints "fail?" for pfail). */
const FLAG_WORDS: ReadonlyArray<readonly [number, NodeFlag, string]> = [
  [FLAG_MYSELF, 'myself', 'myself'],
  [FLAG_MASTER, 'master', 'master'],
  [FLAG_SLAVE, 'slave', 'slave'],
  [FLAG_PFAIL, 'pfail', 'fail?'],
  [FLAG_FAIL, 'fail', 'fail'],
  [FLAG_HANDSHAKE, 'handshake', 'handshake'],
  [FLAG_NOADDR, 'noaddr', 'noaddr'],
  [FLAG_NOFAILOVER, 'nofailover', 'nofailover'],
];

export function flagsText(flags: number): string {
  const words = FLAG_WORDS.filter(([bit]) => (flags & bit) !== 0).map(([, , word]) => word);
  return words.length === 0 ? 'noflags' : words.join(',');
}

/** Parses a CLUSTER NODES flags field; null when a word is unknown. */
export function parseFlags(text: string): number | null {
  if (text === 'noflags') return 0;
  let flags = 0;
  for (const word of text.split(',')) {
    const f = FLAG_WORDS.find(([, , w]) => w === word);
    if (!f) return null;
    flags |= f[0];
  }
  return flags;
}

export interface TopoNode {
  id: string;
  /** Index in the slot owner table (stable while the node is known). */
  readonly index: number;
  ip: string;
  port: number;
  cport: number;
  /** tls-cluster: its plain RESP port besides `port` (the TLS one), 0 = none (Redis 7.0's pport). */
  pport: number;
  hostname: string;
  /** "ip:port", cached for MOVED/ASK. */
  address: string;
  /** "ip:pport" (or `address` when pport is 0): what a plain client of a TLS cluster is sent to. */
  plainAddress: string;
  flags: number;
  primaryId: string | null;
  configEpoch: number;
  pingSentMs: number;
  pongRecvMs: number;
  /** Last time anything arrived from it (failure detection). */
  dataRecvMs: number;
  failTimeMs: number;
  /** Creation time (handshake timeout). */
  ctimeMs: number;
  numSlots: number;
  readonly slotBits: Uint8Array;
  /** Failure reports about this node: reporting primary's id -> time of the report. */
  readonly failReports: Map<string, number>;
  /** An outbound bus link to it is up. */
  linkUp: boolean;
  /** Its replication offset as last announced (its own for myself: see Failover). */
  replOffset: number;
  /** When this node (a primary) last had a replica of it elected by my vote (Redis's voted_time). */
  votedTimeMs: number;
  /** It had replicas once (Redis's MIGRATE_TO): only such an orphaned primary attracts a migrating replica. */
  hadReplicas: boolean;
}

export interface StateInput {
  requireFullCoverage: boolean;
}

export class Topology {
  readonly nodes = new Map<string, TopoNode>();
  /** slot -> index of the owner in `byIndex`, -1 when unassigned. */
  readonly owner = new Int32Array(CLUSTER_SLOTS).fill(-1);
  private readonly byIndex: Array<TopoNode | undefined> = [];
  private readonly freeIndexes: number[] = [];
  readonly migrating = new Map<number, string>();
  readonly importing = new Map<number, string>();
  currentEpoch = 0;
  lastVoteEpoch = 0;
  myself: TopoNode;
  private stateCache: 'ok' | 'fail' | null = null;
  /** Bumped whenever a node is added, removed or renamed. */
  version = 0;
  private sizeCache = -1;

  constructor(myId: string, nowMs: number) {
    this.myself = this.createNode(myId, FLAG_MYSELF | FLAG_MASTER, nowMs);
    this.addNode(this.myself);
  }

  /** A new node record (not yet in the table). */
  createNode(id: string, flags: number, nowMs: number): TopoNode {
    const index = this.freeIndexes.pop() ?? this.byIndex.length;
    const n: TopoNode = {
      id, index, ip: '', port: 0, cport: 0, pport: 0, hostname: '', address: ':0', plainAddress: ':0', flags, primaryId: null, configEpoch: 0,
      pingSentMs: 0, pongRecvMs: 0, dataRecvMs: nowMs, failTimeMs: 0, ctimeMs: nowMs, numSlots: 0,
      slotBits: new Uint8Array(SLOT_BITMAP_BYTES), failReports: new Map(), linkUp: false, replOffset: 0, votedTimeMs: 0,
      hadReplicas: false,
    };
    this.byIndex[index] = n;
    return n;
  }

  addNode(n: TopoNode): void {
    if (this.nodes.has(n.id)) throw new Error(`node ${n.id} is already known`);
    this.nodes.set(n.id, n);
    this.byIndex[n.index] = n;
    this.version++;
    this.changed();
  }

  get(id: string): TopoNode | undefined {
    return this.nodes.get(id);
  }

  /** Removes a node: its slots become unassigned, open slots naming it close, its reports go. */
  delNode(id: string): TopoNode | undefined {
    const n = this.nodes.get(id);
    if (!n || n === this.myself) return undefined;
    if (n.numSlots > 0) for (let s = 0; s < CLUSTER_SLOTS; s++) if (this.owner[s] === n.index) this.unassignSlot(s);
    for (const [slot, nid] of this.migrating) if (nid === id) this.migrating.delete(slot);
    for (const [slot, nid] of this.importing) if (nid === id) this.importing.delete(slot);
    for (const other of this.nodes.values()) other.failReports.delete(id);
    this.nodes.delete(id);
    this.byIndex[n.index] = undefined;
    this.freeIndexes.push(n.index);
    this.version++;
    this.changed();
    return n;
  }

  /** Gives a node a new id (a handshake node whose real id is now known; a hard reset). */
  renameNode(n: TopoNode, newId: string): void {
    const oldId = n.id;
    if (oldId === newId) return;
    if (this.nodes.has(newId)) throw new Error(`node ${newId} is already known`);
    this.nodes.delete(oldId);
    n.id = newId;
    this.nodes.set(newId, n);
    this.version++;
    for (const map of [this.migrating, this.importing]) for (const [slot, nid] of map) if (nid === oldId) map.set(slot, newId);
    for (const other of this.nodes.values()) {
      const t = other.failReports.get(oldId);
      if (t !== undefined) {
        other.failReports.delete(oldId);
        other.failReports.set(newId, t);
      }
      if (other.primaryId === oldId) other.primaryId = newId;
    }
  }

  setAddress(n: TopoNode, ip: string, port: number, cport: number): void {
    n.ip = ip;
    n.port = port;
    n.cport = cport;
    n.address = `${ip}:${port}`;
    n.plainAddress = n.pport > 0 ? `${ip}:${n.pport}` : n.address;
  }

  /** Its plain RESP port under tls-cluster (0 = none); rebuilds plainAddress only on a change. */
  setPport(n: TopoNode, pport: number): void {
    if (n.pport === pport) return;
    n.pport = pport;
    n.plainAddress = pport > 0 ? `${n.ip}:${pport}` : n.address;
  }

  // --- roles -------------------------------------------------------------------------------------

  /** Known replicas of `primary` (nodes flagged slave naming it), in table order. */
  replicasOf(primary: TopoNode): TopoNode[] {
    const out: TopoNode[] = [];
    for (const n of this.nodes.values()) if (n.primaryId === primary.id && (n.flags & FLAG_SLAVE) !== 0) out.push(n);
    return out;
  }

  /** Redis's clusterSetNodeAsMaster (without the slots: they follow by config epoch). */
  setAsPrimary(n: TopoNode): boolean {
    if ((n.flags & FLAG_MASTER) !== 0 && n.primaryId === null) return false;
    n.flags = (n.flags & ~FLAG_SLAVE) | FLAG_MASTER;
    n.primaryId = null;
    this.changed();
    return true;
  }

  /** Makes `n` a replica of `primaryId`: a primary that turns replica gives up its slots, as in
   * Redis (its slots are someone else's by now, or will be by config epoch). */
  setAsReplica(n: TopoNode, primaryId: string): boolean {
    if ((n.flags & FLAG_SLAVE) !== 0 && n.primaryId === primaryId) return false;
    if (n.numSlots > 0) for (let s = 0; s < CLUSTER_SLOTS; s++) if (this.owner[s] === n.index) this.unassignSlot(s);
    n.flags = (n.flags & ~FLAG_MASTER) | FLAG_SLAVE;
    n.primaryId = primaryId;
    const p = this.nodes.get(primaryId);
    if (p) p.hadReplicas = true;
    this.changed();
    return true;
  }

  // --- slots -------------------------------------------------------------------------------------

  ownerOf(slot: number): TopoNode | null {
    const i = this.owner[slot]!;
    return i < 0 ? null : this.byIndex[i]!;
  }

  nodeAt(index: number): TopoNode | undefined {
    return this.byIndex[index];
  }

  /** Makes `n` the owner of `slot` (taking it from any previous owner). Returns whether it changed. */
  assignSlot(slot: number, n: TopoNode): boolean {
    const cur = this.owner[slot]!;
    if (cur === n.index) return false;
    if (cur >= 0) this.unassignSlot(slot);
    this.owner[slot] = n.index;
    n.numSlots++;
    n.slotBits[slot >> 3]! |= 1 << (slot & 7);
    this.changed();
    return true;
  }

  unassignSlot(slot: number): boolean {
    const cur = this.owner[slot]!;
    if (cur < 0) return false;
    const n = this.byIndex[cur]!;
    n.numSlots--;
    n.slotBits[slot >> 3]! &= ~(1 << (slot & 7));
    this.owner[slot] = -1;
    this.changed();
    return true;
  }

  /** A node's slots as sorted inclusive ranges. */
  slotRanges(n: TopoNode): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (n.numSlots === 0) return out;
    let start = -1;
    for (let s = 0; s <= CLUSTER_SLOTS; s++) {
      const mine = s < CLUSTER_SLOTS && slotBit(n.slotBits, s);
      if (mine && start < 0) start = s;
      else if (!mine && start >= 0) {
        out.push([start, s - 1]);
        start = -1;
      }
    }
    return out;
  }

  /**
   * Redis's clusterUpdateSlotsConfigWith: `sender` claims the slots in `claimed` with `configEpoch`;
   * it takes each slot that is unassigned or whose owner has a smaller config epoch, unless the slot
   * is being imported here (a manual operation in progress). Returns the slots that changed owner
   * and whether any of them were mine.
   */
  applyClaims(sender: TopoNode, configEpoch: number, claimed: Uint8Array): { changed: number; lostMine: boolean } {
    let changed = 0;
    let lostMine = false;
    if (sender === this.myself) return { changed, lostMine };
    for (let byte = 0; byte < SLOT_BITMAP_BYTES; byte++) {
      const bits = claimed[byte]! & ~sender.slotBits[byte]!;
      if (bits === 0) continue;
      for (let b = 0; b < 8; b++) {
        if ((bits & (1 << b)) === 0) continue;
        const slot = (byte << 3) | b;
        if (this.importing.has(slot)) continue;
        const cur = this.ownerOf(slot);
        if (cur === null || cur.configEpoch < configEpoch) {
          if (cur === this.myself) lostMine = true;
          this.assignSlot(slot, sender);
          changed++;
        }
      }
    }
    return { changed, lostMine };
  }

  /** The first node that owns a slot claimed in `claimed` with a config epoch above `configEpoch`. */
  staleClaimWinner(sender: TopoNode, configEpoch: number, claimed: Uint8Array): TopoNode | null {
    for (let byte = 0; byte < SLOT_BITMAP_BYTES; byte++) {
      const bits = claimed[byte]! & ~sender.slotBits[byte]!;
      if (bits === 0) continue;
      for (let b = 0; b < 8; b++) {
        if ((bits & (1 << b)) === 0) continue;
        const cur = this.ownerOf((byte << 3) | b);
        if (cur !== null && cur !== sender && cur.configEpoch > configEpoch) return cur;
      }
    }
    return null;
  }

  // --- epochs and state --------------------------------------------------------------------------

  /** The greatest of currentEpoch and every known config epoch (clusterGetMaxEpoch). */
  maxEpoch(): number {
    let max = this.currentEpoch;
    for (const n of this.nodes.values()) if (n.configEpoch > max) max = n.configEpoch;
    return max;
  }

  /** Primaries serving at least one slot (Redis's cluster size, the base of quorums). */
  size(): number {
    if (this.sizeCache < 0) {
      let size = 0;
      for (const n of this.nodes.values()) if ((n.flags & FLAG_MASTER) !== 0 && n.numSlots > 0) size++;
      this.sizeCache = size;
    }
    return this.sizeCache;
  }

  /** Redis's clusterUpdateState without the rejoin delay: 'fail' when full coverage is required and
   * a slot is unassigned or served by a FAIL node, or when a majority of the primaries serving
   * slots is unreachable from here (this node is in a minority partition). Cached until a change. */
  state(input: StateInput): 'ok' | 'fail' {
    if (this.stateCache !== null) return this.stateCache;
    let s: 'ok' | 'fail' = 'ok';
    if (input.requireFullCoverage) {
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
        const o = this.owner[slot]!;
        if (o < 0 || (this.byIndex[o]!.flags & FLAG_FAIL) !== 0) {
          s = 'fail';
          break;
        }
      }
    }
    let reachable = 0;
    for (const n of this.nodes.values()) {
      if ((n.flags & FLAG_MASTER) !== 0 && n.numSlots > 0 && (n.flags & (FLAG_FAIL | FLAG_PFAIL)) === 0) reachable++;
    }
    if (reachable < Math.floor(this.size() / 2) + 1) s = 'fail';
    this.stateCache = s;
    return s;
  }

  /** Invalidates cached state and size; call after flags change. */
  changed(): void {
    this.stateCache = null;
    this.sizeCache = -1;
  }

  // --- views and text ----------------------------------------------------------------------------

  view(n: TopoNode): NodeView {
    return {
      id: n.id, ip: n.ip, port: n.port, cport: n.cport, pport: n.pport, hostname: n.hostname,
      flags: FLAG_WORDS.filter(([bit]) => (n.flags & bit) !== 0).map(([, word]) => word),
      primaryId: n.primaryId, pingSentMs: n.pingSentMs, pongRecvMs: n.pongRecvMs, configEpoch: n.configEpoch,
      connected: n === this.myself || n.linkUp, slots: this.slotRanges(n), replOffset: n.replOffset,
    };
  }

  /** One CLUSTER NODES line (with "\n"), exactly as Redis 7 prints it; `plain`: with the node's
   * plain port when it has one (a plain client of a TLS cluster; never nodes.conf). */
  nodeLine(n: TopoNode, plain = false): string {
    const host = n.hostname === '' ? '' : `,${n.hostname}`;
    const link = n === this.myself || n.linkUp ? 'connected' : 'disconnected';
    const port = plain && n.pport > 0 ? n.pport : n.port;
    // Redis's nodeEpoch(): a replica shows its primary's config epoch (the one its messages carry).
    const primary = (n.flags & FLAG_SLAVE) !== 0 && n.primaryId !== null ? this.nodes.get(n.primaryId) : undefined;
    const epoch = primary?.configEpoch ?? n.configEpoch;
    let line = `${n.id} ${n.ip}:${port}@${n.cport}${host} ${flagsText(n.flags)} ${n.primaryId ?? '-'} ${n.pingSentMs} ${n.pongRecvMs} ${epoch} ${link}`;
    for (const [from, to] of this.slotRanges(n)) line += from === to ? ` ${from}` : ` ${from}-${to}`;
    if (n === this.myself) {
      for (const slot of [...this.migrating.keys()].sort((a, b) => a - b)) line += ` [${slot}->-${this.migrating.get(slot)}]`;
      for (const slot of [...this.importing.keys()].sort((a, b) => a - b)) line += ` [${slot}-<-${this.importing.get(slot)}]`;
    }
    return `${line}\n`;
  }

  /** CLUSTER NODES: every node but those in handshake when `withHandshake` is false. */
  nodesText(withHandshake = true, plain = false): string {
    let out = '';
    for (const n of this.nodes.values()) if (withHandshake || (n.flags & FLAG_HANDSHAKE) === 0) out += this.nodeLine(n, plain);
    return out;
  }

  /** nodes.conf contents: the CLUSTER NODES lines without handshake nodes, then the vars line. */
  configText(): string {
    return `${this.nodesText(false)}vars currentEpoch ${this.currentEpoch} lastVoteEpoch ${this.lastVoteEpoch}\n`;
  }

  /** Throws when an internal invariant is broken (tests and the simulation call this). */
  checkInvariants(): void {
    const counts = new Int32Array(this.byIndex.length);
    for (let s = 0; s < CLUSTER_SLOTS; s++) {
      const o = this.owner[s]!;
      if (o < 0) continue;
      const n = this.byIndex[o];
      if (!n || !slotBit(n.slotBits, s)) throw new Error(`slot ${s}: owner ${o} is not a node whose bitmap has it`);
      counts[o]!++;
    }
    for (const n of this.nodes.values()) {
      if (n.numSlots !== counts[n.index]) throw new Error(`node ${n.id}: numSlots ${n.numSlots} disagrees with the table`);
      if (this.byIndex[n.index] !== n) throw new Error(`node ${n.id}: index disagrees`);
    }
    if (this.nodes.get(this.myself.id) !== this.myself) throw new Error('myself is not in the table');
  }
}
