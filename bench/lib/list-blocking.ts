// BLPOP wake-up latency (issue 15): N consumer connections each block in `BLPOP blpop:<i> 0`, a
// producer connection in the same process pushes to one of them at a time, and the time from just
// before the LPUSH is written to the arrival of that consumer's BLPOP reply is recorded (HdrHistogram,
// nanoseconds). Before each push the server's INFO clients must show all N consumers blocked, so a
// push never races a BLPOP that has not arrived yet and every wake-up is a real wake-up.

import * as hdr from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseInfo, RespClient, type Reply } from './resp-client.js';

export interface BlockingOptions {
  consumers: number;
  /** Measured wake-ups. */
  wakeups: number;
  /** Wake-ups before those, not recorded (V8 compiles Tessera's paths meanwhile). */
  warmup: number;
  /** How long a consumer may take to show up in blocked_clients, and to get its element after the
   * LPUSH, before the run fails. */
  blockedTimeoutMs?: number;
}

export interface WakeLatency {
  wakeups: number;
  consumers: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  /** Wall time of the measured wake-ups (the blocked_clients polls included). */
  elapsedMs: number;
}

/** One round: the same run on redis-server and on the other side (Tessera), order alternating. */
export interface WakePair {
  round: number;
  redis: WakeLatency;
  b: WakeLatency;
}

/** The consumers' keys; distinct, so that on Tessera they land on several shards. */
export const blpopKey = (i: number): string => `blpop:${i}`;
const ELEMENT = 'job';

/** Percentiles of nanosecond recordings, in microseconds. */
export function summarizeNs(values: readonly number[]): Omit<WakeLatency, 'wakeups' | 'consumers' | 'elapsedMs'> {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  for (const v of values) h.recordValue(Math.max(1, Math.round(v)));
  if (h.totalCount === 0) return { p50Us: NaN, p99Us: NaN, meanUs: NaN, maxUs: NaN };
  return { p50Us: h.getValueAtPercentile(50) / 1000, p99Us: h.getValueAtPercentile(99) / 1000, meanUs: h.mean / 1000, maxUs: h.maxValue / 1000 };
}

/** blocked_clients from INFO clients, or NaN when the server does not report it. */
async function blockedClients(control: RespClient): Promise<number> {
  const info = await control.call('INFO', 'clients');
  if (typeof info !== 'string') throw new Error(`INFO clients replied ${info instanceof Error ? info.message : String(info)}`);
  return Number(parseInfo(info).get('blocked_clients') ?? NaN);
}

/** Resolves once blocked_clients is 0 and returns 0; rejects naming the count if it stays above. */
async function waitForNoBlocked(control: RespClient, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const blocked = await blockedClients(control);
    if (!(blocked > 0)) return 0;
    if (performance.now() > deadline) {
      throw new Error(`blocked_clients stays ${blocked} after every consumer of the last run disconnected`);
    }
    await delay(20);
  }
}

const text = (r: Reply): string => (r instanceof Error ? `-${r.message}` : JSON.stringify(r));

interface Waiting {
  reply: Reply | undefined;
  atMs: number;
  done: Promise<void>;
}

/** Sends BLPOP on `client` and notes when its reply arrives (in the data event's microtask). */
function block(client: RespClient, key: string): Waiting {
  const w: Waiting = { reply: undefined, atMs: NaN, done: Promise.resolve() };
  const arrived = (r: Reply): void => {
    w.atMs = performance.now();
    w.reply = r;
  };
  // A lost connection (the server died, or the run ends and closes it) settles it as an error reply.
  w.done = client.call('BLPOP', key, '0').then(arrived, (err: unknown) => arrived(err instanceof Error ? err : new Error(String(err))));
  return w;
}

/**
 * Runs warmup + wakeups pushes against the server on `port`; rejects with a one-line reason when the
 * server cannot (no BLPOP: its error reply; no blocked_clients: says so; a wrong element popped).
 */
export async function blpopLatency(port: number, opts: BlockingOptions): Promise<WakeLatency> {
  const blockedTimeoutMs = opts.blockedTimeoutMs ?? 5000;
  const control = await RespClient.connect(port);
  const producer = await RespClient.connect(port);
  const consumers: RespClient[] = [];
  try {
    for (let i = 0; i < opts.consumers; i++) consumers.push(await RespClient.connect(port));
    const del = await control.call('DEL', ...consumers.map((_, i) => blpopKey(i)));
    if (del instanceof Error) throw new Error(`DEL failed: ${del.message}`);
    // Clients still blocked from an earlier run (whose connections are closed) would take pushes
    // meant for this run's consumers: wait for them to go, as a disconnect frees a blocked client.
    const base = await waitForNoBlocked(control, blockedTimeoutMs);
    const waiting = consumers.map((c, i) => block(c, blpopKey(i)));
    const waitAllBlocked = async (): Promise<void> => {
      const deadline = performance.now() + blockedTimeoutMs;
      while (true) {
        const early = waiting.find((w) => w.reply !== undefined);
        if (early !== undefined) throw new Error(`BLPOP replied before any push: ${text(early.reply ?? null)}`);
        const blocked = await blockedClients(control);
        if (blocked >= base + opts.consumers) return;
        if (performance.now() > deadline) {
          throw new Error(`INFO clients blocked_clients is ${String(blocked)}, not ${opts.consumers}, ${blockedTimeoutMs} ms after the BLPOPs`);
        }
      }
    };
    const samplesNs: number[] = [];
    let started = performance.now();
    for (let k = 0; k < opts.warmup + opts.wakeups; k++) {
      if (k === opts.warmup) started = performance.now();
      const i = k % opts.consumers;
      const w = waiting[i];
      const consumer = consumers[i];
      if (w === undefined || consumer === undefined) throw new Error('consumer index out of range');
      await waitAllBlocked();
      const sentMs = performance.now();
      const pushed = producer.call('LPUSH', blpopKey(i), ELEMENT);
      pushed.catch(() => undefined); // awaited below; this only keeps an early throw from leaving it unhandled
      const woken = await Promise.race([w.done.then(() => true), delay(blockedTimeoutMs).then(() => false)]);
      if (!woken) {
        const pushReply = await pushed;
        throw new Error(`LPUSH ${blpopKey(i)} replied ${text(pushReply)} but its blocked consumer got nothing within ${blockedTimeoutMs} ms`
          + ` (LLEN now ${text(await control.call('LLEN', blpopKey(i)))}, blocked_clients ${String(await blockedClients(control))})`);
      }
      const reply = w.reply ?? null;
      if (!Array.isArray(reply) || reply[0] !== blpopKey(i) || reply[1] !== ELEMENT) throw new Error(`BLPOP ${blpopKey(i)} replied ${text(reply)}`);
      if (k >= opts.warmup) samplesNs.push((w.atMs - sentMs) * 1e6);
      const pushReply = await pushed;
      if (pushReply !== 1) throw new Error(`LPUSH ${blpopKey(i)} replied ${text(pushReply)} (the list should have been empty)`);
      waiting[i] = block(consumer, blpopKey(i));
    }
    return { wakeups: opts.wakeups, consumers: opts.consumers, elapsedMs: performance.now() - started, ...summarizeNs(samplesNs) };
  } finally {
    // Closing the consumers unblocks them on the server (a blocked client that disconnects frees its place).
    for (const c of consumers) c.close();
    producer.close();
    control.close();
  }
}
