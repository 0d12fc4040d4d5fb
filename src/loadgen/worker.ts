// One load-generator thread: owns its share of the connections, writes pre-encoded commands
// (one buffer per pipeline batch, key digits rewritten in place), counts replies with a scanner
// and records latencies into an HdrHistogram, reporting to the parent once a second.
// Closed loop: each connection sends `pipeline` commands and waits for all their replies, as
// redis-benchmark does; every command of a batch is timed from the batch's send. Open loop:
// commands are due on a fixed schedule and each latency is measured from the command's intended
// send time, so time spent queued (in this process or the server) is never hidden.
// Cluster, Redis's client rule: keys go to the connection of the node that owns their slot; a
// MOVED reply refreshes the slot map and the request is issued again (it counts once, when
// answered). An ASK reply leaves the map alone: the same request goes once more, preceded by
// ASKING, to the node the reply names, on this thread's link to that node (opened at its first
// ASK), and counts once when that node answers, timed from its first send. Each connection
// remembers the key and command of every request in flight, so a redirected one can be re-encoded.

import type net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { keySlot } from '../keyspace/slot.js';
import { fetchTopology, type NodeAddress, type Topology } from './cluster.js';
import { openLink as dialNode, setLinkTls, type LoadgenTls } from './link.js';
import { LatencyHistogram } from './histogram.js';
import { makeRandom, uniformSampler, zipfSampler, type KeySampler } from './keys.js';
import { wireProtocol, writeKeyDigits, type CommandTemplate, type ProtocolName, type ReplyCounter } from './protocol.js';
import { RedirectTargets } from './reply-scanner.js';

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
  /** SELECT this database on each connection before it counts as ready (0: none). */
  dbnum?: number;
  /** --tls: connections are TLS with these files. */
  tls?: LoadgenTls | null;
}

interface Counts {
  done: number;
  errors: number;
  redirects: number;
  /** GET replies with a value, and GET replies for a missing key. */
  hits: number;
  misses: number;
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
/** A run with requests in flight and no byte received for this long fails (a dead server, or one
 *  that does not speak the protocol and waits for more bytes). */
const SILENCE_MAX_MS = 10_000;
/** The reply to --dbnum's SELECT. */
const SELECT_OK = Buffer.from('+OK\r\n');
/** ASK: requests waiting for an answer on one link; past it, an ASK is handled like a MOVED. */
const ASK_PENDING_MAX = 65_536;
/** ASK: bytes of ASKING + command pairs gathered for one link before they are written. */
const ASK_WRITE_BYTES = 64 * 1024;

const OP_GET = 0;
const OP_SET = 1;

class Conn {
  socket!: net.Socket;
  counter!: ReplyCounter;
  ready = false;
  /** Requests whose replies are due on this socket. */
  inFlight = 0;
  /** Closed loop: requests of the current batch sent elsewhere after an ASK, not yet answered. */
  asked = 0;
  /** Closed loop: replies of the current batch received so far. */
  seen = 0;
  batchStartMs = 0;
  /** The next request number (memcached's opaque; the reply counter expects the same sequence). */
  seq = 0;
  /** Key index and OP_GET/OP_SET of each request in flight: closed loop by position in the
   *  batch, open loop in the ring beside `intended`. */
  readonly reqKey: Float64Array;
  readonly reqOp: Uint8Array;
  /** Open loop: intended send times of the commands in flight, oldest first (a ring). */
  readonly intended: Float64Array;
  intendedHead = 0;

  constructor(
    readonly index: number,
    public node: number,
    public address: NodeAddress,
    /** Closed loop: reused for every batch (see sendBatch). Open loop: scratch for one turn. */
    readonly batch: Buffer,
    openLoop: boolean,
    requestsMax: number,
  ) {
    this.intended = new Float64Array(openLoop ? OPEN_LOOP_IN_FLIGHT_MAX : 0);
    this.reqKey = new Float64Array(requestsMax);
    this.reqOp = new Uint8Array(requestsMax);
  }

  /** Open loop: the ring slot the next request pushed will take. */
  nextSlot(): number {
    return (this.intendedHead + this.inFlight) % this.intended.length;
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

/**
 * A connection to a node named by ASK replies. Each request goes as an ASKING + command pair
 * and waits in a ring (FIFO, as the node answers in order) with what is needed to account for
 * it: the connection it came from (closed loop; -1 in the open loop), its key and command, and
 * the time it is measured from.
 */
class AskLink {
  socket!: net.Socket;
  counter!: ReplyCounter;
  readonly origin = new Int32Array(ASK_PENDING_MAX);
  readonly key = new Float64Array(ASK_PENDING_MAX);
  readonly op = new Uint8Array(ASK_PENDING_MAX);
  readonly startMs = new Float64Array(ASK_PENDING_MAX);
  head = 0;
  count = 0;
  /** Whether the next reply is ASKING's (true) or its command's. */
  expectAsking = true;
  /** Pairs gathered and not yet written, and whether the link is on the flush list. */
  outOff = 0;
  queued = false;

  constructor(
    readonly address: NodeAddress,
    readonly out: Buffer,
  ) {}
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
  setLinkTls(job.tls);
  const protocol = wireProtocol(job.protocol);
  const random = makeRandom(job.seed);
  const sample: KeySampler = job.dist === 'zipf' ? zipfSampler(job.keys, job.zipfS, random) : uniformSampler(job.keys, random);
  const get = protocol.template('get', job.keyPrefix, job.valueSize);
  const set = protocol.template('set', job.keyPrefix, job.valueSize);
  const commandMax = Math.max(get.bytes.length, set.bytes.length);
  const openLoop = job.ratePerSec > 0;
  /** Nodes named by ASK replies, shared by every connection's reply counter. */
  const targets = new RedirectTargets();

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
  let hits = 0;
  let misses = 0;
  let intervalDone = 0;
  let intervalErrors = 0;
  let intervalRedirects = 0;
  let intervalHits = 0;
  let intervalMisses = 0;
  /** Adds one read's outcome to the run's and the current interval's counts. */
  const tally = (answered: number, failed: number, redirected: number, hitCount: number, missCount: number): void => {
    done += answered;
    intervalDone += answered;
    errors += failed;
    intervalErrors += failed;
    redirects += redirected;
    intervalRedirects += redirected;
    hits += hitCount;
    intervalHits += hitCount;
    misses += missCount;
    intervalMisses += missCount;
  };
  let tickIndex = 0;
  let lastTickMs = performance.now();
  let ticker: NodeJS.Timeout | null = null;
  /** Set at 'go': a timed run ends durationMs after it. */
  let endMs = Infinity;
  /** When bytes last arrived on any connection (checked once a second against SILENCE_MAX_MS). */
  let lastDataMs = 0;
  const conns: Conn[] = [];
  /** ASK links by target index (see `targets`), and those with pairs not yet written. */
  const links: Array<AskLink | undefined> = [];
  const unflushed: AskLink[] = [];
  /** Requests sent on an ASK link and not yet answered, over all links. */
  let askPending = 0;

  /** Closed loop: whether another request may be issued. */
  const more = (): boolean => (job.requests > 0 ? issued < job.requests : performance.now() < endMs);

  /**
   * Encodes one request for a key owned by c's node at buf[off..], remembering its key and
   * command at c.reqKey/reqOp[slot]; returns the end offset.
   */
  const encodeOne = (c: Conn, buf: Buffer, off: number, slot: number): number => {
    const isGet = random() < job.readShare;
    const t: CommandTemplate = isGet ? get : set;
    t.bytes.copy(buf, off);
    const owner = topology.slotOwner;
    let key = 0;
    for (let attempt = 0; ; attempt++) {
      key = sample();
      writeKeyDigits(buf, off + t.digitsAt, key);
      if (owner === null || owner[keySlot(buf, off + t.keyAt, t.keyLen)] === c.node || attempt >= ROUTE_ATTEMPTS_MAX) break;
    }
    if (t.opaqueAt >= 0) {
      buf.writeUInt32BE(c.seq, off + t.opaqueAt);
      c.seq = (c.seq + 1) >>> 0;
    }
    c.reqKey[slot] = key;
    c.reqOp[slot] = isGet ? OP_GET : OP_SET;
    return off + t.bytes.length;
  };

  /** Records n equal latencies in the run's and the interval's histograms. */
  const record = (us: number, n: number): void => {
    if (n === 1) {
      hist.record(us);
      interval.record(us);
    } else {
      hist.recordMany(us, n);
      interval.recordMany(us, n);
    }
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

  // --- ASK --------------------------------------------------------------------------------------

  const openLink = (target: number): AskLink => {
    const address = targets.addresses[target]!;
    const link = new AskLink(address, Buffer.allocUnsafe(Math.max(ASK_WRITE_BYTES, (protocol.asking?.length ?? 0) + commandMax)));
    link.counter = protocol.replyCounter(targets);
    link.socket = dialNode(address.host, address.port).socket;
    link.socket.on('data', (chunk: Buffer) => {
      try {
        onAskData(link, chunk);
      } catch (e) {
        unreadable(address, e);
      }
    });
    link.socket.on('error', (err) => fail(`${address.host}:${address.port} (ASK): ${err.message}`));
    link.socket.on('close', () => fail(`${address.host}:${address.port} (ASK) closed the connection`));
    links[target] = link;
    return link;
  };

  /** Writes the pairs gathered for a link (a copy: its buffer is reused while the write may be queued). */
  const flushLink = (link: AskLink): void => {
    if (link.outOff > 0) link.socket.write(Buffer.from(link.out.subarray(0, link.outOff)));
    link.outOff = 0;
  };

  const flushAsks = (): void => {
    for (const link of unflushed) {
      flushLink(link);
      link.queued = false;
    }
    unflushed.length = 0;
  };

  /**
   * Queues ASKING + the request (key, op) for the node `target`, to be written by flushAsks();
   * `origin` is the closed-loop connection it counts against (-1 in the open loop). False when
   * it cannot go (no ASKING in this protocol, or the link's ring is full): handle it as a MOVED.
   */
  const askSend = (target: number, origin: number, key: number, op: number, startMs: number): boolean => {
    const asking = protocol.asking;
    if (asking === null) return false;
    const link = links[target] ?? openLink(target);
    if (link.count >= ASK_PENDING_MAX) return false;
    const t = op === OP_GET ? get : set;
    if (link.outOff + asking.length + t.bytes.length > link.out.length) flushLink(link);
    asking.copy(link.out, link.outOff);
    link.outOff += asking.length;
    t.bytes.copy(link.out, link.outOff);
    writeKeyDigits(link.out, link.outOff + t.digitsAt, key);
    link.outOff += t.bytes.length;
    const at = (link.head + link.count) % ASK_PENDING_MAX;
    link.origin[at] = origin;
    link.key[at] = key;
    link.op[at] = op;
    link.startMs[at] = startMs;
    link.count++;
    askPending++;
    if (!link.queued) {
      link.queued = true;
      unflushed.push(link);
    }
    return true;
  };

  /** A request that goes back to be issued anew (MOVED after ASK): it leaves its connection's
   *  ASK count, and that connection's next batch may go (parked while the map is refreshed). */
  const requeue = (origin: number, startMs: number): void => {
    issued--;
    refresh();
    if (origin < 0) return void retries.push(startMs);
    const c = conns[origin]!;
    c.asked--;
    if (c.inFlight === 0 && c.asked === 0) sendBatch(c);
  };

  const onAskData = (link: AskLink, chunk: Buffer): void => {
    const counter = link.counter;
    const errors0 = counter.errors;
    const hits0 = counter.hits;
    const misses0 = counter.misses;
    const n = counter.feed(chunk);
    const now = performance.now();
    lastDataMs = now;
    if (n === 0) return;
    const table = counter.redirectCount;
    let r = 0;
    let answered = 0;
    for (let i = 0; i < n; i++) {
      if (link.expectAsking) {
        link.expectAsking = false;
        continue;
      }
      link.expectAsking = true;
      const at = link.head;
      link.head = (link.head + 1) % ASK_PENDING_MAX;
      link.count--;
      askPending--;
      const origin = link.origin[at]!;
      const startMs = link.startMs[at]!;
      if (r < table && counter.redirectAt[r] === i) {
        // Asked again (the slot moved on) or MOVED (the migration ended or was undone).
        const target = counter.redirectTarget[r++]!;
        if (target >= 0 && askSend(target, origin, link.key[at]!, link.op[at]!, startMs)) continue;
        requeue(origin, startMs);
        continue;
      }
      answered++;
      record((now - startMs) * 1000, 1);
      if (origin >= 0) {
        const c = conns[origin]!;
        c.asked--;
        if (c.inFlight === 0 && c.asked === 0) sendBatch(c);
      }
    }
    // ASK replies here were followed; MOVED ones were requeued: neither is an error.
    tally(answered, counter.errors - errors0 - r, r, counter.hits - hits0, counter.misses - misses0);
    flushAsks();
    checkFinished();
  };

  // --- closed loop ------------------------------------------------------------------------------

  /**
   * Sends c's next batch. The batch buffer is reused: a new batch is only written once every
   * reply to the previous one has arrived, so the server has read all of its bytes and neither
   * the socket nor libuv holds a reference to them any longer.
   */
  const sendBatch = (c: Conn): void => {
    if (!c.ready || c.inFlight > 0 || c.asked > 0 || finished) return;
    if (refreshing) {
      parked.add(c);
      return;
    }
    if (!more()) return;
    if (unbalanced && needsRetarget(c)) return retarget(c);
    let off = 0;
    let n = 0;
    while (n < job.pipeline && more()) {
      off = encodeOne(c, c.batch, off, n);
      issued++;
      n++;
    }
    c.inFlight = n;
    c.seen = 0;
    c.batchStartMs = performance.now();
    c.socket.write(c.batch.subarray(0, off));
  };

  // --- open loop --------------------------------------------------------------------------------

  let openTimer: NodeJS.Timeout | null = null;
  let scheduled = 0;
  let cursor = 0;
  /** Intended send times of requests redirected by MOVED, to be issued again (bounded by what was in flight). */
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
      offs[i] = encodeOne(c, c.batch, offs[i]!, c.nextSlot());
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
    const hits0 = counter.hits;
    const misses0 = counter.misses;
    const n = counter.feed(chunk);
    const now = performance.now();
    lastDataMs = now;
    if (n === 0) return;
    // Redirects are followed in cluster mode only, and those past the scanner's position table
    // (thousands in one read) are counted as plain errors.
    const table = topology.slotOwner !== null ? counter.redirectCount : 0;
    let moved = 0;
    if (openLoop) {
      // ASKed requests keep their intended time and go to the named node; MOVED ones keep it and
      // are issued again.
      let r = 0;
      for (let i = 0; i < n; i++) {
        const slot = c.intendedHead;
        const intendedMs = c.shiftIntended();
        if (r < table && counter.redirectAt[r] === i) {
          const target = counter.redirectTarget[r++]!;
          if (target >= 0 && askSend(target, -1, c.reqKey[slot]!, c.reqOp[slot]!, intendedMs)) continue;
          retries.push(intendedMs);
          issued--;
          moved++;
          continue;
        }
        record((now - intendedMs) * 1000, 1);
      }
    } else {
      const base = c.seen;
      c.seen += n;
      for (let r = 0; r < table; r++) {
        const target = counter.redirectTarget[r]!;
        const pos = base + counter.redirectAt[r]!;
        if (target >= 0 && askSend(target, c.index, c.reqKey[pos]!, c.reqOp[pos]!, c.batchStartMs)) {
          c.asked++;
        } else {
          issued--;
          moved++;
        }
      }
      record((now - c.batchStartMs) * 1000, n - table);
      c.inFlight -= n;
    }
    const answered = n - table;
    tally(answered, counter.errors - errors0 - table, table, counter.hits - hits0, counter.misses - misses0);
    if (moved > 0) refresh();
    if (table > moved) flushAsks();
    if (!openLoop) sendBatch(c);
    checkFinished();
  };

  /** Bytes a reply counter cannot follow (it threw) end the run with its message. */
  const unreadable = (address: NodeAddress, e: unknown): void => {
    fail(`${address.host}:${address.port}: ${e instanceof Error ? e.message : String(e)}`);
  };

  // --- connections ------------------------------------------------------------------------------

  const open = (c: Conn, node: number): void => {
    const address = topology.nodes[node]!;
    c.node = node;
    c.address = address;
    c.ready = false;
    c.inFlight = 0;
    c.asked = 0;
    c.seen = 0;
    c.seq = 0;
    c.intendedHead = 0;
    c.counter = protocol.replyCounter(targets);
    const opened = dialNode(address.host, address.port);
    c.socket = opened.socket;
    // --dbnum: the SELECT's +OK comes first and is not counted (any other reply ends the run).
    let selectReply = (job.dbnum ?? 0) > 0 ? SELECT_OK.length : 0;
    let selectSeen = '';
    c.socket.on('data', (chunk: Buffer) => {
      if (selectReply > 0) {
        const n = Math.min(selectReply, chunk.length);
        selectSeen += chunk.toString('latin1', 0, n);
        selectReply -= n;
        chunk = chunk.subarray(n);
        if (!SELECT_OK.toString('latin1').startsWith(selectSeen)) return fail(`${address.host}:${address.port}: SELECT ${job.dbnum} answered ${JSON.stringify(selectSeen)}`);
        if (selectReply === 0) ready();
        if (chunk.length === 0) return;
      }
      try {
        onData(c, chunk);
      } catch (e) {
        unreadable(address, e);
      }
    });
    c.socket.on('error', (err) => fail(`${address.host}:${address.port}: ${err.message}`));
    c.socket.on('close', () => fail(`${address.host}:${address.port} closed the connection`));
    const ready = (): void => {
      c.ready = true;
      if (started && !openLoop) sendBatch(c);
      else if (!started && conns.every((x) => x.ready)) parentPort!.postMessage({ type: 'ready' } satisfies WorkerMessage);
    };
    c.socket.once(opened.ready, () => {
      if (selectReply === 0) return ready();
      const db = String(job.dbnum);
      c.socket!.write(`*2\r\n$6\r\nSELECT\r\n$${db.length}\r\n${db}\r\n`);
    });
  };

  const start = (): void => {
    started = true;
    lastTickMs = performance.now();
    lastDataMs = lastTickMs;
    if (job.requests === 0) endMs = lastTickMs + job.durationMs;
    ticker = setInterval(() => {
      postTick(false);
      const now = performance.now();
      if (now > endMs + STALL_GRACE_MS) return finish();
      const waiting = askPending + conns.reduce((a, c) => a + c.inFlight, 0);
      if (waiting > 0 && now - lastDataMs > SILENCE_MAX_MS) {
        fail(`no reply for ${SILENCE_MAX_MS / 1000} s with ${waiting} requests in flight (a server down, or one that does not speak ${job.protocol}?)`);
      }
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
   * Runs the encoder, reply counter and histogram on scratch data (no traffic) so that V8 has
   * compiled them before the clock starts: a short closed-loop run would otherwise spend a good
   * part of its time in the interpreter, which redis-benchmark, being C, does not.
   */
  const warmUp = (): void => {
    const scratch = new Conn(-1, 0, topology.nodes[0]!, Buffer.allocUnsafe(WARM_UP_BATCH * commandMax), false, WARM_UP_BATCH);
    const replies = protocol.sampleReplies(WARM_UP_BATCH);
    const h = new LatencyHistogram();
    for (let round = 0; round < WARM_UP_ROUNDS; round++) {
      let off = 0;
      scratch.seq = 0;
      for (let i = 0; i < WARM_UP_BATCH; i++) off = encodeOne(scratch, scratch.batch, off, i);
      protocol.replyCounter().feed(replies);
      h.recordMany(round, WARM_UP_BATCH);
    }
  };
  warmUp();

  const batchBytes = (openLoop ? OPEN_LOOP_BATCH_MAX : job.pipeline) * commandMax;
  for (let i = 0; i < job.connections; i++) {
    const node = (job.firstConnection + i) % topology.nodes.length;
    const c = new Conn(i, node, topology.nodes[node]!, Buffer.allocUnsafe(batchBytes), openLoop, openLoop ? OPEN_LOOP_IN_FLIGHT_MAX : job.pipeline);
    conns.push(c);
    open(c, node);
  }

  // --- reporting and the end --------------------------------------------------------------------

  const takeInterval = (): Counts => {
    const counts = {
      done: intervalDone, errors: intervalErrors, redirects: intervalRedirects, hits: intervalHits, misses: intervalMisses,
      histogram: interval.encode(),
    };
    interval.reset();
    intervalDone = 0;
    intervalErrors = 0;
    intervalRedirects = 0;
    intervalHits = 0;
    intervalMisses = 0;
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
    const idle = askPending === 0 && conns.every((x) => x.inFlight === 0);
    if (openLoop ? !slotsLeft() && retries.length === 0 && idle : !more() && idle) finish();
  }

  function stop(): void {
    finished = true;
    if (ticker) clearInterval(ticker);
    parentPort!.removeAllListeners('message');
    if (openTimer) clearInterval(openTimer);
    if (refreshTimer) clearTimeout(refreshTimer);
    for (const x of [...conns, ...links]) {
      if (x === undefined) continue;
      x.socket.removeAllListeners();
      x.socket.on('error', () => {});
      x.socket.destroy();
    }
  }

  function finish(): void {
    if (finished) return;
    if (intervalDone > 0 || tickIndex === 0) postTick(true);
    stop();
    const firstError = [...conns, ...links].map((c) => c?.counter.firstError ?? '').find((e) => e !== '') ?? '';
    parentPort!.postMessage({
      type: 'done', done, errors, redirects, hits, misses, firstError, slotMapRefreshes, histogram: hist.encode(),
    } satisfies WorkerMessage);
  }

  function fail(message: string): void {
    if (finished) return;
    stop();
    parentPort!.postMessage({ type: 'failed', message } satisfies WorkerMessage);
  }
}

if (parentPort) run(workerData as WorkerJob);
