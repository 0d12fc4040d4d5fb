// Network fuzzing against a real server process (the e2e harness's startTessera, with its memcached
// and HTTP ports open): several connections at once send seeded inputs of every front door (RESP,
// memcached text, meta and binary, HTTP), whole or in pieces, half-closing or vanishing, while a
// well-behaved RESP client and a well-behaved memcached client write and read back their own keys.
// Then a short maxclients phase: the limit lowered so that new connections are refused, and
// clients that reset (SO_LINGER 0) their refused connections on every door. Afterwards: the process
// is alive, the good clients got every reply right, no RESP connection is left behind, RSS came back
// near its level, no shard restarted, and every shard's arena passes DEBUG INTEGRITY. Inputs are replayable by (seed, index); the ones in flight when something broke
// are printed with their bytes.

import { connect, type Socket } from 'node:net';
import { rawClient, startTessera, waitFor, type RawClient, type ServerHandle } from '../e2e/harness.js';
import { httpInput } from './gen-http.js';
import { memcacheInput, tameBinary, tameText } from './gen-memcache.js';
import { respInput } from './gen-resp.js';
import { inputSeed, Prng, splitRandomly } from './prng.js';

export const NET_PROTOCOLS = ['resp', 'mc-text', 'mc-meta', 'mc-binary', 'http'] as const;
export type NetProtocol = (typeof NET_PROTOCOLS)[number];

export interface NetOptions {
  seed: number;
  durationMs: number;
  /** Fuzzing connections open at once. */
  connections?: number;
  shards?: number;
}

export interface NetReport {
  seed: number;
  inputs: Record<NetProtocol, number>;
  ms: number;
  goodOps: number;
  /** Connections refused at maxclients and then reset by their client, and RESP refusals read. */
  resets: number;
  refusalsSeen: number;
  problems: string[];
}

/** Longest a fuzzing connection waits for the server after its last byte, before it vanishes. */
const LINGER_MS = 100;
const CHECK_DEADLINE_MS = 10_000;
const RSS_SLACK_BYTES = 96 * 1024 * 1024;
const RECENT_KEEP = 32;

export interface NetInput {
  protocol: NetProtocol;
  bytes: Buffer;
  chunks: Buffer[];
  halfClose: boolean;
}

/** Input `index` of a network run seeded `seed`: its protocol, bytes, pieces and ending. */
export function netInput(seed: number, index: number): NetInput {
  const r = new Prng(inputSeed(seed, index));
  const protocol = r.pick(NET_PROTOCOLS);
  let bytes: Buffer;
  switch (protocol) {
    case 'resp':
      bytes = respInput(r).bytes;
      break;
    case 'mc-text':
      bytes = tameText(memcacheInput(r, 'text'));
      break;
    case 'mc-meta':
      bytes = tameText(memcacheInput(r, 'meta'));
      break;
    case 'mc-binary':
      bytes = tameBinary(memcacheInput(r, 'binary'));
      break;
    default:
      bytes = httpInput(r);
  }
  return { protocol, bytes, chunks: splitRandomly(r, bytes), halfClose: r.chance(0.5) };
}

function info(text: string, field: string): number {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

async function infoText(c: RawClient): Promise<string> {
  const r = await c.call(['INFO'], 5_000);
  return typeof r.value === 'string' ? r.value : r.value instanceof Buffer ? r.value.toString('latin1') : r.text;
}

/** Sends one input on a fresh connection; resolves once the server closed it or it lingered out. */
function sendInput(port: number, inp: NetInput): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect({ port, host: '127.0.0.1' });
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const linger = (): void => {
      clearTimeout(timer);
      timer = setTimeout(done, LINGER_MS);
    };
    s.on('error', done);
    s.on('close', done);
    s.on('data', linger);
    s.on('connect', () => {
      for (const c of inp.chunks) s.write(c);
      if (inp.halfClose) s.end();
      linger();
    });
  });
}

/** SET then GET of its own keys, checking every value; counts round trips, keeps mismatches. */
async function goodRespClient(port: number, stop: () => boolean, problems: string[]): Promise<number> {
  const c = await rawClient(port);
  let ops = 0;
  try {
    for (let i = 0; !stop(); i++) {
      const key = `good:resp:${i % 5000}`;
      const value = `v${i}:${'x'.repeat(i % 200)}`;
      const set = await c.call(['SET', key, value], 5_000);
      const get = await c.call(['GET', key], 5_000);
      if (set.text !== '+OK\r\n' || get.text !== `$${value.length}\r\n${value}\r\n`) {
        problems.push(`good RESP client: SET ${key} answered ${JSON.stringify(set.text)}, GET answered ${JSON.stringify(get.text.slice(0, 80))}`);
        break;
      }
      ops += 2;
    }
  } catch (e) {
    problems.push(`good RESP client: ${String(e)}`);
  } finally {
    c.close();
  }
  return ops;
}

/** The same through the memcached text protocol (set, then get: VALUE ... END). */
async function goodMemcacheClient(port: number, stop: () => boolean, problems: string[]): Promise<number> {
  const s = connect({ port, host: '127.0.0.1' });
  let buf = '';
  let want: { text: string; resolve: () => void; reject: (e: Error) => void } | null = null;
  const settle = (): void => {
    if (want !== null && buf.length >= want.text.length) {
      const w = want;
      want = null;
      if (buf.startsWith(w.text)) {
        buf = buf.slice(w.text.length);
        w.resolve();
      } else w.reject(new Error(`expected ${JSON.stringify(w.text.slice(0, 80))}, got ${JSON.stringify(buf.slice(0, 80))}`));
    }
  };
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    settle();
  });
  s.on('error', () => undefined);
  const expect = (text: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply within 5 s (expected ${JSON.stringify(text.slice(0, 40))})`)), 5_000);
      want = { text, resolve: () => (clearTimeout(timer), resolve()), reject: (e) => (clearTimeout(timer), reject(e)) };
      settle();
    });
  let ops = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    for (let i = 0; !stop(); i++) {
      const key = `good:mc:${i % 5000}`;
      const value = `m${i}:${'y'.repeat(i % 100)}`;
      s.write(`set ${key} ${i % 65536} 0 ${value.length}\r\n${value}\r\nget ${key}\r\n`);
      await expect('STORED\r\n');
      await expect(`VALUE ${key} ${i % 65536} ${value.length}\r\n${value}\r\nEND\r\n`);
      ops += 2;
    }
  } catch (e) {
    problems.push(`good memcached client: ${String(e)}`);
  } finally {
    s.destroy();
  }
  return ops;
}

/** Connections of the maxclients phase, and how many are open at once. */
const REFUSED_CONNECTIONS = 240;
const REFUSED_AT_ONCE = 16;
const MAX_CLIENTS_REFUSAL = '-ERR max number of clients reached\r\n';
const FIRST_BYTES: Record<'resp' | 'mc' | 'http', string> = { resp: 'PING\r\n', mc: 'version\r\n', http: 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' };

/** One connection that resets (RST, SO_LINGER 0) when it is connected, after writing a request,
 * or after the server's first bytes (the refusal); resolves with what it read, once closed. */
function resetConnection(port: number, door: 'resp' | 'mc' | 'http', when: number): Promise<string> {
  return new Promise((resolve) => {
    const s: Socket = connect({ port, host: '127.0.0.1' });
    let got = '';
    const reset = (): void => {
      if (!s.destroyed) s.resetAndDestroy();
    };
    const timer = setTimeout(reset, 2_000);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (when === 2) reset();
    });
    s.on('connect', () => {
      if (when === 0) reset();
      else if (when === 1) {
        s.write(FIRST_BYTES[door]);
        setImmediate(reset);
      }
    });
  });
}

/**
 * The refusal path of every door (issue 13: a refused socket without an error handler ended the
 * process when its client reset it): maxclients lowered to the RESP connections open now, then
 * connections to the RESP, memcached and HTTP ports that reset at once, after a request, or after
 * reading the refusal. maxclients is restored afterwards, also when the phase fails.
 */
async function maxclientsPhase(server: ServerHandle, admin: RawClient, seed: number, problems: string[], died: () => boolean): Promise<{ resets: number; refusalsSeen: number }> {
  const r = new Prng(inputSeed(seed, -1));
  const orig = await admin.call(['CONFIG', 'GET', 'maxclients'], 5_000);
  const m = /\r\n(\d+)\r\n$/.exec(orig.text);
  if (m === null) {
    problems.push(`maxclients phase: CONFIG GET maxclients answered ${JSON.stringify(orig.text)}`);
    return { resets: 0, refusalsSeen: 0 };
  }
  const open = info(await infoText(admin), 'connected_clients');
  const set = await admin.call(['CONFIG', 'SET', 'maxclients', String(open)], 5_000);
  if (set.text !== '+OK\r\n') problems.push(`maxclients phase: CONFIG SET maxclients ${open} answered ${JSON.stringify(set.text)}`);
  let resets = 0;
  let refusalsSeen = 0;
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < REFUSED_CONNECTIONS && !died()) {
        next++;
        const door = r.pick(['resp', 'resp', 'mc', 'http'] as const);
        const port = door === 'resp' ? server.port : door === 'mc' ? server.memcachePort : server.httpPort;
        const got = await resetConnection(port, door, r.int(3));
        resets++;
        if (door === 'resp' && got !== '') {
          if (got === MAX_CLIENTS_REFUSAL) refusalsSeen++;
          else problems.push(`maxclients phase: a RESP connection over the limit read ${JSON.stringify(got.slice(0, 80))}`);
        }
      }
    };
    await Promise.all(Array.from({ length: REFUSED_AT_ONCE }, worker));
    if (!died() && refusalsSeen === 0) problems.push(`maxclients phase: no RESP connection read the refusal (${resets} connections)`);
  } finally {
    if (!died()) {
      const back = await admin.call(['CONFIG', 'SET', 'maxclients', m[1]!], 5_000);
      if (back.text !== '+OK\r\n') problems.push(`maxclients phase: restoring maxclients answered ${JSON.stringify(back.text)}`);
    }
  }
  return { resets, refusalsSeen };
}

export async function runNetworkFuzz(o: NetOptions): Promise<NetReport> {
  const problems: string[] = [];
  const inputs = Object.fromEntries(NET_PROTOCOLS.map((p) => [p, 0])) as Record<NetProtocol, number>;
  const shards = o.shards ?? 2;
  const server: ServerHandle = await startTessera({ shards, memcache: true, http: true });
  const t0 = performance.now();
  let goodOps = 0;
  let resets = 0;
  let refusalsSeen = 0;
  try {
    const admin = await rawClient(server.port);
    const before = await infoText(admin);
    const baseClients = info(before, 'connected_clients');
    const baseRss = info(before, 'used_memory_rss');
    const baseRestarts = info(before, 'shard_restarts');
    let died = false;
    void server.exited.then(() => (died = true));
    const deadline = Date.now() + o.durationMs;
    const stop = (): boolean => died || Date.now() >= deadline;
    const recent: number[] = [];
    const inFlight = new Set<number>();
    let next = 0;
    const portOf = (p: NetProtocol): number => (p === 'resp' ? server.port : p === 'http' ? server.httpPort : server.memcachePort);
    const worker = async (): Promise<void> => {
      while (!stop()) {
        const idx = next++;
        const inp = netInput(o.seed, idx);
        inFlight.add(idx);
        await sendInput(portOf(inp.protocol), inp);
        inFlight.delete(idx);
        inputs[inp.protocol]++;
        recent.push(idx);
        if (recent.length > RECENT_KEEP) recent.shift();
      }
    };
    const good = [goodRespClient(server.port, stop, problems), goodMemcacheClient(server.memcachePort, stop, problems)];
    await Promise.all(Array.from({ length: o.connections ?? 16 }, worker));
    goodOps = (await Promise.all(good)).reduce((a, b) => a + b, 0);
    if (died) {
      const suspects = [...inFlight, ...recent.slice(-4)];
      problems.push(`server exited during the run; inputs in flight or just before: ${suspects.join(', ')} (seed ${o.seed})\n${server.output().slice(-2000)}`);
      for (const idx of suspects.slice(0, 6)) {
        const inp = netInput(o.seed, idx);
        problems.push(`  input ${idx} (${inp.protocol}, ${inp.halfClose ? 'half-closed' : 'vanished'}): ${inp.bytes.subarray(0, 512).toString('hex')}`);
      }
      return { seed: o.seed, inputs, ms: performance.now() - t0, goodOps, resets, refusalsSeen, problems };
    }
    if (goodOps === 0) problems.push('the good clients completed no round trip');
    const mc = await maxclientsPhase(server, admin, o.seed, problems, () => died);
    resets = mc.resets;
    refusalsSeen = mc.refusalsSeen;
    if (died) {
      problems.push(`server exited during the maxclients phase\n${server.output().slice(-2000)}`);
      return { seed: o.seed, inputs, ms: performance.now() - t0, goodOps, resets, refusalsSeen, problems };
    }
    // The fuzzing connections are gone: the server must have let go of them and their memory.
    try {
      await waitFor('RESP connections to close', async () => info(await infoText(admin), 'connected_clients') <= baseClients, CHECK_DEADLINE_MS);
    } catch {
      problems.push(`RESP connections left behind: connected_clients ${info(await infoText(admin), 'connected_clients')}, ${baseClients} before the run (admin client included)`);
    }
    try {
      await waitFor('RSS to come back', async () => info(await infoText(admin), 'used_memory_rss') <= baseRss * 1.5 + RSS_SLACK_BYTES, CHECK_DEADLINE_MS);
    } catch {
      problems.push(`RSS ${info(await infoText(admin), 'used_memory_rss')} bytes after the run, ${baseRss} before`);
    }
    const after = await infoText(admin);
    if (info(after, 'shard_restarts') !== baseRestarts) problems.push(`shards restarted: shard_restarts ${info(after, 'shard_restarts')}, ${baseRestarts} before`);
    for (let s = 0; s < shards; s++) {
      const r = await admin.call(['DEBUG', 'INTEGRITY', String(s)], CHECK_DEADLINE_MS);
      if (r.text !== '+OK\r\n') problems.push(`shard ${s} integrity: ${r.text.trim()}`);
    }
    const ping = await admin.call(['PING'], 5_000);
    if (ping.text !== '+PONG\r\n') problems.push(`PING after the run answered ${JSON.stringify(ping.text)}`);
    admin.close();
  } catch (e) {
    problems.push(`network fuzz: ${String(e)}\n${server.output().slice(-2000)}`);
  } finally {
    await server.stop();
  }
  return { seed: o.seed, inputs, ms: performance.now() - t0, goodOps, resets, refusalsSeen, problems };
}

export function printNetworkReport(r: NetReport): void {
  const s = r.ms / 1000;
  process.stdout.write(`network fuzz, seed ${r.seed}, ${s.toFixed(1)} s, good clients ${r.goodOps} round trips checked, ${r.resets} connections reset at maxclients (${r.refusalsSeen} RESP refusals read)\n`);
  for (const p of NET_PROTOCOLS) process.stdout.write(`  ${p.padEnd(10)} ${String(r.inputs[p]).padStart(8)} inputs  ${(r.inputs[p] / s).toFixed(0).padStart(6)} inputs/s\n`);
  for (const p of r.problems) process.stdout.write(`  PROBLEM ${p}\n`);
}
