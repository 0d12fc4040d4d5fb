// Scripts, transactions and pub/sub (issue 16), Tessera against redis-server on the same machine in
// the same run, in pairs whose order alternates: EVALSHA of a 3-command script (redis-benchmark),
// MULTI + the same 3 commands + EXEC as one pipeline unit (bench/lib/unit-load.ts), and PUBLISH to
// 1, 10 and 100 subscribers counted as messages delivered per second (bench/lib/pubsub-load.ts), at
// -P 1 and -P 16. A test a side cannot run (its probe fails) is reported, not measured.
// Rewrites bench/SCRIPTING.md. Run alone with `npm run bench:scripting`; `npm run bench` runs it too.

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import { splitCpu, threadCpuNs, threadRoles, type ThreadRoles } from './lib/cpu.js';
import { REPO_ROOT, startFreshRedis, startFreshTessera } from './lib/fresh-servers.js';
import { parseFlags } from './lib/flags.js';
import { describeMachine, gitRevision } from './lib/machine.js';
import { alternate } from './lib/order.js';
import { runPublishLoad } from './lib/pubsub-load.js';
import { benchmarkArgs } from './lib/redis-benchmark.js';
import { parseInfo, RespClient } from './lib/resp-client.js';
import { runBench } from './lib/run.js';
import { BASE_TESTS, channelName, expandTests, MESSAGE, scriptingLabel, subscribersOf, txKey, txUnit, TX_REPLIES, type BaseTest } from './lib/scripting-data.js';
import { summarizePairs, type ScriptingPair, type ScriptingSummary, type SideRun } from './lib/scripting-math.js';
import { counterSum, probeTest } from './lib/scripting-probe.js';
import { renderScriptingReport, type ScriptingReport } from './lib/scripting-report.js';
import { killAllNow, stopAll, type BenchServer } from './lib/servers.js';
import { median } from './lib/stats.js';
import { measure } from './lib/throughput.js';
import { runUnitLoad } from './lib/unit-load.js';

export interface ScriptingOptions {
  rounds: number;
  /** EVALSHA calls and transactions per run. */
  requests: number;
  /** Messages delivered per PUBLISH run (publishes = ceil(messages / subscribers)). */
  messages: number;
  clients: number;
  pipelines: number[];
  tests: BaseTest[];
  subscribers: number[];
  keyspace: number;
  shards: number | null;
  tesseraArgs: string[];
  /** What stands on side B: Tessera (started fresh), a second redis-server, or a server already
   * listening on a port (any server: e.g. a Tessera built elsewhere, or redis to check the harness). */
  against: 'tessera' | 'redis' | { port: number };
  results: string;
  /** A line for the report's machine section (e.g. which branches the measured build merges). */
  note: string;
}

export const SCRIPTING_HELP = `Scripts, transactions and pub/sub (issue 16; also run by npm run bench unless --scripting no):
  --scripting-rounds N       pairs per test and depth (default 3; env BENCH_SCRIPTING_ROUNDS)
  --scripting-requests N     EVALSHA calls and transactions per run (default 100000; env BENCH_SCRIPTING_REQUESTS)
  --scripting-messages N     messages delivered per PUBLISH run, over all subscribers (default 200000;
                             env BENCH_SCRIPTING_MESSAGES)
  --scripting-clients N      connections for EVALSHA and MULTI (default 50; env BENCH_SCRIPTING_CLIENTS)
  --scripting-pipelines L    pipeline depths (default 1,16; env BENCH_SCRIPTING_PIPELINES)
  --scripting-tests L        any of ${BASE_TESTS.join(',')} (default all; env BENCH_SCRIPTING_TESTS)
  --scripting-subscribers L  subscriber counts of the PUBLISH tests (default 1,10,100; env BENCH_SCRIPTING_SUBSCRIBERS)
  --scripting-against S      tessera (default); redis: a second redis-server in Tessera's place, to check the
                             harness; or a port number: the server already listening there on 127.0.0.1
                             (env BENCH_SCRIPTING_AGAINST)
  --scripting-results FILE   report to rewrite (default bench/SCRIPTING.md; env BENCH_SCRIPTING_RESULTS)
  --scripting-note TEXT      a line for the report's machine section, e.g. what the measured build merges
  --shards N, --tessera-args S  as for npm run bench`;

const HELP = `Usage: npm run bench:scripting [-- OPTIONS]   (or node dist/bench/scripting.js OPTIONS)\n${SCRIPTING_HELP}`;
const KNOWN = ['scripting-rounds', 'scripting-requests', 'scripting-messages', 'scripting-clients', 'scripting-pipelines', 'scripting-tests',
  'scripting-subscribers', 'scripting-against', 'scripting-results', 'scripting-note', 'shards', 'tessera-args'];

const positiveInts = (values: string[], name: string): number[] => values.map((v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: ${v} is not a positive integer\n${HELP}`);
  return n;
});

/** Reads the --scripting-* options (and --shards, --tessera-args); `strict` rejects other flags. */
export function parseScriptingOptions(argv: string[], env: NodeJS.ProcessEnv, strict: boolean): ScriptingOptions {
  const { raw, int, list } = parseFlags(argv, HELP, { env, ...(strict ? { known: KNOWN } : {}) });
  const tests = list('scripting-tests', BASE_TESTS.join(','));
  const bad = tests.filter((t) => !(BASE_TESTS as readonly string[]).includes(t));
  if (bad.length > 0) throw new Error(`--scripting-tests: unknown ${bad.join(', ')}\n${HELP}`);
  const againstRaw = raw('scripting-against', 'tessera');
  let against: ScriptingOptions['against'];
  if (againstRaw === 'tessera' || againstRaw === 'redis') against = againstRaw;
  else if (/^\d+$/.test(againstRaw) && Number(againstRaw) > 0 && Number(againstRaw) < 65536) against = { port: Number(againstRaw) };
  else throw new Error(`--scripting-against takes tessera, redis or a port number\n${HELP}`);
  const shards = raw('shards', '');
  return {
    rounds: int('scripting-rounds', 3, 1),
    requests: int('scripting-requests', 100_000, 1),
    messages: int('scripting-messages', 200_000, 1),
    clients: int('scripting-clients', 50, 1),
    pipelines: positiveInts(list('scripting-pipelines', '1,16'), 'scripting-pipelines'),
    tests: tests as BaseTest[],
    subscribers: positiveInts(list('scripting-subscribers', '1,10,100'), 'scripting-subscribers'),
    keyspace: 100_000,
    shards: shards === '' ? null : int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    against,
    results: resolve(REPO_ROOT, raw('scripting-results', 'bench/SCRIPTING.md')),
    note: raw('scripting-note', ''),
  };
}

/** PUBLISHes of a run delivering about `messages` to `subscribers` (at least one). */
export const publishesFor = (messages: number, subscribers: number): number => Math.max(1, Math.ceil(messages / subscribers));

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Side B's name for the report. */
export function sideName(against: ScriptingOptions['against']): string {
  return against === 'tessera' ? 'Tessera' : against === 'redis' ? 'redis-server (B)' : `the server on port ${against.port}`;
}

/** A server this run did not start: its pid from INFO server (for the CPU figures), never stopped. */
export async function existingServer(port: number): Promise<BenchServer> {
  const c = await RespClient.connect(port);
  try {
    const info = await c.call('INFO', 'server');
    const pid = Number(typeof info === 'string' ? parseInfo(info).get('process_id') : NaN);
    return { name: `port ${port}`, pid: Number.isInteger(pid) ? pid : -1, port, commandLine: `(already running on port ${port})`, stop: async () => undefined };
  } finally {
    c.close();
  }
}

async function startB(opts: ScriptingOptions): Promise<BenchServer> {
  if (opts.against === 'redis') return { ...(await startFreshRedis()), name: 'redis-server (B)' };
  if (opts.against === 'tessera') return startFreshTessera([...(opts.shards === null ? [] : ['--shards', String(opts.shards)]), ...opts.tesseraArgs]);
  return existingServer(opts.against.port);
}

/** The server's command line with its port and temporary directory as placeholders. */
function shown(server: BenchServer, portName: string): string {
  return server.commandLine.replace(` ${server.port}`, ` ${portName}`).replace(/--dir \S+/, '--dir DIR');
}

// ---- measuring one run ---------------------------------------------------------------------

const rolesCache = new WeakMap<BenchServer, ThreadRoles>();

async function rolesOf(server: BenchServer): Promise<ThreadRoles> {
  const known = rolesCache.get(server);
  if (known !== undefined) return known;
  const c = await RespClient.connect(server.port);
  try {
    const reply = await c.call('INFO', 'cpu');
    const found = threadRoles(server.pid, typeof reply === 'string' ? reply : '');
    rolesCache.set(server, found);
    return found;
  } finally {
    c.close();
  }
}

/** Runs `work` and splits the server's CPU time over it per `units`; NaN when the pid is unknown. */
export async function withCpu<T>(server: BenchServer, units: (r: T) => number, work: () => Promise<T>): Promise<{ r: T; cpu: Pick<SideRun, 'cpuUs' | 'mainUs' | 'shardUs'> }> {
  if (server.pid <= 0) return { r: await work(), cpu: { cpuUs: NaN, mainUs: NaN, shardUs: [] } };
  const roles = await rolesOf(server);
  const before = threadCpuNs(server.pid);
  const r = await work();
  const split = splitCpu(roles, before, threadCpuNs(server.pid));
  const n = units(r);
  return { r, cpu: { cpuUs: split.totalUs / n, mainUs: split.mainUs / n, shardUs: split.shardUs.map((u) => u / n) } };
}

let publishRun = 0;
/** Distinct transactions (keys) encoded per run. */
const TX_POOL = 16_384;

/** Each server's last counter sum per prefix, so that a run needs one SCAN pass, not two. */
const lastSums = new WeakMap<BenchServer, Map<string, number>>();

/** Runs `work` (which makes `calls` calls on counters under `prefix`, up to `extra` more) and throws
 * unless every one of them ran: the sum of the counters must grow by `calls` to `calls + extra`
 * (redis-benchmark -P sends whole pipelines, so it can make up to clients x P more than -n). */
async function counted<T>(server: BenchServer, prefix: string, calls: number, extra: number, work: () => Promise<T>): Promise<T> {
  const sums = lastSums.get(server) ?? new Map<string, number>();
  lastSums.set(server, sums);
  const before = sums.get(prefix) ?? await counterSum(server.port, prefix);
  const r = await work();
  const after = await counterSum(server.port, prefix);
  sums.set(prefix, after);
  const grew = after - before;
  if (grew < calls || grew > calls + extra) {
    throw new Error(`${calls}${extra > 0 ? ` to ${calls + extra}` : ''} calls made but the ${prefix}* counters grew by ${grew}`
      + `${grew < calls ? ': some calls failed' : ''}`);
  }
  return r;
}

/** One measured run of `test` at depth `pipeline` against `server`. */
async function runTest(server: BenchServer, test: string, pipeline: number, opts: ScriptingOptions, size: { requests: number; messages: number }): Promise<SideRun> {
  const subs = subscribersOf(test);
  if (subs !== null) {
    const publishes = publishesFor(size.messages, subs);
    const { r, cpu } = await withCpu(server, (x) => x.delivered, () => runPublishLoad({
      port: server.port, subscribers: subs, pipeline, publishes, channel: channelName(++publishRun), message: MESSAGE,
    }));
    return { rate: r.deliveredPerSec, p99Ms: r.p99Ms, ...cpu, note: `${Math.round(r.publishesPerSec).toLocaleString('en-US')} PUBLISH/s` };
  }
  if (test === 'multi') {
    const { r, cpu } = await counted(server, 'tx:', size.requests, 0, () => withCpu(server, (x) => x.units, () => runUnitLoad({
      port: server.port, connections: opts.clients, pipeline, units: size.requests, repliesPerUnit: TX_REPLIES, poolSize: TX_POOL,
      build: (i) => txUnit(txKey(Math.floor(pseudoRandom(i) * opts.keyspace))),
    })));
    return { rate: r.unitsPerSec, p99Ms: r.p99Ms, ...cpu, note: '' };
  }
  if (test === 'evalsha') {
    // measure() runs redis-benchmark and splits the CPU itself.
    const m = await counted(server, 'script:', size.requests, opts.clients * pipeline, () => measure(server,
      { port: server.port, tests: ['evalsha'], clients: opts.clients, requests: size.requests, keyspace: opts.keyspace, valueBytes: 32, pipeline }));
    return { rate: m.row.rps, p99Ms: m.row.p99LatencyMs, cpuUs: m.cpuUsPerReq, mainUs: m.mainUsPerReq, shardUs: m.shardUsPerReq, note: '' };
  }
  throw new Error(`unknown test ${test}`);
}

/** A fixed pseudo-random number in [0, 1) for pool unit i (the same keys on both servers). */
export function pseudoRandom(i: number): number {
  let h = (i + 1) * 0x9e3779b1;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

// ---- main ----------------------------------------------------------------------------------

const short = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 200) ?? '';

/** Runs the benchmark, rewrites the report and returns its path. */
export async function runScripting(opts: ScriptingOptions, commandLine: string): Promise<string> {
  const started = Date.now();
  const loads: number[] = [loadavg()[0] ?? NaN];
  const timer = setInterval(() => loads.push(loadavg()[0] ?? NaN), 5000);
  timer.unref();
  const B = sideName(opts.against);
  const commands = [commandLine];
  const allTests = expandTests(opts.tests, opts.subscribers);
  const redis = await startFreshRedis();
  let b: BenchServer | null = null;
  const summaries: ScriptingSummary[] = [];
  const notRun: ScriptingReport['notRun'] = [];
  const failed: ScriptingReport['failed'] = [];
  try {
    b = await startB(opts);
    const bServer = b;
    log(`redis-server pid ${redis.pid}; ${B} pid ${bServer.pid}`);
    const tests: string[] = [];
    for (const t of allTests) {
      const pr = await probeTest(redis.port, t);
      const pb = await probeTest(bServer.port, t);
      if (pr === null && pb === null) tests.push(t);
      else {
        notRun.push({ test: t, redis: pr, b: pb });
        log(`  not measured: ${scriptingLabel(t, 0).replace(' -P 0', '')} (redis-server: ${pr ?? 'ok'}; ${B}: ${pb ?? 'ok'})`);
      }
    }
    const warm = { requests: Math.min(20_000, opts.requests), messages: Math.min(50_000, opts.messages) };
    for (const server of [redis, bServer]) for (const t of tests) await runTest(server, t, 16, opts, warm);
    commands.push('# servers (ports are picked free at run time)', shown(redis, 'PORT_A'), shown(bServer, 'PORT_B'),
      `# each test probed on each server (bench/lib/scripting-probe.ts; SCRIPT LOAD of the script), then an unmeasured warm-up:`,
      `# each test once at -P 16 with ${warm.requests} calls/transactions, ${warm.messages} messages;`,
      `# per depth P in ${opts.pipelines.join(', ')}, ${opts.rounds} rounds; per round and test, PORT_A and PORT_B (order alternating):`,
      `redis-benchmark ${benchmarkArgs({ port: 0, tests: ['evalsha'], clients: opts.clients, requests: opts.requests, keyspace: opts.keyspace, valueBytes: 32, pipeline: 0 })
        .join(' ').replace('-p 0', '-p PORT').replace('-P 0', '-P P')}`,
      `# MULTI/EXEC: bench/lib/unit-load.ts, ${opts.clients} connections, ${opts.requests} transactions, P per write`,
      `# PUBLISH to S: bench/lib/pubsub-load.ts, S subscribers, ceil(${opts.messages} / S) PUBLISHes of 32 bytes, P per write`);
    const stopped = new Map<string, string>();
    const pairs = new Map<string, { test: string; pipeline: number; list: ScriptingPair[] }>();
    for (const pipeline of opts.pipelines) {
      for (let round = 1; round <= opts.rounds; round++) {
        for (const test of tests) {
          const label = scriptingLabel(test, pipeline);
          if (stopped.has(label)) continue;
          const size = { requests: opts.requests, messages: opts.messages };
          try {
            const [r, t] = await alternate(round, () => runTest(redis, test, pipeline, opts, size), () => runTest(bServer, test, pipeline, opts, size));
            const entry = pairs.get(label) ?? { test, pipeline, list: [] };
            entry.list.push({ round, redis: r, b: t });
            pairs.set(label, entry);
            const threads = `main ${t.mainUs.toFixed(2)}${t.shardUs.map((u, i) => ` shard${i} ${u.toFixed(2)}`).join('')}`;
            log(`  round ${round} ${label.padEnd(40)} redis ${Math.round(r.rate)} (${r.cpuUs.toFixed(2)} us) | ${B} ${Math.round(t.rate)}`
              + ` (${t.cpuUs.toFixed(2)} us: ${threads}) | ratio ${(t.rate / r.rate).toFixed(2)}`);
          } catch (err) {
            // A side that fails mid-run (a crash, a wrong reply) stops this test; the rest still run.
            stopped.set(label, short(err));
            failed.push({ label, error: `round ${round}: ${short(err)}` });
            log(`  round ${round} ${label}: FAILED ${short(err)}`);
          }
        }
      }
    }
    for (const [label, e] of pairs) summaries.push(summarizePairs(e.test, e.pipeline, label, e.list));
  } finally {
    clearInterval(timer);
    await Promise.all([redis.stop(), b?.stop()]);
  }
  const m = describeMachine();
  const minutes = (Date.now() - started) / 60_000;
  const report: ScriptingReport = {
    generatedAt: new Date(), command: commandLine, sideB: B, commands, summaries, notRun, failed,
    rounds: opts.rounds, requests: opts.requests, messages: opts.messages, clients: opts.clients, keyspace: opts.keyspace,
    machineLines: [
      `- CPU: ${m.cpu}, ${m.cores} cores available; RAM ${m.ramGiB} GiB; Linux ${m.kernel}`,
      `- Node.js ${m.node}; redis-server ${m.redisServer}; Tessera ${gitRevision(REPO_ROOT)}${opts.shards === null ? '' : `, --shards ${opts.shards}`}`,
      `- Load average (1 min) at the start ${loads[0]?.toFixed(2) ?? 'n/a'}, median during the run ${median(loads).toFixed(2)},`
        + ` max ${Math.max(...loads.filter(Number.isFinite)).toFixed(2)} (the benchmark itself keeps about 2 busy)`,
      `- This run took ${minutes.toFixed(1)} minutes.`,
      ...(opts.note === '' ? [] : [`- ${opts.note}`]),
    ],
  };
  const text = renderScriptingReport(report);
  log('\n' + text.slice(text.indexOf('## Headline'), text.indexOf('## How each')));
  writeFileSync(opts.results, text);
  log(`Wrote ${relative(process.cwd(), opts.results) || opts.results} (${minutes.toFixed(1)} minutes)`);
  return opts.results;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  await runBench('bench:scripting', async () => {
    const opts = parseScriptingOptions(process.argv.slice(2), process.env, true);
    const quote = (a: string): string => (/[\s'"]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a);
    await runScripting(opts, `node dist/bench/scripting.js ${process.argv.slice(2).map(quote).join(' ')}`.trim());
  }, killAllNow, stopAll);
}
