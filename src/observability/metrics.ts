// Prometheus metrics (prom-client): what the server already counts, read once per scrape. A scrape
// takes one snapshot (shard statistics over the control ports, the main thread's counters) and the
// metrics below render it; nothing is counted twice and the data path pays nothing for metrics
// beyond the per-command statistics INFO reads too (observability/command-stats.ts). Labels are
// bounded: `command` takes names from the command table, `prefix` at most 128 error prefixes.

import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { ServerStats, ShardStatsReport } from '../core/types.js';
import { LATENCY_BUCKETS_S, LATENCY_STRIDE, addCoarse } from './latency.js';
import type { MergedCommandStats } from './command-stats.js';
import { totalHistogram } from './command-stats.js';

export interface MetricsSnapshot {
  uptimeSeconds: number;
  server: ServerStats;
  shards: ShardStatsReport[];
  /** Requests in flight per shard (its ring and overflow queue). */
  inFlight: number[];
  /** Every thread's per-command statistics summed (RESP commands by stat name). */
  commands: MergedCommandStats;
  memcacheCommands: Map<string, number>;
  memcacheConnections: { current: number; total: number };
  httpRequests: Map<string, number>;
}

type Sample = { labels?: Record<string, string | number>; value: number; metricName?: string };
type Kind = 'counter' | 'gauge' | 'histogram';

/** A metric whose samples are computed from the scrape's snapshot. */
function snapshotMetric(registry: Registry, name: string, help: string, type: Kind, samples: (s: MetricsSnapshot) => Sample[], current: () => MetricsSnapshot | null): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => {
      const s = current();
      return Promise.resolve({ name, help, type, aggregator: 'sum', values: s ? samples(s) : [] });
    },
    reset: () => undefined,
  };
  // prom-client renders any object with name/help/type and get(); its Metric type lists only its
  // own classes, so the object is registered through a cast.
  registry.registerMetric(metric as unknown as Metric);
}

/** The samples of one histogram series from its counts per bucket (LATENCY_BUCKETS_S, then +Inf);
 * nothing for an empty one. */
function histogramSamples(out: Sample[], name: string, labels: Record<string, string | number>, counts: Float64Array, sumSeconds: number): void {
  const nb = LATENCY_BUCKETS_S.length;
  let total = 0;
  for (let b = 0; b <= nb; b++) total += counts[b]!;
  if (total === 0) return;
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    acc += counts[b]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: LATENCY_BUCKETS_S[b]! }, value: acc });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: total });
  out.push({ metricName: `${name}_sum`, labels, value: sumSeconds });
  out.push({ metricName: `${name}_count`, labels, value: total });
}

export class Metrics {
  readonly registry = new Registry();
  private current: MetricsSnapshot | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const cur = (): MetricsSnapshot | null => this.current;
    const sum = (s: MetricsSnapshot, f: (r: ShardStatsReport) => number): number => s.shards.reduce((n, r) => n + f(r), 0);
    const perShard = (f: (r: ShardStatsReport) => number) => (s: MetricsSnapshot): Sample[] =>
      s.shards.map((r) => ({ labels: { shard: r.shardId }, value: f(r) }));
    const m = (name: string, help: string, type: Kind, samples: (s: MetricsSnapshot) => Sample[]): void =>
      snapshotMetric(this.registry, name, help, type, samples, cur);

    m('tessera_uptime_seconds', 'Seconds since the server started.', 'gauge', (s) => [{ value: s.uptimeSeconds }]);
    m('tessera_connected_clients', 'Open client connections by protocol.', 'gauge', (s) => [
      { labels: { protocol: 'resp' }, value: s.server.connectedClients },
      { labels: { protocol: 'memcache' }, value: s.memcacheConnections.current },
    ]);
    m('tessera_connections_received_total', 'Connections accepted by protocol.', 'counter', (s) => [
      { labels: { protocol: 'resp' }, value: s.server.totalConnectionsReceived },
      { labels: { protocol: 'memcache' }, value: s.memcacheConnections.total },
    ]);
    m('tessera_rejected_connections_total', 'RESP connections refused (maxclients).', 'counter', (s) => [{ value: s.server.rejectedConnections }]);
    m('tessera_guard_total', 'Refusals and limits of the guard (docs/security-guard.md), every door together.', 'counter', (s) => [
      { labels: { event: 'protected_mode_refused' }, value: s.server.protectedModeRefused },
      { labels: { event: 'connections_rate_refused' }, value: s.server.connectionsRateRefused },
      { labels: { event: 'rate_limited_requests' }, value: s.server.rateLimitedRequests },
      { labels: { event: 'bandwidth_limited_pauses' }, value: s.server.bandwidthLimitedPauses },
      { labels: { event: 'user_maxclients_refused' }, value: s.server.userMaxclientsRefused },
    ]);
    m('tessera_net_input_bytes_total', 'Bytes read from RESP clients.', 'counter', (s) => [{ value: s.server.totalNetInputBytes }]);
    m('tessera_commands_total', 'RESP commands by name (subcommands as config|get) and outcome: call (ran), rejected (refused before running), failed (ran and replied an error).', 'counter', (s) => {
      const out: Sample[] = [];
      const c = s.commands;
      const t = c.table;
      for (let i = 0; i < t.size; i++) {
        if (t.hidden[i] === 1 || (c.calls[i] === 0 && c.rejected[i] === 0)) continue;
        const name = t.names[i]!;
        out.push({ labels: { command: name, outcome: 'call' }, value: c.calls[i]! });
        if (c.rejected[i]! > 0) out.push({ labels: { command: name, outcome: 'rejected' }, value: c.rejected[i]! });
        if (c.failed[i]! > 0) out.push({ labels: { command: name, outcome: 'failed' }, value: c.failed[i]! });
      }
      return out;
    });
    m('tessera_error_replies_total', 'Error replies by prefix (ERR, WRONGTYPE, MOVED...), every thread together (INFO errorstats).', 'counter', (s) =>
      [...s.commands.errors].filter(([, n]) => n > 0).map(([prefix, n]) => ({ labels: { prefix }, value: n })));
    m('tessera_memcache_commands_total', 'memcached-protocol commands by name (and refusals: too_large, protocol_error, unknown, auth_error).', 'counter', (s) =>
      [...s.memcacheCommands].map(([name, n]) => ({ labels: { command: name }, value: n })));
    m('tessera_http_requests_total', 'HTTP requests by route and status.', 'counter', (s) =>
      [...s.httpRequests].map(([k, n]) => {
        const [route, status] = k.split(' ');
        return { labels: { route: route ?? '', status: status ?? '' }, value: n };
      }));
    m('tessera_command_duration_seconds', 'Time spent executing each command where it runs (a shard, or the main thread), every thread together; internal __mc = one memcached request. Recorded while latency-tracking is yes.', 'histogram', (s) => {
      const out: Sample[] = [];
      const c = s.commands;
      const coarse = new Float64Array(LATENCY_STRIDE);
      for (const [id, h] of c.hist) {
        coarse.fill(0);
        addCoarse(coarse, 0, h, 0);
        histogramSamples(out, 'tessera_command_duration_seconds', { command: c.table.names[id]! }, coarse, c.usec[id]! / 1e6);
      }
      return out;
    });
    m('tessera_shard_command_duration_seconds', 'Time each shard spends executing commands, all commands together (recorded while latency-tracking is yes).', 'histogram', (s) => {
      const out: Sample[] = [];
      const coarse = new Float64Array(LATENCY_STRIDE);
      for (const r of s.shards) {
        if (!r.commands) continue;
        coarse.fill(0);
        addCoarse(coarse, 0, totalHistogram(r.commands), 0);
        let usec = 0;
        for (const u of r.commands.usec) usec += u;
        histogramSamples(out, 'tessera_shard_command_duration_seconds', { shard: r.shardId }, coarse, usec / 1e6);
      }
      return out;
    });
    m('tessera_keyspace_hits_total', 'Key lookups that found the key.', 'counter', (s) => [{ value: sum(s, (r) => r.keyspaceHits) }]);
    m('tessera_keyspace_misses_total', 'Key lookups that did not.', 'counter', (s) => [{ value: sum(s, (r) => r.keyspaceMisses) }]);
    m('tessera_keys', 'Keys per shard.', 'gauge', perShard((r) => r.keys));
    m('tessera_keys_with_expiry', 'Keys with a TTL per shard.', 'gauge', perShard((r) => r.expires));
    m('tessera_memory_used_bytes', 'Exact bytes allocated in each shard arena (entries and index).', 'gauge', perShard((r) => r.usedMemory));
    m('tessera_arena_bytes', 'Bytes committed for each shard arena.', 'gauge', perShard((r) => r.arenaBytes));
    m('tessera_evicted_keys_total', 'Keys evicted under maxmemory.', 'counter', (s) => [{ value: sum(s, (r) => r.evictedKeys) }]);
    m('tessera_expired_keys_total', 'Keys removed because their TTL passed.', 'counter', (s) => [{ value: sum(s, (r) => r.expiredKeys) }]);
    m('tessera_shard_commands_total', 'Commands executed by each shard.', 'counter', perShard((r) => r.commandsProcessed));
    m('tessera_shard_busy_seconds_total', 'Seconds each shard spent executing commands.', 'counter', perShard((r) => r.busyMs / 1000));
    m('tessera_shard_restarts_total', 'Shard worker restarts.', 'counter', perShard((r) => r.restarts));
    m('tessera_shard_inflight_requests', 'Requests queued to each shard and not yet answered (ring depth).', 'gauge', (s) =>
      s.inFlight.map((n, i) => ({ labels: { shard: i }, value: n })));
  }

  /** Renders the metrics of `snapshot` in Prometheus's text format. */
  async render(snapshot: MetricsSnapshot): Promise<string> {
    this.current = snapshot;
    try {
      return await this.registry.metrics();
    } finally {
      this.current = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
