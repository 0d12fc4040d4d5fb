// The node's time series for live charts: one sample a second, the last SERIES_MAX (10 minutes),
// in typed arrays (a full ring allocates nothing per sample). Latency percentiles come from the
// shards' per-command histograms (latency.ts): the bucket counts summed over commands and shards,
// minus the previous sample's, so each sample covers its own second only. Pure: the sampler that
// feeds it (dashboard-api.ts) owns the timer and the I/O.

import { LATENCY_BUCKETS_S, LATENCY_STRIDE } from './latency.js';

export const SERIES_MAX = 600;
export const SERIES_INTERVAL_MS = 1000;
/** Buckets of the summed histogram: LATENCY_BUCKETS_S, then +Inf. */
const BUCKETS = LATENCY_BUCKETS_S.length + 1;

export interface SeriesSample {
  /** Milliseconds since the epoch. */
  t: number;
  opsPerSec: number;
  /** null: no command finished in that second. */
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  usedMemory: number;
  rss: number;
}

/** Sums bucket counts of every command of a shard's histogram (latency.ts layout) into `into`. */
export function addBuckets(latency: Float64Array, into: Float64Array): void {
  for (let base = 0; base + LATENCY_STRIDE <= latency.length; base += LATENCY_STRIDE) {
    for (let b = 0; b < BUCKETS; b++) into[b]! += latency[base + b]!;
  }
}

/** The q-quantile (0..1) in microseconds of bucket counts, interpolated linearly inside its
 * bucket; the +Inf bucket answers its lower bound. null when the counts are all zero. */
export function quantileUs(counts: Float64Array, q: number): number | null {
  let total = 0;
  for (let b = 0; b < BUCKETS; b++) total += counts[b]!;
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = counts[b]!;
    if (c > 0 && seen + c >= rank) {
      const lo = b === 0 ? 0 : LATENCY_BUCKETS_S[b - 1]!;
      if (b >= LATENCY_BUCKETS_S.length) return Math.round(lo * 1e6);
      const hi = LATENCY_BUCKETS_S[b]!;
      return Math.round((lo + ((hi - lo) * (rank - seen)) / c) * 1e6 * 10) / 10;
    }
    seen += c;
  }
  return Math.round(LATENCY_BUCKETS_S[LATENCY_BUCKETS_S.length - 1]! * 1e6);
}

export class Series {
  private readonly t = new Float64Array(SERIES_MAX);
  private readonly ops = new Float64Array(SERIES_MAX);
  private readonly p50 = new Float64Array(SERIES_MAX);
  private readonly p99 = new Float64Array(SERIES_MAX);
  private readonly p999 = new Float64Array(SERIES_MAX);
  private readonly used = new Float64Array(SERIES_MAX);
  private readonly rss = new Float64Array(SERIES_MAX);
  /** Samples ever added; the newest is at (count - 1) % SERIES_MAX. */
  private count = 0;
  /** Previous cumulative figures, for the deltas. */
  private readonly prevBuckets = new Float64Array(BUCKETS);
  private readonly curBuckets = new Float64Array(BUCKETS);
  private readonly delta = new Float64Array(BUCKETS);
  private prevCommands = -1;
  private prevMs = 0;

  /**
   * Adds the sample at `nowMs` from cumulative figures: commands processed so far, the latency
   * histograms of every shard (null when the shards did not answer: no percentiles that second).
   * The first call only sets the baseline for the deltas of the next.
   */
  sample(nowMs: number, commandsTotal: number, shardLatency: readonly Float64Array[] | null, usedMemory: number, rss: number): void {
    let p50 = NaN;
    let p99 = NaN;
    let p999 = NaN;
    if (shardLatency !== null) {
      this.curBuckets.fill(0);
      for (const l of shardLatency) addBuckets(l, this.curBuckets);
      for (let b = 0; b < BUCKETS; b++) this.delta[b] = Math.max(0, this.curBuckets[b]! - this.prevBuckets[b]!);
      this.prevBuckets.set(this.curBuckets);
      if (this.prevCommands >= 0) {
        p50 = quantileUs(this.delta, 0.5) ?? NaN;
        p99 = quantileUs(this.delta, 0.99) ?? NaN;
        p999 = quantileUs(this.delta, 0.999) ?? NaN;
      }
    }
    const first = this.prevCommands < 0;
    // A counter that went down (CONFIG RESETSTAT) restarts the delta from zero.
    const opsDelta = first ? 0 : commandsTotal >= this.prevCommands ? commandsTotal - this.prevCommands : commandsTotal;
    const seconds = first ? 1 : Math.max(0.001, (nowMs - this.prevMs) / 1000);
    this.prevCommands = commandsTotal;
    this.prevMs = nowMs;
    if (first) return;
    const i = this.count % SERIES_MAX;
    this.t[i] = nowMs;
    this.ops[i] = Math.round(opsDelta / seconds);
    this.p50[i] = p50;
    this.p99[i] = p99;
    this.p999[i] = p999;
    this.used[i] = usedMemory;
    this.rss[i] = rss;
    this.count++;
  }

  /** Samples taken at or after `sinceMs`, oldest first (at most SERIES_MAX). */
  since(sinceMs: number): SeriesSample[] {
    const n = Math.min(this.count, SERIES_MAX);
    const out: SeriesSample[] = [];
    for (let k = this.count - n; k < this.count; k++) {
      const i = k % SERIES_MAX;
      if (this.t[i]! < sinceMs) continue;
      out.push({
        t: this.t[i]!,
        opsPerSec: this.ops[i]!,
        p50Us: orNull(this.p50[i]!),
        p99Us: orNull(this.p99[i]!),
        p999Us: orNull(this.p999[i]!),
        usedMemory: this.used[i]!,
        rss: this.rss[i]!,
      });
    }
    return out;
  }

  /** The newest sample, or null before the second one (the first only sets the baseline). */
  latest(): SeriesSample | null {
    if (this.count === 0) return null;
    const i = (this.count - 1) % SERIES_MAX;
    return this.since(this.t[i]!).at(-1) ?? null;
  }
}

function orNull(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}
