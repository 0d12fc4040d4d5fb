// Replication and failover (issue 7): Tessera against redis-server on the same machine, same run.
//   1. Failover time. A cluster of 3 primaries + 3 replicas on loopback (one process per node,
//      cluster-node-timeout 1000 ms, Tessera with --shards 1), made by `tessera cluster create
//      --replicas 1` / `redis-cli --cluster create --cluster-replicas 1`. A client writes
//      continuously (SET, a fresh key each time, all in the slots of the primary about to die)
//      over plain RESP connections, to the node it believes owns the slot, following MOVED and
//      trying the other nodes on errors (5 ms apart). kill -9 of that primary; the figure is the
//      time from the kill to the first SET acknowledged by another node (the new primary). The
//      killed node is then restarted with its nodes.conf (it rejoins as a replica of the winner)
//      and the next kill waits until the cluster is 3 + 3 again with every replica linked and in
//      sync. The primaries of the three slot ranges are killed in turn. p50 and max per server.
//   2. Replication lag under a write load. A standalone primary and a replica (`--replicaof` /
//      `replicaof`), redis-benchmark -t set -P 16 -c 50 -r 100000 -d 32 on the primary for a
//      fixed time. Every 50 ms INFO replication on both: master_repl_offset (primary) minus
//      slave_repl_offset (replica) = lag in bytes. Meanwhile a prober SETs a key on the primary and
//      polls GET on the replica back to back until it is there: time lag after the primary's
//      acknowledgement (and after sending). After the load stops: time until the replica's offset
//      reaches the primary's.
//   3. SET throughput with one replica, as a ratio to redis-server with one replica: redis-benchmark
//      -t set -c 50 -r 100000 -d 32 at -P 16 and -P 1, rounds alternating Redis+replica,
//      Tessera+replica, Tessera alone (reference); ratios are taken pair by pair and the median is
//      reported. After each replicated run the next one waits for the replica to catch up.
// Prints the figures and rewrites bench/REPLICATION.md. Run with `npm run bench:replication`
// (see --help; --quick for a short run).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { describeMachine, type Machine, gitRevision } from './lib/machine.js';
import { info, killLoggedNow, logLines, startLogged, type LoggedServer } from './lib/persist.js';
import { freePort } from './lib/ports.js';
import { benchmarkArgs, runBenchmark, type BenchRow, type BenchRun } from './lib/redis-benchmark.js';
import { RespClient, type Reply } from './lib/resp-client.js';
import { parseFlags } from './lib/flags.js';
import { fmtInt, median } from './lib/stats.js';
import { runBench } from './lib/run.js';

const execFileAsync = promisify(execFile);
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TESSERA_MAIN = join(REPO_ROOT, 'dist/src/cli/main.js');
const LOG_NAME = 'node.log';
const SECTIONS = ['failover', 'lag', 'throughput'] as const;
type Section = (typeof SECTIONS)[number];
type Kind = 'tessera' | 'redis';
const LABEL: Record<Kind, string> = { tessera: 'Tessera', redis: 'redis-server' };

// ---- options ------------------------------------------------------------------------------

interface Options {
  sections: Set<Section>;
  systems: Kind[];
  kills: number;
  nodeTimeout: number;
  clusterShards: number;
  failoverTimeoutMs: number;
  rejoinTimeoutMs: number;
  lagSeconds: number;
  lagRounds: number;
  rounds: number;
  requests: number;
  requestsP1: number;
  clients: number;
  pipelines: number[];
  keyspace: number;
  valueBytes: number;
  shards: number | null;
  keepDirs: boolean;
  results: string;
}

const HELP = `Usage: npm run bench:replication [-- OPTIONS]   (or node dist/bench/replication.js OPTIONS)
  --quick               a short run: --kills 3 --lag-seconds 3 --lag-rounds 1 --rounds 1
                        --requests 100000 --requests-p1 20000 (later flags still override)
  --sections LIST       any of failover,lag,throughput (default all)
  --systems LIST        tessera,redis (default both; failover and lag only; throughput needs both)
  --kills N             primaries killed per system (default 20)
  --node-timeout MS     cluster-node-timeout of the failover clusters (default 1000)
  --cluster-shards N    --shards of each Tessera cluster node (default 1)
  --failover-timeout MS give up on one failover after this long (default 30000)
  --rejoin-timeout MS   give up waiting for the cluster to be 3+3 again after this long (default 60000)
  --lag-seconds S       measured seconds of write load per lag run (default 8)
  --lag-rounds N        lag runs per system, alternating (default 2)
  --rounds N            throughput rounds per pipeline depth (default 3)
  --requests N          requests per redis-benchmark run at -P 16 (default 500000)
  --requests-p1 N       requests per redis-benchmark run at -P 1 (default 100000)
  --clients N           redis-benchmark connections (default 50)
  --pipelines LIST      pipeline depths for the throughput runs (default 16,1)
  --shards N            --shards of the standalone Tessera servers (default: Tessera's own)
  --keep-dirs yes       keep the servers' temporary directories (logs, nodes.conf)
  --results FILE        report to rewrite (default bench/REPLICATION.md)`;

function parseOptions(argv: string[]): Options {
  const known = ['sections', 'systems', 'kills', 'node-timeout', 'cluster-shards', 'failover-timeout', 'rejoin-timeout', 'lag-seconds',
    'lag-rounds', 'rounds', 'requests', 'requests-p1', 'clients', 'pipelines', 'shards', 'keep-dirs', 'results'];
  const quick = [['kills', '3'], ['lag-seconds', '3'], ['lag-rounds', '1'], ['rounds', '1'], ['requests', '100000'], ['requests-p1', '20000']] as const;
  const { raw, int, list } = parseFlags(argv, HELP, { known, presets: { quick } });
  const sections = new Set<Section>();
  for (const s of list('sections', SECTIONS.join(','))) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--sections: unknown section '${s}'`);
    sections.add(s as Section);
  }
  const systems = list('systems', 'tessera,redis').map((s) => {
    if (s !== 'tessera' && s !== 'redis') throw new Error(`--systems: unknown system '${s}'`);
    return s as Kind;
  });
  const shards = raw('shards', '');
  return {
    sections, systems,
    kills: int('kills', 20, 1),
    nodeTimeout: int('node-timeout', 1000, 1),
    clusterShards: int('cluster-shards', 1, 1),
    failoverTimeoutMs: int('failover-timeout', 30_000, 1000),
    rejoinTimeoutMs: int('rejoin-timeout', 60_000, 1000),
    lagSeconds: int('lag-seconds', 8, 1),
    lagRounds: int('lag-rounds', 2, 1),
    rounds: int('rounds', 3, 1),
    requests: int('requests', 500_000, 1),
    requestsP1: int('requests-p1', 100_000, 1),
    clients: int('clients', 50, 1),
    pipelines: list('pipelines', '16,1').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    keyspace: 100_000,
    valueBytes: 32,
    shards: shards === '' ? null : int('shards', 1, 1),
    keepDirs: raw('keep-dirs', 'no') === 'yes',
    results: resolve(REPO_ROOT, raw('results', 'bench/REPLICATION.md')),
  };
}

// ---- helpers ------------------------------------------------------------------------------

/** Nearest-rank percentile (p in 0..100) of the finite values; NaN when there are none. */
function percentile(values: number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}


const fmtMs = (ms: number, digits = 0): string => (Number.isFinite(ms) ? `${ms.toFixed(digits)} ms` : 'n/a');
const fmtRatio = (r: number): string => (Number.isFinite(r) ? r.toFixed(2) : 'n/a');

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function say(text: string): void {
  process.stdout.write(text + '\n');
}

/** Problems seen during the run (failovers that did not finish, replicas out of sync...). */
const problems: string[] = [];
function problem(text: string): void {
  problems.push(text);
  say(`  PROBLEM: ${text}`);
}

const dirs: string[] = [];
function freshDir(what: string): string {
  const d = mkdtempSync(join(tmpdir(), `tessera-bench-repl-${what}-`));
  dirs.push(d);
  return d;
}

/** One command on its own short-lived connection, with a timeout; errors come back as Error values. */
async function call(port: number, timeoutMs: number, ...args: string[]): Promise<Reply> {
  let client: RespClient | undefined;
  try {
    client = await RespClient.connect(port);
    return await withTimeout(client.call(...args), timeoutMs);
  } catch (e) {
    return e as Error;
  } finally {
    client?.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function infoField(text: Reply, field: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim();
}

const commandLines: string[] = [];
function noteCommand(line: string): void {
  if (!commandLines.includes(line)) commandLines.push(line);
}

// ---- servers ------------------------------------------------------------------------------

interface NodeSpec {
  kind: Kind;
  port: number;
  dir: string;
  command: string;
  args: string[];
  cwd: string;
}

function tesseraArgs(port: number, dir: string, extra: string[]): string[] {
  return [TESSERA_MAIN, 'server', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no',
    '--memcache-port', '0', '--http-port', '0', ...extra];
}

function redisArgs(port: number, dir: string, extra: string[]): string[] {
  return ['--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', ...extra];
}

function spec(kind: Kind, port: number, dir: string, extra: string[]): NodeSpec {
  return kind === 'tessera'
    ? { kind, port, dir, command: process.execPath, args: tesseraArgs(port, dir, extra), cwd: dir }
    : { kind, port, dir, command: 'redis-server', args: redisArgs(port, dir, extra), cwd: dir };
}

function start(s: NodeSpec, name: string): Promise<LoggedServer> {
  return startLogged({ name, command: s.command, args: s.args, port: s.port, dir: s.dir, logName: LOG_NAME, cwd: s.cwd, readyTimeoutMs: 60_000 });
}

/** A command line for the report, with ports and directories replaced by placeholders. */
function generic(s: NodeSpec, names: Map<number, string>): string {
  const cmd = s.kind === 'tessera' ? 'node dist/src/cli/main.js' : 'redis-server';
  const args = s.kind === 'tessera' ? s.args.slice(1) : s.args;
  let line = [cmd, ...args.map((a) => (a === '' ? "''" : a))].join(' ').replace(s.dir, 'DIR');
  for (const [port, name] of names) line = line.replace(new RegExp(`\\b${port}\\b`, 'g'), name);
  return line;
}

// ---- 1. failover --------------------------------------------------------------------------

interface ClusterNodeRecord {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  link: string;
  slots: string[];
}

function parseNodes(text: string): ClusterNodeRecord[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((line) => {
    const f = line.split(' ');
    const addr = f[1] ?? '';
    return {
      id: f[0] ?? '', port: Number(/:(\d+)@/.exec(addr)?.[1] ?? /:(\d+)/.exec(addr)?.[1] ?? 0), flags: (f[2] ?? '').split(','),
      masterId: f[3] ?? '-', link: f[7] ?? '', slots: f.slice(8),
    };
  });
}

function slotOwned(rec: ClusterNodeRecord, slot: number): boolean {
  return rec.slots.some((s) => {
    if (s.startsWith('[')) return false;
    const [a, b] = s.split('-').map(Number);
    return a !== undefined && slot >= a && slot <= (b ?? a);
  });
}

interface ClusterNode {
  spec: NodeSpec;
  bus: number;
  server: LoggedServer | null;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port P in 20000..55000 with P and P + 10000 (the default cluster bus port) free a moment ago. */
async function clusterPortPair(taken: number[]): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.some((t) => Math.abs(t - port) === 0 || Math.abs(t - port) === 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free pair of ports P, P + 10000');
}

/** Why the cluster is not (yet) 3 primaries + 3 linked, synced replicas everywhere; null when it is. */
async function clusterUnsettled(nodes: ClusterNode[], primaries: number): Promise<string | null> {
  const total = nodes.length;
  const signatures = new Set<string>();
  for (const n of nodes) {
    const port = n.spec.port;
    const ci = await call(port, 2000, 'CLUSTER', 'INFO');
    if (typeof ci !== 'string') return `${port}: CLUSTER INFO: ${String(ci)}`;
    if (infoField(ci, 'cluster_state') !== 'ok') return `${port}: cluster_state ${infoField(ci, 'cluster_state') ?? '?'}`;
    if (Number(infoField(ci, 'cluster_known_nodes')) !== total) return `${port}: cluster_known_nodes ${infoField(ci, 'cluster_known_nodes') ?? '?'}`;
    const cn = await call(port, 2000, 'CLUSTER', 'NODES');
    if (typeof cn !== 'string') return `${port}: CLUSTER NODES: ${String(cn)}`;
    const recs = parseNodes(cn);
    const bad = recs.find((r) => r.flags.some((f) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(f)) || r.link !== 'connected');
    if (bad) return `${port} sees ${bad.port} as ${bad.flags.join(',')} ${bad.link}`;
    const masters = recs.filter((r) => r.flags.includes('master') && r.slots.some((s) => !s.startsWith('[')));
    const replicas = recs.filter((r) => r.flags.includes('slave'));
    if (masters.length !== primaries || replicas.length !== total - primaries) return `${port} sees ${masters.length} primaries with slots and ${replicas.length} replicas`;
    const byId = new Map(recs.map((r) => [r.id, r]));
    for (const r of replicas) {
      if (!masters.includes(byId.get(r.masterId)!)) return `${port} sees replica ${r.port} of ${r.masterId.slice(0, 8)}, not a primary with slots`;
    }
    const perMaster = new Map<string, number>();
    for (const r of replicas) perMaster.set(r.masterId, (perMaster.get(r.masterId) ?? 0) + 1);
    if (masters.some((m) => (perMaster.get(m.id) ?? 0) !== (total - primaries) / primaries)) return `${port} sees primaries with an uneven number of replicas`;
    signatures.add(recs.map((r) => `${r.port}:${r.flags.includes('master') ? 'M' : `S${byId.get(r.masterId)?.port ?? '?'}`}:${r.slots.join(' ')}`).sort().join('|'));
    const me = recs.find((r) => r.flags.includes('myself'));
    if (me?.flags.includes('slave')) {
      const ri = await call(port, 2000, 'INFO', 'replication');
      if (infoField(ri, 'master_link_status') !== 'up') return `replica ${port}: master_link_status ${infoField(ri, 'master_link_status') ?? String(ri)}`;
      if (infoField(ri, 'master_sync_in_progress') !== '0') return `replica ${port}: sync in progress`;
    }
  }
  if (signatures.size !== 1) return `the nodes disagree on the topology (${signatures.size} views)`;
  return null;
}

async function waitSettled(nodes: ClusterNode[], primaries: number, timeoutMs: number): Promise<{ ms: number; why: string | null }> {
  const t0 = performance.now();
  let why: string | null = 'not checked';
  while (performance.now() - t0 < timeoutMs) {
    why = await clusterUnsettled(nodes, primaries);
    if (why === null) return { ms: performance.now() - t0, why: null };
    await sleep(50);
  }
  return { ms: performance.now() - t0, why };
}

async function topology(nodes: ClusterNode[]): Promise<ClusterNodeRecord[]> {
  for (const n of nodes) {
    if (n.server === null || n.server.exited()) continue;
    const cn = await call(n.spec.port, 2000, 'CLUSTER', 'NODES');
    if (typeof cn === 'string') return parseNodes(cn);
  }
  throw new Error('no node answered CLUSTER NODES');
}

/** A hash tag whose slot lies inside the r-th of three even slot ranges (away from the edges). */
function tagForRange(r: number): string {
  const lo = Math.floor((r * 16384) / 3) + 500;
  const hi = Math.floor(((r + 1) * 16384) / 3) - 500;
  for (let i = 0; ; i++) {
    const tag = `fo${r}-${i}`;
    const slot = calculateSlot(tag);
    if (slot >= lo && slot <= hi) return tag;
  }
}

/**
 * The writing client: SET {tag}:n value in a loop on plain RESP connections. It sends to the node
 * it believes owns the slot, follows MOVED at once, and on any other error or a dead connection
 * waits `retryMs` and tries the next node of the list. Every acknowledged SET is recorded with the
 * time its reply arrived and the port that acknowledged it.
 */
class Writer {
  readonly acks: Array<[number, number]> = [];
  readonly errors = new Map<string, number>();
  private running = true;
  private readonly conns = new Map<number, RespClient>();
  private readonly loop: Promise<void>;

  constructor(private readonly ports: number[], first: number, private readonly tag: string, private readonly retryMs = 5) {
    this.loop = this.run(first);
  }

  private count(what: string): void {
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
  }

  private drop(port: number): void {
    this.conns.get(port)?.close();
    this.conns.delete(port);
  }

  private async run(first: number): Promise<void> {
    let target = first;
    let rotate = 0;
    const value = 'v'.repeat(32);
    const next = (): number => this.ports[rotate++ % this.ports.length]!;
    for (let n = 0; this.running; n++) {
      let conn = this.conns.get(target);
      try {
        if (conn === undefined) {
          conn = await withTimeout(RespClient.connect(target), 1000);
          this.conns.set(target, conn);
        }
      } catch (e) {
        this.count(`connect: ${(e as Error & { code?: string }).code ?? (e as Error).message}`);
        target = next();
        await sleep(this.retryMs);
        continue;
      }
      let reply: Reply;
      try {
        reply = await withTimeout(conn.call('SET', `{${this.tag}}:${n}`, value), 1000);
      } catch (e) {
        this.count(`connection: ${(e as Error).message.slice(0, 40)}`);
        this.drop(target);
        target = next();
        await sleep(this.retryMs);
        continue;
      }
      if (reply === 'OK') {
        this.acks.push([performance.now(), target]);
        continue;
      }
      const message = reply instanceof Error ? reply.message : `unexpected reply ${JSON.stringify(reply)}`;
      const moved = /^MOVED \d+ \S*:(\d+)/.exec(message);
      if (moved) {
        this.count('MOVED');
        target = Number(moved[1]);
        continue;
      }
      this.count(message.split(' ')[0] ?? message);
      target = next();
      await sleep(this.retryMs);
    }
  }

  /** Resolves with the first ack after `since` by a node other than `not`, or null after timeoutMs. */
  async firstAck(since: number, not: number | null, timeoutMs: number, only: number | null = null): Promise<[number, number] | null> {
    const deadline = performance.now() + timeoutMs;
    let from = 0;
    while (performance.now() < deadline) {
      for (; from < this.acks.length; from++) {
        const a = this.acks[from]!;
        if (a[0] > since && a[1] !== not && (only === null || a[1] === only)) return a;
      }
      await sleep(2);
    }
    return null;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    for (const port of [...this.conns.keys()]) this.drop(port);
  }
}

interface Kill {
  n: number;
  victim: number;
  winner: number | null;
  failoverMs: number;
  rejoinMs: number;
  errors: string;
}

interface FailoverSeries {
  kind: Kind;
  kills: Kill[];
  setupMs: number;
  note: string;
}

async function failoverSeries(kind: Kind, o: Options): Promise<FailoverSeries> {
  const root = freshDir(`cluster-${kind}`);
  const nodes: ClusterNode[] = [];
  const names = new Map<number, string>();
  for (let i = 0; i < 6; i++) {
    // The bus listens on the default port + 10000: \`tessera cluster create\` sends CLUSTER MEET without a bus port.
    const port = await clusterPortPair(nodes.flatMap((n) => [n.spec.port, n.bus]));
    const bus = port + 10_000;
    const dir = join(root, String(port));
    mkdirSync(dir, { recursive: true });
    const extra = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(o.nodeTimeout), ...(kind === 'tessera' ? ['--shards', String(o.clusterShards)] : [])];
    nodes.push({ spec: spec(kind, port, dir, extra), bus, server: null });
    names.set(port, `PORT${i + 1}`);
  }
  const t0 = performance.now();
  await Promise.all(nodes.map(async (n, i) => (n.server = await start(n.spec, `${kind} node ${i + 1}`))));
  noteCommand(`# ${LABEL[kind]} failover cluster: 6 nodes (i = 1..6; ports picked free at run time, bus port = port + 10000)`);
  noteCommand(generic(nodes[0]!.spec, names).replace(/PORT1/g, 'PORTi'));
  const addrs = nodes.map((n) => `127.0.0.1:${n.spec.port}`);
  const create = kind === 'tessera'
    ? { cmd: process.execPath, args: [TESSERA_MAIN, 'cluster', 'create', ...addrs, '--replicas', '1', '--yes'] }
    : { cmd: 'redis-cli', args: ['--cluster', 'create', ...addrs, '--cluster-replicas', '1', '--cluster-yes'] };
  noteCommand(kind === 'tessera'
    ? 'node dist/src/cli/main.js cluster create 127.0.0.1:PORT1 ... 127.0.0.1:PORT6 --replicas 1 --yes'
    : 'redis-cli --cluster create 127.0.0.1:PORT1 ... 127.0.0.1:PORT6 --cluster-replicas 1 --cluster-yes');
  try {
    await execFileAsync(create.cmd, create.args, { timeout: 120_000, maxBuffer: 4 << 20 });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${LABEL[kind]} cluster create failed: ${err.message}\n${(err.stdout ?? '').slice(-2000)}${(err.stderr ?? '').slice(-2000)}`);
  }
  const settled = await waitSettled(nodes, 3, o.rejoinTimeoutMs);
  if (settled.why !== null) throw new Error(`${LABEL[kind]} cluster did not settle as 3 + 3: ${settled.why}`);
  const setupMs = performance.now() - t0;
  say(`  ${LABEL[kind]}: 3 primaries + 3 replicas ready in ${(setupMs / 1000).toFixed(1)} s`);
  const tags = [0, 1, 2].map(tagForRange);
  const ports = nodes.map((n) => n.spec.port);
  const kills: Kill[] = [];
  let note = '';
  for (let k = 0; k < o.kills; k++) {
    const tag = tags[k % 3]!;
    const slot = calculateSlot(tag);
    const owner = (await topology(nodes)).find((r) => r.flags.includes('master') && slotOwned(r, slot));
    const victim = nodes.find((n) => n.spec.port === owner?.port);
    if (owner === undefined || victim?.server == null) {
      problem(`${LABEL[kind]} kill ${k + 1}: no live primary found for slot ${slot}`);
      note = 'stopped: no owner found';
      break;
    }
    const writer = new Writer(ports, victim.spec.port, tag);
    const warm = await writer.firstAck(0, null, 5000, victim.spec.port);
    if (warm === null) {
      await writer.stop();
      problem(`${LABEL[kind]} kill ${k + 1}: the writer got no acknowledgement from primary ${victim.spec.port} in 5 s (errors: ${fmtErrors(writer.errors)})`);
      note = 'stopped: writer could not write before the kill';
      break;
    }
    await sleep(200);
    writer.errors.clear();
    const killedAt = performance.now();
    process.kill(victim.server.pid, 'SIGKILL');
    const ack = await writer.firstAck(killedAt, victim.spec.port, o.failoverTimeoutMs);
    await writer.stop();
    await victim.server.stop();
    const failoverMs = ack === null ? NaN : ack[0] - killedAt;
    if (ack === null) {
      const view = await topology(nodes).catch(() => []);
      problem(`${LABEL[kind]} kill ${k + 1}: no write acknowledged by another node within ${o.failoverTimeoutMs} ms after kill -9 of primary ${victim.spec.port} `
        + `(slot ${slot}); writer errors: ${fmtErrors(writer.errors)}; view: ${view.map((r) => `${r.port} ${r.flags.join(',')}`).join('; ')}`);
    }
    // Restart it from its nodes.conf: it must come back as a replica of the new primary.
    const restartedAt = performance.now();
    victim.server = await start(victim.spec, `${kind} node ${victim.spec.port}`);
    const back = await waitSettled(nodes, 3, o.rejoinTimeoutMs);
    const rejoinMs = back.why === null ? performance.now() - restartedAt : NaN;
    const kill: Kill = { n: k + 1, victim: victim.spec.port, winner: ack?.[1] ?? null, failoverMs, rejoinMs, errors: fmtErrors(writer.errors) };
    kills.push(kill);
    say(`  ${LABEL[kind]} kill ${String(k + 1).padStart(2)}: primary ${victim.spec.port} -> ${kill.winner ?? '?'} in ${fmtMs(failoverMs)}; `
      + `restarted node back as replica, cluster 3+3 in ${fmtMs(rejoinMs)} (writer saw: ${kill.errors})`);
    if (back.why !== null) {
      problem(`${LABEL[kind]} kill ${k + 1}: after restarting ${victim.spec.port} the cluster was not 3 + 3 with synced replicas within ${o.rejoinTimeoutMs} ms: ${back.why}`);
      note = `stopped after kill ${k + 1}: the cluster did not recover`;
      break;
    }
    const after = await topology(nodes);
    const me = after.find((r) => r.port === victim.spec.port);
    const newOwner = after.find((r) => r.flags.includes('master') && slotOwned(r, slot));
    if (kill.winner !== null && newOwner?.port !== kill.winner) {
      problem(`${LABEL[kind]} kill ${k + 1}: the write after the kill was acknowledged by ${kill.winner}, but slot ${slot} is now owned by ${newOwner?.port ?? 'nobody'}`);
    }
    if (!me?.flags.includes('slave')) problem(`${LABEL[kind]} kill ${k + 1}: restarted node ${victim.spec.port} is ${me?.flags.join(',') ?? 'missing'}, not a replica`);
  }
  await Promise.all(nodes.map((n) => n.server?.stop(10_000)));
  if (problems.some((p) => p.startsWith(LABEL[kind]))) {
    say(`  ${LABEL[kind]} node logs kept in ${root}`);
    dirs.splice(dirs.indexOf(root), 1);
  }
  return { kind, kills, setupMs, note };
}

function fmtErrors(errors: Map<string, number>): string {
  if (errors.size === 0) return 'no errors';
  return [...errors].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}x ${k}`).join(', ');
}

// ---- 2. replication lag -------------------------------------------------------------------

interface LagRun {
  kind: Kind;
  round: number;
  bytes: number[];
  afterAckMs: number[];
  afterSendMs: number[];
  setsPerSec: number;
  feedBytesPerSec: number;
  catchUpMs: number;
}

interface Pair {
  kind: Kind;
  primary: LoggedServer;
  replica: LoggedServer;
  primarySpec: NodeSpec;
  replicaSpec: NodeSpec;
}

async function startPair(kind: Kind, o: Options, what: string): Promise<Pair> {
  const pPort = await freePort();
  const rPort = await freePort();
  const shards = kind === 'tessera' && o.shards !== null ? ['--shards', String(o.shards)] : [];
  const primarySpec = spec(kind, pPort, freshDir(`${what}-${kind}-primary`), shards);
  const replicaSpec = spec(kind, rPort, freshDir(`${what}-${kind}-replica`), [...shards, '--replicaof', '127.0.0.1', String(pPort)]);
  const primary = await start(primarySpec, `${kind} primary`);
  const replica = await start(replicaSpec, `${kind} replica`);
  const names = new Map([[pPort, 'PRIMARY_PORT'], [rPort, 'REPLICA_PORT']]);
  const lines = [generic(primarySpec, names), generic(replicaSpec, names)];
  if (lines.every((l) => commandLines.includes(l))) noteCommand(`# ${LABEL[kind]} primary and replica (${what}): the same command lines as above`);
  else {
    noteCommand(`# ${LABEL[kind]} primary and replica (${what})`);
    lines.forEach(noteCommand);
  }
  const t0 = performance.now();
  while (true) {
    const ri = await call(rPort, 2000, 'INFO', 'replication');
    if (infoField(ri, 'master_link_status') === 'up' && infoField(ri, 'master_sync_in_progress') === '0') break;
    if (performance.now() - t0 > 60_000) throw new Error(`${LABEL[kind]} replica did not sync with its primary in 60 s: ${String(infoField(ri, 'master_link_status'))}\n${logLines(replica.logPath).slice(-20).join('\n')}`);
    await sleep(50);
  }
  return { kind, primary, replica, primarySpec, replicaSpec };
}

async function offsets(pair: Pair): Promise<{ primary: number; replica: number }> {
  const [p, r] = await Promise.all([call(pair.primary.port, 5000, 'INFO', 'replication'), call(pair.replica.port, 5000, 'INFO', 'replication')]);
  return { primary: Number(infoField(p, 'master_repl_offset')), replica: Number(infoField(r, 'slave_repl_offset')) };
}

/** Milliseconds until the replica's offset reaches the primary's (the primary taking no writes). */
async function catchUp(pair: Pair, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  const target = (await offsets(pair)).primary;
  while (performance.now() - t0 < timeoutMs) {
    const r = await call(pair.replica.port, 5000, 'INFO', 'replication');
    if (Number(infoField(r, 'slave_repl_offset')) >= target) return performance.now() - t0;
    await sleep(5);
  }
  const now = await offsets(pair);
  problem(`${LABEL[pair.kind]} replica did not reach the primary's offset ${target} within ${timeoutMs} ms (now primary ${now.primary}, replica ${now.replica})`);
  return NaN;
}

async function lagRun(kind: Kind, round: number, o: Options): Promise<LagRun> {
  const pair = await startPair(kind, o, 'lag');
  const run: BenchRun = { port: pair.primary.port, tests: ['set'], clients: o.clients, requests: 100_000_000, keyspace: o.keyspace, valueBytes: o.valueBytes, pipeline: 16 };
  noteCommand(`# lag load, stopped (SIGINT) after 2 s of warm-up + ${o.lagSeconds} s measured`);
  noteCommand(`redis-benchmark ${benchmarkArgs({ ...run, port: 0 }).join(' ').replace('-p 0', '-p PRIMARY_PORT')}`);
  const bench: ChildProcess = spawn('redis-benchmark', benchmarkArgs(run), { stdio: 'ignore' });
  const pc = await RespClient.connect(pair.primary.port);
  const rc = await RespClient.connect(pair.replica.port);
  const sc = await RespClient.connect(pair.primary.port);
  const probeP = await RespClient.connect(pair.primary.port);
  const probeR = await RespClient.connect(pair.replica.port);
  const result: LagRun = { kind, round, bytes: [], afterAckMs: [], afterSendMs: [], setsPerSec: NaN, feedBytesPerSec: NaN, catchUpMs: NaN };
  try {
    await sleep(2000);
    const statsStart = await info(sc, 'stats');
    const startOffsets = await offsets(pair);
    const tStart = performance.now();
    const end = tStart + o.lagSeconds * 1000;
    const sampler = (async () => {
      for (let next = performance.now(); performance.now() < end; next += 50) {
        const [p, r] = await Promise.all([pc.call('INFO', 'replication'), rc.call('INFO', 'replication')]);
        const lag = Number(infoField(p, 'master_repl_offset')) - Number(infoField(r, 'slave_repl_offset'));
        if (Number.isFinite(lag)) result.bytes.push(Math.max(0, lag));
        const wait = next + 50 - performance.now();
        if (wait > 0) await sleep(wait);
      }
    })();
    const prober = (async () => {
      for (let i = 0; performance.now() < end; i++) {
        const key = `lagprobe:${round}:${i}`;
        const value = `${Date.now()}-${i}`;
        const sent = performance.now();
        const ok = await probeP.call('SET', key, value);
        const acked = performance.now();
        if (ok !== 'OK') {
          problem(`${LABEL[kind]} lag probe SET got ${String(ok)}`);
          break;
        }
        while (true) {
          const got = await probeR.call('GET', key);
          if (got === value) break;
          if (performance.now() - acked > 30_000) {
            problem(`${LABEL[kind]} lag probe ${key} not on the replica 30 s after the primary acknowledged it`);
            return;
          }
        }
        const seen = performance.now();
        result.afterAckMs.push(seen - acked);
        result.afterSendMs.push(seen - sent);
        await sleep(10);
      }
    })();
    await Promise.all([sampler, prober]);
    const elapsed = (performance.now() - tStart) / 1000;
    const statsEnd = await info(sc, 'stats');
    const endOffsets = await offsets(pair);
    result.setsPerSec = (Number(statsEnd.get('total_commands_processed')) - Number(statsStart.get('total_commands_processed'))) / elapsed;
    result.feedBytesPerSec = (endOffsets.primary - startOffsets.primary) / elapsed;
  } finally {
    bench.kill('SIGINT');
    await new Promise((r) => (bench.exitCode !== null || bench.signalCode !== null ? r(null) : bench.once('exit', r)));
    for (const c of [pc, rc, sc, probeP, probeR]) c.close();
  }
  result.catchUpMs = await catchUp(pair);
  await Promise.all([pair.primary.stop(10_000), pair.replica.stop(10_000)]);
  say(`  ${LABEL[kind]} lag round ${round}: ${fmtInt(result.setsPerSec)} commands/s, feed ${(result.feedBytesPerSec / 2 ** 20).toFixed(1)} MiB/s; `
    + `lag bytes p50 ${fmtInt(percentile(result.bytes, 50))} p99 ${fmtInt(percentile(result.bytes, 99))} max ${fmtInt(percentile(result.bytes, 100))} (${result.bytes.length} samples); `
    + `visible on replica after ack p50 ${fmtMs(percentile(result.afterAckMs, 50), 2)} p99 ${fmtMs(percentile(result.afterAckMs, 99), 2)} (${result.afterAckMs.length} probes); `
    + `caught up ${fmtMs(result.catchUpMs)} after the load stopped`);
  return result;
}

// ---- 3. throughput ------------------------------------------------------------------------

type Setup = 'redis+replica' | 'tessera+replica' | 'tessera';

interface ThroughputRow {
  pipeline: number;
  round: number;
  rows: Map<Setup, BenchRow>;
  catchUpMs: Map<Setup, number>;
}

async function throughput(o: Options): Promise<{ rows: ThroughputRow[]; integrity: string[] }> {
  const redis = await startPair('redis', o, 'throughput');
  const tessera = await startPair('tessera', o, 'throughput');
  const soloSpec = spec('tessera', await freePort(), freshDir('throughput-tessera-alone'), o.shards !== null ? ['--shards', String(o.shards)] : []);
  const solo = await start(soloSpec, 'tessera alone');
  noteCommand('# Tessera without a replica (reference)');
  noteCommand(generic(soloSpec, new Map([[soloSpec.port, 'PORT']])));
  const targets: Array<[Setup, number, Pair | null]> = [
    ['redis+replica', redis.primary.port, redis], ['tessera+replica', tessera.primary.port, tessera], ['tessera', solo.port, null],
  ];
  // One unmeasured run each first: a fresh Tessera runs its first seconds in the JIT's warm-up.
  const warmRequests = Math.max(1000, Math.floor(o.requests / 4));
  for (const [, port, pair] of targets) {
    await runBenchmark({ port, tests: ['set'], clients: o.clients, requests: warmRequests, keyspace: o.keyspace, valueBytes: o.valueBytes, pipeline: 16 });
    if (pair !== null) await catchUp(pair);
  }
  const rows: ThroughputRow[] = [];
  noteCommand(`# throughput: first one unmeasured warm-up run per server (-P 16 -n ${warmRequests}), then`);
  noteCommand(`# throughput: per pipeline depth P in ${o.pipelines.join(', ')}, ${o.rounds} rounds of redis+replica, tessera+replica, tessera alone (even rounds in reverse order)`);
  for (const pipeline of o.pipelines) {
    const requests = pipeline === 1 ? o.requestsP1 : o.requests;
    noteCommand(`redis-benchmark ${benchmarkArgs({ port: 0, tests: ['set'], clients: o.clients, requests, keyspace: o.keyspace, valueBytes: o.valueBytes, pipeline }).join(' ').replace('-p 0', '-p PRIMARY_PORT')}`);
    for (let round = 1; round <= o.rounds; round++) {
      const row: ThroughputRow = { pipeline, round, rows: new Map(), catchUpMs: new Map() };
      // Which system goes first alternates by round (docs/benchmarks.md).
      for (const [setup, port, pair] of round % 2 === 1 ? targets : [...targets].reverse()) {
        const [r] = await runBenchmark({ port, tests: ['set'], clients: o.clients, requests, keyspace: o.keyspace, valueBytes: o.valueBytes, pipeline });
        if (r === undefined) throw new Error('redis-benchmark printed no SET row');
        row.rows.set(setup, r);
        if (pair !== null) row.catchUpMs.set(setup, await catchUp(pair));
      }
      rows.push(row);
      const a = row.rows.get('redis+replica')!;
      const b = row.rows.get('tessera+replica')!;
      const c = row.rows.get('tessera')!;
      say(`  -P ${pipeline} round ${round}: redis+replica ${fmtInt(a.rps)} rps, tessera+replica ${fmtInt(b.rps)} rps (ratio ${fmtRatio(b.rps / a.rps)}), `
        + `tessera alone ${fmtInt(c.rps)} rps; replica caught up ${fmtMs(row.catchUpMs.get('redis+replica')!)} / ${fmtMs(row.catchUpMs.get('tessera+replica')!)} after the run`);
    }
  }
  const integrity: string[] = [];
  for (const pair of [redis, tessera]) {
    const [p, r] = await Promise.all([call(pair.primary.port, 5000, 'DBSIZE'), call(pair.replica.port, 5000, 'DBSIZE')]);
    integrity.push(`${LABEL[pair.kind]}: DBSIZE primary ${String(p)}, replica ${String(r)}`);
    if (p !== r) problem(`${LABEL[pair.kind]} after the throughput runs: DBSIZE primary ${String(p)} but replica ${String(r)} (offsets caught up)`);
  }
  await Promise.all([redis.primary.stop(10_000), redis.replica.stop(10_000), tessera.primary.stop(10_000), tessera.replica.stop(10_000), solo.stop(10_000)]);
  return { rows, integrity };
}

// ---- report -------------------------------------------------------------------------------

const startLoad = loadavg().map((n) => n.toFixed(2)).join(' ');

function machineLines(m: Machine, o: Options): string[] {
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores available; RAM ${m.ramGiB} GiB; Linux ${m.kernel}`,
    `- Node.js ${m.node}; redis-server ${m.redisServer}; Tessera ${gitRevision(REPO_ROOT)}; standalone Tessera shards: ${o.shards ?? "Tessera's default"}`,
    `- Load average (1, 5, 15 min) at the start: ${startLoad}; when the report was written: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`,
    '- Servers, replicas, redis-benchmark and this script share these cores with whatever else runs on the machine; a load average',
    '  above the core count means other work competed, so compare figures within the run (ratios, pair by pair) rather than across runs.',
  ];
}

function report(o: Options, m: Machine, argv: string[], fo: FailoverSeries[], lag: LagRun[], tp: { rows: ThroughputRow[]; integrity: string[] } | null, elapsedS: number): string {
  const out = [
    '# Replication and failover benchmarks',
    '',
    `Generated by \`npm run bench:replication\` (bench/replication.ts) on ${new Date().toISOString()} in ${elapsedS.toFixed(0)} s.`,
    `Arguments: \`${argv.join(' ') || '(defaults)'}\`. Regenerate with the same command; the file is rewritten on every run.`,
    '',
    '## Machine',
    '',
    ...machineLines(m, o),
    '',
  ];
  if (fo.length > 0) {
    out.push('## Failover time', '',
      `Six nodes on loopback, 3 primaries + 3 replicas, \`cluster-node-timeout ${o.nodeTimeout}\`${o.systems.includes('tessera') ? `, Tessera nodes with \`--shards ${o.clusterShards}\`` : ''}.`,
      'A client writes continuously (SET of a new key each time, all in the slots of the primary about to be killed) over plain RESP',
      'connections: to the node it believes owns the slot, following MOVED at once, and after any other error or a refused or lost',
      'connection trying the next node 5 ms later. Failover time = from `kill -9` of the primary to the first SET acknowledged by another',
      'node (the promoted replica). The killed node is then restarted with its nodes.conf and the next kill waits until the cluster is',
      '3 + 3 again (every node agrees, every replica linked and not syncing): "rejoin" is that time after the restart. The primaries of',
      'the three slot ranges are killed in turn.',
      '',
      table(['server', 'kills', 'failovers completed', 'p50', 'p90', 'max', 'min', 'rejoin p50', 'rejoin max'],
        fo.map((s) => {
          const ms = s.kills.map((k) => k.failoverMs);
          const done = ms.filter((v) => Number.isFinite(v));
          const rj = s.kills.map((k) => k.rejoinMs);
          return [LABEL[s.kind], String(s.kills.length), String(done.length), fmtMs(percentile(ms, 50)), fmtMs(percentile(ms, 90)),
            fmtMs(percentile(ms, 100)), fmtMs(percentile(ms, 0)), fmtMs(percentile(rj, 50)), fmtMs(percentile(rj, 100))];
        })),
      '');
    if (fo.length === 2) {
      const [a, b] = fo;
      const p50 = (s: FailoverSeries): number => percentile(s.kills.map((k) => k.failoverMs), 50);
      const t = a!.kind === 'tessera' ? a! : b!;
      const r = a!.kind === 'redis' ? a! : b!;
      out.push(`Tessera / Redis failover time, p50: ${fmtRatio(p50(t) / p50(r))} (lower is faster).`, '');
    }
    const n = Math.max(...fo.map((s) => s.kills.length));
    out.push('Every kill (failover time; writer errors between the kill and the first acknowledged write on the new primary):', '',
      table(['kill', ...fo.flatMap((s) => [`${LABEL[s.kind]} failover`, `${LABEL[s.kind]} rejoin`, `${LABEL[s.kind]} writer saw`])],
        Array.from({ length: n }, (_, i) => [String(i + 1), ...fo.flatMap((s) => {
          const k = s.kills[i];
          return k === undefined ? ['-', '-', '-'] : [fmtMs(k.failoverMs), fmtMs(k.rejoinMs), k.errors];
        })])),
      '');
    for (const s of fo) if (s.note !== '') out.push(`${LABEL[s.kind]}: ${s.note}.`, '');
  }
  if (lag.length > 0) {
    out.push('## Replication lag under a write load', '',
      `Standalone primary + one replica; \`redis-benchmark -t set -c ${o.clients} -P 16 -r ${o.keyspace} -d ${o.valueBytes}\` on the primary, measured for`,
      `${o.lagSeconds} s after 2 s of warm-up, ${o.lagRounds} run(s) per server (fresh servers each, runs alternating). Lag in bytes = primary`,
      '`master_repl_offset` - replica `slave_repl_offset` from INFO replication, both asked at the same moment every 50 ms (Tessera\'s',
      'offsets are the sums of its per-shard offsets). Time lag: a prober SETs a fresh key on the primary, then GETs it on the replica back to',
      'back until it is there, 10 ms between probes; "after ack" counts from the primary\'s reply, "after send" from sending the SET.',
      '"Catch-up" = from the end of the load until the replica\'s offset reaches the primary\'s.',
      '',
      table(['server', 'SET/s on the primary', 'feed MiB/s', 'lag bytes p50', 'p99', 'max', 'visible after ack p50', 'p99', 'max', 'after send p50', 'p99', 'probes', 'catch-up'],
        o.systems.map((kind) => {
          const runs = lag.filter((r) => r.kind === kind);
          const all = (f: (r: LagRun) => number[]): number[] => runs.flatMap(f);
          const bytes = all((r) => r.bytes);
          const ack = all((r) => r.afterAckMs);
          const send = all((r) => r.afterSendMs);
          return [LABEL[kind], fmtInt(median(runs.map((r) => r.setsPerSec))), (median(runs.map((r) => r.feedBytesPerSec)) / 2 ** 20).toFixed(1),
            fmtInt(percentile(bytes, 50)), fmtInt(percentile(bytes, 99)), fmtInt(percentile(bytes, 100)),
            fmtMs(percentile(ack, 50), 2), fmtMs(percentile(ack, 99), 2), fmtMs(percentile(ack, 100), 2),
            fmtMs(percentile(send, 50), 2), fmtMs(percentile(send, 99), 2), String(ack.length),
            runs.map((r) => fmtMs(r.catchUpMs)).join(', ')];
        })),
      '',
      'SET/s is the primary\'s total_commands_processed growth (includes the INFO and probe commands, a few hundred per second). The offsets',
      'count different things (Redis: bytes of the RESP command stream; Tessera: bytes of each shard\'s effect feed), so compare byte lags',
      'with the feed rate next to them, or use the time lag.',
      '');
  }
  if (tp !== null && tp.rows.length > 0) {
    out.push('## SET throughput with one replica', '',
      `\`redis-benchmark -t set -c ${o.clients} -r ${o.keyspace} -d ${o.valueBytes}\`, ${o.requests} requests at -P 16 and ${o.requestsP1} at -P 1, against the primary.`,
      `${o.rounds} round(s) per pipeline depth, each running redis+replica, Tessera+replica, Tessera alone in that order; after a`,
      'replicated run the next waits until its replica reached the primary\'s offset. Ratios are taken within a round, then the median.',
      '',
      table(['test', 'Redis+replica rps', 'Tessera+replica rps', 'ratio Tessera/Redis (with replicas)', 'Tessera alone rps', 'Tessera with / without replica',
        'Redis+replica p99', 'Tessera+replica p99'],
        o.pipelines.map((p) => {
          const rs = tp.rows.filter((r) => r.pipeline === p);
          const get = (s: Setup, f: (b: BenchRow) => number): number[] => rs.map((r) => f(r.rows.get(s)!));
          return [`SET -P ${p}`, fmtInt(median(get('redis+replica', (b) => b.rps))), fmtInt(median(get('tessera+replica', (b) => b.rps))),
            fmtRatio(median(rs.map((r) => r.rows.get('tessera+replica')!.rps / r.rows.get('redis+replica')!.rps))),
            fmtInt(median(get('tessera', (b) => b.rps))),
            fmtRatio(median(rs.map((r) => r.rows.get('tessera+replica')!.rps / r.rows.get('tessera')!.rps))),
            fmtMs(median(get('redis+replica', (b) => b.p99LatencyMs)), 2), fmtMs(median(get('tessera+replica', (b) => b.p99LatencyMs)), 2)];
        })),
      '',
      'Every round (rps: Redis+replica / Tessera+replica / Tessera alone; replica catch-up after the run: Redis / Tessera):',
      '',
      table(['test', 'round', 'rps', 'ratio', 'catch-up'], tp.rows.map((r) => [`SET -P ${r.pipeline}`, String(r.round),
        `${fmtInt(r.rows.get('redis+replica')!.rps)} / ${fmtInt(r.rows.get('tessera+replica')!.rps)} / ${fmtInt(r.rows.get('tessera')!.rps)}`,
        fmtRatio(r.rows.get('tessera+replica')!.rps / r.rows.get('redis+replica')!.rps),
        `${fmtMs(r.catchUpMs.get('redis+replica')!)} / ${fmtMs(r.catchUpMs.get('tessera+replica')!)}`])),
      '',
      `After the runs: ${tp.integrity.join('; ')}.`,
      '');
  }
  out.push('## Commands', '', '```', `node dist/bench/replication.js ${argv.join(' ')}`.trim(), ...commandLines, '```', '');
  out.push('## Problems seen', '');
  if (problems.length === 0) out.push('None.', '');
  else out.push(...problems.map((p) => `- ${p}`), '');
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv);
  const machine = describeMachine();
  const began = performance.now();
  say(`Machine:\n${machineLines(machine, o).join('\n')}\n`);
  const fo: FailoverSeries[] = [];
  if (o.sections.has('failover')) {
    say(`Failover: ${o.kills} kill(s) per server, cluster-node-timeout ${o.nodeTimeout}`);
    for (const kind of o.systems) {
      try {
        fo.push(await failoverSeries(kind, o));
      } catch (e) {
        problem(`${LABEL[kind]} failover series failed: ${(e as Error).message}`);
      }
    }
  }
  const lag: LagRun[] = [];
  if (o.sections.has('lag')) {
    say(`Replication lag: ${o.lagRounds} run(s) of ${o.lagSeconds} s per server`);
    for (let round = 1; round <= o.lagRounds; round++) {
      for (const kind of round % 2 === 1 ? o.systems : [...o.systems].reverse()) {
        try {
          lag.push(await lagRun(kind, round, o));
        } catch (e) {
          problem(`${LABEL[kind]} lag run ${round} failed: ${(e as Error).message}`);
        }
      }
    }
  }
  let tp: { rows: ThroughputRow[]; integrity: string[] } | null = null;
  if (o.sections.has('throughput')) {
    say(`SET throughput with a replica: ${o.rounds} round(s) per pipeline depth`);
    try {
      tp = await throughput(o);
    } catch (e) {
      problem(`throughput section failed: ${(e as Error).message}`);
    }
  }
  const text = report(o, machine, argv, fo, lag, tp, (performance.now() - began) / 1000);
  say('\n' + text.slice(text.indexOf('## Failover') >= 0 ? text.indexOf('## Failover') : text.indexOf('## Machine')));
  writeFileSync(o.results, text);
  say(`Wrote ${relative(process.cwd(), o.results) || o.results}`);
  if (!o.keepDirs) for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

await runBench('bench:replication', main, killLoggedNow);
