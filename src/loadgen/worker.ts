// One load-generator thread: owns its share of the connections, sends pre-encoded commands,
// counts replies with a scanner, records latencies into a histogram, and reports to the parent
// once a second. Closed loop: each connection sends `pipeline` commands and waits for all their
// replies (as redis-benchmark does). Open loop: commands leave on a fixed schedule, and each
// latency is measured from the command's intended send time, so queueing is not hidden.

import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { makeRandom, uniformSampler, zipfSampler, type KeySampler } from './keys.js';
import { ReplyScanner } from './reply-scanner.js';
import { keySlot } from '../keyspace/slot.js';

export interface WorkerJob {
  nodes: Array<{ host: string; port: number }>;
  /** Node index per hash slot (cluster), or null: every key goes to nodes[0]. */
  slotOwner: Uint16Array | null;
  connections: number;
  /** Index of this worker's first connection among all workers' (spreads them over nodes). */
  firstConnection: number;
  pipeline: number;
  /** Share of GETs among requests, 0..1 (SET otherwise). */
  readShare: number;
  keys: number;
  dist: 'uniform' | 'zipf';
  zipfS: number;
  valueSize: number;
  keyPrefix: string;
  /** Requests for this worker, or 0 to run for durationMs. */
  requests: number;
  durationMs: number;
  /** Open-loop rate for this worker, requests/s; 0 = closed loop. */
  ratePerSec: number;
  seed: number;
}

export type WorkerMessage =
  | { type: 'tick'; done: number; errors: number; counts: Float64Array; maxUs: number }
  | { type: 'done'; done: number; errors: number; firstError: string; counts: Float64Array; maxUs: number }
  | { type: 'failed'; message: string };

const KEY_DIGITS = 12;

/** A command with a key (and value) whose digits are rewritten in place for each request. */
interface Template {
  bytes: Buffer;
  digitsAt: number;
  keyAt: number;
  keyLen: number;
}

function template(name: 'SET' | 'GET', prefix: string, valueSize: number): Template {
  const key = prefix + '0'.repeat(KEY_DIGITS);
  const head = `*${name === 'SET' ? 3 : 2}\r\n$3\r\n${name}\r\n$${Buffer.byteLength(key)}\r\n`;
  const parts = [Buffer.from(head), Buffer.from(key + '\r\n')];
  if (name === 'SET') parts.push(Buffer.from(`$${valueSize}\r\n`), Buffer.alloc(valueSize, 120), Buffer.from('\r\n'));
  const bytes = Buffer.concat(parts);
  const keyAt = Buffer.byteLength(head);
  const keyLen = Buffer.byteLength(key);
  return { bytes, keyAt, keyLen, digitsAt: keyAt + keyLen - KEY_DIGITS };
}

function writeDigits(t: Template, n: number): void {
  let v = n;
  for (let i = KEY_DIGITS - 1; i >= 0; i--) {
    t.bytes[t.digitsAt + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
}

class Conn {
  readonly socket: net.Socket;
  readonly scanner = new ReplyScanner();
  inFlight = 0;
  batchStartMs = 0;
  /** Open loop: intended send times of the commands in flight, oldest first. */
  intended: number[] = [];
  intendedHead = 0;

  constructor(
    readonly node: number,
    host: string,
    port: number,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
  }
}

function run(job: WorkerJob): void {
  const random = makeRandom(job.seed);
  const sample: KeySampler = job.dist === 'zipf' ? zipfSampler(job.keys, job.zipfS, random) : uniformSampler(job.keys, random);
  const set = template('SET', job.keyPrefix, job.valueSize);
  const get = template('GET', job.keyPrefix, job.valueSize);
  const hist = new Histogram();
  const interval = new Histogram();
  let issued = 0;
  let done = 0;
  let errors = 0;
  let intervalDone = 0;
  let intervalErrors = 0;
  const startMs = performance.now();
  const endMs = job.requests > 0 ? Infinity : startMs + job.durationMs;
  const conns: Conn[] = [];

  /** Appends one command for a key owned by the connection's node to `out`. */
  const encodeOne = (c: Conn, out: Buffer[]): void => {
    const t = random() < job.readShare ? get : set;
    for (;;) {
      writeDigits(t, sample());
      if (!job.slotOwner || job.slotOwner[keySlot(t.bytes, t.keyAt, t.keyLen)] === c.node) break;
    }
    out.push(Buffer.from(t.bytes));
  };

  const more = (): boolean => (job.requests > 0 ? issued < job.requests : performance.now() < endMs);

  const sendBatch = (c: Conn): void => {
    const out: Buffer[] = [];
    while (out.length < job.pipeline && more()) {
      encodeOne(c, out);
      issued++;
    }
    if (out.length === 0) return;
    c.inFlight = out.length;
    c.batchStartMs = performance.now();
    c.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  };

  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(ticker);
    if (openTimer) clearInterval(openTimer);
    for (const c of conns) c.socket.destroy();
    const firstError = conns.map((c) => c.scanner.firstError).find((e) => e !== '') ?? '';
    parentPort!.postMessage({ type: 'done', done, errors, firstError, counts: hist.counts, maxUs: hist.maxUs } satisfies WorkerMessage);
  };

  const onReplies = (c: Conn, n: number, errs: number): void => {
    const now = performance.now();
    for (let i = 0; i < n; i++) {
      let sentMs = c.batchStartMs;
      if (job.ratePerSec > 0) sentMs = c.intended[c.intendedHead++] ?? now;
      const us = (now - sentMs) * 1000;
      hist.record(us);
      interval.record(us);
    }
    if (job.ratePerSec > 0 && c.intendedHead > 1024 && c.intendedHead * 2 > c.intended.length) {
      c.intended = c.intended.slice(c.intendedHead);
      c.intendedHead = 0;
    }
    done += n;
    intervalDone += n;
    errors += errs;
    intervalErrors += errs;
    c.inFlight -= n;
    if (job.ratePerSec === 0 && c.inFlight === 0) sendBatch(c);
    if (!more() && conns.every((x) => x.inFlight === 0)) finish();
  };

  for (let i = 0; i < job.connections; i++) {
    const node = (job.firstConnection + i) % job.nodes.length;
    const n = job.nodes[node]!;
    const c = new Conn(node, n.host, n.port);
    conns.push(c);
    c.socket.on('data', (chunk: Buffer) => {
      const before = c.scanner.errors;
      const got = c.scanner.feed(chunk);
      if (got > 0) onReplies(c, got, c.scanner.errors - before);
    });
    c.socket.on('error', (err) => {
      parentPort!.postMessage({ type: 'failed', message: `${n.host}:${n.port}: ${err.message}` } satisfies WorkerMessage);
      finish();
    });
  }

  let openTimer: NodeJS.Timeout | null = null;
  let connected = 0;
  for (const c of conns) {
    c.socket.once('connect', () => {
      if (++connected < conns.length) return;
      if (job.ratePerSec === 0) for (const x of conns) sendBatch(x);
      else startOpenLoop();
    });
  }

  const startOpenLoop = (): void => {
    const t0 = performance.now();
    let next = 0;
    openTimer = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((now - t0) * job.ratePerSec) / 1000);
      const batches = new Map<Conn, Buffer[]>();
      while (next < due && more()) {
        const c = conns[next % conns.length]!;
        let b = batches.get(c);
        if (!b) batches.set(c, (b = []));
        encodeOne(c, b);
        c.intended.push(t0 + (next * 1000) / job.ratePerSec);
        c.inFlight++;
        issued++;
        next++;
      }
      for (const [c, b] of batches) c.socket.write(Buffer.concat(b));
      if (!more() && conns.every((x) => x.inFlight === 0)) finish();
    }, 1);
  };

  const ticker = setInterval(() => {
    parentPort!.postMessage({ type: 'tick', done: intervalDone, errors: intervalErrors, counts: interval.counts.slice(), maxUs: interval.maxUs } satisfies WorkerMessage);
    interval.reset();
    intervalDone = 0;
    intervalErrors = 0;
    // A server that stops answering must not hold a timed run forever.
    if (performance.now() > endMs + 5000) finish();
  }, 1000);
}

if (parentPort) run(workerData as WorkerJob);
