// `tessera bench`: drives a RESP server (or a Redis Cluster) from several worker threads and
// reports throughput and latency percentiles, per phase, with a per-second series. The protocol
// is RESP only for now; the worker's command templates are where another protocol would plug in.

import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { valueEnd } from './reply-scanner.js';
import { renderChart, type SeriesPoint } from './svg-chart.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

export class LoadgenUsageError extends Error {}

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
  json: string | null;
  svg: string | null;
  quiet: boolean;
  seed: number;
}


export function parseLoadgenArgs(argv: string[]): LoadgenOptions {
  const o: LoadgenOptions = {
    host: '127.0.0.1', port: 6379, threads: 1, clients: 50, pipeline: 1, requests: 100_000, durationS: 0,
    keys: 100_000, keyPrefix: 'key:', dist: 'uniform', zipfS: 0.99, valueSize: 32, tests: ['set', 'get'],
    ratio: null, rate: 0, cluster: false, json: null, svg: null, quiet: false, seed: 1,
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new LoadgenUsageError(`${flag} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (flag) {
      case '-h': case '--host': o.host = next() ?? o.host; break;
      case '-p': case '--port': o.port = int(flag, next(), 1); break;
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
      case '--json': o.json = next() ?? null; break;
      case '--svg': o.svg = next() ?? null; break;
      case '-q': case '--quiet': o.quiet = true; break;
      case '--seed': o.seed = int(flag, next(), 0); break;
      default: throw new LoadgenUsageError(`unknown option '${flag}' (tessera bench --help lists them)`);
    }
  }
  if (o.threads > o.clients) o.threads = o.clients;
  return o;
}

// --- cluster discovery -----------------------------------------------------------------------------

type Resp = string | number | null | Resp[] | { error: string };

function decode(b: Buffer, off: number): { v: Resp; end: number } {
  const end = valueEnd(b, off);
  const nl = b.indexOf(13, off);
  const line = b.toString('latin1', off + 1, nl);
  switch (b[off]) {
    case 43: return { v: line, end };
    case 45: return { v: { error: line }, end };
    case 58: return { v: Number(line), end };
    case 36: return { v: Number(line) < 0 ? null : b.toString('latin1', nl + 2, nl + 2 + Number(line)), end };
    case 42: {
      const n = Number(line);
      const items: Resp[] = [];
      let p = nl + 2;
      for (let i = 0; i < n; i++) {
        const r = decode(b, p);
        items.push(r.v);
        p = r.end;
      }
      return { v: items, end };
    }
    default: return { v: null, end };
  }
}

/** One command, one reply, on a fresh connection. */
function ask(host: string, port: number, args: string[]): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${host}:${port} did not answer ${args[0]}`));
    }, 5000);
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (valueEnd(buf, 0) < 0) return;
      clearTimeout(timer);
      s.destroy();
      resolve(decode(buf, 0).v);
    });
    s.write(args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).reduce((h, x) => h + x, `*${args.length}\r\n`));
  });
}

async function discover(o: LoadgenOptions): Promise<{ nodes: WorkerJob['nodes']; slotOwner: Uint16Array | null }> {
  const seed = { host: o.host, port: o.port };
  if (!o.cluster) return { nodes: [seed], slotOwner: null };
  const slots = await ask(o.host, o.port, ['CLUSTER', 'SLOTS']);
  if (!Array.isArray(slots) || slots.length === 0) return { nodes: [seed], slotOwner: null };
  const nodes: WorkerJob['nodes'] = [];
  const owner = new Uint16Array(16384);
  for (const range of slots) {
    if (!Array.isArray(range)) continue;
    const [start, end, primary] = range;
    if (typeof start !== 'number' || typeof end !== 'number' || !Array.isArray(primary)) continue;
    const host = typeof primary[0] === 'string' && primary[0] !== '' ? primary[0] : o.host;
    const port = Number(primary[1]);
    let idx = nodes.findIndex((n) => n.host === host && n.port === port);
    if (idx < 0) idx = nodes.push({ host, port }) - 1;
    owner.fill(idx, start, end + 1);
  }
  return { nodes, slotOwner: owner };
}

// --- phases ----------------------------------------------------------------------------------------

export interface PhaseResult {
  name: string;
  requests: number;
  errors: number;
  firstError: string;
  durationS: number;
  rps: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  series: Array<SeriesPoint & { p50Ms: number }>;
}

function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

async function runPhase(o: LoadgenOptions, name: string, readShare: number, topo: Awaited<ReturnType<typeof discover>>): Promise<PhaseResult> {
  const total = new Histogram();
  const series: PhaseResult['series'] = [];
  let done = 0;
  let errors = 0;
  let firstError = '';
  let tickDone = 0;
  const tickHist = new Histogram();
  let ticks = 0;
  const t0 = performance.now();
  const tty = process.stderr.isTTY === true;
  const target = o.durationS > 0 ? 0 : o.requests;

  const workers = Array.from({ length: o.threads }, (_, i) => {
    const job: WorkerJob = {
      nodes: topo.nodes,
      slotOwner: topo.slotOwner,
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
    };
    return new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
  });

  let pendingTicks = 0;
  const flushTick = (): void => {
    ticks++;
    const p: PhaseResult['series'][number] = {
      t: ticks,
      rps: tickDone,
      p50Ms: tickHist.percentile(50) / 1000,
      p99Ms: tickHist.percentile(99) / 1000,
    };
    series.push(p);
    if (!o.quiet) {
      const progress = target > 0 ? ` ${((100 * done) / target).toFixed(0)}%` : '';
      const line = `${name}: ${tickDone} rps, p50 ${p.p50Ms.toFixed(3)} ms, p99 ${p.p99Ms.toFixed(3)} ms${progress}`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : line + '\n');
    }
    tickDone = 0;
    tickHist.reset();
  };

  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.on('message', (m: WorkerMessage) => {
            if (m.type === 'tick') {
              tickDone += m.done;
              const h = new Histogram(m.counts);
              h.maxUs = m.maxUs;
              tickHist.add(h);
              if (++pendingTicks === workers.length) {
                pendingTicks = 0;
                flushTick();
              }
            } else if (m.type === 'done') {
              done += m.done;
              errors += m.errors;
              if (firstError === '') firstError = m.firstError;
              const h = new Histogram(m.counts);
              h.maxUs = m.maxUs;
              total.add(h);
              void w.terminate().then(() => resolve());
            } else {
              void w.terminate();
              reject(new Error(m.message));
            }
          });
          w.on('error', reject);
        }),
    ),
  );
  if (!o.quiet && tty) process.stderr.write('\r\x1b[K');
  const durationS = (performance.now() - t0) / 1000;
  return {
    name,
    requests: done,
    errors,
    firstError,
    durationS,
    rps: done / durationS,
    latencyMs: {
      p50: total.percentile(50) / 1000,
      p99: total.percentile(99) / 1000,
      p999: total.percentile(99.9) / 1000,
      max: total.maxUs / 1000,
    },
    series,
  };
}

export async function runLoadgen(o: LoadgenOptions): Promise<PhaseResult[]> {
  const topo = await discover(o);
  const phases: Array<[string, number]> = o.ratio
    ? [[`GET:SET ${o.ratio[0]}:${o.ratio[1]}`, o.ratio[0] / (o.ratio[0] + o.ratio[1])]]
    : o.tests.map((t) => [t.toUpperCase(), t === 'get' ? 1 : 0]);
  const results: PhaseResult[] = [];
  for (const [name, readShare] of phases) {
    const r = await runPhase(o, name, readShare, topo);
    results.push(r);
    const l = r.latencyMs;
    process.stdout.write(
      `${r.name}: ${r.rps.toFixed(2)} requests per second, p50=${l.p50.toFixed(3)} msec p99=${l.p99.toFixed(3)} msec p99.9=${l.p999.toFixed(3)} msec max=${l.max.toFixed(3)} msec` +
        (r.errors > 0 ? ` (${r.errors} errors, first: ${r.firstError})` : '') +
        '\n',
    );
  }
  if (o.json) {
    const mode = o.rate > 0 ? 'open-loop' : 'closed-loop';
    writeFileSync(o.json, JSON.stringify({ config: { ...o, mode, nodes: topo.nodes }, phases: results }, null, 2) + '\n');
  }
  if (o.svg) writeFileSync(o.svg, renderChart(results));
  return results;
}
