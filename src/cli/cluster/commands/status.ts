// `tessera cluster status`: one row per node (id, address, role, flags, slots, keys, memory, ops/s,
// health) or one JSON object, then the role changes (failovers, replica moves) the nodes saw, from
// Tessera's CLUSTER FAILOVERS (skipped on servers without it). Ops/s is INFO stats instantaneous_ops_per_sec where the server has
// it, else derived from total_commands_processed sampled twice a second apart (skipped with
// --no-ops). Exit 1 when a node is unreachable or a node's cluster_state is not ok.

import { expectPositionals, hasFlag, parseAddress, type ParsedArgs } from '../args.js';
import { messageOf, parseInfo, type AdminPool } from '../admin-client.js';
import type { ClusterCommand } from '../command.js';
import { out } from '../output.js';
import { formatRanges, toRanges } from '../slots.js';
import { isPrimary, loadTopology, type ClusterNode } from '../topology.js';

const OPS_SAMPLE_MS = 1_000;

export interface NodeStatus {
  id: string;
  addr: string;
  role: 'primary' | 'replica';
  primaryId: string | null;
  flags: string[];
  slots: number;
  ranges: string;
  reachable: boolean;
  error: string | null;
  clusterState: string | null;
  keys: number | null;
  usedMemoryBytes: number | null;
  opsPerSec: number | null;
  /** Where opsPerSec came from. */
  opsSource: 'instantaneous' | 'sampled' | 'none';
  migrating: number[];
  importing: number[];
}

/** One role change, as the node that made it (or saw it) logged it. */
export interface RoleChange {
  timeMs: number;
  kind: string;
  /** The node that became (or is followed as) primary. */
  primaryId: string;
  /** The old primary (failovers) or the replica that moved (replicate, migrate, demoted). */
  nodeId: string;
  epoch: number;
  /** Address of the node that logged it. */
  seenBy: string;
}

export interface ClusterStatus {
  ok: boolean;
  entry: string;
  clusterState: string | null;
  slotsAssigned: number;
  nodes: NodeStatus[];
  /** Oldest first, at most MAX_CHANGES. */
  roleChanges: RoleChange[];
}

const MAX_CHANGES = 20;

export const statusCommand: ClusterCommand = {
  name: 'status',
  summary: 'nodes, slots, keys, memory, ops/s and health',
  usage: 'tessera cluster status HOST:PORT [--json] [--no-ops]',
  details: [
    'One row per node: id, address, role, flags, slots (count and ranges), keys (DBSIZE), memory',
    '(INFO used_memory), ops/s and health (reachable, cluster_state, pfail/fail flags).',
    'Exit status 1 when a node is unreachable or its cluster_state is not ok.',
    '',
    '  --json     print one JSON object instead of the table',
    '  --no-ops   do not sample total_commands_processed for ops/s when the server lacks',
    '             instantaneous_ops_per_sec (saves a second)',
  ],
  flags: { json: 'bool', 'no-ops': 'bool' },
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    const [entry] = expectPositionals(args, 1, 'HOST:PORT');
    const status = await collectStatus(pool, parseAddress(entry!), !hasFlag(args, 'no-ops'));
    if (hasFlag(args, 'json')) out(JSON.stringify(status));
    else out(renderStatus(status));
    return status.ok ? 0 : 1;
  },
};

export async function collectStatus(pool: AdminPool, entry: { host: string; port: number }, sampleOps: boolean): Promise<ClusterStatus> {
  const t = await loadTopology(pool, entry);
  const rows = await Promise.all(t.nodes.map((n) => nodeStatus(n)));
  const needSample = rows.filter((r) => r.row.reachable && r.row.opsSource === 'none' && r.commandsBefore !== null);
  if (sampleOps && needSample.length > 0) {
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, OPS_SAMPLE_MS));
    await Promise.all(
      needSample.map(async (r) => {
        try {
          const stats = await r.node.client!.info('stats');
          const after = Number(stats.get('total_commands_processed'));
          const seconds = (Date.now() - started) / 1000;
          // Our own INFO between the two samples counts as one command.
          r.row.opsPerSec = Math.max(0, Math.round((after - r.commandsBefore! - 1) / seconds));
          r.row.opsSource = 'sampled';
        } catch {
          // leave ops/s unknown
        }
      }),
    );
  }
  const nodes = rows.map((r) => r.row);
  const entryRow = nodes.find((n) => n.id === t.entry.id);
  const slotsAssigned = t.owners.filter((o) => o !== null).length;
  const ok = nodes.every((n) => n.reachable && n.clusterState === 'ok');
  const roleChanges = await collectRoleChanges(t.nodes);
  return { ok, entry: t.entry.addr, clusterState: entryRow?.clusterState ?? null, slotsAssigned, nodes, roleChanges };
}

/** Every reachable node's CLUSTER FAILOVERS, merged (a change logged by two nodes counts once). */
async function collectRoleChanges(nodes: readonly ClusterNode[]): Promise<RoleChange[]> {
  const seen = new Map<string, RoleChange>();
  await Promise.all(
    nodes.map(async (n) => {
      if (n.client === null) return;
      let lines: unknown;
      try {
        lines = await n.client.call(['CLUSTER', 'FAILOVERS']);
      } catch {
        return; // not Tessera, or an older one
      }
      if (!Array.isArray(lines)) return;
      for (const l of lines) {
        const [time, kind, primaryId, nodeId, epoch] = String(l).split(' ');
        if (epoch === undefined) continue;
        const key = `${kind} ${primaryId} ${nodeId} ${epoch}`;
        if (!seen.has(key)) seen.set(key, { timeMs: Number(time), kind: kind!, primaryId: primaryId!, nodeId: nodeId!, epoch: Number(epoch), seenBy: n.addr });
      }
    }),
  );
  return [...seen.values()].sort((a, b) => a.timeMs - b.timeMs).slice(-MAX_CHANGES);
}

function describeChange(c: RoleChange, addrOf: (id: string) => string): string {
  const when = new Date(c.timeMs).toISOString();
  const p = addrOf(c.primaryId);
  const n = addrOf(c.nodeId);
  switch (c.kind) {
    case 'failover':
    case 'manual':
    case 'force':
    case 'takeover':
      return `${when} ${c.kind === 'failover' ? 'automatic failover' : `CLUSTER FAILOVER ${c.kind === 'manual' ? '' : c.kind.toUpperCase()}`.trim()}: ${p} replaced ${n} as primary (epoch ${c.epoch})`;
    case 'demoted':
      return `${when} old primary ${n} rejoined as a replica of ${p} (epoch ${c.epoch})`;
    case 'migrate':
      return `${when} replica ${n} migrated to orphaned primary ${p}`;
    default:
      return `${when} ${n} became a replica of ${p}`;
  }
}

async function nodeStatus(n: ClusterNode): Promise<{ node: ClusterNode; row: NodeStatus; commandsBefore: number | null }> {
  const row: NodeStatus = {
    id: n.id,
    addr: n.addr,
    role: isPrimary(n) ? 'primary' : 'replica',
    primaryId: n.primaryId,
    flags: n.flags,
    slots: n.slots.length,
    ranges: formatRanges(toRanges(n.slots)),
    reachable: n.client !== null,
    error: n.error,
    clusterState: null,
    keys: null,
    usedMemoryBytes: null,
    opsPerSec: null,
    opsSource: 'none',
    migrating: [...n.migrating.keys()],
    importing: [...n.importing.keys()],
  };
  let commandsBefore: number | null = null;
  if (n.client === null) return { node: n, row, commandsBefore };
  try {
    const [clusterInfo, keys, memory, stats] = await Promise.all([
      n.client.callString(['CLUSTER', 'INFO']),
      n.client.callInteger(['DBSIZE']),
      n.client.info('memory'),
      n.client.info('stats'),
    ]);
    row.clusterState = parseInfo(clusterInfo).get('cluster_state') ?? null;
    row.keys = keys;
    const used = Number(memory.get('used_memory'));
    row.usedMemoryBytes = Number.isFinite(used) ? used : null;
    const instant = stats.get('instantaneous_ops_per_sec');
    if (instant !== undefined && Number.isFinite(Number(instant))) {
      row.opsPerSec = Number(instant);
      row.opsSource = 'instantaneous';
    } else {
      const total = Number(stats.get('total_commands_processed'));
      commandsBefore = Number.isFinite(total) ? total : null;
    }
  } catch (e) {
    row.reachable = false;
    row.error = messageOf(e);
  }
  return { node: n, row, commandsBefore };
}

function health(n: NodeStatus): string {
  if (!n.reachable) return 'unreachable';
  const problems: string[] = [];
  if (n.clusterState !== 'ok') problems.push(`cluster_state:${n.clusterState ?? '?'}`);
  if (n.flags.includes('fail')) problems.push('fail');
  else if (n.flags.includes('fail?') || n.flags.includes('pfail')) problems.push('pfail');
  if (n.migrating.length > 0) problems.push(`migrating:${n.migrating.length}`);
  if (n.importing.length > 0) problems.push(`importing:${n.importing.length}`);
  return problems.length === 0 ? 'ok' : problems.join(',');
}

export function humanBytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(2)}${units[u]}`;
}

export function renderStatus(s: ClusterStatus): string {
  const header = ['ID', 'ADDRESS', 'ROLE', 'FLAGS', 'SLOTS', 'RANGES', 'KEYS', 'MEMORY', 'OPS/S', 'HEALTH'];
  const rows = s.nodes.map((n) => [
    n.id.slice(0, 8),
    n.addr,
    n.role === 'replica' ? `replica of ${n.primaryId?.slice(0, 8) ?? '?'}` : n.role,
    n.flags.join(',') || '-',
    String(n.slots),
    n.ranges.length > 40 ? `${n.ranges.slice(0, 37)}...` : n.ranges,
    n.keys === null ? '-' : String(n.keys),
    humanBytes(n.usedMemoryBytes),
    n.opsPerSec === null ? '-' : String(n.opsPerSec),
    health(n),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const totalKeys = s.nodes.reduce((k, n) => k + (n.keys ?? 0), 0);
  const addrOf = (id: string): string => {
    const n = s.nodes.find((x) => x.id === id);
    return n ? `${n.addr} (${id.slice(0, 8)})` : id.slice(0, 8);
  };
  const changes = s.roleChanges.length === 0 ? [] : ['', 'Role changes (oldest first):', ...s.roleChanges.map((c) => `  ${describeChange(c, addrOf)}`)];
  return [
    line(header),
    ...rows.map(line),
    '',
    `cluster_state: ${s.clusterState ?? 'unknown'} (from ${s.entry}); slots assigned: ${s.slotsAssigned}/16384; ` +
      `nodes: ${s.nodes.length} (${s.nodes.filter((n) => !n.reachable).length} unreachable); keys: ${totalKeys}; ${s.ok ? 'OK' : 'NOT OK'}`,
    ...changes,
  ].join('\n');
}
