// Starting benchmark servers as child processes, waiting until they answer PING, and stopping
// them by pid. Every started server is remembered so that stopAll() can end them on any exit path.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { RespClient } from './resp-client.js';

export interface BenchServer {
  name: string;
  pid: number;
  port: number;
  /** The command line, for the report. */
  commandLine: string;
  /** Sends `signal` (SIGTERM by default), SIGKILL after 5 s; resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const OUTPUT_TAIL_BYTES = 4096;
const running = new Set<BenchServer>();

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  port: number;
  cwd?: string;
  readyTimeoutMs?: number;
  /** 'pong' (default): ready at its first PONG; 'listening': at the first accepted connection,
   * for servers that do not answer PING. */
  readyWhen?: 'pong' | 'listening';
}

/** Spawns a server and resolves once it answers PING on `port`; rejects with its output otherwise. */
export async function startServer(opts: StartOptions): Promise<BenchServer> {
  const child = spawn(opts.command, opts.args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
    resolve();
  }));
  child.once('error', (err) => {
    exited = `failed to start: ${err.message}`;
  });
  const pid = child.pid;
  const quote = (a: string): string => (a === '' ? "''" : /[\s'"]/.test(a) ? `'${a}'` : a);
  const server: BenchServer = {
    name: opts.name,
    pid: pid ?? -1,
    port: opts.port,
    commandLine: [opts.command, ...opts.args].map(quote).join(' '),
    stop: (signal = 'SIGTERM') => stopChild(child, exitPromise, server, signal),
  };
  running.add(server);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (true) {
    if (exited !== null) {
      running.delete(server);
      throw new Error(`${opts.name} ${exited}:\n${tail}`);
    }
    if (await (opts.readyWhen === 'listening' ? accepts(opts.port) : answersPing(opts.port))) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${opts.name} did not answer PING on port ${opts.port} within the timeout:\n${tail}`);
    }
    await sleep(100);
  }
}

async function answersPing(port: number): Promise<boolean> {
  let client: RespClient | undefined;
  try {
    client = await RespClient.connect(port);
    return (await client.call('PING')) === 'PONG';
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>, server: BenchServer, signal: NodeJS.Signals): Promise<void> {
  running.delete(server);
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Stops every server started here and not yet stopped. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** Synchronous last resort (process 'exit' handlers): SIGKILL every remembered server by pid. */
export function killAllNow(): void {
  for (const s of running) {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
