// GET /v1/cluster: every node with its slots, open slots and figures. This node's figures come
// from its own sampler; other nodes' from their INFO, and their open slots (migrating, importing)
// from their CLUSTER NODES, which shows them only for `myself`; both asked over the node-to-node
// links (logged in as cluster forwarding is: node-auth.ts), all at once, each bounded by PEER_TIMEOUT_MS, and
// cached for CACHE_MS so that pages polling every second do not multiply the fan-out. A node that
// does not answer in time has `stats: null`.

import type { ServerApi } from '../commands/types.js';
import type { NodeView } from '../cluster/api.js';
import { nodeAuthCommand, nodeAuthVariant } from '../cluster/node-auth.js';
import type { DashboardSampler } from './dashboard-sampler.js';

const PEER_TIMEOUT_MS = 700;
const CACHE_MS = 1000;

export interface NodeStats {
  keys: number;
  usedMemory: number;
  opsPerSec: number;
  p99Us: number | null;
}

export interface ClusterNodeJson {
  id: string;
  ip: string;
  port: number;
  tlsPort: number | null;
  httpPort: number | null;
  role: 'primary' | 'replica';
  primaryId: string | null;
  flags: string[];
  linkState: 'connected' | 'disconnected';
  configEpoch: number;
  slots: Array<[number, number]>;
  migrating: Array<[number, string]>;
  importing: Array<[number, string]>;
  stats: NodeStats | null;
}

export interface ClusterJson {
  enabled: boolean;
  state: 'ok' | 'fail';
  myId: string;
  currentEpoch: number;
  slotsAssigned: number;
  nodes: ClusterNodeJson[];
}

/** "key:value" lines of an INFO reply. */
export function infoFields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const c = line.indexOf(':');
    if (c > 0 && line[0] !== '#') m.set(line.slice(0, c), line.slice(c + 1));
  }
  return m;
}

/** Keys of every db in INFO keyspace fields (db0:keys=3,expires=0,...). */
export function keysOf(info: ReadonlyMap<string, string>): number {
  let n = 0;
  for (const [k, v] of info) if (/^db\d+$/.test(k)) n += Number(/keys=(\d+)/.exec(v)?.[1] ?? 0);
  return n;
}

/** The largest p99 of INFO latencystats (latency_percentiles_usec_<cmd>:p50=..,p99=..), or null. */
export function p99OfLatencyStats(info: ReadonlyMap<string, string>): number | null {
  let worst: number | null = null;
  for (const [k, v] of info) {
    if (!k.startsWith('latency_percentiles_usec_')) continue;
    const p = Number(/(?:^|,)p99=([\d.]+)/.exec(v)?.[1]);
    if (Number.isFinite(p)) worst = worst === null ? p : Math.max(worst, p);
  }
  return worst;
}

/** What a peer told of itself: its figures (null when INFO failed) and its open slots. */
interface PeerAnswer {
  stats: NodeStats | null;
  /** Its HTTP port (CONFIG GET http-port), null when off or not answered. */
  httpPort: number | null;
  migrating: Array<[number, string]>;
  importing: Array<[number, string]>;
}

const NO_ANSWER: PeerAnswer = { stats: null, httpPort: null, migrating: [], importing: [] };

/** The open slots in the `myself` line of a CLUSTER NODES text: `[slot->-id]` (migrating to id)
 * and `[slot-<-id]` (importing from id). */
export function openSlotsOfNodes(text: string): { migrating: Array<[number, string]>; importing: Array<[number, string]> } {
  const migrating: Array<[number, string]> = [];
  const importing: Array<[number, string]> = [];
  const mine = text.split('\n').find((line) => line.split(' ')[2]?.split(',').includes('myself'));
  for (const f of mine?.split(' ').slice(8) ?? []) {
    const m = /^\[(\d+)(->-|-<-)([0-9a-f]{40})\]$/.exec(f);
    if (m) (m[2] === '->-' ? migrating : importing).push([Number(m[1]), m[3]!]);
  }
  return { migrating, importing };
}

/** The port in a CONFIG GET http-port reply (`*2 $9 http-port $N port`), null when 0 or not a
 * reply of that shape. */
export function httpPortOf(reply: Buffer): number | null {
  const m = /^\*2\r\n\$9\r\nhttp-port\r\n\$\d+\r\n(\d+)\r\n$/.exec(reply.toString('latin1'));
  const port = m ? Number(m[1]) : 0;
  return port > 0 ? port : null;
}

export class ClusterView {
  private cache: { atMs: number; value: Promise<Map<string, PeerAnswer>> } | null = null;
  /** Per peer: its commands processed at the last answer, for ops/s between answers. */
  private readonly lastCommands = new Map<string, { atMs: number; total: number }>();

  constructor(
    private readonly api: ServerApi,
    private readonly sampler: DashboardSampler,
    private readonly httpPort: () => number,
  ) {}

  /** This node's figures from its sampler. */
  myStats(): NodeStats {
    const report = this.sampler.lastReport ?? [];
    const latest = this.sampler.node.latest();
    return {
      keys: report.reduce((n, s) => n + s.keys, 0),
      usedMemory: report.reduce((n, s) => n + s.usedMemory, 0),
      opsPerSec: latest?.opsPerSec ?? 0,
      p99Us: latest?.p99Us ?? null,
    };
  }

  async render(): Promise<ClusterJson> {
    const c = this.api.cluster;
    const v = this.api.config.values;
    if (c === null) {
      // One node owning every slot.
      return {
        enabled: false,
        state: 'ok',
        myId: this.api.runId,
        currentEpoch: 0,
        slotsAssigned: 16384,
        nodes: [
          {
            id: this.api.runId,
            ip: v.bind[0] ?? '127.0.0.1',
            port: this.api.port,
            tlsPort: v.tlsPort > 0 ? v.tlsPort : null,
            httpPort: this.httpPort(),
            role: 'primary',
            primaryId: null,
            flags: ['myself', 'master'],
            linkState: 'connected',
            configEpoch: 0,
            slots: [[0, 16383]],
            migrating: [],
            importing: [],
            stats: this.myStats(),
          },
        ],
      };
    }
    const views = c.nodes();
    const open = c.openSlots();
    const peers = await this.peerAnswers(views.filter((n) => !n.flags.includes('myself')));
    const info = c.info();
    return {
      enabled: true,
      state: c.state(),
      myId: c.myId,
      currentEpoch: c.currentEpoch(),
      slotsAssigned: info.cluster_slots_assigned,
      nodes: views.map((n) => {
        const me = n.flags.includes('myself');
        const peer = peers.get(n.id) ?? NO_ANSWER;
        return {
          id: n.id,
          ip: n.ip,
          // Under tls-cluster the node's port is its TLS port; pport its plain one.
          port: c.tlsCluster && n.pport ? n.pport : n.port,
          tlsPort: c.tlsCluster ? n.port : me && v.tlsPort > 0 ? v.tlsPort : null,
          httpPort: me ? this.httpPort() : peer.httpPort,
          role: n.flags.includes('slave') ? 'replica' : 'primary',
          primaryId: n.primaryId,
          flags: [...n.flags],
          linkState: me || n.connected ? 'connected' : 'disconnected',
          configEpoch: n.configEpoch,
          slots: n.slots.map(([a, b]) => [a, b]),
          migrating: me ? open.migrating.map(([s, id]) => [s, id]) : peer.migrating,
          importing: me ? open.importing.map(([s, id]) => [s, id]) : peer.importing,
          stats: me ? this.myStats() : peer.stats,
        };
      }),
    };
  }

  /** Other nodes' figures and open slots, from the cache when it is fresh. */
  private peerAnswers(peers: readonly NodeView[]): Promise<Map<string, PeerAnswer>> {
    const now = Date.now();
    if (this.cache !== null && now - this.cache.atMs < CACHE_MS) return this.cache.value;
    // Bounded by the nodes known now: a forgotten node's counter goes.
    for (const id of this.lastCommands.keys()) if (!peers.some((p) => p.id === id)) this.lastCommands.delete(id);
    const value = Promise.all(peers.map(async (n) => [n.id, await this.askPeer(n).catch(() => NO_ANSWER)] as const)).then((pairs) => new Map(pairs));
    this.cache = { atMs: now, value };
    return value;
  }

  private async askPeer(n: NodeView): Promise<PeerAnswer> {
    if (n.flags.includes('fail') || n.flags.includes('noaddr') || n.flags.includes('handshake')) return NO_ANSWER;
    const auth = nodeAuthCommand(this.api.config.values);
    const peer = this.api.peers.get(n.ip, n.port, `dashboard/${nodeAuthVariant(auth)}`, auth === null ? [] : [auth]);
    const [stats, nodes, http] = await Promise.all([
      peer.call(['INFO', 'everything'], PEER_TIMEOUT_MS).then((r) => this.statsOf(n, r)).catch(() => null),
      peer.call(['CLUSTER', 'NODES'], PEER_TIMEOUT_MS).catch(() => null),
      // Gossip does not carry HTTP ports: each node tells its own, for the page's links.
      peer.call(['CONFIG', 'GET', 'http-port'], PEER_TIMEOUT_MS).catch(() => null),
    ]);
    const open = nodes !== null && nodes[0] === 36 ? openSlotsOfNodes(nodes.toString('utf8')) : NO_ANSWER;
    return { stats, httpPort: http === null ? null : httpPortOf(http), migrating: open.migrating, importing: open.importing };
  }

  /** A peer's figures from its INFO reply (ops/s from the change of its command count). */
  private statsOf(n: NodeView, reply: Buffer): NodeStats | null {
    if (reply[0] !== 36) return null;
    const info = infoFields(reply.toString('utf8'));
    const total = Number(info.get('total_commands_processed') ?? 0);
    const now = Date.now();
    const last = this.lastCommands.get(n.id);
    this.lastCommands.set(n.id, { atMs: now, total });
    const ops = last === undefined || total < last.total ? 0 : Math.round((total - last.total) / Math.max(0.001, (now - last.atMs) / 1000));
    return {
      keys: keysOf(info),
      usedMemory: Number(info.get('used_memory') ?? 0),
      opsPerSec: ops,
      p99Us: p99OfLatencyStats(info),
    };
  }
}
