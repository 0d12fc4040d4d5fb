// Tessera against redis-server on the same machine in the same run (issue 3): throughput, p99
// latency and server CPU per request, per thread, with redis-benchmark (each test runs on Redis and
// Tessera, which goes first alternating by round, then on a bare Node server as the floor; ratios
// are taken pair by pair and the median is reported), the ceiling the main thread implies,
// memory per key after loading the same keys into fresh instances, a shard-count sweep and a CPU
// profile of Tessera under load. Prints the machine and rewrites bench/RESULTS.md. Then the hashes
// and sets of issue 14 (bench/types.ts), which rewrite bench/TYPES.md (--types no skips them), and
// the lists and sorted sets of issue 15 (bench/lists.ts, bench/LISTS.md; --lists no skips them), the
// scripts of issue 16 (bench/scripting.ts) and the streams, HLL, bitmaps and geo of issue 17
// (bench/data17.ts, bench/DATA17.md; --data17 no skips them).
// Run with `npm run bench` (see --help); the default run took about 7 minutes on 2 cores without
// the hashes and sets, which took 6.5 more (docs/benchmarks.md).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { renderReport } from './lib/compare-report.js';
import { REPO_ROOT, startFreshRedis, startFreshTessera, TESSERA_MAIN } from './lib/fresh-servers.js';
import { parseFlags } from './lib/flags.js';
import { describeMachine, type Machine, gitRevision } from './lib/machine.js';
import { compareMemory, type MemoryResult } from './lib/memory.js';
import { freePort } from './lib/ports.js';
import { summarizeProfiles, type ThreadSummary } from './lib/profile-summary.js';
import { benchmarkArgs, runBenchmark, type BenchRun } from './lib/redis-benchmark.js';
import { RespClient } from './lib/resp-client.js';
import { runBench } from './lib/run.js';
import { killAllNow, startServer, stopAll, type BenchServer } from './lib/servers.js';
import { median } from './lib/stats.js';
import { runSweep, sweepConfigs, type SweepRow } from './lib/sweep.js';
import { runRounds, warmUp, type RoundPlan, type TestSummary } from './lib/throughput.js';
import { killWritersNow } from './lib/type-persist.js';
import { parseTypesOptions, runTypes, TYPES_HELP } from './types.js';
import { LISTS_HELP, parseListsOptions, runLists } from './lists.js';
import { parseScriptingOptions, runScripting, SCRIPTING_HELP } from './scripting.js';
import { DATA17_HELP, parseData17Options, runData17 } from './data17.js';

const FLOOR_MAIN = 'dist/bench/lib/node-floor.js';
/** The floor answers +OK to everything, so only tests whose reply is +OK run on it. */
const FLOOR_TESTS = ['set'];
const SWEEP_TESTS = ['set', 'get'];
const PROFILE_TESTS = ['set', 'get'];
const PROFILE_PIPELINE = 16;
/** Per profiled test: about 4 s each at Tessera's P=16 rate on 2 cores, enough samples to rank. */
const PROFILE_REQUESTS = 1_000_000;
const LOAD_SAMPLE_MS = 5000;

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
  floor: boolean;
  sweep: boolean;
  sweepRounds: number;
  profile: boolean;
  /** Also run bench/types.ts (hashes and sets) with the --types-* options. */
  types: boolean;
  /** Also run bench/lists.ts (lists and sorted sets) with the --lists-* options. */
  lists: boolean;
  /** Also run bench/scripting.ts (scripts, transactions, pub/sub) with the --scripting-* options. */
  scripting: boolean;
  /** Also run bench/data17.ts (streams, HLL, bitmaps, geo) with the --data17-* options. */
  data17: boolean;
  results: string;
}

const HELP = `Usage: npm run bench [-- OPTIONS]   (or node dist/bench/compare.js OPTIONS)
  --rounds N        rounds of Redis, Tessera (and floor) per test (default 5; env BENCH_ROUNDS)
  --requests N      requests per redis-benchmark run (default 200000; env BENCH_REQUESTS)
  --clients N       connections (default 50; env BENCH_CLIENTS)
  --pipelines LIST  pipeline depths (default 1,16; env BENCH_PIPELINES)
  --tests LIST      tests: set, get, mset (redis-benchmark's) and mget (10 keys, a custom command)
                    (default set,get,mset,mget; env BENCH_TESTS)
  --keys N          keys loaded for the memory comparison, 0 = skip (default 5000000; env BENCH_KEYS)
  --shards N        Tessera shards (default: Tessera's own default; env BENCH_SHARDS)
  --tessera-args S  extra Tessera server flags, space-separated, e.g. "--shard-threads no" (env BENCH_TESSERA_ARGS)
  --floor yes|no    also run SET on a bare Node RESP server, the floor (default yes; env BENCH_FLOOR)
  --sweep yes|no    shard-count sweep: 1..cores shard threads and --shard-threads no, SET and GET
                    (ignores --shards and --tessera-args; default yes; env BENCH_SWEEP)
  --sweep-rounds N  pairs per test in the sweep (default 2; env BENCH_SWEEP_ROUNDS)
  --profile yes|no  CPU profile of Tessera under SET and GET -P 16 (default yes; env BENCH_PROFILE)
  --results FILE    report to rewrite (default bench/RESULTS.md; env BENCH_RESULTS)
  --types yes|no    then the hashes and sets benchmark, bench/TYPES.md (default yes; env BENCH_TYPES);
                    alone: npm run bench:types
  --lists yes|no    then the lists and sorted sets benchmark, bench/LISTS.md (default yes; env BENCH_LISTS);
                    alone: npm run bench:lists
  --scripting yes|no  then the scripts, transactions and pub/sub benchmark, bench/SCRIPTING.md (default yes;
                    env BENCH_SCRIPTING); alone: npm run bench:scripting
  --data17 yes|no   then streams, HyperLogLog, bitmaps and geo, bench/DATA17.md (default yes; env BENCH_DATA17);
                    alone: npm run bench:data17
${TYPES_HELP}
${LISTS_HELP}
${SCRIPTING_HELP}
${DATA17_HELP}`;

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { raw, int, list } = parseFlags(argv, HELP, { env });
  const shards = raw('shards', '');
  const yesNo = (name: string): boolean => {
    const v = raw(name, 'yes');
    if (v !== 'yes' && v !== 'no') throw new Error(`--${name} takes yes or no\n${HELP}`);
    return v === 'yes';
  };
  const tests = list('tests', 'set,get,mset,mget');
  const unknown = tests.filter((t) => !['set', 'get', 'mset', 'mget'].includes(t));
  if (unknown.length > 0) throw new Error(`unknown tests: ${unknown.join(', ')}\n${HELP}`);
  return {
    rounds: int('rounds', 5, 1),
    requests: int('requests', 200_000, 1),
    clients: int('clients', 50, 1),
    pipelines: list('pipelines', '1,16').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    tests,
    keys: int('keys', 5_000_000, 0),
    valueBytes: 32,
    keyspace: 100_000,
    shards: shards === '' ? null : int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    floor: yesNo('floor'),
    sweep: yesNo('sweep'),
    sweepRounds: int('sweep-rounds', 2, 1),
    profile: yesNo('profile'),
    types: yesNo('types'),
    lists: yesNo('lists'),
    scripting: yesNo('scripting'),
    data17: yesNo('data17'),
    results: resolve(REPO_ROOT, raw('results', 'bench/RESULTS.md')),
  };
}

// ---- servers ------------------------------------------------------------------------------

async function startRedis(): Promise<BenchServer> {
  return startFreshRedis();
}

/** `serverArgs` replace --shards and --tessera-args when given (the sweep); `nodeArgs` go to node. */
async function startTessera(opts: Options, serverArgs: string[] | null = null, nodeArgs: string[] = []): Promise<BenchServer> {
  const shardArgs = opts.shards === null ? [] : ['--shards', String(opts.shards)];
  return startFreshTessera(serverArgs ?? [...shardArgs, ...opts.tesseraArgs], nodeArgs);
}

async function startFloor(): Promise<BenchServer> {
  const port = await freePort();
  return startServer({
    name: 'node-floor', command: 'node', port, cwd: REPO_ROOT, readyWhen: 'listening',
    args: [FLOOR_MAIN, '--port', String(port)],
  });
}

async function command(port: number, ...args: string[]): Promise<unknown> {
  const client = await RespClient.connect(port);
  try {
    return await client.call(...args);
  } finally {
    client.close();
  }
}

async function configValue(port: number, name: string): Promise<string> {
  const reply = await command(port, 'CONFIG', 'GET', name);
  return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '?';
}

async function dbsize(port: number): Promise<number> {
  const reply = await command(port, 'DBSIZE');
  return typeof reply === 'number' ? reply : NaN;
}

// ---- phases -------------------------------------------------------------------------------

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function baseRun(opts: Options): RoundPlan['run'] {
  return { clients: opts.clients, requests: opts.requests, keyspace: opts.keyspace, valueBytes: opts.valueBytes };
}

interface ThroughputResult {
  summaries: TestSummary[];
  dbsize: { redis: number; tessera: number };
  shards: string;
}

async function throughput(opts: Options, commands: string[]): Promise<ThroughputResult> {
  const redis = await startRedis();
  const tessera = await startTessera(opts);
  const floor = opts.floor ? await startFloor() : undefined;
  const shards = await configValue(tessera.port, 'shards');
  log(`redis-server pid ${redis.pid}; tessera pid ${tessera.pid}, shards ${shards}${floor ? `; node floor pid ${floor.pid}` : ''}`);
  commands.push(
    '# servers (ports are picked free at run time)',
    shownCommand(redis, 'PORT_A'),
    shownCommand(tessera, 'PORT_B'),
    ...(floor ? [shownCommand(floor, 'PORT_C')] : []),
    '# each server first gets an unmeasured warm-up: redis-benchmark -t set,get -n 50000 -P 16 (same -c, -r, -d)',
    `# per pipeline depth P in ${opts.pipelines.join(', ')}, ${opts.rounds} rounds; per round and test, PORT_A, PORT_B`
      + `${floor ? ` (and PORT_C for ${FLOOR_TESTS.join(', ')})` : ''}:`,
    ...opts.tests.map((t) => benchmarkLine({ ...baseRun(opts), port: 0, tests: [t], pipeline: 0 }, 'PORT', 'P')),
  );
  try {
    for (const server of [redis, tessera, floor]) if (server !== undefined) await warmUp(server, baseRun(opts));
    const plan: RoundPlan = { pipelines: opts.pipelines, rounds: opts.rounds, tests: opts.tests, floorTests: FLOOR_TESTS, run: baseRun(opts) };
    const summaries = await runRounds({ redis, tessera, floor }, plan, log);
    return { summaries, dbsize: { redis: await dbsize(redis.port), tessera: await dbsize(tessera.port) }, shards };
  } finally {
    await Promise.all([redis.stop(), tessera.stop(), floor?.stop()]);
  }
}

/** The server's command line with its port and temporary directory as placeholders. */
function shownCommand(server: BenchServer, portName: string): string {
  return server.commandLine.replace(` ${server.port}`, ` ${portName}`).replace(/--dir \S+/, '--dir DIR');
}

function benchmarkLine(run: BenchRun, port: string, pipeline: string): string {
  return `redis-benchmark ${benchmarkArgs(run).join(' ').replace('-p 0', `-p ${port}`).replace('-P 0', `-P ${pipeline}`)}`;
}

async function sweep(opts: Options, defaultShards: number, commands: string[]): Promise<SweepRow[]> {
  const configs = sweepConfigs(availableParallelism(), defaultShards);
  commands.push(`# shard sweep: a fresh Tessera per configuration (${configs.map((c) => c.args.join(' ')).join('; ')}), `
    + `${opts.sweepRounds} pair(s) per test, tests ${SWEEP_TESTS.join(',')} at -P ${opts.pipelines.join(', ')}`);
  const redis = await startRedis();
  try {
    const plan: RoundPlan = { pipelines: opts.pipelines, rounds: opts.sweepRounds, tests: SWEEP_TESTS, floorTests: [], run: baseRun(opts) };
    return await runSweep(configs, redis, (args) => startTessera(opts, args), plan, log);
  } finally {
    await redis.stop();
  }
}

async function profile(opts: Options, commands: string[]): Promise<{ threads: ThreadSummary[]; command: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cpuprof-'));
  try {
    const tessera = await startTessera(opts, null, ['--cpu-prof', '--cpu-prof-dir', dir]);
    const run: BenchRun = { ...baseRun(opts), port: tessera.port, tests: PROFILE_TESTS, pipeline: PROFILE_PIPELINE, requests: PROFILE_REQUESTS };
    const line = benchmarkLine({ ...run, port: 0 }, 'PORT', String(PROFILE_PIPELINE));
    commands.push(`# profile: node --cpu-prof --cpu-prof-dir DIR ${TESSERA_MAIN} server ... under`, line, '# then SIGINT');
    try {
      await runBenchmark(run);
    } finally {
      // SIGINT, not SIGTERM's SIGKILL fallback path: the profiles are written as each thread exits.
      await tessera.stop('SIGINT');
    }
    const threads = summarizeProfiles(dir, REPO_ROOT);
    if (threads.length === 0) throw new Error('Tessera wrote no CPU profile');
    return { threads, command: line };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- machine ------------------------------------------------------------------------------

/** Samples the 1-minute load average every few seconds until stopped. */
function sampleLoad(): { stop(): number[] } {
  const samples = [loadavg()[0] ?? NaN];
  const timer = setInterval(() => samples.push(loadavg()[0] ?? NaN), LOAD_SAMPLE_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

function machineLines(m: Machine, tesseraShards: string, loadSamples: number[]): string[] {
  const load = loadavg().map((n) => n.toFixed(2)).join(' ');
  const during = loadSamples.length === 0 ? 'not sampled'
    : `min ${Math.min(...loadSamples).toFixed(2)}, median ${median(loadSamples).toFixed(2)}, max ${Math.max(...loadSamples).toFixed(2)}`;
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores available; RAM ${m.ramGiB} GiB; Linux ${m.kernel}`,
    `- Node.js ${m.node}; redis-server ${m.redisServer}; Tessera ${gitRevision(REPO_ROOT)}, shards: ${tesseraShards}`,
    `- Load average (1 min) at the start: ${loadSamples[0]?.toFixed(2) ?? 'n/a'}; sampled every ${LOAD_SAMPLE_MS / 1000} s during the run: ${during};`,
    `  at the end (1, 5, 15 min): ${load}. The benchmark itself keeps about 2 busy (server and redis-benchmark);`,
    '  more than that means other work shared the cores and skews the figures.',
  ];
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const load = sampleLoad();
  const machine = describeMachine();
  log(`Machine:\n${machineLines(machine, '(see below)', []).slice(0, 2).join('\n')}\n`);
  const commands = [`node dist/bench/compare.js ${process.argv.slice(2).join(' ')}`.trim()];

  log('Throughput (redis-benchmark):');
  const tp = await throughput(opts, commands);

  let memory: MemoryResult | null = null;
  if (opts.keys > 0) {
    log(`\nMemory: loading ${opts.keys} keys into a fresh redis-server, then a fresh Tessera...`);
    commands.push(`# memory: fresh servers, ${opts.keys} pipelined SETs (bench/lib/persist.ts bulkLoad), INFO memory and /proc/PID/status before and after`);
    memory = await compareMemory(opts.keys, opts.valueBytes, startRedis, () => startTessera(opts));
    log(`  redis ${(memory.redis.loadMs / 1000).toFixed(1)} s, tessera ${(memory.tessera.loadMs / 1000).toFixed(1)} s; ratio ${memory.targetRatio.toFixed(2)}`);
  }

  const defaultShards = Math.max(1, availableParallelism() - 1);
  let sweepRows: SweepRow[] | null = null;
  if (opts.sweep) {
    log('\nShard sweep:');
    sweepRows = await sweep(opts, defaultShards, commands);
  }

  let prof: { threads: ThreadSummary[]; command: string } | null = null;
  if (opts.profile) {
    log('\nProfile: Tessera under node --cpu-prof...');
    prof = await profile(opts, commands);
  }

  const text = renderReport({
    generatedAt: new Date(), machineLines: machineLines(machine, tp.shards, load.stop()), commands,
    rounds: opts.rounds, requests: opts.requests, keyspace: opts.keyspace, summaries: tp.summaries, dbsize: tp.dbsize,
    memory, sweep: sweepRows, defaultShards, profile: prof?.threads ?? null, profileCommand: prof?.command ?? '',
  });
  log('\n' + text.slice(text.indexOf('## Throughput')));
  writeFileSync(opts.results, text);
  log(`Wrote ${relative(process.cwd(), opts.results) || opts.results}`);

  if (opts.types) {
    log('');
    const argv = process.argv.slice(2);
    await runTypes(parseTypesOptions(argv, process.env, false), `node dist/bench/compare.js ${argv.join(' ')}`.trim());
  }
  if (opts.lists) {
    log('');
    const argv = process.argv.slice(2);
    await runLists(parseListsOptions(argv, process.env, false), `node dist/bench/compare.js ${argv.join(' ')}`.trim());
  }
  if (opts.scripting) {
    log('');
    const argv = process.argv.slice(2);
    await runScripting(parseScriptingOptions(argv, process.env, false), `node dist/bench/compare.js ${argv.join(' ')}`.trim());
  }
  if (opts.data17) {
    log('');
    const argv = process.argv.slice(2);
    await runData17(parseData17Options(argv, process.env, false), `node dist/bench/compare.js ${argv.join(' ')}`.trim());
  }
}

await runBench('bench', main, () => {
  killWritersNow();
  killAllNow();
}, async () => {
  killWritersNow();
  await stopAll();
});
