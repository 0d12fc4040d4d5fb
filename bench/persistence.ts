// Persistence (issue 5): Tessera against redis-server on the same machine in the same run.
//   1. Restart speed: N keys (16-byte keys, 32-byte values) loaded, SAVE, server stopped, then
//      the wall time from spawn() to the first PONG of a restart that loads the dump (keys/s);
//      the same from the AOF, once as a pure log (no rewrite) and once after BGREWRITEAOF.
//      Restarts alternate Redis, Tessera (which goes first alternates by round); ratios are taken
//      pair by pair (median reported).
//   2. SET throughput with appendonly yes, appendfsync everysec (redis-benchmark, -P 16 and -P 1,
//      rounds alternate which of Redis and Tessera goes first, ratios pair by pair).
//   3. Memory during BGSAVE: /proc figures of the server and its children sampled every 20 ms
//      until INFO persistence says rdb_bgsave_in_progress:0, as a fraction of used_memory.
// Prints the figures and rewrites bench/PERSISTENCE.md. Run with `npm run bench:persistence`
// (see --help).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { benchKey } from './lib/loader.js';
import { describeMachine, type Machine, gitRevision } from './lib/machine.js';
import {
  benchValue, bulkLoad, command, dirBytes, fileSize, info, killLoggedNow, logLines, procMem, startLogged, type LoggedServer,
} from './lib/persist.js';
import { parseFlags } from './lib/flags.js';
import { alternate } from './lib/order.js';
import { freePort } from './lib/ports.js';
import { benchmarkArgs, runBenchmark, type BenchRow, type BenchRun } from './lib/redis-benchmark.js';
import { RespClient } from './lib/resp-client.js';
import { fmtInt, median } from './lib/stats.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TESSERA_MAIN = 'dist/src/cli/main.js';
const LOG_NAME = 'server.log';
const SECTIONS = ['snapshot', 'bgsave', 'aof', 'set'] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  keys: number;
  valueBytes: number;
  restartRounds: number;
  rounds: number;
  requests: number;
  clients: number;
  pipelines: number[];
  keyspace: number;
  loadConnections: number;
  shards: number | null;
  tesseraArgs: string[];
  results: string;
  sections: Set<Section>;
  keepDirs: boolean;
  setBaseline: boolean;
  bgsaveWriters: number;
  /** Values pseudo-random per key (true) or all 'v' (false). */
  randomValues: boolean;
}

const HELP = `Usage: npm run bench:persistence [-- OPTIONS]   (or node dist/bench/persistence.js OPTIONS)
  --keys N              keys for the restart and BGSAVE measurements (default 5000000; env BENCH_KEYS)
  --restart-rounds N    timed restarts per server and file kind, alternating (default 3; env BENCH_RESTART_ROUNDS)
  --rounds N            redis-benchmark Redis/Tessera pairs per pipeline depth (default 3; env BENCH_ROUNDS)
  --requests N          requests per redis-benchmark run (default 1000000; env BENCH_REQUESTS)
  --clients N           redis-benchmark connections (default 50; env BENCH_CLIENTS)
  --pipelines LIST      redis-benchmark pipeline depths (default 16,1; env BENCH_PIPELINES)
  --load-connections N  connections of the bulk loader (default 4; env BENCH_LOAD_CONNECTIONS)
  --shards N            Tessera shards (default: Tessera's own; env BENCH_SHARDS)
  --tessera-args S      extra Tessera server flags, space-separated (env BENCH_TESSERA_ARGS)
  --sections LIST       any of snapshot,bgsave,aof,set (default all; env BENCH_SECTIONS)
  --keep-dirs yes       keep the servers' temporary directories (default no)
  --set-baseline no     skip the appendonly-no reference servers of the SET test (default yes)
  --bgsave-writers N    redis-benchmark SET connections (-P 1) overwriting the keys during a second BGSAVE,
                        0 = skip that BGSAVE (default 4; env BENCH_BGSAVE_WRITERS)
  --values random|fill  loaded values: pseudo-random characters per key (default) or all 'v' (which an RDB
                        file compresses to almost nothing; env BENCH_VALUES)
  --results FILE        report to rewrite (default bench/PERSISTENCE.md; env BENCH_RESULTS)`;

const KNOWN_FLAGS = ['keys', 'restart-rounds', 'rounds', 'requests', 'clients', 'pipelines', 'load-connections', 'shards',
  'tessera-args', 'sections', 'keep-dirs', 'results', 'set-baseline', 'bgsave-writers', 'values'] as const;

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { raw, int, list } = parseFlags(argv, HELP, { env, known: KNOWN_FLAGS });
  const sections = new Set<Section>();
  for (const s of list('sections', SECTIONS.join(','))) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--sections: unknown section '${s}' (${SECTIONS.join(', ')})`);
    sections.add(s as Section);
  }
  const shards = raw('shards', '');
  return {
    keys: int('keys', 5_000_000, 1),
    valueBytes: 32,
    restartRounds: int('restart-rounds', 3, 1),
    rounds: int('rounds', 3, 1),
    requests: int('requests', 1_000_000, 1),
    clients: int('clients', 50, 1),
    pipelines: list('pipelines', '16,1').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    keyspace: 100_000,
    loadConnections: int('load-connections', 4, 1),
    shards: shards === '' ? null : int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    results: resolve(REPO_ROOT, raw('results', 'bench/PERSISTENCE.md')),
    sections,
    keepDirs: raw('keep-dirs', 'no') === 'yes',
    setBaseline: raw('set-baseline', 'yes') !== 'no',
    bgsaveWriters: int('bgsave-writers', 4, 0),
    randomValues: (() => {
      const v = raw('values', 'random');
      if (v !== 'random' && v !== 'fill') throw new Error("--values takes 'random' or 'fill'");
      return v === 'random';
    })(),
  };
}

// ---- servers ------------------------------------------------------------------------------

type Kind = 'redis' | 'tessera';
const KINDS: Kind[] = ['redis', 'tessera'];
const LABEL: Record<Kind, string> = { redis: 'redis-server', tessera: 'tessera' };

interface Setup {
  appendonly: boolean;
  /** false: auto-aof-rewrite-percentage 0 (the log is never rewritten on its own). */
  autoRewrite: boolean;
}

const NO_PERSIST: Setup = { appendonly: false, autoRewrite: true };

function serverCommand(kind: Kind, port: number, dir: string, setup: Setup, opts: Options): { command: string; args: string[]; cwd: string } {
  const common = ['--port', String(port), '--dir', dir, '--save', '', '--appendonly', setup.appendonly ? 'yes' : 'no',
    '--appendfsync', 'everysec', ...(setup.autoRewrite ? [] : ['--auto-aof-rewrite-percentage', '0'])];
  if (kind === 'redis') return { command: 'redis-server', args: common, cwd: dir };
  const shardArgs = opts.shards === null ? [] : ['--shards', String(opts.shards)];
  return {
    command: 'node', cwd: REPO_ROOT,
    args: [TESSERA_MAIN, 'server', ...common, '--memcache-port', '0', '--http-port', '0', ...shardArgs, ...opts.tesseraArgs],
  };
}

const commandLines = new Map<string, string>();

async function start(kind: Kind, dir: string, setup: Setup, opts: Options, what: string): Promise<LoggedServer> {
  const port = await freePort();
  const c = serverCommand(kind, port, dir, setup, opts);
  const server = await startLogged({ name: LABEL[kind], ...c, port, dir, logName: LOG_NAME });
  commandLines.set(`${kind} ${what}`, server.commandLine.replace(`--port ${port}`, '--port PORT').replace(`--dir ${dir}`, '--dir DIR'));
  return server;
}

const dirs: string[] = [];
function freshDir(kind: Kind, what: string): string {
  const d = mkdtempSync(join(tmpdir(), `tessera-bench-persist-${kind}-${what}-`));
  dirs.push(d);
  return d;
}

/** Problems seen during the run (wrong replies, failed sections); they go into the report. */
const problems: string[] = [];
function problem(text: string): void {
  problems.push(text);
  process.stdout.write(`  PROBLEM: ${text}\n`);
}

// ---- helpers ------------------------------------------------------------------------------


const fmtS = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const fmtMiB = (b: number): string => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(1)} MiB` : 'n/a');
const fmtRatio = (r: number, digits = 2): string => (Number.isFinite(r) ? r.toFixed(digits) : 'n/a');

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checks DBSIZE and a few values; records a problem (and returns false) when they are wrong. */
async function verifyKeys(server: LoggedServer, opts: Options, when: string): Promise<boolean> {
  const client = await RespClient.connect(server.port);
  try {
    const dbsize = await client.call('DBSIZE');
    let ok = true;
    if (dbsize !== opts.keys) {
      problem(`${server.name} ${when}: DBSIZE is ${String(dbsize)}, expected ${opts.keys}`);
      ok = false;
    }
    for (const i of [0, opts.keys - 1, Math.floor(opts.keys / 2), Math.floor(opts.keys / 3), Math.floor(opts.keys * 0.77)]) {
      const value = await client.call('GET', benchKey(i));
      if (value !== benchValue(i, opts.valueBytes, opts.randomValues)) {
        problem(`${server.name} ${when}: GET ${benchKey(i)} returned ${JSON.stringify(value instanceof Error ? value.message : value)}`);
        ok = false;
        break;
      }
    }
    return ok;
  } finally {
    client.close();
  }
}

interface LoadLine {
  text: string;
  seconds: number;
}

/** The server's own "DB loaded from ..." line written after byte `from` of its log (waits up to 3 s for it). */
async function loadLine(server: LoggedServer, from: number): Promise<LoadLine | null> {
  const deadline = Date.now() + 3000;
  while (true) {
    const lines = logLines(server.logPath, from).filter((l) => /DB loaded from/i.test(l));
    // Redis 7 logs one line per AOF file and then "DB loaded from append only file: X seconds".
    const line = lines.find((l) => /DB loaded from (disk|append only file)/i.test(l)) ?? lines[lines.length - 1];
    if (line !== undefined) {
      const m = /([\d.]+)\s*(ms|milliseconds|s|sec|secs|seconds)\b/i.exec(line.replace(/^.*DB loaded from[^:]*:?/i, ''))
        ?? /([\d.]+)\s*(ms|milliseconds|s|sec|secs|seconds)\b/i.exec(line);
      const value = m ? Number(m[1]) : NaN;
      const seconds = m && /^m/i.test(m[2] ?? '') ? value / 1000 : value;
      return { text: line.replace(/^\d+:[A-Z] \d+ \w+ \d{4} [\d:.]+ [*#.-] /, '').trim(), seconds };
    }
    if (Date.now() > deadline) return null;
    await sleep(100);
  }
}

// ---- 1. restarts ---------------------------------------------------------------------------

interface Restart {
  readyMs: number;
  /** The server's own load time from its log, in ms (NaN when not found). */
  logMs: number;
  logText: string;
}

interface RestartSet {
  label: string;
  /** Bytes of the files loaded, per server. */
  fileBytes: Record<Kind, number>;
  rounds: Array<Record<Kind, Restart>>;
  emptyStartMs: Record<Kind, number[]>;
}

async function timedRestart(kind: Kind, dir: string, setup: Setup, opts: Options, what: string): Promise<Restart> {
  const from = fileSize(join(dir, LOG_NAME));
  const server = await start(kind, dir, setup, opts, what);
  try {
    const readyMs = server.readyMs;
    await verifyKeys(server, opts, `after a restart (${what})`);
    const line = await loadLine(server, from);
    if (line === null) problem(`${server.name} (${what}): no "DB loaded from" line in its log after the restart`);
    process.stdout.write(`  ${LABEL[kind].padEnd(12)} ${what}: first PONG after ${fmtS(readyMs)} `
      + `(${fmtInt(opts.keys / (readyMs / 1000))} keys/s); log: ${line?.text ?? 'n/a'}\n`);
    return { readyMs, logMs: line === null ? NaN : line.seconds * 1000, logText: line?.text ?? '' };
  } finally {
    await server.stop();
  }
}

async function emptyStart(kind: Kind, setup: Setup, opts: Options, label: string): Promise<number> {
  const dir = freshDir(kind, 'empty');
  const server = await start(kind, dir, setup, opts, `empty start (${label})`);
  const ms = server.readyMs;
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

async function restartRounds(label: string, dirOf: Record<Kind, string>, setup: Setup, opts: Options,
  fileBytes: Record<Kind, number>): Promise<RestartSet> {
  const set: RestartSet = { label, fileBytes, rounds: [], emptyStartMs: { redis: [], tessera: [] } };
  for (let round = 1; round <= opts.restartRounds; round++) {
    const r: Partial<Record<Kind, Restart>> = {};
    // Which server goes first alternates by round (docs/benchmarks.md).
    for (const kind of round % 2 === 1 ? KINDS : [...KINDS].reverse()) {
      r[kind] = await timedRestart(kind, dirOf[kind], setup, opts, label);
      set.emptyStartMs[kind].push(await emptyStart(kind, setup, opts, label));
    }
    const pair = r as Record<Kind, Restart>;
    set.rounds.push(pair);
    process.stdout.write(`  round ${round} ${label}: keys/s ratio tessera/redis ${fmtRatio(pair.redis.readyMs / pair.tessera.readyMs)}\n`);
  }
  return set;
}

function restartRatio(set: RestartSet): number {
  return median(set.rounds.map((p) => p.redis.readyMs / p.tessera.readyMs));
}

// ---- 3. BGSAVE memory ----------------------------------------------------------------------

interface BgsaveResult {
  usedMemory: number;
  rssBefore: number;
  totalBefore: number;
  peakRss: number;
  peakTotal: number;
  peakChildRss: number;
  peakChildPrivateDirty: number;
  peakChildPrivate: number;
  children: number;
  samples: number;
  wallMs: number;
  status: string;
  /** INFO persistence fields after the save (Redis: rdb_last_cow_size; Tessera: snapshot_peak_buffer_bytes). */
  fields: Map<string, string>;
  /** Largest current_cow_peak seen while sampling (Redis). */
  cowPeakSeen: number;
  /** redis-benchmark SET connections running during the save (0: none). */
  writers: number;
  /** Commands the server processed between BGSAVE and the end of the save (INFO stats total_commands_processed). */
  commandsDuring: number;
  /** Commands/s in the second before BGSAVE and while it ran (with writers). */
  ratePerSecBefore: number;
  ratePerSecDuring: number;
}

async function measureBgsave(server: LoggedServer, opts: Options, writers: number): Promise<BgsaveResult> {
  const client = await RespClient.connect(server.port);
  let writer: ChildProcess | null = null;
  let writerExit: Promise<void> = Promise.resolve();
  let writerOutput = '';
  let rateFrom: { at: number; commands: number } | null = null;
  try {
    await sleep(1000);
    const usedMemory = Number((await info(client, 'memory')).get('used_memory'));
    if (writers > 0) {
      // Overwrites the loaded keys (redis-benchmark's keys are key:%012d, as the loader's) with same-size values.
      const args = ['-p', String(server.port), '-t', 'set', '-n', '2000000000', '-r', String(opts.keys), '-d', String(opts.valueBytes),
        '-c', String(writers), '-P', '1', '-q'];
      writerCommand = `redis-benchmark ${args.join(' ').replace(`-p ${server.port}`, '-p PORT')}`;
      writer = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const w = writer;
      writerExit = new Promise((resolve) => w.once('exit', () => resolve()));
      const keep = (d: Buffer): void => {
        writerOutput = (writerOutput + d.toString()).slice(-2000);
      };
      w.stdout?.on('data', keep);
      w.stderr?.on('data', keep);
      liveWriters.add(w);
      await sleep(500);
      if (w.exitCode !== null) throw new Error(`redis-benchmark writer exited early: ${writerOutput}`);
      rateFrom = { at: performance.now(), commands: Number((await info(client, 'stats')).get('total_commands_processed')) };
      await sleep(1000);
    }
    const before: Array<{ rss: number; total: number }> = [];
    for (let i = 0; i < 5; i++) {
      const m = procMem(server.pid);
      if (m !== null) before.push({ rss: m.rss, total: m.total });
      await sleep(20);
    }
    const rssBefore = median(before.map((b) => b.rss));
    const totalBefore = median(before.map((b) => b.total));
    const infoBefore = await info(client, 'persistence');
    const savesBefore = Number(infoBefore.get('rdb_saves') ?? NaN);
    const lastSaveBefore = infoBefore.get('rdb_last_save_time');
    const commandsBefore = Number((await info(client, 'stats')).get('total_commands_processed'));
    const ratePerSecBefore = rateFrom === null ? NaN : (commandsBefore - rateFrom.commands) / ((performance.now() - rateFrom.at) / 1000);
    let peakRss = rssBefore;
    let peakTotal = totalBefore;
    let peakChildRss = 0;
    let peakChildPrivateDirty = 0;
    let peakChildPrivate = 0;
    let cowPeakSeen = 0;
    const childPids = new Set<number>();
    let samples = 0;
    const sample = (): void => {
      const m = procMem(server.pid);
      if (m === null) return;
      samples++;
      peakRss = Math.max(peakRss, m.rss);
      peakTotal = Math.max(peakTotal, m.total);
      for (const c of m.children) {
        childPids.add(c.pid);
        peakChildRss = Math.max(peakChildRss, c.rss);
        peakChildPrivateDirty = Math.max(peakChildPrivateDirty, c.privateDirty);
        peakChildPrivate = Math.max(peakChildPrivate, c.private);
      }
    };
    const started = performance.now();
    const reply = await client.call('BGSAVE');
    if (typeof reply !== 'string' || !/^Background saving started/.test(reply)) {
      throw new Error(`${server.name}: BGSAVE replied ${JSON.stringify(reply instanceof Error ? `-${reply.message}` : reply)}`);
    }
    let seenInProgress = false;
    let fields = infoBefore;
    while (true) {
      const tick = performance.now();
      sample();
      fields = await info(client, 'persistence');
      cowPeakSeen = Math.max(cowPeakSeen, Number(fields.get('current_cow_peak') ?? 0));
      const inProgress = fields.get('rdb_bgsave_in_progress') === '1';
      if (inProgress) seenInProgress = true;
      const saves = Number(fields.get('rdb_saves') ?? NaN);
      const finished = !inProgress && (seenInProgress || saves > savesBefore
        || (fields.get('rdb_last_save_time') !== lastSaveBefore && Number.isNaN(savesBefore)));
      if (finished) break;
      if (performance.now() - started > 600_000) throw new Error(`${server.name}: BGSAVE still in progress after 10 minutes`);
      await sleep(Math.max(0, 20 - (performance.now() - tick)));
    }
    const wallMs = performance.now() - started;
    sample();
    const commandsDuring = Number((await info(client, 'stats')).get('total_commands_processed')) - commandsBefore;
    const status = fields.get('rdb_last_bgsave_status') ?? '?';
    if (status !== 'ok') problem(`${server.name}: rdb_last_bgsave_status:${status} after BGSAVE`);
    return {
      usedMemory, rssBefore, totalBefore, peakRss, peakTotal, peakChildRss, peakChildPrivateDirty, peakChildPrivate,
      children: childPids.size, samples, wallMs, status, fields, cowPeakSeen, writers, commandsDuring,
      ratePerSecBefore, ratePerSecDuring: commandsDuring / (wallMs / 1000),
    };
  } finally {
    client.close();
    if (writer !== null) {
      writer.kill('SIGTERM');
      await writerExit;
      liveWriters.delete(writer);
    }
  }
}

/** redis-benchmark processes writing during a BGSAVE (killed on exit). */
const liveWriters = new Set<ChildProcess>();
let writerCommand = '';

// ---- 1 + 3: snapshot load, BGSAVE, SAVE, restarts --------------------------------------------

interface SnapshotPrep {
  dir: string;
  loadMs: number;
  usedMemory: number;
  saveMs: number;
  dumpBytes: number;
  bgsave: BgsaveResult | null;
  bgsaveWrites: BgsaveResult | null;
  reloadMs: number;
}

async function prepareSnapshot(kind: Kind, opts: Options, withBgsave: boolean): Promise<SnapshotPrep> {
  const dir = freshDir(kind, 'snapshot');
  const server = await start(kind, dir, NO_PERSIST, opts, 'snapshot');
  try {
    const loadMs = await bulkLoad(server.port, opts.keys, opts.valueBytes, opts.randomValues, opts.loadConnections);
    process.stdout.write(`  ${LABEL[kind].padEnd(12)} loaded ${fmtInt(opts.keys)} keys in ${fmtS(loadMs)}\n`);
    await verifyKeys(server, opts, 'after loading');
    const client = await RespClient.connect(server.port);
    let usedMemory: number;
    try {
      usedMemory = Number((await info(client, 'memory')).get('used_memory'));
    } finally {
      client.close();
    }
    let bgsave: BgsaveResult | null = null;
    let bgsaveWrites: BgsaveResult | null = null;
    let reloadMs = NaN;
    if (withBgsave) {
      for (const writers of opts.bgsaveWriters > 0 ? [0, opts.bgsaveWriters] : [0]) {
        try {
          const b = await measureBgsave(server, opts, writers);
          if (writers === 0) bgsave = b;
          else bgsaveWrites = b;
          process.stdout.write(`  ${LABEL[kind].padEnd(12)} BGSAVE${writers ? ` with ${writers} writers (${fmtInt(b.ratePerSecBefore)} commands/s before, `
            + `${fmtInt(b.ratePerSecDuring)} during)` : ''} `
            + `${fmtS(b.wallMs)}: RSS ${fmtMiB(b.rssBefore)} -> peak ${fmtMiB(b.peakRss)}, `
            + `in use (RSS + children's private) ${fmtMiB(b.totalBefore)} -> peak ${fmtMiB(b.peakTotal)}; used_memory ${fmtMiB(b.usedMemory)}\n`);
        } catch (err) {
          problem(`BGSAVE measurement${writers ? ' with writers' : ''} on ${LABEL[kind]} failed: ${errText(err)}`);
        }
      }
      if (opts.bgsaveWriters > 0) {
        // The writers replaced values; load the keys again so that the dump holds the loader's values.
        reloadMs = await bulkLoad(server.port, opts.keys, opts.valueBytes, opts.randomValues, opts.loadConnections);
        await verifyKeys(server, opts, 'after loading the keys again');
      }
    }
    const t0 = performance.now();
    const reply = await command(server.port, 'SAVE');
    const saveMs = performance.now() - t0;
    if (reply !== 'OK') throw new Error(`${LABEL[kind]}: SAVE replied ${JSON.stringify(reply instanceof Error ? `-${reply.message}` : reply)}`);
    const dumpBytes = dirBytes(dir, (name) => name !== LOG_NAME);
    if (dumpBytes === 0) problem(`${LABEL[kind]}: SAVE replied OK but there are no files in its --dir ${dir}`);
    process.stdout.write(`  ${LABEL[kind].padEnd(12)} SAVE ${fmtS(saveMs)}, files ${fmtMiB(dumpBytes)}\n`);
    return { dir, loadMs, usedMemory, saveMs, dumpBytes, bgsave, bgsaveWrites, reloadMs };
  } finally {
    await server.stop();
  }
}

// ---- 1b. AOF restarts ----------------------------------------------------------------------

interface AofPrep {
  dir: string;
  loadMs: number;
  logBytes: number;
  rewriteMs: number;
  rewrittenBytes: number;
}

const AOF_SETUP: Setup = { appendonly: true, autoRewrite: false };

async function prepareAof(kind: Kind, opts: Options): Promise<AofPrep> {
  const dir = freshDir(kind, 'aof');
  const server = await start(kind, dir, AOF_SETUP, opts, 'aof');
  let loadMs: number;
  try {
    loadMs = await bulkLoad(server.port, opts.keys, opts.valueBytes, opts.randomValues, opts.loadConnections);
    process.stdout.write(`  ${LABEL[kind].padEnd(12)} loaded ${fmtInt(opts.keys)} keys with appendonly yes in ${fmtS(loadMs)}\n`);
    await verifyKeys(server, opts, 'after loading with appendonly yes');
  } finally {
    await server.stop();
  }
  const logBytes = dirBytes(dir, (name) => name !== LOG_NAME);
  process.stdout.write(`  ${LABEL[kind].padEnd(12)} AOF files ${fmtMiB(logBytes)}\n`);
  return { dir, loadMs, logBytes, rewriteMs: NaN, rewrittenBytes: NaN };
}

async function rewriteAof(kind: Kind, prep: AofPrep, opts: Options): Promise<void> {
  const server = await start(kind, prep.dir, AOF_SETUP, opts, 'aof before BGREWRITEAOF');
  const client = await RespClient.connect(server.port);
  try {
    const before = await info(client, 'persistence');
    const rewritesBefore = Number(before.get('aof_rewrites') ?? NaN);
    const t0 = performance.now();
    const reply = await client.call('BGREWRITEAOF');
    if (typeof reply !== 'string' || !/^Background append only file rewriting (started|scheduled)/.test(reply)) {
      throw new Error(`${LABEL[kind]}: BGREWRITEAOF replied ${JSON.stringify(reply instanceof Error ? `-${reply.message}` : reply)}`);
    }
    let seen = false;
    while (true) {
      const f = await info(client, 'persistence');
      const busy = f.get('aof_rewrite_in_progress') === '1' || f.get('aof_rewrite_scheduled') === '1';
      if (busy) seen = true;
      const count = Number(f.get('aof_rewrites') ?? NaN);
      if (!busy && (seen || count > rewritesBefore || (Number.isNaN(count) && performance.now() - t0 > 2000))) {
        if (f.get('aof_last_bgrewrite_status') !== 'ok') problem(`${LABEL[kind]}: aof_last_bgrewrite_status:${f.get('aof_last_bgrewrite_status') ?? '?'}`);
        break;
      }
      if (performance.now() - t0 > 600_000) throw new Error(`${LABEL[kind]}: BGREWRITEAOF still running after 10 minutes`);
      await sleep(20);
    }
    prep.rewriteMs = performance.now() - t0;
  } finally {
    client.close();
    await server.stop();
  }
  prep.rewrittenBytes = dirBytes(prep.dir, (name) => name !== LOG_NAME);
  process.stdout.write(`  ${LABEL[kind].padEnd(12)} BGREWRITEAOF ${fmtS(prep.rewriteMs)}, AOF files now ${fmtMiB(prep.rewrittenBytes)}\n`);
}

// ---- 2. SET throughput with appendonly yes -------------------------------------------------

interface SetSample {
  redis: BenchRow;
  tessera: BenchRow;
}

interface SetSummary {
  pipeline: number;
  /** 'aof': appendonly yes, appendfsync everysec (the measurement); 'off': appendonly no (reference). */
  mode: 'aof' | 'off';
  samples: SetSample[];
  redisRps: number;
  tesseraRps: number;
  ratio: number;
  redisP99: number;
  tesseraP99: number;
}

interface SetResult {
  summaries: SetSummary[];
  after: Record<Kind, Map<string, string>>;
}

function summarize(pipeline: number, mode: 'aof' | 'off', samples: SetSample[]): SetSummary {
  return {
    pipeline, mode, samples,
    redisRps: median(samples.map((x) => x.redis.rps)),
    tesseraRps: median(samples.map((x) => x.tessera.rps)),
    ratio: median(samples.map((x) => x.tessera.rps / x.redis.rps)),
    redisP99: median(samples.map((x) => x.redis.p99LatencyMs)),
    tesseraP99: median(samples.map((x) => x.tessera.p99LatencyMs)),
  };
}

async function setThroughput(opts: Options): Promise<SetResult> {
  const modes: Array<'aof' | 'off'> = opts.setBaseline ? ['aof', 'off'] : ['aof'];
  const setups: Record<'aof' | 'off', Setup> = { aof: { appendonly: true, autoRewrite: true }, off: NO_PERSIST };
  const servers = new Map<string, LoggedServer>();
  const get = (kind: Kind, mode: 'aof' | 'off'): LoggedServer => servers.get(`${kind} ${mode}`) as LoggedServer;
  try {
    for (const mode of modes) {
      for (const kind of KINDS) {
        servers.set(`${kind} ${mode}`, await start(kind, freshDir(kind, `set-${mode}`), setups[mode], opts,
          mode === 'aof' ? 'SET throughput' : 'SET throughput reference (appendonly no)'));
      }
    }
    const summaries: SetSummary[] = [];
    for (const pipeline of opts.pipelines) {
      const samples = new Map<'aof' | 'off', SetSample[]>(modes.map((m) => [m, []]));
      for (let round = 1; round <= opts.rounds; round++) {
        for (const mode of modes) {
          const run = (port: number): BenchRun => ({
            port, tests: ['set'], clients: opts.clients, requests: opts.requests, keyspace: opts.keyspace,
            valueBytes: opts.valueBytes, pipeline,
          });
          const once = async (kind: Kind): Promise<BenchRow | undefined> => (await runBenchmark(run(get(kind, mode).port)))[0];
          const [r, t] = await alternate(round, () => once('redis'), () => once('tessera'));
          if (r === undefined || t === undefined) throw new Error('redis-benchmark printed no SET row');
          samples.get(mode)?.push({ redis: r, tessera: t });
          process.stdout.write(`  round ${round} SET -P ${String(pipeline).padEnd(3)} appendonly ${mode === 'aof' ? 'yes' : 'no '} `
            + `redis ${fmtInt(r.rps)} rps p99 ${r.p99LatencyMs} ms | tessera ${fmtInt(t.rps)} rps p99 ${t.p99LatencyMs} ms | ratio ${fmtRatio(t.rps / r.rps)}\n`);
        }
      }
      for (const mode of modes) summaries.push(summarize(pipeline, mode, samples.get(mode) ?? []));
    }
    const after: Partial<Record<Kind, Map<string, string>>> = {};
    for (const kind of KINDS) {
      const client = await RespClient.connect(get(kind, 'aof').port);
      try {
        after[kind] = await info(client, 'persistence');
      } finally {
        client.close();
      }
      const f = after[kind];
      if (f?.get('aof_enabled') !== '1') problem(`${LABEL[kind]}: aof_enabled is ${f?.get('aof_enabled') ?? 'missing'} with --appendonly yes`);
      if (f?.get('aof_last_write_status') !== 'ok') problem(`${LABEL[kind]}: aof_last_write_status:${f?.get('aof_last_write_status') ?? 'missing'}`);
    }
    return { summaries, after: after as Record<Kind, Map<string, string>> };
  } finally {
    for (const s of servers.values()) await s.stop();
  }
}

// ---- report -------------------------------------------------------------------------------

interface Results {
  snapshot: Partial<Record<Kind, SnapshotPrep>>;
  snapshotRestarts: RestartSet | null;
  aof: Partial<Record<Kind, AofPrep>>;
  aofRestarts: RestartSet | null;
  rewrittenRestarts: RestartSet | null;
  set: SetResult | null;
  failures: string[];
}

function restartSection(set: RestartSet, opts: Options, what: string): string[] {
  const logRatio = median(set.rounds.map((p) => p.redis.logMs / p.tessera.logMs));
  const keysPerS = (ms: number): string => fmtInt(opts.keys / (ms / 1000));
  return [
    table(['', 'redis-server', 'Tessera', 'Tessera / Redis'], [
      [`${what} on disk`, fmtMiB(set.fileBytes.redis), fmtMiB(set.fileBytes.tessera), fmtRatio(set.fileBytes.tessera / set.fileBytes.redis)],
      ['restart to first PONG (median)', fmtS(median(set.rounds.map((p) => p.redis.readyMs))),
        fmtS(median(set.rounds.map((p) => p.tessera.readyMs))), ''],
      ['keys/s (median)', keysPerS(median(set.rounds.map((p) => p.redis.readyMs))),
        keysPerS(median(set.rounds.map((p) => p.tessera.readyMs))), `**${fmtRatio(restartRatio(set))}** (median of pairs)`],
      ['load time the server logs (median)', fmtS(median(set.rounds.map((p) => p.redis.logMs))),
        fmtS(median(set.rounds.map((p) => p.tessera.logMs))), `${fmtRatio(logRatio)} (keys/s, median of pairs)`],
      ['start with an empty --dir (median)', fmtS(median(set.emptyStartMs.redis)), fmtS(median(set.emptyStartMs.tessera)), ''],
    ]),
    '',
    'Every pair (time to first PONG, Redis / Tessera, and the Tessera/Redis keys/s ratio):',
    '',
    table(['round', 'redis-server', 'Tessera', 'ratio'], set.rounds.map((p, i) => [String(i + 1), fmtS(p.redis.readyMs),
      fmtS(p.tessera.readyMs), fmtRatio(p.redis.readyMs / p.tessera.readyMs)])),
    '',
    'What the servers logged (last round):',
    '',
    ...KINDS.map((k) => `- ${LABEL[k]}: \`${set.rounds[set.rounds.length - 1]?.[k].logText || 'n/a'}\``),
    '',
  ];
}

function bgsaveTable(r: BgsaveResult | null, t: BgsaveResult | null): string[] {
  const col = (b: BgsaveResult | null, f: (b: BgsaveResult) => string): string => (b === null ? 'n/a' : f(b));
  const frac = (b: BgsaveResult, bytes: number): string => `${fmtMiB(bytes)} (${fmtRatio(bytes / b.usedMemory, 3)} x used_memory)`;
  const field = (b: BgsaveResult, name: string): string => {
    const v = b.fields.get(name);
    return v === undefined ? 'not reported' : frac(b, Number(v));
  };
  const writes = r?.writers ?? t?.writers ?? 0;
  return [
    table(['', 'redis-server', 'Tessera'], [
      ['data size: INFO used_memory', col(r, (b) => fmtMiB(b.usedMemory)), col(t, (b) => fmtMiB(b.usedMemory))],
      ['BGSAVE wall time (until in_progress:0)', col(r, (b) => fmtS(b.wallMs)), col(t, (b) => fmtS(b.wallMs))],
      ...(writes > 0 ? [['commands processed during the save (INFO stats)', col(r, (b) => fmtInt(b.commandsDuring)),
        col(t, (b) => fmtInt(b.commandsDuring))],
      ['commands/s in the second before BGSAVE', col(r, (b) => fmtInt(b.ratePerSecBefore)), col(t, (b) => fmtInt(b.ratePerSecBefore))],
      ['commands/s while BGSAVE ran (and its ratio to before)', col(r, (b) => `${fmtInt(b.ratePerSecDuring)} (${fmtRatio(b.ratePerSecDuring / b.ratePerSecBefore)})`),
        col(t, (b) => `${fmtInt(b.ratePerSecDuring)} (${fmtRatio(b.ratePerSecDuring / b.ratePerSecBefore)})`)]] : []),
      ['samples', col(r, (b) => String(b.samples)), col(t, (b) => String(b.samples))],
      ['memory in use before (server VmRSS)', col(r, (b) => fmtMiB(b.totalBefore)), col(t, (b) => fmtMiB(b.totalBefore))],
      ['**peak extra memory: memory in use, peak - before**', col(r, (b) => `**${frac(b, b.peakTotal - b.totalBefore)}**`),
        col(t, (b) => `**${frac(b, b.peakTotal - b.totalBefore)}**`)],
      ['server process VmRSS, peak - before', col(r, (b) => frac(b, b.peakRss - b.rssBefore)), col(t, (b) => frac(b, b.peakRss - b.rssBefore))],
      ['child processes seen', col(r, (b) => String(b.children)), col(t, (b) => String(b.children))],
      ['child private memory (Private_Clean + Private_Dirty), peak', col(r, (b) => (b.children ? frac(b, b.peakChildPrivate) : '-')),
        col(t, (b) => (b.children ? frac(b, b.peakChildPrivate) : '-'))],
      ['child Private_Dirty, peak', col(r, (b) => (b.children ? frac(b, b.peakChildPrivateDirty) : '-')),
        col(t, (b) => (b.children ? frac(b, b.peakChildPrivateDirty) : '-'))],
      ['child VmRSS, peak (includes shared pages)', col(r, (b) => (b.children ? fmtMiB(b.peakChildRss) : '-')),
        col(t, (b) => (b.children ? fmtMiB(b.peakChildRss) : '-'))],
      ['INFO rdb_last_cow_size', col(r, (b) => field(b, 'rdb_last_cow_size')), col(t, (b) => field(b, 'rdb_last_cow_size'))],
      ['INFO current_cow_peak, largest seen', col(r, (b) => (b.fields.has('current_cow_peak') ? frac(b, b.cowPeakSeen) : 'not reported')),
        col(t, (b) => (b.fields.has('current_cow_peak') ? frac(b, b.cowPeakSeen) : 'not reported'))],
      ['INFO snapshot_peak_buffer_bytes', col(r, (b) => field(b, 'snapshot_peak_buffer_bytes')), col(t, (b) => field(b, 'snapshot_peak_buffer_bytes'))],
    ]),
    '',
    `Peak extra memory as a fraction of used_memory: Redis ${fmtRatio(extraRatio(r), 3)}, Tessera ${fmtRatio(extraRatio(t), 3)}.`,
    '',
  ];
}

function perWrite(b: BgsaveResult | null | undefined): string {
  return b && b.commandsDuring > 0 ? `${fmtInt((b.peakTotal - b.totalBefore) / b.commandsDuring)} bytes` : 'n/a';
}

function extraRatio(b: BgsaveResult | null | undefined): number {
  return b ? (b.peakTotal - b.totalBefore) / b.usedMemory : NaN;
}

function bgsaveSection(opts: Options, results: Results): string[] {
  const r = results.snapshot.redis;
  const t = results.snapshot.tessera;
  if (!r?.bgsave && !t?.bgsave) return ['No BGSAVE measurement (see Problems).', ''];
  const out = [
    `${fmtInt(opts.keys)} keys loaded, then BGSAVE. Every 20 ms: VmRSS of the server process from /proc/PID/status,`,
    'the private memory (Private_Clean + Private_Dirty from /proc/CHILD/smaps_rollup) of each child process',
    '(found through /proc/PID/task/*/children), then INFO persistence, until rdb_bgsave_in_progress:0.',
    '"Memory in use" = server VmRSS + the children\'s private memory: a page the forked child still shares with',
    'the parent is counted once (in the parent\'s VmRSS); a page copied on write, or allocated by the child, is',
    'added. For an in-process snapshot (Tessera, no child) it is the server\'s VmRSS. "Before" is the median of 5',
    'samples just before BGSAVE; the headline figure is (peak - before) / used_memory (the data size). The',
    'child\'s VmRSS counts the shared pages too and is shown only for completeness. The server\'s own',
    'smaps_rollup is not read while sampling: walking its page tables every 20 ms under its mmap lock slowed a',
    'Tessera BGSAVE of 5M keys from about 5.7 s to 8-10 s in a check on this machine.',
    '',
    '### Idle server (no writes during the save)',
    '',
    ...bgsaveTable(r?.bgsave ?? null, t?.bgsave ?? null),
  ];
  if (opts.bgsaveWriters > 0) {
    out.push(
      `### With writes during the save (${opts.bgsaveWriters} connections overwriting random loaded keys)`,
      '',
      'Right after the idle BGSAVE, on the same server: a redis-benchmark SET load over the same keys starts, 1 s',
      'later the baseline is sampled and BGSAVE sent; the load stops when the save has finished. A write to a page',
      'shared with a fork copies the 4 KiB page (Redis); Tessera keeps the old version of an entry its snapshot has',
      'not written yet. The servers ran at different speeds, so the number of writes during each save differs',
      '(row "commands processed"; the rates include the sampler\'s ~50 INFO calls/s during the save). Afterwards',
      'the keys are loaded again before SAVE.',
      '',
      '```',
      writerCommand,
      '```',
      '',
      ...bgsaveTable(r?.bgsaveWrites ?? null, t?.bgsaveWrites ?? null),
      `Extra memory per command processed during the save: Redis ${perWrite(r?.bgsaveWrites)}, Tessera ${perWrite(t?.bgsaveWrites)}`
        + ' (a fork copies a whole page per first write to it; compare the ratios above only with the write counts in mind).',
      '',
    );
  }
  return out;
}

/** The distinct server command lines, each with the steps that used it. */
function commandSummary(): string[] {
  const byLine = new Map<string, string[]>();
  for (const [what, line] of commandLines) byLine.set(line, [...(byLine.get(line) ?? []), what]);
  return [...byLine].map(([line, whats]) => `${line}\n    # used for: ${whats.join('; ')}`);
}

function report(opts: Options, machine: Machine, shards: string, results: Results): string {
  const out = [
    '# Persistence benchmark results',
    '',
    `Generated by \`npm run bench:persistence\` (bench/persistence.ts) on ${new Date().toISOString()}.`,
    'Regenerate with the same command; the file is rewritten on every run.',
    '',
    '## Machine',
    '',
    `- CPU: ${machine.cpu}, ${machine.cores} cores available; RAM ${machine.ramGiB} GiB; Linux ${machine.kernel}`,
    `- Node.js ${machine.node}; redis-server ${machine.redisServer}; Tessera ${gitRevision(REPO_ROOT)}, shards: ${shards}`,
    `- Temporary directories under ${tmpdir()}`,
    `- Load average when the report was written: ${loadavg().map((n) => n.toFixed(2)).join(' ')} (other work on the machine skews the figures)`,
    '',
    '## Commands',
    '',
    '```',
    `node dist/bench/persistence.js ${process.argv.slice(2).join(' ')}`.trim(),
    '# servers (PORT is picked free at run time, DIR is a fresh temporary directory per server and test)',
    ...commandSummary(),
    `# keys are loaded by bench/lib/persist.ts bulkLoad: ${opts.loadConnections} connections, 2000 pipelined SETs per write,`,
    `# keys key:000000000000.. (16 bytes), values ${opts.valueBytes} bytes, ${opts.randomValues ? 'pseudo-random characters per key (--values random)' : "all 'v' (--values fill)"}`,
  ];
  if (opts.sections.has('set')) {
    out.push(`# SET throughput, per pipeline depth P in ${opts.pipelines.join(', ')}: ${opts.rounds} rounds of Redis then Tessera`,
      `redis-benchmark ${benchmarkArgs({ port: 0, tests: ['set'], clients: opts.clients, requests: opts.requests, keyspace: opts.keyspace,
        valueBytes: opts.valueBytes, pipeline: 0 }).join(' ').replace('-p 0', '-p PORT').replace('-P 0', '-P P')}`);
  }
  out.push('```', '');

  out.push('## 1. Restart: loading the dump', '');
  if (results.snapshotRestarts !== null) {
    const prep = results.snapshot;
    out.push(
      `${fmtInt(opts.keys)} keys (16-byte keys, ${opts.valueBytes}-byte ${opts.randomValues ? 'pseudo-random' : "all-'v'"} values) were loaded into a server started with`,
      '`--save \'\' --appendonly no`, then SAVE, then the server was stopped (SIGTERM; no save on exit with no save',
      `points). Each restart (same flags, same --dir) is timed from spawn() to the first PONG (PING polled every 10 ms`,
      'on a new connection; a refused connection or a -LOADING reply means "not yet"), then DBSIZE and five GETs',
      'are checked. This wall time',
      'is the primary figure: it includes process start (Node.js for Tessera), which the "empty --dir" row shows alone.',
      `${opts.restartRounds} restarts per server, alternating which goes first; ratio = Tessera keys/s / Redis keys/s, per pair,`,
      'then the median. The log row is the load time each server reports itself (Redis: "DB loaded from disk: X seconds").',
      '',
      ...restartSection(results.snapshotRestarts, opts, 'dump files'),
      table(['', 'redis-server', 'Tessera'], [
        ['bulk load of the keys', fmtS(prep.redis?.loadMs ?? NaN), fmtS(prep.tessera?.loadMs ?? NaN)],
        ['INFO used_memory after loading', fmtMiB(prep.redis?.usedMemory ?? NaN), fmtMiB(prep.tessera?.usedMemory ?? NaN)],
        ['SAVE (foreground) wall time', fmtS(prep.redis?.saveMs ?? NaN), fmtS(prep.tessera?.saveMs ?? NaN)],
      ]),
      '',
    );
  } else {
    out.push('Not measured in this run (see Problems, or --sections).', '');
  }

  out.push('## 1b. Restart: loading the AOF (appendonly yes)', '');
  if (results.aofRestarts !== null) {
    const a = results.aof;
    out.push(
      `${fmtInt(opts.keys)} keys loaded into a server started with \`--appendonly yes --appendfsync everysec\``,
      '`--auto-aof-rewrite-percentage 0` (so the log is not rewritten behind our back), server stopped (SIGTERM; the',
      'log is fsynced), then timed restarts with the same flags: first from the log as written (a base with no keys',
      'plus one SET record per key), then again after BGREWRITEAOF (keys in the base: Redis 7 writes an RDB preamble,',
      'Tessera a snapshot base). Same method and ratio as above.',
      '',
      '### From the log as written (no rewrite)',
      '',
      ...restartSection(results.aofRestarts, opts, 'AOF files'),
      table(['', 'redis-server', 'Tessera'], [
        ['bulk load with appendonly yes', fmtS(a.redis?.loadMs ?? NaN), fmtS(a.tessera?.loadMs ?? NaN)],
        ['BGREWRITEAOF wall time', fmtS(a.redis?.rewriteMs ?? NaN), fmtS(a.tessera?.rewriteMs ?? NaN)],
      ]),
      '',
    );
    if (results.rewrittenRestarts !== null) {
      out.push('### After BGREWRITEAOF', '', ...restartSection(results.rewrittenRestarts, opts, 'AOF files'));
    }
  } else {
    out.push('Not measured in this run (see Problems, or --sections).', '');
  }

  out.push('## 2. SET throughput with appendonly yes, appendfsync everysec', '');
  if (results.set !== null) {
    const s = results.set;
    out.push(
      'Both servers run side by side, each in its own --dir, started with `--appendonly yes --appendfsync everysec',
      '--save \'\'` (auto-aof-rewrite at the defaults, 100% / 64mb, for both). redis-benchmark runs on the same machine',
      `and competes for its cores. ${opts.rounds} pairs per depth, Redis then Tessera, ${fmtInt(opts.requests)} SETs each;`,
      'figures are medians; ratio = Tessera rps / Redis rps per pair, then the median.',
      ...(opts.setBaseline ? [
        'For reference, a second pair of servers with `--appendonly no --save \'\'` runs in the same rounds (after the',
        'appendonly pair each round); "AOF cost" is each server\'s median rps with appendonly yes / with appendonly no.'] : []),
      '',
      table(['test', 'Redis rps', 'Tessera rps', 'rps ratio', 'Redis p99 ms', 'Tessera p99 ms'],
        s.summaries.map((x) => [`SET -P ${x.pipeline}, appendonly ${x.mode === 'aof' ? 'yes' : 'no (reference)'}`, fmtInt(x.redisRps),
          fmtInt(x.tesseraRps), x.mode === 'aof' ? `**${fmtRatio(x.ratio)}**` : fmtRatio(x.ratio),
          x.redisP99.toFixed(3), x.tesseraP99.toFixed(3)])),
      '',
      ...(opts.setBaseline ? [
        table(['test', 'Redis AOF cost (rps yes / no)', 'Tessera AOF cost (rps yes / no)'], opts.pipelines.map((p) => {
          const aof = s.summaries.find((x) => x.pipeline === p && x.mode === 'aof');
          const off = s.summaries.find((x) => x.pipeline === p && x.mode === 'off');
          return [`SET -P ${p}`, fmtRatio((aof?.redisRps ?? NaN) / (off?.redisRps ?? NaN)), fmtRatio((aof?.tesseraRps ?? NaN) / (off?.tesseraRps ?? NaN))];
        })),
        ''] : []),
      'Every pair (rps, Redis / Tessera):',
      '',
      table(['test', ...Array.from({ length: opts.rounds }, (_, i) => `round ${i + 1}`)],
        s.summaries.map((x) => [`SET -P ${x.pipeline}, appendonly ${x.mode === 'aof' ? 'yes' : 'no'}`, ...x.samples.map((p) =>
          `${fmtInt(p.redis.rps)} / ${fmtInt(p.tessera.rps)} (${fmtRatio(p.tessera.rps / p.redis.rps)})`)])),
      '',
      'INFO persistence after the runs:',
      '',
      table(['field', 'redis-server', 'Tessera'], ['aof_enabled', 'aof_rewrites', 'aof_current_size', 'aof_base_size',
        'aof_last_write_status', 'aof_last_bgrewrite_status'].map((f) => [f, s.after.redis.get(f) ?? 'n/a', s.after.tessera.get(f) ?? 'n/a'])),
      '',
    );
  } else {
    out.push('Not measured in this run (see Problems, or --sections).', '');
  }

  out.push('## 3. Memory during BGSAVE', '');
  if (opts.sections.has('bgsave')) out.push(...bgsaveSection(opts, results));
  else out.push('Not measured in this run (--sections).', '');

  out.push('## Problems', '');
  if (problems.length === 0) out.push('None: every reply was as expected, DBSIZE and the sampled values matched after every restart.', '');
  else out.push(...problems.map((p) => `- ${p}`), '');
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------

async function section(name: string, results: Results, fn: () => Promise<void>): Promise<void> {
  process.stdout.write(`\n${name}:\n`);
  try {
    await fn();
  } catch (err) {
    problem(`${name} failed: ${errText(err)}`);
    results.failures.push(name);
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  keep = opts.keepDirs;
  const machine = describeMachine();
  process.stdout.write(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, Node ${machine.node}, `
    + `redis-server ${machine.redisServer}, Linux ${machine.kernel}\n`);
  let shards = '?';
  {
    const dir = freshDir('tessera', 'probe');
    const probe = await start('tessera', dir, NO_PERSIST, opts, 'probe');
    try {
      const reply = await command(probe.port, 'CONFIG', 'GET', 'shards');
      shards = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '?';
    } finally {
      await probe.stop();
    }
    commandLines.delete('tessera probe');
  }
  const results: Results = {
    snapshot: {}, snapshotRestarts: null, aof: {}, aofRestarts: null, rewrittenRestarts: null, set: null, failures: [],
  };

  if (opts.sections.has('snapshot') || opts.sections.has('bgsave')) {
    await section(`Snapshot: ${fmtInt(opts.keys)} keys, ${opts.sections.has('bgsave') ? 'BGSAVE memory, ' : ''}SAVE`, results, async () => {
      for (const kind of KINDS) results.snapshot[kind] = await prepareSnapshot(kind, opts, opts.sections.has('bgsave'));
    });
    const r = results.snapshot.redis;
    const t = results.snapshot.tessera;
    if (opts.sections.has('snapshot') && r && t) {
      await section('Restart from the dump', results, async () => {
        results.snapshotRestarts = await restartRounds('dump restart', { redis: r.dir, tessera: t.dir }, NO_PERSIST, opts,
          { redis: r.dumpBytes, tessera: t.dumpBytes });
        process.stdout.write(`  => restart from the dump: Tessera/Redis keys/s ratio ${fmtRatio(restartRatio(results.snapshotRestarts))} (median of pairs)\n`);
      });
    }
    if (!opts.keepDirs) for (const p of [r, t]) if (p) rmSync(p.dir, { recursive: true, force: true });
  }

  if (opts.sections.has('aof')) {
    await section(`AOF: ${fmtInt(opts.keys)} keys with appendonly yes`, results, async () => {
      for (const kind of KINDS) results.aof[kind] = await prepareAof(kind, opts);
      const r = results.aof.redis;
      const t = results.aof.tessera;
      if (!r || !t) return;
      results.aofRestarts = await restartRounds('AOF restart (log)', { redis: r.dir, tessera: t.dir }, AOF_SETUP, opts,
        { redis: r.logBytes, tessera: t.logBytes });
      process.stdout.write(`  => restart from the AOF log: Tessera/Redis keys/s ratio ${fmtRatio(restartRatio(results.aofRestarts))}\n`);
      for (const kind of KINDS) await rewriteAof(kind, results.aof[kind] as AofPrep, opts);
      results.rewrittenRestarts = await restartRounds('AOF restart (after BGREWRITEAOF)', { redis: r.dir, tessera: t.dir }, AOF_SETUP, opts,
        { redis: r.rewrittenBytes, tessera: t.rewrittenBytes });
      process.stdout.write(`  => restart from the rewritten AOF: Tessera/Redis keys/s ratio ${fmtRatio(restartRatio(results.rewrittenRestarts))}\n`);
    });
    if (!opts.keepDirs) for (const p of [results.aof.redis, results.aof.tessera]) if (p) rmSync(p.dir, { recursive: true, force: true });
  }

  if (opts.sections.has('set')) {
    await section('SET throughput, appendonly yes, appendfsync everysec', results, async () => {
      results.set = await setThroughput(opts);
      for (const x of results.set.summaries) {
        process.stdout.write(`  => SET -P ${x.pipeline} appendonly ${x.mode === 'aof' ? 'yes' : 'no'}: Tessera/Redis rps ratio ${fmtRatio(x.ratio)} (median of pairs)\n`);
      }
    });
  }

  const text = report(opts, machine, shards, results);
  if (opts.sections.has('bgsave')) {
    const r = results.snapshot.redis?.bgsave;
    const t = results.snapshot.tessera?.bgsave;
    const frac = (b: BgsaveResult | null | undefined): string => fmtRatio(extraRatio(b), 3);
    if (opts.bgsaveWriters > 0) {
      process.stdout.write(`\nBGSAVE with ${opts.bgsaveWriters} writers, peak extra memory / used_memory: `
        + `Redis ${frac(results.snapshot.redis?.bgsaveWrites)}, Tessera ${frac(results.snapshot.tessera?.bgsaveWrites)}`);
    }
    process.stdout.write(`\nBGSAVE (idle) peak extra memory / used_memory: Redis ${frac(r)}, Tessera ${frac(t)}`
      + `${t?.fields.has('snapshot_peak_buffer_bytes') ? `; Tessera snapshot_peak_buffer_bytes / used_memory ${fmtRatio(Number(t.fields.get('snapshot_peak_buffer_bytes')) / t.usedMemory, 3)}` : ''}\n`);
  }
  writeFileSync(opts.results, text);
  process.stdout.write(`\nWrote ${relative(process.cwd(), opts.results) || opts.results}\n`);
  if (problems.length > 0) {
    process.stdout.write(`${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

function cleanupDirs(): void {
  for (const d of dirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

let keep = false;
process.on('exit', () => {
  for (const w of liveWriters) w.kill('SIGKILL');
  killLoggedNow();
  if (!keep) cleanupDirs();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const w of liveWriters) w.kill('SIGKILL');
    killLoggedNow();
    process.exit(130);
  });
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${errText(err)}\n`);
  process.exitCode = 1;
} finally {
  killLoggedNow();
}
