// Runs redis-benchmark with --csv and parses its rows (redis-benchmark 7 columns:
// test, rps, avg, min, p50, p95, p99, max latency in ms).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface BenchRow {
  test: string;
  rps: number;
  avgLatencyMs: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  maxLatencyMs: number;
}

export interface BenchRun {
  port: number;
  tests: string[];
  clients: number;
  requests: number;
  keyspace: number;
  valueBytes: number;
  pipeline: number;
}

export function benchmarkArgs(run: BenchRun): string[] {
  return [
    '-p', String(run.port), '-t', run.tests.join(','), '-c', String(run.clients), '-n', String(run.requests),
    '-r', String(run.keyspace), '-d', String(run.valueBytes), '-P', String(run.pipeline), '--csv',
  ];
}

export function parseCsv(text: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const line of text.split('\n')) {
    const cells = line.trim().split(',').map((c) => c.replace(/^"|"$/g, ''));
    if (cells.length < 8 || cells[0] === 'test') continue;
    const n = (i: number): number => Number(cells[i]);
    rows.push({
      test: cells[0] ?? '', rps: n(1), avgLatencyMs: n(2), p50LatencyMs: n(4), p99LatencyMs: n(6), maxLatencyMs: n(7),
    });
  }
  return rows;
}

export async function runBenchmark(run: BenchRun, timeoutMs = 600_000): Promise<BenchRow[]> {
  const { stdout } = await execFileAsync('redis-benchmark', benchmarkArgs(run), { timeout: timeoutMs, maxBuffer: 1 << 20 });
  const rows = parseCsv(stdout);
  if (rows.length === 0) throw new Error(`redis-benchmark printed no results on port ${run.port}:\n${stdout}`);
  return rows;
}
