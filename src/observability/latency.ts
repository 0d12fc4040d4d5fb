// Per-command execution-time histograms in Prometheus's fixed buckets, by command index: derived
// when a snapshot is taken from the fine histograms of command-stats.ts (nothing is recorded
// twice), kept as one Float64Array per report for readers of ShardStatsReport.latency.

import type { CommandStatsSnapshot } from '../core/types.js';
import { HIST_BUCKETS, bucketLow, bucketWidth } from './log-histogram.js';

/** Upper bounds of the buckets, seconds (Prometheus `le`); a last bucket holds the rest. From 1 us
 * (a shard's GET) to 1 s, about 1-2.5-5 per decade. */
export const LATENCY_BUCKETS_S = [
  1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1,
] as const;
/** Per command: one count per bucket, the +Inf bucket, then the sum of seconds. */
export const LATENCY_STRIDE = LATENCY_BUCKETS_S.length + 2;

/** Fine bucket -> Prometheus bucket: the first `le` at or above the fine bucket's top value (so a
 * count is never put under a bound below its value; at worst 1/64 of a bound is counted above it). */
const COARSE_OF = (() => {
  const m = new Uint8Array(HIST_BUCKETS);
  for (let b = 0; b < HIST_BUCKETS; b++) {
    const topS = (bucketLow(b) + bucketWidth(b) - 1) / 1e9;
    let c = 0;
    while (c < LATENCY_BUCKETS_S.length && topS > LATENCY_BUCKETS_S[c]! * (1 + 1e-9)) c++;
    m[b] = c;
  }
  return m;
})();

/** Adds histogram `h` (HIST_BUCKETS counts from `base`) into `out` at `at` in Prometheus buckets. */
export function addCoarse(out: Float64Array, at: number, h: Float64Array, base: number): void {
  for (let b = 0; b < HIST_BUCKETS; b++) {
    const n = h[base + b]!;
    if (n !== 0) out[at + COARSE_OF[b]!]! += n;
  }
}

/** ShardStatsReport.latency of a snapshot: by command index (`commandOf` maps a stat id to it). */
export function coarseLatency(s: CommandStatsSnapshot, commandOf: readonly number[], commands: number): Float64Array {
  const out = new Float64Array(commands * LATENCY_STRIDE);
  for (let slot = 0; slot < s.histIds.length; slot++) {
    const id = s.histIds[slot]!;
    const at = commandOf[id]! * LATENCY_STRIDE;
    addCoarse(out, at, s.hist, slot * HIST_BUCKETS);
  }
  for (let id = 0; id < s.usec.length; id++) {
    if (s.usec[id] !== 0) out[commandOf[id]! * LATENCY_STRIDE + LATENCY_STRIDE - 1]! += s.usec[id]! / 1e6;
  }
  return out;
}
