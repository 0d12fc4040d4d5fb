// The cost of ACL checks: SET and GET at -P 16 with redis-benchmark against one Tessera process,
// logged in as the default user (unrestricted: the dispatcher skips the check) and as one of 100
// users with key patterns (`~other:{n}:* ~x{n}:* ~key:*`, so each key is matched against three
// patterns, the last one matching). Each round runs both, alternating which goes first; the
// medians of the rounds and the restricted user's cost in percent are printed and written to
// bench/ACL.md. Target: under 3%. Run with `npm run bench:acl` (see --help).

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
import { median } from './lib/stats.js';
import { threadCpuNs } from './lib/cpu.js';
import { parseFlags } from './lib/flags.js';

const execFileAsync = promisify(execFile);
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const USERS = 100;

const USAGE = `npm run bench:acl -- [options]
  --rounds N      rounds (default 3; env BENCH_ROUNDS)
  --requests N    requests per redis-benchmark run (default 500000; env BENCH_REQUESTS)
  --clients N     redis-benchmark connections (default 50; env BENCH_CLIENTS)
  --pipeline N    redis-benchmark -P (default 16; env BENCH_PIPELINE)
  --shards N      Tessera shards (default 1; env BENCH_SHARDS)
  --results FILE  report file (default bench/ACL.md; '' = none)`;

function options(argv: string[]): { rounds: number; requests: number; clients: number; pipeline: number; shards: number; results: string } {
  const flags = parseFlags(argv, USAGE, { env: process.env });
  const get = (k: string, d: string): string => flags.raw(k, d);
  return {
    rounds: Number(get('rounds', '3')),
    requests: Number(get('requests', '500000')),
    clients: Number(get('clients', '50')),
    pipeline: Number(get('pipeline', '16')),
    shards: Number(get('shards', '1')),
    results: get('results', join(REPO_ROOT, 'bench/ACL.md')),
  };
}

async function cli(port: number, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), ...args]);
  return stdout.trim();
}

/** One redis-benchmark run: requests per second, and the main thread's CPU per request (ns),
 * which other work on the machine disturbs far less than throughput. */
async function rps(pid: number, port: number, test: 'set' | 'get', auth: string[], o: ReturnType<typeof options>): Promise<[number, number]> {
  const before = threadCpuNs(pid).get(pid) ?? 0;
  const { stdout } = await execFileAsync('redis-benchmark', ['-p', String(port), ...auth, '-t', test, '-n', String(o.requests), '-c', String(o.clients), '-P', String(o.pipeline), '-r', '100000', '-q', '--csv'], { maxBuffer: 1 << 20 });
  const row = stdout.split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`));
  if (row === undefined) throw new Error(`redis-benchmark gave no ${test} row: ${stdout}`);
  const cpu = (threadCpuNs(pid).get(pid) ?? 0) - before;
  return [Number(JSON.parse(`[${row}]`)[1]), cpu / o.requests];
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-acl-'));
  const port = await freePort();
  process.on('SIGINT', () => {
    killAllNow();
    process.exit(130);
  });
  const srv = await startServer({
    name: 'tessera', command: process.execPath, port, cwd: REPO_ROOT,
    args: ['dist/src/cli/main.js', 'server', '--port', String(port), '--shards', String(o.shards), '--save', '', '--dir', dir, '--memcache-port', '0', '--http-port', '0', '--loglevel', 'warning'],
  });
  try {
    for (let n = 0; n < USERS; n++) {
      const r = await cli(port, ['ACL', 'SETUSER', `u${n}`, 'on', `>pw${n}`, `~other:${n}:*`, `~x${n}:*`, '~key:*', '+@all', '&*']);
      if (r !== 'OK') throw new Error(`SETUSER u${n}: ${r}`);
    }
    const restricted = ['--user', 'u57', '-a', 'pw57'];
    const results: Record<'set' | 'get', { def: number[]; acl: number[]; defCpu: number[]; aclCpu: number[] }> = {
      set: { def: [], acl: [], defCpu: [], aclCpu: [] },
      get: { def: [], acl: [], defCpu: [], aclCpu: [] },
    };
    for (let round = 0; round < o.rounds; round++) {
      for (const test of ['set', 'get'] as const) {
        const [[d, dc], [a, ac]] = await alternate(round, () => rps(srv.pid, port, test, [], o), () => rps(srv.pid, port, test, restricted, o));
        results[test].def.push(d);
        results[test].acl.push(a);
        results[test].defCpu.push(dc);
        results[test].aclCpu.push(ac);
        console.log(`round ${round + 1} ${test.toUpperCase()}: default ${Math.round(d)} req/s ${Math.round(dc)} ns/req, restricted ${Math.round(a)} req/s ${Math.round(ac)} ns/req`);
      }
    }
    const m = describeMachine();
    const rows = (['set', 'get'] as const).map((t) => {
      const d = median(results[t].def);
      const a = median(results[t].acl);
      // Pair by pair too: each round's two runs are back to back, so their ratio is steadier than
      // the ratio of medians on a busy machine.
      const pairCost = median(results[t].def.map((x, i) => ((x - results[t].acl[i]!) / x) * 100));
      const dc = median(results[t].defCpu);
      const ac = median(results[t].aclCpu);
      return { t: t.toUpperCase(), d, a, cost: ((d - a) / d) * 100, pairCost, dc, ac, cpuCost: ((ac - dc) / dc) * 100 };
    });
    const lines = [
      '# ACL check cost (npm run bench:acl)',
      '',
      `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, node ${m.node}, ${m.kernel}. Revision ${gitRevision(REPO_ROOT)}.`,
      `redis-benchmark -t set|get -n ${o.requests} -c ${o.clients} -P ${o.pipeline} -r 100000; Tessera --shards ${o.shards}; ${USERS} users with \`~other:{n}:* ~x{n}:* ~key:* +@all &*\`; ${o.rounds} rounds, alternating which goes first; medians.`,
      '',
      `Load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other work on the machine makes single runs noisy).`,
      '',
      '| test | default user (req/s) | restricted user u57 (req/s) | throughput cost (medians) | (median of round pairs) | main thread ns/req default | restricted | CPU cost |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.t} | ${Math.round(r.d)} | ${Math.round(r.a)} | ${r.cost.toFixed(1)}% | ${r.pairCost.toFixed(1)}% | ${Math.round(r.dc)} | ${Math.round(r.ac)} | ${r.cpuCost.toFixed(1)}% |`),
      '',
      'Per round:',
      '',
      ...(['set', 'get'] as const).map((t) => `- ${t.toUpperCase()}: default ${results[t].def.map(Math.round).join(', ')}; restricted ${results[t].acl.map(Math.round).join(', ')}`),
      '',
    ];
    const report = lines.join('\n');
    console.log(`\n${report}`);
    if (o.results !== '') writeFileSync(o.results, report);
  } finally {
    await srv.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  killAllNow();
  process.exit(1);
});
