// End-to-end harness: spawns real Tessera and redis-server processes on free loopback ports,
// waits for them to answer PING (with a deadline), and kills every process it spawned by pid
// when asked, and again on the test process's exit. Also a small raw RESP client that sends
// exact bytes and reads exactly N complete replies (RESP2 and RESP3, nested), keeping each
// reply's raw bytes so that tests can compare servers byte for byte.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where `tsc` puts the server entry point, relative to this file's compiled form. */
export const TESSERA_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const START_DEADLINE_MS = 15_000;
const STOP_DEADLINE_MS = 10_000;
const POLL_INTERVAL_MS = 25;
const OUTPUT_KEEP_CHARS = 64 * 1024;
const PORT_ATTEMPTS = 5;

// ---------------------------------------------------------------------------------------------
// Small utilities

export class TimeoutError extends Error {}

/** Resolves or rejects like `promise`, or rejects with a TimeoutError after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A pause between two polls of a condition; never used to wait for an effect by itself. */
function pollPause(ms = POLL_INTERVAL_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws after
 * `deadlineMs` with `what` and the last value seen. Errors thrown by `check` are retried.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  deadlineMs = 10_000,
  intervalMs = POLL_INTERVAL_MS,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new TimeoutError(`waiting for ${what}: no success within ${deadlineMs} ms (last: ${detail})`);
    }
    await pollPause(intervalMs);
  }
}

/** Ports this process has handed out: the OS may give a just-closed port again, and a test that
 * starts several nodes at once (a cluster's ports and bus ports) would then start two on one port
 * (seen as an intermittent failure of the cluster partition test's six-node start). */
const handedOut = new Set<number>();

/** A TCP port that was free a moment ago and that this process has not handed out before (the
 * OS picks it; the caller retries on a clash with another process). */
export async function freePort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = await osFreePort();
    if (!handedOut.has(port) || tries >= 20) {
      handedOut.add(port);
      return port;
    }
  }
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

const live = new Set<ChildProcess>();

process.on('exit', () => {
  for (const p of live) {
    if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export interface ServerHandle {
  kind: 'tessera' | 'redis';
  port: number;
  /** The memcached-protocol and HTTP ports when the test asked for them (else 0: disabled). */
  memcachePort: number;
  httpPort: number;
  pid: number;
  proc: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote so far (its tail), for diagnostics. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within the deadline. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  shards?: number;
  args?: string[];
  /** Replaces the default `--loglevel warning`. */
  loglevel?: string;
  /** Open the memcached port on a free port (default: `--memcache-port 0`, off, so that
   * parallel servers never clash). */
  memcache?: boolean;
  /** Open the HTTP port on a free port (default: `--http-port 0`, off). */
  http?: boolean;
}

/** Starts `node dist/src/cli/main.js server` on a free port and waits until it answers PING. */
export function startTessera(opts: StartOptions = {}): Promise<ServerHandle> {
  return startWithRetries('tessera', async (port) => [
    TESSERA_MAIN,
    'server',
    '--port',
    String(port),
    '--shards',
    String(opts.shards ?? 2),
    '--enable-debug-command',
    'yes',
    '--loglevel',
    opts.loglevel ?? 'warning',
    '--memcache-port',
    String(opts.memcache ? await freePort() : 0),
    '--http-port',
    String(opts.http ? await freePort() : 0),
    ...noSaveUnlessAsked(opts.args),
    ...(opts.args ?? []),
  ]);
}

/** Starts Tessera on a given port (e.g. a restart on the port a cluster knows it by). */
export function startTesseraAt(port: number, opts: StartOptions = {}): Promise<ServerHandle> {
  return startOnce('tessera', port, [
    TESSERA_MAIN, 'server', '--port', String(port), '--shards', String(opts.shards ?? 2), '--enable-debug-command', 'yes',
    '--loglevel', opts.loglevel ?? 'warning', '--memcache-port', '0', '--http-port', '0', ...noSaveUnlessAsked(opts.args), ...(opts.args ?? []),
  ]);
}

/** Snapshots are on by default (Redis's save points) and a server loads what it finds in its
 * dir: a test server gets a fresh dir of its own and writes no snapshot unless it asks (`--dir`
 * or `--save` in its arguments), so that no test reads or leaves a dump in the working directory. */
function noSaveUnlessAsked(args: string[] | undefined): string[] {
  if (args?.includes('--dir')) return [];
  const dir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  testDirs.push(dir);
  return args?.includes('--save') ? ['--dir', dir] : ['--save', '', '--dir', dir];
}

const testDirs: string[] = [];
process.on('exit', () => {
  for (const d of testDirs) rmSync(d, { recursive: true, force: true });
});

/** Starts a throwaway redis-server (no persistence) on a free port and waits for PING. */
export function startRedis(opts: { args?: string[] } = {}): Promise<ServerHandle> {
  return startWithRetries('redis', (port) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--loglevel',
    'warning',
    ...(opts.args ?? []),
  ]);
}

async function startWithRetries(kind: 'tessera' | 'redis', argsFor: (port: number) => string[] | Promise<string[]>): Promise<ServerHandle> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await startOnce(kind, port, await argsFor(port));
    } catch (err) {
      lastError = err;
      // Only a port clash is worth another try; anything else is the server's failure.
      const message = err instanceof Error ? err.message : String(err);
      if (!/EADDRINUSE|address already in use/i.test(message)) throw err;
    }
  }
  throw lastError;
}

async function startOnce(kind: 'tessera' | 'redis', port: number, args: string[]): Promise<ServerHandle> {
  const command = kind === 'tessera' ? process.execPath : 'redis-server';
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  const keep = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_KEEP_CHARS * 2) out = out.slice(-OUTPUT_KEEP_CHARS);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
    proc.on('error', (err) => {
      out += `\nspawn error: ${err.message}\n`;
      live.delete(proc);
      resolve({ code: -1, signal: null });
    });
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const portArg = (flag: string): number => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : 0;
  };
  const handle: ServerHandle = {
    kind,
    port,
    memcachePort: portArg('--memcache-port'),
    httpPort: portArg('--http-port'),
    pid: proc.pid ?? -1,
    proc,
    exited,
    output: () => out,
    stop: async () => {
      if (hasExited) return;
      proc.kill('SIGTERM');
      try {
        await withTimeout(exited, STOP_DEADLINE_MS, `${kind} stop`);
      } catch {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };

  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (hasExited) {
      const { code, signal } = await exited;
      throw new Error(`${kind} on port ${port} exited before answering PING (code ${code}, signal ${signal}):\n${out}`);
    }
    if (await pingOnce(port)) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`${kind} on port ${port} did not answer PING within ${START_DEADLINE_MS} ms:\n${out}`);
    }
    await pollPause();
  }
}

/** One connection, one PING; true when it answered +PONG (or -NOAUTH: it is up, just locked). */
async function pingOnce(port: number): Promise<boolean> {
  let client: RawClient | undefined;
  try {
    client = await rawClient(port, 500);
    client.send('*1\r\n$4\r\nPING\r\n');
    const [reply] = await client.read(1, 500);
    return reply !== undefined && (reply.text === '+PONG\r\n' || reply.text.startsWith('-NOAUTH'));
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// RESP

export type RespValue =
  | { type: 'simple'; value: string }
  | { type: 'error'; value: string }
  | { type: 'integer'; value: bigint }
  | { type: 'bulk'; value: Buffer | null }
  | { type: 'array'; value: RespValue[] | null }
  | { type: 'null' }
  | { type: 'double'; value: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'bignum'; value: string }
  | { type: 'bulkError'; value: Buffer }
  | { type: 'verbatim'; format: string; value: Buffer }
  | { type: 'map'; value: Array<[RespValue, RespValue]> }
  | { type: 'set'; value: RespValue[] }
  | { type: 'push'; value: RespValue[] }
  | { type: 'attribute'; attributes: Array<[RespValue, RespValue]>; value: RespValue };

/** One complete reply: its exact bytes and what they mean. */
export interface Reply {
  raw: Buffer;
  /** `raw` as latin1, handy for exact comparisons. */
  text: string;
  value: RespValue;
}

export class RespFormatError extends Error {}

const CRLF = Buffer.from('\r\n');

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

/**
 * Parses one reply starting at `pos`: returns it and where it ends, or null when `buf` does not
 * yet hold all of it. Throws RespFormatError on bytes that cannot be RESP.
 */
export function parseReply(buf: Buffer, pos: number): { value: RespValue; end: number } | null {
  if (pos >= buf.length) return null;
  const lineEnd = buf.indexOf(CRLF, pos);
  if (lineEnd < 0) return null;
  const prefix = String.fromCharCode(buf[pos]!);
  const line = buf.toString('latin1', pos + 1, lineEnd);
  const next = lineEnd + 2;
  const int = (): number => {
    if (!/^-?\d+$/.test(line)) throw new RespFormatError(`bad length ${JSON.stringify(line)} after '${prefix}'`);
    return Number(line);
  };
  const blob = (): { data: Buffer; end: number } | null => {
    const n = int();
    if (buf.length < next + n + 2) return null;
    if (buf[next + n] !== 13 || buf[next + n + 1] !== 10) throw new RespFormatError(`blob of ${n} not followed by CRLF`);
    return { data: buf.subarray(next, next + n), end: next + n + 2 };
  };
  const many = (count: number, at: number): { items: RespValue[]; end: number } | null => {
    const items: RespValue[] = [];
    let p = at;
    for (let i = 0; i < count; i++) {
      const r = parseReply(buf, p);
      if (r === null) return null;
      items.push(r.value);
      p = r.end;
    }
    return { items, end: p };
  };
  const pairs = (items: RespValue[]): Array<[RespValue, RespValue]> => {
    const out: Array<[RespValue, RespValue]> = [];
    for (let i = 0; i < items.length; i += 2) out.push([items[i]!, items[i + 1]!]);
    return out;
  };
  switch (prefix) {
    case '+':
      return { value: { type: 'simple', value: line }, end: next };
    case '-':
      return { value: { type: 'error', value: line }, end: next };
    case ':':
      if (!/^-?\d+$/.test(line)) throw new RespFormatError(`bad integer ${JSON.stringify(line)}`);
      return { value: { type: 'integer', value: BigInt(line) }, end: next };
    case '_':
      return { value: { type: 'null' }, end: next };
    case ',':
      return { value: { type: 'double', value: line }, end: next };
    case '#':
      if (line !== 't' && line !== 'f') throw new RespFormatError(`bad boolean ${JSON.stringify(line)}`);
      return { value: { type: 'boolean', value: line === 't' }, end: next };
    case '(':
      return { value: { type: 'bignum', value: line }, end: next };
    case '$': {
      if (line === '-1') return { value: { type: 'bulk', value: null }, end: next };
      const b = blob();
      return b && { value: { type: 'bulk', value: Buffer.from(b.data) }, end: b.end };
    }
    case '!': {
      const b = blob();
      return b && { value: { type: 'bulkError', value: Buffer.from(b.data) }, end: b.end };
    }
    case '=': {
      const b = blob();
      if (b === null) return null;
      return {
        value: { type: 'verbatim', format: b.data.toString('latin1', 0, 3), value: Buffer.from(b.data.subarray(4)) },
        end: b.end,
      };
    }
    case '*': {
      if (line === '-1') return { value: { type: 'array', value: null }, end: next };
      const m = many(int(), next);
      return m && { value: { type: 'array', value: m.items }, end: m.end };
    }
    case '~':
    case '>': {
      const m = many(int(), next);
      return m && { value: { type: prefix === '~' ? 'set' : 'push', value: m.items }, end: m.end };
    }
    case '%': {
      const m = many(int() * 2, next);
      return m && { value: { type: 'map', value: pairs(m.items) }, end: m.end };
    }
    case '|': {
      const m = many(int() * 2, next);
      if (m === null) return null;
      const inner = parseReply(buf, m.end);
      return inner && { value: { type: 'attribute', attributes: pairs(m.items), value: inner.value }, end: inner.end };
    }
    default:
      throw new RespFormatError(`unknown reply type byte ${JSON.stringify(prefix)} at ${JSON.stringify(buf.toString('latin1', pos, pos + 40))}`);
  }
}

/**
 * A reply as plain JS, for assertions: simple/bulk/verbatim/double/bignum → string, integer →
 * number (bigint when unsafe), null → null, error → { error }, arrays/sets/pushes → arrays,
 * maps → arrays of [key, value] pairs, boolean → boolean.
 */
export type Plain = string | number | bigint | boolean | null | { error: string } | Plain[];
export function plain(v: RespValue): Plain {
  switch (v.type) {
    case 'simple':
    case 'double':
    case 'bignum':
      return v.value;
    case 'error':
      return { error: v.value };
    case 'bulkError':
      return { error: v.value.toString('utf8') };
    case 'integer':
      return v.value >= BigInt(Number.MIN_SAFE_INTEGER) && v.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.value) : v.value;
    case 'bulk':
      return v.value === null ? null : v.value.toString('utf8');
    case 'verbatim':
      return v.value.toString('utf8');
    case 'array':
      return v.value === null ? null : v.value.map(plain);
    case 'null':
      return null;
    case 'boolean':
      return v.value;
    case 'set':
    case 'push':
      return v.value.map(plain);
    case 'map':
      return v.value.map(([k, x]) => [plain(k), plain(x)]);
    case 'attribute':
      return plain(v.value);
  }
}

// ---------------------------------------------------------------------------------------------
// Raw client

export interface RawClient {
  socket: Socket;
  /** Writes exact bytes (a string is encoded as UTF-8). */
  send(data: string | Buffer): void;
  /** Sends one command as a RESP multibulk. */
  sendCommand(...args: Array<string | Buffer>): void;
  /** Resolves with the next `n` complete replies; rejects on timeout or when the peer closes first. */
  read(n: number, timeoutMs?: number): Promise<Reply[]>;
  /** Sends one command and reads its reply. */
  call(args: Array<string | Buffer>, timeoutMs?: number): Promise<Reply>;
  /** Replies parsed but not yet read. */
  pending(): number;
  /** Resolves when the server has closed the connection (or rejects on timeout). */
  waitClosed(timeoutMs?: number): Promise<void>;
  isClosed(): boolean;
  close(): void;
}

const DEFAULT_READ_TIMEOUT_MS = 5_000;

/** Connects a raw RESP client to 127.0.0.1:`port`. */
export function rawClient(port: number, connectTimeoutMs = 5_000): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    const queue: Reply[] = [];
    let closed = false;
    let failure: Error | undefined;
    let waiter: { n: number; resolve: (r: Reply[]) => void; reject: (e: Error) => void } | undefined;
    let resolveClosed!: () => void;
    const closedPromise = new Promise<void>((r) => (resolveClosed = r));

    const settle = (): void => {
      if (waiter === undefined) return;
      if (queue.length >= waiter.n) {
        const w = waiter;
        waiter = undefined;
        w.resolve(queue.splice(0, w.n));
      } else if (failure !== undefined || closed) {
        const w = waiter;
        waiter = undefined;
        w.reject(
          failure ??
            new Error(`connection closed after ${queue.length} of ${w.n} replies` +
              (buf.length ? `; unparsed bytes: ${JSON.stringify(buf.toString('latin1', 0, 200))}` : '')),
        );
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let pos = 0;
      try {
        for (;;) {
          const r = parseReply(buf, pos);
          if (r === null) break;
          const raw = Buffer.from(buf.subarray(pos, r.end));
          queue.push({ raw, text: raw.toString('latin1'), value: r.value });
          pos = r.end;
        }
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
      buf = pos === 0 ? buf : buf.subarray(pos);
      settle();
    });
    socket.on('close', () => {
      closed = true;
      resolveClosed();
      settle();
    });
    socket.on('error', (err) => {
      if (!connected) reject(err);
      failure ??= err;
      settle();
    });
    let connected = false;
    const connectTimer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`connect to ${port} timed out`));
    }, connectTimeoutMs);
    socket.on('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      const client: RawClient = {
        socket,
        send: (data) => {
          socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
        },
        sendCommand: (...args) => {
          socket.write(encodeCommand(args));
        },
        read: (n, timeoutMs = DEFAULT_READ_TIMEOUT_MS) => {
          if (waiter !== undefined) return Promise.reject(new Error('read already in progress'));
          const p = new Promise<Reply[]>((res, rej) => (waiter = { n, resolve: res, reject: rej }));
          settle();
          return withTimeout(p, timeoutMs, `reading ${n} replies (got ${queue.length})`).catch((err: unknown) => {
            waiter = undefined;
            throw err;
          });
        },
        call: async (args, timeoutMs) => {
          client.sendCommand(...args);
          const [r] = await client.read(1, timeoutMs);
          return r!;
        },
        pending: () => queue.length,
        waitClosed: (timeoutMs = DEFAULT_READ_TIMEOUT_MS) => withTimeout(closedPromise, timeoutMs, 'waiting for the server to close'),
        isClosed: () => closed,
        close: () => {
          socket.destroy();
        },
      };
      resolve(client);
    });
  });
}

/** JSON-escaped bytes, for readable failure messages. */
export function show(b: Buffer | string, max = 300): string {
  const s = typeof b === 'string' ? b : b.toString('latin1');
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…(${s.length} bytes)` : s);
}

/** Throws, naming the Debian package, when an external tool a test needs is not on PATH: such a
 * test fails with that message, it never passes without having run. */
export function requireTool(name: string, probeArgs: string[], debianPackage: string): void {
  const r = spawnSync(name, probeArgs, { stdio: 'ignore' });
  if (r.error) throw new Error(`${name} is needed by this test and was not found on PATH: install Debian's ${debianPackage} (.ci/run does)`);
}

/** Runs redis-cli with `args`; resolves with its exit code and output (rejects on timeout). */
export function redisCli(
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const p = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', (err) => {
      live.delete(child);
      reject(err);
    });
    child.on('close', (code) => {
      live.delete(child);
      if (timedOut) reject(new TimeoutError(`redis-cli ${args.join(' ')} timed out; stdout: ${stdout.slice(-500)}`));
      else resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {
      // the cli may exit before reading all input; its exit code tells
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
    timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 30_000);
  });
  return p.finally(() => clearTimeout(timer));
}

/** Asserts that `promise` rejects with an error whose message matches `pattern`. */
export async function expectReject(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!pattern.test(message)) throw new Error(`rejected with ${JSON.stringify(message)}, expected ${pattern}`);
    return;
  }
  throw new Error(`expected a rejection matching ${pattern}, got ${JSON.stringify(result)}`);
}

/**
 * The server under test: Tessera, or redis-server when E2E_SERVER=redis (to check that a test
 * asserts real Redis behaviour). Options are Redis option names, so they pass through; the
 * shard count only applies to Tessera.
 */
export function startTarget(opts: StartOptions = {}): Promise<ServerHandle> {
  if (againstRedis()) return startRedis({ args: opts.args ?? [] });
  return startTessera(opts);
}

/** True when the tests run against redis-server (E2E_SERVER=redis) instead of Tessera. */
export function againstRedis(): boolean {
  return process.env['E2E_SERVER'] === 'redis';
}

/** Runs the tessera CLI (`node dist/src/cli/main.js ARGS`); resolves with its exit code and its
 * output (killed after 60 s). */
export function runTesseraCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TESSERA_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** A cluster-enabled Tessera node on loopback, as the cluster tests start them. */
export interface ClusterNode {
  handle: ServerHandle;
  port: number;
  busPort: number;
  dir: string;
}

export interface ClusterNodeOptions {
  nodeTimeoutMs: number;
  /** A node coming back gets its old ports and data directory; fresh ones are picked otherwise. */
  port?: number;
  busPort?: number;
  dir?: string;
  /** Receives each fresh data directory, for the caller's cleanup. */
  createdDirs?: string[];
  shards?: number;
  extra?: string[];
}

/** Starts a cluster node; a fresh data directory is removed again if the node fails to start. */
export async function startClusterNode(o: ClusterNodeOptions): Promise<ClusterNode> {
  const port = o.port ?? (await freePort());
  const busPort = o.busPort ?? (await freePort());
  const fresh = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
  let handle: ServerHandle;
  try {
    handle = await startTesseraAt(port, {
      ...(o.shards !== undefined ? { shards: o.shards } : {}),
      args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-node-timeout', String(o.nodeTimeoutMs), '--dir', dir, ...(o.extra ?? [])],
    });
  } catch (err) {
    if (fresh) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  if (fresh) o.createdDirs?.push(dir);
  return { handle, port, busPort, dir };
}

/** One command over a fresh ioredis connection (no retries); the reply in ioredis's shapes. */
export async function commandOnce(port: number, ...args: Array<string | number | Buffer>): Promise<unknown> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(String(args[0]), ...args.slice(1).map((a) => (Buffer.isBuffer(a) ? a : String(a))));
  } finally {
    r.disconnect();
  }
}

/** A child process as the tests watch it: its last 20,000 characters of output, whether it has
 * exited, and a stop that sends SIGTERM, then SIGKILL past deadlineMs (by its pid). */
export interface WatchedProcess {
  output(): string;
  gone(): boolean;
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

export function watchProcess(proc: ChildProcess, what: string, deadlineMs: number): WatchedProcess {
  let out = '';
  const keep = (c: Buffer): void => {
    out = (out + c.toString('utf8')).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    proc.on('exit', () => {
      gone = true;
      resolve();
    });
    proc.on('error', (e) => {
      out += `spawn error: ${e.message}`;
      gone = true;
      resolve();
    });
  });
  return {
    output: () => out,
    gone: () => gone,
    exited,
    stop: async () => {
      if (gone || proc.pid === undefined) return;
      process.kill(proc.pid, 'SIGTERM');
      try {
        await withTimeout(exited, deadlineMs, what);
      } catch {
        process.kill(proc.pid, 'SIGKILL');
        await exited;
      }
    },
  };
}
