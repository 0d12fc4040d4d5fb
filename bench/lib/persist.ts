// Helpers for the persistence benchmark (bench/persistence.ts): servers whose whole output goes to a
// log file in their data directory and whose start is timed to the first PONG with 10 ms polling
// (bench/lib/servers.ts polls every 100 ms and keeps only a 4 KiB tail), a parallel bulk loader,
// and memory figures of a process and its children from /proc (VmRSS, smaps_rollup Pss and
// Private_Dirty), for a fork-based BGSAVE as well as an in-process one.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCommands } from './line-load.js';
import { benchKey } from './loader.js';
import { RespClient, parseInfo, type Reply } from './resp-client.js';

// ---- servers -------------------------------------------------------------------------------

export interface LoggedServer {
  name: string;
  pid: number;
  port: number;
  dir: string;
  logPath: string;
  commandLine: string;
  /** Milliseconds from spawn() to the first PONG. */
  readyMs: number;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves once the process has exited. */
  stop(killAfterMs?: number): Promise<void>;
  exited(): boolean;
}

export interface LoggedStart {
  name: string;
  command: string;
  args: string[];
  port: number;
  dir: string;
  /** Log file name inside dir (appended to). */
  logName: string;
  cwd?: string;
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();

/** Spawns a server (stdout and stderr appended to dir/logName) and resolves at its first PONG. */
export async function startLogged(opts: LoggedStart): Promise<LoggedServer> {
  const logPath = join(opts.dir, opts.logName);
  const fd = openSync(logPath, 'a');
  const started = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, { cwd: opts.cwd ?? opts.dir, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  live.add(child);
  let exitNote: string | null = null;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exitNote = `exited with ${code ?? signal}`;
    live.delete(child);
    resolve();
  }));
  child.once('error', (err) => {
    exitNote = `failed to start: ${err.message}`;
  });
  const quote = (a: string): string => (a === '' ? "''" : /[\s'"]/.test(a) ? `'${a}'` : a);
  const stop = async (killAfterMs = 60_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exitPromise;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 600_000);
  while (true) {
    if (exitNote !== null) throw new Error(`${opts.name} ${String(exitNote)}; log ${logPath}:\n${tail(logPath)}`);
    const answer = await pingOnce(opts.port, deadline - Date.now());
    if (answer === 'PONG') break;
    if (Date.now() > deadline) {
      await stop(5000);
      throw new Error(`${opts.name} did not answer PING on port ${opts.port} in time (last: ${answer}); log ${logPath}:\n${tail(logPath)}`);
    }
    await sleep(10);
  }
  const readyMs = performance.now() - started;
  return {
    name: opts.name, pid: child.pid ?? -1, port: opts.port, dir: opts.dir, logPath, readyMs,
    commandLine: [opts.command, ...opts.args].map(quote).join(' '),
    stop, exited: () => child.exitCode !== null || child.signalCode !== null,
  };
}

/** One PING on a fresh connection: 'PONG', or why not (refused, -LOADING ..., timeout). */
async function pingOnce(port: number, timeoutMs: number): Promise<string> {
  let client: RespClient | undefined;
  const timer = new AbortController();
  try {
    client = await RespClient.connect(port);
    const reply = await Promise.race([
      client.call('PING'),
      // Cancelled below: a pending timer would keep the process alive after the run.
      sleep(Math.max(1, timeoutMs), undefined, { signal: timer.signal }).then(() => new Error('timeout'), () => new Error('cancelled')),
    ]);
    return reply instanceof Error ? reply.message : String(reply);
  } catch (err) {
    return (err as Error).message;
  } finally {
    timer.abort();
    client?.close();
  }
}

function tail(path: string, bytes = 3000): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

/** SIGKILL every server started by startLogged that has not exited (process 'exit' handlers). */
export function killLoggedNow(): void {
  for (const c of live) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  live.clear();
}

/** Log lines after byte `from` (pino JSON lines become their msg). */
export function logLines(path: string, from = 0): string[] {
  let text: string;
  try {
    text = readFileSync(path).subarray(from).toString('utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.trim() !== '').map((line) => {
    if (line.startsWith('{')) {
      try {
        const o = JSON.parse(line) as { msg?: unknown };
        return typeof o.msg === 'string' ? o.msg : line;
      } catch {
        return line;
      }
    }
    return line;
  });
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Total bytes of the files under dir (recursively) whose name passes `keep`. */
export function dirBytes(dir: string, keep: (name: string) => boolean = () => true): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(p, keep);
    else if (entry.isFile() && keep(entry.name)) total += fileSize(p);
  }
  return total;
}

// ---- commands ------------------------------------------------------------------------------

export async function command(port: number, ...args: string[]): Promise<Reply> {
  const client = await RespClient.connect(port);
  try {
    return await client.call(...args);
  } finally {
    client.close();
  }
}

export async function info(client: RespClient, section: string): Promise<Map<string, string>> {
  const text = await client.call('INFO', section);
  if (typeof text !== 'string') throw new Error(`INFO ${section} failed: ${String(text)}`);
  return parseInfo(text);
}

// ---- bulk loading --------------------------------------------------------------------------

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The value of key i: `bytes` characters, either all 'v' (compresses to almost nothing in an RDB
 * file) or, with `random`, pseudo-random characters derived from i (no run or repeat for LZF to
 * compress, like most real values). The same i always gives the same value.
 */
export function benchValue(i: number, bytes: number, random: boolean): string {
  if (!random) return 'v'.repeat(bytes);
  let x = (Math.imul(i + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  let out = '';
  for (let k = 0; k < bytes; k++) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += ALPHABET[x & 63];
  }
  return out;
}

/**
 * SETs keys benchKey(0..count-1) to benchValue(i, valueBytes, random) over `connections` sockets,
 * each sending `batch` SETs per write and awaiting their replies before the next write. Throws on
 * the first reply other than +OK. Returns the elapsed milliseconds.
 */
export function bulkLoad(port: number, count: number, valueBytes: number, random: boolean, connections = 4, batch = 2000): Promise<number> {
  const head = '*3\r\n$3\r\nSET\r\n$16\r\n';
  const mid = `\r\n$${valueBytes}\r\n`;
  const fixed = `${mid}${benchValue(0, valueBytes, false)}\r\n`;
  const build = random ? (k: number): string => head + benchKey(k) + mid + benchValue(k, valueBytes, true) + '\r\n' : (k: number): string => head + benchKey(k) + fixed;
  return loadCommands(port, count, build, { connections, batch, expect: '+OK', what: 'SET' });
}

// ---- process memory ------------------------------------------------------------------------

export interface ProcMem {
  /** VmRSS of the process itself (/proc/PID/status: kernel counters, no page-table walk). */
  rss: number;
  /** rss plus the private memory (Private_Clean + Private_Dirty) of every descendant: the memory a
   * fork costs beyond the pages it still shares with the parent (those are in the parent's rss). */
  total: number;
  /** Descendant processes (a fork-based save's child), from their smaps_rollup. */
  children: Array<{ pid: number; rss: number; pss: number; private: number; privateDirty: number }>;
}

function kbField(text: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    const text = readOrNull(`/proc/${pid}/task/${task}/children`);
    if (text === null) continue;
    for (const c of text.trim().split(/\s+/).filter((x) => x !== '')) {
      const child = Number(c);
      out.push(child, ...descendants(child));
    }
  }
  return out;
}

/**
 * Memory of a process and its descendants; null once the process is gone. The process itself is
 * read from /proc/PID/status only: reading its smaps_rollup every 20 ms walks its page tables under
 * its mmap lock and was seen to slow a Tessera BGSAVE of 5M keys from ~5.7 s to 8-10 s.
 */
export function procMem(pid: number): ProcMem | null {
  const status = readOrNull(`/proc/${pid}/status`);
  if (status === null) return null;
  const rss = kbField(status, 'VmRSS') ?? 0;
  const children: ProcMem['children'] = [];
  for (const c of descendants(pid)) {
    const rollup = readOrNull(`/proc/${c}/smaps_rollup`);
    const st = readOrNull(`/proc/${c}/status`);
    if (rollup === null || st === null) continue;
    const privateDirty = kbField(rollup, 'Private_Dirty') ?? 0;
    children.push({
      pid: c, rss: kbField(st, 'VmRSS') ?? 0, pss: kbField(rollup, 'Pss') ?? 0,
      private: (kbField(rollup, 'Private_Clean') ?? 0) + privateDirty, privateDirty,
    });
  }
  return { rss, total: rss + children.reduce((sum, c) => sum + c.private, 0), children };
}
