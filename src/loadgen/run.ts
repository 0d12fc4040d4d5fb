// `tessera bench`: drives a RESP server (or a Redis Cluster), or a memcached binary protocol
// server, from several worker threads and reports throughput, latency percentiles and GET hits,
// per phase, with a per-second series. `protocol.ts` holds what differs between the protocols.

import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fetchTopology, type Topology } from './cluster.js';
import { setLinkTls, type LoadgenTls } from './link.js';
import { LatencyHistogram } from './histogram.js';
import { KEY_DIGITS, PROTOCOL_NAMES, wireProtocol, type ProtocolName } from './protocol.js';
import { renderChart, type SeriesPoint } from './svg-chart.js';
import type { ParentMessage, WorkerJob, WorkerMessage } from './worker.js';

export class LoadgenUsageError extends Error {}

/** `-p`'s default with `--protocol memcache` (memcached's port; 6379 otherwise). */
const MEMCACHE_DEFAULT_PORT = 11211;

export interface LoadgenOptions {
  host: string;
  port: number;
  threads: number;
  clients: number;
  pipeline: number;
  requests: number;
  durationS: number;
  keys: number;
  keyPrefix: string;
  dist: 'uniform' | 'zipf';
  zipfS: number;
  valueSize: number;
  tests: Array<'set' | 'get'>;
  /** GET:SET mix for one mixed phase, or null to run `tests` one after the other. */
  ratio: [number, number] | null;
  rate: number;
  cluster: boolean;
  protocol: ProtocolName;
  json: string | null;
  svg: string | null;
  quiet: boolean;
  seed: number;
  /** Database each connection SELECTs before the run (redis-benchmark's --dbnum). */
  dbnum: number;
  /** --tls (with --cacert, --cert, --key): every connection is TLS. */
  tls: LoadgenTls | null;
}


export function parseLoadgenArgs(argv: string[]): LoadgenOptions {
  const o: LoadgenOptions = {
    host: '127.0.0.1', port: 6379, threads: 1, clients: 50, pipeline: 1, requests: 100_000, durationS: 0,
    keys: 100_000, keyPrefix: 'key:', dist: 'uniform', zipfS: 0.99, valueSize: 32, tests: ['set', 'get'],
    ratio: null, rate: 0, cluster: false, protocol: 'resp', json: null, svg: null, quiet: false, seed: 1, dbnum: 0,
    tls: null,
  };
  const tlsFiles: LoadgenTls = {};
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new LoadgenUsageError(`${flag} needs an integer >= ${min}`);
    return n;
  };
  let portGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (flag) {
      case '-h': case '--host': o.host = next() ?? o.host; break;
      case '-p': case '--port': o.port = int(flag, next(), 1); portGiven = true; break;
      case '--threads': o.threads = int(flag, next(), 1); break;
      case '-c': case '--clients': o.clients = int(flag, next(), 1); break;
      case '-P': case '--pipeline': o.pipeline = int(flag, next(), 1); break;
      case '-n': case '--requests': o.requests = int(flag, next(), 1); break;
      case '--duration': o.durationS = int(flag, next(), 1); break;
      case '-r': case '--keys': o.keys = int(flag, next(), 1); break;
      case '--key-prefix': o.keyPrefix = next() ?? o.keyPrefix; break;
      case '--dist': {
        const d = next();
        if (d !== 'uniform' && d !== 'zipf') throw new LoadgenUsageError('--dist is uniform or zipf');
        o.dist = d;
        break;
      }
      case '--zipf-s': {
        const s = Number(next());
        if (!(s > 0)) throw new LoadgenUsageError('--zipf-s needs a positive number');
        o.zipfS = s;
        break;
      }
      case '-d': case '--value-size': o.valueSize = int(flag, next(), 0); break;
      case '-t': case '--tests': {
        const list = (next() ?? '').toLowerCase().split(',').filter((t) => t !== '');
        if (list.length === 0 || list.some((t) => t !== 'set' && t !== 'get')) throw new LoadgenUsageError('--tests takes set and/or get');
        o.tests = list as Array<'set' | 'get'>;
        break;
      }
      case '--ratio': {
        const m = /^(\d+):(\d+)$/.exec(next() ?? '');
        if (!m || Number(m[1]) + Number(m[2]) === 0) throw new LoadgenUsageError('--ratio is R:W, e.g. 9:1');
        o.ratio = [Number(m[1]), Number(m[2])];
        break;
      }
      case '--rate': o.rate = int(flag, next(), 1); break;
      case '--cluster': o.cluster = true; break;
      case '--protocol': {
        const p = next();
        const known = PROTOCOL_NAMES.find((n) => n === p);
        if (known === undefined) throw new LoadgenUsageError(`--protocol is one of ${PROTOCOL_NAMES.join(', ')}`);
        o.protocol = known;
        break;
      }
      case '--json': o.json = next() ?? null; break;
      case '--svg': o.svg = next() ?? null; break;
      case '-q': case '--quiet': o.quiet = true; break;
      case '--seed': o.seed = int(flag, next(), 0); break;
      case '--dbnum': o.dbnum = int(flag, next(), 0); break;
      case '--tls': o.tls = tlsFiles; break;
      case '--cacert': case '--cert': case '--key': {
        const path = next();
        if (path === undefined || path === '') throw new LoadgenUsageError(`${flag} needs a file`);
        tlsFiles[flag.slice(2) as keyof LoadgenTls] = path;
        break;
      }
      default: throw new LoadgenUsageError(`unknown option '${flag}' (tessera bench --help lists them)`);
    }
  }
  if (o.tls === null && Object.keys(tlsFiles).length > 0) throw new LoadgenUsageError('--cacert, --cert and --key need --tls');
  if ((tlsFiles.cert === undefined) !== (tlsFiles.key === undefined)) throw new LoadgenUsageError('--cert and --key go together');
  if (o.tls !== null && o.protocol !== 'resp') throw new LoadgenUsageError('--tls applies to resp only');
  if (o.threads > o.clients) o.threads = o.clients;
  if (!portGiven && o.protocol === 'memcache') o.port = MEMCACHE_DEFAULT_PORT;
  const protocol = wireProtocol(o.protocol);
  if (o.cluster && !protocol.clusterCapable) {
    throw new LoadgenUsageError(`--cluster needs a protocol with hash slots (resp); ${o.protocol} has no cluster mode`);
  }
  if (o.dbnum > 0 && (o.cluster || o.protocol !== 'resp')) {
    throw new LoadgenUsageError('--dbnum needs resp in standalone mode (a cluster and memcached have db 0 only)');
  }
  const keyBytes = Buffer.byteLength(o.keyPrefix) + KEY_DIGITS;
  if (keyBytes > protocol.keyBytesMax) {
    throw new LoadgenUsageError(`keys would be ${keyBytes} bytes, over ${o.protocol}'s ${protocol.keyBytesMax} (shorten --key-prefix)`);
  }
  return o;
}

// --- phases ----------------------------------------------------------------------------------------

export interface LatencySummaryMs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface PhasePoint extends SeriesPoint {
  p50Ms: number;
  errors: number;
}

export interface PhaseResult {
  name: string;
  requests: number;
  errors: number;
  /** Cluster redirects followed (MOVED/ASK); their requests were sent again and count once. */
  redirects: number;
  /** GET replies that carried a value, and GET replies for a missing key (not errors). */
  hits: number;
  misses: number;
  slotMapRefreshes: number;
  firstError: string;
  durationS: number;
  rps: number;
  latencyMs: LatencySummaryMs;
  /** One point per second of the run (the last may be shorter); `rps` is per second of its interval. */
  series: PhasePoint[];
}

/** What `--json` writes. */
export interface LoadgenResult {
  tool: 'tessera bench';
  startedAt: string;
  machine: { hostname: string; cpus: number; cpuModel: string; node: string };
  config: LoadgenOptions & { mode: 'closed-loop' | 'open-loop'; nodes: Topology['nodes']; clusterDetected: boolean };
  totals: { requests: number; errors: number; durationS: number; rps: number };
  phases: PhaseResult[];
}

function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

function summarize(h: LatencyHistogram): LatencySummaryMs {
  return {
    p50: h.percentileUs(50) / 1000,
    p99: h.percentileUs(99) / 1000,
    p999: h.percentileUs(99.9) / 1000,
    max: h.maxUs / 1000,
    mean: h.meanUs / 1000,
  };
}

const BAR_WIDTH = 30;

/** The progress line: a bar on a terminal (redrawn in place), a plain line per second otherwise. */
function progressLine(name: string, fraction: number, rps: number, p99Ms: number, tty: boolean): string {
  const pct = `${Math.min(100, Math.floor(fraction * 100))}%`.padStart(4);
  const stats = `${Math.round(rps)} rps, p99 ${p99Ms.toFixed(3)} ms`;
  if (!tty) return `${name}: ${pct} ${stats}\n`;
  const filled = Math.min(BAR_WIDTH, Math.round(fraction * BAR_WIDTH));
  return `\r${name} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${pct} ${stats}\x1b[K`;
}

interface Point {
  done: number;
  errors: number;
  intervalMs: number;
  /** How many threads have reported this second. */
  ticks: number;
  hist: LatencyHistogram;
}

async function runPhase(o: LoadgenOptions, name: string, readShare: number, topo: Topology): Promise<PhaseResult> {
  const total = new LatencyHistogram();
  /** Per-second points, by tick index: every thread's k-th tick goes into point k. */
  const points = new Map<number, Point>();
  let done = 0;
  let errors = 0;
  let redirects = 0;
  let hits = 0;
  let misses = 0;
  let slotMapRefreshes = 0;
  let firstError = '';
  let progressDone = 0;
  /** The phase's clock starts when every thread has connected (as redis-benchmark's does). */
  let t0 = performance.now();
  let ready = 0;
  const tty = process.stderr.isTTY === true;
  const target = o.durationS > 0 ? 0 : o.requests;

  const workers = Array.from({ length: o.threads }, (_, i) => {
    const job: WorkerJob = {
      protocol: o.protocol,
      topology: topo,
      connections: share(o.clients, o.threads, i),
      firstConnection: Array.from({ length: i }, (_, k) => share(o.clients, o.threads, k)).reduce((a, b) => a + b, 0),
      pipeline: o.pipeline,
      readShare,
      keys: o.keys,
      dist: o.dist,
      zipfS: o.zipfS,
      valueSize: o.valueSize,
      keyPrefix: o.keyPrefix,
      requests: target > 0 ? share(target, o.threads, i) : 0,
      durationMs: o.durationS * 1000,
      ratePerSec: o.rate > 0 ? o.rate / o.threads : 0,
      seed: o.seed * 1000 + i + 1,
      dbnum: o.dbnum,
      tls: o.tls,
    };
    return new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
  });

  /** Shown once every thread has reported a whole second. */
  const showProgress = (p: Point): void => {
    if (o.quiet) return;
    const elapsedS = (performance.now() - t0) / 1000;
    const fraction = target > 0 ? progressDone / target : elapsedS / o.durationS;
    process.stderr.write(progressLine(name, fraction, (p.done * 1000) / Math.max(1, p.intervalMs), p.hist.percentileUs(99) / 1000, tty));
  };

  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.on('message', (m: WorkerMessage) => {
              if (m.type === 'ready') {
                if (++ready < workers.length) return;
                t0 = performance.now();
                for (const x of workers) x.postMessage({ type: 'go' } satisfies ParentMessage);
              } else if (m.type === 'tick') {
                let p = points.get(m.index);
                if (!p) points.set(m.index, (p = { done: 0, errors: 0, intervalMs: 0, ticks: 0, hist: new LatencyHistogram() }));
                p.done += m.done;
                p.errors += m.errors;
                p.intervalMs = Math.max(p.intervalMs, m.intervalMs);
                p.hist.add(LatencyHistogram.decode(m.histogram));
                progressDone += m.done;
                if (++p.ticks === workers.length && !m.last) showProgress(p);
              } else if (m.type === 'done') {
                done += m.done;
                errors += m.errors;
                redirects += m.redirects;
                hits += m.hits;
                misses += m.misses;
                slotMapRefreshes += m.slotMapRefreshes;
                if (firstError === '') firstError = m.firstError;
                total.add(LatencyHistogram.decode(m.histogram));
                resolve();
              } else {
                reject(new Error(m.message));
              }
            });
            w.on('error', reject);
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (!o.quiet && tty) process.stderr.write('\r\x1b[K');
  const durationS = (performance.now() - t0) / 1000;
  const series: PhasePoint[] = [];
  let tS = 0;
  for (let k = 0; points.has(k); k++) {
    const p = points.get(k)!;
    tS += p.intervalMs / 1000;
    series.push({
      t: Number(tS.toFixed(3)),
      rps: p.intervalMs > 0 ? (p.done * 1000) / p.intervalMs : 0,
      errors: p.errors,
      p50Ms: p.hist.percentileUs(50) / 1000,
      p99Ms: p.hist.percentileUs(99) / 1000,
    });
  }
  return { name, requests: done, errors, redirects, hits, misses, slotMapRefreshes, firstError, durationS, rps: done / durationS, latencyMs: summarize(total), series };
}

/** The redis-benchmark style summary line of a phase. */
export function summaryLine(r: PhaseResult): string {
  const l = r.latencyMs;
  const f = (ms: number): string => ms.toFixed(3);
  return (
    `${r.name}: ${r.rps.toFixed(2)} requests per second, p50=${f(l.p50)} msec p99=${f(l.p99)} msec p99.9=${f(l.p999)} msec max=${f(l.max)} msec` +
    (r.hits + r.misses > 0 ? ` (GET hits ${r.hits}, misses ${r.misses})` : '') +
    (r.errors > 0 ? ` (${r.errors} errors, first: ${r.firstError})` : '') +
    (r.redirects > 0 ? ` (${r.redirects} redirects followed, ${r.slotMapRefreshes} slot map refreshes)` : '')
  );
}

/** Runs every phase, prints a summary line for each, and writes --json and --svg. */
export async function runLoadgen(o: LoadgenOptions): Promise<PhaseResult[]> {
  const startedAt = new Date().toISOString();
  const seed = { host: o.host, port: o.port };
  setLinkTls(o.tls);
  const topo: Topology = o.cluster ? await fetchTopology([seed]) : { nodes: [seed], slotOwner: null };
  const phases: Array<[string, number]> = o.ratio
    ? [[`GET:SET ${o.ratio[0]}:${o.ratio[1]}`, o.ratio[0] / (o.ratio[0] + o.ratio[1])]]
    : o.tests.map((t) => [t.toUpperCase(), t === 'get' ? 1 : 0]);
  const results: PhaseResult[] = [];
  for (const [name, readShare] of phases) {
    const r = await runPhase(o, name, readShare, topo);
    results.push(r);
    process.stdout.write(summaryLine(r) + '\n');
  }
  const durationS = results.reduce((a, r) => a + r.durationS, 0);
  const requests = results.reduce((a, r) => a + r.requests, 0);
  const cpus = os.cpus();
  const result: LoadgenResult = {
    tool: 'tessera bench',
    startedAt,
    machine: { hostname: os.hostname(), cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version },
    config: { ...o, mode: o.rate > 0 ? 'open-loop' : 'closed-loop', nodes: topo.nodes, clusterDetected: topo.slotOwner !== null },
    totals: { requests, errors: results.reduce((a, r) => a + r.errors, 0), durationS, rps: durationS > 0 ? requests / durationS : 0 },
    phases: results,
  };
  if (o.json) writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');
  if (o.svg) writeFileSync(o.svg, renderChart(results));
  return results;
}
