// INFO commandstats, latencystats and errorstats (and the error totals of INFO stats) from every
// thread's per-command statistics summed (observability/command-stats.ts), in Redis 7.0's formats.
// Commands appear once called or rejected; internal commands (hidden) never do.

import type { MergedCommandStats } from '../observability/command-stats.js';
import { histTotal, valueAtPercentile } from '../observability/log-histogram.js';

/** `cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..` lines. */
export function commandstatsLines(m: MergedCommandStats): string[] {
  const out: string[] = [];
  const t = m.table;
  for (let i = 0; i < t.size; i++) {
    if (t.hidden[i] === 1) continue;
    const calls = m.calls[i]!;
    const rejected = m.rejected[i]!;
    if (calls === 0 && rejected === 0) continue;
    const usec = Math.round(m.usec[i]!);
    const per = calls > 0 ? (m.usec[i]! / calls).toFixed(2) : '0.00';
    out.push(`cmdstat_${t.names[i]!}:calls=${calls},usec=${usec},usec_per_call=${per},rejected_calls=${rejected},failed_calls=${m.failed[i]!}`);
  }
  return out;
}

/** A percentile as Redis names it: "%f" with trailing zeros (and point) trimmed. */
function percentileName(p: number): string {
  return p.toFixed(6).replace(/\.?0+$/, '');
}

/** `latency_percentiles_usec_<name>:p50=..,p99=..,p99.9=..` lines (microseconds, 3 decimals);
 * none while latency-tracking is off, as Redis. */
export function latencystatsLines(m: MergedCommandStats, tracking: boolean, percentiles: readonly number[]): string[] {
  if (!tracking) return [];
  const out: string[] = [];
  const names = percentiles.map(percentileName);
  const ids = [...m.hist.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    if (m.table.hidden[id] === 1) continue;
    const h = m.hist.get(id)!;
    const total = histTotal(h);
    if (total === 0) continue;
    const fields = percentiles.map((p, i) => `p${names[i]!}=${(valueAtPercentile(h, p, 0, total) / 1000).toFixed(3)}`);
    out.push(`latency_percentiles_usec_${m.table.names[id]!}:${fields.join(',')}`);
  }
  return out;
}

/** `errorstat_<PREFIX>:count=N` lines, by prefix in byte order (Redis keeps them in a radix tree). */
export function errorstatsLines(m: MergedCommandStats): string[] {
  return [...m.errors]
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([prefix, n]) => `errorstat_${prefix}:count=${n}`);
}
