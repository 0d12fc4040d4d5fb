// The observability benchmark's arithmetic and report: per test, the medians of the rounds with
// observability on and off, the throughput cost (of the medians, and the median of each round's
// back-to-back pair), and the CPU per request of the whole process. Pure: tested on its own.

import { median } from './stats.js';
import { CommandStats, StatTable } from '../../src/observability/command-stats.js';
import type { ArgList } from '../../src/core/types.js';

/** What recording one command costs a shard (ns, the fastest of `reps` timed loops of `n`: other
 * work on the machine only ever adds time): the stat id, its time into the histogram, and the
 * error test of a reply, with tracking on and off. */
export function recordCostNs(n = 1_000_000, reps = 15): { on: number; off: number } {
  const table = new StatTable([{ name: 'get' }, { name: 'set' }, { name: 'config', subcommands: [{ name: 'get' }] }]);
  const stats = new CommandStats(table);
  const a: ArgList = { buf: Buffer.from('GETk'), off: Int32Array.of(0, 3), len: Int32Array.of(3, 1), argc: 2 };
  const reply = Buffer.from('$1\r\nv\r\n');
  const loop = (tracking: boolean): number => {
    stats.tracking = tracking;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const sid = table.statOf(i & 1, a);
      stats.time(sid, 0.0005 + (i & 1023) * 1e-6);
      if (reply[0] === 45) stats.reply(sid, reply, 0, reply.length, false);
    }
    return ((performance.now() - t0) * 1e6) / n;
  };
  loop(true); // warm-up
  return { on: Math.min(...Array.from({ length: reps }, () => loop(true))), off: Math.min(...Array.from({ length: reps }, () => loop(false))) };
}

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
