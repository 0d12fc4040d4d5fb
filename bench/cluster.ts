// Cluster benchmarks (issue 4), all on loopback in one run:
// 1. Resharding speed: two Tessera nodes, the first holding every slot and N keys (16-byte keys,
//    32-byte values); `tessera cluster reshard` moves half of the slots to the second node. Keys
//    moved per second, and the client-visible throughput of an ioredis Cluster client (GET/SET
//    mix, fixed concurrency) before and during the move.
// 2. Scale-out: `tessera cluster local --nodes N` for N = 1..--max-nodes, driven by
//    `tessera bench --cluster` (SET and GET, pipeline 16), throughput against one node.
// Prints the machine and the figures and rewrites bench/CLUSTER-RESULTS.md.
// Run with `npm run bench:cluster [-- --keys N --max-nodes N]`.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { loadKeys, benchKey } from './lib/loader.js';
import { describeMachine, gitRevision } from './lib/machine.js';
import { freePort } from './lib/ports.js';
import { RespClient } from './lib/resp-client.js';
import { killAllNow, startServer, stopAll, type BenchServer } from './lib/servers.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TESSERA_MAIN = join(REPO_ROOT, 'dist/src/cli/main.js');
const RESULTS = join(REPO_ROOT, 'bench/CLUSTER-RESULTS.md');

interface Options {
  keys: number;
  maxNodes: number;
  shards: number;
  seconds: number;
  /** Commands the ioredis client keeps in flight during the reshard; 0 = no client load. */
  clientInFlight: number;
  results: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { keys: 1_000_000, maxNodes: 2, shards: 1, seconds: 5, clientInFlight: 64, results: RESULTS };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--results' && argv[i + 1] !== undefined) {
      o.results = argv[i + 1]!;
      continue;
    }
    const v = Number(argv[i + 1]);
    if (argv[i] === '--keys') o.keys = v;
    else if (argv[i] === '--max-nodes') o.maxNodes = v;
    else if (argv[i] === '--shards') o.shards = v;
    else if (argv[i] === '--seconds') o.seconds = v;
    else if (argv[i] === '--client-inflight') o.clientInFlight = v;
    else {
      process.stdout.write('Usage: npm run bench:cluster [-- --keys N (1000000) --max-nodes N (2) --shards N (1) --seconds S (5) --client-inflight N (64; 0 = no client load) --results FILE (bench/CLUSTER-RESULTS.md)]\n');
      process.exit(argv[i] === '--help' ? 0 : 2);
    }
  }
  return o;
}

async function startNode(shards: number, dir: string): Promise<BenchServer> {
  const port = await freePort();
  const bus = await freePort();
  return startServer({
    name: `tessera:${port}`,
    command: process.execPath,
    args: [TESSERA_MAIN, 'server', '--port', String(port), '--cluster-enabled', 'yes', '--cluster-port', String(bus), '--shards', String(shards),
      '--dir', dir, '--save', '', '--loglevel', 'warning', '--memcache-port', '0', '--http-port', '0'],
    port,
  });
}

async function call(port: number, ...args: string[]): Promise<unknown> {
  const c = await RespClient.connect(port);
  try {
    const r = await c.call(...args);
    if (r instanceof Error) throw r;
    return r;
  } finally {
    c.close();
  }
}

function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TESSERA_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera ${args.join(' ')} timed out:\n${out.slice(-2000)}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** GET/SET load through ioredis Cluster with `inFlight` outstanding commands; counts per 100 ms. */
function clientLoad(port: number, keys: number, inFlight: number): { stop(): Promise<void>; marks: Array<[number, number]>; errors: string[] } {
  const io = new Cluster([{ host: '127.0.0.1', port }], { scaleReads: 'master' });
  const marks: Array<[number, number]> = [];
  const errors: string[] = [];
  let done = 0;
  let running = true;
  const ticker = setInterval(() => marks.push([Date.now(), done]), 100);
  const workers = Array.from({ length: inFlight }, async (_, w) => {
    let i = w;
    while (running) {
      const key = benchKey((i * 7919) % keys);
      i++;
      try {
        if (i % 10 === 0) await io.set(key, 'v'.repeat(32));
        else await io.get(key);
        done++;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  });
  return {
    marks,
    errors,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      clearInterval(ticker);
      io.disconnect();
    },
  };
}

/** Operations per second between two times, from the 100 ms marks. */
function rateBetween(marks: Array<[number, number]>, from: number, to: number): number {
  const inside = marks.filter(([t]) => t >= from && t <= to);
  if (inside.length < 2) return 0;
  const [t0, n0] = inside[0]!;
  const [t1, n1] = inside[inside.length - 1]!;
  return ((n1 - n0) * 1000) / (t1 - t0);
}

interface ReshardResult {
  keys: number;
  moved: number;
  seconds: number;
  keysPerSec: number;
  before: number;
  during: number;
  errors: number;
  minWindow: number;
}

async function reshard(o: Options): Promise<ReshardResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-cluster-'));
  try {
    const a = await startNode(o.shards, dir);
    const bdir = mkdtempSync(join(tmpdir(), 'tessera-bench-cluster-'));
    const b = await startNode(o.shards, bdir);
    await call(a.port, 'CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await call(a.port, 'CLUSTER', 'MEET', '127.0.0.1', String(b.port), String(Number(/--cluster-port (\d+)/.exec(b.commandLine)![1])));
    for (let t = 0; ; t++) {
      const infos = await Promise.all([a, b].map((n) => call(n.port, 'CLUSTER', 'INFO')));
      if (infos.every((i) => /cluster_state:ok/.test(String(i)) && /cluster_known_nodes:2/.test(String(i)))) break;
      if (t > 300) throw new Error('the two nodes did not form a cluster');
      await sleep(100);
    }
    process.stdout.write(`loading ${o.keys} keys into ${a.name}...\n`);
    await loadKeys({ port: a.port, count: o.keys, valueBytes: 32 });
    const load = clientLoad(a.port, o.keys, o.clientInFlight);
    if (o.clientInFlight > 0) await sleep(3000);
    const idA = String(await call(a.port, 'CLUSTER', 'MYID'));
    const idB = String(await call(b.port, 'CLUSTER', 'MYID'));
    const t0 = Date.now();
    const r = await runCli(['cluster', 'reshard', `127.0.0.1:${a.port}`, '--from', idA, '--to', idB, '--slots', '8192', '--yes'], 600_000);
    const t1 = Date.now();
    await sleep(1000);
    await load.stop();
    if (r.code !== 0) throw new Error(`reshard failed (${r.code}):\n${r.out.slice(-3000)}`);
    const moved = Number(await call(b.port, 'DBSIZE'));
    let minWindow = Infinity;
    for (let t = t0; t + 500 <= t1; t += 500) minWindow = Math.min(minWindow, rateBetween(load.marks, t, t + 500));
    await a.stop();
    await b.stop();
    rmSync(bdir, { recursive: true, force: true });
    return {
      keys: o.keys,
      moved,
      seconds: (t1 - t0) / 1000,
      keysPerSec: moved / ((t1 - t0) / 1000),
      before: rateBetween(load.marks, t0 - 2500, t0),
      during: rateBetween(load.marks, t0, t1),
      errors: load.errors.length,
      minWindow: Number.isFinite(minWindow) ? minWindow : 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ScaleRow {
  nodes: number;
  set: number;
  get: number;
}

async function scaleOut(o: Options): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (let n = 1; n <= o.maxNodes; n++) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-local-'));
    const base = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [TESSERA_MAIN, 'cluster', 'local', '--nodes', String(n), '--base-port', String(base), '--dir', dir,
      '--shards', String(o.shards)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      for (let t = 0; ; t++) {
        const ok = await call(base, 'CLUSTER', 'INFO').then((i) => /cluster_state:ok/.test(String(i)) && new RegExp(`cluster_known_nodes:${n}`).test(String(i)), () => false);
        if (ok) break;
        if (t > 300 || child.exitCode !== null) throw new Error(`cluster local --nodes ${n} did not come up:\n${out.slice(-2000)}`);
        await sleep(100);
      }
      const r = await runCli(['bench', '-p', String(base), '--cluster', '-c', '50', '-P', '16', '-t', 'set,get', '--duration', String(o.seconds), '-q'], 120_000);
      const rate = (test: string): number => Number(new RegExp(`${test}[^\\n]*?([\\d.]+) requests per second`, 'i').exec(r.out)?.[1] ?? 0);
      rows.push({ nodes: n, set: rate('SET'), get: rate('GET') });
      process.stdout.write(`  ${n} node(s): ${r.out.trim().split('\n').join(' | ')}\n`);
    } finally {
      child.kill('SIGINT');
      await new Promise((res) => (child.exitCode !== null ? res(null) : child.once('exit', res)));
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

function ratio(a: number, b: number): string {
  return b > 0 ? (a / b).toFixed(2) : '-';
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const m = describeMachine();
  process.stdout.write(`machine: ${m.cpu}, ${m.cores} cores, node ${process.version}\n`);
  const rs = await reshard(o);
  process.stdout.write(
    `reshard: ${rs.moved} keys in ${rs.seconds.toFixed(2)} s = ${Math.round(rs.keysPerSec)} keys/s; client ops/s before ${Math.round(rs.before)}, during ${Math.round(rs.during)} (${ratio(rs.during, rs.before)}x), worst 500 ms window ${Math.round(rs.minWindow)}; client errors ${rs.errors}\n`,
  );
  const scale = await scaleOut(o);
  const one = scale[0];
  const lines = [
    '# Cluster benchmarks',
    '',
    `Written by \`npm run bench:cluster\` at revision ${gitRevision(REPO_ROOT)} on ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node.js ${process.version}. Shards per node: ${o.shards}.`,
    '',
    '## Resharding with `tessera cluster reshard`',
    '',
    `Two nodes on loopback; the first holds all ${rs.keys} keys (16-byte keys, 32-byte values); half of the slots (8192) move to the second`,
    o.clientInFlight > 0
      ? `while an ioredis Cluster client runs GET/SET (9:1) with ${o.clientInFlight} commands in flight.`
      : 'with no client load (`--client-inflight 0`).',
    '',
    '| keys moved | seconds | keys/s | client ops/s before | during | ratio | worst 500 ms | client errors |',
    '|---|---|---|---|---|---|---|---|',
    `| ${rs.moved} | ${rs.seconds.toFixed(2)} | ${Math.round(rs.keysPerSec)} | ${Math.round(rs.before)} | ${Math.round(rs.during)} | ${ratio(rs.during, rs.before)} | ${Math.round(rs.minWindow)} | ${rs.errors} |`,
    '',
    '## `tessera cluster local` scale-out',
    '',
    `\`tessera bench --cluster -c 50 -P 16 -t set,get --duration ${o.seconds}\` against N nodes (one process each) on this machine.`,
    '',
    '| nodes | SET ops/s | vs 1 node | GET ops/s | vs 1 node |',
    '|---|---|---|---|---|',
    ...scale.map((r) => `| ${r.nodes} | ${Math.round(r.set)} | ${one && one.set > 0 ? (r.set / one.set).toFixed(2) : '-'} | ${Math.round(r.get)} | ${one && one.get > 0 ? (r.get / one.get).toFixed(2) : '-'} |`),
    '',
  ];
  writeFileSync(o.results, lines.join('\n'));
  process.stdout.write(lines.join('\n') + '\n');
  await stopAll();
}

process.on('SIGINT', () => {
  killAllNow();
  process.exit(130);
});

main().catch(async (e: unknown) => {
  process.stderr.write(`bench:cluster failed: ${(e as Error).stack ?? String(e)}\n`);
  await stopAll();
  process.exit(1);
});
