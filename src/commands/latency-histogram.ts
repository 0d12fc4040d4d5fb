// LATENCY HISTOGRAM [command ...]: every thread's per-command latency histograms summed, in Redis
// 7.0's reply (a map of command -> {calls, histogram_usec: {bucket: cumulative count}}, buckets
// at the powers of two from 1 us). A container named lists each of its subcommands.

import type { MainCall } from './types.js';
import type { MergedCommandStats } from '../observability/command-stats.js';
import { histTotal, powerOfTwoCdf } from '../observability/log-histogram.js';
import { argString } from './args.js';

/** Stat ids LATENCY HISTOGRAM reports for its arguments (first = index of the first name): all
 * commands with a histogram when none is named; unknown names are skipped, as Redis. */
export function histogramIds(s: MergedCommandStats, names: readonly string[]): number[] {
  const has = (id: number): boolean => s.table.hidden[id] === 0 && s.hist.has(id) && histTotal(s.hist.get(id)!) > 0;
  if (names.length === 0) return [...s.hist.keys()].filter(has).sort((a, b) => a - b);
  const ids: number[] = [];
  for (const raw of names) {
    const name = raw.toLowerCase();
    const id = s.table.byName.get(name);
    if (id === undefined || s.table.hidden[id] === 1) continue;
    if (has(id)) ids.push(id);
    // A container: its subcommands follow it in the table, named `<name>|<sub>`.
    if (!name.includes('|')) {
      for (let sub = id + 1; sub < s.table.size && s.table.names[sub]!.startsWith(`${name}|`); sub++) if (has(sub)) ids.push(sub);
    }
  }
  return ids;
}

/** Writes the reply for the ids of `histogramIds`. */
export function writeLatencyHistogram(m: MainCall, s: MergedCommandStats, ids: readonly number[]): void {
  const out = m.out;
  out.map(ids.length);
  for (const id of ids) {
    const h = s.hist.get(id)!;
    const cdf = powerOfTwoCdf(h);
    out.bulkString(s.table.names[id]!);
    out.map(2);
    out.bulkString('calls');
    out.integer(histTotal(h));
    out.bulkString('histogram_usec');
    out.map(cdf.length);
    for (const [usec, count] of cdf) {
      out.integer(usec);
      out.integer(count);
    }
  }
}

/** The LATENCY HISTOGRAM handler (argument 1 is HISTOGRAM): for the LATENCY family to call. */
export async function latencyHistogram(m: MainCall): Promise<void> {
  const shards = await m.server.shardStats();
  const s = m.server.mergedCommandStats(shards);
  const names = Array.from({ length: m.args.argc - 2 }, (_, i) => argString(m.args, i + 2));
  writeLatencyHistogram(m, s, histogramIds(s, names));
}
