// A closed-loop load of pipelined units, for what redis-benchmark cannot send: a unit is several
// commands that belong together (MULTI, 3 commands, EXEC), written in one write as client libraries
// do. Each connection writes P units, waits for all their replies (counted without decoding them,
// src/loadgen/reply-scanner.ts), records the batch's round trip and writes the next P, until the
// run's units are sent. Units come from a pool encoded before the clock starts; nothing is queued
// beyond one batch per connection, and a run with no reply for `stallMs` fails.

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ReplyScanner } from '../../src/loadgen/reply-scanner.js';
import { percentile } from './scripting-math.js';

export interface UnitLoadOptions {
  port: number;
  connections: number;
  /** Units per write (-P). */
  pipeline: number;
  /** Units in the whole run, over all connections. */
  units: number;
  repliesPerUnit: number;
  /** The bytes of pool unit i (i < poolSize). */
  build: (i: number) => Buffer;
  /** Distinct units encoded before the run (default 4096); unit n of the run is pool unit n mod this. */
  poolSize?: number;
  /** A run whose replies stop for this long fails (default 20 s). */
  stallMs?: number;
}

export interface UnitLoadResult {
  units: number;
  elapsedMs: number;
  unitsPerSec: number;
  /** Round trips of whole batches (P units), in ms. */
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** A loopback connection with Nagle off (also pubsub-load.ts). */
export function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Concatenation of `count` pool units starting at pool index `first` (wrapping). */
function batchBytes(pool: Buffer[], first: number, count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) parts.push(pool[(first + i) % pool.length] ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

/**
 * Runs the load; resolves with the rate and batch latencies, rejects on the first error reply (its
 * text), a lost connection or a stall. Every socket is closed before it settles.
 */
export async function runUnitLoad(o: UnitLoadOptions): Promise<UnitLoadResult> {
  if (o.connections < 1 || o.pipeline < 1 || o.units < 1) throw new Error('runUnitLoad: connections, pipeline and units must be >= 1');
  const poolSize = Math.max(1, o.poolSize ?? 4096);
  const pool = Array.from({ length: poolSize }, (_, i) => o.build(i));
  // Full batches are encoded once (each pool unit in one of them): batch b starts at pool unit b * pipeline.
  const batchStarts = Math.max(1, Math.ceil(poolSize / o.pipeline));
  const batches = Array.from({ length: batchStarts }, (_, b) => batchBytes(pool, b * o.pipeline, o.pipeline));
  const connections = Math.min(o.connections, o.units);
  const sockets: Socket[] = [];
  try {
    for (let c = 0; c < connections; c++) sockets.push(await open(o.port));
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  }
  const batchCount = Math.ceil(o.units / o.pipeline) + connections;
  const latencies = new Float64Array(batchCount);
  let recorded = 0;
  let lastProgress = performance.now();
  const started = performance.now();
  const per = Math.floor(o.units / connections);
  const extra = o.units % connections;

  const runOne = (socket: Socket, c: number, units: number): Promise<void> => new Promise((resolve, reject) => {
    const scanner = new ReplyScanner();
    let left = units;
    let awaiting = 0;
    let sentAt = 0;
    // Each connection starts at its own place in the pool, so they do not hit the same keys in step.
    let nextBatch = (c * 7919) % batches.length;
    const send = (): void => {
      const n = Math.min(o.pipeline, left);
      left -= n;
      awaiting = n * o.repliesPerUnit;
      sentAt = performance.now();
      socket.write(n === o.pipeline ? (batches[nextBatch] ?? Buffer.alloc(0)) : batchBytes(pool, nextBatch * o.pipeline, n));
      nextBatch = (nextBatch + 1) % batches.length;
    };
    socket.on('data', (chunk: Buffer) => {
      awaiting -= scanner.feed(chunk);
      if (scanner.errors > 0) {
        reject(new Error(scanner.firstError === '' ? 'an error reply' : scanner.firstError));
        return;
      }
      if (awaiting > 0) return;
      if (awaiting < 0) {
        reject(new Error(`${-awaiting} more replies than commands sent`));
        return;
      }
      const now = performance.now();
      lastProgress = now;
      if (recorded < latencies.length) latencies[recorded++] = now - sentAt;
      if (left > 0) send();
      else resolve();
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed during the run')));
    send();
  });

  let watchdog: NodeJS.Timeout | undefined;
  const stallMs = o.stallMs ?? 20_000;
  const stalled = new Promise<never>((_, reject) => {
    watchdog = setInterval(() => {
      const idle = performance.now() - lastProgress;
      if (idle > stallMs) reject(new Error(`no reply for ${Math.round(idle)} ms (${recorded} batches done)`));
    }, Math.min(1000, stallMs));
  });
  try {
    await Promise.race([Promise.all(sockets.map((s, c) => runOne(s, c, per + (c < extra ? 1 : 0)))), stalled]);
  } finally {
    clearInterval(watchdog);
    for (const s of sockets) s.destroy();
  }
  const elapsedMs = performance.now() - started;
  const lat = latencies.subarray(0, recorded).sort();
  let sum = 0;
  for (const v of lat) sum += v;
  return {
    units: o.units, elapsedMs, unitsPerSec: (o.units * 1000) / elapsedMs,
    avgMs: recorded === 0 ? NaN : sum / recorded, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat[lat.length - 1] ?? NaN,
  };
}
