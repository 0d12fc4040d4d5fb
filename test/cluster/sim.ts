// A seeded, deterministic simulation of a cluster's membership: N ClusterNode cores driven through
// `receive` and `tick` over a simulated network with a virtual clock, message loss, delay,
// partitions and silent (paused) nodes. Everything random comes from one seed, so a failure
// replays exactly: CLUSTER_SIM_SEED=<seed> node dist/test/cluster/sim.test.js.

import pino from 'pino';
import { decodeFrame, encodeMessage, isPublish, type BusMessage } from '../../src/cluster/bus-messages.js';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import type { LinkRef, Transport } from '../../src/cluster/gossip.js';
import type { TopoNode } from '../../src/cluster/topology.js';
import { rng } from '../keyspace/helpers.js';

/** mulberry32: a small, fast, seeded PRNG with uniform output in [0, 1) (shared with the keyspace tests). */
export const mulberry32 = rng;

export interface SimOptions {
  seed: number;
  nodes: number;
  nodeTimeoutMs: number;
  lossRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Fraction of messages sent through the binary codec on their way (all of them = 1). */
  codecRate: number;
  /** Keep a trace of events (printed on failure when replaying one seed). */
  trace: boolean;
}

export interface SimNode {
  readonly index: number;
  readonly ip: string;
  readonly cport: number;
  readonly core: ClusterNode;
  /** Paused: sends nothing, receives nothing, does not tick. */
  down: boolean;
  /** Partition group: messages cross only between nodes of the same group. */
  group: number;
}

interface SimLink extends LinkRef {
  fromIndex: number;
  key: string;
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of events ordered by (time, sequence). */
class EventQueue {
  private readonly heap: Event[] = [];
  get size(): number {
    return this.heap.length;
  }
  peek(): Event | undefined {
    return this.heap[0];
  }
  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Event | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const SILENT = pino({ level: 'silent' });
export const SIM_EPOCH_MS = 1_700_000_000_000;

export class Sim {
  now = SIM_EPOCH_MS;
  readonly rng: () => number;
  readonly nodes: SimNode[] = [];
  private readonly byAddr = new Map<string, SimNode>();
  private readonly events = new EventQueue();
  private seq = 0;
  readonly traceLines: string[] = [];
  delivered = 0;
  dropped = 0;

  constructor(readonly opts: SimOptions) {
    this.rng = mulberry32(opts.seed);
    for (let i = 0; i < opts.nodes; i++) {
      const ip = `10.0.0.${i + 1}`;
      const nodeRng = mulberry32((opts.seed * 7919 + i * 104729) >>> 0);
      const transport = this.transportFor(i);
      const log = opts.trace
        ? pino({ level: 'info', base: { n: i }, timestamp: false }, { write: (line: string) => this.trace(() => line.trim()) })
        : SILENT;
      const core = new ClusterNode({
        port: 7000, busPort: 17000, bindHost: '0.0.0.0', announceIp: '', configFile: '', nodeTimeoutMs: opts.nodeTimeoutMs,
        requireFullCoverage: true, log, clock: () => this.now, random: nodeRng,
      }, { transport });
      const n: SimNode = { index: i, ip, cport: 17000, core, down: false, group: 0 };
      this.nodes.push(n);
      this.byAddr.set(`${ip}:17000`, n);
      const tickMs = core.tickMs;
      this.schedule(Math.floor(this.rng() * tickMs), () => this.tickLoop(n, tickMs));
    }
  }

  private tickLoop(n: SimNode, tickMs: number): void {
    if (!n.down) n.core.tick();
    this.schedule(tickMs, () => this.tickLoop(n, tickMs));
  }

  schedule(delayMs: number, run: () => void): void {
    this.events.push({ at: this.now + delayMs, seq: this.seq++, run });
  }

  trace(line: () => string): void {
    if (!this.opts.trace) return;
    this.traceLines.push(`${this.now - SIM_EPOCH_MS} ${line()}`);
    if (this.traceLines.length > 100000) this.traceLines.shift();
  }

  private transportFor(index: number): Transport {
    return {
      send: (node: TopoNode, msg: BusMessage) => this.route(index, `${node.ip}:${node.cport}`, node.id, msg, false),
      reply: (link: LinkRef, msg: BusMessage) => {
        const l = link as SimLink;
        this.route(index, `${this.nodes[l.fromIndex]!.ip}:17000`, l.key, msg, true);
      },
      disconnect: () => {},
      rename: () => {},
    };
  }

  /** Delivers `msg` from node `from` to the node at `addr` unless lost, partitioned or down. As a
   * reply it arrives on the receiver's outbound link `key`, else on an inbound link. */
  private route(from: number, addr: string, key: string, msg: BusMessage, isReply: boolean): void {
    const src = this.nodes[from]!;
    const dst = this.byAddr.get(addr);
    if (!dst || src.down || dst.down || src.group !== dst.group || this.rng() < this.opts.lossRate) {
      this.dropped++;
      return;
    }
    let m = msg;
    if (this.opts.codecRate > 0 && this.rng() < this.opts.codecRate) {
      const r = decodeFrame(encodeMessage(msg));
      if (r.kind !== 'message' || isPublish(r.msg)) throw new Error(`codec failed on a ${msg.type}: ${r.kind}`);
      m = r.msg;
    }
    const delay = this.opts.minDelayMs + Math.floor(this.rng() * (this.opts.maxDelayMs - this.opts.minDelayMs + 1));
    this.schedule(delay, () => {
      if (dst.down || src.group !== dst.group) {
        this.dropped++;
        return;
      }
      this.delivered++;
      this.trace(() => `${from}->${dst.index} ${m.type}${isReply ? ' (reply)' : ''}`);
      const link: SimLink = isReply
        ? { outNodeId: key, localIp: dst.ip, peerIp: src.ip, fromIndex: from, key }
        : { outNodeId: null, localIp: dst.ip, peerIp: src.ip, fromIndex: from, key };
      dst.core.receive(link, m);
    });
  }

  /** Runs events until `untilMs` (absolute) or until `done` returns true (checked every `checkMs`).
   * Returns whether `done` became true. */
  runUntil(untilMs: number, done: () => boolean = () => false, checkMs = 50): boolean {
    let nextCheck = this.now;
    for (;;) {
      if (this.now >= nextCheck) {
        if (done()) return true;
        nextCheck = this.now + checkMs;
      }
      const e = this.events.peek();
      if (!e || e.at > untilMs) {
        this.now = untilMs;
        return done();
      }
      this.events.pop();
      if (e.at > this.now) this.now = e.at;
      e.run();
    }
  }

  runFor(ms: number, done?: () => boolean, checkMs?: number): boolean {
    return this.runUntil(this.now + ms, done, checkMs);
  }

  partition(groups: ReadonlyArray<readonly number[]>): void {
    for (const n of this.nodes) n.group = 0;
    groups.forEach((g, i) => {
      for (const idx of g) this.nodes[idx]!.group = i + 1;
    });
    this.trace(() => `partition ${JSON.stringify(groups)}`);
  }

  heal(): void {
    for (const n of this.nodes) n.group = 0;
    this.trace(() => 'heal');
  }
}
