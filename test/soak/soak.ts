// The soak run: a bulk load through `redis-cli --pipe`, then rounds (until the duration is spent)
// of long pipelines from many clients beside clients that half-close, vanish mid-pipeline, read
// slowly or never read, with a shard crash in the middle of each round. Checks: every
// acknowledged write is present, every reply arrived and in order, no connection is left behind,
// the never-reading client is cut off at its output-buffer limit and memory comes back, resident
// memory stays under its bound. Every wait has a deadline; a check that fails throws SoakFailure.
// Run: `npm run soak -- --duration 180 --keys 10000000` (see --help); a short slice runs in
// `npm test` (test/e2e/soak.test.ts). Against redis-server too (`--server redis`), where the
// crash is left out.

import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { ReplyStream, type SoakReply } from './reply-stream.js';
import { encodeCommand, rawClient, startRedis, startTessera, waitFor, withTimeout, plain, type RawClient, type ServerHandle } from '../e2e/harness.js';

export class SoakFailure extends Error {}

export interface SoakOptions {
  server: 'tessera' | 'redis';
  shards: number;
  /** Keys in the bulk load (16-byte keys, 32-byte values). */
  keys: number;
  /** Pipeline clients per round, and the commands each sends. */
  clients: number;
  commandsPerClient: number;
  /** Rounds repeat until this many seconds have passed since the start (at least one round). */
  durationS: number;
  /** client-output-buffer-limit normal, hard = soft, bytes. */
  outputLimitBytes: number;
  /** Resident memory the server must stay under, bytes (sampled). */
  rssLimitBytes: number;
  log: (line: string) => void;
}

export interface BulkLoadResult {
  server: string;
  keys: number;
  seconds: number;
  keysPerSecond: number;
  rssBytes: number;
  rssBytesPerKey: number;
}

export interface SoakReport {
  bulk: BulkLoadResult;
  rounds: number;
  commands: number;
  crashErrors: number;
  peakRssBytes: number;
  neverReaderPeakGrowthBytes: number;
  seconds: number;
}

const WINDOW_COMMANDS = 1000;
const WINDOWS_IN_FLIGHT = 8;
const SAMPLE_KEYS = 20_000;
const MGET_CHUNK = 1000;
const RSS_SAMPLE_MS = 100;
const BIG_VALUE_BYTES = 1024 * 1024;
/** The never-reading client's replies: far past any output limit the soak sets. */
const NEVER_READER_GETS = 200;
/** What the never-reading client may cost past its limit: kernel socket buffers, one reply in
 * copy on its way, allocator slack; the 10x-late enforcement would pass 80 MB. */
// The peak may pass the output limit by the replies in flight beside the shard's reply ring (at
// most 16 MiB, shard-runtime.ts) and by garbage not yet collected; a server that buffered the whole
// pipeline (NEVER_READER_GETS x 1 MB) is far beyond.
const NEVER_READER_SLACK_BYTES = 64 * 1024 * 1024;
const SLOW_READER_GETS = 3000;
const SLOW_VALUE_BYTES = 1024;
const HALF_CLOSE_COMMANDS = 10_000;
const VANISH_COMMANDS = 100_000;

// ---------------------------------------------------------------------------------------------
// Keys and values

/** Key i of the bulk load: 16 bytes. */
export const bulkKey = (i: number): string => `key:${String(i).padStart(12, '0')}`;
/** Value i of the bulk load: 32 bytes. */
export const bulkValue = (i: number): string => `val:${String(i).padStart(12, '0')}`.padEnd(32, '.');

function fail(what: string): never {
  throw new SoakFailure(what);
}

// ---------------------------------------------------------------------------------------------
// Resident memory

export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS until stopped; keeps the peak. */
class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
  }
  sample(): number {
    let v = 0;
    try {
      v = rssBytes(this.pid);
    } catch {
      // the process is gone: the checks that follow say so
    }
    this.peak = Math.max(this.peak, v);
    return v;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Bulk load through redis-cli --pipe

/** Streams `count` SETs (keys bulkKey(from..)) into `redis-cli --pipe` and checks its summary. */
export async function pipeLoad(port: number, from: number, count: number, deadlineMs: number): Promise<number> {
  const started = performance.now();
  const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let closed = false;
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new SoakFailure(`redis-cli could not run (is it installed?): ${err.message}`)));
    child.on('close', (code) => {
      closed = true;
      child.stdin.emit('drain');
      resolve(code);
    });
  });
  child.stdin.on('error', () => undefined);
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, deadlineMs);
  try {
    const CHUNK = 10_000;
    for (let i = from; i < from + count; i += CHUNK) {
      const parts: string[] = [];
      for (let j = i; j < Math.min(from + count, i + CHUNK); j++) {
        parts.push(`*3\r\n$3\r\nSET\r\n$16\r\n${bulkKey(j)}\r\n$32\r\n${bulkValue(j)}\r\n`);
      }
      if (!child.stdin.write(parts.join('')) && !closed) {
        // A redis-cli that exited early wakes this too (its 'close' emits 'drain').
        await new Promise<void>((resolve) => child.stdin.once('drain', resolve));
      }
      if (closed) break;
    }
    child.stdin.end();
    const code = await exited;
    const m = /errors: (\d+), replies: (\d+)/.exec(out);
    if (code !== 0 || m === null || m[1] !== '0' || Number(m[2]) !== count) {
      fail(`redis-cli --pipe of ${count} keys: exit ${code}, output ${JSON.stringify(out.slice(-400))}` +
        (performance.now() - started >= deadlineMs ? ` (killed after ${deadlineMs} ms: the load stalled)` : ''));
    }
  } finally {
    clearTimeout(timer);
  }
  return (performance.now() - started) / 1000;
}

/** MGETs `indexes` of the bulk load in chunks; every one must hold its value. */
async function checkBulkKeys(c: RawClient, indexes: number[]): Promise<void> {
  for (let s = 0; s < indexes.length; s += MGET_CHUNK) {
    const chunk = indexes.slice(s, s + MGET_CHUNK);
    const got = plain((await c.call(['MGET', ...chunk.map(bulkKey)], 30_000)).value);
    if (!Array.isArray(got)) fail(`MGET of bulk keys replied ${JSON.stringify(got)}`);
    chunk.forEach((i, j) => {
      if (got[j] !== bulkValue(i)) fail(`${bulkKey(i)}: expected ${bulkValue(i)}, got ${JSON.stringify(got[j])}`);
    });
  }
}

export async function bulkLoad(server: ServerHandle, keys: number, log: (s: string) => void): Promise<BulkLoadResult> {
  const deadlineMs = Math.max(60_000, keys / 20); // 20K keys/s at the slowest
  const seconds = await pipeLoad(server.port, 0, keys, deadlineMs);
  const c = await rawClient(server.port);
  try {
    const size = (await c.call(['DBSIZE'])).text;
    if (size !== `:${keys}\r\n`) fail(`after loading ${keys} keys DBSIZE is ${size.trim()}`);
    const sample = Array.from({ length: Math.min(SAMPLE_KEYS, keys) }, (_, k) => Math.floor((k * keys) / Math.min(SAMPLE_KEYS, keys)));
    await checkBulkKeys(c, sample);
  } finally {
    c.close();
  }
  const rss = rssBytes(server.pid);
  const r = { server: server.kind, keys, seconds, keysPerSecond: keys / seconds, rssBytes: rss, rssBytesPerKey: rss / keys };
  log(`bulk load (${server.kind}): ${keys} keys in ${seconds.toFixed(2)} s, ${Math.round(r.keysPerSecond)} keys/s, RSS ${(rss / 1048576).toFixed(0)} MB, ${r.rssBytesPerKey.toFixed(1)} B/key`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Well-behaved pipeline clients

interface PipelineResult {
  commands: number;
  crashErrors: number;
  /** Indexes i whose SET was acknowledged. */
  acked: number[];
}

/** Sends `n` commands in rounds of three (SET p:R:C:i, INCR n:R:C, GET p:R:C:i), at most
 * WINDOWS_IN_FLIGHT windows ahead of the replies, and checks each reply against its command:
 * the INCR counter proves the order; a shard crash may answer any command with its error. */
async function pipelineClient(port: number, round: number, id: number, n: number, deadlineMs: number, onHalf: () => void): Promise<PipelineResult> {
  const sock = await openSocket(port);
  const acked: number[] = [];
  let crashErrors = 0;
  let replies = 0;
  let sent = 0;
  let counter = 0;
  let uncertain = 0;
  let setAcked = false;
  let halfSignalled = false;
  let failure: Error | null = null;
  const key = (i: number): string => `p:${round}:${id}:${i}`;
  const val = (i: number): string => `v:${round}:${id}:${i}`;
  const onReply = (r: SoakReply): void => {
    const k = replies++;
    const i = Math.floor(k / 3);
    const what = `client ${id} reply ${k}`;
    const crashed = r.kind === 'error' && /^ERR shard \d+ crashed/.test(r.text);
    if (crashed) crashErrors++;
    switch (k % 3) {
      case 0:
        setAcked = r.kind === 'simple' && r.text === 'OK';
        if (setAcked) acked.push(i);
        else if (!crashed) throw new SoakFailure(`${what} (SET): ${JSON.stringify(r)}`);
        break;
      case 1:
        if (crashed) {
          uncertain++;
        } else if (r.kind === 'integer' && r.value > counter && r.value <= counter + 1 + uncertain) {
          counter = r.value;
          uncertain = 0;
        } else {
          throw new SoakFailure(`${what} (INCR): ${JSON.stringify(r)} after ${counter} (+${uncertain} unknown): out of order`);
        }
        break;
      default:
        if (crashed) break;
        if (r.kind !== 'bulk') throw new SoakFailure(`${what} (GET): ${JSON.stringify(r)}`);
        if (setAcked && r.value?.toString() !== val(i)) throw new SoakFailure(`${what} (GET ${key(i)}): ${JSON.stringify(r.value?.toString())} after its SET was acknowledged`);
    }
    if (!halfSignalled && replies * 2 >= n) {
      halfSignalled = true;
      onHalf();
    }
  };
  const stream = new ReplyStream(onReply);
  const done = new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (sent < n && sent - replies < WINDOW_COMMANDS * WINDOWS_IN_FLIGHT) {
        const parts: Buffer[] = [];
        const end = Math.min(n, sent + WINDOW_COMMANDS);
        for (; sent < end; sent++) {
          const i = Math.floor(sent / 3);
          const cmd = sent % 3 === 0 ? ['SET', key(i), val(i)] : sent % 3 === 1 ? ['INCR', `n:${round}:${id}`] : ['GET', key(i)];
          parts.push(encodeCommand(cmd));
        }
        sock.write(Buffer.concat(parts));
      }
    };
    sock.on('data', (chunk: Buffer) => {
      try {
        stream.feed(chunk);
      } catch (err) {
        failure = err as Error;
        sock.destroy();
        reject(err);
        return;
      }
      if (replies === n) resolve();
      else pump();
    });
    sock.on('close', () => reject(failure ?? new SoakFailure(`client ${id}: connection closed after ${replies} of ${n} replies`)));
    sock.on('error', () => undefined);
    pump();
  });
  try {
    await withTimeout(done, deadlineMs, `client ${id}'s ${n} commands (${replies} replies by then)`);
  } finally {
    sock.destroy();
  }
  return { commands: n, crashErrors, acked };
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// Misbehaving clients

/** Sends its commands and shuts down its write side: it must get every reply, in order, and then
 * the server's FIN. Returns the keys whose SET was acknowledged. */
async function halfCloseClient(port: number, round: number, deadlineMs: number): Promise<number[]> {
  const sock = await openSocket(port);
  const acked: number[] = [];
  let n = 0;
  const stream = new ReplyStream((r) => {
    const i = n++;
    if (r.kind === 'simple' && r.text === 'OK') acked.push(i);
    else if (!(r.kind === 'error' && /^ERR shard \d+ crashed/.test(r.text))) throw new SoakFailure(`half-close client reply ${i}: ${JSON.stringify(r)}`);
  });
  const parts: Buffer[] = [];
  for (let i = 0; i < HALF_CLOSE_COMMANDS; i++) parts.push(encodeCommand(['SET', `h:${round}:${i}`, String(i)]));
  const ended = new Promise<void>((resolve, reject) => {
    sock.on('data', (c: Buffer) => {
      try {
        stream.feed(c);
      } catch (err) {
        reject(err);
      }
    });
    sock.on('end', () => resolve());
    sock.on('error', (err) => reject(err));
  });
  sock.end(Buffer.concat(parts));
  try {
    await withTimeout(ended, deadlineMs, `half-closed client's ${HALF_CLOSE_COMMANDS} replies (${n} by then)`);
  } finally {
    sock.destroy();
  }
  if (n !== HALF_CLOSE_COMMANDS) fail(`half-closed client got ${n} of ${HALF_CLOSE_COMMANDS} replies before the server's FIN`);
  return acked;
}

/** Sends a long pipeline and vanishes after the first replies arrive. */
async function vanishingClient(port: number, deadlineMs: number): Promise<void> {
  const sock = await openSocket(port);
  const parts: Buffer[] = [];
  for (let i = 0; i < VANISH_COMMANDS; i++) parts.push(encodeCommand(['GET', bulkKey(i)]));
  const firstData = new Promise<void>((resolve) => sock.once('data', () => resolve()));
  sock.on('error', () => undefined);
  sock.write(Buffer.concat(parts));
  await withTimeout(firstData, deadlineMs, 'vanishing client: first reply');
  sock.destroy();
}

/** Reads one chunk, then pauses; every reply arrives, in order, however slowly it reads. */
async function slowReader(port: number, deadlineMs: number): Promise<void> {
  const sock = await openSocket(port);
  let n = 0;
  const want = 'S'.repeat(SLOW_VALUE_BYTES);
  const stream = new ReplyStream((r) => {
    n++;
    if (r.kind !== 'bulk' || r.value?.toString() !== want) throw new SoakFailure(`slow reader reply ${n}: ${JSON.stringify(r).slice(0, 200)}`);
  });
  const parts: Buffer[] = [];
  for (let i = 0; i < SLOW_READER_GETS; i++) parts.push(encodeCommand(['GET', 'soak:slow']));
  const done = new Promise<void>((resolve, reject) => {
    sock.on('data', (c: Buffer) => {
      try {
        stream.feed(c);
      } catch (err) {
        reject(err);
        return;
      }
      if (n === SLOW_READER_GETS) resolve();
      sock.pause();
      setTimeout(() => sock.resume(), 5);
    });
    sock.on('close', () => reject(new SoakFailure(`slow reader: closed after ${n} of ${SLOW_READER_GETS} replies`)));
    sock.on('error', () => undefined);
  });
  sock.write(Buffer.concat(parts));
  try {
    await withTimeout(done, deadlineMs, `slow reader (${n} replies by then)`);
  } finally {
    sock.destroy();
  }
}

/** The server's count of its clients (INFO clients). */
async function connectedClients(c: RawClient): Promise<number> {
  const info = String(plain((await c.call(['INFO', 'clients'])).value));
  return Number(/^connected_clients:(\d+)/m.exec(info)?.[1] ?? NaN);
}

/** Never reads: pipelines GETs of a 1 MB value; the server must cut it at its output-buffer
 * limit, and its memory must come back. Returns the RSS growth it caused at its peak. */
async function neverReader(server: ServerHandle, admin: RawClient, limitBytes: number, deadlineMs: number): Promise<number> {
  const base = rssBytes(server.pid);
  const sampler = new RssSampler(server.pid);
  const sock = await openSocket(server.port);
  sock.pause();
  sock.on('error', () => undefined);
  const local = `127.0.0.1:${sock.localPort}`;
  const parts: Buffer[] = [];
  for (let i = 0; i < NEVER_READER_GETS; i++) parts.push(encodeCommand(['GET', 'soak:big']));
  sock.write(Buffer.concat(parts));
  try {
    await waitFor(
      `the never-reading client ${local} to be cut off at its output limit`,
      async () => !String(plain((await admin.call(['CLIENT', 'LIST'])).value)).includes(`addr=${local} `),
      deadlineMs,
      50,
    );
  } finally {
    sock.destroy();
    sampler.stop();
  }
  const growth = sampler.peak - base;
  const back = await waitFor('memory back after the never-reading client', () => rssBytes(server.pid) <= base + NEVER_READER_SLACK_BYTES, deadlineMs, 100)
    .then(() => true, () => false);
  const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MB`;
  const after = `RSS ${mb(base)} before, ${mb(rssBytes(server.pid))} ${deadlineMs / 1000} s after it was cut`;
  if (growth > limitBytes + NEVER_READER_SLACK_BYTES) fail(`a client that never reads grew the server by ${mb(growth)} over a ${mb(limitBytes)} output limit (${after})`);
  if (!back) fail(`memory did not come back after the never-reading client (${after})`);
  return growth;
}

// ---------------------------------------------------------------------------------------------
// The run

async function shardRestarts(c: RawClient): Promise<number> {
  const info = String(plain((await c.call(['INFO', 'stats'])).value));
  return Number(/^shard_restarts:(\d+)/m.exec(info)?.[1] ?? NaN);
}

export async function soak(o: SoakOptions): Promise<SoakReport> {
  const started = performance.now();
  const limitArg = `normal ${o.outputLimitBytes} ${o.outputLimitBytes} 0`;
  const server = o.server === 'redis'
    ? await startRedis({ args: ['--client-output-buffer-limit', limitArg] })
    : await startTessera({ shards: o.shards, args: ['--client-output-buffer-limit', limitArg] });
  const sampler = new RssSampler(server.pid);
  const admin = await rawClient(server.port);
  try {
    const bulk = await bulkLoad(server, o.keys, o.log);
    const ok = async (args: string[]): Promise<void> => {
      const r = await admin.call(args, 30_000);
      if (r.text !== '+OK\r\n') fail(`${args.join(' ').slice(0, 80)}: ${r.text.slice(0, 200)}`);
    };
    await ok(['SET', 'soak:big', 'B'.repeat(BIG_VALUE_BYTES)]);
    await ok(['SET', 'soak:slow', 'S'.repeat(SLOW_VALUE_BYTES)]);
    const roundDeadlineMs = Math.max(60_000, o.clients * o.commandsPerClient / 10);
    let rounds = 0;
    let commands = 0;
    let crashErrors = 0;
    let neverGrowth = 0;
    do {
      const round = rounds++;
      const crashes = o.server === 'tessera' ? await shardRestarts(admin) : 0;
      let crashed: Promise<void> = Promise.resolve();
      let halfway = 0;
      const onHalf = (): void => {
        if (++halfway !== Math.ceil(o.clients / 2) || o.server !== 'tessera') return;
        // Half the clients are halfway: crash a shard under them.
        crashed = (async () => {
          await ok(['DEBUG', 'SHARD-CRASH', String(round % o.shards)]);
          await waitFor('the crashed shard back', async () => (await shardRestarts(admin)) === crashes + 1, 30_000);
        })();
      };
      const clients = Array.from({ length: o.clients }, (_, id) => pipelineClient(server.port, round, id, o.commandsPerClient, roundDeadlineMs, onHalf));
      const misbehaving = Promise.all([halfCloseClient(server.port, round, roundDeadlineMs), vanishingClient(server.port, roundDeadlineMs), slowReader(server.port, roundDeadlineMs)]);
      const results = await Promise.all(clients);
      const [halfAcked] = await misbehaving;
      await crashed;
      for (const r of results) {
        commands += r.commands;
        crashErrors += r.crashErrors;
      }
      // Every acknowledged write is there (after the crash and restart).
      for (let id = 0; id < results.length; id++) {
        const acked = results[id]!.acked;
        for (let s = 0; s < acked.length; s += MGET_CHUNK) {
          const idx = acked.slice(s, s + MGET_CHUNK);
          const got = plain((await admin.call(['MGET', ...idx.map((i) => `p:${round}:${id}:${i}`)], 30_000)).value);
          if (!Array.isArray(got)) fail(`MGET replied ${JSON.stringify(got)}`);
          idx.forEach((i, j) => {
            if (got[j] !== `v:${round}:${id}:${i}`) fail(`p:${round}:${id}:${i}: acknowledged, now ${JSON.stringify(got[j])}`);
          });
        }
      }
      for (let s = 0; s < halfAcked.length; s += MGET_CHUNK) {
        const idx = halfAcked.slice(s, s + MGET_CHUNK);
        const got = plain((await admin.call(['MGET', ...idx.map((i) => `h:${round}:${i}`)], 30_000)).value);
        if (!Array.isArray(got)) fail(`MGET replied ${JSON.stringify(got)}`);
        idx.forEach((i, j) => {
          if (got[j] !== String(i)) fail(`h:${round}:${i}: acknowledged to the half-closed client, now ${JSON.stringify(got[j])}`);
        });
      }
      neverGrowth = Math.max(neverGrowth, await neverReader(server, admin, o.outputLimitBytes, 30_000));
      // No connection left behind: the admin's is the only one.
      await waitFor('connections back to the soak\'s own one', async () => (await connectedClients(admin)) === 1, 15_000)
        .catch(async () => fail(`connections left behind: ${String(plain((await admin.call(['CLIENT', 'LIST'])).value))}`));
      if (sampler.peak > o.rssLimitBytes) fail(`RSS peaked at ${(sampler.peak / 1048576).toFixed(0)} MB, over the ${(o.rssLimitBytes / 1048576).toFixed(0)} MB bound`);
      o.log(`round ${round}: ${o.clients} x ${o.commandsPerClient} commands, ${results.reduce((n, r) => n + r.crashErrors, 0)} shard-crash errors, never-reader peak +${(neverGrowth / 1048576).toFixed(0)} MB, RSS peak ${(sampler.peak / 1048576).toFixed(0)} MB`);
    } while ((performance.now() - started) / 1000 < o.durationS);
    // The bulk-loaded keys outlived every round and crash.
    const sample = Array.from({ length: Math.min(SAMPLE_KEYS, o.keys) }, (_, k) => Math.floor(((k + 0.5) * o.keys) / Math.min(SAMPLE_KEYS, o.keys)));
    await checkBulkKeys(admin, sample);
    return { bulk, rounds, commands, crashErrors, peakRssBytes: sampler.peak, neverReaderPeakGrowthBytes: neverGrowth, seconds: (performance.now() - started) / 1000 };
  } finally {
    sampler.stop();
    admin.close();
    await server.stop();
  }
}
