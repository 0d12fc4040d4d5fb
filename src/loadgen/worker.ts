// One load-generator thread: owns its share of the connections, writes pre-encoded commands
// (one buffer per pipeline batch, key digits rewritten in place), counts replies with a scanner
// and records latencies into an HdrHistogram, reporting to the parent once a second.
// Closed loop: each connection sends `pipeline` commands and waits for all their replies, as
// redis-benchmark does; every command of a batch is timed from the batch's send. Open loop:
// commands are due on a fixed schedule and each latency is measured from the command's intended
// send time, so time spent queued (in this process or the server) is never hidden.
// Cluster: keys go to the connection of the node that owns their slot; a MOVED or ASK reply
// refreshes the slot map and the request is sent again (it counts once, when answered).

import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { keySlot } from '../keyspace/slot.js';
import { fetchTopology, type NodeAddress, type Topology } from './cluster.js';
import { LatencyHistogram } from './histogram.js';
import { makeRandom, uniformSampler, zipfSampler, type KeySampler } from './keys.js';
import { wireProtocol, writeKeyDigits, type CommandTemplate, type ProtocolName, type ReplyCounter } from './protocol.js';

export interface WorkerJob {
  protocol: ProtocolName;
  topology: Topology;
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

interface Counts {
  done: number;
  errors: number;
  redirects: number;
  /** HdrHistogram compressed encoding (LatencyHistogram.encode). */
  histogram: string;
}

export type WorkerMessage =
  | ({ type: 'tick'; index: number; intervalMs: number; /** the run's final, partial interval */ last: boolean } & Counts)
  | ({ type: 'done'; firstError: string; slotMapRefreshes: number } & Counts)
  | { type: 'ready' }
  | { type: 'failed'; message: string };

/** From the parent: start sending (every thread is connected, so the clock starts for all at once). */
export type ParentMessage = { type: 'go' };

const TICK_MS = 1000;
/** Warm-up before the clock starts: rounds of this many commands encoded and replies scanned. */
const WARM_UP_BATCH = 64;
const WARM_UP_ROUNDS = 500;
/** Open loop: commands in flight per connection; past it, due commands wait (still timed from their due time). */
const OPEN_LOOP_IN_FLIGHT_MAX = 16_384;
/** Open loop: commands written to one connection per scheduler turn; the rest wait for the next turn. */
const OPEN_LOOP_BATCH_MAX = 1024;
/** Cluster: draws of a key owned by the connection's node before sending a foreign key anyway (it gets MOVED). */
const ROUTE_ATTEMPTS_MAX = 1000;
/** Cluster: slot map refreshes are at least this far apart; a MOVED meanwhile schedules one. */
const REFRESH_MIN_INTERVAL_MS = 100;
/** A timed run whose server stops answering is ended this long after its deadline. */
const STALL_GRACE_MS = 5000;

class Conn {
  socket!: net.Socket;
  counter!: ReplyCounter;
  ready = false;
  inFlight = 0;
  batchStartMs = 0;
  /** Open loop: intended send times of the commands in flight, oldest first (a ring). */
  readonly intended: Float64Array;
  intendedHead = 0;

  constructor(
    public node: number,
    public address: NodeAddress,
    /** Closed loop: reused for every batch (see sendBatch). Open loop: scratch for one turn. */
    readonly batch: Buffer,
    openLoop: boolean,
  ) {
    this.intended = new Float64Array(openLoop ? OPEN_LOOP_IN_FLIGHT_MAX : 0);
  }

  pushIntended(ms: number): void {
    this.intended[(this.intendedHead + this.inFlight) % this.intended.length] = ms;
    this.inFlight++;
  }

  shiftIntended(): number {
    const ms = this.intended[this.intendedHead]!;
    this.intendedHead = (this.intendedHead + 1) % this.intended.length;
    this.inFlight--;
    return ms;
  }
}

/** Slots served by each node of a topology (one node without a slot map serves them all). */
function slotCounts(t: Topology): number[] {
  const n = new Array<number>(t.nodes.length).fill(0);
  if (t.slotOwner === null) {
    n[0] = 1;
    return n;
  }
  for (const owner of t.slotOwner) n[owner]!++;
  return n;
}

function run(job: WorkerJob): void {
  const protocol = wireProtocol(job.protocol);
  const random = makeRandom(job.seed);
  const sample: KeySampler = job.dist === 'zipf' ? zipfSampler(job.keys, job.zipfS, random) : uniformSampler(job.keys, random);
  const get = protocol.template('get', job.keyPrefix, job.valueSize);
  const set = protocol.template('set', job.keyPrefix, job.valueSize);
  const commandMax = Math.max(get.bytes.length, set.bytes.length);
  const openLoop = job.ratePerSec > 0;

  let started = false;
  let finished = false;
  let topology = job.topology;
  let slotsOf = slotCounts(topology);
  /** Whether some connection may need to move to another node (checked before each batch only then). */
  let unbalanced = false;
  let refreshing = false;
  let refreshTimer: NodeJS.Timeout | null = null;
  let lastRefreshMs = -Infinity;
  let slotMapRefreshes = 0;
  /** Closed loop: idle connections waiting for a slot map refresh to finish. */
  const parked = new Set<Conn>();

  const hist = new LatencyHistogram();
  const interval = new LatencyHistogram();
  let issued = 0;
  let done = 0;
  let errors = 0;
  let redirects = 0;
  let intervalDone = 0;
  let intervalErrors = 0;
  let intervalRedirects = 0;
  let tickIndex = 0;
  let lastTickMs = performance.now();
  let ticker: NodeJS.Timeout | null = null;
  /** Set at 'go': a timed run ends durationMs after it. */
  let endMs = Infinity;
  const conns: Conn[] = [];

  /** Closed loop: whether another request may be issued. */
  const more = (): boolean => (job.requests > 0 ? issued < job.requests : performance.now() < endMs);

  /** Encodes one request for a key owned by c's node at buf[off..]; returns the end offset. */
  const encodeOne = (c: Conn, buf: Buffer, off: number): number => {
    const t: CommandTemplate = random() < job.readShare ? get : set;
    t.bytes.copy(buf, off);
    const owner = topology.slotOwner;
    for (let attempt = 0; ; attempt++) {
      writeKeyDigits(buf, off + t.digitsAt, sample());
      if (owner === null || owner[keySlot(buf, off + t.keyAt, t.keyLen)] === c.node || attempt >= ROUTE_ATTEMPTS_MAX) break;
    }
    return off + t.bytes.length;
  };

  // --- cluster topology -------------------------------------------------------------------------

  const connsOf = (): number[] => {
    const n = new Array<number>(topology.nodes.length).fill(0);
    for (const c of conns) if (c.node >= 0) n[c.node]!++;
    return n;
  };

  /** Whether an idle connection should move: its node serves no slots, or a node with slots has no connection here while its node has several. */
  const needsRetarget = (c: Conn): boolean => {
    if (topology.slotOwner === null) return false;
    if (c.node < 0 || slotsOf[c.node] === 0) return true;
    const per = connsOf();
    return per[c.node]! > 1 && per.some((k, i) => k === 0 && slotsOf[i]! > 0);
  };

  const retarget = (c: Conn): void => {
    const per = connsOf();
    if (c.node >= 0) per[c.node]!--;
    let best = -1;
    for (let i = 0; i < per.length; i++) if (slotsOf[i]! > 0 && (best < 0 || per[i]! < per[best]!)) best = i;
    if (best < 0) return fail('the cluster reports no node serving any slot');
    c.socket.removeAllListeners();
    c.socket.on('error', () => {});
    c.socket.destroy();
    open(c, best);
    unbalanced = conns.some(needsRetarget);
  };

  const applyTopology = (next: Topology): void => {
    if (next.slotOwner === null) return; // a cluster that stops answering CLUSTER SLOTS: keep the last map
    topology = next;
    slotsOf = slotCounts(next);
    for (const c of conns) c.node = next.nodes.findIndex((n) => n.host === c.address.host && n.port === c.address.port);
    unbalanced = conns.some(needsRetarget);
  };

  const refresh = (): void => {
    if (topology.slotOwner === null || refreshing || refreshTimer !== null || finished) return;
    const waitMs = lastRefreshMs + REFRESH_MIN_INTERVAL_MS - performance.now();
    if (waitMs > 0) {
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        refresh();
      }, waitMs);
      return;
    }
    refreshing = true;
    slotMapRefreshes++;
    fetchTopology(topology.nodes).then(
      (next) => {
        refreshing = false;
        lastRefreshMs = performance.now();
        if (finished) return;
        applyTopology(next);
        const waiting = [...parked];
        parked.clear();
        for (const c of waiting) sendBatch(c);
        checkFinished();
      },
      (err: unknown) => fail(`slot map refresh: ${err instanceof Error ? err.message : String(err)}`),
    );
  };

  // --- closed loop ------------------------------------------------------------------------------

  /**
   * Sends c's next batch. The batch buffer is reused: a new batch is only written once every
   * reply to the previous one has arrived, so the server has read all of its bytes and neither
   * the socket nor libuv holds a reference to them any longer.
   */
  const sendBatch = (c: Conn): void => {
    if (!c.ready || c.inFlight > 0 || finished) return;
    if (refreshing) {
      parked.add(c);
      return;
    }
    if (!more()) return;
    if (unbalanced && needsRetarget(c)) return retarget(c);
    let off = 0;
    let n = 0;
    while (n < job.pipeline && more()) {
      off = encodeOne(c, c.batch, off);
      issued++;
      n++;
    }
    c.inFlight = n;
    c.batchStartMs = performance.now();
    c.socket.write(c.batch.subarray(0, off));
  };

  // --- open loop --------------------------------------------------------------------------------

  let openTimer: NodeJS.Timeout | null = null;
  let scheduled = 0;
  let cursor = 0;
  /** Intended send times of redirected requests, to be sent again (bounded by what was in flight). */
  const retries: number[] = [];
  const slotsLeft = (): boolean => (job.requests > 0 ? scheduled < job.requests : performance.now() < endMs);

  /** Index of a connection with room for one more command this turn, round robin; -1 when none. */
  const pickConn = (used: Int32Array): number => {
    for (let k = 0; k < conns.length; k++) {
      const i = (cursor + k) % conns.length;
      const c = conns[i]!;
      if (!c.ready || c.inFlight >= OPEN_LOOP_IN_FLIGHT_MAX || used[i]! >= OPEN_LOOP_BATCH_MAX) continue;
      if (unbalanced && c.inFlight === 0 && used[i] === 0 && needsRetarget(c)) {
        retarget(c);
        continue;
      }
      cursor = i + 1;
      return i;
    }
    return -1;
  };

  const openTurn = (t0: number): void => {
    const due = Math.floor(((performance.now() - t0) * job.ratePerSec) / 1000);
    const used = new Int32Array(conns.length);
    const offs = new Int32Array(conns.length);
    const send = (intendedMs: number): boolean => {
      const i = pickConn(used);
      if (i < 0) return false;
      const c = conns[i]!;
      offs[i] = encodeOne(c, c.batch, offs[i]!);
      used[i]!++;
      c.pushIntended(intendedMs);
      issued++;
      return true;
    };
    while (retries.length > 0 && send(retries[retries.length - 1]!)) retries.pop();
    while (scheduled < due && slotsLeft() && send(t0 + (scheduled * 1000) / job.ratePerSec)) scheduled++;
    for (let i = 0; i < conns.length; i++) {
      // The scratch batch is reused next turn while this write may still be queued: copy it.
      if (offs[i]! > 0) conns[i]!.socket.write(Buffer.from(conns[i]!.batch.subarray(0, offs[i]!)));
    }
    checkFinished();
  };

  // --- replies ----------------------------------------------------------------------------------

  const onData = (c: Conn, chunk: Buffer): void => {
    const counter = c.counter;
    const errors0 = counter.errors;
    const redirects0 = counter.redirects;
    const n = counter.feed(chunk);
    if (n === 0) return;
    const now = performance.now();
    let redirected = topology.slotOwner !== null ? counter.redirects - redirects0 : 0;
    if (openLoop) {
      // Redirected requests keep their intended time and are sent again; redirects past the
      // scanner's position table (thousands in one chunk) are counted as plain errors.
      redirected = Math.min(redirected, counter.redirectCount);
      let r = 0;
      for (let i = 0; i < n; i++) {
        const intendedMs = c.shiftIntended();
        if (r < redirected && counter.redirectAt[r] === i) {
          r++;
          retries.push(intendedMs);
          issued--;
          continue;
        }
        const us = (now - intendedMs) * 1000;
        hist.record(us);
        interval.record(us);
      }
    } else {
      const us = (now - c.batchStartMs) * 1000;
      hist.recordMany(us, n - redirected);
      interval.recordMany(us, n - redirected);
      c.inFlight -= n;
      issued -= redirected;
    }
    const answered = n - redirected;
    const failed = counter.errors - errors0 - redirected;
    done += answered;
    intervalDone += answered;
    errors += failed;
    intervalErrors += failed;
    redirects += redirected;
    intervalRedirects += redirected;
    if (redirected > 0) refresh();
    if (!openLoop) sendBatch(c);
    checkFinished();
  };

  // --- connections ------------------------------------------------------------------------------

  const open = (c: Conn, node: number): void => {
    const address = topology.nodes[node]!;
    c.node = node;
    c.address = address;
    c.ready = false;
    c.inFlight = 0;
    c.intendedHead = 0;
    c.counter = protocol.replyCounter();
    c.socket = net.connect({ host: address.host, port: address.port, noDelay: true });
    c.socket.on('data', (chunk: Buffer) => onData(c, chunk));
    c.socket.on('error', (err) => fail(`${address.host}:${address.port}: ${err.message}`));
    c.socket.on('close', () => fail(`${address.host}:${address.port} closed the connection`));
    c.socket.once('connect', () => {
      c.ready = true;
      if (started && !openLoop) sendBatch(c);
      else if (!started && conns.every((x) => x.ready)) parentPort!.postMessage({ type: 'ready' } satisfies WorkerMessage);
    });
  };

  const start = (): void => {
    started = true;
    lastTickMs = performance.now();
    if (job.requests === 0) endMs = lastTickMs + job.durationMs;
    ticker = setInterval(() => {
      postTick(false);
      if (performance.now() > endMs + STALL_GRACE_MS) finish();
    }, TICK_MS);
    if (!openLoop) {
      for (const c of conns) sendBatch(c);
      return checkFinished();
    }
    const t0 = performance.now();
    openTimer = setInterval(() => openTurn(t0), 1);
    openTurn(t0);
  };

  /**
   * Runs the encoder, reply scanner and histogram on scratch data (no traffic) so that V8 has
   * compiled them before the clock starts: a short closed-loop run would otherwise spend a good
   * part of its time in the interpreter, which redis-benchmark, being C, does not.
   */
  const warmUp = (): void => {
    const scratch = new Conn(0, topology.nodes[0]!, Buffer.allocUnsafe(WARM_UP_BATCH * commandMax), false);
    const counter = protocol.replyCounter();
    const replies = Buffer.from('+OK\r\n$-1\r\n$3\r\nabc\r\n'.repeat(WARM_UP_BATCH / 4));
    const h = new LatencyHistogram();
    for (let round = 0; round < WARM_UP_ROUNDS; round++) {
      let off = 0;
      for (let i = 0; i < WARM_UP_BATCH; i++) off = encodeOne(scratch, scratch.batch, off);
      counter.feed(replies);
      h.recordMany(round, WARM_UP_BATCH);
    }
  };
  warmUp();

  const batchBytes = (openLoop ? OPEN_LOOP_BATCH_MAX : job.pipeline) * commandMax;
  for (let i = 0; i < job.connections; i++) {
    const node = (job.firstConnection + i) % topology.nodes.length;
    const c = new Conn(node, topology.nodes[node]!, Buffer.allocUnsafe(batchBytes), openLoop);
    conns.push(c);
    open(c, node);
  }

  // --- reporting and the end --------------------------------------------------------------------

  const takeInterval = (): Counts => {
    const counts = { done: intervalDone, errors: intervalErrors, redirects: intervalRedirects, histogram: interval.encode() };
    interval.reset();
    intervalDone = 0;
    intervalErrors = 0;
    intervalRedirects = 0;
    return counts;
  };

  const postTick = (last: boolean): void => {
    const now = performance.now();
    parentPort!.postMessage({ type: 'tick', index: tickIndex++, intervalMs: now - lastTickMs, last, ...takeInterval() } satisfies WorkerMessage);
    lastTickMs = now;
  };

  parentPort!.on('message', (m: ParentMessage) => {
    if (m.type === 'go' && !started && !finished) start();
  });

  function checkFinished(): void {
    if (!started || finished) return;
    const idle = conns.every((x) => x.inFlight === 0);
    if (openLoop ? !slotsLeft() && retries.length === 0 && idle : !more() && idle) finish();
  }

  function stop(): void {
    finished = true;
    if (ticker) clearInterval(ticker);
    parentPort!.removeAllListeners('message');
    if (openTimer) clearInterval(openTimer);
    if (refreshTimer) clearTimeout(refreshTimer);
    for (const c of conns) {
      c.socket.removeAllListeners();
      c.socket.on('error', () => {});
      c.socket.destroy();
    }
  }

  function finish(): void {
    if (finished) return;
    if (intervalDone > 0 || tickIndex === 0) postTick(true);
    stop();
    const firstError = conns.map((c) => c.counter.firstError).find((e) => e !== '') ?? '';
    parentPort!.postMessage({ type: 'done', done, errors, redirects, firstError, slotMapRefreshes, histogram: hist.encode() } satisfies WorkerMessage);
  }

  function fail(message: string): void {
    if (finished) return;
    stop();
    parentPort!.postMessage({ type: 'failed', message } satisfies WorkerMessage);
  }
}

if (parentPort) run(workerData as WorkerJob);
