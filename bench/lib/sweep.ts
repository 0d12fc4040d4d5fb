// The shard-count sweep of bench/compare.ts: Tessera with 1 to `cores` shard threads, and with its
// shards run on the main thread (`--shard-threads no`), each against the same redis-server in
// alternating pairs, fewer rounds than the main comparison. Ratios only: Redis's absolute figures
// drift between minutes, a pair's ratio much less.

import { runRounds, warmUp, type RoundPlan, type TestSummary } from './throughput.js';
import type { BenchServer } from './servers.js';

export interface SweepConfig {
  /** e.g. "2 shard threads", "inline (1 shard)". */
  label: string;
  /** Tessera server flags for it. */
  args: string[];
  /** Tessera's own default. */
  isDefault: boolean;
}

export interface SweepRow {
  config: SweepConfig;
  summaries: TestSummary[];
  /** Geometric mean of the rps ratios: one figure to rank the configurations by. */
  meanRatio: number;
}

/** Shard threads 1..cores, then the inline mode with Tessera's default shard count. */
export function sweepConfigs(cores: number, defaultShards: number): SweepConfig[] {
  const configs: SweepConfig[] = [];
  for (let n = 1; n <= cores; n++) {
    configs.push({ label: `${n} shard thread${n === 1 ? '' : 's'}`, args: ['--shards', String(n)], isDefault: n === defaultShards });
  }
  configs.push({
    label: `inline (${defaultShards} shard${defaultShards === 1 ? '' : 's'} on the main thread)`,
    args: ['--shard-threads', 'no'], isDefault: false,
  });
  return configs;
}

export async function runSweep(configs: SweepConfig[], redis: BenchServer, startTessera: (args: string[]) => Promise<BenchServer>,
  plan: RoundPlan, log: (line: string) => void): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const config of configs) {
    log(` ${config.label}${config.isDefault ? ' (default)' : ''}:`);
    const tessera = await startTessera(config.args);
    try {
      await warmUp(tessera, plan.run);
      const summaries = await runRounds({ redis, tessera }, plan, log);
      rows.push({ config, summaries, meanRatio: geometricMean(summaries.map((s) => s.rpsRatio)) });
    } finally {
      await tessera.stop();
    }
  }
  return rows;
}

function geometricMean(values: number[]): number {
  if (values.length === 0) return NaN;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/** One sentence: which configuration did best, and where the default stands. */
export function sweepVerdict(rows: SweepRow[]): string {
  const ranked = [...rows].sort((a, b) => b.meanRatio - a.meanRatio);
  const best = ranked[0];
  const dflt = rows.find((r) => r.config.isDefault);
  if (best === undefined || dflt === undefined) return 'No sweep figures.';
  const head = `Best: ${best.config.label} (geometric mean of the rps ratios ${best.meanRatio.toFixed(2)}x)`;
  if (best === dflt) return `${head}, which is Tessera's default (cores - 1 shard threads).`;
  return `${head}; Tessera's default, ${dflt.config.label}, had ${dflt.meanRatio.toFixed(2)}x `
    + `(${(((best.meanRatio / dflt.meanRatio) - 1) * 100).toFixed(0)}% behind in this run).`;
}
