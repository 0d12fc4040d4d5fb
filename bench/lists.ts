// Lists and sorted sets (issue 15), Tessera against redis-server on the same machine in the same run:
//   1. throughput of redis-benchmark's lpush, rpush, lpop, rpop, lrange_100, lrange_600, zadd and
//      zpopmin tests and of ZRANGEBYSCORE and ZRANK as custom commands, at each pipeline depth, in
//      pairs whose order alternates (a test a side does not have yet is reported, not measured);
//   2. memory per element of four cases (many small lists, one big list, many small sorted sets, one
//      big sorted set): Tessera's RSS growth against Redis's used_memory growth;
//   3. BLPOP wake-up latency, p50 and p99, with N blocked consumers and a producer.
// Rewrites bench/LISTS.md. Run alone with `npm run bench:lists`; `npm run bench` runs it too.

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import { REPO_ROOT, startFreshRedis, startFreshTessera, type FreshServer } from './lib/fresh-servers.js';
import { parseFlags } from './lib/flags.js';
import { loadCommands } from './lib/line-load.js';
import { blpopLatency, type WakeLatency, type WakePair } from './lib/list-blocking.js';
import {
  BENCH_LIST, BENCH_ZSET, LIST_MEMORY_CASES, PROBE_KEYS, PROBES, rankZsetCommand, rankZsetCommands, refillCommand, refillTarget, shortError,
} from './lib/list-data.js';
import { compareListCase } from './lib/list-memory.js';
import { renderListsReport, type ListsReport } from './lib/lists-report.js';
import { describeMachine, gitRevision } from './lib/machine.js';
import { alternate } from './lib/order.js';
import { benchmarkArgs, runBenchmark } from './lib/redis-benchmark.js';
import { RespClient } from './lib/resp-client.js';
import { runBench } from './lib/run.js';
import { killAllNow, stopAll, type BenchServer } from './lib/servers.js';
import { median } from './lib/stats.js';
import { runRounds, testLabel, type RoundPlan } from './lib/throughput.js';

const SECTIONS = ['throughput', 'memory', 'blocking'] as const;
type Section = (typeof SECTIONS)[number];
export const LIST_TESTS = ['lpush', 'rpush', 'lpop', 'rpop', 'lrange_100', 'lrange_600', 'zadd', 'zpopmin', 'zrangebyscore', 'zrank'];
const LOAD_CONNECTIONS = 4;
const WARM_UP_REQUESTS = 20_000;

export interface ListsOptions {
  rounds: number;
  requests: number;
  clients: number;
  pipelines: number[];
  tests: string[];
  /** Members of rankzset, and redis-benchmark's -r. */
  keyspace: number;
  /** Keys of the small memory cases. */
  keys: number;
  /** Elements of the big memory cases. */
  elements: number;
  /** Elements of the big sorted set when it differs (its own scale: a slow load can be measured smaller). */
  zsetElements: number;
  sections: Set<Section>;
  cases: string[];
  consumers: number;
  wakeups: number;
  shards: number | null;
  tesseraArgs: string[];
  against: 'tessera' | 'redis';
  results: string;
}

export const LISTS_HELP = `Lists and sorted sets (issue 15; also run by npm run bench unless --lists no):
  --lists-rounds N      rounds (pairs) per test and for the BLPOP latency (default 3; env BENCH_LISTS_ROUNDS)
  --lists-requests N    requests per redis-benchmark run (default 200000; env BENCH_LISTS_REQUESTS)
  --lists-pipelines L   pipeline depths (default 1,16; env BENCH_LISTS_PIPELINES)
  --lists-clients N     redis-benchmark connections (default 50; env BENCH_LISTS_CLIENTS)
  --lists-tests LIST    any of ${LIST_TESTS.join(',')} (default all; env BENCH_LISTS_TESTS)
  --lists-keys N        keys of the small memory cases (n lists, n sorted sets, 10 elements each)
                        (default 1000000; env BENCH_LISTS_KEYS)
  --lists-elements N    elements of the big memory cases (one list, one sorted set)
                        (default 10000000; env BENCH_LISTS_ELEMENTS; 1000000 for a quicker run)
  --lists-zset-elements N  the big sorted set's own element count (default: --lists-elements;
                        env BENCH_LISTS_ZSET_ELEMENTS)
  --lists-sections L    any of ${SECTIONS.join(',')} (default all; env BENCH_LISTS_SECTIONS)
  --lists-cases L       memory cases, any of ${LIST_MEMORY_CASES.map((c) => c.id).join(',')} (default all; env BENCH_LISTS_CASES)
  --lists-consumers N   blocked BLPOP consumers (default 16; env BENCH_LISTS_CONSUMERS)
  --lists-wakeups N     recorded BLPOP wake-ups per server and round (default 10000; env BENCH_LISTS_WAKEUPS)
  --lists-against S     tessera (default), or redis: a second redis-server in Tessera's place, to check
                        the harness itself (env BENCH_LISTS_AGAINST)
  --lists-results FILE  report to rewrite (default bench/LISTS.md; env BENCH_LISTS_RESULTS)
  --shards N, --tessera-args S  as for npm run bench`;

const HELP = `Usage: npm run bench:lists [-- OPTIONS]   (or node dist/bench/lists.js OPTIONS)\n${LISTS_HELP}`;
const KNOWN = ['lists-rounds', 'lists-requests', 'lists-clients', 'lists-pipelines', 'lists-tests', 'lists-keys', 'lists-elements', 'lists-zset-elements', 'lists-sections',
  'lists-cases', 'lists-consumers', 'lists-wakeups', 'lists-against', 'lists-results', 'shards', 'tessera-args'];

/** Reads the --lists-* options (and --shards, --tessera-args); `strict` rejects other flags. */
export function parseListsOptions(argv: string[], env: NodeJS.ProcessEnv, strict: boolean): ListsOptions {
  const { raw, int, list } = parseFlags(argv, HELP, { env, ...(strict ? { known: KNOWN } : {}) });
  const pick = (name: string, all: readonly string[]): string[] => {
    const got = list(name, all.join(','));
    const bad = got.filter((g) => !all.includes(g));
    if (bad.length > 0) throw new Error(`--${name}: unknown ${bad.join(', ')}\n${HELP}`);
    return got;
  };
  const against = raw('lists-against', 'tessera');
  if (against !== 'tessera' && against !== 'redis') throw new Error(`--lists-against takes tessera or redis\n${HELP}`);
  const shards = raw('shards', '');
  return {
    rounds: int('lists-rounds', 3, 1),
    requests: int('lists-requests', 200_000, 1),
    clients: int('lists-clients', 50, 1),
    pipelines: list('lists-pipelines', '1,16').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    tests: pick('lists-tests', LIST_TESTS),
    keyspace: 100_000,
    keys: int('lists-keys', 1_000_000, 1),
    elements: int('lists-elements', 10_000_000, 1),
    zsetElements: int('lists-zset-elements', int('lists-elements', 10_000_000, 1), 1),
    sections: new Set(pick('lists-sections', SECTIONS) as Section[]),
    cases: pick('lists-cases', LIST_MEMORY_CASES.map((c) => c.id)),
    consumers: int('lists-consumers', 16, 1),
    wakeups: int('lists-wakeups', 10_000, 1),
    shards: shards === '' ? null : int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    against,
    results: resolve(REPO_ROOT, raw('lists-results', 'bench/LISTS.md')),
  };
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function starters(opts: ListsOptions): { redis: () => Promise<FreshServer>; b: () => Promise<FreshServer>; bName: string } {
  const shardArgs = opts.shards === null ? [] : ['--shards', String(opts.shards)];
  return {
    redis: () => startFreshRedis(),
    b: opts.against === 'redis'
      ? async () => ({ ...(await startFreshRedis()), name: 'redis-server (B)' })
      : () => startFreshTessera([...shardArgs, ...opts.tesseraArgs]),
    bName: opts.against === 'redis' ? 'redis-server (B)' : 'Tessera',
  };
}

/** The server's command line with its port and temporary directory as placeholders. */
function shown(server: BenchServer, portName: string): string {
  return server.commandLine.replace(` ${server.port}`, ` ${portName}`).replace(/--dir \S+/, '--dir DIR');
}

// ---- 1. throughput -------------------------------------------------------------------------

/** Each test's probe on `server`: null when it ran, else the error reply (the test is not measured). */
export async function probeTests(port: number, tests: readonly string[]): Promise<Map<string, string | null>> {
  const client = await RespClient.connect(port);
  const out = new Map<string, string | null>();
  try {
    for (const t of tests) {
      const cmd = PROBES[t];
      if (cmd === undefined) throw new Error(`no probe for test ${t}`);
      const reply = await client.call(...cmd);
      out.set(t, reply instanceof Error ? shortError(reply.message) : null);
    }
    await client.call('DEL', ...PROBE_KEYS);
  } finally {
    client.close();
  }
  return out;
}

/** Elements numbered on per server and key, so that refilled sorted-set members are new. */
const refillNext = new WeakMap<BenchServer, Map<string, number>>();

/** Brings the test's key up to what the run needs (untimed; see refillTarget). */
async function refill(server: BenchServer, test: string, opts: ListsOptions, pipeline: number): Promise<void> {
  const target = refillTarget(test, opts.requests, opts.clients, pipeline);
  if (target === null) return;
  const client = await RespClient.connect(server.port);
  let have: unknown;
  try {
    have = await client.call(target.key === BENCH_ZSET ? 'ZCARD' : 'LLEN', target.key);
  } finally {
    client.close();
  }
  if (typeof have !== 'number') throw new Error(`${server.name}: counting ${target.key} replied ${String(have)}`);
  const missing = target.count - have;
  if (missing <= 0) return;
  const next = refillNext.get(server) ?? new Map<string, number>();
  refillNext.set(server, next);
  const first = next.get(target.key) ?? 0;
  next.set(target.key, first + missing);
  await loadCommands(server.port, Math.ceil(missing / 100), (i) => refillCommand(target.key, first, missing, i),
    { connections: 1, batch: 100, what: `refill of ${target.key}` });
}

async function throughput(opts: ListsOptions, commands: string[]): Promise<NonNullable<ListsReport['throughput']>> {
  const start = starters(opts);
  const redis = await start.redis();
  const b = await start.b();
  try {
    log(`redis-server pid ${redis.pid}; ${b.name} pid ${b.pid}`);
    const probes = { redis: await probeTests(redis.port, opts.tests), b: await probeTests(b.port, opts.tests) };
    const tests = opts.tests.filter((t) => probes.redis.get(t) === null && probes.b.get(t) === null);
    const skipped = opts.tests.filter((t) => !tests.includes(t)).map((t) => ({
      test: t, label: testLabel(t, 0).replace(' -P 0', ''), redis: probes.redis.get(t) ?? null, b: probes.b.get(t) ?? null,
    }));
    for (const s of skipped) log(`  not measured: ${s.label} (redis-server: ${s.redis ?? 'ok'}; ${b.name}: ${s.b ?? 'ok'})`);
    const run: RoundPlan['run'] = { clients: opts.clients, requests: opts.requests, keyspace: opts.keyspace, valueBytes: 32 };
    const prepare = (server: BenchServer, test: string, pipeline: number): Promise<void> => refill(server, test, opts, pipeline);
    for (const server of [redis, b]) {
      if (tests.includes('zrank') || tests.includes('zrangebyscore')) {
        await loadCommands(server.port, rankZsetCommands(opts.keyspace), (i) => rankZsetCommand(i, opts.keyspace),
          { connections: LOAD_CONNECTIONS, what: 'ZADD rankzset' });
      }
      for (const test of tests) {
        await prepare(server, test, 16);
        await runBenchmark({ ...run, port: server.port, tests: [test], pipeline: 16, requests: WARM_UP_REQUESTS });
      }
    }
    commands.push(
      '# throughput: servers (ports are picked free at run time)', shown(redis, 'PORT_A'), shown(b, 'PORT_B'),
      `# each probed per test (bench/lib/list-data.ts PROBES), loaded with rankzset (${opts.keyspace} members m:<12 digits> scored by their number),`,
      `# then an unmeasured warm-up: every test once at -P 16 with -n ${WARM_UP_REQUESTS}; before each pop run its key is refilled to`,
      `# -n + clients x P elements, before each lrange run ${BENCH_LIST} to >= 600 (untimed, RPUSH/ZADD 100 per command)`,
      `# per depth P in ${opts.pipelines.join(', ')}, ${opts.rounds} rounds; per round and test, PORT_A and PORT_B (order alternating):`,
      ...tests.map((t) => `redis-benchmark ${benchmarkArgs({ ...run, port: 0, tests: [t], pipeline: 0 }).join(' ')
        .replace('-p 0', '-p PORT').replace('-P 0', '-P P')}`),
    );
    const plan: RoundPlan = { pipelines: opts.pipelines, rounds: opts.rounds, tests, floorTests: [], run, prepare };
    const summaries = tests.length === 0 ? [] : await runRounds({ redis, tessera: b }, plan, log);
    return { summaries, skipped, rounds: opts.rounds, requests: opts.requests, keyspace: opts.keyspace, clients: opts.clients, pipelines: opts.pipelines };
  } finally {
    await Promise.all([redis.stop(), b.stop()]);
  }
}

// ---- 2. memory -----------------------------------------------------------------------------

async function memory(opts: ListsOptions, commands: string[]): Promise<NonNullable<ListsReport['memory']>> {
  const start = starters(opts);
  const results = [];
  commands.push(`# memory: per case a fresh redis-server, loaded then stopped, then a fresh ${start.bName} (same flags as above);`,
    `# ${opts.keys} small keys, ${opts.elements} elements in the big list, ${opts.zsetElements} in the big sorted set; pipelined RPUSH/ZADD over ${LOAD_CONNECTIONS} connections,`,
    '# 1000 commands per write (bench/lib/list-data.ts); INFO memory used_memory and /proc/PID/status VmRSS before and after');
  for (const c of LIST_MEMORY_CASES.filter((m) => opts.cases.includes(m.id))) {
    const n = c.id === 'big-zset' ? opts.zsetElements : c.big ? opts.elements : opts.keys;
    const r = await compareListCase(c, n, LOAD_CONNECTIONS, () => start.redis(), () => start.b());
    results.push(r);
    const side = (name: string, g: typeof r.redis): string => (typeof g === 'string' ? `${name} failed: ${g}`
      : `${name} ${(g.usedBytes / r.elements).toFixed(1)} B/el used, ${(g.rssBytes / r.elements).toFixed(1)} RSS (${g.encoding}, ${(g.loadMs / 1000).toFixed(1)} s)`);
    log(`  ${r.description}: ${side('redis', r.redis)}; ${side(start.bName, r.tessera)}; ratio ${r.ratio.toFixed(2)}`);
  }
  return { results, keys: opts.keys, elements: opts.elements, zsetElements: opts.zsetElements };
}

// ---- 3. BLPOP wake-up latency --------------------------------------------------------------

async function blocking(opts: ListsOptions, commands: string[]): Promise<NonNullable<ListsReport['blocking']>> {
  const start = starters(opts);
  const redis = await start.redis();
  const b = await start.b();
  const warmup = Math.min(1000, opts.wakeups);
  const bopts = { consumers: opts.consumers, wakeups: opts.wakeups, warmup };
  const error: { redis: string | null; b: string | null } = { redis: null, b: null };
  const pairs: WakePair[] = [];
  commands.push(`# BLPOP: the servers started as above; per round, on each (order alternating): ${opts.consumers} consumers`,
    `# BLPOP blpop:<i> 0, a producer LPUSH blpop:<i> job round robin, ${warmup} unrecorded then ${opts.wakeups} recorded wake-ups (bench/lib/list-blocking.ts)`);
  const attempt = async (server: BenchServer, side: 'redis' | 'b'): Promise<WakeLatency | null> => {
    if (error[side] !== null) return null;
    try {
      return await blpopLatency(server.port, bopts);
    } catch (err) {
      error[side] = shortError(err instanceof Error ? err.message : String(err));
      return null;
    }
  };
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      const [r, t] = await alternate(round, () => attempt(redis, 'redis'), () => attempt(b, 'b'));
      if (r === null || t === null) {
        log(`  BLPOP round ${round}: not measured (redis-server: ${error.redis ?? 'ok'}; ${b.name}: ${error.b ?? 'ok'})`);
        break;
      }
      pairs.push({ round, redis: r, b: t });
      log(`  BLPOP round ${round}: redis p50 ${r.p50Us.toFixed(1)} us p99 ${r.p99Us.toFixed(1)} us | ${b.name} p50 ${t.p50Us.toFixed(1)} us`
        + ` p99 ${t.p99Us.toFixed(1)} us | ratio p50 ${(t.p50Us / r.p50Us).toFixed(2)} p99 ${(t.p99Us / r.p99Us).toFixed(2)}`);
    }
  } finally {
    await Promise.all([redis.stop(), b.stop()]);
  }
  // A side that failed in a later round leaves the earlier pairs valid, but say so.
  return { pairs, consumers: opts.consumers, wakeups: opts.wakeups, warmup, error };
}

// ---- main ----------------------------------------------------------------------------------

/** Runs the selected parts, rewrites the report and returns its path. */
export async function runLists(opts: ListsOptions, commandLine: string): Promise<string> {
  const started = Date.now();
  const loads: number[] = [loadavg()[0] ?? NaN];
  const timer = setInterval(() => loads.push(loadavg()[0] ?? NaN), 5000);
  timer.unref();
  const commands = [commandLine];
  const report: ListsReport = {
    generatedAt: new Date(), command: commandLine, machineLines: [], sideB: starters(opts).bName, commands,
    throughput: null, memory: null, blocking: null,
  };
  try {
    if (opts.sections.has('throughput')) {
      log('Lists and sorted sets, throughput (redis-benchmark):');
      report.throughput = await throughput(opts, commands);
    }
    if (opts.sections.has('memory')) {
      log(`\nLists and sorted sets, memory (${opts.keys} small keys, ${opts.elements} elements in each big one):`);
      report.memory = await memory(opts, commands);
    }
    if (opts.sections.has('blocking')) {
      log(`\nBLPOP wake-up latency (${opts.consumers} consumers, ${opts.wakeups} wake-ups per server and round):`);
      report.blocking = await blocking(opts, commands);
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
  const text = renderListsReport(report);
  log('\n' + text.slice(text.indexOf('## Headline')));
  writeFileSync(opts.results, text);
  log(`Wrote ${relative(process.cwd(), opts.results) || opts.results} (${minutes.toFixed(1)} minutes)`);
  return opts.results;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  await runBench('bench:lists', async () => {
    const opts = parseListsOptions(process.argv.slice(2), process.env, true);
    await runLists(opts, `node dist/bench/lists.js ${process.argv.slice(2).join(' ')}`.trim());
  }, killAllNow, stopAll);
}
