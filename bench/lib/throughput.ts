// Throughput rounds for bench/compare.ts: every test at every pipeline depth runs on Redis, then
// Tessera, then (for some tests) the Node floor, back to back, and the ratios are taken pair by
// pair before the median, so that a slow moment of the machine hits both sides of a pair. Each run
// also reads the server's CPU time before and after: CPU microseconds per request.

import { cpuMicros } from './cpu.js';
import { runBenchmark, TEST_LABELS, type BenchRow, type BenchRun } from './redis-benchmark.js';
import type { BenchServer } from './servers.js';
import { fmtInt, median } from './stats.js';

export interface Measured {
  row: BenchRow;
  /** Server CPU time (user + system, all threads) per request. */
  cpuUsPerReq: number;
}

/** One redis-benchmark run of one test against `server`, with the server's CPU cost. */
export async function measure(server: BenchServer, run: BenchRun): Promise<Measured> {
  const before = cpuMicros(server.pid);
  const rows = await runBenchmark(run);
  const cpuUs = cpuMicros(server.pid) - before;
  const row = rows[0];
  if (row === undefined || rows.length !== 1) throw new Error(`expected one CSV row for ${run.tests.join(',')}, got ${rows.length}`);
  return { row, cpuUsPerReq: cpuUs / run.requests };
}

const WARM_UP_REQUESTS = 50_000;

/**
 * SET and GET at -P 16, not measured: a fresh Tessera (and the floor) runs its first requests in
 * V8's interpreter until they are compiled, which would count against whichever test came first.
 */
export async function warmUp(server: BenchServer, run: Omit<BenchRun, 'port' | 'tests' | 'pipeline'>): Promise<void> {
  await runBenchmark({ ...run, port: server.port, tests: ['set', 'get'], pipeline: 16, requests: WARM_UP_REQUESTS });
}

export interface Servers {
  redis: BenchServer;
  tessera: BenchServer;
  /** The Node floor (bench/lib/node-floor.ts), run only for `floorTests`. */
  floor?: BenchServer;
}

export interface RoundPlan {
  pipelines: number[];
  rounds: number;
  tests: string[];
  floorTests: string[];
  /** Everything of a redis-benchmark run but the port, the test and the depth. */
  run: Omit<BenchRun, 'port' | 'tests' | 'pipeline'>;
}

export interface Sample {
  redis: Measured;
  tessera: Measured;
  floor?: Measured;
}

export interface FloorSummary {
  rps: number;
  p99Ms: number;
  cpuUsPerReq: number;
}

export interface TestSummary {
  /** e.g. "SET -P 16". */
  label: string;
  test: string;
  pipeline: number;
  samples: Sample[];
  redisRps: number;
  tesseraRps: number;
  rpsRatio: number;
  redisP99Ms: number;
  tesseraP99Ms: number;
  p99Ratio: number;
  redisCpuUs: number;
  tesseraCpuUs: number;
  cpuRatio: number;
  floor: FloorSummary | null;
}

export function testLabel(test: string, pipeline: number): string {
  return `${TEST_LABELS[test] ?? test.toUpperCase()} -P ${pipeline}`;
}

/** Runs the plan's rounds; `log` gets one line per pair. Summaries come in plan order. */
export async function runRounds(servers: Servers, plan: RoundPlan, log: (line: string) => void): Promise<TestSummary[]> {
  const samples = new Map<string, { test: string; pipeline: number; list: Sample[] }>();
  for (const pipeline of plan.pipelines) {
    for (let round = 1; round <= plan.rounds; round++) {
      for (const test of plan.tests) {
        const run = (server: BenchServer): Promise<Measured> => measure(server, { ...plan.run, port: server.port, tests: [test], pipeline });
        const sample: Sample = { redis: await run(servers.redis), tessera: await run(servers.tessera) };
        if (servers.floor !== undefined && plan.floorTests.includes(test)) sample.floor = await run(servers.floor);
        const label = testLabel(test, pipeline);
        const entry = samples.get(label) ?? { test, pipeline, list: [] };
        entry.list.push(sample);
        samples.set(label, entry);
        log(`  round ${round} ${label.padEnd(20)} ${pairLine(sample)}`);
      }
    }
  }
  return [...samples].map(([label, e]) => summarize(label, e.test, e.pipeline, e.list));
}

function pairLine(s: Sample): string {
  const side = (name: string, m: Measured): string =>
    `${name} ${fmtInt(m.row.rps)} rps p99 ${m.row.p99LatencyMs} ms ${m.cpuUsPerReq.toFixed(1)} us/req`;
  const parts = [side('redis', s.redis), side('tessera', s.tessera)];
  if (s.floor !== undefined) parts.push(side('floor', s.floor));
  return `${parts.join(' | ')} | ratio ${(s.tessera.row.rps / s.redis.row.rps).toFixed(2)}`;
}

function summarize(label: string, test: string, pipeline: number, list: Sample[]): TestSummary {
  const of = (f: (s: Sample) => number): number => median(list.map(f));
  const floors = list.flatMap((s) => (s.floor === undefined ? [] : [s.floor]));
  return {
    label, test, pipeline, samples: list,
    redisRps: of((s) => s.redis.row.rps),
    tesseraRps: of((s) => s.tessera.row.rps),
    rpsRatio: of((s) => s.tessera.row.rps / s.redis.row.rps),
    redisP99Ms: of((s) => s.redis.row.p99LatencyMs),
    tesseraP99Ms: of((s) => s.tessera.row.p99LatencyMs),
    p99Ratio: of((s) => s.tessera.row.p99LatencyMs / s.redis.row.p99LatencyMs),
    redisCpuUs: of((s) => s.redis.cpuUsPerReq),
    tesseraCpuUs: of((s) => s.tessera.cpuUsPerReq),
    cpuRatio: of((s) => s.tessera.cpuUsPerReq / s.redis.cpuUsPerReq),
    floor: floors.length === 0 ? null : {
      rps: median(floors.map((f) => f.row.rps)),
      p99Ms: median(floors.map((f) => f.row.p99LatencyMs)),
      cpuUsPerReq: median(floors.map((f) => f.cpuUsPerReq)),
    },
  };
}
