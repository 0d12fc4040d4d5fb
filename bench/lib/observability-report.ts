// The observability benchmark's arithmetic and report: per test, the medians of the rounds with
// observability on and off, the throughput cost (of the medians, and the median of each round's
// back-to-back pair), and the CPU per request of the whole process. Pure: tested on its own.

import { median } from './stats.js';

/** One redis-benchmark run: requests per second and the process's CPU per request (ns). */
export interface ObsRun {
  rps: number;
  cpuNsPerReq: number;
}

export interface ObsRow {
  test: string;
  on: number;
  off: number;
  /** (off - on) / off in percent: positive = observability costs throughput. */
  cost: number;
  pairCost: number;
  cpuOn: number;
  cpuOff: number;
  cpuCost: number;
}

export function obsRow(test: string, on: readonly ObsRun[], off: readonly ObsRun[]): ObsRow {
  if (on.length === 0 || on.length !== off.length) throw new Error(`${test}: ${on.length} runs on, ${off.length} off`);
  const rOn = median(on.map((r) => r.rps));
  const rOff = median(off.map((r) => r.rps));
  const cOn = median(on.map((r) => r.cpuNsPerReq));
  const cOff = median(off.map((r) => r.cpuNsPerReq));
  return {
    test,
    on: rOn,
    off: rOff,
    cost: ((rOff - rOn) / rOff) * 100,
    // Each round's two runs are back to back: their ratio is steadier on a busy machine.
    pairCost: median(off.map((r, i) => ((r.rps - on[i]!.rps) / r.rps) * 100)),
    cpuOn: cOn,
    cpuOff: cOff,
    cpuCost: ((cOn - cOff) / cOff) * 100,
  };
}

export function obsTable(rows: readonly ObsRow[]): string[] {
  return [
    '| test | on (req/s) | off (req/s) | cost (medians) | cost (median of round pairs) | CPU ns/req on | off | CPU cost |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.test} | ${Math.round(r.on)} | ${Math.round(r.off)} | ${r.cost.toFixed(1)}% | ${r.pairCost.toFixed(1)}% | ${Math.round(r.cpuOn)} | ${Math.round(r.cpuOff)} | ${r.cpuCost.toFixed(1)}% |`),
  ];
}
