// Tessera's memcached front door against memcached 1.6 on the same machine in the same run:
// libmemcached's `memcslap --binary` SET and GET throughput (one request at a time per thread),
// then `tessera bench --protocol memcache` (the repo's load generator, binary protocol, with
// pipelining) at each `--loadgen-pipelines` depth; each round runs memcached and Tessera (odd
// rounds memcached first, even rounds Tessera first), ratios are taken pair by pair (the median is
// reported). Prints the machine and the figures and writes
// them to bench/MEMCACHE.md. Run with `npm run bench:memcache` (see --help).

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeMachine } from './lib/machine.js';
import { alternate } from './lib/order.js';
import { freePort } from './lib/ports.js';
import { killAllNow, startServer, stopAll } from './lib/servers.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TESSERA_MAIN = 'dist/src/cli/main.js';

interface Options {
  rounds: number;
  concurrency: number;
  executeNumber: number;
  tesseraArgs: string[];
  results: string;
  loadgenRequests: number;
  loadgenClients: number;
  loadgenThreads: number;
  loadgenPipelines: number[];
}

const USAGE = `npm run bench:memcache -- [options]
  --rounds N          rounds, each runs memcached and Tessera, alternating which goes first (default 3; env BENCH_ROUNDS)
  --concurrency N     memcslap threads (default 4; env BENCH_CONCURRENCY)
  --execute-number N  operations per thread (default 20000; env BENCH_EXECUTE_NUMBER)
  --tessera-args S    extra Tessera server flags, e.g. "--shard-threads no" (env BENCH_TESSERA_ARGS)
  --results FILE      where to write the report (default bench/MEMCACHE.md)
  --loadgen-requests N   tessera bench requests per phase (default 200000; env BENCH_LOADGEN_REQUESTS)
  --loadgen-clients N    tessera bench connections (default 50; env BENCH_LOADGEN_CLIENTS)
  --loadgen-threads N    tessera bench worker threads (default 1; env BENCH_LOADGEN_THREADS)
  --loadgen-pipelines L  tessera bench pipeline depths, comma-separated (default 1,16; env BENCH_LOADGEN_PIPELINES)`;

function parseOptions(argv: string[]): Options {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (!a.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${a}\n${USAGE}`);
    flags.set(a.slice(2), argv[++i]!);
  }
  const raw = (name: string, dflt: string): string => flags.get(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? dflt;
  const int = (name: string, dflt: number): number => {
    const n = Number(raw(name, String(dflt)));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return {
    rounds: int('rounds', 3),
    concurrency: int('concurrency', 4),
    executeNumber: int('execute-number', 20000),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    results: resolve(REPO_ROOT, raw('results', 'bench/MEMCACHE.md')),
    loadgenRequests: int('loadgen-requests', 200_000),
    loadgenClients: int('loadgen-clients', 50),
    loadgenThreads: int('loadgen-threads', 1),
    loadgenPipelines: raw('loadgen-pipelines', '1,16').split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1) throw new Error('--loadgen-pipelines takes positive integers, e.g. 1,16');
      return n;
    }),
  };
}

interface Target {
  name: string;
  port: number;
  commandLine: string;
  stop(): Promise<void>;
}

async function answersVersion(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 500);
    s.on('connect', () => s.write('version\r\n'));
    s.on('data', (d: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.toString().startsWith('VERSION'));
    });
    s.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function startMemcached(): Promise<Target> {
  const port = await freePort();
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? ['-u', 'root'] : [];
  const args = [...asRoot, '-p', String(port), '-U', '0', '-l', '127.0.0.1', '-m', '1024'];
  const child: ChildProcess = spawn('memcached', args, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.pid === undefined) return;
    process.kill(child.pid, 'SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 10_000;
  while (!(await answersVersion(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error('memcached did not start');
    }
    await sleep(50);
  }
  return { name: 'memcached', port, commandLine: ['memcached', ...args].join(' '), stop };
}

async function startTessera(opts: Options): Promise<Target> {
  const port = await freePort();
  const mcPort = await freePort();
  const s = await startServer({
    name: 'tessera', command: 'node', port, cwd: REPO_ROOT,
    args: [TESSERA_MAIN, 'server', '--port', String(port), '--save', '', '--appendonly', 'no', '--memcache-port', String(mcPort), '--http-port', '0', ...opts.tesseraArgs],
  });
  return { name: 'tessera', port: mcPort, commandLine: s.commandLine, stop: () => s.stop() };
}

/** Runs memcslap once; returns operations per second of its threaded phase. */
function memcslap(port: number, test: 'set' | 'get', opts: Options): { opsPerSec: number; command: string } {
  const args = [`--servers=127.0.0.1:${port}`, '--binary', `--concurrency=${opts.concurrency}`, `--execute-number=${opts.executeNumber}`, `--test=${test}`, '--flush'];
  const out = execFileSync('memcslap', args, { encoding: 'utf8', timeout: 300_000 });
  const m = new RegExp(`Time to ${test}\\s+(\\d+) keys by\\s+\\d+ threads:\\s+([\\d.]+) seconds`).exec(out);
  if (!m) throw new Error(`unexpected memcslap output:\n${out}`);
  return { opsPerSec: Number(m[1]) / Number(m[2]), command: ['memcslap', ...args].join(' ') };
}

interface LoadgenPhase {
  name: string;
  requests: number;
  errors: number;
  firstError: string;
  hits: number;
  rps: number;
  latencyMs: { p50: number; p99: number };
}

/** Runs `tessera bench --protocol memcache` once (a SET phase, then a GET phase) against `port`. */
function loadgen(port: number, pipeline: number, opts: Options): { phases: LoadgenPhase[]; command: string } {
  const json = join(tmpdir(), `tessera-bench-memcache-${process.pid}.json`);
  const args = [
    TESSERA_MAIN, 'bench', '--protocol', 'memcache', '-p', String(port), '-t', 'set,get', '-c', String(opts.loadgenClients),
    '-P', String(pipeline), '-n', String(opts.loadgenRequests), '-r', '100000', '-d', '32', '--threads', String(opts.loadgenThreads), '-q',
  ];
  try {
    execFileSync(process.execPath, [...args, '--json', json], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const phases = (JSON.parse(readFileSync(json, 'utf8')) as { phases: LoadgenPhase[] }).phases;
    for (const p of phases) if (p.errors > 0) throw new Error(`tessera bench on port ${port}: ${p.errors} errors in ${p.name}, first: ${p.firstError}`);
    return { phases, command: ['tessera', ...args.slice(1)].join(' ') };
  } finally {
    rmSync(json, { force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const machine = describeMachine();
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, node ${machine.node}, kernel ${machine.kernel}`);
  const memcached = await startMemcached();
  const tessera = await startTessera(opts);
  const rows: string[] = [];
  const loadgenRows: string[] = [];
  const commands = new Set<string>();
  const loadgenCommands = new Set<string>();
  try {
    for (const test of ['set', 'get'] as const) {
      const pairs: Array<{ mc: number; ts: number }> = [];
      for (let r = 0; r < opts.rounds; r++) {
        const [a, b] = await alternate(r + 1, () => memcslap(memcached.port, test, opts), () => memcslap(tessera.port, test, opts));
        commands.add(a.command.replace(String(memcached.port), 'PORT'));
        pairs.push({ mc: a.opsPerSec, ts: b.opsPerSec });
        console.log(`${test} round ${r + 1}: memcached ${Math.round(a.opsPerSec)} ops/s, tessera ${Math.round(b.opsPerSec)} ops/s, ratio ${(b.opsPerSec / a.opsPerSec).toFixed(2)}`);
      }
      const ratios = pairs.map((p) => p.ts / p.mc);
      rows.push(`| ${test.toUpperCase()} | ${Math.round(median(pairs.map((p) => p.mc)))} | ${Math.round(median(pairs.map((p) => p.ts)))} | ${median(ratios).toFixed(2)} | ${ratios.map((x) => x.toFixed(2)).join(', ')} |`);
    }
    for (const pipeline of opts.loadgenPipelines) {
      /** Per phase name: one memcached/Tessera pair per round. */
      const pairs = new Map<string, Array<{ mc: LoadgenPhase; ts: LoadgenPhase }>>();
      for (let r = 0; r < opts.rounds; r++) {
        const [a, b] = await alternate(r + 1, () => loadgen(memcached.port, pipeline, opts), () => loadgen(tessera.port, pipeline, opts));
        loadgenCommands.add(a.command.replace(`-p ${memcached.port}`, '-p PORT'));
        a.phases.forEach((mc, i) => {
          const ts = b.phases[i]!;
          pairs.set(mc.name, [...(pairs.get(mc.name) ?? []), { mc, ts }]);
          console.log(`tessera bench -P ${pipeline} ${mc.name} round ${r + 1}: memcached ${Math.round(mc.rps)} requests/s (p99 ${mc.latencyMs.p99} ms), tessera ${Math.round(ts.rps)} (p99 ${ts.latencyMs.p99} ms), ratio ${(ts.rps / mc.rps).toFixed(2)}`);
        });
      }
      for (const [name, ps] of pairs) {
        const ratios = ps.map((p) => p.ts.rps / p.mc.rps);
        const med = (f: (p: { mc: LoadgenPhase; ts: LoadgenPhase }) => number): number => median(ps.map(f));
        loadgenRows.push(
          `| ${pipeline} | ${name} | ${Math.round(med((p) => p.mc.rps))} | ${Math.round(med((p) => p.ts.rps))} | ${median(ratios).toFixed(2)} | ${ratios.map((x) => x.toFixed(2)).join(', ')} | ` +
            `${med((p) => p.mc.latencyMs.p99).toFixed(3)} / ${med((p) => p.ts.latencyMs.p99).toFixed(3)} |`,
        );
      }
    }
  } finally {
    await tessera.stop();
    await memcached.stop();
  }
  const report = [
    '# memcached protocol: Tessera vs memcached 1.6',
    '',
    `Written by \`npm run bench:memcache\` (bench/memcache.ts) on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM, Node ${machine.node}, Linux ${machine.kernel}.`,
    '',
    `Servers: \`${memcached.commandLine.replace(String(memcached.port), 'PORT')}\` and \`${tessera.commandLine}\` (ports vary).`,
    '',
    `Load: ${[...commands].map((c) => `\`${c}\``).join(', ')}; ${opts.rounds} rounds, each memcached then Tessera; ops/s of memcslap's threaded phase.`,
    '',
    '| test | memcached ops/s (median) | Tessera ops/s (median) | Tessera/memcached (median of pairs) | ratio per pair |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## `tessera bench --protocol memcache` (binary protocol, pipelined)',
    '',
    `Load: ${[...loadgenCommands].map((c) => `\`${c}\``).join(', ')}; ${opts.rounds} rounds per depth, each memcached then Tessera; ` +
      'a SET phase, then a GET phase (every GET hits). The generator runs on the same host, so it competes with the server for cores.',
    '',
    '| -P | phase | memcached requests/s (median) | Tessera requests/s (median) | Tessera/memcached (median of pairs) | ratio per pair | p99 ms memcached / Tessera (medians) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...loadgenRows,
    '',
  ].join('\n');
  writeFileSync(opts.results, report);
  console.log(`\n${rows.join('\n')}\n${loadgenRows.join('\n')}\nwritten to ${relative(process.cwd(), opts.results)}`);
}

process.on('exit', killAllNow);
main().then(
  () => stopAll(),
  async (e: unknown) => {
    console.error((e as Error).message);
    await stopAll();
    process.exitCode = 1;
  },
);
