// Tessera's memcached front door against memcached 1.6 on the same machine in the same run:
// libmemcached's `memcslap --binary` SET and GET throughput, rounds alternating memcached, Tessera,
// ratios taken pair by pair (the median is reported). Prints the machine and the figures and
// writes them to bench/MEMCACHE.md. Run with `npm run bench:memcache` (see --help).

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeMachine } from './lib/machine.js';
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
}

const USAGE = `npm run bench:memcache -- [options]
  --rounds N          rounds, each runs memcached then Tessera (default 3; env BENCH_ROUNDS)
  --concurrency N     memcslap threads (default 4; env BENCH_CONCURRENCY)
  --execute-number N  operations per thread (default 20000; env BENCH_EXECUTE_NUMBER)
  --tessera-args S    extra Tessera server flags, e.g. "--shard-threads no" (env BENCH_TESSERA_ARGS)
  --results FILE      where to write the report (default bench/MEMCACHE.md)`;

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
    args: [TESSERA_MAIN, 'server', '--port', String(port), '--memcache-port', String(mcPort), '--http-port', '0', ...opts.tesseraArgs],
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
  const commands = new Set<string>();
  try {
    for (const test of ['set', 'get'] as const) {
      const pairs: Array<{ mc: number; ts: number }> = [];
      for (let r = 0; r < opts.rounds; r++) {
        const a = memcslap(memcached.port, test, opts);
        const b = memcslap(tessera.port, test, opts);
        commands.add(a.command.replace(String(memcached.port), 'PORT'));
        pairs.push({ mc: a.opsPerSec, ts: b.opsPerSec });
        console.log(`${test} round ${r + 1}: memcached ${Math.round(a.opsPerSec)} ops/s, tessera ${Math.round(b.opsPerSec)} ops/s, ratio ${(b.opsPerSec / a.opsPerSec).toFixed(2)}`);
      }
      const ratios = pairs.map((p) => p.ts / p.mc);
      rows.push(`| ${test.toUpperCase()} | ${Math.round(median(pairs.map((p) => p.mc)))} | ${Math.round(median(pairs.map((p) => p.ts)))} | ${median(ratios).toFixed(2)} | ${ratios.map((x) => x.toFixed(2)).join(', ')} |`);
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
  ].join('\n');
  writeFileSync(opts.results, report);
  console.log(`\n${rows.join('\n')}\nwritten to ${relative(process.cwd(), opts.results)}`);
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
