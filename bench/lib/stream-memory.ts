// Memory per stream entry (issue 17): N entries `XADD <key> * a 1 b 2 c 3` (one stream, automatic
// ids) piped into an empty server through `redis-cli --pipe`, as users bulk-load, with INFO
// used_memory and the process's VmRSS read before and after. The commands are generated as they
// are written (one constant block repeated, since `*` ids make every command the same bytes), with
// the pipe's backpressure respected: no file, and memory bounded on this side.

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ENTRY_FIELDS, xaddAutoUnit } from './data17-data.js';
import { parseInfo, RespClient } from './resp-client.js';
import { rssBytes, type BenchServer } from './servers.js';

export const MEMORY_STREAM = 'mem:stream';
/** Commands per write into redis-cli's stdin. */
const BLOCK_COMMANDS = 4096;
/** A load whose XLEN stops growing for this long while redis-cli runs is given up. */
const STALL_MS = 60_000;
const POLL_MS = 1000;
const OUTPUT_TAIL = 4096;

export interface StreamGrowth {
  entries: number;
  usedBytes: number;
  /** Growth of used_memory_arenas (Tessera's arena bytes, free space in them included); NaN for Redis. */
  arenaBytes: number;
  rssBytes: number;
  loadMs: number;
  /** OBJECT ENCODING of the stream after the load. */
  encoding: string;
}

/**
 * Pipes `entries` XADDs into `server` (empty) and returns the growth; throws unless redis-cli
 * reports `errors: 0, replies: entries` and XLEN is then `entries`.
 */
export async function streamGrowth(server: BenchServer, entries: number): Promise<StreamGrowth> {
  const client = await RespClient.connect(server.port);
  try {
    const before = await memoryInfo(client);
    const rssBefore = rssBytes(server.pid);
    const loadMs = await pipeEntries(client, server.port, entries);
    const rssAfter = rssBytes(server.pid);
    const after = await memoryInfo(client);
    const xlen = await client.call('XLEN', MEMORY_STREAM);
    if (xlen !== entries) throw new Error(`${server.name}: XLEN ${MEMORY_STREAM} is ${JSON.stringify(xlen)} after piping ${entries} XADDs`);
    const encoding = await client.call('OBJECT', 'ENCODING', MEMORY_STREAM);
    return {
      entries, usedBytes: after.used - before.used, arenaBytes: after.arenas - before.arenas, rssBytes: rssAfter - rssBefore, loadMs,
      encoding: typeof encoding === 'string' ? encoding : `(${encoding instanceof Error ? encoding.message : String(encoding)})`,
    };
  } finally {
    client.close();
  }
}

/** used_memory and used_memory_arenas (NaN where the server has no such field) from INFO memory. */
async function memoryInfo(client: RespClient): Promise<{ used: number; arenas: number }> {
  const info = await client.call('INFO', 'memory');
  if (typeof info !== 'string') throw new Error(`INFO memory failed: ${String(info)}`);
  const fields = parseInfo(info);
  const used = Number(fields.get('used_memory'));
  if (!Number.isFinite(used)) throw new Error('INFO memory has no used_memory field');
  return { used, arenas: Number(fields.get('used_memory_arenas') ?? NaN) };
}

/** Runs `redis-cli -p PORT --pipe`, writes the XADDs into its stdin, and returns the milliseconds from
 * its start to its exit. `watcher` reads XLEN meanwhile to catch a stalled load. */
async function pipeEntries(watcher: RespClient, port: number, entries: number): Promise<number> {
  const one = xaddAutoUnit(MEMORY_STREAM);
  const block = Buffer.concat(Array.from({ length: BLOCK_COMMANDS }, () => one));
  const started = performance.now();
  const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
  // The first error line redis-cli prints is kept whole: the tail may hold only later ones.
  let output = '';
  let firstError = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString('utf8')).slice(-OUTPUT_TAIL);
    if (firstError === '') firstError = /^.*ERR.*$/m.exec(output)?.[0] ?? '';
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? String(signal)));
  });
  let watching = true;
  const watch = (async (): Promise<void> => {
    let last = -1;
    let lastGrewAt = performance.now();
    while (watching) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (!watching) return;
      const n = await watcher.call('XLEN', MEMORY_STREAM);
      const now = performance.now();
      if (typeof n === 'number' && n > last) {
        last = n;
        lastGrewAt = now;
      } else if (now - lastGrewAt > STALL_MS) {
        child.kill('SIGKILL');
        throw new Error(`stream load stalled: XLEN ${String(n)} for ${Math.round((now - lastGrewAt) / 1000)} s`);
      }
    }
  })();
  try {
    let left = entries;
    child.stdin.on('error', () => undefined); // an early exit is reported from its output below
    while (left > 0) {
      const n = Math.min(left, BLOCK_COMMANDS);
      left -= n;
      const ok = child.stdin.write(n === BLOCK_COMMANDS ? block : block.subarray(0, n * one.length));
      if (!ok) await Promise.race([new Promise((r) => child.stdin.once('drain', r)), exited]);
      if (child.exitCode !== null) break;
    }
    child.stdin.end();
    const code = await Promise.race([exited, watch.then(() => exited)]);
    const ms = performance.now() - started;
    const m = /errors: (\d+), replies: (\d+)/.exec(output);
    if (code !== 0 || m === null || Number(m[1]) !== 0 || Number(m[2]) !== entries) {
      const summary = m === null ? output.trim().slice(-300) : `${m[0]}${firstError === '' ? '' : `, the first: ${firstError.trim()}`}`;
      throw new Error(`redis-cli --pipe of ${entries} XADD ... ${ENTRY_FIELDS.join(' ')} exited ${code}: ${summary}`);
    }
    return ms;
  } finally {
    watching = false;
    if (child.exitCode === null) child.kill('SIGKILL');
    await watch.catch(() => undefined);
  }
}

export interface StreamMemoryResult {
  entries: number;
  /** Each side's growth, or the error that stopped its load. */
  redis: StreamGrowth | string;
  tessera: StreamGrowth | string;
  /** Tessera's RSS growth per entry / Redis's used_memory growth per entry (the issue's metric; NaN when a side failed). */
  ratio: number;
  /** Tessera's used_memory (its arenas) per entry / Redis's used_memory per entry. */
  usedRatio: number;
}

/** The case on a fresh Redis, stopped, then on a fresh Tessera: they never share the RAM. */
export async function compareStreamMemory(entries: number, startRedis: () => Promise<BenchServer>, startB: () => Promise<BenchServer>): Promise<StreamMemoryResult> {
  const growth = async (start: () => Promise<BenchServer>): Promise<StreamGrowth | string> => {
    const server = await start();
    try {
      return await streamGrowth(server, entries);
    } catch (err) {
      return (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 300) ?? '';
    } finally {
      await server.stop();
    }
  };
  const redis = await growth(startRedis);
  const tessera = await growth(startB);
  const failed = typeof redis === 'string' || typeof tessera === 'string';
  return {
    entries, redis, tessera,
    ratio: failed ? NaN : tessera.rssBytes / redis.usedBytes,
    usedRatio: failed ? NaN : tessera.usedBytes / redis.usedBytes,
  };
}
