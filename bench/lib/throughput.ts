// Throughput rounds for bench/compare.ts: every test at every pipeline depth runs on Redis and
// Tessera back to back (odd rounds Redis first, even rounds Tessera first, so that neither always
// gets the warmer or the quieter turn), then for some tests on the Node floor; ratios are taken
// pair by pair before the median, so that a slow moment of the machine hits both sides of a pair.
// Each run also reads every server thread's CPU time before and after: CPU microseconds per
// request in all and per thread (main thread, each shard, the rest).

import { splitCpu, threadCpuNs, threadRoles, type ThreadRoles } from './cpu.js';
import { alternate } from './order.js';
import { RespClient } from './resp-client.js';
import { runBenchmark, TEST_LABELS, type BenchRow, type BenchRun } from './redis-benchmark.js';
import type { BenchServer } from './servers.js';
import { fmtInt, median } from './stats.js';

export interface Measured {
  row: BenchRow;
  /** Server CPU time (all threads) per request. */
  cpuUsPerReq: number;
  /** The main thread's share: it parses, routes and writes for every shard. */
  mainUsPerReq: number;
  /** Each shard thread's, by shard id (0 for a shard run on the main thread; empty for Redis). */
  shardUsPerReq: number[];
  /** Every other thread's (GC and compiler helpers, libuv's pool; Redis's bio threads). */
  otherUsPerReq: number;
}

const roles = new WeakMap<BenchServer, ThreadRoles>();

/** The server's threads by role, asked once per server (INFO cpu; the floor answers +OK). */
async function rolesOf(server: BenchServer): Promise<ThreadRoles> {
  const known = roles.get(server);
  if (known !== undefined) return known;
  const client = await RespClient.connect(server.port);
  try {
    const reply = await client.call('INFO', 'cpu');
    const found = threadRoles(server.pid, typeof reply === 'string' ? reply : '');
    roles.set(server, found);
    return found;
  } finally {
    client.close();
  }
}

/** One redis-benchmark run of one test against `server`, with the server's CPU cost per thread. */
export async function measure(server: BenchServer, run: BenchRun): Promise<Measured> {
  const threads = await rolesOf(server);
  const before = threadCpuNs(server.pid);
  const rows = await runBenchmark(run);
  const cpu = splitCpu(threads, before, threadCpuNs(server.pid));
  const row = rows[0];
  if (row === undefined || rows.length !== 1) throw new Error(`expected one CSV row for ${run.tests.join(',')}, got ${rows.length}`);
  const per = (us: number): number => us / run.requests;
  return {
    row, cpuUsPerReq: per(cpu.totalUs), mainUsPerReq: per(cpu.mainUs), shardUsPerReq: cpu.shardUs.map(per), otherUsPerReq: per(cpu.otherUs),
  };
}

/** The requests per second one process can serve at most when its main thread is the bottleneck:
 * one over the main thread's CPU time per request, however many cores the host has. */
export function ceilingRps(mainUsPerReq: number): number {
  return mainUsPerReq > 0 ? 1e6 / mainUsPerReq : NaN;
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
  /** Called right before each measured run, not timed (e.g. refill the set SPOP drains). */
  prepare?: (server: BenchServer, test: string, pipeline: number) => Promise<void>;
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
  /** Per-thread medians (us/req): Redis's main thread, Tessera's main thread, each shard, the rest. */
  redisMainUs: number;
  tesseraMainUs: number;
  tesseraShardUs: number[];
  tesseraOtherUs: number;
  /** ceilingRps() of each side's median main-thread cost, and Tessera's / Redis's pair by pair. */
  redisCeilingRps: number;
  tesseraCeilingRps: number;
  ceilingRatio: number;
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
        const run = async (server: BenchServer): Promise<Measured> => {
          await plan.prepare?.(server, test, pipeline);
          return measure(server, { ...plan.run, port: server.port, tests: [test], pipeline });
        };
        const redisFirst = round % 2 === 1;
        const [redis, tessera] = await alternate(round, () => run(servers.redis), () => run(servers.tessera));
        const sample: Sample = { redis, tessera };
        if (servers.floor !== undefined && plan.floorTests.includes(test)) sample.floor = await run(servers.floor);
        const label = testLabel(test, pipeline);
        const entry = samples.get(label) ?? { test, pipeline, list: [] };
        entry.list.push(sample);
        samples.set(label, entry);
        log(`  round ${round} ${label.padEnd(20)} ${pairLine(sample, redisFirst)}`);
      }
    }
  }
  return [...samples].map(([label, e]) => summarize(label, e.test, e.pipeline, e.list));
}

function pairLine(s: Sample, redisFirst: boolean): string {
  const side = (name: string, m: Measured): string =>
    `${name} ${fmtInt(m.row.rps)} rps p99 ${m.row.p99LatencyMs} ms ${m.cpuUsPerReq.toFixed(2)} us/req (${threadLine(m)})`;
  const pair = [side('redis', s.redis), side('tessera', s.tessera)];
  const parts = redisFirst ? pair : pair.reverse();
  if (s.floor !== undefined) parts.push(side('floor', s.floor));
  return `${parts.join(' | ')} | ratio ${(s.tessera.row.rps / s.redis.row.rps).toFixed(2)}`;
}

/** "main 1.28 shard0 0.40 other 0.05": the CPU us/req of each thread. */
export function threadLine(m: Measured): string {
  const shards = m.shardUsPerReq.map((u, i) => ` shard${i} ${u.toFixed(2)}`).join('');
  return `main ${m.mainUsPerReq.toFixed(2)}${shards} other ${m.otherUsPerReq.toFixed(2)}`;
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
    redisMainUs: of((s) => s.redis.mainUsPerReq),
    tesseraMainUs: of((s) => s.tessera.mainUsPerReq),
    tesseraShardUs: (list[0]?.tessera.shardUsPerReq ?? []).map((_, i) => of((s) => s.tessera.shardUsPerReq[i] ?? NaN)),
    tesseraOtherUs: of((s) => s.tessera.otherUsPerReq),
    redisCeilingRps: ceilingRps(of((s) => s.redis.mainUsPerReq)),
    tesseraCeilingRps: ceilingRps(of((s) => s.tessera.mainUsPerReq)),
    ceilingRatio: of((s) => ceilingRps(s.tessera.mainUsPerReq) / ceilingRps(s.redis.mainUsPerReq)),
    floor: floors.length === 0 ? null : {
      rps: median(floors.map((f) => f.row.rps)),
      p99Ms: median(floors.map((f) => f.row.p99LatencyMs)),
      cpuUsPerReq: median(floors.map((f) => f.cpuUsPerReq)),
    },
  };
}
