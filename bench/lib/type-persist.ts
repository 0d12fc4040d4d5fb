// The log and snapshot half of the typed-keyspace benchmark (issue 14): does the cost of an HSET
// under `appendonly yes` (appendfsync everysec), and of a BGSAVE while a client rewrites a hash,
// grow with the size of the hash or only with the change? Each server holds a hash of n fields
// (`bighash`) and one of 10 (`smallhash`); the same HSET is timed on each, and the same BGSAVE is
// timed while a writer rewrites one or the other. A server that logged or copied the whole hash per
// change would slow down on `bighash` in proportion to n.

import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FreshServer } from './fresh-servers.js';
import { alternate } from './order.js';
import { dirBytes, info, procMem } from './persist.js';
import { customCommand } from './redis-benchmark.js';
import { RespClient } from './resp-client.js';
import { median } from './stats.js';
import { measure, type Measured } from './throughput.js';
import { loadCommands } from './line-load.js';
import { aofHashCommand, aofHashCommands } from './type-data.js';

export type Target = 'small' | 'big';
export const TARGETS: readonly Target[] = ['small', 'big'];
/** Fields of `smallhash`: a listpack in Redis. */
export const SMALL_HASH_FIELDS = 10;

/** The flags that turn the log on, for both servers (the last of a repeated flag wins). */
export const AOF_ARGS: readonly string[] = ['--appendonly', 'yes', '--appendfsync', 'everysec', '--auto-aof-rewrite-percentage', '0'];

/** Loads `bighash` (n fields) and `smallhash` (10 fields) into `server`. */
export async function loadHashes(server: FreshServer, n: number, connections: number): Promise<number> {
  const ms = await loadCommands(server.port, aofHashCommands(n), (i) => aofHashCommand('bighash', i, n), { connections });
  await loadCommands(server.port, 1, (i) => aofHashCommand('smallhash', i, SMALL_HASH_FIELDS), { connections: 1 });
  const client = await RespClient.connect(server.port);
  try {
    for (const [key, want] of [['bighash', n], ['smallhash', SMALL_HASH_FIELDS]] as const) {
      const got = await client.call('HLEN', key);
      if (got !== want) throw new Error(`${server.name}: HLEN ${key} is ${String(got)} after loading (expected ${want})`);
    }
  } finally {
    client.close();
  }
  return ms;
}

// ---- HSET with the log on ------------------------------------------------------------------

export interface AofSample {
  m: Measured;
  /** Growth of the data directory (the log) per HSET over the run. */
  logBytesPerCommand: number;
}

export interface AofPair {
  target: Target;
  pipeline: number;
  round: number;
  redis: AofSample;
  tessera: AofSample;
}

export interface AofPlan {
  rounds: number;
  pipelines: number[];
  requests: number;
  clients: number;
  n: number;
}

/** The log is written within a second with everysec (Redis before the reply; Tessera's own pace). */
const LOG_SETTLE_MS = 1200;

async function aofRun(server: FreshServer, target: Target, pipeline: number, plan: AofPlan): Promise<AofSample> {
  const before = dirBytes(server.dir);
  const m = await measure(server, {
    port: server.port, tests: [`hset-${target}`], pipeline, clients: plan.clients, requests: plan.requests,
    keyspace: target === 'big' ? plan.n : SMALL_HASH_FIELDS, valueBytes: 8,
  });
  await sleep(LOG_SETTLE_MS);
  return { m, logBytesPerCommand: (dirBytes(server.dir) - before) / plan.requests };
}

/** Per depth and round: the small and the big hash (their order alternating by round), each on
 * both servers (which goes first alternating by round). */
export async function aofRounds(redis: FreshServer, tessera: FreshServer, plan: AofPlan, log: (line: string) => void): Promise<AofPair[]> {
  const pairs: AofPair[] = [];
  for (const pipeline of plan.pipelines) {
    for (let round = 1; round <= plan.rounds; round++) {
      for (const target of round % 2 === 1 ? TARGETS : [...TARGETS].reverse()) {
        const [r, t] = await alternate(round, () => aofRun(redis, target, pipeline, plan), () => aofRun(tessera, target, pipeline, plan));
        pairs.push({ target, pipeline, round, redis: r, tessera: t });
        log(`  round ${round} HSET ${target} hash -P ${pipeline}: redis ${fmt(r.m.row.rps)} rps ${r.logBytesPerCommand.toFixed(0)} log B/cmd`
          + ` | tessera ${fmt(t.m.row.rps)} rps ${t.logBytesPerCommand.toFixed(0)} log B/cmd | ratio ${(t.m.row.rps / r.m.row.rps).toFixed(2)}`);
      }
    }
  }
  return pairs;
}

export function hsetWriterCommand(target: Target, n: number, clients: number): string[] {
  return ['-c', String(clients), '-P', '1', '-n', '2000000000', '-r', String(target === 'big' ? n : SMALL_HASH_FIELDS), '-q',
    ...(customCommand(`hset-${target}`) ?? [])];
}

// ---- BGSAVE under a writer -----------------------------------------------------------------

export type Writer = 'none' | Target;
export const WRITERS: readonly Writer[] = ['none', 'small', 'big'];

export interface BgsaveSample {
  wallMs: number;
  /** HSETs per second the writer got done while the save ran, and in the second before. */
  writesPerSecDuring: number;
  writesPerSecBefore: number;
  /** Peak growth of the process's RSS plus its children's private memory (a fork's copy-on-write). */
  peakExtraBytes: number;
  /** Redis's own count of the fork's copied pages (INFO persistence rdb_last_cow_size), if any. */
  cowBytes: number;
  status: string;
}

export interface BgsavePair {
  writer: Writer;
  round: number;
  redis: BgsaveSample;
  tessera: BgsaveSample;
}

const liveWriters = new Set<ChildProcess>();

/** SIGKILL every writer still running (process 'exit' handlers). */
export function killWritersNow(): void {
  for (const w of liveWriters) w.kill('SIGKILL');
  liveWriters.clear();
}

const commandsProcessed = async (client: RespClient): Promise<number> =>
  Number((await info(client, 'stats')).get('total_commands_processed'));

export async function bgsave(server: FreshServer, writer: Writer, n: number, writerClients: number): Promise<BgsaveSample> {
  const client = await RespClient.connect(server.port);
  let child: ChildProcess | null = null;
  let childExit: Promise<void> = Promise.resolve();
  let output = '';
  try {
    let rateFrom: { at: number; commands: number } | null = null;
    if (writer !== 'none') {
      child = spawn('redis-benchmark', ['-p', String(server.port), ...hsetWriterCommand(writer, n, writerClients)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const c = child;
      liveWriters.add(c);
      childExit = new Promise((resolve) => c.once('exit', () => resolve()));
      const keep = (d: Buffer): void => {
        output = (output + d.toString()).slice(-2000);
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      await sleep(500);
      if (c.exitCode !== null) throw new Error(`redis-benchmark writer exited early: ${output}`);
      rateFrom = { at: performance.now(), commands: await commandsProcessed(client) };
      await sleep(1000);
    }
    const before = median([0, 1, 2, 3, 4].map(() => procMem(server.pid)?.total ?? NaN));
    const commandsBefore = await commandsProcessed(client);
    const writesPerSecBefore = rateFrom === null ? 0 : (commandsBefore - rateFrom.commands) / ((performance.now() - rateFrom.at) / 1000);
    const savesBefore = (await info(client, 'persistence')).get('rdb_saves');
    let peak = before;
    const started = performance.now();
    const reply = await client.call('BGSAVE');
    if (typeof reply !== 'string' || !/^Background saving started/.test(reply)) {
      throw new Error(`${server.name}: BGSAVE replied ${reply instanceof Error ? `-${reply.message}` : JSON.stringify(reply)}`);
    }
    let seenInProgress = false;
    let fields: Map<string, string>;
    while (true) {
      const tick = performance.now();
      peak = Math.max(peak, procMem(server.pid)?.total ?? 0);
      fields = await info(client, 'persistence');
      const inProgress = fields.get('rdb_bgsave_in_progress') === '1';
      seenInProgress ||= inProgress;
      // A save shorter than one poll is seen only through its count (or its end).
      if (!inProgress && (seenInProgress || fields.get('rdb_saves') !== savesBefore)) break;
      if (performance.now() - started > 600_000) throw new Error(`${server.name}: BGSAVE still in progress after 10 minutes`);
      await sleep(Math.max(0, 20 - (performance.now() - tick)));
    }
    const wallMs = performance.now() - started;
    const commandsDuring = (await commandsProcessed(client)) - commandsBefore;
    return {
      wallMs,
      // The INFO calls of this loop count as commands too: one per 20 ms poll plus the two stats reads.
      writesPerSecDuring: writer === 'none' ? 0 : commandsDuring / (wallMs / 1000),
      writesPerSecBefore, peakExtraBytes: peak - before,
      cowBytes: Number(fields.get('rdb_last_cow_size') ?? NaN), status: fields.get('rdb_last_bgsave_status') ?? '?',
    };
  } finally {
    client.close();
    if (child !== null) {
      child.kill('SIGTERM');
      await childExit;
      liveWriters.delete(child);
    }
  }
}

export async function bgsaveRounds(redis: FreshServer, tessera: FreshServer, rounds: number, n: number, writerClients: number,
  log: (line: string) => void): Promise<BgsavePair[]> {
  const pairs: BgsavePair[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const writer of WRITERS) {
      const [r, t] = await alternate(round, () => bgsave(redis, writer, n, writerClients), () => bgsave(tessera, writer, n, writerClients));
      pairs.push({ writer, round, redis: r, tessera: t });
      const side = (s: BgsaveSample): string => `${(s.wallMs / 1000).toFixed(2)} s, ${fmt(s.writesPerSecDuring)} HSET/s during`
        + ` (${fmt(s.writesPerSecBefore)} before), +${(s.peakExtraBytes / 2 ** 20).toFixed(1)} MiB peak, ${s.status}`;
      log(`  round ${round} BGSAVE, writer on ${writer}: redis ${side(r)} | tessera ${side(t)}`);
    }
  }
  return pairs;
}

const fmt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
