// Hashes and sets (issue 14), Tessera against redis-server on the same machine in the same run:
//   1. throughput of redis-benchmark's hset, sadd and spop tests and of HGET, HGETALL (10 fields)
//      and SISMEMBER as custom commands, at each pipeline depth, in pairs whose order alternates;
//   2. memory per element of four cases (many small hashes, one big hash, many small sets, one big
//      set): Tessera's RSS growth against Redis's used_memory growth;
//   3. HSET on a hash of n fields against a 10-field hash with appendonly yes (everysec), and
//      4. BGSAVE while a client rewrites the big hash against one that rewrites the small hash.
// Rewrites bench/TYPES.md. Run alone with `npm run bench:types`; `npm run bench` runs it too.

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import { REPO_ROOT, startFreshRedis, startFreshTessera, type FreshServer } from './lib/fresh-servers.js';
import { parseFlags } from './lib/flags.js';
import { describeMachine, gitRevision } from './lib/machine.js';
import { RespClient } from './lib/resp-client.js';
import { runBench } from './lib/run.js';
import { killAllNow, stopAll, type BenchServer } from './lib/servers.js';
import { median } from './lib/stats.js';
import { runRounds, type RoundPlan, type TestSummary } from './lib/throughput.js';
import { loadCommands } from './lib/line-load.js';
import { MEMORY_CASES, resp, smallHashCommand, smallSetCommand } from './lib/type-data.js';
import { compareCase, type MemoryCaseResult } from './lib/type-memory.js';
import { AOF_ARGS, aofRounds, bgsaveRounds, hsetWriterCommand, killWritersNow, loadHashes } from './lib/type-persist.js';
import { benchmarkArgs, runBenchmark } from './lib/redis-benchmark.js';
import { renderTypesReport, type TypesReport } from './lib/types-report.js';

const SECTIONS = ['throughput', 'memory', 'aof', 'bgsave'] as const;
type Section = (typeof SECTIONS)[number];
const TESTS = ['hset', 'sadd', 'spop', 'hget', 'hgetall', 'sismember'];
const LOAD_CONNECTIONS = 4;
const WARM_UP_REQUESTS = 20_000;

export interface TypesOptions {
  rounds: number;
  requests: number;
  clients: number;
  pipelines: number[];
  tests: string[];
  keyspace: number;
  /** n of the memory cases, the log and the snapshot hash. */
  count: number;
  sections: Set<Section>;
  /** Memory cases to run (MEMORY_CASES ids). */
  cases: string[];
  writers: number;
  shards: number | null;
  tesseraArgs: string[];
  /** 'redis': the second side is another redis-server, to check the harness itself. */
  against: 'tessera' | 'redis';
  results: string;
}

export const TYPES_HELP = `Hashes and sets (issue 14; also run by npm run bench unless --types no):
  --types-rounds N      rounds (pairs) per test, AOF run and BGSAVE (default 3; env BENCH_TYPES_ROUNDS)
  --types-requests N    requests per redis-benchmark run (default 200000; env BENCH_TYPES_REQUESTS)
  --types-pipelines L   pipeline depths (default 1,16; env BENCH_TYPES_PIPELINES)
  --types-clients N     redis-benchmark connections (default 50; env BENCH_TYPES_CLIENTS)
  --types-tests LIST    any of ${TESTS.join(',')} (default all; env BENCH_TYPES_TESTS)
  --types-count N       n of the memory cases (n small hashes, a hash of n fields, n small sets, a set
                        of n members) and of the hash the log and snapshot parts rewrite
                        (default 1000000; env BENCH_TYPES_COUNT; 100000 for a quick run)
  --types-sections L    any of ${SECTIONS.join(',')} (default all; env BENCH_TYPES_SECTIONS)
  --types-cases L      memory cases, any of ${MEMORY_CASES.map((c) => c.id).join(',')} (default all; env BENCH_TYPES_CASES)
  --types-writers N     redis-benchmark connections rewriting the hash during BGSAVE (default 4)
  --types-against S     tessera (default), or redis: a second redis-server in Tessera's place, to check
                        the harness before Tessera has the commands (env BENCH_TYPES_AGAINST)
  --types-results FILE  report to rewrite (default bench/TYPES.md; env BENCH_TYPES_RESULTS)
  --shards N, --tessera-args S  as for npm run bench`;

const HELP = `Usage: npm run bench:types [-- OPTIONS]   (or node dist/bench/types.js OPTIONS)\n${TYPES_HELP}`;
const KNOWN = ['types-rounds', 'types-requests', 'types-clients', 'types-pipelines', 'types-tests', 'types-count', 'types-sections', 'types-cases',
  'types-writers', 'types-against', 'types-results', 'shards', 'tessera-args'];

/** Reads the --types-* options (and --shards, --tessera-args); `known` rejects other flags. */
export function parseTypesOptions(argv: string[], env: NodeJS.ProcessEnv, strict: boolean): TypesOptions {
  const { raw, int, list } = parseFlags(argv, HELP, { env, ...(strict ? { known: KNOWN } : {}) });
  const tests = list('types-tests', TESTS.join(','));
  const badTests = tests.filter((t) => !TESTS.includes(t));
  if (badTests.length > 0) throw new Error(`unknown tests: ${badTests.join(', ')}\n${HELP}`);
  const sections = list('types-sections', SECTIONS.join(','));
  const badSections = sections.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (badSections.length > 0) throw new Error(`unknown sections: ${badSections.join(', ')}\n${HELP}`);
  const cases = list('types-cases', MEMORY_CASES.map((c) => c.id).join(','));
  const badCases = cases.filter((c) => !MEMORY_CASES.some((m) => m.id === c));
  if (badCases.length > 0) throw new Error(`unknown memory cases: ${badCases.join(', ')}\n${HELP}`);
  const against = raw('types-against', 'tessera');
  if (against !== 'tessera' && against !== 'redis') throw new Error(`--types-against takes tessera or redis\n${HELP}`);
  const shards = raw('shards', '');
  return {
    rounds: int('types-rounds', 3, 1),
    requests: int('types-requests', 200_000, 1),
    clients: int('types-clients', 50, 1),
    pipelines: list('types-pipelines', '1,16').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    tests,
    keyspace: 100_000,
    count: int('types-count', 1_000_000, 10),
    sections: new Set(sections as Section[]),
    cases,
    writers: int('types-writers', 4, 1),
    shards: shards === '' ? null : int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    against,
    results: resolve(REPO_ROOT, raw('types-results', 'bench/TYPES.md')),
  };
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function starters(opts: TypesOptions): { redis: (args?: string[]) => Promise<FreshServer>; b: (args?: string[]) => Promise<FreshServer>; bName: string } {
  const shardArgs = opts.shards === null ? [] : ['--shards', String(opts.shards)];
  return {
    redis: (args = []) => startFreshRedis(args),
    b: opts.against === 'redis'
      ? async (args = []) => ({ ...(await startFreshRedis(args)), name: 'redis-server (B)' })
      : (args = []) => startFreshTessera([...shardArgs, ...opts.tesseraArgs, ...args]),
    bName: opts.against === 'redis' ? 'redis-server (B)' : 'Tessera',
  };
}

/** The server's command line with its port and temporary directory as placeholders. */
function shown(server: BenchServer, portName: string): string {
  return server.commandLine.replace(` ${server.port}`, ` ${portName}`).replace(/--dir \S+/, '--dir DIR');
}

// ---- 1. throughput -------------------------------------------------------------------------

/** Members `pop:` + 12 digits added to myset before each SPOP run, numbered on per server. */
const refillNext = new WeakMap<BenchServer, number>();

async function refillForSpop(server: BenchServer, want: number): Promise<void> {
  const client = await RespClient.connect(server.port);
  let have: unknown;
  try {
    have = await client.call('SCARD', 'myset');
  } finally {
    client.close();
  }
  if (typeof have !== 'number') throw new Error(`${server.name}: SCARD myset replied ${String(have)}`);
  const missing = want - have;
  if (missing <= 0) return;
  const first = refillNext.get(server) ?? 0;
  refillNext.set(server, first + missing);
  const perCommand = 100;
  await loadCommands(server.port, Math.ceil(missing / perCommand), (i) => {
    const members: string[] = [];
    for (let k = i * perCommand; k < Math.min(missing, (i + 1) * perCommand); k++) members.push(`pop:${String(first + k).padStart(12, '0')}`);
    return resp(['SADD', 'myset', ...members]);
  }, { connections: 1, batch: 100 });
}

/** The keys the custom reads hit: hashes for HGET and HGETALL, sets for SISMEMBER. */
async function prepopulate(server: BenchServer, keyspace: number, tests: string[]): Promise<void> {
  if (tests.includes('hget') || tests.includes('hgetall')) await loadCommands(server.port, keyspace, smallHashCommand, { connections: LOAD_CONNECTIONS });
  if (tests.includes('sismember')) await loadCommands(server.port, keyspace, smallSetCommand, { connections: LOAD_CONNECTIONS });
}

async function throughput(opts: TypesOptions, commands: string[]): Promise<NonNullable<TypesReport['throughput']>> {
  const start = starters(opts);
  const redis = await start.redis();
  const b = await start.b();
  try {
    log(`redis-server pid ${redis.pid}; ${b.name} pid ${b.pid}`);
    const run: RoundPlan['run'] = { clients: opts.clients, requests: opts.requests, keyspace: opts.keyspace, valueBytes: 32 };
    // redis-benchmark may send up to one pipeline per connection beyond -n.
    const prepare = async (server: BenchServer, test: string, pipeline: number): Promise<void> => {
      if (test === 'spop') await refillForSpop(server, opts.requests + opts.clients * pipeline);
    };
    for (const server of [redis, b]) {
      await prepopulate(server, opts.keyspace, opts.tests);
      for (const test of opts.tests) {
        await prepare(server, test, 16);
        await runBenchmark({ ...run, port: server.port, tests: [test], pipeline: 16, requests: WARM_UP_REQUESTS });
      }
    }
    commands.push(
      '# throughput: servers (ports are picked free at run time)', shown(redis, 'PORT_A'), shown(b, 'PORT_B'),
      `# each loaded with ${opts.keyspace} hashes (HSET hash:<12 digits> field:00 v... .. field:09 v...) and as many sets (SADD set:<12 digits> 1 2 3 4 5),`,
      `# then an unmeasured warm-up: every test once at -P 16 with -n ${WARM_UP_REQUESTS}; before each spop run myset is refilled to -n + clients x P members`,
      `# per depth P in ${opts.pipelines.join(', ')}, ${opts.rounds} rounds; per round and test, PORT_A and PORT_B (order alternating):`,
      ...opts.tests.map((t) => `redis-benchmark ${benchmarkArgs({ ...run, port: 0, tests: [t], pipeline: 0 }).join(' ')
        .replace('-p 0', '-p PORT').replace('-P 0', '-P P')}`),
    );
    const plan: RoundPlan = { pipelines: opts.pipelines, rounds: opts.rounds, tests: opts.tests, floorTests: [], run, prepare };
    const summaries: TestSummary[] = await runRounds({ redis, tessera: b }, plan, log);
    return { summaries, rounds: opts.rounds, requests: opts.requests, keyspace: opts.keyspace, clients: opts.clients };
  } finally {
    await Promise.all([redis.stop(), b.stop()]);
  }
}

// ---- 2. memory -----------------------------------------------------------------------------

async function memory(opts: TypesOptions, commands: string[]): Promise<MemoryCaseResult[]> {
  const start = starters(opts);
  const results: MemoryCaseResult[] = [];
  commands.push(`# memory: per case a fresh redis-server, loaded then stopped, then a fresh ${start.bName} (same flags as above);`,
    `# n = ${opts.count}; pipelined HSET/SADD over ${LOAD_CONNECTIONS} connections, 1000 commands per write (bench/lib/type-data.ts);`,
    '# INFO memory used_memory and /proc/PID/status VmRSS before and after');
  for (const c of MEMORY_CASES.filter((m) => opts.cases.includes(m.id))) {
    const r = await compareCase(c, opts.count, LOAD_CONNECTIONS, () => start.redis(), () => start.b());
    results.push(r);
    log(`  ${r.description}: redis ${(r.redis.usedBytes / r.elements).toFixed(1)} B/el used (${r.redis.encoding}, ${(r.redis.loadMs / 1000).toFixed(1)} s),`
      + ` ${start.bName} ${(r.tessera.rssBytes / r.elements).toFixed(1)} B/el RSS, ${(r.tessera.usedBytes / r.elements).toFixed(1)} used`
      + ` (${r.tessera.encoding}, ${(r.tessera.loadMs / 1000).toFixed(1)} s); ratio ${r.ratio.toFixed(2)}`);
  }
  return results;
}

// ---- 3 + 4. log and snapshot ---------------------------------------------------------------

async function persistence(opts: TypesOptions, commands: string[]): Promise<Pick<TypesReport, 'aof' | 'bgsave'>> {
  const start = starters(opts);
  const redis = await start.redis([...AOF_ARGS]);
  const b = await start.b([...AOF_ARGS]);
  try {
    log(`redis-server pid ${redis.pid}; ${b.name} pid ${b.pid}; loading the ${opts.count}-field hash into each`);
    const loadMs = { redis: await loadHashes(redis, opts.count, LOAD_CONNECTIONS), tessera: await loadHashes(b, opts.count, LOAD_CONNECTIONS) };
    commands.push('# appendonly and BGSAVE: servers', shown(redis, 'PORT_A'), shown(b, 'PORT_B'),
      `# each loaded with bighash (${opts.count} fields field:<12 digits>, 8-byte values; 10 per HSET) and smallhash (10 such fields)`);
    let aof: TypesReport['aof'] = null;
    if (opts.sections.has('aof')) {
      const plan = { rounds: opts.rounds, pipelines: opts.pipelines, requests: opts.requests, clients: opts.clients, n: opts.count };
      commands.push(`# per depth P in ${opts.pipelines.join(', ')}, ${opts.rounds} rounds; small and big hash, on PORT_A and PORT_B (orders alternating):`,
        ...(['small', 'big'] as const).map((t) => `redis-benchmark ${benchmarkArgs({
          port: 0, tests: [`hset-${t}`], pipeline: 0, clients: opts.clients, requests: opts.requests, keyspace: t === 'big' ? opts.count : 10, valueBytes: 8,
        }).join(' ').replace('-p 0', '-p PORT').replace('-P 0', '-P P')}`));
      aof = { pairs: await aofRounds(redis, b, plan, log), n: opts.count, requests: opts.requests, clients: opts.clients, loadMs };
    }
    let bgsave: TypesReport['bgsave'] = null;
    if (opts.sections.has('bgsave')) {
      commands.push(`# BGSAVE, ${opts.rounds} rounds of: none, small, big writer; the writer (killed after the save):`,
        ...(['small', 'big'] as const).map((t) => `redis-benchmark -p PORT ${hsetWriterCommand(t, opts.count, opts.writers).join(' ')}`));
      bgsave = { pairs: await bgsaveRounds(redis, b, opts.rounds, opts.count, opts.writers, log), n: opts.count, writerClients: opts.writers };
    }
    return { aof, bgsave };
  } finally {
    await Promise.all([redis.stop(), b.stop()]);
  }
}

// ---- main ----------------------------------------------------------------------------------

/** Runs the selected parts, rewrites the report and returns its path. */
export async function runTypes(opts: TypesOptions, commandLine: string): Promise<string> {
  const started = Date.now();
  const loads: number[] = [loadavg()[0] ?? NaN];
  const timer = setInterval(() => loads.push(loadavg()[0] ?? NaN), 5000);
  timer.unref();
  const commands = [commandLine];
  const start = starters(opts);
  const report: TypesReport = {
    generatedAt: new Date(), command: commandLine, machineLines: [], sideB: start.bName, commands,
    throughput: null, memory: null, aof: null, bgsave: null,
  };
  try {
    if (opts.sections.has('throughput')) {
      log('Hashes and sets, throughput (redis-benchmark):');
      report.throughput = await throughput(opts, commands);
    }
    if (opts.sections.has('memory')) {
      log(`\nHashes and sets, memory (n = ${opts.count}):`);
      report.memory = await memory(opts, commands);
    }
    if (opts.sections.has('aof') || opts.sections.has('bgsave')) {
      log(`\nHashes and sets, appendonly and BGSAVE (a ${opts.count}-field hash against a 10-field one):`);
      Object.assign(report, await persistence(opts, commands));
    }
  } finally {
    clearInterval(timer);
  }
  const m = describeMachine();
  const minutes = (Date.now() - started) / 60_000;
  report.machineLines = [
    `- CPU: ${m.cpu}, ${m.cores} cores available; RAM ${m.ramGiB} GiB; Linux ${m.kernel}`,
    `- Node.js ${m.node}; redis-server ${m.redisServer}; Tessera ${gitRevision(REPO_ROOT)}${opts.shards === null ? '' : `, --shards ${opts.shards}`}`,
    `- Load average (1 min) at the start ${loads[0]?.toFixed(2) ?? 'n/a'}, median during the run ${median(loads).toFixed(2)},`
      + ` max ${Math.max(...loads.filter(Number.isFinite)).toFixed(2)} (the benchmark itself keeps about 2 busy)`,
    `- This run took ${minutes.toFixed(1)} minutes.`,
  ];
  const text = renderTypesReport(report);
  log('\n' + text.slice(text.indexOf('## Headline')));
  writeFileSync(opts.results, text);
  log(`Wrote ${relative(process.cwd(), opts.results) || opts.results} (${minutes.toFixed(1)} minutes)`);
  return opts.results;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  await runBench('bench:types', async () => {
    const opts = parseTypesOptions(process.argv.slice(2), process.env, true);
    await runTypes(opts, `node dist/bench/types.js ${process.argv.slice(2).join(' ')}`.trim());
  }, () => {
    killWritersNow();
    killAllNow();
  }, async () => {
    killWritersNow();
    await stopAll();
  });
}
