// The data commands of issue 17, Tessera against redis-server on the same machine in the same run,
// in pairs whose order alternates: PFADD, GEOADD, XADD and XREAD COUNT 10 through redis-benchmark
// (custom commands with __rand_int__), SETBIT through bench/lib/unit-load.ts (random offsets), and
// XREADGROUP + XACK through bench/lib/group-load.ts, at -P 1 and -P 16; then memory per stream
// entry (10M entries of 3 fields piped into a fresh server of each kind). A test a side cannot run
// (its probe fails) is reported, not measured. Rewrites bench/DATA17.md. Run alone with
// `npm run bench:data17`; `npm run bench` runs it too (--data17 no skips it).

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import {
  data17Label, DATA17_TESTS, DRIVERS, GROUP, groupStream, KEYSPACES, PROBES, SETBIT_POOL, setbitUnit, XREAD_ENTRIES, xaddAutoUnit,
  xreadLoadUnit, type Data17Test,
} from './lib/data17-data.js';
import { renderData17Report, type Data17Report } from './lib/data17-report.js';
import { REPO_ROOT, startFreshRedis, startFreshTessera } from './lib/fresh-servers.js';
import { parseFlags } from './lib/flags.js';
import { runGroupLoad } from './lib/group-load.js';
import { describeMachine, gitRevision } from './lib/machine.js';
import { alternate } from './lib/order.js';
import { benchmarkArgs } from './lib/redis-benchmark.js';
import { RespClient } from './lib/resp-client.js';
import { runBench } from './lib/run.js';
import { summarizePairs, type ScriptingPair, type ScriptingSummary, type SideRun } from './lib/scripting-math.js';
import { replyText } from './lib/scripting-probe.js';
import { killAllNow, stopAll, type BenchServer } from './lib/servers.js';
import { median } from './lib/stats.js';
import { compareStreamMemory, type StreamMemoryResult } from './lib/stream-memory.js';
import { measure } from './lib/throughput.js';
import { runUnitLoad } from './lib/unit-load.js';
import { existingServer, sideName, withCpu } from './scripting.js';

export interface Data17Options {
  rounds: number;
  /** Requests (units for XREADGROUP + XACK) per run. */
  requests: number;
  clients: number;
  pipelines: number[];
  tests: Data17Test[];
  /** Stream entries of the memory case; 0 skips it. */
  entries: number;
  shards: number | null;
  tesseraArgs: string[];
  /** What stands on side B: Tessera (started fresh), a second redis-server, or a server already listening on a port. */
  against: 'tessera' | 'redis' | { port: number };
  results: string;
  /** A line for the report's machine section (e.g. which branches the measured build merges). */
  note: string;
}

export const DATA17_HELP = `Streams, HyperLogLog, bitmaps and geo (issue 17; also run by npm run bench unless --data17 no):
  --data17-rounds N       pairs per test and depth (default 3; env BENCH_DATA17_ROUNDS)
  --data17-requests N     requests per run; XREADGROUP + XACK units per run (default 100000; env BENCH_DATA17_REQUESTS)
  --data17-clients N      connections (consumers for XREADGROUP) (default 50; env BENCH_DATA17_CLIENTS)
  --data17-pipelines L    pipeline depths (default 1,16; env BENCH_DATA17_PIPELINES)
  --data17-tests L        any of ${DATA17_TESTS.join(',')} (default all; env BENCH_DATA17_TESTS)
  --data17-entries N      stream entries of the memory case, 0 = skip it (default 10000000; env BENCH_DATA17_ENTRIES)
  --data17-quick yes|no   a short check: 1 round, 20000 requests, 200000 entries (given flags win; default no)
  --data17-against S      tessera (default); redis: a second redis-server in Tessera's place, to check the
                          harness; or a port number: the server already listening there on 127.0.0.1
  --data17-results FILE   report to rewrite (default bench/DATA17.md; env BENCH_DATA17_RESULTS)
  --data17-note TEXT      a line for the report's machine section, e.g. what the measured build merges
  --shards N, --tessera-args S  as for npm run bench`;

const HELP = `Usage: npm run bench:data17 [-- OPTIONS]   (or node dist/bench/data17.js OPTIONS)\n${DATA17_HELP}`;
const KNOWN = ['data17-rounds', 'data17-requests', 'data17-clients', 'data17-pipelines', 'data17-tests', 'data17-entries',
  'data17-quick', 'data17-against', 'data17-results', 'data17-note', 'shards', 'tessera-args'];

/** Reads the --data17-* options (and --shards, --tessera-args); `strict` rejects other flags. */
export function parseData17Options(argv: string[], env: NodeJS.ProcessEnv, strict: boolean): Data17Options {
  // --data17-quick takes a value (not a bare preset flag) so that the other benchmarks' parsers,
  // which see the same argv under npm run bench, never take the next flag for its value.
  const { raw, int, list } = parseFlags(argv, HELP, { env, ...(strict ? { known: KNOWN } : {}) });
  const quickRaw = raw('data17-quick', 'no');
  if (quickRaw !== 'yes' && quickRaw !== 'no') throw new Error(`--data17-quick takes yes or no\n${HELP}`);
  const quick = quickRaw === 'yes';
  const tests = list('data17-tests', DATA17_TESTS.join(','));
  const bad = tests.filter((t) => !(DATA17_TESTS as readonly string[]).includes(t));
  if (bad.length > 0) throw new Error(`--data17-tests: unknown ${bad.join(', ')}\n${HELP}`);
  const againstRaw = raw('data17-against', 'tessera');
  let against: Data17Options['against'];
  if (againstRaw === 'tessera' || againstRaw === 'redis') against = againstRaw;
  else if (/^\d+$/.test(againstRaw) && Number(againstRaw) > 0 && Number(againstRaw) < 65536) against = { port: Number(againstRaw) };
  else throw new Error(`--data17-against takes tessera, redis or a port number\n${HELP}`);
  const pipelines = list('data17-pipelines', '1,16').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--data17-pipelines: ${v} is not a positive integer\n${HELP}`);
    return n;
  });
  const shards = raw('shards', '');
  return {
    rounds: int('data17-rounds', quick ? 1 : 3, 1),
    requests: int('data17-requests', quick ? 20_000 : 100_000, 1),
    clients: int('data17-clients', 50, 1),
    pipelines,
    tests: tests as Data17Test[],
    entries: int('data17-entries', quick ? 200_000 : 10_000_000, 0),
    shards: shards === '' ? null : int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    against,
    results: resolve(REPO_ROOT, raw('data17-results', 'bench/DATA17.md')),
    note: raw('data17-note', ''),
  };
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const short = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 200) ?? '';

async function startB(opts: Data17Options): Promise<BenchServer> {
  if (opts.against === 'redis') return { ...(await startFreshRedis()), name: 'redis-server (B)' };
  if (opts.against === 'tessera') return startFreshTessera([...(opts.shards === null ? [] : ['--shards', String(opts.shards)]), ...opts.tesseraArgs]);
  return existingServer(opts.against.port);
}

/** The server's command line with its port and temporary directory as placeholders. */
function shown(server: BenchServer, portName: string): string {
  return server.commandLine.replace(` ${server.port}`, ` ${portName}`).replace(/--dir \S+/, '--dir DIR');
}

// ---- preparing, probing, measuring ---------------------------------------------------------

/** Loads the stream XREAD reads (ids 1-0 .. XREAD_ENTRIES-0, in order on one connection); null or why not. */
export async function loadXreadStream(port: number): Promise<string | null> {
  try {
    await runUnitLoad({ port, connections: 1, pipeline: 1000, units: XREAD_ENTRIES, repliesPerUnit: 1, poolSize: XREAD_ENTRIES, build: xreadLoadUnit });
    return null;
  } catch (err) {
    return `loading the XREAD stream: ${short(err)}`;
  }
}

/** null when `test`'s probe gets the replies it must on the server at `port`, else why not (one line). */
export async function probeData17(port: number, test: Data17Test): Promise<string | null> {
  const p = PROBES[test];
  try {
    const c = await RespClient.connect(port);
    try {
      for (const cmd of p.setup) await c.call(...cmd);
      for (const [cmd, want] of p.checks) {
        const got = await c.call(...cmd);
        const norm = JSON.stringify(got instanceof Error ? `-${got.message}` : got);
        if (norm !== JSON.stringify(want)) return `${cmd.join(' ')} replied ${replyText(got)}`;
      }
      return null;
    } finally {
      c.close();
    }
  } catch (err) {
    return short(err);
  }
}

/** The entries in the XADD test's streams (xadd:<12 digits>, KEYSPACES.xadd of them). */
export async function xaddTotal(port: number): Promise<number> {
  const c = await RespClient.connect(port);
  try {
    const keys = Array.from({ length: KEYSPACES.xadd }, (_, i) => `xadd:${String(i).padStart(12, '0')}`);
    const lens = await c.pipeline(keys.map((k) => Buffer.from(`*2\r\n$4\r\nXLEN\r\n$${k.length}\r\n${k}\r\n`)));
    let sum = 0;
    for (const n of lens) {
      if (typeof n !== 'number') throw new Error(`XLEN replied ${replyText(n)}`);
      sum += n;
    }
    return sum;
  } finally {
    c.close();
  }
}

let groupRun = 0;

/** Fills a fresh stream with `entries` entries (untimed) and creates the group on it. */
async function prepareGroupStream(port: number, entries: number): Promise<string> {
  const stream = groupStream(++groupRun);
  await runUnitLoad({ port, connections: 4, pipeline: 1000, units: entries, repliesPerUnit: 1, poolSize: 1, build: () => xaddAutoUnit(stream) });
  const c = await RespClient.connect(port);
  try {
    const r = await c.call('XGROUP', 'CREATE', stream, GROUP, '0');
    if (r !== 'OK') throw new Error(`XGROUP CREATE ${stream} ${GROUP} 0 replied ${replyText(r)}`);
  } finally {
    c.close();
  }
  return stream;
}

async function del(port: number, key: string): Promise<void> {
  const c = await RespClient.connect(port);
  try {
    await c.call('DEL', key);
  } finally {
    c.close();
  }
}

/** One measured run of `test` at depth `pipeline` against `server`. */
async function runTest(server: BenchServer, test: Data17Test, pipeline: number, opts: Data17Options, requests: number): Promise<SideRun> {
  const driver = DRIVERS[test];
  if (driver === 'benchmark') {
    const before = test === 'xadd' ? await xaddTotal(server.port) : 0;
    const keyspace = KEYSPACES[test as keyof typeof KEYSPACES];
    const m = await measure(server, { port: server.port, tests: [test], clients: opts.clients, requests, keyspace, valueBytes: 32, pipeline });
    if (test === 'xadd') {
      // redis-benchmark counts an error reply as a request: the entries must really be there
      // (-P sends whole pipelines, so up to clients x P more than -n).
      const grew = (await xaddTotal(server.port)) - before;
      if (grew < requests || grew > requests + opts.clients * pipeline) throw new Error(`${requests} XADDs sent but the streams grew by ${grew} entries`);
    }
    return { rate: m.row.rps, p99Ms: m.row.p99LatencyMs, cpuUs: m.cpuUsPerReq, mainUs: m.mainUsPerReq, shardUs: m.shardUsPerReq, note: '' };
  }
  if (driver === 'unit') {
    const { r, cpu } = await withCpu(server, (x) => x.units, () => runUnitLoad({
      port: server.port, connections: opts.clients, pipeline, units: requests, repliesPerUnit: 1, poolSize: SETBIT_POOL, build: setbitUnit,
    }));
    return { rate: r.unitsPerSec, p99Ms: r.p99Ms, ...cpu, note: '' };
  }
  const stream = await prepareGroupStream(server.port, requests);
  try {
    const { r, cpu } = await withCpu(server, (x) => x.units, () => runGroupLoad({
      port: server.port, connections: opts.clients, pipeline, units: requests, stream, group: GROUP,
    }));
    return { rate: r.unitsPerSec, p99Ms: r.p99Ms, ...cpu, note: '' };
  } finally {
    await del(server.port, stream);
  }
}

// ---- main ----------------------------------------------------------------------------------

/** Probes every test on both servers (after loading the XREAD stream); returns the tests both run. */
async function probeAll(redis: BenchServer, b: BenchServer, opts: Data17Options, B: string, notRun: Data17Report['notRun']): Promise<Data17Test[]> {
  const loadR = opts.tests.includes('xread') ? await loadXreadStream(redis.port) : null;
  const loadB = opts.tests.includes('xread') ? await loadXreadStream(b.port) : null;
  const tests: Data17Test[] = [];
  for (const t of opts.tests) {
    const pr = t === 'xread' && loadR !== null ? loadR : await probeData17(redis.port, t);
    const pb = t === 'xread' && loadB !== null ? loadB : await probeData17(b.port, t);
    if (pr === null && pb === null) tests.push(t);
    else {
      notRun.push({ test: t, redis: pr, b: pb });
      log(`  not measured: ${data17Label(t, 0).replace(' -P 0', '')} (redis-server: ${pr ?? 'ok'}; ${B}: ${pb ?? 'ok'})`);
    }
  }
  return tests;
}

/** Runs the benchmark, rewrites the report and returns its path. */
export async function runData17(opts: Data17Options, commandLine: string): Promise<string> {
  const started = Date.now();
  const loads: number[] = [loadavg()[0] ?? NaN];
  const timer = setInterval(() => loads.push(loadavg()[0] ?? NaN), 5000);
  timer.unref();
  const B = sideName(opts.against);
  const commands = [commandLine];
  const summaries: ScriptingSummary[] = [];
  const notRun: Data17Report['notRun'] = [];
  const failed: Data17Report['failed'] = [];
  let memory: StreamMemoryResult | null = null;
  try {
    if (opts.tests.length > 0) {
      const redis = await startFreshRedis();
      let b: BenchServer | null = null;
      try {
        b = await startB(opts);
        const bServer = b;
        log(`redis-server pid ${redis.pid}; ${B} pid ${bServer.pid}`);
        const probed = await probeAll(redis, bServer, opts, B, notRun);
        const warm = Math.min(20_000, opts.requests);
        const tests: Data17Test[] = [];
        for (const t of probed) {
          try {
            for (const server of [redis, bServer]) await runTest(server, t, 16, opts, warm);
            tests.push(t);
          } catch (err) {
            // A test that fails its warm-up on either side is reported and not measured.
            failed.push({ label: data17Label(t, 16), error: `warm-up: ${short(err)}` });
            log(`  warm-up of ${t} FAILED: ${short(err)}`);
          }
        }
        commands.push('# servers (ports are picked free at run time)', shown(redis, 'PORT_A'), shown(bServer, 'PORT_B'),
          `# XREAD's stream loaded (${XREAD_ENTRIES} XADDs with ids 1-0 .., one connection), each test probed on each server`,
          `# (bench/lib/data17-data.ts PROBES), then an unmeasured warm-up: each test once at -P 16 with ${warm} requests;`,
          `# per depth P in ${opts.pipelines.join(', ')}, ${opts.rounds} rounds; per round and test, PORT_A and PORT_B (order alternating):`,
          ...tests.filter((t) => DRIVERS[t] === 'benchmark').map((t) => `redis-benchmark ${benchmarkArgs({
            port: 0, tests: [t], clients: opts.clients, requests: opts.requests, keyspace: KEYSPACES[t as keyof typeof KEYSPACES], valueBytes: 32, pipeline: 0,
          }).join(' ').replace('-p 0', '-p PORT').replace('-P 0', '-P P')}`),
          `# SETBIT: bench/lib/unit-load.ts, ${opts.clients} connections, ${opts.requests} SETBIT bits:<k> <offset> 1 (a pool of ${SETBIT_POOL}), P per write`,
          `# XREADGROUP + XACK: a fresh stream of ${opts.requests} entries and XGROUP CREATE (untimed), then bench/lib/group-load.ts,`,
          `# ${opts.clients} consumers, ${opts.requests} units, P XREADGROUPs (+ the previous batch's P XACKs) per write; DEL (untimed)`);
        const stopped = new Set<string>();
        const pairs = new Map<string, { test: Data17Test; pipeline: number; list: ScriptingPair[] }>();
        for (const pipeline of opts.pipelines) {
          for (let round = 1; round <= opts.rounds; round++) {
            for (const test of tests) {
              const label = data17Label(test, pipeline);
              if (stopped.has(label)) continue;
              try {
                const [r, t] = await alternate(round, () => runTest(redis, test, pipeline, opts, opts.requests),
                  () => runTest(bServer, test, pipeline, opts, opts.requests));
                const entry = pairs.get(label) ?? { test, pipeline, list: [] };
                entry.list.push({ round, redis: r, b: t });
                pairs.set(label, entry);
                log(`  round ${round} ${label.padEnd(36)} redis ${Math.round(r.rate)} (${r.cpuUs.toFixed(2)} us) | ${B} ${Math.round(t.rate)}`
                  + ` (${t.cpuUs.toFixed(2)} us, main ${t.mainUs.toFixed(2)}) | ratio ${(t.rate / r.rate).toFixed(2)}`);
              } catch (err) {
                // A side that fails mid-run (a crash, a wrong reply) stops this test; the rest still run.
                stopped.add(label);
                failed.push({ label, error: `round ${round}: ${short(err)}` });
                log(`  round ${round} ${label}: FAILED ${short(err)}`);
              }
            }
          }
        }
        for (const [label, e] of pairs) summaries.push(summarizePairs(e.test, e.pipeline, label, e.list));
      } finally {
        await Promise.all([redis.stop(), b?.stop()]);
      }
    }
    if (opts.entries > 0) {
      log(`\nMemory: ${opts.entries} stream entries into a fresh redis-server, then a fresh ${B}...`);
      commands.push(`# memory: fresh servers one at a time, ${opts.entries} x "XADD mem:stream * a 1 b 2 c 3" written into`,
        '# redis-cli -p PORT --pipe (bench/lib/stream-memory.ts); INFO memory and /proc/PID/status before and after');
      memory = await compareStreamMemory(opts.entries, () => startFreshRedis(), () => startB(opts));
      const side = (g: StreamMemoryResult['redis']): string => (typeof g === 'string' ? `failed: ${g}`
        : `${(g.usedBytes / g.entries).toFixed(1)} B used, ${(g.rssBytes / g.entries).toFixed(1)} B RSS per entry, ${(g.loadMs / 1000).toFixed(1)} s`);
      log(`  redis-server: ${side(memory.redis)}\n  ${B}: ${side(memory.tessera)}\n  ratio ${memory.ratio.toFixed(2)}`);
    }
  } finally {
    clearInterval(timer);
  }
  const m = describeMachine();
  const minutes = (Date.now() - started) / 60_000;
  const report: Data17Report = {
    generatedAt: new Date(), command: commandLine, sideB: B, commands, summaries, notRun, failed, memory,
    rounds: opts.rounds, requests: opts.requests, clients: opts.clients,
    machineLines: [
      `- CPU: ${m.cpu}, ${m.cores} cores available; RAM ${m.ramGiB} GiB; Linux ${m.kernel}`,
      `- Node.js ${m.node}; redis-server ${m.redisServer}; Tessera ${gitRevision(REPO_ROOT)}${opts.shards === null ? '' : `, --shards ${opts.shards}`}`,
      `- Load average (1 min) at the start ${loads[0]?.toFixed(2) ?? 'n/a'}, median during the run ${median(loads).toFixed(2)},`
        + ` max ${Math.max(...loads.filter(Number.isFinite)).toFixed(2)} (the benchmark itself keeps about 2 busy)`,
      `- This run took ${minutes.toFixed(1)} minutes.`,
      ...(opts.note === '' ? [] : [`- ${opts.note}`]),
    ],
  };
  const text = renderData17Report(report);
  log('\n' + text.slice(text.indexOf('## Headline'), text.indexOf('## How each')));
  writeFileSync(opts.results, text);
  log(`Wrote ${relative(process.cwd(), opts.results) || opts.results} (${minutes.toFixed(1)} minutes)`);
  return opts.results;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  await runBench('bench:data17', async () => {
    const opts = parseData17Options(process.argv.slice(2), process.env, true);
    const quote = (a: string): string => (/[\s'"]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a);
    await runData17(opts, `node dist/bench/data17.js ${process.argv.slice(2).map(quote).join(' ')}`.trim());
  }, killAllNow, stopAll);
}
