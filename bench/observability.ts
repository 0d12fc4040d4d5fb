// The cost of observability: SET and GET at -P 16 with redis-benchmark against one Tessera
// process, with SLOWLOG (slowlog-log-slower-than 10000), latency monitoring
// (latency-monitor-threshold 100) and per-command latency histograms (latency-tracking yes) on,
// and all three off (-1, 0, no), switched by CONFIG SET on the same warm process. Each round runs
// both, alternating which goes first; medians and the cost in percent are printed and written to
// bench/OBSERVABILITY.md. Target: under 3%. Calls, usec and error counts of INFO commandstats are
// counted either way (as in Redis). Run with `npm run bench:observability` (see --help).

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeMachine, gitRevision } from './lib/machine.js';
import { alternate } from './lib/order.js';
import { freePort } from './lib/ports.js';
import { killAllNow, startServer, stopAll } from './lib/servers.js';
import { threadCpuNs } from './lib/cpu.js';
import { obsRow, obsTable, recordCostNs, type ObsRun } from './lib/observability-report.js';
import { parseFlags } from './lib/flags.js';

const execFileAsync = promisify(execFile);
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The settings compared, by --part: everything (the comparison), or one part alone with
 * the others off (to tell which part costs what). */
const PARTS: Record<string, { on: string[]; off: string[] }> = {
  all: {
    on: ['slowlog-log-slower-than', '10000', 'latency-monitor-threshold', '100', 'latency-tracking', 'yes'],
    off: ['slowlog-log-slower-than', '-1', 'latency-monitor-threshold', '0', 'latency-tracking', 'no'],
  },
  tracking: {
    on: ['slowlog-log-slower-than', '-1', 'latency-monitor-threshold', '0', 'latency-tracking', 'yes'],
    off: ['slowlog-log-slower-than', '-1', 'latency-monitor-threshold', '0', 'latency-tracking', 'no'],
  },
  slowlog: {
    on: ['slowlog-log-slower-than', '10000', 'latency-monitor-threshold', '100', 'latency-tracking', 'no'],
    off: ['slowlog-log-slower-than', '-1', 'latency-monitor-threshold', '0', 'latency-tracking', 'no'],
  },
};

const USAGE = `npm run bench:observability -- [options]
  --rounds N      rounds (default 5; env BENCH_ROUNDS)
  --requests N    requests per redis-benchmark run (default 500000; env BENCH_REQUESTS)
  --clients N     redis-benchmark connections (default 50; env BENCH_CLIENTS)
  --pipeline N    redis-benchmark -P (default 16; env BENCH_PIPELINE)
  --shards N      Tessera shards (default 1; env BENCH_SHARDS)
  --part P        all (default): SLOWLOG, latency monitor and latency-tracking together; tracking
                  or slowlog: that part alone, the others off in both runs (env BENCH_PART)
  --results FILE  report file (default bench/OBSERVABILITY.md; '' = none)`;

export interface ObsOptions {
  rounds: number;
  requests: number;
  clients: number;
  pipeline: number;
  shards: number;
  part: string;
  results: string;
}

function options(argv: string[]): ObsOptions {
  const flags = parseFlags(argv, USAGE, { env: process.env });
  const get = (k: string, d: string): string => flags.raw(k, d);
  return {
    rounds: Number(get('rounds', '5')),
    requests: Number(get('requests', '500000')),
    clients: Number(get('clients', '50')),
    pipeline: Number(get('pipeline', '16')),
    shards: Number(get('shards', '1')),
    part: get('part', 'all'),
    results: get('results', join(REPO_ROOT, 'bench/OBSERVABILITY.md')),
  };
}

async function configSet(port: number, pairs: string[]): Promise<void> {
  const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), 'CONFIG', 'SET', ...pairs]);
  if (stdout.trim() !== 'OK') throw new Error(`CONFIG SET ${pairs.join(' ')}: ${stdout}`);
}

const cpuOf = (pid: number): number => [...threadCpuNs(pid).values()].reduce((a, b) => a + b, 0);

/** One redis-benchmark run under `settings`: requests per second and the whole process's CPU
 * (every thread) per request. */
async function run(pid: number, port: number, test: 'set' | 'get', settings: string[], o: ObsOptions): Promise<ObsRun> {
  await configSet(port, settings);
  const before = cpuOf(pid);
  const { stdout } = await execFileAsync('redis-benchmark', ['-p', String(port), '-t', test, '-n', String(o.requests), '-c', String(o.clients), '-P', String(o.pipeline), '-r', '100000', '-q', '--csv'], { maxBuffer: 1 << 20 });
  const row = stdout.split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`));
  if (row === undefined) throw new Error(`redis-benchmark gave no ${test} row: ${stdout}`);
  return { rps: Number(JSON.parse(`[${row}]`)[1]), cpuNsPerReq: (cpuOf(pid) - before) / o.requests };
}

export async function benchObservability(o: ObsOptions, log: (line: string) => void = console.log): Promise<string> {
  const part = PARTS[o.part];
  if (part === undefined) throw new Error(`--part ${o.part}: one of ${Object.keys(PARTS).join(', ')}`);
  const { on: ON, off: OFF } = part;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-obs-'));
  const port = await freePort();
  const srv = await startServer({
    name: 'tessera', command: process.execPath, port, cwd: REPO_ROOT,
    args: ['dist/src/cli/main.js', 'server', '--port', String(port), '--shards', String(o.shards), '--save', '', '--dir', dir, '--memcache-port', '0', '--http-port', '0', '--loglevel', 'warning'],
  });
  try {
    const results = { set: { on: [] as ObsRun[], off: [] as ObsRun[] }, get: { on: [] as ObsRun[], off: [] as ObsRun[] } };
    for (let round = 0; round < o.rounds; round++) {
      for (const test of ['set', 'get'] as const) {
        const [on, off] = await alternate(round, () => run(srv.pid, port, test, ON, o), () => run(srv.pid, port, test, OFF, o));
        results[test].on.push(on);
        results[test].off.push(off);
        log(`round ${round + 1} ${test.toUpperCase()}: on ${Math.round(on.rps)} req/s ${Math.round(on.cpuNsPerReq)} ns/req, off ${Math.round(off.rps)} req/s ${Math.round(off.cpuNsPerReq)} ns/req`);
      }
    }
    const rec = recordCostNs();
    const m = describeMachine();
    const rows = (['set', 'get'] as const).map((t) => obsRow(t.toUpperCase(), results[t].on, results[t].off));
    const lines = [
      '# Observability cost (npm run bench:observability)',
      '',
      `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, node ${m.node}, ${m.kernel}. Revision ${gitRevision(REPO_ROOT)}.`,
      `redis-benchmark -t set|get -n ${o.requests} -c ${o.clients} -P ${o.pipeline} -r 100000; Tessera --shards ${o.shards}; on = \`${ON.join(' ')}\`, off = \`${OFF.join(' ')}\` (CONFIG SET on the same process); ${o.rounds} rounds, alternating which goes first; medians. CPU = every thread of the process.`,
      '',
      `Load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other work on the machine makes single runs noisy).`,
      '',
      ...obsTable(rows),
      '',
      `Recording one command's statistics in a shard (stat id, time into the histogram, reply's error test; a tight loop in this process): ${rec.on.toFixed(1)} ns with latency-tracking yes, ${rec.off.toFixed(1)} ns with no; against the CPU per request above, ${((rec.on / rows[0]!.cpuOff) * 100).toFixed(2)}% of a SET.`,
      '',
      'Per round (req/s):',
      '',
      ...(['set', 'get'] as const).map((t) => `- ${t.toUpperCase()}: on ${results[t].on.map((r) => Math.round(r.rps)).join(', ')}; off ${results[t].off.map((r) => Math.round(r.rps)).join(', ')}`),
      '',
    ];
    const report = lines.join('\n');
    if (o.results !== '') writeFileSync(o.results, report);
    return report;
  } finally {
    await srv.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('SIGINT', () => {
    killAllNow();
    process.exit(130);
  });
  benchObservability(options(process.argv.slice(2)))
    .then((report) => console.log(`\n${report}`))
    .catch((e: unknown) => {
      console.error(e);
      killAllNow();
      process.exit(1);
    });
}
