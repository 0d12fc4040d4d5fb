// Shared pieces of the persistence e2e tests (persistence.test.ts, persistence-crash.test.ts):
// a temp dir per test, servers started on it and killed by pid, ioredis clients that give up
// (rather than reconnect) when the server dies, INFO persistence as a map, the on-disk files
// (`dump.tdb.<gen>.s<shard>.tsnap`, `appendonlydir/appendonly.aof.<seq>.s<shard>.{base.tsnap,incr.aof}`)
// and their record framing ([u32 LE length][u32 LE crc32][payload] after a 16-byte header),
// and a server start that is expected to fail.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { keySlot } from '../../src/keyspace/slot.js';
import {
  TESSERA_MAIN,
  freePort,
  startTessera,
  startTesseraAt,
  waitFor,
  withTimeout,
  type ServerHandle,
  type StartOptions,
} from './harness.js';

export const FILE_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
export const AOF_DIR = 'appendonlydir';

// ---------------------------------------------------------------------------------------------
// Temp dirs, servers and clients, all cleaned up by `cleanup()` (call it from the suite's after.each)

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: Redis[] = [];

/** A fresh empty directory under the OS temp dir, removed by cleanup(). */
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `tessera-p5-${tag}-`));
  dirs.push(d);
  return d;
}

/** `--dir dir` plus `--save ''` unless the extra args set save points themselves. */
export function dirArgs(dir: string, extra: string[] = []): string[] {
  return ['--dir', dir, ...(extra.includes('--save') ? [] : ['--save', '']), ...extra];
}

/** Starts Tessera on a free port with its files in `dir`. */
export async function startIn(dir: string, extra: string[] = [], opts: StartOptions = {}): Promise<ServerHandle> {
  const s = await startTessera({ shards: 2, ...opts, args: dirArgs(dir, extra) });
  servers.push(s);
  return s;
}

/** Starts Tessera again on `port` (a restart) with its files in `dir`. */
export async function restartIn(port: number, dir: string, extra: string[] = [], opts: StartOptions = {}): Promise<ServerHandle> {
  const s = await startTesseraAt(port, { shards: 2, ...opts, args: dirArgs(dir, extra) });
  servers.push(s);
  return s;
}

/** SIGKILL, and wait until the process is gone. */
export async function kill9(s: ServerHandle): Promise<void> {
  s.proc.kill('SIGKILL');
  const r = await withTimeout(s.exited, 10_000, `exit after SIGKILL of pid ${s.pid}`);
  if (r.signal !== 'SIGKILL' && r.code === 0) throw new Error(`pid ${s.pid} exited with code 0 before the SIGKILL`);
}

/** An ioredis client that fails its commands (never reconnects or queues) once the server is gone. */
export async function ioClient(s: ServerHandle): Promise<Redis> {
  const c = new Redis({
    port: s.port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  });
  c.on('error', () => {
    // surfaced by the failing command
  });
  clients.push(c);
  await withTimeout(c.connect(), 10_000, 'ioredis connect');
  return c;
}

/** Disconnects every client, stops every server (SIGTERM, then SIGKILL) and removes every temp dir. */
export async function cleanup(): Promise<void> {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// INFO

/** INFO persistence as field → value. */
export async function persistenceInfo(c: Redis): Promise<Map<string, string>> {
  const text = await c.info('persistence');
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** One INFO persistence field as a number (throws when it is missing). */
export async function infoNumber(c: Redis, field: string): Promise<number> {
  const v = (await persistenceInfo(c)).get(field);
  if (v === undefined) throw new Error(`no ${field} in INFO persistence`);
  return Number(v);
}

/** Resolves once no BGSAVE runs and the last one succeeded (rdb_saves above `savesBefore`). */
export async function bgsaveDone(c: Redis, savesBefore: number): Promise<Map<string, string>> {
  return waitFor(
    'BGSAVE done',
    async () => {
      const i = await persistenceInfo(c);
      if (i.get('rdb_bgsave_in_progress') !== '0') return false;
      if (i.get('rdb_last_bgsave_status') !== 'ok') throw new Error(`rdb_last_bgsave_status:${i.get('rdb_last_bgsave_status')}`);
      return Number(i.get('rdb_saves')) > savesBefore ? i : false;
    },
    20_000,
  );
}

/** Resolves once no AOF rewrite runs or is scheduled and the last one succeeded (aof_rewrites above `before`). */
export async function rewriteDone(c: Redis, rewritesBefore: number): Promise<Map<string, string>> {
  return waitFor(
    'AOF rewrite done',
    async () => {
      const i = await persistenceInfo(c);
      if (i.get('aof_rewrite_in_progress') !== '0' || i.get('aof_rewrite_scheduled') !== '0') return false;
      if (i.get('aof_last_bgrewrite_status') !== 'ok') throw new Error(`aof_last_bgrewrite_status:${i.get('aof_last_bgrewrite_status')}`);
      return Number(i.get('aof_rewrites')) > rewritesBefore ? i : false;
    },
    20_000,
  );
}

// ---------------------------------------------------------------------------------------------
// Keys and shards

/** The shard owning `key` in a server with `shards` shards (contiguous slot ranges, as server.ts). */
export function shardOf(key: string, shards: number): number {
  const b = Buffer.from(key);
  return Math.floor((keySlot(b, 0, b.length) * shards) / 16384);
}

/** Values of `keys` via MGET in chunks. */
export async function mgetAll(c: Redis, keys: string[], chunk = 500): Promise<Array<string | null>> {
  const out: Array<string | null> = [];
  for (let i = 0; i < keys.length; i += chunk) out.push(...(await c.mget(...keys.slice(i, i + chunk))));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files

export interface PersistFile {
  name: string;
  path: string;
  shard: number;
  /** The generation (snapshots) or sequence (AOF files). */
  seq: number;
  kind: 'snapshot' | 'base' | 'incr';
}

const SNAP_RE = /^(.+)\.(\d+)\.s(\d+)\.tsnap$/;
const AOF_RE = /^(.+)\.(\d+)\.s(\d+)\.(base\.tsnap|incr\.aof)$/;

/** The per-shard snapshot files `<dbfilename>.<gen>.s<shard>.tsnap` in `dir`. */
export function snapshotFiles(dir: string, dbfilename = 'dump.tdb'): PersistFile[] {
  const out: PersistFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = SNAP_RE.exec(name);
    if (m === null || m[1] !== dbfilename) continue;
    out.push({ name, path: join(dir, name), seq: Number(m[2]), shard: Number(m[3]), kind: 'snapshot' });
  }
  return out.sort((a, b) => a.shard - b.shard || a.seq - b.seq);
}

/** The base and incr files in `dir/appendonlydir`, by shard then sequence. */
export function aofFiles(dir: string): PersistFile[] {
  const d = join(dir, AOF_DIR);
  let names: string[];
  try {
    names = readdirSync(d);
  } catch {
    return [];
  }
  const out: PersistFile[] = [];
  for (const name of names) {
    const m = AOF_RE.exec(name);
    if (m === null) continue;
    out.push({ name, path: join(d, name), seq: Number(m[2]), shard: Number(m[3]), kind: m[4] === 'incr.aof' ? 'incr' : 'base' });
  }
  return out.sort((a, b) => a.shard - b.shard || a.seq - b.seq);
}

/** The newest (highest sequence) incr file of `shard`. */
export function newestIncr(dir: string, shard: number): PersistFile {
  const incr = aofFiles(dir).filter((f) => f.kind === 'incr' && f.shard === shard);
  const f = incr.at(-1);
  if (f === undefined) throw new Error(`no incr file for shard ${shard} in ${join(dir, AOF_DIR)}: ${readdirSync(join(dir, AOF_DIR)).join(', ')}`);
  return f;
}

export function fileSize(path: string): number {
  return statSync(path).size;
}

export interface RecordSpan {
  /** Offset of the record's 8-byte header in the file. */
  offset: number;
  payloadOffset: number;
  payloadLength: number;
}

/** The records of a log or snapshot file (stops at a torn tail). */
export function recordsOf(path: string): { bytes: Buffer; records: RecordSpan[] } {
  const bytes = readFileSync(path);
  const records: RecordSpan[] = [];
  let pos = FILE_HEADER_BYTES;
  while (pos + RECORD_HEADER_BYTES <= bytes.length) {
    const len = bytes.readUInt32LE(pos);
    if (pos + RECORD_HEADER_BYTES + len > bytes.length) break;
    records.push({ offset: pos, payloadOffset: pos + RECORD_HEADER_BYTES, payloadLength: len });
    pos += RECORD_HEADER_BYTES + len;
  }
  return { bytes, records };
}

// ---------------------------------------------------------------------------------------------
// A start that should fail

export interface FailedStart {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Spawns `tessera server` on a free port with `args` and waits (up to `timeoutMs`) for it to
 * exit. If it does not exit (it started after all), it is killed by pid and this rejects.
 */
export async function startExpectingFailure(args: string[], timeoutMs = 15_000): Promise<FailedStart> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [TESSERA_MAIN, 'server', '--port', String(port), '--shards', '2', '--loglevel', 'notice', '--memcache-port', '0', '--http-port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
    proc.on('error', (err) => {
      output += `\nspawn error: ${err.message}\n`;
      resolve({ code: -1, signal: null });
    });
  });
  try {
    const r = await withTimeout(exited, timeoutMs, 'the failing start to exit');
    // 'exit' can come before the pipes have drained: give them a moment to close.
    await withTimeout(new Promise<void>((res) => (proc.stdout.closed && proc.stderr.closed ? res() : proc.on('close', () => res()))), 2_000, 'output pipes').catch(() => undefined);
    return { ...r, output };
  } catch (err) {
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
    await exited;
    throw new Error(`${err instanceof Error ? err.message : String(err)}: the server did not fail to start; output:\n${output.slice(-3000)}`);
  }
}
