// Runs `tessera bench` as a process, the way users do, and reads back its --json result (and
// checks that its --svg is a chart). Killed by pid if it runs past its deadline.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESSERA_MAIN } from '../e2e/harness.js';

const BENCH_DEADLINE_MS = 60_000;

export interface Phase {
  name: string;
  requests: number;
  errors: number;
  firstError: string;
  hits: number;
  misses: number;
  rps: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  series: Array<{ t: number; rps: number; p50Ms: number; p99Ms: number }>;
}

export interface Result {
  config: { mode: string; clients: number; protocol: string };
  totals: { requests: number; errors: number };
  phases: Phase[];
}

/** Runs `tessera bench ARGS -q --json DIR/NAME.json --svg DIR/NAME.svg`; resolves with its phases. */
export function bench(args: string[], dir: string, name: string): Promise<Phase[]> {
  const json = join(dir, `${name}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TESSERA_MAIN, 'bench', ...args, '-q', '--json', json, '--svg', join(dir, `${name}.svg`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BENCH_DEADLINE_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`tessera bench exited ${code}: ${out}`));
      const result = JSON.parse(readFileSync(json, 'utf8')) as Result;
      const svg = readFileSync(join(dir, `${name}.svg`), 'utf8');
      if (!svg.startsWith('<svg') || !svg.includes('<polyline')) return reject(new Error(`bad SVG: ${svg.slice(0, 200)}`));
      if (result.totals.requests !== result.phases.reduce((a, p) => a + p.requests, 0)) return reject(new Error('totals disagree with phases'));
      resolve(result.phases);
    });
  });
}

/** Runs `tessera bench ARGS` expecting it to fail; resolves with its exit code and stderr. */
export function benchRefused(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TESSERA_MAIN, 'bench', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BENCH_DEADLINE_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
