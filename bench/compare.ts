// Tessera against redis-server on the same machine in the same run: throughput and p99 latency
// with redis-benchmark (rounds alternate Redis, Tessera; ratios are taken pair by pair and the
// median is reported), then memory per key after loading the same keys into fresh instances.
// Prints the machine and rewrites bench/RESULTS.md. Run with `npm run bench` (see --help).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKeys } from './lib/loader.js';
import { describeMachine, type Machine } from './lib/machine.js';
import { freePort } from './lib/ports.js';
import { benchmarkArgs, runBenchmark, type BenchRow, type BenchRun } from './lib/redis-benchmark.js';
import { RespClient, usedMemory } from './lib/resp-client.js';
import { killAllNow, rssBytes, startServer, stopAll, type BenchServer } from './lib/servers.js';
import { parseFlags } from './lib/flags.js';
import { median } from './lib/stats.js';
import { runBench } from './lib/run.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TESSERA_MAIN = 'dist/src/cli/main.js';

interface Options {
  rounds: number;
  requests: number;
  clients: number;
  pipelines: number[];
  tests: string[];
  keys: number;
  valueBytes: number;
  keyspace: number;
  shards: number | null;
  /** Extra flags for the Tessera server (e.g. "--shard-threads no"). */
  tesseraArgs: string[];
  results: string;
}

const HELP = `Usage: npm run bench [-- OPTIONS]   (or node dist/bench/compare.js OPTIONS)
  --rounds N        Redis/Tessera pairs per test (default 3; env BENCH_ROUNDS)
  --requests N      requests per redis-benchmark run (default 200000; env BENCH_REQUESTS)
  --clients N       connections (default 50; env BENCH_CLIENTS)
  --pipelines LIST  pipeline depths (default 1,16; env BENCH_PIPELINES)
  --tests LIST      redis-benchmark tests (default set,get,mset; env BENCH_TESTS)
  --keys N          keys loaded for the memory comparison, 0 = skip (default 1000000; env BENCH_KEYS)
  --shards N        Tessera shards (default: Tessera's own default; env BENCH_SHARDS)
  --tessera-args S  extra Tessera server flags, space-separated, e.g. "--shard-threads no" (env BENCH_TESSERA_ARGS)
  --results FILE    report to rewrite (default bench/RESULTS.md; env BENCH_RESULTS)`;

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { raw, int, list } = parseFlags(argv, HELP, { env });
  const shards = raw('shards', '');
  return {
    rounds: int('rounds', 3, 1),
    requests: int('requests', 200_000, 1),
    clients: int('clients', 50, 1),
    pipelines: list('pipelines', '1,16').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    tests: list('tests', 'set,get,mset'),
    keys: int('keys', 1_000_000, 0),
    valueBytes: 32,
    keyspace: 100_000,
    shards: shards === '' ? null : int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    results: resolve(REPO_ROOT, raw('results', 'bench/RESULTS.md')),
  };
}

// ---- servers ------------------------------------------------------------------------------

async function startRedis(): Promise<BenchServer> {
  const port = await freePort();
  return startServer({
    name: 'redis-server', command: 'redis-server', port, cwd: tmpdir(),
    args: ['--port', String(port), '--save', '', '--appendonly', 'no'],
  });
}

async function startTessera(opts: Options): Promise<BenchServer> {
  const port = await freePort();
  const shardArgs = opts.shards === null ? [] : ['--shards', String(opts.shards)];
  return startServer({
    name: 'tessera', command: 'node', port, cwd: REPO_ROOT,
    // As Redis here: no snapshot (the shipped config has save points; a dump would land in the repo).
    args: [TESSERA_MAIN, 'server', '--port', String(port), '--save', '', '--appendonly', 'no', '--memcache-port', '0', '--http-port', '0', ...shardArgs, ...opts.tesseraArgs],
  });
}

async function configValue(port: number, name: string): Promise<string> {
  const client = await RespClient.connect(port);
  try {
    const reply = await client.call('CONFIG', 'GET', name);
    return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '?';
  } finally {
    client.close();
  }
}

// ---- throughput ---------------------------------------------------------------------------

interface Sample {
  redis: BenchRow;
  tessera: BenchRow;
}

interface TestSummary {
  label: string;
  samples: Sample[];
  redisRps: number;
  tesseraRps: number;
  rpsRatio: number;
  redisP99Ms: number;
  tesseraP99Ms: number;
  p99Ratio: number;
}

async function throughput(opts: Options, redis: BenchServer, tessera: BenchServer): Promise<TestSummary[]> {
  const samples = new Map<string, Sample[]>();
  for (const pipeline of opts.pipelines) {
    for (let round = 1; round <= opts.rounds; round++) {
      const run = (port: number): BenchRun => ({
        port, tests: opts.tests, clients: opts.clients, requests: opts.requests,
        keyspace: opts.keyspace, valueBytes: opts.valueBytes, pipeline,
      });
      const redisRows = await runBenchmark(run(redis.port));
      const tesseraRows = await runBenchmark(run(tessera.port));
      for (const r of redisRows) {
        const t = tesseraRows.find((row) => row.test === r.test);
        if (t === undefined) continue;
        const label = `${r.test} -P ${pipeline}`;
        const list = samples.get(label) ?? [];
        list.push({ redis: r, tessera: t });
        samples.set(label, list);
        process.stdout.write(`  round ${round} ${label.padEnd(12)} redis ${fmtRps(r.rps)} rps p99 ${r.p99LatencyMs} ms | `
          + `tessera ${fmtRps(t.rps)} rps p99 ${t.p99LatencyMs} ms | ratio ${(t.rps / r.rps).toFixed(2)}\n`);
      }
    }
  }
  return [...samples].map(([label, list]) => ({
    label,
    samples: list,
    redisRps: median(list.map((s) => s.redis.rps)),
    tesseraRps: median(list.map((s) => s.tessera.rps)),
    rpsRatio: median(list.map((s) => s.tessera.rps / s.redis.rps)),
    redisP99Ms: median(list.map((s) => s.redis.p99LatencyMs)),
    tesseraP99Ms: median(list.map((s) => s.tessera.p99LatencyMs)),
    p99Ratio: median(list.map((s) => s.tessera.p99LatencyMs / s.redis.p99LatencyMs)),
  }));
}

// ---- memory -------------------------------------------------------------------------------

interface MemoryResult {
  keys: number;
  redisUsedDelta: number;
  tesseraUsedDelta: number;
  tesseraRssDelta: number;
  redisRssDelta: number;
  redisLoadMs: number;
  tesseraLoadMs: number;
}

async function memoryDelta(server: BenchServer, keys: number, valueBytes: number):
  Promise<{ used: number; rss: number; loadMs: number }> {
  const client = await RespClient.connect(server.port);
  try {
    const usedBefore = await usedMemory(client);
    const rssBefore = rssBytes(server.pid);
    const loadMs = await loadKeys({ port: server.port, count: keys, valueBytes, batch: 1000 });
    const dbsize = await client.call('DBSIZE');
    if (dbsize !== keys) throw new Error(`${server.name}: DBSIZE is ${String(dbsize)} after loading ${keys} keys`);
    return { used: (await usedMemory(client)) - usedBefore, rss: rssBytes(server.pid) - rssBefore, loadMs };
  } finally {
    client.close();
  }
}

async function memory(opts: Options): Promise<MemoryResult> {
  const redis = await startRedis();
  const r = await memoryDelta(redis, opts.keys, opts.valueBytes);
  await redis.stop();
  const tessera = await startTessera(opts);
  const t = await memoryDelta(tessera, opts.keys, opts.valueBytes);
  await tessera.stop();
  return {
    keys: opts.keys, redisUsedDelta: r.used, redisRssDelta: r.rss, redisLoadMs: r.loadMs,
    tesseraUsedDelta: t.used, tesseraRssDelta: t.rss, tesseraLoadMs: t.loadMs,
  };
}

/** The commit measured, with a note when the working tree differs from it. */
function tesseraRevision(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

// ---- report -------------------------------------------------------------------------------

function fmtRps(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function table(header: string[], rows: string[][]): string {
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

function machineLines(m: Machine, tesseraShards: string): string[] {
  const load = loadavg().map((n) => n.toFixed(2)).join(' ');
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores available; RAM ${m.ramGiB} GiB; Linux ${m.kernel}`,
    `- Node.js ${m.node}; redis-server ${m.redisServer}; Tessera ${tesseraRevision()}, shards: ${tesseraShards}`,
    `- Load average when the report was written: ${load} (other work on the machine skews the figures)`,
  ];
}

function report(opts: Options, machine: Machine, shards: string, commands: string[],
  summaries: TestSummary[], mem: MemoryResult | null): string {
  const perKey = (bytes: number): string => (mem === null ? '' : (bytes / mem.keys).toFixed(1));
  const out = [
    '# Benchmark results',
    '',
    `Generated by \`npm run bench\` (bench/compare.ts) on ${new Date().toISOString()}.`,
    'Regenerate with the same command; the file is rewritten on every run.',
    '',
    '## Machine',
    '',
    ...machineLines(machine, shards),
    '',
    '## Commands',
    '',
    '```',
    ...commands,
    '```',
    '',
    '## Throughput and latency',
    '',
    `${opts.rounds} pairs per row, Redis then Tessera, ${opts.requests} requests each. Figures are medians;`,
    'ratios are Tessera / Redis, taken pair by pair, then the median (higher rps ratio is better,',
    'lower p99 ratio is better). redis-benchmark runs on the same machine and competes for its cores.',
    '',
    table(['test', 'Redis rps', 'Tessera rps', 'rps ratio', 'Redis p99 ms', 'Tessera p99 ms', 'p99 ratio'],
      summaries.map((s) => [s.label, fmtRps(s.redisRps), fmtRps(s.tesseraRps), s.rpsRatio.toFixed(2),
        s.redisP99Ms.toFixed(3), s.tesseraP99Ms.toFixed(3), s.p99Ratio.toFixed(2)])),
    '',
    'Every pair (rps and p99 ms, Redis / Tessera):',
    '',
    table(['test', ...Array.from({ length: opts.rounds }, (_, i) => `round ${i + 1}`)],
      summaries.map((s) => [s.label, ...s.samples.map((p) =>
        `${fmtRps(p.redis.rps)} / ${fmtRps(p.tessera.rps)} rps, ${p.redis.p99LatencyMs} / ${p.tessera.p99LatencyMs} ms`)])),
    '',
  ];
  if (mem !== null) {
    out.push(
      '## Memory',
      '',
      `${mem.keys} keys of 16 bytes (\`key:000000000000\`...) with ${opts.valueBytes}-byte values, loaded into fresh`,
      'instances by a pipelined loader (1000 SETs per write). used_memory is the INFO memory delta;',
      'RSS is the VmRSS growth of the server process (for Tessera it includes all shard threads).',
      '',
      table(['server', 'used_memory delta', 'bytes/key (used_memory)', 'RSS delta', 'bytes/key (RSS)', 'load time'], [
        ['redis-server', String(mem.redisUsedDelta), perKey(mem.redisUsedDelta), String(mem.redisRssDelta),
          perKey(mem.redisRssDelta), `${(mem.redisLoadMs / 1000).toFixed(1)} s`],
        ['tessera', String(mem.tesseraUsedDelta), perKey(mem.tesseraUsedDelta), String(mem.tesseraRssDelta),
          perKey(mem.tesseraRssDelta), `${(mem.tesseraLoadMs / 1000).toFixed(1)} s`],
      ]),
      '',
    );
  }
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const machine = describeMachine();
  process.stdout.write(`Machine:\n${machineLines(machine, '(see below)').join('\n')}\n\n`);

  const redis = await startRedis();
  const tessera = await startTessera(opts);
  const shards = await configValue(tessera.port, 'shards');
  process.stdout.write(`redis-server pid ${redis.pid} port ${redis.port}; tessera pid ${tessera.pid} port ${tessera.port}, ${shards} shards\n`);
  const commands = [
    `node dist/bench/compare.js ${process.argv.slice(2).join(' ')}`.trim(),
    `# servers (ports are picked free at run time)`,
    redis.commandLine.replace(String(redis.port), 'PORT_A'),
    tessera.commandLine.replace(String(tessera.port), 'PORT_B'),
    `# per pipeline depth P in ${opts.pipelines.join(', ')}, ${opts.rounds} rounds of A then B`,
    ...['PORT_A', 'PORT_B'].map((p) => `redis-benchmark ${benchmarkArgs({
      port: 0, tests: opts.tests, clients: opts.clients, requests: opts.requests,
      keyspace: opts.keyspace, valueBytes: opts.valueBytes, pipeline: 0,
    }).join(' ').replace('-p 0', `-p ${p}`).replace('-P 0', '-P P')}`),
  ];
  if (opts.keys > 0) commands.push(`# memory: fresh servers, ${opts.keys} pipelined SETs (bench/lib/loader.ts), INFO memory and /proc/PID/status before and after`);

  process.stdout.write('\nThroughput (redis-benchmark):\n');
  const summaries = await throughput(opts, redis, tessera);
  await redis.stop();
  await tessera.stop();

  let mem: MemoryResult | null = null;
  if (opts.keys > 0) {
    process.stdout.write(`\nMemory: loading ${opts.keys} keys into fresh servers...\n`);
    mem = await memory(opts);
  }

  const text = report(opts, machine, shards, commands, summaries, mem);
  process.stdout.write('\n' + text.slice(text.indexOf('## Throughput')) + '\n');
  writeFileSync(opts.results, text);
  process.stdout.write(`Wrote ${relative(process.cwd(), opts.results) || opts.results}\n`);
}

await runBench('bench', main, killAllNow, stopAll);
