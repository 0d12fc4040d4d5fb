// The cluster as the CLI sees it: CLUSTER NODES text parsed into records, and a topology loaded
// from one entry node and every node it lists. Like redis-cli, each node's role, slots and open
// (migrating/importing) slots come from that node's own "myself" line, so a node is the authority
// on what it is and serves; the entry's view says who exists and who it cannot reach.

import { formatAddress, type Address } from './args.js';
import { NodeError, type AdminClient, type AdminPool } from './admin-client.js';
import { OperationError, UsageError } from './errors.js';

import { SLOT_COUNT } from './slots.js';

/** One line of CLUSTER NODES. */
export interface NodeRecord {
  id: string;
  /** Empty when the node does not know its own address yet (a fresh node's myself line). */
  host: string;
  port: number;
  cport: number;
  flags: string[];
  primaryId: string | null;
  configEpoch: number;
  linkState: string;
  /** Served slots, ascending. */
  slots: number[];
  /** slot -> node id, from "[slot->-id]" / "[slot-<-id]" (only ever on a myself line). */
  migrating: Map<number, string>;
  importing: Map<number, string>;
}

export function parseClusterNodes(text: string): NodeRecord[] {
  const out: NodeRecord[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const [id, addr, flags, primary, , , epoch, link, ...slotTokens] = f as [string, string, string, string, string, string, string, string, ...string[]];
    const at = addr.indexOf('@');
    const hostPort = at < 0 ? addr : addr.slice(0, at);
    const cportText = at < 0 ? '0' : addr.slice(at + 1).split(',')[0] ?? '0';
    const colon = hostPort.lastIndexOf(':');
    const rec: NodeRecord = {
      id,
      host: hostPort.slice(0, Math.max(0, colon)),
      port: Number(hostPort.slice(colon + 1)),
      cport: Number(cportText),
      flags: flags.split(','),
      primaryId: primary === '-' ? null : primary,
      configEpoch: Number(epoch),
      linkState: link,
      slots: [],
      migrating: new Map(),
      importing: new Map(),
    };
    for (const tok of slotTokens) {
      if (tok.startsWith('[')) {
        const m = /^\[(\d+)-([<>])-([0-9a-f]+)\]$/.exec(tok);
        if (m === null) continue;
        (m[2] === '>' ? rec.migrating : rec.importing).set(Number(m[1]), m[3]!);
        continue;
      }
      const dash = tok.indexOf('-');
      const from = Number(dash < 0 ? tok : tok.slice(0, dash));
      const to = Number(dash < 0 ? tok : tok.slice(dash + 1));
      for (let s = from; s <= to && s < SLOT_COUNT; s++) rec.slots.push(s);
    }
    rec.slots.sort((a, b) => a - b);
    out.push(rec);
  }
  return out;
}

/**
 * The config signature redis-cli compares to decide that nodes agree: for every node with slots,
 * "id:range,range" with the ranges as printed and sorted as strings, the lines sorted and joined
 * by "|". Open-slot brackets are not part of it.
 */
export function configSignature(nodesText: string): string {
  const configs: string[] = [];
  for (const line of nodesText.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length <= 8) continue;
    const slots = f.slice(8).filter((t) => t !== '' && !t.startsWith('['));
    if (slots.length === 0) continue;
    configs.push(`${f[0]}:${slots.sort(strcmp).join(',')}`);
  }
  return configs.sort(strcmp).join('|');
}

function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRoleFlag(flag: string): boolean {
  return flag === 'master' || flag === 'slave';
}

export function isPrimary(rec: { flags: readonly string[] }): boolean {
  return rec.flags.includes('master');
}

/** One node of a loaded topology. */
export interface ClusterNode {
  id: string;
  address: Address;
  addr: string;
  /** master/slave from the node's own myself line when reachable; the rest (pfail/fail, about
   * reachability) as the entry node sees them. */
  flags: string[];
  primaryId: string | null;
  configEpoch: number;
  /** From the node's own myself line when reachable, else from the entry's view. */
  slots: number[];
  migrating: Map<number, string>;
  importing: Map<number, string>;
  client: AdminClient | null;
  error: string | null;
  /** The node's own CLUSTER NODES, its config signature and how many nodes it knows. */
  nodesText: string | null;
  signature: string | null;
  knownIds: Set<string>;
}

export interface Topology {
  entry: ClusterNode;
  nodes: ClusterNode[];
  /** Slot -> owner id, from the nodes' own claims (null: uncovered). */
  owners: Array<string | null>;
  /** Slots claimed by more than one node. */
  conflicts: Array<{ slot: number; ids: string[] }>;
}

/** A node's own view: its CLUSTER NODES text and the record for itself. */
export async function fetchOwnView(client: AdminClient): Promise<{ text: string; records: NodeRecord[]; myself: NodeRecord }> {
  const text = await client.callString(['CLUSTER', 'NODES']);
  const records = parseClusterNodes(text);
  const myself = records.find((r) => r.flags.includes('myself'));
  if (myself === undefined) throw new NodeError(client.address, 'reply', 'CLUSTER NODES has no myself line');
  return { text, records, myself };
}

/** Fails with an OperationError unless INFO cluster says cluster_enabled:1. */
export async function requireClusterEnabled(client: AdminClient): Promise<void> {
  const info = await client.info('cluster');
  if (info.get('cluster_enabled') !== '1') throw new OperationError(`${client.address} is not configured as a cluster node (cluster_enabled is not 1)`);
}

/**
 * Loads the cluster from `entry`: the entry must answer; other nodes that cannot be reached are
 * kept with `error` set (and the entry's view of their slots).
 */
export async function loadTopology(pool: AdminPool, entry: Address): Promise<Topology> {
  const entryClient = await pool.get(entry);
  await requireClusterEnabled(entryClient);
  const view = await fetchOwnView(entryClient);
  const listed = view.records.filter((r) => !r.flags.includes('handshake') && !r.flags.includes('noaddr'));
  const nodes = await Promise.all(
    listed.map(async (rec): Promise<ClusterNode> => {
      const isMe = rec.flags.includes('myself');
      const address = isMe || rec.host === '' ? entry : { host: rec.host, port: rec.port };
      const node: ClusterNode = {
        id: rec.id,
        address,
        addr: formatAddress(address),
        flags: rec.flags.filter((f) => f !== 'myself'),
        primaryId: rec.primaryId,
        configEpoch: rec.configEpoch,
        slots: rec.slots,
        migrating: rec.migrating,
        importing: rec.importing,
        client: null,
        error: null,
        nodesText: null,
        signature: null,
        knownIds: new Set(),
      };
      try {
        const client = isMe ? entryClient : await pool.get(address);
        const own = isMe ? view : await fetchOwnView(client);
        if (own.myself.id !== rec.id) throw new NodeError(client.address, 'reply', `answers as node ${own.myself.id}, expected ${rec.id}`);
        node.client = client;
        // The node's role too: a Redis primary that lost its last slot makes itself a replica at
        // once, and the entry may not have heard yet. Reachability flags stay the entry's.
        node.flags = [...own.myself.flags.filter(isRoleFlag), ...node.flags.filter((f) => !isRoleFlag(f))];
        node.primaryId = own.myself.primaryId;
        node.slots = own.myself.slots;
        node.migrating = own.myself.migrating;
        node.importing = own.myself.importing;
        node.configEpoch = own.myself.configEpoch;
        node.nodesText = own.text;
        node.signature = configSignature(own.text);
        node.knownIds = new Set(own.records.filter((r) => !r.flags.includes('handshake')).map((r) => r.id));
      } catch (err) {
        node.error = err instanceof Error ? err.message : String(err);
      }
      return node;
    }),
  );
  // The entry first, then by address, so that listings are stable from run to run.
  nodes.sort((a, b) => (a.id === view.myself.id ? -1 : b.id === view.myself.id ? 1 : a.address.host.localeCompare(b.address.host) || a.address.port - b.address.port));
  const entryNode = nodes.find((n) => n.id === view.myself.id);
  if (entryNode === undefined) throw new OperationError(`${formatAddress(entry)} does not list itself`);
  const owners: Array<string | null> = new Array<string | null>(SLOT_COUNT).fill(null);
  const claims = new Map<number, string[]>();
  for (const n of nodes) {
    if (!isPrimary(n)) continue;
    for (const s of n.slots) {
      const prev = owners[s];
      if (prev !== null && prev !== undefined) claims.set(s, [...(claims.get(s) ?? [prev]), n.id]);
      else owners[s] = n.id;
    }
  }
  const conflicts = [...claims].map(([slot, ids]) => ({ slot, ids }));
  return { entry: entryNode, nodes, owners, conflicts };
}

export function primaries(t: Topology): ClusterNode[] {
  return t.nodes.filter(isPrimary);
}

export function nodeById(t: Topology, id: string): ClusterNode {
  const n = t.nodes.find((x) => x.id === id);
  if (n === undefined) throw new OperationError(`no node ${id} in the cluster`);
  return n;
}

/** A node named by id, unique id prefix, or host:port. */
export function findNode(t: Topology, spec: string): ClusterNode {
  const byAddr = t.nodes.filter((n) => n.addr === spec || `${n.address.host}:${n.address.port}` === spec);
  if (byAddr.length === 1) return byAddr[0]!;
  const byId = t.nodes.filter((n) => n.id.startsWith(spec.toLowerCase()));
  if (byId.length === 1 && spec.length >= 4) return byId[0]!;
  if (byId.length > 1) throw new UsageError(`'${spec}' matches ${byId.length} nodes; give more of the id`);
  throw new UsageError(`no node '${spec}' in the cluster (give a node id, an id prefix of 4+ characters, or host:port)`);
}

/** The node's reachable client, or an OperationError saying it is unreachable. */
export function clientOf(n: ClusterNode): AdminClient {
  if (n.client === null) throw new OperationError(`node ${n.addr} (${n.id}) is unreachable: ${n.error ?? 'no connection'}`);
  return n.client;
}

/** Open slots per node: every migrating/importing mark. */
export function openSlots(t: Topology): Map<number, { migrating: ClusterNode[]; importing: ClusterNode[] }> {
  const out = new Map<number, { migrating: ClusterNode[]; importing: ClusterNode[] }>();
  const entry = (s: number): { migrating: ClusterNode[]; importing: ClusterNode[] } => {
    let e = out.get(s);
    if (e === undefined) out.set(s, (e = { migrating: [], importing: [] }));
    return e;
  };
  for (const n of t.nodes) {
    for (const s of n.migrating.keys()) entry(s).migrating.push(n);
    for (const s of n.importing.keys()) entry(s).importing.push(n);
  }
  return out;
}
