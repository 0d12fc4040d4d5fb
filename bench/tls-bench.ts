// RESP over TLS, Tessera against redis-server 7.0 on the same machine in the same run:
// `redis-benchmark --tls --cacert` SET and GET at -P 1 and -P 16 on each server's tls-port, the two
// servers using the same certificates (made by openssl for the run, test/e2e/tls-certs.ts), each
// round running both, alternating which goes first; medians of the rounds and the median of the
// per-round ratios are reported with the CPU each server spent per request (Tessera's main thread
// apart). Prints the machine and the figures and writes them to bench/TLS.md.
// Run with `npm run bench:tls` (see --help).

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTestCerts, tlsServerArgs, type TestCerts } from '../test/e2e/tls-certs.js';
import { threadCpuNs } from './lib/cpu.js';
import { describeMachine, gitRevision } from './lib/machine.js';
import { parseFlags } from './lib/flags.js';
import { alternate } from './lib/order.js';
import { freePort } from './lib/ports.js';
import { benchmarkArgs, parseCsv, type BenchRow } from './lib/redis-benchmark.js';
import { killAllNow, startServer, stopAll, type BenchServer } from './lib/servers.js';
import { fmtInt, median } from './lib/stats.js';

const execFileAsync = promisify(execFile);
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TESSERA_MAIN = 'dist/src/cli/main.js';

interface Options {
  rounds: number;
  clients: number;
  requests: number;
  keyspace: number;
  pipelines: number[];
  shards: number | null;
  tesseraArgs: string[];
  results: string;
}

const USAGE = `npm run bench:tls -- [options]
  --rounds N       rounds, each runs redis-server and Tessera, alternating which goes first (default 3; env BENCH_ROUNDS)
  --clients N      redis-benchmark connections (default 50; env BENCH_CLIENTS)
  --requests N     requests per test (default 100000; env BENCH_REQUESTS)
  --keyspace N     random keys (-r, default 100000; env BENCH_KEYSPACE)
  --pipelines L    pipeline depths, comma-separated (default 1,16; env BENCH_PIPELINES)
  --shards N       Tessera shards (default: Tessera's, CPU cores - 1; env BENCH_SHARDS)
  --tessera-args S extra Tessera server flags, e.g. "--shard-threads no" (env BENCH_TESSERA_ARGS)
  --results FILE   where to write the report (default bench/TLS.md)`;

function parseOptions(argv: string[]): Options {
  const f = parseFlags(argv, USAGE, { env: process.env });
  const raw = f.raw;
  const int = (name: string, dflt: number): number => f.int(name, dflt, 1);
  const shards = raw('shards', '');
  return {
    rounds: int('rounds', 3),
    clients: int('clients', 50),
    requests: int('requests', 100_000),
    keyspace: int('keyspace', 100_000),
    pipelines: raw('pipelines', '1,16').split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1) throw new Error('--pipelines takes positive integers, e.g. 1,16');
      return n;
    }),
    shards: shards === '' ? null : int('shards', 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    results: resolve(REPO_ROOT, raw('results', 'bench/TLS.md')),
  };
}

interface Sample {
  rps: number;
  p50Ms: number;
  /** Process CPU per request, microseconds. */
  cpuUs: number;
  /** The main thread's CPU per request, microseconds. */
  mainUs: number;
}

type Side = 'redis' | 'tessera' | 'floor';
const TESTS = ['SET', 'GET'] as const;

/** One redis-benchmark run of SET and GET over TLS; CPU is measured around it. */
async function measure(server: BenchServer, tlsPort: number, certs: TestCerts, o: Options, pipeline: number): Promise<Map<string, Sample>> {
  const args = [
    ...benchmarkArgs({ port: tlsPort, tests: ['set', 'get'], clients: o.clients, requests: o.requests, keyspace: o.keyspace, valueBytes: 3, pipeline }),
    '--tls', '--cacert', certs.caCert,
  ];
  const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const before = threadCpuNs(server.pid);
  const { stdout } = await execFileAsync('redis-benchmark', args, { timeout: 600_000, maxBuffer: 1 << 20 });
  const after = threadCpuNs(server.pid);
  const rows: BenchRow[] = parseCsv(stdout);
  if (rows.length < 2) throw new Error(`redis-benchmark printed no results for ${server.name}:\n${stdout}`);
  // CPU is for both tests together: split by their request counts (equal), i.e. halved.
  const requests = o.requests * rows.length;
  const cpuUs = (sum(after) - sum(before)) / 1000 / requests;
  const mainUs = ((after.get(server.pid) ?? 0) - (before.get(server.pid) ?? 0)) / 1000 / requests;
  return new Map(rows.map((r) => [r.test, { rps: r.rps, p50Ms: r.p50LatencyMs, cpuUs, mainUs }]));
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  process.on('exit', killAllNow);
  const machine = describeMachine();
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, redis-server ${machine.redisServer}`);
  const certs = makeTestCerts();
  try {
    const [redisPort, redisTls, tesseraPort, tesseraTls] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const redis = await startServer({
      name: 'redis-server', command: 'redis-server', port: redisPort,
      args: ['--port', String(redisPort), ...tlsServerArgs(certs, redisTls), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    });
    const tessera = await startServer({
      name: 'tessera', command: process.execPath, port: tesseraPort, cwd: REPO_ROOT,
      args: [TESSERA_MAIN, 'server', '--port', String(tesseraPort), ...tlsServerArgs(certs, tesseraTls), '--save', '', '--dir', certs.dir,
        '--memcache-port', '0', '--http-port', '0', '--loglevel', 'warning', ...(o.shards === null ? [] : ['--shards', String(o.shards)]), ...o.tesseraArgs],
    });
    const floorPort = await freePort();
    const floor = await startServer({
      name: 'node-tls-floor', command: process.execPath, port: floorPort, cwd: REPO_ROOT, readyWhen: 'listening',
      args: ['dist/bench/lib/node-tls-floor.js', '--port', String(floorPort), '--cert', certs.serverCert, '--key', certs.serverKey],
    });
    // An unmeasured warm-up each (JIT, first handshakes), as bench/compare.ts does.
    for (const [srv, port] of [[redis, redisTls], [tessera, tesseraTls], [floor, floorPort]] as const) {
      await measure(srv, port, certs, { ...o, requests: Math.min(o.requests, 50_000) }, 16);
    }
    // samples[pipeline][test][side] = one Sample per round
    const samples = new Map<number, Map<string, Record<Side, Sample[]>>>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const p of o.pipelines) {
        const [r, t] = await alternate(round, () => measure(redis, redisTls, certs, o, p), () => measure(tessera, tesseraTls, certs, o, p));
        // The floor after the pair: it is a reference, not one side of a ratio.
        const f = await measure(floor, floorPort, certs, o, p);
        const byTest = samples.get(p) ?? new Map<string, Record<Side, Sample[]>>();
        samples.set(p, byTest);
        for (const test of TESTS) {
          const e = byTest.get(test) ?? { redis: [], tessera: [], floor: [] };
          byTest.set(test, e);
          e.redis.push(r.get(test)!);
          e.tessera.push(t.get(test)!);
          e.floor.push(f.get(test)!);
          console.log(`round ${round} -P ${p} ${test}: redis ${fmtInt(r.get(test)!.rps)} rps, tessera ${fmtInt(t.get(test)!.rps)} rps, node TLS floor ${fmtInt(f.get(test)!.rps)} rps`);
        }
      }
    }
    const lines: string[] = [
      '# RESP over TLS: Tessera vs redis-server',
      '',
      `\`npm run bench:tls\` (bench/tls-bench.ts): \`redis-benchmark --tls --cacert ca.crt -t set,get -c ${o.clients} -n ${o.requests} -r ${o.keyspace} -d 3 -P N\``,
      `on each server's tls-port (tls-auth-clients no, the same EC P-256 certificate made by openssl), after an unmeasured warm-up (-P 16) of each, ${o.rounds} rounds alternating which server goes first;`,
      'medians of the rounds, and the median of the per-round ratios. CPU is the server process\'s per request (all threads; Tessera\'s main thread apart).',
      '',
      `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, kernel ${machine.kernel}, node ${machine.node}, redis-server ${machine.redisServer}; Tessera ${gitRevision(REPO_ROOT)}` +
        `, shards ${o.shards ?? 'default (cores - 1)'}${o.tesseraArgs.length > 0 ? `, extra flags \`${o.tesseraArgs.join(' ')}\`` : ''}. The load generator shares the cores with the server.`,
      '',
      '| test | pipeline | redis-server rps | Tessera rps | ratio (median) | redis p50 ms | Tessera p50 ms | redis CPU us/req | Tessera CPU us/req (main) | Node TLS floor rps | floor CPU us/req |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    ];
    const ratios: string[] = [];
    for (const p of o.pipelines) {
      for (const test of TESTS) {
        const e = samples.get(p)!.get(test)!;
        const med = (s: Sample[], f: (x: Sample) => number): number => median(s.map(f));
        const ratio = median(e.tessera.map((t, i) => t.rps / e.redis[i]!.rps));
        const row = `| ${test} | ${p} | ${fmtInt(med(e.redis, (s) => s.rps))} | ${fmtInt(med(e.tessera, (s) => s.rps))} | ${ratio.toFixed(2)}x | ` +
          `${med(e.redis, (s) => s.p50Ms).toFixed(3)} | ${med(e.tessera, (s) => s.p50Ms).toFixed(3)} | ` +
          `${med(e.redis, (s) => s.cpuUs).toFixed(2)} | ${med(e.tessera, (s) => s.cpuUs).toFixed(2)} (${med(e.tessera, (s) => s.mainUs).toFixed(2)}) | ` +
          `${fmtInt(med(e.floor, (s) => s.rps))} | ${med(e.floor, (s) => s.cpuUs).toFixed(2)} |`;
        lines.push(row);
        ratios.push(`${test} -P ${p}: ${ratio.toFixed(2)}x`);
      }
    }
    lines.push('', `Ratios (Tessera / redis-server, target >= 1.0x): ${ratios.join(', ')}.`, '',
      'The Node TLS floor (bench/lib/node-tls-floor.ts) answers +OK to every command behind node:tls and executes nothing: what Node\'s TLS socket path alone costs, measured after each pair.', '');
    lines.push(`Commands: \`${redis.commandLine.replace(certs.dir, '$CERTS')}\` and \`${tessera.commandLine.replaceAll(certs.dir, '$CERTS')}\`.`.replaceAll(certs.dir, '$CERTS'), '');
    const text = lines.join('\n');
    writeFileSync(o.results, text);
    console.log(`\n${text}\nwritten to ${relative(process.cwd(), o.results)}`);
  } finally {
    await stopAll();
    certs.remove();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  killAllNow();
  process.exit(1);
});
