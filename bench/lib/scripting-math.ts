// The figures math of bench/scripting.ts, pure: percentiles of sorted latencies, how many whole
// frames a byte count holds, and a test's summary over its pairs (medians of each side, ratios
// taken pair by pair before the median, as docs/benchmarks.md describes).

import { median } from './stats.js';

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

/** Whole frames of `frameBytes` in `bytes` received. */
export const framesIn = (bytes: number, frameBytes: number): number => Math.floor(bytes / frameBytes);

/** One side's figures for one run of a test. */
export interface SideRun {
  /** The test's rate: calls, transactions or delivered messages per second. */
  rate: number;
  /** Round trip of a pipeline batch (redis-benchmark: of a request), p99, ms. */
  p99Ms: number;
  /** The server's CPU time (all threads) per unit of the rate, in microseconds; NaN when unknown. */
  cpuUs: number;
  /** Its main thread's share. */
  mainUs: number;
  /** Each shard thread's (Tessera), by shard id. */
  shardUs: number[];
  /** Extra for the report: e.g. "publishes/s 12,345". */
  note: string;
}

export interface ScriptingPair {
  round: number;
  redis: SideRun;
  b: SideRun;
}

export interface ScriptingSummary {
  test: string;
  pipeline: number;
  label: string;
  pairs: ScriptingPair[];
  redisRate: number;
  bRate: number;
  rateRatio: number;
  redisP99Ms: number;
  bP99Ms: number;
  p99Ratio: number;
  redisCpuUs: number;
  bCpuUs: number;
  cpuRatio: number;
  bMainUs: number;
}

export function summarizePairs(test: string, pipeline: number, label: string, pairs: ScriptingPair[]): ScriptingSummary {
  const of = (f: (p: ScriptingPair) => number): number => median(pairs.map(f));
  return {
    test, pipeline, label, pairs,
    redisRate: of((p) => p.redis.rate), bRate: of((p) => p.b.rate), rateRatio: of((p) => p.b.rate / p.redis.rate),
    redisP99Ms: of((p) => p.redis.p99Ms), bP99Ms: of((p) => p.b.p99Ms), p99Ratio: of((p) => p.b.p99Ms / p.redis.p99Ms),
    redisCpuUs: of((p) => p.redis.cpuUs), bCpuUs: of((p) => p.b.cpuUs), cpuRatio: of((p) => p.b.cpuUs / p.redis.cpuUs),
    bMainUs: of((p) => p.b.mainUs),
  };
}
